//! The `/jsonldContexts` API (clause 5.13) end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{TestApp, spawn};

const CONTEXTS: &str = "/ngsi-ld/v1/jsonldContexts";

fn minimal() -> Value {
    json!({"@context": {"A1": "urn:ngsi-ld:attributes:A1", "A2": "urn:ngsi-ld:attributes:A2"}})
}

/// Adds a hosted context; returns the path in `Location`.
async fn add(app: &TestApp, body: &Value) -> String {
    let r = app.post(CONTEXTS, body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body, Value::Null, "201 has no body");
    r.header("location").unwrap().to_owned()
}

async fn details(app: &TestApp, location: &str) -> Value {
    let r = app.get(&format!("{location}?details=true")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

#[tokio::test]
async fn hosted_context_add_serve_details_delete() {
    let app = spawn().await;
    let mut body = minimal();
    body["extra"] = json!("discarded");
    let location = add(&app, &body).await;
    // Location is the path of the new entry (it works with the suite's and any client's base).
    let local_id = location.strip_prefix(&format!("{CONTEXTS}/")).unwrap();
    assert!(!local_id.is_empty() && !local_id.contains('/'));

    let info = details(&app, &location).await;
    assert_eq!(info["kind"], "Hosted");
    assert_eq!(info["localId"], local_id);
    let url = info["URL"].as_str().unwrap();
    assert!(
        url.starts_with("http") && url.ends_with(&location),
        "absolute URL: {url}"
    );
    assert_eq!(info["numberOfHits"], 0);

    // Served as stored, only the @context member (clause 5.13.2.3), as application/json.
    let served = app.get(&location).await;
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type"), Some("application/json"));
    assert_eq!(served.body, minimal());
    let ld = app
        .get_with(&location, &[("Accept", "application/ld+json")])
        .await;
    assert_eq!(ld.header("content-type"), Some("application/ld+json"));
    assert_eq!(ld.body, minimal());
    // Also found by its local id alone and by its URL-encoded URL.
    assert_eq!(
        app.get(&format!("{CONTEXTS}/{local_id}?details=true"))
            .await
            .status,
        200
    );
    let encoded: String = url.bytes().map(|b| format!("%{b:02X}")).collect();
    assert_eq!(
        app.get(&format!("{CONTEXTS}/{encoded}?details=true"))
            .await
            .body["localId"],
        local_id
    );

    let listed = app.get(&format!("{CONTEXTS}?kind=Hosted")).await;
    assert_eq!(listed.body, json!([url]));

    assert_eq!(app.delete(&location).await.status, 204);
    app.get(&location)
        .await
        .assert_problem(404, "ResourceNotFound");
    app.delete(&location)
        .await
        .assert_problem(404, "ResourceNotFound");
}

#[tokio::test]
async fn add_errors() {
    let app = spawn().await;
    // Not the input data of clause 5.13.2.3 (a JSON object with @context): InvalidRequest.
    for body in [json!({"A1": "urn:a"}), json!([minimal()]), json!("text")] {
        app.post(CONTEXTS, &body)
            .await
            .assert_problem(400, "InvalidRequest");
    }
    let r = app
        .request(
            Method::POST,
            CONTEXTS,
            &[],
            Some(("application/json", b"{\"@context\": {\"a\": 1".to_vec())),
        )
        .await;
    r.assert_problem(400, "InvalidRequest");
    // A @context that fails JSON-LD validation: BadRequestData.
    for body in [
        json!({"@context": 5}),
        json!({"@context": {"A1": 7}}),
        json!({"@context": "relative.jsonld"}),
    ] {
        app.post(CONTEXTS, &body)
            .await
            .assert_problem(400, "BadRequestData");
    }
    let r = app
        .request(
            Method::POST,
            CONTEXTS,
            &[],
            Some(("text/plain", b"{}".to_vec())),
        )
        .await;
    r.assert_problem(415, "UnsupportedMediaType");
    assert_eq!(
        app.get(&format!("{CONTEXTS}?kind=Hosted")).await.body,
        json!([])
    );
}

#[tokio::test]
async fn cached_contexts_are_not_served_on_demand() {
    let app = spawn().await;
    let core = format!("{CONTEXTS}/ngsi-ld-core-context-v1.8");
    let info = details(&app, &core).await;
    assert_eq!(info["kind"], "Cached");
    app.get(&core)
        .await
        .assert_problem(422, "OperationNotSupported");
    app.get(&format!("{core}?details=false"))
        .await
        .assert_problem(422, "OperationNotSupported");
    app.get(&format!("{CONTEXTS}/wrong_id_context?details=true"))
        .await
        .assert_problem(404, "ResourceNotFound");
    app.get(&format!("{core}?details=maybe"))
        .await
        .assert_problem(400, "BadRequestData");
}

#[tokio::test]
async fn hosted_context_used_by_path_and_url_counts_hits() {
    let app = spawn().await;
    let location = add(&app, &minimal()).await;
    let url = details(&app, &location).await["URL"]
        .as_str()
        .unwrap()
        .to_owned();

    // The Location path itself is a valid @context reference in a request to this broker.
    let entity = json!({"id": "urn:ngsi-ld:T:1", "type": "T", "A1": "one", "@context": location});
    assert_eq!(
        app.post_ld("/ngsi-ld/v1/entities", &entity).await.status,
        201
    );
    // Metadata reads are not uses.
    assert_eq!(details(&app, &location).await["numberOfHits"], 1);
    assert_eq!(details(&app, &location).await["numberOfHits"], 1);

    let link = format!(
        "<{url}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""
    );
    let r = app
        .get_with(
            "/ngsi-ld/v1/entities/urn:ngsi-ld:T:1",
            &[("Link", link.as_str())],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["A1"]["value"], "one",
        "A1 compacted with the hosted context: {:?}",
        r.body
    );
    let info = details(&app, &location).await;
    assert_eq!(info["numberOfHits"], 2);
    assert!(info["lastUsage"].is_string());

    // A relative reference naming nothing hosted here is the client's error.
    let other = json!({"id": "urn:ngsi-ld:T:2", "type": "T", "@context": "/api/v1/context.jsonld"});
    app.post_ld("/ngsi-ld/v1/entities", &other)
        .await
        .assert_problem(400, "BadRequestData");

    // Once deleted, the reference is unknown.
    assert_eq!(app.delete(&location).await.status, 204);
    let again = json!({"id": "urn:ngsi-ld:T:3", "type": "T", "@context": location});
    app.post_ld("/ngsi-ld/v1/entities", &again)
        .await
        .assert_problem(400, "BadRequestData");
}
