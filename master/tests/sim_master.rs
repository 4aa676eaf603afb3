//! The master on the deterministic simulator, with a fake agent and fake
//! driver schedulers. Test names follow the upstream tests they mirror
//! (src/tests/master_tests.cpp, partition_tests.cpp, fault_tolerance_tests.cpp,
//! scheduler_http_api_tests.cpp).

#![allow(deprecated)]

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use libprocess::filter::Matcher;
use libprocess::runtime::sim::Sim;
use libprocess::{Pid, Request};
use mesos_master::Master;
use mesos_proto::mesos::internal::{PongSlaveMessage, StatusUpdateAcknowledgementMessage};
use mesos_proto::mesos::scheduler::call::Type as CallType;
use mesos_proto::mesos::task_status::Reason;
use mesos_proto::mesos::{TaskState, TaskStatus};
use support::*;

fn agent(sim: &mut Sim, m: &Pid<Master>, n: u8, script: Vec<TaskState>) -> Pid<FakeAgent> {
    sim.add_node(agent_addr(n));
    sim.spawn(
        agent_addr(n),
        "slave(1)",
        FakeAgent::new(m.upid.clone(), script),
    )
}

fn scheduler(sim: &mut Sim, m: &Pid<Master>, n: u8, policy: OfferPolicy) -> Pid<FakeScheduler> {
    sim.add_node(sched_addr(n));
    sim.spawn(
        sched_addr(n),
        &format!("scheduler-{n}"),
        FakeScheduler::new(m.upid.clone(), policy),
    )
}

fn a<'s, T: libprocess::Actor>(sim: &'s Sim, p: &Pid<T>) -> &'s T {
    sim.actor::<T>(&p.upid).expect("alive")
}

fn task_resources() -> Vec<mesos_proto::mesos::Resource> {
    vec![scalar("cpus", 0.5), scalar("mem", 64.0)]
}

/// MasterTest.RegisterSlave: the agent gets `<master id>-S0` and the
/// total ping timeout (15 s x 5).
#[test]
fn master_register_slave() {
    let (mut sim, m) = sim_with_master(1, &[]);
    let ag = agent(&mut sim, &m, 1, vec![]);
    sim.settle();
    let fa = a(&sim, &ag);
    assert_eq!(fa.id.as_deref(), Some(format!("{MASTER_ID}-S0").as_str()));
    assert_eq!(
        fa.connection
            .as_ref()
            .and_then(|c| c.total_ping_timeout_seconds),
        Some(75.0)
    );
    let st = master_of(&sim, &m).state();
    assert_eq!(st.agents.len(), 1);
    assert!(st.agents.values().next().unwrap().connected);
    // The registry admitted it.
    let reg = master_of(&sim, &m).registrar().registry();
    assert_eq!(reg.slaves.as_ref().unwrap().slaves.len(), 1);
}

/// A retried RegisterSlaveMessage from the same pid is answered with the
/// same ID rather than a second agent.
#[test]
fn master_duplicate_registration_resends_acknowledgement() {
    let (mut sim, m) = sim_with_master(2, &[]);
    let ag = agent(&mut sim, &m, 1, vec![]);
    sim.settle();
    sim.dispatch(&ag, |fa: &mut FakeAgent, cx| {
        let msg = mesos_proto::mesos::internal::RegisterSlaveMessage {
            slave: fa.info(),
            version: Some("1.9.0".into()),
            ..Default::default()
        };
        let master = fa.master.clone();
        cx.send(&master, &msg);
    });
    sim.settle();
    assert_eq!(master_of(&sim, &m).state().agents.len(), 1);
    assert_eq!(
        a(&sim, &ag).id.as_deref(),
        Some(format!("{MASTER_ID}-S0").as_str())
    );
}

/// An agent older than 1.0.0 is told to shut down.
#[test]
fn master_refuses_old_agents() {
    let (mut sim, m) = sim_with_master(3, &[]);
    sim.add_node(agent_addr(1));
    let from = libprocess::Upid::new("slave(1)", agent_addr(1));
    let msg = mesos_proto::mesos::internal::RegisterSlaveMessage {
        slave: FakeAgent::new(m.upid.clone(), vec![]).info(),
        version: Some("0.28.0".into()),
        ..Default::default()
    };
    sim.send(&from, &m.upid, &msg);
    sim.settle();
    assert!(master_of(&sim, &m).state().agents.is_empty());
}

/// PartitionTest / SlaveObserver: pongs reset the count; after
/// max_agent_ping_timeouts missed pings the agent is unreachable.
#[test]
fn master_marks_agent_unreachable_after_ping_timeouts() {
    let (mut sim, m) = sim_with_master(4, &[]);
    let ag = agent(&mut sim, &m, 1, vec![]);
    sim.settle();
    sim.advance(Duration::from_secs(60));
    assert!(a(&sim, &ag).pings >= 4, "pings every 15 s");
    assert_eq!(master_of(&sim, &m).state().agents.len(), 1);

    let drop = sim.drop_messages(Matcher::message::<PongSlaveMessage>());
    // Fewer than five missed pings: still registered.
    sim.advance(Duration::from_secs(59));
    assert_eq!(master_of(&sim, &m).state().agents.len(), 1);
    // The fifth (allowing one ping period for the in-flight pong):
    // unreachable, removed from the registered agents.
    sim.advance(Duration::from_secs(31));
    let st = master_of(&sim, &m).state();
    assert!(st.agents.is_empty(), "agent still registered");
    assert_eq!(st.unreachable.len(), 1);
    assert!(sim.fault_hits(drop) >= 5);
    let reg = master_of(&sim, &m).registrar().registry();
    assert_eq!(reg.unreachable.as_ref().unwrap().slaves.len(), 1);
}

