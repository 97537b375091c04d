//! History: [`broker::temporal::TemporalStore`] on SQLite, laid out for time series.
//!
//! # Layout
//!
//! ```text
//! temporal_entities     (tenant, id, types JSON, created, modified, deleted)   PK (tenant, id)
//! temporal_entity_types (tenant, type, id)                                     PK (tenant, type, id)
//! temporal_series       (sid INTEGER PK, tenant, entity_id, attr, dataset_id)  UNIQUE (tenant, entity_id, attr, dataset_id)
//! attr_instances        (sid, ts, instance_id, observed, created, modified, deleted, num, txt, doc)
//!                        PK (sid, ts, instance_id) WITHOUT ROWID;  UNIQUE INDEX (instance_id)
//! attr_rollups          (sid, hour, n, n_num, sum, sumsq, shifted, shifted_sq, min/max num/txt, last_ts)
//!                        PK (sid, hour) WITHOUT ROWID
//! ```
//!
//! * **One series per (tenant, entity, attribute, datasetId)**, numbered by `sid`. Instances
//!   carry the small integer instead of repeating the tenant, entity id, attribute IRI and
//!   datasetId (easily 100 bytes) in every row and in every index entry. The default
//!   instance has `dataset_id = ''` (a datasetId is a URI, so it cannot be empty).
//! * **`attr_instances` is `WITHOUT ROWID`, clustered on `(sid, ts, instance_id)`**: the
//!   instances of one series are stored contiguously in time order, so a time range, a lastN
//!   (the same key read backwards) and an aggregation are each one range scan of adjacent
//!   pages, with no lookup from an index into a table. `ts` is the series time: `observedAt`
//!   when the instance has one, else its `createdAt` (for deletion records, `deletedAt`); so the
//!   clustering also serves clients that never send `observedAt`. `instance_id` only breaks
//!   ties.
//! * **Values are typed columns beside the document**: `num REAL` holds what aggregation
//!   computes on (a number; a boolean as 1/0 and an array as its size, as clause 4.5.19.1 says),
//!   `txt TEXT` what min/max compare as text and what distinctCount tells apart (a string as
//!   is; an array or object as compact JSON). `doc` is the full instance (the model's
//!   [`Attribute`] serialised), the only thing read back by [`TemporalStore::instances`].
//!   The time columns are epoch microseconds (`INTEGER`), `observed`/`deleted` NULL when absent.
//! * **`UNIQUE INDEX (instance_id)`** keeps instance ids unique and finds one instance for
//!   modify/delete without scanning its series. No index on `created`/`modified`: ranges on
//!   those scan the (contiguous) series and filter; `createdAt` equals the series time for
//!   instances without `observedAt`, the common case for such queries.
//! * **Hourly rollups.** `attr_rollups` holds, per series and hour of observation, the
//!   count, the sums (plain, squared and shifted by the series' `shift`), min and max of the
//!   observed instances that are not deletion records. Every write refreshes the rollup of each
//!   hour it touched from that hour's instances, inside the same transaction, so rollups are
//!   never stale. An aggregation over `observedAt` with a start and whole-hour periods (the
//!   dashboard case: hourly or daily figures over a range) combines rollups: 60 rows become
//!   one for minute data. Bucket boundaries then all fall at the same minute of an hour, so
//!   only the hours containing one (none when the start is on the hour) and a last partial
//!   hour are read from the instances. distinctCount and other time properties scan the
//!   instances. Both ways give the same answers; a test compares them on random data.
//! * **`temporal_entity_types`** answers "entities of any of these types" from an index; the
//!   types of `temporal_entities` are the union of every type the entity ever had.
//!
//! # Semantics
//!
//! * **Time property.** With [`TimeProperty::ObservedAt`], instances without `observedAt`
//!   are left out only when a range bound or lastN is given (they cannot lie in a range of
//!   observation times); without either, every instance is returned, placed in time by its
//!   series time. `CreatedAt`/`ModifiedAt` use the record's system times; `DeletedAt` selects
//!   deletion records only.
//! * **Order.** [`TemporalStore::instances`] returns series by attribute, then datasetId
//!   (default instance first), each in ascending time of the time property. lastN keeps the
//!   last N per series and still returns them ascending.
//! * **Aggregation** runs in SQL: `GROUP BY (t - origin) / period` with `COUNT`,
//!   `COUNT(DISTINCT)`, `SUM`, `MIN`, `MAX` per bucket. Buckets are half-open
//!   `[origin + k·period, origin + (k+1)·period)`. The origin is `range.from` when given,
//!   else the earliest selected instance of the entity (across the selected series, so
//!   buckets of different attributes line up; this is what the ETSI suite expects, 020_11 /
//!   021_17). **Buckets without instances are omitted** (the suite queries with `timeAt` months
//!   before the data and expects only the populated periods); the caller can fill gaps from
//!   `start`/`end` if it wants them. Without a period, one bucket spans
//!   `[range.from or first instance, range.to or last instance]`.
//!   Deletion records take part only with `DeletedAt`. `lastN` does not apply to aggregation.
//!   Values: `totalCount`/`distinctCount` are integers; `sum`, `avg`, `sumsq`, `stddev`
//!   (population) work on `num` only and are `Null` when a bucket has no number; `min`/`max`
//!   are numeric when the bucket has numbers, else the lexicographic min/max of `txt`
//!   (strings, DateTimes), else `Null`. Whether a method applies to a type (4.5.19.1 N/A
//!   cells) is the caller's decision. `stddev` is computed in Rust from sums shifted by a
//!   value of the series (its first number, kept in `temporal_series.shift`) (`Σ(x-k)`, `Σ(x-k)²`), which avoids the cancellation of
//!   `sumsq/n - mean²` for large values with small spread.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use async_trait::async_trait;
use broker::model::{Attribute, Timestamp};
use broker::store::StoreError;
use broker::temporal::store::SeriesKey;
use broker::temporal::{
    AggrMethod, Bucket, EntityRecord, Instance, InstanceFilter, TemporalStore, TimeProperty,
};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use serde_json::Value;

use crate::SqliteStore;
use crate::writer::{Job, Reply};

