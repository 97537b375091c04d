//! Results: one row per measured figure with its baseline and ratio, the reliability
//! verdicts, rendered as Markdown and JSON.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::load::Outcome;
use crate::process::{CpuMark, Proc};

/// One side (Quartier or its baseline) of a figure.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measure {
    /// The figure's unit per second (requests, entities, instances, changes...).
    pub rate: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Server cores busy on average during the measurement.
    pub cpu_cores: f64,
    /// Server peak resident memory during the measurement, bytes.
    pub peak_rss: u64,
    /// Bytes the server wrote to storage during the measurement.
    pub disk_written: u64,
    /// Size of the server's WAL file at the end of the measurement, bytes (the largest it
    /// has been: SQLite never shrinks it); 0 for servers without one.
    pub wal: u64,
    /// Requests answered / items measured.
    pub count: u64,
    /// Status code summary (HTTP shapes).
    pub statuses: String,
}

impl Measure {
    /// From a load outcome, `per_request` units per answered 2xx request.
    pub fn from_outcome(o: &Outcome, per_request: f64) -> Self {
        Self {
            rate: o.ok_throughput() * per_request,
            p50_ms: o.quantile_ms(0.5),
            p99_ms: o.quantile_ms(0.99),
            count: o.requests,
            statuses: o.status_summary(),
            ..Self::default()
        }
    }

    /// Adds the server's CPU since `mark` and its peak memory.
    pub fn with_server(mut self, p: Proc, mark: CpuMark) -> Self {
        self.cpu_cores = p.cores_since(mark);
        self.peak_rss = p.peak_rss();
        self.disk_written = p.written_since(mark);
        self
    }
}

/// What a row's ratio compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Primary {
    /// Rate (higher is better); ratio = Quartier / baseline.
    Rate,
    /// Median latency (lower is better); ratio = Quartier / baseline.
    P50,
    /// 99th percentile latency (lower is better); ratio = Quartier / baseline.
    P99,
    /// Resident memory (lower is better); ratio = Quartier / baseline.
    Memory,
}

/// One figure.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Shape name (`batch-upsert`, ...).
    pub shape: String,
    /// What `rate` counts (`entities/s`, `requests/s`...).
    pub unit: String,
    /// Connections used.
    pub connections: usize,
    /// Quartier's figures.
    pub quartier: Measure,
    /// What the baseline is.
    pub baseline_name: String,
    /// The baseline's figures, measured in the same run.
    pub baseline: Measure,
    /// What the ratio compares.
    pub primary: Primary,
    /// Quartier / baseline of the primary figure.
    pub ratio: f64,
    /// The target from DESIGN.md, in words.
    pub target: String,
    /// Whether the target is met (`None`: no target for this row).
    pub met: Option<bool>,
    /// Durability of the writes measured (`None` for reads).
    pub durability: Option<String>,
    /// Anything the reader must know (data set, achieved rate...).
    pub note: String,
}

impl Row {
    /// A row; the ratio is computed from `primary`.
    pub fn new(
        shape: &str,
        unit: &str,
        connections: usize,
        quartier: Measure,
        baseline_name: &str,
        baseline: Measure,
        primary: Primary,
    ) -> Self {
        let pick = |m: &Measure| match primary {
            Primary::Rate => m.rate,
            Primary::P50 => m.p50_ms,
            Primary::P99 => m.p99_ms,
            Primary::Memory => m.peak_rss as f64,
        };
        let b = pick(&baseline);
        let ratio = if b > 0.0 { pick(&quartier) / b } else { 0.0 };
        Self {
            shape: shape.into(),
            unit: unit.into(),
            connections,
            quartier,
            baseline_name: baseline_name.into(),
            baseline,
            primary,
            ratio,
            target: String::new(),
            met: None,
            durability: None,
            note: String::new(),
        }
    }

    /// Sets the target and whether it is met.
    pub fn target(mut self, target: &str, met: bool) -> Self {
        self.target = target.into();
        self.met = Some(met);
        self
    }

    /// States the durability of the writes.
    pub fn durable(mut self, d: &str) -> Self {
        self.durability = Some(d.into());
        self
    }

    /// Adds a note.
    pub fn note(mut self, n: impl Into<String>) -> Self {
        self.note = n.into();
        self
    }
}

/// A reliability scenario's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Scenario name.
    pub scenario: String,
    /// `PASS`, `FAIL` or `INFO`.
    pub verdict: String,
    /// The numbers, in words.
    pub detail: String,
    /// The numbers, for machines.
    pub figures: serde_json::Value,
}

