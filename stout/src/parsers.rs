//! Parsers for flags with a syntax of their own, mirroring where upstream
//! interprets them:
//! - `--weights` (`src/master/master.cpp`, `Master::initialize`),
//! - `--roles` (`src/common/roles.cpp`),
//! - `--attributes` (`src/common/attributes.cpp`, values from `src/common/values.cpp`),
//! - `--domain` (`DomainInfo` from JSON, validator in `src/{master,slave}/flags.cpp`),
//! - `--agent_features` (`SlaveCapabilities`, validator in `src/slave/flags.cpp`),
//! - `--credentials` / `--credential` files (`src/credentials/credentials.hpp`),
//! - `--acls` (kept as JSON for now),
//! - `--min_allocatable_resources` (split on `|`; the allocator parses each piece),
//! - `--recovery_agent_removal_limit` and `--agent_removal_rate_limit`
//!   (`src/master/master.cpp`, `src/master/main.cpp`).
//!
//! Where upstream exits the process on bad input we return an [`Error`] with
//! upstream's message instead.

use std::collections::{BTreeMap, BTreeSet};

use mesos_proto::mesos::domain_info::fault_domain::{RegionInfo, ZoneInfo};
use mesos_proto::mesos::domain_info::FaultDomain;
use mesos_proto::mesos::internal::SlaveCapabilities;
use mesos_proto::mesos::slave_info::capability::Type as CapabilityType;
use mesos_proto::mesos::slave_info::Capability;
use mesos_proto::mesos::value::{Range, Ranges, Scalar, Set, Text, Type as ValueType};
use mesos_proto::mesos::{Attribute, Credential, Credentials, DomainInfo, Value};
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::flag::tokenize;

// ---------------------------------------------------------------------------
// --roles and --weights

/// Characters a role component may not contain (`src/common/roles.cpp`).
const ROLE_INVALID_CHARACTERS: &[char] = &['\x09', '\x0a', '\x0b', '\x0c', '\x0d', '\x20', '\x7f'];

/// Checks one role name as `roles::validate` does.
pub fn validate_role(role: &str) -> Result<()> {
    if role == "*" {
        return Ok(());
    }
    let err = |m: String| Err(Error::Role(m));
    if role.starts_with('/') {
        return err(format!("Role '{}' cannot start with a slash", role));
    }
    if role.ends_with('/') {
        return err(format!("Role '{}' cannot end with a slash", role));
    }
    if role.contains("//") {
        return err(format!(
            "Role '{}' cannot contain two adjacent slashes",
            role
        ));
    }
    let components = tokenize(role, &['/']);
    if components.is_empty() {
        return err("Role names cannot be the empty string".to_string());
    }
    for c in components {
        if c == "." {
            return err(format!("Role '{}' cannot include '.' as a component", role));
        }
        if c == ".." {
            return err(format!(
                "Role '{}' cannot include '..' as a component",
                role
            ));
        }
        if c == "*" {
            return err(format!("Role '{}' cannot include '*' as a component", role));
        }
        if c.starts_with('-') {
            return err(format!(
                "Role component '{}' is invalid because it starts with a dash",
                c
            ));
        }
        if c.contains(ROLE_INVALID_CHARACTERS) {
            return err(format!(
                "Role component '{}' is invalid because it contains backspace or whitespace",
                c
            ));
        }
    }
    Ok(())
}

/// `--roles`: comma-separated role names, each validated (`roles::parse`).
/// Duplicates are kept (upstream only warns about them).
pub fn parse_roles(text: &str) -> Result<Vec<String>> {
    let roles: Vec<String> = tokenize(text, &[','])
        .into_iter()
        .map(String::from)
        .collect();
    for r in &roles {
        validate_role(r)?;
    }
    Ok(roles)
}

/// The role whitelist the master builds from `--roles`: the roles plus `*`.
pub fn role_whitelist(text: &str) -> Result<BTreeSet<String>> {
    let mut set: BTreeSet<String> = parse_roles(text)?.into_iter().collect();
    set.insert("*".to_string());
    Ok(set)
}

/// `--weights`: `role=weight,role2=weight`. With a whitelist (from `--roles`)
/// every role must be in it. Weights are read with C `atof` semantics and must
/// be positive. A role given twice keeps the last weight, as upstream.
pub fn parse_weights(
    text: &str,
    whitelist: Option<&BTreeSet<String>>,
) -> Result<BTreeMap<String, f64>> {
    let mut weights = BTreeMap::new();
    for token in tokenize(text, &[',']) {
        let pair = tokenize(token, &['=']);
        if pair.len() != 2 {
            return Err(Error::Role(format!(
                "Invalid weight: '{}'. --weights should be of the form 'role=weight,role=weight'",
                token
            )));
        }
        if whitelist.is_some_and(|w| !w.contains(pair[0])) {
            return Err(Error::Role(format!(
                "Invalid weight: '{}'. {} is not a valid role",
                token, pair[0]
            )));
        }
        let weight = atof(pair[1]);
        // `!(w > 0)` also rejects NaN, as `weight <= 0` would not.
        if weight.is_nan() || weight <= 0.0 {
            return Err(Error::Role(format!(
                "Invalid weight: '{}'. Weights must be positive",
                token
            )));
        }
        weights.insert(pair[0].to_string(), weight);
    }
    Ok(weights)
}

