//! `POST /api/v1`: the v1 operator API, read-only basics (upstream
//! `Master::Http::api`, `src/master/http.cpp:~200-470`, and the
//! `get*` handlers). Calls not handled here answer 501 so they can be
//! added beside these without changing the dispatch.

use http::{Method, StatusCode};
use libprocess::{Cx, Request, Responder, Response, Routes};
use mesos_proto::mesos::master::call::Type as OpType;
use mesos_proto::mesos::master::response::{
    self, get_agents, get_executors, get_frameworks, GetAgents, GetExecutors, GetFlags,
    GetFrameworks, GetHealth, GetMaster, GetState, GetTasks, GetVersion,
};
use mesos_proto::mesos::master::Response as OpResponse;
use mesos_proto::mesos::v1::master::{Call as V1Call, Response as V1Response};
use mesos_proto::mesos::{Flag, TimeInfo};
use prost::Message;

use super::{accepts, content_type, method_not_allowed, APPLICATION_JSON, APPLICATION_PROTOBUF};
use crate::actor::Master;
use crate::resources::Resources;
use crate::state::FrameworkState;

pub fn install(r: &mut Routes<Master>) {
    r.http(
        "api/v1",
        crate::actor::election::leading_http!(Master::api_operator),
    );
}

fn time(secs: f64) -> TimeInfo {
    TimeInfo {
        nanoseconds: (secs * 1e9) as i64,
    }
}

/// A response of the call's type with nothing filled in.
fn empty_response(ty: OpType) -> OpResponse {
    OpResponse {
        // Call and response enums number their values differently: match by
        // name.
        r#type: Some(
            response::Type::from_str_name(ty.as_str_name()).unwrap_or(response::Type::Unknown)
                as i32,
        ),
        ..Default::default()
    }
}

/// Parses a v1 operator call (JSON or protobuf) into the v0 type.
pub fn parse_call(body: &[u8], json: bool) -> Result<mesos_proto::mesos::master::Call, String> {
    let v1: V1Call = if json {
        let text = std::str::from_utf8(body)
            .map_err(|e| format!("Failed to parse body into JSON: {e}"))?;
        mesos_proto::json::from_json(text).map_err(|e| match e {
            mesos_proto::json::JsonError::Syntax(s) => {
                format!("Failed to parse body into JSON: {s}")
            }
            e => format!("Failed to convert JSON into Call protobuf: {e}"),
        })?
    } else {
        mesos_proto::required::decode_checked::<V1Call>(body)
            .map_err(|_| "Failed to parse body into Call protobuf".to_string())?
    };
    let mut call: mesos_proto::mesos::master::Call =
        crate::convert::recode(&v1).map_err(|e| e.to_string())?;
    // Upstream `devolve(v1::master::Call)` (src/internal/devolve.cpp): the
    // v1 `google.protobuf.Duration` grace period does not share the v0
    // `DurationInfo` layout, so it is converted explicitly.
    if let (Some(d1), Some(d0)) = (
        v1.drain_agent
            .as_ref()
            .and_then(|d| d.max_grace_period.as_ref()),
        call.drain_agent.as_mut(),
    ) {
        d0.max_grace_period = Some(mesos_proto::mesos::DurationInfo {
            nanoseconds: d1
                .seconds
                .saturating_mul(1_000_000_000)
                .saturating_add(d1.nanos as i64),
        });
    }
    Ok(call)
}

