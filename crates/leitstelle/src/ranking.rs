//! Step 5, second half: the priority ranking of projects and of domain pairs.
//!
//! Each project gets five criteria in [0, 1]:
//!
//! - `targetContribution` = agenda targets it contributes to ÷ the agenda's targets;
//! - `synergy` = mean over its ordered domain pairs of the expert score mapped to [0, 1]
//!   ((mean + 3) ÷ 6; an unscored pair counts as 0 → 0.5); a single-domain project gets 0;
//! - `feasibility` = stage ÷ 3;
//! - `funding` = (own funds + its grants) ÷ budget, at most 1 (0 without a budget);
//! - `citizenSupport` = votes of the citizen ideas it takes up ÷ the most any project of the
//!   agenda has (0 when nobody has votes).
//!
//! The score is Σ wₖ·cₖ ÷ Σ wₖ with the agenda's weights (version 0 = the defaults
//! 0.30 / 0.25 / 0.15 / 0.15 / 0.15), rounded to 4 decimals; ties go by id.
//!
//! Domain pairs (unordered) are ranked by ½·expert + ½·evidence, where expert is the mean of
//! both directions' scores mapped to [0, 1] (0.5 when unscored) and evidence is the pair's
//! evidence count ÷ the largest among the pairs.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::matrix::stage_of;
use crate::maturity::{CRITERIA, Weights};
use crate::model::{Agenda, Portfolio, Project};
use crate::synergy::{Synergies, round};

/// One ranked project.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankedProject {
    /// 1 = highest priority.
    pub rank: usize,
    /// Project id.
    pub project: String,
    /// Weighted score in [0, 1].
    pub score: f64,
    /// The five criteria in [0, 1].
    pub criteria: BTreeMap<String, f64>,
}

/// One ranked domain pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RankedPair {
    /// 1 = highest priority.
    pub rank: usize,
    /// The two domain ids (axis order).
    pub domains: [String; 2],
    /// Priority in [0, 1].
    pub score: f64,
    /// Mean expert score of both directions (−3..+3), `null` when unscored.
    pub expert_mean: Option<f64>,
    /// Evidence items.
    pub evidence: usize,
}

/// The ranking of an agenda.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ranking {
    /// The agenda.
    pub agenda: String,
    /// The weights used, with their version.
    pub weights: serde_json::Value,
    /// Projects, best first.
    pub projects: Vec<RankedProject>,
    /// Domain pairs, best first.
    pub pairs: Vec<RankedPair>,
}

fn normalised_expert(pf: &Portfolio, agenda: &str, i: &str, j: &str) -> f64 {
    let scores: Vec<i64> = pf
        .synergies_of(agenda)
        .into_iter()
        .filter(|s| s.from == i && s.to == j)
        .map(|s| s.score)
        .collect();
    let mean = if scores.is_empty() {
        0.0
    } else {
        scores.iter().sum::<i64>() as f64 / scores.len() as f64
    };
    (mean + 3.0) / 6.0
}

/// The five criteria of a project, in [`CRITERIA`] order.
pub fn criteria(pf: &Portfolio, agenda: &Agenda, p: &Project, max_votes: u64) -> [f64; 5] {
    let targets = pf.targets_of(&agenda.id);
    let contribution = if targets.is_empty() {
        0.0
    } else {
        let hit = targets
            .iter()
            .filter(|t| p.contributes_to.contains(&t.id))
            .count();
        hit as f64 / targets.len() as f64
    };
    let mut pair_scores = Vec::new();
    for i in &p.domains {
        for j in &p.domains {
            if i != j {
                pair_scores.push(normalised_expert(pf, &agenda.id, i, j));
            }
        }
    }
    let synergy = if pair_scores.is_empty() {
        0.0
    } else {
        pair_scores.iter().sum::<f64>() / pair_scores.len() as f64
    };
    let model = agenda.maturity.clone().unwrap_or_default();
    let feasibility = stage_of(p, &model).map_or(0.0, |s| f64::from(s) / 3.0);
    let granted: f64 = pf
        .grants
        .iter()
        .filter(|g| g.project.as_deref() == Some(p.id.as_str()))
        .map(|g| g.amount)
        .sum();
    let funding = match p.budget {
        Some(b) if b > 0.0 => ((p.own_funds + granted) / b).min(1.0),
        Some(_) => 1.0,
        None => 0.0,
    };
    let citizen = if max_votes == 0 {
        0.0
    } else {
        votes(pf, &p.id) as f64 / max_votes as f64
    };
    [contribution, synergy, feasibility, funding, citizen]
}

