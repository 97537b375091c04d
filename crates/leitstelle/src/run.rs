//! Running indicators against the platform: the [`Source`] over the broker and the temporal
//! store, computing on demand, on schedule and entering manual values. Every outcome is
//! written to the KPI entity (so its history is temporal data); a failing query leaves an
//! `error` status and the message, never a silently stale value.

use std::sync::Arc;

use async_trait::async_trait;
use broker::model::Timestamp;
use broker::query::{EntityQuery, EntitySelector};
use broker::temporal::Temporal;
use broker::temporal::store::{InstanceFilter, TimeProperty, TimeRange};
use broker::{Broker, BrokerError, Scope};
use serde_json::{Value, json};

use crate::indicator::{self, Evaluation, Found, Indicator, Method, Selection, Source, Status};
use crate::read;
use crate::vocab::{attr, ty};

/// Platform data as an indicator [`Source`]: names are expanded with `ctx` (the core
/// context: short names as the demo and most devices write them).
pub struct Platform {
    broker: Broker,
    temporal: Temporal,
    ctx: Arc<jsonld::Context>,
}

impl Platform {
    /// Over the broker and history, expanding with `ctx`.
    pub fn new(broker: Broker, temporal: Temporal, ctx: Arc<jsonld::Context>) -> Self {
        Self {
            broker,
            temporal,
            ctx,
        }
    }

    pub(crate) fn scope(&self, tenant: &str) -> Scope {
        Scope {
            tenant: tenant.to_owned(),
            ctx: self.ctx.clone(),
        }
    }
}

#[async_trait]
impl Source for Platform {
    async fn select(&self, tenant: &str, sel: &Selection) -> Result<Vec<Found>, String> {
        let types = match &sel.entity_type {
            Some(t) => {
                let mut te = ngsild_query::parse_type_expr(t).map_err(|e| format!("type: {e}"))?;
                te.map_names(&mut |n| self.ctx.expand_term(n));
                Some(te)
            }
            None => None,
        };
        let mut q = EntityQuery::default();
        if sel.entities.is_empty() {
            q.selectors.push(EntitySelector {
                id: None,
                id_pattern: None,
                types,
            });
        } else {
            for id in &sel.entities {
                q.selectors.push(EntitySelector {
                    id: Some(id.clone()),
                    id_pattern: None,
                    types: types.clone(),
                });
            }
        }
        if let Some(text) = &sel.q {
            let mut expr = ngsild_query::parse_q(text).map_err(|e| format!("q: {e}"))?;
            expr.map_names(&mut |n| self.ctx.expand_term(n));
            q.q = Some(expr);
        }
        let found = self
            .broker
            .all(&self.scope(tenant), &q)
            .await
            .map_err(|e| e.detail)?;
        Ok(found
            .iter()
            .map(|e| Found {
                id: e.id.clone(),
                point: read::point(e, attr::LOCATION),
            })
            .collect())
    }

    async fn values(
        &self,
        tenant: &str,
        entity: &str,
        attribute: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<f64>, String> {
        let f = InstanceFilter {
            attrs: Some(vec![self.ctx.expand_term(attribute)]),
            range: TimeRange {
                property: TimeProperty::ObservedAt,
                from: Some(from),
                to: Some(to),
            },
            last_n: None,
        };
        let instances = self
            .temporal
            .store()
            .instances(tenant, entity, &f)
            .await
            .map_err(|e| format!("history of {entity}: {e}"))?;
        Ok(instances
            .iter()
            .filter(|i| i.deleted_at.is_none())
            .filter_map(|i| i.number())
            .collect())
    }
}

/// The answer of one computation.
pub fn outcome_json(ind: &Indicator, out: &Result<Evaluation, String>, now: Timestamp) -> Value {
    match out {
        Ok(ev) => json!({
            "id": ind.id,
            "kpiValue": ev.value.map(indicator::round),
            "dataCoverage": indicator::round(ev.coverage),
            "indicatorStatus": ind.status_of(ev.value, now.date_naive()).name(),
            "calculationPeriod": {
                "from": broker::render::timestamp(&ev.from),
                "to": broker::render::timestamp(&ev.to),
            },
            "entities": ev.entities,
            "samples": ev.samples,
        }),
        Err(msg) => json!({
            "id": ind.id,
            "indicatorStatus": Status::Error.name(),
            "computationError": msg,
        }),
    }
}

impl crate::Leitstelle {
    pub(crate) fn platform(&self) -> Result<&Platform, BrokerError> {
        self.platform
            .as_deref()
            .ok_or_else(|| BrokerError::internal("indicators are not wired to platform data"))
    }

    /// The KPI entity `id` of `tenant`, read.
    pub async fn indicator(&self, tenant: &str, id: &str) -> broker::Result<Indicator> {
        let p = self.platform()?;
        let e = self.broker.get(&p.scope(tenant), id).await?;
        if !e.has_type(ty::KEY_PERFORMANCE_INDICATOR) {
            return Err(BrokerError::not_found(format!(
                "'{id}' is not a KeyPerformanceIndicator"
            )));
        }
        Ok(Indicator::read(&e))
    }

