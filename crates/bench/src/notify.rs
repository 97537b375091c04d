//! Notification latency: changes at a fixed rate, each carrying its send time (µs since the
//! epoch) in the changed attribute; an HTTP receiver in this process records
//! receive time − send time. The ceiling is the same receiver fed directly by the load
//! generator at the same rate (one HTTP hop, no broker).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use http::Method;
use serde_json::{Value, json};

use crate::bench::{Bench, Target, body, make, measure};
use crate::data::{self, SENSOR};
use crate::load::{Load, Req, Until};
use crate::report::{Measure, Primary, Row};

/// The attribute whose value is the send time.
pub const STAMP: &str = "pm25";

/// Microseconds since the Unix epoch.
pub fn now_us() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_micros() as f64)
}

type Lat = Arc<Mutex<HashMap<String, Vec<u32>>>>;

/// An HTTP notification receiver: `POST /n/{class}/{k}` records the latency of every
/// entity in `data` under `class`; class `slow` answers only after 2 s.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    lat: Lat,
    task: tokio::task::JoinHandle<()>,
}

async fn receive(
    State(lat): State<Lat>,
    Path((class, _k)): Path<(String, String)>,
    b: Bytes,
) -> StatusCode {
    let now = now_us();
    if let Ok(v) = serde_json::from_slice::<Value>(&b) {
        let stamps: Vec<u32> = v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e.get(STAMP).and_then(Value::as_f64))
            .map(|sent| ((now - sent).max(0.0) as u64).min(u64::from(u32::MAX)) as u32)
            .collect();
        if let Ok(mut m) = lat.lock() {
            m.entry(class.clone()).or_default().extend(stamps);
        }
    }
    if class == "slow" {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    StatusCode::NO_CONTENT
}