impl Master {
    fn api_operator(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        if req.method != Method::POST {
            responder.respond(method_not_allowed(&["POST"], &req.method));
            return;
        }
        let Some(ct) = content_type(&req) else {
            responder.respond(Response::bad_request(
                "Expecting 'Content-Type' to be present",
            ));
            return;
        };
        let json = match ct.as_str() {
            APPLICATION_JSON => true,
            APPLICATION_PROTOBUF => false,
            _ => {
                responder.respond(Response::text(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "Expecting 'Content-Type' of {APPLICATION_JSON} or {APPLICATION_PROTOBUF}"
                    ),
                ));
                return;
            }
        };
        let call = match parse_call(&req.body, json) {
            Ok(c) => c,
            Err(e) => {
                responder.respond(Response::bad_request(e));
                return;
            }
        };
        let Some(ty) = call.r#type.and_then(|t| OpType::try_from(t).ok()) else {
            responder.respond(Response::bad_request(
                "Failed to validate master::Call: Expecting 'type' to be present",
            ));
            return;
        };
        let out_json = if accepts(&req, APPLICATION_JSON) {
            true
        } else if accepts(&req, APPLICATION_PROTOBUF) {
            false
        } else {
            responder.respond(Response::text(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "Expecting 'Accept' to allow '{APPLICATION_JSON}' or '{APPLICATION_PROTOBUF}'"
                ),
            ));
            return;
        };
        tracing::info!("Processing call {}", ty.as_str_name());
        // Calls that change state (upstream validation::master::call::validate
        // wants their payload present).
        let missing = |field: &str| {
            Response::bad_request(format!(
                "Failed to validate master::Call: Expecting '{field}' to be present"
            ))
        };
        if !self.authorize_operator_call(ty, &call, req.principal.as_deref()) {
            responder.respond(crate::actor::authorization::forbidden());
            return;
        }
        // RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE/DESTROY_VOLUMES.
        let responder =
            match self.operation_call(cx, ty, &call, req.principal.as_deref(), responder) {
                Ok(()) => return,
                Err(r) => r,
            };
        match ty {
            OpType::DrainAgent => {
                match call.drain_agent {
                    Some(d) => self.drain_agent_call(cx, d, responder),
                    None => responder.respond(missing("drain_agent")),
                }
                return;
            }
            OpType::DeactivateAgent => {
                match call.deactivate_agent {
                    Some(d) => self.deactivate_agent_call(cx, d.slave_id, responder),
                    None => responder.respond(missing("deactivate_agent")),
                }
                return;
            }
            OpType::UpdateQuota => {
                match call.update_quota {
                    Some(u) => self.update_quota_call(cx, u, req.principal.as_deref(), responder),
                    None => responder.respond(missing("update_quota")),
                }
                return;
            }
            OpType::Subscribe => {
                self.operator_subscribe(cx, out_json, req.principal.clone(), responder);
                return;
            }
            OpType::UpdateWeights => {
                match call.update_weights {
                    Some(w) => self.update_weights_call(
                        cx,
                        w.weight_infos,
                        req.principal.as_deref(),
                        responder,
                    ),
                    None => responder.respond(missing("update_weights")),
                }
                return;
            }
            OpType::SetQuota => {
                match call.set_quota {
                    Some(q) => self.set_quota_call(
                        cx,
                        q.quota_request,
                        req.principal.as_deref(),
                        responder,
                    ),
                    None => responder.respond(missing("set_quota")),
                }
                return;
            }
            OpType::RemoveQuota => {
                match call.remove_quota {
                    Some(q) => {
                        self.remove_quota_call(cx, &q.role, req.principal.as_deref(), responder)
                    }
                    None => responder.respond(missing("remove_quota")),
                }
                return;
            }
            OpType::Teardown => {
                match call.teardown {
                    Some(t) => self.teardown_call(
                        cx,
                        &t.framework_id.value,
                        req.principal.as_deref(),
                        responder,
                    ),
                    None => responder.respond(missing("teardown")),
                }
                return;
            }
            OpType::MarkAgentGone => {
                match call.mark_agent_gone {
                    Some(m) => self.mark_agent_gone_call(cx, m.slave_id, responder),
                    None => responder.respond(missing("mark_agent_gone")),
                }
                return;
            }
            OpType::SetLoggingLevel => {
                // Upstream `setLoggingLevel`: the level holds for the duration,
                // then the original level comes back.
                match call.set_logging_level {
                    Some(l) => {
                        let nanos = l.duration.nanoseconds.max(0) as u64;
                        libprocess::logging::set_level(
                            l.level,
                            std::time::Duration::from_nanos(nanos),
                        );
                        responder.respond(Response::ok());
                    }
                    None => responder.respond(missing("set_logging_level")),
                }
                return;
            }
            OpType::GetMetrics => {
                let now = Self::now_secs(cx);
                let metrics = self.metrics_json(now);
                let mut r = empty_response(ty);
                r.get_metrics = Some(response::GetMetrics {
                    metrics: metrics
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| mesos_proto::mesos::Metric {
                            name: k.clone(),
                            value: v.as_f64(),
                        })
                        .collect(),
                });
                responder.respond(encode_response(&r, out_json));
                return;
            }
            OpType::UpdateMaintenanceSchedule
            | OpType::StartMaintenance
            | OpType::StopMaintenance => {
                self.maintenance_call(cx, call, responder);
                return;
            }
            OpType::ListFiles => {
                match call.list_files {
                    Some(l) => self.list_files_call(cx, l, out_json, responder),
                    None => responder.respond(missing("list_files")),
                }
                return;
            }
            OpType::ReadFile => {
                match call.read_file {
                    Some(f) => self.read_file_call(cx, f, out_json, responder),
                    None => responder.respond(missing("read_file")),
                }
                return;
            }
            OpType::ReactivateAgent => {
                match call.reactivate_agent {
                    Some(d) => self.reactivate_agent_call(cx, d.slave_id, responder),
                    None => responder.respond(missing("reactivate_agent")),
                }
                return;
            }
            _ => {}
        }
        let Some(mut resp) = self.operator_response(ty) else {
            responder.respond(Response::text(
                StatusCode::NOT_IMPLEMENTED,
                format!(
                    "Call {} is not supported by this master yet",
                    ty.as_str_name()
                ),
            ));
            return;
        };
        self.filter_view_response(req.principal.as_deref(), &mut resp);
        responder.respond(encode_response(&resp, out_json));
    }

    /// The response for a read-only call, or `None` if not handled here.
    pub fn operator_response(&self, ty: OpType) -> Option<OpResponse> {
        let mut r = empty_response(ty);
        match ty {
            OpType::GetLoggingLevel => {
                r.get_logging_level = Some(response::GetLoggingLevel {
                    level: libprocess::logging::level(),
                })
            }
            OpType::GetHealth => r.get_health = Some(GetHealth { healthy: true }),
            OpType::GetVersion => {
                r.get_version = Some(GetVersion {
                    version_info: crate::build::version_info(),
                })
            }
            OpType::GetFlags => {
                r.get_flags = Some(GetFlags {
                    flags: self
                        .flags
                        .all()
                        .iter()
                        .map(|(k, v)| Flag {
                            name: k.clone(),
                            value: Some(v.clone()),
                        })
                        .collect(),
                })
            }
            OpType::GetMaster => {
                r.get_master = Some(GetMaster {
                    master_info: Some(self.info.clone()),
                    start_time: Some(self.start_time),
                    elected_time: Some(self.start_time),
                })
            }
            OpType::GetAgents => r.get_agents = Some(self.get_agents()),
            OpType::GetFrameworks => r.get_frameworks = Some(self.get_frameworks()),
            OpType::GetTasks => r.get_tasks = Some(self.get_tasks()),
            OpType::GetExecutors => r.get_executors = Some(self.get_executors()),
            OpType::GetRoles => r.get_roles = Some(self.get_roles()),
            OpType::GetOperations => {
                r.get_operations = Some(response::GetOperations {
                    operations: crate::actor::operations::all_operations(&self.state),
                })
            }
            OpType::GetWeights => {
                r.get_weights = Some(response::GetWeights {
                    weight_infos: self.weight_infos(),
                })
            }
            OpType::GetQuota => {
                r.get_quota = Some(response::GetQuota {
                    status: crate::actor::quota::quota_status(&self.state.quotas),
                })
            }
            OpType::GetMaintenanceSchedule => {
                r.get_maintenance_schedule = Some(response::GetMaintenanceSchedule {
                    schedule: self.maintenance_schedule(),
                })
            }
            OpType::GetMaintenanceStatus => {
                r.get_maintenance_status = Some(response::GetMaintenanceStatus {
                    status: self.maintenance_status(),
                })
            }
            OpType::GetState => {
                r.get_state = Some(GetState {
                    get_tasks: Some(self.get_tasks()),
                    get_executors: Some(self.get_executors()),
                    get_frameworks: Some(self.get_frameworks()),
                    get_agents: Some(self.get_agents()),
                })
            }
            _ => return None,
        }
        Some(r)
    }

    pub(crate) fn get_agents(&self) -> GetAgents {
        let s = &self.state;
        let usage = s.usage();
        GetAgents {
            agents: s
                .agents
                .values()
                .map(|a| {
                    let used = usage.used_on(a.id());
                    get_agents::Agent {
                        agent_info: a.info.clone(),
                        active: a.active,
                        deactivated: Some(s.deactivated.contains(a.id())),
                        drain_info: s.draining.get(a.id()).cloned(),
                        // Whole seconds, as upstream protobuf_utils.cpp
                        // `model(Slave)`, and only with drain info.
                        estimated_drain_start_time: a
                            .estimated_drain_start
                            .filter(|_| s.draining.contains_key(a.id()))
                            .map(|t| TimeInfo {
                                nanoseconds: (t as i64) * 1_000_000_000,
                            }),
                        version: a.version.clone(),
                        pid: Some(a.pid.to_string()),
                        registered_time: Some(time(a.registered_time)),
                        reregistered_time: a.reregistered_time.map(time),
                        total_resources: a.total.to_endpoint_vec(),
                        allocated_resources: used.to_endpoint_vec(),
                        offered_resources: usage.offered_on(a.id()).to_endpoint_vec(),
                        capabilities: a
                            .capabilities
                            .iter()
                            .map(|t| mesos_proto::mesos::slave_info::Capability {
                                r#type: Some(*t),
                            })
                            .collect(),
                        ..Default::default()
                    }
                })
                .collect(),
            // Upstream lists recovered agents without their resources.
            recovered_agents: s
                .recovered
                .values()
                .map(|i| mesos_proto::mesos::SlaveInfo {
                    resources: vec![],
                    ..i.clone()
                })
                .collect(),
        }
    }

    pub(crate) fn get_frameworks(&self) -> GetFrameworks {
        let s = &self.state;
        let usage = s.usage();
        let conv = |f: &crate::state::Framework| {
            let used = usage.used_by(f.id());
            let offers: Vec<_> = f
                .offers
                .iter()
                .filter_map(|id| s.offers.get(id))
                .cloned()
                .collect();
            let mut offered = Resources::new();
            for o in &offers {
                offered.add_all(&Resources::from_vec(&o.resources));
            }
            get_frameworks::Framework {
                framework_info: f.info.clone(),
                active: f.active(),
                connected: f.connected(),
                recovered: f.state == FrameworkState::Recovered,
                registered_time: Some(time(f.registered_time)),
                reregistered_time: f.reregistered_time.map(time),
                unregistered_time: f.unregistered_time.map(time),
                offers,
                inverse_offers: self.inverse_offers_of(f.id()),
                allocated_resources: used.to_endpoint_vec(),
                offered_resources: offered.to_endpoint_vec(),
                // Beyond 1.9 (upstream 1.11 sets it always); only when the
                // framework set constraints, so 1.9 clients see 1.9's model.
                offer_constraints: f.offer_constraints.clone(),
            }
        };
        GetFrameworks {
            frameworks: s.frameworks.values().map(conv).collect(),
            completed_frameworks: s.completed_frameworks.iter().map(conv).collect(),
            recovered_frameworks: vec![],
        }
    }

    fn get_tasks(&self) -> GetTasks {
        let s = &self.state;
        GetTasks {
            pending_tasks: vec![],
            tasks: s
                .frameworks
                .values()
                .flat_map(|f| f.tasks.values().cloned())
                .collect(),
            unreachable_tasks: vec![],
            completed_tasks: s
                .frameworks
                .values()
                .chain(s.completed_frameworks.iter())
                .flat_map(|f| f.completed_tasks.iter().cloned())
                .collect(),
            orphan_tasks: vec![],
        }
    }

    fn get_executors(&self) -> GetExecutors {
        GetExecutors {
            executors: self
                .state
                .agents
                .values()
                .flat_map(|a| {
                    a.executors.values().flat_map(move |m| {
                        m.values().map(move |e| get_executors::Executor {
                            executor_info: e.clone(),
                            slave_id: a.info.id.clone().unwrap_or_default(),
                        })
                    })
                })
                .collect(),
            orphan_executors: vec![],
        }
    }
}