/// The unreachable agent's tasks are reported TASK_LOST (not partition
/// aware) and the scheduler hears LostSlaveMessage.
#[test]
fn partition_unreachable_agent_loses_its_tasks() {
    let (mut sim, m) = sim_with_master(5, &[]);
    let ag = agent(&mut sim, &m, 1, vec![TaskState::TaskRunning]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
    sim.settle();
    assert_eq!(a(&sim, &s).states(), vec![TaskState::TaskRunning]);
    sim.drop_messages(Matcher::message::<PongSlaveMessage>());
    sim.advance(Duration::from_secs(15 * 6 + 1));
    let fs = a(&sim, &s);
    assert_eq!(fs.states().last(), Some(&TaskState::TaskLost));
    let last = &fs.updates.last().unwrap().update.status;
    assert_eq!(last.reason, Some(Reason::SlaveRemoved as i32));
    assert_eq!(fs.lost_slaves, vec![a(&sim, &ag).id.clone().unwrap()]);
}

/// MasterTest.TaskRunning + status update acknowledgement: offer, launch,
/// RunTaskMessage (launch_executor, framework pid), updates forwarded with
/// the agent as acknowledgee, acks relayed to the agent, the finished task
/// completed after its terminal ack.
#[test]
fn master_task_runs_to_finished_with_acks() {
    let (mut sim, m) = sim_with_master(6, &[]);
    let ag = agent(
        &mut sim,
        &m,
        1,
        vec![TaskState::TaskRunning, TaskState::TaskFinished],
    );
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
    sim.settle();

    let fs = a(&sim, &s);
    let fid = fs.framework_id.clone().expect("registered");
    assert_eq!(fid.value, format!("{MASTER_ID}-0000"));
    assert_eq!(fs.offers[0].id.value, format!("{MASTER_ID}-O0"));
    assert_eq!(fs.offer_pids[0], format!("slave(1)@{}", agent_addr(1)));
    // Old-format resources for a framework without RESERVATION_REFINEMENT.
    assert!(fs.offers[0]
        .resources
        .iter()
        .all(|r| r.role.as_deref() == Some("*")));
    assert!(fs.offers[0].allocation_info.is_none());
    assert_eq!(
        fs.states(),
        vec![TaskState::TaskRunning, TaskState::TaskFinished]
    );
    for u in &fs.updates {
        assert_eq!(
            u.pid.as_deref(),
            Some(format!("slave(1)@{}", agent_addr(1)).as_str())
        );
    }

    let fa = a(&sim, &ag);
    assert_eq!(fa.run_tasks.len(), 1);
    let run = &fa.run_tasks[0];
    assert_eq!(run.launch_executor, Some(true));
    assert_eq!(
        run.pid.as_deref(),
        Some(format!("scheduler-1@{}", sched_addr(1)).as_str())
    );
    assert!(run.task.resources.iter().all(|r| r
        .allocation_info
        .as_ref()
        .and_then(|a| a.role.as_deref())
        == Some("*")));
    assert_eq!(fa.acks.len(), 2);

    let st = master_of(&sim, &m).state();
    let fw = &st.frameworks[&fid.value];
    assert!(fw.tasks.is_empty(), "terminal task acknowledged");
    assert_eq!(fw.completed_tasks.len(), 1);
    assert_eq!(fw.completed_tasks[0].state, TaskState::TaskFinished as i32);
    // The agent's resources are offered again at the next allocation cycle
    // after the task finished.
    sim.advance(Duration::from_secs(1));
    assert!(a(&sim, &s).offers.len() >= 2);
}

/// MasterTest.LaunchTooManyResources-style: TASK_ERROR / REASON_TASK_INVALID
/// from the master, with no acknowledgee, and nothing reaches the agent.
#[test]
fn master_invalid_task_gets_task_error() {
    let (mut sim, m) = sim_with_master(7, &[]);
    let ag = agent(&mut sim, &m, 1, vec![TaskState::TaskRunning]);
    let s = scheduler(
        &mut sim,
        &m,
        1,
        OfferPolicy::LaunchOnce(vec![scalar("cpus", 64.0)]),
    );
    sim.settle();
    let fs = a(&sim, &s);
    assert_eq!(fs.states(), vec![TaskState::TaskError]);
    let u = &fs.updates[0];
    assert_eq!(u.pid.as_deref(), Some(""));
    assert_eq!(u.update.status.reason, Some(Reason::TaskInvalid as i32));
    assert_eq!(
        u.update.status.source,
        Some(mesos_proto::mesos::task_status::Source::Master as i32)
    );
    assert!(u
        .update
        .status
        .message
        .as_deref()
        .unwrap()
        .contains("is more than available"));
    assert!(a(&sim, &ag).run_tasks.is_empty());
}

/// Accepting an offer twice: the second ACCEPT uses an invalid offer and
/// its task is TASK_LOST / REASON_INVALID_OFFERS.
#[test]
fn master_accept_of_unknown_offer_is_task_lost() {
    let (mut sim, m) = sim_with_master(8, &[]);
    agent(&mut sim, &m, 1, vec![]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::Hold);
    sim.settle();
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let mut c = fs.call(CallType::Accept);
        c.accept = Some(mesos_proto::mesos::scheduler::call::Accept {
            offer_ids: vec![mesos_proto::mesos::OfferId {
                value: "nope".into(),
            }],
            operations: vec![mesos_proto::mesos::offer::Operation {
                r#type: Some(mesos_proto::mesos::offer::operation::Type::Launch as i32),
                launch: Some(mesos_proto::mesos::offer::operation::Launch {
                    task_infos: vec![mesos_proto::mesos::TaskInfo {
                        name: "t".into(),
                        task_id: mesos_proto::mesos::TaskId { value: "t9".into() },
                        slave_id: Default::default(),
                        ..Default::default()
                    }],
                }),
                ..Default::default()
            }],
            filters: None,
        });
        fs.send_call(cx, c);
    });
    sim.settle();
    let fs = a(&sim, &s);
    assert_eq!(fs.states(), vec![TaskState::TaskLost]);
    assert_eq!(
        fs.updates[0].update.status.reason,
        Some(Reason::InvalidOffers as i32)
    );
}

