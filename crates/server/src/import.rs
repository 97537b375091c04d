//! `quartier import`: bulk import of history into a running Quartier, over HTTP.
//!
//! The importer never touches a data directory: it reads a file, turns it into temporal
//! entities and sends them with `POST /ngsi-ld/v1/temporal/entities` in chunks of at most
//! `--chunk-size` attribute instances (one entity per request, several requests in flight).
//! So it works the same against a local and a remote installation.
//!
//! # Inputs
//!
//! * `--format ngsi-ld FILE`: one temporal entity or an array of them, the shape the
//!   endpoint takes (`"attr": [ {instance}, … ]`). A body with `@context` is sent as
//!   `application/ld+json`, otherwise as `application/json` (with `--context` as a Link header).
//! * `--format csv FILE` with a mapping: `--id-column`, `--id-prefix`, `--type`,
//!   `--time-column`, `--time-format`, `--value COLUMN=ATTR[:UNIT]` (repeatable),
//!   `--delimiter`, and optionally `--stations FILE --stations-key COL --lat COL --lon COL
//!   [--name COL]` for each entity's `location` (GeoProperty Point) and `name`. A cell that
//!   parses as a number is sent as a number, anything else as a string; an empty cell gives
//!   no instance. The station attributes (and preset constants) are static: they are sent
//!   once per entity with `observedAt` = the entity's first observation, so a time-range
//!   query over the imported period returns them.
//! * `--preset rostock-radmonitore DIR`: the mapping for the Rostock bicycle counters
//!   (see [`Preset`]).
//!
//! # Current state
//!
//! With `--current` the latest instance of every attribute (per datasetId) is first upserted
//! as the entity's current state (`POST /entityOperations/upsert?options=update`). The broker
//! records every change as history itself, so those instances are then *not* sent again
//! through the temporal endpoint; every imported instance ends up in the history once.
//!
//! Importing the same data twice adds the instances twice: the temporal API has no
//! idempotent "put this instance" operation.

use std::collections::HashMap;
use std::fmt;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value, json};

const TEMPORAL: &str = "/ngsi-ld/v1/temporal/entities";
const UPSERT: &str = "/ngsi-ld/v1/entityOperations/upsert?options=update";
/// Entities per current-state upsert request.
const UPSERT_BATCH: usize = 200;
/// Bad rows reported one by one before the rest are only counted.
const BAD_ROWS_SHOWN: usize = 10;
/// Members of a temporal entity that are not attributes (kept in every chunk).
const HEAD: [&str; 4] = ["id", "type", "@context", "scope"];
/// System members the server ignores anyway.
const SYSTEM: [&str; 3] = ["createdAt", "modifiedAt", "deletedAt"];

/// `quartier import` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct ImportArgs {
    /// The file to import (with --preset: the directory holding the preset's files).
    pub path: PathBuf,
    /// Base URL of the Quartier to import into.
    #[arg(long, env = "QUARTIER_URL", default_value = "http://localhost:1026")]
    pub url: String,
    /// Tenant (NGSILD-Tenant header); the default tenant if absent.
    #[arg(long)]
    pub tenant: Option<String>,
    /// Input format [default: from the file extension: .json/.jsonld = ngsi-ld, else csv].
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// A ready-made mapping for a known data set; PATH is its directory.
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// CSV: column holding the entity id (appended to --id-prefix).
    #[arg(long)]
    pub id_column: Option<String>,
    /// CSV: prefix of entity ids, e.g. urn:ngsi-ld:TrafficFlowObserved:
    #[arg(long, default_value = "")]
    pub id_prefix: String,
    /// CSV: entity type.
    #[arg(long = "type")]
    pub entity_type: Option<String>,
    /// CSV: column holding the observation time.
    #[arg(long)]
    pub time_column: Option<String>,
    /// CSV: how to read the time column.
    #[arg(long, value_enum, default_value_t = TimeFormat::Rfc3339)]
    pub time_format: TimeFormat,
    /// CSV: COLUMN=ATTR[:UNITCODE], repeatable; e.g. count=intensity, P1=pm10:GQ.
    #[arg(long = "value")]
    pub values: Vec<String>,
    /// CSV field delimiter (one character; `tab` or `\t` for a tab).
    #[arg(long, default_value = ",")]
    pub delimiter: String,
    /// CSV: station file giving each entity a location and a name (same delimiter).
    #[arg(long)]
    pub stations: Option<PathBuf>,
    /// Station file: the column matching --id-column.
    #[arg(long)]
    pub stations_key: Option<String>,
    /// Station file: latitude column (WGS 84).
    #[arg(long)]
    pub lat: Option<String>,
    /// Station file: longitude column (WGS 84).
    #[arg(long)]
    pub lon: Option<String>,
    /// Station file: name column (becomes the `name` Property).
    #[arg(long)]
    pub name: Option<String>,
    /// JSON-LD context URL sent as a Link header with application/json bodies.
    #[arg(long)]
    pub context: Option<String>,
    /// Also upsert the latest value of every attribute as the entity's current state.
    #[arg(long)]
    pub current: bool,
    /// Attribute instances per request.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub chunk_size: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Report rows that do not parse and go on, instead of stopping at the first.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// No progress bar and no summary.
    #[arg(long)]
    pub quiet: bool,
}

/// Input formats.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text with a header row, mapped by the CSV flags.
    Csv,
    /// NGSI-LD temporal entities (JSON): one object or an array.
    #[value(name = "ngsi-ld")]
    NgsiLd,
}

/// How a CSV time cell is read.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeFormat {
    /// RFC 3339 date-time with zone (`2025-05-08T06:00:00Z`, `…+02:00`).
    Rfc3339,
    /// `YYYY-MM-DD`, taken as 00:00 UTC of that day.
    Date,
    /// Date-time without zone (`2017-10-20T00:00:26` or with a space), taken as UTC
    /// (sensor.community archive files).
    NaiveUtc,
}

