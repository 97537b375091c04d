//! Publishing stored progress reports as open data. A published `ProgressReport` carries
//! `publishedAt` (RFC 3339) and `license` (an IRI of the DCAT-AP.de licence list);
//! withdrawing removes both. Nothing else of a tenant is ever published.
//!
//! Publication is read strictly: a `publishedAt` that is not a date-time, or a licence outside
//! the list (say, written by hand through `/ngsi-ld/v1`), leaves the report unpublished, so
//! the catalogue never carries a dataset it cannot describe correctly.

use broker::BrokerError;
use broker::model::{Entity, Timestamp};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::read;
use crate::run::StoredReport;
use crate::vocab::{attr, ty};

/// Where the DCAT-AP.de licence identifiers live.
pub const LICENSE_BASE: &str = "http://dcat-ap.de/def/licenses/";

/// The licence a report is published under unless another is asked for: Datenlizenz
/// Deutschland – Namensnennung 2.0.
pub const DEFAULT_LICENSE: &str = "http://dcat-ap.de/def/licenses/dl-by-de/2.0";

/// The DCAT-AP.de licence list (version 2020-07-15), after [`LICENSE_BASE`].
pub const LICENSES: [&str; 34] = [
    "apache",
    "bsd",
    "cc-by",
    "cc-by-de/3.0",
    "cc-by-nc",
    "cc-by-nc-de/3.0",
    "cc-by-nc/4.0",
    "cc-by-nd",
    "cc-by-nd/3.0",
    "cc-by-nd/4.0",
    "cc-by-sa",
    "cc-by-sa-de/3.0",
    "cc-by-sa/4.0",
    "cc-by/4.0",
    "cc-zero",
    "ccpdm/1.0",
    "dl-by-de/1.0",
    "dl-by-de/2.0",
    "dl-by-nc-de/1.0",
    "dl-zero-de/2.0",
    "geoNutz/20131001",
    "geonutz/20130319",
    "gfdl",
    "gpl/3.0",
    "mozilla",
    "odbl",
    "odby",
    "odcpddl",
    "officialWork",
    "other-closed",
    "other-commercial",
    "other-freeware",
    "other-open",
    "other-opensource",
];

/// Whether `iri` names a licence of the DCAT-AP.de list.
pub fn is_license(iri: &str) -> bool {
    iri.strip_prefix(LICENSE_BASE)
        .is_some_and(|id| LICENSES.contains(&id))
}

/// A report's publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// When it was published.
    pub at: DateTime<Utc>,
    /// Its licence (an IRI of the DCAT-AP.de list).
    pub license: String,
}

impl Publication {
    /// The publication recorded on a ProgressReport entity, if it is published (and well
    /// formed: see the module doc).
    pub fn read(e: &Entity) -> Option<Self> {
        let at = read::text(e, attr::PUBLISHED_AT)?;
        let at = DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc);
        let license = read::text(e, attr::LICENSE).unwrap_or_else(|| DEFAULT_LICENSE.into());
        is_license(&license).then_some(Self { at, license })
    }

    /// `publishedAt` as written: RFC 3339 in UTC, whole seconds.
    pub fn at_text(&self) -> String {
        self.at.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// `{"publishedAt", "license"}`.
    pub fn to_json(&self) -> Value {
        json!({"publishedAt": self.at_text(), "license": self.license})
    }
}

