//! The entity model as the broker holds it: names expanded to IRIs, one typed attribute
//! per (name, datasetId), system timestamps.
//!
//! These types are serialised for storage only (serde derive); the wire forms are produced
//! by [`crate::render`] and read by [`crate::parse`].

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A point in time as the broker records it.
pub type Timestamp = DateTime<Utc>;

/// Expanded IRIs of the NGSI-LD core vocabulary that the broker treats specially.
pub mod iri {
    /// Prefix of every NGSI-LD core term.
    pub const NGSI_LD: &str = "https://uri.etsi.org/ngsi-ld/";
    /// `location`.
    pub const LOCATION: &str = "https://uri.etsi.org/ngsi-ld/location";
    /// `observationSpace`.
    pub const OBSERVATION_SPACE: &str = "https://uri.etsi.org/ngsi-ld/observationSpace";
    /// `operationSpace`.
    pub const OPERATION_SPACE: &str = "https://uri.etsi.org/ngsi-ld/operationSpace";
}

/// One NGSI-LD entity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The entity id (a URI).
    pub id: String,
    /// Expanded entity types, in the order given; never empty.
    pub types: Vec<String>,
    /// Scopes (`/a/b`), empty when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// When the entity was created.
    #[serde(with = "stored_time")]
    pub created_at: Timestamp,
    /// When the entity last changed.
    #[serde(with = "stored_time")]
    pub modified_at: Timestamp,
    /// Attributes by expanded name; each name holds its instances, at most one per datasetId.
    #[serde(default)]
    pub attrs: Attrs,
}

/// The kinds of attribute NGSI-LD knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttrKind {
    /// `Property` with `value`.
    Property,
    /// `Relationship` with `object`.
    Relationship,
    /// `GeoProperty` with a GeoJSON `value`.
    GeoProperty,
    /// `LanguageProperty` with `languageMap`.
    LanguageProperty,
    /// `VocabProperty` with `vocab` (expanded IRIs).
    VocabProperty,
    /// `JsonProperty` with `json` (kept verbatim).
    JsonProperty,
    /// `ListProperty` with `valueList`.
    ListProperty,
    /// `ListRelationship` with `objectList`.
    ListRelationship,
}

impl AttrKind {
    /// The term used in the `type` member.
    pub fn type_name(self) -> &'static str {
        match self {
            Self::Property => "Property",
            Self::Relationship => "Relationship",
            Self::GeoProperty => "GeoProperty",
            Self::LanguageProperty => "LanguageProperty",
            Self::VocabProperty => "VocabProperty",
            Self::JsonProperty => "JsonProperty",
            Self::ListProperty => "ListProperty",
            Self::ListRelationship => "ListRelationship",
        }
    }

    /// Parses the `type` member of an attribute.
    pub fn from_type_name(s: &str) -> Option<Self> {
        Some(match s {
            "Property" | "https://uri.etsi.org/ngsi-ld/Property" => Self::Property,
            "Relationship" | "https://uri.etsi.org/ngsi-ld/Relationship" => Self::Relationship,
            "GeoProperty" | "https://uri.etsi.org/ngsi-ld/GeoProperty" => Self::GeoProperty,
            "LanguageProperty" | "https://uri.etsi.org/ngsi-ld/LanguageProperty" => {
                Self::LanguageProperty
            }
            "VocabProperty" | "https://uri.etsi.org/ngsi-ld/VocabProperty" => Self::VocabProperty,
            "JsonProperty" | "https://uri.etsi.org/ngsi-ld/JsonProperty" => Self::JsonProperty,
            "ListProperty" | "https://uri.etsi.org/ngsi-ld/ListProperty" => Self::ListProperty,
            "ListRelationship" | "https://uri.etsi.org/ngsi-ld/ListRelationship" => {
                Self::ListRelationship
            }
            _ => return None,
        })
    }

    /// The member that carries the attribute's value in the normalized form.
    pub fn value_member(self) -> &'static str {
        match self {
            Self::Property | Self::GeoProperty => "value",
            Self::Relationship => "object",
            Self::LanguageProperty => "languageMap",
            Self::VocabProperty => "vocab",
            Self::JsonProperty => "json",
            Self::ListProperty => "valueList",
            Self::ListRelationship => "objectList",
        }
    }

    /// Which kind a concise-form object with this value member has.
    pub fn from_value_member(member: &str) -> Option<Self> {
        Some(match member {
            "object" => Self::Relationship,
            "languageMap" => Self::LanguageProperty,
            "vocab" => Self::VocabProperty,
            "json" => Self::JsonProperty,
            "valueList" => Self::ListProperty,
            "objectList" => Self::ListRelationship,
            "value" => Self::Property,
            _ => return None,
        })
    }
}

