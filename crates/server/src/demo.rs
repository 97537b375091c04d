//! The demo Smart Region behind `quartier serve --demo`: Kreis Paderborn with one tenant per
//! municipality, each holding its boundary, sensors and devices, with history.
//!
//! Everything seeded is sample data and carries a `dataProvenance` Property saying what it was
//! made from (`demo/README.md` gives sources and licences): the real Rostock bicycle counts and
//! one real day of a sensor.community station, moved into the Kreis and to recent dates, and
//! device states modelled on the Smart Data Models examples. Positions are drawn inside each
//! municipality's boundary by a fixed pseudo-random sequence, so every seeding is identical
//! except for the dates.
//!
//! Seeding runs only on an installation without any data, through the same broker and
//! temporal services as the API (history, current state and subscriptions behave as for
//! any client), with the core context: types and attributes read as short names with no
//! `Link` header.

use std::sync::Arc;

use anyhow::Context as _;
use broker::{Broker, Scope};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{Value, json};

const GEMEINDEN: &str = include_str!("../demo/gemeinden.geojson");
const BIKE_COUNTS: &str = include_str!("../demo/radmonitore_daily_counts.csv");
const BIKE_STATIONS: &str = include_str!("../demo/radmonitore_stations.csv");
const PM: &str = include_str!("../demo/2017-10-20_sds011_sensor_5331.csv");
const CLIMATE: &str = include_str!("../demo/2017-10-20_dht22_sensor_5332.csv");

const BIKE_NOTE: &str = "Beispieldaten (sample data): Tageszählungen der Rostocker Radmonitore \
     (Hanse- und Universitätsstadt Rostock, CC0 1.0), an einen Standort im Kreis Paderborn und in \
     die jüngste Vergangenheit verschoben";
const AIR_NOTE: &str = "Beispieldaten (sample data): ein Messtag einer sensor.community-Station \
     (ODbL 1.0), skaliert, an einen Standort im Kreis Paderborn und auf gestern verschoben";
const MODEL_NOTE: &str = "Beispieldaten (sample data): Zustand nach dem Smart-Data-Models-Beispiel, \
     Standort im Kreis Paderborn";
const AREA_NOTE: &str = "Grenzen: © GeoBasis-DE / BKG 2013 (Daten verändert), dl-de/by-2-0; \
     Einwohner: Destatis, dl-de/by-2-0";

/// What seeding created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemoSummary {
    /// Tenants (municipalities).
    pub tenants: usize,
    /// Entities (current state).
    pub entities: usize,
    /// Attribute instances posted as history.
    pub instances: usize,
}

/// One municipality of the Kreis.
struct Municipality {
    name: String,
    ags: String,
    population: u64,
    area_km2: f64,
    boundary: Value,
    ring: Vec<(f64, f64)>,
}

/// A fixed pseudo-random sequence (the demo must look the same every time).
struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The tenant name of a municipality: lower case ASCII, umlauts spelled out, dashes.
pub fn tenant_of(name: &str) -> String {
    let mut out = String::new();
    for c in name.to_lowercase().chars() {
        match c {
            'ä' => out.push_str("ae"),
            'ö' => out.push_str("oe"),
            'ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => {
                if !out.ends_with('-') {
                    out.push('-');
                }
            }
        }
    }
    out.trim_matches('-').to_owned()
}

fn municipalities() -> anyhow::Result<Vec<Municipality>> {
    let doc: Value = serde_json::from_str(GEMEINDEN).context("demo boundaries")?;
    let mut out = Vec::new();
    for f in doc["features"].as_array().into_iter().flatten() {
        let p = &f["properties"];
        let ring: Vec<(f64, f64)> = f["geometry"]["coordinates"][0]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| Some((c[0].as_f64()?, c[1].as_f64()?)))
            .collect();
        anyhow::ensure!(ring.len() >= 4, "a demo boundary has too few points");
        out.push(Municipality {
            name: p["name"].as_str().unwrap_or_default().to_owned(),
            ags: p["ags"].as_str().unwrap_or_default().to_owned(),
            population: p["population"].as_u64().unwrap_or(0),
            area_km2: p["area_km2"].as_f64().unwrap_or(0.0),
            boundary: f["geometry"].clone(),
            ring,
        });
    }
    // Largest first: Paderborn gets the most stations.
    out.sort_by_key(|m| std::cmp::Reverse(m.population));
    Ok(out)
}

