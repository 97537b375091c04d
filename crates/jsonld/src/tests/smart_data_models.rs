//! Expand -> compact round trip for every term of the Smart Data Models contexts.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{MapLoader, registry};

fn sdm_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/smart-data-models/contexts"
    ))
}

#[tokio::test]
async fn smart_data_models_round_trip() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(sdm_dir())
        .expect("smart data models contexts")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonld"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the Smart Data Models contexts, found {files:?}"
    );
    let mut total = 0;
    for path in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let url = format!(
            "https://sdm.example/{}",
            path.file_name().unwrap().to_string_lossy()
        );
        let loader = MapLoader::with(&[(url.as_str(), doc.clone())]);
        let reg = registry(loader.clone());
        let ctx = reg.active(Some(&json!(url))).await.unwrap();
        let inline = reg.active(Some(&doc["@context"])).await.unwrap();
        let terms = doc["@context"].as_object().unwrap();
        let mut checked = 0;
        for term in terms.keys().filter(|t| !t.starts_with('@')) {
            let iri = ctx.expand_term(term);
            assert_eq!(iri, inline.expand_term(term), "{term} in {path:?}");
            // Only where compaction is unambiguous: exactly one term maps to this IRI.
            let owners = ctx
                .terms()
                .filter(|(_, d)| d.iri.as_deref() == Some(iri.as_str()))
                .count();
            if owners == 1 && !iri.starts_with('@') {
                assert_eq!(ctx.compact_iri(&iri), *term, "{term} in {path:?}");
                checked += 1;
            }
        }
        assert!(
            checked * 10 >= terms.len() * 8,
            "{path:?}: only {checked} of {}",
            terms.len()
        );
        assert_eq!(loader.calls(&url), 1);
        total += checked;
    }
    assert!(total > 1000, "{total}");
}
