//! `/ngsi-ld/v1/temporal/*`: the temporal evolution of entities.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use broker::temporal::{
    AggrMethod, InstanceFilter, TemporalFormat, TemporalRequest, TimeProperty, TimeRange,
};
use serde_json::Value;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ReadReq, WriteReq};
use crate::params::{self, Params};
use crate::respond;

const TEMPORAL_PARAMS: &[&str] = &[
    "id",
    "idPattern",
    "type",
    "attrs",
    "q",
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
    "timerel",
    "timeAt",
    "endTimeAt",
    "timeproperty",
    "lastN",
    "options",
    "format",
    "aggrMethods",
    "aggrPeriodDuration",
    "lang",
    "limit",
    "offset",
    "count",
    "local",
    "via",
    "pick",
    "omit",
    "scopeQ",
    "datasetId",
    "orderBy",
    "collation",
];

/// Reads the temporal parameters.
pub fn request(p: &Params, ctx: &jsonld::Context) -> ApiResult<TemporalRequest> {
    let window = ngsild_query::parse_time_window(
        p.get("timerel").map(String::as_str),
        p.get("timeAt").map(String::as_str),
        p.get("endTimeAt").map(String::as_str),
    )?;
    let property = match p.get("timeproperty").map(String::as_str) {
        None | Some("observedAt") => TimeProperty::ObservedAt,
        Some("createdAt") => TimeProperty::CreatedAt,
        Some("modifiedAt") => TimeProperty::ModifiedAt,
        Some("deletedAt") => TimeProperty::DeletedAt,
        Some(o) => return Err(ApiError::bad_data(format!("unknown timeproperty '{o}'"))),
    };
    let last_n = match p.get("lastN") {
        None => None,
        Some(n) => Some(
            n.parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ApiError::bad_data("lastN must be a positive integer"))?,
        ),
    };
    let attrs = match p.get("attrs") {
        Some(a) => Some(
            ngsild_query::parse_attr_list(a)?
                .iter()
                .map(|n| ctx.expand_term(n))
                .collect(),
        ),
        None => None,
    };
    let mut flags: Vec<&str> = p
        .get("options")
        .map(|o| o.split(',').map(str::trim).collect())
        .unwrap_or_default();
    if let Some(f) = p.get("format") {
        if ![
            "temporalValues",
            "aggregatedValues",
            "normalized",
            "simplified",
            "keyValues",
            "concise",
        ]
        .contains(&f.as_str())
        {
            return Err(ApiError::new(
                ngsild_proto::ErrorType::InvalidRequest,
                format!("unknown format '{f}'"),
            ));
        }
        flags.push(f);
    }
    // `format` names the representation; it wins over the options.
    if let Some(f) = p.get("format") {
        flags = vec![f.as_str()];
    }
    let format = if flags.contains(&"aggregatedValues") {
        TemporalFormat::Aggregated
    } else if flags.contains(&"temporalValues") {
        TemporalFormat::TemporalValues
    } else {
        TemporalFormat::Normalized
    };
    let mut plain = p.clone();
    plain.remove("format");
    if let Some(o) = p.get("options") {
        let rest: Vec<&str> = o
            .split(',')
            .map(str::trim)
            .filter(|f| !["temporalValues", "aggregatedValues"].contains(f))
            .collect();
        plain.insert("options".into(), rest.join(","));
    }
    let opts = params::render_options(&plain, ctx)?;
    let methods = match (&format, p.get("aggrMethods")) {
        (TemporalFormat::Aggregated, Some(list)) => list
            .split(',')
            .map(|m| {
                AggrMethod::parse(m.trim())
                    .ok_or_else(|| ApiError::bad_data(format!("unknown aggregation method '{m}'")))
            })
            .collect::<ApiResult<Vec<_>>>()?,
        (TemporalFormat::Aggregated, None) => {
            return Err(ApiError::bad_data("aggregatedValues needs aggrMethods"));
        }
        _ => Vec::new(),
    };
    let period = match p.get("aggrPeriodDuration") {
        Some(d) => Some(ngsild_query::parse_duration(d)?),
        None => None,
    };
    Ok(TemporalRequest {
        filter: InstanceFilter {
            attrs,
            range: TimeRange {
                property,
                from: window.from,
                to: window.to,
            },
            last_n,
        },
        format,
        methods,
        period,
        opts,
        page_size: None,
        order_by: match p.get("orderBy") {
            Some(o) => params::order_by(o, ctx)?,
            None => Vec::new(),
        },
    })
}

/// GET /temporal/entities/{id}
pub async fn retrieve(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    params::only(&p, TEMPORAL_PARAMS)?;
    req.no_geojson()?;
    let mut t = request(&p, &req.scope.ctx)?;
    t.page_size = Some(st.config.temporal_page_size);
    let (body, range) = st.temporal.retrieve(&req.scope, &id, &t).await?;
    Ok(partial(Value::Object(body), range, &req))
}

