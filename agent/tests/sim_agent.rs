//! The agent actor on the deterministic simulator, against a recording fake
//! master and a fake executor driver (no processes are forked: a fake
//! containerizer records launches). Scenarios are named after the upstream
//! tests they mirror:
//!
//! - `registration_retries_with_backoff` ↔ `SlaveTest.RegistrationRetry`-like
//!   behaviour of `doReliableRegistration`;
//! - `ping_timeout_reregisters` ↔ `SlaveTest.PingTimeoutNoPings` /
//!   `PingTimeoutSomePings`;
//! - `status_update_retried_until_acknowledged` ↔
//!   `TaskStatusUpdateManagerTest.RetryStatusUpdate`;
//! - `duplicate_terminal_update_reaches_master_once` ↔
//!   `TaskStatusUpdateManagerTest.IgnoreDuplicateStatusUpdate`;
//! - `scenario_is_deterministic`: the same seed gives the same trace.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use libprocess::filter::Matcher;
use libprocess::runtime::sim::{check_determinism, Sim, SimConfig};
use libprocess::{Actor, Cx, Pid, Routes, Upid};
use mesos_agent::slave::{ContainerLaunch, Containerizer, Slave, State};
use mesos_agent::AgentConfig;
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::{
    CommandInfo, ExecutorId, FrameworkId, FrameworkInfo, Resource, SlaveId, SlaveInfo, TaskId,
    TaskInfo, TaskState, TaskStatus,
};

const MASTER: &str = "10.0.0.1:5050";
const AGENT: &str = "10.0.0.2:5051";
const EXEC: &str = "10.0.0.3:40000";
const AGENT_ID: &str = "M-S0";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// What the fake master received.
#[derive(Default)]
struct FakeMaster {
    register: Vec<msg::RegisterSlaveMessage>,
    reregister: Vec<msg::ReregisterSlaveMessage>,
    updates: Vec<msg::StatusUpdateMessage>,
    update_slave: Vec<msg::UpdateSlaveMessage>,
    pongs: usize,
}

impl Actor for FakeMaster {
    fn install(r: &mut Routes<Self>) {
        r.message::<msg::RegisterSlaveMessage>(|m, _, _, x| m.register.push(x));
        r.message::<msg::ReregisterSlaveMessage>(|m, _, _, x| m.reregister.push(x));
        r.message::<msg::StatusUpdateMessage>(|m, _, _, x| m.updates.push(x));
        r.message::<msg::UpdateSlaveMessage>(|m, _, _, x| m.update_slave.push(x));
        r.message::<msg::PongSlaveMessage>(|m, _, _, _| m.pongs += 1);
    }
}

/// Records launches instead of forking.
#[derive(Default)]
struct FakeContainerizer {
    launches: Mutex<Vec<ContainerLaunch>>,
    destroyed: Mutex<Vec<String>>,
}

impl Containerizer for FakeContainerizer {
    fn launch(&self, l: &ContainerLaunch) -> Result<i32, mesos_agent::Error> {
        let mut v = self.launches.lock().unwrap();
        v.push(l.clone());
        let pid = 1000 + v.len() as i32;
        if let Some(p) = &l.forked_pid_path {
            mesos_agent::checkpoint::checkpoint_string(p, &pid.to_string())?;
        }
        Ok(pid)
    }
    fn wait(&self, _: &str, _: i32) -> Option<i32> {
        unreachable!("supports_wait is false")
    }
    fn supports_wait(&self) -> bool {
        false
    }
    fn destroy(&self, container_id: &str, _: i32) {
        self.destroyed
            .lock()
            .unwrap()
            .push(container_id.to_string());
    }
    fn alive(&self, pid: i32) -> bool {
        // Every launched container is still running (until destroyed).
        let n = self.launches.lock().unwrap().len() as i32;
        pid > 1000 && pid <= 1000 + n && self.destroyed.lock().unwrap().is_empty()
    }
}

/// The executor-driver side of the protocol, scripted by the test.
struct FakeExecutor {
    slave: Upid,
    framework_id: String,
    executor_id: String,
    registered: bool,
    tasks: Vec<TaskInfo>,
    acks: Vec<Bytes>,
    /// Updates not yet acknowledged by the agent (the driver's `updates`).
    unacked: Vec<msg::StatusUpdate>,
    reregistered: bool,
    kills: Vec<msg::KillTaskMessage>,
}

