//! The run: options, the servers under test and the helpers every shape uses.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;

use crate::load::{self, Load, MakeReq, Outcome, Req, Until};
use crate::process::{Proc, Server};
use crate::report::{Measure, Report};

/// Sizes and durations of a run.
#[derive(Debug, Clone)]
pub struct Opts {
    /// Scale factor the sizes were derived from.
    pub scale: f64,
    /// Connections of the throughput shapes.
    pub connections: usize,
    /// Measured time of each timed shape.
    pub duration: Duration,
    /// Unrecorded warm-up before each timed shape.
    pub warmup: Duration,
    /// Entities of the query/geo data set (100,000).
    pub entities: usize,
    /// Hot entities of the PATCH and notification shapes (1,000).
    pub hot: usize,
    /// History: sensors (100).
    pub sensors: usize,
    /// History: days of minute data per sensor (30).
    pub days: usize,
    /// Aggregation queries to time.
    pub agg_queries: usize,
    /// Entities of the memory shape (1,000,000; below 1 M the 1 M figure is projected).
    pub memory_entities: usize,
    /// Changes per second of the notification shape (5,000).
    pub change_rate: f64,
    /// Kill -9 trials.
    pub trials: usize,
    /// Connections of the overload scenario.
    pub overload_connections: usize,
}

impl Opts {
    /// The sizes of DESIGN.md times `scale` (with small floors so every shape has data).
    pub fn scaled(scale: f64, connections: usize, duration: Duration) -> Self {
        let s = |n: f64, min: usize| ((n * scale).round() as usize).max(min);
        Self {
            scale,
            connections,
            duration,
            warmup: (duration / 10).min(Duration::from_secs(1)),
            entities: s(100_000.0, 200),
            hot: s(1_000.0, 50).min(s(100_000.0, 200)),
            sensors: s(100.0, 2),
            days: if scale >= 0.1 { 30 } else { 2 },
            agg_queries: if scale >= 0.1 { 20 } else { 3 },
            memory_entities: s(1_000_000.0, 1_000),
            change_rate: 5_000.0 * scale.clamp(0.02, 1.0),
            trials: if scale >= 0.1 { 3 } else { 1 },
            overload_connections: s(3_000.0, 100),
        }
    }
}

/// A server under test: where it listens and which process does its work.
pub struct Target {
    /// Address.
    pub addr: SocketAddr,
    /// The process doing the work (the child, or this process for in-process servers).
    pub proc: Proc,
    /// The child, if it is one.
    pub server: Option<Server>,
    /// Whatever keeps an in-process server alive.
    pub keep: Option<Box<dyn std::any::Any + Send>>,
    /// Quartier's data directory (`None` for the baseline).
    pub data: Option<PathBuf>,
}

impl Target {
    /// Size of the server's WAL file now, bytes (0 without one). SQLite never shrinks the
    /// file, so at the end of a shape this is the largest the WAL has been.
    pub fn wal_size(&self) -> u64 {
        self.data
            .as_ref()
            .and_then(|d| std::fs::metadata(d.join("quartier.db-wal")).ok())
            .map_or(0, |m| m.len())
    }

    /// Stops a child gracefully; drops an in-process server.
    pub async fn stop(self) {
        if let Some(s) = self.server {
            s.stop(Duration::from_secs(30)).await;
        }
    }

    /// Sends one request.
    pub async fn send(&self, r: &Req) -> anyhow::Result<(u16, Bytes)> {
        load::once(self.addr, r).await
    }

    /// Sends one request and fails unless it is answered with a 2xx.
    pub async fn ok(&self, r: &Req) -> anyhow::Result<Bytes> {
        let (s, b) = self.send(r).await?;
        anyhow::ensure!(
            (200..300).contains(&s),
            "{} {} answered {s}: {}",
            r.method,
            r.path,
            String::from_utf8_lossy(&b)
        );
        Ok(b)
    }
}

/// Starts Quartier over a fresh data directory.
pub type Launch = Arc<
    dyn Fn(PathBuf) -> Pin<Box<dyn Future<Output = anyhow::Result<Target>> + Send>> + Send + Sync,
>;

/// The launcher of the real binary: `quartier serve --data-dir DIR` (durability `full`).
pub fn binary_launcher(bin: PathBuf) -> Launch {
    Arc::new(move |dir: PathBuf| {
        let bin = bin.clone();
        Box::pin(async move {
            std::fs::create_dir_all(&dir)?;
            let args = vec![
                "serve".to_owned(),
                "--data-dir".to_owned(),
                dir.display().to_string(),
            ];
            let s = Server::spawn(&bin, &args, &dir.with_extension("log")).await?;
            Ok(Target {
                addr: s.addr,
                proc: s.proc,
                server: Some(s),
                keep: None,
                data: Some(dir),
            })
        })
    })
}

/// A whole run in progress.
pub struct Bench {
    /// Sizes.
    pub opts: Opts,
    /// Results so far.
    pub report: Report,
    /// Starts Quartier.
    pub launch: Launch,
    /// The bare-axum baseline.
    pub baseline: Target,
    /// Data directories live here.
    pub work: PathBuf,
    /// Data directories stay when their shape is done.
    pub keep: bool,
}

impl Bench {
    /// A fresh data directory for `name`.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.work.join(name)
    }

    /// Removes the data directory `name` once its shape is done, so that a run never holds
    /// more than one shape's data on disk. The server's log (`name.log`) stays.
    pub fn discard(&self, name: &str) {
        if self.keep {
            return;
        }
        let _ = std::fs::remove_dir_all(self.dir(name));
    }

    /// Starts Quartier on the fresh data directory `name`.
    pub async fn quartier(&self, name: &str) -> anyhow::Result<Target> {
        (self.launch)(self.dir(name)).await
    }

    /// A load of `make` against `t` for the configured duration on `connections`.
    pub fn timed(&self, t: &Target, connections: usize, make: MakeReq) -> Load {
        Load {
            addr: t.addr,
            connections,
            until: Until::Duration(self.opts.duration),
            warmup: self.opts.warmup,
            rate: None,
            make,
        }
    }

    /// Makes the baseline answer requests under `prefix` like Quartier answers `sample`.
    pub async fn copy_answer(&self, q: &Target, sample: &Req, prefix: &str) -> anyhow::Result<()> {
        let (status, body) = q.send(sample).await?;
        crate::baseline::can(self.baseline.addr, &sample.method, prefix, status, body).await
    }
}

/// Runs `load` against `t` and measures `t`'s process meanwhile; `per_request` units per
/// 2xx answer.
pub async fn measure(t: &Target, load: Load, per_request: f64) -> (Outcome, Measure) {
    t.proc.reset_peak();
    let mark = t.proc.cpu();
    let o = load::run(load).await;
    let mut m = Measure::from_outcome(&o, per_request).with_server(t.proc, mark);
    m.wal = t.wal_size();
    (o, m)
}

/// Percent-encodes a query-string component.
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A JSON request body.
pub fn body(v: &serde_json::Value) -> Bytes {
    Bytes::from(serde_json::to_vec(v).unwrap_or_default())
}

/// POST of a JSON value.
pub fn post(path: &str, v: &serde_json::Value) -> Req {
    Req::json(Method::POST, path, body(v))
}

/// Makes a [`MakeReq`] from a closure.
pub fn make(f: impl Fn(usize, u64) -> Req + Send + Sync + 'static) -> MakeReq {
    Arc::new(f)
}

/// Whether `p` looks like a usable directory for data.
pub fn check_dir(p: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(p)?;
    Ok(())
}
