//! The allocator as the master drives it (upstream
//! `include/mesos/allocator/allocator.hpp`), and a small built-in offer
//! generator behind the same trait.
//!
//! The trait is synchronous and pure: time comes in as an argument and
//! `allocate` returns what to offer; the master turns the result into offers
//! (upstream's allocator calls back `Master::offer`).
//!
//! - [`hierarchical::Hierarchical`]: the hierarchical DRF allocator of the
//!   `mesos-allocator` crate (`--allocator=hierarchical`, the default).
//! - [`SimpleAllocator`]: a small built-in generator (`--allocator=simple`),
//!   kept as a fallback and for tests.

pub mod hierarchical;

use std::collections::{BTreeMap, BTreeSet};

use libprocess::Time;

use mesos_proto::mesos::{FrameworkInfo, SlaveInfo};

use crate::resources::Resources;
use crate::state::framework::roles_of;

/// What to offer: `resources` on `agent_id` to `framework_id` for `role`.
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    pub framework_id: String,
    pub role: String,
    pub agent_id: String,
    pub resources: Resources,
}

/// The allocator interface the master uses (upstream
/// `mesos::allocator::Allocator`). Resources the master hands back carry
/// their allocation role, as upstream's do.
pub trait Allocator: Send {
    /// A new (or recovered) framework and what it already uses per agent.
    fn add_framework(
        &mut self,
        framework_id: &str,
        info: &FrameworkInfo,
        suppressed_roles: &BTreeSet<String>,
        used: &BTreeMap<String, Resources>,
        active: bool,
    );
    fn remove_framework(&mut self, framework_id: &str);
    fn activate_framework(&mut self, framework_id: &str);
    fn deactivate_framework(&mut self, framework_id: &str);
    fn update_framework(
        &mut self,
        framework_id: &str,
        info: &FrameworkInfo,
        suppressed: &BTreeSet<String>,
    );
    /// The framework's offer constraints (beyond 1.9: upstream 1.11 passes
    /// them in `FrameworkOptions` to `addFramework` / `updateFramework`; the
    /// master calls this right after those). Allocators without support
    /// ignore them.
    fn update_offer_constraints(
        &mut self,
        _framework_id: &str,
        _filter: mesos_allocator::OfferConstraintsFilter,
    ) {
    }

    /// A new agent: its total and what frameworks already use on it.
    fn add_agent(
        &mut self,
        agent_id: &str,
        info: &SlaveInfo,
        capabilities: &[i32],
        total: &Resources,
        used: &BTreeMap<String, Resources>,
    );
    fn remove_agent(&mut self, agent_id: &str);
    fn activate_agent(&mut self, agent_id: &str);
    fn deactivate_agent(&mut self, agent_id: &str);

    /// Resources no longer used (declined/rescinded offer, finished task).
    /// `refuse` filters them from the framework on that agent for a while.
    fn recover_resources(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        resources: &Resources,
        refuse: Option<std::time::Duration>,
        now: Time,
    );

    fn suppress_offers(&mut self, framework_id: &str, roles: &BTreeSet<String>);
    /// Clears filters and un-suppresses `roles` (all roles when empty).
    fn revive_offers(&mut self, framework_id: &str, roles: &BTreeSet<String>);

    /// A role's quota changed (upstream `Allocator::updateQuota`).
    fn update_quota(&mut self, _config: &mesos_proto::mesos::quota::QuotaConfig) {}

    /// Role weights changed (upstream `Allocator::updateWeights`).
    fn update_weights(&mut self, _weights: &[mesos_proto::mesos::WeightInfo]) {}

    /// Operations (RESERVE, CREATE, ...) a framework applied to resources
    /// offered to it (upstream `Allocator::updateAllocation`): its
    /// allocation and the agent's total change accordingly. `offered`
    /// carries the allocation role.
    fn update_allocation(
        &mut self,
        _framework_id: &str,
        _agent_id: &str,
        _offered: &Resources,
        _conversions: &[mesos_allocator::resources::ResourceConversion],
    ) -> Result<(), String> {
        Err("this allocator does not support offer operations".into())
    }

