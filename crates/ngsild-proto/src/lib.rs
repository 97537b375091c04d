//! NGSI-LD wire forms: what crosses a process boundary.
//!
//! This crate has no I/O and knows nothing of HTTP frameworks or storage. The server, the
//! test client and (later) the edge gateway share these types so that the wire contract lives
//! in one place.

mod problem;

pub use problem::{ErrorType, ProblemDetails};

/// Media types the API speaks.
pub mod media {
    /// Plain JSON; the `@context` travels in a `Link` header.
    pub const JSON: &str = "application/json";
    /// JSON-LD; the `@context` travels in the body.
    pub const JSON_LD: &str = "application/ld+json";
    /// GeoJSON FeatureCollection / Feature output.
    pub const GEO_JSON: &str = "application/geo+json";
    /// JSON Merge Patch, accepted by PATCH endpoints.
    pub const MERGE_PATCH: &str = "application/merge-patch+json";
    /// ProblemDetails bodies.
    pub const PROBLEM: &str = "application/json";
}

/// HTTP header names defined by NGSI-LD.
pub mod headers {
    /// Selects the tenant of a request.
    pub const TENANT: &str = "NGSILD-Tenant";
    /// Total number of matching results when `count=true`.
    pub const RESULTS_COUNT: &str = "NGSILD-Results-Count";
    /// Link relation of the JSON-LD context in a `Link` header.
    pub const LINK_REL_CONTEXT: &str = "http://www.w3.org/ns/json-ld#context";
}
