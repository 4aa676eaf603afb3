//! The hierarchical allocator as a pure state machine (mirrors
//! `src/master/allocator/mesos/hierarchical.{hpp,cpp}` of Mesos 1.9).
//!
//! Every mutator corresponds to a method of upstream's `Allocator` interface
//! (`include/mesos/allocator/allocator.hpp`). Instead of callbacks, an
//! allocation cycle returns an [`AllocationResult`]; instead of timers, time
//! comes in as an argument (`now`). Mutators that upstream follows with
//! `allocate()` / `allocate(slaveId)` record the affected agents; the caller
//! runs [`HierarchicalAllocator::allocate_pending`] (event-driven, batched:
//! many events, one cycle) or [`HierarchicalAllocator::allocate`] (the
//! periodic `--allocation_interval` tick over all agents).
//!
//! ```
//! use std::collections::{BTreeMap, BTreeSet};
//! use std::time::Duration;
//! use mesos_allocator::{AgentCapabilities, AllocatorOptions, HierarchicalAllocator, Resources};
//! use mesos_proto::mesos::{Filters, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo};
//!
//! let mut alloc = HierarchicalAllocator::new(AllocatorOptions::default());
//! let agent = SlaveInfo { hostname: "h1".into(), id: Some(SlaveId { value: "S1".into() }), ..Default::default() };
//! let total = Resources::parse("cpus:4;mem:4096;ports:[31000-32000]", "*").unwrap();
//! alloc.add_slave("S1", &agent, AgentCapabilities::default(), None, &total, &BTreeMap::new()).unwrap();
//! let fw = FrameworkInfo { user: "u".into(), name: "f".into(), role: Some("web".into()),
//!                          id: Some(FrameworkId { value: "F1".into() }), ..Default::default() };
//! alloc.add_framework("F1", &fw, &BTreeMap::new(), true, &BTreeSet::new()).unwrap();
//!
//! // Event-driven cycle after the additions: one offer of the whole agent.
//! let now = Duration::from_secs(10);
//! let result = alloc.allocate_pending(now);
//! let offered = &result.offers[0].resources["web"]["S1"];
//! assert_eq!(offered.unallocated(), total);
//!
//! // The framework declines for 5 s: nothing until the filter expires.
//! alloc.recover_resources("F1", "S1", offered, Some(&Filters { refuse_seconds: Some(5.0) }), now).unwrap();
//! assert!(alloc.allocate(now + Duration::from_secs(1)).offers.is_empty());
//! assert_eq!(alloc.allocate(now + Duration::from_secs(5)).offers.len(), 1);
//! ```

mod cycle;
mod metrics;
mod shared;
pub(crate) mod state;
pub mod types;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mesos_proto::mesos::allocator::InverseOfferStatus;
use mesos_proto::mesos::{FrameworkInfo, SlaveInfo, Unavailability, WeightInfo};
use rand::rngs::SmallRng;
use rand::SeedableRng;

use crate::error::{Error, Result};
use crate::fast_hash::FastMap;
use crate::resources::{resource as r, roles, ResourceConversion, ResourceQuantities, Resources};
use crate::sorter::Sorter;
use state::{min_allocatable_from_info, Framework, Maintenance, OfferFilter, RoleState, Slave};
pub use types::*;

/// Upstream's default `Filters.refuse_seconds`.
const DEFAULT_REFUSE_SECONDS: f64 = 5.0;
/// Upstream caps filters at one year.
const MAX_REFUSE_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// The hierarchical DRF allocator.
#[derive(Debug)]
pub struct HierarchicalAllocator {
    options: AllocatorOptions,
    frameworks: Vec<Option<Framework>>,
    framework_index: FastMap<String, usize>,
    free_frameworks: Vec<usize>,
    slaves: Vec<Option<Slave>>,
    /// Agent id -> index, ordered so that "all agents" is deterministic.
    slave_index: BTreeMap<String, usize>,
    free_slaves: Vec<usize>,
    roles: BTreeMap<String, RoleState>,
    quotas: BTreeMap<String, Quota>,
    weights: BTreeMap<String, f64>,
    role_sorter: Sorter,
    framework_sorters: BTreeMap<String, Sorter>,
    /// Agents touched by events since the last cycle.
    pending: BTreeSet<usize>,
    pending_all: bool,
    paused: bool,
    whitelist: Option<BTreeSet<String>>,
    /// Earliest expiry among offer filters, to prune lazily.
    next_filter_expiry: Option<Time>,
    rng: SmallRng,
    sorter_seed: u64,
    metrics: metrics::Metrics,
}

/// Converts `Filters.refuse_seconds` to a duration as upstream does
/// (`recoverResources`): negative or invalid -> default 5s, capped at 365 days.
fn refuse_duration(filters: &mesos_proto::mesos::Filters) -> std::time::Duration {
    let secs = filters.refuse_seconds.unwrap_or(DEFAULT_REFUSE_SECONDS);
    let secs = if !secs.is_finite() || secs < 0.0 {
        DEFAULT_REFUSE_SECONDS
    } else {
        secs.min(MAX_REFUSE_SECONDS)
    };
    std::time::Duration::from_secs_f64(secs)
}