/// Serializes a response as the v1 type, JSON or protobuf.
pub fn encode_response(resp: &OpResponse, json: bool) -> Response {
    let v1: V1Response = match crate::convert::recode(resp) {
        Ok(v) => v,
        Err(e) => return Response::text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if json {
        match mesos_proto::json::to_json(&v1) {
            Ok(s) => Response::json(s),
            Err(e) => Response::text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    } else {
        Response::with_body(StatusCode::OK, APPLICATION_PROTOBUF, v1.encode_to_vec())
    }
}

/// Operator calls that act on one framework or agent.
impl Master {
    /// `TEARDOWN` (upstream `Master::Http::_teardown`): 400 for a framework
    /// this master does not know.
    /// Shared by the v1 call and the legacy `/teardown` endpoint, as
    /// upstream's `_teardown`: 400 for an unknown framework, then
    /// TEARDOWN_FRAMEWORK on its principal (403).
    pub(crate) fn teardown_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        principal: Option<&str>,
        responder: Responder,
    ) {
        let Some(fw) = self.state.frameworks.get(fid) else {
            responder.respond(Response::bad_request(
                "No framework found with specified ID",
            ));
            return;
        };
        let fw_principal = fw.info.principal.clone().unwrap_or_default();
        if !self.authorized(
            principal,
            crate::authorizer::Action::TeardownFramework,
            Some(&fw_principal),
        ) {
            responder.respond(crate::actor::authorization::forbidden());
            return;
        }
        self.teardown(cx, fid);
        responder.respond(Response::ok());
    }

    /// `MARK_AGENT_GONE` (upstream `Master::Http::_markAgentGone`): already
    /// gone is fine, an agent that is neither registered, recovered nor
    /// unreachable is a 404.
    fn mark_agent_gone_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        slave_id: mesos_proto::mesos::SlaveId,
        responder: Responder,
    ) {
        let id = slave_id.value.clone();
        tracing::info!("Marking agent '{id}' as gone");
        if self.state.gone.contains_key(&id) {
            tracing::warn!(
                "Not marking agent '{id}' as gone because it has already transitioned to gone"
            );
            responder.respond(Response::ok());
            return;
        }
        if !self.known_agent(&id) {
            responder.respond(Response::text(
                StatusCode::NOT_FOUND,
                format!("Agent '{id}' not found"),
            ));
            return;
        }
        self.mark_gone(cx, slave_id, Some(responder));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterFlags;

    #[test]
    fn response_types_follow_call_names() {
        let m = Master::new(MasterFlags::default(), "m", "h");
        for ty in [
            OpType::GetHealth,
            OpType::GetMaster,
            OpType::GetAgents,
            OpType::GetState,
            OpType::GetTasks,
        ] {
            let r = m.operator_response(ty).unwrap();
            let name = response::Type::try_from(r.r#type.unwrap())
                .unwrap()
                .as_str_name();
            assert_eq!(name, ty.as_str_name());
        }
        assert!(m.operator_response(OpType::ReserveResources).is_none());
    }

    #[test]
    fn json_response_uses_v1_names() {
        let m = Master::new(MasterFlags::default(), "m", "h");
        let r = encode_response(&m.operator_response(OpType::GetHealth).unwrap(), true);
        assert_eq!(
            &r.body[..],
            br#"{"type":"GET_HEALTH","get_health":{"healthy":true}}"#
        );
    }
}
