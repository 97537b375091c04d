use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};

use crate::*;

fn term(attr: &str, op: Option<(CompOp, QValue)>) -> QExpr {
    QExpr::Term(QTerm {
        path: AttrPath {
            attr: attr.into(),
            sub_attrs: vec![],
            compound: vec![],
        },
        op,
    })
}
fn cmp(attr: &str, op: CompOp, v: QValue) -> QExpr {
    term(attr, Some((op, v)))
}
fn num(n: f64) -> QValue {
    QValue::Number(n)
}
fn text(s: &str) -> QValue {
    QValue::Text(s.into())
}

fn check(input: &str, expected: QExpr) {
    let got = parse_q(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    assert_eq!(got, expected, "input {input}");
    let printed = got.to_string();
    assert_eq!(parse_q(&printed).unwrap(), got, "reprint {printed}");
}

fn check_err(input: &str, needle: &str) {
    let e = parse_q(input).expect_err(input);
    assert!(
        e.to_string().contains(needle),
        "{input}: `{e}` lacks `{needle}`"
    );
}

#[test]
fn spec_examples() {
    check("temperature", term("temperature", None));
    check("temperature==20", cmp("temperature", CompOp::Eq, num(20.0)));
    check(
        "brandName!=\"Mercedes\"",
        cmp("brandName", CompOp::Ne, text("Mercedes")),
    );
    check(
        "isParked==\"urn:ngsi-ld:OffStreetParking:Downtown1\"",
        cmp(
            "isParked",
            CompOp::Eq,
            text("urn:ngsi-ld:OffStreetParking:Downtown1"),
        ),
    );
    check(
        "speed>50;brandName!=\"Mercedes\"",
        QExpr::And(vec![
            cmp("speed", CompOp::Gt, num(50.0)),
            cmp("brandName", CompOp::Ne, text("Mercedes")),
        ]),
    );
    check(
        "((speed>50|rpm>3000);brandName==\"Mercedes\")",
        QExpr::And(vec![
            QExpr::Or(vec![
                cmp("speed", CompOp::Gt, num(50.0)),
                cmp("rpm", CompOp::Gt, num(3000.0)),
            ]),
            cmp("brandName", CompOp::Eq, text("Mercedes")),
        ]),
    );
    check(
        "(temperature>=20;temperature<=25)|capacity<=10",
        QExpr::Or(vec![
            QExpr::And(vec![
                cmp("temperature", CompOp::Ge, num(20.0)),
                cmp("temperature", CompOp::Le, num(25.0)),
            ]),
            cmp("capacity", CompOp::Le, num(10.0)),
        ]),
    );
    check("gender==Male", cmp("gender", CompOp::Eq, text("Male")));
}

#[test]
fn precedence_and_binds_tighter() {
    let a = || term("a", None);
    let b = || term("b", None);
    let c = || term("c", None);
    check("a|b;c", QExpr::Or(vec![a(), QExpr::And(vec![b(), c()])]));
    check("a;b|c", QExpr::Or(vec![QExpr::And(vec![a(), b()]), c()]));
    check("a;(b|c)", QExpr::And(vec![a(), QExpr::Or(vec![b(), c()])]));
    check("a;b;c", QExpr::And(vec![a(), b(), c()]));
    check("((a))", a());
    check(
        " ( a ; b ) | c ",
        QExpr::Or(vec![QExpr::And(vec![a(), b()]), c()]),
    );
    check(
        "(a|(b;(c|a)))",
        QExpr::Or(vec![a(), QExpr::And(vec![b(), QExpr::Or(vec![c(), a()])])]),
    );
}

#[test]
fn paths() {
    let path = |attr: &str, sub: &[&str], comp: &[&str]| AttrPath {
        attr: attr.into(),
        sub_attrs: sub.iter().map(|s| s.to_string()).collect(),
        compound: comp.iter().map(|s| s.to_string()).collect(),
    };
    let with = |p: AttrPath, op| QExpr::Term(QTerm { path: p, op });
    let dt = Utc.with_ymd_and_hms(2017, 12, 24, 12, 0, 0).unwrap();
    check(
        "temperature.observedAt>=2017-12-24T12:00:00Z",
        with(
            path("temperature", &["observedAt"], &[]),
            Some((CompOp::Ge, QValue::DateTime(dt))),
        ),
    );
    check(
        "address[city]==\"Berlin\"",
        with(
            path("address", &[], &["city"]),
            Some((CompOp::Eq, text("Berlin"))),
        ),
    );
    check(
        "sensor.rawdata[airquality.particulate]==40",
        with(
            path("sensor", &["rawdata"], &["airquality", "particulate"]),
            Some((CompOp::Eq, num(40.0))),
        ),
    );
    check("a[b][c]", with(path("a", &[], &["b", "c"]), None));
    check(
        "color[en]==\"red\"",
        with(path("color", &[], &["en"]), Some((CompOp::Eq, text("red")))),
    );
    check(
        "color[*]!=\"red\"",
        with(path("color", &[], &["*"]), Some((CompOp::Ne, text("red")))),
    );
    check("temp_1ü", with(path("temp_1ü", &[], &[]), None));
}

#[test]
fn values() {
    check(
        "a==1..5",
        cmp(
            "a",
            CompOp::Eq,
            QValue::Range(Box::new(num(1.0)), Box::new(num(5.0))),
        ),
    );
    check(
        "a!=-1.5..2e3",
        cmp(
            "a",
            CompOp::Ne,
            QValue::Range(Box::new(num(-1.5)), Box::new(num(2000.0))),
        ),
    );
    check(
        "a==\"a\"..\"m\"",
        cmp(
            "a",
            CompOp::Eq,
            QValue::Range(Box::new(text("a")), Box::new(text("m"))),
        ),
    );
    check(
        "a==1,2,3",
        cmp(
            "a",
            CompOp::Eq,
            QValue::List(vec![num(1.0), num(2.0), num(3.0)]),
        ),
    );
    check(
        "color!=\"black\", \"red\"",
        cmp(
            "color",
            CompOp::Ne,
            QValue::List(vec![text("black"), text("red")]),
        ),
    );
    check(
        "a==\"x\\\"y\\\\z\\u00e9\\n\"",
        cmp("a", CompOp::Eq, text("x\"y\\zé\n")),
    );
    check(
        "a==\"semi;colon|pipe)\"",
        cmp("a", CompOp::Eq, text("semi;colon|pipe)")),
    );
    check("a==true", cmp("a", CompOp::Eq, QValue::Bool(true)));
    check("a!=false", cmp("a", CompOp::Ne, QValue::Bool(false)));
    check(
        "a==urn:ngsi-ld:Car:1",
        cmp("a", CompOp::Eq, text("urn:ngsi-ld:Car:1")),
    );
    check(
        "a==http://example.org/x#y",
        cmp("a", CompOp::Eq, text("http://example.org/x#y")),
    );
    let d = NaiveDate::from_ymd_opt(2020, 2, 29).unwrap();
    check("a<2020-02-29", cmp("a", CompOp::Lt, QValue::Date(d)));
    let t = NaiveTime::from_hms_milli_opt(12, 30, 5, 250).unwrap();
    check("a>12:30:05.250Z", cmp("a", CompOp::Gt, QValue::Time(t)));
    let dt = Utc.with_ymd_and_hms(2018, 1, 1, 10, 0, 0).unwrap();
    check(
        "a==2018-01-01T12:00:00+02:00",
        cmp("a", CompOp::Eq, QValue::DateTime(dt)),
    );
    let t1 = NaiveTime::from_hms_opt(8, 0, 0).unwrap();
    let t2 = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
    check(
        "a==08:00:00..09:00:00",
        cmp(
            "a",
            CompOp::Eq,
            QValue::Range(Box::new(QValue::Time(t1)), Box::new(QValue::Time(t2))),
        ),
    );
}

#[test]
fn patterns() {
    let re = |s: &str| QValue::Regex(QRegex::new(s).unwrap());
    check(
        "name~=(?i)^foo.*",
        cmp("name", CompOp::Matches, re("(?i)^foo.*")),
    );
    check(
        "name!~=ab[;|)]c",
        cmp("name", CompOp::NotMatches, re("ab[;|)]c")),
    );
    check("name~=\"a|b\"", cmp("name", CompOp::Matches, re("a|b")));
    check(
        "(name~=(x|y)\\);b)",
        QExpr::And(vec![
            cmp("name", CompOp::Matches, re("(x|y)\\)")),
            term("b", None),
        ]),
    );
    check(
        "name~=a|b",
        QExpr::Or(vec![cmp("name", CompOp::Matches, re("a")), term("b", None)]),
    );
    check_err("name~=(", "invalid regular expression");
    check_err("name~=\"\"", "expected a regular expression");
}

#[test]
fn errors() {
    check_err("", "empty q expression");
    check_err("a==", "expected a value");
    check_err("a>", "expected a value");
    check_err("a>true", "expected a number");
    check_err("a>abc", "expected a number");
    check_err("a==1..x", "expected a number");
    check_err("a==1..\"x\"", "same type");
    check_err("a==1,2..3", "range");
    check_err("(a", "expected `)`");
    check_err("a)", "end of q expression");
    check_err("a b", "found `b`");
    check_err("1a==2", "attribute name");
    check_err("a.==2", "attribute name");
    check_err("a[]==2", "member name");
    check_err("a[b==2", "expected `]`");
    check_err("a==\"open", "unterminated");
    check_err("a==\"bad\\q\"", "invalid string literal");
    check_err("a==x\"y", "quote");
    check_err("a==1e999", "out of range");
    check_err("a==01", "not a valid number");
    check_err("a==1.", "not a valid number");
    check_err("a==2020-13-01", "not a valid number, dateTime");
    check_err("sensor{humidity}==40", "not supported");
    check_err(&"(".repeat(100), "nested deeper");
    let e = parse_q("a==1;;b").unwrap_err();
    assert_eq!(e.position, Some(5), "{e}");
}

#[test]
fn map_names_rewrites_attrs_not_members() {
    let mut q = parse_q("a.b[c.d]==1|e").unwrap();
    q.map_names(&mut |n| format!("ex:{n}"));
    let terms = q.terms();
    assert_eq!(terms[0].path.attr, "ex:a");
    assert_eq!(terms[0].path.sub_attrs, vec!["ex:b"]);
    assert_eq!(terms[0].path.compound, vec!["c", "d"]);
    assert_eq!(terms[1].path.attr, "ex:e");
}
