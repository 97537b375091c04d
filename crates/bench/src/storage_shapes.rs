//! The storage shapes: history import and hourly aggregation over minute data (against raw
//! SQLite inserts and `GROUP BY`), and resident memory with a million entities (against the
//! size of their JSON).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Method;
use serde_json::Value;

use crate::bench::{Bench, body, enc, make, measure};
use crate::data::{self, METER};
use crate::load::{Load, Req, Until};
use crate::report::{Measure, Primary, Row};
use crate::shapes::{DURABLE, push};
use crate::storage;

const DAY: usize = 1440;

/// History import rate and temporal aggregation on one fresh Quartier.
pub async fn history(b: &mut Bench) -> anyhow::Result<()> {
    let q = b.quartier("history").await?;
    let result = history_on(b, &q).await;
    q.stop().await;
    b.discard("history");
    b.discard("raw-history");
    result
}

async fn history_on(b: &mut Bench, q: &crate::bench::Target) -> anyhow::Result<()> {
    let (sensors, days) = (b.opts.sensors, b.opts.days);
    let minutes = days * DAY;
    let chunks = sensors * days;
    let total = sensors * minutes;
    println!(
        "  importing {total} instances ({sensors} sensors × {days} days of minutes, {DAY} per request)..."
    );
    let next = Arc::new(AtomicUsize::new(0));
    let conns = 4.min(sensors);
    let import = Load {
        addr: q.addr,
        connections: conns,
        until: Until::Requests(chunks as u64),
        warmup: Duration::ZERO,
        rate: None,
        // Chunk k is day k / sensors of sensor k % sensors: concurrent requests touch
        // different sensors, and each sensor's days arrive in order.
        make: make(move |_, _| {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let (s, d) = (k % sensors, k / sensors);
            let chunk = data::meter_chunk(s, d * DAY, (d + 1) * DAY);
            Req::json(Method::POST, "/ngsi-ld/v1/temporal/entities", body(&chunk))
        }),
    };
    let (o, qm) = measure(q, import, DAY as f64).await;
    anyhow::ensure!(
        o.ok == chunks as u64,
        "history import: {} of {chunks} requests succeeded ({})",
        o.ok,
        o.status_summary()
    );
    let dir = b.dir("raw-history");
    std::fs::create_dir_all(&dir)?;
    let queries = b.opts.agg_queries;
    let raw =
        tokio::task::spawn_blocking(move || storage::history(&dir, sensors, minutes, queries))
            .await??;
    let r = Row::new("history import", "instances/s", conns, qm, "raw SQLite insert", raw.insert, Primary::Rate)
        .durable(DURABLE)
        .note(format!(
            "POST /temporal/entities with {DAY} instances (one sensor-day) per request, {total} instances; ceiling: (series, time, value) rows, one fsync'd transaction per sensor-day"
        ));
    push(b, r);

    let path = format!(
        "/ngsi-ld/v1/temporal/entities?type={METER}&attrs=no2&timerel=between&timeAt={}&endTimeAt={}&options=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=PT1H&limit={}",
        enc(&data::minute(0)),
        enc(&data::minute(minutes)),
        sensors.min(1000)
    );
    let got: Value = serde_json::from_slice(&q.ok(&Req::get(path.clone())).await?)?;
    let entities = got.as_array().map_or(0, Vec::len);
    let buckets = got
        .get(0)
        .and_then(|e| e.get("no2"))
        .and_then(|a| a.get("avg"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let agg = Load {
        addr: q.addr,
        connections: 1,
        until: Until::Requests(queries as u64),
        warmup: Duration::ZERO,
        rate: None,
        make: make(move |_, _| Req::get(path.clone())),
    };
    let (_, qm) = measure(q, agg, 1.0).await;
    let met = qm.p50_ms > 0.0 && qm.p50_ms < 200.0;
    let r = Row::new("temporal hourly avg", "ms", 1, qm, "raw SQLite scan + fold", raw.aggregate, Primary::P50)
        .target("< 200 ms", met)
        .note(format!(
            "GET /temporal/entities?type={METER}&options=aggregatedValues&aggrMethods=avg&aggrPeriodDuration=PT1H over {total} instances; ceiling: one ordered scan of the raw rows folded into hourly averages; answer: {entities} entities, {buckets} hourly buckets in the first (expected {})",
            days * 24
        ));
    push(b, r);
    Ok(())
}

/// Entities per batch of the memory shape.
const MEMORY_BATCH: usize = 1000;

/// Resident memory with `memory_entities` small entities, after ingestion and after a
/// restart (start-up loads every entity). Below 1 M entities the figure for 1 M is
/// projected from the measured bytes per entity above the empty server's footprint.
pub async fn memory(b: &mut Bench) -> anyhow::Result<()> {
    let n = b.opts.memory_entities;
    let q = b.quartier("memory").await?;
    let empty = q.proc.rss();
    println!("  loading {n} entities of 4 attributes in batches of {MEMORY_BATCH}...");
    let next = Arc::new(AtomicUsize::new(0));
    let requests = n.div_ceil(MEMORY_BATCH);
    let load = Load {
        addr: q.addr,
        connections: 4,
        until: Until::Requests(requests as u64),
        warmup: Duration::ZERO,
        rate: None,
        make: make(move |_, _| {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let items: Vec<Value> = (k * MEMORY_BATCH..((k + 1) * MEMORY_BATCH).min(n))
                .map(|i| data::device(i as u64))
                .collect();
            Req::json(
                Method::POST,
                "/ngsi-ld/v1/entityOperations/upsert",
                body(&Value::Array(items)),
            )
        }),
    };
    let (o, ingest) = measure(&q, load, MEMORY_BATCH as f64).await;
    let after_ingest = q.proc.rss();
    let ingest_peak = ingest.peak_rss;
    q.stop().await;
    anyhow::ensure!(
        o.ok == requests as u64,
        "memory load: {} of {requests} requests succeeded ({})",
        o.ok,
        o.status_summary()
    );
    let q = b.quartier("memory").await?;
    let startup = q.server.as_ref().map_or(Duration::ZERO, |s| s.startup);
    let start_peak = q.proc.peak_rss();
    // A query over all of them, so the figure is of a server that has served reads.
    let _ = q
        .send(&Req::get(format!(
            "/ngsi-ld/v1/entities?type={}&q=temperature>39.9&limit=10",
            data::DEVICE
        )))
        .await;
    let resident = q.proc.rss();
    q.stop().await;
    b.discard("memory");
    let json_bytes: u64 = tokio::task::spawn_blocking(move || {
        (0..n)
            .map(|i| data::device(i as u64).to_string().len() as u64)
            .sum()
    })
    .await?;
    const MILLION: u64 = 1_000_000;
    let worst = resident.max(after_ingest).max(ingest_peak);
    let per_entity = worst.saturating_sub(empty) as f64 / n.max(1) as f64;
    let projected = if n as u64 >= MILLION {
        worst
    } else {
        empty + (per_entity * MILLION as f64) as u64
    };
    let qm = Measure {
        rate: ingest.rate,
        peak_rss: resident,
        cpu_cores: ingest.cpu_cores,
        disk_written: ingest.disk_written,
        count: n as u64,
        statuses: ingest.statuses.clone(),
        ..Measure::default()
    };
    let bm = Measure {
        peak_rss: json_bytes,
        count: n as u64,
        ..Measure::default()
    };
    let met = projected < 2 << 30;
    let mib = |x: u64| x / (1 << 20);
    let how = if n as u64 >= MILLION {
        format!("largest of these: {} MiB", mib(projected))
    } else {
        format!(
            "projected to 1 M entities from {n}: {} MiB (empty server {} MiB + {:.0} bytes per entity, from the largest of these)",
            mib(projected),
            mib(empty),
            per_entity
        )
    };
    let r = Row::new(
        &format!("{} entities resident", crate::report::num(n as f64)),
        "bytes",
        4,
        qm,
        "their JSON size",
        bm,
        Primary::Memory,
    )
    .target("1 M entities < 2 GiB", met)
    .durable(DURABLE)
    .note(format!(
        "entities of 4 attributes (number, text, GeoProperty point, Relationship); RSS after a restart and a query {} MiB (start-up {:.1} s, start-up peak {} MiB); after ingestion {} MiB, ingestion peak {} MiB; {how}; ingestion {} entities/s in batches of {MEMORY_BATCH}",
        mib(resident),
        startup.as_secs_f64(),
        mib(start_peak),
        mib(after_ingest),
        mib(ingest_peak),
        crate::report::num(ingest.rate),
    ));
    push(b, r);
    Ok(())
}
