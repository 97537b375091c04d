//! The writer thread: group commit of every queued change.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use broker::error::BrokerError;
use broker::model::{Entity, Timestamp};
use broker::store::{Applied, Change, StoreError};
use rusqlite::{Connection, params};
use tokio::sync::{mpsc, oneshot};

use crate::memory::Memory;
use crate::temporal;

/// Most jobs folded into one commit.
const MAX_GROUP: usize = 512;

pub(crate) enum Reply {
    Applied(Result<Vec<Result<Applied, BrokerError>>, StoreError>),
    Done(Result<(), StoreError>),
    /// Outcome of a history job: how many things it changed (0: nothing matched).
    Count(Result<u64, StoreError>),
}

pub(crate) enum Job {
    Apply {
        tenant: String,
        changes: Vec<Change>,
        /// Record the history of the applied changes in the same commit, as of this time.
        history: Option<Timestamp>,
        reply: oneshot::Sender<Reply>,
    },
    Reset {
        reply: oneshot::Sender<Reply>,
    },
    /// Sets (`Some`) or removes (`None`) a small document.
    Meta {
        ns: String,
        key: String,
        value: Option<String>,
        reply: oneshot::Sender<Reply>,
    },
    /// A change to history; committed with the group, like `Apply`.
    Temporal {
        tenant: String,
        op: temporal::Op,
        reply: oneshot::Sender<Reply>,
    },
}

type Key = (String, String);

/// Frames in the WAL above which the writer finishes a checkpoint itself (256 MiB of 4 KiB
/// pages; see [`Wal`]). That checkpoint pauses the writer for 10–50 ms on a 2-core VM,
/// whatever the background has left to copy; at 64 MiB that pause came every two seconds
/// under 5,000 updates/s and showed in the p99 of notification latency.
pub(crate) const WAL_LIMIT: i64 = 65_536;

/// Keeps the WAL bounded. The checkpointer thread copies committed frames into the database
/// file in the background, but under continuous writes it never catches up with the last
/// commit, and SQLite starts the WAL over only after a checkpoint that did. So once the WAL
/// holds more than its limit ([`WAL_LIMIT`] frames), the writer, between two commits, checkpoints the
/// frames the background has not copied yet (at most a checkpoint interval's worth); its next
/// commit then writes the WAL from its start.
struct Wal {
    /// Frames in the WAL after the last commit (SQLite's WAL hook sets it).
    frames: Arc<std::sync::atomic::AtomicI64>,
    /// [`WAL_LIMIT`], or less in tests.
    limit: i64,
}

impl Wal {
    fn watch(conn: &mut Connection, limit: i64) -> Self {
        let frames = Arc::new(std::sync::atomic::AtomicI64::new(0));
        let seen = frames.clone();
        let hooked = conn.wal_hook(Some(move |_: &mut rusqlite::hooks::Wal, n: i32| {
            seen.store(i64::from(n), std::sync::atomic::Ordering::Relaxed);
            Ok(())
        }));
        if let Err(e) = hooked {
            tracing::warn!(error = %e, "cannot watch the WAL; it is checkpointed in the background only");
        }
        Self { frames, limit }
    }

    fn after_commit(&mut self, conn: &Connection) {
        if self.frames.load(std::sync::atomic::Ordering::Relaxed) <= self.limit {
            return;
        }
        self.frames.store(0, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(0))
        {
            tracing::warn!(error = %e, "WAL checkpoint by the writer failed");
        }
    }
}

/// Runs until every sender is gone.
pub(crate) fn run(
    mut conn: Connection,
    wal_limit: i64,
    memory: Arc<Memory>,
    mut rx: mpsc::Receiver<Job>,
) {
    let mut series = temporal::SeriesCache::default();
    let mut wal = Wal::watch(&mut conn, wal_limit);
    while let Some(first) = rx.blocking_recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        // A reset is handled alone, after the applies queued before it.
        let mut applies = Vec::new();
        let mut history = Vec::new();
        for job in group {
            match job {
                Job::Apply {
                    tenant,
                    changes,
                    history,
                    reply,
                } => applies.push((tenant, changes, history, reply)),
                Job::Temporal { tenant, op, reply } => history.push((tenant, op, reply)),
                Job::Reset { reply } => {
                    commit_group(
                        &mut conn,
                        &memory,
                        &mut series,
                        std::mem::take(&mut applies),
                        std::mem::take(&mut history),
                    );
                    series.clear();
                    let r = reset(&mut conn, &memory);
                    let _ = reply.send(Reply::Done(r));
                }
                Job::Meta {
                    ns,
                    key,
                    value,
                    reply,
                } => {
                    let r = meta(&conn, &memory, ns, key, value);
                    let _ = reply.send(Reply::Done(r));
                }
            }
        }
        commit_group(&mut conn, &memory, &mut series, applies, history);
        wal.after_commit(&conn);
    }
    tracing::debug!("sqlite writer stopped");
}

fn reset(conn: &mut Connection, memory: &Memory) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(|e| StoreError(e.to_string()))?;
    tx.execute_batch("DELETE FROM entities; DELETE FROM tenants; DELETE FROM meta;")
        .and_then(|()| tx.execute_batch(temporal::RESET))
        .and_then(|()| tx.commit())
        .map_err(|e| StoreError(e.to_string()))?;
    if let Ok(mut t) = memory.tenants.write() {
        t.clear();
    }
    if let Ok(mut m) = memory.meta.write() {
        m.clear();
    }
    Ok(())
}

