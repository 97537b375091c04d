//! `/leitstelle/v1`: the computed views of the Leitstelle (matrix, synergies, ranking,
//! sustainability check, radar, workflow status) and the few actions that are not plain
//! entity writes (adapting the maturity model, versioning the ranking weights, seeding the
//! default domains). The governance objects themselves are NGSI-LD entities written through
//! `/ngsi-ld/v1`.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use broker::Scope;
use chrono::NaiveDate;
use leitstelle::maturity::{MaturityModel, Weights};
use leitstelle::vocab::{self, attr};
use leitstelle::{catalogue, gate, matrix, radar, ranking, synergy, workflow};
use ngsild_proto::ErrorType;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::tenant;
use crate::params::{Params, only};

/// The absolute URL of the Leitstelle context on this installation.
pub fn context_url(public_base: &str) -> String {
    format!(
        "{}{}",
        public_base.trim_end_matches('/'),
        vocab::CONTEXT_PATH
    )
}

async fn scope(st: &AppState, headers: &HeaderMap) -> ApiResult<Scope> {
    Ok(Scope {
        tenant: tenant(headers)?,
        ctx: st.contexts.active(None).await?,
    })
}

/// GET /leitstelle/v1: where to start.
pub async fn index(State(st): State<AppState>) -> Json<Value> {
    let context = context_url(&st.config.public_base);
    Json(json!({
        "context": context,
        "defaultMaturityModel": MaturityModel::default().to_json(),
        "defaultWeights": Weights::default().to_json(),
        "defaultDomains": "/leitstelle/v1/domains/defaults",
        "steps": [
            "1 adapt the maturity model: PUT /leitstelle/v1/agendas/{id}/maturity-model",
            "2 choose the central domains: the Agenda's centralDomains Relationship",
            "3 targets per domain, classified by stage: Target entities",
            "4 the domain x domain matrix: GET /leitstelle/v1/agendas/{id}/matrix",
            "5 synergies and priorities: GET /leitstelle/v1/agendas/{id}/synergies, /ranking, /sustainability",
        ],
        "radar": "/leitstelle/v1/agendas/{id}/radar",
    }))
}

/// GET /leitstelle/v1/context.jsonld: the JSON-LD context of the governance vocabulary.
pub async fn context() -> Response {
    let mut r = vocab::CONTEXT.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json"),
    );
    r
}

/// GET /leitstelle/v1/domains/defaults: the default domain catalogue.
pub async fn default_domains() -> Json<Value> {
    Json(Value::Array(catalogue::default_domains()))
}

/// POST /leitstelle/v1/domains/defaults: creates the default domains the tenant lacks.
pub async fn seed_domains(State(st): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    let s = scope(&st, &headers).await?;
    let outcomes = st
        .broker
        .batch_create(&s, &catalogue::default_domains())
        .await?;
    let (mut created, mut existing) = (Vec::new(), Vec::new());
    for o in outcomes {
        match o {
            Ok(ok) => created.push(ok.id),
            Err((id, e)) if e.kind == ErrorType::AlreadyExists => existing.push(id),
            Err((_, e)) => return Err(e.into()),
        }
    }
    let status = if created.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({"created": created, "existing": existing})),
    )
        .into_response())
}

async fn load(
    st: &AppState,
    headers: &HeaderMap,
    id: &str,
) -> ApiResult<(leitstelle::model::Portfolio, leitstelle::model::Agenda)> {
    broker::service::check_id(id)?;
    let t = tenant(headers)?;
    Ok(st.leitstelle.agenda(&t, id).await?)
}

fn body_json(body: &axum::body::Bytes) -> ApiResult<Value> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            ErrorType::InvalidRequest,
            format!("the body is not valid JSON: {e}"),
        )
    })
}

async fn set_attr(st: &AppState, s: &Scope, id: &str, name: &str, value: Value) -> ApiResult<()> {
    let frag = json!({ name: {"type": "Property", "value": value} });
    st.broker.append_attrs(s, id, &frag, false).await?;
    Ok(())
}

