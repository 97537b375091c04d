//! The demo region's Digital Agenda, seeded into the `paderborn` tenant after its data: the
//! default domains, an agenda with goals and staged targets in four domains, live indicators
//! over the seeded air quality, bicycle, charging and streetlight data (and one manual
//! indicator), projects deploying the seeded devices, milestones (reached, overdue, due),
//! grants, synergy scores and citizen ideas. Everything is sample data (names say so in
//! `dataProvenance`); dates are relative to the seeding day so that the radar and a report
//! show something at once. The last quarter's progress report is stored and published as
//! open data.

use std::sync::Arc;

use broker::{Broker, Scope};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use leitstelle::catalogue;
use leitstelle::vocab::ty;
use serde_json::{Value, json};

/// The tenant that holds the demo agenda.
pub const TENANT: &str = "paderborn";
/// The demo agenda's id.
pub const AGENDA: &str = "urn:ngsi-ld:Agenda:paderborn-2030";

const NOTE: &str = "Beispieldaten (sample data): eine erfundene Digitale Agenda für die Demo";

fn prop(v: impl Into<Value>) -> Value {
    json!({"type": "Property", "value": v.into()})
}

fn rel(o: impl Into<Value>) -> Value {
    json!({"type": "Relationship", "object": o.into()})
}

fn dom(code: &str) -> String {
    catalogue::domain_id(code)
}

fn date(d: NaiveDate) -> Value {
    prop(d.to_string())
}

