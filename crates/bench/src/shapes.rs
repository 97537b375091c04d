//! The HTTP shapes on the 100,000-entity data set: create, batch upsert, PATCH on hot
//! entities, retrieve by id, type + `q` query and geo `near`, each against Quartier and the
//! bare-axum ceiling with the same requests, the write shapes also against raw SQLite.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::Method;
use serde_json::{Value, json};

use crate::bench::{Bench, Target, body, enc, make, measure};
use crate::data::{self, CREATED, SENSOR};
use crate::load::{Load, Req, Until};
use crate::report::{Primary, Row};
use crate::storage;

/// Durability of every write figure of a default installation.
pub const DURABLE: &str = "full: fsync'd group commit";

const ENTITIES: &str = "/ngsi-ld/v1/entities";
const UPSERT: &str = "/ngsi-ld/v1/entityOperations/upsert";

/// Entities per batch request.
pub const BATCH: usize = 100;

/// HTTP throughput ratio target: within 50 % of the ceiling.
fn ceiling_target(r: Row) -> Row {
    let met = r.ratio >= 0.5;
    r.target("≥ 0.5 × ceiling", met)
}

/// The shapes of the HTTP suite that were asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Which {
    /// Single entity create.
    pub create: bool,
    /// Batch upsert (always run unmeasured when a later shape needs the data set).
    pub batch: bool,
    /// Single attribute PATCH.
    pub patch: bool,
    /// Retrieve by id.
    pub retrieve: bool,
    /// Type + q query.
    pub query: bool,
    /// Geo near.
    pub geo: bool,
    /// Notification latency.
    pub notify: bool,
}

impl Which {
    fn needs_data(&self) -> bool {
        self.batch || self.patch || self.retrieve || self.query || self.geo || self.notify
    }
}

/// Runs the HTTP suite on one fresh Quartier.
pub async fn http_suite(b: &mut Bench, w: Which) -> anyhow::Result<()> {
    let q = b.quartier("http").await?;
    let result = run_suite(b, &q, w).await;
    q.stop().await;
    b.discard("http");
    result
}

async fn run_suite(b: &mut Bench, q: &Target, w: Which) -> anyhow::Result<()> {
    if w.create {
        create(b, q).await?;
    }
    if w.needs_data() {
        batch_upsert(b, q, w.batch).await?;
    }
    if w.patch {
        patch(b, q).await?;
    }
    if w.retrieve {
        retrieve(b, q).await?;
    }
    if w.query {
        query(b, q).await?;
    }
    if w.geo {
        geo(b, q).await?;
    }
    if w.notify {
        crate::notify::notification_latency(b, q).await?;
    }
    Ok(())
}

fn print_row(r: &Row) {
    println!(
        "  {:<24} {:>12} {:<12} ceiling {:>12}  ratio {:.2}  p50 {:.2} ms  p99 {:.2} ms  cpu {:.2}  [{}]",
        r.shape,
        crate::report::num(match r.primary {
            Primary::Rate => r.quartier.rate,
            Primary::P50 => r.quartier.p50_ms,
            Primary::P99 => r.quartier.p99_ms,
            Primary::Memory => r.quartier.peak_rss as f64 / 1048576.0,
        }),
        if r.primary == Primary::Memory {
            "MiB"
        } else {
            r.unit.as_str()
        },
        crate::report::num(match r.primary {
            Primary::Rate => r.baseline.rate,
            Primary::P50 => r.baseline.p50_ms,
            Primary::P99 => r.baseline.p99_ms,
            Primary::Memory => r.baseline.peak_rss as f64 / 1048576.0,
        }),
        r.ratio,
        r.quartier.p50_ms,
        r.quartier.p99_ms,
        r.quartier.cpu_cores,
        r.quartier.statuses,
    );
}

/// Adds a row to the report and prints it.
pub fn push(b: &mut Bench, r: Row) {
    print_row(&r);
    b.report.rows.push(r);
}

async fn create(b: &mut Bench, q: &Target) -> anyhow::Result<()> {
    let mk = |tag: &'static str| {
        make(move |c, seq| {
            let i = (c as u64) << 32 | seq;
            let id = format!("urn:ngsi-ld:{CREATED}:{tag}-{c}-{seq}");
            Req::json(Method::POST, ENTITIES, body(&data::sensor(CREATED, &id, i)))
        })
    };
    let sample = Req::json(
        Method::POST,
        ENTITIES,
        body(&data::sensor(CREATED, "urn:ngsi-ld:BenchCreated:sample", 0)),
    );
    b.copy_answer(q, &sample, ENTITIES).await?;
    let conns = b.opts.connections;
    let (_, qm) = measure(q, b.timed(q, conns, mk("q")), 1.0).await;
    let (_, bm) = measure(&b.baseline, b.timed(&b.baseline, conns, mk("b")), 1.0).await;
    let r = Row::new(
        "create",
        "entities/s",
        conns,
        qm,
        "bare axum",
        bm,
        Primary::Rate,
    )
    .durable(DURABLE)
    .note("POST /entities, one entity of 10 attributes per request");
    push(b, ceiling_target(r));
    Ok(())
}