    /// An agent's total changed, e.g. it reregistered with other
    /// checkpointed resources (upstream `Allocator::updateSlave`).
    fn update_agent_total(&mut self, _agent_id: &str, _info: &SlaveInfo, _total: &Resources) {}

    /// Operator operations on an agent's unallocated resources (upstream
    /// `Allocator::updateAvailable`): fails, changing nothing, when the
    /// available resources do not hold what the operations consume.
    fn update_available(
        &mut self,
        _agent_id: &str,
        _conversions: &[mesos_allocator::resources::ResourceConversion],
    ) -> Result<(), String> {
        Err("this allocator does not support offer operations".into())
    }

    /// What a role's subtree consumes against its quota: allocated
    /// non-revocable scalars plus unallocated reservations.
    fn quota_consumed(
        &self,
        _role: &str,
    ) -> mesos_allocator::resources::quantities::ResourceQuantities {
        mesos_allocator::resources::quantities::ResourceQuantities::new()
    }

    /// An agent's maintenance window was set or cleared (upstream
    /// `Allocator::updateUnavailability`). Allocators without maintenance
    /// support ignore it (no inverse offers).
    fn update_unavailability(
        &mut self,
        _agent_id: &str,
        _unavailability: Option<&mesos_proto::mesos::Unavailability>,
    ) {
    }

    /// A framework answered an inverse offer (`status`), or it timed out or
    /// was rescinded (`None`) (upstream `Allocator::updateInverseOffer`).
    fn update_inverse_offer(
        &mut self,
        _agent_id: &str,
        _framework_id: &str,
        _status: Option<&mesos_proto::mesos::allocator::InverseOfferStatus>,
        _filters: Option<&mesos_proto::mesos::Filters>,
        _now: Time,
    ) {
    }

    /// agent -> framework -> latest inverse offer answer, for agents under
    /// maintenance (upstream `Allocator::getInverseOfferStatuses`).
    fn inverse_offer_statuses(
        &self,
    ) -> BTreeMap<String, BTreeMap<String, mesos_proto::mesos::allocator::InverseOfferStatus>> {
        BTreeMap::new()
    }

    /// Inverse offers the allocation cycles since the last call produced
    /// (upstream's allocator calls back `Master::inverseOffer`).
    fn take_inverse_offers(&mut self) -> Vec<mesos_allocator::InverseOfferAllocation> {
        Vec::new()
    }

    /// The allocator's `/metrics/snapshot` keys (upstream
    /// `src/master/allocator/mesos/metrics.cpp`); none by default.
    fn metrics_snapshot(&self) -> BTreeMap<String, f64> {
        BTreeMap::new()
    }

    /// The periodic allocation cycle over every agent.
    fn allocate(&mut self, now: Time) -> Vec<Allocation>;

    /// An event-driven cycle over the agents touched since the last one
    /// (upstream batches `allocate(slaveId)` calls the same way).
    fn allocate_pending(&mut self, now: Time) -> Vec<Allocation> {
        self.allocate(now)
    }
}

#[derive(Debug)]
struct AgentSlot {
    total: Resources,
    /// Allocated (offered or used) per framework.
    allocated: BTreeMap<String, Resources>,
    active: bool,
}

#[derive(Debug)]
struct FrameworkSlot {
    roles: Vec<String>,
    suppressed: BTreeSet<String>,
    active: bool,
}

#[derive(Debug)]
struct Filter {
    framework_id: String,
    agent_id: String,
    resources: Resources,
    until: Time,
}

/// A minimal DRF-style offer generator: each active agent's unallocated
/// resources go, whole, to the active framework with the lowest dominant
/// share (cpus/mem) that is not filtered on that agent, for its first
/// unsuppressed role that can use them. Offers below upstream's default
/// `--min_allocatable_resources` (`cpus:0.01|mem:32`) are not made.
#[derive(Debug, Default)]
pub struct SimpleAllocator {
    agents: BTreeMap<String, AgentSlot>,
    frameworks: BTreeMap<String, FrameworkSlot>,
    filters: Vec<Filter>,
}

