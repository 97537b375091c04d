//! Feeds arbitrary UTF-8 to every parser of `ngsild-query`; any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(e) = ngsild_query::parse_q(s) {
        // Printing must produce text that parses back to the same tree.
        let printed = e.to_string();
        assert_eq!(ngsild_query::parse_q(&printed).ok(), Some(e), "{printed}");
    }
    let _ = ngsild_query::parse_scope_q(s).map(|e| e.matches(&["/a/b"]));
    let _ = ngsild_query::parse_type_expr(s).map(|e| e.matches(&["A"]));
    let _ = ngsild_query::parse_attr_list(s);
    let _ = ngsild_query::parse_projection(s);
    let _ = ngsild_query::parse_georel(s);
    let mid = (0..=s.len() / 2)
        .rev()
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(0);
    let (left, right) = s.split_at(mid);
    let _ = ngsild_query::parse_geo_query(left, "Polygon", right, None);
    if let Ok(q) = ngsild_query::parse_geo_query("near;maxDistance==1000", "Point", s, None) {
        let _ = q.bounding_box();
    }
});
