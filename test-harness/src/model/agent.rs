//! A model agent: speaks the real agent <-> master protocol (register,
//! reregister, pings, RunTaskMessage, status updates with acknowledgements,
//! kills, framework shutdown) over a fake containerizer whose tasks run for
//! a set time, fail, or hang, as their command line says.
//!
//! It mirrors the parts of upstream `Slave` (src/slave/slave.cpp) and its
//! `TaskStatusUpdateManager` (src/slave/task_status_update_manager.cpp) that
//! the master can observe: one in-order stream of updates per task, only the
//! head in flight, retried every [`UPDATE_RETRY`] until acknowledged; and
//! checkpoints (agent ID, tasks, unacknowledged updates) written synced to
//! the node's disk, so a restarted agent reregisters with the same ID and
//! resends what was not acknowledged (slave/state.cpp recovery).

#![allow(deprecated)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use libprocess::runtime::sim::Disk;
use libprocess::{Actor, Cx, Routes, Time, Upid};
use mesos_proto::mesos::internal::*;
use mesos_proto::mesos::slave_info::capability::Type as AgentCap;
use mesos_proto::mesos::value::{Range, Ranges, Scalar, Type as ValueType};
use mesos_proto::mesos::*;
use prost::Message as _;

use crate::ledger::{Generated, Ledger};

/// How often an unacknowledged status update is resent (upstream
/// `STATUS_UPDATE_RETRY_INTERVAL_MIN`, task_status_update_manager.hpp).
pub const UPDATE_RETRY: Duration = Duration::from_secs(10);
/// Registration retry interval (upstream backs off from
/// `--registration_backoff_factor` = 1 s).
pub const REGISTER_RETRY: Duration = Duration::from_secs(1);
/// Without a ping for this long the agent takes the master for lost and
/// reregisters (upstream `Slave::pingTimeout`, 5 x 15 s).
pub const PING_TIMEOUT: Duration = Duration::from_secs(75);

const BEHAVIOR_LABEL: &str = "harness.behavior";
const CHECKPOINT: &str = "meta/slaves/latest/harness-agent.pb";

/// What the fake containerizer does with a task, read from its command
/// (`run:<ms>`, `fail:<ms>`, `hang`; anything else runs for 1 s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskBehavior {
    /// TASK_RUNNING, then TASK_FINISHED after this long.
    Run(Duration),
    /// TASK_RUNNING, then TASK_FAILED after this long.
    Fail(Duration),
    /// TASK_RUNNING forever (until killed).
    Hang,
}

impl TaskBehavior {
    /// The command value that asks for this behaviour.
    pub fn command(self) -> String {
        match self {
            TaskBehavior::Run(d) => format!("run:{}", d.as_millis()),
            TaskBehavior::Fail(d) => format!("fail:{}", d.as_millis()),
            TaskBehavior::Hang => "hang".into(),
        }
    }

    pub fn parse(cmd: &str) -> TaskBehavior {
        let ms = |s: &str| Duration::from_millis(s.parse().unwrap_or(1000));
        if let Some(v) = cmd.strip_prefix("run:") {
            TaskBehavior::Run(ms(v))
        } else if let Some(v) = cmd.strip_prefix("fail:") {
            TaskBehavior::Fail(ms(v))
        } else if cmd == "hang" {
            TaskBehavior::Hang
        } else {
            TaskBehavior::Run(Duration::from_secs(1))
        }
    }

    fn of(task: &TaskInfo) -> TaskBehavior {
        let cmd = task
            .command
            .as_ref()
            .and_then(|c| c.value.clone())
            .unwrap_or_default();
        TaskBehavior::parse(&cmd)
    }
}

/// What the agent offers: cpus, mem (MB) and a port range.
#[derive(Clone, Debug)]
pub struct AgentSpec {
    pub hostname: String,
    pub cpus: f64,
    pub mem: f64,
    pub ports: (u64, u64),
}