fn meta(
    conn: &Connection,
    memory: &Memory,
    ns: String,
    key: String,
    value: Option<String>,
) -> Result<(), StoreError> {
    let err = |e: rusqlite::Error| StoreError(e.to_string());
    match &value {
        Some(v) => conn
            .execute(
                "INSERT OR REPLACE INTO meta (ns, key, value) VALUES (?1, ?2, ?3)",
                params![ns, key, v],
            )
            .map_err(err)?,
        None => conn
            .execute(
                "DELETE FROM meta WHERE ns = ?1 AND key = ?2",
                params![ns, key],
            )
            .map_err(err)?,
    };
    if let Ok(mut m) = memory.meta.write() {
        match value {
            Some(v) => {
                m.insert((ns, key), v);
            }
            None => {
                m.remove(&(ns, key));
            }
        }
    }
    Ok(())
}

type Pending = (
    String,
    Vec<Change>,
    Option<Timestamp>,
    oneshot::Sender<Reply>,
);
type PendingHistory = (String, temporal::Op, oneshot::Sender<Reply>);

fn commit_group(
    conn: &mut Connection,
    memory: &Memory,
    series: &mut temporal::SeriesCache,
    group: Vec<Pending>,
    history: Vec<PendingHistory>,
) {
    if group.is_empty() && history.is_empty() {
        return;
    }
    // Replies are set aside first so that every caller hears of a failed commit.
    let (history, history_replies): (Vec<_>, Vec<_>) =
        history.into_iter().map(|(t, op, r)| ((t, op), r)).unzip();
    let mut history_outcomes = Vec::with_capacity(history.len());
    let mut overlay: HashMap<Key, Option<Arc<Entity>>> = HashMap::new();
    let mut new_tenants: Vec<String> = Vec::new();
    let mut outcomes = Vec::with_capacity(group.len());
    let mut replies = Vec::with_capacity(group.len());
    let result = (|| -> Result<(), StoreError> {
        let err = |e: rusqlite::Error| StoreError(e.to_string());
        let tx = conn.transaction().map_err(err)?;
        {
            let mut upsert = tx
                .prepare_cached(
                    "INSERT INTO entities (tenant, id, doc) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc",
                )
                .map_err(err)?;
            let mut delete = tx
                .prepare_cached("DELETE FROM entities WHERE tenant = ?1 AND id = ?2")
                .map_err(err)?;
            for (tenant, changes, history, reply) in group {
                let mut results = Vec::with_capacity(changes.len());
                for change in changes {
                    let key = (tenant.clone(), change.id.clone());
                    let before = match overlay.get(&key) {
                        Some(v) => v.clone(),
                        None => memory.get(&tenant, &change.id),
                    };
                    let mutate = change.mutate;
                    let outcome =
                        std::panic::catch_unwind(AssertUnwindSafe(|| mutate(before.as_deref())))
                            .unwrap_or_else(|_| Err(BrokerError::internal("a change panicked")));
                    match outcome {
                        Ok(Some(mut next)) => {
                            next.id = change.id.clone();
                            next.shrink_to_fit();
                            if let Ok(mut names) = memory.names.lock() {
                                names.intern(&mut next);
                            }
                            let doc = serde_json::to_string(&next)
                                .map_err(|e| StoreError(e.to_string()))?;
                            upsert
                                .execute(params![tenant, change.id, doc])
                                .map_err(err)?;
                            let after = Arc::new(next);
                            overlay.insert(key, Some(after.clone()));
                            results.push(Ok(Applied {
                                before,
                                after: Some(after),
                            }));
                        }
                        Ok(None) => {
                            if before.is_some() {
                                delete.execute(params![tenant, change.id]).map_err(err)?;
                            }
                            overlay.insert(key, None);
                            results.push(Ok(Applied {
                                before,
                                after: None,
                            }));
                        }
                        Err(e) => results.push(Err(e)),
                    }
                }
                if let Some(now) = history {
                    // History in the same commit: no acknowledged change without its record.
                    let (entities, instances) = broker::temporal::record::history_of(
                        results.iter().filter_map(|r| r.as_ref().ok()),
                        now,
                    );
                    if !entities.is_empty() || !instances.is_empty() {
                        temporal::record(&tx, &tenant, &entities, &instances, series)?;
                    }
                }
                let any_ok = results.iter().any(Result::is_ok);
                if any_ok && !memory.tenant_exists(&tenant) && !new_tenants.contains(&tenant) {
                    tx.execute(
                        "INSERT OR IGNORE INTO tenants (name, created_at) VALUES (?1, datetime('now'))",
                        params![tenant],
                    )
                    .map_err(err)?;
                    new_tenants.push(tenant.clone());
                }
                outcomes.push(results);
                replies.push(reply);
            }
        }
        // History jobs, in their order; each in a savepoint so that one failing job fails alone.
        for (tenant, op) in history {
            history_outcomes.push(temporal::apply(&tx, &tenant, op, series)?);
        }
        tx.commit().map_err(err)
    })();
    match result {
        Ok(()) => {
            if let Ok(mut tenants) = memory.tenants.write() {
                for t in new_tenants {
                    tenants.entry(t).or_default();
                }
                for ((tenant, id), state) in overlay {
                    let t = tenants.entry(tenant).or_default();
                    match state {
                        Some(e) => t.put(e),
                        None => t.remove(&id),
                    }
                }
            }
            for (reply, results) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Reply::Applied(Ok(results)));
            }
            for (reply, r) in history_replies.into_iter().zip(history_outcomes) {
                let _ = reply.send(Reply::Count(r));
            }
        }
        Err(e) => {
            // Series created in the failed transaction do not exist.
            series.clear();
            tracing::error!(error = %e, "commit failed; the whole group is rejected");
            for reply in replies {
                let _ = reply.send(Reply::Applied(Err(e.clone())));
            }
            for reply in history_replies {
                let _ = reply.send(Reply::Count(Err(e.clone())));
            }
        }
    }
}
