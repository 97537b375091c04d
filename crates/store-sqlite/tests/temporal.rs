//! History on SQLite: recording, ranges, lastN, aggregation against hand-computed values,
//! deletes, modify, reopening. The speed measurement is the example `temporal_measure`
//! (`cargo run --release -p store-sqlite --example temporal_measure`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use broker::model::{AttrKind, Attribute, Timestamp};
use broker::store::EntityStore;
use broker::temporal::{
    AggrMethod, Bucket, EntityRecord, Instance, InstanceFilter, TemporalStore, TimeProperty,
    TimeRange,
};
use serde_json::{Value, json};
use store_sqlite::{Durability, SqliteStore};

const T: &str = "";
const CAR: &str = "urn:ngsi-ld:Vehicle:1";
const SPEED: &str = "https://example.org/speed";
const FUEL: &str = "https://example.org/fuelLevel";
const DS2: &str = "urn:ngsi-ld:Dataset:2";

static NEXT: AtomicU64 = AtomicU64::new(1);

fn t(s: &str) -> Timestamp {
    chrono::DateTime::parse_from_rfc3339(s)
        .unwrap()
        .with_timezone(&chrono::Utc)
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, Durability::Full).unwrap()
}

fn attr(value: Value, observed: Option<&str>, ds: Option<&str>, created: &str) -> Attribute {
    let mut a = Attribute::new(AttrKind::Property, value, t(created)).with_dataset_id(ds);
    if let Some(o) = observed {
        a.meta_mut().observed_at = Some(o.into());
    }
    a
}

/// An instance observed at `observed` (created at the same time).
fn obs(entity: &str, name: &str, value: Value, observed: &str, ds: Option<&str>) -> Instance {
    Instance {
        entity_id: entity.to_owned(),
        attr: name.to_owned(),
        instance_id: format!(
            "urn:ngsi-ld:AttributeInstance:{}",
            NEXT.fetch_add(1, Ordering::Relaxed)
        ),
        attribute: attr(value, Some(observed), ds, observed),
        deleted_at: None,
    }
}

fn entity(id: &str, types: &[&str], created: &str) -> EntityRecord {
    EntityRecord {
        id: id.to_owned(),
        types: types.iter().map(|s| (*s).to_owned()).collect(),
        created_at: t(created),
        modified_at: t(created),
        deleted_at: None,
    }
}

fn filter(from: Option<&str>, to: Option<&str>) -> InstanceFilter {
    InstanceFilter {
        attrs: None,
        range: TimeRange {
            property: TimeProperty::ObservedAt,
            from: from.map(t),
            to: to.map(t),
        },
        last_n: None,
    }
}

fn key(name: &str, ds: Option<&str>) -> (String, Option<String>) {
    (name.to_owned(), ds.map(str::to_owned))
}

fn num(b: &Bucket, m: AggrMethod) -> f64 {
    b.values[&m]
        .as_f64()
        .unwrap_or_else(|| panic!("{m:?} is {:?}", b.values[&m]))
}

fn close(a: f64, b: f64) {
    assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "{a} != {b}");
}

fn values(v: &[Instance]) -> Vec<Value> {
    v.iter().map(|i| i.attribute.value.clone()).collect()
}

const ALL: [AggrMethod; 8] = [
    AggrMethod::TotalCount,
    AggrMethod::DistinctCount,
    AggrMethod::Sum,
    AggrMethod::Avg,
    AggrMethod::Min,
    AggrMethod::Max,
    AggrMethod::StdDev,
    AggrMethod::SumSq,
];

