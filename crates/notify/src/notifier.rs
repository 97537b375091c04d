//! The [`Notifier`]: submission, the worker registry, statistics and shutdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, watch};

use crate::config::NotifierConfig;
use crate::target::{Target, WorkerKey, resolve};
use crate::{Delivery, Outcome, OutcomeSink, Sink, SubscriptionKey, http, mqtt_conn};

/// A delivery accepted into a worker's queue, with its checked target.
pub(crate) struct Job {
    pub delivery: Delivery,
    pub target: Target,
}

/// Delivers notifications over HTTP(S) and MQTT(S); cheap to clone (shared state inside).
///
/// Workers run on the tokio runtime `submit` is called from (outside of one, deliveries
/// are dropped).
#[derive(Clone)]
pub struct Notifier {
    shared: Arc<Shared>,
}

/// Totals since the notifier was created, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NotifierStats {
    /// Deliveries the receiver accepted.
    pub delivered: u64,
    /// Deliveries that failed (retries exhausted or permanent error).
    pub failed: u64,
    /// Deliveries dropped without an attempt (queue full, policy, bad URI, shutdown).
    pub dropped: u64,
    /// Deliveries accepted and not finished yet (waiting in a queue or being sent).
    pub queued: u64,
    /// Workers (HTTP endpoints, MQTT connections) alive now.
    pub workers: u64,
}

pub(crate) struct Shared {
    pub config: NotifierConfig,
    sink: Sink,
    pub http: Result<reqwest::Client, String>,
    workers: Mutex<HashMap<WorkerKey, (u64, mpsc::Sender<Job>)>>,
    next_worker_id: AtomicU64,
    accepting: AtomicBool,
    /// Set when the shutdown deadline passed: workers drop what they still hold.
    pub abandon: watch::Sender<bool>,
    live_workers: AtomicU64,
    worker_exited: Notify,
    delivered: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    queued: AtomicU64,
}

impl Notifier {
    /// A notifier with no worker yet; outcomes go to `sink`.
    pub fn new(config: NotifierConfig, sink: Arc<dyn OutcomeSink>) -> Self {
        // Without a process-wide rustls provider, reqwest cannot build its client; an
        // error only means that one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(config.http_timeout)
            .connect_timeout(config.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            // Receivers written against header names as the spec spells them (Link,
            // NGSILD-Tenant, receiverInfo keys) get them in that case.
            .http1_title_case_headers()
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        if let Err(e) = &http {
            tracing::error!("{e}; HTTP notifications will fail");
        }
        let shared = Shared {
            config,
            sink,
            http,
            workers: Mutex::new(HashMap::new()),
            next_worker_id: AtomicU64::new(0),
            accepting: AtomicBool::new(true),
            abandon: watch::Sender::new(false),
            live_workers: AtomicU64::new(0),
            worker_exited: Notify::new(),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            queued: AtomicU64::new(0),
        };
        Notifier {
            shared: Arc::new(shared),
        }
    }

    /// Queues `d` for delivery and returns at once; never waits for the network.
    ///
    /// A bad URI, a host outside the policy, a full queue or a notifier that is shutting
    /// down gives an [`Outcome::Dropped`] (recorded before this returns).
    pub fn submit(&self, d: Delivery) {
        let shared = &self.shared;
        if !shared.accepting.load(Ordering::Acquire) {
            return shared.drop_now(&d.key, "notifier is shutting down".into());
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return shared.drop_now(&d.key, "no tokio runtime to deliver on".into());
        };
        let target = match resolve(&d, &shared.config) {
            Ok(target) => target,
            Err(reason) => return shared.drop_now(&d.key, reason),
        };
        let key = target.worker_key(d.order_key, shared.config.lanes);
        let job = Job {
            delivery: d,
            target,
        };
        let mut workers = shared.lock_workers();
        let sender = match workers.get(&key) {
            Some((_, sender)) => sender.clone(),
            None => {
                let sender = self.spawn_worker(&runtime, key.clone());
                workers.insert(key.clone(), sender.clone());
                sender.1
            }
        };
        match sender.try_send(job) {
            Ok(()) => {
                shared.queued.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(job)) => {
                drop(workers);
                tracing::warn!(?key, "notification queue full; dropping a notification");
                shared.drop_now(&job.delivery.key, "endpoint queue full".into());
            }
            Err(mpsc::error::TrySendError::Closed(job)) => {
                // The worker ended unexpectedly; forget it so that the next one starts anew.
                workers.remove(&key);
                drop(workers);
                shared.drop_now(&job.delivery.key, "endpoint worker stopped".into());
            }
        }
    }

    fn spawn_worker(
        &self,
        runtime: &tokio::runtime::Handle,
        key: WorkerKey,
    ) -> (u64, mpsc::Sender<Job>) {
        let shared = self.shared.clone();
        let id = shared.next_worker_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::channel(shared.config.queue_capacity.max(1));
        shared.live_workers.fetch_add(1, Ordering::AcqRel);
        runtime.spawn(async move {
            let worker = Worker {
                shared: shared.clone(),
                key,
                id,
                rx,
            };
            match worker.key.clone() {
                WorkerKey::Http(..) => http_worker(worker).await,
                WorkerKey::Mqtt(conn) => mqtt_conn::run(worker, conn).await,
            }
            shared.live_workers.fetch_sub(1, Ordering::AcqRel);
            shared.worker_exited.notify_waiters();
        });
        (id, tx)
    }

    /// Current totals.
    pub fn stats(&self) -> NotifierStats {
        let s = &self.shared;
        NotifierStats {
            delivered: s.delivered.load(Ordering::Relaxed),
            failed: s.failed.load(Ordering::Relaxed),
            dropped: s.dropped.load(Ordering::Relaxed),
            queued: s.queued.load(Ordering::Relaxed),
            workers: s.live_workers.load(Ordering::Relaxed),
        }
    }

    /// Stops accepting deliveries and lets the workers finish their queues for up to
    /// `deadline`; what is left then is dropped (reason "notifier is shutting down").
    pub async fn shutdown(&self, deadline: Duration) {
        let shared = &self.shared;
        shared.accepting.store(false, Ordering::Release);
        // Dropping the senders lets each worker end once its queue is empty.
        shared.lock_workers().clear();
        if tokio::time::timeout(deadline, shared.all_workers_exited())
            .await
            .is_err()
        {
            tracing::warn!(
                left = shared.queued.load(Ordering::Relaxed),
                "shutdown deadline passed"
            );
            shared.abandon.send_replace(true);
            let _ = tokio::time::timeout(Duration::from_secs(1), shared.all_workers_exited()).await;
        }
    }
}

impl Shared {
    fn lock_workers(&self) -> MutexGuard<'_, HashMap<WorkerKey, (u64, mpsc::Sender<Job>)>> {
        // A panic while holding this lock leaves the map consistent: keep using it.
        self.workers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn all_workers_exited(&self) {
        loop {
            let exited = self.worker_exited.notified();
            if self.live_workers.load(Ordering::Acquire) == 0 {
                return;
            }
            exited.await;
        }
    }