impl Actor for FakeExecutor {
    fn install(r: &mut Routes<Self>) {
        r.message::<msg::ExecutorRegisteredMessage>(|e, _, _, _| e.registered = true);
        r.message::<msg::ExecutorReregisteredMessage>(|e, _, _, _| e.reregistered = true);
        r.message::<msg::RunTaskMessage>(|e, _, _, m| e.tasks.push(m.task));
        r.message::<msg::KillTaskMessage>(|e, _, _, m| e.kills.push(m));
        r.message::<msg::StatusUpdateAcknowledgementMessage>(|e, _, _, m| {
            e.unacked.retain(|u| u.uuid.as_ref() != Some(&m.uuid));
            e.acks.push(m.uuid);
        });
        // `ExecutorProcess::reconnect`: answer with what is unacknowledged.
        r.message::<msg::ReconnectExecutorMessage>(|e, cx, from, _| {
            e.slave = from.clone();
            cx.link(&from);
            let m = msg::ReregisterExecutorMessage {
                executor_id: ExecutorId {
                    value: e.executor_id.clone(),
                },
                framework_id: FrameworkId {
                    value: e.framework_id.clone(),
                },
                tasks: Vec::new(),
                updates: e.unacked.clone(),
            };
            cx.send(&from, &m);
        });
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        let slave = self.slave.clone();
        cx.link(&slave);
        cx.send(
            &slave,
            &msg::RegisterExecutorMessage {
                framework_id: FrameworkId {
                    value: self.framework_id.clone(),
                },
                executor_id: ExecutorId {
                    value: self.executor_id.clone(),
                },
            },
        );
    }
}

impl FakeExecutor {
    fn send_update(&mut self, cx: &mut Cx<'_, Self>, task: &str, state: TaskState, n: u8) {
        let uuid = Bytes::from(vec![n; 16]);
        let sid = SlaveId {
            value: AGENT_ID.into(),
        };
        let mut status = TaskStatus {
            task_id: TaskId { value: task.into() },
            slave_id: Some(sid.clone()),
            uuid: Some(uuid.clone()),
            timestamp: Some(cx.wall_secs()),
            ..Default::default()
        };
        status.set_state(state);
        let update = msg::StatusUpdate {
            framework_id: FrameworkId {
                value: self.framework_id.clone(),
            },
            executor_id: Some(ExecutorId {
                value: self.executor_id.clone(),
            }),
            slave_id: Some(sid),
            status,
            timestamp: cx.wall_secs(),
            uuid: Some(uuid),
            latest_state: None,
        };
        self.unacked.push(update.clone());
        let slave = self.slave.clone();
        cx.send(
            &slave,
            &msg::StatusUpdateMessage {
                update,
                pid: Some(cx.me().to_string()),
            },
        );
    }
}

struct World {
    sim: Sim,
    master: Pid<FakeMaster>,
    agent: Pid<Slave>,
    containerizer: Arc<FakeContainerizer>,
    _work: tempfile::TempDir,
}

impl World {
    fn new(sim: Sim) -> World {
        let work = tempfile::tempdir().unwrap();
        World::with_dir(sim, work)
    }

    fn with_dir(mut sim: Sim, work: tempfile::TempDir) -> World {
        sim.add_node(addr(MASTER));
        sim.add_node(addr(AGENT));
        sim.add_node(addr(EXEC));
        let master = sim.spawn(addr(MASTER), "master", FakeMaster::default());
        let containerizer = Arc::new(FakeContainerizer::default());
        let agent = spawn_agent(&mut sim, work.path(), containerizer.clone());
        World {
            sim,
            master,
            agent,
            containerizer,
            _work: work,
        }
    }

    fn master(&self) -> &FakeMaster {
        self.sim.actor::<FakeMaster>(&self.master.upid).unwrap()
    }

    fn agent(&self) -> &Slave {
        self.sim.actor::<Slave>(&self.agent.upid).unwrap()
    }

    /// Waits for the first RegisterSlaveMessage and answers it; pings are
    /// not simulated, so the ping timeout is made very long.
    fn register(&mut self) {
        self.register_with_ping_timeout(1e6)
    }

    fn register_with_ping_timeout(&mut self, ping_timeout: f64) {
        let ok = self.sim.run_until(
            |s| {
                s.actor::<FakeMaster>(&Upid::parse_literal(&format!("master@{MASTER}")).unwrap())
                    .map(|m| !m.register.is_empty())
                    .unwrap_or(false)
            },
            Duration::from_secs(60),
        );
        assert!(ok, "agent never registered");
        let m = self.master.upid.clone();
        let a = self.agent.upid.clone();
        self.sim.send(
            &m,
            &a,
            &msg::SlaveRegisteredMessage {
                slave_id: SlaveId {
                    value: AGENT_ID.into(),
                },
                connection: Some(msg::MasterSlaveConnection {
                    total_ping_timeout_seconds: Some(ping_timeout),
                }),
            },
        );
        self.sim.settle();
        assert_eq!(self.agent().state(), State::Running);
    }
}

