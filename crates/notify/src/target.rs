//! From an endpoint URI to a delivery target: scheme, host policy, worker key.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;
use reqwest::header::HeaderMap;

use crate::config::NotifierConfig;
use crate::mqtt::{MqttParams, MqttVersion};
use crate::{Delivery, http};

/// Identifies a worker: deliveries with the same key share one queue, in order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum WorkerKey {
    /// One worker per HTTP(S) endpoint URI and lane.
    Http(String, u16),
    /// One worker per MQTT broker connection, shared by all topics.
    Mqtt(MqttConn),
}

/// What identifies an MQTT connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct MqttConn {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub version: MqttVersion,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// A checked delivery target.
pub(crate) enum Target {
    Http {
        url: Url,
        headers: HeaderMap,
    },
    Mqtt {
        conn: MqttConn,
        topic: String,
        params: MqttParams,
    },
}

impl Target {
    /// The worker of this target for a delivery with `order_key`, out of `lanes` per HTTP
    /// endpoint.
    pub(crate) fn worker_key(&self, order_key: u64, lanes: usize) -> WorkerKey {
        match self {
            Target::Http { url, .. } => {
                let lane = order_key % u64::try_from(lanes.max(1)).unwrap_or(1);
                WorkerKey::Http(
                    url.as_str().to_owned(),
                    u16::try_from(lane).unwrap_or_default(),
                )
            }
            Target::Mqtt { conn, .. } => WorkerKey::Mqtt(conn.clone()),
        }
    }
}

/// Checks the endpoint of `d` against the URI syntax and the host policy of `config`,
/// without any network access. The error is the reason for dropping the delivery.
pub(crate) fn resolve(d: &Delivery, config: &NotifierConfig) -> Result<Target, String> {
    let url = Url::parse(&d.endpoint.uri).map_err(|e| format!("bad endpoint URI: {e}"))?;
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase(),
        _ => return Err("bad endpoint URI: no host".into()),
    };
    check_host(&host, config)?;
    match url.scheme() {
        "http" | "https" => {
            let headers = http::headers(d)?;
            Ok(Target::Http { url, headers })
        }
        scheme @ ("mqtt" | "mqtts") => {
            let tls = scheme == "mqtts";
            let params = MqttParams::from_notifier_info(&d.endpoint.notifier_info)?;
            let topic = percent_decode(url.path().trim_start_matches('/'))?;
            if topic.is_empty() || topic.contains(['+', '#']) {
                return Err(format!("bad MQTT topic {topic:?}"));
            }
            let username = Some(percent_decode(url.username())?).filter(|u| !u.is_empty());
            let password = url.password().map(percent_decode).transpose()?;
            let port = url.port().unwrap_or(if tls { 8883 } else { 1883 });
            let version = params.version;
            let conn = MqttConn {
                tls,
                host,
                port,
                version,
                username,
                password,
            };
            Ok(Target::Mqtt {
                conn,
                topic,
                params,
            })
        }
        other => Err(format!("unsupported endpoint scheme {other:?}")),
    }
}

fn check_host(host: &str, config: &NotifierConfig) -> Result<(), String> {
    if !config.allow_loopback && is_loopback(host) {
        return Err(format!("host {host} not allowed (loopback)"));
    }
    if !config.allowed_hosts.is_empty()
        && !config.allowed_hosts.iter().any(|allowed| {
            allowed
                .trim_start_matches('[')
                .trim_end_matches(']')
                .eq_ignore_ascii_case(host)
        })
    {
        return Err(format!("host {host} not allowed"));
    }
    Ok(())
}

fn is_loopback(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip == Ipv4Addr::UNSPECIFIED,
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip == Ipv6Addr::UNSPECIFIED
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_unspecified())
        }
        Err(_) => false,
    }
}

/// Decodes `%XX` escapes (user, password and topic of an MQTT URI).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let byte = hex.ok_or_else(|| format!("bad percent-encoding in {s:?}"))?;
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("bad percent-encoding in {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Endpoint, SubscriptionKey};

    fn delivery(uri: &str) -> Delivery {
        Delivery {
            key: SubscriptionKey {
                tenant: String::new(),
                id: "urn:s".into(),
            },
            endpoint: Endpoint {
                uri: uri.into(),
                accept: None,
                receiver_info: vec![],
                notifier_info: vec![],
            },
            body: bytes::Bytes::from_static(b"{}"),
            content_type: "application/json".into(),
            link: None,
            order_key: 0,
        }
    }

    fn open() -> NotifierConfig {
        NotifierConfig {
            allow_loopback: true,
            ..Default::default()
        }
    }

    #[test]
    fn mqtt_uri_parts_and_default_ports() {
        let Ok(Target::Mqtt { conn, topic, .. }) = resolve(
            &delivery("mqtt://us%40r:p%3Ass@broker.example/a/b%20c"),
            &open(),
        ) else {
            panic!("not mqtt")
        };
        assert_eq!(
            (conn.host.as_str(), conn.port, conn.tls),
            ("broker.example", 1883, false)
        );
        assert_eq!(conn.username.as_deref(), Some("us@r"));
        assert_eq!(conn.password.as_deref(), Some("p:ss"));
        assert_eq!(topic, "a/b c");
        let Ok(Target::Mqtt { conn, .. }) = resolve(&delivery("mqtts://user@h/t"), &open()) else {
            panic!("not mqtt")
        };
        assert_eq!((conn.port, conn.tls, conn.password), (8883, true, None));
    }

    #[test]
    fn bad_uris_are_refused() {
        for uri in [
            "not a uri",
            "ftp://h/x",
            "mqtt://h",
            "mqtt://h/",
            "mqtt://h/a/+/b",
            "mqtt:///t",
            "http://",
        ] {
            assert!(resolve(&delivery(uri), &open()).is_err(), "{uri}");
        }
    }

    #[test]
    fn host_policy() {
        let closed = NotifierConfig::default();
        for uri in [
            "http://127.0.0.1:1/",
            "http://localhost/",
            "http://[::1]/",
            "mqtt://0.0.0.0/t",
        ] {
            assert!(resolve(&delivery(uri), &closed).is_err(), "{uri}");
        }
        assert!(resolve(&delivery("http://example.org/"), &closed).is_ok());
        let listed = NotifierConfig {
            allowed_hosts: vec!["Example.org".into()],
            ..open()
        };
        assert!(resolve(&delivery("https://example.org/n"), &listed).is_ok());
        assert!(resolve(&delivery("https://example.com/n"), &listed).is_err());
    }

    #[test]
    fn http_workers_are_per_uri_and_lane_and_mqtt_workers_per_connection() {
        let keyed = |uri: &str, order: u64| {
            resolve(&delivery(uri), &open())
                .map(|t| t.worker_key(order, 4))
                .ok()
        };
        let key = |uri: &str| keyed(uri, 0);
        assert_ne!(key("http://h/a"), key("http://h/b"));
        assert_ne!(keyed("http://h/a", 0), keyed("http://h/a", 1));
        assert_eq!(keyed("http://h/a", 1), keyed("http://h/a", 5));
        assert_eq!(key("mqtt://h/a"), key("mqtt://h:1883/b"));
        assert_eq!(keyed("mqtt://h/a", 0), keyed("mqtt://h/a", 3));
        assert_ne!(key("mqtt://h/a"), key("mqtt://u:p@h/a"));
    }
}
