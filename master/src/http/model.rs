//! The hand-written v0 JSON shapes of `/state`, `/slaves`, `/frameworks`
//! (upstream `src/common/http.cpp` `model()`/`json()` and
//! `src/master/readonly_handler.cpp`). Nested protobufs that upstream
//! writes with `JSON::Protobuf` use the stout rules of `mesos_proto::json`.

use serde_json::{json, Map, Value};

use mesos_proto::mesos::{Attribute, Labels, Resource, Task, TaskStatus};

use crate::resources::Resources;
use crate::state::{state_name, Agent, Framework, MasterState, Usage};

use super::json_writer::{self as jw, Arr, Obj};

/// Any protobuf as stout JSON (`JSON::Protobuf`), or null if it cannot be
/// rendered.
pub fn proto<M: prost::Message + prost::Name>(m: &M) -> Value {
    mesos_proto::json::to_json_value(m).unwrap_or(Value::Null)
}

fn range_text(rs: &[mesos_proto::mesos::value::Range]) -> String {
    let items: Vec<String> = rs
        .iter()
        .map(|r| format!("{}-{}", r.begin, r.end))
        .collect();
    format!("[{}]", items.join(", "))
}

/// The items of the `name` sets in `rs`, sorted and distinct, as `"{a,b}"`.
fn set_text(rs: &[&Resource], name: &str) -> String {
    let mut items: Vec<&str> = rs
        .iter()
        .filter(|r| r.name == name)
        .flat_map(|r| r.set.iter().flat_map(|s| s.item.iter()))
        .map(String::as_str)
        .collect();
    items.sort_unstable();
    items.dedup();
    format!("{{{}}}", items.join(","))
}

/// Upstream `model(const Resources&)`: `cpus`, `gpus`, `mem`, `disk`
/// always present; scalars summed, ranges as `"[a-b, c-d]"`, sets as
/// `"{a,b}"`; revocable ones under `<name>_revocable`.
pub fn resources(rs: &Resources) -> Value {
    let mut o = Map::new();
    for n in ["cpus", "gpus", "mem", "disk"] {
        o.insert(n.to_string(), json!(0.0));
    }
    for revocable in [false, true] {
        let subset: Vec<&Resource> = rs
            .iter()
            .filter(|r| r.revocable.is_some() == revocable)
            .collect();
        let sub = Resources::from_vec(subset.iter().copied());
        let mut names: Vec<&str> = subset.iter().map(|r| r.name.as_str()).collect();
        names.sort();
        names.dedup();
        for name in names {
            let key = if revocable {
                format!("{name}_revocable")
            } else {
                name.to_string()
            };
            let first = subset
                .iter()
                .find(|r| r.name == name)
                .expect("name from subset");
            let v = if first.scalar.is_some() {
                json!(sub.scalar(name))
            } else if first.ranges.is_some() {
                json!(range_text(&sub.ranges(name)))
            } else if first.set.is_some() {
                json!(set_text(&subset, name))
            } else {
                continue;
            };
            o.insert(key, v);
        }
    }
    Value::Object(o)
}

/// The `*_full` variants: the resources themselves as protobuf JSON, in
/// upstream's ENDPOINT format (`role`/`reservation` beside `reservations`).
pub fn resources_full(rs: &Resources) -> Value {
    Value::Array(rs.to_endpoint_vec().iter().map(proto).collect())
}

/// Upstream `model(const Attributes&)`: name -> scalar / ranges / set / text.
pub fn attributes(attrs: &[Attribute]) -> Value {
    let mut o = Map::new();
    for a in attrs {
        let v = if let Some(s) = &a.scalar {
            json!(s.value)
        } else if let Some(r) = &a.ranges {
            json!(range_text(&r.range))
        } else if let Some(s) = &a.set {
            json!(format!("{{{}}}", s.item.join(",")))
        } else if let Some(t) = &a.text {
            json!(t.value)
        } else {
            continue;
        };
        o.insert(a.name.clone(), v);
    }
    Value::Object(o)
}

fn labels(l: &Labels) -> Value {
    Value::Array(l.labels.iter().map(proto).collect())
}

