//! Linked entity retrieval (`join=inline|flat`, `joinLevel`): the entities that
//! Relationships point to, fetched from the same tenant and rendered in place or after.

pub use broker::linked::Join;

use crate::error::{ApiError, ApiResult};
use crate::params::Params;

/// Reads `join` and `joinLevel` (default 1).
pub fn join(p: &Params) -> ApiResult<Option<(Join, usize)>> {
    let join = match p.get("join").map(String::as_str) {
        None => return Ok(None),
        Some("inline") => Join::Inline,
        Some("flat") => Join::Flat,
        Some(other) => {
            return Err(ApiError::bad_data(format!(
                "join must be inline or flat, not '{other}'"
            )));
        }
    };
    let level = match p.get("joinLevel") {
        None => 1,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| (1..=8).contains(l))
            .ok_or_else(|| ApiError::bad_data("joinLevel must be an integer from 1 to 8"))?,
    };
    Ok(Some((join, level)))
}
