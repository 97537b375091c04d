//! `/ngsi-ld/v1/entityOperations/*`: batch create, upsert, update, merge, delete and query.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use broker::query::{EntityQuery, EntitySelector};
use broker::service::BatchOutcome;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult, problem};
use crate::extract::{Accept, ReadReq, WriteReq};
use crate::params::{self, Params};
use crate::respond;

fn items(body: &Value) -> ApiResult<&[Value]> {
    match body {
        Value::Array(a) if !a.is_empty() => Ok(a),
        Value::Array(_) => Err(ApiError::bad_data("a batch needs at least one entity")),
        _ => Err(ApiError::bad_data("a batch body must be a JSON array")),
    }
}

/// Splits a batch into the entities to process and per-entity errors for those whose
/// `@context` use does not fit the media type.
fn checked(req: &WriteReq) -> ApiResult<(Vec<Value>, Vec<BatchOutcome>)> {
    let mut ok = Vec::new();
    let mut refused = Vec::new();
    for item in items(&req.body)? {
        let has_ctx = item.get("@context").is_some();
        let id = item
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if has_ctx && !req.ld {
            refused.push(Err((
                id,
                broker::BrokerError::bad_data(
                    "application/json entities must not carry an @context",
                ),
            )));
        } else if !has_ctx && req.ld && item.is_object() {
            refused.push(Err((
                id,
                broker::BrokerError::bad_data(
                    "application/ld+json entities must carry an @context",
                ),
            )));
        } else {
            ok.push(item.clone());
        }
    }
    Ok((ok, refused))
}

/// 201 with the created ids, 204, or 207 with per-entity outcomes.
fn respond_batch(outcomes: Vec<BatchOutcome>, created_status: bool) -> Response {
    let mut success = Vec::new();
    let mut created = Vec::new();
    let mut errors = Vec::new();
    for o in outcomes {
        match o {
            Ok(s) => {
                if s.created {
                    created.push(Value::String(s.id.clone()));
                }
                success.push(Value::String(s.id));
            }
            Err((id, e)) => errors.push(json!({ "entityId": id, "error": problem(&e) })),
        }
    }
    if !errors.is_empty() {
        let body = json!({ "success": success, "errors": errors });
        return respond::body(StatusCode::MULTI_STATUS, body, Accept::Json, &Value::Null);
    }
    if created_status && !created.is_empty() {
        return respond::body(
            StatusCode::CREATED,
            Value::Array(created),
            Accept::Json,
            &Value::Null,
        );
    }
    respond::status(StatusCode::NO_CONTENT)
}

/// POST /entityOperations/{op}
pub async fn operation(
    State(st): State<AppState>,
    Path(op): Path<String>,
    Query(p): Query<Params>,
    req: WriteReq,
) -> ApiResult<Response> {
    let s = &req.scope;
    let o = params::options(&p)?;
    let b = &st.broker;
    if !["create", "upsert", "update", "merge", "delete", "query"].contains(&op.as_str()) {
        return Err(ApiError::new(
            ngsild_proto::ErrorType::ResourceNotFound,
            format!("no entity operation '{op}'"),
        ));
    }
    if op == "query" {
        return query(st, p, req).await;
    }
    if op == "delete" {
        return Ok(respond_batch(
            b.batch_delete(s, items(&req.body)?).await?,
            false,
        ));
    }
    let (entities, mut refused) = checked(&req)?;
    let mut outcomes = Vec::with_capacity(entities.len());
    for (scope, group) in by_context(&st, &req, entities, &mut refused).await {
        let s = &scope;
        outcomes.extend(match op.as_str() {
            "create" => b.batch_create(s, &group).await?,
            "upsert" => b.batch_upsert(s, &group, o.update).await?,
            "update" => b.batch_update(s, &group, o.no_overwrite).await?,
            _ => b.batch_merge(s, &group).await?,
        });
    }
    outcomes.append(&mut refused);
    Ok(respond_batch(outcomes, op == "create" || op == "upsert"))
}

/// Groups JSON-LD batch entities by their own `@context` (resolved once per distinct
/// context); an entity whose context cannot be had fails alone. Plain JSON batches form one
/// group with the request's context.
async fn by_context(
    st: &AppState,
    req: &WriteReq,
    entities: Vec<Value>,
    refused: &mut Vec<BatchOutcome>,
) -> Vec<(broker::Scope, Vec<Value>)> {
    if !req.ld {
        return if entities.is_empty() {
            Vec::new()
        } else {
            vec![(req.scope.clone(), entities)]
        };
    }
    let mut groups: Vec<(String, broker::Scope, Vec<Value>)> = Vec::new();
    for item in entities {
        let ctx_value = item.get("@context").cloned().unwrap_or(Value::Null);
        let key = ctx_value.to_string();
        if let Some(g) = groups.iter_mut().find(|g| g.0 == key) {
            g.2.push(item);
            continue;
        }
        match st.contexts.active(Some(&ctx_value)).await {
            Ok(ctx) => {
                let scope = broker::Scope {
                    tenant: req.scope.tenant.clone(),
                    ctx,
                };
                groups.push((key, scope, vec![item]));
            }
            Err(e) => {
                let id = item
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                refused.push(Err((id, e.into())));
            }
        }
    }
    groups.into_iter().map(|(_, s, g)| (s, g)).collect()
}

