//! Dynamic reservations and persistent volumes on the simulator: an HTTP
//! framework ACCEPTs offers with RESERVE/UNRESERVE/CREATE/DESTROY, the
//! operator uses the v1 and legacy endpoints, and a fake agent records
//! what the master sends it. Names follow upstream's
//! src/tests/reservation_tests.cpp (ReservationTest.*) and
//! persistent_volume_tests.cpp (PersistentVolumeTest.*).

#![allow(deprecated)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::{ResponseHandle, Sim};
use libprocess::{Actor, Cx, Pid, Request, Routes, Upid};
use mesos_master::Master;
use mesos_proto::mesos::internal::{
    AcknowledgeOperationStatusMessage, ApplyOperationMessage, CheckpointResourcesMessage,
    PingSlaveMessage, PongSlaveMessage, ReconcileOperationsMessage, RegisterSlaveMessage,
    RunTaskMessage, SlaveRegisteredMessage, UpdateOperationStatusMessage, UpdateSlaveMessage,
};
use mesos_proto::mesos::slave_info::capability::Type as Cap;
use mesos_proto::mesos::slave_info::Capability;
use mesos_proto::mesos::{OperationState, OperationStatus, SlaveId, SlaveInfo, Uuid};
use serde_json::{json, Value};
use support::*;

/// An agent with cpus:4;mem:2048;disk:1024 that applies operations as a
/// 1.9 agent answers them: OPERATION_FINISHED with a status UUID.
struct OpsAgent {
    master: Upid,
    caps: Vec<i32>,
    id: Option<String>,
    applied: Vec<ApplyOperationMessage>,
    checkpoints: Vec<CheckpointResourcesMessage>,
    op_acks: Vec<AcknowledgeOperationStatusMessage>,
    run_tasks: Vec<RunTaskMessage>,
    /// Answer ApplyOperationMessage with OPERATION_FINISHED.
    answer: bool,
    reconciled: usize,
}

impl OpsAgent {
    fn new(master: Upid, caps: &[Cap]) -> OpsAgent {
        OpsAgent {
            master,
            caps: caps.iter().map(|c| *c as i32).collect(),
            id: None,
            applied: vec![],
            checkpoints: vec![],
            op_acks: vec![],
            run_tasks: vec![],
            answer: true,
            reconciled: 0,
        }
    }

    fn registered(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: SlaveRegisteredMessage) {
        self.id = Some(m.slave_id.value);
    }

    fn ping(&mut self, cx: &mut Cx<'_, Self>, from: Upid, _m: PingSlaveMessage) {
        cx.send(&from, &PongSlaveMessage {});
    }

    fn apply(&mut self, cx: &mut Cx<'_, Self>, from: Upid, m: ApplyOperationMessage) {
        if !self.answer {
            self.applied.push(m);
            return;
        }
        let mut u = [0u8; 16];
        cx.rng().fill_bytes(&mut u);
        let slave_id = SlaveId {
            value: self.id.clone().unwrap_or_default(),
        };
        let status = OperationStatus {
            operation_id: m.operation_info.id.clone(),
            state: OperationState::OperationFinished as i32,
            uuid: Some(Uuid {
                value: Bytes::copy_from_slice(&u),
            }),
            slave_id: Some(slave_id.clone()),
            ..Default::default()
        };
        cx.send(
            &from,
            &UpdateOperationStatusMessage {
                framework_id: m.framework_id.clone(),
                slave_id: Some(slave_id),
                status: status.clone(),
                latest_status: Some(status),
                operation_uuid: Some(m.operation_uuid.clone()),
            },
        );
        self.applied.push(m);
    }

    fn checkpoint(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: CheckpointResourcesMessage) {
        self.checkpoints.push(m);
    }

    fn op_ack(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: AcknowledgeOperationStatusMessage,
    ) {
        self.op_acks.push(m);
    }

    fn run_task(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: RunTaskMessage) {
        self.run_tasks.push(m);
    }

    /// Like a 1.9 agent that never got the operations: OPERATION_DROPPED.
    fn reconcile(&mut self, cx: &mut Cx<'_, Self>, from: Upid, m: ReconcileOperationsMessage) {
        for op in m.operations {
            let status = OperationStatus {
                state: OperationState::OperationDropped as i32,
                slave_id: Some(SlaveId {
                    value: self.id.clone().unwrap_or_default(),
                }),
                ..Default::default()
            };
            cx.send(
                &from,
                &UpdateOperationStatusMessage {
                    framework_id: None,
                    slave_id: status.slave_id.clone(),
                    status: status.clone(),
                    latest_status: Some(status),
                    operation_uuid: op.operation_uuid,
                },
            );
            self.reconciled += 1;
        }
    }
}

