use serde_json::{Value, json};

use crate::*;

fn check(q: &str, value: Value, expected: bool) {
    let expr = parse_q(q).unwrap();
    let QExpr::Term(t) = expr else {
        panic!("{q} is not a single term")
    };
    assert_eq!(t.test(&value), expected, "{q} against {value}");
}

#[test]
fn equality() {
    check("a", json!(null), true);
    check("a==20", json!(20), true);
    check("a==20", json!(20.0), true);
    check("a==20", json!("20"), false);
    check("a==\"red\"", json!("red"), true);
    check("a==\"red\"", json!(["blue", "red"]), true);
    check("a==\"red\"", json!(["blue"]), false);
    check("a==\"black\",\"red\"", json!("red"), true);
    check("a==\"black\",\"red\"", json!(["red", "blue"]), true);
    check("a==\"black\",\"red\"", json!("blue"), false);
    check("a==true", json!(true), true);
    check("a==true", json!("true"), false);
    check("a==urn:x:1", json!("urn:x:1"), true);
    check("a==urn:x:1", json!(["urn:x:2", "urn:x:1"]), true);
    check("a==1,\"x\"", json!("x"), true);
    check(
        "a==2018-01-01T00:00:00Z",
        json!("2018-01-01T01:00:00+01:00"),
        true,
    );
    check(
        "a==2018-01-01T00:00:00Z",
        json!({"@type": "DateTime", "@value": "2018-01-01T00:00:00Z"}),
        true,
    );
}

#[test]
fn inequality_is_negated_equality() {
    check("a!=\"red\"", json!("black"), true);
    check("a!=\"red\"", json!("red"), false);
    check("a!=\"red\"", json!(["blue", "black", "green"]), true);
    check("a!=\"red\"", json!(["blue", "red", "green"]), false);
    check("a!=\"black\",\"red\"", json!("blue"), true);
    check("a!=\"black\",\"red\"", json!(["blue", "red"]), false);
    check("a!=10..20", json!(9), true);
    check("a!=10..20", json!(15), false);
    check("a!=20", json!("text"), true);
}

#[test]
fn ranges() {
    check("a==10..20", json!(15), true);
    check("a==10..20", json!(10), true);
    check("a==10..20", json!(20), true);
    check("a==10..20", json!(20.5), false);
    check("a==10..20", json!([1, 12]), true);
    check("a==\"b\"..\"d\"", json!("c"), true);
    check("a==2020-01-01..2020-12-31", json!("2020-06-15"), true);
    check("a==2020-01-01..2020-12-31", json!("2021-06-15"), false);
    check("a==08:00:00..09:00:00", json!("08:30:00"), true);
    check("a==08:00:00..09:00:00", json!("08:30:00Z"), true);
    check("a==10..20", json!("15"), false);
}

#[test]
fn ordering() {
    check("a>50", json!(51), true);
    check("a>50", json!(50), false);
    check("a>=50", json!(50), true);
    check("a<50", json!(49.9), true);
    check("a<=50", json!(50.1), false);
    check("a>50", json!("60"), false);
    check("a>50", json!([1, 60]), true);
    check("a>\"abc\"", json!("abd"), true);
    check(
        "a>=2017-12-24T12:00:00Z",
        json!("2017-12-24T12:00:00.000Z"),
        true,
    );
    check(
        "a<2017-12-24T12:00:00Z",
        json!("2017-12-24T11:59:59.999Z"),
        true,
    );
    check("a<2017-12-24T12:00:00Z", json!("not a date"), false);
    check("a>2020-01-01", json!("2020-01-02"), true);
    check("a<12:00:00", json!("11:00:00"), true);
    check("a<12:00:00", json!(11), false);
}

#[test]
fn regex() {
    check("a~=^ab", json!("abc"), true);
    check("a~=b", json!("abc"), true);
    check("a~=^b", json!("abc"), false);
    check("a~=(?i)^AB", json!("abc"), true);
    check("a~=^ab", json!(12), false);
    check("a~=^ab", json!(["x", "abz"]), true);
    check("a!~=^ab", json!("xyz"), true);
    check("a!~=^ab", json!("abc"), false);
    check("a!~=^ab", json!(12), false);
    check("a!~=^ab", json!(["x", "y"]), true);
    check("a!~=^ab", json!(["x", "abz"]), false);
    check("a!~=^ab", json!([]), false);
}
