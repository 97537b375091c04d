//! The load generator: N HTTP/1.1 keep-alive connections, each issuing requests
//! back-to-back (or at a fixed pace), with a latency record of every answered request.
//!
//! One task owns one connection (hyper's connection-level client, no pool), so the number
//! of connections the server sees is exactly the number asked for. A connection that fails
//! is counted and opened again after a short pause, so a misbehaving server is measured
//! rather than ending the run.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// JSON body (empty for none).
    pub body: Bytes,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
}

impl Req {
    /// A GET of `path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            body: Bytes::new(),
            headers: Vec::new(),
        }
    }

    /// A request with a JSON body.
    pub fn json(method: Method, path: impl Into<String>, body: impl Into<Bytes>) -> Self {
        Self {
            method,
            path: path.into(),
            body: body.into(),
            headers: Vec::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// How long a request may wait for its answer before it counts as an error and its
/// connection is replaced.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Makes the `seq`-th request of connection `conn`.
pub type MakeReq = Arc<dyn Fn(usize, u64) -> Req + Send + Sync>;

/// When a run ends.
#[derive(Debug, Clone, Copy)]
pub enum Until {
    /// After this long (plus the warm-up).
    Duration(Duration),
    /// After this many requests in total (no warm-up).
    Requests(u64),
}

/// What to run.
#[derive(Clone)]
pub struct Load {
    /// Server address.
    pub addr: SocketAddr,
    /// Concurrent connections.
    pub connections: usize,
    /// End of the run.
    pub until: Until,
    /// Requests answered before this much time has passed are not recorded.
    pub warmup: Duration,
    /// Total requests per second over all connections (`None`: as fast as answered).
    pub rate: Option<f64>,
    /// The requests.
    pub make: MakeReq,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Answered requests recorded (any status).
    pub requests: u64,
    /// Answered requests with a 2xx status.
    pub ok: u64,
    /// Connection errors (refused, reset, closed mid-request, timed out).
    pub errors: u64,
    /// Requests without an answer within [`REQUEST_TIMEOUT`] (also counted in `errors`).
    pub timeouts: u64,
    /// Status code -> count.
    pub statuses: BTreeMap<u16, u64>,
    /// Latency of every recorded request, microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Wall time of the recorded part.
    pub elapsed: Duration,
    /// Bytes of response bodies.
    pub body_bytes: u64,
}

impl Outcome {
    /// Recorded requests per second.
    pub fn throughput(&self) -> f64 {
        per_second(self.requests, self.elapsed)
    }

    /// 2xx answers per second.
    pub fn ok_throughput(&self) -> f64 {
        per_second(self.ok, self.elapsed)
    }

    /// The `q` quantile of latency in milliseconds (0 when nothing was recorded).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        quantile_ms(&self.latencies_us, q)
    }

    fn merge(&mut self, other: Outcome) {
        self.requests += other.requests;
        self.ok += other.ok;
        self.errors += other.errors;
        self.timeouts += other.timeouts;
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        self.latencies_us.extend(other.latencies_us);
        self.body_bytes += other.body_bytes;
    }

    /// The statuses as `code:count` pairs, for printing.
    pub fn status_summary(&self) -> String {
        let mut parts: Vec<String> = self
            .statuses
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        if self.errors > 0 {
            parts.push(format!("conn-errors:{}", self.errors));
        }
        if self.timeouts > 0 {
            parts.push(format!("of-which-timeouts:{}", self.timeouts));
        }
        parts.join(" ")
    }
}

/// `n` per `d`, 0 for an empty interval.
pub fn per_second(n: u64, d: Duration) -> f64 {
    let s = d.as_secs_f64();
    if s > 0.0 { n as f64 / s } else { 0.0 }
}

/// The `q` quantile (0..=1) of sorted microsecond latencies, in milliseconds.
pub fn quantile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let last = sorted_us.len() - 1;
    let i = ((last as f64) * q.clamp(0.0, 1.0)).round() as usize;
    f64::from(sorted_us[i.min(last)]) / 1000.0
}

