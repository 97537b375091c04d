//! Linked entity retrieval (`join=inline|flat`, `joinLevel`, GS CIM 009 clause 4.5.23):
//! the entities that Relationships point to, fetched from the same tenant and rendered in
//! place (inline) or after the linking entities (flat). Used by queries and notifications.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::model::{AttrKind, Entity};
use crate::render::{self, Format, RenderOptions};
use crate::store::{EntityStore, StoreError};

/// How linked entities are returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Join {
    /// Inside the Relationship (`entity` member, or the value in keyValues).
    Inline,
    /// After the linking entities, in one flat array.
    Flat,
}

/// A `pick`/`omit` projection with the nested projections of linked entities, keyed by the
/// (expanded) Relationship that leads to them.
#[derive(Debug, Clone, Default)]
pub struct ProjTree {
    /// Members to show at this level (`None` = all).
    pub pick: Option<HashSet<String>>,
    /// Members to hide at this level.
    pub omit: HashSet<String>,
    /// Projections of the entities reached through each Relationship.
    pub children: HashMap<String, ProjTree>,
}

fn targets(e: &Entity) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, instances) in &e.attrs {
        for a in instances {
            let objs: Vec<&Value> = match (a.kind, &a.value) {
                (AttrKind::Relationship | AttrKind::ListRelationship, Value::Array(l)) => {
                    l.iter().collect()
                }
                (AttrKind::Relationship, v) => vec![v],
                _ => continue,
            };
            out.extend(
                objs.into_iter()
                    .filter_map(Value::as_str)
                    .map(|t| (name.to_string(), t.to_owned())),
            );
        }
    }
    out
}

/// The entities reachable within `level` hops, in discovery order, without the roots; each
/// with the Relationship names (expanded) that lead to it from its root.
pub async fn collect(
    store: &dyn EntityStore,
    tenant: &str,
    roots: &[Arc<Entity>],
    level: usize,
    tree: &ProjTree,
) -> Result<Vec<(Arc<Entity>, Vec<String>)>, StoreError> {
    let mut seen: HashSet<String> = roots.iter().map(|e| e.id.clone()).collect();
    let mut frontier: Vec<(Arc<Entity>, Vec<String>)> =
        roots.iter().map(|e| (e.clone(), Vec::new())).collect();
    let mut out = Vec::new();
    for _ in 0..level {
        let mut next = Vec::new();
        for (e, path) in &frontier {
            // Only Relationships the projection keeps at this level lead further.
            let level_tree = subtree(tree, path);
            for (rel, t) in targets(e) {
                let shown = level_tree.is_none_or(|lt| {
                    lt.pick.as_ref().is_none_or(|p| p.contains(&rel)) && !lt.omit.contains(&rel)
                });
                if shown
                    && seen.insert(t.clone())
                    && let Some(found) = store.get(tenant, &t).await?
                {
                    let mut p = path.clone();
                    p.push(rel);
                    next.push((found, p));
                }
            }
        }
        out.extend(next.iter().cloned());
        frontier = next;
    }
    Ok(out)
}

/// The rendering options for one level of the projection tree.
pub fn level_opts(opts: &RenderOptions, tree: &ProjTree, root: bool) -> RenderOptions {
    let mut o = opts.clone();
    if !root {
        o.projection.pick = tree.pick.clone();
        o.projection.omit = tree.omit.clone();
    }
    o
}

/// The projection tree reached by following `path` from `tree`.
pub fn subtree<'a>(tree: &'a ProjTree, path: &[String]) -> Option<&'a ProjTree> {
    path.iter().try_fold(tree, |t, rel| t.children.get(rel))
}

/// Renders `e` with its linked entities inline, `depth` levels deep.
pub fn render_inline(
    e: &Entity,
    linked: &HashMap<&str, &Arc<Entity>>,
    ctx: &jsonld::Context,
    opts: &RenderOptions,
    tree: &ProjTree,
    root: bool,
    depth: usize,
) -> Map<String, Value> {
    let mut out = render::entity(e, ctx, &level_opts(opts, tree, root));
    if depth == 0 {
        return out;
    }
    let empty = ProjTree::default();
    for (name, instances) in &e.attrs {
        let key = ctx.compact_iri(name);
        let Some(slot) = out.get_mut(&key) else {
            continue;
        };
        let child_tree = tree.children.get(&**name).unwrap_or(&empty);
        for a in instances
            .iter()
            .filter(|a| a.kind == AttrKind::Relationship)
        {
            let Some(target) = a.value.as_str().and_then(|t| linked.get(t)) else {
                continue;
            };
            let inner = Value::Object(render_inline(
                target,
                linked,
                ctx,
                opts,
                child_tree,
                false,
                depth - 1,
            ));
            let rendered_slots: Vec<&mut Value> = match &mut *slot {
                Value::Array(items) => items.iter_mut().collect(),
                other => vec![other],
            };
            for s in rendered_slots {
                if opts.format == Format::KeyValues {
                    if s.as_str() == a.value.as_str() {
                        *s = inner.clone();
                    }
                } else if let Some(o) = s.as_object_mut()
                    && o.get("object") == Some(&a.value)
                {
                    o.insert("entity".into(), inner.clone());
                }
            }
        }
    }
    out
}

/// Renders `entities` with their `linked` entities joined as `join` asks.
pub fn render_joined(
    entities: &[Arc<Entity>],
    linked: &[(Arc<Entity>, Vec<String>)],
    join: Option<(Join, usize)>,
    ctx: &jsonld::Context,
    opts: &RenderOptions,
    tree: &ProjTree,
) -> Vec<Map<String, Value>> {
    match join {
        Some((Join::Inline, level)) => {
            let by_id: HashMap<&str, &Arc<Entity>> =
                linked.iter().map(|(e, _)| (e.id.as_str(), e)).collect();
            entities
                .iter()
                .map(|e| render_inline(e, &by_id, ctx, opts, tree, true, level))
                .collect()
        }
        Some((Join::Flat, _)) => {
            let empty = ProjTree::default();
            let roots = entities.iter().map(|e| render::entity(e, ctx, opts));
            let others = linked.iter().map(|(e, path)| {
                let t = subtree(tree, path).unwrap_or(&empty);
                render::entity(e, ctx, &level_opts(opts, t, false))
            });
            roots.chain(others).collect()
        }
        None => entities
            .iter()
            .map(|e| render::entity(e, ctx, opts))
            .collect(),
    }
}