impl HierarchicalAllocator {
    /// A new allocator (mirrors `initialize`).
    pub fn new(options: AllocatorOptions) -> Self {
        let seed = options.seed;
        let mut role_sorter = Sorter::new(options.role_sorter, seed ^ 0x5eed_0001);
        role_sorter.set_fairness_exclude(options.fairness_exclude_resource_names.iter().cloned());
        HierarchicalAllocator {
            options,
            frameworks: Vec::new(),
            framework_index: FastMap::default(),
            free_frameworks: Vec::new(),
            slaves: Vec::new(),
            slave_index: BTreeMap::new(),
            free_slaves: Vec::new(),
            roles: BTreeMap::new(),
            quotas: BTreeMap::new(),
            weights: BTreeMap::new(),
            role_sorter,
            framework_sorters: BTreeMap::new(),
            pending: BTreeSet::new(),
            pending_all: false,
            paused: false,
            whitelist: None,
            next_filter_expiry: None,
            rng: SmallRng::seed_from_u64(seed),
            sorter_seed: seed,
            metrics: metrics::Metrics::default(),
        }
    }

    /// The options in use.
    pub fn options(&self) -> &AllocatorOptions {
        &self.options
    }

    fn fw_idx(&self, id: &str) -> Result<usize> {
        self.framework_index
            .get(id)
            .copied()
            .ok_or_else(|| Error::UnknownFramework(id.into()))
    }

    fn slave_idx(&self, id: &str) -> Result<usize> {
        self.slave_index
            .get(id)
            .copied()
            .ok_or_else(|| Error::UnknownSlave(id.into()))
    }

    fn fw(&self, i: usize) -> &Framework {
        self.frameworks[i].as_ref().expect("live framework index")
    }

    fn fw_mut(&mut self, i: usize) -> &mut Framework {
        self.frameworks[i].as_mut().expect("live framework index")
    }

    fn slave(&self, i: usize) -> &Slave {
        self.slaves[i].as_ref().expect("live agent index")
    }

    fn slave_mut(&mut self, i: usize) -> &mut Slave {
        self.slaves[i].as_mut().expect("live agent index")
    }

    // Upstream drops allocation requests while paused (`allocate()` returns
    // before adding candidates); so do we.
    fn trigger_all(&mut self) {
        if !self.paused {
            self.pending_all = true;
        }
    }

    fn trigger(&mut self, slave: usize) {
        if !self.paused {
            self.pending.insert(slave);
        }
    }

    // ----- roles and sorters -------------------------------------------------

    fn new_framework_sorter(&self, role: &str) -> Sorter {
        let mut s = Sorter::new(
            self.options.framework_sorter,
            self.sorter_seed ^ hash_str(role),
        );
        s.set_fairness_exclude(self.options.fairness_exclude_resource_names.iter().cloned());
        s.add_total(&self.role_sorter.total());
        s
    }

    /// Mirrors `trackFrameworkUnderRole`.
    fn track_framework_under_role(&mut self, fw: usize, role: &str) {
        let id = self.fw(fw).id.clone();
        let has_frameworks = self
            .roles
            .get(role)
            .is_some_and(|r| !r.frameworks.is_empty());
        if !has_frameworks {
            self.role_sorter.add(role);
            self.role_sorter.activate(role);
            if let Some(w) = self.weights.get(role) {
                self.role_sorter.update_weight(role, *w);
            }
            let sorter = self.new_framework_sorter(role);
            self.framework_sorters.insert(role.to_string(), sorter);
        }
        self.roles
            .entry(role.to_string())
            .or_default()
            .frameworks
            .insert(id.clone());
        if let Some(s) = self.framework_sorters.get_mut(role) {
            s.add(&id);
        }
        self.fw_mut(fw).tracked_roles.insert(role.to_string());
    }

    /// Mirrors `untrackFrameworkUnderRole`.
    fn untrack_framework_under_role(&mut self, fw: usize, role: &str) {
        let id = self.fw(fw).id.clone();
        if let Some(s) = self.framework_sorters.get_mut(role) {
            s.remove(&id);
        }
        self.fw_mut(fw).tracked_roles.remove(role);
        let now_empty = match self.roles.get_mut(role) {
            Some(state) => {
                state.frameworks.remove(&id);
                state.frameworks.is_empty()
            }
            None => true,
        };
        if now_empty {
            self.role_sorter.remove(role);
            self.framework_sorters.remove(role);
            if self.roles.get(role).is_some_and(RoleState::is_empty) {
                self.roles.remove(role);
            }
        }
    }

