//! Building the Notification (GS CIM 009 clauses 5.3.1 and 5.8.6) for one subscription.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use super::diff::AttrChanges;
use super::model::{Compiled, Trigger};
use crate::model::{AttrKind, Attribute, Entity, Name, Timestamp};
use crate::parse::NGSI_LD_NULL;
use crate::render::{self, Format, Projection, RenderOptions};

/// How the entities of a notification are rendered.
pub fn render_options(c: &Compiled) -> RenderOptions {
    let pick = c.attributes.as_ref().map(|a| {
        let mut set: HashSet<String> = a.clone();
        set.insert("id".into());
        set.insert("type".into());
        set
    });
    let pick = pick.or_else(|| c.pick.clone());
    let omit = c.omit.clone().unwrap_or_default();
    RenderOptions {
        format: c.format,
        sys_attrs: c.sys_attrs,
        projection: Projection {
            pick,
            omit,
            dataset_ids: c.dataset_ids.clone(),
        },
        lang: c.lang.clone(),
    }
}

fn previous_member(kind: AttrKind) -> &'static str {
    match kind {
        AttrKind::Property | AttrKind::GeoProperty => "previousValue",
        AttrKind::Relationship => "previousObject",
        AttrKind::LanguageProperty => "previousLanguageMap",
        AttrKind::VocabProperty => "previousVocab",
        AttrKind::JsonProperty => "previousJson",
        AttrKind::ListProperty => "previousValueList",
        AttrKind::ListRelationship => "previousObjectList",
    }
}

fn null_value(kind: AttrKind, entity_gone: bool) -> Value {
    match kind {
        AttrKind::LanguageProperty if !entity_gone => json!({ "@none": NGSI_LD_NULL }),
        _ => Value::String(NGSI_LD_NULL.into()),
    }
}

/// The previous value as shown: vocab IRIs compacted.
fn previous(old: &Attribute, c: &Compiled) -> Value {
    match old.kind {
        AttrKind::VocabProperty => match &old.value {
            Value::String(s) => Value::String(c.render_ctx.compact_iri(s)),
            Value::Array(a) => Value::Array(
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .map_or(v.clone(), |s| Value::String(c.render_ctx.compact_iri(s)))
                    })
                    .collect(),
            ),
            other => other.clone(),
        },
        _ => old.value.clone(),
    }
}

/// The form of a deleted attribute instance.
fn deleted_form(old: &Attribute, c: &Compiled, now: &Timestamp, entity_gone: bool) -> Value {
    if c.format == Format::KeyValues {
        return Value::String(NGSI_LD_NULL.into());
    }
    let mut o = Map::new();
    if c.format == Format::Normalized {
        o.insert("type".into(), old.kind.type_name().into());
    }
    o.insert(
        old.kind.value_member().into(),
        null_value(old.kind, entity_gone),
    );
    if let Some(d) = old.dataset_id() {
        o.insert("datasetId".into(), d.into());
    }
    if c.show_changes {
        o.insert(previous_member(old.kind).into(), previous(old, c));
    }
    if c.sys_attrs {
        o.insert(
            "createdAt".into(),
            render::timestamp(&old.created_at).into(),
        );
        o.insert(
            "modifiedAt".into(),
            render::timestamp(&old.modified_at).into(),
        );
        o.insert("deletedAt".into(), render::timestamp(now).into());
    }
    Value::Object(o)
}

fn push_instance(out: &mut Map<String, Value>, key: String, v: Value) {
    match out.remove(&key) {
        None => {
            out.insert(key, v);
        }
        Some(Value::Array(mut items)) => {
            items.push(v);
            out.insert(key, Value::Array(items));
        }
        Some(existing) => {
            out.insert(key, Value::Array(vec![existing, v]));
        }
    }
}

fn wanted(c: &Compiled, name: &str) -> bool {
    c.attributes.as_ref().is_none_or(|a| a.contains(name))
}

