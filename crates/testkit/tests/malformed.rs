//! A corpus of malformed requests. Each must be refused with a 4xx whose body is an NGSI-LD
//! ProblemDetails (never a 5xx, never a bare body), and the server must stay up afterwards.
//!
//! The corpus is a table: one [`Row`] per request with the status (and, where the spec
//! names one, the error type) it must get.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{Resp, TestApp, spawn};

const E: &str = "/ngsi-ld/v1/entities";
const EXISTING: &str = "urn:ngsi-ld:T:existing";
const JSON: &str = "application/json";
const LD: &str = "application/ld+json";
const CORE: &str = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld";

/// What a row must get back.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// This status with this error type (the last segment of the type URI; "" = any type).
    Problem(u16, &'static str),
    /// Any 4xx ProblemDetails: the spec leaves the exact status open (or see the report).
    Any4xx,
}
use Expect::{Any4xx, Problem};

/// One malformed request.
struct Row {
    name: &'static str,
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    expect: Expect,
}

fn check(
    name: &'static str,
    method: Method,
    path: impl Into<String>,
    headers: &[(&'static str, &str)],
    content_type: Option<&'static str>,
    body: impl Into<Vec<u8>>,
    expect: Expect,
) -> Row {
    Row {
        name,
        method,
        path: path.into(),
        headers: headers.iter().map(|(k, v)| (*k, (*v).to_owned())).collect(),
        content_type,
        body: body.into(),
        expect,
    }
}

/// A JSON document as bytes.
fn j(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// An entity of type T with id `id` and the extra members of `attrs`.
fn ent(id: &str, attrs: &Value) -> Vec<u8> {
    let mut e = json!({"id": id, "type": "T"});
    for (k, v) in attrs.as_object().unwrap() {
        e[k] = v.clone();
    }
    j(&e)
}

/// An entity with one attribute `v` of value `attr`.
fn with_attr(attr: &Value) -> Vec<u8> {
    ent("urn:ngsi-ld:T:x", &json!({ "v": attr }))
}

fn geo(geometry: &Value) -> Vec<u8> {
    ent(
        "urn:ngsi-ld:T:g",
        &json!({"location": {"type": "GeoProperty", "value": geometry}}),
    )
}

fn query(q: &str) -> String {
    format!("{E}?{q}")
}

/// Percent-encodes everything but unreserved characters (for query values).
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn corpus() -> Vec<Row> {
    use Method as M;
    let existing_attrs = format!("{E}/{EXISTING}/attrs");
    let upsert = "/ngsi-ld/v1/entityOperations/upsert";
    let create = "/ngsi-ld/v1/entityOperations/create";
    let bq = "/ngsi-ld/v1/entityOperations/query";
    let valid = ent(
        "urn:ngsi-ld:T:valid-but-refused",
        &json!({"v": {"type": "Property", "value": 1}}),
    );
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_in_entity = format!(
        r#"{{"id":"urn:ngsi-ld:T:deep","type":"T","v":{{"type":"Property","value":{deep}}}}}"#
    );
    let huge = {
        let mut big = String::from(
            r#"{"id":"urn:ngsi-ld:T:huge","type":"T","v":{"type":"Property","value":""#,
        );
        big.push_str(&"x".repeat(3 * 1024 * 1024));
        big.push_str(r#""}}"#);
        big
    };
    // Malformed (no angle brackets), so nothing is fetched.
    let huge_link = format!(
        "http://example.org/{}; rel=\"http://www.w3.org/ns/json-ld#context\"",
        "c".repeat(100 * 1024)
    );
    let long_name = "a".repeat(100 * 1024);
    let long_id = format!("urn:ngsi-ld:T:{}", "i".repeat(100 * 1024));
    let long_path_id = format!("urn:ngsi-ld:T:{}", "i".repeat(10 * 1024));
    let deep_path = format!("a{}[==1", "[b]".repeat(5_000));
    let deep_pick = format!("{}a{}", "a{".repeat(5_000), "}".repeat(5_000));
    let nested_q = format!("{}a==1{}", "(".repeat(5_000), ")".repeat(5_000));
    let mut non_utf8 =
        br#"{"id":"urn:ngsi-ld:T:bin","type":"T","v":{"type":"Property","value":""#.to_vec();
    non_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28]);
    non_utf8.extend_from_slice(br#""}}"#);
    let ring_open = json!({"type": "Polygon", "coordinates": [[[8.0, 51.0], [9.0, 51.0], [9.0, 52.0], [8.0, 52.0]]]});

    vec![
        // --- Bodies that are not (acceptable) JSON -------------------------------------------
        check(
            "invalid JSON",
            M::POST,
            E,
            &[],
            Some(JSON),
            "{id: urn}",
            Problem(400, ""),
        ),
        check(
            "truncated JSON",
            M::POST,
            E,
            &[],
            Some(JSON),
            r#"{"id":"urn:ngsi-ld:T:1","type":"T""#,
            Problem(400, ""),
        ),
        check(
            "empty body",
            M::POST,
            E,
            &[],
            Some(JSON),
            "",
            Problem(400, ""),
        ),
        check(
            "body is a number",
            M::POST,
            E,
            &[],
            Some(JSON),
            "42",
            Problem(400, ""),
        ),
        check(
            "body is a string",
            M::POST,
            E,
            &[],
            Some(JSON),
            r#""urn:ngsi-ld:T:1""#,
            Problem(400, ""),
        ),
        check(
            "body is null",
            M::POST,
            E,
            &[],
            Some(JSON),
            "null",
            Problem(400, ""),
        ),
        check(
            "entity body is an array",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!([{"id": "urn:ngsi-ld:T:1", "type": "T"}])),
            Problem(400, ""),
        ),
        check(
            "attrs body is an array",
            M::POST,
            existing_attrs.clone(),
            &[],
            Some(JSON),
            "[1,2]",
            Problem(400, ""),
        ),
        check(
            "attrs PATCH body is a number",
            M::PATCH,
            existing_attrs.clone(),
            &[],
            Some(JSON),
            "7",
            Problem(400, ""),
        ),
        check(
            "non-UTF-8 bytes",
            M::POST,
            E,
            &[],
            Some(JSON),
            non_utf8,
            Problem(400, ""),
        ),
        check(
            "10,000 nested arrays",
            M::POST,
            E,
            &[],
            Some(JSON),
            deep.clone(),
            Problem(400, ""),
        ),
        check(
            "10,000 nested arrays as a value",
            M::POST,
            E,
            &[],
            Some(JSON),
            deep_in_entity,
            Problem(400, ""),
        ),
        check(
            "10,000 nested arrays in a batch",
            M::POST,
            upsert,
            &[],
            Some(JSON),
            deep,
            Problem(400, ""),
        ),
        check(
            "body over the 2 MiB limit",
            M::POST,
            E,
            &[],
            Some(JSON),
            huge,
            Problem(413, "PayloadTooLarge"),
        ),
        // --- Media types ----------------------------------------------------------------------
        check(
            "Content-Type text/plain",
            M::POST,
            E,
            &[],
            Some("text/plain"),
            valid.clone(),
            Problem(415, "UnsupportedMediaType"),
        ),
        check(
            "Content-Type application/xml",
            M::POST,
            E,
            &[],
            Some("application/xml"),
            valid.clone(),
            Problem(415, "UnsupportedMediaType"),
        ),
        check(
            "Content-Type missing",
            M::POST,
            E,
            &[],
            None,
            valid.clone(),
            Problem(415, "UnsupportedMediaType"),
        ),
        check(
            "Accept text/csv on retrieve",
            M::GET,
            format!("{E}/{EXISTING}"),
            &[("Accept", "text/csv")],
            None,
            "",
            Problem(406, "NotAcceptable"),
        ),
        check(
            "Accept text/html on query",
            M::GET,
            query("type=T"),
            &[("Accept", "text/html")],
            None,
            "",
            Problem(406, "NotAcceptable"),
        ),
        check(
            "Accept with q=0 only",
            M::GET,
            query("type=T"),
            &[("Accept", "application/json;q=0")],
            None,
            "",
            Problem(406, "NotAcceptable"),
        ),
        // --- @context rules ---------------------------------------------------------------------
        check(
            "@context in an application/json body",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"@context": CORE, "id": "urn:ngsi-ld:T:c", "type": "T"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "ld+json without @context",
            M::POST,
            E,
            &[],
            Some(LD),
            valid.clone(),
            Problem(400, "BadRequestData"),
        ),
        check(
            "malformed Link header",
            M::GET,
            query("type=T"),
            &[(
                "Link",
                "no-angle-brackets; rel=\"http://www.w3.org/ns/json-ld#context\"",
            )],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        // --- Entity ids and types -------------------------------------------------------------
        check(
            "id is not a URI",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("not a uri", &json!({})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "id without scheme",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("just-a-name", &json!({})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "id is empty",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("", &json!({})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "id is a number",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"id": 5, "type": "T"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "id missing",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"type": "T"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "id of 100 KB",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent(&long_id, &json!({})),
            Any4xx,
        ),
        check(
            "type missing",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"id": "urn:ngsi-ld:T:1"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "type empty",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"id": "urn:ngsi-ld:T:1", "type": ""})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "type a number",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"id": "urn:ngsi-ld:T:1", "type": 3})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "type array of numbers",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"id": "urn:ngsi-ld:T:1", "type": [1, 2]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "type empty array",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"id": "urn:ngsi-ld:T:1", "type": []})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "type with a space",
            M::POST,
            E,
            &[],
            Some(JSON),
            j(&json!({"id": "urn:ngsi-ld:T:1", "type": "A B"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "scope without slash",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:s", &json!({"scope": "Madrid"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "retrieve id that is not a URI",
            M::GET,
            format!("{E}/not-a-uri"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "retrieve id of 60 KB",
            M::GET,
            format!(
                "{E}/{}",
                "urn:ngsi-ld:T:".to_owned() + &"i".repeat(60 * 1024)
            ),
            &[],
            None,
            "",
            Any4xx,
        ),
        check(
            "malformed Link header of 100 KB",
            M::GET,
            query("type=T"),
            &[("Link", &huge_link)],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "replace with a different id in the body",
            M::PUT,
            format!("{E}/{EXISTING}"),
            &[],
            Some(JSON),
            valid.clone(),
            Problem(400, "BadRequestData"),
        ),
        check(
            "merge body is an array",
            M::PATCH,
            format!("{E}/{EXISTING}"),
            &[],
            Some(JSON),
            "[]",
            Problem(400, ""),
        ),
        check(
            "attribute PATCH with a forbidden name",
            M::PATCH,
            format!("{E}/{EXISTING}/attrs/a%3Cb"),
            &[],
            Some(JSON),
            j(&json!({"value": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "concise location that is not geometry",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:g", &json!({"location": [8, 51]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "number out of range",
            M::POST,
            E,
            &[],
            Some(JSON),
            r#"{"id":"urn:ngsi-ld:T:n","type":"T","v":1e400}"#,
            Problem(400, ""),
        ),
        check(
            "georel near with negative distance",
            M::GET,
            query("georel=near%3BmaxDistance%3D%3D-5&geometry=Point&coordinates=%5B8%2C51%5D"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "query coordinates out of range",
            M::GET,
            query("georel=intersects&geometry=Point&coordinates=%5B200%2C100%5D"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "query polygon with an unclosed ring",
            M::GET,
            query(&format!(
                "georel=within&geometry=Polygon&coordinates={}",
                enc("[[[8,51],[9,51],[9,52],[8,52]]]")
            )),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "retrieve id of 10 KB",
            M::GET,
            format!("{E}/{long_path_id}"),
            &[],
            None,
            "",
            Any4xx,
        ),
        check(
            "delete id that is not a URI",
            M::DELETE,
            format!("{E}/not-a-uri"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        // --- Attribute names ------------------------------------------------------------------
        check(
            "attribute name with <",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:n", &json!({"a<b": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute name with space",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:n", &json!({"a b": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute name with =",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:n", &json!({"a=b": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute name with ;",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:n", &json!({"a;b": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute name with (",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:n", &json!({"a(b": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute name with a control char",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:n", &json!({"a\u{1}b": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute name empty",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:n", &json!({"": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute name of 100 KB",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent("urn:ngsi-ld:T:n", &json!({ long_name: 1 })),
            Any4xx,
        ),
        check(
            "sub-attribute name with >",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property", "value": 1, "x>y": 2})),
            Problem(400, "BadRequestData"),
        ),
        // --- Attribute values -----------------------------------------------------------------
        check(
            "Property without value",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Property with null value",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property", "value": null})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute that is null",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&Value::Null),
            Problem(400, "BadRequestData"),
        ),
        check(
            "unknown attribute type",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Propertee", "value": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "attribute type a number",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": 1, "value": 1})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Relationship with non-URI object",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Relationship", "object": "not a uri"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Relationship with number object",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Relationship", "object": 12})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Relationship without object",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Relationship"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "LanguageProperty with a string map",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "LanguageProperty", "languageMap": "hallo"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "ListRelationship with non-URIs",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "ListRelationship", "objectList": ["nope"]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "invalid datasetId",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property", "value": 1, "datasetId": "not a uri"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "datasetId a number",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property", "value": 1, "datasetId": 3})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "two instances with the same datasetId",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!([{"type": "Property", "value": 1}, {"type": "Property", "value": 2}])),
            Problem(400, "BadRequestData"),
        ),
        check(
            "invalid observedAt",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property", "value": 1, "observedAt": "yesterday"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "observedAt without time",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property", "value": 1, "observedAt": "2024-13-45"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "observedAt a number",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property", "value": 1, "observedAt": 1_700_000_000})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "unitCode a number",
            M::POST,
            E,
            &[],
            Some(JSON),
            with_attr(&json!({"type": "Property", "value": 1, "unitCode": 5})),
            Problem(400, "BadRequestData"),
        ),
        // --- GeoProperties --------------------------------------------------------------------
        check(
            "Point with string coordinates",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&json!({"type": "Point", "coordinates": ["8.7", "51.7"]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Point with longitude 200",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&json!({"type": "Point", "coordinates": [200.0, 51.7]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Point with latitude -100",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&json!({"type": "Point", "coordinates": [8.7, -100.0]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Point with one coordinate",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&json!({"type": "Point", "coordinates": [8.7]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Polygon with an unclosed ring",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&ring_open),
            Problem(400, "BadRequestData"),
        ),
        check(
            "Polygon ring of 2 positions",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&json!({"type": "Polygon", "coordinates": [[[8.0, 51.0], [8.0, 51.0]]]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "LineString of 1 position",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&json!({"type": "LineString", "coordinates": [[8.0, 51.0]]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "unknown geometry type",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&json!({"type": "Circle", "coordinates": [8.0, 51.0]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "GeoProperty with WKT",
            M::POST,
            E,
            &[],
            Some(JSON),
            geo(&json!("POINT (8 51)")),
            Problem(400, "BadRequestData"),
        ),
        check(
            "location that is not a GeoProperty",
            M::POST,
            E,
            &[],
            Some(JSON),
            ent(
                "urn:ngsi-ld:T:g",
                &json!({"location": {"type": "Property", "value": 5}}),
            ),
            Problem(400, "BadRequestData"),
        ),
        // --- Routes and methods ---------------------------------------------------------------
        check(
            "unknown route",
            M::GET,
            "/ngsi-ld/v1/nonsense",
            &[],
            None,
            "",
            Problem(404, ""),
        ),
        check(
            "unknown root route",
            M::GET,
            "/nothing/here",
            &[],
            None,
            "",
            Problem(404, ""),
        ),
        check(
            "unknown batch operation",
            M::POST,
            "/ngsi-ld/v1/entityOperations/frobnicate",
            &[],
            Some(JSON),
            "[]",
            Problem(404, ""),
        ),
        // Relaxed: the broker answers 400 "entity id missing from the path" on purpose; HTTP
        // would say 405, NGSI-LD says nothing (see the report).
        check(
            "PUT on the entity collection",
            M::PUT,
            E,
            &[],
            Some(JSON),
            valid.clone(),
            Any4xx,
        ),
        check(
            "POST on an entity",
            M::POST,
            format!("{E}/{EXISTING}"),
            &[],
            Some(JSON),
            valid.clone(),
            Problem(405, ""),
        ),
        check(
            "GET on a batch operation",
            M::GET,
            upsert,
            &[],
            None,
            "",
            Problem(405, ""),
        ),
        // --- Query strings --------------------------------------------------------------------
        check(
            "q a>>",
            M::GET,
            query("q=a%3E%3E"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "q ((a==1",
            M::GET,
            query("q=((a==1"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "q a==",
            M::GET,
            query("q=a=="),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "q unterminated string",
            M::GET,
            query(&format!("q={}", enc("name==\"abc"))),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "q 5,000 nested parentheses",
            M::GET,
            query(&format!("q={}", enc(&nested_q))),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "type expression ((T",
            M::GET,
            query("type=((T"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "scopeQ //",
            M::GET,
            query("scopeQ=%2F%2F"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "scopeQ /#/a",
            M::GET,
            query("scopeQ=%2F%23%2Fa"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "q with a 5,000-level path, unclosed",
            M::GET,
            query(&format!("q={}", enc(&deep_path))),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "attrs projection nested 5,000 deep",
            M::GET,
            query(&format!("type=T&pick={}", enc(&deep_pick))),
            &[],
            None,
            "",
            Any4xx,
        ),
        check(
            "options=bogus",
            M::GET,
            query("type=T&options=bogus"),
            &[],
            None,
            "",
            Problem(400, "InvalidRequest"),
        ),
        check(
            "format=bogus",
            M::GET,
            query("type=T&format=bogus"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "options=update,replace",
            M::POST,
            format!("{upsert}?options=update,replace"),
            &[],
            Some(JSON),
            format!("[{}]", String::from_utf8(valid.clone()).unwrap()),
            Problem(400, "BadRequestData"),
        ),
        check(
            "limit=-1",
            M::GET,
            query("type=T&limit=-1"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "limit=abc",
            M::GET,
            query("type=T&limit=abc"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "offset=-5",
            M::GET,
            query("type=T&offset=-5"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "limit over the maximum",
            M::GET,
            query("type=T&limit=1000000"),
            &[],
            None,
            "",
            Problem(403, "TooManyResults"),
        ),
        check(
            "count=maybe",
            M::GET,
            query("type=T&count=maybe"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "georel without geometry",
            M::GET,
            query("georel=near%3BmaxDistance%3D%3D10&coordinates=%5B8%2C51%5D"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "coordinates not JSON",
            M::GET,
            query("georel=intersects&geometry=Point&coordinates=eight,fifty"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "georel unknown",
            M::GET,
            query("georel=touches&geometry=Point&coordinates=%5B8%2C51%5D"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "near without distance",
            M::GET,
            query("georel=near&geometry=Point&coordinates=%5B8%2C51%5D"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "geometry unknown",
            M::GET,
            query("georel=intersects&geometry=Blob&coordinates=%5B8%2C51%5D"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "idPattern (",
            M::GET,
            query("idPattern=("),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "id list with a non-URI",
            M::GET,
            query("id=urn:ngsi-ld:T:1,not%20a%20uri"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "attrs with a forbidden character",
            M::GET,
            query("attrs=a%3Cb"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        check(
            "pick together with attrs",
            M::GET,
            query("type=T&attrs=v&pick=v"),
            &[],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "invalid percent-encoding",
            M::GET,
            query("type=%ZZ"),
            &[],
            None,
            "",
            Problem(400, ""),
        ),
        // --- Tenants --------------------------------------------------------------------------
        check(
            "tenant with spaces",
            M::GET,
            query("type=T"),
            &[("NGSILD-Tenant", "bad tenant!")],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "tenant not ASCII",
            M::GET,
            query("type=T"),
            &[("NGSILD-Tenant", "paderb\u{f6}rn")],
            None,
            "",
            Problem(400, "BadRequestData"),
        ),
        check(
            "tenant empty",
            M::POST,
            E,
            &[("NGSILD-Tenant", "")],
            Some(JSON),
            valid.clone(),
            Problem(400, "BadRequestData"),
        ),
        check(
            "write with a tenant of 200 chars",
            M::POST,
            E,
            &[("NGSILD-Tenant", &"t".repeat(200))],
            Some(JSON),
            valid.clone(),
            Problem(400, "BadRequestData"),
        ),
        check(
            "unknown tenant on retrieve",
            M::GET,
            format!("{E}/{EXISTING}"),
            &[("NGSILD-Tenant", "nowhere")],
            None,
            "",
            Problem(404, "NonexistentTenant"),
        ),
        // --- Batches --------------------------------------------------------------------------
        check(
            "batch body is an object",
            M::POST,
            upsert,
            &[],
            Some(JSON),
            valid.clone(),
            Problem(400, "BadRequestData"),
        ),
        check(
            "batch body is an empty array",
            M::POST,
            create,
            &[],
            Some(JSON),
            "[]",
            Problem(400, "BadRequestData"),
        ),
        check(
            "batch body is a string",
            M::POST,
            create,
            &[],
            Some(JSON),
            r#""x""#,
            Problem(400, "BadRequestData"),
        ),
        // The Query data type: a member of the wrong JSON type must not be ignored (ignoring
        // a filter turns the query into "everything").
        check(
            "query with a numeric entity type",
            M::POST,
            bq,
            &[],
            Some(JSON),
            j(&json!({"type": "Query", "entities": [{"type": 5}]})),
            Problem(400, ""),
        ),
        check(
            "query with a numeric idPattern",
            M::POST,
            bq,
            &[],
            Some(JSON),
            j(&json!({"type": "Query", "entities": [{"idPattern": 5}]})),
            Problem(400, ""),
        ),
        check(
            "query with a numeric q",
            M::POST,
            bq,
            &[],
            Some(JSON),
            j(&json!({"type": "Query", "q": 5})),
            Problem(400, ""),
        ),
        check(
            "query with a numeric geoproperty",
            M::POST,
            bq,
            &[],
            Some(JSON),
            j(
                &json!({"type": "Query", "geoQ": {"georel": "near;maxDistance==1", "geometry": "Point", "coordinates": [8, 51], "geoproperty": 5}}),
            ),
            Problem(400, ""),
        ),
        check(
            "query with an invalid idPattern",
            M::POST,
            bq,
            &[],
            Some(JSON),
            j(&json!({"type": "Query", "entities": [{"idPattern": "("}]})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "query of the wrong type",
            M::POST,
            bq,
            &[],
            Some(JSON),
            j(&json!({"type": "Subscription"})),
            Problem(400, "BadRequestData"),
        ),
        check(
            "batch query body is an array",
            M::POST,
            bq,
            &[],
            Some(JSON),
            "[]",
            Problem(400, "BadRequestData"),
        ),
    ]
}

/// Why `resp` is not the ProblemDetails `expect` asks for, if it is not.
fn mismatch(resp: &Resp, expect: Expect) -> Option<String> {
    let status = resp.status.as_u16();
    match expect {
        Problem(want, _) if status != want => {
            return Some(format!("status {status}, expected {want}"));
        }
        Any4xx if !(400..500).contains(&status) => {
            return Some(format!("status {status}, expected a 4xx"));
        }
        _ => {}
    }
    let ct = resp.header("content-type").unwrap_or("");
    if !(ct.starts_with("application/json") || ct.starts_with("application/problem+json")) {
        return Some(format!("Content-Type '{ct}' is not JSON"));
    }
    let Some(t) = resp.body["type"].as_str() else {
        return Some("no string 'type'".into());
    };
    if !(t.starts_with("https://uri.etsi.org/ngsi-ld/errors/")
        || t.starts_with("urn:quartier:errors:"))
    {
        return Some(format!("type '{t}' is not an NGSI-LD error type"));
    }
    if let Problem(_, kind) = expect
        && !t
            .rsplit(['/', ':'])
            .next()
            .is_some_and(|last| kind.is_empty() || last == kind)
    {
        return Some(format!("type '{t}', expected {kind}"));
    }
    if !resp.body["title"].is_string() {
        return Some("no string 'title'".into());
    }
    if resp.body["status"].as_u64() != Some(u64::from(status)) {
        return Some(format!(
            "'status' member {} differs from the HTTP status {status}",
            resp.body["status"]
        ));
    }
    None
}

async fn send(app: &TestApp, row: &Row) -> Resp {
    let headers: Vec<(&str, &str)> = row.headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if let Some(ct) = row.content_type {
        return app
            .request(
                row.method.clone(),
                &row.path,
                &headers,
                Some((ct, row.body.clone())),
            )
            .await;
    }
    if row.body.is_empty() {
        return app
            .request(row.method.clone(), &row.path, &headers, None)
            .await;
    }
    // A body without any Content-Type header (testkit always sends one with a body).
    let mut req = app
        .client
        .request(row.method.clone(), format!("{}{}", app.base, row.path))
        .body(row.body.clone());
    for (k, v) in &headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status();
    let headers = r.headers().clone();
    let body = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap_or(Value::Null);
    Resp {
        status,
        headers,
        body,
    }
}

async fn assert_still_serving(app: &TestApp) {
    let health = app.get("/health").await;
    assert_eq!(health.status, 200, "the server is down after the corpus");
    let id = "urn:ngsi-ld:T:after-the-corpus";
    let created = app
        .post(
            E,
            &json!({"id": id, "type": "T", "v": {"type": "Property", "value": 42}}),
        )
        .await;
    assert_eq!(
        created.status, 201,
        "a normal create fails after the corpus: {:?}",
        created.body
    );
    let got = app.get(&format!("{E}/{id}?options=keyValues")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["v"], 42);
}

#[tokio::test]
async fn every_malformed_request_gets_a_4xx_problem_details_and_the_server_stays_up() {
    let app = spawn().await;
    let r = app
        .post(
            E,
            &json!({"id": EXISTING, "type": "T", "v": {"type": "Property", "value": 1}}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    let rows = corpus();
    let mut failures = Vec::new();
    for row in &rows {
        let resp = send(&app, row).await;
        println!(
            "{:50} -> {} {}",
            row.name,
            resp.status.as_u16(),
            resp.body["type"].as_str().unwrap_or("(no ProblemDetails)")
        );
        if let Some(why) = mismatch(&resp, row.expect) {
            let body = resp.body.to_string();
            let body = if body.len() > 300 {
                format!("{}...", &body[..300])
            } else {
                body
            };
            failures.push(format!(
                "{} ({} {}): {why}; body {body}",
                row.name,
                row.method,
                short(&row.path)
            ));
        }
    }
    // Nothing that was refused may have been stored.
    let refused = app
        .get(&format!("{E}/urn:ngsi-ld:T:valid-but-refused"))
        .await;
    assert_eq!(refused.status, 404, "a refused request stored its entity");
    let stored = app.get(&format!("{E}?type=T&count=true&limit=100")).await;
    assert_eq!(stored.status, 200);
    assert_eq!(
        stored.body.as_array().map(Vec::len),
        Some(1),
        "only the one valid entity may exist after the corpus: {}",
        stored.body
    );

    assert_still_serving(&app).await;
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

fn short(s: &str) -> String {
    if s.len() > 120 {
        format!("{}...({} bytes)", &s[..120], s.len())
    } else {
        s.to_owned()
    }
}

#[tokio::test]
async fn a_batch_with_one_invalid_entity_answers_207_with_a_per_entity_error() {
    let app = spawn().await;
    let batch = json!([
        {"id": "urn:ngsi-ld:T:good", "type": "T", "v": {"type": "Property", "value": 1}},
        {"id": "urn:ngsi-ld:T:bad", "type": "T", "v": {"type": "Property", "value": null}}
    ]);
    for op in ["create", "upsert"] {
        let r = app
            .post(&format!("/ngsi-ld/v1/entityOperations/{op}"), &batch)
            .await;
        assert_eq!(r.status, 207, "{op}: {:?}", r.body);
        if op == "create" {
            assert_eq!(
                r.body["success"],
                json!(["urn:ngsi-ld:T:good"]),
                "{op}: {}",
                r.body
            );
        } else {
            // The good entity exists by now; upsert updates it and still reports success.
            assert_eq!(
                r.body["success"],
                json!(["urn:ngsi-ld:T:good"]),
                "{op}: {}",
                r.body
            );
        }
        let errors = r.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{op}: no errors array: {}", r.body));
        assert_eq!(errors.len(), 1, "{op}: {}", r.body);
        assert_eq!(errors[0]["entityId"], "urn:ngsi-ld:T:bad");
        let e = &errors[0]["error"];
        assert_eq!(
            e["type"], "https://uri.etsi.org/ngsi-ld/errors/BadRequestData",
            "{op}: {e}"
        );
        assert_eq!(e["status"], 400, "{op}: {e}");
        assert!(e["title"].is_string(), "{op}: {e}");
    }
    assert_eq!(
        app.get(&format!("{E}/urn:ngsi-ld:T:good")).await.status,
        200
    );
    app.get(&format!("{E}/urn:ngsi-ld:T:bad"))
        .await
        .assert_problem(404, "ResourceNotFound");
}