/// Upstream `json(JSON::ObjectWriter*, const ContainerStatus&)`: only the
/// container id, network infos and cgroup info (not `executor_pid`).
fn container_status(c: &mesos_proto::mesos::ContainerStatus) -> Value {
    let mut o = Map::new();
    if let Some(id) = &c.container_id {
        o.insert("container_id".into(), proto(id));
    }
    if !c.network_infos.is_empty() {
        o.insert(
            "network_infos".into(),
            Value::Array(c.network_infos.iter().map(proto).collect()),
        );
    }
    if let Some(g) = &c.cgroup_info {
        o.insert("cgroup_info".into(), proto(g));
    }
    Value::Object(o)
}

/// Upstream `json(JSON::ObjectWriter*, const MasterInfo&)`: the fields the
/// v0 endpoints print for `leader_info`.
pub fn master_info(m: &mesos_proto::mesos::MasterInfo) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(m.id));
    o.insert("pid".into(), json!(m.pid.clone().unwrap_or_default()));
    o.insert("port".into(), json!(m.port));
    o.insert(
        "hostname".into(),
        json!(m.hostname.clone().unwrap_or_default()),
    );
    if let Some(d) = &m.domain {
        o.insert("domain".into(), proto(d));
    }
    Value::Object(o)
}

/// Upstream `json(JSON::ObjectWriter*, const TaskStatus&)`.
pub fn task_status(s: &TaskStatus) -> Value {
    let mut o = Map::new();
    o.insert("state".into(), json!(state_name(s.state)));
    o.insert("timestamp".into(), json!(s.timestamp.unwrap_or(0.0)));
    if let Some(l) = &s.labels {
        o.insert("labels".into(), labels(l));
    }
    if let Some(c) = &s.container_status {
        o.insert("container_status".into(), container_status(c));
    }
    if let Some(h) = s.healthy {
        o.insert("healthy".into(), json!(h));
    }
    Value::Object(o)
}

/// Upstream `json(JSON::ObjectWriter*, const Task&)`.
pub fn task(t: &Task) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(t.task_id.value));
    o.insert("name".into(), json!(t.name));
    o.insert("framework_id".into(), json!(t.framework_id.value));
    o.insert(
        "executor_id".into(),
        json!(t
            .executor_id
            .as_ref()
            .map(|e| e.value.as_str())
            .unwrap_or("")),
    );
    o.insert("slave_id".into(), json!(t.slave_id.value));
    o.insert("state".into(), json!(state_name(t.state)));
    o.insert(
        "resources".into(),
        resources(&Resources::from_vec(&t.resources)),
    );
    let role = t
        .resources
        .first()
        .and_then(|r| r.allocation_info.as_ref())
        .and_then(|a| a.role.clone())
        .unwrap_or_else(|| "*".into());
    o.insert("role".into(), json!(role));
    o.insert(
        "statuses".into(),
        Value::Array(t.statuses.iter().map(task_status).collect()),
    );
    if let Some(u) = &t.user {
        o.insert("user".into(), json!(u));
    }
    if let Some(l) = &t.labels {
        o.insert("labels".into(), labels(l));
    }
    if let Some(d) = &t.discovery {
        o.insert("discovery".into(), proto(d));
    }
    if let Some(c) = &t.container {
        o.insert("container".into(), proto(c));
    }
    if let Some(h) = &t.health_check {
        o.insert("health_check".into(), proto(h));
    }
    Value::Object(o)
}

fn framework_used<'u>(
    state: &MasterState,
    usage: &'u Usage,
    f: &Framework,
) -> (&'u Resources, Resources) {
    let used = usage.used_by(f.id());
    let mut offered = Resources::new();
    for o in f.offers.iter().filter_map(|id| state.offers.get(id)) {
        offered.add_slice(&o.resources);
    }
    (used, offered)
}

/// Upstream `json(Summary<Framework>)` (`/state-summary`), the first
/// fields of the full model.
pub fn framework_summary(state: &MasterState, usage: &Usage, f: &Framework) -> Map<String, Value> {
    let (used, offered) = framework_used(state, usage, f);
    framework_summary_of(f, used, &offered)
}

