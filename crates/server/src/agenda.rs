//! `quartier agenda export|import`: an agenda and everything it refers to, as one file of
//! NGSI-LD entities (normalized, each with the Leitstelle `@context`), moved over HTTP to
//! and from a running installation.
//!
//! Export takes the agenda, every governance entity that is not tied to another agenda
//! (domains, organisations, funding programmes and the like are shared by the tenant) and the
//! devices its projects deploy, ordered so that an import creates domains before the
//! entities that refer to them. Import upserts the entities in that order, in chunks, and
//! points their `@context` at the target installation's copy of the Leitstelle context.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

/// `quartier agenda ...`
#[derive(Debug, Args)]
pub struct AgendaArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AgendaCommand,
}

/// The agenda commands.
#[derive(Debug, Subcommand)]
pub enum AgendaCommand {
    /// Writes an agenda and what it refers to into a file.
    Export {
        /// The agenda's entity id.
        #[arg(long)]
        agenda: String,
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
        /// Base URL of the installation.
        #[arg(long, default_value = "http://localhost:1026")]
        url: String,
        /// Tenant (municipality).
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Upserts the entities of an exported file.
    Import {
        /// The file to read.
        file: PathBuf,
        /// Base URL of the installation.
        #[arg(long, default_value = "http://localhost:1026")]
        url: String,
        /// Tenant (municipality).
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Entity types in export (and import) order.
const ORDER: [&str; 16] = [
    "Domain",
    "Organization",
    "FundingProgramme",
    "Agenda",
    "Goal",
    "KeyPerformanceIndicator",
    "Target",
    "Solution",
    "Project",
    "Device",
    "Milestone",
    "MaturityAssessment",
    "SynergyAssessment",
    "Grant",
    "CitizenIdea",
    "LessonLearned",
];

struct Remote {
    http: reqwest::Client,
    base: String,
    tenant: Option<String>,
    context: String,
}

impl Remote {
    async fn connect(url: &str, tenant: Option<String>) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--url must be an http:// or https:// URL, got '{url}'");
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .context("building the HTTP client")?;
        let index: Value = http
            .get(format!("{base}/leitstelle/v1"))
            .send()
            .await
            .with_context(|| format!("GET {base}/leitstelle/v1"))?
            .json()
            .await
            .context("reading the Leitstelle index")?;
        let context = index
            .get("context")
            .and_then(Value::as_str)
            .context("the installation names no Leitstelle context")?
            .to_owned();
        Ok(Self {
            http,
            base,
            tenant,
            context,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.tenant {
            r = r.header("NGSILD-Tenant", t);
        }
        r
    }

    async fn query(&self, params: &str) -> anyhow::Result<Vec<Value>> {
        let link = format!(
            "<{}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
            self.context
        );
        let mut out = Vec::new();
        let limit = 1000;
        loop {
            let path = format!(
                "/ngsi-ld/v1/entities?{params}&limit={limit}&offset={}",
                out.len()
            );
            let resp = self
                .request(reqwest::Method::GET, &path)
                .header("Link", &link)
                .header("Accept", "application/json")
                .send()
                .await
                .with_context(|| format!("GET {path}"))?;
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                bail!("GET {path} answered {status}: {}", detail(&body));
            }
            let page = body.as_array().cloned().unwrap_or_default();
            let n = page.len();
            out.extend(page);
            if n < limit {
                return Ok(out);
            }
        }
    }
}

fn detail(problem: &Value) -> String {
    problem
        .get("detail")
        .or_else(|| problem.get("title"))
        .and_then(Value::as_str)
        .unwrap_or("no details")
        .to_owned()
}

fn objects(e: &Value, attr: &str) -> Vec<String> {
    match e.get(attr).and_then(|a| a.get("object")) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn type_rank(e: &Value) -> usize {
    let ty = e.get("type").and_then(Value::as_str).unwrap_or_default();
    ORDER.iter().position(|t| *t == ty).unwrap_or(ORDER.len())
}

/// Exports `agenda`; returns how many entities were written.
pub async fn export(
    url: &str,
    tenant: Option<String>,
    agenda: &str,
    out: &Path,
) -> anyhow::Result<usize> {
    let remote = Remote::connect(url, tenant).await?;
    let governed: Vec<&str> = ORDER.iter().copied().filter(|t| *t != "Device").collect();
    let all = remote
        .query(&format!("type={}", governed.join(",")))
        .await?;
    if !all
        .iter()
        .any(|e| e.get("id").and_then(Value::as_str) == Some(agenda))
    {
        bail!("there is no Agenda '{agenda}' in this tenant");
    }
    let mut chosen: Vec<Value> = all
        .into_iter()
        .filter(|e| {
            let is_agenda = e.get("type").and_then(Value::as_str) == Some("Agenda");
            let own = e.get("id").and_then(Value::as_str) == Some(agenda);
            let tied_elsewhere = objects(e, "agenda").iter().any(|a| a != agenda);
            (own || !is_agenda) && !tied_elsewhere
        })
        .collect();
    let devices: Vec<String> = chosen.iter().flat_map(|e| objects(e, "deploys")).collect();
    if !devices.is_empty() {
        chosen.extend(
            remote
                .query(&format!("type=Device&id={}", devices.join(",")))
                .await?,
        );
    }
    chosen.sort_by_key(type_rank);
    for e in &mut chosen {
        if let Some(o) = e.as_object_mut() {
            o.insert("@context".into(), Value::String(remote.context.clone()));
        }
    }
    let n = chosen.len();
    let text = serde_json::to_string_pretty(&chosen)?;
    std::fs::write(out, text + "\n").with_context(|| format!("writing {}", out.display()))?;
    Ok(n)
}

/// Imports a file written by [`export`]; returns how many entities were upserted.
pub async fn import(url: &str, tenant: Option<String>, file: &Path) -> anyhow::Result<usize> {
    let text = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let doc: Value = serde_json::from_slice(&text).context("the file is not JSON")?;
    let Value::Array(mut entities) = doc else {
        bail!("the file must hold a JSON array of entities");
    };
    let remote = Remote::connect(url, tenant).await?;
    let path = leitstelle::vocab::CONTEXT_PATH;
    for e in &mut entities {
        let Some(o) = e.as_object_mut() else {
            bail!("every element of the file must be an entity object");
        };
        let rewrite = |v: &Value| match v {
            Value::String(s) if s.ends_with(path) => Value::String(remote.context.clone()),
            other => other.clone(),
        };
        let ctx = match o.get("@context") {
            Some(Value::Array(items)) => Value::Array(items.iter().map(rewrite).collect()),
            Some(v) => rewrite(v),
            None => Value::String(remote.context.clone()),
        };
        o.insert("@context".into(), ctx);
    }
    entities.sort_by_key(type_rank);
    for chunk in entities.chunks(200) {
        let resp = remote
            .request(reqwest::Method::POST, "/ngsi-ld/v1/entityOperations/upsert")
            .header("Content-Type", "application/ld+json")
            .body(serde_json::to_vec(chunk)?)
            .send()
            .await
            .context("POST /ngsi-ld/v1/entityOperations/upsert")?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.as_u16() == 207 {
            let errors: Vec<String> = body
                .get("errors")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|e| {
                            format!(
                                "{}: {}",
                                e.get("entityId").and_then(Value::as_str).unwrap_or("?"),
                                e.get("error").map(detail).unwrap_or_default()
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            bail!(
                "{} entities were refused: {}",
                errors.len(),
                errors.join("; ")
            );
        }
        if !status.is_success() {
            bail!("the upsert answered {status}: {}", detail(&body));
        }
    }
    Ok(entities.len())
}
