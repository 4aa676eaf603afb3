//! Invariants of a cluster, checked while a campaign runs
//! ([`check_continuous`]) and once it has healed and quiesced
//! ([`check_final`]). Each names the property of the issue it checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use mesos_master::resources::Resources;

use crate::cluster::Cluster;
use crate::model::agent::is_terminal;

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.invariant, self.detail)
    }
}

fn v(invariant: &'static str, detail: String) -> Violation {
    Violation { invariant, detail }
}

const EPS: f64 = 1e-6;

/// Checks that hold at every instant.
pub fn check_continuous(c: &Cluster) -> Vec<Violation> {
    let mut out = Vec::new();
    if let Some(m) = c.master() {
        let st = m.state();
        // Offered + used <= total, per agent (cpus, mem): nothing is
        // offered twice nor offered while in use.
        for (id, a) in &st.agents {
            let offered = st.offered_on_agent(id);
            let mut used = Resources::new();
            for r in st.used_on_agent(id).values() {
                used.add_all(r);
            }
            for name in ["cpus", "mem"] {
                let (o, u, t) = (
                    offered.scalar(name),
                    used.scalar(name),
                    a.total.scalar(name),
                );
                if o + u > t + EPS {
                    out.push(v(
                        "offered+used<=total",
                        format!("agent {id}: {name} offered {o} + used {u} > total {t}"),
                    ));
                }
            }
        }
        // Every offer belongs to exactly one known framework and agent.
        let mut owners: BTreeMap<&str, usize> = BTreeMap::new();
        for f in st.frameworks.values() {
            for o in &f.offers {
                *owners.entry(o.as_str()).or_default() += 1;
            }
        }
        for (oid, o) in &st.offers {
            let n = owners.get(oid.as_str()).copied().unwrap_or(0);
            if n != 1 {
                out.push(v(
                    "offer-owned-once",
                    format!("offer {oid} is held by {n} frameworks"),
                ));
            }
            if !st.agents.contains_key(&o.slave_id.value) {
                out.push(v(
                    "offer-on-known-agent",
                    format!("offer {oid} on unknown agent {}", o.slave_id.value),
                ));
            }
        }
    }
    if let Some(m) = c.master() {
        out.extend(check_registry(m));
    }
    // No task runs twice, and an agent never runs more than it has.
    let mut running: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
    for i in 0..c.agents {
        let Some(a) = c.agent(i) else { continue };
        let (mut cpus, mut mem) = (0.0, 0.0);
        for t in a.tasks.values().filter(|t| !is_terminal(t.state)) {
            running
                .entry((t.framework_id.value.clone(), t.task_id.value.clone()))
                .or_default()
                .push(i);
            let r = Resources::from_vec(&t.resources);
            cpus += r.scalar("cpus");
            mem += r.scalar("mem");
        }
        if cpus > a.spec.cpus + EPS || mem > a.spec.mem + EPS {
            out.push(v(
                "agent-not-overcommitted",
                format!(
                    "agent {i} runs cpus {cpus} mem {mem} > {} / {}",
                    a.spec.cpus, a.spec.mem
                ),
            ));
        }
    }
    for ((f, t), on) in running {
        if on.len() > 1 {
            out.push(v(
                "no-duplicate-task",
                format!("task {t} of {f} runs on agents {on:?}"),
            ));
        }
    }
    // Updates reach the scheduler in the order the agent made them.
    c.ledger.with(|d| {
        for (key, delivered) in &d.delivered {
            let Some(gen) = d.generated.get(key) else {
                continue;
            };
            let idx: Vec<usize> = delivered
                .iter()
                .filter_map(|u| gen.iter().position(|g| g.uuid == *u))
                .collect();
            if idx.windows(2).any(|w| w[0] >= w[1]) {
                out.push(v(
                    "updates-in-order",
                    format!("task {} of {}: delivered in order {idx:?}", key.1, key.0),
                ));
            }
        }
    });
    out
}