/// An attribute name (an expanded IRI). Shared: the store interns the names of resident
/// entities, so a million entities with `temperature` keep one copy of it.
pub type Name = Arc<str>;

/// One attribute instance (or sub-attribute).
///
/// The members most instances have sit inline; the rarely used ones (datasetId,
/// observedAt, unitCode, objectType, sub-attributes) sit behind one box that a plain
/// instance does not allocate. Read them with the accessors, write them through
/// [`Attribute::meta_mut`].
#[derive(Debug, Clone, Deserialize)]
#[serde(from = "StoredAttr")]
pub struct Attribute {
    /// Its kind.
    pub kind: AttrKind,
    /// The value member's content (see [`AttrKind::value_member`]).
    pub value: Value,
    /// When this instance was created.
    pub created_at: Timestamp,
    /// When this instance last changed.
    pub modified_at: Timestamp,
    meta: Option<Box<AttrMeta>>,
}

/// The rarely used members of an attribute instance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AttrMeta {
    /// The instance's datasetId; `None` is the default instance.
    pub dataset_id: Option<Box<str>>,
    /// `observedAt`, as the client wrote it (validated as a DateTime).
    pub observed_at: Option<Box<str>>,
    /// `unitCode` (Properties only).
    pub unit_code: Option<Box<str>>,
    /// `objectType` of a Relationship (expanded), if given.
    pub object_type: Option<Box<Value>>,
    /// Sub-attributes by expanded name.
    pub sub: BTreeMap<String, Attribute>,
}

impl AttrMeta {
    /// Whether none of the rare members is set.
    pub fn is_empty(&self) -> bool {
        self == &NO_META
    }
}

/// What an instance without the box has.
static NO_META: AttrMeta = AttrMeta {
    dataset_id: None,
    observed_at: None,
    unit_code: None,
    object_type: None,
    sub: BTreeMap::new(),
};

impl PartialEq for Attribute {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.value == other.value
            && self.created_at == other.created_at
            && self.modified_at == other.modified_at
            && self.meta() == other.meta()
    }
}

/// The stored form of an attribute instance (the storage documents keep the flat member
/// list they always had).
#[derive(Serialize)]
struct StoredAttrRef<'a> {
    kind: AttrKind,
    value: &'a Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    observed_at: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object_type: Option<&'a Value>,
    #[serde(with = "stored_time")]
    created_at: Timestamp,
    #[serde(with = "stored_time")]
    modified_at: Timestamp,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    sub: &'a BTreeMap<String, Attribute>,
}

#[derive(Deserialize)]
struct StoredAttr {
    kind: AttrKind,
    value: Value,
    #[serde(default)]
    dataset_id: Option<Box<str>>,
    #[serde(default)]
    observed_at: Option<Box<str>>,
    #[serde(default)]
    unit_code: Option<Box<str>>,
    #[serde(default)]
    object_type: Option<Box<Value>>,
    #[serde(with = "stored_time")]
    created_at: Timestamp,
    #[serde(with = "stored_time")]
    modified_at: Timestamp,
    #[serde(default)]
    sub: BTreeMap<String, Attribute>,
}

