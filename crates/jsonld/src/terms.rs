//! Term definitions: the part of context processing that handles one term at a time.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::builtin::DEFAULT_VOCAB;
use crate::context::TermDefinition;
use crate::error::JsonLdError;
use crate::process::{Builder, TYPE_KEYWORDS, ends_with_gen_delim, invalid};

impl Builder {
    pub(crate) fn set_vocab(&mut self, vocab: Option<String>) {
        if !self.core_mode && self.in_core == 0 {
            self.user_vocab.clone_from(&vocab);
        }
        self.vocab = vocab;
    }

    /// Expands an IRI-ish string against the definitions processed so far.
    pub(crate) fn expand_plain(&self, value: &str) -> String {
        if value.starts_with('@') {
            return value.to_owned();
        }
        if let Some(iri) = self.terms.get(value).and_then(|d| d.iri.clone()) {
            return iri;
        }
        if let Some((prefix, suffix)) = value.split_once(':') {
            if prefix == "_" || suffix.starts_with("//") {
                return value.to_owned();
            }
            return match self.terms.get(prefix).and_then(|d| d.iri.as_deref()) {
                Some(base) if !base.starts_with('@') => format!("{base}{suffix}"),
                _ => value.to_owned(),
            };
        }
        format!(
            "{}{}",
            self.vocab.as_deref().unwrap_or(DEFAULT_VOCAB),
            value
        )
    }

    /// Expands the IRI of a definition, defining terms of the same object it depends on.
    fn expand_in(
        &mut self,
        value: &str,
        term: &str,
        local: &Map<String, Value>,
        defined: &mut HashMap<String, bool>,
        protected: bool,
    ) -> Result<String, JsonLdError> {
        let dependency = match value.split_once(':') {
            Some((prefix, _)) => prefix,
            None => value,
        };
        if dependency != term && !value.starts_with('@') && local.contains_key(dependency) {
            self.define(local, dependency, defined, protected)?;
        }
        if value == term && !term.contains(':') {
            // A term mapped to its own name: expand it against the vocabulary.
            return Ok(format!(
                "{}{}",
                self.vocab.as_deref().unwrap_or(DEFAULT_VOCAB),
                value
            ));
        }
        Ok(self.expand_plain(value))
    }

    pub(crate) fn define(
        &mut self,
        local: &Map<String, Value>,
        term: &str,
        defined: &mut HashMap<String, bool>,
        default_protected: bool,
    ) -> Result<(), JsonLdError> {
        match defined.get(term) {
            Some(true) => return Ok(()),
            Some(false) => return Err(invalid(format!("cyclic IRI mapping involving {term}"))),
            None => {}
        }
        if term.is_empty() {
            return Err(invalid("the empty string cannot be a term"));
        }
        defined.insert(term.to_owned(), false);
        let Some(value) = local.get(term) else {
            return Ok(());
        };
        let mut def = TermDefinition {
            iri: None,
            type_mapping: None,
            container: Vec::new(),
            scoped_context: None,
            prefix: false,
            protected: default_protected,
            reverse: false,
        };
        match value {
            Value::Null => {}
            Value::String(s) => {
                let iri = self.expand_in(s, term, local, defined, default_protected)?;
                def.prefix = !term.contains(':') && ends_with_gen_delim(&iri);
                def.iri = Some(iri);
            }
            Value::Object(o) => self.define_expanded(o, term, local, defined, &mut def)?,
            other => return Err(invalid(format!("term {term} cannot be defined as {other}"))),
        }
        self.insert(term, def);
        defined.insert(term.to_owned(), true);
        Ok(())
    }

    fn define_expanded(
        &mut self,
        o: &Map<String, Value>,
        term: &str,
        local: &Map<String, Value>,
        defined: &mut HashMap<String, bool>,
        def: &mut TermDefinition,
    ) -> Result<(), JsonLdError> {
        let protected = def.protected;
        match o.get("@protected") {
            None => {}
            Some(Value::Bool(b)) => def.protected = *b,
            Some(_) => return Err(invalid(format!("@protected of {term} must be a boolean"))),
        }
        let id = o
            .get("@reverse")
            .inspect(|_| def.reverse = true)
            .or_else(|| o.get("@id"));
        def.iri = match id {
            Some(Value::String(s)) => Some(self.expand_in(s, term, local, defined, protected)?),
            Some(Value::Null) if !def.reverse => None,
            Some(_) => {
                return Err(invalid(format!(
                    "@id / @reverse of {term} must be a string"
                )));
            }
            None => Some(self.expand_in(term, term, local, defined, protected)?),
        };
        match o.get("@type") {
            None => {}
            Some(Value::String(t)) if t.starts_with('@') => {
                if !TYPE_KEYWORDS.contains(&t.as_str()) {
                    return Err(invalid(format!("invalid @type {t} for {term}")));
                }
                def.type_mapping = Some(t.clone());
            }
            Some(Value::String(t)) => {
                def.type_mapping = Some(self.expand_in(t, term, local, defined, protected)?);
            }
            Some(_) => return Err(invalid(format!("@type of {term} must be a string"))),
        }
        def.container = match o.get("@container") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(c)) => vec![c.clone()],
            Some(Value::Array(items)) => items
                .iter()
                .map(|c| c.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| invalid(format!("@container of {term} must hold strings")))?,
            Some(_) => return Err(invalid(format!("invalid @container for {term}"))),
        };
        match o.get("@prefix") {
            None => {}
            Some(Value::Bool(b)) => def.prefix = *b,
            Some(_) => return Err(invalid(format!("@prefix of {term} must be a boolean"))),
        }
        def.scoped_context = o.get("@context").cloned();
        Ok(())
    }

    /// Stores a definition. Outside the final core pass a protected definition is kept when
    /// a later context tries to change it (the NGSI-LD "core terms win" rule, applied
    /// leniently instead of failing the whole request).
    fn insert(&mut self, term: &str, def: TermDefinition) {
        if !self.core_mode
            && let Some(old) = self.terms.get(term)
        {
            let same = old.iri == def.iri
                && old.type_mapping == def.type_mapping
                && old.container == def.container
                && old.reverse == def.reverse;
            if old.protected && !same {
                return;
            }
        }
        self.terms.insert(term.to_owned(), def);
    }
}
