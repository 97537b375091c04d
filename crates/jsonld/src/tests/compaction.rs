//! Compaction: exact terms, default vocab, CURIEs, user vocab, fall-back to the full IRI.

use serde_json::json;

use super::offline;
use crate::{CORE_UNVERSIONED, CORE_URLS, CORE_V1_8};

#[tokio::test]
async fn compaction_cases() {
    let user = json!([
        {"schema": "https://schema.org/", "speed": "https://example.org/speed",
         "velocity": "https://example.org/speed", "sp": "https://example.org/speed",
         "ex": {"@id": "https://example.org/", "@prefix": true},
         "schema:brand": "https://other.example/brand"},
        CORE_V1_8
    ]);
    let ctx = offline().active(Some(&user)).await.unwrap();
    let cases = [
        ("https://uri.etsi.org/ngsi-ld/location", "location"),
        (
            "https://uri.etsi.org/ngsi-ld/default-context/Vehicle",
            "Vehicle",
        ),
        ("https://uri.etsi.org/ngsi-ld/default-context/name", "name"),
        // several terms for one IRI: the shortest wins
        ("https://example.org/speed", "sp"),
        ("https://schema.org/name", "schema:name"),
        // the CURIE would be a term of its own with another meaning: keep the IRI
        ("https://schema.org/brand", "https://schema.org/brand"),
        ("https://example.org/other", "ex:other"),
        ("https://nobody.example/x", "https://nobody.example/x"),
        ("urn:ngsi-ld:thing", "urn:ngsi-ld:thing"),
        ("@id", "@id"),
        // a default-vocab name that is also a term must not be stripped
        (
            "https://uri.etsi.org/ngsi-ld/default-context/location",
            "ngsi-ld:default-context/location",
        ),
    ];
    for (iri, term) in cases {
        assert_eq!(ctx.compact_iri(iri), term, "{iri}");
        assert_eq!(
            ctx.expand_term(&ctx.compact_iri(iri)),
            iri,
            "round trip of {iri}"
        );
    }
}

#[tokio::test]
async fn unversioned_and_versioned_name() {
    let reg = offline();
    let old = reg.active(Some(&json!(CORE_UNVERSIONED))).await.unwrap();
    let new = reg.active(None).await.unwrap();
    assert_eq!(old.compact_iri("https://uri.etsi.org/ngsi-ld/name"), "name");
    assert_eq!(
        new.compact_iri("https://uri.etsi.org/ngsi-ld/name"),
        "ngsi-ld:name"
    );
    assert_eq!(
        new.compact_iri("https://uri.etsi.org/ngsi-ld/default-context/name"),
        "name"
    );
}

#[tokio::test]
async fn user_vocab_compaction() {
    let ctx = offline()
        .active(Some(&json!({"@vocab": "https://example.org/v/"})))
        .await
        .unwrap();
    assert_eq!(ctx.expand_term("Car"), "https://example.org/v/Car");
    assert_eq!(ctx.compact_iri("https://example.org/v/Car"), "Car");
    assert_eq!(
        ctx.compact_iri("https://example.org/v/a:b"),
        "https://example.org/v/a:b"
    );
}

#[tokio::test]
async fn every_core_term_round_trips() {
    let reg = offline();
    for core in CORE_URLS {
        let ctx = reg.active(Some(&json!(core))).await.unwrap();
        let mut checked = 0;
        for (term, def) in ctx.terms() {
            let Some(iri) = def.iri.as_deref() else {
                continue;
            };
            if iri.starts_with('@') {
                continue;
            }
            let same_iri = ctx
                .terms()
                .filter(|(_, d)| d.iri.as_deref() == Some(iri))
                .count();
            let expanded = ctx.expand_term(term);
            assert_eq!(expanded, iri, "{term} in {core}");
            if same_iri == 1 {
                assert_eq!(ctx.compact_iri(&expanded), term, "{term} in {core}");
                checked += 1;
            }
        }
        assert!(checked > 50, "{core}: only {checked} terms checked");
    }
}
