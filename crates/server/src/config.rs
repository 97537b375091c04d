//! Configuration: a TOML file, overridden by environment variables, overridden by the
//! command line. Every option has a working default; few are needed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// The configuration file as written by the operator. Unknown keys are an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FileConfig {
    /// Address to listen on (default `0.0.0.0:1026`).
    pub listen: Option<String>,
    /// Directory of the embedded store (default `./data`).
    pub data_dir: Option<PathBuf>,
    /// `full` (fsync every group commit; default) or `relaxed` (fsync at checkpoints).
    pub durability: Option<String>,
    /// Largest request body in bytes (default 2 MiB).
    pub max_body_bytes: Option<usize>,
    /// Default page size of queries (default 20).
    pub default_limit: Option<usize>,
    /// Largest page size a client may ask for (default 1000).
    pub max_limit: Option<usize>,
    /// The core context answered with and applied by default (default v1.8).
    pub core_context: Option<String>,
    /// Public base URL of this broker, used in URLs it hands out (hosted contexts).
    pub public_base: Option<String>,
    /// Context URL -> local file; such URLs are never fetched (air-gapped sites).
    #[serde(default)]
    pub context_map: HashMap<String, PathBuf>,
    /// If non-empty, the only hosts remote contexts may be fetched from.
    #[serde(default)]
    pub context_allowed_hosts: Vec<String>,
    /// Timeout of one context fetch in milliseconds (default 5000).
    pub context_timeout_ms: Option<u64>,
    /// Largest context document in bytes (default 1 MiB).
    pub context_max_bytes: Option<usize>,
    /// Serve `POST /admin/reset` (wipes everything; for conformance runs only).
    pub admin_reset: Option<bool>,
    /// If non-empty, the only hosts notifications may be sent to (besides loopback when
    /// `notify-allow-loopback` is true). Empty = any host.
    #[serde(default)]
    pub notify_allowed_hosts: Vec<String>,
    /// Whether notifications may go to loopback addresses (default true).
    pub notify_allow_loopback: Option<bool>,
    /// Queued notifications per endpoint before new ones are dropped (default 1000).
    pub notify_queue_capacity: Option<usize>,
    /// Parallel delivery lanes per HTTP endpoint; notifications about one entity share a
    /// lane and keep their order (default 4).
    pub notify_lanes: Option<usize>,
    /// Most attribute instances in one temporal response; more are paginated with 206 and
    /// Content-Range (default 5000).
    pub temporal_page_size: Option<usize>,
    /// Whether `POST /temporal/entities` (and appends) also bring the entity's current state
    /// up to date with the newest posted instances, creating it if needed (default true).
    pub temporal_upsert_current: Option<bool>,
    /// Most requests served at once; more get 503 with Retry-After (default 256).
    pub max_in_flight: Option<usize>,
    /// Seed the demo Smart Region into an installation without data (`serve --demo`).
    pub demo: Option<bool>,
    /// How often the scheduler looks for indicators due for recomputation (their
    /// `dateNextCalculation` has come), ISO 8601 (default `PT1M`; the first look is at
    /// start-up).
    pub indicator_interval: Option<String>,
    /// How long history is kept: `[retention]` with `default`, `interval` and `[[retention.rule]]`
    /// entries. Absent: forever.
    pub retention: Option<RetentionFile>,
    /// The open data catalogue's metadata: `[opendata]` and `[opendata.tenant.<name>]`.
    pub opendata: Option<OpendataFile>,
}

/// `[opendata]`: what the DCAT-AP.de catalogue at `/opendata/v1/catalog` says about itself
/// and its publishers. Everything has a default; a real installation sets at least
/// `publisher`, `contact-email` and `district-key`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OpendataFile {
    /// The catalogue's title, German (default "Offene Daten der Plattform Quartier").
    pub title: Option<String>,
    /// What it holds, German.
    pub description: Option<String>,
    /// Who runs it: the platform operator's name (default "Betreiber der Plattform Quartier").
    pub publisher: Option<String>,
    /// A functional mailbox for questions about the data (default none: the homepage is the
    /// contact point). Never a person's address: it is published.
    pub contact_email: Option<String>,
    /// The catalogue's homepage (default the public base URL).
    pub homepage: Option<String>,
    /// The region's district key (Kreisschlüssel, 5 digits, e.g. `05774`): the catalogue's
    /// spatial coverage, and that of tenants without a municipality key.
    pub district_key: Option<String>,
    /// Per tenant (a municipality): `[opendata.tenant.paderborn]`.
    #[serde(default)]
    pub tenant: std::collections::BTreeMap<String, OpendataTenantFile>,
}

