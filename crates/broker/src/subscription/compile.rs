//! Validating a subscription document (GS CIM 009 clause 5.2.12) and compiling it.

use std::collections::HashSet;
use std::sync::Arc;

use jsonld::Context;
use serde_json::{Map, Value};

use super::model::{Compiled, EndpointSpec, Trigger};
use crate::error::{BrokerError, Result};
use crate::model::Timestamp;
use crate::parse;
use crate::query::{EntityQuery, EntitySelector};
use crate::render::Format;

/// Decodes `%XX` escapes (invalid ones are kept as they are).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

/// Entity members named by `notification.pick` / `notification.omit`.
fn member_list(n: &Map<String, Value>, k: &str, ctx: &Context) -> Result<Option<HashSet<String>>> {
    match n.get(k) {
        None => Ok(None),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|m| match m.as_str() {
                Some(s @ ("id" | "type")) => Ok(s.to_owned()),
                Some(s) if parse::is_valid_name(s) => parse::attr_name(s, ctx),
                _ => Err(bad(format!(
                    "notification.{k} must list entity member names"
                ))),
            })
            .collect::<Result<HashSet<String>>>()
            .map(Some),
        Some(Value::String(s)) => ngsild_query::parse_attr_list(s)?
            .iter()
            .map(|m| {
                if m == "id" || m == "type" {
                    Ok(m.clone())
                } else {
                    parse::attr_name(m, ctx)
                }
            })
            .collect::<Result<HashSet<String>>>()
            .map(Some),
        Some(_) => Err(bad(format!("notification.{k} must be a list of names"))),
    }
}

fn bad(msg: impl Into<String>) -> BrokerError {
    BrokerError::bad_data(msg)
}

fn string<'a>(o: &'a Map<String, Value>, k: &str) -> Result<Option<&'a str>> {
    match o.get(k) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad(format!("'{k}' must be a string"))),
    }
}

fn positive(o: &Map<String, Value>, k: &str) -> Result<Option<f64>> {
    match o.get(k) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n > 0.0 && n.is_finite() => Ok(Some(n)),
            _ => Err(bad(format!("'{k}' must be a number greater than 0"))),
        },
    }
}

fn names(o: &Map<String, Value>, k: &str, ctx: &Context) -> Result<Option<HashSet<String>>> {
    match o.get(k) {
        None => Ok(None),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|n| match n.as_str() {
                Some(s) if parse::is_valid_name(s) => parse::attr_name(s, ctx),
                _ => Err(bad(format!("'{k}' must list attribute names"))),
            })
            .collect::<Result<HashSet<String>>>()
            .map(Some),
        Some(_) => Err(bad(format!(
            "'{k}' must be a non-empty array of attribute names"
        ))),
    }
}

fn key_values(v: Option<&Value>, what: &str) -> Result<Vec<(String, String)>> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let list = v
        .as_array()
        .ok_or_else(|| bad(format!("'{what}' must be an array of key/value objects")))?;
    list.iter()
        .map(|kv| {
            match (
                kv.get("key").and_then(Value::as_str),
                kv.get("value").and_then(Value::as_str),
            ) {
                (Some(k), Some(v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
                _ => Err(bad(format!("'{what}' entries need a string key and value"))),
            }
        })
        .collect()
}

fn selectors(v: &Value, ctx: &Context) -> Result<Vec<EntitySelector>> {
    let list = v
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| bad("'entities' must be a non-empty array"))?;
    list.iter()
        .map(|sel| {
            let o = sel
                .as_object()
                .ok_or_else(|| bad("each entry of 'entities' must be an object"))?;
            let mut s = EntitySelector::default();
            if let Some(id) = string(o, "id")? {
                if !parse::is_uri(id) {
                    return Err(bad(format!("'{id}' is not a valid entity id")));
                }
                s.id = Some(id.to_owned());
            }
            if let Some(p) = string(o, "idPattern")? {
                s.id_pattern =
                    Some(regex::Regex::new(p).map_err(|e| bad(format!("invalid idPattern: {e}")))?);
            }
            let ty = string(o, "type")?.ok_or_else(|| bad("each entity selector needs a type"))?;
            let mut te = ngsild_query::parse_type_expr(ty)?;
            te.map_names(&mut |n| ctx.expand_term(n));
            s.types = Some(te);
            Ok(s)
        })
        .collect()
}

fn endpoint(v: Option<&Value>) -> Result<EndpointSpec> {
    let o = v
        .and_then(Value::as_object)
        .ok_or_else(|| bad("notification.endpoint is required"))?;
    let uri = string(o, "uri")?.ok_or_else(|| bad("notification.endpoint.uri is required"))?;
    let scheme_ok = ["http://", "https://", "mqtt://", "mqtts://"]
        .iter()
        .any(|p| uri.starts_with(p));
    if !scheme_ok || !parse::is_uri(uri) {
        return Err(bad(format!("'{uri}' is not an http(s) or mqtt(s) URI")));
    }
    let accept = string(o, "accept")?.map(str::to_owned);
    if let Some(a) = &accept
        && ![
            "application/json",
            "application/ld+json",
            "application/geo+json",
        ]
        .contains(&a.as_str())
    {
        return Err(bad(format!("unsupported endpoint.accept '{a}'")));
    }
    Ok(EndpointSpec {
        uri: uri.to_owned(),
        accept,
        receiver_info: key_values(o.get("receiverInfo"), "receiverInfo")?,
        notifier_info: key_values(o.get("notifierInfo"), "notifierInfo")?,
    })
}

