//! Open data: the DCAT-AP.de 3.0 catalogue of what an installation publishes, the document
//! GovData and other portals harvest. One catalogue covers every tenant; today it lists the
//! published progress reports ([`leitstelle::publish`]), one `dcat:Dataset` each with an
//! HTML and a PDF `dcat:Distribution` served under [`REPORTS_PATH`].
//!
//! The catalogue is built from the published reports and the [`Settings`] alone: nothing
//! else of a tenant can reach it. Pure functions; the RDF is written by [`rdf`] (Turtle and
//! JSON-LD), no RDF library.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod rdf;
mod settings;

use std::collections::BTreeSet;

use leitstelle::run::StoredReport;

use crate::rdf::{Graph, Node, Term, de, iri, plain, typed};
pub use crate::settings::{Settings, TenantSettings};

/// Where the catalogue is served.
pub const CATALOG_PATH: &str = "/opendata/v1/catalog";
/// Where published reports are served.
pub const REPORTS_PATH: &str = "/opendata/v1/reports";

const EU: &str = "http://publications.europa.eu/resource/authority";
const GEOCODING: &str = "http://dcat-ap.de/def/politicalGeocoding";
const IANA: &str = "https://www.iana.org/assignments/media-types";

/// `s` as one URL path segment: everything but unreserved characters, `:` and `@`
/// percent-encoded (a tenant's `/` among them).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The path of report `id` of `tenant` with extension `ext` (`html`, `pdf`; empty: the
/// dataset's own IRI). The default tenant has no tenant segment.
pub fn report_path(tenant: &str, id: &str, ext: &str) -> String {
    let mut p = format!("{REPORTS_PATH}/");
    if !tenant.is_empty() {
        p.push_str(&segment(tenant));
        p.push('/');
    }
    p.push_str(&segment(id));
    if !ext.is_empty() {
        p.push('.');
        p.push_str(ext);
    }
    p
}

