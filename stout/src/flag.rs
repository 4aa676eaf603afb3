//! One flag: its declaration ([`FlagSpec`]), its type ([`FlagType`]) and a
//! loaded value ([`FlagValue`]), with upstream's fetch / parse / stringify rules
//! (`3rdparty/stout/include/stout/flags/{flag,fetch,parse}.hpp`,
//! `stringify.hpp`, `src/common/parse.hpp`, `src/messages/flags.hpp`).

use std::collections::BTreeSet;

use crate::bytes::Bytes;
use crate::duration::Duration;
use crate::error::Error;
use crate::numfmt::stringify_f64;

/// The C++ type a flag is declared with upstream, which decides how its value
/// is fetched, parsed and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagType {
    /// `bool`: "true"/"1"/"false"/"0"; `--name` alone means true, `--no-name` false.
    Bool,
    /// `std::string`: taken verbatim.
    String,
    /// `int` (read as `istream >> int`).
    Int,
    /// `size_t` (read as `istream >> size_t`).
    Size,
    /// `uint16_t`, i.e. ports.
    Port,
    /// `double`.
    Double,
    /// stout `Duration` ("10secs").
    Duration,
    /// stout `Bytes` ("1GB").
    Bytes,
    /// stout `Path`: never fetched; a leading `file://` is dropped.
    Path,
    /// `flags::SecurePathOrValue` (`--zk`, `--master`): `file://` values are read,
    /// and the path is what gets printed.
    SecurePathOrValue,
    /// `JSON::Object`.
    JsonObject,
    /// A protobuf message given as a JSON object; the name is the message's full
    /// protobuf name (e.g. "mesos.ACLs"). The JSON must convert into the message
    /// by stout's rules (checked at load); the value is kept as JSON.
    Proto(&'static str),
    /// `std::set<std::string>` from a comma-separated list (duplicates rejected).
    StringSet,
    /// `std::vector<unsigned int>` from a comma-separated list.
    UintList,
}

impl FlagType {
    /// Whether the flag is a boolean (accepts `--name` and `--no-name`).
    pub fn is_bool(&self) -> bool {
        matches!(self, FlagType::Bool)
    }
}

/// A loaded (or default) flag value.
#[derive(Debug, Clone, PartialEq)]
pub enum FlagValue {
    /// [`FlagType::Bool`].
    Bool(bool),
    /// [`FlagType::String`].
    String(String),
    /// [`FlagType::Int`].
    Int(i32),
    /// [`FlagType::Size`].
    Size(u64),
    /// [`FlagType::Port`].
    Port(u16),
    /// [`FlagType::Double`].
    Double(f64),
    /// [`FlagType::Duration`].
    Duration(Duration),
    /// [`FlagType::Bytes`].
    Bytes(Bytes),
    /// [`FlagType::Path`], without any `file://` prefix.
    Path(String),
    /// [`FlagType::SecurePathOrValue`].
    SecurePathOrValue {
        /// The file the value was read from, for `file://` values.
        path: Option<String>,
        /// The value (the file's contents, verbatim, for `file://` values).
        value: String,
    },
    /// [`FlagType::JsonObject`] and [`FlagType::Proto`]: always a JSON object.
    Json(serde_json::Value),
    /// [`FlagType::StringSet`].
    StringSet(BTreeSet<String>),
    /// [`FlagType::UintList`].
    UintList(Vec<u32>),
}

impl FlagValue {
    /// The value as upstream's `stringify` prints it (what `/flags` shows), for a
    /// flag of type `ty`: protobuf-typed values print as upstream's `operator<<`
    /// for that message does (Mesos JSON or `DebugString()`).
    pub fn render_as(&self, ty: FlagType) -> String {
        if let (FlagValue::Json(json), FlagType::Proto(name)) = (self, ty) {
            if let Some(text) = render_proto(name, json) {
                return text;
            }
        }
        self.render()
    }

