//! The storage seam for entities: domain-shaped, small, implemented by every backend.
//!
//! A backend keeps entities per tenant and applies *changes*: pure functions from the current
//! state of one entity to its next state. The backend runs each change inside its own
//! transaction machinery, so read-modify-write is atomic per entity without the broker
//! holding locks, and several requests' changes may share one durable commit (group commit).
//! A backend returns only after the changes are durable according to its durability mode.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::BrokerError;
use crate::model::Entity;

/// Computes an entity's next state from its current one: `Ok(Some(e))` stores `e`,
/// `Ok(None)` deletes the entity (a no-op if it did not exist), `Err` leaves it untouched.
pub type Mutation = Box<dyn FnOnce(Option<&Entity>) -> Result<Option<Entity>, BrokerError> + Send>;

/// One change to one entity.
pub struct Change {
    /// The entity the change concerns.
    pub id: String,
    /// How its state changes.
    pub mutate: Mutation,
}

impl Change {
    /// A change of entity `id`.
    pub fn new(
        id: impl Into<String>,
        mutate: impl FnOnce(Option<&Entity>) -> Result<Option<Entity>, BrokerError> + Send + 'static,
    ) -> Self {
        Self {
            id: id.into(),
            mutate: Box::new(mutate),
        }
    }
}

/// The states before and after a change that was applied.
#[derive(Debug, Clone)]
pub struct Applied {
    /// State before the change.
    pub before: Option<Arc<Entity>>,
    /// State after the change (`None` = deleted).
    pub after: Option<Arc<Entity>>,
}

/// What the store can narrow down by itself before the evaluator looks at entities.
#[derive(Debug, Clone, Default)]
pub struct Prefilter {
    /// Only these ids.
    pub ids: Option<Vec<String>>,
    /// Only entities having at least one of these (expanded) types.
    pub any_type: Option<Vec<String>>,
    /// Only entities whose GeoProperty (expanded name) has a geometry whose bounding box
    /// intersects this box (lon/lat degrees).
    pub bbox: Option<(String, geo::Rect<f64>)>,
}

/// Failure of the storage machinery itself (not of a change's own validation).
#[derive(Debug, Clone, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StoreError(pub String);

impl From<StoreError> for BrokerError {
    fn from(e: StoreError) -> Self {
        BrokerError::internal(e.0)
    }
}

/// Entities, per tenant.
/// Collects one page of entities offered in id order (what [`EntityStore::select`] returns).
pub struct Pager {
    offset: usize,
    limit: usize,
    count: bool,
    page: Vec<Arc<Entity>>,
    total: usize,
}

impl Pager {
    /// A page skipping `offset` matches, holding at most `limit`; `count` counts every match.
    pub fn new(offset: usize, limit: usize, count: bool) -> Self {
        Self {
            offset,
            limit,
            count,
            page: Vec::new(),
            total: 0,
        }
    }

    /// Offers the next entity; false once nothing more is needed (page full, not counting).
    pub fn offer(&mut self, e: &Arc<Entity>, keep: &dyn Fn(&Entity) -> bool) -> bool {
        if keep(e) {
            if self.total >= self.offset && self.page.len() < self.limit {
                self.page.push(e.clone());
            }
            self.total += 1;
        }
        self.count || self.page.len() < self.limit || self.total <= self.offset
    }

    /// The page and how many matched (all of them when counting).
    pub fn finish(self) -> (Vec<Arc<Entity>>, usize) {
        (self.page, self.total)
    }
}

#[async_trait]
pub trait EntityStore: Send + Sync + 'static {
    /// Whether the tenant has ever been written to.
    async fn tenant_exists(&self, tenant: &str) -> Result<bool, StoreError>;
    /// All tenants, sorted.
    async fn tenants(&self) -> Result<Vec<String>, StoreError>;
    /// One entity.
    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Arc<Entity>>, StoreError>;
    /// The entities that pass `pre`, ordered by id. The broker's evaluator does the rest.
    async fn scan(&self, tenant: &str, pre: &Prefilter) -> Result<Vec<Arc<Entity>>, StoreError>;
    /// One page of the entities that pass `pre` and `keep`, in id order: `offset` skipped, at
    /// most `limit` returned, and how many pass in all when `count` (without `count` a store
    /// may stop at the end of the page and return a smaller total). The default filters
    /// [`EntityStore::scan`].
    async fn select(
        &self,
        tenant: &str,
        pre: &Prefilter,
        keep: &(dyn for<'e> Fn(&'e Entity) -> bool + Sync),
        offset: usize,
        limit: usize,
        count: bool,
    ) -> Result<(Vec<Arc<Entity>>, usize), StoreError> {
        let mut pager = Pager::new(offset, limit, count);
        for e in self.scan(tenant, pre).await? {
            if !pager.offer(&e, keep) {
                break;
            }
        }
        Ok(pager.finish())
    }
    /// Applies `changes` in order (later ones see earlier ones), durably, creating the tenant
    /// if needed. Returns one outcome per change, in order. The tenant is created only if at
    /// least one change succeeds.
    async fn apply(
        &self,
        tenant: &str,
        changes: Vec<Change>,
    ) -> Result<Vec<Result<Applied, BrokerError>>, StoreError>;
    /// Deletes everything (the conformance suite's reset hook).
    async fn reset(&self) -> Result<(), StoreError>;
}

/// Small documents by namespace and key (hosted JSON-LD contexts, settings): durable,
/// read whole at start-up.
#[async_trait]
pub trait DocumentStore: Send + Sync + 'static {
    /// Durably sets (`Some`) or removes (`None`) a document.
    async fn put_document(
        &self,
        ns: &str,
        key: &str,
        value: Option<String>,
    ) -> Result<(), StoreError>;
    /// Every document of a namespace, by key.
    fn documents(&self, ns: &str) -> Vec<(String, String)>;
}
