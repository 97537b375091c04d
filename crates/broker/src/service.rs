//! The broker: every NGSI-LD entity operation, on top of an [`EntityStore`].

use std::sync::Arc;

use jsonld::Context;
use ngsild_proto::ErrorType;
use serde_json::{Map, Value};

use crate::error::{BrokerError, Result};
use crate::guard::{WriteCheck, WriteGuard};
use crate::model::{Entity, Timestamp};
use crate::ops::{self, UpdateResult};
use crate::query::EntityQuery;
use crate::store::{Applied, Change, EntityStore};
use crate::{Clock, parse};

/// Limits an operator can set.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Default page size of queries.
    pub default_limit: usize,
    /// Largest page size a client may ask for.
    pub max_limit: usize,
    /// Largest number of entities in one batch request.
    pub max_batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            default_limit: 20,
            max_limit: 1000,
            max_batch: 10_000,
        }
    }
}

/// Who asks: the tenant ("" is the default tenant) and the active JSON-LD context.
#[derive(Clone)]
pub struct Scope {
    /// The tenant.
    pub tenant: String,
    /// The active context of the request.
    pub ctx: Arc<Context>,
}

/// One page of query results.
pub struct Page {
    /// The entities of the page.
    pub entities: Vec<Arc<Entity>>,
    /// How many entities matched in all (only when counting was asked for).
    pub total: usize,
}

/// The outcome of one entity in a batch operation.
pub type BatchOutcome = std::result::Result<BatchSuccess, (String, BrokerError)>;

/// A successful batch item.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSuccess {
    /// The entity id.
    pub id: String,
    /// Whether the entity was newly created.
    pub created: bool,
}

/// What a purge removes from the matching entities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    /// The entities themselves.
    Entities,
    /// Only these attributes (expanded names).
    Drop(Vec<String>),
    /// Every attribute except these.
    Keep(Vec<String>),
}

/// Told about every applied change, after it is durable (subscriptions, history).
/// Implementations must not wait on anything slow (receivers, networks).
#[async_trait::async_trait]
pub trait ChangeListener: Send + Sync + 'static {
    /// The changes of one store commit for `tenant` that succeeded.
    async fn changed(&self, tenant: &str, applied: &[Applied]);
}

/// The NGSI-LD broker.
#[derive(Clone)]
pub struct Broker {
    store: Arc<dyn EntityStore>,
    clock: Arc<dyn Clock>,
    limits: Limits,
    // Shared, so that cloning a broker (per request) allocates nothing.
    listeners: Arc<Vec<Arc<dyn ChangeListener>>>,
    guards: Arc<Vec<Arc<dyn WriteGuard>>>,
}

fn not_found(id: &str) -> BrokerError {
    BrokerError::not_found(format!("entity '{id}' not found")).at(id)
}

impl Broker {
    /// A broker over `store`.
    pub fn new(store: Arc<dyn EntityStore>, clock: Arc<dyn Clock>, limits: Limits) -> Self {
        Self {
            store,
            clock,
            limits,
            listeners: Arc::default(),
            guards: Arc::default(),
        }
    }

    /// Adds a guard whose checks every write must pass (see [`crate::guard`]).
    pub fn with_guard(mut self, g: Arc<dyn WriteGuard>) -> Self {
        Arc::make_mut(&mut self.guards).push(g);
        self
    }

    /// Wraps every change so that the guards' checks see its proposed next state.
    async fn guarded(&self, tenant: &str, changes: Vec<Change>) -> Result<Vec<Change>> {
        if self.guards.is_empty() {
            return Ok(changes);
        }
        let ids: Vec<&str> = changes.iter().map(|c| c.id.as_str()).collect();
        let mut checks = Vec::with_capacity(self.guards.len());
        for g in self.guards.iter() {
            checks.push(g.prepare(tenant, &ids, &*self.store).await?);
        }
        let checks: Arc<Vec<Box<dyn WriteCheck>>> = Arc::new(checks);
        Ok(changes
            .into_iter()
            .map(|c| {
                let checks = checks.clone();
                let id = c.id.clone();
                let mutate = c.mutate;
                Change::new(c.id, move |cur| {
                    let next = mutate(cur)?;
                    for ch in checks.iter() {
                        ch.check(&id, cur, next.as_ref())?;
                    }
                    Ok(next)
                })
            })
            .collect())
    }

