//! Attribute lists (`attrs`) and the attribute projection language of
//! `pick` / `omit` (clause 4.21).

use std::fmt;

use crate::cursor::{Cursor, MAX_DEPTH};
use crate::error::ParseError;

/// Parses a comma-separated attribute list such as the `attrs` parameter.
///
/// Every item is a short name or an IRI: it must start with a letter and may
/// not contain whitespace, quotes, `<>=;|(){}[]` or `\`. Empty items are
/// rejected; order and duplicates are preserved.
pub fn parse_attr_list(input: &str) -> Result<Vec<String>, ParseError> {
    let mut c = Cursor::new(input);
    let mut out = Vec::new();
    loop {
        out.push(attr_name(&mut c)?);
        if c.eof() {
            return Ok(out);
        }
        if !c.eat(",") {
            return Err(c.err("expected `,` or end of attribute list"));
        }
    }
}

/// One element of a `pick` / `omit` projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Projection {
    /// The attribute (short name or IRI).
    pub name: String,
    /// For Linked Entity Retrieval: the projection applied to the entities
    /// the Relationship `name` points to (`rel{a,b}`); empty when absent.
    pub linked: Vec<Projection>,
}

/// Parses a `pick` / `omit` value: names separated by `,` or `|`, where a
/// Relationship name may be followed by a nested projection in braces,
/// e.g. `observation{temperature,humidity}|name`.
pub fn parse_projection(input: &str) -> Result<Vec<Projection>, ParseError> {
    let mut c = Cursor::new(input);
    let list = projection_list(&mut c, 0)?;
    if !c.eof() {
        return Err(c.err("expected `,`, `|` or end of projection"));
    }
    Ok(list)
}

fn projection_list(c: &mut Cursor<'_>, depth: usize) -> Result<Vec<Projection>, ParseError> {
    let mut out = Vec::new();
    loop {
        let name = attr_name(c)?;
        let mut linked = Vec::new();
        if c.peek() == Some('{') {
            if depth >= MAX_DEPTH {
                return Err(c.err(&format!("projection nested deeper than {MAX_DEPTH} levels")));
            }
            c.bump();
            linked = projection_list(c, depth + 1)?;
            if !c.eat("}") {
                return Err(c.err("expected `}`"));
            }
        }
        out.push(Projection { name, linked });
        if !(c.eat(",") || c.eat("|")) {
            return Ok(out);
        }
    }
}

fn attr_name(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    let start = c.pos;
    let name = c.take_while(is_attr_char);
    if name.is_empty() {
        return Err(c.err("expected an attribute name"));
    }
    if !name.chars().next().is_some_and(char::is_alphabetic) {
        return Err(c.err_at("an attribute name must start with a letter", start));
    }
    Ok(name.to_string())
}

/// Characters allowed in an attribute short name or IRI in a list.
pub(crate) fn is_attr_char(c: char) -> bool {
    !(c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            ',' | ';'
                | '|'
                | '('
                | ')'
                | '{'
                | '}'
                | '['
                | ']'
                | '"'
                | '\''
                | '<'
                | '>'
                | '='
                | '\\'
        ))
}

impl Projection {
    /// Rewrites this name and all nested names (e.g. expands them to IRIs).
    pub fn map_names(&mut self, f: &mut dyn FnMut(&str) -> String) {
        self.name = f(&self.name);
        self.linked.iter_mut().for_each(|p| p.map_names(f));
    }
}

impl fmt::Display for Projection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if !self.linked.is_empty() {
            f.write_str("{")?;
            crate::logic::write_joined(f, &self.linked, ",", |_| false)?;
            f.write_str("}")?;
        }
        Ok(())
    }
}
