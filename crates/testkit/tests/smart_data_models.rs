//! Every Smart Data Models example in the shared data is created with its own context
//! (served offline through the context map) and read back in every representation.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};
use testkit::{TestApp, shared_data, spawn_with};

fn sdm() -> PathBuf {
    shared_data().join("smart-data-models")
}

/// Maps every context URL the examples use to the local copy.
async fn app() -> TestApp {
    spawn_with(|c| {
        for entry in std::fs::read_dir(sdm().join("contexts")).unwrap() {
            let path = entry.unwrap().path();
            let file = path.file_name().unwrap().to_str().unwrap().to_owned();
            let subject = file.trim_end_matches(".context.jsonld").to_owned();
            c.context_map.insert(format!("https://raw.githubusercontent.com/smart-data-models/{subject}/master/context.jsonld"), path.clone());
            c.context_map.insert(format!("https://smart-data-models.github.io/{subject}/context.jsonld"), path);
        }
    })
    .await
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn examples(form: &str) -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = std::fs::read_dir(sdm())
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            let name = p.file_name()?.to_str()?.to_owned();
            name.ends_with(&format!(".{form}.jsonld"))
                .then(|| (name, read(&p)))
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The document without `@context` and without system attributes: a client may not set
/// createdAt/modifiedAt (the KeyPerformanceIndicator example does), the broker ignores them.
fn without_context(v: &Value) -> Map<String, Value> {
    let mut m = v.as_object().unwrap().clone();
    for k in ["@context", "createdAt", "modifiedAt", "deletedAt"] {
        m.remove(k);
    }
    m
}

/// Reads entity `id` back through a POST query carrying the example's own @context.
async fn read_back(app: &TestApp, ctx: &Value, id: &str, options: &str) -> Map<String, Value> {
    let body = json!({"@context": ctx, "type": "Query", "entities": [{"id": id}]});
    let r = app
        .request(
            reqwest::Method::POST,
            &format!("/ngsi-ld/v1/entityOperations/query?{options}"),
            &[("Accept", "application/ld+json")],
            Some(("application/ld+json", serde_json::to_vec(&body).unwrap())),
        )
        .await;
    assert_eq!(r.status, 200, "{id}: {:?}", r.body);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{id}");
    without_context(&list[0])
}

/// The keyValues form an attribute object should have.
fn key_value(attr: &Value) -> Value {
    match attr.get("type").and_then(Value::as_str) {
        Some("Relationship") => attr["object"].clone(),
        Some("Property" | "GeoProperty") => attr["value"].clone(),
        _ => attr.clone(),
    }
}

#[tokio::test]
async fn normalized_examples_round_trip_in_every_form() {
    let app = app().await;
    let all = examples("normalized");
    assert!(all.len() >= 20, "the shared data holds the examples");
    for (name, doc) in all {
        let r = app.post_ld("/ngsi-ld/v1/entities", &doc).await;
        if name == "SolarEnergy.normalized.jsonld" {
            // Its location is a Point with coordinates [[lon, lat]]: not GeoJSON, so the
            // GeoProperty is refused, naming the problem (its keyValues twin is valid).
            r.assert_problem(400, "BadRequestData");
            assert!(r.body["detail"].as_str().unwrap().contains("location"));
            continue;
        }
        assert_eq!(r.status, 201, "{name}: {:?}", r.body);
        let ctx = &doc["@context"];
        let id = doc["id"].as_str().unwrap();
        let input = without_context(&doc);

        let normalized = read_back(&app, ctx, id, "").await;
        assert_eq!(
            Value::Object(normalized),
            Value::Object(input.clone()),
            "{name}: normalized"
        );

        let kv = read_back(&app, ctx, id, "options=keyValues").await;
        for (k, v) in &input {
            let expected = if k == "id" || k == "type" {
                v.clone()
            } else {
                key_value(v)
            };
            assert_eq!(kv.get(k), Some(&expected), "{name}: keyValues of {k}");
        }

        // The concise form, created as a new entity, means the same as the original.
        let mut concise = read_back(&app, ctx, id, "options=concise").await;
        let copy_id = format!("{id}-concise-copy");
        concise.insert("id".into(), copy_id.clone().into());
        concise.insert("@context".into(), ctx.clone());
        let r = app
            .post_ld("/ngsi-ld/v1/entities", &Value::Object(concise))
            .await;
        assert_eq!(r.status, 201, "{name}: concise copy {:?}", r.body);
        let mut again = read_back(&app, ctx, &copy_id, "").await;
        again.insert("id".into(), id.into());
        assert_eq!(
            Value::Object(again),
            Value::Object(input),
            "{name}: concise round trip"
        );
    }
}

#[tokio::test]
async fn key_values_examples_are_accepted_as_concise_input() {
    let app = app().await;
    for (name, doc) in examples("keyvalues") {
        let r = app.post_ld("/ngsi-ld/v1/entities", &doc).await;
        if name.starts_with("EVChargingStation") {
            // Its @context names "iudx:EVChargingStation", which is no context at all.
            assert!(
                r.status.is_client_error() || r.status == 503,
                "{name}: {:?}",
                r.status
            );
            assert!(
                r.body["type"]
                    .as_str()
                    .unwrap()
                    .starts_with("https://uri.etsi.org/ngsi-ld/errors/")
            );
            continue;
        }
        assert_eq!(r.status, 201, "{name}: {:?}", r.body);
        let kv = read_back(
            &app,
            &doc["@context"],
            doc["id"].as_str().unwrap(),
            "options=keyValues",
        )
        .await;
        assert_eq!(
            Value::Object(kv),
            Value::Object(without_context(&doc)),
            "{name}"
        );
    }
}

#[tokio::test]
async fn invalid_examples_are_refused_with_400() {
    let app = app().await;
    for name in [
        "FloodMonitoring.normalized.jsonld",
        "WeatherForecast.normalized.jsonld",
        "WeatherForecast.keyvalues.jsonld",
    ] {
        let doc = read(&sdm().join("invalid").join(name));
        app.post_ld("/ngsi-ld/v1/entities", &doc)
            .await
            .assert_problem(400, "BadRequestData");
    }
    // ItemFlowObserved's ids use a made-up scheme but are valid URIs: accepted.
    let doc = read(&sdm().join("invalid/ItemFlowObserved.normalized.jsonld"));
    assert_eq!(app.post_ld("/ngsi-ld/v1/entities", &doc).await.status, 201);
}