    /// Mirrors `trackAllocatedResources`: sorters and role quota consumption.
    fn track_allocated(&mut self, slave_id: &str, fw: usize, allocated: &Resources) {
        for (role, res) in allocated.allocations() {
            if !self.fw(fw).tracked_roles.contains(&role) {
                self.track_framework_under_role(fw, &role);
            }
            let (fq, rq) = if res.any(r::is_shared) {
                let role_held = shared::role_shared_held(
                    &role,
                    slave_id,
                    &self.roles,
                    &self.frameworks,
                    &self.framework_index,
                );
                (
                    shared::added_quantities(self.fw(fw).allocated.get(slave_id), &res),
                    shared::added_quantities(Some(&role_held), &res),
                )
            } else {
                let q = res.scalar_quantities();
                (q.clone(), q)
            };
            let id = self.fw(fw).id.clone();
            self.role_sorter.allocated(&role, &rq);
            if let Some(s) = self.framework_sorters.get_mut(&role) {
                s.allocated(&id, &fq);
            }
            self.roles
                .entry(role.clone())
                .or_default()
                .allocated_quota
                .add_assign(&quota_quantities(&res));
            *self
                .fw_mut(fw)
                .allocated
                .entry(slave_id.to_string())
                .or_default() += &res;
        }
        // Entries without allocation info are kept too (upstream asserts they exist).
        let rest = allocated.entries_without_allocation();
        if !rest.is_empty() {
            *self
                .fw_mut(fw)
                .allocated
                .entry(slave_id.to_string())
                .or_default() += rest;
        }
    }

    /// Mirrors `untrackAllocatedResources`.
    fn untrack_allocated(&mut self, slave_id: &str, fw: usize, allocated: &Resources) {
        for (role, res) in allocated.allocations() {
            {
                let f = self.fw_mut(fw);
                if let Some(cur) = f.allocated.get_mut(slave_id) {
                    *cur -= &res;
                    if cur.is_empty() {
                        f.allocated.remove(slave_id);
                    }
                }
            }
            let (fq, rq) = if res.any(r::is_shared) {
                let role_held = shared::role_shared_held(
                    &role,
                    slave_id,
                    &self.roles,
                    &self.frameworks,
                    &self.framework_index,
                );
                (
                    shared::removed_quantities(self.fw(fw).allocated.get(slave_id), &res),
                    shared::removed_quantities(Some(&role_held), &res),
                )
            } else {
                let q = res.scalar_quantities();
                (q.clone(), q)
            };
            let id = self.fw(fw).id.clone();
            if let Some(s) = self.framework_sorters.get_mut(&role) {
                s.unallocated(&id, &fq);
            }
            self.role_sorter.unallocated(&role, &rq);
            if let Some(state) = self.roles.get_mut(&role) {
                state.allocated_quota.sub_assign(&quota_quantities(&res));
            }
        }
        let rest = allocated.entries_without_allocation();
        if !rest.is_empty() {
            let f = self.fw_mut(fw);
            if let Some(cur) = f.allocated.get_mut(slave_id) {
                *cur -= &rest;
                if cur.is_empty() {
                    f.allocated.remove(slave_id);
                }
            }
        }
    }

    fn track_reservations(&mut self, total: &Resources, sign: i64) {
        for (role, res) in total.reserved(None).reservations() {
            let q = res.scalar_quantities();
            let state = self.roles.entry(role.clone()).or_default();
            if sign > 0 {
                state.reservations.add_assign(&q);
            } else {
                state.reservations.sub_assign(&q);
                if state.is_empty() {
                    self.roles.remove(&role);
                }
            }
        }
    }

    // ----- frameworks -------------------------------------------------------

    /// Adds a framework with resources it already uses on known agents
    /// (mirrors `addFramework`). Unknown agents in `used` are skipped, as upstream.
    pub fn add_framework(
        &mut self,
        id: &str,
        info: &FrameworkInfo,
        used: &BTreeMap<String, Resources>,
        active: bool,
        suppressed_roles: &BTreeSet<String>,
    ) -> Result<()> {
        if self.framework_index.contains_key(id) {
            return Err(Error::FrameworkExists(id.into()));
        }
        let roles = framework_roles(info);
        for role in &roles {
            roles::validate(role)?;
        }
        let fw = Framework {
            id: id.to_string(),
            info: info.clone(),
            roles: roles.clone(),
            suppressed_roles: suppressed_roles.clone(),
            capabilities: FrameworkCapabilities::from_info(info),
            active,
            offer_filters: FastMap::default(),
            inverse_offer_filters: HashMap::new(),
            min_allocatable_resources: min_allocatable_from_info(info),
            tracked_roles: BTreeSet::new(),
            allocated: BTreeMap::new(),
            offer_constraints_filter: Default::default(),
        };
        let idx = match self.free_frameworks.pop() {
            Some(i) => {
                self.frameworks[i] = Some(fw);
                i
            }
            None => {
                self.frameworks.push(Some(fw));
                self.frameworks.len() - 1
            }
        };
        self.framework_index.insert(id.to_string(), idx);
        for role in &roles {
            self.track_framework_under_role(idx, role);
            let s = self
                .framework_sorters
                .get_mut(role)
                .expect("sorter exists for tracked role");
            if suppressed_roles.contains(role) || !active {
                s.deactivate(id);
            } else {
                s.activate(id);
            }
        }
        for (slave_id, res) in used {
            if self.slave_index.contains_key(slave_id) {
                self.track_allocated(slave_id, idx, res);
            }
        }
        if active {
            self.trigger_all();
        }
        Ok(())
    }

