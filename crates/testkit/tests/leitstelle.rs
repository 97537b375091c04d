//! The Leitstelle through the public HTTP API: a small city walks the five steps of the
//! maturity model (domains, agenda, adapted model, targets, projects, matrix, synergies,
//! ranking, sustainability check) and reads its radar; bad input is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{Resp, TestApp, spawn};

const TENANT: &str = "paderborn";
const AGENDA: &str = "urn:ngsi-ld:Agenda:pb-2030";

fn dom(code: &str) -> String {
    format!("urn:ngsi-ld:Domain:{code}")
}
fn proj(n: u32) -> String {
    format!("urn:ngsi-ld:Project:p{n}")
}
fn dev(n: u32) -> String {
    format!("urn:ngsi-ld:Device:d{n}")
}
fn target(code: &str) -> String {
    format!("urn:ngsi-ld:Target:{code}")
}

/// A client bound to one tenant that writes with the Leitstelle context.
struct City<'a> {
    app: &'a TestApp,
    tenant: &'a str,
    ctx: String,
}

impl<'a> City<'a> {
    async fn new(app: &'a TestApp, tenant: &'a str) -> Self {
        let index = app.get("/leitstelle/v1").await;
        assert_eq!(index.status, 200);
        let ctx = index.body["context"].as_str().unwrap().to_owned();
        assert!(ctx.ends_with("/leitstelle/v1/context.jsonld"), "{ctx}");
        Self { app, tenant, ctx }
    }

    fn with_ctx(&self, mut e: Value) -> Value {
        e["@context"] = json!(self.ctx);
        e
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let bytes = body.map(|b| ("application/ld+json", serde_json::to_vec(&b).unwrap()));
        self.app
            .request(method, path, &[("NGSILD-Tenant", self.tenant)], bytes)
            .await
    }

    async fn create(&self, e: Value) -> Resp {
        let e = self.with_ctx(e);
        self.send(Method::POST, "/ngsi-ld/v1/entities", Some(e))
            .await
    }

    async fn create_ok(&self, e: Value) {
        let id = e["id"].clone();
        let r = self.create(e).await;
        assert_eq!(r.status, 201, "creating {id}: {:?}", r.body);
    }

    async fn batch(&self, op: &str, items: Vec<Value>) -> Resp {
        let items: Vec<Value> = items.into_iter().map(|e| self.with_ctx(e)).collect();
        self.send(
            Method::POST,
            &format!("/ngsi-ld/v1/entityOperations/{op}"),
            Some(Value::Array(items)),
        )
        .await
    }

    async fn get(&self, path: &str) -> Resp {
        self.app
            .get_with(path, &[("NGSILD-Tenant", self.tenant)])
            .await
    }

    async fn view(&self, what: &str) -> Value {
        let r = self
            .get(&format!("/leitstelle/v1/agendas/{AGENDA}/{what}"))
            .await;
        assert_eq!(r.status, 200, "{what}: {:?}", r.body);
        r.body
    }

    async fn put_json(&self, path: &str, body: Value) -> Resp {
        self.app
            .request(
                Method::PUT,
                path,
                &[("NGSILD-Tenant", self.tenant)],
                Some(("application/json", serde_json::to_vec(&body).unwrap())),
            )
            .await
    }
}