/// The schema of history (migration 2).
pub(crate) const MIGRATION: &str = "
CREATE TABLE temporal_entities (
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    types TEXT NOT NULL,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    deleted INTEGER,
    PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE temporal_entity_types (
    tenant TEXT NOT NULL,
    type TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (tenant, type, id)
) WITHOUT ROWID;
CREATE TABLE temporal_series (
    sid INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    attr TEXT NOT NULL,
    dataset_id TEXT NOT NULL
);
CREATE UNIQUE INDEX temporal_series_key ON temporal_series (tenant, entity_id, attr, dataset_id);
CREATE TABLE attr_instances (
    sid INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    observed INTEGER,
    created INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    deleted INTEGER,
    num REAL,
    txt TEXT,
    doc TEXT NOT NULL,
    PRIMARY KEY (sid, ts, instance_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX attr_instances_id ON attr_instances (instance_id);
";

/// Hourly rollups (migration 3): per series and hour of observation, the sums every
/// aggregation method except distinctCount can be combined from. Filled from the existing
/// instances when an older file is opened.
pub(crate) const ROLLUP_MIGRATION: &str = "
ALTER TABLE temporal_series ADD COLUMN shift REAL;
UPDATE temporal_series SET shift = (SELECT num FROM attr_instances a \
    WHERE a.sid = temporal_series.sid AND a.num IS NOT NULL ORDER BY a.ts LIMIT 1);
CREATE TABLE attr_rollups (
    sid INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    n INTEGER NOT NULL,
    n_num INTEGER NOT NULL,
    sum REAL,
    sumsq REAL,
    shifted REAL NOT NULL,
    shifted_sq REAL NOT NULL,
    min_num REAL,
    max_num REAL,
    min_txt TEXT,
    max_txt TEXT,
    last_ts INTEGER NOT NULL,
    PRIMARY KEY (sid, hour)
) WITHOUT ROWID;
INSERT INTO attr_rollups
SELECT a.sid, a.ts - (((a.ts % 3600000000) + 3600000000) % 3600000000) AS h,
       COUNT(*), COUNT(a.num), SUM(a.num), SUM(a.num * a.num),
       TOTAL(a.num - COALESCE(s.shift, 0)), TOTAL((a.num - COALESCE(s.shift, 0)) * (a.num - COALESCE(s.shift, 0))),
       MIN(a.num), MAX(a.num), MIN(a.txt), MAX(a.txt), MAX(a.ts)
FROM attr_instances a JOIN temporal_series s ON s.sid = a.sid
WHERE a.observed IS NOT NULL AND a.deleted IS NULL
GROUP BY a.sid, h;
";

/// One hour in microseconds: the width of a rollup.
const HOUR: i64 = 3_600_000_000;

/// The start of the hour `t` (epoch µs) lies in.
fn hour_of(t: i64) -> i64 {
    t - t.rem_euclid(HOUR)
}

/// Recomputes the rollup of one series and hour from its instances (observed, not
/// deletion records), or removes it when none are left.
fn refresh_rollup(tx: &Transaction<'_>, sid: i64, hour: i64) -> Result<(), StoreError> {
    tx.prepare_cached("DELETE FROM attr_rollups WHERE sid = ?1 AND hour = ?2")
        .and_then(|mut s| s.execute(params![sid, hour]))
        .map_err(sql_err)?;
    tx.prepare_cached(
        "INSERT INTO attr_rollups \
         SELECT ?1, ?2, COUNT(*), COUNT(num), SUM(num), SUM(num * num), TOTAL(num - k), \
                TOTAL((num - k) * (num - k)), MIN(num), MAX(num), MIN(txt), MAX(txt), MAX(ts) \
         FROM attr_instances, (SELECT COALESCE(shift, 0) AS k FROM temporal_series WHERE sid = ?1) \
         WHERE sid = ?1 AND ts >= ?2 AND ts < ?2 + 3600000000 AND observed IS NOT NULL AND deleted IS NULL \
         HAVING COUNT(*) > 0",
    )
    .and_then(|mut s| s.execute(params![sid, hour]))
    .map_err(sql_err)?;
    Ok(())
}

/// The series and hour of an instance, for refreshing its rollup after it changed.
fn instance_hour(
    tx: &Transaction<'_>,
    instance_id: &str,
) -> Result<Option<(i64, i64)>, StoreError> {
    tx.prepare_cached("SELECT sid, ts FROM attr_instances WHERE instance_id = ?1")
        .and_then(|mut s| {
            s.query_row(params![instance_id], |r| {
                Ok((r.get(0)?, hour_of(r.get(1)?)))
            })
            .optional()
        })
        .map_err(sql_err)
}

/// Statements that empty history (admin reset).
pub(crate) const RESET: &str = "DELETE FROM attr_rollups; DELETE FROM attr_instances; DELETE FROM temporal_series; \
     DELETE FROM temporal_entity_types; DELETE FROM temporal_entities;";

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

/// A change to history, run by the writer thread inside its group transaction.
pub(crate) enum Op {
    Record {
        entities: Vec<EntityRecord>,
        instances: Vec<Instance>,
    },
    DeleteEntity {
        entity_id: String,
    },
    DeleteAttr {
        entity_id: String,
        attr: String,
        dataset_id: Option<String>,
        all: bool,
    },
    DeleteInstance {
        entity_id: String,
        attr: String,
        instance_id: String,
    },
    ModifyInstance {
        entity_id: String,
        attr: String,
        instance_id: String,
        new: Box<Attribute>,
    },
    /// Drops instances whose series time is before `before` (retention).
    Expire {
        entity_id: String,
        before: i64,
    },
    Reset,
}

/// Runs one job's change inside a savepoint of the group transaction, so that a failing job
/// (say, a duplicate instance id) fails alone. The outer error means the transaction itself
/// is unusable (the group fails).
pub(crate) fn apply(
    tx: &Transaction<'_>,
    tenant: &str,
    op: Op,
    series: &mut SeriesCache,
) -> Result<Result<u64, StoreError>, StoreError> {
    tx.execute_batch("SAVEPOINT temporal_job")
        .map_err(sql_err)?;
    let r = run_op(tx, tenant, op, series);
    if r.is_ok() {
        tx.execute_batch("RELEASE temporal_job").map_err(sql_err)?;
    } else {
        // Series created inside the rolled back job are gone again.
        series.clear();
        tx.execute_batch("ROLLBACK TO temporal_job; RELEASE temporal_job")
            .map_err(sql_err)?;
    }
    Ok(r)
}

fn run_op(
    tx: &Transaction<'_>,
    tenant: &str,
    op: Op,
    series: &mut SeriesCache,
) -> Result<u64, StoreError> {
    match op {
        Op::Record {
            entities,
            instances,
        } => record(tx, tenant, &entities, &instances, series).map(|()| 1),
        Op::Expire { entity_id, before } => {
            // Retention may forget whole series.
            series.clear();
            expire(tx, tenant, &entity_id, before)
        }
        op => {
            if !matches!(op, Op::DeleteInstance { .. } | Op::ModifyInstance { .. }) {
                series.clear();
            }
            run_flag_op(tx, tenant, op).map(u64::from)
        }
    }
}

/// The writer's memory of series ids, so that recording into a known series needs no
/// lookup: (tenant, entity, attribute, datasetId) → (sid, whether its stddev shift is
/// fixed). Bounded (emptied when full); emptied whenever series may have been deleted or a
/// transaction that created some was rolled back.
#[derive(Default)]
pub(crate) struct SeriesCache {
    known: HashMap<String, (i64, bool)>,
    /// What `temporal_entities` holds for (tenant, entity): its types and creation time, so
    /// that recording an update needs no read of its row.
    entities: HashMap<String, (Vec<String>, i64)>,
}

/// Most series the cache remembers (about 150 bytes each).
const SERIES_CACHE: usize = 65_536;

impl SeriesCache {
    fn key(tenant: &str, entity: &str, attr: &str, ds: &str) -> String {
        let mut k = String::with_capacity(tenant.len() + entity.len() + attr.len() + ds.len() + 3);
        for (i, part) in [tenant, entity, attr, ds].into_iter().enumerate() {
            if i > 0 {
                k.push('\n');
            }
            k.push_str(part);
        }
        k
    }

    fn put(&mut self, key: String, v: (i64, bool)) {
        if self.known.len() >= SERIES_CACHE && !self.known.contains_key(&key) {
            self.known.clear();
        }
        self.known.insert(key, v);
    }

    fn entity_key(tenant: &str, id: &str) -> String {
        Self::key(tenant, id, "", "")
    }

    fn put_entity(&mut self, key: String, v: (Vec<String>, i64)) {
        if self.entities.len() >= SERIES_CACHE && !self.entities.contains_key(&key) {
            self.entities.clear();
        }
        self.entities.insert(key, v);
    }

    /// Forgets everything (after a rollback or a deletion of history).
    pub(crate) fn clear(&mut self) {
        self.known.clear();
        self.entities.clear();
    }
}

/// Retention for one entity: instances before `before` go, rollups of hours wholly before it
/// go, the hour it falls in is recomputed; a deleted entity with nothing left is forgotten.
fn expire(
    tx: &Transaction<'_>,
    tenant: &str,
    entity_id: &str,
    before: i64,
) -> Result<u64, StoreError> {
    let sids: Vec<i64> = tx
        .prepare_cached("SELECT sid FROM temporal_series WHERE tenant = ?1 AND entity_id = ?2")
        .and_then(|mut s| {
            s.query_map(params![tenant, entity_id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()
        })
        .map_err(sql_err)?;
    let mut removed = 0u64;
    for sid in &sids {
        let n = tx
            .prepare_cached("DELETE FROM attr_instances WHERE sid = ?1 AND ts < ?2")
            .and_then(|mut s| s.execute(params![sid, before]))
            .map_err(sql_err)?;
        removed += n as u64;
        if n > 0 {
            tx.prepare_cached("DELETE FROM attr_rollups WHERE sid = ?1 AND hour < ?2")
                .and_then(|mut s| s.execute(params![sid, hour_of(before)]))
                .map_err(sql_err)?;
            refresh_rollup(tx, *sid, hour_of(before))?;
        }
    }
    // Series left empty go; so does a deleted entity without any history left.
    tx.execute(
        "DELETE FROM temporal_series WHERE tenant = ?1 AND entity_id = ?2 \
         AND NOT EXISTS (SELECT 1 FROM attr_instances a WHERE a.sid = temporal_series.sid)",
        params![tenant, entity_id],
    )
    .map_err(sql_err)?;
    let gone = tx
        .execute(
            "DELETE FROM temporal_entities WHERE tenant = ?1 AND id = ?2 AND deleted IS NOT NULL \
             AND deleted < ?3 AND NOT EXISTS (SELECT 1 FROM temporal_series WHERE tenant = ?1 AND entity_id = ?2)",
            params![tenant, entity_id, before],
        )
        .map_err(sql_err)?;
    if gone > 0 {
        tx.execute(
            "DELETE FROM temporal_entity_types WHERE tenant = ?1 AND id = ?2",
            params![tenant, entity_id],
        )
        .map_err(sql_err)?;
    }
    Ok(removed)
}

fn run_flag_op(tx: &Transaction<'_>, tenant: &str, op: Op) -> Result<bool, StoreError> {
    match op {
        Op::Record { .. } => Ok(false),
        Op::DeleteEntity { entity_id } => {
            let mut any = tx
                .execute(
                    "DELETE FROM temporal_entities WHERE tenant = ?1 AND id = ?2",
                    params![tenant, entity_id],
                )
                .map_err(sql_err)?
                > 0;
            tx.execute(
                "DELETE FROM temporal_entity_types WHERE tenant = ?1 AND id = ?2",
                params![tenant, entity_id],
            )
            .map_err(sql_err)?;
            for table in ["attr_rollups", "attr_instances"] {
                tx.execute(
                    &format!(
                        "DELETE FROM {table} WHERE sid IN \
                         (SELECT sid FROM temporal_series WHERE tenant = ?1 AND entity_id = ?2)"
                    ),
                    params![tenant, entity_id],
                )
                .map_err(sql_err)?;
            }
            any |= tx
                .execute(
                    "DELETE FROM temporal_series WHERE tenant = ?1 AND entity_id = ?2",
                    params![tenant, entity_id],
                )
                .map_err(sql_err)?
                > 0;
            Ok(any)
        }
        Op::DeleteAttr {
            entity_id,
            attr,
            dataset_id,
            all,
        } => {
            let ds = dataset_id.unwrap_or_default();
            let which = "tenant = ?1 AND entity_id = ?2 AND attr = ?3 AND (?4 OR dataset_id = ?5)";
            tx.execute(
                &format!("DELETE FROM attr_rollups WHERE sid IN (SELECT sid FROM temporal_series WHERE {which})"),
                params![tenant, entity_id, attr, all, ds],
            )
            .map_err(sql_err)?;
            let n = tx
                .execute(
                    &format!("DELETE FROM attr_instances WHERE sid IN (SELECT sid FROM temporal_series WHERE {which})"),
                    params![tenant, entity_id, attr, all, ds],
                )
                .map_err(sql_err)?;
            let m = tx
                .execute(
                    &format!("DELETE FROM temporal_series WHERE {which}"),
                    params![tenant, entity_id, attr, all, ds],
                )
                .map_err(sql_err)?;
            Ok(n + m > 0)
        }
        Op::DeleteInstance {
            entity_id,
            attr,
            instance_id,
        } => {
            let at = instance_hour(tx, &instance_id)?;
            let n = tx
                .execute(
                    "DELETE FROM attr_instances WHERE instance_id = ?4 AND sid IN \
                     (SELECT sid FROM temporal_series WHERE tenant = ?1 AND entity_id = ?2 AND attr = ?3)",
                    params![tenant, entity_id, attr, instance_id],
                )
                .map_err(sql_err)?;
            if n > 0
                && let Some((sid, hour)) = at
            {
                refresh_rollup(tx, sid, hour)?;
            }
            Ok(n > 0)
        }
        Op::Reset => {
            tx.execute_batch(RESET).map_err(sql_err)?;
            Ok(true)
        }
        Op::Expire { .. } => Ok(false),
        Op::ModifyInstance {
            entity_id,
            attr,
            instance_id,
            new,
        } => {
            let found: Option<(i64, String, Option<i64>)> = tx
                .query_row(
                    "SELECT i.sid, s.dataset_id, i.deleted FROM attr_instances i JOIN temporal_series s ON s.sid = i.sid \
                     WHERE i.instance_id = ?4 AND s.tenant = ?1 AND s.entity_id = ?2 AND s.attr = ?3",
                    params![tenant, entity_id, attr, instance_id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()
                .map_err(sql_err)?;
            let Some((sid, ds, deleted)) = found else {
                return Ok(false);
            };
            let old = instance_hour(tx, &instance_id)?;
            tx.execute(
                "DELETE FROM attr_instances WHERE instance_id = ?1",
                params![instance_id],
            )
            .map_err(sql_err)?;
            // The instance stays in its series: its datasetId cannot change.
            let new = new.with_dataset_id((!ds.is_empty()).then_some(ds.as_str()));
            let ts = insert_instance(
                tx,
                sid,
                &instance_id,
                &new,
                deleted.and_then(DateTime::from_timestamp_micros),
                false,
            )?;
            let mut hours: Vec<i64> = old.map(|(_, h)| h).into_iter().collect();
            hours.extend(ts.map(hour_of));
            hours.dedup();
            for hour in hours {
                refresh_rollup(tx, sid, hour)?;
            }
            Ok(true)
        }
    }
}

/// Records entity lifecycles and instances (see [`Op::Record`]) inside `tx`.
pub(crate) fn record(
    tx: &Transaction<'_>,
    tenant: &str,
    entities: &[EntityRecord],
    instances: &[Instance],
    series: &mut SeriesCache,
) -> Result<(), StoreError> {
    // Entities new to history have no series yet: theirs are created without a lookup.
    let mut fresh = std::collections::HashSet::new();
    for e in entities {
        if record_entity(tx, tenant, e, series)? {
            fresh.insert(e.id.as_str());
        }
    }
    let mut dirty = std::collections::BTreeSet::new();
    for i in instances {
        let ds = i.attribute.dataset_id().unwrap_or_default();
        let key = SeriesCache::key(tenant, &i.entity_id, &i.attr, ds);
        let number = has_number(&i.attribute.value);
        let cached = series.known.get(&key).copied();
        let (sid, shift_known) = match cached {
            Some(s) => s,
            None => {
                // A new series takes its first number as its stddev shift right away.
                let first = if number {
                    typed_value(&i.attribute.value).0
                } else {
                    None
                };
                if fresh.contains(i.entity_id.as_str())
                    && let Ok(sid) = new_series(tx, tenant, &i.entity_id, &i.attr, ds, first)
                {
                    (sid, first.is_some())
                } else {
                    // Also where a series outlived its entity's record (not expected).
                    series_id(tx, tenant, &i.entity_id, &i.attr, ds)?
                }
            }
        };
        // Remember a new series, and that a number (inserted below) fixes the shift.
        if cached.is_none() || (!shift_known && number) {
            series.put(key, (sid, shift_known || number));
        }
        // One instance per series and observation time: a second observation at the
        // same time (a retry, a correction, a re-import) replaces the first and keeps
        // its instanceId and createdAt.
        let same = match (
            i.deleted_at,
            i.attribute.observed_at().and_then(parse_time),
        ) {
            (None, Some(at)) => tx
                .prepare_cached(
                    "SELECT instance_id, created FROM attr_instances \
                     WHERE sid = ?1 AND ts = ?2 AND observed IS NOT NULL AND deleted IS NULL LIMIT 1",
                )
                .and_then(|mut s| {
                    s.query_row(params![sid, micros(at)], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                    })
                    .optional()
                })
                .map_err(sql_err)?,
            _ => None,
        };
        let inserted = match same {
            Some((old_id, created)) => {
                tx.prepare_cached("DELETE FROM attr_instances WHERE instance_id = ?1")
                    .and_then(|mut s| s.execute(params![old_id]))
                    .map_err(sql_err)?;
                let mut a = i.attribute.clone();
                a.created_at = from_micros(created)?;
                insert_instance(tx, sid, &old_id, &a, None, shift_known)?
            }
            None => insert_instance(
                tx,
                sid,
                &i.instance_id,
                &i.attribute,
                i.deleted_at,
                shift_known,
            )?,
        };
        if let Some(ts) = inserted {
            dirty.insert((sid, hour_of(ts)));
        }
    }
    for (sid, hour) in dirty {
        refresh_rollup(tx, sid, hour)?;
    }
    Ok(())
}

/// Records an entity's lifecycle; true when it is new to history.
fn record_entity(
    tx: &Transaction<'_>,
    tenant: &str,
    e: &EntityRecord,
    cache: &mut SeriesCache,
) -> Result<bool, StoreError> {
    let key = SeriesCache::entity_key(tenant, &e.id);
    let touch = |tx: &Transaction<'_>| {
        // The usual case, an update: only the times change.
        tx.prepare_cached(
            "UPDATE temporal_entities SET modified = ?3, deleted = ?4 WHERE tenant = ?1 AND id = ?2",
        )
        .and_then(|mut s| {
            s.execute(params![
                tenant,
                e.id,
                micros(e.modified_at),
                e.deleted_at.map(micros)
            ])
        })
        .map_err(sql_err)
    };
    if let Some((types, _)) = cache.entities.get(&key)
        && e.types.iter().all(|t| types.contains(t))
    {
        touch(tx)?;
        return Ok(false);
    }
    let old = match cache.entities.remove(&key) {
        Some(known) => Some(known),
        None => tx
            .prepare_cached(
                "SELECT types, created FROM temporal_entities WHERE tenant = ?1 AND id = ?2",
            )
            .and_then(|mut s| {
                s.query_row(params![tenant, e.id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .optional()
            })
            .map_err(sql_err)?
            .map(|(types, created)| {
                serde_json::from_str::<Vec<String>>(&types)
                    .map(|types| (types, created))
                    .map_err(|err| {
                        StoreError(format!("corrupt types of temporal entity {}: {err}", e.id))
                    })
            })
            .transpose()?,
    };
    let fresh = old.is_none();
    let (mut types, created) = old.unwrap_or_else(|| (Vec::new(), micros(e.created_at)));
    if !fresh && e.types.iter().all(|t| types.contains(t)) {
        touch(tx)?;
        cache.put_entity(key, (types, created));
        return Ok(false);
    }
    for t in &e.types {
        if !types.contains(t) {
            types.push(t.clone());
        }
    }
    let text = serde_json::to_string(&types).map_err(|err| StoreError(err.to_string()))?;
    tx.prepare_cached(
        "INSERT OR REPLACE INTO temporal_entities (tenant, id, types, created, modified, deleted) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .and_then(|mut s| {
        s.execute(params![
            tenant,
            e.id,
            text,
            created,
            micros(e.modified_at),
            e.deleted_at.map(micros)
        ])
    })
    .map_err(sql_err)?;
    let mut ins = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO temporal_entity_types (tenant, type, id) VALUES (?1, ?2, ?3)",
        )
        .map_err(sql_err)?;
    for t in &types {
        ins.execute(params![tenant, t, e.id]).map_err(sql_err)?;
    }
    cache.put_entity(key, (types, created));
    Ok(fresh)
}

/// The series of (entity, attribute, datasetId), created if new, and whether its stddev
/// shift is already fixed.
fn series_id(
    tx: &Transaction<'_>,
    tenant: &str,
    entity: &str,
    attr: &str,
    ds: &str,
) -> Result<(i64, bool), StoreError> {
    let found: Option<(i64, bool)> = tx
        .prepare_cached(
            "SELECT sid, shift IS NOT NULL FROM temporal_series WHERE tenant = ?1 AND entity_id = ?2 AND attr = ?3 AND dataset_id = ?4",
        )
        .and_then(|mut s| {
            s.query_row(params![tenant, entity, attr, ds], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(sql_err)?;
    match found {
        Some(found) => Ok(found),
        None => Ok((new_series(tx, tenant, entity, attr, ds, None)?, false)),
    }
}

/// Creates the series of (entity, attribute, datasetId), known not to exist, with its
/// stddev shift if its first number is known.
fn new_series(
    tx: &Transaction<'_>,
    tenant: &str,
    entity: &str,
    attr: &str,
    ds: &str,
    shift: Option<f64>,
) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO temporal_series (tenant, entity_id, attr, dataset_id, shift) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut s| s.execute(params![tenant, entity, attr, ds, shift]))
    .map_err(sql_err)?;
    Ok(tx.last_insert_rowid())
}

/// Inserts an instance; `shift_known` says the series' stddev shift is fixed already (else a
/// number fixes it). Returns the instance's time when it takes part in rollups.
fn insert_instance(
    tx: &Transaction<'_>,
    sid: i64,
    instance_id: &str,
    a: &Attribute,
    deleted: Option<Timestamp>,
    shift_known: bool,
) -> Result<Option<i64>, StoreError> {
    let observed = a.observed_at().and_then(parse_time).map(micros);
    let created = micros(a.created_at);
    let deleted = deleted.map(micros);
    let ts = observed.or(deleted).unwrap_or(created);
    let (num, txt) = typed_value(&a.value);
    let doc = serde_json::to_string(a).map_err(|e| StoreError(e.to_string()))?;
    tx.prepare_cached(
        "INSERT INTO attr_instances (sid, ts, instance_id, observed, created, modified, deleted, num, txt, doc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![sid, ts, instance_id, observed, created, micros(a.modified_at), deleted, num, txt, doc])
    })
    .map_err(sql_err)?;
    if let Some(x) = num.filter(|_| !shift_known) {
        // The series' stddev shift is its first number, fixed from then on.
        tx.prepare_cached("UPDATE temporal_series SET shift = ?2 WHERE sid = ?1 AND shift IS NULL")
            .and_then(|mut s| s.execute(params![sid, x]))
            .map_err(sql_err)?;
    }
    // Only observed instances that are not deletion records take part in rollups.
    Ok((observed.is_some() && deleted.is_none()).then_some(ts))
}

/// Whether [`typed_value`] gives `v` a number (without building it).
fn has_number(v: &Value) -> bool {
    matches!(v, Value::Bool(_) | Value::Number(_) | Value::Array(_))
}

/// What aggregation works on (`num`) and what min/max/distinctCount compare as text (`txt`).
fn typed_value(v: &Value) -> (Option<f64>, Option<String>) {
    match v {
        Value::Null => (None, None),
        Value::Bool(b) => (Some(if *b { 1.0 } else { 0.0 }), None),
        Value::Number(n) => (n.as_f64(), None),
        Value::String(s) => (None, Some(s.clone())),
        Value::Array(a) => (Some(a.len() as f64), Some(v.to_string())),
        Value::Object(_) => (None, Some(v.to_string())),
    }
}

fn micros(t: Timestamp) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> Result<Timestamp, StoreError> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError(format!("timestamp out of range: {us}")))
}

/// An NGSI-LD DateTime (RFC 3339; a missing offset is read as UTC).
fn parse_time(s: &str) -> Option<Timestamp> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|n| n.and_utc())
}

/// Read-only connections for queries (WAL lets them run beside the writer and see only
/// committed data). Kept for reuse; one is opened when none is idle.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        }
    }

    fn with<R>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut v| v.pop());
        let conn = match idle {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )
                .map_err(sql_err)?;
                c.busy_timeout(std::time::Duration::from_secs(5))
                    .map_err(sql_err)?;
                c
            }
        };
        let r = f(&conn);
        if let Ok(mut v) = self.idle.lock()
            && v.len() < 8
        {
            v.push(conn);
        }
        r
    }
}