/// speed (default): 1, 2, 3 in 10:xx, nothing in 11:xx, 10 and 20 in 12:xx;
/// speed (DS2): 100, 100 in 10:xx, 7 in 11:xx.
async fn seed(store: &SqliteStore) {
    let d = |h: &str| format!("2020-08-01T{h}Z");
    store
        .record(
            T,
            vec![entity(
                CAR,
                &["https://example.org/Vehicle"],
                "2020-08-01T09:00:00Z",
            )],
            vec![
                obs(CAR, SPEED, json!(1), &d("10:00:00"), None),
                obs(CAR, SPEED, json!(2), &d("10:20:00"), None),
                obs(CAR, SPEED, json!(3), &d("10:40:00"), None),
                obs(CAR, SPEED, json!(10), &d("12:10:00"), None),
                obs(CAR, SPEED, json!(20.0), &d("12:50:00"), None),
                obs(CAR, SPEED, json!(100), &d("10:30:00"), Some(DS2)),
                obs(CAR, SPEED, json!(100), &d("10:45:00"), Some(DS2)),
                obs(CAR, SPEED, json!(7), &d("11:05:00"), Some(DS2)),
            ],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn hourly_aggregates_match_hand_computed_values_with_gaps_and_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    seed(&store).await;
    let f = filter(Some("2020-08-01T10:00:00Z"), None);
    let out = store
        .aggregate(T, CAR, &f, &ALL, Some(chrono::Duration::hours(1)))
        .await
        .unwrap();
    assert_eq!(out.len(), 2);

    let def = &out[&key(SPEED, None)];
    // 11:00-12:00 has no data: omitted.
    assert_eq!(def.len(), 2);
    assert_eq!(
        (def[0].start, def[0].end),
        (t("2020-08-01T10:00:00Z"), t("2020-08-01T11:00:00Z"))
    );
    assert_eq!(
        (def[1].start, def[1].end),
        (t("2020-08-01T12:00:00Z"), t("2020-08-01T13:00:00Z"))
    );
    let b = &def[0];
    assert_eq!(b.values[&AggrMethod::TotalCount], json!(3));
    assert_eq!(b.values[&AggrMethod::DistinctCount], json!(3));
    close(num(b, AggrMethod::Sum), 6.0);
    close(num(b, AggrMethod::Avg), 2.0);
    close(num(b, AggrMethod::Min), 1.0);
    close(num(b, AggrMethod::Max), 3.0);
    close(num(b, AggrMethod::SumSq), 14.0);
    close(num(b, AggrMethod::StdDev), (2.0f64 / 3.0).sqrt());
    let b = &def[1];
    assert_eq!(b.values[&AggrMethod::TotalCount], json!(2));
    close(num(b, AggrMethod::Sum), 30.0);
    close(num(b, AggrMethod::Avg), 15.0);
    close(num(b, AggrMethod::SumSq), 500.0);
    close(num(b, AggrMethod::StdDev), 5.0);
    close(num(b, AggrMethod::Min), 10.0);
    close(num(b, AggrMethod::Max), 20.0);

    let ds = &out[&key(SPEED, Some(DS2))];
    assert_eq!(ds.len(), 2);
    assert_eq!(ds[0].start, t("2020-08-01T10:00:00Z"));
    assert_eq!(ds[0].values[&AggrMethod::TotalCount], json!(2));
    assert_eq!(ds[0].values[&AggrMethod::DistinctCount], json!(1));
    close(num(&ds[0], AggrMethod::StdDev), 0.0);
    close(num(&ds[0], AggrMethod::Avg), 100.0);
    assert_eq!(ds[1].start, t("2020-08-01T11:00:00Z"));
    close(num(&ds[1], AggrMethod::Sum), 7.0);

    // Whole range (no period): one bucket per series, only the requested methods.
    let f = filter(Some("2020-08-01T10:00:00Z"), Some("2020-08-02T00:00:00Z"));
    let out = store
        .aggregate(T, CAR, &f, &[AggrMethod::Avg, AggrMethod::TotalCount], None)
        .await
        .unwrap();
    let b = &out[&key(SPEED, None)];
    assert_eq!(b.len(), 1);
    assert_eq!(
        (b[0].start, b[0].end),
        (t("2020-08-01T10:00:00Z"), t("2020-08-02T00:00:00Z"))
    );
    assert_eq!(b[0].values.len(), 2);
    close(num(&b[0], AggrMethod::Avg), 36.0 / 5.0);
    assert_eq!(b[0].values[&AggrMethod::TotalCount], json!(5));
    // PT0S means the same.
    let zero = store
        .aggregate(
            T,
            CAR,
            &f,
            &[AggrMethod::Avg, AggrMethod::TotalCount],
            Some(chrono::Duration::zero()),
        )
        .await
        .unwrap();
    assert_eq!(zero, out);

    // Only some attributes.
    let mut f = filter(None, None);
    f.attrs = Some(vec![FUEL.to_owned()]);
    assert!(
        store
            .aggregate(T, CAR, &f, &ALL, None)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn origin_is_the_first_instance_of_the_entity_without_a_range() {
    // The ETSI suite's vehicle (020_11, 021_17): buckets start at the first observation.
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    let d = |h: &str| format!("2020-08-01T{h}Z");
    store
        .record(
            T,
            vec![],
            vec![
                obs(CAR, SPEED, json!(120), &d("12:03:00"), None),
                obs(CAR, SPEED, json!(80), &d("12:05:00"), None),
                obs(CAR, SPEED, json!(100), &d("12:07:00"), None),
                obs(CAR, FUEL, json!(67), &d("12:03:00"), None),
                obs(CAR, FUEL, json!(53), &d("13:05:00"), None),
                obs(CAR, FUEL, json!(40), &d("14:07:00"), None),
            ],
        )
        .await
        .unwrap();
    for f in [
        filter(None, None),
        filter(Some("2020-01-01T12:03:00Z"), None),
    ] {
        let out = store
            .aggregate(
                T,
                CAR,
                &f,
                &[AggrMethod::Avg],
                Some(chrono::Duration::hours(1)),
            )
            .await
            .unwrap();
        let speed: Vec<_> = out[&key(SPEED, None)]
            .iter()
            .map(|b| (b.start, b.end, num(b, AggrMethod::Avg)))
            .collect();
        assert_eq!(
            speed,
            vec![(t("2020-08-01T12:03:00Z"), t("2020-08-01T13:03:00Z"), 100.0)]
        );
        let fuel: Vec<_> = out[&key(FUEL, None)]
            .iter()
            .map(|b| (b.start, num(b, AggrMethod::Avg)))
            .collect();
        assert_eq!(
            fuel,
            vec![
                (t("2020-08-01T12:03:00Z"), 67.0),
                (t("2020-08-01T13:03:00Z"), 53.0),
                (t("2020-08-01T14:03:00Z"), 40.0)
            ]
        );
        let out = store
            .aggregate(
                T,
                CAR,
                &f,
                &[AggrMethod::Min, AggrMethod::Max],
                Some(chrono::Duration::days(1)),
            )
            .await
            .unwrap();
        let b = &out[&key(FUEL, None)];
        assert_eq!(
            (b.len(), b[0].start, b[0].end),
            (1, t("2020-08-01T12:03:00Z"), t("2020-08-02T12:03:00Z"))
        );
        assert_eq!(
            (num(&b[0], AggrMethod::Min), num(&b[0], AggrMethod::Max)),
            (40.0, 67.0)
        );
    }
    // Without a range, origin is the earliest instance of the selected attributes.
    let mut f = filter(None, None);
    f.attrs = Some(vec![FUEL.to_owned()]);
    let out = store
        .aggregate(
            T,
            CAR,
            &f,
            &[AggrMethod::TotalCount],
            Some(chrono::Duration::minutes(90)),
        )
        .await
        .unwrap();
    let starts: Vec<_> = out[&key(FUEL, None)].iter().map(|b| b.start).collect();
    assert_eq!(
        starts,
        vec![t("2020-08-01T12:03:00Z"), t("2020-08-01T13:33:00Z")]
    );
}

#[tokio::test]
async fn periods_cross_day_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    store
        .record(
            T,
            vec![],
            vec![
                obs(CAR, SPEED, json!(5), "2020-08-01T23:30:00Z", None),
                obs(CAR, SPEED, json!(7), "2020-08-02T00:30:00Z", None),
                obs(CAR, SPEED, json!(1), "2020-08-02T13:00:00Z", None),
            ],
        )
        .await
        .unwrap();
    let f = filter(Some("2020-08-01T12:00:00Z"), None);
    let out = store
        .aggregate(
            T,
            CAR,
            &f,
            &[AggrMethod::Sum],
            Some(chrono::Duration::days(1)),
        )
        .await
        .unwrap();
    let got: Vec<_> = out[&key(SPEED, None)]
        .iter()
        .map(|b| (b.start, b.end, num(b, AggrMethod::Sum)))
        .collect();
    assert_eq!(
        got,
        vec![
            (t("2020-08-01T12:00:00Z"), t("2020-08-02T12:00:00Z"), 12.0),
            (t("2020-08-02T12:00:00Z"), t("2020-08-03T12:00:00Z"), 1.0)
        ]
    );
    let out = store
        .aggregate(
            T,
            CAR,
            &f,
            &[AggrMethod::Sum],
            Some(chrono::Duration::hours(1)),
        )
        .await
        .unwrap();
    let got: Vec<_> = out[&key(SPEED, None)]
        .iter()
        .map(|b| (b.start, num(b, AggrMethod::Sum)))
        .collect();
    assert_eq!(
        got,
        vec![
            (t("2020-08-01T23:00:00Z"), 5.0),
            (t("2020-08-02T00:00:00Z"), 7.0),
            (t("2020-08-02T13:00:00Z"), 1.0)
        ]
    );
    // A bucket boundary exactly at an instance: half-open, the instance starts the next one.
    let f = filter(Some("2020-08-01T23:30:00Z"), None);
    let out = store
        .aggregate(
            T,
            CAR,
            &f,
            &[AggrMethod::TotalCount],
            Some(chrono::Duration::hours(1)),
        )
        .await
        .unwrap();
    let got: Vec<_> = out[&key(SPEED, None)]
        .iter()
        .map(|b| (b.start, b.values[&AggrMethod::TotalCount].clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (t("2020-08-01T23:30:00Z"), json!(1)),
            (t("2020-08-02T00:30:00Z"), json!(1)),
            (t("2020-08-02T12:30:00Z"), json!(1))
        ]
    );
}

#[tokio::test]
async fn text_booleans_and_large_values() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    let status = "https://example.org/status";
    let on = "https://example.org/on";
    let big = "https://example.org/big";
    store
        .record(
            T,
            vec![],
            vec![
                obs(CAR, status, json!("moving"), "2020-08-01T10:00:00Z", None),
                obs(CAR, status, json!("parked"), "2020-08-01T10:01:00Z", None),
                obs(CAR, status, json!("moving"), "2020-08-01T10:02:00Z", None),
                obs(CAR, on, json!(true), "2020-08-01T10:00:00Z", None),
                obs(CAR, on, json!(false), "2020-08-01T10:01:00Z", None),
                obs(CAR, on, json!(true), "2020-08-01T10:02:00Z", None),
                obs(CAR, big, json!(1e9 + 1.0), "2020-08-01T10:00:00Z", None),
                obs(CAR, big, json!(1e9 + 2.0), "2020-08-01T10:01:00Z", None),
                obs(CAR, big, json!(1e9 + 3.0), "2020-08-01T10:02:00Z", None),
            ],
        )
        .await
        .unwrap();
    let out = store
        .aggregate(T, CAR, &filter(None, None), &ALL, None)
        .await
        .unwrap();
    let s = &out[&key(status, None)][0].values;
    assert_eq!(s[&AggrMethod::Min], json!("moving"));
    assert_eq!(s[&AggrMethod::Max], json!("parked"));
    assert_eq!(s[&AggrMethod::DistinctCount], json!(2));
    assert_eq!(s[&AggrMethod::TotalCount], json!(3));
    for m in [
        AggrMethod::Sum,
        AggrMethod::Avg,
        AggrMethod::StdDev,
        AggrMethod::SumSq,
    ] {
        assert_eq!(s[&m], Value::Null, "{m:?}");
    }
    let b = &out[&key(on, None)][0];
    close(num(b, AggrMethod::Avg), 2.0 / 3.0);
    assert_eq!(b.values[&AggrMethod::DistinctCount], json!(2));
    let b = &out[&key(big, None)][0];
    // Without a range and a period: from the first to the last instance.
    assert_eq!(
        (b.start, b.end),
        (t("2020-08-01T10:00:00Z"), t("2020-08-01T10:02:00Z"))
    );
    close(num(b, AggrMethod::StdDev), (2.0f64 / 3.0).sqrt());
    close(num(b, AggrMethod::Avg), 1e9 + 2.0);
}

#[tokio::test]
async fn ranges_last_n_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    seed(&store).await;
    // Recorded out of order, and one instance without observedAt.
    let mut late = obs(CAR, SPEED, json!(0), "2020-08-01T09:00:00Z", None);
    late.attribute.meta_mut().observed_at = None;
    store
        .record(
            T,
            vec![],
            vec![
                obs(CAR, SPEED, json!(-1), "2020-08-01T09:30:00Z", None),
                late,
            ],
        )
        .await
        .unwrap();

    // All: by attribute, datasetId (default first), time; the instance without observedAt at its creation time.
    let all = store.instances(T, CAR, &filter(None, None)).await.unwrap();
    assert_eq!(
        values(&all),
        [
            json!(0),
            json!(-1),
            json!(1),
            json!(2),
            json!(3),
            json!(10),
            json!(20.0),
            json!(100),
            json!(100),
            json!(7)
        ]
    );
    assert_eq!(all[9].dataset_id(), Some(DS2));
    assert!(all.iter().all(|i| i.entity_id == CAR && i.attr == SPEED));

    // before: [.., to)
    let v = store
        .instances(T, CAR, &filter(None, Some("2020-08-01T10:30:00Z")))
        .await
        .unwrap();
    assert_eq!(values(&v), [json!(-1), json!(1), json!(2)]);
    // after: [from, ..)
    let v = store
        .instances(T, CAR, &filter(Some("2020-08-01T10:40:00Z"), None))
        .await
        .unwrap();
    assert_eq!(
        values(&v),
        [json!(3), json!(10), json!(20.0), json!(100), json!(7)]
    );
    // between: [from, to)
    let v = store
        .instances(
            T,
            CAR,
            &filter(Some("2020-08-01T10:20:00Z"), Some("2020-08-01T10:45:00Z")),
        )
        .await
        .unwrap();
    assert_eq!(values(&v), [json!(2), json!(3), json!(100)]);

    // lastN per series, ascending; instances without observedAt do not count.
    let mut f = filter(None, None);
    f.last_n = Some(2);
    let v = store.instances(T, CAR, &f).await.unwrap();
    assert_eq!(values(&v), [json!(10), json!(20.0), json!(100), json!(7)]);
    let mut f = filter(None, Some("2020-08-01T10:30:00Z"));
    f.last_n = Some(2);
    let v = store.instances(T, CAR, &f).await.unwrap();
    assert_eq!(values(&v), [json!(1), json!(2)]);
    f.last_n = Some(100);
    assert_eq!(store.instances(T, CAR, &f).await.unwrap().len(), 3);

    // createdAt: the instance without observedAt was created at 09:00.
    let mut f = filter(Some("2020-08-01T08:00:00Z"), Some("2020-08-01T09:15:00Z"));
    f.range.property = TimeProperty::CreatedAt;
    assert_eq!(
        values(&store.instances(T, CAR, &f).await.unwrap()),
        [json!(0)]
    );

    // Unknown entity or tenant: nothing.
    assert!(
        store
            .instances(T, "urn:x", &filter(None, None))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .instances("other", CAR, &filter(None, None))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn deletes_modify_and_deletion_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    seed(&store).await;
    let all = store.instances(T, CAR, &filter(None, None)).await.unwrap();
    let three = all
        .iter()
        .find(|i| i.attribute.value == json!(3))
        .unwrap()
        .clone();

    // Modify: new value and a new observedAt (moves it in time).
    let mut new = three.attribute.clone();
    new.value = json!(30);
    new.meta_mut().observed_at = Some("2020-08-01T12:30:00Z".into());
    assert!(
        store
            .modify_instance(T, CAR, SPEED, &three.instance_id, new)
            .await
            .unwrap()
    );
    assert!(
        !store
            .modify_instance(T, CAR, FUEL, &three.instance_id, three.attribute.clone())
            .await
            .unwrap()
    );
    let f = filter(Some("2020-08-01T10:00:00Z"), None);
    let out = store
        .aggregate(
            T,
            CAR,
            &f,
            &[AggrMethod::Sum],
            Some(chrono::Duration::hours(1)),
        )
        .await
        .unwrap();
    let sums: Vec<f64> = out[&key(SPEED, None)]
        .iter()
        .map(|b| num(b, AggrMethod::Sum))
        .collect();
    assert_eq!(sums, [3.0, 60.0]);
    let v = store.instances(T, CAR, &filter(None, None)).await.unwrap();
    let moved = v
        .iter()
        .find(|i| i.instance_id == three.instance_id)
        .unwrap();
    assert_eq!(moved.attribute.value, json!(30));

    // Delete one instance.
    assert!(
        store
            .delete_instance(T, CAR, SPEED, &three.instance_id)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_instance(T, CAR, SPEED, &three.instance_id)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .instances(T, CAR, &filter(None, None))
            .await
            .unwrap()
            .len(),
        7
    );

    // Delete one datasetId, then the default one.
    assert!(
        store
            .delete_attr(T, CAR, SPEED, Some(DS2), false)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_attr(T, CAR, SPEED, Some(DS2), false)
            .await
            .unwrap()
    );
    let v = store.instances(T, CAR, &filter(None, None)).await.unwrap();
    assert_eq!(values(&v), [json!(1), json!(2), json!(10), json!(20.0)]);
    assert!(store.delete_attr(T, CAR, SPEED, None, false).await.unwrap());
    assert!(
        store
            .instances(T, CAR, &filter(None, None))
            .await
            .unwrap()
            .is_empty()
    );

    // Deletion records: kept as instances, not aggregated, selected by deletedAt.
    seed(&store).await;
    let mut gone = obs(
        CAR,
        SPEED,
        json!("urn:ngsi-ld:null"),
        "2020-08-01T10:50:00Z",
        None,
    );
    gone.attribute.meta_mut().observed_at = None;
    gone.deleted_at = Some(t("2020-08-01T13:00:00Z"));
    store.record(T, vec![], vec![gone.clone()]).await.unwrap();
    let out = store
        .aggregate(T, CAR, &filter(None, None), &[AggrMethod::TotalCount], None)
        .await
        .unwrap();
    assert_eq!(
        out[&key(SPEED, None)][0].values[&AggrMethod::TotalCount],
        json!(5)
    );
    let mut f = filter(Some("2020-08-01T12:00:00Z"), None);
    f.range.property = TimeProperty::DeletedAt;
    let v = store.instances(T, CAR, &f).await.unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].deleted_at, Some(t("2020-08-01T13:00:00Z")));
    assert_eq!(v[0].instance_id, gone.instance_id);

    // All datasetIds at once, then the whole entity.
    assert!(store.delete_attr(T, CAR, SPEED, None, true).await.unwrap());
    assert!(
        store
            .instances(T, CAR, &filter(None, None))
            .await
            .unwrap()
            .is_empty()
    );
    seed(&store).await;
    assert!(store.delete_entity(T, CAR).await.unwrap());
    assert!(!store.delete_entity(T, CAR).await.unwrap());
    assert!(
        store
            .instances(T, CAR, &filter(None, None))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.entities(T, None, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn entities_by_id_and_type_and_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    let (a, b) = ("urn:ngsi-ld:X:a", "urn:ngsi-ld:X:b");
    store
        .record(
            T,
            vec![
                entity(a, &["https://e/A"], "2020-01-01T00:00:00Z"),
                entity(b, &["https://e/B"], "2020-01-02T00:00:00Z"),
            ],
            vec![],
        )
        .await
        .unwrap();
    // A later record adds a type and a deletion; the creation time stays.
    let mut again = entity(a, &["https://e/C"], "2020-03-01T00:00:00Z");
    again.deleted_at = Some(t("2020-03-02T00:00:00Z"));
    store.record(T, vec![again], vec![]).await.unwrap();
    store
        .record(
            "other",
            vec![entity(a, &["https://e/A"], "2020-01-01T00:00:00Z")],
            vec![],
        )
        .await
        .unwrap();

    let all = store.entities(T, None, None).await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        [a, b]
    );
    assert_eq!(all[0].types, ["https://e/A", "https://e/C"]);
    assert_eq!(all[0].created_at, t("2020-01-01T00:00:00Z"));
    assert_eq!(all[0].modified_at, t("2020-03-01T00:00:00Z"));
    assert_eq!(all[0].deleted_at, Some(t("2020-03-02T00:00:00Z")));

    let by_type = |types: &'static [&'static str]| {
        let store = store.clone();
        async move {
            let types: Vec<String> = types.iter().map(|s| (*s).to_owned()).collect();
            store
                .entities(T, None, Some(&types))
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(by_type(&["https://e/C"]).await, [a]);
    assert_eq!(by_type(&["https://e/A", "https://e/B"]).await, [a, b]);
    assert!(by_type(&["https://e/Z"]).await.is_empty());
    let ids = vec![b.to_owned(), "urn:none".to_owned()];
    assert_eq!(store.entities(T, Some(&ids), None).await.unwrap().len(), 1);
    let types = vec!["https://e/A".to_owned()];
    assert!(
        store
            .entities(T, Some(&ids), Some(&types))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.entities("other", None, None).await.unwrap().len(), 1);
}

#[tokio::test]
async fn history_survives_reopening_and_reset_clears_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    {
        let store = open(&path);
        seed(&store).await;
    }
    let store = open(&path);
    assert_eq!(
        store
            .instances(T, CAR, &filter(None, None))
            .await
            .unwrap()
            .len(),
        8
    );
    assert_eq!(store.entities(T, None, None).await.unwrap().len(), 1);
    let out = store
        .aggregate(T, CAR, &filter(None, None), &[AggrMethod::Sum], None)
        .await
        .unwrap();
    close(num(&out[&key(SPEED, Some(DS2))][0], AggrMethod::Sum), 207.0);

    // A duplicate instance id (at another time) fails that record only.
    let mut dup = store
        .instances(T, CAR, &filter(None, None))
        .await
        .unwrap()
        .remove(0);
    dup.attribute.meta_mut().observed_at = Some("2020-08-02T00:00:00Z".into());
    assert!(
        store
            .record(
                T,
                vec![entity("urn:y", &["https://e/Y"], "2020-01-01T00:00:00Z")],
                vec![dup]
            )
            .await
            .is_err()
    );
    assert_eq!(
        store.entities(T, None, None).await.unwrap().len(),
        1,
        "the failed record left nothing behind"
    );
    // Recording the same observations again (a retry, a re-import) replaces them: the
    // instance ids stay, nothing doubles.
    let before: Vec<String> = store
        .instances(T, CAR, &filter(None, None))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.instance_id)
        .collect();
    seed(&store).await;
    let after: Vec<String> = store
        .instances(T, CAR, &filter(None, None))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.instance_id)
        .collect();
    assert_eq!(after, before);

    TemporalStore::reset(&store).await.unwrap();
    assert!(
        store
            .instances(T, CAR, &filter(None, None))
            .await
            .unwrap()
            .is_empty()
    );
    seed(&store).await;
    EntityStore::reset(&store).await.unwrap();
    assert!(
        store
            .instances(T, CAR, &filter(None, None))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.entities(T, None, None).await.unwrap().is_empty());
    drop(store);
    let store = open(&path);
    assert!(
        store
            .instances(T, CAR, &filter(None, None))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn concurrent_records_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    let mut tasks = Vec::new();
    for s in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("urn:ngsi-ld:Sensor:{s}");
            for m in 0..50 {
                let at = t("2020-08-01T00:00:00Z") + chrono::Duration::minutes(m);
                let i = obs(&id, SPEED, json!(m), &at.to_rfc3339(), None);
                store.record(T, vec![], vec![i]).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for s in 0..8 {
        let id = format!("urn:ngsi-ld:Sensor:{s}");
        let out = store
            .aggregate(
                T,
                &id,
                &filter(None, None),
                &[AggrMethod::Sum, AggrMethod::TotalCount],
                None,
            )
            .await
            .unwrap();
        let b = &out[&key(SPEED, None)][0];
        assert_eq!(b.values[&AggrMethod::TotalCount], json!(50));
        close(num(b, AggrMethod::Sum), (0..50).sum::<i32>().into());
    }
}

/// A small deterministic generator (the test must fail the same way every time).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Every aggregation is asked twice, once combined from the hourly rollups and once by
/// scanning the instances, and both must agree exactly (up to float rounding).
async fn assert_rollups_agree(store: &SqliteStore, entity: &str, case: &str) {
    let methods: Vec<AggrMethod> = ALL
        .iter()
        .copied()
        .filter(|m| *m != AggrMethod::DistinctCount)
        .collect();
    let ranges = [
        ("2021-03-01T00:00:00Z", Some("2021-03-03T00:00:00Z")),
        ("2021-03-01T05:00:00Z", Some("2021-03-02T17:25:30Z")),
        ("2021-03-01T00:00:00Z", None),
        ("2021-03-02T00:00:00Z", Some("2021-03-02T00:10:00Z")),
        // Starts off the hour: the hours holding bucket boundaries come from the instances.
        ("2021-03-01T05:17:30Z", Some("2021-03-02T20:41:00Z")),
        ("2021-03-01T00:59:59Z", None),
        ("2021-03-01T13:30:00Z", Some("2021-03-01T14:10:00Z")),
    ];
    let periods = [
        Some(chrono::Duration::hours(1)),
        Some(chrono::Duration::hours(3)),
        Some(chrono::Duration::days(1)),
        None,
    ];
    for (from, to) in ranges {
        for period in periods {
            let f = filter(Some(from), to);
            store.use_rollups(true);
            let fast = store
                .aggregate(T, entity, &f, &methods, period)
                .await
                .unwrap();
            store.use_rollups(false);
            let slow = store
                .aggregate(T, entity, &f, &methods, period)
                .await
                .unwrap();
            store.use_rollups(true);
            let what = format!("{case}: {from}..{to:?} per {period:?}");
            assert_eq!(
                fast.keys().collect::<Vec<_>>(),
                slow.keys().collect::<Vec<_>>(),
                "{what}"
            );
            for (k, fb) in &fast {
                let sb = &slow[k];
                assert_eq!(fb.len(), sb.len(), "{what} {k:?}");
                for (x, y) in fb.iter().zip(sb) {
                    assert_eq!((x.start, x.end), (y.start, y.end), "{what} {k:?}");
                    for m in &methods {
                        match (x.values[m].as_f64(), y.values[m].as_f64()) {
                            (Some(a), Some(b)) => assert!(
                                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                                "{what} {k:?} {m:?}: {a} vs {b}"
                            ),
                            _ => assert_eq!(x.values[m], y.values[m], "{what} {k:?} {m:?}"),
                        }
                    }
                }
            }
            assert!(
                !fast.is_empty() || to.is_some(),
                "{what}: nothing aggregated"
            );
        }
    }
}

#[tokio::test]
async fn rollups_agree_with_scanning_through_writes_deletes_and_modifies() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("q.db"));
    let mut rng = Lcg(7);
    let ent = "urn:ngsi-ld:Sensor:rollup";
    // Two days of irregular observations over three series: numbers (a default instance
    // and a datasetId), and text mixed with numbers and booleans.
    let start = t("2021-03-01T00:00:00Z");
    let mut instances = Vec::new();
    let mut minute = 0;
    while minute < 2 * 24 * 60 {
        minute += 1 + rng.next(40) as i64;
        let at = (start + chrono::Duration::minutes(minute))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let x = 1000.0 + rng.next(1000) as f64 / 7.0;
        instances.push(obs(ent, SPEED, json!(x), &at, None));
        if rng.next(3) == 0 {
            instances.push(obs(ent, SPEED, json!(-x), &at, Some(DS2)));
        }
        let mixed = match rng.next(3) {
            0 => json!(format!("state-{}", rng.next(5))),
            1 => json!(rng.next(2) == 0),
            _ => json!(rng.next(100)),
        };
        instances.push(obs(ent, FUEL, mixed, &at, None));
    }
    for chunk in instances.chunks(97) {
        store
            .record(
                T,
                vec![entity(ent, &["https://e/Sensor"], "2021-03-01T00:00:00Z")],
                chunk.to_vec(),
            )
            .await
            .unwrap();
    }
    assert_rollups_agree(&store, ent, "after writes").await;

    // Delete some instances, modify others (in value and in time), add deletion records.
    for (k, i) in instances.iter().enumerate() {
        match k % 11 {
            0 => assert!(
                store
                    .delete_instance(T, ent, &i.attr, &i.instance_id)
                    .await
                    .unwrap()
            ),
            5 => {
                let mut a = i.attribute.clone();
                a.value = json!(rng.next(50));
                let moved = t(a.observed_at().unwrap())
                    + chrono::Duration::minutes(rng.next(300) as i64 - 150);
                a.meta_mut().observed_at = Some(moved.to_rfc3339().into());
                assert!(
                    store
                        .modify_instance(T, ent, &i.attr, &i.instance_id, a)
                        .await
                        .unwrap()
                );
            }
            _ => {}
        }
    }
    let mut gone = obs(ent, SPEED, Value::Null, "2021-03-01T10:30:00Z", None);
    gone.deleted_at = Some(t("2021-03-01T10:30:00Z"));
    store.record(T, vec![], vec![gone]).await.unwrap();
    assert_rollups_agree(&store, ent, "after deletes and modifies").await;

    // Deleting the datasetId series removes its rollups with it.
    assert!(
        store
            .delete_attr(T, ent, SPEED, Some(DS2), false)
            .await
            .unwrap()
    );
    assert_rollups_agree(&store, ent, "after deleting a series").await;
    let f = filter(Some("2021-03-01T00:00:00Z"), None);
    let out = store
        .aggregate(T, ent, &f, &[AggrMethod::TotalCount], None)
        .await
        .unwrap();
    assert!(!out.contains_key(&key(SPEED, Some(DS2))));
}

