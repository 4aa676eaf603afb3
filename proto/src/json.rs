//! Mesos-style JSON <-> protobuf, as stout does it (`3rdparty/stout/include/stout/
//! protobuf.hpp`, `jsonify.hpp`): this is the format of every v1 HTTP API body with
//! `Content-Type: application/json`, and of JSON-valued flags.
//!
//! Output ([`to_json`], [`dynamic_to_json`], [`bytes_to_json`]): proto field names,
//! fields in descriptor order, set singular fields plus unset non-deprecated fields
//! with an explicit `[default]`, non-empty repeated and map fields; enums by name,
//! bytes in base64, 64-bit integers as bare numbers, doubles as rapidjson prints them;
//! compact. Map keys are printed sorted (upstream: hash order).
//!
//! Input ([`from_json`], [`from_json_value`], [`dynamic_from_json`]): see `parse.rs`.

mod parse;
mod wire;
mod write;

use prost::{Message, Name};
use prost_reflect::{DynamicMessage, MessageDescriptor};

use crate::pool::descriptor_pool;

/// Why a JSON conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The text is not a JSON document.
    #[error("invalid JSON: {0}")]
    Syntax(String),
    /// The top-level JSON value is not an object.
    #[error("Expecting a JSON object")]
    NotAnObject,
    /// A JSON value of a kind the field cannot take (e.g. a number for a string field).
    #[error("Not expecting a JSON {kind} for field '{field}'")]
    UnexpectedType {
        /// The JSON kind that was found.
        kind: &'static str,
        /// Path of the field (`framework_info.name`).
        field: String,
    },
    /// A string given for a numeric field is not a number.
    #[error("Failed to parse '{text}' as a JSON number for field '{field}': {reason}")]
    InvalidNumber {
        /// Path of the field.
        field: String,
        /// The string that was given.
        text: String,
        /// What was wrong with it.
        reason: String,
    },
    /// A string given for a bool field is neither `true` nor `false`.
    #[error("Failed to parse '{text}' as a JSON boolean for field '{field}'")]
    InvalidBool {
        /// Path of the field.
        field: String,
        /// The string that was given.
        text: String,
    },
    /// A floating-point number that does not fit the integer field.
    #[error("Number {value} is out of range for field '{field}'")]
    OutOfRange {
        /// Path of the field.
        field: String,
        /// The number that was given.
        value: String,
    },
    /// A bytes field whose string is not base64.
    #[error("Failed to base64 decode bytes field '{field}': {reason}")]
    Base64 {
        /// Path of the field.
        field: String,
        /// What was wrong with it.
        reason: String,
    },
    /// An enum name the schema does not know, for a `required` field (elsewhere unknown
    /// names are dropped, as upstream does).
    #[error("Failed to find enum for '{name}' (field '{field}')")]
    UnknownEnum {
        /// Path of the field.
        field: String,
        /// The name that was given.
        name: String,
    },
    /// Parsed, but some `required` fields are missing (paths as protobuf names them).
    #[error("Missing required fields: {}", .0.join(", "))]
    MissingRequired(Vec<String>),
    /// A NaN or infinite double/float cannot be written (upstream crashes here).
    #[error("cannot write non-finite number {0} as JSON")]
    NonFinite(f64),
    /// The message type is not in this crate's schema.
    #[error("unknown message type '{0}'")]
    UnknownMessage(String),
    /// The protobuf bytes to print do not decode.
    #[error("protobuf decode error: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The protobuf bytes to print are not a valid encoding.
    #[error("malformed protobuf: {0}")]
    Malformed(String),
    /// A broken invariant of this module (never expected).
    #[error("internal error: {0}")]
    Internal(&'static str),
}

fn descriptor_of<M: Name>() -> Result<MessageDescriptor, JsonError> {
    let name = M::full_name();
    descriptor_pool()
        .get_message_by_name(&name)
        .ok_or(JsonError::UnknownMessage(name))
}

