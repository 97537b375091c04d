//! History: every change recorded as attribute instances ([`record::Recorder`], a change
//! listener), queried and aggregated through the NGSI-LD temporal API ([`service::Temporal`]).

pub mod record;
pub mod retention;
pub mod service;
pub mod store;
pub mod view;

pub use retention::{RetentionPolicy, RetentionReport, RetentionRule};
pub use service::{Temporal, TemporalRequest};
pub use store::{
    AggrMethod, Bucket, EntityRecord, Instance, InstanceFilter, TemporalStore, TimeProperty,
    TimeRange,
};
pub use view::TemporalFormat;