impl Actor for OpsAgent {
    fn install(r: &mut Routes<Self>) {
        r.message::<SlaveRegisteredMessage>(Self::registered);
        r.message::<PingSlaveMessage>(Self::ping);
        r.message::<ApplyOperationMessage>(Self::apply);
        r.message::<CheckpointResourcesMessage>(Self::checkpoint);
        r.message::<AcknowledgeOperationStatusMessage>(Self::op_ack);
        r.message::<RunTaskMessage>(Self::run_task);
        r.message::<ReconcileOperationsMessage>(Self::reconcile);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        let msg = RegisterSlaveMessage {
            slave: SlaveInfo {
                hostname: "agent-host".into(),
                port: Some(5051),
                resources: vec![
                    scalar("cpus", 4.0),
                    scalar("mem", 2048.0),
                    scalar("disk", 1024.0),
                ],
                ..Default::default()
            },
            version: Some("1.9.0".into()),
            agent_capabilities: self
                .caps
                .iter()
                .map(|t| Capability { r#type: Some(*t) })
                .collect(),
            resource_version_uuid: Some(Uuid {
                value: Bytes::from_static(&[7; 16]),
            }),
            ..Default::default()
        };
        let master = self.master.clone();
        cx.link(&master);
        cx.send(&master, &msg);
    }
}

const RP_CAPS: &[Cap] = &[
    Cap::MultiRole,
    Cap::HierarchicalRole,
    Cap::ReservationRefinement,
    Cap::ResourceProvider,
];

struct Env {
    sim: Sim,
    m: Pid<Master>,
    agent: Pid<OpsAgent>,
    stream: ResponseHandle,
    stream_id: String,
    fid: String,
}

fn post(path: &str, content_type: &str, body: &str, stream_id: Option<&str>) -> Request {
    let mut r = Request::new(Method::POST, path);
    r.headers
        .insert("content-type", content_type.parse().unwrap());
    if let Some(s) = stream_id {
        r.headers.insert("mesos-stream-id", s.parse().unwrap());
    }
    r.body = Bytes::from(body.to_string());
    r
}

fn events(h: &ResponseHandle) -> Vec<Value> {
    let mut d = mesos_proto::recordio::Decoder::new(1 << 22);
    d.decode(&h.stream_body())
        .expect("recordio")
        .into_iter()
        .map(|r| serde_json::from_slice(&r).expect("json event"))
        .collect()
}

impl Env {
    fn new(seed: u64, caps: &[Cap]) -> Env {
        Env::with(seed, caps, &[], "role1", true)
    }

    fn with(seed: u64, caps: &[Cap], flags: &[&str], role: &str, answer: bool) -> Env {
        let (mut sim, m) = sim_with_master(seed, flags);
        sim.add_node(agent_addr(1));
        let mut a = OpsAgent::new(m.upid.clone(), caps);
        a.answer = answer;
        let agent = sim.spawn(agent_addr(1), "slave(1)", a);
        sim.settle();
        let sub = json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {
            "user": "u", "name": "ops-fw", "roles": [role], "principal": "p1",
            "capabilities": [{"type": "MULTI_ROLE"}, {"type": "RESERVATION_REFINEMENT"}]
        }}});
        let stream = sim.http(
            master_addr(),
            post(
                "/api/v1/scheduler",
                "application/json",
                &sub.to_string(),
                None,
            ),
        );
        sim.settle();
        let stream_id = stream
            .head()
            .expect("streaming")
            .headers
            .get("mesos-stream-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let evs = events(&stream);
        let fid = evs[0]["subscribed"]["framework_id"]["value"]
            .as_str()
            .unwrap()
            .to_string();
        Env {
            sim,
            m,
            agent,
            stream,
            stream_id,
            fid,
        }
    }

    fn agent(&self) -> &OpsAgent {
        self.sim.actor::<OpsAgent>(&self.agent.upid).expect("agent")
    }

    fn agent_id(&self) -> String {
        self.agent().id.clone().expect("registered")
    }

    /// The most recent offer, waiting for one if none is outstanding.
    fn offer(&mut self) -> Value {
        let seen = self.offer_count();
        if master_of(&self.sim, &self.m).state().offers.is_empty() {
            self.sim.advance(Duration::from_secs(1));
            self.sim.settle();
        }
        let evs = events(&self.stream);
        let offers: Vec<&Value> = evs.iter().filter(|e| e["type"] == "OFFERS").collect();
        assert!(offers.len() >= seen.max(1), "an offer arrived");
        offers.last().unwrap()["offers"]["offers"][0].clone()
    }

    fn offer_count(&self) -> usize {
        events(&self.stream)
            .iter()
            .filter(|e| e["type"] == "OFFERS")
            .count()
    }

    fn accept(&mut self, offer: &Value, operations: Value) {
        let call = json!({
            "type": "ACCEPT",
            "framework_id": {"value": self.fid},
            "accept": {
                "offer_ids": [offer["id"]],
                "operations": operations,
                "filters": {"refuse_seconds": 0.0}
            }
        });
        let h = self.sim.http(
            master_addr(),
            post(
                "/api/v1/scheduler",
                "application/json",
                &call.to_string(),
                Some(&self.stream_id),
            ),
        );
        self.sim.settle();
        assert_eq!(h.status(), Some(StatusCode::ACCEPTED));
    }

    fn operator(&mut self, call: Value) -> (StatusCode, Bytes) {
        let h = self.sim.http(
            master_addr(),
            post("/api/v1", "application/json", &call.to_string(), None),
        );
        self.sim.settle();
        let r = h.response().expect("answered");
        (r.status, r.body.clone())
    }

