//! Fakes for simulator tests of the master: an agent and a driver-style
//! scheduler that speak the real message protocol, recording what they see.

#![allow(dead_code, deprecated)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use libprocess::runtime::sim::{Sim, SimConfig};
use libprocess::{Actor, Cx, Pid, Routes, Upid};
use mesos_master::{Master, MasterFlags};
use mesos_proto::mesos::internal::*;
use mesos_proto::mesos::scheduler::call::{self, Type as CallType};
use mesos_proto::mesos::scheduler::Call;
use mesos_proto::mesos::value::{Range, Ranges, Scalar, Type as ValueType};
use mesos_proto::mesos::*;

pub mod durable;
pub mod kit;

/// One `#[test]` per instantiation of a parameterised scenario (upstream's
/// `TEST_P` with `ContentType` and, here, the registry kind): each listed
/// name runs the scenario function with its arguments.
#[allow(unused_macros)]
macro_rules! variants {
    ($scenario:ident: $($name:ident($($arg:expr),*);)+) => {
        $(
            #[test]
            fn $name() {
                $scenario($($arg),*);
            }
        )+
    };
}
#[allow(unused_imports)]
pub(crate) use variants;

pub const MASTER_ID: &str = "11111111-2222-3333-4444-555555555555";

pub fn master_addr() -> SocketAddr {
    "10.0.0.1:5050".parse().unwrap()
}

pub fn agent_addr(n: u8) -> SocketAddr {
    format!("10.0.1.{n}:5051").parse().unwrap()
}

pub fn sched_addr(n: u8) -> SocketAddr {
    format!("10.0.2.{n}:40000").parse().unwrap()
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: ValueType::Scalar as i32,
        scalar: Some(Scalar { value: v }),
        role: Some("*".into()),
        ..Default::default()
    }
}

/// A simulation with the master at 10.0.0.1:5050 (delegate `master`).
pub fn sim_with_master(seed: u64, extra_flags: &[&str]) -> (Sim, Pid<Master>) {
    let mut sim = Sim::with_config(SimConfig::from_env(seed));
    sim.add_node(master_addr());
    sim.set_delegate(master_addr(), "master");
    let mut args: Vec<String> = vec!["--registry=in_memory".into()];
    args.extend(extra_flags.iter().map(|s| s.to_string()));
    let flags = MasterFlags::load(args, Vec::<(String, String)>::new()).expect("flags");
    let master = sim.spawn(
        master_addr(),
        "master",
        Master::new(flags, MASTER_ID, "master-host"),
    );
    (sim, master)
}

pub fn master_of<'a>(sim: &'a Sim, m: &Pid<Master>) -> &'a Master {
    sim.actor::<Master>(&m.upid).expect("master alive")
}

// ---------------------------------------------------------------- agent

/// A fake agent: registers, answers pings (unless told not to), runs each
/// task by reporting the configured states, and records acknowledgements.
pub struct FakeAgent {
    pub master: Upid,
    pub id: Option<String>,
    pub connection: Option<MasterSlaveConnection>,
    pub pings: usize,
    pub answer_pings: bool,
    /// States each launched task goes through (empty: stays launched).
    pub script: Vec<TaskState>,
    pub run_tasks: Vec<RunTaskMessage>,
    pub run_groups: Vec<RunTaskGroupMessage>,
    pub acks: Vec<StatusUpdateAcknowledgementMessage>,
    pub kills: Vec<KillTaskMessage>,
    pub shutdowns: Vec<ShutdownFrameworkMessage>,
    pub reregistered: usize,
    pub framework_updates: Vec<UpdateFrameworkMessage>,
    pub last_reregistered: Option<SlaveReregisteredMessage>,
    pub cpus: f64,
    /// `SlaveInfo.Capability.Type` values announced at (re)registration.
    pub capabilities: Vec<i32>,
    pub drains: Vec<DrainSlaveMessage>,
    pub agent_shutdowns: Vec<ShutdownMessage>,
    /// Names of the drain / reregistered messages in arrival order.
    pub order: Vec<&'static str>,
    /// `SlaveInfo.attributes` announced at (re)registration.
    pub attributes: Vec<mesos_proto::mesos::Attribute>,
}

impl FakeAgent {
    pub fn new(master: Upid, script: Vec<TaskState>) -> FakeAgent {
        FakeAgent {
            master,
            id: None,
            connection: None,
            pings: 0,
            answer_pings: true,
            script,
            run_tasks: vec![],
            run_groups: vec![],
            acks: vec![],
            kills: vec![],
            shutdowns: vec![],
            reregistered: 0,
            framework_updates: vec![],
            last_reregistered: None,
            cpus: 2.0,
            capabilities: vec![],
            drains: vec![],
            agent_shutdowns: vec![],
            order: vec![],
            attributes: vec![],
        }
    }

