//! Reading NGSI-LD entity and attribute payloads (normalized or concise form) into the
//! model, validating them and expanding every name with the request's active context.

use jsonld::Context;
use serde_json::{Map, Value};

use crate::error::{BrokerError, Result};
use crate::model::{AttrKind, Attribute, Attrs, Entity, Timestamp, iri};

/// Members of an entity object that are not attributes.
pub(crate) const ENTITY_MEMBERS: [&str; 9] = [
    "@context",
    "id",
    "@id",
    "type",
    "@type",
    "scope",
    "createdAt",
    "modifiedAt",
    "deletedAt",
];

/// Members of an attribute object that are not sub-attributes.
const ATTR_MEMBERS: [&str; 17] = [
    "type",
    "value",
    "object",
    "languageMap",
    "vocab",
    "json",
    "valueList",
    "objectList",
    "datasetId",
    "observedAt",
    "unitCode",
    "objectType",
    "createdAt",
    "modifiedAt",
    "deletedAt",
    "instanceId",
    "lang",
];

/// The members that carry an attribute's value, one per attribute kind.
pub(crate) const VALUE_MEMBERS: [&str; 7] = [
    "value",
    "object",
    "languageMap",
    "vocab",
    "json",
    "valueList",
    "objectList",
];

/// The placeholder NGSI-LD uses in merge operations to delete an attribute.
pub const NGSI_LD_NULL: &str = "urn:ngsi-ld:null";

