//! Protobuf `DebugString()` (C++ `TextFormat` with default printer options),
//! which upstream uses to print several protobuf-typed flags in `/flags`
//! (`ACLs`, `RateLimits`, `Modules`, `ContainerInfo`, `Firewall`,
//! `ImageGcConfig`, `ContainerDNSInfo`, `SlaveCapabilities`; see the
//! `operator<<` overloads in `src/common/type_utils.cpp`,
//! `src/authorizer/acls.cpp`, `include/mesos/module/module.hpp`,
//! `src/messages/flags.hpp`).
//!
//! Format: set fields in field-number order, one per line, `name: value`;
//! sub-messages as `name {` ... `}` indented by two spaces; repeated fields
//! repeat the line; enums by name; strings C-escaped with bytes >= 0x80 in
//! octal (protobuf 3.5's DebugString); doubles the shortest of `%.15g` /
//! `%.17g` that round-trips, floats `%.6g` / `%.9g`.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MapKey, Value};

use crate::numfmt::format_g;

/// `message.DebugString()`.
pub fn debug_string(message: &DynamicMessage) -> String {
    let mut out = String::new();
    write_message(&mut out, message, 0);
    out
}

fn write_message(out: &mut String, message: &DynamicMessage, indent: usize) {
    let mut fields: Vec<(FieldDescriptor, &Value)> = message.fields().collect();
    fields.sort_by_key(|(f, _)| f.number());
    for (field, value) in fields {
        match value {
            Value::List(items) => {
                for item in items {
                    write_field(out, &field, item, indent);
                }
            }
            Value::Map(map) => {
                // Entries as repeated `name { key: ... value: ... }`, sorted by key.
                let mut entries: Vec<(&MapKey, &Value)> = map.iter().collect();
                entries.sort_by_key(|(k, _)| map_key_text(k));
                let value_field = field.kind().as_message().and_then(|m| m.get_field(2));
                for (k, v) in entries {
                    pad(out, indent);
                    out.push_str(field.name());
                    out.push_str(" {\n");
                    pad(out, indent + 2);
                    out.push_str("key: ");
                    out.push_str(&map_key_text(k));
                    out.push('\n');
                    if let Some(vf) = &value_field {
                        write_field_named(out, "value", vf, v, indent + 2);
                    }
                    pad(out, indent);
                    out.push_str("}\n");
                }
            }
            single => write_field(out, &field, single, indent),
        }
    }
}

fn write_field(out: &mut String, field: &FieldDescriptor, value: &Value, indent: usize) {
    write_field_named(out, field.name(), field, value, indent);
}

fn write_field_named(
    out: &mut String,
    name: &str,
    field: &FieldDescriptor,
    value: &Value,
    indent: usize,
) {
    pad(out, indent);
    out.push_str(name);
    if let Value::Message(m) = value {
        out.push_str(" {\n");
        write_message(out, m, indent + 2);
        pad(out, indent);
        out.push_str("}\n");
        return;
    }
    out.push_str(": ");
    out.push_str(&scalar_text(field, value));
    out.push('\n');
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn scalar_text(field: &FieldDescriptor, value: &Value) -> String {
    match value {
        Value::Bool(b) => b.to_string(),
        Value::I32(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(x) => float_text(*x as f64, 6, 9, |s| s.parse::<f32>().ok() == Some(*x)),
        Value::F64(x) => float_text(*x, 15, 17, |s| s.parse::<f64>().ok() == Some(*x)),
        Value::String(s) => format!("\"{}\"", c_escape(s.as_bytes())),
        Value::Bytes(b) => format!("\"{}\"", c_escape(b)),
        Value::EnumNumber(n) => match field.kind() {
            Kind::Enum(e) => e
                .get_value(*n)
                .map(|v| v.name().to_string())
                .unwrap_or_else(|| n.to_string()),
            _ => n.to_string(),
        },
        // Lists, maps and messages are handled by the callers.
        Value::List(_) | Value::Map(_) | Value::Message(_) => String::new(),
    }
}

/// protobuf's SimpleDtoa / SimpleFtoa: short precision if it round-trips.
fn float_text(x: f64, short: usize, long: usize, round_trips: impl Fn(&str) -> bool) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    let s = format_g(x, short);
    if round_trips(&s) {
        s
    } else {
        format_g(x, long)
    }
}

fn map_key_text(k: &MapKey) -> String {
    match k {
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
        MapKey::String(s) => format!("\"{}\"", c_escape(s.as_bytes())),
    }
}

/// protobuf's `CEscape`.
fn c_escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'"' => out.push_str("\\\""),
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{:03o}", b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str, json: serde_json::Value) -> DynamicMessage {
        let desc = mesos_proto::pool::message_descriptor_by_name(name).unwrap();
        mesos_proto::json::dynamic_from_json(&desc, &json).unwrap()
    }

    #[test]
    fn acls_print_as_the_real_master_prints_them() {
        // Captured from a real 1.9.0 master's /flags (see tests/fixtures).
        let m = parse(
            "mesos.ACLs",
            serde_json::json!({"permissive": true, "run_tasks": [
                {"principals": {"values": ["a", "b"]}, "users": {"type": "ANY"}}]}),
        );
        assert_eq!(
            debug_string(&m),
            "permissive: true\nrun_tasks {\n  principals {\n    values: \"a\"\n    values: \
             \"b\"\n  }\n  users {\n    type: ANY\n  }\n}\n"
        );
    }

    #[test]
    fn escapes_and_numbers() {
        assert_eq!(
            c_escape("a\"b\\\n\u{e9}".as_bytes()),
            "a\\\"b\\\\\\n\\303\\251"
        );
        let m = parse(
            "mesos.RateLimits",
            serde_json::json!({"aggregate_default_qps": 0.1, "limits": [
                {"principal": "p", "qps": 1.5, "capacity": 3}]}),
        );
        let s = debug_string(&m);
        assert!(s.contains("aggregate_default_qps: 0.1\n"), "{s}");
        assert!(
            s.starts_with("limits {\n  qps: 1.5\n  principal: \"p\"\n  capacity: 3\n}\n"),
            "{s}"
        );
    }
}
