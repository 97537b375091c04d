//! Indicators that run: the definition of a `KeyPerformanceIndicator`, how its value is
//! computed from platform data, its data coverage, and its status against its target.
//!
//! A definition is read from the KPI entity: `query` (a JSON object, below) or
//! `calculationMethod: "manual"`, `unit`, `direction` (`increase`/`decrease`), `baseline`
//! with `startDate` (when the baseline held), `targetValue` with `targetDate`, and
//! `calculationFrequency` (an ISO 8601 duration, default `P1D`).
//!
//! The `query` object:
//!
//! | member | meaning |
//! |---|---|
//! | `measure` | `count`, `avg`, `min`, `max`, `sum`, `pNN` (percentile, e.g. `p90`) or `ratio` |
//! | `type` | entity type (short name of the core context, or an IRI) |
//! | `q` | an NGSI-LD `q` filter on the current state |
//! | `area` | a GeoJSON Polygon: only entities whose `location` lies inside |
//! | `entities` | a list of entity ids (instead of or narrowing `type`) |
//! | `attribute` | the attribute aggregated over its history (not for `count`) |
//! | `period` | the window looked back over, ISO 8601 (default `P1D`) |
//! | `expectedInterval` | how often each entity should report (for coverage) |
//! | `numerator`, `denominator` | two `count` queries, for `ratio` |
//!
//! **Window.** The window ends at the last full boundary before the computation: midnight
//! UTC when `period` is a whole number of days, else the full hour; it starts `period`
//! earlier (`[from, to)`).
//!
//! **Values and coverage.** `count` counts the matching entities now (coverage 1). The
//! aggregations pool every numeric instance of `attribute` in the window over all matching
//! entities; percentiles use the nearest rank (`p`-th of `n` sorted values is the
//! `ceil(p/100·n)`-th). Coverage is `instances / (entities · period / expectedInterval)`,
//! at most 1; without `expectedInterval` it is the share of entities with at least one
//! instance. A `ratio` is numerator / denominator with the smaller of the two coverages; a
//! zero denominator is an error. No matching entity or no instance: no value, coverage 0.

use std::collections::BTreeMap;

use async_trait::async_trait;
use broker::model::{Entity, Timestamp};
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use serde_json::{Value, json};

use crate::read;
use crate::vocab::attr;

/// What a measure does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// Number of matching entities.
    Count,
    /// Mean of the instances in the window.
    Avg,
    /// Smallest instance.
    Min,
    /// Largest instance.
    Max,
    /// Sum of the instances.
    Sum,
    /// Nearest-rank percentile (0 < p ≤ 100).
    Percentile(f64),
    /// numerator / denominator.
    Ratio,
}

impl Measure {
    fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "count" => Self::Count,
            "avg" => Self::Avg,
            "min" => Self::Min,
            "max" => Self::Max,
            "sum" => Self::Sum,
            "ratio" => Self::Ratio,
            p if p.starts_with('p') => {
                let n: f64 = p[1..]
                    .parse()
                    .map_err(|_| format!("unknown measure '{s}'"))?;
                if !(n > 0.0 && n <= 100.0) {
                    return Err(format!("percentile '{s}' is not between p1 and p100"));
                }
                Self::Percentile(n)
            }
            _ => {
                return Err(format!(
                    "unknown measure '{s}' (count, avg, min, max, sum, pNN, ratio)"
                ));
            }
        })
    }
}

/// Which entities a query looks at.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selection {
    /// Entity type as written.
    pub entity_type: Option<String>,
    /// `q` filter as written.
    pub q: Option<String>,
    /// Entity ids.
    pub entities: Vec<String>,
    /// Polygon rings (lon, lat); the first is the outer ring.
    pub area: Option<Vec<Vec<(f64, f64)>>>,
}

/// A query that computes an indicator's value.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The measure.
    pub measure: Measure,
    /// Which entities.
    pub selection: Selection,
    /// The attribute aggregated.
    pub attribute: Option<String>,
    /// The window length.
    pub period: Duration,
    /// How often each entity should report.
    pub expected_interval: Option<Duration>,
    /// For ratios.
    pub parts: Option<Box<(Query, Query)>>,
}

fn duration(v: Option<&Value>, what: &str) -> Result<Option<Duration>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => ngsild_query::parse_duration(s)
            .map(Some)
            .map_err(|e| format!("{what}: {e}")),
        Some(_) => Err(format!("{what} must be an ISO 8601 duration")),
    }
}

