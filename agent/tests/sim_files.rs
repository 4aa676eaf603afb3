//! The agent's use of the `files` attach table and of the fetcher, on the
//! deterministic simulator with a fake master and a recording containerizer:
//!
//! - `sandbox_attached_on_launch_and_detached_after_gc` ↔ upstream
//!   `Framework::addExecutor` attaching the run at its three paths and
//!   `Slave::removeExecutor` detaching after garbage collection;
//! - `unfetchable_uris_fail_the_launch` ↔ `FetcherTest` failures surfacing as
//!   `TASK_FAILED` / `REASON_CONTAINER_LAUNCH_FAILED` (the container is never
//!   started).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libprocess::runtime::sim::Sim;
use libprocess::{Actor, Pid, Routes, Upid};
use mesos_agent::slave::{ContainerLaunch, Containerizer, Slave};
use mesos_agent::AgentConfig;
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::{
    command_info, task_status, CommandInfo, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, TaskId,
    TaskInfo, TaskState,
};

const MASTER: &str = "10.0.0.1:5050";
const AGENT: &str = "10.0.0.2:5051";
const AGENT_ID: &str = "M-S0";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[derive(Default)]
struct FakeMaster {
    registered: bool,
    updates: Vec<msg::StatusUpdateMessage>,
}

impl Actor for FakeMaster {
    fn install(r: &mut Routes<Self>) {
        r.message::<msg::RegisterSlaveMessage>(|m, _, _, _| m.registered = true);
        r.message::<msg::StatusUpdateMessage>(|m, _, _, x| m.updates.push(x));
    }
}

#[derive(Default)]
struct FakeContainerizer {
    launches: Mutex<Vec<ContainerLaunch>>,
}

impl Containerizer for FakeContainerizer {
    fn launch(&self, l: &ContainerLaunch) -> Result<i32, mesos_agent::Error> {
        let mut v = self.launches.lock().unwrap();
        v.push(l.clone());
        Ok(1000 + v.len() as i32)
    }
    fn wait(&self, _: &str, _: i32) -> Option<i32> {
        unreachable!("supports_wait is false")
    }
    fn supports_wait(&self) -> bool {
        false
    }
    fn destroy(&self, _: &str, _: i32) {}
    fn alive(&self, _: i32) -> bool {
        true
    }
}

struct World {
    sim: Sim,
    master: Pid<FakeMaster>,
    agent: Pid<Slave>,
    containerizer: Arc<FakeContainerizer>,
    work: tempfile::TempDir,
}

impl World {
    fn new(seed: u64) -> World {
        let work = tempfile::tempdir().unwrap();
        let mut sim = Sim::from_env(seed);
        sim.add_node(addr(MASTER));
        sim.add_node(addr(AGENT));
        let master = sim.spawn(addr(MASTER), "master", FakeMaster::default());
        let containerizer = Arc::new(FakeContainerizer::default());
        let mut config = AgentConfig::new(work.path());
        config.disk_watch_interval = std::time::Duration::from_secs(365 * 86400);
        config.master = Some(MASTER.to_string());
        config.launcher_dir = std::path::PathBuf::from("/nonexistent/launcher");
        config.gc_delay = Duration::from_secs(600);
        let info = SlaveInfo {
            hostname: "agent".into(),
            port: Some(5051),
            resources: vec![mesos_allocator::Resources::scalar("cpus", 2.0)],
            ..Default::default()
        };
        let agent = sim.spawn(
            addr(AGENT),
            "slave(1)",
            Slave::new(config, info, containerizer.clone()),
        );
        let mut w = World {
            sim,
            master,
            agent,
            containerizer,
            work,
        };
        let ok = w.sim.run_until(
            |s| {
                s.actor::<FakeMaster>(&Upid::parse_literal(&format!("master@{MASTER}")).unwrap())
                    .map(|m| m.registered)
                    .unwrap_or(false)
            },
            Duration::from_secs(60),
        );
        assert!(ok, "agent never registered");
        let (m, a) = (w.master.upid.clone(), w.agent.upid.clone());
        w.sim.send(
            &m,
            &a,
            &msg::SlaveRegisteredMessage {
                slave_id: SlaveId {
                    value: AGENT_ID.into(),
                },
                connection: Some(msg::MasterSlaveConnection {
                    total_ping_timeout_seconds: Some(1e6),
                }),
            },
        );
        w.sim.settle();
        w
    }

    fn agent(&self) -> &Slave {
        self.sim.actor::<Slave>(&self.agent.upid).unwrap()
    }

    fn updates(&self) -> Vec<msg::StatusUpdateMessage> {
        self.sim
            .actor::<FakeMaster>(&self.master.upid)
            .unwrap()
            .updates
            .clone()
    }