/// GET /leitstelle/v1/agendas/{id}/maturity-model
pub async fn get_model(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, a) = load(&st, &headers, &id).await?;
    Ok(Json(json!({
        "agenda": a.id,
        "adapted": a.maturity.is_some(),
        "model": a.maturity.unwrap_or_default().to_json(),
    })))
}

/// PUT /leitstelle/v1/agendas/{id}/maturity-model: step 1, adapt the stage ↔ TRL mapping.
pub async fn put_model(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let v = body_json(&body)?;
    let model = MaturityModel::from_json(&v).map_err(ApiError::bad_data)?;
    let (_, a) = load(&st, &headers, &id).await?;
    let s = scope(&st, &headers).await?;
    set_attr(&st, &s, &a.id, attr::MATURITY_MODEL, model.to_json()).await?;
    Ok(Json(
        json!({"agenda": a.id, "adapted": true, "model": model.to_json()}),
    ))
}

/// GET /leitstelle/v1/agendas/{id}/weights
pub async fn get_weights(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, a) = load(&st, &headers, &id).await?;
    Ok(Json(json!({
        "agenda": a.id,
        "weights": a.weights.to_json(),
        "history": format!("/ngsi-ld/v1/temporal/entities/{}?attrs={}", a.id, attr::RANKING_WEIGHTS),
    })))
}

/// PUT /leitstelle/v1/agendas/{id}/weights: a new version of the ranking weights.
pub async fn put_weights(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let v = body_json(&body)?;
    let w = Weights::from_json(&v).map_err(ApiError::bad_data)?;
    let (_, a) = load(&st, &headers, &id).await?;
    if w.version <= a.weights.version {
        return Err(ApiError::new(
            ErrorType::Conflict,
            format!(
                "weights version {} is not newer than the current version {}",
                w.version, a.weights.version
            ),
        ));
    }
    let s = scope(&st, &headers).await?;
    set_attr(&st, &s, &a.id, attr::RANKING_WEIGHTS, w.to_json()).await?;
    Ok(Json(json!({"agenda": a.id, "weights": w.to_json()})))
}

fn positive(p: &Params, name: &str, default: f64) -> ApiResult<f64> {
    match p.get(name) {
        None => Ok(default),
        Some(s) => s
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
            .ok_or_else(|| {
                ApiError::bad_data(format!("{name} must be a positive number, not '{s}'"))
            }),
    }
}

fn months(p: &Params, name: &str, default: u32) -> ApiResult<u32> {
    match p.get(name) {
        None => Ok(default),
        Some(s) => s.parse::<u32>().ok().filter(|x| *x <= 1200).ok_or_else(|| {
            ApiError::bad_data(format!("{name} must be a number of months, not '{s}'"))
        }),
    }
}