/// Whether (x, y) lies inside the ring (even-odd rule).
fn inside(ring: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut hit = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let ((xi, yi), (xj, yj)) = (ring[i], ring[j]);
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            hit = !hit;
        }
        j = i;
    }
    hit
}

/// A point inside the municipality, rounded to 6 decimals.
fn place(m: &Municipality, rng: &mut Lcg) -> Value {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(x, y) in &m.ring {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let round = |v: f64| (v * 1e6).round() / 1e6;
    for _ in 0..1000 {
        let (x, y) = (x0 + rng.unit() * (x1 - x0), y0 + rng.unit() * (y1 - y0));
        if inside(&m.ring, x, y) {
            return json!({"type": "Point", "coordinates": [round(x), round(y)]});
        }
    }
    // Unreachable for real boundaries; the first vertex is inside-adjacent at worst.
    json!({"type": "Point", "coordinates": [m.ring[0].0, m.ring[0].1]})
}

fn prop(v: impl Into<Value>) -> Value {
    json!({"type": "Property", "value": v.into()})
}

fn geo(v: Value) -> Value {
    json!({"type": "GeoProperty", "value": v})
}

fn rel(target: &str) -> Value {
    json!({"type": "Relationship", "object": target})
}

fn observed(v: f64, at: DateTime<Utc>, unit: &str) -> Value {
    json!({"type": "Property", "value": v, "observedAt": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "unitCode": unit})
}

/// A Device (Smart Data Models) for a station that measures `props`.
fn device(id: &str, name: &str, props: &[&str], location: &Value, note: &str) -> Value {
    json!({
        "id": id, "type": "Device",
        "name": prop(name),
        "deviceCategory": prop(json!(["sensor"])),
        "controlledProperty": prop(json!(props)),
        "location": geo(location.clone()),
        "dataProvenance": prop(note),
    })
}

/// Daily bicycle counts per station: (station id, name, [(day, count)]).
type BikeSeries = Vec<(String, String, Vec<(NaiveDate, f64)>)>;

fn bike_series() -> anyhow::Result<BikeSeries> {
    let mut out: BikeSeries = Vec::new();
    for line in BIKE_STATIONS.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        if cols.len() >= 2 {
            out.push((cols[0].to_owned(), cols[1].to_owned(), Vec::new()));
        }
    }
    for line in BIKE_COUNTS.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        anyhow::ensure!(cols.len() >= 3, "a demo bicycle count row is short");
        let day = NaiveDate::parse_from_str(cols[0], "%Y-%m-%d")?;
        let count: f64 = cols[2].parse()?;
        if let Some(s) = out.iter_mut().find(|s| s.0 == cols[1]) {
            s.2.push((day, count));
        }
    }
    for s in &mut out {
        s.2.sort_by_key(|(d, _)| *d);
    }
    Ok(out)
}

/// One day of readings: (time, [values of the chosen columns]).
fn readings(csv: &str, columns: &[&str]) -> anyhow::Result<Vec<(NaiveDateTime, Vec<f64>)>> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(';').collect();
    let at = header
        .iter()
        .position(|h| *h == "timestamp")
        .context("demo readings without a timestamp")?;
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| header.iter().position(|h| h == c))
        .collect::<Option<_>>()
        .context("demo readings without an expected column")?;
    let mut out = Vec::new();
    for line in lines {
        let cols: Vec<&str> = line.split(';').collect();
        let Some(t) = cols
            .get(at)
            .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").ok())
        else {
            continue;
        };
        let values: Option<Vec<f64>> = idx
            .iter()
            .map(|i| cols.get(*i).and_then(|v| v.parse().ok()))
            .collect();
        if let Some(v) = values {
            out.push((t, v));
        }
    }
    Ok(out)
}

