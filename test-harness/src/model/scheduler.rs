//! A model scheduler speaking the driver protocol (v0 `scheduler::Call` and
//! the internal framework messages over libprocess), as the scheduler driver
//! does (src/sched/sched.cpp): subscribe and resubscribe on a broken link,
//! launch tasks from offers, acknowledge every update that asks for it,
//! reconcile after (re)registration, and fail over with its framework ID.
//!
//! What a real framework keeps in ZooKeeper (its framework ID, the tasks it
//! launched and their last states) it writes synced to its node's disk
//! before acting on it, so a crashed scheduler comes back knowing them.

#![allow(deprecated)]

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use libprocess::runtime::sim::Disk;
use libprocess::{Actor, Cx, Routes, Time, Upid};
use mesos_proto::mesos::internal::*;
use mesos_proto::mesos::scheduler::call::{self, Type as CallType};
use mesos_proto::mesos::scheduler::Call;
use mesos_proto::mesos::*;
use prost::Message as _;

use super::agent::{is_terminal, scalar, TaskBehavior};
use crate::ledger::Ledger;

/// How often the scheduler reconciles its non-terminal tasks.
pub const RECONCILE_INTERVAL: Duration = Duration::from_secs(30);
const STATE_FILE: &str = "framework/state.pb";
/// Subscription retry interval (the driver backs off from 2 s,
/// `REGISTRATION_BACKOFF_FACTOR` in sched/constants.hpp).
pub const SUBSCRIBE_RETRY: Duration = Duration::from_secs(2);

/// What the scheduler does.
#[derive(Clone, Debug)]
pub struct SchedulerSpec {
    pub name: String,
    pub role: String,
    /// Tasks to launch over the run.
    pub tasks: usize,
    pub task_cpus: f64,
    pub task_mem: f64,
    /// Behaviours the tasks cycle through.
    pub behaviors: Vec<TaskBehavior>,
    /// `FrameworkInfo.failover_timeout` in seconds.
    pub failover_timeout: f64,
    /// At most this many tasks per offer (spreads launches over time).
    pub max_per_offer: usize,
    /// `refuse_seconds` of every DECLINE; `None`: 1 s while tasks are left
    /// to launch, an hour once all are launched.
    pub decline_refuse_seconds: Option<f64>,
}

impl Default for SchedulerSpec {
    fn default() -> Self {
        SchedulerSpec {
            name: "harness-framework".into(),
            role: "*".into(),
            tasks: 4,
            task_cpus: 0.5,
            task_mem: 64.0,
            behaviors: vec![TaskBehavior::Run(Duration::from_secs(5))],
            failover_timeout: 3600.0,
            max_per_offer: usize::MAX,
            decline_refuse_seconds: None,
        }
    }
}

/// One update as the scheduler saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct SeenUpdate {
    pub task: String,
    pub state: i32,
    pub uuid: Option<Bytes>,
    pub agent: Option<String>,
    pub at: Time,
}

/// What the scheduler persists.
#[derive(Clone, PartialEq, prost::Message)]
struct Persisted {
    #[prost(string, optional, tag = "1")]
    framework_id: Option<String>,
    /// Launched task IDs and their last known states.
    #[prost(btree_map = "string, int32", tag = "2")]
    tasks: BTreeMap<String, i32>,
    #[prost(uint64, tag = "3")]
    next_task: u64,
}

/// Counters and timings a benchmark reads.
#[derive(Clone, Debug, Default)]
pub struct SchedulerCounters {
    pub offers: u64,
    pub declined: u64,
    pub launched: u64,
    pub updates: u64,
    pub acks_sent: u64,
    pub registered: u64,
    pub reregistered: u64,
    pub errors: Vec<String>,
    pub rescinded: u64,
}

