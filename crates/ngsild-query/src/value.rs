//! Literal values of the q language and their textual form.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, SecondsFormat, Utc};
use regex::{Regex, RegexBuilder};

use crate::cursor::{Cursor, is_json_number};
use crate::error::ParseError;

/// Upper bound for the compiled size of a user-supplied regular expression.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A value on the right-hand side of a q comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum QValue {
    /// A JSON number (always finite).
    Number(f64),
    /// A quoted JSON string (escapes decoded) or an unquoted URI / bare word.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// A DateTime literal such as `2017-12-24T12:00:00Z`.
    DateTime(DateTime<Utc>),
    /// A Date literal such as `2017-12-24`.
    Date(NaiveDate),
    /// A Time literal such as `12:00:00` (a trailing `Z` is accepted).
    Time(NaiveTime),
    /// An inclusive range `min..max`; both ends have the same kind.
    Range(Box<QValue>, Box<QValue>),
    /// A comma-separated list of values, matched as any-of.
    List(Vec<QValue>),
    /// The pattern of `~=` / `!~=`, compiled when the query is parsed.
    Regex(QRegex),
}

/// A compiled regular expression that compares equal by its source text.
#[derive(Debug, Clone)]
pub struct QRegex(Regex);

impl QRegex {
    /// Compiles `pattern`; an invalid or oversized pattern is a [`ParseError`].
    pub fn new(pattern: &str) -> Result<Self, ParseError> {
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(QRegex)
            .map_err(|e| ParseError::new(format!("invalid regular expression `{pattern}`: {e}")))
    }

    /// The compiled expression.
    pub fn regex(&self) -> &Regex {
        &self.0
    }

    /// The pattern text as written in the query.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl PartialEq for QRegex {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl QValue {
    /// Short name of the value's kind, used in error messages.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            QValue::Number(_) => "number",
            QValue::Text(_) => "string",
            QValue::Bool(_) => "boolean",
            QValue::DateTime(_) => "dateTime",
            QValue::Date(_) => "date",
            QValue::Time(_) => "time",
            QValue::Range(..) => "range",
            QValue::List(_) => "list",
            QValue::Regex(_) => "regex",
        }
    }
}

/// One scalar as read from the input; `quoted` tells a JSON string from an
/// unquoted word (only the former is a `ComparableValue`).
pub(crate) struct Scalar {
    pub(crate) value: QValue,
    pub(crate) quoted: bool,
    pub(crate) start: usize,
}

impl Scalar {
    /// Number, quoted string, dateTime, date or time.
    pub(crate) fn is_comparable(&self) -> bool {
        match self.value {
            QValue::Text(_) => self.quoted,
            QValue::Number(_) | QValue::DateTime(_) | QValue::Date(_) | QValue::Time(_) => true,
            _ => false,
        }
    }
}

/// Reads a JSON string literal starting at the opening quote.
pub(crate) fn quoted_string(c: &mut Cursor<'_>) -> Result<String, ParseError> {
    let start = c.pos;
    c.bump();
    loop {
        match c.bump() {
            None => return Err(c.err_at("unterminated string literal", start)),
            Some('\\') => {
                c.bump();
            }
            Some('"') => break,
            Some(_) => {}
        }
    }
    let raw = c.src.get(start..c.pos).unwrap_or("");
    serde_json::from_str::<String>(raw).map_err(|e| {
        ParseError::at(
            format!("invalid string literal {raw}: {e}"),
            c.char_index(start),
        )
    })
}

/// Reads one scalar value: a quoted string or an unquoted token ended by
/// `;`, `|`, `)`, `,`, whitespace or `..`.
pub(crate) fn scalar(c: &mut Cursor<'_>) -> Result<Scalar, ParseError> {
    let start = c.pos;
    if c.peek() == Some('"') {
        let s = quoted_string(c)?;
        return Ok(Scalar {
            value: QValue::Text(s),
            quoted: true,
            start,
        });
    }
    while let Some(ch) = c.peek() {
        if matches!(ch, ';' | '|' | ')' | ',') || ch.is_whitespace() || c.rest().starts_with("..") {
            break;
        }
        c.bump();
    }
    let token = c.src.get(start..c.pos).unwrap_or("");
    if token.is_empty() {
        return Err(c.err("expected a value"));
    }
    let value = classify(token).map_err(|m| c.err_at(&m, start))?;
    Ok(Scalar {
        value,
        quoted: false,
        start,
    })
}

