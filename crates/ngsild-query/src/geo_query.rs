//! The geo-query language (clause 4.10): `georel`, `geometry`,
//! `coordinates` and `geoproperty`, plus GeoJSON geometry decoding.

use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde_json::Value;

use crate::attrs::is_attr_char;
use crate::cursor::is_json_number;
use crate::error::ParseError;

/// The spatial relationship requested by `georel`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GeoRel {
    /// Distance from the reference point, in metres. At least one bound is
    /// present: matches need `min_distance < d <= max_distance`.
    Near {
        /// `minDistance`: the target must lie strictly farther than this.
        min_distance: Option<f64>,
        /// `maxDistance`: the target must lie at most this far.
        max_distance: Option<f64>,
    },
    /// The target geometry lies within the reference geometry.
    Within,
    /// The target geometry contains the reference geometry.
    Contains,
    /// The geometries share at least one point.
    Intersects,
    /// The geometries are topologically equal.
    Equals,
    /// The geometries share no point.
    Disjoint,
    /// The geometries overlap (DE-9IM overlaps).
    Overlaps,
}

/// A complete geo-query.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoQuery {
    /// The relationship to test.
    pub rel: GeoRel,
    /// The reference geometry (`geometry` + `coordinates`), lon/lat degrees.
    pub geometry: Geometry<f64>,
    /// The target GeoProperty name (`location` unless given).
    pub geoproperty: String,
}

/// Parses `georel`: `near;maxDistance==N`, `near;minDistance==N` (both
/// modifiers may be combined), `within`, `contains`, `intersects`,
/// `equals`, `disjoint` or `overlaps`.
pub fn parse_georel(input: &str) -> Result<GeoRel, ParseError> {
    let mut parts = input.split(';');
    let head = parts.next().unwrap_or("");
    let rel = match head {
        "near" => return parse_near(parts),
        "within" => GeoRel::Within,
        "contains" => GeoRel::Contains,
        "intersects" => GeoRel::Intersects,
        "equals" => GeoRel::Equals,
        "disjoint" => GeoRel::Disjoint,
        "overlaps" => GeoRel::Overlaps,
        other => return Err(ParseError::at(format!("unknown georel `{other}`"), 0)),
    };
    if input.len() > head.len() {
        return Err(ParseError::at(
            format!("georel `{head}` takes no modifiers"),
            head.chars().count(),
        ));
    }
    Ok(rel)
}

fn parse_near<'a>(parts: impl Iterator<Item = &'a str>) -> Result<GeoRel, ParseError> {
    let (mut min_distance, mut max_distance) = (None, None);
    let mut offset = "near;".len();
    for part in parts {
        let (key, num) = part.split_once("==").ok_or_else(|| {
            ParseError::at(
                format!("expected `maxDistance==N` or `minDistance==N`, found `{part}`"),
                offset,
            )
        })?;
        let slot = match key {
            "maxDistance" => &mut max_distance,
            "minDistance" => &mut min_distance,
            _ => {
                return Err(ParseError::at(
                    format!("unknown near modifier `{key}`"),
                    offset,
                ));
            }
        };
        if slot.is_some() {
            return Err(ParseError::at(format!("`{key}` given twice"), offset));
        }
        let value = num
            .parse::<f64>()
            .ok()
            .filter(|v| is_json_number(num) && v.is_finite() && *v > 0.0);
        let Some(value) = value else {
            let at = offset + key.chars().count() + 2;
            return Err(ParseError::at(
                format!("`{key}` needs a positive number of metres, found `{num}`"),
                at,
            ));
        };
        *slot = Some(value);
        offset += part.chars().count() + 1;
    }
    if min_distance.is_none() && max_distance.is_none() {
        return Err(ParseError::new(
            "georel `near` needs `;maxDistance==N` or `;minDistance==N`",
        ));
    }
    if let (Some(lo), Some(hi)) = (min_distance, max_distance)
        && lo >= hi
    {
        return Err(ParseError::new(
            "minDistance must be smaller than maxDistance",
        ));
    }
    Ok(GeoRel::Near {
        min_distance,
        max_distance,
    })
}

