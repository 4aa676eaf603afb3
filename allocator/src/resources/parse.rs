//! Parsing of the `--resources` forms (mirrors `Resources::parse`,
//! `fromSimpleString`, `fromJSON` in `src/common/resources.cpp` and
//! `values::parse` in `src/common/values.cpp`).
//!
//! - text: `cpus:2;mem:1024;ports:[31000-32000];disks(role):{a,b}` where
//!   `name(role)` statically reserves to `role`;
//! - JSON: an array of `Resource` objects in Mesos JSON (snake_case names,
//!   enums by name, numbers possibly as strings).

#![allow(deprecated)]

use mesos_proto::mesos::resource::disk_info::source::{Mount, Path, Type as SourceType};
use mesos_proto::mesos::resource::disk_info::{Persistence, Source};
use mesos_proto::mesos::resource::reservation_info::Type as ReservationType;
use mesos_proto::mesos::resource::{DiskInfo, ReservationInfo, RevocableInfo, SharedInfo};
use mesos_proto::mesos::value::{Range, Ranges, Scalar, Set, Type as ValueType};
use mesos_proto::mesos::{Label, Labels, Resource, ResourceProviderId, Volume};
use serde_json::Value as Json;

use super::resource as r;
use super::Resources;
use crate::error::{Error, Result};

/// A parsed `values::parse` result.
enum ParsedValue {
    Scalar(f64),
    Ranges(Vec<Range>),
    Set(Vec<String>),
    Text,
}

fn brackets_match(s: &str, open: char, close: char) -> bool {
    let mut depth = 0i32;
    for c in s.chars() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth < 0 {
                return false;
            }
        }
    }
    depth == 0
}

fn parse_value(text: &str) -> Result<ParsedValue> {
    let t: String = text.chars().filter(|c| *c != ' ').collect();
    if t.is_empty() {
        return Err(Error::Parse("Expecting non-empty string".into()));
    }
    if !brackets_match(&t, '{', '}')
        || !brackets_match(&t, '[', ']')
        || !brackets_match(&t, '(', ')')
    {
        return Err(Error::Parse("Mismatched brackets".into()));
    }
    match t.find('[') {
        Some(0) => {
            let toks: Vec<&str> = t
                .split(['[', ']', '-', ',', '\n'])
                .filter(|s| !s.is_empty())
                .collect();
            if toks.len() % 2 == 1 {
                return Err(Error::Parse("Expecting one or more \"ranges\"".into()));
            }
            let mut v = Vec::new();
            for pair in toks.chunks(2) {
                let (b, e) = (pair[0].parse::<u64>(), pair[1].parse::<u64>());
                match (b, e) {
                    (Ok(begin), Ok(end)) => v.push(Range { begin, end }),
                    _ => {
                        return Err(Error::Parse(format!(
                            "Expecting non-negative integers in '{}'",
                            pair[0]
                        )))
                    }
                }
            }
            super::values::coalesce(&mut v);
            Ok(ParsedValue::Ranges(v))
        }
        Some(_) => Err(Error::Parse("Unexpected '[' found".into())),
        None => match t.find('{') {
            Some(0) => Ok(ParsedValue::Set(
                t.split(['{', '}', ',', '\n'])
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            )),
            Some(_) => Err(Error::Parse("Unexpected '{' found".into())),
            None => match t.parse::<f64>() {
                Ok(v) => {
                    if v.is_nan() || v.is_infinite() || (v != 0.0 && !v.is_normal()) || v < 0.0 {
                        Err(Error::Parse(format!("Invalid scalar value '{t}'")))
                    } else {
                        Ok(ParsedValue::Scalar(v))
                    }
                }
                Err(_) => Ok(ParsedValue::Text),
            },
        },
    }
}

/// Builds one resource from `name`, a value string and a role
/// (mirrors `Resources::parse(name, value, role)`).
pub fn parse_one(name: &str, value: &str, role: &str) -> Result<Resource> {
    let parsed = parse_value(value).map_err(|e| {
        Error::Parse(format!(
            "Failed to parse resource {name} value {value} error {e}"
        ))
    })?;
    let mut res = Resource {
        name: name.to_string(),
        ..Default::default()
    };
    if role != "*" {
        res.reservations.push(ReservationInfo {
            r#type: Some(ReservationType::Static as i32),
            role: Some(role.to_string()),
            principal: None,
            labels: None,
        });
    }
    match parsed {
        ParsedValue::Scalar(v) => {
            res.r#type = ValueType::Scalar as i32;
            res.scalar = Some(Scalar { value: v });
        }
        ParsedValue::Ranges(v) => {
            res.r#type = ValueType::Ranges as i32;
            res.ranges = Some(Ranges { range: v });
        }
        ParsedValue::Set(v) => {
            res.r#type = ValueType::Set as i32;
            res.set = Some(Set { item: v });
        }
        ParsedValue::Text => {
            return Err(Error::Parse(format!(
                "Bad type for resource {name} value {value} type TEXT"
            )))
        }
    }
    Ok(res)
}