/// A string member of a Query object: absent is fine, any other JSON type is an error.
fn text<'a>(v: &'a Value, name: &str) -> ApiResult<Option<&'a str>> {
    match v.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_data(format!("'{name}' must be a string"))),
    }
}

/// POST /entityOperations/query: the Query data type in the body.
async fn query(st: AppState, p: Params, req: WriteReq) -> ApiResult<Response> {
    let ctx = &req.scope.ctx;
    let body = req
        .body
        .as_object()
        .ok_or_else(|| ApiError::bad_data("the query must be a JSON object"))?;
    if body.get("type").and_then(Value::as_str) != Some("Query") {
        return Err(ApiError::bad_data("the query's type must be 'Query'"));
    }
    let mut q = EntityQuery::default();
    if let Some(list) = body.get("entities") {
        let list = list
            .as_array()
            .ok_or_else(|| ApiError::bad_data("'entities' must be an array"))?;
        for sel in list {
            let mut s = EntitySelector::default();
            if let Some(id) = sel.get("id") {
                let id = id
                    .as_str()
                    .ok_or_else(|| ApiError::bad_data("selector id must be a string"))?;
                broker::service::check_id(id)?;
                s.id = Some(id.to_owned());
            }
            if !sel.is_object() {
                return Err(ApiError::bad_data(
                    "each entry of 'entities' must be an object",
                ));
            }
            if let Some(pat) = text(sel, "idPattern")? {
                s.id_pattern = Some(params::id_pattern(pat)?);
            }
            if let Some(t) = text(sel, "type")? {
                let mut te = ngsild_query::parse_type_expr(t)?;
                te.map_names(&mut |n| ctx.expand_term(n));
                s.types = Some(te);
            }
            q.selectors.push(s);
        }
    }
    if let Some(attrs) = body.get("attrs") {
        let list = attrs
            .as_array()
            .ok_or_else(|| ApiError::bad_data("'attrs' must be an array"))?;
        q.attrs = Some(
            list.iter()
                .map(|a| {
                    a.as_str()
                        .map(|s| ctx.expand_term(s))
                        .ok_or_else(|| ApiError::bad_data("attribute names must be strings"))
                })
                .collect::<ApiResult<_>>()?,
        );
    }
    let whole = Value::Object(body.clone());
    if let Some(qtext) = text(&whole, "q")? {
        let mut expr = ngsild_query::parse_q(qtext)?;
        expr.map_names(&mut |n| ctx.expand_term(n));
        q.q = Some(expr);
    }
    if let Some(s) = text(&whole, "scopeQ")? {
        q.scope = Some(ngsild_query::parse_scope_q(s)?);
    }
    if let Some(g) = body.get("geoQ") {
        let rel = text(g, "georel")?.ok_or_else(|| ApiError::bad_data("geoQ needs georel"))?;
        let geom = text(g, "geometry")?.ok_or_else(|| ApiError::bad_data("geoQ needs geometry"))?;
        let coords = match g.get("coordinates") {
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
            None => return Err(ApiError::bad_data("geoQ needs coordinates")),
        };
        let mut gq = ngsild_query::parse_geo_query(rel, geom, &coords, text(g, "geoproperty")?)?;
        gq.geoproperty = ctx.expand_term(&gq.geoproperty);
        q.geo = Some(gq);
    }
    let mut render_params = p.clone();
    if let Some(Value::String(l)) = body.get("lang") {
        render_params.insert("lang".into(), l.clone());
    }
    // Members of the Query object that shape the output like URL parameters do.
    for member in [
        "join",
        "joinLevel",
        "geometryProperty",
        "pick",
        "omit",
        "datasetId",
    ] {
        match body.get(member) {
            Some(Value::String(v)) => {
                render_params.insert(member.into(), v.clone());
            }
            Some(Value::Number(n)) => {
                render_params.insert(member.into(), n.to_string());
            }
            Some(Value::Array(items)) => {
                let parts: Vec<String> = items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                render_params.insert(member.into(), parts.join(","));
            }
            _ => {}
        }
    }
    if let Some(attrs) = body.get("attrs").and_then(Value::as_array) {
        let names: Vec<&str> = attrs.iter().filter_map(Value::as_str).collect();
        render_params.insert("attrs".into(), names.join(","));
    }
    let opts = params::render_options(&render_params, ctx)?;
    let limits = st.broker.limits();
    let (offset, limit) = params::paging(&p, limits.default_limit, limits.max_limit)?;
    let count = params::count(&p)?;
    let page = st
        .broker
        .query(&req.scope, &q, offset, limit, count)
        .await?;
    let ctx_ref = Value::String(ctx.core_url().to_owned());
    let read = ReadReq {
        scope: req.scope.clone(),
        accept: req.accept,
        ctx_ref,
    };
    let resp =
        crate::entities::render_page(&st, &page.entities, &render_params, &read, &opts).await?;
    Ok(if count {
        respond::with_count(resp, page.total)
    } else {
        resp
    })
}
