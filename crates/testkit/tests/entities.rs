//! The entity API end to end, through HTTP against a real server and store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use reqwest::Method;
use serde_json::{Value, json};
use testkit::{TestApp, spawn};

fn room(n: u32, temp: f64, lon: f64, lat: f64) -> Value {
    json!({
        "id": format!("urn:ngsi-ld:Room:{n}"),
        "type": "Room",
        "temperature": {"type": "Property", "value": temp, "unitCode": "CEL",
                        "observedAt": "2024-03-01T10:00:00Z",
                        "accuracy": {"type": "Property", "value": 0.5}},
        "name": {"type": "Property", "value": format!("Room {n}")},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
        "building": {"type": "Relationship", "object": "urn:ngsi-ld:Building:A"}
    })
}

async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let r = app.get(&format!("/ngsi-ld/v1/entities?{query}")).await;
    assert_eq!(r.status, 200, "{query}: {:?}", r.body);
    r.body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn create_retrieve_and_render_in_every_form() {
    let app = spawn().await;
    let r = app
        .post("/ngsi-ld/v1/entities", &room(1, 21.5, 8.75, 51.71))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        r.header("location"),
        Some("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1")
    );

    let normalized = app.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1").await;
    assert_eq!(normalized.status, 200);
    assert_eq!(
        normalized.body,
        room(1, 21.5, 8.75, 51.71),
        "normalized equals the input"
    );
    let link = normalized.header("link").unwrap();
    assert!(
        link.contains("ngsi-ld-core-context")
            && link.contains("rel=\"http://www.w3.org/ns/json-ld#context\"")
    );

    let kv = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1?options=keyValues")
        .await;
    assert_eq!(kv.body["temperature"], 21.5);
    assert_eq!(kv.body["building"], "urn:ngsi-ld:Building:A");
    assert_eq!(kv.body["location"]["type"], "Point");

    let concise = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1?options=concise")
        .await;
    assert_eq!(concise.body["name"], "Room 1");
    assert_eq!(concise.body["temperature"]["value"], 21.5);
    assert_eq!(concise.body["temperature"]["accuracy"], 0.5);
    assert_eq!(
        concise.body["building"],
        json!({"object": "urn:ngsi-ld:Building:A"})
    );

    let ld = app
        .get_with(
            "/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1",
            &[("Accept", "application/ld+json")],
        )
        .await;
    assert_eq!(ld.header("content-type"), Some("application/ld+json"));
    assert!(
        ld.body["@context"]
            .as_str()
            .unwrap()
            .contains("ngsi-ld-core-context")
    );

    let geo = app
        .get_with(
            "/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1",
            &[("Accept", "application/geo+json")],
        )
        .await;
    assert_eq!(geo.body["type"], "Feature");
    assert_eq!(geo.body["geometry"]["coordinates"], json!([8.75, 51.71]));

    let sys = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1?options=sysAttrs")
        .await;
    assert!(sys.body["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(sys.body["temperature"]["modifiedAt"].is_string());

    let picked = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1?pick=id,temperature")
        .await;
    assert_eq!(
        picked.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "temperature"]
    );
    let omitted = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1?omit=temperature,location")
        .await;
    assert!(omitted.body.get("temperature").is_none() && omitted.body.get("name").is_some());

    app.post("/ngsi-ld/v1/entities", &room(1, 1.0, 0.0, 0.0))
        .await
        .assert_problem(409, "AlreadyExists");
    app.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:404")
        .await
        .assert_problem(404, "ResourceNotFound");
    app.get_with(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1",
        &[("Accept", "text/csv")],
    )
    .await
    .assert_problem(406, "NotAcceptable");
}

