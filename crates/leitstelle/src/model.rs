//! Typed views of the governance entities the computations need, read from stored
//! entities, and the [`Portfolio`] of one agenda.

use std::collections::BTreeSet;
use std::sync::Arc;

use broker::model::Entity;
use chrono::NaiveDate;

use crate::maturity::{MaturityModel, Weights};
use crate::read;
use crate::vocab::{attr, ty};

/// A domain (Handlungsfeld).
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    /// Entity id.
    pub id: String,
    /// Short code (`mobility`).
    pub code: String,
    /// Display name.
    pub name: String,
}

/// A project of the agenda.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Project {
    /// Entity id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// The agenda it belongs to.
    pub agenda: Option<String>,
    /// Domain ids, in the order given.
    pub domains: Vec<String>,
    /// Stage as stated (1–3).
    pub stage: Option<u8>,
    /// Technology readiness level as stated (1–9).
    pub trl: Option<u8>,
    /// Since when the project is at its stage (the stage's `observedAt`).
    pub stage_since: Option<NaiveDate>,
    /// Budget in euros.
    pub budget: Option<f64>,
    /// Own funds committed, in euros.
    pub own_funds: f64,
    /// How it is run after funding ends.
    pub operating_model: Option<String>,
    /// Entity types and dataset ids it uses.
    pub uses: BTreeSet<String>,
    /// Keywords (lower case) describing its scope.
    pub keywords: BTreeSet<String>,
    /// Ids of the devices it deploys.
    pub deploys: Vec<String>,
    /// Ids of the targets it contributes to.
    pub contributes_to: Vec<String>,
    /// Start date.
    pub start: Option<NaiveDate>,
    /// End date.
    pub end: Option<NaiveDate>,
    /// `positive`, `neutral` or `negative`.
    pub climate_impact: Option<String>,
}

/// A device (Smart Data Models `Device`).
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// Entity id.
    pub id: String,
    /// Measured properties.
    pub properties: Vec<String>,
    /// (lon, lat).
    pub point: Option<(f64, f64)>,
}

/// A target of the agenda.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Entity id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Its domain.
    pub domain: Option<String>,
    /// The stage it is classified in.
    pub stage: Option<u8>,
    /// Examples (text).
    pub examples: Vec<String>,
}

/// An expert synergy score from a workshop.
#[derive(Debug, Clone, PartialEq)]
pub struct Synergy {
    /// Entity id.
    pub id: String,
    /// From domain.
    pub from: String,
    /// To domain.
    pub to: String,
    /// −3..+3.
    pub score: i64,
}

/// A citizen idea.
#[derive(Debug, Clone, PartialEq)]
pub struct Idea {
    /// Entity id.
    pub id: String,
    /// Domains it is tagged with.
    pub domains: Vec<String>,
    /// Votes.
    pub votes: u64,
    /// The project taking it up.
    pub project: Option<String>,
}

/// A grant.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    /// Entity id.
    pub id: String,
    /// The funded project.
    pub project: Option<String>,
    /// Amount in euros.
    pub amount: f64,
    /// End of the funding period.
    pub end: Option<NaiveDate>,
}

/// A milestone.
#[derive(Debug, Clone, PartialEq)]
pub struct Milestone {
    /// Entity id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Project it belongs to, if any.
    pub project: Option<String>,
    /// Agenda it belongs to, if any.
    pub agenda: Option<String>,
    /// Planned date.
    pub planned: Option<NaiveDate>,
    /// Actual date (reached).
    pub actual: Option<NaiveDate>,
}

/// An agenda with its settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Agenda {
    /// Entity id.
    pub id: String,
    /// Name.
    pub name: String,
    /// The central domains (step 2), in order.
    pub central_domains: Vec<String>,
    /// The adapted maturity model (step 1); `None` = not yet adapted.
    pub maturity: Option<MaturityModel>,
    /// The ranking weights in force.
    pub weights: Weights,
}

fn name(e: &Entity) -> String {
    read::text(e, attr::NAME).unwrap_or_default()
}

fn small(e: &Entity, name: &str) -> Option<u8> {
    read::number(e, name)
        .and_then(|n| (n.fract() == 0.0 && (0.0..=255.0).contains(&n)).then_some(n as u8))
}

impl Domain {
    /// Reads a Domain entity.
    pub fn read(e: &Entity) -> Self {
        Self {
            id: e.id.clone(),
            code: read::text(e, attr::CODE).unwrap_or_default(),
            name: name(e),
        }
    }
}

