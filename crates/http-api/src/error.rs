//! Every failure leaves the HTTP layer as a ProblemDetails body; this is the one place
//! that turns errors into responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use broker::BrokerError;
use ngsild_proto::{ErrorType, ProblemDetails};

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub BrokerError);

impl ApiError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorType, detail: impl Into<String>) -> Self {
        Self(BrokerError::new(kind, detail))
    }

    /// `BadRequestData`.
    pub fn bad_data(detail: impl Into<String>) -> Self {
        Self::new(ErrorType::BadRequestData, detail)
    }
}

impl From<BrokerError> for ApiError {
    fn from(e: BrokerError) -> Self {
        Self(e)
    }
}

impl From<ngsild_query::ParseError> for ApiError {
    fn from(e: ngsild_query::ParseError) -> Self {
        Self(e.into())
    }
}

impl From<jsonld::JsonLdError> for ApiError {
    fn from(e: jsonld::JsonLdError) -> Self {
        Self(e.into())
    }
}

/// The ProblemDetails body of `e`; internal errors are made opaque (their detail goes to the log).
pub fn problem(e: &BrokerError) -> ProblemDetails {
    let mut p = if e.kind == ErrorType::InternalError {
        tracing::error!(detail = %e.detail, "internal error");
        ProblemDetails::new(
            e.kind,
            "an internal error occurred; the operator's log has the details",
        )
    } else {
        ProblemDetails::new(e.kind, e.detail.clone())
    };
    p.instance = e.instance.clone();
    p
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let p = problem(&self.0);
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::to_vec(&p).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// Result alias of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
