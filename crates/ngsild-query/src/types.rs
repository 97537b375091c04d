//! The entity type selection language (clause 4.17).

use std::fmt;

use crate::cursor::Cursor;
use crate::error::ParseError;
use crate::logic::{Grammar, parse_complete, write_joined};

/// A parsed entity type selection (`type` parameter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    /// The entity must have all these types (`;`).
    And(Vec<TypeExpr>),
    /// The entity must match one of these (`|` or `,`).
    Or(Vec<TypeExpr>),
    /// One entity type: a short name or an IRI.
    Type(String),
}

/// Parses a type selection such as `Building|House` or `(Home;Vehicle),Motorhome`.
///
/// A type is a short name or a URI; it may not contain whitespace, quotes,
/// `<>` or the operator characters `,;|()`.
pub fn parse_type_expr(input: &str) -> Result<TypeExpr, ParseError> {
    let mut atom = |c: &mut Cursor<'_>| {
        let start = c.pos;
        let name = c.take_while(is_type_char);
        if name.is_empty() {
            return Err(c.err("expected an entity type"));
        }
        if !name
            .chars()
            .next()
            .is_some_and(|ch| ch.is_alphabetic() || ch == '_')
        {
            return Err(c.err_at("an entity type must start with a letter", start));
        }
        Ok(TypeExpr::Type(name.to_string()))
    };
    let mut g = Grammar {
        or_ops: &['|', ','],
        atom: &mut atom,
        and: TypeExpr::And,
        or: TypeExpr::Or,
    };
    parse_complete(input, "type selection", &mut g)
}

fn is_type_char(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            ',' | ';' | '|' | '(' | ')' | '"' | '\'' | '<' | '>' | '\\'
        ))
}

impl TypeExpr {
    /// Rewrites every type name (e.g. expands short names to IRIs).
    pub fn map_names(&mut self, f: &mut dyn FnMut(&str) -> String) {
        match self {
            TypeExpr::And(items) | TypeExpr::Or(items) => {
                items.iter_mut().for_each(|e| e.map_names(f))
            }
            TypeExpr::Type(t) => *t = f(t),
        }
    }

    /// Whether an entity with the given types is selected.
    pub fn matches(&self, types: &[&str]) -> bool {
        match self {
            TypeExpr::And(items) => items.iter().all(|e| e.matches(types)),
            TypeExpr::Or(items) => items.iter().any(|e| e.matches(types)),
            TypeExpr::Type(t) => types.contains(&t.as_str()),
        }
    }

    /// Every type name mentioned, left to right (duplicates kept).
    pub fn names(&self) -> Vec<&str> {
        match self {
            TypeExpr::And(items) | TypeExpr::Or(items) => {
                items.iter().flat_map(TypeExpr::names).collect()
            }
            TypeExpr::Type(t) => vec![t.as_str()],
        }
    }
}

impl fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeExpr::And(items) => {
                write_joined(f, items, ";", |e| !matches!(e, TypeExpr::Type(_)))
            }
            TypeExpr::Or(items) => write_joined(f, items, "|", |e| matches!(e, TypeExpr::Or(_))),
            TypeExpr::Type(t) => f.write_str(t),
        }
    }
}