fn german(d: chrono::NaiveDate) -> String {
    d.format("%d.%m.%Y").to_string()
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The catalogue of the published reports (`(tenant, report)`; unpublished ones are left
/// out) on the installation reachable at `base`.
pub fn catalog(s: &Settings, base: &str, reports: &[(String, StoredReport)]) -> Graph {
    let base = base.trim_end_matches('/');
    let cat_iri = format!("{base}{CATALOG_PATH}");
    let homepage = s.homepage.clone().unwrap_or_else(|| format!("{base}/"));
    let published: Vec<(&str, &StoredReport, &leitstelle::publish::Publication)> = reports
        .iter()
        .filter_map(|(t, r)| Some((t.as_str(), r, r.publication.as_ref()?)))
        .collect();
    let district = s
        .district_key
        .as_ref()
        .map(|k| format!("{GEOCODING}/districtKey/{k}"));

    let mut cat = Node::named(&cat_iri, "dcat:Catalog");
    cat.add("dct:title", de(&s.title))
        .add("dct:description", de(&s.description))
        .add("dct:publisher", iri(format!("{cat_iri}#publisher")))
        .add("dct:language", iri(format!("{EU}/language/DEU")))
        .add("foaf:homepage", iri(&homepage))
        .add("dcat:themeTaxonomy", iri(format!("{EU}/data-theme")));
    if let Some(latest) = published.iter().map(|(_, _, p)| p).max_by_key(|p| p.at) {
        cat.add("dct:modified", typed(latest.at_text(), "xsd:dateTime"));
    }
    if let Some(d) = &district {
        cat.add("dct:spatial", iri(d));
    }
    for (t, r, _) in &published {
        cat.add(
            "dcat:dataset",
            iri(format!("{base}{}", report_path(t, &r.id, ""))),
        );
    }
    let mut g = Graph { nodes: vec![cat] };
    let mut operator = Node::named(format!("{cat_iri}#publisher"), "foaf:Organization");
    operator.add("foaf:name", de(&s.publisher));
    g.nodes.push(operator);

    let mut places: BTreeSet<String> = district.iter().cloned().collect();
    let tenants: BTreeSet<&str> = published.iter().map(|(t, _, _)| *t).collect();
    for t in &tenants {
        let suffix = if t.is_empty() {
            String::new()
        } else {
            format!("-{}", segment(t))
        };
        if !t.is_empty() {
            // A municipality; the default tenant's reports are the operator's.
            let mut org = Node::named(format!("{cat_iri}#publisher{suffix}"), "foaf:Organization");
            org.add("foaf:name", de(s.publisher_of(t))).add(
                "dct:type",
                iri("http://purl.org/adms/publishertype/LocalAuthority"),
            );
            g.nodes.push(org);
        }
        let mut contact = Node::named(format!("{cat_iri}#contact{suffix}"), "vcard:Organization");
        contact.add("vcard:fn", plain(s.publisher_of(t)));
        let mail = s
            .tenants
            .get(*t)
            .and_then(|x| x.contact_email.as_ref())
            .or(s.contact_email.as_ref());
        if let Some(m) = mail {
            contact.add("vcard:hasEmail", iri(format!("mailto:{m}")));
        }
        contact.add("vcard:hasURL", iri(&homepage));
        g.nodes.push(contact);
    }

    for (t, r, p) in &published {
        let suffix = if t.is_empty() {
            String::new()
        } else {
            format!("-{}", segment(t))
        };
        let id = format!("{base}{}", report_path(t, &r.id, ""));
        let snap = &r.snapshot;
        let mut d = Node::named(&id, "dcat:Dataset");
        d.add(
            "dct:title",
            de(format!(
                "Fortschrittsbericht {} ({})",
                snap.agenda_name, r.version
            )),
        )
        .add(
            "dct:description",
            de(format!(
                "Fortschrittsbericht zur Digitalen Agenda „{}“, Version {}, für den Zeitraum \
                 vom {} bis {}: {} mit Zielwerten und Verlauf, {}, {}{}.",
                snap.agenda_name,
                r.version,
                german(snap.from),
                german(snap.to),
                count(snap.indicators.len(), "Indikator", "Indikatoren"),
                count(snap.milestones.len(), "Meilenstein", "Meilensteine"),
                count(snap.projects.len(), "Projekt", "Projekte"),
                if r.version > 1 {
                    " und die Veränderungen seit dem vorigen Bericht"
                } else {
                    ""
                },
            )),
        )
        .add("dct:identifier", plain(&id))
        .add("dct:publisher", iri(format!("{cat_iri}#publisher{suffix}")))
        .add(
            "dcat:contactPoint",
            iri(format!("{cat_iri}#contact{suffix}")),
        );
        for k in [
            "Fortschrittsbericht",
            "Digitale Agenda",
            "Smart City",
            "Indikatoren",
        ] {
            d.add("dcat:keyword", de(k));
        }
        let mut period = Node::blank("dct:PeriodOfTime");
        period
            .add("dcat:startDate", typed(snap.from.to_string(), "xsd:date"))
            .add("dcat:endDate", typed(snap.to.to_string(), "xsd:date"));
        d.add("dcat:theme", iri(format!("{EU}/data-theme/GOVE")))
            .add("dct:language", iri(format!("{EU}/language/DEU")))
            .add("dct:accessRights", iri(format!("{EU}/access-right/PUBLIC")))
            .add("dct:temporal", Term::Blank(period))
            .add("dct:issued", typed(p.at_text(), "xsd:dateTime"));
        let municipality = s.tenants.get(*t).and_then(|x| x.municipality_key.as_ref());
        let place = match (municipality, &district) {
            (Some(k), _) => Some((format!("{GEOCODING}/municipalityKey/{k}"), "municipality")),
            (None, Some(d)) => Some((d.clone(), "administrativeDistrict")),
            (None, None) => None,
        };
        if let Some((where_, level)) = place {
            d.add("dct:spatial", iri(&where_)).add(
                "dcatde:politicalGeocodingLevelURI",
                iri(format!("{GEOCODING}/Level/{level}")),
            );
            places.insert(where_);
        }
        let file = |ext: &str| format!("{base}{}", report_path(t, &r.id, ext));
        d.add("dcat:landingPage", iri(file("html")))
            .add("dcat:distribution", iri(format!("{id}#html")))
            .add("dcat:distribution", iri(format!("{id}#pdf")));
        g.nodes.push(d);
        for (ext, title, format, media) in [
            ("html", "als HTML-Seite", "HTML", "text/html"),
            ("pdf", "als PDF-Dokument", "PDF", "application/pdf"),
        ] {
            let mut x = Node::named(format!("{id}#{ext}"), "dcat:Distribution");
            x.add(
                "dct:title",
                de(format!("Fortschrittsbericht {} {title}", r.version)),
            )
            .add("dcat:accessURL", iri(file(ext)))
            .add("dcat:downloadURL", iri(file(ext)))
            .add("dct:format", iri(format!("{EU}/file-type/{format}")))
            .add("dcat:mediaType", iri(format!("{IANA}/{media}")))
            .add("dct:license", iri(&p.license))
            .add(
                "dcatde:licenseAttributionByText",
                plain(format!(
                    "{}, Fortschrittsbericht {} ({})",
                    s.publisher_of(t),
                    snap.agenda_name,
                    r.version
                )),
            )
            .add(
                "adms:status",
                iri(format!("{EU}/distribution-status/COMPLETED")),
            )
            .add("dct:language", iri(format!("{EU}/language/DEU")))
            .add("dct:issued", typed(p.at_text(), "xsd:dateTime"));
            g.nodes.push(x);
        }
    }
    for place in places {
        g.nodes.push(Node::named(place, "dct:Location"));
    }
    g
}

#[cfg(test)]
mod tests;
