//! Subscription matching, throttling, expiry and periodic notifications with an injected
//! clock: the engine is driven directly over the real embedded store, time never sleeps.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use broker::model::Timestamp;
use broker::subscription::{NotificationSink, Outgoing, Subscriptions};
use broker::{Broker, Clock, Limits, Scope};
use chrono::{Duration, TimeZone, Utc};
use jsonld::{ContextLoader, ContextRegistry, LoadError};
use serde_json::{Map, Value, json};
use store_sqlite::{Durability, SqliteStore};

struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    fn advance(&self, secs: i64) {
        *self.0.lock().unwrap() += Duration::seconds(secs);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

#[derive(Default)]
struct Capture(Mutex<Vec<Outgoing>>);

impl Capture {
    fn take(&self) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .drain(..)
            .map(|o| serde_json::from_slice(&o.body).unwrap())
            .collect()
    }
}

impl NotificationSink for Capture {
    fn send(&self, n: Outgoing) {
        self.0.lock().unwrap().push(n);
    }
}

struct NoNetwork;

#[async_trait]
impl ContextLoader for NoNetwork {
    async fn load(&self, url: &str) -> Result<Value, LoadError> {
        Err(LoadError::new(format!("offline: {url}")))
    }
}

struct World {
    broker: Broker,
    subs: Arc<Subscriptions>,
    sent: Arc<Capture>,
    clock: Arc<ManualClock>,
    store: SqliteStore,
    scope: Scope,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("q.db"), Durability::Full).unwrap();
    world_on(store, dir).await
}

async fn world_on(store: SqliteStore, dir: tempfile::TempDir) -> World {
    let clock = Arc::new(ManualClock(Mutex::new(
        Utc.with_ymd_and_hms(2026, 3, 1, 8, 0, 0).unwrap(),
    )));
    let contexts = ContextRegistry::new(Arc::new(NoNetwork), jsonld::CORE_V1_8);
    let sent = Arc::new(Capture::default());
    let subs = Arc::new(
        Subscriptions::load(
            Arc::new(store.clone()),
            sent.clone(),
            contexts.clone(),
            clock.clone(),
        )
        .await
        .unwrap(),
    );
    let broker = Broker::new(Arc::new(store.clone()), clock.clone(), Limits::default())
        .with_listener(subs.clone());
    let scope = Scope {
        tenant: "pb".into(),
        ctx: contexts.active(None).await.unwrap(),
    };
    World {
        broker,
        subs,
        sent,
        clock,
        store,
        scope,
        _dir: dir,
    }
}

fn sub(extra: Value) -> Map<String, Value> {
    let mut doc = json!({
        "type": "Subscription",
        "entities": [{"type": "AirQualityObserved"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}, "format": "keyValues"}
    });
    for (k, v) in extra.as_object().unwrap() {
        doc[k] = v.clone();
    }
    doc.as_object().unwrap().clone()
}

async fn subscribe(w: &World, extra: Value) -> String {
    w.subs
        .create("pb", sub(extra), Value::Null, jsonld::CORE_V1_8.into())
        .await
        .unwrap()
}

async fn set_no2(w: &World, v: f64) {
    let body = json!({"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved",
                      "no2": {"type": "Property", "value": v}});
    w.broker
        .batch_upsert(&w.scope, &[body], true)
        .await
        .unwrap();
}

#[tokio::test]
async fn changes_notify_with_the_spec_payload() {
    let w = world().await;
    let id = subscribe(&w, json!({"watchedAttributes": ["no2"], "q": "no2>40"})).await;
    set_no2(&w, 30.0).await;
    assert!(w.sent.take().is_empty(), "q does not match");
    set_no2(&w, 45.0).await;
    let n = w.sent.take();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0]["type"], "Notification");
    assert_eq!(n[0]["subscriptionId"], id.as_str());
    assert_eq!(n[0]["triggerReason"], "attributeUpdated");
    assert_eq!(n[0]["notifiedAt"], "2026-03-01T08:00:00.000Z");
    assert!(
        n[0]["id"]
            .as_str()
            .unwrap()
            .starts_with("urn:ngsi-ld:Notification:")
    );
    assert_eq!(
        n[0]["data"],
        json!([{"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved", "no2": 45.0}])
    );
    // An unwatched attribute changes nothing.
    let other = json!({"id": "urn:ngsi-ld:AirQualityObserved:1", "type": "AirQualityObserved",
                       "pm10": {"type": "Property", "value": 1}});
    w.broker
        .batch_upsert(&w.scope, &[other], true)
        .await
        .unwrap();
    assert!(w.sent.take().is_empty());
    assert_eq!(
        w.subs.render(&w.subs.get("pb", &id).unwrap(), false)["notification"]["timesSent"],
        1
    );
}

