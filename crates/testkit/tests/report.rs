//! The progress report over HTTP: the HTML of a fixed agenda compared with a committed
//! expected file (the generation time redacted), stored versions, and a change between two
//! stored reports showing in the second one's diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use testkit::{TestApp, spawn};

const AGENDA: &str = "urn:ngsi-ld:Agenda:test";
const EXPECTED: &str = "tests/expected/report.de.html";

fn prop(v: impl Into<Value>) -> Value {
    json!({"type": "Property", "value": v.into()})
}
fn rel(o: impl Into<Value>) -> Value {
    json!({"type": "Relationship", "object": o.into()})
}

async fn leit(app: &TestApp, method: &str, mut e: Value) {
    let ctx = app.get("/leitstelle/v1").await.body["context"].clone();
    e["@context"] = ctx;
    let r = if method == "create" {
        app.post_ld("/ngsi-ld/v1/entities", &e).await
    } else {
        app.post_ld(
            "/ngsi-ld/v1/entityOperations/upsert?options=update",
            &json!([e]),
        )
        .await
    };
    assert!(r.status.is_success(), "{e}: {:?}", r.body);
}

async fn city(app: &TestApp) {
    assert!(
        app.post("/leitstelle/v1/domains/defaults", &json!({}))
            .await
            .status
            .is_success()
    );
    let intensity: Vec<Value> = [(1, 100.0), (2, 110.0), (3, 120.0), (5, 130.0), (6, 140.0), (8, 500.0)]
        .iter()
        .map(|(d, v)| json!({"type": "Property", "value": v, "observedAt": format!("2026-03-{d:02}T00:00:00Z")}))
        .collect();
    let r = app
        .post("/ngsi-ld/v1/temporal/entities",
            &json!({"id": "urn:ngsi-ld:TrafficFlowObserved:c1", "type": "TrafficFlowObserved", "intensity": intensity}))
        .await;
    assert!(r.status.is_success());
    let d = |c: &str| format!("urn:ngsi-ld:Domain:{c}");
    for e in [
        json!({"id": AGENDA, "type": "Agenda", "name": prop("Digitale Agenda Musterstadt"),
            "centralDomains": rel(json!([d("mobility"), d("environment")]))}),
        json!({"id": "urn:ngsi-ld:Project:rad", "type": "Project", "name": prop("Radzählung"),
            "agenda": rel(AGENDA), "domains": rel(json!([d("mobility"), d("environment")])), "trl": prop(6),
            "deploys": rel("urn:ngsi-ld:Device:d1"), "usesEntityTypes": prop(json!(["TrafficFlowObserved"]))}),
        json!({"id": "urn:ngsi-ld:Project:licht", "type": "Project", "name": prop("Straßenbeleuchtung"),
            "agenda": rel(AGENDA), "domains": rel(json!([d("energy")])), "trl": prop(8)}),
        json!({"id": "urn:ngsi-ld:Milestone:m1", "type": "Milestone", "name": prop("Zählstellen in Betrieb"),
            "project": rel("urn:ngsi-ld:Project:rad"), "plannedDate": prop("2026-02-01"), "actualDate": prop("2026-01-25")}),
        json!({"id": "urn:ngsi-ld:Milestone:m2", "type": "Milestone", "name": prop("Daten veröffentlicht"),
            "project": rel("urn:ngsi-ld:Project:rad"), "plannedDate": prop("2026-03-01")}),
        json!({"id": "urn:ngsi-ld:Milestone:m3", "type": "Milestone", "name": prop("Leuchten umgerüstet"),
            "agenda": rel(AGENDA), "plannedDate": prop("2026-03-20")}),
        json!({"id": "urn:ngsi-ld:Grant:g1", "type": "Grant", "project": rel("urn:ngsi-ld:Project:licht"),
            "amount": prop(40000), "endDate": prop("2026-06-30")}),
        json!({"id": "urn:ngsi-ld:CitizenIdea:i1", "type": "CitizenIdea", "text": prop("Radwege beleuchten"),
            "domains": rel(d("mobility")), "votes": prop(12)}),
        json!({"id": "urn:ngsi-ld:KeyPerformanceIndicator:rad", "type": "KeyPerformanceIndicator",
            "name": prop("Radfahrten je Tag"), "agenda": rel(AGENDA), "unit": prop("Fahrten/Tag"),
            "baseline": prop(100), "startDate": prop("2026-01-01"), "targetValue": prop(200), "targetDate": prop("2027-01-01"),
            "query": prop(json!({"measure": "avg", "type": "TrafficFlowObserved", "attribute": "intensity",
                "period": "P7D", "expectedInterval": "P1D"}))}),
        json!({"id": "urn:ngsi-ld:KeyPerformanceIndicator:ozg", "type": "KeyPerformanceIndicator",
            "name": prop("Online-Leistungen"), "agenda": rel(AGENDA), "calculationMethod": prop("manual"),
            "baseline": prop(10), "startDate": prop("2026-01-01"), "targetValue": prop(30), "targetDate": prop("2027-01-01")}),
    ] {
        leit(app, "create", e).await;
    }
    for at in ["2026-03-08T10:00:00Z", "2026-03-09T10:00:00Z"] {
        let r = app
            .post(
                &format!("/leitstelle/v1/agendas/{AGENDA}/indicators/compute?at={at}"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let r = app
        .post("/leitstelle/v1/indicators/urn:ngsi-ld:KeyPerformanceIndicator:ozg/value",
            &json!({"value": 11, "evidence": "Ratsvorlage 12/2026", "observedAt": "2026-03-01T00:00:00Z"}))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn html(app: &TestApp, path: &str) -> String {
    let r = app
        .client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    r.text().await.unwrap()
}

/// Replaces the generation time, the only part that differs between runs.
fn redact(html: &str) -> String {
    let start = html.find("<p class=\"generated\">").unwrap();
    let end = start + html[start..].find("</p>").unwrap();
    format!(
        "{}<p class=\"generated\">[redacted]{}",
        &html[..start],
        &html[end..]
    )
}

#[tokio::test]
async fn the_report_reads_as_expected_and_shows_changes() {
    let app = spawn().await;
    city(&app).await;
    let q = "from=2026-01-01&to=2026-03-10";
    let de = redact(&html(&app, &format!("/leitstelle/v1/agendas/{AGENDA}/report?{q}")).await);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(EXPECTED);
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        std::fs::write(&path, &de).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        de, expected,
        "the report differs from {EXPECTED} (UPDATE_EXPECT=1 rewrites it)"
    );
    // What a reader checks: the numbers, the status and the charts.
    assert!(de.contains("<td>Radfahrten je Tag</td><td>200 Fahrten/Tag</td><td>100 Fahrten/Tag</td><td>200 Fahrten/Tag (01.01.2027)</td><td>71,43 %</td>"), "{de}");
    assert_eq!(
        de.matches("<svg").count(),
        4,
        "two trend charts, the matrix, the timeline"
    );
    assert!(de.contains("Dies ist der erste gespeicherte Bericht"));
    let en = html(
        &app,
        &format!("/leitstelle/v1/agendas/{AGENDA}/report?{q}&lang=en"),
    )
    .await;
    assert!(
        en.contains("<h1>Progress report: Digitale Agenda Musterstadt</h1>"),
        "{en}"
    );

    let store = async || {
        let r = app
            .post(
                &format!("/leitstelle/v1/agendas/{AGENDA}/reports?{q}"),
                &json!({}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body
    };
    let first = store().await;
    assert_eq!(
        (first["id"].clone(), first["version"].clone()),
        (json!("urn:ngsi-ld:ProgressReport:test:1"), json!(1))
    );
    // Between the two reports: a new project with a device, the overdue milestone reached,
    // a new manual value that puts the indicator on track, a new idea.
    let d = |c: &str| format!("urn:ngsi-ld:Domain:{c}");
    leit(
        &app,
        "create",
        json!({"id": "urn:ngsi-ld:Project:laden", "type": "Project", "name": prop("Ladepunkte"),
        "agenda": rel(AGENDA), "domains": rel(json!([d("mobility"), d("energy")])), "trl": prop(5),
        "deploys": rel("urn:ngsi-ld:Device:d2")}),
    )
    .await;
    leit(&app, "update", json!({"id": "urn:ngsi-ld:Milestone:m2", "type": "Milestone", "actualDate": prop("2026-03-05")})).await;
    leit(&app, "create", json!({"id": "urn:ngsi-ld:CitizenIdea:i2", "type": "CitizenIdea", "text": prop("Mehr Ladesäulen"),
        "domains": rel(d("energy")), "votes": prop(3)})).await;
    let r = app
        .post("/leitstelle/v1/indicators/urn:ngsi-ld:KeyPerformanceIndicator:ozg/value",
            &json!({"value": 20, "evidence": "Ratsvorlage 14/2026", "observedAt": "2026-03-09T00:00:00Z"}))
        .await;
    assert_eq!(r.body["indicatorStatus"], "onTrack");
    let second = store().await;
    assert_eq!(second["version"], 2);
    let list = app
        .get(&format!("/leitstelle/v1/agendas/{AGENDA}/reports"))
        .await;
    assert_eq!(list.body["reports"].as_array().unwrap().len(), 2);
    let v2 = html(
        &app,
        "/leitstelle/v1/reports/urn:ngsi-ld:ProgressReport:test:2",
    )
    .await;
    let section = &v2[v2.find("Veränderungen seit dem letzten Bericht").unwrap()..];
    for want in [
        "<h3>Geänderter Status</h3><ul><li>Online-Leistungen: nicht im Plan → im Plan</li></ul>",
        "<h3>Erreichte Meilensteine</h3><ul><li>Daten veröffentlicht</li></ul>",
        "<h3>Versäumte Meilensteine</h3><p class=\"none\">keine</p>",
        "<h3>In den nächsten 30 Tagen fällige Meilensteine</h3><ul><li>Leuchten umgerüstet</li></ul>",
        "<h3>Neue Projekte</h3><ul><li>Ladepunkte</li></ul>",
        "<h3>Neue Geräte</h3><ul><li>urn:ngsi-ld:Device:d2</li></ul>",
        "<h3>Neue Bürgerideen</h3><ul><li>urn:ngsi-ld:CitizenIdea:i2</li></ul>",
    ] {
        assert!(section.contains(want), "missing {want} in {section}");
    }
    // The first stored version still shows no comparison; the entity is open data.
    let v1 = html(
        &app,
        "/leitstelle/v1/reports/urn:ngsi-ld:ProgressReport:test:1",
    )
    .await;
    assert!(v1.contains("Dies ist der erste gespeicherte Bericht"));
    let e = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:ProgressReport:test:2")
        .await;
    assert_eq!(e.status, 200);
    app.get(&format!(
        "/leitstelle/v1/agendas/{AGENDA}/report?from=2026-04-01&to=2026-03-01"
    ))
    .await
    .assert_problem(400, "BadRequestData");
}

/// Checks what a PDF reader relies on: header, every xref offset pointing at its object,
/// stream lengths, trailer; answers the number of pages.
fn check_pdf(bytes: &[u8]) -> usize {
    let text = std::str::from_utf8(bytes).expect("the PDF is written in ASCII");
    assert!(text.starts_with("%PDF-1.4\n") && text.ends_with("%%EOF\n"));
    let start: usize = text
        .rsplit("startxref\n")
        .next()
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let xref = &text[start..];
    assert!(xref.starts_with("xref\n0 "));
    let count: usize = xref.lines().nth(1).unwrap()[2..].parse().unwrap();
    for (k, line) in xref.lines().skip(3).take(count - 1).enumerate() {
        let off: usize = line[..10].parse().unwrap();
        assert!(
            text[off..].starts_with(&format!("{} 0 obj\n", k + 1)),
            "object {}",
            k + 1
        );
    }
    for part in text.split("<< /Length ").skip(1) {
        let (len, rest) = part.split_once(" >>\nstream\n").unwrap();
        let len: usize = len.parse().unwrap();
        assert!(rest[len..].starts_with("endstream"), "stream length");
    }
    let pages = text.split("/Count ").nth(1).unwrap();
    pages[..pages.find(' ').unwrap()].parse().unwrap()
}

#[tokio::test]
async fn the_report_is_also_a_pdf() {
    let app = spawn().await;
    city(&app).await;
    let r = app
        .client
        .get(format!(
            "{}/leitstelle/v1/agendas/{AGENDA}/report?from=2026-01-01&to=2026-03-10&format=pdf",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.unwrap();
    assert_eq!(
        check_pdf(&bytes),
        3,
        "indicators and trends; matrix, milestones and projects; changes"
    );
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    // The content streams, in page order.
    let pages: Vec<&str> = text
        .split(">>\nstream\n")
        .skip(1)
        .map(|p| &p[..p.find("endstream").unwrap()])
        .collect();
    assert_eq!(pages.len(), 3);
    for (k, p) in pages.iter().enumerate() {
        assert!(p.contains(&format!("(Seite {} von 3) Tj", k + 1)), "{p}");
        assert!(p.contains("(Digitale Agenda Musterstadt) Tj"));
    }
    // Umlauts in WinAnsi: "Fortschrittsbericht", "überfällig" (\374berf\344llig).
    let p1 = pages[0];
    assert!(p1.contains("(Fortschrittsbericht: Digitale Agenda Musterstadt) Tj"));
    assert!(p1.contains("(200) Tj") && p1.contains("(71,43 %) Tj") && p1.contains("(im Plan) Tj"));
    assert!(p1.contains("(Verlauf der Indikatoren gegen\\374ber dem Zielwert) Tj"));
    assert_eq!(p1.matches(" re S").count(), 2, "two trend charts");
    // Page 2: the heat map (3 × 3 cells, the three holding a project in full blue, the
    // others white), the timeline, the milestone and project tables.
    let p2 = pages[1];
    assert!(p2.contains(
        "(Reifegrad-Matrix \\(Handlungsfeld \\327 Handlungsfeld, Anzahl Projekte\\)) Tj"
    ));
    assert!(p2.contains("(Mobilit\\344t) Tj") && p2.contains("(Umwelt und Klima) Tj"));
    let cells: Vec<&str> = p2.lines().filter(|l| l.ends_with(" re B")).collect();
    assert_eq!(cells.len(), 9);
    let full = cells
        .iter()
        .filter(|c| c.starts_with("0.082 0.396 0.753 rg"));
    assert_eq!(full.count(), 3);
    let white = cells
        .iter()
        .filter(|c| c.starts_with("1.000 1.000 1.000 rg"));
    assert_eq!(white.count(), 6);
    assert!(p2.contains("(Berichtsdatum \\(10.03.2026\\)) Tj"));
    assert!(p2.contains("(Daten ver\\366ffentlicht \\(01.03.2026\\)) Tj"));
    assert!(p2.contains("0.776 0.157 0.157 rg"), "its dot red: overdue");
    assert!(p2.contains("(\\374berf\\344llig) Tj"));
    assert!(p2.contains("(Stra\\337enbeleuchtung) Tj"));
    assert!(pages[2].contains("(Ver\\344nderungen seit dem letzten Bericht) Tj"));
    app.get(&format!(
        "/leitstelle/v1/agendas/{AGENDA}/report?format=docx"
    ))
    .await
    .assert_problem(400, "BadRequestData");
}
