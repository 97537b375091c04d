//! The storage ceiling: the embedded engine (SQLite, as bundled with rusqlite) driven
//! directly, with the pragmas Quartier uses (WAL, `synchronous=FULL`), batched inserts and
//! the equivalent selects. No HTTP, no JSON-LD, no model: what the disk and the engine cost.

use std::path::Path;
use std::time::Instant;

use rusqlite::{Connection, params};

use crate::process::Proc;
use crate::report::Measure;

fn open(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

fn sorted_quantiles(mut us: Vec<u32>) -> (f64, f64) {
    us.sort_unstable();
    (
        crate::load::quantile_ms(&us, 0.5),
        crate::load::quantile_ms(&us, 0.99),
    )
}

/// Inserts `n` JSON documents made by `doc` into `entities(tenant, id, doc)` in
/// transactions of `batch` rows, each committed (fsync'd). Rate = rows/s; latency = per
/// transaction.
pub fn entity_inserts(
    dir: &Path,
    n: usize,
    batch: usize,
    doc: impl Fn(usize) -> (String, String),
) -> anyhow::Result<Measure> {
    let mut conn = open(&dir.join("raw-entities.db"))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS entities (tenant TEXT NOT NULL, id TEXT NOT NULL, doc TEXT NOT NULL,
         PRIMARY KEY (tenant, id)) WITHOUT ROWID;",
    )?;
    let me = Proc::current();
    let mark = me.cpu();
    let began = Instant::now();
    let mut lat = Vec::new();
    let mut i = 0;
    while i < n {
        let t0 = Instant::now();
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO entities (tenant, id, doc) VALUES ('', ?1, ?2)",
            )?;
            for k in i..(i + batch).min(n) {
                let (id, d) = doc(k);
                st.execute(params![id, d])?;
            }
        }
        tx.commit()?;
        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
        i += batch;
    }
    let secs = began.elapsed().as_secs_f64();
    let (p50, p99) = sorted_quantiles(lat);
    Ok(Measure {
        rate: n as f64 / secs.max(1e-9),
        p50_ms: p50,
        p99_ms: p99,
        count: n as u64,
        cpu_cores: me.cores_since(mark),
        ..Measure::default()
    })
}

/// Reads `n` documents by primary key from the table [`entity_inserts`] wrote (ids from
/// `id`), one statement each. Rate = rows/s.
pub fn entity_selects(
    dir: &Path,
    n: usize,
    id: impl Fn(usize) -> String,
) -> anyhow::Result<Measure> {
    let conn = open(&dir.join("raw-entities.db"))?;
    let mut st = conn.prepare_cached("SELECT doc FROM entities WHERE tenant = '' AND id = ?1")?;
    let began = Instant::now();
    let mut lat = Vec::with_capacity(n);
    let mut bytes = 0usize;
    for k in 0..n {
        let t0 = Instant::now();
        let d: String = st.query_row(params![id(k)], |r| r.get(0))?;
        bytes += d.len();
        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    let secs = began.elapsed().as_secs_f64();
    let (p50, p99) = sorted_quantiles(lat);
    Ok(Measure {
        rate: n as f64 / secs.max(1e-9),
        p50_ms: p50,
        p99_ms: p99,
        count: bytes as u64,
        ..Measure::default()
    })
}

/// The raw history baseline: minute values of `sensors` series over `minutes` minutes.
pub struct History {
    /// Insert rate (instances/s), per-transaction latency.
    pub insert: Measure,
    /// Hourly average over everything (queries/s, latency per query).
    pub aggregate: Measure,
}

/// Inserts `sensors × minutes` rows `(sid, ts, value)` in transactions of one sensor-day,
/// then runs an hourly `avg` over all of them `queries` times.
pub fn history(
    dir: &Path,
    sensors: usize,
    minutes: usize,
    queries: usize,
) -> anyhow::Result<History> {
    let mut conn = open(&dir.join("raw-history.db"))?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS inst (sid INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL,
         PRIMARY KEY (sid, ts)) WITHOUT ROWID;",
    )?;
    let me = Proc::current();
    let mark = me.cpu();
    let began = Instant::now();
    let mut lat = Vec::new();
    let day = 1440;
    for s in 0..sensors {
        let mut m = 0;
        while m < minutes {
            let t0 = Instant::now();
            let tx = conn.transaction()?;
            {
                let mut st =
                    tx.prepare_cached("INSERT INTO inst (sid, ts, value) VALUES (?1, ?2, ?3)")?;
                for k in m..(m + day).min(minutes) {
                    let ts = i64::try_from(k).unwrap_or(0) * 60_000;
                    st.execute(params![
                        i64::try_from(s).unwrap_or(0),
                        ts,
                        crate::data::meter_value(s, k)
                    ])?;
                }
            }
            tx.commit()?;
            lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
            m += day;
        }
    }
    let secs = began.elapsed().as_secs_f64();
    let (p50, p99) = sorted_quantiles(lat);
    let insert = Measure {
        rate: (sensors * minutes) as f64 / secs.max(1e-9),
        p50_ms: p50,
        p99_ms: p99,
        count: (sensors * minutes) as u64,
        cpu_cores: me.cores_since(mark),
        ..Measure::default()
    };
    // The raw read ceiling: one ordered scan of every row in range, folded into hourly
    // averages in Rust (SQLite's own GROUP BY on an expression sorts, and is slower).
    let mut st = conn.prepare(
        "SELECT sid, ts, value FROM inst WHERE sid >= 0 AND ts >= ?1 AND ts < ?2 ORDER BY sid, ts",
    )?;
    let end = i64::try_from(minutes).unwrap_or(0) * 60_000;
    let mut lat = Vec::new();
    let began = Instant::now();
    let mut buckets = 0u64;
    for _ in 0..queries.max(1) {
        let t0 = Instant::now();
        let mut rows = st.query(params![0i64, end])?;
        let mut out: Vec<(i64, i64, f64)> = Vec::new();
        let (mut key, mut sum, mut n) = ((-1i64, -1i64), 0.0f64, 0u32);
        while let Some(r) = rows.next()? {
            let (sid, ts, v): (i64, i64, f64) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let k = (sid, ts / 3_600_000);
            if k != key {
                if n > 0 {
                    out.push((key.0, key.1, sum / f64::from(n)));
                }
                (key, sum, n) = (k, 0.0, 0);
            }
            sum += v;
            n += 1;
        }
        if n > 0 {
            out.push((key.0, key.1, sum / f64::from(n)));
        }
        buckets = out.len() as u64;
        lat.push(u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX));
    }
    let secs = began.elapsed().as_secs_f64();
    let (p50, p99) = sorted_quantiles(lat);
    Ok(History {
        insert,
        aggregate: Measure {
            rate: queries.max(1) as f64 / secs.max(1e-9),
            p50_ms: p50,
            p99_ms: p99,
            count: buckets,
            ..Measure::default()
        },
    })
}
