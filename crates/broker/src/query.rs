//! The one query evaluator: decides whether an entity matches a query. Every read path
//! (GET /entities, POST /entityOperations/query, purge, and later subscriptions) uses it.

use ngsild_query::{GeoQuery, QExpr, QTerm, ScopeExpr, TypeExpr};
use regex::Regex;
use serde_json::Value;

use crate::model::{AttrKind, Attribute, Entity, iri};
use crate::store::Prefilter;

/// One entry of the `entities` member of a query: id, idPattern and type, all optional.
#[derive(Debug, Clone, Default)]
pub struct EntitySelector {
    /// Exact id.
    pub id: Option<String>,
    /// Regular expression over the id.
    pub id_pattern: Option<Regex>,
    /// Type expression with expanded names.
    pub types: Option<TypeExpr>,
}

impl EntitySelector {
    fn matches(&self, e: &Entity) -> bool {
        self.id.as_ref().is_none_or(|id| *id == e.id)
            && self.id_pattern.as_ref().is_none_or(|p| p.is_match(&e.id))
            && self.types.as_ref().is_none_or(|t| {
                let types: Vec<&str> = e.types.iter().map(String::as_str).collect();
                t.matches(&types)
            })
    }
}

/// A parsed query with every name expanded.
#[derive(Debug, Clone, Default)]
pub struct EntityQuery {
    /// Alternatives (OR); empty = any entity.
    pub selectors: Vec<EntitySelector>,
    /// Entities must have at least one of these attributes (expanded).
    pub attrs: Option<Vec<String>>,
    /// The `q` filter.
    pub q: Option<QExpr>,
    /// The geo-query (geoproperty expanded).
    pub geo: Option<GeoQuery>,
    /// The scope filter.
    pub scope: Option<ScopeExpr>,
    /// Sort keys (`orderBy`); empty = by id.
    pub order_by: Vec<OrderKey>,
}

/// One `orderBy` key: a path (`id`, `type`, `createdAt`, `modifiedAt`, or an expanded
/// attribute name followed by sub-attribute or member names) and a direction.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    /// The path; the first element is the attribute (expanded) or a core member.
    pub path: Vec<String>,
    /// Descending instead of ascending.
    pub descending: bool,
}

/// The value an entity sorts by for `key`.
fn sort_value(e: &Entity, key: &OrderKey) -> Option<Value> {
    let first = key.path.first()?;
    match first.as_str() {
        "id" => return Some(Value::String(e.id.clone())),
        "type" => return e.types.first().map(|t| Value::String(t.clone())),
        "createdAt" => return Some(crate::render::timestamp(&e.created_at).into()),
        "modifiedAt" => return Some(crate::render::timestamp(&e.modified_at).into()),
        _ => {}
    }
    attr_sort_value(e.attr(first)?, &key.path[1..])
}

/// The value of an attribute along the rest of an `orderBy` path: sub-attributes, and at the
/// end possibly a member such as `createdAt` or `observedAt`.
pub fn attr_sort_value(mut attr: &Attribute, rest: &[String]) -> Option<Value> {
    for (i, step) in rest.iter().enumerate() {
        match attr.sub().get(step) {
            Some(sub) => attr = sub,
            None if i + 1 == rest.len() => return member_value(attr, step),
            None => return None,
        }
    }
    Some(attr.value.clone())
}

/// Compares two sort values: numbers numerically, strings lexically, missing values last.
pub fn compare_values(a: &Option<Value>, b: &Option<Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => match (x, y) {
            (Value::Number(m), Value::Number(n)) => m
                .as_f64()
                .partial_cmp(&n.as_f64())
                .unwrap_or(Ordering::Equal),
            (Value::Number(_), _) => Ordering::Less,
            (_, Value::Number(_)) => Ordering::Greater,
            (Value::String(m), Value::String(n)) => m.cmp(n),
            _ => x.to_string().cmp(&y.to_string()),
        },
    }
}

/// Orders two items by `keys`, reading each key's value with `value_of`.
pub fn order_by<T>(
    a: &T,
    b: &T,
    keys: &[OrderKey],
    value_of: impl Fn(&T, &OrderKey) -> Option<Value>,
) -> std::cmp::Ordering {
    for k in keys {
        let ord = compare_values(&value_of(a, k), &value_of(b, k));
        let ord = if k.descending { ord.reverse() } else { ord };
        if ord != std::cmp::Ordering::Equal {
            return ord;
        }
    }
    std::cmp::Ordering::Equal
}