/// GET /leitstelle/v1/agendas/{id}/workflow
pub async fn workflow(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<workflow::Workflow>> {
    let (pf, a) = load(&st, &headers, &id).await?;
    Ok(Json(workflow::compute(&pf, &a)))
}

/// GET /leitstelle/v1/agendas/{id}/targets
pub async fn targets(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (pf, a) = load(&st, &headers, &id).await?;
    Ok(Json(workflow::targets(&pf, &a)))
}

/// GET /leitstelle/v1/agendas/{id}/matrix
pub async fn matrix(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<matrix::Matrix>> {
    let (pf, a) = load(&st, &headers, &id).await?;
    Ok(Json(matrix::compute(&pf, &a)))
}

/// GET /leitstelle/v1/agendas/{id}/matrix/cell?row=&col=: the drill-down into one cell.
pub async fn cell(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Json<Value>> {
    only(&p, &["row", "col"])?;
    let (Some(row), Some(col)) = (p.get("row"), p.get("col")) else {
        return Err(ApiError::bad_data("row and col (domain ids) are required"));
    };
    let (pf, a) = load(&st, &headers, &id).await?;
    let model = a.maturity.clone().unwrap_or_default();
    let projects: Vec<Value> = pf
        .projects_of(&a.id)
        .into_iter()
        .filter(|x| matrix::in_cell(x, row, col))
        .map(|x| {
            json!({"id": x.id, "name": x.name, "domains": x.domains,
                   "stage": matrix::stage_of(x, &model), "trl": x.trl})
        })
        .collect();
    Ok(Json(
        json!({"agenda": a.id, "row": row, "col": col, "projects": projects}),
    ))
}

/// GET /leitstelle/v1/agendas/{id}/synergies?radius=
pub async fn synergies(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Json<synergy::Synergies>> {
    only(&p, &["radius"])?;
    let radius = positive(&p, "radius", 250.0)?;
    let (pf, a) = load(&st, &headers, &id).await?;
    Ok(Json(synergy::compute(&pf, &a, radius)))
}

/// GET /leitstelle/v1/agendas/{id}/ranking?radius=
pub async fn ranking(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Json<ranking::Ranking>> {
    only(&p, &["radius"])?;
    let radius = positive(&p, "radius", 250.0)?;
    let (pf, a) = load(&st, &headers, &id).await?;
    let syn = synergy::compute(&pf, &a, radius);
    Ok(Json(ranking::compute(&pf, &a, &syn)))
}

/// GET /leitstelle/v1/agendas/{id}/sustainability
pub async fn sustainability(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (pf, a) = load(&st, &headers, &id).await?;
    let verdicts = gate::compute(&pf, &a);
    Ok(Json(json!({"agenda": a.id, "projects": verdicts})))
}

/// GET /leitstelle/v1/agendas/{id}/radar?at=&radius=&stuckMonths=&grantMonths=
pub async fn radar(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Json<Value>> {
    only(&p, &["at", "radius", "stuckMonths", "grantMonths"])?;
    let at = match p.get("at") {
        None => chrono::Utc::now().date_naive(),
        Some(s) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_data(format!("at must be a date YYYY-MM-DD, not '{s}'")))?,
    };
    let mut settings = radar::Settings::at(at);
    settings.radius_m = positive(&p, "radius", settings.radius_m)?;
    settings.stuck_months = months(&p, "stuckMonths", settings.stuck_months)?;
    settings.grant_months = months(&p, "grantMonths", settings.grant_months)?;
    let (pf, a) = load(&st, &headers, &id).await?;
    let flags = radar::compute(&pf, &a, &settings);
    Ok(Json(json!({
        "agenda": a.id,
        "at": at.to_string(),
        "settings": {"radius": settings.radius_m, "stuckMonths": settings.stuck_months,
                     "grantMonths": settings.grant_months},
        "flags": flags,
    })))
}

/// The `at` parameter (RFC 3339) of a computation; default now.
fn instant(p: &Params) -> ApiResult<chrono::DateTime<chrono::Utc>> {
    match p.get("at") {
        None => Ok(chrono::Utc::now()),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| {
                ApiError::bad_data(format!("at must be an RFC 3339 date-time, not '{s}'"))
            }),
    }
}

/// GET /leitstelle/v1/agendas/{id}/indicators: the agenda's indicators with their current
/// value, coverage and status.
pub async fn indicators(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, a) = load(&st, &headers, &id).await?;
    let t = tenant(&headers)?;
    let list: Vec<Value> = st
        .leitstelle
        .indicators(&t, Some(&a.id))
        .await?
        .iter()
        .map(|i| i.to_json())
        .collect();
    Ok(Json(json!({"agenda": a.id, "indicators": list})))
}

/// POST /leitstelle/v1/agendas/{id}/indicators/compute?at=: computes all of them now.
pub async fn compute_agenda(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Json<Value>> {
    only(&p, &["at"])?;
    let at = instant(&p)?;
    let (_, a) = load(&st, &headers, &id).await?;
    let t = tenant(&headers)?;
    let out = st.leitstelle.compute_agenda(&t, &a.id, at).await?;
    Ok(Json(json!({"agenda": a.id, "results": out})))
}

/// POST /leitstelle/v1/indicators/{id}/compute?at=: computes one indicator now; a failing
/// query answers 200 with `indicatorStatus: "error"` and the message, as stored on the KPI.
pub async fn compute(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Json<Value>> {
    only(&p, &["at"])?;
    let at = instant(&p)?;
    broker::service::check_id(&id)?;
    let t = tenant(&headers)?;
    Ok(Json(st.leitstelle.compute(&t, &id, at).await?))
}

/// POST /leitstelle/v1/indicators/{id}/value: enters a manual indicator's value
/// (`{"value": n, "evidence": "...", "observedAt": optional RFC 3339}`).
pub async fn enter_value(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Json<Value>> {
    let v = body_json(&body)?;
    let value = v
        .get("value")
        .and_then(Value::as_f64)
        .ok_or_else(|| ApiError::bad_data("'value' (a number) is required"))?;
    let evidence = v
        .get("evidence")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let at = match v.get("observedAt").and_then(Value::as_str) {
        None => chrono::Utc::now(),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| ApiError::bad_data(format!("observedAt must be RFC 3339, not '{s}'")))?,
    };
    broker::service::check_id(&id)?;
    let t = tenant(&headers)?;
    Ok(Json(
        st.leitstelle.enter(&t, &id, value, evidence, at).await?,
    ))
}

pub(crate) fn report_params(p: &Params) -> ApiResult<(NaiveDate, NaiveDate, String)> {
    let day = |name: &str| -> ApiResult<Option<NaiveDate>> {
        p.get(name)
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    ApiError::bad_data(format!("{name} must be a date YYYY-MM-DD, not '{s}'"))
                })
            })
            .transpose()
    };
    let to = day("to")?.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let from = day("from")?.unwrap_or(to - chrono::Duration::days(90));
    if from > to {
        return Err(ApiError::bad_data("from must not be after to"));
    }
    let lang = p.get("lang").map_or("de", String::as_str);
    if lang != "de" && lang != "en" {
        return Err(ApiError::bad_data(format!(
            "lang must be de or en, not '{lang}'"
        )));
    }
    Ok((from, to, lang.to_owned()))
}

fn html_response(body: String) -> Response {
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// The report as HTML, or as PDF with `format=pdf`.
fn rendered(
    p: &Params,
    snap: &leitstelle::report::Snapshot,
    d: &leitstelle::report::Diff,
    lang: &str,
) -> ApiResult<Response> {
    render_as(p.get("format").map(String::as_str), snap, d, lang)
}

/// The report in `format` (`html`, the default, or `pdf`).
pub(crate) fn render_as(
    format: Option<&str>,
    snap: &leitstelle::report::Snapshot,
    d: &leitstelle::report::Diff,
    lang: &str,
) -> ApiResult<Response> {
    match format {
        None | Some("html") => Ok(html_response(leitstelle::report::html(
            snap,
            d,
            lang,
            &generated(lang),
        ))),
        Some("pdf") => {
            let mut r = leitstelle::pdf::pdf(snap, d, lang, &generated(lang)).into_response();
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/pdf"),
            );
            Ok(r)
        }
        Some(other) => Err(ApiError::bad_data(format!(
            "format must be html or pdf, not '{other}'"
        ))),
    }
}

fn generated(lang: &str) -> String {
    let now = broker::render::timestamp(&chrono::Utc::now());
    if lang == "en" {
        format!("Generated {now}")
    } else {
        format!("Erstellt am {now}")
    }
}

/// GET /leitstelle/v1/agendas/{id}/report?from=&to=&lang=: the progress report of the
/// current data as HTML (not stored), compared with the latest stored report.
pub async fn report(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Response> {
    only(&p, &["from", "to", "lang", "format"])?;
    let (from, to, lang) = report_params(&p)?;
    let (_, a) = load(&st, &headers, &id).await?;
    let t = tenant(&headers)?;
    let snap = st.leitstelle.report_snapshot(&t, &a.id, from, to).await?;
    let prev = st.leitstelle.reports(&t, &a.id).await?.pop();
    let d = leitstelle::report::diff(prev.as_ref().map(|r| &r.snapshot), &snap);
    rendered(&p, &snap, &d, &lang)
}

/// POST /leitstelle/v1/agendas/{id}/reports?from=&to=: stores the next version.
pub async fn store_report(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Response> {
    only(&p, &["from", "to"])?;
    let (from, to, _) = report_params(&p)?;
    let (_, a) = load(&st, &headers, &id).await?;
    let t = tenant(&headers)?;
    let snap = st.leitstelle.report_snapshot(&t, &a.id, from, to).await?;
    let r = st.leitstelle.store_report(&t, &snap).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": r.id, "version": r.version, "agenda": a.id,
            "html": format!("/leitstelle/v1/reports/{}", r.id),
            "entity": format!("/ngsi-ld/v1/entities/{}", r.id)})),
    )
        .into_response())
}

