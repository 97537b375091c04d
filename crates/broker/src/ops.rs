//! What each write operation does to one entity: pure functions on the model.

use jsonld::Context;
use serde_json::{Map, Value};

use crate::error::{BrokerError, Result};
use crate::model::{Attribute, Attrs, Entity, Timestamp};
use crate::parse;

/// If `v` is an attribute fragment that stands for NGSI-LD Null (`urn:ngsi-ld:null` as the
/// whole value, or in its value member), the datasetId of the instance it deletes.
pub fn null_target(v: &Value) -> Option<Option<String>> {
    let is_null = |x: &Value| x.as_str() == Some(parse::NGSI_LD_NULL);
    if is_null(v) {
        return Some(None);
    }
    let o = v.as_object()?;
    let null = ["value", "object", "vocab", "json"]
        .iter()
        .any(|m| o.get(*m).is_some_and(is_null))
        || o.get("languageMap")
            .and_then(|m| m.get("@none"))
            .is_some_and(is_null)
        || ["valueList", "objectList"].iter().any(|m| {
            o.get(*m)
                .and_then(Value::as_array)
                .is_some_and(|a| a.len() == 1 && is_null(&a[0]))
        });
    null.then(|| {
        o.get("datasetId")
            .and_then(Value::as_str)
            .map(str::to_owned)
    })
}

/// NGSI-LD Null deletions: (expanded attribute name, datasetId of the instance).
pub type Deletions = Vec<(String, Option<String>)>;

/// Splits an attribute fragment object into NGSI-LD Null deletions (expanded name,
/// datasetId) and the remaining members.
pub fn split_nulls(
    obj: &Map<String, Value>,
    ctx: &Context,
) -> Result<(Deletions, Map<String, Value>)> {
    let mut deletions = Vec::new();
    let mut rest = Map::new();
    for (k, v) in obj {
        if k == "@context" {
            continue;
        }
        if ["type", "@type", "id", "@id", "scope"].contains(&k.as_str()) {
            rest.insert(k.clone(), v.clone());
            continue;
        }
        match v {
            Value::Array(a) if !a.is_empty() && a.iter().all(Value::is_object) => {
                let mut kept = Vec::new();
                for i in a {
                    match null_target(i) {
                        Some(ds) => deletions.push((parse::attr_name(k, ctx)?, ds)),
                        None => kept.push(i.clone()),
                    }
                }
                if !kept.is_empty() {
                    rest.insert(k.clone(), Value::Array(kept));
                }
            }
            other => match null_target(other) {
                Some(ds) => deletions.push((parse::attr_name(k, ctx)?, ds)),
                None => {
                    rest.insert(k.clone(), other.clone());
                }
            },
        }
    }
    Ok((deletions, rest))
}

/// Applies NGSI-LD Null deletions; returns the names that had something to delete.
pub fn apply_nulls(
    e: &mut Entity,
    deletions: &[(String, Option<String>)],
    now: Timestamp,
) -> Vec<String> {
    let mut done = Vec::new();
    for (name, ds) in deletions {
        if delete_attr(e, name, ds.as_deref(), false, now).is_ok() {
            done.push(name.clone());
        }
    }
    done
}

/// Per-attribute outcome of an append or update (the spec's UpdateResult).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateResult {
    /// Expanded names of the attributes changed.
    pub updated: Vec<String>,
    /// Expanded names not changed, with the reason.
    pub not_updated: Vec<(String, String)>,
}

impl UpdateResult {
    /// Whether every attribute was changed.
    pub fn complete(&self) -> bool {
        self.not_updated.is_empty()
    }
}

/// Puts `new` in place of the instance with the same datasetId, keeping its createdAt;
/// returns whether one existed.
fn put_instance(instances: &mut Vec<Attribute>, mut new: Attribute) -> bool {
    match instances
        .iter_mut()
        .find(|a| a.dataset_id() == new.dataset_id())
    {
        Some(old) => {
            new.created_at = old.created_at;
            *old = new;
            true
        }
        None => {
            instances.push(new);
            false
        }
    }
}

