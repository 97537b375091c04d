//! The closing check of the five steps: is each project economically and ecologically
//! sustainable?
//!
//! - `noOperatingModel`: the project is funded by grants but states no operating model for
//!   the time after the funding.
//! - `climateConflict`: the project declares a negative climate impact while the agenda has
//!   targets in the environment/climate domain (the Domain with code `environment`).

use serde::Serialize;

use crate::model::{Agenda, Portfolio};

/// One issue found.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Issue {
    /// `noOperatingModel` or `climateConflict`.
    pub kind: String,
    /// Why, in words.
    pub explanation: String,
    /// The objects involved (grant or target ids).
    pub objects: Vec<String>,
}

/// The result for one project.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// Project id.
    pub project: String,
    /// Whether it passes.
    pub passes: bool,
    /// What fails.
    pub issues: Vec<Issue>,
}

/// Checks every project of `agenda`.
pub fn compute(pf: &Portfolio, agenda: &Agenda) -> Vec<Verdict> {
    let climate_domains: Vec<&str> = pf
        .domains
        .iter()
        .filter(|d| d.code == "environment")
        .map(|d| d.id.as_str())
        .collect();
    let climate_targets: Vec<String> = pf
        .targets_of(&agenda.id)
        .into_iter()
        .filter(|t| {
            t.domain
                .as_deref()
                .is_some_and(|d| climate_domains.contains(&d))
        })
        .map(|t| t.id.clone())
        .collect();
    pf.projects_of(&agenda.id)
        .into_iter()
        .map(|p| {
            let mut issues = Vec::new();
            let mut grants: Vec<(&str, Option<chrono::NaiveDate>)> = pf
                .grants
                .iter()
                .filter(|g| g.project.as_deref() == Some(p.id.as_str()))
                .map(|g| (g.id.as_str(), g.end))
                .collect();
            grants.sort();
            if !grants.is_empty() && p.operating_model.is_none() {
                let last_end = grants.iter().filter_map(|(_, e)| *e).max();
                issues.push(Issue {
                    kind: "noOperatingModel".into(),
                    explanation: format!(
                        "{} is funded by {} grant(s){} but names no operating model for the time after the funding",
                        p.id,
                        grants.len(),
                        last_end.map(|d| format!(" ending {d}")).unwrap_or_default()
                    ),
                    objects: grants.iter().map(|(g, _)| (*g).to_owned()).collect(),
                });
            }
            if p.climate_impact.as_deref() == Some("negative") && !climate_targets.is_empty() {
                issues.push(Issue {
                    kind: "climateConflict".into(),
                    explanation: format!(
                        "{} declares a negative climate impact, against the agenda's climate targets {}",
                        p.id,
                        climate_targets.join(", ")
                    ),
                    objects: climate_targets.clone(),
                });
            }
            Verdict {
                project: p.id.clone(),
                passes: issues.is_empty(),
                issues,
            }
        })
        .collect()
}
