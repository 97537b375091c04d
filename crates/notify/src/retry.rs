//! Exponential backoff and the retry loop. Waiting goes through `tokio::time`, so tests
//! drive it with paused time.

use std::future::Future;
use std::time::Duration;

/// Exponential backoff: `initial`, `2 × initial`, `4 × initial`, … capped at `max`.
#[derive(Clone, Debug)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A backoff starting at `initial` and never waiting longer than `max`.
    pub fn new(initial: Duration, max: Duration) -> Self {
        Backoff {
            initial,
            max,
            next: initial.min(max),
        }
    }

    /// The next wait, and advances the schedule.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }

    /// Starts the schedule again (after a success).
    pub fn reset(&mut self) {
        self.next = self.initial.min(self.max);
    }
}

/// What one attempt came to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// Done.
    Success,
    /// Worth trying again (network error, timeout, 5xx).
    Retryable(String),
    /// Trying again would not help (4xx, bad request).
    Permanent(String),
}

/// Runs `attempt` until it succeeds, fails permanently or `max_attempts` were made,
/// sleeping the backoff between attempts. Returns the last result.
pub(crate) async fn with_retries<F, Fut>(
    max_attempts: u32,
    mut backoff: Backoff,
    mut attempt: F,
) -> Attempt
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Attempt>,
{
    let max_attempts = max_attempts.max(1);
    let mut n = 1;
    loop {
        match attempt(n).await {
            Attempt::Retryable(reason) if n < max_attempts => {
                tracing::debug!(attempt = n, %reason, "notification attempt failed, will retry");
                tokio::time::sleep(backoff.next_delay()).await;
                n += 1;
            }
            Attempt::Retryable(reason) => {
                return Attempt::Retryable(format!("{reason} (after {n} attempts)"));
            }
            done => return done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::time::Instant;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let mut b = Backoff::new(100 * MS, 500 * MS);
        let waits: Vec<_> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
        b.reset();
        assert_eq!(b.next_delay(), 100 * MS);
    }

    /// Runs the retry loop under paused time; returns the attempt times (relative to the
    /// start) and the result.
    async fn run(max: u32, results: Vec<Attempt>) -> (Vec<Duration>, Attempt) {
        let start = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let results = Arc::new(Mutex::new(results.into_iter()));
        let t = times.clone();
        let result = with_retries(max, Backoff::new(100 * MS, 300 * MS), move |_| {
            t.lock().unwrap().push(start.elapsed());
            let next = results.lock().unwrap().next();
            async move { next.unwrap_or(Attempt::Retryable("refused".into())) }
        })
        .await;
        let times = times.lock().unwrap().clone();
        (times, result)
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_failures_make_exactly_max_attempts_with_backoff_between() {
        let (times, result) = run(4, vec![]).await;
        assert_eq!(times, [Duration::ZERO, 100 * MS, 300 * MS, 600 * MS]);
        assert_eq!(
            result,
            Attempt::Retryable("refused (after 4 attempts)".into())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_permanent_failure_is_not_retried() {
        let (times, result) = run(3, vec![Attempt::Permanent("HTTP 404".into())]).await;
        assert_eq!(times, [Duration::ZERO]);
        assert_eq!(result, Attempt::Permanent("HTTP 404".into()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_that_succeeds_ends_the_loop() {
        let (times, result) =
            run(5, vec![Attempt::Retryable("503".into()), Attempt::Success]).await;
        assert_eq!(times, [Duration::ZERO, 100 * MS]);
        assert_eq!(result, Attempt::Success);
    }

    #[tokio::test(start_paused = true)]
    async fn one_attempt_means_no_retry() {
        let (times, _) = run(1, vec![]).await;
        assert_eq!(times.len(), 1);
    }
}