/// A whole run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// When the run started (RFC 3339).
    pub started: String,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Machine: cores and memory.
    pub machine: String,
    /// Scale factor of the data sets (1.0 = the sizes of DESIGN.md).
    pub scale: f64,
    /// Default connections.
    pub connections: usize,
    /// Figures.
    pub rows: Vec<Row>,
    /// Reliability verdicts.
    pub reliability: Vec<Verdict>,
}

/// A number with thousands separators and sensible precision.
pub fn num(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    if x.abs() >= 100.0 {
        let n = x.round() as i64;
        let s = n.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        if n < 0 { format!("-{out}") } else { out }
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn mib(b: u64) -> String {
    if b == 0 {
        "-".into()
    } else {
        format!("{:.0}", b as f64 / (1024.0 * 1024.0))
    }
}

fn primary_cell(m: &Measure, p: Primary) -> String {
    match p {
        Primary::Rate => num(m.rate),
        Primary::P50 => format!("{} ms", num(m.p50_ms)),
        Primary::P99 => format!("{} ms", num(m.p99_ms)),
        Primary::Memory => format!("{} MiB", mib(m.peak_rss)),
    }
}

impl Report {
    /// The Markdown rendering.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "Run {} on {}, scale {}, {} connections by default, {:.0} s.\n",
            self.started, self.machine, self.scale, self.connections, self.seconds
        );
        if !self.rows.is_empty() {
            s.push_str("| shape | figure | Quartier | baseline | ratio | Quartier p50 / p99 ms | baseline p50 / p99 ms | server CPU cores | server peak RSS MiB | server disk writes MiB | server WAL MiB | target | durability |\n");
            s.push_str("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|\n");
            for r in &self.rows {
                let verdict = match r.met {
                    Some(true) => format!("{} ✔", r.target),
                    Some(false) => format!("{} ✘", r.target),
                    None => "-".into(),
                };
                let what = match r.primary {
                    Primary::Rate => r.unit.clone(),
                    Primary::P50 => format!("p50 ({})", r.unit),
                    Primary::P99 => format!("p99 ({})", r.unit),
                    Primary::Memory => "resident memory".into(),
                };
                let _ = writeln!(
                    s,
                    "| {} ({} conn) | {} | {} | {} ({}) | {:.2} | {} / {} | {} / {} | {} | {} | {} | {} | {} | {} |",
                    r.shape,
                    r.connections,
                    what,
                    primary_cell(&r.quartier, r.primary),
                    primary_cell(&r.baseline, r.primary),
                    r.baseline_name,
                    r.ratio,
                    num(r.quartier.p50_ms),
                    num(r.quartier.p99_ms),
                    num(r.baseline.p50_ms),
                    num(r.baseline.p99_ms),
                    num(r.quartier.cpu_cores),
                    mib(r.quartier.peak_rss),
                    mib(r.quartier.disk_written),
                    mib(r.quartier.wal),
                    verdict,
                    r.durability.as_deref().unwrap_or("-"),
                );
            }
            let notes: Vec<&Row> = self.rows.iter().filter(|r| !r.note.is_empty()).collect();
            if !notes.is_empty() {
                s.push('\n');
                for r in notes {
                    let _ = writeln!(s, "- **{}**: {}", r.shape, r.note);
                }
            }
        }
        if !self.reliability.is_empty() {
            s.push_str("\n| reliability scenario | verdict | numbers |\n|---|---|---|\n");
            for v in &self.reliability {
                let _ = writeln!(s, "| {} | {} | {} |", v.scenario, v.verdict, v.detail);
            }
        }
        s
    }

    /// Writes `bench-results.md` and `bench-results.json` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("bench-results.md"), self.markdown())?;
        std::fs::write(
            dir.join("bench-results.json"),
            serde_json::to_string_pretty(self)?,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(1234567.4), "1,234,567");
        assert_eq!(num(512.0), "512");
        assert_eq!(num(12.345), "12.3");
        assert_eq!(num(1.234), "1.23");
    }

    #[test]
    fn ratio_follows_the_primary_figure() {
        let q = Measure {
            rate: 50.0,
            p50_ms: 4.0,
            ..Measure::default()
        };
        let b = Measure {
            rate: 100.0,
            p50_ms: 1.0,
            ..Measure::default()
        };
        let r = Row::new("x", "req/s", 1, q.clone(), "axum", b.clone(), Primary::Rate);
        assert_eq!(r.ratio, 0.5);
        let r = Row::new("x", "req/s", 1, q, "axum", b, Primary::P50);
        assert_eq!(r.ratio, 4.0);
    }
}