/// C `atof`: the longest leading prefix that is a number, 0 if none.
fn atof(s: &str) -> f64 {
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let bytes = s.as_bytes();
    let mut end = 0;
    let mut i = 0;
    if i < bytes.len() && (bytes[i] == b'+' || bytes[i] == b'-') {
        i += 1;
    }
    let lower = s[i..].to_ascii_lowercase();
    if lower.starts_with("inf") || lower.starts_with("nan") {
        let len = if lower.starts_with("infinity") { 8 } else { 3 };
        return s[..i + len].parse().unwrap_or(0.0);
    }
    let mut digits = false;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
        digits = true;
        end = i;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            digits = true;
            end = i;
        }
        if digits && end < i {
            end = i;
        }
    }
    if !digits {
        return 0.0;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        let mut j = i + 1;
        if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
            j += 1;
        }
        let start = j;
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        if j > start {
            end = j;
        }
    }
    s[..end].parse().unwrap_or(0.0)
}

// ---------------------------------------------------------------------------
// --min_allocatable_resources

/// `--min_allocatable_resources`: the `|`-separated alternatives, each kept as
/// text (`cpus:0.01;mem:32`) for the allocator to parse as resource quantities.
pub fn parse_min_allocatable_resources(text: &str) -> Vec<String> {
    tokenize(text, &['|'])
        .into_iter()
        .map(String::from)
        .collect()
}

// ---------------------------------------------------------------------------
// --recovery_agent_removal_limit and --agent_removal_rate_limit

/// `--recovery_agent_removal_limit` ("100%"): the limit as a fraction in
/// [0, 1] (`Master::initialize` in `src/master/master.cpp`).
pub fn parse_recovery_agent_removal_limit(text: &str) -> Result<f64> {
    let invalid = |why: String| {
        Error::Validation(format!(
            "Invalid value '{}' for --recovery_agent_removal_percent_limit: {}",
            text, why
        ))
    };
    let Some(number) = text.strip_suffix('%') else {
        return Err(invalid("missing '%'".to_string()));
    };
    let limit =
        numify_f64(number).ok_or_else(|| invalid(Error::NotANumber(number.into()).to_string()))?;
    if !(0.0..=100.0).contains(&limit) {
        return Err(Error::Validation(format!(
            "Invalid value '{}' for --recovery_agent_removal_percent_limit: Must be within \
             [0%-100%]",
            text
        )));
    }
    Ok(limit / 100.0)
}

/// `--agent_removal_rate_limit` ("1/10mins"): how many agents may be removed
/// per duration (`src/master/main.cpp`).
pub fn parse_agent_removal_rate_limit(text: &str) -> Result<(i32, crate::Duration)> {
    let invalid = |why: Option<String>| {
        Error::Validation(format!(
            "Invalid agent_removal_rate_limit: {}. Format is <Number of agents>/<Duration>{}",
            text,
            why.map(|w| format!(": {}", w)).unwrap_or_default()
        ))
    };
    let tokens = tokenize(text, &['/']);
    if tokens.len() != 2 {
        return Err(invalid(None));
    }
    let permits: i32 = tokens[0]
        .parse()
        .map_err(|_| invalid(Some(Error::NotANumber(tokens[0].into()).to_string())))?;
    let duration = crate::Duration::parse(tokens[1]).map_err(|e| invalid(Some(e.to_string())))?;
    Ok((permits, duration))
}

// ---------------------------------------------------------------------------
// --attributes and values

/// stout's `strings::checkBracketsMatching`.
fn brackets_match(s: &str, open: char, close: char) -> bool {
    let mut count: i64 = 0;
    for c in s.chars() {
        if c == open {
            count += 1;
        } else if c == close {
            count -= 1;
        }
        if count < 0 {
            return false;
        }
    }
    count == 0
}

/// Sorts and merges overlapping or adjacent ranges (`coalesce` in values.cpp).
pub fn coalesce_ranges(ranges: &mut Vec<Range>) {
    if ranges.is_empty() {
        return;
    }
    ranges.sort_by_key(|r| (r.begin, r.end));
    let mut out: Vec<Range> = Vec::with_capacity(ranges.len());
    let mut current = ranges[0];
    for r in ranges.iter().skip(1) {
        // Sorted by begin, so `r` either overlaps/abuts `current` or starts a new range.
        if r.begin <= current.end.saturating_add(1) {
            current.end = current.end.max(r.end);
        } else {
            out.push(current);
            current = *r;
        }
    }
    out.push(current);
    *ranges = out;
}