/// Seeds the agenda; `leit` is the active Leitstelle context.
pub async fn seed(
    broker: &Broker,
    leitstelle: &leitstelle::Leitstelle,
    leit: Arc<jsonld::Context>,
    now: DateTime<Utc>,
) -> anyhow::Result<usize> {
    let s = Scope {
        tenant: TENANT.into(),
        ctx: leit,
    };
    let today = now.date_naive();
    let days = |n: i64| today + Duration::days(n);
    let mut count = 0usize;
    for d in catalogue::default_domains() {
        broker
            .create(&s, &d)
            .await
            .map_err(|e| anyhow::anyhow!("demo domain: {e:?}"))?;
        count += 1;
    }
    // The devices the data part seeded in this tenant.
    let devices: Vec<String> = broker
        .of_types(TENANT, &[ty::DEVICE_CORE])
        .await
        .map_err(|e| anyhow::anyhow!("demo devices: {e:?}"))?
        .iter()
        .map(|e| e.id.clone())
        .collect();
    let with = |part: &str| -> Vec<String> {
        devices
            .iter()
            .filter(|d| d.contains(part))
            .cloned()
            .collect()
    };
    let (air, bikes) = (with("-air-"), with("-bike-"));
    let mut entities = vec![
        json!({"id": AGENDA, "type": "Agenda", "name": prop("Digitale Agenda Paderborn 2030"),
            "description": prop("Beispiel-Agenda der Demo-Region Kreis Paderborn"),
            "centralDomains": rel(json!([dom("mobility"), dom("environment")])),
            "maturityModel": prop(leitstelle::maturity::MaturityModel::default().to_json()),
            "dataProvenance": prop(NOTE)}),
        json!({"id": "urn:ngsi-ld:Goal:pb-klima", "type": "Goal", "agenda": rel(AGENDA),
            "name": prop("Klimafreundliche Mobilität und saubere Luft")}),
        json!({"id": "urn:ngsi-ld:Goal:pb-verwaltung", "type": "Goal", "agenda": rel(AGENDA),
            "name": prop("Digitale Verwaltung für alle")}),
    ];
    let targets = [
        (
            "rad",
            "mobility",
            2,
            "Radverkehr um 25 % steigern",
            "urn:ngsi-ld:Goal:pb-klima",
        ),
        (
            "luft",
            "environment",
            2,
            "Feinstaubbelastung (PM10) senken",
            "urn:ngsi-ld:Goal:pb-klima",
        ),
        (
            "licht",
            "energy",
            3,
            "Straßenbeleuchtung zuverlässig und sparsam",
            "urn:ngsi-ld:Goal:pb-klima",
        ),
        (
            "ozg",
            "administration",
            1,
            "Verwaltungsleistungen online anbieten",
            "urn:ngsi-ld:Goal:pb-verwaltung",
        ),
    ];
    for (code, domain, stage, name, goal) in targets {
        entities.push(
            json!({"id": format!("urn:ngsi-ld:Target:pb-{code}"), "type": "Target",
            "goal": rel(goal), "domain": rel(dom(domain)), "stage": prop(stage), "name": prop(name),
            "targetDate": prop("2030-12-31"), "legalBasis": prop("Ratsbeschluss (Beispiel)")}),
        );
    }
    let project = |n: &str,
                   name: &str,
                   doms: &[&str],
                   trl: u8,
                   budget: f64,
                   deploys: &[String],
                   extra: Value| {
        let mut e = json!({"id": format!("urn:ngsi-ld:Project:pb-{n}"), "type": "Project",
            "name": prop(name), "agenda": rel(AGENDA),
            "domains": rel(json!(doms.iter().map(|d| dom(d)).collect::<Vec<_>>())),
            "trl": prop(trl), "budget": prop(budget), "ownFunds": prop(budget * 0.35),
            "startDate": date(days(-400)), "endDate": date(days(500)),
            "dataProvenance": prop(NOTE)});
        if !deploys.is_empty() {
            e["deploys"] = rel(json!(deploys));
        }
        if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            o.extend(x.clone());
        }
        e
    };
    entities.extend([
        project("rad", "Radverkehrszählung und Radnetzplanung", &["mobility", "environment"], 7, 120_000.0, &bikes,
            json!({"usesEntityTypes": prop(json!(["TrafficFlowObserved", "AirQualityObserved"])), "keywords": prop(json!(["radverkehr"])),
                "contributesTo": rel("urn:ngsi-ld:Target:pb-rad"), "operatingModel": prop("Betrieb durch das Straßen- und Brückenbauamt")})),
        project("luft", "Luftqualitäts-Messnetz", &["environment", "health"], 6, 90_000.0, &air,
            json!({"usesEntityTypes": prop(json!(["AirQualityObserved"])), "keywords": prop(json!(["luftqualität"])),
                "contributesTo": rel("urn:ngsi-ld:Target:pb-luft")})),
        project("licht", "Intelligente Straßenbeleuchtung", &["energy", "environment"], 8, 250_000.0, &[],
            json!({"usesEntityTypes": prop(json!(["Streetlight"])), "contributesTo": rel("urn:ngsi-ld:Target:pb-licht"),
                "operatingModel": prop("Contracting mit den Stadtwerken"), "climateImpact": prop("positive")})),
        project("laden", "Monitoring der Ladeinfrastruktur", &["mobility", "energy"], 5, 60_000.0, &[],
            json!({"usesEntityTypes": prop(json!(["EVChargingStation"]))})),
        project("parken", "Parkleitsystem Innenstadt", &["mobility"], 7, 180_000.0, &[],
            json!({"usesEntityTypes": prop(json!(["OffStreetParking"])), "operatingModel": prop("Betrieb durch die Parkhausgesellschaft")})),
        project("buergerbuero", "Digitales Bürgerbüro", &["administration"], 3, 75_000.0, &[],
            json!({"contributesTo": rel("urn:ngsi-ld:Target:pb-ozg")})),
    ]);
    entities.extend([
        json!({"id": "urn:ngsi-ld:FundingProgramme:pb-msc", "type": "FundingProgramme",
            "name": prop("Modellprojekte Smart Cities (Beispiel)"), "fundingRate": prop(0.65)}),
        json!({"id": "urn:ngsi-ld:Grant:pb-luft", "type": "Grant", "project": rel("urn:ngsi-ld:Project:pb-luft"),
            "programme": rel("urn:ngsi-ld:FundingProgramme:pb-msc"), "amount": prop(58_500),
            "startDate": date(days(-400)), "endDate": date(days(120))}),
        json!({"id": "urn:ngsi-ld:Grant:pb-rad", "type": "Grant", "project": rel("urn:ngsi-ld:Project:pb-rad"),
            "programme": rel("urn:ngsi-ld:FundingProgramme:pb-msc"), "amount": prop(78_000),
            "startDate": date(days(-400)), "endDate": date(days(400))}),
        json!({"id": "urn:ngsi-ld:SynergyAssessment:pb-1", "type": "SynergyAssessment", "agenda": rel(AGENDA),
            "fromDomain": rel(dom("mobility")), "toDomain": rel(dom("environment")), "score": prop(3),
            "source": prop("Workshop Leitstelle (Beispiel)")}),
        json!({"id": "urn:ngsi-ld:SynergyAssessment:pb-2", "type": "SynergyAssessment", "agenda": rel(AGENDA),
            "fromDomain": rel(dom("energy")), "toDomain": rel(dom("environment")), "score": prop(2),
            "source": prop("Workshop Leitstelle (Beispiel)")}),
        json!({"id": "urn:ngsi-ld:CitizenIdea:pb-1", "type": "CitizenIdea",
            "text": prop("Luftwerte an den Bushaltestellen anzeigen"),
            "domains": rel(json!([dom("mobility"), dom("environment")])), "votes": prop(87),
            "project": rel("urn:ngsi-ld:Project:pb-luft")}),
        json!({"id": "urn:ngsi-ld:CitizenIdea:pb-2", "type": "CitizenIdea",
            "text": prop("Sichere Fahrradabstellanlagen am Bahnhof"),
            "domains": rel(dom("mobility")), "votes": prop(54)}),
        json!({"id": "urn:ngsi-ld:CitizenIdea:pb-3", "type": "CitizenIdea",
            "text": prop("Termine im Bürgerbüro online buchen"),
            "domains": rel(dom("administration")), "votes": prop(41),
            "project": rel("urn:ngsi-ld:Project:pb-buergerbuero")}),
    ]);
    let milestones = [
        (
            "rad-1",
            "Zählstellen in Betrieb",
            "rad",
            days(-120),
            Some(days(-125)),
        ),
        (
            "luft-1",
            "Messnetz ausgeschrieben",
            "luft",
            days(-200),
            Some(days(-190)),
        ),
        (
            "luft-2",
            "Daten als Open Data veröffentlicht",
            "luft",
            days(-30),
            None,
        ),
        (
            "licht-1",
            "Umrüstung Innenstadt abgeschlossen",
            "licht",
            days(-10),
            None,
        ),
        (
            "laden-1",
            "Ladepunkte an die Plattform angebunden",
            "laden",
            days(21),
            None,
        ),
        (
            "buergerbuero-1",
            "Online-Terminbuchung freigeschaltet",
            "buergerbuero",
            days(75),
            None,
        ),
    ];
    for (id, name, p, planned, actual) in milestones {
        let mut m = json!({"id": format!("urn:ngsi-ld:Milestone:pb-{id}"), "type": "Milestone",
            "name": prop(name), "project": rel(format!("urn:ngsi-ld:Project:pb-{p}")),
            "agenda": rel(AGENDA), "plannedDate": date(planned)});
        if let Some(a) = actual {
            m["actualDate"] = date(a);
        }
        entities.push(m);
    }
    let kpi = |n: &str, name: &str, domain: &str, unit: &str, extra: Value| {
        let mut e = json!({"id": format!("urn:ngsi-ld:KeyPerformanceIndicator:pb-{n}"),
            "type": "KeyPerformanceIndicator", "name": prop(name), "agenda": rel(AGENDA),
            "domain": rel(dom(domain)), "unit": prop(unit), "calculationFrequency": prop("P1D"),
            "targetDate": prop("2030-12-31"), "dataProvenance": prop(NOTE)});
        if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            o.extend(x.clone());
        }
        e
    };
    entities.extend([
        kpi("rad", "Radverkehr: Fahrten je Zählstelle und Tag", "mobility", "Fahrten/Tag", json!({
            "direction": prop("increase"),
            "query": prop(json!({"measure": "avg", "type": "TrafficFlowObserved", "attribute": "intensity",
                "period": "P7D", "expectedInterval": "P1D"}))})),
        kpi("pm10", "Feinstaub PM10 im Tagesmittel", "environment", "µg/m³", json!({
            "direction": prop("decrease"), "baseline": prop(25.0), "startDate": prop("2025-01-01"),
            "targetValue": prop(15.0),
            "query": prop(json!({"measure": "avg", "type": "AirQualityObserved", "attribute": "pm10", "period": "P1D"}))})),
        kpi("licht", "Anteil funktionierender Straßenleuchten", "energy", "Anteil", json!({
            "direction": prop("increase"), "baseline": prop(0.7), "startDate": prop("2025-01-01"),
            "targetValue": prop(0.98),
            "query": prop(json!({"measure": "ratio",
                "numerator": {"measure": "count", "type": "Streetlight", "q": "status==\"ok\""},
                "denominator": {"measure": "count", "type": "Streetlight"}}))})),
        kpi("laden", "Anteil betriebsbereiter Ladestationen", "mobility", "Anteil", json!({
            "direction": prop("increase"), "baseline": prop(0.6), "startDate": prop("2025-01-01"),
            "targetValue": prop(0.95),
            "query": prop(json!({"measure": "ratio",
                "numerator": {"measure": "count", "type": "EVChargingStation", "q": "status==\"working\""},
                "denominator": {"measure": "count", "type": "EVChargingStation"}}))})),
        kpi("ozg", "Online verfügbare Verwaltungsleistungen", "administration", "Leistungen", json!({
            "direction": prop("increase"), "baseline": prop(120), "startDate": prop("2024-01-01"),
            "targetValue": prop(400), "calculationMethod": prop("manual")})),
    ]);
    for e in &entities {
        broker
            .create(&s, e)
            .await
            .map_err(|err| anyhow::anyhow!("demo agenda entity {}: {err:?}", e["id"]))?;
        count += 1;
    }
    // The bicycle baseline is the indicator's own value over the first week of the series;
    // three weekly values before today give the trend its history.
    let rad = "urn:ngsi-ld:KeyPerformanceIndicator:pb-rad";
    let first = now - Duration::days(21);
    let out = leitstelle
        .compute(TENANT, rad, first)
        .await
        .map_err(|e| anyhow::anyhow!("demo indicator: {e:?}"))?;
    if let Some(b) = out["kpiValue"].as_f64() {
        let frag = json!({"baseline": prop(b.round()), "targetValue": prop((b * 1.25).round()),
            "startDate": date(first.date_naive())});
        broker
            .merge(&s, rad, &frag)
            .await
            .map_err(|e| anyhow::anyhow!("demo indicator baseline: {e:?}"))?;
    }
    for back in [14, 7, 0] {
        leitstelle
            .compute(TENANT, rad, now - Duration::days(back))
            .await
            .map_err(|e| anyhow::anyhow!("demo indicator: {e:?}"))?;
    }
    leitstelle
        .enter(
            TENANT,
            "urn:ngsi-ld:KeyPerformanceIndicator:pb-ozg",
            168.0,
            "OZG-Umsetzungsstand laut Landesportal (Beispielwert)",
            now - Duration::days(30),
        )
        .await
        .map_err(|e| anyhow::anyhow!("demo manual indicator: {e:?}"))?;
    leitstelle
        .compute_agenda(TENANT, AGENDA, now)
        .await
        .map_err(|e| anyhow::anyhow!("demo indicators: {e:?}"))?;
    // The last quarter's report, stored and published, so the open data catalogue lists it.
    let snap = leitstelle
        .report_snapshot(TENANT, AGENDA, days(-90), today)
        .await
        .map_err(|e| anyhow::anyhow!("demo report: {e:?}"))?;
    let report = leitstelle
        .store_report(TENANT, &snap)
        .await
        .map_err(|e| anyhow::anyhow!("demo report: {e:?}"))?;
    leitstelle
        .publish(TENANT, &report.id, None, now)
        .await
        .map_err(|e| anyhow::anyhow!("demo report publication: {e:?}"))?;
    Ok(count + 1)
}

/// What the open data catalogue says about the demo region unless configured: Kreis
/// Paderborn's district key and the city of Paderborn as the agenda's publisher.
pub fn opendata_defaults(s: &mut opendata::Settings) {
    s.district_key.get_or_insert_with(|| "05774".into());
    let t = s.tenants.entry(TENANT.into()).or_default();
    t.publisher
        .get_or_insert_with(|| "Stadt Paderborn (Demo)".into());
    t.municipality_key.get_or_insert_with(|| "05774032".into());
}
