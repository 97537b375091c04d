//! The HTTP ceiling: a minimal axum server that reads each request whole and answers with a
//! canned response, so that the same load against it measures what HTTP, the client and the
//! machine cost without any of Quartier's work.
//!
//! Canned responses are set over HTTP (`PUT /__canned/{METHOD}?path=PREFIX&status=N` with
//! the body), longest path prefix wins; anything else answers 204. The harness copies real
//! Quartier answers into it, so both servers send the same bytes back.

use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use serde::Deserialize;

use crate::load::{self, Req};

#[derive(Clone)]
struct Canned {
    method: Method,
    prefix: String,
    status: StatusCode,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Table(Arc<RwLock<Vec<Canned>>>);

#[derive(Deserialize)]
struct CanParams {
    path: String,
    status: u16,
}

/// The baseline router.
pub fn router() -> Router {
    Router::new()
        .route("/__canned/{method}", put(set))
        .route("/health", axum::routing::get(|| async { "ok" }))
        .fallback(answer)
        .with_state(Table::default())
}

/// Serves the baseline on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener) -> anyhow::Result<()> {
    axum::serve(listener, router()).await?;
    Ok(())
}

async fn set(
    State(t): State<Table>,
    Path(method): Path<String>,
    Query(p): Query<CanParams>,
    body: Bytes,
) -> StatusCode {
    let (Ok(method), Ok(status)) = (
        Method::from_bytes(method.as_bytes()),
        StatusCode::from_u16(p.status),
    ) else {
        return StatusCode::BAD_REQUEST;
    };
    let Ok(mut v) = t.0.write() else {
        return StatusCode::INTERNAL_SERVER_ERROR;
    };
    v.retain(|c| !(c.method == method && c.prefix == p.path));
    v.push(Canned {
        method,
        prefix: p.path,
        status,
        body,
    });
    StatusCode::NO_CONTENT
}

async fn answer(State(t): State<Table>, method: Method, uri: Uri, body: Bytes) -> Response {
    // Read the body like a real server would; its length keeps the compiler from eliding it.
    let _len = body.len();
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    let hit = t.0.read().ok().and_then(|v| {
        v.iter()
            .filter(|c| c.method == method && path.starts_with(&c.prefix))
            .max_by_key(|c| c.prefix.len())
            .cloned()
    });
    match hit {
        Some(c) if c.body.is_empty() => c.status.into_response(),
        Some(c) => (
            c.status,
            [(header::CONTENT_TYPE, "application/json")],
            c.body,
        )
            .into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// Tells the baseline at `addr` to answer `method` requests under `prefix` with
/// `status` and `body`.
pub async fn can(
    addr: std::net::SocketAddr,
    method: &Method,
    prefix: &str,
    status: u16,
    body: Bytes,
) -> anyhow::Result<()> {
    let path = format!(
        "/__canned/{method}?path={}&status={status}",
        crate::bench::enc(prefix)
    );
    let (s, b) = load::once(addr, &Req::json(Method::PUT, path, body)).await?;
    anyhow::ensure!(
        s == 204,
        "baseline refused canned response: {s} {}",
        String::from_utf8_lossy(&b)
    );
    Ok(())
}
