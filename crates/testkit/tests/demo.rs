//! The demo Smart Region (`serve --demo`): tenants, devices and history as a visitor finds
//! them, checked against the shipped sample files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use testkit::{TestApp, spawn_with};

const TYPES: &str = "Municipality,AirQualityObserved,TrafficFlowObserved,Device,EVChargingStation,OffStreetParking,Streetlight,NoiseLevelObserved";

async fn get(app: &TestApp, tenant: &str, path: &str) -> (u16, Value, Option<String>) {
    let r = app.get_with(path, &[("NGSILD-Tenant", tenant)]).await;
    let count = r.header("NGSILD-Results-Count").map(str::to_owned);
    (r.status.as_u16(), r.body, count)
}

#[tokio::test]
async fn the_demo_region_is_ready_to_explore() {
    let app = spawn_with(|f| f.demo = Some(true)).await;

    // One tenant per municipality, each with its boundary and population.
    let names = [
        "paderborn",
        "delbrueck",
        "salzkotten",
        "bueren",
        "hoevelhof",
        "bad-lippspringe",
        "borchen",
        "bad-wuennenberg",
        "lichtenau",
        "altenbeken",
    ];
    let mut people = 0;
    for t in names {
        let (status, body, _) = get(&app, t, "/ngsi-ld/v1/entities?type=Municipality").await;
        assert_eq!(status, 200, "{t}: {body}");
        let list = body.as_array().unwrap();
        assert_eq!(list.len(), 1, "{t}");
        assert_eq!(list[0]["location"]["value"]["type"], "Polygon");
        people += list[0]["population"]["value"].as_u64().unwrap();
    }
    assert_eq!(people, 306_890, "the Kreis' population as shipped");

    // Paderborn: 3 air quality stations, 5 bicycle counters, each with its Device.
    let count = async |tenant: &str, query: &str| {
        let (status, body, n) = get(
            &app,
            tenant,
            &format!("/ngsi-ld/v1/entities?{query}&count=true&limit=0"),
        )
        .await;
        assert_eq!(status, 200, "{query}: {body}");
        n.unwrap().parse::<usize>().unwrap()
    };
    assert_eq!(count("paderborn", "type=AirQualityObserved").await, 3);
    assert_eq!(count("paderborn", "type=TrafficFlowObserved").await, 5);
    assert_eq!(count("paderborn", "type=Device").await, 8);
    assert_eq!(count("altenbeken", "type=AirQualityObserved").await, 1);
    // Everything is labelled as sample data.
    for t in names {
        let all = count(t, &format!("type={TYPES}")).await;
        assert!(all >= 6, "{t}: {all}");
        assert_eq!(
            count(t, &format!("type={TYPES}&q=dataProvenance")).await,
            all,
            "{t}"
        );
    }

    // Devices stand inside their municipality: a geo-query with its boundary finds them all.
    let (_, body, _) = get(&app, "paderborn", "/ngsi-ld/v1/entities?type=Municipality").await;
    let boundary = serde_json::to_string(&body[0]["location"]["value"]["coordinates"]).unwrap();
    let lights = count("paderborn", "type=Streetlight").await;
    assert_eq!(lights, 7);
    let within = count(
        "paderborn",
        &format!(
            "type=Streetlight&georel=within&geometry=Polygon&coordinates={}",
            urlencode(&boundary)
        ),
    )
    .await;
    assert_eq!(within, lights);

    // The first bicycle counter carries the first Rostock station's 29 days, ending yesterday,
    // and its current state is the newest day.
    let csv = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../server/demo/radmonitore_daily_counts.csv"),
    )
    .unwrap();
    let counts: Vec<f64> = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(1) == Some("100005392"))
        .map(|l| l.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    assert_eq!(counts.len(), 29);
    let id = "urn:ngsi-ld:TrafficFlowObserved:paderborn-bike-100005392";
    let (status, h, _) = get(
        &app,
        "paderborn",
        &format!(
            "/ngsi-ld/v1/temporal/entities/{id}?attrs=intensity&options=aggregatedValues\
             &aggrMethods=sum,totalCount&timerel=after&timeAt=2000-01-01T00:00:00Z"
        ),
    )
    .await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["intensity"]["totalCount"][0][0], 29);
    assert_eq!(
        h["intensity"]["sum"][0][0].as_f64().unwrap(),
        counts.iter().sum::<f64>()
    );
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1)).date_naive();
    let (_, current, _) = get(&app, "paderborn", &format!("/ngsi-ld/v1/entities/{id}")).await;
    assert_eq!(current["intensity"]["value"].as_f64().unwrap(), counts[28]);
    assert_eq!(
        current["intensity"]["observedAt"],
        format!("{yesterday}T00:00:00Z")
    );
    assert_eq!(current["vehicleType"]["value"], "bicycle");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_demo_agenda_shows_matrix_radar_and_live_indicators() {
    let app = spawn_with(|f| f.demo = Some(true)).await;
    let a = "/leitstelle/v1/agendas/urn:ngsi-ld:Agenda:paderborn-2030";
    let view = async |v: &str| {
        let (status, body, _) = get(&app, "paderborn", &format!("{a}/{v}")).await;
        assert_eq!(status, 200, "{v}: {body}");
        body
    };
    // Six projects over five domains; the central domains first.
    let m = view("matrix").await;
    let codes: Vec<&str> = m["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "mobility",
            "environment",
            "administration",
            "energy",
            "health"
        ]
    );
    assert_eq!(
        m["counts"],
        serde_json::json!([
            [1, 1, 0, 1, 0],
            [1, 0, 0, 1, 1],
            [0, 0, 1, 0, 0],
            [1, 1, 0, 0, 0],
            [0, 1, 0, 0, 0]
        ])
    );
    let w = view("workflow").await;
    assert!(
        w["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["done"] == true),
        "{w}"
    );
    // Expert scores and platform evidence (shared air quality data, a citizen idea).
    let syn = view("synergies").await;
    let pair = syn["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| {
            p["from"] == "urn:ngsi-ld:Domain:mobility"
                && p["to"] == "urn:ngsi-ld:Domain:environment"
        })
        .unwrap();
    assert_eq!(pair["expert"]["mean"], 3.0);
    assert_eq!(
        pair["evidence"]["citizenIdeas"],
        serde_json::json!(["urn:ngsi-ld:CitizenIdea:pb-1"])
    );
    // The radar: a grant ending without an operating model, two overdue milestones.
    let r = view("radar").await;
    let flags: Vec<(String, String)> = r["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_owned(),
                f["objects"][0].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("grantEnding", "urn:ngsi-ld:Grant:pb-luft"),
        ("overdueMilestone", "urn:ngsi-ld:Milestone:pb-licht-1"),
        ("overdueMilestone", "urn:ngsi-ld:Milestone:pb-luft-2"),
    ];
    assert_eq!(flags, expected.map(|(k, o)| (k.to_owned(), o.to_owned())));
    // Live indicators over the seeded data, computed at seeding.
    let ind = view("indicators").await;
    let of = |n: &str| {
        ind["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == format!("urn:ngsi-ld:KeyPerformanceIndicator:pb-{n}"))
            .unwrap()
            .clone()
    };
    // 3 of 4 charging stations working, 6 of 7 streetlights ok (every 4th / 5th is not).
    assert_eq!(
        (
            of("laden")["kpiValue"].clone(),
            of("laden")["dataCoverage"].clone()
        ),
        (0.75.into(), 1.0.into())
    );
    assert_eq!(of("licht")["kpiValue"], 0.8571);
    // Mean daily count of the 5 Paderborn counters over the last 7 days (35 of 35 readings),
    // against the first week of the series as baseline; fewer rides in the last week.
    assert_eq!(of("rad")["kpiValue"], 1465.1143);
    assert_eq!(of("rad")["baseline"], 1700.0);
    assert_eq!(of("rad")["dataCoverage"], 1.0);
    assert_eq!(of("rad")["indicatorStatus"], "offTrack");
    // Yesterday's PM10 mean over the 3 stations, above the 25 µg/m³ baseline: off track.
    assert_eq!(of("pm10")["kpiValue"], 40.5185);
    assert_eq!(of("pm10")["indicatorStatus"], "offTrack");
    assert_eq!(
        (
            of("ozg")["kpiValue"].clone(),
            of("ozg")["calculationMethod"].clone()
        ),
        (168.0.into(), "manual".into())
    );
    // The bicycle indicator's weekly history: 4 values, the first one the baseline week.
    let (status, h, _) = get(&app, "paderborn",
        "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:KeyPerformanceIndicator:pb-rad?attrs=https://smartdatamodels.org/dataModel.KeyPerformanceIndicator/kpiValue&options=temporalValues").await;
    assert_eq!(status, 200);
    let values = h
        .as_object()
        .unwrap()
        .iter()
        .find(|(k, _)| k.ends_with("kpiValue"))
        .unwrap()
        .1["values"]
        .clone();
    assert_eq!(values.as_array().unwrap().len(), 4, "{values}");
}

