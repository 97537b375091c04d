//! The context registry: cache of remote contexts, store behind `/jsonldContexts`, and the
//! memoised construction of active contexts.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, PoisonError, RwLock, RwLockWriteGuard};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::builtin::{CORE_V1_9, is_core_url};
use crate::context::Context;
use crate::error::{JsonLdError, LoadError};
use crate::info::ContextKind;
use crate::process::{Docs, MAX_DEPTH, build, referenced_urls, validate};
use crate::state::{Entry, State};

/// Fetches remote `@context` documents. Supplied by the broker (HTTP client with timeouts,
/// size limits, allow-lists, local file maps); this crate never does network I/O itself.
/// Built-in core context URLs are never passed to a loader.
#[async_trait::async_trait]
pub trait ContextLoader: Send + Sync {
    /// Returns the parsed JSON document found at `url` (expected: `{"@context": ...}`).
    async fn load(&self, url: &str) -> Result<Value, LoadError>;
}

/// Memoised active contexts kept before the table is flushed.
const MEMO_CAPACITY: usize = 1024;
/// Upper bound on distinct remote documents one `@context` may pull in.
const MAX_REMOTE_DOCS: usize = 64;

/// Thread-safe registry of `@context`s; cheap to clone (all clones share one state).
#[derive(Clone)]
pub struct ContextRegistry {
    inner: Arc<Inner>,
}

struct Inner {
    loader: Arc<dyn ContextLoader>,
    default_core: String,
    started: DateTime<Utc>,
    state: RwLock<State>,
    memo: RwLock<HashMap<String, Memo>>,
}

struct Memo {
    context: Arc<Context>,
    /// URLs of the stored entries the resolution used (their hits are counted on reuse).
    used: Vec<String>,
}

/// Checks a downloaded document: an object with a `@context` member of valid shape.
fn check_remote(url: &str, doc: &Value) -> Result<(), JsonLdError> {
    let inner = doc.get("@context").ok_or_else(|| {
        JsonLdError::Invalid(format!(
            "{url} is not a JSON-LD context document (no @context member)"
        ))
    })?;
    validate(inner)
}

