//! ProblemDetails (RFC 7807) with the NGSI-LD error types of GS CIM 009 clause 5.5.2.

use serde::{Deserialize, Serialize};

/// The error types NGSI-LD defines, each with its URI and default HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// The request is syntactically wrong (bad JSON, missing members).
    InvalidRequest,
    /// The request is well formed but its content is not acceptable.
    BadRequestData,
    /// An entity or other resource already exists.
    AlreadyExists,
    /// The operation is not supported for this resource.
    OperationNotSupported,
    /// The referred resource does not exist.
    ResourceNotFound,
    /// Something failed inside the broker.
    InternalError,
    /// Some parts of a batch succeeded, some failed.
    PartialUpdate,
    /// The query is too complex to be answered.
    TooComplexQuery,
    /// The query would return too many results.
    TooManyResults,
    /// A JSON-LD `@context` could not be retrieved.
    LdContextNotAvailable,
    /// The tenant named in `NGSILD-Tenant` does not exist.
    NonexistentTenant,
    /// The request body is too large (not an NGSI-LD type; uses the generic "about:blank"
    /// semantics with a broker-specific URI).
    PayloadTooLarge,
    /// The request's media type is not supported.
    UnsupportedMediaType,
    /// None of the media types in `Accept` can be produced.
    NotAcceptable,
    /// The HTTP method is not allowed on this resource.
    MethodNotAllowed,
    /// The broker is overloaded and sheds load.
    ServiceUnavailable,
    /// A conflict with the current state of a resource (e.g. deleting something in use).
    Conflict,
}

impl ErrorType {
    /// The URI put in the `type` member.
    pub fn uri(self) -> &'static str {
        match self {
            Self::InvalidRequest => "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest",
            Self::BadRequestData => "https://uri.etsi.org/ngsi-ld/errors/BadRequestData",
            Self::AlreadyExists => "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists",
            Self::OperationNotSupported => {
                "https://uri.etsi.org/ngsi-ld/errors/OperationNotSupported"
            }
            Self::ResourceNotFound => "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound",
            Self::InternalError => "https://uri.etsi.org/ngsi-ld/errors/InternalError",
            Self::PartialUpdate => "https://uri.etsi.org/ngsi-ld/errors/PartialUpdate",
            Self::TooComplexQuery => "https://uri.etsi.org/ngsi-ld/errors/TooComplexQuery",
            Self::TooManyResults => "https://uri.etsi.org/ngsi-ld/errors/TooManyResults",
            Self::LdContextNotAvailable => {
                "https://uri.etsi.org/ngsi-ld/errors/LdContextNotAvailable"
            }
            Self::NonexistentTenant => "https://uri.etsi.org/ngsi-ld/errors/NonexistentTenant",
            Self::PayloadTooLarge => "urn:quartier:errors:PayloadTooLarge",
            Self::UnsupportedMediaType => "urn:quartier:errors:UnsupportedMediaType",
            Self::NotAcceptable => "urn:quartier:errors:NotAcceptable",
            Self::MethodNotAllowed => "urn:quartier:errors:MethodNotAllowed",
            Self::ServiceUnavailable => "urn:quartier:errors:ServiceUnavailable",
            Self::Conflict => "urn:quartier:errors:Conflict",
        }
    }

    /// The HTTP status code this error is answered with.
    pub fn status(self) -> u16 {
        match self {
            Self::InvalidRequest | Self::BadRequestData => 400,
            Self::AlreadyExists | Self::Conflict => 409,
            Self::OperationNotSupported => 422,
            Self::ResourceNotFound | Self::NonexistentTenant => 404,
            Self::InternalError => 500,
            Self::PartialUpdate => 207,
            Self::TooComplexQuery | Self::TooManyResults => 403,
            Self::LdContextNotAvailable => 503,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::NotAcceptable => 406,
            Self::MethodNotAllowed => 405,
            Self::ServiceUnavailable => 503,
        }
    }

    /// A short human-readable summary.
    pub fn title(self) -> &'static str {
        match self {
            Self::InvalidRequest => "Invalid request",
            Self::BadRequestData => "Bad request data",
            Self::AlreadyExists => "Already exists",
            Self::OperationNotSupported => "Operation not supported",
            Self::ResourceNotFound => "Resource not found",
            Self::InternalError => "Internal error",
            Self::PartialUpdate => "Partial update",
            Self::TooComplexQuery => "Too complex query",
            Self::TooManyResults => "Too many results",
            Self::LdContextNotAvailable => "JSON-LD context not available",
            Self::NonexistentTenant => "Nonexistent tenant",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::NotAcceptable => "Not acceptable",
            Self::MethodNotAllowed => "Method not allowed",
            Self::ServiceUnavailable => "Service unavailable",
            Self::Conflict => "Conflict",
        }
    }

    /// Finds the error type whose URI is `uri`.
    pub fn from_uri(uri: &str) -> Option<Self> {
        ALL.iter().copied().find(|t| t.uri() == uri)
    }
}

const ALL: [ErrorType; 17] = [
    ErrorType::InvalidRequest,
    ErrorType::BadRequestData,
    ErrorType::AlreadyExists,
    ErrorType::OperationNotSupported,
    ErrorType::ResourceNotFound,
    ErrorType::InternalError,
    ErrorType::PartialUpdate,
    ErrorType::TooComplexQuery,
    ErrorType::TooManyResults,
    ErrorType::LdContextNotAvailable,
    ErrorType::NonexistentTenant,
    ErrorType::PayloadTooLarge,
    ErrorType::UnsupportedMediaType,
    ErrorType::NotAcceptable,
    ErrorType::MethodNotAllowed,
    ErrorType::ServiceUnavailable,
    ErrorType::Conflict,
];

/// An RFC 7807 problem as NGSI-LD uses it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemDetails {
    /// Error type URI.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// What exactly went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The resource concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl ProblemDetails {
    /// A problem of type `kind` with an explanation.
    pub fn new(kind: ErrorType, detail: impl Into<String>) -> Self {
        Self {
            kind: kind.uri().to_owned(),
            title: kind.title().to_owned(),
            status: kind.status(),
            detail: Some(detail.into()),
            instance: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip_and_statuses_follow_the_spec() {
        for t in ALL {
            assert_eq!(ErrorType::from_uri(t.uri()), Some(t));
        }
        assert_eq!(ErrorType::ResourceNotFound.status(), 404);
        assert_eq!(ErrorType::AlreadyExists.status(), 409);
        assert_eq!(ErrorType::LdContextNotAvailable.status(), 503);
        let p = ProblemDetails::new(ErrorType::BadRequestData, "bad id");
        let v = serde_json::to_value(&p).unwrap_or_default();
        assert_eq!(
            v["type"],
            "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"
        );
        assert_eq!(v["status"], 400);
    }
}
