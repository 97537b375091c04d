//! The rules governance entities must follow, enforced on the NGSI-LD write path through
//! the broker's [`WriteGuard`] hook.
//!
//! - A Project states its `domains` (Relationships to existing Domains), a `stage` (1–3)
//!   and/or a `trl` (1–9); numbers outside those ranges are refused.
//! - Every domain reference (`domain`, `domains`, `centralDomains`, `fromDomain`,
//!   `toDomain`) of a governance entity must name an existing Domain of the tenant.
//! - No governance entity may have a Relationship pointing at itself.
//! - A SynergyAssessment scores two different domains with an integer from −3 to +3.
//! - An Agenda's `maturityModel` and `rankingWeights` must be well formed.
//! - A Domain still referred to cannot be deleted: the refusal (409) names the referrers.
//!   There is no cascade: the Leitstelle decides where the projects go first.
//!
//! Refusals are `BadRequestData` (400), except the deletion refusal (`Conflict`, 409).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use async_trait::async_trait;
use broker::BrokerError;
use broker::guard::{WriteCheck, WriteGuard};
use broker::model::{AttrKind, Attribute, Entity};
use broker::store::{EntityStore, Prefilter};
use ngsild_proto::ErrorType;
use serde_json::Value;

use crate::maturity::{MaturityModel, Weights};
use crate::read;
use crate::vocab::{attr, ty};

/// Governance entity types the rules apply to.
pub const GOVERNED: [&str; 13] = [
    ty::AGENDA,
    ty::DOMAIN,
    ty::GOAL,
    ty::TARGET,
    ty::MILESTONE,
    ty::PROJECT,
    ty::MATURITY_ASSESSMENT,
    ty::SYNERGY_ASSESSMENT,
    ty::SOLUTION,
    ty::LESSON_LEARNED,
    ty::FUNDING_PROGRAMME,
    ty::GRANT,
    ty::CITIZEN_IDEA,
];

/// Attributes that refer to Domains.
const DOMAIN_REFS: [&str; 5] = [
    attr::DOMAIN,
    attr::DOMAINS,
    attr::CENTRAL_DOMAINS,
    attr::FROM_DOMAIN,
    attr::TO_DOMAIN,
];

/// The Leitstelle's write guard.
#[derive(Debug, Default, Clone, Copy)]
pub struct Guard;

#[async_trait]
impl WriteGuard for Guard {
    /// Reads the tenant's Domains (a handful); who refers to them is read only when the
    /// request changes one of them, so ordinary writes pay one small index lookup.
    async fn prepare(
        &self,
        tenant: &str,
        ids: &[&str],
        store: &dyn EntityStore,
    ) -> broker::Result<Box<dyn WriteCheck>> {
        let of = |types: &[&str]| Prefilter {
            any_type: Some(types.iter().map(|t| (*t).to_owned()).collect()),
            ..Default::default()
        };
        let mut state = State::default();
        for e in store.scan(tenant, &of(&[ty::DOMAIN])).await? {
            state.add(&e);
        }
        if ids.iter().any(|id| state.domains.contains(*id)) {
            for e in store.scan(tenant, &of(&GOVERNED)).await? {
                state.add(&e);
            }
        }
        Ok(Box::new(Check(Mutex::new(state))))
    }
}

/// What the check knows of the tenant: its domains and (when a domain is changed) who
/// refers to each; kept up to date with the changes it accepts.
#[derive(Debug, Default)]
struct State {
    domains: BTreeSet<String>,
    referrers: BTreeMap<String, BTreeSet<String>>,
}

fn governed(e: &Entity) -> bool {
    GOVERNED.iter().any(|t| e.has_type(t))
}

fn domain_refs(e: &Entity) -> BTreeSet<String> {
    DOMAIN_REFS
        .iter()
        .flat_map(|a| read::objects(e, a))
        .collect()
}

impl State {
    fn add(&mut self, e: &Entity) {
        if e.has_type(ty::DOMAIN) {
            self.domains.insert(e.id.clone());
        }
        if governed(e) {
            for d in domain_refs(e) {
                self.referrers.entry(d).or_default().insert(e.id.clone());
            }
        }
    }

    fn remove(&mut self, e: &Entity) {
        if e.has_type(ty::DOMAIN) {
            self.domains.remove(&e.id);
        }
        for set in self.referrers.values_mut() {
            set.remove(&e.id);
        }
    }
}

struct Check(Mutex<State>);