impl SqliteStore {
    async fn temporal_job(&self, tenant: &str, op: Op) -> Result<bool, StoreError> {
        self.temporal_count(tenant, op).await.map(|n| n > 0)
    }

    async fn temporal_count(&self, tenant: &str, op: Op) -> Result<u64, StoreError> {
        let tenant = tenant.to_owned();
        match self
            .submit(|reply| Job::Temporal { tenant, op, reply })
            .await?
        {
            Reply::Count(r) => r,
            _ => Err(StoreError("unexpected reply".into())),
        }
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || readers.with(f))
            .await
            .map_err(|e| StoreError(format!("a history read failed: {e}")))?
    }
}

/// One series of an entity, as selected by a filter.
struct Series {
    sid: i64,
    attr: String,
    dataset_id: Option<String>,
}

fn series_of(
    conn: &Connection,
    tenant: &str,
    entity_id: &str,
    attrs: Option<&[String]>,
) -> Result<Vec<Series>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT sid, attr, dataset_id FROM temporal_series WHERE tenant = ?1 AND entity_id = ?2 \
             ORDER BY attr, dataset_id",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map(params![tenant, entity_id], |r| {
            let ds: String = r.get(2)?;
            Ok(Series {
                sid: r.get(0)?,
                attr: r.get(1)?,
                dataset_id: (!ds.is_empty()).then_some(ds),
            })
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for s in rows {
        let s = s.map_err(sql_err)?;
        if attrs.is_none_or(|a| a.contains(&s.attr)) {
            out.push(s);
        }
    }
    Ok(out)
}