fn rel(o: impl Into<Value>) -> Value {
    json!({"type": "Relationship", "object": o.into()})
}
fn prop(v: impl Into<Value>) -> Value {
    json!({"type": "Property", "value": v.into()})
}
fn point(lon: f64, lat: f64) -> Value {
    json!({"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}})
}

fn device(n: u32, props: &[&str], lon: f64, lat: f64) -> Value {
    json!({"id": dev(n), "type": "Device", "controlledProperty": prop(json!(props)),
           "location": point(lon, lat)})
}

struct P {
    n: u32,
    name: &'static str,
    domains: &'static [&'static str],
    stage: Option<Value>,
    trl: Option<u32>,
    budget: f64,
    own: f64,
    extra: Value,
}

fn project(p: P) -> Value {
    let mut e = json!({
        "id": proj(p.n), "type": "Project",
        "name": prop(p.name),
        "agenda": rel(AGENDA),
        "domains": rel(p.domains.iter().map(|d| dom(d)).collect::<Vec<_>>()),
        "budget": prop(p.budget),
        "ownFunds": prop(p.own),
    });
    if let Some(s) = p.stage {
        e["stage"] = s;
    }
    if let Some(t) = p.trl {
        e["trl"] = prop(t);
    }
    if let Value::Object(extra) = p.extra {
        for (k, v) in extra {
            e[k] = v;
        }
    }
    e
}

/// The projects of the city, its devices, grants, ideas and milestones.
fn portfolio() -> Vec<Value> {
    let targets = |ts: &[&str]| rel(ts.iter().map(|t| target(t)).collect::<Vec<_>>());
    vec![
        device(1, &["occupancy"], 8.7400, 51.7100),
        device(2, &["NO2", "temperature"], 8.7550, 51.7190),
        device(3, &["NO2"], 8.7556, 51.7193),
        device(4, &["NO2"], 8.8000, 51.7500),
        device(5, &["electricityConsumption"], 8.7403, 51.7101),
        project(P {
            n: 1,
            name: "Smart parking",
            domains: &["mobility"],
            stage: Some(
                json!({"type": "Property", "value": 2, "observedAt": "2024-01-15T00:00:00Z"}),
            ),
            trl: Some(6),
            budget: 100_000.0,
            own: 20_000.0,
            extra: json!({"deploys": rel(dev(1)), "keywords": prop(json!(["parking", "sensors"])),
                "usesEntityTypes": prop(json!(["ParkingSpot", "TrafficFlowObserved"])),
                "contributesTo": targets(&["mobility"]), "startDate": prop("2024-01-01")}),
        }),
        project(P {
            n: 2,
            name: "Air quality network",
            domains: &["environment", "mobility"],
            stage: None,
            trl: Some(4),
            budget: 80_000.0,
            own: 80_000.0,
            extra: json!({"deploys": rel(vec![dev(2), dev(4)]), "keywords": prop(json!(["air quality"])),
                "usesEntityTypes": prop(json!(["AirQualityObserved", "TrafficFlowObserved"])),
                "operatingModel": prop("municipal utility"),
                "contributesTo": targets(&["environment", "mobility"]), "startDate": prop("2025-01-01")}),
        }),
        project(P {
            n: 3,
            name: "Energy monitoring of public buildings",
            domains: &["energy", "administration"],
            stage: Some(prop(3)),
            trl: None,
            budget: 50_000.0,
            own: 10_000.0,
            extra: json!({"keywords": prop(json!(["energy"])), "operatingModel": prop("Stadtwerke"),
                "usesEntityTypes": prop(json!(["ThreePhaseAcMeasurement"])),
                "contributesTo": targets(&["energy", "administration"])}),
        }),
        project(P {
            n: 4,
            name: "Environmental sensing pilot",
            domains: &["environment"],
            stage: Some(
                json!({"type": "Property", "value": 2, "observedAt": "2025-06-01T00:00:00Z"}),
            ),
            trl: None,
            budget: 30_000.0,
            own: 15_000.0,
            extra: json!({"deploys": rel(dev(3)), "keywords": prop(json!(["air quality", "sensors"])),
                "usesEntityTypes": prop(json!(["AirQualityObserved"])),
                "contributesTo": targets(&["environment"]), "startDate": prop("2025-06-01")}),
        }),
        project(P {
            n: 5,
            name: "E-bus depot charging",
            domains: &["mobility", "energy", "environment"],
            stage: Some(prop(1)),
            trl: None,
            budget: 200_000.0,
            own: 0.0,
            extra: json!({"deploys": rel(dev(5)), "climateImpact": prop("positive"),
                "contributesTo": targets(&["mobility", "energy", "environment"])}),
        }),
        project(P {
            n: 6,
            name: "Digital citizen services",
            domains: &["administration"],
            stage: Some(prop(3)),
            trl: None,
            budget: 60_000.0,
            own: 60_000.0,
            extra: json!({"contributesTo": targets(&["administration"])}),
        }),
        project(P {
            n: 7,
            name: "Rural telemedicine",
            domains: &["health", "administration"],
            stage: None,
            trl: Some(8),
            budget: 40_000.0,
            own: 0.0,
            extra: json!({"operatingModel": prop("health insurer")}),
        }),
        project(P {
            n: 8,
            name: "Car park extension",
            domains: &["mobility"],
            stage: Some(prop(3)),
            trl: None,
            budget: 500_000.0,
            own: 250_000.0,
            extra: json!({"keywords": prop(json!(["Parking"])), "climateImpact": prop("negative"),
                "contributesTo": targets(&["mobility"]), "startDate": prop("2026-01-01")}),
        }),
        json!({"id": "urn:ngsi-ld:FundingProgramme:smart-cities", "type": "FundingProgramme",
               "name": prop("Modellprojekte Smart Cities"), "fundingRate": prop(0.65)}),
        json!({"id": "urn:ngsi-ld:Grant:g1", "type": "Grant", "project": rel(proj(1)),
               "programme": rel("urn:ngsi-ld:FundingProgramme:smart-cities"),
               "amount": prop(50_000), "startDate": prop("2024-01-01"), "endDate": prop("2026-09-30")}),
        json!({"id": "urn:ngsi-ld:Grant:g2", "type": "Grant", "project": rel(proj(3)),
               "amount": prop(40_000), "endDate": prop("2027-12-31")}),
        json!({"id": "urn:ngsi-ld:Grant:g3", "type": "Grant", "project": rel(proj(7)),
               "amount": prop(40_000), "endDate": prop("2026-07-31")}),
        json!({"id": "urn:ngsi-ld:CitizenIdea:i1", "type": "CitizenIdea",
               "text": prop("Show air quality next to the bus stops"),
               "domains": rel(vec![dom("mobility"), dom("environment")]), "votes": prop(120),
               "project": rel(proj(2)), "location": point(8.7552, 51.7191)}),
        json!({"id": "urn:ngsi-ld:CitizenIdea:i2", "type": "CitizenIdea", "text": prop("Free parking app"),
               "domains": rel(dom("mobility")), "votes": prop(40), "project": rel(proj(1))}),
        json!({"id": "urn:ngsi-ld:CitizenIdea:i3", "type": "CitizenIdea",
               "text": prop("Publish the energy use of town hall"),
               "domains": rel(vec![dom("energy"), dom("administration")]), "votes": prop(30),
               "project": rel(proj(3))}),
        json!({"id": "urn:ngsi-ld:CitizenIdea:i4", "type": "CitizenIdea", "text": prop("Quiet streets"),
               "domains": rel(vec![dom("mobility"), dom("environment")]), "votes": prop(10)}),
        json!({"id": "urn:ngsi-ld:Milestone:m1", "type": "Milestone", "name": prop("Open data portal online"),
               "agenda": rel(AGENDA), "plannedDate": prop("2026-03-31")}),
        json!({"id": "urn:ngsi-ld:Milestone:m2", "type": "Milestone", "name": prop("Meters installed"),
               "project": rel(proj(3)), "plannedDate": prop("2026-02-28"), "actualDate": prop("2026-02-20"),
               "evidence": prop("https://example.org/report.pdf")}),
        json!({"id": "urn:ngsi-ld:Milestone:m3", "type": "Milestone", "name": prop("Depot contract signed"),
               "project": rel(proj(5)), "plannedDate": prop("2026-05-15")}),
        json!({"id": "urn:ngsi-ld:Milestone:m4", "type": "Milestone", "name": prop("Twenty stations"),
               "project": rel(proj(2)), "plannedDate": prop("2026-12-31")}),
    ]
}

fn synergy_assessments() -> Vec<Value> {
    let s = |n: u32, from: &str, to: &str, score: i64, source: &str| {
        json!({"id": format!("urn:ngsi-ld:SynergyAssessment:s{n}"), "type": "SynergyAssessment",
               "agenda": rel(AGENDA), "fromDomain": rel(dom(from)), "toDomain": rel(dom(to)),
               "score": prop(score), "source": prop(source)})
    };
    vec![
        s(1, "mobility", "environment", 3, "workshop 2026-02"),
        s(2, "mobility", "environment", 2, "workshop 2026-03"),
        s(3, "environment", "mobility", 1, "workshop 2026-02"),
        s(4, "energy", "administration", -1, "workshop 2026-02"),
        s(5, "mobility", "energy", 2, "workshop 2026-03"),
    ]
}

fn step(wf: &Value, n: usize) -> &Value {
    &wf["steps"][n - 1]
}

/// Sets up the city up to the end of step 3.
async fn agenda_with_targets(city: &City<'_>) {
    let r = city
        .send(Method::POST, "/leitstelle/v1/domains/defaults", None)
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    city.create_ok(json!({
        "id": AGENDA, "type": "Agenda", "name": prop("Digitale Agenda Paderborn 2030"),
        "centralDomains": rel(vec![dom("mobility"), dom("energy"), dom("environment"), dom("administration")]),
    }))
    .await;
    let adapted = json!({"stages": [
        {"stage": 1, "trlMin": 1, "trlMax": 3, "label": "Konzept"},
        {"stage": 2, "trlMin": 4, "trlMax": 7, "label": "Pilot"},
        {"stage": 3, "trlMin": 8, "trlMax": 9, "label": "Betrieb"}]});
    let r = city
        .put_json(
            &format!("/leitstelle/v1/agendas/{AGENDA}/maturity-model"),
            adapted,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    city.create_ok(
        json!({"id": "urn:ngsi-ld:Goal:climate", "type": "Goal", "agenda": rel(AGENDA),
                          "name": prop("Climate-neutral city by 2035")}),
    )
    .await;
    for (code, stage) in [
        ("mobility", 2),
        ("energy", 2),
        ("environment", 3),
        ("administration", 1),
    ] {
        city.create_ok(json!({
            "id": target(code), "type": "Target", "goal": rel("urn:ngsi-ld:Goal:climate"),
            "domain": rel(dom(code)), "stage": prop(stage), "name": prop(format!("{code} target")),
            "baseline": prop(12), "targetValue": prop(30), "targetDate": prop("2030-12-31"),
            "direction": prop("increase"), "legalBasis": prop("Ratsbeschluss 2025/117"),
            "examples": prop(json!(["a first example"])),
        }))
        .await;
    }
}

#[tokio::test]
async fn a_city_walks_the_five_steps() {
    let app = spawn().await;
    let city = City::new(&app, TENANT).await;

    // The vocabulary is served as a JSON-LD context.
    let r = app.get("/leitstelle/v1/context.jsonld").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/ld+json"));
    assert_eq!(r.body["@context"]["Project"], "lst:Project");
    assert_eq!(
        r.body["@context"]["lst"],
        "https://w3id.org/quartier/leitstelle#"
    );
    assert_eq!(
        r.body["@context"]["controlledProperty"],
        "sdm:dataModel.Device/controlledProperty"
    );

    // Defaults of the model, before anything is adapted.
    let index = app.get("/leitstelle/v1").await.body;
    assert_eq!(index["defaultMaturityModel"]["stages"][1]["trlMin"], 5);
    assert_eq!(index["defaultMaturityModel"]["stages"][1]["trlMax"], 7);

    // Domains are seeded once; a second seeding finds them.
    let r = city
        .send(Method::POST, "/leitstelle/v1/domains/defaults", None)
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["created"].as_array().unwrap().len(), 12);
    let r = city
        .send(Method::POST, "/leitstelle/v1/domains/defaults", None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["existing"].as_array().unwrap().len(), 12);
    // They are ordinary NGSI-LD entities, readable with the Leitstelle context.
    let link = format!(
        "<{}>; rel=\"http://www.w3.org/ns/json-ld#context\"",
        city.ctx
    );
    let r = app
        .get_with(
            "/ngsi-ld/v1/entities?type=Domain&q=regional==true&options=keyValues&attrs=code",
            &[("NGSILD-Tenant", TENANT), ("Link", &link)],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut regional: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    regional.sort();
    assert_eq!(regional, ["crafts", "culture", "logistics", "tourism"]);

    // Agenda with its central domains (step 2), model not adapted yet (step 1).
    city.create_ok(json!({
        "id": AGENDA, "type": "Agenda", "name": prop("Digitale Agenda Paderborn 2030"),
        "centralDomains": rel(vec![dom("mobility"), dom("energy"), dom("environment"), dom("administration")]),
    }))
    .await;
    let wf = city.view("workflow").await;
    assert_eq!(wf["next"], 1);
    assert_eq!(step(&wf, 1)["done"], false);
    assert_eq!(step(&wf, 2)["done"], true);

    // Step 1: adapt the stage ↔ TRL mapping.
    let adapted = json!({"stages": [
        {"stage": 1, "trlMin": 1, "trlMax": 3, "label": "Konzept"},
        {"stage": 2, "trlMin": 4, "trlMax": 7, "label": "Pilot"},
        {"stage": 3, "trlMin": 8, "trlMax": 9, "label": "Betrieb"}]});
    let r = city
        .put_json(
            &format!("/leitstelle/v1/agendas/{AGENDA}/maturity-model"),
            adapted,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let model = city.view("maturity-model").await;
    assert_eq!(model["adapted"], true);
    assert_eq!(model["model"]["stages"][1]["trlMin"], 4);
    let wf = city.view("workflow").await;
    assert_eq!(wf["next"], 3);
    assert_eq!(
        step(&wf, 3)["detail"],
        "central domains without a staged target: mobility, energy, environment, administration"
    );

    // Step 3: one staged target per central domain.
    city.create_ok(
        json!({"id": "urn:ngsi-ld:Goal:climate", "type": "Goal", "agenda": rel(AGENDA),
                          "name": prop("Climate-neutral city by 2035")}),
    )
    .await;
    for (code, stage) in [
        ("mobility", 2),
        ("energy", 2),
        ("environment", 3),
        ("administration", 1),
    ] {
        city.create_ok(json!({
            "id": target(code), "type": "Target", "goal": rel("urn:ngsi-ld:Goal:climate"),
            "domain": rel(dom(code)), "stage": prop(stage), "name": prop(format!("{code} target")),
            "baseline": prop(12), "targetValue": prop(30), "targetDate": prop("2030-12-31"),
            "direction": prop("increase"), "legalBasis": prop("Ratsbeschluss 2025/117"),
            "examples": prop(json!(["a first example"])),
        }))
        .await;
    }
    let wf = city.view("workflow").await;
    assert_eq!(wf["next"], 4);
    assert_eq!(step(&wf, 3)["detail"], "4 target(s) classified by stage");
    let t = city.view("targets").await;
    assert_eq!(t["domains"][2]["code"], "environment");
    assert_eq!(
        t["domains"][2]["byStage"],
        json!({"1": [], "2": [], "3": [{"id": target("environment"), "name": "environment target",
               "examples": ["a first example"]}], "none": []})
    );

    // Step 4: the portfolio goes in by batch; the matrix shows it.
    let r = city.batch("create", portfolio()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let wf = city.view("workflow").await;
    assert_eq!(wf["next"], 5);
    let m = city.view("matrix").await;
    let axes: Vec<&str> = m["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        axes,
        [
            "mobility",
            "energy",
            "environment",
            "administration",
            "health"
        ]
    );
    assert_eq!(m["domains"][4]["central"], false);
    assert_eq!(
        m["counts"],
        json!([
            [2, 1, 2, 0, 0],
            [1, 0, 1, 1, 0],
            [2, 1, 1, 0, 0],
            [0, 1, 0, 1, 1],
            [0, 0, 0, 1, 0]
        ])
    );
    let cell = |row: &str, col: &str| {
        m["cells"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["row"] == dom(row) && c["col"] == dom(col))
            .cloned()
            .unwrap_or_else(|| panic!("no cell {row}/{col}"))
    };
    // The diagonal holds the single-domain projects.
    assert_eq!(
        cell("mobility", "mobility"),
        json!({"row": dom("mobility"), "col": dom("mobility"), "count": 2,
               "byStage": {"1": 0, "2": 1, "3": 1}, "projects": [proj(1), proj(8)]})
    );
    // TRL 4 is stage 2 under the adapted model (it would be stage 1 by default).
    assert_eq!(
        cell("mobility", "environment")["byStage"],
        json!({"1": 1, "2": 1, "3": 0})
    );
    assert_eq!(
        cell("mobility", "environment")["projects"],
        json!([proj(2), proj(5)])
    );
    assert_eq!(
        cell("administration", "health")["byStage"],
        json!({"1": 0, "2": 0, "3": 1})
    );
    // Drill-down into a cell.
    let r = city
        .get(&format!(
            "/leitstelle/v1/agendas/{AGENDA}/matrix/cell?row={}&col={}",
            dom("energy"),
            dom("administration")
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        r.body["projects"],
        json!([{"id": proj(3), "name": "Energy monitoring of public buildings",
                "domains": [dom("energy"), dom("administration")], "stage": 3, "trl": null}])
    );

    // Step 5: expert scores from the workshops.
    let r = city.batch("create", synergy_assessments()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let wf = city.view("workflow").await;
    assert_eq!(wf["next"], Value::Null);
    assert_eq!(wf["sustainabilityFailures"], json!([proj(1), proj(8)]));

    let syn = city.view("synergies").await;
    assert_eq!(syn["radiusM"], 250.0);
    let pairs: Vec<(String, String, Value, u64)> = syn["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["from"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("urn:ngsi-ld:Domain:")
                    .to_owned(),
                p["to"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("urn:ngsi-ld:Domain:")
                    .to_owned(),
                p["expert"]["mean"].clone(),
                p["evidence"]["count"].as_u64().unwrap(),
            )
        })
        .collect();
    let s = |a: &str, b: &str, mean: Value, n: u64| (a.to_owned(), b.to_owned(), mean, n);
    assert_eq!(
        pairs,
        vec![
            s("mobility", "energy", json!(2.0), 1),
            s("mobility", "environment", json!(2.5), 6),
            s("energy", "mobility", Value::Null, 1),
            s("energy", "administration", json!(-1.0), 1),
            s("environment", "mobility", json!(1.0), 6),
            s("administration", "energy", Value::Null, 1),
        ]
    );
    // Expert score and platform evidence stay apart.
    assert_eq!(
        syn["pairs"][1]["expert"],
        json!({"mean": 2.5, "count": 2, "assessments": [
            "urn:ngsi-ld:SynergyAssessment:s1", "urn:ngsi-ld:SynergyAssessment:s2"]})
    );
    assert_eq!(
        syn["pairs"][1]["evidence"],
        json!({
            "sharedData": [
                {"item": "AirQualityObserved", "projects": [proj(2), proj(4)]},
                {"item": "TrafficFlowObserved", "projects": [proj(1), proj(2)]}],
            "colocatedDevices": [
                {"devices": [dev(1), dev(5)], "projects": [proj(1), proj(5)], "distanceM": 23},
                {"devices": [dev(2), dev(3)], "projects": [proj(2), proj(4)], "distanceM": 53}],
            "citizenIdeas": ["urn:ngsi-ld:CitizenIdea:i1", "urn:ngsi-ld:CitizenIdea:i4"],
            "count": 6})
    );
    // A smaller radius drops the 53 m pair.
    let r = city
        .get(&format!(
            "/leitstelle/v1/agendas/{AGENDA}/synergies?radius=30"
        ))
        .await;
    assert_eq!(
        r.body["pairs"][1]["evidence"]["colocatedDevices"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The ranking with the default weights (version 0).
    let ranking = city.view("ranking").await;
    assert_eq!(ranking["weights"]["version"], 0);
    let ranked: Vec<(String, f64)> = ranking["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["project"].as_str().unwrap().to_owned(),
                p["score"].as_f64().unwrap(),
            )
        })
        .collect();
    let expect = |v: &[(u32, f64)]| v.iter().map(|(n, s)| (proj(*n), *s)).collect::<Vec<_>>();
    assert_eq!(
        ranked,
        expect(&[
            (2, 0.7479),
            (3, 0.5917),
            (5, 0.4382),
            (7, 0.425),
            (6, 0.375),
            (1, 0.33),
            (8, 0.3),
            (4, 0.25)
        ])
    );
    assert_eq!(
        ranking["projects"][0]["criteria"],
        json!({"citizenSupport": 1.0, "feasibility": 0.6667, "funding": 1.0,
               "synergy": 0.7917, "targetContribution": 0.5})
    );
    let pair_ranks: Vec<(Value, f64)> = ranking["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["domains"].clone(), p["score"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        pair_ranks,
        vec![
            (json!([dom("mobility"), dom("environment")]), 0.9167),
            (json!([dom("mobility"), dom("energy")]), 0.5),
            (json!([dom("energy"), dom("administration")]), 0.25),
        ]
    );

    // New weights: a new version, only citizen support counts.
    let w = json!({"version": 1, "targetContribution": 0, "synergy": 0, "feasibility": 0,
                   "funding": 0, "citizenSupport": 1});
    let r = city
        .put_json(
            &format!("/leitstelle/v1/agendas/{AGENDA}/weights"),
            w.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let ranking = city.view("ranking").await;
    assert_eq!(ranking["weights"]["version"], 1);
    let ranked: Vec<(String, f64)> = ranking["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["project"].as_str().unwrap().to_owned(),
                p["score"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranked,
        expect(&[
            (2, 1.0),
            (1, 0.3333),
            (3, 0.25),
            (4, 0.0),
            (5, 0.0),
            (6, 0.0),
            (7, 0.0),
            (8, 0.0)
        ])
    );
    // A version is never reused.
    city.put_json(&format!("/leitstelle/v1/agendas/{AGENDA}/weights"), w)
        .await
        .assert_problem(409, "Conflict");

    // The closing check.
    let gate = city.view("sustainability").await;
    let failing: Vec<&Value> = gate["projects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["passes"] == false)
        .collect();
    assert_eq!(failing.len(), 2);
    assert_eq!(
        failing[0]["issues"],
        json!([{"kind": "noOperatingModel",
                "explanation": format!("{} is funded by 1 grant(s) ending 2026-09-30 but names no operating model for the time after the funding", proj(1)),
                "objects": ["urn:ngsi-ld:Grant:g1"]}])
    );
    assert_eq!(failing[1]["project"], proj(8));
    assert_eq!(failing[1]["issues"][0]["kind"], "climateConflict");
    assert_eq!(
        failing[1]["issues"][0]["objects"],
        json!([target("environment")])
    );
}

#[tokio::test]
async fn the_radar_flags_parallel_work_and_stalled_plans() {
    let app = spawn().await;
    let city = City::new(&app, TENANT).await;
    agenda_with_targets(&city).await;
    let r = city.batch("create", portfolio()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    let radar = city
        .get(&format!(
            "/leitstelle/v1/agendas/{AGENDA}/radar?at=2026-06-01"
        ))
        .await;
    assert_eq!(radar.status, 200, "{:?}", radar.body);
    assert_eq!(
        radar.body["settings"],
        json!({"radius": 500.0, "stuckMonths": 18, "grantMonths": 6})
    );
    let flags: Vec<(String, Value)> = radar.body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap().to_owned(), f["objects"].clone()))
        .collect();
    let f = |k: &str, o: Value| (k.to_owned(), o);
    assert_eq!(
        flags,
        vec![
            f("overlappingScope", json!([proj(1), proj(8)])),
            f(
                "duplicateInvestment",
                json!([proj(2), proj(4), dev(2), dev(3)])
            ),
            f("overlappingScope", json!([proj(2), proj(4)])),
            f("stuckPilot", json!([proj(1)])),
            f("grantEnding", json!(["urn:ngsi-ld:Grant:g1", proj(1)])),
            f("overdueMilestone", json!(["urn:ngsi-ld:Milestone:m1"])),
            f(
                "overdueMilestone",
                json!(["urn:ngsi-ld:Milestone:m3", proj(5)])
            ),
        ]
    );
    let explanation = |i: usize| {
        radar.body["flags"][i]["explanation"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        explanation(1),
        format!(
            "{} and {} both deploy devices measuring NO2 within 500 m of each other (closest 53 m) in overlapping periods",
            proj(2),
            proj(4)
        )
    );
    assert_eq!(
        explanation(0),
        format!(
            "{} and {} work in the same domain (mobility) on the same topics (parking) at the same time",
            proj(1),
            proj(8)
        )
    );
    assert_eq!(
        explanation(3),
        format!(
            "{} has been a stage-2 pilot since 2024-01-15, 28 months, longer than 18 months",
            proj(1)
        )
    );

    // Thresholds are parameters: with 12 months, the air quality pilot (17 months since
    // its start) is stuck too; the radius can drop the duplicate.
    let r = city
        .get(&format!(
            "/leitstelle/v1/agendas/{AGENDA}/radar?at=2026-06-01&stuckMonths=12&radius=50"
        ))
        .await;
    let kinds: Vec<(&str, &Value)> = r.body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), &f["objects"]))
        .filter(|(k, _)| *k == "stuckPilot" || *k == "duplicateInvestment")
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("stuckPilot", &json!([proj(1)])),
            ("stuckPilot", &json!([proj(2)]))
        ]
    );

    // Reaching the milestone and naming an operating model clear their flags.
    let r = city
        .send(
            Method::PATCH,
            "/ngsi-ld/v1/entities/urn:ngsi-ld:Milestone:m3/attrs",
            Some(city.with_ctx(json!({"actualDate": prop("2026-05-30")}))),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let r = city
        .send(
            Method::POST,
            &format!("/ngsi-ld/v1/entities/{}/attrs", proj(1)),
            Some(city.with_ctx(json!({"operatingModel": prop("parking operator concession")}))),
        )
        .await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    let radar = city
        .get(&format!(
            "/leitstelle/v1/agendas/{AGENDA}/radar?at=2026-06-01"
        ))
        .await;
    let kinds: Vec<&str> = radar.body["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "overlappingScope",
            "duplicateInvestment",
            "overlappingScope",
            "stuckPilot",
            "overdueMilestone"
        ]
    );
}

#[tokio::test]
async fn bad_governance_data_is_refused() {
    let app = spawn().await;
    let city = City::new(&app, TENANT).await;
    agenda_with_targets(&city).await;
    let base = |n: u32| {
        project(P {
            n,
            name: "x",
            domains: &["mobility"],
            stage: Some(prop(2)),
            trl: None,
            budget: 1.0,
            own: 0.0,
            extra: json!({}),
        })
    };

    let mut bad = base(20);
    bad["stage"] = prop(4);
    let r = city.create(bad).await;
    r.assert_problem(400, "BadRequestData");
    assert_eq!(
        r.body["detail"],
        "'stage' must be an integer from 1 to 3, not 4"
    );

    let mut bad = base(21);
    bad["trl"] = prop(10);
    city.create(bad).await.assert_problem(400, "BadRequestData");

    let mut bad = base(22);
    bad["domains"] = rel(vec![dom("mobility"), dom("space")]);
    let r = city.create(bad).await;
    r.assert_problem(400, "BadRequestData");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("unknown domain 'urn:ngsi-ld:Domain:space' in 'domains'"),
        "{:?}",
        r.body
    );

    let mut bad = base(23);
    bad["dependsOn"] = rel(proj(23));
    let r = city.create(bad).await;
    r.assert_problem(400, "BadRequestData");
    assert_eq!(r.body["detail"], "'dependsOn' refers to the entity itself");

    let mut bad = base(24);
    bad.as_object_mut().unwrap().remove("domains");
    city.create(bad).await.assert_problem(400, "BadRequestData");

    // An update that would break the rules is refused and changes nothing.
    city.create_ok(base(25)).await;
    let r = city
        .send(
            Method::PATCH,
            &format!("/ngsi-ld/v1/entities/{}/attrs", proj(25)),
            Some(city.with_ctx(json!({"stage": prop(0)}))),
        )
        .await;
    r.assert_problem(400, "BadRequestData");
    let link = format!(
        "<{}>; rel=\"http://www.w3.org/ns/json-ld#context\"",
        city.ctx
    );
    let r = app
        .get_with(
            &format!("/ngsi-ld/v1/entities/{}?options=keyValues", proj(25)),
            &[("NGSILD-Tenant", TENANT), ("Link", &link)],
        )
        .await;
    assert_eq!(r.body["stage"], 2);

    // Expert scores stay within −3..+3 and join two different domains.
    let syn = |n: u32, from: &str, to: &str, score: i64| {
        json!({
        "id": format!("urn:ngsi-ld:SynergyAssessment:x{n}"), "type": "SynergyAssessment",
        "fromDomain": rel(dom(from)), "toDomain": rel(dom(to)), "score": prop(score)})
    };
    city.create(syn(1, "mobility", "energy", 5))
        .await
        .assert_problem(400, "BadRequestData");
    city.create(syn(2, "mobility", "mobility", 1))
        .await
        .assert_problem(400, "BadRequestData");

    // A batch reports the bad entity and keeps the good one.
    let mut bad = base(26);
    bad["stage"] = prop("two");
    let r = city.batch("create", vec![base(27), bad]).await;
    assert_eq!(r.status, 207, "{:?}", r.body);
    assert_eq!(r.body["success"], json!([proj(27)]));
    assert_eq!(r.body["errors"][0]["entityId"], proj(26));
    assert_eq!(r.body["errors"][0]["error"]["status"], 400);

    // A domain in use cannot be deleted; an unused one can.
    let r = city
        .send(
            Method::DELETE,
            &format!("/ngsi-ld/v1/entities/{}", dom("mobility")),
            None,
        )
        .await;
    r.assert_problem(409, "Conflict");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains(AGENDA)
            && detail.contains(&proj(25))
            && detail.contains(&target("mobility")),
        "{detail}"
    );
    let r = city
        .send(
            Method::DELETE,
            &format!("/ngsi-ld/v1/entities/{}", dom("tourism")),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    // A purge by type removes the unused domains and reports the ones kept.
    let r = app
        .request(
            Method::DELETE,
            "/ngsi-ld/v1/entities?type=Domain",
            &[("NGSILD-Tenant", TENANT), ("Link", &link)],
            None,
        )
        .await;
    r.assert_problem(409, "Conflict");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("4 of 11 matching entities were kept"),
        "{:?}",
        r.body
    );
    let r = app
        .get_with(
            "/ngsi-ld/v1/entities?type=Domain&options=keyValues&attrs=code",
            &[("NGSILD-Tenant", TENANT), ("Link", &link)],
        )
        .await;
    let mut kept: Vec<&str> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    kept.sort();
    assert_eq!(
        kept,
        ["administration", "energy", "environment", "mobility"]
    );

    // The views refuse bad parameters and unknown agendas.
    city.put_json(&format!("/leitstelle/v1/agendas/{AGENDA}/maturity-model"),
        json!({"stages": [{"stage": 1, "trlMin": 1, "trlMax": 3}, {"stage": 2, "trlMin": 5, "trlMax": 7},
                          {"stage": 3, "trlMin": 8, "trlMax": 9}]}))
        .await
        .assert_problem(400, "BadRequestData");
    city.put_json(
        &format!("/leitstelle/v1/agendas/{AGENDA}/weights"),
        json!({"synergy": 1}),
    )
    .await
    .assert_problem(400, "BadRequestData");
    city.get(&format!("/leitstelle/v1/agendas/{AGENDA}/radar?at=June"))
        .await
        .assert_problem(400, "BadRequestData");
    city.get(&format!(
        "/leitstelle/v1/agendas/{AGENDA}/synergies?radius=-1"
    ))
    .await
    .assert_problem(400, "BadRequestData");
    city.get("/leitstelle/v1/agendas/urn:ngsi-ld:Agenda:none/matrix")
        .await
        .assert_problem(404, "ResourceNotFound");
    app.get_with(
        &format!("/leitstelle/v1/agendas/{AGENDA}/matrix"),
        &[("NGSILD-Tenant", "nowhere")],
    )
    .await
    .assert_problem(404, "NonexistentTenant");
}

#[tokio::test]
async fn an_agenda_moves_between_installations_as_a_file() {
    let app = spawn().await;
    let city = City::new(&app, TENANT).await;
    agenda_with_targets(&city).await;
    let r = city.batch("create", portfolio()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let r = city.batch("create", synergy_assessments()).await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    let file = app.dir.path().join("agenda.json");
    let n = quartier::agenda::export(&app.base, Some(TENANT.into()), AGENDA, &file)
        .await
        .unwrap();
    // 12 domains, 1 agenda, 1 goal, 4 targets, 8 projects, 5 devices, 4 milestones,
    // 5 assessments, 1 programme, 3 grants, 4 ideas.
    assert_eq!(n, 48);
    let doc: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc[0]["type"], "Domain");
    assert_eq!(doc[0]["@context"], json!(city.ctx));

    let other = spawn().await;
    let n = quartier::agenda::import(&other.base, Some("lippstadt".into()), &file)
        .await
        .unwrap();
    assert_eq!(n, 48);
    let there = City::new(&other, "lippstadt").await;
    assert_eq!(
        there.view("matrix").await["counts"],
        city.view("matrix").await["counts"]
    );
    assert_eq!(there.view("ranking").await, city.view("ranking").await);
}