fn polygon(v: &Value) -> Result<Vec<Vec<(f64, f64)>>, String> {
    let bad = || "area must be a GeoJSON Polygon".to_owned();
    if v.get("type").and_then(Value::as_str) != Some("Polygon") {
        return Err(bad());
    }
    let rings = v
        .get("coordinates")
        .and_then(Value::as_array)
        .ok_or_else(bad)?;
    rings
        .iter()
        .map(|r| {
            r.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|p| {
                    match (
                        p.get(0).and_then(Value::as_f64),
                        p.get(1).and_then(Value::as_f64),
                    ) {
                        (Some(x), Some(y)) => Ok((x, y)),
                        _ => Err(bad()),
                    }
                })
                .collect()
        })
        .collect()
}

impl Query {
    /// Reads a query object (see the module documentation).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let o = v.as_object().ok_or("query must be a JSON object")?;
        let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_owned);
        let measure = Measure::parse(&text("measure").ok_or("query needs a 'measure'")?)?;
        let mut entities = Vec::new();
        if let Some(list) = o.get("entities") {
            for e in list.as_array().ok_or("entities must be a list of ids")? {
                entities.push(
                    e.as_str()
                        .ok_or("entities must be a list of ids")?
                        .to_owned(),
                );
            }
        }
        let selection = Selection {
            entity_type: text("type"),
            q: text("q"),
            entities,
            area: o.get("area").map(polygon).transpose()?,
        };
        let parts = if measure == Measure::Ratio {
            let n = Self::from_json(o.get("numerator").ok_or("a ratio needs a 'numerator'")?)?;
            let d = Self::from_json(
                o.get("denominator")
                    .ok_or("a ratio needs a 'denominator'")?,
            )?;
            Some(Box::new((n, d)))
        } else {
            if selection.entity_type.is_none() && selection.entities.is_empty() {
                return Err("query needs a 'type' or 'entities'".into());
            }
            None
        };
        let attribute = text("attribute");
        if !matches!(measure, Measure::Count | Measure::Ratio) && attribute.is_none() {
            return Err("an aggregation needs an 'attribute'".into());
        }
        Ok(Self {
            measure,
            selection,
            attribute,
            period: duration(o.get("period"), "period")?.unwrap_or_else(|| Duration::days(1)),
            expected_interval: duration(o.get("expectedInterval"), "expectedInterval")?,
            parts,
        })
    }

    /// The window `[from, to)` of a computation at `now`.
    pub fn window(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let to = if self.period.num_seconds() % 86_400 == 0 {
            now.date_naive()
                .and_hms_opt(0, 0, 0)
                .map(|d| d.and_utc())
                .unwrap_or(now)
        } else {
            now.with_minute(0)
                .and_then(|t| t.with_second(0))
                .and_then(|t| t.with_nanosecond(0))
                .unwrap_or(now)
        };
        (to - self.period, to)
    }
}

/// An entity a selection found: its id and point.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// Entity id.
    pub id: String,
    /// (lon, lat) of its `location`.
    pub point: Option<(f64, f64)>,
}

/// Where evaluation reads platform data; errors are messages shown on the KPI.
#[async_trait]
pub trait Source: Send + Sync {
    /// The entities of `tenant` matching type, `q` and ids of `sel` now (area is applied by
    /// the caller).
    async fn select(&self, tenant: &str, sel: &Selection) -> Result<Vec<Found>, String>;
    /// The numeric instances of `attribute` of `entity` observed in `[from, to)`.
    async fn values(
        &self,
        tenant: &str,
        entity: &str,
        attribute: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<f64>, String>;
}

/// One computed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The value (`None`: nothing to compute it from).
    pub value: Option<f64>,
    /// Share of the expected data that existed, 0–1.
    pub coverage: f64,
    /// Window start.
    pub from: Timestamp,
    /// Window end.
    pub to: Timestamp,
    /// Entities looked at.
    pub entities: usize,
    /// Instances aggregated.
    pub samples: usize,
}