/// Ready-made mappings.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Rostock "Radmonitore": `radmonitore_daily_counts.csv` + `radmonitore_stations.csv`.
    /// One `TrafficFlowObserved` entity per counting station
    /// (`urn:ngsi-ld:TrafficFlowObserved:rostock-radmonitor-<standort_id>`), `intensity` =
    /// bicycles per UTC day (observedAt = 00:00 UTC of the day), `location` and `name` from
    /// the station file, `vehicleType` = `bicycle` (Smart Data Models Transportation).
    RostockRadmonitore,
}

/// One `--value COLUMN=ATTR[:UNIT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueMapping {
    /// CSV column.
    pub column: String,
    /// Attribute name (a term of the context, or an IRI).
    pub attr: String,
    /// UN/CEFACT unit code.
    pub unit_code: Option<String>,
}

impl ValueMapping {
    /// Parses `COLUMN=ATTR[:UNIT]`. The part after the last `:` is a unit code only when it
    /// looks like one (2 or 3 upper-case letters or digits), so `col=https://ex.org/a` keeps
    /// its IRI.
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let (column, rest) = s
            .split_once('=')
            .ok_or_else(|| anyhow!("--value '{s}': expected COLUMN=ATTR[:UNITCODE]"))?;
        let (attr, unit_code) = match rest.rsplit_once(':') {
            Some((a, u)) if is_unit_code(u) => (a, Some(u.to_owned())),
            _ => (rest, None),
        };
        if column.is_empty() || attr.is_empty() {
            bail!(
                "--value '{s}': expected COLUMN=ATTR[:UNITCODE] with a column and an attribute name"
            );
        }
        Ok(Self {
            column: column.to_owned(),
            attr: attr.to_owned(),
            unit_code,
        })
    }
}

fn is_unit_code(u: &str) -> bool {
    (2..=3).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The station file of a CSV mapping.
#[derive(Debug, Clone)]
pub struct StationsMapping {
    /// The file.
    pub path: PathBuf,
    /// Column matching the id column of the data file.
    pub key: String,
    /// Latitude column.
    pub lat: String,
    /// Longitude column.
    pub lon: String,
    /// Name column.
    pub name: Option<String>,
}

/// How CSV rows become temporal entities.
#[derive(Debug, Clone)]
pub struct CsvMapping {
    /// Column holding the id.
    pub id_column: String,
    /// Prefix of the entity id.
    pub id_prefix: String,
    /// Entity type.
    pub entity_type: String,
    /// Column holding the time.
    pub time_column: String,
    /// How to read it.
    pub time_format: TimeFormat,
    /// Value columns.
    pub values: Vec<ValueMapping>,
    /// Field delimiter.
    pub delimiter: char,
    /// Station file.
    pub stations: Option<StationsMapping>,
    /// Static Properties every entity gets (name, value).
    pub constants: Vec<(String, Value)>,
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Entities imported.
    pub entities: usize,
    /// Attribute instances sent (history plus current state).
    pub instances: usize,
    /// Of those, sent as current state (`--current`).
    pub current: usize,
    /// Data rows read (CSV).
    pub rows: usize,
    /// Rows skipped as bad (`--skip-bad-rows`).
    pub bad_rows: usize,
    /// HTTP requests made.
    pub requests: usize,
    /// Wall time of reading and sending.
    pub elapsed: Duration,
}

impl Summary {
    /// Instances per second.
    pub fn rate(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.instances as f64 / s
        } else {
            0.0
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imported {} attribute instances of {} entities in {:.2} s ({:.0} instances/s, {} requests)",
            self.instances,
            self.entities,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.requests
        )?;
        if self.current > 0 {
            write!(f, "; {} of them as current state", self.current)?;
        }
        if self.rows > 0 {
            write!(f, "; {} rows read", self.rows)?;
        }
        if self.bad_rows > 0 {
            write!(f, ", {} bad rows skipped", self.bad_rows)?;
        }
        Ok(())
    }
}

/// A temporal entity to send: its head (`id`, `type`, `@context`, `scope`) and its attribute
/// instances in order.
#[derive(Debug, Clone)]
pub struct TemporalEntity {
    /// Non-attribute members.
    pub head: Map<String, Value>,
    /// (attribute name, instance object), in file order.
    pub instances: Vec<(String, Value)>,
}

impl TemporalEntity {
    fn id(&self) -> &str {
        self.head
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Runs `quartier import`: prints progress (unless `--quiet` or stdout is not a terminal) and
/// returns what was done.
pub async fn run(args: &ImportArgs) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let (entities, rows, bad_rows) = read_input(args)?;
    if entities.is_empty() {
        bail!("{}: nothing to import", args.path.display());
    }
    let client = Arc::new(Client::new(args)?);
    let mut summary = send(&client, entities, args, started).await?;
    summary.rows = rows;
    summary.bad_rows = bad_rows;
    Ok(summary)
}

/// Reads the input named by `args` into temporal entities; also returns rows read and bad
/// rows skipped (CSV).
pub fn read_input(args: &ImportArgs) -> anyhow::Result<(Vec<TemporalEntity>, usize, usize)> {
    if let Some(preset) = args.preset {
        let (file, mapping) = preset_mapping(preset, args)?;
        return read_csv(&file, &mapping, args.skip_bad_rows);
    }
    let format = args.format.unwrap_or_else(|| {
        match args
            .path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json" | "jsonld") => Format::NgsiLd,
            _ => Format::Csv,
        }
    });
    match format {
        Format::NgsiLd => Ok((read_ngsild(&args.path)?, 0, 0)),
        Format::Csv => read_csv(&args.path, &mapping_from_args(args)?, args.skip_bad_rows),
    }
}