/// The master's drain states, deactivations and quotas are what its
/// registry holds (upstream changes memory only after the registrar
/// applied the operation), and AGENT_DRAINING is a minimum capability while
/// any agent is deactivated (upstream `DrainAgent` / `DeactivateAgent` add
/// it, the last `ReactivateAgent` removes it).
pub fn check_registry(m: &mesos_master::Master) -> Vec<Violation> {
    let mut out = Vec::new();
    let st = m.state();
    let reg = m.registrar().registry();
    let mut draining = BTreeMap::new();
    let mut deactivated = BTreeSet::new();
    let mut note = |id: &str, d: &Option<mesos_proto::mesos::DrainInfo>, deact: Option<bool>| {
        if let Some(d) = d {
            draining.insert(id.to_string(), *d);
        }
        if deact == Some(true) {
            deactivated.insert(id.to_string());
        }
    };
    for s in reg.slaves.iter().flat_map(|s| &s.slaves) {
        if let Some(id) = &s.info.id {
            note(&id.value, &s.drain_info, s.deactivated);
        }
    }
    for u in reg.unreachable.iter().flat_map(|u| &u.slaves) {
        note(&u.id.value, &u.drain_info, u.deactivated);
    }
    if draining != st.draining {
        out.push(v(
            "registry-matches-master",
            format!(
                "drain states: registry {draining:?}, master {:?}",
                st.draining
            ),
        ));
    }
    if deactivated != st.deactivated {
        out.push(v(
            "registry-matches-master",
            format!(
                "deactivated agents: registry {deactivated:?}, master {:?}",
                st.deactivated
            ),
        ));
    }
    let quotas: BTreeMap<&str, &mesos_proto::mesos::quota::QuotaConfig> = reg
        .quota_configs
        .iter()
        .map(|q| (q.role.as_str(), q))
        .collect();
    let ours: BTreeMap<&str, &mesos_proto::mesos::quota::QuotaConfig> = st
        .quotas
        .iter()
        .filter(|(_, q)| !q.guarantees.is_empty() || !q.limits.is_empty())
        .map(|(r, q)| (r.as_str(), q))
        .collect();
    if quotas != ours {
        out.push(v(
            "registry-matches-master",
            format!("quotas: registry {quotas:?}, master {ours:?}"),
        ));
    }
    let cap = reg
        .minimum_capabilities
        .iter()
        .any(|c| c.capability == "AGENT_DRAINING");
    if !deactivated.is_empty() && !cap {
        out.push(v(
            "registry-matches-master",
            format!("agents {deactivated:?} are deactivated but AGENT_DRAINING is no minimum capability"),
        ));
    }
    out
}

