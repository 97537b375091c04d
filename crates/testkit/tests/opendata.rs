//! Progress reports as open data: publishing and withdrawing, the DCAT-AP.de catalogue in
//! Turtle and JSON-LD checked by the official SHACL shapes (`../shared/tools/dcat-validate`),
//! the public report files, and that nothing unpublished can be reached.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use quartier::config::{OpendataFile, OpendataTenantFile};
use reqwest::Method;
use serde_json::{Value, json};
use testkit::{Resp, TestApp, spawn_with};

const TENANT: &str = "musterstadt";
const AGENDA: &str = "urn:ngsi-ld:Agenda:muster";
const FIRST: &str = "urn:ngsi-ld:ProgressReport:muster:1";
const SECOND: &str = "urn:ngsi-ld:ProgressReport:muster:2";
const HOME: &str = "urn:ngsi-ld:ProgressReport:heim:1";
const CC_ZERO: &str = "http://dcat-ap.de/def/licenses/cc-zero";

fn prop(v: impl Into<Value>) -> Value {
    json!({"type": "Property", "value": v.into()})
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    tenant: &str,
    body: Option<Value>,
) -> Resp {
    let headers: Vec<(&str, &str)> = if tenant.is_empty() {
        Vec::new()
    } else {
        vec![("NGSILD-Tenant", tenant)]
    };
    let body = body.map(|b| ("application/ld+json", serde_json::to_vec(&b).unwrap()));
    app.request(method, path, &headers, body).await
}

