//! The cluster builder on the simulator: scenarios named after the
//! upstream tests they resemble.

use std::time::Duration;

use mesos_proto::mesos::TaskState;
use mesos_test_harness::cluster::ClusterBuilder;
use mesos_test_harness::invariants::check_final;
use mesos_test_harness::model::agent::TaskBehavior;
use mesos_test_harness::model::scheduler::SchedulerSpec;

fn spec(name: &str, tasks: usize, b: Vec<TaskBehavior>) -> SchedulerSpec {
    SchedulerSpec {
        name: name.into(),
        tasks,
        behaviors: b,
        ..SchedulerSpec::default()
    }
}

fn states(c: &mesos_test_harness::cluster::Cluster, i: usize) -> Vec<i32> {
    c.scheduler(i).unwrap().tasks.values().copied().collect()
}

/// MasterTest.TaskRunning + StatusUpdateAck: tasks run, finish, fail and
/// hang as the fake containerizer is told; updates are acknowledged.
#[test]
fn tasks_follow_their_behaviors() {
    let mut c = ClusterBuilder::new(1)
        .agents(2)
        .scheduler(spec(
            "fw",
            3,
            vec![
                TaskBehavior::Run(Duration::from_secs(2)),
                TaskBehavior::Fail(Duration::from_secs(1)),
                TaskBehavior::Hang,
            ],
        ))
        .build();
    c.run_for(Duration::from_secs(30));
    let mut st = states(&c, 0);
    st.sort();
    let mut want = vec![
        TaskState::TaskFinished as i32,
        TaskState::TaskFailed as i32,
        TaskState::TaskRunning as i32,
    ];
    want.sort();
    assert_eq!(st, want);
    // Every update was acknowledged: only the hanging task is left.
    let left: usize = (0..2).map(|i| c.agent(i).unwrap().tasks.len()).sum();
    assert_eq!(left, 1);
    assert!((0..2).all(|i| c.agent(i).unwrap().streams.is_empty()));
    assert_eq!(check_final(&c), vec![]);
}

/// SlaveRecoveryTest.ReconnectExecutor-like: an agent node crashes with a
/// running task and comes back from its checkpoint under the same ID.
#[test]
fn agent_restart_recovers_tasks_from_checkpoint() {
    let mut c = ClusterBuilder::new(2)
        .agents(1)
        .scheduler(spec("fw", 2, vec![TaskBehavior::Hang]))
        .build();
    c.run_for(Duration::from_secs(10));
    let id = c.agent(0).unwrap().id.clone().unwrap();
    assert_eq!(c.agent(0).unwrap().tasks.len(), 2);
    c.crash_agent(0);
    c.run_for(Duration::from_secs(5));
    c.restart_agent(0);
    c.run_for(Duration::from_secs(10));
    let a = c.agent(0).unwrap();
    assert_eq!(a.id.as_deref(), Some(id.as_str()));
    assert_eq!(a.tasks.len(), 2);
    assert!(a.counters.reregistrations >= 1);
    assert_eq!(check_final(&c), vec![]);
}

/// MasterFailoverTest-like: the master node restarts with a new ID; agents
/// reregister with their tasks and the framework fails over to it.
#[test]
fn master_failover_reregisters_agents_and_frameworks() {
    let mut c = ClusterBuilder::new(3)
        .agents(2)
        .scheduler(spec("fw", 4, vec![TaskBehavior::Hang]))
        .build();
    c.run_for(Duration::from_secs(10));
    let old = c.master().unwrap().info().id.clone();
    // The registry is on the master node's disk, synced.
    let disk = c.sim.disk(mesos_test_harness::cluster::master_addr());
    let reg = <mesos_proto::mesos::internal::Registry as prost::Message>::decode(
        disk.read("registry/registry.pb").expect("registry written"),
    )
    .unwrap();
    assert_eq!(reg.slaves.unwrap().slaves.len(), 2);
    c.crash_master();
    c.run_for(Duration::from_secs(3));
    c.restart_master();
    c.run_for(Duration::from_secs(20));
    let m = c.master().unwrap();
    assert_ne!(m.info().id, old);
    assert_eq!(m.state().agents.len(), 2);
    let tasks: usize = m.state().frameworks.values().map(|f| f.tasks.len()).sum();
    assert_eq!(tasks, 4);
    assert!(c.scheduler(0).unwrap().connected);
    assert_eq!(check_final(&c), vec![]);
}