/// Checks after the faults stopped and the cluster had time to converge.
pub fn check_final(c: &Cluster) -> Vec<Violation> {
    let mut out = check_continuous(c);
    let Some(m) = c.master() else {
        out.push(v("converge", "master is down at the end".into()));
        return out;
    };
    let st = m.state();
    // Agents converge: registered with the master, which has them
    // connected and active under the same ID.
    let mut agent_ids = BTreeMap::new();
    for i in 0..c.agents {
        let Some(a) = c.agent(i) else {
            out.push(v("converge", format!("agent {i} is not running")));
            continue;
        };
        let Some(id) = a.id.clone() else {
            out.push(v("converge", format!("agent {i} has no ID")));
            continue;
        };
        // A deactivated (or draining) agent stays inactive until an
        // operator reactivates it.
        let deactivated = st.deactivated.contains(&id);
        match st.agents.get(&id) {
            Some(ma) if ma.connected && ma.active != deactivated && a.registered => {}
            Some(ma) => out.push(v(
                "converge",
                format!(
                    "agent {i} ({id}): registered {} / master: connected {} active {} deactivated {deactivated}",
                    a.registered, ma.connected, ma.active
                ),
            )),
            None => out.push(v(
                "converge",
                format!("agent {i} ({id}) unknown to the master"),
            )),
        }
        agent_ids.insert(id, i);
    }
    // Frameworks converge.
    let mut fids: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..c.schedulers {
        let Some(s) = c.scheduler(i) else {
            out.push(v("converge", format!("scheduler {i} is not running")));
            continue;
        };
        let Some(fid) = s.framework_id.clone() else {
            out.push(v("converge", format!("scheduler {i} never subscribed")));
            continue;
        };
        match st.frameworks.get(&fid) {
            Some(f) if f.active() && f.connected() && s.connected => {}
            Some(f) => out.push(v(
                "converge",
                format!(
                    "framework {fid}: scheduler connected {} / master: active {} connected {}",
                    s.connected,
                    f.active(),
                    f.connected()
                ),
            )),
            None => out.push(v(
                "converge",
                format!("framework {fid} unknown to the master"),
            )),
        }
        fids.insert(fid, i);
    }
    // Which agent runs what.
    let mut on_agents: BTreeMap<(String, String), usize> = BTreeMap::new();
    for i in 0..c.agents {
        if let Some(a) = c.agent(i) {
            for t in a.tasks.values().filter(|t| !is_terminal(t.state)) {
                on_agents.insert((t.framework_id.value.clone(), t.task_id.value.clone()), i);
            }
        }
    }
    c.ledger.with(|d| {
        // No task lost: each launch ends terminal for its scheduler, or runs.
        for (fid, task) in d.launched.keys() {
            let Some(&si) = fids.get(fid) else { continue };
            let Some(s) = c.scheduler(si) else { continue };
            let state = s.tasks.get(task).copied();
            let terminal = state.is_some_and(is_terminal);
            if !terminal && !on_agents.contains_key(&(fid.clone(), task.clone())) {
                out.push(v(
                    "no-task-lost",
                    format!(
                        "task {task} of {fid}: scheduler has {} but no agent runs it",
                        state
                            .map(mesos_master::state::state_name)
                            .unwrap_or("nothing")
                    ),
                ));
            }
        }
        if d.launched.values().any(|n| *n > 1) {
            out.push(v(
                "no-duplicate-task",
                "a task ID was launched twice".into(),
            ));
        }
        // At-least-once delivery of every update of a live framework.
        let abandoned: BTreeSet<_> = d.abandoned.iter().cloned().collect();
        for (key, gen) in &d.generated {
            if !fids.contains_key(&key.0) || abandoned.contains(key) {
                continue;
            }
            let got = d.delivered.get(key);
            for g in gen {
                if !got.is_some_and(|u| u.contains(&g.uuid)) {
                    out.push(v(
                        "updates-delivered",
                        format!(
                            "task {} of {}: {} from {} never reached the scheduler",
                            key.1,
                            key.0,
                            mesos_master::state::state_name(g.state),
                            g.agent
                        ),
                    ));
                    break;
                }
            }
        }
    });
    // A drain completes: once everything healed, a DRAINING agent's tasks
    // were killed and acknowledged, and a DRAINED agent runs nothing, in
    // the master's view and its own.
    let drained = mesos_proto::mesos::DrainState::Drained as i32;
    for (id, d) in &st.draining {
        let master_tasks: Vec<&str> = st
            .tasks_on_agent(id)
            .map(|t| t.task_id.value.as_str())
            .collect();
        let agent_tasks: Vec<&String> = agent_ids
            .get(id)
            .and_then(|&i| c.agent(i))
            .map(|a| {
                a.tasks
                    .values()
                    .filter(|t| !is_terminal(t.state))
                    .map(|t| &t.task_id.value)
                    .collect()
            })
            .unwrap_or_default();
        if d.state != drained && st.agents.get(id).is_some_and(|a| a.connected) {
            out.push(v(
                "drain-completes",
                format!(
                    "agent {id} still DRAINING; the master has tasks {master_tasks:?}, the agent runs {agent_tasks:?}"
                ),
            ));
        }
        if d.state == drained && (!master_tasks.is_empty() || !agent_tasks.is_empty()) {
            out.push(v(
                "drained-without-tasks",
                format!(
                    "DRAINED agent {id}: the master has tasks {master_tasks:?}, the agent runs {agent_tasks:?}"
                ),
            ));
        }
    }
    // The master and the agents agree on what runs where.
    for (id, &i) in &agent_ids {
        let master_tasks: BTreeSet<(String, String)> = st
            .tasks_on_agent(id)
            .filter(|t| !is_terminal(t.state) && fids.contains_key(&t.framework_id.value))
            .map(|t| (t.framework_id.value.clone(), t.task_id.value.clone()))
            .collect();
        let agent_tasks: BTreeSet<(String, String)> = on_agents
            .iter()
            .filter(|(k, a)| **a == i && fids.contains_key(&k.0))
            .map(|(k, _)| k.clone())
            .collect();
        if master_tasks != agent_tasks {
            out.push(v(
                "converge",
                format!(
                    "agent {i} ({id}): master has tasks {:?}, agent runs {:?}",
                    master_tasks.iter().map(|k| &k.1).collect::<Vec<_>>(),
                    agent_tasks.iter().map(|k| &k.1).collect::<Vec<_>>()
                ),
            ));
        }
    }
    out
}

