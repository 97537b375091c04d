//! The data sets, generated deterministically: sensor entities with ten attributes spread
//! over a 20 km × 22 km area (Rostock), small devices for the memory shape, and minute
//! series for history.

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};

/// Entity type of the query/geo data set.
pub const SENSOR: &str = "BenchSensor";
/// Entity type of the create shape (kept apart from the query data set).
pub const CREATED: &str = "BenchCreated";
/// Entity type of the memory shape.
pub const DEVICE: &str = "BenchDevice";
/// Entity type of the history data set.
pub const METER: &str = "BenchMeter";

/// The area: west, south, east, north.
pub const AREA: (f64, f64, f64, f64) = (11.95, 54.0, 12.25, 54.2);

/// A cheap deterministic hash to spread values.
pub fn mix(i: u64) -> u64 {
    let mut x = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A number in `0..1` from `i`.
pub fn unit(i: u64) -> f64 {
    (mix(i) >> 11) as f64 / (1u64 << 53) as f64
}

/// Id of sensor `i`.
pub fn sensor_id(i: usize) -> String {
    format!("urn:ngsi-ld:{SENSOR}:s{i}")
}

/// A point in the area for `i` (`[lon, lat]`).
pub fn point(i: u64) -> (f64, f64) {
    let (w, s, e, n) = AREA;
    let lon = w + (e - w) * unit(i.wrapping_mul(2));
    let lat = s + (n - s) * unit(i.wrapping_mul(2).wrapping_add(1));
    ((lon * 1e6).round() / 1e6, (lat * 1e6).round() / 1e6)
}

const STATUS: [&str; 4] = ["ok", "alarm", "maintenance", "offline"];

/// An entity of `ty` with ten attributes: six numbers, two texts, a location, a relationship.
pub fn sensor(ty: &str, id: &str, i: u64) -> Value {
    let (lon, lat) = point(i);
    let r = |k: u64| (unit(i * 16 + k) * 1000.0).round() / 10.0;
    json!({
        "id": id,
        "type": ty,
        "temperature": {"type": "Property", "value": (unit(i * 16) * 400.0).round() / 10.0, "unitCode": "CEL"},
        "humidity": {"type": "Property", "value": r(1)},
        "no2": {"type": "Property", "value": r(2), "unitCode": "GQ"},
        "pm10": {"type": "Property", "value": r(3), "unitCode": "GQ"},
        "pm25": {"type": "Property", "value": r(4), "unitCode": "GQ"},
        "battery": {"type": "Property", "value": r(5)},
        "status": {"type": "Property", "value": STATUS[(mix(i) % 4) as usize]},
        "name": {"type": "Property", "value": format!("Sensor {i}")},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "refDevice": {"type": "Relationship", "object": format!("urn:ngsi-ld:Device:d{}", i % 1000)}
    })
}

/// A small device entity (four attributes) for the memory shape.
pub fn device(i: u64) -> Value {
    let (lon, lat) = point(i);
    json!({
        "id": format!("urn:ngsi-ld:{DEVICE}:d{i}"),
        "type": DEVICE,
        "temperature": {"type": "Property", "value": (unit(i) * 400.0).round() / 10.0},
        "status": {"type": "Property", "value": STATUS[(mix(i) % 4) as usize]},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "refGroup": {"type": "Relationship", "object": format!("urn:ngsi-ld:Group:g{}", i % 100)}
    })
}

/// Start of the history data set.
pub fn history_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// RFC 3339 time of minute `k` of the history.
pub fn minute(k: usize) -> String {
    (history_start() + Duration::minutes(i64::try_from(k).unwrap_or(0)))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Id of meter `s`.
pub fn meter_id(s: usize) -> String {
    format!("urn:ngsi-ld:{METER}:m{s}")
}

/// Value of meter `s` at minute `k`.
pub fn meter_value(s: usize, k: usize) -> f64 {
    let base = 20.0 + (s % 7) as f64;
    let wave = 10.0 * ((k as f64) / 180.0).sin();
    ((base + wave + unit((s * 100_000 + k) as u64)) * 100.0).round() / 100.0
}

/// A temporal entity payload with the minute values `from..to` of meter `s`.
pub fn meter_chunk(s: usize, from: usize, to: usize) -> Value {
    let instances: Vec<Value> = (from..to)
        .map(|k| json!({"type": "Property", "value": meter_value(s, k), "observedAt": minute(k)}))
        .collect();
    json!({"id": meter_id(s), "type": METER, "no2": instances})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_stay_in_the_area() {
        for i in 0..1000 {
            let (lon, lat) = point(i);
            assert!((AREA.0..=AREA.2).contains(&lon) && (AREA.1..=AREA.3).contains(&lat));
        }
    }

    #[test]
    fn history_minutes_are_rfc3339() {
        assert_eq!(minute(0), "2026-01-01T00:00:00Z");
        assert_eq!(minute(1441), "2026-01-02T00:01:00Z");
    }
}
