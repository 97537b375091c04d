//! The temporal API's operations (clauses 5.6.11–5.6.16, 5.7.3–5.7.4) over a [`TemporalStore`].

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::record::instance_id;
use super::store::{AggrMethod, EntityRecord, Instance, InstanceFilter, TemporalStore};
use super::view::{self, TemporalFormat};
use crate::error::{BrokerError, Result};
use crate::model::{AttrKind, Attribute, Entity};
use crate::query::EntityQuery;
use crate::render::RenderOptions;
use crate::{Clock, Scope, parse};

/// What to read and how to show it.
#[derive(Debug, Clone, Default)]
pub struct TemporalRequest {
    /// Attributes, time range, lastN.
    pub filter: InstanceFilter,
    /// Representation.
    pub format: TemporalFormat,
    /// Aggregation methods (with `TemporalFormat::Aggregated`).
    pub methods: Vec<AggrMethod>,
    /// Aggregation period; `None` = the whole range.
    pub period: Option<chrono::Duration>,
    /// sysAttrs, lang, format of the instances.
    pub opts: RenderOptions,
    /// Most instances in one response; more are paginated (206 + Content-Range).
    pub page_size: Option<usize>,
    /// Order of the entities of a query (`orderBy`).
    pub order_by: Vec<crate::query::OrderKey>,
}

/// The value an entity's history sorts by for one key: entity members from the record,
/// attributes from their latest instance in the answer.
fn sort_value(
    rec: &EntityRecord,
    instances: &[Instance],
    key: &crate::query::OrderKey,
) -> Option<Value> {
    let first = key.path.first()?;
    match first.as_str() {
        "id" => return Some(rec.id.clone().into()),
        "type" => return rec.types.first().map(|t| Value::String(t.clone())),
        "createdAt" => return Some(crate::render::timestamp(&rec.created_at).into()),
        "modifiedAt" => return Some(crate::render::timestamp(&rec.modified_at).into()),
        _ => {}
    }
    let last = instances.iter().rev().find(|i| &i.attr == first)?;
    crate::query::attr_sort_value(&last.attribute, &key.path[1..])
}

/// The range a partial temporal response covers (`Content-Range: DateTime start-end/size`).
#[derive(Debug, Clone, PartialEq)]
pub struct ContentRange {
    /// range-start.
    pub start: String,
    /// range-end.
    pub end: String,
    /// lastN, or `*`.
    pub size: String,
}

impl ContentRange {
    /// The header value.
    pub fn header(&self) -> String {
        // The unit as the conformance suite reads it (RFC 7233 unit names are lower case).
        format!("date-time {}-{}/{}", self.start, self.end, self.size)
    }
}

/// Time of an instance on the requested time property, as an instant.
fn instant(i: &Instance, p: super::TimeProperty) -> Option<crate::model::Timestamp> {
    match p {
        super::TimeProperty::ObservedAt => {
            i.attribute.observed_at().and_then(parse::parse_datetime)
        }
        super::TimeProperty::CreatedAt => Some(i.attribute.created_at),
        super::TimeProperty::ModifiedAt => Some(i.attribute.modified_at),
        super::TimeProperty::DeletedAt => i.deleted_at,
    }
}

