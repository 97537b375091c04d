//! Metadata about stored `@context`s, as exposed by the `/jsonldContexts` API.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

/// The kind of a stored `@context` (clause 5.13.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextKind {
    /// Added explicitly by a client (`POST /jsonldContexts`); served on demand.
    Hosted,
    /// Downloaded by the broker while processing requests; a local cache only.
    Cached,
    /// Created by the broker from an inline context a client sent (e.g. a subscription's
    /// `@context` array), so that it can be referenced by URL; served on demand.
    ImplicitlyCreated,
}

impl ContextKind {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hosted => "Hosted",
            Self::Cached => "Cached",
            Self::ImplicitlyCreated => "ImplicitlyCreated",
        }
    }
}

impl fmt::Display for ContextKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ContextKind {
    type Err = String;

    /// Parses the exact wire names; anything else (the broker answers 400) is an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Hosted" => Ok(Self::Hosted),
            "Cached" => Ok(Self::Cached),
            "ImplicitlyCreated" => Ok(Self::ImplicitlyCreated),
            other => Err(format!("unknown @context kind {other:?}")),
        }
    }
}

/// Details of one stored `@context` (the `details=true` view of clause 5.13.3 / 5.13.4).
#[derive(Debug, Clone, PartialEq)]
pub struct ContextInfo {
    /// The URL the context is known by: its original URL for `Cached`, the broker's own
    /// serving URL for `Hosted` and `ImplicitlyCreated`. Serialised as `URL`.
    pub url: String,
    /// The locally unique identifier (`localId`).
    pub local_id: String,
    /// The kind of entry.
    pub kind: ContextKind,
    /// When the entry was stored, or last re-downloaded (`createdAt`).
    pub created_at: DateTime<Utc>,
    /// When the entry was last used or served (`lastUsage`), if ever.
    pub last_usage: Option<DateTime<Utc>>,
    /// How many times it was used or served (`numberOfHits`).
    pub number_of_hits: u64,
    /// Free-form extra information (`extraInfo`), e.g. that the entry is built in.
    pub extra_info: Option<Value>,
}

/// NGSI-LD DateTime text: UTC, milliseconds, `Z` suffix.
pub(crate) fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl ContextInfo {
    /// The JSON object the API returns for `details=true`.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        obj.insert("URL".into(), json!(self.url));
        obj.insert("localId".into(), json!(self.local_id));
        obj.insert("kind".into(), json!(self.kind.as_str()));
        obj.insert("createdAt".into(), json!(format_time(&self.created_at)));
        if let Some(t) = &self.last_usage {
            obj.insert("lastUsage".into(), json!(format_time(t)));
        }
        obj.insert("numberOfHits".into(), json!(self.number_of_hits));
        if let Some(extra) = &self.extra_info {
            obj.insert("extraInfo".into(), extra.clone());
        }
        Value::Object(obj)
    }
}

impl From<&ContextInfo> for Value {
    fn from(info: &ContextInfo) -> Self {
        info.to_json()
    }
}
