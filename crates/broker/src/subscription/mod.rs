//! Subscriptions: the API's domain side, matching every applied change against the
//! tenant's subscriptions with the one query evaluator, and building notifications.
//!
//! Delivery is not done here: notifications go to a [`NotificationSink`] (the `notify`
//! crate's queues in the server), which reports outcomes back through [`Subscriptions::record`].
//! Matching runs inline after a commit and never waits on a receiver.

pub mod compile;
pub mod diff;
pub mod model;
pub mod payload;
mod view;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use jsonld::ContextRegistry;
use serde_json::{Map, Value, json};

pub use model::{Counters, EndpointSpec, Subscription, Trigger};

use crate::Clock;
use crate::error::{BrokerError, Result};
use crate::model::Timestamp;
use crate::store::{Applied, StoreError};

/// A notification ready for delivery.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The tenant of the subscription.
    pub tenant: String,
    /// The subscription.
    pub subscription_id: String,
    /// Where to.
    pub endpoint: EndpointSpec,
    /// The JSON document.
    pub body: Vec<u8>,
    /// `application/json`, `application/ld+json` or `application/geo+json`.
    pub content_type: String,
    /// A Link header naming the context, for plain JSON.
    pub link: Option<String>,
    /// A hash of the (first) entity the notification is about: notifications with the same
    /// key to one endpoint must arrive in the order they were sent.
    pub order_key: u64,
}

/// Takes notifications for delivery; must not block.
pub trait NotificationSink: Send + Sync + 'static {
    /// Queues one notification.
    fn send(&self, n: Outgoing);
}

/// How a delivery ended, reported back by the notifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivered {
    /// The receiver took it.
    Ok(Timestamp),
    /// It failed (after retries).
    Failed(Timestamp),
    /// It was dropped (queue full, host not allowed).
    Dropped(Timestamp),
}

/// A subscription as stored: the document with its system members.
#[derive(Debug, Clone)]
pub struct StoredSubscription {
    /// The tenant.
    pub tenant: String,
    /// The id.
    pub id: String,
    /// `{doc, context, contextUrl, createdAt, modifiedAt}`.
    pub record: Value,
}

/// Persistence of subscriptions.
#[async_trait]
pub trait SubscriptionStore: Send + Sync + 'static {
    /// Every stored subscription.
    async fn load(&self) -> Result<Vec<StoredSubscription>, StoreError>;
    /// Creates or replaces one.
    async fn save(&self, s: StoredSubscription) -> Result<(), StoreError>;
    /// Removes one.
    async fn remove(&self, tenant: &str, id: &str) -> Result<(), StoreError>;
}

type Table = HashMap<String, BTreeMap<String, Arc<Subscription>>>;

/// All subscriptions of all tenants.
pub struct Subscriptions {
    table: RwLock<Table>,
    store: Arc<dyn SubscriptionStore>,
    sink: Arc<dyn NotificationSink>,
    contexts: ContextRegistry,
    clock: Arc<dyn Clock>,
    last_sent: Mutex<HashMap<(String, String), Timestamp>>,
    entities: Option<Arc<dyn crate::store::EntityStore>>,
}

fn not_found(id: &str) -> BrokerError {
    BrokerError::not_found(format!("subscription '{id}' not found")).at(id)
}

impl Subscriptions {
    /// Loads and compiles every stored subscription.
    pub async fn load(
        store: Arc<dyn SubscriptionStore>,
        sink: Arc<dyn NotificationSink>,
        contexts: ContextRegistry,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let subs = Self {
            table: RwLock::new(HashMap::new()),
            store: store.clone(),
            sink,
            contexts,
            clock,
            last_sent: Mutex::new(HashMap::new()),
            entities: None,
        };
        for s in store.load().await? {
            match subs.compile_record(&s).await {
                Ok(sub) => subs.insert(Arc::new(sub)),
                Err(e) => {
                    tracing::error!(tenant = %s.tenant, id = %s.id, error = %e, "a stored subscription no longer compiles; it is inactive until updated")
                }
            }
        }
        Ok(subs)
    }

    /// Gives the engine read access to entities (for linked entities in notifications).
    pub fn with_entities(mut self, entities: Arc<dyn crate::store::EntityStore>) -> Self {
        self.entities = Some(entities);
        self
    }

