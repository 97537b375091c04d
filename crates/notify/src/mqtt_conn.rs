//! One MQTT broker connection: a worker publishing its queue in order, one message in
//! flight at a time, and a poller task driving the rumqttc event loop (reconnecting with
//! backoff forever). A message in flight when the connection drops is published again
//! after the reconnection (at least once for QoS 1 and 2).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use rumqttc::v5::mqttbytes::v5::{Packet as P5, PubAckReason, PubRecReason};
use rumqttc::{Event as E4, Outgoing, Packet as P4, TlsConfiguration, Transport};
use tokio::sync::mpsc;

use crate::Outcome;
use crate::mqtt::{MqttVersion, mqtt_message};
use crate::notifier::{Job, Worker};
use crate::retry::Backoff;
use crate::target::{MqttConn, Target};

/// What the worker needs to know from the event loop.
enum Event {
    Connected,
    /// A PUBLISH was written to the socket (completes QoS 0).
    Written,
    /// PUBACK or PUBCOMP (completes QoS 1 or 2).
    Acked,
    /// The broker refused the message (MQTT 5 reason code).
    Refused(String),
    /// The connection is down or could not be made; the poller retries after a backoff.
    Down(String),
}

enum Client {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

impl Client {
    async fn publish(&self, topic: &str, qos: u8, payload: Bytes) -> Result<(), String> {
        match self {
            Client::V4(c) => c
                .publish_bytes(topic, qos4(qos), false, payload)
                .await
                .map_err(|e| e.to_string()),
            Client::V5(c) => c
                .publish_bytes(topic, qos5(qos), false, payload)
                .await
                .map_err(|e| e.to_string()),
        }
    }