/// Declined offers come back only after refuse_seconds; REVIVE clears it.
#[test]
fn master_decline_filter_and_revive() {
    let (mut sim, m) = sim_with_master(9, &[]);
    agent(&mut sim, &m, 1, vec![]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::Decline(30.0));
    sim.settle();
    assert_eq!(a(&sim, &s).offers.len(), 1);
    sim.advance(Duration::from_secs(20));
    assert_eq!(a(&sim, &s).offers.len(), 1, "filtered for 30 s");
    sim.advance(Duration::from_secs(11));
    assert_eq!(a(&sim, &s).offers.len(), 2);
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let c = fs.call(CallType::Revive);
        fs.send_call(cx, c);
    });
    sim.settle();
    assert_eq!(a(&sim, &s).offers.len(), 3, "revive clears the filter");
    // SUPPRESS stops offers until REVIVE.
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let c = fs.call(CallType::Suppress);
        fs.send_call(cx, c);
    });
    sim.advance(Duration::from_secs(120));
    assert_eq!(a(&sim, &s).offers.len(), 3);
}

/// MasterTest.KillTask: KILL reaches the agent, TASK_KILLED comes back.
#[test]
fn master_kill_task() {
    let (mut sim, m) = sim_with_master(10, &[]);
    let ag = agent(&mut sim, &m, 1, vec![TaskState::TaskRunning]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
    sim.settle();
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let mut c = fs.call(CallType::Kill);
        c.kill = Some(mesos_proto::mesos::scheduler::call::Kill {
            task_id: mesos_proto::mesos::TaskId {
                value: "task-1".into(),
            },
            slave_id: None,
            kill_policy: None,
        });
        fs.send_call(cx, c);
    });
    sim.settle();
    assert_eq!(a(&sim, &ag).kills.len(), 1);
    assert_eq!(
        a(&sim, &s).states(),
        vec![TaskState::TaskRunning, TaskState::TaskKilled]
    );
}

/// Killing an unknown task answers with reconciliation (TASK_LOST for a
/// framework that is not partition aware).
#[test]
fn master_kill_unknown_task_reconciles() {
    let (mut sim, m) = sim_with_master(11, &[]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::Hold);
    sim.settle();
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let mut c = fs.call(CallType::Kill);
        c.kill = Some(mesos_proto::mesos::scheduler::call::Kill {
            task_id: mesos_proto::mesos::TaskId {
                value: "ghost".into(),
            },
            slave_id: None,
            kill_policy: None,
        });
        fs.send_call(cx, c);
    });
    sim.settle();
    let fs = a(&sim, &s);
    assert_eq!(fs.states(), vec![TaskState::TaskLost]);
    assert_eq!(
        fs.updates[0].update.status.reason,
        Some(Reason::Reconciliation as i32)
    );
}

/// ReconciliationTest.ImplicitTerminalTask-ish: implicit reconciliation
/// reports every live task's latest state.
#[test]
fn reconciliation_implicit_reports_running_tasks() {
    let (mut sim, m) = sim_with_master(12, &[]);
    agent(&mut sim, &m, 1, vec![TaskState::TaskRunning]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
    sim.settle();
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let mut c = fs.call(CallType::Reconcile);
        c.reconcile = Some(mesos_proto::mesos::scheduler::call::Reconcile { tasks: vec![] });
        fs.send_call(cx, c);
    });
    sim.settle();
    let fs = a(&sim, &s);
    let last = &fs.updates.last().unwrap();
    assert_eq!(last.update.status.state, TaskState::TaskRunning as i32);
    assert_eq!(
        last.update.status.reason,
        Some(Reason::Reconciliation as i32)
    );
    assert!(last.update.uuid.is_none(), "reconciliation needs no ack");
}

