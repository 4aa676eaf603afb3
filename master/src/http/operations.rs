//! Operator endpoints for reservations and persistent volumes: the legacy
//! form-encoded `/reserve`, `/unreserve`, `/create-volumes`,
//! `/destroy-volumes` (upstream src/master/http.cpp `reserve`,
//! `unreserve`, `createVolumes`, `destroyVolumes`) and the v1 calls
//! RESERVE_RESOURCES, UNRESERVE_RESOURCES, CREATE_VOLUMES, DESTROY_VOLUMES
//! and GET_OPERATIONS. All end in [`Master::operator_operation`].

use http::Method;
use libprocess::transport::decode::parse_query;
use libprocess::{Cx, Request, Responder, Response, Routes};
use mesos_proto::mesos::master::call::Type as CallType;
use mesos_proto::mesos::master::Call;
use mesos_proto::mesos::offer::operation::{Create, Destroy, Reserve, Type as OpType, Unreserve};
use mesos_proto::mesos::offer::Operation as OfferOperation;
use mesos_proto::mesos::Resource;

use super::method_not_allowed;
use crate::actor::Master;

pub fn install(r: &mut Routes<Master>) {
    r.http(
        "reserve",
        crate::actor::election::leading_http!(Master::reserve_endpoint),
    );
    r.http(
        "unreserve",
        crate::actor::election::leading_http!(Master::unreserve_endpoint),
    );
    r.http(
        "create-volumes",
        crate::actor::election::leading_http!(Master::create_volumes_endpoint),
    );
    r.http(
        "destroy-volumes",
        crate::actor::election::leading_http!(Master::destroy_volumes_endpoint),
    );
}

/// The operation a legacy endpoint or a v1 call asks for.
pub fn make_operation(ty: OpType, resources: Vec<Resource>) -> OfferOperation {
    let mut op = OfferOperation {
        r#type: Some(ty as i32),
        ..Default::default()
    };
    match ty {
        OpType::Reserve => op.reserve = Some(Reserve { resources }),
        OpType::Unreserve => op.unreserve = Some(Unreserve { resources }),
        OpType::Create => op.create = Some(Create { volumes: resources }),
        OpType::Destroy => op.destroy = Some(Destroy { volumes: resources }),
        _ => {}
    }
    op
}

/// Decodes `slaveId=<id>&<field>=<JSON array of Resource>` as upstream's
/// legacy handlers do (messages and all).
pub fn parse_form(body: &[u8], field: &str) -> Result<(String, Vec<Resource>), String> {
    let text = std::str::from_utf8(body)
        .map_err(|_| "Unable to decode query string: not UTF-8".to_string())?;
    let values = parse_query(text).map_err(|e| format!("Unable to decode query string: {e}"))?;
    let get = |k: &str| {
        values
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    };
    let slave_id = get("slaveId").ok_or("Missing 'slaveId' query parameter in the request body")?;
    let raw = get(field)
        .ok_or_else(|| format!("Missing '{field}' query parameter in the request body"))?;
    let parse_error =
        |e: String| format!("Error in parsing '{field}' query parameter in the request body: {e}");
    let array: serde_json::Value =
        serde_json::from_str(&raw).map_err(|e| parse_error(e.to_string()))?;
    let serde_json::Value::Array(items) = array else {
        return Err(parse_error("Expecting a JSON array".into()));
    };
    let mut out = Vec::new();
    for item in items {
        let r: Resource =
            mesos_proto::json::from_json_value(&item).map_err(|e| parse_error(e.to_string()))?;
        out.push(r);
    }
    Ok((slave_id, out))
}

impl Master {
    fn legacy_operation(
        &mut self,
        cx: &mut Cx<'_, Self>,
        req: Request,
        responder: Responder,
        ty: OpType,
        field: &str,
    ) {
        if req.method != Method::POST {
            responder.respond(method_not_allowed(&["POST"], &req.method));
            return;
        }
        match parse_form(&req.body, field) {
            Ok((agent_id, resources)) => {
                let principal = req.principal.clone();
                let op = make_operation(ty, resources);
                self.operator_operation(cx, &agent_id, op, principal.as_deref(), responder)
            }
            Err(e) => responder.respond(Response::bad_request(e)),
        }
    }

