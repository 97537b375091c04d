//! The in-memory read copy of every tenant's entities.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};

use broker::model::{AttrKind, Entity, Name};
use broker::store::{Pager, Prefilter, StoreError};
use geo::BoundingRect;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{AABB, RTree, RTreeObject};
use rusqlite::Connection;

/// A resident entity, ordered, compared and looked up by its id: every index holds the
/// entity itself (a pointer) instead of a copy of its id.
#[derive(Clone)]
pub(crate) struct ById(pub(crate) Arc<Entity>);

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for ById {}

impl PartialOrd for ById {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ById {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.id.cmp(&other.0.id)
    }
}

/// Hashes as its id does, so that a set of them is looked up by `&str`.
impl std::hash::Hash for ById {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.id.as_str().hash(state);
    }
}

impl Borrow<str> for ById {
    fn borrow(&self) -> &str {
        &self.0.id
    }
}

impl std::fmt::Debug for ById {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.id)
    }
}

/// A GeoProperty's bounding box, tagged with (attribute, entity).
type Boxed = GeomWithData<Rectangle<[f64; 2]>, (Name, ById)>;

/// The bounding boxes of every GeoProperty instance of an entity, tagged with the entity's
/// own (interned) attribute name.
fn geo_boxes(e: &Arc<Entity>) -> Vec<Boxed> {
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
            out.push(GeomWithData::new(rect, (name.clone(), ById(e.clone()))));
        }
    }
    out
}

/// Whether two states of an entity have the same GeoProperty instances (so the same boxes):
/// cheaper to tell from the values than by building the boxes.
fn same_geo(a: &Entity, b: &Entity) -> bool {
    fn geo(e: &Entity) -> impl Iterator<Item = (&Name, &serde_json::Value)> {
        e.attrs.iter().flat_map(|(n, v)| {
            v.iter()
                .filter(|a| a.kind == AttrKind::GeoProperty)
                .map(move |a| (n, &a.value))
        })
    }
    geo(a).eq(geo(b))
}

/// The attribute names of resident entities, one shared copy of each: a million entities
/// with `temperature` hold one string, not a million. Names no entity holds any more are
/// dropped whenever the set has doubled since the last sweep.
#[derive(Default)]
pub(crate) struct Names {
    set: HashSet<Name>,
    sweep_at: usize,
}

impl Names {
    /// Smallest set size at which a sweep is considered.
    const MIN_SWEEP: usize = 4096;

    /// Makes `e` hold the shared copy of each of its attribute names.
    pub(crate) fn intern(&mut self, e: &mut Entity) {
        e.attrs.intern(|n| match self.set.get(&**n) {
            Some(shared) => shared.clone(),
            None => {
                self.set.insert(n.clone());
                n.clone()
            }
        });
        if self.set.len() >= self.sweep_at.max(Self::MIN_SWEEP) {
            self.set.retain(|n| Arc::strong_count(n) > 1);
            self.sweep_at = 2 * self.set.len();
        }
    }
}

/// One tenant's entities, by id, by type and by location (an R*-tree of GeoProperty
/// bounding boxes).
#[derive(Default)]
pub(crate) struct Tenant {
    /// In id order, for scans and pages.
    entities: BTreeSet<ById>,
    /// The same entities hashed, for lookups by id: the tree compared long ids with a
    /// common prefix level by level (about a tenth of a retrieve by id).
    by_id: HashSet<ById, foldhash::fast::RandomState>,
    by_type: HashMap<String, BTreeSet<ById>>,
    spatial: RTree<Boxed>,
}

impl Tenant {
    pub(crate) fn put(&mut self, e: Arc<Entity>) {
        let boxes = geo_boxes(&e);
        let old = self.by_id.get(e.id.as_str()).map(|o| o.0.clone());
        let (same_types, same_boxes) = match &old {
            Some(o) => (o.types == e.types, same_geo(o, &e)),
            None => (false, false),
        };
        if let Some(o) = &old {
            if !same_types {
                self.unindex_types(o);
            }
            if !same_boxes {
                self.unindex_geo(o);
            }
        }
        for t in &e.types {
            let ids = match self.by_type.get_mut(t.as_str()) {
                Some(ids) => ids,
                None => self.by_type.entry(t.clone()).or_default(),
            };
            ids.replace(ById(e.clone()));
        }
        if same_boxes {
            // The usual update leaves its location alone: the boxes stay where they are
            // in the tree and only point at the new state.
            for b in &boxes {
                for slot in self.spatial.locate_in_envelope_mut(&b.envelope()) {
                    if slot.data.1 == b.data.1 && slot.data.0 == b.data.0 {
                        slot.data.1 = b.data.1.clone();
                    }
                }
            }
        } else {
            for b in boxes {
                self.spatial.insert(b);
            }
        }
        // `replace`: an equal (same id) element would otherwise stay.
        self.by_id.replace(ById(e.clone()));
        self.entities.replace(ById(e));
    }