    /// The indicators of `agenda` (all of the tenant with `None`), by id.
    pub async fn indicators(
        &self,
        tenant: &str,
        agenda: Option<&str>,
    ) -> broker::Result<Vec<Indicator>> {
        let all = self
            .broker
            .of_types(tenant, &[ty::KEY_PERFORMANCE_INDICATOR])
            .await?;
        let mut out: Vec<Indicator> = all
            .iter()
            .map(|e| Indicator::read(e))
            .filter(|i| agenda.is_none_or(|a| i.agenda.as_deref() == Some(a)))
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// Computes indicator `id` now, writes the outcome and answers it.
    pub async fn compute(&self, tenant: &str, id: &str, now: Timestamp) -> broker::Result<Value> {
        let ind = self.indicator(tenant, id).await?;
        self.compute_one(tenant, &ind, now).await
    }

    async fn compute_one(
        &self,
        tenant: &str,
        ind: &Indicator,
        now: Timestamp,
    ) -> broker::Result<Value> {
        let p = self.platform()?;
        let out = match &ind.method {
            Method::Automatic(q) => indicator::evaluate(p, tenant, q, now).await,
            Method::Invalid(msg) => Err(format!("the definition is invalid: {msg}")),
            Method::Manual => {
                // A manual value is not computed; its status is re-assessed against the date.
                let status = ind.status_of(ind.value, now.date_naive());
                let frag = json!({
                    attr::INDICATOR_STATUS: {"type": "Property", "value": status.name()}
                });
                self.broker.merge(&p.scope(tenant), &ind.id, &frag).await?;
                return Ok(json!({"id": ind.id, "calculationMethod": "manual",
                    "kpiValue": ind.value, "indicatorStatus": status.name()}));
            }
        };
        let frag = indicator::result_fragment(ind, &out, now);
        self.broker.merge(&p.scope(tenant), &ind.id, &frag).await?;
        Ok(outcome_json(ind, &out, now))
    }

    /// Computes every indicator of `agenda` now.
    pub async fn compute_agenda(
        &self,
        tenant: &str,
        agenda: &str,
        now: Timestamp,
    ) -> broker::Result<Vec<Value>> {
        let mut out = Vec::new();
        for ind in self.indicators(tenant, Some(agenda)).await? {
            out.push(self.compute_one(tenant, &ind, now).await?);
        }
        Ok(out)
    }

    /// Computes, in every tenant, the automatic indicators whose `dateNextCalculation` has
    /// come (or that were never computed). Answers how many were computed.
    pub async fn compute_due(&self, now: Timestamp) -> broker::Result<usize> {
        let tenants = self.broker.store().tenants().await?;
        let mut done = 0;
        for t in tenants {
            for ind in self.indicators(&t, None).await? {
                if matches!(ind.method, Method::Manual) {
                    continue;
                }
                let due = ind
                    .next
                    .as_deref()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                    .is_none_or(|n| n <= now);
                if due {
                    self.compute_one(&t, &ind, now).await?;
                    done += 1;
                }
            }
        }
        Ok(done)
    }

    /// Enters a manual value with its evidence (required) observed at `at`.
    pub async fn enter(
        &self,
        tenant: &str,
        id: &str,
        value: f64,
        evidence: &str,
        at: Timestamp,
    ) -> broker::Result<Value> {
        let ind = self.indicator(tenant, id).await?;
        if !matches!(ind.method, Method::Manual) {
            return Err(BrokerError::bad_data(format!(
                "'{id}' is computed from platform data; only manual indicators take values"
            )));
        }
        if evidence.trim().is_empty() {
            return Err(BrokerError::bad_data(
                "a manual value needs its evidence (a source, document or URL)",
            ));
        }
        let status = ind.status_of(Some(value), at.date_naive());
        let ts = broker::render::timestamp(&at);
        let frag = json!({
            attr::KPI_VALUE: {"type": "Property", "value": value, "observedAt": ts},
            attr::EVIDENCE: {"type": "Property", "value": evidence, "observedAt": ts},
            attr::DATA_COVERAGE: {"type": "Property", "value": 1.0, "observedAt": ts},
            attr::INDICATOR_STATUS: {"type": "Property", "value": status.name(), "observedAt": ts},
        });
        let p = self.platform()?;
        self.broker.merge(&p.scope(tenant), id, &frag).await?;
        Ok(
            json!({"id": id, "calculationMethod": "manual", "kpiValue": value,
            "evidence": evidence, "dataCoverage": 1.0, "indicatorStatus": status.name()}),
        )
    }
}

/// A stored progress report: its id, version and snapshot.
#[derive(Debug, Clone)]
pub struct StoredReport {
    /// Entity id (`urn:ngsi-ld:ProgressReport:<agenda tail>:<version>`).
    pub id: String,
    /// Version, from 1.
    pub version: u64,
    /// The facts.
    pub snapshot: crate::report::Snapshot,
    /// When and under which licence it was published as open data, if it is.
    pub publication: Option<crate::publish::Publication>,
}

pub(crate) fn stored(e: &broker::model::Entity) -> Option<(String, StoredReport)> {
    let agenda = read::object(e, attr::AGENDA)?;
    let version = read::number(e, attr::REPORT_VERSION)? as u64;
    let snapshot = serde_json::from_value(read::value(e, attr::REPORT_SNAPSHOT)?.clone()).ok()?;
    Some((
        agenda,
        StoredReport {
            id: e.id.clone(),
            version,
            snapshot,
            publication: crate::publish::Publication::read(e),
        },
    ))
}

impl crate::Leitstelle {
    /// The snapshot of `agenda` for `[from, to]` from the tenant's current data.
    pub async fn report_snapshot(
        &self,
        tenant: &str,
        agenda: &str,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> broker::Result<crate::report::Snapshot> {
        let (pf, a) = self.agenda(tenant, agenda).await?;
        let indicators = self.indicators(tenant, Some(agenda)).await?;
        let p = self.platform()?;
        let start = from.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        let end = (to + chrono::Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .map(|d| d.and_utc());
        let mut histories = std::collections::BTreeMap::new();
        for i in &indicators {
            let f = InstanceFilter {
                attrs: Some(vec![attr::KPI_VALUE.to_owned()]),
                range: TimeRange {
                    property: TimeProperty::ObservedAt,
                    from: start,
                    to: end,
                },
                last_n: None,
            };
            let points: Vec<(String, f64)> = p
                .temporal
                .store()
                .instances(tenant, &i.id, &f)
                .await
                .map_err(|e| BrokerError::internal(e.to_string()))?
                .iter()
                .filter(|x| x.deleted_at.is_none())
                .filter_map(|x| Some((x.attribute.observed_at()?.to_owned(), x.number()?)))
                .collect();
            histories.insert(i.id.clone(), points);
        }
        let history = |id: &str| histories.get(id).cloned().unwrap_or_default();
        Ok(crate::report::snapshot(
            &pf,
            &a,
            &indicators,
            &history,
            from,
            to,
        ))
    }

    /// The stored reports of `agenda`, oldest first.
    pub async fn reports(&self, tenant: &str, agenda: &str) -> broker::Result<Vec<StoredReport>> {
        let all = match self.broker.of_types(tenant, &[ty::PROGRESS_REPORT]).await {
            Ok(all) => all,
            Err(e) if e.kind == ngsild_proto::ErrorType::NonexistentTenant => Vec::new(),
            Err(e) => return Err(e),
        };
        let mut out: Vec<StoredReport> = all
            .iter()
            .filter_map(|e| stored(e))
            .filter(|(a, _)| a == agenda)
            .map(|(_, r)| r)
            .collect();
        out.sort_by_key(|r| r.version);
        Ok(out)
    }

    /// Stores `snap` as the next version of the agenda's report.
    pub async fn store_report(
        &self,
        tenant: &str,
        snap: &crate::report::Snapshot,
    ) -> broker::Result<StoredReport> {
        let version = self
            .reports(tenant, &snap.agenda)
            .await?
            .last()
            .map_or(1, |r| r.version + 1);
        let tail = snap.agenda.rsplit(':').next().unwrap_or("agenda");
        let id = format!("urn:ngsi-ld:ProgressReport:{tail}:{version}");
        let body = json!({
            "id": id, "type": ty::PROGRESS_REPORT,
            attr::NAME: {"type": "Property", "value": format!("Fortschrittsbericht {} ({version})", snap.agenda_name)},
            attr::AGENDA: {"type": "Relationship", "object": snap.agenda},
            attr::REPORT_VERSION: {"type": "Property", "value": version},
            attr::START_DATE: {"type": "Property", "value": snap.from.to_string()},
            attr::END_DATE: {"type": "Property", "value": snap.to.to_string()},
            attr::REPORT_SNAPSHOT: {"type": "Property", "value": serde_json::to_value(snap)
                .map_err(|e| BrokerError::internal(e.to_string()))?},
        });
        let p = self.platform()?;
        self.broker.create(&p.scope(tenant), &body).await?;
        Ok(StoredReport {
            id,
            version,
            snapshot: snap.clone(),
            publication: None,
        })
    }

    /// A stored report and the one before it.
    pub async fn stored_report(
        &self,
        tenant: &str,
        id: &str,
    ) -> broker::Result<(StoredReport, Option<StoredReport>)> {
        let p = self.platform()?;
        let e = self.broker.get(&p.scope(tenant), id).await?;
        let Some((agenda, r)) = stored(&e) else {
            return Err(BrokerError::not_found(format!(
                "'{id}' is not a ProgressReport"
            )));
        };
        let prev = self
            .reports(tenant, &agenda)
            .await?
            .into_iter()
            .rfind(|x| x.version < r.version);
        Ok((r, prev))
    }
}
