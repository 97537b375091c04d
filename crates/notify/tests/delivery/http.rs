//! HTTP binding (clause 6.3.8), retries, queue overflow, host policy, shutdown.

use std::sync::Arc;
use std::time::Duration;

use notify::{Notifier, NotifierConfig, NotifierStats, Outcome};
use tokio::sync::Semaphore;

use crate::common::*;

const LINK: &str = r#"<https://example.org/ctx.jsonld>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json""#;

#[tokio::test]
async fn post_carries_the_body_and_the_headers_of_the_binding() {
    let rx = receiver(Behaviour::Ok).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(open_config(), sink.clone());

    let mut d = delivery(
        "urn:s1",
        &rx.url("/notify"),
        r#"{"type":"Notification","data":[]}"#,
    );
    d.key.tenant = "tenant1".into();
    d.link = Some(LINK.into());
    d.endpoint.receiver_info = pairs(&[("X-Additional-Key", "v1"), ("Content-Type", "text/plain")]);
    notifier.submit(d);
    let mut ld = delivery("urn:s2", &rx.url("/ld"), r#"{"type":"Notification"}"#);
    ld.content_type = "application/ld+json".into();
    notifier.submit(ld);

    assert!(matches!(
        sink.wait("urn:s1", 1).await[..],
        [Outcome::Delivered { .. }]
    ));
    assert!(matches!(
        sink.wait("urn:s2", 1).await[..],
        [Outcome::Delivered { .. }]
    ));
    let requests = rx.requests.lock().unwrap().clone();
    let json = requests.iter().find(|r| r.path == "/notify").unwrap();
    assert_eq!(json.method, "POST");
    assert_eq!(json.body, r#"{"type":"Notification","data":[]}"#);
    assert_eq!(json.headers["content-type"], "application/json");
    assert_eq!(json.headers["link"], LINK);
    assert_eq!(json.headers["ngsild-tenant"], "tenant1");
    assert_eq!(json.headers["x-additional-key"], "v1");
    assert_eq!(json.headers.get_all("content-type").iter().count(), 1);

    let ld = requests.iter().find(|r| r.path == "/ld").unwrap();
    assert_eq!(ld.headers["content-type"], "application/ld+json");
    assert!(ld.headers.get("link").is_none(), "no Link given, none sent");
    assert!(
        ld.headers.get("ngsild-tenant").is_none(),
        "default tenant: no header"
    );
    assert_eq!(
        notifier.stats(),
        NotifierStats {
            delivered: 2,
            workers: 2,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn server_errors_are_retried_max_attempts_times_then_failed() {
    let rx = receiver(Behaviour::Status(500)).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(
        NotifierConfig {
            max_attempts: 3,
            ..open_config()
        },
        sink.clone(),
    );
    notifier.submit(delivery("urn:s", &rx.url("/"), "{}"));
    let outcomes = sink.wait("urn:s", 1).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Failed { reason, .. }] if reason.contains("500") && reason.contains("3 attempts")),
        "{outcomes:?}"
    );
    assert_eq!(rx.count(), 3);
    assert_eq!(notifier.stats().failed, 1);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let rx = receiver(Behaviour::Status(404)).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(
        NotifierConfig {
            max_attempts: 5,
            ..open_config()
        },
        sink.clone(),
    );
    notifier.submit(delivery("urn:s", &rx.url("/"), "{}"));
    let outcomes = sink.wait("urn:s", 1).await;
    assert!(matches!(&outcomes[..], [Outcome::Failed { reason, .. }] if reason.contains("404")));
    assert_eq!(rx.count(), 1);
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_after_its_retries() {
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(open_config(), sink.clone());
    notifier.submit(delivery(
        "urn:s",
        &format!("http://127.0.0.1:{}/", free_port()),
        "{}",
    ));
    let outcomes = sink.wait("urn:s", 1).await;
    assert!(
        matches!(&outcomes[..], [Outcome::Failed { reason, .. }] if reason.contains("after 3 attempts")),
        "{outcomes:?}"
    );
}

#[tokio::test]
async fn a_full_queue_drops_and_counts() {
    let gate = Arc::new(Semaphore::new(0));
    let rx = receiver(Behaviour::Gate(gate.clone())).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(
        NotifierConfig {
            queue_capacity: 2,
            ..open_config()
        },
        sink.clone(),
    );
    notifier.submit(delivery("urn:s0", &rx.url("/"), "{}"));
    wait_until(Duration::from_secs(10), || rx.count() == 1).await; // in flight, queue empty
    for i in 1..=5 {
        notifier.submit(delivery(&format!("urn:s{i}"), &rx.url("/"), "{}"));
    }
    // 1 and 2 wait in the queue; 3, 4, 5 are dropped at once, before submit returns.
    for i in 3..=5 {
        assert!(matches!(&sink.of(&format!("urn:s{i}"))[..],
            [Outcome::Dropped { reason, .. }] if reason.contains("queue full")));
    }
    assert_eq!(
        notifier.stats(),
        NotifierStats {
            dropped: 3,
            queued: 3,
            workers: 1,
            ..Default::default()
        }
    );
    gate.add_permits(3);
    for i in 0..=2 {
        assert!(matches!(
            sink.wait(&format!("urn:s{i}"), 1).await[..],
            [Outcome::Delivered { .. }]
        ));
    }
    assert_eq!(
        notifier.stats(),
        NotifierStats {
            delivered: 3,
            dropped: 3,
            workers: 1,
            ..Default::default()
        }
    );
}

#[tokio::test]
async fn hosts_outside_the_policy_are_dropped_without_connecting() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}/", listener.local_addr().unwrap());
    let sink = Arc::new(Recorder::default());
    let allow_list = NotifierConfig {
        allowed_hosts: vec!["example.org".into()],
        ..open_config()
    };
    let no_loopback = NotifierConfig {
        allow_loopback: false,
        ..open_config()
    };
    for (i, config) in [allow_list, no_loopback].into_iter().enumerate() {
        let notifier = Notifier::new(config, sink.clone());
        let id = format!("urn:s{i}");
        notifier.submit(delivery(&id, &uri, "{}"));
        assert!(
            matches!(&sink.of(&id)[..], [Outcome::Dropped { reason, .. }] if reason.contains("not allowed"))
        );
        assert_eq!(
            notifier.stats(),
            NotifierStats {
                dropped: 1,
                ..Default::default()
            },
            "no worker"
        );
    }
    notifier_bad_uri(&sink);
    let accepted = tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
    assert!(accepted.is_err(), "nobody connected");
}

fn notifier_bad_uri(sink: &Arc<Recorder>) {
    let notifier = Notifier::new(open_config(), sink.clone());
    notifier.submit(delivery("urn:bad", "gopher://x/", "{}"));
    assert!(
        matches!(&sink.of("urn:bad")[..], [Outcome::Dropped { reason, .. }] if reason.contains("scheme"))
    );
}

#[tokio::test]
async fn idle_workers_stop_and_come_back() {
    let rx = receiver(Behaviour::Ok).await;
    let sink = Arc::new(Recorder::default());
    let config = NotifierConfig {
        idle_worker_timeout: Duration::from_millis(50),
        ..open_config()
    };
    let notifier = Notifier::new(config, sink.clone());
    notifier.submit(delivery("urn:a", &rx.url("/"), "{}"));
    sink.wait("urn:a", 1).await;
    wait_until(Duration::from_secs(10), || notifier.stats().workers == 0).await;
    notifier.submit(delivery("urn:b", &rx.url("/"), "{}"));
    assert!(matches!(
        sink.wait("urn:b", 1).await[..],
        [Outcome::Delivered { .. }]
    ));
}

#[tokio::test]
async fn shutdown_flushes_then_refuses() {
    let rx = receiver(Behaviour::Ok).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(open_config(), sink.clone());
    for i in 0..20 {
        notifier.submit(delivery("urn:s", &rx.url(&format!("/{i}")), "{}"));
    }
    notifier.shutdown(Duration::from_secs(10)).await;
    assert_eq!(
        notifier.stats(),
        NotifierStats {
            delivered: 20,
            ..Default::default()
        }
    );
    notifier.submit(delivery("urn:late", &rx.url("/"), "{}"));
    assert!(matches!(
        &sink.of("urn:late")[..],
        [Outcome::Dropped { .. }]
    ));
}

#[tokio::test]
async fn shutdown_drops_what_it_cannot_send_by_the_deadline() {
    let rx = receiver(Behaviour::Gate(Arc::new(Semaphore::new(0)))).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(open_config(), sink.clone());
    for _ in 0..3 {
        notifier.submit(delivery("urn:s", &rx.url("/"), "{}"));
    }
    wait_until(Duration::from_secs(10), || rx.count() == 1).await;
    notifier.shutdown(Duration::from_millis(100)).await;
    let outcomes = sink.of("urn:s");
    assert_eq!(outcomes.len(), 3);
    assert!(
        outcomes.iter().all(
            |o| matches!(o, Outcome::Dropped { reason, .. } if reason.contains("shutting down"))
        )
    );
    assert_eq!(
        notifier.stats(),
        NotifierStats {
            dropped: 3,
            ..Default::default()
        }
    );
}

#[test]
fn outside_a_runtime_submit_drops_instead_of_panicking() {
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(open_config(), sink.clone());
    notifier.submit(delivery("urn:s", "http://127.0.0.1:9/", "{}"));
    assert!(
        matches!(&sink.of("urn:s")[..], [Outcome::Dropped { reason, .. }] if reason.contains("runtime"))
    );
}

fn keyed(id: &str, uri: &str, body: &str, order_key: u64) -> notify::Delivery {
    notify::Delivery {
        order_key,
        ..delivery(id, uri, body)
    }
}

/// A notifier with `lanes` per endpoint, and a receiver that answers only when `gate` lets it.
async fn gated(lanes: usize) -> (Arc<Semaphore>, Receiver, Arc<Recorder>, Notifier) {
    let gate = Arc::new(Semaphore::new(0));
    let rx = receiver(Behaviour::Gate(gate.clone())).await;
    let sink = Arc::new(Recorder::default());
    let notifier = Notifier::new(
        NotifierConfig {
            lanes,
            ..open_config()
        },
        sink.clone(),
    );
    (gate, rx, sink, notifier)
}

/// One endpoint is served by parallel lanes: a stuck delivery holds only its own lane, and
/// the deliveries with one order key (one entity) still arrive one after the other, in order.
#[tokio::test]
async fn an_endpoint_has_parallel_lanes_that_each_keep_their_order() {
    let (gate, rx, sink, notifier) = gated(4).await;
    for key in 0..4 {
        notifier.submit(keyed("urn:s", &rx.url("/"), &format!("first {key}"), key));
    }
    // All four are at the receiver at once, none answered yet.
    wait_until(Duration::from_secs(10), || rx.count() == 4).await;
    for n in 0..3 {
        notifier.submit(keyed("urn:s", &rx.url("/"), &format!("then {n}"), 1));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rx.count(),
        4,
        "lane 1 sent its next delivery before the first was answered"
    );
    gate.add_permits(100);
    wait_until(Duration::from_secs(10), || rx.count() == 7).await;
    let bodies: Vec<String> = rx
        .requests
        .lock()
        .unwrap()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b == "first 1" || b.starts_with("then"))
        .collect();
    assert_eq!(bodies, ["first 1", "then 0", "then 1", "then 2"]);
    sink.wait("urn:s", 7).await;
    assert_eq!(notifier.stats().workers, 4);
}

/// With one lane an endpoint gets one delivery at a time.
#[tokio::test]
async fn one_lane_sends_one_at_a_time() {
    let (gate, rx, sink, notifier) = gated(1).await;
    for key in 0..4 {
        notifier.submit(keyed("urn:s", &rx.url("/"), "x", key));
    }
    wait_until(Duration::from_secs(10), || rx.count() == 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(rx.count(), 1);
    gate.add_permits(100);
    wait_until(Duration::from_secs(10), || rx.count() == 4).await;
    sink.wait("urn:s", 4).await;
}
