//! JSON-LD `@context` handling for the Quartier NGSI-LD broker, at the level of terms.
//!
//! This is not a general JSON-LD processor. The broker knows the NGSI-LD document
//! structure; it asks this crate for an *active context* and then expands attribute names,
//! entity types and vocab values to IRIs on input ([`Context::expand_term`]) and compacts
//! IRIs back to terms on output ([`Context::compact_iri`]). Everything works offline: the
//! ETSI core contexts are embedded ([`builtin_document`]) and any other remote document is
//! obtained through a [`ContextLoader`] the broker supplies.
//!
//! # Active context
//!
//! [`ContextRegistry::active`] takes the request's `@context` (a URL, an object, or an array
//! mixing both) and processes, in order, the user contexts and then one core context: the
//! core URL named at the top level of the request, or the registry's default core. Because
//! the core comes last its terms always win, which is how NGSI-LD's "the core context is
//! protected and has absolute precedence" is realised. Two further rules:
//!
//! * a protected user definition is kept when a later user context redefines it (silently,
//!   instead of JSON-LD's error);
//! * a user `@vocab` survives the core pass (the core's `@vocab`, the NGSI-LD default
//!   context, only applies when no user context set one).
//!
//! Processed contexts are immutable, shared as `Arc<Context>`, and memoised by the exact
//! JSON text of the request's `@context`, so repeated requests with the same Link header
//! cost one hash lookup.
//!
//! # Registry kinds
//!
//! The registry is also the store behind `/jsonldContexts` (clause 5.13):
//!
//! * `Cached`: remote contexts downloaded while processing requests (each URL fetched once;
//!   nested references resolved too, with a depth limit and cycle detection). The built-in
//!   core contexts appear as `Cached` entries that cannot be deleted.
//! * `Hosted`: contexts clients added with `POST /jsonldContexts`.
//! * `ImplicitlyCreated`: inline contexts the broker had to give a URL to.
//!
//! Hosted and implicitly created contexts are found by their serving URL, so requests can
//! reference them without any download.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod builtin;
mod context;
mod error;
mod info;
mod process;
mod registry;
mod state;
mod store;
mod terms;

#[cfg(test)]
mod tests;

pub use builtin::{
    CORE_UNVERSIONED, CORE_URLS, CORE_V1_6, CORE_V1_7, CORE_V1_8, CORE_V1_9, DEFAULT_VOCAB,
    builtin_document, is_core_url,
};
pub use context::{Context, TermDefinition};
pub use error::{JsonLdError, LoadError};
pub use info::{ContextInfo, ContextKind};
pub use registry::{ContextLoader, ContextRegistry};
