//! The processed, immutable active context and term-level expansion / compaction.

use std::collections::HashMap;

use serde_json::Value;

/// One processed term definition.
#[derive(Debug, Clone, PartialEq)]
pub struct TermDefinition {
    /// The IRI (or keyword, for aliases such as `"id": "@id"`) the term maps to;
    /// `None` when the term was explicitly mapped to `null`.
    pub iri: Option<String>,
    /// `@type` coercion: a keyword (`@id`, `@vocab`, `@json`, `@none`) or an expanded IRI.
    pub type_mapping: Option<String>,
    /// `@container` values, e.g. `["@list"]`.
    pub container: Vec<String>,
    /// A scoped `@context` attached to the term, recorded but not applied.
    pub scoped_context: Option<Value>,
    /// Whether the term may be used as the prefix of a compact IRI when compacting.
    pub prefix: bool,
    /// Whether the definition is protected (`@protected`).
    pub protected: bool,
    /// Whether this is an `@reverse` property.
    pub reverse: bool,
}

impl TermDefinition {
    /// A plain definition mapping to `iri`.
    pub fn simple(iri: impl Into<String>) -> Self {
        Self {
            iri: Some(iri.into()),
            type_mapping: None,
            container: Vec::new(),
            scoped_context: None,
            prefix: false,
            protected: false,
            reverse: false,
        }
    }
}

/// The lookup tables of a context are read for every attribute of every request, so they
/// hash with foldhash instead of SipHash. Its state is seeded randomly per map; a user
/// context is also bounded in size, so crafted colliding terms cannot cost much.
type FastMap<V> = HashMap<String, V, foldhash::fast::RandomState>;

/// A processed active context: the user contexts of one request followed by a core context.
///
/// Immutable once built; the registry shares it as `Arc<Context>`.
#[derive(Debug, Clone)]
pub struct Context {
    terms: FastMap<TermDefinition>,
    vocab: String,
    core_url: String,
    /// IRI -> the term chosen to compact it (shortest, then alphabetically first).
    inverse: FastMap<String>,
    /// Prefix candidates (term, IRI) for compact IRIs, shortest term first.
    prefixes: Vec<(String, String)>,
}

impl Context {
    /// Builds the lookup tables from finished term definitions.
    pub(crate) fn new(
        terms: HashMap<String, TermDefinition>,
        vocab: String,
        core_url: String,
    ) -> Self {
        let terms: FastMap<TermDefinition> = terms.into_iter().collect();
        let mut inverse: FastMap<String> = FastMap::default();
        let mut prefixes = Vec::new();
        for (term, def) in &terms {
            let Some(iri) = def.iri.as_deref() else {
                continue;
            };
            if def.reverse || iri.starts_with('@') {
                continue;
            }
            let better = match inverse.get(iri) {
                None => true,
                Some(current) => (term.len(), term.as_str()) < (current.len(), current.as_str()),
            };
            if better {
                inverse.insert(iri.to_owned(), term.clone());
            }
            if def.prefix && !term.contains(':') {
                prefixes.push((term.clone(), iri.to_owned()));
            }
        }
        prefixes.sort_by(|a, b| (a.0.len(), &a.0).cmp(&(b.0.len(), &b.0)));
        Self {
            terms,
            vocab,
            core_url,
            inverse,
            prefixes,
        }
    }

    /// Expands a term (attribute name, entity type, vocab value) to an IRI.
    ///
    /// Order: keywords are kept; a defined term gives its IRI; `prefix:suffix` with a defined
    /// prefix is concatenated; any other string with a `:` is an absolute IRI and is kept;
    /// everything else is appended to the vocabulary (user `@vocab`, otherwise the NGSI-LD
    /// default context). A term explicitly mapped to `null` also falls back to the vocabulary.
    pub fn expand_term(&self, term: &str) -> String {
        self.try_expand_term(term)
            .unwrap_or_else(|| format!("{}{}", self.vocab, term))
    }

    /// Like [`expand_term`](Self::expand_term) but returns `None` for a term explicitly
    /// mapped to `null` (JSON-LD would drop such a property).
    pub fn try_expand_term(&self, term: &str) -> Option<String> {
        if term.starts_with('@') {
            return Some(term.to_owned());
        }
        if let Some(def) = self.terms.get(term) {
            return def.iri.clone();
        }
        if let Some((prefix, suffix)) = term.split_once(':') {
            if prefix == "_" || suffix.starts_with("//") {
                return Some(term.to_owned());
            }
            return Some(
                match self.terms.get(prefix).and_then(|d| d.iri.as_deref()) {
                    Some(base) if !base.starts_with('@') => format!("{base}{suffix}"),
                    _ => term.to_owned(),
                },
            );
        }
        Some(format!("{}{}", self.vocab, term))
    }

    /// Compacts an IRI back to the shortest form that expands to it again.
    ///
    /// Order: keywords are kept; an exact term (shortest, then alphabetically first);
    /// the IRI minus the vocabulary when the rest is a plain name that is not itself a
    /// term; a compact IRI `prefix:suffix` (shortest, then alphabetically first) that is not
    /// itself a term; otherwise the IRI unchanged.
    pub fn compact_iri(&self, iri: &str) -> String {
        if iri.starts_with('@') {
            return iri.to_owned();
        }
        if let Some(term) = self.inverse.get(iri) {
            return term.clone();
        }
        if let Some(rest) = iri.strip_prefix(self.vocab.as_str())
            && !rest.is_empty()
            && !rest.contains(':')
            && !rest.starts_with('@')
            && !self.terms.contains_key(rest)
        {
            return rest.to_owned();
        }
        let mut best: Option<String> = None;
        for (term, base) in &self.prefixes {
            let Some(suffix) = iri.strip_prefix(base.as_str()) else {
                continue;
            };
            if suffix.is_empty() || suffix.starts_with("//") {
                continue;
            }
            let curie = format!("{term}:{suffix}");
            if self.terms.contains_key(&curie) {
                continue;
            }
            let shorter = best
                .as_ref()
                .is_none_or(|b| (curie.len(), curie.as_str()) < (b.len(), b.as_str()));
            if shorter {
                best = Some(curie);
            }
        }
        best.unwrap_or_else(|| iri.to_owned())
    }

    /// The definition of `term`, if the active context has one.
    pub fn term(&self, term: &str) -> Option<&TermDefinition> {
        self.terms.get(term)
    }

    /// All term definitions (in no particular order).
    pub fn terms(&self) -> impl Iterator<Item = (&str, &TermDefinition)> {
        self.terms.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The vocabulary terms without a definition are expanded against.
    pub fn vocab(&self) -> &str {
        &self.vocab
    }

    /// The URL of the core context this active context ends with.
    pub fn core_url(&self) -> &str {
        &self.core_url
    }
}