impl Project {
    /// Reads a Project entity.
    pub fn read(e: &Entity) -> Self {
        let mut uses: BTreeSet<String> = read::strings(e, attr::USES_ENTITY_TYPES)
            .into_iter()
            .collect();
        uses.extend(read::strings(e, attr::USES_DATASETS));
        Self {
            id: e.id.clone(),
            name: name(e),
            agenda: read::object(e, attr::AGENDA),
            domains: read::objects(e, attr::DOMAINS),
            stage: small(e, attr::STAGE),
            trl: small(e, attr::TRL),
            stage_since: read::observed(e, attr::STAGE),
            budget: read::number(e, attr::BUDGET),
            own_funds: read::number(e, attr::OWN_FUNDS).unwrap_or(0.0),
            operating_model: read::text(e, attr::OPERATING_MODEL).filter(|s| !s.trim().is_empty()),
            uses,
            keywords: read::strings(e, attr::KEYWORDS)
                .into_iter()
                .map(|k| k.trim().to_lowercase())
                .collect(),
            deploys: read::objects(e, attr::DEPLOYS),
            contributes_to: read::objects(e, attr::CONTRIBUTES_TO),
            start: read::date(e, attr::START_DATE),
            end: read::date(e, attr::END_DATE),
            climate_impact: read::text(e, attr::CLIMATE_IMPACT),
        }
    }
}

impl Device {
    /// Reads a Device entity.
    pub fn read(e: &Entity) -> Self {
        Self {
            id: e.id.clone(),
            properties: {
                let sdm = read::strings(e, attr::CONTROLLED_PROPERTY);
                if sdm.is_empty() {
                    read::strings(e, attr::CONTROLLED_PROPERTY_CORE)
                } else {
                    sdm
                }
            },
            point: read::point(e, attr::LOCATION),
        }
    }
}

/// Every governance entity of a tenant the computations look at, typed.
#[derive(Debug, Clone, Default)]
pub struct Portfolio {
    /// Agendas.
    pub agendas: Vec<Agenda>,
    /// Domains.
    pub domains: Vec<Domain>,
    /// Projects.
    pub projects: Vec<Project>,
    /// Devices.
    pub devices: Vec<Device>,
    /// Targets, with the agenda each belongs to (directly or through its goal).
    pub targets: Vec<(Option<String>, Target)>,
    /// Expert synergy scores, with their agenda (`None` = for every agenda).
    pub synergies: Vec<(Option<String>, Synergy)>,
    /// Citizen ideas.
    pub ideas: Vec<Idea>,
    /// Grants.
    pub grants: Vec<Grant>,
    /// Milestones.
    pub milestones: Vec<Milestone>,
    /// Maturity assessments: (project, stage, assessedAt).
    pub assessments: Vec<(String, u8, NaiveDate)>,
}

/// The entity types a [`Portfolio`] is read from.
pub const PORTFOLIO_TYPES: [&str; 12] = [
    ty::AGENDA,
    ty::DOMAIN,
    ty::GOAL,
    ty::TARGET,
    ty::PROJECT,
    ty::DEVICE,
    ty::DEVICE_CORE,
    ty::SYNERGY_ASSESSMENT,
    ty::CITIZEN_IDEA,
    ty::GRANT,
    ty::MILESTONE,
    ty::MATURITY_ASSESSMENT,
];