/// Seeds the demo region unless the installation already holds data (then `None`).
pub async fn seed(
    broker: &Broker,
    temporal: &broker::temporal::Temporal,
    ctx: Arc<jsonld::Context>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<DemoSummary>> {
    if !broker.store().tenants().await?.is_empty() {
        return Ok(None);
    }
    let places = municipalities()?;
    let mut bikes = bike_series()?.into_iter();
    let pm = readings(PM, &["P1", "P2"])?;
    let climate = readings(CLIMATE, &["temperature", "humidity"])?;
    let yesterday = (now - Duration::days(1)).date_naive();
    let mut summary = DemoSummary::default();
    for (k, m) in places.iter().enumerate() {
        let tenant = tenant_of(&m.name);
        let s = Scope {
            tenant: tenant.clone(),
            ctx: ctx.clone(),
        };
        let mut rng = Lcg(m.ags.parse::<u64>().unwrap_or(k as u64));
        let create = async |body: Value| -> anyhow::Result<()> {
            broker
                .create(&s, &body)
                .await
                .map_err(|e| anyhow::anyhow!("demo entity {}: {e:?}", body["id"]))?;
            Ok(())
        };
        create(json!({
            "id": format!("urn:ngsi-ld:Municipality:{}", m.ags),
            "type": "Municipality",
            "name": prop(m.name.clone()),
            "municipalityCode": prop(m.ags.clone()),
            "population": prop(m.population),
            "areaKm2": prop(m.area_km2),
            "location": geo(m.boundary.clone()),
            "dataProvenance": prop(AREA_NOTE),
        }))
        .await?;
        summary.entities += 1;
        let big = m.population > 100_000;
        let short = tenant.clone();

        // Air quality stations: yesterday's readings of the sensor.community day, scaled.
        let stations = if big { 3 } else { 1 };
        let shift = yesterday.and_hms_opt(0, 0, 0).unwrap_or_default()
            - NaiveDate::from_ymd_opt(2017, 10, 20)
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .unwrap_or_default();
        for n in 1..=stations {
            let id = format!("urn:ngsi-ld:AirQualityObserved:{short}-{n}");
            let dev = format!("urn:ngsi-ld:Device:{short}-air-{n}");
            let at = place(m, &mut rng);
            let f = 0.45 + 0.1 * ((k + n) % 5) as f64;
            create(device(
                &dev,
                &format!("Luftmessstation {} {n}", m.name),
                &["pm10", "pm25", "temperature", "relativeHumidity"],
                &at,
                AIR_NOTE,
            ))
            .await?;
            let t = |x: NaiveDateTime| Utc.from_utc_datetime(&(x + shift));
            let round = |v: f64| (v * 10.0).round() / 10.0;
            let pm10: Vec<Value> = pm
                .iter()
                .map(|(x, v)| observed(round(v[0] * f), t(*x), "GQ"))
                .collect();
            let pm25: Vec<Value> = pm
                .iter()
                .map(|(x, v)| observed(round(v[1] * f), t(*x), "GQ"))
                .collect();
            let temperature: Vec<Value> = climate
                .iter()
                .map(|(x, v)| observed(v[0], t(*x), "CEL"))
                .collect();
            let humidity: Vec<Value> = climate
                .iter()
                .map(|(x, v)| observed(v[1] / 100.0, t(*x), "P1"))
                .collect();
            summary.instances += pm10.len() + pm25.len() + temperature.len() + humidity.len();
            let body = json!({
                "id": id, "type": "AirQualityObserved",
                "pm10": pm10, "pm25": pm25, "temperature": temperature, "relativeHumidity": humidity,
            });
            history(broker, temporal, &s, &body).await?;
            broker
                .merge(
                    &s,
                    &id,
                    &json!({
                        "name": prop(format!("Luftqualität {} {n}", m.name)),
                        "location": geo(at),
                        "refDevice": rel(&dev),
                        "dataProvenance": prop(AIR_NOTE),
                    }),
                )
                .await
                .map_err(|e| anyhow::anyhow!("demo {id}: {e:?}"))?;
            summary.entities += 2;
        }

        // Bicycle counters: the Rostock series, moved to end yesterday.
        let counters = if big { 5 } else { 1 };
        for _ in 0..counters {
            let Some((station, label, days)) = bikes.next() else {
                break;
            };
            let Some(last) = days.last().map(|(d, _)| *d) else {
                continue;
            };
            let id = format!("urn:ngsi-ld:TrafficFlowObserved:{short}-bike-{station}");
            let dev = format!("urn:ngsi-ld:Device:{short}-bike-{station}");
            let at = place(m, &mut rng);
            create(device(
                &dev,
                &format!("Radzählstelle {} ({label})", m.name),
                &["intensity"],
                &at,
                BIKE_NOTE,
            ))
            .await?;
            let intensity: Vec<Value> = days
                .iter()
                .map(|(d, c)| {
                    let day = yesterday - (last - *d);
                    let at = Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default());
                    observed(*c, at, "E50")
                })
                .collect();
            summary.instances += intensity.len();
            let body = json!({"id": id, "type": "TrafficFlowObserved", "intensity": intensity});
            history(broker, temporal, &s, &body).await?;
            broker
                .merge(
                    &s,
                    &id,
                    &json!({
                        "name": prop(format!("Radverkehr {} ({label})", m.name)),
                        "vehicleType": prop("bicycle"),
                        "location": geo(at),
                        "refDevice": rel(&dev),
                        "dataProvenance": prop(BIKE_NOTE),
                    }),
                )
                .await
                .map_err(|e| anyhow::anyhow!("demo {id}: {e:?}"))?;
            summary.entities += 2;
        }

        // Devices in the state of the Smart Data Models examples.
        let chargers = 1 + (m.population / 40_000) as usize;
        for n in 1..=chargers {
            create(json!({
                "id": format!("urn:ngsi-ld:EVChargingStation:{short}-{n}"),
                "type": "EVChargingStation",
                "name": prop(format!("Ladestation {} {n}", m.name)),
                "capacity": prop(2 + (n % 3) as u64 * 2),
                "socketType": prop(json!(["Type2", "CCS"])),
                "status": prop(if n % 4 == 0 { "outOfService" } else { "working" }),
                "location": geo(place(m, &mut rng)),
                "dataProvenance": prop(MODEL_NOTE),
            }))
            .await?;
            summary.entities += 1;
        }
        let parkings = if m.population >= 20_000 {
            1 + (m.population / 60_000) as usize
        } else {
            0
        };
        for n in 1..=parkings {
            let total = 150 + 50 * n as u64;
            create(json!({
                "id": format!("urn:ngsi-ld:OffStreetParking:{short}-{n}"),
                "type": "OffStreetParking",
                "name": prop(format!("Parkhaus {} {n}", m.name)),
                "totalSpotNumber": prop(total),
                "availableSpotNumber": prop((total as f64 * (0.2 + 0.6 * rng.unit())).round() as u64),
                "location": geo(place(m, &mut rng)),
                "dataProvenance": prop(MODEL_NOTE),
            }))
            .await?;
            summary.entities += 1;
        }
        let lights = 2 + (m.population / 30_000) as usize;
        for n in 1..=lights {
            create(json!({
                "id": format!("urn:ngsi-ld:Streetlight:{short}-{n}"),
                "type": "Streetlight",
                "status": prop(if n % 5 == 0 { "defectiveLamp" } else { "ok" }),
                "powerState": prop("on"),
                "illuminanceLevel": prop(0.5 + 0.1 * (n % 5) as f64),
                "location": geo(place(m, &mut rng)),
                "dataProvenance": prop(MODEL_NOTE),
            }))
            .await?;
            summary.entities += 1;
        }
        if big {
            for n in 1..=2 {
                let at = place(m, &mut rng);
                create(json!({
                    "id": format!("urn:ngsi-ld:NoiseLevelObserved:{short}-{n}"),
                    "type": "NoiseLevelObserved",
                    "LAeq": {"type": "Property", "value": 55.0 + 4.0 * n as f64, "unitCode": "2N"},
                    "location": geo(at),
                    "dataProvenance": prop(MODEL_NOTE),
                }))
                .await?;
                summary.entities += 1;
            }
        }
        summary.tenants += 1;
    }
    Ok(Some(summary))
}