/// Sorts entities by `keys` (stable: ties keep id order; missing values sort last).
pub fn sort(entities: &mut [std::sync::Arc<Entity>], keys: &[OrderKey]) {
    entities.sort_by(|a, b| order_by(a, b, keys, |e, k| sort_value(e, k)));
}

impl EntityQuery {
    /// What the store can narrow by itself: ids and types when every selector names them.
    pub fn prefilter(&self) -> Prefilter {
        let mut pre = Prefilter::default();
        if let Some(g) = &self.geo {
            pre.bbox = g.bounding_box().map(|r| (g.geoproperty.clone(), r));
        }
        if self.selectors.is_empty() {
            return pre;
        }
        if self.selectors.iter().all(|s| s.id.is_some()) {
            pre.ids = Some(self.selectors.iter().filter_map(|s| s.id.clone()).collect());
        }
        if self.selectors.iter().all(|s| s.types.is_some()) {
            let mut names = Vec::new();
            for s in &self.selectors {
                if let Some(t) = &s.types {
                    names.extend(t.names().into_iter().map(str::to_owned));
                }
            }
            pre.any_type = Some(names);
        }
        pre
    }

    /// Whether `e` matches.
    pub fn matches(&self, e: &Entity) -> bool {
        (self.selectors.is_empty() || self.selectors.iter().any(|s| s.matches(e)))
            && self
                .attrs
                .as_ref()
                .is_none_or(|names| names.iter().any(|n| e.attrs.contains_key(n)))
            && self.q.as_ref().is_none_or(|q| eval_q(q, e))
            && self.scope.as_ref().is_none_or(|s| {
                let scopes: Vec<&str> = e.scopes.iter().map(String::as_str).collect();
                s.matches(&scopes)
            })
            && self.geo.as_ref().is_none_or(|g| eval_geo(g, e))
    }
}

fn eval_geo(g: &GeoQuery, e: &Entity) -> bool {
    let Some(instances) = e.attrs.get(&g.geoproperty) else {
        return false;
    };
    instances.iter().any(|a| {
        a.kind == AttrKind::GeoProperty
            && ngsild_query::geometry_from_geojson(&a.value).is_ok_and(|geom| g.matches(&geom))
    })
}

/// Evaluates a `q` expression.
pub fn eval_q(q: &QExpr, e: &Entity) -> bool {
    match q {
        QExpr::And(parts) => parts.iter().all(|p| eval_q(p, e)),
        QExpr::Or(parts) => parts.iter().any(|p| eval_q(p, e)),
        QExpr::Term(t) => eval_term(t, e),
    }
}

/// Members of an attribute that a `q` path can name after a dot, by their expanded IRI.
fn member_value(a: &Attribute, name: &str) -> Option<Value> {
    let local = name.strip_prefix(iri::NGSI_LD).unwrap_or(name);
    match local {
        "observedAt" => a.observed_at().map(Value::from),
        "unitCode" => a.unit_code().map(Value::from),
        "datasetId" => a.dataset_id().map(Value::from),
        "createdAt" => Some(crate::render::timestamp(&a.created_at).into()),
        "modifiedAt" => Some(crate::render::timestamp(&a.modified_at).into()),
        _ => None,
    }
}

/// The values a term compares against for one attribute instance.
fn candidate_values(a: &Attribute) -> Vec<Value> {
    match a.kind {
        AttrKind::LanguageProperty => a
            .value
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default(),
        _ => vec![a.value.clone()],
    }
}

fn eval_term(t: &QTerm, e: &Entity) -> bool {
    let Some(instances) = e.attrs.get(&t.path.attr) else {
        return false;
    };
    instances.iter().any(|inst| {
        // Walk the sub-attribute path; the last step may name a member such as observedAt.
        let mut current = inst;
        let mut values: Option<Vec<Value>> = None;
        for (i, step) in t.path.sub_attrs.iter().enumerate() {
            match current.sub().get(step) {
                Some(sub) => current = sub,
                None if i + 1 == t.path.sub_attrs.len() => match member_value(current, step) {
                    Some(v) => values = Some(vec![v]),
                    None => return false,
                },
                None => return false,
            }
        }
        let mut values = values.unwrap_or_else(|| candidate_values(current));
        for member in &t.path.compound {
            values = values
                .into_iter()
                .filter_map(|v| v.get(member.as_str()).cloned())
                .collect();
        }
        match &t.op {
            None => !values.is_empty(),
            Some(_) => values.iter().any(|v| t.test(v)),
        }
    })
}
