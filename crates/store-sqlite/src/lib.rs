//! The embedded entity store: SQLite (WAL) is the durable copy, memory is the read copy.
//!
//! * **Reads** never touch SQLite: every tenant's entities live in memory as `Arc<Entity>`,
//!   indexed by id and by type. A reader sees only committed state.
//! * **Writes** go to one writer thread that owns the SQLite connection. It takes every job
//!   waiting in its queue, applies their changes in order inside one transaction, commits
//!   once (an fsync with [`Durability::Full`]), publishes the new states to memory and only
//!   then answers the callers. Concurrent requests therefore share commits (group commit):
//!   durability costs one fsync per group, not per request.
//! * The schema is versioned with `PRAGMA user_version`; [`migrate`] brings older files up.
//! * **History** (the temporal API, `broker::temporal::TemporalStore`) lives in its own
//!   tables laid out for time series (see the `temporal` module); its writes are jobs of the
//!   same writer thread and share its commits, its reads use separate read-only connections.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod memory;
mod temporal;
mod writer;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use broker::error::BrokerError;
use broker::model::Entity;
use broker::store::{Applied, Change, EntityStore, Prefilter, StoreError};
use broker::subscription::{StoredSubscription, SubscriptionStore};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use memory::Memory;
use writer::Job;

/// How hard a commit tries to reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Every commit is fsync'd before the write is acknowledged (the default).
    #[default]
    Full,
    /// Commits are fsync'd at WAL checkpoints only: a power loss may lose the last writes,
    /// a process crash does not.
    Relaxed,
}

/// Schema migrations, applied in order; index + 1 is the version they lead to.
const MIGRATIONS: &[&str] = &[
    "CREATE TABLE tenants (name TEXT PRIMARY KEY, created_at TEXT NOT NULL) WITHOUT ROWID;
     CREATE TABLE entities (
         tenant TEXT NOT NULL,
         id TEXT NOT NULL,
         doc TEXT NOT NULL,
         PRIMARY KEY (tenant, id)
     ) WITHOUT ROWID;
     CREATE TABLE meta (ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID;",
    temporal::MIGRATION,
    temporal::ROLLUP_MIGRATION,
    // An entity document (about 2 KB for ten attributes) is larger than a WITHOUT ROWID
    // row keeps on its page (about 1 KB at 4 KiB pages), so every update rewrote overflow
    // pages too. A rowid table keeps documents up to about 4 KB on the page.
    "CREATE TABLE entities_rowid (
         tenant TEXT NOT NULL,
         id TEXT NOT NULL,
         doc TEXT NOT NULL,
         PRIMARY KEY (tenant, id)
     );
     INSERT INTO entities_rowid (tenant, id, doc) SELECT tenant, id, doc FROM entities;
     DROP TABLE entities;
     ALTER TABLE entities_rowid RENAME TO entities;",
];

/// Brings the schema of `conn` to the newest version.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let version = usize::try_from(version).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

fn store_err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// The embedded store. Cheap to clone.
#[derive(Clone)]
pub struct SqliteStore {
    memory: Arc<Memory>,
    jobs: mpsc::Sender<Job>,
    /// Read connections for history queries (see [`temporal`]).
    readers: Arc<temporal::Readers>,
    /// Whether aggregations may use the hourly rollups (always, except to measure or test
    /// the scan they replace).
    rollups: Arc<std::sync::atomic::AtomicBool>,
    /// Set by [`SqliteStore::with_history`]: the clock that dates history records.
    history: Option<Arc<dyn broker::Clock>>,
}