impl SimpleAllocator {
    pub fn new() -> SimpleAllocator {
        SimpleAllocator::default()
    }

    fn share(&self, framework_id: &str) -> f64 {
        let mut total = Resources::new();
        let mut alloc = Resources::new();
        for a in self.agents.values() {
            total.add_all(&a.total);
            if let Some(r) = a.allocated.get(framework_id) {
                alloc.add_all(r);
            }
        }
        ["cpus", "mem", "disk"]
            .iter()
            .map(|n| {
                let t = total.scalar(n);
                if t > 0.0 {
                    alloc.scalar(n) / t
                } else {
                    0.0
                }
            })
            .fold(0.0, f64::max)
    }

    fn allocatable(r: &Resources) -> bool {
        r.scalar("cpus") >= 0.01 || r.scalar("mem") >= 32.0
    }

    /// Counts resources a framework already uses on an agent.
    fn add_used(&mut self, framework_id: &str, agent_id: &str, resources: &Resources) {
        if let Some(a) = self.agents.get_mut(agent_id) {
            a.allocated
                .entry(framework_id.to_string())
                .or_default()
                .add_all(&resources.unallocated());
        }
    }

    fn filtered(&self, framework_id: &str, agent_id: &str, r: &Resources, now: Time) -> bool {
        self.filters.iter().any(|f| {
            f.framework_id == framework_id
                && f.agent_id == agent_id
                && f.until > now
                && f.resources.contains(r)
        })
    }
}

impl Allocator for SimpleAllocator {
    fn add_framework(
        &mut self,
        framework_id: &str,
        info: &FrameworkInfo,
        suppressed_roles: &BTreeSet<String>,
        used: &BTreeMap<String, Resources>,
        active: bool,
    ) {
        self.frameworks.insert(
            framework_id.to_string(),
            FrameworkSlot {
                roles: roles_of(info),
                suppressed: suppressed_roles.clone(),
                active,
            },
        );
        for (agent, r) in used {
            self.add_used(framework_id, agent, r);
        }
    }

    fn remove_framework(&mut self, framework_id: &str) {
        self.frameworks.remove(framework_id);
        for a in self.agents.values_mut() {
            a.allocated.remove(framework_id);
        }
        self.filters.retain(|f| f.framework_id != framework_id);
    }

    fn activate_framework(&mut self, framework_id: &str) {
        if let Some(f) = self.frameworks.get_mut(framework_id) {
            f.active = true;
        }
    }

    fn deactivate_framework(&mut self, framework_id: &str) {
        if let Some(f) = self.frameworks.get_mut(framework_id) {
            f.active = false;
        }
        // Upstream also drops the framework's filters on deactivation.
        self.filters.retain(|f| f.framework_id != framework_id);
    }

    fn update_framework(
        &mut self,
        framework_id: &str,
        info: &FrameworkInfo,
        suppressed: &BTreeSet<String>,
    ) {
        if let Some(f) = self.frameworks.get_mut(framework_id) {
            f.roles = roles_of(info);
            f.suppressed = suppressed.clone();
        }
    }

    fn add_agent(
        &mut self,
        agent_id: &str,
        _info: &SlaveInfo,
        _capabilities: &[i32],
        total: &Resources,
        used: &BTreeMap<String, Resources>,
    ) {
        self.agents.insert(
            agent_id.to_string(),
            AgentSlot {
                total: total.unallocated(),
                allocated: used
                    .iter()
                    .map(|(k, v)| (k.clone(), v.unallocated()))
                    .collect(),
                active: true,
            },
        );
    }

    fn remove_agent(&mut self, agent_id: &str) {
        self.agents.remove(agent_id);
        self.filters.retain(|f| f.agent_id != agent_id);
    }

    fn activate_agent(&mut self, agent_id: &str) {
        if let Some(a) = self.agents.get_mut(agent_id) {
            a.active = true;
        }
    }

    fn deactivate_agent(&mut self, agent_id: &str) {
        if let Some(a) = self.agents.get_mut(agent_id) {
            a.active = false;
        }
    }