/// The time column of a property and the WHERE clause (after `sid = ?1`) a filter needs.
/// `for_aggregation` leaves deletion records out unless the property is `deletedAt`.
fn time_filter(f: &InstanceFilter, for_aggregation: bool) -> (&'static str, String) {
    let (col, mut cond) = time_condition(f, for_aggregation);
    let r = &f.range;
    if let Some(from) = r.from {
        cond.push_str(&format!(" AND {col} >= {}", micros(from)));
    }
    if let Some(to) = r.to {
        cond.push_str(&format!(" AND {col} < {}", micros(to)));
    }
    (col, cond)
}

/// [`time_filter`] without the range bounds (for statements that take them as parameters).
fn time_condition(f: &InstanceFilter, for_aggregation: bool) -> (&'static str, String) {
    let r = &f.range;
    let strict = r.from.is_some() || r.to.is_some() || f.last_n.is_some();
    let (col, mut cond) = match r.property {
        TimeProperty::ObservedAt => (
            "ts",
            if strict {
                " AND observed IS NOT NULL".to_owned()
            } else {
                String::new()
            },
        ),
        TimeProperty::CreatedAt => ("created", String::new()),
        TimeProperty::ModifiedAt => ("modified", String::new()),
        TimeProperty::DeletedAt => ("deleted", " AND deleted IS NOT NULL".to_owned()),
    };
    if for_aggregation && r.property != TimeProperty::DeletedAt {
        cond.push_str(" AND deleted IS NULL");
    }
    (col, cond)
}