    /// Entities of the tenant having at least one of `types` (expanded), ordered by id.
    pub async fn of_types(&self, tenant: &str, types: &[&str]) -> Result<Vec<Arc<Entity>>> {
        self.check_tenant(tenant).await?;
        let pre = crate::store::Prefilter {
            any_type: Some(types.iter().map(|t| (*t).to_owned()).collect()),
            ..Default::default()
        };
        let found = self.store.scan(tenant, &pre).await?;
        Ok(found
            .into_iter()
            .filter(|e| types.iter().any(|t| e.has_type(t)))
            .collect())
    }

    /// Adds a listener told about every applied change.
    pub fn with_listener(mut self, l: Arc<dyn ChangeListener>) -> Self {
        Arc::make_mut(&mut self.listeners).push(l);
        self
    }

    /// Applies changes through the store and tells the listeners what succeeded.
    async fn apply(&self, tenant: &str, changes: Vec<Change>) -> Result<Vec<Result<Applied>>> {
        let changes = self.guarded(tenant, changes).await?;
        let out = self.store.apply(tenant, changes).await?;
        if !self.listeners.is_empty() {
            let ok: Vec<Applied> = out
                .iter()
                .filter_map(|r| r.as_ref().ok().cloned())
                .collect();
            if !ok.is_empty() {
                for l in self.listeners.iter() {
                    l.changed(tenant, &ok).await;
                }
            }
        }
        Ok(out)
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The store (for admin operations).
    pub fn store(&self) -> &Arc<dyn EntityStore> {
        &self.store
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Fails with NonexistentTenant if a named tenant was never written.
    pub async fn check_tenant(&self, tenant: &str) -> Result<()> {
        if tenant.is_empty() || self.store.tenant_exists(tenant).await? {
            Ok(())
        } else {
            Err(BrokerError::new(
                ErrorType::NonexistentTenant,
                format!("tenant '{tenant}' does not exist"),
            ))
        }
    }

    async fn apply_one(&self, tenant: &str, change: Change) -> Result<Applied> {
        let mut out = self.apply(tenant, vec![change]).await?;
        out.pop()
            .unwrap_or_else(|| Err(BrokerError::internal("store returned no outcome")))
    }

    /// Create Entity.
    pub async fn create(&self, s: &Scope, body: &Value) -> Result<String> {
        let e = parse::entity(body, &s.ctx, self.now())?;
        let id = e.id.clone();
        self.apply_one(&s.tenant, create_change(e)).await?;
        Ok(id)
    }

    /// Retrieve Entity.
    pub async fn get(&self, s: &Scope, id: &str) -> Result<Arc<Entity>> {
        check_id(id)?;
        self.check_tenant(&s.tenant).await?;
        self.store
            .get(&s.tenant, id)
            .await?
            .ok_or_else(|| not_found(id))
    }

    /// Query Entities: one page, ordered by id, and (with `count`) how many match in all.
    pub async fn query(
        &self,
        s: &Scope,
        q: &EntityQuery,
        offset: usize,
        limit: usize,
        count: bool,
    ) -> Result<Page> {
        self.check_tenant(&s.tenant).await?;
        let pre = q.prefilter();
        if !q.order_by.is_empty() {
            let candidates = self.store.scan(&s.tenant, &pre).await?;
            let mut all: Vec<Arc<Entity>> =
                candidates.into_iter().filter(|e| q.matches(e)).collect();
            crate::query::sort(&mut all, &q.order_by);
            let total = all.len();
            let entities = all.into_iter().skip(offset).take(limit).collect();
            return Ok(Page { entities, total });
        }
        let (entities, total) = self
            .store
            .select(&s.tenant, &pre, &|e| q.matches(e), offset, limit, count)
            .await?;
        Ok(Page { entities, total })
    }

    /// Delete Entity.
    pub async fn delete(&self, s: &Scope, id: &str) -> Result<()> {
        check_id(id)?;
        self.check_tenant(&s.tenant).await?;
        let owned = id.to_owned();
        self.apply_one(
            &s.tenant,
            Change::new(id, move |cur| match cur {
                Some(_) => Ok(None),
                None => Err(not_found(&owned)),
            }),
        )
        .await
        .map(|_| ())
    }

    /// Replace Entity (PUT): keeps id and createdAt, replaces everything else.
    pub async fn replace(&self, s: &Scope, id: &str, body: &Value) -> Result<()> {
        check_id(id)?;
        let mut body = body.clone();
        if let Some(o) = body.as_object_mut() {
            match o.get("id") {
                Some(Value::String(given)) if given != id => {
                    return Err(BrokerError::bad_data(
                        "the id in the body differs from the URL",
                    ));
                }
                _ => {
                    o.insert("id".into(), id.into());
                }
            }
        }
        let new = parse::entity(&body, &s.ctx, self.now())?;
        let owned = id.to_owned();
        self.apply_one(
            &s.tenant,
            Change::new(id, move |cur| {
                let cur = cur.ok_or_else(|| not_found(&owned))?;
                let mut new = new;
                new.created_at = cur.created_at;
                Ok(Some(new))
            }),
        )
        .await
        .map(|_| ())
    }

    /// Applies `f` to an existing entity.
    async fn modify<T: Send + 'static>(
        &self,
        s: &Scope,
        id: &str,
        f: impl FnOnce(&mut Entity, Timestamp) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        check_id(id)?;
        self.check_tenant(&s.tenant).await?;
        let now = self.now();
        let owned = id.to_owned();
        let slot = Arc::new(std::sync::Mutex::new(None));
        let out = slot.clone();
        self.apply_one(
            &s.tenant,
            Change::new(id, move |cur| {
                let mut e = cur.ok_or_else(|| not_found(&owned))?.clone();
                let r = f(&mut e, now)?;
                if let Ok(mut g) = out.lock() {
                    *g = Some(r);
                }
                Ok(Some(e))
            }),
        )
        .await?;
        let r = slot.lock().ok().and_then(|mut g| g.take());
        r.ok_or_else(|| BrokerError::internal("modification produced no result"))
    }

    /// Brings the current state up to date with observations posted as history (a temporal
    /// upsert or append): creates the entity when it does not exist; otherwise adds missing
    /// types and attributes, and an attribute instance takes the posted one when that is not
    /// older by `observedAt`. Back-filled old data never overwrites a newer current value.
    /// History already holds these instances; recording them again collapses onto them
    /// (one instance per series and observation time).
    pub async fn absorb(&self, s: &Scope, latest: crate::temporal::service::Latest) -> Result<()> {
        use crate::temporal::service::not_older;
        let now = self.now();
        let id = latest.id.clone();
        self.apply_one(
            &s.tenant,
            Change::new(&id, move |cur| {
                let mut e = match cur {
                    Some(e) => e.clone(),
                    None => Entity {
                        id: latest.id.clone(),
                        types: Vec::new(),
                        scopes: Vec::new(),
                        created_at: now,
                        modified_at: now,
                        attrs: Default::default(),
                    },
                };
                let mut changed = cur.is_none();
                for t in latest.types {
                    if !e.types.contains(&t) {
                        e.types.push(t);
                        changed = true;
                    }
                }
                for (name, mut a) in latest.attrs {
                    a.modified_at = now;
                    let slot = e.attrs.slot(&name);
                    match slot.iter_mut().find(|x| x.dataset_id() == a.dataset_id()) {
                        Some(x)
                            if not_older(&a, x)
                                && (x.value != a.value || x.observed_at() != a.observed_at()) =>
                        {
                            a.created_at = x.created_at;
                            *x = a;
                            changed = true;
                        }
                        Some(_) => {}
                        None => {
                            a.created_at = now;
                            slot.push(a);
                            changed = true;
                        }
                    }
                }
                if changed {
                    e.modified_at = now;
                }
                Ok(Some(e))
            }),
        )
        .await
        .map(|_| ())
    }

    /// Append Entity Attributes (NGSI-LD Null deletes; `type` adds types; `scope` replaces
    /// or, with noOverwrite, adds scopes).
    pub async fn append_attrs(
        &self,
        s: &Scope,
        id: &str,
        body: &Value,
        no_overwrite: bool,
    ) -> Result<UpdateResult> {
        let (deletions, rest) = ops::split_nulls(fragment(body)?, &s.ctx)?;
        let head = EntityHead::read(&rest, &s.ctx)?;
        let attrs = parse::attributes(&rest, &s.ctx, self.now())?;
        self.modify(s, id, move |e, now| {
            let deleted = ops::apply_nulls(e, &deletions, now);
            head.apply(e, !no_overwrite);
            let mut r = ops::append(e, attrs, no_overwrite, now);
            r.updated.extend(deleted);
            Ok(r)
        })
        .await
    }

    /// Update Entity Attributes (only existing ones; NGSI-LD Null deletes).
    pub async fn update_attrs(&self, s: &Scope, id: &str, body: &Value) -> Result<UpdateResult> {
        let (deletions, rest) = ops::split_nulls(fragment(body)?, &s.ctx)?;
        let head = EntityHead::read(&rest, &s.ctx)?;
        let attrs = parse::attributes(&rest, &s.ctx, self.now())?;
        self.modify(s, id, move |e, now| {
            let deleted = ops::apply_nulls(e, &deletions, now);
            // Update never adds a scope to an entity that has none.
            let scope_refused = head.scopes.is_some() && e.scopes.is_empty();
            if !scope_refused {
                head.apply(e, true);
            } else {
                head.apply_types(e);
            }
            let mut r = ops::update_existing(e, attrs, now);
            r.updated.extend(deleted);
            if scope_refused {
                r.not_updated
                    .push(("scope".into(), "the entity has no scope to update".into()));
            }
            Ok(r)
        })
        .await
    }

    /// Partial Attribute Update (NGSI-LD Null deletes the instance).
    pub async fn patch_attr(&self, s: &Scope, id: &str, attr: &str, body: &Value) -> Result<()> {
        let name = parse::attr_name(attr, &s.ctx)?;
        fragment(body)?;
        let (body, ctx, attr) = (body.clone(), s.ctx.clone(), attr.to_owned());
        if let Some(ds) = ops::null_target(&body) {
            return self
                .modify(s, id, move |e, now| {
                    ops::delete_attr(e, &name, ds.as_deref(), false, now)
                })
                .await;
        }
        self.modify(s, id, move |e, now| {
            let dataset = body.get("datasetId").and_then(Value::as_str);
            let inst = e
                .attrs
                .get_mut(&name)
                .and_then(|v| v.iter_mut().find(|a| a.dataset_id() == dataset))
                .ok_or_else(|| BrokerError::not_found(format!("attribute '{attr}' not found")))?;
            ops::merge_fragment_with(inst, &attr, &body, &ctx, now, true)?;
            e.modified_at = now;
            Ok(())
        })
        .await
    }

    /// Replace Entity Attribute (PUT).
    pub async fn replace_attr(&self, s: &Scope, id: &str, attr: &str, body: &Value) -> Result<()> {
        if [
            "scope",
            "id",
            "type",
            "@id",
            "@type",
            "createdAt",
            "modifiedAt",
        ]
        .contains(&attr)
        {
            return Err(BrokerError::bad_data(format!(
                "'{attr}' is not an attribute that can be replaced"
            )));
        }
        let name = parse::attr_name(attr, &s.ctx)?;
        let instances = parse::attribute_instances(attr, &name, body, &s.ctx, self.now())?;
        let attr = attr.to_owned();
        self.modify(s, id, move |e, now| {
            let existing = e
                .attrs
                .get_mut(&name)
                .ok_or_else(|| BrokerError::not_found(format!("attribute '{attr}' not found")))?;
            for mut new in instances {
                match existing
                    .iter_mut()
                    .find(|a| a.dataset_id() == new.dataset_id())
                {
                    Some(old) => {
                        new.created_at = old.created_at;
                        *old = new;
                    }
                    None => existing.push(new),
                }
            }
            e.modified_at = now;
            Ok(())
        })
        .await
    }

    /// Delete Entity Attribute (`scope` removes the entity's scopes).
    pub async fn delete_attr(
        &self,
        s: &Scope,
        id: &str,
        attr: &str,
        dataset_id: Option<String>,
        delete_all: bool,
    ) -> Result<()> {
        if attr == "scope" {
            return self
                .modify(s, id, |e, now| {
                    if e.scopes.is_empty() {
                        return Err(BrokerError::not_found("the entity has no scope"));
                    }
                    e.scopes.clear();
                    e.modified_at = now;
                    Ok(())
                })
                .await;
        }
        let name = parse::attr_name(attr, &s.ctx)?;
        self.modify(s, id, move |e, now| {
            ops::delete_attr(e, &name, dataset_id.as_deref(), delete_all, now)
        })
        .await
    }

    /// Merge Entity (PATCH /entities/{id}).
    pub async fn merge(&self, s: &Scope, id: &str, body: &Value) -> Result<()> {
        let obj = fragment(body)?.clone();
        if let Some(Value::String(given)) = obj.get("id")
            && given != id
        {
            return Err(BrokerError::bad_data(
                "the id in the body differs from the URL",
            ));
        }
        let ctx = s.ctx.clone();
        self.modify(s, id, move |e, now| ops::merge_entity(e, &obj, &ctx, now))
            .await
    }

    /// Purge: deletes every entity matching `q`, or only the attributes `mode` names;
    /// returns how many entities were touched. If a write guard refused some of them, the
    /// rest are purged and the first refusal is returned, counting the kept entities.
    pub async fn purge(&self, s: &Scope, q: &EntityQuery, mode: Purge) -> Result<usize> {
        self.check_tenant(&s.tenant).await?;
        let candidates = self.store.scan(&s.tenant, &q.prefilter()).await?;
        let now = self.now();
        let changes: Vec<Change> = candidates
            .iter()
            .filter(|e| q.matches(e))
            .map(|e| {
                let mode = mode.clone();
                Change::new(e.id.clone(), move |cur| {
                    let Some(cur) = cur else { return Ok(None) };
                    let mut e = cur.clone();
                    match mode {
                        Purge::Entities => return Ok(None),
                        Purge::Drop(names) => e.attrs.retain(|n, _| !names.iter().any(|x| x == n)),
                        Purge::Keep(names) => e.attrs.retain(|n, _| names.iter().any(|x| x == n)),
                    }
                    e.modified_at = now;
                    Ok(Some(e))
                })
            })
            .collect();
        let n = changes.len();
        if n > 0 {
            let out = self.apply(&s.tenant, changes).await?;
            // A write guard may refuse some entities; the others are purged all the same.
            let refused: Vec<BrokerError> = out.into_iter().filter_map(|r| r.err()).collect();
            if let Some(first) = refused.first() {
                let mut e = first.clone();
                e.detail = format!(
                    "{} of {n} matching entities were kept: {}",
                    refused.len(),
                    first.detail
                );
                return Err(e);
            }
        }
        Ok(n)
    }

    /// Runs a batch: `make` turns each item into a change (or an error naming the entity).
    async fn batch(
        &self,
        s: &Scope,
        items: Vec<std::result::Result<Change, (String, BrokerError)>>,
        created: impl Fn(&Applied) -> bool,
    ) -> Result<Vec<BatchOutcome>> {
        if items.len() > self.limits.max_batch {
            return Err(BrokerError::new(
                ErrorType::TooManyResults,
                format!(
                    "a batch may hold at most {} entities",
                    self.limits.max_batch
                ),
            ));
        }
        let mut ids = Vec::new();
        let mut changes = Vec::new();
        let mut slots = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Ok(c) => {
                    ids.push(c.id.clone());
                    changes.push(c);
                    slots.push(None);
                }
                Err(e) => slots.push(Some(Err(e))),
            }
        }
        let mut applied = if changes.is_empty() {
            Vec::new()
        } else {
            self.apply(&s.tenant, changes).await?
        }
        .into_iter()
        .zip(ids);
        Ok(slots
            .into_iter()
            .map(|slot| match slot {
                Some(done) => done,
                None => match applied.next() {
                    Some((Ok(a), id)) => Ok(BatchSuccess {
                        id,
                        created: created(&a),
                    }),
                    Some((Err(e), id)) => Err((id, e)),
                    None => Err((
                        String::new(),
                        BrokerError::internal("store lost a batch outcome"),
                    )),
                },
            })
            .collect())
    }

    /// Batch create.
    pub async fn batch_create(&self, s: &Scope, items: &[Value]) -> Result<Vec<BatchOutcome>> {
        let now = self.now();
        let changes = items
            .iter()
            .map(|b| {
                parse::entity(b, &s.ctx, now)
                    .map(create_change)
                    .map_err(|e| (item_id(b), e))
            })
            .collect();
        self.batch(s, changes, |_| true).await
    }

    /// Batch upsert: `replace` replaces existing entities, otherwise their attributes are updated.
    pub async fn batch_upsert(
        &self,
        s: &Scope,
        items: &[Value],
        update_mode: bool,
    ) -> Result<Vec<BatchOutcome>> {
        let now = self.now();
        let changes = items
            .iter()
            .map(|b| {
                let e = parse::entity(b, &s.ctx, now).map_err(|e| (item_id(b), e))?;
                Ok(Change::new(e.id.clone(), move |cur| {
                    Ok(Some(match cur {
                        None => e,
                        Some(old) if update_mode => {
                            let mut merged = old.clone();
                            for t in &e.types {
                                if !merged.types.contains(t) {
                                    merged.types.push(t.clone());
                                }
                            }
                            ops::append(&mut merged, e.attrs, false, now);
                            merged.modified_at = now;
                            merged
                        }
                        Some(old) => Entity {
                            created_at: old.created_at,
                            ..e
                        },
                    }))
                }))
            })
            .collect();
        self.batch(s, changes, |a| a.before.is_none()).await
    }

    /// Batch update: appends attributes (and types) to existing entities. An entity some of
    /// whose attributes were kept because of noOverwrite is reported as an error.
    pub async fn batch_update(
        &self,
        s: &Scope,
        items: &[Value],
        no_overwrite: bool,
    ) -> Result<Vec<BatchOutcome>> {
        let now = self.now();
        let partial: Arc<std::sync::Mutex<Vec<(String, String)>>> = Arc::default();
        let changes = items
            .iter()
            .map(|b| {
                let e = parse::entity(b, &s.ctx, now).map_err(|e| (item_id(b), e))?;
                let id = e.id.clone();
                let partial = partial.clone();
                Ok(Change::new(e.id.clone(), move |cur| {
                    let mut merged = cur.ok_or_else(|| not_found(&id))?.clone();
                    for t in &e.types {
                        if !merged.types.contains(t) {
                            merged.types.push(t.clone());
                        }
                    }
                    let r = ops::append(&mut merged, e.attrs, no_overwrite, now);
                    if !r.complete() {
                        let names: Vec<&str> =
                            r.not_updated.iter().map(|(n, _)| n.as_str()).collect();
                        if let Ok(mut p) = partial.lock() {
                            p.push((
                                id.clone(),
                                format!("attributes not overwritten: {}", names.join(", ")),
                            ));
                        }
                    }
                    Ok(Some(merged))
                }))
            })
            .collect();
        let mut out = self.batch(s, changes, |_| false).await?;
        let partial = partial.lock().map(|p| p.clone()).unwrap_or_default();
        for o in &mut out {
            if let Ok(ok) = o
                && let Some((_, msg)) = partial.iter().find(|(id, _)| *id == ok.id)
            {
                *o = Err((ok.id.clone(), BrokerError::bad_data(msg.clone())));
            }
        }
        Ok(out)
    }

    /// Batch merge.
    pub async fn batch_merge(&self, s: &Scope, items: &[Value]) -> Result<Vec<BatchOutcome>> {
        let changes = items
            .iter()
            .map(|b| {
                let id = item_id(b);
                let obj = b.as_object().cloned().ok_or_else(|| {
                    (
                        id.clone(),
                        BrokerError::bad_data("an entity must be a JSON object"),
                    )
                })?;
                if !parse::is_uri(&id) {
                    return Err((id, BrokerError::bad_data("entity id missing or not a URI")));
                }
                // Validate the fragment before looking at the stored entity.
                let (_, rest) = ops::split_nulls(&obj, &s.ctx).map_err(|e| (id.clone(), e))?;
                parse::attributes(&rest, &s.ctx, self.now()).map_err(|e| (id.clone(), e))?;
                let ctx = s.ctx.clone();
                let now = self.now();
                let owned = id.clone();
                Ok(Change::new(id, move |cur| {
                    let mut e = cur.ok_or_else(|| not_found(&owned))?.clone();
                    ops::merge_entity(&mut e, &obj, &ctx, now)?;
                    Ok(Some(e))
                }))
            })
            .collect();
        self.batch(s, changes, |_| false).await
    }

    /// Batch delete.
    pub async fn batch_delete(&self, s: &Scope, ids: &[Value]) -> Result<Vec<BatchOutcome>> {
        let changes = ids
            .iter()
            .map(|v| match v.as_str() {
                Some(id) if parse::is_uri(id) => {
                    let owned = id.to_owned();
                    Ok(Change::new(id, move |cur| match cur {
                        Some(_) => Ok(None),
                        None => Err(not_found(&owned)),
                    }))
                }
                _ => Err((
                    v.as_str().unwrap_or_default().to_owned(),
                    BrokerError::bad_data("entity ids must be URIs"),
                )),
            })
            .collect();
        self.batch(s, changes, |_| false).await
    }

    /// Every entity of the tenant that matches `q` (no paging), for discovery endpoints.
    pub async fn all(&self, s: &Scope, q: &EntityQuery) -> Result<Vec<Arc<Entity>>> {
        self.check_tenant(&s.tenant).await?;
        let candidates = self.store.scan(&s.tenant, &q.prefilter()).await?;
        Ok(candidates.into_iter().filter(|e| q.matches(e)).collect())
    }
}