/// GET /leitstelle/v1/agendas/{id}/reports: the stored versions.
pub async fn list_reports(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (_, a) = load(&st, &headers, &id).await?;
    let t = tenant(&headers)?;
    let list: Vec<Value> = st
        .leitstelle
        .reports(&t, &a.id)
        .await?
        .iter()
        .map(|r| {
            let mut v = json!({"id": r.id, "version": r.version, "from": r.snapshot.from,
                "to": r.snapshot.to, "html": format!("/leitstelle/v1/reports/{}", r.id),
                "published": r.publication.is_some()});
            if let (Some(p), Some(o)) = (&r.publication, v.as_object_mut()) {
                o.insert("publication".into(), p.to_json());
            }
            v
        })
        .collect();
    Ok(Json(json!({"agenda": a.id, "reports": list})))
}

/// GET /leitstelle/v1/reports/{id}?lang=: a stored report as HTML, with the changes since
/// the version before it.
pub async fn stored_report(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(p): Query<Params>,
) -> ApiResult<Response> {
    only(&p, &["lang", "format"])?;
    let (_, _, lang) = report_params(&p)?;
    broker::service::check_id(&id)?;
    let t = tenant(&headers)?;
    let (r, prev) = st.leitstelle.stored_report(&t, &id).await?;
    let d = leitstelle::report::diff(prev.as_ref().map(|x| &x.snapshot), &r.snapshot);
    rendered(&p, &r.snapshot, &d, &lang)
}