/// Append Entity Attributes: adds or overwrites (unless `no_overwrite`) each instance.
pub fn append(e: &mut Entity, attrs: Attrs, no_overwrite: bool, now: Timestamp) -> UpdateResult {
    let mut result = UpdateResult::default();
    for (name, new_instances) in attrs {
        let instances = e.attrs.slot(&name);
        let mut changed = false;
        for new in new_instances {
            let exists = instances.iter().any(|a| a.dataset_id() == new.dataset_id());
            if exists && no_overwrite {
                continue;
            }
            put_instance(instances, new);
            changed = true;
        }
        if changed {
            result.updated.push(name.to_string());
        } else {
            result.not_updated.push((
                name.to_string(),
                "attribute exists and noOverwrite was given".into(),
            ));
        }
    }
    if !result.updated.is_empty() {
        e.modified_at = now;
    }
    result
}

/// Update Entity Attributes (clause 5.6.2.4, 1.9): each instance replaces the one with the
/// same datasetId (keeping its createdAt) or is appended.
pub fn update_existing(e: &mut Entity, attrs: Attrs, now: Timestamp) -> UpdateResult {
    append(e, attrs, false, now)
}

/// Merges the members given in `frag` into `old` (partial attribute update and merge-patch):
/// a value member replaces the value, metadata members replace theirs, sub-attributes are
/// merged one by one, `urn:ngsi-ld:null` deletes a sub-attribute.
pub fn merge_fragment(
    old: &mut Attribute,
    name: &str,
    frag: &Value,
    ctx: &Context,
    now: Timestamp,
) -> Result<()> {
    merge_fragment_with(old, name, frag, ctx, now, false)
}

/// [`merge_fragment`], refusing a fragment of another attribute type when `same_type`.
pub fn merge_fragment_with(
    old: &mut Attribute,
    name: &str,
    frag: &Value,
    ctx: &Context,
    now: Timestamp,
    same_type: bool,
) -> Result<()> {
    if same_type
        && let Some(t) = frag.get("type").and_then(Value::as_str)
        && crate::model::AttrKind::from_type_name(t) != Some(old.kind)
    {
        return Err(BrokerError::bad_data(format!(
            "attribute '{name}' is a {}, the fragment is a {t}",
            old.kind.type_name()
        )));
    }
    let Some(obj) = frag.as_object() else {
        // A bare value replaces the value of a Property.
        let new = parse::attribute(name, name, frag, ctx, now)?;
        old.value = new.value;
        old.kind = new.kind;
        old.modified_at = now;
        return Ok(());
    };
    let mut probe = Map::new();
    let kind = match obj.get("type") {
        Some(t) => Some(t.clone()),
        None => Some(old.kind.type_name().into()),
    };
    let member_given = [
        "value",
        "object",
        "languageMap",
        "vocab",
        "json",
        "valueList",
        "objectList",
    ]
    .into_iter()
    .find(|m| obj.contains_key(*m));
    if let Some(m) = member_given {
        if let Some(k) = kind {
            probe.insert("type".into(), k);
        }
        probe.insert(m.into(), obj.get(m).cloned().unwrap_or(Value::Null));
        let parsed = parse::attribute(name, name, &Value::Object(probe), ctx, now)?;
        old.kind = parsed.kind;
        old.value = parsed.value;
    } else if obj
        .get("type")
        .is_some_and(|t| t.as_str() != Some(old.kind.type_name()))
    {
        return Err(BrokerError::bad_data(format!(
            "attribute '{name}': the type cannot change without a new value"
        )));
    }
    // Metadata and sub-attributes: parse them through a complete attribute built from the
    // (possibly new) value and the fragment's other members.
    let mut meta = obj.clone();
    meta.remove("type");
    for m in parse::VALUE_MEMBERS {
        meta.remove(m);
    }
    let mut subs_deleted = Vec::new();
    for (k, v) in obj {
        let null = v.as_str() == Some(parse::NGSI_LD_NULL)
            || v.get("value").and_then(Value::as_str) == Some(parse::NGSI_LD_NULL);
        if null {
            subs_deleted.push(parse::attr_name(k, ctx)?);
            meta.remove(k);
        }
    }
    meta.insert("type".into(), old.kind.type_name().into());
    meta.insert(old.kind.value_member().into(), old.value.clone());
    let parsed = parse::attribute(name, name, &Value::Object(meta), ctx, now)?.take_meta();
    let meta = old.meta_mut();
    if obj.contains_key("observedAt") {
        meta.observed_at = parsed.observed_at;
    }
    if obj.contains_key("unitCode") {
        meta.unit_code = parsed.unit_code;
    }
    if obj.contains_key("objectType") {
        meta.object_type = parsed.object_type;
    }
    for (sub_name, sub) in parsed.sub {
        match meta.sub.get_mut(&sub_name) {
            Some(existing) => {
                let created = existing.created_at;
                *existing = sub;
                existing.created_at = created;
            }
            None => {
                meta.sub.insert(sub_name, sub);
            }
        }
    }
    for d in subs_deleted {
        meta.sub.remove(&d);
    }
    old.modified_at = now;
    Ok(())
}

