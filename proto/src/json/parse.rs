//! Mesos JSON -> protobuf, following stout's `protobuf::internal::Parser`
//! (`3rdparty/stout/include/stout/protobuf.hpp:417-800`):
//!
//! - keys are proto field names; unknown keys are ignored; `null` leaves a field unset;
//! - a JSON array is accepted only for repeated/map fields, and nested arrays flatten;
//!   a single value for a repeated field appends one element;
//! - strings are accepted for every numeric field (parsed as a JSON number) and for
//!   bools (`"true"`/`"false"`); numbers are NOT accepted for string/bytes/enum fields;
//! - bytes are base64 (stout's lenient decoder: whitespace skipped, stops at `=`);
//! - enums by name; an unknown name is dropped unless the field is `required`;
//! - maps come from objects (keys parsed as the key type);
//! - object keys are visited in sorted order (stout's `JSON::Object` is a `std::map`),
//!   which decides which member of a `oneof` wins when several are given;
//! - required fields are checked once at the end (`IsInitialized()`).
//!
//! The JSON is encoded straight into protobuf bytes (no intermediate message), which
//! are then required-checked on the wire and decoded into the target type. One
//! difference remains: when a JSON object names several members of one `oneof`, the
//! required check also looks inside the members that decoding then discards.

use prost::encoding::{encode_key, encode_varint, WireType};
use prost_reflect::{DynamicMessage, Kind, ReflectMessage, Value};
use serde_json::{Map, Value as Json};

use super::write::{plans, FieldPlan, MessagePlan, Prim, Shape, ValueKind};
use super::JsonError;
use crate::pool::fields_in_declaration_order;

/// A JSON number as stout's `JSON::Number` holds it.
#[derive(Clone, Copy, Debug)]
enum Num {
    I64(i64),
    /// Integers above `i64::MAX`. picojson turns these into doubles (losing
    /// precision); we keep them exact, which only differs for values that upstream
    /// would have corrupted.
    U64(u64),
    F64(f64),
}

/// Encodes `obj` as the protobuf bytes of a message of plan `index` (appended to
/// `out`), without the required-field check. The bytes are an intermediate form: fields
/// come in sorted-key order (so a later `oneof` member overrides an earlier one on
/// decoding, as in stout) and nested lengths are 5-byte padded varints.
pub(super) fn encode_message(
    index: usize,
    obj: &Map<String, Json>,
    out: &mut Vec<u8>,
) -> Result<(), JsonError> {
    let plans = &plans().messages;
    let mut path = String::new();
    encode_object(plans, index, obj, out, &mut path, 0)
}

/// serde_json refuses documents nested deeper than 128; this guards our own recursion.
const MAX_DEPTH: u32 = 200;

fn encode_object(
    plans: &[MessagePlan],
    index: usize,
    obj: &Map<String, Json>,
    out: &mut Vec<u8>,
    path: &mut String,
    depth: u32,
) -> Result<(), JsonError> {
    if depth >= MAX_DEPTH {
        return Err(JsonError::Internal("JSON nested too deeply"));
    }
    let plan = &plans[index];
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort_unstable();
    for key in keys {
        let Ok(at) = plan
            .by_name
            .binary_search_by(|(name, _)| name.as_ref().cmp(key.as_str()))
        else {
            continue; // stout ignores unknown names.
        };
        let fp = &plan.fields[plan.by_name[at].1];
        let mark = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
        let result = apply(plans, fp, &obj[key.as_str()], out, path, depth);
        path.truncate(mark);
        result?;
    }
    Ok(())
}