/// POST /leitstelle/v1/reports/{id}/publication: publishes a stored report as open data
/// (optional body `{"license": IRI}` from the DCAT-AP.de list). 201 when it is published now,
/// 200 when it already was (its date is kept).
pub async fn publish(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let license = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let v = body_json(&body)?;
        let Some(o) = v.as_object() else {
            return Err(ApiError::bad_data("the body must be a JSON object"));
        };
        if let Some(k) = o.keys().find(|k| k.as_str() != "license") {
            return Err(ApiError::bad_data(format!(
                "unknown member '{k}': the body may only name a license"
            )));
        }
        match o.get("license") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(ApiError::bad_data("license must be an IRI (a string)")),
        }
    };
    broker::service::check_id(&id)?;
    let t = tenant(&headers)?;
    let (r, first) = st
        .leitstelle
        .publish(&t, &id, license.as_deref(), chrono::Utc::now())
        .await?;
    let base = st.config.public_base.trim_end_matches('/');
    let mut body = json!({"id": r.id, "version": r.version,
        "catalog": format!("{base}{}", ::opendata::CATALOG_PATH),
        "html": format!("{base}{}", ::opendata::report_path(&t, &r.id, "html")),
        "pdf": format!("{base}{}", ::opendata::report_path(&t, &r.id, "pdf"))});
    if let (Some(p), Some(o)) = (&r.publication, body.as_object_mut()) {
        o.insert("publication".into(), p.to_json());
    }
    let status = if first {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(body)).into_response())
}

/// DELETE /leitstelle/v1/reports/{id}/publication: withdraws the report from open data.
pub async fn withdraw(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    broker::service::check_id(&id)?;
    let t = tenant(&headers)?;
    st.leitstelle.withdraw(&t, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