/// Interprets an unquoted token.
fn classify(token: &str) -> Result<QValue, String> {
    match token {
        "true" => return Ok(QValue::Bool(true)),
        "false" => return Ok(QValue::Bool(false)),
        _ => {}
    }
    if is_json_number(token) {
        return match token.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(QValue::Number(n)),
            _ => Err(format!("number `{token}` is out of range")),
        };
    }
    if let Some(dt) = parse_datetime(token) {
        return Ok(QValue::DateTime(dt));
    }
    if let Some(d) = parse_date(token) {
        return Ok(QValue::Date(d));
    }
    if let Some(t) = parse_time(token) {
        return Ok(QValue::Time(t));
    }
    if token.starts_with(|ch: char| ch.is_ascii_digit() || matches!(ch, '-' | '+' | '.')) {
        return Err(format!(
            "`{token}` is not a valid number, dateTime, date or time"
        ));
    }
    if token.chars().any(|ch| ch == '"' || ch.is_control()) {
        return Err("unexpected quote or control character in an unquoted value".to_string());
    }
    Ok(QValue::Text(token.to_string()))
}

/// Parses an NGSI-LD DateTime (RFC 3339 / ISO 8601 with offset or `Z`).
pub fn parse_datetime(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// Parses an NGSI-LD Date (`YYYY-MM-DD`).
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() < 8 || !s.contains('-') {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Parses an NGSI-LD Time (`hh:mm:ss` with optional fraction and `Z`).
pub fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.strip_suffix('Z').unwrap_or(s);
    if !s.contains(':') {
        return None;
    }
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f").ok()
}

/// Reads the operand of `~=` / `!~=`: either a JSON string whose content is
/// the pattern, or an unquoted pattern that runs until a `;`, `|` or `)` that
/// is outside the pattern's own brackets, parentheses and escapes.
pub(crate) fn regex_operand(c: &mut Cursor<'_>) -> Result<QRegex, ParseError> {
    let start = c.pos;
    let pattern = if c.peek() == Some('"') {
        quoted_string(c)?
    } else {
        let len = unquoted_regex_len(c.rest());
        let raw = c.rest().get(..len).unwrap_or("");
        c.pos += len;
        raw.to_string()
    };
    if pattern.is_empty() {
        return Err(c.err_at("expected a regular expression", start));
    }
    QRegex::new(&pattern).map_err(|e| ParseError {
        position: Some(c.char_index(start)),
        ..e
    })
}

/// Byte length of the unquoted regular expression at the start of `s`.
fn unquoted_regex_len(s: &str) -> usize {
    let (mut depth, mut in_class, mut escaped) = (0usize, false, false);
    for (i, ch) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' => escaped = true,
            ']' if in_class => in_class = false,
            _ if in_class => {}
            '[' => in_class = true,
            '(' => depth += 1,
            ')' if depth == 0 => return i,
            ')' => depth -= 1,
            ';' | '|' if depth == 0 => return i,
            _ => {}
        }
    }
    s.len()
}

impl fmt::Display for QValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QValue::Number(n) => write!(f, "{n}"),
            QValue::Text(s) => write_json_string(f, s),
            QValue::Bool(b) => write!(f, "{b}"),
            QValue::DateTime(d) => f.write_str(&d.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            QValue::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            QValue::Time(t) => write!(f, "{}", t.format("%H:%M:%S%.f")),
            QValue::Range(lo, hi) => write!(f, "{lo}..{hi}"),
            QValue::List(items) => crate::logic::write_joined(f, items, ",", |_| false),
            QValue::Regex(r) => {
                let p = r.as_str();
                let safe = !p.starts_with('"')
                    && !p.starts_with(char::is_whitespace)
                    && unquoted_regex_len(p) == p.len();
                if safe {
                    f.write_str(p)
                } else {
                    write_json_string(f, p)
                }
            }
        }
    }
}

fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    match serde_json::to_string(s) {
        Ok(q) => f.write_str(&q),
        Err(_) => Err(fmt::Error),
    }
}
