//! Indicators computed from platform data through the HTTP API, on fixed data whose values,
//! coverage and status are worked out by hand; a manual indicator and a failing query.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::{TestApp, spawn};

const AGENDA: &str = "urn:ngsi-ld:Agenda:test";

fn prop(v: impl Into<Value>) -> Value {
    json!({"type": "Property", "value": v.into()})
}

async fn leit(app: &TestApp, mut e: Value) {
    let ctx = app.get("/leitstelle/v1").await.body["context"].clone();
    e["@context"] = ctx;
    let r = app.post_ld("/ngsi-ld/v1/entities", &e).await;
    assert_eq!(r.status, 201, "{e}: {:?}", r.body);
}

async fn counter(app: &TestApp, id: &str, lon: f64, lat: f64, days: &[(u32, f64)]) {
    let intensity: Vec<Value> = days
        .iter()
        .map(|(d, v)| json!({"type": "Property", "value": v, "observedAt": format!("2026-03-{d:02}T00:00:00Z")}))
        .collect();
    let r = app
        .post(
            "/ngsi-ld/v1/temporal/entities",
            &json!({"id": id, "type": "TrafficFlowObserved", "intensity": intensity}),
        )
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let r = app
        .post(
            &format!("/ngsi-ld/v1/entities/{id}/attrs"),
            &json!({"location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}}),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
}

fn kpi(n: &str, extra: Value) -> Value {
    let mut e = json!({"id": format!("urn:ngsi-ld:KeyPerformanceIndicator:{n}"),
        "type": "KeyPerformanceIndicator", "name": prop(n),
        "agenda": {"type": "Relationship", "object": AGENDA},
        "startDate": prop("2026-01-01"), "targetDate": prop("2027-01-01")});
    for (k, v) in extra.as_object().unwrap() {
        e[k] = v.clone();
    }
    e
}

async fn compute(app: &TestApp, n: &str, at: &str) -> Value {
    let r = app
        .post(
            &format!(
                "/leitstelle/v1/indicators/urn:ngsi-ld:KeyPerformanceIndicator:{n}/compute?at={at}"
            ),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn indicators_compute_values_coverage_and_status() {
    let app = spawn().await;
    // Counter c1 inside the area reports on 5 of the 7 days from March 1; c2 lies outside.
    counter(
        &app,
        "urn:ngsi-ld:TrafficFlowObserved:c1",
        8.75,
        51.72,
        &[
            (1, 100.0),
            (2, 110.0),
            (3, 120.0),
            (5, 130.0),
            (6, 140.0),
            (8, 500.0),
        ],
    )
    .await;
    counter(
        &app,
        "urn:ngsi-ld:TrafficFlowObserved:c2",
        9.50,
        52.00,
        &[(2, 1000.0)],
    )
    .await;
    for (n, status) in [
        (1, "working"),
        (2, "working"),
        (3, "working"),
        (4, "outOfService"),
    ] {
        let r = app
            .post(
                "/ngsi-ld/v1/entities",
                &json!({"id": format!("urn:ngsi-ld:EVChargingStation:e{n}"),
                "type": "EVChargingStation", "status": prop(status)}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    leit(
        &app,
        json!({"id": AGENDA, "type": "Agenda", "name": prop("Testagenda")}),
    )
    .await;
    let area = json!({"type": "Polygon", "coordinates": [[[8.6, 51.6], [8.9, 51.6], [8.9, 51.8], [8.6, 51.8], [8.6, 51.6]]]});
    leit(&app, kpi("bike", json!({"unit": prop("Fahrten/Tag"), "direction": prop("increase"),
        "baseline": prop(100), "targetValue": prop(200),
        "query": prop(json!({"measure": "avg", "type": "TrafficFlowObserved", "attribute": "intensity",
            "period": "P7D", "expectedInterval": "P1D", "area": area}))}))).await;
    leit(
        &app,
        kpi(
            "chargers",
            json!({"baseline": prop(2), "targetValue": prop(22),
        "query": prop(json!({"measure": "count", "type": "EVChargingStation"}))}),
        ),
    )
    .await;
    leit(&app, kpi("working", json!({"baseline": prop(0.5), "targetValue": prop(1.0),
        "query": prop(json!({"measure": "ratio",
            "numerator": {"measure": "count", "type": "EVChargingStation", "q": "status==\"working\""},
            "denominator": {"measure": "count", "type": "EVChargingStation"}}))}))).await;
    leit(
        &app,
        kpi(
            "broken",
            json!({"baseline": prop(0), "targetValue": prop(1),
        "query": prop(json!({"measure": "count", "type": "EVChargingStation", "q": "status=="}))}),
        ),
    )
    .await;

    // Window March 1–8: 100+110+120+130+140 = 600 over 5 samples, 5 of 7 expected days;
    // progress (120−100)/(200−100) = 0.2 ≥ 66/365 of the time elapsed: on track.
    let at = "2026-03-08T10:00:00Z";
    let r = compute(&app, "bike", at).await;
    assert_eq!(r["kpiValue"], 120.0);
    assert_eq!(r["dataCoverage"], 0.7143);
    assert_eq!(r["indicatorStatus"], "onTrack");
    assert_eq!(
        r["calculationPeriod"],
        json!({"from": "2026-03-01T00:00:00.000Z", "to": "2026-03-08T00:00:00.000Z"})
    );
    assert_eq!(
        (r["entities"].clone(), r["samples"].clone()),
        (json!(1), json!(5))
    );
    // 4 stations: progress (4−2)/(22−2) = 0.1, half of 0.1808 is 0.0904: needs acceleration.
    let r = compute(&app, "chargers", at).await;
    assert_eq!(
        (r["kpiValue"].clone(), r["indicatorStatus"].clone()),
        (json!(4.0), json!("needsAcceleration"))
    );
    // 3 of 4 working: 0.75, progress 0.5: on track.
    let r = compute(&app, "working", at).await;
    assert_eq!(
        (r["kpiValue"].clone(), r["dataCoverage"].clone()),
        (json!(0.75), json!(1.0))
    );
    // A query that cannot run is an error state, shown in the answer and on the entity.
    let r = compute(&app, "broken", at).await;
    assert_eq!(r["indicatorStatus"], "error");
    let msg = r["computationError"].as_str().unwrap();
    assert!(msg.starts_with("q: "), "{msg}");

    let list = app
        .get(&format!("/leitstelle/v1/agendas/{AGENDA}/indicators"))
        .await;
    assert_eq!(list.status, 200);
    let by_id = |n: &str| {
        list.body["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == format!("urn:ngsi-ld:KeyPerformanceIndicator:{n}"))
            .unwrap()
            .clone()
    };
    assert_eq!(by_id("broken")["indicatorStatus"], "error");
    assert_eq!(by_id("broken")["computationError"], msg);
    assert_eq!(by_id("bike")["kpiValue"], 120.0);
    assert_eq!(by_id("bike")["observedAt"], "2026-03-08T00:00:00.000Z");

    // A day later the window is March 2–9 and takes in March 8:
    // 110+120+130+140+500 = 1000 over 5 of 7 days.
    let r = compute(&app, "bike", "2026-03-09T10:00:00Z").await;
    assert_eq!(
        (r["kpiValue"].clone(), r["dataCoverage"].clone()),
        (json!(200.0), json!(0.7143))
    );
    // The values are history of the KPI entity.
    let h = app
        .get("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:KeyPerformanceIndicator:bike?attrs=https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/kpiValue&options=temporalValues")
        .await;
    assert_eq!(h.status, 200, "{:?}", h.body);
    let series = h
        .body
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.ends_with("kpiValue"))
        .unwrap()
        .1["values"]
        .clone();
    assert_eq!(
        series,
        json!([
            [120.0, "2026-03-08T00:00:00.000Z"],
            [200.0, "2026-03-09T00:00:00.000Z"]
        ])
    );

    // Fixing the query clears the error.
    let r = app
        .patch("/ngsi-ld/v1/entities/urn:ngsi-ld:KeyPerformanceIndicator:broken/attrs",
            &json!({"https://w3id.org/quartier/leitstelle#query": prop(json!({"measure": "count", "type": "EVChargingStation", "q": "status==\"outOfService\""}))}))
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = compute(&app, "broken", at).await;
    assert_eq!(
        (r["kpiValue"].clone(), r["indicatorStatus"].clone()),
        (json!(1.0), json!("onTrack"))
    );
    let all = app
        .post(
            &format!("/leitstelle/v1/agendas/{AGENDA}/indicators/compute?at={at}"),
            &json!({}),
        )
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["results"].as_array().unwrap().len(), 4);
    let e = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:KeyPerformanceIndicator:broken")
        .await;
    assert!(
        e.body
            .as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("computationError")),
        "{:?}",
        e.body
    );
}

#[tokio::test]
async fn manual_indicators_need_evidence() {
    let app = spawn().await;
    leit(
        &app,
        json!({"id": AGENDA, "type": "Agenda", "name": prop("Testagenda")}),
    )
    .await;
    leit(
        &app,
        kpi(
            "manual",
            json!({"calculationMethod": prop("manual"),
        "baseline": prop(10), "targetValue": prop(30)}),
        ),
    )
    .await;
    let path = "/leitstelle/v1/indicators/urn:ngsi-ld:KeyPerformanceIndicator:manual/value";
    app.post(path, &json!({"value": 12}))
        .await
        .assert_problem(400, "BadRequestData");
    // (12−10)/(30−10) = 0.1 against 66/365 = 0.18 of the time: needs acceleration.
    let r = app
        .post(
            path,
            &json!({"value": 12, "evidence": "Ratsbeschluss 2026/041",
            "observedAt": "2026-03-08T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["indicatorStatus"], "needsAcceleration");
    let list = app
        .get(&format!("/leitstelle/v1/agendas/{AGENDA}/indicators"))
        .await;
    let i = &list.body["indicators"][0];
    assert_eq!(
        (
            i["kpiValue"].clone(),
            i["evidence"].clone(),
            i["calculationMethod"].clone()
        ),
        (
            json!(12.0),
            json!("Ratsbeschluss 2026/041"),
            json!("manual")
        )
    );
    // A computed indicator takes no manual value.
    leit(
        &app,
        kpi(
            "auto",
            json!({"query": prop(json!({"measure": "count", "type": "X"}))}),
        ),
    )
    .await;
    app.post(
        "/leitstelle/v1/indicators/urn:ngsi-ld:KeyPerformanceIndicator:auto/value",
        &json!({"value": 1, "evidence": "x"}),
    )
    .await
    .assert_problem(400, "BadRequestData");
    app.post(
        "/leitstelle/v1/indicators/urn:ngsi-ld:KeyPerformanceIndicator:none/compute",
        &json!({}),
    )
    .await
    .assert_problem(404, "ResourceNotFound");
}

#[tokio::test]
async fn indicators_are_recomputed_on_schedule() {
    let app = testkit::spawn_with(|f| f.indicator_interval = Some("PT1S".into())).await;
    leit(
        &app,
        json!({"id": AGENDA, "type": "Agenda", "name": prop("Testagenda")}),
    )
    .await;
    for n in 1..=3 {
        let r = app
            .post(
                "/ngsi-ld/v1/entities",
                &json!({"id": format!("urn:ngsi-ld:EVChargingStation:e{n}"),
                "type": "EVChargingStation"}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    // Never computed: due at once; the next computation is a day later.
    leit(
        &app,
        kpi(
            "chargers",
            json!({"calculationFrequency": prop("P1D"),
        "query": prop(json!({"measure": "count", "type": "EVChargingStation"}))}),
        ),
    )
    .await;
    let mut found = None;
    for _ in 0..50 {
        let list = app
            .get(&format!("/leitstelle/v1/agendas/{AGENDA}/indicators"))
            .await;
        let i = list.body["indicators"][0].clone();
        if i["kpiValue"].is_number() {
            found = Some(i);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let i = found.expect("the scheduler computed the indicator within 5 s");
    assert_eq!(
        (i["kpiValue"].clone(), i["indicatorStatus"].clone()),
        (json!(3.0), json!("noTarget"))
    );
    let next =
        chrono::DateTime::parse_from_rfc3339(i["dateNextCalculation"].as_str().unwrap()).unwrap();
    let wait = next.signed_duration_since(chrono::Utc::now());
    assert!(
        wait > chrono::Duration::hours(23) && wait <= chrono::Duration::days(1),
        "{wait}"
    );
}
