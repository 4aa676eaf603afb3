//! Fault campaigns: for each seed, a random schedule of message faults,
//! partitions, crashes and restarts (master, agents, schedulers) and
//! operator calls runs against a [`Cluster`]; invariants are checked every
//! simulated second and after the cluster healed and quiesced. A failing
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
use crate::invariants::{check_continuous, check_final, Violation};
use crate::model::agent::TaskBehavior;
use crate::model::scheduler::SchedulerSpec;

/// Messages that may be dropped outright (the protocol retries them).
const DROPPABLE: &[&str] = &[
    "mesos.internal.RegisterSlaveMessage",
    "mesos.internal.ReregisterSlaveMessage",
    "mesos.internal.SlaveRegisteredMessage",
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
            let event = match rng.gen_range(0..100) {
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
                _ => Event::Operator {
                    v1: rng.gen_bool(0.5),
                },
            };
            Step { at_ms, event }
        })
        .collect();
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
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.violations.is_empty()
    }
}

/// The cluster a campaign runs on.
pub fn cluster_for(seed: u64, cfg: &CampaignConfig) -> Cluster {
    let mut b = ClusterBuilder::exact_seed(seed).agents(cfg.agents);
    for i in 0..cfg.schedulers {
        b = b.scheduler(SchedulerSpec {
            name: format!("fw{i}"),
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
    let mut violations = Vec::new();
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
            c.sim.advance(Duration::from_millis(next - t));
            t = next;
        }
        if !healed && t >= horizon {
            // Everything heals: faults off, partitions healed, nodes back.
            healed = true;
            c.sim.clear_faults();
            c.sim.heal_all();
            for n in c.nodes() {
                if !c.sim.is_up(n) {
                    c.sim.restart_node(n);
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
            apply(&mut c, a, &mut violations);
        }
        if t >= next_check {
            next_check += 1000;
            violations.extend(check_continuous(&c));
            if !violations.is_empty() {
                break;
            }
        }
    }
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
    }
}

fn apply(c: &mut Cluster, a: Action, violations: &mut Vec<Violation>) {
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
            Event::Operator { v1 } => {
                if c.master().is_none() {
                    return;
                }
                let agents = c.master().map(|m| m.state().agents.len()).unwrap_or(0);
                let r = if v1 {
                    c.get_state(Duration::from_secs(1)).map(|j| {
                        j["get_state"]["get_agents"]["agents"]
                            .as_array()
                            .map_or(0, |a| a.len())
                    })
                } else {
                    c.v0_state(Duration::from_secs(1))
                        .map(|j| j["slaves"].as_array().map_or(0, |a| a.len()))
                };
                match r {
                    Ok(n) if n == agents => {}
                    Ok(n) if c.master().map(|m| m.state().agents.len()) != Some(agents) => {
                        // Agents came or went while the request was served.
                        let _ = n;
                    }
                    Ok(n) => violations.push(Violation {
                        invariant: "operator-state",
                        detail: format!("state lists {n} agents, the master has {agents}"),
                    }),
                    Err(e) => violations.push(Violation {
                        invariant: "operator-state",
                        detail: format!("state call failed: {e}"),
                    }),
                }
            }
        },
        Action::Heal(a, b) => c.sim.heal(a.addr(), b.addr()),
        Action::Restart(n) => {
            if !c.sim.is_up(n.addr()) {
                c.sim.restart_node(n.addr());
            }
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
            Ok(o) => r.sim_events += o.events,
            Err(f) => r.failures.push(*f),
        }
    }
    r.elapsed = start.elapsed();
    r
}
