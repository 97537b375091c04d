//! The progress report as PDF, written directly (PDF 1.4, the standard Helvetica fonts in
//! WinAnsi encoding, vector lines for the charts): no browser and no typesetting engine to
//! install or compile. Three A4 pages: indicators with their trend charts, milestones and
//! projects, and the changes since the previous report.

use std::fmt::Write as _;

use crate::indicator::Status;
use crate::report::{Diff, KpiRow, Snapshot, num};

/// A4 in points.
const W: f64 = 595.0;
const H: f64 = 842.0;

/// Text in WinAnsi as a PDF string literal (umlauts and ß kept; other characters replaced).
fn lit(s: &str) -> String {
    let mut o = String::from("(");
    for c in s.chars() {
        let b: u32 = match c {
            '(' | ')' | '\\' => {
                o.push('\\');
                c as u32
            }
            ' '..='~' => c as u32,
            'Ä' | 'Ö' | 'Ü' | 'ä' | 'ö' | 'ü' | 'ß' | 'é' | '×' | '³' | 'µ' | '²' | '°' => {
                c as u32
            }
            '–' => 0x96,
            '€' => 0x80,
            '→' => {
                o.push_str("->");
                continue;
            }
            _ => '?' as u32,
        };
        if b < 128 {
            o.push(char::from_u32(b).unwrap_or('?'));
        } else {
            let _ = write!(o, "\\{b:03o}");
        }
    }
    o.push(')');
    o
}

/// One page's content stream, written top-down.
struct Page {
    ops: String,
    y: f64,
}

impl Page {
    fn new() -> Self {
        Self {
            ops: String::new(),
            y: H - 56.0,
        }
    }

    fn text(&mut self, x: f64, size: f64, bold: bool, s: &str) {
        let font = if bold { "F2" } else { "F1" };
        let _ = writeln!(
            self.ops,
            "BT /{font} {size} Tf {x:.1} {:.1} Td {} Tj ET",
            self.y,
            lit(s)
        );
    }

    fn line(&mut self, size: f64, bold: bool, s: &str) {
        self.text(50.0, size, bold, s);
        self.y -= size * 1.5;
    }

    fn row(&mut self, cells: &[(f64, &str)]) {
        for (x, s) in cells {
            self.text(*x, 9.0, false, s);
        }
        self.y -= 13.0;
    }

    /// A trend chart (values, dashed target and baseline) in a box of 230 × 90 points.
    fn chart(&mut self, x0: f64, y0: f64, k: &KpiRow) {
        let (w, h) = (230.0, 90.0);
        let _ = writeln!(self.ops, "0.85 G {x0:.1} {y0:.1} {w} {h} re S");
        let mut ys: Vec<f64> = k.history.iter().map(|p| p.1).collect();
        ys.extend(k.baseline);
        ys.extend(k.target);
        let (lo, hi) = ys
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(*y), b.max(*y)));
        let span = if hi > lo { hi - lo } else { 1.0 };
        let y = |v: f64| y0 + 8.0 + (v - lo) / span * (h - 16.0);
        let n = k.history.len().max(2) as f64 - 1.0;
        let x = |i: usize| x0 + 8.0 + i as f64 / n * (w - 16.0);
        if let Some(t) = k.target {
            let _ = writeln!(
                self.ops,
                "[4 3] 0 d 0.18 0.49 0.2 RG {:.1} {:.1} m {:.1} {:.1} l S [] 0 d",
                x0 + 4.0,
                y(t),
                x0 + w - 4.0,
                y(t)
            );
        }
        if let Some(b) = k.baseline {
            let _ = writeln!(
                self.ops,
                "[2 3] 0 d 0.6 G {:.1} {:.1} m {:.1} {:.1} l S [] 0 d",
                x0 + 4.0,
                y(b),
                x0 + w - 4.0,
                y(b)
            );
        }
        let _ = write!(self.ops, "0.08 0.4 0.75 RG 1.5 w ");
        for (i, (_, v)) in k.history.iter().enumerate() {
            let op = if i == 0 { "m" } else { "l" };
            let _ = write!(self.ops, "{:.1} {:.1} {op} ", x(i), y(*v));
        }
        if k.history.len() > 1 {
            self.ops.push_str("S ");
        } else if let Some((_, v)) = k.history.first() {
            let _ = write!(self.ops, "{:.1} {:.1} l S ", x(0) + 1.0, y(*v));
        }
        self.ops.push_str("1 w 0 G\n");
        let saved = self.y;
        self.y = y0 - 12.0;
        self.text(x0, 8.0, false, &k.name);
        self.y = saved;
    }
}

