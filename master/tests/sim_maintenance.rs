//! Maintenance primitives on the simulator (upstream
//! src/tests/master_maintenance_tests.cpp, `MasterMaintenanceTest.*`).
//!
//! Each scenario runs twice: with the in-memory registry as upstream's test
//! does, and with the replicated-log registry and a master restart in the
//! middle, after which the schedule and machine modes must still be there
//! (upstream recovers them in `Master::_recover`). Inverse offer answers
//! are not persisted, as upstream.

#![allow(deprecated)]

mod support;

use http::{Method, StatusCode};
use libprocess::{Actor, Cx, Pid, Routes, Upid};
use mesos_master::Master;
use mesos_proto::mesos::internal::{
    InverseOffersMessage, RescindInverseOfferMessage, RescindResourceOfferMessage,
    ResourceOffersMessage, ShutdownMessage,
};
use mesos_proto::mesos::scheduler::call::{self, Type as CallType};
use mesos_proto::mesos::scheduler::Call;
use mesos_proto::mesos::{Filters, FrameworkId, FrameworkInfo, InverseOffer, Offer, TaskState};
use serde_json::{json, Value};
use support::durable::Cluster;
use support::*;

// ------------------------------------------------------------- fixture

/// The maintenance endpoints' reads, on the shared restartable cluster.
trait Maintenance {
    fn schedule(&mut self) -> Value;
    fn status(&mut self) -> Value;
}

impl Maintenance for Cluster {
    fn schedule(&mut self) -> Value {
        self.get_json("/master/maintenance/schedule")
    }

    fn status(&mut self) -> Value {
        self.get_json("/master/maintenance/status")
    }
}

// ------------------------------------------------------------- helpers

fn machine1() -> Value {
    json!({"hostname": "Machine1"})
}

fn machine2() -> Value {
    json!({"ip": "0.0.0.2"})
}

fn machine3() -> Value {
    json!({"hostname": "Machine3", "ip": "0.0.0.3"})
}

/// The machine of the fake agent at `agent_addr(1)`.
fn agent_machine() -> Value {
    json!({"hostname": "agent-host", "ip": "10.0.1.1"})
}

fn unavailability(start_ns: i64) -> Value {
    json!({"start": {"nanoseconds": start_ns}, "duration": {"nanoseconds": 3_600_000_000_000i64}})
}

fn window(machines: &[Value], start_ns: i64) -> Value {
    json!({"machine_ids": machines, "unavailability": unavailability(start_ns)})
}

fn schedule(windows: &[Value]) -> Value {
    json!({ "windows": windows })
}

const START: i64 = 1_443_830_400_000_000_000;

