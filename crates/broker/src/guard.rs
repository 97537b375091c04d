//! Write guards: rules an installation adds to the write path without the broker knowing
//! what they are about (the Leitstelle's governance entities, for example).
//!
//! Before a write request's changes go to the store, the broker asks every guard to
//! [`WriteGuard::prepare`] a [`WriteCheck`] for the tenant; the guard may read other entities
//! then. Each change's proposed next state is then shown to every check, inside the store's
//! transaction, before it is applied: an `Err` refuses that one entity (a batch reports it in
//! its 207 body, a single-entity request answers with it). Checks see the changes of one
//! request in order and may remember what they accepted, so a batch that creates an entity
//! and then one referring to it passes. Two concurrent requests do not see each other's
//! changes: the snapshot is taken when the request starts.

use async_trait::async_trait;

use crate::error::Result;
use crate::model::Entity;
use crate::store::EntityStore;

/// Adds rules to the write path. Registered with [`crate::Broker::with_guard`].
#[async_trait]
pub trait WriteGuard: Send + Sync + 'static {
    /// Prepares the check of one write request in `tenant` that changes the entities `ids`
    /// (in order); `store` gives read access to the tenant's current entities (an unknown
    /// tenant simply has none). Runs on every write request: read only what the ids call for.
    async fn prepare(
        &self,
        tenant: &str,
        ids: &[&str],
        store: &dyn EntityStore,
    ) -> Result<Box<dyn WriteCheck>>;
}

/// The check of one write request, called once per changed entity, in order.
pub trait WriteCheck: Send + Sync {
    /// Accepts or refuses the change of entity `id` from `before` to `after` (`None` =
    /// absent / deleted). Called inside the store's transaction: must be quick and must not
    /// block.
    fn check(&self, id: &str, before: Option<&Entity>, after: Option<&Entity>) -> Result<()>;
}
