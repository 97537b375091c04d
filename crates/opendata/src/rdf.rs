//! A small RDF graph, just enough for a catalogue, and its two serialisations: Turtle and
//! JSON-LD (with an inline context, so a harvester needs no network to read it).
//!
//! Predicates, classes and datatypes are prefixed names of [`PREFIXES`], written as they
//! are (they are constants of this crate); IRIs and literals come from data and are escaped:
//! literals with Turtle's string escapes, IRIs by percent-encoding every character Turtle
//! does not allow between `<` and `>`.

use std::fmt::Write as _;

use serde_json::{Map, Value, json};

/// The prefixes every serialisation declares.
pub const PREFIXES: [(&str, &str); 8] = [
    ("adms", "http://www.w3.org/ns/adms#"),
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dcatap", "http://data.europa.eu/r5r/"),
    ("dcatde", "http://dcat-ap.de/def/dcatde/"),
    ("dct", "http://purl.org/dc/terms/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

/// An object of a statement.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// An IRI.
    Iri(String),
    /// A literal: text, and its language tag or datatype (a prefixed name).
    Literal(String, Tag),
    /// A blank node, written in place.
    Blank(Node),
}

/// What qualifies a literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// A plain string.
    None,
    /// A language-tagged string (`de`).
    Lang(&'static str),
    /// A typed literal (`xsd:date`).
    Type(&'static str),
}

/// An IRI term.
pub fn iri(s: impl Into<String>) -> Term {
    Term::Iri(s.into())
}

/// A German text.
pub fn de(s: impl Into<String>) -> Term {
    Term::Literal(s.into(), Tag::Lang("de"))
}

/// A plain string.
pub fn plain(s: impl Into<String>) -> Term {
    Term::Literal(s.into(), Tag::None)
}

/// A typed literal.
pub fn typed(s: impl Into<String>, datatype: &'static str) -> Term {
    Term::Literal(s.into(), Tag::Type(datatype))
}

/// A node: its IRI (`None`: a blank node), classes and statements in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The IRI.
    pub id: Option<String>,
    /// Classes (prefixed names).
    pub types: Vec<&'static str>,
    /// (predicate, object) in the order written.
    pub props: Vec<(&'static str, Term)>,
}

impl Node {
    /// A node named `id` of class `class`.
    pub fn named(id: impl Into<String>, class: &'static str) -> Self {
        Self {
            id: Some(id.into()),
            types: vec![class],
            props: Vec::new(),
        }
    }

    /// A blank node of class `class`.
    pub fn blank(class: &'static str) -> Self {
        Self {
            id: None,
            types: vec![class],
            props: Vec::new(),
        }
    }

    /// Adds a statement.
    pub fn add(&mut self, predicate: &'static str, object: Term) -> &mut Self {
        self.props.push((predicate, object));
        self
    }
}

/// Top-level nodes, in the order written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Graph {
    /// The graph as Turtle.
    pub fn turtle(&self) -> String {
        let mut out = String::new();
        for (p, ns) in PREFIXES {
            let _ = writeln!(out, "@prefix {p}: <{ns}> .");
        }
        for n in &self.nodes {
            out.push('\n');
            match &n.id {
                Some(id) => write_iri(&mut out, id),
                None => out.push_str("[]"),
            }
            write_body(&mut out, n, 1);
            out.push_str(" .\n");
        }
        out
    }

    /// The graph as JSON-LD: an inline context of [`PREFIXES`] and a `@graph`.
    pub fn json_ld(&self) -> Value {
        let ctx: Map<String, Value> = PREFIXES
            .iter()
            .map(|(p, ns)| ((*p).to_owned(), Value::String((*ns).to_owned())))
            .collect();
        let graph: Vec<Value> = self.nodes.iter().map(node_json).collect();
        json!({"@context": ctx, "@graph": graph})
    }
}

/// Writes `a class ; p o ; ...` of `n`, statements indented by `depth` levels.
fn write_body(out: &mut String, n: &Node, depth: usize) {
    let indent = "    ".repeat(depth);
    let mut first = true;
    let mut sep = |out: &mut String| {
        out.push_str(if first { "\n" } else { " ;\n" });
        out.push_str(&indent);
        first = false;
    };
    if !n.types.is_empty() {
        sep(out);
        out.push_str("a ");
        out.push_str(&n.types.join(" , "));
    }
    for (p, o) in &n.props {
        sep(out);
        out.push_str(p);
        out.push(' ');
        match o {
            Term::Iri(i) => write_iri(out, i),
            Term::Literal(text, tag) => write_literal(out, text, *tag),
            Term::Blank(b) => {
                out.push('[');
                write_body(out, b, depth + 1);
                out.push('\n');
                out.push_str(&indent);
                out.push(']');
            }
        }
    }
}

/// `<iri>`, percent-encoding what may not stand in an IRIREF (spaces, controls, `<>"{}|^`\`).
fn write_iri(out: &mut String, iri: &str) {
    out.push('<');
    for c in iri.chars() {
        if c <= ' ' || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\') {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out.push('>');
}

/// `"text"@lang` or `"text"^^type`, with quotes, backslashes, line breaks and other control
/// characters escaped.
fn write_literal(out: &mut String, text: &str, tag: Tag) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    match tag {
        Tag::None => {}
        Tag::Lang(l) => {
            out.push('@');
            out.push_str(l);
        }
        Tag::Type(t) => {
            out.push_str("^^");
            out.push_str(t);
        }
    }
}

fn node_json(n: &Node) -> Value {
    let mut o = Map::new();
    if let Some(id) = &n.id {
        o.insert("@id".into(), Value::String(id.clone()));
    }
    if !n.types.is_empty() {
        o.insert("@type".into(), json!(n.types));
    }
    for (p, t) in &n.props {
        let v = match t {
            Term::Iri(i) => json!({"@id": i}),
            Term::Literal(text, Tag::None) => json!({"@value": text}),
            Term::Literal(text, Tag::Lang(l)) => json!({"@value": text, "@language": l}),
            Term::Literal(text, Tag::Type(ty)) => json!({"@value": text, "@type": ty}),
            Term::Blank(b) => node_json(b),
        };
        if let Value::Array(a) = o
            .entry((*p).to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            a.push(v);
        }
    }
    Value::Object(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(n: Node) -> String {
        let ttl = Graph { nodes: vec![n] }.turtle();
        ttl.split_once("\n\n").unwrap().1.to_owned()
    }

    #[test]
    fn literals_are_escaped_and_tagged() {
        let mut n = Node::named("http://x.example/a", "dcat:Dataset");
        n.add("dct:title", de("Ein \"Bericht\" \\ mit\nZeilen\tund \u{7}"))
            .add("dct:identifier", plain("ä"))
            .add("dct:issued", typed("2026-03-10", "xsd:date"));
        assert_eq!(
            one(n),
            "<http://x.example/a>\n    a dcat:Dataset ;\n    \
             dct:title \"Ein \\\"Bericht\\\" \\\\ mit\\nZeilen\\tund \\u0007\"@de ;\n    \
             dct:identifier \"ä\" ;\n    dct:issued \"2026-03-10\"^^xsd:date .\n"
        );
    }

    #[test]
    fn iris_cannot_break_out_of_their_brackets() {
        let mut n = Node::named("http://x.example/a b>c\"d", "foaf:Organization");
        n.add("foaf:homepage", iri("mailto:ä@x.example"));
        let ttl = one(n);
        assert!(
            ttl.starts_with("<http://x.example/a%20b%3Ec%22d>\n"),
            "{ttl}"
        );
        assert!(
            ttl.contains("foaf:homepage <mailto:ä@x.example> ."),
            "{ttl}"
        );
    }

    #[test]
    fn blank_nodes_nest_in_both_forms() {
        let mut period = Node::blank("dct:PeriodOfTime");
        period.add("dcat:startDate", typed("2026-01-01", "xsd:date"));
        let mut n = Node::named("http://x.example/d", "dcat:Dataset");
        n.add("dct:temporal", Term::Blank(period))
            .add("dcat:keyword", de("a"))
            .add("dcat:keyword", de("b"));
        let g = Graph { nodes: vec![n] };
        assert!(g.turtle().contains(
            "    dct:temporal [\n        a dct:PeriodOfTime ;\n        \
             dcat:startDate \"2026-01-01\"^^xsd:date\n    ] ;\n"
        ));
        let j = g.json_ld();
        assert_eq!(j["@context"]["dct"], "http://purl.org/dc/terms/");
        let d = &j["@graph"][0];
        assert_eq!(d["@id"], "http://x.example/d");
        assert_eq!(
            d["dct:temporal"][0]["dcat:startDate"][0],
            json!({"@value": "2026-01-01", "@type": "xsd:date"})
        );
        assert_eq!(d["dcat:keyword"].as_array().unwrap().len(), 2);
    }
}
