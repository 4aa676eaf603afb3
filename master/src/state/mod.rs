//! The pure master state: frameworks, agents, tasks and offers, and the
//! ID generators. No I/O and no clock: callers pass times in.
//!
//! Tasks live in their framework (`Framework::tasks`); an agent's tasks are
//! found by filtering, which keeps one copy of each task.

pub mod agent;
pub mod framework;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use libprocess::Upid;
use mesos_proto::mesos::{
    DrainInfo, FrameworkId, Offer, OfferId, SlaveId, SlaveInfo, Task, TaskInfo, TaskState,
    TaskStatus,
};

pub use agent::Agent;
pub use framework::{Connection, Framework, FrameworkState};

use crate::resources::Resources;

/// Upstream `protobuf::isTerminalState`.
pub fn is_terminal(state: i32) -> bool {
    matches!(
        TaskState::try_from(state),
        Ok(TaskState::TaskFinished
            | TaskState::TaskFailed
            | TaskState::TaskKilled
            | TaskState::TaskLost
            | TaskState::TaskError
            | TaskState::TaskDropped
            | TaskState::TaskGone
            | TaskState::TaskGoneByOperator)
    )
}

/// `TASK_FINISHED` etc., for logs.
pub fn state_name(state: i32) -> &'static str {
    TaskState::try_from(state)
        .map(|s| s.as_str_name())
        .unwrap_or("UNKNOWN")
}

/// An agent that stopped answering pings (upstream `slaves.unreachable`).
#[derive(Clone, Debug)]
pub struct UnreachableAgent {
    pub info: SlaveInfo,
    pub since: f64,
}

/// Everything the master tracks.
#[derive(Debug)]
pub struct MasterState {
    /// `MasterInfo.id`: the prefix of every ID this master hands out.
    pub master_id: String,
    next_agent: u64,
    next_framework: u64,
    next_offer: u64,
    pub frameworks: BTreeMap<String, Framework>,
    pub completed_frameworks: VecDeque<Framework>,
    pub agents: BTreeMap<String, Agent>,
    pub unreachable: BTreeMap<String, UnreachableAgent>,
    /// Agents read from the registry at recovery that have not reregistered
    /// yet (upstream `slaves.recovered`).
    pub recovered: BTreeMap<String, SlaveInfo>,
    /// Agents being drained or drained (upstream `slaves.draining`), by ID;
    /// kept while unreachable, dropped when the agent is removed or gone.
    pub draining: BTreeMap<String, DrainInfo>,
    /// Agents an operator deactivated or drains (`slaves.deactivated`).
    pub deactivated: BTreeSet<String>,
    /// Agents marked gone, with the time (upstream `slaves.gone`); they may
    /// not come back.
    pub gone: BTreeMap<String, f64>,
    /// Quota configurations by role (upstream `Master::quotas`); a role
    /// whose quota was reset to the default stays listed, as upstream.
    pub quotas: BTreeMap<String, mesos_proto::mesos::quota::QuotaConfig>,
    /// Role weights (upstream `Master::weights`): `--weights`, or the
    /// registry's when it has any.
    pub weights: BTreeMap<String, f64>,
    pub offers: BTreeMap<String, Offer>,
    pub max_completed_frameworks: usize,
    pub max_completed_tasks: usize,
    /// Agent IDs by pid, for [`MasterState::agent_by_pid`]: every
    /// registration asks, and a scan of all agents made a burst of them
    /// quadratic. Kept by [`MasterState::insert_agent`],
    /// [`MasterState::remove_agent`] and [`MasterState::set_agent_pid`].
    agent_pids: HashMap<Upid, String>,
}

/// Resources in use and offered, summed once (see [`MasterState::usage`]).
#[derive(Debug, Default)]
pub struct Usage {
    pub used_by_agent: BTreeMap<String, Resources>,
    pub used_by_framework: BTreeMap<String, Resources>,
    pub offered_by_agent: BTreeMap<String, Resources>,
}

/// Shared by the `Usage` lookups that find nothing.
static NO_RESOURCES: Resources = Resources::new();

impl Usage {
    pub fn used_on(&self, agent_id: &str) -> &Resources {
        self.used_by_agent.get(agent_id).unwrap_or(&NO_RESOURCES)
    }

    pub fn offered_on(&self, agent_id: &str) -> &Resources {
        self.offered_by_agent.get(agent_id).unwrap_or(&NO_RESOURCES)
    }

    pub fn used_by(&self, framework_id: &str) -> &Resources {
        self.used_by_framework
            .get(framework_id)
            .unwrap_or(&NO_RESOURCES)
    }
}