impl From<StoredAttr> for Attribute {
    fn from(s: StoredAttr) -> Self {
        let meta = AttrMeta {
            dataset_id: s.dataset_id,
            observed_at: s.observed_at,
            unit_code: s.unit_code,
            object_type: s.object_type,
            sub: s.sub,
        };
        Self {
            kind: s.kind,
            value: s.value,
            created_at: s.created_at,
            modified_at: s.modified_at,
            meta: (!meta.is_empty()).then(|| Box::new(meta)),
        }
    }
}

impl Serialize for Attribute {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.meta();
        StoredAttrRef {
            kind: self.kind,
            value: &self.value,
            dataset_id: m.dataset_id.as_deref(),
            observed_at: m.observed_at.as_deref(),
            unit_code: m.unit_code.as_deref(),
            object_type: m.object_type.as_deref(),
            created_at: self.created_at,
            modified_at: self.modified_at,
            sub: &m.sub,
        }
        .serialize(s)
    }
}

/// System timestamps in stored documents: nanoseconds since the epoch. An integer writes
/// and reads several times faster than RFC 3339 text (a write serialises about twenty of
/// them per entity of ten attributes, start-up parses all of them) and is shorter. Both
/// forms are read, so documents written as text read as they always did; a time outside
/// the years 1677–2262 is still written as text.
mod stored_time {
    use chrono::DateTime;
    use serde::{Deserializer, Serialize, Serializer, de};

    use super::Timestamp;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        match t.timestamp_nanos_opt() {
            Some(n) => s.serialize_i64(n),
            None => t.serialize(s),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        struct Visit;
        impl de::Visitor<'_> for Visit {
            type Value = Timestamp;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("nanoseconds since the epoch or an RFC 3339 time")
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Timestamp, E> {
                Ok(DateTime::from_timestamp_nanos(n))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Timestamp, E> {
                i64::try_from(n)
                    .map(DateTime::from_timestamp_nanos)
                    .map_err(|_| E::custom("timestamp out of range"))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Timestamp, E> {
                s.parse().map_err(E::custom)
            }
        }
        d.deserialize_any(Visit)
    }
}

/// Gives back the spare capacity of a JSON value's arrays, all the way down (serde_json's
/// maps cannot shrink).
fn shrink_value(v: &mut Value) {
    match v {
        Value::Array(a) => {
            a.shrink_to_fit();
            a.iter_mut().for_each(shrink_value);
        }
        Value::Object(m) => m.values_mut().for_each(shrink_value),
        _ => {}
    }
}

impl Attribute {
    /// See [`Entity::shrink_to_fit`]; sub-attributes included, and an empty box of rare
    /// members dropped.
    pub fn shrink_to_fit(&mut self) {
        shrink_value(&mut self.value);
        if let Some(m) = &mut self.meta {
            if m.is_empty() {
                self.meta = None;
            } else {
                m.sub.values_mut().for_each(Attribute::shrink_to_fit);
            }
        }
    }

    /// A plain attribute of `kind` holding `value`, created and modified at `now`, with no
    /// datasetId, observation time, unit, object type or sub-attributes.
    pub fn new(kind: AttrKind, value: Value, now: Timestamp) -> Self {
        Self {
            kind,
            value,
            created_at: now,
            modified_at: now,
            meta: None,
        }
    }

    /// The rarely used members (all empty for a plain instance).
    pub fn meta(&self) -> &AttrMeta {
        self.meta.as_deref().unwrap_or(&NO_META)
    }

    /// Takes the rarely used members out, leaving a plain instance.
    pub fn take_meta(&mut self) -> AttrMeta {
        self.meta.take().map(|b| *b).unwrap_or_default()
    }

    /// The rarely used members, to change them.
    pub fn meta_mut(&mut self) -> &mut AttrMeta {
        self.meta.get_or_insert_with(Box::default)
    }