/// Checks run after every simulator event (cheap: the master's offers,
/// quotas and drain states), because what they guard can appear and vanish
/// between two once-a-second checks: an offer lives only until the
/// scheduler answers it.
#[derive(Debug, Default)]
pub struct EventChecker {
    /// The master incarnation the fields below belong to.
    master_id: String,
    /// Offers outstanding after the previous event.
    offers: BTreeSet<String>,
    /// Drain state of each draining agent after the previous event.
    drain: BTreeMap<String, i32>,
    /// Violations found so far (first few kept).
    pub violations: Vec<Violation>,
    /// Allocations to a role with quota limits that were checked.
    pub limited_allocations: u64,
}

impl EventChecker {
    pub fn new() -> EventChecker {
        EventChecker::default()
    }

    fn push(&mut self, now: std::time::Duration, inv: &'static str, detail: String) {
        if self.violations.len() < 8 {
            self.violations
                .push(v(inv, format!("at {now:?}: {detail}")));
        }
    }

    /// Checks the master after one event.
    pub fn check(&mut self, sim: &libprocess::runtime::sim::Sim, master: &libprocess::Upid) {
        if let Some(m) = sim.actor::<mesos_master::Master>(master) {
            self.check_state(m.state(), sim.now().0);
        }
    }

    /// Checks one master state, the next after the previous call's.
    pub fn check_state(&mut self, st: &mesos_master::state::MasterState, now: std::time::Duration) {
        if st.master_id != self.master_id {
            // A new incarnation: its first view is not a transition.
            self.master_id = st.master_id.clone();
            self.offers.clear();
            self.drain = st
                .draining
                .iter()
                .map(|(k, d)| (k.clone(), d.state))
                .collect();
        }
        // A deactivated or draining agent gets no offers once the master
        // processed the deactivation: the outstanding ones were rescinded
        // then (upstream `Master::deactivate(Slave*)`), so any offer the
        // master holds for it now was made afterwards.
        let mut new_roles: BTreeSet<String> = BTreeSet::new();
        let mut fresh = Vec::new();
        for (oid, o) in &st.offers {
            let aid = &o.slave_id.value;
            let deactivated = st.deactivated.contains(aid);
            let inactive = st.agents.get(aid).is_some_and(|a| !a.active);
            if deactivated || inactive {
                let why = match st.draining.get(aid) {
                    Some(d) if d.state == mesos_proto::mesos::DrainState::Drained as i32 => {
                        "DRAINED"
                    }
                    Some(_) => "DRAINING",
                    None if deactivated => "deactivated",
                    None => "inactive",
                };
                self.push(
                    now,
                    "no-offer-for-deactivated-agent",
                    format!("offer {oid} on {why} agent {aid}"),
                );
            }
            if !self.offers.contains(oid) {
                fresh.push(oid.clone());
                if let Some(role) = offer_role(o) {
                    new_roles.insert(role);
                }
            }
        }
        // Quota limits hold at every allocation: when new offers go to a
        // role, what it uses plus what it is offered fits in its limits
        // (upstream `HierarchicalAllocatorProcess::__allocate` caps offers
        // at the headroom below the limits; a forced lower limit may leave
        // the role above it, but then nothing more is offered).
        for role in &new_roles {
            let Some(q) = st.quotas.get(role) else {
                continue;
            };
            if q.limits.is_empty() {
                continue;
            }
            self.limited_allocations += 1;
            let (used, offered) = role_consumption(st, role);
            for (name, lim) in &q.limits {
                let (u, o) = (used.scalar(name), offered.scalar(name));
                // Offering none of it adds nothing (a forced lower limit
                // can leave the role above it).
                if o > EPS && u + o > lim.value + EPS {
                    self.push(
                        now,
                        "quota-limit",
                        format!(
                            "role {role}: {name} used {u} + offered {o} > limit {} after new offers {fresh:?}",
                            lim.value
                        ),
                    );
                }
            }
        }
        // DRAINED is reached only once no task is left on the agent
        // (upstream `Master::checkAndTransitionDrainingAgent`).
        let drained = mesos_proto::mesos::DrainState::Drained as i32;
        for (aid, d) in &st.draining {
            let before = self.drain.get(aid).copied();
            if d.state == drained && before.is_some_and(|b| b != drained) {
                let tasks: Vec<String> = st
                    .tasks_on_agent(aid)
                    .map(|t| {
                        format!(
                            "{} {}",
                            t.task_id.value,
                            mesos_master::state::state_name(t.state)
                        )
                    })
                    .collect();
                if !tasks.is_empty() {
                    self.push(
                        now,
                        "drained-without-tasks",
                        format!("agent {aid} became DRAINED with tasks {tasks:?}"),
                    );
                }
            }
        }
        if self.offers.len() != st.offers.len() || !fresh.is_empty() {
            self.offers = st.offers.keys().cloned().collect();
        }
        let same = self.drain.len() == st.draining.len()
            && st
                .draining
                .iter()
                .all(|(k, d)| self.drain.get(k) == Some(&d.state));
        if !same {
            self.drain = st
                .draining
                .iter()
                .map(|(k, d)| (k.clone(), d.state))
                .collect();
        }
    }
}

