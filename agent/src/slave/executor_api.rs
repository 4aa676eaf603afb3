//! The v1 executor HTTP API, `POST /api/v1/executor` (upstream
//! src/slave/http.cpp `Http::executor` and `Slave::subscribe` /
//! `Slave::statusUpdate` for HTTP executors):
//!
//! - `SUBSCRIBE` answers `200 OK` with a RecordIO stream of `Event`s:
//!   `SUBSCRIBED` (executor, framework and agent info, container id), then a
//!   `LAUNCH` per task queued while the executor started; later `LAUNCH`,
//!   `KILL`, `MESSAGE`, `ACKNOWLEDGED` and `SHUTDOWN` go on the same stream.
//! - `UPDATE` (`202 Accepted`) goes through the status update manager like
//!   a driver's `StatusUpdateMessage`; once handled, the executor gets
//!   `ACKNOWLEDGED` with the update's uuid.
//! - `MESSAGE` (`202 Accepted`) is relayed to the framework via the master.
//!
//! Bodies are `application/json` or `application/x-protobuf`; the stream
//! uses the `Accept` type (default: the request's).

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::{Cx, Request, Responder, Response, ResponseHead};
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::internal::StatusUpdate;
use mesos_proto::mesos::v1::executor as v1e;
use mesos_proto::mesos::{ExecutorId, SlaveId, TaskInfo, TaskState};
use prost::Message;

use super::model::{ExecutorState, HttpExecutor};
use super::Slave;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";
/// Queued events per executor stream before a slow reader is dropped.
const STREAM_CAPACITY: usize = 1024;

/// Converts between wire-compatible v0 and v1 messages (upstream `evolve`
/// / `devolve` re-serialize the same way).
pub(crate) fn evolve<A: Message, B: Message + Default>(a: &A) -> B {
    B::decode(a.encode_to_vec().as_slice()).unwrap_or_default()
}

impl HttpExecutor {
    /// Queues one event record; `false` if the stream is gone or full.
    pub fn send(&mut self, event: &v1e::Event) -> bool {
        let body = if self.json {
            match mesos_proto::json::to_json(event) {
                Ok(s) => s.into_bytes(),
                Err(e) => {
                    tracing::error!("Failed to serialize an executor event: {e}");
                    return false;
                }
            }
        } else {
            event.encode_to_vec()
        };
        self.sender
            .try_send(Bytes::from(mesos_proto::recordio::encode(&body)))
            .is_ok()
    }
}

fn event(t: v1e::event::Type) -> v1e::Event {
    v1e::Event {
        r#type: Some(t as i32),
        ..Default::default()
    }
}

/// `LAUNCH` for a (v0) task.
pub(crate) fn launch_event(task: &TaskInfo) -> v1e::Event {
    v1e::Event {
        launch: Some(v1e::event::Launch { task: evolve(task) }),
        ..event(v1e::event::Type::Launch)
    }
}

/// `LAUNCH_GROUP` for a (v0) task group.
pub(crate) fn launch_group_event(group: &mesos_proto::mesos::TaskGroupInfo) -> v1e::Event {
    v1e::Event {
        launch_group: Some(v1e::event::LaunchGroup {
            task_group: evolve(group),
        }),
        ..event(v1e::event::Type::LaunchGroup)
    }
}

/// `KILL` for a task.
pub(crate) fn kill_event(
    task_id: &str,
    kill_policy: Option<&mesos_proto::mesos::KillPolicy>,
) -> v1e::Event {
    v1e::Event {
        kill: Some(v1e::event::Kill {
            task_id: mesos_proto::mesos::v1::TaskId {
                value: task_id.to_string(),
            },
            kill_policy: kill_policy.map(evolve),
        }),
        ..event(v1e::event::Type::Kill)
    }
}

/// `SHUTDOWN`.
pub(crate) fn shutdown_event() -> v1e::Event {
    event(v1e::event::Type::Shutdown)
}

/// `MESSAGE` from the framework.
pub(crate) fn message_event(data: Bytes) -> v1e::Event {
    v1e::Event {
        message: Some(v1e::event::Message { data }),
        ..event(v1e::event::Type::Message)
    }
}

/// `ACKNOWLEDGED` for a handled update.
pub(crate) fn acknowledged_event(task_id: &str, uuid: Bytes) -> v1e::Event {
    v1e::Event {
        acknowledged: Some(v1e::event::Acknowledged {
            task_id: mesos_proto::mesos::v1::TaskId {
                value: task_id.to_string(),
            },
            uuid,
        }),
        ..event(v1e::event::Type::Acknowledged)
    }
}

fn media_type(v: &str) -> Option<bool> {
    match v.split(';').next().unwrap_or("").trim() {
        JSON => Some(true),
        PROTOBUF => Some(false),
        _ => None,
    }
}