    fn run_task(&mut self, uris: Vec<command_info::Uri>) {
        let run = msg::RunTaskMessage {
            framework: FrameworkInfo {
                user: "root".into(),
                name: "fw".into(),
                id: Some(FrameworkId { value: "F".into() }),
                ..Default::default()
            },
            task: TaskInfo {
                name: "t".into(),
                task_id: TaskId { value: "T".into() },
                slave_id: SlaveId {
                    value: AGENT_ID.into(),
                },
                resources: vec![mesos_allocator::Resources::scalar("cpus", 0.1)],
                command: Some(CommandInfo {
                    value: Some("true".into()),
                    uris,
                    ..Default::default()
                }),
                ..Default::default()
            },
            pid: Some("scheduler-1@10.0.0.9:1".into()),
            ..Default::default()
        };
        let (m, a) = (self.master.upid.clone(), self.agent.upid.clone());
        self.sim.send(&m, &a, &run);
        self.sim.settle();
    }
}

#[test]
fn sandbox_attached_on_launch_and_detached_after_gc() {
    let mut w = World::new(31);
    w.run_task(Vec::new());
    let launch = w.containerizer.launches.lock().unwrap()[0].clone();
    let sandbox = std::fs::canonicalize(&launch.spec.directory).unwrap();
    let table = w.agent().files().snapshot();
    let virtual_latest = "/frameworks/F/executors/T/runs/latest";
    let real_latest = w.work.path().join(format!(
        "slaves/{AGENT_ID}/frameworks/F/executors/T/runs/latest"
    ));
    assert_eq!(table.get(virtual_latest), Some(&sandbox), "{table:?}");
    assert_eq!(
        table.get(&real_latest.display().to_string()),
        Some(&sandbox),
        "{table:?}"
    );
    assert_eq!(
        table.get(&launch.spec.directory.display().to_string()),
        Some(&sandbox),
        "{table:?}"
    );
    // What the task writes is readable through the virtual path.
    std::fs::write(sandbox.join("out.txt"), b"written by the task").unwrap();
    let files = w.agent().files().clone();
    assert_eq!(
        files
            .read(0, None, &format!("{virtual_latest}/out.txt"))
            .unwrap()
            .1,
        b"written by the task"
    );

    // The executor exits; once its task's update is acknowledged it is
    // removed, and after --gc_delay its paths are detached.
    let cid = launch.container_id.clone();
    w.sim.dispatch(&w.agent.clone(), move |s, cx| {
        s.container_terminated(cx, &cid, Some(0))
    });
    w.sim.settle();
    let update = w.updates().last().expect("terminal update").update.clone();
    assert_eq!(update.status.state(), TaskState::TaskFailed);
    let (m, a) = (w.master.upid.clone(), w.agent.upid.clone());
    w.sim.send(
        &m,
        &a,
        &msg::StatusUpdateAcknowledgementMessage {
            slave_id: SlaveId {
                value: AGENT_ID.into(),
            },
            framework_id: FrameworkId { value: "F".into() },
            task_id: TaskId { value: "T".into() },
            uuid: update.uuid.clone().unwrap(),
        },
    );
    w.sim.settle();
    assert!(
        files.snapshot().contains_key(virtual_latest),
        "still browsable until garbage collected"
    );
    w.sim.advance(Duration::from_secs(601));
    w.sim.settle();
    assert!(files.snapshot().is_empty(), "{:?}", files.snapshot());
}

#[test]
fn unfetchable_uris_fail_the_launch() {
    let mut w = World::new(32);
    // The launcher dir has no mesos-fetcher: upstream's message for that.
    w.run_task(vec![command_info::Uri {
        value: "/no/such/file.tar.gz".into(),
        extract: Some(true),
        ..Default::default()
    }]);
    assert!(w.containerizer.launches.lock().unwrap().is_empty());
    let st = w.updates().last().expect("an update").update.status.clone();
    assert_eq!(st.state(), TaskState::TaskFailed);
    assert_eq!(st.reason(), task_status::Reason::ContainerLaunchFailed);
    assert_eq!(
        st.message.as_deref(),
        Some("Failed to launch container: Could not fetch URIs: failed to find mesos-fetcher")
    );

    // A URI that cannot name a file is refused before anything runs.
    let mut w = World::new(33);
    w.run_task(vec![command_info::Uri {
        value: "http://host/a/..".into(),
        ..Default::default()
    }]);
    let st = w.updates().last().expect("an update").update.status.clone();
    assert_eq!(st.reason(), task_status::Reason::ContainerLaunchFailed);
    assert!(
        st.message
            .as_deref()
            .unwrap_or_default()
            .starts_with("Failed to launch container: Could not fetch: Malformed URI"),
        "{:?}",
        st.message
    );
}