#[tokio::test]
async fn quartier_report_writes_the_demo_agendas_report() {
    let app = spawn_with(|f| f.demo = Some(true)).await;
    let out = app.dir.path().join("bericht.html");
    let args = quartier::report::ReportArgs {
        agenda: "urn:ngsi-ld:Agenda:paderborn-2030".into(),
        out: out.clone(),
        url: app.base.clone(),
        tenant: Some("paderborn".into()),
        lang: "de".into(),
        from: None,
        to: None,
        store: true,
    };
    // The demo stored and published version 1; this is the next one.
    let said = quartier::report::run(&args).await.unwrap();
    assert!(
        said.contains("/leitstelle/v1/reports/urn:ngsi-ld:ProgressReport:paderborn-2030:2"),
        "{said}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<h1>Fortschrittsbericht: Digitale Agenda Paderborn 2030</h1>"));
    // Five indicators, their trends (the bicycle one with four weekly values), the matrix and
    // the milestone timeline.
    assert_eq!(
        html.matches("<tr><td>").count(),
        5 + 6 + 6,
        "indicators, milestones, projects"
    );
    assert!(html.contains("<td>Radverkehr: Fahrten je Zählstelle und Tag</td><td>1465,11 Fahrten/Tag</td><td>1700 Fahrten/Tag</td>"), "{html}");
    assert!(html.contains("<td>Feinstaub PM10 im Tagesmittel</td><td>40,52 µg/m³</td>"));
    assert!(!html.contains("Fehler"), "no indicator in an error state");
    let second = quartier::report::run(&quartier::report::ReportArgs {
        lang: "en".into(),
        ..args
    })
    .await
    .unwrap();
    assert!(
        second.contains("ProgressReport:paderborn-2030:3"),
        "{second}"
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains("<h1>Progress report: Digitale Agenda Paderborn 2030</h1>"));
    assert!(
        html.contains("<h3>New projects</h3><p class=\"none\">none</p>"),
        "{html}"
    );
}

#[tokio::test]
async fn the_demo_publishes_its_agendas_report() {
    let app = spawn_with(|f| f.demo = Some(true)).await;
    let r = app
        .client
        .get(format!("{}/opendata/v1/catalog", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ttl = r.text().await.unwrap();
    assert_eq!(ttl.matches("a dcat:Dataset").count(), 1, "{ttl}");
    for want in [
        "dct:title \"Fortschrittsbericht Digitale Agenda Paderborn 2030 (1)\"@de",
        "foaf:name \"Stadt Paderborn (Demo)\"@de",
        "dct:spatial <http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05774032>",
        "dct:spatial <http://dcat-ap.de/def/politicalGeocoding/districtKey/05774>",
    ] {
        assert!(ttl.contains(want), "missing {want} in {ttl}");
    }
    let (status, _, _) = get(
        &app,
        "",
        "/opendata/v1/reports/paderborn/urn:ngsi-ld:ProgressReport:paderborn-2030:1.pdf",
    )
    .await;
    assert_eq!(status, 200);
}