/// The CSV mapping given by flags.
pub fn mapping_from_args(args: &ImportArgs) -> anyhow::Result<CsvMapping> {
    let need = |v: &Option<String>, flag: &str| {
        v.clone().ok_or_else(|| anyhow!("CSV import needs {flag}"))
    };
    let values = args
        .values
        .iter()
        .map(|v| ValueMapping::parse(v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if values.is_empty() {
        bail!("CSV import needs at least one --value COLUMN=ATTR[:UNITCODE]");
    }
    let stations = match &args.stations {
        None => {
            if args.stations_key.is_some()
                || args.lat.is_some()
                || args.lon.is_some()
                || args.name.is_some()
            {
                bail!(
                    "--stations-key, --lat, --lon and --name describe a --stations file; give one"
                );
            }
            None
        }
        Some(path) => Some(StationsMapping {
            path: path.clone(),
            key: need(&args.stations_key, "--stations-key with --stations")?,
            lat: need(&args.lat, "--lat with --stations")?,
            lon: need(&args.lon, "--lon with --stations")?,
            name: args.name.clone(),
        }),
    };
    Ok(CsvMapping {
        id_column: need(&args.id_column, "--id-column")?,
        id_prefix: args.id_prefix.clone(),
        entity_type: need(&args.entity_type, "--type")?,
        time_column: need(&args.time_column, "--time-column")?,
        time_format: args.time_format,
        values,
        delimiter: parse_delimiter(&args.delimiter)?,
        stations,
        constants: Vec::new(),
    })
}

/// `--delimiter`: one character, or `tab` / `\t`.
pub fn parse_delimiter(s: &str) -> anyhow::Result<char> {
    if s == "tab" || s == "\\t" {
        return Ok('\t');
    }
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c != '"' && c != '\n' && c != '\r' => Ok(c),
        _ => bail!("--delimiter must be one character (not a quote or newline), got '{s}'"),
    }
}

fn preset_mapping(preset: Preset, args: &ImportArgs) -> anyhow::Result<(PathBuf, CsvMapping)> {
    let mapping_flags = args.id_column.is_some()
        || args.entity_type.is_some()
        || args.time_column.is_some()
        || !args.values.is_empty()
        || args.stations.is_some()
        || args.format.is_some();
    if mapping_flags {
        bail!(
            "--preset sets the format and the mapping; leave out --format, --id-column, --type, --time-column, --value and --stations"
        );
    }
    match preset {
        Preset::RostockRadmonitore => {
            let dir = &args.path;
            if !dir.is_dir() {
                bail!(
                    "--preset rostock-radmonitore expects the directory holding radmonitore_daily_counts.csv and radmonitore_stations.csv, not {}",
                    dir.display()
                );
            }
            let mapping = CsvMapping {
                id_column: "standort_id".into(),
                id_prefix: "urn:ngsi-ld:TrafficFlowObserved:rostock-radmonitor-".into(),
                entity_type: "TrafficFlowObserved".into(),
                time_column: "date".into(),
                time_format: TimeFormat::Date,
                values: vec![ValueMapping {
                    column: "count".into(),
                    attr: "intensity".into(),
                    unit_code: None,
                }],
                delimiter: ',',
                stations: Some(StationsMapping {
                    path: dir.join("radmonitore_stations.csv"),
                    key: "standort_id".into(),
                    lat: "latitude".into(),
                    lon: "longitude".into(),
                    name: Some("bezeichnung".into()),
                }),
                constants: vec![("vehicleType".into(), Value::String("bicycle".into()))],
            };
            Ok((dir.join("radmonitore_daily_counts.csv"), mapping))
        }
    }
}

// ---------------------------------------------------------------------------------------
// NGSI-LD input

/// Reads a file of temporal entities (one object or an array); entities with the same id
/// are merged.
pub fn read_ngsild(path: &Path) -> anyhow::Result<Vec<TemporalEntity>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let list = match doc {
        Value::Array(a) => a,
        o @ Value::Object(_) => vec![o],
        _ => bail!(
            "{}: expected a temporal entity or an array of them",
            path.display()
        ),
    };
    let mut out: Vec<TemporalEntity> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    for (n, item) in list.into_iter().enumerate() {
        let where_ = || format!("{} entity #{}", path.display(), n + 1);
        let Value::Object(obj) = item else {
            bail!("{}: not a JSON object", where_())
        };
        let id = match obj.get("id") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => bail!("{}: no \"id\"", where_()),
        };
        if !matches!(obj.get("type"), Some(Value::String(_) | Value::Array(_))) {
            bail!("{} ({id}): no \"type\"", where_());
        }
        let mut head = Map::new();
        let mut instances = Vec::new();
        for (k, v) in obj {
            if SYSTEM.contains(&k.as_str()) {
                continue;
            }
            if HEAD.contains(&k.as_str()) {
                head.insert(k, v);
            } else {
                match v {
                    Value::Array(a) if a.iter().all(Value::is_object) => {
                        instances.extend(a.into_iter().map(|i| (k.clone(), i)))
                    }
                    o @ Value::Object(_) => instances.push((k, o)),
                    _ => bail!(
                        "{} ({id}): attribute '{k}' must be an attribute object or an array of them",
                        where_()
                    ),
                }
            }
        }
        match by_id.get(&id) {
            Some(&i) => out[i].instances.extend(instances),
            None => {
                by_id.insert(id, out.len());
                out.push(TemporalEntity { head, instances });
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// CSV input

/// A CSV record: the line it starts on (1-based) and its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Line number of the record's first line.
    pub line: usize,
    /// Fields, unquoted.
    pub fields: Vec<String>,
}

/// A minimal RFC 4180 reader: fields separated by `delimiter`, records by `\n` or `\r\n`,
/// fields may be quoted with `"` (then they may hold the delimiter, newlines and `""` for a
/// quote). Blank lines are skipped; a leading UTF-8 BOM is ignored.
pub struct CsvReader<'a> {
    rest: &'a str,
    line: usize,
    delimiter: char,
}

impl<'a> CsvReader<'a> {
    /// Reads `text`.
    pub fn new(text: &'a str, delimiter: char) -> Self {
        Self {
            rest: text.strip_prefix('\u{feff}').unwrap_or(text),
            line: 1,
            delimiter,
        }
    }
}

impl Iterator for CsvReader<'_> {
    type Item = Result<Record, String>;

    fn next(&mut self) -> Option<Self::Item> {
        // Skip blank lines.
        loop {
            if self.rest.is_empty() {
                return None;
            }
            if let Some(r) = self.rest.strip_prefix("\r\n") {
                self.rest = r;
            } else if let Some(r) = self.rest.strip_prefix('\n') {
                self.rest = r;
            } else {
                break;
            }
            self.line += 1;
        }
        let start = self.line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut chars = self.rest.char_indices().peekable();
        let mut quoted = false; // inside quotes
        let mut was_quoted = false; // this field had quotes (only a delimiter or end may follow)
        let mut at_field_start = true;
        let mut consumed = self.rest.len();
        while let Some((i, c)) = chars.next() {
            if quoted {
                if c == '"' {
                    if chars.peek().map(|&(_, n)| n) == Some('"') {
                        chars.next();
                        field.push('"');
                    } else {
                        quoted = false;
                    }
                } else {
                    if c == '\n' {
                        self.line += 1;
                    }
                    field.push(c);
                }
                continue;
            }
            if c == self.delimiter {
                fields.push(std::mem::take(&mut field));
                was_quoted = false;
                at_field_start = true;
                continue;
            }
            if c == '\n' || (c == '\r' && chars.peek().map(|&(_, n)| n) == Some('\n')) {
                consumed = if c == '\r' { i + 2 } else { i + 1 };
                self.line += 1;
                break;
            }
            if c == '"' && at_field_start {
                quoted = true;
                was_quoted = true;
                at_field_start = false;
                continue;
            }
            if was_quoted {
                // Skip to the end of the line so the next record starts cleanly.
                let end = self.rest[i..]
                    .find('\n')
                    .map_or(self.rest.len(), |p| i + p + 1);
                self.rest = &self.rest[end..];
                self.line += 1;
                return Some(Err(format!(
                    "line {start}: unexpected '{c}' after a closing quote"
                )));
            }
            at_field_start = false;
            field.push(c);
        }
        if quoted {
            self.rest = "";
            return Some(Err(format!(
                "line {start}: quoted field not closed before the end of the file"
            )));
        }
        fields.push(field);
        self.rest = &self.rest[consumed..];
        Some(Ok(Record {
            line: start,
            fields,
        }))
    }
}

