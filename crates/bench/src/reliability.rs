//! Reliability scenarios, each ending in a verdict with its numbers: kill -9 under
//! concurrent writes, a slow subscriber beside fast ones, a noisy tenant beside a quiet one,
//! and far more connections than the server can serve.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::Method;
use serde_json::{Value, json};

use crate::bench::{Bench, Target, body, enc, make, measure};
use crate::data::{self, SENSOR};
use crate::load::{self, Conn, Load, Req, Until};
use crate::notify::{Receiver, stamped_patches, subscribe};
use crate::report::{Verdict, num};

const UPSERT: &str = "/ngsi-ld/v1/entityOperations/upsert";

fn verdict(b: &mut Bench, scenario: &str, pass: Option<bool>, detail: String, figures: Value) {
    let v = match pass {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "INFO",
    };
    println!("  {scenario}: {v} — {detail}");
    b.report.reliability.push(Verdict {
        scenario: scenario.into(),
        verdict: v.into(),
        detail,
        figures,
    });
}

/// Runs every scenario; a scenario that cannot run is reported as FAIL with its error.
pub async fn all(b: &mut Bench) -> anyhow::Result<()> {
    if let Err(e) = kill9(b).await {
        verdict(
            b,
            "kill -9 under writes",
            Some(false),
            format!("could not run: {e:#}"),
            Value::Null,
        );
    }
    if let Err(e) = slow_subscriber(b).await {
        verdict(
            b,
            "slow subscriber",
            Some(false),
            format!("could not run: {e:#}"),
            Value::Null,
        );
    }
    let q = b.quartier("tenants").await?;
    if let Err(e) = noisy_tenant(b, &q).await {
        verdict(
            b,
            "noisy tenant",
            Some(false),
            format!("could not run: {e:#}"),
            Value::Null,
        );
    }
    if let Err(e) = overload(b, &q).await {
        verdict(
            b,
            "overload",
            Some(false),
            format!("could not run: {e:#}"),
            Value::Null,
        );
    }
    q.stop().await;
    b.discard("tenants");
    Ok(())
}

/// Upserts the `n` first sensors (100 per request) into `tenant`.
async fn seed(q: &Target, tenant: Option<&str>, n: usize) -> anyhow::Result<()> {
    for k in 0..n.div_ceil(100) {
        let items: Vec<Value> = (k * 100..((k + 1) * 100).min(n))
            .map(|i| data::sensor(SENSOR, &data::sensor_id(i), i as u64))
            .collect();
        let mut r = Req::json(Method::POST, UPSERT, body(&Value::Array(items)));
        if let Some(t) = tenant {
            r = r.with_header("NGSILD-Tenant", t);
        }
        q.ok(&r).await?;
    }
    Ok(())
}

/// `trials` times: 8 writers create entities until the server is killed with SIGKILL at a
/// varying moment; after a restart on the same data, every acknowledged entity must be there.
pub async fn kill9(b: &mut Bench) -> anyhow::Result<()> {
    let mut acked_total = 0usize;
    let mut lost_total = 0usize;
    let mut per_trial = Vec::new();
    for trial in 0..b.opts.trials {
        let name = format!("kill9-{trial}");
        let mut q = b.quartier(&name).await?;
        let Some(server) = q.server.take() else {
            verdict(
                b,
                "kill -9 under writes",
                None,
                "not a child process: skipped".into(),
                Value::Null,
            );
            return Ok(());
        };
        let acked: Arc<Mutex<Vec<String>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        for w in 0..8 {
            let (acked, stop, addr) = (acked.clone(), stop.clone(), q.addr);
            writers.push(tokio::spawn(async move {
                let Ok(mut c) = Conn::open(addr).await else { return };
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let id = format!("urn:ngsi-ld:BenchKill:t{trial}-w{w}-{n}");
                    let e = json!({"id": id, "type": "BenchKill", "v": {"type": "Property", "value": n}});
                    match c.send(&Req::json(Method::POST, "/ngsi-ld/v1/entities", body(&e))).await {
                        Ok((201, _)) => {
                            if let Ok(mut a) = acked.lock() {
                                a.push(id);
                            }
                        }
                        Ok(_) => {}
                        Err(_) => return,
                    }
                }
            }));
        }
        let after = Duration::from_millis(800 + 700 * (trial as u64 % 4));
        tokio::time::sleep(after).await;
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            let _ = w.await;
        }
        let acked: Vec<String> = acked.lock().map(|a| a.clone()).unwrap_or_default();
        let q = b.quartier(&name).await?;
        let present = ids_of_type(&q, "BenchKill").await?;
        q.stop().await;
        b.discard(&name);
        let lost = acked.iter().filter(|id| !present.contains(*id)).count();
        acked_total += acked.len();
        lost_total += lost;
        per_trial.push(json!({"killed_after_ms": after.as_millis() as u64, "acknowledged": acked.len(), "lost": lost}));
    }
    verdict(
        b,
        "kill -9 under writes",
        Some(lost_total == 0 && acked_total > 0),
        format!(
            "{} trials, 8 writers of single creates, SIGKILL after 0.8–2.9 s: {acked_total} acknowledged, {lost_total} lost after restart",
            b.opts.trials
        ),
        json!({"acknowledged": acked_total, "lost": lost_total, "trials": per_trial}),
    );
    Ok(())
}