fn spawn_agent(sim: &mut Sim, work: &std::path::Path, c: Arc<FakeContainerizer>) -> Pid<Slave> {
    let mut config = AgentConfig::new(work);
    config.master = Some(MASTER.to_string());
    // A fixed path: it appears in the generated ExecutorInfo (traces compare).
    config.launcher_dir = std::path::PathBuf::from("/nonexistent/launcher");
    // The real disk's usage would make gc timing depend on the machine.
    config.disk_watch_interval = Duration::from_secs(365 * 86400);
    let info = SlaveInfo {
        hostname: "agent".into(),
        port: Some(5051),
        resources: vec![scalar("cpus", 2.0), scalar("mem", 1024.0)],
        ..Default::default()
    };
    sim.spawn(addr(AGENT), "slave(1)", Slave::new(config, info, c))
}

fn scalar(name: &str, v: f64) -> Resource {
    mesos_allocator::Resources::scalar(name, v)
}

fn run_task_message(checkpoint: bool) -> msg::RunTaskMessage {
    msg::RunTaskMessage {
        framework: FrameworkInfo {
            user: "root".into(),
            name: "fw".into(),
            id: Some(FrameworkId { value: "F".into() }),
            checkpoint: Some(checkpoint),
            ..Default::default()
        },
        task: TaskInfo {
            name: "t".into(),
            task_id: TaskId { value: "T".into() },
            slave_id: SlaveId {
                value: AGENT_ID.into(),
            },
            resources: vec![scalar("cpus", 0.1)],
            command: Some(CommandInfo {
                value: Some("echo hi".into()),
                ..Default::default()
            }),
            ..Default::default()
        },
        pid: Some("scheduler-1@10.0.0.9:1".into()),
        ..Default::default()
    }
}

/// Registers, runs one task and brings up the fake executor for it.
fn launch_task(w: &mut World, checkpoint: bool) -> Pid<FakeExecutor> {
    w.register();
    let (m, a) = (w.master.upid.clone(), w.agent.upid.clone());
    w.sim.send(&m, &a, &run_task_message(checkpoint));
    w.sim.settle();
    let launch = w.containerizer.launches.lock().unwrap()[0].clone();
    let env = &launch.spec.environment;
    assert_eq!(env["MESOS_SLAVE_PID"], format!("slave(1)@{AGENT}"));
    assert_eq!(env["MESOS_FRAMEWORK_ID"], "F");
    assert_eq!(env["MESOS_EXECUTOR_ID"], "T");
    assert_eq!(env["MESOS_CHECKPOINT"], if checkpoint { "1" } else { "0" });
    assert_eq!(env["MESOS_DIRECTORY"], env["MESOS_SANDBOX"]);
    assert!(launch
        .spec
        .directory
        .ends_with(format!("executors/T/runs/{}", launch.container_id)));
    let exec = w.sim.spawn(
        addr(EXEC),
        "executor(1)",
        FakeExecutor {
            slave: Upid::parse_literal(&env["MESOS_SLAVE_PID"]).unwrap(),
            framework_id: "F".into(),
            executor_id: "T".into(),
            registered: false,
            tasks: Vec::new(),
            acks: Vec::new(),
            unacked: Vec::new(),
            reregistered: false,
            kills: Vec::new(),
        },
    );
    w.sim.settle();
    let e = w.sim.actor::<FakeExecutor>(&exec.upid).unwrap();
    assert!(e.registered, "executor registered");
    assert_eq!(e.tasks.len(), 1, "queued task delivered after registration");
    exec
}

#[test]
fn registration_retries_with_backoff() {
    let mut w = World::new(Sim::from_env(11));
    let drop = w
        .sim
        .drop_messages(Matcher::message::<msg::RegisterSlaveMessage>());
    w.sim.advance(Duration::from_secs(30));
    let attempts = w.sim.fault_hits(drop);
    // Backoff doubles from 1 s (random fraction), capped at 1 min: within
    // 30 s there are several attempts but far fewer than one per second.
    assert!(attempts >= 3, "only {attempts} registration attempts");
    assert!(attempts < 30, "{attempts} attempts: no backoff");
    assert!(w.master().register.is_empty());
    w.sim.remove_fault(drop);
    w.register();
    let reg = &w.master().register[0];
    assert_eq!(reg.version.as_deref(), Some("1.9.0"));
    assert!(reg.slave.id.is_none());
    assert_eq!(reg.agent_capabilities.len(), 7);
    assert!(reg.resource_version_uuid.is_some());
    // Registered: no more attempts, one UpdateSlaveMessage, slave.info on disk.
    let n = w.master().register.len();
    w.sim.advance(Duration::from_secs(300));
    assert_eq!(w.master().register.len(), n);
    assert_eq!(w.master().update_slave.len(), 1);
    assert_eq!(w.agent().slave_id(), Some(AGENT_ID));
    let info = mesos_agent::paths::slave_info_path(
        &mesos_agent::paths::meta_root(w._work.path()),
        AGENT_ID,
    );
    let saved: SlaveInfo = mesos_agent::checkpoint::read_message(&info)
        .unwrap()
        .unwrap();
    assert_eq!(saved.id.unwrap().value, AGENT_ID);
    // A registration message from someone else is ignored.
    let stranger = Upid::parse_literal("master@10.0.0.7:5050").unwrap();
    let a = w.agent.upid.clone();
    w.sim.send(
        &stranger,
        &a,
        &msg::SlaveRegisteredMessage {
            slave_id: SlaveId { value: "X".into() },
            connection: None,
        },
    );
    w.sim.settle();
    assert_eq!(w.agent().slave_id(), Some(AGENT_ID));
}