impl crate::Leitstelle {
    /// Publishes stored report `id` of `tenant` as open data at `now` under `license`
    /// (default: the licence it already has, else [`DEFAULT_LICENSE`]). Publishing a
    /// published report keeps its date and answers `false` (only a new licence is
    /// recorded); a first publication answers `true`.
    pub async fn publish(
        &self,
        tenant: &str,
        id: &str,
        license: Option<&str>,
        now: Timestamp,
    ) -> broker::Result<(StoredReport, bool)> {
        if let Some(l) = license
            && !is_license(l)
        {
            return Err(BrokerError::bad_data(format!(
                "license must be an IRI of the DCAT-AP.de licence list \
                 ({LICENSE_BASE}<id>, e.g. {DEFAULT_LICENSE}), not '{l}'"
            )));
        }
        let mut r = self.report_entity(tenant, id).await?;
        let first = r.publication.is_none();
        let at = r.publication.as_ref().map_or(now, |p| p.at);
        let license = license
            .map(str::to_owned)
            .or_else(|| r.publication.as_ref().map(|p| p.license.clone()))
            .unwrap_or_else(|| DEFAULT_LICENSE.into());
        let p = Publication { at, license };
        if r.publication.as_ref() != Some(&p) {
            let frag = json!({
                attr::PUBLISHED_AT: {"type": "Property", "value": p.at_text()},
                attr::LICENSE: {"type": "Property", "value": p.license},
            });
            self.broker
                .merge(&self.platform()?.scope(tenant), id, &frag)
                .await?;
        }
        r.publication = Some(p);
        Ok((r, first))
    }

    /// Withdraws report `id` of `tenant` from open data (nothing to do if it is not
    /// published); ResourceNotFound if it is not a stored report.
    pub async fn withdraw(&self, tenant: &str, id: &str) -> broker::Result<()> {
        self.report_entity(tenant, id).await?;
        let gone = json!({"type": "Property", "value": broker::parse::NGSI_LD_NULL});
        let frag = json!({attr::PUBLISHED_AT: gone.clone(), attr::LICENSE: gone});
        self.broker
            .merge(&self.platform()?.scope(tenant), id, &frag)
            .await
    }

    /// Every published report of every tenant, by tenant, then agenda and version.
    pub async fn published(&self) -> broker::Result<Vec<(String, StoredReport)>> {
        let mut out = Vec::new();
        for t in self.broker.store().tenants().await? {
            let mut reports: Vec<(String, StoredReport)> = self
                .broker
                .of_types(&t, &[ty::PROGRESS_REPORT])
                .await?
                .iter()
                .filter_map(|e| crate::run::stored(e))
                .filter(|(_, r)| r.publication.is_some())
                .collect();
            reports.sort_by(|a, b| (&a.0, a.1.version).cmp(&(&b.0, b.1.version)));
            out.extend(reports.into_iter().map(|(_, r)| (t.clone(), r)));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// A published report and the one before it (as the Leitstelle renders it). Every other
    /// id (unknown tenant, unknown entity, not a report, not published) is ResourceNotFound
    /// with the same words, so the answer tells nothing about unpublished data.
    pub async fn published_report(
        &self,
        tenant: &str,
        id: &str,
    ) -> broker::Result<(StoredReport, Option<StoredReport>)> {
        let hidden = || BrokerError::not_found(format!("no published report '{id}'"));
        match self.stored_report(tenant, id).await {
            Ok((r, prev)) if r.publication.is_some() => Ok((r, prev)),
            Ok(_) => Err(hidden()),
            Err(e)
                if matches!(
                    e.kind,
                    ngsild_proto::ErrorType::ResourceNotFound
                        | ngsild_proto::ErrorType::NonexistentTenant
                        | ngsild_proto::ErrorType::BadRequestData
                ) =>
            {
                Err(hidden())
            }
            Err(e) => Err(e),
        }
    }

    /// Stored report `id` of `tenant` (ResourceNotFound if it is none).
    async fn report_entity(&self, tenant: &str, id: &str) -> broker::Result<StoredReport> {
        let e = self.broker.get(&self.platform()?.scope(tenant), id).await?;
        crate::run::stored(&e)
            .map(|(_, r)| r)
            .ok_or_else(|| BrokerError::not_found(format!("'{id}' is not a ProgressReport")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_licences_are_accepted() {
        assert!(is_license(DEFAULT_LICENSE));
        assert!(is_license("http://dcat-ap.de/def/licenses/cc-zero"));
        // The non-canonical https://www. form GovData sees in the wild is not the IRI.
        assert!(!is_license("https://www.dcat-ap.de/def/licenses/cc-zero"));
        assert!(!is_license("http://dcat-ap.de/def/licenses/"));
        assert!(!is_license("http://dcat-ap.de/def/licenses/cc-by/9.0"));
    }
}
