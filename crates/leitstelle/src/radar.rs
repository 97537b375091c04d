//! The Leitstelle radar: parallel work, duplicate investments, pilots that do not progress,
//! funding that ends without an operating model, overdue milestones. Every flag explains
//! itself and names the objects involved.
//!
//! - `duplicateInvestment`: two projects deploy devices measuring the same property within
//!   `radius` metres of each other, and the projects' periods overlap.
//! - `overlappingScope`: two projects of the same domain share a keyword and their periods
//!   overlap.
//! - `stuckPilot`: a project has been at stage 2 for more than `stuck_months` (since the
//!   stage's `observedAt`, else since the first of its latest run of stage-2
//!   MaturityAssessments, else since its start date).
//! - `grantEnding`: a grant ends within `grant_months` of the evaluation date and its project
//!   names no operating model.
//! - `overdueMilestone`: a milestone's planned date has passed and it has no actual date.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::matrix::stage_of;
use crate::model::{Agenda, Portfolio, Project};
use crate::read::distance_m;

/// Thresholds of the radar.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The evaluation date.
    pub at: NaiveDate,
    /// Radius for duplicate investments, metres (default 500).
    pub radius_m: f64,
    /// Months at stage 2 before a pilot counts as stuck (default 18).
    pub stuck_months: u32,
    /// Months before a grant's end to warn (default 6).
    pub grant_months: u32,
}

impl Settings {
    /// The defaults at date `at`.
    pub fn at(at: NaiveDate) -> Self {
        Self {
            at,
            radius_m: 500.0,
            stuck_months: 18,
            grant_months: 6,
        }
    }
}

/// One flag.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Flag {
    /// What kind of finding.
    pub kind: String,
    /// Why, in words.
    pub explanation: String,
    /// The objects involved.
    pub objects: Vec<String>,
}

/// Whole months from `a` to `b` (negative when `b` is earlier).
pub fn months_between(a: NaiveDate, b: NaiveDate) -> i64 {
    let mut m = i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month());
    if b.day() < a.day() {
        m -= 1;
    }
    m
}

fn overlap(p: &Project, q: &Project) -> bool {
    let starts_before_end = |x: &Project, y: &Project| match (x.start, y.end) {
        (Some(s), Some(e)) => s <= e,
        _ => true,
    };
    starts_before_end(p, q) && starts_before_end(q, p)
}

