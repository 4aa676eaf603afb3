//! Agent draining and deactivation on the simulator (upstream
//! src/tests/master_draining_tests.cpp: MasterAlreadyDrainedTest.*,
//! MasterDrainingTest.*, and the DEACTIVATE/REACTIVATE_AGENT calls).
//! JSON and protobuf request variants as upstream's `ContentType` params.

#![allow(deprecated)]

mod support;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::runtime::sim::Sim;
use libprocess::{Pid, Request};
use mesos_master::Master;
use mesos_proto::mesos::slave_info::capability::Type as AgentCap;
use mesos_proto::mesos::{DrainState, TaskState};
use prost::Message;
use support::*;

fn draining_agent(sim: &mut Sim, m: &Pid<Master>, script: Vec<TaskState>) -> Pid<FakeAgent> {
    sim.add_node(agent_addr(1));
    let mut fa = FakeAgent::new(m.upid.clone(), script);
    fa.capabilities = vec![AgentCap::AgentDraining as i32];
    sim.spawn(agent_addr(1), "slave(1)", fa)
}

fn fa<'s>(sim: &'s Sim, p: &Pid<FakeAgent>) -> &'s FakeAgent {
    sim.actor::<FakeAgent>(&p.upid).expect("agent alive")
}

/// Posts a v1 operator call given as JSON, as JSON or re-encoded as
/// protobuf; returns status and body.
fn call(sim: &mut Sim, json: &str, protobuf: bool) -> (StatusCode, Bytes) {
    let mut r = Request::new(Method::POST, "/api/v1");
    if protobuf {
        let c: mesos_proto::mesos::v1::master::Call =
            mesos_proto::json::from_json(json).expect("valid call json");
        r.headers
            .insert("content-type", "application/x-protobuf".parse().unwrap());
        r.body = Bytes::from(c.encode_to_vec());
    } else {
        r.headers
            .insert("content-type", "application/json".parse().unwrap());
        r.body = Bytes::from(json.to_string());
    }
    r.headers
        .insert("accept", "application/json".parse().unwrap());
    let h = sim.http(master_addr(), r);
    sim.settle();
    let resp = h.response().expect("answered");
    (resp.status, resp.body)
}

fn drain_json(id: &str, mark_gone: bool) -> String {
    format!(
        r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{id}"}},"max_grace_period":{{"seconds":5}},"mark_gone":{mark_gone}}}}}"#
    )
}

