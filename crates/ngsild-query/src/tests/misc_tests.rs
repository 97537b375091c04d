use crate::*;

fn scope(q: &str, scopes: &[&str], expected: bool) {
    let e = parse_scope_q(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    assert_eq!(e.matches(scopes), expected, "{q} against {scopes:?}");
    assert_eq!(parse_scope_q(&e.to_string()).unwrap(), e, "reprint of {q}");
}

#[test]
fn scope_examples() {
    scope("/Madrid", &["/Madrid"], true);
    scope("/Madrid", &["/Madrid/Gardens"], false);
    scope("/Madrid", &[], false);
    for s in [
        "/Madrid/Gardens",
        "/Madrid/Gardens/ParqueNorte",
        "/Madrid/Gardens/ParqueNorte/Parterre1",
    ] {
        scope("/Madrid/Gardens/#", &[s], true);
    }
    scope("/Madrid/Gardens/#", &["/Madrid"], false);
    scope("/Madrid/Gardens/#", &["/Madrid/GardensX"], false);
    scope(
        "/Madrid/+/ParqueNorte",
        &["/Madrid/Sights/ParqueNorte"],
        true,
    );
    scope("/Madrid/+/ParqueNorte", &["/Madrid/ParqueNorte"], false);
    scope("/Madrid/+", &["/Madrid/A/B"], false);
    scope("/+/#", &["/A/B"], true);
    scope(
        "(/Madrid/Districts;/CompanyA)",
        &["/Madrid/Districts", "/CompanyA"],
        true,
    );
    scope(
        "(/Madrid/Districts;/CompanyA)",
        &["/Madrid/Districts"],
        false,
    );
    scope(
        "(/Madrid/Districts;/CompanyA)|/CompanyB",
        &["/CompanyB"],
        true,
    );
    scope(
        "(/Madrid/Districts;/CompanyA),/CompanyB",
        &["/CompanyA"],
        false,
    );
    scope(
        "(/Madrid/Districts;/CompanyA)|CompanyB",
        &["/CompanyB"],
        true,
    );
    scope("/#", &["/anything/at/all"], true);
    scope("/#", &[], false);
    scope("/A,/B|/C", &["/C"], true);
}

#[test]
fn scope_errors() {
    for bad in [
        "", "/", "//a", "/a/", "/1a", "/a#", "/a/#/b", "(/a", "/a;;/b", "/a b",
    ] {
        assert!(parse_scope_q(bad).is_err(), "{bad} should fail");
    }
}

fn types(q: &str, have: &[&str], expected: bool) {
    let e = parse_type_expr(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    assert_eq!(e.matches(have), expected, "{q} against {have:?}");
    assert_eq!(
        parse_type_expr(&e.to_string()).unwrap(),
        e,
        "reprint of {q}"
    );
}

#[test]
fn type_examples() {
    types("Building|House", &["House"], true);
    types("Building,House", &["Building"], true);
    types("Building,House", &["Shed"], false);
    types("(Home;Vehicle)", &["Vehicle", "Home"], true);
    types("(Home;Vehicle)", &["Home"], false);
    types("(Home;Vehicle)|Motorhome", &["Motorhome"], true);
    types("(Home;Vehicle),Motorhome", &["Home"], false);
    types(
        "https://example.org/T#x",
        &["https://example.org/T#x"],
        true,
    );
    types("urn:a:b|Foo", &["urn:a:b"], true);
    let e = parse_type_expr("(A;B),C").unwrap();
    assert_eq!(e.names(), vec!["A", "B", "C"]);
    let mut e = parse_type_expr("A|(B;C)").unwrap();
    e.map_names(&mut |n| format!("ex:{n}"));
    assert_eq!(e.names(), vec!["ex:A", "ex:B", "ex:C"]);
    assert!(e.matches(&["ex:B", "ex:C"]));
    for bad in ["", "A,", ",A", "A||B", "(A", "A B", "1A", "A;(B"] {
        assert!(parse_type_expr(bad).is_err(), "{bad} should fail");
    }
}

#[test]
fn attr_lists() {
    assert_eq!(parse_attr_list("temperature").unwrap(), vec!["temperature"]);
    assert_eq!(
        parse_attr_list("a,b,https://ex.org/c").unwrap(),
        vec!["a", "b", "https://ex.org/c"]
    );
    for bad in [
        "", "a,", ",a", "a,,b", "a b", "a;b", "a|b", "a\"b", "1a", "a{b}",
    ] {
        assert!(parse_attr_list(bad).is_err(), "{bad} should fail");
    }
    let e = parse_attr_list("a,,b").unwrap_err();
    assert_eq!(e.position, Some(2), "{e}");
}

#[test]
fn projections() {
    let p = |name: &str, linked: Vec<Projection>| Projection {
        name: name.into(),
        linked,
    };
    assert_eq!(
        parse_projection("temperature").unwrap(),
        vec![p("temperature", vec![])]
    );
    assert_eq!(
        parse_projection("temperature,humidity").unwrap(),
        vec![p("temperature", vec![]), p("humidity", vec![])]
    );
    assert_eq!(
        parse_projection("a|b").unwrap(),
        vec![p("a", vec![]), p("b", vec![])]
    );
    let nested = parse_projection("observation{temperature,humidity}|name").unwrap();
    assert_eq!(
        nested,
        vec![
            p(
                "observation",
                vec![p("temperature", vec![]), p("humidity", vec![])]
            ),
            p("name", vec![])
        ]
    );
    assert_eq!(nested[0].to_string(), "observation{temperature,humidity}");
    let deep = parse_projection("a{b{c}}").unwrap();
    assert_eq!(deep, vec![p("a", vec![p("b", vec![p("c", vec![])])])]);
    let mut m = deep[0].clone();
    m.map_names(&mut |n| n.to_uppercase());
    assert_eq!(m.to_string(), "A{B{C}}");
    for bad in ["", "a{}", "a{b", "a}", "a,", "{a}", "a{b}c", "a b"] {
        assert!(parse_projection(bad).is_err(), "{bad} should fail");
    }
}
