//! URL query parameters of the entity endpoints, turned into the broker's query and
//! rendering options with every name expanded.

use std::collections::{HashMap, HashSet};

use broker::query::{EntityQuery, EntitySelector};
use broker::render::{Format, Projection, RenderOptions};
use jsonld::Context;
use regex::Regex;

use crate::error::{ApiError, ApiResult};

/// Raw query parameters (last value wins; NGSI-LD does not repeat parameters).
pub type Params = HashMap<String, String>;

/// The `options` / `format` flags.
#[derive(Debug, Default, Clone)]
pub struct Options {
    /// Representation asked for.
    pub format: Format,
    /// `sysAttrs`.
    pub sys_attrs: bool,
    /// `noOverwrite`.
    pub no_overwrite: bool,
    /// `update` (batch upsert).
    pub update: bool,
    /// `replace` (batch upsert).
    pub replace: bool,
}

/// Parameters of Query Entities (GET /entities).
pub const QUERY_PARAMS: &[&str] = &[
    "id",
    "idPattern",
    "type",
    "attrs",
    "pick",
    "omit",
    "q",
    "scopeQ",
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
    "geometryProperty",
    "lang",
    "limit",
    "offset",
    "count",
    "options",
    "format",
    "csf",
    "local",
    "datasetId",
    "join",
    "joinLevel",
    "orderBy",
    "collation",
    "containedBy",
    "entityMap",
    "expandValues",
    "jsonKeys",
    "via",
];
/// Parameters of Retrieve Entity.
pub const RETRIEVE_PARAMS: &[&str] = &[
    "attrs",
    "pick",
    "omit",
    "options",
    "format",
    "lang",
    "geometryProperty",
    "datasetId",
    "join",
    "joinLevel",
    "containedBy",
    "local",
    "via",
    "expandValues",
    "jsonKeys",
    "entityMap",
];
/// Parameters of Purge Entities.
pub const PURGE_PARAMS: &[&str] = &[
    "id",
    "idPattern",
    "type",
    "q",
    "scopeQ",
    "georel",
    "geometry",
    "coordinates",
    "geoproperty",
    "local",
    "via",
    "drop",
    "keep",
];

/// Refuses parameters the endpoint does not define (InvalidRequest, as the spec asks).
pub fn only(p: &Params, allowed: &[&str]) -> ApiResult<()> {
    match p.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ApiError::new(
            ngsild_proto::ErrorType::InvalidRequest,
            format!("unknown query parameter '{k}'"),
        )),
        None => Ok(()),
    }
}

/// Reads `options` and `format`.
pub fn options(p: &Params) -> ApiResult<Options> {
    let mut o = Options::default();
    let mut formats = Vec::new();
    if let Some(list) = p.get("options") {
        for opt in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match opt {
                "keyValues" | "simplified" => formats.push(Format::KeyValues),
                "concise" => formats.push(Format::Concise),
                "normalized" => formats.push(Format::Normalized),
                "sysAttrs" => o.sys_attrs = true,
                "noOverwrite" => o.no_overwrite = true,
                "update" => o.update = true,
                "replace" => o.replace = true,
                "temporalValues" | "aggregatedValues" | "audit" => {}
                other => {
                    return Err(ApiError::new(
                        ngsild_proto::ErrorType::InvalidRequest,
                        format!("unknown option '{other}'"),
                    ));
                }
            }
        }
    }
    if let Some(f) = p.get("format") {
        formats.push(match f.as_str() {
            "keyValues" | "simplified" => Format::KeyValues,
            "concise" => Format::Concise,
            "normalized" => Format::Normalized,
            other => {
                return Err(ApiError::new(
                    ngsild_proto::ErrorType::InvalidRequest,
                    format!("unknown format '{other}'"),
                ));
            }
        });
    }
    formats.dedup();
    if formats.len() > 1 {
        // keyValues wins over concise over normalized when several are named (as clients expect).
        formats.sort_by_key(|f| match f {
            Format::KeyValues => 0,
            Format::Concise => 1,
            Format::Normalized => 2,
        });
    }
    o.format = formats.first().copied().unwrap_or_default();
    if o.update && o.replace {
        return Err(ApiError::bad_data(
            "options 'update' and 'replace' exclude each other",
        ));
    }
    Ok(o)
}

fn expand_list(list: &str, ctx: &Context) -> ApiResult<Vec<String>> {
    Ok(ngsild_query::parse_attr_list(list)?
        .into_iter()
        .map(|n| {
            if n == "id" || n == "type" {
                n
            } else {
                ctx.expand_term(&n)
            }
        })
        .collect())
}

pub use broker::linked::ProjTree;

fn expand_name(n: &str, ctx: &Context) -> String {
    if n == "id" || n == "type" {
        n.to_owned()
    } else {
        ctx.expand_term(n)
    }
}

