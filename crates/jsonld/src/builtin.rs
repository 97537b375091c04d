//! The ETSI core contexts shipped inside the crate.

use std::sync::LazyLock;

use serde_json::Value;

/// NGSI-LD core context, version 1.6.
pub const CORE_V1_6: &str = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld";
/// NGSI-LD core context, version 1.7.
pub const CORE_V1_7: &str = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld";
/// NGSI-LD core context, version 1.8.
pub const CORE_V1_8: &str = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld";
/// NGSI-LD core context, version 1.9.
pub const CORE_V1_9: &str = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld";
/// The un-versioned core context URL (its content is the v1.0-era document).
pub const CORE_UNVERSIONED: &str = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld";

/// Vocabulary used for terms nobody defined (the core contexts declare it as `@vocab`).
pub const DEFAULT_VOCAB: &str = "https://uri.etsi.org/ngsi-ld/default-context/";

/// All built-in core context URLs, oldest first.
pub const CORE_URLS: [&str; 5] = [CORE_UNVERSIONED, CORE_V1_6, CORE_V1_7, CORE_V1_8, CORE_V1_9];

/// URL, text and a short local identifier for each built-in document.
const SOURCES: [(&str, &str, &str); 5] = [
    (
        CORE_UNVERSIONED,
        include_str!("../contexts/ngsi-ld-core-context.jsonld"),
        "ngsi-ld-core-context",
    ),
    (
        CORE_V1_6,
        include_str!("../contexts/ngsi-ld-core-context-v1.6.jsonld"),
        "ngsi-ld-core-context-v1.6",
    ),
    (
        CORE_V1_7,
        include_str!("../contexts/ngsi-ld-core-context-v1.7.jsonld"),
        "ngsi-ld-core-context-v1.7",
    ),
    (
        CORE_V1_8,
        include_str!("../contexts/ngsi-ld-core-context-v1.8.jsonld"),
        "ngsi-ld-core-context-v1.8",
    ),
    (
        CORE_V1_9,
        include_str!("../contexts/ngsi-ld-core-context-v1.9.jsonld"),
        "ngsi-ld-core-context-v1.9",
    ),
];

/// Parsed documents, built on first use. A file that failed to parse (impossible for the
/// shipped files, which the tests check) is stored as `Null` and reported as absent.
static PARSED: LazyLock<Vec<Value>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|(_, text, _)| serde_json::from_str(text).unwrap_or(Value::Null))
        .collect()
});

/// The embedded document (`{"@context": {...}}`) for a core context URL, if it is one.
pub fn builtin_document(url: &str) -> Option<&'static Value> {
    let index = SOURCES.iter().position(|(u, _, _)| *u == url)?;
    PARSED.get(index).filter(|v| v.is_object())
}

/// Whether `url` names one of the built-in core contexts.
pub fn is_core_url(url: &str) -> bool {
    SOURCES.iter().any(|(u, _, _)| *u == url)
}

/// The fixed local identifier used for a built-in core context in the registry.
pub(crate) fn builtin_local_id(url: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .find(|(u, _, _)| *u == url)
        .map(|(_, _, id)| *id)
}

/// The core URL whose fixed local identifier is `id`.
pub(crate) fn builtin_url_for_local_id(id: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .find(|(_, _, i)| *i == id)
        .map(|(u, _, _)| *u)
}
