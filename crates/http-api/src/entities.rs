//! `/ngsi-ld/v1/entities`: create, retrieve, query, replace, merge, delete, purge and the
//! attribute operations.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use broker::ops::UpdateResult;
use broker::render::{self, Format};
use std::sync::Arc;

use broker::model::Entity;
use serde_json::{Map, Value, json};

use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Accept, ReadReq, WriteReq};
use crate::linked;
use crate::params::{self, Params};
use crate::respond;

/// POST /entities
pub async fn create(
    State(st): State<AppState>,
    Query(p): Query<Params>,
    req: WriteReq,
) -> ApiResult<Response> {
    params::only(&p, &["local", "options"])?;
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
    params::only(&p, params::RETRIEVE_PARAMS)?;
    let opts = params::render_options(&p, &req.scope.ctx)?;
    let join = linked::join(&p)?;
    let e = st.broker.get(&req.scope, &id).await?;
    if let Some(attrs) = p.get("attrs") {
        let wanted = ngsild_query::parse_attr_list(attrs)?;
        if !wanted
            .iter()
            .any(|a| e.attrs.contains_key(&req.scope.ctx.expand_term(a)))
        {
            return Err(crate::error::ApiError(broker::BrokerError::not_found(
                format!("entity '{id}' has none of the attributes {attrs}"),
            )));
        }
    }
    if plain(join, &p, &req) {
        // The common case: one entity, serialised straight from the model.
        let view = render::EntityView::new(&e, &req.scope.ctx, &opts);
        return Ok(respond::entity(
            StatusCode::OK,
            view,
            req.accept,
            &req.ctx_ref,
        ));
    }
    let roots = [e];
    let linked_entities = match join {
        Some((_, level)) => {
            let tree = params::projection_tree(&p, &req.scope.ctx)?;
            broker::linked::collect(
                &**st.broker.store(),
                &req.scope.tenant,
                &roots,
                level,
                &tree,
            )
            .await
            .map_err(|e| crate::error::ApiError(e.into()))?
        }
        None => Vec::new(),
    };
    let mut page = render_list(&roots, &linked_entities, join, &p, &req, &opts);
    let nothing_left = page.as_array().is_some_and(Vec::is_empty)
        || page["features"].as_array().is_some_and(Vec::is_empty)
        || page
            .get(0)
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty);
    if projected(&p) && nothing_left {
        return Err(crate::error::ApiError(broker::BrokerError::not_found(
            format!("nothing of entity '{id}' is left after pick/omit"),
        )));
    }
    let body = match (join, page.as_array_mut()) {
        (Some((linked::Join::Flat, _)), Some(items)) if items.len() == 1 => {
            items.pop().unwrap_or(Value::Null)
        }
        (Some((linked::Join::Flat, _)), _) => page,
        (_, Some(items)) if req.accept != Accept::GeoJson => items.pop().unwrap_or(Value::Null),
        _ => page["features"].get(0).cloned().unwrap_or(Value::Null),
    };
    Ok(respond::body(
        StatusCode::OK,
        body,
        req.accept,
        &req.ctx_ref,
    ))
}

/// Whether `pick` or `omit` may leave an entity with nothing to show.
fn projected(p: &Params) -> bool {
    p.contains_key("pick") || p.contains_key("omit")
}

/// Whether the response is entities as they are (no joined entities, no pick/omit, not
/// GeoJSON): then they are serialised straight from the model.
fn plain(join: Option<(linked::Join, usize)>, p: &Params, req: &ReadReq) -> bool {
    join.is_none() && !projected(p) && req.accept != Accept::GeoJson
}

fn geometry_property(p: &Params) -> String {
    p.get("geometryProperty")
        .cloned()
        .unwrap_or_else(|| "location".into())
}

/// GET /entities
pub async fn query(
    State(st): State<AppState>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    params::only(&p, params::QUERY_PARAMS)?;
    let q = params::entity_query(&p, &req.scope.ctx, true)?;
    let opts = params::render_options(&p, &req.scope.ctx)?;
    let limits = st.broker.limits();
    let (offset, limit) = params::paging(&p, limits.default_limit, limits.max_limit)?;
    let count = params::count(&p)?;
    if limit == 0 && !count {
        return Err(crate::error::ApiError::bad_data(
            "limit=0 is only allowed together with count=true",
        ));
    }
    let page = st
        .broker
        .query(&req.scope, &q, offset, limit, count)
        .await?;
    let resp = render_page(&st, &page.entities, &p, &req, &opts).await?;
    Ok(if count {
        respond::with_count(resp, page.total)
    } else {
        resp
    })
}

/// Renders a page of entities (with linked entities if `join` asks) as a response.
pub async fn render_page(
    st: &AppState,
    entities: &[Arc<Entity>],
    p: &Params,
    req: &ReadReq,
    opts: &render::RenderOptions,
) -> ApiResult<Response> {
    let join = linked::join(p)?;
    if plain(join, p, req) {
        // The common case: a plain list, serialised straight from the model.
        let views = entities
            .iter()
            .map(|e| render::EntityView::new(e, &req.scope.ctx, opts))
            .collect();
        return Ok(respond::entity_list(
            StatusCode::OK,
            views,
            req.accept,
            &req.ctx_ref,
        ));
    }
    let linked_entities = match join {
        Some((_, level)) => {
            let tree = params::projection_tree(p, &req.scope.ctx)?;
            broker::linked::collect(
                &**st.broker.store(),
                &req.scope.tenant,
                entities,
                level,
                &tree,
            )
            .await
            .map_err(|e| crate::error::ApiError(e.into()))?
        }
        None => Vec::new(),
    };
    let body = render_list(entities, &linked_entities, join, p, req, opts);
    Ok(respond::body(
        StatusCode::OK,
        body,
        req.accept,
        &req.ctx_ref,
    ))
}