#[tokio::test]
async fn a_file_from_before_rollups_gets_them_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    {
        let store = open(&path);
        seed(&store).await;
    }
    // Turn the file back into the previous schema version.
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE attr_rollups; ALTER TABLE temporal_series DROP COLUMN shift; PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let store = open(&path);
    let f = filter(Some("2020-08-01T10:00:00Z"), Some("2020-08-01T13:00:00Z"));
    let out = store
        .aggregate(
            T,
            CAR,
            &f,
            &[AggrMethod::Sum, AggrMethod::TotalCount],
            Some(chrono::Duration::hours(1)),
        )
        .await
        .unwrap();
    let speed = &out[&key(SPEED, None)];
    assert_eq!(speed.len(), 2);
    close(num(&speed[0], AggrMethod::Sum), 6.0);
    close(num(&speed[1], AggrMethod::Sum), 30.0);
    assert_eq!(speed[1].values[&AggrMethod::TotalCount], json!(2));
    let ds2 = &out[&key(SPEED, Some(DS2))];
    close(num(&ds2[0], AggrMethod::Sum), 200.0);
    close(num(&ds2[1], AggrMethod::Sum), 7.0);
}

/// A clock that stands still.
struct At(Timestamp);

impl broker::Clock for At {
    fn now(&self) -> Timestamp {
        self.0
    }
}

