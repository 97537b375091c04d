//! Child processes under test (`quartier serve`, the bare-axum baseline) and what the kernel
//! says about them: CPU time from `/proc/PID/stat`, resident memory from `/proc/PID/status`.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::load::{self, Req};

/// A process whose CPU and memory are measured (a child, or this process).
#[derive(Debug, Clone, Copy)]
pub struct Proc {
    /// Process id.
    pub pid: u32,
}

/// CPU time used so far.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    ticks: u64,
    at: Instant,
    written: u64,
}

impl Proc {
    /// This process.
    pub fn current() -> Self {
        Self {
            pid: std::process::id(),
        }
    }

    /// User + system CPU time now.
    pub fn cpu(&self) -> CpuMark {
        CpuMark {
            ticks: self.cpu_ticks().unwrap_or(0),
            at: Instant::now(),
            written: self.disk_written(),
        }
    }

    fn cpu_ticks(&self) -> Option<u64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the command name (which may contain spaces) start at field 3.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let utime: u64 = f.get(11)?.parse().ok()?;
        let stime: u64 = f.get(12)?.parse().ok()?;
        Some(utime + stime)
    }

    /// Cores used on average since `mark` (1.0 = one core busy).
    pub fn cores_since(&self, mark: CpuMark) -> f64 {
        let now = self.cpu();
        let wall = now.at.saturating_duration_since(mark.at).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        (now.ticks.saturating_sub(mark.ticks)) as f64 / clock_ticks() / wall
    }

    /// Bytes written to storage since `mark`.
    pub fn written_since(&self, mark: CpuMark) -> u64 {
        self.disk_written().saturating_sub(mark.written)
    }

    /// A `kB` line of `/proc/PID/status` in bytes.
    fn status_kb(&self, key: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                s.lines().find(|l| l.starts_with(key)).and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|n| n.parse::<u64>().ok())
                })
            })
            .map_or(0, |kb| kb * 1024)
    }

    /// Peak resident set (VmHWM) in bytes, since start or the last [`Proc::reset_peak`].
    pub fn peak_rss(&self) -> u64 {
        self.status_kb("VmHWM:")
    }

    /// Current resident set (VmRSS) in bytes.
    pub fn rss(&self) -> u64 {
        self.status_kb("VmRSS:")
    }

    /// Bytes this process has caused to be written to storage so far (`write_bytes` of
    /// `/proc/PID/io`; 0 where the kernel does not say).
    pub fn disk_written(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/io", self.pid))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("write_bytes:"))
                    .and_then(|n| n.trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// Resets the peak resident set to the current one (Linux `clear_refs` 5), so that the
    /// next [`Proc::peak_rss`] covers one shape only. Best effort.
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }

    /// Whether the process still exists.
    pub fn alive(&self) -> bool {
        Path::new(&format!("/proc/{}", self.pid)).exists()
            && !std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).is_ok_and(|s| {
                s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z'))
            })
    }
}

fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

/// A free loopback port (bound, then released).
pub fn free_addr() -> anyhow::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// A server running as a child process.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its process.
    pub proc: Proc,
    log: PathBuf,
    /// Time from spawn to the first 200 of `/health`.
    pub startup: Duration,
}

impl Server {
    /// Spawns `program args.. --listen ADDR` and waits for `GET /health` to answer 200.
    pub async fn spawn(program: &Path, args: &[String], log: &Path) -> anyhow::Result<Self> {
        let addr = free_addr()?;
        let logfile = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let began = Instant::now();
        let child = Command::new(program)
            .args(args)
            .arg("--listen")
            .arg(addr.to_string())
            .env("RUST_LOG", "warn")
            .env_remove("QUARTIER_CONFIG")
            .env_remove("QUARTIER_DURABILITY")
            .env_remove("QUARTIER_LISTEN")
            .env_remove("QUARTIER_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(logfile.try_clone()?)
            .stderr(logfile)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let proc = Proc { pid: child.id() };
        let mut s = Self {
            child,
            addr,
            proc,
            log: log.to_owned(),
            startup: Duration::ZERO,
        };
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            if let Some(status) = s.child.try_wait()? {
                bail!(
                    "{} exited during start-up with {status}; log:\n{}",
                    program.display(),
                    s.log_tail()
                );
            }
            if let Ok((200, _)) = load::once(addr, &Req::get("/health")).await {
                s.startup = began.elapsed();
                return Ok(s);
            }
            if Instant::now() > deadline {
                bail!(
                    "{} not healthy within 10 min; log:\n{}",
                    program.display(),
                    s.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The last lines of the server's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Whether it has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL and reap.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`.
    pub async fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill")
            .args(["-s", "TERM", &self.proc.pid.to_string()])
            .status();
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if self.exited().is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `quartier` binary: `QUARTIER_BIN`, else next to this executable (both live in
/// `target/release`, or `target/debug` for a debug build of the harness).
pub fn quartier_binary() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("QUARTIER_BIN") {
        return Ok(PathBuf::from(p));
    }
    let me = std::env::current_exe()?;
    let dir = me.parent().context("executable without a folder")?;
    for candidate in [dir.join("quartier"), dir.join("../quartier")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "no quartier binary next to {}; build it first with `cargo build --release -p quartier` \
         (or set QUARTIER_BIN)",
        me.display()
    )
}