    fn state(&mut self) -> Value {
        let h = self
            .sim
            .http(master_addr(), Request::new(Method::GET, "/master/state"));
        self.sim.settle();
        serde_json::from_slice(&h.response().unwrap().body).unwrap()
    }
}

fn reserved(name: &str, v: f64, role: &str, principal: &str) -> Value {
    json!({"name": name, "type": "SCALAR", "scalar": {"value": v},
           "reservations": [{"type": "DYNAMIC", "role": role, "principal": principal}]})
}

fn volume(v: f64, role: &str, id: &str) -> Value {
    let mut r = reserved("disk", v, role, "p1");
    r["disk"] = json!({"persistence": {"id": id, "principal": "p1"},
                        "volume": {"mode": "RW", "container_path": "path1"}});
    r
}

/// An offer operation of type `ty` (RESERVE, UNRESERVE, CREATE, DESTROY)
/// on `rs`: `{"type": ty, "<ty in lower case>": {"resources"|"volumes": rs}}`.
fn op(ty: &str, rs: Vec<Value>) -> Value {
    let key = if matches!(ty, "CREATE" | "DESTROY") {
        "volumes"
    } else {
        "resources"
    };
    json!({"type": ty, ty.to_lowercase(): {key: rs}})
}

/// Sum of the scalar `name` in an offer whose top reservation is `role`
/// (`None`: unreserved), optionally only persistent volumes.
fn offered(offer: &Value, name: &str, role: Option<&str>, volumes: bool) -> f64 {
    offer["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"] == name)
        .filter(|r| {
            let top = r["reservations"]
                .as_array()
                .and_then(|a| a.last())
                .and_then(|x| x["role"].as_str());
            top == role
        })
        .filter(|r| !volumes || r["disk"]["persistence"].is_object())
        .map(|r| r["scalar"]["value"].as_f64().unwrap())
        .sum()
}

/// ReservationTest.ReserveThenUnreserve: the reserved resources come back
/// reserved in the next offer, the agent is sent the operation (and the
/// master acknowledges its OPERATION_FINISHED), and UNRESERVE undoes it.
#[test]
fn reserve_then_unreserve() {
    let mut env = Env::new(101, RP_CAPS);
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", None, false), 4.0);
    let res = vec![
        reserved("cpus", 1.0, "role1", "p1"),
        reserved("mem", 512.0, "role1", "p1"),
    ];
    env.accept(&offer, json!([op("RESERVE", res.clone())]));
    let agent = env.agent();
    assert_eq!(agent.applied.len(), 1, "ApplyOperationMessage sent");
    assert_eq!(
        agent.applied[0].resource_version_uuid.uuid.value[..],
        [7; 16]
    );
    assert_eq!(
        agent.op_acks.len(),
        1,
        "master acknowledged OPERATION_FINISHED"
    );
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", Some("role1"), false), 1.0);
    assert_eq!(offered(&offer, "mem", Some("role1"), false), 512.0);
    assert_eq!(offered(&offer, "cpus", None, false), 3.0);
    // The operation is gone once finished.
    let (code, body) = env.operator(json!({"type": "GET_OPERATIONS"}));
    assert_eq!(code, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["get_operations"]["operations"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
    let st = env.state();
    assert_eq!(st["slaves"][0]["reserved_resources"]["role1"]["cpus"], 1.0);

    env.accept(&offer, json!([op("UNRESERVE", res)]));
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", Some("role1"), false), 0.0);
    assert_eq!(offered(&offer, "cpus", None, false), 4.0);
    assert_eq!(env.agent().applied.len(), 2);
}

/// ReservationTest.ReserveAndLaunchThenUnreserve: RESERVE then LAUNCH on
/// the reserved resources in one ACCEPT; the task carries the reservation.
#[test]
fn reserve_and_launch_then_unreserve() {
    let mut env = Env::new(102, RP_CAPS);
    let offer = env.offer();
    let res = vec![reserved("cpus", 1.0, "role1", "p1")];
    let agent_id = env.agent_id();
    let launch = json!({"type": "LAUNCH", "launch": {"task_infos": [{
        "name": "t", "task_id": {"value": "t1"}, "agent_id": {"value": agent_id},
        "resources": res.clone(), "command": {"value": "true"}
    }]}});
    env.accept(&offer, json!([op("RESERVE", res.clone()), launch]));
    let agent = env.agent();
    assert_eq!(agent.run_tasks.len(), 1, "task launched on reserved cpus");
    let task = &agent.run_tasks[0].task;
    assert_eq!(
        task.resources[0].reservations[0].role.as_deref(),
        Some("role1")
    );
    // In use: the reserved cpus are not offered again.
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", Some("role1"), false), 0.0);
    assert_eq!(offered(&offer, "cpus", None, false), 3.0);
}

/// PersistentVolumeTest.CreateAndDestroyPersistentVolumes, with the
/// reservation made in the same ACCEPT: RESERVE disk, CREATE a volume,
/// the volume is offered back; DESTROY turns it back into reserved disk.
#[test]
fn create_and_destroy_persistent_volumes() {
    let mut env = Env::new(103, RP_CAPS);
    let offer = env.offer();
    let disk = vec![reserved("disk", 128.0, "role1", "p1")];
    let vol = vec![volume(128.0, "role1", "id1")];
    env.accept(
        &offer,
        json!([op("RESERVE", disk.clone()), op("CREATE", vol.clone())]),
    );
    assert_eq!(
        env.agent().applied.len(),
        2,
        "RESERVE and CREATE sent in order"
    );
    assert_eq!(
        env.agent().applied[1].operation_info.r#type,
        Some(mesos_proto::mesos::offer::operation::Type::Create as i32)
    );
    let offer = env.offer();
    assert_eq!(offered(&offer, "disk", Some("role1"), true), 128.0);
    let st = env.state();
    let reserved_disk = &st["slaves"][0]["reserved_resources"]["role1"]["disk"];
    assert_eq!(reserved_disk, 128.0);

    // A second volume with the same persistence ID is refused.
    env.accept(
        &offer,
        json!([op("CREATE", vec![volume(128.0, "role1", "id1")])]),
    );
    assert_eq!(env.agent().applied.len(), 2, "duplicate id dropped");

    let offer = env.offer();
    env.accept(&offer, json!([op("DESTROY", vol)]));
    assert_eq!(env.agent().applied.len(), 3);
    let offer = env.offer();
    assert_eq!(offered(&offer, "disk", Some("role1"), true), 0.0);
    assert_eq!(offered(&offer, "disk", Some("role1"), false), 128.0);
}

/// PersistentVolumeTest.DestroyPersistentVolumeInUse (shape): a volume a
/// running task uses cannot be destroyed by the operator.
#[test]
fn destroy_volume_in_use_is_refused() {
    let mut env = Env::new(104, RP_CAPS);
    let offer = env.offer();
    let vol = vec![volume(64.0, "role1", "id9")];
    let agent_id = env.agent_id();
    let mut task_res = vol.clone();
    task_res.push(json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}}));
    let launch = json!({"type": "LAUNCH", "launch": {"task_infos": [{
        "name": "t", "task_id": {"value": "t1"}, "agent_id": {"value": agent_id},
        "resources": task_res, "command": {"value": "true"}
    }]}});
    env.accept(
        &offer,
        json!([
            op("RESERVE", vec![reserved("disk", 64.0, "role1", "p1")]),
            op("CREATE", vol.clone()),
            launch
        ]),
    );
    assert_eq!(env.agent().run_tasks.len(), 1, "task uses the new volume");
    let call = json!({"type": "DESTROY_VOLUMES", "destroy_volumes": {
        "agent_id": {"value": agent_id}, "volumes": vol}});
    let (code, body) = env.operator(call);
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        String::from_utf8_lossy(&body),
        "Invalid DESTROY operation: Persistent volumes in use"
    );
}