fn current(id: &str, speed: f64, fuel: Option<f64>, at: &str) -> broker::model::Entity {
    let mut attrs = broker::model::Attrs::new();
    attrs.insert(SPEED.to_owned(), vec![attr(json!(speed), None, None, at)]);
    if let Some(f) = fuel {
        attrs.insert(FUEL, vec![attr(json!(f), None, None, at)]);
    }
    broker::model::Entity {
        id: id.to_owned(),
        types: vec!["https://example.org/Vehicle".to_owned()],
        scopes: vec![],
        created_at: t(at),
        modified_at: t(at),
        attrs,
    }
}

async fn put(store: &SqliteStore, e: broker::model::Entity) {
    let id = e.id.clone();
    let out = store
        .apply(
            T,
            vec![broker::store::Change::new(id, move |_| Ok(Some(e)))],
        )
        .await
        .unwrap();
    assert!(out[0].is_ok());
}

fn speeds(v: &[Instance]) -> Vec<Value> {
    v.iter()
        .filter(|i| i.attr == SPEED)
        .map(|i| i.attribute.value.clone())
        .collect()
}

/// Every instance of the car.
async fn car_history(store: &SqliteStore) -> Vec<Instance> {
    store
        .instances(T, CAR, &InstanceFilter::default())
        .await
        .unwrap()
}