/// `common::validation::validateInputScalarValue`.
fn validate_scalar(v: f64) -> std::result::Result<(), &'static str> {
    if v.is_infinite() {
        Err("Infinite values not supported")
    } else if v.is_nan() {
        Err("NaN not supported")
    } else if v != 0.0 && !v.is_normal() {
        Err("Subnormal values not supported")
    } else if v < 0.0 {
        Err("Negative values not supported")
    } else {
        Ok(())
    }
}

/// `numify<double>` (boost `lexical_cast`): a decimal number, or inf/nan
/// spelled out; an out-of-range literal is not a number.
fn numify_f64(s: &str) -> Option<f64> {
    let v: f64 = s.parse().ok()?;
    let lower = s.to_ascii_lowercase();
    if v.is_infinite() && !lower.contains("inf") {
        return None;
    }
    Some(v)
}

/// `values::parse`: a `Value` from text: `[1-2,5-9]` ranges, `{a,b}` set,
/// a number (scalar) or anything else (text). Spaces are removed first.
pub fn parse_value(text: &str) -> Result<Value> {
    let temp: String = text.chars().filter(|c| *c != ' ').collect();
    let err = |m: &str| Err(Error::Attribute(m.to_string()));
    if temp.is_empty() {
        return err("Expecting non-empty string");
    }
    if !brackets_match(&temp, '{', '}')
        || !brackets_match(&temp, '[', ']')
        || !brackets_match(&temp, '(', ')')
    {
        return err("Mismatched brackets");
    }
    let mut value = Value {
        r#type: ValueType::Scalar as i32,
        ..Default::default()
    };
    match temp.find('[') {
        Some(0) => {
            let tokens = tokenize(&temp, &['[', ']', '-', ',', '\n']);
            if tokens.len() % 2 != 0 {
                return err("Expecting one or more \"ranges\"");
            }
            let mut ranges = Vec::new();
            for pair in tokens.chunks(2) {
                let (Ok(begin), Ok(end)) = (pair[0].parse::<u64>(), pair[1].parse::<u64>()) else {
                    return Err(Error::Attribute(format!(
                        "Expecting non-negative integers in '{}'",
                        pair[0]
                    )));
                };
                ranges.push(Range { begin, end });
            }
            coalesce_ranges(&mut ranges);
            value.r#type = ValueType::Ranges as i32;
            value.ranges = Some(Ranges { range: ranges });
            Ok(value)
        }
        Some(_) => err("Unexpected '[' found"),
        None => match temp.find('{') {
            Some(0) => {
                let items = tokenize(&temp, &['{', '}', ',', '\n']);
                value.r#type = ValueType::Set as i32;
                value.set = Some(Set {
                    item: items.into_iter().map(String::from).collect(),
                });
                Ok(value)
            }
            Some(_) => err("Unexpected '{' found"),
            None => match numify_f64(&temp) {
                Some(v) => {
                    if let Err(e) = validate_scalar(v) {
                        return Err(Error::Attribute(format!(
                            "Invalid scalar value '{}':{}",
                            temp, e
                        )));
                    }
                    value.r#type = ValueType::Scalar as i32;
                    value.scalar = Some(Scalar { value: v });
                    Ok(value)
                }
                None => {
                    value.r#type = ValueType::Text as i32;
                    value.text = Some(Text { value: temp });
                    Ok(value)
                }
            },
        },
    }
}

/// `Attributes::parse(name, text)`: one attribute; sets are not allowed.
pub fn parse_attribute(name: &str, text: &str) -> Result<Attribute> {
    let value = parse_value(text).map_err(|e| {
        Error::Attribute(format!(
            "Failed to parse attribute {} text {} error {}",
            name, text, e
        ))
    })?;
    let mut attribute = Attribute {
        name: name.to_string(),
        ..Default::default()
    };
    match ValueType::try_from(value.r#type) {
        Ok(ValueType::Ranges) => {
            attribute.r#type = ValueType::Ranges as i32;
            attribute.ranges = value.ranges;
        }
        Ok(ValueType::Text) => {
            attribute.r#type = ValueType::Text as i32;
            attribute.text = value.text;
        }
        Ok(ValueType::Scalar) => {
            attribute.r#type = ValueType::Scalar as i32;
            attribute.scalar = value.scalar;
        }
        _ => {
            return Err(Error::Attribute(format!(
                "Bad type for attribute {} text {} type SET",
                name, text
            )))
        }
    }
    Ok(attribute)
}