/// The driver-protocol scheduler actor.
pub struct DriverScheduler {
    pub master: Upid,
    pub spec: SchedulerSpec,
    pub framework_id: Option<String>,
    pub connected: bool,
    /// Launched tasks and the last state heard (STAGING until told).
    pub tasks: BTreeMap<String, i32>,
    /// Every update received, in arrival order (this incarnation).
    pub seen: Vec<SeenUpdate>,
    pub counters: SchedulerCounters,
    /// Accept time per task and the time TASK_RUNNING arrived (benchmarks).
    pub accepted_at: BTreeMap<String, Time>,
    pub running_at: BTreeMap<String, Time>,
    next_task: u64,
    disk: Option<Disk>,
    attempt: u64,
    /// A restarted scheduler's first SUBSCRIBE sets `force` (driver failover).
    failover: bool,
    ledger: Option<Ledger>,
}

impl DriverScheduler {
    pub fn new(master: Upid, spec: SchedulerSpec, disk: Option<Disk>) -> DriverScheduler {
        DriverScheduler {
            master,
            spec,
            framework_id: None,
            connected: false,
            tasks: BTreeMap::new(),
            seen: Vec::new(),
            counters: SchedulerCounters::default(),
            accepted_at: BTreeMap::new(),
            running_at: BTreeMap::new(),
            next_task: 0,
            disk,
            attempt: 0,
            failover: false,
            ledger: None,
        }
    }

    /// Records launches and deliveries in `ledger` (simulations).
    pub fn with_ledger(mut self, ledger: Ledger) -> DriverScheduler {
        self.ledger = Some(ledger);
        self
    }

    fn persist(&self) {
        let Some(d) = &self.disk else { return };
        let p = Persisted {
            framework_id: self.framework_id.clone(),
            tasks: self.tasks.clone(),
            next_task: self.next_task,
        };
        d.write_synced(STATE_FILE, Bytes::from(p.encode_to_vec()));
    }

    fn recover(&mut self) {
        let Some(b) = self.disk.as_ref().and_then(|d| d.read(STATE_FILE)) else {
            return;
        };
        if let Ok(p) = Persisted::decode(b) {
            self.framework_id = p.framework_id;
            self.tasks = p.tasks;
            self.next_task = p.next_task;
            self.failover = self.framework_id.is_some();
        }
    }

    fn fid(&self) -> Option<FrameworkId> {
        self.framework_id.clone().map(|value| FrameworkId { value })
    }

    pub fn info(&self) -> FrameworkInfo {
        FrameworkInfo {
            user: "harness".into(),
            name: self.spec.name.clone(),
            id: self.fid(),
            failover_timeout: Some(self.spec.failover_timeout),
            checkpoint: Some(true),
            role: Some(self.spec.role.clone()),
            ..Default::default()
        }
    }

    fn call(&self, ty: CallType) -> Call {
        Call {
            framework_id: self.fid(),
            r#type: Some(ty as i32),
            ..Default::default()
        }
    }

    fn send_call(&self, cx: &mut Cx<'_, Self>, c: Call) {
        let master = self.master.clone();
        cx.send(&master, &c);
    }

    /// SUBSCRIBE, retried until the master answers.
    fn subscribe(&mut self, cx: &mut Cx<'_, Self>) {
        self.attempt += 1;
        let attempt = self.attempt;
        let c = Call {
            framework_id: self.fid(),
            r#type: Some(CallType::Subscribe as i32),
            subscribe: Some(call::Subscribe {
                framework_info: self.info(),
                force: Some(self.failover),
                suppressed_roles: vec![],
                ..Default::default()
            }),
            ..Default::default()
        };
        let master = self.master.clone();
        cx.link(&master);
        cx.send(&master, &c);
        cx.delay(SUBSCRIBE_RETRY, move |s: &mut DriverScheduler, cx| {
            if !s.connected && s.attempt == attempt {
                s.subscribe(cx);
            }
        });
    }

    fn registered_msg(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: FrameworkRegisteredMessage,
    ) {
        self.counters.registered += 1;
        self.on_subscribed(cx, m.framework_id.value);
    }