#[tokio::test]
async fn throttling_suppresses_notifications_within_the_window() {
    let w = world().await;
    subscribe(&w, json!({"throttling": 10})).await;
    set_no2(&w, 1.0).await;
    assert_eq!(w.sent.take().len(), 1);
    w.clock.advance(5);
    set_no2(&w, 2.0).await;
    assert_eq!(w.sent.take().len(), 0, "5 s after the last one: throttled");
    w.clock.advance(6);
    set_no2(&w, 3.0).await;
    assert_eq!(w.sent.take().len(), 1, "11 s after the last one");
}

#[tokio::test]
async fn an_expired_or_paused_subscription_stays_silent() {
    let w = world().await;
    let expiring = subscribe(&w, json!({"expiresAt": "2026-03-01T08:01:00Z"})).await;
    subscribe(&w, json!({"isActive": false})).await;
    set_no2(&w, 1.0).await;
    assert_eq!(w.sent.take().len(), 1, "only the active one");
    w.clock.advance(61);
    set_no2(&w, 2.0).await;
    assert!(w.sent.take().is_empty());
    assert_eq!(
        w.subs.render(&w.subs.get("pb", &expiring).unwrap(), false)["status"],
        "expired"
    );
    let err = w
        .subs
        .create(
            "pb",
            sub(json!({"expiresAt": "2020-01-01T00:00:00Z"})),
            Value::Null,
            String::new(),
        )
        .await;
    assert_eq!(
        err.unwrap_err().kind,
        ngsild_proto::ErrorType::BadRequestData,
        "expiresAt in the past"
    );
}

#[tokio::test]
async fn time_interval_sends_the_matching_entities_periodically() {
    let w = world().await;
    subscribe(&w, json!({"timeInterval": 5})).await;
    w.subs.tick(&w.store).await;
    assert!(
        w.sent.take().is_empty(),
        "no matching entity, no notification"
    );
    set_no2(&w, 7.0).await;
    assert!(
        w.sent.take().is_empty(),
        "changes do not notify a periodic subscription"
    );
    w.clock.advance(5);
    w.subs.tick(&w.store).await;
    let n = w.sent.take();
    assert_eq!(n.len(), 1);
    assert_eq!(n[0]["data"][0]["no2"], 7.0);
    assert!(n[0].get("triggerReason").is_none());
    w.clock.advance(2);
    w.subs.tick(&w.store).await;
    assert!(w.sent.take().is_empty(), "2 s later: not due");
    w.clock.advance(3);
    w.subs.tick(&w.store).await;
    assert_eq!(w.sent.take().len(), 1, "5 s later: due again");
}

#[tokio::test]
async fn entity_and_attribute_triggers_report_their_reason() {
    let w = world().await;
    subscribe(&w, json!({"notificationTrigger": ["entityCreated", "attributeDeleted", "entityDeleted"],
                         "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}, "format": "normalized"}})).await;
    set_no2(&w, 1.0).await;
    let n = w.sent.take();
    assert_eq!(n[0]["triggerReason"], "entityCreated");
    set_no2(&w, 2.0).await;
    assert!(
        w.sent.take().is_empty(),
        "attributeUpdated is not subscribed"
    );
    let id = "urn:ngsi-ld:AirQualityObserved:1";
    w.broker
        .delete_attr(&w.scope, id, "no2", None, false)
        .await
        .unwrap();
    let n = w.sent.take();
    assert_eq!(n[0]["triggerReason"], "attributeDeleted");
    assert_eq!(
        n[0]["data"][0]["no2"],
        json!({"type": "Property", "value": "urn:ngsi-ld:null"})
    );
    w.broker.delete(&w.scope, id).await.unwrap();
    let n = w.sent.take();
    assert_eq!(n[0]["triggerReason"], "entityDeleted");
    assert_eq!(n[0]["data"][0]["deletedAt"], "2026-03-01T08:00:00.000Z");
}

#[tokio::test]
async fn subscriptions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let id = {
        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        let w = world_on(store, tempfile::tempdir().unwrap()).await;
        subscribe(
            &w,
            json!({"watchedAttributes": ["no2"], "subscriptionName": "NO2 Paderborn"}),
        )
        .await
    };
    let store = SqliteStore::open(&path, Durability::Full).unwrap();
    let w = world_on(store, dir).await;
    let s = w.subs.get("pb", &id).unwrap();
    assert_eq!(
        w.subs.render(&s, false)["subscriptionName"],
        "NO2 Paderborn"
    );
    set_no2(&w, 9.0).await;
    assert_eq!(
        w.sent.take().len(),
        1,
        "the reloaded subscription still matches"
    );
}