#[tokio::test]
async fn attribute_operations_follow_the_spec() {
    let app = spawn().await;
    app.post("/ngsi-ld/v1/entities", &room(1, 20.0, 8.7, 51.7))
        .await;
    let e = "/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1";

    // Append with noOverwrite keeps the old value and reports it.
    let r = app
        .post(&format!("{e}/attrs?options=noOverwrite"), &json!({"temperature": {"type": "Property", "value": 99}, "humidity": {"type": "Property", "value": 40}}))
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(
        r.body["updated"],
        json!(["https://uri.etsi.org/ngsi-ld/default-context/humidity"])
    );
    assert_eq!(
        r.body["notUpdated"][0]["attributeName"],
        "https://uri.etsi.org/ngsi-ld/default-context/temperature"
    );
    assert_eq!(
        app.get(&format!("{e}?options=keyValues")).await.body["temperature"],
        20.0
    );

    // Update replaces existing attributes and appends new ones (GS CIM 009 1.9, 5.6.2.4).
    let r = app.patch(&format!("{e}/attrs"), &json!({"temperature": {"type": "Property", "value": 22, "unitCode": "CEL", "accuracy": {"type": "Property", "value": 0.5}}, "nope": {"type": "Property", "value": 1}})).await;
    assert_eq!(r.status, 204);
    let kv = app.get(&format!("{e}?options=keyValues")).await.body;
    assert_eq!(
        (kv["temperature"].clone(), kv["nope"].clone()),
        (json!(22), json!(1))
    );

    // Partial attribute update keeps unitCode and sub-attributes not mentioned.
    assert_eq!(
        app.patch(&format!("{e}/attrs/temperature"), &json!({"value": 23.5}))
            .await
            .status,
        204
    );
    let t = app.get(e).await.body["temperature"].clone();
    assert_eq!(t["value"], 23.5);
    assert_eq!(t["unitCode"], "CEL");
    assert_eq!(t["accuracy"]["value"], 0.5);

    // Replace attribute drops what is not given.
    assert_eq!(
        app.put(
            &format!("{e}/attrs/temperature"),
            &json!({"type": "Property", "value": 1})
        )
        .await
        .status,
        204
    );
    assert_eq!(
        app.get(e).await.body["temperature"],
        json!({"type": "Property", "value": 1})
    );

    // Multi-attribute instances with datasetId, then deletion of one and of all.
    let r = app
        .post(
            &format!("{e}/attrs"),
            &json!({"temperature": [
            {"type": "Property", "value": 5, "datasetId": "urn:ngsi-ld:Dataset:a"},
            {"type": "Property", "value": 6, "datasetId": "urn:ngsi-ld:Dataset:b"}]}),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        app.get(e).await.body["temperature"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        app.delete(&format!(
            "{e}/attrs/temperature?datasetId=urn:ngsi-ld:Dataset:a"
        ))
        .await
        .status,
        204
    );
    assert_eq!(
        app.get(e).await.body["temperature"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        app.delete(&format!("{e}/attrs/temperature?deleteAll=true"))
            .await
            .status,
        204
    );
    assert!(app.get(e).await.body.get("temperature").is_none());
    app.delete(&format!("{e}/attrs/temperature"))
        .await
        .assert_problem(404, "ResourceNotFound");

    // Merge: changes, adds, and deletes with urn:ngsi-ld:null.
    let r = app.patch(e, &json!({"name": "Kitchen", "humidity": "urn:ngsi-ld:null", "co2": {"type": "Property", "value": 410}})).await;
    assert_eq!(r.status, 204);
    let kv = app.get(&format!("{e}?options=keyValues")).await.body;
    assert_eq!(kv["name"], "Kitchen");
    assert_eq!(kv["co2"], 410);
    assert!(kv.get("humidity").is_none());

    // Replace the entity: only the new attributes remain, createdAt is kept.
    let created = app.get(&format!("{e}?options=sysAttrs")).await.body["createdAt"].clone();
    let r = app
        .put(
            e,
            &json!({"type": "Room", "seats": {"type": "Property", "value": 4}}),
        )
        .await;
    assert_eq!(r.status, 204);
    let after = app.get(&format!("{e}?options=sysAttrs")).await.body;
    assert_eq!(after["createdAt"], created);
    assert!(after.get("name").is_none() && after["seats"]["value"] == 4);

    assert_eq!(app.delete(e).await.status, 204);
    app.delete(e).await.assert_problem(404, "ResourceNotFound");
}

#[tokio::test]
async fn queries_filter_page_and_count() {
    let app = spawn().await;
    for n in 0..30u32 {
        let lon = 8.75 + f64::from(n) * 0.001; // about 69 m apart
        app.post(
            "/ngsi-ld/v1/entities",
            &room(n, 15.0 + f64::from(n), lon, 51.71),
        )
        .await;
    }
    app.post("/ngsi-ld/v1/entities", &json!({"id": "urn:ngsi-ld:Car:1", "type": "Car", "speed": {"type": "Property", "value": 50}})).await;

    assert_eq!(ids(&app, "type=Room&limit=100").await.len(), 30);
    assert_eq!(ids(&app, "type=Room,Car&limit=100").await.len(), 31);
    assert_eq!(ids(&app, "type=Room&q=temperature%3E40").await.len(), 4);
    assert_eq!(ids(&app, "type=Room&q=temperature==20..22").await.len(), 3);
    assert_eq!(
        ids(&app, "type=Room&q=temperature==15,16,99").await.len(),
        2
    );
    assert_eq!(
        ids(&app, "type=Room&q=temperature.accuracy==0.5&limit=100")
            .await
            .len(),
        30
    );
    assert_eq!(ids(&app, "type=Room&q=name~=%22Room 1.%22").await.len(), 10);
    assert_eq!(
        ids(
            &app,
            "type=Room&q=(temperature%3C16%7Ctemperature%3E43)%3Bname!=%22x%22"
        )
        .await
        .len(),
        2
    );
    assert_eq!(ids(&app, "q=speed%3E10").await, ["urn:ngsi-ld:Car:1"]);
    assert_eq!(ids(&app, "idPattern=Room:2.*&limit=100").await.len(), 11);
    assert_eq!(
        ids(&app, "id=urn:ngsi-ld:Room:3,urn:ngsi-ld:Car:1&type=Room").await,
        ["urn:ngsi-ld:Room:3"]
    );

    // near 500 m of the first room: rooms 0..=7 are within 7 * 69 m.
    let near = ids(&app, "type=Room&georel=near%3BmaxDistance==500&geometry=Point&coordinates=%5B8.75,51.71%5D&limit=100").await;
    assert_eq!(near.len(), 8, "{near:?}");
    let within = ids(&app, "type=Room&georel=within&geometry=Polygon&coordinates=%5B%5B%5B8.7495,51.70%5D,%5B8.7525,51.70%5D,%5B8.7525,51.72%5D,%5B8.7495,51.72%5D,%5B8.7495,51.70%5D%5D%5D").await;
    assert_eq!(within.len(), 3);

    // Ordering by an attribute, descending, and by a sub-attribute path with ties.
    assert_eq!(
        ids(&app, "type=Room&orderBy=temperature;desc&limit=2").await,
        ["urn:ngsi-ld:Room:29", "urn:ngsi-ld:Room:28"]
    );
    assert_eq!(
        ids(
            &app,
            "type=Room&orderBy=temperature.accuracy,id;desc&limit=1"
        )
        .await,
        ["urn:ngsi-ld:Room:9"]
    );

    // Paging with a total count.
    let r = app
        .get("/ngsi-ld/v1/entities?type=Room&limit=7&offset=28&count=true")
        .await;
    assert_eq!(r.header("ngsild-results-count"), Some("30"));
    assert_eq!(r.body.as_array().unwrap().len(), 2);
    let r = app
        .get("/ngsi-ld/v1/entities?type=Room&limit=0&count=true")
        .await;
    assert_eq!(
        (
            r.header("ngsild-results-count"),
            r.body.as_array().map(Vec::len)
        ),
        (Some("30"), Some(0))
    );

    // The same query as a POST.
    let r = app
        .post("/ngsi-ld/v1/entityOperations/query?count=true", &json!({"type": "Query", "entities": [{"type": "Room"}], "q": "temperature>42", "attrs": ["temperature"]}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("ngsild-results-count"), Some("2"));
    assert!(r.body[0].get("name").is_none() && r.body[0].get("temperature").is_some());

    // Bad queries are 400s, a too large page is refused.
    app.get("/ngsi-ld/v1/entities?type=Room&q=temperature%3E%3E1")
        .await
        .assert_problem(400, "BadRequestData");
    app.get("/ngsi-ld/v1/entities?type=Room&georel=near&geometry=Point&coordinates=%5B1,2%5D")
        .await
        .assert_problem(400, "BadRequestData");
    app.get("/ngsi-ld/v1/entities?type=Room&limit=100000")
        .await
        .assert_problem(403, "TooManyResults");
    app.get("/ngsi-ld/v1/entities")
        .await
        .assert_problem(400, "BadRequestData");

    // Purge by filter.
    assert_eq!(
        app.delete("/ngsi-ld/v1/entities?type=Room&q=temperature%3C20")
            .await
            .status,
        204
    );
    assert_eq!(ids(&app, "type=Room&limit=100").await.len(), 25);
}

#[tokio::test]
async fn batch_operations_report_per_entity() {
    let app = spawn().await;
    let r = app.post("/ngsi-ld/v1/entityOperations/create", &json!([room(1, 1.0, 8.0, 51.0), room(2, 2.0, 8.0, 51.0), {"id": "bad id", "type": "Room"}])).await;
    assert_eq!(r.status, 207);
    assert_eq!(
        r.body["success"],
        json!(["urn:ngsi-ld:Room:1", "urn:ngsi-ld:Room:2"])
    );
    assert_eq!(r.body["errors"][0]["error"]["status"], 400);

    // The IoT Agent's call form: trailing slash and options=update.
    let r = app
        .post("/ngsi-ld/v1/entityOperations/upsert/?options=update", &json!([
            {"id": "urn:ngsi-ld:Room:1", "type": "Room", "co2": {"type": "Property", "value": 500}},
            {"id": "urn:ngsi-ld:Room:3", "type": "Room", "co2": {"type": "Property", "value": 600}}]))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body, json!(["urn:ngsi-ld:Room:3"]));
    let kv = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1?options=keyValues")
        .await
        .body;
    assert_eq!(
        (kv["co2"].clone(), kv["temperature"].clone()),
        (json!(500), json!(1.0)),
        "update mode keeps other attributes"
    );

    // Upsert in replace mode (default) replaces; all existing => 204.
    let r = app.post("/ngsi-ld/v1/entityOperations/upsert", &json!([{"id": "urn:ngsi-ld:Room:1", "type": "Room", "only": {"type": "Property", "value": 1}}])).await;
    assert_eq!(r.status, 204);
    assert!(
        app.get("/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1")
            .await
            .body
            .get("temperature")
            .is_none()
    );

    let r = app.post("/ngsi-ld/v1/entityOperations/update", &json!([{"id": "urn:ngsi-ld:Room:9", "type": "Room", "x": {"type": "Property", "value": 1}}])).await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["errors"][0]["entityId"], "urn:ngsi-ld:Room:9");
    assert_eq!(r.body["errors"][0]["error"]["status"], 404);

    let r = app.post("/ngsi-ld/v1/entityOperations/merge", &json!([{"id": "urn:ngsi-ld:Room:2", "type": "Room", "name": {"type": "Property", "value": "merged"}}])).await;
    assert_eq!(r.status, 204);

    let r = app
        .post(
            "/ngsi-ld/v1/entityOperations/delete",
            &json!([
                "urn:ngsi-ld:Room:1",
                "urn:ngsi-ld:Room:2",
                "urn:ngsi-ld:Room:404"
            ]),
        )
        .await;
    assert_eq!(r.status, 207);
    assert_eq!(r.body["success"].as_array().unwrap().len(), 2);
    app.post("/ngsi-ld/v1/entityOperations/create", &json!({}))
        .await
        .assert_problem(400, "BadRequestData");
}

#[tokio::test]
async fn tenants_are_created_on_write_and_isolated() {
    let app = spawn().await;
    let pb = [("NGSILD-Tenant", "paderborn")];
    app.get_with("/ngsi-ld/v1/entities?type=Room", &pb)
        .await
        .assert_problem(404, "NonexistentTenant");
    let r = app
        .request(
            Method::POST,
            "/ngsi-ld/v1/entities",
            &pb,
            Some((
                "application/json",
                serde_json::to_vec(&room(1, 1.0, 8.0, 51.0)).unwrap(),
            )),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        app.get_with("/ngsi-ld/v1/entities?type=Room", &pb)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        app.get("/ngsi-ld/v1/entities?type=Room").await.body,
        json!([]),
        "default tenant sees nothing"
    );
    app.get_with(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:Room:1",
        &[("NGSILD-Tenant", "bueren")],
    )
    .await
    .assert_problem(404, "NonexistentTenant");
}

#[tokio::test]
async fn user_contexts_expand_and_compact_names() {
    let app = spawn().await;
    let ctx =
        json!({"ex": "https://example.org/terms#", "Sensor": "ex:Sensor", "reading": "ex:reading"});
    let body = json!({"@context": [ctx, "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"],
                      "id": "urn:ngsi-ld:Sensor:1", "type": "Sensor", "reading": {"type": "Property", "value": 3}});
    assert_eq!(app.post_ld("/ngsi-ld/v1/entities", &body).await.status, 201);
    // Without the context, the full IRIs (CURIEs of nothing) come back.
    let plain = app
        .get("/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1")
        .await
        .body;
    assert_eq!(plain["type"], "https://example.org/terms#Sensor");
    assert!(plain.get("https://example.org/terms#reading").is_some());
    // Querying by the full IRI works without a context.
    let r = app
        .get("/ngsi-ld/v1/entities?type=https://example.org/terms%23Sensor")
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    // A hosted context, then used through a Link header.
    let r = app
        .post("/ngsi-ld/v1/jsonldContexts", &json!({"@context": ctx}))
        .await;
    assert_eq!(r.status, 201);
    let location = r.header("location").unwrap().to_owned();
    let listed = app.get("/ngsi-ld/v1/jsonldContexts?kind=Hosted").await;
    let url = listed.body[0].as_str().unwrap().to_owned();
    assert!(
        url.starts_with("http://") && url.ends_with(&location),
        "{url} is served at {location}"
    );
    let link = format!(
        "<{url}>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\""
    );
    let linked = app
        .get_with(
            "/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1",
            &[("Link", &link)],
        )
        .await;
    assert_eq!(linked.status, 200, "{:?}", linked.body);
    assert_eq!(linked.body["type"], "Sensor");
    assert_eq!(linked.body["reading"]["value"], 3);
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    // An unreachable context is a 503 LdContextNotAvailable.
    let bad = "<http://127.0.0.1:9/none.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\"";
    app.get_with(
        "/ngsi-ld/v1/entities/urn:ngsi-ld:Sensor:1",
        &[("Link", bad)],
    )
    .await
    .assert_problem(503, "LdContextNotAvailable");
}

#[tokio::test]
async fn discovery_lists_types_and_attributes() {
    let app = spawn().await;
    app.post("/ngsi-ld/v1/entities", &room(1, 1.0, 8.0, 51.0))
        .await;
    app.post("/ngsi-ld/v1/entities", &json!({"id": "urn:ngsi-ld:Car:1", "type": "Car", "speed": {"type": "Property", "value": 50}})).await;
    let t = app.get("/ngsi-ld/v1/types").await.body;
    assert_eq!(t["typeList"], json!(["Car", "Room"]));
    let d = app.get("/ngsi-ld/v1/types/Room").await.body;
    assert_eq!(d["entityCount"], 1);
    assert_eq!(d["attributeDetails"].as_array().unwrap().len(), 4);
    let a = app.get("/ngsi-ld/v1/attributes").await.body;
    assert!(
        a["attributeList"]
            .as_array()
            .unwrap()
            .contains(&json!("speed"))
    );
    let s = app.get("/ngsi-ld/v1/attributes/speed").await.body;
    assert_eq!(s["typeNames"], json!(["Car"]));
    app.get("/ngsi-ld/v1/types/Nothing")
        .await
        .assert_problem(404, "ResourceNotFound");
}
