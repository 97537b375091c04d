//! Step 5, first half: synergy potentials between domains, per ordered pair (i → j).
//!
//! The **expert score** (workshop results, −3..+3, `SynergyAssessment` entities from i to
//! j) and the **platform evidence** are reported side by side and never mixed:
//!
//! - *shared data*: an entity type or dataset that a project of i and a different project
//!   of j both use;
//! - *co-located devices*: a device deployed by a project of i and one deployed by a
//!   different project of j lying within `radius` metres of each other;
//! - *citizen ideas* tagged with both i and j.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::matrix::{Axis, axes};
use crate::model::{Agenda, Portfolio, Project};
use crate::read::distance_m;

/// The expert side of a pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Expert {
    /// Mean of the scores (`null` when nobody scored the pair).
    pub mean: Option<f64>,
    /// How many assessments.
    pub count: usize,
    /// The SynergyAssessment ids.
    pub assessments: Vec<String>,
}

/// An entity type or dataset used on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SharedData {
    /// The entity type or dataset id.
    pub item: String,
    /// Projects of the pair using it.
    pub projects: Vec<String>,
}

/// Two devices of different projects near each other.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Colocated {
    /// The device ids (ordered).
    pub devices: [String; 2],
    /// The projects deploying them, in the same order.
    pub projects: [String; 2],
    /// Distance in whole metres.
    pub distance_m: u64,
}

/// The platform evidence of a pair.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Shared entity types and datasets.
    pub shared_data: Vec<SharedData>,
    /// Co-located devices.
    pub colocated_devices: Vec<Colocated>,
    /// Citizen ideas tagged with both domains.
    pub citizen_ideas: Vec<String>,
    /// Number of evidence items (the three lists together).
    pub count: usize,
}

/// One ordered pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pair {
    /// From domain id.
    pub from: String,
    /// To domain id.
    pub to: String,
    /// Workshop scores.
    pub expert: Expert,
    /// What the platform's data shows.
    pub evidence: Evidence,
}

/// The synergy view of an agenda.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Synergies {
    /// The agenda.
    pub agenda: String,
    /// The radius used for co-location, metres.
    pub radius_m: f64,
    /// The domains considered (the matrix axes).
    pub domains: Vec<Axis>,
    /// Pairs with any expert score or evidence, in axis order.
    pub pairs: Vec<Pair>,
}

fn in_domain<'a>(projects: &'a [&'a Project], d: &'a str) -> impl Iterator<Item = &'a Project> {
    projects
        .iter()
        .copied()
        .filter(move |p| p.domains.iter().any(|x| x == d))
}

/// The evidence for the pair (i, j).
pub fn evidence(pf: &Portfolio, projects: &[&Project], i: &str, j: &str, radius: f64) -> Evidence {
    let mut shared: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut colocated: BTreeMap<(String, String), Colocated> = BTreeMap::new();
    for p in in_domain(projects, i) {
        for q in in_domain(projects, j) {
            if p.id == q.id {
                continue;
            }
            for item in p.uses.intersection(&q.uses) {
                let e = shared.entry(item.clone()).or_default();
                e.insert(p.id.clone());
                e.insert(q.id.clone());
            }
            for d in &p.deploys {
                for e in &q.deploys {
                    if d == e {
                        continue;
                    }
                    let (Some(a), Some(b)) = (pf.device(d), pf.device(e)) else {
                        continue;
                    };
                    let (Some(pa), Some(pb)) = (a.point, b.point) else {
                        continue;
                    };
                    let dist = distance_m(pa, pb);
                    if dist <= radius {
                        let (key, projs) = if d <= e {
                            ((d.clone(), e.clone()), [p.id.clone(), q.id.clone()])
                        } else {
                            ((e.clone(), d.clone()), [q.id.clone(), p.id.clone()])
                        };
                        colocated.entry(key.clone()).or_insert(Colocated {
                            devices: [key.0, key.1],
                            projects: projs,
                            distance_m: dist.round() as u64,
                        });
                    }
                }
            }
        }
    }
    let mut ideas: Vec<String> = pf
        .ideas
        .iter()
        .filter(|x| x.domains.iter().any(|d| d == i) && x.domains.iter().any(|d| d == j))
        .map(|x| x.id.clone())
        .collect();
    ideas.sort();
    let shared_data: Vec<SharedData> = shared
        .into_iter()
        .map(|(item, ps)| SharedData {
            item,
            projects: ps.into_iter().collect(),
        })
        .collect();
    let colocated_devices: Vec<Colocated> = colocated.into_values().collect();
    Evidence {
        count: shared_data.len() + colocated_devices.len() + ideas.len(),
        shared_data,
        colocated_devices,
        citizen_ideas: ideas,
    }
}

