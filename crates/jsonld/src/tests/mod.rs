//! Unit tests: shared helpers.

mod compaction;
mod expansion;
mod registry;
mod smart_data_models;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::{CORE_V1_8, ContextLoader, ContextRegistry, LoadError};

/// In-memory loader: URL -> document, counting calls per URL.
#[derive(Default)]
pub(crate) struct MapLoader {
    pub docs: Mutex<HashMap<String, Value>>,
    pub calls: Mutex<HashMap<String, usize>>,
    pub total: AtomicUsize,
}

impl MapLoader {
    pub fn with(docs: &[(&str, Value)]) -> Arc<Self> {
        let loader = Self::default();
        for (url, doc) in docs {
            loader
                .docs
                .lock()
                .unwrap()
                .insert((*url).to_owned(), doc.clone());
        }
        Arc::new(loader)
    }

    pub fn calls(&self, url: &str) -> usize {
        self.calls.lock().unwrap().get(url).copied().unwrap_or(0)
    }

    pub fn set(&self, url: &str, doc: Option<Value>) {
        let mut docs = self.docs.lock().unwrap();
        match doc {
            Some(doc) => docs.insert(url.to_owned(), doc),
            None => docs.remove(url),
        };
    }
}

#[async_trait::async_trait]
impl ContextLoader for MapLoader {
    async fn load(&self, url: &str) -> Result<Value, LoadError> {
        assert!(
            !crate::is_core_url(url),
            "core URL {url} reached the loader"
        );
        self.total.fetch_add(1, Ordering::SeqCst);
        *self
            .calls
            .lock()
            .unwrap()
            .entry(url.to_owned())
            .or_default() += 1;
        self.docs
            .lock()
            .unwrap()
            .get(url)
            .cloned()
            .ok_or_else(|| LoadError::new(format!("no document at {url}")))
    }
}

/// A registry over `loader` with the v1.8 core as default.
pub(crate) fn registry(loader: Arc<MapLoader>) -> ContextRegistry {
    ContextRegistry::new(loader, CORE_V1_8)
}

/// A registry with an empty loader.
pub(crate) fn offline() -> ContextRegistry {
    registry(MapLoader::with(&[]))
}
