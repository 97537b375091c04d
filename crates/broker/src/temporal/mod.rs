//! History: every change recorded as attribute instances, queried and aggregated through
//! the NGSI-LD temporal API.

pub mod store;

pub use store::{AggrMethod, Bucket, EntityRecord, Instance, InstanceFilter, TemporalStore, TimeProperty, TimeRange};
