//! The operations behind the `/jsonldContexts` API (clause 5.13) and persistence helpers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::error::JsonLdError;
use crate::info::{ContextInfo, ContextKind};
use crate::process::validate;
use crate::registry::ContextRegistry;
use crate::state::Entry;

fn serving_url(base_url: &str, local_id: &str) -> String {
    format!("{}/{}", base_url.trim_end_matches('/'), local_id)
}

fn new_local_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl ContextRegistry {
    /// Details of every stored `@context`, optionally only of one kind, oldest first.
    /// The default core context is always listed (as a built-in `Cached` entry).
    pub fn list(&self, kind: Option<ContextKind>) -> Vec<ContextInfo> {
        let state = self.state();
        let mut infos: Vec<ContextInfo> = state
            .entries
            .values()
            .filter(|e| kind.is_none_or(|k| e.kind == k))
            .map(Entry::info)
            .collect();
        infos.sort_by(|a, b| (a.created_at, &a.local_id).cmp(&(b.created_at, &b.local_id)));
        infos
    }

    /// The `details=false` list: just the URLs, in the order of [`list`](Self::list).
    pub fn list_urls(&self, kind: Option<ContextKind>) -> Vec<String> {
        self.list(kind).into_iter().map(|info| info.url).collect()
    }

    /// The stored document (`{"@context": ...}`) for a local id or URL; counts a hit.
    ///
    /// Works for every kind, built-in core contexts included; the API refuses to serve a
    /// `Cached` entry (clause 5.13.4.4: OperationNotSupported) by checking
    /// [`info`](Self::info) first.
    pub fn get(&self, id_or_url: &str) -> Option<Value> {
        let id = self.find(id_or_url)?;
        let mut state = self.state();
        let entry = state.entries.get_mut(&id)?;
        entry.hits += 1;
        entry.last_usage = Some(Utc::now());
        Some(entry.document.as_ref().clone())
    }

    /// Details of one entry, without counting a hit: looking at an entry's metadata is not
    /// a use of the @context (`numberOfHits` counts requests that used or were served it).
    pub fn info(&self, id_or_url: &str) -> Option<ContextInfo> {
        let id = self.find(id_or_url)?;
        self.state().entries.get(&id).map(Entry::info)
    }

    /// Stores a client-supplied `@context` (body of `POST /jsonldContexts`) as `Hosted`.
    ///
    /// The body must be an object with a `@context` member (clause 5.13.2.3); everything
    /// outside that member is discarded. The context is then processed like a request's
    /// context (clause 5.13.2.4 applies the JSON-LD validation of 5.5.4): an invalid term
    /// definition is refused, and the remote contexts it references are downloaded and
    /// stored as `Cached` entries right away. A referenced context that cannot be obtained
    /// does not prevent hosting (it is tried again when the hosted context is used).
    /// The entry is served at `base_url + "/" + localId`.
    pub async fn add_hosted(
        &self,
        document: Value,
        base_url: &str,
    ) -> Result<ContextInfo, JsonLdError> {
        let Value::Object(mut obj) = document else {
            return Err(JsonLdError::Invalid(
                "the payload must be a JSON object".into(),
            ));
        };
        let inner = obj
            .remove("@context")
            .ok_or_else(|| JsonLdError::Invalid("the payload has no @context member".into()))?;
        validate(&inner)?;
        match self.active(Some(&inner)).await {
            Ok(_) | Err(JsonLdError::NotAvailable { .. }) => {}
            Err(e) => return Err(e),
        }
        Ok(self.store(
            json!({ "@context": inner }),
            base_url,
            ContextKind::Hosted,
            0,
        ))
    }

    /// Stores an inline `@context` a client sent (object or array) as `ImplicitlyCreated`,
    /// so that it can be referenced by URL (clause 5.13.1: e.g. a subscription whose
    /// notifications carry the context in a Link header). The same context stored twice
    /// gives back the existing entry.
    ///
    /// The call counts as one use of the entry (like the request that first downloads a
    /// remote context counts a hit on the new `Cached` entry): the request that makes the
    /// broker create or look up the entry is the one using it.
    pub fn add_implicit(&self, local: &Value, base_url: &str) -> ContextInfo {
        let document = json!({ "@context": local });
        {
            let mut state = self.state();
            let existing = state.entries.values_mut().find(|e| {
                e.kind == ContextKind::ImplicitlyCreated && e.document.as_ref() == &document
            });
            if let Some(entry) = existing {
                entry.hits += 1;
                entry.last_usage = Some(Utc::now());
                return entry.info();
            }
        }
        self.store(document, base_url, ContextKind::ImplicitlyCreated, 1)
    }

    fn store(&self, document: Value, base_url: &str, kind: ContextKind, hits: u64) -> ContextInfo {
        let local_id = new_local_id();
        let now = Utc::now();
        let entry = Entry {
            url: serving_url(base_url, &local_id),
            local_id,
            kind,
            created_at: now,
            last_usage: (hits > 0).then_some(now),
            hits,
            document: Arc::new(document),
            builtin: false,
        };
        let info = entry.info();
        self.state().insert(entry);
        info
    }

    /// `DELETE /jsonldContexts/{id}` (clause 5.13.5).
    ///
    /// * unknown id: `NotFound`, or `Forbidden` when `reload` is asked (nothing to reload);
    /// * built-in core context: `Forbidden` without reload; with reload a no-op success
    ///   (the embedded copy is authoritative and is never downloaded);
    /// * `reload` on a non-`Cached` entry: `Forbidden`;
    /// * `reload` on a `Cached` entry: downloads it again through the loader and replaces the
    ///   stored copy; on failure `NotAvailable` and the old copy stays;
    /// * otherwise the entry is removed (a `Cached` one is fetched again on next use).
    pub async fn delete(&self, id_or_url: &str, reload: bool) -> Result<(), JsonLdError> {
        let Some(id) = self.find(id_or_url) else {
            return Err(if reload {
                JsonLdError::Forbidden(format!("{id_or_url} is not a stored Cached @context"))
            } else {
                JsonLdError::NotFound(id_or_url.to_owned())
            });
        };
        let (kind, builtin, url) = {
            let state = self.state();
            let entry = state
                .entries
                .get(&id)
                .ok_or_else(|| JsonLdError::NotFound(id_or_url.to_owned()))?;
            (entry.kind, entry.builtin, entry.url.clone())
        };
        match (builtin, reload, kind) {
            (true, true, _) => Ok(()),
            (true, false, _) => Err(JsonLdError::Forbidden(format!(
                "the core @context {url} cannot be deleted"
            ))),
            (false, true, ContextKind::Cached) => self.reload(&id, &url).await,
            (false, true, other) => Err(JsonLdError::Forbidden(format!(
                "reload is only possible for Cached @contexts, {url} is {other}"
            ))),
            (false, false, _) => {
                self.remove(&id);
                Ok(())
            }
        }
    }

    /// Drops `Cached` entries (not the built-in ones) downloaded more than `max_age` ago, so
    /// that they are fetched again on next use. Returns how many were dropped.
    pub fn evict_cached_older_than(&self, max_age: chrono::Duration) -> usize {
        let limit = Utc::now() - max_age;
        let stale: Vec<String> = self
            .state()
            .entries
            .values()
            .filter(|e| e.kind == ContextKind::Cached && !e.builtin && e.created_at < limit)
            .map(|e| e.local_id.clone())
            .collect();
        stale.iter().for_each(|id| self.remove(id));
        stale.len()
    }

    /// All `Hosted` and `ImplicitlyCreated` entries as a JSON array (details plus `body`),
    /// for the broker to persist; [`import_hosted`](Self::import_hosted) reads it back.
    pub fn export_hosted(&self) -> Value {
        let state = self.state();
        let mut entries: Vec<&Entry> = state
            .entries
            .values()
            .filter(|e| e.kind != ContextKind::Cached)
            .collect();
        entries.sort_by(|a, b| (a.created_at, &a.local_id).cmp(&(b.created_at, &b.local_id)));
        Value::Array(
            entries
                .into_iter()
                .map(|e| {
                    let mut v = e.info().to_json();
                    if let Some(obj) = v.as_object_mut() {
                        obj.insert("body".into(), e.document.as_ref().clone());
                    }
                    v
                })
                .collect(),
        )
    }

    /// Restores entries written by [`export_hosted`](Self::export_hosted). Everything is
    /// checked before anything is stored; entries with the same local id are replaced.
    pub fn import_hosted(&self, v: Value) -> Result<(), JsonLdError> {
        let Value::Array(items) = v else {
            return Err(JsonLdError::Invalid("export must be a JSON array".into()));
        };
        let mut parsed = Vec::with_capacity(items.len());
        for item in items {
            parsed.push(parse_export_item(item)?);
        }
        let mut state = self.state();
        parsed.into_iter().for_each(|entry| state.insert(entry));
        drop(state);
        self.forget_memo();
        Ok(())
    }
}

