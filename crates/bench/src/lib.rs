//! The benchmark and reliability harness of Quartier.
//!
//! `quartier-bench all` starts the release `quartier` binary on fresh data directories,
//! drives every shape of DESIGN.md's targets over HTTP keep-alive, measures the same
//! requests against a bare-axum server (the HTTP ceiling) or raw SQLite (the storage
//! ceiling) in the same run, runs the reliability scenarios, and writes
//! `bench-results.md` and `bench-results.json`.
//!
//! The pieces are a library so that the smoke test can drive them against an in-process
//! application: [`load`] (the load generator), [`process`] (children and /proc figures),
//! [`baseline`] (the ceiling server), [`storage`] (raw SQLite), [`data`] (the data sets),
//! [`shapes`], [`storage_shapes`] and [`notify`] (the measured shapes), [`reliability`]
//! (the scenarios) and [`report`] (Markdown and JSON).

pub mod baseline;
pub mod bench;
pub mod data;
pub mod load;
pub mod notify;
pub mod process;
pub mod reliability;
pub mod report;
pub mod shapes;
pub mod storage;
pub mod storage_shapes;
