//! Test receivers (a real axum server, a real Mosquitto subscriber) and an outcome recorder.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use bytes::Bytes;
use notify::{Delivery, Endpoint, NotifierConfig, Outcome, OutcomeSink, SubscriptionKey};
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

/// How a test receiver answers.
#[derive(Clone)]
pub enum Behaviour {
    Ok,
    Delay(Duration),
    Status(u16),
    /// Answers 200 once a permit is available (one permit per request).
    Gate(Arc<Semaphore>),
}

#[derive(Clone, Debug)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone)]
pub struct Receiver {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

async fn handle(
    State((behaviour, requests)): State<(Behaviour, Arc<Mutex<Vec<Received>>>)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let path = uri.path().to_owned();
    requests.lock().unwrap().push(Received {
        method,
        path,
        headers,
        body,
    });
    match behaviour {
        Behaviour::Ok => StatusCode::OK,
        Behaviour::Delay(d) => {
            tokio::time::sleep(d).await;
            StatusCode::OK
        }
        Behaviour::Status(s) => StatusCode::from_u16(s).unwrap(),
        Behaviour::Gate(gate) => {
            gate.acquire().await.unwrap().forget();
            StatusCode::NO_CONTENT
        }
    }
}

/// An HTTP receiver on 127.0.0.1, port 0.
pub async fn receiver(behaviour: Behaviour) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new()
        .fallback(handle)
        .with_state((behaviour, requests.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { addr, requests }
}

/// A local port with nothing listening.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Records outcomes with the (tokio) time they arrived.
#[derive(Default)]
pub struct Recorder {
    pub outcomes: Mutex<Vec<(SubscriptionKey, Outcome, Instant)>>,
}

impl OutcomeSink for Recorder {
    fn record(&self, key: &SubscriptionKey, outcome: Outcome) {
        self.outcomes
            .lock()
            .unwrap()
            .push((key.clone(), outcome, Instant::now()));
    }
}

impl Recorder {
    pub fn of(&self, id: &str) -> Vec<Outcome> {
        let outcomes = self.outcomes.lock().unwrap();
        outcomes
            .iter()
            .filter(|(k, ..)| k.id == id)
            .map(|(_, o, _)| o.clone())
            .collect()
    }

    pub fn delivered_at(&self, id: &str) -> Option<Instant> {
        let outcomes = self.outcomes.lock().unwrap();
        outcomes
            .iter()
            .find(|(k, o, _)| k.id == id && matches!(o, Outcome::Delivered { .. }))
            .map(|(.., at)| *at)
    }

    /// Waits (up to 10 s) until subscription `id` has `n` outcomes; returns them.
    pub async fn wait(&self, id: &str, n: usize) -> Vec<Outcome> {
        wait_until(Duration::from_secs(10), || self.of(id).len() >= n).await;
        self.of(id)
    }
}

/// Polls `cond` until it holds; panics after `limit`.
pub async fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn open_config() -> NotifierConfig {
    NotifierConfig {
        allow_loopback: true,
        backoff_initial: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        ..Default::default()
    }
}

pub fn delivery(id: &str, uri: &str, body: &str) -> Delivery {
    Delivery {
        key: SubscriptionKey {
            tenant: String::new(),
            id: id.into(),
        },
        endpoint: Endpoint {
            uri: uri.into(),
            accept: None,
            receiver_info: vec![],
            notifier_info: vec![],
        },
        body: Bytes::from(body.to_owned()),
        content_type: "application/json".into(),
        link: None,
        order_key: 0,
    }
}

pub fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A Mosquitto subscriber (MQTT 3.1.1, QoS 1) that reconnects and subscribes again
/// after each connection.
pub struct Subscriber {
    pub messages: mpsc::UnboundedReceiver<Bytes>,
    /// Number of SUBACKs received so far.
    pub subscribed: watch::Receiver<u32>,
}

impl Subscriber {
    pub async fn start(port: u16, topic: &str) -> Subscriber {
        use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
        let id = format!("test-sub-{}", free_port());
        let mut options = MqttOptions::new(id, "127.0.0.1", port);
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = AsyncClient::new(options, 10);
        let (tx, messages) = mpsc::unbounded_channel();
        let (subacks, subscribed) = watch::channel(0);
        let topic = topic.to_owned();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        client
                            .try_subscribe(topic.clone(), QoS::AtLeastOnce)
                            .unwrap();
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => subacks.send_modify(|n| *n += 1),
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send(p.payload).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        });
        let mut sub = Subscriber {
            messages,
            subscribed,
        };
        sub.wait_subscribed(1).await;
        sub
    }

    pub async fn wait_subscribed(&mut self, n: u32) {
        let wait = self.subscribed.wait_for(|k| *k >= n);
        tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .unwrap()
            .unwrap();
    }

    pub async fn next_json(&mut self) -> serde_json::Value {
        let payload = tokio::time::timeout(Duration::from_secs(10), self.messages.recv())
            .await
            .expect("no MQTT message within 10 s")
            .unwrap();
        serde_json::from_slice(&payload).unwrap()
    }
}
