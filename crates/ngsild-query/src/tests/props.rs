use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use proptest::prelude::*;

use crate::*;

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Zé][a-zA-Z0-9_]{0,5}"
}

fn path() -> impl Strategy<Value = AttrPath> {
    (
        name(),
        prop::collection::vec(name(), 0..3),
        prop::collection::vec("[a-z*@][a-z0-9_:-]{0,4}", 0..3),
    )
        .prop_map(|(attr, sub_attrs, compound)| AttrPath {
            attr,
            sub_attrs,
            compound,
        })
}

fn comparable() -> impl Strategy<Value = QValue> {
    prop_oneof![
        (-1e12..1e12f64).prop_map(QValue::Number),
        any::<i32>().prop_map(|n| QValue::Number(f64::from(n))),
        any::<String>().prop_map(QValue::Text),
        (0i64..253_402_300_799, 0u32..1_000_000_000).prop_filter_map("valid instant", |(s, n)| Utc
            .timestamp_opt(s, n)
            .single()
            .map(QValue::DateTime)),
        (1i32..9999, 1u32..13, 1u32..29)
            .prop_filter_map("valid date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d)
                .map(QValue::Date)),
        (0u32..86_400, 0u32..1_000_000_000).prop_filter_map("valid time", |(s, n)| {
            NaiveTime::from_num_seconds_from_midnight_opt(s, n).map(QValue::Time)
        }),
    ]
}

fn same_kind_range() -> impl Strategy<Value = QValue> {
    (comparable(), comparable())
        .prop_filter("same kind", |(a, b)| {
            std::mem::discriminant(a) == std::mem::discriminant(b)
        })
        .prop_map(|(a, b)| QValue::Range(Box::new(a), Box::new(b)))
}

fn equality_scalar() -> impl Strategy<Value = QValue> {
    prop_oneof![comparable(), any::<bool>().prop_map(QValue::Bool)]
}

fn regex() -> impl Strategy<Value = QValue> {
    "[a-c.*+?|;()\\[\\]^$\\\\ \"]{1,10}"
        .prop_filter_map("valid regex", |s| QRegex::new(&s).ok().map(QValue::Regex))
}

fn op_value() -> impl Strategy<Value = Option<(CompOp, QValue)>> {
    let eq = prop_oneof![Just(CompOp::Eq), Just(CompOp::Ne)];
    let ord = prop_oneof![
        Just(CompOp::Gt),
        Just(CompOp::Ge),
        Just(CompOp::Lt),
        Just(CompOp::Le)
    ];
    let pat = prop_oneof![Just(CompOp::Matches), Just(CompOp::NotMatches)];
    let eq_value = prop_oneof![
        equality_scalar(),
        same_kind_range(),
        prop::collection::vec(equality_scalar(), 2..4).prop_map(QValue::List),
    ];
    prop_oneof![
        Just(None),
        (eq, eq_value).prop_map(Some),
        (ord, comparable()).prop_map(Some),
        (pat, regex()).prop_map(Some),
    ]
}

fn expr() -> impl Strategy<Value = QExpr> {
    let leaf = (path(), op_value()).prop_map(|(path, op)| QExpr::Term(QTerm { path, op }));
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(QExpr::And),
            prop::collection::vec(inner, 2..4).prop_map(QExpr::Or),
        ]
    })
}

fn run_all(s: &str) {
    let _ = parse_q(s);
    let _ = parse_scope_q(s);
    let _ = parse_type_expr(s);
    let _ = parse_attr_list(s);
    let _ = parse_projection(s);
    let _ = parse_georel(s);
    let _ = parse_geo_query(s, "Polygon", s, Some(s));
    let _ = parse_geo_query("near;maxDistance==10", "Point", s, None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn q_display_round_trips(e in expr()) {
        let printed = e.to_string();
        let parsed = parse_q(&printed);
        prop_assert!(parsed.is_ok(), "{printed}: {:?}", parsed);
        prop_assert_eq!(parsed.unwrap(), e, "printed as {}", printed);
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_text(s in any::<String>()) {
        run_all(&s);
    }

    #[test]
    fn parsers_never_panic_on_grammar_soup(s in "[a-z0-9 ;|(),.=!<>~\"\\\\\\[\\]{}/#+:*-]{0,40}") {
        run_all(&s);
    }

    #[test]
    fn near_bounding_box_contains_matches(
        lon in -179.0..179.0f64, lat in -89.0..89.0f64, d in 1.0..500_000.0f64,
        bearing in 0.0..360.0f64, frac in 0.0..0.999f64,
    ) {
        use ::geo::{Destination, Geometry, Haversine, Point};
        let q = parse_geo_query(&format!("near;maxDistance=={d}"), "Point", &format!("[{lon},{lat}]"), None).unwrap();
        let p = Haversine.destination(Point::new(lon, lat), bearing, d * frac);
        prop_assume!((-180.0..=180.0).contains(&p.x()));
        prop_assert!(q.matches(&Geometry::Point(p)));
        let b = q.bounding_box().unwrap();
        prop_assert!(b.min().x <= p.x() && p.x() <= b.max().x && b.min().y <= p.y() && p.y() <= b.max().y);
    }
}
