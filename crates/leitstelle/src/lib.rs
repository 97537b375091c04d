//! The Leitstelle: how a city's digital office steers its local Digital Agenda.
//!
//! Governance objects (agenda, domains, goals, targets, projects, assessments, grants,
//! citizen ideas, ...) are ordinary NGSI-LD entities in the broker, in the vocabulary of
//! [`vocab`] (shipped as a JSON-LD context). This crate holds the rules they follow
//! ([`validate`], enforced on the write path through the broker's guard hook) and the
//! computations over them, as pure functions of a [`model::Portfolio`]:
//!
//! 1. [`maturity`]: the three-stage model and its stage ↔ TRL mapping (step 1);
//! 2. central domains and 3. staged targets are plain entity data, tracked by [`workflow`];
//! 4. [`matrix`]: the domain × domain matrix;
//! 5. [`synergy`] (expert score and platform evidence apart) and [`ranking`], then the
//!    sustainability [`gate`];
//!
//! and the [`radar`] of parallel work and stalled plans; indicators ([`indicator`], [`run`]),
//! the progress [`report`] and its [`publish`]ing as open data. [`Leitstelle`] reads a tenant's
//! portfolio through the broker. No HTTP, no SQL here.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod catalogue;
pub mod gate;
pub mod indicator;
pub mod matrix;
pub mod maturity;
pub mod model;
pub mod pdf;
pub mod publish;
pub mod radar;
pub mod ranking;
pub mod read;
pub mod report;
pub mod run;
pub mod synergy;
pub mod validate;
pub mod vocab;
pub mod workflow;

use broker::{Broker, BrokerError};

use crate::model::{Agenda, Portfolio};

/// Reads tenants' governance entities through the broker.
#[derive(Clone)]
pub struct Leitstelle {
    broker: Broker,
    platform: Option<std::sync::Arc<run::Platform>>,
}

impl Leitstelle {
    /// Over `broker`.
    pub fn new(broker: Broker) -> Self {
        Self {
            broker,
            platform: None,
        }
    }

    /// Lets indicators read platform data (history through `temporal`, names expanded with
    /// `ctx`).
    pub fn with_platform(
        mut self,
        temporal: broker::temporal::Temporal,
        ctx: std::sync::Arc<jsonld::Context>,
    ) -> Self {
        self.platform = Some(std::sync::Arc::new(run::Platform::new(
            self.broker.clone(),
            temporal,
            ctx,
        )));
        self
    }

    /// Everything the computations need from `tenant`.
    pub async fn portfolio(&self, tenant: &str) -> broker::Result<Portfolio> {
        let entities = self
            .broker
            .of_types(tenant, &model::PORTFOLIO_TYPES)
            .await?;
        Ok(Portfolio::read(&entities))
    }

    /// The portfolio and the agenda `id` in it (ResourceNotFound if there is none).
    pub async fn agenda(&self, tenant: &str, id: &str) -> broker::Result<(Portfolio, Agenda)> {
        let pf = self.portfolio(tenant).await?;
        let agenda = pf
            .agenda(id)
            .cloned()
            .ok_or_else(|| BrokerError::not_found(format!("no Agenda '{id}'")).at(id))?;
        Ok((pf, agenda))
    }
}
