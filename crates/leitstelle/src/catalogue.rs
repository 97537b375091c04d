//! The default domain catalogue: the paper's domains of everyday life, administration and
//! economy, plus the regional ones. A tenant gets them on request and edits them freely.

use serde_json::{Value, json};

use crate::vocab::{attr, ty};

/// (code, name, regional).
pub const DEFAULT_DOMAINS: [(&str, &str, bool); 12] = [
    ("mobility", "Mobility", false),
    ("energy", "Energy", false),
    ("environment", "Environment and climate", false),
    ("housing", "Housing", false),
    ("education", "Education", false),
    ("health", "Health", false),
    ("administration", "Administration", false),
    ("economy", "Economy", false),
    ("crafts", "Crafts", true),
    ("logistics", "Logistics", true),
    ("tourism", "Tourism", true),
    ("culture", "Culture", true),
];

/// The id a default domain gets.
pub fn domain_id(code: &str) -> String {
    format!("urn:ngsi-ld:Domain:{code}")
}

/// The default domains as NGSI-LD entities (normalized, names expanded, no context needed).
pub fn default_domains() -> Vec<Value> {
    DEFAULT_DOMAINS
        .iter()
        .map(|(code, name, regional)| {
            json!({
                "id": domain_id(code),
                "type": ty::DOMAIN,
                attr::CODE: {"type": "Property", "value": code},
                attr::NAME: {"type": "Property", "value": name},
                attr::REGIONAL: {"type": "Property", "value": regional},
            })
        })
        .collect()
}
