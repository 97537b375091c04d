//! The temporal API end to end: history recorded from ordinary writes, temporal payloads,
//! time ranges, lastN, temporalValues and aggregation checked against hand-computed values.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::{TestApp, spawn};

const ID: &str = "urn:ngsi-ld:AirQualityObserved:pb-1";

fn at(v: f64, t: &str) -> Value {
    json!({"type": "Property", "value": v, "observedAt": t})
}

/// A temporal payload: NO2 readings over two hours that cross midnight, with a gap.
async fn seed(app: &TestApp) {
    let body = json!({
        "id": ID, "type": "AirQualityObserved",
        "no2": [
            at(10.0, "2026-01-31T23:10:00Z"), at(20.0, "2026-01-31T23:40:00Z"),
            // 00:00-01:00 has no data
            at(30.0, "2026-02-01T01:05:00Z"), at(50.0, "2026-02-01T01:35:00Z"), at(40.0, "2026-02-01T01:50:00Z")
        ]
    });
    let r = app.post("/ngsi-ld/v1/temporal/entities", &body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

#[tokio::test]
async fn ordinary_writes_become_history() {
    let app = spawn().await;
    let e =
        json!({"id": ID, "type": "AirQualityObserved", "no2": at(12.0, "2026-03-01T08:00:00Z")});
    assert_eq!(app.post("/ngsi-ld/v1/entities", &e).await.status, 201);
    for (v, t) in [
        (15.0, "2026-03-01T09:00:00Z"),
        (11.0, "2026-03-01T10:00:00Z"),
    ] {
        let r = app
            .patch(
                &format!("/ngsi-ld/v1/entities/{ID}/attrs"),
                &json!({"no2": at(v, t)}),
            )
            .await;
        assert_eq!(r.status, 204);
    }
    let h = app
        .get(&format!("/ngsi-ld/v1/temporal/entities/{ID}"))
        .await;
    assert_eq!(h.status, 200, "{:?}", h.body);
    let values: Vec<f64> = h.body["no2"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_f64().unwrap())
        .collect();
    assert_eq!(values, [12.0, 15.0, 11.0]);
    assert!(
        h.body["no2"][0]["instanceId"]
            .as_str()
            .unwrap()
            .starts_with("urn:ngsi-ld:AttributeInstance:")
    );

    let tv = app
        .get(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}?options=temporalValues"
        ))
        .await;
    assert_eq!(
        tv.body["no2"]["values"],
        json!([
            [12.0, "2026-03-01T08:00:00Z"],
            [15.0, "2026-03-01T09:00:00Z"],
            [11.0, "2026-03-01T10:00:00Z"]
        ])
    );

    // Deleting the entity keeps its history until the history itself is deleted.
    assert_eq!(
        app.delete(&format!("/ngsi-ld/v1/entities/{ID}"))
            .await
            .status,
        204
    );
    assert_eq!(
        app.get(&format!("/ngsi-ld/v1/temporal/entities/{ID}"))
            .await
            .status,
        200
    );
    assert_eq!(
        app.delete(&format!("/ngsi-ld/v1/temporal/entities/{ID}"))
            .await
            .status,
        204
    );
    app.get(&format!("/ngsi-ld/v1/temporal/entities/{ID}"))
        .await
        .assert_problem(404, "ResourceNotFound");
}

