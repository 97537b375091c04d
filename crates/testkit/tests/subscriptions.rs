//! The subscription API end to end: a real server, a real HTTP receiver.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Value, json};
use testkit::{TestApp, spawn};

type Inbox = Arc<Mutex<Vec<(HeaderMap, Value)>>>;

/// A receiver on 127.0.0.1:0 that keeps every notification it gets.
async fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    async fn take(
        State(inbox): State<Inbox>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> &'static str {
        inbox.lock().unwrap().push((
            headers,
            serde_json::from_slice(&body).unwrap_or(Value::Null),
        ));
        "ok"
    }
    let app = axum::Router::new()
        .route("/notify", axum::routing::post(take))
        .with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/notify", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, inbox)
}

async fn wait_for(inbox: &Inbox, n: usize) -> Vec<(HeaderMap, Value)> {
    for _ in 0..200 {
        if inbox.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    inbox.lock().unwrap().clone()
}

fn subscription(uri: &str) -> Value {
    json!({
        "type": "Subscription",
        "subscriptionName": "NO2 alerts",
        "entities": [{"type": "AirQualityObserved"}],
        "watchedAttributes": ["no2"],
        "q": "no2>40",
        "notification": {"attributes": ["no2"], "format": "keyValues", "endpoint": {"uri": uri, "accept": "application/json",
                         "receiverInfo": [{"key": "X-City", "value": "Paderborn"}]}}
    })
}

async fn create(app: &TestApp, body: &Value) -> String {
    let r = app.post("/ngsi-ld/v1/subscriptions", body).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.header("location")
        .unwrap()
        .trim_start_matches("/ngsi-ld/v1/subscriptions/")
        .to_owned()
}

#[tokio::test]
async fn a_matching_change_reaches_the_receiver_and_the_status_shows_it() {
    let app = spawn().await;
    let (uri, inbox) = receiver().await;
    let id = create(&app, &subscription(&uri)).await;
    let e = json!({"id": "urn:ngsi-ld:AirQualityObserved:pb-1", "type": "AirQualityObserved",
                   "no2": {"type": "Property", "value": 35}, "pm10": {"type": "Property", "value": 12}});
    assert_eq!(app.post("/ngsi-ld/v1/entities", &e).await.status, 201);
    app.patch(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:pb-1/attrs",
        &json!({"no2": {"type": "Property", "value": 48}}),
    )
    .await;
    let got = wait_for(&inbox, 1).await;
    assert_eq!(got.len(), 1, "35 does not match q, 48 does: {got:?}");
    let (headers, n) = &got[0];
    assert_eq!(n["subscriptionId"], id.as_str());
    assert_eq!(
        n["data"],
        json!([{"id": "urn:ngsi-ld:AirQualityObserved:pb-1", "type": "AirQualityObserved", "no2": 48}])
    );
    assert_eq!(headers["content-type"], "application/json");
    assert!(
        headers["link"]
            .to_str()
            .unwrap()
            .contains("ngsi-ld-core-context")
    );
    assert_eq!(headers["x-city"], "Paderborn");
    // The bookkeeping shows the delivery.
    let mut s = Value::Null;
    for _ in 0..100 {
        s = app
            .get(&format!("/ngsi-ld/v1/subscriptions/{id}"))
            .await
            .body;
        if s["notification"]["status"] == "ok" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(s["notification"]["timesSent"], 1);
    assert_eq!(s["notification"]["status"], "ok");
    assert!(s["notification"]["lastSuccess"].is_string());
    assert_eq!(s["status"], "active");
    assert_eq!(s["subscriptionName"], "NO2 alerts");
    // And the operator sees it in the metrics.
    let m = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.lines()
            .any(|l| l == "quartier_notifications_delivered_total 1"),
        "{m}"
    );
}

#[tokio::test]
async fn the_subscription_api_creates_lists_updates_and_deletes() {
    let app = spawn().await;
    let (uri, _) = receiver().await;
    let mut body = subscription(&uri);
    body["id"] = json!("urn:ngsi-ld:Subscription:no2");
    create(&app, &body).await;
    app.post("/ngsi-ld/v1/subscriptions", &body)
        .await
        .assert_problem(409, "AlreadyExists");
    create(&app, &subscription(&uri)).await;
    let list = app
        .get("/ngsi-ld/v1/subscriptions?count=true&limit=1")
        .await;
    assert_eq!(list.header("ngsild-results-count"), Some("2"));
    assert_eq!(list.body.as_array().unwrap().len(), 1);
    let path = "/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:no2";
    assert_eq!(
        app.patch(path, &json!({"isActive": false, "q": "no2>50"}))
            .await
            .status,
        204
    );
    let s = app.get(path).await.body;
    assert_eq!(
        (s["status"].clone(), s["q"].clone()),
        (json!("paused"), json!("no2>50"))
    );
    app.patch(path, &json!({"timeInterval": 10}))
        .await
        .assert_problem(400, "BadRequestData");
    assert_eq!(app.delete(path).await.status, 204);
    app.get(path).await.assert_problem(404, "ResourceNotFound");
    app.delete(path)
        .await
        .assert_problem(404, "ResourceNotFound");
}

#[tokio::test]
async fn invalid_subscriptions_are_refused() {
    let app = spawn().await;
    let ok = subscription("http://127.0.0.1:9/notify");
    let cases = [
        (
            "no entities nor watched attributes",
            json!({"type": "Subscription", "notification": ok["notification"]}),
        ),
        (
            "empty entities",
            json!({"type": "Subscription", "entities": [], "notification": ok["notification"]}),
        ),
        ("timeInterval with watchedAttributes", {
            let mut b = ok.clone();
            b["timeInterval"] = json!(5);
            b
        }),
        ("negative throttling", {
            let mut b = ok.clone();
            b["throttling"] = json!(-1);
            b
        }),
        ("expiresAt in the past", {
            let mut b = ok.clone();
            b["expiresAt"] = json!("2001-01-01T00:00:00Z");
            b
        }),
        ("endpoint is not a URI", {
            let mut b = ok.clone();
            b["notification"]["endpoint"]["uri"] = json!("not a uri");
            b
        }),
        ("unknown trigger", {
            let mut b = ok.clone();
            b["notificationTrigger"] = json!(["sometimes"]);
            b
        }),
        ("bad q", {
            let mut b = ok.clone();
            b["q"] = json!("no2>>1");
            b
        }),
    ];
    for (what, body) in cases {
        let r = app.post("/ngsi-ld/v1/subscriptions", &body).await;
        assert_eq!(r.status, 400, "{what}: {:?}", r.body);
        assert!(
            r.body["type"].as_str().unwrap().ends_with("BadRequestData"),
            "{what}"
        );
    }
    app.get("/ngsi-ld/v1/subscriptions/not%20a%20uri")
        .await
        .assert_problem(400, "BadRequestData");
}