/// MasterTest.TearDown-ish: TEARDOWN shuts the framework down on its
/// agents and moves it to the completed frameworks.
#[test]
fn master_teardown_shuts_down_framework_on_agents() {
    let (mut sim, m) = sim_with_master(13, &[]);
    let ag = agent(&mut sim, &m, 1, vec![TaskState::TaskRunning]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
    sim.settle();
    let fid = a(&sim, &s).framework_id.clone().unwrap();
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let c = fs.call(CallType::Teardown);
        fs.send_call(cx, c);
    });
    sim.settle();
    assert_eq!(a(&sim, &ag).shutdowns.len(), 1);
    let st = master_of(&sim, &m).state();
    assert!(st.frameworks.is_empty());
    assert!(st.is_completed_framework(&fid.value));
    let done = &st.completed_frameworks[0].completed_tasks[0];
    assert_eq!(done.state, TaskState::TaskKilled as i32);
    // Calls from a removed framework are dropped.
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let c = fs.call(CallType::Revive);
        fs.send_call(cx, c);
    });
    sim.settle();
}

/// FaultToleranceTest.SchedulerFailover: a second scheduler subscribing
/// with the framework ID and force=true takes over; the first is told
/// "Framework failed over".
#[test]
fn fault_tolerance_scheduler_failover() {
    let (mut sim, m) = sim_with_master(14, &[]);
    let ag = agent(&mut sim, &m, 1, vec![]);
    let s1 = scheduler(&mut sim, &m, 1, OfferPolicy::Hold);
    sim.settle();
    let fid = a(&sim, &s1).framework_id.clone().unwrap();
    assert_eq!(a(&sim, &s1).offers.len(), 1);

    sim.add_node(sched_addr(2));
    let mut second = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
    second.framework_id = Some(fid.clone());
    second.force = true;
    let s2 = sim.spawn(sched_addr(2), "scheduler-2", second);
    sim.settle();

    assert_eq!(
        a(&sim, &s1).errors,
        vec!["Framework failed over".to_string()]
    );
    let f2 = a(&sim, &s2);
    assert_eq!(
        f2.registered, 1,
        "failover answers FrameworkRegisteredMessage"
    );
    assert_eq!(f2.framework_id.as_ref(), Some(&fid));
    assert_eq!(
        f2.offers.len(),
        1,
        "the old offer was recovered and re-offered"
    );
    // Agents learn the new scheduler pid (upstream sendFrameworkUpdates).
    let upd = &a(&sim, &ag).framework_updates;
    assert_eq!(upd.len(), 1);
    assert_eq!(upd[0].pid, Some(format!("scheduler-2@{}", sched_addr(2))));
    let st = master_of(&sim, &m).state();
    assert_eq!(
        st.frameworks[&fid.value].pid().map(|p| p.to_string()),
        Some(format!("scheduler-2@{}", sched_addr(2)))
    );
    // Without force, another pid is refused.
    sim.add_node(sched_addr(3));
    let mut third = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
    third.framework_id = Some(fid.clone());
    let s3 = sim.spawn(sched_addr(3), "scheduler-3", third);
    sim.settle();
    assert_eq!(
        a(&sim, &s3).errors,
        vec!["Framework failed over".to_string()]
    );
    assert_eq!(a(&sim, &s3).registered, 0);
}

/// A driver whose connection breaks is disconnected, and removed once its
/// failover_timeout passes; resubscribing in time keeps it.
#[test]
fn fault_tolerance_framework_failover_timeout() {
    let (mut sim, m) = sim_with_master(15, &[]);
    agent(&mut sim, &m, 1, vec![]);
    sim.add_node(sched_addr(1));
    let mut fs = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
    fs.info.failover_timeout = Some(60.0);
    let s = sim.spawn(sched_addr(1), "scheduler-1", fs);
    sim.settle();
    let fid = a(&sim, &s).framework_id.clone().unwrap();

    sim.crash_node(sched_addr(1));
    sim.settle();
    {
        let st = master_of(&sim, &m).state();
        let fw = &st.frameworks[&fid.value];
        assert!(!fw.connected());
        assert!(
            st.offers.is_empty(),
            "offers of a disconnected framework are recovered"
        );
    }
    sim.advance(Duration::from_secs(30));
    assert!(master_of(&sim, &m)
        .state()
        .frameworks
        .contains_key(&fid.value));
    sim.advance(Duration::from_secs(31));
    let st = master_of(&sim, &m).state();
    assert!(!st.frameworks.contains_key(&fid.value));
    assert!(st.is_completed_framework(&fid.value));
}

/// Resubscribing from the same pid without force re-registers it
/// (FrameworkReregisteredMessage) and rescinds outstanding offers.
#[test]
fn master_resubscribe_same_pid_reregisters() {
    let (mut sim, m) = sim_with_master(16, &[]);
    agent(&mut sim, &m, 1, vec![]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::Hold);
    sim.settle();
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| fs.subscribe(cx));
    sim.settle();
    let fs = a(&sim, &s);
    assert_eq!(fs.registered, 1);
    assert_eq!(fs.reregistered, 1);
    assert_eq!(fs.rescinded.len(), 1);
    assert_eq!(fs.offers.len(), 2, "re-offered after the rescind");
}

/// An agent whose connection breaks is disconnected (no offers) and its
/// reregistration reconnects it with the same ID.
#[test]
fn master_agent_disconnect_and_reregister() {
    let (mut sim, m) = sim_with_master(17, &[]);
    let ag = agent(&mut sim, &m, 1, vec![]);
    sim.settle();
    let id = a(&sim, &ag).id.clone().unwrap();
    sim.partition(master_addr(), agent_addr(1));
    sim.settle();
    assert!(!master_of(&sim, &m).state().agents[&id].connected);
    sim.heal(master_addr(), agent_addr(1));
    sim.dispatch(&ag, |fa: &mut FakeAgent, cx| fa.reregister(cx));
    sim.settle();
    assert_eq!(a(&sim, &ag).reregistered, 1);
    let st = master_of(&sim, &m).state();
    assert!(st.agents[&id].connected && st.agents[&id].active);
}

