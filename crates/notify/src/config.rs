//! Settings of the [`Notifier`](crate::Notifier).

use std::path::PathBuf;
use std::time::Duration;

/// Settings of the [`Notifier`](crate::Notifier). `Default` gives production values.
#[derive(Clone, Debug)]
pub struct NotifierConfig {
    /// Deliveries waiting per worker (per HTTP endpoint URI, per MQTT broker connection)
    /// before further ones are dropped. Default 1000.
    pub queue_capacity: usize,
    /// Parallel lanes per HTTP endpoint: a delivery goes to lane `order_key % lanes`, each
    /// lane sends its queue in order (and has its own queue of `queue_capacity`). One lane
    /// sends everything to an endpoint one after the other, which caps an endpoint at one
    /// round trip per notification. Default 4.
    pub lanes: usize,
    /// HTTP attempts per delivery, the first included. Default 3.
    pub max_attempts: u32,
    /// Wait before the first retry; doubled for each further one. Default 500 ms.
    pub backoff_initial: Duration,
    /// Longest wait between retries, and between MQTT reconnection attempts. Default 30 s.
    pub backoff_max: Duration,
    /// Time limit of one HTTP attempt (connect, send, response). Default 5 s.
    pub http_timeout: Duration,
    /// Host names or IP literals deliveries may go to (exact, case-insensitive match);
    /// empty means any host. Default empty.
    pub allowed_hosts: Vec<String>,
    /// Whether `localhost`, `127.0.0.0/8`, `::1` and unspecified addresses are allowed.
    /// Only literal hosts are checked, without DNS resolution. Default false.
    pub allow_loopback: bool,
    /// A worker whose queue stayed empty this long stops (an MQTT worker disconnects);
    /// the next delivery starts a new one. Default 5 min.
    pub idle_worker_timeout: Duration,
    /// PEM file of CA certificates trusted for `mqtts`; `None` reads `SSL_CERT_FILE` or
    /// the system bundle. (`https` uses the platform verifier of reqwest.)
    pub mqtt_ca_file: Option<PathBuf>,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            queue_capacity: 1000,
            lanes: 4,
            max_attempts: 3,
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            http_timeout: Duration::from_secs(5),
            allowed_hosts: Vec::new(),
            allow_loopback: false,
            idle_worker_timeout: Duration::from_secs(300),
            mqtt_ca_file: None,
        }
    }
}
