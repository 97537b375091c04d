//! The in-memory read copy of every tenant's entities.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use broker::model::{AttrKind, Entity};
use broker::store::{Pager, Prefilter, StoreError};
use geo::BoundingRect;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree};
use rusqlite::Connection;

/// A GeoProperty's bounding box, tagged with (attribute, entity id).
type Boxed = GeomWithData<Rectangle<[f64; 2]>, (String, String)>;

/// The bounding boxes of every GeoProperty instance of an entity.
fn geo_boxes(e: &Entity) -> Vec<Boxed> {
    let mut out = Vec::new();
    for (name, instances) in &e.attrs {
        for a in instances.iter().filter(|a| a.kind == AttrKind::GeoProperty) {
            let Some(r) = ngsild_query::geometry_from_geojson(&a.value)
                .ok()
                .and_then(|g| g.bounding_rect())
            else {
                continue;
            };
            let rect = Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            out.push(GeomWithData::new(rect, (name.clone(), e.id.clone())));
        }
    }
    out
}

/// One tenant's entities, by id, by type and by location (an R*-tree of GeoProperty
/// bounding boxes).
#[derive(Default)]
pub(crate) struct Tenant {
    entities: BTreeMap<String, Arc<Entity>>,
    by_type: HashMap<String, BTreeSet<String>>,
    spatial: RTree<Boxed>,
}

impl Tenant {
    pub(crate) fn put(&mut self, e: Arc<Entity>) {
        if let Some(old) = self.entities.get(&e.id).cloned() {
            self.unindex(&old);
        }
        for t in &e.types {
            self.by_type
                .entry(t.clone())
                .or_default()
                .insert(e.id.clone());
        }
        for b in geo_boxes(&e) {
            self.spatial.insert(b);
        }
        self.entities.insert(e.id.clone(), e);
    }

    pub(crate) fn remove(&mut self, id: &str) {
        if let Some(old) = self.entities.remove(id) {
            self.unindex(&old);
        }
    }

    fn unindex(&mut self, e: &Entity) {
        for b in geo_boxes(e) {
            self.spatial.remove(&b);
        }
        for t in &e.types {
            if let Some(ids) = self.by_type.get_mut(t) {
                ids.remove(&e.id);
                if ids.is_empty() {
                    self.by_type.remove(t);
                }
            }
        }
    }
}

/// All tenants. Written only by the writer thread, after a commit.
#[derive(Default)]
pub(crate) struct Memory {
    pub(crate) tenants: RwLock<HashMap<String, Tenant>>,
    /// Small documents by (namespace, key): subscriptions, hosted contexts.
    pub(crate) meta: RwLock<BTreeMap<(String, String), String>>,
}

