//! The agent's HTTP endpoints (src/slave/http.cpp): `/state` (hand-shaped
//! JSON like upstream's `Http::state`), `/flags`, `/health` and a minimal
//! `/api/v1` (GET_HEALTH, GET_VERSION, GET_FLAGS, GET_STATE, GET_AGENT).

use http::{Method, StatusCode};
use libprocess::{Cx, Request, Responder, Response};
use mesos_proto::mesos::{Resource, Task, TaskState};
use serde_json::{json, Map, Value};

use super::model::{Executor, Framework};
use super::{Slave, VERSION};

/// Resources as `/state` prints them: scalars by name (with `gpus`
/// always present), ranges as `[a-b, c-d]`, sets as `{a, b}`.
pub fn resources_json(rs: &[Resource]) -> Value {
    let mut m = Map::new();
    for k in ["disk", "mem", "gpus", "cpus"] {
        m.insert(k.into(), json!(0.0));
    }
    for r in rs {
        if let Some(s) = &r.scalar {
            let cur = m.get(&r.name).and_then(|v| v.as_f64()).unwrap_or(0.0);
            m.insert(r.name.clone(), json!(cur + s.value));
        } else if let Some(ranges) = &r.ranges {
            let txt: Vec<String> = ranges
                .range
                .iter()
                .map(|x| format!("{}-{}", x.begin, x.end))
                .collect();
            m.insert(r.name.clone(), json!(format!("[{}]", txt.join(", "))));
        } else if let Some(set) = &r.set {
            m.insert(
                r.name.clone(),
                json!(format!("{{{}}}", set.item.join(", "))),
            );
        }
    }
    Value::Object(m)
}

fn task_json(t: &Task) -> Value {
    json!({
        "id": t.task_id.value,
        "name": t.name,
        "framework_id": t.framework_id.value,
        "executor_id": t.executor_id.as_ref().map(|e| e.value.clone()).unwrap_or_default(),
        "slave_id": t.slave_id.value,
        "state": TaskState::try_from(t.state).map(|s| s.as_str_name()).unwrap_or("TASK_UNKNOWN"),
        "resources": resources_json(&t.resources),
        "statuses": t.statuses.iter().map(|s| json!({
            "state": s.state().as_str_name(),
            "timestamp": s.timestamp.unwrap_or(0.0),
        })).collect::<Vec<_>>(),
    })
}

fn executor_json(e: &Executor) -> Value {
    json!({
        "id": e.id,
        "name": e.info.name.clone().unwrap_or_default(),
        "source": e.info.source.clone().unwrap_or_default(),
        "container": e.container_id,
        "directory": e.directory.display().to_string(),
        "resources": resources_json(&e.allocated_resources()),
        "type": if e.command_executor { "COMMAND" } else { "CUSTOM" },
        "tasks": e.launched_tasks.values().map(task_json).collect::<Vec<_>>(),
        "queued_tasks": e.queued_tasks.iter().map(|t| json!({
            "id": t.task_id.value, "name": t.name,
            "resources": resources_json(&t.resources),
        })).collect::<Vec<_>>(),
        "completed_tasks": e.terminated_tasks.values().chain(e.completed_tasks.iter()).map(task_json).collect::<Vec<_>>(),
    })
}

fn framework_json(f: &Framework) -> Value {
    json!({
        "id": f.id,
        "name": f.info.name,
        "user": f.info.user,
        "failover_timeout": f.info.failover_timeout.unwrap_or(0.0),
        "checkpoint": f.checkpoint(),
        "hostname": f.info.hostname.clone().unwrap_or_default(),
        "role": f.info.role.clone().unwrap_or_else(|| "*".into()),
        "executors": f.executors.values().map(executor_json).collect::<Vec<_>>(),
        "completed_executors": f.completed_executors.iter().map(executor_json).collect::<Vec<_>>(),
    })
}

