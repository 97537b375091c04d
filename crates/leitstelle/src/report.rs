//! The progress report (Fortschrittsbericht): a [`Snapshot`] of an agenda for a period (the
//! facts, stored with each report version so the next one can show what changed), the
//! [`Diff`] between two snapshots, and the report as one self-contained HTML page with
//! inline SVG charts (indicator trends against target, the matrix heat map, the milestone
//! timeline), in German or English. Pure functions; no I/O.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::indicator::{Indicator, Status};
use crate::matrix;
use crate::model::{Agenda, Portfolio};

/// One indicator in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiRow {
    /// Entity id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Unit.
    pub unit: Option<String>,
    /// Current value.
    pub value: Option<f64>,
    /// Status name (`onTrack`, ...).
    pub status: String,
    /// Data coverage.
    pub coverage: Option<f64>,
    /// Baseline.
    pub baseline: Option<f64>,
    /// Target value.
    pub target: Option<f64>,
    /// Target date.
    pub target_date: Option<NaiveDate>,
    /// Error message, if the last computation failed.
    pub error: Option<String>,
    /// Values in the period: (observedAt, value).
    pub history: Vec<(String, f64)>,
}

impl Snapshot {
    /// The largest count of the maturity matrix (0 when empty): full colour in the heat
    /// maps of the HTML and the PDF.
    pub(crate) fn matrix_max(&self) -> usize {
        self.matrix_counts
            .iter()
            .flatten()
            .copied()
            .max()
            .unwrap_or(0)
    }
}

impl KpiRow {
    /// The lowest value a trend chart shows and the span up to the highest: history,
    /// baseline and target together (a span of 1 when they are all equal).
    pub(crate) fn chart_range(&self) -> (f64, f64) {
        let (lo, hi) = self
            .history
            .iter()
            .map(|p| p.1)
            .chain(self.baseline)
            .chain(self.target)
            .fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
        (lo, if hi > lo { hi - lo } else { 1.0 })
    }
}

/// One milestone in a report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MilestoneRow {
    /// Entity id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Planned date.
    pub planned: Option<NaiveDate>,
    /// Actual date.
    pub actual: Option<NaiveDate>,
    /// `reached`, `overdue` or `open` at the report's end date.
    pub state: String,
}

/// Everything a report shows, as of its end date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Agenda id.
    pub agenda: String,
    /// Agenda name.
    pub agenda_name: String,
    /// Period start.
    pub from: NaiveDate,
    /// Period end (the report's date).
    pub to: NaiveDate,
    /// Indicators.
    pub indicators: Vec<KpiRow>,
    /// Milestones of the agenda and its projects.
    pub milestones: Vec<MilestoneRow>,
    /// Projects: (id, name, stage).
    pub projects: Vec<(String, String, Option<u8>)>,
    /// Devices deployed by the projects.
    pub devices: Vec<String>,
    /// Entity types and datasets the projects use.
    pub datasets: Vec<String>,
    /// Citizen ideas: (id, votes).
    pub ideas: Vec<(String, u64)>,
    /// Grants ending within six months of the end date: (id, project, end).
    pub funding_deadlines: Vec<(String, Option<String>, NaiveDate)>,
    /// Matrix domain codes, in order.
    pub matrix_domains: Vec<String>,
    /// Matrix counts.
    pub matrix_counts: Vec<Vec<usize>>,
}

