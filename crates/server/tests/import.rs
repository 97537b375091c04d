//! `quartier import` against a real application on port 0: the Rostock bicycle counters
//! through the library function, NGSI-LD files and error cases through the real binary.
//!
//! A 20,000-row synthetic import checks larger files and prints its rate (no timing is
//! asserted; `--nocapture` shows it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use clap::Parser;
use quartier::config::{Config, FileConfig, Overrides};
use quartier::import::{self, ImportArgs};
use serde_json::{Value, json};
use tokio::sync::oneshot;

const PREFIX: &str = "urn:ngsi-ld:TrafficFlowObserved:rostock-radmonitor-";

fn rostock_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/sensors/rostock-radmonitore")
}

/// A running application; stops when dropped.
struct App {
    base: String,
    client: reqwest::Client,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

async fn spawn() -> App {
    let dir = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        data_dir: Some(dir.path().to_owned()),
        admin_reset: false,
        durability: None,
    };
    let config = Config::resolve(FileConfig::default(), overrides).unwrap();
    let app = quartier::Application::build(config).await.unwrap();
    let base = format!("http://{}", app.addr());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(app.run(async move {
        let _ = rx.await;
    }));
    App {
        base,
        client: reqwest::Client::new(),
        _stop: tx,
        _dir: dir,
    }
}