#[tokio::test]
async fn time_ranges_and_last_n_select_instances() {
    let app = spawn().await;
    seed(&app).await;
    let get = |q: &str| format!("/ngsi-ld/v1/temporal/entities/{ID}?options=temporalValues&{q}");
    let values = |b: &Value| -> Vec<f64> {
        b["no2"]["values"]
            .as_array()
            .map(|a| a.iter().map(|p| p[0].as_f64().unwrap()).collect())
            .unwrap_or_default()
    };
    let b = app
        .get(&get("timerel=before&timeAt=2026-02-01T00:00:00Z"))
        .await
        .body;
    assert_eq!(values(&b), [10.0, 20.0]);
    let b = app
        .get(&get("timerel=after&timeAt=2026-02-01T01:35:00Z"))
        .await
        .body;
    assert_eq!(values(&b), [50.0, 40.0], "after includes timeAt");
    let b = app
        .get(&get(
            "timerel=between&timeAt=2026-01-31T23:30:00Z&endTimeAt=2026-02-01T01:35:00Z",
        ))
        .await
        .body;
    assert_eq!(values(&b), [20.0, 30.0], "between is [timeAt, endTimeAt)");
    let b = app.get(&get("lastN=2")).await.body;
    assert_eq!(values(&b), [50.0, 40.0]);
    app.get(&get("timerel=between&timeAt=2026-02-01T00:00:00Z"))
        .await
        .assert_problem(400, "BadRequestData");
    app.get(&get("timerel=whenever&timeAt=2026-02-01T00:00:00Z"))
        .await
        .assert_problem(400, "BadRequestData");
}

#[tokio::test]
async fn hourly_aggregates_match_hand_computed_values() {
    let app = spawn().await;
    seed(&app).await;
    let r = app
        .get(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}?options=aggregatedValues&aggrMethods=totalCount,sum,avg,min,max,stddev,sumsq&aggrPeriodDuration=PT1H&timerel=between&timeAt=2026-01-31T23:00:00Z&endTimeAt=2026-02-01T02:00:00Z"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let a = &r.body["no2"];
    let pick = |m: &str, start: &str| -> Value {
        a[m].as_array()
            .unwrap()
            .iter()
            .find(|t| t[1] == start)
            .map(|t| t[0].clone())
            .unwrap_or(Value::Null)
    };
    // 23:00-24:00: 10, 20
    assert_eq!(pick("totalCount", "2026-01-31T23:00:00Z"), json!(2));
    assert_eq!(pick("sum", "2026-01-31T23:00:00Z").as_f64(), Some(30.0));
    assert_eq!(pick("avg", "2026-01-31T23:00:00Z").as_f64(), Some(15.0));
    assert_eq!(pick("stddev", "2026-01-31T23:00:00Z").as_f64(), Some(5.0));
    assert_eq!(pick("sumsq", "2026-01-31T23:00:00Z").as_f64(), Some(500.0));
    // 01:00-02:00: 30, 50, 40
    assert_eq!(pick("totalCount", "2026-02-01T01:00:00Z"), json!(3));
    assert_eq!(pick("avg", "2026-02-01T01:00:00Z").as_f64(), Some(40.0));
    assert_eq!(pick("min", "2026-02-01T01:00:00Z").as_f64(), Some(30.0));
    assert_eq!(pick("max", "2026-02-01T01:00:00Z").as_f64(), Some(50.0));
    let sd = pick("stddev", "2026-02-01T01:00:00Z").as_f64().unwrap();
    assert!(
        (sd - (200.0f64 / 3.0).sqrt()).abs() < 1e-9,
        "population stddev of 30, 50, 40: {sd}"
    );
    // The gap hour has no data: no count above zero for it.
    assert!(matches!(
        pick("totalCount", "2026-02-01T00:00:00Z"),
        Value::Null | Value::Number(_)
    ));
    assert_ne!(pick("totalCount", "2026-02-01T00:00:00Z"), json!(1));
    app.get(&format!(
        "/ngsi-ld/v1/temporal/entities/{ID}?options=aggregatedValues&aggrMethods=median"
    ))
    .await
    .assert_problem(400, "BadRequestData");
}