    /// Removes a framework (mirrors `removeFramework`). As upstream, agents'
    /// allocations are *not* released here: the master recovers the
    /// framework's resources with [`Self::recover_resources`] first.
    pub fn remove_framework(&mut self, id: &str) -> Result<()> {
        let idx = self.fw_idx(id)?;
        let allocated: Vec<(String, Resources)> = self
            .fw(idx)
            .allocated
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (slave_id, res) in allocated {
            self.untrack_allocated(&slave_id, idx, &res);
        }
        let tracked: Vec<String> = self.fw(idx).tracked_roles.iter().cloned().collect();
        for role in tracked {
            self.untrack_framework_under_role(idx, &role);
        }
        self.frameworks[idx] = None;
        self.framework_index.remove(id);
        self.free_frameworks.push(idx);
        Ok(())
    }

    /// Mirrors `activateFramework`.
    pub fn activate_framework(&mut self, id: &str) -> Result<()> {
        let idx = self.fw_idx(id)?;
        let f = self.fw_mut(idx);
        f.active = true;
        let roles: Vec<String> = f.roles.difference(&f.suppressed_roles).cloned().collect();
        for role in roles {
            if let Some(s) = self.framework_sorters.get_mut(&role) {
                s.activate(id);
            }
        }
        self.trigger_all();
        Ok(())
    }

    /// Mirrors `deactivateFramework`: no offers, and all filters dropped.
    pub fn deactivate_framework(&mut self, id: &str) -> Result<()> {
        let idx = self.fw_idx(id)?;
        let roles: Vec<String> = self.fw(idx).roles.iter().cloned().collect();
        for role in roles {
            if let Some(s) = self.framework_sorters.get_mut(&role) {
                s.deactivate(id);
            }
        }
        let f = self.fw_mut(idx);
        f.active = false;
        f.offer_filters.clear();
        f.inverse_offer_filters.clear();
        Ok(())
    }

    /// Mirrors `updateFramework`: role changes, capabilities, offer filters and
    /// the suppressed role set.
    pub fn update_framework(
        &mut self,
        id: &str,
        info: &FrameworkInfo,
        suppressed_roles: &BTreeSet<String>,
    ) -> Result<()> {
        let idx = self.fw_idx(id)?;
        let new_roles = framework_roles(info);
        for role in &new_roles {
            roles::validate(role)?;
        }
        let old_roles = self.fw(idx).roles.clone();
        let old_suppressed = self.fw(idx).suppressed_roles.clone();
        for role in new_roles.difference(&old_roles) {
            if !self.fw(idx).tracked_roles.contains(role) {
                self.track_framework_under_role(idx, role);
            }
            if self.fw(idx).active {
                if let Some(s) = self.framework_sorters.get_mut(role) {
                    s.activate(id);
                }
            }
        }
        for role in old_roles.difference(&new_roles) {
            if let Some(s) = self.framework_sorters.get_mut(role) {
                s.deactivate(id);
            }
            if !self.fw(idx).has_allocation_in_role(role) {
                self.untrack_framework_under_role(idx, role);
            }
            let f = self.fw_mut(idx);
            f.offer_filters.remove(role);
            f.suppressed_roles.remove(role);
        }
        {
            let f = self.fw_mut(idx);
            f.roles = new_roles.clone();
            f.info = info.clone();
            f.capabilities = FrameworkCapabilities::from_info(info);
            f.min_allocatable_resources = min_allocatable_from_info(info);
        }
        let to_suppress: BTreeSet<String> = suppressed_roles
            .difference(&old_suppressed)
            .cloned()
            .collect();
        let to_revive: BTreeSet<String> = old_suppressed
            .difference(suppressed_roles)
            .filter(|r| new_roles.contains(*r))
            .cloned()
            .collect();
        self.suppress_roles(idx, &to_suppress);
        self.revive_roles(idx, &to_revive);
        Ok(())
    }

    /// Replaces the framework's offer constraints (the `offerConstraintsFilter`
    /// part of upstream 1.11's `FrameworkOptions`, given to `addFramework` and
    /// `updateFramework`; beyond 1.9). The master calls this right after
    /// [`Self::add_framework`] / [`Self::update_framework`], before the next
    /// cycle. Agents are re-examined on the next cycle.
    pub fn update_offer_constraints(
        &mut self,
        id: &str,
        filter: crate::offer_constraints::OfferConstraintsFilter,
    ) -> Result<()> {
        let idx = self.fw_idx(id)?;
        self.fw_mut(idx).offer_constraints_filter = filter;
        if self.fw(idx).active {
            self.trigger_all();
        }
        Ok(())
    }

