//! Fault campaigns: for each seed, a random schedule of message faults,
//! partitions, crashes and restarts (master, agents, schedulers) and
//! operator calls (state polls and the 1.9 DRAIN_AGENT, DEACTIVATE_AGENT,
//! REACTIVATE_AGENT, UPDATE_QUOTA, REMOVE_QUOTA) runs against a
//! [`Cluster`]; invariants are checked after every simulator event (offers,
//! quota limits, drain transitions), at every master restart (durable
//! operator state), every simulated second, and after the cluster healed
//! and quiesced (see third_party_docs/campaigns.md). A failing
//! seed is shrunk to a minimal schedule (greedy one-step removal, as
//! delta debugging) and reported with the trace; `MESOS_SIM_SEED` replays
//! it.
//!
//! Message faults are limited to what the Mesos protocol is designed to
//! survive. libprocess runs over TCP: a message is only lost when its
//! connection breaks, which the receiver sees as `exited`. Upstream retries
//! registration, status updates and reconciles accepts, but a lone lost
//! `RunTaskMessage` or `ResourceOffersMessage` on a healthy connection is
//! not recovered by Mesos 1.9 either; those are only lost through
//! partitions and crashes here.

use std::fmt;
use std::time::{Duration, Instant};

use libprocess::filter::Matcher;
use libprocess::runtime::sim::FaultAction;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::cluster::{agent_addr, master_addr, scheduler_addr, Cluster, ClusterBuilder};
use std::collections::BTreeSet;

use crate::invariants::{check_continuous, check_final, EventChecker, OperatorState, Violation};
use crate::model::agent::TaskBehavior;
use crate::model::scheduler::SchedulerSpec;

/// Messages that may be dropped outright (the protocol retries them).
/// Not `SlaveRegisteredMessage`: the master may launch tasks on an agent
/// right after registering it, and over TCP the agent has its ID before
/// any `RunTaskMessage` arrives; a lone lost registration ack followed by a
/// delivered launch is a reordering TCP never makes, and both upstream's
/// agent and the model ignore a task for an agent ID they were not told
/// (found by soak seed 188 once drains with `mark_gone` made agents
/// register anew while frameworks were launching).
const DROPPABLE: &[&str] = &[
    "mesos.internal.RegisterSlaveMessage",
    "mesos.internal.ReregisterSlaveMessage",
    "mesos.internal.SlaveReregisteredMessage",
    "mesos.internal.PingSlaveMessage",
    "mesos.internal.PongSlaveMessage",
    "mesos.internal.StatusUpdateMessage",
    "mesos.internal.StatusUpdateAcknowledgementMessage",
    "mesos.internal.FrameworkRegisteredMessage",
    "mesos.internal.FrameworkReregisteredMessage",
];

/// Messages that may be delayed, duplicated or reordered.
const TOUCHABLE: &[&str] = &[
    "mesos.internal.RegisterSlaveMessage",
    "mesos.internal.ReregisterSlaveMessage",
    "mesos.internal.PingSlaveMessage",
    "mesos.internal.PongSlaveMessage",
    "mesos.internal.StatusUpdateMessage",
    "mesos.internal.StatusUpdateAcknowledgementMessage",
    "mesos.internal.RunTaskMessage",
    "mesos.internal.ResourceOffersMessage",
    "mesos.scheduler.Call",
    "mesos.internal.KillTaskMessage",
];

/// A node of the cluster.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeRef {
    Master,
    Agent(usize),
    Scheduler(usize),
}

impl NodeRef {
    fn addr(self) -> std::net::SocketAddr {
        match self {
            NodeRef::Master => master_addr(),
            NodeRef::Agent(i) => agent_addr(i),
            NodeRef::Scheduler(i) => scheduler_addr(i),
        }
    }
}