#[tokio::test]
async fn instances_can_be_appended_modified_and_deleted() {
    let app = spawn().await;
    seed(&app).await;
    let r = app
        .post(
            &format!("/ngsi-ld/v1/temporal/entities/{ID}/attrs"),
            &json!({"no2": [at(60.0, "2026-02-01T02:10:00Z")]}),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let h = app
        .get(&format!("/ngsi-ld/v1/temporal/entities/{ID}"))
        .await
        .body;
    let list = h["no2"].as_array().unwrap();
    assert_eq!(list.len(), 6);
    let first = list[0]["instanceId"].as_str().unwrap().to_owned();
    let path = format!("/ngsi-ld/v1/temporal/entities/{ID}/attrs/no2/{first}");
    assert_eq!(
        app.patch(&path, &json!({"no2": at(11.0, "2026-01-31T23:10:00Z")}))
            .await
            .status,
        204
    );
    let h = app
        .get(&format!("/ngsi-ld/v1/temporal/entities/{ID}"))
        .await
        .body;
    assert_eq!(h["no2"][0]["value"], 11.0);
    assert_eq!(app.delete(&path).await.status, 204);
    app.delete(&path)
        .await
        .assert_problem(404, "ResourceNotFound");
    assert_eq!(
        app.get(&format!("/ngsi-ld/v1/temporal/entities/{ID}"))
            .await
            .body["no2"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    assert_eq!(
        app.delete(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}/attrs/no2?deleteAll=true"
        ))
        .await
        .status,
        204
    );
    assert!(
        app.get(&format!("/ngsi-ld/v1/temporal/entities/{ID}"))
            .await
            .body
            .get("no2")
            .is_none()
    );
}

#[tokio::test]
async fn temporal_queries_select_entities_by_type() {
    let app = spawn().await;
    seed(&app).await;
    let other = json!({"id": "urn:ngsi-ld:Streetlight:1", "type": "Streetlight", "lux": [at(3.0, "2026-02-01T01:00:00Z")]});
    assert_eq!(
        app.post("/ngsi-ld/v1/temporal/entities", &other)
            .await
            .status,
        201
    );
    let r = app.get("/ngsi-ld/v1/temporal/entities?type=AirQualityObserved&count=true&options=temporalValues").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.header("ngsild-results-count"), Some("1"));
    assert_eq!(r.body[0]["id"], ID);
    app.get("/ngsi-ld/v1/temporal/entities")
        .await
        .assert_problem(400, "BadRequestData");
}

#[tokio::test]
async fn long_histories_are_paginated_with_content_range() {
    let app = testkit::spawn_with(|c| c.temporal_page_size = Some(3)).await;
    seed(&app).await;
    let r = app
        .get(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}?options=temporalValues"
        ))
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("date-time 2026-01-31T23:10:00Z-2026-02-01T01:05:00Z/*"),
        "forwards from the oldest"
    );
    assert_eq!(r.body["no2"]["values"].as_array().unwrap().len(), 3);
    let r = app
        .get(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}?options=temporalValues&lastN=4"
        ))
        .await;
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some("date-time 2026-02-01T01:50:00Z-2026-02-01T01:05:00Z/4"),
        "backwards from the newest"
    );
    let r = app
        .get(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}?options=temporalValues&lastN=2"
        ))
        .await;
    assert_eq!(
        (r.status.as_u16(), r.header("content-range")),
        (200, None),
        "what fits is not paginated"
    );
    let r = app
        .get("/ngsi-ld/v1/temporal/entities?type=AirQualityObserved&options=temporalValues")
        .await;
    assert_eq!(r.status, 206, "queries paginate too");
    assert_eq!(r.body[0]["no2"]["values"].as_array().unwrap().len(), 3);
}