/// ReservationTest.UnreserveWithoutReservation-like checks: invalid
/// operations are dropped and change nothing.
#[test]
fn invalid_operations_are_dropped() {
    let mut env = Env::new(105, RP_CAPS);
    let offer = env.offer();
    // Unreserving unreserved resources; reserving for another role;
    // reserving with someone else's principal.
    let plain = json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}});
    env.accept(
        &offer,
        json!([
            op("UNRESERVE", vec![plain]),
            op("RESERVE", vec![reserved("cpus", 1.0, "other", "p1")]),
            op("RESERVE", vec![reserved("cpus", 1.0, "role1", "p2")]),
            op("RESERVE", vec![reserved("cpus", 99.0, "role1", "p1")])
        ]),
    );
    assert!(env.agent().applied.is_empty(), "nothing applied");
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", None, false), 4.0);
    // A shared volume is refused by this master (operations.md).
    let mut shared = volume(64.0, "role1", "s1");
    shared["shared"] = json!({});
    let agent_id = env.agent_id();
    let (code, body) = env.operator(json!({"type": "CREATE_VOLUMES", "create_volumes": {
        "agent_id": {"value": agent_id}, "volumes": [shared]}}));
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("Shared persistent volumes"));
}

/// ReservationEndpointsTest / the v1 RESERVE_RESOURCES, CREATE_VOLUMES and
/// the legacy form-encoded endpoints: 202, the agent is told, /state and
/// GET_AGENTS show the reservation; unavailable resources are a 409.
#[test]
fn operator_reserve_create_and_legacy_endpoints() {
    let mut env = Env::new(106, RP_CAPS);
    let agent_id = env.agent_id();
    // The framework holds an offer for everything: the operator's RESERVE
    // rescinds it to get the resources.
    let _ = env.offer();
    let call = json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent_id},
        "resources": [reserved("cpus", 2.0, "ops", "op"), reserved("disk", 100.0, "ops", "op")]}});
    let (code, body) = env.operator(call);
    assert_eq!(
        code,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert!(events(&env.stream).iter().any(|e| e["type"] == "RESCIND"));
    let vol = json!({"name": "disk", "type": "SCALAR", "scalar": {"value": 100.0},
        "reservations": [{"type": "DYNAMIC", "role": "ops", "principal": "op"}],
        "disk": {"persistence": {"id": "v1"}, "volume": {"mode": "RW", "container_path": "data"}}});
    let (code, _) = env.operator(json!({"type": "CREATE_VOLUMES", "create_volumes": {
        "agent_id": {"value": agent_id}, "volumes": [vol]}}));
    assert_eq!(code, StatusCode::ACCEPTED);
    assert_eq!(env.agent().applied.len(), 2);
    assert!(env.agent().applied.iter().all(|a| a.framework_id.is_none()));

    let st = env.state();
    assert_eq!(st["slaves"][0]["reserved_resources"]["ops"]["cpus"], 2.0);
    assert_eq!(st["slaves"][0]["reserved_resources"]["ops"]["disk"], 100.0);
    assert_eq!(st["slaves"][0]["unreserved_resources"]["cpus"], 2.0);
    let (_, body) = env.operator(json!({"type": "GET_AGENTS"}));
    let v: Value = serde_json::from_slice(&body).unwrap();
    let total = v["get_agents"]["agents"][0]["total_resources"]
        .as_array()
        .unwrap();
    assert!(total.iter().any(|r| r["disk"]["persistence"]["id"] == "v1"));

    // Legacy endpoint, form-encoded: unreserve 1 of the 2 cpus.
    let form = format!(
        "slaveId={agent_id}&resources={}",
        percent(&json!([reserved("cpus", 1.0, "ops", "op")]).to_string())
    );
    let h = env.sim.http(
        master_addr(),
        post(
            "/master/unreserve",
            "application/x-www-form-urlencoded",
            &form,
            None,
        ),
    );
    env.sim.settle();
    assert_eq!(h.status(), Some(StatusCode::ACCEPTED));
    let st = env.state();
    assert_eq!(st["slaves"][0]["reserved_resources"]["ops"]["cpus"], 1.0);

    // More than the agent has: 409 Conflict, nothing changes.
    let (code, _) = env.operator(json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent_id}, "resources": [reserved("cpus", 50.0, "ops", "op")]}}));
    assert_eq!(code, StatusCode::CONFLICT);
    // Invalid: not dynamically reserved, unknown agent, missing form field.
    let (code, body) = env.operator(json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent_id},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}}]}}));
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("is not dynamically reserved"));
    let (code, body) = env.operator(json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": "nope"}, "resources": []}}));
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(&body[..], b"No agent found with specified ID");
    let h = env.sim.http(
        master_addr(),
        post(
            "/master/reserve",
            "application/x-www-form-urlencoded",
            "resources=[]",
            None,
        ),
    );
    env.sim.settle();
    assert_eq!(h.status(), Some(StatusCode::BAD_REQUEST));
    assert!(env.sim.is_alive(&env.m.upid));
}