    pub(crate) fn remove(&mut self, id: &str) {
        self.by_id.remove(id);
        if let Some(old) = self.entities.take(id) {
            self.unindex(&old.0);
        }
    }

    fn unindex(&mut self, e: &Arc<Entity>) {
        self.unindex_geo(e);
        self.unindex_types(e);
    }

    fn unindex_geo(&mut self, e: &Arc<Entity>) {
        for b in geo_boxes(e) {
            self.spatial.remove(&b);
        }
    }

    fn unindex_types(&mut self, e: &Arc<Entity>) {
        for t in &e.types {
            if let Some(ids) = self.by_type.get_mut(t) {
                ids.remove(e.id.as_str());
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
    /// The attribute names resident entities share.
    pub(crate) names: Mutex<Names>,
}

impl Memory {
    /// Loads every tenant and entity from the database.
    pub(crate) fn load(conn: &Connection) -> Result<Self, StoreError> {
        let err = |e: rusqlite::Error| StoreError(e.to_string());
        let mut tenants: HashMap<String, Tenant> = HashMap::new();
        let mut shared = Names::default();
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
            shared.intern(&mut e);
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
            names: Mutex::new(shared),
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
            .by_id
            .get(id)
            .map(|e| e.0.clone())
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
                for e in t.by_type.get(ty).into_iter().flatten() {
                    if !take(&e.0) {
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
                for e in &t.entities {
                    if !take(&e.0) {
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
        let of_type = |id: &str| {
            pre.any_type.as_ref().is_none_or(|types| {
                types
                    .iter()
                    .any(|ty| t.by_type.get(ty).is_some_and(|s| s.contains(id)))
            })
        };
        let ids: Option<BTreeSet<&ById>> = match (&pre.bbox, &pre.any_type) {
            (Some((attr, r)), _) => {
                let envelope = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                Some(
                    t.spatial
                        .locate_in_envelope_intersecting(&envelope)
                        .filter(|b| *b.data.0 == **attr && of_type(&b.data.1.0.id))
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
            (Some(wanted), narrowed) => {
                let narrowed: Option<BTreeSet<&str>> =
                    narrowed.map(|s| s.into_iter().map(|e| e.0.id.as_str()).collect());
                let mut wanted: Vec<&String> = wanted.iter().collect();
                wanted.sort();
                wanted.dedup();
                wanted
                    .into_iter()
                    .filter(|id| narrowed.as_ref().is_none_or(|s| s.contains(id.as_str())))
                    .filter_map(|id| t.by_id.get(id.as_str()).map(|e| e.0.clone()))
                    .collect()
            }
            (None, Some(set)) => set.into_iter().map(|e| e.0.clone()).collect(),
            (None, None) => t.entities.iter().map(|e| e.0.clone()).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use broker::model::{Attribute, Attrs};

    use super::*;

    fn with_attr(id: &str, name: &str) -> Entity {
        let now = chrono::Utc::now();
        let mut attrs = Attrs::new();
        attrs.insert(
            name,
            vec![Attribute::new(AttrKind::Property, 1.into(), now)],
        );
        Entity {
            id: id.into(),
            types: vec!["https://example.org/T".into()],
            scopes: vec![],
            created_at: now,
            modified_at: now,
            attrs,
        }
    }

    fn name_of(e: &Entity) -> Name {
        e.attrs.keys().next().unwrap().clone()
    }

    #[test]
    fn resident_entities_share_their_attribute_names_and_unused_ones_are_swept() {
        let mut names = Names::default();
        let mut a = with_attr("urn:a", "https://example.org/temperature");
        let mut b = with_attr("urn:b", "https://example.org/temperature");
        assert!(!Arc::ptr_eq(&name_of(&a), &name_of(&b)));
        names.intern(&mut a);
        names.intern(&mut b);
        assert!(Arc::ptr_eq(&name_of(&a), &name_of(&b)));
        // Names of entities that are gone do not stay forever.
        for i in 0..Names::MIN_SWEEP {
            let mut gone = with_attr("urn:gone", &format!("https://example.org/n{i}"));
            names.intern(&mut gone);
        }
        assert!(names.set.len() < Names::MIN_SWEEP);
        assert!(names.set.contains("https://example.org/temperature"));
    }
}
