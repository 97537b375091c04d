//! The entity model as the broker holds it: names expanded to IRIs, one typed attribute
//! per (name, datasetId), system timestamps.
//!
//! These types are serialised for storage only (serde derive); the wire forms are produced
//! by [`crate::render`] and read by [`crate::parse`].

use std::collections::BTreeMap;

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
    pub created_at: Timestamp,
    /// When the entity last changed.
    pub modified_at: Timestamp,
    /// Attributes by expanded name; each name holds its instances, at most one per datasetId.
    #[serde(default)]
    pub attrs: BTreeMap<String, Vec<Attribute>>,
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

/// One attribute instance (or sub-attribute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribute {
    /// Its kind.
    pub kind: AttrKind,
    /// The value member's content (see [`AttrKind::value_member`]).
    pub value: Value,
    /// The instance's datasetId; `None` is the default instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset_id: Option<String>,
    /// `observedAt`, as the client wrote it (validated as a DateTime).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_at: Option<String>,
    /// `unitCode` (Properties only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_code: Option<String>,
    /// `objectType` of a Relationship (expanded), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<Box<Value>>,
    /// When this instance was created.
    pub created_at: Timestamp,
    /// When this instance last changed.
    pub modified_at: Timestamp,
    /// Sub-attributes by expanded name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sub: BTreeMap<String, Attribute>,
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
    /// See [`Entity::shrink_to_fit`]; sub-attributes included.
    pub fn shrink_to_fit(&mut self) {
        shrink_value(&mut self.value);
        self.sub.values_mut().for_each(Attribute::shrink_to_fit);
    }

    /// A plain attribute of `kind` holding `value`, created and modified at `now`, with no
    /// datasetId, observation time, unit, object type or sub-attributes.
    pub fn new(kind: AttrKind, value: Value, now: Timestamp) -> Self {
        Self {
            kind,
            value,
            dataset_id: None,
            observed_at: None,
            unit_code: None,
            object_type: None,
            created_at: now,
            modified_at: now,
            sub: BTreeMap::new(),
        }
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
            .find(|a| a.dataset_id.is_none())
            .or_else(|| instances.first())
    }

    /// Whether the entity has `ty` among its types.
    pub fn has_type(&self, ty: &str) -> bool {
        self.types.iter().any(|t| t == ty)
    }
}
