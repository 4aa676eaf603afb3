//! protobuf -> Mesos JSON, byte for byte as stout's `json(ObjectWriter*, const
//! Protobuf&)` (`3rdparty/stout/include/stout/protobuf.hpp:816-1045`) driven through
//! rapidjson's compact `Writer` (`stout/jsonify.hpp`).
//!
//! The per-message work that does not depend on the message's contents (which fields
//! exist, their quoted keys, whether an unset field prints a default and what it
//! prints) is computed once per schema into a [`Plans`] table, so serializing a large
//! `GET_STATE` response only walks values.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine as _;
use prost_reflect::{
    DynamicMessage, EnumDescriptor, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    ReflectMessage, Value,
};

use super::JsonError;
use crate::pool::{descriptor_pool, fields_in_declaration_order};

/// How one field is written.
pub(super) struct FieldPlan {
    pub(super) desc: FieldDescriptor,
    /// `"name":`, already quoted and escaped.
    pub(super) key: Box<str>,
    pub(super) shape: Shape,
    /// For an unset singular field that declares `[default = ...]` and is not
    /// deprecated: the rendered default (stout prints it as if it were set).
    pub(super) default_json: Option<Box<str>>,
    /// The field's type as the wire knows it (for a map: the entry's value type).
    pub(super) prim: Prim,
    /// For a map: the entry's key type.
    pub(super) map_key: Prim,
    /// Index of the `oneof` the field belongs to, if any.
    pub(super) oneof: Option<u32>,
    /// A proto3 singular scalar without `optional`: C++'s `HasField` is false when it
    /// holds its type's zero value, so a zero is not printed.
    pub(super) implicit_presence: bool,
}

/// A field type as far as decoding its wire value goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Prim {
    Double,
    Float,
    Int64,
    Uint64,
    Int32,
    Uint32,
    Sint32,
    Sint64,
    Fixed32,
    Fixed64,
    Sfixed32,
    Sfixed64,
    Bool,
    String,
    Bytes,
    Enum,
    Message,
}

impl Prim {
    fn of(kind: &Kind) -> Prim {
        match kind {
            Kind::Double => Prim::Double,
            Kind::Float => Prim::Float,
            Kind::Int64 => Prim::Int64,
            Kind::Uint64 => Prim::Uint64,
            Kind::Int32 => Prim::Int32,
            Kind::Uint32 => Prim::Uint32,
            Kind::Sint32 => Prim::Sint32,
            Kind::Sint64 => Prim::Sint64,
            Kind::Fixed32 => Prim::Fixed32,
            Kind::Fixed64 => Prim::Fixed64,
            Kind::Sfixed32 => Prim::Sfixed32,
            Kind::Sfixed64 => Prim::Sfixed64,
            Kind::Bool => Prim::Bool,
            Kind::String => Prim::String,
            Kind::Bytes => Prim::Bytes,
            Kind::Enum(_) => Prim::Enum,
            Kind::Message(_) => Prim::Message,
        }
    }

    /// The wire type a single value of this type is written with.
    pub(super) fn wire_type(self) -> u8 {
        match self {
            Prim::Double | Prim::Fixed64 | Prim::Sfixed64 => 1,
            Prim::Float | Prim::Fixed32 | Prim::Sfixed32 => 5,
            Prim::String | Prim::Bytes | Prim::Message => 2,
            _ => 0,
        }
    }
}

#[derive(Clone)]
pub(super) enum Shape {
    Singular(ValueKind),
    List(ValueKind),
    Map { value: ValueKind },
}

#[derive(Clone)]
pub(super) enum ValueKind {
    Scalar,
    Bytes,
    Enum(EnumDescriptor),
    /// Index into [`Plans::messages`].
    Message(usize),
}

pub(super) struct MessagePlan {
    pub(super) fields: Vec<FieldPlan>,
    /// (field number, index into `fields`), sorted by number.
    pub(super) by_number: Vec<(u32, usize)>,
    /// (field name, index into `fields`), sorted by name.
    pub(super) by_name: Vec<(Box<str>, usize)>,
    pub(super) has_oneof: bool,
}

