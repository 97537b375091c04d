//! Evaluation of geo-queries against target geometries.

use geo::{
    BoundingRect, Closest, Coord, CoordsIter, Distance, Geometry, Haversine, HaversineClosestPoint,
    LineString, Point, Polygon, Rect, Relate,
};

use crate::geo_query::{GeoQuery, GeoRel};

/// Mean Earth radius (metres) used by the haversine distance.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl GeoQuery {
    /// Whether an entity whose target GeoProperty is `g` matches.
    ///
    /// `near` uses the smallest great-circle (haversine) distance in metres
    /// between the reference point and any point of `g` (0 if the point lies
    /// on or inside `g`). The other relations follow the DE-9IM predicates
    /// with `g` as the first operand, e.g. `within` means `g` within the
    /// reference geometry.
    pub fn matches(&self, g: &Geometry<f64>) -> bool {
        match self.rel {
            GeoRel::Near {
                min_distance,
                max_distance,
            } => {
                let Geometry::Point(p) = self.geometry else {
                    return false;
                };
                let Some(d) = distance_m(p, g) else {
                    return false;
                };
                min_distance.is_none_or(|m| d > m) && max_distance.is_none_or(|m| d <= m)
            }
            // Identical coordinates are equal even where the geometry is not valid
            // (self-intersecting rings make DE-9IM answers unreliable).
            GeoRel::Equals if *g == self.geometry => true,
            rel => {
                let m = g.relate(&self.geometry);
                match rel {
                    GeoRel::Within => m.is_within(),
                    GeoRel::Contains => m.is_contains(),
                    GeoRel::Intersects => m.is_intersects(),
                    GeoRel::Equals => m.is_equal_topo(),
                    GeoRel::Disjoint => m.is_disjoint(),
                    GeoRel::Overlaps => m.is_overlaps(),
                    GeoRel::Near { .. } => false,
                }
            }
        }
    }

    /// A rectangle (lon/lat) that every matching geometry intersects, for
    /// pre-filtering with a spatial index: a candidate whose bounding box
    /// does not intersect it cannot match. For `within` and for point
    /// targets of `near` the matches even lie inside it. `None` means no
    /// useful bound exists (`disjoint`, `near` with only `minDistance`).
    pub fn bounding_box(&self) -> Option<Rect<f64>> {
        match self.rel {
            GeoRel::Disjoint => None,
            GeoRel::Near {
                max_distance: None, ..
            } => None,
            GeoRel::Near {
                max_distance: Some(d),
                ..
            } => match self.geometry {
                Geometry::Point(p) => Some(near_box(p, d)),
                _ => None,
            },
            _ => self.geometry.bounding_rect(),
        }
    }
}

/// Smallest haversine distance in metres from `p` to `g`.
pub fn distance_m(p: Point<f64>, g: &Geometry<f64>) -> Option<f64> {
    if let Geometry::Point(q) = g {
        return Some(Haversine.distance(p, *q));
    }
    if !closest_point_safe(g) {
        return None;
    }
    match g.haversine_closest_point(&p) {
        Closest::Intersection(_) => Some(0.0),
        Closest::SinglePoint(q) => Some(Haversine.distance(p, q)),
        Closest::Indeterminate => None,
    }
}

/// Guards `haversine_closest_point`, which cannot handle non-finite
/// coordinates or polygon rings without a single segment.
fn closest_point_safe(g: &Geometry<f64>) -> bool {
    let ring_ok = |r: &LineString<f64>| r.0.len() >= 2;
    let poly_ok = |p: &Polygon<f64>| ring_ok(p.exterior()) && p.interiors().iter().all(ring_ok);
    let finite = g.coords_iter().all(|c| c.x.is_finite() && c.y.is_finite());
    finite
        && match g {
            Geometry::Polygon(p) => poly_ok(p),
            Geometry::MultiPolygon(mp) => mp.0.iter().all(poly_ok),
            Geometry::GeometryCollection(gc) => gc.0.iter().all(closest_point_safe),
            _ => true,
        }
}

/// A slightly generous lon/lat box around the spherical cap of radius `d`
/// metres centred on `p`.
fn near_box(p: Point<f64>, d: f64) -> Rect<f64> {
    let dlat = (d / EARTH_RADIUS_M).to_degrees() * 1.01 + 1e-6;
    let (lo_lat, hi_lat) = (p.y() - dlat, p.y() + dlat);
    let full = |lo: f64, hi: f64| {
        Rect::new(
            Coord {
                x: -180.0,
                y: lo.max(-90.0),
            },
            Coord {
                x: 180.0,
                y: hi.min(90.0),
            },
        )
    };
    if lo_lat <= -90.0 || hi_lat >= 90.0 {
        return full(lo_lat, hi_lat);
    }
    let widest = lo_lat.abs().max(hi_lat.abs()).to_radians().cos();
    let dlon = dlat / widest;
    if dlon >= 180.0 || p.x() - dlon < -180.0 || p.x() + dlon > 180.0 {
        return full(lo_lat, hi_lat);
    }
    Rect::new(
        Coord {
            x: p.x() - dlon,
            y: lo_lat,
        },
        Coord {
            x: p.x() + dlon,
            y: hi_lat,
        },
    )
}