/// One scheduled event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The next `n` messages named `msg` are lost.
    Drop { msg: &'static str, n: usize },
    /// The next `n` are delivered twice.
    Duplicate { msg: &'static str, n: usize },
    /// The next `n` arrive `ms` late.
    Delay {
        msg: &'static str,
        n: usize,
        ms: u64,
    },
    /// The next `n` arrive up to `ms` late, overtaking each other.
    Reorder {
        msg: &'static str,
        n: usize,
        ms: u64,
    },
    /// `a` and `b` cannot talk for `ms` (connections break).
    Partition { a: NodeRef, b: NodeRef, ms: u64 },
    /// The node's process dies and comes back after `ms`.
    Crash { node: NodeRef, ms: u64 },
    /// Scheduler `i` kills one of its non-terminal tasks.
    KillTask { scheduler: usize },
    /// An operator polls `GET_STATE` (v1) or `/master/state` (v0).
    Operator { v1: bool },
    /// `DRAIN_AGENT` of agent `agent`, with `max_grace_period` and
    /// `mark_gone` as given.
    Drain {
        agent: usize,
        grace_ms: Option<u64>,
        mark_gone: bool,
    },
    /// `DEACTIVATE_AGENT`.
    Deactivate { agent: usize },
    /// `REACTIVATE_AGENT`.
    Reactivate { agent: usize },
    /// `UPDATE_QUOTA` of role `role<role>`: guarantees and limits as
    /// (millicpus, mem MB); neither resets the role to no quota.
    Quota {
        role: usize,
        guarantees: Option<(u32, u32)>,
        limits: Option<(u32, u32)>,
        force: bool,
    },
    /// The deprecated `REMOVE_QUOTA` of role `role<role>`.
    RemoveQuota { role: usize },
}

/// An event at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub at_ms: u64,
    pub event: Event,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t={:>6}ms {:?}", self.at_ms, self.event)
    }
}

/// The size and length of each campaign run.
#[derive(Clone, Debug)]
pub struct CampaignConfig {
    pub agents: usize,
    pub schedulers: usize,
    pub tasks_per_scheduler: usize,
    /// Faults happen in `[0, horizon)`.
    pub horizon: Duration,
    /// Fault-free time after the horizon for the cluster to converge.
    pub quiesce: Duration,
    pub min_events: usize,
    pub max_events: usize,
    /// Run every seed twice and compare trace hashes.
    pub determinism: bool,
    /// Schedules include operator actions (drain, deactivate, reactivate,
    /// quota); the master runs the hierarchical allocator either way.
    pub operator_actions: bool,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        CampaignConfig {
            agents: 2,
            schedulers: 2,
            tasks_per_scheduler: 5,
            horizon: Duration::from_secs(60),
            quiesce: Duration::from_secs(200),
            min_events: 3,
            max_events: 10,
            determinism: false,
            operator_actions: true,
        }
    }
}

