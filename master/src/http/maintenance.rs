//! Maintenance endpoints (upstream `Master::Http::maintenanceSchedule`,
//! `maintenanceStatus`, `machineDown`, `machineUp`, src/master/http.cpp
//! ~3126-3860) and the v1 operator calls `UPDATE_MAINTENANCE_SCHEDULE`,
//! `START_MAINTENANCE` and `STOP_MAINTENANCE`. The logic lives in
//! `crate::actor::maintenance`.

use http::Method;
use libprocess::{Cx, Request, Responder, Response, Routes};
use mesos_proto::mesos::maintenance::Schedule;
use mesos_proto::mesos::master::Call;
use mesos_proto::mesos::MachineId;

use super::{json_response, method_not_allowed};
use crate::actor::authorization::forbidden;
use crate::actor::Master;
use crate::authorizer::Action::{
    GetMaintenanceSchedule as GetSchedule, GetMaintenanceStatus as GetStatus, StartMaintenance,
    StopMaintenance, UpdateMaintenanceSchedule as UpdateSchedule,
};

pub fn install(r: &mut Routes<Master>) {
    r.http(
        "maintenance/schedule",
        crate::actor::election::leading_http!(Master::maintenance_schedule_endpoint),
    );
    r.http(
        "maintenance/status",
        crate::actor::election::leading_http!(Master::maintenance_status_endpoint),
    );
    r.http(
        "machine/down",
        crate::actor::election::leading_http!(Master::machine_down_endpoint),
    );
    r.http(
        "machine/up",
        crate::actor::election::leading_http!(Master::machine_up_endpoint),
    );
}

/// A JSON body as a protobuf (upstream `JSON::parse` + `protobuf::parse`).
fn parse_schedule(body: &[u8]) -> Result<Schedule, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("Failed to parse JSON: {e}"))?;
    if !v.is_object() {
        // Upstream's `JSON::parse<JSON::Object>` wording.
        return Err("Unexpected JSON type parsed".into());
    }
    mesos_proto::json::from_json_value(&v).map_err(|e| e.to_string())
}

/// A JSON array of `MachineID`s (upstream parses a `JSON::Array` into a
/// `RepeatedPtrField<MachineID>`).
fn parse_machines(body: &[u8]) -> Result<Vec<MachineId>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("Failed to parse JSON: {e}"))?;
    let serde_json::Value::Array(items) = v else {
        return Err("Unexpected JSON type parsed".into());
    };
    items
        .iter()
        .map(|i| mesos_proto::json::from_json_value::<MachineId>(i).map_err(|e| e.to_string()))
        .collect()
}

/// Sorts object keys recursively: upstream's v0 endpoints write
/// `JSON::protobuf(...)`, whose `JSON::Object` is a `std::map`.
fn sort_keys(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(sort_keys).collect())
        }
        other => other,
    }
}

fn to_json<M: prost::Message + prost::Name>(req: &Request, m: &M) -> Response {
    match mesos_proto::json::to_json_value(m) {
        Ok(v) => json_response(req, sort_keys(v).to_string()),
        Err(e) => Response::text(http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

impl Master {
    /// `GET|POST /maintenance/schedule`.
    fn maintenance_schedule_endpoint(
        &mut self,
        cx: &mut Cx<'_, Self>,
        req: Request,
        responder: Responder,
    ) {
        match req.method {
            Method::GET => {
                let principal = req.principal.as_deref();
                let schedule = if self.authorized(principal, GetSchedule, None) {
                    self.maintenance_schedule()
                } else {
                    Default::default()
                };
                responder.respond(to_json(&req, &schedule))
            }
            Method::POST => match parse_schedule(&req.body) {
                Ok(_) if !self.authorized(req.principal.as_deref(), UpdateSchedule, None) => {
                    responder.respond(forbidden())
                }
                Ok(s) => self.update_maintenance_schedule(cx, s, responder),
                Err(e) => responder.respond(Response::bad_request(e)),
            },
            ref m => responder.respond(method_not_allowed(&["GET", "POST"], m)),
        }
    }

    /// `GET /maintenance/status`.
    fn maintenance_status_endpoint(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        req: Request,
        responder: Responder,
    ) {
        if req.method != Method::GET {
            responder.respond(method_not_allowed(&["GET"], &req.method));
            return;
        }
        let status = if self.authorized(req.principal.as_deref(), GetStatus, None) {
            self.maintenance_status()
        } else {
            Default::default()
        };
        responder.respond(to_json(&req, &status));
    }

    /// `POST /machine/down`.
    fn machine_down_endpoint(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        if req.method != Method::POST {
            responder.respond(method_not_allowed(&["POST"], &req.method));
            return;
        }
        match parse_machines(&req.body) {
            Ok(_) if !self.authorized(req.principal.as_deref(), StartMaintenance, None) => {
                responder.respond(forbidden())
            }
            Ok(ids) => self.start_maintenance(cx, ids, responder),
            Err(e) => responder.respond(Response::bad_request(e)),
        }
    }

    /// `POST /machine/up`.
    fn machine_up_endpoint(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        if req.method != Method::POST {
            responder.respond(method_not_allowed(&["POST"], &req.method));
            return;
        }
        match parse_machines(&req.body) {
            Ok(_) if !self.authorized(req.principal.as_deref(), StopMaintenance, None) => {
                responder.respond(forbidden())
            }
            Ok(ids) => self.stop_maintenance(cx, ids, responder),
            Err(e) => responder.respond(Response::bad_request(e)),
        }
    }

    /// The v1 calls that change maintenance state (dispatched by type;
    /// the payload must be present, as upstream's call validation wants).
    pub(crate) fn maintenance_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        call: Call,
        responder: Responder,
    ) {
        use mesos_proto::mesos::master::call::Type;
        let missing = |field: &str| {
            Response::bad_request(format!(
                "Failed to validate master::Call: Expecting '{field}' to be present"
            ))
        };
        match call.r#type.and_then(|t| Type::try_from(t).ok()) {
            Some(Type::UpdateMaintenanceSchedule) => match call.update_maintenance_schedule {
                Some(u) => self.update_maintenance_schedule(cx, u.schedule, responder),
                None => responder.respond(missing("update_maintenance_schedule")),
            },
            Some(Type::StartMaintenance) => match call.start_maintenance {
                Some(s) => self.start_maintenance(cx, s.machines, responder),
                None => responder.respond(missing("start_maintenance")),
            },
            Some(Type::StopMaintenance) => match call.stop_maintenance {
                Some(s) => self.stop_maintenance(cx, s.machines, responder),
                None => responder.respond(missing("stop_maintenance")),
            },
            _ => responder.respond(Response::bad_request("Not a maintenance call")),
        }
    }
}
