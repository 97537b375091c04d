//! `/ngsi-ld/v1/jsonldContexts`: list, retrieve, add (Hosted) and delete JSON-LD contexts.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use jsonld::ContextKind;
use ngsild_proto::{ErrorType, media};
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::Accept;
use crate::params::Params;
use crate::respond;

fn flag(p: &Params, name: &str) -> ApiResult<bool> {
    match p.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(o) => Err(ApiError::bad_data(format!("{name} must be true or false, not '{o}'"))),
    }
}

/// The base URL hosted contexts are served under.
fn base(st: &AppState) -> String {
    format!("{}/ngsi-ld/v1/jsonldContexts", st.config.public_base.trim_end_matches('/'))
}

/// GET /jsonldContexts
pub async fn list(State(st): State<AppState>, Query(p): Query<Params>) -> ApiResult<Response> {
    let kind = match p.get("kind") {
        Some(k) => Some(k.parse::<ContextKind>().map_err(ApiError::bad_data)?),
        None => None,
    };
    let body = if flag(&p, "details")? {
        Value::Array(st.contexts.list(kind).iter().map(|i| i.to_json()).collect())
    } else {
        Value::Array(st.contexts.list_urls(kind).into_iter().map(Value::String).collect())
    };
    Ok(respond::body(StatusCode::OK, body, Accept::Json, &Value::Null))
}

/// GET /jsonldContexts/{id}
pub async fn retrieve(State(st): State<AppState>, Path(id): Path<String>, Query(p): Query<Params>) -> ApiResult<Response> {
    let not_found = || ApiError::new(ErrorType::ResourceNotFound, format!("no @context '{id}'"));
    let body = if flag(&p, "details")? {
        st.contexts.info(&id).ok_or_else(not_found)?.to_json()
    } else {
        st.contexts.get(&id).ok_or_else(not_found)?
    };
    let mut r = respond::body(StatusCode::OK, body, Accept::Json, &Value::Null);
    if !flag(&p, "details")? {
        r.headers_mut().insert(header::CONTENT_TYPE, axum::http::HeaderValue::from_static(media::JSON_LD));
    }
    Ok(r)
}

/// POST /jsonldContexts
pub async fn add(State(st): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ct = ct.split(';').next().unwrap_or("").trim();
    if ct != media::JSON && ct != media::JSON_LD {
        return Err(ApiError::new(ErrorType::UnsupportedMediaType, format!("media type '{ct}' is not supported")));
    }
    if body.len() > st.config.max_body_bytes {
        return Err(ApiError::new(ErrorType::PayloadTooLarge, "the context is too large"));
    }
    let doc: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(ErrorType::InvalidRequest, format!("the body is not valid JSON: {e}")))?;
    let info = st.contexts.add_hosted(doc, &base(&st))?;
    Ok(respond::created(&info.url))
}

/// DELETE /jsonldContexts/{id}
pub async fn delete(State(st): State<AppState>, Path(id): Path<String>, Query(p): Query<Params>) -> ApiResult<Response> {
    let reload = flag(&p, "reload")?;
    st.contexts.delete(&id, reload).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}