impl Slave {
    /// The `/state` document.
    pub fn state_json(&self, pid: &str) -> Value {
        let capabilities: Vec<&str> = super::agent_capabilities()
            .iter()
            .filter_map(|c| {
                c.r#type.and_then(|t| {
                    mesos_proto::mesos::slave_info::capability::Type::try_from(t).ok()
                })
            })
            .map(|t| t.as_str_name())
            .collect();
        let mut attributes = Map::new();
        for a in &self.info.attributes {
            let v = if let Some(s) = &a.scalar {
                json!(s.value)
            } else if let Some(t) = &a.text {
                json!(t.value)
            } else {
                Value::Null
            };
            attributes.insert(a.name.clone(), v);
        }
        json!({
            "version": VERSION,
            "git_tag": VERSION,
            "start_time": self.start_time,
            "id": self.slave_id().unwrap_or_default(),
            "pid": pid,
            "hostname": self.info.hostname,
            "capabilities": capabilities,
            "resources": resources_json(&self.info.resources),
            "attributes": attributes,
            "master_hostname": self.master.as_ref().map(|m| m.ip().to_string()),
            "state": self.state.as_str(),
            "flags": self.config.flags_map(),
            "unreserved_resources": resources_json(&self.info.resources),
            "reserved_resources": {},
            "frameworks": self.frameworks.values().map(framework_json).collect::<Vec<_>>(),
            "completed_frameworks": self.completed_frameworks.iter().map(framework_json).collect::<Vec<_>>(),
        })
    }

    pub(crate) fn state_endpoint(&mut self, cx: &mut Cx<'_, Self>, _req: Request, r: Responder) {
        let body = self.state_json(&cx.me().to_string()).to_string();
        r.respond(Response::json(body));
    }

    pub(crate) fn flags_endpoint(&mut self, _cx: &mut Cx<'_, Self>, _req: Request, r: Responder) {
        let body = json!({ "flags": self.config.flags_map() }).to_string();
        r.respond(Response::json(body));
    }

    pub(crate) fn health_endpoint(&mut self, _cx: &mut Cx<'_, Self>, _req: Request, r: Responder) {
        r.respond(Response::ok());
    }

    /// `POST /api/v1` with a JSON `agent::Call`.
    pub(crate) fn api_v1(&mut self, cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        if req.method != Method::POST {
            return r.respond(
                Response::text(StatusCode::METHOD_NOT_ALLOWED, "Expecting a 'POST' request")
                    .header(http::header::ALLOW, "POST"),
            );
        }
        let ct = req.header("content-type").unwrap_or("");
        if !ct.starts_with("application/json") {
            return r.respond(Response::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Unsupported 'Content-Type' '{ct}'; this agent accepts application/json"),
            ));
        }
        let call: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(e) => {
                return r.respond(Response::bad_request(format!(
                    "Failed to parse body into JSON: {e}"
                )))
            }
        };
        let Some(t) = call.get("type").and_then(|t| t.as_str()) else {
            return r.respond(Response::bad_request("Expecting 'type' to be present"));
        };
        let body = match t {
            "GET_HEALTH" => json!({"type": "GET_HEALTH", "get_health": {"healthy": true}}),
            "GET_VERSION" => json!({"type": "GET_VERSION", "get_version": {"version_info": {
                "version": VERSION, "git_tag": VERSION,
            }}}),
            "GET_FLAGS" => json!({"type": "GET_FLAGS", "get_flags": {"flags":
                self.config.flags_map().into_iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>()
            }}),
            "GET_AGENT" => json!({"type": "GET_AGENT", "get_agent": {"slave_info": {
                "hostname": self.info.hostname,
                "port": self.info.port.unwrap_or(5051),
                "id": {"value": self.slave_id().unwrap_or_default()},
            }}}),
            "GET_STATE" => {
                let mut launched = Vec::new();
                let mut completed = Vec::new();
                let mut executors = Vec::new();
                for f in self.frameworks.values() {
                    for e in f.executors.values() {
                        executors.push(json!({"executor_info": {
                            "executor_id": {"value": e.id},
                            "framework_id": {"value": f.id},
                        }}));
                        for task in e.launched_tasks.values() {
                            launched.push(v1_task(task));
                        }
                        for task in e.terminated_tasks.values().chain(e.completed_tasks.iter()) {
                            completed.push(v1_task(task));
                        }
                    }
                }
                json!({"type": "GET_STATE", "get_state": {
                    "get_tasks": {"launched_tasks": launched, "completed_tasks": completed},
                    "get_executors": {"executors": executors},
                    "get_frameworks": {"frameworks": self.frameworks.values().map(|f| json!({
                        "framework_info": {"id": {"value": f.id}, "name": f.info.name, "user": f.info.user}
                    })).collect::<Vec<_>>()},
                }})
            }
            other => {
                return r.respond(Response::text(
                    StatusCode::NOT_IMPLEMENTED,
                    format!("Call type {other} is not supported by this agent"),
                ))
            }
        };
        let _ = cx;
        r.respond(Response::json(body.to_string()));
    }
}

fn v1_task(t: &Task) -> Value {
    json!({
        "name": t.name,
        "task_id": {"value": t.task_id.value},
        "framework_id": {"value": t.framework_id.value},
        "agent_id": {"value": t.slave_id.value},
        "state": TaskState::try_from(t.state).map(|s| s.as_str_name()).unwrap_or("TASK_UNKNOWN"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_render_like_upstream() {
        let rs = mesos_allocator::Resources::parse("cpus:2;mem:1024;ports:[31000-32000]", "*")
            .unwrap()
            .to_vec();
        let v = resources_json(&rs);
        assert_eq!(v["cpus"], json!(2.0));
        assert_eq!(v["mem"], json!(1024.0));
        assert_eq!(v["gpus"], json!(0.0));
        assert_eq!(v["ports"], json!("[31000-32000]"));
    }
}