    /// The instance's datasetId; `None` is the default instance.
    pub fn dataset_id(&self) -> Option<&str> {
        self.meta().dataset_id.as_deref()
    }

    /// `observedAt`, as the client wrote it.
    pub fn observed_at(&self) -> Option<&str> {
        self.meta().observed_at.as_deref()
    }

    /// `unitCode`.
    pub fn unit_code(&self) -> Option<&str> {
        self.meta().unit_code.as_deref()
    }

    /// `objectType` of a Relationship (expanded).
    pub fn object_type(&self) -> Option<&Value> {
        self.meta().object_type.as_deref()
    }

    /// Sub-attributes by expanded name.
    pub fn sub(&self) -> &BTreeMap<String, Attribute> {
        &self.meta().sub
    }

    /// This instance with `dataset_id` as its datasetId.
    pub fn with_dataset_id(mut self, dataset_id: Option<&str>) -> Self {
        if dataset_id.is_some() || self.dataset_id().is_some() {
            self.meta_mut().dataset_id = dataset_id.map(Box::from);
        }
        self
    }
}

/// The attributes of an entity: instances by expanded name, sorted by name, at most one
/// instance per datasetId under each name.
///
/// A sorted list rather than a tree map: an entity has a handful of attributes, and a
/// million resident entities each paid a half-empty B-tree leaf (about 540 bytes) for a
/// map. Lookups are a binary search over the names.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attrs(Vec<(Name, Vec<Attribute>)>);

impl Attrs {
    /// No attributes.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| (**n).cmp(name))
    }

    /// The instances of `name`.
    pub fn get(&self, name: &str) -> Option<&Vec<Attribute>> {
        self.find(name).ok().map(|i| &self.0[i].1)
    }

    /// The instances of `name`, to change them.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Vec<Attribute>> {
        self.find(name).ok().map(|i| &mut self.0[i].1)
    }

    /// Whether the entity has an attribute `name`.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Sets the instances of `name`, giving back the ones it had.
    pub fn insert(
        &mut self,
        name: impl Into<Name>,
        instances: Vec<Attribute>,
    ) -> Option<Vec<Attribute>> {
        let name = name.into();
        match self.find(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.0[i].1, instances)),
            Err(i) => {
                self.0.insert(i, (name, instances));
                None
            }
        }
    }

    /// The instances of `name`, an empty list added first if it has none.
    pub fn slot(&mut self, name: &str) -> &mut Vec<Attribute> {
        let i = match self.find(name) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (Name::from(name), Vec::new()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Removes `name`, giving back its instances.
    pub fn remove(&mut self, name: &str) -> Option<Vec<Attribute>> {
        self.find(name).ok().map(|i| self.0.remove(i).1)
    }

    /// Keeps the attributes for which `keep` says yes.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut Vec<Attribute>) -> bool) {
        self.0.retain_mut(|(n, v)| keep(n, v));
    }

    /// The attributes in name order.
    pub fn iter(&self) -> AttrsIter<'_> {
        self.0.iter().map(|(n, v)| (n, v))
    }

    /// The names in order.
    pub fn keys(&self) -> impl Iterator<Item = &Name> {
        self.0.iter().map(|(n, _)| n)
    }

    /// The instance lists in name order.
    pub fn values(&self) -> impl Iterator<Item = &Vec<Attribute>> {
        self.0.iter().map(|(_, v)| v)
    }

    /// The instance lists in name order, to change them.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Vec<Attribute>> {
        self.0.iter_mut().map(|(_, v)| v)
    }

    /// How many attribute names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every name by the one `intern` gives for it (the same text, shared).
    pub fn intern(&mut self, mut intern: impl FnMut(&Name) -> Name) {
        for (n, _) in &mut self.0 {
            *n = intern(n);
        }
    }
}