impl Default for AgentSpec {
    fn default() -> Self {
        AgentSpec {
            hostname: "agent-host".into(),
            cpus: 4.0,
            mem: 4096.0,
            ports: (31000, 32000),
        }
    }
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

/// What the agent checkpoints (our own record; upstream spreads the same
/// facts over meta/slaves/<id>/...).
#[derive(Clone, PartialEq, prost::Message)]
struct Checkpoint {
    #[prost(string, optional, tag = "1")]
    id: Option<String>,
    #[prost(message, repeated, tag = "2")]
    tasks: Vec<Task>,
    #[prost(message, repeated, tag = "3")]
    frameworks: Vec<FrameworkInfo>,
    /// Unacknowledged updates, per task in order.
    #[prost(message, repeated, tag = "4")]
    pending: Vec<StatusUpdate>,
    /// The drain in progress (upstream checkpoints it in
    /// `meta/slaves/<id>/drain.config`).
    #[prost(message, optional, tag = "5")]
    drain: Option<DrainConfig>,
}

/// Counters a benchmark or a test reads.
#[derive(Clone, Debug, Default)]
pub struct AgentCounters {
    pub pings: u64,
    pub run_tasks: u64,
    pub duplicate_run_tasks: u64,
    pub updates_sent: u64,
    pub acks: u64,
    pub stale_acks: u64,
    pub registrations: u64,
    pub reregistrations: u64,
    pub drains: u64,
    /// Tasks dropped because they arrived while draining.
    pub dropped_while_draining: u64,
}

/// The model agent actor (process id `slave(N)`).
pub struct ModelAgent {
    pub master: Upid,
    pub spec: AgentSpec,
    pub id: Option<String>,
    pub registered: bool,
    /// Live and terminal-but-unacknowledged tasks, by task ID.
    pub tasks: BTreeMap<String, Task>,
    pub frameworks: BTreeMap<String, FrameworkInfo>,
    /// Per task: updates not yet acknowledged; the head is in flight.
    pub streams: BTreeMap<String, VecDeque<StatusUpdate>>,
    pub counters: AgentCounters,
    /// Set while draining (upstream `Slave::drainConfig`): new tasks are
    /// dropped, and it clears once no task and no update is left.
    pub drain: Option<DrainConfig>,
    /// Time registration (first ack from the master) completed, if it did.
    pub registered_at: Option<Time>,
    last_ping: Time,
    disk: Option<Disk>,
    /// Bumped on every (re)registration attempt, so stale retry timers stop.
    attempt: u64,
    ledger: Option<Ledger>,
    probe: Option<Arc<AgentProbe>>,
}

/// Shared counters many agents bump (benchmarks count registrations
/// without asking each agent).
#[derive(Debug, Default)]
pub struct AgentProbe {
    /// Agents that completed their first registration.
    pub registered: AtomicU64,
    /// Reregistrations acknowledged by a master.
    pub reregistered: AtomicU64,
    /// TASK_RUNNING updates generated.
    pub running: AtomicU64,
}

impl ModelAgent {
    /// An agent for `master`; with `disk`, it checkpoints and recovers.
    pub fn new(master: Upid, spec: AgentSpec, disk: Option<Disk>) -> ModelAgent {
        ModelAgent {
            master,
            spec,
            id: None,
            registered: false,
            tasks: BTreeMap::new(),
            frameworks: BTreeMap::new(),
            streams: BTreeMap::new(),
            counters: AgentCounters::default(),
            drain: None,
            registered_at: None,
            last_ping: Time::ZERO,
            disk,
            attempt: 0,
            ledger: None,
            probe: None,
        }
    }

    /// Bumps `probe` on registrations (benchmarks).
    pub fn with_probe(mut self, probe: Arc<AgentProbe>) -> ModelAgent {
        self.probe = Some(probe);
        self
    }

    /// Records generated updates and task starts in `ledger` (simulations).
    pub fn with_ledger(mut self, ledger: Ledger) -> ModelAgent {
        self.ledger = Some(ledger);
        self
    }

