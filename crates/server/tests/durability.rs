//! Durability of the real binary: a SIGKILL in the middle of concurrent ingestion loses no
//! acknowledged write, restarts over an existing WAL keep everything, and SIGTERM shuts the
//! server down gracefully.
//!
//! `QUARTIER_KILL_TRIALS=N` runs N kill trials instead of the default 5.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

const ENTITIES: &str = "/ngsi-ld/v1/entities";
const UPSERT: &str = "/ngsi-ld/v1/entityOperations/upsert";
const CLIENT_TASKS: usize = 8;
const BATCH: usize = 10;
const START_DEADLINE: Duration = Duration::from_secs(30);

/// Acknowledged writes: id -> the value of its `v` property.
type Acked = Arc<Mutex<BTreeMap<String, i64>>>;

/// A `quartier serve` child process.
struct Server {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    /// Starts the binary on a free port over `data` and waits for `GET /health` to answer 200.
    async fn start(data: &Path, log: &Path, client: &reqwest::Client) -> Self {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let logfile = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_quartier"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(data)
            .env("RUST_LOG", "warn")
            .env_remove("QUARTIER_CONFIG")
            .env_remove("QUARTIER_DURABILITY")
            .stdin(Stdio::null())
            .stdout(logfile.try_clone().unwrap())
            .stderr(logfile)
            .spawn()
            .unwrap();
        let mut server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log: log.to_owned(),
        };
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!(
                    "quartier exited during start-up with {status}; log:\n{}",
                    server.log_text()
                );
            }
            let ok = client
                .get(format!("{}/health", server.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "quartier not healthy within {START_DEADLINE:?}; log:\n{}",
                server.log_text()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL (what `Child::kill` sends on Unix) and reap.
    fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits up to `deadline` for the exit status.
    async fn sigterm(mut self, deadline: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-s", "TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -s TERM {pid} failed");
        let until = Instant::now() + deadline;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= until {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "quartier did not exit within {deadline:?} of SIGTERM; log:\n{}",
                    self.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Never leave a server behind when a test fails half-way.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider; plain HTTP still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn entity(id: &str, value: i64) -> Value {
    json!({"id": id, "type": "T", "v": {"type": "Property", "value": value}})
}

/// One client: alternates two single creates and one batch upsert of [`BATCH`] entities,
/// recording every id whose request got a 2xx, until a request fails (the server is gone)
/// or `stop` is set.
async fn ingest(
    client: reqwest::Client,
    base: String,
    prefix: String,
    acked: Acked,
    stop: Arc<AtomicBool>,
) {
    let mut n: i64 = 0;
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let (result, written) = if round.is_multiple_of(3) {
            let written: Vec<(String, i64)> = (0..BATCH)
                .map(|_| {
                    n += 1;
                    (format!("urn:ngsi-ld:T:{prefix}-{n}"), n)
                })
                .collect();
            let body: Vec<Value> = written.iter().map(|(id, v)| entity(id, *v)).collect();
            let r = client
                .post(format!("{base}{UPSERT}"))
                .json(&body)
                .send()
                .await;
            (r, written)
        } else {
            n += 1;
            let id = format!("urn:ngsi-ld:T:{prefix}-{n}");
            let r = client
                .post(format!("{base}{ENTITIES}"))
                .json(&entity(&id, n))
                .send()
                .await;
            (r, vec![(id, n)])
        };
        let Ok(resp) = result else { return };
        let status = resp.status();
        // A 2xx status line is the acknowledgement, whether or not the body arrives in full.
        if status.is_success() && status != 207 {
            acked.lock().unwrap().extend(written);
        }
        let Ok(body) = resp.bytes().await else { return };
        assert!(
            status.is_success() && status != 207,
            "a valid write was refused with {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
}

/// GETs every id in `expected` (16 at a time) and asserts it is there with its value.
async fn assert_all_present(
    client: &reqwest::Client,
    base: &str,
    expected: &BTreeMap<String, i64>,
    when: &str,
) {
    let items: Vec<(String, i64)> = expected.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let chunks: Vec<Vec<(String, i64)>> = items
        .chunks(items.len().div_ceil(16).max(1))
        .map(<[_]>::to_vec)
        .collect();
    let mut checks = Vec::new();
    for chunk in chunks {
        let client = client.clone();
        let base = base.to_owned();
        checks.push(tokio::spawn(async move {
            let mut missing = Vec::new();
            for (id, v) in chunk {
                let r = client
                    .get(format!("{base}{ENTITIES}/{id}"))
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                if status != 200 || body["id"] != id.as_str() || body["v"]["value"] != v {
                    missing.push(format!("{id} (expected v={v}): {status} {body}"));
                }
            }
            missing
        }));
    }
    let mut missing = Vec::new();
    for c in checks {
        missing.extend(c.await.unwrap());
    }
    assert!(
        missing.is_empty(),
        "{when}: {} of {} acknowledged writes lost or wrong, e.g. {:?}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(5)]
    );
}

/// A kill delay between 150 and 400 ms that varies from trial to trial and run to run.
fn kill_delay(trial: usize) -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as usize;
    let mix = nanos
        .wrapping_mul(2_654_435_761)
        .wrapping_add(trial.wrapping_mul(40_503));
    Duration::from_millis(150 + (mix % 251) as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_during_concurrent_ingestion_loses_no_acknowledged_write() {
    let trials: usize = std::env::var("QUARTIER_KILL_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("quartier.log");
    let client = client();
    let mut all: BTreeMap<String, i64> = BTreeMap::new();

    for trial in 0..trials {
        let server = Server::start(data.path(), &log, &client).await;
        if trial > 0 {
            // Everything acknowledged before earlier kills survived this restart too.
            assert_all_present(
                &client,
                &server.base,
                &all,
                &format!("after restart {trial}"),
            )
            .await;
        }
        let acked: Acked = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let tasks: Vec<_> = (0..CLIENT_TASKS)
            .map(|task| {
                tokio::spawn(ingest(
                    client.clone(),
                    server.base.clone(),
                    format!("t{trial}-c{task}"),
                    acked.clone(),
                    stop.clone(),
                ))
            })
            .collect();
        let delay = kill_delay(trial);
        tokio::time::sleep(delay).await;
        server.sigkill();
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            t.await.unwrap();
        }
        let acked = std::mem::take(&mut *acked.lock().unwrap());
        println!(
            "trial {trial}: killed after {delay:?}, {} acknowledged writes",
            acked.len()
        );
        assert!(
            !acked.is_empty(),
            "trial {trial}: no write was acknowledged before the kill; the trial proves nothing"
        );

        let server = Server::start(data.path(), &log, &client).await;
        assert_all_present(
            &client,
            &server.base,
            &acked,
            &format!("trial {trial} after SIGKILL"),
        )
        .await;
        server.sigkill();
        all.extend(acked);
    }

    let server = Server::start(data.path(), &log, &client).await;
    assert_all_present(&client, &server.base, &all, "final restart").await;
    println!(
        "{trials} trials, {} acknowledged writes in total, all present",
        all.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_in_flight_writes_and_exits_successfully() {
    let data = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("quartier.log");
    let client = client();
    let server = Server::start(data.path(), &log, &client).await;

    // A write acknowledged before the signal...
    let r = client
        .post(format!("{}{ENTITIES}", server.base))
        .json(&entity("urn:ngsi-ld:T:before", 7))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    // ...and writes still in flight when it arrives.
    let acked: Acked = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..4)
        .map(|task| {
            tokio::spawn(ingest(
                client.clone(),
                server.base.clone(),
                format!("term-c{task}"),
                acked.clone(),
                stop.clone(),
            ))
        })
        .collect();
    // Let the load get going before the signal.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no ingestion progress"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = server.sigterm(Duration::from_secs(10)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    assert!(
        status.success(),
        "SIGTERM should end quartier with success, got {status}"
    );

    let mut expected = std::mem::take(&mut *acked.lock().unwrap());
    println!("SIGTERM: {} writes acknowledged under load", expected.len());
    expected.insert("urn:ngsi-ld:T:before".into(), 7);
    let server = Server::start(data.path(), &log, &client).await;
    assert_all_present(&client, &server.base, &expected, "after SIGTERM").await;
    let status = server.sigterm(Duration::from_secs(10)).await;
    assert!(
        status.success(),
        "an idle quartier should exit with success on SIGTERM, got {status}"
    );
}
