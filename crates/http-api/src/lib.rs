//! The HTTP face of Quartier: the NGSI-LD API, the Leitstelle, open data, health, OpenAPI
//! and admin endpoints.
//!
//! Only this crate produces HTTP responses. Handlers are thin: they extract tenant, context
//! and parameters ([`extract`], [`params`]), call the [`broker::Broker`], and render
//! ([`respond`]). Every failure, including extractor rejections and unknown routes, leaves as
//! an NGSI-LD ProblemDetails ([`error`]).

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod batch;
pub mod contexts;
pub mod discovery;
pub mod entities;
pub mod error;
pub mod extract;
pub mod leitstelle;
pub mod linked;
pub mod opendata;
pub mod params;
pub mod respond;
pub mod subscriptions;
pub mod temporal;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use broker::Broker;
use jsonld::ContextRegistry;
use ngsild_proto::ErrorType;

use crate::error::ApiError;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Whether `POST /admin/reset` (wipe everything) is served; for conformance runs only.
    pub admin_reset: bool,
    /// The base URL under which this broker is reachable (for hosted context URLs).
    pub public_base: String,
    /// Most attribute instances in one temporal response before it is paginated.
    pub temporal_page_size: usize,
    /// Whether temporal upserts and appends also bring the current state up to date
    /// ([`broker::Broker::absorb`]).
    pub temporal_upsert_current: bool,
    /// Most requests served at once; more are refused with 503 and `Retry-After` instead of
    /// queueing without bound (`/health` and `/metrics` are always served).
    pub max_in_flight: usize,
    /// Metadata of the open data catalogue (`/opendata/v1/catalog`).
    pub opendata: ::opendata::Settings,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 2 * 1024 * 1024,
            admin_reset: false,
            public_base: "http://localhost:1026".into(),
            temporal_page_size: 5000,
            temporal_upsert_current: true,
            max_in_flight: 256,
            opendata: ::opendata::Settings::default(),
        }
    }
}

/// Supplies the Prometheus text exposition served at `/metrics`.
pub trait Metrics: Send + Sync + 'static {
    /// The current metrics in the Prometheus text format.
    fn render(&self) -> String;
}