    fn reregistered_msg(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: FrameworkReregisteredMessage,
    ) {
        self.counters.reregistered += 1;
        self.on_subscribed(cx, m.framework_id.value);
    }

    fn on_subscribed(&mut self, cx: &mut Cx<'_, Self>, id: String) {
        if self.framework_id.as_deref().is_some_and(|f| f != id) {
            tracing::warn!("Subscribed as {id}, expected {:?}", self.framework_id);
        }
        self.framework_id = Some(id);
        self.connected = true;
        self.failover = false;
        self.persist();
        self.reconcile(cx);
    }

    /// Explicit reconciliation of every task not known terminal.
    pub fn reconcile(&mut self, cx: &mut Cx<'_, Self>) {
        let statuses: Vec<call::reconcile::Task> = self
            .tasks
            .iter()
            .filter(|(_, s)| !is_terminal(**s))
            .map(|(t, _)| call::reconcile::Task {
                task_id: TaskId { value: t.clone() },
                slave_id: None,
            })
            .collect();
        if statuses.is_empty() {
            return;
        }
        let mut c = self.call(CallType::Reconcile);
        c.reconcile = Some(call::Reconcile { tasks: statuses });
        self.send_call(cx, c);
    }

    fn resource_offers(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: ResourceOffersMessage) {
        for offer in m.offers {
            self.counters.offers += 1;
            self.use_offer(cx, offer);
        }
    }

    fn use_offer(&mut self, cx: &mut Cx<'_, Self>, offer: Offer) {
        let cpus: f64 = offer
            .resources
            .iter()
            .filter(|r| r.name == "cpus")
            .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
            .sum();
        let mem: f64 = offer
            .resources
            .iter()
            .filter(|r| r.name == "mem")
            .filter_map(|r| r.scalar.as_ref().map(|s| s.value))
            .sum();
        let fit = ((cpus / self.spec.task_cpus).floor() as usize)
            .min((mem / self.spec.task_mem).floor() as usize);
        let left = self.spec.tasks.saturating_sub(self.next_task as usize);
        let n = fit.min(left).min(self.spec.max_per_offer);
        if n == 0 {
            self.counters.declined += 1;
            let mut c = self.call(CallType::Decline);
            c.decline = Some(call::Decline {
                offer_ids: vec![offer.id.clone()],
                filters: Some(Filters {
                    refuse_seconds: Some(
                        self.spec.decline_refuse_seconds.unwrap_or(if left == 0 {
                            3600.0
                        } else {
                            1.0
                        }),
                    ),
                }),
            });
            self.send_call(cx, c);
            return;
        }
        let fid = self.framework_id.clone().unwrap_or_default();
        let mut infos = Vec::with_capacity(n);
        for _ in 0..n {
            let k = self.next_task;
            self.next_task += 1;
            let tid = format!("{}-t{k}", self.spec.name);
            let behavior = if self.spec.behaviors.is_empty() {
                TaskBehavior::Hang
            } else {
                self.spec.behaviors[k as usize % self.spec.behaviors.len()]
            };
            self.tasks
                .insert(tid.clone(), TaskState::TaskStaging as i32);
            if let Some(l) = &self.ledger {
                l.launched(&fid, &tid);
            }
            self.accepted_at.insert(tid.clone(), cx.now());
            infos.push(TaskInfo {
                name: tid.clone(),
                task_id: TaskId { value: tid },
                slave_id: offer.slave_id.clone(),
                resources: vec![
                    scalar("cpus", self.spec.task_cpus),
                    scalar("mem", self.spec.task_mem),
                ],
                command: Some(CommandInfo {
                    value: Some(behavior.command()),
                    ..Default::default()
                }),
                ..Default::default()
            });
        }
        self.counters.launched += n as u64;
        // A framework records what it launches before launching it.
        self.persist();
        let mut c = self.call(CallType::Accept);
        c.accept = Some(call::Accept {
            offer_ids: vec![offer.id.clone()],
            operations: vec![offer::Operation {
                r#type: Some(offer::operation::Type::Launch as i32),
                launch: Some(offer::operation::Launch { task_infos: infos }),
                ..Default::default()
            }],
            filters: Some(Filters {
                refuse_seconds: Some(1.0),
            }),
        });
        self.send_call(cx, c);
    }

