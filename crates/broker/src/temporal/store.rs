//! The storage seam of history: attribute instances over time, and aggregation over them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use crate::model::{Attribute, Timestamp};
use crate::store::StoreError;

/// One recorded attribute instance (a state of one attribute at one time).
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// The entity.
    pub entity_id: String,
    /// The attribute (expanded name).
    pub attr: String,
    /// `urn:ngsi-ld:AttributeInstance:<uuid>`, unique.
    pub instance_id: String,
    /// The instance as it was (kind, value, datasetId, observedAt, sub-attributes...).
    /// `created_at`/`modified_at` of the attribute are those of this record.
    pub attribute: Attribute,
    /// When the attribute (or its entity) was deleted, for deletion records.
    pub deleted_at: Option<Timestamp>,
}

impl Instance {
    /// The datasetId of the instance.
    pub fn dataset_id(&self) -> Option<&str> {
        self.attribute.dataset_id()
    }

    /// The numeric value, if the value is a number (what aggregation works on).
    pub fn number(&self) -> Option<f64> {
        self.attribute.value.as_f64()
    }
}

/// An entity's lifecycle as history keeps it (types are needed to query by type even after
/// the entity is gone).
#[derive(Debug, Clone, PartialEq)]
pub struct EntityRecord {
    /// The entity id.
    pub id: String,
    /// Expanded types (all types it ever had).
    pub types: Vec<String>,
    /// Creation.
    pub created_at: Timestamp,
    /// Last change.
    pub modified_at: Timestamp,
    /// Deletion, if deleted.
    pub deleted_at: Option<Timestamp>,
}

/// Which timestamp of an instance a time range applies to (`timeproperty`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeProperty {
    /// `observedAt` (default); instances without it are outside any range.
    #[default]
    ObservedAt,
    /// When the instance was recorded.
    CreatedAt,
    /// Same as CreatedAt for instances (they are immutable unless modified).
    ModifiedAt,
    /// Deletion records only.
    DeletedAt,
}

/// A half-open time range `[from, to)` on one time property; open ends are unbounded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeRange {
    /// Which timestamp.
    pub property: TimeProperty,
    /// Inclusive start.
    pub from: Option<Timestamp>,
    /// Exclusive end.
    pub to: Option<Timestamp>,
}

/// Which instances of one entity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceFilter {
    /// Only these attributes (expanded); `None` = all.
    pub attrs: Option<Vec<String>>,
    /// The time range.
    pub range: TimeRange,
    /// Only the last N instances (by the time property) of each attribute instance series.
    pub last_n: Option<usize>,
}

/// The aggregation methods of NGSI-LD (clause 4.5.19).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AggrMethod {
    /// Number of instances.
    TotalCount,
    /// Number of distinct values.
    DistinctCount,
    /// Sum of numeric values.
    Sum,
    /// Mean of numeric values.
    Avg,
    /// Minimum (numbers; strings and DateTimes compare as text).
    Min,
    /// Maximum.
    Max,
    /// Population standard deviation of numeric values.
    StdDev,
    /// Sum of squares of numeric values.
    SumSq,
}

impl AggrMethod {
    /// The name used on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::TotalCount => "totalCount",
            Self::DistinctCount => "distinctCount",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::StdDev => "stddev",
            Self::SumSq => "sumsq",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::TotalCount,
            Self::DistinctCount,
            Self::Sum,
            Self::Avg,
            Self::Min,
            Self::Max,
            Self::StdDev,
            Self::SumSq,
        ]
        .into_iter()
        .find(|m| m.name() == s)
    }
}

/// One aggregation period's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Start of the period (inclusive).
    pub start: Timestamp,
    /// End of the period (exclusive).
    pub end: Timestamp,
    /// One value per requested method (`Null` when nothing to aggregate, e.g. avg of no numbers).
    pub values: BTreeMap<AggrMethod, Value>,
}

/// Series key: (attribute, datasetId).
pub type SeriesKey = (String, Option<String>);

/// History, per tenant.
#[async_trait]
pub trait TemporalStore: Send + Sync + 'static {
    /// Durably records entity lifecycle changes and new instances (one commit).
    async fn record(
        &self,
        tenant: &str,
        entities: Vec<EntityRecord>,
        instances: Vec<Instance>,
    ) -> Result<(), StoreError>;
    /// The entities history knows, optionally narrowed by ids and by any of the types.
    async fn entities(
        &self,
        tenant: &str,
        ids: Option<&[String]>,
        any_type: Option<&[String]>,
    ) -> Result<Vec<EntityRecord>, StoreError>;
    /// One entity's instances that pass the filter, ordered by attribute, datasetId, time.
    async fn instances(
        &self,
        tenant: &str,
        entity_id: &str,
        f: &InstanceFilter,
    ) -> Result<Vec<Instance>, StoreError>;
    /// Aggregates one entity's instances per series over periods of `period` starting at
    /// `f.range.from` (or the first instance); `period = None` aggregates the whole range.
    async fn aggregate(
        &self,
        tenant: &str,
        entity_id: &str,
        f: &InstanceFilter,
        methods: &[AggrMethod],
        period: Option<chrono::Duration>,
    ) -> Result<BTreeMap<SeriesKey, Vec<Bucket>>, StoreError>;
    /// Deletes an entity's whole history; false if unknown.
    async fn delete_entity(&self, tenant: &str, entity_id: &str) -> Result<bool, StoreError>;
    /// Deletes an attribute's history (one datasetId, or all with `all`); false if none.
    async fn delete_attr(
        &self,
        tenant: &str,
        entity_id: &str,
        attr: &str,
        dataset_id: Option<&str>,
        all: bool,
    ) -> Result<bool, StoreError>;
    /// Deletes one instance; false if unknown.
    async fn delete_instance(
        &self,
        tenant: &str,
        entity_id: &str,
        attr: &str,
        instance_id: &str,
    ) -> Result<bool, StoreError>;
    /// Replaces one instance's content (keeping its id); false if unknown.
    async fn modify_instance(
        &self,
        tenant: &str,
        entity_id: &str,
        attr: &str,
        instance_id: &str,
        new: Attribute,
    ) -> Result<bool, StoreError>;
    /// Deletes everything (admin reset).
    async fn reset(&self) -> Result<(), StoreError>;
    /// The tenants that have history.
    async fn tenants(&self) -> Result<Vec<String>, StoreError>;
    /// Retention: deletes an entity's instances whose time in the series (`observedAt`, else
    /// `createdAt`) is before `before`, and returns how many. An entity that was deleted
    /// before `before` and has no history left is forgotten.
    async fn expire(
        &self,
        tenant: &str,
        entity_id: &str,
        before: Timestamp,
    ) -> Result<u64, StoreError>;
}
