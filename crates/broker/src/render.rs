//! Writing entities in the wire forms NGSI-LD defines (normalized, concise, keyValues),
//! compacting every IRI with the request's active context.

use std::collections::HashSet;

use chrono::SecondsFormat;
use jsonld::Context;
use serde_json::{Map, Value};

use crate::model::{AttrKind, Attribute, Entity, Timestamp};

/// The representation asked for with `options` / `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Every attribute as an object with `type`.
    #[default]
    Normalized,
    /// Attributes without redundant `type` members.
    Concise,
    /// `keyValues` / `simplified`: name → value.
    KeyValues,
}

/// Which members of an entity to show. Names are expanded; `id` and `type` are literal.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// Only these (attributes, and `id`/`type` if named). `None` = everything.
    pub pick: Option<HashSet<String>>,
    /// Never these.
    pub omit: HashSet<String>,
    /// Only instances with these datasetIds (`None` in the set = the default instance).
    pub dataset_ids: Option<HashSet<Option<String>>>,
}

impl Projection {
    fn shows(&self, name: &str) -> bool {
        self.pick.as_ref().is_none_or(|p| p.contains(name)) && !self.omit.contains(name)
    }

    fn shows_member(&self, member: &str) -> bool {
        // `id` and `type` are shown unless picked away or omitted.
        self.pick.as_ref().is_none_or(|p| p.contains(member)) && !self.omit.contains(member)
    }
}

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// The representation.
    pub format: Format,
    /// Include createdAt/modifiedAt.
    pub sys_attrs: bool,
    /// Attribute selection.
    pub projection: Projection,
    /// Preferred language for LanguageProperties (`lang` parameter).
    pub lang: Option<String>,
}

/// Formats a system timestamp the way NGSI-LD shows them.
pub fn timestamp(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Renders an entity (without `@context`; the HTTP layer adds it where the media type asks).
pub fn entity(e: &Entity, ctx: &Context, opts: &RenderOptions) -> Map<String, Value> {
    let mut out = Map::new();
    if opts.projection.shows_member("id") {
        out.insert("id".into(), Value::String(e.id.clone()));
    }
    if opts.projection.shows_member("type") {
        out.insert("type".into(), types(&e.types, ctx));
    }
    if !e.scopes.is_empty() && opts.projection.shows("scope") {
        let s = if e.scopes.len() == 1 {
            Value::String(e.scopes[0].clone())
        } else {
            Value::Array(e.scopes.iter().cloned().map(Value::String).collect())
        };
        out.insert("scope".into(), s);
    }
    if opts.sys_attrs {
        out.insert("createdAt".into(), timestamp(&e.created_at).into());
        out.insert("modifiedAt".into(), timestamp(&e.modified_at).into());
    }
    for (name, all_instances) in &e.attrs {
        let filtered: Vec<Attribute>;
        let instances: &[Attribute] = match &opts.projection.dataset_ids {
            Some(wanted) => {
                filtered = all_instances
                    .iter()
                    .filter(|a| wanted.contains(&a.dataset_id))
                    .cloned()
                    .collect();
                &filtered
            }
            None => all_instances,
        };
        if !opts.projection.shows(name) || instances.is_empty() {
            continue;
        }
        let rendered: Vec<Value> = match opts.format {
            // Several instances in keyValues: {"dataset": {datasetId or "@none": value}}.
            Format::KeyValues if instances.len() > 1 => {
                let mut by_ds = Map::new();
                for a in instances {
                    let key = a.dataset_id.clone().unwrap_or_else(|| "@none".into());
                    by_ds.insert(key, key_value(a, ctx, opts));
                }
                vec![serde_json::json!({ "dataset": by_ds })]
            }
            Format::KeyValues => vec![key_value(&instances[0], ctx, opts)],
            _ => instances.iter().map(|a| attribute(a, ctx, opts)).collect(),
        };
        let v = if rendered.len() == 1 {
            rendered.into_iter().next().unwrap_or(Value::Null)
        } else {
            Value::Array(rendered)
        };
        out.insert(ctx.compact_iri(name), v);
    }
    out
}

/// Compacts a list of type IRIs: a string for one, an array for several.
pub fn types(types: &[String], ctx: &Context) -> Value {
    if types.len() == 1 {
        Value::String(ctx.compact_iri(&types[0]))
    } else {
        Value::Array(
            types
                .iter()
                .map(|t| Value::String(ctx.compact_iri(t)))
                .collect(),
        )
    }
}

fn compact_names(v: &Value, ctx: &Context) -> Value {
    match v {
        Value::String(s) => Value::String(ctx.compact_iri(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| compact_names(x, ctx)).collect()),
        other => other.clone(),
    }
}

/// The value of a LanguageProperty in the preferred language: the exact tag, else its
/// primary subtag, else `en`-less fallback to the first entry.
fn pick_language<'a>(map: &'a Value, lang: &str) -> Option<(&'a str, &'a Value)> {
    let m = map.as_object()?;
    if lang == "*" {
        return m.iter().next().map(|(k, v)| (k.as_str(), v));
    }
    for want in lang
        .split(',')
        .map(|l| l.split(';').next().unwrap_or("").trim())
    {
        if let Some((k, v)) = m.get_key_value(want) {
            return Some((k.as_str(), v));
        }
        if let Some((k, v)) = m
            .iter()
            .find(|(k, _)| k.split('-').next() == want.split('-').next())
        {
            return Some((k.as_str(), v));
        }
    }
    m.get_key_value("@none")
        .or_else(|| m.iter().next())
        .map(|(k, v)| (k.as_str(), v))
}