impl SqliteStore {
    /// Opens (or creates) the database at `path`, migrates it and loads every entity.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, StoreError> {
        Self::open_with(path, durability, writer::WAL_LIMIT)
    }

    /// [`SqliteStore::open`] with the WAL frames above which the writer finishes a
    /// checkpoint itself.
    fn open_with(path: &Path, durability: Durability, wal_limit: i64) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path).map_err(store_err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(store_err)?;
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Relaxed => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(store_err)?;
        // 64 MiB of page cache for the writer (the default is 2 MiB): history indexes stay in
        // memory instead of being read back for every group commit.
        conn.pragma_update(None, "cache_size", -65_536)
            .map_err(store_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(store_err)?;
        migrate(&mut conn).map_err(store_err)?;
        let memory = Arc::new(Memory::load(&conn)?);
        // Checkpoints (copying the WAL into the database file) run on their own thread, so
        // that the writer mostly only appends to the WAL and fsyncs it (it finishes one
        // itself when the WAL grows too large, see `writer::Wal`).
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(store_err)?;
        checkpointer(path, sync, Arc::downgrade(&memory))?;
        let (tx, rx) = mpsc::channel(4096);
        let mem = memory.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer::run(conn, wal_limit, mem, rx))
            .map_err(store_err)?;
        Ok(Self {
            memory,
            jobs: tx,
            readers: Arc::new(temporal::Readers::new(path)),
            rollups: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            history: None,
        })
    }

    /// Records the history of every entity change (as
    /// `broker::temporal::record::history_of` says) in the same commit as the change itself,
    /// instead of through a `Recorder` listener: a write costs one commit, and no crash can
    /// keep a change while losing its history. `clock` dates deletions.
    #[must_use]
    pub fn with_history(mut self, clock: Arc<dyn broker::Clock>) -> Self {
        self.history = Some(clock);
        self
    }

    /// Lets aggregations use the hourly rollups (the default) or makes them scan every
    /// instance; the answers are the same. For measurements and tests of the rollups.
    pub fn use_rollups(&self, on: bool) {
        self.rollups.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    async fn submit(
        &self,
        job_of: impl FnOnce(oneshot::Sender<writer::Reply>) -> Job,
    ) -> Result<writer::Reply, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(job_of(tx))
            .await
            .map_err(|_| StoreError("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError("the writer dropped a request".into()))
    }
}

/// How often the checkpointer copies committed WAL frames into the database file. Not
/// sooner while writes keep coming: a pass copies the newest version of every page changed
/// since the last one, so under a hot set of entities a pass every 10 ms copied nearly every
/// version and synced the database file whenever it caught up, and commits waited behind
/// that disk traffic. Measured back to back (PATCH on 1,000 hot entities at 64
/// connections): every 10 ms 6,467–6,711 updates/s, p99 25–26 ms; every 250 ms
/// 8,390–10,124 updates/s, p99 14–15 ms. The WAL stays bounded by the writer's own
/// checkpoint (`writer::Wal`).
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Starts the thread that checkpoints the WAL (passively: it never blocks the writer or a
/// reader) until the store is gone.
fn checkpointer(
    path: &Path,
    sync: &'static str,
    alive: std::sync::Weak<Memory>,
) -> Result<(), StoreError> {
    let conn = Connection::open(path).map_err(store_err)?;
    conn.pragma_update(None, "synchronous", sync)
        .map_err(store_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(store_err)?;
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while alive.strong_count() > 0 {
                std::thread::sleep(CHECKPOINT_EVERY);
                if let Err(e) =
                    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get::<_, i64>(2))
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                }
            }
        })
        .map_err(store_err)?;
    Ok(())
}

impl SqliteStore {
    /// Durably sets (`Some`) or removes (`None`) a small document under `ns`/`key`.
    pub async fn put_meta(
        &self,
        ns: &str,
        key: &str,
        value: Option<String>,
    ) -> Result<(), StoreError> {
        let (ns, key) = (ns.to_owned(), key.to_owned());
        match self
            .submit(|reply| Job::Meta {
                ns,
                key,
                value,
                reply,
            })
            .await?
        {
            writer::Reply::Done(r) => r,
            _ => Err(StoreError("unexpected reply".into())),
        }
    }

