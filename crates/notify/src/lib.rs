//! Notification delivery (GS CIM 009 clauses 5.8.6, 6.3.8 and 7.2).
//!
//! The broker hands each notification to [`Notifier::submit`], which never blocks: it
//! checks the endpoint URI and the host policy, then puts the [`Delivery`] on the bounded
//! queue of the endpoint's worker. Workers are tokio tasks created on demand:
//!
//! - **HTTP(S)**: [`NotifierConfig::lanes`] workers per endpoint URI; a delivery goes to the
//!   lane of its [`Delivery::order_key`]. Each lane POSTs its queue in order and retries
//!   connection errors, timeouts, 5xx, 408 and 429 with exponential backoff; other statuses
//!   end the delivery at once.
//! - **MQTT(S)**: one worker per broker connection (scheme, host, port, MQTT version,
//!   credentials), shared by every topic on it. The worker publishes its queue in order; it
//!   reconnects forever with backoff while messages wait in the queue.
//!
//! A slow, failing or unreachable endpoint therefore only fills its own queue: once full,
//! further deliveries to it are dropped and counted, and nothing else waits for it.
//! Every delivery ends in exactly one [`Outcome`] given to the [`OutcomeSink`], which the
//! broker uses to keep `timesSent`, `timesFailed`, `lastSuccess`, `lastFailure` and
//! `status` of the subscription.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod config;
mod http;
mod mqtt;
mod mqtt_conn;
mod notifier;
mod retry;
mod target;

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};

pub use config::NotifierConfig;
pub use mqtt::{MqttParams, MqttVersion, mqtt_message};
pub use notifier::{Notifier, NotifierStats};
pub use retry::Backoff;

/// Which subscription a delivery belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionKey {
    /// The tenant of the subscription; `""` is the default tenant.
    pub tenant: String,
    /// The subscription id.
    pub id: String,
}

/// Where and how to deliver: `notification.endpoint` of the subscription (clause 5.2.15).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `http`, `https`, `mqtt` or `mqtts` URI.
    pub uri: String,
    /// `endpoint.accept` as given by the subscriber (informative; the caller has already
    /// rendered the body in that form and put it in [`Delivery::content_type`]).
    pub accept: Option<String>,
    /// `endpoint.receiverInfo`: HTTP headers, or entries of the MQTT `metadata`.
    pub receiver_info: Vec<(String, String)>,
    /// `endpoint.notifierInfo`: `MQTT-Version` and `MQTT-QoS` for MQTT endpoints.
    pub notifier_info: Vec<(String, String)>,
}

/// One notification to deliver.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The subscription that produced it.
    pub key: SubscriptionKey,
    /// Where to send it.
    pub endpoint: Endpoint,
    /// The notification (clause 5.3.1), a serialised JSON object.
    pub body: Bytes,
    /// `application/json`, `application/ld+json` or `application/geo+json`.
    pub content_type: String,
    /// The `Link` header value referring to the `@context`. The caller supplies it for
    /// `application/json` (the default core context when the subscription has none, as
    /// clauses 6.3.8 and 7.2 require); it is sent whenever present.
    pub link: Option<String>,
    /// Deliveries to one HTTP endpoint with the same key are sent in the order they were
    /// submitted; deliveries with different keys may be sent in parallel (see
    /// [`NotifierConfig::lanes`]). The broker uses a hash of the (first) entity, so that
    /// the notifications about one entity arrive in order.
    pub order_key: u64,
}

/// How a delivery ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver accepted it (HTTP 2xx; MQTT PUBACK / PUBCOMP, or written for QoS 0).
    Delivered {
        /// When the receiver accepted it.
        at: DateTime<Utc>,
    },
    /// Sending failed: retries exhausted, or a permanent error (HTTP 4xx, MQTT refusal).
    Failed {
        /// When the last attempt failed.
        at: DateTime<Utc>,
        /// What went wrong, for logs and `lastFailure` diagnostics.
        reason: String,
    },
    /// Never attempted: queue full, host not allowed, bad URI, shutting down.
    Dropped {
        /// When it was dropped.
        at: DateTime<Utc>,
        /// Why.
        reason: String,
    },
}

impl Outcome {
    pub(crate) fn delivered() -> Self {
        Outcome::Delivered { at: Utc::now() }
    }

    pub(crate) fn failed(reason: impl Into<String>) -> Self {
        Outcome::Failed {
            at: Utc::now(),
            reason: reason.into(),
        }
    }

    pub(crate) fn dropped(reason: impl Into<String>) -> Self {
        Outcome::Dropped {
            at: Utc::now(),
            reason: reason.into(),
        }
    }
}

/// Receives the outcome of every submitted delivery, exactly once each.
///
/// Called from delivery tasks and from [`Notifier::submit`] (for drops), so it must be
/// quick and must not block.
pub trait OutcomeSink: Send + Sync + 'static {
    /// Record the outcome of one delivery of subscription `key`.
    fn record(&self, key: &SubscriptionKey, outcome: Outcome);
}

/// A sink that ignores outcomes.
impl OutcomeSink for () {
    fn record(&self, _key: &SubscriptionKey, _outcome: Outcome) {}
}

pub(crate) type Sink = Arc<dyn OutcomeSink>;
