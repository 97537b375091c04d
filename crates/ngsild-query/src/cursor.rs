//! A tiny hand-written scanner shared by the parsers.

use crate::error::ParseError;

/// Maximum nesting depth of parentheses accepted by the expression parsers
/// (protects the recursive descent against stack exhaustion).
pub(crate) const MAX_DEPTH: usize = 32;

/// Position-tracking view over the input string.
pub(crate) struct Cursor<'a> {
    pub(crate) src: &'a str,
    pub(crate) pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        Self { src, pos: 0 }
    }

    pub(crate) fn rest(&self) -> &'a str {
        self.src.get(self.pos..).unwrap_or("")
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    pub(crate) fn eof(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub(crate) fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes `token` if the input continues with it.
    pub(crate) fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    pub(crate) fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// Consumes the longest prefix whose characters satisfy `pred`.
    pub(crate) fn take_while(&mut self, pred: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&pred) {
            self.bump();
        }
        self.src.get(start..self.pos).unwrap_or("")
    }

    /// Character index (not byte offset) of a byte position.
    pub(crate) fn char_index(&self, byte_pos: usize) -> usize {
        self.src.get(..byte_pos).map_or(0, |s| s.chars().count())
    }

    /// An error at the current position that quotes what was found there.
    pub(crate) fn err(&self, expected: &str) -> ParseError {
        self.err_at(expected, self.pos)
    }

    /// An error at `byte_pos` that quotes what was found there.
    pub(crate) fn err_at(&self, expected: &str, byte_pos: usize) -> ParseError {
        let found: String = self
            .src
            .get(byte_pos..)
            .unwrap_or("")
            .chars()
            .take(12)
            .collect();
        let found = if found.is_empty() {
            "end of input".to_string()
        } else {
            format!("`{found}`")
        };
        ParseError::at(
            format!("{expected}, found {found}"),
            self.char_index(byte_pos),
        )
    }
}

/// `unicodeLetter *(unicodeLetter / unicodeNumber / "_")`, the NGSI-LD
/// `AttrName`/`EntityType` short-name production.
pub(crate) fn is_short_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(char::is_alphabetic) && chars.all(is_term_char)
}

/// `TermChar`: a Unicode letter, a Unicode number or `_`.
pub(crate) fn is_term_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `s` follows the JSON `number` production (RFC 8259 section 6).
pub(crate) fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(c) if c.is_ascii_digit() => {
            digits(&mut i);
        }
        _ => return false,
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}