    fn suppress_roles(&mut self, idx: usize, roles: &BTreeSet<String>) {
        let id = self.fw(idx).id.clone();
        for role in roles {
            if let Some(s) = self.framework_sorters.get_mut(role) {
                s.deactivate(&id);
            }
            self.fw_mut(idx).suppressed_roles.insert(role.clone());
        }
    }

    fn revive_roles(&mut self, idx: usize, roles: &BTreeSet<String>) {
        let id = self.fw(idx).id.clone();
        let active = self.fw(idx).active;
        {
            let f = self.fw_mut(idx);
            f.inverse_offer_filters.clear();
            for role in roles {
                f.offer_filters.remove(role);
            }
        }
        for role in roles {
            // Upstream activates unconditionally; an inactive framework must
            // still get no offers, so we only activate active ones.
            if active {
                if let Some(s) = self.framework_sorters.get_mut(role) {
                    s.activate(&id);
                }
            }
            self.fw_mut(idx).suppressed_roles.remove(role);
        }
    }

    /// Stops offers to the framework for `roles` (all its roles if empty)
    /// (mirrors `suppressOffers`).
    pub fn suppress_offers(&mut self, id: &str, roles: &BTreeSet<String>) -> Result<()> {
        let idx = self.fw_idx(id)?;
        let roles = if roles.is_empty() {
            self.fw(idx).roles.clone()
        } else {
            roles.clone()
        };
        self.suppress_roles(idx, &roles);
        Ok(())
    }

    /// Clears filters and resumes offers for `roles` (all if empty)
    /// (mirrors `reviveOffers`).
    pub fn revive_offers(&mut self, id: &str, roles: &BTreeSet<String>) -> Result<()> {
        let idx = self.fw_idx(id)?;
        let roles = if roles.is_empty() {
            self.fw(idx).roles.clone()
        } else {
            roles.clone()
        };
        self.revive_roles(idx, &roles);
        self.trigger_all();
        Ok(())
    }

    // ----- agents ------------------------------------------------------------

    /// Adds an agent with what frameworks already use on it (mirrors
    /// `addSlave`; `used` entries of unknown frameworks count as allocated on
    /// the agent but are not attributed, as upstream).
    pub fn add_slave(
        &mut self,
        id: &str,
        info: &SlaveInfo,
        capabilities: AgentCapabilities,
        unavailability: Option<&Unavailability>,
        total: &Resources,
        used: &BTreeMap<String, Resources>,
    ) -> Result<()> {
        if self.slave_index.contains_key(id) {
            return Err(Error::SlaveExists(id.into()));
        }
        let allocated = Resources::sum(used.values());
        let mut slave = Slave::new(
            id.to_string(),
            info.clone(),
            capabilities,
            total.clone(),
            allocated,
        );
        if let Some(u) = unavailability {
            slave.maintenance = Some(Maintenance {
                unavailability: *u,
                ..Default::default()
            });
        }
        let idx = match self.free_slaves.pop() {
            Some(i) => {
                self.slaves[i] = Some(slave);
                i
            }
            None => {
                self.slaves.push(Some(slave));
                self.slaves.len() - 1
            }
        };
        self.slave_index.insert(id.to_string(), idx);
        self.track_reservations(total, 1);
        let q = total.scalar_quantities();
        self.role_sorter.add_total(&q);
        for s in self.framework_sorters.values_mut() {
            s.add_total(&q);
        }
        for (fw_id, res) in used {
            if let Some(&f) = self.framework_index.get(fw_id) {
                self.track_allocated(id, f, res);
            }
        }
        self.trigger(idx);
        Ok(())
    }

    /// Removes an agent and every filter referring to it (mirrors `removeSlave`).
    pub fn remove_slave(&mut self, id: &str) -> Result<()> {
        let idx = self.slave_idx(id)?;
        let total = self.slave(idx).total.clone();
        let q = total.scalar_quantities();
        self.role_sorter.remove_total(&q);
        for s in self.framework_sorters.values_mut() {
            s.remove_total(&q);
        }
        self.track_reservations(&total, -1);
        self.remove_filters(idx);
        self.slaves[idx] = None;
        self.slave_index.remove(id);
        self.free_slaves.push(idx);
        self.pending.remove(&idx);
        Ok(())
    }

    fn remove_filters(&mut self, slave: usize) {
        for f in self.frameworks.iter_mut().flatten() {
            f.inverse_offer_filters.remove(&slave);
            for m in f.offer_filters.values_mut() {
                m.remove(&slave);
            }
        }
    }