impl App {
    async fn get(
        &self,
        path: &str,
        tenant: Option<&str>,
    ) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self.client.get(format!("{}{path}", self.base));
        if let Some(t) = tenant {
            req = req.header("NGSILD-Tenant", t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
        (status, body, headers)
    }

    async fn get_ok(&self, path: &str) -> Value {
        let (status, body, _) = self.get(path, None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: ImportArgs,
}

fn args(list: &[&str]) -> ImportArgs {
    Cli::try_parse_from(std::iter::once("import").chain(list.iter().copied()))
        .unwrap()
        .args
}

/// The daily counts file: station -> date -> count.
fn rostock_counts() -> BTreeMap<String, BTreeMap<String, i64>> {
    let text = std::fs::read_to_string(rostock_dir().join("radmonitore_daily_counts.csv")).unwrap();
    let mut out: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        out.entry(f[1].to_owned())
            .or_default()
            .insert(f[0].to_owned(), f[2].parse().unwrap());
    }
    out
}

/// The stations file: station -> (lat, lon, name).
fn rostock_stations() -> BTreeMap<String, (f64, f64, String)> {
    let text = std::fs::read_to_string(rostock_dir().join("radmonitore_stations.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].to_owned(),
                (
                    f[2].parse().unwrap(),
                    f[3].parse().unwrap(),
                    f[1].to_owned(),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn rostock_preset_imports_history_and_current_state() {
    let app = spawn().await;
    let dir = rostock_dir();
    let a = args(&[
        "--preset",
        "rostock-radmonitore",
        dir.to_str().unwrap(),
        "--url",
        &app.base,
        "--current",
        "--quiet",
    ]);
    let summary = import::run(&a).await.unwrap();
    let counts = rostock_counts();
    let stations = rostock_stations();
    assert_eq!(counts.len(), 11);
    assert_eq!(summary.entities, 11);
    assert_eq!(summary.rows, 319);
    // 319 counts + location, name and vehicleType per station.
    assert_eq!(summary.instances, 319 + 3 * 11);
    assert_eq!(summary.current, 4 * 11);

    // Every station is one temporal entity with 29 daily instances.
    let (status, list, headers) = app
        .get("/ngsi-ld/v1/temporal/entities?type=TrafficFlowObserved&count=true&limit=100&attrs=intensity", None)
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(headers.get("NGSILD-Results-Count").unwrap(), "11");
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 11);
    for e in list {
        let n = e["intensity"].as_array().map_or(1, Vec::len);
        assert_eq!(n, 29, "{}", e["id"]);
    }

    // Every count of every station, day by day, through temporalValues.
    for (station, days) in &counts {
        let id = format!("{PREFIX}{station}");
        let e = app
            .get_ok(&format!(
                "/ngsi-ld/v1/temporal/entities/{id}?options=temporalValues&attrs=intensity"
            ))
            .await;
        let got: BTreeMap<String, i64> = e["intensity"]["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v[1].as_str().unwrap()[..10].to_owned(),
                    v[0].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(&got, days, "{id}");
    }

    // A known day of a known station (first row of the file: 2025-05-08, 100005392, 690).
    assert_eq!(counts["100005392"]["2025-05-08"], 690);
    let e = app
        .get_ok(&format!(
            "/ngsi-ld/v1/temporal/entities/{PREFIX}100005392?attrs=intensity&timerel=between&timeAt=2025-05-08T00:00:00Z&endTimeAt=2025-05-09T00:00:00Z"
        ))
        .await;
    let inst = if e["intensity"].is_array() {
        e["intensity"][0].clone()
    } else {
        e["intensity"].clone()
    };
    assert_eq!(inst["value"], 690, "{e}");
    assert_eq!(inst["observedAt"], "2025-05-08T00:00:00Z");

    // Aggregation: the total over the range and the daily sums equal the CSV.
    for station in ["100005392", "100005395"] {
        let days = &counts[station];
        let total: i64 = days.values().sum();
        let id = format!("{PREFIX}{station}");
        let e = app
            .get_ok(&format!("/ngsi-ld/v1/temporal/entities/{id}?attrs=intensity&options=aggregatedValues&aggrMethods=sum,totalCount"))
            .await;
        assert_eq!(
            e["intensity"]["sum"][0][0].as_f64().unwrap(),
            total as f64,
            "{e}"
        );
        assert_eq!(e["intensity"]["totalCount"][0][0], 29, "{e}");
        let e = app
            .get_ok(&format!(
                "/ngsi-ld/v1/temporal/entities/{id}?attrs=intensity&options=aggregatedValues&aggrMethods=sum&aggrPeriodDuration=P1D"
            ))
            .await;
        let buckets = e["intensity"]["sum"].as_array().unwrap();
        assert_eq!(buckets.len(), 29);
        for b in buckets {
            let day = &b[1].as_str().unwrap()[..10];
            assert_eq!(b[0].as_f64().unwrap(), days[day] as f64, "{station} {day}");
        }
    }

    // Location and name, in the history and in the current state.
    let (lat, lon, name) = &stations["100005395"];
    let id = format!("{PREFIX}100005395");
    let t = app
        .get_ok(&format!(
            "/ngsi-ld/v1/temporal/entities/{id}?attrs=location,name"
        ))
        .await;
    let loc = if t["location"].is_array() {
        t["location"][0].clone()
    } else {
        t["location"].clone()
    };
    assert_eq!(
        loc["value"],
        json!({"type": "Point", "coordinates": [lon, lat]}),
        "{t}"
    );
    let cur = app.get_ok(&format!("/ngsi-ld/v1/entities/{id}")).await;
    assert_eq!(cur["type"], "TrafficFlowObserved");
    assert_eq!(cur["location"]["value"]["coordinates"], json!([lon, lat]));
    assert_eq!(cur["name"]["value"], name.as_str());
    assert_eq!(cur["vehicleType"]["value"], "bicycle");
    // The current intensity is the last day's count.
    assert_eq!(cur["intensity"]["value"], counts["100005395"]["2025-06-05"]);
    assert_eq!(cur["intensity"]["observedAt"], "2025-06-05T00:00:00Z");
    let list = app
        .get_ok("/ngsi-ld/v1/entities?type=TrafficFlowObserved&limit=100")
        .await;
    assert_eq!(list.as_array().unwrap().len(), 11);
}

#[tokio::test]
async fn csv_mapping_by_flags_with_units_and_tenant() {
    let app = spawn().await;
    let sds = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/sensors/sensor-community/2017-10-20_sds011_sensor_5331.csv");
    let text = std::fs::read_to_string(&sds).unwrap();
    let rows = text.lines().skip(1).filter(|l| !l.is_empty()).count();
    let a = args(&[
        sds.to_str().unwrap(),
        "--url",
        &app.base,
        "--tenant",
        "aberdeen",
        "--delimiter",
        ";",
        "--id-column",
        "sensor_id",
        "--id-prefix",
        "urn:ngsi-ld:AirQualityObserved:sensor-community-",
        "--type",
        "AirQualityObserved",
        "--time-column",
        "timestamp",
        "--time-format",
        "naive-utc",
        "--value",
        "P1=pm10:GQ",
        "--value",
        "P2=pm25:GQ",
        "--value",
        "durP1=durP1",
        "--chunk-size",
        "100",
        "--quiet",
    ]);
    let s = import::run(&a).await.unwrap();
    assert_eq!(
        (s.entities, s.rows, s.instances),
        (1, rows, 2 * rows),
        "{s}"
    );
    assert_eq!(s.requests, (2 * rows).div_ceil(100));
    let id = "urn:ngsi-ld:AirQualityObserved:sensor-community-5331";
    let (status, e, _) = app
        .get(
            &format!("/ngsi-ld/v1/temporal/entities/{id}?lastN=1"),
            Some("aberdeen"),
        )
        .await;
    assert_eq!(status, 200, "{e}");
    let pm10 = if e["pm10"].is_array() {
        e["pm10"][0].clone()
    } else {
        e["pm10"].clone()
    };
    assert_eq!(pm10["unitCode"], "GQ", "{e}");
    assert!(pm10["value"].is_number(), "{e}");
    assert!(e.get("durP1").is_none(), "empty cells give no instances");
    // The server brings the current state up to the newest reading (temporal-upsert-current).
    let (status, current, _) = app
        .get(&format!("/ngsi-ld/v1/entities/{id}"), Some("aberdeen"))
        .await;
    assert_eq!(status, 200, "{current}");
    assert_eq!(current["pm10"]["value"], pm10["value"], "{current}");
    assert_eq!(
        current["pm10"]["observedAt"], pm10["observedAt"],
        "{current}"
    );
    let (status, _, _) = app
        .get(&format!("/ngsi-ld/v1/temporal/entities/{id}"), None)
        .await;
    assert_eq!(status, 404, "other tenants see nothing");
}

fn quartier(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quartier"))
        .arg("import")
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

#[tokio::test]
async fn binary_imports_ngsild_temporal_entities_in_chunks() {
    let app = spawn().await;
    let tmp = tempfile::tempdir().unwrap();
    let instances: Vec<Value> = (0..250)
        .map(|i| json!({"type": "Property", "value": i, "observedAt": format!("2026-01-01T{:02}:{:02}:00Z", i / 60, i % 60)}))
        .collect();
    let doc = json!([
        {"id": "urn:ngsi-ld:Sensor:a", "type": "Sensor", "temperature": instances,
         "@context": ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"]},
        {"id": "urn:ngsi-ld:Sensor:b", "type": "Sensor",
         "humidity": {"type": "Property", "value": 50, "observedAt": "2026-01-01T00:00:00Z"}}
    ]);
    let file = write(tmp.path(), "history.json", &doc.to_string());
    let base = app.base.clone();
    let out = tokio::task::spawn_blocking(move || {
        quartier(&[
            file.to_str().unwrap(),
            "--url",
            &base,
            "--chunk-size",
            "100",
            "--current",
        ])
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("imported 251 attribute instances of 2 entities"),
        "{stdout}"
    );
    assert!(stdout.contains("instances/s"), "{stdout}");
    let e = app
        .get_ok("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Sensor:a?options=temporalValues")
        .await;
    let values = e["temperature"]["values"].as_array().unwrap();
    assert_eq!(
        values.len(),
        250,
        "each instance once, the current one included"
    );
    let cur = app
        .get_ok("/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:a")
        .await;
    assert_eq!(cur["temperature"]["value"], 249);
    let cur = app
        .get_ok("/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:b")
        .await;
    assert_eq!(cur["humidity"]["value"], 50);
}

#[tokio::test]
async fn binary_reports_errors_with_a_non_zero_exit() {
    let app = spawn().await;
    let tmp = tempfile::tempdir().unwrap();
    let base = app.base.clone();
    let dir = tmp.path().to_owned();
    let outs = tokio::task::spawn_blocking(move || {
        let csv = write(&dir, "c.csv", "id,t,v\n1,2026-01-01T00:00:00Z,1\n2,yesterday,2\n3,2026-01-01T00:00:00Z,3\n");
        let csv = csv.to_str().unwrap();
        let map = ["--id-column", "id", "--id-prefix", "urn:ngsi-ld:T:", "--type", "T", "--time-column", "t", "--value", "v=v"];
        let with = |extra: &[&str]| {
            let mut a = vec![csv, "--url", base.as_str()];
            a.extend(map);
            a.extend(extra);
            quartier(&a)
        };
        let missing = quartier(&["/nonexistent/file.csv", "--url", &base, "--id-column", "a", "--type", "T", "--time-column", "t", "--value", "v=v"]);
        let bad_row = with(&[]);
        let skipped = with(&["--skip-bad-rows"]);
        let bad_mapping = with(&["--value", "nocolumn=x"]);
        let bad_value = with(&["--value", "v"]);
        let bad_entity = write(&dir, "bad.json", r#"{"id":"urn:ngsi-ld:T:x","type":"T","v":[{"type":"Property","value":1,"observedAt":"not a time"}]}"#);
        let http_error = quartier(&[bad_entity.to_str().unwrap(), "--url", &base]);
        let unreachable = quartier(&[csv, "--url", "http://127.0.0.1:9", "--id-column", "id", "--id-prefix", "urn:x:", "--type", "T", "--time-column", "t", "--value", "v=v", "--skip-bad-rows"]);
        (missing, bad_row, skipped, bad_mapping, bad_value, http_error, unreachable)
    })
    .await
    .unwrap();
    let (missing, bad_row, skipped, bad_mapping, bad_value, http_error, unreachable) = outs;
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("cannot read /nonexistent/file.csv"),
        "{}",
        text(&missing)
    );
    assert!(!bad_row.status.success());
    assert!(
        text(&bad_row).contains("line 3: 'yesterday' in column 't' is not a RFC 3339"),
        "{}",
        text(&bad_row)
    );
    assert!(skipped.status.success(), "{}", text(&skipped));
    assert!(text(&skipped).contains("line 3"), "{}", text(&skipped));
    assert!(
        String::from_utf8_lossy(&skipped.stdout)
            .contains("imported 2 attribute instances of 2 entities"),
        "{}",
        text(&skipped)
    );
    assert!(!bad_mapping.status.success());
    assert!(
        text(&bad_mapping).contains("no column 'nocolumn' (the header has: id, t, v)"),
        "{}",
        text(&bad_mapping)
    );
    assert!(!bad_value.status.success());
    assert!(
        text(&bad_value).contains("expected COLUMN=ATTR"),
        "{}",
        text(&bad_value)
    );
    assert!(!http_error.status.success());
    let t = text(&http_error);
    assert!(
        t.contains("400")
            && t.contains("urn:ngsi-ld:T:x")
            && t.contains("observedAt must be a DateTime"),
        "{t}"
    );
    assert!(!unreachable.status.success());
    assert!(
        text(&unreachable).contains("http://127.0.0.1:9"),
        "{}",
        text(&unreachable)
    );
}

/// 20,000 rows of a synthetic CSV (100 sensors × 200 hourly readings).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_rows_all_arrive() {
    let app = spawn().await;
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("sensor,time,value\n");
    for h in 0..200i64 {
        for s in 0..100 {
            let t = 1_767_225_600 + h * 3600; // from 2026-01-01T00:00:00Z, hourly
            csv.push_str(&format!("{s},{},{}.{}\n", iso(t), (h * 7 + s) % 50, h % 10));
        }
    }
    let file = write(tmp.path(), "synthetic.csv", &csv);
    let a = args(&[
        file.to_str().unwrap(),
        "--url",
        &app.base,
        "--id-column",
        "sensor",
        "--id-prefix",
        "urn:ngsi-ld:Sensor:s",
        "--type",
        "Sensor",
        "--time-column",
        "time",
        "--value",
        "value=value",
        "--quiet",
    ]);
    let s = import::run(&a).await.unwrap();
    println!("synthetic: {s}");
    assert_eq!((s.entities, s.instances), (100, 20_000));
    let e = app.get_ok("/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Sensor:s7?attrs=value&options=aggregatedValues&aggrMethods=totalCount").await;
    assert_eq!(e["value"]["totalCount"][0][0], 200);
}

fn iso(t: i64) -> String {
    import::format_time(t * 1_000_000)
}