    fn recover_resources(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        resources: &Resources,
        refuse: Option<std::time::Duration>,
        now: Time,
    ) {
        let resources = &resources.unallocated();
        if let Some(a) = self.agents.get_mut(agent_id) {
            if let Some(r) = a.allocated.get_mut(framework_id) {
                r.subtract_all(resources);
                if r.is_empty() {
                    a.allocated.remove(framework_id);
                }
            }
        }
        if let Some(d) = refuse.filter(|d| !d.is_zero()) {
            if self.frameworks.contains_key(framework_id) && !resources.is_empty() {
                self.filters.push(Filter {
                    framework_id: framework_id.to_string(),
                    agent_id: agent_id.to_string(),
                    resources: resources.clone(),
                    until: now + d,
                });
            }
        }
    }

    fn update_allocation(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        _offered: &Resources,
        conversions: &[mesos_allocator::resources::ResourceConversion],
    ) -> Result<(), String> {
        let stripped = strip_conversions(conversions);
        let a = self.agents.get_mut(agent_id).ok_or("unknown agent")?;
        let held = a.allocated.get(framework_id).cloned().unwrap_or_default();
        let total = apply_to(&a.total, &stripped)?;
        let held = apply_to(&held, &stripped)?;
        a.total = total;
        a.allocated.insert(framework_id.to_string(), held);
        Ok(())
    }

    fn update_agent_total(&mut self, agent_id: &str, _info: &SlaveInfo, total: &Resources) {
        if let Some(a) = self.agents.get_mut(agent_id) {
            a.total = total.unallocated();
        }
    }

    fn update_available(
        &mut self,
        agent_id: &str,
        conversions: &[mesos_allocator::resources::ResourceConversion],
    ) -> Result<(), String> {
        let a = self.agents.get_mut(agent_id).ok_or("unknown agent")?;
        let mut available = a.total.clone();
        for r in a.allocated.values() {
            available.subtract_all(r);
        }
        apply_to(&available, conversions)?;
        a.total = apply_to(&a.total, conversions)?;
        Ok(())
    }

    fn suppress_offers(&mut self, framework_id: &str, roles: &BTreeSet<String>) {
        if let Some(f) = self.frameworks.get_mut(framework_id) {
            if roles.is_empty() {
                f.suppressed = f.roles.iter().cloned().collect();
            } else {
                f.suppressed.extend(roles.iter().cloned());
            }
        }
    }

    fn revive_offers(&mut self, framework_id: &str, roles: &BTreeSet<String>) {
        self.filters.retain(|f| f.framework_id != framework_id);
        if let Some(f) = self.frameworks.get_mut(framework_id) {
            if roles.is_empty() {
                f.suppressed.clear();
            } else {
                f.suppressed.retain(|r| !roles.contains(r));
            }
        }
    }

    fn allocate(&mut self, now: Time) -> Vec<Allocation> {
        self.filters.retain(|f| f.until > now);
        let mut out = Vec::new();
        let agent_ids: Vec<String> = self
            .agents
            .iter()
            .filter(|(_, a)| a.active)
            .map(|(id, _)| id.clone())
            .collect();
        for agent_id in agent_ids {
            let mut order: Vec<(f64, String)> = self
                .frameworks
                .iter()
                .filter(|(_, f)| f.active)
                .map(|(id, _)| (self.share(id), id.clone()))
                .collect();
            order.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            for (_, fid) in order {
                let agent = &self.agents[&agent_id];
                let mut available = agent.total.clone();
                for r in agent.allocated.values() {
                    available.subtract_all(r);
                }
                if !Self::allocatable(&available) {
                    break;
                }
                let f = &self.frameworks[&fid];
                let role = f
                    .roles
                    .iter()
                    .filter(|r| !f.suppressed.contains(*r))
                    .find(|r| Self::allocatable(&available.allocatable_to(r)))
                    .cloned();
                let Some(role) = role else { continue };
                let offered = available.allocatable_to(&role);
                if self.filtered(&fid, &agent_id, &offered, now) {
                    continue;
                }
                if let Some(a) = self.agents.get_mut(&agent_id) {
                    a.allocated
                        .entry(fid.clone())
                        .or_default()
                        .add_all(&offered);
                }
                out.push(Allocation {
                    framework_id: fid,
                    role,
                    agent_id: agent_id.clone(),
                    resources: offered,
                });
            }
        }
        out
    }
}