    /// Every document under `ns`, by key.
    pub fn meta(&self, ns: &str) -> Vec<(String, String)> {
        self.memory
            .meta
            .read()
            .map(|m| {
                m.iter()
                    .filter(|((n, _), _)| n == ns)
                    .map(|((_, k), v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[async_trait]
impl broker::store::DocumentStore for SqliteStore {
    async fn put_document(
        &self,
        ns: &str,
        key: &str,
        value: Option<String>,
    ) -> Result<(), StoreError> {
        self.put_meta(ns, key, value).await
    }

    fn documents(&self, ns: &str) -> Vec<(String, String)> {
        self.meta(ns)
    }
}

const SUBSCRIPTIONS: &str = "subscription";

fn sub_key(tenant: &str, id: &str) -> String {
    format!("{tenant}\n{id}")
}

#[async_trait]
impl SubscriptionStore for SqliteStore {
    async fn load(&self) -> Result<Vec<StoredSubscription>, StoreError> {
        self.meta(SUBSCRIPTIONS)
            .into_iter()
            .map(|(k, v)| {
                let (tenant, id) = k
                    .split_once('\n')
                    .ok_or_else(|| StoreError(format!("bad subscription key {k:?}")))?;
                let record = serde_json::from_str(&v)
                    .map_err(|e| StoreError(format!("corrupt subscription {id}: {e}")))?;
                Ok(StoredSubscription {
                    tenant: tenant.to_owned(),
                    id: id.to_owned(),
                    record,
                })
            })
            .collect()
    }

    async fn save(&self, s: StoredSubscription) -> Result<(), StoreError> {
        let text = serde_json::to_string(&s.record).map_err(|e| StoreError(e.to_string()))?;
        self.put_meta(SUBSCRIPTIONS, &sub_key(&s.tenant, &s.id), Some(text))
            .await
    }

    async fn remove(&self, tenant: &str, id: &str) -> Result<(), StoreError> {
        self.put_meta(SUBSCRIPTIONS, &sub_key(tenant, id), None)
            .await
    }
}

#[async_trait]
impl EntityStore for SqliteStore {
    async fn tenant_exists(&self, tenant: &str) -> Result<bool, StoreError> {
        Ok(self.memory.tenant_exists(tenant))
    }

    async fn tenants(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.memory.tenants())
    }

    async fn get(&self, tenant: &str, id: &str) -> Result<Option<Arc<Entity>>, StoreError> {
        Ok(self.memory.get(tenant, id))
    }

    async fn scan(&self, tenant: &str, pre: &Prefilter) -> Result<Vec<Arc<Entity>>, StoreError> {
        Ok(self.memory.scan(tenant, pre))
    }

    async fn select(
        &self,
        tenant: &str,
        pre: &Prefilter,
        keep: &(dyn for<'e> Fn(&'e Entity) -> bool + Sync),
        offset: usize,
        limit: usize,
        count: bool,
    ) -> Result<(Vec<Arc<Entity>>, usize), StoreError> {
        Ok(self.memory.select(tenant, pre, keep, offset, limit, count))
    }

    async fn apply(
        &self,
        tenant: &str,
        changes: Vec<Change>,
    ) -> Result<Vec<Result<Applied, BrokerError>>, StoreError> {
        let tenant = tenant.to_owned();
        let history = self.history.as_ref().map(|c| c.now());
        match self
            .submit(|reply| Job::Apply {
                tenant,
                changes,
                history,
                reply,
            })
            .await?
        {
            writer::Reply::Applied(r) => r,
            _ => Err(StoreError("unexpected reply".into())),
        }
    }

    async fn reset(&self) -> Result<(), StoreError> {
        match self.submit(|reply| Job::Reset { reply }).await? {
            writer::Reply::Done(r) => r,
            _ => Err(StoreError("unexpected reply".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_storage_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("q.db"), Durability::Full).unwrap();
        broker::conformance::run_all(Arc::new(store)).await;
    }

    #[tokio::test]
    async fn committed_entities_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let e = Entity {
            id: "urn:ngsi-ld:T:1".into(),
            types: vec!["https://example.org/T".into()],
            scopes: vec![],
            created_at: chrono_now(),
            modified_at: chrono_now(),
            attrs: Default::default(),
        };
        {
            let store = SqliteStore::open(&path, Durability::Full).unwrap();
            let e2 = e.clone();
            let out = store
                .apply(
                    "city",
                    vec![Change::new(e.id.clone(), move |_| Ok(Some(e2)))],
                )
                .await
                .unwrap();
            assert!(out[0].is_ok());
        }
        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        assert!(store.tenant_exists("city").await.unwrap());
        assert_eq!(store.get("city", &e.id).await.unwrap().as_deref(), Some(&e));
    }

    #[tokio::test]
    async fn a_file_with_the_old_entity_table_keeps_its_entities() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        // A file as the first three schema versions left it, with one entity in it.
        {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn.transaction().unwrap();
            for sql in &MIGRATIONS[..3] {
                tx.execute_batch(sql).unwrap();
            }
            tx.execute_batch(
                r#"PRAGMA user_version = 3;
                INSERT INTO tenants VALUES ('city', '2026-01-01');
                INSERT INTO entities VALUES ('city', 'urn:ngsi-ld:T:1',
                  '{"id":"urn:ngsi-ld:T:1","types":["https://example.org/T"],
                    "created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-01T00:00:00Z",
                    "attrs":{"https://example.org/n":[{"kind":"Property","value":7,
                      "created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-01T00:00:00Z"}]}}');"#,
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        let e = store.get("city", "urn:ngsi-ld:T:1").await.unwrap().unwrap();
        assert_eq!(e.attrs.get("https://example.org/n").unwrap()[0].value, 7);
        // And it is written to in the new layout: an update replaces the document.
        let mut next = (*e).clone();
        next.attrs.get_mut("https://example.org/n").unwrap()[0].value = 8.into();
        store
            .apply(
                "city",
                vec![Change::new(e.id.clone(), move |_| Ok(Some(next)))],
            )
            .await
            .unwrap();
        drop(store);
        let store = SqliteStore::open(&path, Durability::Full).unwrap();
        let e = store.get("city", "urn:ngsi-ld:T:1").await.unwrap().unwrap();
        assert_eq!(e.attrs.get("https://example.org/n").unwrap()[0].value, 8);
    }

    /// Under writes that never pause, the background checkpointer never catches up with the
    /// last commit, so without the writer's own checkpoint the WAL would grow without end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_stays_bounded_under_continuous_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        // 64 frames (256 KiB) instead of 64 MiB, so that a short test crosses it many times.
        let store = SqliteStore::open_with(&path, Durability::Full, 64).unwrap();
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let doc = "x".repeat(2000);
        let mut largest = 0;
        for round in 0..150 {
            let writers: Vec<_> = (0..8)
                .map(|w| {
                    let (store, doc) = (store.clone(), doc.clone());
                    tokio::spawn(async move {
                        let changes = (0..20)
                            .map(|i| {
                                let mut e = entity(&format!("urn:ngsi-ld:T:{w}-{i}"));
                                e.types.push(format!("{doc}{round}"));
                                Change::new(e.id.clone(), move |_| Ok(Some(e)))
                            })
                            .collect();
                        store.apply("city", changes).await.unwrap();
                    })
                })
                .collect();
            for w in writers {
                w.await.unwrap();
            }
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
        }
        // 150 rounds wrote far more than 16 MiB of frames; the WAL holds a few limits' worth.
        assert!(largest < 16 << 20, "the WAL grew to {largest} bytes");
        assert!(largest > 0);
    }

    fn entity(id: &str) -> Entity {
        Entity {
            id: id.into(),
            types: vec![],
            scopes: vec![],
            created_at: chrono_now(),
            modified_at: chrono_now(),
            attrs: Default::default(),
        }
    }

    fn chrono_now() -> broker::model::Timestamp {
        use broker::Clock;
        broker::SystemClock.now()
    }
}