/// The `name(role):value;...` form, unvalidated.
pub fn from_simple_string(text: &str, default_role: &str) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for token in text.split(';').filter(|t| !t.is_empty()) {
        let pair: Vec<&str> = token.split(':').filter(|t| !t.is_empty()).collect();
        if pair.len() != 2 {
            return Err(Error::Parse(format!(
                "Bad value for resources, missing or extra ':' in {token}"
            )));
        }
        let (name, role) = match pair[0].find('(') {
            None => (pair[0].trim().to_string(), default_role.to_string()),
            Some(open) => {
                let close = pair[0].find(')');
                match close {
                    Some(close) if close > open => (
                        pair[0][..open].trim().to_string(),
                        pair[0][open + 1..close].trim().to_string(),
                    ),
                    _ => {
                        return Err(Error::Parse(format!(
                            "Bad value for resources, mismatched parentheses in {token}"
                        )))
                    }
                }
            }
        };
        let mut res = parse_one(&name, pair[1], &role)?;
        r::upgrade(&mut res);
        out.push(res);
    }
    Ok(out)
}

/// Parses text or JSON and validates like upstream's `Resources::parse`
/// (including the command-line checks: no persistent volumes, no revocable,
/// no dynamic reservations, one type per name).
pub fn parse(text: &str, default_role: &str) -> Result<Resources> {
    let list = match serde_json::from_str::<Json>(text) {
        Ok(Json::Array(a)) => from_json(&a, default_role)?,
        _ => from_simple_string(text, default_role)?,
    };
    let mut out = Resources::new();
    for res in &list {
        r::validate(res)?;
    }
    let mut types: std::collections::BTreeMap<&str, i32> = Default::default();
    for res in &list {
        if r::is_persistent_volume(res) {
            return Err(Error::Parse(
                "Persistent volumes cannot be specified at the command line".into(),
            ));
        }
        if r::is_revocable(res) {
            return Err(Error::Parse(
                "Revocable resources cannot be specified at the command line; do not include a 'revocable' key in the resources JSON".into(),
            ));
        }
        if r::is_dynamically_reserved(res) {
            return Err(Error::Parse(
                "Dynamic reservations cannot be specified at the command line; do not include a reservation with DYNAMIC type in the resources JSON".into(),
            ));
        }
        if let Some(t) = types.insert(&res.name, res.r#type) {
            if t != res.r#type {
                return Err(Error::Parse(format!(
                    "Resources with the same name ('{}') but different types are not allowed",
                    res.name
                )));
            }
        }
    }
    for res in list {
        out.add_resource(&res);
    }
    Ok(out)
}

fn field<'a>(o: &'a Json, k: &str) -> Option<&'a Json> {
    o.get(k).filter(|v| !v.is_null())
}