/// What every handler can reach. Every request clones it, so it is one shared allocation
/// (one reference count) rather than a bundle of them.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    /// The state over `services`.
    pub fn new(services: Services) -> Self {
        Self(Arc::new(services))
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

/// The services behind [`AppState`].
pub struct Services {
    /// The broker.
    pub broker: Broker,
    /// JSON-LD contexts.
    pub contexts: ContextRegistry,
    /// Subscriptions.
    pub subscriptions: Arc<broker::subscription::Subscriptions>,
    /// History.
    pub temporal: broker::temporal::Temporal,
    /// HTTP settings.
    pub config: Arc<HttpConfig>,
    /// Operational metrics.
    pub metrics: Arc<dyn Metrics>,
    /// Durable small documents (hosted contexts).
    pub documents: Arc<dyn broker::store::DocumentStore>,
    /// The Leitstelle computations.
    pub leitstelle: ::leitstelle::Leitstelle,
}

const OPENAPI: &str = include_str!("../openapi.json");

/// The whole router.
pub fn router(state: AppState) -> Router {
    let permits = Arc::new(tokio::sync::Semaphore::new(
        state.config.max_in_flight.max(1),
    ));
    let v1 = Router::new()
        .route(
            "/entities",
            get(entities::query)
                .post(entities::create)
                .delete(entities::purge)
                .put(entities::without_id)
                .patch(entities::without_id),
        )
        .route(
            "/entities/{id}",
            get(entities::retrieve)
                .delete(entities::delete)
                .put(entities::replace)
                .patch(entities::merge),
        )
        .route(
            "/entities/{id}/attrs",
            post(entities::append_attrs).patch(entities::update_attrs),
        )
        .route(
            "/entities/{id}/attrs/{attr}",
            axum::routing::patch(entities::patch_attr)
                .put(entities::replace_attr)
                .delete(entities::delete_attr),
        )
        .route("/entityOperations/{op}", post(batch::operation))
        .route("/types", get(discovery::types))
        .route("/types/{ty}", get(discovery::type_info))
        .route("/attributes", get(discovery::attributes))
        .route("/attributes/{attr}", get(discovery::attribute_info))
        .route(
            "/subscriptions",
            get(subscriptions::query).post(subscriptions::create),
        )
        .route(
            "/subscriptions/{id}",
            get(subscriptions::retrieve)
                .patch(subscriptions::update)
                .delete(subscriptions::delete),
        )
        .route(
            "/temporal/entities",
            get(temporal::query).post(temporal::upsert),
        )
        .route(
            "/temporal/entities/{id}",
            get(temporal::retrieve).delete(temporal::delete),
        )
        .route("/temporal/entities/{id}/attrs", post(temporal::append))
        .route(
            "/temporal/entityOperations/query",
            post(temporal::query_post),
        )
        .route(
            "/temporal/entities/{id}/attrs/{attr}",
            axum::routing::delete(temporal::delete_attr),
        )
        .route(
            "/temporal/entities/{id}/attrs/{attr}/{instance}",
            axum::routing::patch(temporal::modify_instance).delete(temporal::delete_instance),
        )
        .route("/jsonldContexts", get(contexts::list).post(contexts::add))
        .route(
            "/jsonldContexts/{id}",
            get(contexts::retrieve).delete(contexts::delete),
        );
    let agenda = "/leitstelle/v1/agendas/{id}";
    let leit = Router::new()
        .route("/leitstelle/v1", get(leitstelle::index))
        .route("/leitstelle/v1/context.jsonld", get(leitstelle::context))
        .route(
            "/leitstelle/v1/domains/defaults",
            get(leitstelle::default_domains).post(leitstelle::seed_domains),
        )
        .route(
            &format!("{agenda}/maturity-model"),
            get(leitstelle::get_model).put(leitstelle::put_model),
        )
        .route(
            &format!("{agenda}/weights"),
            get(leitstelle::get_weights).put(leitstelle::put_weights),
        )
        .route(&format!("{agenda}/workflow"), get(leitstelle::workflow))
        .route(&format!("{agenda}/targets"), get(leitstelle::targets))
        .route(&format!("{agenda}/matrix"), get(leitstelle::matrix))
        .route(&format!("{agenda}/matrix/cell"), get(leitstelle::cell))
        .route(&format!("{agenda}/synergies"), get(leitstelle::synergies))
        .route(&format!("{agenda}/ranking"), get(leitstelle::ranking))
        .route(
            &format!("{agenda}/sustainability"),
            get(leitstelle::sustainability),
        )
        .route(&format!("{agenda}/radar"), get(leitstelle::radar))
        .route(&format!("{agenda}/indicators"), get(leitstelle::indicators))
        .route(
            &format!("{agenda}/indicators/compute"),
            post(leitstelle::compute_agenda),
        )
        .route(
            "/leitstelle/v1/indicators/{id}/compute",
            post(leitstelle::compute),
        )
        .route(
            "/leitstelle/v1/indicators/{id}/value",
            post(leitstelle::enter_value),
        )
        .route(&format!("{agenda}/report"), get(leitstelle::report))
        .route(
            &format!("{agenda}/reports"),
            get(leitstelle::list_reports).post(leitstelle::store_report),
        )
        .route(
            "/leitstelle/v1/reports/{id}",
            get(leitstelle::stored_report),
        )
        .route(
            "/leitstelle/v1/reports/{id}/publication",
            post(leitstelle::publish).delete(leitstelle::withdraw),
        );
    let open = Router::new()
        .route(::opendata::CATALOG_PATH, get(opendata::catalog))
        .route("/opendata/v1/reports/{file}", get(opendata::default_report))
        .route(
            "/opendata/v1/reports/{tenant}/{file}",
            get(opendata::report),
        );
    Router::new()
        .nest("/ngsi-ld/v1", v1)
        .merge(leit)
        .merge(open)
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .route("/admin/reset", post(admin_reset))
        .fallback(not_found)
        .layer(middleware::from_fn(problem_for_bare_errors))
        .layer(middleware::from_fn_with_state(permits, shed_load))
        .with_state(state)
}

/// Serves a request if a permit is free, else answers 503 at once: under overload the broker
/// stays responsive for what it accepts and memory stays bounded.
async fn shed_load(
    State(permits): State<Arc<tokio::sync::Semaphore>>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if path == "/health" || path == "/metrics" {
        return next.run(req).await;
    }
    match permits.try_acquire_owned() {
        Ok(permit) => {
            let resp = next.run(req).await;
            drop(permit);
            resp
        }
        Err(_) => {
            let mut resp = ApiError::new(
                ErrorType::ServiceUnavailable,
                "the broker is serving as many requests as it is configured to; retry shortly",
            )
            .into_response();
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            resp
        }
    }
}

async fn health() -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
}

async fn metrics(State(st): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        st.metrics.render(),
    )
}

async fn openapi() -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
}

async fn admin_reset(State(st): State<AppState>) -> Result<StatusCode, ApiError> {
    if !st.config.admin_reset {
        return Err(ApiError::new(
            ErrorType::ResourceNotFound,
            "the admin reset is not enabled",
        ));
    }
    st.broker
        .store()
        .reset()
        .await
        .map_err(|e| ApiError(e.into()))?;
    st.subscriptions.clear();
    st.temporal
        .store()
        .reset()
        .await
        .map_err(|e| ApiError(e.into()))?;
    for info in st.contexts.list(None) {
        // Core contexts refuse deletion; everything else goes.
        let _ = st.contexts.delete(&info.url, false).await;
    }
    tracing::warn!("all data was wiped through /admin/reset");
    Ok(StatusCode::NO_CONTENT)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorType::ResourceNotFound, "no such resource")
}

/// Turns axum's own plain-text rejections (405, path or query decoding errors) into
/// ProblemDetails, so a client never sees a non-NGSI-LD error body.
async fn problem_for_bare_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return resp;
    }
    let kind = match status {
        StatusCode::METHOD_NOT_ALLOWED => ErrorType::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorType::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorType::UnsupportedMediaType,
        StatusCode::NOT_FOUND => ErrorType::ResourceNotFound,
        s if s.is_server_error() => ErrorType::InternalError,
        _ => ErrorType::BadRequestData,
    };
    let allow = resp.headers().get(header::ALLOW).cloned();
    let body = axum::body::to_bytes(resp.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let detail = String::from_utf8_lossy(&body).trim().to_owned();
    let mut out = ApiError::new(
        kind,
        if detail.is_empty() {
            status.to_string()
        } else {
            detail
        },
    )
    .into_response();
    *out.status_mut() = status;
    if let Some(a) = allow {
        out.headers_mut().insert(header::ALLOW, a);
    }
    out.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    out
}