/// An agenda with one stored report per `to` date, and data that must never be published.
async fn agenda(app: &TestApp, tenant: &str, id: &str, name: &str, ends: &[&str]) {
    let ctx = app.get("/leitstelle/v1").await.body["context"].clone();
    for e in [
        json!({"id": id, "type": "Agenda", "name": prop(name), "@context": ctx}),
        json!({"id": format!("{id}-idee"), "type": "CitizenIdea",
            "text": prop("Vorschlag von Erika Mustermann, Hauptstraße 1"), "@context": ctx}),
        json!({"id": format!("{id}-person"), "type": "Person",
            "email": prop("erika.mustermann@example.org"), "@context": ctx}),
    ] {
        let r = send(app, Method::POST, "/ngsi-ld/v1/entities", tenant, Some(e)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    for to in ends {
        let path = format!("/leitstelle/v1/agendas/{id}/reports?from=2026-01-01&to={to}");
        let r = send(app, Method::POST, &path, tenant, None).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
}

async fn publish(app: &TestApp, tenant: &str, id: &str, body: Option<Value>) -> Resp {
    let path = format!("/leitstelle/v1/reports/{id}/publication");
    send(app, Method::POST, &path, tenant, body).await
}

async fn withdraw(app: &TestApp, tenant: &str, id: &str) -> Resp {
    let path = format!("/leitstelle/v1/reports/{id}/publication");
    send(app, Method::DELETE, &path, tenant, None).await
}

async fn fetch(app: &TestApp, url: &str, accept: Option<&str>) -> (u16, String, Vec<u8>) {
    let mut req = app.client.get(url);
    if let Some(a) = accept {
        req = req.header("Accept", a);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map_or("", |v| v.to_str().unwrap())
        .to_owned();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

async fn catalog(app: &TestApp) -> String {
    let (status, ct, body) = fetch(app, &format!("{}/opendata/v1/catalog", app.base), None).await;
    assert_eq!((status, ct.as_str()), (200, "text/turtle; charset=utf-8"));
    String::from_utf8(body).unwrap()
}

/// Runs the DCAT-AP.de validator on `files`; answers its exit status and output.
async fn validate(files: Vec<PathBuf>) -> (i32, String) {
    let script = testkit::shared_tools().join("dcat-validate/validate.sh");
    assert!(
        script.exists(),
        "the validator is missing: {}",
        script.display()
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&script)
            .arg("--show")
            .arg("-1")
            .args(&files)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Replaces the generation time, the only part that differs between two renderings.
fn redact(html: &str) -> String {
    let start = html.find("<p class=\"generated\">").unwrap();
    let end = start + html[start..].find("</p>").unwrap();
    format!("{}{}", &html[..start], &html[end..])
}

fn write(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

#[tokio::test]
async fn published_reports_form_a_valid_dcat_ap_de_catalogue() {
    let app = spawn_with(|f| {
        f.opendata = Some(OpendataFile {
            publisher: Some("Kreis Musterkreis".into()),
            contact_email: Some("opendata@musterkreis.example".into()),
            district_key: Some("05774".into()),
            tenant: [(
                TENANT.to_owned(),
                OpendataTenantFile {
                    publisher: Some("Stadt Musterstadt".into()),
                    municipality_key: Some("05774032".into()),
                    contact_email: None,
                },
            )]
            .into_iter()
            .collect(),
            ..OpendataFile::default()
        });
    })
    .await;
    agenda(
        &app,
        TENANT,
        AGENDA,
        "Digitale Agenda \"Musterstadt\" 2030",
        &["2026-03-31", "2026-06-30"],
    )
    .await;
    agenda(
        &app,
        "",
        "urn:ngsi-ld:Agenda:heim",
        "Agenda Heim",
        &["2026-03-31"],
    )
    .await;
    let public = |tenant: &str, id: &str, ext: &str| {
        let t = if tenant.is_empty() {
            String::new()
        } else {
            format!("{tenant}/")
        };
        format!("{}/opendata/v1/reports/{t}{id}.{ext}", app.base)
    };

    // Nothing is published yet: an empty catalogue, and the public URLs answer 404.
    assert!(!catalog(&app).await.contains("dcat:Dataset"));
    let r = app
        .get(&format!("/opendata/v1/reports/{TENANT}/{FIRST}.html"))
        .await;
    r.assert_problem(404, "ResourceNotFound");

    // Publishing: 201, then 200 keeping the date; the default licence; the files' URLs.
    let r = publish(&app, TENANT, FIRST, None).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let published_at = r.body["publication"]["publishedAt"].clone();
    assert_eq!(
        r.body["publication"]["license"],
        "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    );
    let port = app.base.rsplit(':').next().unwrap();
    assert_eq!(
        r.body["pdf"],
        format!("http://localhost:{port}/opendata/v1/reports/{TENANT}/{FIRST}.pdf")
    );
    let again = publish(&app, TENANT, FIRST, Some(json!({}))).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["publication"]["publishedAt"], published_at);
    let r = publish(&app, "", HOME, Some(json!({"license": CC_ZERO}))).await;
    assert_eq!(
        (r.status.as_u16(), &r.body["publication"]["license"]),
        (201, &json!(CC_ZERO))
    );

    // Malformed or impossible publications are refused with ProblemDetails.
    publish(
        &app,
        TENANT,
        SECOND,
        Some(json!({"license": "https://example.org/my-licence"})),
    )
    .await
    .assert_problem(400, "BadRequestData");
    publish(&app, TENANT, SECOND, Some(json!({"licence": CC_ZERO})))
        .await
        .assert_problem(400, "BadRequestData");
    publish(&app, TENANT, SECOND, Some(json!(["x"])))
        .await
        .assert_problem(400, "BadRequestData");
    publish(&app, TENANT, "urn:ngsi-ld:ProgressReport:muster:9", None)
        .await
        .assert_problem(404, "ResourceNotFound");
    publish(&app, TENANT, &format!("{AGENDA}-person"), None)
        .await
        .assert_problem(404, "ResourceNotFound");
    publish(&app, TENANT, "not a uri", None)
        .await
        .assert_problem(400, "BadRequestData");

    // The agenda's list says what is published.
    let list = send(
        &app,
        Method::GET,
        &format!("/leitstelle/v1/agendas/{AGENDA}/reports"),
        TENANT,
        None,
    )
    .await;
    let flags: Vec<(Value, Value)> = list.body["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].clone(), r["published"].clone()))
        .collect();
    assert_eq!(
        flags,
        [(json!(FIRST), json!(true)), (json!(SECOND), json!(false))]
    );
    assert_eq!(
        list.body["reports"][0]["publication"]["publishedAt"],
        published_at
    );

    // The catalogue: both published reports, nothing else of the tenants.
    let ttl = catalog(&app).await;
    assert_eq!(ttl.matches("a dcat:Dataset").count(), 2, "{ttl}");
    assert_eq!(ttl.matches("a dcat:Distribution").count(), 4);
    assert!(
        ttl.contains(
            "dct:title \"Fortschrittsbericht Digitale Agenda \\\"Musterstadt\\\" 2030 (1)\"@de"
        ),
        "{ttl}"
    );
    assert!(ttl.contains("foaf:name \"Stadt Musterstadt\"@de"));
    assert!(ttl.contains("<http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05774032>"));
    assert!(ttl.contains(&format!("dct:license <{CC_ZERO}>")));
    for secret in [
        SECOND,
        "Erika",
        "Mustermann",
        "Hauptstraße",
        "example.org",
        "-idee",
        "-person",
    ] {
        assert!(
            !ttl.contains(secret),
            "{secret} leaked into the catalogue: {ttl}"
        );
    }
    let (status, ct, body) = fetch(
        &app,
        &format!("{}/opendata/v1/catalog", app.base),
        Some("application/ld+json"),
    )
    .await;
    assert_eq!((status, ct.as_str()), (200, "application/ld+json"));
    let jsonld: Value = serde_json::from_slice(&body).unwrap();
    let nodes = jsonld["@graph"].as_array().unwrap();
    let datasets = nodes
        .iter()
        .filter(|n| n["@type"][0] == "dcat:Dataset")
        .count();
    assert_eq!(datasets, 2);
    let r = app
        .get_with("/opendata/v1/catalog", &[("Accept", "application/rdf+xml")])
        .await;
    r.assert_problem(406, "NotAcceptable");

    // The official shapes find no violation (and no warning) in either syntax; the invalid
    // sample proves the oracle still fails.
    let dir = app.dir.path();
    let files = vec![
        write(dir, "catalog.ttl", ttl.as_bytes()),
        write(dir, "catalog.jsonld", &body),
    ];
    let (code, out) = validate(files).await;
    println!("{out}");
    assert_eq!(code, 0, "{out}");
    let results: Vec<&str> = out.lines().filter(|l| l.starts_with("RESULT ")).collect();
    assert_eq!(results.len(), 2, "{out}");
    for l in &results {
        assert!(l.contains("conforms=yes violations=0 warnings=0"), "{l}");
    }
    let invalid = testkit::shared_data()
        .join("dcat-ap-de/samples/quartier/quartier-demo-catalog-invalid.ttl");
    let (code, out) = validate(vec![invalid]).await;
    assert_eq!(code, 1, "{out}");

    // Every download URL answers with its file, the same report the Leitstelle serves.
    let urls: Vec<String> = nodes
        .iter()
        .filter(|n| n["@type"][0] == "dcat:Distribution")
        .map(|n| n["dcat:downloadURL"][0]["@id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(urls.len(), 4);
    for url in &urls {
        let (status, ct, body) = fetch(&app, url, None).await;
        assert_eq!(status, 200, "{url}");
        if url.ends_with(".pdf") {
            assert_eq!(ct, "application/pdf");
            assert!(body.starts_with(b"%PDF-"), "{url}");
        } else {
            assert_eq!(ct, "text/html; charset=utf-8");
            assert!(String::from_utf8_lossy(&body).contains("<h1>Fortschrittsbericht: "));
        }
        let text = String::from_utf8_lossy(&body);
        assert!(
            !text.contains("Erika") && !text.contains("example.org"),
            "{url}"
        );
    }
    let (_, _, open) = fetch(&app, &public(TENANT, FIRST, "html"), None).await;
    let inside = app
        .client
        .get(format!("{}/leitstelle/v1/reports/{FIRST}", app.base))
        .header("NGSILD-Tenant", TENANT)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(redact(&String::from_utf8(open).unwrap()), redact(&inside));
    let (status, _, en) = fetch(
        &app,
        &format!("{}?lang=en", public(TENANT, FIRST, "html")),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        String::from_utf8(en)
            .unwrap()
            .contains("<h1>Progress report: ")
    );

    // Unpublished, unknown, not a report, wrong tenant, wrong file: all the same 404.
    for path in [
        format!("/opendata/v1/reports/{TENANT}/{SECOND}.html"),
        format!("/opendata/v1/reports/{TENANT}/{SECOND}.pdf"),
        format!("/opendata/v1/reports/{TENANT}/{AGENDA}-person.html"),
        format!("/opendata/v1/reports/{TENANT}/urn:ngsi-ld:ProgressReport:muster:9.html"),
        format!("/opendata/v1/reports/nirgendwo/{FIRST}.html"),
        format!("/opendata/v1/reports/{FIRST}.html"),
        format!("/opendata/v1/reports/{TENANT}/{FIRST}.docx"),
        format!("/opendata/v1/reports/{TENANT}/{FIRST}"),
    ] {
        app.get(&path).await.assert_problem(404, "ResourceNotFound");
    }
    app.get(&format!(
        "/opendata/v1/reports/{TENANT}/{FIRST}.html?format=pdf"
    ))
    .await
    .assert_problem(400, "InvalidRequest");
    app.get(&format!(
        "/opendata/v1/reports/{TENANT}/{FIRST}.html?lang=fr"
    ))
    .await
    .assert_problem(400, "BadRequestData");

    // Withdrawing: 204 (twice), gone from the catalogue and the public URL; 404 if unknown.
    assert_eq!(withdraw(&app, TENANT, FIRST).await.status, 204);
    assert_eq!(withdraw(&app, TENANT, FIRST).await.status, 204);
    withdraw(&app, TENANT, "urn:ngsi-ld:ProgressReport:muster:9")
        .await
        .assert_problem(404, "ResourceNotFound");
    let ttl = catalog(&app).await;
    assert!(!ttl.contains(FIRST), "{ttl}");
    assert_eq!(ttl.matches("a dcat:Dataset").count(), 1);
    app.get(&format!("/opendata/v1/reports/{TENANT}/{FIRST}.pdf"))
        .await
        .assert_problem(404, "ResourceNotFound");
    let (status, _, _) = fetch(&app, &public("", HOME, "pdf"), None).await;
    assert_eq!(status, 200, "the other tenant's report stays published");
}