/// The random schedule of `seed`.
pub fn generate(seed: u64, cfg: &CampaignConfig) -> Vec<Step> {
    // Separate from the simulator's RNG so the schedule does not depend on
    // how the run consumes randomness.
    let mut rng = SmallRng::seed_from_u64(seed ^ 0x5eed_cafe_f00d_d00d);
    let n = rng.gen_range(cfg.min_events..=cfg.max_events);
    let horizon = cfg.horizon.as_millis() as u64;
    let node = |rng: &mut SmallRng| match rng.gen_range(0..3) {
        0 => NodeRef::Master,
        1 => NodeRef::Agent(rng.gen_range(0..cfg.agents.max(1))),
        _ => NodeRef::Scheduler(rng.gen_range(0..cfg.schedulers.max(1))),
    };
    let mut steps: Vec<Step> = (0..n)
        .map(|_| {
            // Half the events fall in the first quarter, while agents
            // register and tasks launch.
            let at_ms = if rng.gen_bool(0.5) {
                rng.gen_range(0..horizon / 4)
            } else {
                rng.gen_range(0..horizon)
            };
            let pick = if cfg.operator_actions {
                rng.gen_range(0..125)
            } else {
                rng.gen_range(0..100)
            };
            let event = match pick {
                0..=14 => Event::Drop {
                    msg: DROPPABLE[rng.gen_range(0..DROPPABLE.len())],
                    n: rng.gen_range(1..4),
                },
                15..=24 => Event::Duplicate {
                    msg: TOUCHABLE[rng.gen_range(0..TOUCHABLE.len())],
                    n: rng.gen_range(1..4),
                },
                25..=34 => Event::Delay {
                    msg: TOUCHABLE[rng.gen_range(0..TOUCHABLE.len())],
                    n: rng.gen_range(1..4),
                    ms: rng.gen_range(10..5000),
                },
                35..=42 => Event::Reorder {
                    msg: TOUCHABLE[rng.gen_range(0..TOUCHABLE.len())],
                    n: rng.gen_range(2..8),
                    ms: rng.gen_range(5..500),
                },
                43..=59 => {
                    let a = node(&mut rng);
                    let mut b = node(&mut rng);
                    if a == b {
                        b = if a == NodeRef::Master {
                            NodeRef::Agent(0)
                        } else {
                            NodeRef::Master
                        };
                    }
                    Event::Partition {
                        a,
                        b,
                        ms: rng.gen_range(100..120_000),
                    }
                }
                60..=79 => Event::Crash {
                    node: node(&mut rng),
                    ms: rng.gen_range(10..30_000),
                },
                80..=89 => Event::KillTask {
                    scheduler: rng.gen_range(0..cfg.schedulers.max(1)),
                },
                90..=99 => Event::Operator {
                    v1: rng.gen_bool(0.5),
                },
                100..=107 => Event::Drain {
                    agent: rng.gen_range(0..cfg.agents.max(1)),
                    grace_ms: rng.gen_bool(0.5).then(|| rng.gen_range(0..10_000)),
                    mark_gone: rng.gen_bool(0.15),
                },
                108..=112 => Event::Deactivate {
                    agent: rng.gen_range(0..cfg.agents.max(1)),
                },
                113..=114 => Event::Reactivate {
                    agent: rng.gen_range(0..cfg.agents.max(1)),
                },
                115..=122 => {
                    const CPUS: &[u32] = &[500, 1000, 1500, 2000, 3000, 9000];
                    const MEM: &[u32] = &[64, 128, 256, 1024, 9000];
                    let q = |rng: &mut SmallRng| {
                        (
                            CPUS[rng.gen_range(0..CPUS.len())],
                            MEM[rng.gen_range(0..MEM.len())],
                        )
                    };
                    Event::Quota {
                        role: rng.gen_range(0..=cfg.schedulers),
                        guarantees: rng.gen_bool(0.5).then(|| q(&mut rng)),
                        limits: rng.gen_bool(0.8).then(|| q(&mut rng)),
                        force: rng.gen_bool(0.3),
                    }
                }
                _ => Event::RemoveQuota {
                    role: rng.gen_range(0..=cfg.schedulers),
                },
            };
            Step { at_ms, event }
        })
        .collect();
    // Most drains and deactivations end with a reactivation, so the
    // cluster keeps running tasks on the agent afterwards.
    let mut back = Vec::new();
    for st in &steps {
        if let Event::Drain { agent, .. } | Event::Deactivate { agent } = st.event {
            if rng.gen_bool(0.6) {
                back.push(Step {
                    at_ms: st.at_ms + rng.gen_range(500..40_000),
                    event: Event::Reactivate { agent },
                });
            }
        }
    }
    steps.extend(back);
    steps.sort_by_key(|s| s.at_ms);
    steps
}

/// What one run of a schedule gave.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub violations: Vec<Violation>,
    pub trace_hash: u64,
    /// The simulator's last trace lines (for reports).
    pub trace_tail: String,
    pub events: u64,
    pub virtual_time: Duration,
    pub ops: OperatorStats,
}

/// What the operator actions of a run did (tests check the campaigns
/// really exercise them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorStats {
    /// Calls answered 200 OK, by call type.
    pub ok: std::collections::BTreeMap<&'static str, u64>,
    /// Calls refused with a 4xx (unknown agent, limits below consumption
    /// without force, ...).
    pub refused: u64,
    /// Calls not made because the master was down.
    pub skipped: u64,
    /// Agents seen DRAINED at some check.
    pub drained: u64,
    /// Master restarts whose recovered operator state was compared.
    pub durable_checks: u64,
    /// Allocations to roles with quota limits checked against them.
    pub limited_allocations: u64,
}

impl OperatorStats {
    pub fn add(&mut self, o: &OperatorStats) {
        for (k, n) in &o.ok {
            *self.ok.entry(k).or_default() += n;
        }
        self.refused += o.refused;
        self.skipped += o.skipped;
        self.drained += o.drained;
        self.durable_checks += o.durable_checks;
        self.limited_allocations += o.limited_allocations;
    }
}

