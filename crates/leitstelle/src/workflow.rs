//! Where an agenda stands in the five steps of the maturity model, and what comes next.

use serde::Serialize;

use crate::gate;
use crate::model::{Agenda, Portfolio};

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// 1–5.
    pub step: u8,
    /// Short name.
    pub name: &'static str,
    /// Whether it is done.
    pub done: bool,
    /// What was found.
    pub detail: String,
    /// How to do (or redo) it through the API.
    pub how: String,
}

/// The workflow status.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workflow {
    /// The agenda.
    pub agenda: String,
    /// The five steps.
    pub steps: Vec<Step>,
    /// The first step not done (`null` when all are).
    pub next: Option<u8>,
    /// The closing sustainability check: projects that fail it.
    pub sustainability_failures: Vec<String>,
}

/// The status of `agenda`.
pub fn compute(pf: &Portfolio, agenda: &Agenda) -> Workflow {
    let base = format!("/leitstelle/v1/agendas/{}", agenda.id);
    let targets = pf.targets_of(&agenda.id);
    let missing: Vec<String> = agenda
        .central_domains
        .iter()
        .filter(|d| {
            !targets
                .iter()
                .any(|t| t.domain.as_deref() == Some(d.as_str()) && t.stage.is_some())
        })
        .map(|d| pf.domain_label(d))
        .collect();
    let projects = pf.projects_of(&agenda.id);
    let scored = pf.synergies_of(&agenda.id).len();
    let steps = vec![
        Step {
            step: 1,
            name: "adaptModel",
            done: agenda.maturity.is_some(),
            detail: match &agenda.maturity {
                Some(m) => format!(
                    "stages mapped to TRL {}",
                    m.bands
                        .iter()
                        .map(|b| format!("{}–{}", b.trl_min, b.trl_max))
                        .collect::<Vec<_>>()
                        .join(" / ")
                ),
                None => "the agenda has not adapted the maturity model yet".into(),
            },
            how: format!("PUT {base}/maturity-model"),
        },
        Step {
            step: 2,
            name: "centralDomains",
            done: agenda.central_domains.len() >= 2,
            detail: format!(
                "{} central domain(s); at least two are needed for cross-domain work",
                agenda.central_domains.len()
            ),
            how: format!(
                "set the Agenda's centralDomains Relationship (PATCH /ngsi-ld/v1/entities/{}/attrs)",
                agenda.id
            ),
        },
        Step {
            step: 3,
            name: "targets",
            done: !agenda.central_domains.is_empty() && missing.is_empty(),
            detail: if missing.is_empty() {
                format!("{} target(s) classified by stage", targets.len())
            } else {
                format!(
                    "central domains without a staged target: {}",
                    missing.join(", ")
                )
            },
            how: "create Target entities with goal/agenda, domain, stage and examples".into(),
        },
        Step {
            step: 4,
            name: "matrix",
            done: !projects.is_empty(),
            detail: format!("{} project(s) in the matrix", projects.len()),
            how: format!(
                "create Project entities with agenda, domains and stage; GET {base}/matrix"
            ),
        },
        Step {
            step: 5,
            name: "synergiesAndPriorities",
            done: scored > 0,
            detail: format!("{scored} expert synergy assessment(s)"),
            how: format!(
                "create SynergyAssessment entities; GET {base}/synergies, {base}/ranking, {base}/sustainability"
            ),
        },
    ];
    let next = steps.iter().find(|s| !s.done).map(|s| s.step);
    Workflow {
        agenda: agenda.id.clone(),
        next,
        sustainability_failures: gate::compute(pf, agenda)
            .into_iter()
            .filter(|v| !v.passes)
            .map(|v| v.project)
            .collect(),
        steps,
    }
}

/// Step 3 at a glance: the agenda's targets per domain, by stage, with their examples.
pub fn targets(pf: &Portfolio, agenda: &Agenda) -> serde_json::Value {
    let targets = pf.targets_of(&agenda.id);
    let mut domains: Vec<String> = agenda.central_domains.clone();
    for t in &targets {
        if let Some(d) = &t.domain
            && !domains.contains(d)
        {
            domains.push(d.clone());
        }
    }
    let rows: Vec<serde_json::Value> = domains
        .iter()
        .map(|d| {
            let by_stage: serde_json::Map<String, serde_json::Value> = ["1", "2", "3", "none"]
                .iter()
                .map(|s| {
                    let list: Vec<serde_json::Value> = targets
                        .iter()
                        .filter(|t| t.domain.as_deref() == Some(d.as_str()))
                        .filter(|t| t.stage.map(|x| x.to_string()).as_deref().unwrap_or("none") == *s)
                        .map(|t| serde_json::json!({"id": t.id, "name": t.name, "examples": t.examples}))
                        .collect();
                    ((*s).to_owned(), serde_json::Value::Array(list))
                })
                .collect();
            serde_json::json!({
                "domain": d,
                "code": pf.domain_label(d),
                "central": agenda.central_domains.contains(d),
                "byStage": by_stage,
            })
        })
        .collect();
    serde_json::json!({"agenda": agenda.id, "domains": rows})
}