/// An agent without RESOURCE_PROVIDER (pre-1.5 protocol) gets the whole
/// checkpointed set in a CheckpointResourcesMessage; without
/// RESERVATION_REFINEMENT in the old `role` format.
#[test]
fn legacy_agent_gets_checkpoint_resources_message() {
    let mut env = Env::new(107, &[Cap::MultiRole]);
    let agent_id = env.agent_id();
    let (code, _) = env.operator(json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent_id}, "resources": [reserved("mem", 256.0, "ops", "op")]}}));
    assert_eq!(code, StatusCode::ACCEPTED);
    let agent = env.agent();
    assert!(agent.applied.is_empty());
    assert_eq!(agent.checkpoints.len(), 1);
    let r = &agent.checkpoints[0].resources;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].role.as_deref(), Some("ops"));
    assert!(r[0].reservations.is_empty(), "downgraded");
    assert_eq!(
        r[0].reservation
            .as_ref()
            .and_then(|x| x.principal.as_deref()),
        Some("op")
    );
}

fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// ReservationTest with the simple allocator (`--allocator=simple`): it
/// follows the same operations.
#[test]
fn reserve_then_unreserve_with_the_simple_allocator() {
    let mut env = Env::with(108, RP_CAPS, &["--allocator=simple"], "role1", true);
    let offer = env.offer();
    let res = vec![reserved("cpus", 1.0, "role1", "p1")];
    env.accept(&offer, json!([op("RESERVE", res.clone())]));
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", Some("role1"), false), 1.0);
    assert_eq!(offered(&offer, "cpus", None, false), 3.0);
    env.accept(&offer, json!([op("UNRESERVE", res)]));
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", None, false), 4.0);
}

/// Refined reservations (1.9's `reservations` stack): resources the
/// operator reserved for `eng` are offered to a framework in `eng/dev`,
/// which refines them; UNRESERVE pops only its own reservation.
#[test]
fn refined_reservation_pushes_and_pops_the_stack() {
    let mut env = Env::with(109, RP_CAPS, &[], "eng/dev", true);
    let agent_id = env.agent_id();
    let _ = env.offer();
    let eng = json!({"type": "DYNAMIC", "role": "eng", "principal": "op"});
    let call = json!({"type": "RESERVE_RESOURCES", "reserve_resources": {
        "agent_id": {"value": agent_id},
        "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0},
                       "reservations": [eng]}]}});
    let (code, body) = env.operator(call);
    assert_eq!(
        code,
        StatusCode::ACCEPTED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", Some("eng"), false), 2.0);
    let refined = json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0},
        "reservations": [eng, {"type": "DYNAMIC", "role": "eng/dev", "principal": "p1"}]});
    env.accept(&offer, json!([op("RESERVE", vec![refined.clone()])]));
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", Some("eng/dev"), false), 1.0);
    assert_eq!(offered(&offer, "cpus", Some("eng"), false), 1.0);
    let stack = offer["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["reservations"].as_array().is_some_and(|a| a.len() == 2))
        .expect("a refined resource");
    assert_eq!(stack["reservations"][0]["role"], "eng");
    // /state lists it under the top of the stack.
    let st = env.state();
    assert_eq!(
        st["slaves"][0]["reserved_resources"]["eng/dev"]["cpus"],
        1.0
    );
    assert_eq!(st["slaves"][0]["reserved_resources"]["eng"]["cpus"], 1.0);
    env.accept(&offer, json!([op("UNRESERVE", vec![refined])]));
    let offer = env.offer();
    assert_eq!(offered(&offer, "cpus", Some("eng/dev"), false), 0.0);
    assert_eq!(offered(&offer, "cpus", Some("eng"), false), 2.0);
}