/// The batch bodies of the data set: `entities / BATCH` arrays of [`BATCH`] sensors.
fn batch_bodies(entities: usize) -> Arc<Vec<Bytes>> {
    let n = entities.div_ceil(BATCH);
    Arc::new(
        (0..n)
            .map(|k| {
                let items: Vec<Value> = (k * BATCH..((k + 1) * BATCH).min(entities))
                    .map(|i| data::sensor(SENSOR, &data::sensor_id(i), i as u64))
                    .collect();
                body(&Value::Array(items))
            })
            .collect(),
    )
}

fn batch_load(t: &Target, conns: usize, bodies: Arc<Vec<Bytes>>) -> Load {
    let next = Arc::new(AtomicUsize::new(0));
    let n = bodies.len() as u64;
    Load {
        addr: t.addr,
        connections: conns,
        until: Until::Requests(n),
        warmup: std::time::Duration::ZERO,
        rate: None,
        make: make(move |_, _| {
            let k = next.fetch_add(1, Ordering::Relaxed) % bodies.len().max(1);
            Req::json(Method::POST, UPSERT, bodies[k].clone())
        }),
    }
}

async fn batch_upsert(b: &mut Bench, q: &Target, record: bool) -> anyhow::Result<()> {
    let entities = b.opts.entities;
    let bodies = batch_bodies(entities);
    let conns = b.opts.connections.min(16);
    println!("  seeding {entities} entities of 10 attributes in batches of {BATCH}...");
    let (o, qm) = measure(q, batch_load(q, conns, bodies.clone()), BATCH as f64).await;
    anyhow::ensure!(
        o.ok == bodies.len() as u64,
        "batch upsert: {} of {} requests succeeded ({})",
        o.ok,
        bodies.len(),
        o.status_summary()
    );
    if !record {
        return Ok(());
    }
    // The ceiling answers like Quartier answered a fresh batch (201 with the ids).
    let sample: Vec<Value> = (0..BATCH)
        .map(|i| data::sensor(SENSOR, &format!("urn:ngsi-ld:{SENSOR}:sample{i}"), i as u64))
        .collect();
    b.copy_answer(
        q,
        &Req::json(Method::POST, UPSERT, body(&Value::Array(sample))),
        UPSERT,
    )
    .await?;
    let (_, bm) = measure(
        &b.baseline,
        batch_load(&b.baseline, conns, bodies.clone()),
        BATCH as f64,
    )
    .await;
    let r = Row::new("batch upsert", "entities/s", conns, qm.clone(), "bare axum", bm, Primary::Rate)
        .durable(DURABLE)
        .note(format!(
            "POST /entityOperations/upsert, {BATCH} new entities × 10 attributes per request, {entities} entities (the query data set)"
        ));
    push(b, ceiling_target(r));
    // The storage ceiling: the same documents straight into SQLite, one commit per batch.
    let dir = b.dir("raw-entities");
    std::fs::create_dir_all(&dir)?;
    let docs: Vec<(String, String)> = (0..entities)
        .map(|i| {
            (
                data::sensor_id(i),
                data::sensor(SENSOR, &data::sensor_id(i), i as u64).to_string(),
            )
        })
        .collect();
    let sm = tokio::task::spawn_blocking(move || {
        storage::entity_inserts(&dir, docs.len(), BATCH, |i| docs[i].clone())
    })
    .await??;
    b.discard("raw-entities");
    let met = qm.rate >= 50_000.0;
    let r = Row::new("batch upsert", "entities/s", conns, qm, "raw SQLite insert", sm, Primary::Rate)
        .durable(DURABLE)
        .target("≥ 50,000/s", met)
        .note("storage ceiling: the same JSON documents inserted by one thread, 100 per fsync'd transaction (WAL, synchronous=FULL)");
    push(b, r);
    Ok(())
}

async fn patch(b: &mut Bench, q: &Target) -> anyhow::Result<()> {
    let hot = b.opts.hot;
    let mk = move || {
        make(move |c, seq| {
            let i = (data::mix((c as u64) << 32 | seq) % hot as u64) as usize;
            let v = (seq % 400) as f64 / 10.0;
            Req::json(
                Method::PATCH,
                format!("{ENTITIES}/{}/attrs/temperature", data::sensor_id(i)),
                body(&json!({"value": v})),
            )
        })
    };
    b.copy_answer(q, &(mk())(0, 0), ENTITIES).await?;
    let conns = b.opts.connections;
    let (_, qm) = measure(q, b.timed(q, conns, mk()), 1.0).await;
    let (_, bm) = measure(&b.baseline, b.timed(&b.baseline, conns, mk()), 1.0).await;
    let met = qm.rate >= 20_000.0;
    let mut r = Row::new(
        "PATCH attribute",
        "updates/s",
        conns,
        qm,
        "bare axum",
        bm,
        Primary::Rate,
    )
    .durable(DURABLE)
    .target("≥ 20,000/s", met);
    r.note = format!(
        "PATCH /entities/{{id}}/attrs/temperature on {hot} hot entities (each update also records history and runs subscription matching); ≥ 0.5 × ceiling {}",
        if r.ratio >= 0.5 { "met" } else { "missed" }
    );
    push(b, r);
    Ok(())
}