/// `[opendata.tenant.<name>]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct OpendataTenantFile {
    /// The municipality's name as publisher (default the tenant name).
    pub publisher: Option<String>,
    /// Its municipality key (Gemeindeschlüssel, 8 digits, e.g. `05774032`).
    pub municipality_key: Option<String>,
    /// Its contact mailbox (default the catalogue's).
    pub contact_email: Option<String>,
}

impl OpendataFile {
    fn resolve(self) -> anyhow::Result<opendata::Settings> {
        let d = opendata::Settings::default();
        let s = opendata::Settings {
            title: self.title.unwrap_or(d.title),
            description: self.description.unwrap_or(d.description),
            publisher: self.publisher.unwrap_or(d.publisher),
            contact_email: self.contact_email,
            homepage: self.homepage,
            district_key: self.district_key,
            tenants: self
                .tenant
                .into_iter()
                .map(|(name, t)| {
                    let t = opendata::TenantSettings {
                        publisher: t.publisher,
                        municipality_key: t.municipality_key,
                        contact_email: t.contact_email,
                    };
                    (name, t)
                })
                .collect(),
        };
        s.check().map_err(|e| anyhow::anyhow!("opendata: {e}"))?;
        Ok(s)
    }
}

/// `[retention]`: durations are ISO 8601 (`P90D`, `P2Y`, `PT12H`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionFile {
    /// Kept this long when no rule applies; absent: forever.
    pub default: Option<String>,
    /// How often retention runs (default `PT1H`; the first run is at start-up).
    pub interval: Option<String>,
    /// Rules; the most specific one that applies wins (tenant and type, type, tenant).
    #[serde(default)]
    pub rule: Vec<RetentionRuleFile>,
}

/// `[[retention.rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RetentionRuleFile {
    /// The tenant (absent: every tenant).
    pub tenant: Option<String>,
    /// The entity type: an IRI, or a short name matching the IRI's last segment.
    #[serde(rename = "type")]
    pub entity_type: Option<String>,
    /// How long history of matching entities is kept.
    pub keep: String,
}

fn duration(what: &str, s: &str) -> anyhow::Result<chrono::Duration> {
    ngsild_query::parse_duration(s).map_err(|e| anyhow::anyhow!("{what}: {e}"))
}