/// The role an offer was allocated to.
fn offer_role(o: &mesos_proto::mesos::Offer) -> Option<String> {
    o.allocation_info
        .as_ref()
        .and_then(|a| a.role.clone())
        .or_else(|| {
            o.resources
                .iter()
                .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()))
        })
}

/// What a role uses (non-terminal tasks and executors of its allocations)
/// and is offered.
pub fn role_consumption(
    st: &mesos_master::state::MasterState,
    role: &str,
) -> (Resources, Resources) {
    let mut used = Resources::new();
    for f in st.frameworks.values() {
        let froles = f.roles();
        for t in f.active_tasks() {
            let r = Resources::from_vec(&t.resources);
            let task_role = t
                .resources
                .iter()
                .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()))
                .or_else(|| (froles.len() == 1).then(|| froles[0].clone()));
            if task_role.as_deref() == Some(role) {
                used.add_all(&r);
            }
        }
    }
    let mut offered = Resources::new();
    for o in st.offers.values() {
        if offer_role(o).as_deref() == Some(role) {
            offered.add_all(&Resources::from_vec(&o.resources));
        }
    }
    (used, offered)
}

/// The operator state a durable registry must carry over a master restart:
/// drain states and configs, deactivations, quota configs.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorState {
    pub draining: BTreeMap<String, mesos_proto::mesos::DrainInfo>,
    pub deactivated: BTreeSet<String>,
    /// Non-default quota configs (a reset role leaves the registry).
    pub quotas: BTreeMap<String, mesos_proto::mesos::quota::QuotaConfig>,
}