    /// Updates agent info, total and/or capabilities (mirrors `updateSlave`).
    /// Changed attributes drop all filters for the agent.
    pub fn update_slave(
        &mut self,
        id: &str,
        info: &SlaveInfo,
        total: Option<&Resources>,
        capabilities: Option<AgentCapabilities>,
    ) -> Result<()> {
        let idx = self.slave_idx(id)?;
        let mut updated = false;
        if self.slave(idx).info.attributes != info.attributes {
            updated = true;
            self.remove_filters(idx);
        }
        if self.slave(idx).info != *info {
            updated = true;
            self.slave_mut(idx).info = info.clone();
        }
        if let Some(c) = capabilities {
            if self.slave(idx).capabilities != c {
                updated = true;
                self.slave_mut(idx).capabilities = c;
            }
        }
        if let Some(t) = total {
            updated |= self.update_slave_total(idx, t.clone());
        }
        if updated {
            self.trigger(idx);
        }
        Ok(())
    }

    /// Mirrors `updateSlaveTotal`.
    fn update_slave_total(&mut self, idx: usize, total: Resources) -> bool {
        let old = self.slave(idx).total.clone();
        if old == total {
            return false;
        }
        self.track_reservations(&old, -1);
        self.track_reservations(&total, 1);
        let (oq, nq) = (old.scalar_quantities(), total.scalar_quantities());
        self.role_sorter.remove_total(&oq);
        self.role_sorter.add_total(&nq);
        for s in self.framework_sorters.values_mut() {
            s.remove_total(&oq);
            s.add_total(&nq);
        }
        self.slave_mut(idx).update_total(total);
        true
    }

    /// Resumes offers from the agent (mirrors `activateSlave`).
    pub fn activate_slave(&mut self, id: &str) -> Result<()> {
        let idx = self.slave_idx(id)?;
        self.slave_mut(idx).activated = true;
        Ok(())
    }

    /// Stops offers from the agent, e.g. while draining (mirrors `deactivateSlave`).
    pub fn deactivate_slave(&mut self, id: &str) -> Result<()> {
        let idx = self.slave_idx(id)?;
        self.slave_mut(idx).activated = false;
        Ok(())
    }

    /// Restricts offers to agents with these hostnames (`None`: all agents)
    /// (mirrors `updateWhitelist`).
    pub fn update_whitelist(&mut self, whitelist: Option<BTreeSet<String>>) {
        self.whitelist = whitelist;
    }

    /// Sets or clears the maintenance window; drops inverse offer filters for
    /// the agent (mirrors `updateUnavailability`).
    pub fn update_unavailability(
        &mut self,
        id: &str,
        unavailability: Option<&Unavailability>,
    ) -> Result<()> {
        let idx = self.slave_idx(id)?;
        for f in self.frameworks.iter_mut().flatten() {
            f.inverse_offer_filters.remove(&idx);
        }
        self.slave_mut(idx).maintenance = unavailability.map(|u| Maintenance {
            unavailability: *u,
            ..Default::default()
        });
        self.trigger(idx);
        Ok(())
    }

    /// A framework's answer to an inverse offer (mirrors `updateInverseOffer`).
    pub fn update_inverse_offer(
        &mut self,
        slave_id: &str,
        framework_id: &str,
        status: Option<&InverseOfferStatus>,
        filters: Option<&mesos_proto::mesos::Filters>,
        now: Time,
    ) -> Result<()> {
        let fidx = self.fw_idx(framework_id)?;
        let sidx = self.slave_idx(slave_id)?;
        let Some(m) = self.slave_mut(sidx).maintenance.as_mut() else {
            return Err(Error::UnknownSlave(format!(
                "{slave_id} is not scheduled for maintenance"
            )));
        };
        if m.offers_outstanding.remove(framework_id) {
            if let Some(s) = status {
                m.statuses.insert(framework_id.to_string(), s.clone());
            }
        }
        if let Some(f) = filters {
            let d = refuse_duration(f);
            if !d.is_zero() {
                self.fw_mut(fidx)
                    .inverse_offer_filters
                    .entry(sidx)
                    .or_default()
                    .push(now.saturating_add(d));
            }
        }
        Ok(())
    }

    /// agent id -> framework id -> last inverse offer status
    /// (mirrors `getInverseOfferStatuses`).
    pub fn inverse_offer_statuses(&self) -> BTreeMap<String, BTreeMap<String, InverseOfferStatus>> {
        let mut out = BTreeMap::new();
        for s in self.slaves.iter().flatten() {
            if let Some(m) = &s.maintenance {
                out.insert(s.id.clone(), m.statuses.clone());
            }
        }
        out
    }

    // ----- allocations -------------------------------------------------------