fn read_instances(
    conn: &Connection,
    tenant: &str,
    entity_id: &str,
    f: &InstanceFilter,
) -> Result<Vec<Instance>, StoreError> {
    let (col, cond) = time_filter(f, false);
    let sql = match f.last_n {
        Some(n) => format!(
            "SELECT instance_id, deleted, doc FROM attr_instances WHERE sid = ?1{cond} \
             ORDER BY {col} DESC, ts DESC, instance_id DESC LIMIT {n}"
        ),
        None => format!(
            "SELECT instance_id, deleted, doc FROM attr_instances WHERE sid = ?1{cond} ORDER BY {col}, ts, instance_id"
        ),
    };
    let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
    let mut out = Vec::new();
    for s in series_of(conn, tenant, entity_id, f.attrs.as_deref())? {
        let rows = stmt
            .query_map(params![s.sid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(sql_err)?;
        let start = out.len();
        for row in rows {
            let (instance_id, deleted, doc) = row.map_err(sql_err)?;
            let attribute: Attribute = serde_json::from_str(&doc).map_err(|e| {
                StoreError(format!("corrupt attribute instance {instance_id}: {e}"))
            })?;
            out.push(Instance {
                entity_id: entity_id.to_owned(),
                attr: s.attr.clone(),
                instance_id,
                attribute,
                deleted_at: deleted.map(from_micros).transpose()?,
            });
        }
        if f.last_n.is_some() {
            out[start..].reverse();
        }
    }
    Ok(out)
}

/// Per-bucket sums as SQL computes them.
#[derive(Default)]
struct Sums {
    count: i64,
    distinct: i64,
    n_num: i64,
    sum: Option<f64>,
    sumsq: Option<f64>,
    shifted: f64,
    shifted_sq: f64,
    min_num: Option<f64>,
    max_num: Option<f64>,
    min_txt: Option<String>,
    max_txt: Option<String>,
}

fn number(x: Option<f64>) -> Value {
    x.and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

impl Sums {
    fn value(&self, m: AggrMethod) -> Value {
        match m {
            AggrMethod::TotalCount => Value::from(self.count),
            AggrMethod::DistinctCount => Value::from(self.distinct),
            AggrMethod::Sum => number(self.sum),
            AggrMethod::SumSq => number(self.sumsq),
            AggrMethod::Avg => number(
                self.sum
                    .filter(|_| self.n_num > 0)
                    .map(|s| s / self.n_num as f64),
            ),
            AggrMethod::StdDev => {
                if self.n_num == 0 {
                    return Value::Null;
                }
                let n = self.n_num as f64;
                let mean = self.shifted / n;
                number(Some((self.shifted_sq / n - mean * mean).max(0.0).sqrt()))
            }
            AggrMethod::Min => match (self.min_num, &self.min_txt) {
                (Some(x), _) => number(Some(x)),
                (None, Some(s)) => Value::String(s.clone()),
                (None, None) => Value::Null,
            },
            AggrMethod::Max => match (self.max_num, &self.max_txt) {
                (Some(x), _) => number(Some(x)),
                (None, Some(s)) => Value::String(s.clone()),
                (None, None) => Value::Null,
            },
        }
    }
}

/// Whether an aggregation can be combined from hourly rollups: observation time, a start,
/// whole-hour periods and no distinctCount (which needs the values).
fn rollups_apply(f: &InstanceFilter, methods: &[AggrMethod], period: Option<i64>) -> bool {
    f.range.property == TimeProperty::ObservedAt
        && f.range.from.is_some()
        && period.is_none_or(|p| p % HOUR == 0)
        && !methods.contains(&AggrMethod::DistinctCount)
}

impl Sums {
    /// Adds the sums of `o` (the same bucket, other instances).
    fn merge(&mut self, o: Sums) {
        fn add(a: Option<f64>, b: Option<f64>) -> Option<f64> {
            match (a, b) {
                (Some(x), Some(y)) => Some(x + y),
                (x, y) => x.or(y),
            }
        }
        fn pick<T: PartialOrd>(a: Option<T>, b: Option<T>, less: bool) -> Option<T> {
            match (a, b) {
                (Some(x), Some(y)) => Some(if (x < y) == less { x } else { y }),
                (x, y) => x.or(y),
            }
        }
        self.count += o.count;
        self.distinct += o.distinct;
        self.n_num += o.n_num;
        self.sum = add(self.sum, o.sum);
        self.sumsq = add(self.sumsq, o.sumsq);
        self.shifted += o.shifted;
        self.shifted_sq += o.shifted_sq;
        self.min_num = pick(self.min_num, o.min_num, true);
        self.max_num = pick(self.max_num, o.max_num, false);
        self.min_txt = pick(self.min_txt.take(), o.min_txt, true);
        self.max_txt = pick(self.max_txt.take(), o.max_txt, false);
    }
}

/// Rows of `(bucket, sums, latest time)`, in bucket order.
type BucketRows = BTreeMap<i64, (Sums, Option<i64>)>;

fn bucket_rows(
    stmt: &mut rusqlite::Statement<'_>,
    args: &[&dyn rusqlite::ToSql],
) -> Result<BucketRows, StoreError> {
    let rows = stmt
        .query_map(args, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                Sums {
                    count: r.get(1)?,
                    distinct: r.get(2)?,
                    n_num: r.get(3)?,
                    sum: r.get(4)?,
                    sumsq: r.get(5)?,
                    shifted: r.get(6)?,
                    shifted_sq: r.get(7)?,
                    min_num: r.get(8)?,
                    min_txt: r.get(9)?,
                    max_num: r.get(10)?,
                    max_txt: r.get(11)?,
                },
                r.get::<_, Option<i64>>(12)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (b, sums, last) = row.map_err(sql_err)?;
        out.insert(b, (sums, last));
    }
    Ok(out)
}

/// The rollups of one series in `[from_hour, to_hour)` folded into buckets of `period`
/// counted from `from_hour`. With `boundary_every`, the hours holding a bucket boundary
/// (every that-many hours from the first) are left out: they are read from the instances.
fn rollup_buckets(
    stmt: &mut rusqlite::Statement<'_>,
    sid: i64,
    from_hour: i64,
    to_hour: i64,
    period: Option<i64>,
    boundary_every: Option<i64>,
) -> Result<BucketRows, StoreError> {
    let mut rows = stmt
        .query(params![sid, from_hour, to_hour])
        .map_err(sql_err)?;
    let mut out: BucketRows = BTreeMap::new();
    let mut current: Option<(i64, Sums, Option<i64>)> = None;
    while let Some(r) = rows.next().map_err(sql_err)? {
        let hour: i64 = r.get(0).map_err(sql_err)?;
        let k = (hour - from_hour) / HOUR;
        if boundary_every.is_some_and(|every| k % every == 0) {
            continue;
        }
        let b = period.map_or(0, |p| (hour - from_hour) / p);
        let sums = Sums {
            count: r.get(1).map_err(sql_err)?,
            distinct: 0,
            n_num: r.get(2).map_err(sql_err)?,
            sum: r.get(3).map_err(sql_err)?,
            sumsq: r.get(4).map_err(sql_err)?,
            shifted: r.get(5).map_err(sql_err)?,
            shifted_sq: r.get(6).map_err(sql_err)?,
            min_num: r.get(7).map_err(sql_err)?,
            min_txt: r.get(8).map_err(sql_err)?,
            max_num: r.get(9).map_err(sql_err)?,
            max_txt: r.get(10).map_err(sql_err)?,
        };
        let last: Option<i64> = r.get(11).map_err(sql_err)?;
        match &mut current {
            Some((cb, have, hl)) if *cb == b => {
                have.merge(sums);
                *hl = (*hl).max(last);
            }
            _ => {
                if let Some((cb, have, hl)) = current.take() {
                    out.insert(cb, (have, hl));
                }
                current = Some((b, sums, last));
            }
        }
    }
    if let Some((cb, have, hl)) = current {
        out.insert(cb, (have, hl));
    }
    Ok(out)
}

fn aggregate_entity(
    conn: &Connection,
    tenant: &str,
    entity_id: &str,
    f: &InstanceFilter,
    methods: &[AggrMethod],
    period: Option<i64>,
    rollups: bool,
) -> Result<BTreeMap<SeriesKey, Vec<Bucket>>, StoreError> {
    let series = series_of(conn, tenant, entity_id, f.attrs.as_deref())?;
    // Origin: range.from, else the earliest selected instance of the entity (for the series
    // time, the first row of each series in key order).
    let origin = match f.range.from {
        Some(from) => micros(from),
        None => {
            let (col, cond) = time_filter(f, true);
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {col} FROM attr_instances WHERE sid = ?1{cond} ORDER BY {col} LIMIT 1"
                ))
                .map_err(sql_err)?;
            let mut first: Option<i64> = None;
            for s in &series {
                if let Some(t) = stmt
                    .query_row(params![s.sid], |r| r.get::<_, i64>(0))
                    .optional()
                    .map_err(sql_err)?
                {
                    first = Some(first.map_or(t, |f| f.min(t)));
                }
            }
            match first {
                Some(t) => t,
                None => return Ok(BTreeMap::new()),
            }
        }
    };
    // With rollups, whole hours come from `attr_rollups`. Bucket boundaries all lie at the
    // same minute of an hour (periods are whole hours), so only the hours that contain one
    // (every period/hour-th hour from the start's hour; none when the start is on the hour)
    // and a last partial hour before `to` are read from the instances, each as a short range
    // scan. Hourly buckets off the hour split every hour: those scan the instances.
    let start_hour = hour_of(origin);
    let split = origin != start_hour;
    let per = period.map_or(i64::MAX, |p| p / HOUR);
    let rollup_to = (rollups && rollups_apply(f, methods, period) && !(split && per == 1))
        .then(|| f.range.to.map_or(i64::MAX, |t| hour_of(micros(t))));
    let raw_filter = f.clone();
    let mut out = BTreeMap::new();
    let mut last: Option<i64> = None;
    // Only what the methods need is computed (placeholders keep the column positions).
    let wants = |ms: &[AggrMethod], expr: &'static str, none: &'static str| {
        if ms.iter().any(|m| methods.contains(m)) {
            expr
        } else {
            none
        }
    };
    let stddev = methods.contains(&AggrMethod::StdDev);
    let mut raw_stmt = {
        {
            let (col, cond) = time_condition(&raw_filter, true);
            let distinct = wants(
                &[AggrMethod::DistinctCount],
                "COUNT(DISTINCT COALESCE(txt, num))",
                "0",
            );
            let sum = wants(&[AggrMethod::Sum, AggrMethod::Avg], "SUM(num)", "NULL");
            let sumsq = wants(&[AggrMethod::SumSq], "SUM(num * num)", "NULL");
            let shifted = wants(
                &[AggrMethod::StdDev],
                "TOTAL(num - ?2), TOTAL((num - ?2) * (num - ?2))",
                "?2, ?2",
            );
            let min = wants(&[AggrMethod::Min], "MIN(num), MIN(txt)", "NULL, NULL");
            let max = wants(&[AggrMethod::Max], "MAX(num), MAX(txt)", "NULL, NULL");
            let bucket = match period {
                Some(p) => format!("({col} - {origin}) / {p}"),
                None => "0".to_owned(),
            };
            conn.prepare(&format!(
                "SELECT {bucket} AS b, COUNT(*), {distinct}, COUNT(num), {sum}, {sumsq}, {shifted}, {min}, {max}, MAX({col}) \
                 FROM attr_instances WHERE sid = ?1{cond} AND {col} >= ?3 AND {col} < ?4 GROUP BY b ORDER BY b"
            ))
            .map_err(sql_err)?
        }
    };
    let mut end_stmt = conn
        .prepare_cached("SELECT MAX(ts) + 1 FROM attr_instances WHERE sid = ?1")
        .map_err(sql_err)?;
    // Rollup rows in index order; the Rust side folds them into buckets (bucket numbers
    // only grow with the hour), which spares SQLite a sort and an aggregation per query.
    let mut rollup_stmt = match rollup_to {
        Some(_) => Some(
            conn.prepare_cached(
                "SELECT hour, n, n_num, sum, sumsq, shifted, shifted_sq, min_num, min_txt, max_num, max_txt, last_ts \
                 FROM attr_rollups WHERE sid = ?1 AND hour >= ?2 AND hour < ?3 ORDER BY hour",
            )
            .map_err(sql_err)?,
        ),
        None => None,
    };
    let mut shift_stmt = conn
        .prepare_cached("SELECT COALESCE(shift, 0) FROM temporal_series WHERE sid = ?1")
        .map_err(sql_err)?;
    for s in series {
        let shift: f64 = if stddev {
            shift_stmt
                .query_row(params![s.sid], |r| r.get(0))
                .optional()
                .map_err(sql_err)?
                .unwrap_or(0.0)
        } else {
            0.0
        };
        let mut rows = match (rollup_stmt.as_mut(), rollup_to) {
            (Some(stmt), Some(hi)) => {
                rollup_buckets(stmt, s.sid, start_hour, hi, period, split.then_some(per))?
            }
            _ => BTreeMap::new(),
        };
        // The time ranges read from the instances.
        let ranges: Vec<(i64, i64)> = match rollup_to {
            None => vec![(i64::MIN, i64::MAX)],
            Some(hi) => {
                let end = match f.range.to {
                    Some(t) => micros(t),
                    None => end_stmt
                        .query_row(params![s.sid], |r| r.get::<_, Option<i64>>(0))
                        .map_err(sql_err)?
                        .unwrap_or(origin),
                };
                let mut ranges = Vec::new();
                if split {
                    let step = period.unwrap_or(i64::MAX);
                    let mut bh = start_hour;
                    while bh < end {
                        ranges.push((bh.max(origin), (bh + HOUR).min(end)));
                        bh = match bh.checked_add(step) {
                            Some(n) => n,
                            None => break,
                        };
                    }
                }
                if hi < end {
                    // The partial last hour, unless a boundary hour already covers it.
                    if ranges.last().is_none_or(|(_, e)| *e < end) {
                        ranges.push((hi.max(origin), end));
                    }
                }
                ranges
            }
        };
        // The request's own range bounds every scan.
        let (from, to) = (
            f.range.from.map_or(i64::MIN, micros),
            f.range.to.map_or(i64::MAX, micros),
        );
        for (lo, hi) in ranges {
            let (lo, hi) = (lo.max(from), hi.min(to));
            if lo >= hi {
                continue;
            }
            for (b, (sums, l)) in bucket_rows(&mut raw_stmt, params![s.sid, shift, lo, hi])? {
                match rows.get_mut(&b) {
                    Some((have, hl)) => {
                        have.merge(sums);
                        *hl = (*hl).max(l);
                    }
                    None => {
                        rows.insert(b, (sums, l));
                    }
                }
            }
        }
        let mut buckets = Vec::new();
        for (b, (sums, max)) in rows {
            last = last.max(max);
            // Without a period the end is set below, once the last instance of the entity is known.
            let (start, end) = match period {
                Some(p) => (origin + b * p, origin + (b + 1) * p),
                None => (origin, origin),
            };
            let values = methods.iter().map(|m| (*m, sums.value(*m))).collect();
            buckets.push(Bucket {
                start: from_micros(start)?,
                end: from_micros(end)?,
                values,
            });
        }
        if !buckets.is_empty() {
            out.insert((s.attr, s.dataset_id), buckets);
        }
    }
    if period.is_none() {
        let end = from_micros(f.range.to.map_or(last.unwrap_or(origin), micros))?;
        for b in out.values_mut().flatten() {
            b.end = end;
        }
    }
    Ok(out)
}

fn read_entities(
    conn: &Connection,
    tenant: &str,
    ids: Option<&[String]>,
    any_type: Option<&[String]>,
) -> Result<Vec<EntityRecord>, StoreError> {
    let mut wanted: Option<Vec<String>> = ids.map(<[String]>::to_vec);
    if let Some(types) = any_type {
        let mut stmt = conn
            .prepare_cached("SELECT id FROM temporal_entity_types WHERE tenant = ?1 AND type = ?2")
            .map_err(sql_err)?;
        let mut found = Vec::new();
        for t in types {
            let rows = stmt
                .query_map(params![tenant, t], |r| r.get::<_, String>(0))
                .map_err(sql_err)?;
            for r in rows {
                found.push(r.map_err(sql_err)?);
            }
        }
        wanted = Some(match wanted {
            Some(ids) => found.into_iter().filter(|f| ids.contains(f)).collect(),
            None => found,
        });
    }
    let read =
        |r: &rusqlite::Row<'_>| -> rusqlite::Result<(String, String, i64, i64, Option<i64>)> {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        };
    let mut rows = Vec::new();
    match wanted {
        Some(mut ids) => {
            ids.sort();
            ids.dedup();
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, types, created, modified, deleted FROM temporal_entities WHERE tenant = ?1 AND id = ?2",
                )
                .map_err(sql_err)?;
            for id in ids {
                if let Some(r) = stmt
                    .query_row(params![tenant, id], read)
                    .optional()
                    .map_err(sql_err)?
                {
                    rows.push(r);
                }
            }
        }
        None => {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, types, created, modified, deleted FROM temporal_entities WHERE tenant = ?1 ORDER BY id",
                )
                .map_err(sql_err)?;
            for r in stmt.query_map(params![tenant], read).map_err(sql_err)? {
                rows.push(r.map_err(sql_err)?);
            }
        }
    }
    rows.into_iter()
        .map(|(id, types, created, modified, deleted)| {
            let types: Vec<String> = serde_json::from_str(&types)
                .map_err(|e| StoreError(format!("corrupt types of temporal entity {id}: {e}")))?;
            Ok(EntityRecord {
                id,
                types,
                created_at: from_micros(created)?,
                modified_at: from_micros(modified)?,
                deleted_at: deleted.map(from_micros).transpose()?,
            })
        })
        .collect()
}

