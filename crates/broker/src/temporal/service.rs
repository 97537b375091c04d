//! The temporal API's operations (clauses 5.6.11–5.6.16, 5.7.3–5.7.4) over a [`TemporalStore`].

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::record::instance_id;
use super::store::{AggrMethod, EntityRecord, Instance, InstanceFilter, TemporalStore};
use super::view::{self, TemporalFormat};
use crate::error::{BrokerError, Result};
use crate::model::{AttrKind, Attribute, Entity};
use crate::query::EntityQuery;
use crate::render::RenderOptions;
use crate::{Clock, Scope, parse};

/// What to read and how to show it.
#[derive(Debug, Clone, Default)]
pub struct TemporalRequest {
    /// Attributes, time range, lastN.
    pub filter: InstanceFilter,
    /// Representation.
    pub format: TemporalFormat,
    /// Aggregation methods (with `TemporalFormat::Aggregated`).
    pub methods: Vec<AggrMethod>,
    /// Aggregation period; `None` = the whole range.
    pub period: Option<chrono::Duration>,
    /// sysAttrs, lang, format of the instances.
    pub opts: RenderOptions,
}

/// The temporal API.
#[derive(Clone)]
pub struct Temporal {
    store: Arc<dyn TemporalStore>,
    clock: Arc<dyn Clock>,
}

fn not_found(id: &str) -> BrokerError {
    BrokerError::not_found(format!("no temporal representation of '{id}'")).at(id)
}

/// Reads the attributes of a temporal payload: every member is one instance or an array of
/// instances (several may share a datasetId: they are points in time).
fn temporal_attributes(obj: &Map<String, Value>, s: &Scope, now: crate::model::Timestamp) -> Result<Vec<(String, Attribute)>> {
    const SKIP: [&str; 9] = ["@context", "id", "@id", "type", "@type", "scope", "createdAt", "modifiedAt", "deletedAt"];
    let mut out = Vec::new();
    for (name, v) in obj {
        if SKIP.contains(&name.as_str()) {
            continue;
        }
        let expanded = parse::attr_name(name, &s.ctx)?;
        let items: Vec<&Value> = match v {
            Value::Array(a) if a.iter().all(Value::is_object) => a.iter().collect(),
            other => vec![other],
        };
        for i in items {
            out.push((expanded.clone(), parse::attribute(name, &expanded, i, &s.ctx, now)?));
        }
    }
    Ok(out)
}