/// FaultToleranceTest.SchedulerFailover: the scheduler crashes and comes
/// back with its framework ID; its tasks keep running.
#[test]
fn scheduler_failover_keeps_tasks() {
    let mut c = ClusterBuilder::new(4)
        .agents(1)
        .scheduler(spec("fw", 2, vec![TaskBehavior::Hang]))
        .build();
    c.run_for(Duration::from_secs(10));
    let fid = c.scheduler(0).unwrap().framework_id.clone();
    c.crash_scheduler(0);
    c.run_for(Duration::from_secs(5));
    c.restart_scheduler(0);
    c.run_for(Duration::from_secs(10));
    let s = c.scheduler(0).unwrap();
    assert_eq!(s.framework_id, fid);
    assert!(s.connected);
    assert_eq!(s.tasks.len(), 2);
    assert_eq!(check_final(&c), vec![]);
}

/// Operator GET_STATE and /master/state agree with the master.
#[test]
fn operator_state_lists_agents() {
    let mut c = ClusterBuilder::new(5)
        .agents(3)
        .scheduler(spec("fw", 1, vec![TaskBehavior::Hang]))
        .build();
    c.run_for(Duration::from_secs(5));
    let v1 = c.get_state(Duration::from_secs(1)).unwrap();
    assert_eq!(
        v1["get_state"]["get_agents"]["agents"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let v0 = c.v0_state(Duration::from_secs(1)).unwrap();
    assert_eq!(v0["slaves"].as_array().unwrap().len(), 3);
}

/// MasterDrainingTest.DrainAgent with the model agent: DRAIN_AGENT with a
/// 2 s `max_grace_period` rescinds the agent's offers, the hanging tasks
/// die when the grace period runs out (TASK_KILLED), and once their updates
/// are acknowledged the agent is DRAINED and has finished draining.
#[test]
fn drain_agent_kills_hanging_tasks_after_the_grace_period() {
    let mut c = ClusterBuilder::new(9)
        .agents(1)
        .scheduler(spec("fw", 2, vec![TaskBehavior::Hang]))
        .build();
    c.run_for(Duration::from_secs(10));
    let id = c.agent(0).unwrap().id.clone().unwrap();
    let call = format!(
        r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{id}"}},"max_grace_period":{{"seconds":2}}}}}}"#
    );
    let (status, body) = c.operator_call(&call, Duration::from_secs(1)).unwrap();
    assert_eq!(status, http::StatusCode::OK, "{body:?}");
    let draining = mesos_proto::mesos::DrainState::Draining as i32;
    let drained = mesos_proto::mesos::DrainState::Drained as i32;
    {
        let st = c.master().unwrap().state();
        assert_eq!(st.draining[&id].state, draining);
        assert!(st.offers.is_empty());
    }
    c.run_for(Duration::from_secs(1));
    assert_eq!(states(&c, 0), vec![TaskState::TaskRunning as i32; 2]);
    assert!(c.agent(0).unwrap().drain.is_some());
    c.run_for(Duration::from_secs(3));
    assert_eq!(states(&c, 0), vec![TaskState::TaskKilled as i32; 2]);
    assert_eq!(c.master().unwrap().state().draining[&id].state, drained);
    let a = c.agent(0).unwrap();
    assert!(a.drain.is_none() && a.tasks.is_empty());
    assert_eq!(a.counters.drains, 1);
}