#[async_trait]
impl TemporalStore for SqliteStore {
    async fn record(
        &self,
        tenant: &str,
        entities: Vec<EntityRecord>,
        instances: Vec<Instance>,
    ) -> Result<(), StoreError> {
        if entities.is_empty() && instances.is_empty() {
            return Ok(());
        }
        self.temporal_job(
            tenant,
            Op::Record {
                entities,
                instances,
            },
        )
        .await
        .map(|_| ())
    }

    async fn entities(
        &self,
        tenant: &str,
        ids: Option<&[String]>,
        any_type: Option<&[String]>,
    ) -> Result<Vec<EntityRecord>, StoreError> {
        let tenant = tenant.to_owned();
        let ids = ids.map(<[String]>::to_vec);
        let any_type = any_type.map(<[String]>::to_vec);
        self.read(move |c| read_entities(c, &tenant, ids.as_deref(), any_type.as_deref()))
            .await
    }

    async fn instances(
        &self,
        tenant: &str,
        entity_id: &str,
        f: &InstanceFilter,
    ) -> Result<Vec<Instance>, StoreError> {
        let (tenant, entity_id, f) = (tenant.to_owned(), entity_id.to_owned(), f.clone());
        self.read(move |c| read_instances(c, &tenant, &entity_id, &f))
            .await
    }

