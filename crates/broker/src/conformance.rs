#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The storage conformance suite: every [`EntityStore`] backend runs these checks in its
//! own tests (`broker = { features = ["conformance"] }`), so all backends behave alike.

use std::sync::Arc;

use chrono::TimeZone;

use crate::error::BrokerError;
use crate::model::Entity;
use crate::store::{Change, EntityStore, Prefilter};

fn entity(id: &str, ty: &str) -> Entity {
    let t = chrono::Utc
        .timestamp_opt(1_700_000_000, 0)
        .single()
        .unwrap_or_default();
    Entity {
        id: id.into(),
        types: vec![ty.into()],
        scopes: vec![],
        created_at: t,
        modified_at: t,
        attrs: Default::default(),
    }
}

fn put(e: Entity) -> Change {
    Change::new(e.id.clone(), move |_| Ok(Some(e)))
}

/// Runs every check against `store`, which must be empty. Panics on the first failure.
pub async fn run_all(store: Arc<dyn EntityStore>) {
    writes_are_visible_and_ordered(&*store).await;
    tenants_are_isolated(&*store).await;
    failed_changes_leave_no_trace(&*store).await;
    later_changes_see_earlier_ones(&*store).await;
    prefilter_narrows(&*store).await;
    select_pages_like_a_filtered_scan(&*store).await;
    bbox_prefilter_narrows_and_follows_updates(&*store).await;
    reset_empties(&*store).await;
}

async fn writes_are_visible_and_ordered(s: &dyn EntityStore) {
    let out = s
        .apply(
            "t1",
            vec![put(entity("urn:b", "T")), put(entity("urn:a", "T"))],
        )
        .await
        .unwrap();
    assert!(out.iter().all(Result::is_ok));
    assert!(out[0].as_ref().unwrap().before.is_none());
    let all = s.scan("t1", &Prefilter::default()).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["urn:a", "urn:b"], "scan is ordered by id");
    assert!(s.tenant_exists("t1").await.unwrap());
    let out = s
        .apply("t1", vec![Change::new("urn:a", |_| Ok(None))])
        .await
        .unwrap();
    assert!(out[0].as_ref().unwrap().after.is_none());
    assert!(s.get("t1", "urn:a").await.unwrap().is_none());
}

async fn tenants_are_isolated(s: &dyn EntityStore) {
    s.apply("t2", vec![put(entity("urn:x", "T"))])
        .await
        .unwrap();
    assert!(s.get("t1", "urn:x").await.unwrap().is_none());
    assert!(s.get("t2", "urn:x").await.unwrap().is_some());
    assert!(!s.tenant_exists("never").await.unwrap());
    let tenants = s.tenants().await.unwrap();
    assert!(tenants.contains(&"t1".to_string()) && tenants.contains(&"t2".to_string()));
}

async fn failed_changes_leave_no_trace(s: &dyn EntityStore) {
    let out = s
        .apply(
            "t3",
            vec![Change::new("urn:f", |_| Err(BrokerError::bad_data("no")))],
        )
        .await
        .unwrap();
    assert!(out[0].is_err());
    assert!(s.get("t3", "urn:f").await.unwrap().is_none());
    assert!(
        !s.tenant_exists("t3").await.unwrap(),
        "a tenant springs into existence only on a successful write"
    );
}

async fn later_changes_see_earlier_ones(s: &dyn EntityStore) {
    let out = s
        .apply(
            "t1",
            vec![
                put(entity("urn:c", "T")),
                Change::new("urn:c", |cur| {
                    let mut e = cur.cloned().ok_or_else(|| BrokerError::not_found("c"))?;
                    e.types.push("U".into());
                    Ok(Some(e))
                }),
            ],
        )
        .await
        .unwrap();
    assert!(out.iter().all(Result::is_ok));
    let c = s.get("t1", "urn:c").await.unwrap().unwrap();
    assert_eq!(c.types, ["T", "U"]);
}