/// Renders entities in the negotiated representation: an array, or a FeatureCollection.
fn render_list(
    entities: &[Arc<Entity>],
    linked_entities: &[(Arc<Entity>, Vec<String>)],
    join: Option<(linked::Join, usize)>,
    p: &Params,
    req: &ReadReq,
    opts: &render::RenderOptions,
) -> Value {
    let ctx = &req.scope.ctx;
    let tree = params::projection_tree(p, ctx).unwrap_or_default();
    let rendered = broker::linked::render_joined(entities, linked_entities, join, ctx, opts, &tree);
    // An entity with nothing left after pick/omit is left out of a list.
    let projected = projected(p);
    let rendered: Vec<Map<String, Value>> = rendered
        .into_iter()
        .filter(|m| !(projected && m.is_empty()))
        .collect();
    if req.accept == Accept::GeoJson {
        let gp = geometry_property(p);
        let features: Vec<Value> = rendered
            .into_iter()
            .map(|r| respond::feature(r, &gp, opts.format == Format::KeyValues))
            .collect();
        json!({ "type": "FeatureCollection", "features": features })
    } else {
        Value::Array(rendered.into_iter().map(Value::Object).collect())
    }
}

/// DELETE /entities (purge by filter)
pub async fn purge(
    State(st): State<AppState>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    params::only(&p, params::PURGE_PARAMS)?;
    let q = params::entity_query(&p, &req.scope.ctx, false)?;
    let local = p.get("local").map(String::as_str) == Some("true");
    let filtered = !q.selectors.is_empty()
        || q.attrs.is_some()
        || q.q.is_some()
        || q.geo.is_some()
        || q.scope.is_some();
    if !filtered && !local {
        return Err(crate::error::ApiError::bad_data(
            "a purge must name at least one of: id, idPattern, type, q, a geo-query, scopeQ (or local=true for everything)",
        ));
    }
    let names = |list: &str| -> ApiResult<Vec<String>> {
        Ok(ngsild_query::parse_attr_list(list)?
            .iter()
            .map(|n| req.scope.ctx.expand_term(n))
            .collect())
    };
    let mode = match (p.get("drop"), p.get("keep")) {
        (Some(_), Some(_)) => {
            return Err(crate::error::ApiError::bad_data(
                "'drop' and 'keep' exclude each other",
            ));
        }
        (Some(d), None) => broker::service::Purge::Drop(names(d)?),
        (None, Some(k)) => broker::service::Purge::Keep(names(k)?),
        (None, None) => broker::service::Purge::Entities,
    };
    st.broker.purge(&req.scope, &q, mode).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// DELETE /entities/{id}
pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: ReadReq,
) -> ApiResult<Response> {
    st.broker.delete(&req.scope, &id).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// PUT or PATCH /entities: the entity id is missing from the path.
pub async fn without_id() -> crate::error::ApiError {
    crate::error::ApiError::bad_data(
        "the entity id is missing from the path: /ngsi-ld/v1/entities/{entityId}",
    )
}

/// PUT /entities/{id}
pub async fn replace(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: WriteReq,
) -> ApiResult<Response> {
    st.broker.replace(&req.scope, &id, &req.body).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// PATCH /entities/{id}
pub async fn merge(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: WriteReq,
) -> ApiResult<Response> {
    st.broker.merge(&req.scope, &id, &req.body).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

fn update_result(r: &UpdateResult) -> Response {
    if r.complete() {
        return respond::status(StatusCode::NO_CONTENT);
    }
    let body = json!({
        // Names as full IRIs, as the conformance suite compares them.
        "updated": r.updated.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        "notUpdated": r.not_updated.iter().map(|(n, why)| json!({ "attributeName": n, "reason": why })).collect::<Vec<_>>(),
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
    let r = st
        .broker
        .append_attrs(&req.scope, &id, &req.body, o.no_overwrite)
        .await?;
    Ok(update_result(&r))
}

/// PATCH /entities/{id}/attrs
pub async fn update_attrs(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: WriteReq,
) -> ApiResult<Response> {
    let r = st.broker.update_attrs(&req.scope, &id, &req.body).await?;
    Ok(update_result(&r))
}

/// PATCH /entities/{id}/attrs/{attr}
pub async fn patch_attr(
    State(st): State<AppState>,
    Path((id, attr)): Path<(String, String)>,
    req: WriteReq,
) -> ApiResult<Response> {
    st.broker
        .patch_attr(&req.scope, &id, &attr, &req.body)
        .await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// PUT /entities/{id}/attrs/{attr}
pub async fn replace_attr(
    State(st): State<AppState>,
    Path((id, attr)): Path<(String, String)>,
    req: WriteReq,
) -> ApiResult<Response> {
    st.broker
        .replace_attr(&req.scope, &id, &attr, &req.body)
        .await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// DELETE /entities/{id}/attrs/{attr}
pub async fn delete_attr(
    State(st): State<AppState>,
    Path((id, attr)): Path<(String, String)>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    let delete_all = params::count(&Params::from([(
        "count".to_owned(),
        p.get("deleteAll")
            .cloned()
            .unwrap_or_else(|| "false".into()),
    )]))
    .map_err(|_| crate::error::ApiError::bad_data("deleteAll must be true or false"))?;
    st.broker
        .delete_attr(
            &req.scope,
            &id,
            &attr,
            p.get("datasetId").cloned(),
            delete_all,
        )
        .await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}