/// Whether `s` is acceptable as an entity id, datasetId or relationship target: a URI with a
/// scheme and no characters that a URI never contains.
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    let scheme_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    scheme_ok
        && !rest.is_empty()
        && s.len() <= 2048
        && !s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`')
        })
}

/// Whether `s` is acceptable as an attribute name or entity type (compact or expanded).
pub fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 1024
        && !s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>'
                        | '"'
                        | '\''
                        | '='
                        | ';'
                        | '('
                        | ')'
                        | '&'
                        | '?'
                        | '['
                        | ']'
                        | '{'
                        | '}'
                )
        })
}

/// Whether `s` is an ISO 8601 DateTime as NGSI-LD uses them (with date, time and zone).
pub fn parse_datetime(s: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&chrono::Utc))
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// Reads a whole entity. `now` becomes createdAt/modifiedAt everywhere.
pub fn entity(body: &Value, ctx: &Context, now: Timestamp) -> Result<Entity> {
    let obj = body
        .as_object()
        .ok_or_else(|| BrokerError::invalid("an entity must be a JSON object"))?;
    let id = match obj.get("id").or_else(|| obj.get("@id")) {
        Some(Value::String(s)) if is_uri(s) => s.clone(),
        Some(Value::String(s)) => {
            return Err(BrokerError::bad_data(format!(
                "entity id '{s}' is not a URI"
            )));
        }
        Some(_) => return Err(BrokerError::bad_data("entity id must be a string")),
        None => return Err(BrokerError::bad_data("entity id is missing")),
    };
    let types = entity_types(obj.get("type").or_else(|| obj.get("@type")), ctx)
        .map_err(|e| e.at(id.clone()))?;
    let scopes = match obj.get("scope") {
        Some(v) => scopes(v).map_err(|e| e.at(id.clone()))?,
        None => Vec::new(),
    };
    let attrs = attributes(obj, ctx, now).map_err(|e| e.at(id.clone()))?;
    Ok(Entity {
        id,
        types,
        scopes,
        created_at: now,
        modified_at: now,
        attrs,
    })
}

/// Reads the `type` member: a name or an array of names.
pub fn entity_types(v: Option<&Value>, ctx: &Context) -> Result<Vec<String>> {
    let names: Vec<&str> = match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|t| {
                t.as_str()
                    .ok_or_else(|| BrokerError::bad_data("entity types must be strings"))
            })
            .collect::<Result<_>>()?,
        Some(_) => {
            return Err(BrokerError::bad_data(
                "entity type must be a string or a non-empty array",
            ));
        }
        None => return Err(BrokerError::bad_data("entity type is missing")),
    };
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        if !is_valid_name(n) {
            return Err(BrokerError::bad_data(format!(
                "'{n}' is not a valid entity type"
            )));
        }
        let e = ctx.expand_term(n);
        if e.starts_with('@') {
            return Err(BrokerError::bad_data(format!(
                "'{n}' is a JSON-LD keyword, not an entity type"
            )));
        }
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Reads a `scope` member: a scope or an array of scopes, each `/segment/segment...`.
pub fn scopes(v: &Value) -> Result<Vec<String>> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    list.into_iter()
        .map(|s| match s.as_str() {
            Some(s) if valid_scope(s) => Ok(s.to_owned()),
            _ => Err(BrokerError::bad_data(format!("invalid scope {s}"))),
        })
        .collect()
}

fn valid_scope(s: &str) -> bool {
    s.starts_with('/')
        && s.len() > 1
        && s[1..]
            .split('/')
            .all(|seg| !seg.is_empty() && is_valid_name(seg) && seg != "#" && seg != "+")
}

/// Reads every attribute member of an entity or fragment object.
pub fn attributes(obj: &Map<String, Value>, ctx: &Context, now: Timestamp) -> Result<Attrs> {
    let mut out = Attrs::new();
    for (name, v) in obj {
        if ENTITY_MEMBERS.contains(&name.as_str()) {
            continue;
        }
        let expanded = attr_name(name, ctx)?;
        let instances = attribute_instances(name, &expanded, v, ctx, now)?;
        out.insert(expanded, instances);
    }
    Ok(out)
}

/// Validates and expands an attribute name.
pub fn attr_name(name: &str, ctx: &Context) -> Result<String> {
    if !is_valid_name(name) {
        return Err(BrokerError::bad_data(format!(
            "'{name}' is not a valid attribute name"
        )));
    }
    let expanded = ctx.expand_term(name);
    if expanded.starts_with('@') {
        return Err(BrokerError::bad_data(format!(
            "'{name}' is a JSON-LD keyword, not an attribute name"
        )));
    }
    Ok(expanded)
}

/// Reads one attribute member: an object, a concise value, or an array of instances.
pub fn attribute_instances(
    name: &str,
    expanded: &str,
    v: &Value,
    ctx: &Context,
    now: Timestamp,
) -> Result<Vec<Attribute>> {
    let instances: Vec<Attribute> = match v {
        Value::Array(items) if !items.is_empty() && items.iter().all(looks_like_attribute) => items
            .iter()
            .map(|i| attribute(name, expanded, i, ctx, now))
            .collect::<Result<_>>()?,
        _ => vec![attribute(name, expanded, v, ctx, now)?],
    };
    for (i, a) in instances.iter().enumerate() {
        if instances[..i]
            .iter()
            .any(|b| b.dataset_id() == a.dataset_id())
        {
            return Err(BrokerError::bad_data(format!(
                "attribute '{name}' has two instances with the same datasetId"
            )));
        }
    }
    Ok(instances)
}

fn looks_like_attribute(v: &Value) -> bool {
    v.as_object().is_some_and(|o| {
        o.get("type")
            .and_then(Value::as_str)
            .and_then(AttrKind::from_type_name)
            .is_some()
            || [
                "value",
                "object",
                "languageMap",
                "vocab",
                "json",
                "valueList",
                "objectList",
            ]
            .iter()
            .any(|m| o.contains_key(*m))
    })
}

fn is_geojson(o: &Map<String, Value>) -> bool {
    matches!(
        o.get("type").and_then(Value::as_str),
        Some(
            "Point" | "MultiPoint" | "LineString" | "MultiLineString" | "Polygon" | "MultiPolygon"
        )
    ) && o.contains_key("coordinates")
}

fn must_be_geo(expanded: &str) -> bool {
    matches!(
        expanded,
        iri::LOCATION | iri::OBSERVATION_SPACE | iri::OPERATION_SPACE
    )
}

/// Reads one attribute instance (or sub-attribute).
pub fn attribute(
    name: &str,
    expanded: &str,
    v: &Value,
    ctx: &Context,
    now: Timestamp,
) -> Result<Attribute> {
    let bad = |what: &str| BrokerError::bad_data(format!("attribute '{name}': {what}"));
    let obj = match v {
        Value::Object(o) => o,
        Value::Null => return Err(bad("null is not a value")),
        other => {
            // Concise form: a bare value is a Property.
            if must_be_geo(expanded) {
                return Err(bad("must be a GeoProperty"));
            }
            return Ok(new_attr(AttrKind::Property, other.clone(), now));
        }
    };
    if is_geojson(obj) && !obj.contains_key("value") {
        let value = Value::Object(obj.clone());
        ngsild_query::geometry_from_geojson(&value).map_err(|e| bad(&e.to_string()))?;
        return Ok(new_attr(AttrKind::GeoProperty, value, now));
    }
    let kind = match obj.get("type") {
        Some(Value::String(t)) => match AttrKind::from_type_name(t) {
            Some(k) => k,
            // Concise form: a JSON object value that happens to have a `type` member of
            // its own (e.g. schema.org's PostalAddress) is a Property holding that object.
            None if !VALUE_MEMBERS.iter().any(|m| obj.contains_key(*m)) => {
                return Ok(new_attr(AttrKind::Property, v.clone(), now));
            }
            None => return Err(bad(&format!("unknown attribute type '{t}'"))),
        },
        Some(_) => return Err(bad("type must be a string")),
        None => {
            let member = [
                "object",
                "languageMap",
                "vocab",
                "json",
                "valueList",
                "objectList",
                "value",
            ]
            .into_iter()
            .find(|m| obj.contains_key(*m));
            match member.and_then(AttrKind::from_value_member) {
                Some(AttrKind::Property)
                    if obj
                        .get("value")
                        .and_then(Value::as_object)
                        .is_some_and(is_geojson) =>
                {
                    AttrKind::GeoProperty
                }
                Some(k) => k,
                // A concise JSON object value without any NGSI-LD member.
                None => return Ok(new_attr(AttrKind::Property, v.clone(), now)),
            }
        }
    };
    if must_be_geo(expanded) && kind != AttrKind::GeoProperty {
        return Err(bad("must be a GeoProperty"));
    }
    let raw = obj.get(kind.value_member()).cloned().unwrap_or(Value::Null);
    let value = value_of(kind, raw, ctx).map_err(|e| bad(&e))?;
    let mut attr = new_attr(kind, value, now);
    if let Some(d) = obj.get("datasetId") {
        match d.as_str() {
            Some(s) if is_uri(s) => attr.meta_mut().dataset_id = Some(s.into()),
            _ => return Err(bad("datasetId must be a URI")),
        }
    }
    if let Some(o) = obj.get("observedAt") {
        match o.as_str() {
            Some(s) if parse_datetime(s).is_some() => attr.meta_mut().observed_at = Some(s.into()),
            _ => return Err(bad("observedAt must be a DateTime")),
        }
    }
    if let Some(u) = obj.get("unitCode") {
        match u.as_str() {
            Some(s) if !s.is_empty() => attr.meta_mut().unit_code = Some(s.into()),
            _ => return Err(bad("unitCode must be a non-empty string")),
        }
    }
    if let Some(t) = obj.get("objectType") {
        attr.meta_mut().object_type = Some(Box::new(expand_names(t, ctx).map_err(|e| bad(&e))?));
    }
    for (sub, sv) in obj {
        if ATTR_MEMBERS.contains(&sub.as_str()) || sub == "@context" {
            continue;
        }
        let sub_expanded = attr_name(sub, ctx)?;
        let instance = attribute(sub, &sub_expanded, sv, ctx, now)?;
        attr.meta_mut().sub.insert(sub_expanded, instance);
    }
    Ok(attr)
}

fn new_attr(kind: AttrKind, value: Value, now: Timestamp) -> Attribute {
    Attribute::new(kind, value, now)
}

fn expand_names(v: &Value, ctx: &Context) -> std::result::Result<Value, String> {
    match v {
        Value::String(s) if is_valid_name(s) => Ok(Value::String(ctx.expand_term(s))),
        Value::Array(a) => a
            .iter()
            .map(|x| expand_names(x, ctx))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map(Value::Array),
        _ => Err("must be a name or a list of names".into()),
    }
}

/// Validates the value member of an attribute of `kind` and normalises it.
fn value_of(kind: AttrKind, raw: Value, ctx: &Context) -> std::result::Result<Value, String> {
    match kind {
        AttrKind::Property => match raw {
            Value::Null => Err("a Property needs a non-null value".into()),
            v => Ok(v),
        },
        AttrKind::GeoProperty => {
            // WKT strings are not accepted; GeoJSON geometries only.
            ngsild_query::geometry_from_geojson(&raw).map_err(|e| e.to_string())?;
            Ok(raw)
        }
        AttrKind::Relationship => match &raw {
            Value::String(s) if is_uri(s) => Ok(raw),
            Value::Array(a)
                if !a.is_empty() && a.iter().all(|x| x.as_str().is_some_and(is_uri)) =>
            {
                Ok(raw)
            }
            _ => Err("a Relationship's object must be a URI or a list of URIs".into()),
        },
        AttrKind::LanguageProperty => match &raw {
            Value::Object(m)
                if !m.is_empty()
                    && m.values().all(|x| {
                        x.is_string()
                            || x.as_array().is_some_and(|a| a.iter().all(Value::is_string))
                    }) =>
            {
                Ok(raw)
            }
            _ => Err("a LanguageProperty's languageMap must map language tags to strings".into()),
        },
        AttrKind::VocabProperty => expand_names(&raw, ctx),
        AttrKind::JsonProperty => match raw {
            Value::Object(_) | Value::Array(_) => Ok(raw),
            _ => Err("a JsonProperty's json must be an object or an array".into()),
        },
        AttrKind::ListProperty => match raw {
            Value::Array(_) => Ok(raw),
            _ => Err("a ListProperty's valueList must be an array".into()),
        },
        AttrKind::ListRelationship => match raw {
            Value::Array(items) => items
                .into_iter()
                .map(|i| {
                    let target = match &i {
                        Value::String(s) => Some(s.clone()),
                        Value::Object(o) => {
                            o.get("object").and_then(Value::as_str).map(str::to_owned)
                        }
                        _ => None,
                    };
                    match target {
                        Some(t) if is_uri(&t) => Ok(Value::String(t)),
                        _ => Err("a ListRelationship's objectList must hold URIs".to_owned()),
                    }
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map(Value::Array),
            _ => Err("a ListRelationship's objectList must be an array".into()),
        },
    }
}
