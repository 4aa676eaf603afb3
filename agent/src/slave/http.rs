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
        // `ExecutorInfo.type` by name when set (upstream `ExecutorWriter`).
        "type": e.info.r#type.and_then(|t| mesos_proto::mesos::executor_info::Type::try_from(t).ok())
            .map(|t| t.as_str_name())
            .unwrap_or(if e.command_executor { "COMMAND" } else { "CUSTOM" }),
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
        // Upstream `/state`: the total with checkpointed reservations and
        // volumes, split by reservation role (src/slave/http.cpp).
        let total = self.total_resources();
        let (reserved, reserved_full, unreserved) = super::resources_ops::split_reserved(&total);
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
            "resources": resources_json(&total),
            "attributes": attributes,
            "master_hostname": self.master.as_ref().map(|m| m.ip().to_string()),
            "state": self.state.as_str(),
            "flags": self.config.flags_map(),
            "unreserved_resources": resources_json(&unreserved),
            "reserved_resources": reserved,
            "reserved_resources_full": reserved_full,
            "unreserved_resources_full": super::resources_ops::endpoint_json(&unreserved),
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

    /// The agent's `/metrics/snapshot` keys (upstream registers them with
    /// the process-wide metrics registry: `slave/*` from `Slave::Metrics`,
    /// `containerizer/fetcher/*` from `FetcherProcess::Metrics`).
    pub(crate) fn metrics_values(&self, cx: &mut Cx<'_, Self>) -> Vec<(&'static str, f64)> {
        let m = &self.metrics;
        let running = self
            .frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .filter(|e| e.state == super::model::ExecutorState::Running)
            .count();
        let mut metrics = vec![
            (
                "slave/registered",
                if self.state == super::State::Running {
                    1.0
                } else {
                    0.0
                },
            ),
            ("slave/uptime_secs", cx.wall_secs() - self.start_time),
            ("slave/frameworks_active", self.frameworks.len() as f64),
            ("slave/executors_running", running as f64),
            ("slave/executors_terminated", m.executors_terminated as f64),
            ("slave/valid_status_updates", m.valid_status_updates as f64),
            (
                "slave/invalid_status_updates",
                m.invalid_status_updates as f64,
            ),
            (
                "slave/valid_framework_messages",
                m.valid_framework_messages as f64,
            ),
        ];
        metrics.extend(self.fetcher.metrics());
        metrics
    }

    /// `/metrics/snapshot` (upstream's `MetricsProcess::snapshot`, served
    /// here since the agent is the HTTP delegate).
    pub(crate) fn metrics_snapshot_endpoint(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _req: Request,
        r: Responder,
    ) {
        let body: Map<String, Value> = self
            .metrics_values(cx)
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        r.respond(Response::json(Value::Object(body).to_string()));
    }

    pub(crate) fn health_endpoint(&mut self, _cx: &mut Cx<'_, Self>, _req: Request, r: Responder) {
        r.respond(Response::ok());
    }

    /// `/containerizer/debug`: the containerizer's pending operations
    /// (upstream `Http::containerizerDebug`, `{"pending": [...]}`).
    pub(crate) fn containerizer_debug_endpoint(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _req: Request,
        r: Responder,
    ) {
        let c = std::sync::Arc::clone(&self.containerizer);
        cx.blocking(
            move || c.debug_json(),
            move |_: &mut Slave, _, v: Value| r.respond(Response::json(v.to_string())),
        );
    }

    /// The running executors' containers: (framework, executor info,
    /// container id, directory).
    fn running_containers(&self) -> Vec<(String, mesos_proto::mesos::ExecutorInfo, String)> {
        self.frameworks
            .values()
            .flat_map(|f| {
                f.executors
                    .values()
                    .filter(|e| e.forked_pid.is_some())
                    .map(|e| (f.id.clone(), e.info.clone(), e.container_id.clone()))
            })
            .collect()
    }

    /// `/containers` (upstream `Http::containers`): one entry per executor
    /// container with its status and usage.
    pub(crate) fn containers_endpoint(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _req: Request,
        r: Responder,
    ) {
        let running = self.running_containers();
        let c = std::sync::Arc::clone(&self.containerizer);
        cx.blocking(
            move || {
                running
                    .into_iter()
                    .map(|(fid, info, cid)| {
                        let mut v = json!({
                            "framework_id": fid,
                            "executor_id": info.executor_id.value,
                            "executor_name": info.name.clone().unwrap_or_default(),
                            "source": info.source.clone().unwrap_or_default(),
                            "container_id": cid,
                        });
                        if let Some(st) = c.status(&cid) {
                            v["status"] = container_status_json(&st);
                        }
                        if let Some(u) = c.usage(&cid) {
                            v["statistics"] = statistics_json(&u);
                        }
                        v
                    })
                    .collect::<Vec<_>>()
            },
            move |_: &mut Slave, _, v: Vec<Value>| {
                r.respond(Response::json(Value::Array(v).to_string()))
            },
        );
    }

    /// `/monitor/statistics` (upstream `ResourceMonitor`): usage per
    /// executor container.
    pub(crate) fn statistics_endpoint(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _req: Request,
        r: Responder,
    ) {
        let running = self.running_containers();
        let c = std::sync::Arc::clone(&self.containerizer);
        cx.blocking(
            move || {
                running
                    .into_iter()
                    .filter_map(|(fid, info, cid)| {
                        let u = c.usage(&cid)?;
                        Some(json!({
                            "framework_id": fid,
                            "executor_id": info.executor_id.value,
                            "executor_name": info.name.clone().unwrap_or_default(),
                            "source": info.source.clone().unwrap_or_default(),
                            "statistics": statistics_json(&u),
                        }))
                    })
                    .collect::<Vec<_>>()
            },
            move |_: &mut Slave, _, v: Vec<Value>| {
                r.respond(Response::json(Value::Array(v).to_string()))
            },
        );
    }

    /// `POST /api/v1` with a JSON `agent::Call`.
    pub(crate) fn api_v1(&mut self, cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        if req.method != Method::POST {
            return r.respond(
                Response::text(StatusCode::METHOD_NOT_ALLOWED, "Expecting a 'POST' request")
                    .header(http::header::ALLOW, "POST"),
            );
        }
        // A chunked call that is not itself a stream is read whole first
        // (upstream `Http::api` does `reader.readAll()`).
        if let Some(body) = req.body_stream.clone() {
            if req.header("content-type").map(str::trim) != Some("application/recordio") {
                let limit = super::sessions::MAX_CALL_BODY;
                return cx.blocking(
                    move || body.read_all_blocking(limit),
                    move |s: &mut Slave, cx, all: Result<bytes::Bytes, String>| match all {
                        Ok(b) => {
                            let mut req = req;
                            req.body = b;
                            req.body_stream = None;
                            s.api_v1(cx, req, r)
                        }
                        Err(e) => r.respond(Response::bad_request(e)),
                    },
                );
            }
        }
        // Sessions and attaches (streamed or not) live in `sessions`.
        let Some(r) = self.session_api(cx, &req, r) else {
            return;
        };
        // Nested container calls (JSON or protobuf) live in `nested`.
        let Some(r) = self.container_api(cx, &req, r) else {
            return;
        };
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
        // An enum name the schema does not know is dropped on parsing, as
        // upstream's JSON-to-protobuf conversion does: the type is missing.
        let Some(t) = call
            .get("type")
            .and_then(|t| t.as_str())
            .filter(|t| mesos_proto::mesos::v1::agent::call::Type::from_str_name(t).is_some())
        else {
            return r.respond(Response::bad_request("Expecting 'type' to be present"));
        };
        let body = match t {
            "GET_HEALTH" => json!({"type": "GET_HEALTH", "get_health": {"healthy": true}}),
            "GET_LOGGING_LEVEL" => json!({"type": "GET_LOGGING_LEVEL",
                "get_logging_level": {"level": libprocess::logging::level()}}),
            // Upstream `Http::setLoggingLevel`: the level holds for the
            // duration, then the original comes back.
            "SET_LOGGING_LEVEL" => {
                let l = &call["set_logging_level"];
                let (Some(level), Some(nanos)) = (
                    l["level"].as_u64().and_then(|v| u32::try_from(v).ok()),
                    l["duration"]["nanoseconds"].as_i64(),
                ) else {
                    return r.respond(Response::bad_request(
                        "Expecting 'set_logging_level' with 'level' and 'duration' to be present",
                    ));
                };
                libprocess::logging::set_level(
                    level,
                    std::time::Duration::from_nanos(nanos.max(0) as u64),
                );
                return r.respond(Response::ok());
            }
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
            "GET_STATE" => json!({"type": "GET_STATE", "get_state": {
                "get_tasks": self.v1_get_tasks(),
                "get_executors": self.v1_get_executors(),
                "get_frameworks": self.v1_get_frameworks(),
            }}),
            "GET_TASKS" => json!({"type": "GET_TASKS", "get_tasks": self.v1_get_tasks()}),
            "GET_EXECUTORS" => {
                json!({"type": "GET_EXECUTORS", "get_executors": self.v1_get_executors()})
            }
            "GET_FRAMEWORKS" => {
                json!({"type": "GET_FRAMEWORKS", "get_frameworks": self.v1_get_frameworks()})
            }
            // The agent's own counters (upstream's `slave/*` metrics) and
            // the fetcher's.
            "GET_METRICS" => {
                json!({"type": "GET_METRICS", "get_metrics": {"metrics":
                    self.metrics_values(cx).iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>()
                }})
            }
            // Status and usage come from the containerizer (blocking).
            "GET_CONTAINERS" => {
                let running = self.running_containers();
                let c = std::sync::Arc::clone(&self.containerizer);
                return cx.blocking(
                    move || {
                        running
                            .into_iter()
                            .map(|(fid, info, cid)| {
                                let mut v = json!({
                                    "framework_id": {"value": fid},
                                    "executor_id": {"value": info.executor_id.value},
                                    "executor_name": info.name.clone().unwrap_or_default(),
                                    "container_id": {"value": cid},
                                });
                                if let Some(st) = c.status(&cid) {
                                    v["container_status"] = container_status_json(&st);
                                }
                                if let Some(u) = c.usage(&cid) {
                                    v["resource_statistics"] = statistics_json(&u);
                                }
                                v
                            })
                            .collect::<Vec<_>>()
                    },
                    move |_: &mut Slave, _, containers: Vec<Value>| {
                        let body = json!({"type": "GET_CONTAINERS",
                            "get_containers": {"containers": containers}});
                        r.respond(Response::json(body.to_string()))
                    },
                );
            }
            "LIST_FILES" | "READ_FILE" => return self.files_call(cx, &call, r),
            other => {
                return r.respond(Response::text(
                    StatusCode::NOT_IMPLEMENTED,
                    format!("Call type {other} is not supported by this agent"),
                ))
            }
        };
        r.respond(Response::json(body.to_string()));
    }

    fn v1_get_tasks(&self) -> Value {
        let mut launched = Vec::new();
        let mut queued = Vec::new();
        let mut completed = Vec::new();
        for f in self.frameworks.values() {
            for e in f.executors.values() {
                launched.extend(e.launched_tasks.values().map(v1_task));
                queued.extend(
                    e.queued_tasks
                        .iter()
                        .map(|t| json!({"name": t.name, "task_id": {"value": t.task_id.value}})),
                );
                completed.extend(
                    e.terminated_tasks
                        .values()
                        .chain(e.completed_tasks.iter())
                        .map(v1_task),
                );
            }
        }
        json!({"launched_tasks": launched, "queued_tasks": queued, "completed_tasks": completed})
    }

    fn v1_get_executors(&self) -> Value {
        let info = |f: &Framework, e: &Executor| {
            json!({"executor_info": {
                "executor_id": {"value": e.id},
                "framework_id": {"value": f.id},
                "name": e.info.name.clone().unwrap_or_default(),
            }})
        };
        let mut executors = Vec::new();
        let mut completed = Vec::new();
        for f in self.frameworks.values() {
            executors.extend(f.executors.values().map(|e| info(f, e)));
            completed.extend(f.completed_executors.iter().map(|e| info(f, e)));
        }
        json!({"executors": executors, "completed_executors": completed})
    }

    fn v1_get_frameworks(&self) -> Value {
        let info = |f: &Framework| {
            json!({"framework_info": {
                "id": {"value": f.id}, "name": f.info.name, "user": f.info.user,
            }})
        };
        json!({
            "frameworks": self.frameworks.values().map(info).collect::<Vec<_>>(),
            "completed_frameworks": self.completed_frameworks.iter().map(info).collect::<Vec<_>>(),
        })
    }
}