impl RetentionFile {
    fn resolve(self) -> anyhow::Result<(broker::temporal::RetentionPolicy, std::time::Duration)> {
        let default = self
            .default
            .map(|d| duration("retention.default", &d))
            .transpose()?;
        let rules = self
            .rule
            .into_iter()
            .map(|r| {
                Ok(broker::temporal::RetentionRule {
                    tenant: r.tenant,
                    entity_type: r.entity_type,
                    keep: duration("retention.rule.keep", &r.keep)?,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let interval = duration(
            "retention.interval",
            self.interval.as_deref().unwrap_or("PT1H"),
        )?
        .to_std()
        .context("retention.interval must be positive")?;
        Ok((
            broker::temporal::RetentionPolicy { default, rules },
            interval,
        ))
    }
}

/// The resolved configuration the application runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Commit durability.
    pub durability: store_sqlite::Durability,
    /// HTTP settings.
    pub http: http_api::HttpConfig,
    /// Broker limits.
    pub limits: broker::Limits,
    /// Default core context URL.
    pub core_context: String,
    /// Context fetching policy.
    pub contexts: ContextPolicy,
    /// Notification delivery settings.
    pub notifier: notify::NotifierConfig,
    /// Seed the demo region when the installation holds no data.
    pub demo: bool,
    /// How long history is kept.
    pub retention: broker::temporal::RetentionPolicy,
    /// How often retention runs.
    pub retention_interval: std::time::Duration,
    /// How often due indicators are recomputed.
    pub indicator_interval: std::time::Duration,
}

/// How remote JSON-LD contexts may be fetched.
#[derive(Debug, Clone)]
pub struct ContextPolicy {
    /// URL -> local file.
    pub map: HashMap<String, PathBuf>,
    /// Allowed hosts (empty = any).
    pub allowed_hosts: Vec<String>,
    /// Fetch timeout.
    pub timeout: std::time::Duration,
    /// Size limit.
    pub max_bytes: usize,
}

/// Command-line and environment overrides (already merged by clap).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen` / `QUARTIER_LISTEN`.
    pub listen: Option<String>,
    /// `--data-dir` / `QUARTIER_DATA_DIR`.
    pub data_dir: Option<PathBuf>,
    /// `--admin-reset`.
    pub admin_reset: bool,
    /// `--durability`.
    pub durability: Option<String>,
}

impl Config {
    /// Reads the optional file and applies the overrides.
    pub fn load(file: Option<&Path>, o: Overrides) -> anyhow::Result<Self> {
        let f: FileConfig = match file {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        Self::resolve(f, o)
    }

    /// Applies defaults and overrides to a file model.
    pub fn resolve(f: FileConfig, o: Overrides) -> anyhow::Result<Self> {
        let listen = o
            .listen
            .or(f.listen)
            .unwrap_or_else(|| "0.0.0.0:1026".into());
        let listen: SocketAddr = listen
            .parse()
            .with_context(|| format!("invalid listen address '{listen}'"))?;
        let durability = match o.durability.or(f.durability).as_deref() {
            None | Some("full") => store_sqlite::Durability::Full,
            Some("relaxed") => store_sqlite::Durability::Relaxed,
            Some(other) => anyhow::bail!("durability must be 'full' or 'relaxed', not '{other}'"),
        };
        let core_context = f
            .core_context
            .unwrap_or_else(|| jsonld::CORE_V1_8.to_owned());
        anyhow::ensure!(
            jsonld::is_core_url(&core_context),
            "core-context must be one of the built-in core context URLs"
        );
        let defaults = broker::Limits::default();
        let limits = broker::Limits {
            default_limit: f.default_limit.unwrap_or(defaults.default_limit),
            max_limit: f.max_limit.unwrap_or(defaults.max_limit),
            max_batch: defaults.max_batch,
        };
        anyhow::ensure!(
            limits.default_limit <= limits.max_limit,
            "default-limit exceeds max-limit"
        );
        let port = listen.port();
        let opendata = f.opendata.unwrap_or_default().resolve()?;
        let http = http_api::HttpConfig {
            max_body_bytes: f.max_body_bytes.unwrap_or(2 * 1024 * 1024),
            admin_reset: o.admin_reset || f.admin_reset.unwrap_or(false),
            public_base: f
                .public_base
                .unwrap_or_else(|| format!("http://localhost:{port}")),
            temporal_page_size: f.temporal_page_size.unwrap_or(5000),
            temporal_upsert_current: f.temporal_upsert_current.unwrap_or(true),
            max_in_flight: f.max_in_flight.unwrap_or(256),
            opendata,
        };
        let defaults = notify::NotifierConfig::default();
        let notifier = notify::NotifierConfig {
            allowed_hosts: f.notify_allowed_hosts,
            allow_loopback: f.notify_allow_loopback.unwrap_or(true),
            queue_capacity: f.notify_queue_capacity.unwrap_or(defaults.queue_capacity),
            lanes: f.notify_lanes.unwrap_or(defaults.lanes).max(1),
            ..defaults
        };
        let (retention, retention_interval) = f.retention.unwrap_or_default().resolve()?;
        let indicator_interval = duration(
            "indicator-interval",
            f.indicator_interval.as_deref().unwrap_or("PT1M"),
        )?
        .to_std()?;
        Ok(Self {
            notifier,
            indicator_interval,
            demo: f.demo.unwrap_or(false),
            retention,
            retention_interval,
            listen,
            data_dir: o
                .data_dir
                .or(f.data_dir)
                .unwrap_or_else(|| PathBuf::from("data")),
            durability,
            http,
            limits,
            core_context,
            contexts: ContextPolicy {
                map: f.context_map,
                allowed_hosts: f.context_allowed_hosts,
                timeout: std::time::Duration::from_millis(f.context_timeout_ms.unwrap_or(5000)),
                max_bytes: f.context_max_bytes.unwrap_or(1024 * 1024),
            },
        })
    }
}
