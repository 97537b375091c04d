//! The temporal representation of an entity (clause 4.5.7): each attribute as the list of
//! its instances, or `temporalValues` pairs, or aggregated values per period.

use std::collections::BTreeMap;

use jsonld::Context;
use serde_json::{Map, Value, json};

use super::store::{AggrMethod, Bucket, EntityRecord, Instance, SeriesKey, TimeProperty};
use crate::model::AttrKind;
use crate::render::{self, RenderOptions, timestamp};

/// Which temporal representation.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TemporalFormat {
    /// Every instance in full (normalized).
    #[default]
    Normalized,
    /// `options=temporalValues`: `[value, time]` pairs.
    TemporalValues,
    /// `options=aggregatedValues`: `[value, start, end]` per method.
    Aggregated,
}

fn time_of(i: &Instance, p: TimeProperty) -> Option<String> {
    match p {
        TimeProperty::ObservedAt => i.attribute.observed_at.clone(),
        TimeProperty::CreatedAt => Some(timestamp(&i.attribute.created_at)),
        TimeProperty::ModifiedAt => Some(timestamp(&i.attribute.modified_at)),
        TimeProperty::DeletedAt => i.deleted_at.as_ref().map(timestamp),
    }
}

fn head(rec: &EntityRecord, ctx: &Context, sys_attrs: bool) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), rec.id.clone().into());
    out.insert("type".into(), render::types(&rec.types, ctx));
    if sys_attrs {
        out.insert("createdAt".into(), timestamp(&rec.created_at).into());
        out.insert("modifiedAt".into(), timestamp(&rec.modified_at).into());
        if let Some(d) = &rec.deleted_at {
            out.insert("deletedAt".into(), timestamp(d).into());
        }
    }
    out
}

/// Renders instances (ordered by attribute, then time) in normalized or temporalValues form.
pub fn render(
    rec: &EntityRecord,
    instances: &[Instance],
    ctx: &Context,
    opts: &RenderOptions,
    format: &TemporalFormat,
    time_property: TimeProperty,
) -> Map<String, Value> {
    let mut out = head(rec, ctx, opts.sys_attrs);
    let mut by_attr: BTreeMap<&str, Vec<&Instance>> = BTreeMap::new();
    for i in instances {
        by_attr.entry(i.attr.as_str()).or_default().push(i);
    }
    for (attr, list) in by_attr {
        let key = ctx.compact_iri(attr);
        let v = match format {
            TemporalFormat::TemporalValues => {
                let kind = list[0].attribute.kind;
                let member = match kind {
                    AttrKind::Relationship => "objects",
                    AttrKind::LanguageProperty => "languageMaps",
                    AttrKind::VocabProperty => "vocabs",
                    AttrKind::JsonProperty => "jsons",
                    AttrKind::ListProperty => "valueLists",
                    AttrKind::ListRelationship => "objectLists",
                    AttrKind::Property | AttrKind::GeoProperty => "values",
                };
                let pairs: Vec<Value> = list
                    .iter()
                    .map(|i| json!([i.attribute.value, time_of(i, time_property)]))
                    .collect();
                json!({ "type": kind.type_name(), member: pairs })
            }
            _ => Value::Array(
                list.iter()
                    .map(|i| {
                        let mut a = render::attribute(&i.attribute, ctx, opts);
                        if let Some(o) = a.as_object_mut() {
                            o.insert("instanceId".into(), i.instance_id.clone().into());
                            if let (true, Some(d)) = (opts.sys_attrs, &i.deleted_at) {
                                o.insert("deletedAt".into(), timestamp(d).into());
                            }
                        }
                        a
                    })
                    .collect(),
            ),
        };
        out.insert(key, v);
    }
    out
}

/// Period bounds as NGSI-LD shows them: seconds, fractions only when there are any.
fn period_time(t: &crate::model::Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Renders aggregated series: per attribute, per method, `[value, start, end]` triples.
pub fn render_aggregated(
    rec: &EntityRecord,
    series: &BTreeMap<SeriesKey, Vec<Bucket>>,
    kinds: &BTreeMap<String, AttrKind>,
    methods: &[AggrMethod],
    ctx: &Context,
) -> Map<String, Value> {
    let mut out = head(rec, ctx, false);
    let mut by_attr: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for ((attr, dataset), buckets) in series {
        let mut o = Map::new();
        let kind = kinds.get(attr).copied().unwrap_or(AttrKind::Property);
        o.insert("type".into(), kind.type_name().into());
        if let Some(d) = dataset {
            o.insert("datasetId".into(), d.clone().into());
        }
        for m in methods {
            let triples: Vec<Value> = buckets
                .iter()
                .map(|b| json!([b.values.get(m).cloned().unwrap_or(Value::Null), period_time(&b.start), period_time(&b.end)]))
                .collect();
            o.insert(m.name().into(), Value::Array(triples));
        }
        by_attr.entry(attr.as_str()).or_default().push(Value::Object(o));
    }
    for (attr, mut list) in by_attr {
        let v = if list.len() == 1 { list.remove(0) } else { Value::Array(list) };
        out.insert(ctx.compact_iri(attr), v);
    }
    out
}