fn framework_summary_of(
    f: &Framework,
    used: &Resources,
    offered: &Resources,
) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("id".into(), json!(f.id()));
    o.insert("name".into(), json!(f.name()));
    if let Some(p) = f.pid() {
        o.insert("pid".into(), json!(p.to_string()));
    }
    o.insert("used_resources".into(), resources(used));
    o.insert("offered_resources".into(), resources(offered));
    o.insert(
        "capabilities".into(),
        Value::Array(
            f.info
                .capabilities
                .iter()
                .filter_map(|c| c.r#type)
                .filter_map(|t| {
                    mesos_proto::mesos::framework_info::capability::Type::try_from(t).ok()
                })
                .map(|t| json!(t.as_str_name()))
                .collect(),
        ),
    );
    o.insert(
        "hostname".into(),
        json!(f.info.hostname.clone().unwrap_or_default()),
    );
    o.insert(
        "webui_url".into(),
        json!(f.info.webui_url.clone().unwrap_or_default()),
    );
    o.insert("active".into(), json!(f.active()));
    o.insert("connected".into(), json!(f.connected()));
    o.insert(
        "recovered".into(),
        json!(f.state == crate::state::FrameworkState::Recovered),
    );
    o
}

/// Upstream `FullFrameworkWriter` (`/state`, `/frameworks`).
pub fn framework(state: &MasterState, usage: &Usage, f: &Framework) -> Value {
    let (used, offered) = framework_used(state, usage, f);
    let mut o = framework_summary_of(f, used, &offered);
    let mut total = used.clone();
    total.add_all(&offered);
    o.insert("user".into(), json!(f.info.user));
    o.insert(
        "failover_timeout".into(),
        json!(f.info.failover_timeout.unwrap_or(0.0)),
    );
    o.insert(
        "checkpoint".into(),
        json!(f.info.checkpoint.unwrap_or(false)),
    );
    o.insert("registered_time".into(), json!(f.registered_time));
    o.insert(
        "unregistered_time".into(),
        json!(f.unregistered_time.unwrap_or(0.0)),
    );
    if let Some(p) = &f.info.principal {
        o.insert("principal".into(), json!(p));
    }
    o.insert("resources".into(), resources(&total));
    // Upstream prints it only once it differs from the registration time.
    if let Some(t) = f.reregistered_time.filter(|t| *t != f.registered_time) {
        o.insert("reregistered_time".into(), json!(t));
    }
    if f.multi_role() {
        o.insert("roles".into(), json!(f.info.roles));
    } else {
        o.insert(
            "role".into(),
            json!(f.info.role.clone().unwrap_or_else(|| "*".into())),
        );
    }
    o.insert(
        "tasks".into(),
        Value::Array(f.tasks.values().map(task).collect()),
    );
    o.insert("unreachable_tasks".into(), Value::Array(vec![]));
    o.insert(
        "completed_tasks".into(),
        Value::Array(f.completed_tasks.iter().map(task).collect()),
    );
    o.insert(
        "offers".into(),
        Value::Array(
            f.offers
                .iter()
                .filter_map(|id| state.offers.get(id))
                .map(|of| {
                    json!({
                        "id": of.id.value,
                        "framework_id": of.framework_id.value,
                        "allocation_info": of.allocation_info.as_ref().map(proto).unwrap_or(Value::Null),
                        "slave_id": of.slave_id.value,
                        "resources": resources(&Resources::from_vec(&of.resources)),
                    })
                })
                .collect(),
        ),
    );
    o.insert(
        "executors".into(),
        Value::Array(
            f.executors
                .iter()
                .flat_map(|(agent, m)| {
                    m.values().map(move |e| {
                        json!({
                            "executor_id": e.executor_id.value,
                            "name": e.name.clone().unwrap_or_default(),
                            "framework_id": f.id(),
                            "command": e.command.as_ref().map(proto).unwrap_or(Value::Null),
                            "resources": resources(&Resources::from_vec(&e.resources)),
                            "slave_id": agent,
                        })
                    })
                })
                .collect(),
        ),
    );
    if let Some(c) = &f.offer_constraints {
        o.insert("offer_constraints".into(), proto(c));
    }
    Value::Object(o)
}

