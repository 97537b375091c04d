//! Reliability scenarios.
use crate::bench::Bench;

/// Runs every scenario.
pub async fn all(_b: &mut Bench) -> anyhow::Result<()> {
    Ok(())
}
