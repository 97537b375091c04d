//! Fetching remote JSON-LD contexts: local file map first, then HTTP(S) with a timeout,
//! a size limit and an optional host allow-list. Core contexts never get here.

use async_trait::async_trait;
use jsonld::{ContextLoader, LoadError};
use serde_json::Value;

use crate::config::ContextPolicy;

/// The context loader of a running server.
pub struct HttpLoader {
    client: reqwest::Client,
    policy: ContextPolicy,
}

impl HttpLoader {
    /// A loader with `policy`.
    pub fn new(policy: ContextPolicy) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()?;
        Ok(Self { client, policy })
    }

    fn host_allowed(&self, url: &reqwest::Url) -> bool {
        if self.policy.allowed_hosts.is_empty() {
            return true;
        }
        let host = url.host_str().unwrap_or_default();
        self.policy
            .allowed_hosts
            .iter()
            .any(|h| h.eq_ignore_ascii_case(host))
    }
}

#[async_trait]
impl ContextLoader for HttpLoader {
    async fn load(&self, url: &str) -> Result<Value, LoadError> {
        if let Some(path) = self.policy.map.get(url) {
            let text = tokio::fs::read(path)
                .await
                .map_err(|e| LoadError::new(format!("mapped file {}: {e}", path.display())))?;
            return serde_json::from_slice(&text)
                .map_err(|e| LoadError::new(format!("mapped file is not JSON: {e}")));
        }
        let parsed =
            reqwest::Url::parse(url).map_err(|e| LoadError::new(format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(LoadError::new(
                "only http and https contexts can be fetched",
            ));
        }
        if !self.host_allowed(&parsed) {
            return Err(LoadError::new(
                "the host is not in the allowed context hosts",
            ));
        }
        let mut resp = self
            .client
            .get(parsed)
            .header("Accept", "application/ld+json, application/json;q=0.9")
            .send()
            .await
            .map_err(|e| LoadError::new(format!("fetch failed: {e}")))?;
        if !resp.status().is_success() {
            return Err(LoadError::new(format!(
                "the server answered {}",
                resp.status()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| LoadError::new(format!("read failed: {e}")))?
        {
            if body.len() + chunk.len() > self.policy.max_bytes {
                return Err(LoadError::new(format!(
                    "the context exceeds {} bytes",
                    self.policy.max_bytes
                )));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| LoadError::new(format!("not JSON: {e}")))
    }
}

/// Answers a few URLs from documents shipped in the binary (the Leitstelle context under
/// this installation's public base) and hands everything else to `inner`: shipped contexts
/// resolve offline.
pub struct Shipped<L> {
    docs: std::collections::HashMap<String, Value>,
    inner: L,
}

impl<L> Shipped<L> {
    /// `docs`: URL → document.
    pub fn new(docs: std::collections::HashMap<String, Value>, inner: L) -> Self {
        Self { docs, inner }
    }
}

#[async_trait]
impl<L: ContextLoader> ContextLoader for Shipped<L> {
    async fn load(&self, url: &str) -> Result<Value, LoadError> {
        match self.docs.get(url) {
            Some(doc) => Ok(doc.clone()),
            None => self.inner.load(url).await,
        }
    }
}