/// The value member content as shown (vocab compacted, objectList as objects).
fn shown_value(a: &Attribute, ctx: &Context) -> Value {
    match a.kind {
        AttrKind::VocabProperty => compact_names(&a.value, ctx),
        AttrKind::ListRelationship => Value::Array(
            a.value
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|o| serde_json::json!({ "object": o }))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => a.value.clone(),
    }
}

/// Renders one attribute instance in normalized or concise form.
pub fn attribute(a: &Attribute, ctx: &Context, opts: &RenderOptions) -> Value {
    let concise = opts.format == Format::Concise;
    let mut o = Map::new();
    let lang_value = match (a.kind, &opts.lang) {
        (AttrKind::LanguageProperty, Some(lang)) => pick_language(&a.value, lang),
        _ => None,
    };
    let has_meta = a.dataset_id.is_some()
        || a.observed_at.is_some()
        || a.unit_code.is_some()
        || a.object_type.is_some()
        || !a.sub.is_empty()
        || opts.sys_attrs;
    if concise && !has_meta && lang_value.is_none() {
        match a.kind {
            AttrKind::Property if !a.value.is_object() => return a.value.clone(),
            AttrKind::GeoProperty => return a.value.clone(),
            _ => {}
        }
    }
    if let Some((tag, v)) = lang_value {
        if !concise {
            o.insert("type".into(), "Property".into());
        }
        o.insert("value".into(), v.clone());
        o.insert("lang".into(), tag.into());
    } else {
        // Concise drops the type unless reading it back would guess another kind
        // (a Property whose value is a GeoJSON geometry).
        let ambiguous = a.kind == AttrKind::Property && a.value.get("coordinates").is_some();
        if !concise || ambiguous {
            o.insert("type".into(), a.kind.type_name().into());
        }
        o.insert(a.kind.value_member().into(), shown_value(a, ctx));
    }
    if let Some(t) = &a.object_type {
        o.insert("objectType".into(), compact_names(t, ctx));
    }
    if let Some(d) = &a.dataset_id {
        o.insert("datasetId".into(), d.clone().into());
    }
    if let Some(t) = &a.observed_at {
        o.insert("observedAt".into(), t.clone().into());
    }
    if let Some(u) = &a.unit_code {
        o.insert("unitCode".into(), u.clone().into());
    }
    if opts.sys_attrs {
        o.insert("createdAt".into(), timestamp(&a.created_at).into());
        o.insert("modifiedAt".into(), timestamp(&a.modified_at).into());
    }
    for (name, sub) in &a.sub {
        o.insert(ctx.compact_iri(name), attribute(sub, ctx, opts));
    }
    Value::Object(o)
}

/// Renders one attribute instance in keyValues form.
pub fn key_value(a: &Attribute, ctx: &Context, opts: &RenderOptions) -> Value {
    match a.kind {
        AttrKind::LanguageProperty => match &opts.lang {
            Some(lang) => pick_language(&a.value, lang)
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null),
            None => serde_json::json!({ "languageMap": a.value }),
        },
        AttrKind::VocabProperty => compact_names(&a.value, ctx),
        _ => a.value.clone(),
    }
}

/// A GeoJSON Feature of a rendered entity: `geometry` from the chosen GeoProperty (compact
/// name), every other member under `properties`.
pub fn feature(rendered: Map<String, Value>, geometry_property: &str, key_values: bool) -> Value {
    let id = rendered.get("id").cloned().unwrap_or(Value::Null);
    let geometry = rendered
        .get(geometry_property)
        .map(|g| {
            if key_values {
                g.clone()
            } else {
                g.get("value").cloned().unwrap_or_else(|| g.clone())
            }
        })
        .filter(|g| g.get("coordinates").is_some())
        .unwrap_or(Value::Null);
    let mut properties = rendered;
    properties.remove("id");
    serde_json::json!({ "id": id, "type": "Feature", "geometry": geometry, "properties": properties })
}