/// Every entity id of `ty` (pages of 1000).
async fn ids_of_type(q: &Target, ty: &str) -> anyhow::Result<HashSet<String>> {
    let mut ids = HashSet::new();
    let mut c = Conn::open(q.addr).await?;
    for page in 0.. {
        let path = format!(
            "/ngsi-ld/v1/entities?type={ty}&limit=1000&offset={}&options=keyValues",
            page * 1000
        );
        let (s, body) = c.send(&Req::get(path)).await?;
        anyhow::ensure!(s == 200, "listing {ty} answered {s}");
        let v: Value = serde_json::from_slice(&body)?;
        let arr = v.as_array().cloned().unwrap_or_default();
        let n = arr.len();
        ids.extend(
            arr.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_owned)),
        );
        if n < 1000 {
            break;
        }
    }
    Ok(ids)
}

/// Five fast receivers' latency with and without a sixth subscription whose receiver takes
/// 2 s per notification.
pub async fn slow_subscriber(b: &mut Bench) -> anyhow::Result<()> {
    let q = b.quartier("slow").await?;
    let hot = 200.min(b.opts.hot.max(10));
    seed(&q, None, hot).await?;
    let rx = Receiver::start().await?;
    for k in 0..5 {
        let id = format!("urn:ngsi-ld:Subscription:fast-{k}");
        subscribe(&q, None, &id, json!([{"type": SENSOR}]), &rx.uri("fast", k)).await?;
    }
    let rate = (b.opts.change_rate / 10.0).clamp(50.0, 500.0);
    let d = b.opts.duration;
    // An unrecorded pass first, so that neither recorded pass pays for warming up.
    let _ = load::run(stamped_patches(&q, hot, rate, 8, d / 3)).await;
    rx.drain("fast", usize::MAX, Duration::from_secs(1)).await;
    let mut runs = Vec::new();
    for with_slow in [false, true] {
        if with_slow {
            subscribe(
                &q,
                None,
                "urn:ngsi-ld:Subscription:slow",
                json!([{"type": SENSOR}]),
                &rx.uri("slow", 0),
            )
            .await?;
        }
        rx.take("fast");
        let o = load::run(stamped_patches(&q, hot, rate, 8, d)).await;
        rx.drain("fast", 5 * o.ok as usize, Duration::from_secs(3))
            .await;
        let lat = rx.take("fast");
        let share = if o.ok > 0 {
            lat.len() as f64 / (5 * o.ok) as f64
        } else {
            0.0
        };
        runs.push((
            load::quantile_ms(&lat, 0.5),
            load::quantile_ms(&lat, 0.99),
            share,
            o.ok_throughput(),
        ));
    }
    let slow_seen = rx.count("slow");
    q.stop().await;
    b.discard("slow");
    let (a, s) = (runs[0], runs[1]);
    let pass = s.1 <= (2.0 * a.1).max(a.1 + 10.0) && s.2 >= 0.99;
    verdict(
        b,
        "slow subscriber",
        Some(pass),
        format!(
            "{} changes/s to 5 fast receivers: p50/p99 {} / {} ms alone, {} / {} ms beside a 2 s receiver; delivered {:.1} % / {:.1} %; the slow one got {slow_seen}",
            num(a.3),
            num(a.0),
            num(a.1),
            num(s.0),
            num(s.1),
            a.2 * 100.0,
            s.2 * 100.0
        ),
        json!({"rate": a.3, "alone": {"p50_ms": a.0, "p99_ms": a.1, "delivered": a.2},
               "beside_slow": {"p50_ms": s.0, "p99_ms": s.1, "delivered": s.2}, "slow_received": slow_seen}),
    );
    Ok(())
}

fn quiet_reads(q: &Target, d: Duration) -> Load {
    Load {
        addr: q.addr,
        connections: 4,
        until: Until::Duration(d),
        warmup: Duration::ZERO,
        rate: Some(400.0),
        make: make(|c, seq| {
            let i = (data::mix((c as u64) << 32 | seq) % 1000) as usize;
            Req::get(format!("/ngsi-ld/v1/entities/{}", enc(&data::sensor_id(i))))
                .with_header("NGSILD-Tenant", "quiet")
        }),
    }
}