/// `--attributes`: `name:value` pairs separated by `;` or newlines
/// (`Attributes::parse`), e.g. `rack:a;zone:b;level:3;ports:[1-10]`.
pub fn parse_attributes(text: &str) -> Result<Vec<Attribute>> {
    let mut out = Vec::new();
    for token in tokenize(text, &[';', '\n']) {
        let pair: Option<(&str, &str)> = token.split_once(':');
        match pair {
            Some((name, value)) if !name.is_empty() && !value.is_empty() => {
                out.push(parse_attribute(name, value)?);
            }
            _ => {
                return Err(Error::Attribute(format!(
                    "Invalid attribute key:value pair '{}'",
                    token
                )))
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// JSON-typed flags converted to protobuf

fn json_type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// A required string field of a JSON object, following stout's protobuf rules
/// (absent or `null` = missing).
fn required_string(obj: &Json, field: &str, path: &str) -> Result<String> {
    match obj.get(field) {
        None | Some(Json::Null) => Err(Error::Message(format!(
            "Missing required fields: {}{}",
            path, field
        ))),
        Some(Json::String(s)) => Ok(s.clone()),
        Some(other) => Err(Error::Message(format!(
            "Not expecting a JSON {} for field '{}'",
            json_type_name(other),
            field
        ))),
    }
}

/// `--domain`: a `DomainInfo` from its JSON form. Fails, as upstream's
/// validator, when `fault_domain` is absent, and when a required field
/// (`region.name`, `zone.name`) is missing.
pub fn parse_domain(json: &Json) -> Result<DomainInfo> {
    if !json.is_object() {
        return Err(Error::Message("Unexpected JSON type parsed".to_string()));
    }
    let fault = match json.get("fault_domain") {
        None | Some(Json::Null) => {
            return Err(Error::Message(
                "`domain` must define `fault_domain`".to_string(),
            ))
        }
        Some(f) if f.is_object() => f,
        Some(other) => {
            return Err(Error::Message(format!(
                "Not expecting a JSON {} for field 'fault_domain'",
                json_type_name(other)
            )))
        }
    };
    let part = |key: &str| -> Result<String> {
        match fault.get(key) {
            None | Some(Json::Null) => Err(Error::Message(format!(
                "Missing required fields: fault_domain.{}",
                key
            ))),
            Some(p) if p.is_object() => {
                required_string(p, "name", &format!("fault_domain.{}.", key))
            }
            Some(other) => Err(Error::Message(format!(
                "Not expecting a JSON {} for field '{}'",
                json_type_name(other),
                key
            ))),
        }
    };
    Ok(DomainInfo {
        fault_domain: Some(FaultDomain {
            region: RegionInfo {
                name: part("region")?,
            },
            zone: ZoneInfo {
                name: part("zone")?,
            },
        }),
    })
}

/// `--domain` from its text form (JSON, as given on the command line).
pub fn parse_domain_text(text: &str) -> Result<DomainInfo> {
    let json: Json = serde_json::from_str(text).map_err(|e| Error::Message(e.to_string()))?;
    parse_domain(&json)
}

/// `--agent_features`: `{"capabilities": [{"type": "MULTI_ROLE"}, ...]}` into
/// `SlaveCapabilities`. Unknown capability names leave the entry's type unset
/// (stout skips unknown enum names of optional fields).
pub fn parse_agent_features_json(json: &Json) -> Result<SlaveCapabilities> {
    if !json.is_object() {
        return Err(Error::Message("Unexpected JSON type parsed".to_string()));
    }
    let mut caps = SlaveCapabilities::default();
    match json.get("capabilities") {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            for item in items {
                if !item.is_object() {
                    return Err(Error::Message(format!(
                        "Not expecting a JSON {} for field 'capabilities'",
                        json_type_name(item)
                    )));
                }
                let r#type = match item.get("type") {
                    None | Some(Json::Null) => None,
                    Some(Json::String(name)) => {
                        CapabilityType::from_str_name(name).map(|t| t as i32)
                    }
                    Some(other) => {
                        return Err(Error::Message(format!(
                            "Not expecting a JSON {} for field 'type'",
                            json_type_name(other)
                        )))
                    }
                };
                caps.capabilities.push(Capability { r#type });
            }
        }
        Some(other) => {
            return Err(Error::Message(format!(
                "Not expecting a JSON {} for field 'capabilities'",
                json_type_name(other)
            )))
        }
    }
    Ok(caps)
}

/// The agent's `--agent_features` validator (`src/slave/flags.cpp`): the
/// capabilities every 1.9 agent must have, and the RESOURCE_PROVIDER
/// dependencies.
pub fn validate_agent_features(caps: &SlaveCapabilities) -> Result<()> {
    let has = |t: CapabilityType| caps.capabilities.iter().any(|c| c.r#type == Some(t as i32));
    if !has(CapabilityType::MultiRole)
        || !has(CapabilityType::HierarchicalRole)
        || !has(CapabilityType::ReservationRefinement)
        || !has(CapabilityType::AgentOperationFeedback)
        || !has(CapabilityType::AgentDraining)
    {
        return Err(Error::Validation(
            "At least the following agent features need to be enabled: MULTI_ROLE, \
             HIERARCHICAL_ROLE, RESERVATION_REFINEMENT, AGENT_OPERATION_FEEDBACK, and \
             AGENT_DRAINING"
                .to_string(),
        ));
    }
    if has(CapabilityType::ResizeVolume) && !has(CapabilityType::ResourceProvider) {
        return Err(Error::Validation(
            "RESIZE_VOLUME feature requires RESOURCE_PROVIDER feature".to_string(),
        ));
    }
    if has(CapabilityType::AgentOperationFeedback) && !has(CapabilityType::ResourceProvider) {
        return Err(Error::Validation(
            "AGENT_OPERATION_FEEDBACK feature requires RESOURCE_PROVIDER feature".to_string(),
        ));
    }
    Ok(())
}

/// `--agent_features` parsed and validated.
pub fn parse_agent_features(json: &Json) -> Result<SlaveCapabilities> {
    let caps = parse_agent_features_json(json)?;
    validate_agent_features(&caps)?;
    Ok(caps)
}

/// `--acls`: a JSON object (see `acls.proto`); kept as JSON until the
/// authorizer converts it.
pub fn parse_acls(text: &str) -> Result<Json> {
    let json: Json = serde_json::from_str(text).map_err(|e| Error::Message(e.to_string()))?;
    if !json.is_object() {
        return Err(Error::Message("Unexpected JSON type parsed".to_string()));
    }
    Ok(json)
}

// ---------------------------------------------------------------------------
// Credentials

/// One `Credential` from a JSON object; `None` when it does not convert.
fn credential_from_json(json: &Json) -> Option<Credential> {
    if !json.is_object() {
        return None;
    }
    let principal = match json.get("principal") {
        Some(Json::String(s)) => s.clone(),
        _ => return None,
    };
    let secret = match json.get("secret") {
        None | Some(Json::Null) => None,
        Some(Json::String(s)) => Some(s.clone()),
        Some(_) => return None,
    };
    Some(Credential { principal, secret })
}

/// `Credentials` from a JSON object; `None` when it does not convert.
fn credentials_from_json(json: &Json) -> Option<Credentials> {
    if !json.is_object() {
        return None;
    }
    let mut out = Credentials::default();
    match json.get("credentials") {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            for item in items {
                out.credentials.push(credential_from_json(item)?);
            }
        }
        Some(_) => return None,
    }
    Some(out)
}

/// The contents of a `--credentials` file (`credentials::read`): JSON
/// `{"credentials": [{"principal": "p", "secret": "s"}]}`, or else lines of
/// `principal secret`. `None` for an empty file.
pub fn parse_credentials(contents: &str) -> Result<Option<Credentials>> {
    if contents.is_empty() {
        return Ok(None);
    }
    if let Ok(json) = serde_json::from_str::<Json>(contents) {
        if let Some(c) = credentials_from_json(&json) {
            return Ok(Some(c));
        }
    }
    let mut out = Credentials::default();
    for line in tokenize(contents, &['\n']) {
        let pair = tokenize(line, &[' ']);
        if pair.len() != 2 {
            return Err(Error::Credentials(format!(
                "Invalid credential format at line {}",
                out.credentials.len() + 1
            )));
        }
        out.credentials.push(Credential {
            principal: pair[0].to_string(),
            secret: Some(pair[1].to_string()),
        });
    }
    Ok(Some(out))
}

/// The contents of an agent `--credential` file (`credentials::readCredential`):
/// a JSON `{"principal": "p", "secret": "s"}`, or one `principal secret` line.
pub fn parse_credential(contents: &str) -> Result<Option<Credential>> {
    if contents.is_empty() {
        return Ok(None);
    }
    if let Ok(json) = serde_json::from_str::<Json>(contents) {
        if let Some(c) = credential_from_json(&json) {
            return Ok(Some(c));
        }
    }
    let lines = tokenize(contents, &['\n']);
    if lines.len() != 1 {
        return Err(Error::Credentials(
            "Expecting only one credential".to_string(),
        ));
    }
    let pair = tokenize(lines[0], &[' ']);
    if pair.len() != 2 {
        return Err(Error::Credentials("Invalid credential format".to_string()));
    }
    Ok(Some(Credential {
        principal: pair[0].to_string(),
        secret: Some(pair[1].to_string()),
    }))
}

fn read_file(path: &str, what: &str) -> Result<String> {
    let path = path.strip_prefix("file://").unwrap_or(path);
    let contents = std::fs::read_to_string(path).map_err(|e| {
        Error::Credentials(format!("Failed to read {} file '{}': {}", what, path, e))
    })?;
    warn_if_world_accessible(path, what);
    Ok(contents)
}

/// Upstream warns (and goes on) when others have any permission on the file.
fn warn_if_world_accessible(path: &str, what: &str) {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o007 != 0 => tracing::warn!(
            "Permissions on {} file '{}' are too open; it is recommended that your {} file is \
             NOT accessible by others",
            what,
            path,
            what
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!("Failed to stat {} file '{}': {}", what, path, e),
    }
}

/// Reads and parses a `--credentials` file (master).
pub fn read_credentials(path: &str) -> Result<Option<Credentials>> {
    parse_credentials(&read_file(path, "credentials")?)
}

/// Reads and parses a `--credential` file (agent).
pub fn read_credential(path: &str) -> Result<Option<Credential>> {
    parse_credential(&read_file(path, "credential")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_validated_like_upstream() {
        assert_eq!(parse_roles("a,b/c,*").unwrap(), vec!["a", "b/c", "*"]);
        assert_eq!(parse_roles(",,a,").unwrap(), vec!["a"]);
        let bad = [
            ("/a", "Role '/a' cannot start with a slash"),
            ("a/", "Role 'a/' cannot end with a slash"),
            ("a//b", "Role 'a//b' cannot contain two adjacent slashes"),
            ("a/./b", "Role 'a/./b' cannot include '.' as a component"),
            ("..", "Role '..' cannot include '..' as a component"),
            ("a/*", "Role 'a/*' cannot include '*' as a component"),
            (
                "-a",
                "Role component '-a' is invalid because it starts with a dash",
            ),
            (
                "a b",
                "Role component 'a b' is invalid because it contains backspace or whitespace",
            ),
        ];
        for (role, msg) in bad {
            assert_eq!(parse_roles(role).unwrap_err().to_string(), msg, "{role}");
        }
        let wl = role_whitelist("a,b").unwrap();
        assert!(wl.contains("*") && wl.contains("a") && wl.len() == 3);
    }

    #[test]
    fn weights_parse_and_reject_like_upstream() {
        let w = parse_weights("a=2,b=0.5,a=3", None).unwrap();
        assert_eq!(w.get("a"), Some(&3.0));
        assert_eq!(w.get("b"), Some(&0.5));
        assert_eq!(
            parse_weights("a", None).unwrap_err().to_string(),
            "Invalid weight: 'a'. --weights should be of the form 'role=weight,role=weight'"
        );
        assert_eq!(
            parse_weights("a=0", None).unwrap_err().to_string(),
            "Invalid weight: 'a=0'. Weights must be positive"
        );
        // atof("abc") is 0.
        assert!(parse_weights("a=abc", None).is_err());
        // atof reads the numeric prefix.
        assert_eq!(parse_weights("a=2.5x", None).unwrap()["a"], 2.5);
        let wl = role_whitelist("a").unwrap();
        assert_eq!(
            parse_weights("b=1", Some(&wl)).unwrap_err().to_string(),
            "Invalid weight: 'b=1'. b is not a valid role"
        );
        assert!(parse_weights("a=1,*=2", Some(&wl)).is_ok());
    }

    #[test]
    fn atof_prefixes() {
        assert_eq!(atof("1e3x"), 1000.0);
        assert_eq!(atof("  -2"), -2.0);
        assert_eq!(atof(".5"), 0.5);
        assert_eq!(atof("5."), 5.0);
        assert_eq!(atof("e5"), 0.0);
        assert_eq!(atof("1e"), 1.0);
        assert!(atof("inf").is_infinite());
    }

    #[test]
    fn removal_limits() {
        assert_eq!(parse_recovery_agent_removal_limit("100%").unwrap(), 1.0);
        assert_eq!(parse_recovery_agent_removal_limit("25%").unwrap(), 0.25);
        assert_eq!(
            parse_recovery_agent_removal_limit("25")
                .unwrap_err()
                .to_string(),
            "Invalid value '25' for --recovery_agent_removal_percent_limit: missing '%'"
        );
        assert_eq!(
            parse_recovery_agent_removal_limit("x%")
                .unwrap_err()
                .to_string(),
            "Invalid value 'x%' for --recovery_agent_removal_percent_limit: Failed to convert \
             'x' to number"
        );
        assert!(parse_recovery_agent_removal_limit("101%").is_err());

        assert_eq!(
            parse_agent_removal_rate_limit("1/10mins").unwrap(),
            (1, crate::Duration::from_mins(10))
        );
        assert_eq!(
            parse_agent_removal_rate_limit("1").unwrap_err().to_string(),
            "Invalid agent_removal_rate_limit: 1. Format is <Number of agents>/<Duration>"
        );
        assert_eq!(
            parse_agent_removal_rate_limit("x/1secs")
                .unwrap_err()
                .to_string(),
            "Invalid agent_removal_rate_limit: x/1secs. Format is <Number of agents>/<Duration>: \
             Failed to convert 'x' to number"
        );
        assert!(parse_agent_removal_rate_limit("1/10").is_err());
    }

    #[test]
    fn min_allocatable_resources_keeps_pieces() {
        assert_eq!(
            parse_min_allocatable_resources("cpus:0.01|mem:32"),
            vec!["cpus:0.01", "mem:32"]
        );
        assert_eq!(
            parse_min_allocatable_resources("cpus:1;mem:64||disk:10"),
            vec!["cpus:1;mem:64", "disk:10"]
        );
    }

    #[test]
    fn values_parse_into_each_type() {
        let v = parse_value("[31000-32000, 1-10, 11-12]").unwrap();
        assert_eq!(v.r#type, ValueType::Ranges as i32);
        let r = v.ranges.unwrap().range;
        assert_eq!(
            r,
            vec![
                Range { begin: 1, end: 12 },
                Range {
                    begin: 31000,
                    end: 32000
                }
            ]
        );

        let v = parse_value("{a, b,c}").unwrap();
        assert_eq!(v.set.unwrap().item, vec!["a", "b", "c"]);

        let v = parse_value("3.5").unwrap();
        assert_eq!(v.scalar.unwrap().value, 3.5);

        let v = parse_value("rack 1").unwrap();
        assert_eq!(v.text.unwrap().value, "rack1");

        assert_eq!(
            parse_value("").unwrap_err().to_string(),
            "Expecting non-empty string"
        );
        assert_eq!(
            parse_value("[1-2").unwrap_err().to_string(),
            "Mismatched brackets"
        );
        assert_eq!(
            parse_value("a[1-2]").unwrap_err().to_string(),
            "Unexpected '[' found"
        );
        assert_eq!(
            parse_value("a{b}").unwrap_err().to_string(),
            "Unexpected '{' found"
        );
        assert_eq!(
            parse_value("[1-2,3]").unwrap_err().to_string(),
            "Expecting one or more \"ranges\""
        );
        assert_eq!(
            parse_value("[a-2]").unwrap_err().to_string(),
            "Expecting non-negative integers in 'a'"
        );
        assert_eq!(
            parse_value("-1").unwrap_err().to_string(),
            "Invalid scalar value '-1':Negative values not supported"
        );
        assert!(parse_value("nan").is_err());
        // Hex is not a number for stout: it is text.
        assert_eq!(parse_value("0x10").unwrap().r#type, ValueType::Text as i32);
    }

    #[test]
    fn attributes_parse_like_upstream() {
        let attrs = parse_attributes("rack:a;zone:b\nlevel:3;ports:[1-10];host:x:y").unwrap();
        assert_eq!(attrs.len(), 5);
        assert_eq!(attrs[0].name, "rack");
        assert_eq!(attrs[0].r#type, ValueType::Text as i32);
        assert_eq!(attrs[0].text.as_ref().unwrap().value, "a");
        assert_eq!(attrs[1].name, "zone");
        assert_eq!(attrs[2].r#type, ValueType::Scalar as i32);
        assert_eq!(attrs[2].scalar.unwrap().value, 3.0);
        assert_eq!(attrs[3].r#type, ValueType::Ranges as i32);
        assert_eq!(
            attrs[3].ranges.as_ref().unwrap().range,
            vec![Range { begin: 1, end: 10 }]
        );
        // Only the first ':' separates the name.
        assert_eq!(attrs[4].text.as_ref().unwrap().value, "x:y");

        assert_eq!(
            parse_attributes("rack").unwrap_err().to_string(),
            "Invalid attribute key:value pair 'rack'"
        );
        assert_eq!(
            parse_attributes(":a").unwrap_err().to_string(),
            "Invalid attribute key:value pair ':a'"
        );
        assert_eq!(
            parse_attributes("s:{a,b}").unwrap_err().to_string(),
            "Bad type for attribute s text {a,b} type SET"
        );
        assert!(parse_attributes("r:[1-").is_err());
        assert!(parse_attributes("").unwrap().is_empty());
    }

    #[test]
    fn domain_from_json() {
        let d =
            parse_domain_text(r#"{"fault_domain":{"region":{"name":"r1"},"zone":{"name":"z1"}}}"#)
                .unwrap();
        let f = d.fault_domain.unwrap();
        assert_eq!(f.region.name, "r1");
        assert_eq!(f.zone.name, "z1");
        assert_eq!(
            parse_domain_text("{}").unwrap_err().to_string(),
            "`domain` must define `fault_domain`"
        );
        assert_eq!(
            parse_domain_text(r#"{"fault_domain":{"region":{"name":"r1"}}}"#)
                .unwrap_err()
                .to_string(),
            "Missing required fields: fault_domain.zone"
        );
        assert_eq!(
            parse_domain_text(r#"{"fault_domain":{"region":{},"zone":{"name":"z"}}}"#)
                .unwrap_err()
                .to_string(),
            "Missing required fields: fault_domain.region.name"
        );
        assert!(parse_domain_text("[").is_err());
    }

    #[test]
    fn agent_features_require_the_1_9_set() {
        let all = serde_json::json!({"capabilities": [
            {"type": "MULTI_ROLE"}, {"type": "HIERARCHICAL_ROLE"},
            {"type": "RESERVATION_REFINEMENT"}, {"type": "RESOURCE_PROVIDER"},
            {"type": "AGENT_OPERATION_FEEDBACK"}, {"type": "AGENT_DRAINING"},
            {"type": "NOT_A_CAPABILITY"}
        ]});
        let caps = parse_agent_features(&all).unwrap();
        assert_eq!(caps.capabilities.len(), 7);
        assert_eq!(
            caps.capabilities[0].r#type,
            Some(CapabilityType::MultiRole as i32)
        );
        assert_eq!(caps.capabilities[6].r#type, None);

        let missing = serde_json::json!({"capabilities": [{"type": "MULTI_ROLE"}]});
        assert!(parse_agent_features(&missing)
            .unwrap_err()
            .to_string()
            .starts_with("At least the following agent features need to be enabled"));

        let no_rp = serde_json::json!({"capabilities": [
            {"type": "MULTI_ROLE"}, {"type": "HIERARCHICAL_ROLE"},
            {"type": "RESERVATION_REFINEMENT"},
            {"type": "AGENT_OPERATION_FEEDBACK"}, {"type": "AGENT_DRAINING"}
        ]});
        assert_eq!(
            parse_agent_features(&no_rp).unwrap_err().to_string(),
            "AGENT_OPERATION_FEEDBACK feature requires RESOURCE_PROVIDER feature"
        );
        assert!(parse_agent_features(&serde_json::json!({"capabilities": 3})).is_err());
    }

    #[test]
    fn credentials_json_and_text() {
        let c = parse_credentials(
            r#"{"credentials":[{"principal":"p1","secret":"s1"},{"principal":"p2"}]}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.credentials.len(), 2);
        assert_eq!(c.credentials[0].principal, "p1");
        assert_eq!(c.credentials[0].secret.as_deref(), Some("s1"));
        assert_eq!(c.credentials[1].secret, None);

        let c = parse_credentials("p1 s1\np2 s2\n").unwrap().unwrap();
        assert_eq!(c.credentials.len(), 2);
        assert_eq!(c.credentials[1].principal, "p2");
        assert_eq!(c.credentials[1].secret.as_deref(), Some("s2"));

        assert_eq!(
            parse_credentials("p1 s1\np2\n").unwrap_err().to_string(),
            "Invalid credential format at line 2"
        );
        assert_eq!(parse_credentials("").unwrap(), None);

        let c = parse_credential(r#"{"principal":"a","secret":"b"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(c.principal, "a");
        let c = parse_credential("a b\n").unwrap().unwrap();
        assert_eq!(c.secret.as_deref(), Some("b"));
        assert_eq!(
            parse_credential("a b\nc d").unwrap_err().to_string(),
            "Expecting only one credential"
        );
        assert_eq!(
            parse_credential("a").unwrap_err().to_string(),
            "Invalid credential format"
        );
    }

    #[test]
    fn credentials_file_is_read_with_or_without_scheme() {
        let dir = std::env::temp_dir().join(format!("stout-creds-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("creds");
        std::fs::write(&path, "u p\n").unwrap();
        let p = path.to_str().unwrap();
        assert_eq!(
            read_credentials(p).unwrap().unwrap().credentials[0].principal,
            "u"
        );
        let with_scheme = format!("file://{}", p);
        assert_eq!(
            read_credential(&with_scheme).unwrap().unwrap().principal,
            "u"
        );
        assert!(read_credentials("/nonexistent/stout/creds")
            .unwrap_err()
            .to_string()
            .starts_with("Failed to read credentials file '/nonexistent/stout/creds'"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn acls_must_be_an_object() {
        assert!(parse_acls(r#"{"permissive": false}"#).is_ok());
        assert!(parse_acls("[]").is_err());
        assert!(parse_acls("{").is_err());
    }
}
