//! The `/jsonldContexts` store: list, get, add, delete, reload, hits, persistence.

use std::sync::atomic::Ordering;

use serde_json::json;

use super::{MapLoader, offline, registry};
use crate::{CORE_V1_6, CORE_V1_8, ContextKind, JsonLdError};

const BASE: &str = "http://broker.example/ngsi-ld/v1/jsonldContexts";

fn minimal() -> serde_json::Value {
    json!({"@context": {"A1": "urn:ngsi-ld:attributes:A1", "A2": "urn:ngsi-ld:attributes:A2"}})
}

#[tokio::test]
async fn empty_registry_lists_only_the_default_core() {
    let reg = offline();
    assert_eq!(reg.list_urls(None), vec![CORE_V1_8.to_owned()]);
    assert!(reg.list(Some(ContextKind::Hosted)).is_empty());
    assert!(reg.list(Some(ContextKind::ImplicitlyCreated)).is_empty());
    let core = &reg.list(Some(ContextKind::Cached))[0];
    assert_eq!(core.local_id, "ngsi-ld-core-context-v1.8");
    let details = core.to_json();
    let keys: Vec<&str> = details
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "URL",
            "localId",
            "kind",
            "createdAt",
            "numberOfHits",
            "extraInfo"
        ]
    );
    assert!(details["createdAt"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn hosted_add_get_use_delete() {
    let reg = offline();
    let info = reg
        .add_hosted(minimal(), &format!("{BASE}/"))
        .await
        .unwrap();
    assert_eq!(info.kind, ContextKind::Hosted);
    assert_eq!(info.url, format!("{BASE}/{}", info.local_id));
    assert_eq!(info.number_of_hits, 0);
    assert_eq!(
        reg.list_urls(Some(ContextKind::Hosted)),
        vec![info.url.clone()]
    );
    // Served unchanged, by local id or URL; each serve counts.
    assert_eq!(reg.get(&info.local_id).unwrap(), minimal());
    assert_eq!(reg.get(&info.url).unwrap(), minimal());
    assert_eq!(reg.info(&info.local_id).unwrap().number_of_hits, 2);
    // Referencing it by URL resolves without the loader and counts a use.
    let ctx = reg.active(Some(&json!(info.url))).await.unwrap();
    assert_eq!(ctx.expand_term("A1"), "urn:ngsi-ld:attributes:A1");
    let details = reg.info(&info.url).unwrap();
    assert_eq!(details.number_of_hits, 3);
    assert!(details.last_usage.is_some());
    // No reload for a Hosted entry.
    assert!(matches!(
        reg.delete(&info.local_id, true).await,
        Err(JsonLdError::Forbidden(_))
    ));
    reg.delete(&info.local_id, false).await.unwrap();
    assert!(reg.get(&info.local_id).is_none());
    assert_eq!(
        reg.delete(&info.local_id, false).await,
        Err(JsonLdError::NotFound(info.local_id.clone()))
    );
    // After deletion the URL is unknown again (memo flushed).
    assert!(reg.active(Some(&json!(info.url))).await.is_err());
}

#[tokio::test]
async fn invalid_hosted_payloads() {
    let reg = offline();
    let bad = [
        json!({"A1": "urn:a"}),
        json!([{"@context": {}}]),
        json!({"@context": 5}),
        json!({"@context": {"A1": 5}}),
        // Relative references cannot be resolved: there is no base IRI.
        json!({"@context": ["/api/v1/context.jsonld"]}),
    ];
    for body in bad {
        assert!(
            matches!(
                reg.add_hosted(body.clone(), BASE).await,
                Err(JsonLdError::Invalid(_))
            ),
            "{body}"
        );
    }
    assert!(reg.list(Some(ContextKind::Hosted)).is_empty());
    // A referenced context that cannot be downloaded does not prevent hosting.
    reg.add_hosted(
        json!({"@context": ["https://not.reachable.example/ctx"]}),
        BASE,
    )
    .await
    .unwrap();
    assert_eq!(reg.list(Some(ContextKind::Hosted)).len(), 1);
    assert!(
        reg.list(Some(ContextKind::Cached)).len() == 1,
        "only the core"
    );
}

#[tokio::test]
async fn hosted_contexts_keep_only_the_context_and_cache_what_they_reference() {
    let a = "https://ctx.example/a.jsonld";
    let b = "https://ctx.example/b.jsonld";
    let loader = MapLoader::with(&[
        (a, json!({"@context": {"a": "urn:a"}})),
        (b, json!({"@context": {"b": "urn:b"}})),
    ]);
    let reg = registry(loader.clone());
    let info = reg
        .add_hosted(
            json!({"@context": [a, b], "id": "discarded", "other": {"x": 1}}),
            BASE,
        )
        .await
        .unwrap();
    // Clause 5.13.2.3: everything outside @context is discarded.
    assert_eq!(
        reg.get(&info.local_id).unwrap(),
        json!({"@context": [a, b]})
    );
    // The referenced contexts were downloaded once and are Cached entries now.
    for url in [a, b] {
        assert_eq!(reg.info(url).unwrap().kind, ContextKind::Cached);
        assert_eq!(loader.calls(url), 1);
    }
    // Using the hosted context needs no further download.
    let ctx = reg.active(Some(&json!(info.url))).await.unwrap();
    assert_eq!(ctx.expand_term("b"), "urn:b");
    assert_eq!(loader.total.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn hits_count_uses_and_serves_not_metadata_reads() {
    let reg = offline();
    let info = reg.add_hosted(minimal(), BASE).await.unwrap();
    assert_eq!(info.number_of_hits, 0);
    assert!(info.last_usage.is_none());
    for _ in 0..3 {
        assert_eq!(reg.info(&info.local_id).unwrap().number_of_hits, 0);
    }
    reg.active(Some(&json!([info.url.clone(), {"A3": "urn:a3"}])))
        .await
        .unwrap();
    assert_eq!(reg.info(&info.url).unwrap().number_of_hits, 1);
    reg.get(&info.local_id).unwrap();
    assert_eq!(reg.info(&info.url).unwrap().number_of_hits, 2);
}

#[tokio::test]
async fn relative_context_references_are_invalid_not_unavailable() {
    let loader = MapLoader::with(&[]);
    let reg = registry(loader.clone());
    for local in [json!("/api/v1/context.jsonld"), json!(["ctx.jsonld"])] {
        assert!(
            matches!(reg.active(Some(&local)).await, Err(JsonLdError::Invalid(_))),
            "{local}"
        );
    }
    assert_eq!(loader.total.load(Ordering::SeqCst), 0);
    // A path-absolute reference names a @context this broker hosts (the request's base is
    // the broker), whatever host name the hosted entry's URL was built with.
    let hosted = reg.add_hosted(minimal(), BASE).await.unwrap();
    let path = format!("/ngsi-ld/v1/jsonldContexts/{}", hosted.local_id);
    let ctx = reg.active(Some(&json!(path))).await.unwrap();
    assert_eq!(ctx.expand_term("A1"), "urn:ngsi-ld:attributes:A1");
    reg.active(Some(&json!([path.clone(), {"B": "urn:b"}])))
        .await
        .unwrap();
    assert_eq!(reg.info(&hosted.local_id).unwrap().number_of_hits, 2);
    for wrong in [
        format!("/other/{}", hosted.local_id),
        format!("ngsi-ld/v1/jsonldContexts/{}", hosted.local_id),
        "/ngsi-ld/v1/jsonldContexts/unknown".to_owned(),
    ] {
        assert!(
            matches!(
                reg.active(Some(&json!(wrong))).await,
                Err(JsonLdError::Invalid(_))
            ),
            "{wrong}"
        );
    }
    // Cached entries are found by their original URL only.
    let url = "https://ctx.example/p.jsonld";
    loader.set(url, Some(json!({"@context": {"p": "urn:p"}})));
    reg.active(Some(&json!(url))).await.unwrap();
    let cached = reg.info(url).unwrap();
    assert!(
        reg.active(Some(&json!(format!("/p.jsonld/{}", cached.local_id))))
            .await
            .is_err()
    );
    reg.delete(&hosted.local_id, false).await.unwrap();
    assert!(reg.active(Some(&json!(path))).await.is_err());
    // Any scheme is a URL reference (whether it can be loaded is the loader's business).
    assert!(matches!(
        reg.active(Some(&json!("urn:x:ctx"))).await,
        Err(JsonLdError::NotAvailable { .. })
    ));
}

#[tokio::test]
async fn cached_entries_hits_delete_and_reload() {
    let url = "https://ctx.example/c.jsonld";
    let loader = MapLoader::with(&[(
        url,
        json!({"@context": {"speed": "https://ctx.example/speed"}}),
    )]);
    let reg = registry(loader.clone());
    reg.active(Some(&json!([url]))).await.unwrap();
    let info = reg.info(url).unwrap();
    assert_eq!(info.kind, ContextKind::Cached);
    assert_eq!(info.number_of_hits, 1);
    reg.active(Some(&json!([url]))).await.unwrap();
    reg.active(Some(&json!(url))).await.unwrap();
    assert_eq!(reg.info(url).unwrap().number_of_hits, 3);
    assert_eq!(loader.calls(url), 1);
    assert_eq!(
        reg.list_urls(Some(ContextKind::Cached)),
        vec![CORE_V1_8.to_owned(), url.to_owned()]
    );

    // Reload replaces the stored copy with the new download.
    loader.set(
        url,
        Some(json!({"@context": {"speed": "https://ctx.example/v2/speed"}})),
    );
    reg.delete(url, true).await.unwrap();
    assert_eq!(loader.calls(url), 2);
    let ctx = reg.active(Some(&json!(url))).await.unwrap();
    assert_eq!(ctx.expand_term("speed"), "https://ctx.example/v2/speed");
    assert_eq!(reg.info(url).unwrap().local_id, info.local_id);

    // Reload failure: LdContextNotAvailable and the old copy stays.
    loader.set(url, None);
    assert!(matches!(
        reg.delete(url, true).await,
        Err(JsonLdError::NotAvailable { .. })
    ));
    loader.set(url, Some(json!({"not": "a context"})));
    assert!(matches!(
        reg.delete(&info.local_id, true).await,
        Err(JsonLdError::NotAvailable { .. })
    ));
    assert!(reg.get(url).is_some());

    // Plain delete: gone, fetched again on the next use.
    loader.set(
        url,
        Some(json!({"@context": {"speed": "https://ctx.example/v3/speed"}})),
    );
    reg.delete(url, false).await.unwrap();
    assert!(reg.info(url).is_none());
    let ctx = reg.active(Some(&json!(url))).await.unwrap();
    assert_eq!(ctx.expand_term("speed"), "https://ctx.example/v3/speed");
    assert_ne!(reg.info(url).unwrap().local_id, info.local_id);
    assert_eq!(loader.calls(url), 5);
}

#[tokio::test]
async fn core_contexts_cannot_be_deleted_but_reload_is_accepted() {
    let loader = MapLoader::with(&[]);
    let reg = registry(loader.clone());
    assert!(matches!(
        reg.delete(CORE_V1_8, false).await,
        Err(JsonLdError::Forbidden(_))
    ));
    assert!(matches!(
        reg.delete("ngsi-ld-core-context-v1.8", false).await,
        Err(JsonLdError::Forbidden(_))
    ));
    reg.delete(CORE_V1_8, true).await.unwrap();
    // Other core versions: retrievable on demand, then listed.
    let doc = reg.get(CORE_V1_6).unwrap();
    assert!(doc["@context"].is_object());
    assert_eq!(reg.info(CORE_V1_6).unwrap().kind, ContextKind::Cached);
    assert!(reg.list_urls(None).contains(&CORE_V1_6.to_owned()));
    assert_eq!(loader.total.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn unknown_ids() {
    let reg = offline();
    assert_eq!(
        reg.delete("1234567890", false).await,
        Err(JsonLdError::NotFound("1234567890".into()))
    );
    assert!(matches!(
        reg.delete("wrong_id_context", true).await,
        Err(JsonLdError::Forbidden(_))
    ));
    assert!(reg.get("wrong_id_context").is_none());
    assert!(reg.info("wrong_id_context").is_none());
}

#[tokio::test]
async fn implicitly_created_contexts() {
    let reg = offline();
    let local = json!(["https://a.example/ctx", {"x": "urn:x"}]);
    let info = reg.add_implicit(&local, BASE);
    assert_eq!(info.kind, ContextKind::ImplicitlyCreated);
    assert_eq!(info.url, format!("{BASE}/{}", info.local_id));
    // The request that made the broker create it is its first use.
    assert_eq!(info.number_of_hits, 1);
    assert!(info.last_usage.is_some());
    let again = reg.add_implicit(&local, BASE);
    assert_eq!(again.local_id, info.local_id);
    assert_eq!(again.number_of_hits, 2);
    assert_ne!(
        reg.add_implicit(&json!(["https://a.example/ctx"]), BASE)
            .local_id,
        info.local_id
    );
    assert_eq!(reg.list(Some(ContextKind::ImplicitlyCreated)).len(), 2);
    assert!(
        reg.list_urls(Some(ContextKind::ImplicitlyCreated))
            .contains(&info.url)
    );
    assert_eq!(reg.get(&info.local_id).unwrap(), json!({"@context": local}));
    assert_eq!(reg.info(&info.local_id).unwrap().number_of_hits, 3);
    assert!(matches!(
        reg.delete(&info.local_id, true).await,
        Err(JsonLdError::Forbidden(_))
    ));
    reg.delete(&info.url, false).await.unwrap();
    assert_eq!(reg.list(Some(ContextKind::ImplicitlyCreated)).len(), 1);
}

#[tokio::test]
async fn export_and_import() {
    let reg = offline();
    let hosted = reg.add_hosted(minimal(), BASE).await.unwrap();
    let implicit = reg.add_implicit(&json!({"y": "urn:y"}), BASE);
    reg.get(&hosted.local_id);
    let exported = reg.export_hosted();
    assert_eq!(exported.as_array().unwrap().len(), 2);

    let other = offline();
    other.import_hosted(exported.clone()).unwrap();
    let restored = other.info(&hosted.url).unwrap();
    assert_eq!(restored.local_id, hosted.local_id);
    assert_eq!(restored.kind, ContextKind::Hosted);
    assert_eq!(restored.number_of_hits, 1);
    assert_eq!(
        other.info(&implicit.local_id).unwrap().kind,
        ContextKind::ImplicitlyCreated
    );
    assert_eq!(other.get(&hosted.local_id).unwrap(), minimal());
    let ctx = other.active(Some(&json!(hosted.url))).await.unwrap();
    assert_eq!(ctx.expand_term("A2"), "urn:ngsi-ld:attributes:A2");

    assert!(other.import_hosted(json!({"not": "an array"})).is_err());
    assert!(
        other
            .import_hosted(
                json!([{"URL": "u", "localId": "l", "kind": "Cached", "body": minimal()}])
            )
            .is_err()
    );
    assert!(
        other
            .import_hosted(
                json!([{"URL": "u", "localId": "l", "kind": "Hosted", "body": {"@context": 3}}])
            )
            .is_err()
    );
}

#[test]
fn kind_parsing() {
    for kind in [
        ContextKind::Hosted,
        ContextKind::Cached,
        ContextKind::ImplicitlyCreated,
    ] {
        assert_eq!(kind.as_str().parse::<ContextKind>(), Ok(kind));
    }
    assert!("other".parse::<ContextKind>().is_err());
    assert!("hosted".parse::<ContextKind>().is_err());
}

#[tokio::test]
async fn stale_cached_entries_are_evicted() {
    let url = "https://ctx.example/e.jsonld";
    let loader = MapLoader::with(&[(url, json!({"@context": {"e": "urn:e"}}))]);
    let reg = registry(loader.clone());
    reg.active(Some(&json!(url))).await.unwrap();
    assert_eq!(reg.evict_cached_older_than(chrono::Duration::hours(1)), 0);
    assert_eq!(
        reg.evict_cached_older_than(chrono::Duration::zero() - chrono::Duration::seconds(1)),
        1
    );
    assert!(reg.info(url).is_none());
    assert!(reg.info(CORE_V1_8).is_some());
    reg.active(Some(&json!(url))).await.unwrap();
    assert_eq!(loader.calls(url), 2);
}

#[tokio::test]
async fn clones_share_state() {
    let reg = offline();
    let clone = reg.clone();
    let info = clone.add_hosted(minimal(), BASE).await.unwrap();
    assert!(reg.info(&info.local_id).is_some());
    let handle =
        tokio::spawn(async move { clone.active(None).await.map(|c| c.core_url().to_owned()) });
    assert_eq!(handle.await.unwrap().unwrap(), CORE_V1_8);
}
