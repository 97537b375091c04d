//! The harness end to end at a tiny scale, against the application in this process (no
//! release build needed): every shape and scenario runs, the result files are written and
//! every figure is a real, nonzero measurement.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use quartier_bench::bench::{Bench, Launch, Opts, Target};
use quartier_bench::process::Proc;
use quartier_bench::report::{Primary, Report};
use quartier_bench::shapes::Which;
use quartier_bench::{baseline, reliability, shapes, storage_shapes};

fn in_process() -> Launch {
    Arc::new(|_dir| {
        Box::pin(async move {
            let app = testkit::spawn().await;
            let addr = app
                .base
                .trim_start_matches("http://")
                .parse()
                .expect("address of the test app");
            Ok(Target {
                addr,
                proc: Proc::current(),
                server: None,
                data: Some(app.dir.path().to_owned()),
                keep: Some(Box::new(app)),
            })
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shape_runs_at_a_tiny_scale() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(baseline::serve(listener));
    let work = tempfile::tempdir().unwrap();
    let mut opts = Opts::scaled(0.002, 4, Duration::from_millis(200));
    opts.overload_connections = 50;
    let mut b = Bench {
        opts,
        report: Report::default(),
        launch: in_process(),
        baseline: Target {
            addr,
            proc: Proc::current(),
            server: None,
            keep: None,
            data: None,
        },
        work: work.path().to_owned(),
        keep: false,
    };
    let every = Which {
        create: true,
        batch: true,
        patch: true,
        retrieve: true,
        query: true,
        geo: true,
        notify: true,
    };
    shapes::http_suite(&mut b, every).await.unwrap();
    storage_shapes::history(&mut b).await.unwrap();
    storage_shapes::memory(&mut b).await.unwrap();
    reliability::all(&mut b).await.unwrap();

    let shapes: Vec<&str> = b.report.rows.iter().map(|r| r.shape.as_str()).collect();
    for expected in [
        "create",
        "batch upsert",
        "PATCH attribute",
        "retrieve by id",
        "type + q query",
        "geo near 500 m",
        "notification, 1 sub",
        "notification, 50 sub",
        "history import",
        "temporal hourly avg",
    ] {
        assert!(
            shapes.contains(&expected),
            "{expected} missing from {shapes:?}"
        );
    }
    for r in &b.report.rows {
        let (q, base) = match r.primary {
            Primary::Rate => (r.quartier.rate, r.baseline.rate),
            Primary::P50 => (r.quartier.p50_ms, r.baseline.p50_ms),
            Primary::P99 => (r.quartier.p99_ms, r.baseline.p99_ms),
            Primary::Memory => (r.quartier.peak_rss as f64, r.baseline.peak_rss as f64),
        };
        assert!(q > 0.0 && base > 0.0, "{}: {q} vs {base}", r.shape);
        assert!(
            r.ratio.is_finite() && r.ratio > 0.0,
            "{}: ratio {}",
            r.shape,
            r.ratio
        );
        if ["create", "batch upsert", "PATCH attribute"].contains(&r.shape.as_str()) {
            assert!(r.quartier.wal > 0, "{}: no WAL size", r.shape);
        }
        assert!(
            !r.quartier.statuses.contains("conn-errors"),
            "{}: {}",
            r.shape,
            r.quartier.statuses
        );
    }
    let scenarios: Vec<(&str, &str)> = b
        .report
        .reliability
        .iter()
        .map(|v| (v.scenario.as_str(), v.verdict.as_str()))
        .collect();
    assert_eq!(scenarios.len(), 4, "{scenarios:?}");
    // In process there is no child to kill; the other scenarios must hold even here.
    assert!(
        scenarios.contains(&("kill -9 under writes", "INFO")),
        "{scenarios:?}"
    );
    assert!(scenarios.contains(&("overload", "PASS")), "{scenarios:?}");

    let out = work.path().join("out");
    b.report.write(&out).unwrap();
    let md = std::fs::read_to_string(out.join("bench-results.md")).unwrap();
    assert!(
        md.contains("| batch upsert (4 conn) | entities/s |"),
        "{md}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("bench-results.json")).unwrap())
            .unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), b.report.rows.len());
}
