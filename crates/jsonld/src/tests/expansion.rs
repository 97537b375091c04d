//! Expansion against each core context, user terms, CURIEs, @vocab, arrays, protection.

use serde_json::{Value, json};

use super::{MapLoader, offline, registry};
use crate::{
    CORE_UNVERSIONED, CORE_URLS, CORE_V1_6, CORE_V1_7, CORE_V1_8, CORE_V1_9, JsonLdError,
    builtin_document,
};

const NGSI: &str = "https://uri.etsi.org/ngsi-ld/";
const DEFAULT: &str = "https://uri.etsi.org/ngsi-ld/default-context/";

#[test]
fn every_builtin_document_parses() {
    for url in CORE_URLS {
        let doc = builtin_document(url).expect(url);
        assert!(doc["@context"].is_object(), "{url}");
    }
    assert!(builtin_document("https://example.org/ctx.jsonld").is_none());
}

#[tokio::test]
async fn core_terms_per_version() {
    // (core, term, expected IRI)
    let cases: &[(&str, &str, String)] = &[
        (CORE_V1_6, "location", format!("{NGSI}location")),
        (CORE_V1_7, "location", format!("{NGSI}location")),
        (CORE_V1_8, "location", format!("{NGSI}location")),
        (CORE_V1_9, "location", format!("{NGSI}location")),
        (CORE_UNVERSIONED, "location", format!("{NGSI}location")),
        (CORE_UNVERSIONED, "name", format!("{NGSI}name")),
        (CORE_V1_8, "name", format!("{DEFAULT}name")),
        (CORE_V1_9, "name", format!("{DEFAULT}name")),
        (
            CORE_UNVERSIONED,
            "description",
            format!("{NGSI}description"),
        ),
        (
            CORE_V1_8,
            "description",
            "http://purl.org/dc/terms/description".into(),
        ),
        (CORE_V1_6, "Property", format!("{NGSI}Property")),
        (CORE_V1_9, "observedAt", format!("{NGSI}observedAt")),
        (
            CORE_V1_9,
            "Point",
            "https://purl.org/geojson/vocab#Point".into(),
        ),
        (CORE_V1_9, "jsonldContext", format!("{NGSI}jsonldContext")),
        (CORE_V1_8, "id", "@id".into()),
        (CORE_V1_8, "type", "@type".into()),
        (CORE_V1_8, "@context", "@context".into()),
        (CORE_V1_8, "Vehicle", format!("{DEFAULT}Vehicle")),
        (
            CORE_V1_8,
            "https://example.org/speed",
            "https://example.org/speed".into(),
        ),
        (CORE_V1_8, "urn:ngsi-ld:attr", "urn:ngsi-ld:attr".into()),
        (CORE_V1_8, "ngsi-ld:foo", format!("{NGSI}foo")),
        (
            CORE_V1_8,
            "geojson:Polygon",
            "https://purl.org/geojson/vocab#Polygon".into(),
        ),
    ];
    let reg = offline();
    for (core, term, expected) in cases {
        let ctx = reg.active(Some(&json!(core))).await.unwrap();
        assert_eq!(ctx.core_url(), *core);
        assert_eq!(&ctx.expand_term(term), expected, "{term} with {core}");
    }
}

#[tokio::test]
async fn term_definitions_carry_type_and_container() {
    let ctx = offline().active(None).await.unwrap();
    let observed = ctx.term("observedAt").unwrap();
    assert_eq!(
        observed.type_mapping.as_deref(),
        Some("https://uri.etsi.org/ngsi-ld/DateTime")
    );
    assert_eq!(
        ctx.term("object").unwrap().type_mapping.as_deref(),
        Some("@id")
    );
    assert_eq!(
        ctx.term("vocab").unwrap().type_mapping.as_deref(),
        Some("@vocab")
    );
    assert!(ctx.term("ngsi-ld").unwrap().prefix);
    assert!(ctx.term("location").unwrap().protected);
    let v19 = offline().active(Some(&json!(CORE_V1_9))).await.unwrap();
    assert!(v19.term("ngsildproof").unwrap().scoped_context.is_some());
}

#[tokio::test]
async fn user_terms_curies_vocab_and_arrays() {
    let user = json!([
        {"schema": "https://schema.org/", "speed": "https://example.org/speed",
         "brand": {"@id": "schema:brand", "@type": "@vocab"}, "gone": null},
        {"@vocab": "https://example.org/vocab/", "owner": {"@type": "@id"}},
        CORE_V1_8
    ]);
    let ctx = offline().active(Some(&user)).await.unwrap();
    let cases = [
        ("speed", "https://example.org/speed"),
        ("schema:name", "https://schema.org/name"),
        ("brand", "https://schema.org/brand"),
        ("owner", "https://example.org/vocab/owner"),
        ("Car", "https://example.org/vocab/Car"),
        ("location", "https://uri.etsi.org/ngsi-ld/location"),
        ("unknown:thing", "unknown:thing"),
    ];
    for (term, iri) in cases {
        assert_eq!(ctx.expand_term(term), iri, "{term}");
    }
    assert_eq!(
        ctx.term("brand").unwrap().type_mapping.as_deref(),
        Some("@vocab")
    );
    assert_eq!(
        ctx.term("owner").unwrap().type_mapping.as_deref(),
        Some("@id")
    );
    assert_eq!(ctx.try_expand_term("gone"), None);
    assert_eq!(ctx.vocab(), "https://example.org/vocab/");
}

