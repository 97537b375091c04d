//! A subscription: the document as the client wrote it (kept for display and storage) and
//! its compiled form (names expanded, query parsed) that matching uses.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use jsonld::Context;
use serde_json::{Map, Value};

use crate::model::Timestamp;
use crate::query::EntityQuery;
use crate::render::Format;

/// What kinds of change notify (`notificationTrigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// A new entity.
    EntityCreated,
    /// Any attribute created, updated or deleted on an existing entity.
    EntityUpdated,
    /// An entity deleted.
    EntityDeleted,
    /// An attribute added.
    AttributeCreated,
    /// An attribute's content changed.
    AttributeUpdated,
    /// An attribute removed.
    AttributeDeleted,
}

impl Trigger {
    /// Parses a trigger name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "entityCreated" => Self::EntityCreated,
            "entityUpdated" => Self::EntityUpdated,
            "entityDeleted" => Self::EntityDeleted,
            "attributeCreated" => Self::AttributeCreated,
            "attributeUpdated" => Self::AttributeUpdated,
            "attributeDeleted" => Self::AttributeDeleted,
            _ => return None,
        })
    }

    /// The name used on the wire (and as `triggerReason`).
    pub fn name(self) -> &'static str {
        match self {
            Self::EntityCreated => "entityCreated",
            Self::EntityUpdated => "entityUpdated",
            Self::EntityDeleted => "entityDeleted",
            Self::AttributeCreated => "attributeCreated",
            Self::AttributeUpdated => "attributeUpdated",
            Self::AttributeDeleted => "attributeDeleted",
        }
    }
}

/// Where and how notifications go.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSpec {
    /// `http(s)://…` or `mqtt(s)://host:port/topic`.
    pub uri: String,
    /// `application/json` (default), `application/ld+json` or `application/geo+json`.
    pub accept: Option<String>,
    /// Extra headers for the receiver.
    pub receiver_info: Vec<(String, String)>,
    /// Settings for the notifier (MQTT version, QoS).
    pub notifier_info: Vec<(String, String)>,
}

/// The compiled subscription.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// Which entities (selectors, q, geoQ, scopeQ); attrs stays empty.
    pub query: EntityQuery,
    /// Watched attributes (expanded); `None` = any.
    pub watched: Option<HashSet<String>>,
    /// Triggers in force.
    pub triggers: HashSet<Trigger>,
    /// Attributes to include (expanded); `None` = all.
    pub attributes: Option<HashSet<String>>,
    /// Entity members to keep (`notification.pick`; expanded, `id`/`type` literal).
    pub pick: Option<HashSet<String>>,
    /// Entity members to drop (`notification.omit`).
    pub omit: Option<HashSet<String>>,
    /// Linked entities to add (`notification.join`, `joinLevel`).
    pub join: Option<(crate::linked::Join, usize)>,
    /// Representation of the entities.
    pub format: Format,
    /// Include createdAt/modifiedAt.
    pub sys_attrs: bool,
    /// Include previous values.
    pub show_changes: bool,
    /// Preferred language.
    pub lang: Option<String>,
    /// Only these datasetIds (`None` in the set = default instance).
    pub dataset_ids: Option<HashSet<Option<String>>>,
    /// The endpoint.
    pub endpoint: EndpointSpec,
    /// Minimum seconds between notifications.
    pub throttling: Option<f64>,
    /// Periodic notifications every so many seconds.
    pub time_interval: Option<f64>,
    /// When the subscription stops.
    pub expires_at: Option<Timestamp>,
    /// `isActive`.
    pub active: bool,
    /// The context the subscription was written with (its names are expanded with it).
    pub ctx: Arc<Context>,
    /// The context notifications are compacted with (`jsonldContext`, else `ctx`).
    pub render_ctx: Arc<Context>,
    /// The context's URL, named in notifications.
    pub context_url: String,
}

/// Delivery bookkeeping shown in the subscription's `notification` member.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    /// Notifications handed to the notifier.
    pub times_sent: u64,
    /// Notifications that failed after retries.
    pub times_failed: u64,
    /// Notifications dropped (queue full, host not allowed).
    pub times_dropped: u64,
    /// Last notification attempt.
    pub last_notification: Option<Timestamp>,
    /// Last success.
    pub last_success: Option<Timestamp>,
    /// Last failure.
    pub last_failure: Option<Timestamp>,
    /// Outcome of the last delivery: true = ok.
    pub last_ok: Option<bool>,
}

/// One subscription as the engine holds it.
#[derive(Debug)]
pub struct Subscription {
    /// The tenant.
    pub tenant: String,
    /// The subscription id.
    pub id: String,
    /// The document as written by the client (without `@context`, `id`, status members).
    pub doc: Map<String, Value>,
    /// The `@context` the document was written with (a URL or an inline context).
    pub context: Value,
    /// Created / modified.
    pub created_at: Timestamp,
    /// Last change of the document.
    pub modified_at: Timestamp,
    /// The compiled form.
    pub compiled: Compiled,
    /// Delivery bookkeeping.
    pub counters: Mutex<Counters>,
}
