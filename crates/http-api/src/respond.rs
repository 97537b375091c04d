//! Building responses: media type, `Link` header or `@context` member, GeoJSON.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use broker::render::EntityView;
use ngsild_proto::{headers, media};
use serde_json::{Map, Value};

use crate::extract::Accept;

/// The `Link` header value naming a context URL.
pub fn link_value(url: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "<{url}>; rel=\"{}\"; type=\"{}\"",
        headers::LINK_REL_CONTEXT,
        media::JSON_LD
    ))
    .ok()
}

/// A JSON body in the negotiated representation.
pub fn body(status: StatusCode, mut body: Value, accept: Accept, ctx_ref: &Value) -> Response {
    if accept == Accept::GeoJson && body.is_object() && !ctx_ref.is_null() {
        // GeoJSON carries the context as a top-level member of the Feature(Collection).
        add_context(&mut body, ctx_ref);
    }
    if accept == Accept::JsonLd {
        add_context(&mut body, ctx_ref);
    }
    serialized(status, &body, accept, ctx_ref)
}

/// One entity in JSON or JSON-LD (not GeoJSON), serialised straight from the model: the same
/// document as [`body`] of the rendered entity, without building it first.
pub fn entity(
    status: StatusCode,
    view: EntityView<'_>,
    accept: Accept,
    ctx_ref: &Value,
) -> Response {
    serialized(status, &in_context(view, accept, ctx_ref), accept, ctx_ref)
}

/// A list of entities in JSON or JSON-LD (not GeoJSON), serialised straight from the model,
/// like [`entity`].
pub fn entity_list(
    status: StatusCode,
    views: Vec<EntityView<'_>>,
    accept: Accept,
    ctx_ref: &Value,
) -> Response {
    let views: Vec<_> = views
        .into_iter()
        .map(|v| in_context(v, accept, ctx_ref))
        .collect();
    serialized(status, &views, accept, ctx_ref)
}

/// A JSON-LD entity carries its `@context` first, as [`add_context`] puts it.
fn in_context<'a>(view: EntityView<'a>, accept: Accept, ctx_ref: &'a Value) -> EntityView<'a> {
    if accept == Accept::JsonLd {
        view.with_context(ctx_ref)
    } else {
        view
    }
}

fn serialized(
    status: StatusCode,
    body: &impl serde::Serialize,
    accept: Accept,
    ctx_ref: &Value,
) -> Response {
    let hm = headers(accept, ctx_ref);
    (status, hm, serde_json::to_vec(body).unwrap_or_default()).into_response()
}

/// Content-Type, and the Link header naming the context where the media type does not carry
/// it in the body.
fn headers(accept: Accept, ctx_ref: &Value) -> HeaderMap {
    let mut hm = HeaderMap::new();
    let ct = match accept {
        Accept::Json => media::JSON,
        Accept::JsonLd => media::JSON_LD,
        Accept::GeoJson => media::GEO_JSON,
    };
    hm.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    if accept != Accept::JsonLd {
        let url = match ctx_ref {
            Value::String(s) => Some(s.as_str()),
            Value::Array(a) if a.len() == 1 => a[0].as_str(),
            _ => None,
        };
        if let Some(v) = url.and_then(link_value) {
            hm.insert(header::LINK, v);
        }
    }
    hm
}

/// Puts `@context` first in an object, or in every object of an array.
pub fn add_context(body: &mut Value, ctx_ref: &Value) {
    match body {
        Value::Object(o) => {
            let mut with = Map::with_capacity(o.len() + 1);
            with.insert("@context".into(), ctx_ref.clone());
            with.extend(std::mem::take(o));
            *o = with;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| add_context(i, ctx_ref)),
        _ => {}
    }
}

/// An empty response with a status.
pub fn status(status: StatusCode) -> Response {
    status.into_response()
}

/// 201 Created with a Location header.
pub fn created(location: &str) -> Response {
    let mut r = StatusCode::CREATED.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Adds `NGSILD-Results-Count`.
pub fn with_count(mut r: Response, count: usize) -> Response {
    if let Ok(v) = HeaderValue::from_str(&count.to_string()) {
        r.headers_mut()
            .insert(HeaderName::from_static("ngsild-results-count"), v);
    }
    r
}

/// A GeoJSON Feature of a rendered entity (see [`broker::render::feature`]).
pub fn feature(rendered: Map<String, Value>, geometry_property: &str, key_values: bool) -> Value {
    broker::render::feature(rendered, geometry_property, key_values)
}

/// Adds RFC 8288 `Link` headers to the previous and next page (`rel="prev"`/`"next"`).
pub fn with_page_links(
    mut r: Response,
    path: &str,
    offset: usize,
    limit: usize,
    total: usize,
) -> Response {
    let link = |o: usize, rel: &str| {
        HeaderValue::from_str(&format!(
            "<{path}?limit={limit}&offset={o}>;rel=\"{rel}\";type=\"{}\"",
            media::JSON_LD
        ))
        .ok()
    };
    if offset > 0
        && limit > 0
        && let Some(v) = link(offset.saturating_sub(limit), "prev")
    {
        r.headers_mut().append(header::LINK, v);
    }
    if limit > 0
        && offset + limit < total
        && let Some(v) = link(offset + limit, "next")
    {
        r.headers_mut().append(header::LINK, v);
    }
    r
}