#[tokio::test]
async fn core_terms_cannot_be_overridden() {
    let user = json!({"location": "https://example.org/myLocation", "type": "https://example.org/t",
                      "name": "https://example.org/name"});
    let ctx = offline().active(Some(&user)).await.unwrap();
    assert_eq!(
        ctx.expand_term("location"),
        "https://uri.etsi.org/ngsi-ld/location"
    );
    assert_eq!(ctx.expand_term("type"), "@type");
    // v1.8 does not define `name`, so the user may.
    assert_eq!(ctx.expand_term("name"), "https://example.org/name");
    // The core may be named anywhere in the array: it still applies last.
    let first = json!([CORE_V1_6, {"location": "https://example.org/x"}]);
    let ctx = offline().active(Some(&first)).await.unwrap();
    assert_eq!(ctx.core_url(), CORE_V1_6);
    assert_eq!(
        ctx.expand_term("location"),
        "https://uri.etsi.org/ngsi-ld/location"
    );
}

#[tokio::test]
async fn protected_user_terms_survive_later_user_contexts() {
    let user = json!([
        {"@protected": true, "speed": "https://a.example/speed"},
        {"speed": "https://b.example/speed"}
    ]);
    let ctx = offline().active(Some(&user)).await.unwrap();
    assert_eq!(ctx.expand_term("speed"), "https://a.example/speed");
}

#[tokio::test]
async fn nested_remote_contexts_are_loaded_once() {
    let loader = MapLoader::with(&[
        (
            "https://a.example/ctx",
            json!({"@context": ["https://b.example/ctx", {"a": "https://a.example/a"}]}),
        ),
        (
            "https://b.example/ctx",
            json!({"@context": {"b": "https://b.example/b", "ex": "https://ex.example/"}}),
        ),
        (
            "https://c.example/ctx",
            json!({"@context": {"@import": "https://b.example/ctx", "c": "ex:c"}}),
        ),
    ]);
    let reg = registry(loader.clone());
    for _ in 0..3 {
        let ctx = reg
            .active(Some(&json!("https://a.example/ctx")))
            .await
            .unwrap();
        assert_eq!(ctx.expand_term("a"), "https://a.example/a");
        assert_eq!(ctx.expand_term("b"), "https://b.example/b");
    }
    // A different request text referencing the same URLs: resolved from the cache.
    let ctx = reg
        .active(Some(&json!([
            "https://b.example/ctx",
            "https://a.example/ctx",
            "https://c.example/ctx"
        ])))
        .await
        .unwrap();
    assert_eq!(ctx.expand_term("c"), "https://ex.example/c");
    assert_eq!(loader.calls("https://a.example/ctx"), 1);
    assert_eq!(loader.calls("https://b.example/ctx"), 1);
    assert_eq!(loader.calls("https://c.example/ctx"), 1);
}

#[tokio::test]
async fn failures() {
    let loader = MapLoader::with(&[
        (
            "https://loop.example/1",
            json!({"@context": "https://loop.example/2"}),
        ),
        (
            "https://loop.example/2",
            json!({"@context": ["https://loop.example/1"]}),
        ),
        ("https://bad.example/doc", json!({"no": "context"})),
    ]);
    let reg = registry(loader);
    let err = reg
        .active(Some(&json!("https://nowhere.example/ctx")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, JsonLdError::NotAvailable { ref url, .. } if url == "https://nowhere.example/ctx")
    );
    let invalid: Vec<Value> = vec![
        json!(42),
        json!(true),
        json!({"speed": 3}),
        json!({"speed": ["x"]}),
        json!({"speed": {"@id": 3}}),
        json!({"speed": {"@type": "@nonsense"}}),
        json!({"@version": 2}),
        json!({"@vocab": 1}),
        json!({"a": "b:x", "b": "a:y"}),
        json!([[{}]]),
        json!("https://loop.example/1"),
        json!("https://bad.example/doc"),
    ];
    for local in invalid {
        let err = reg.active(Some(&local)).await.unwrap_err();
        assert!(
            matches!(err, JsonLdError::Invalid(_)),
            "{local} gave {err:?}"
        );
    }
}

#[tokio::test]
async fn deep_nesting_is_limited() {
    let docs: Vec<(String, Value)> = (0..20)
        .map(|i| {
            (
                format!("https://deep.example/{i}"),
                json!({"@context": format!("https://deep.example/{}", i + 1)}),
            )
        })
        .collect();
    let refs: Vec<(&str, Value)> = docs.iter().map(|(u, d)| (u.as_str(), d.clone())).collect();
    let reg = registry(MapLoader::with(&refs));
    let err = reg
        .active(Some(&json!("https://deep.example/0")))
        .await
        .unwrap_err();
    assert!(matches!(err, JsonLdError::Invalid(_)), "{err:?}");
}
