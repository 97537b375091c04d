//! Remote @context fetching follows the operator's policy: allowed hosts, size limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use testkit::spawn_with;

/// Serves a context (and a huge one) on 127.0.0.1:0; returns the base URL.
async fn context_server() -> String {
    let small = json!({"@context": {"reading": "https://example.org/reading"}}).to_string();
    let huge = json!({"@context": {"x": "y".repeat(3 * 1024 * 1024)}}).to_string();
    let app = axum::Router::new()
        .route(
            "/ctx.jsonld",
            axum::routing::get(move || async move { small }),
        )
        .route(
            "/huge.jsonld",
            axum::routing::get(move || async move { huge }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    base
}

fn link(url: &str) -> String {
    format!("<{url}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"")
}

#[tokio::test]
async fn contexts_come_only_from_allowed_hosts_and_within_the_size_limit() {
    let base = context_server().await;
    let open = spawn_with(|_| {}).await;
    let r = open
        .get_with(
            "/ngsi-ld/v1/types",
            &[("Link", &link(&format!("{base}/ctx.jsonld")))],
        )
        .await;
    assert_eq!(r.status, 200, "fetched from loopback: {:?}", r.body);
    open.get_with(
        "/ngsi-ld/v1/types",
        &[("Link", &link(&format!("{base}/huge.jsonld")))],
    )
    .await
    .assert_problem(503, "LdContextNotAvailable");

    let locked =
        spawn_with(|c| c.context_allowed_hosts = vec!["contexts.example.org".into()]).await;
    let r = locked
        .get_with(
            "/ngsi-ld/v1/types",
            &[("Link", &link(&format!("{base}/ctx.jsonld")))],
        )
        .await;
    r.assert_problem(503, "LdContextNotAvailable");
    assert!(
        r.body["detail"].as_str().unwrap().contains("allowed"),
        "{:?}",
        r.body
    );
    // Core contexts never need a fetch, whatever the policy.
    let core = link("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld");
    assert_eq!(
        locked
            .get_with("/ngsi-ld/v1/types", &[("Link", &core)])
            .await
            .status,
        200
    );
}