/// Reads a whole CSV file into its header and records.
fn read_table(path: &Path, delimiter: char) -> anyhow::Result<(Vec<String>, CsvReaderOwned)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut header = None;
    {
        let mut r = CsvReader::new(&text, delimiter);
        if let Some(h) = r.next() {
            header = Some(h.map_err(|e| anyhow!("{}: {e}", path.display()))?);
        }
    }
    let header =
        header.ok_or_else(|| anyhow!("{}: the file is empty (no header row)", path.display()))?;
    Ok((
        header.fields.iter().map(|f| f.trim().to_owned()).collect(),
        CsvReaderOwned { text, delimiter },
    ))
}

/// The text of a table, read again record by record (the header first).
struct CsvReaderOwned {
    text: String,
    delimiter: char,
}

impl CsvReaderOwned {
    fn records(&self) -> impl Iterator<Item = Result<Record, String>> + '_ {
        CsvReader::new(&self.text, self.delimiter).skip(1)
    }
}

fn column(header: &[String], name: &str, path: &Path) -> anyhow::Result<usize> {
    header.iter().position(|h| h == name).ok_or_else(|| {
        anyhow!(
            "{}: no column '{name}' (the header has: {})",
            path.display(),
            header.join(", ")
        )
    })
}

/// A cell as a JSON value: a number if it reads as one, else the text.
pub fn cell_value(cell: &str) -> Value {
    let t = cell.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::from(i);
    }
    if t.bytes().any(|b| b.is_ascii_digit())
        && !t
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'e' && b != b'E')
        && let Some(n) = t.parse::<f64>().ok().and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    Value::String(t.to_owned())
}

struct Station {
    location: Value,
    name: Option<String>,
}

fn read_stations(m: &StationsMapping, delimiter: char) -> anyhow::Result<HashMap<String, Station>> {
    let (header, table) = read_table(&m.path, delimiter)?;
    let key = column(&header, &m.key, &m.path)?;
    let lat = column(&header, &m.lat, &m.path)?;
    let lon = column(&header, &m.lon, &m.path)?;
    let name = m
        .name
        .as_deref()
        .map(|n| column(&header, n, &m.path))
        .transpose()?;
    let mut out = HashMap::new();
    for rec in table.records() {
        let rec = rec.map_err(|e| anyhow!("{}: {e}", m.path.display()))?;
        let at = |i: usize| rec.fields.get(i).map(|s| s.trim()).unwrap_or_default();
        let coord = |i: usize, what: &str, max: f64| -> anyhow::Result<f64> {
            at(i)
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && v.abs() <= max)
                .ok_or_else(|| {
                    anyhow!(
                        "{}: line {}: {what} '{}' is not a valid coordinate",
                        m.path.display(),
                        rec.line,
                        at(i)
                    )
                })
        };
        let (y, x) = (
            coord(lat, "latitude", 90.0)?,
            coord(lon, "longitude", 180.0)?,
        );
        let location = json!({"type": "Point", "coordinates": [x, y]});
        let name = name.map(|i| at(i).to_owned()).filter(|s| !s.is_empty());
        out.insert(at(key).to_owned(), Station { location, name });
    }
    Ok(out)
}

/// One entity being built from rows.
struct Acc {
    id: String,
    key: String,
    first: i64,
    instances: Vec<(String, Value)>,
}

