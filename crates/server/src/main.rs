//! The `quartier` binary.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use quartier::config::{Config, Overrides};

/// mimalloc instead of the system allocator: the server allocates and frees small objects
/// from many threads (request bodies, entities, JSON values), where glibc's per-thread arenas
/// kept freed memory resident.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "quartier",
    version,
    about = "Open urban data platform: NGSI-LD context broker and more"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 0.0.0.0:1026].
        #[arg(long, env = "QUARTIER_LISTEN")]
        listen: Option<String>,
        /// Directory of the embedded store [default: ./data].
        #[arg(long, env = "QUARTIER_DATA_DIR")]
        data_dir: Option<PathBuf>,
        /// TOML configuration file.
        #[arg(long, env = "QUARTIER_CONFIG")]
        config: Option<PathBuf>,
        /// `full` (default: every acknowledged write is fsync'd) or `relaxed`.
        #[arg(long, env = "QUARTIER_DURABILITY")]
        durability: Option<String>,
        /// Serve POST /admin/reset, which wipes all data (conformance runs only).
        #[arg(long)]
        admin_reset: bool,
        /// Log as JSON lines instead of text.
        #[arg(long, env = "QUARTIER_LOG_JSON")]
        log_json: bool,
        /// Seed the demo Smart Region (Kreis Paderborn, sample data) into an empty installation.
        #[arg(long)]
        demo: bool,
    },
    /// Import history (CSV or NGSI-LD temporal entities) into a running Quartier over HTTP.
    Import(Box<quartier::import::ImportArgs>),
    /// Export or import a Digital Agenda as a file of NGSI-LD entities, over HTTP.
    Agenda(quartier::agenda::AgendaArgs),
    /// Write an agenda's progress report (Fortschrittsbericht) as HTML, over HTTP.
    Report(quartier::report::ReportArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            listen,
            data_dir,
            config,
            durability,
            admin_reset,
            log_json,
            demo,
        } => {
            init_logs(log_json);
            let cfg = Config::load(
                config.as_deref(),
                Overrides {
                    listen,
                    data_dir,
                    admin_reset,
                    durability,
                },
            )?;
            let cfg = Config {
                demo: cfg.demo || demo,
                ..cfg
            };
            let app = quartier::Application::build(cfg).await?;
            app.run(quartier::shutdown_signal()).await
        }
        Command::Import(args) => {
            let summary = quartier::import::run(&args).await?;
            if !args.quiet {
                println!("{summary}");
            }
            Ok(())
        }
        Command::Agenda(args) => match args.command {
            quartier::agenda::AgendaCommand::Export {
                agenda,
                out,
                url,
                tenant,
            } => {
                let n = quartier::agenda::export(&url, tenant, &agenda, &out).await?;
                println!("exported {n} entities to {}", out.display());
                Ok(())
            }
            quartier::agenda::AgendaCommand::Import { file, url, tenant } => {
                let n = quartier::agenda::import(&url, tenant, &file).await?;
                println!("imported {n} entities from {}", file.display());
                Ok(())
            }
        },
        Command::Report(args) => {
            println!("{}", quartier::report::run(&args).await?);
            Ok(())
        }
    }
}

fn init_logs(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
