//! `quartier-bench`: the one command that measures Quartier against its baselines.
//!
//! ```sh
//! cargo build --release -p quartier -p quartier-bench
//! target/release/quartier-bench all            # or: cargo run --release -p quartier-bench -- all
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use quartier_bench::bench::{Bench, Opts, Target, binary_launcher};
use quartier_bench::process::{Server, quartier_binary};
use quartier_bench::report::Report;
use quartier_bench::shapes::Which;
use quartier_bench::{baseline, reliability, shapes, storage_shapes};

#[derive(Parser)]
#[command(
    name = "quartier-bench",
    about = "Benchmark and reliability harness: Quartier against a bare-axum and a raw-SQLite baseline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Connections of the throughput shapes.
    #[arg(long, default_value_t = 64, global = true)]
    connections: usize,
    /// Measured seconds of each timed shape (after a short warm-up).
    #[arg(long, default_value_t = 10.0, global = true)]
    duration: f64,
    /// Data set sizes relative to DESIGN.md (1.0 = 100k entities, 4.32 M instances, 1 M entities).
    #[arg(long, default_value_t = 1.0, global = true)]
    scale: f64,
    /// A small run for a first look: --scale 0.05 --duration 3.
    #[arg(long, global = true)]
    quick: bool,
    /// Changes per second of the notification shape [default: 5000 at scale 1].
    #[arg(long, global = true)]
    rate: Option<f64>,
    /// Kill -9 trials [default: 3].
    #[arg(long, global = true)]
    trials: Option<usize>,
    /// Connections of the overload scenario [default: 3000].
    #[arg(long, global = true)]
    overload_connections: Option<usize>,
    /// Entities of the memory shape [default: 1,000,000 × scale; below 1 M the 1 M figure is
    /// projected from bytes per entity].
    #[arg(long, global = true)]
    memory_entities: Option<usize>,
    /// Where bench-results.md and bench-results.json go.
    #[arg(long, default_value = "bench-out", global = true)]
    out: PathBuf,
    /// Where the data directories go [default: a temporary directory, removed at the end].
    #[arg(long, global = true)]
    work: Option<PathBuf>,
    /// Keep each shape's data directory (under --work) instead of removing it when the
    /// shape is done, to inspect or profile it afterwards.
    #[arg(long, global = true)]
    keep: bool,
}

#[derive(Subcommand, Clone, PartialEq, Eq)]
enum Command {
    /// Every shape and every reliability scenario.
    All,
    /// Every shape, no reliability scenario.
    Shapes,
    /// Single entity create.
    Create,
    /// Batch upsert of the 100k data set.
    BatchUpsert,
    /// Single attribute PATCH on hot entities.
    Patch,
    /// Retrieve by id.
    Retrieve,
    /// Type + q query.
    Query,
    /// Geo near.
    Geo,
    /// Notification latency with 1 and 50 subscriptions.
    Notify,
    /// History import and hourly aggregation.
    History,
    /// Resident memory at 1 M entities.
    Memory,
    /// The reliability scenarios only.
    Reliability,
    /// Serve the bare-axum baseline (started by the harness itself).
    BaselineServer {
        /// Address to listen on.
        #[arg(long)]
        listen: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if let Command::BaselineServer { listen } = &cli.command {
        let listen = listen.clone();
        return rt.block_on(async move {
            let l = tokio::net::TcpListener::bind(&listen).await?;
            baseline::serve(l).await
        });
    }
    rt.block_on(run(cli))
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024 / 1024);
    format!("{cores} cores ({cpu}), {mem} GiB RAM")
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let (scale, duration) = if cli.quick {
        (0.05, 3.0)
    } else {
        (cli.scale, cli.duration)
    };
    anyhow::ensure!(
        scale.is_finite() && scale > 0.0 && duration.is_finite() && duration > 0.0,
        "--scale and --duration must be positive numbers"
    );
    let mut opts = Opts::scaled(scale, cli.connections, Duration::from_secs_f64(duration));
    if let Some(r) = cli.rate {
        opts.change_rate = r;
    }
    if let Some(t) = cli.trials {
        opts.trials = t;
    }
    if let Some(c) = cli.overload_connections {
        opts.overload_connections = c;
    }
    if let Some(n) = cli.memory_entities {
        opts.memory_entities = n.max(1);
    }
    let bin = quartier_binary()?;
    println!("quartier: {}", bin.display());
    let tmp = tempfile::tempdir()?;
    let work = cli.work.clone().unwrap_or_else(|| tmp.path().to_owned());
    std::fs::create_dir_all(&work)?;
    let me = std::env::current_exe()?;
    let base = Server::spawn(
        &me,
        &["baseline-server".to_owned()],
        &work.join("baseline.log"),
    )
    .await
    .context("starting the baseline server")?;
    let baseline = Target {
        addr: base.addr,
        proc: base.proc,
        server: Some(base),
        keep: None,
        data: None,
    };
    let began = Instant::now();
    let mut b = Bench {
        report: Report {
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            machine: machine(),
            scale,
            connections: opts.connections,
            ..Report::default()
        },
        opts,
        launch: binary_launcher(bin),
        baseline,
        work,
        keep: cli.keep,
    };
    let c = cli.command.clone();
    let every = matches!(c, Command::All | Command::Shapes);
    let which = Which {
        create: every || c == Command::Create,
        batch: every || c == Command::BatchUpsert,
        patch: every || c == Command::Patch,
        retrieve: every || c == Command::Retrieve,
        query: every || c == Command::Query,
        geo: every || c == Command::Geo,
        notify: every || c == Command::Notify,
    };
    let mut failures = Vec::new();
    let mut step = |name: &str, r: anyhow::Result<()>| {
        if let Err(e) = r {
            eprintln!("{name} failed: {e:#}");
            failures.push(format!("{name}: {e:#}"));
        }
    };
    if which.create
        || which.batch
        || which.patch
        || which.retrieve
        || which.query
        || which.geo
        || which.notify
    {
        println!("HTTP shapes");
        step("http shapes", shapes::http_suite(&mut b, which).await);
    }
    if every || c == Command::History {
        println!("history");
        step("history", storage_shapes::history(&mut b).await);
    }
    if every || c == Command::Memory {
        println!("memory");
        step("memory", storage_shapes::memory(&mut b).await);
    }
    if c == Command::All || c == Command::Reliability {
        println!("reliability");
        step("reliability", reliability::all(&mut b).await);
    }
    b.report.seconds = began.elapsed().as_secs_f64();
    b.report.write(&cli.out)?;
    println!("\n{}", b.report.markdown());
    println!(
        "wrote {} and {}",
        cli.out.join("bench-results.md").display(),
        cli.out.join("bench-results.json").display()
    );
    let Bench { baseline, .. } = b;
    baseline.stop().await;
    drop(tmp);
    anyhow::ensure!(failures.is_empty(), "failed: {}", failures.join("; "));
    Ok(())
}