/// Reads a CSV file with `mapping`; returns the entities, rows read and bad rows skipped.
pub fn read_csv(
    path: &Path,
    mapping: &CsvMapping,
    skip_bad_rows: bool,
) -> anyhow::Result<(Vec<TemporalEntity>, usize, usize)> {
    let stations = mapping
        .stations
        .as_ref()
        .map(|s| read_stations(s, mapping.delimiter))
        .transpose()?;
    let (header, table) = read_table(path, mapping.delimiter)?;
    let id_col = column(&header, &mapping.id_column, path)?;
    let time_col = column(&header, &mapping.time_column, path)?;
    let value_cols = mapping
        .values
        .iter()
        .map(|v| Ok((column(&header, &v.column, path)?, v)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut accs: Vec<Acc> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    let (mut rows, mut bad) = (0usize, 0usize);
    for rec in table.records() {
        rows += 1;
        let row = rec.and_then(|rec| {
            let cell = |i: usize| {
                rec.fields.get(i).map(|s| s.trim()).ok_or_else(|| {
                    format!(
                        "line {}: {} fields, but column '{}' is field {}",
                        rec.line,
                        rec.fields.len(),
                        header[i],
                        i + 1
                    )
                })
            };
            let key = cell(id_col)?;
            if key.is_empty() {
                return Err(format!(
                    "line {}: empty id in column '{}'",
                    rec.line, mapping.id_column
                ));
            }
            let t = cell(time_col)?;
            let micros = parse_time(t, mapping.time_format).ok_or_else(|| {
                format!(
                    "line {}: '{t}' in column '{}' is not a {}",
                    rec.line,
                    mapping.time_column,
                    mapping.time_format.describe()
                )
            })?;
            let mut values = Vec::new();
            for (i, m) in &value_cols {
                let c = cell(*i)?;
                if !c.is_empty() {
                    values.push((*m, cell_value(c)));
                }
            }
            Ok((key.to_owned(), micros, values))
        });
        let (key, micros, values) = match row {
            Ok(r) => r,
            Err(e) if skip_bad_rows => {
                bad += 1;
                if bad <= BAD_ROWS_SHOWN {
                    eprintln!("warning: {}: {e} (skipped)", path.display());
                }
                continue;
            }
            Err(e) => bail!(
                "{}: {e} (--skip-bad-rows goes on after such rows)",
                path.display()
            ),
        };
        let idx = match by_key.get(&key) {
            Some(&i) => i,
            None => {
                let id = format!("{}{}", mapping.id_prefix, key);
                if !id.contains(':') {
                    bail!(
                        "{}: entity id '{id}' is not a URI; give --id-prefix, e.g. urn:ngsi-ld:{}:",
                        path.display(),
                        mapping.entity_type
                    );
                }
                by_key.insert(key.clone(), accs.len());
                accs.push(Acc {
                    id,
                    key,
                    first: micros,
                    instances: Vec::new(),
                });
                accs.len() - 1
            }
        };
        let acc = &mut accs[idx];
        acc.first = acc.first.min(micros);
        let at = format_time(micros);
        for (m, v) in values {
            let mut inst = Map::new();
            inst.insert("type".into(), "Property".into());
            inst.insert("value".into(), v);
            inst.insert("observedAt".into(), Value::String(at.clone()));
            if let Some(u) = &m.unit_code {
                inst.insert("unitCode".into(), Value::String(u.clone()));
            }
            acc.instances.push((m.attr.clone(), Value::Object(inst)));
        }
    }
    if bad > BAD_ROWS_SHOWN {
        eprintln!(
            "warning: {}: {} more bad rows skipped",
            path.display(),
            bad - BAD_ROWS_SHOWN
        );
    }
    let mut out = Vec::with_capacity(accs.len());
    let mut unmatched = Vec::new();
    for acc in accs {
        if acc.instances.is_empty() {
            continue;
        }
        let first = Value::String(format_time(acc.first));
        let mut statics: Vec<(String, Value)> = Vec::new();
        if let Some(st) = &stations {
            match st.get(&acc.key) {
                Some(s) => {
                    statics.push((
                        "location".into(),
                        json!({"type": "GeoProperty", "value": s.location, "observedAt": first}),
                    ));
                    if let Some(n) = &s.name {
                        statics.push((
                            "name".into(),
                            json!({"type": "Property", "value": n, "observedAt": first}),
                        ));
                    }
                }
                None => unmatched.push(acc.key.clone()),
            }
        }
        for (name, v) in &mapping.constants {
            statics.push((
                name.clone(),
                json!({"type": "Property", "value": v, "observedAt": first}),
            ));
        }
        let mut head = Map::new();
        head.insert("id".into(), Value::String(acc.id));
        head.insert("type".into(), Value::String(mapping.entity_type.clone()));
        statics.extend(acc.instances);
        out.push(TemporalEntity {
            head,
            instances: statics,
        });
    }
    if !unmatched.is_empty() {
        eprintln!(
            "warning: {} ids have no row in the station file (no location): {}",
            unmatched.len(),
            unmatched.join(", ")
        );
    }
    Ok((out, rows, bad))
}

// ---------------------------------------------------------------------------------------
// Time

impl TimeFormat {
    fn describe(self) -> &'static str {
        match self {
            Self::Rfc3339 => "RFC 3339 date-time (e.g. 2025-05-08T06:00:00Z)",
            Self::Date => "date (YYYY-MM-DD)",
            Self::NaiveUtc => "date-time (YYYY-MM-DDTHH:MM:SS)",
        }
    }
}

/// Parses a time cell into microseconds since the epoch (UTC).
pub fn parse_time(s: &str, f: TimeFormat) -> Option<i64> {
    match f {
        TimeFormat::Date => {
            let days = parse_date(s)?;
            (s.len() == 10).then_some(days * 86_400_000_000)
        }
        TimeFormat::Rfc3339 => parse_datetime(s, false),
        TimeFormat::NaiveUtc => parse_datetime(s, true),
    }
}

fn digits(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// `YYYY-MM-DD` (the first 10 bytes) as days since 1970-01-01.
fn parse_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (
        digits(s.get(0..4)?)?,
        digits(s.get(5..7)?)?,
        digits(s.get(8..10)?)?,
    );
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// RFC 3339 date-time; with `naive`, the zone may be absent (then UTC).
fn parse_datetime(s: &str, naive: bool) -> Option<i64> {
    let days = parse_date(s)?;
    let rest = s.get(10..)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let b = rest.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, mi, sec) = (
        digits(rest.get(0..2)?)?,
        digits(rest.get(3..5)?)?,
        digits(rest.get(6..8)?)?,
    );
    if h > 23 || mi > 59 || sec > 59 {
        return None;
    }
    let mut rest = rest.get(8..)?;
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let six: String = frac[..n]
            .chars()
            .chain(std::iter::repeat('0'))
            .take(6)
            .collect();
        micros = six.parse().ok()?;
        rest = &frac[n..];
    }
    let offset_s = match rest {
        "" if naive => 0,
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let z = &rest[1..];
            if z.len() != 5 || z.as_bytes()[2] != b':' {
                return None;
            }
            let (oh, om) = (digits(&z[0..2])?, digits(&z[3..5])?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec - offset_s;
    Some(secs * 1_000_000 + micros)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Microseconds since the epoch as RFC 3339 in UTC (`…Z`, milli- or microseconds when
/// not zero).
pub fn format_time(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let us = micros.rem_euclid(1_000_000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let base = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60
    );
    if us == 0 {
        format!("{base}Z")
    } else if us % 1000 == 0 {
        format!("{base}.{:03}Z", us / 1000)
    } else {
        format!("{base}.{us:06}Z")
    }
}

// ---------------------------------------------------------------------------------------
// Sending

/// The HTTP side: base URL, tenant, context Link.
struct Client {
    http: reqwest::Client,
    base: String,
    tenant: Option<String>,
    link: Option<String>,
}

impl Client {
    fn new(args: &ImportArgs) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = args.url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!(
                "--url must be an http:// or https:// URL, got '{}'",
                args.url
            );
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .context("building the HTTP client")?;
        let link = args.context.as_ref().map(|c| {
            format!(
                "<{c}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""
            )
        });
        Ok(Self {
            http,
            base,
            tenant: args.tenant.clone(),
            link,
        })
    }

    /// POSTs `body`; `ld` = it carries its @context. Fails with the ProblemDetails of an
    /// error status, or the errors of a 207 batch answer.
    async fn post(&self, path: &str, body: &Value, ld: bool) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec(body)?;
        let mut req = self.http.post(format!("{}{}", self.base, path));
        if ld {
            req = req.header("Content-Type", "application/ld+json");
        } else {
            req = req.header("Content-Type", "application/json");
            if let Some(l) = &self.link {
                req = req.header("Link", l);
            }
        }
        if let Some(t) = &self.tenant {
            req = req.header("NGSILD-Tenant", t);
        }
        let resp = req
            .body(bytes)
            .send()
            .await
            .with_context(|| format!("POST {}{path}", self.base))?;
        let status = resp.status();
        let answer = resp.bytes().await.unwrap_or_default();
        let json: Value = serde_json::from_slice(&answer).unwrap_or(Value::Null);
        if !status.is_success() {
            let text = String::from_utf8_lossy(&answer);
            let detail = match (
                json.get("title").and_then(Value::as_str),
                json.get("detail").and_then(Value::as_str),
            ) {
                (Some(t), Some(d)) => format!("{t}: {d}"),
                (Some(t), None) => t.to_owned(),
                (None, Some(d)) => d.to_owned(),
                (None, None) => text.chars().take(300).collect(),
            };
            bail!("POST {path} answered {status}: {detail}");
        }
        if status.as_u16() == 207 {
            let errors = json
                .get("errors")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if !errors.is_empty() {
                let first: Vec<String> = errors
                    .iter()
                    .take(3)
                    .map(|e| {
                        let id = e.get("entityId").and_then(Value::as_str).unwrap_or("?");
                        let d = e
                            .pointer("/error/detail")
                            .or_else(|| e.pointer("/error/title"))
                            .and_then(Value::as_str)
                            .unwrap_or("?");
                        format!("{id}: {d}")
                    })
                    .collect();
                bail!(
                    "POST {path}: {} entities failed: {}",
                    errors.len(),
                    first.join("; ")
                );
            }
        }
        Ok(())
    }
}

/// One request to make.
struct Job {
    path: &'static str,
    body: Value,
    ld: bool,
    instances: usize,
    what: String,
}

/// Splits the latest instance of every (attribute, datasetId) off each entity: returns the
/// current-state entities and leaves the rest in `entities`.
fn split_current(entities: &mut [TemporalEntity]) -> Vec<(Value, bool, usize)> {
    let mut out = Vec::new();
    for e in entities.iter_mut() {
        // (attr, datasetId) -> (index, time) of the latest instance.
        let mut latest: Vec<((String, String), usize, Option<i64>)> = Vec::new();
        for (i, (attr, inst)) in e.instances.iter().enumerate() {
            let ds = inst
                .get("datasetId")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let t = inst
                .get("observedAt")
                .and_then(Value::as_str)
                .and_then(|s| parse_datetime(s, false));
            let key = (attr.clone(), ds);
            match latest.iter_mut().find(|(k, _, _)| *k == key) {
                Some(slot) => {
                    if t >= slot.2 {
                        slot.1 = i;
                        slot.2 = t;
                    }
                }
                None => latest.push((key, i, t)),
            }
        }
        let mut take: Vec<usize> = latest.iter().map(|(_, i, _)| *i).collect();
        take.sort_unstable();
        let mut body = e.head.clone();
        let mut n = 0;
        for &i in take.iter().rev() {
            let (attr, inst) = e.instances.remove(i);
            n += 1;
            match body.get_mut(&attr) {
                Some(Value::Array(a)) => a.insert(0, inst),
                Some(other) => {
                    let first = other.take();
                    *other = Value::Array(vec![inst, first]);
                }
                None => {
                    body.insert(attr, inst);
                }
            }
        }
        let ld = body.contains_key("@context");
        out.push((Value::Object(body), ld, n));
    }
    out
}

/// The temporal requests of one entity: chunks of at most `size` instances.
fn chunks(e: &TemporalEntity, size: usize) -> Vec<Job> {
    let ld = e.head.contains_key("@context");
    e.instances
        .chunks(size)
        .map(|part| {
            let mut body = e.head.clone();
            for (attr, inst) in part {
                match body.get_mut(attr) {
                    Some(Value::Array(a)) => a.push(inst.clone()),
                    _ => {
                        body.insert(attr.clone(), Value::Array(vec![inst.clone()]));
                    }
                }
            }
            Job {
                path: TEMPORAL,
                body: Value::Object(body),
                ld,
                instances: part.len(),
                what: e.id().to_owned(),
            }
        })
        .collect()
}

fn progress(args: &ImportArgs, total: usize) -> ProgressBar {
    if args.quiet || !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {wide_bar} {human_pos}/{human_len} instances (ETA {eta}) {msg}",
    ) {
        pb.set_style(style);
    }
    pb
}

/// Runs `jobs` with at most `concurrency` in flight; stops at the first failure.
async fn run_jobs(
    client: &Arc<Client>,
    jobs: Vec<Job>,
    concurrency: usize,
    pb: &ProgressBar,
) -> anyhow::Result<usize> {
    let mut set = tokio::task::JoinSet::new();
    let mut pending = jobs.into_iter();
    let mut done = 0;
    loop {
        while set.len() < concurrency {
            let Some(job) = pending.next() else { break };
            let client = client.clone();
            set.spawn(async move {
                client
                    .post(job.path, &job.body, job.ld)
                    .await
                    .with_context(|| format!("importing {}", job.what))?;
                Ok::<usize, anyhow::Error>(job.instances)
            });
        }
        let Some(res) = set.join_next().await else {
            break;
        };
        let n = res.context("import task")??;
        pb.inc(n as u64);
        done += 1;
    }
    Ok(done)
}

async fn send(
    client: &Arc<Client>,
    mut entities: Vec<TemporalEntity>,
    args: &ImportArgs,
    started: Instant,
) -> anyhow::Result<Summary> {
    let concurrency = args.concurrency as usize;
    let size = args.chunk_size as usize;
    let mut summary = Summary {
        entities: entities.len(),
        ..Summary::default()
    };
    let current = if args.current {
        split_current(&mut entities)
    } else {
        Vec::new()
    };
    let history: usize = entities.iter().map(|e| e.instances.len()).sum();
    let in_current: usize = current.iter().map(|c| c.2).sum();
    let pb = progress(args, history + in_current);

    // 1. Current state first: the broker records it as history itself.
    let mut jobs = Vec::new();
    for ld in [false, true] {
        let group: Vec<&(Value, bool, usize)> = current.iter().filter(|c| c.1 == ld).collect();
        for batch in group.chunks(UPSERT_BATCH) {
            jobs.push(Job {
                path: UPSERT,
                body: Value::Array(batch.iter().map(|c| c.0.clone()).collect()),
                ld,
                instances: batch.iter().map(|c| c.2).sum(),
                what: format!("the current state of {} entities", batch.len()),
            });
        }
    }
    summary.requests += run_jobs(client, jobs, concurrency, &pb).await?;

    // 2. History: the first chunk of every entity (creates it), then all the others, so no
    //    two requests race to create the same entity.
    let mut firsts = Vec::new();
    let mut rest = Vec::new();
    for e in &entities {
        let mut js = chunks(e, size).into_iter();
        firsts.extend(js.next());
        rest.extend(js);
    }
    summary.requests += run_jobs(client, firsts, concurrency, &pb).await?;
    summary.requests += run_jobs(client, rest, concurrency, &pb).await?;
    pb.finish_and_clear();
    summary.instances = history + in_current;
    summary.current = in_current;
    summary.elapsed = started.elapsed();
    Ok(summary)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn rows(text: &str, d: char) -> Vec<Result<Record, String>> {
        CsvReader::new(text, d).collect()
    }

    fn fields(text: &str, d: char) -> Vec<Vec<String>> {
        rows(text, d)
            .into_iter()
            .map(|r| r.unwrap().fields)
            .collect()
    }

    #[test]
    fn splits_plain_and_quoted_fields() {
        assert_eq!(
            fields("a,b,c\n1,2,3\n", ','),
            vec![vec!["a", "b", "c"], vec!["1", "2", "3"]]
        );
        assert_eq!(
            fields("a;b\r\n\"x;y\";\"he said \"\"hi\"\"\"\r\n", ';'),
            vec![vec!["a", "b"], vec!["x;y", "he said \"hi\""]]
        );
        assert_eq!(fields("a,,\n", ','), vec![vec!["a", "", ""]]);
        assert_eq!(fields("\"\",x", ','), vec![vec!["", "x"]]);
        // A quote inside an unquoted field is kept as is.
        assert_eq!(fields("ab\"c,d", ','), vec![vec!["ab\"c", "d"]]);
        // No trailing newline, BOM, blank lines.
        assert_eq!(
            fields("\u{feff}h\n\n1\n\n", ','),
            vec![vec!["h"], vec!["1"]]
        );
    }

    #[test]
    fn quoted_newlines_and_line_numbers() {
        let r = rows("h1,h2\n\"multi\nline\",2\n3,4\n", ',');
        let r: Vec<Record> = r.into_iter().map(Result::unwrap).collect();
        assert_eq!(r[1].fields, vec!["multi\nline", "2"]);
        assert_eq!(r[1].line, 2);
        assert_eq!(r[2].line, 4);
        assert_eq!(r[2].fields, vec!["3", "4"]);
    }

    #[test]
    fn malformed_quotes_are_errors_with_line_numbers() {
        let r = rows("h\n\"ab\"c,d\nok\n", ',');
        assert_eq!(
            r[1].as_ref().unwrap_err(),
            "line 2: unexpected 'c' after a closing quote"
        );
        assert_eq!(r[2].as_ref().unwrap().fields, vec!["ok"]);
        assert_eq!(r[2].as_ref().unwrap().line, 3);
        let r = rows("h\n\"open\n", ',');
        assert!(
            r[1].as_ref()
                .unwrap_err()
                .starts_with("line 2: quoted field not closed")
        );
    }

    #[test]
    fn value_mappings() {
        assert_eq!(
            ValueMapping::parse("count=intensity").unwrap(),
            ValueMapping {
                column: "count".into(),
                attr: "intensity".into(),
                unit_code: None
            }
        );
        assert_eq!(
            ValueMapping::parse("P1=pm10:GQ")
                .unwrap()
                .unit_code
                .as_deref(),
            Some("GQ")
        );
        assert_eq!(
            ValueMapping::parse("t=temperature:CEL").unwrap().attr,
            "temperature"
        );
        let iri = ValueMapping::parse("x=https://example.org/attr").unwrap();
        assert_eq!(
            (iri.attr.as_str(), iri.unit_code),
            ("https://example.org/attr", None)
        );
        assert_eq!(ValueMapping::parse("x=ex:foo").unwrap().attr, "ex:foo");
        assert_eq!(ValueMapping::parse("a=b=c").unwrap().attr, "b=c");
        for bad in ["count", "=intensity", "count=", "count=:GQ"] {
            assert!(ValueMapping::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter(";").unwrap(), ';');
        assert_eq!(parse_delimiter("tab").unwrap(), '\t');
        assert_eq!(parse_delimiter("\\t").unwrap(), '\t');
        assert!(parse_delimiter(",,").is_err());
        assert!(parse_delimiter("\"").is_err());
        assert!(parse_delimiter("").is_err());
    }

    #[test]
    fn cells() {
        assert_eq!(cell_value("690"), json!(690));
        assert_eq!(cell_value(" -3 "), json!(-3));
        assert_eq!(cell_value("12.5"), json!(12.5));
        assert_eq!(cell_value("1e3"), json!(1000.0));
        assert_eq!(cell_value("NaN"), json!("NaN"));
        assert_eq!(cell_value("inf"), json!("inf"));
        assert_eq!(cell_value("true"), json!("true"));
        assert_eq!(cell_value("Lange Straße"), json!("Lange Straße"));
    }

    #[test]
    fn times() {
        let day = parse_time("2025-05-08", TimeFormat::Date).unwrap();
        assert_eq!(format_time(day), "2025-05-08T00:00:00Z");
        assert_eq!(
            parse_time("2025-05-08T00:00:00Z", TimeFormat::Rfc3339),
            Some(day)
        );
        assert_eq!(
            parse_time("2025-05-08T02:00:00+02:00", TimeFormat::Rfc3339),
            Some(day)
        );
        assert_eq!(
            parse_time("2025-05-07T22:00:00-02:00", TimeFormat::Rfc3339)
                .map(format_time)
                .as_deref(),
            Some("2025-05-08T00:00:00Z")
        );
        assert_eq!(
            parse_time("2017-10-20T00:00:26", TimeFormat::NaiveUtc)
                .map(format_time)
                .as_deref(),
            Some("2017-10-20T00:00:26Z")
        );
        assert_eq!(
            parse_time("2018-01-12 12:00:00", TimeFormat::NaiveUtc)
                .map(format_time)
                .as_deref(),
            Some("2018-01-12T12:00:00Z")
        );
        assert_eq!(
            parse_time("2024-02-29T23:59:59.5Z", TimeFormat::Rfc3339)
                .map(format_time)
                .as_deref(),
            Some("2024-02-29T23:59:59.500Z")
        );
        assert_eq!(
            parse_time("1969-12-31T23:59:59.000001Z", TimeFormat::Rfc3339)
                .map(format_time)
                .as_deref(),
            Some("1969-12-31T23:59:59.000001Z")
        );
        for bad in ["2025-13-01", "2025-02-29", "2025-5-8", "", "2025-05-08x"] {
            assert_eq!(parse_time(bad, TimeFormat::Date), None, "{bad}");
        }
        for bad in [
            "2025-05-08",
            "2025-05-08T00:00:00",
            "2025-05-08T24:00:00Z",
            "2025-05-08T00:00:00.Z",
            "2025-05-08T00:00:00+2:00",
        ] {
            assert_eq!(parse_time(bad, TimeFormat::Rfc3339), None, "{bad}");
        }
    }

    #[test]
    fn current_state_takes_the_latest_instance_per_attribute() {
        let mut es = vec![TemporalEntity {
            head: json!({"id": "urn:x:1", "type": "T"})
                .as_object()
                .unwrap()
                .clone(),
            instances: vec![
                (
                    "a".into(),
                    json!({"type": "Property", "value": 1, "observedAt": "2025-01-02T00:00:00Z"}),
                ),
                (
                    "a".into(),
                    json!({"type": "Property", "value": 2, "observedAt": "2025-01-03T00:00:00+02:00"}),
                ),
                (
                    "a".into(),
                    json!({"type": "Property", "value": 3, "observedAt": "2025-01-01T00:00:00Z"}),
                ),
                ("b".into(), json!({"type": "Property", "value": "x"})),
            ],
        }];
        let cur = split_current(&mut es);
        assert_eq!(cur.len(), 1);
        assert_eq!(cur[0].0["a"]["value"], 2);
        assert_eq!(cur[0].0["b"]["value"], "x");
        assert_eq!(cur[0].2, 2);
        assert_eq!(es[0].instances.len(), 2);
    }

    #[test]
    fn chunks_group_instances_by_attribute() {
        let e = TemporalEntity {
            head: json!({"id": "urn:x:1", "type": "T"})
                .as_object()
                .unwrap()
                .clone(),
            instances: (0..5)
                .map(|i| {
                    (
                        if i % 2 == 0 { "a" } else { "b" }.to_owned(),
                        json!({"type": "Property", "value": i}),
                    )
                })
                .collect(),
        };
        let js = chunks(&e, 2);
        assert_eq!(js.len(), 3);
        assert_eq!(js[0].body["a"].as_array().unwrap().len(), 1);
        assert_eq!(js[0].body["b"].as_array().unwrap().len(), 1);
        assert_eq!(js[2].body["a"][0]["value"], 4);
        assert_eq!(js.iter().map(|j| j.instances).sum::<usize>(), 5);
    }
}
