//! Step 4: the domain × domain matrix of an agenda's projects.
//!
//! Cell (i, j), i ≠ j, holds the projects whose domains include both i and j; the diagonal
//! cell (i, i) holds the single-domain projects of i. Each cell counts its projects and
//! distributes them over the three stages (a project's stated stage, else the stage its TRL
//! falls in under the agenda's maturity model). The axes are the agenda's central domains
//! in their order, then every other domain its projects use, by id.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::maturity::MaturityModel;
use crate::model::{Agenda, Portfolio, Project};

/// One axis entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Axis {
    /// Domain id.
    pub id: String,
    /// Domain code (the id when the domain is unknown).
    pub code: String,
    /// Whether the agenda chose it as central (step 2).
    pub central: bool,
}

/// One cell.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cell {
    /// Row domain id.
    pub row: String,
    /// Column domain id.
    pub col: String,
    /// Number of projects.
    pub count: usize,
    /// Projects per stage: `{"1": n, "2": n, "3": n}`.
    pub by_stage: BTreeMap<String, usize>,
    /// The projects' ids (the drill-down).
    pub projects: Vec<String>,
}

/// The matrix.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matrix {
    /// The agenda.
    pub agenda: String,
    /// Row and column order.
    pub domains: Vec<Axis>,
    /// `counts[i][j]` = projects in cell (i, j).
    pub counts: Vec<Vec<usize>>,
    /// The non-empty cells, row by row.
    pub cells: Vec<Cell>,
}

/// A project's effective stage under `model`.
pub fn stage_of(p: &Project, model: &MaturityModel) -> Option<u8> {
    p.stage
        .or_else(|| p.trl.and_then(|t| model.stage_for_trl(t)))
}

/// The axes of an agenda's matrix.
pub fn axes(pf: &Portfolio, agenda: &Agenda) -> Vec<Axis> {
    let mut ids: Vec<String> = Vec::new();
    for d in &agenda.central_domains {
        if !ids.contains(d) {
            ids.push(d.clone());
        }
    }
    let mut others: Vec<String> = pf
        .projects_of(&agenda.id)
        .iter()
        .flat_map(|p| p.domains.iter().cloned())
        .filter(|d| !ids.contains(d))
        .collect();
    others.sort();
    others.dedup();
    ids.extend(others);
    ids.into_iter()
        .map(|id| Axis {
            code: pf.domain_label(&id),
            central: agenda.central_domains.contains(&id),
            id,
        })
        .collect()
}

/// Whether project `p` belongs in cell (row, col).
pub fn in_cell(p: &Project, row: &str, col: &str) -> bool {
    if row == col {
        !p.domains.is_empty() && p.domains.iter().all(|d| d == row)
    } else {
        p.domains.iter().any(|d| d == row) && p.domains.iter().any(|d| d == col)
    }
}

/// Computes the matrix of `agenda`.
pub fn compute(pf: &Portfolio, agenda: &Agenda) -> Matrix {
    let model = agenda.maturity.clone().unwrap_or_default();
    let domains = axes(pf, agenda);
    let projects = pf.projects_of(&agenda.id);
    let mut counts = Vec::new();
    let mut cells = Vec::new();
    for r in &domains {
        let mut row = Vec::new();
        for c in &domains {
            let inside: Vec<&&Project> = projects
                .iter()
                .filter(|p| in_cell(p, &r.id, &c.id))
                .collect();
            row.push(inside.len());
            if inside.is_empty() {
                continue;
            }
            let mut by_stage: BTreeMap<String, usize> = ["1", "2", "3"]
                .iter()
                .map(|s| ((*s).to_owned(), 0))
                .collect();
            for p in &inside {
                if let Some(s) = stage_of(p, &model) {
                    *by_stage.entry(s.to_string()).or_default() += 1;
                }
            }
            cells.push(Cell {
                row: r.id.clone(),
                col: c.id.clone(),
                count: inside.len(),
                by_stage,
                projects: inside.iter().map(|p| p.id.clone()).collect(),
            });
        }
        counts.push(row);
    }
    Matrix {
        agenda: agenda.id.clone(),
        domains,
        counts,
        cells,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maturity::Weights;

    fn project(id: &str, domains: &[&str], stage: Option<u8>, trl: Option<u8>) -> Project {
        Project {
            id: id.into(),
            agenda: Some("A".into()),
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            stage,
            trl,
            ..Default::default()
        }
    }

    #[test]
    fn cells_count_cross_domain_projects_and_the_diagonal_single_domain_ones() {
        let agenda = Agenda {
            id: "A".into(),
            name: String::new(),
            central_domains: vec!["m".into(), "e".into()],
            maturity: None,
            weights: Weights::default(),
        };
        let pf = Portfolio {
            agendas: vec![agenda.clone()],
            projects: vec![
                project("p1", &["m"], Some(1), None),
                project("p2", &["m", "e"], None, Some(6)),
                project("p3", &["e", "m", "h"], Some(3), None),
                project("p4", &["h"], None, Some(9)),
            ],
            ..Default::default()
        };
        let m = compute(&pf, &agenda);
        let ids: Vec<&str> = m.domains.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["m", "e", "h"]);
        assert_eq!(m.counts, vec![vec![1, 2, 1], vec![2, 0, 1], vec![1, 1, 1]]);
        let me = m
            .cells
            .iter()
            .find(|c| c.row == "m" && c.col == "e")
            .unwrap();
        assert_eq!(me.projects, ["p2", "p3"]);
        assert_eq!(me.by_stage["2"], 1, "TRL 6 is stage 2 by default");
        assert_eq!(me.by_stage["3"], 1);
        assert!(!m.domains[2].central);
    }
}