/// Writes `msg` as Mesos JSON, appending to `out`.
pub fn write_dynamic(msg: &DynamicMessage, out: &mut String) -> Result<(), JsonError> {
    write::write_message(out, msg)
}

/// `msg` as Mesos JSON.
pub fn dynamic_to_json(msg: &DynamicMessage) -> Result<String, JsonError> {
    let mut out = String::new();
    write::write_message(&mut out, msg)?;
    Ok(out)
}

/// The protobuf encoding `bytes` of a message of type `desc`, as Mesos JSON.
///
/// Transcodes the wire format directly (no intermediate message); see `wire.rs` for
/// how it mirrors what C++ would print after parsing the bytes.
pub fn bytes_to_json(desc: &MessageDescriptor, bytes: &[u8]) -> Result<String, JsonError> {
    let index = write::plans().index_of(desc)?;
    let mut out = String::with_capacity(bytes.len() * 5 / 2 + 16);
    wire::write_bytes(&mut out, index, bytes)?;
    Ok(out)
}

/// `msg` as Mesos JSON (what upstream's `jsonify(JSON::Protobuf(msg))` prints).
///
/// Fails only for a NaN/infinite double or float (upstream aborts on those).
pub fn to_json<M: Message + Name>(msg: &M) -> Result<String, JsonError> {
    bytes_to_json(&descriptor_of::<M>()?, &msg.encode_to_vec())
}

/// Appends `msg` as Mesos JSON to `out` (e.g. a response buffer). On error `out` may
/// hold a partial document.
pub fn write_json<M: Message + Name>(msg: &M, out: &mut String) -> Result<(), JsonError> {
    let index = write::plans().index_of(&descriptor_of::<M>()?)?;
    let bytes = msg.encode_to_vec();
    out.reserve(bytes.len() * 5 / 2 + 16);
    wire::write_bytes(out, index, &bytes)
}

/// `msg` as a `serde_json::Value` (object keys in the printed order).
pub fn to_json_value<M: Message + Name>(msg: &M) -> Result<serde_json::Value, JsonError> {
    let text = to_json(msg)?;
    serde_json::from_str(&text).map_err(|e| JsonError::Syntax(e.to_string()))
}

/// Mesos JSON to protobuf bytes of type `desc`, with the final required-field check.
/// (The bytes are valid protobuf but not canonical: nested lengths are padded.)
fn json_to_bytes(desc: &MessageDescriptor, json: &serde_json::Value) -> Result<Vec<u8>, JsonError> {
    let serde_json::Value::Object(obj) = json else {
        return Err(JsonError::NotAnObject);
    };
    let index = write::plans().index_of(desc)?;
    let mut bytes = Vec::with_capacity(256);
    parse::encode_message(index, obj, &mut bytes)?;
    if crate::required::check_initialized(desc, &bytes).is_err() {
        // Name the missing fields in protobuf's order (own fields, then nested).
        let msg = DynamicMessage::decode(desc.clone(), bytes.as_slice())?;
        return Err(JsonError::MissingRequired(parse::missing_required(&msg)));
    }
    Ok(bytes)
}

/// Parses Mesos JSON into a message of type `desc`, including the final
/// required-field check.
pub fn dynamic_from_json(
    desc: &MessageDescriptor,
    json: &serde_json::Value,
) -> Result<DynamicMessage, JsonError> {
    let bytes = json_to_bytes(desc, json)?;
    Ok(DynamicMessage::decode(desc.clone(), bytes.as_slice())?)
}

/// Parses Mesos JSON (already a `serde_json::Value`) into `M`.
pub fn from_json_value<M: Message + Default + Name>(
    json: &serde_json::Value,
) -> Result<M, JsonError> {
    let bytes = json_to_bytes(&descriptor_of::<M>()?, json)?;
    Ok(M::decode(bytes.as_slice())?)
}

/// Parses Mesos JSON text into `M`.
pub fn from_json<M: Message + Default + Name>(text: &str) -> Result<M, JsonError> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
    from_json_value(&json)
}