/// The rendered entity of a notification for one change.
pub fn entity_data(
    c: &Compiled,
    before: Option<&Entity>,
    after: Option<&Entity>,
    changes: &AttrChanges,
    reason: Trigger,
    now: &Timestamp,
) -> Value {
    let ctx = &c.render_ctx;
    let opts = render_options(c);
    let (mut out, old) = match (after, before) {
        (Some(a), b) => (render::entity(a, ctx, &opts), b),
        (None, Some(b)) => {
            let mut m = Map::new();
            m.insert("id".into(), b.id.clone().into());
            m.insert("type".into(), render::types(&b.types, ctx));
            if c.sys_attrs {
                m.insert("createdAt".into(), render::timestamp(&b.created_at).into());
                m.insert(
                    "modifiedAt".into(),
                    render::timestamp(&b.modified_at).into(),
                );
            }
            m.insert("deletedAt".into(), render::timestamp(now).into());
            (m, Some(b))
        }
        (None, None) => return Value::Null,
    };
    let Some(old) = old else {
        return Value::Object(out);
    };
    if c.show_changes && c.format != Format::KeyValues && after.is_some() {
        for name in &changes.updated {
            let key = ctx.compact_iri(name);
            let (Some(slot), Some(prev)) = (out.get_mut(&key), old.attrs.get(name)) else {
                continue;
            };
            let slots: Vec<&mut Value> = match slot {
                Value::Array(items) => items.iter_mut().collect(),
                other => vec![other],
            };
            for s in slots {
                let Some(o) = s.as_object_mut() else { continue };
                let ds = o.get("datasetId").and_then(Value::as_str);
                if let Some(p) = prev.iter().find(|a| a.dataset_id() == ds) {
                    o.insert(previous_member(p.kind).into(), previous(p, c));
                }
            }
        }
    }
    let gone = after.is_none();
    let deleted: Vec<(Name, Option<String>)> = if gone {
        old.attrs
            .iter()
            .flat_map(|(n, v)| {
                v.iter()
                    .map(|a| (n.clone(), a.dataset_id().map(str::to_owned)))
            })
            .collect()
    } else {
        changes.deleted.clone()
    };
    // A deleted entity shows its attributes only for attributeDeleted (the watched ones) or
    // when previous values are asked for; otherwise id, type and deletedAt say it all.
    let show_deleted = match (gone, reason) {
        (true, Trigger::AttributeDeleted) => true,
        (true, _) => c.show_changes,
        (false, r) => r == Trigger::AttributeDeleted || r == Trigger::EntityUpdated,
    };
    if show_deleted {
        let mut done: HashSet<Name> = HashSet::new();
        for (name, ds) in deleted {
            let watched = c.watched.as_ref().is_none_or(|w| w.contains(&*name));
            if !wanted(c, &name) || (gone && !watched) || done.contains(&name) {
                continue;
            }
            let Some(instances) = old.attrs.get(&name) else {
                continue;
            };
            let key = ctx.compact_iri(&name);
            let all_gone =
                after.is_some_and(|a| !a.attrs.contains_key(&name)) && instances.len() > 1;
            if all_gone {
                // deleteAll: one null for the attribute, whatever its instances were.
                let mut first = instances[0].clone();
                first = first.with_dataset_id(None);
                out.insert(key, deleted_form(&first, c, now, gone));
                done.insert(name);
            } else if let Some(inst) = instances.iter().find(|a| a.dataset_id() == ds.as_deref()) {
                if c.format == Format::KeyValues
                    && out.get(&key).is_some_and(|v| v.get("dataset").is_some())
                {
                    if let Some(d) = out
                        .get_mut(&key)
                        .and_then(|v| v.get_mut("dataset"))
                        .and_then(Value::as_object_mut)
                    {
                        d.insert(
                            ds.clone().unwrap_or_else(|| "@none".into()),
                            deleted_form(inst, c, now, gone),
                        );
                    }
                } else if c.format == Format::KeyValues && out.contains_key(&key) {
                    let mut d = Map::new();
                    for remaining in after.and_then(|a| a.attrs.get(&name)).into_iter().flatten() {
                        let rk = remaining.dataset_id().unwrap_or("@none").to_owned();
                        d.insert(rk, out.get(&key).cloned().unwrap_or(Value::Null));
                    }
                    d.insert(
                        ds.clone().unwrap_or_else(|| "@none".into()),
                        deleted_form(inst, c, now, gone),
                    );
                    out.insert(key, json!({ "dataset": d }));
                } else {
                    push_instance(&mut out, key, deleted_form(inst, c, now, gone));
                }
            }
        }
    }
    Value::Object(out)
}

/// The Notification document.
pub fn notification(
    sub_id: &str,
    data: Value,
    reason: Option<Trigger>,
    now: &Timestamp,
    ld: bool,
    context_url: &str,
) -> Value {
    let mut n = Map::new();
    if ld {
        n.insert("@context".into(), context_url.into());
    }
    n.insert(
        "id".into(),
        format!("urn:ngsi-ld:Notification:{}", uuid::Uuid::new_v4()).into(),
    );
    n.insert("type".into(), "Notification".into());
    n.insert("subscriptionId".into(), sub_id.into());
    n.insert("notifiedAt".into(), render::timestamp(now).into());
    n.insert("data".into(), data);
    if let Some(r) = reason {
        n.insert("triggerReason".into(), r.name().into());
    }
    Value::Object(n)
}