fn add_pick(tree: &mut ProjTree, items: &[ngsild_query::Projection], ctx: &Context) {
    let mut set = HashSet::new();
    for it in items {
        let name = expand_name(&it.name, ctx);
        if !it.linked.is_empty() {
            add_pick(
                tree.children.entry(name.clone()).or_default(),
                &it.linked,
                ctx,
            );
        }
        set.insert(name);
    }
    tree.pick = Some(set);
}

fn add_omit(tree: &mut ProjTree, items: &[ngsild_query::Projection], ctx: &Context) {
    for it in items {
        let name = expand_name(&it.name, ctx);
        if it.linked.is_empty() {
            tree.omit.insert(name);
        } else {
            add_omit(tree.children.entry(name).or_default(), &it.linked, ctx);
        }
    }
}

/// Reads `pick` and `omit` (with nested projections for linked entities).
pub fn projection_tree(p: &Params, ctx: &Context) -> ApiResult<ProjTree> {
    let mut tree = ProjTree::default();
    if let Some(pick) = p.get("pick") {
        add_pick(&mut tree, &ngsild_query::parse_projection(pick)?, ctx);
    }
    if let Some(omit) = p.get("omit") {
        add_omit(&mut tree, &ngsild_query::parse_projection(omit)?, ctx);
    }
    Ok(tree)
}

/// Reads `attrs`, `pick`, `omit`, `lang`, `options` into rendering options.
pub fn render_options(p: &Params, ctx: &Context) -> ApiResult<RenderOptions> {
    let o = options(p)?;
    let mut projection = Projection::default();
    if let Some(attrs) = p.get("attrs") {
        let mut set: HashSet<String> = expand_list(attrs, ctx)?.into_iter().collect();
        set.insert("id".into());
        set.insert("type".into());
        projection.pick = Some(set);
    }
    let tree = projection_tree(p, ctx)?;
    if p.contains_key("pick") {
        if p.contains_key("attrs") {
            return Err(ApiError::bad_data(
                "'pick' and 'attrs' cannot be used together",
            ));
        }
        projection.pick = tree.pick;
    }
    if p.contains_key("omit") {
        if p.contains_key("attrs") {
            return Err(ApiError::bad_data(
                "'omit' and 'attrs' cannot be used together",
            ));
        }
        projection.omit = tree.omit;
        if let Some(pick) = &projection.pick
            && let Some(both) = pick.iter().find(|n| projection.omit.contains(*n))
        {
            return Err(ApiError::bad_data(format!(
                "'{}' is both picked and omitted",
                ctx.compact_iri(both)
            )));
        }
    }
    if let Some(ds) = p.get("datasetId") {
        projection.dataset_ids = Some(
            ds.split(',')
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| {
                    if d == "@none" {
                        None
                    } else {
                        Some(d.to_owned())
                    }
                })
                .collect(),
        );
    }
    Ok(RenderOptions {
        format: o.format,
        sys_attrs: o.sys_attrs,
        projection,
        lang: p.get("lang").cloned(),
    })
}

/// Reads the filter parameters of Query Entities. `require_filter` enforces the spec's rule
/// that a query names at least one of type, attrs, q, geo-query or id/idPattern/scopeQ.
pub fn entity_query(p: &Params, ctx: &Context, require_filter: bool) -> ApiResult<EntityQuery> {
    let mut q = EntityQuery::default();
    let types = match p.get("type") {
        Some(t) => {
            let mut te = ngsild_query::parse_type_expr(t)?;
            te.map_names(&mut |n| ctx.expand_term(n));
            Some(te)
        }
        None => None,
    };
    let pattern = match p.get("idPattern") {
        Some(pat) => Some(id_pattern(pat)?),
        None => None,
    };
    let ids: Vec<String> = match p.get("id") {
        Some(list) => list
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect(),
        None => Vec::new(),
    };
    for id in &ids {
        broker::service::check_id(id)?;
    }
    if ids.is_empty() {
        if types.is_some() || pattern.is_some() {
            q.selectors.push(EntitySelector {
                id: None,
                id_pattern: pattern,
                types,
            });
        }
    } else {
        for id in ids {
            q.selectors.push(EntitySelector {
                id: Some(id),
                id_pattern: pattern.clone(),
                types: types.clone(),
            });
        }
    }
    if let Some(attrs) = p.get("attrs") {
        let list = expand_list(attrs, ctx)?;
        if list.iter().any(|a| a == "id" || a == "type") {
            return Err(ApiError::bad_data(
                "'attrs' names attributes; id and type are not attributes",
            ));
        }
        q.attrs = Some(list);
    }
    if let Some(text) = p.get("q") {
        let mut expr = ngsild_query::parse_q(text)?;
        expr.map_names(&mut |n| ctx.expand_term(n));
        q.q = Some(expr);
    }
    if let Some(s) = p.get("scopeQ") {
        q.scope = Some(ngsild_query::parse_scope_q(s)?);
    }
    q.geo = geo_query(p, ctx)?;
    if let Some(order) = p.get("orderBy") {
        q.order_by = order_by(order, ctx)?;
    }
    let require_filter = require_filter && p.get("local").map(String::as_str) != Some("true");
    // Ids alone do not make a query (the spec asks for type, attrs, q, geo or scope).
    let selects = q
        .selectors
        .iter()
        .any(|s| s.types.is_some() || s.id_pattern.is_some());
    let filtered =
        selects || q.attrs.is_some() || q.q.is_some() || q.geo.is_some() || q.scope.is_some();
    if require_filter && !filtered {
        return Err(ApiError::bad_data(
            "a query must name at least one of: id, idPattern, type, attrs, q, a geo-query, scopeQ",
        ));
    }
    Ok(q)
}