    /// Applies operations (reserve, create volume...) to resources offered to
    /// a framework (mirrors `updateAllocation`): the allocation and the agent
    /// total change accordingly.
    pub fn update_allocation(
        &mut self,
        framework_id: &str,
        slave_id: &str,
        offered: &Resources,
        conversions: &[ResourceConversion],
    ) -> Result<()> {
        let fidx = self.fw_idx(framework_id)?;
        let sidx = self.slave_idx(slave_id)?;
        let allocations = offered.allocations();
        if allocations.len() != 1 {
            return Err(Error::BadAllocation(offered.to_string()));
        }
        let held = self
            .fw(fidx)
            .allocated
            .get(slave_id)
            .cloned()
            .unwrap_or_default();
        if !self.slave(sidx).allocated.contains(offered) || !held.contains(offered) {
            return Err(Error::NotContained {
                have: held.to_string(),
                want: offered.to_string(),
            });
        }
        let updated = offered.apply(conversions)?;
        let stripped: Vec<ResourceConversion> = conversions
            .iter()
            .filter(|c| !c.consumed.is_empty())
            .map(|c| ResourceConversion::new(c.consumed.unallocated(), c.converted.unallocated()))
            .collect();
        let new_total = self.slave(sidx).total.apply(&stripped)?;
        self.untrack_allocated(slave_id, fidx, offered);
        {
            let s = self.slave_mut(sidx);
            s.allocated -= offered;
            s.allocated += &updated;
        }
        self.track_allocated(slave_id, fidx, &updated);
        if !self.update_slave_total(sidx, new_total) {
            self.slave_mut(sidx).update_available();
        }
        Ok(())
    }

    /// Applies operator operations (e.g. `/reserve`, `/create-volumes`) to an
    /// agent's *unallocated* resources (mirrors `updateAvailable`): fails,
    /// changing nothing, unless the available resources contain what the
    /// operations consume. Use [`conversions::from_operation`] to build them.
    ///
    /// [`conversions::from_operation`]: crate::resources::conversions::from_operation
    pub fn update_available(
        &mut self,
        slave_id: &str,
        conversions: &[ResourceConversion],
    ) -> Result<()> {
        let sidx = self.slave_idx(slave_id)?;
        // Only validates: the new total is what matters.
        self.slave(sidx).available.apply(conversions)?;
        let total = self.slave(sidx).total.apply(conversions)?;
        if !self.update_slave_total(sidx, total) {
            self.slave_mut(sidx).update_available();
        }
        Ok(())
    }

    /// Returns resources to the pool, optionally refusing them for a while
    /// (mirrors `recoverResources`; `resources` must carry one allocation role).
    /// Works for agents or frameworks already removed, as upstream.
    pub fn recover_resources(
        &mut self,
        framework_id: &str,
        slave_id: &str,
        resources: &Resources,
        filters: Option<&mesos_proto::mesos::Filters>,
        now: Time,
    ) -> Result<()> {
        if resources.is_empty() {
            return Ok(());
        }
        let allocations = resources.allocations();
        let Some(role) = allocations
            .keys()
            .next()
            .cloned()
            .filter(|_| allocations.len() == 1)
        else {
            return Err(Error::BadAllocation(resources.to_string()));
        };
        let fidx = self.framework_index.get(framework_id).copied();
        let sidx = self.slave_index.get(slave_id).copied();
        if let Some(s) = sidx {
            if !self.slave(s).allocated.contains(resources) {
                return Err(Error::NotContained {
                    have: self.slave(s).allocated.to_string(),
                    want: resources.to_string(),
                });
            }
        }
        if let Some(f) = fidx {
            if self.fw(f).tracked_roles.contains(&role) {
                let held = self.fw(f).allocated.get(slave_id);
                if !held.is_some_and(|h| h.contains(resources)) {
                    return Err(Error::NotContained {
                        have: held.map(ToString::to_string).unwrap_or_else(|| "{}".into()),
                        want: resources.to_string(),
                    });
                }
                self.untrack_allocated(slave_id, f, resources);
                if !self.fw(f).roles.contains(&role) && !self.fw(f).has_allocation_in_role(&role) {
                    self.untrack_framework_under_role(f, &role);
                }
            }
        }
        if let Some(s) = sidx {
            self.slave_mut(s).unallocate(resources);
        }
        let (Some(f), Some(s), Some(filters)) = (fidx, sidx, filters) else {
            return Ok(());
        };
        let d = refuse_duration(filters);
        if d.is_zero() {
            return Ok(());
        }
        let d = d.max(self.options.allocation_interval);
        let expires = now.saturating_add(d);
        self.next_filter_expiry = Some(self.next_filter_expiry.map_or(expires, |e| e.min(expires)));
        self.fw_mut(f)
            .offer_filters
            .entry(role)
            .or_default()
            .entry(s)
            .or_default()
            .push(OfferFilter {
                resources: resources.unallocated(),
                expires,
            });
        Ok(())
    }

    /// Drops filters that expired at `now` (upstream's filter timers). Called
    /// by every cycle; cheap when nothing is due.
    pub fn expire_filters(&mut self, now: Time) {
        if self.next_filter_expiry.is_none_or(|e| e > now) {
            return;
        }
        let mut next: Option<Time> = None;
        for f in self.frameworks.iter_mut().flatten() {
            f.offer_filters.retain(|_, agents| {
                agents.retain(|_, filters| {
                    filters.retain(|x| x.expires > now);
                    for x in filters.iter() {
                        next = Some(next.map_or(x.expires, |e| e.min(x.expires)));
                    }
                    !filters.is_empty()
                });
                !agents.is_empty()
            });
            f.inverse_offer_filters.retain(|_, v| {
                v.retain(|e| *e > now);
                !v.is_empty()
            });
        }
        self.next_filter_expiry = next;
    }