fn inside(rings: &[Vec<(f64, f64)>], p: (f64, f64)) -> bool {
    use geo::{Contains, LineString, Point, Polygon};
    let mut it = rings.iter().map(|r| LineString::from(r.clone()));
    let Some(outer) = it.next() else {
        return false;
    };
    Polygon::new(outer, it.collect()).contains(&Point::new(p.0, p.1))
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// Computes `query` for `tenant` at `now`.
pub async fn evaluate(
    src: &dyn Source,
    tenant: &str,
    query: &Query,
    now: Timestamp,
) -> Result<Evaluation, String> {
    let (from, to) = query.window(now);
    if let Some(parts) = &query.parts {
        let n = Box::pin(evaluate(src, tenant, &parts.0, now)).await?;
        let d = Box::pin(evaluate(src, tenant, &parts.1, now)).await?;
        let value = match (n.value, d.value) {
            (_, Some(0.0)) => return Err("the ratio's denominator is 0".into()),
            (Some(a), Some(b)) => Some(a / b),
            _ => None,
        };
        return Ok(Evaluation {
            value,
            coverage: n.coverage.min(d.coverage),
            from,
            to,
            entities: n.entities + d.entities,
            samples: n.samples + d.samples,
        });
    }
    let mut found = src.select(tenant, &query.selection).await?;
    if let Some(area) = &query.selection.area {
        found.retain(|f| f.point.is_some_and(|p| inside(area, p)));
    }
    let entities = found.len();
    if query.measure == Measure::Count {
        return Ok(Evaluation {
            value: Some(entities as f64),
            coverage: 1.0,
            from,
            to,
            entities,
            samples: 0,
        });
    }
    let attribute = query.attribute.as_deref().unwrap_or_default();
    let mut all = Vec::new();
    let mut reporting = 0usize;
    for f in &found {
        let v = src.values(tenant, &f.id, attribute, from, to).await?;
        if !v.is_empty() {
            reporting += 1;
        }
        all.extend(v);
    }
    let samples = all.len();
    let coverage = if entities == 0 {
        0.0
    } else if let Some(every) = query.expected_interval {
        let per = query.period.num_seconds() as f64 / every.num_seconds().max(1) as f64;
        (samples as f64 / (entities as f64 * per.floor().max(1.0))).min(1.0)
    } else {
        reporting as f64 / entities as f64
    };
    all.sort_by(f64::total_cmp);
    let value = if all.is_empty() {
        None
    } else {
        match query.measure {
            Measure::Avg => Some(all.iter().sum::<f64>() / samples as f64),
            Measure::Sum => Some(all.iter().sum()),
            Measure::Min => all.first().copied(),
            Measure::Max => all.last().copied(),
            Measure::Percentile(p) => percentile(&all, p),
            Measure::Count | Measure::Ratio => None,
        }
    };
    Ok(Evaluation {
        value,
        coverage,
        from,
        to,
        entities,
        samples,
    })
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Higher is better.
    Increase,
    /// Lower is better.
    Decrease,
}

/// An indicator's standing against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Progress keeps pace with the time elapsed (or the target is reached).
    OnTrack,
    /// Some progress, but less than the time elapsed asks for.
    NeedsAcceleration,
    /// No progress, or less than half the pace needed, or the target date passed.
    OffTrack,
    /// No baseline/target to measure against.
    NoTarget,
    /// No value.
    NoData,
    /// The computation failed.
    Error,
}

impl Status {
    /// The name stored in `indicatorStatus`.
    pub fn name(self) -> &'static str {
        match self {
            Self::OnTrack => "onTrack",
            Self::NeedsAcceleration => "needsAcceleration",
            Self::OffTrack => "offTrack",
            Self::NoTarget => "noTarget",
            Self::NoData => "noData",
            Self::Error => "error",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::OnTrack,
            Self::NeedsAcceleration,
            Self::OffTrack,
            Self::NoTarget,
            Self::NoData,
            Self::Error,
        ]
        .into_iter()
        .find(|x| x.name() == s)
    }

    /// The label in German (`de`) or English.
    pub fn label(self, lang: &str) -> &'static str {
        let de = lang == "de";
        match self {
            Self::OnTrack if de => "im Plan",
            Self::OnTrack => "on track",
            Self::NeedsAcceleration if de => "Beschleunigung nötig",
            Self::NeedsAcceleration => "needs acceleration",
            Self::OffTrack if de => "nicht im Plan",
            Self::OffTrack => "off track",
            Self::NoTarget if de => "ohne Zielwert",
            Self::NoTarget => "no target",
            Self::NoData if de => "keine Daten",
            Self::NoData => "no data",
            Self::Error if de => "Fehler",
            Self::Error => "error",
        }
    }
}

