//! `/ngsi-ld/v1/entities`: create, retrieve, query, replace, merge, delete, purge and the
//! attribute operations.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use broker::ops::UpdateResult;
use broker::render::{self, Format};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Accept, ReadReq, WriteReq};
use crate::params::{self, Params};
use crate::respond;

/// POST /entities
pub async fn create(State(st): State<AppState>, req: WriteReq) -> ApiResult<Response> {
    let id = st.broker.create(&req.scope, &req.body).await?;
    Ok(respond::created(&format!("/ngsi-ld/v1/entities/{id}")))
}

/// GET /entities/{id}
pub async fn retrieve(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    let opts = params::render_options(&p, &req.scope.ctx)?;
    let e = st.broker.get(&req.scope, &id).await?;
    let rendered = render::entity(&e, &req.scope.ctx, &opts);
    let body = if req.accept == Accept::GeoJson {
        let gp = geometry_property(&p);
        respond::feature(rendered, &gp, opts.format == Format::KeyValues)
    } else {
        Value::Object(rendered)
    };
    Ok(respond::body(StatusCode::OK, body, req.accept, &req.ctx_ref))
}

fn geometry_property(p: &Params) -> String {
    p.get("geometryProperty").cloned().unwrap_or_else(|| "location".into())
}

/// GET /entities
pub async fn query(State(st): State<AppState>, Query(p): Query<Params>, req: ReadReq) -> ApiResult<Response> {
    let q = params::entity_query(&p, &req.scope.ctx, true)?;
    let opts = params::render_options(&p, &req.scope.ctx)?;
    let limits = st.broker.limits();
    let (offset, limit) = params::paging(&p, limits.default_limit, limits.max_limit)?;
    let count = params::count(&p)?;
    if limit == 0 && !count {
        return Err(crate::error::ApiError::bad_data("limit=0 is only allowed together with count=true"));
    }
    let page = st.broker.query(&req.scope, &q, offset, limit).await?;
    let resp = render_page(&page.entities, &p, &req, &opts);
    Ok(if count { respond::with_count(resp, page.total) } else { resp })
}

/// Renders a list of entities in the negotiated representation.
pub fn render_page(
    entities: &[std::sync::Arc<broker::model::Entity>],
    p: &Params,
    req: &ReadReq,
    opts: &render::RenderOptions,
) -> Response {
    let rendered = entities.iter().map(|e| render::entity(e, &req.scope.ctx, opts));
    let body = if req.accept == Accept::GeoJson {
        let gp = geometry_property(p);
        let features: Vec<Value> = rendered.map(|r| respond::feature(r, &gp, opts.format == Format::KeyValues)).collect();
        json!({ "type": "FeatureCollection", "features": features })
    } else {
        Value::Array(rendered.map(Value::Object).collect())
    };
    respond::body(StatusCode::OK, body, req.accept, &req.ctx_ref)
}

/// DELETE /entities (purge by filter)
pub async fn purge(State(st): State<AppState>, Query(p): Query<Params>, req: ReadReq) -> ApiResult<Response> {
    let q = params::entity_query(&p, &req.scope.ctx, true)?;
    st.broker.purge(&req.scope, &q).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// DELETE /entities/{id}
pub async fn delete(State(st): State<AppState>, Path(id): Path<String>, req: ReadReq) -> ApiResult<Response> {
    st.broker.delete(&req.scope, &id).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// PUT /entities/{id}
pub async fn replace(State(st): State<AppState>, Path(id): Path<String>, req: WriteReq) -> ApiResult<Response> {
    st.broker.replace(&req.scope, &id, &req.body).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// PATCH /entities/{id}
pub async fn merge(State(st): State<AppState>, Path(id): Path<String>, req: WriteReq) -> ApiResult<Response> {
    st.broker.merge(&req.scope, &id, &req.body).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

fn update_result(r: &UpdateResult, ctx: &jsonld::Context) -> Response {
    if r.complete() {
        return respond::status(StatusCode::NO_CONTENT);
    }
    let body = json!({
        "updated": r.updated.iter().map(|n| ctx.compact_iri(n)).collect::<Vec<_>>(),
        "notUpdated": r.not_updated.iter().map(|(n, why)| json!({ "attributeName": ctx.compact_iri(n), "reason": why })).collect::<Vec<_>>(),
    });
    respond::body(StatusCode::MULTI_STATUS, body, Accept::Json, &Value::Null)
}

/// POST /entities/{id}/attrs
pub async fn append_attrs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
    req: WriteReq,
) -> ApiResult<Response> {
    let o = params::options(&p)?;
    let r = st.broker.append_attrs(&req.scope, &id, &req.body, o.no_overwrite).await?;
    Ok(update_result(&r, &req.scope.ctx))
}

/// PATCH /entities/{id}/attrs
pub async fn update_attrs(State(st): State<AppState>, Path(id): Path<String>, req: WriteReq) -> ApiResult<Response> {
    let r = st.broker.update_attrs(&req.scope, &id, &req.body).await?;
    Ok(update_result(&r, &req.scope.ctx))
}

/// PATCH /entities/{id}/attrs/{attr}
pub async fn patch_attr(
    State(st): State<AppState>,
    Path((id, attr)): Path<(String, String)>,
    req: WriteReq,
) -> ApiResult<Response> {
    st.broker.patch_attr(&req.scope, &id, &attr, &req.body).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// PUT /entities/{id}/attrs/{attr}
pub async fn replace_attr(
    State(st): State<AppState>,
    Path((id, attr)): Path<(String, String)>,
    req: WriteReq,
) -> ApiResult<Response> {
    st.broker.replace_attr(&req.scope, &id, &attr, &req.body).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// DELETE /entities/{id}/attrs/{attr}
pub async fn delete_attr(
    State(st): State<AppState>,
    Path((id, attr)): Path<(String, String)>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    let delete_all = params::count(&Params::from([("count".to_owned(), p.get("deleteAll").cloned().unwrap_or_else(|| "false".into()))]))
        .map_err(|_| crate::error::ApiError::bad_data("deleteAll must be true or false"))?;
    st.broker.delete_attr(&req.scope, &id, &attr, p.get("datasetId").cloned(), delete_all).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}