async fn retrieve(b: &mut Bench, q: &Target) -> anyhow::Result<()> {
    let n = b.opts.entities;
    let mk = move || {
        make(move |c, seq| {
            let i = (data::mix((c as u64) << 32 | seq) % n as u64) as usize;
            Req::get(format!("{ENTITIES}/{}", enc(&data::sensor_id(i))))
        })
    };
    b.copy_answer(q, &(mk())(0, 0), &format!("{ENTITIES}/"))
        .await?;
    let conns = b.opts.connections;
    let (_, qm) = measure(q, b.timed(q, conns, mk()), 1.0).await;
    let (_, bm) = measure(&b.baseline, b.timed(&b.baseline, conns, mk()), 1.0).await;
    let r = Row::new(
        "retrieve by id",
        "requests/s",
        conns,
        qm,
        "bare axum",
        bm,
        Primary::Rate,
    )
    .note(format!(
        "GET /entities/{{id}}, normalized, over {n} entities"
    ));
    push(b, ceiling_target(r));
    Ok(())
}

/// Runs a read shape at one connection (latency) and at full connections (throughput).
async fn read_pair(
    b: &mut Bench,
    q: &Target,
    shape: &str,
    mk: impl Fn() -> crate::load::MakeReq,
    note: &str,
) -> anyhow::Result<()> {
    b.copy_answer(q, &(mk())(0, 0), &format!("{ENTITIES}?"))
        .await?;
    let (_, qm) = measure(q, b.timed(q, 1, mk()), 1.0).await;
    let (_, bm) = measure(&b.baseline, b.timed(&b.baseline, 1, mk()), 1.0).await;
    let met = qm.p50_ms > 0.0 && qm.p50_ms < 5.0;
    let r = Row::new(shape, "ms", 1, qm, "bare axum", bm, Primary::P50)
        .target("p50 < 5 ms", met)
        .note(note.to_owned());
    push(b, r);
    let conns = b.opts.connections;
    let (_, qm) = measure(q, b.timed(q, conns, mk()), 1.0).await;
    let (_, bm) = measure(&b.baseline, b.timed(&b.baseline, conns, mk()), 1.0).await;
    let r = Row::new(
        shape,
        "requests/s",
        conns,
        qm,
        "bare axum",
        bm,
        Primary::Rate,
    );
    push(b, ceiling_target(r));
    Ok(())
}

async fn query(b: &mut Bench, q: &Target) -> anyhow::Result<()> {
    let n = b.opts.entities;
    let mk = || {
        make(|c, seq| {
            let t = 10 + (data::mix((c as u64) << 32 | seq) % 21);
            let ql = format!("temperature>{t};status==\"alarm\"");
            Req::get(format!("{ENTITIES}?type={SENSOR}&q={}&limit=100", enc(&ql)))
        })
    };
    let sample = (mk())(0, 0);
    let got: Value = serde_json::from_slice(&q.ok(&sample).await?)?;
    anyhow::ensure!(
        got.as_array().is_some_and(|a| !a.is_empty()),
        "the query found nothing"
    );
    read_pair(
        b,
        q,
        "type + q query",
        mk,
        &format!("GET /entities?type={SENSOR}&q=temperature>T;status==\"alarm\"&limit=100 over {n} entities (T varies, ~10 % match)"),
    )
    .await
}

async fn geo(b: &mut Bench, q: &Target) -> anyhow::Result<()> {
    let n = b.opts.entities;
    let mk = || {
        make(|c, seq| {
            let (lon, lat) = data::point(data::mix((c as u64) << 32 | seq | 1 << 62));
            Req::get(format!(
                "{ENTITIES}?type={SENSOR}&georel={}&geometry=Point&coordinates={}&limit=100",
                enc("near;maxDistance==500"),
                enc(&format!("[{lon},{lat}]"))
            ))
        })
    };
    let got: Value = serde_json::from_slice(&q.ok(&(mk())(0, 0)).await?)?;
    let found = got.as_array().map_or(0, Vec::len);
    read_pair(
        b,
        q,
        "geo near 500 m",
        mk,
        &format!(
            "GET /entities?type={SENSOR}&georel=near;maxDistance==500&geometry=Point over {n} points in 20 × 22 km, limit 100 ({found} found around the first centre)"
        ),
    )
    .await
}