impl fmt::Display for OperatorStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "operator calls OK {:?}, refused {}, skipped (master down) {}; agents DRAINED {}; master restarts checked for durable operator state {}; allocations checked against quota limits {}",
            self.ok, self.refused, self.skipped, self.drained, self.durable_checks, self.limited_allocations
        )
    }
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// The role of scheduler `i` (quota events name roles by this index).
pub fn role(i: usize) -> String {
    format!("role{i}")
}

/// The cluster a campaign runs on: the master with the hierarchical
/// allocator, scheduler `i` in [`role`]`(i)`.
pub fn cluster_for(seed: u64, cfg: &CampaignConfig) -> Cluster {
    let mut b = ClusterBuilder::exact_seed(seed)
        .agents(cfg.agents)
        .hierarchical_allocator();
    for i in 0..cfg.schedulers {
        b = b.scheduler(SchedulerSpec {
            name: format!("fw{i}"),
            role: role(i),
            tasks: cfg.tasks_per_scheduler,
            max_per_offer: 1,
            behaviors: vec![
                TaskBehavior::Run(Duration::from_secs(20)),
                TaskBehavior::Hang,
                TaskBehavior::Fail(Duration::from_secs(7)),
                TaskBehavior::Run(Duration::from_millis(300)),
            ],
            ..SchedulerSpec::default()
        });
    }
    b.build()
}

enum Action {
    Step(Event),
    Heal(NodeRef, NodeRef),
    Restart(NodeRef),
}

/// The state of one run that actions and checks share.
struct RunState {
    checker: EventChecker,
    violations: Vec<Violation>,
    ops: OperatorStats,
    /// The last agent ID each agent node was known by (operator calls
    /// name agents by ID, also while they are down).
    agent_ids: Vec<Option<String>>,
    /// The operator state when the master node went down.
    before_crash: Option<OperatorState>,
    drained_seen: BTreeSet<String>,
}

impl RunState {
    fn note_agents(&mut self, c: &Cluster) {
        for (i, slot) in self.agent_ids.iter_mut().enumerate() {
            if let Some(id) = c.agent(i).and_then(|a| a.id.clone()) {
                *slot = Some(id);
            }
        }
        if let Some(m) = c.master() {
            let drained = mesos_proto::mesos::DrainState::Drained as i32;
            for (id, d) in &m.state().draining {
                if d.state == drained && self.drained_seen.insert(id.clone()) {
                    self.ops.drained += 1;
                }
            }
        }
    }

    /// Moves the clock `d` forward, checking the master after every event.
    fn advance(&mut self, c: &mut Cluster, d: Duration) {
        let master = c.master.clone();
        let checker = &mut self.checker;
        c.sim.run_until(
            |s| {
                checker.check(s, &master);
                false
            },
            d,
        );
    }
}

