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

/// The member holding `[value, time]` pairs in the temporalValues form of a kind.
pub fn values_member(kind: AttrKind) -> &'static str {
    match kind {
        AttrKind::Relationship => "objects",
        AttrKind::LanguageProperty => "languageMaps",
        AttrKind::VocabProperty => "vocabs",
        AttrKind::JsonProperty => "jsons",
        AttrKind::ListProperty => "valueLists",
        AttrKind::ListRelationship => "objectLists",
        AttrKind::Property | AttrKind::GeoProperty => "values",
    }
}

fn time_of(i: &Instance, p: TimeProperty) -> Option<String> {
    match p {
        TimeProperty::ObservedAt => i.attribute.observed_at().map(str::to_owned),
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
    let wanted = |i: &Instance| {
        opts.projection
            .dataset_ids
            .as_ref()
            .is_none_or(|d| d.iter().any(|w| w.as_deref() == i.attribute.dataset_id()))
    };
    for i in instances.iter().filter(|i| wanted(i)) {
        by_attr.entry(i.attr.as_str()).or_default().push(i);
    }
    for (attr, list) in by_attr {
        let key = ctx.compact_iri(attr);
        let v = match format {
            TemporalFormat::TemporalValues => {
                // One series per datasetId; the value wrapped in its member for the kinds
                // whose value is itself an object or a vocabulary.
                let mut series: BTreeMap<Option<&str>, Vec<&Instance>> = BTreeMap::new();
                for i in &list {
                    series.entry(i.dataset_id()).or_default().push(i);
                }
                let mut rendered: Vec<Value> = series
                    .into_iter()
                    .map(|(ds, items)| {
                        let kind = items[0].attribute.kind;
                        let member = values_member(kind);
                        let pairs: Vec<Value> = items
                            .iter()
                            .map(|i| {
                                let v = match kind {
                                    AttrKind::LanguageProperty => {
                                        json!({ "languageMap": i.attribute.value })
                                    }
                                    AttrKind::JsonProperty => json!({ "json": i.attribute.value }),
                                    AttrKind::VocabProperty => {
                                        let shown = render::key_value(&i.attribute, ctx, opts);
                                        json!({ "vocab": shown })
                                    }
                                    _ => i.attribute.value.clone(),
                                };
                                json!([v, time_of(i, time_property)])
                            })
                            .collect();
                        let mut o = Map::new();
                        o.insert("type".into(), kind.type_name().into());
                        if let Some(d) = ds {
                            o.insert("datasetId".into(), d.into());
                        }
                        o.insert(member.into(), Value::Array(pairs));
                        Value::Object(o)
                    })
                    .collect();
                if rendered.len() == 1 {
                    rendered.remove(0)
                } else {
                    Value::Array(rendered)
                }
            }
            _ => Value::Array(
                list.iter()
                    .map(|i| {
                        let mut a = render::attribute(&i.attribute, ctx, opts);
                        if let Some(o) = a.as_object_mut() {
                            o.insert("instanceId".into(), i.instance_id.clone().into());
                            // A deletion record shows when it happened with sysAttrs, and
                            // always when deletions are what the query is about.
                            let show = opts.sys_attrs || time_property == TimeProperty::DeletedAt;
                            if let (true, Some(d)) = (show, &i.deleted_at) {
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
/// Whole seconds (every bound of a whole-second period) are written digit by digit: an
/// hourly month of a hundred sensors has 144,000 of them.
fn period_time(t: &crate::model::Timestamp) -> String {
    use chrono::{Datelike, Timelike};
    if t.nanosecond() != 0 || !(0..=9999).contains(&t.year()) {
        return t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    }
    fn digits(out: &mut String, n: u32, width: u32) {
        for k in (0..width).rev() {
            let d = (n / 10u32.pow(k)) % 10;
            out.push(char::from(b'0' + d as u8));
        }
    }
    let mut out = String::with_capacity(20);
    digits(&mut out, t.year().unsigned_abs(), 4);
    out.push('-');
    digits(&mut out, t.month(), 2);
    out.push('-');
    digits(&mut out, t.day(), 2);
    out.push('T');
    digits(&mut out, t.hour(), 2);
    out.push(':');
    digits(&mut out, t.minute(), 2);
    out.push(':');
    digits(&mut out, t.second(), 2);
    out.push('Z');
    out
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
        // Each bound once: consecutive periods share one.
        let mut bounds: Vec<(String, String)> = Vec::with_capacity(buckets.len());
        let mut prev: Option<(&crate::model::Timestamp, String)> = None;
        for b in buckets {
            let start = match prev.take() {
                Some((t, s)) if *t == b.start => s,
                _ => period_time(&b.start),
            };
            let end = period_time(&b.end);
            prev = Some((&b.end, end.clone()));
            bounds.push((start, end));
        }
        for m in methods {
            let triples: Vec<Value> = buckets
                .iter()
                .zip(&bounds)
                .map(|(b, (start, end))| {
                    Value::Array(vec![
                        b.values.get(m).cloned().unwrap_or(Value::Null),
                        Value::String(start.clone()),
                        Value::String(end.clone()),
                    ])
                })
                .collect();
            o.insert(m.name().into(), Value::Array(triples));
        }
        by_attr
            .entry(attr.as_str())
            .or_default()
            .push(Value::Object(o));
    }
    for (attr, mut list) in by_attr {
        let v = if list.len() == 1 {
            list.remove(0)
        } else {
            Value::Array(list)
        };
        out.insert(ctx.compact_iri(attr), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, SecondsFormat, Utc};

    #[test]
    fn period_bounds_read_as_chrono_writes_them() {
        // Whole seconds across centuries, leap days and year ends, and fractions.
        let mut t = DateTime::<Utc>::from_timestamp(-2_208_988_800, 0).unwrap_or_default();
        for k in 0..5000i64 {
            t += chrono::Duration::seconds(86_399 * 7 + k * 3_601);
            let frac = t + chrono::Duration::milliseconds(k % 3);
            for x in [t, frac] {
                assert_eq!(
                    super::period_time(&x),
                    x.to_rfc3339_opts(SecondsFormat::AutoSi, true)
                );
            }
        }
    }
}
