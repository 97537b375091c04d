//! The q query language (clause 4.9): syntax tree, parser and printer.

use std::fmt;

use crate::cursor::{Cursor, is_short_name, is_term_char};
use crate::error::ParseError;
use crate::logic::{Grammar, parse_complete, write_joined};
use crate::value::{QValue, Scalar, regex_operand, scalar};

/// A parsed q expression.
#[derive(Debug, Clone, PartialEq)]
pub enum QExpr {
    /// All children must hold (`;`). Has at least two children when parsed.
    And(Vec<QExpr>),
    /// At least one child must hold (`|`). Has at least two children when parsed.
    Or(Vec<QExpr>),
    /// A single query term.
    Term(QTerm),
}

/// One query term: an attribute path and an optional comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct QTerm {
    /// The attribute path on the left-hand side.
    pub path: AttrPath,
    /// The comparison; `None` means "the target element exists".
    pub op: Option<(CompOp, QValue)>,
}

/// The left-hand side of a query term.
///
/// `a.b.c` has `attr = "a"` and `sub_attrs = ["b", "c"]`; a trailing
/// `[x.y]` (or `[x][y]`) addresses members inside a compound value or a
/// language of a LanguageProperty and yields `compound = ["x", "y"]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// The top-level attribute name.
    pub attr: String,
    /// Names of the sub-properties / sub-relationships walked after `attr`.
    pub sub_attrs: Vec<String>,
    /// JSON member names inside the target value (not expanded to IRIs).
    pub compound: Vec<String>,
}

/// The comparison operators of a query term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `~=` (pattern match)
    Matches,
    /// `!~=` (pattern does not match)
    NotMatches,
}

impl CompOp {
    /// The operator as written in a query.
    pub fn as_str(self) -> &'static str {
        match self {
            CompOp::Eq => "==",
            CompOp::Ne => "!=",
            CompOp::Gt => ">",
            CompOp::Ge => ">=",
            CompOp::Lt => "<",
            CompOp::Le => "<=",
            CompOp::Matches => "~=",
            CompOp::NotMatches => "!~=",
        }
    }
}

/// Operators in the order they must be tried (longest first where one is a
/// prefix of another).
const OPERATORS: [CompOp; 8] = [
    CompOp::Eq,
    CompOp::Ne,
    CompOp::NotMatches,
    CompOp::Matches,
    CompOp::Ge,
    CompOp::Gt,
    CompOp::Le,
    CompOp::Lt,
];

/// Parses the value of the `q` parameter.
pub fn parse_q(input: &str) -> Result<QExpr, ParseError> {
    let mut atom = |c: &mut Cursor<'_>| term(c).map(QExpr::Term);
    let mut g = Grammar {
        or_ops: &['|'],
        atom: &mut atom,
        and: QExpr::And,
        or: QExpr::Or,
    };
    parse_complete(input, "q expression", &mut g)
}

fn term(c: &mut Cursor<'_>) -> Result<QTerm, ParseError> {
    let path = attr_path(c)?;
    c.skip_ws();
    let Some(op) = OPERATORS
        .into_iter()
        .find(|op| c.rest().starts_with(op.as_str()))
    else {
        return Ok(QTerm { path, op: None });
    };
    c.eat(op.as_str());
    c.skip_ws();
    let value = match op {
        CompOp::Matches | CompOp::NotMatches => QValue::Regex(regex_operand(c)?),
        CompOp::Eq | CompOp::Ne => equality_value(c)?,
        _ => {
            let s = scalar(c)?;
            comparable(c, s, &format!("after `{}`", op.as_str()))?
        }
    };
    Ok(QTerm {
        path,
        op: Some((op, value)),
    })
}

fn comparable(c: &Cursor<'_>, s: Scalar, context: &str) -> Result<QValue, ParseError> {
    if s.is_comparable() {
        Ok(s.value)
    } else {
        Err(c.err_at(
            &format!("expected a number, quoted string, dateTime, date or time {context}"),
            s.start,
        ))
    }
}

