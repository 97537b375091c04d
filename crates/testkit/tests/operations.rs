//! The process contract: health, OpenAPI completeness, ProblemDetails for unknown routes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::Method;
use testkit::spawn;

#[tokio::test]
async fn health_answers_when_ready() {
    let app = spawn().await;
    let r = app.get("/health").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
}

/// Every operation the OpenAPI document describes is routed: calling it never yields the
/// router's own 404 ("no such resource") or 405.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = spawn().await;
    let doc = app.get("/openapi.json").await.body;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 14, "the document lists the API");
    let mut checked = 0;
    for (path, ops) in paths {
        if path == "/admin/reset" {
            continue; // wipes the store; covered by the conformance runs
        }
        let concrete = path
            .replace("{id}", "urn:ngsi-ld:T:1")
            .replace("{attr}", "a")
            .replace("{ty}", "T")
            .replace("{tenant}", "t")
            .replace("{format}", "html")
            .replace("{op}", "query")
            .replace("{instance}", "urn:ngsi-ld:AttributeInstance:1");
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let body = matches!(m, Method::POST | Method::PUT | Method::PATCH)
                .then(|| ("application/json", b"{}".to_vec()));
            let r = app.request(m.clone(), &concrete, &[], body).await;
            assert_ne!(
                r.status, 405,
                "{method} {path} is documented but not routed"
            );
            let routerless = r.status == 404 && r.body["detail"] == "no such resource";
            assert!(!routerless, "{method} {path} is documented but not routed");
            checked += 1;
        }
    }
    assert!(checked >= 20, "checked {checked} operations");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_with_problem_details() {
    let app = spawn().await;
    app.get("/ngsi-ld/v1/nothing")
        .await
        .assert_problem(404, "ResourceNotFound");
    let r = app
        .request(Method::DELETE, "/ngsi-ld/v1/types", &[], None)
        .await;
    r.assert_problem(405, "MethodNotAllowed");
}
