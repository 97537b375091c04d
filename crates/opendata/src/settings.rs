//! The catalogue's own metadata and how tenants appear in it, checked before use.

use std::collections::BTreeMap;

/// Catalogue metadata (the server's `[opendata]` configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The catalogue's title (German).
    pub title: String,
    /// What the catalogue holds (German).
    pub description: String,
    /// Who runs the catalogue: the platform's operator.
    pub publisher: String,
    /// A functional mailbox for questions about the data (not a person's address).
    pub contact_email: Option<String>,
    /// The catalogue's homepage; default the public base URL.
    pub homepage: Option<String>,
    /// The region's district key (Kreisschlüssel, 5 digits), the catalogue's `dct:spatial`
    /// and that of datasets whose tenant has no municipality key.
    pub district_key: Option<String>,
    /// Per tenant (municipality): how its datasets name their publisher and place.
    pub tenants: BTreeMap<String, TenantSettings>,
}

/// How one tenant appears in the catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettings {
    /// The municipality's name as publisher (default: the tenant name).
    pub publisher: Option<String>,
    /// Its official municipality key (Gemeindeschlüssel, 8 digits).
    pub municipality_key: Option<String>,
    /// Its contact mailbox (default: the catalogue's).
    pub contact_email: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            title: "Offene Daten der Plattform Quartier".into(),
            description: "Veröffentlichte Fortschrittsberichte der Digitalen Agenden, die mit \
                          der urbanen Datenplattform Quartier gesteuert werden."
                .into(),
            publisher: "Betreiber der Plattform Quartier".into(),
            contact_email: None,
            homepage: None,
            district_key: None,
            tenants: BTreeMap::new(),
        }
    }
}

fn digits(what: &str, s: &str, n: usize) -> Result<(), String> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("{what} must be {n} digits, not '{s}'"))
    }
}

fn email(what: &str, s: &str) -> Result<(), String> {
    let ok = s
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.') && !host.contains('@'))
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!("{what} must be an e-mail address, not '{s}'"))
    }
}

impl Settings {
    /// Checks what the catalogue would otherwise carry wrongly.
    pub fn check(&self) -> Result<(), String> {
        for (what, s) in [
            ("title", &self.title),
            ("description", &self.description),
            ("publisher", &self.publisher),
        ] {
            if s.trim().is_empty() {
                return Err(format!("{what} must not be empty"));
            }
        }
        if let Some(h) = &self.homepage {
            let ok = (h.starts_with("http://") || h.starts_with("https://"))
                && !h.chars().any(|c| c.is_whitespace() || c.is_control());
            if !ok {
                return Err(format!("homepage must be an http(s) URL, not '{h}'"));
            }
        }
        if let Some(e) = &self.contact_email {
            email("contact-email", e)?;
        }
        if let Some(k) = &self.district_key {
            digits("district-key", k, 5)?;
        }
        for (name, t) in &self.tenants {
            if let Some(k) = &t.municipality_key {
                digits(&format!("tenant {name}: municipality-key"), k, 8)?;
            }
            if let Some(e) = &t.contact_email {
                email(&format!("tenant {name}: contact-email"), e)?;
            }
            if t.publisher.as_deref().is_some_and(|p| p.trim().is_empty()) {
                return Err(format!("tenant {name}: publisher must not be empty"));
            }
        }
        Ok(())
    }

    pub(crate) fn publisher_of(&self, tenant: &str) -> String {
        match self.tenants.get(tenant).and_then(|t| t.publisher.clone()) {
            Some(p) => p,
            None if tenant.is_empty() => self.publisher.clone(),
            None => tenant.to_owned(),
        }
    }
}
