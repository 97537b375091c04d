//! MQTT binding (clause 7.2) against the Mosquitto of this machine and one of our own.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use notify::{Notifier, NotifierConfig, Outcome};
use serde_json::json;

use crate::common::*;

const LINK: &str = r#"<https://example.org/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json""#;

async fn message_format(version: Option<&str>, qos: Option<&str>) {
    let topic = format!("quartier-test/format/{}", free_port());
    let mut sub = Subscriber::start(1883, &topic).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(open_config(), sink.clone());
    let body = r#"{"id":"urn:ngsi-ld:Notification:1","type":"Notification","subscriptionId":"urn:s","data":[{"id":"urn:e","type":"Building"}]}"#;
    let mut d = delivery("urn:s", &format!("mqtt://127.0.0.1/{topic}"), body);
    d.key.tenant = "tenant1".into();
    d.link = Some(LINK.into());
    d.endpoint.receiver_info = pairs(&[("test-receiver-key", "test-receiver-info")]);
    let mut info = vec![];
    info.extend(version.map(|v| ("MQTT-Version", v)));
    info.extend(qos.map(|q| ("MQTT-QoS", q)));
    d.endpoint.notifier_info = pairs(&info);
    notifier.submit(d);

    assert_eq!(
        sub.next_json().await,
        json!({
            "metadata": {
                "Content-Type": "application/json",
                "Link": LINK,
                "NGSILD-Tenant": "tenant1",
                "test-receiver-key": "test-receiver-info"
            },
            "body": serde_json::from_str::<serde_json::Value>(body).unwrap()
        })
    );
    assert!(matches!(
        sink.wait("urn:s", 1).await[..],
        [Outcome::Delivered { .. }]
    ));
    notifier.shutdown(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn mqtt_3_1_1_message_has_metadata_and_body() {
    message_format(Some("mqtt3.1.1"), None).await;
}

#[tokio::test]
async fn mqtt_5_message_has_metadata_and_body() {
    message_format(Some("mqtt5.0"), Some("1")).await;
}

#[tokio::test]
async fn default_version_with_qos_2() {
    message_format(None, Some("2")).await;
}

#[tokio::test]
async fn qos_1_on_3_1_1_and_ld_json_without_link() {
    let topic = format!("quartier-test/ld/{}", free_port());
    let mut sub = Subscriber::start(1883, &topic).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(open_config(), sink.clone());
    let mut d = delivery(
        "urn:s",
        &format!("mqtt://127.0.0.1:1883/{topic}"),
        r#"{"type":"Notification"}"#,
    );
    d.content_type = "application/ld+json".into();
    d.endpoint.notifier_info = pairs(&[("MQTT-Version", "mqtt3.1.1"), ("MQTT-QoS", "1")]);
    notifier.submit(d);
    let message = sub.next_json().await;
    assert_eq!(
        message,
        json!({"metadata": {"Content-Type": "application/ld+json"}, "body": {"type": "Notification"}})
    );
    assert!(matches!(
        sink.wait("urn:s", 1).await[..],
        [Outcome::Delivered { .. }]
    ));
}

/// A Mosquitto of our own on `port`, killed on drop.
struct Broker(Child);

impl Broker {
    async fn start(port: u16) -> Broker {
        let child = Command::new("/usr/sbin/mosquitto")
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let addr = format!("127.0.0.1:{port}");
        wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(&addr).is_ok()
        })
        .await;
        Broker(child)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt_delivery_resumes_after_the_broker_comes_back() {
    let port = free_port();
    let broker = Broker::start(port).await;
    let topic = "quartier-test/reconnect";
    let mut sub = Subscriber::start(port, topic).await;
    let http = receiver(Behaviour::Ok).await;
    let other_topic = format!("quartier-test/other/{port}");
    let mut other_sub = Subscriber::start(1883, &other_topic).await;

    let sink = Arc::new(Recorder::default());
    let config = NotifierConfig {
        backoff_max: Duration::from_millis(200),
        ..open_config()
    };
    let notifier = Notifier::new(config, sink.clone());
    let send = |n: u32| {
        let mut d = delivery(
            &format!("m{n}"),
            &format!("mqtt://127.0.0.1:{port}/{topic}"),
            &n.to_string(),
        );
        d.endpoint.notifier_info = pairs(&[("MQTT-Version", "mqtt3.1.1"), ("MQTT-QoS", "1")]);
        notifier.submit(d);
    };
    for n in 1..=3 {
        send(n);
    }
    for n in 1..=3 {
        assert_eq!(sub.next_json().await["body"], n);
    }

    drop(broker);
    for n in 4..=6 {
        send(n);
    }
    // Other endpoints do not wait for the broker that is down.
    notifier.submit(delivery("http", &http.url("/"), "{}"));
    notifier.submit(delivery(
        "other",
        &format!("mqtt://127.0.0.1/{other_topic}"),
        r#""x""#,
    ));
    assert!(matches!(
        sink.wait("http", 1).await[..],
        [Outcome::Delivered { .. }]
    ));
    assert!(matches!(
        sink.wait("other", 1).await[..],
        [Outcome::Delivered { .. }]
    ));
    assert_eq!(other_sub.next_json().await["body"], "x");
    assert!(
        (4..=6).all(|n| sink.of(&format!("m{n}")).is_empty()),
        "nothing delivered while down"
    );
    assert_eq!(notifier.stats().queued, 3);

    let _broker = Broker::start(port).await;
    sub.wait_subscribed(2).await;
    for n in 4..=6 {
        assert!(matches!(
            sink.wait(&format!("m{n}"), 1).await[..],
            [Outcome::Delivered { .. }]
        ));
    }
    for n in 7..=9 {
        send(n);
    }
    // 4..6 reach the subscriber too if it subscribed again before they were re-sent.
    let mut bodies = vec![];
    while bodies.last() != Some(&json!(9)) {
        bodies.push(sub.next_json().await["body"].clone());
    }
    let tail: Vec<_> = bodies
        .iter()
        .filter(|b| b.as_u64() >= Some(7))
        .cloned()
        .collect();
    assert_eq!(tail, [json!(7), json!(8), json!(9)], "received {bodies:?}");
    assert_eq!(notifier.stats().failed + notifier.stats().dropped, 0);
}