/// Checks a subscription document and compiles it with `ctx` (whose URL is `context_url`).
/// `creating` enforces what only matters at creation (expiresAt not in the past).
pub fn compile(
    doc: &Map<String, Value>,
    ctx: Arc<Context>,
    context_url: String,
    now: Timestamp,
    creating: bool,
) -> Result<Compiled> {
    if let Some(t) = doc.get("type")
        && t.as_str() != Some("Subscription")
    {
        return Err(bad("the type of a subscription must be 'Subscription'"));
    }
    let mut query = EntityQuery::default();
    if let Some(e) = doc.get("entities") {
        query.selectors = selectors(e, &ctx)?;
    }
    let watched = names(doc, "watchedAttributes", &ctx)?;
    let time_interval = positive(doc, "timeInterval")?;
    let throttling = positive(doc, "throttling")?;
    if time_interval.is_some() && watched.is_some() {
        return Err(bad("timeInterval and watchedAttributes exclude each other"));
    }
    if time_interval.is_some() && throttling.is_some() {
        return Err(bad("timeInterval and throttling exclude each other"));
    }
    if query.selectors.is_empty() && watched.is_none() {
        return Err(bad("a subscription needs entities or watchedAttributes"));
    }
    if let Some(q) = string(doc, "q")? {
        // Clients percent-encode q as they would in a URL; a subscription's q is decoded too.
        let mut expr = ngsild_query::parse_q(&percent_decode(q))?;
        expr.map_names(&mut |n| ctx.expand_term(n));
        query.q = Some(expr);
    }
    if let Some(s) = string(doc, "scopeQ")? {
        query.scope = Some(ngsild_query::parse_scope_q(s)?);
    }
    if let Some(g) = doc.get("geoQ") {
        let g = g.as_object().ok_or_else(|| bad("geoQ must be an object"))?;
        let rel = string(g, "georel")?.ok_or_else(|| bad("geoQ needs georel"))?;
        let geom = string(g, "geometry")?.ok_or_else(|| bad("geoQ needs geometry"))?;
        let coords = match g.get("coordinates") {
            Some(Value::String(s)) => s.clone(),
            Some(v @ Value::Array(_)) => v.to_string(),
            _ => return Err(bad("geoQ needs coordinates")),
        };
        let mut gq = ngsild_query::parse_geo_query(rel, geom, &coords, string(g, "geoproperty")?)?;
        gq.geoproperty = ctx.expand_term(&gq.geoproperty);
        query.geo = Some(gq);
    }
    let triggers: HashSet<Trigger> = match doc.get("notificationTrigger") {
        None => [Trigger::AttributeCreated, Trigger::AttributeUpdated]
            .into_iter()
            .collect(),
        Some(Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|t| {
                t.as_str()
                    .and_then(Trigger::parse)
                    .ok_or_else(|| bad(format!("unknown notificationTrigger {t}")))
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(bad("notificationTrigger must be a non-empty array")),
    };
    let expires_at = match string(doc, "expiresAt")? {
        None => None,
        Some(s) => {
            let t = parse::parse_datetime(s).ok_or_else(|| bad("expiresAt must be a DateTime"))?;
            if creating && t <= now {
                return Err(bad("expiresAt lies in the past"));
            }
            Some(t)
        }
    };
    let active = match doc.get("isActive") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(bad("isActive must be true or false")),
    };
    let n = doc
        .get("notification")
        .and_then(Value::as_object)
        .ok_or_else(|| bad("a subscription needs a notification member"))?;
    let format = match string(n, "format")? {
        None | Some("normalized") => Format::Normalized,
        Some("concise") => Format::Concise,
        Some("keyValues" | "simplified") => Format::KeyValues,
        Some(other) => return Err(bad(format!("unknown notification format '{other}'"))),
    };
    let flag = |k: &str| -> Result<bool> {
        match n.get(k) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(bad(format!("notification.{k} must be true or false"))),
        }
    };
    let dataset_ids = match doc.get("datasetId") {
        None => None,
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|d| match d.as_str() {
                    Some("@none") => Ok(None),
                    Some(s) if parse::is_uri(s) => Ok(Some(s.to_owned())),
                    _ => Err(bad("datasetId must list URIs or @none")),
                })
                .collect::<Result<_>>()?,
        ),
        Some(_) => return Err(bad("datasetId must be an array")),
    };
    let pick = member_list(n, "pick", &ctx)?;
    let omit = member_list(n, "omit", &ctx)?;
    let attributes = names(n, "attributes", &ctx)?;
    if attributes.is_some() && (pick.is_some() || omit.is_some()) {
        return Err(bad(
            "notification.attributes cannot be combined with pick or omit",
        ));
    }
    if let (Some(p), Some(o)) = (&pick, &omit)
        && p.iter().any(|m| o.contains(m))
    {
        return Err(bad("a member cannot be both picked and omitted"));
    }
    let join = match string(n, "join")? {
        None => None,
        Some(j) => {
            let kind = match j {
                "inline" => crate::linked::Join::Inline,
                "flat" => crate::linked::Join::Flat,
                other => {
                    return Err(bad(format!(
                        "notification.join must be inline or flat, not '{other}'"
                    )));
                }
            };
            let level = match n.get("joinLevel") {
                None => 1,
                Some(v) => v
                    .as_u64()
                    .filter(|l| (1..=8).contains(l))
                    .ok_or_else(|| bad("joinLevel must be 1 to 8"))?
                    as usize,
            };
            Some((kind, level))
        }
    };
    Ok(Compiled {
        join,
        pick,
        omit,
        query,
        watched,
        triggers,
        attributes,
        format,
        sys_attrs: flag("sysAttrs")?,
        show_changes: flag("showChanges")?,
        lang: string(doc, "lang")?.map(str::to_owned),
        dataset_ids,
        endpoint: endpoint(n.get("endpoint"))?,
        throttling,
        time_interval,
        expires_at,
        active,
        render_ctx: ctx.clone(),
        ctx,
        context_url,
    })
}