    fn drop_now(&self, key: &SubscriptionKey, reason: String) {
        tracing::debug!(subscription = %key.id, %reason, "notification dropped");
        self.dropped.fetch_add(1, Ordering::Relaxed);
        self.sink.record(key, Outcome::dropped(reason));
    }

    /// Records the outcome of a job that was queued.
    pub(crate) fn finish(&self, key: &SubscriptionKey, outcome: Outcome) {
        let counter = match &outcome {
            Outcome::Delivered { .. } => &self.delivered,
            Outcome::Failed { reason, .. } => {
                tracing::info!(subscription = %key.id, %reason, "notification failed");
                &self.failed
            }
            Outcome::Dropped { .. } => &self.dropped,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.queued.fetch_sub(1, Ordering::Relaxed);
        self.sink.record(key, outcome);
    }
}

/// A worker's end of its queue.
pub(crate) struct Worker {
    pub shared: Arc<Shared>,
    pub key: WorkerKey,
    id: u64,
    pub rx: mpsc::Receiver<Job>,
}

impl Worker {
    /// Called when the queue stayed empty for the idle timeout: unregisters the worker
    /// unless a job arrived meanwhile. True means the worker must end.
    pub(crate) fn retire_if_idle(&mut self) -> bool {
        let mut workers = self.shared.lock_workers();
        if !self.rx.is_empty() {
            return false;
        }
        if workers.get(&self.key).is_some_and(|(id, _)| *id == self.id) {
            workers.remove(&self.key);
        }
        self.rx.close();
        true
    }

    /// Drops every job still queued (shutdown deadline passed).
    pub(crate) fn abandon_queue(&mut self) {
        self.rx.close();
        while let Ok(job) = self.rx.try_recv() {
            self.shared.finish(
                &job.delivery.key,
                Outcome::dropped("notifier is shutting down"),
            );
        }
    }

    /// The next job, or `None` when the worker should end (idle, shut down).
    pub(crate) async fn next_job(&mut self) -> Option<Job> {
        let idle = self.shared.config.idle_worker_timeout;
        loop {
            match tokio::time::timeout(idle, self.rx.recv()).await {
                Ok(job) => return job,
                Err(_) if self.retire_if_idle() => return None,
                Err(_) => continue,
            }
        }
    }
}

/// Resolves once the shutdown deadline has passed.
pub(crate) async fn abandoned(rx: &mut watch::Receiver<bool>) {
    if rx.wait_for(|gone| *gone).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Sends the queue of one lane of an HTTP endpoint, in order, each delivery with its retries.
async fn http_worker(mut worker: Worker) {
    let mut abandon = worker.shared.abandon.subscribe();
    while let Some(job) = worker.next_job().await {
        let shared = worker.shared.clone();
        let key = job.delivery.key.clone();
        tokio::select! {
            outcome = deliver_http(&shared, job) => shared.finish(&key, outcome),
            _ = crate::notifier::abandoned(&mut abandon) => {
                shared.finish(&key, Outcome::dropped("notifier is shutting down"));
                worker.abandon_queue();
                return;
            }
        }
    }
}

async fn deliver_http(shared: &Shared, job: Job) -> Outcome {
    let Target::Http { url, headers } = &job.target else {
        return Outcome::failed("internal error: not an HTTP target");
    };
    let client = match &shared.http {
        Ok(client) => client,
        Err(e) => return Outcome::failed(e.clone()),
    };
    let config = &shared.config;
    let backoff = crate::Backoff::new(config.backoff_initial, config.backoff_max);
    let body = &job.delivery.body;
    let attempt = |_| http::attempt(client, url, headers, body);
    match crate::retry::with_retries(config.max_attempts, backoff, attempt).await {
        crate::retry::Attempt::Success => Outcome::delivered(),
        crate::retry::Attempt::Retryable(reason) | crate::retry::Attempt::Permanent(reason) => {
            Outcome::failed(reason)
        }
    }
}
