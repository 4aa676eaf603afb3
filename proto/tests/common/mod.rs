//! Helpers shared by the golden tests.
#![allow(dead_code)]

use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Value};

/// A JSON document as spans of its text, so that it can be re-printed verbatim.
#[derive(Debug)]
enum Node<'a> {
    /// Entries as (raw quoted key, value).
    Object(Vec<(&'a str, Node<'a>)>),
    Array(Vec<Node<'a>>),
    Scalar(&'a str),
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Parser<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s.as_bytes()[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn peek(&self) -> u8 {
        self.s.as_bytes()[self.i]
    }
    fn string(&mut self) -> &'a str {
        let start = self.i;
        self.i += 1;
        while self.peek() != b'"' {
            if self.peek() == b'\\' {
                self.i += 1;
            }
            self.i += 1;
        }
        self.i += 1;
        &self.s[start..self.i]
    }
    fn value(&mut self) -> Node<'a> {
        self.ws();
        match self.peek() {
            b'{' => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == b'}' {
                        self.i += 1;
                        break;
                    }
                    if self.peek() == b',' {
                        self.i += 1;
                        self.ws();
                    }
                    let key = self.string();
                    self.ws();
                    assert_eq!(self.peek(), b':');
                    self.i += 1;
                    entries.push((key, self.value()));
                }
                Node::Object(entries)
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == b']' {
                        self.i += 1;
                        break;
                    }
                    if self.peek() == b',' {
                        self.i += 1;
                    }
                    items.push(self.value());
                }
                Node::Array(items)
            }
            b'"' => Node::Scalar(self.string()),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && !b",}] \n\t\r".contains(&self.peek()) {
                    self.i += 1;
                }
                Node::Scalar(&self.s[start..self.i])
            }
        }
    }
}

fn unquote(raw: &str) -> String {
    serde_json::from_str::<String>(raw).expect("valid JSON string")
}

/// Re-prints `node` compactly, keeping every object's order except map fields' objects
/// (found through `desc`), whose entries are sorted by key.
fn print(node: &Node, desc: Option<&MessageDescriptor>, is_map: bool, out: &mut String) {
    match node {
        Node::Scalar(s) => out.push_str(s),
        Node::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                print(item, desc, false, out);
            }
            out.push(']');
        }
        Node::Object(entries) => {
            let mut entries: Vec<&(&str, Node)> = entries.iter().collect();
            if is_map {
                entries.sort_by_key(|(k, _)| unquote(k));
            }
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(k);
                out.push(':');
                if is_map {
                    // `desc` is the map's value type (if a message).
                    print(v, desc, false, out);
                    continue;
                }
                let field = desc.and_then(|d| d.get_field_by_name(&unquote(k)));
                match field {
                    Some(f) if f.is_map() => {
                        let Kind::Message(entry) = f.kind() else {
                            unreachable!()
                        };
                        let value_desc = entry.map_entry_value_field().kind().as_message().cloned();
                        print(v, value_desc.as_ref(), true, out);
                    }
                    Some(f) => {
                        let nested = f.kind().as_message().cloned();
                        print(v, nested.as_ref(), false, out);
                    }
                    None => print(v, None, false, out),
                }
            }
            out.push('}');
        }
    }
}

/// `json` with the entries of every map-typed field sorted by key, everything else
/// byte for byte as it was (whitespace outside strings dropped).
pub fn canonical(json: &str, desc: &MessageDescriptor) -> String {
    let mut p = Parser { s: json, i: 0 };
    let node = p.value();
    let mut out = String::with_capacity(json.len());
    print(&node, Some(desc), false, &mut out);
    out
}

/// Clears every singular field whose value equals its explicit `[default]`, so that a
/// message parsed from JSON (where upstream printed the defaults) compares equal to the
/// same message decoded from protobuf (where they were simply absent); also drops enum
/// numbers unknown to the schema.
pub fn strip_defaults(msg: &mut DynamicMessage) {
    let desc = msg.descriptor();
    for f in desc.fields() {
        if !msg.has_field(&f) {
            continue;
        }
        let explicit = f.field_descriptor_proto().default_value.is_some();
        if explicit && !f.is_list() && *msg.get_field(&f) == f.default_value() {
            msg.clear_field(&f);
            continue;
        }
        // An enum number the schema does not know is an unknown field to C++ (and is
        // not printed): drop it, as a JSON round trip does.
        if let Kind::Enum(e) = f.kind() {
            let known = |v: &Value| v.as_enum_number().is_some_and(|n| e.get_value(n).is_some());
            match msg.get_field_mut(&f) {
                Value::List(items) => items.retain(known),
                v if !known(v) => msg.clear_field(&f),
                _ => {}
            }
            continue;
        }
        match msg.get_field_mut(&f) {
            Value::Message(m) => strip_defaults(m),
            Value::List(items) => {
                for item in items {
                    if let Value::Message(m) = item {
                        strip_defaults(m);
                    }
                }
            }
            Value::Map(map) => {
                for v in map.values_mut() {
                    if let Value::Message(m) = v {
                        strip_defaults(m);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Every key path of a JSON document (`a.b[].c`), as a sorted list: its shape.
pub fn key_paths(v: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let p = format!("{prefix}.{k}");
                    out.push(p.clone());
                    walk(v, &p, out);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{prefix}[]"), out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, "", &mut out);
    out.sort();
    out.dedup();
    out
}

/// The directory of the golden captures.
pub fn golden_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Asserts `ours == theirs`, showing where they first differ.
pub fn assert_same(ours: &str, theirs: &str, what: &str) {
    if ours == theirs {
        return;
    }
    let at = ours
        .bytes()
        .zip(theirs.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(ours.len().min(theirs.len()));
    let lo = at.saturating_sub(120);
    let ctx = |s: &str| {
        let hi = (at + 120).min(s.len());
        String::from_utf8_lossy(&s.as_bytes()[lo.min(s.len())..hi]).into_owned()
    };
    panic!(
        "{what}: differs at byte {at} (lengths {} vs {})\n  ours:   …{}…\n  theirs: …{}…",
        ours.len(),
        theirs.len(),
        ctx(ours),
        ctx(theirs)
    );
}

/// Asserts two messages are equal, showing their JSON where they differ (the `Debug`
/// of a `DynamicMessage` includes its whole descriptor pool).
pub fn assert_same_message(ours: &DynamicMessage, theirs: &DynamicMessage, what: &str) {
    if ours != theirs {
        let a = mesos_proto::json::dynamic_to_json(ours).unwrap();
        let b = mesos_proto::json::dynamic_to_json(theirs).unwrap();
        assert_same(&a, &b, what);
        panic!("{what}: messages differ but print the same JSON: {a}");
    }
}