fn votes(pf: &Portfolio, project: &str) -> u64 {
    pf.ideas
        .iter()
        .filter(|i| i.project.as_deref() == Some(project))
        .map(|i| i.votes)
        .sum()
}

/// The weighted score of criteria `c`.
pub fn score(w: &Weights, c: &[f64; 5]) -> f64 {
    let ws = w.as_array();
    let total: f64 = ws.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    round(ws.iter().zip(c).map(|(w, c)| w * c).sum::<f64>() / total)
}

/// Ranks the agenda's projects and the domain pairs of `synergies`.
pub fn compute(pf: &Portfolio, agenda: &Agenda, synergies: &Synergies) -> Ranking {
    let projects = pf.projects_of(&agenda.id);
    let max_votes = projects.iter().map(|p| votes(pf, &p.id)).max().unwrap_or(0);
    let mut ranked: Vec<RankedProject> = projects
        .iter()
        .map(|p| {
            let c = criteria(pf, agenda, p, max_votes);
            RankedProject {
                rank: 0,
                project: p.id.clone(),
                score: score(&agenda.weights, &c),
                criteria: CRITERIA
                    .iter()
                    .zip(c)
                    .map(|(n, v)| ((*n).to_owned(), round(v)))
                    .collect(),
            }
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.project.cmp(&b.project)));
    for (i, r) in ranked.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    let pos = |id: &str| synergies.domains.iter().position(|a| a.id == id);
    let mut unordered: BTreeMap<(usize, usize), (Vec<i64>, usize)> = BTreeMap::new();
    for p in &synergies.pairs {
        let (Some(a), Some(b)) = (pos(&p.from), pos(&p.to)) else {
            continue;
        };
        let key = (a.min(b), a.max(b));
        let entry = unordered.entry(key).or_default();
        entry.1 = entry.1.max(p.evidence.count);
        for s in pf
            .synergies_of(&agenda.id)
            .into_iter()
            .filter(|s| s.from == p.from && s.to == p.to)
        {
            entry.0.push(s.score);
        }
    }
    let max_evidence = unordered.values().map(|(_, e)| *e).max().unwrap_or(0);
    let mut pairs: Vec<RankedPair> = unordered
        .into_iter()
        .map(|((a, b), (scores, ev))| {
            let mean = (!scores.is_empty())
                .then(|| round(scores.iter().sum::<i64>() as f64 / scores.len() as f64));
            let expert = (mean.unwrap_or(0.0) + 3.0) / 6.0;
            let evidence = if max_evidence == 0 {
                0.0
            } else {
                ev as f64 / max_evidence as f64
            };
            RankedPair {
                rank: 0,
                domains: [
                    synergies.domains[a].id.clone(),
                    synergies.domains[b].id.clone(),
                ],
                score: round(0.5 * expert + 0.5 * evidence),
                expert_mean: mean,
                evidence: ev,
            }
        })
        .collect();
    // Stable sort: equal scores keep axis order.
    pairs.sort_by(|a, b| b.score.total_cmp(&a.score));
    for (i, r) in pairs.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Ranking {
        agenda: agenda.id.clone(),
        weights: agenda.weights.to_json(),
        projects: ranked,
        pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_the_weighted_mean_of_the_criteria() {
        let w = Weights::default();
        assert_eq!(score(&w, &[1.0, 1.0, 1.0, 1.0, 1.0]), 1.0);
        assert_eq!(score(&w, &[0.5, 0.0, 1.0, 0.0, 0.0]), 0.3);
        let only_citizens = Weights {
            version: 3,
            target_contribution: 0.0,
            synergy: 0.0,
            feasibility: 0.0,
            funding: 0.0,
            citizen_support: 2.0,
        };
        assert_eq!(score(&only_citizens, &[1.0, 1.0, 1.0, 1.0, 0.25]), 0.25);
    }
}