impl WriteCheck for Check {
    fn check(
        &self,
        id: &str,
        before: Option<&Entity>,
        after: Option<&Entity>,
    ) -> broker::Result<()> {
        let mut state = self
            .0
            .lock()
            .map_err(|_| BrokerError::internal("leitstelle guard state poisoned"))?;
        if let Some(new) = after
            && governed(new)
        {
            let own_domain = new.has_type(ty::DOMAIN).then_some(new.id.as_str());
            entity(new, &state.domains, own_domain).map_err(|m| BrokerError::bad_data(m).at(id))?;
        }
        if let Some(old) = before
            && old.has_type(ty::DOMAIN)
            && after.is_none_or(|n| !n.has_type(ty::DOMAIN))
        {
            let users: Vec<&str> = state
                .referrers
                .get(&old.id)
                .map(|s| {
                    s.iter()
                        .filter(|u| **u != old.id)
                        .map(String::as_str)
                        .collect()
                })
                .unwrap_or_default();
            if !users.is_empty() {
                return Err(BrokerError::new(
                    ErrorType::Conflict,
                    format!(
                        "domain '{}' is still used by {}; change or delete them first (domains are never removed in cascade)",
                        old.id,
                        users.join(", ")
                    ),
                )
                .at(id));
            }
        }
        if let Some(old) = before {
            state.remove(old);
        }
        if let Some(new) = after {
            state.add(new);
        }
        Ok(())
    }
}

/// Checks one governance entity against the rules; `domains` are the tenant's Domain ids.
pub fn entity(
    e: &Entity,
    domains: &BTreeSet<String>,
    own_domain: Option<&str>,
) -> Result<(), String> {
    for (name, instances) in &e.attrs {
        for a in instances {
            self_reference(&e.id, name, a)?;
        }
    }
    for name in DOMAIN_REFS {
        let Some(a) = e.attr(name) else { continue };
        if !matches!(a.kind, AttrKind::Relationship | AttrKind::ListRelationship) {
            return Err(format!(
                "'{}' must be a Relationship to Domain entities",
                short(name)
            ));
        }
        for d in read::objects(e, name) {
            if !domains.contains(&d) && Some(d.as_str()) != own_domain {
                return Err(format!(
                    "unknown domain '{d}' in '{}': create the Domain first (or seed the default catalogue with POST /leitstelle/v1/domains/defaults)",
                    short(name)
                ));
            }
        }
    }
    if e.has_type(ty::PROJECT) {
        project(e)?;
    }
    if e.has_type(ty::TARGET) || e.has_type(ty::MATURITY_ASSESSMENT) {
        range(e, attr::STAGE, 1, 3)?;
        range(e, attr::TRL, 1, 9)?;
    }
    if e.has_type(ty::TARGET)
        && let Some(d) = read::text(e, attr::DIRECTION)
        && !["increase", "decrease", "maintain"].contains(&d.as_str())
    {
        return Err(format!(
            "direction must be increase, decrease or maintain, not '{d}'"
        ));
    }
    if e.has_type(ty::SYNERGY_ASSESSMENT) {
        synergy(e)?;
    }
    if e.has_type(ty::AGENDA) {
        if let Some(v) = read::value(e, attr::MATURITY_MODEL) {
            MaturityModel::from_json(v)?;
        }
        if let Some(v) = read::value(e, attr::RANKING_WEIGHTS) {
            Weights::from_json(v)?;
        }
    }
    if e.has_type(ty::CITIZEN_IDEA) {
        non_negative_integer(e, attr::VOTES)?;
    }
    for a in [attr::BUDGET, attr::OWN_FUNDS, attr::AMOUNT] {
        if let Some(v) = e.attr(a).map(|x| &x.value)
            && !v.as_f64().is_some_and(|x| x >= 0.0)
        {
            return Err(format!("'{}' must be a number ≥ 0, not {v}", short(a)));
        }
    }
    Ok(())
}

fn short(iri: &str) -> &str {
    iri.rsplit(['#', '/']).next().unwrap_or(iri)
}

fn self_reference(id: &str, name: &str, a: &Attribute) -> Result<(), String> {
    let points_home = match (&a.kind, &a.value) {
        (AttrKind::Relationship, Value::String(s)) => s == id,
        (AttrKind::Relationship | AttrKind::ListRelationship, Value::Array(items)) => {
            items.iter().any(|v| {
                v.as_str()
                    .or_else(|| v.get("object").and_then(Value::as_str))
                    == Some(id)
            })
        }
        _ => false,
    };
    if points_home {
        return Err(format!("'{}' refers to the entity itself", short(name)));
    }
    for (sub, s) in a.sub() {
        self_reference(id, sub, s)?;
    }
    Ok(())
}

fn range(e: &Entity, name: &str, lo: i64, hi: i64) -> Result<(), String> {
    let Some(a) = e.attr(name) else { return Ok(()) };
    match a.value.as_i64() {
        Some(n) if (lo..=hi).contains(&n) && a.kind == AttrKind::Property => Ok(()),
        _ => Err(format!(
            "'{}' must be an integer from {lo} to {hi}, not {}",
            short(name),
            a.value
        )),
    }
}

fn non_negative_integer(e: &Entity, name: &str) -> Result<(), String> {
    match e.attr(name) {
        Some(a) if a.value.as_u64().is_none() => Err(format!(
            "'{}' must be an integer ≥ 0, not {}",
            short(name),
            a.value
        )),
        _ => Ok(()),
    }
}

