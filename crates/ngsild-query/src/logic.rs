//! Generic recursive-descent parser for the boolean layer shared by the
//! q, scopeQ and type-selection languages: `;` is AND, the `or` characters
//! are OR, AND binds tighter than OR, and parentheses group.

use crate::cursor::{Cursor, MAX_DEPTH};
use crate::error::ParseError;

/// Parser for one leaf of the expression (a query term, a scope, a type).
pub(crate) type AtomParser<'f, T> = &'f mut dyn FnMut(&mut Cursor<'_>) -> Result<T, ParseError>;

/// How to parse leaves and build the tree.
pub(crate) struct Grammar<'f, T> {
    /// Characters accepted as the OR operator.
    pub(crate) or_ops: &'static [char],
    /// Leaf parser.
    pub(crate) atom: AtomParser<'f, T>,
    /// Builds an AND node (always called with at least two children).
    pub(crate) and: fn(Vec<T>) -> T,
    /// Builds an OR node (always called with at least two children).
    pub(crate) or: fn(Vec<T>) -> T,
}

/// Parses a whole input string; `what` names the language in error messages.
pub(crate) fn parse_complete<T>(
    input: &str,
    what: &str,
    g: &mut Grammar<'_, T>,
) -> Result<T, ParseError> {
    let mut c = Cursor::new(input);
    c.skip_ws();
    if c.eof() {
        return Err(ParseError::at(format!("empty {what}"), 0));
    }
    let e = or_level(&mut c, g, 0)?;
    c.skip_ws();
    if !c.eof() {
        let ops: String = g.or_ops.iter().map(|o| format!(", `{o}`")).collect();
        return Err(c.err(&format!("expected `;`{ops} or end of {what}")));
    }
    Ok(e)
}

fn or_level<T>(c: &mut Cursor<'_>, g: &mut Grammar<'_, T>, depth: usize) -> Result<T, ParseError> {
    let mut items = vec![and_level(c, g, depth)?];
    loop {
        c.skip_ws();
        match c.peek() {
            Some(ch) if g.or_ops.contains(&ch) => {
                c.bump();
                items.push(and_level(c, g, depth)?);
            }
            _ => break,
        }
    }
    Ok(collapse(items, g.or))
}

fn and_level<T>(c: &mut Cursor<'_>, g: &mut Grammar<'_, T>, depth: usize) -> Result<T, ParseError> {
    let mut items = vec![primary(c, g, depth)?];
    loop {
        c.skip_ws();
        if c.peek() == Some(';') {
            c.bump();
            items.push(primary(c, g, depth)?);
        } else {
            break;
        }
    }
    Ok(collapse(items, g.and))
}

fn primary<T>(c: &mut Cursor<'_>, g: &mut Grammar<'_, T>, depth: usize) -> Result<T, ParseError> {
    c.skip_ws();
    if c.peek() == Some('(') {
        if depth >= MAX_DEPTH {
            return Err(c.err(&format!(
                "parentheses nested deeper than {MAX_DEPTH} levels"
            )));
        }
        c.bump();
        let e = or_level(c, g, depth + 1)?;
        c.skip_ws();
        if !c.eat(")") {
            return Err(c.err("expected `)`"));
        }
        Ok(e)
    } else {
        (g.atom)(c)
    }
}

fn collapse<T>(mut items: Vec<T>, build: fn(Vec<T>) -> T) -> T {
    if items.len() == 1
        && let Some(only) = items.pop()
    {
        return only;
    }
    build(items)
}

/// Writes `items` separated by `sep`, wrapping those for which `needs_parens`
/// holds in parentheses.
pub(crate) fn write_joined<T: std::fmt::Display>(
    f: &mut std::fmt::Formatter<'_>,
    items: &[T],
    sep: &str,
    needs_parens: impl Fn(&T) -> bool,
) -> std::fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if needs_parens(item) {
            write!(f, "({item})")?;
        } else {
            write!(f, "{item}")?;
        }
    }
    Ok(())
}
