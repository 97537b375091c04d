//! The HTTP binding of notifications (clause 6.3.8): a POST to the endpoint URI.

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LINK};
use reqwest::{Client, StatusCode, Url};

use crate::Delivery;
use crate::retry::Attempt;

/// The tenant header of clause 6.3.14, sent for every tenant but the default one.
pub(crate) const TENANT_HEADER: &str = "NGSILD-Tenant";

/// Headers a `receiverInfo` entry may not set: the notifier owns them.
const RESERVED: [&str; 7] = [
    "content-type",
    "content-length",
    "link",
    "ngsild-tenant",
    "host",
    "transfer-encoding",
    "connection",
];

/// Most of a response body read (so that the connection can be reused) before dropping it.
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// The headers of the POST: `Content-Type`, `Link` when given, `NGSILD-Tenant` for a
/// non-default tenant, and one header per `receiverInfo` entry. An entry that is not a
/// valid RFC 7230 header is an error; one naming a reserved header is ignored.
pub(crate) fn headers(d: &Delivery) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (key, value) in &d.endpoint.receiver_info {
        let name = HeaderName::from_bytes(key.as_bytes())
            .map_err(|_| format!("receiverInfo key {key:?} is not an HTTP header name"))?;
        if RESERVED.contains(&name.as_str()) {
            tracing::debug!(header = %name, "receiverInfo may not set a reserved header; ignored");
            continue;
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("receiverInfo value of {key:?} is not an HTTP header value"))?;
        map.append(name, value);
    }
    let value = |v: &str, what: &str| {
        HeaderValue::from_str(v).map_err(|_| format!("{what} {v:?} is not an HTTP header value"))
    };
    map.insert(CONTENT_TYPE, value(&d.content_type, "content type")?);
    if let Some(link) = &d.link {
        map.insert(LINK, value(link, "Link")?);
    }
    if !d.key.tenant.is_empty() {
        map.insert(TENANT_HEADER, value(&d.key.tenant, "tenant")?);
    }
    Ok(map)
}

/// One POST. 2xx succeeds; connection errors, timeouts, 5xx, 408 and 429 are worth a retry;
/// any other status (4xx, redirections, which are not followed) is permanent.
pub(crate) async fn attempt(
    client: &Client,
    url: &Url,
    headers: &HeaderMap,
    body: &Bytes,
) -> Attempt {
    let request = client
        .post(url.clone())
        .headers(headers.clone())
        .body(body.clone());
    match request.send().await {
        Ok(mut response) => {
            let status = response.status();
            let mut read = 0;
            while read < MAX_RESPONSE_BODY {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    _ => break,
                }
            }
            classify(status)
        }
        Err(e) => Attempt::Retryable(error_chain(&e)),
    }
}

fn classify(status: StatusCode) -> Attempt {
    let reason = || format!("HTTP {status}");
    if status.is_success() {
        Attempt::Success
    } else if status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        Attempt::Retryable(reason())
    } else {
        Attempt::Permanent(reason())
    }
}

/// `e` and its sources, e.g. "error sending request: client error (Connect): Connection refused".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Endpoint, SubscriptionKey};

    fn delivery(tenant: &str, receiver_info: &[(&str, &str)]) -> Delivery {
        Delivery {
            key: SubscriptionKey {
                tenant: tenant.into(),
                id: "urn:s".into(),
            },
            endpoint: Endpoint {
                uri: "http://h/n".into(),
                accept: None,
                receiver_info: receiver_info
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                notifier_info: vec![],
            },
            body: Bytes::from_static(b"{}"),
            content_type: "application/ld+json".into(),
            link: None,
            order_key: 0,
        }
    }

    #[test]
    fn receiver_info_cannot_replace_the_content_type_or_tenant() {
        let h = headers(&delivery(
            "t1",
            &[("Content-Type", "text/plain"), ("ngsild-tenant", "x")],
        ))
        .unwrap();
        assert_eq!(h[CONTENT_TYPE], "application/ld+json");
        assert_eq!(h[TENANT_HEADER], "t1");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn invalid_receiver_info_is_refused() {
        assert!(headers(&delivery("", &[("bad key", "v")])).is_err());
        assert!(headers(&delivery("", &[("k", "line\nbreak")])).is_err());
    }

    #[test]
    fn status_classes() {
        assert_eq!(classify(StatusCode::NO_CONTENT), Attempt::Success);
        assert!(matches!(
            classify(StatusCode::BAD_GATEWAY),
            Attempt::Retryable(_)
        ));
        assert!(matches!(
            classify(StatusCode::TOO_MANY_REQUESTS),
            Attempt::Retryable(_)
        ));
        assert!(matches!(
            classify(StatusCode::NOT_FOUND),
            Attempt::Permanent(_)
        ));
        assert!(matches!(
            classify(StatusCode::MOVED_PERMANENTLY),
            Attempt::Permanent(_)
        ));
    }
}
