//! One framework as the master knows it (upstream `Framework`,
//! `src/master/master.hpp` and `framework.cpp`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use libprocess::Upid;
use mesos_proto::mesos::framework_info::capability::Type as Cap;
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, Task};

use crate::state::is_terminal;

/// How the master reaches a framework.
#[derive(Clone, Debug, PartialEq)]
pub enum Connection {
    /// A scheduler driver (libprocess messages to this pid).
    Pid(Upid),
    /// A v1 HTTP scheduler; events go on the subscription stream with this id.
    Http { stream_id: String },
    /// Known from an agent's reregistration only (upstream "recovered").
    Recovered,
}

/// Upstream `Framework::State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameworkState {
    /// Connected and receiving offers.
    Active,
    /// Connected but deactivated (`DeactivateFrameworkMessage`).
    Inactive,
    /// Its connection broke; waiting for failover or its failover timeout.
    Disconnected,
    /// Known only from an agent; never subscribed to this master.
    Recovered,
}

/// A framework registered with the master.
#[derive(Clone, Debug)]
pub struct Framework {
    /// The FrameworkInfo with its `id` set.
    pub info: FrameworkInfo,
    pub conn: Connection,
    pub state: FrameworkState,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    pub unregistered_time: Option<f64>,
    /// Non-terminal (and terminal but unacknowledged) tasks by task ID.
    pub tasks: BTreeMap<String, Task>,
    /// Tasks removed after their terminal update was acknowledged.
    pub completed_tasks: VecDeque<Task>,
    /// Offer IDs outstanding with this framework.
    pub offers: BTreeSet<String>,
    /// Executors by agent ID then executor ID.
    pub executors: BTreeMap<String, BTreeMap<String, ExecutorInfo>>,
    pub suppressed_roles: BTreeSet<String>,
    /// Offer constraints given at SUBSCRIBE / UPDATE_FRAMEWORK (upstream
    /// 1.11's `Framework::offerConstraints`, beyond 1.9); `None` when the
    /// scheduler sent none.
    pub offer_constraints: Option<mesos_proto::mesos::scheduler::OfferConstraints>,
    /// Bumped on every (re)connection so a stale failover timer can tell it
    /// is stale.
    pub epoch: u64,
}

impl Framework {
    pub fn new(info: FrameworkInfo, conn: Connection, now: f64) -> Framework {
        Framework {
            info,
            conn,
            state: FrameworkState::Active,
            registered_time: now,
            // Upstream sets both at construction (src/master/framework.cpp).
            reregistered_time: Some(now),
            unregistered_time: None,
            tasks: BTreeMap::new(),
            completed_tasks: VecDeque::new(),
            offers: BTreeSet::new(),
            executors: BTreeMap::new(),
            suppressed_roles: BTreeSet::new(),
            offer_constraints: None,
            epoch: 0,
        }
    }

    pub fn id(&self) -> &str {
        self.info.id.as_ref().map_or("", |i| i.value.as_str())
    }

    pub fn name(&self) -> &str {
        &self.info.name
    }

    /// Upstream prints a `Framework` as `<id> (<name>) at <pid>` (driver) or
    /// `<id> (<name>)` (HTTP).
    pub fn describe(&self) -> String {
        match &self.conn {
            Connection::Pid(p) => format!("{} ({}) at {}", self.id(), self.name(), p),
            _ => format!("{} ({})", self.id(), self.name()),
        }
    }

    pub fn pid(&self) -> Option<&Upid> {
        match &self.conn {
            Connection::Pid(p) => Some(p),
            _ => None,
        }
    }

    pub fn is_http(&self) -> bool {
        matches!(self.conn, Connection::Http { .. })
    }

    pub fn active(&self) -> bool {
        self.state == FrameworkState::Active
    }

    pub fn connected(&self) -> bool {
        matches!(
            self.state,
            FrameworkState::Active | FrameworkState::Inactive
        )
    }

    pub fn has_capability(&self, cap: Cap) -> bool {
        self.info
            .capabilities
            .iter()
            .any(|c| c.r#type == Some(cap as i32))
    }

    pub fn multi_role(&self) -> bool {
        self.has_capability(Cap::MultiRole)
    }

    pub fn partition_aware(&self) -> bool {
        self.has_capability(Cap::PartitionAware)
    }

    pub fn reservation_refinement(&self) -> bool {
        self.has_capability(Cap::ReservationRefinement)
    }

    /// The framework's roles: `roles` for MULTI_ROLE frameworks, else the
    /// single (deprecated) `role`, default `*` (upstream
    /// `protobuf::framework::getRoles`).
    pub fn roles(&self) -> Vec<String> {
        roles_of(&self.info)
    }

    /// Roles offers may currently be made for.
    pub fn unsuppressed_roles(&self) -> Vec<String> {
        self.roles()
            .into_iter()
            .filter(|r| !self.suppressed_roles.contains(r))
            .collect()
    }

    /// Moves a task to the completed list, bounded as
    /// `--max_completed_tasks_per_framework`.
    pub fn complete_task(&mut self, task_id: &str, max_completed: usize) -> Option<Task> {
        let task = self.tasks.remove(task_id)?;
        if max_completed > 0 {
            if self.completed_tasks.len() >= max_completed {
                self.completed_tasks.pop_front();
            }
            self.completed_tasks.push_back(task.clone());
        }
        Some(task)
    }

    /// Tasks on one agent.
    pub fn tasks_on<'a>(&'a self, agent_id: &'a str) -> impl Iterator<Item = &'a Task> + 'a {
        self.tasks
            .values()
            .filter(move |t| t.slave_id.value == agent_id)
    }

    /// Tasks that still hold resources (not yet terminal).
    pub fn active_tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values().filter(|t| !is_terminal(t.state))
    }
}

/// Upstream `protobuf::framework::getRoles`.
pub fn roles_of(info: &FrameworkInfo) -> Vec<String> {
    let multi = info
        .capabilities
        .iter()
        .any(|c| c.r#type == Some(Cap::MultiRole as i32));
    if multi {
        info.roles.clone()
    } else {
        vec![info.role.clone().unwrap_or_else(|| "*".to_string())]
    }
}