/// Iterator over `&Attrs`.
pub type AttrsIter<'a> = std::iter::Map<
    std::slice::Iter<'a, (Name, Vec<Attribute>)>,
    fn(&'a (Name, Vec<Attribute>)) -> (&'a Name, &'a Vec<Attribute>),
>;

impl<'a> IntoIterator for &'a Attrs {
    type Item = (&'a Name, &'a Vec<Attribute>);
    type IntoIter = AttrsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for Attrs {
    type Item = (Name, Vec<Attribute>);
    type IntoIter = std::vec::IntoIter<(Name, Vec<Attribute>)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<K: Into<Name>> FromIterator<(K, Vec<Attribute>)> for Attrs {
    fn from_iter<I: IntoIterator<Item = (K, Vec<Attribute>)>>(iter: I) -> Self {
        let mut out = Self::new();
        for (k, v) in iter {
            out.insert(k, v);
        }
        out
    }
}

impl Serialize for Attrs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(n, v)| (&**n, v)))
    }
}

/// A map key read straight into a [`Name`] (one allocation, where a `String` or a `Cow`
/// would take two).
struct NameKey(Name);

impl<'de> Deserialize<'de> for NameKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = NameKey;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an attribute name")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<NameKey, E> {
                Ok(NameKey(Name::from(s)))
            }
        }
        d.deserialize_str(Visit)
    }
}

impl<'de> Deserialize<'de> for Attrs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Attrs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of attribute instances")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Attrs, A::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(0));
                while let Some((NameKey(k), v)) = m.next_entry::<NameKey, Vec<Attribute>>()? {
                    out.push((k, v));
                }
                // Stored maps are written in order; anything else is sorted (last one wins).
                if !out.is_sorted_by(|a, b| a.0 < b.0) {
                    return Ok(out.into_iter().collect());
                }
                Ok(Attrs(out))
            }
        }
        d.deserialize_map(Visit)
    }
}

impl Entity {
    /// Gives back spare capacity: an entity is kept in memory for as long as it exists, and
    /// a deserialized list of one attribute instance has room for four.
    pub fn shrink_to_fit(&mut self) {
        self.types.shrink_to_fit();
        self.scopes.shrink_to_fit();
        for instances in self.attrs.values_mut() {
            instances.shrink_to_fit();
            instances.iter_mut().for_each(Attribute::shrink_to_fit);
        }
    }

    /// The default instance (no datasetId) of an attribute, else its first instance.
    pub fn attr(&self, name: &str) -> Option<&Attribute> {
        let instances = self.attrs.get(name)?;
        instances
            .iter()
            .find(|a| a.dataset_id().is_none())
            .or_else(|| instances.first())
    }

    /// Whether the entity has `ty` among its types.
    pub fn has_type(&self, ty: &str) -> bool {
        self.types.iter().any(|t| t == ty)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An entity document as the store has always written it: flat attribute members, the
    /// attribute map in name order.
    const STORED: &str = r#"{"id":"urn:ngsi-ld:Car:1","types":["https://example.org/Car"],
        "created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-02T00:00:00Z",
        "attrs":{
          "https://example.org/speed":[
            {"kind":"Property","value":80,"created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-02T00:00:00Z"},
            {"kind":"Property","value":81,"dataset_id":"urn:ds:gps","observed_at":"2026-01-02T00:00:00Z",
             "unit_code":"KMH","created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-02T00:00:00Z",
             "sub":{"https://example.org/accuracy":{"kind":"Property","value":2,
               "created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-02T00:00:00Z"}}}
          ],
          "https://example.org/owner":[
            {"kind":"Relationship","value":"urn:ngsi-ld:Person:1","object_type":"https://example.org/Person",
             "created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-01T00:00:00Z"}
          ]}}"#;