/// A status update for an acknowledged-and-forgotten task is still
/// forwarded; an ack for it still reaches the agent.
#[test]
fn master_ack_after_task_completion_still_reaches_agent() {
    let (mut sim, m) = sim_with_master(18, &[]);
    let ag = agent(&mut sim, &m, 1, vec![TaskState::TaskFinished]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
    sim.settle();
    let acks = a(&sim, &ag).acks.len();
    let before = sim.filters().clone();
    let _ = before;
    sim.dispatch(&s, |fs: &mut FakeScheduler, cx| {
        let u = fs.updates[0].update.clone();
        let mut c = fs.call(CallType::Acknowledge);
        c.acknowledge = Some(mesos_proto::mesos::scheduler::call::Acknowledge {
            slave_id: u.slave_id.unwrap_or_default(),
            task_id: u.status.task_id,
            uuid: u.uuid.unwrap_or_default(),
        });
        fs.send_call(cx, c);
    });
    sim.settle();
    assert_eq!(a(&sim, &ag).acks.len(), acks + 1);
}

/// Hostile input: garbage bodies and calls from unknown pids are dropped
/// without harm.
#[test]
fn master_survives_garbage_messages() {
    let (mut sim, m) = sim_with_master(19, &[]);
    sim.add_node(sched_addr(9));
    let from = libprocess::Upid::new("evil", sched_addr(9));
    for name in [
        "mesos.scheduler.Call",
        "mesos.internal.RegisterSlaveMessage",
        "mesos.internal.StatusUpdateMessage",
        "mesos.internal.ReregisterSlaveMessage",
    ] {
        sim.send_raw(
            &from,
            &m.upid,
            name,
            Bytes::from_static(&[0xff, 0x01, 0x02]),
        );
    }
    // A well-formed call for a framework that does not exist.
    let call = mesos_proto::mesos::scheduler::Call {
        framework_id: Some(mesos_proto::mesos::FrameworkId { value: "x".into() }),
        r#type: Some(CallType::Teardown as i32),
        ..Default::default()
    };
    sim.send(&from, &m.upid, &call);
    // An ack with a short uuid.
    let ack = StatusUpdateAcknowledgementMessage {
        slave_id: Default::default(),
        framework_id: mesos_proto::mesos::FrameworkId { value: "x".into() },
        task_id: Default::default(),
        uuid: Bytes::from_static(b"short"),
    };
    sim.send(&from, &m.upid, &ack);
    sim.settle();
    assert!(sim.is_alive(&m.upid));
    let _ = TaskStatus::default();
}

// ---------------------------------------------------------------- HTTP

fn post_json(path: &str, body: &str, stream_id: Option<&str>) -> Request {
    let mut r = Request::new(Method::POST, path);
    r.headers
        .insert("content-type", "application/json".parse().unwrap());
    if let Some(s) = stream_id {
        r.headers.insert("mesos-stream-id", s.parse().unwrap());
    }
    r.body = Bytes::from(body.to_string());
    r
}

fn records(body: &[u8]) -> Vec<serde_json::Value> {
    let mut d = mesos_proto::recordio::Decoder::new(1 << 20);
    d.decode(body)
        .expect("recordio")
        .into_iter()
        .map(|r| serde_json::from_slice(&r).expect("json event"))
        .collect()
}

/// SchedulerHttpApiTest.Subscribe: 200 stream with Mesos-Stream-Id,
/// SUBSCRIBED first (heartbeat 15 s), HEARTBEAT after 15 s, OFFERS with
/// agent_id; non-subscribe calls need the stream id.
#[test]
fn scheduler_http_api_subscribe_and_calls() {
    let (mut sim, m) = sim_with_master(20, &[]);
    agent(&mut sim, &m, 1, vec![TaskState::TaskRunning]);
    sim.settle();
    let sub =
        r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"http-fw"}}}"#;
    let h = sim.http(
        master_addr(),
        post_json("/master/api/v1/scheduler", sub, None),
    );
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    let head = h.head().expect("streaming");
    assert_eq!(
        head.headers.get("content-type").unwrap(),
        "application/json"
    );
    let stream_id = head
        .headers
        .get("mesos-stream-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let events = records(&h.stream_body());
    assert_eq!(events[0]["type"], "SUBSCRIBED");
    assert_eq!(events[0]["subscribed"]["heartbeat_interval_seconds"], 15.0);
    let fid = events[0]["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(events[1]["type"], "OFFERS");
    let offer = &events[1]["offers"]["offers"][0];
    assert!(offer["agent_id"]["value"]
        .as_str()
        .unwrap()
        .ends_with("-S0"));

    sim.advance(Duration::from_secs(15));
    let events = records(&h.stream_body());
    assert!(events.iter().any(|e| e["type"] == "HEARTBEAT"));

    // A call without the stream id: 400; with a wrong one: 400.
    let decline = format!(
        r#"{{"type":"DECLINE","framework_id":{{"value":"{fid}"}},"decline":{{"offer_ids":[{{"value":"{}"}}]}}}}"#,
        offer["id"]["value"].as_str().unwrap()
    );
    let r = sim.http(
        master_addr(),
        post_json("/master/api/v1/scheduler", &decline, None),
    );
    sim.settle();
    assert_eq!(r.status(), Some(StatusCode::BAD_REQUEST));
    let r = sim.http(
        master_addr(),
        post_json("/master/api/v1/scheduler", &decline, Some("wrong")),
    );
    sim.settle();
    assert_eq!(r.status(), Some(StatusCode::BAD_REQUEST));
    let r = sim.http(
        master_addr(),
        post_json("/master/api/v1/scheduler", &decline, Some(&stream_id)),
    );
    sim.settle();
    assert_eq!(r.status(), Some(StatusCode::ACCEPTED));
    assert!(master_of(&sim, &m).state().offers.is_empty());

    // Unsupported media type and method.
    let mut bad = post_json("/master/api/v1/scheduler", sub, None);
    bad.headers
        .insert("content-type", "text/plain".parse().unwrap());
    let r = sim.http(master_addr(), bad);
    sim.settle();
    assert_eq!(r.status(), Some(StatusCode::UNSUPPORTED_MEDIA_TYPE));
    let r = sim.http(
        master_addr(),
        Request::new(Method::GET, "/api/v1/scheduler"),
    );
    sim.settle();
    assert_eq!(r.status(), Some(StatusCode::METHOD_NOT_ALLOWED));
    let mut no_accept = post_json("/master/api/v1/scheduler", sub, None);
    no_accept
        .headers
        .insert("accept", "text/html".parse().unwrap());
    let r = sim.http(master_addr(), no_accept);
    sim.settle();
    assert_eq!(r.status(), Some(StatusCode::NOT_ACCEPTABLE));
}

/// The HTTP framework launches a task and gets UPDATE events with the
/// uuid to acknowledge; ACKNOWLEDGE reaches the agent.
#[test]
fn scheduler_http_api_launch_update_acknowledge() {
    let (mut sim, m) = sim_with_master(21, &[]);
    let ag = agent(&mut sim, &m, 1, vec![TaskState::TaskRunning]);
    sim.settle();
    let sub =
        r#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"http-fw"}}}"#;
    let h = sim.http(master_addr(), post_json("/api/v1/scheduler", sub, None));
    sim.settle();
    let sid = h
        .head()
        .unwrap()
        .headers
        .get("mesos-stream-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let events = records(&h.stream_body());
    let fid = events[0]["subscribed"]["framework_id"]["value"]
        .as_str()
        .unwrap()
        .to_string();
    let offer = events[1]["offers"]["offers"][0].clone();
    let accept = serde_json::json!({
        "type": "ACCEPT",
        "framework_id": {"value": fid},
        "accept": {
            "offer_ids": [offer["id"]],
            "operations": [{"type": "LAUNCH", "launch": {"task_infos": [{
                "name": "t", "task_id": {"value": "h1"}, "agent_id": offer["agent_id"],
                "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 0.5}}],
                "command": {"value": "true"}
            }]}}]
        }
    });
    let r = sim.http(
        master_addr(),
        post_json("/api/v1/scheduler", &accept.to_string(), Some(&sid)),
    );
    sim.settle();
    assert_eq!(r.status(), Some(StatusCode::ACCEPTED));
    assert_eq!(a(&sim, &ag).run_tasks.len(), 1);
    assert_eq!(a(&sim, &ag).run_tasks[0].pid.as_deref(), Some(""));
    let all = records(&h.stream_body());
    let update = all
        .iter()
        .find(|e| e["type"] == "UPDATE")
        .expect("UPDATE event");
    assert_eq!(update["update"]["status"]["state"], "TASK_RUNNING");
    let uuid = update["update"]["status"]["uuid"]
        .as_str()
        .expect("uuid to ack")
        .to_string();
    let ack = serde_json::json!({
        "type": "ACKNOWLEDGE",
        "framework_id": {"value": fid},
        "acknowledge": {"agent_id": offer["agent_id"], "task_id": {"value": "h1"}, "uuid": uuid}
    });
    let r = sim.http(
        master_addr(),
        post_json("/api/v1/scheduler", &ack.to_string(), Some(&sid)),
    );
    sim.settle();
    assert_eq!(r.status(), Some(StatusCode::ACCEPTED));
    assert_eq!(a(&sim, &ag).acks.len(), 1);
}

/// Operator API and v0 endpoints through the delegate.
#[test]
fn operator_api_and_state_endpoints() {
    let (mut sim, m) = sim_with_master(22, &[]);
    agent(&mut sim, &m, 1, vec![]);
    sim.settle();
    for (call, key) in [
        ("GET_HEALTH", "get_health"),
        ("GET_VERSION", "get_version"),
        ("GET_FLAGS", "get_flags"),
        ("GET_STATE", "get_state"),
        ("GET_AGENTS", "get_agents"),
        ("GET_FRAMEWORKS", "get_frameworks"),
        ("GET_TASKS", "get_tasks"),
        ("GET_MASTER", "get_master"),
        ("GET_EXECUTORS", "get_executors"),
    ] {
        let h = sim.http(
            master_addr(),
            post_json("/api/v1", &format!(r#"{{"type":"{call}"}}"#), None),
        );
        sim.settle();
        let r = h.response().expect("answered");
        assert_eq!(r.status, StatusCode::OK, "{call}");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["type"], call);
        assert!(v.get(key).is_some(), "{call}: {v}");
    }
    let h = sim.http(master_addr(), Request::new(Method::GET, "/state"));
    sim.settle();
    let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
    assert_eq!(v["id"], MASTER_ID);
    assert_eq!(v["activated_slaves"], 1);
    assert_eq!(v["slaves"][0]["resources"]["cpus"], 2.0);
    assert_eq!(v["flags"]["registry"], "in_memory");
    let h = sim.http(
        master_addr(),
        Request::new(Method::GET, "/master/frameworks"),
    );
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    let h = sim.http(
        master_addr(),
        Request::new(Method::GET, "/metrics/snapshot"),
    );
    sim.settle();
    let v: serde_json::Value = serde_json::from_slice(&h.response().unwrap().body).unwrap();
    assert_eq!(v["master/slaves_connected"], 1.0);
    assert_eq!(v["master/cpus_total"], 2.0);
    // A malformed operator call is a 400.
    let h = sim.http(master_addr(), post_json("/api/v1", "{", None));
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::BAD_REQUEST));
}

/// Same seed, same trace: the master is deterministic under the simulator.
#[test]
fn determinism_same_seed_same_trace() {
    let run = || {
        let (mut sim, m) = sim_with_master(23, &[]);
        agent(
            &mut sim,
            &m,
            1,
            vec![TaskState::TaskRunning, TaskState::TaskFinished],
        );
        scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
        sim.advance(Duration::from_secs(40));
        sim.trace_hash()
    };
    assert_eq!(run(), run());
}

/// The built-in allocator (`--allocator=simple`) drives the same flow.
#[test]
fn master_task_runs_with_the_simple_allocator() {
    let (mut sim, m) = sim_with_master(24, &["--allocator=simple"]);
    agent(
        &mut sim,
        &m,
        1,
        vec![TaskState::TaskRunning, TaskState::TaskFinished],
    );
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
    sim.settle();
    assert_eq!(
        a(&sim, &s).states(),
        vec![TaskState::TaskRunning, TaskState::TaskFinished]
    );
}

/// SchedulerHttpApiTest.Subscribe with protobuf: the stream carries
/// protobuf v1 events when the client accepts only protobuf.
#[test]
fn scheduler_http_api_protobuf_stream() {
    use mesos_proto::mesos::v1::scheduler::{call, Call as V1Call, Event as V1Event};
    use prost::Message;
    let (mut sim, m) = sim_with_master(25, &[]);
    agent(&mut sim, &m, 1, vec![]);
    sim.settle();
    let call = V1Call {
        r#type: Some(call::Type::Subscribe as i32),
        subscribe: Some(call::Subscribe {
            framework_info: mesos_proto::mesos::v1::FrameworkInfo {
                user: "u".into(),
                name: "pb-fw".into(),
                ..Default::default()
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut r = Request::new(Method::POST, "/master/api/v1/scheduler");
    r.headers
        .insert("content-type", "application/x-protobuf".parse().unwrap());
    r.headers
        .insert("accept", "application/x-protobuf".parse().unwrap());
    r.body = Bytes::from(call.encode_to_vec());
    let h = sim.http(master_addr(), r);
    sim.settle();
    assert_eq!(h.status(), Some(StatusCode::OK));
    assert_eq!(
        h.head().unwrap().headers.get("content-type").unwrap(),
        "application/x-protobuf"
    );
    let mut d = mesos_proto::recordio::Decoder::new(1 << 20);
    let recs = d.decode(&h.stream_body()).unwrap();
    let first = V1Event::decode(recs[0].clone()).unwrap();
    assert_eq!(
        first.r#type,
        Some(mesos_proto::mesos::v1::scheduler::event::Type::Subscribed as i32)
    );
    assert_eq!(
        first.subscribed.unwrap().framework_id.value,
        format!("{MASTER_ID}-0000")
    );
    let second = V1Event::decode(recs[1].clone()).unwrap();
    assert_eq!(second.offers.unwrap().offers.len(), 1);
}

/// MasterTest reconciliation on reregistration (upstream
/// `reconcileKnownSlave`): a task the agent does not report comes back in
/// `SlaveReregisteredMessage.reconciliations`.
#[test]
fn master_reregistration_reconciles_unreported_tasks() {
    let (mut sim, m) = sim_with_master(26, &[]);
    let ag = agent(&mut sim, &m, 1, vec![TaskState::TaskRunning]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::LaunchOnce(task_resources()));
    sim.settle();
    assert_eq!(a(&sim, &s).states(), vec![TaskState::TaskRunning]);
    // The agent comes back reporting no tasks.
    sim.dispatch(&ag, |fa: &mut FakeAgent, cx| fa.reregister(cx));
    sim.settle();
    let msg = a(&sim, &ag)
        .last_reregistered
        .clone()
        .unwrap_or_else(|| panic!("not reregistered:\n{}", sim.trace_text(12)));
    assert_eq!(msg.reconciliations.len(), 1);
    let rec = &msg.reconciliations[0];
    assert_eq!(rec.statuses[0].task_id.value, "task-1");
    assert_eq!(rec.statuses[0].state, TaskState::TaskRunning as i32);
    assert_eq!(rec.statuses[0].reason, Some(Reason::Reconciliation as i32));
}

/// MasterTest.OfferTimeout: with --offer_timeout an unused offer is
/// rescinded and its resources offered again.
#[test]
fn master_offer_timeout_rescinds() {
    let (mut sim, m) = sim_with_master(27, &["--offer_timeout=30secs"]);
    agent(&mut sim, &m, 1, vec![]);
    let s = scheduler(&mut sim, &m, 1, OfferPolicy::Hold);
    sim.settle();
    assert_eq!(a(&sim, &s).offers.len(), 1);
    sim.advance(Duration::from_secs(29));
    assert!(a(&sim, &s).rescinded.is_empty());
    sim.advance(Duration::from_secs(3));
    let fs = a(&sim, &s);
    assert_eq!(fs.rescinded, vec![fs.offers[0].id.value.clone()]);
    assert_eq!(fs.offers.len(), 2, "re-offered after the rescind");
}

/// A framework whose role is not in --roles is refused with
/// FrameworkErrorMessage (upstream `validateFramework`).
#[test]
fn master_refuses_framework_with_unlisted_role() {
    let (mut sim, m) = sim_with_master(28, &["--roles=web"]);
    sim.add_node(sched_addr(1));
    let mut fs = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
    fs.info.role = Some("db".into());
    let s = sim.spawn(sched_addr(1), "scheduler-1", fs);
    sim.settle();
    let fs = a(&sim, &s);
    assert_eq!(fs.registered, 0);
    assert_eq!(fs.errors.len(), 1);
    assert!(fs.errors[0].contains("--roles"), "{:?}", fs.errors);
    assert!(master_of(&sim, &m).state().frameworks.is_empty());
}

/// A framework in a reserved role gets the reserved resources too;
/// another role only the unreserved ones.
#[test]
fn master_offers_reserved_resources_to_their_role() {
    let (mut sim, m) = sim_with_master(29, &[]);
    sim.add_node(agent_addr(1));
    let mut fa = FakeAgent::new(m.upid.clone(), vec![]);
    fa.cpus = 1.0;
    sim.spawn(agent_addr(1), "slave(1)", fa);
    // Reserve 1 more cpu for "web" by registering a second agent whose
    // resources are all reserved.
    sim.add_node(agent_addr(2));
    let from = libprocess::Upid::new("slave(1)", agent_addr(2));
    let mut info = FakeAgent::new(m.upid.clone(), vec![]).info();
    for r in info.resources.iter_mut() {
        r.role = Some("web".into());
    }
    let msg = mesos_proto::mesos::internal::RegisterSlaveMessage {
        slave: info,
        version: Some("1.9.0".into()),
        ..Default::default()
    };
    sim.send(&from, &m.upid, &msg);
    sim.settle();
    sim.add_node(sched_addr(1));
    let mut web = FakeScheduler::new(m.upid.clone(), OfferPolicy::Hold);
    web.info.role = Some("web".into());
    let w = sim.spawn(sched_addr(1), "scheduler-web", web);
    sim.settle();
    let offers = &a(&sim, &w).offers;
    assert_eq!(offers.len(), 2, "both agents offered to the web role");
    let reserved: Vec<_> = offers
        .iter()
        .flat_map(|o| o.resources.iter())
        .filter(|r| r.role.as_deref() == Some("web"))
        .collect();
    assert!(!reserved.is_empty(), "reserved resources in old format");
}

/// `--agent_removal_rate_limit` (upstream `SlaveObserver` with the master's
/// `RateLimiter`, as in PartitionTest's rate-limited cases): two agents stop
/// answering pings at once; with `1/1mins` the second transition to
/// unreachable waits a minute behind the first, and a pong in the meantime
/// cancels it.
#[test]
fn master_rate_limits_marking_agents_unreachable() {
    for cancel in [false, true] {
        let (mut sim, m) = sim_with_master(40, &["--agent_removal_rate_limit=1/1mins"]);
        let _keep = agent(&mut sim, &m, 3, vec![]);
        let _a1 = agent(&mut sim, &m, 1, vec![]);
        let _a2 = agent(&mut sim, &m, 2, vec![]);
        sim.settle();
        let pongs = |n: u8| {
            Matcher::message::<PongSlaveMessage>()
                .from(&libprocess::Upid::new("slave(1)", agent_addr(n)))
        };
        let f1 = sim.drop_messages(pongs(1));
        let f2 = sim.drop_messages(pongs(2));
        // Five missed pings (plus one period of slack): one agent goes.
        sim.advance(Duration::from_secs(90));
        let st = master_of(&sim, &m).state();
        assert_eq!(st.unreachable.len(), 1, "one transition at a time");
        assert_eq!(st.agents.len(), 2);
        if cancel {
            // The other answers again before its slot comes up.
            sim.remove_fault(f1);
            sim.remove_fault(f2);
        }
        sim.advance(Duration::from_secs(60));
        let master = master_of(&sim, &m);
        let metrics = master.metrics_json(sim.wall_secs());
        assert_eq!(metrics["master/slave_unreachable_scheduled"], 2.0);
        let (unreachable, canceled) = if cancel { (1, 1.0) } else { (2, 0.0) };
        assert_eq!(
            master.state().unreachable.len(),
            unreachable,
            "cancel={cancel}"
        );
        assert_eq!(metrics["master/slave_unreachable_canceled"], canceled);
        assert_eq!(
            metrics["master/slave_unreachable_completed"],
            unreachable as f64
        );
    }
}