/// Upstream `json(Summary<Slave>)` (`/state`); `full` adds the
/// `*_resources_full` fields `/slaves` has.
pub fn agent(state: &MasterState, usage: &Usage, a: &Agent, full: bool) -> Value {
    let used = usage.used_on(a.id());
    let offered = usage.offered_on(a.id());
    let mut reserved_full = Map::new();
    let reserved_by_role = {
        let mut m = Map::new();
        let mut roles: Vec<String> = a
            .total
            .iter()
            .map(|r| crate::resources::reservation_role(r).to_string())
            .filter(|r| r != "*")
            .collect();
        roles.sort();
        roles.dedup();
        for role in roles {
            let rs = Resources::from_vec(
                a.total
                    .iter()
                    .filter(|r| crate::resources::reservation_role(r) == role),
            );
            reserved_full.insert(role.clone(), resources_full(&rs));
            m.insert(role, resources(&rs));
        }
        Value::Object(m)
    };
    let unreserved = Resources::from_vec(
        a.total
            .iter()
            .filter(|r| crate::resources::reservation_role(r) == "*"),
    );
    let mut o = Map::new();
    o.insert("id".into(), json!(a.id()));
    o.insert("pid".into(), json!(a.pid.to_string()));
    o.insert("hostname".into(), json!(a.hostname()));
    o.insert("port".into(), json!(a.info.port.unwrap_or(5051)));
    if let Some(d) = &a.info.domain {
        o.insert("domain".into(), proto(d));
    }
    o.insert("registered_time".into(), json!(a.registered_time));
    if let Some(t) = a.reregistered_time {
        o.insert("reregistered_time".into(), json!(t));
    }
    o.insert("resources".into(), resources(&a.total));
    o.insert("used_resources".into(), resources(used));
    o.insert("offered_resources".into(), resources(offered));
    o.insert("reserved_resources".into(), reserved_by_role);
    o.insert("unreserved_resources".into(), resources(&unreserved));
    o.insert("attributes".into(), attributes(&a.info.attributes));
    o.insert("active".into(), json!(a.active));
    // Upstream readonly_handler.cpp `SlaveWriter`: `deactivated`, then
    // `drain_info` only for a draining/drained agent.
    o.insert(
        "deactivated".into(),
        json!(state.deactivated.contains(a.id())),
    );
    if let Some(d) = state.draining.get(a.id()) {
        o.insert("drain_info".into(), proto(d));
        if let Some(t) = a.estimated_drain_start {
            o.insert("estimated_drain_start_time_seconds".into(), json!(t));
        }
    }
    o.insert("version".into(), json!(a.version));
    o.insert(
        "capabilities".into(),
        Value::Array(
            a.capabilities
                .iter()
                .filter_map(|t| mesos_proto::mesos::slave_info::capability::Type::try_from(*t).ok())
                .map(|t| json!(t.as_str_name()))
                .collect(),
        ),
    );
    if full {
        o.insert(
            "reserved_resources_full".into(),
            Value::Object(reserved_full),
        );
        o.insert(
            "unreserved_resources_full".into(),
            resources_full(&unreserved),
        );
        o.insert("used_resources_full".into(), resources_full(used));
        o.insert("offered_resources_full".into(), resources_full(offered));
    }
    Value::Object(o)
}

// ---------------------------------------------------------------------
// Streaming writers. The same shapes as the `Value` builders above, written
// straight into a buffer (upstream writes these with `JSON::ObjectWriter`,
// src/common/http.cpp and src/master/readonly_handler.cpp). The endpoints
// use these; the `Value` builders stay as the reference the
// `state_json_bytes` test compares against.

/// A leaf of the `model()` objects.
enum Leaf {
    Num(f64),
    Text(String),
}

/// Insertion with `serde_json::Map` (preserve_order) semantics: a repeated
/// key keeps its first position and takes the last value.
fn put<'k>(
    fields: &mut Vec<(std::borrow::Cow<'k, str>, Leaf)>,
    k: std::borrow::Cow<'k, str>,
    v: Leaf,
) {
    if let Some(slot) = fields.iter_mut().find(|(n, _)| *n == k) {
        slot.1 = v;
    } else {
        fields.push((k, v));
    }
}