fn show(t: &crate::model::Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Keeps at most `limit` instances (ties at the cut are kept together): the oldest ones
/// ("forwards"), or with lastN the newest ones ("backwards"), and says which range they
/// cover (GS CIM 009 clause 6.3.10).
fn paginate(
    instances: Vec<Instance>,
    limit: usize,
    f: &InstanceFilter,
) -> (Vec<Instance>, Option<ContentRange>) {
    if instances.len() <= limit || limit == 0 {
        return (instances, None);
    }
    let p = f.range.property;
    let mut times: Vec<crate::model::Timestamp> =
        instances.iter().filter_map(|i| instant(i, p)).collect();
    if times.is_empty() {
        return (instances, None);
    }
    times.sort();
    let backwards = f.last_n.is_some();
    let (cut, newest, oldest) = if backwards {
        (
            times[times.len() - limit.min(times.len())],
            times[times.len() - 1],
            times[0],
        )
    } else {
        (
            times[limit.min(times.len()) - 1],
            times[times.len() - 1],
            times[0],
        )
    };
    let kept: Vec<Instance> = instances
        .into_iter()
        .filter(|i| instant(i, p).is_some_and(|t| if backwards { t >= cut } else { t <= cut }))
        .collect();
    let kept_times: Vec<crate::model::Timestamp> =
        kept.iter().filter_map(|i| instant(i, p)).collect();
    let (kmin, kmax) = (
        kept_times.iter().min().copied().unwrap_or(oldest),
        kept_times.iter().max().copied().unwrap_or(newest),
    );
    let range = if backwards {
        let start = match (f.range.from, f.range.to) {
            (None, Some(to)) | (Some(_), Some(to)) => to,
            _ => kmax,
        };
        ContentRange {
            start: show(&start),
            end: show(&kmin),
            size: f.last_n.map_or("*".into(), |n| n.to_string()),
        }
    } else {
        let start = f.range.from.unwrap_or(kmin);
        ContentRange {
            start: show(&start),
            end: show(&kmax),
            size: "*".into(),
        }
    };
    (kept, Some(range))
}

/// The temporal API.
#[derive(Clone)]
pub struct Temporal {
    store: Arc<dyn TemporalStore>,
    clock: Arc<dyn Clock>,
}

fn not_found(id: &str) -> BrokerError {
    BrokerError::not_found(format!("no temporal representation of '{id}'")).at(id)
}

/// Reads the attributes of a temporal payload: every member is one instance or an array of
/// instances (several may share a datasetId: they are points in time).
/// The newest instances of a temporal payload, for the entity's current state.
#[derive(Debug, Clone)]
pub struct Latest {
    /// The entity.
    pub id: String,
    /// Its types (expanded).
    pub types: Vec<String>,
    /// Per attribute and datasetId, the instance observed last (one without `observedAt`
    /// counts as newest; among equals, the later in the payload).
    pub attrs: Vec<(String, Attribute)>,
}

/// An observation time as an instant (`None` when absent or unreadable).
pub(crate) fn observed(a: &Attribute) -> Option<chrono::DateTime<chrono::Utc>> {
    a.observed_at()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&chrono::Utc))
}

/// Whether `a` is at least as new as `b` (no observation time: the newest word).
pub(crate) fn not_older(a: &Attribute, b: &Attribute) -> bool {
    match (observed(a), observed(b)) {
        (Some(x), Some(y)) => x >= y,
        (None, _) | (_, None) => true,
    }
}

fn newest(attrs: &[(String, Attribute)]) -> Vec<(String, Attribute)> {
    let mut out: Vec<(String, Attribute)> = Vec::new();
    for (name, a) in attrs {
        // A deletion marker in a temporal payload is history, not a current value.
        if a.value == Value::String(crate::parse::NGSI_LD_NULL.into()) {
            continue;
        }
        match out
            .iter_mut()
            .find(|(n, x)| n == name && x.dataset_id() == a.dataset_id())
        {
            Some((_, x)) => {
                if not_older(a, x) {
                    *x = a.clone();
                }
            }
            None => out.push((name.clone(), a.clone())),
        }
    }
    out
}

fn temporal_attributes(
    obj: &Map<String, Value>,
    s: &Scope,
    now: crate::model::Timestamp,
) -> Result<Vec<(String, Attribute)>> {
    let mut out = Vec::new();
    for (name, v) in obj {
        if parse::ENTITY_MEMBERS.contains(&name.as_str()) {
            continue;
        }
        let expanded = parse::attr_name(name, &s.ctx)?;
        let items: Vec<&Value> = match v {
            Value::Array(a) if a.iter().all(Value::is_object) => a.iter().collect(),
            other => vec![other],
        };
        for i in items {
            out.push((
                expanded.clone(),
                parse::attribute(name, &expanded, i, &s.ctx, now)?,
            ));
        }
    }
    Ok(out)
}