/// With `with_history`, every entity change is in history as soon as `apply` answers (no
/// recorder), also across reopening, and a series deleted through the temporal API is
/// started again by the next change instead of being written to under its old id.
#[tokio::test]
async fn the_store_records_history_with_each_change() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let deleted_at = t("2026-03-01T12:00:00Z");
    {
        let store = open(&path).with_history(std::sync::Arc::new(At(deleted_at)));
        put(
            &store,
            current(CAR, 50.0, Some(80.0), "2026-03-01T10:00:00Z"),
        )
        .await;
        put(
            &store,
            current(CAR, 60.0, Some(80.0), "2026-03-01T10:01:00Z"),
        )
        .await;
        put(&store, current(CAR, 70.0, None, "2026-03-01T10:02:00Z")).await;
        let all = car_history(&store).await;
        assert_eq!(speeds(&all), vec![json!(50.0), json!(60.0), json!(70.0)]);
        // Fuel: the first value (unchanged by the second write), then its deletion record.
        let fuel: Vec<_> = all.iter().filter(|i| i.attr == FUEL).collect();
        assert_eq!(fuel.len(), 2, "{fuel:?}");
        assert_eq!(fuel[1].deleted_at, Some(deleted_at));
        let known = store.entities(T, None, None).await.unwrap();
        assert_eq!(known.len(), 1);
        assert_eq!(
            known[0].types,
            vec!["https://example.org/Vehicle".to_owned()]
        );
        assert_eq!(known[0].created_at, t("2026-03-01T10:00:00Z"));
        assert_eq!(known[0].modified_at, t("2026-03-01T10:02:00Z"));
        // The temporal API forgets the speed series; the next change starts a new one.
        assert!(store.delete_attr(T, CAR, SPEED, None, true).await.unwrap());
        put(&store, current(CAR, 80.0, None, "2026-03-01T10:03:00Z")).await;
        let after = car_history(&store).await;
        assert_eq!(speeds(&after), vec![json!(80.0)]);
        // A type added later joins the ones the record had.
        let mut truck = current(CAR, 85.0, None, "2026-03-01T10:04:00Z");
        truck.types.push("https://example.org/Truck".into());
        put(&store, truck).await;
        let known = store.entities(T, None, None).await.unwrap();
        assert_eq!(
            known[0].types,
            ["https://example.org/Vehicle", "https://example.org/Truck"]
        );
        // The temporal API forgets the whole entity; the next change records it anew.
        assert!(store.delete_entity(T, CAR).await.unwrap());
        assert!(store.entities(T, None, None).await.unwrap().is_empty());
        put(&store, current(CAR, 88.0, None, "2026-03-01T10:05:00Z")).await;
        let known = store.entities(T, None, None).await.unwrap();
        assert_eq!(known.len(), 1);
        assert_eq!(known[0].modified_at, t("2026-03-01T10:05:00Z"));
        assert_eq!(speeds(&car_history(&store).await), vec![json!(88.0)]);
    }
    let store = open(&path);
    let all = car_history(&store).await;
    assert_eq!(speeds(&all), vec![json!(88.0)]);
    // Without `with_history` the store records nothing by itself.
    put(&store, current(CAR, 90.0, None, "2026-03-01T10:06:00Z")).await;
    let all = car_history(&store).await;
    assert_eq!(speeds(&all), vec![json!(88.0)]);
}