/// The expert scores from i to j.
pub fn expert(pf: &Portfolio, agenda: &str, i: &str, j: &str) -> Expert {
    let mut found: Vec<(String, i64)> = pf
        .synergies_of(agenda)
        .into_iter()
        .filter(|s| s.from == i && s.to == j)
        .map(|s| (s.id.clone(), s.score))
        .collect();
    found.sort();
    let count = found.len();
    let mean = (count > 0).then(|| {
        let sum: i64 = found.iter().map(|(_, s)| s).sum();
        round(sum as f64 / count as f64)
    });
    Expert {
        mean,
        count,
        assessments: found.into_iter().map(|(id, _)| id).collect(),
    }
}

/// Rounds to 4 decimals (stable output).
pub fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Computes the synergy view of `agenda`.
pub fn compute(pf: &Portfolio, agenda: &Agenda, radius: f64) -> Synergies {
    let domains = axes(pf, agenda);
    let projects = pf.projects_of(&agenda.id);
    let mut pairs = Vec::new();
    for a in &domains {
        for b in &domains {
            if a.id == b.id {
                continue;
            }
            let expert = expert(pf, &agenda.id, &a.id, &b.id);
            let evidence = evidence(pf, &projects, &a.id, &b.id, radius);
            if expert.count > 0 || evidence.count > 0 {
                pairs.push(Pair {
                    from: a.id.clone(),
                    to: b.id.clone(),
                    expert,
                    evidence,
                });
            }
        }
    }
    Synergies {
        agenda: agenda.id.clone(),
        radius_m: radius,
        domains,
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maturity::Weights;
    use crate::model::{Device, Idea};

    fn project(id: &str, domains: &[&str], uses: &[&str], deploys: &[&str]) -> Project {
        Project {
            id: id.into(),
            agenda: Some("A".into()),
            domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            stage: Some(1),
            uses: uses.iter().map(|u| (*u).to_owned()).collect(),
            deploys: deploys.iter().map(|d| (*d).to_owned()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn evidence_needs_two_different_projects_and_stays_apart_from_expert_scores() {
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
                // One project spanning both domains is no evidence by itself.
                project("p1", &["m", "e"], &["Parking"], &["d1"]),
                project("p2", &["e"], &["Parking"], &["d2"]),
            ],
            devices: vec![
                Device {
                    id: "d1".into(),
                    properties: vec![],
                    point: Some((8.0, 51.0)),
                },
                Device {
                    id: "d2".into(),
                    properties: vec![],
                    point: Some((8.0, 51.002)),
                },
            ],
            ideas: vec![Idea {
                id: "i1".into(),
                domains: vec!["e".into(), "m".into()],
                votes: 3,
                project: None,
            }],
            ..Default::default()
        };
        let s = compute(&pf, &agenda, 250.0);
        assert_eq!(s.pairs.len(), 2, "m→e and e→m");
        let me = &s.pairs[0];
        assert_eq!((me.from.as_str(), me.to.as_str()), ("m", "e"));
        assert_eq!(
            me.expert,
            Expert {
                mean: None,
                count: 0,
                assessments: vec![]
            }
        );
        assert_eq!(
            me.evidence.shared_data,
            vec![SharedData {
                item: "Parking".into(),
                projects: vec!["p1".into(), "p2".into()]
            }]
        );
        assert_eq!(me.evidence.colocated_devices[0].distance_m, 222);
        assert_eq!(me.evidence.citizen_ideas, vec!["i1".to_owned()]);
        assert_eq!(me.evidence.count, 3);
        // 200 m is too short for devices 222 m apart.
        assert_eq!(compute(&pf, &agenda, 200.0).pairs[0].evidence.count, 2);
    }
}
