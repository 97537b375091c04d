//! Context processing: turns `@context` values into term definitions.
//!
//! This is a synchronous, term-level subset of the JSON-LD 1.1 context processing
//! algorithm. Remote documents must have been fetched beforehand and are handed in through
//! [`Docs`]; the built-in core contexts are always available.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::builtin::{DEFAULT_VOCAB, builtin_document};
use crate::context::{Context, TermDefinition};
use crate::error::JsonLdError;

/// How deep remote contexts may reference further remote contexts.
pub(crate) const MAX_DEPTH: usize = 8;

/// Type coercions that are keywords.
pub(crate) const TYPE_KEYWORDS: [&str; 4] = ["@id", "@vocab", "@json", "@none"];

/// Remote documents available to one processing run.
pub(crate) struct Docs {
    /// URL -> fetched document (`{"@context": ...}`).
    pub map: HashMap<String, Arc<Value>>,
    /// Whether a URL missing from `map` is an error (`true`) or silently skipped.
    pub strict: bool,
}

impl Docs {
    fn get(&self, url: &str) -> Result<Option<&Value>, JsonLdError> {
        if let Some(doc) = builtin_document(url) {
            return Ok(Some(doc));
        }
        match self.map.get(url) {
            Some(doc) => Ok(Some(doc.as_ref())),
            None if self.strict => Err(JsonLdError::NotAvailable {
                url: url.to_owned(),
                reason: "not loaded".to_owned(),
            }),
            None => Ok(None),
        }
    }
}

/// Collects the remote context URLs `value` references directly (strings, array items,
/// `@import`), without looking into the referenced documents.
pub(crate) fn referenced_urls(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(url) => out.push(url.clone()),
        Value::Array(items) => items.iter().for_each(|item| referenced_urls(item, out)),
        Value::Object(obj) => {
            if let Some(Value::String(url)) = obj.get("@import") {
                out.push(url.clone());
            }
        }
        _ => {}
    }
}

/// Processes `local` (user contexts), then the core context `core_url`, into a [`Context`].
pub(crate) fn build(
    local: Option<&Value>,
    core_url: &str,
    docs: &Docs,
) -> Result<Context, JsonLdError> {
    let mut builder = Builder::default();
    if let Some(local) = local {
        builder.process(local, docs, &mut Vec::new())?;
    }
    let user_vocab = builder.user_vocab.take();
    let core = builtin_document(core_url)
        .and_then(|doc| doc.get("@context"))
        .ok_or_else(|| {
            JsonLdError::Invalid(format!("{core_url} is not a built-in core context"))
        })?;
    builder.core_mode = true;
    builder.process(core, docs, &mut vec![core_url.to_owned()])?;
    let vocab = user_vocab
        .or(builder.vocab)
        .unwrap_or_else(|| DEFAULT_VOCAB.to_owned());
    Ok(Context::new(builder.terms, vocab, core_url.to_owned()))
}

/// Checks the shape of a `@context` value without fetching anything it references.
pub(crate) fn validate(local: &Value) -> Result<(), JsonLdError> {
    let docs = Docs {
        map: HashMap::new(),
        strict: false,
    };
    Builder::default().process(local, &docs, &mut Vec::new())
}

#[derive(Default)]
pub(crate) struct Builder {
    pub(crate) terms: HashMap<String, TermDefinition>,
    pub(crate) vocab: Option<String>,
    /// The `@vocab` last set by a user (non-core) context.
    pub(crate) user_vocab: Option<String>,
    /// How many core context documents are being processed right now.
    pub(crate) in_core: usize,
    /// While processing the final core context: its definitions replace anything.
    pub(crate) core_mode: bool,
}

pub(crate) fn invalid(msg: impl Into<String>) -> JsonLdError {
    JsonLdError::Invalid(msg.into())
}

pub(crate) fn ends_with_gen_delim(iri: &str) -> bool {
    iri.ends_with(['/', '#', ':', '?', '[', ']', '@'])
}

impl Builder {
    /// `stack` holds the URLs being processed, for cycle detection and the depth limit.
    fn process(
        &mut self,
        value: &Value,
        docs: &Docs,
        stack: &mut Vec<String>,
    ) -> Result<(), JsonLdError> {
        match value {
            Value::Null => {
                self.terms.retain(|_, def| def.protected);
                self.set_vocab(None);
                Ok(())
            }
            Value::String(url) => self.process_url(url, docs, stack),
            Value::Array(items) => {
                for item in items {
                    if item.is_array() {
                        return Err(invalid("a @context array cannot contain arrays"));
                    }
                    self.process(item, docs, stack)?;
                }
                Ok(())
            }
            Value::Object(obj) => self.process_object(obj, docs),
            other => Err(invalid(format!("a @context cannot be {other}"))),
        }
    }

    fn process_url(
        &mut self,
        url: &str,
        docs: &Docs,
        stack: &mut Vec<String>,
    ) -> Result<(), JsonLdError> {
        if stack.iter().any(|u| u == url) {
            return Err(invalid(format!("recursive inclusion of {url}")));
        }
        if stack.len() >= MAX_DEPTH {
            return Err(invalid(format!(
                "remote contexts nested deeper than {MAX_DEPTH} at {url}"
            )));
        }
        let Some(doc) = docs.get(url)? else {
            return Ok(());
        };
        let inner = doc
            .get("@context")
            .ok_or_else(|| invalid(format!("{url} does not hold a @context member")))?;
        let core = builtin_document(url).is_some();
        self.in_core += usize::from(core);
        stack.push(url.to_owned());
        let result = self.process(inner, docs, stack);
        stack.pop();
        self.in_core -= usize::from(core);
        result
    }

    fn process_object(&mut self, obj: &Map<String, Value>, docs: &Docs) -> Result<(), JsonLdError> {
        let merged;
        let obj = match obj.get("@import") {
            None => obj,
            Some(Value::String(url)) => match docs.get(url)?.and_then(|d| d.get("@context")) {
                Some(Value::Object(imported)) => {
                    let mut all = imported.clone();
                    all.remove("@import");
                    all.extend(obj.iter().map(|(k, v)| (k.clone(), v.clone())));
                    merged = all;
                    &merged
                }
                Some(_) => {
                    return Err(invalid(format!(
                        "@import {url} is not a single context object"
                    )));
                }
                None => obj,
            },
            Some(_) => return Err(invalid("@import must be a string")),
        };
        match obj.get("@version") {
            None => {}
            Some(Value::Number(n)) if n.as_f64() == Some(1.1) => {}
            Some(other) => return Err(invalid(format!("unsupported @version {other}"))),
        }
        let protected = match obj.get("@protected") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(invalid("@protected must be a boolean")),
        };
        match obj.get("@vocab") {
            None => {}
            Some(Value::Null) => self.set_vocab(None),
            Some(Value::String(v)) if v.is_empty() => {}
            Some(Value::String(v)) => self.set_vocab(Some(self.expand_plain(v))),
            Some(_) => return Err(invalid("@vocab must be a string or null")),
        }
        for key in ["@base", "@language", "@direction"] {
            if matches!(obj.get(key), Some(v) if !v.is_string() && !v.is_null()) {
                return Err(invalid(format!("{key} must be a string or null")));
            }
        }
        if matches!(obj.get("@propagate"), Some(v) if !v.is_boolean()) {
            return Err(invalid("@propagate must be a boolean"));
        }
        let mut defined = HashMap::new();
        for term in obj.keys().filter(|k| !k.starts_with('@')) {
            self.define(obj, term, &mut defined, protected)?;
        }
        Ok(())
    }
}