    /// `POST /reserve` (upstream `Master::Http::reserve`).
    fn reserve_endpoint(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        self.legacy_operation(cx, req, responder, OpType::Reserve, "resources");
    }

    /// `POST /unreserve` (upstream `Master::Http::unreserve`).
    fn unreserve_endpoint(&mut self, cx: &mut Cx<'_, Self>, req: Request, responder: Responder) {
        self.legacy_operation(cx, req, responder, OpType::Unreserve, "resources");
    }

    /// `POST /create-volumes` (upstream `Master::Http::createVolumes`).
    fn create_volumes_endpoint(
        &mut self,
        cx: &mut Cx<'_, Self>,
        req: Request,
        responder: Responder,
    ) {
        self.legacy_operation(cx, req, responder, OpType::Create, "volumes");
    }

    /// `POST /destroy-volumes` (upstream `Master::Http::destroyVolumes`).
    fn destroy_volumes_endpoint(
        &mut self,
        cx: &mut Cx<'_, Self>,
        req: Request,
        responder: Responder,
    ) {
        self.legacy_operation(cx, req, responder, OpType::Destroy, "volumes");
    }

    /// The v1 RESERVE_RESOURCES / UNRESERVE_RESOURCES / CREATE_VOLUMES /
    /// DESTROY_VOLUMES calls; `false` when `call` is none of them.
    pub(crate) fn operation_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        ty: CallType,
        call: &Call,
        principal: Option<&str>,
        responder: Responder,
    ) -> Result<(), Responder> {
        let missing = |field: &str| {
            Response::bad_request(format!(
                "Failed to validate master::Call: Expecting '{field}' to be present"
            ))
        };
        let (agent_id, op) = match ty {
            CallType::ReserveResources => match &call.reserve_resources {
                Some(c) => (
                    c.slave_id.value.clone(),
                    make_operation(OpType::Reserve, c.resources.clone()),
                ),
                None => {
                    responder.respond(missing("reserve_resources"));
                    return Ok(());
                }
            },
            CallType::UnreserveResources => match &call.unreserve_resources {
                Some(c) => (
                    c.slave_id.value.clone(),
                    make_operation(OpType::Unreserve, c.resources.clone()),
                ),
                None => {
                    responder.respond(missing("unreserve_resources"));
                    return Ok(());
                }
            },
            CallType::CreateVolumes => match &call.create_volumes {
                Some(c) => (
                    c.slave_id.value.clone(),
                    make_operation(OpType::Create, c.volumes.clone()),
                ),
                None => {
                    responder.respond(missing("create_volumes"));
                    return Ok(());
                }
            },
            CallType::DestroyVolumes => match &call.destroy_volumes {
                Some(c) => (
                    c.slave_id.value.clone(),
                    make_operation(OpType::Destroy, c.volumes.clone()),
                ),
                None => {
                    responder.respond(missing("destroy_volumes"));
                    return Ok(());
                }
            },
            _ => return Err(responder),
        };
        self.operator_operation(cx, &agent_id, op, principal, responder);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode_as_upstream() {
        let body = b"slaveId=S1&resources=%5B%7B%22name%22%3A%22cpus%22%2C%22type%22%3A%22SCALAR%22%2C%22scalar%22%3A%7B%22value%22%3A1%7D%2C%22role%22%3A%22r%22%7D%5D";
        let (id, rs) = parse_form(body, "resources").unwrap();
        assert_eq!(id, "S1");
        assert_eq!(rs.len(), 1);
        assert_eq!(rs[0].name, "cpus");
        assert_eq!(
            parse_form(b"resources=[]", "resources").unwrap_err(),
            "Missing 'slaveId' query parameter in the request body"
        );
        assert_eq!(
            parse_form(b"slaveId=S1", "volumes").unwrap_err(),
            "Missing 'volumes' query parameter in the request body"
        );
        assert!(parse_form(b"slaveId=S1&volumes=nope", "volumes")
            .unwrap_err()
            .starts_with("Error in parsing 'volumes'"));
    }
}
