//! The wire form of a subscription: the client's document plus defaults and status.

use serde_json::{Map, Value, json};

use super::Subscriptions;
use super::model::Subscription;
use crate::model::Timestamp;
use crate::render::timestamp;

/// Renders a subscription as GET /subscriptions/{id} answers it.
pub fn render(sub: &Subscription, now: &Timestamp, sys_attrs: bool) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("id".into(), sub.id.clone().into());
    out.insert("type".into(), "Subscription".into());
    for (k, v) in &sub.doc {
        if k != "type" && k != "notification" {
            out.insert(k.clone(), v.clone());
        }
    }
    if !out.contains_key("notificationTrigger") {
        out.insert(
            "notificationTrigger".into(),
            json!(["attributeCreated", "attributeUpdated"]),
        );
    }
    out.insert("status".into(), Subscriptions::status(sub, now).into());
    out.insert(
        "jsonldContext".into(),
        sub.compiled.context_url.clone().into(),
    );
    let mut n = sub
        .doc
        .get("notification")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if !n.contains_key("format") {
        n.insert("format".into(), "normalized".into());
    }
    if let Ok(c) = sub.counters.lock() {
        n.insert("timesSent".into(), c.times_sent.into());
        n.insert("timesFailed".into(), c.times_failed.into());
        if c.times_dropped > 0 {
            n.insert("timesDropped".into(), c.times_dropped.into());
        }
        if let Some(t) = &c.last_notification {
            n.insert("lastNotification".into(), timestamp(t).into());
        }
        if let Some(t) = &c.last_success {
            n.insert("lastSuccess".into(), timestamp(t).into());
        }
        if let Some(t) = &c.last_failure {
            n.insert("lastFailure".into(), timestamp(t).into());
        }
        if c.times_sent > 0 {
            n.insert(
                "status".into(),
                if c.last_ok == Some(false) {
                    "failed"
                } else {
                    "ok"
                }
                .into(),
            );
        }
    }
    out.insert("notification".into(), Value::Object(n));
    if sys_attrs {
        out.insert("createdAt".into(), timestamp(&sub.created_at).into());
        out.insert("modifiedAt".into(), timestamp(&sub.modified_at).into());
    }
    out
}
