//! Error types of the crate.

use thiserror::Error;

/// Everything that can go wrong while resolving, processing or managing `@context`s.
///
/// The broker maps the variants onto NGSI-LD problem types:
/// [`Invalid`](JsonLdError::Invalid) and [`Forbidden`](JsonLdError::Forbidden) become
/// `BadRequestData` (400), [`NotAvailable`](JsonLdError::NotAvailable) becomes
/// `LdContextNotAvailable` (503) and [`NotFound`](JsonLdError::NotFound) becomes
/// `ResourceNotFound` (404).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum JsonLdError {
    /// The `@context` (or a document supposed to carry one) is malformed.
    #[error("invalid @context: {0}")]
    Invalid(String),
    /// A remote `@context` could not be obtained (or what came back is unusable).
    #[error("@context {url} is not available: {reason}")]
    NotAvailable {
        /// The URL that was asked for.
        url: String,
        /// Why it could not be used.
        reason: String,
    },
    /// No stored `@context` has this local identifier or URL.
    #[error("no stored @context matches {0}")]
    NotFound(String),
    /// The request is well formed but not allowed on this entry: deleting a core context,
    /// asking to reload something that is not a `Cached` entry, ...
    #[error("operation not allowed: {0}")]
    Forbidden(String),
}

/// Failure reported by a [`ContextLoader`](crate::ContextLoader).
///
/// The registry turns it into [`JsonLdError::NotAvailable`] together with the URL.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct LoadError(pub String);

impl LoadError {
    /// Builds a load error from any message.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}
