//! Measures history on the embedded store (prints figures, asserts nothing about time):
//! 30 days of minute data for N sensors (default 10), then an hourly average over each,
//! from the hourly rollups and, as the baseline, by scanning every instance.
//!
//! `cargo run --release -p store-sqlite --example temporal_measure -- [SENSORS]`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use broker::model::{AttrKind, Attribute};
use broker::temporal::{
    AggrMethod, Instance, InstanceFilter, TemporalStore, TimeProperty, TimeRange,
};
use chrono::{Duration, TimeZone, Utc};
use serde_json::json;
use store_sqlite::{Durability, SqliteStore};

#[tokio::main]
async fn main() {
    let sensors: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    const MINUTES: i64 = 30 * 24 * 60;
    const BATCH: i64 = 1440;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("q.db"), Durability::Full).unwrap();
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let attr = "https://example.org/no2";
    let began = std::time::Instant::now();
    let mut n = 0u64;
    for s in 0..sensors {
        let id = format!("urn:ngsi-ld:Sensor:{s}");
        let mut m = 0;
        while m < MINUTES {
            let batch: Vec<Instance> = (m..(m + BATCH).min(MINUTES))
                .map(|k| {
                    let at = start + Duration::minutes(k);
                    Instance {
                        entity_id: id.clone(),
                        attr: attr.into(),
                        instance_id: format!("urn:ngsi-ld:AttributeInstance:{s}-{k}"),
                        attribute: {
                            let mut a = Attribute::new(
                                AttrKind::Property,
                                json!(20.0 + (k % 60) as f64 / 10.0),
                                at,
                            );
                            a.meta_mut().observed_at = Some(at.to_rfc3339().into());
                            a
                        },
                        deleted_at: None,
                    }
                })
                .collect();
            n += batch.len() as u64;
            store.record("", vec![], batch).await.unwrap();
            m += BATCH;
        }
    }
    let took = began.elapsed();
    println!(
        "inserted {n} instances in {took:?}: {:.0} instances/s (durable, batches of {BATCH})",
        n as f64 / took.as_secs_f64()
    );
    let filter = InstanceFilter {
        attrs: None,
        range: TimeRange {
            property: TimeProperty::ObservedAt,
            from: Some(start),
            to: Some(start + Duration::days(30)),
        },
        last_n: None,
    };
    // The same question twice: from the hourly rollups, and by scanning every instance (the
    // baseline the rollups replace); and once more starting off the hour ("the last 30 days").
    let mut unaligned = filter.clone();
    unaligned.range.from = Some(start + Duration::minutes(17));
    unaligned.range.to = Some(start + Duration::days(30) + Duration::minutes(17));
    for (rollups, f, period, label) in [
        (true, &filter, Duration::hours(1), "hourly, rollups"),
        (false, &filter, Duration::hours(1), "hourly, scan"),
        (
            true,
            &unaligned,
            Duration::days(1),
            "daily, start off the hour, rollups",
        ),
        (
            false,
            &unaligned,
            Duration::days(1),
            "daily, start off the hour, scan",
        ),
    ] {
        store.use_rollups(rollups);
        let began = std::time::Instant::now();
        for s in 0..sensors {
            let out = store
                .aggregate(
                    "",
                    &format!("urn:ngsi-ld:Sensor:{s}"),
                    f,
                    &[AggrMethod::Avg],
                    Some(period),
                )
                .await
                .unwrap();
            assert!(out.values().next().map(Vec::len) >= Some(30));
        }
        let took = began.elapsed();
        println!(
            "avg over 30 days for {sensors} sensors ({MINUTES} instances each), {}: {took:?} ({:?} per sensor)",
            label,
            took / sensors as u32
        );
    }
}