impl Memory {
    /// Loads every tenant and entity from the database.
    pub(crate) fn load(conn: &Connection) -> Result<Self, StoreError> {
        let err = |e: rusqlite::Error| StoreError(e.to_string());
        let mut tenants: HashMap<String, Tenant> = HashMap::new();
        let mut stmt = conn.prepare("SELECT name FROM tenants").map_err(err)?;
        let names = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(err)?;
        for n in names {
            tenants.insert(n.map_err(err)?, Tenant::default());
        }
        let mut stmt = conn
            .prepare("SELECT tenant, doc FROM entities")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(err)?;
        for row in rows {
            let (tenant, doc) = row.map_err(err)?;
            let mut e: Entity = serde_json::from_str(&doc)
                .map_err(|e| StoreError(format!("corrupt entity row in tenant '{tenant}': {e}")))?;
            e.shrink_to_fit();
            tenants.entry(tenant).or_default().put(Arc::new(e));
        }
        let mut meta = BTreeMap::new();
        let mut stmt = conn
            .prepare("SELECT ns, key, value FROM meta")
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    (r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(err)?;
        for row in rows {
            let (k, v) = row.map_err(err)?;
            meta.insert(k, v);
        }
        Ok(Self {
            tenants: RwLock::new(tenants),
            meta: RwLock::new(meta),
        })
    }

    pub(crate) fn tenant_exists(&self, tenant: &str) -> bool {
        self.tenants.read().is_ok_and(|t| t.contains_key(tenant))
    }

    pub(crate) fn tenants(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tenants
            .read()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    pub(crate) fn get(&self, tenant: &str, id: &str) -> Option<Arc<Entity>> {
        self.tenants
            .read()
            .ok()?
            .get(tenant)?
            .entities
            .get(id)
            .cloned()
    }

    /// One page of the entities that pass `pre` and `keep`, walking the narrowest index in id
    /// order without copying it; stops at the end of the page unless `count`.
    pub(crate) fn select(
        &self,
        tenant: &str,
        pre: &Prefilter,
        keep: &(dyn for<'e> Fn(&'e Entity) -> bool + Sync),
        offset: usize,
        limit: usize,
        count: bool,
    ) -> (Vec<Arc<Entity>>, usize) {
        let single_type = match (&pre.ids, &pre.bbox, pre.any_type.as_deref()) {
            (None, None, Some([ty])) => Some(ty),
            _ => None,
        };
        let mut pager = Pager::new(offset, limit, count);
        let mut take = |e: &Arc<Entity>| pager.offer(e, keep);
        match single_type {
            Some(ty) => {
                let Ok(guard) = self.tenants.read() else {
                    return (Vec::new(), 0);
                };
                let Some(t) = guard.get(tenant) else {
                    return (Vec::new(), 0);
                };
                for id in t.by_type.get(ty).into_iter().flatten() {
                    if let Some(e) = t.entities.get(id)
                        && !take(e)
                    {
                        break;
                    }
                }
            }
            None if pre.ids.is_none() && pre.any_type.is_none() && pre.bbox.is_none() => {
                let Ok(guard) = self.tenants.read() else {
                    return (Vec::new(), 0);
                };
                let Some(t) = guard.get(tenant) else {
                    return (Vec::new(), 0);
                };
                for e in t.entities.values() {
                    if !take(e) {
                        break;
                    }
                }
            }
            None => {
                for e in self.scan(tenant, pre) {
                    if !take(&e) {
                        break;
                    }
                }
            }
        }
        pager.finish()
    }

    pub(crate) fn scan(&self, tenant: &str, pre: &Prefilter) -> Vec<Arc<Entity>> {
        let Ok(guard) = self.tenants.read() else {
            return Vec::new();
        };
        let Some(t) = guard.get(tenant) else {
            return Vec::new();
        };
        // The narrowest source first: the R*-tree's candidates when there is a box (checked
        // against the type index one by one), else the union of the types' id sets.
        let of_type = |id: &String| {
            pre.any_type.as_ref().is_none_or(|types| {
                types
                    .iter()
                    .any(|ty| t.by_type.get(ty).is_some_and(|s| s.contains(id)))
            })
        };
        let ids: Option<BTreeSet<&String>> = match (&pre.bbox, &pre.any_type) {
            (Some((attr, r)), _) => {
                let envelope = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                Some(
                    t.spatial
                        .locate_in_envelope_intersecting(&envelope)
                        .filter(|b| b.data.0 == *attr && of_type(&b.data.1))
                        .map(|b| &b.data.1)
                        .collect(),
                )
            }
            (None, Some(types)) => {
                let mut set = BTreeSet::new();
                for ty in types {
                    if let Some(found) = t.by_type.get(ty) {
                        set.extend(found.iter());
                    }
                }
                Some(set)
            }
            (None, None) => None,
        };
        match (&pre.ids, ids) {
            (Some(wanted), by_type) => {
                let mut wanted: Vec<&String> = wanted.iter().collect();
                wanted.sort();
                wanted.dedup();
                wanted
                    .into_iter()
                    .filter(|id| by_type.as_ref().is_none_or(|s| s.contains(id)))
                    .filter_map(|id| t.entities.get(id.as_str()).cloned())
                    .collect()
            }
            (None, Some(set)) => set
                .into_iter()
                .filter_map(|id| t.entities.get(id.as_str()).cloned())
                .collect(),
            (None, None) => t.entities.values().cloned().collect(),
        }
    }
}