    /// The value as upstream's `stringify` prints it, without type knowledge
    /// (JSON values print as compact JSON; see [`FlagValue::render_as`]).
    pub fn render(&self) -> String {
        match self {
            FlagValue::Bool(b) => if *b { "true" } else { "false" }.to_string(),
            FlagValue::String(s) => s.clone(),
            FlagValue::Int(i) => i.to_string(),
            FlagValue::Size(n) => n.to_string(),
            FlagValue::Port(p) => p.to_string(),
            FlagValue::Double(d) => stringify_f64(*d),
            FlagValue::Duration(d) => d.to_string(),
            FlagValue::Bytes(b) => b.to_string(),
            FlagValue::Path(p) => p.clone(),
            FlagValue::SecurePathOrValue { path, value } => {
                path.clone().unwrap_or_else(|| value.clone())
            }
            // `JSON::Object` keeps its keys in a `std::map`: printed sorted, at every level.
            FlagValue::Json(v) => sorted_json(v).to_string(),
            // stout's stringify(std::set) / stringify(std::vector).
            FlagValue::StringSet(set) => {
                let items: Vec<&str> = set.iter().map(String::as_str).collect();
                format!("{{ {} }}", items.join(", "))
            }
            FlagValue::UintList(list) => {
                let items: Vec<String> = list.iter().map(u32::to_string).collect();
                format!("[ {} ]", items.join(", "))
            }
        }
    }

    /// Whether this value is of the given type.
    pub fn is_type(&self, ty: FlagType) -> bool {
        matches!(
            (self, ty),
            (FlagValue::Bool(_), FlagType::Bool)
                | (FlagValue::String(_), FlagType::String)
                | (FlagValue::Int(_), FlagType::Int)
                | (FlagValue::Size(_), FlagType::Size)
                | (FlagValue::Port(_), FlagType::Port)
                | (FlagValue::Double(_), FlagType::Double)
                | (FlagValue::Duration(_), FlagType::Duration)
                | (FlagValue::Bytes(_), FlagType::Bytes)
                | (FlagValue::Path(_), FlagType::Path)
                | (
                    FlagValue::SecurePathOrValue { .. },
                    FlagType::SecurePathOrValue
                )
                | (FlagValue::Json(_), FlagType::JsonObject)
                | (FlagValue::Json(_), FlagType::Proto(_))
                | (FlagValue::StringSet(_), FlagType::StringSet)
                | (FlagValue::UintList(_), FlagType::UintList)
        )
    }
}

/// A flag's own check of its loaded value, run after loading (`Flag::validate`).
/// Gets `None` when an optional flag is unset; returns upstream's error text.
pub type Validator = fn(Option<&FlagValue>) -> Result<(), String>;

/// The declaration of one flag, as one `add(&Flags::x, "name", ...)` upstream.
#[derive(Debug, Clone)]
pub struct FlagSpec {
    /// The flag's name.
    pub name: &'static str,
    /// A second accepted name (upstream's `flags::DeprecatedName`, e.g.
    /// `slave_ping_timeout` for `agent_ping_timeout`).
    pub alias: Option<&'static str>,
    /// Whether loading through the alias adds a deprecation warning.
    pub alias_deprecated: bool,
    /// One-line (or multi-line) description for `--help`.
    pub help: &'static str,
    /// How the value is parsed and printed.
    pub ty: FlagType,
    /// The default; `None` for optional flags (upstream `Option<T>`) and for
    /// required ones.
    pub default: Option<FlagValue>,
    /// Whether loading fails when the flag is not given (a plain upstream type
    /// declared without a default).
    pub required: bool,
    /// Checked after every load.
    pub validate: Option<Validator>,
    /// The upstream build condition under which the flag exists (e.g.
    /// "ENABLE_XFS_DISK_ISOLATOR"); `None` when it always exists on Linux.
    pub build_condition: Option<&'static str>,
}

impl FlagSpec {
    /// An optional flag of type `ty` with no default.
    pub fn optional(name: &'static str, ty: FlagType, help: &'static str) -> FlagSpec {
        FlagSpec {
            name,
            alias: None,
            alias_deprecated: false,
            help,
            ty,
            default: None,
            required: false,
            validate: None,
            build_condition: None,
        }
    }

    /// A flag with a default value.
    pub fn with_default(
        name: &'static str,
        ty: FlagType,
        default: FlagValue,
        help: &'static str,
    ) -> FlagSpec {
        FlagSpec {
            default: Some(default),
            ..FlagSpec::optional(name, ty, help)
        }
    }