/// Merge Entity: merge-patch semantics over the attributes of `body`.
pub fn merge_entity(
    e: &mut Entity,
    body: &Map<String, Value>,
    ctx: &Context,
    now: Timestamp,
) -> Result<()> {
    const SKIP: [&str; 8] = [
        "@context",
        "id",
        "@id",
        "type",
        "@type",
        "createdAt",
        "modifiedAt",
        "deletedAt",
    ];
    if let Some(t) = body.get("type") {
        for ty in parse::entity_types(Some(t), ctx)? {
            if !e.types.contains(&ty) {
                e.types.push(ty);
            }
        }
    }
    if let Some(s) = body.get("scope") {
        e.scopes = parse::scopes(s)?;
    }
    for (name, frag) in body {
        if SKIP.contains(&name.as_str()) || name == "scope" {
            continue;
        }
        let expanded = parse::attr_name(name, ctx)?;
        let frags: Vec<&Value> = match frag {
            Value::Array(a) if a.iter().all(Value::is_object) && !a.is_empty() => {
                a.iter().collect()
            }
            other => vec![other],
        };
        for f in frags {
            if let Some(ds) = null_target(f) {
                let _ = delete_attr(e, &expanded, ds.as_deref(), false, now);
                continue;
            }
            let dataset = f.get("datasetId").and_then(Value::as_str);
            let existing = e
                .attrs
                .get_mut(&expanded)
                .and_then(|v| v.iter_mut().find(|a| a.dataset_id() == dataset));
            match existing {
                Some(old) => merge_fragment(old, name, f, ctx, now)?,
                None => {
                    let new = parse::attribute(name, &expanded, f, ctx, now)?;
                    e.attrs.slot(&expanded).push(new);
                }
            }
        }
    }
    e.modified_at = now;
    Ok(())
}

/// Delete Entity Attribute: the default instance, one datasetId, or all instances.
pub fn delete_attr(
    e: &mut Entity,
    name: &str,
    dataset_id: Option<&str>,
    delete_all: bool,
    now: Timestamp,
) -> Result<()> {
    let Some(instances) = e.attrs.get_mut(name) else {
        return Err(BrokerError::not_found(format!(
            "attribute '{name}' not found"
        )));
    };
    if delete_all {
        e.attrs.remove(name);
    } else {
        let before = instances.len();
        instances.retain(|a| a.dataset_id() != dataset_id);
        if instances.len() == before {
            return Err(BrokerError::not_found(format!(
                "attribute '{name}' has no instance with datasetId {}",
                dataset_id.unwrap_or("(default)")
            )));
        }
        if instances.is_empty() {
            e.attrs.remove(name);
        }
    }
    e.modified_at = now;
    Ok(())
}
