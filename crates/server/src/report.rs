//! `quartier report`: fetches an agenda's progress report (Fortschrittsbericht) as HTML from a
//! running installation and writes it to a file; with `--store` it first stores the report
//! as the next version and writes that version.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::Value;

/// `quartier report ...`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The agenda's entity id.
    #[arg(long)]
    pub agenda: String,
    /// The file to write: HTML, or PDF when it ends in `.pdf`.
    #[arg(long)]
    pub out: PathBuf,
    /// Base URL of the installation.
    #[arg(long, default_value = "http://localhost:1026")]
    pub url: String,
    /// Tenant (municipality).
    #[arg(long)]
    pub tenant: Option<String>,
    /// `de` (default) or `en`.
    #[arg(long, default_value = "de")]
    pub lang: String,
    /// Period start YYYY-MM-DD (default: 90 days before `--to`).
    #[arg(long)]
    pub from: Option<String>,
    /// Period end YYYY-MM-DD (default: today).
    #[arg(long)]
    pub to: Option<String>,
    /// Store the report as the next version before writing it.
    #[arg(long)]
    pub store: bool,
}

/// `?k=v&...` (the values are dates and language codes: nothing to escape).
fn query_string(q: &[(&str, &str)]) -> String {
    if q.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = q.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("?{}", parts.join("&"))
}

async fn checked(r: reqwest::Response, what: &str) -> anyhow::Result<reqwest::Response> {
    if r.status().is_success() {
        return Ok(r);
    }
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    bail!("{what}: {status}: {body}")
}

/// Runs the command; answers what was written.
pub async fn run(a: &ReportArgs) -> anyhow::Result<String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let base = a.url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--url must be an http:// or https:// URL, got '{}'", a.url);
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .context("building the HTTP client")?;
    let mut period: Vec<(&str, &str)> = Vec::new();
    for v in [&a.from, &a.to].into_iter().flatten() {
        if chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_err() {
            bail!("--from and --to must be dates YYYY-MM-DD, got '{v}'");
        }
    }
    if a.lang != "de" && a.lang != "en" {
        bail!("--lang must be de or en, got '{}'", a.lang);
    }
    if let Some(f) = &a.from {
        period.push(("from", f));
    }
    if let Some(t) = &a.to {
        period.push(("to", t));
    }
    let with_tenant = |r: reqwest::RequestBuilder| match &a.tenant {
        Some(t) => r.header("NGSILD-Tenant", t),
        None => r,
    };
    let agenda = format!("{base}/leitstelle/v1/agendas/{}", a.agenda);
    let (path, query) = if a.store {
        let r = with_tenant(http.post(format!("{agenda}/reports{}", query_string(&period))))
            .send()
            .await
            .with_context(|| format!("POST {agenda}/reports"))?;
        let created: Value = checked(r, "storing the report").await?.json().await?;
        let html = created
            .get("html")
            .and_then(Value::as_str)
            .context("the installation answered no report URL")?;
        (format!("{base}{html}"), vec![("lang", a.lang.as_str())])
    } else {
        let mut q = period.clone();
        q.push(("lang", a.lang.as_str()));
        (format!("{agenda}/report"), q)
    };
    let mut query = query;
    let pdf = a
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pdf"));
    if pdf {
        query.push(("format", "pdf"));
    }
    let r = with_tenant(http.get(format!("{path}{}", query_string(&query))))
        .send()
        .await
        .with_context(|| format!("GET {path}"))?;
    let html = checked(r, "fetching the report").await?.text().await?;
    std::fs::write(&a.out, &html).with_context(|| format!("writing {}", a.out.display()))?;
    Ok(format!(
        "wrote {} ({} bytes) from {path}",
        a.out.display(),
        html.len()
    ))
}