/// Builds the snapshot of `agenda` for `[from, to]`; `history` gives each indicator's values.
pub fn snapshot(
    pf: &Portfolio,
    agenda: &Agenda,
    indicators: &[Indicator],
    history: &dyn Fn(&str) -> Vec<(String, f64)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Snapshot {
    let projects = pf.projects_of(&agenda.id);
    let project_ids: BTreeSet<&str> = projects.iter().map(|p| p.id.as_str()).collect();
    let model = agenda.maturity.clone().unwrap_or_default();
    let m = matrix::compute(pf, agenda);
    let mut milestones: Vec<MilestoneRow> = pf
        .milestones
        .iter()
        .filter(|m| {
            m.agenda.as_deref() == Some(&agenda.id)
                || m.project
                    .as_deref()
                    .is_some_and(|p| project_ids.contains(p))
        })
        .map(|m| MilestoneRow {
            id: m.id.clone(),
            name: m.name.clone(),
            planned: m.planned,
            actual: m.actual,
            state: match (m.actual, m.planned) {
                (Some(a), _) if a <= to => "reached",
                (_, Some(p)) if p < to => "overdue",
                _ => "open",
            }
            .into(),
        })
        .collect();
    milestones.sort_by(|a, b| (a.planned, &a.id).cmp(&(b.planned, &b.id)));
    let limit = to.checked_add_months(Months::new(6)).unwrap_or(to);
    let mut funding_deadlines: Vec<(String, Option<String>, NaiveDate)> = pf
        .grants
        .iter()
        .filter(|g| {
            g.project
                .as_deref()
                .is_some_and(|p| project_ids.contains(p))
        })
        .filter_map(|g| {
            let end = g.end?;
            (end >= to && end <= limit).then(|| (g.id.clone(), g.project.clone(), end))
        })
        .collect();
    funding_deadlines.sort_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    let mut devices: BTreeSet<String> = BTreeSet::new();
    let mut datasets: BTreeSet<String> = BTreeSet::new();
    for p in &projects {
        devices.extend(p.deploys.iter().cloned());
        datasets.extend(p.uses.iter().cloned());
    }
    let mut ideas: Vec<(String, u64)> = pf.ideas.iter().map(|i| (i.id.clone(), i.votes)).collect();
    ideas.sort();
    Snapshot {
        agenda: agenda.id.clone(),
        agenda_name: agenda.name.clone(),
        from,
        to,
        indicators: indicators
            .iter()
            .map(|i| KpiRow {
                id: i.id.clone(),
                name: i.name.clone(),
                unit: i.unit.clone(),
                value: i.value,
                status: i
                    .status
                    .unwrap_or_else(|| i.status_of(i.value, to))
                    .name()
                    .into(),
                coverage: i.coverage,
                baseline: i.baseline,
                target: i.target,
                target_date: i.target_date,
                error: i.error.clone(),
                history: history(&i.id),
            })
            .collect(),
        milestones,
        projects: projects
            .iter()
            .map(|p| (p.id.clone(), p.name.clone(), matrix::stage_of(p, &model)))
            .collect(),
        devices: devices.into_iter().collect(),
        datasets: datasets.into_iter().collect(),
        ideas,
        funding_deadlines,
        matrix_domains: m
            .domains
            .iter()
            .map(|d| {
                serde_json::to_value(d)
                    .ok()
                    .and_then(|v| v.get("code")?.as_str().map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect(),
        matrix_counts: m.counts,
    }
}

/// What changed between the previous report and this one.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Diff {
    /// Whether there was a previous report.
    pub has_previous: bool,
    /// Indicator status changes: (id, name, before, after).
    pub statuses: Vec<(String, String, String, String)>,
    /// Milestones reached since.
    pub reached: Vec<String>,
    /// Milestones overdue now that were not before.
    pub missed: Vec<String>,
    /// Milestones due within the next 30 days.
    pub due: Vec<String>,
    /// New projects.
    pub projects: Vec<String>,
    /// New devices.
    pub devices: Vec<String>,
    /// New entity types / datasets.
    pub datasets: Vec<String>,
    /// New citizen ideas.
    pub ideas: Vec<String>,
    /// New funding deadlines.
    pub funding: Vec<String>,
}

fn new_of(before: &[String], now: &[String]) -> Vec<String> {
    let b: BTreeSet<&String> = before.iter().collect();
    now.iter().filter(|x| !b.contains(x)).cloned().collect()
}

/// The differences from `prev` (if any) to `cur`.
pub fn diff(prev: Option<&Snapshot>, cur: &Snapshot) -> Diff {
    let due_by = cur.to + chrono::Duration::days(30);
    let due = cur
        .milestones
        .iter()
        .filter(|m| m.state == "open" && m.planned.is_some_and(|p| p >= cur.to && p <= due_by))
        .map(|m| m.name.clone())
        .collect();
    let Some(prev) = prev else {
        return Diff {
            due,
            ..Diff::default()
        };
    };
    let ids =
        |v: &[(String, String, Option<u8>)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
    let state_of = |s: &Snapshot, id: &str| {
        s.milestones
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.state.clone())
    };
    let mut d = Diff {
        has_previous: true,
        due,
        projects: new_of(&ids(&prev.projects), &ids(&cur.projects))
            .into_iter()
            .map(|id| {
                let name = cur.projects.iter().find(|p| p.0 == id).map(|p| p.1.clone());
                name.filter(|n| !n.is_empty()).unwrap_or(id)
            })
            .collect(),
        devices: new_of(&prev.devices, &cur.devices),
        datasets: new_of(&prev.datasets, &cur.datasets),
        ideas: new_of(
            &prev.ideas.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
            &cur.ideas.iter().map(|x| x.0.clone()).collect::<Vec<_>>(),
        ),
        funding: new_of(
            &prev
                .funding_deadlines
                .iter()
                .map(|x| x.0.clone())
                .collect::<Vec<_>>(),
            &cur.funding_deadlines
                .iter()
                .map(|x| x.0.clone())
                .collect::<Vec<_>>(),
        ),
        ..Diff::default()
    };
    for k in &cur.indicators {
        if let Some(p) = prev.indicators.iter().find(|p| p.id == k.id)
            && p.status != k.status
        {
            d.statuses.push((
                k.id.clone(),
                k.name.clone(),
                p.status.clone(),
                k.status.clone(),
            ));
        }
    }
    for m in &cur.milestones {
        let before = state_of(prev, &m.id);
        if m.state == "reached" && before.as_deref() != Some("reached") {
            d.reached.push(m.name.clone());
        }
        if m.state == "overdue" && before.as_deref() != Some("overdue") {
            d.missed.push(m.name.clone());
        }
    }
    d
}

/// The report's texts (also used by the PDF).
pub(crate) fn t(lang: &str, key: &str) -> &'static str {
    let de = lang != "en";
    match key {
        "title" if de => "Fortschrittsbericht",
        "title" => "Progress report",
        "period" if de => "Berichtszeitraum",
        "period" => "Reporting period",
        "indicators" if de => "Indikatoren",
        "indicators" => "Indicators",
        "indicator" if de => "Indikator",
        "indicator" => "Indicator",
        "value" if de => "Wert",
        "value" => "Value",
        "baseline" if de => "Ausgangswert",
        "baseline" => "Baseline",
        "target" if de => "Zielwert",
        "target" => "Target",
        "status" => "Status",
        "coverage" if de => "Datenabdeckung",
        "coverage" => "Data coverage",
        "trends" if de => "Verlauf der Indikatoren gegenüber dem Zielwert",
        "trends" => "Indicator trends against target",
        "matrix" if de => "Reifegrad-Matrix (Handlungsfeld × Handlungsfeld, Anzahl Projekte)",
        "matrix" => "Maturity matrix (domain × domain, number of projects)",
        "milestones" if de => "Meilensteine",
        "milestones" => "Milestones",
        "reached" if de => "erreicht",
        "reached" => "reached",
        "overdue" if de => "überfällig",
        "overdue" => "overdue",
        "open" if de => "offen",
        "open" => "open",
        "planned" if de => "geplant",
        "planned" => "planned",
        "changes" if de => "Veränderungen seit dem letzten Bericht",
        "changes" => "Changes since the previous report",
        "first" if de => "Dies ist der erste gespeicherte Bericht; es gibt noch keinen Vergleich.",
        "first" => "This is the first stored report; there is nothing to compare with yet.",
        "none" if de => "keine",
        "none" => "none",
        "d_status" if de => "Geänderter Status",
        "d_status" => "Status changes",
        "d_reached" if de => "Erreichte Meilensteine",
        "d_reached" => "Milestones reached",
        "d_missed" if de => "Versäumte Meilensteine",
        "d_missed" => "Milestones missed",
        "d_due" if de => "In den nächsten 30 Tagen fällige Meilensteine",
        "d_due" => "Milestones due in the next 30 days",
        "d_projects" if de => "Neue Projekte",
        "d_projects" => "New projects",
        "d_devices" if de => "Neue Geräte",
        "d_devices" => "New devices",
        "d_datasets" if de => "Neue Datensätze",
        "d_datasets" => "New datasets",
        "d_ideas" if de => "Neue Bürgerideen",
        "d_ideas" => "New citizen ideas",
        "d_funding" if de => "Neue Förderfristen (Ende innerhalb von sechs Monaten)",
        "d_funding" => "New funding deadlines (ending within six months)",
        "funding" if de => "Förderfristen (Ende innerhalb von sechs Monaten)",
        "funding" => "Funding deadlines (ending within six months)",
        "project" if de => "Projekt",
        "project" => "Project",
        "stage" if de => "Reifegradstufe",
        "stage" => "Maturity stage",
        "projects" if de => "Projekte",
        "projects" => "Projects",
        "today" if de => "Berichtsdatum",
        "today" => "report date",
        "sample" if de => {
            "Alle Werte werden aus den Daten der Plattform berechnet oder mit Nachweis eingetragen."
        }
        "sample" => "All values are computed from the platform's data or entered with evidence.",
        _ => "",
    }
}

/// A domain's name as shown: German names for the default catalogue's codes.
pub(crate) fn domain_label(code: &str, lang: &str) -> String {
    if lang == "en" {
        return code.to_owned();
    }
    match code {
        "mobility" => "Mobilität",
        "energy" => "Energie",
        "environment" => "Umwelt und Klima",
        "housing" => "Wohnen",
        "education" => "Bildung",
        "health" => "Gesundheit",
        "administration" => "Verwaltung",
        "economy" => "Wirtschaft",
        "crafts" => "Handwerk",
        "logistics" => "Logistik",
        "tourism" => "Tourismus",
        "culture" => "Kultur",
        other => other,
    }
    .to_owned()
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number as shown: up to 2 decimals, German decimal comma.
pub fn num(v: f64, lang: &str) -> String {
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.').to_owned();
    if lang == "en" { s } else { s.replace('.', ",") }
}

/// A date as shown: `dd.mm.yyyy` in German, ISO in English.
pub(crate) fn date(d: NaiveDate, lang: &str) -> String {
    if lang == "en" {
        d.to_string()
    } else {
        d.format("%d.%m.%Y").to_string()
    }
}

fn status_color(s: &str) -> &'static str {
    match s {
        "onTrack" => "#2e7d32",
        "needsAcceleration" => "#ef6c00",
        "offTrack" | "error" => "#c62828",
        _ => "#757575",
    }
}

/// A trend chart: the values, the baseline and the target as dashed lines.
fn trend_svg(k: &KpiRow) -> String {
    let (w, h, pad) = (320.0, 120.0, 10.0);
    let (lo, span) = k.chart_range();
    let y = |v: f64| h - pad - (v - lo) / span * (h - 2.0 * pad);
    let n = k.history.len().max(2) as f64 - 1.0;
    let x = |i: usize| pad + i as f64 / n * (w - 2.0 * pad);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">",
        esc(&k.name)
    );
    let _ = write!(
        s,
        "<rect width=\"{w}\" height=\"{h}\" fill=\"#fafafa\" stroke=\"#ddd\"/>"
    );
    if let Some(t) = k.target {
        let _ = write!(
            s,
            "<line x1=\"{pad}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#2e7d32\" stroke-dasharray=\"4 3\"/>",
            w - pad,
            y(t),
            y(t)
        );
    }
    if let Some(b) = k.baseline {
        let _ = write!(
            s,
            "<line x1=\"{pad}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#9e9e9e\" stroke-dasharray=\"2 3\"/>",
            w - pad,
            y(b),
            y(b)
        );
    }
    let pts: Vec<String> = k
        .history
        .iter()
        .enumerate()
        .map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    if pts.len() > 1 {
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"#1565c0\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        );
    }
    for p in &pts {
        if let Some((px, py)) = p.split_once(',') {
            let _ = write!(
                s,
                "<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"#1565c0\"/>"
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The matrix as a heat map.
fn matrix_svg(snap: &Snapshot, lang: &str) -> String {
    let n = snap.matrix_domains.len();
    let (cell, label) = (36.0, 140.0);
    let size = label + cell * n as f64 + 4.0;
    let max = snap.matrix_max().max(1) as f64;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 {size} {size}\" role=\"img\" aria-label=\"{}\">",
        t(lang, "matrix")
    );
    for (i, code) in snap.matrix_domains.iter().enumerate() {
        let name = esc(&domain_label(code, lang));
        let c = label + cell * i as f64 + cell / 2.0;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{name}</text>",
            label - 6.0,
            label + cell * i as f64 + cell / 2.0 + 4.0
        );
        let _ = write!(
            s,
            "<text x=\"{c:.1}\" y=\"{:.1}\" font-size=\"11\" transform=\"rotate(-45 {c:.1} {:.1})\">{name}</text>",
            label - 6.0,
            label - 6.0
        );
    }
    for (i, row) in snap.matrix_counts.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let alpha = *v as f64 / max;
            let (x, y) = (label + cell * j as f64, label + cell * i as f64);
            let _ = write!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{cell}\" height=\"{cell}\" fill=\"#1565c0\" fill-opacity=\"{alpha:.2}\" stroke=\"#ccc\"/>"
            );
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"middle\">{v}</text>",
                x + cell / 2.0,
                y + cell / 2.0 + 4.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The milestone timeline.
fn timeline_svg(snap: &Snapshot, lang: &str) -> String {
    let dates: Vec<NaiveDate> = snap
        .milestones
        .iter()
        .filter_map(|m| m.planned)
        .chain([snap.to])
        .collect();
    let lo = dates.iter().min().copied().unwrap_or(snap.to);
    let hi = dates.iter().max().copied().unwrap_or(snap.to);
    let span = (hi - lo).num_days().max(1) as f64;
    let (w, row) = (640.0, 22.0);
    let h = 30.0 + row * snap.milestones.len() as f64;
    let x = |d: NaiveDate| 20.0 + (d - lo).num_days() as f64 / span * (w - 40.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\">",
        t(lang, "milestones")
    );
    let today = x(snap.to);
    let _ = write!(
        s,
        "<line x1=\"{today:.1}\" x2=\"{today:.1}\" y1=\"0\" y2=\"{h}\" stroke=\"#424242\" stroke-dasharray=\"3 3\"/><text x=\"{:.1}\" y=\"12\" font-size=\"10\">{}</text>",
        today + 3.0,
        t(lang, "today")
    );
    for (i, m) in snap.milestones.iter().enumerate() {
        let Some(p) = m.planned else { continue };
        let color = match m.state.as_str() {
            "reached" => "#2e7d32",
            "overdue" => "#c62828",
            _ => "#1565c0",
        };
        let cy = 30.0 + row * i as f64;
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{cy:.1}\" r=\"5\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{} ({})</text>",
            x(p),
            x(p).min(w - 220.0) + 8.0,
            cy + 4.0,
            esc(&m.name),
            date(p, lang)
        );
    }
    s.push_str("</svg>");
    s
}

fn list(out: &mut String, title: &str, items: &[String], lang: &str) {
    let _ = write!(out, "<h3>{}</h3>", esc(title));
    if items.is_empty() {
        let _ = write!(out, "<p class=\"none\">{}</p>", t(lang, "none"));
    } else {
        out.push_str("<ul>");
        for i in items {
            let _ = write!(out, "<li>{}</li>", esc(i));
        }
        out.push_str("</ul>");
    }
}

/// The report as one self-contained HTML page. `generated` is shown as the time of
/// generation (the only part that differs between two renderings of the same data).
pub fn html(snap: &Snapshot, d: &Diff, lang: &str, generated: &str) -> String {
    let lang = if lang == "en" { "en" } else { "de" };
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{} – {}</title>",
        t(lang, "title"),
        esc(&snap.agenda_name)
    );
    o.push_str("<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#212121}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left}.kpi{display:inline-block;margin:.5rem;vertical-align:top}.none{color:#757575}@media print{.kpi{break-inside:avoid}}</style></head><body>");
    let _ = write!(
        o,
        "<h1>{}: {}</h1><p>{}: {} – {}</p><p class=\"generated\">{}</p>",
        t(lang, "title"),
        esc(&snap.agenda_name),
        t(lang, "period"),
        date(snap.from, lang),
        date(snap.to, lang),
        esc(generated)
    );
    let _ = write!(
        o,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "indicators"),
        t(lang, "indicator"),
        t(lang, "value"),
        t(lang, "baseline"),
        t(lang, "target"),
        t(lang, "coverage"),
        t(lang, "status")
    );
    for k in &snap.indicators {
        let unit = k
            .unit
            .as_deref()
            .map(|u| format!(" {}", esc(u)))
            .unwrap_or_default();
        let opt = |v: Option<f64>| {
            v.map(|x| format!("{}{unit}", num(x, lang)))
                .unwrap_or_else(|| "–".into())
        };
        let status = Status::parse(&k.status).map_or(k.status.as_str(), |s| s.label(lang));
        let err = k
            .error
            .as_deref()
            .map(|e| format!(" ({})", esc(e)))
            .unwrap_or_default();
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td style=\"color:{}\">{}{err}</td></tr>",
            esc(&k.name),
            opt(k.value),
            opt(k.baseline),
            opt(k.target),
            k.target_date
                .map(|d| format!(" ({})", date(d, lang)))
                .unwrap_or_default(),
            k.coverage
                .map(|c| format!("{} %", num(c * 100.0, lang)))
                .unwrap_or_else(|| "–".into()),
            status_color(&k.status),
            esc(status)
        );
    }
    o.push_str("</table>");
    let _ = write!(o, "<h2>{}</h2>", t(lang, "trends"));
    for k in snap.indicators.iter().filter(|k| !k.history.is_empty()) {
        let _ = write!(
            o,
            "<figure class=\"kpi\">{}<figcaption>{}</figcaption></figure>",
            trend_svg(k),
            esc(&k.name)
        );
    }
    let _ = write!(
        o,
        "<h2>{}</h2>{}",
        t(lang, "matrix"),
        matrix_svg(snap, lang)
    );
    let _ = write!(
        o,
        "<h2>{}</h2>{}",
        t(lang, "milestones"),
        timeline_svg(snap, lang)
    );
    let _ = write!(
        o,
        "<table><tr><th>{}</th><th>{}</th><th>{}</th></tr>",
        t(lang, "milestones"),
        t(lang, "planned"),
        t(lang, "status")
    );
    for m in &snap.milestones {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.name),
            m.planned.map(|d| date(d, lang)).unwrap_or_default(),
            t(lang, &m.state)
        );
    }
    o.push_str("</table>");
    let _ = write!(o, "<h2>{}</h2>", t(lang, "changes"));
    if !d.has_previous {
        let _ = write!(o, "<p>{}</p>", t(lang, "first"));
    }
    let statuses: Vec<String> = d
        .statuses
        .iter()
        .map(|(_, name, a, b)| {
            let l = |s: &str| Status::parse(s).map_or(s.to_owned(), |x| x.label(lang).to_owned());
            format!("{name}: {} → {}", l(a), l(b))
        })
        .collect();
    if d.has_previous {
        list(&mut o, t(lang, "d_status"), &statuses, lang);
        list(&mut o, t(lang, "d_reached"), &d.reached, lang);
        list(&mut o, t(lang, "d_missed"), &d.missed, lang);
    }
    list(&mut o, t(lang, "d_due"), &d.due, lang);
    if d.has_previous {
        list(&mut o, t(lang, "d_projects"), &d.projects, lang);
        list(&mut o, t(lang, "d_devices"), &d.devices, lang);
        list(&mut o, t(lang, "d_datasets"), &d.datasets, lang);
        list(&mut o, t(lang, "d_ideas"), &d.ideas, lang);
        list(&mut o, t(lang, "d_funding"), &d.funding, lang);
    }
    let _ = write!(o, "<h2>{}</h2>", t(lang, "funding"));
    if snap.funding_deadlines.is_empty() {
        let _ = write!(o, "<p class=\"none\">{}</p>", t(lang, "none"));
    } else {
        o.push_str("<ul>");
        for (id, project, end) in &snap.funding_deadlines {
            let name = snap
                .projects
                .iter()
                .find(|p| Some(&p.0) == project.as_ref())
                .map_or(id.as_str(), |p| p.1.as_str());
            let _ = write!(o, "<li>{}: {}</li>", esc(name), date(*end, lang));
        }
        o.push_str("</ul>");
    }
    let _ = write!(
        o,
        "<h2>{}</h2><table><tr><th>{}</th><th>{}</th></tr>",
        t(lang, "projects"),
        t(lang, "project"),
        t(lang, "stage")
    );
    for (_, name, stage) in &snap.projects {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(name),
            stage.map(|s| s.to_string()).unwrap_or_else(|| "–".into())
        );
    }
    let _ = writeln!(
        o,
        "</table><p><small>{}</small></p></body></html>",
        t(lang, "sample")
    );
    o
}