/// How an indicator is computed.
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// From platform data.
    Automatic(Query),
    /// Entered by hand with evidence.
    Manual,
    /// The definition cannot be read; the message says why.
    Invalid(String),
}

/// An indicator definition with its current value, read from a KPI entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Indicator {
    /// Entity id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The agenda.
    pub agenda: Option<String>,
    /// The domain.
    pub domain: Option<String>,
    /// Unit (text).
    pub unit: Option<String>,
    /// Better direction.
    pub direction: Direction,
    /// Baseline value.
    pub baseline: Option<f64>,
    /// When the baseline held.
    pub baseline_date: Option<NaiveDate>,
    /// Target value.
    pub target: Option<f64>,
    /// Target date.
    pub target_date: Option<NaiveDate>,
    /// How it is computed.
    pub method: Method,
    /// Recompute every.
    pub frequency: Duration,
    /// Current value.
    pub value: Option<f64>,
    /// When the current value was observed.
    pub value_at: Option<String>,
    /// Current coverage.
    pub coverage: Option<f64>,
    /// Current status.
    pub status: Option<Status>,
    /// Last error.
    pub error: Option<String>,
    /// Evidence of a manual value.
    pub evidence: Option<String>,
    /// When to compute next (RFC 3339).
    pub next: Option<String>,
}

impl Indicator {
    /// Reads a KeyPerformanceIndicator entity.
    pub fn read(e: &Entity) -> Self {
        let manual = read::text(e, attr::CALCULATION_METHOD).as_deref() == Some("manual");
        let method = if manual {
            Method::Manual
        } else {
            match read::value(e, attr::QUERY) {
                Some(q) => Query::from_json(q).map_or_else(Method::Invalid, Method::Automatic),
                None => Method::Invalid("no 'query' and calculationMethod is not 'manual'".into()),
            }
        };
        let frequency = read::text(e, attr::CALCULATION_FREQUENCY)
            .and_then(|s| ngsild_query::parse_duration(&s).ok())
            .unwrap_or_else(|| Duration::days(1));
        Self {
            id: e.id.clone(),
            name: read::text(e, attr::NAME).unwrap_or_default(),
            agenda: read::object(e, attr::AGENDA),
            domain: read::object(e, attr::DOMAIN),
            unit: read::text(e, attr::UNIT),
            direction: if read::text(e, attr::DIRECTION).as_deref() == Some("decrease") {
                Direction::Decrease
            } else {
                Direction::Increase
            },
            baseline: read::number(e, attr::BASELINE),
            baseline_date: read::date(e, attr::START_DATE),
            target: read::number(e, attr::TARGET_VALUE),
            target_date: read::date(e, attr::TARGET_DATE),
            method,
            frequency,
            value: read::number(e, attr::KPI_VALUE),
            value_at: e
                .attr(attr::KPI_VALUE)
                .and_then(|a| a.observed_at().map(str::to_owned)),
            coverage: read::number(e, attr::DATA_COVERAGE),
            status: read::text(e, attr::INDICATOR_STATUS).and_then(|s| Status::parse(&s)),
            error: read::text(e, attr::COMPUTATION_ERROR),
            evidence: read::text(e, attr::EVIDENCE),
            next: read::value(e, attr::DATE_NEXT_CALCULATION)
                .and_then(|v| v.as_str().or_else(|| v.get("@value")?.as_str()))
                .map(str::to_owned),
        }
    }

    /// The status of `value` on `today` by the rule of [`status`].
    pub fn status_of(&self, value: Option<f64>, today: NaiveDate) -> Status {
        status(self, value, today)
    }

    /// The JSON view of the indicator (API and report).
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "agenda": self.agenda, "domain": self.domain,
            "unit": self.unit,
            "direction": match self.direction { Direction::Increase => "increase", Direction::Decrease => "decrease" },
            "baseline": self.baseline, "baselineDate": self.baseline_date,
            "targetValue": self.target, "targetDate": self.target_date,
            "calculationMethod": match self.method { Method::Manual => "manual", _ => "automatic" },
            "kpiValue": self.value, "observedAt": self.value_at,
            "dataCoverage": self.coverage,
            "indicatorStatus": self.status.map(Status::name),
            "computationError": self.error, "evidence": self.evidence,
            "dateNextCalculation": self.next,
        })
    }
}

