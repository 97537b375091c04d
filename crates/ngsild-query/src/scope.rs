//! The scopeQ language (clause 4.19).

use std::fmt;

use crate::cursor::{Cursor, is_term_char};
use crate::error::ParseError;
use crate::logic::{Grammar, parse_complete, write_joined};

/// A parsed scopeQ expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeExpr {
    /// Every child must be matched by some scope of the entity (`;`).
    And(Vec<ScopeExpr>),
    /// Some child must be matched (`|` or `,`).
    Or(Vec<ScopeExpr>),
    /// A single scope pattern.
    Pattern(ScopePattern),
}

/// One scope pattern such as `/Madrid/+/Parque` or `/Madrid/#`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePattern {
    /// The levels after the leading `/`; empty only for `/#`.
    pub levels: Vec<ScopeLevel>,
    /// Trailing `/#`: the scope itself and every scope below it.
    pub descendants: bool,
}

/// One level of a scope pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeLevel {
    /// A literal level name.
    Name(String),
    /// `+`: exactly one level with any name.
    Any,
}

/// Parses the value of the `scopeQ` parameter.
pub fn parse_scope_q(input: &str) -> Result<ScopeExpr, ParseError> {
    let mut atom = |c: &mut Cursor<'_>| pattern(c).map(ScopeExpr::Pattern);
    let mut g = Grammar {
        or_ops: &['|', ','],
        atom: &mut atom,
        and: ScopeExpr::And,
        or: ScopeExpr::Or,
    };
    parse_complete(input, "scopeQ", &mut g)
}

fn pattern(c: &mut Cursor<'_>) -> Result<ScopePattern, ParseError> {
    // The leading '/' is required by the grammar; one spec example omits it,
    // so a pattern starting directly with a level name is accepted too.
    let leading_slash = c.eat("/");
    if leading_slash && c.eat("#") {
        return Ok(ScopePattern {
            levels: Vec::new(),
            descendants: true,
        });
    }
    let mut levels = Vec::new();
    loop {
        if c.eat("+") {
            levels.push(ScopeLevel::Any);
        } else {
            let start = c.pos;
            let name = c.take_while(is_term_char);
            if !name.chars().next().is_some_and(char::is_alphabetic) {
                c.pos = start;
                return Err(c.err(
                    "expected a scope level (a letter followed by letters, digits or `_`, or `+`)",
                ));
            }
            levels.push(ScopeLevel::Name(name.to_string()));
        }
        if !c.eat("/") {
            return Ok(ScopePattern {
                levels,
                descendants: false,
            });
        }
        if c.eat("#") {
            return Ok(ScopePattern {
                levels,
                descendants: true,
            });
        }
    }
}

impl ScopePattern {
    /// Whether one scope string (e.g. `/Madrid/Gardens`) matches the pattern.
    pub fn matches_scope(&self, scope: &str) -> bool {
        let levels: Vec<&str> = scope.split('/').filter(|l| !l.is_empty()).collect();
        if levels.is_empty() {
            return false;
        }
        let fits = |pat: &ScopeLevel, level: &&str| match pat {
            ScopeLevel::Any => true,
            ScopeLevel::Name(n) => n == level,
        };
        let len_ok = if self.descendants {
            levels.len() >= self.levels.len()
        } else {
            levels.len() == self.levels.len()
        };
        len_ok && self.levels.iter().zip(&levels).all(|(p, l)| fits(p, l))
    }
}

impl ScopeExpr {
    /// Whether an entity carrying `scopes` is selected. An entity without
    /// scopes never matches.
    pub fn matches(&self, scopes: &[&str]) -> bool {
        match self {
            ScopeExpr::And(items) => items.iter().all(|e| e.matches(scopes)),
            ScopeExpr::Or(items) => items.iter().any(|e| e.matches(scopes)),
            ScopeExpr::Pattern(p) => scopes.iter().any(|s| p.matches_scope(s)),
        }
    }
}

impl fmt::Display for ScopeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeExpr::And(items) => {
                write_joined(f, items, ";", |e| !matches!(e, ScopeExpr::Pattern(_)))
            }
            ScopeExpr::Or(items) => write_joined(f, items, "|", |e| matches!(e, ScopeExpr::Or(_))),
            ScopeExpr::Pattern(p) => {
                for l in &p.levels {
                    match l {
                        ScopeLevel::Any => f.write_str("/+")?,
                        ScopeLevel::Name(n) => write!(f, "/{n}")?,
                    }
                }
                if p.descendants {
                    f.write_str("/#")
                } else {
                    Ok(())
                }
            }
        }
    }
}