fn parse_export_item(item: Value) -> Result<Entry, JsonLdError> {
    let bad = |what: &str| JsonLdError::Invalid(format!("exported @context entry: {what}"));
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let url = text("URL").ok_or_else(|| bad("missing URL"))?;
    let local_id = text("localId").ok_or_else(|| bad("missing localId"))?;
    let kind: ContextKind = text("kind")
        .ok_or_else(|| bad("missing kind"))?
        .parse()
        .map_err(|e: String| bad(&e))?;
    if kind == ContextKind::Cached {
        return Err(bad("Cached entries are not exported"));
    }
    let time = |key: &str| -> Result<Option<DateTime<Utc>>, JsonLdError> {
        text(key)
            .map(|t| DateTime::parse_from_rfc3339(&t).map(|d| d.with_timezone(&Utc)))
            .transpose()
            .map_err(|_| bad(&format!("{key} is not a DateTime")))
    };
    let created_at = time("createdAt")?.unwrap_or_else(Utc::now);
    let last_usage = time("lastUsage")?;
    let hits = item
        .get("numberOfHits")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let body = item
        .get("body")
        .cloned()
        .ok_or_else(|| bad("missing body"))?;
    validate(
        body.get("@context")
            .ok_or_else(|| bad("body has no @context"))?,
    )?;
    Ok(Entry {
        local_id,
        url,
        kind,
        created_at,
        last_usage,
        hits,
        document: Arc::new(body),
        builtin: false,
    })
}
