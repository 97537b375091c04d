//! Wiring between the broker's subscriptions and the `notify` delivery components.

use std::sync::{Arc, OnceLock};

use broker::subscription::{Delivered, NotificationSink, Outgoing, Subscriptions};

/// Hands notifications to the notifier's queues.
pub struct Sink(pub notify::Notifier);

impl NotificationSink for Sink {
    fn send(&self, n: Outgoing) {
        self.0.submit(notify::Delivery {
            key: notify::SubscriptionKey {
                tenant: n.tenant,
                id: n.subscription_id,
            },
            endpoint: notify::Endpoint {
                uri: n.endpoint.uri,
                accept: n.endpoint.accept,
                receiver_info: n.endpoint.receiver_info,
                notifier_info: n.endpoint.notifier_info,
            },
            body: n.body.into(),
            content_type: n.content_type,
            link: n.link,
            order_key: n.order_key,
        });
    }
}

/// Reports delivery outcomes back to the subscriptions (set once they are loaded).
#[derive(Default)]
pub struct Outcomes(pub OnceLock<Arc<Subscriptions>>);

impl notify::OutcomeSink for Outcomes {
    fn record(&self, key: &notify::SubscriptionKey, outcome: notify::Outcome) {
        let Some(subs) = self.0.get() else { return };
        let d = match outcome {
            notify::Outcome::Delivered { at } => Delivered::Ok(at),
            notify::Outcome::Failed { at, .. } => Delivered::Failed(at),
            notify::Outcome::Dropped { at, .. } => Delivered::Dropped(at),
        };
        subs.record(&key.tenant, &key.id, d);
    }
}

/// The `/metrics` exposition: notification delivery counters.
pub struct Metrics(pub notify::Notifier);

impl http_api::Metrics for Metrics {
    fn render(&self) -> String {
        let s = self.0.stats();
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, kind: &str, v: u64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"
            ));
        };
        counter(
            "quartier_notifications_delivered_total",
            "Notifications the receiver accepted.",
            "counter",
            s.delivered,
        );
        counter(
            "quartier_notifications_failed_total",
            "Notifications that failed after retries.",
            "counter",
            s.failed,
        );
        counter(
            "quartier_notifications_dropped_total",
            "Notifications dropped (queue full, host not allowed).",
            "counter",
            s.dropped,
        );
        counter(
            "quartier_notifications_queued",
            "Notifications waiting or in flight.",
            "gauge",
            s.queued,
        );
        counter(
            "quartier_notification_workers",
            "Endpoint workers alive.",
            "gauge",
            s.workers,
        );
        out
    }
}