/// Single value, `min..max` range or `v1,v2,...` list.
fn equality_value(c: &mut Cursor<'_>) -> Result<QValue, ParseError> {
    let first = scalar(c)?;
    c.skip_ws();
    if c.eat("..") {
        c.skip_ws();
        let lo = comparable(c, first, "as a range bound")?;
        let second = scalar(c)?;
        let start = second.start;
        let hi = comparable(c, second, "as a range bound")?;
        if std::mem::discriminant(&lo) != std::mem::discriminant(&hi) {
            let msg = format!(
                "range bounds must have the same type ({} vs {})",
                lo.kind(),
                hi.kind()
            );
            return Err(c.err_at(&msg, start));
        }
        return Ok(QValue::Range(Box::new(lo), Box::new(hi)));
    }
    if c.peek() != Some(',') {
        return Ok(first.value);
    }
    let mut items = vec![first.value];
    while c.eat(",") {
        c.skip_ws();
        items.push(scalar(c)?.value);
        c.skip_ws();
    }
    if c.rest().starts_with("..") {
        return Err(c.err("a value list cannot contain a range"));
    }
    Ok(QValue::List(items))
}

fn attr_path(c: &mut Cursor<'_>) -> Result<AttrPath, ParseError> {
    let attr = name(c)?;
    let mut sub_attrs = Vec::new();
    while c.eat(".") {
        sub_attrs.push(name(c)?);
    }
    let mut compound = Vec::new();
    while c.eat("[") {
        loop {
            let m = c.take_while(is_member_char);
            if m.is_empty() {
                return Err(c.err("expected a member name inside `[...]`"));
            }
            compound.push(m.to_string());
            if !c.eat(".") {
                break;
            }
        }
        if !c.eat("]") {
            return Err(c.err("expected `]`"));
        }
    }
    if c.peek() == Some('{') {
        return Err(c.err("linked-entity paths `attr{...}` are not supported"));
    }
    Ok(AttrPath {
        attr,
        sub_attrs,
        compound,
    })
}

fn name(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    let start = c.pos;
    let n = c.take_while(is_term_char);
    if !is_short_name(n) {
        c.pos = start;
        return Err(
            c.err("expected an attribute name (a letter followed by letters, digits or `_`)")
        );
    }
    Ok(n.to_string())
}

/// Characters allowed in a compound member name or language tag.
pub(crate) fn is_member_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '*' | '@' | ':')
}

impl QExpr {
    /// Rewrites every attribute and sub-attribute name (e.g. expands short
    /// names to IRIs). Compound member names are left untouched.
    pub fn map_names(&mut self, f: &mut dyn FnMut(&str) -> String) {
        match self {
            QExpr::And(items) | QExpr::Or(items) => items.iter_mut().for_each(|e| e.map_names(f)),
            QExpr::Term(t) => {
                t.path.attr = f(&t.path.attr);
                for s in &mut t.path.sub_attrs {
                    *s = f(s);
                }
            }
        }
    }

    /// All terms of the expression, left to right.
    pub fn terms(&self) -> Vec<&QTerm> {
        match self {
            QExpr::And(items) | QExpr::Or(items) => items.iter().flat_map(QExpr::terms).collect(),
            QExpr::Term(t) => vec![t],
        }
    }
}

impl fmt::Display for QExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QExpr::And(items) => write_joined(f, items, ";", |e| !matches!(e, QExpr::Term(_))),
            QExpr::Or(items) => write_joined(f, items, "|", |e| matches!(e, QExpr::Or(_))),
            QExpr::Term(t) => write!(f, "{t}"),
        }
    }
}

impl fmt::Display for QTerm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some((op, v)) = &self.op {
            write!(f, "{}{v}", op.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.attr)?;
        for s in &self.sub_attrs {
            write!(f, ".{s}")?;
        }
        if !self.compound.is_empty() {
            write!(f, "[{}]", self.compound.join("."))?;
        }
        Ok(())
    }
}
