//! Test support: a real Quartier on port 0 with a fresh data directory, and a small client.
//!
//! Every test gets its own application in its own temporary directory, so tests run in
//! parallel without seeing each other.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use quartier::config::{Config, FileConfig, Overrides};
use reqwest::{Method, StatusCode, header::HeaderMap};
use serde_json::Value;
use tokio::sync::oneshot;

/// The shared test data folder (`../shared/data` beside the repository).
pub fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

/// The shared tools folder (`../shared/tools` beside the repository), e.g. the DCAT-AP.de
/// validator.
pub fn shared_tools() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools")
}

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A client with keep-alive.
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    /// The data directory (deleted when the app is dropped).
    pub dir: tempfile::TempDir,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body as JSON (`Null` when empty or not JSON).
    pub body: Value,
}

impl Resp {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts that this is an NGSI-LD ProblemDetails of status `status` and error type `kind`
    /// (the last segment of the type URI).
    pub fn assert_problem(&self, status: u16, kind: &str) {
        assert_eq!(self.status.as_u16(), status, "status of {:?}", self.body);
        let t = self.body["type"]
            .as_str()
            .unwrap_or_else(|| panic!("no ProblemDetails: {:?}", self.body));
        assert!(t.ends_with(kind), "expected {kind}, got {t}");
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string());
    }
}

/// Starts an application with default settings.
pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

/// Starts an application after `tune` adjusts the configuration file model.
pub async fn spawn_with(tune: impl FnOnce(&mut FileConfig)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut file = FileConfig::default();
    tune(&mut file);
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        admin_reset: true,
        durability: None,
    };
    let config = Config::resolve(file, overrides).unwrap();
    let app = quartier::Application::build(config).await.unwrap();
    let base = format!("http://{}", app.addr());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run(async move {
        let _ = rx.await;
    }));
    TestApp {
        base,
        client: reqwest::Client::new(),
        stop: Some(tx),
        dir,
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

impl TestApp {
    /// Sends a request; `body` is sent with `content_type` when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some((ct, bytes)) = body {
            req = req.header("Content-Type", ct).body(bytes);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
        }
    }

    /// GET with extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.request(Method::GET, path, headers, None).await
    }

    /// GET.
    pub async fn get(&self, path: &str) -> Resp {
        self.get_with(path, &[]).await
    }

    /// A JSON body (`application/json`) with `method`.
    pub async fn send_json(&self, method: Method, path: &str, body: &Value) -> Resp {
        self.request(
            method,
            path,
            &[],
            Some(("application/json", serde_json::to_vec(body).unwrap())),
        )
        .await
    }

    /// POST application/json.
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.send_json(Method::POST, path, body).await
    }

    /// PATCH application/json.
    pub async fn patch(&self, path: &str, body: &Value) -> Resp {
        self.send_json(Method::PATCH, path, body).await
    }

    /// PUT application/json.
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.send_json(Method::PUT, path, body).await
    }

    /// DELETE.
    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, &[], None).await
    }

    /// POST application/ld+json.
    pub async fn post_ld(&self, path: &str, body: &Value) -> Resp {
        self.request(
            Method::POST,
            path,
            &[],
            Some(("application/ld+json", serde_json::to_vec(body).unwrap())),
        )
        .await
    }
}