    /// A flag that must be given.
    pub fn required(name: &'static str, ty: FlagType, help: &'static str) -> FlagSpec {
        FlagSpec {
            required: true,
            ..FlagSpec::optional(name, ty, help)
        }
    }

    /// Adds a deprecated alias.
    pub fn deprecated_alias(mut self, alias: &'static str) -> FlagSpec {
        self.alias = Some(alias);
        self.alias_deprecated = true;
        self
    }

    /// Adds a validator.
    pub fn validator(mut self, v: Validator) -> FlagSpec {
        self.validate = Some(v);
        self
    }

    /// Records the upstream build condition.
    pub fn only_with(mut self, condition: &'static str) -> FlagSpec {
        self.build_condition = Some(condition);
        self
    }

    /// Whether the flag is an upstream `Option<T>` (no default, not required).
    pub fn is_optional(&self) -> bool {
        self.default.is_none() && !self.required
    }

    /// The help text with upstream's "(default: ...)" suffix, which stout adds
    /// to every non-`Option` flag (empty for required ones).
    pub fn full_help(&self) -> String {
        let mut help = self.help.to_string();
        if self.is_optional() {
            return help;
        }
        let on_new_line = help.is_empty() || help.ends_with('\n') || help.ends_with('\r');
        help.push_str(if on_new_line {
            "(default: "
        } else {
            " (default: "
        });
        if let Some(d) = &self.default {
            help.push_str(&d.render_as(self.ty));
        }
        help.push(')');
        help
    }
}

/// Reads a file for a `file://` value, with upstream's error text.
fn read_file(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("Error reading file '{}': {}", path, e))
}

/// `flags::fetch<T>`: resolves `file://` (except for `Path`) and parses.
pub fn fetch(ty: FlagType, value: &str) -> Result<FlagValue, String> {
    match ty {
        // A `Path` flag keeps the path; `Path`'s constructor drops `file://`.
        FlagType::Path => Ok(FlagValue::Path(
            value.strip_prefix("file://").unwrap_or(value).to_string(),
        )),
        FlagType::SecurePathOrValue => match value.strip_prefix("file://") {
            Some(path) => Ok(FlagValue::SecurePathOrValue {
                path: Some(path.to_string()),
                value: read_file(path)?,
            }),
            None => Ok(FlagValue::SecurePathOrValue {
                path: None,
                value: value.to_string(),
            }),
        },
        _ => match value.strip_prefix("file://") {
            // The contents are parsed as they are: upstream does not trim them.
            Some(path) => parse(ty, &read_file(path)?),
            None => parse(ty, value),
        },
    }
}

/// `flags::parse<T>` for each type.
pub fn parse(ty: FlagType, value: &str) -> Result<FlagValue, String> {
    const CONVERT: &str = "Failed to convert into required type";
    match ty {
        FlagType::Bool => match value {
            "true" | "1" => Ok(FlagValue::Bool(true)),
            "false" | "0" => Ok(FlagValue::Bool(false)),
            _ => Err("Expecting a boolean (e.g., true or false)".to_string()),
        },
        FlagType::String => Ok(FlagValue::String(value.to_string())),
        FlagType::Int => istream_signed(value)
            .and_then(|v| i32::try_from(v).ok())
            .map(FlagValue::Int)
            .ok_or_else(|| CONVERT.to_string()),
        FlagType::Size => istream_unsigned(value, u64::MAX)
            .map(FlagValue::Size)
            .ok_or_else(|| CONVERT.to_string()),
        FlagType::Port => istream_unsigned(value, u16::MAX as u64)
            .map(|v| FlagValue::Port(v as u16))
            .ok_or_else(|| CONVERT.to_string()),
        FlagType::Double => istream_double(value)
            .map(FlagValue::Double)
            .ok_or_else(|| CONVERT.to_string()),
        FlagType::Duration => Duration::parse(value)
            .map(FlagValue::Duration)
            .map_err(|e| e.to_string()),
        FlagType::Bytes => Bytes::parse(value)
            .map(FlagValue::Bytes)
            .map_err(|e| e.to_string()),
        FlagType::Path | FlagType::SecurePathOrValue => fetch(ty, value),
        FlagType::JsonObject => parse_json_object(value).map(FlagValue::Json),
        FlagType::Proto(name) => {
            let json = parse_json_object(value)?;
            proto_from_json(name, &json)?;
            Ok(FlagValue::Json(json))
        }
        FlagType::StringSet => {
            let mut set = BTreeSet::new();
            for token in tokenize(value, &[',']) {
                if !set.insert(token.to_string()) {
                    return Err(format!("Duplicate token '{}'", token));
                }
            }
            Ok(FlagValue::StringSet(set))
        }
        FlagType::UintList => {
            let mut list = Vec::new();
            for token in tokenize(value, &[',']) {
                let n: u32 = token.parse().map_err(|_| {
                    format!(
                        "Failed to numify '{}': {}",
                        token,
                        Error::NotANumber(token.to_string())
                    )
                })?;
                list.push(n);
            }
            Ok(FlagValue::UintList(list))
        }
    }
}