fn as_str(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn as_f64(v: &Json) -> Option<f64> {
    match v {
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_u64(v: &Json) -> Option<u64> {
    match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn enum_value<F: Fn(&str) -> Option<i32>>(v: &Json, by_name: F) -> Option<i32> {
    match v {
        Json::String(s) => by_name(s),
        Json::Number(n) => n.as_i64().map(|x| x as i32),
        _ => None,
    }
}

fn json_labels(v: &Json) -> Result<Labels> {
    let mut out = Labels::default();
    if let Some(Json::Array(a)) = field(v, "labels") {
        for l in a {
            let key = field(l, "key")
                .and_then(as_str)
                .ok_or_else(|| Error::Parse("Label without 'key'".into()))?;
            out.labels.push(Label {
                key,
                value: field(l, "value").and_then(as_str),
            });
        }
    }
    Ok(out)
}

fn json_reservation(v: &Json) -> Result<ReservationInfo> {
    Ok(ReservationInfo {
        r#type: field(v, "type")
            .and_then(|t| enum_value(t, |s| ReservationType::from_str_name(s).map(|x| x as i32))),
        role: field(v, "role").and_then(as_str),
        principal: field(v, "principal").and_then(as_str),
        labels: field(v, "labels").map(json_labels).transpose()?,
    })
}

fn json_disk(v: &Json) -> Result<DiskInfo> {
    let mut d = DiskInfo::default();
    if let Some(p) = field(v, "persistence") {
        d.persistence = Some(Persistence {
            id: field(p, "id")
                .and_then(as_str)
                .ok_or_else(|| Error::Parse("Persistence without 'id'".into()))?,
            principal: field(p, "principal").and_then(as_str),
        });
    }
    if let Some(vol) = field(v, "volume") {
        d.volume = Some(Volume {
            mode: field(vol, "mode")
                .and_then(|m| {
                    enum_value(m, |s| match s {
                        "RW" => Some(1),
                        "RO" => Some(2),
                        _ => None,
                    })
                })
                .unwrap_or(1),
            container_path: field(vol, "container_path")
                .and_then(as_str)
                .unwrap_or_default(),
            host_path: field(vol, "host_path").and_then(as_str),
            ..Default::default()
        });
    }
    if let Some(s) = field(v, "source") {
        let t = field(s, "type")
            .and_then(|t| enum_value(t, |x| SourceType::from_str_name(x).map(|y| y as i32)))
            .ok_or_else(|| Error::Parse("Disk source without a valid 'type'".into()))?;
        d.source = Some(Source {
            r#type: t,
            path: field(s, "path").map(|p| Path {
                root: field(p, "root").and_then(as_str),
            }),
            mount: field(s, "mount").map(|p| Mount {
                root: field(p, "root").and_then(as_str),
            }),
            vendor: field(s, "vendor").and_then(as_str),
            id: field(s, "id").and_then(as_str),
            metadata: field(s, "metadata").map(json_labels).transpose()?,
            profile: field(s, "profile").and_then(as_str),
        });
    }
    Ok(d)
}

/// One `Resource` from Mesos JSON (unknown keys ignored, required fields checked).
pub fn resource_from_json(o: &Json) -> Result<Resource> {
    if !o.is_object() {
        return Err(Error::Parse(
            "Expecting a JSON object for a resource".into(),
        ));
    }
    let name = field(o, "name")
        .and_then(as_str)
        .ok_or_else(|| Error::Parse("Missing required field 'name'".into()))?;
    let t = field(o, "type")
        .and_then(|t| enum_value(t, |s| ValueType::from_str_name(s).map(|x| x as i32)))
        .ok_or_else(|| Error::Parse(format!("Missing or invalid 'type' for resource '{name}'")))?;
    let mut res = Resource {
        name,
        r#type: t,
        ..Default::default()
    };
    if let Some(s) = field(o, "scalar") {
        let value = field(s, "value")
            .and_then(as_f64)
            .ok_or_else(|| Error::Parse("Scalar without 'value'".into()))?;
        res.scalar = Some(Scalar { value });
    }
    if let Some(rs) = field(o, "ranges") {
        let mut v = Vec::new();
        if let Some(Json::Array(a)) = field(rs, "range") {
            for x in a {
                let begin = field(x, "begin").and_then(as_u64);
                let end = field(x, "end").and_then(as_u64);
                match (begin, end) {
                    (Some(begin), Some(end)) => v.push(Range { begin, end }),
                    _ => return Err(Error::Parse("Range without 'begin'/'end'".into())),
                }
            }
        }
        res.ranges = Some(Ranges { range: v });
    }
    if let Some(s) = field(o, "set") {
        let mut items = Vec::new();
        if let Some(Json::Array(a)) = field(s, "item") {
            items = a.iter().filter_map(as_str).collect();
        }
        res.set = Some(Set { item: items });
    }
    res.role = field(o, "role").and_then(as_str);
    if let Some(x) = field(o, "reservation") {
        res.reservation = Some(json_reservation(x)?);
    }
    if let Some(Json::Array(a)) = field(o, "reservations") {
        for x in a {
            res.reservations.push(json_reservation(x)?);
        }
    }
    if let Some(d) = field(o, "disk") {
        res.disk = Some(Box::new(json_disk(d)?));
    }
    if field(o, "revocable").is_some() {
        res.revocable = Some(RevocableInfo {});
    }
    if field(o, "shared").is_some() {
        res.shared = Some(SharedInfo {});
    }
    if let Some(p) = field(o, "provider_id") {
        res.provider_id = Some(ResourceProviderId {
            value: field(p, "value").and_then(as_str).unwrap_or_default(),
        });
    }
    Ok(res)
}

/// The JSON array form, unvalidated; entries without a role or reservations
/// get `default_role` (mirrors `Resources::fromJSON`).
pub fn from_json(a: &[Json], default_role: &str) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for o in a {
        let mut res = resource_from_json(o).map_err(|e| {
            Error::Parse(format!(
                "Some JSON resources were not formatted properly: {e}"
            ))
        })?;
        if res.role.is_none() && res.reservations.is_empty() {
            res.role = Some(default_role.to_string());
        }
        r::upgrade(&mut res);
        out.push(res);
    }
    Ok(out)
}