fn registry_machine_modes(master: &Master) -> Vec<(String, String)> {
    let reg = master.registrar().registry();
    let mut out: Vec<(String, String)> = reg
        .machines
        .as_ref()
        .map(|ms| {
            ms.machines
                .iter()
                .map(|m| {
                    (
                        mesos_proto::json::to_json(&m.info.id).unwrap(),
                        mesos_proto::mesos::machine_info::Mode::try_from(m.info.mode.unwrap_or(1))
                            .unwrap()
                            .as_str_name()
                            .to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn spawn_agent(c: &mut Cluster) -> Pid<FakeAgent> {
    c.sim.add_node(agent_addr(1));
    let a = c.sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(c.m.upid.clone(), vec![TaskState::TaskRunning]),
    );
    c.sim.settle();
    a
}

fn fa<'s>(c: &'s Cluster, p: &Pid<FakeAgent>) -> &'s FakeAgent {
    c.sim.actor::<FakeAgent>(&p.upid).expect("agent alive")
}

// ------------------------------------------------------------- scheduler

/// A driver-protocol scheduler that keeps its offers (so it has an
/// allocation on the agent and is sent inverse offers, upstream
/// `HierarchicalAllocatorProcess::deallocate`) and records inverse offers.
struct InverseScheduler {
    master: Upid,
    framework_id: Option<FrameworkId>,
    offers: Vec<Offer>,
    rescinded: Vec<String>,
    inverse_offers: Vec<InverseOffer>,
    inverse_pids: Vec<String>,
    rescinded_inverse: Vec<String>,
}

impl InverseScheduler {
    fn new(master: Upid) -> InverseScheduler {
        InverseScheduler {
            master,
            framework_id: None,
            offers: vec![],
            rescinded: vec![],
            inverse_offers: vec![],
            inverse_pids: vec![],
            rescinded_inverse: vec![],
        }
    }

    fn call(&self, ty: CallType) -> Call {
        Call {
            framework_id: self.framework_id.clone(),
            r#type: Some(ty as i32),
            ..Default::default()
        }
    }

    /// ACCEPT or DECLINE_INVERSE_OFFERS of the latest inverse offer.
    fn answer_latest(&mut self, cx: &mut Cx<'_, Self>, accept: bool, refuse: f64) {
        let id = self
            .inverse_offers
            .last()
            .expect("an inverse offer")
            .id
            .clone();
        self.answer(cx, id, accept, refuse);
    }

    fn answer(
        &mut self,
        cx: &mut Cx<'_, Self>,
        id: mesos_proto::mesos::OfferId,
        accept: bool,
        refuse: f64,
    ) {
        let filters = Some(Filters {
            refuse_seconds: Some(refuse),
        });
        let c = if accept {
            Call {
                accept_inverse_offers: Some(call::AcceptInverseOffers {
                    inverse_offer_ids: vec![id],
                    filters,
                }),
                ..self.call(CallType::AcceptInverseOffers)
            }
        } else {
            Call {
                decline_inverse_offers: Some(call::DeclineInverseOffers {
                    inverse_offer_ids: vec![id],
                    filters,
                }),
                ..self.call(CallType::DeclineInverseOffers)
            }
        };
        let master = self.master.clone();
        cx.send(&master, &c);
    }

    fn registered(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: mesos_proto::mesos::internal::FrameworkRegisteredMessage,
    ) {
        self.framework_id = Some(m.framework_id);
    }

    fn resource_offers(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: ResourceOffersMessage) {
        self.offers.extend(m.offers);
    }

    fn rescind(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: RescindResourceOfferMessage) {
        self.rescinded.push(m.offer_id.value);
    }

    fn inverse(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: InverseOffersMessage) {
        self.inverse_offers.extend(m.inverse_offers);
        self.inverse_pids.extend(m.pids);
    }

    fn rescind_inverse(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: RescindInverseOfferMessage,
    ) {
        self.rescinded_inverse.push(m.inverse_offer_id.value);
    }
}

impl InverseScheduler {
    /// SUBSCRIBE (again, with the framework ID once it has one: failover).
    fn subscribe(&mut self, cx: &mut Cx<'_, Self>) {
        let c = Call {
            framework_id: self.framework_id.clone(),
            r#type: Some(CallType::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info: FrameworkInfo {
                    id: self.framework_id.clone(),
                    user: "tester".into(),
                    name: "inverse-framework".into(),
                    failover_timeout: Some(60.0),
                    ..Default::default()
                },
                force: None,
                suppressed_roles: vec![],
                ..Default::default()
            }),
            ..Default::default()
        };
        let master = self.master.clone();
        cx.link(&master);
        cx.send(&master, &c);
    }
}

impl Actor for InverseScheduler {
    fn install(r: &mut Routes<Self>) {
        r.message::<mesos_proto::mesos::internal::FrameworkRegisteredMessage>(Self::registered);
        r.message::<ResourceOffersMessage>(Self::resource_offers);
        r.message::<RescindResourceOfferMessage>(Self::rescind);
        r.message::<InverseOffersMessage>(Self::inverse);
        r.message::<RescindInverseOfferMessage>(Self::rescind_inverse);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        self.subscribe(cx);
    }
}

fn spawn_scheduler(c: &mut Cluster) -> Pid<InverseScheduler> {
    c.sim.add_node(sched_addr(1));
    let s = c.sim.spawn(
        sched_addr(1),
        "scheduler-1",
        InverseScheduler::new(c.m.upid.clone()),
    );
    c.sim.settle();
    c.sim.advance(secs(2));
    s
}

fn sched<'s>(c: &'s Cluster, s: &Pid<InverseScheduler>) -> &'s InverseScheduler {
    c.sim
        .actor::<InverseScheduler>(&s.upid)
        .expect("scheduler alive")
}

// ------------------------------------------------------------- tests