/// A copy of `v` with every object's keys in sorted order.
fn sorted_json(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<(&String, &serde_json::Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted_json(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(sorted_json).collect())
        }
        other => other.clone(),
    }
}

/// Messages whose upstream `operator<<` prints `JSON::protobuf(message)`
/// (`src/common/type_utils.cpp`); all other protobuf-typed flags print
/// `DebugString()`.
const JSON_RENDERED: &[&str] = &[
    "mesos.DomainInfo",
    "mesos.CapabilityInfo",
    "mesos.DeviceWhitelist",
];

/// `protobuf::parse<T>(json)`: converts a JSON object into message `name`.
fn proto_from_json(
    name: &str,
    json: &serde_json::Value,
) -> Result<prost_reflect::DynamicMessage, String> {
    let desc = mesos_proto::pool::message_descriptor_by_name(name)
        .ok_or_else(|| format!("Unknown protobuf message '{}'", name))?;
    mesos_proto::json::dynamic_from_json(&desc, json).map_err(|e| e.to_string())
}

/// Prints a protobuf-typed flag as upstream's `operator<<` for the message.
fn render_proto(name: &str, json: &serde_json::Value) -> Option<String> {
    let msg = proto_from_json(name, json).ok()?;
    if JSON_RENDERED.contains(&name) {
        mesos_proto::json::dynamic_to_json(&msg).ok()
    } else {
        Some(crate::textformat::debug_string(&msg))
    }
}

/// `parse<JSON::Object>`: a JSON object, or (deprecated) an absolute path to
/// a file holding one.
fn parse_json_object(value: &str) -> Result<serde_json::Value, String> {
    let text;
    let json = if value.starts_with('/') {
        tracing::warn!(
            "Reading a flag value from the absolute path '{}' without 'file://' is deprecated; \
             prefix the path with 'file://'",
            value
        );
        text = read_file(value)?;
        text.as_str()
    } else {
        value
    };
    let parsed: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if !parsed.is_object() {
        return Err("Unexpected JSON type parsed".to_string());
    }
    Ok(parsed)
}

/// stout's `strings::tokenize`: split on any of `delims`, dropping empty tokens.
pub fn tokenize<'a>(s: &'a str, delims: &[char]) -> Vec<&'a str> {
    s.split(|c| delims.contains(&c))
        .filter(|t| !t.is_empty())
        .collect()
}

/// Leading whitespace an `istream` skips before a number.
fn skip_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c'])
}