/// Compiles an `idPattern`. Stacked quantifiers (`a**`, `a+*`) are refused: they mean
/// nothing in the POSIX syntax the spec refers to.
pub fn id_pattern(pat: &str) -> ApiResult<Regex> {
    let b = pat.as_bytes();
    let stacked = (1..b.len()).any(|i| {
        let escaped = i >= 2 && b[i - 2] == b'\\';
        !escaped && matches!(b[i - 1], b'*' | b'+' | b'?' | b'}') && matches!(b[i], b'*' | b'+')
    });
    if stacked || pat.len() > 1024 {
        return Err(ApiError::bad_data(format!("invalid idPattern '{pat}'")));
    }
    Regex::new(pat).map_err(|e| ApiError::bad_data(format!("invalid idPattern: {e}")))
}

/// Reads `orderBy`: `path[;asc|;desc]` separated by commas; a path is `id`, `type`,
/// `createdAt`, `modifiedAt` or an attribute with dotted sub-attributes/members.
pub fn order_by(s: &str, ctx: &Context) -> ApiResult<Vec<broker::query::OrderKey>> {
    s.split(',')
        .map(|item| {
            let (path, dir) = item.split_once(';').unwrap_or((item, "asc"));
            let descending = match dir {
                "asc" => false,
                "desc" => true,
                other => {
                    return Err(ApiError::bad_data(format!(
                        "orderBy direction must be asc or desc, not '{other}'"
                    )));
                }
            };
            let parts: Vec<&str> = path.split('.').collect();
            if parts
                .iter()
                .any(|p| p.is_empty() || !broker::parse::is_valid_name(p))
            {
                return Err(ApiError::bad_data(format!("invalid orderBy path '{path}'")));
            }
            let mut out = Vec::with_capacity(parts.len());
            for (i, p) in parts.iter().enumerate() {
                let core = [
                    "id",
                    "type",
                    "createdAt",
                    "modifiedAt",
                    "observedAt",
                    "unitCode",
                    "datasetId",
                ];
                out.push(if core.contains(p) && (i > 0 || parts.len() == 1) {
                    (*p).to_owned()
                } else {
                    ctx.expand_term(p)
                });
            }
            Ok(broker::query::OrderKey {
                path: out,
                descending,
            })
        })
        .collect()
}

fn geo_query(p: &Params, ctx: &Context) -> ApiResult<Option<ngsild_query::GeoQuery>> {
    let (rel, geom, coords) = (p.get("georel"), p.get("geometry"), p.get("coordinates"));
    match (rel, geom, coords) {
        (None, None, None) => Ok(None),
        (Some(r), Some(g), Some(c)) => {
            let mut gq =
                ngsild_query::parse_geo_query(r, g, c, p.get("geoproperty").map(String::as_str))?;
            gq.geoproperty = ctx.expand_term(&gq.geoproperty);
            Ok(Some(gq))
        }
        _ => Err(ApiError::bad_data(
            "a geo-query needs georel, geometry and coordinates together",
        )),
    }
}

/// Reads `limit` and `offset` against the operator's limits.
pub fn paging(p: &Params, default_limit: usize, max_limit: usize) -> ApiResult<(usize, usize)> {
    let num = |name: &str| -> ApiResult<Option<usize>> {
        match p.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<usize>().map(Some).map_err(|_| {
                ApiError::bad_data(format!("'{name}' must be a non-negative integer"))
            }),
        }
    };
    let limit = num("limit")?.unwrap_or(default_limit);
    let offset = num("offset")?.unwrap_or(0);
    if limit > max_limit {
        return Err(ApiError::new(
            ngsild_proto::ErrorType::TooManyResults,
            format!("limit {limit} exceeds the maximum of {max_limit}"),
        ));
    }
    Ok((offset, limit))
}

/// Whether `count=true`.
pub fn count(p: &Params) -> ApiResult<bool> {
    match p.get("count").map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::bad_data(format!(
            "count must be true or false, not '{other}'"
        ))),
    }
}