    async fn compile_record(&self, s: &StoredSubscription) -> Result<Subscription> {
        let r = &s.record;
        let doc = r["doc"].as_object().cloned().unwrap_or_default();
        let context = r["context"].clone();
        let url = r["contextUrl"]
            .as_str()
            .unwrap_or(self.contexts.default_core())
            .to_owned();
        let ctx = self
            .contexts
            .active(if context.is_null() {
                None
            } else {
                Some(&context)
            })
            .await?;
        let now = self.clock.now();
        let compiled = compile::compile(&doc, ctx, url, now, false)?;
        let compiled = self.with_explicit_context(&doc, compiled).await?;
        let ts = |k: &str| {
            r[k].as_str()
                .and_then(crate::parse::parse_datetime)
                .unwrap_or(now)
        };
        Ok(Subscription {
            tenant: s.tenant.clone(),
            id: s.id.clone(),
            doc,
            context,
            created_at: ts("createdAt"),
            modified_at: ts("modifiedAt"),
            compiled,
            counters: Mutex::new(Counters::default()),
        })
    }

    /// Applies an explicit `jsonldContext` member: notifications are compacted with it and
    /// name it. An unavailable context is a 503, an invalid one a 400.
    async fn with_explicit_context(
        &self,
        doc: &Map<String, Value>,
        mut c: model::Compiled,
    ) -> Result<model::Compiled> {
        match doc.get("jsonldContext") {
            None => Ok(c),
            Some(Value::String(url)) if crate::parse::is_uri(url) => {
                c.render_ctx = self
                    .contexts
                    .active(Some(&Value::String(url.clone())))
                    .await?;
                c.context_url = url.clone();
                Ok(c)
            }
            Some(_) => Err(BrokerError::bad_data("jsonldContext must be a URI")),
        }
    }

    fn record_of(sub: &Subscription) -> StoredSubscription {
        StoredSubscription {
            tenant: sub.tenant.clone(),
            id: sub.id.clone(),
            record: json!({
                "doc": sub.doc, "context": sub.context, "contextUrl": sub.compiled.context_url,
                "createdAt": crate::render::timestamp(&sub.created_at),
                "modifiedAt": crate::render::timestamp(&sub.modified_at),
            }),
        }
    }

    fn insert(&self, sub: Arc<Subscription>) {
        if let Ok(mut t) = self.table.write() {
            t.entry(sub.tenant.clone())
                .or_default()
                .insert(sub.id.clone(), sub);
        }
    }

    /// One subscription.
    pub fn get(&self, tenant: &str, id: &str) -> Result<Arc<Subscription>> {
        self.table
            .read()
            .ok()
            .and_then(|t| t.get(tenant)?.get(id).cloned())
            .ok_or_else(|| not_found(id))
    }