/// Write plans for every message of the schema.
pub(super) struct Plans {
    pub(super) messages: Vec<MessagePlan>,
    pub(super) by_name: HashMap<String, usize>,
}

impl Plans {
    pub(super) fn index_of(&self, desc: &MessageDescriptor) -> Result<usize, JsonError> {
        self.by_name
            .get(desc.full_name())
            .copied()
            .ok_or_else(|| JsonError::UnknownMessage(desc.full_name().to_owned()))
    }
}

/// The plans for our schema's pool, built on first use.
pub(super) fn plans() -> &'static Plans {
    static PLANS: OnceLock<Plans> = OnceLock::new();
    PLANS.get_or_init(|| build_plans(descriptor_pool().all_messages()))
}

fn build_plans(all: impl Iterator<Item = MessageDescriptor>) -> Plans {
    let all: Vec<MessageDescriptor> = all.collect();
    let by_name: HashMap<String, usize> = all
        .iter()
        .enumerate()
        .map(|(i, m)| (m.full_name().to_owned(), i))
        .collect();
    let kind_of = |kind: &Kind| match kind {
        Kind::Bytes => ValueKind::Bytes,
        Kind::Enum(e) => ValueKind::Enum(e.clone()),
        Kind::Message(m) => ValueKind::Message(by_name[m.full_name()]),
        _ => ValueKind::Scalar,
    };
    let mut messages = Vec::with_capacity(all.len());
    for m in &all {
        let mut fields = Vec::new();
        for f in fields_in_declaration_order(m) {
            let mut prim = Prim::of(&f.kind());
            let mut map_key = Prim::String;
            let shape = if f.is_map() {
                let Kind::Message(entry) = f.kind() else {
                    unreachable!("a map field's kind is its entry message")
                };
                prim = Prim::of(&entry.map_entry_value_field().kind());
                map_key = Prim::of(&entry.map_entry_key_field().kind());
                Shape::Map {
                    value: kind_of(&entry.map_entry_value_field().kind()),
                }
            } else if f.is_list() {
                Shape::List(kind_of(&f.kind()))
            } else {
                Shape::Singular(kind_of(&f.kind()))
            };
            let mut key = String::with_capacity(f.name().len() + 3);
            write_str(&mut key, f.name());
            key.push(':');
            let proto = f.field_descriptor_proto();
            let deprecated = proto.options.as_ref().and_then(|o| o.deprecated) == Some(true);
            let default_json = if !f.is_list() && proto.default_value.is_some() && !deprecated {
                let mut s = String::new();
                // A default that cannot be printed (NaN) is left out rather than
                // failing every message of that type; upstream would crash here.
                match write_value(&mut s, &f.default_value(), &kind_of(&f.kind()), &[]) {
                    Ok(true) => Some(s.into_boxed_str()),
                    _ => None,
                }
            } else {
                None
            };
            let oneof = proto.oneof_index.and_then(|i| u32::try_from(i).ok());
            let implicit_presence = !f.supports_presence() && !f.is_list() && !f.is_map();
            fields.push(FieldPlan {
                desc: f.clone(),
                key: key.into_boxed_str(),
                shape,
                default_json,
                prim,
                map_key,
                oneof,
                implicit_presence,
            });
        }
        let mut by_number: Vec<(u32, usize)> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.desc.number(), i))
            .collect();
        by_number.sort_unstable();
        let mut by_name: Vec<(Box<str>, usize)> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| (Box::from(f.desc.name()), i))
            .collect();
        by_name.sort_unstable();
        let has_oneof = fields.iter().any(|f| f.oneof.is_some());
        messages.push(MessagePlan {
            fields,
            by_number,
            by_name,
            has_oneof,
        });
    }
    Plans { messages, by_name }
}

/// Writes `msg` as a JSON object onto `out`.
pub(super) fn write_message(out: &mut String, msg: &DynamicMessage) -> Result<(), JsonError> {
    let plans = plans();
    let index = plans.index_of(&msg.descriptor())?;
    write_object(out, msg, index, &plans.messages)
}