/// `q` on a temporal query: an entity is selected when some instance in the time range meets
/// each term; its instances are shown as asked, not filtered by `q`.
#[tokio::test]
async fn q_selects_entities_and_instances_by_their_history() {
    let app = spawn().await;
    seed(&app).await; // no2: 10, 20 (Jan 31), 30, 50, 40 (Feb 1)
    let other = json!({
        "id": "urn:ngsi-ld:AirQualityObserved:pb-2", "type": "AirQualityObserved",
        "no2": [at(5.0, "2026-01-31T23:30:00Z"), at(45.0, "2026-02-01T02:30:00Z")],
        "pm10": [at(7.0, "2026-01-31T23:30:00Z")]
    });
    assert_eq!(
        app.post("/ngsi-ld/v1/temporal/entities", &other)
            .await
            .status,
        201
    );
    let query = |q: &str, rest: &str| {
        format!(
            "/ngsi-ld/v1/temporal/entities?type=AirQualityObserved&q={q}&timerel=between\
             &timeAt=2026-01-31T00:00:00Z&endTimeAt=2026-02-01T02:00:00Z{rest}"
        )
    };
    let values = |e: &Value, attr: &str| -> Vec<f64> {
        e[attr]
            .as_array()
            .map(|a| a.iter().map(|i| i["value"].as_f64().unwrap()).collect())
            .unwrap_or_default()
    };
    // Within the range only pb-1 ever exceeded 25 (pb-2's 45 is after it).
    let r = app.get(&query("no2%3E25", "")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], ID);
    assert_eq!(values(&list[0], "no2"), [10.0, 20.0, 30.0, 50.0, 40.0]);

    // lastN still shapes what is shown.
    let r = app.get(&query("no2%3E25", "&lastN=2")).await;
    assert_eq!(values(&r.body[0], "no2"), [50.0, 40.0]);
    // A reading outside the range does not count.
    let r = app.get(&query("no2%3E48", "")).await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["id"], ID);

    // A term on an attribute that is not shown still selects; pb-2 has pm10 in range.
    let r = app.get(&query("pm10%3C10", "&attrs=no2")).await;
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], "urn:ngsi-ld:AirQualityObserved:pb-2");
    assert_eq!(values(&list[0], "no2"), [5.0]);

    // OR across attributes, and a range of values.
    let r = app.get(&query("no2==5..15|pm10%3E100", "")).await;
    let ids: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ID, "urn:ngsi-ld:AirQualityObserved:pb-2"]);

    // Aggregation: q selects the entities; the aggregates are over their whole range.
    let r = app
        .get(&query(
            "no2%3E45",
            "&options=aggregatedValues&aggrMethods=max,totalCount&aggrPeriodDuration=P1D",
        ))
        .await;
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["id"], ID);
    assert_eq!(list[0]["no2"]["max"][1][0], 50.0);

    // Nothing matches: an empty list, not an error.
    let r = app.get(&query("no2%3E1000", "")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, json!([]));
    // A malformed q is a 400.
    app.get(&query("no2%3E%3E1", ""))
        .await
        .assert_problem(400, "BadRequestData");
}