/// The non-attribute members of a fragment: extra types and scopes.
struct EntityHead {
    types: Vec<String>,
    scopes: Option<Vec<String>>,
}

impl EntityHead {
    fn read(obj: &Map<String, Value>, ctx: &jsonld::Context) -> Result<Self> {
        let types = match obj.get("type").or_else(|| obj.get("@type")) {
            Some(t) => parse::entity_types(Some(t), ctx)?,
            None => Vec::new(),
        };
        let scopes = obj.get("scope").map(parse::scopes).transpose()?;
        Ok(Self { types, scopes })
    }

    fn apply_types(&self, e: &mut Entity) {
        for t in &self.types {
            if !e.types.contains(t) {
                e.types.push(t.clone());
            }
        }
    }

    /// Adds the types; replaces the scopes (or adds them when `overwrite` is false).
    fn apply(&self, e: &mut Entity, overwrite: bool) {
        self.apply_types(e);
        if let Some(sc) = &self.scopes {
            if overwrite {
                e.scopes = sc.clone();
            } else {
                for x in sc {
                    if !e.scopes.contains(x) {
                        e.scopes.push(x.clone());
                    }
                }
            }
        }
    }
}

fn create_change(e: Entity) -> Change {
    let id = e.id.clone();
    Change::new(id.clone(), move |cur| match cur {
        Some(_) => Err(BrokerError::exists(format!("entity '{id}' already exists")).at(id)),
        None => Ok(Some(e)),
    })
}

fn item_id(v: &Value) -> String {
    v.get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn fragment(body: &Value) -> Result<&Map<String, Value>> {
    body.as_object()
        .ok_or_else(|| BrokerError::invalid("the body must be a JSON object"))
}

/// Rejects ids in URLs that are not URIs.
pub fn check_id(id: &str) -> Result<()> {
    if parse::is_uri(id) {
        Ok(())
    } else {
        Err(BrokerError::bad_data(format!(
            "'{id}' is not a valid entity id (a URI)"
        )))
    }
}
