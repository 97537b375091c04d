//! The NGSI-LD domain of Quartier.
//!
//! Entities are held in [`model`] form (names expanded to IRIs). [`parse`] reads wire
//! payloads into the model, [`render`] writes it back in the representation a client asks
//! for, [`ops`] says what each write does to one entity, [`query`] is the one evaluator every
//! read path uses, and [`service::Broker`] ties them to an [`store::EntityStore`].
//!
//! This crate knows nothing of HTTP or SQL: it depends on storage only through the traits in
//! [`store`], and on time only through [`Clock`].

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod error;
pub mod guard;
pub mod linked;
pub mod model;
pub mod ops;
pub mod parse;
pub mod query;
pub mod render;
pub mod service;
pub mod store;
pub mod subscription;
pub mod temporal;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{BrokerError, Result};
pub use service::{Broker, Limits, Scope};

/// Where the broker gets the time from; tests inject a fixed or stepping clock.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> model::Timestamp;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> model::Timestamp {
        chrono::Utc::now()
    }
}