/// Whether `url` starts with a URI scheme (RFC 3986: `ALPHA *( ALPHA / DIGIT / "+" / "-" /
/// "." ) ":"`). NGSI-LD requests have no base IRI, so a relative `@context` reference cannot
/// be resolved: it is a client error, not an unavailable context.
fn is_absolute_iri(url: &str) -> bool {
    let Some((scheme, _)) = url.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The core context named at the top level of `local`, if any (the last one wins).
fn named_core(local: Option<&Value>) -> Option<&str> {
    match local? {
        Value::String(s) => is_core_url(s).then_some(s.as_str()),
        Value::Array(items) => items
            .iter()
            .rev()
            .filter_map(Value::as_str)
            .find(|s| is_core_url(s)),
        _ => None,
    }
}

impl ContextRegistry {
    /// Creates a registry. `default_core` must be one of the `CORE_*` URLs; anything else
    /// falls back to [`CORE_V1_9`]. The default core context is listed from the start.
    pub fn new(loader: Arc<dyn ContextLoader>, default_core: &str) -> Self {
        let default_core = if is_core_url(default_core) {
            default_core
        } else {
            CORE_V1_9
        };
        let started = Utc::now();
        let mut state = State::default();
        state.register_builtin(default_core, started);
        Self {
            inner: Arc::new(Inner {
                loader,
                default_core: default_core.to_owned(),
                started,
                state: RwLock::new(state),
                memo: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The core context used when a request names none.
    pub fn default_core(&self) -> &str {
        &self.inner.default_core
    }

    pub(crate) fn state(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn forget_memo(&self) {
        self.inner
            .memo
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// The active context for a request's `@context` (`None`: core context only).
    ///
    /// User contexts are processed in order, then the core context (the one the request
    /// names at top level, else the default), so core terms always win. Remote URLs are
    /// resolved through the store (Hosted / ImplicitlyCreated / Cached entries) or, once,
    /// through the loader, which creates a `Cached` entry. Results are memoised by the
    /// exact JSON text of `local`; every use counts a hit on the stored entries involved.
    pub async fn active(&self, local: Option<&Value>) -> Result<Arc<Context>, JsonLdError> {
        let key = local.map(Value::to_string).unwrap_or_default();
        let cached = {
            let memo = self
                .inner
                .memo
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            memo.get(&key).map(|m| (m.context.clone(), m.used.clone()))
        };
        if let Some((context, used)) = cached {
            self.touch(&used);
            return Ok(context);
        }
        let core = named_core(local)
            .unwrap_or(&self.inner.default_core)
            .to_owned();
        let mut pending: Vec<(String, usize)> = Vec::new();
        if let Some(local) = local {
            let mut refs = Vec::new();
            referenced_urls(local, &mut refs);
            pending.extend(refs.into_iter().rev().map(|u| (u, 1)));
        }
        let mut docs = HashMap::new();
        let mut seen = HashSet::new();
        let mut used = vec![core.clone()];
        while let Some((url, depth)) = pending.pop() {
            if !seen.insert(url.clone()) {
                continue;
            }
            if is_core_url(&url) {
                used.push(url);
                continue;
            }
            if depth > MAX_DEPTH || docs.len() >= MAX_REMOTE_DOCS {
                return Err(JsonLdError::Invalid(format!(
                    "too many nested remote contexts at {url}"
                )));
            }
            let (doc, stored_url) = self.resolve(&url).await?;
            if let Some(inner) = doc.get("@context") {
                let mut refs = Vec::new();
                referenced_urls(inner, &mut refs);
                pending.extend(refs.into_iter().rev().map(|u| (u, depth + 1)));
            }
            used.push(stored_url);
            docs.insert(url, doc);
        }
        let context = Arc::new(build(
            local,
            &core,
            &Docs {
                map: docs,
                strict: true,
            },
        )?);
        self.touch(&used);
        let mut memo = self
            .inner
            .memo
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if memo.len() >= MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(
            key,
            Memo {
                context: context.clone(),
                used,
            },
        );
        Ok(context)
    }

    /// A stored document for `url`, or a fresh download stored as `Cached`; with the URL
    /// of the stored entry (differs from `url` for a path-only reference).
    ///
    /// A reference without a scheme is relative. NGSI-LD requests are addressed to the
    /// broker, so a path-absolute reference (`/ngsi-ld/v1/jsonldContexts/{localId}`, as in
    /// the `Location` of `POST /jsonldContexts`) resolves to a @context this broker hosts;
    /// any other relative reference names nothing it could use and is invalid.
    async fn resolve(&self, url: &str) -> Result<(Arc<Value>, String), JsonLdError> {
        {
            let state = self.state();
            if let Some(entry) = state.by_url.get(url).and_then(|id| state.entries.get(id)) {
                return Ok((entry.document.clone(), entry.url.clone()));
            }
        }
        if !is_absolute_iri(url) {
            let state = self.state();
            return state
                .served_at_path(url)
                .map(|entry| (entry.document.clone(), entry.url.clone()))
                .ok_or_else(|| {
                    JsonLdError::Invalid(format!(
                        "the @context reference {url:?} is relative and names no @context \
                         hosted by this broker"
                    ))
                });
        }
        let doc = self
            .inner
            .loader
            .load(url)
            .await
            .map_err(|e| JsonLdError::NotAvailable {
                url: url.to_owned(),
                reason: e.0,
            })?;
        check_remote(url, &doc)?;
        let doc = Arc::new(doc);
        let mut state = self.state();
        if let Some(entry) = state.by_url.get(url).and_then(|id| state.entries.get(id)) {
            return Ok((entry.document.clone(), entry.url.clone()));
        }
        state.insert(Entry {
            local_id: uuid::Uuid::new_v4().simple().to_string(),
            url: url.to_owned(),
            kind: ContextKind::Cached,
            created_at: Utc::now(),
            last_usage: None,
            hits: 0,
            document: doc.clone(),
            builtin: false,
        });
        Ok((doc, url.to_owned()))
    }

    /// Counts one use of each stored entry named in `urls`.
    fn touch(&self, urls: &[String]) {
        let now = Utc::now();
        let started = self.inner.started;
        let mut state = self.state();
        for url in urls {
            let id = match state.by_url.get(url) {
                Some(id) => Some(id.clone()),
                None => state.register_builtin(url, started),
            };
            if let Some(entry) = id.and_then(|id| state.entries.get_mut(&id)) {
                entry.hits += 1;
                entry.last_usage = Some(now);
            }
        }
    }

    /// Reloads a `Cached` entry from its URL; on any failure the old copy stays.
    pub(crate) async fn reload(&self, local_id: &str, url: &str) -> Result<(), JsonLdError> {
        let not_available = |reason: String| JsonLdError::NotAvailable {
            url: url.to_owned(),
            reason,
        };
        let doc = self
            .inner
            .loader
            .load(url)
            .await
            .map_err(|e| not_available(e.0))?;
        check_remote(url, &doc).map_err(|e| not_available(e.to_string()))?;
        let mut state = self.state();
        if let Some(entry) = state.entries.get_mut(local_id) {
            entry.document = Arc::new(doc);
            entry.created_at = Utc::now();
        }
        drop(state);
        self.forget_memo();
        Ok(())
    }

    pub(crate) fn find(&self, id_or_url: &str) -> Option<String> {
        self.state().find(id_or_url, self.inner.started)
    }

    pub(crate) fn remove(&self, local_id: &str) {
        self.state().remove(local_id);
        self.forget_memo();
    }
}