    pub fn info(&self) -> SlaveInfo {
        SlaveInfo {
            hostname: "agent-host".into(),
            port: Some(5051),
            resources: vec![
                scalar("cpus", self.cpus),
                scalar("mem", 1024.0),
                Resource {
                    name: "ports".into(),
                    r#type: ValueType::Ranges as i32,
                    ranges: Some(Ranges {
                        range: vec![Range {
                            begin: 31000,
                            end: 32000,
                        }],
                    }),
                    role: Some("*".into()),
                    ..Default::default()
                },
            ],
            attributes: self.attributes.clone(),
            ..Default::default()
        }
    }

    pub fn update(
        &self,
        cx: &mut Cx<'_, Self>,
        fid: &FrameworkId,
        task: &TaskId,
        state: TaskState,
    ) -> StatusUpdateMessage {
        let mut uuid = [0u8; 16];
        cx.rng().fill_bytes(&mut uuid);
        let slave_id = SlaveId {
            value: self.id.clone().unwrap_or_default(),
        };
        StatusUpdateMessage {
            update: StatusUpdate {
                framework_id: fid.clone(),
                executor_id: None,
                slave_id: Some(slave_id.clone()),
                status: TaskStatus {
                    task_id: task.clone(),
                    state: state as i32,
                    source: Some(task_status::Source::Executor as i32),
                    slave_id: Some(slave_id),
                    uuid: Some(Bytes::copy_from_slice(&uuid)),
                    ..Default::default()
                },
                timestamp: cx.wall_secs(),
                uuid: Some(Bytes::copy_from_slice(&uuid)),
                latest_state: None,
            },
            pid: Some(cx.me().to_string()),
        }
    }

    fn registered(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: SlaveRegisteredMessage) {
        self.id = Some(m.slave_id.value);
        self.connection = m.connection;
    }

    fn reregistered_msg(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: SlaveReregisteredMessage,
    ) {
        self.reregistered += 1;
        self.last_reregistered = Some(m);
        self.order.push("reregistered");
    }

    fn drain(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: DrainSlaveMessage) {
        self.drains.push(m);
        self.order.push("drain");
    }

    fn shutdown_agent(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: ShutdownMessage) {
        self.agent_shutdowns.push(m);
    }