/// Runs the radar over `agenda`.
pub fn compute(pf: &Portfolio, agenda: &Agenda, s: &Settings) -> Vec<Flag> {
    let projects = pf.projects_of(&agenda.id);
    let model = agenda.maturity.clone().unwrap_or_default();
    let mut flags = Vec::new();
    for (n, p) in projects.iter().enumerate() {
        for q in &projects[n + 1..] {
            if !overlap(p, q) {
                continue;
            }
            let mut props = BTreeSet::new();
            let mut devices = BTreeSet::new();
            let mut nearest: Option<f64> = None;
            for d in p.deploys.iter().filter_map(|d| pf.device(d)) {
                for e in q.deploys.iter().filter_map(|e| pf.device(e)) {
                    let (Some(a), Some(b)) = (d.point, e.point) else {
                        continue;
                    };
                    let common: Vec<&String> = d
                        .properties
                        .iter()
                        .filter(|x| e.properties.contains(x))
                        .collect();
                    let dist = distance_m(a, b);
                    if common.is_empty() || d.id == e.id || dist > s.radius_m {
                        continue;
                    }
                    props.extend(common.into_iter().cloned());
                    devices.insert(d.id.clone());
                    devices.insert(e.id.clone());
                    nearest = Some(nearest.map_or(dist, |m: f64| m.min(dist)));
                }
            }
            if let Some(dist) = nearest {
                let mut objects = vec![p.id.clone(), q.id.clone()];
                objects.extend(devices);
                flags.push(Flag {
                    kind: "duplicateInvestment".into(),
                    explanation: format!(
                        "{} and {} both deploy devices measuring {} within {} m of each other (closest {} m) in overlapping periods",
                        p.id,
                        q.id,
                        props.into_iter().collect::<Vec<_>>().join(", "),
                        s.radius_m,
                        dist.round()
                    ),
                    objects,
                });
            }
            let shared_domains: Vec<&String> =
                p.domains.iter().filter(|d| q.domains.contains(d)).collect();
            let keywords: Vec<&String> = p.keywords.intersection(&q.keywords).collect();
            if !shared_domains.is_empty() && !keywords.is_empty() {
                let labels: Vec<String> =
                    shared_domains.iter().map(|d| pf.domain_label(d)).collect();
                flags.push(Flag {
                    kind: "overlappingScope".into(),
                    explanation: format!(
                        "{} and {} work in the same domain ({}) on the same topics ({}) at the same time",
                        p.id,
                        q.id,
                        labels.join(", "),
                        keywords
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    objects: vec![p.id.clone(), q.id.clone()],
                });
            }
        }
    }
    for p in &projects {
        if stage_of(p, &model) != Some(2) {
            continue;
        }
        if let Some(since) = pf.stage_since(p, 2) {
            let months = months_between(since, s.at);
            if months > i64::from(s.stuck_months) {
                flags.push(Flag {
                    kind: "stuckPilot".into(),
                    explanation: format!(
                        "{} has been a stage-2 pilot since {since}, {months} months, longer than {} months",
                        p.id, s.stuck_months
                    ),
                    objects: vec![p.id.clone()],
                });
            }
        }
    }
    let mut grants: Vec<_> = pf.grants.iter().collect();
    grants.sort_by(|a, b| a.id.cmp(&b.id));
    for g in grants {
        let Some(project) = projects
            .iter()
            .find(|p| g.project.as_deref() == Some(p.id.as_str()))
        else {
            continue;
        };
        let Some(end) = g.end else { continue };
        let months = months_between(s.at, end);
        if end >= s.at && months < i64::from(s.grant_months) && project.operating_model.is_none() {
            flags.push(Flag {
                kind: "grantEnding".into(),
                explanation: format!(
                    "{} for {} ends on {end}, within {} months, and the project names no operating model",
                    g.id, project.id, s.grant_months
                ),
                objects: vec![g.id.clone(), project.id.clone()],
            });
        }
    }
    let mut milestones: Vec<_> = pf
        .milestones
        .iter()
        .filter(|m| {
            m.agenda.as_deref() == Some(agenda.id.as_str())
                || m.project
                    .as_deref()
                    .is_some_and(|id| projects.iter().any(|p| p.id == id))
        })
        .collect();
    milestones.sort_by(|a, b| a.id.cmp(&b.id));
    for m in milestones {
        if let (Some(planned), None) = (m.planned, m.actual)
            && planned < s.at
        {
            let mut objects = vec![m.id.clone()];
            objects.extend(m.project.clone());
            flags.push(Flag {
                kind: "overdueMilestone".into(),
                explanation: format!(
                    "milestone {} ('{}') was planned for {planned} and is not reached",
                    m.id, m.name
                ),
                objects,
            });
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_pilot_is_stuck_since_its_latest_run_of_stage_2_assessments() {
        use crate::maturity::Weights;
        use crate::model::Project;
        let agenda = Agenda {
            id: "A".into(),
            name: String::new(),
            central_domains: vec![],
            maturity: None,
            weights: Weights::default(),
        };
        let project = Project {
            id: "p".into(),
            agenda: Some("A".into()),
            domains: vec!["m".into()],
            stage: Some(2),
            start: Some(d("2020-01-01")),
            ..Default::default()
        };
        let mut pf = Portfolio {
            agendas: vec![agenda.clone()],
            projects: vec![project],
            assessments: vec![
                ("p".into(), 2, d("2021-01-01")),
                ("p".into(), 1, d("2022-01-01")),
                ("p".into(), 2, d("2025-03-01")),
                ("p".into(), 2, d("2025-09-01")),
            ],
            ..Default::default()
        };
        let at = Settings::at(d("2026-06-01"));
        assert!(
            compute(&pf, &agenda, &at).is_empty(),
            "15 months since 2025-03-01"
        );
        let later = Settings::at(d("2026-10-01"));
        let flags = compute(&pf, &agenda, &later);
        assert_eq!(flags.len(), 1);
        assert_eq!(
            flags[0].explanation,
            "p has been a stage-2 pilot since 2025-03-01, 19 months, longer than 18 months"
        );
        // Without assessments the start date counts.
        pf.assessments.clear();
        assert_eq!(compute(&pf, &agenda, &at)[0].objects, vec!["p".to_owned()]);
    }

    #[test]
    fn months_count_whole_months() {
        assert_eq!(months_between(d("2024-01-15"), d("2025-07-15")), 18);
        assert_eq!(months_between(d("2024-01-15"), d("2025-07-14")), 17);
        assert_eq!(months_between(d("2026-06-01"), d("2026-03-01")), -3);
    }
}