    // ----- quota and weights -------------------------------------------------

    /// Sets a role's quota; the default quota removes it (mirrors `updateQuota`).
    pub fn update_quota(&mut self, role: &str, quota: Quota) -> Result<()> {
        roles::validate(role)?;
        if role == "*" {
            return Err(Error::InvalidQuota(
                "quota cannot be set on role '*'".into(),
            ));
        }
        if quota.is_default() {
            self.quotas.remove(role);
        } else {
            self.quotas.insert(role.to_string(), quota);
        }
        Ok(())
    }

    /// Applies a `mesos.quota.QuotaConfig` (UPDATE_QUOTA): guarantees and limits
    /// of its role; an empty config removes the quota.
    pub fn update_quota_config(
        &mut self,
        config: &mesos_proto::mesos::quota::QuotaConfig,
    ) -> Result<()> {
        for v in config.guarantees.values().chain(config.limits.values()) {
            if !v.value.is_finite() || v.value < 0.0 {
                return Err(Error::InvalidQuota(format!(
                    "invalid quantity {} for role {}",
                    v.value, config.role
                )));
            }
        }
        self.update_quota(&config.role, Quota::from_config(config))
    }

    /// Sets role weights (mirrors `updateWeights`).
    pub fn update_weights(&mut self, weights: &[WeightInfo]) -> Result<()> {
        for w in weights {
            let Some(role) = &w.role else {
                return Err(Error::InvalidRole("WeightInfo without a role".into()));
            };
            roles::validate(role)?;
            if !(w.weight.is_finite() && w.weight > 0.0) {
                return Err(Error::InvalidRole(format!(
                    "invalid weight {} for role {role}",
                    w.weight
                )));
            }
            self.weights.insert(role.clone(), w.weight);
            self.role_sorter.update_weight(role, w.weight);
        }
        Ok(())
    }

    /// Stops allocation cycles until [`Self::resume`] (mirrors `pause`):
    /// events meanwhile are dropped, as upstream.
    pub fn pause(&mut self) {
        self.paused = true;
    }

    /// Resumes allocation cycles (mirrors `resume`); the next periodic
    /// [`Self::allocate`] picks everything up.
    pub fn resume(&mut self) {
        self.paused = false;
    }

    // ----- queries -------------------------------------------------------------

    /// Is anything waiting for an event-driven cycle?
    pub fn has_pending_allocation(&self) -> bool {
        self.pending_all || !self.pending.is_empty()
    }

    /// Agent total, allocated (with allocation info) and available resources.
    pub fn slave_resources(&self, id: &str) -> Option<(Resources, Resources, Resources)> {
        let s = self.slave(self.slave_index.get(id).copied()?);
        Some((s.total.clone(), s.allocated.clone(), s.available.clone()))
    }

    /// agent id -> resources allocated to the framework (all roles).
    pub fn framework_allocation(&self, id: &str) -> Option<BTreeMap<String, Resources>> {
        Some(
            self.fw(self.framework_index.get(id).copied()?)
                .allocated
                .clone(),
        )
    }

    /// Roles in the order the role sorter would offer to them now.
    pub fn role_order(&mut self) -> Vec<String> {
        self.role_sorter.sort()
    }

    /// Unreserved non-revocable allocations plus reservations in the role's
    /// subtree: what counts against its quota.
    pub fn quota_consumed(&self, role: &str) -> ResourceQuantities {
        let mut out = ResourceQuantities::new();
        for (name, state) in self.roles.range(role.to_string()..) {
            if name != role && !roles::is_strict_subrole_of(name, role) {
                if !name.starts_with(role) {
                    break;
                }
                continue;
            }
            out.add_assign(&state.reservations);
            out.add_assign(&state.allocated_quota);
        }
        out
    }

    /// What the role sorter charges `role` (its own allocation, scalars; a
    /// shared resource counts once per agent).
    pub fn role_sorter_allocation(&self, role: &str) -> ResourceQuantities {
        self.role_sorter.allocation(role)
    }

    /// Number of live offer filters (all frameworks).
    pub fn offer_filter_count(&self) -> usize {
        self.frameworks
            .iter()
            .flatten()
            .map(|f| {
                f.offer_filters
                    .values()
                    .map(|a| a.values().map(Vec::len).sum::<usize>())
                    .sum::<usize>()
            })
            .sum()
    }

    /// Number of agents / frameworks known.
    pub fn counts(&self) -> (usize, usize) {
        (self.slave_index.len(), self.framework_index.len())
    }
}

/// Unreserved, non-revocable scalar quantities: what counts against quota.
fn quota_quantities(res: &Resources) -> ResourceQuantities {
    res.scalar_quantities_where(|x| r::is_unreserved(x) && !r::is_revocable(x))
}

fn hash_str(s: &str) -> u64 {
    // FNV-1a: stable across runs (std's hasher is randomly keyed).
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