/// A quiet tenant's reads (400/s) alone and during a batch-upsert flood on another tenant.
pub async fn noisy_tenant(b: &mut Bench, q: &Target) -> anyhow::Result<()> {
    seed(q, Some("quiet"), 1000).await?;
    let d = b.opts.duration;
    let alone = load::run(quiet_reads(q, d)).await;
    let next = Arc::new(AtomicUsize::new(0));
    let flood = Load {
        addr: q.addr,
        connections: 16,
        until: Until::Duration(d),
        warmup: Duration::ZERO,
        rate: None,
        make: make(move |_, _| {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let items: Vec<Value> = (k * 100..(k + 1) * 100)
                .map(|i| data::sensor(SENSOR, &data::sensor_id(i), i as u64))
                .collect();
            Req::json(Method::POST, UPSERT, body(&Value::Array(items)))
                .with_header("NGSILD-Tenant", "noisy")
        }),
    };
    let (quiet, (fo, _)) = tokio::join!(load::run(quiet_reads(q, d)), measure(q, flood, 100.0));
    let all_ok = quiet.ok == quiet.requests && quiet.errors == 0;
    let pass = all_ok && quiet.quantile_ms(0.99) < 50.0;
    verdict(
        b,
        "noisy tenant",
        Some(pass),
        format!(
            "quiet tenant's retrieve p50/p99 {} / {} ms alone, {} / {} ms while another tenant upserts {} entities/s (16 conn); quiet answers {} (pass: all 2xx, p99 < 50 ms)",
            num(alone.quantile_ms(0.5)),
            num(alone.quantile_ms(0.99)),
            num(quiet.quantile_ms(0.5)),
            num(quiet.quantile_ms(0.99)),
            num(fo.ok_throughput() * 100.0),
            quiet.status_summary()
        ),
        json!({"alone": {"p50_ms": alone.quantile_ms(0.5), "p99_ms": alone.quantile_ms(0.99)},
               "flooded": {"p50_ms": quiet.quantile_ms(0.5), "p99_ms": quiet.quantile_ms(0.99), "statuses": quiet.status_summary()},
               "flood_entities_per_s": fo.ok_throughput() * 100.0}),
    );
    Ok(())
}

/// `overload_connections` connections issuing queries back-to-back: the server must answer
/// (200, or 429/503 when it sheds load), keep its memory bounded and stay alive.
pub async fn overload(b: &mut Bench, q: &Target) -> anyhow::Result<()> {
    let conns = b.opts.overload_connections;
    let rss_before = q.proc.rss();
    let load = Load {
        addr: q.addr,
        connections: conns,
        until: Until::Duration(b.opts.duration),
        warmup: Duration::ZERO,
        rate: None,
        // Half retrieves, a quarter creates, a quarter small queries (the quiet tenant's
        // 1,000 entities): cheap requests, so the run ends soon after its duration.
        make: make(|c, seq| {
            let k = (c as u64).wrapping_add(seq) % 4;
            let i = (data::mix((c as u64) << 32 | seq) % 1000) as usize;
            match k {
                0 => {
                    let e = data::sensor(SENSOR, &format!("urn:ngsi-ld:{SENSOR}:o{c}-{seq}"), seq);
                    Req::json(Method::POST, "/ngsi-ld/v1/entities", body(&e))
                        .with_header("NGSILD-Tenant", "noisy")
                }
                1 => Req::get(format!(
                    "/ngsi-ld/v1/entities?type={SENSOR}&q={}&limit=100",
                    enc("temperature>20")
                ))
                .with_header("NGSILD-Tenant", "quiet"),
                _ => Req::get(format!("/ngsi-ld/v1/entities/{}", enc(&data::sensor_id(i))))
                    .with_header("NGSILD-Tenant", "quiet"),
            }
        }),
    };
    let (o, m) = measure(q, load, 1.0).await;
    let alive = q.proc.alive();
    let t0 = Instant::now();
    let mut healthy = false;
    while t0.elapsed() < Duration::from_secs(10) {
        if let Ok((200, _)) = q.send(&Req::get("/health")).await {
            healthy = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recovered_ms = t0.elapsed().as_millis() as u64;
    let shed: u64 = o
        .statuses
        .iter()
        .filter(|(k, _)| **k == 429 || **k == 503)
        .map(|(_, v)| *v)
        .sum();
    let mib = |x: u64| x / (1 << 20);
    let pass = alive && healthy;
    verdict(
        b,
        "overload",
        Some(pass),
        format!(
            "{conns} connections (1/2 retrieves, 1/4 creates, 1/4 type+q queries over 1,000 entities) for {:.0} s: {} answered/s, p50/p99 {} / {} ms, statuses {}; shed with 429/503: {shed}; RSS {} MiB before, peak {} MiB; alive {alive}, /health {} after {recovered_ms} ms",
            b.opts.duration.as_secs_f64(),
            num(o.throughput()),
            num(o.quantile_ms(0.5)),
            num(o.quantile_ms(0.99)),
            o.status_summary(),
            mib(rss_before),
            mib(m.peak_rss),
            if healthy { "200" } else { "not answering" },
        ),
        json!({"connections": conns, "answered_per_s": o.throughput(), "p50_ms": o.quantile_ms(0.5),
               "p99_ms": o.quantile_ms(0.99), "statuses": o.statuses, "connection_errors": o.errors,
               "shed": shed, "rss_before": rss_before, "peak_rss": m.peak_rss, "alive": alive, "healthy_after": healthy}),
    );
    Ok(())
}