    fn status_update(&mut self, cx: &mut Cx<'_, Self>, _from: Upid, m: StatusUpdateMessage) {
        self.counters.updates += 1;
        let st = &m.update.status;
        let tid = st.task_id.value.clone();
        self.seen.push(SeenUpdate {
            task: tid.clone(),
            state: st.state,
            uuid: m.update.uuid.clone(),
            agent: m.update.slave_id.as_ref().map(|s| s.value.clone()),
            at: cx.now(),
        });
        if st.state == TaskState::TaskRunning as i32 && !self.running_at.contains_key(&tid) {
            self.running_at.insert(tid.clone(), cx.now());
        }
        if let Some(l) = &self.ledger {
            let fid = self.framework_id.clone().unwrap_or_default();
            l.delivered(&fid, &tid, m.update.uuid.as_ref());
        }
        // Like most frameworks, a terminal state is final for us: a late or
        // duplicated earlier update does not bring the task back.
        if let Some(s) = self.tasks.get_mut(&tid) {
            if !is_terminal(*s) {
                *s = st.state;
                self.persist();
            }
        }
        // The driver acknowledges only updates carrying an acknowledgee pid
        // and a uuid (sched.cpp `statusUpdate`).
        let needs_ack = m.pid.as_deref().is_some_and(|p| !p.is_empty()) && m.update.uuid.is_some();
        if needs_ack {
            self.counters.acks_sent += 1;
            let mut c = self.call(CallType::Acknowledge);
            c.acknowledge = Some(call::Acknowledge {
                slave_id: m.update.slave_id.clone().unwrap_or_default(),
                task_id: st.task_id.clone(),
                uuid: m.update.uuid.clone().unwrap_or_default(),
            });
            self.send_call(cx, c);
        }
    }

    /// Kills one of its tasks (a campaign action).
    pub fn kill(&mut self, cx: &mut Cx<'_, Self>, task: &str) {
        let mut c = self.call(CallType::Kill);
        c.kill = Some(call::Kill {
            task_id: TaskId { value: task.into() },
            slave_id: None,
            kill_policy: None,
        });
        self.send_call(cx, c);
    }

    /// Frameworks reconcile now and then: it is how a launch whose ACCEPT
    /// was lost becomes TASK_LOST (master.cpp `_reconcileTasks`).
    fn reconcile_periodically(&mut self, cx: &mut Cx<'_, Self>) {
        cx.delay(RECONCILE_INTERVAL, |s: &mut DriverScheduler, cx| {
            if s.connected {
                s.reconcile(cx);
            }
            s.reconcile_periodically(cx);
        });
    }

    /// Asks for offers again (REVIVE).
    pub fn revive(&mut self, cx: &mut Cx<'_, Self>) {
        let c = self.call(CallType::Revive);
        self.send_call(cx, c);
    }

    fn error(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, m: FrameworkErrorMessage) {
        tracing::warn!("Framework error: {}", m.message);
        self.counters.errors.push(m.message);
    }

    fn rescind(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, _m: RescindResourceOfferMessage) {
        self.counters.rescinded += 1;
    }

    fn lost_slave(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, _m: LostSlaveMessage) {}
}

impl Actor for DriverScheduler {
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
        self.recover();
        self.subscribe(cx);
        self.reconcile_periodically(cx);
    }

    fn exited(&mut self, cx: &mut Cx<'_, Self>, pid: &Upid) {
        if pid == &self.master && self.connected {
            // The driver re-detects and resubscribes (sched.cpp `exited`).
            self.connected = false;
            cx.delay(Duration::from_millis(500), |s: &mut DriverScheduler, cx| {
                s.subscribe(cx)
            });
        }
    }
}
