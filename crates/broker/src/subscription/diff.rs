//! What a change did to an entity, attribute by attribute, and which trigger it fires.

use std::collections::{BTreeSet, HashSet};

use crate::model::{Attribute, Entity, Name};

use super::model::Trigger;

/// Attribute names (expanded) created, updated and deleted by one change.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AttrChanges {
    /// Attributes that did not exist before.
    pub created: BTreeSet<Name>,
    /// Attributes whose content changed (any instance).
    pub updated: BTreeSet<Name>,
    /// Attributes (or instances) that disappeared: (name, datasetId).
    pub deleted: Vec<(Name, Option<String>)>,
}

/// Equal ignoring the system timestamps.
pub fn same(a: &Attribute, b: &Attribute) -> bool {
    a.kind == b.kind
        && a.value == b.value
        && a.dataset_id() == b.dataset_id()
        && a.observed_at() == b.observed_at()
        && a.unit_code() == b.unit_code()
        && a.object_type() == b.object_type()
        && a.sub().len() == b.sub().len()
        && a.sub()
            .iter()
            .all(|(k, x)| b.sub().get(k).is_some_and(|y| same(x, y)))
}

/// Compares the attributes of two states of an entity.
pub fn diff(before: Option<&Entity>, after: Option<&Entity>) -> AttrChanges {
    let mut c = AttrChanges::default();
    let empty = Default::default();
    let b = before.map_or(&empty, |e| &e.attrs);
    let a = after.map_or(&empty, |e| &e.attrs);
    for (name, new) in a {
        match b.get(name) {
            None => {
                c.created.insert(name.clone());
            }
            Some(old) => {
                let changed =
                    new.len() != old.len() || new.iter().any(|n| !old.iter().any(|o| same(n, o)));
                if changed {
                    c.updated.insert(name.clone());
                }
                for o in old {
                    if !new.iter().any(|n| n.dataset_id() == o.dataset_id()) {
                        c.deleted
                            .push((name.clone(), o.dataset_id().map(str::to_owned)));
                    }
                }
            }
        }
    }
    for (name, old) in b {
        if !a.contains_key(name) {
            c.deleted.extend(
                old.iter()
                    .map(|o| (name.clone(), o.dataset_id().map(str::to_owned))),
            );
        }
    }
    c
}

/// The trigger a change fires for a subscription with `triggers` watching `watched`
/// (`None` = every attribute), if any.
pub fn trigger(
    before: Option<&Entity>,
    after: Option<&Entity>,
    changes: &AttrChanges,
    triggers: &HashSet<Trigger>,
    watched: Option<&HashSet<String>>,
) -> Option<Trigger> {
    let relevant = |n: &Name| watched.is_none_or(|w| w.contains(&**n));
    let created = changes.created.iter().any(relevant);
    let updated = changes.updated.iter().any(relevant);
    let deleted = changes.deleted.iter().any(|(n, _)| relevant(n));
    match (before, after) {
        (None, Some(_)) => {
            if triggers.contains(&Trigger::EntityCreated) {
                Some(Trigger::EntityCreated)
            } else if triggers.contains(&Trigger::AttributeCreated) && created {
                Some(Trigger::AttributeCreated)
            } else {
                None
            }
        }
        (Some(_), None) => {
            if triggers.contains(&Trigger::EntityDeleted) {
                Some(Trigger::EntityDeleted)
            } else if triggers.contains(&Trigger::AttributeDeleted) && deleted {
                Some(Trigger::AttributeDeleted)
            } else {
                None
            }
        }
        (Some(_), Some(_)) => [
            (Trigger::AttributeCreated, created),
            (Trigger::AttributeUpdated, updated),
            (Trigger::AttributeDeleted, deleted),
            (Trigger::EntityUpdated, created || updated || deleted),
        ]
        .into_iter()
        .find(|(t, fired)| *fired && triggers.contains(t))
        .map(|(t, _)| t),
        (None, None) => None,
    }
}