/// Builds a complete geo-query from the four URL parameters; `coordinates`
/// is the JSON text of the GeoJSON `coordinates` member.
pub fn parse_geo_query(
    georel: &str,
    geometry: &str,
    coordinates: &str,
    geoproperty: Option<&str>,
) -> Result<GeoQuery, ParseError> {
    let rel = parse_georel(georel)?;
    let coords: Value = serde_json::from_str(coordinates)
        .map_err(|e| ParseError::new(format!("coordinates are not valid JSON: {e}")))?;
    let mut obj = serde_json::Map::new();
    obj.insert("type".into(), Value::String(geometry.to_string()));
    obj.insert("coordinates".into(), coords);
    let geometry = geometry_from_geojson(&Value::Object(obj))?;
    if matches!(rel, GeoRel::Near { .. }) && !matches!(geometry, Geometry::Point(_)) {
        return Err(ParseError::new(
            "georel `near` requires a Point reference geometry",
        ));
    }
    let geoproperty = geoproperty.unwrap_or("location");
    let valid = geoproperty.chars().next().is_some_and(char::is_alphabetic)
        && geoproperty.chars().all(is_attr_char);
    if !valid {
        return Err(ParseError::new(format!(
            "invalid geoproperty `{geoproperty}`"
        )));
    }
    Ok(GeoQuery {
        rel,
        geometry,
        geoproperty: geoproperty.to_string(),
    })
}

/// Decodes a GeoJSON geometry object (Point, MultiPoint, LineString,
/// MultiLineString, Polygon or MultiPolygon), checking that positions hold
/// two or three finite numbers with longitude in [-180, 180] and latitude
/// in [-90, 90], that lines have at least two positions and that polygon
/// rings are closed with at least four positions. A third coordinate
/// (altitude) is accepted and ignored.
pub fn geometry_from_geojson(v: &Value) -> Result<Geometry<f64>, ParseError> {
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| ParseError::new("geometry needs a string `type`"))?;
    let coords = v
        .get("coordinates")
        .ok_or_else(|| ParseError::new("geometry needs `coordinates`"))?;
    Ok(match kind {
        "Point" => Geometry::Point(Point(position(coords)?)),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            non_empty(coords, "MultiPoint")?
                .iter()
                .map(|p| position(p).map(Point))
                .collect::<Result<_, _>>()?,
        )),
        "LineString" => Geometry::LineString(line(coords)?),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            non_empty(coords, "MultiLineString")?
                .iter()
                .map(line)
                .collect::<Result<_, _>>()?,
        )),
        "Polygon" => Geometry::Polygon(polygon(coords)?),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            non_empty(coords, "MultiPolygon")?
                .iter()
                .map(polygon)
                .collect::<Result<_, _>>()?,
        )),
        "GeometryCollection" => {
            return Err(ParseError::new(
                "GeometryCollection is not allowed as a geometry here",
            ));
        }
        other => return Err(ParseError::new(format!("unknown geometry type `{other}`"))),
    })
}

fn non_empty<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, ParseError> {
    match v.as_array() {
        Some(a) if !a.is_empty() => Ok(a),
        _ => Err(ParseError::new(format!(
            "{what} coordinates must be a non-empty array, found {}",
            short(v)
        ))),
    }
}

fn position(v: &Value) -> Result<Coord<f64>, ParseError> {
    let nums: Option<Vec<f64>> = v
        .as_array()
        .map(|a| a.iter().map(Value::as_f64).collect())
        .unwrap_or(None);
    let nums = nums.filter(|n| (2..=3).contains(&n.len()) && n.iter().all(|x| x.is_finite()));
    let Some(nums) = nums else {
        return Err(ParseError::new(format!(
            "a position must be [longitude, latitude], found {}",
            short(v)
        )));
    };
    let (x, y) = (
        nums.first().copied().unwrap_or(f64::NAN),
        nums.get(1).copied().unwrap_or(f64::NAN),
    );
    if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
        return Err(ParseError::new(format!(
            "position {} is outside longitude [-180,180] / latitude [-90,90]",
            short(v)
        )));
    }
    Ok(Coord { x, y })
}

fn line(v: &Value) -> Result<LineString<f64>, ParseError> {
    let pts = non_empty(v, "LineString")?;
    if pts.len() < 2 {
        return Err(ParseError::new(format!(
            "a LineString needs at least two positions, found {}",
            short(v)
        )));
    }
    Ok(LineString(
        pts.iter().map(position).collect::<Result<_, _>>()?,
    ))
}

fn polygon(v: &Value) -> Result<Polygon<f64>, ParseError> {
    let mut rings = non_empty(v, "Polygon")?.iter().map(|r| {
        let ring = line(r)?;
        if ring.0.len() < 4 || ring.0.first() != ring.0.last() {
            return Err(ParseError::new(format!(
                "a polygon ring must be closed and have at least four positions, found {}",
                short(r)
            )));
        }
        Ok(ring)
    });
    let exterior = rings
        .next()
        .unwrap_or_else(|| Err(ParseError::new("a polygon needs an exterior ring")))?;
    Ok(Polygon::new(exterior, rings.collect::<Result<_, _>>()?))
}

/// A JSON excerpt for error messages.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}...", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}