/// An open HTTP/1.1 connection.
pub struct Conn {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

impl Conn {
    /// Opens a keep-alive connection to `addr`.
    pub async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            sender,
            host: HeaderValue::from_str(&addr.to_string())?,
        })
    }

    /// Sends one request and reads the whole answer.
    pub async fn send(&mut self, r: &Req) -> anyhow::Result<(u16, Bytes)> {
        let mut b = Request::builder()
            .method(r.method.clone())
            .uri(r.path.as_str())
            .header(header::HOST, self.host.clone());
        if !r.body.is_empty() {
            b = b.header(header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in &r.headers {
            b = b.header(*k, v.as_str());
        }
        let req = b.body(Full::new(r.body.clone()))?;
        self.sender.ready().await?;
        let resp = self.sender.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

/// Sends one request on a fresh connection (for set-up and checks).
pub async fn once(addr: SocketAddr, r: &Req) -> anyhow::Result<(u16, Bytes)> {
    Conn::open(addr).await?.send(r).await
}

/// Runs a load and returns what it measured.
pub async fn run(load: Load) -> Outcome {
    let started = Instant::now();
    let record_from = started + load.warmup;
    let deadline = match load.until {
        Until::Duration(d) => Some(record_from + d),
        Until::Requests(_) => None,
    };
    let budget = match load.until {
        Until::Requests(n) => Some(Arc::new(std::sync::atomic::AtomicU64::new(n))),
        Until::Duration(_) => None,
    };
    let conns = load.connections.max(1);
    let per_conn_interval = load
        .rate
        .filter(|r| *r > 0.0)
        .map(|r| Duration::from_secs_f64(conns as f64 / r));
    let mut tasks = Vec::with_capacity(conns);
    for c in 0..conns {
        let load = load.clone();
        let budget = budget.clone();
        tasks.push(tokio::spawn(async move {
            worker(c, load, record_from, deadline, budget, per_conn_interval).await
        }));
    }
    let mut total = Outcome::default();
    for t in tasks {
        if let Ok(o) = t.await {
            total.merge(o);
        }
    }
    let end = Instant::now();
    total.elapsed = end.saturating_duration_since(match load.until {
        Until::Duration(_) => record_from,
        Until::Requests(_) => started,
    });
    total.latencies_us.sort_unstable();
    total
}

async fn worker(
    c: usize,
    load: Load,
    record_from: Instant,
    deadline: Option<Instant>,
    budget: Option<Arc<std::sync::atomic::AtomicU64>>,
    interval: Option<Duration>,
) -> Outcome {
    use std::sync::atomic::Ordering;
    let mut out = Outcome::default();
    let mut conn: Option<Conn> = None;
    let mut seq = 0u64;
    // Spread paced connections over one interval so they do not fire together.
    let mut next_at =
        interval.map(|i| Instant::now() + i.mul_f64(c as f64 / load.connections.max(1) as f64));
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        if let Some(b) = &budget {
            let left = b.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
            if left.is_err() {
                break;
            }
        }
        if let (Some(at), Some(i)) = (next_at, interval) {
            tokio::time::sleep_until(at.into()).await;
            next_at = Some(at + i);
        }
        let req = (load.make)(c, seq);
        seq += 1;
        if conn.is_none() {
            match Conn::open(load.addr).await {
                Ok(k) => conn = Some(k),
                Err(_) => {
                    out.errors += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            }
        }
        let Some(k) = conn.as_mut() else { continue };
        let t0 = Instant::now();
        let answer = match tokio::time::timeout(REQUEST_TIMEOUT, k.send(&req)).await {
            Ok(a) => a,
            Err(_) => {
                out.timeouts += 1;
                Err(anyhow::anyhow!("timed out"))
            }
        };
        match answer {
            Ok((status, body)) => {
                if t0 >= record_from || budget.is_some() {
                    let us = t0.elapsed().as_micros();
                    out.latencies_us.push(u32::try_from(us).unwrap_or(u32::MAX));
                    out.requests += 1;
                    if (200..300).contains(&status) {
                        out.ok += 1;
                    }
                    *out.statuses.entry(status).or_default() += 1;
                    out.body_bytes += body.len() as u64;
                }
            }
            Err(_) => {
                out.errors += 1;
                conn = None;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_of_sorted_latencies() {
        let v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(quantile_ms(&v, 0.5), 51.0);
        assert_eq!(quantile_ms(&v, 0.99), 99.0);
        assert_eq!(quantile_ms(&v, 1.0), 100.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
    }
}