/// Adds `rs` to the entry `key` of `m`; the key is copied only for a new
/// entry (most lookups find one: many tasks per agent).
fn add_to(m: &mut BTreeMap<String, Resources>, key: &str, rs: &[mesos_proto::mesos::Resource]) {
    if let Some(acc) = m.get_mut(key) {
        acc.add_slice(rs);
    } else {
        m.entry(key.to_string()).or_default().add_slice(rs);
    }
}

impl MasterState {
    pub fn new(master_id: impl Into<String>) -> MasterState {
        MasterState {
            master_id: master_id.into(),
            next_agent: 0,
            next_framework: 0,
            next_offer: 0,
            frameworks: BTreeMap::new(),
            completed_frameworks: VecDeque::new(),
            agents: BTreeMap::new(),
            unreachable: BTreeMap::new(),
            recovered: BTreeMap::new(),
            draining: BTreeMap::new(),
            deactivated: BTreeSet::new(),
            gone: BTreeMap::new(),
            quotas: BTreeMap::new(),
            weights: BTreeMap::new(),
            offers: BTreeMap::new(),
            max_completed_frameworks: 50,
            max_completed_tasks: 1000,
            agent_pids: HashMap::new(),
        }
    }

    /// `<master id>-S<n>` (upstream `Master::newSlaveId`).
    pub fn new_agent_id(&mut self) -> SlaveId {
        let id = format!("{}-S{}", self.master_id, self.next_agent);
        self.next_agent += 1;
        SlaveId { value: id }
    }

    /// `<master id>-<4-digit n>` (upstream `Master::newFrameworkId`).
    pub fn new_framework_id(&mut self) -> FrameworkId {
        let id = format!("{}-{:04}", self.master_id, self.next_framework);
        self.next_framework += 1;
        FrameworkId { value: id }
    }

    /// `<master id>-O<n>` (upstream `Master::newOfferId`).
    pub fn new_offer_id(&mut self) -> OfferId {
        let id = format!("{}-O{}", self.master_id, self.next_offer);
        self.next_offer += 1;
        OfferId { value: id }
    }

    pub fn framework_by_pid(&self, pid: &Upid) -> Option<&Framework> {
        self.frameworks.values().find(|f| f.pid() == Some(pid))
    }

    pub fn agent_by_pid(&self, pid: &Upid) -> Option<&Agent> {
        // The index is trusted while it covers every agent; an agent added
        // or removed behind its back (tests fill `agents` directly) makes
        // the lookup fall back to the scan.
        if self.agent_pids.len() == self.agents.len() {
            match self.agent_pids.get(pid).and_then(|id| self.agents.get(id)) {
                Some(a) if &a.pid == pid => return Some(a),
                // A pid changed behind the index's back: scan.
                Some(_) => {}
                None => return None,
            }
        }
        self.agents.values().find(|a| &a.pid == pid)
    }

    /// Tracks a registered agent under its ID (replacing any agent there).
    pub fn insert_agent(&mut self, id: String, agent: Agent) {
        self.agent_pids.insert(agent.pid.clone(), id.clone());
        if let Some(old) = self.agents.insert(id, agent) {
            self.forget_pid(&old);
        }
    }

    /// Forgets a registered agent.
    pub fn remove_agent(&mut self, id: &str) -> Option<Agent> {
        let agent = self.agents.remove(id)?;
        self.forget_pid(&agent);
        Some(agent)
    }

    /// An agent reregistered from another pid.
    pub fn set_agent_pid(&mut self, id: &str, pid: Upid) {
        let Some(agent) = self.agents.get_mut(id) else {
            return;
        };
        let old = std::mem::replace(&mut agent.pid, pid.clone());
        if self.agent_pids.get(&old).is_some_and(|i| i == id) {
            self.agent_pids.remove(&old);
        }
        self.agent_pids.insert(pid, id.to_string());
    }

    fn forget_pid(&mut self, agent: &Agent) {
        if self
            .agent_pids
            .get(&agent.pid)
            .is_some_and(|i| i == agent.id())
        {
            self.agent_pids.remove(&agent.pid);
        }
    }