impl Receiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let lat: Lat = Arc::default();
        let app = Router::new()
            .route("/n/{class}/{k}", post(receive))
            .with_state(lat.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, lat, task })
    }

    /// The endpoint URI of `class`/`k`.
    pub fn uri(&self, class: &str, k: usize) -> String {
        format!("http://{}/n/{class}/{k}", self.addr)
    }

    /// How many latencies of `class` were recorded.
    pub fn count(&self, class: &str) -> usize {
        self.lat
            .lock()
            .map_or(0, |m| m.get(class).map_or(0, Vec::len))
    }

    /// Takes the sorted latencies of `class` (µs) and forgets them.
    pub fn take(&self, class: &str) -> Vec<u32> {
        let mut v = self
            .lat
            .lock()
            .map_or_else(|_| Vec::new(), |mut m| m.remove(class).unwrap_or_default());
        v.sort_unstable();
        v
    }

    /// Waits until `class` has `expected` latencies or nothing arrived for `idle`.
    pub async fn drain(&self, class: &str, expected: usize, idle: Duration) {
        let mut last = self.count(class);
        let mut since = Instant::now();
        while last < expected && since.elapsed() < idle {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let n = self.count(class);
            if n != last {
                last = n;
                since = Instant::now();
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Creates a subscription `id` on `entities` (selectors) watching [`STAMP`], notifying
/// `uri` in keyValues.
pub async fn subscribe(
    q: &Target,
    tenant: Option<&str>,
    id: &str,
    entities: Value,
    uri: &str,
) -> anyhow::Result<()> {
    let s = json!({
        "id": id,
        "type": "Subscription",
        "entities": entities,
        "watchedAttributes": [STAMP],
        "notification": {
            "format": "keyValues",
            "attributes": [STAMP],
            "endpoint": {"uri": uri, "accept": "application/json"}
        }
    });
    let mut r = Req::json(Method::POST, "/ngsi-ld/v1/subscriptions", body(&s));
    if let Some(t) = tenant {
        r = r.with_header("NGSILD-Tenant", t);
    }
    q.ok(&r).await?;
    Ok(())
}

/// Deletes subscription `id`.
pub async fn unsubscribe(q: &Target, id: &str) -> anyhow::Result<()> {
    q.ok(&Req {
        method: Method::DELETE,
        path: format!("/ngsi-ld/v1/subscriptions/{}", crate::bench::enc(id)),
        body: Bytes::new(),
        headers: Vec::new(),
    })
    .await?;
    Ok(())
}

/// A paced load of PATCHes of [`STAMP`] on the `hot` first sensors, the value being the
/// send time.
pub fn stamped_patches(t: &Target, hot: usize, rate: f64, conns: usize, d: Duration) -> Load {
    Load {
        addr: t.addr,
        connections: conns,
        until: Until::Duration(d),
        warmup: Duration::ZERO,
        rate: Some(rate),
        make: make(move |c, seq| {
            let i = (data::mix((c as u64) << 32 | seq) % hot as u64) as usize;
            Req::json(
                Method::PATCH,
                format!("/ngsi-ld/v1/entities/{}/attrs/{STAMP}", data::sensor_id(i)),
                body(&json!({"value": now_us()})),
            )
        }),
    }
}

/// The notification shape with 1 and with 50 subscriptions.
pub async fn notification_latency(b: &mut Bench, q: &Target) -> anyhow::Result<()> {
    let rx = Receiver::start().await?;
    let hot = b.opts.hot;
    let rate = b.opts.change_rate;
    let conns = b.opts.connections.min(32);
    let d = b.opts.duration;
    for subs in [1usize, 50] {
        let ids: Vec<String> = (0..subs)
            .map(|k| format!("urn:ngsi-ld:Subscription:bench-{subs}-{k}"))
            .collect();
        for (k, id) in ids.iter().enumerate() {
            let entities = if subs == 1 {
                json!([{"type": SENSOR}])
            } else {
                Value::Array(
                    (0..hot)
                        .filter(|i| i % subs == k)
                        .map(|i| json!({"id": data::sensor_id(i), "type": SENSOR}))
                        .collect(),
                )
            };
            subscribe(q, None, id, entities, &rx.uri("q", k)).await?;
        }
        rx.take("q");
        let (o, mut qm) = measure(q, stamped_patches(q, hot, rate, conns, d), 1.0).await;
        rx.drain("q", o.ok as usize, Duration::from_secs(3)).await;
        let lat = rx.take("q");
        let delivered = lat.len();
        qm.p50_ms = crate::load::quantile_ms(&lat, 0.5);
        qm.p99_ms = crate::load::quantile_ms(&lat, 0.99);
        qm.count = delivered as u64;
        for id in &ids {
            unsubscribe(q, id).await?;
        }
        // Ceiling: the same rate of notification-sized POSTs straight to the receiver.
        let base = Load {
            addr: rx.addr,
            connections: conns,
            until: Until::Duration(d),
            warmup: Duration::ZERO,
            rate: Some(rate),
            make: make(|c, _| {
                let n = json!({"id": "urn:ngsi-ld:Notification:x", "type": "Notification",
                    "subscriptionId": "urn:ngsi-ld:Subscription:x",
                    "notifiedAt": "2026-01-01T00:00:00Z",
                    "data": [{"id": data::sensor_id(c), "type": SENSOR, STAMP: now_us()}]});
                Req::json(Method::POST, format!("/n/base/{c}"), body(&n))
            }),
        };
        let bo = crate::load::run(base).await;
        rx.drain("base", bo.ok as usize, Duration::from_secs(3))
            .await;
        let bl = rx.take("base");
        let bm = Measure {
            rate: bo.ok_throughput(),
            p50_ms: crate::load::quantile_ms(&bl, 0.5),
            p99_ms: crate::load::quantile_ms(&bl, 0.99),
            count: bl.len() as u64,
            statuses: bo.status_summary(),
            ..Measure::default()
        };
        let share = if o.ok > 0 {
            delivered as f64 / o.ok as f64
        } else {
            0.0
        };
        let met = qm.p99_ms > 0.0 && qm.p99_ms < 20.0 && qm.rate >= 0.95 * 5_000.0 && share >= 0.99;
        let mut r = Row::new(
            &format!("notification, {subs} sub"),
            "ms change → receiver",
            conns,
            qm,
            "direct POST",
            bm,
            Primary::P99,
        )
        .durable(crate::shapes::DURABLE)
        .target("p99 < 20 ms at 5,000 changes/s", met);
        r.note = format!(
            "PATCH of one attribute on {hot} hot entities paced at {} changes/s (achieved {}), {} subscription(s) on distinct endpoints; {delivered} of {} changes notified ({:.1} %)",
            crate::report::num(rate),
            crate::report::num(r.quartier.rate),
            subs,
            o.ok,
            share * 100.0
        );
        crate::shapes::push(b, r);
    }
    Ok(())
}
