//! The progress report as PDF, written directly (PDF 1.4, the standard Helvetica fonts in
//! WinAnsi encoding, vector graphics for the charts): no browser and no typesetting engine to
//! install or compile. Text is measured with the fonts' advance widths, so cells wrap inside
//! their columns and the content flows onto as many A4 pages as it needs, each with a footer
//! "Seite k von n". Sections: indicators with their trend charts; on a new page the maturity
//! matrix heat map, then the milestone timeline and table and the projects; on a new page
//! the changes since the previous report.

use std::fmt::Write as _;

use chrono::{Datelike, Months, NaiveDate};

use crate::indicator::Status;
use crate::report::{Diff, KpiRow, MilestoneRow, Snapshot, date, domain_label, num, t};

/// A4 in points.
const W: f64 = 595.0;
const H: f64 = 842.0;
/// The text column.
const LEFT: f64 = 50.0;
const RIGHT: f64 = W - 50.0;
/// Where the content starts and the lowest point it may reach; the footer sits below.
const TOP: f64 = H - 50.0;
const BOTTOM: f64 = 62.0;
/// Table cells: font size, line spacing, most lines shown per cell.
const CELL: f64 = 9.0;
const LEAD: f64 = 11.0;
const MAX_LINES: usize = 6;
/// A trend chart's box.
const CHART_W: f64 = 230.0;
const CHART_H: f64 = 90.0;
/// The report's colours (as in the HTML).
const BLUE: [f64; 3] = [21.0 / 255.0, 101.0 / 255.0, 192.0 / 255.0];
const GREEN: [f64; 3] = [46.0 / 255.0, 125.0 / 255.0, 50.0 / 255.0];
const RED: [f64; 3] = [198.0 / 255.0, 40.0 / 255.0, 40.0 / 255.0];

/// The Latin-1 characters kept besides ASCII (WinAnsi has them at the same codes).
const LATIN: &str = "ÄÖÜäöüßé×³µ²°";

/// Text as WinAnsi bytes: umlauts, ß and a few signs kept, "→" as "->", anything else "?".
fn winansi(s: &str) -> Vec<u8> {
    let mut o = Vec::with_capacity(s.len());
    for c in s.chars() {
        match c {
            c if (' '..='~').contains(&c) || LATIN.contains(c) => {
                o.push(u8::try_from(c).unwrap_or(b'?'));
            }
            '–' => o.push(0x96),
            '€' => o.push(0x80),
            '…' => o.push(0x85),
            '→' => o.extend_from_slice(b"->"),
            _ => o.push(b'?'),
        }
    }
    o
}

/// Text in WinAnsi as a PDF string literal.
fn lit(s: &str) -> String {
    let mut o = String::from("(");
    for b in winansi(s) {
        match b {
            b'(' | b')' | b'\\' => {
                o.push('\\');
                o.push(char::from(b));
            }
            32..=126 => o.push(char::from(b)),
            _ => {
                let _ = write!(o, "\\{b:03o}");
            }
        }
    }
    o.push(')');
    o
}

/// Advance widths (1/1000 em) of ASCII 32..=126 in Helvetica, from Adobe's AFM.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, // p..~
];

/// The same for Helvetica-Bold.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, // 0..?
    975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, // @..O
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, // P.._
    333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, // `..o
    611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, // p..~
];

/// The advance width of one WinAnsi byte (1/1000 em); the non-ASCII ones are those
/// [`winansi`] emits.
fn advance(b: u8, bold: bool) -> u16 {
    let ascii = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    if let Some(w) = b.checked_sub(32).and_then(|i| ascii.get(usize::from(i))) {
        return *w;
    }
    match (b, bold) {
        (0xC4, false) => 667,       // Ä
        (0xC4 | 0xDC, _) => 722,    // Ä bold, Ü
        (0xD6, _) => 778,           // Ö
        (0xF6 | 0xFC, true) => 611, // ö ü bold
        (0xB5, true) => 611,        // µ bold
        (0xDF, _) => 611,           // ß
        (0xD7, _) => 584,           // ×
        (0xB2 | 0xB3, _) => 333,    // ² ³
        (0xB0, _) => 400,           // °
        (0x85, _) => 1000,          // …
        _ => 556,                   // ä ö ü é µ – €
    }
}

/// The width of WinAnsi bytes at `size` points.
fn bytes_width(bytes: &[u8], size: f64, bold: bool) -> f64 {
    let units: u32 = bytes.iter().map(|b| u32::from(advance(*b, bold))).sum();
    f64::from(units) * size / 1000.0
}

/// The width of `s` at `size` points, as the viewer will set it.
fn text_width(s: &str, size: f64, bold: bool) -> f64 {
    bytes_width(&winansi(s), size, bold)
}

