//! A slow and an unreachable endpoint must not slow the others, nor `submit`.

use std::sync::Arc;
use std::time::Duration;

use notify::{Notifier, NotifierConfig};
use tokio::time::Instant;

use crate::common::*;

const ROUNDS: usize = 30;

struct Phase {
    latencies: Vec<Duration>,
    submit_total: Duration,
    submit_max: Duration,
    submits: usize,
}

/// Each round submits one delivery per fast receiver (plus `burdens` deliveries to each
/// of `others`) and waits until the fast ones are delivered, measuring their latency.
async fn run_phase(
    name: &str,
    notifier: &Notifier,
    sink: &Recorder,
    fast: &[Receiver],
    others: &[String],
    burdens: usize,
) -> Phase {
    let mut phase = Phase {
        latencies: vec![],
        submit_total: Duration::ZERO,
        submit_max: Duration::ZERO,
        submits: 0,
    };
    let mut timed_submit = |d| {
        let start = std::time::Instant::now();
        notifier.submit(d);
        let took = start.elapsed();
        phase.submit_total += took;
        phase.submit_max = phase.submit_max.max(took);
        phase.submits += 1;
    };
    let mut round_ids = vec![];
    for round in 0..ROUNDS {
        let mut sent = vec![];
        for (i, rx) in fast.iter().enumerate() {
            let id = format!("{name}-{round}-{i}");
            sent.push((id.clone(), Instant::now()));
            timed_submit(delivery(&id, &rx.url("/"), r#"{"type":"Notification"}"#));
            for (j, uri) in others.iter().enumerate() {
                for k in 0..burdens {
                    timed_submit(delivery(
                        &format!("other-{name}-{round}-{i}-{j}-{k}"),
                        uri,
                        "{}",
                    ));
                }
            }
        }
        wait_until(Duration::from_secs(20), || {
            sent.iter().all(|(id, _)| sink.delivered_at(id).is_some())
        })
        .await;
        round_ids.push(sent);
    }
    for (id, submitted) in round_ids.into_iter().flatten() {
        phase
            .latencies
            .push(sink.delivered_at(&id).unwrap() - submitted);
    }
    phase.latencies.sort();
    phase
}

fn p99(sorted: &[Duration]) -> Duration {
    sorted[(sorted.len() * 99).div_ceil(100) - 1]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_unreachable_endpoints_do_not_slow_the_others() {
    let mut fast = vec![];
    for _ in 0..10 {
        fast.push(receiver(Behaviour::Ok).await);
    }
    let slow = receiver(Behaviour::Delay(Duration::from_secs(2))).await;
    let refusing = format!("http://127.0.0.1:{}/", free_port());
    let sink = Arc::new(Recorder::default());
    let config = NotifierConfig {
        queue_capacity: 50,
        ..open_config()
    };
    let notifier = Notifier::new(config, sink.clone());

    let baseline = run_phase("base", &notifier, &sink, &fast, &[], 0).await;
    let others = [slow.url("/slow"), refusing];
    let loaded = run_phase("load", &notifier, &sink, &fast, &others, 1).await;

    let (base_p99, load_p99) = (p99(&baseline.latencies), p99(&loaded.latencies));
    println!(
        "fast receivers, {} deliveries each phase: p99 baseline {base_p99:?}, with slow + refusing {load_p99:?}; \
         median {:?} / {:?}",
        loaded.latencies.len(),
        baseline.latencies[baseline.latencies.len() / 2],
        loaded.latencies[loaded.latencies.len() / 2],
    );
    println!(
        "submit: {} calls took {:?} in total, longest {:?}; slow endpoint got {} requests, stats {:?}",
        loaded.submits,
        loaded.submit_total,
        loaded.submit_max,
        slow.count(),
        notifier.stats()
    );
    assert!(
        load_p99 <= base_p99 * 3 + Duration::from_millis(50),
        "p99 with slow endpoints {load_p99:?} vs baseline {base_p99:?}"
    );
    // 900 submits (a third to the slow and the unreachable endpoint, whose queues fill).
    assert_eq!(loaded.submits, ROUNDS * 10 * 3);
    assert!(
        loaded.submit_total < Duration::from_millis(300),
        "submit blocked: {:?}",
        loaded.submit_total
    );
    assert!(
        notifier.stats().dropped > 0,
        "the slow endpoint's queue overflowed"
    );
    assert!(
        slow.count() <= 3,
        "the slow endpoint is served one at a time"
    );
    notifier.shutdown(Duration::from_millis(100)).await;
}
