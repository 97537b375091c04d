//! The stored entries of the registry and their indexes.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::builtin::{builtin_document, builtin_local_id, builtin_url_for_local_id, is_core_url};
use crate::info::{ContextInfo, ContextKind};

/// All stored entries, by local id, plus an index by URL.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) entries: HashMap<String, Entry>,
    pub(crate) by_url: HashMap<String, String>,
}

/// One stored `@context`.
pub(crate) struct Entry {
    pub(crate) local_id: String,
    pub(crate) url: String,
    pub(crate) kind: ContextKind,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) last_usage: Option<DateTime<Utc>>,
    pub(crate) hits: u64,
    pub(crate) document: Arc<Value>,
    pub(crate) builtin: bool,
}

impl Entry {
    pub(crate) fn info(&self) -> ContextInfo {
        ContextInfo {
            url: self.url.clone(),
            local_id: self.local_id.clone(),
            kind: self.kind,
            created_at: self.created_at,
            last_usage: self.last_usage,
            number_of_hits: self.hits,
            extra_info: self.builtin.then(|| json!({"builtIn": true})),
        }
    }
}

impl State {
    pub(crate) fn insert(&mut self, entry: Entry) {
        if let Some(old) = self.entries.get(&entry.local_id) {
            self.by_url.remove(&old.url);
        }
        self.by_url
            .insert(entry.url.clone(), entry.local_id.clone());
        self.entries.insert(entry.local_id.clone(), entry);
    }

    pub(crate) fn remove(&mut self, local_id: &str) {
        if let Some(old) = self.entries.remove(local_id) {
            self.by_url.remove(&old.url);
        }
    }

    /// Finds an entry by local id, URL, or the last path segment of a serving URL;
    /// built-in core contexts are registered on first mention.
    pub(crate) fn find(&mut self, id_or_url: &str, started: DateTime<Utc>) -> Option<String> {
        if self.entries.contains_key(id_or_url) {
            return Some(id_or_url.to_owned());
        }
        if let Some(id) = self.by_url.get(id_or_url) {
            return Some(id.clone());
        }
        let core = builtin_url_for_local_id(id_or_url)
            .or_else(|| is_core_url(id_or_url).then_some(id_or_url));
        if let Some(url) = core {
            return self.register_builtin(url, started);
        }
        let segment = id_or_url.rsplit('/').next().filter(|s| !s.is_empty())?;
        self.entries
            .contains_key(segment)
            .then(|| segment.to_owned())
    }

    /// The `Hosted` or `ImplicitlyCreated` entry whose serving URL has exactly the path
    /// `path` (e.g. `/ngsi-ld/v1/jsonldContexts/{localId}`), whatever host it was built with.
    pub(crate) fn served_at_path(&self, path: &str) -> Option<&Entry> {
        if !path.starts_with('/') {
            return None;
        }
        let local_id = path.rsplit('/').next().filter(|s| !s.is_empty())?;
        let entry = self.entries.get(local_id)?;
        let url_path = entry
            .url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))?;
        (entry.kind != ContextKind::Cached && url_path == path).then_some(entry)
    }

    pub(crate) fn register_builtin(&mut self, url: &str, started: DateTime<Utc>) -> Option<String> {
        let local_id = builtin_local_id(url)?;
        if !self.entries.contains_key(local_id) {
            let document = Arc::new(builtin_document(url)?.clone());
            self.insert(Entry {
                local_id: local_id.to_owned(),
                url: url.to_owned(),
                kind: ContextKind::Cached,
                created_at: started,
                last_usage: None,
                hits: 0,
                document,
                builtin: true,
            });
        }
        Some(local_id.to_owned())
    }
}