/// Runs `steps` on the cluster of `seed`.
pub fn run(seed: u64, cfg: &CampaignConfig, steps: &[Step]) -> Outcome {
    let mut c = cluster_for(seed, cfg);
    let mut actions: Vec<(u64, usize, Action)> = Vec::new();
    for (k, s) in steps.iter().enumerate() {
        actions.push((s.at_ms, k, Action::Step(s.event.clone())));
        match s.event {
            Event::Partition { a, b, ms } => actions.push((s.at_ms + ms, k, Action::Heal(a, b))),
            Event::Crash { node, ms } => actions.push((s.at_ms + ms, k, Action::Restart(node))),
            _ => {}
        }
    }
    actions.sort_by_key(|(t, k, _)| (*t, *k));
    let horizon = cfg.horizon.as_millis() as u64;
    let mut rs = RunState {
        checker: EventChecker::new(),
        violations: Vec::new(),
        ops: OperatorStats::default(),
        agent_ids: vec![None; cfg.agents],
        before_crash: None,
        drained_seen: BTreeSet::new(),
    };
    let mut next_check = 1000u64;
    let mut act = actions.into_iter().peekable();
    let end = horizon + cfg.quiesce.as_millis() as u64;
    let mut t = 0u64;
    let mut healed = false;
    while t < end {
        // The next point of interest: an action, a check, the horizon.
        let mut next = next_check.min(end);
        if let Some((at, _, _)) = act.peek() {
            next = next.min(*at);
        }
        if !healed {
            next = next.min(horizon);
        }
        if next > t {
            rs.advance(&mut c, Duration::from_millis(next - t));
            t = next;
        }
        if !healed && t >= horizon {
            // Everything heals: faults off, partitions healed, nodes back.
            healed = true;
            c.sim.clear_faults();
            c.sim.heal_all();
            for n in c.nodes() {
                if !c.sim.is_up(n) {
                    restart(&mut c, &mut rs, n);
                }
            }
        }
        while let Some((at, _, _)) = act.peek() {
            if *at > t {
                break;
            }
            let (_, _, a) = act.next().expect("peeked");
            if healed {
                continue; // Past the horizon: already healed.
            }
            apply(&mut c, a, &mut rs);
        }
        if t >= next_check {
            next_check += 1000;
            rs.note_agents(&c);
            rs.violations.extend(check_continuous(&c));
        }
        rs.violations.append(&mut rs.checker.violations);
        if !rs.violations.is_empty() {
            break;
        }
    }
    rs.ops.limited_allocations = rs.checker.limited_allocations;
    let mut violations = rs.violations;
    if violations.is_empty() {
        violations = check_final(&c);
    }
    violations.sort();
    violations.dedup();
    Outcome {
        violations,
        trace_hash: c.sim.trace_hash(),
        trace_tail: c.sim.trace_text(60),
        events: c.sim.stats().events,
        virtual_time: c.sim.now().0,
        ops: rs.ops,
    }
}

/// Restarts a node; a restarted master must come back with the drain,
/// deactivation and quota state it had (the registry is durable).
fn restart(c: &mut Cluster, rs: &mut RunState, n: std::net::SocketAddr) {
    c.sim.restart_node(n);
    if n != master_addr() {
        return;
    }
    let Some(before) = rs.before_crash.take() else {
        return;
    };
    // Recovery happens as the master starts, before any peer talks to it.
    c.sim.settle();
    if let Some(m) = c.master() {
        rs.ops.durable_checks += 1;
        rs.violations
            .extend(before.compare(&OperatorState::of(m.state())));
    }
}

fn apply(c: &mut Cluster, a: Action, rs: &mut RunState) {
    match a {
        Action::Step(e) => match e {
            Event::Drop { msg, n } => {
                c.sim.fault(Matcher::named(msg), FaultAction::Drop, Some(n));
            }
            Event::Duplicate { msg, n } => {
                c.sim
                    .fault(Matcher::named(msg), FaultAction::Duplicate, Some(n));
            }
            Event::Delay { msg, n, ms } => {
                let d = FaultAction::Delay(Duration::from_millis(ms));
                c.sim.fault(Matcher::named(msg), d, Some(n));
            }
            Event::Reorder { msg, n, ms } => {
                let d = FaultAction::RandomDelay(Duration::from_millis(ms));
                c.sim.fault(Matcher::named(msg), d, Some(n));
            }
            Event::Partition { a, b, .. } => c.sim.partition(a.addr(), b.addr()),
            Event::Crash { node, .. } => {
                if c.sim.is_up(node.addr()) {
                    if node == NodeRef::Master {
                        rs.before_crash = c.master().map(|m| OperatorState::of(m.state()));
                    }
                    c.sim.crash_node(node.addr());
                }
            }
            Event::KillTask { scheduler } => {
                let pid = c.scheduler_pid(scheduler);
                let target = c.scheduler(scheduler).and_then(|s| {
                    s.tasks
                        .iter()
                        .find(|(_, st)| !crate::model::agent::is_terminal(**st))
                        .map(|(t, _)| t.clone())
                });
                if let Some(t) = target {
                    c.sim.dispatch(
                        &libprocess::Pid::<crate::model::scheduler::DriverScheduler>::new(pid),
                        move |s, cx| s.kill(cx, &t),
                    );
                }
            }
            Event::Operator { v1 } => poll_state(c, v1, &mut rs.violations),
            op @ (Event::Drain { .. }
            | Event::Deactivate { .. }
            | Event::Reactivate { .. }
            | Event::Quota { .. }
            | Event::RemoveQuota { .. }) => {
                rs.note_agents(c);
                ops::apply(c, &op, rs);
            }
        },
        Action::Heal(a, b) => c.sim.heal(a.addr(), b.addr()),
        Action::Restart(n) => {
            if !c.sim.is_up(n.addr()) {
                restart(c, rs, n.addr());
            }
        }
    }
}