/// The status rule. With baseline `b` (on `startDate`), target `t` (on `targetDate`) and
/// value `v` on `today`: progress `a = (v − b) / (t − b)` (the share of the way to the
/// target covered, whatever the direction), elapsed `f` = share of the time from `startDate`
/// to `targetDate` that has passed (0–1).
///
/// - `a ≥ 1` (target reached) or `a ≥ f`: **on track**;
/// - after `targetDate` with `a < 1`: **off track**;
/// - `a > 0` and `a ≥ f / 2`: **needs acceleration**;
/// - otherwise (no progress, or less than half the pace needed): **off track**.
///
/// If `t = b`, the value is on track when it is on the good side of `t` (by `direction`),
/// else off track. Without a value: no data; without baseline, target or dates: no target.
pub fn status(ind: &Indicator, value: Option<f64>, today: NaiveDate) -> Status {
    let Some(v) = value else {
        return Status::NoData;
    };
    let (Some(b), Some(t), Some(start), Some(end)) =
        (ind.baseline, ind.target, ind.baseline_date, ind.target_date)
    else {
        return Status::NoTarget;
    };
    if (t - b).abs() < f64::EPSILON {
        let good = match ind.direction {
            Direction::Increase => v >= t,
            Direction::Decrease => v <= t,
        };
        return if good {
            Status::OnTrack
        } else {
            Status::OffTrack
        };
    }
    let a = (v - b) / (t - b);
    let span = (end - start).num_days().max(1) as f64;
    let f = ((today - start).num_days() as f64 / span).clamp(0.0, 1.0);
    if a >= 1.0 || a >= f {
        Status::OnTrack
    } else if today > end {
        Status::OffTrack
    } else if a > 0.0 && a >= f / 2.0 {
        Status::NeedsAcceleration
    } else {
        Status::OffTrack
    }
}

/// The attributes a computation writes to the KPI entity (expanded names, normalized form).
pub fn result_fragment(
    ind: &Indicator,
    outcome: &Result<Evaluation, String>,
    now: Timestamp,
) -> Value {
    let ts = |t: &DateTime<Utc>| broker::render::timestamp(t);
    let dt = |t: &DateTime<Utc>| json!({"@type": "DateTime", "@value": ts(t)});
    let mut m = serde_json::Map::new();
    let prop = |v: Value| json!({"type": "Property", "value": v});
    m.insert(attr::CALCULATION_METHOD.into(), prop("automatic".into()));
    m.insert(
        attr::DATE_NEXT_CALCULATION.into(),
        prop(dt(&(now + ind.frequency))),
    );
    match outcome {
        Ok(ev) => {
            let status = status(ind, ev.value, now.date_naive());
            if let Some(v) = ev.value {
                m.insert(
                    attr::KPI_VALUE.into(),
                    json!({"type": "Property", "value": round(v), "observedAt": ts(&ev.to)}),
                );
            }
            m.insert(
                attr::DATA_COVERAGE.into(),
                json!({"type": "Property", "value": round(ev.coverage), "observedAt": ts(&ev.to)}),
            );
            m.insert(
                attr::CALCULATION_PERIOD.into(),
                prop(json!({"from": ts(&ev.from), "to": ts(&ev.to)})),
            );
            m.insert(
                attr::INDICATOR_STATUS.into(),
                json!({"type": "Property", "value": status.name(), "observedAt": ts(&ev.to)}),
            );
            if ind.error.is_some() {
                m.insert(
                    attr::COMPUTATION_ERROR.into(),
                    prop(broker::parse::NGSI_LD_NULL.into()),
                );
            }
        }
        Err(msg) => {
            m.insert(
                attr::INDICATOR_STATUS.into(),
                json!({"type": "Property", "value": Status::Error.name(), "observedAt": ts(&now)}),
            );
            m.insert(attr::COMPUTATION_ERROR.into(), prop(msg.clone().into()));
            m.insert(
                attr::DATA_COVERAGE.into(),
                json!({"type": "Property", "value": 0.0, "observedAt": ts(&now)}),
            );
        }
    }
    Value::Object(m)
}