    async fn aggregate(
        &self,
        tenant: &str,
        entity_id: &str,
        f: &InstanceFilter,
        methods: &[AggrMethod],
        period: Option<chrono::Duration>,
    ) -> Result<BTreeMap<SeriesKey, Vec<Bucket>>, StoreError> {
        let period = match period.map(|p| p.num_microseconds()) {
            None => None,
            Some(Some(p)) if p > 0 => Some(p),
            Some(Some(_)) => None, // PT0S: the whole range
            Some(None) => return Err(StoreError("aggregation period too long".into())),
        };
        let (tenant, entity_id, f, methods) = (
            tenant.to_owned(),
            entity_id.to_owned(),
            f.clone(),
            methods.to_vec(),
        );
        let rollups = self.rollups.load(std::sync::atomic::Ordering::Relaxed);
        self.read(move |c| aggregate_entity(c, &tenant, &entity_id, &f, &methods, period, rollups))
            .await
    }

    async fn delete_entity(&self, tenant: &str, entity_id: &str) -> Result<bool, StoreError> {
        self.temporal_job(
            tenant,
            Op::DeleteEntity {
                entity_id: entity_id.to_owned(),
            },
        )
        .await
    }

    async fn delete_attr(
        &self,
        tenant: &str,
        entity_id: &str,
        attr: &str,
        dataset_id: Option<&str>,
        all: bool,
    ) -> Result<bool, StoreError> {
        let op = Op::DeleteAttr {
            entity_id: entity_id.to_owned(),
            attr: attr.to_owned(),
            dataset_id: dataset_id.map(str::to_owned),
            all,
        };
        self.temporal_job(tenant, op).await
    }