/// GET_OPERATIONS lists an operation the agent has not finished yet,
/// PENDING, with the agent and framework IDs.
#[test]
fn get_operations_lists_pending_operations() {
    let mut env = Env::with(110, RP_CAPS, &[], "role1", false);
    let offer = env.offer();
    env.accept(
        &offer,
        json!([op("RESERVE", vec![reserved("cpus", 1.0, "role1", "p1")])]),
    );
    assert_eq!(env.agent().applied.len(), 1);
    let (code, body) = env.operator(json!({"type": "GET_OPERATIONS"}));
    assert_eq!(code, StatusCode::OK);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let ops = v["get_operations"]["operations"]
        .as_array()
        .expect("one operation");
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0]["latest_status"]["state"], "OPERATION_PENDING");
    assert_eq!(ops[0]["info"]["type"], "RESERVE");
    assert_eq!(ops[0]["agent_id"]["value"], env.agent_id().as_str());
    assert_eq!(ops[0]["framework_id"]["value"], env.fid.as_str());
    // The master already counts the reservation (speculatively applied).
    let st = env.state();
    assert_eq!(st["slaves"][0]["reserved_resources"]["role1"]["cpus"], 1.0);
}

/// An RP-capable agent that reregisters without a reservation the master
/// applied (the ApplyOperationMessage never reached it) is believed: the
/// master's total and the offers follow the agent's checkpointed resources
/// (upstream `___reregisterSlave`).
#[test]
fn reregistration_with_other_checkpointed_resources_updates_the_total() {
    let mut env = Env::with(111, RP_CAPS, &[], "role1", false);
    let offer = env.offer();
    env.accept(
        &offer,
        json!([op("RESERVE", vec![reserved("cpus", 1.0, "role1", "p1")])]),
    );
    let st = env.state();
    assert_eq!(st["slaves"][0]["reserved_resources"]["role1"]["cpus"], 1.0);
    // The agent comes back with a different reservation checkpointed.
    let agent_id = env.agent_id();
    let mut mem = scalar("mem", 128.0);
    mem.role = Some("role1".into());
    mem.reservation = Some(mesos_proto::mesos::resource::ReservationInfo {
        principal: Some("p1".into()),
        ..Default::default()
    });
    let msg = mesos_proto::mesos::internal::ReregisterSlaveMessage {
        slave: SlaveInfo {
            id: Some(SlaveId { value: agent_id }),
            hostname: "agent-host".into(),
            port: Some(5051),
            resources: vec![
                scalar("cpus", 4.0),
                scalar("mem", 2048.0),
                scalar("disk", 1024.0),
            ],
            ..Default::default()
        },
        checkpointed_resources: vec![mem],
        version: Some("1.9.0".into()),
        agent_capabilities: RP_CAPS
            .iter()
            .map(|c| Capability {
                r#type: Some(*c as i32),
            })
            .collect(),
        ..Default::default()
    };
    let from = env.agent.upid.clone();
    env.sim.send(&from, &env.m.upid, &msg);
    env.sim.settle();
    let st = env.state();
    let role = &st["slaves"][0]["reserved_resources"]["role1"];
    assert_eq!(role["cpus"], 0.0, "{st}");
    assert_eq!(role["mem"], 128.0);
    let offer = env.offer();
    assert_eq!(offered(&offer, "mem", Some("role1"), false), 128.0);
    assert_eq!(offered(&offer, "cpus", None, false), 4.0);
}

/// An operation the agent does not report in its `UpdateSlaveMessage` is
/// reconciled explicitly; the agent's OPERATION_DROPPED ends it
/// (upstream `Master::updateSlave`).
#[test]
fn unreported_operations_are_reconciled_and_dropped() {
    let mut env = Env::with(112, RP_CAPS, &[], "role1", false);
    let offer = env.offer();
    env.accept(
        &offer,
        json!([op("RESERVE", vec![reserved("cpus", 1.0, "role1", "p1")])]),
    );
    let pending = |env: &mut Env| {
        let (_, body) = env.operator(json!({"type": "GET_OPERATIONS"}));
        let v: Value = serde_json::from_slice(&body).unwrap();
        v["get_operations"]["operations"]
            .as_array()
            .map_or(0, |a| a.len())
    };
    assert_eq!(pending(&mut env), 1);
    let update = UpdateSlaveMessage {
        slave_id: SlaveId {
            value: env.agent_id(),
        },
        operations: Some(Default::default()),
        ..Default::default()
    };
    let from = env.agent.upid.clone();
    env.sim.send(&from, &env.m.upid, &update);
    env.sim.settle();
    assert_eq!(env.agent().reconciled, 1);
    assert_eq!(pending(&mut env), 0);
}