fn write_object(
    out: &mut String,
    msg: &DynamicMessage,
    index: usize,
    plans: &[MessagePlan],
) -> Result<(), JsonError> {
    out.push('{');
    let mut first = true;
    for fp in &plans[index].fields {
        if !msg.has_field(&fp.desc) {
            // stout: unset repeated/map fields are skipped; unset singular fields are
            // printed only when they declare a non-deprecated default.
            if let Some(default) = &fp.default_json {
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(&fp.key);
                out.push_str(default);
            }
            continue;
        }
        let value = msg.get_field(&fp.desc);
        let mark = out.len();
        if !first {
            out.push(',');
        }
        out.push_str(&fp.key);
        let written = match &fp.shape {
            Shape::Singular(kind) => write_value(out, &value, kind, plans)?,
            Shape::List(kind) => write_list(out, &value, kind, plans)?,
            Shape::Map { value: vk } => write_map(out, &value, vk, plans)?,
        };
        if written {
            first = false;
        } else if let (Shape::Singular(_), Some(default)) = (&fp.shape, &fp.default_json) {
            // An enum number the schema does not know is an unknown field to C++, so
            // the field is unset there: print its default, as for any unset field.
            out.push_str(default);
            first = false;
        } else {
            // Nothing printable (the same unknown enum number case): leave it out.
            out.truncate(mark);
        }
    }
    out.push('}');
    Ok(())
}

fn write_list(
    out: &mut String,
    value: &Value,
    kind: &ValueKind,
    plans: &[MessagePlan],
) -> Result<bool, JsonError> {
    let Some(items) = value.as_list() else {
        return Err(JsonError::Internal("list field without a list value"));
    };
    if let ValueKind::Enum(e) = kind {
        // Unknown enum numbers never reach C++'s repeated field; if none is left the
        // field is empty and so not printed at all.
        if !items
            .iter()
            .any(|v| v.as_enum_number().is_some_and(|n| e.get_value(n).is_some()))
        {
            return Ok(false);
        }
    }
    out.push('[');
    let mut first = true;
    for item in items {
        let mark = out.len();
        if !first {
            out.push(',');
        }
        if write_value(out, item, kind, plans)? {
            first = false;
        } else {
            out.truncate(mark);
        }
    }
    out.push(']');
    Ok(true)
}

