//! `/ngsi-ld/v1/subscriptions`: create, query, retrieve, update, delete.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::AppState;
use crate::contexts::context_reference;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ReadReq, WriteReq};
use crate::params::{self, Params};
use crate::respond;

fn check_id(id: &str) -> ApiResult<()> {
    if broker::parse::is_uri(id) {
        Ok(())
    } else {
        Err(ApiError::bad_data(format!(
            "'{id}' is not a valid subscription id (a URI)"
        )))
    }
}

/// The @context a subscription request was written with: the body's (JSON-LD) or the
/// Link header's (JSON), as the raw reference.
fn local_context(req: &WriteReq, body: &mut Map<String, Value>, link: Option<String>) -> Value {
    match body.remove("@context") {
        Some(c) if req.ld => c,
        _ => link.map(Value::String).unwrap_or(Value::Null),
    }
}

/// POST /subscriptions
pub async fn create(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    req: WriteReq,
) -> ApiResult<Response> {
    let mut body = req.body.as_object().cloned().ok_or_else(|| {
        ApiError::new(
            ngsild_proto::ErrorType::InvalidRequest,
            "a subscription must be a JSON object",
        )
    })?;
    let link = crate::extract::link_context(&headers)?;
    let local = local_context(&req, &mut body, link);
    let url = if local.is_null() {
        req.scope.ctx.core_url().to_owned()
    } else {
        // Make sure it resolves (503 / 400 otherwise) before handing out its URL.
        st.contexts.active(Some(&local)).await?;
        let url =
            context_reference(&st, &local).unwrap_or_else(|| req.scope.ctx.core_url().to_owned());
        crate::contexts::persist(&st).await?;
        url
    };
    let id = st
        .subscriptions
        .create(&req.scope.tenant, body, local, url)
        .await?;
    Ok(respond::created(&format!("/ngsi-ld/v1/subscriptions/{id}")))
}

/// GET /subscriptions
pub async fn query(
    State(st): State<AppState>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    params::only(&p, &["limit", "offset", "count", "options", "local", "via"])?;
    req.no_geojson()?;
    let limits = st.broker.limits();
    let (offset, limit) = params::paging(&p, limits.default_limit, limits.max_limit)?;
    let sys = params::options(&p)?.sys_attrs;
    let all = st.subscriptions.list(&req.scope.tenant);
    let total = all.len();
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|s| Value::Object(st.subscriptions.render(s, sys)))
        .collect();
    let resp = respond::body(StatusCode::OK, Value::Array(page), req.accept, &req.ctx_ref);
    let resp = respond::with_page_links(resp, "/ngsi-ld/v1/subscriptions", offset, limit, total);
    Ok(if params::count(&p)? {
        respond::with_count(resp, total)
    } else {
        resp
    })
}

/// GET /subscriptions/{id}
pub async fn retrieve(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    check_id(&id)?;
    req.no_geojson()?;
    let sys = params::options(&p)?.sys_attrs;
    let sub = st.subscriptions.get(&req.scope.tenant, &id)?;
    let body = Value::Object(st.subscriptions.render(&sub, sys));
    Ok(respond::body(
        StatusCode::OK,
        body,
        req.accept,
        &req.ctx_ref,
    ))
}

/// PATCH /subscriptions/{id}
pub async fn update(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: WriteReq,
) -> ApiResult<Response> {
    check_id(&id)?;
    let body = req.body.as_object().cloned().ok_or_else(|| {
        ApiError::new(
            ngsild_proto::ErrorType::InvalidRequest,
            "a subscription fragment must be a JSON object",
        )
    })?;
    if body.keys().all(|k| k == "@context") {
        return Err(ApiError::bad_data("the fragment changes nothing"));
    }
    st.subscriptions
        .update(&req.scope.tenant, &id, body)
        .await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// DELETE /subscriptions/{id}
pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: ReadReq,
) -> ApiResult<Response> {
    check_id(&id)?;
    st.subscriptions.delete(&req.scope.tenant, &id).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}
