//! Comparison semantics of a single query term against one target value.

use std::cmp::Ordering;

use serde_json::Value;

use crate::q::{CompOp, QTerm};
use crate::value::{QValue, parse_date, parse_datetime, parse_time};

impl QTerm {
    /// Evaluates the term's comparison against one candidate target value
    /// that the broker has already resolved (a Property value, a
    /// Relationship object, a compound member, a languageMap entry, ...).
    ///
    /// * no operator: `true` (existence was established by the caller);
    /// * `==`: the literal equals the value, or any element if the value is
    ///   an array; a list literal matches if any of its items does; a range
    ///   matches values between its bounds, both included;
    /// * `!=`: exactly the negation of `==` (so a value of another type, or
    ///   an array containing none of the literals, matches);
    /// * `>`, `>=`, `<`, `<=`: the value (or any array element) compared with
    ///   the literal; values of another type never match;
    /// * `~=`: the value is a string (or an array with a string) in which the
    ///   pattern finds a match;
    /// * `!~=`: the value is a string, or a non-empty array of strings, in
    ///   which the pattern finds no match; other types never match.
    ///
    /// Strings are compared with DateTime, Date and Time literals by parsing
    /// them; a JSON-LD value object `{"@value": ...}` is unwrapped first.
    pub fn test(&self, value: &Value) -> bool {
        let Some((op, lit)) = &self.op else {
            return true;
        };
        let value = unwrap_value_object(value);
        match op {
            CompOp::Eq => any_element(value, |v| equals(lit, v)),
            CompOp::Ne => !any_element(value, |v| equals(lit, v)),
            CompOp::Gt => any_element(value, |v| compare(lit, v) == Some(Ordering::Greater)),
            CompOp::Ge => any_element(value, |v| {
                matches!(compare(lit, v), Some(Ordering::Greater | Ordering::Equal))
            }),
            CompOp::Lt => any_element(value, |v| compare(lit, v) == Some(Ordering::Less)),
            CompOp::Le => any_element(value, |v| {
                matches!(compare(lit, v), Some(Ordering::Less | Ordering::Equal))
            }),
            CompOp::Matches => any_element(value, |v| pattern_found(lit, v) == Some(true)),
            CompOp::NotMatches => match value {
                Value::Array(items) => {
                    !items.is_empty()
                        && items
                            .iter()
                            .all(|v| pattern_found(lit, unwrap_value_object(v)) == Some(false))
                }
                v => pattern_found(lit, v) == Some(false),
            },
        }
    }
}

fn unwrap_value_object(v: &Value) -> &Value {
    match v {
        Value::Object(m) => m.get("@value").unwrap_or(v),
        _ => v,
    }
}

/// Applies `pred` to the value, or to each element if it is an array.
fn any_element(value: &Value, pred: impl Fn(&Value) -> bool) -> bool {
    match value {
        Value::Array(items) => items.iter().any(|v| pred(unwrap_value_object(v))),
        v => pred(v),
    }
}

/// `==` of a literal (scalar, list or range) against one scalar value.
fn equals(lit: &QValue, v: &Value) -> bool {
    match lit {
        QValue::List(items) => items.iter().any(|i| equals(i, v)),
        QValue::Range(lo, hi) => {
            matches!(compare(lo, v), Some(Ordering::Greater | Ordering::Equal))
                && matches!(compare(hi, v), Some(Ordering::Less | Ordering::Equal))
        }
        _ => compare(lit, v) == Some(Ordering::Equal),
    }
}

/// Orders the target value relative to a scalar literal (`Greater` means the
/// value is greater than the literal); `None` when the types differ.
fn compare(lit: &QValue, v: &Value) -> Option<Ordering> {
    match (lit, v) {
        (QValue::Number(n), Value::Number(x)) => x.as_f64()?.partial_cmp(n),
        (QValue::Text(s), Value::String(t)) => Some(t.as_str().cmp(s.as_str())),
        (QValue::Bool(b), Value::Bool(x)) => Some(x.cmp(b)),
        (QValue::DateTime(d), Value::String(t)) => Some(parse_datetime(t)?.cmp(d)),
        (QValue::Date(d), Value::String(t)) => Some(parse_date(t)?.cmp(d)),
        (QValue::Time(d), Value::String(t)) => Some(parse_time(t)?.cmp(d)),
        _ => None,
    }
}

/// `Some(found)` for a string value, `None` for anything else.
fn pattern_found(lit: &QValue, v: &Value) -> Option<bool> {
    match (lit, v) {
        (QValue::Regex(r), Value::String(s)) => Some(r.regex().is_match(s)),
        _ => None,
    }
}