#[test]
fn ping_timeout_reregisters() {
    let mut w = World::new(Sim::from_env(12));
    let observer = w
        .sim
        .spawn(addr(MASTER), "slave-observer(1)", FakeMaster::default());
    w.register_with_ping_timeout(15.0);
    let a = w.agent.upid.clone();
    // A ping 10 s in: the pong goes to the observer, not the master.
    w.sim.advance(Duration::from_secs(10));
    w.sim.send(
        &observer.upid,
        &a,
        &msg::PingSlaveMessage { connected: true },
    );
    w.sim.settle();
    assert_eq!(w.sim.actor::<FakeMaster>(&observer.upid).unwrap().pongs, 1);
    assert_eq!(w.master().pongs, 0);
    // 14 s after that ping, still fine (timeout is 15 s from the master).
    w.sim.advance(Duration::from_secs(14));
    assert_eq!(w.agent().state(), State::Running);
    assert!(w.master().reregister.is_empty());
    // Past the timeout: re-detect and reregister with the known id.
    w.sim.advance(Duration::from_secs(2));
    assert_eq!(w.agent().state(), State::Disconnected);
    let ok = w.sim.run_until(
        |s| {
            s.actor::<FakeMaster>(&Upid::parse_literal(&format!("master@{MASTER}")).unwrap())
                .map(|m| !m.reregister.is_empty())
                .unwrap_or(false)
        },
        Duration::from_secs(60),
    );
    assert!(ok, "agent did not reregister after the ping timeout");
    assert_eq!(
        w.master().reregister[0].slave.id.as_ref().unwrap().value,
        AGENT_ID
    );
    // The master confirms; a ping with connected=false forces re-detection.
    let m = w.master.upid.clone();
    w.sim.send(
        &m,
        &a,
        &msg::SlaveReregisteredMessage {
            slave_id: SlaveId {
                value: AGENT_ID.into(),
            },
            reconciliations: vec![],
            connection: None,
        },
    );
    w.sim.settle();
    assert_eq!(w.agent().state(), State::Running);
    w.sim.send(
        &observer.upid,
        &a,
        &msg::PingSlaveMessage { connected: false },
    );
    w.sim.settle();
    assert_eq!(w.agent().state(), State::Disconnected);
}

