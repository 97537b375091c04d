//! The MQTT binding of notifications (clause 7.2): parameters and the message format.

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::Delivery;
use crate::http::TENANT_HEADER;

/// MQTT protocol version of an endpoint (`MQTT-Version` in `notifierInfo`, Table 7.2-1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum MqttVersion {
    /// `mqtt3.1.1`.
    V311,
    /// `mqtt5.0`, the default of Table 7.2-1.
    #[default]
    V5,
}

/// The MQTT parameters of an endpoint, from its `notifierInfo` (Table 7.2-1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MqttParams {
    /// `MQTT-Version`: `mqtt3.1.1` or `mqtt5.0` (default).
    pub version: MqttVersion,
    /// `MQTT-QoS`: 0 (default), 1 or 2.
    pub qos: u8,
}

impl MqttParams {
    /// Reads `MQTT-Version` and `MQTT-QoS` (keys case-insensitive; other keys ignored).
    /// The error names the bad entry, so a subscription can be refused with it.
    pub fn from_notifier_info(info: &[(String, String)]) -> Result<Self, String> {
        let mut params = MqttParams::default();
        for (key, value) in info {
            if key.eq_ignore_ascii_case("MQTT-Version") {
                params.version = match value.as_str() {
                    "mqtt3.1.1" => MqttVersion::V311,
                    "mqtt5.0" => MqttVersion::V5,
                    _ => return Err(format!("unsupported MQTT-Version {value:?}")),
                };
            } else if key.eq_ignore_ascii_case("MQTT-QoS") {
                params.qos = match value.as_str() {
                    "0" => 0,
                    "1" => 1,
                    "2" => 2,
                    _ => return Err(format!("unsupported MQTT-QoS {value:?}")),
                };
            }
        }
        Ok(params)
    }
}

/// The MQTT message of clause 7.2: `{"metadata": {...}, "body": <notification>}`.
///
/// `metadata` holds `Content-Type` (Table 7.2-2), `Link` when the delivery has one,
/// `NGSILD-Tenant` for a non-default tenant (what the HTTP binding sends as headers,
/// clause 6.3.14), then one entry per `receiverInfo` pair. A `receiverInfo` key equal to
/// one of those three (case-insensitively) is ignored: their source is fixed by the spec.
/// The body is embedded as it is, so it must be JSON.
pub fn mqtt_message(d: &Delivery) -> Bytes {
    let mut metadata = Map::new();
    metadata.insert("Content-Type".into(), Value::String(d.content_type.clone()));
    if let Some(link) = &d.link {
        metadata.insert("Link".into(), Value::String(link.clone()));
    }
    if !d.key.tenant.is_empty() {
        metadata.insert(TENANT_HEADER.into(), Value::String(d.key.tenant.clone()));
    }
    for (key, value) in &d.endpoint.receiver_info {
        let reserved = ["Content-Type", "Link", TENANT_HEADER];
        if reserved.iter().any(|r| r.eq_ignore_ascii_case(key)) {
            continue;
        }
        metadata.insert(key.clone(), Value::String(value.clone()));
    }
    let metadata = Value::Object(metadata).to_string();
    let mut out = Vec::with_capacity(metadata.len() + d.body.len() + 24);
    out.extend_from_slice(b"{\"metadata\":");
    out.extend_from_slice(metadata.as_bytes());
    out.extend_from_slice(b",\"body\":");
    out.extend_from_slice(&d.body);
    out.push(b'}');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Endpoint, SubscriptionKey};
    use serde_json::json;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn notifier_info_defaults_and_values() {
        assert_eq!(
            MqttParams::from_notifier_info(&[]),
            Ok(MqttParams {
                version: MqttVersion::V5,
                qos: 0
            })
        );
        let p = MqttParams::from_notifier_info(&pairs(&[
            ("MQTT-Version", "mqtt3.1.1"),
            ("MQTT-QoS", "2"),
        ]));
        assert_eq!(
            p,
            Ok(MqttParams {
                version: MqttVersion::V311,
                qos: 2
            })
        );
        assert!(MqttParams::from_notifier_info(&pairs(&[("MQTT-QoS", "3")])).is_err());
        assert!(MqttParams::from_notifier_info(&pairs(&[("MQTT-Version", "mqtt3")])).is_err());
    }

    #[test]
    fn message_has_metadata_and_body() {
        let d = Delivery {
            key: SubscriptionKey {
                tenant: "t1".into(),
                id: "urn:s".into(),
            },
            endpoint: Endpoint {
                uri: "mqtt://h/t".into(),
                accept: None,
                receiver_info: pairs(&[("test-receiver-key", "v"), ("content-type", "text/plain")]),
                notifier_info: vec![],
            },
            body: Bytes::from_static(br#"{"type":"Notification","data":[]}"#),
            content_type: "application/json".into(),
            link: Some("<http://c>; rel=\"http://www.w3.org/ns/json-ld#context\"".into()),
            order_key: 0,
        };
        let message: Value = serde_json::from_slice(&mqtt_message(&d)).unwrap();
        assert_eq!(
            message,
            json!({
                "metadata": {
                    "Content-Type": "application/json",
                    "Link": "<http://c>; rel=\"http://www.w3.org/ns/json-ld#context\"",
                    "NGSILD-Tenant": "t1",
                    "test-receiver-key": "v"
                },
                "body": {"type": "Notification", "data": []}
            })
        );
    }
}