fn label(status: &str, lang: &str) -> String {
    Status::parse(status).map_or(status.to_owned(), |s| s.label(lang).to_owned())
}

fn bullet_list(p: &mut Page, title: &str, items: &[String], none: &str) {
    p.line(10.0, true, title);
    if items.is_empty() {
        p.line(9.0, false, &format!("  {none}"));
    }
    for i in items {
        p.line(9.0, false, &format!("  – {i}"));
    }
    p.y -= 4.0;
}

/// The report as a PDF document.
pub fn pdf(snap: &Snapshot, d: &Diff, lang: &str, generated: &str) -> Vec<u8> {
    let de = lang != "en";
    let tr = |a: &'static str, b: &'static str| if de { a } else { b };
    let none = tr("keine", "none");
    let date = |x: chrono::NaiveDate| {
        if de {
            x.format("%d.%m.%Y").to_string()
        } else {
            x.to_string()
        }
    };
    // Page 1: indicators.
    let mut p1 = Page::new();
    p1.line(
        18.0,
        true,
        &format!(
            "{}: {}",
            tr("Fortschrittsbericht", "Progress report"),
            snap.agenda_name
        ),
    );
    p1.line(
        10.0,
        false,
        &format!(
            "{}: {} – {}",
            tr("Berichtszeitraum", "Reporting period"),
            date(snap.from),
            date(snap.to)
        ),
    );
    p1.line(8.0, false, generated);
    p1.y -= 8.0;
    p1.line(13.0, true, tr("Indikatoren", "Indicators"));
    let cols = [50.0, 250.0, 330.0, 410.0, 470.0];
    p1.row(&[
        (cols[0], tr("Indikator", "Indicator")),
        (cols[1], tr("Wert", "Value")),
        (cols[2], tr("Zielwert", "Target")),
        (cols[3], tr("Abdeckung", "Coverage")),
        (cols[4], "Status"),
    ]);
    for k in &snap.indicators {
        let v = k.value.map_or("–".into(), |x| num(x, lang));
        let t = k.target.map_or("–".into(), |x| num(x, lang));
        let c = k
            .coverage
            .map_or("–".into(), |x| format!("{} %", num(x * 100.0, lang)));
        let name: String = k.name.chars().take(38).collect();
        p1.row(&[
            (cols[0], &name),
            (cols[1], &v),
            (cols[2], &t),
            (cols[3], &c),
            (cols[4], &label(&k.status, lang)),
        ]);
    }
    p1.y -= 10.0;
    p1.line(
        13.0,
        true,
        tr("Verlauf gegenüber dem Zielwert", "Trends against target"),
    );
    let charts: Vec<&KpiRow> = snap
        .indicators
        .iter()
        .filter(|k| !k.history.is_empty())
        .collect();
    let top = p1.y - 95.0;
    for (i, k) in charts.iter().take(6).enumerate() {
        let (cx, cy) = (50.0 + (i % 2) as f64 * 260.0, top - (i / 2) as f64 * 125.0);
        p1.chart(cx, cy, k);
    }
    // Page 2: milestones and projects.
    let mut p2 = Page::new();
    p2.line(13.0, true, tr("Meilensteine", "Milestones"));
    for m in &snap.milestones {
        let state = match (m.state.as_str(), de) {
            ("reached", true) => "erreicht",
            ("overdue", true) => "überfällig",
            ("open", true) => "offen",
            (s, _) => s,
        };
        let planned = m.planned.map(date).unwrap_or_default();
        p2.row(&[(50.0, &m.name), (350.0, &planned), (440.0, state)]);
    }
    p2.y -= 10.0;
    p2.line(13.0, true, tr("Projekte", "Projects"));
    for (_, name, stage) in &snap.projects {
        let s = stage.map_or("–".into(), |x| format!("{} {x}", tr("Stufe", "stage")));
        p2.row(&[(50.0, name), (350.0, &s)]);
    }
    // Page 3: changes.
    let mut p3 = Page::new();
    p3.line(
        13.0,
        true,
        tr(
            "Veränderungen seit dem letzten Bericht",
            "Changes since the previous report",
        ),
    );
    if !d.has_previous {
        p3.line(
            9.0,
            false,
            tr(
                "Dies ist der erste gespeicherte Bericht; es gibt noch keinen Vergleich.",
                "This is the first stored report; there is nothing to compare with yet.",
            ),
        );
    }
    let statuses: Vec<String> = d
        .statuses
        .iter()
        .map(|(_, n, a, b)| format!("{n}: {} -> {}", label(a, lang), label(b, lang)))
        .collect();
    bullet_list(
        &mut p3,
        tr("Geänderter Status", "Status changes"),
        &statuses,
        none,
    );
    bullet_list(
        &mut p3,
        tr("Erreichte Meilensteine", "Milestones reached"),
        &d.reached,
        none,
    );
    bullet_list(
        &mut p3,
        tr("Versäumte Meilensteine", "Milestones missed"),
        &d.missed,
        none,
    );
    bullet_list(
        &mut p3,
        tr(
            "In den nächsten 30 Tagen fällige Meilensteine",
            "Milestones due in the next 30 days",
        ),
        &d.due,
        none,
    );
    bullet_list(
        &mut p3,
        tr("Neue Projekte", "New projects"),
        &d.projects,
        none,
    );
    bullet_list(&mut p3, tr("Neue Geräte", "New devices"), &d.devices, none);
    bullet_list(
        &mut p3,
        tr("Neue Datensätze", "New datasets"),
        &d.datasets,
        none,
    );
    bullet_list(
        &mut p3,
        tr("Neue Bürgerideen", "New citizen ideas"),
        &d.ideas,
        none,
    );
    bullet_list(
        &mut p3,
        tr("Neue Förderfristen", "New funding deadlines"),
        &d.funding,
        none,
    );
    assemble(&[p1, p2, p3])
}

/// Writes the objects, the cross-reference table and the trailer.
fn assemble(pages: &[Page]) -> Vec<u8> {
    let n = pages.len();
    // 1 catalog, 2 pages, 3 and 4 fonts, then page k at 5 + 2k and its content at 6 + 2k.
    let kids: Vec<String> = (0..n).map(|k| format!("{} 0 R", 5 + 2 * k)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
            .to_owned(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_owned(),
    ];
    for (k, p) in pages.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {W} {H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
            6 + 2 * k
        ));
        objects.push(format!(
            "<< /Length {} >>\nstream\n{}endstream",
            p.ops.len(),
            p.ops
        ));
    }
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        let _ = write!(out, "{} 0 obj\n{o}\nendobj\n", i + 1);
    }
    let xref = out.len();
    let _ = write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        let _ = writeln!(out, "{o:010} 00000 n ");
    }
    let _ = write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_winansi_with_escapes() {
        assert_eq!(lit("Förder (x) – ß"), "(F\\366rder \\(x\\) \\226 \\337)");
        assert_eq!(lit("a → b"), "(a -> b)");
    }
}