fn write_map(
    out: &mut String,
    value: &Value,
    value_kind: &ValueKind,
    plans: &[MessagePlan],
) -> Result<bool, JsonError> {
    let Some(map) = value.as_map() else {
        return Err(JsonError::Internal("map field without a map value"));
    };
    // Upstream iterates the C++ map in hash order, which is not reproducible; sorted
    // keys make our output deterministic (tests compare maps structurally).
    let mut entries: Vec<(&MapKey, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    let mut first = true;
    let mut key_buf = itoa::Buffer::new();
    for (k, v) in entries {
        let mark = out.len();
        if !first {
            out.push(',');
        }
        // stout stringifies keys with `jsonify(key)` for bool/integers.
        match k {
            MapKey::Bool(b) => out.push_str(if *b { "\"true\"" } else { "\"false\"" }),
            MapKey::I32(n) => push_quoted(out, key_buf.format(*n)),
            MapKey::I64(n) => push_quoted(out, key_buf.format(*n)),
            MapKey::U32(n) => push_quoted(out, key_buf.format(*n)),
            MapKey::U64(n) => push_quoted(out, key_buf.format(*n)),
            MapKey::String(s) => write_str(out, s),
        }
        out.push(':');
        if write_value(out, v, value_kind, plans)? {
            first = false;
        } else {
            // An unknown enum value in a map entry: C++ parsing keeps the whole entry
            // among the unknown fields, so it is not printed.
            out.truncate(mark);
        }
    }
    out.push('}');
    Ok(true)
}

fn push_quoted(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}

/// Writes one value. Returns `Ok(false)` if nothing was written (unknown enum number).
pub(super) fn write_value(
    out: &mut String,
    value: &Value,
    kind: &ValueKind,
    plans: &[MessagePlan],
) -> Result<bool, JsonError> {
    let mut ibuf = itoa::Buffer::new();
    match value {
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::I32(n) => out.push_str(ibuf.format(*n)),
        Value::I64(n) => out.push_str(ibuf.format(*n)),
        Value::U32(n) => out.push_str(ibuf.format(*n)),
        Value::U64(n) => out.push_str(ibuf.format(*n)),
        // stout widens floats to double before handing them to rapidjson.
        Value::F32(x) => write_double(out, f64::from(*x))?,
        Value::F64(x) => write_double(out, *x)?,
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => {
            out.push('"');
            base64::engine::general_purpose::STANDARD.encode_string(b, out);
            out.push('"');
        }
        Value::EnumNumber(n) => {
            let ValueKind::Enum(e) = kind else {
                return Err(JsonError::Internal("enum value for a non-enum field"));
            };
            match e.get_value(*n) {
                Some(v) => write_str(out, v.name()),
                None => return Ok(false),
            }
        }
        Value::Message(m) => {
            let ValueKind::Message(index) = kind else {
                return Err(JsonError::Internal("message value for a non-message field"));
            };
            write_object(out, m, *index, plans)?;
        }
        Value::List(_) | Value::Map(_) => {
            return Err(JsonError::Internal("nested list or map value"));
        }
    }
    Ok(true)
}

/// rapidjson's `Writer::Double`: Grisu2 digits, then its "Prettify" layout (`1.0`,
/// `0.001`, `1e21`, `1.5e-7`). The `dtoa` crate is a port of exactly that code.
/// NaN and infinities make rapidjson's writer fail (a CHECK failure in stout); here
/// they are an error.
pub(super) fn write_double(out: &mut String, x: f64) -> Result<(), JsonError> {
    if !x.is_finite() {
        return Err(JsonError::NonFinite(x));
    }
    let mut buf = dtoa::Buffer::new();
    out.push_str(buf.format_finite(x));
    Ok(())
}

/// rapidjson's string escaping (writer.h `WriteString`, no validation flag): `"` and
/// `\` escaped, control characters as `\b \t \n \f \r` or `\u00XX` (upper-case hex),
/// everything else (including `/`, DEL and non-ASCII) copied as is.
pub(super) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            0x08 => "\\b",
            0x09 => "\\t",
            0x0A => "\\n",
            0x0C => "\\f",
            0x0D => "\\r",
            0x00..=0x1F => "",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push_str("\\u00");
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0xF)] as char);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(x: f64) -> String {
        let mut s = String::new();
        write_double(&mut s, x).unwrap();
        s
    }

    #[test]
    fn doubles_print_like_rapidjson() {
        assert_eq!(d(1.0), "1.0");
        assert_eq!(d(0.0), "0.0");
        assert_eq!(d(-0.0), "-0.0");
        assert_eq!(d(0.1), "0.1");
        assert_eq!(d(-2.5), "-2.5");
        assert_eq!(d(1567653649.0), "1567653649.0");
        assert_eq!(d(1e20), "100000000000000000000.0");
        assert_eq!(d(1e21), "1e21");
        assert_eq!(d(1.5e21), "1.5e21");
        assert_eq!(d(0.000001), "0.000001");
        assert_eq!(d(1e-7), "1e-7");
        assert_eq!(d(1.25e-7), "1.25e-7");
        assert_eq!(d(123e300), "1.23e302");
        // Grisu2 is not always shortest: rapidjson prints 0.1 + 0.2 with a 7 (shortest
        // round-trip would end in 4); the golden tests check a master's output of it.
        assert_eq!(d(0.1 + 0.2), "0.30000000000000007");
        assert_eq!(d(f64::from(0.1f32)), "0.10000000149011612");
        assert!(matches!(
            write_double(&mut String::new(), f64::NAN),
            Err(JsonError::NonFinite(_))
        ));
        assert!(write_double(&mut String::new(), f64::INFINITY).is_err());
    }

    #[test]
    fn strings_escape_like_rapidjson() {
        let mut s = String::new();
        write_str(&mut s, "a\"b\\c/d\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f}é");
        assert_eq!(s, "\"a\\\"b\\\\c/d\\n\\t\\r\\b\\f\\u0001\\u001F\u{7f}é\"");
    }
}
