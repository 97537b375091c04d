use ::geo::{Geometry, Point, coord};
use serde_json::json;

use crate::*;

fn rel(s: &str) -> GeoRel {
    parse_georel(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn georel_grammar() {
    assert_eq!(
        rel("near;maxDistance==2000"),
        GeoRel::Near {
            min_distance: None,
            max_distance: Some(2000.0)
        }
    );
    assert_eq!(
        rel("near;minDistance==10"),
        GeoRel::Near {
            min_distance: Some(10.0),
            max_distance: None
        }
    );
    assert_eq!(
        rel("near;minDistance==10;maxDistance==2.5e3"),
        GeoRel::Near {
            min_distance: Some(10.0),
            max_distance: Some(2500.0)
        }
    );
    assert_eq!(rel("within"), GeoRel::Within);
    assert_eq!(rel("contains"), GeoRel::Contains);
    assert_eq!(rel("intersects"), GeoRel::Intersects);
    assert_eq!(rel("equals"), GeoRel::Equals);
    assert_eq!(rel("disjoint"), GeoRel::Disjoint);
    assert_eq!(rel("overlaps"), GeoRel::Overlaps);
    for bad in [
        "",
        "near",
        "near;",
        "near;maxDistance=2000",
        "near;maxDistance==0",
        "near;maxDistance==-5",
        "near;maxDistance==abc",
        "near;maxDistance==1;maxDistance==2",
        "near;radius==3",
        "Within",
        "within;maxDistance==3",
        "near;minDistance==10;maxDistance==5",
        "near;maxDistance==NaN",
    ] {
        assert!(parse_georel(bad).is_err(), "{bad} should fail");
    }
}

#[test]
fn geometries() {
    let ok = [
        ("Point", "[8.68,50.11]"),
        ("Point", "[8.68,50.11,120]"),
        ("MultiPoint", "[[1,2],[3,4]]"),
        ("LineString", "[[1,2],[3,4]]"),
        ("MultiLineString", "[[[1,2],[3,4]],[[5,6],[7,8]]]"),
        (
            "Polygon",
            "[[[100.0,0.0],[101.0,0.0],[101.0,1.0],[100.0,1.0],[100.0,0.0]]]",
        ),
        (
            "Polygon",
            "[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[2,2],[3,2],[3,3],[2,2]]]",
        ),
        (
            "MultiPolygon",
            "[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]",
        ),
    ];
    for (g, c) in ok {
        parse_geo_query("intersects", g, c, None).unwrap_or_else(|e| panic!("{g} {c}: {e}"));
    }
    let bad = [
        ("Point", "[181,0]"),
        ("Point", "[0,91]"),
        ("Point", "[1]"),
        ("Point", "[1,2,3,4]"),
        ("Point", "[\"1\",2]"),
        ("Point", "8,40"),
        ("LineString", "[[1,2]]"),
        ("Polygon", "[[[0,0],[1,0],[1,1],[0,1]]]"),
        ("Polygon", "[[[0,0],[1,0],[0,0]]]"),
        ("Polygon", "[]"),
        ("MultiPoint", "[]"),
        ("GeometryCollection", "[]"),
        ("Circle", "[1,2]"),
    ];
    for (g, c) in bad {
        assert!(
            parse_geo_query("intersects", g, c, None).is_err(),
            "{g} {c} should fail"
        );
    }
    assert!(parse_geo_query("near;maxDistance==5", "LineString", "[[1,2],[3,4]]", None).is_err());
    assert!(parse_geo_query("intersects", "Point", "[1,2]", Some("bad name")).is_err());
    let q = parse_geo_query(
        "near;maxDistance==2000",
        "Point",
        "[8,40]",
        Some("observationSpace"),
    )
    .unwrap();
    assert_eq!(q.geoproperty, "observationSpace");
    assert_eq!(q.geometry, Geometry::Point(Point::new(8.0, 40.0)));
    assert_eq!(
        parse_geo_query("within", "Point", "[8,40]", None)
            .unwrap()
            .geoproperty,
        "location"
    );
    let g = geometry_from_geojson(&json!({"type": "LineString", "coordinates": [[1, 2], [3, 4]]}))
        .unwrap();
    assert!(matches!(g, Geometry::LineString(_)));
    assert!(geometry_from_geojson(&json!({"coordinates": [1, 2]})).is_err());
}

fn target(kind: &str, coords: &str) -> Geometry<f64> {
    geometry_from_geojson(&json!({"type": kind, "coordinates": serde_json::from_str::<serde_json::Value>(coords).unwrap()}))
        .unwrap()
}

#[test]
fn known_distances() {
    let km = 1000.0 / 111_194.93; // one kilometre of latitude in degrees
    let frankfurt = Point::new(8.68, 50.11);
    let d = distance_m(frankfurt, &Geometry::Point(Point::new(8.68, 50.11 + km))).unwrap();
    assert!((d - 1000.0).abs() < 1.0, "{d}");
    let paris = Point::new(2.3522, 48.8566);
    let london = Geometry::Point(Point::new(-0.1276, 51.5072));
    let d = distance_m(paris, &london).unwrap();
    assert!((d - 343_500.0).abs() < 2_000.0, "{d}");
    let madrid = Point::new(-3.7038, 40.4168);
    let barcelona = Geometry::Point(Point::new(2.1734, 41.3851));
    let d = distance_m(madrid, &barcelona).unwrap();
    assert!((d - 505_000.0).abs() < 3_000.0, "{d}");
}

#[test]
fn near_matching() {
    let km = 1000.0 / 111_194.93;
    let near = |rel: &str| parse_geo_query(rel, "Point", "[8.68,50.11]", None).unwrap();
    let one_km_north = Geometry::Point(Point::new(8.68, 50.11 + km));
    assert!(near("near;maxDistance==1001").matches(&one_km_north));
    assert!(!near("near;maxDistance==999").matches(&one_km_north));
    assert!(near("near;minDistance==999").matches(&one_km_north));
    assert!(!near("near;minDistance==1001").matches(&one_km_north));
    assert!(near("near;minDistance==500;maxDistance==1500").matches(&one_km_north));
    // A line passing 1 km north of the point: the closest point counts.
    let line = target(
        "LineString",
        &format!("[[8.60,{0}],[8.80,{0}]]", 50.11 + km),
    );
    assert!(near("near;maxDistance==1010").matches(&line));
    assert!(!near("near;maxDistance==990").matches(&line));
    // A polygon containing the point is at distance 0.
    let square = target(
        "Polygon",
        "[[[8.6,50.0],[8.8,50.0],[8.8,50.2],[8.6,50.2],[8.6,50.0]]]",
    );
    assert!(near("near;maxDistance==1").matches(&square));
    assert!(!near("near;minDistance==1").matches(&square));
}

#[test]
fn degenerate_targets_do_not_panic() {
    use ::geo::{LineString, Polygon};
    let q = parse_geo_query("near;maxDistance==10", "Point", "[0,0]", None).unwrap();
    let ring = LineString::from(vec![(5.0, 5.0), (6.0, 5.0), (6.0, 6.0), (5.0, 5.0)]);
    let holey = Polygon::new(ring, vec![LineString::new(vec![])]);
    assert!(!q.matches(&Geometry::Polygon(holey)));
    assert!(!q.matches(&Geometry::Point(Point::new(f64::NAN, 0.0))));
}

#[test]
fn topological_relations() {
    let square = "[[[0,0],[10,0],[10,10],[0,10],[0,0]]]";
    let q = |r: &str| parse_geo_query(r, "Polygon", square, None).unwrap();
    let inside = Geometry::Point(Point::new(5.0, 5.0));
    let outside = Geometry::Point(Point::new(20.0, 5.0));
    let big = target("Polygon", "[[[-1,-1],[11,-1],[11,11],[-1,11],[-1,-1]]]");
    let shifted = target("Polygon", "[[[5,5],[15,5],[15,15],[5,15],[5,5]]]");
    let same = target("Polygon", "[[[0,0],[0,10],[10,10],[10,0],[0,0]]]");
    assert!(q("within").matches(&inside));
    assert!(!q("within").matches(&outside));
    assert!(q("contains").matches(&big));
    assert!(!q("contains").matches(&inside));
    assert!(q("intersects").matches(&shifted));
    assert!(!q("intersects").matches(&outside));
    assert!(q("disjoint").matches(&outside));
    assert!(!q("disjoint").matches(&inside));
    assert!(q("overlaps").matches(&shifted));
    assert!(!q("overlaps").matches(&big));
    assert!(q("equals").matches(&same));
    assert!(!q("equals").matches(&shifted));
    let line_q = parse_geo_query("intersects", "LineString", "[[-5,5],[5,5]]", None).unwrap();
    assert!(line_q.matches(&target("Polygon", square)));
    let mp = parse_geo_query(
        "within",
        "MultiPolygon",
        "[[[[0,0],[1,0],[1,1],[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]",
        None,
    )
    .unwrap();
    assert!(mp.matches(&Geometry::Point(Point::new(5.8, 5.5))));
    let mpt = parse_geo_query("intersects", "MultiPoint", "[[5,5],[50,50]]", None).unwrap();
    assert!(mpt.matches(&target("Polygon", square)));
    let mls = parse_geo_query(
        "intersects",
        "MultiLineString",
        "[[[20,20],[30,30]],[[-5,5],[5,5]]]",
        None,
    )
    .unwrap();
    assert!(mls.matches(&target("Polygon", square)));
}

#[test]
fn bounding_boxes() {
    let square = parse_geo_query(
        "within",
        "Polygon",
        "[[[0,0],[10,0],[10,10],[0,10],[0,0]]]",
        None,
    )
    .unwrap();
    let b = square.bounding_box().unwrap();
    assert_eq!(
        (b.min(), b.max()),
        (coord! { x: 0.0, y: 0.0 }, coord! { x: 10.0, y: 10.0 })
    );
    assert!(
        parse_geo_query("disjoint", "Point", "[1,1]", None)
            .unwrap()
            .bounding_box()
            .is_none()
    );
    assert!(
        parse_geo_query("near;minDistance==5", "Point", "[1,1]", None)
            .unwrap()
            .bounding_box()
            .is_none()
    );
    let near = parse_geo_query("near;maxDistance==1000", "Point", "[8.68,50.11]", None).unwrap();
    let b = near.bounding_box().unwrap();
    // Points just inside the circle in every direction lie inside the box.
    let km = 999.0 / 111_194.93;
    let lon_km = km / 50.11_f64.to_radians().cos();
    for (dx, dy) in [(0.0, km), (0.0, -km), (lon_km, 0.0), (-lon_km, 0.0)] {
        let p = Point::new(8.68 + dx, 50.11 + dy);
        assert!(near.matches(&Geometry::Point(p)), "{p:?}");
        assert!(
            b.min().x <= p.x() && p.x() <= b.max().x && b.min().y <= p.y() && p.y() <= b.max().y,
            "{p:?}"
        );
    }
    assert!(b.width() < 0.05 && b.height() < 0.05);
    let polar = parse_geo_query("near;maxDistance==100000", "Point", "[0,89.9]", None).unwrap();
    let b = polar.bounding_box().unwrap();
    assert_eq!((b.min().x, b.max().x, b.max().y), (-180.0, 180.0, 90.0));
}