fn write_leaves(out: &mut Vec<u8>, fields: &[(std::borrow::Cow<'_, str>, Leaf)]) {
    let mut o = Obj::new(out);
    for (k, v) in fields {
        match v {
            Leaf::Num(n) => o.f64(k, *n),
            Leaf::Text(t) => o.str(k, t),
        }
    }
    o.end();
}

/// [`resources`], streamed.
pub fn write_resources(out: &mut Vec<u8>, rs: &Resources) {
    use std::borrow::Cow;
    let mut fields: Vec<(Cow<str>, Leaf)> = ["cpus", "gpus", "mem", "disk"]
        .into_iter()
        .map(|n| (Cow::Borrowed(n), Leaf::Num(0.0)))
        .collect();
    for revocable in [false, true] {
        if !rs.iter().any(|r| r.revocable.is_some() == revocable) {
            continue;
        }
        let subset: Vec<&Resource> = rs
            .iter()
            .filter(|r| r.revocable.is_some() == revocable)
            .collect();
        // `rs` is already merged: when every entry is on this side (the
        // usual case, nothing revocable) it is its own subset.
        let merged;
        let sub: &Resources = if subset.len() == rs.iter().count() {
            rs
        } else {
            merged = Resources::from_vec(subset.iter().copied());
            &merged
        };
        let mut names: Vec<&str> = subset.iter().map(|r| r.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let key: Cow<str> = if revocable {
                Cow::Owned(format!("{name}_revocable"))
            } else {
                Cow::Owned(name.to_string())
            };
            let first = subset
                .iter()
                .find(|r| r.name == name)
                .expect("name from subset");
            let v = if first.scalar.is_some() {
                Leaf::Num(sub.scalar(name))
            } else if first.ranges.is_some() {
                Leaf::Text(range_text(&sub.ranges(name)))
            } else if first.set.is_some() {
                Leaf::Text(set_text(&subset, name))
            } else {
                continue;
            };
            put(&mut fields, key, v);
        }
    }
    write_leaves(out, &fields);
}

fn write_resources_full(out: &mut Vec<u8>, rs: &Resources) {
    let mut a = Arr::new(out);
    for r in rs.to_endpoint_vec().iter() {
        jw::value(a.item(), &proto(r));
    }
    a.end();
}

/// [`attributes`], streamed.
pub fn write_attributes(out: &mut Vec<u8>, attrs: &[Attribute]) {
    use std::borrow::Cow;
    let mut fields: Vec<(Cow<str>, Leaf)> = Vec::with_capacity(attrs.len());
    for a in attrs {
        let v = if let Some(s) = &a.scalar {
            Leaf::Num(s.value)
        } else if let Some(r) = &a.ranges {
            Leaf::Text(range_text(&r.range))
        } else if let Some(s) = &a.set {
            Leaf::Text(format!("{{{}}}", s.item.join(",")))
        } else if let Some(t) = &a.text {
            Leaf::Text(t.value.clone())
        } else {
            continue;
        };
        put(&mut fields, Cow::Borrowed(a.name.as_str()), v);
    }
    write_leaves(out, &fields);
}

fn write_labels(out: &mut Vec<u8>, l: &Labels) {
    let mut a = Arr::new(out);
    for x in &l.labels {
        jw::value(a.item(), &proto(x));
    }
    a.end();
}

fn write_container_status(out: &mut Vec<u8>, c: &mesos_proto::mesos::ContainerStatus) {
    let mut o = Obj::new(out);
    if let Some(id) = &c.container_id {
        o.value("container_id", &proto(id));
    }
    if !c.network_infos.is_empty() {
        let mut a = Arr::new(o.key("network_infos"));
        for n in &c.network_infos {
            jw::value(a.item(), &proto(n));
        }
        a.end();
    }
    if let Some(g) = &c.cgroup_info {
        o.value("cgroup_info", &proto(g));
    }
    o.end();
}

/// [`master_info`], streamed.
pub fn write_master_info(out: &mut Vec<u8>, m: &mesos_proto::mesos::MasterInfo) {
    let mut o = Obj::new(out);
    o.str("id", &m.id);
    o.str("pid", m.pid.as_deref().unwrap_or(""));
    o.int("port", m.port);
    o.str("hostname", m.hostname.as_deref().unwrap_or(""));
    if let Some(d) = &m.domain {
        o.value("domain", &proto(d));
    }
    o.end();
}

/// [`task_status`], streamed.
pub fn write_task_status(out: &mut Vec<u8>, s: &TaskStatus) {
    let mut o = Obj::new(out);
    o.str("state", state_name(s.state));
    o.f64("timestamp", s.timestamp.unwrap_or(0.0));
    if let Some(l) = &s.labels {
        write_labels(o.key("labels"), l);
    }
    if let Some(c) = &s.container_status {
        write_container_status(o.key("container_status"), c);
    }
    if let Some(h) = s.healthy {
        o.bool("healthy", h);
    }
    o.end();
}

/// [`task`], streamed.
pub fn write_task(out: &mut Vec<u8>, t: &Task) {
    let mut o = Obj::new(out);
    o.str("id", &t.task_id.value);
    o.str("name", &t.name);
    o.str("framework_id", &t.framework_id.value);
    o.str(
        "executor_id",
        t.executor_id
            .as_ref()
            .map(|e| e.value.as_str())
            .unwrap_or(""),
    );
    o.str("slave_id", &t.slave_id.value);
    o.str("state", state_name(t.state));
    write_resources(o.key("resources"), &Resources::from_vec(&t.resources));
    let role = t
        .resources
        .first()
        .and_then(|r| r.allocation_info.as_ref())
        .and_then(|a| a.role.as_deref())
        .unwrap_or("*");
    o.str("role", role);
    let mut a = Arr::new(o.key("statuses"));
    for s in &t.statuses {
        write_task_status(a.item(), s);
    }
    a.end();
    if let Some(u) = &t.user {
        o.str("user", u);
    }
    if let Some(l) = &t.labels {
        write_labels(o.key("labels"), l);
    }
    if let Some(d) = &t.discovery {
        o.value("discovery", &proto(d));
    }
    if let Some(c) = &t.container {
        o.value("container", &proto(c));
    }
    if let Some(h) = &t.health_check {
        o.value("health_check", &proto(h));
    }
    o.end();
}

fn write_framework_summary_fields(
    o: &mut Obj<'_>,
    f: &Framework,
    used: &Resources,
    offered: &Resources,
) {
    o.str("id", f.id());
    o.str("name", f.name());
    if let Some(p) = f.pid() {
        o.str("pid", &p.to_string());
    }
    write_resources(o.key("used_resources"), used);
    write_resources(o.key("offered_resources"), offered);
    jw::str_array(
        o.key("capabilities"),
        f.info
            .capabilities
            .iter()
            .filter_map(|c| c.r#type)
            .filter_map(|t| mesos_proto::mesos::framework_info::capability::Type::try_from(t).ok())
            .map(|t| t.as_str_name()),
    );
    o.str("hostname", f.info.hostname.as_deref().unwrap_or(""));
    o.str("webui_url", f.info.webui_url.as_deref().unwrap_or(""));
    o.bool("active", f.active());
    o.bool("connected", f.connected());
    o.bool(
        "recovered",
        f.state == crate::state::FrameworkState::Recovered,
    );
}

/// [`framework_summary`]'s fields, streamed into an open object (the
/// caller adds `/state-summary`'s counts and closes it).
pub fn write_framework_summary(o: &mut Obj<'_>, state: &MasterState, usage: &Usage, f: &Framework) {
    let (used, offered) = framework_used(state, usage, f);
    write_framework_summary_fields(o, f, used, &offered);
}

/// [`framework`], streamed.
pub fn write_framework(out: &mut Vec<u8>, state: &MasterState, usage: &Usage, f: &Framework) {
    let (used, offered) = framework_used(state, usage, f);
    let mut o = Obj::new(out);
    write_framework_summary_fields(&mut o, f, used, &offered);
    let mut total = used.clone();
    total.add_all(&offered);
    o.str("user", &f.info.user);
    o.f64("failover_timeout", f.info.failover_timeout.unwrap_or(0.0));
    o.bool("checkpoint", f.info.checkpoint.unwrap_or(false));
    o.f64("registered_time", f.registered_time);
    o.f64("unregistered_time", f.unregistered_time.unwrap_or(0.0));
    if let Some(p) = &f.info.principal {
        o.str("principal", p);
    }
    write_resources(o.key("resources"), &total);
    if let Some(t) = f.reregistered_time.filter(|t| *t != f.registered_time) {
        o.f64("reregistered_time", t);
    }
    if f.multi_role() {
        jw::str_array(o.key("roles"), f.info.roles.iter().map(String::as_str));
    } else {
        o.str("role", f.info.role.as_deref().unwrap_or("*"));
    }
    let mut a = Arr::new(o.key("tasks"));
    for t in f.tasks.values() {
        write_task(a.item(), t);
    }
    a.end();
    o.key("unreachable_tasks").extend_from_slice(b"[]");
    let mut a = Arr::new(o.key("completed_tasks"));
    for t in &f.completed_tasks {
        write_task(a.item(), t);
    }
    a.end();
    let mut a = Arr::new(o.key("offers"));
    for of in f.offers.iter().filter_map(|id| state.offers.get(id)) {
        let mut x = Obj::new(a.item());
        x.str("id", &of.id.value);
        x.str("framework_id", &of.framework_id.value);
        match &of.allocation_info {
            Some(ai) => x.value("allocation_info", &proto(ai)),
            None => x.key("allocation_info").extend_from_slice(b"null"),
        }
        x.str("slave_id", &of.slave_id.value);
        write_resources(x.key("resources"), &Resources::from_vec(&of.resources));
        x.end();
    }
    a.end();
    let mut a = Arr::new(o.key("executors"));
    for (agent, m) in &f.executors {
        for e in m.values() {
            let mut x = Obj::new(a.item());
            x.str("executor_id", &e.executor_id.value);
            x.str("name", e.name.as_deref().unwrap_or(""));
            x.str("framework_id", f.id());
            match &e.command {
                Some(c) => x.value("command", &proto(c)),
                None => x.key("command").extend_from_slice(b"null"),
            }
            write_resources(x.key("resources"), &Resources::from_vec(&e.resources));
            x.str("slave_id", agent);
            x.end();
        }
    }
    a.end();
    // Beyond 1.9: upstream 1.11's `FullFrameworkWriter` ends with the
    // framework's offer constraints (always; `{}` when none). We print them
    // only when the framework set some, so 1.9 clients see 1.9's output.
    if let Some(c) = &f.offer_constraints {
        o.value("offer_constraints", &proto(c));
    }
    o.end();
}

/// [`agent`]'s fields, streamed into an open object (the caller closes it,
/// after `/state-summary`'s extra fields if any).
pub fn write_agent_fields(
    o: &mut Obj<'_>,
    state: &MasterState,
    usage: &Usage,
    a: &Agent,
    full: bool,
) {
    let used = usage.used_on(a.id());
    let offered = usage.offered_on(a.id());
    let mut roles: Vec<&str> = a
        .total
        .iter()
        .map(crate::resources::reservation_role)
        .filter(|r| *r != "*")
        .collect();
    roles.sort_unstable();
    roles.dedup();
    let reserved: Vec<(&str, Resources)> = roles
        .iter()
        .map(|role| {
            (
                *role,
                Resources::from_vec(
                    a.total
                        .iter()
                        .filter(|r| crate::resources::reservation_role(r) == *role),
                ),
            )
        })
        .collect();
    let unreserved = Resources::from_vec(
        a.total
            .iter()
            .filter(|r| crate::resources::reservation_role(r) == "*"),
    );
    o.str("id", a.id());
    o.str("pid", &a.pid.to_string());
    o.str("hostname", a.hostname());
    o.int("port", a.info.port.unwrap_or(5051));
    if let Some(d) = &a.info.domain {
        o.value("domain", &proto(d));
    }
    o.f64("registered_time", a.registered_time);
    if let Some(t) = a.reregistered_time {
        o.f64("reregistered_time", t);
    }
    write_resources(o.key("resources"), &a.total);
    write_resources(o.key("used_resources"), used);
    write_resources(o.key("offered_resources"), offered);
    let mut r = Obj::new(o.key("reserved_resources"));
    for (role, rs) in &reserved {
        write_resources(r.key(role), rs);
    }
    r.end();
    write_resources(o.key("unreserved_resources"), &unreserved);
    write_attributes(o.key("attributes"), &a.info.attributes);
    o.bool("active", a.active);
    o.bool("deactivated", state.deactivated.contains(a.id()));
    if let Some(d) = state.draining.get(a.id()) {
        o.value("drain_info", &proto(d));
        if let Some(t) = a.estimated_drain_start {
            o.f64("estimated_drain_start_time_seconds", t);
        }
    }
    o.str("version", &a.version);
    jw::str_array(
        o.key("capabilities"),
        a.capabilities
            .iter()
            .filter_map(|t| mesos_proto::mesos::slave_info::capability::Type::try_from(*t).ok())
            .map(|t| t.as_str_name()),
    );
    if full {
        let mut r = Obj::new(o.key("reserved_resources_full"));
        for (role, rs) in &reserved {
            write_resources_full(r.key(role), rs);
        }
        r.end();
        write_resources_full(o.key("unreserved_resources_full"), &unreserved);
        write_resources_full(o.key("used_resources_full"), used);
        write_resources_full(o.key("offered_resources_full"), offered);
    }
}

/// [`agent`], streamed.
pub fn write_agent(out: &mut Vec<u8>, state: &MasterState, usage: &Usage, a: &Agent, full: bool) {
    let mut o = Obj::new(out);
    write_agent_fields(&mut o, state, usage, a, full);
    o.end();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{ranges, scalar};

    #[test]
    fn resources_model_has_defaults_and_ranges_text() {
        let rs = Resources::from_vec(&[
            scalar("cpus", 2.0),
            scalar("mem", 1024.0),
            ranges("ports", &[(31000, 32000)]),
        ]);
        let v = resources(&rs);
        assert_eq!(v["cpus"], json!(2.0));
        assert_eq!(v["gpus"], json!(0.0));
        assert_eq!(v["disk"], json!(0.0));
        assert_eq!(v["ports"], json!("[31000-32000]"));
    }

    fn streamed(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut out = Vec::new();
        f(&mut out);
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn streamed_resources_and_attributes_match_values() {
        let mut rev = scalar("cpus", 0.5);
        rev.revocable = Some(Default::default());
        let mut rev_mem = scalar("mem", 3.0);
        rev_mem.revocable = Some(Default::default());
        let set = Resource {
            name: "zones".into(),
            r#type: mesos_proto::mesos::value::Type::Set as i32,
            set: Some(mesos_proto::mesos::value::Set {
                item: vec!["b".into(), "a\"q".into()],
            }),
            ..Default::default()
        };
        let cases = [
            vec![],
            vec![scalar("cpus", 2.0), scalar("mem", 0.1 + 0.2)],
            vec![
                scalar("cpus", 1.0),
                scalar("cpus", 0.25),
                ranges("ports", &[(1, 5), (6, 9), (20, 30)]),
                scalar("bandwidth", 1e20),
                set.clone(),
                rev.clone(),
            ],
            vec![rev, rev_mem, set],
        ];
        for c in cases {
            let rs = Resources::from_vec(&c);
            assert_eq!(
                resources(&rs).to_string(),
                streamed(|o| write_resources(o, &rs))
            );
        }
        let attr = |name: &str, text: &str| Attribute {
            name: name.into(),
            text: Some(mesos_proto::mesos::value::Text { value: text.into() }),
            ..Default::default()
        };
        let attrs = vec![
            attr("rack", "r1"),
            attr("os", "linux\u{2603}"),
            attr("rack", "r2"),
        ];
        assert_eq!(
            attributes(&attrs).to_string(),
            streamed(|o| write_attributes(o, &attrs))
        );
    }

    #[test]
    fn revocable_resources_get_a_suffix() {
        let mut r = scalar("cpus", 1.0);
        r.revocable = Some(Default::default());
        let v = resources(&Resources::from_vec(&[r]));
        assert_eq!(v["cpus_revocable"], json!(1.0));
        assert_eq!(v["cpus"], json!(0.0));
    }
}