    pub fn info(&self) -> SlaveInfo {
        SlaveInfo {
            hostname: self.spec.hostname.clone(),
            port: Some(5051),
            id: self.id.clone().map(|value| SlaveId { value }),
            resources: vec![
                scalar("cpus", self.spec.cpus),
                scalar("mem", self.spec.mem),
                Resource {
                    name: "ports".into(),
                    r#type: ValueType::Ranges as i32,
                    ranges: Some(Ranges {
                        range: vec![Range {
                            begin: self.spec.ports.0,
                            end: self.spec.ports.1,
                        }],
                    }),
                    role: Some("*".into()),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn capabilities() -> Vec<slave_info::Capability> {
        [
            AgentCap::MultiRole,
            AgentCap::HierarchicalRole,
            AgentCap::ReservationRefinement,
            AgentCap::AgentDraining,
        ]
        .into_iter()
        .map(|c| slave_info::Capability {
            r#type: Some(c as i32),
        })
        .collect()
    }

    fn checkpoint(&self) {
        let Some(disk) = &self.disk else { return };
        let cp = Checkpoint {
            id: self.id.clone(),
            tasks: self.tasks.values().cloned().collect(),
            frameworks: self.frameworks.values().cloned().collect(),
            pending: self.streams.values().flatten().cloned().collect(),
            drain: self.drain,
        };
        // Upstream checkpoints with an fsync'd temp file + rename.
        disk.write_synced(CHECKPOINT, Bytes::from(cp.encode_to_vec()));
    }

    fn recover(&mut self) {
        let Some(bytes) = self.disk.as_ref().and_then(|d| d.read(CHECKPOINT)) else {
            return;
        };
        let Ok(cp) = Checkpoint::decode(bytes) else {
            tracing::warn!("Ignoring an unreadable agent checkpoint");
            return;
        };
        self.id = cp.id;
        self.drain = cp.drain;
        for t in cp.tasks {
            self.tasks.insert(t.task_id.value.clone(), t);
        }
        for f in cp.frameworks {
            if let Some(id) = &f.id {
                self.frameworks.insert(id.value.clone(), f.clone());
            }
        }
        for u in cp.pending {
            self.streams
                .entry(u.status.task_id.value.clone())
                .or_default()
                .push_back(u);
        }
    }

    /// Registers (or reregisters, with a checkpointed ID) and retries until
    /// the master answers.
    fn register(&mut self, cx: &mut Cx<'_, Self>) {
        self.attempt += 1;
        let attempt = self.attempt;
        let master = self.master.clone();
        cx.link(&master);
        if self.id.is_some() {
            let msg = ReregisterSlaveMessage {
                slave: self.info(),
                tasks: self.tasks.values().cloned().collect(),
                frameworks: self.frameworks.values().cloned().collect(),
                version: Some("1.9.0".into()),
                agent_capabilities: Self::capabilities(),
                ..Default::default()
            };
            cx.send(&master, &msg);
        } else {
            let msg = RegisterSlaveMessage {
                slave: self.info(),
                version: Some("1.9.0".into()),
                agent_capabilities: Self::capabilities(),
                ..Default::default()
            };
            cx.send(&master, &msg);
        }
        let jitter = Duration::from_millis(cx.rng().next_u32() as u64 % 500);
        cx.delay(REGISTER_RETRY + jitter, move |a: &mut ModelAgent, cx| {
            if !a.registered && a.attempt == attempt {
                a.register(cx);
            }
        });
    }

    fn lost_master(&mut self, cx: &mut Cx<'_, Self>) {
        if self.registered {
            self.registered = false;
            self.register(cx);
        }
    }

    fn registered_msg(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: SlaveRegisteredMessage) {
        if self.id.as_deref().is_some_and(|id| id != m.slave_id.value) {
            tracing::warn!(
                "Ignoring registration as {} (we are {:?})",
                m.slave_id.value,
                self.id
            );
            return;
        }
        self.id = Some(m.slave_id.value);
        self.counters.registrations += 1;
        self.on_registered(cx);
    }

    fn reregistered_msg(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: SlaveReregisteredMessage,
    ) {
        if self.id.as_deref() != Some(m.slave_id.value.as_str()) {
            return;
        }
        self.counters.reregistrations += 1;
        if let Some(p) = &self.probe {
            p.reregistered.fetch_add(1, Ordering::Relaxed);
        }
        self.on_registered(cx);
        self.reconcile(cx, m.reconciliations);
    }

    /// Tasks the master has for us but we did not report (a launch lost
    /// with a broken connection) get a terminal update, as upstream
    /// `Slave::reregistered` does: TASK_DROPPED for partition-aware
    /// frameworks, else TASK_LOST, reason RECONCILIATION.
    fn reconcile(&mut self, cx: &mut Cx<'_, Self>, reconciliations: Vec<ReconcileTasksMessage>) {
        for r in reconciliations {
            let aware = r.framework.as_ref().is_some_and(|f| {
                f.capabilities.iter().any(|c| {
                    c.r#type == Some(framework_info::capability::Type::PartitionAware as i32)
                })
            });
            let state = if aware {
                TaskState::TaskDropped
            } else {
                TaskState::TaskLost
            };
            for st in r.statuses {
                let tid = st.task_id.value.clone();
                if self.tasks.contains_key(&tid) {
                    continue;
                }
                tracing::warn!("Reconciling task {tid}: unknown to the agent");
                let update = self.make_update(cx, &r.framework_id, &tid, state);
                self.enqueue(cx, update);
            }
        }
    }

    fn on_registered(&mut self, cx: &mut Cx<'_, Self>) {
        let first = !self.registered;
        self.registered = true;
        self.last_ping = cx.now();
        if self.registered_at.is_none() {
            self.registered_at = Some(cx.now());
            if let Some(p) = &self.probe {
                p.registered.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.checkpoint();
        if first {
            // Upstream resends pending updates once (re)registered
            // (`TaskStatusUpdateManager::resume`).
            let heads: Vec<StatusUpdate> = self
                .streams
                .values()
                .filter_map(|s| s.front().cloned())
                .collect();
            for u in heads {
                self.forward(cx, u);
            }
        }
    }

    fn ping(&mut self, cx: &mut Cx<'_, Self>, from: Upid, _m: PingSlaveMessage) {
        self.counters.pings += 1;
        self.last_ping = cx.now();
        cx.send(&from, &PongSlaveMessage {});
    }

    fn watch_pings(&mut self, cx: &mut Cx<'_, Self>) {
        cx.delay(Duration::from_secs(15), |a: &mut ModelAgent, cx| {
            if a.registered && cx.now().saturating_since(a.last_ping) > PING_TIMEOUT {
                tracing::info!("No pings from the master for {PING_TIMEOUT:?}: reregistering");
                a.lost_master(cx);
            }
            a.watch_pings(cx);
        });
    }

    fn run_task(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: RunTaskMessage) {
        let Some(fid) = m.framework.id.clone() else {
            tracing::warn!("Dropping a task of a framework without ID");
            return;
        };
        let tid = m.task.task_id.value.clone();
        if self.tasks.contains_key(&tid) {
            self.counters.duplicate_run_tasks += 1;
            return;
        }
        if m.task.slave_id.value != self.id.clone().unwrap_or_default() {
            // Upstream `Slave::run`: a task "intended for old agent" (or
            // for an ID this agent has not been told yet) is ignored.
            tracing::warn!(
                "Ignoring task {tid} for agent {} (we are {:?})",
                m.task.slave_id.value,
                self.id
            );
            return;
        }
        if self.drain.is_some() {
            // Upstream `Slave::__run`: a task received while draining is
            // answered TASK_DROPPED, REASON_SLAVE_DRAINING.
            tracing::warn!("Dropping task {tid}: the agent is draining");
            self.counters.dropped_while_draining += 1;
            self.frameworks
                .insert(fid.value.clone(), m.framework.clone());
            let mut u = self.make_update(cx, &fid, &tid, TaskState::TaskDropped);
            u.status.reason = Some(task_status::Reason::SlaveDraining as i32);
            self.enqueue(cx, u);
            return;
        }
        self.counters.run_tasks += 1;
        if let Some(l) = &self.ledger {
            l.started(&fid.value, &tid, &cx.me().to_string());
        }
        self.frameworks
            .insert(fid.value.clone(), m.framework.clone());
        let task = Task {
            name: m.task.name.clone(),
            task_id: m.task.task_id.clone(),
            framework_id: fid.clone(),
            slave_id: SlaveId {
                value: self.id.clone().unwrap_or_default(),
            },
            state: TaskState::TaskStaging as i32,
            resources: m.task.resources.clone(),
            // Kept so a recovered agent restarts the fake process alike.
            labels: Some(Labels {
                labels: vec![Label {
                    key: BEHAVIOR_LABEL.into(),
                    value: Some(TaskBehavior::of(&m.task).command()),
                }],
            }),
            ..Default::default()
        };
        self.tasks.insert(tid.clone(), task);
        let behavior = TaskBehavior::of(&m.task);
        if let Some(p) = &self.probe {
            p.running.fetch_add(1, Ordering::Relaxed);
        }
        self.update(cx, &fid, &tid, TaskState::TaskRunning);
        self.arm(cx, tid, behavior);
    }

    /// Starts the fake process's clock for a running task.
    fn arm(&mut self, cx: &mut Cx<'_, Self>, tid: String, behavior: TaskBehavior) {
        let (after, end) = match behavior {
            TaskBehavior::Run(d) => (d, TaskState::TaskFinished),
            TaskBehavior::Fail(d) => (d, TaskState::TaskFailed),
            TaskBehavior::Hang => return,
        };
        cx.delay(after, move |a: &mut ModelAgent, cx| {
            let Some(t) = a.tasks.get(&tid) else { return };
            if is_terminal(t.state) {
                return;
            }
            let fid = t.framework_id.clone();
            a.update(cx, &fid, &tid, end);
        });
    }

    /// Records a new state of a task and queues its status update.
    fn update(&mut self, cx: &mut Cx<'_, Self>, fid: &FrameworkId, tid: &str, state: TaskState) {
        let Some(t) = self.tasks.get_mut(tid) else {
            return;
        };
        t.state = state as i32;
        let mut update = self.make_update(cx, fid, tid, state);
        let killed = matches!(state, TaskState::TaskKilled | TaskState::TaskGoneByOperator);
        if self.drain.is_some() && killed {
            // Upstream `Slave::statusUpdate` stamps kills during a drain.
            update.status.reason = Some(task_status::Reason::SlaveDraining as i32);
        }
        self.enqueue(cx, update);
    }

    fn make_update(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &FrameworkId,
        tid: &str,
        state: TaskState,
    ) -> StatusUpdate {
        let mut uuid = [0u8; 16];
        cx.rng().fill_bytes(&mut uuid);
        // A version-4 UUID: upstream's master drops updates whose uuid is
        // "Not a valid UUID" (master.cpp `statusUpdate`).
        uuid[6] = (uuid[6] & 0x0f) | 0x40;
        uuid[8] = (uuid[8] & 0x3f) | 0x80;
        let slave_id = SlaveId {
            value: self.id.clone().unwrap_or_default(),
        };
        let update = StatusUpdate {
            framework_id: fid.clone(),
            executor_id: None,
            slave_id: Some(slave_id.clone()),
            status: TaskStatus {
                task_id: TaskId {
                    value: tid.to_string(),
                },
                state: state as i32,
                source: Some(task_status::Source::Executor as i32),
                slave_id: Some(slave_id),
                uuid: Some(Bytes::copy_from_slice(&uuid)),
                timestamp: Some(cx.wall_secs()),
                ..Default::default()
            },
            timestamp: cx.wall_secs(),
            uuid: Some(Bytes::copy_from_slice(&uuid)),
            latest_state: None,
        };
        if let Some(l) = &self.ledger {
            l.generated(Generated {
                agent: cx.me().to_string(),
                framework: fid.value.clone(),
                task: tid.to_string(),
                uuid: Bytes::copy_from_slice(&uuid),
                state: state as i32,
            });
        }
        update
    }

    /// Appends to the task's stream; sends it if it is the head.
    fn enqueue(&mut self, cx: &mut Cx<'_, Self>, update: StatusUpdate) {
        let tid = update.status.task_id.value.clone();
        let stream = self.streams.entry(tid).or_default();
        stream.push_back(update.clone());
        let head = stream.len() == 1;
        self.checkpoint();
        if head {
            self.forward(cx, update);
        }
    }

    /// Sends the head of a stream and retries it until acknowledged.
    fn forward(&mut self, cx: &mut Cx<'_, Self>, mut update: StatusUpdate) {
        if !self.registered {
            return; // Sent when (re)registered.
        }
        let tid = update.status.task_id.value.clone();
        // The master keeps the latest state known to the agent.
        update.latest_state = self.tasks.get(&tid).map(|t| t.state);
        let uuid = update.uuid.clone();
        self.counters.updates_sent += 1;
        let master = self.master.clone();
        let msg = StatusUpdateMessage {
            update,
            pid: Some(cx.me().to_string()),
        };
        cx.send(&master, &msg);
        cx.delay(UPDATE_RETRY, move |a: &mut ModelAgent, cx| {
            let head = a.streams.get(&tid).and_then(|s| s.front()).cloned();
            if let Some(h) = head {
                if h.uuid == uuid {
                    a.forward(cx, h);
                }
            }
        });
    }

    fn ack(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: StatusUpdateAcknowledgementMessage) {
        let tid = m.task_id.value.clone();
        let Some(stream) = self.streams.get_mut(&tid) else {
            self.counters.stale_acks += 1;
            return;
        };
        if stream.front().and_then(|u| u.uuid.as_ref()) != Some(&m.uuid) {
            // Upstream: "Unexpected status update acknowledgement".
            self.counters.stale_acks += 1;
            return;
        }
        self.counters.acks += 1;
        let acked = stream.pop_front().expect("front checked");
        let next = stream.front().cloned();
        if stream.is_empty() {
            self.streams.remove(&tid);
            if is_terminal(acked.status.state) {
                // A terminal update acknowledged: the task is gone.
                self.tasks.remove(&tid);
            }
        }
        self.update_drain_status();
        self.checkpoint();
        if let Some(n) = next {
            self.forward(cx, n);
        }
    }

    /// `DrainSlaveMessage` (upstream `Slave::drain`): checkpoint the config
    /// and kill every task. A task's kill policy grace period is capped by
    /// `max_grace_period`; the fake processes that `hang` ignore SIGTERM
    /// and die when the grace period (3 s by default, the command
    /// executor's) runs out, the others exit at once.
    fn drain_msg(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: DrainSlaveMessage) {
        tracing::info!("Draining with {:?} (was {:?})", m.config, self.drain);
        self.counters.drains += 1;
        self.drain = Some(m.config);
        self.checkpoint();
        self.start_drain(cx);
    }

    fn start_drain(&mut self, cx: &mut Cx<'_, Self>) {
        let Some(cfg) = self.drain else { return };
        let grace = cfg
            .max_grace_period
            .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64))
            .unwrap_or(Duration::from_secs(3));
        let live: Vec<(String, FrameworkId, TaskBehavior)> = self
            .tasks
            .values()
            .filter(|t| !is_terminal(t.state))
            .map(|t| {
                (
                    t.task_id.value.clone(),
                    t.framework_id.clone(),
                    behavior_of(t),
                )
            })
            .collect();
        for (tid, fid, behavior) in live {
            if behavior == TaskBehavior::Hang && !grace.is_zero() {
                cx.delay(grace, move |a: &mut ModelAgent, cx| {
                    a.drain_kill(cx, &fid, &tid)
                });
            } else {
                self.drain_kill(cx, &fid, &tid);
            }
        }
        self.update_drain_status();
    }

    /// Kills a task because of the drain: TASK_KILLED, or
    /// TASK_GONE_BY_OPERATOR when the drain marks the agent gone.
    fn drain_kill(&mut self, cx: &mut Cx<'_, Self>, fid: &FrameworkId, tid: &str) {
        let Some(cfg) = self.drain else { return };
        if self.tasks.get(tid).is_none_or(|t| is_terminal(t.state)) {
            return;
        }
        let state = if cfg.mark_gone.unwrap_or(false) {
            TaskState::TaskGoneByOperator
        } else {
            TaskState::TaskKilled
        };
        self.update(cx, fid, tid, state);
    }

    /// Upstream `Slave::updateDrainStatus`: the drain is over once nothing
    /// is left (no task, no unacknowledged update).
    fn update_drain_status(&mut self) {
        if self.drain.is_some() && self.tasks.is_empty() && self.streams.is_empty() {
            tracing::info!("Agent finished draining");
            self.drain = None;
            self.checkpoint();
        }
    }

    fn kill(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: KillTaskMessage) {
        let live = self
            .tasks
            .get(&m.task_id.value)
            .is_some_and(|t| !is_terminal(t.state));
        if live {
            self.update(cx, &m.framework_id, &m.task_id.value, TaskState::TaskKilled);
        }
    }

    fn shutdown_framework(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: ShutdownFrameworkMessage,
    ) {
        // Upstream kills the executors and drops the framework's update
        // streams (`TaskStatusUpdateManager::cleanup`).
        let fid = m.framework_id.value;
        let gone: Vec<String> = self
            .tasks
            .values()
            .filter(|t| t.framework_id.value == fid)
            .map(|t| t.task_id.value.clone())
            .collect();
        for t in gone {
            if let Some(l) = &self.ledger {
                l.abandoned(&fid, &t);
            }
            self.tasks.remove(&t);
            self.streams.remove(&t);
        }
        self.frameworks.remove(&fid);
        self.update_drain_status();
        self.checkpoint();
    }

    fn update_framework(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: UpdateFrameworkMessage) {
        if let Some(fi) = m.framework_info {
            self.frameworks.insert(m.framework_id.value, fi);
            self.checkpoint();
        }
    }

    fn shutdown(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: ShutdownMessage) {
        tracing::warn!("Agent told to shut down: {:?}", m.message);
        // Upstream: the agent process exits; its meta directory is wiped so
        // that it comes back as a new agent.
        if let Some(l) = &self.ledger {
            for t in self.tasks.values() {
                l.abandoned(&t.framework_id.value, &t.task_id.value);
            }
        }
        self.tasks.clear();
        self.streams.clear();
        self.frameworks.clear();
        self.drain = None;
        self.id = None;
        self.registered = false;
        self.checkpoint();
        // A supervisor (systemd) restarts the agent, which registers anew.
        self.register(cx);
    }
}

/// The behaviour a (recovered) task was launched with.
fn behavior_of(t: &Task) -> TaskBehavior {
    let cmd = t
        .labels
        .iter()
        .flat_map(|l| &l.labels)
        .find(|l| l.key == BEHAVIOR_LABEL)
        .and_then(|l| l.value.clone())
        .unwrap_or_default();
    TaskBehavior::parse(&cmd)
}

/// Whether a task state is terminal (upstream `protobuf::isTerminalState`).
pub fn is_terminal(state: i32) -> bool {
    mesos_master::state::is_terminal(state)
}

impl Actor for ModelAgent {
    fn install(r: &mut Routes<Self>) {
        r.message::<SlaveRegisteredMessage>(Self::registered_msg);
        r.message::<SlaveReregisteredMessage>(Self::reregistered_msg);
        r.message::<PingSlaveMessage>(Self::ping);
        r.message::<RunTaskMessage>(Self::run_task);
        r.message::<StatusUpdateAcknowledgementMessage>(Self::ack);
        r.message::<KillTaskMessage>(Self::kill);
        r.message::<ShutdownFrameworkMessage>(Self::shutdown_framework);
        r.message::<UpdateFrameworkMessage>(Self::update_framework);
        r.message::<ShutdownMessage>(Self::shutdown);
        r.message::<DrainSlaveMessage>(Self::drain_msg);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        self.recover();
        // Recovered tasks: their fake processes start over.
        let running: Vec<(String, TaskBehavior)> = self
            .tasks
            .values()
            .filter(|t| t.state == TaskState::TaskRunning as i32)
            .map(|t| (t.task_id.value.clone(), behavior_of(t)))
            .collect();
        for (tid, b) in running {
            self.arm(cx, tid, b);
        }
        // Upstream replays an unfinished drain after recovery.
        self.start_drain(cx);
        self.register(cx);
        self.watch_pings(cx);
    }

    fn exited(&mut self, cx: &mut Cx<'_, Self>, pid: &Upid) {
        if pid == &self.master {
            // Upstream agents re-detect the master on a broken link.
            let jitter = Duration::from_millis(cx.rng().next_u32() as u64 % 1000);
            cx.delay(jitter, |a: &mut ModelAgent, cx| a.lost_master(cx));
        }
    }
}