fn agent_call(ty: &str, field: &str, id: &str) -> String {
    format!(r#"{{"type":"{ty}","{field}":{{"agent_id":{{"value":"{id}"}}}}}}"#)
}

fn get_agents(sim: &mut Sim) -> serde_json::Value {
    let (st, body) = call(sim, r#"{"type":"GET_AGENTS"}"#, false);
    assert_eq!(st, StatusCode::OK);
    serde_json::from_slice(&body).unwrap()
}

fn slaves_endpoint(sim: &mut Sim) -> serde_json::Value {
    let h = sim.http(master_addr(), Request::new(Method::GET, "/master/slaves"));
    sim.settle();
    serde_json::from_slice(&h.response().unwrap().body).unwrap()
}

fn min_caps(sim: &Sim, m: &Pid<Master>) -> Vec<String> {
    master_of(sim, m)
        .registrar()
        .registry()
        .minimum_capabilities
        .iter()
        .map(|c| c.capability.clone())
        .collect()
}

/// MasterAlreadyDrainedTest.DrainAgent: an idle agent goes straight to
/// DRAINED; it got DrainSlaveMessage with the config; GET_AGENTS and
/// /master/slaves show drain_info and deactivated; REACTIVATE_AGENT clears
/// it all (and the AGENT_DRAINING minimum capability).
fn already_drained(protobuf: bool) {
    let (mut sim, m) = sim_with_master(60, &[]);
    let ag = draining_agent(&mut sim, &m, vec![]);
    sim.settle();
    let id = fa(&sim, &ag).id.clone().unwrap();

    let (st, body) = call(&mut sim, &drain_json(&id, false), protobuf);
    assert_eq!(st, StatusCode::OK, "{body:?}");
    let drains = &fa(&sim, &ag).drains;
    assert_eq!(drains.len(), 1);
    // The v1 `google.protobuf.Duration` {seconds: 5} becomes the v0
    // `DurationInfo` in nanoseconds (upstream `devolve`; checked against the
    // real 1.9 master).
    assert_eq!(
        drains[0]
            .config
            .max_grace_period
            .as_ref()
            .unwrap()
            .nanoseconds,
        5_000_000_000
    );
    let state = master_of(&sim, &m).state();
    assert_eq!(state.draining[&id].state, DrainState::Drained as i32);
    assert!(state.deactivated.contains(&id));
    assert!(!state.agents[&id].active);
    assert_eq!(min_caps(&sim, &m), vec!["AGENT_DRAINING".to_string()]);
    let reg = master_of(&sim, &m).registrar().registry().clone();
    let s = &reg.slaves.as_ref().unwrap().slaves[0];
    assert_eq!(s.deactivated, Some(true));
    assert_eq!(
        s.drain_info.as_ref().unwrap().state,
        DrainState::Drained as i32
    );

    let v = get_agents(&mut sim);
    let a = &v["get_agents"]["agents"][0];
    assert_eq!(a["deactivated"], true, "{v}");
    assert_eq!(a["active"], false);
    assert_eq!(a["drain_info"]["state"], "DRAINED");
    assert_eq!(a["drain_info"]["config"]["mark_gone"], false);
    let v = slaves_endpoint(&mut sim);
    assert_eq!(v["slaves"][0]["deactivated"], true);
    assert_eq!(v["slaves"][0]["drain_info"]["state"], "DRAINED");

    let (st, _) = call(
        &mut sim,
        &agent_call("REACTIVATE_AGENT", "reactivate_agent", &id),
        protobuf,
    );
    assert_eq!(st, StatusCode::OK);
    let state = master_of(&sim, &m).state();
    assert!(state.draining.is_empty() && state.deactivated.is_empty());
    assert!(state.agents[&id].active);
    assert!(min_caps(&sim, &m).is_empty());
    let v = slaves_endpoint(&mut sim);
    assert_eq!(v["slaves"][0]["deactivated"], false);
    assert!(v["slaves"][0].get("drain_info").is_none());
}

#[test]
fn master_already_drained_test_drain_agent_json() {
    already_drained(false);
}

#[test]
fn master_already_drained_test_drain_agent_protobuf() {
    already_drained(true);
}

/// MasterAlreadyDrainedTest.DrainAgentMarkGone: the drained agent is marked
/// gone: shut down, removed, in the registry's gone list, and refused when
/// it tries to reregister.
#[test]
fn master_already_drained_test_drain_agent_mark_gone() {
    let (mut sim, m) = sim_with_master(61, &[]);
    let ag = draining_agent(&mut sim, &m, vec![]);
    sim.settle();
    let id = fa(&sim, &ag).id.clone().unwrap();
    let (st, _) = call(&mut sim, &drain_json(&id, true), false);
    assert_eq!(st, StatusCode::OK);
    assert_eq!(fa(&sim, &ag).agent_shutdowns.len(), 1);
    let state = master_of(&sim, &m).state();
    assert!(state.agents.is_empty());
    assert!(state.gone.contains_key(&id));
    let reg = master_of(&sim, &m).registrar().registry();
    assert_eq!(reg.gone.as_ref().unwrap().slaves[0].id.value, id);
    assert!(reg.slaves.as_ref().unwrap().slaves.is_empty());

    sim.dispatch(&ag, |a: &mut FakeAgent, cx| a.reregister(cx));
    sim.settle();
    assert_eq!(fa(&sim, &ag).agent_shutdowns.len(), 2);
    assert_eq!(fa(&sim, &ag).reregistered, 0);
    assert!(master_of(&sim, &m).state().agents.is_empty());
}

/// MasterDrainingTest.DrainAgent: with a running task the agent stays
/// DRAINING, its offers are rescinded and no new ones are made; once the
/// (agent-killed) task's terminal update is acknowledged it is DRAINED.
#[test]
fn master_draining_test_drain_agent() {
    let (mut sim, m) = sim_with_master(62, &[]);
    let ag = draining_agent(&mut sim, &m, vec![TaskState::TaskRunning]);
    sim.add_node(sched_addr(1));
    let s = sim.spawn(
        sched_addr(1),
        "scheduler-1",
        FakeScheduler::new(
            m.upid.clone(),
            OfferPolicy::LaunchOnce(vec![scalar("cpus", 0.5), scalar("mem", 64.0)]),
        ),
    );
    sim.settle();
    sim.advance(secs(2));
    let id = fa(&sim, &ag).id.clone().unwrap();
    assert_eq!(fa(&sim, &ag).run_tasks.len(), 1);
    // The rest of the agent keeps being offered (and declined).
    let offers = |sim: &Sim| sim.actor::<FakeScheduler>(&s.upid).unwrap().offers.len();
    let before = offers(&sim);
    sim.advance(secs(12));
    assert!(offers(&sim) > before, "offers before draining");
    let outstanding = master_of(&sim, &m).state().offers.len();

    let (st, _) = call(&mut sim, &drain_json(&id, false), false);
    assert_eq!(st, StatusCode::OK);
    let state = master_of(&sim, &m).state();
    assert_eq!(state.draining[&id].state, DrainState::Draining as i32);
    assert!(state.offers.is_empty(), "offers rescinded");
    let rescinded = sim.actor::<FakeScheduler>(&s.upid).unwrap().rescinded.len();
    assert_eq!(rescinded, outstanding);
    let offers_before = offers(&sim);
    sim.advance(secs(12));
    assert_eq!(
        offers(&sim),
        offers_before,
        "no offers for a draining agent"
    );

    // The agent kills the task (REASON_SLAVE_DRAINING upstream); the
    // scheduler acknowledges the terminal update.
    sim.dispatch(&ag, |a: &mut FakeAgent, cx| {
        let run = a.run_tasks[0].clone();
        let task_id = run.task.task_id.clone();
        let fid = run.framework.id.clone().unwrap_or_default();
        let u = a.update(cx, &fid, &task_id, TaskState::TaskKilled);
        let master = a.master.clone();
        cx.send(&master, &u);
    });
    sim.settle();
    let state = master_of(&sim, &m).state();
    assert_eq!(
        fa(&sim, &ag).acks.len(),
        2,
        "RUNNING and KILLED acknowledged"
    );
    assert_eq!(state.draining[&id].state, DrainState::Drained as i32);
    let reg = master_of(&sim, &m).registrar().registry();
    assert_eq!(
        reg.slaves.as_ref().unwrap().slaves[0]
            .drain_info
            .as_ref()
            .unwrap()
            .state,
        DrainState::Drained as i32
    );
}

/// MasterDrainingTest.DrainAgentDisconnected: the agent reregistering
/// while DRAINING gets DrainSlaveMessage before SlaveReregisteredMessage and
/// stays deactivated.
#[test]
fn master_draining_test_drain_agent_disconnected() {
    let (mut sim, m) = sim_with_master(63, &[]);
    let ag = draining_agent(&mut sim, &m, vec![]);
    sim.settle();
    let id = fa(&sim, &ag).id.clone().unwrap();
    sim.partition(master_addr(), agent_addr(1));
    sim.settle();
    assert!(!master_of(&sim, &m).state().agents[&id].connected);
    let (st, _) = call(&mut sim, &drain_json(&id, false), false);
    assert_eq!(st, StatusCode::OK);
    sim.heal(master_addr(), agent_addr(1));
    sim.dispatch(&ag, |a: &mut FakeAgent, cx| {
        a.order.clear();
        a.reregister(cx)
    });
    sim.settle();
    assert_eq!(fa(&sim, &ag).order, vec!["drain", "reregistered"]);
    let state = master_of(&sim, &m).state();
    let agent = &state.agents[&id];
    assert!(agent.connected && !agent.active);
    assert_eq!(state.draining[&id].state, DrainState::Drained as i32);
}

/// Validation as upstream `Master::Http::drainAgent` & co.
fn validation(protobuf: bool) {
    let (mut sim, m) = sim_with_master(64, &[]);
    // An agent without AGENT_DRAINING.
    let plain = {
        sim.add_node(agent_addr(2));
        sim.spawn(
            agent_addr(2),
            "slave(1)",
            FakeAgent::new(m.upid.clone(), vec![]),
        )
    };
    sim.settle();
    let plain_id = fa(&sim, &plain).id.clone().unwrap();

    let (st, body) = call(&mut sim, &drain_json("nope-S9", false), protobuf);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(&body[..], b"Unknown agent");
    let (st, body) = call(&mut sim, &drain_json(&plain_id, false), protobuf);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        String::from_utf8_lossy(&body),
        format!("Agent {plain_id} is not capable of draining")
    );
    let (st, body) = call(&mut sim, r#"{"type":"DRAIN_AGENT"}"#, protobuf);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        String::from_utf8_lossy(&body),
        "Failed to validate master::Call: Expecting 'drain_agent' to be present"
    );
    let (st, body) = call(
        &mut sim,
        &agent_call("DEACTIVATE_AGENT", "deactivate_agent", "nope-S9"),
        protobuf,
    );
    assert_eq!(
        (st, &body[..]),
        (StatusCode::BAD_REQUEST, &b"Unknown agent"[..])
    );
    let (st, body) = call(
        &mut sim,
        &agent_call("REACTIVATE_AGENT", "reactivate_agent", &plain_id),
        protobuf,
    );
    assert_eq!(
        (st, &body[..]),
        (StatusCode::BAD_REQUEST, &b"Agent is not deactivated"[..])
    );
    // Nothing changed.
    assert!(master_of(&sim, &m).state().draining.is_empty());
    assert!(min_caps(&sim, &m).is_empty());
}

#[test]
fn master_draining_validation_json() {
    validation(false);
}

#[test]
fn master_draining_validation_protobuf() {
    validation(true);
}

/// DEACTIVATE_AGENT: offers rescinded, none made until REACTIVATE_AGENT;
/// deactivation (not draining) needs no agent capability.
#[test]
fn master_deactivate_and_reactivate_agent() {
    let (mut sim, m) = sim_with_master(65, &[]);
    sim.add_node(agent_addr(1));
    let ag = sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), vec![]),
    );
    sim.add_node(sched_addr(1));
    let s = sim.spawn(
        sched_addr(1),
        "scheduler-1",
        FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold),
    );
    sim.settle();
    sim.advance(secs(2));
    let id = fa(&sim, &ag).id.clone().unwrap();
    assert_eq!(sim.actor::<FakeScheduler>(&s.upid).unwrap().offers.len(), 1);

    let (st, _) = call(
        &mut sim,
        &agent_call("DEACTIVATE_AGENT", "deactivate_agent", &id),
        false,
    );
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        sim.actor::<FakeScheduler>(&s.upid).unwrap().rescinded.len(),
        1
    );
    sim.advance(secs(5));
    assert_eq!(sim.actor::<FakeScheduler>(&s.upid).unwrap().offers.len(), 1);
    assert!(fa(&sim, &ag).drains.is_empty());
    assert_eq!(min_caps(&sim, &m), vec!["AGENT_DRAINING".to_string()]);
    let v = get_agents(&mut sim);
    assert_eq!(v["get_agents"]["agents"][0]["deactivated"], true);
    assert!(v["get_agents"]["agents"][0].get("drain_info").is_none());

    let (st, _) = call(
        &mut sim,
        &agent_call("REACTIVATE_AGENT", "reactivate_agent", &id),
        false,
    );
    assert_eq!(st, StatusCode::OK);
    sim.advance(secs(2));
    assert_eq!(sim.actor::<FakeScheduler>(&s.upid).unwrap().offers.len(), 2);
}