/// GET /temporal/entities
pub async fn query(
    State(st): State<AppState>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    params::only(&p, TEMPORAL_PARAMS)?;
    req.no_geojson()?;
    let q = params::entity_query(&p, &req.scope.ctx, false)?;
    // Ids alone are not enough (as for entity queries): a type, idPattern, attrs, q or geo-query.
    let selects = q
        .selectors
        .iter()
        .any(|s| s.types.is_some() || s.id_pattern.is_some());
    if !selects
        && q.attrs.is_none()
        && q.q.is_none()
        && q.geo.is_none()
        && p.get("local").map(String::as_str) != Some("true")
    {
        return Err(ApiError::bad_data(
            "a temporal query must name at least one of: id, idPattern, type, attrs",
        ));
    }
    let mut t = request(&p, &req.scope.ctx)?;
    t.page_size = Some(st.config.temporal_page_size);
    let limits = st.broker.limits();
    let (offset, limit) = params::paging(&p, limits.default_limit, limits.max_limit)?;
    let (list, total, range) = st.temporal.query(&req.scope, &q, &t, offset, limit).await?;
    let body = Value::Array(list.into_iter().map(Value::Object).collect());
    let resp = partial(body, range, &req);
    Ok(if params::count(&p)? {
        respond::with_count(resp, total)
    } else {
        resp
    })
}

/// 200, or 206 with Content-Range when the instances were cut.
fn partial(
    body: Value,
    range: Option<broker::temporal::service::ContentRange>,
    req: &ReadReq,
) -> Response {
    match range {
        None => respond::body(StatusCode::OK, body, req.accept, &req.ctx_ref),
        Some(r) => {
            let mut resp =
                respond::body(StatusCode::PARTIAL_CONTENT, body, req.accept, &req.ctx_ref);
            if let Ok(v) = axum::http::HeaderValue::from_str(&r.header()) {
                resp.headers_mut()
                    .insert(axum::http::header::CONTENT_RANGE, v);
            }
            resp
        }
    }
}

/// POST /temporal/entities
pub async fn upsert(State(st): State<AppState>, req: WriteReq) -> ApiResult<Response> {
    let (created, latest) = st.temporal.upsert(&req.scope, &req.body).await?;
    if st.config.temporal_upsert_current {
        st.broker.absorb(&req.scope, latest).await?;
    }
    let id = req
        .body
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(if created {
        respond::created(&format!("/ngsi-ld/v1/temporal/entities/{id}"))
    } else {
        respond::status(StatusCode::NO_CONTENT)
    })
}

/// DELETE /temporal/entities/{id}
pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: ReadReq,
) -> ApiResult<Response> {
    st.temporal.delete_entity(&req.scope, &id).await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// POST /temporal/entities/{id}/attrs
pub async fn append(
    State(st): State<AppState>,
    Path(id): Path<String>,
    req: WriteReq,
) -> ApiResult<Response> {
    let latest = st.temporal.append(&req.scope, &id, &req.body).await?;
    if st.config.temporal_upsert_current {
        st.broker.absorb(&req.scope, latest).await?;
    }
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// DELETE /temporal/entities/{id}/attrs/{attr}
pub async fn delete_attr(
    State(st): State<AppState>,
    Path((id, attr)): Path<(String, String)>,
    Query(p): Query<Params>,
    req: ReadReq,
) -> ApiResult<Response> {
    let all = p.get("deleteAll").map(String::as_str) == Some("true");
    st.temporal
        .delete_attr(
            &req.scope,
            &id,
            &attr,
            p.get("datasetId").map(String::as_str),
            all,
        )
        .await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// PATCH /temporal/entities/{id}/attrs/{attr}/{instance}
pub async fn modify_instance(
    State(st): State<AppState>,
    Path((id, attr, instance)): Path<(String, String, String)>,
    req: WriteReq,
) -> ApiResult<Response> {
    st.temporal
        .modify_instance(&req.scope, &id, &attr, &instance, &req.body)
        .await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// DELETE /temporal/entities/{id}/attrs/{attr}/{instance}
pub async fn delete_instance(
    State(st): State<AppState>,
    Path((id, attr, instance)): Path<(String, String, String)>,
    req: ReadReq,
) -> ApiResult<Response> {
    st.temporal
        .delete_instance(&req.scope, &id, &attr, &instance)
        .await?;
    Ok(respond::status(StatusCode::NO_CONTENT))
}

/// POST /temporal/entityOperations/query: the Query data type with `temporalQ`, mapped onto
/// the parameters of GET /temporal/entities.
pub async fn query_post(
    State(st): State<AppState>,
    Query(mut p): Query<Params>,
    req: WriteReq,
) -> ApiResult<Response> {
    let body = req
        .body
        .as_object()
        .ok_or_else(|| ApiError::bad_data("the query must be a JSON object"))?;
    if body.get("type").and_then(Value::as_str) != Some("Query") {
        return Err(ApiError::bad_data("the query's type must be 'Query'"));
    }
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(sel) = body
        .get("entities")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        for (member, param) in [("type", "type"), ("id", "id"), ("idPattern", "idPattern")] {
            if let Some(v) = sel.get(member).and_then(text) {
                p.insert(param.into(), v);
            }
        }
    }
    if let Some(attrs) = body.get("attrs").and_then(Value::as_array) {
        p.insert(
            "attrs".into(),
            attrs
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if let Some(tq) = body.get("temporalQ").and_then(Value::as_object) {
        for k in ["timerel", "timeAt", "endTimeAt", "timeproperty"] {
            if let Some(v) = tq.get(k).and_then(text) {
                p.insert(k.into(), v);
            }
        }
        if let Some(n) = tq.get("lastN").and_then(Value::as_u64) {
            p.insert("lastN".into(), n.to_string());
        }
    }
    if let Some(q) = body.get("q").and_then(text) {
        p.insert("q".into(), q);
    }
    let read = ReadReq {
        scope: req.scope.clone(),
        accept: req.accept,
        ctx_ref: Value::String(req.scope.ctx.core_url().to_owned()),
    };
    query(State(st), Query(p), read).await
}
