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
use mesos_proto::mesos::task_status::Reason;
use mesos_proto::mesos::{framework_info, DrainInfo, DrainState, TaskState};
use serde_json::{json, Value};
use support::durable::{v1_call, Cluster};
use support::*;

fn fa<'s>(sim: &'s Sim, p: &Pid<FakeAgent>) -> &'s FakeAgent {
    sim.actor::<FakeAgent>(&p.upid).expect("agent alive")
}

fn drain_json(id: &str, mark_gone: bool) -> String {
    format!(
        r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{id}"}},"max_grace_period":{{"seconds":5}},"mark_gone":{mark_gone}}}}}"#
    )
}

fn agent_call(ty: &str, field: &str, id: &str) -> String {
    format!(r#"{{"type":"{ty}","{field}":{{"agent_id":{{"value":"{id}"}}}}}}"#)
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

// ------------------------------------------------- upstream fixtures
//
// Upstream's `MasterAlreadyDrainedTest` starts a master and one idle agent;
// `MasterDrainingTest` adds a partition-aware framework with one running
// task. Every test runs with JSON and protobuf requests (upstream's
// `ContentType` parameter) and, as `*_across_restart`, on the replicated-log
// registry with the master crashed and restarted in the middle: the drain
// config, its DRAINING/DRAINED state and the deactivation are in the
// registry (upstream `Registry.Slave.drain_info` / `deactivated`) and must
// survive, while `estimated_drain_start_time` is in-memory only upstream
// (src/master/master.hpp `Slave::estimatedDrainStartTime`).

struct Fx {
    c: Cluster,
    ag: Pid<FakeAgent>,
    id: String,
    s: Option<Pid<FakeScheduler>>,
}

impl Fx {
    /// `MasterAlreadyDrainedTest::SetUp`.
    fn already(seed: u64, durable: bool) -> Fx {
        Fx::start(seed, durable, false)
    }

    /// `MasterDrainingTest::SetUp`: the task is RUNNING and acknowledged.
    fn draining(seed: u64, durable: bool) -> Fx {
        Fx::start(seed, durable, true)
    }

    fn start(seed: u64, durable: bool, with_task: bool) -> Fx {
        let mut c = Cluster::new(seed, durable, &[]);
        c.sim.add_node(agent_addr(1));
        let script = if with_task {
            vec![TaskState::TaskRunning]
        } else {
            vec![]
        };
        let mut agent = FakeAgent::new(c.m.upid.clone(), script);
        agent.capabilities = vec![AgentCap::AgentDraining as i32];
        let ag = c.sim.spawn(agent_addr(1), "slave(1)", agent);
        c.sim.settle();
        let id = c
            .sim
            .actor::<FakeAgent>(&ag.upid)
            .unwrap()
            .id
            .clone()
            .unwrap();
        let mut fx = Fx { c, ag, id, s: None };
        if with_task {
            c_add_scheduler(&mut fx);
            fx.c.sim.advance(secs(2));
            assert_eq!(fx.agent().run_tasks.len(), 1);
            assert_eq!(fx.sched().states(), vec![TaskState::TaskRunning]);
            assert_eq!(fx.agent().acks.len(), 1, "RUNNING acknowledged");
        }
        fx
    }

    fn agent(&self) -> &FakeAgent {
        self.c
            .sim
            .actor::<FakeAgent>(&self.ag.upid)
            .expect("agent alive")
    }

    fn sched(&self) -> &FakeScheduler {
        let s = self.s.as_ref().expect("a scheduler");
        self.c
            .sim
            .actor::<FakeScheduler>(&s.upid)
            .expect("scheduler alive")
    }

    fn drain(&mut self, mark_gone: bool, grace_secs: Option<i64>, protobuf: bool) -> StatusCode {
        let mut d = json!({"agent_id": {"value": self.id}});
        if mark_gone {
            d["mark_gone"] = json!(true);
        }
        if let Some(g) = grace_secs {
            d["max_grace_period"] = json!({ "seconds": g });
        }
        let call = json!({"type": "DRAIN_AGENT", "drain_agent": d});
        let (st, body) = self.c.operator(&call, protobuf);
        assert_eq!(st, StatusCode::OK, "{body}");
        st
    }

    fn reactivate(&mut self, protobuf: bool) {
        let call = json!({"type": "REACTIVATE_AGENT",
                          "reactivate_agent": {"agent_id": {"value": self.id}}});
        let (st, body) = self.c.operator(&call, protobuf);
        assert_eq!(st, StatusCode::OK, "{body}");
    }

    /// The only agent of GET_AGENTS.
    fn get_agent(&mut self, protobuf: bool) -> Value {
        let (st, v) = self.c.operator(&json!({"type": "GET_AGENTS"}), protobuf);
        assert_eq!(st, StatusCode::OK, "{v}");
        assert_eq!(v["type"], "GET_AGENTS");
        let agents = v["get_agents"]["agents"]
            .as_array()
            .expect("agents")
            .clone();
        assert_eq!(agents.len(), 1, "{v}");
        agents[0].clone()
    }

    fn drain_state(&self) -> Option<i32> {
        self.c
            .master()
            .state()
            .draining
            .get(&self.id)
            .map(|d| d.state)
    }

    /// The drain info the registry holds for the agent (admitted or
    /// unreachable).
    fn registry_drain(&self) -> Option<DrainInfo> {
        let reg = self.c.master().registrar().registry();
        let admitted = reg.slaves.as_ref().into_iter().flat_map(|s| &s.slaves);
        for s in admitted {
            if s.info.id.as_ref().map(|i| i.value.as_str()) == Some(self.id.as_str()) {
                return s.drain_info;
            }
        }
        let unreachable = reg.unreachable.as_ref().into_iter().flat_map(|s| &s.slaves);
        for u in unreachable {
            if u.id.value == self.id {
                return u.drain_info;
            }
        }
        None
    }

    /// The agent comes back: reregisters with its tasks (RUNNING), as a
    /// restarted agent recovering its executors does.
    fn agent_returns(&mut self) {
        self.c.sim.dispatch(&self.ag, |a: &mut FakeAgent, cx| {
            a.order.clear();
            a.reregister_with_tasks(cx, TaskState::TaskRunning)
        });
        self.c.sim.settle();
    }

    /// After a master restart the framework resubscribes with its ID.
    fn scheduler_resubscribes(&mut self) {
        if let Some(s) = self.s.clone() {
            self.c
                .sim
                .dispatch(&s, |f: &mut FakeScheduler, cx| f.subscribe(cx));
            self.c.sim.settle();
            assert!(self.sched().reregistered >= 1, "framework reregistered");
        }
    }

    /// The agent reacts to DrainSlaveMessage as upstream's `Slave::drain`:
    /// every task is killed, reported with REASON_SLAVE_DRAINING
    /// (TASK_GONE_BY_OPERATOR when the drain marks the agent gone).
    fn agent_kills_tasks(&mut self, state: TaskState) {
        self.c.sim.dispatch(&self.ag, move |a: &mut FakeAgent, cx| {
            for run in a.run_tasks.clone() {
                let fid = run.framework.id.clone().unwrap_or_default();
                let mut u = a.update(cx, &fid, &run.task.task_id, state);
                u.update.status.reason = Some(Reason::SlaveDraining as i32);
                let master = a.master.clone();
                cx.send(&master, &u);
            }
        });
        self.c.sim.settle();
    }

    /// Upstream's closing check: after REACTIVATE_AGENT and an allocation
    /// interval the framework is offered the agent again.
    fn reactivated_agent_is_offered(&mut self, protobuf: bool) {
        let before = self.sched().offers.len();
        self.reactivate(protobuf);
        self.c.sim.advance(secs(6));
        let sc = self.sched();
        assert!(sc.offers.len() > before, "an offer after reactivation");
        assert_eq!(sc.offers.last().unwrap().slave_id.value, self.id);
        assert!(self.c.master().state().draining.is_empty());
        assert!(self.c.master().state().deactivated.is_empty());
    }
}

fn c_add_scheduler(fx: &mut Fx) {
    fx.c.sim.add_node(sched_addr(1));
    let mut fs = FakeScheduler::new(
        fx.c.m.upid.clone(),
        OfferPolicy::LaunchOnce(vec![scalar("cpus", 0.1), scalar("mem", 64.0)]),
    );
    fs.info.checkpoint = Some(true);
    fs.info.capabilities = vec![framework_info::Capability {
        r#type: Some(framework_info::capability::Type::PartitionAware as i32),
    }];
    fx.s = Some(fx.c.sim.spawn(sched_addr(1), "scheduler-1", fs));
    fx.c.sim.settle();
}

fn expected_drain_info(state: &str, grace_ns: Option<i64>, mark_gone: bool) -> Value {
    let mut config = json!({ "mark_gone": mark_gone });
    if let Some(ns) = grace_ns {
        config["max_grace_period"] = json!({ "nanoseconds": ns });
    }
    json!({"state": state, "config": config})
}

/// MasterAlreadyDrainedTest.DrainAgent: an idle agent goes straight to
/// DRAINED (persisted); GET_AGENTS and /master/slaves show `drain_info`,
/// `deactivated` and the estimated drain start; the agent got
/// DrainSlaveMessage with the grace period in nanoseconds. Across a
/// restart the DRAINED agent reregisters, is told to drain again before
/// SlaveReregisteredMessage, and stays deactivated; REACTIVATE_AGENT then
/// clears it all (and the AGENT_DRAINING minimum capability).
fn already_drained_drain_agent(protobuf: bool, durable: bool) {
    let mut fx = Fx::already(60, durable);
    fx.drain(false, Some(10), protobuf);
    let drains = &fx.agent().drains;
    assert_eq!(drains.len(), 1);
    // The v1 `google.protobuf.Duration` {seconds: 10} becomes the v0
    // `DurationInfo` in nanoseconds (upstream `devolve`).
    assert_eq!(
        drains[0].config.max_grace_period.unwrap().nanoseconds,
        10_000_000_000
    );
    assert_eq!(fx.drain_state(), Some(DrainState::Drained as i32));
    assert_eq!(
        fx.registry_drain().map(|d| d.state),
        Some(DrainState::Drained as i32)
    );
    assert_eq!(
        min_caps(&fx.c.sim, &fx.c.m),
        vec!["AGENT_DRAINING".to_string()]
    );
    let want = expected_drain_info("DRAINED", Some(10_000_000_000), false);
    let a = fx.get_agent(protobuf);
    assert_eq!(a["deactivated"], true, "{a}");
    assert_eq!(a["active"], false);
    assert_eq!(a["drain_info"], want);
    let start = a["estimated_drain_start_time"]["nanoseconds"]
        .as_i64()
        .expect("estimated_drain_start_time");
    assert!(start > 0);
    let v = fx.c.get_json("/master/slaves");
    assert_eq!(v["slaves"][0]["deactivated"], true);
    assert_eq!(v["slaves"][0]["drain_info"], want);
    assert!(v["slaves"][0]["estimated_drain_start_time_seconds"].as_f64() > Some(0.0));

    if fx.c.restart_if_durable() {
        // Known from the registry before the agent is back.
        assert_eq!(fx.drain_state(), Some(DrainState::Drained as i32));
        assert!(fx.c.master().state().deactivated.contains(&fx.id));
        fx.agent_returns();
        assert_eq!(fx.agent().order, vec!["drain", "reregistered"]);
        assert_eq!(fx.agent().drains.len(), 2);
        let a = fx.get_agent(protobuf);
        assert_eq!(a["deactivated"], true, "{a}");
        assert_eq!(a["active"], false);
        assert_eq!(a["drain_info"], want);
        assert_eq!(
            min_caps(&fx.c.sim, &fx.c.m),
            vec!["AGENT_DRAINING".to_string()]
        );
    }

    fx.reactivate(protobuf);
    let state = fx.c.master().state();
    assert!(state.draining.is_empty() && state.deactivated.is_empty());
    assert!(state.agents[&fx.id].active);
    assert!(min_caps(&fx.c.sim, &fx.c.m).is_empty());
    assert_eq!(fx.registry_drain(), None);
    let a = fx.get_agent(protobuf);
    assert_eq!(a["deactivated"], false);
    assert!(a.get("drain_info").is_none() && a.get("estimated_drain_start_time").is_none());
}

variants! {
    already_drained_drain_agent:
        master_already_drained_test_drain_agent_json(false, false);
        master_already_drained_test_drain_agent_protobuf(true, false);
        master_already_drained_test_drain_agent_json_across_restart(false, true);
        master_already_drained_test_drain_agent_protobuf_across_restart(true, true);
}

/// MasterAlreadyDrainedTest.DrainAgentMarkGone: the idle agent is marked
/// gone at once: ShutdownMessage, removed, in the registry's gone list. A
/// restarted master still knows it is gone and shuts it down again when it
/// tries to reregister.
fn already_drained_mark_gone(protobuf: bool, durable: bool) {
    let mut fx = Fx::already(61, durable);
    fx.drain(true, None, protobuf);
    assert_eq!(fx.agent().agent_shutdowns.len(), 1);
    let state = fx.c.master().state();
    assert!(state.agents.is_empty());
    assert!(state.gone.contains_key(&fx.id));
    assert!(state.draining.is_empty());
    let reg = fx.c.master().registrar().registry();
    assert_eq!(reg.gone.as_ref().unwrap().slaves[0].id.value, fx.id);
    assert!(reg.slaves.as_ref().unwrap().slaves.is_empty());

    fx.c.restart_if_durable();
    assert!(fx.c.master().state().gone.contains_key(&fx.id));
    fx.c.sim
        .dispatch(&fx.ag, |a: &mut FakeAgent, cx| a.reregister(cx));
    fx.c.sim.settle();
    assert_eq!(fx.agent().agent_shutdowns.len(), 2);
    assert_eq!(fx.agent().reregistered, 0);
    assert!(fx.c.master().state().agents.is_empty());
}

variants! {
    already_drained_mark_gone:
        master_already_drained_test_drain_agent_mark_gone_json(false, false);
        master_already_drained_test_drain_agent_mark_gone_protobuf(true, false);
        master_already_drained_test_drain_agent_mark_gone_json_across_restart(false, true);
        master_already_drained_test_drain_agent_mark_gone_protobuf_across_restart(true, true);
}

/// The agent's connection to the master drops (upstream terminates the
/// agent process); GET_AGENTS shows it inactive but not deactivated.
fn disconnect_agent(fx: &mut Fx, protobuf: bool) {
    fx.c.sim.partition(master_addr(), agent_addr(1));
    fx.c.sim.settle();
    assert!(!fx.c.master().state().agents[&fx.id].connected);
    let a = fx.get_agent(protobuf);
    assert_eq!(a["active"], false, "{a}");
    assert_eq!(a["deactivated"], false);
}

/// MasterAlreadyDrainedTest.DrainAgentDisconnected: draining a
/// disconnected agent succeeds; when it comes back (to a restarted master
/// in the durable variant) it gets DrainSlaveMessage before
/// SlaveReregisteredMessage and is DRAINED and deactivated.
fn already_drained_disconnected(protobuf: bool, durable: bool) {
    let mut fx = Fx::already(63, durable);
    disconnect_agent(&mut fx, protobuf);
    fx.drain(false, None, protobuf);
    // A disconnected agent is still registered, so with nothing running it
    // is DRAINED at once, as upstream (`checkAndTransitionDrainingAgent`
    // runs for every registered agent, connected or not).
    assert_eq!(fx.drain_state(), Some(DrainState::Drained as i32));
    assert_eq!(
        fx.registry_drain().map(|d| d.state),
        Some(DrainState::Drained as i32)
    );
    fx.c.restart_if_durable();
    assert_eq!(fx.drain_state(), Some(DrainState::Drained as i32));
    assert!(fx.c.master().state().deactivated.contains(&fx.id));
    fx.c.sim.heal(master_addr(), agent_addr(1));
    fx.agent_returns();
    assert_eq!(fx.agent().order, vec!["drain", "reregistered"]);
    let a = fx.get_agent(protobuf);
    assert_eq!(a["deactivated"], true, "{a}");
    assert_eq!(a["active"], false);
    assert_eq!(a["drain_info"]["state"], "DRAINED");
    assert_eq!(
        fx.registry_drain().map(|d| d.state),
        Some(DrainState::Drained as i32)
    );
}

variants! {
    already_drained_disconnected:
        master_already_drained_test_drain_agent_disconnected_json(false, false);
        master_already_drained_test_drain_agent_disconnected_protobuf(true, false);
        master_already_drained_test_drain_agent_disconnected_json_across_restart(false, true);
        master_already_drained_test_drain_agent_disconnected_protobuf_across_restart(true, true);
}

/// The agent stops answering pings until the master marks it unreachable
/// (upstream lets `agent_reregister_timeout` pass after killing the agent;
/// the health check is this master's path to the same registry operation,
/// `MarkSlaveUnreachable`).
fn make_unreachable(fx: &mut Fx) {
    fx.c.sim
        .dispatch(&fx.ag, |a: &mut FakeAgent, _cx| a.answer_pings = false);
    fx.c.sim.advance(secs(15 * 6 + 1));
    let state = fx.c.master().state();
    assert!(state.unreachable.contains_key(&fx.id), "agent unreachable");
    assert!(!state.agents.contains_key(&fx.id));
    let reg = fx.c.master().registrar().registry();
    assert_eq!(reg.unreachable.as_ref().unwrap().slaves[0].id.value, fx.id);
    fx.c.sim
        .dispatch(&fx.ag, |a: &mut FakeAgent, _cx| a.answer_pings = true);
}

/// MasterAlreadyDrainedTest.DrainAgentUnreachable: draining an unreachable
/// agent succeeds (the drain info goes into the registry's unreachable
/// entry); when the agent returns it is told to drain and is DRAINED.
fn already_drained_unreachable(protobuf: bool, durable: bool) {
    let mut fx = Fx::already(66, durable);
    make_unreachable(&mut fx);
    fx.drain(false, None, protobuf);
    assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
    assert_eq!(
        fx.registry_drain().map(|d| d.state),
        Some(DrainState::Draining as i32)
    );
    if fx.c.restart_if_durable() {
        assert!(fx.c.master().state().unreachable.contains_key(&fx.id));
        assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
        assert!(fx.c.master().state().deactivated.contains(&fx.id));
    }
    fx.agent_returns();
    assert_eq!(fx.agent().order, vec!["drain", "reregistered"]);
    let a = fx.get_agent(protobuf);
    assert_eq!(a["deactivated"], true, "{a}");
    assert_eq!(a["active"], false);
    assert_eq!(a["drain_info"]["state"], "DRAINED");
    assert_eq!(
        fx.registry_drain().map(|d| d.state),
        Some(DrainState::Drained as i32)
    );
}

variants! {
    already_drained_unreachable:
        master_already_drained_test_drain_agent_unreachable_json(false, false);
        master_already_drained_test_drain_agent_unreachable_protobuf(true, false);
        master_already_drained_test_drain_agent_unreachable_json_across_restart(false, true);
        master_already_drained_test_drain_agent_unreachable_protobuf_across_restart(true, true);
}

/// MasterDrainingTest.DrainAgent: with a running task the agent stays
/// DRAINING (offers rescinded, none made); across a restart it is still
/// DRAINING and is told to drain again on reregistration; once the agent's
/// TASK_KILLED is acknowledged it is DRAINED, shown in GET_AGENTS,
/// /master/state and /master/state-summary; after REACTIVATE_AGENT the
/// framework is offered the agent again.
fn draining_drain_agent(protobuf: bool, durable: bool) {
    let mut fx = Fx::draining(62, durable);
    let outstanding = fx.c.master().state().offers.len();
    let rescinded = fx.sched().rescinded.len();
    fx.drain(false, Some(0), protobuf);
    assert_eq!(fx.agent().drains.len(), 1);
    assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
    assert!(fx.c.master().state().offers.is_empty(), "offers rescinded");
    assert_eq!(fx.sched().rescinded.len(), rescinded + outstanding);
    let offers = fx.sched().offers.len();
    fx.c.sim.advance(secs(12));
    assert_eq!(fx.sched().offers.len(), offers, "no offers while draining");

    if fx.c.restart_if_durable() {
        fx.agent_returns();
        fx.scheduler_resubscribes();
        assert_eq!(fx.agent().order, vec!["drain", "reregistered"]);
        assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
        assert!(!fx.c.master().state().agents[&fx.id].active);
        let offers = fx.sched().offers.len();
        fx.c.sim.advance(secs(12));
        assert_eq!(fx.sched().offers.len(), offers, "no offers while draining");
    }

    fx.agent_kills_tasks(TaskState::TaskKilled);
    let last = fx.sched().updates.last().unwrap().update.status.clone();
    assert_eq!(last.state, TaskState::TaskKilled as i32);
    assert_eq!(last.reason, Some(Reason::SlaveDraining as i32));
    assert_eq!(
        fx.agent().acks.last().unwrap().task_id.value,
        "task-1",
        "KILLED acknowledged"
    );
    assert_eq!(fx.drain_state(), Some(DrainState::Drained as i32));
    assert_eq!(
        fx.registry_drain().map(|d| d.state),
        Some(DrainState::Drained as i32)
    );
    let want = expected_drain_info("DRAINED", Some(0), false);
    let a = fx.get_agent(protobuf);
    assert_eq!(a["deactivated"], true, "{a}");
    assert_eq!(a["drain_info"], want);
    if !durable {
        // In memory only upstream: a restarted master has no estimate.
        assert!(a["estimated_drain_start_time"]["nanoseconds"].as_i64() > Some(0));
    }
    for path in ["/master/state", "/master/state-summary"] {
        let v = fx.c.get_json(path);
        assert_eq!(v["slaves"][0]["drain_info"], want, "{path}");
        let start = v["slaves"][0]["estimated_drain_start_time_seconds"].as_f64();
        if durable {
            assert_eq!(start, None, "{path}: not recovered, as upstream");
        } else {
            assert!(start > Some(0.0), "{path}");
        }
    }

    fx.reactivated_agent_is_offered(protobuf);
}

variants! {
    draining_drain_agent:
        master_draining_test_drain_agent_json(false, false);
        master_draining_test_drain_agent_protobuf(true, false);
        master_draining_test_drain_agent_json_across_restart(false, true);
        master_draining_test_drain_agent_protobuf_across_restart(true, true);
}

/// MasterDrainingTest.DrainAgentMarkGone: the task ends
/// TASK_GONE_BY_OPERATOR; once that is acknowledged the agent is marked
/// gone (ShutdownMessage). Across a restart the `mark_gone` config is
/// recovered and applied when the acknowledgement reaches the new master.
fn draining_mark_gone(protobuf: bool, durable: bool) {
    let mut fx = Fx::draining(67, durable);
    fx.drain(true, None, protobuf);
    assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
    assert!(fx.agent().agent_shutdowns.is_empty());
    if fx.c.restart_if_durable() {
        fx.agent_returns();
        fx.scheduler_resubscribes();
        assert_eq!(fx.agent().order, vec!["drain", "reregistered"]);
        assert_eq!(
            fx.agent().drains.last().unwrap().config.mark_gone,
            Some(true)
        );
    }
    fx.agent_kills_tasks(TaskState::TaskGoneByOperator);
    assert_eq!(
        fx.sched().states().last(),
        Some(&TaskState::TaskGoneByOperator)
    );
    assert_eq!(fx.agent().agent_shutdowns.len(), 1);
    let state = fx.c.master().state();
    assert!(state.agents.is_empty());
    assert!(state.gone.contains_key(&fx.id));
    assert!(state.draining.is_empty() && state.deactivated.is_empty());
    let reg = fx.c.master().registrar().registry();
    assert_eq!(reg.gone.as_ref().unwrap().slaves[0].id.value, fx.id);
}

variants! {
    draining_mark_gone:
        master_draining_test_drain_agent_mark_gone_json(false, false);
        master_draining_test_drain_agent_mark_gone_protobuf(true, false);
        master_draining_test_drain_agent_mark_gone_json_across_restart(false, true);
        master_draining_test_drain_agent_mark_gone_protobuf_across_restart(true, true);
}

/// MasterDrainingTest.DrainAgentDisconnected: the agent with a running
/// task disconnects and is drained; on reregistration (to a restarted
/// master in the durable variant) it is told to drain first, kills the
/// task, and after the acknowledgement is DRAINED; reactivation brings
/// offers back.
fn draining_disconnected(protobuf: bool, durable: bool) {
    let mut fx = Fx::draining(68, durable);
    disconnect_agent(&mut fx, protobuf);
    fx.drain(false, None, protobuf);
    assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
    if fx.c.restart_if_durable() {
        fx.scheduler_resubscribes();
    }
    fx.c.sim.heal(master_addr(), agent_addr(1));
    fx.agent_returns();
    assert_eq!(fx.agent().order, vec!["drain", "reregistered"]);
    assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
    fx.agent_kills_tasks(TaskState::TaskKilled);
    assert_eq!(fx.sched().states().last(), Some(&TaskState::TaskKilled));
    let a = fx.get_agent(protobuf);
    assert_eq!(a["deactivated"], true, "{a}");
    assert_eq!(a["drain_info"]["state"], "DRAINED");
    fx.reactivated_agent_is_offered(protobuf);
}

variants! {
    draining_disconnected:
        master_draining_test_drain_agent_disconnected_json(false, false);
        master_draining_test_drain_agent_disconnected_protobuf(true, false);
        master_draining_test_drain_agent_disconnected_json_across_restart(false, true);
        master_draining_test_drain_agent_disconnected_protobuf_across_restart(true, true);
}

/// MasterDrainingTest.DrainAgentUnreachable: the partition-aware
/// framework hears TASK_UNREACHABLE; the unreachable agent is drained;
/// when it returns with the task running it is told to drain, the task is
/// killed and the agent DRAINED; reactivation brings offers back.
fn draining_unreachable(protobuf: bool, durable: bool) {
    let mut fx = Fx::draining(69, durable);
    make_unreachable(&mut fx);
    assert_eq!(
        fx.sched().states().last(),
        Some(&TaskState::TaskUnreachable)
    );
    fx.drain(false, None, protobuf);
    assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
    if fx.c.restart_if_durable() {
        fx.scheduler_resubscribes();
        assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
    }
    fx.agent_returns();
    assert_eq!(fx.agent().order, vec!["drain", "reregistered"]);
    assert_eq!(fx.drain_state(), Some(DrainState::Draining as i32));
    // The master tells the partition-aware framework its task is back
    // (upstream `_reregisterSlave`: TASK_RUNNING, REASON_SLAVE_REREGISTERED).
    let last = fx.sched().updates.last().unwrap().update.status.clone();
    assert_eq!(last.state, TaskState::TaskRunning as i32);
    assert_eq!(last.reason, Some(Reason::SlaveReregistered as i32));
    fx.agent_kills_tasks(TaskState::TaskKilled);
    assert_eq!(
        fx.sched().states()[1..],
        [
            TaskState::TaskUnreachable,
            TaskState::TaskRunning,
            TaskState::TaskKilled
        ]
    );
    assert_eq!(fx.drain_state(), Some(DrainState::Drained as i32));
    fx.reactivated_agent_is_offered(protobuf);
}

variants! {
    draining_unreachable:
        master_draining_test_drain_agent_unreachable_json(false, false);
        master_draining_test_drain_agent_unreachable_protobuf(true, false);
        master_draining_test_drain_agent_unreachable_json_across_restart(false, true);
        master_draining_test_drain_agent_unreachable_protobuf_across_restart(true, true);
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

    let (st, body) = v1_call(&mut sim, &drain_json("nope-S9", false), protobuf);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(&body[..], b"Unknown agent");
    let (st, body) = v1_call(&mut sim, &drain_json(&plain_id, false), protobuf);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        String::from_utf8_lossy(&body),
        format!("Agent {plain_id} is not capable of draining")
    );
    let (st, body) = v1_call(&mut sim, r#"{"type":"DRAIN_AGENT"}"#, protobuf);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        String::from_utf8_lossy(&body),
        "Failed to validate master::Call: Expecting 'drain_agent' to be present"
    );
    let (st, body) = v1_call(
        &mut sim,
        &agent_call("DEACTIVATE_AGENT", "deactivate_agent", "nope-S9"),
        protobuf,
    );
    assert_eq!(
        (st, &body[..]),
        (StatusCode::BAD_REQUEST, &b"Unknown agent"[..])
    );
    let (st, body) = v1_call(
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

    // An agent whose machine is in the maintenance schedule is refused
    // before its capabilities are looked at.
    let mut r = Request::new(Method::POST, "/master/maintenance/schedule");
    r.body = Bytes::from(
        r#"{"windows":[{"machine_ids":[{"hostname":"agent-host","ip":"10.0.1.2"}],"unavailability":{"start":{"nanoseconds":1443830400000000000}}}]}"#,
    );
    let h = sim.http(master_addr(), r);
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    let (st, body) = v1_call(&mut sim, &drain_json(&plain_id, false), protobuf);
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(
        String::from_utf8_lossy(&body),
        format!(
            "Agent {plain_id} is part of a maintenance schedule under Machine agent-host (10.0.1.2)"
        )
    );
    assert!(master_of(&sim, &m).state().draining.is_empty());
}

variants! {
    validation:
        master_draining_validation_json(false);
        master_draining_validation_protobuf(true);
}

/// DEACTIVATE_AGENT (upstream http.cpp `deactivateAgent`, registry
/// operation `DeactivateAgent`): offers rescinded, none made until
/// REACTIVATE_AGENT; no agent capability needed; the AGENT_DRAINING minimum
/// capability is written. Across a restart the agent is recovered
/// deactivated: after reregistering it still gets no offers until
/// reactivated.
fn deactivate_and_reactivate(protobuf: bool, durable: bool) {
    let mut c = Cluster::new(65, durable, &[]);
    c.sim.add_node(agent_addr(1));
    let ag = c.sim.spawn(
        agent_addr(1),
        "slave(1)",
        FakeAgent::new(c.m.upid.clone(), vec![]),
    );
    c.sim.add_node(sched_addr(1));
    let s = c.sim.spawn(
        sched_addr(1),
        "scheduler-1",
        FakeScheduler::new(c.m.upid.clone(), OfferPolicy::Hold),
    );
    c.sim.settle();
    c.sim.advance(secs(2));
    let id = fa(&c.sim, &ag).id.clone().unwrap();
    let offers = |c: &Cluster| c.sim.actor::<FakeScheduler>(&s.upid).unwrap().offers.len();
    assert_eq!(offers(&c), 1);

    let deactivate = json!({"type": "DEACTIVATE_AGENT",
                            "deactivate_agent": {"agent_id": {"value": id}}});
    let (st, body) = c.operator(&deactivate, protobuf);
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(
        c.sim
            .actor::<FakeScheduler>(&s.upid)
            .unwrap()
            .rescinded
            .len(),
        1
    );
    c.sim.advance(secs(5));
    assert_eq!(offers(&c), 1);
    assert!(fa(&c.sim, &ag).drains.is_empty());
    assert_eq!(min_caps(&c.sim, &c.m), vec!["AGENT_DRAINING".to_string()]);
    let reg = c.master().registrar().registry().clone();
    assert_eq!(
        reg.slaves.as_ref().unwrap().slaves[0].deactivated,
        Some(true)
    );

    if c.restart_if_durable() {
        assert!(c.master().state().deactivated.contains(&id));
        c.sim
            .dispatch(&ag, |a: &mut FakeAgent, cx| a.reregister(cx));
        c.sim
            .dispatch(&s, |f: &mut FakeScheduler, cx| f.subscribe(cx));
        c.sim.settle();
        assert!(c.master().state().agents[&id].connected);
        assert!(!c.master().state().agents[&id].active);
        c.sim.advance(secs(5));
        assert_eq!(
            offers(&c),
            1,
            "no offers for the recovered deactivated agent"
        );
    }
    let (st, v) = c.operator(&json!({"type": "GET_AGENTS"}), protobuf);
    assert_eq!(st, StatusCode::OK);
    let a = &v["get_agents"]["agents"][0];
    assert_eq!(a["deactivated"], true, "{v}");
    assert!(a.get("drain_info").is_none());

    let reactivate = json!({"type": "REACTIVATE_AGENT",
                            "reactivate_agent": {"agent_id": {"value": id}}});
    let (st, body) = c.operator(&reactivate, protobuf);
    assert_eq!(st, StatusCode::OK, "{body}");
    c.sim.advance(secs(2));
    assert_eq!(offers(&c), 2);
    assert!(min_caps(&c.sim, &c.m).is_empty());
    let reg = c.master().registrar().registry().clone();
    assert_ne!(
        reg.slaves.as_ref().unwrap().slaves[0].deactivated,
        Some(true)
    );
}

variants! {
    deactivate_and_reactivate:
        master_deactivate_and_reactivate_agent_json(false, false);
        master_deactivate_and_reactivate_agent_protobuf(true, false);
        master_deactivate_and_reactivate_agent_json_across_restart(false, true);
        master_deactivate_and_reactivate_agent_protobuf_across_restart(true, true);
}