/// Retention per tenant and type: a pass at start-up and then every interval deletes history
/// older than the rule that applies; other tenants and types keep theirs.
#[tokio::test]
async fn retention_removes_old_history_per_tenant_and_type() {
    use quartier::config::{RetentionFile, RetentionRuleFile};
    let app = testkit::spawn_with(|f| {
        f.retention = Some(RetentionFile {
            default: None,
            interval: Some("PT1S".into()),
            rule: vec![
                RetentionRuleFile {
                    tenant: Some("paderborn".into()),
                    entity_type: Some("AirQualityObserved".into()),
                    keep: "P30D".into(),
                },
                RetentionRuleFile {
                    tenant: None,
                    entity_type: Some("AirQualityObserved".into()),
                    keep: "P365D".into(),
                },
            ],
        })
    })
    .await;
    let now = chrono::Utc::now();
    let ago = |days: i64| {
        (now - chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let history = |ty: &str| {
        json!({
            "id": format!("urn:ngsi-ld:{ty}:1"), "type": ty,
            "no2": [at(1.0, &ago(400)), at(2.0, &ago(100)), at(3.0, &ago(10)), at(4.0, &ago(1))]
        })
    };
    for tenant in ["paderborn", "delbrueck"] {
        for ty in ["AirQualityObserved", "WeatherObserved"] {
            let r = app
                .request(
                    reqwest::Method::POST,
                    "/ngsi-ld/v1/temporal/entities",
                    &[("NGSILD-Tenant", tenant)],
                    Some((
                        "application/json",
                        serde_json::to_vec(&history(ty)).unwrap(),
                    )),
                )
                .await;
            assert_eq!(r.status, 201, "{:?}", r.body);
        }
    }
    let values = |tenant: &'static str, ty: &'static str| {
        let app = &app;
        async move {
            let r = app
                .get_with(
                    &format!("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:{ty}:1"),
                    &[("NGSILD-Tenant", tenant)],
                )
                .await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body["no2"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["value"].as_f64().unwrap())
                .collect::<Vec<f64>>()
        }
    };
    // Wait for a pass after the writes (one runs every second) to have reached both tenants:
    // a pass goes entity by entity, so one tenant can be done while the other is not yet.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while values("paderborn", "AirQualityObserved").await.len() != 2
        || values("delbrueck", "AirQualityObserved").await.len() != 3
    {
        assert!(
            std::time::Instant::now() < deadline,
            "retention did not run"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(values("paderborn", "AirQualityObserved").await, [3.0, 4.0]);
    assert_eq!(
        values("delbrueck", "AirQualityObserved").await,
        [2.0, 3.0, 4.0]
    );
    // No rule and no default for this type: kept forever.
    assert_eq!(
        values("paderborn", "WeatherObserved").await,
        [1.0, 2.0, 3.0, 4.0]
    );
    // Aggregates over what is left agree.
    let r = app
        .get_with(
            &format!(
                "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:AirQualityObserved:1?options=aggregatedValues\
                 &aggrMethods=sum,totalCount&timerel=after&timeAt={}",
                ago(500)
            ),
            &[("NGSILD-Tenant", "paderborn")],
        )
        .await;
    assert_eq!(r.body["no2"]["sum"][0][0], 7.0, "{:?}", r.body);
    assert_eq!(r.body["no2"]["totalCount"][0][0], 2);
}

#[test]
fn a_bad_retention_duration_is_refused_at_start() {
    let f = quartier::config::FileConfig {
        retention: Some(quartier::config::RetentionFile {
            default: Some("two years".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let err = quartier::Config::resolve(f, quartier::config::Overrides::default()).unwrap_err();
    assert!(format!("{err:#}").contains("retention.default"), "{err:#}");
}

/// A temporal upsert brings the current state up to the newest posted observation, never
/// back to an older one; posting the same observations again changes nothing.
#[tokio::test]
async fn temporal_upserts_bring_the_current_state_up_to_date() {
    let app = spawn().await;
    seed(&app).await; // no2 newest: 40 at 2026-02-01T01:50:00Z
    let cur = app.get(&format!("/ngsi-ld/v1/entities/{ID}")).await;
    assert_eq!(cur.status, 200, "{:?}", cur.body);
    assert_eq!(cur.body["no2"]["value"], 40.0);
    assert_eq!(cur.body["no2"]["observedAt"], "2026-02-01T01:50:00Z");

    // Back-filled older data goes into history only.
    let old =
        json!({"id": ID, "type": "AirQualityObserved", "no2": [at(99.0, "2026-01-30T12:00:00Z")]});
    assert_eq!(
        app.post("/ngsi-ld/v1/temporal/entities", &old).await.status,
        204
    );
    let cur = app.get(&format!("/ngsi-ld/v1/entities/{ID}")).await;
    assert_eq!(cur.body["no2"]["value"], 40.0);

    // A newer reading through an append becomes current, with a new attribute beside it.
    let newer = json!({"no2": [at(41.0, "2026-02-01T02:10:00Z")], "pm10": [at(8.0, "2026-02-01T02:10:00Z")]});
    let r = app
        .post(&format!("/ngsi-ld/v1/temporal/entities/{ID}/attrs"), &newer)
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let cur = app.get(&format!("/ngsi-ld/v1/entities/{ID}")).await;
    assert_eq!(cur.body["no2"]["value"], 41.0);
    assert_eq!(cur.body["pm10"]["value"], 8.0);

    // The current-state writes did not add instances; a repeated post replaces, not doubles.
    let count = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:AirQualityObserved:pb-1\
                 ?attrs=no2&options=aggregatedValues&aggrMethods=totalCount";
    let h = app.get(count).await;
    assert_eq!(h.body["no2"]["totalCount"][0][0], 7, "{:?}", h.body);
    assert_eq!(
        app.post("/ngsi-ld/v1/temporal/entities", &old).await.status,
        204
    );
    let h = app.get(count).await;
    assert_eq!(h.body["no2"]["totalCount"][0][0], 7, "{:?}", h.body);
}

/// Times with zone offsets, in the data and in the query, mean the same instants as in UTC:
/// the daily sums of readings posted in Berlin time, asked for Berlin-time days.
#[tokio::test]
async fn time_zones_in_literals_are_instants() {
    let app = spawn().await;
    let body = json!({
        "id": ID, "type": "AirQualityObserved",
        "no2": [
            // 23:30 Berlin on Jan 31 is 22:30 UTC: the Berlin day of Jan 31.
            at(1.0, "2026-01-31T23:30:00+01:00"),
            // 00:30 Berlin on Feb 1 is 23:30 UTC on Jan 31: the Berlin day of Feb 1.
            at(2.0, "2026-02-01T00:30:00+01:00"),
            at(4.0, "2026-02-01T12:00:00Z"),
            at(8.0, "2026-02-01T23:30:00+01:00"),
        ]
    });
    assert_eq!(
        app.post("/ngsi-ld/v1/temporal/entities", &body)
            .await
            .status,
        201
    );
    let r = app
        .get(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}?options=aggregatedValues&aggrMethods=sum,totalCount\
             &aggrPeriodDuration=P1D&timerel=between&timeAt=2026-01-31T00:00:00%2B01:00\
             &endTimeAt=2026-02-02T00:00:00%2B01:00"
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    // Buckets start at Berlin midnight (23:00 UTC the day before).
    assert_eq!(
        r.body["no2"]["sum"],
        json!([
            [1.0, "2026-01-30T23:00:00Z", "2026-01-31T23:00:00Z"],
            [14.0, "2026-01-31T23:00:00Z", "2026-02-01T23:00:00Z"]
        ])
    );
    // Instances keep the literal the client sent and are ordered by instant.
    let h = app
        .get(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}?options=temporalValues"
        ))
        .await;
    let values: Vec<f64> = h.body["no2"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v[0].as_f64().unwrap())
        .collect();
    assert_eq!(values, [1.0, 2.0, 4.0, 8.0]);
    assert_eq!(h.body["no2"]["values"][1][1], "2026-02-01T00:30:00+01:00");
}

/// Deleting an attribute leaves a deletion record: NGSI-LD Null at the time of deletion,
/// which a `timeproperty=deletedAt` query shows with its `deletedAt` (and no observation time).
#[tokio::test]
async fn attribute_deletions_are_history() {
    let app = spawn().await;
    let e = json!({"id": ID, "type": "AirQualityObserved", "no2": at(12.0, "2026-03-01T08:00:00Z"),
                   "name": {"type": "LanguageProperty", "languageMap": {"de": "Messstelle", "en": "station"}}});
    assert_eq!(app.post("/ngsi-ld/v1/entities", &e).await.status, 201);
    for attr in ["no2", "name"] {
        let r = app
            .delete(&format!("/ngsi-ld/v1/entities/{ID}/attrs/{attr}"))
            .await;
        assert_eq!(r.status, 204);
    }
    let h = app
        .get(&format!(
            "/ngsi-ld/v1/temporal/entities/{ID}?timeproperty=deletedAt"
        ))
        .await;
    assert_eq!(h.status, 200, "{:?}", h.body);
    let no2 = &h.body["no2"][0];
    assert_eq!(no2["value"], "urn:ngsi-ld:null");
    assert!(no2["deletedAt"].is_string(), "{no2}");
    assert!(no2.get("observedAt").is_none(), "{no2}");
    assert_eq!(
        h.body["name"][0]["languageMap"],
        json!({"@none": "urn:ngsi-ld:null"})
    );
}