    /// All tasks on an agent, of every framework.
    pub fn tasks_on_agent<'a>(&'a self, agent_id: &'a str) -> impl Iterator<Item = &'a Task> + 'a {
        self.frameworks
            .values()
            .flat_map(move |f| f.tasks_on(agent_id))
    }

    /// Resources in use on an agent per framework: live tasks and executors
    /// (offers not included).
    pub fn used_on_agent(&self, agent_id: &str) -> BTreeMap<String, Resources> {
        let mut out: BTreeMap<String, Resources> = BTreeMap::new();
        for f in self.frameworks.values() {
            for t in f.tasks_on(agent_id).filter(|t| !is_terminal(t.state)) {
                out.entry(f.id().to_string())
                    .or_default()
                    .add_all(&Resources::from_vec(&t.resources));
            }
            if let Some(execs) = f.executors.get(agent_id) {
                for e in execs.values() {
                    out.entry(f.id().to_string())
                        .or_default()
                        .add_all(&Resources::from_vec(&e.resources));
                }
            }
        }
        out
    }

    /// What is in use (non-terminal tasks and executors) per agent and per
    /// framework, and what is offered per agent, in one pass: the operator
    /// endpoints need all of it, and asking per agent and per framework made
    /// them grow with agents × frameworks × tasks.
    pub fn usage(&self) -> Usage {
        // Summing a task's resources straight into the totals is the same as
        // summing its normalized `Resources` (addition is associative and
        // keeps the order in which keys first appear); it skips a copy of
        // every task's resources and two key strings per task.
        let mut u = Usage::default();
        for f in self.frameworks.values() {
            let mut by_framework = Resources::new();
            let mut touched = false;
            for t in f.active_tasks() {
                add_to(&mut u.used_by_agent, &t.slave_id.value, &t.resources);
                by_framework.add_slice(&t.resources);
                touched = true;
            }
            for (agent, execs) in &f.executors {
                for e in execs.values() {
                    add_to(&mut u.used_by_agent, agent, &e.resources);
                    by_framework.add_slice(&e.resources);
                    touched = true;
                }
            }
            if touched {
                u.used_by_framework.insert(f.id().to_string(), by_framework);
            }
        }
        for o in self.offers.values() {
            add_to(&mut u.offered_by_agent, &o.slave_id.value, &o.resources);
        }
        u
    }

    /// Resources offered on an agent.
    pub fn offered_on_agent(&self, agent_id: &str) -> Resources {
        let mut r = Resources::new();
        for o in self
            .offers
            .values()
            .filter(|o| o.slave_id.value == agent_id)
        {
            r.add_all(&Resources::from_vec(&o.resources));
        }
        r
    }

    /// Records a launched task (upstream `Master::addTask`), as TASK_STAGING.
    pub fn add_task(
        &mut self,
        framework_id: &str,
        info: &TaskInfo,
        user: Option<String>,
    ) -> Option<&Task> {
        let fw = self.frameworks.get_mut(framework_id)?;
        let task = Task {
            name: info.name.clone(),
            task_id: info.task_id.clone(),
            framework_id: FrameworkId {
                value: framework_id.to_string(),
            },
            executor_id: info.executor.as_ref().map(|e| e.executor_id.clone()),
            slave_id: info.slave_id.clone(),
            state: TaskState::TaskStaging as i32,
            resources: Resources::from_vec(&info.resources).to_vec(),
            labels: info.labels.clone(),
            discovery: info.discovery.clone(),
            container: info.container.clone(),
            health_check: info.health_check.clone(),
            kill_policy: info.kill_policy,
            user,
            ..Default::default()
        };
        let key = task.task_id.value.clone();
        fw.tasks.insert(key.clone(), task);
        fw.tasks.get(&key)
    }

    /// Applies a status update to a task (upstream `Master::updateTask`):
    /// the task's state becomes the update's `latest_state` (or its own
    /// state), and the status is appended without its data. Returns the
    /// task's resources if it just became terminal, for recovery.
    pub fn update_task(
        &mut self,
        framework_id: &str,
        status: &TaskStatus,
        latest_state: Option<i32>,
    ) -> Option<(String, Resources)> {
        let fw = self.frameworks.get_mut(framework_id)?;
        let task = fw.tasks.get_mut(&status.task_id.value)?;
        let new_state = latest_state.unwrap_or(status.state);
        let was_terminal = is_terminal(task.state);
        if !was_terminal {
            task.state = new_state;
        }
        let mut st = status.clone();
        st.data = None;
        // Upstream keeps the latest status of each state only once in a row.
        if task.statuses.last().map(|s| s.state) != Some(st.state) {
            task.statuses.push(st);
        } else if let Some(last) = task.statuses.last_mut() {
            *last = st;
        }
        if !was_terminal && is_terminal(task.state) {
            Some((
                task.slave_id.value.clone(),
                Resources::from_vec(&task.resources),
            ))
        } else {
            None
        }
    }

    /// Removes a task to the framework's completed list (upstream
    /// `Master::removeTask`). Returns the task if it existed.
    pub fn remove_task(&mut self, framework_id: &str, task_id: &str) -> Option<Task> {
        let max = self.max_completed_tasks;
        self.frameworks
            .get_mut(framework_id)?
            .complete_task(task_id, max)
    }

    /// Records an offer on its framework and agent.
    pub fn add_offer(&mut self, offer: Offer) {
        let id = offer.id.value.clone();
        if let Some(f) = self.frameworks.get_mut(&offer.framework_id.value) {
            f.offers.insert(id.clone());
        }
        if let Some(a) = self.agents.get_mut(&offer.slave_id.value) {
            a.offers.insert(id.clone());
        }
        self.offers.insert(id, offer);
    }

    /// Forgets an offer; returns it so its resources can be recovered.
    pub fn remove_offer(&mut self, offer_id: &str) -> Option<Offer> {
        let offer = self.offers.remove(offer_id)?;
        if let Some(f) = self.frameworks.get_mut(&offer.framework_id.value) {
            f.offers.remove(offer_id);
        }
        if let Some(a) = self.agents.get_mut(&offer.slave_id.value) {
            a.offers.remove(offer_id);
        }
        Some(offer)
    }

    /// Offer IDs held by a framework.
    pub fn offers_of_framework(&self, framework_id: &str) -> Vec<String> {
        self.frameworks
            .get(framework_id)
            .map(|f| f.offers.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Offer IDs on an agent.
    pub fn offers_on_agent(&self, agent_id: &str) -> Vec<String> {
        self.agents
            .get(agent_id)
            .map(|a| a.offers.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Moves a framework to the completed list (bounded by
    /// `--max_completed_frameworks`); its tasks become completed tasks.
    pub fn complete_framework(&mut self, framework_id: &str, now: f64) -> Option<Framework> {
        let mut fw = self.frameworks.remove(framework_id)?;
        let ids: Vec<String> = fw.tasks.keys().cloned().collect();
        for id in ids {
            fw.complete_task(&id, self.max_completed_tasks);
        }
        fw.offers.clear();
        fw.executors.clear();
        fw.unregistered_time = Some(now);
        fw.state = FrameworkState::Disconnected;
        if self.max_completed_frameworks > 0 {
            if self.completed_frameworks.len() >= self.max_completed_frameworks {
                self.completed_frameworks.pop_front();
            }
            self.completed_frameworks.push_back(fw.clone());
        }
        Some(fw)
    }

    pub fn is_completed_framework(&self, framework_id: &str) -> bool {
        self.completed_frameworks
            .iter()
            .any(|f| f.id() == framework_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::scalar;
    use mesos_proto::mesos::{FrameworkInfo, TaskId};

    fn state_with_framework() -> MasterState {
        let mut s = MasterState::new("m1");
        let id = s.new_framework_id();
        let info = FrameworkInfo {
            id: Some(id),
            name: "fw".into(),
            user: "root".into(),
            ..Default::default()
        };
        s.frameworks.insert(
            "m1-0000".into(),
            Framework::new(info, Connection::Recovered, 1.0),
        );
        s
    }

    fn task_info(id: &str, agent: &str) -> TaskInfo {
        TaskInfo {
            name: id.into(),
            task_id: TaskId { value: id.into() },
            slave_id: SlaveId {
                value: agent.into(),
            },
            resources: vec![scalar("cpus", 0.5)],
            ..Default::default()
        }
    }

    #[test]
    fn ids_follow_upstream_formats() {
        let mut s = MasterState::new("abc");
        assert_eq!(s.new_agent_id().value, "abc-S0");
        assert_eq!(s.new_agent_id().value, "abc-S1");
        assert_eq!(s.new_framework_id().value, "abc-0000");
        assert_eq!(s.new_framework_id().value, "abc-0001");
        assert_eq!(s.new_offer_id().value, "abc-O0");
    }

    #[test]
    fn terminal_update_releases_resources_once() {
        let mut s = state_with_framework();
        s.add_task("m1-0000", &task_info("t1", "a1"), None).unwrap();
        assert_eq!(s.used_on_agent("a1")["m1-0000"].scalar("cpus"), 0.5);
        // The one-pass summary agrees with the per-agent view.
        let usage = s.usage();
        assert_eq!(usage.used_on("a1"), &s.used_on_agent("a1")["m1-0000"]);
        assert_eq!(usage.used_by("m1-0000").scalar("cpus"), 0.5);
        assert!(usage.used_on("a2").is_empty());

        let running = TaskStatus {
            task_id: TaskId { value: "t1".into() },
            state: TaskState::TaskRunning as i32,
            ..Default::default()
        };
        assert!(s.update_task("m1-0000", &running, None).is_none());
        let finished = TaskStatus {
            state: TaskState::TaskFinished as i32,
            ..running.clone()
        };
        let (agent, res) = s.update_task("m1-0000", &finished, None).unwrap();
        assert_eq!(agent, "a1");
        assert_eq!(res.scalar("cpus"), 0.5);
        // A repeated terminal update releases nothing more.
        assert!(s.update_task("m1-0000", &finished, None).is_none());
        assert!(s.used_on_agent("a1").is_empty());
        assert!(s.usage().used_by("m1-0000").is_empty());
        let t = &s.frameworks["m1-0000"].tasks["t1"];
        assert_eq!(t.statuses.len(), 2);

        assert!(s.remove_task("m1-0000", "t1").is_some());
        assert_eq!(s.frameworks["m1-0000"].completed_tasks.len(), 1);
    }

    fn agent(id: &str, pid: &Upid) -> Agent {
        let info = SlaveInfo {
            id: Some(SlaveId { value: id.into() }),
            ..Default::default()
        };
        Agent::new(info, pid.clone(), String::new(), vec![], 0.0)
    }

    #[test]
    fn agents_are_found_by_pid_through_the_index() {
        let addr = "127.0.0.1:5051".parse().unwrap();
        let (p1, p2, p3) = (
            Upid::new("slave(1)", addr),
            Upid::new("slave(2)", addr),
            Upid::new("slave(3)", addr),
        );
        let mut s = MasterState::new("m1");
        s.insert_agent("a1".into(), agent("a1", &p1));
        s.insert_agent("a2".into(), agent("a2", &p2));
        assert_eq!(s.agent_by_pid(&p2).map(|a| a.id()), Some("a2"));
        assert!(s.agent_by_pid(&p3).is_none());
        // Reregistration from a new pid moves the entry.
        s.set_agent_pid("a2", p3.clone());
        assert!(s.agent_by_pid(&p2).is_none());
        assert_eq!(s.agent_by_pid(&p3).map(|a| a.id()), Some("a2"));
        assert_eq!(s.remove_agent("a1").map(|a| a.pid), Some(p1.clone()));
        assert!(s.agent_by_pid(&p1).is_none());
        // An agent stored behind the index's back is still found.
        s.agents.insert("a4".into(), agent("a4", &p1));
        assert_eq!(s.agent_by_pid(&p1).map(|a| a.id()), Some("a4"));
    }

    #[test]
    fn latest_state_wins_over_status_state() {
        let mut s = state_with_framework();
        s.add_task("m1-0000", &task_info("t1", "a1"), None).unwrap();
        let running = TaskStatus {
            task_id: TaskId { value: "t1".into() },
            state: TaskState::TaskRunning as i32,
            ..Default::default()
        };
        let released = s.update_task("m1-0000", &running, Some(TaskState::TaskFailed as i32));
        assert!(released.is_some());
        assert_eq!(
            s.frameworks["m1-0000"].tasks["t1"].state,
            TaskState::TaskFailed as i32
        );
    }

    #[test]
    fn offers_are_indexed_by_framework_and_agent() {
        let mut s = state_with_framework();
        let oid = s.new_offer_id();
        s.add_offer(Offer {
            id: oid.clone(),
            framework_id: FrameworkId {
                value: "m1-0000".into(),
            },
            slave_id: SlaveId { value: "a1".into() },
            hostname: "h".into(),
            resources: vec![scalar("mem", 10.0)],
            ..Default::default()
        });
        assert_eq!(s.offers_of_framework("m1-0000"), vec![oid.value.clone()]);
        assert_eq!(s.offered_on_agent("a1").scalar("mem"), 10.0);
        assert!(s.remove_offer(&oid.value).is_some());
        assert!(s.offers_of_framework("m1-0000").is_empty());
        assert!(s.remove_offer(&oid.value).is_none());
    }

    #[test]
    fn completed_frameworks_are_bounded() {
        let mut s = state_with_framework();
        s.max_completed_frameworks = 1;
        s.add_task("m1-0000", &task_info("t1", "a1"), None);
        let fw = s.complete_framework("m1-0000", 5.0).unwrap();
        assert_eq!(fw.completed_tasks.len(), 1);
        assert!(s.is_completed_framework("m1-0000"));
        assert!(s.frameworks.is_empty());
    }
}