    /// All subscriptions of a tenant, oldest first.
    pub fn list(&self, tenant: &str) -> Vec<Arc<Subscription>> {
        let mut all: Vec<Arc<Subscription>> = self
            .table
            .read()
            .map(|t| {
                t.get(tenant)
                    .map(|m| m.values().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        all.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        all
    }

    /// Create Subscription: `doc` without `@context`; `context` is the @context in force,
    /// `context_url` the URL notifications name. Returns the id.
    pub async fn create(
        &self,
        tenant: &str,
        mut doc: Map<String, Value>,
        context: Value,
        context_url: String,
    ) -> Result<String> {
        let id = match doc.remove("id") {
            Some(Value::String(id)) if crate::parse::is_uri(&id) => id,
            Some(_) => return Err(BrokerError::bad_data("the subscription id must be a URI")),
            None => format!("urn:ngsi-ld:Subscription:{}", uuid::Uuid::new_v4()),
        };
        for system in ["status", "createdAt", "modifiedAt"] {
            doc.remove(system);
        }
        let ctx = self
            .contexts
            .active(if context.is_null() {
                None
            } else {
                Some(&context)
            })
            .await?;
        let now = self.clock.now();
        let compiled = compile::compile(&doc, ctx, context_url, now, true)?;
        let compiled = self.with_explicit_context(&doc, compiled).await?;
        if self.get(tenant, &id).is_ok() {
            return Err(BrokerError::exists(format!("subscription '{id}' already exists")).at(id));
        }
        let sub = Subscription {
            tenant: tenant.to_owned(),
            id: id.clone(),
            doc,
            context,
            created_at: now,
            modified_at: now,
            compiled,
            counters: Mutex::new(Counters::default()),
        };
        self.store.save(Self::record_of(&sub)).await?;
        self.insert(Arc::new(sub));
        Ok(id)
    }

    /// Update Subscription: the fragment's members replace the document's.
    pub async fn update(&self, tenant: &str, id: &str, fragment: Map<String, Value>) -> Result<()> {
        let old = self.get(tenant, id)?;
        if let Some(Value::String(given)) = fragment.get("id")
            && given != id
        {
            return Err(BrokerError::bad_data("the subscription id cannot change"));
        }
        let mut doc = old.doc.clone();
        for (k, v) in fragment {
            if !["id", "@context", "status", "createdAt", "modifiedAt"].contains(&k.as_str()) {
                doc.insert(k, v);
            }
        }
        let now = self.clock.now();
        let compiled = compile::compile(
            &doc,
            old.compiled.ctx.clone(),
            old.compiled.context_url.clone(),
            now,
            true,
        )?;
        let compiled = self.with_explicit_context(&doc, compiled).await?;
        let counters = old.counters.lock().map(|c| c.clone()).unwrap_or_default();
        let sub = Subscription {
            tenant: tenant.to_owned(),
            id: id.to_owned(),
            doc,
            context: old.context.clone(),
            created_at: old.created_at,
            modified_at: now,
            compiled,
            counters: Mutex::new(counters),
        };
        self.store.save(Self::record_of(&sub)).await?;
        self.insert(Arc::new(sub));
        Ok(())
    }

    /// Delete Subscription.
    pub async fn delete(&self, tenant: &str, id: &str) -> Result<()> {
        self.get(tenant, id)?;
        self.store.remove(tenant, id).await?;
        if let Ok(mut t) = self.table.write()
            && let Some(m) = t.get_mut(tenant)
        {
            m.remove(id);
        }
        Ok(())
    }

    /// Forgets everything (the admin reset).
    pub fn clear(&self) {
        if let Ok(mut t) = self.table.write() {
            t.clear();
        }
    }

    /// Records how a delivery ended.
    pub fn record(&self, tenant: &str, id: &str, outcome: Delivered) {
        let Ok(sub) = self.get(tenant, id) else {
            return;
        };
        let Ok(mut c) = sub.counters.lock() else {
            return;
        };
        match outcome {
            Delivered::Ok(t) => {
                c.last_success = Some(t);
                c.last_ok = Some(true);
            }
            Delivered::Failed(t) => {
                c.times_failed += 1;
                c.last_failure = Some(t);
                c.last_ok = Some(false);
            }
            Delivered::Dropped(t) => {
                c.times_dropped += 1;
                c.last_failure = Some(t);
                c.last_ok = Some(false);
            }
        }
    }

    /// The subscription's status at `now`: active, paused or expired.
    pub fn status(sub: &Subscription, now: &Timestamp) -> &'static str {
        if sub.compiled.expires_at.is_some_and(|e| e <= *now) {
            "expired"
        } else if !sub.compiled.active {
            "paused"
        } else {
            "active"
        }
    }

    /// The wire form of a subscription.
    pub fn render(&self, sub: &Subscription, sys_attrs: bool) -> Map<String, Value> {
        view::render(sub, &self.clock.now(), sys_attrs)
    }

    /// Matches applied changes of `tenant` and sends the notifications they trigger.
    pub async fn changed(&self, tenant: &str, applied: &[Applied]) {
        // On the write path: no sorting, and each change is diffed at most once.
        let subs: Vec<Arc<Subscription>> = self
            .table
            .read()
            .map(|t| {
                t.get(tenant)
                    .map(|m| m.values().cloned().collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        if subs.is_empty() || applied.is_empty() {
            return;
        }
        let diffs: Vec<std::cell::OnceCell<diff::AttrChanges>> =
            applied.iter().map(|_| Default::default()).collect();
        let now = self.clock.now();
        for sub in subs {
            let c = &sub.compiled;
            if Self::status(&sub, &now) != "active" || c.time_interval.is_some() {
                continue;
            }
            let mut data = Vec::new();
            let mut reason = None;
            for (a, cached) in applied.iter().zip(&diffs) {
                let (before, after) = (a.before.as_deref(), a.after.as_deref());
                let Some(subject) = after.or(before) else {
                    continue;
                };
                if !c.query.matches(subject) {
                    continue;
                }
                let changes = cached.get_or_init(|| diff::diff(before, after));
                let Some(t) =
                    diff::trigger(before, after, changes, &c.triggers, c.watched.as_ref())
                else {
                    continue;
                };
                reason.get_or_insert(t);
                data.push(payload::entity_data(c, before, after, changes, t, &now));
            }
            if data.is_empty() {
                continue;
            }
            if let Some((join, level)) = c.join {
                data = self.joined(&sub, applied, join, level, data).await;
            }
            if let Some(th) = c.throttling {
                let key = (tenant.to_owned(), sub.id.clone());
                let mut last = self.last_sent.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(prev) = last.get(&key) {
                    let elapsed = (now - *prev).num_milliseconds() as f64 / 1000.0;
                    if elapsed < th {
                        continue;
                    }
                }
                last.insert(key, now);
            }
            self.dispatch(&sub, data, reason, now);
        }
    }

    /// Adds the linked entities of the notified entities (`notification.join`).
    async fn joined(
        &self,
        sub: &Subscription,
        applied: &[Applied],
        join: crate::linked::Join,
        level: usize,
        data: Vec<Value>,
    ) -> Vec<Value> {
        let c = &sub.compiled;
        let roots: Vec<Arc<crate::model::Entity>> = applied
            .iter()
            .filter_map(|a| a.after.clone())
            .filter(|e| {
                data.iter()
                    .any(|d| d.get("id").and_then(Value::as_str) == Some(e.id.as_str()))
            })
            .collect();
        let Some(entities) = &self.entities else {
            return data;
        };
        let tree = crate::linked::ProjTree::default();
        let Ok(linked) =
            crate::linked::collect(&**entities, &sub.tenant, &roots, level, &tree).await
        else {
            return data;
        };
        if linked.is_empty() {
            return data;
        }
        let opts = payload::render_options(c);
        let rendered = crate::linked::render_joined(
            &roots,
            &linked,
            Some((join, level)),
            &c.render_ctx,
            &opts,
            &tree,
        );
        match join {
            crate::linked::Join::Inline => rendered.into_iter().map(Value::Object).collect(),
            crate::linked::Join::Flat => {
                let mut out = data;
                out.extend(rendered.into_iter().skip(roots.len()).map(Value::Object));
                out
            }
        }
    }

    /// Sends the periodic notifications that are due (subscriptions with `timeInterval`):
    /// every matching entity of the subscription, if there is any. Call it regularly (the
    /// server does, every second); time comes from the injected clock.
    pub async fn tick(&self, entities: &dyn crate::store::EntityStore) {
        let now = self.clock.now();
        let all: Vec<Arc<Subscription>> = self
            .table
            .read()
            .map(|t| t.values().flat_map(|m| m.values().cloned()).collect())
            .unwrap_or_default();
        for sub in all {
            let c = &sub.compiled;
            let Some(interval) = c.time_interval else {
                continue;
            };
            if Self::status(&sub, &now) != "active" {
                continue;
            }
            let key = (sub.tenant.clone(), sub.id.clone());
            {
                let mut last = self.last_sent.lock().unwrap_or_else(|p| p.into_inner());
                let due = last.get(&key).is_none_or(|prev| {
                    (now - *prev).num_milliseconds() as f64 >= interval * 1000.0
                });
                if !due {
                    continue;
                }
                last.insert(key, now);
            }
            let Ok(candidates) = entities.scan(&sub.tenant, &c.query.prefilter()).await else {
                continue;
            };
            let opts = payload::render_options(c);
            let data: Vec<Value> = candidates
                .iter()
                .filter(|e| c.query.matches(e))
                .map(|e| Value::Object(crate::render::entity(e, &c.render_ctx, &opts)))
                .collect();
            if !data.is_empty() {
                self.dispatch(&sub, data, None, now);
            }
        }
    }

    /// Sends one notification for `sub` with `data`.
    pub fn dispatch(
        &self,
        sub: &Subscription,
        data: Vec<Value>,
        reason: Option<Trigger>,
        now: Timestamp,
    ) {
        let c = &sub.compiled;
        let order_key = order_key(&data);
        let accept = c.endpoint.accept.as_deref().unwrap_or("application/json");
        let ld = accept == "application/ld+json";
        let data = if accept == "application/geo+json" {
            let features: Vec<Value> = data
                .into_iter()
                .filter_map(|d| d.as_object().cloned())
                .map(|m| {
                    crate::render::feature(
                        m,
                        &c.render_ctx.compact_iri(crate::model::iri::LOCATION),
                        c.format == crate::render::Format::KeyValues,
                    )
                })
                .collect();
            json!({ "type": "FeatureCollection", "features": features })
        } else {
            Value::Array(data)
        };
        let data = match data {
            Value::Array(items) if ld => Value::Array(
                items
                    .into_iter()
                    .map(|mut e| {
                        if let Some(o) = e.as_object_mut() {
                            o.insert("@context".into(), c.context_url.clone().into());
                        }
                        e
                    })
                    .collect(),
            ),
            other => other,
        };
        let body = payload::notification(&sub.id, data, reason, &now, ld, &c.context_url);
        let link = (!ld).then(|| {
            format!(
                "<{}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
                c.context_url
            )
        });
        if let Ok(mut counters) = sub.counters.lock() {
            counters.times_sent += 1;
            counters.last_notification = Some(now);
        }
        self.sink.send(Outgoing {
            tenant: sub.tenant.clone(),
            subscription_id: sub.id.clone(),
            endpoint: c.endpoint.clone(),
            body: serde_json::to_vec(&body).unwrap_or_default(),
            content_type: accept.to_owned(),
            link,
            order_key,
        });
    }
}

/// The ordering key of a notification: a hash of its first entity's id (the same in every
/// process, so the order does not depend on a random seed).
fn order_key(data: &[Value]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    data.first()
        .and_then(|e| e.get("id"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

#[async_trait]
impl crate::service::ChangeListener for Subscriptions {
    async fn changed(&self, tenant: &str, applied: &[Applied]) {
        Subscriptions::changed(self, tenant, applied).await;
    }
}
