//! Retention: how long history is kept, per tenant and entity type.
//!
//! A [`RetentionPolicy`] is a default and a list of rules. For an entity, the most specific
//! rule that applies wins: one naming its tenant and one of its types, then one naming a
//! type, then one naming the tenant, then the default. Among rules of the same rank that
//! apply (an entity with several types), the longest keeps. Without any, history is kept
//! forever. A rule's type is an IRI, or a short name that matches the last segment of the
//! type IRI (`AirQualityObserved` matches
//! `https://smartdatamodels.org/dataModel.Environment/AirQualityObserved`).

use chrono::Duration;

use super::TemporalStore;
use crate::model::Timestamp;
use crate::store::StoreError;

/// One rule: history of matching entities is kept for `keep`.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionRule {
    /// The tenant it applies to; `None`: every tenant.
    pub tenant: Option<String>,
    /// The entity type it applies to (IRI or short name); `None`: every type.
    pub entity_type: Option<String>,
    /// How long history is kept.
    pub keep: Duration,
}

/// A default and rules; see the module documentation for which rule wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetentionPolicy {
    /// Kept this long when no rule applies; `None`: forever.
    pub default: Option<Duration>,
    /// The rules.
    pub rules: Vec<RetentionRule>,
}

fn type_matches(rule: &str, iri: &str) -> bool {
    rule == iri || (!rule.contains(':') && iri.rsplit(['/', '#']).next() == Some(rule))
}

impl RetentionPolicy {
    /// Whether the policy ever deletes anything.
    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.rules.is_empty()
    }

    /// How long the history of an entity of `types` in `tenant` is kept; `None`: forever.
    pub fn keep_for(&self, tenant: &str, types: &[String]) -> Option<Duration> {
        let rank = |r: &RetentionRule| -> Option<u8> {
            if r.tenant.as_deref().is_some_and(|t| t != tenant) {
                return None;
            }
            match &r.entity_type {
                Some(ty) if !types.iter().any(|iri| type_matches(ty, iri)) => None,
                Some(_) if r.tenant.is_some() => Some(3),
                Some(_) => Some(2),
                None if r.tenant.is_some() => Some(1),
                None => Some(0),
            }
        };
        let best = self.rules.iter().filter_map(rank).max();
        match best {
            Some(b) => self
                .rules
                .iter()
                .filter(|r| rank(r) == Some(b))
                .map(|r| r.keep)
                .max(),
            None => self.default,
        }
    }
}

/// What one pass of retention removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Entities whose history was looked at.
    pub entities: u64,
    /// Attribute instances removed.
    pub instances_removed: u64,
}

/// Applies `policy` to every tenant's history as of `now`.
pub async fn enforce(
    store: &dyn TemporalStore,
    policy: &RetentionPolicy,
    now: Timestamp,
) -> Result<RetentionReport, StoreError> {
    let mut report = RetentionReport::default();
    if policy.is_empty() {
        return Ok(report);
    }
    for tenant in store.tenants().await? {
        for rec in store.entities(&tenant, None, None).await? {
            report.entities += 1;
            if let Some(keep) = policy.keep_for(&tenant, &rec.types) {
                report.instances_removed += store.expire(&tenant, &rec.id, now - keep).await?;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    const AQ: &str = "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved";
    const PARK: &str = "https://smartdatamodels.org/dataModel.Parking/OffStreetParking";

    fn rule(tenant: Option<&str>, ty: Option<&str>, days: i64) -> RetentionRule {
        RetentionRule {
            tenant: tenant.map(str::to_owned),
            entity_type: ty.map(str::to_owned),
            keep: Duration::days(days),
        }
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let p = RetentionPolicy {
            default: Some(Duration::days(365)),
            rules: vec![
                rule(Some("paderborn"), None, 30),
                rule(None, Some("AirQualityObserved"), 3650),
                rule(Some("paderborn"), Some(AQ), 90),
            ],
        };
        let keep = |t: &str, ty: &str| p.keep_for(t, &[ty.to_owned()]).map(|d| d.num_days());
        assert_eq!(keep("paderborn", AQ), Some(90));
        assert_eq!(keep("paderborn", PARK), Some(30));
        assert_eq!(keep("delbrueck", AQ), Some(3650));
        assert_eq!(keep("delbrueck", PARK), Some(365));
        // A short name matches the last segment only, never a substring.
        assert_eq!(
            keep("delbrueck", "https://e.org/NotAirQualityObserved"),
            Some(365)
        );
    }

    #[test]
    fn several_types_keep_the_longest_and_no_policy_keeps_forever() {
        let p = RetentionPolicy {
            default: None,
            rules: vec![
                rule(None, Some("OffStreetParking"), 10),
                rule(None, Some(AQ), 20),
            ],
        };
        let both = [AQ.to_owned(), PARK.to_owned()];
        assert_eq!(p.keep_for("", &both).map(|d| d.num_days()), Some(20));
        assert_eq!(p.keep_for("", &["https://e.org/Other".to_owned()]), None);
        assert!(RetentionPolicy::default().is_empty());
    }
}