/// Applies one JSON value to field `fp` (one `Parser` visit in stout).
fn apply(
    plans: &[MessagePlan],
    fp: &FieldPlan,
    json: &Json,
    out: &mut Vec<u8>,
    path: &mut String,
    depth: u32,
) -> Result<(), JsonError> {
    let number = fp.desc.number();
    match (json, &fp.shape) {
        (Json::Null, _) => Ok(()),
        (Json::Array(_), Shape::Singular(_)) => Err(unexpected("array", path)),
        (Json::Array(items), _) => {
            for item in items {
                apply(plans, fp, item, out, path, depth)?;
            }
            Ok(())
        }
        (Json::Object(obj), Shape::Map { value }) => {
            encode_map(plans, fp, value, obj, out, path, depth)
        }
        (Json::Object(obj), Shape::Singular(ValueKind::Message(index)))
        | (Json::Object(obj), Shape::List(ValueKind::Message(index))) => {
            let at = begin_len(out, number);
            encode_object(plans, *index, obj, out, path, depth + 1)?;
            end_len(out, at)
        }
        (Json::Object(_), _) => Err(unexpected("object", path)),
        (scalar, Shape::Map { .. }) => Err(unexpected(json_kind(scalar), path)),
        (scalar, _) => {
            if let Some(v) = scalar_value(&fp.desc.kind(), fp.desc.is_required(), scalar, path)? {
                put_value(out, number, fp.prim, &v);
            }
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn encode_map(
    plans: &[MessagePlan],
    fp: &FieldPlan,
    value_kind: &ValueKind,
    obj: &Map<String, Json>,
    out: &mut Vec<u8>,
    path: &mut String,
    depth: u32,
) -> Result<(), JsonError> {
    let Kind::Message(entry) = fp.desc.kind() else {
        return Err(JsonError::Internal("map field without an entry type"));
    };
    let key_kind = entry.map_entry_key_field().kind();
    let value_field = entry.map_entry_value_field();
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort_unstable();
    for key in keys {
        let mark = path.len();
        path.push('[');
        path.push_str(key);
        path.push(']');
        let at = begin_len(out, fp.desc.number());
        // stout parses the key as if it were a JSON string value for the key field.
        let k = scalar_value(&key_kind, false, &Json::String(key.clone()), path)?;
        if let Some(k) = k {
            put_value(out, 1, fp.map_key, &k);
        }
        match (value_kind, &obj[key.as_str()]) {
            (_, Json::Null) => {}
            (ValueKind::Message(index), Json::Object(o)) => {
                let inner = begin_len(out, 2);
                encode_object(plans, *index, o, out, path, depth + 1)?;
                end_len(out, inner)?;
            }
            (_, Json::Array(_)) => return Err(unexpected("array", path)),
            (ValueKind::Message(_), other) => return Err(unexpected(json_kind(other), path)),
            // An unknown enum name leaves the entry's value unset: the map reads it
            // as the default value.
            (_, other) => {
                if let Some(v) = scalar_value(&value_field.kind(), false, other, path)? {
                    put_value(out, 2, fp.prim, &v);
                }
            }
        }
        end_len(out, at)?;
        path.truncate(mark);
    }
    Ok(())
}

/// Starts a length-delimited field: its key, then room for a 5-byte length.
fn begin_len(out: &mut Vec<u8>, number: u32) -> usize {
    encode_key(number, WireType::LengthDelimited, out);
    out.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x00]);
    out.len()
}

/// Fills in the length reserved by [`begin_len`] as a padded varint.
fn end_len(out: &mut [u8], body_start: usize) -> Result<(), JsonError> {
    let len = u32::try_from(out.len() - body_start)
        .map_err(|_| JsonError::Internal("message longer than 4 GiB"))?;
    let at = body_start - 5;
    for i in 0..4 {
        out[at + i] = ((len >> (7 * i)) & 0x7F) as u8 | 0x80;
    }
    out[at + 4] = (len >> 28) as u8;
    Ok(())
}

/// Appends field `number` holding `v` (of wire type `prim`).
fn put_value(out: &mut Vec<u8>, number: u32, prim: Prim, v: &Value) {
    let wire_type = match prim.wire_type() {
        0 => WireType::Varint,
        1 => WireType::SixtyFourBit,
        5 => WireType::ThirtyTwoBit,
        _ => WireType::LengthDelimited,
    };
    encode_key(number, wire_type, out);
    match (v, prim) {
        (Value::Bool(b), _) => encode_varint(u64::from(*b), out),
        (Value::I32(n), Prim::Sint32) => {
            encode_varint(u64::from(((n << 1) ^ (n >> 31)) as u32), out)
        }
        (Value::I32(n), Prim::Sfixed32) => out.extend_from_slice(&n.to_le_bytes()),
        (Value::I32(n), _) => encode_varint(*n as i64 as u64, out),
        (Value::I64(n), Prim::Sint64) => encode_varint(((n << 1) ^ (n >> 63)) as u64, out),
        (Value::I64(n), Prim::Sfixed64) => out.extend_from_slice(&n.to_le_bytes()),
        (Value::I64(n), _) => encode_varint(*n as u64, out),
        (Value::U32(n), Prim::Fixed32) => out.extend_from_slice(&n.to_le_bytes()),
        (Value::U32(n), _) => encode_varint(u64::from(*n), out),
        (Value::U64(n), Prim::Fixed64) => out.extend_from_slice(&n.to_le_bytes()),
        (Value::U64(n), _) => encode_varint(*n, out),
        (Value::F32(x), _) => out.extend_from_slice(&x.to_le_bytes()),
        (Value::F64(x), _) => out.extend_from_slice(&x.to_le_bytes()),
        (Value::String(s), _) => {
            encode_varint(s.len() as u64, out);
            out.extend_from_slice(s.as_bytes());
        }
        (Value::Bytes(b), _) => {
            encode_varint(b.len() as u64, out);
            out.extend_from_slice(b);
        }
        (Value::EnumNumber(n), _) => encode_varint(*n as i64 as u64, out),
        // `scalar_value` never produces these.
        (Value::Message(_) | Value::List(_) | Value::Map(_), _) => {}
    }
}

/// Converts a non-container JSON value for a field of `kind`. `Ok(None)` means "leave
/// unset" (`null`, or an unknown enum name on a non-required field).
fn scalar_value(
    kind: &Kind,
    required: bool,
    json: &Json,
    path: &str,
) -> Result<Option<Value>, JsonError> {
    match json {
        Json::Null => Ok(None),
        Json::Bool(b) => match kind {
            Kind::Bool => Ok(Some(Value::Bool(*b))),
            _ => Err(unexpected("boolean", path)),
        },
        Json::Number(n) => {
            let num = if let Some(i) = n.as_i64() {
                Num::I64(i)
            } else if let Some(u) = n.as_u64() {
                Num::U64(u)
            } else {
                Num::F64(n.as_f64().unwrap_or(f64::NAN))
            };
            number_value(kind, num, path).map(Some)
        }
        Json::String(s) => match kind {
            Kind::String => Ok(Some(Value::String(s.clone()))),
            Kind::Bytes => match base64_decode(s) {
                Ok(b) => Ok(Some(Value::Bytes(b.into()))),
                Err(reason) => Err(JsonError::Base64 {
                    field: path.to_owned(),
                    reason,
                }),
            },
            Kind::Enum(e) => match e.get_value_by_name(s) {
                Some(v) => Ok(Some(Value::EnumNumber(v.number()))),
                None if required => Err(JsonError::UnknownEnum {
                    field: path.to_owned(),
                    name: s.clone(),
                }),
                None => Ok(None),
            },
            Kind::Bool => match s.trim_matches(WHITESPACE) {
                "true" => Ok(Some(Value::Bool(true))),
                "false" => Ok(Some(Value::Bool(false))),
                _ => Err(JsonError::InvalidBool {
                    field: path.to_owned(),
                    text: s.clone(),
                }),
            },
            Kind::Message(_) => Err(unexpected("string", path)),
            _ => {
                let num = number_from_str(s).map_err(|reason| JsonError::InvalidNumber {
                    field: path.to_owned(),
                    text: s.clone(),
                    reason,
                })?;
                number_value(kind, num, path).map(Some)
            }
        },
        Json::Array(_) => Err(unexpected("array", path)),
        Json::Object(_) => Err(unexpected("object", path)),
    }
}

/// `JSON::Number::as<T>()`: integer to integer conversions wrap like C++'s
/// `static_cast`; doubles truncate toward zero. A double outside the target range is
/// undefined behaviour in C++; here it is an error.
fn number_value(kind: &Kind, num: Num, path: &str) -> Result<Value, JsonError> {
    let out_of_range = || JsonError::OutOfRange {
        field: path.to_owned(),
        value: match num {
            Num::I64(v) => v.to_string(),
            Num::U64(v) => v.to_string(),
            Num::F64(v) => v.to_string(),
        },
    };
    let float = |lo: f64, hi: f64| match num {
        Num::F64(x) if x > lo && x < hi => Ok(x.trunc()),
        Num::F64(_) => Err(out_of_range()),
        _ => Ok(0.0),
    };
    Ok(match kind {
        Kind::Double => Value::F64(match num {
            Num::I64(v) => v as f64,
            Num::U64(v) => v as f64,
            Num::F64(x) => x,
        }),
        Kind::Float => Value::F32(match num {
            Num::I64(v) => v as f32,
            Num::U64(v) => v as f32,
            Num::F64(x) => x as f32,
        }),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(match num {
            Num::I64(v) => v,
            Num::U64(v) => v as i64,
            Num::F64(_) => float(-9_223_372_036_854_777_856.0, 9_223_372_036_854_775_808.0)? as i64,
        }),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(match num {
            Num::I64(v) => v as u64,
            Num::U64(v) => v,
            Num::F64(_) => float(-1.0, 18_446_744_073_709_551_616.0)? as u64,
        }),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(match num {
            Num::I64(v) => v as i32,
            Num::U64(v) => v as i32,
            Num::F64(_) => float(-2_147_483_649.0, 2_147_483_648.0)? as i32,
        }),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(match num {
            Num::I64(v) => v as u32,
            Num::U64(v) => v as u32,
            Num::F64(_) => float(-1.0, 4_294_967_296.0)? as u32,
        }),
        _ => return Err(unexpected("number", path)),
    })
}

/// stout's `strings::WHITESPACE`, which is also what picojson skips.
const WHITESPACE: &[char] = &[' ', '\t', '\n', '\r'];

/// A string value for a numeric field, parsed the way `JSON::parse<JSON::Number>`
/// (picojson) parses a document holding one number: surrounding whitespace allowed; the
/// number is the run of `[0-9+-.eE]` starting with a digit or `-`; an integer that fits
/// `int64` stays an integer, anything else goes through `strtod`; overflow to
/// infinity is an error.
fn number_from_str(s: &str) -> Result<Num, String> {
    let t = s.trim_matches(WHITESPACE);
    let first = t.bytes().next().ok_or_else(|| "empty".to_owned())?;
    if !(first.is_ascii_digit() || first == b'-') {
        return Err("not a number".to_owned());
    }
    if !t
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return Err("trailing characters".to_owned());
    }
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Num::I64(i));
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(u) = t.parse::<u64>() {
            return Ok(Num::U64(u));
        }
    }
    match t.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Num::F64(x)),
        Ok(_) => Err("Value out of range".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// stout's `base64::decode` (`stout/base64.hpp`): standard alphabet, whitespace
/// skipped, decoding stops at the first `=`, missing padding accepted, any other
/// character rejected.
pub(super) fn base64_decode(s: &str) -> Result<Vec<u8>, String> {
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3 + 2);
    let mut acc = 0u32;
    let mut n = 0;
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        // C's isspace: space, \t, \n, \v, \f, \r.
        if matches!(c, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r') {
            continue;
        }
        let Some(v) = sextet(c) else {
            return Err(format!("Invalid character '{}'", char::from(c)));
        };
        acc = (acc << 6) | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    // A partial group of i sextets yields i - 1 bytes (none for a lone sextet).
    if n > 1 {
        acc <<= 6 * (4 - n);
        let bytes = [(acc >> 16) as u8, (acc >> 8) as u8, acc as u8];
        out.extend_from_slice(&bytes[..n - 1]);
    }
    Ok(out)
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn unexpected(kind: &'static str, path: &str) -> JsonError {
    JsonError::UnexpectedType {
        kind,
        field: path.to_owned(),
    }
}

/// Paths of every missing `required` field, as protobuf's
/// `InitializationErrorString()` names them (`a.b`, `tasks[2].name`).
pub(super) fn missing_required(msg: &DynamicMessage) -> Vec<String> {
    let mut out = Vec::new();
    collect_missing(msg, &mut String::new(), &mut out);
    out
}

fn collect_missing(msg: &DynamicMessage, prefix: &mut String, out: &mut Vec<String>) {
    let desc = msg.descriptor();
    for field in fields_in_declaration_order(&desc) {
        if field.is_required() && !msg.has_field(&field) {
            out.push(format!("{prefix}{}", field.name()));
            continue;
        }
        if !matches!(field.kind(), Kind::Message(_)) || !msg.has_field(&field) {
            continue;
        }
        let mark = prefix.len();
        let value = msg.get_field(&field);
        match value.as_ref() {
            Value::Message(m) => {
                prefix.push_str(field.name());
                prefix.push('.');
                collect_missing(m, prefix, out);
            }
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(m) = item {
                        prefix.truncate(mark);
                        prefix.push_str(&format!("{}[{i}].", field.name()));
                        collect_missing(m, prefix, out);
                    }
                }
            }
            Value::Map(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                for (i, (_, v)) in entries.into_iter().enumerate() {
                    if let Value::Message(m) = v {
                        prefix.truncate(mark);
                        prefix.push_str(&format!("{}[{i}].value.", field.name()));
                        collect_missing(m, prefix, out);
                    }
                }
            }
            _ => {}
        }
        prefix.truncate(mark);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_as_lenient_as_stout() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVs\nbG8=junk").unwrap(), b"hello");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("QQ==").unwrap(), b"A");
        assert!(base64_decode("aGV*").is_err());
        assert!(base64_decode("aGV-").is_err());
    }

    #[test]
    fn numbers_in_strings_follow_picojson() {
        assert!(matches!(number_from_str(" 42 "), Ok(Num::I64(42))));
        assert!(matches!(number_from_str("-7"), Ok(Num::I64(-7))));
        assert!(matches!(number_from_str("1e3"), Ok(Num::F64(x)) if x == 1000.0));
        assert!(matches!(number_from_str("1.5"), Ok(Num::F64(x)) if x == 1.5));
        assert!(matches!(
            number_from_str("18446744073709551615"),
            Ok(Num::U64(u64::MAX))
        ));
        for bad in [
            "", " ", "abc", "0x10", "+1", "1e", "1e999", "5 6", ".5", "nan",
        ] {
            assert!(number_from_str(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