    async fn delete_instance(
        &self,
        tenant: &str,
        entity_id: &str,
        attr: &str,
        instance_id: &str,
    ) -> Result<bool, StoreError> {
        let op = Op::DeleteInstance {
            entity_id: entity_id.to_owned(),
            attr: attr.to_owned(),
            instance_id: instance_id.to_owned(),
        };
        self.temporal_job(tenant, op).await
    }

    async fn modify_instance(
        &self,
        tenant: &str,
        entity_id: &str,
        attr: &str,
        instance_id: &str,
        new: Attribute,
    ) -> Result<bool, StoreError> {
        let op = Op::ModifyInstance {
            entity_id: entity_id.to_owned(),
            attr: attr.to_owned(),
            instance_id: instance_id.to_owned(),
            new: Box::new(new),
        };
        self.temporal_job(tenant, op).await
    }

    async fn reset(&self) -> Result<(), StoreError> {
        // History only; the entity store's reset empties history as well.
        self.temporal_job("", Op::Reset).await.map(|_| ())
    }

    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.prepare_cached("SELECT DISTINCT tenant FROM temporal_entities ORDER BY tenant")
                .and_then(|mut s| {
                    s.query_map([], |r| r.get(0))?
                        .collect::<rusqlite::Result<Vec<String>>>()
                })
                .map_err(sql_err)
        })
        .await
    }

    async fn expire(
        &self,
        tenant: &str,
        entity_id: &str,
        before: Timestamp,
    ) -> Result<u64, StoreError> {
        let op = Op::Expire {
            entity_id: entity_id.to_owned(),
            before: micros(before),
        };
        self.temporal_count(tenant, op).await
    }
}
