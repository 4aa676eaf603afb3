//! One agent as the master knows it (upstream `Slave`, `src/master/master.hpp`).

use std::collections::{BTreeMap, BTreeSet};

use libprocess::Upid;
use mesos_proto::mesos::slave_info::capability::Type as Cap;
use mesos_proto::mesos::{ExecutorInfo, SlaveInfo, Uuid};

use crate::resources::Resources;

/// A registered agent.
#[derive(Clone, Debug)]
pub struct Agent {
    /// The SlaveInfo with its `id` set.
    pub info: SlaveInfo,
    pub pid: Upid,
    pub version: String,
    /// `SlaveInfo.Capability.Type` values the agent announced.
    pub capabilities: Vec<i32>,
    /// Its libprocess connection is up.
    pub connected: bool,
    /// Offers may be made for it (connected and not deactivated).
    pub active: bool,
    pub registered_time: f64,
    pub reregistered_time: Option<f64>,
    /// Total resources (upgraded to the post-refinement format).
    pub total: Resources,
    pub resource_version: Option<Uuid>,
    /// The `slave-observer(N)` pinging it.
    pub observer: Option<Upid>,
    /// Executors by framework ID then executor ID.
    pub executors: BTreeMap<String, BTreeMap<String, ExecutorInfo>>,
    /// Offer IDs outstanding on this agent.
    pub offers: BTreeSet<String>,
    /// Offer operations sent to the agent and not yet terminal (or not yet
    /// acknowledged), by operation UUID text (upstream `Slave::operations`).
    pub operations: BTreeMap<String, mesos_proto::mesos::Operation>,
    /// Bumped on every (re)registration / disconnection, so stale timers
    /// (reregister timeout) can tell.
    pub epoch: u64,
    /// Wall-clock seconds when DRAIN_AGENT was applied to this registered
    /// agent (upstream `Slave::estimatedDrainStartTime`, set in
    /// src/master/http.cpp `drainAgent`, cleared on reactivation; in memory
    /// only, so a restarted master reports none).
    pub estimated_drain_start: Option<f64>,
}

impl Agent {
    pub fn new(
        mut info: SlaveInfo,
        pid: Upid,
        version: String,
        capabilities: Vec<i32>,
        now: f64,
    ) -> Agent {
        // Kept for the agent's lifetime, and a `Resource` is large (~1 KB
        // with its inline optional sub-messages): no spare capacity.
        info.resources.shrink_to_fit();
        let mut total = Resources::from_vec(&info.resources);
        total.shrink_to_fit();
        Agent {
            info,
            pid,
            version,
            capabilities,
            connected: true,
            active: true,
            registered_time: now,
            reregistered_time: None,
            total,
            resource_version: None,
            observer: None,
            executors: BTreeMap::new(),
            offers: BTreeSet::new(),
            operations: BTreeMap::new(),
            epoch: 0,
            estimated_drain_start: None,
        }
    }

    pub fn id(&self) -> &str {
        self.info.id.as_ref().map_or("", |i| i.value.as_str())
    }

    pub fn hostname(&self) -> &str {
        &self.info.hostname
    }

    pub fn has_capability(&self, cap: Cap) -> bool {
        self.capabilities.contains(&(cap as i32))
    }

    /// Upstream prints a `Slave` as `<id> at <pid> (<hostname>)`.
    pub fn describe(&self) -> String {
        format!("{} at {} ({})", self.id(), self.pid, self.hostname())
    }
}