/// Operation feedback (1.9, HTTP frameworks): a RESERVE with an `id` gets
/// UPDATE_OPERATION_STATUS events; the framework, not the master,
/// acknowledges OPERATION_FINISHED; an invalid one gets OPERATION_ERROR.
/// Mirrors OperationReconciliationTest / the feedback paths of
/// `Master::accept` and `Master::updateOperationStatus`.
#[test]
fn operation_feedback_reaches_the_framework_and_its_acknowledgement_the_agent() {
    let mut env = Env::new(
        113,
        &[
            Cap::MultiRole,
            Cap::HierarchicalRole,
            Cap::ReservationRefinement,
            Cap::ResourceProvider,
            Cap::AgentOperationFeedback,
        ],
    );
    let offer = env.offer();
    let mut reserve = op("RESERVE", vec![reserved("cpus", 1.0, "role1", "p1")]);
    reserve["id"] = json!({"value": "op1"});
    let mut bad = op(
        "UNRESERVE",
        vec![json!({"name": "cpus", "type": "SCALAR", "scalar": {"value": 1.0}})],
    );
    bad["id"] = json!({"value": "op2"});
    env.accept(&offer, json!([reserve, bad]));
    let updates: Vec<Value> = events(&env.stream)
        .into_iter()
        .filter(|e| e["type"] == "UPDATE_OPERATION_STATUS")
        .map(|e| e["update_operation_status"]["status"].clone())
        .collect();
    assert_eq!(updates.len(), 2, "{updates:?}");
    let error = updates
        .iter()
        .find(|s| s["operation_id"]["value"] == "op2")
        .unwrap();
    assert_eq!(error["state"], "OPERATION_ERROR");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("is not dynamically reserved"));
    let finished = updates
        .iter()
        .find(|s| s["operation_id"]["value"] == "op1")
        .unwrap();
    assert_eq!(finished["state"], "OPERATION_FINISHED");
    assert!(
        env.agent().op_acks.is_empty(),
        "the framework acknowledges, not the master"
    );
    let (_, body) = env.operator(json!({"type": "GET_OPERATIONS"}));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        v["get_operations"]["operations"]
            .as_array()
            .map(|a| a.len()),
        Some(1)
    );

    let ack = json!({"type": "ACKNOWLEDGE_OPERATION_STATUS", "framework_id": {"value": env.fid},
        "acknowledge_operation_status": {"agent_id": {"value": env.agent_id()},
            "uuid": finished["uuid"]["value"], "operation_id": {"value": "op1"}}});
    let h = env.sim.http(
        master_addr(),
        post(
            "/api/v1/scheduler",
            "application/json",
            &ack.to_string(),
            Some(&env.stream_id),
        ),
    );
    env.sim.settle();
    assert_eq!(h.status(), Some(StatusCode::ACCEPTED));
    assert_eq!(
        env.agent().op_acks.len(),
        1,
        "acknowledgement forwarded to the agent"
    );
    let (_, body) = env.operator(json!({"type": "GET_OPERATIONS"}));
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["get_operations"]["operations"]
        .as_array()
        .is_none_or(|a| a.is_empty()));
}

/// Without AGENT_OPERATION_FEEDBACK the agent cannot report on an
/// operation with an `id`: dropped with OPERATION_ERROR, nothing applied.
#[test]
fn operation_feedback_needs_a_capable_agent() {
    let mut env = Env::new(114, RP_CAPS);
    let offer = env.offer();
    let mut reserve = op("RESERVE", vec![reserved("cpus", 1.0, "role1", "p1")]);
    reserve["id"] = json!({"value": "op1"});
    env.accept(&offer, json!([reserve]));
    assert!(env.agent().applied.is_empty());
    let e = events(&env.stream)
        .into_iter()
        .find(|e| e["type"] == "UPDATE_OPERATION_STATUS")
        .expect("an operation status");
    let status = &e["update_operation_status"]["status"];
    assert_eq!(status["state"], "OPERATION_ERROR");
    assert!(status["message"]
        .as_str()
        .unwrap()
        .contains("AGENT_OPERATION_FEEDBACK"));
}

