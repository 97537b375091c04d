//! Turning applied changes into history: one instance per new or changed attribute
//! instance, a deletion record per removed one, and the entity's lifecycle.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::store::{EntityRecord, Instance, TemporalStore};
use crate::Clock;
use crate::model::{Attribute, Entity, Timestamp};
use crate::parse::NGSI_LD_NULL;
use crate::store::Applied;
use crate::subscription::diff::same;

/// A new instance id. Time-ordered (UUID version 7), so that the store's index of instance
/// ids grows at its end instead of at random places.
pub fn instance_id() -> String {
    format!("urn:ngsi-ld:AttributeInstance:{}", uuid::Uuid::now_v7())
}

fn record_of(
    before: Option<&Entity>,
    after: Option<&Entity>,
    now: Timestamp,
) -> Option<EntityRecord> {
    let e = after.or(before)?;
    let mut types = e.types.clone();
    if let Some(b) = before {
        for t in &b.types {
            if !types.contains(t) {
                types.push(t.clone());
            }
        }
    }
    Some(EntityRecord {
        id: e.id.clone(),
        types,
        created_at: before.map_or(e.created_at, |b| b.created_at),
        modified_at: after.map_or(now, |a| a.modified_at),
        deleted_at: after.is_none().then_some(now),
    })
}

/// The instances a change adds to history.
pub fn instances_of(
    before: Option<&Entity>,
    after: Option<&Entity>,
    now: Timestamp,
) -> Vec<Instance> {
    let mut out = Vec::new();
    let Some(id) = after.or(before).map(|e| e.id.clone()) else {
        return out;
    };
    if let Some(a) = after {
        for (name, instances) in &a.attrs {
            let old = before.and_then(|b| b.attrs.get(name));
            for inst in instances {
                let unchanged = old.is_some_and(|o| o.iter().any(|x| same(x, inst)));
                if !unchanged {
                    out.push(Instance {
                        entity_id: id.clone(),
                        attr: name.to_string(),
                        instance_id: instance_id(),
                        attribute: inst.clone(),
                        deleted_at: None,
                    });
                }
            }
        }
    }
    if let Some(b) = before {
        for (name, instances) in &b.attrs {
            let now_there = after.and_then(|a| a.attrs.get(name));
            for inst in instances {
                let kept = now_there
                    .is_some_and(|v| v.iter().any(|x| x.dataset_id() == inst.dataset_id()));
                if !kept {
                    out.push(deletion(&id, name, inst, now));
                }
            }
        }
    }
    out
}

fn deletion(entity: &str, name: &str, old: &Attribute, now: Timestamp) -> Instance {
    let mut attribute = old.clone();
    // NGSI-LD Null in the attribute's own shape (a LanguageProperty holds a language map);
    // a deletion is not an observation, so it keeps no observedAt.
    attribute.value = match old.kind {
        crate::model::AttrKind::LanguageProperty => serde_json::json!({"@none": NGSI_LD_NULL}),
        _ => Value::String(NGSI_LD_NULL.into()),
    };
    let meta = attribute.meta_mut();
    meta.observed_at = None;
    meta.sub.clear();
    attribute.shrink_to_fit();
    attribute.modified_at = now;
    Instance {
        entity_id: entity.into(),
        attr: name.into(),
        instance_id: instance_id(),
        attribute,
        deleted_at: Some(now),
    }
}

/// Records every applied change into a [`TemporalStore`].
pub struct Recorder {
    store: Arc<dyn TemporalStore>,
    clock: Arc<dyn Clock>,
}

impl Recorder {
    /// A recorder writing to `store`.
    pub fn new(store: Arc<dyn TemporalStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

/// What history records of `applied` changes made at `now`: the entities' lifecycle and
/// their new, changed and removed attribute instances. A store that records history in the
/// same commit as the changes calls this; [`Recorder`] does for the others.
pub fn history_of<'a>(
    applied: impl IntoIterator<Item = &'a Applied>,
    now: Timestamp,
) -> (Vec<EntityRecord>, Vec<Instance>) {
    let mut entities = Vec::new();
    let mut instances = Vec::new();
    for a in applied {
        let (before, after) = (a.before.as_deref(), a.after.as_deref());
        entities.extend(record_of(before, after, now));
        instances.extend(instances_of(before, after, now));
    }
    (entities, instances)
}

#[async_trait]
impl crate::service::ChangeListener for Recorder {
    async fn changed(&self, tenant: &str, applied: &[Applied]) {
        let (entities, instances) = history_of(applied, self.clock.now());
        if let Err(e) = self.store.record(tenant, entities, instances).await {
            tracing::error!(tenant, error = %e, "recording history failed");
        }
    }
}
