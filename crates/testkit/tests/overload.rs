//! Overload: past `max-in-flight` requests the broker answers 503 at once instead of queueing,
//! and serves again as soon as requests finish; `/health` is always answered.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test]
async fn requests_beyond_the_limit_are_refused_with_503_not_queued() {
    let app = testkit::spawn_with(|f| f.max_in_flight = Some(2)).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    // Two requests that hold their permits: their bodies never finish arriving.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        s.write_all(
            b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"id\":",
        )
        .await
        .unwrap();
        held.push(s);
    }
    // Give the server a moment to start both.
    let mut refused = None;
    for _ in 0..50 {
        let r = app.get("/ngsi-ld/v1/types").await;
        if r.status == 503 {
            refused = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let r = refused.expect("a third request was not refused");
    r.assert_problem(503, "ServiceUnavailable");
    assert_eq!(r.header("retry-after"), Some("1"));
    assert_eq!(app.get("/health").await.status, 200);

    // When the held requests end, the broker serves again.
    drop(held);
    let mut ok = false;
    for _ in 0..50 {
        let r = app
            .post(
                "/ngsi-ld/v1/entities",
                &json!({"id": "urn:ngsi-ld:Room:1", "type": "Room"}),
            )
            .await;
        if r.status == 201 {
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ok, "the broker did not serve again");
}