impl Temporal {
    /// The temporal API over `store`.
    pub fn new(store: Arc<dyn TemporalStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TemporalStore> {
        &self.store
    }

    async fn record(&self, s: &Scope, id: &str) -> Result<Option<EntityRecord>> {
        let ids = [id.to_owned()];
        Ok(self.store.entities(&s.tenant, Some(&ids), None).await?.into_iter().next())
    }

    async fn render_one(&self, s: &Scope, rec: &EntityRecord, req: &TemporalRequest) -> Result<Map<String, Value>> {
        if req.format == TemporalFormat::Aggregated {
            let series = self.store.aggregate(&s.tenant, &rec.id, &req.filter, &req.methods, req.period).await?;
            let plain = InstanceFilter { attrs: req.filter.attrs.clone(), last_n: Some(1), ..Default::default() };
            let kinds: BTreeMap<String, AttrKind> = self
                .store
                .instances(&s.tenant, &rec.id, &plain)
                .await?
                .into_iter()
                .map(|i| (i.attr, i.attribute.kind))
                .collect();
            return Ok(view::render_aggregated(rec, &series, &kinds, &req.methods, &s.ctx));
        }
        let instances = self.store.instances(&s.tenant, &rec.id, &req.filter).await?;
        Ok(view::render(rec, &instances, &s.ctx, &req.opts, &req.format, req.filter.range.property))
    }

    /// Retrieve the temporal evolution of an entity.
    pub async fn retrieve(&self, s: &Scope, id: &str, req: &TemporalRequest) -> Result<Map<String, Value>> {
        crate::service::check_id(id)?;
        let rec = self.record(s, id).await?.ok_or_else(|| not_found(id))?;
        self.render_one(s, &rec, req).await
    }

    /// Query the temporal evolution of entities (selectors: id, idPattern, type).
    pub async fn query(&self, s: &Scope, q: &EntityQuery, req: &TemporalRequest, offset: usize, limit: usize) -> Result<(Vec<Map<String, Value>>, usize)> {
        let pre = q.prefilter();
        let records = self.store.entities(&s.tenant, pre.ids.as_deref(), pre.any_type.as_deref()).await?;
        let selected: Vec<EntityRecord> = records
            .into_iter()
            .filter(|r| {
                let probe = Entity {
                    id: r.id.clone(),
                    types: r.types.clone(),
                    scopes: Vec::new(),
                    created_at: r.created_at,
                    modified_at: r.modified_at,
                    attrs: Default::default(),
                };
                EntityQuery { selectors: q.selectors.clone(), ..Default::default() }.matches(&probe)
            })
            .collect();
        let mut out = Vec::new();
        let mut total = 0;
        for rec in &selected {
            let rendered = self.render_one(s, rec, req).await?;
            let has_attrs = rendered.keys().any(|k| !["id", "type", "createdAt", "modifiedAt", "deletedAt"].contains(&k.as_str()));
            if req.filter.attrs.is_some() && !has_attrs {
                continue;
            }
            if total >= offset && out.len() < limit {
                out.push(rendered);
            }
            total += 1;
        }
        Ok((out, total))
    }

    /// Create or update the temporal representation of an entity: every instance given is
    /// added. Returns whether the entity was new to history.
    pub async fn upsert(&self, s: &Scope, body: &Value) -> Result<bool> {
        let obj = body.as_object().ok_or_else(|| BrokerError::invalid("a temporal entity must be a JSON object"))?;
        let now = self.clock.now();
        let e = parse::entity(&Value::Object(strip_attrs(obj)), &s.ctx, now)?;
        let attrs = temporal_attributes(obj, s, now)?;
        let existing = self.record(s, &e.id).await?;
        let mut types = e.types.clone();
        if let Some(old) = &existing {
            for t in &old.types {
                if !types.contains(t) {
                    types.push(t.clone());
                }
            }
        }
        let rec = EntityRecord {
            id: e.id.clone(),
            types,
            created_at: existing.as_ref().map_or(now, |r| r.created_at),
            modified_at: now,
            deleted_at: None,
        };
        let instances = attrs
            .into_iter()
            .map(|(attr, attribute)| Instance { entity_id: e.id.clone(), attr, instance_id: instance_id(), attribute, deleted_at: None })
            .collect();
        self.store.record(&s.tenant, vec![rec], instances).await?;
        Ok(existing.is_none())
    }

    /// Add attribute instances to an entity's history.
    pub async fn append(&self, s: &Scope, id: &str, body: &Value) -> Result<()> {
        crate::service::check_id(id)?;
        let rec = self.record(s, id).await?.ok_or_else(|| not_found(id))?;
        let obj = body.as_object().ok_or_else(|| BrokerError::invalid("the body must be a JSON object"))?;
        let now = self.clock.now();
        let instances: Vec<Instance> = temporal_attributes(obj, s, now)?
            .into_iter()
            .map(|(attr, attribute)| Instance { entity_id: id.to_owned(), attr, instance_id: instance_id(), attribute, deleted_at: None })
            .collect();
        self.store.record(&s.tenant, vec![EntityRecord { modified_at: now, ..rec }], instances).await?;
        Ok(())
    }

    /// Delete an entity's history.
    pub async fn delete_entity(&self, s: &Scope, id: &str) -> Result<()> {
        crate::service::check_id(id)?;
        if self.store.delete_entity(&s.tenant, id).await? { Ok(()) } else { Err(not_found(id)) }
    }

    /// Delete an attribute's history.
    pub async fn delete_attr(&self, s: &Scope, id: &str, attr: &str, dataset_id: Option<&str>, all: bool) -> Result<()> {
        crate::service::check_id(id)?;
        let name = parse::attr_name(attr, &s.ctx)?;
        if self.store.delete_attr(&s.tenant, id, &name, dataset_id, all).await? {
            Ok(())
        } else {
            Err(BrokerError::not_found(format!("no history of attribute '{attr}'")))
        }
    }

    /// Delete one attribute instance.
    pub async fn delete_instance(&self, s: &Scope, id: &str, attr: &str, instance: &str) -> Result<()> {
        crate::service::check_id(id)?;
        let name = parse::attr_name(attr, &s.ctx)?;
        if self.store.delete_instance(&s.tenant, id, &name, instance).await? {
            Ok(())
        } else {
            Err(BrokerError::not_found(format!("no instance '{instance}'")))
        }
    }

    /// Modify one attribute instance.
    pub async fn modify_instance(&self, s: &Scope, id: &str, attr: &str, instance: &str, body: &Value) -> Result<()> {
        crate::service::check_id(id)?;
        let name = parse::attr_name(attr, &s.ctx)?;
        let obj = body.as_object().ok_or_else(|| BrokerError::invalid("the body must be a JSON object"))?;
        let frag = obj.get(attr).or_else(|| obj.values().find(|v| v.is_object() || v.is_array())).cloned().unwrap_or(Value::Null);
        let frag = match frag {
            Value::Array(mut a) if a.len() == 1 => a.remove(0),
            v => v,
        };
        let new = parse::attribute(attr, &name, &frag, &s.ctx, self.clock.now())?;
        if self.store.modify_instance(&s.tenant, id, &name, instance, new).await? {
            Ok(())
        } else {
            Err(BrokerError::not_found(format!("no instance '{instance}'")))
        }
    }
}

/// The entity members without attributes (for id/type/scope validation).
fn strip_attrs(obj: &Map<String, Value>) -> Map<String, Value> {
    obj.iter()
        .filter(|(k, _)| ["@context", "id", "@id", "type", "@type", "scope"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