#[test]
fn status_update_retried_until_acknowledged() {
    let mut w = World::new(Sim::from_env(13));
    let exec = launch_task(&mut w, true);
    let master = w.master.upid.clone();
    let drop = w
        .sim
        .drop_next(Matcher::message::<msg::StatusUpdateMessage>().to(&master));
    w.sim.dispatch(&exec, |e, cx| {
        e.send_update(cx, "T", TaskState::TaskRunning, 1)
    });
    w.sim.settle();
    assert_eq!(w.sim.fault_hits(drop), 1, "first forward dropped");
    // The agent acknowledged the executor as soon as it had the update.
    assert_eq!(
        w.sim.actor::<FakeExecutor>(&exec.upid).unwrap().acks.len(),
        1
    );
    assert!(w.master().updates.is_empty());
    w.sim.advance(Duration::from_secs(10));
    assert_eq!(w.master().updates.len(), 1, "retried after 10 s");
    let u = &w.master().updates[0];
    assert_eq!(u.pid.as_deref(), Some(w.agent.upid.to_string().as_str()));
    assert_eq!(u.update.latest_state, Some(TaskState::TaskRunning as i32));
    w.sim.advance(Duration::from_secs(19));
    assert_eq!(w.master().updates.len(), 1, "next retry waits 20 s");
    w.sim.advance(Duration::from_secs(1));
    assert_eq!(w.master().updates.len(), 2);
    // The master acknowledges: retries stop.
    let a = w.agent.upid.clone();
    let ack = |n: u8| msg::StatusUpdateAcknowledgementMessage {
        slave_id: SlaveId {
            value: AGENT_ID.into(),
        },
        framework_id: FrameworkId { value: "F".into() },
        task_id: TaskId { value: "T".into() },
        uuid: Bytes::from(vec![n; 16]),
    };
    w.sim.send(&master, &a, &ack(1));
    w.sim.advance(Duration::from_secs(600));
    assert_eq!(w.master().updates.len(), 2);
    // Terminal update, acked; then the executor exits: everything is cleaned up.
    w.sim.dispatch(&exec, |e, cx| {
        e.send_update(cx, "T", TaskState::TaskFinished, 2)
    });
    w.sim.settle();
    assert_eq!(w.master().updates.len(), 3);
    assert_eq!(
        w.master().updates[2].update.status.state(),
        TaskState::TaskFinished
    );
    w.sim.send(&master, &a, &ack(2));
    w.sim.settle();
    let cid = w.containerizer.launches.lock().unwrap()[0]
        .container_id
        .clone();
    w.sim.dispatch(&w.agent.clone(), move |s, cx| {
        s.container_terminated(cx, &cid, Some(0))
    });
    w.sim.settle();
    assert!(w.agent().frameworks().is_empty(), "framework archived");
    // The checkpointed stream holds both updates and both acks.
    let launch = w.containerizer.launches.lock().unwrap()[0].clone();
    let key = mesos_agent::paths::RunKey {
        slave_id: AGENT_ID.into(),
        framework_id: "F".into(),
        executor_id: "T".into(),
        container_id: launch.container_id.clone(),
    };
    let meta = mesos_agent::paths::meta_root(w._work.path());
    let records: Vec<msg::StatusUpdateRecord> =
        mesos_agent::checkpoint::read_messages(&key.task_updates(&meta, "T"), false).unwrap();
    let kinds: Vec<i32> = records.iter().map(|r| r.r#type).collect();
    assert_eq!(kinds, vec![0, 1, 0, 1], "UPDATE, ACK, UPDATE, ACK");
    assert!(
        key.sentinel(&meta).exists(),
        "executor.sentinel marks the run completed"
    );
    assert_eq!(
        mesos_agent::checkpoint::read_string(&key.forked_pid(&meta)).unwrap(),
        Some("1001".to_string()),
        "the launcher's pid is checkpointed"
    );
    // After `--gc_delay` (1 week) the sandbox and the checkpointed run go.
    let sandbox = launch.spec.directory.clone();
    assert!(sandbox.exists());
    w.sim.advance(Duration::from_secs(7 * 86400 - 60));
    assert!(sandbox.exists(), "kept until gc_delay");
    w.sim.advance(Duration::from_secs(120));
    assert!(!sandbox.exists(), "sandbox garbage collected");
    assert!(
        !key.meta_run(&meta).exists(),
        "checkpointed run garbage collected"
    );
}

#[test]
fn duplicate_terminal_update_reaches_master_once() {
    let mut w = World::new(Sim::from_env(14));
    let exec = launch_task(&mut w, false);
    let a = w.agent.upid.clone();
    let dup = w
        .sim
        .duplicate(Matcher::message::<msg::StatusUpdateMessage>().to(&a));
    w.sim.dispatch(&exec, |e, cx| {
        e.send_update(cx, "T", TaskState::TaskFinished, 9)
    });
    w.sim.settle();
    assert!(w.sim.fault_hits(dup) >= 1);
    let finished = w
        .master()
        .updates
        .iter()
        .filter(|u| u.update.status.state() == TaskState::TaskFinished)
        .count();
    assert_eq!(finished, 1);
    assert_eq!(
        w.agent().metrics().valid_status_updates,
        2,
        "both copies were valid input"
    );
}

#[test]
fn kill_of_queued_task_reports_killed_and_shuts_executor_down() {
    let mut w = World::new(Sim::from_env(15));
    w.register();
    let (m, a) = (w.master.upid.clone(), w.agent.upid.clone());
    w.sim.send(&m, &a, &run_task_message(false));
    w.sim.settle();
    // Kill before the executor registers.
    w.sim.send(
        &m,
        &a,
        &msg::KillTaskMessage {
            framework_id: FrameworkId { value: "F".into() },
            task_id: TaskId { value: "T".into() },
            kill_policy: None,
        },
    );
    w.sim.settle();
    let u = &w.master().updates;
    assert_eq!(u.len(), 1);
    assert_eq!(u[0].update.status.state(), TaskState::TaskKilled);
    assert_eq!(
        u[0].update.status.message.as_deref(),
        Some("Killed before delivery to the executor")
    );
    // The executor has nothing to run: killed after the grace period.
    w.sim.advance(Duration::from_secs(6));
    assert_eq!(w.containerizer.destroyed.lock().unwrap().len(), 1);
}

/// `SlaveRecoveryTest.ReconnectExecutor` + `RecoverTerminatedExecutor`-like:
/// the agent crashes, the task finishes meanwhile (the executor keeps the
/// unacknowledged terminal update), the restarted agent reconnects to the
/// executor, which hands the update over; the master sees it exactly once.
#[test]
fn restarted_agent_reconnects_executor_and_forwards_its_update_once() {
    let mut w = World::new(Sim::from_env(16));
    let exec = launch_task(&mut w, true);
    let master = w.master.upid.clone();
    w.sim.dispatch(&exec, |e, cx| {
        e.send_update(cx, "T", TaskState::TaskRunning, 1)
    });
    w.sim.settle();
    let a = w.agent.upid.clone();
    w.sim.send(
        &master,
        &a,
        &msg::StatusUpdateAcknowledgementMessage {
            slave_id: SlaveId {
                value: AGENT_ID.into(),
            },
            framework_id: FrameworkId { value: "F".into() },
            task_id: TaskId { value: "T".into() },
            uuid: Bytes::from(vec![1u8; 16]),
        },
    );
    w.sim.settle();
    // Crash the agent; the task finishes while it is down.
    w.sim.crash_actor(&a);
    w.sim.dispatch(&exec, |e, cx| {
        e.send_update(cx, "T", TaskState::TaskFinished, 2)
    });
    w.sim.settle();
    assert_eq!(
        w.sim
            .actor::<FakeExecutor>(&exec.upid)
            .unwrap()
            .unacked
            .len(),
        1
    );
    // Restart on the same work dir.
    let work = w._work.path().to_path_buf();
    let agent = spawn_agent(&mut w.sim, &work, w.containerizer.clone());
    w.agent = agent;
    w.sim.settle();
    let e = w.sim.actor::<FakeExecutor>(&exec.upid).unwrap();
    assert!(
        e.reregistered,
        "executor reregistered with the restarted agent"
    );
    // Updates handed over on reregistration are not acknowledged to the
    // executor (upstream calls `statusUpdate(update, UPID())`).
    assert_eq!(e.unacked.len(), 1);
    let ok = w.sim.run_until(
        |s| {
            s.actor::<FakeMaster>(&Upid::parse_literal(&format!("master@{MASTER}")).unwrap())
                .map(|m| !m.reregister.is_empty())
                .unwrap_or(false)
        },
        Duration::from_secs(60),
    );
    assert!(ok, "no reregistration after recovery");
    let rr = &w.master().reregister[0];
    assert_eq!(rr.slave.id.as_ref().unwrap().value, AGENT_ID);
    assert_eq!(rr.frameworks.len(), 1);
    assert_eq!(rr.tasks.len(), 1);
    assert_eq!(rr.tasks[0].task_id.value, "T");
    assert!(
        rr.executor_infos.is_empty(),
        "command executors are not reported"
    );
    let a = w.agent.upid.clone();
    w.sim.send(
        &master,
        &a,
        &msg::SlaveReregisteredMessage {
            slave_id: SlaveId {
                value: AGENT_ID.into(),
            },
            reconciliations: vec![],
            connection: Some(msg::MasterSlaveConnection {
                total_ping_timeout_seconds: Some(1e6),
            }),
        },
    );
    w.sim.settle();
    w.sim.advance(Duration::from_secs(5));
    let states: Vec<TaskState> = w
        .master()
        .updates
        .iter()
        .map(|u| u.update.status.state())
        .collect();
    assert_eq!(
        states,
        vec![TaskState::TaskRunning, TaskState::TaskFinished]
    );
}

/// `MasterDrainingTest`-like agent side: draining kills running tasks with
/// the capped grace period, marks the kills as REASON_SLAVE_DRAINING, drops
/// new tasks, and forgets `drain.config` once no framework is left.
#[test]
fn drain_kills_tasks_and_drops_new_ones() {
    use mesos_proto::mesos::{task_status, DrainConfig, DurationInfo};
    let mut w = World::new(Sim::from_env(17));
    let exec = launch_task(&mut w, true);
    w.sim.dispatch(&exec, |e, cx| {
        e.send_update(cx, "T", TaskState::TaskRunning, 1)
    });
    w.sim.settle();
    let (m, a) = (w.master.upid.clone(), w.agent.upid.clone());
    let ack = |n: u8| msg::StatusUpdateAcknowledgementMessage {
        slave_id: SlaveId {
            value: AGENT_ID.into(),
        },
        framework_id: FrameworkId { value: "F".into() },
        task_id: TaskId { value: "T".into() },
        uuid: Bytes::from(vec![n; 16]),
    };
    w.sim.send(&m, &a, &ack(1));
    w.sim.send(
        &m,
        &a,
        &msg::DrainSlaveMessage {
            config: DrainConfig {
                max_grace_period: Some(DurationInfo {
                    nanoseconds: 1_000_000_000,
                }),
                mark_gone: Some(false),
            },
        },
    );
    w.sim.settle();
    let drain_file =
        mesos_agent::paths::slave_path(&mesos_agent::paths::meta_root(w._work.path()), AGENT_ID)
            .join("drain.config");
    assert!(drain_file.exists(), "drain config checkpointed");
    let kills = &w.sim.actor::<FakeExecutor>(&exec.upid).unwrap().kills;
    assert_eq!(kills.len(), 1);
    assert_eq!(
        kills[0]
            .kill_policy
            .unwrap()
            .grace_period
            .unwrap()
            .nanoseconds,
        1_000_000_000
    );
    // A new task while draining is dropped.
    let mut run = run_task_message(true);
    run.task.task_id.value = "T2".into();
    w.sim.send(&m, &a, &run);
    w.sim.settle();
    let last = w.master().updates.last().unwrap().update.status.clone();
    assert_eq!(last.task_id.value, "T2");
    assert_eq!(last.state(), TaskState::TaskDropped);
    assert_eq!(last.reason(), task_status::Reason::SlaveDraining);
    assert_eq!(
        w.containerizer.launches.lock().unwrap().len(),
        1,
        "no executor for T2"
    );
    // The executor reports the kill: marked as caused by draining.
    w.sim.dispatch(&exec, |e, cx| {
        e.send_update(cx, "T", TaskState::TaskKilled, 2)
    });
    w.sim.settle();
    let killed = w
        .master()
        .updates
        .iter()
        .find(|u| u.update.status.state() == TaskState::TaskKilled)
        .expect("TASK_KILLED forwarded")
        .update
        .status
        .clone();
    assert_eq!(killed.reason(), task_status::Reason::SlaveDraining);
    // Everything acknowledged, the container gone: drained.
    w.sim.send(&m, &a, &ack(2));
    let t2 = w
        .master()
        .updates
        .iter()
        .find(|u| u.update.status.task_id.value == "T2")
        .unwrap()
        .update
        .uuid
        .clone()
        .unwrap();
    w.sim.send(
        &m,
        &a,
        &msg::StatusUpdateAcknowledgementMessage {
            slave_id: SlaveId {
                value: AGENT_ID.into(),
            },
            framework_id: FrameworkId { value: "F".into() },
            task_id: TaskId { value: "T2".into() },
            uuid: t2,
        },
    );
    w.sim.settle();
    let cid = w.containerizer.launches.lock().unwrap()[0]
        .container_id
        .clone();
    w.sim.dispatch(&w.agent.clone(), move |s, cx| {
        s.container_terminated(cx, &cid, Some(0))
    });
    w.sim.settle();
    assert!(w.agent().frameworks().is_empty());
    assert!(w.agent().drain_config().is_none());
    assert!(!drain_file.exists(), "drain config removed once drained");
}

/// `SlaveTest.ExecutorRegistrationTimeout`-like: an executor that never
/// registers is destroyed after `--executor_registration_timeout` and its
/// task fails with REASON_EXECUTOR_REGISTRATION_TIMEOUT.
#[test]
fn executor_registration_timeout_fails_the_task() {
    use mesos_proto::mesos::task_status;
    let mut w = World::new(Sim::from_env(18));
    w.register();
    let (m, a) = (w.master.upid.clone(), w.agent.upid.clone());
    w.sim.send(&m, &a, &run_task_message(false));
    w.sim.advance(Duration::from_secs(59));
    assert!(w.containerizer.destroyed.lock().unwrap().is_empty());
    w.sim.advance(Duration::from_secs(1));
    let destroyed = w.containerizer.destroyed.lock().unwrap().clone();
    assert_eq!(
        destroyed.len(),
        1,
        "container destroyed at the 1 min timeout"
    );
    let cid = destroyed[0].clone();
    w.sim.dispatch(&w.agent.clone(), move |s, cx| {
        s.container_terminated(cx, &cid, None)
    });
    w.sim.settle();
    let st = w
        .master()
        .updates
        .last()
        .expect("an update")
        .update
        .status
        .clone();
    assert_eq!(st.state(), TaskState::TaskFailed);
    assert_eq!(
        st.reason(),
        task_status::Reason::ExecutorRegistrationTimeout
    );
    assert_eq!(
        st.message.as_deref(),
        Some("Executor did not register within 1mins")
    );
    assert_eq!(st.source(), task_status::Source::Slave);
}

#[test]
fn scenario_is_deterministic() {
    let seed = libprocess::runtime::sim::seed_from_env(21);
    check_determinism(SimConfig::new(seed), |sim| {
        let fresh = std::mem::replace(sim, Sim::new(0));
        let mut w = World::new(fresh);
        let exec = launch_task(&mut w, true);
        w.sim.dispatch(&exec, |e, cx| {
            e.send_update(cx, "T", TaskState::TaskRunning, 1)
        });
        w.sim.advance(Duration::from_secs(45));
        *sim = std::mem::replace(&mut w.sim, Sim::new(0));
    });
}

/// `SlaveTest.KillQueuedTaskGroup`: killing one queued task of a task group
/// kills the whole group before delivery; the default executor's command
/// points at `<launcher_dir>/mesos-default-executor` (here absent: a
/// command that fails with the reason).
#[test]
fn kill_of_queued_task_group_kills_the_whole_group() {
    let mut w = World::new(Sim::from_env(16));
    w.register();
    let (m, a) = (w.master.upid.clone(), w.agent.upid.clone());
    let base = run_task_message(false);
    let task = |id: &str| TaskInfo {
        task_id: TaskId { value: id.into() },
        command: None,
        ..base.task.clone()
    };
    w.sim.send(
        &m,
        &a,
        &msg::RunTaskGroupMessage {
            framework: base.framework.clone(),
            executor: mesos_proto::mesos::ExecutorInfo {
                executor_id: ExecutorId {
                    value: "default".into(),
                },
                r#type: Some(mesos_proto::mesos::executor_info::Type::Default as i32),
                resources: vec![scalar("cpus", 0.1), scalar("mem", 32.0)],
                ..Default::default()
            },
            task_group: mesos_proto::mesos::TaskGroupInfo {
                tasks: vec![task("A"), task("B")],
            },
            ..Default::default()
        },
    );
    w.sim.settle();
    let launch = w.containerizer.launches.lock().unwrap()[0].clone();
    assert!(launch.spec.shell, "launcher dir has no default executor");
    assert!(
        launch
            .spec
            .value
            .starts_with("echo '/nonexistent/launcher/mesos-default-executor: "),
        "{}",
        launch.spec.value
    );
    assert_eq!(launch.spec.environment["MESOS_EXECUTOR_ID"], "default");
    w.sim.send(
        &m,
        &a,
        &msg::KillTaskMessage {
            framework_id: FrameworkId { value: "F".into() },
            task_id: TaskId { value: "B".into() },
            kill_policy: None,
        },
    );
    w.sim.settle();
    let mut killed: Vec<(String, TaskState)> = w
        .master()
        .updates
        .iter()
        .map(|u| {
            (
                u.update.status.task_id.value.clone(),
                u.update.status.state(),
            )
        })
        .collect();
    killed.sort();
    assert_eq!(
        killed,
        vec![
            ("A".to_string(), TaskState::TaskKilled),
            ("B".to_string(), TaskState::TaskKilled)
        ]
    );
    assert!(w.master().updates.iter().all(|u| u.update.status.reason()
        == mesos_proto::mesos::task_status::Reason::TaskKilledDuringLaunch));
}

/// Upstream `Slave::run` unschedules a framework's and executor's
/// directories from gc when they are used again: a framework that was
/// archived on this agent and launches here again within `--gc_delay` keeps
/// its new sandbox past the old removal time.
#[test]
fn relaunched_framework_directories_are_unscheduled_from_gc() {
    let mut w = World::new(Sim::from_env(17));
    let exec = launch_task(&mut w, false);
    let (master, a) = (w.master.upid.clone(), w.agent.upid.clone());
    w.sim.dispatch(&exec, |e, cx| {
        e.send_update(cx, "T", TaskState::TaskFinished, 1)
    });
    w.sim.settle();
    let ack = msg::StatusUpdateAcknowledgementMessage {
        slave_id: SlaveId {
            value: AGENT_ID.into(),
        },
        framework_id: FrameworkId { value: "F".into() },
        task_id: TaskId { value: "T".into() },
        uuid: Bytes::from(vec![1; 16]),
    };
    w.sim.send(&master, &a, &ack);
    w.sim.settle();
    let cid = w.containerizer.launches.lock().unwrap()[0]
        .container_id
        .clone();
    w.sim.dispatch(&w.agent.clone(), move |s, cx| {
        s.container_terminated(cx, &cid, Some(0))
    });
    w.sim.settle();
    assert!(w.agent().frameworks().is_empty(), "framework archived");
    // A day later the framework runs an executor here again.
    w.sim.advance(Duration::from_secs(86400));
    w.sim.send(&master, &a, &run_task_message(false));
    w.sim.settle();
    let launches = w.containerizer.launches.lock().unwrap().clone();
    assert_eq!(launches.len(), 2, "second run launched");
    let sandbox = launches[1].spec.directory.clone();
    assert!(sandbox.exists());
    // Past the first run's removal time: the old run goes, the new stays.
    w.sim.advance(Duration::from_secs(7 * 86400));
    assert!(
        !launches[0].spec.directory.exists(),
        "the finished run is garbage collected"
    );
    assert!(sandbox.exists(), "the running sandbox was deleted by gc");
}