/// Posts a temporal entity and brings the current state up to its newest instances.
async fn history(
    broker: &Broker,
    temporal: &broker::temporal::Temporal,
    s: &Scope,
    body: &Value,
) -> anyhow::Result<()> {
    let (_, latest) = temporal
        .upsert(s, body)
        .await
        .map_err(|e| anyhow::anyhow!("demo history of {}: {e:?}", body["id"]))?;
    broker
        .absorb(s, latest)
        .await
        .map_err(|e| anyhow::anyhow!("demo state of {}: {e:?}", body["id"]))?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tenant_names_are_plain_ascii() {
        assert_eq!(tenant_of("Bad Wünnenberg"), "bad-wuennenberg");
        assert_eq!(tenant_of("Delbrück"), "delbrueck");
        assert_eq!(tenant_of("Hövelhof"), "hoevelhof");
        assert_eq!(tenant_of("Paderborn"), "paderborn");
    }

    #[test]
    fn points_fall_inside_their_municipality() {
        let all = municipalities().unwrap();
        assert_eq!(all.len(), 10);
        let mut rng = Lcg(1);
        for m in &all {
            for _ in 0..20 {
                let p = place(m, &mut rng);
                let (x, y) = (
                    p["coordinates"][0].as_f64().unwrap(),
                    p["coordinates"][1].as_f64().unwrap(),
                );
                assert!(inside(&m.ring, x, y), "{} {x} {y}", m.name);
            }
        }
    }
}
