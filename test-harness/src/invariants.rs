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
        match st.agents.get(&id) {
            Some(ma) if ma.connected && ma.active && a.registered => {}
            Some(ma) => out.push(v(
                "converge",
                format!(
                    "agent {i} ({id}): registered {} / master: connected {} active {}",
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