impl Temporal {
    /// The temporal API over `store`.
    pub fn new(store: Arc<dyn TemporalStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn TemporalStore> {
        &self.store
    }

    async fn record(&self, s: &Scope, id: &str) -> Result<Option<EntityRecord>> {
        let ids = [id.to_owned()];
        Ok(self
            .store
            .entities(&s.tenant, Some(&ids), None)
            .await?
            .into_iter()
            .next())
    }

    async fn render_one(
        &self,
        s: &Scope,
        rec: &EntityRecord,
        req: &TemporalRequest,
    ) -> Result<Map<String, Value>> {
        Ok(self.render_paged(s, rec, req).await?.0)
    }

    async fn render_paged(
        &self,
        s: &Scope,
        rec: &EntityRecord,
        req: &TemporalRequest,
    ) -> Result<(Map<String, Value>, Option<ContentRange>)> {
        if req.format == TemporalFormat::Aggregated {
            let series = self
                .store
                .aggregate(&s.tenant, &rec.id, &req.filter, &req.methods, req.period)
                .await?;
            let plain = InstanceFilter {
                attrs: req.filter.attrs.clone(),
                last_n: Some(1),
                ..Default::default()
            };
            let kinds: BTreeMap<String, AttrKind> = self
                .store
                .instances(&s.tenant, &rec.id, &plain)
                .await?
                .into_iter()
                .map(|i| (i.attr, i.attribute.kind))
                .collect();
            return Ok((
                view::render_aggregated(rec, &series, &kinds, &req.methods, &s.ctx),
                None,
            ));
        }
        let instances = self
            .store
            .instances(&s.tenant, &rec.id, &req.filter)
            .await?;
        let before_cut: Vec<(String, AttrKind)> = instances
            .iter()
            .map(|i| (i.attr.clone(), i.attribute.kind))
            .collect();
        let (instances, range) = match req.page_size {
            Some(limit) => paginate(instances, limit, &req.filter),
            None => (instances, None),
        };
        let mut out = view::render(
            rec,
            &instances,
            &s.ctx,
            &req.opts,
            &req.format,
            req.filter.range.property,
        );
        if range.is_some() {
            keep_cut_attributes(&mut out, &before_cut, &s.ctx, &req.format);
        }
        project(&mut out, &req.opts, &s.ctx);
        Ok((out, range))
    }

    /// Retrieve the temporal evolution of an entity; a range when the answer is partial.
    pub async fn retrieve(
        &self,
        s: &Scope,
        id: &str,
        req: &TemporalRequest,
    ) -> Result<(Map<String, Value>, Option<ContentRange>)> {
        crate::service::check_id(id)?;
        let rec = self.record(s, id).await?.ok_or_else(|| not_found(id))?;
        let (out, range) = self.render_paged(s, &rec, req).await?;
        let projected = req.opts.projection.pick.is_some() || !req.opts.projection.omit.is_empty();
        if out.is_empty() && projected {
            return Err(BrokerError::not_found(format!(
                "nothing of '{id}' is left after pick/omit"
            )));
        }
        if req.filter.attrs.is_some() && !has_attributes(&out) {
            return Err(BrokerError::not_found(format!(
                "'{id}' has no history of the attributes asked for"
            )));
        }
        Ok((out, range))
    }

    /// Query the temporal evolution of entities (selectors: id, idPattern, type).
    pub async fn query(
        &self,
        s: &Scope,
        q: &EntityQuery,
        req: &TemporalRequest,
        offset: usize,
        limit: usize,
    ) -> Result<(Vec<Map<String, Value>>, usize, Option<ContentRange>)> {
        let pre = q.prefilter();
        let records = self
            .store
            .entities(&s.tenant, pre.ids.as_deref(), pre.any_type.as_deref())
            .await?;
        let mut selected: Vec<EntityRecord> = records
            .into_iter()
            .filter(|r| {
                let probe = Entity {
                    id: r.id.clone(),
                    types: r.types.clone(),
                    scopes: Vec::new(),
                    created_at: r.created_at,
                    modified_at: r.modified_at,
                    attrs: Default::default(),
                };
                EntityQuery {
                    selectors: q.selectors.clone(),
                    ..Default::default()
                }
                .matches(&probe)
            })
            .collect();
        selected.sort_by(|a, b| a.id.cmp(&b.id));
        let narrowed = req.filter.attrs.is_some()
            || req.filter.range.from.is_some()
            || req.filter.range.to.is_some();
        if req.format == TemporalFormat::Aggregated {
            // Entities are aggregated a few at a time: each is one read on its own connection.
            let mut kept: Vec<Map<String, Value>> = Vec::new();
            for chunk in selected.chunks(4) {
                let done = futures_util::future::try_join_all(
                    chunk
                        .iter()
                        .map(|rec| self.aggregate_one(s, q, req, rec, narrowed)),
                )
                .await?;
                kept.extend(done.into_iter().flatten());
            }
            let total = kept.len();
            let out = kept.into_iter().skip(offset).take(limit).collect();
            return Ok((out, total, None));
        }
        // Instances of every selected entity; entities without matching history drop out.
        let mut per_entity = Vec::new();
        for rec in selected {
            if let Some(g) = &q.geo {
                // The entity matches if its GeoProperty matched at some time in the range.
                let f = InstanceFilter {
                    attrs: Some(vec![g.geoproperty.clone()]),
                    range: req.filter.range.clone(),
                    last_n: None,
                };
                let located = self.store.instances(&s.tenant, &rec.id, &f).await?;
                let hit = located.iter().any(|i| {
                    ngsild_query::geometry_from_geojson(&i.attribute.value)
                        .is_ok_and(|geom| g.matches(&geom))
                });
                if !hit {
                    continue;
                }
            }
            let instances = match &q.q {
                None => {
                    self.store
                        .instances(&s.tenant, &rec.id, &req.filter)
                        .await?
                }
                Some(qx) => {
                    // The instances shown are those of the request, unfiltered by q (as the
                    // ETSI suite expects, 021_08).
                    if !self.q_holds(s, &rec, qx, &req.filter.range).await? {
                        continue;
                    }
                    self.store
                        .instances(&s.tenant, &rec.id, &req.filter)
                        .await?
                }
            };
            if instances.is_empty() && narrowed {
                continue;
            }
            per_entity.push((rec, instances));
        }
        if !req.order_by.is_empty() {
            per_entity.sort_by(|a, b| {
                crate::query::order_by(a, b, &req.order_by, |(r, i), k| sort_value(r, i, k))
            });
        }
        let total = per_entity.len();
        let page: Vec<(EntityRecord, Vec<Instance>)> =
            per_entity.into_iter().skip(offset).take(limit).collect();
        // Temporal pagination over the whole page's instances.
        let all: Vec<Instance> = page.iter().flat_map(|(_, i)| i.iter().cloned()).collect();
        let (kept, range) = match req.page_size {
            Some(n) => paginate(all, n, &req.filter),
            None => (all, None),
        };
        let kept_ids: std::collections::HashSet<&str> =
            kept.iter().map(|i| i.instance_id.as_str()).collect();
        let mut out = Vec::new();
        for (rec, instances) in &page {
            let mine: Vec<Instance> = instances
                .iter()
                .filter(|i| kept_ids.contains(i.instance_id.as_str()))
                .cloned()
                .collect();
            let mut rendered = view::render(
                rec,
                &mine,
                &s.ctx,
                &req.opts,
                &req.format,
                req.filter.range.property,
            );
            if range.is_some() {
                let names: Vec<(String, AttrKind)> = instances
                    .iter()
                    .map(|i| (i.attr.clone(), i.attribute.kind))
                    .collect();
                keep_cut_attributes(&mut rendered, &names, &s.ctx, &req.format);
            }
            // Entities whose history has nothing for the datasetIds asked for drop out; pick
            // and omit only shape what is shown.
            let wanted = |i: &&Instance| {
                req.opts
                    .projection
                    .dataset_ids
                    .as_ref()
                    .is_none_or(|d| d.iter().any(|w| w.as_deref() == i.attribute.dataset_id()))
            };
            let has_history = instances.iter().any(|i| wanted(&i));
            project(&mut rendered, &req.opts, &s.ctx);
            if has_history || !narrowed {
                out.push(rendered);
            }
        }
        Ok((out, total, range))
    }

    /// Whether an entity's history in `range` meets `q`: each term by some instance.
    async fn q_holds(
        &self,
        s: &Scope,
        rec: &EntityRecord,
        q: &ngsild_query::QExpr,
        range: &super::TimeRange,
    ) -> Result<bool> {
        let f = InstanceFilter {
            attrs: Some(q_attrs(q)),
            range: range.clone(),
            last_n: None,
        };
        let seen = self.store.instances(&s.tenant, &rec.id, &f).await?;
        let probe = history_probe(rec, &seen.iter().collect::<Vec<_>>());
        Ok(crate::query::eval_q(q, &probe))
    }

    /// One entity of an aggregated query: `None` when `q` or the range leaves it out.
    async fn aggregate_one(
        &self,
        s: &Scope,
        q: &EntityQuery,
        req: &TemporalRequest,
        rec: &EntityRecord,
        narrowed: bool,
    ) -> Result<Option<Map<String, Value>>> {
        // The aggregates are over all instances in the range of an entity q selects.
        if let Some(qx) = &q.q
            && !self.q_holds(s, rec, qx, &req.filter.range).await?
        {
            return Ok(None);
        }
        let rendered = self.render_one(s, rec, req).await?;
        if (narrowed && !has_attributes(&rendered)) || rendered.is_empty() {
            return Ok(None);
        }
        Ok(Some(rendered))
    }

    /// Create or update the temporal representation of an entity: every instance given is
    /// added (one observed at the same time as an existing one of its series replaces it).
    /// Returns whether the entity was new to history, and its newest instances for the
    /// current state ([`crate::Broker::absorb`]).
    pub async fn upsert(&self, s: &Scope, body: &Value) -> Result<(bool, Latest)> {
        let obj = body
            .as_object()
            .ok_or_else(|| BrokerError::invalid("a temporal entity must be a JSON object"))?;
        let now = self.clock.now();
        let e = parse::entity(&Value::Object(strip_attrs(obj)), &s.ctx, now)?;
        let attrs = temporal_attributes(obj, s, now)?;
        let existing = self.record(s, &e.id).await?;
        let mut types = e.types.clone();
        if let Some(old) = &existing {
            for t in &old.types {
                if !types.contains(t) {
                    types.push(t.clone());
                }
            }
        }
        let rec = EntityRecord {
            id: e.id.clone(),
            types,
            created_at: existing.as_ref().map_or(now, |r| r.created_at),
            modified_at: now,
            deleted_at: None,
        };
        let latest = Latest {
            id: e.id.clone(),
            types: rec.types.clone(),
            attrs: newest(&attrs),
        };
        let instances = attrs
            .into_iter()
            .map(|(attr, attribute)| Instance {
                entity_id: e.id.clone(),
                attr,
                instance_id: instance_id(),
                attribute,
                deleted_at: None,
            })
            .collect();
        self.store.record(&s.tenant, vec![rec], instances).await?;
        Ok((existing.is_none(), latest))
    }

    /// Add attribute instances to an entity's history; returns the newest ones for the
    /// current state.
    pub async fn append(&self, s: &Scope, id: &str, body: &Value) -> Result<Latest> {
        crate::service::check_id(id)?;
        let rec = self.record(s, id).await?.ok_or_else(|| not_found(id))?;
        let obj = body
            .as_object()
            .ok_or_else(|| BrokerError::invalid("the body must be a JSON object"))?;
        let now = self.clock.now();
        let attrs = temporal_attributes(obj, s, now)?;
        let latest = Latest {
            id: id.to_owned(),
            types: rec.types.clone(),
            attrs: newest(&attrs),
        };
        let instances: Vec<Instance> = attrs
            .into_iter()
            .map(|(attr, attribute)| Instance {
                entity_id: id.to_owned(),
                attr,
                instance_id: instance_id(),
                attribute,
                deleted_at: None,
            })
            .collect();
        self.store
            .record(
                &s.tenant,
                vec![EntityRecord {
                    modified_at: now,
                    ..rec
                }],
                instances,
            )
            .await?;
        Ok(latest)
    }

    /// Delete an entity's history.
    pub async fn delete_entity(&self, s: &Scope, id: &str) -> Result<()> {
        crate::service::check_id(id)?;
        if self.store.delete_entity(&s.tenant, id).await? {
            Ok(())
        } else {
            Err(not_found(id))
        }
    }

    /// Delete an attribute's history.
    pub async fn delete_attr(
        &self,
        s: &Scope,
        id: &str,
        attr: &str,
        dataset_id: Option<&str>,
        all: bool,
    ) -> Result<()> {
        crate::service::check_id(id)?;
        let name = parse::attr_name(attr, &s.ctx)?;
        if self
            .store
            .delete_attr(&s.tenant, id, &name, dataset_id, all)
            .await?
        {
            Ok(())
        } else {
            Err(BrokerError::not_found(format!(
                "no history of attribute '{attr}'"
            )))
        }
    }

    /// Delete one attribute instance.
    pub async fn delete_instance(
        &self,
        s: &Scope,
        id: &str,
        attr: &str,
        instance: &str,
    ) -> Result<()> {
        crate::service::check_id(id)?;
        if !parse::is_uri(instance) {
            return Err(BrokerError::bad_data(format!(
                "'{instance}' is not a valid instance id (a URI)"
            )));
        }
        let name = parse::attr_name(attr, &s.ctx)?;
        if self
            .store
            .delete_instance(&s.tenant, id, &name, instance)
            .await?
        {
            Ok(())
        } else {
            Err(BrokerError::not_found(format!("no instance '{instance}'")))
        }
    }

    /// Modify one attribute instance.
    pub async fn modify_instance(
        &self,
        s: &Scope,
        id: &str,
        attr: &str,
        instance: &str,
        body: &Value,
    ) -> Result<()> {
        crate::service::check_id(id)?;
        let name = parse::attr_name(attr, &s.ctx)?;
        if !parse::is_uri(instance) {
            return Err(BrokerError::bad_data(format!(
                "'{instance}' is not a valid instance id (a URI)"
            )));
        }
        self.record(s, id).await?.ok_or_else(|| not_found(id))?;
        let obj = body
            .as_object()
            .ok_or_else(|| BrokerError::invalid("the body must be a JSON object"))?;
        // The fragment is the instance itself, or wrapped under the attribute's name.
        let bare = [
            "type",
            "value",
            "object",
            "languageMap",
            "vocab",
            "json",
            "valueList",
            "objectList",
        ]
        .iter()
        .any(|m| obj.contains_key(*m));
        let frag = if bare {
            body.clone()
        } else {
            obj.get(attr).cloned().unwrap_or(Value::Null)
        };
        let frag = match frag {
            Value::Array(mut a) if a.len() == 1 => a.remove(0),
            v => v,
        };
        let new = parse::attribute(attr, &name, &frag, &s.ctx, self.clock.now())?;
        if self
            .store
            .modify_instance(&s.tenant, id, &name, instance, new)
            .await?
        {
            Ok(())
        } else {
            Err(BrokerError::not_found(format!("no instance '{instance}'")))
        }
    }
}

/// An attribute whose instances all fall after the page's cut stays, empty, so the client
/// sees it exists and asks for the next range.
/// The attributes a `q` names (expanded).
fn q_attrs(q: &ngsild_query::QExpr) -> Vec<String> {
    let mut names: Vec<String> = q.terms().iter().map(|t| t.path.attr.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// An entity whose attributes are all instances of `instances` that are not deletion
/// records: `q` holds on it when each term is met by some instance in the window.
fn history_probe(rec: &EntityRecord, instances: &[&Instance]) -> Entity {
    let mut probe = Entity {
        id: rec.id.clone(),
        types: rec.types.clone(),
        scopes: Vec::new(),
        created_at: rec.created_at,
        modified_at: rec.modified_at,
        attrs: Default::default(),
    };
    for i in instances.iter().filter(|i| i.deleted_at.is_none()) {
        probe.attrs.slot(&i.attr).push(i.attribute.clone());
    }
    probe
}

fn keep_cut_attributes(
    out: &mut Map<String, Value>,
    cut: &[(String, AttrKind)],
    ctx: &jsonld::Context,
    format: &TemporalFormat,
) {
    for (n, kind) in cut {
        out.entry(ctx.compact_iri(n))
            .or_insert_with(|| match format {
                TemporalFormat::TemporalValues => {
                    let mut o = Map::new();
                    o.insert("type".into(), kind.type_name().into());
                    o.insert(view::values_member(*kind).into(), Value::Array(Vec::new()));
                    Value::Object(o)
                }
                _ => Value::Array(Vec::new()),
            });
    }
}

fn has_attributes(m: &Map<String, Value>) -> bool {
    m.keys().any(|k| {
        ![
            "id",
            "type",
            "createdAt",
            "modifiedAt",
            "deletedAt",
            "@context",
        ]
        .contains(&k.as_str())
    })
}

/// Applies pick/omit to a rendered temporal entity (members by compact name, or id/type).
fn project(out: &mut Map<String, Value>, opts: &RenderOptions, ctx: &jsonld::Context) {
    let p = &opts.projection;
    if p.pick.is_none() && p.omit.is_empty() {
        return;
    }
    out.retain(|k, _| {
        let name = if k == "id" || k == "type" {
            k.clone()
        } else {
            ctx.expand_term(k)
        };
        p.pick.as_ref().is_none_or(|pick| pick.contains(&name)) && !p.omit.contains(&name)
    });
}

/// The entity members without attributes (for id/type/scope validation).
fn strip_attrs(obj: &Map<String, Value>) -> Map<String, Value> {
    obj.iter()
        .filter(|(k, _)| ["@context", "id", "@id", "type", "@type", "scope"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
