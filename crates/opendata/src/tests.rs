use chrono::{NaiveDate, TimeZone, Utc};
use leitstelle::publish::{DEFAULT_LICENSE, Publication};
use leitstelle::report::Snapshot;

use super::*;

const BASE: &str = "https://daten.example/";

fn report(id: &str, name: &str, version: u64, published: bool) -> StoredReport {
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    StoredReport {
        id: id.into(),
        version,
        snapshot: Snapshot {
            agenda: "urn:ngsi-ld:Agenda:a".into(),
            agenda_name: name.into(),
            from: day(1, 1),
            to: day(3, 31),
            indicators: Vec::new(),
            milestones: Vec::new(),
            projects: vec![("urn:ngsi-ld:Project:p".into(), "P".into(), Some(2))],
            devices: Vec::new(),
            datasets: Vec::new(),
            ideas: vec![("urn:ngsi-ld:CitizenIdea:i".into(), 3)],
            funding_deadlines: Vec::new(),
            matrix_domains: Vec::new(),
            matrix_counts: Vec::new(),
        },
        publication: published.then(|| Publication {
            at: Utc.with_ymd_and_hms(2026, 4, 2, 9, 30, 0).unwrap(),
            license: DEFAULT_LICENSE.into(),
        }),
    }
}

fn settings() -> Settings {
    let mut s = Settings {
        district_key: Some("05774".into()),
        contact_email: Some("daten@kreis.example".into()),
        ..Settings::default()
    };
    s.tenants.insert(
        "paderborn".into(),
        TenantSettings {
            publisher: Some("Stadt Paderborn".into()),
            municipality_key: Some("05774032".into()),
            contact_email: None,
        },
    );
    s
}

#[test]
fn only_published_reports_become_datasets() {
    let reports = [
        (
            "paderborn".to_owned(),
            report("urn:ngsi-ld:ProgressReport:a:1", "Agenda", 1, true),
        ),
        (
            "paderborn".to_owned(),
            report("urn:ngsi-ld:ProgressReport:a:2", "Agenda", 2, false),
        ),
    ];
    let ttl = catalog(&settings(), BASE, &reports).turtle();
    let ds = "https://daten.example/opendata/v1/reports/paderborn/urn:ngsi-ld:ProgressReport:a:1";
    assert!(ttl.contains(&format!("dcat:dataset <{ds}>")), "{ttl}");
    assert!(!ttl.contains("ProgressReport:a:2"), "{ttl}");
    assert_eq!(ttl.matches("a dcat:Dataset").count(), 1);
    assert_eq!(ttl.matches("a dcat:Distribution").count(), 2);
    for want in [
        "dct:title \"Fortschrittsbericht Agenda (1)\"@de",
        "vom 01.01.2026 bis 31.03.2026: 0 Indikatoren mit Zielwerten und Verlauf, 0 Meilensteine, 1 Projekt.\"@de",
        &format!("dcat:downloadURL <{ds}.pdf>"),
        &format!("dcat:accessURL <{ds}.html>"),
        "dct:issued \"2026-04-02T09:30:00Z\"^^xsd:dateTime",
        "dcat:startDate \"2026-01-01\"^^xsd:date ;\n        dcat:endDate \"2026-03-31\"^^xsd:date",
        "foaf:name \"Stadt Paderborn\"@de",
        "vcard:hasEmail <mailto:daten@kreis.example>",
        "dct:spatial <http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05774032>",
        "<http://dcat-ap.de/def/politicalGeocoding/Level/municipality>",
        "dct:license <http://dcat-ap.de/def/licenses/dl-by-de/2.0>",
    ] {
        assert!(ttl.contains(want), "missing {want} in {ttl}");
    }
    // Nothing of the snapshot beyond counts, names and dates: no idea, no project id.
    assert!(!ttl.contains("CitizenIdea") && !ttl.contains("urn:ngsi-ld:Project"));
}

#[test]
fn an_empty_catalogue_is_still_a_catalogue() {
    let ttl = catalog(&Settings::default(), "http://localhost:1026", &[]).turtle();
    assert!(ttl.contains("<http://localhost:1026/opendata/v1/catalog>\n    a dcat:Catalog ;"));
    assert!(ttl.contains("foaf:homepage <http://localhost:1026/>"));
    assert!(!ttl.contains("dcat:dataset") && !ttl.contains("dct:modified"));
    assert!(!ttl.contains("dct:spatial"));
}

#[test]
fn tenants_and_names_are_escaped() {
    let reports = [
        (
            "kreis/nord".to_owned(),
            report(
                "urn:ngsi-ld:ProgressReport:x:1",
                "Agenda \"2030\"\nneu",
                1,
                true,
            ),
        ),
        (
            String::new(),
            report("urn:ngsi-ld:ProgressReport:y:1", "Y", 1, true),
        ),
    ];
    let g = catalog(&settings(), BASE, &reports);
    let ttl = g.turtle();
    assert!(ttl.contains("/opendata/v1/reports/kreis%2Fnord/urn:ngsi-ld:ProgressReport:x:1.html>"));
    assert!(ttl.contains(
        "<https://daten.example/opendata/v1/reports/urn:ngsi-ld:ProgressReport:y:1.pdf>"
    ));
    assert!(
        ttl.contains("\"Fortschrittsbericht Agenda \\\"2030\\\"\\nneu (1)\"@de"),
        "{ttl}"
    );
    // Unconfigured tenants publish under their name; the default tenant under the operator's.
    assert!(ttl.contains("foaf:name \"kreis/nord\"@de"));
    assert!(ttl.contains("#publisher>\n    a foaf:Organization ;\n    foaf:name \"Betreiber der Plattform Quartier\"@de ."));
    assert_eq!(ttl.matches("#publisher>\n").count(), 1, "{ttl}");
    // Without a municipality key the region's district key stands in.
    assert!(
        ttl.contains("<http://dcat-ap.de/def/politicalGeocoding/Level/administrativeDistrict>")
    );
    let j = g.json_ld();
    let titles: Vec<&str> = j["@graph"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["@type"][0] == "dcat:Dataset")
        .map(|n| n["dct:title"][0]["@value"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Fortschrittsbericht Agenda \"2030\"\nneu (1)",
            "Fortschrittsbericht Y (1)"
        ]
    );
}

#[test]
fn settings_are_checked() {
    assert_eq!(settings().check(), Ok(()));
    let bad = |f: &dyn Fn(&mut Settings)| {
        let mut s = settings();
        f(&mut s);
        s.check().unwrap_err()
    };
    assert!(bad(&|s| s.district_key = Some("5774".into())).contains("district-key"));
    assert!(bad(&|s| s.contact_email = Some("daten at kreis".into())).contains("contact-email"));
    assert!(bad(&|s| s.homepage = Some("ftp://x".into())).contains("homepage"));
    assert!(bad(&|s| s.title = " ".into()).contains("title"));
    assert!(
        bad(&|s| {
            s.tenants.insert(
                "t".into(),
                TenantSettings {
                    municipality_key: Some("0577403".into()),
                    ..TenantSettings::default()
                },
            );
        })
        .contains("tenant t: municipality-key")
    );
}