/// Where a line may break: after a space, and after a hyphen or slash between letters.
fn pieces(s: &str) -> Vec<&str> {
    let cs: Vec<(usize, char)> = s.char_indices().collect();
    let mut out = Vec::new();
    let mut start = 0;
    for (k, &(i, c)) in cs.iter().enumerate() {
        let letter = |j: Option<&(usize, char)>| j.is_some_and(|x| x.1.is_alphabetic());
        let joint = matches!(c, '-' | '/')
            && letter(k.checked_sub(1).and_then(|j| cs.get(j)))
            && letter(cs.get(k + 1));
        if c == ' ' || joint {
            let end = i + c.len_utf8();
            out.push(&s[start..end]);
            start = end;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// `s` in lines no wider than `width`, broken where [`pieces`] allows, inside a word only
/// when the word alone is too wide.
fn wrap(s: &str, size: f64, bold: bool, width: f64) -> Vec<String> {
    let fits = |x: &str| text_width(x.trim_end(), size, bold) <= width;
    let mut lines = Vec::new();
    let mut line = String::new();
    for piece in pieces(s) {
        let joined = format!("{line}{piece}");
        if fits(&joined) {
            line = joined;
            continue;
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_owned());
        }
        line.clear();
        for c in piece.trim_start().chars() {
            line.push(c);
            if !fits(&line) && line.chars().count() > 1 {
                line.pop();
                lines.push(line.trim_end().to_owned());
                line = c.to_string();
            }
        }
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_owned());
    }
    lines
}

/// `s` cut to `width` with "…" (whether or not it was longer).
fn ellipsize(s: &str, size: f64, bold: bool, width: f64) -> String {
    let mut head = s.trim_end().to_owned();
    loop {
        let out = format!("{head}…");
        if head.is_empty() || text_width(&out, size, bold) <= width {
            return out;
        }
        head.pop();
        head.truncate(head.trim_end().len());
    }
}

/// `s` if it fits in `width`, else its beginning with "…".
fn clip(s: &str, size: f64, bold: bool, width: f64) -> String {
    if text_width(s, size, bold) <= width {
        s.to_owned()
    } else {
        ellipsize(s, size, bold, width)
    }
}

/// [`wrap`], at most `max` lines: the last one shown ends in "…" when text is left out.
fn capped(s: &str, size: f64, bold: bool, width: f64, max: usize) -> Vec<String> {
    let mut lines = wrap(s, size, bold, width);
    if lines.len() > max {
        lines.truncate(max);
        if let Some(last) = lines.last_mut() {
            *last = ellipsize(last, size, bold, width);
        }
    }
    lines
}

/// One text operator: `s` with its baseline starting at (x, y).
fn put(ops: &mut String, x: f64, y: f64, size: f64, bold: bool, s: &str) {
    let font = if bold { "F2" } else { "F1" };
    let _ = writeln!(
        ops,
        "BT /{font} {size} Tf {x:.1} {y:.1} Td {} Tj ET",
        lit(s)
    );
}

fn rgb(c: [f64; 3]) -> String {
    format!("{:.3} {:.3} {:.3}", c[0], c[1], c[2])
}

/// The heat map colour of `count` out of `max`: the report's blue at intensity count/max
/// over white, blended here so that no transparency is needed.
fn heat(count: usize, max: usize) -> [f64; 3] {
    let a = if max == 0 {
        0.0
    } else {
        count as f64 / max as f64
    };
    BLUE.map(|c| 1.0 - a * (1.0 - c))
}

/// A table column: left edge and width.
#[derive(Clone, Copy)]
struct Col {
    x: f64,
    w: f64,
}

/// A heading waiting for what follows it, so that both go onto the same page.
struct Heading {
    size: f64,
    lines: Vec<String>,
}

impl Heading {
    fn height(&self) -> f64 {
        self.size * 0.8 + self.lines.len() as f64 * self.size * 1.3 + 3.0
    }
}

/// The document: finished pages and the current one, written top-down from `y`.
struct Doc {
    pages: Vec<String>,
    ops: String,
    y: f64,
    heading: Option<Heading>,
}

impl Doc {
    fn new() -> Self {
        Self {
            pages: Vec::new(),
            ops: String::new(),
            y: TOP,
            heading: None,
        }
    }

    /// Continues on a new page (unless nothing is on the current one yet).
    fn new_page(&mut self) {
        if !self.ops.is_empty() {
            self.pages.push(std::mem::take(&mut self.ops));
        }
        self.y = TOP;
    }

    /// Makes room for `h` points of content (and a waiting heading): a new page when they
    /// would reach into the bottom margin. Then writes the heading.
    fn need(&mut self, h: f64) {
        let head = self.heading.as_ref().map_or(0.0, Heading::height);
        if self.y - head - h < BOTTOM && !self.ops.is_empty() {
            self.new_page();
        }
        if let Some(hd) = self.heading.take() {
            if !self.ops.is_empty() {
                self.y -= hd.size * 0.8;
            }
            for l in &hd.lines {
                put(&mut self.ops, LEFT, self.y - hd.size, hd.size, true, l);
                self.y -= hd.size * 1.3;
            }
            self.y -= 3.0;
        }
    }

    /// A heading, written with the first content after it.
    fn heading(&mut self, size: f64, s: &str) {
        self.need(0.0);
        self.heading = Some(Heading {
            size,
            lines: wrap(s, size, true, RIGHT - LEFT),
        });
    }

    /// `s` wrapped to `width` at `x`, pages breaking between lines.
    fn para(&mut self, x: f64, width: f64, size: f64, bold: bool, s: &str) {
        let lead = (size * 1.3).max(LEAD);
        for l in wrap(s, size, bold, width) {
            self.need(lead);
            put(&mut self.ops, x, self.y - size, size, bold, &l);
            self.y -= lead;
        }
    }

    /// One table row of wrapped cells; the header row is bold and underlined.
    fn row(&mut self, cols: &[Col], cells: &[Vec<String>], header: bool) {
        for (c, lines) in cols.iter().zip(cells) {
            for (i, l) in lines.iter().enumerate() {
                let y = self.y - CELL - i as f64 * LEAD;
                put(&mut self.ops, c.x, y, CELL, header, l);
            }
        }
        self.y -= row_height(cells);
        if header {
            let _ = writeln!(
                self.ops,
                "0.6 G 0.5 w {LEFT:.1} {y:.1} m {RIGHT:.1} {y:.1} l S 1 w 0 G",
                y = self.y + 1.5
            );
            self.y -= 1.0;
        }
    }

    /// A table: cells wrapped to their columns (rows grow, but never split across pages),
    /// starting with its header and two rows on one page, the header repeated on every
    /// page the table continues on.
    fn table(&mut self, cols: &[Col], header: &[&str], rows: &[Vec<String>], none: &str) {
        let cells = |r: &[String], bold: bool| -> Vec<Vec<String>> {
            cols.iter()
                .zip(r)
                .map(|(c, s)| capped(s, CELL, bold, c.w, MAX_LINES))
                .collect()
        };
        let owned: Vec<String> = header.iter().map(|s| (*s).to_owned()).collect();
        let head = cells(&owned, true);
        let mut body: Vec<Vec<Vec<String>>> = rows.iter().map(|r| cells(r, false)).collect();
        if body.is_empty() {
            body.push(cells(&[none.to_owned()], false));
        }
        let first: f64 = body.iter().take(2).map(|r| row_height(r)).sum();
        self.need(row_height(&head) + 1.0 + first);
        self.row(cols, &head, true);
        for r in &body {
            let h = row_height(r);
            if self.y - h < BOTTOM {
                self.new_page();
                self.row(cols, &head, true);
            }
            self.row(cols, r, false);
        }
    }

    /// A bulleted list under a small heading ("none" when empty); items wrap with a
    /// hanging indent.
    fn bullets(&mut self, title: &str, items: &[String], none: &str) {
        self.heading(10.0, title);
        if items.is_empty() {
            self.para(LEFT + 8.0, RIGHT - LEFT - 8.0, 9.0, false, none);
        }
        for i in items {
            for (k, l) in wrap(i, 9.0, false, RIGHT - LEFT - 18.0).iter().enumerate() {
                self.need(LEAD + 1.0);
                let y = self.y - 9.0;
                if k == 0 {
                    put(&mut self.ops, LEFT + 8.0, y, 9.0, false, "–");
                }
                put(&mut self.ops, LEFT + 18.0, y, 9.0, false, l);
                self.y -= LEAD + 1.0;
            }
        }
    }

    /// The trend charts, two a row, each row with its captions kept on one page.
    fn charts(&mut self, ks: &[&KpiRow]) {
        for pair in ks.chunks(2) {
            let captions: Vec<Vec<String>> = pair
                .iter()
                .map(|k| capped(&k.name, 8.0, false, CHART_W, 3))
                .collect();
            let lines = captions.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let h = 4.0 + CHART_H + 4.0 + lines as f64 * 10.0 + 12.0;
            self.need(h);
            let y0 = self.y - 4.0 - CHART_H;
            for (i, (k, caption)) in pair.iter().zip(&captions).enumerate() {
                let x0 = LEFT + i as f64 * (RIGHT - LEFT - CHART_W);
                self.chart(x0, y0, k);
                for (j, l) in caption.iter().enumerate() {
                    put(
                        &mut self.ops,
                        x0,
                        y0 - 11.0 - j as f64 * 10.0,
                        8.0,
                        false,
                        l,
                    );
                }
            }
            self.y -= h;
        }
    }

    /// A trend chart (values, dashed target and baseline) with its box's lower left
    /// corner at (x0, y0).
    fn chart(&mut self, x0: f64, y0: f64, k: &KpiRow) {
        let (w, h) = (CHART_W, CHART_H);
        let _ = writeln!(self.ops, "q 0.85 G {x0:.1} {y0:.1} {w} {h} re S");
        let (lo, span) = k.chart_range();
        let y = |v: f64| y0 + 8.0 + (v - lo) / span * (h - 16.0);
        let n = k.history.len().max(2) as f64 - 1.0;
        let x = |i: usize| x0 + 8.0 + i as f64 / n * (w - 16.0);
        if let Some(t) = k.target {
            let _ = writeln!(
                self.ops,
                "[4 3] 0 d {} RG {:.1} {:.1} m {:.1} {:.1} l S [] 0 d",
                rgb(GREEN),
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
        let _ = write!(self.ops, "{} RG 1.5 w ", rgb(BLUE));
        for (i, (_, v)) in k.history.iter().enumerate() {
            let op = if i == 0 { "m" } else { "l" };
            let _ = write!(self.ops, "{:.1} {:.1} {op} ", x(i), y(*v));
        }
        if k.history.len() > 1 {
            self.ops.push_str("S\n");
        } else if let Some((_, v)) = k.history.first() {
            let _ = writeln!(self.ops, "{:.1} {:.1} l S", x(0) + 1.0, y(*v));
        }
        for (i, (_, v)) in k.history.iter().enumerate() {
            self.dot(x(i), y(*v), 2.0, BLUE);
        }
        self.ops.push_str("Q\n");
    }

    /// A filled circle (four Bézier arcs).
    fn dot(&mut self, cx: f64, cy: f64, r: f64, color: [f64; 3]) {
        let k = 0.5523 * r;
        let _ = writeln!(
            self.ops,
            "{} rg {:.1} {cy:.1} m {:.1} {:.1} {:.1} {:.1} {cx:.1} {:.1} c {:.1} {:.1} {:.1} {:.1} {:.1} {cy:.1} c {:.1} {:.1} {:.1} {:.1} {cx:.1} {:.1} c {:.1} {:.1} {:.1} {:.1} {:.1} {cy:.1} c f 0 g",
            rgb(color),
            cx + r,
            cx + r,
            cy + k,
            cx + k,
            cy + r,
            cy + r,
            cx - k,
            cy + r,
            cx - r,
            cy + k,
            cx - r,
            cx - r,
            cy - k,
            cx - k,
            cy - r,
            cy - r,
            cx + k,
            cy - r,
            cx + r,
            cy - k,
            cx + r,
        );
    }

    /// The maturity matrix as a heat map like the HTML's: domain names left of the rows
    /// and at 45° above the columns, each cell shaded by its count and showing it.
    fn matrix(&mut self, snap: &Snapshot, lang: &str) {
        let n = snap.matrix_domains.len();
        if n == 0 {
            self.para(LEFT, RIGHT - LEFT, 9.0, false, t(lang, "none"));
            return;
        }
        let size = 8.0;
        let names: Vec<String> = snap
            .matrix_domains
            .iter()
            .map(|c| domain_label(c, lang))
            .collect();
        let longest = names
            .iter()
            .map(|s| text_width(s, size, false))
            .fold(0.0, f64::max);
        let (row_w, col_w) = (longest.min(130.0), longest.min(110.0));
        let slant = std::f64::consts::FRAC_1_SQRT_2;
        let x0 = LEFT + row_w + 6.0;
        // Cells as large as the HTML's where they fit: the grid within the text column,
        // the last column's label within the page.
        let cell = 36.0_f64
            .min((RIGHT - x0) / n as f64)
            .min((W - 12.0 - col_w * slant - x0) / (n as f64 - 0.5));
        let top_h = col_w * slant + size + 6.0;
        self.need(top_h + cell * n as f64 + 8.0);
        let top = self.y - top_h;
        let max = snap.matrix_max();
        for (i, name) in names.iter().enumerate() {
            let row = clip(name, size, false, row_w);
            let cy = top - cell * (i as f64 + 0.5);
            let rx = x0 - 6.0 - text_width(&row, size, false);
            put(&mut self.ops, rx, cy - size * 0.35, size, false, &row);
            let col = clip(name, size, false, col_w);
            let cx = x0 + cell * (i as f64 + 0.5) - size * 0.3;
            let _ = writeln!(
                self.ops,
                "BT /F1 {size} Tf {slant:.4} {slant:.4} {:.4} {slant:.4} {cx:.1} {:.1} Tm {} Tj ET",
                -slant,
                top + 4.0,
                lit(&col)
            );
        }
        let fs = (cell * 0.4).min(9.0);
        self.ops.push_str("q 0.8 G 0.5 w\n");
        for (i, row) in snap.matrix_counts.iter().enumerate() {
            for (j, v) in row.iter().enumerate() {
                let (x, y) = (x0 + cell * j as f64, top - cell * (i as f64 + 1.0));
                let _ = writeln!(
                    self.ops,
                    "{} rg {x:.1} {y:.1} {cell:.1} {cell:.1} re B",
                    rgb(heat(*v, max))
                );
                let s = v.to_string();
                let tx = x + (cell - text_width(&s, fs, false)) / 2.0;
                let dark = max > 0 && *v * 2 > max;
                self.ops.push_str(if dark { "1 g\n" } else { "0 g\n" });
                put(&mut self.ops, tx, y + cell / 2.0 - fs * 0.35, fs, false, &s);
            }
        }
        self.ops.push_str("Q\n");
        self.y = top - cell * n as f64 - 8.0;
    }

    /// The milestone timeline like the HTML's: a date axis, a dashed line at the report
    /// date, one row per milestone with a dot coloured by its state and its name and date
    /// beside it. Long lists continue on the next page under a repeated axis.
    fn timeline(&mut self, snap: &Snapshot, lang: &str) {
        let ms: Vec<(&MilestoneRow, NaiveDate)> = snap
            .milestones
            .iter()
            .filter_map(|m| Some((m, m.planned?)))
            .collect();
        if ms.is_empty() {
            return;
        }
        let dates = ms.iter().map(|m| m.1).chain([snap.to]);
        let lo = dates.clone().min().unwrap_or(snap.to);
        let hi = dates.max().unwrap_or(snap.to);
        let axis = Axis {
            lo,
            hi,
            span: (hi - lo).num_days().max(1) as f64,
        };
        let mut rest = &ms[..];
        while !rest.is_empty() {
            self.need(TL_HEAD + TL_ROW * rest.len().min(3) as f64 + 4.0);
            let fit = ((self.y - BOTTOM - TL_HEAD - 4.0) / TL_ROW)
                .floor()
                .max(1.0) as usize;
            let (part, tail) = rest.split_at(fit.min(rest.len()));
            self.timeline_part(&axis, part, snap.to, lang);
            rest = tail;
        }
    }

    fn timeline_part(
        &mut self,
        axis: &Axis,
        ms: &[(&MilestoneRow, NaiveDate)],
        today: NaiveDate,
        lang: &str,
    ) {
        let top = self.y;
        let ya = top - 16.0;
        let xt = axis.x(today);
        let row_y = |i: usize| ya - 19.0 - TL_ROW * i as f64;
        let bottom = row_y(ms.len().saturating_sub(1)) - 7.0;
        let _ = writeln!(
            self.ops,
            "q 0.5 G 0.5 w {:.1} {ya:.1} m {:.1} {ya:.1} l S",
            axis.x(axis.lo),
            axis.x(axis.hi)
        );
        // Ticks with labels under the axis, left out where they would collide.
        let mut free = LEFT;
        for (d, label) in axis.ticks(lang) {
            let x = axis.x(d);
            let _ = writeln!(
                self.ops,
                "{x:.1} {:.1} m {x:.1} {:.1} l S",
                ya - 2.0,
                ya + 2.0
            );
            let w = text_width(&label, 7.0, false);
            let lx = (x - w / 2.0).clamp(LEFT, RIGHT - w);
            if lx >= free && (lx > xt + 2.0 || lx + w < xt - 2.0) {
                put(&mut self.ops, lx, ya - 9.0, 7.0, false, &label);
                free = lx + w + 6.0;
            }
        }
        let _ = writeln!(
            self.ops,
            "[3 3] 0 d 0.26 G {xt:.1} {:.1} m {xt:.1} {bottom:.1} l S [] 0 d Q",
            top - 2.0
        );
        let note = format!("{} ({})", t(lang, "today"), date(today, lang));
        let w = text_width(&note, 7.0, false);
        let nx = if xt + 3.0 + w <= RIGHT {
            xt + 3.0
        } else {
            (xt - 3.0 - w).max(LEFT)
        };
        put(&mut self.ops, nx, top - 7.0, 7.0, false, &note);
        for (i, (m, p)) in ms.iter().enumerate() {
            let cy = row_y(i);
            let x = axis.x(*p);
            let color = match m.state.as_str() {
                "reached" => GREEN,
                "overdue" => RED,
                _ => BLUE,
            };
            self.dot(x, cy, 3.5, color);
            // Right of the dot if there is room, else left, else on the wider side with
            // the name cut (the date is always shown).
            let when = format!(" ({})", date(*p, lang));
            let (right, left) = (RIGHT - x - 7.0, x - 7.0 - LEFT);
            let w = text_width(&m.name, 8.0, false) + text_width(&when, 8.0, false);
            let on_right = w <= right || (w > left && right >= left);
            let room = if on_right { right } else { left } - text_width(&when, 8.0, false);
            let s = format!("{}{when}", clip(&m.name, 8.0, false, room));
            let w = text_width(&s, 8.0, false);
            let lx = if on_right { x + 7.0 } else { x - 7.0 - w };
            // On white, so that the report date's line does not run through the text.
            let _ = writeln!(
                self.ops,
                "1 g {:.1} {:.1} {:.1} 10.0 re f 0 g",
                lx - 1.0,
                cy - 5.0,
                w + 2.0
            );
            put(&mut self.ops, lx, cy - 2.8, 8.0, false, &s);
        }
        self.y = bottom - 6.0;
    }

    /// The pages, each with its footer: the agenda's name and "Seite k von n".
    fn finish(mut self, name: &str, lang: &str) -> Vec<String> {
        self.need(0.0);
        if !self.ops.is_empty() || self.pages.is_empty() {
            self.pages.push(self.ops);
        }
        let n = self.pages.len();
        for (k, p) in self.pages.iter_mut().enumerate() {
            let page = if lang == "en" {
                format!("Page {} of {n}", k + 1)
            } else {
                format!("Seite {} von {n}", k + 1)
            };
            let w = text_width(&page, 8.0, false);
            let _ = writeln!(
                p,
                "0.7 G 0.5 w {LEFT:.1} 54.0 m {RIGHT:.1} 54.0 l S 1 w 0 G 0.35 g"
            );
            let name = clip(name, 8.0, false, RIGHT - LEFT - w - 20.0);
            put(p, LEFT, 43.0, 8.0, false, &name);
            put(p, RIGHT - w, 43.0, 8.0, false, &page);
            p.push_str("0 g\n");
        }
        self.pages
    }
}

/// The timeline's head (report date, axis, tick labels) and row height.
const TL_HEAD: f64 = 30.0;
const TL_ROW: f64 = 14.0;

/// The timeline's dates from `lo` to `hi` across the text column.
struct Axis {
    lo: NaiveDate,
    hi: NaiveDate,
    span: f64,
}

impl Axis {
    fn x(&self, d: NaiveDate) -> f64 {
        let (a, b) = (LEFT + 6.0, RIGHT - 6.0);
        a + (d - self.lo).num_days() as f64 / self.span * (b - a)
    }

    /// Month ticks (years for spans over two years), or both ends when none falls inside.
    fn ticks(&self, lang: &str) -> Vec<(NaiveDate, String)> {
        let years = self.span > 730.0;
        let step = if years {
            12 * ((self.span / 365.0 / 12.0).ceil() as u32).max(1)
        } else {
            1
        };
        let first =
            NaiveDate::from_ymd_opt(self.lo.year(), if years { 1 } else { self.lo.month() }, 1);
        let mut out = Vec::new();
        let mut d = first.and_then(|f| {
            if f < self.lo {
                f.checked_add_months(Months::new(if years { 12 } else { 1 }))
            } else {
                Some(f)
            }
        });
        while let Some(x) = d.filter(|x| *x <= self.hi) {
            let label = match (years, lang) {
                (true, _) => x.format("%Y").to_string(),
                (false, "en") => x.format("%Y-%m").to_string(),
                (false, _) => x.format("%m.%Y").to_string(),
            };
            out.push((x, label));
            d = x.checked_add_months(Months::new(step));
        }
        if out.is_empty() {
            out = vec![
                (self.lo, date(self.lo, lang)),
                (self.hi, date(self.hi, lang)),
            ];
        }
        out
    }
}

fn row_height(cells: &[Vec<String>]) -> f64 {
    cells.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64 * LEAD + 3.0
}

fn label(status: &str, lang: &str) -> String {
    Status::parse(status).map_or(status.to_owned(), |s| s.label(lang).to_owned())
}

/// The report as a PDF document.
pub fn pdf(snap: &Snapshot, d: &Diff, lang: &str, generated: &str) -> Vec<u8> {
    let de = lang != "en";
    let tr = |a: &'static str, b: &'static str| if de { a } else { b };
    let none = t(lang, "none");
    let full = RIGHT - LEFT;
    let mut doc = Doc::new();
    doc.para(
        LEFT,
        full,
        18.0,
        true,
        &format!("{}: {}", t(lang, "title"), snap.agenda_name),
    );
    doc.para(
        LEFT,
        full,
        10.0,
        false,
        &format!(
            "{}: {} – {}",
            t(lang, "period"),
            date(snap.from, lang),
            date(snap.to, lang)
        ),
    );
    doc.para(LEFT, full, 8.0, false, generated);
    doc.y -= 8.0;
    // Indicators and their trends.
    doc.heading(13.0, t(lang, "indicators"));
    let cols = [
        Col { x: 50.0, w: 192.0 },
        Col { x: 250.0, w: 72.0 },
        Col { x: 330.0, w: 72.0 },
        Col { x: 410.0, w: 52.0 },
        Col { x: 470.0, w: 75.0 },
    ];
    let rows: Vec<Vec<String>> = snap
        .indicators
        .iter()
        .map(|k| {
            let opt = |v: Option<f64>| v.map_or("–".into(), |x| num(x, lang));
            vec![
                k.name.clone(),
                opt(k.value),
                opt(k.target),
                k.coverage
                    .map_or("–".into(), |x| format!("{} %", num(x * 100.0, lang))),
                label(&k.status, lang),
            ]
        })
        .collect();
    doc.table(
        &cols,
        &[
            t(lang, "indicator"),
            t(lang, "value"),
            t(lang, "target"),
            tr("Abdeckung", "Coverage"),
            t(lang, "status"),
        ],
        &rows,
        none,
    );
    let charts: Vec<&KpiRow> = snap
        .indicators
        .iter()
        .filter(|k| !k.history.is_empty())
        .collect();
    if !charts.is_empty() {
        doc.heading(13.0, t(lang, "trends"));
        doc.charts(&charts);
    }
    // The matrix, milestones and projects.
    doc.new_page();
    doc.heading(13.0, t(lang, "matrix"));
    doc.matrix(snap, lang);
    doc.heading(13.0, t(lang, "milestones"));
    doc.timeline(snap, lang);
    let rows: Vec<Vec<String>> = snap
        .milestones
        .iter()
        .map(|m| {
            let state = match t(lang, &m.state) {
                "" => m.state.clone(),
                s => s.to_owned(),
            };
            vec![
                m.name.clone(),
                m.planned.map(|p| date(p, lang)).unwrap_or_default(),
                state,
            ]
        })
        .collect();
    let cols = [
        Col { x: 50.0, w: 292.0 },
        Col { x: 350.0, w: 82.0 },
        Col { x: 440.0, w: 105.0 },
    ];
    doc.table(
        &cols,
        &[
            tr("Meilenstein", "Milestone"),
            t(lang, "planned"),
            t(lang, "status"),
        ],
        &rows,
        none,
    );
    doc.heading(13.0, t(lang, "projects"));
    let rows: Vec<Vec<String>> = snap
        .projects
        .iter()
        .map(|(_, name, stage)| vec![name.clone(), stage.map_or("–".into(), |x| x.to_string())])
        .collect();
    let cols = [Col { x: 50.0, w: 292.0 }, Col { x: 350.0, w: 195.0 }];
    doc.table(&cols, &[t(lang, "project"), t(lang, "stage")], &rows, none);
    // The changes.
    doc.new_page();
    doc.heading(13.0, t(lang, "changes"));
    if !d.has_previous {
        doc.para(LEFT, full, 9.0, false, t(lang, "first"));
    }
    let statuses: Vec<String> = d
        .statuses
        .iter()
        .map(|(_, n, a, b)| format!("{n}: {} → {}", label(a, lang), label(b, lang)))
        .collect();
    for (key, items) in [
        ("d_status", &statuses),
        ("d_reached", &d.reached),
        ("d_missed", &d.missed),
        ("d_due", &d.due),
        ("d_projects", &d.projects),
        ("d_devices", &d.devices),
        ("d_datasets", &d.datasets),
        ("d_ideas", &d.ideas),
        ("d_funding", &d.funding),
    ] {
        doc.bullets(t(lang, key), items, none);
    }
    assemble(&doc.finish(&snap.agenda_name, lang))
}

/// Writes the objects, the cross-reference table and the trailer.
fn assemble(pages: &[String]) -> Vec<u8> {
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
        objects.push(format!("<< /Length {} >>\nstream\n{}endstream", p.len(), p));
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
    use crate::report::MilestoneRow;
    use chrono::NaiveDate;

    /// A text operator read back from a content stream.
    #[derive(Debug)]
    struct Run {
        page: usize,
        bold: bool,
        size: f64,
        x: f64,
        y: f64,
        rotated: bool,
        text: Vec<u8>,
    }

    /// The content streams, in page order.
    fn streams(pdf: &[u8]) -> Vec<String> {
        let s = std::str::from_utf8(pdf).unwrap();
        s.split(">>\nstream\n")
            .skip(1)
            .map(|p| p[..p.find("endstream").unwrap()].to_owned())
            .collect()
    }

    fn unescape(s: &str) -> Vec<u8> {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'\\' {
                if b[i + 1].is_ascii_digit() {
                    out.push(u8::from_str_radix(&s[i + 1..i + 4], 8).unwrap());
                    i += 4;
                } else {
                    out.push(b[i + 1]);
                    i += 2;
                }
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        out
    }

    fn runs(pdf: &[u8]) -> Vec<Run> {
        let mut out = Vec::new();
        for (page, st) in streams(pdf).iter().enumerate() {
            for line in st.lines().filter(|l| l.starts_with("BT ")) {
                let (head, rest) = line.split_once(" (").unwrap();
                let text = unescape(rest.strip_suffix(") Tj ET").unwrap());
                let tok: Vec<&str> = head.split(' ').collect();
                let n = tok.len();
                out.push(Run {
                    page,
                    bold: tok[1] == "/F2",
                    size: tok[2].parse().unwrap(),
                    x: tok[n - 3].parse().unwrap(),
                    y: tok[n - 2].parse().unwrap(),
                    rotated: tok[n - 1] == "Tm",
                    text,
                });
            }
        }
        out
    }

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    fn kpi(name: &str, history: &[f64]) -> KpiRow {
        KpiRow {
            id: format!("urn:ngsi-ld:KeyPerformanceIndicator:{name}"),
            name: name.into(),
            unit: None,
            value: history.last().copied(),
            status: "onTrack".into(),
            coverage: Some(0.7143),
            baseline: Some(100.0),
            target: Some(200.0),
            target_date: None,
            error: None,
            history: history
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("2026-03-0{}T00:00:00Z", i + 1), *v))
                .collect(),
        }
    }

    /// An agenda with `n` projects and as many milestones, named `name` and a number.
    fn sample(n: usize, name: &str) -> Snapshot {
        let states = ["reached", "overdue", "open"];
        Snapshot {
            agenda: "urn:ngsi-ld:Agenda:test".into(),
            agenda_name: "Digitale Agenda Musterstadt".into(),
            from: day(1, 1),
            to: day(3, 10),
            indicators: vec![
                kpi(name, &[120.0, 200.0]),
                kpi("Online-Leistungen", &[11.0]),
                kpi("Ladepunkte", &[]),
            ],
            milestones: (0..n)
                .map(|i| MilestoneRow {
                    id: format!("urn:ngsi-ld:Milestone:{i}"),
                    name: format!("{name} {i}"),
                    planned: Some(day(1, 1) + chrono::Duration::days(3 * i as i64)),
                    actual: None,
                    state: states[i % 3].into(),
                })
                .collect(),
            projects: (0..n)
                .map(|i| {
                    let id = format!("urn:ngsi-ld:Project:{i}");
                    (id, format!("{name} {i}"), Some(1 + (i % 3) as u8))
                })
                .collect(),
            devices: vec![],
            datasets: vec![],
            ideas: vec![],
            funding_deadlines: vec![],
            matrix_domains: vec!["mobility".into(), "environment".into(), "energy".into()],
            matrix_counts: vec![vec![0, 1, 0], vec![1, 0, 0], vec![0, 0, 3]],
        }
    }

    fn changes(names: &[String]) -> Diff {
        Diff {
            has_previous: true,
            projects: names.to_vec(),
            reached: names.to_vec(),
            due: names.iter().take(5).cloned().collect(),
            ..Diff::default()
        }
    }

    const LONG: &str = "Ausbau der Ladeinfrastruktur für Elektrofahrzeuge am Bahnhof";

    #[test]
    fn text_is_winansi_with_escapes() {
        assert_eq!(lit("Förder (x) – ß"), "(F\\366rder \\(x\\) \\226 \\337)");
        assert_eq!(lit("a → b"), "(a -> b)");
    }

    #[test]
    fn widths_are_helveticas() {
        // H e l l o: 722 + 556 + 222 + 222 + 556.
        assert!((text_width("Hello", 12.0, false) - 27.336).abs() < 1e-9);
        // Bold: 722 + 556 + 278 + 278 + 611; Ä 722, ü 611.
        assert!((text_width("Hello", 10.0, true) - 24.45).abs() < 1e-9);
        assert!((text_width("Äü", 10.0, true) - 13.33).abs() < 1e-9);
        assert!((text_width("Äü", 10.0, false) - 12.23).abs() < 1e-9);
        assert_eq!(
            text_width("a → b", 9.0, false),
            text_width("a -> b", 9.0, false)
        );
    }

    #[test]
    fn wrapped_lines_fit_their_width() {
        let s = "Modernisierung der Straßenbeleuchtung mit Online-Steuerung: \
                 Straßenbeleuchtungsmodernisierungsprogramm";
        let lines = wrap(s, 9.0, false, 100.0);
        assert!(lines.len() > 3, "{lines:?}");
        for l in &lines {
            assert!(text_width(l, 9.0, false) <= 100.0, "{l}");
        }
        assert_eq!(lines.concat().replace(' ', ""), s.replace(' ', ""));
        assert_eq!(
            wrap("Online-Leistungen", 9.0, false, 50.0),
            ["Online-", "Leistungen"]
        );
        let cut = capped(s, 9.0, false, 100.0, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…') && text_width(&cut[1], 9.0, false) <= 100.0);
        assert_eq!(clip("kurz", 9.0, false, 100.0), "kurz");
    }

    #[test]
    fn long_content_flows_onto_more_pages_inside_the_page_box() {
        assert_eq!(LONG.chars().count(), 60);
        let small = pdf(&sample(2, "Radzählung"), &Diff::default(), "de", "Erstellt");
        let names: Vec<String> = (0..80).map(|i| format!("{LONG} {i}")).collect();
        let big = pdf(&sample(80, LONG), &changes(&names), "de", "Erstellt");
        let (few, many) = (streams(&small).len(), streams(&big).len());
        assert_eq!(few, 3, "indicators; matrix, milestones, projects; changes");
        assert!(many > few + 4, "{many} pages");
        let runs = runs(&big);
        for r in &runs {
            assert!(r.x > 0.0 && r.x < W && r.y > 40.0 && r.y < H, "{r:?}");
            if !r.rotated {
                let w = bytes_width(&r.text, r.size, r.bold);
                assert!(r.x + w <= RIGHT + 0.05, "{r:?} is {w} wide");
            }
        }
        // Nothing runs into the next column: texts on one baseline do not overlap.
        let mut line: Vec<&Run> = runs.iter().filter(|r| !r.rotated).collect();
        line.sort_by(|a, b| {
            (a.page, -a.y, a.x)
                .partial_cmp(&(b.page, -b.y, b.x))
                .unwrap()
        });
        for w in line.windows(2) {
            if w[0].page == w[1].page && w[0].y == w[1].y {
                let end = w[0].x + bytes_width(&w[0].text, w[0].size, w[0].bold);
                assert!(end < w[1].x, "{:?} runs into {:?}", w[0], w[1]);
            }
        }
        // The long indicator name is wrapped to its 192-point column, not shown whole.
        let first = |r: &&Run| r.page == 0 && r.x == 50.0 && r.size == CELL;
        let whole = winansi(LONG);
        assert!(!runs.iter().filter(first).any(|r| r.text == whole));
        let parts = wrap(LONG, CELL, false, 192.0);
        assert!(parts.len() > 1);
        for p in &parts {
            assert!(text_width(p, CELL, false) <= 192.0);
            let bytes = winansi(p);
            assert!(runs.iter().filter(first).any(|r| r.text == bytes), "{p}");
        }
        // No page ends in a heading or a table header.
        for page in 0..many {
            let last = runs
                .iter()
                .filter(|r| r.page == page && r.y > 50.0)
                .min_by(|a, b| a.y.partial_cmp(&b.y).unwrap())
                .unwrap();
            assert!(!last.bold, "page {} ends in {last:?}", page + 1);
        }
    }

    #[test]
    fn the_heat_map_cells_scale_with_the_counts() {
        assert_eq!(rgb(heat(3, 3)), "0.082 0.396 0.753");
        assert_eq!(rgb(heat(0, 3)), "1.000 1.000 1.000");
        assert_eq!(rgb(heat(0, 0)), "1.000 1.000 1.000");
        let half = heat(1, 2);
        for (h, b) in half.iter().zip(BLUE) {
            assert!((h - (1.0 + b) / 2.0).abs() < 1e-9);
        }
        let doc = pdf(&sample(2, "Radzählung"), &Diff::default(), "de", "");
        let page = &streams(&doc)[1];
        assert!(page.contains(&format!("{} Tj", lit(t("de", "matrix")))));
        let cells: Vec<&str> = page.lines().filter(|l| l.ends_with(" re B")).collect();
        assert_eq!(cells.len(), 9);
        // counts [[0, 1, 0], [1, 0, 0], [0, 0, 3]]
        assert!(cells[8].starts_with("0.082 0.396 0.753 rg"), "{}", cells[8]);
        assert!(cells[0].starts_with("1.000 1.000 1.000 rg"));
        assert!(cells[1].starts_with(&format!("{} rg", rgb(heat(1, 3)))));
        assert!(page.contains("(3) Tj") && page.contains("(Mobilit\\344t) Tj"));
        assert!(page.contains("(Umwelt und Klima) Tj"));
        // Rotated column labels, one per domain.
        assert_eq!(page.matches(" Tm (").count(), 3);
    }

    #[test]
    fn the_timeline_colours_dots_by_state() {
        let doc = pdf(&sample(3, "Radzählung"), &Diff::default(), "de", "");
        let page = &streams(&doc)[1];
        for c in [GREEN, RED, BLUE] {
            assert!(page.contains(&format!("{} rg", rgb(c))));
        }
        assert!(page.contains("[3 3] 0 d"), "the report date line");
        assert!(page.contains("(Berichtsdatum \\(10.03.2026\\)) Tj"));
        assert!(page.contains("(Radz\\344hlung 0 \\(01.01.2026\\)) Tj"));
        assert!(page.contains("(\\374berf\\344llig) Tj"));
    }

    #[test]
    fn every_page_has_its_footer() {
        let names: Vec<String> = (0..80).map(|i| format!("{LONG} {i}")).collect();
        for (lang, word, of) in [("de", "Seite", "von"), ("en", "Page", "of")] {
            let doc = pdf(&sample(80, LONG), &changes(&names), lang, "");
            let st = streams(&doc);
            let n = st.len();
            let text = String::from_utf8(doc.clone()).unwrap();
            assert!(text.contains(&format!("/Count {n} ")));
            for (k, s) in st.iter().enumerate() {
                assert!(
                    s.contains(&format!("({word} {} {of} {n}) Tj", k + 1)),
                    "{s}"
                );
                assert!(s.contains("(Digitale Agenda Musterstadt) Tj"));
            }
        }
    }
}
