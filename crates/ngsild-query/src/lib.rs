//! Pure parsers and predicates for the NGSI-LD query languages
//! (ETSI GS CIM 009 V1.8/V1.9, clauses 4.9, 4.10, 4.17, 4.19 and 4.21).
//!
//! Nothing here performs I/O. The broker parses request parameters with the
//! `parse_*` functions (a [`ParseError`] becomes a 400 `BadRequestData`),
//! expands names with the `map_names` methods and evaluates with
//! [`QTerm::test`], [`ScopeExpr::matches`], [`TypeExpr::matches`] and
//! [`GeoQuery::matches`].
//!
//! # Grammars (as implemented)
//!
//! Whitespace is allowed around operators, parentheses and list commas in
//! q, scopeQ and type expressions. In the boolean layer `;` (AND) binds
//! tighter than OR, and parentheses may nest (up to 32 levels) — a superset
//! of the spec's single-level `QueryTermAssoc`.
//!
//! ## q (clause 4.9)
//!
//! ```text
//! query      = and-expr *( "|" and-expr )
//! and-expr   = primary *( ";" primary )
//! primary    = "(" query ")" / term
//! term       = path [ op value ]
//! path       = name *( "." name ) *( "[" member *( "." member ) "]" )
//! name       = letter *( letter / digit / "_" )          ; AttrName
//! member     = 1*( letter / digit / "_" / "-" / "*" / "@" / ":" )
//! op         = "==" / "!=" / ">=" / ">" / "<=" / "<" / "~=" / "!~="
//! value      = after == or != : scalar / range / list
//!              after > >= < <= : comparable
//!              after ~= !~=    : regex
//! range      = comparable ".." comparable               ; same kind both ends
//! list       = scalar 1*( "," scalar )
//! scalar     = comparable / "true" / "false" / bare-word
//! comparable = json-number / json-string / dateTime / date / time
//! regex      = json-string / raw-regex
//! ```
//!
//! * `json-string` is an RFC 8259 string (escapes decoded).
//! * A bare (unquoted) word ends at `;`, `|`, `)`, `,`, whitespace or
//!   `..`; it is classified as boolean, number, dateTime (RFC 3339), date
//!   (`YYYY-MM-DD`), time (`hh:mm:ss[.f][Z]`), else kept as text (this is how
//!   URIs such as `urn:ngsi-ld:X` and vocab terms like `Male` are written).
//!   A bare word starting with a digit, `-`, `+` or `.` that is not a valid
//!   number, dateTime, date or time is an error rather than text.
//!   Bare text is only accepted after `==` / `!=`, as in the spec's URI rule.
//! * A `raw-regex` runs until a `;`, `|` or `)` that is not inside the
//!   pattern's own parentheses, character class or escape; quote the pattern
//!   as a JSON string to use a top-level `|`. Patterns use Rust `regex`
//!   syntax and match anywhere in the string (POSIX `regexec` semantics).
//! * Linked-entity paths (`attr{Type:attr}`) are rejected as unsupported.
//! * `Display` prints the spec syntax; parsing the output yields the same
//!   tree.
//!
//! ## scopeQ (clause 4.19)
//!
//! ```text
//! scopes  = and-expr *( ( "|" / "," ) and-expr )
//! and-expr= primary *( ";" primary )
//! primary = "(" scopes ")" / pattern
//! pattern = "/#" / [ "/" ] level *( "/" level ) [ "/#" ]
//! level   = letter *( letter / digit / "_" ) / "+"
//! ```
//!
//! `+` matches exactly one level, a trailing `/#` the scope and all scopes
//! below it, `/#` any non-empty scope. The leading `/` may be omitted (one
//! spec example does so).
//!
//! ## Entity type selection (clause 4.17)
//!
//! ```text
//! types   = and-expr *( ( "|" / "," ) and-expr )
//! and-expr= primary *( ";" primary )
//! primary = "(" types ")" / type
//! type    = letter-or-"_" *( any char except whitespace , ; | ( ) " ' < > \ )
//! ```
//!
//! `*` is an ordinary name character here: the broker should treat
//! `type=*` specially before calling [`parse_type_expr`].
//!
//! ## attrs and pick / omit (clause 4.21)
//!
//! ```text
//! attr-list  = attr *( "," attr )
//! projection = proj-term *( ( "," / "|" ) proj-term )
//! proj-term  = attr [ "{" projection "}" ]
//! attr       = letter *( any char except whitespace , ; | ( ) { } [ ] " ' < > = \ )
//! ```
//!
//! V1.8 allows nested projections for Linked Entity Retrieval
//! (`pick=observation{temperature,humidity}`); [`parse_projection`] returns
//! them as a tree, [`parse_attr_list`] accepts only flat comma lists.
//!
//! ## Geo-queries (clause 4.10)
//!
//! ```text
//! georel    = near / "within" / "contains" / "intersects" / "equals"
//!             / "disjoint" / "overlaps"
//! near      = "near" 1*2( ";" ( "maxDistance" / "minDistance" ) "==" positive )
//! positive  = json-number greater than 0, no minus sign   ; metres
//! geometry  = "Point" / "MultiPoint" / "LineString" / "MultiLineString"
//!             / "Polygon" / "MultiPolygon"
//! coordinates = JSON text of the GeoJSON coordinates member
//! ```
//!
//! Combining `maxDistance` and `minDistance` is an extension (the spec
//! allows one modifier); `near` needs a Point reference geometry.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]
#![warn(missing_docs)]

mod attrs;
mod cursor;
mod error;
mod eval;
mod geo_match;
mod geo_query;
mod logic;
mod q;
mod scope;
mod temporal;
mod types;
mod value;

#[cfg(test)]
mod tests;

pub use crate::attrs::{Projection, parse_attr_list, parse_projection};
pub use crate::error::ParseError;
pub use crate::geo_match::distance_m;
pub use crate::geo_query::{
    GeoQuery, GeoRel, geometry_from_geojson, parse_geo_query, parse_georel,
};
pub use crate::q::{AttrPath, CompOp, QExpr, QTerm, parse_q};
pub use crate::scope::{ScopeExpr, ScopeLevel, ScopePattern, parse_scope_q};
pub use crate::temporal::{TimeWindow, parse_duration, parse_time_window};
pub use crate::types::{TypeExpr, parse_type_expr};
pub use crate::value::{QRegex, QValue, parse_date, parse_datetime, parse_time};
