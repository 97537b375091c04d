//! The broker's error: an NGSI-LD error type plus a human-readable detail.

use ngsild_proto::ErrorType;

/// What went wrong in a broker operation. The HTTP layer maps `kind` to a ProblemDetails
/// body through the one table in `ngsild-proto`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{detail}")]
pub struct BrokerError {
    /// The NGSI-LD error type.
    pub kind: ErrorType,
    /// What exactly went wrong, for the client.
    pub detail: String,
    /// The resource concerned (an entity id, an attribute name), if any.
    pub instance: Option<String>,
}

impl BrokerError {
    /// An error of `kind` with `detail`.
    pub fn new(kind: ErrorType, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            instance: None,
        }
    }

    /// `BadRequestData`.
    pub fn bad_data(detail: impl Into<String>) -> Self {
        Self::new(ErrorType::BadRequestData, detail)
    }

    /// `InvalidRequest`.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ErrorType::InvalidRequest, detail)
    }

    /// `ResourceNotFound`.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorType::ResourceNotFound, detail)
    }

    /// `AlreadyExists`.
    pub fn exists(detail: impl Into<String>) -> Self {
        Self::new(ErrorType::AlreadyExists, detail)
    }

    /// `InternalError`; the detail is meant for the log, the HTTP layer hides it.
    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(ErrorType::InternalError, detail)
    }

    /// Attaches the resource concerned.
    pub fn at(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }
}

impl From<ngsild_query::ParseError> for BrokerError {
    fn from(e: ngsild_query::ParseError) -> Self {
        Self::bad_data(e.to_string())
    }
}

impl From<jsonld::JsonLdError> for BrokerError {
    fn from(e: jsonld::JsonLdError) -> Self {
        use jsonld::JsonLdError as J;
        match &e {
            J::NotAvailable { .. } => Self::new(ErrorType::LdContextNotAvailable, e.to_string()),
            J::NotFound(_) => Self::not_found(e.to_string()),
            _ => Self::bad_data(e.to_string()),
        }
    }
}

/// Result alias of broker operations.
pub type Result<T, E = BrokerError> = std::result::Result<T, E>;