/// A `ResourceStatistics` as JSON (the protobuf-to-JSON field names).
fn statistics_json(u: &mesos_proto::mesos::ResourceStatistics) -> Value {
    let mut m = Map::new();
    m.insert("timestamp".into(), json!(u.timestamp));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    put("cpus_limit", u.cpus_limit.map(|x| json!(x)));
    put(
        "cpus_user_time_secs",
        u.cpus_user_time_secs.map(|x| json!(x)),
    );
    put(
        "cpus_system_time_secs",
        u.cpus_system_time_secs.map(|x| json!(x)),
    );
    put("cpus_nr_periods", u.cpus_nr_periods.map(|x| json!(x)));
    put("cpus_nr_throttled", u.cpus_nr_throttled.map(|x| json!(x)));
    put(
        "cpus_throttled_time_secs",
        u.cpus_throttled_time_secs.map(|x| json!(x)),
    );
    put("mem_limit_bytes", u.mem_limit_bytes.map(|x| json!(x)));
    put("mem_rss_bytes", u.mem_rss_bytes.map(|x| json!(x)));
    put("mem_total_bytes", u.mem_total_bytes.map(|x| json!(x)));
    put("mem_cache_bytes", u.mem_cache_bytes.map(|x| json!(x)));
    put("disk_limit_bytes", u.disk_limit_bytes.map(|x| json!(x)));
    put("disk_used_bytes", u.disk_used_bytes.map(|x| json!(x)));
    put("processes", u.processes.map(|x| json!(x)));
    put("threads", u.threads.map(|x| json!(x)));
    Value::Object(m)
}

fn container_status_json(st: &mesos_proto::mesos::ContainerStatus) -> Value {
    let mut v = json!({});
    if let Some(c) = &st.container_id {
        v["container_id"] = json!({"value": c.value});
    }
    if let Some(p) = st.executor_pid {
        v["executor_pid"] = json!(p);
    }
    v
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