/// The v1 operator calls in protobuf: RESERVE_RESOURCES then
/// UNRESERVE_RESOURCES encoded as `application/x-protobuf`.
#[test]
fn operator_reserve_and_unreserve_in_protobuf() {
    use mesos_proto::mesos::v1::master::call::{
        ReserveResources, Type as V1Type, UnreserveResources,
    };
    use mesos_proto::mesos::v1::master::Call as V1Call;
    use mesos_proto::mesos::v1::resource::ReservationInfo as V1Reservation;
    use mesos_proto::mesos::v1::{value, AgentId, Resource as V1Resource};
    use prost::Message;

    let mut env = Env::new(115, RP_CAPS);
    let agent_id = env.agent_id();
    let resource = V1Resource {
        name: "mem".into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: 256.0 }),
        reservations: vec![V1Reservation {
            r#type: Some(mesos_proto::mesos::v1::resource::reservation_info::Type::Dynamic as i32),
            role: Some("pb".into()),
            principal: Some("op".into()),
            labels: None,
        }],
        ..Default::default()
    };
    let send = |env: &mut Env, call: &V1Call| {
        let mut r = Request::new(Method::POST, "/api/v1");
        r.headers
            .insert("content-type", "application/x-protobuf".parse().unwrap());
        r.headers
            .insert("accept", "application/x-protobuf".parse().unwrap());
        r.body = Bytes::from(call.encode_to_vec());
        let h = env.sim.http(master_addr(), r);
        env.sim.settle();
        h.status()
    };
    let reserve = V1Call {
        r#type: Some(V1Type::ReserveResources as i32),
        reserve_resources: Some(ReserveResources {
            agent_id: AgentId {
                value: agent_id.clone(),
            },
            resources: vec![resource.clone()],
        }),
        ..Default::default()
    };
    assert_eq!(send(&mut env, &reserve), Some(StatusCode::ACCEPTED));
    let st = env.state();
    assert_eq!(st["slaves"][0]["reserved_resources"]["pb"]["mem"], 256.0);
    let unreserve = V1Call {
        r#type: Some(V1Type::UnreserveResources as i32),
        unreserve_resources: Some(UnreserveResources {
            agent_id: AgentId { value: agent_id },
            resources: vec![resource],
        }),
        ..Default::default()
    };
    assert_eq!(send(&mut env, &unreserve), Some(StatusCode::ACCEPTED));
    let st = env.state();
    assert!(st["slaves"][0]["reserved_resources"].get("pb").is_none());
    assert_eq!(env.agent().applied.len(), 2);
}

/// Master failover: an agent the (new) master does not know reregisters
/// with its checkpointed reservation and volume; the master's total,
/// `/state` and offers include them (upstream `Slave::Slave` with
/// `applyCheckpointedResources`).
#[test]
fn reregistering_unknown_agent_brings_its_checkpointed_resources() {
    let (mut sim, m) = sim_with_master(116, &[]);
    sim.add_node(agent_addr(1));
    let from = Upid::new("slave(1)", agent_addr(1));
    let dynamic = |role: &str| mesos_proto::mesos::resource::ReservationInfo {
        r#type: Some(mesos_proto::mesos::resource::reservation_info::Type::Dynamic as i32),
        role: Some(role.into()),
        principal: Some("op".into()),
        labels: None,
    };
    let mut cpus = scalar("cpus", 1.0);
    cpus.role = None;
    cpus.reservations = vec![dynamic("role1")];
    let mut vol = scalar("disk", 100.0);
    vol.role = None;
    vol.reservations = vec![dynamic("role1")];
    vol.disk = Some(Box::new(mesos_proto::mesos::resource::DiskInfo {
        persistence: Some(mesos_proto::mesos::resource::disk_info::Persistence {
            id: "v9".into(),
            principal: None,
        }),
        volume: Some(mesos_proto::mesos::Volume {
            container_path: "data".into(),
            ..Default::default()
        }),
        ..Default::default()
    }));
    let msg = mesos_proto::mesos::internal::ReregisterSlaveMessage {
        slave: SlaveInfo {
            id: Some(SlaveId {
                value: "old-master-S3".into(),
            }),
            hostname: "agent-host".into(),
            port: Some(5051),
            resources: vec![
                scalar("cpus", 4.0),
                scalar("mem", 2048.0),
                scalar("disk", 1024.0),
            ],
            ..Default::default()
        },
        checkpointed_resources: vec![cpus, vol],
        version: Some("1.9.0".into()),
        agent_capabilities: RP_CAPS
            .iter()
            .map(|c| Capability {
                r#type: Some(*c as i32),
            })
            .collect(),
        ..Default::default()
    };
    sim.send(&from, &m.upid, &msg);
    sim.settle();
    let h = sim.http(master_addr(), Request::new(Method::GET, "/master/state"));
    sim.settle();
    let st: Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
    let slave = &st["slaves"][0];
    assert_eq!(slave["id"], "old-master-S3");
    assert_eq!(slave["reserved_resources"]["role1"]["cpus"], 1.0);
    assert_eq!(slave["reserved_resources"]["role1"]["disk"], 100.0);
    assert_eq!(slave["unreserved_resources"]["disk"], 924.0);
    assert_eq!(slave["resources"]["cpus"], 4.0);
    // A later CREATE with the same persistence ID is refused.
    let mut dup = volume(10.0, "role1", "v9");
    dup["reservations"][0]["principal"] = json!("op");
    let call = json!({"type": "CREATE_VOLUMES", "create_volumes": {
        "agent_id": {"value": "old-master-S3"}, "volumes": [dup]}});
    let h = sim.http(
        master_addr(),
        post("/api/v1", "application/json", &call.to_string(), None),
    );
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::BAD_REQUEST));
    assert!(String::from_utf8_lossy(&h.response().unwrap().body).contains("is not unique"));
}