/// Rounds to 4 decimals (values and coverage are shown, not accumulated).
pub fn round(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

/// The per-indicator outcomes of a run, by id.
pub type Outcomes = BTreeMap<String, Result<Evaluation, String>>;

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// Two stations: `a` inside the test area, `b` outside; daily readings.
    struct Fake {
        fail: bool,
    }

    fn day(d: u32) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, d, 0, 0, 0).unwrap()
    }

    #[async_trait]
    impl Source for Fake {
        async fn select(&self, _: &str, sel: &Selection) -> Result<Vec<Found>, String> {
            if self.fail {
                return Err("q: unexpected ')'".into());
            }
            let all = [("a", (8.75, 51.72)), ("b", (9.50, 52.00))];
            let n = match sel.entity_type.as_deref() {
                Some("Charger") => 4,
                Some("Working") => 1,
                Some("None") => 0,
                _ => 2,
            };
            Ok((0..n)
                .map(|i| Found {
                    id: all.get(i).map_or(format!("c{i}"), |x| x.0.to_owned()),
                    point: all.get(i).map(|x| x.1),
                })
                .collect())
        }
        async fn values(
            &self,
            _: &str,
            entity: &str,
            _: &str,
            from: Timestamp,
            to: Timestamp,
        ) -> Result<Vec<f64>, String> {
            // a: 10, 20, 30, 40, 50 on Nov 19, 20, 22, 24, 25 and 999 on Nov 26 (outside).
            // b: 1..=10 on Nov 16..25.
            let series: Vec<(Timestamp, f64)> = match entity {
                "a" => vec![
                    (day(19), 10.0),
                    (day(20), 20.0),
                    (day(22), 30.0),
                    (day(24), 40.0),
                    (day(25), 50.0),
                    (day(26), 999.0),
                ],
                _ => (1..=10).map(|i| (day(15 + i), f64::from(i))).collect(),
            };
            Ok(series
                .into_iter()
                .filter(|(t, _)| *t >= from && *t < to)
                .map(|(_, v)| v)
                .collect())
        }
    }

    fn now() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 11, 26, 13, 5, 0).unwrap()
    }

    async fn run(q: Value) -> Result<Evaluation, String> {
        let q = Query::from_json(&q)?;
        evaluate(&Fake { fail: false }, "t", &q, now()).await
    }

    const AREA: &str = r#"{"type":"Polygon","coordinates":[[[8.6,51.6],[8.9,51.6],[8.9,51.8],[8.6,51.8],[8.6,51.6]]]}"#;

    #[test]
    fn windows_end_at_the_last_full_day_or_hour() {
        let q =
            Query::from_json(&json!({"measure": "count", "type": "X", "period": "P7D"})).unwrap();
        assert_eq!(q.window(now()), (day(19), day(26)));
        let q =
            Query::from_json(&json!({"measure": "count", "type": "X", "period": "PT6H"})).unwrap();
        let to = Utc.with_ymd_and_hms(2026, 11, 26, 13, 0, 0).unwrap();
        assert_eq!(
            q.window(now()),
            (Utc.with_ymd_and_hms(2026, 11, 26, 7, 0, 0).unwrap(), to)
        );
    }

    #[tokio::test]
    async fn average_in_an_area_with_coverage() {
        let area: Value = serde_json::from_str(AREA).unwrap();
        let ev = run(
            json!({"measure": "avg", "type": "X", "attribute": "pm10", "period": "P7D",
            "expectedInterval": "P1D", "area": area}),
        )
        .await
        .unwrap();
        // Only `a` lies in the area: 10+20+30+40+50 over 5 of 7 expected days.
        assert_eq!(ev.value, Some(30.0));
        assert_eq!((ev.entities, ev.samples), (1, 5));
        assert_eq!(round(ev.coverage), 0.7143);
        // Both stations, no interval: coverage = share of stations reporting (both do).
        let ev = run(json!({"measure": "sum", "type": "X", "attribute": "pm10", "period": "P7D"}))
            .await
            .unwrap();
        // a: 150; b: 4..=10 (Nov 19..25) = 49.
        assert_eq!((ev.value, ev.coverage, ev.samples), (Some(199.0), 1.0, 12));
        let ev = run(json!({"measure": "max", "type": "X", "attribute": "pm10", "period": "P7D"}))
            .await
            .unwrap();
        assert_eq!(ev.value, Some(50.0));
        let ev = run(json!({"measure": "min", "type": "X", "attribute": "pm10", "period": "P7D"}))
            .await
            .unwrap();
        assert_eq!(ev.value, Some(4.0));
    }

    #[tokio::test]
    async fn percentiles_take_the_nearest_rank() {
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 100.0), Some(4.0));
        assert_eq!(percentile(&[], 90.0), None);
        // 12 values 4..10 and 10..50: the 11th (ceil(0.9*12)) of the sorted list is 40.
        let ev = run(json!({"measure": "p90", "type": "X", "attribute": "pm10", "period": "P7D"}))
            .await
            .unwrap();
        assert_eq!(ev.value, Some(40.0));
    }

    #[tokio::test]
    async fn counts_and_ratios() {
        let ev = run(json!({"measure": "count", "type": "Charger"}))
            .await
            .unwrap();
        assert_eq!((ev.value, ev.coverage), (Some(4.0), 1.0));
        let ev = run(json!({"measure": "ratio",
            "numerator": {"measure": "count", "type": "Working"},
            "denominator": {"measure": "count", "type": "Charger"}}))
        .await
        .unwrap();
        assert_eq!(ev.value, Some(0.25));
        let err = run(json!({"measure": "ratio",
            "numerator": {"measure": "count", "type": "Working"},
            "denominator": {"measure": "count", "type": "None"}}))
        .await
        .unwrap_err();
        assert_eq!(err, "the ratio's denominator is 0");
        // No entity: no value and no coverage.
        let ev = run(json!({"measure": "avg", "type": "None", "attribute": "pm10"}))
            .await
            .unwrap();
        assert_eq!((ev.value, ev.coverage), (None, 0.0));
    }

    #[tokio::test]
    async fn bad_definitions_and_failing_sources_are_errors() {
        assert_eq!(
            Query::from_json(&json!({"measure": "median", "type": "X"})).unwrap_err(),
            "unknown measure 'median' (count, avg, min, max, sum, pNN, ratio)"
        );
        assert_eq!(
            Query::from_json(&json!({"measure": "avg", "type": "X"})).unwrap_err(),
            "an aggregation needs an 'attribute'"
        );
        let q = Query::from_json(&json!({"measure": "count", "type": "X"})).unwrap();
        let err = evaluate(&Fake { fail: true }, "t", &q, now())
            .await
            .unwrap_err();
        assert_eq!(err, "q: unexpected ')'");
    }

    fn ind(b: f64, t: f64, dir: Direction) -> Indicator {
        Indicator {
            id: "k".into(),
            name: String::new(),
            agenda: None,
            domain: None,
            unit: None,
            direction: dir,
            baseline: Some(b),
            baseline_date: NaiveDate::from_ymd_opt(2026, 1, 1),
            target: Some(t),
            target_date: NaiveDate::from_ymd_opt(2027, 1, 1),
            method: Method::Manual,
            frequency: Duration::days(1),
            value: None,
            value_at: None,
            coverage: None,
            status: None,
            error: None,
            evidence: None,
            next: None,
        }
    }

    #[test]
    fn status_compares_progress_with_time_elapsed() {
        // 182 of 365 days elapsed: f = 0.4986.
        let mid = NaiveDate::from_ymd_opt(2026, 7, 2).unwrap();
        let up = ind(100.0, 200.0, Direction::Increase);
        assert_eq!(status(&up, Some(150.0), mid), Status::OnTrack); // a = 0.5
        assert_eq!(status(&up, Some(130.0), mid), Status::NeedsAcceleration); // a = 0.3
        assert_eq!(status(&up, Some(120.0), mid), Status::OffTrack); // a = 0.2 < f/2
        assert_eq!(status(&up, Some(90.0), mid), Status::OffTrack); // backwards
        let down = ind(40.0, 20.0, Direction::Decrease);
        assert_eq!(status(&down, Some(30.0), mid), Status::OnTrack);
        assert_eq!(status(&down, Some(45.0), mid), Status::OffTrack);
        let late = NaiveDate::from_ymd_opt(2027, 2, 1).unwrap();
        assert_eq!(status(&up, Some(190.0), late), Status::OffTrack);
        assert_eq!(status(&up, Some(200.0), late), Status::OnTrack);
        assert_eq!(status(&up, None, mid), Status::NoData);
        let mut open = ind(100.0, 200.0, Direction::Increase);
        open.baseline = None;
        assert_eq!(status(&open, Some(150.0), mid), Status::NoTarget);
        assert_eq!(
            Status::NeedsAcceleration.label("de"),
            "Beschleunigung nötig"
        );
    }
}
