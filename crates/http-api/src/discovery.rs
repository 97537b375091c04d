//! Type and attribute discovery: `/types`, `/types/{type}`, `/attributes`, `/attributes/{attr}`.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use broker::model::Name;
use broker::query::EntityQuery;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ReadReq;
use crate::params::Params;
use crate::respond;

fn details(p: &Params) -> ApiResult<bool> {
    match p.get("details").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(o) => Err(ApiError::bad_data(format!(
            "details must be true or false, not '{o}'"
        ))),
    }
}

/// Per type: entity count and attribute name -> attribute kinds.
type TypeIndex = BTreeMap<String, (usize, BTreeMap<Name, BTreeSet<&'static str>>)>;

async fn index(st: &AppState, req: &ReadReq) -> ApiResult<TypeIndex> {
    let all = st.broker.all(&req.scope, &EntityQuery::default()).await?;
    let mut idx: TypeIndex = BTreeMap::new();
    for e in all {
        for t in &e.types {
            let entry = idx.entry(t.clone()).or_default();
            entry.0 += 1;
            for (name, instances) in &e.attrs {
                let kinds = entry.1.entry(name.clone()).or_default();
                kinds.extend(instances.iter().map(|a| a.kind.type_name()));
            }
        }
    }
    Ok(idx)
}

fn list_id(kind: &str) -> String {
    format!("urn:ngsi-ld:{kind}:{}", std::process::id())
}

/// GET /types
pub async fn types(
    State(st): State<AppState>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    crate::params::only(&p, &["details", "local", "via"])?;
    let idx = index(&st, &req).await?;
    let ctx = &req.scope.ctx;
    let body = if details(&p)? {
        Value::Array(
            idx.iter()
                .map(|(t, (_, attrs))| {
                    json!({
                        "id": t, "type": "EntityType", "typeName": ctx.compact_iri(t),
                        "attributeNames": attrs.keys().map(|a| ctx.compact_iri(a)).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    } else {
        json!({
            "id": list_id("EntityTypeList"), "type": "EntityTypeList",
            "typeList": idx.keys().map(|t| ctx.compact_iri(t)).collect::<Vec<_>>(),
        })
    };
    Ok(respond::body(
        StatusCode::OK,
        body,
        req.accept,
        &req.ctx_ref,
    ))
}

/// GET /types/{type}
pub async fn type_info(
    State(st): State<AppState>,
    Path(ty): Path<String>,
    req: ReadReq,
) -> ApiResult<Response> {
    let ctx = &req.scope.ctx;
    let expanded = ctx.expand_term(&ty);
    let idx = index(&st, &req).await?;
    let (count, attrs) = idx.get(&expanded).ok_or_else(|| {
        ApiError(broker::BrokerError::not_found(format!(
            "no entity of type '{ty}'"
        )))
    })?;
    let body = json!({
        "id": expanded, "type": "EntityTypeInfo", "typeName": ctx.compact_iri(&expanded), "entityCount": count,
        "attributeDetails": attrs.iter().map(|(a, kinds)| json!({
            "id": &**a, "type": "Attribute", "attributeName": ctx.compact_iri(a), "attributeTypes": kinds.iter().collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    Ok(respond::body(
        StatusCode::OK,
        body,
        req.accept,
        &req.ctx_ref,
    ))
}

/// Per attribute: instance count, kinds, and the types of entities that have it.
type AttrIndex = BTreeMap<Name, (usize, BTreeSet<&'static str>, BTreeSet<String>)>;

async fn attr_index(st: &AppState, req: &ReadReq) -> ApiResult<AttrIndex> {
    let all = st.broker.all(&req.scope, &EntityQuery::default()).await?;
    let mut idx: AttrIndex = BTreeMap::new();
    for e in all {
        for (name, instances) in &e.attrs {
            let entry = idx.entry(name.clone()).or_default();
            entry.0 += instances.len();
            entry.1.extend(instances.iter().map(|a| a.kind.type_name()));
            entry.2.extend(e.types.iter().cloned());
        }
    }
    Ok(idx)
}

/// GET /attributes
pub async fn attributes(
    State(st): State<AppState>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    crate::params::only(&p, &["details", "local", "via"])?;
    let idx = attr_index(&st, &req).await?;
    let ctx = &req.scope.ctx;
    let body = if details(&p)? {
        Value::Array(
            idx.iter()
                .map(|(a, (_, _, types))| {
                    json!({
                        "id": &**a, "type": "Attribute", "attributeName": ctx.compact_iri(a),
                        "typeNames": types.iter().map(|t| ctx.compact_iri(t)).collect::<Vec<_>>(),
                    })
                })
                .collect(),
        )
    } else {
        json!({
            "id": list_id("AttributeList"), "type": "AttributeList",
            "attributeList": idx.keys().map(|a| ctx.compact_iri(a)).collect::<Vec<_>>(),
        })
    };
    Ok(respond::body(
        StatusCode::OK,
        body,
        req.accept,
        &req.ctx_ref,
    ))
}

/// GET /attributes/{attr}
pub async fn attribute_info(
    State(st): State<AppState>,
    Path(attr): Path<String>,
    req: ReadReq,
) -> ApiResult<Response> {
    let ctx = &req.scope.ctx;
    let expanded = ctx.expand_term(&attr);
    let idx = attr_index(&st, &req).await?;
    let (count, kinds, types) = idx.get(expanded.as_str()).ok_or_else(|| {
        ApiError(broker::BrokerError::not_found(format!(
            "no attribute '{attr}'"
        )))
    })?;
    let body = json!({
        "id": expanded, "type": "Attribute", "attributeName": ctx.compact_iri(&expanded), "attributeCount": count,
        "attributeTypes": kinds.iter().collect::<Vec<_>>(),
        "typeNames": types.iter().map(|t| ctx.compact_iri(t)).collect::<Vec<_>>(),
    });
    Ok(respond::body(
        StatusCode::OK,
        body,
        req.accept,
        &req.ctx_ref,
    ))
}