async fn prefilter_narrows(s: &dyn EntityStore) {
    s.apply(
        "t4",
        vec![
            put(entity("urn:p1", "A")),
            put(entity("urn:p2", "B")),
            put(entity("urn:p3", "A")),
        ],
    )
    .await
    .unwrap();
    let by_type = s
        .scan(
            "t4",
            &Prefilter {
                any_type: Some(vec!["A".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_type.len(), 2);
    let by_id = s
        .scan(
            "t4",
            &Prefilter {
                ids: Some(vec!["urn:p2".into(), "urn:none".into()]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
}

fn located(id: &str, lon: f64, lat: f64) -> Entity {
    let mut e = entity(id, "P");
    let t = e.created_at;
    e.attrs.insert(
        crate::model::iri::LOCATION,
        vec![crate::model::Attribute::new(
            crate::model::AttrKind::GeoProperty,
            serde_json::json!({"type": "Point", "coordinates": [lon, lat]}),
            t,
        )],
    );
    e
}

async fn bbox_prefilter_narrows_and_follows_updates(s: &dyn EntityStore) {
    s.apply(
        "t5",
        vec![
            put(located("urn:in", 8.75, 51.71)),
            put(located("urn:out", 13.4, 52.5)),
        ],
    )
    .await
    .unwrap();
    let rect = geo::Rect::new(
        geo::coord! { x: 8.7, y: 51.7 },
        geo::coord! { x: 8.8, y: 51.8 },
    );
    let pre = Prefilter {
        bbox: Some((crate::model::iri::LOCATION.into(), rect)),
        ..Default::default()
    };
    let ids = |v: Vec<Arc<Entity>>| v.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(s.scan("t5", &pre).await.unwrap()), ["urn:in"]);
    // Moving an entity moves it in the index.
    s.apply(
        "t5",
        vec![
            put(located("urn:out", 8.76, 51.72)),
            put(located("urn:in", 0.0, 0.0)),
        ],
    )
    .await
    .unwrap();
    assert_eq!(ids(s.scan("t5", &pre).await.unwrap()), ["urn:out"]);
    // An update that leaves the location alone is what the box finds afterwards.
    let mut noted = located("urn:out", 8.76, 51.72);
    noted.attrs.insert(
        "https://example.org/note",
        vec![crate::model::Attribute::new(
            crate::model::AttrKind::Property,
            "moved".into(),
            noted.created_at,
        )],
    );
    s.apply("t5", vec![put(noted)]).await.unwrap();
    let found = s.scan("t5", &pre).await.unwrap();
    assert_eq!(ids(found.clone()), ["urn:out"]);
    assert!(found[0].attrs.contains_key("https://example.org/note"));
    let other_attr = Prefilter {
        bbox: Some(("https://example.org/elsewhere".into(), rect)),
        ..Default::default()
    };
    assert!(
        s.scan("t5", &other_attr).await.unwrap().is_empty(),
        "the box applies to the named GeoProperty only"
    );
}

/// `select` answers what filtering `scan` would: the same page, and the same total when
/// counting; without counting it may stop early, but never returns a different page.
async fn select_pages_like_a_filtered_scan(s: &dyn EntityStore) {
    let changes = (0..30)
        .map(|i| {
            put(entity(
                &format!("urn:sel:{i:02}"),
                if i % 3 == 0 { "A" } else { "B" },
            ))
        })
        .collect();
    s.apply("sel", changes).await.unwrap();
    let even = |e: &Entity| {
        e.id.rsplit(':')
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .is_some_and(|n| n % 2 == 0)
    };
    for pre in [
        Prefilter::default(),
        Prefilter {
            any_type: Some(vec!["B".into()]),
            ..Default::default()
        },
        Prefilter {
            any_type: Some(vec!["A".into(), "B".into()]),
            ..Default::default()
        },
        Prefilter {
            ids: Some(vec![
                "urn:sel:04".into(),
                "urn:sel:02".into(),
                "urn:sel:03".into(),
            ]),
            ..Default::default()
        },
    ] {
        let all: Vec<String> = s
            .scan("sel", &pre)
            .await
            .unwrap()
            .iter()
            .filter(|e| even(e))
            .map(|e| e.id.clone())
            .collect();
        for (offset, limit) in [(0, 3), (2, 4), (0, 100), (7, 0), (100, 5)] {
            let want: Vec<String> = all.iter().skip(offset).take(limit).cloned().collect();
            for count in [true, false] {
                let (page, total) = s
                    .select("sel", &pre, &even, offset, limit, count)
                    .await
                    .unwrap();
                let got: Vec<String> = page.iter().map(|e| e.id.clone()).collect();
                assert_eq!(
                    got, want,
                    "{pre:?} offset {offset} limit {limit} count {count}"
                );
                if count {
                    assert_eq!(total, all.len(), "{pre:?} total");
                }
            }
        }
    }
}

async fn reset_empties(s: &dyn EntityStore) {
    s.reset().await.unwrap();
    assert!(s.tenants().await.unwrap().is_empty());
    assert!(
        s.scan("t1", &Prefilter::default())
            .await
            .unwrap()
            .is_empty()
    );
}
