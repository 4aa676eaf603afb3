//! A small streaming JSON writer for the large v0 endpoints (`/state`,
//! `/slaves`, `/frameworks`, `/tasks`, `/state-summary`), in the spirit of
//! upstream's `JSON::ObjectWriter`/`jsonify` (stout `jsonify.hpp`): fields
//! go straight into one byte buffer instead of through a `serde_json::Value`
//! tree. Leaves (strings, doubles) are printed by serde_json itself so the
//! bytes stay exactly what the former `Value` path produced.

use std::io::Write;

use serde_json::Value;

/// A JSON string with serde_json's escaping.
pub fn str(out: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// A double as serde_json prints it (shortest round-trip form, `null`
/// for non-finite values, as `json!(f64)` did).
pub fn f64(out: &mut Vec<u8>, v: f64) {
    let _ = serde_json::to_writer(&mut *out, &v);
}

/// An integer.
pub fn int<T: std::fmt::Display>(out: &mut Vec<u8>, v: T) {
    let _ = write!(out, "{v}");
}

pub fn bool(out: &mut Vec<u8>, v: bool) {
    out.extend_from_slice(if v { b"true" } else { b"false" });
}

/// An already-built value (the small nested protobufs).
pub fn value(out: &mut Vec<u8>, v: &Value) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// An object being written; `end` closes it.
pub struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Starts field `k` and returns the buffer to write its value into.
    pub fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        str(self.out, k);
        self.out.push(b':');
        self.out
    }

    pub fn str(&mut self, k: &str, v: &str) {
        str(self.key(k), v);
    }

    pub fn f64(&mut self, k: &str, v: f64) {
        f64(self.key(k), v);
    }

    pub fn int<T: std::fmt::Display>(&mut self, k: &str, v: T) {
        int(self.key(k), v);
    }

    pub fn bool(&mut self, k: &str, v: bool) {
        bool(self.key(k), v);
    }

    pub fn value(&mut self, k: &str, v: &Value) {
        value(self.key(k), v);
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

/// An array being written; `end` closes it.
pub struct Arr<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Arr<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'[');
        Arr { out, first: true }
    }

    /// Starts the next element and returns the buffer to write it into.
    pub fn item(&mut self) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out
    }

    pub fn end(self) {
        self.out.push(b']');
    }
}

/// An array of strings.
pub fn str_array<'s>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'s str>) {
    let mut a = Arr::new(out);
    for s in items {
        str(a.item(), s);
    }
    a.end();
}

/// The buffer as the response body. Every writer above emits valid UTF-8
/// (keys and strings come from `&str`).
pub fn into_string(out: Vec<u8>) -> String {
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn leaves_match_serde_json() {
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out);
        o.str("s", "a\"b\\c\n\u{1}é");
        o.f64("x", 2.0);
        o.f64("y", 0.1);
        o.f64("z", f64::NAN);
        o.int("n", -5i32);
        o.bool("t", true);
        str_array(o.key("a"), ["p", "q"]);
        o.end();
        let expected = json!({
            "s": "a\"b\\c\n\u{1}é", "x": 2.0, "y": 0.1, "z": f64::NAN, "n": -5,
            "t": true, "a": ["p", "q"],
        });
        assert_eq!(into_string(out), expected.to_string());
    }
}
