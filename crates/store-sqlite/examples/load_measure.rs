//! Opens a data directory's store (loading every entity into memory) and reports the time
//! taken and the process's resident memory: for finding where start-up memory goes, e.g.
//! under `valgrind --tool=dhat`.
//!
//! `cargo run --release -p store-sqlite --example load_measure -- DATA_DIR/quartier.db`

use std::time::Instant;

fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: load_measure DB")?;
    let before = rss_mib();
    let began = Instant::now();
    let store = store_sqlite::SqliteStore::open(path.as_ref(), store_sqlite::Durability::Full)?;
    println!(
        "loaded in {:.2} s; RSS {} MiB before, {} MiB after",
        began.elapsed().as_secs_f64(),
        before,
        rss_mib()
    );
    drop(store);
    Ok(())
}