/// MasterMaintenanceTest.UpdateSchedule: valid schedules are stored and
/// shown by GET; empty windows, duplicate machines and bad machine IDs are
/// 400; a negative start is fine; the empty schedule clears it.
fn update_schedule(durable: bool) {
    let mut c = Cluster::new(101, durable, &[]);
    let s1 = schedule(&[window(&[machine1()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &s1), StatusCode::OK);
    let got = c.schedule();
    assert_eq!(got["windows"].as_array().unwrap().len(), 1);
    assert_eq!(got["windows"][0]["machine_ids"], json!([machine1()]));
    assert_eq!(got["windows"][0]["unavailability"], unavailability(START));

    let bad = [
        schedule(&[window(&[], START)]),
        schedule(&[window(&[machine1()], START), window(&[machine1()], START)]),
        // Same machine: the hostname is compared case-insensitively.
        schedule(&[window(
            &[machine1(), json!({"hostname": "machine1"})],
            START,
        )]),
        schedule(&[window(&[json!({})], START)]),
        schedule(&[window(
            &[json!({"hostname": "x", "ip": "not-an-ip"})],
            START,
        )]),
        json!({"windows": [{"machine_ids": [machine1()]}]}),
        json!([1, 2]),
    ];
    for b in &bad {
        assert_eq!(
            c.post("/master/maintenance/schedule", b),
            StatusCode::BAD_REQUEST,
            "{b}"
        );
    }
    let (st, body) = c.request(Method::POST, "/master/maintenance/schedule", "{not json");
    assert_eq!(st, StatusCode::BAD_REQUEST, "{body}");
    // Nothing changed.
    assert_eq!(c.schedule(), got);

    let negative = schedule(&[window(&[machine1()], -10_000_000_000)]);
    assert_eq!(
        c.post("/master/maintenance/schedule", &negative),
        StatusCode::OK
    );
    let s2 = schedule(&[window(&[machine1(), machine2()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &s2), StatusCode::OK);
    assert_eq!(
        registry_machine_modes(c.master()),
        vec![
            (r#"{"hostname":"Machine1"}"#.into(), "DRAINING".into()),
            (r#"{"ip":"0.0.0.2"}"#.into(), "DRAINING".into()),
        ]
    );

    c.restart_if_durable();
    assert_eq!(c.schedule(), s2, "the schedule survives a restart");
    assert_eq!(c.status()["draining_machines"].as_array().unwrap().len(), 2);

    assert_eq!(
        c.post("/master/maintenance/schedule", &schedule(&[])),
        StatusCode::OK
    );
    assert_eq!(c.schedule(), json!({}));
    assert!(registry_machine_modes(c.master()).is_empty());
    let (st, _) = c.request(Method::DELETE, "/master/maintenance/schedule", "");
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
}

variants! {
    update_schedule:
        master_maintenance_test_update_schedule(false);
        master_maintenance_test_update_schedule_across_restart(true);
}

/// MasterMaintenanceTest.FailToUnscheduleDeactivatedMachines: a DOWN
/// machine may not leave the schedule until it is brought up.
fn fail_to_unschedule_deactivated_machines(durable: bool) {
    let mut c = Cluster::new(102, durable, &[]);
    let s = schedule(&[window(&[machine1(), machine2()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &s), StatusCode::OK);
    assert_eq!(
        c.post("/master/machine/down", &json!([machine1()])),
        StatusCode::OK
    );
    c.restart_if_durable();
    let (st, body) = c.request(
        Method::POST,
        "/master/maintenance/schedule",
        &schedule(&[window(&[machine2()], START)]).to_string(),
    );
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"Machine '{"hostname":"Machine1"}' is deactivated and cannot be removed from the schedule"#
    );
    assert_eq!(
        c.post("/master/machine/up", &json!([machine1()])),
        StatusCode::OK
    );
    assert_eq!(
        c.post(
            "/master/maintenance/schedule",
            &schedule(&[window(&[machine2()], START)])
        ),
        StatusCode::OK
    );
}

variants! {
    fail_to_unschedule_deactivated_machines:
        master_maintenance_test_fail_to_unschedule_deactivated_machines(false);
        master_maintenance_test_fail_to_unschedule_deactivated_machines_across_restart(true);
}

/// MasterMaintenanceTest.PendingUnavailabilityTest and
/// PreV1SchedulerSupport: offers carry no unavailability until the agent's
/// machine is scheduled; then outstanding offers are rescinded and the new
/// ones carry the window, and an inverse offer arrives.
fn pending_unavailability(durable: bool) {
    let mut c = Cluster::new(103, durable, &[]);
    let ag = spawn_agent(&mut c);
    let s = spawn_scheduler(&mut c);
    let first = sched(&c, &s).offers.clone();
    assert_eq!(first.len(), 1);
    assert!(first[0].unavailability.is_none());

    let start = (c.sim.wall_secs() * 1e9) as i64 + 3_600_000_000_000;
    let sch = schedule(&[window(&[agent_machine()], start)]);
    assert_eq!(c.post("/master/maintenance/schedule", &sch), StatusCode::OK);
    c.sim.advance(secs(2));
    let sc = sched(&c, &s);
    assert_eq!(sc.rescinded, vec![first[0].id.value.clone()]);
    let latest = sc.offers.last().unwrap();
    assert_ne!(latest.id, first[0].id);
    let u = latest.unavailability.expect("unavailability in the offer");
    assert_eq!(u.start.nanoseconds, start);
    assert_eq!(u.duration.unwrap().nanoseconds, 3_600_000_000_000);
    assert_eq!(sc.inverse_offers.len(), 1);
    let io = &sc.inverse_offers[0];
    assert_eq!(io.unavailability.start.nanoseconds, start);
    assert_eq!(io.framework_id, sc.framework_id.clone().unwrap());
    assert_eq!(io.slave_id, Some(latest.slave_id.clone()));
    assert!(io.resources.is_empty(), "the whole agent, as upstream");
    assert_eq!(sc.inverse_pids, vec!["slave(1)@10.0.1.1:5051".to_string()]);
    // Inverse offers share the offer ID sequence.
    assert!(io.id.value.starts_with(&format!("{MASTER_ID}-O")));

    // The same schedule again leaves the machine's offers alone (upstream
    // rescinds them anyway; see third_party_docs/maintenance.md).
    assert_eq!(c.post("/master/maintenance/schedule", &sch), StatusCode::OK);
    c.sim.advance(secs(2));
    let sc = sched(&c, &s);
    assert_eq!(sc.rescinded.len(), 1);
    assert!(sc.rescinded_inverse.is_empty());
    assert_eq!(sc.inverse_offers.len(), 1);

    if durable {
        // The new master knows the window before the agent is back and
        // offers its resources with it.
        c.restart();
        c.sim
            .dispatch(&ag, |a: &mut FakeAgent, cx| a.reregister(cx));
        c.sim.settle();
        let s2 = {
            c.sim.crash_actor(&s.upid);
            c.sim.add_node(sched_addr(2));
            c.sim.spawn(
                sched_addr(2),
                "scheduler-2",
                InverseScheduler::new(c.m.upid.clone()),
            )
        };
        c.sim.settle();
        c.sim.advance(secs(2));
        let sc = sched(&c, &s2);
        let o = sc.offers.last().expect("an offer after the restart");
        assert_eq!(o.unavailability.unwrap().start.nanoseconds, start);
        assert_eq!(sc.inverse_offers.len(), 1);
    }
}

variants! {
    pending_unavailability:
        master_maintenance_test_pending_unavailability(false);
        master_maintenance_test_pending_unavailability_across_restart(true);
}

/// MasterMaintenanceTest.EnterMaintenanceMode: bringing the agent's
/// machine down shuts the agent down, removes it (its task is LOST for the
/// framework, which also hears the agent is lost) and it may not come back
/// while the machine is DOWN.
fn enter_maintenance_mode(durable: bool) {
    let mut c = Cluster::new(104, durable, &[]);
    let ag = spawn_agent(&mut c);
    c.sim.add_node(sched_addr(1));
    let s = c.sim.spawn(
        sched_addr(1),
        "scheduler-1",
        FakeScheduler::new(
            c.m.upid.clone(),
            OfferPolicy::LaunchOnce(vec![scalar("cpus", 0.5), scalar("mem", 64.0)]),
        ),
    );
    c.sim.settle();
    c.sim.advance(secs(2));
    let agent_id = fa(&c, &ag).id.clone().unwrap();
    assert_eq!(
        c.sim.actor::<FakeScheduler>(&s.upid).unwrap().states(),
        vec![TaskState::TaskRunning]
    );
    let sch = schedule(&[window(&[agent_machine()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &sch), StatusCode::OK);
    assert_eq!(
        c.post("/master/machine/down", &json!([agent_machine()])),
        StatusCode::OK
    );
    let shutdowns: Vec<_> = fa(&c, &ag)
        .agent_shutdowns
        .iter()
        .map(|m: &ShutdownMessage| m.message.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        shutdowns,
        vec!["Operator initiated 'Machine DOWN'".to_string()]
    );
    let fs = c.sim.actor::<FakeScheduler>(&s.upid).unwrap();
    assert_eq!(
        fs.states(),
        vec![TaskState::TaskRunning, TaskState::TaskLost]
    );
    let lost = &fs.updates.last().unwrap().update.status;
    assert_eq!(
        lost.source,
        Some(mesos_proto::mesos::task_status::Source::Master as i32)
    );
    assert_eq!(fs.lost_slaves, vec![agent_id.clone()]);
    assert!(c.master().state().agents.is_empty());
    let admitted = c
        .master()
        .registrar()
        .registry()
        .slaves
        .as_ref()
        .map(|s| s.slaves.len())
        .unwrap_or(0);
    assert_eq!(admitted, 0, "the agent left the registry");

    c.restart_if_durable();
    c.sim
        .dispatch(&ag, |a: &mut FakeAgent, cx| a.reregister(cx));
    c.sim.settle();
    let a = fa(&c, &ag);
    assert_eq!(a.agent_shutdowns.len(), 2);
    assert_eq!(
        a.agent_shutdowns[1].message.as_deref(),
        Some("Machine is `DOWN`")
    );
    assert_eq!(a.reregistered, 0);
    // A fresh registration from the machine is refused too.
    let fresh = c.sim.spawn(
        agent_addr(1),
        "slave(2)",
        FakeAgent::new(c.m.upid.clone(), vec![]),
    );
    c.sim.settle();
    assert!(fa(&c, &fresh).id.is_none());
    assert_eq!(fa(&c, &fresh).agent_shutdowns.len(), 1);
    assert!(c.master().state().agents.is_empty());

    // Brought up, the machine's agents may register again.
    assert_eq!(
        c.post("/master/machine/up", &json!([agent_machine()])),
        StatusCode::OK
    );
    let back = c.sim.spawn(
        agent_addr(1),
        "slave(3)",
        FakeAgent::new(c.m.upid.clone(), vec![]),
    );
    c.sim.settle();
    assert!(fa(&c, &back).id.is_some());
}

variants! {
    enter_maintenance_mode:
        master_maintenance_test_enter_maintenance_mode(false);
        master_maintenance_test_enter_maintenance_mode_across_restart(true);
}

/// MasterMaintenanceTest.BringDownMachines: only scheduled, DRAINING
/// machines can be brought down; the list must be valid.
fn bring_down_machines(durable: bool) {
    let mut c = Cluster::new(105, durable, &[]);
    let down = "/master/machine/down";
    let (st, body) = c.request(
        Method::POST,
        down,
        &json!([machine1(), machine2()]).to_string(),
    );
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"Machine '{"hostname":"Machine1"}' is not part of a maintenance schedule"#
    );
    assert_eq!(c.post(down, &json!([])), StatusCode::BAD_REQUEST);
    assert_eq!(
        c.post(down, &json!([{"hostname": "x", "ip": "bad"}])),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.post(down, &json!({"not": "a list"})),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.post(
            "/master/maintenance/schedule",
            &schedule(&[window(&[machine1(), machine2()], START)])
        ),
        StatusCode::OK
    );
    assert_eq!(c.post(down, &json!([machine1()])), StatusCode::OK);
    c.restart_if_durable();
    let (st, body) = c.request(Method::POST, down, &json!([machine1()]).to_string());
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"Machine '{"hostname":"Machine1"}' is not in DRAINING mode and cannot be brought down"#
    );
    assert_eq!(
        c.post(down, &json!([machine1(), machine2()])),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(c.post(down, &json!([machine2()])), StatusCode::OK);
    assert_eq!(
        registry_machine_modes(c.master()),
        vec![
            (r#"{"hostname":"Machine1"}"#.into(), "DOWN".into()),
            (r#"{"ip":"0.0.0.2"}"#.into(), "DOWN".into()),
        ]
    );
    let (st, _) = c.request(Method::GET, down, "");
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
}

variants! {
    bring_down_machines:
        master_maintenance_test_bring_down_machines(false);
        master_maintenance_test_bring_down_machines_across_restart(true);
}

/// MasterMaintenanceTest.BringUpMachines: only DOWN machines come up, and
/// they leave the schedule (windows that become empty go too).
fn bring_up_machines(durable: bool) {
    let mut c = Cluster::new(106, durable, &[]);
    let up = "/master/machine/up";
    assert_eq!(
        c.post(up, &json!([machine1(), machine2()])),
        StatusCode::BAD_REQUEST
    );
    let s = schedule(&[
        window(&[machine1(), machine2()], START),
        window(&[machine3()], START),
    ]);
    assert_eq!(c.post("/master/maintenance/schedule", &s), StatusCode::OK);
    let (st, body) = c.request(
        Method::POST,
        up,
        &json!([machine1(), machine2()]).to_string(),
    );
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        r#"Machine '{"hostname":"Machine1"}' is not in DOWN mode and cannot be brought up"#
    );
    assert_eq!(
        c.post("/master/machine/down", &json!([machine3()])),
        StatusCode::OK
    );
    c.restart_if_durable();
    assert_eq!(c.post(up, &json!([machine3()])), StatusCode::OK);
    let got = c.schedule();
    assert_eq!(got["windows"].as_array().unwrap().len(), 1);
    assert_eq!(
        got["windows"][0]["machine_ids"].as_array().unwrap().len(),
        2
    );
    assert_eq!(
        c.post("/master/machine/down", &json!([machine1(), machine2()])),
        StatusCode::OK
    );
    assert_eq!(c.post(up, &json!([machine1(), machine2()])), StatusCode::OK);
    c.restart_if_durable();
    assert_eq!(c.schedule(), json!({}));
    assert!(c.master().registrar().registry().schedules.is_empty());
    assert!(registry_machine_modes(c.master()).is_empty());
}

variants! {
    bring_up_machines:
        master_maintenance_test_bring_up_machines(false);
        master_maintenance_test_bring_up_machines_across_restart(true);
}

/// MasterMaintenanceTest.MachineStatus: DRAINING and DOWN machines, as the
/// operator sees them through /maintenance/status.
fn machine_status(durable: bool) {
    let mut c = Cluster::new(107, durable, &[]);
    assert_eq!(c.status(), json!({}));
    let s = schedule(&[window(&[machine1(), machine2()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &s), StatusCode::OK);
    let st = c.status();
    assert_eq!(st["draining_machines"].as_array().unwrap().len(), 2);
    assert!(st.get("down_machines").is_none());
    assert_eq!(
        c.post("/master/machine/down", &json!([machine1()])),
        StatusCode::OK
    );
    c.restart_if_durable();
    let st = c.status();
    assert_eq!(st["draining_machines"], json!([{"id": machine2()}]));
    assert_eq!(st["down_machines"], json!([machine1()]));
    assert_eq!(
        c.post("/master/machine/up", &json!([machine1()])),
        StatusCode::OK
    );
    let st = c.status();
    assert_eq!(st["draining_machines"][0]["id"]["ip"], "0.0.0.2");
    assert!(st.get("down_machines").is_none());
    // jsonp as upstream's OK(JSON, jsonp).
    let (code, body) = c.request(Method::GET, "/master/maintenance/status?jsonp=cb", "");
    assert_eq!(code, StatusCode::OK);
    assert!(body.starts_with("cb(") && body.ends_with(");"), "{body}");
}

variants! {
    machine_status:
        master_maintenance_test_machine_status(false);
        master_maintenance_test_machine_status_across_restart(true);
}

/// MasterMaintenanceTest.InverseOffers: a framework using the agent gets an
/// inverse offer; DECLINE (refuse 0) is recorded in the status and a new
/// inverse offer follows next cycle; ACCEPT replaces it. A restart forgets
/// the answers (upstream notes so in /maintenance/status help).
fn inverse_offers(durable: bool) {
    let mut c = Cluster::new(108, durable, &[]);
    let _ag = spawn_agent(&mut c);
    let s = spawn_scheduler(&mut c);
    let sch = schedule(&[window(&[agent_machine()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &sch), StatusCode::OK);
    c.sim.advance(secs(1));
    let st = c.status();
    assert_eq!(st["draining_machines"][0]["id"], agent_machine());
    assert!(st["draining_machines"][0].get("statuses").is_none());
    assert_eq!(sched(&c, &s).inverse_offers.len(), 1);
    let fid = sched(&c, &s).framework_id.clone().unwrap().value;

    // GET_FRAMEWORKS lists the outstanding inverse offer.
    let (code, v) = c.operator(&json!({"type": "GET_FRAMEWORKS"}), false);
    assert_eq!(code, StatusCode::OK);
    let listed = &v["get_frameworks"]["frameworks"][0]["inverse_offers"];
    assert_eq!(listed.as_array().map(|a| a.len()), Some(1), "{v}");

    c.sim.dispatch(&s, |x: &mut InverseScheduler, cx| {
        x.answer_latest(cx, false, 0.0)
    });
    c.sim.settle();
    let st = c.status();
    let statuses = &st["draining_machines"][0]["statuses"];
    assert_eq!(statuses.as_array().unwrap().len(), 1);
    assert_eq!(statuses[0]["status"], "DECLINE");
    assert_eq!(statuses[0]["framework_id"]["value"], fid.as_str());
    assert!(statuses[0]["timestamp"]["nanoseconds"].as_i64().unwrap() > 0);
    c.sim.advance(secs(1));
    assert_eq!(sched(&c, &s).inverse_offers.len(), 2, "offered again");

    c.sim.dispatch(&s, |x: &mut InverseScheduler, cx| {
        x.answer_latest(cx, true, 0.0)
    });
    c.sim.settle();
    // Also through the v1 call, JSON and protobuf.
    for protobuf in [false, true] {
        let (code, v) = c.operator(&json!({"type": "GET_MAINTENANCE_STATUS"}), protobuf);
        assert_eq!(code, StatusCode::OK);
        assert_eq!(v["type"], "GET_MAINTENANCE_STATUS");
        let s0 = &v["get_maintenance_status"]["status"]["draining_machines"][0]["statuses"][0];
        assert_eq!(s0["status"], "ACCEPT", "{v}");
    }

    if durable {
        c.restart();
        let st = c.status();
        assert_eq!(st["draining_machines"], json!([{"id": agent_machine()}]));
    }
}

variants! {
    inverse_offers:
        master_maintenance_test_inverse_offers(false);
        master_maintenance_test_inverse_offers_across_restart(true);
}

/// MasterMaintenanceTest.InverseOffersFilters: a declined inverse offer
/// with refuse_seconds is not made again before the filter expires; a new
/// schedule clears the filter (upstream `updateUnavailability`).
#[test]
fn master_maintenance_test_inverse_offers_filters() {
    let mut c = Cluster::new(109, false, &[]);
    let _ag = spawn_agent(&mut c);
    let s = spawn_scheduler(&mut c);
    let sch = schedule(&[window(&[agent_machine()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &sch), StatusCode::OK);
    c.sim.advance(secs(1));
    assert_eq!(sched(&c, &s).inverse_offers.len(), 1);
    c.sim.dispatch(&s, |x: &mut InverseScheduler, cx| {
        x.answer_latest(cx, false, 10.0)
    });
    c.sim.settle();
    c.sim.advance(secs(8));
    assert_eq!(sched(&c, &s).inverse_offers.len(), 1, "filtered");
    c.sim.advance(secs(4));
    assert_eq!(sched(&c, &s).inverse_offers.len(), 2, "filter expired");
    c.sim.dispatch(&s, |x: &mut InverseScheduler, cx| {
        x.answer_latest(cx, true, 1000.0)
    });
    c.sim.settle();
    c.sim.advance(secs(5));
    assert_eq!(sched(&c, &s).inverse_offers.len(), 2, "filtered");
    // A new window for the machine drops the filters and rescinds offers.
    let sch2 = schedule(&[window(&[agent_machine()], START + 1)]);
    assert_eq!(
        c.post("/master/maintenance/schedule", &sch2),
        StatusCode::OK
    );
    c.sim.advance(secs(1));
    let sc = sched(&c, &s);
    assert_eq!(sc.inverse_offers.len(), 3);
    assert_eq!(
        sc.inverse_offers[2].unavailability.start.nanoseconds,
        START + 1
    );
}

/// MasterMaintenanceTest.AcceptInvalidInverseOffer: answering an unknown
/// inverse offer changes nothing; unscheduling the machine rescinds the
/// outstanding inverse offer.
#[test]
fn master_maintenance_test_accept_invalid_inverse_offer() {
    let mut c = Cluster::new(110, false, &[]);
    let _ag = spawn_agent(&mut c);
    let s = spawn_scheduler(&mut c);
    let sch = schedule(&[window(&[agent_machine()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &sch), StatusCode::OK);
    c.sim.advance(secs(1));
    c.sim.dispatch(&s, |x: &mut InverseScheduler, cx| {
        x.answer(
            cx,
            mesos_proto::mesos::OfferId {
                value: "no-such-offer".into(),
            },
            true,
            0.0,
        )
    });
    c.sim.settle();
    let st = c.status();
    assert!(st["draining_machines"][0].get("statuses").is_none());
    let outstanding = sched(&c, &s).inverse_offers[0].id.value.clone();
    assert_eq!(
        c.post("/master/maintenance/schedule", &schedule(&[])),
        StatusCode::OK
    );
    c.sim.advance(secs(1));
    let sc = sched(&c, &s);
    assert_eq!(sc.rescinded_inverse, vec![outstanding]);
    assert_eq!(sc.inverse_offers.len(), 1, "no more inverse offers");
    assert!(sc.offers.last().unwrap().unavailability.is_none());
}

/// The v1 operator calls (UPDATE/GET_MAINTENANCE_SCHEDULE, START/
/// STOP_MAINTENANCE, GET_MAINTENANCE_STATUS), JSON and protobuf, as
/// upstream's `MasterAPITest.UpdateMaintenanceSchedule` & co.
fn v1_calls(protobuf: bool) {
    let mut c = Cluster::new(111, true, &[]);
    let sch = schedule(&[window(&[machine1(), machine3()], START)]);
    let (code, _) = c.operator(
        &json!({"type": "UPDATE_MAINTENANCE_SCHEDULE",
                "update_maintenance_schedule": {"schedule": sch}}),
        protobuf,
    );
    assert_eq!(code, StatusCode::OK);
    let (code, v) = c.operator(&json!({"type": "GET_MAINTENANCE_SCHEDULE"}), protobuf);
    assert_eq!(code, StatusCode::OK);
    assert_eq!(v["get_maintenance_schedule"]["schedule"], sch);
    let (code, body) = c.operator(&json!({"type": "START_MAINTENANCE"}), protobuf);
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        "Failed to validate master::Call: Expecting 'start_maintenance' to be present"
    );
    let (code, _) = c.operator(
        &json!({"type": "START_MAINTENANCE", "start_maintenance": {"machines": [machine3()]}}),
        protobuf,
    );
    assert_eq!(code, StatusCode::OK);
    c.restart();
    let (_, v) = c.operator(&json!({"type": "GET_MAINTENANCE_STATUS"}), protobuf);
    let status = &v["get_maintenance_status"]["status"];
    assert_eq!(status["down_machines"], json!([machine3()]), "{v}");
    assert_eq!(status["draining_machines"], json!([{"id": machine1()}]));
    let (code, _) = c.operator(
        &json!({"type": "STOP_MAINTENANCE", "stop_maintenance": {"machines": [machine1()]}}),
        protobuf,
    );
    assert_eq!(code, StatusCode::BAD_REQUEST, "machine1 is not DOWN");
    let (code, _) = c.operator(
        &json!({"type": "STOP_MAINTENANCE", "stop_maintenance": {"machines": [machine3()]}}),
        protobuf,
    );
    assert_eq!(code, StatusCode::OK);
    let (_, v) = c.operator(&json!({"type": "GET_MAINTENANCE_SCHEDULE"}), protobuf);
    assert_eq!(
        v["get_maintenance_schedule"]["schedule"],
        schedule(&[window(&[machine1()], START)])
    );
}

variants! {
    v1_calls:
        master_api_test_maintenance_calls_json(false);
        master_api_test_maintenance_calls_protobuf(true);
}

/// With `--registry=in_memory` a restarted master has no schedule, as
/// upstream (the registry lives in the old process).
#[test]
fn master_maintenance_in_memory_registry_forgets_on_restart() {
    let mut c = Cluster::new(112, false, &[]);
    let s = schedule(&[window(&[machine1()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &s), StatusCode::OK);
    c.restart();
    assert_eq!(c.schedule(), json!({}));
    assert_eq!(c.status(), json!({}));
}

/// A registered agent reregistering from another address is shut down
/// (upstream `Master::_reregisterSlave`: maintenance is per machine).
#[test]
fn master_maintenance_agent_may_not_change_machine_while_registered() {
    let mut c = Cluster::new(113, false, &[]);
    let ag = spawn_agent(&mut c);
    let id = fa(&c, &ag).id.clone().unwrap();
    c.sim.add_node(agent_addr(2));
    let mv = c.sim.spawn(
        agent_addr(2),
        "slave(1)",
        FakeAgent::new(c.m.upid.clone(), vec![]),
    );
    c.sim.settle();
    // Its initialize() registered afresh; a reregistration with the old ID
    // from the new machine is refused.
    let before = fa(&c, &mv).agent_shutdowns.len();
    let old_id = id.clone();
    c.sim.dispatch(&mv, move |a: &mut FakeAgent, cx| {
        a.id = Some(old_id);
        a.reregister(cx);
    });
    c.sim.settle();
    let a = fa(&c, &mv);
    assert_eq!(a.agent_shutdowns.len(), before + 1);
    assert_eq!(
        a.agent_shutdowns.last().unwrap().message.as_deref(),
        Some("Agent attempted to reregister with different IP / hostname")
    );
    assert_eq!(a.reregistered, 0);
    let agent = &c.master().state().agents[&id];
    assert_eq!(agent.pid.ip().to_string(), "10.0.1.1", "unchanged");
}

/// `--offer_timeout` also rescinds unanswered inverse offers (upstream
/// `Master::inverseOfferTimeout`); the allocator then makes a new one.
#[test]
fn master_maintenance_inverse_offer_timeout() {
    let mut c = Cluster::new(114, false, &["--offer_timeout=5secs"]);
    let _ag = spawn_agent(&mut c);
    let s = spawn_scheduler(&mut c);
    let sch = schedule(&[window(&[agent_machine()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &sch), StatusCode::OK);
    c.sim.advance(secs(1));
    let first = sched(&c, &s).inverse_offers[0].id.value.clone();
    c.sim.advance(secs(3));
    assert!(sched(&c, &s).rescinded_inverse.is_empty());
    c.sim.advance(secs(3));
    let sc = sched(&c, &s);
    assert!(sc.rescinded_inverse.contains(&first), "timed out");
    assert!(sc.inverse_offers.len() >= 2, "offered again");
    // No answer was recorded.
    assert!(c.status()["draining_machines"][0].get("statuses").is_none());
}

/// A framework that fails over (resubscribes) never saw its outstanding
/// inverse offer on the new connection: it is rescinded and a new one made
/// (upstream `Master::failoverFramework` / `_reregisterFramework`).
#[test]
fn master_maintenance_inverse_offers_after_framework_failover() {
    let mut c = Cluster::new(115, false, &[]);
    let _ag = spawn_agent(&mut c);
    let s = spawn_scheduler(&mut c);
    let sch = schedule(&[window(&[agent_machine()], START)]);
    assert_eq!(c.post("/master/maintenance/schedule", &sch), StatusCode::OK);
    c.sim.advance(secs(1));
    let first = sched(&c, &s).inverse_offers[0].id.value.clone();
    c.sim
        .dispatch(&s, |x: &mut InverseScheduler, cx| x.subscribe(cx));
    c.sim.settle();
    c.sim.advance(secs(2));
    let sc = sched(&c, &s);
    assert_eq!(sc.rescinded_inverse, vec![first.clone()]);
    let latest = sc.inverse_offers.last().unwrap().id.value.clone();
    assert_ne!(latest, first);
    // The new one can be answered.
    c.sim.dispatch(&s, |x: &mut InverseScheduler, cx| {
        x.answer_latest(cx, true, 0.0)
    });
    c.sim.settle();
    let st = c.status();
    assert_eq!(
        st["draining_machines"][0]["statuses"][0]["status"],
        "ACCEPT"
    );
}
