//! Writing entities in the wire forms NGSI-LD defines (normalized, concise, keyValues),
//! compacting every IRI with the request's active context.

use std::borrow::Cow;
use std::collections::HashSet;

use chrono::SecondsFormat;
use jsonld::Context;
use serde::ser::{Serialize, SerializeMap, Serializer};
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
    match serde_json::to_value(EntityView::new(e, ctx, opts)) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// An entity as [`entity`] renders it, serialised straight into the output (no `Map` built in
/// between): the one implementation of the entity representations. `with_context` puts an
/// `@context` member first (JSON-LD responses).
pub struct EntityView<'a> {
    e: &'a Entity,
    ctx: &'a Context,
    opts: &'a RenderOptions,
    context: Option<&'a Value>,
}

impl<'a> EntityView<'a> {
    /// The view of `e` rendered with `ctx` and `opts`.
    pub fn new(e: &'a Entity, ctx: &'a Context, opts: &'a RenderOptions) -> Self {
        Self {
            e,
            ctx,
            opts,
            context: None,
        }
    }

    /// With `@context: context` as the first member.
    #[must_use]
    pub fn with_context(mut self, context: &'a Value) -> Self {
        self.context = Some(context);
        self
    }
}

impl Serialize for EntityView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (e, ctx, opts) = (self.e, self.ctx, self.opts);
        let mut out = s.serialize_map(None)?;
        if let Some(c) = self.context {
            out.serialize_entry("@context", c)?;
        }
        if opts.projection.shows_member("id") {
            out.serialize_entry("id", &e.id)?;
        }
        if opts.projection.shows_member("type") {
            out.serialize_entry("type", &types(&e.types, ctx))?;
        }
        if !e.scopes.is_empty() && opts.projection.shows("scope") {
            if e.scopes.len() == 1 {
                out.serialize_entry("scope", &e.scopes[0])?;
            } else {
                out.serialize_entry("scope", &e.scopes)?;
            }
        }
        if opts.sys_attrs {
            out.serialize_entry("createdAt", &timestamp(&e.created_at))?;
            out.serialize_entry("modifiedAt", &timestamp(&e.modified_at))?;
        }
        for (name, all_instances) in &e.attrs {
            // Only a datasetId selection copies; the usual render borrows the instances.
            let filtered: Vec<Attribute>;
            let instances: &[Attribute] = match &opts.projection.dataset_ids {
                Some(wanted) => {
                    filtered = all_instances
                        .iter()
                        .filter(|a| wanted.iter().any(|w| w.as_deref() == a.dataset_id()))
                        .cloned()
                        .collect();
                    &filtered
                }
                None => all_instances,
            };
            if !opts.projection.shows(name) || instances.is_empty() {
                continue;
            }
            let key = ctx.compact_iri(name);
            match opts.format {
                // Several instances in keyValues: {"dataset": {datasetId or "@none": value}}.
                Format::KeyValues if instances.len() > 1 => {
                    let mut by_ds = Map::new();
                    for a in instances {
                        let k = a.dataset_id().unwrap_or("@none").to_owned();
                        by_ds.insert(k, key_value(a, ctx, opts));
                    }
                    out.serialize_entry(&key, &serde_json::json!({ "dataset": by_ds }))?;
                }
                Format::KeyValues => {
                    out.serialize_entry(&key, &key_value(&instances[0], ctx, opts))?;
                }
                _ if instances.len() == 1 => {
                    out.serialize_entry(&key, &AttrView::new(&instances[0], ctx, opts))?;
                }
                _ => {
                    let all: Vec<AttrView<'_>> = instances
                        .iter()
                        .map(|a| AttrView::new(a, ctx, opts))
                        .collect();
                    out.serialize_entry(&key, &all)?;
                }
            }
        }
        out.end()
    }
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

/// The value member content as shown (vocab compacted, objectList as objects; every other
/// kind as stored, borrowed).
fn shown_value<'a>(a: &'a Attribute, ctx: &Context) -> Cow<'a, Value> {
    match a.kind {
        AttrKind::VocabProperty => Cow::Owned(compact_names(&a.value, ctx)),
        AttrKind::ListRelationship => Cow::Owned(Value::Array(
            a.value
                .as_array()
                .map(|l| {
                    l.iter()
                        .map(|o| serde_json::json!({ "object": o }))
                        .collect()
                })
                .unwrap_or_default(),
        )),
        _ => Cow::Borrowed(&a.value),
    }
}

/// Renders one attribute instance in normalized or concise form.
pub fn attribute(a: &Attribute, ctx: &Context, opts: &RenderOptions) -> Value {
    serde_json::to_value(AttrView::new(a, ctx, opts)).unwrap_or(Value::Null)
}

/// One attribute instance as [`attribute`] renders it, serialised straight into the output.
struct AttrView<'a> {
    a: &'a Attribute,
    ctx: &'a Context,
    opts: &'a RenderOptions,
}

impl<'a> AttrView<'a> {
    fn new(a: &'a Attribute, ctx: &'a Context, opts: &'a RenderOptions) -> Self {
        Self { a, ctx, opts }
    }
}

impl Serialize for AttrView<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (a, ctx, opts) = (self.a, self.ctx, self.opts);
        let concise = opts.format == Format::Concise;
        let lang_value = match (a.kind, &opts.lang) {
            (AttrKind::LanguageProperty, Some(lang)) => pick_language(&a.value, lang),
            _ => None,
        };
        let has_meta = !a.meta().is_empty() || opts.sys_attrs;
        if concise && !has_meta && lang_value.is_none() {
            match a.kind {
                AttrKind::Property if !a.value.is_object() => return a.value.serialize(s),
                AttrKind::GeoProperty => return a.value.serialize(s),
                _ => {}
            }
        }
        let mut o = s.serialize_map(None)?;
        if let Some((tag, v)) = lang_value {
            if !concise {
                o.serialize_entry("type", "Property")?;
            }
            o.serialize_entry("value", v)?;
            o.serialize_entry("lang", tag)?;
        } else {
            // Concise drops the type unless reading it back would guess another kind
            // (a Property whose value is a GeoJSON geometry).
            let ambiguous = a.kind == AttrKind::Property && a.value.get("coordinates").is_some();
            if !concise || ambiguous {
                o.serialize_entry("type", a.kind.type_name())?;
            }
            o.serialize_entry(a.kind.value_member(), &shown_value(a, ctx))?;
        }
        if let Some(t) = a.object_type() {
            o.serialize_entry("objectType", &compact_names(t, ctx))?;
        }
        if let Some(d) = a.dataset_id() {
            o.serialize_entry("datasetId", d)?;
        }
        if let Some(t) = a.observed_at() {
            o.serialize_entry("observedAt", t)?;
        }
        if let Some(u) = a.unit_code() {
            o.serialize_entry("unitCode", u)?;
        }
        if opts.sys_attrs {
            o.serialize_entry("createdAt", &timestamp(&a.created_at))?;
            o.serialize_entry("modifiedAt", &timestamp(&a.modified_at))?;
        }
        for (name, sub) in a.sub() {
            o.serialize_entry(&ctx.compact_iri(name), &AttrView::new(sub, ctx, opts))?;
        }
        o.end()
    }
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