    fn agent_capabilities(&self) -> Vec<slave_info::Capability> {
        self.capabilities
            .iter()
            .map(|t| slave_info::Capability { r#type: Some(*t) })
            .collect()
    }

    fn ping(&mut self, cx: &mut Cx<'_, Self>, from: Upid, _m: PingSlaveMessage) {
        self.pings += 1;
        if self.answer_pings {
            cx.send(&from, &PongSlaveMessage {});
        }
    }

    fn run_task(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: RunTaskMessage) {
        let fid = m.framework.id.clone().unwrap_or_default();
        let task = m.task.task_id.clone();
        self.run_tasks.push(m);
        for s in self.script.clone() {
            let u = self.update(cx, &fid, &task, s);
            let master = self.master.clone();
            cx.send(&master, &u);
        }
    }

    fn run_task_group(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: RunTaskGroupMessage) {
        let fid = m.framework.id.clone().unwrap_or_default();
        let ids: Vec<TaskId> = m
            .task_group
            .tasks
            .iter()
            .map(|t| t.task_id.clone())
            .collect();
        self.run_groups.push(m);
        for t in ids {
            for s in self.script.clone() {
                let u = self.update(cx, &fid, &t, s);
                let master = self.master.clone();
                cx.send(&master, &u);
            }
        }
    }

    fn ack(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: StatusUpdateAcknowledgementMessage) {
        self.acks.push(m);
    }

    fn kill(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: KillTaskMessage) {
        let u = self.update(cx, &m.framework_id, &m.task_id, TaskState::TaskKilled);
        self.kills.push(m);
        let master = self.master.clone();
        cx.send(&master, &u);
    }

    fn update_framework(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: UpdateFrameworkMessage) {
        self.framework_updates.push(m);
    }

    fn shutdown_framework(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: ShutdownFrameworkMessage,
    ) {
        self.shutdowns.push(m);
    }

    /// Sends a reregistration that reports every task it was asked to run
    /// as `state` (as a restarted agent recovering its executors would), with
    /// the frameworks of those tasks.
    pub fn reregister_with_tasks(&mut self, cx: &mut Cx<'_, Self>, state: TaskState) {
        let mut info = self.info();
        info.id = self.id.clone().map(|value| SlaveId { value });
        let slave_id = info.id.clone().unwrap_or_default();
        let mut frameworks: Vec<FrameworkInfo> = vec![];
        let mut tasks = vec![];
        for run in &self.run_tasks {
            if !frameworks.iter().any(|f| f.id == run.framework.id) {
                frameworks.push(run.framework.clone());
            }
            tasks.push(Task {
                name: run.task.name.clone(),
                task_id: run.task.task_id.clone(),
                framework_id: run.framework.id.clone().unwrap_or_default(),
                executor_id: None,
                slave_id: slave_id.clone(),
                state: state as i32,
                resources: run.task.resources.clone(),
                ..Default::default()
            });
        }
        let msg = ReregisterSlaveMessage {
            slave: info,
            version: Some("1.9.0".into()),
            agent_capabilities: self.agent_capabilities(),
            tasks,
            frameworks,
            ..Default::default()
        };
        let master = self.master.clone();
        cx.link(&master);
        cx.send(&master, &msg);
    }

    /// Sends a reregistration with the ID it was given.
    pub fn reregister(&mut self, cx: &mut Cx<'_, Self>) {
        let mut info = self.info();
        info.id = self.id.clone().map(|value| SlaveId { value });
        let msg = ReregisterSlaveMessage {
            slave: info,
            version: Some("1.9.0".into()),
            agent_capabilities: self.agent_capabilities(),
            ..Default::default()
        };
        let master = self.master.clone();
        cx.link(&master);
        cx.send(&master, &msg);
    }
}

impl Actor for FakeAgent {
    fn install(r: &mut Routes<Self>) {
        r.message::<SlaveRegisteredMessage>(Self::registered);
        r.message::<SlaveReregisteredMessage>(Self::reregistered_msg);
        r.message::<PingSlaveMessage>(Self::ping);
        r.message::<RunTaskMessage>(Self::run_task);
        r.message::<RunTaskGroupMessage>(Self::run_task_group);
        r.message::<StatusUpdateAcknowledgementMessage>(Self::ack);
        r.message::<KillTaskMessage>(Self::kill);
        r.message::<ShutdownFrameworkMessage>(Self::shutdown_framework);
        r.message::<UpdateFrameworkMessage>(Self::update_framework);
        r.message::<DrainSlaveMessage>(Self::drain);
        r.message::<ShutdownMessage>(Self::shutdown_agent);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        let msg = RegisterSlaveMessage {
            slave: self.info(),
            version: Some("1.9.0".into()),
            agent_capabilities: self.agent_capabilities(),
            ..Default::default()
        };
        let master = self.master.clone();
        cx.link(&master);
        cx.send(&master, &msg);
    }
}

// ------------------------------------------------------------ scheduler

/// What the fake scheduler does with offers.
#[derive(Clone, Debug)]
pub enum OfferPolicy {
    /// Launch one task with these resources on the first offer, decline the rest.
    LaunchOnce(Vec<Resource>),
    /// Decline every offer with this refuse_seconds.
    Decline(f64),
    /// Keep offers.
    Hold,
}

/// A scheduler speaking the driver protocol (v0 `Call` over libprocess).
pub struct FakeScheduler {
    pub master: Upid,
    pub info: FrameworkInfo,
    pub force: bool,
    pub framework_id: Option<FrameworkId>,
    pub registered: usize,
    pub reregistered: usize,
    pub offers: Vec<Offer>,
    pub offer_pids: Vec<String>,
    pub updates: Vec<StatusUpdateMessage>,
    pub errors: Vec<String>,
    pub rescinded: Vec<String>,
    pub lost_slaves: Vec<String>,
    pub policy: OfferPolicy,
    pub launched: bool,
    pub auto_ack: bool,
}

impl FakeScheduler {
    pub fn new(master: Upid, policy: OfferPolicy) -> FakeScheduler {
        FakeScheduler {
            master,
            info: FrameworkInfo {
                user: "tester".into(),
                name: "fake-framework".into(),
                ..Default::default()
            },
            force: false,
            framework_id: None,
            registered: 0,
            reregistered: 0,
            offers: vec![],
            offer_pids: vec![],
            updates: vec![],
            errors: vec![],
            rescinded: vec![],
            lost_slaves: vec![],
            policy,
            launched: false,
            auto_ack: true,
        }
    }

    pub fn states(&self) -> Vec<TaskState> {
        self.updates
            .iter()
            .filter_map(|u| TaskState::try_from(u.update.status.state).ok())
            .collect()
    }

    pub fn call(&self, ty: CallType) -> Call {
        Call {
            framework_id: self.framework_id.clone(),
            r#type: Some(ty as i32),
            ..Default::default()
        }
    }

    pub fn send_call(&self, cx: &mut Cx<'_, Self>, c: Call) {
        let master = self.master.clone();
        cx.send(&master, &c);
    }

    fn registered_msg(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: FrameworkRegisteredMessage,
    ) {
        self.framework_id = Some(m.framework_id);
        self.registered += 1;
    }

    fn reregistered_msg(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: FrameworkReregisteredMessage,
    ) {
        self.framework_id = Some(m.framework_id);
        self.reregistered += 1;
    }

    fn resource_offers(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: ResourceOffersMessage) {
        self.offer_pids.extend(m.pids.iter().cloned());
        for offer in m.offers {
            self.offers.push(offer.clone());
            match self.policy.clone() {
                OfferPolicy::LaunchOnce(res) if !self.launched => {
                    self.launched = true;
                    let task = TaskInfo {
                        name: "task".into(),
                        task_id: TaskId {
                            value: "task-1".into(),
                        },
                        slave_id: offer.slave_id.clone(),
                        resources: res,
                        command: Some(CommandInfo {
                            value: Some("true".into()),
                            ..Default::default()
                        }),
                        ..Default::default()
                    };
                    let mut c = self.call(CallType::Accept);
                    c.accept = Some(call::Accept {
                        offer_ids: vec![offer.id.clone()],
                        operations: vec![offer::Operation {
                            r#type: Some(offer::operation::Type::Launch as i32),
                            launch: Some(offer::operation::Launch {
                                task_infos: vec![task],
                            }),
                            ..Default::default()
                        }],
                        filters: None,
                    });
                    self.send_call(cx, c);
                }
                OfferPolicy::Hold => {}
                OfferPolicy::Decline(refuse) => self.decline(cx, &offer, refuse),
                OfferPolicy::LaunchOnce(_) => self.decline(cx, &offer, 5.0),
            }
        }
    }

    fn decline(&mut self, cx: &mut Cx<'_, Self>, offer: &Offer, refuse: f64) {
        let mut c = self.call(CallType::Decline);
        c.decline = Some(call::Decline {
            offer_ids: vec![offer.id.clone()],
            filters: Some(Filters {
                refuse_seconds: Some(refuse),
            }),
        });
        self.send_call(cx, c);
    }

    fn status_update(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: StatusUpdateMessage) {
        // The driver acknowledges only updates that carry an acknowledgee
        // pid and a uuid (sched.cpp statusUpdate).
        let needs_ack = m.pid.as_deref().is_some_and(|p| !p.is_empty()) && m.update.uuid.is_some();
        if needs_ack && self.auto_ack {
            let mut c = self.call(CallType::Acknowledge);
            c.acknowledge = Some(call::Acknowledge {
                slave_id: m.update.slave_id.clone().unwrap_or_default(),
                task_id: m.update.status.task_id.clone(),
                uuid: m.update.uuid.clone().unwrap_or_default(),
            });
            self.send_call(cx, c);
        }
        self.updates.push(m);
    }

    fn error(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: FrameworkErrorMessage) {
        self.errors.push(m.message);
    }

    fn rescind(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: RescindResourceOfferMessage) {
        self.rescinded.push(m.offer_id.value);
    }

    fn lost_slave(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: LostSlaveMessage) {
        self.lost_slaves.push(m.slave_id.value);
    }

    /// SUBSCRIBE (again), with the current framework ID if any.
    pub fn subscribe(&mut self, cx: &mut Cx<'_, Self>) {
        let mut info = self.info.clone();
        info.id = self.framework_id.clone();
        let c = Call {
            framework_id: self.framework_id.clone(),
            r#type: Some(CallType::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info: info,
                force: Some(self.force),
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

impl Actor for FakeScheduler {
    fn install(r: &mut Routes<Self>) {
        r.message::<FrameworkRegisteredMessage>(Self::registered_msg);
        r.message::<FrameworkReregisteredMessage>(Self::reregistered_msg);
        r.message::<ResourceOffersMessage>(Self::resource_offers);
        r.message::<StatusUpdateMessage>(Self::status_update);
        r.message::<FrameworkErrorMessage>(Self::error);
        r.message::<RescindResourceOfferMessage>(Self::rescind);
        r.message::<LostSlaveMessage>(Self::lost_slave);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        self.subscribe(cx);
    }
}
