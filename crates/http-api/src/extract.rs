//! Extractors: tenant, JSON-LD context (Link header or body), content negotiation and the
//! request body, each failing with a ProblemDetails.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, header, request::Parts};
use broker::Scope;
use ngsild_proto::{ErrorType, headers, media};
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiError, ApiResult};

/// The representation a client accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// `application/json`: context in a Link header.
    Json,
    /// `application/ld+json`: context in the body.
    JsonLd,
    /// `application/geo+json`.
    GeoJson,
}

/// The media ranges of an Accept header, lower-cased, with their q-values (1 when absent).
pub fn accept_ranges(raw: &str) -> impl Iterator<Item = (String, f32)> + '_ {
    raw.split(',').map(|item| {
        let mut parts = item.split(';');
        let mt = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.parse::<f32>().ok())
            .unwrap_or(1.0);
        (mt, q)
    })
}

/// Picks the best supported media type from an Accept header (q-values honoured).
pub fn negotiate(headers: &HeaderMap, geo_allowed: bool) -> ApiResult<Accept> {
    let Some(raw) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Ok(Accept::Json);
    };
    let mut best: Option<(f32, Accept)> = None;
    for (mt, q) in accept_ranges(raw) {
        let found = match mt.as_str() {
            media::JSON | "*/*" | "application/*" => Some(Accept::Json),
            media::JSON_LD => Some(Accept::JsonLd),
            media::GEO_JSON if geo_allowed => Some(Accept::GeoJson),
            _ => None,
        };
        if let Some(a) = found
            && q > 0.0
            && best.is_none_or(|(bq, _)| q > bq)
        {
            best = Some((q, a));
        }
    }
    best.map(|(_, a)| a).ok_or_else(|| {
        ApiError::new(
            ErrorType::NotAcceptable,
            format!("cannot produce any of the media types in Accept: {raw}"),
        )
    })
}

/// The tenant named by `NGSILD-Tenant` ("" when absent).
pub fn tenant(headers: &HeaderMap) -> ApiResult<String> {
    match headers.get(headers::TENANT) {
        None => Ok(String::new()),
        Some(v) => {
            let t = v
                .to_str()
                .map_err(|_| ApiError::bad_data("the tenant name is not ASCII"))?
                .trim();
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'));
            if ok {
                Ok(t.to_owned())
            } else {
                Err(ApiError::bad_data(format!("invalid tenant name '{t}'")))
            }
        }
    }
}

/// The URL of the JSON-LD context in a `Link` header, if there is one.
pub fn link_context(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let mut found = None;
    for v in headers.get_all(header::LINK) {
        let s = v
            .to_str()
            .map_err(|_| ApiError::bad_data("the Link header is not ASCII"))?;
        for link in s.split(',') {
            let link = link.trim();
            if !link.contains(headers::LINK_REL_CONTEXT) {
                continue;
            }
            let url = link
                .strip_prefix('<')
                .and_then(|r| r.split_once('>'))
                .map(|(u, _)| u.trim().to_owned())
                .ok_or_else(|| ApiError::bad_data(format!("malformed Link header: {link}")))?;
            if found.replace(url).is_some() {
                return Err(ApiError::bad_data(
                    "more than one JSON-LD context Link header",
                ));
            }
        }
    }
    Ok(found)
}

/// Tenant, context and accepted representation of a request without a body.
pub struct ReadReq {
    /// Tenant and active context.
    pub scope: Scope,
    /// What the client accepts.
    pub accept: Accept,
    /// The context to name in the response (a URL or an inline context).
    pub ctx_ref: Value,
}

async fn resolve(
    state: &AppState,
    local: Option<&Value>,
) -> ApiResult<(std::sync::Arc<jsonld::Context>, Value)> {
    let ctx = state.contexts.active(local).await?;
    let reference = match local {
        Some(v) => v.clone(),
        None => Value::String(ctx.core_url().to_owned()),
    };
    Ok((ctx, reference))
}

impl FromRequestParts<AppState> for ReadReq {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let accept = negotiate(&parts.headers, true)?;
        let tenant = tenant(&parts.headers)?;
        let link = link_context(&parts.headers)?.map(Value::String);
        let (ctx, ctx_ref) = resolve(state, link.as_ref()).await?;
        Ok(Self {
            scope: Scope { tenant, ctx },
            accept,
            ctx_ref,
        })
    }
}

/// Tenant, context and JSON body of a request that carries one.
pub struct WriteReq {
    /// Tenant and active context.
    pub scope: Scope,
    /// The parsed body.
    pub body: Value,
    /// What the client accepts (for responses with a body).
    pub accept: Accept,
    /// Whether the body is JSON-LD (each entity carries its @context).
    pub ld: bool,
}

/// Reads and checks the body: media type, size limit, JSON syntax, `@context` rules.
impl FromRequest<AppState> for WriteReq {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let accept = negotiate(&parts.headers, false).unwrap_or(Accept::Json);
        let tenant = tenant(&parts.headers)?;
        let ct = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| {
                s.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let ld = match ct.as_str() {
            media::JSON | media::MERGE_PATCH => false,
            media::JSON_LD => true,
            "" => {
                return Err(ApiError::new(
                    ErrorType::UnsupportedMediaType,
                    "a Content-Type header is required",
                ));
            }
            other => {
                return Err(ApiError::new(
                    ErrorType::UnsupportedMediaType,
                    format!(
                        "media type '{other}' is not supported; use application/json or application/ld+json"
                    ),
                ));
            }
        };
        let bytes: Bytes = axum::body::to_bytes(body, state.config.max_body_bytes)
            .await
            .map_err(|_| {
                ApiError::new(
                    ErrorType::PayloadTooLarge,
                    format!("the body exceeds {} bytes", state.config.max_body_bytes),
                )
            })?;
        let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                ErrorType::InvalidRequest,
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        // Arrays (batches) are checked item by item by the batch handlers.
        let local = if ld {
            if link_context(&parts.headers)?.is_some() {
                return Err(ApiError::bad_data(
                    "application/ld+json requests carry their @context in the body, not in a Link header",
                ));
            }
            match &body {
                Value::Object(o) => Some(o.get("@context").cloned().ok_or_else(|| {
                    ApiError::bad_data("application/ld+json bodies must carry an @context")
                })?),
                // Each entity of a batch carries its own @context; the handler resolves them.
                Value::Array(_) => None,
                _ => None,
            }
        } else {
            if body.as_object().is_some_and(|o| o.contains_key("@context")) {
                return Err(ApiError::bad_data(
                    "application/json bodies must not carry an @context; use a Link header",
                ));
            }
            link_context(&parts.headers)?.map(Value::String)
        };
        let (ctx, _) = resolve(state, local.as_ref()).await?;
        let _ = &mut parts;
        Ok(Self {
            scope: Scope { tenant, ctx },
            body,
            accept,
            ld,
        })
    }
}

impl ReadReq {
    /// Refuses GeoJSON where the resource has no GeoJSON form (406).
    pub fn no_geojson(&self) -> ApiResult<()> {
        if self.accept == Accept::GeoJson {
            return Err(ApiError::new(
                ErrorType::NotAcceptable,
                "this resource has no application/geo+json representation",
            ));
        }
        Ok(())
    }
}