/// An operator polls GET_STATE or /master/state: it lists the master's
/// agents, each with the master's deactivation and drain state.
fn poll_state(c: &mut Cluster, v1: bool, violations: &mut Vec<Violation>) {
    let Some(m) = c.master() else { return };
    let st = m.state();
    let agents = st.agents.len();
    // Per agent ID: (deactivated, drain state name).
    let want: std::collections::BTreeMap<String, (bool, Option<&'static str>)> = st
        .agents
        .keys()
        .map(|id| {
            let drain = st.draining.get(id).map(|d| {
                mesos_proto::mesos::DrainState::try_from(d.state)
                    .map(|s| s.as_str_name())
                    .unwrap_or("UNKNOWN")
            });
            (id.clone(), (st.deactivated.contains(id), drain))
        })
        .collect();
    let r = if v1 {
        c.get_state(Duration::from_secs(1))
            .map(|j| j["get_state"]["get_agents"]["agents"].clone())
    } else {
        c.v0_state(Duration::from_secs(1))
            .map(|j| j["slaves"].clone())
    };
    let bad = |detail: String| Violation {
        invariant: "operator-state",
        detail,
    };
    let listed = match r {
        Ok(serde_json::Value::Array(a)) => a,
        // Protobuf JSON leaves an empty list out.
        Ok(serde_json::Value::Null) => Vec::new(),
        Ok(other) => return violations.push(bad(format!("no agent list in {other}"))),
        Err(e) => return violations.push(bad(format!("state call failed: {e}"))),
    };
    if c.master().map(|m| m.state().agents.len()) != Some(agents) {
        return; // Agents came or went while the request was served.
    }
    if listed.len() != agents {
        return violations.push(bad(format!(
            "state lists {} agents, the master has {agents}",
            listed.len()
        )));
    }
    for a in &listed {
        let id = if v1 {
            a["agent_info"]["id"]["value"].as_str()
        } else {
            a["id"].as_str()
        };
        let Some((deactivated, drain)) = id.and_then(|id| want.get(id)) else {
            return violations.push(bad(format!("state lists an unknown agent {a}")));
        };
        let got = (
            a["deactivated"].as_bool().unwrap_or(false),
            a["drain_info"]["state"].as_str(),
        );
        if got != (*deactivated, *drain) {
            violations.push(bad(format!(
                "agent {id:?}: state shows deactivated {} drain {:?}, the master has {deactivated} {drain:?}",
                got.0, got.1
            )));
        }
    }
}

/// The 1.9 operator actions of campaigns and what each must have done when
/// the master answered 200 OK.
mod ops {
    use super::*;

    fn agent_id(rs: &RunState, agent: usize) -> String {
        rs.agent_ids
            .get(agent)
            .cloned()
            .flatten()
            .unwrap_or_else(|| format!("never-registered-S{agent}"))
    }

    fn scalars(q: Option<(u32, u32)>) -> String {
        match q {
            None => "{}".into(),
            Some((mcpus, mem)) => format!(
                r#"{{"cpus":{{"value":{}}},"mem":{{"value":{mem}}}}}"#,
                mcpus as f64 / 1000.0
            ),
        }
    }

    fn violation(rs: &mut RunState, detail: String) {
        rs.violations.push(Violation {
            invariant: "operator-call",
            detail,
        });
    }

    pub(super) fn apply(c: &mut Cluster, e: &Event, rs: &mut RunState) {
        if c.master().is_none() {
            rs.ops.skipped += 1;
            return;
        }
        let (kind, json) = match *e {
            Event::Drain {
                agent,
                grace_ms,
                mark_gone,
            } => {
                let grace = grace_ms
                    .map(|ms| {
                        format!(
                            r#","max_grace_period":{{"seconds":{},"nanos":{}}}"#,
                            ms / 1000,
                            (ms % 1000) * 1_000_000
                        )
                    })
                    .unwrap_or_default();
                (
                    "DRAIN_AGENT",
                    format!(
                        r#"{{"type":"DRAIN_AGENT","drain_agent":{{"agent_id":{{"value":"{}"}}{grace},"mark_gone":{mark_gone}}}}}"#,
                        agent_id(rs, agent)
                    ),
                )
            }
            Event::Deactivate { agent } => (
                "DEACTIVATE_AGENT",
                format!(
                    r#"{{"type":"DEACTIVATE_AGENT","deactivate_agent":{{"agent_id":{{"value":"{}"}}}}}}"#,
                    agent_id(rs, agent)
                ),
            ),
            Event::Reactivate { agent } => (
                "REACTIVATE_AGENT",
                format!(
                    r#"{{"type":"REACTIVATE_AGENT","reactivate_agent":{{"agent_id":{{"value":"{}"}}}}}}"#,
                    agent_id(rs, agent)
                ),
            ),
            Event::Quota {
                role: r,
                guarantees,
                limits,
                force,
            } => (
                "UPDATE_QUOTA",
                format!(
                    r#"{{"type":"UPDATE_QUOTA","update_quota":{{"force":{force},"quota_configs":[{{"role":"{}","guarantees":{},"limits":{}}}]}}}}"#,
                    role(r),
                    scalars(guarantees),
                    scalars(limits)
                ),
            ),
            Event::RemoveQuota { role: r } => (
                "REMOVE_QUOTA",
                format!(
                    r#"{{"type":"REMOVE_QUOTA","remove_quota":{{"role":"{}"}}}}"#,
                    role(r)
                ),
            ),
            _ => return,
        };
        let master = c.master.clone();
        let checker = &mut rs.checker;
        let answer =
            c.operator_call_observed(&json, Duration::from_secs(5), |s| checker.check(s, &master));
        let status = match answer {
            Ok((status, _)) if status.is_success() => status,
            Ok((status, _)) if status.is_client_error() => {
                rs.ops.refused += 1;
                return;
            }
            Ok((status, body)) => {
                return violation(
                    rs,
                    format!(
                        "{kind} answered {status}: {}",
                        String::from_utf8_lossy(&body)
                    ),
                )
            }
            Err(err) => return violation(rs, format!("{kind} failed: {err}")),
        };
        let _ = status;
        *rs.ops.ok.entry(kind).or_default() += 1;
        let Some(m) = c.master() else { return };
        let st = m.state();
        // What a 200 promises, right after it.
        match *e {
            Event::Drain { agent, .. } => {
                let id = agent_id(rs, agent);
                let gone = st.gone.contains_key(&id);
                let draining = st.draining.contains_key(&id) && st.deactivated.contains(&id);
                if !gone && !draining {
                    violation(
                        rs,
                        format!("DRAIN_AGENT {id} answered OK but the agent is neither draining nor gone"),
                    );
                }
            }
            Event::Deactivate { agent } => {
                let id = agent_id(rs, agent);
                let active = st.agents.get(&id).is_some_and(|a| a.active);
                if !st.deactivated.contains(&id) || active {
                    violation(
                        rs,
                        format!("DEACTIVATE_AGENT {id} answered OK but the agent is active"),
                    );
                }
            }
            Event::Reactivate { agent } => {
                let id = agent_id(rs, agent);
                if st.deactivated.contains(&id) || st.draining.contains_key(&id) {
                    violation(
                        rs,
                        format!("REACTIVATE_AGENT {id} answered OK but the agent is still deactivated or draining"),
                    );
                }
            }
            Event::Quota {
                role: r,
                guarantees,
                limits,
                ..
            } => {
                let q = st.quotas.get(&role(r));
                let value =
                    |m: Option<
                        &std::collections::BTreeMap<String, mesos_proto::mesos::value::Scalar>,
                    >,
                     n: &str| m.and_then(|m| m.get(n)).map(|s| s.value);
                let want = |x: Option<(u32, u32)>, n: &str| {
                    x.map(|(c, m)| {
                        if n == "cpus" {
                            c as f64 / 1000.0
                        } else {
                            m as f64
                        }
                    })
                };
                for n in ["cpus", "mem"] {
                    let got_l = value(q.map(|q| &q.limits), n);
                    let got_g = value(q.map(|q| &q.guarantees), n);
                    if got_l != want(limits, n) || got_g != want(guarantees, n) {
                        violation(
                            rs,
                            format!(
                                "UPDATE_QUOTA of {} answered OK but the master has {q:?}",
                                role(r)
                            ),
                        );
                        break;
                    }
                }
            }
            _ => {}
        }
    }
}

/// A failing seed, shrunk.
#[derive(Clone, Debug)]
pub struct Failure {
    pub seed: u64,
    pub schedule: Vec<Step>,
    pub shrunk: Vec<Step>,
    pub outcome: Outcome,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "campaign seed {} failed (replay: MESOS_SIM_SEED={}):",
            self.seed, self.seed
        )?;
        for v in &self.outcome.violations {
            writeln!(f, "  {v}")?;
        }
        writeln!(
            f,
            "shrunk schedule ({} of {} events):",
            self.shrunk.len(),
            self.schedule.len()
        )?;
        for s in &self.shrunk {
            writeln!(f, "  {s}")?;
        }
        writeln!(f, "last simulator events of the shrunk run:")?;
        write!(f, "{}", self.outcome.trace_tail)
    }
}