impl Slave {
    /// `POST /api/v1/executor`.
    pub(crate) fn api_v1_executor(&mut self, cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        if req.method != Method::POST {
            return r.respond(
                Response::text(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("Expecting a 'POST' request, received '{}'", req.method),
                )
                .header(http::header::ALLOW, "POST"),
            );
        }
        let ct = req.header("content-type").unwrap_or("").to_string();
        let Some(json) = media_type(&ct) else {
            return r.respond(Response::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Expecting 'Content-Type' of {JSON} or {PROTOBUF}"),
            ));
        };
        let call: v1e::Call = if json {
            match std::str::from_utf8(&req.body)
                .map_err(|e| e.to_string())
                .and_then(|s| mesos_proto::json::from_json(s).map_err(|e| e.to_string()))
            {
                Ok(c) => c,
                Err(e) => {
                    return r.respond(Response::bad_request(format!(
                        "Failed to parse body into Call: {e}"
                    )))
                }
            }
        } else {
            match v1e::Call::decode(req.body.as_ref()) {
                Ok(c) => c,
                Err(e) => {
                    return r.respond(Response::bad_request(format!(
                        "Failed to parse body into Call: {e}"
                    )))
                }
            }
        };
        let fid = call.framework_id.value.clone();
        let eid = call.executor_id.value.clone();
        if fid.is_empty() || eid.is_empty() {
            return r.respond(Response::bad_request(
                "Expecting 'framework_id' and 'executor_id' to be present",
            ));
        }
        let t = call
            .r#type
            .and_then(|t| v1e::call::Type::try_from(t).ok())
            .unwrap_or(v1e::call::Type::Unknown);
        // A recovered HTTP executor resubscribes while the agent recovers;
        // every other call waits for the end of recovery (http.cpp).
        if self.state == super::State::Recovering && t != v1e::call::Type::Subscribe {
            return r.respond(Response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Agent has not finished recovery",
            ));
        }
        match t {
            v1e::call::Type::Subscribe => {
                let accept = req.header("accept").unwrap_or("").to_string();
                // `*/*` or no Accept: answer in the request's type.
                let stream_json = media_type(&accept).unwrap_or(json);
                self.executor_subscribe(cx, &fid, &eid, stream_json, r)
            }
            v1e::call::Type::Update => {
                let Some(update) = call.update else {
                    return r.respond(Response::bad_request("Expecting 'update' to be present"));
                };
                self.executor_http_update(cx, &fid, &eid, update, r)
            }
            v1e::call::Type::Message => {
                let Some(m) = call.message else {
                    return r.respond(Response::bad_request("Expecting 'message' to be present"));
                };
                r.respond(Response::accepted());
                let me = cx.me().clone();
                self.executor_message(
                    cx,
                    me,
                    msg::ExecutorToFrameworkMessage {
                        slave_id: self.slave_id_proto(),
                        framework_id: mesos_proto::mesos::FrameworkId { value: fid },
                        executor_id: ExecutorId { value: eid },
                        data: m.data,
                    },
                );
            }
            // Upstream accepts executor heartbeats and ignores them.
            v1e::call::Type::Heartbeat => r.respond(Response::accepted()),
            v1e::call::Type::Unknown => r.respond(Response::text(
                StatusCode::NOT_IMPLEMENTED,
                "Received an unknown or unsupported call type",
            )),
        }
    }

    fn executor_subscribe(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        eid: &str,
        json: bool,
        r: Responder,
    ) {
        if self.state == super::State::Terminating {
            return r.respond(Response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Agent is terminating",
            ));
        }
        let agent_info: mesos_proto::mesos::v1::AgentInfo = evolve(&self.info);
        let Some(framework) = self.frameworks.get_mut(fid) else {
            return r.respond(Response::bad_request(format!(
                "Framework {fid} does not exist"
            )));
        };
        let framework_info = evolve(&framework.info);
        let Some(executor) = framework.executors.get_mut(eid) else {
            return r.respond(Response::bad_request(format!(
                "Executor {eid} of framework {fid} does not exist"
            )));
        };
        if !matches!(
            executor.state,
            ExecutorState::Registering | ExecutorState::Running
        ) {
            return r.respond(Response::bad_request(format!(
                "Executor {eid} of framework {fid} is {}",
                executor.state.as_str()
            )));
        }
        tracing::info!("Received SUBSCRIBE call from HTTP executor '{eid}' of framework {fid}");
        let mut headers = http::HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(if json { JSON } else { PROTOBUF }),
        );
        let (f2, e2, c2) = (
            fid.to_string(),
            eid.to_string(),
            executor.container_id.clone(),
        );
        let Some(sender) = cx.stream(
            r,
            ResponseHead {
                status: StatusCode::OK,
                headers,
            },
            STREAM_CAPACITY,
            move |s: &mut Slave, _cx| {
                if let Some(e) = s.executor_mut(&f2, &e2, &c2) {
                    if e.http.as_ref().is_some_and(|h| h.sender.is_closed()) {
                        tracing::info!(
                            "Closed HTTP connection of executor '{e2}' of framework {f2}"
                        );
                        e.http = None;
                    }
                }
            },
        ) else {
            return;
        };
        let mut http = HttpExecutor { sender, json };
        http.send(&v1e::Event {
            subscribed: Some(v1e::event::Subscribed {
                executor_info: evolve(&executor.info),
                framework_info,
                agent_info,
                container_id: Some(mesos_proto::mesos::v1::ContainerId {
                    value: executor.container_id.clone(),
                    ..Default::default()
                }),
            }),
            ..event(v1e::event::Type::Subscribed)
        });
        let reconnected =
            executor.state == ExecutorState::Registering && self.state == super::State::Recovering;
        if executor.state == ExecutorState::Registering {
            executor.state = ExecutorState::Running;
            if let Some(t) = executor.registration_timer.take() {
                cx.cancel(t);
            }
        }
        // `http.marker` tells a restarted agent to wait for this executor
        // to resubscribe instead of killing it (paths::getExecutorHttpMarkerPath).
        if executor.checkpoint {
            let sid = self
                .info
                .id
                .as_ref()
                .map(|i| i.value.clone())
                .unwrap_or_default();
            let p =
                crate::paths::http_marker_path(&self.meta, &sid, fid, eid, &executor.container_id);
            if let Err(e) = crate::checkpoint::checkpoint_string(&p, "") {
                tracing::error!("Failed to checkpoint the HTTP marker of executor '{eid}': {e}");
            }
        }
        let sid = self
            .info
            .id
            .as_ref()
            .map(|i| i.value.clone())
            .unwrap_or_default();
        // Queued task groups go as one LAUNCH_GROUP each (`Slave::subscribe`
        // sends `queuedTaskGroups`); a group that lost a task to a kill
        // while queued is not sent.
        for group in std::mem::take(&mut executor.queued_task_groups) {
            let ids: Vec<&str> = group
                .tasks
                .iter()
                .map(|t| t.task_id.value.as_str())
                .collect();
            if !ids.iter().all(|id| executor.is_queued(id)) {
                continue;
            }
            tracing::info!(
                "Sending queued task group {ids:?} to HTTP executor '{eid}' of framework {fid}"
            );
            for t in &group.tasks {
                if let Some(t) = executor.dequeue_task(&t.task_id.value) {
                    executor.add_launched_task(super::model::create_task(
                        &t,
                        TaskState::TaskStaging,
                        fid,
                        &sid,
                    ));
                }
            }
            http.send(&launch_group_event(&group));
        }
        let queued: Vec<TaskInfo> = std::mem::take(&mut executor.queued_tasks);
        for t in queued {
            tracing::info!(
                "Sending queued task '{}' to HTTP executor '{eid}' of framework {fid}",
                t.task_id.value
            );
            executor.add_launched_task(super::model::create_task(
                &t,
                TaskState::TaskStaging,
                fid,
                &sid,
            ));
            http.send(&launch_event(&t));
        }
        executor.pid = None;
        executor.http = Some(http);
        if reconnected {
            self.executor_reconnected(cx);
        }
    }

    fn executor_http_update(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        eid: &str,
        update: v1e::call::Update,
        r: Responder,
    ) {
        let status: mesos_proto::mesos::TaskStatus = evolve(&update.status);
        let Some(uuid) = status.uuid.clone() else {
            return r.respond(Response::bad_request(
                "Expecting 'uuid' to be present in the status",
            ));
        };
        // Upstream `validateExecutorCall`: a check status must be
        // well-formed.
        if let Some(cs) = &status.check_status {
            if let Err(e) = crate::checks::general::validate_check_status_info(cs) {
                return r.respond(Response::bad_request(e));
            }
        }
        if self
            .frameworks
            .get(fid)
            .and_then(|f| f.executors.get(eid))
            .is_none()
        {
            return r.respond(Response::bad_request(format!(
                "Executor {eid} of framework {fid} does not exist"
            )));
        }
        r.respond(Response::accepted());
        let mut status = status;
        status.slave_id = self.info.id.clone().map(|i| SlaveId { value: i.value });
        let update = StatusUpdate {
            framework_id: mesos_proto::mesos::FrameworkId {
                value: fid.to_string(),
            },
            executor_id: Some(ExecutorId {
                value: eid.to_string(),
            }),
            slave_id: status.slave_id.clone(),
            timestamp: cx.wall_secs(),
            uuid: Some(uuid),
            status,
            latest_state: None,
        };
        // The agent's own pid marks an HTTP executor's update: the
        // acknowledgement goes on its event stream.
        let me = cx.me().clone();
        self.status_update(cx, update, Some(me));
    }

    /// Sends `ACKNOWLEDGED` to the HTTP executor running `task_id`.
    pub(crate) fn acknowledge_http_executor(&mut self, fid: &str, task_id: &str, uuid: Bytes) {
        let Some(f) = self.frameworks.get_mut(fid) else {
            return;
        };
        let Some(eid) = f.executor_id_for_task(task_id) else {
            return;
        };
        if let Some(h) = f.executors.get_mut(&eid).and_then(|e| e.http.as_mut()) {
            h.send(&acknowledged_event(task_id, uuid));
        }
    }
}
