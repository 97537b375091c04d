//! Quartier as a library: configuration, application assembly, the context loader.
//!
//! `main` is thin: it parses the command line, builds an [`Application`] and runs it. Tests
//! build the same application on port 0 with a fresh data directory.

pub mod agenda;
pub mod config;
pub mod deliver;
pub mod demo;
pub mod demo_agenda;
pub mod import;
pub mod loader;
pub mod report;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use broker::{Broker, SystemClock};
use http_api::AppState;
use jsonld::ContextRegistry;
use store_sqlite::SqliteStore;
use tokio::net::TcpListener;
use tower::Layer as _;

pub use config::Config;

/// A built application, bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
}

impl Application {
    /// Opens the store, assembles the broker and binds `config.listen`.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
        let db = config.data_dir.join("quartier.db");
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(&db, config.durability))
            .await
            .context("store opening task")??;
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let mut http = config.http.clone();
        if http.public_base.ends_with(":0") {
            // Listening on port 0 (tests): hand out the port actually bound.
            http.public_base = format!("http://localhost:{}", addr.port());
        }
        if config.demo {
            demo_agenda::opendata_defaults(&mut http.opendata);
        }
        let shipped = [(
            http_api::leitstelle::context_url(&http.public_base),
            serde_json::from_str(leitstelle::vocab::CONTEXT)
                .context("reading the shipped Leitstelle context")?,
        )]
        .into_iter()
        .collect();
        let loader = loader::Shipped::new(
            shipped,
            loader::HttpLoader::new(config.contexts.clone()).context("building the HTTP client")?,
        );
        let contexts = ContextRegistry::new(Arc::new(loader), &config.core_context);
        let clock: Arc<dyn broker::Clock> = Arc::new(SystemClock);
        // History is recorded by the store, in the same commit as each entity change.
        let store = store.with_history(clock.clone());
        let outcomes = Arc::new(deliver::Outcomes::default());
        let notifier = notify::Notifier::new(config.notifier.clone(), outcomes.clone());
        let subscriptions = Arc::new(
            broker::subscription::Subscriptions::load(
                Arc::new(store.clone()),
                Arc::new(deliver::Sink(notifier.clone())),
                contexts.clone(),
                clock.clone(),
            )
            .await
            .context("loading subscriptions")?
            .with_entities(Arc::new(store.clone())),
        );
        let _ = outcomes.0.set(subscriptions.clone());
        let store_for_ticks: Arc<dyn broker::store::EntityStore> = Arc::new(store.clone());
        let ticking = subscriptions.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
            loop {
                every.tick().await;
                ticking.tick(&*store_for_ticks).await;
            }
        });
        let temporal = broker::temporal::Temporal::new(Arc::new(store.clone()), clock.clone());
        if !config.retention.is_empty() {
            let (history, policy, clock) = (store.clone(), config.retention.clone(), clock.clone());
            let interval = config.retention_interval;
            tokio::spawn(async move {
                let mut every = tokio::time::interval(interval);
                loop {
                    every.tick().await;
                    match broker::temporal::retention::enforce(&history, &policy, clock.now()).await
                    {
                        Ok(r) => tracing::info!(
                            entities = r.entities,
                            removed = r.instances_removed,
                            "retention pass"
                        ),
                        Err(e) => tracing::error!(error = %e, "retention pass failed"),
                    }
                }
            });
        }
        if let Some((_, doc)) =
            broker::store::DocumentStore::documents(&store, http_api::contexts::HOSTED.0)
                .into_iter()
                .find(|(k, _)| k == http_api::contexts::HOSTED.1)
        {
            let saved = serde_json::from_str(&doc).context("reading the saved hosted contexts")?;
            contexts
                .import_hosted(saved)
                .context("restoring the hosted contexts")?;
        }
        let documents: Arc<dyn broker::store::DocumentStore> = Arc::new(store.clone());
        let broker = Broker::new(Arc::new(store), clock.clone(), config.limits.clone())
            .with_listener(subscriptions.clone())
            .with_guard(Arc::new(leitstelle::validate::Guard));
        let core = contexts.active(None).await.context("the core context")?;
        let leitstelle = leitstelle::Leitstelle::new(broker.clone())
            .with_platform(temporal.clone(), core.clone());
        if config.demo {
            let began = std::time::Instant::now();
            let now = broker::Clock::now(&*clock);
            match demo::seed(&broker, &temporal, core.clone(), now).await? {
                Some(d) => {
                    let leit_ctx = contexts
                        .active(Some(&serde_json::json!(http_api::leitstelle::context_url(
                            &http.public_base
                        ))))
                        .await
                        .context("the Leitstelle context")?;
                    let n = demo_agenda::seed(&broker, &leitstelle, leit_ctx, now).await?;
                    tracing::info!(
                        agenda = demo_agenda::AGENDA,
                        entities = n,
                        "demo agenda seeded"
                    );
                    tracing::info!(
                        tenants = d.tenants,
                        entities = d.entities,
                        instances = d.instances,
                        ms = began.elapsed().as_millis() as u64,
                        "demo region seeded (sample data)"
                    )
                }
                None => {
                    tracing::info!("the installation holds data; the demo region is not seeded")
                }
            }
        }
        {
            // Indicators due for recomputation, at start-up and every interval.
            let (leit, clock) = (leitstelle.clone(), clock.clone());
            let interval = config.indicator_interval;
            tokio::spawn(async move {
                let mut every = tokio::time::interval(interval);
                loop {
                    every.tick().await;
                    match leit.compute_due(clock.now()).await {
                        Ok(0) => {}
                        Ok(n) => tracing::info!(indicators = n, "indicators recomputed"),
                        Err(e) => tracing::error!(error = ?e, "indicator recomputation failed"),
                    }
                }
            });
        }
        let metrics = Arc::new(deliver::Metrics(notifier));
        let state = AppState::new(http_api::Services {
            broker: broker.clone(),
            contexts,
            subscriptions,
            temporal,
            config: Arc::new(http),
            metrics,
            documents,
            leitstelle,
        });
        let router = http_api::router(state).layer(tower_http::trace::TraceLayer::new_for_http());
        Ok(Self {
            listener,
            router,
            addr,
        })
    }

    /// The address actually bound (port 0 resolved).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(addr = %self.addr, "quartier is ready");
        // Clients (the FIWARE IoT Agent among them) add trailing slashes; routes have none.
        let app = tower_http::normalize_path::NormalizePathLayer::trim_trailing_slash()
            .layer(self.router);
        let make = axum::ServiceExt::<axum::extract::Request>::into_make_service(app);
        axum::serve(self.listener, make)
            .with_graceful_shutdown(shutdown)
            .await?;
        tracing::info!("quartier stopped");
        Ok(())
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal received");
}