fn project(e: &Entity) -> Result<(), String> {
    if read::objects(e, attr::DOMAINS).is_empty() {
        return Err("a Project needs 'domains': a Relationship to one or more Domains".into());
    }
    range(e, attr::STAGE, 1, 3)?;
    range(e, attr::TRL, 1, 9)?;
    if e.attr(attr::STAGE).is_none() && e.attr(attr::TRL).is_none() {
        return Err("a Project needs a 'stage' (1–3) or a 'trl' (1–9)".into());
    }
    if let Some(c) = read::text(e, attr::CLIMATE_IMPACT)
        && !["positive", "neutral", "negative"].contains(&c.as_str())
    {
        return Err(format!(
            "climateImpact must be positive, neutral or negative, not '{c}'"
        ));
    }
    Ok(())
}

fn synergy(e: &Entity) -> Result<(), String> {
    let from = read::object(e, attr::FROM_DOMAIN);
    let to = read::object(e, attr::TO_DOMAIN);
    match (&from, &to) {
        (Some(f), Some(t)) if f == t => {
            return Err("a SynergyAssessment needs two different domains".into());
        }
        (Some(_), Some(_)) => {}
        _ => return Err("a SynergyAssessment needs 'fromDomain' and 'toDomain'".into()),
    }
    match e.attr(attr::SCORE) {
        None => Err("a SynergyAssessment needs a 'score' from -3 to 3".into()),
        Some(_) => range(e, attr::SCORE, -3, 3),
    }
}

#[cfg(test)]
mod tests {

    use broker::model::Attribute;
    use serde_json::json;

    use super::*;

    fn attribute(kind: AttrKind, value: Value) -> Vec<Attribute> {
        vec![Attribute::new(kind, value, chrono::DateTime::UNIX_EPOCH)]
    }

    fn project(attrs: &[(&str, AttrKind, Value)]) -> Entity {
        let now = chrono::DateTime::UNIX_EPOCH;
        Entity {
            id: "urn:ngsi-ld:Project:p".into(),
            types: vec![ty::PROJECT.into()],
            scopes: Vec::new(),
            created_at: now,
            modified_at: now,
            attrs: attrs
                .iter()
                .map(|(n, k, v)| ((*n).to_owned(), attribute(*k, v.clone())))
                .collect(),
        }
    }

    fn domains() -> BTreeSet<String> {
        ["urn:ngsi-ld:Domain:mobility".to_owned()].into()
    }

    #[test]
    fn a_project_needs_known_domains_and_a_stage_in_range() {
        let ok = project(&[
            (
                attr::DOMAINS,
                AttrKind::Relationship,
                json!("urn:ngsi-ld:Domain:mobility"),
            ),
            (attr::TRL, AttrKind::Property, json!(9)),
        ]);
        assert_eq!(entity(&ok, &domains(), None), Ok(()));
        let unknown = project(&[
            (
                attr::DOMAINS,
                AttrKind::Relationship,
                json!(["urn:ngsi-ld:Domain:mobility", "urn:ngsi-ld:Domain:x"]),
            ),
            (attr::STAGE, AttrKind::Property, json!(1)),
        ]);
        assert!(
            entity(&unknown, &domains(), None)
                .unwrap_err()
                .starts_with("unknown domain 'urn:ngsi-ld:Domain:x' in 'domains'")
        );
        let as_text = project(&[
            (
                attr::DOMAINS,
                AttrKind::Property,
                json!("urn:ngsi-ld:Domain:mobility"),
            ),
            (attr::STAGE, AttrKind::Property, json!(1)),
        ]);
        assert_eq!(
            entity(&as_text, &domains(), None),
            Err("'domains' must be a Relationship to Domain entities".into())
        );
        let fractional = project(&[
            (
                attr::DOMAINS,
                AttrKind::Relationship,
                json!("urn:ngsi-ld:Domain:mobility"),
            ),
            (attr::STAGE, AttrKind::Property, json!(2.5)),
        ]);
        assert_eq!(
            entity(&fractional, &domains(), None),
            Err("'stage' must be an integer from 1 to 3, not 2.5".into())
        );
    }

    #[test]
    fn a_relationship_to_itself_is_refused_even_in_a_list() {
        let e = project(&[
            (
                attr::DOMAINS,
                AttrKind::Relationship,
                json!("urn:ngsi-ld:Domain:mobility"),
            ),
            (attr::STAGE, AttrKind::Property, json!(1)),
            (
                attr::DEPENDS_ON,
                AttrKind::Relationship,
                json!(["urn:ngsi-ld:Project:q", "urn:ngsi-ld:Project:p"]),
            ),
        ]);
        assert_eq!(
            entity(&e, &domains(), None),
            Err("'dependsOn' refers to the entity itself".into())
        );
    }
}