impl OperatorState {
    pub fn of(st: &mesos_master::state::MasterState) -> OperatorState {
        OperatorState {
            draining: st.draining.clone(),
            deactivated: st.deactivated.clone(),
            quotas: st
                .quotas
                .iter()
                .filter(|(_, q)| !q.guarantees.is_empty() || !q.limits.is_empty())
                .map(|(k, q)| (k.clone(), q.clone()))
                .collect(),
        }
    }

    /// What a restarted master lost or invented.
    pub fn compare(&self, after: &OperatorState) -> Vec<Violation> {
        let mut out = Vec::new();
        if self.draining != after.draining {
            out.push(v(
                "operator-state-durable",
                format!(
                    "drain state before the master restart {:?}, after {:?}",
                    self.draining, after.draining
                ),
            ));
        }
        if self.deactivated != after.deactivated {
            out.push(v(
                "operator-state-durable",
                format!(
                    "deactivated agents before the master restart {:?}, after {:?}",
                    self.deactivated, after.deactivated
                ),
            ));
        }
        if self.quotas != after.quotas {
            out.push(v(
                "operator-state-durable",
                format!(
                    "quotas before the master restart {:?}, after {:?}",
                    self.quotas, after.quotas
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
#[allow(deprecated)]
mod tests {
    use std::time::Duration;

    use mesos_master::state::{Agent, Connection, Framework, MasterState};
    use mesos_proto::mesos::quota::QuotaConfig;
    use mesos_proto::mesos::resource::AllocationInfo as OfferAllocation;
    use mesos_proto::mesos::resource::AllocationInfo;
    use mesos_proto::mesos::value::Scalar;
    use mesos_proto::mesos::{
        DrainConfig, DrainInfo, DrainState, FrameworkId, FrameworkInfo, Offer, OfferId, SlaveId,
        SlaveInfo, Task, TaskId, TaskState,
    };

    use super::*;

    fn res(name: &str, v: f64, role: &str) -> mesos_proto::mesos::Resource {
        let mut r = crate::model::agent::scalar(name, v);
        r.allocation_info = Some(AllocationInfo {
            role: Some(role.into()),
        });
        r
    }

    /// A master with agent A (4 cpus) and framework F in role r.
    fn state() -> MasterState {
        let mut st = MasterState::new("M");
        let info = SlaveInfo {
            hostname: "h".into(),
            id: Some(SlaveId { value: "A".into() }),
            resources: vec![crate::model::agent::scalar("cpus", 4.0)],
            ..Default::default()
        };
        let pid = libprocess::Upid::parse_literal("slave(1)@10.0.1.1:5051").unwrap();
        st.agents.insert(
            "A".into(),
            Agent::new(info, pid, "1.9.0".into(), vec![], 0.0),
        );
        let fi = FrameworkInfo {
            user: "u".into(),
            name: "F".into(),
            id: Some(FrameworkId { value: "F".into() }),
            role: Some("r".into()),
            ..Default::default()
        };
        st.frameworks
            .insert("F".into(), Framework::new(fi, Connection::Recovered, 0.0));
        st
    }

    fn offer(st: &mut MasterState, id: &str, cpus: f64) {
        let o = Offer {
            id: OfferId { value: id.into() },
            framework_id: FrameworkId { value: "F".into() },
            slave_id: SlaveId { value: "A".into() },
            hostname: "h".into(),
            resources: vec![res("cpus", cpus, "r")],
            allocation_info: Some(OfferAllocation {
                role: Some("r".into()),
            }),
            ..Default::default()
        };
        st.offers.insert(id.into(), o);
    }

    fn task(st: &mut MasterState, id: &str, cpus: f64, state: TaskState) {
        let t = Task {
            name: id.into(),
            task_id: TaskId { value: id.into() },
            framework_id: FrameworkId { value: "F".into() },
            slave_id: SlaveId { value: "A".into() },
            state: state as i32,
            resources: vec![res("cpus", cpus, "r")],
            ..Default::default()
        };
        st.frameworks
            .get_mut("F")
            .unwrap()
            .tasks
            .insert(id.into(), t);
    }

    fn names(c: &EventChecker) -> Vec<&'static str> {
        c.violations.iter().map(|v| v.invariant).collect()
    }

    const T: Duration = Duration::from_secs(1);

    #[test]
    fn an_offer_on_a_deactivated_agent_is_caught() {
        let mut st = state();
        let mut c = EventChecker::new();
        offer(&mut st, "O1", 1.0);
        c.check_state(&st, T);
        assert!(c.violations.is_empty());
        // Deactivation rescinds: no offer left, nothing to report.
        st.offers.clear();
        st.deactivated.insert("A".into());
        st.agents.get_mut("A").unwrap().active = false;
        c.check_state(&st, T);
        assert!(c.violations.is_empty());
        // An offer made afterwards is a violation.
        offer(&mut st, "O2", 1.0);
        c.check_state(&st, T);
        assert_eq!(names(&c), vec!["no-offer-for-deactivated-agent"]);
        assert!(c.violations[0].detail.contains("O2"), "{:?}", c.violations);
    }

    #[test]
    fn quota_limits_are_checked_when_offers_are_made() {
        let mut st = state();
        let mut limits = BTreeMap::new();
        limits.insert("cpus".to_string(), Scalar { value: 2.0 });
        st.quotas.insert(
            "r".into(),
            QuotaConfig {
                role: "r".into(),
                guarantees: BTreeMap::new(),
                limits,
            },
        );
        let mut c = EventChecker::new();
        task(&mut st, "t1", 1.0, TaskState::TaskRunning);
        task(&mut st, "t0", 3.0, TaskState::TaskFinished);
        offer(&mut st, "O1", 1.0);
        c.check_state(&st, T);
        assert!(c.violations.is_empty(), "{:?}", c.violations);
        // A second offer takes the role to 1 + 2 > 2.
        offer(&mut st, "O2", 1.0);
        c.check_state(&st, T);
        assert_eq!(names(&c), vec!["quota-limit"]);
        // A role above its limit (forced) may be offered other kinds only.
        let mut c = EventChecker::new();
        st.offers.clear();
        task(&mut st, "t2", 3.0, TaskState::TaskRunning);
        let mut o = Offer {
            id: OfferId { value: "O3".into() },
            framework_id: FrameworkId { value: "F".into() },
            slave_id: SlaveId { value: "A".into() },
            hostname: "h".into(),
            resources: vec![res("mem", 10.0, "r")],
            ..Default::default()
        };
        o.allocation_info = Some(OfferAllocation {
            role: Some("r".into()),
        });
        st.offers.insert("O3".into(), o);
        c.check_state(&st, T);
        assert!(c.violations.is_empty(), "{:?}", c.violations);
    }

    #[test]
    fn drained_with_tasks_is_caught_at_the_transition() {
        let mut st = state();
        let mut c = EventChecker::new();
        let draining = DrainInfo {
            state: DrainState::Draining as i32,
            config: DrainConfig::default(),
        };
        st.draining.insert("A".into(), draining);
        task(&mut st, "t1", 1.0, TaskState::TaskRunning);
        c.check_state(&st, T);
        st.draining.get_mut("A").unwrap().state = DrainState::Drained as i32;
        c.check_state(&st, T);
        assert_eq!(names(&c), vec!["drained-without-tasks"]);
        // A new master that recovers DRAINED is not a transition.
        let mut st2 = state();
        st2.master_id = "M2".into();
        st2.draining.insert(
            "A".into(),
            DrainInfo {
                state: DrainState::Drained as i32,
                config: DrainConfig::default(),
            },
        );
        task(&mut st2, "t1", 1.0, TaskState::TaskRunning);
        let mut c = EventChecker::new();
        c.check_state(&st2, T);
        assert!(c.violations.is_empty());
    }

    #[test]
    fn operator_state_comparison_names_what_was_lost() {
        let mut st = state();
        st.deactivated.insert("A".into());
        let before = OperatorState::of(&st);
        st.deactivated.clear();
        let v = before.compare(&OperatorState::of(&st));
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].invariant, "operator-state-durable");
        assert!(v[0].detail.contains("deactivated"));
    }
}
