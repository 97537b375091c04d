//! `/ngsi-ld/v1/jsonldContexts`: list, retrieve, add (Hosted) and delete JSON-LD contexts.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use jsonld::ContextKind;
use ngsild_proto::{ErrorType, media};
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Accept, negotiate};
use crate::params::Params;
use crate::respond;

fn flag(p: &Params, name: &str) -> ApiResult<bool> {
    match p.get(name).map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(o) => Err(ApiError::bad_data(format!(
            "{name} must be true or false, not '{o}'"
        ))),
    }
}

/// The path of the `/jsonldContexts` collection (what `Location` headers name).
const COLLECTION_PATH: &str = "/ngsi-ld/v1/jsonldContexts";

/// The base URL hosted contexts are served under (absolute: clients put these URLs in Link
/// headers and `@context` members).
fn base(st: &AppState) -> String {
    format!(
        "{}{COLLECTION_PATH}",
        st.config.public_base.trim_end_matches('/')
    )
}

/// The URL by which a request's `@context` can be referenced (clause 5.13.1): a single URL
/// is its own reference; an inline object or array is stored as an `ImplicitlyCreated`
/// @context (the same one is reused for an identical context) and its serving URL is
/// returned. For handlers that must hand a context on by URL, e.g. a subscription's
/// `jsonldContext` for notifications sent as `application/json` with a Link header.
/// Call it once per request that uses the context: it counts a hit on the entry.
pub fn context_reference(st: &AppState, local: &Value) -> Option<String> {
    match local {
        Value::String(url) => Some(url.clone()),
        // A one-URL array names that URL; no need for an ImplicitlyCreated copy.
        Value::Array(items) if items.len() == 1 && items[0].is_string() => {
            items[0].as_str().map(str::to_owned)
        }
        Value::Object(_) | Value::Array(_) => Some(st.contexts.add_implicit(local, &base(st)).url),
        _ => None,
    }
}

/// Namespace and key of the hosted contexts in the document store.
pub const HOSTED: (&str, &str) = ("jsonld", "hosted");

/// Saves the hosted and implicitly created contexts so they survive a restart.
pub async fn persist(st: &AppState) -> ApiResult<()> {
    let doc = st.contexts.export_hosted().to_string();
    st.documents
        .put_document(HOSTED.0, HOSTED.1, Some(doc))
        .await
        .map_err(|e| ApiError(e.into()))
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
        Value::Array(
            st.contexts
                .list_urls(kind)
                .into_iter()
                .map(Value::String)
                .collect(),
        )
    };
    Ok(respond::body(
        StatusCode::OK,
        body,
        Accept::Json,
        &Value::Null,
    ))
}

/// GET /jsonldContexts/{id}
///
/// `details=true`: the entry's metadata (does not count as a use). Otherwise the stored
/// @context itself for `Hosted` and `ImplicitlyCreated` entries (counts a hit), and
/// OperationNotSupported for `Cached` ones, which are a local cache only (clause 5.13.4.4).
/// The content is `application/json` unless the client prefers `application/ld+json`.
pub async fn retrieve(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let details = flag(&p, "details")?;
    let not_found = || ApiError::new(ErrorType::ResourceNotFound, format!("no @context '{id}'"));
    let info = st.contexts.info(&id).ok_or_else(not_found)?;
    if details {
        return Ok(respond::body(
            StatusCode::OK,
            info.to_json(),
            Accept::Json,
            &Value::Null,
        ));
    }
    if info.kind == ContextKind::Cached {
        return Err(ApiError::new(
            ErrorType::OperationNotSupported,
            format!(
                "{} is a Cached @context: it is a local copy, not served on demand (use details=true)",
                info.url
            ),
        ));
    }
    let accept = negotiate(&headers, false)?;
    let body = st.contexts.get(&id).ok_or_else(not_found)?;
    let mut r = respond::body(StatusCode::OK, body, Accept::Json, &Value::Null);
    let media_type = if accept == Accept::JsonLd {
        media::JSON_LD
    } else {
        media::JSON
    };
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    Ok(r)
}

/// POST /jsonldContexts
///
/// The body must be a JSON object with a `@context` member (InvalidRequest otherwise); an
/// invalid @context in it is BadRequestData. Answers 201 with the path of the new entry
/// in `Location` (its absolute URL is the `URL` of its details).
pub async fn add(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if ct != media::JSON && ct != media::JSON_LD {
        return Err(ApiError::new(
            ErrorType::UnsupportedMediaType,
            format!("media type '{ct}' is not supported"),
        ));
    }
    if body.len() > st.config.max_body_bytes {
        return Err(ApiError::new(
            ErrorType::PayloadTooLarge,
            "the context is too large",
        ));
    }
    let doc: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorType::InvalidRequest,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if !doc.as_object().is_some_and(|o| o.contains_key("@context")) {
        return Err(ApiError::new(
            ErrorType::InvalidRequest,
            "the body must be a JSON object with a @context member",
        ));
    }
    let info = st.contexts.add_hosted(doc, &base(&st)).await?;
    persist(&st).await?;
    Ok(respond::created(&format!(
        "{COLLECTION_PATH}/{}",
        info.local_id
    )))
}

/// DELETE /jsonldContexts/{id}
pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Response> {
    let reload = flag(&p, "reload")?;
    st.contexts.delete(&id, reload).await?;
    persist(&st).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}