/// Conversions without allocation info (the simple allocator keeps its
/// totals and allocations unallocated).
fn strip_conversions(
    conversions: &[mesos_allocator::resources::ResourceConversion],
) -> Vec<mesos_allocator::resources::ResourceConversion> {
    conversions
        .iter()
        .map(|c| {
            mesos_allocator::resources::ResourceConversion::new(
                c.consumed.unallocated(),
                c.converted.unallocated(),
            )
        })
        .collect()
}

fn apply_to(
    r: &Resources,
    conversions: &[mesos_allocator::resources::ResourceConversion],
) -> Result<Resources, String> {
    mesos_allocator::Resources::from_vec(r.to_vec())
        .apply(conversions)
        .map(|x| Resources::from_vec(&x.to_vec()))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::scalar;
    use std::time::Duration;

    fn agent_total() -> Resources {
        Resources::from_vec(&[scalar("cpus", 2.0), scalar("mem", 1024.0)])
    }

    fn setup() -> SimpleAllocator {
        let mut a = SimpleAllocator::new();
        a.add_agent(
            "a1",
            &SlaveInfo::default(),
            &[],
            &agent_total(),
            &BTreeMap::new(),
        );
        a.add_framework(
            "f1",
            &FrameworkInfo::default(),
            &BTreeSet::new(),
            &BTreeMap::new(),
            true,
        );
        a
    }

    #[test]
    fn whole_agent_is_offered_once() {
        let mut a = setup();
        let out = a.allocate(Time::ZERO);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].resources.scalar("cpus"), 2.0);
        assert_eq!(out[0].role, "*");
        assert!(a.allocate(Time::ZERO).is_empty(), "nothing left to offer");
    }

    #[test]
    fn decline_filter_holds_until_refuse_seconds_pass() {
        let mut a = setup();
        let out = a.allocate(Time::ZERO);
        a.recover_resources(
            "f1",
            "a1",
            &out[0].resources,
            Some(Duration::from_secs(5)),
            Time::ZERO,
        );
        assert!(a.allocate(Time(Duration::from_secs(1))).is_empty());
        assert_eq!(a.allocate(Time(Duration::from_secs(6))).len(), 1);
    }

    #[test]
    fn revive_clears_filters_and_suppress_stops_offers() {
        let mut a = setup();
        let out = a.allocate(Time::ZERO);
        a.recover_resources(
            "f1",
            "a1",
            &out[0].resources,
            Some(Duration::from_secs(100)),
            Time::ZERO,
        );
        a.revive_offers("f1", &BTreeSet::new());
        let out = a.allocate(Time::ZERO);
        assert_eq!(out.len(), 1);
        a.recover_resources("f1", "a1", &out[0].resources, None, Time::ZERO);
        a.suppress_offers("f1", &BTreeSet::new());
        assert!(a.allocate(Time::ZERO).is_empty());
    }

    #[test]
    fn lower_share_framework_gets_the_next_agent() {
        let mut a = setup();
        a.add_framework(
            "f2",
            &FrameworkInfo::default(),
            &BTreeSet::new(),
            &BTreeMap::new(),
            true,
        );
        let first = a.allocate(Time::ZERO);
        assert_eq!(first[0].framework_id, "f1");
        a.add_agent(
            "a2",
            &SlaveInfo::default(),
            &[],
            &agent_total(),
            &BTreeMap::new(),
        );
        let second = a.allocate(Time::ZERO);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].framework_id, "f2");
    }

    #[test]
    fn inactive_agents_and_frameworks_get_nothing() {
        let mut a = setup();
        a.deactivate_agent("a1");
        assert!(a.allocate(Time::ZERO).is_empty());
        a.activate_agent("a1");
        a.deactivate_framework("f1");
        assert!(a.allocate(Time::ZERO).is_empty());
        a.activate_framework("f1");
        assert_eq!(a.allocate(Time::ZERO).len(), 1);
    }
}
