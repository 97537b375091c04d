//! Reading typed values out of stored entities (names expanded), leniently: a value of the
//! wrong shape reads as absent; [`crate::validate`] is where shapes are enforced.

use broker::model::{AttrKind, Entity};
use chrono::NaiveDate;
use serde_json::Value;

/// The value of a Property (default instance), if any.
pub fn value<'a>(e: &'a Entity, name: &str) -> Option<&'a Value> {
    let a = e.attr(name)?;
    match a.kind {
        AttrKind::Property | AttrKind::GeoProperty | AttrKind::JsonProperty => Some(&a.value),
        AttrKind::ListProperty => Some(&a.value),
        _ => None,
    }
}

/// A text Property.
pub fn text(e: &Entity, name: &str) -> Option<String> {
    value(e, name).and_then(Value::as_str).map(str::to_owned)
}

/// A number Property.
pub fn number(e: &Entity, name: &str) -> Option<f64> {
    value(e, name).and_then(Value::as_f64)
}

/// A list of strings: a Property holding a string or an array of strings, or a ListProperty.
pub fn strings(e: &Entity, name: &str) -> Vec<String> {
    match value(e, name) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| {
                v.as_str()
                    .or_else(|| v.get("@value").and_then(Value::as_str))
            })
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// The targets of a Relationship (one or a list) or ListRelationship, in order.
pub fn objects(e: &Entity, name: &str) -> Vec<String> {
    let Some(a) = e.attr(name) else {
        return Vec::new();
    };
    match (a.kind, &a.value) {
        (AttrKind::Relationship, Value::String(s)) => vec![s.clone()],
        (AttrKind::Relationship | AttrKind::ListRelationship, Value::Array(items)) => items
            .iter()
            .filter_map(|v| {
                v.as_str()
                    .or_else(|| v.get("object").and_then(Value::as_str))
                    .map(str::to_owned)
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The single target of a Relationship.
pub fn object(e: &Entity, name: &str) -> Option<String> {
    objects(e, name).into_iter().next()
}

/// A date: `YYYY-MM-DD`, an RFC 3339 date-time (its date part), or the JSON-LD
/// `{"@type": "DateTime", "@value": ...}` form.
pub fn date_of(v: &Value) -> Option<NaiveDate> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Object(o) => o.get("@value")?.as_str()?,
        _ => return None,
    };
    let head = s.get(..10)?;
    NaiveDate::parse_from_str(head, "%Y-%m-%d").ok()
}

/// A date Property.
pub fn date(e: &Entity, name: &str) -> Option<NaiveDate> {
    value(e, name).and_then(date_of)
}

/// The `observedAt` of an attribute as a date.
pub fn observed(e: &Entity, name: &str) -> Option<NaiveDate> {
    let a = e.attr(name)?;
    a.observed_at()
        .and_then(|s| date_of(&Value::String(s.to_owned())))
}

/// The point of a GeoProperty (a Point's coordinates, or the first position of another
/// geometry), as (lon, lat).
pub fn point(e: &Entity, name: &str) -> Option<(f64, f64)> {
    let a = e.attr(name)?;
    if a.kind != AttrKind::GeoProperty {
        return None;
    }
    first_position(a.value.get("coordinates")?)
}

fn first_position(v: &Value) -> Option<(f64, f64)> {
    let a = v.as_array()?;
    match (a.first()?.as_f64(), a.get(1).and_then(Value::as_f64)) {
        (Some(lon), Some(lat)) => Some((lon, lat)),
        _ => first_position(a.first()?),
    }
}

/// The distance in metres between two (lon, lat) points (haversine).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    use geo::{Distance, Haversine, Point};
    Haversine.distance(Point::new(a.0, a.1), Point::new(b.0, b.1))
}