    #[test]
    fn stored_documents_read_and_write_back() {
        let e: Entity = serde_json::from_str(STORED).unwrap();
        let speed = &e.attrs.get("https://example.org/speed").unwrap();
        assert_eq!(speed[0].dataset_id(), None);
        assert_eq!(speed[1].dataset_id(), Some("urn:ds:gps"));
        assert_eq!(speed[1].observed_at(), Some("2026-01-02T00:00:00Z"));
        assert_eq!(speed[1].unit_code(), Some("KMH"));
        assert_eq!(speed[1].sub()["https://example.org/accuracy"].value, 2);
        let owner = &e.attrs.get("https://example.org/owner").unwrap()[0];
        assert_eq!(
            owner.object_type(),
            Some(&Value::from("https://example.org/Person"))
        );
        // Names sorted, so a lookup by binary search finds both.
        assert_eq!(
            e.attrs.keys().map(|k| &**k).collect::<Vec<_>>(),
            ["https://example.org/owner", "https://example.org/speed"]
        );
        // Written back with times as integers, the same members otherwise, and read back
        // to the same entity.
        let written = serde_json::to_string(&e).unwrap();
        assert_eq!(serde_json::from_str::<Entity>(&written).unwrap(), e);
        let mut written: Value = serde_json::from_str(&written).unwrap();
        let mut stored: Value = serde_json::from_str(STORED).unwrap();
        let jan_1 = 1_767_225_600_000_000_000_i64;
        assert_eq!(written["created_at"], jan_1);
        assert_eq!(
            written["attrs"]["https://example.org/speed"][1]["sub"]["https://example.org/accuracy"]
                ["modified_at"],
            jan_1 + 86_400_000_000_000
        );
        fn untimed(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    m.remove("created_at");
                    m.remove("modified_at");
                    m.values_mut().for_each(untimed);
                }
                Value::Array(a) => a.iter_mut().for_each(untimed),
                _ => {}
            }
        }
        untimed(&mut written);
        untimed(&mut stored);
        assert_eq!(written, stored);
    }

    #[test]
    fn a_plain_instance_equals_one_whose_rare_members_were_emptied() {
        let now = Utc::now();
        let plain = Attribute::new(AttrKind::Property, 1.into(), now);
        let mut emptied = plain.clone().with_dataset_id(Some("urn:ds:1"));
        assert_ne!(plain, emptied);
        emptied = emptied.with_dataset_id(None);
        assert_eq!(plain, emptied);
        emptied.shrink_to_fit();
        assert!(emptied.meta.is_none());
    }

    #[test]
    fn attributes_keep_name_order_whatever_the_insertion_order() {
        let now = Utc::now();
        let a = |v: i64| vec![Attribute::new(AttrKind::Property, v.into(), now)];
        let mut attrs = Attrs::new();
        attrs.insert("c", a(3));
        attrs.insert("a", a(1));
        attrs.insert("b", a(2));
        assert_eq!(attrs.insert("a", a(10)).unwrap()[0].value, 1);
        attrs.slot("d").extend(a(4));
        assert_eq!(
            attrs.keys().map(|k| &**k).collect::<Vec<_>>(),
            ["a", "b", "c", "d"]
        );
        assert_eq!(attrs.get("a").unwrap()[0].value, 10);
        assert!(attrs.remove("b").is_some() && !attrs.contains_key("b"));
        attrs.retain(|n, _| n != "c");
        assert_eq!(attrs.keys().map(|k| &**k).collect::<Vec<_>>(), ["a", "d"]);
        // A document written out of order is read sorted, the later duplicate winning.
        let doc = r#"{"z":[],"a":[],"z":[{"kind":"Property","value":1,
            "created_at":"2026-01-01T00:00:00Z","modified_at":"2026-01-01T00:00:00Z"}]}"#;
        let read: Attrs = serde_json::from_str(doc).unwrap();
        assert_eq!(read.keys().map(|k| &**k).collect::<Vec<_>>(), ["a", "z"]);
        assert_eq!(read.get("z").unwrap().len(), 1);
    }
}