impl Portfolio {
    /// Reads the typed views out of `entities` (any order; other types are ignored).
    pub fn read(entities: &[Arc<Entity>]) -> Self {
        let mut p = Portfolio::default();
        let goals: Vec<(String, Option<String>)> = entities
            .iter()
            .filter(|e| e.has_type(ty::GOAL))
            .map(|e| (e.id.clone(), read::object(e, attr::AGENDA)))
            .collect();
        for e in entities {
            if e.has_type(ty::AGENDA) {
                p.agendas.push(Agenda {
                    id: e.id.clone(),
                    name: name(e),
                    central_domains: read::objects(e, attr::CENTRAL_DOMAINS),
                    maturity: read::value(e, attr::MATURITY_MODEL)
                        .and_then(|v| MaturityModel::from_json(v).ok()),
                    weights: read::value(e, attr::RANKING_WEIGHTS)
                        .and_then(|v| Weights::from_json(v).ok())
                        .unwrap_or_default(),
                });
            }
            if e.has_type(ty::DOMAIN) {
                p.domains.push(Domain::read(e));
            }
            if e.has_type(ty::PROJECT) {
                p.projects.push(Project::read(e));
            }
            if e.has_type(ty::DEVICE) || e.has_type(ty::DEVICE_CORE) {
                p.devices.push(Device::read(e));
            }
            if e.has_type(ty::TARGET) {
                let agenda = read::object(e, attr::AGENDA).or_else(|| {
                    let goal = read::object(e, attr::GOAL)?;
                    goals.iter().find(|(g, _)| *g == goal)?.1.clone()
                });
                p.targets.push((
                    agenda,
                    Target {
                        id: e.id.clone(),
                        name: name(e),
                        domain: read::object(e, attr::DOMAIN),
                        stage: small(e, attr::STAGE),
                        examples: read::strings(e, attr::EXAMPLES),
                    },
                ));
            }
            if e.has_type(ty::SYNERGY_ASSESSMENT)
                && let (Some(from), Some(to), Some(score)) = (
                    read::object(e, attr::FROM_DOMAIN),
                    read::object(e, attr::TO_DOMAIN),
                    read::number(e, attr::SCORE),
                )
            {
                p.synergies.push((
                    read::object(e, attr::AGENDA),
                    Synergy {
                        id: e.id.clone(),
                        from,
                        to,
                        score: score as i64,
                    },
                ));
            }
            if e.has_type(ty::CITIZEN_IDEA) {
                p.ideas.push(Idea {
                    id: e.id.clone(),
                    domains: read::objects(e, attr::DOMAINS),
                    votes: read::number(e, attr::VOTES).unwrap_or(0.0).max(0.0) as u64,
                    project: read::object(e, attr::PROJECT),
                });
            }
            if e.has_type(ty::GRANT) {
                p.grants.push(Grant {
                    id: e.id.clone(),
                    project: read::object(e, attr::PROJECT),
                    amount: read::number(e, attr::AMOUNT).unwrap_or(0.0),
                    end: read::date(e, attr::END_DATE),
                });
            }
            if e.has_type(ty::MATURITY_ASSESSMENT)
                && let (Some(project), Some(stage), Some(at)) = (
                    read::object(e, attr::PROJECT),
                    small(e, attr::STAGE),
                    read::date(e, attr::ASSESSED_AT),
                )
            {
                p.assessments.push((project, stage, at));
            }
            if e.has_type(ty::MILESTONE) {
                p.milestones.push(Milestone {
                    id: e.id.clone(),
                    name: name(e),
                    project: read::object(e, attr::PROJECT),
                    agenda: read::object(e, attr::AGENDA),
                    planned: read::date(e, attr::PLANNED_DATE),
                    actual: read::date(e, attr::ACTUAL_DATE),
                });
            }
        }
        p
    }

    /// The agenda `id`.
    pub fn agenda(&self, id: &str) -> Option<&Agenda> {
        self.agendas.iter().find(|a| a.id == id)
    }

    /// The projects of agenda `id`, ordered by id.
    pub fn projects_of(&self, agenda: &str) -> Vec<&Project> {
        let mut v: Vec<&Project> = self
            .projects
            .iter()
            .filter(|p| p.agenda.as_deref() == Some(agenda))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// The targets of agenda `id`, ordered by id.
    pub fn targets_of(&self, agenda: &str) -> Vec<&Target> {
        let mut v: Vec<&Target> = self
            .targets
            .iter()
            .filter(|(a, _)| a.as_deref() == Some(agenda))
            .map(|(_, t)| t)
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// The expert scores that apply to agenda `id` (its own and agenda-less ones).
    pub fn synergies_of(&self, agenda: &str) -> Vec<&Synergy> {
        self.synergies
            .iter()
            .filter(|(a, _)| a.as_deref().is_none_or(|a| a == agenda))
            .map(|(_, s)| s)
            .collect()
    }

    /// Since when project `p` is at stage `stage`: the stage's `observedAt`; else the first
    /// of its latest unbroken run of MaturityAssessments at that stage; else its start date.
    pub fn stage_since(&self, p: &Project, stage: u8) -> Option<NaiveDate> {
        if p.stage_since.is_some() {
            return p.stage_since;
        }
        let mut own: Vec<(NaiveDate, u8)> = self
            .assessments
            .iter()
            .filter(|(id, _, _)| *id == p.id)
            .map(|(_, s, at)| (*at, *s))
            .collect();
        own.sort();
        let mut since = None;
        for (at, s) in own {
            if s == stage {
                since = since.or(Some(at));
            } else {
                since = None;
            }
        }
        since.or(p.start)
    }

    /// The device `id`.
    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices.iter().find(|d| d.id == id)
    }

    /// A domain's code, or its id when unknown.
    pub fn domain_label(&self, id: &str) -> String {
        self.domains
            .iter()
            .find(|d| d.id == id)
            .map(|d| d.code.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| id.to_owned())
    }
}