/// Removes steps one at a time while the run still breaks `invariant`.
pub fn shrink(seed: u64, cfg: &CampaignConfig, steps: &[Step], invariant: &str) -> Vec<Step> {
    let mut cur = steps.to_vec();
    let mut budget = 300;
    loop {
        let mut progressed = false;
        let mut i = 0;
        while i < cur.len() && budget > 0 {
            let mut cand = cur.clone();
            cand.remove(i);
            budget -= 1;
            let o = run(seed, cfg, &cand);
            if o.violations.iter().any(|v| v.invariant == invariant) {
                cur = cand;
                progressed = true;
            } else {
                i += 1;
            }
        }
        if !progressed || budget == 0 {
            return cur;
        }
    }
}

/// Runs one seed (twice with `cfg.determinism`); on a violation, shrinks it.
pub fn run_seed(seed: u64, cfg: &CampaignConfig) -> Result<Outcome, Box<Failure>> {
    let schedule = generate(seed, cfg);
    let o = run(seed, cfg, &schedule);
    if cfg.determinism {
        let again = run(seed, cfg, &schedule);
        if again.trace_hash != o.trace_hash {
            return Err(Box::new(Failure {
                seed,
                shrunk: schedule.clone(),
                schedule,
                outcome: Outcome {
                    violations: vec![Violation {
                        invariant: "determinism",
                        detail: format!(
                            "trace hashes differ: {:x} vs {:x}",
                            o.trace_hash, again.trace_hash
                        ),
                    }],
                    ..o
                },
            }));
        }
    }
    if o.ok() {
        return Ok(o);
    }
    let inv = o.violations[0].invariant;
    let shrunk = shrink(seed, cfg, &schedule, inv);
    let outcome = run(seed, cfg, &shrunk);
    let outcome = if outcome.ok() { o } else { outcome };
    Err(Box::new(Failure {
        seed,
        schedule,
        shrunk,
        outcome,
    }))
}

/// Figures of a campaign.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub schedules: u64,
    pub failures: Vec<Failure>,
    pub elapsed: Duration,
    pub sim_events: u64,
    /// Operator actions over the passing seeds.
    pub ops: OperatorStats,
}

impl Report {
    pub fn schedules_per_sec(&self) -> f64 {
        self.schedules as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs every seed of `seeds` (or only `MESOS_SIM_SEED` when set).
pub fn campaign(seeds: impl IntoIterator<Item = u64>, cfg: &CampaignConfig) -> Report {
    let start = Instant::now();
    let mut r = Report::default();
    let seeds: Vec<u64> = match std::env::var(libprocess::runtime::sim::SEED_ENV)
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        Some(s) => vec![s],
        None => seeds.into_iter().collect(),
    };
    for seed in seeds {
        r.schedules += 1;
        match run_seed(seed, cfg) {
            Ok(o) => {
                r.sim_events += o.events;
                r.ops.add(&o.ops);
            }
            Err(f) => r.failures.push(*f),
        }
    }
    r.elapsed = start.elapsed();
    r
}
