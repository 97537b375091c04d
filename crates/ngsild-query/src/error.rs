//! The single error type returned by every parser of this crate.

/// A syntax or validation error in a query parameter.
///
/// The broker reports it to clients as `BadRequestData`; the message is
/// meant to be shown verbatim. `position`, when known, is the 0-based
/// character index in the input where the problem was detected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}", .message, position_suffix(.position))]
pub struct ParseError {
    /// Human-readable description naming the offending token.
    pub message: String,
    /// 0-based character index of the problem, if it refers to a position.
    pub position: Option<usize>,
}

fn position_suffix(position: &Option<usize>) -> String {
    match position {
        Some(p) => format!(" (at position {p})"),
        None => String::new(),
    }
}

impl ParseError {
    /// An error that is not tied to a position in the input.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            position: None,
        }
    }

    /// An error located at the given 0-based character index.
    pub fn at(message: impl Into<String>, position: usize) -> Self {
        Self {
            message: message.into(),
            position: Some(position),
        }
    }
}