    async fn disconnect(&self) {
        match self {
            Client::V4(c) => drop(c.disconnect().await),
            Client::V5(c) => drop(c.disconnect().await),
        }
    }
}

fn qos4(qos: u8) -> rumqttc::QoS {
    match qos {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn qos5(qos: u8) -> rumqttc::v5::mqttbytes::QoS {
    use rumqttc::v5::mqttbytes::QoS;
    match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// The message being sent: the job, its QoS, its topic and payload.
struct InFlight {
    job: Job,
    qos: u8,
    topic: String,
    payload: Bytes,
}

/// Runs the worker of connection `conn` until it is idle or shut down.
pub(crate) async fn run(mut worker: Worker, conn: MqttConn) {
    let shared = worker.shared.clone();
    let (client, mut events) = match connect(&conn, &shared.config) {
        Ok(pair) => pair,
        Err(reason) => {
            // Cannot even configure the connection (e.g. no CA bundle): fail what comes.
            while let Some(job) = worker.next_job().await {
                shared.finish(&job.delivery.key, Outcome::failed(reason.clone()));
            }
            return;
        }
    };
    let mut abandon = shared.abandon.subscribe();
    let idle = shared.config.idle_worker_timeout;
    let mut connected = false;
    let mut in_flight: Option<InFlight> = None;
    let mut queue_open = true;
    loop {
        let can_take = in_flight.is_none() && queue_open;
        tokio::select! {
            _ = crate::notifier::abandoned(&mut abandon) => {
                if let Some(m) = in_flight.take() {
                    shared.finish(&m.job.delivery.key, Outcome::dropped("notifier is shutting down"));
                }
                worker.abandon_queue();
                break;
            }
            event = events.recv() => match event {
                Some(Event::Connected) => {
                    connected = true;
                    if let Some(m) = &in_flight {
                        publish(&client, m, &mut connected).await;
                    }
                }
                Some(Event::Written) if in_flight.as_ref().is_some_and(|m| m.qos == 0) => {
                    let m = in_flight.take();
                    m.into_iter().for_each(|m| shared.finish(&m.job.delivery.key, Outcome::delivered()));
                }
                Some(Event::Acked) if in_flight.as_ref().is_some_and(|m| m.qos > 0) => {
                    let m = in_flight.take();
                    m.into_iter().for_each(|m| shared.finish(&m.job.delivery.key, Outcome::delivered()));
                }
                Some(Event::Refused(reason)) => {
                    let m = in_flight.take();
                    m.into_iter().for_each(|m| shared.finish(&m.job.delivery.key, Outcome::failed(reason.clone())));
                }
                Some(Event::Down(reason)) => {
                    if connected || in_flight.is_some() {
                        tracing::warn!(host = %conn.host, port = conn.port, %reason, "MQTT connection down");
                    }
                    connected = false;
                }
                Some(Event::Written | Event::Acked) => {}
                None => break,
            },
            job = tokio::time::timeout(idle, worker.rx.recv()), if can_take => match job {
                Ok(Some(job)) => {
                    let Target::Mqtt { topic, params, .. } = &job.target else {
                        shared.finish(&job.delivery.key, Outcome::failed("internal error: not an MQTT target"));
                        continue;
                    };
                    let (topic, qos) = (topic.clone(), params.qos);
                    let m = InFlight { payload: mqtt_message(&job.delivery), job, qos, topic };
                    if connected {
                        publish(&client, &m, &mut connected).await;
                    }
                    in_flight = Some(m);
                }
                Ok(None) => queue_open = false,
                Err(_) => if worker.retire_if_idle() { queue_open = false },
            },
        }
        if !queue_open && in_flight.is_none() {
            break;
        }
    }
    client.disconnect().await;
}

async fn publish(client: &Client, m: &InFlight, connected: &mut bool) {
    if let Err(e) = client.publish(&m.topic, m.qos, m.payload.clone()).await {
        // The request channel closed: the poller is gone; treat as down and retry later.
        tracing::warn!(error = %e, "MQTT publish could not be queued");
        *connected = false;
    }
}

static CLIENT_SEQ: AtomicU64 = AtomicU64::new(0);

/// Creates the client and spawns the poller. Clean sessions: what was in flight is
/// re-sent by the worker, so rumqttc must not keep anything across connections.
fn connect(
    conn: &MqttConn,
    config: &crate::NotifierConfig,
) -> Result<(Client, mpsc::UnboundedReceiver<Event>), String> {
    let id = format!(
        "quartier-{}-{}",
        std::process::id(),
        CLIENT_SEQ.fetch_add(1, Ordering::Relaxed)
    );
    let host = if conn.host.contains(':') {
        format!("[{}]", conn.host)
    } else {
        conn.host.clone()
    };
    let transport = if conn.tls {
        Some(Transport::tls_with_config(tls(config
            .mqtt_ca_file
            .clone())?))
    } else {
        None
    };
    let (tx, rx) = mpsc::unbounded_channel();
    let backoff = Backoff::new(config.backoff_initial, config.backoff_max);
    let client = match conn.version {
        MqttVersion::V311 => {
            let mut o = rumqttc::MqttOptions::new(id, host, conn.port);
            o.set_clean_session(true)
                .set_max_packet_size(1 << 20, 256 << 20);
            if let Some(user) = &conn.username {
                o.set_credentials(user, conn.password.clone().unwrap_or_default());
            }
            transport.into_iter().for_each(|t| {
                o.set_transport(t);
            });
            let (client, eventloop) = rumqttc::AsyncClient::new(o, 16);
            tokio::spawn(poll_v4(eventloop, tx, backoff));
            Client::V4(client)
        }
        MqttVersion::V5 => {
            let mut o = rumqttc::v5::MqttOptions::new(id, host, conn.port);
            o.set_clean_start(true);
            if let Some(user) = &conn.username {
                o.set_credentials(user, conn.password.clone().unwrap_or_default());
            }
            transport.into_iter().for_each(|t| {
                o.set_transport(t);
            });
            let (client, eventloop) = rumqttc::v5::AsyncClient::new(o, 16);
            tokio::spawn(poll_v5(eventloop, tx, backoff));
            Client::V5(client)
        }
    };
    Ok((client, rx))
}

async fn poll_v4(
    mut el: rumqttc::EventLoop,
    tx: mpsc::UnboundedSender<Event>,
    mut backoff: Backoff,
) {
    loop {
        let event = tokio::select! {
            polled = el.poll() => match polled {
                Ok(E4::Incoming(P4::ConnAck(_))) => { backoff.reset(); Event::Connected }
                Ok(E4::Incoming(P4::PubAck(_) | P4::PubComp(_))) => Event::Acked,
                Ok(E4::Outgoing(Outgoing::Publish(_))) => Event::Written,
                Ok(_) => continue,
                Err(e) => Event::Down(e.to_string()),
            },
            _ = tx.closed() => return,
        };
        if !pass(&tx, event, &mut backoff).await {
            return;
        }
    }
}

async fn poll_v5(
    mut el: rumqttc::v5::EventLoop,
    tx: mpsc::UnboundedSender<Event>,
    mut backoff: Backoff,
) {
    use rumqttc::v5::Event as E5;
    loop {
        let event = tokio::select! {
            polled = el.poll() => match polled {
                Ok(E5::Incoming(P5::ConnAck(_))) => { backoff.reset(); Event::Connected }
                Ok(E5::Incoming(P5::PubAck(ack))) => match ack.reason {
                    PubAckReason::Success | PubAckReason::NoMatchingSubscribers => Event::Acked,
                    other => Event::Refused(format!("MQTT PUBACK {other:?}")),
                },
                Ok(E5::Incoming(P5::PubRec(rec))) => match rec.reason {
                    PubRecReason::Success | PubRecReason::NoMatchingSubscribers => continue,
                    other => Event::Refused(format!("MQTT PUBREC {other:?}")),
                },
                Ok(E5::Incoming(P5::PubComp(_))) => Event::Acked,
                Ok(E5::Outgoing(Outgoing::Publish(_))) => Event::Written,
                Ok(_) => continue,
                Err(e) => Event::Down(e.to_string()),
            },
            _ = tx.closed() => return,
        };
        if !pass(&tx, event, &mut backoff).await {
            return;
        }
    }
}

/// Hands `event` to the worker; after a failure waits the backoff before the next
/// connection attempt. False when the worker is gone.
async fn pass(tx: &mpsc::UnboundedSender<Event>, event: Event, backoff: &mut Backoff) -> bool {
    let down = matches!(event, Event::Down(_));
    if tx.send(event).is_err() {
        return false;
    }
    if down {
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_delay()) => {}
            _ = tx.closed() => return false,
        }
    }
    true
}

/// TLS settings for `mqtts`: the CA certificates of `ca_file`, `SSL_CERT_FILE` or the
/// system bundle, with the ring provider.
fn tls(ca_file: Option<PathBuf>) -> Result<TlsConfiguration, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    const SYSTEM: [&str; 3] = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ];
    let path = ca_file
        .or_else(|| std::env::var_os("SSL_CERT_FILE").map(PathBuf::from))
        .or_else(|| SYSTEM.iter().map(PathBuf::from).find(|p| p.exists()))
        .ok_or("no CA certificates found for mqtts")?;
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(&path)
        .map_err(|e| format!("cannot read CA certificates {}: {e}", path.display()))?;
    for cert in certs.flatten() {
        // Certificates rustls cannot use are skipped, as every TLS client does.
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS configuration: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConfiguration::Rustls(Arc::new(config)))
}