/// `istream >> long`: optional sign and decimal digits, nothing after them.
fn istream_signed(s: &str) -> Option<i64> {
    let s = skip_ws(s);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude: i128 = digits.parse().ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

/// `istream >> unsigned`: like strtoull, a leading '-' negates modulo 2^N
/// (so "-1" reads as the maximum), provided the magnitude fits.
fn istream_unsigned(s: &str, max: u64) -> Option<u64> {
    let s = skip_ws(s);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude: u64 = digits.parse().ok()?;
    if magnitude > max {
        return None;
    }
    if neg {
        // Two's complement negation within the type's width.
        Some(magnitude.wrapping_neg() & max)
    } else {
        Some(magnitude)
    }
}

/// `istream >> double`: decimal or exponent notation, nothing after it
/// (libstdc++ does not accept "inf" or "nan" here).
fn istream_double(s: &str) -> Option<f64> {
    let s = skip_ws(s);
    if s.is_empty()
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_as_istream_does() {
        // "-1" for unsigned types and a leading space were checked against the real
        // 1.9.0 master (`MESOS_PORT=-1` lists 65535, `MESOS_MAX_COMPLETED_FRAMEWORKS=-1`
        // lists 18446744073709551615, `MESOS_LOGBUFSECS=" 3"` lists 3).
        assert_eq!(parse(FlagType::Port, "5050"), Ok(FlagValue::Port(5050)));
        assert_eq!(parse(FlagType::Port, " 5050"), Ok(FlagValue::Port(5050)));
        assert!(parse(FlagType::Port, "5050 ").is_err());
        assert!(parse(FlagType::Port, "70000").is_err());
        assert!(parse(FlagType::Port, "").is_err());
        assert!(parse(FlagType::Port, "0x10").is_err());
        assert_eq!(parse(FlagType::Port, "-1"), Ok(FlagValue::Port(65535)));
        assert_eq!(parse(FlagType::Size, "-1"), Ok(FlagValue::Size(u64::MAX)));
        assert_eq!(parse(FlagType::Int, "-3"), Ok(FlagValue::Int(-3)));
        assert!(parse(FlagType::Int, "3000000000").is_err());
        assert_eq!(parse(FlagType::Double, "0.1"), Ok(FlagValue::Double(0.1)));
        assert_eq!(
            parse(FlagType::Double, "1e3"),
            Ok(FlagValue::Double(1000.0))
        );
        assert!(parse(FlagType::Double, "inf").is_err());
        assert_eq!(
            parse(FlagType::Size, "abc"),
            Err("Failed to convert into required type".to_string())
        );
    }

    #[test]
    fn booleans_accept_only_four_spellings() {
        assert_eq!(parse(FlagType::Bool, "1"), Ok(FlagValue::Bool(true)));
        assert_eq!(parse(FlagType::Bool, "0"), Ok(FlagValue::Bool(false)));
        assert_eq!(
            parse(FlagType::Bool, "yes"),
            Err("Expecting a boolean (e.g., true or false)".to_string())
        );
    }

    #[test]
    fn path_keeps_the_path_and_drops_file_scheme() {
        assert_eq!(
            fetch(FlagType::Path, "file:///etc/creds"),
            Ok(FlagValue::Path("/etc/creds".to_string()))
        );
        assert_eq!(
            fetch(FlagType::Path, "/etc/x"),
            Ok(FlagValue::Path("/etc/x".to_string()))
        );
    }

    #[test]
    fn sets_and_lists() {
        let v = parse(FlagType::StringSet, "gpus,,cpus").unwrap();
        assert_eq!(v.render(), "{ cpus, gpus }");
        assert_eq!(
            parse(FlagType::StringSet, "a,a"),
            Err("Duplicate token 'a'".to_string())
        );
        let v = parse(FlagType::UintList, "0,1,3").unwrap();
        assert_eq!(v.render(), "[ 0, 1, 3 ]");
        assert_eq!(
            parse(FlagType::UintList, "0,x"),
            Err("Failed to numify 'x': Failed to convert 'x' to number".to_string())
        );
    }

    #[test]
    fn json_flags_must_be_objects() {
        assert!(parse(FlagType::JsonObject, r#"{"a":"b"}"#).is_ok());
        assert_eq!(
            parse(FlagType::Proto("mesos.ACLs"), "[1]"),
            Err("Unexpected JSON type parsed".to_string())
        );
        assert!(parse(FlagType::JsonObject, "{").is_err());
    }

    #[test]
    fn help_gets_default_suffix_for_plain_types_only() {
        let s = FlagSpec::with_default("port", FlagType::Port, FlagValue::Port(5050), "Port.");
        assert_eq!(s.full_help(), "Port. (default: 5050)");
        let s = FlagSpec::with_default("x", FlagType::Bool, FlagValue::Bool(true), "Line\n");
        assert_eq!(s.full_help(), "Line\n(default: true)");
        let s = FlagSpec::required("work_dir", FlagType::String, "Dir.");
        assert_eq!(s.full_help(), "Dir. (default: )");
        let s = FlagSpec::optional("zk", FlagType::SecurePathOrValue, "ZK.");
        assert_eq!(s.full_help(), "ZK.");
    }
}
