//! One allocation cycle (mirrors `HierarchicalAllocatorProcess::__allocate`
//! and `deallocate` in `src/master/allocator/mesos/hierarchical.cpp`).
//!
//! Stage 1 offers unsatisfied quota guarantees; stage 2 offers the rest,
//! holding back enough unreserved resources to keep every unsatisfied
//! guarantee satisfiable (quota headroom). Limits cap every stage.
//!
//! Incrementality: only agents that have something available are visited
//! (upstream visits every candidate and breaks out on an empty agent after
//! sorting roles), sorter order is walked lazily and stops as soon as the
//! agent is exhausted, and sorter updates are applied in O(log n).

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

use mesos_proto::mesos::resource::AllocationInfo;
use rand::seq::SliceRandom;

use super::state::{Framework, Slave};
use super::types::*;
use super::HierarchicalAllocator;
use crate::fast_hash::FastMap;
use crate::resources::quantities::{shrink_to_limits, shrink_to_quantities};
use crate::resources::{resource as r, roles, ResourceLimits, ResourceQuantities, Resources};

/// Framework index -> role -> agent id -> offered resources (keyed by index
/// during the cycle: cheaper than comparing id strings).
type Offerable = FastMap<usize, BTreeMap<String, BTreeMap<String, Resources>>>;

/// Sorter updates of one agent: (leaf index in the walked sorter, role
/// name when the walked sorter is the stage-1 subset and the main role
/// sorter needs it too, quantities).
type RoleUpdates = Vec<(usize, Option<String>, ResourceQuantities)>;
/// (framework leaf, index of the matching role update, quantities when they
/// differ from the role's: shared resources).
type FrameworkUpdates = Vec<(usize, usize, Option<ResourceQuantities>)>;

/// What one cycle accumulates while it walks the agents.
struct CycleState {
    /// Buffers reused for every agent (no allocation per agent).
    role_updates: RoleUpdates,
    fw_updates: FrameworkUpdates,
    quota: QuotaState,
    offerable: Offerable,
    /// Shared resources already offered on an agent in this cycle.
    offered_shared: BTreeMap<usize, Resources>,
    /// One allocation info per role for the whole cycle (shared handles).
    alloc_infos: FastMap<String, Arc<AllocationInfo>>,
    now: Time,
}

/// Per-cycle quota state (upstream's `rolesConsumedQuota`, `requiredHeadroom`,
/// `availableHeadroom`).
struct QuotaState {
    consumed: BTreeMap<String, ResourceQuantities>,
    required_headroom: ResourceQuantities,
    available_headroom: ResourceQuantities,
}

impl QuotaState {
    /// Charges an allocation to `role` against every quota role at or above it.
    fn charge(&mut self, quotas: &BTreeMap<String, Quota>, role: &str, q: &ResourceQuantities) {
        if quotas.contains_key(role) {
            self.consumed
                .entry(role.to_string())
                .or_default()
                .add_assign(q);
        }
        for a in roles::ancestors(role) {
            if quotas.contains_key(a) {
                self.consumed
                    .entry(a.to_string())
                    .or_default()
                    .add_assign(q);
            }
        }
    }

    /// The tightest remaining limit over `role` and its ancestors.
    /// Deliberate deviation from 1.9, which only applies a role's own limit:
    /// a subrole can never push its ancestor past the ancestor's limit.
    fn effective_limits(&self, quotas: &BTreeMap<String, Quota>, role: &str) -> ResourceLimits {
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        let mut consider = |q: &str| {
            if let Some(quota) = quotas.get(q) {
                if quota.limits.is_empty() {
                    return;
                }
                let empty = ResourceQuantities::new();
                let used = self.consumed.get(q).unwrap_or(&empty);
                for (name, left) in quota.limits.minus(used).iter() {
                    let e = out.entry(name.to_string()).or_insert(left);
                    *e = (*e).min(left);
                }
            }
        };
        consider(role);
        for a in roles::ancestors(role) {
            consider(a);
        }
        ResourceLimits::from_pairs(
            out.iter()
                .map(|(k, v)| (k.as_str(), crate::resources::values::from_fixed(*v))),
        )
    }
}

impl HierarchicalAllocator {
    /// The periodic cycle over all agents (upstream's batch timer calling
    /// `allocate()`), followed by inverse offers.
    pub fn allocate(&mut self, now: Time) -> AllocationResult {
        self.pending_all = true;
        self.allocate_pending(now)
    }

    /// An event-driven cycle over the agents touched since the last cycle
    /// (all agents if a framework-level event happened). Many events between
    /// two calls are batched into one cycle, as upstream's `allocate()`
    /// dispatch coalescing does.
    pub fn allocate_pending(&mut self, now: Time) -> AllocationResult {
        if self.paused {
            self.pending.clear();
            self.pending_all = false;
            return AllocationResult::default();
        }
        // Upstream counts every run that is not paused (`_allocate`); a call
        // with nothing recorded is not a run (upstream would not dispatch one).
        if self.pending_all || !self.pending.is_empty() {
            self.metrics.allocation_runs += 1;
        }
        self.expire_filters(now);
        let candidates: Vec<usize> = if self.pending_all {
            self.slave_index.values().copied().collect()
        } else {
            self.pending.iter().copied().collect()
        };
        self.pending.clear();
        self.pending_all = false;
        let offers = self.run_cycle(&candidates, now);
        let inverse_offers = self.deallocate(&candidates, now);
        AllocationResult {
            offers,
            inverse_offers,
        }
    }

    fn quota_state(&self) -> QuotaState {
        let mut consumed: BTreeMap<String, ResourceQuantities> = BTreeMap::new();
        let mut required = ResourceQuantities::new();
        for (role, quota) in &self.quotas {
            let c = self.quota_consumed(role);
            required.add_assign(&quota.guarantees.sub(&c));
            consumed.insert(role.clone(), c);
        }
        let mut available = ResourceQuantities::new();
        if !required.is_empty() {
            for s in self.slaves.iter().flatten() {
                available.add_assign(&s.headroom);
            }
        }
        QuotaState {
            consumed,
            required_headroom: required,
            available_headroom: available,
        }
    }

    fn run_cycle(&mut self, candidates: &[usize], now: Time) -> Vec<Allocation> {
        let mut slave_ids: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                let s = self.slaves[i].as_ref().expect("candidate is live");
                s.activated
                    && !s.available.is_empty()
                    && self
                        .whitelist
                        .as_ref()
                        .is_none_or(|w| w.contains(&s.info.hostname))
            })
            .collect();
        if slave_ids.is_empty() || self.framework_sorters.is_empty() {
            return Vec::new();
        }
        slave_ids.shuffle(&mut self.rng);

        let mut cycle = CycleState {
            quota: self.quota_state(),
            role_updates: Vec::new(),
            fw_updates: Vec::new(),
            offerable: FastMap::default(),
            offered_shared: BTreeMap::new(),
            alloc_infos: FastMap::default(),
            now,
        };

        // Quota roles whose guarantees are not met and that have frameworks
        // to offer to: stage 1 visits only these, and ends once they are met.
        let mut unsatisfied_roles: BTreeSet<String> = self
            .quotas
            .iter()
            .filter(|(role, q)| {
                !q.guarantees.is_empty()
                    && self
                        .roles
                        .get(*role)
                        .is_some_and(|s| !s.frameworks.is_empty())
                    && !q
                        .guarantees
                        .sub(
                            cycle
                                .quota
                                .consumed
                                .get(*role)
                                .unwrap_or(&ResourceQuantities::new()),
                        )
                        .is_empty()
            })
            .map(|(role, _)| role.clone())
            .collect();
        if !unsatisfied_roles.is_empty() {
            // With top-level quota roles only (all 1.9 allows), walk a sorter
            // of just those roles instead of every role for every agent.
            let mut stage_one_sorter =
                unsatisfied_roles.iter().all(|r| !r.contains('/')).then(|| {
                    self.role_sorter
                        .top_level_subset(unsatisfied_roles.iter().map(String::as_str))
                });
            for &sidx in &slave_ids {
                if unsatisfied_roles.is_empty() {
                    break;
                }
                self.allocate_on_slave(
                    sidx,
                    stage_one_sorter.as_mut(),
                    Some(&mut unsatisfied_roles),
                    &mut cycle,
                );
            }
            slave_ids.shuffle(&mut self.rng);
        }
        for &sidx in &slave_ids {
            self.allocate_on_slave(sidx, None, None, &mut cycle);
        }

        // Ordered by framework id for the caller (deterministic).
        let by_id: BTreeMap<String, _> = cycle
            .offerable
            .into_iter()
            .map(|(fidx, resources)| {
                let id = self.frameworks[fidx]
                    .as_ref()
                    .expect("offered framework is live")
                    .id
                    .clone();
                (id, resources)
            })
            .collect();
        by_id
            .into_iter()
            .map(|(framework_id, resources)| Allocation {
                framework_id,
                resources,
            })
            .collect()
    }

    /// Offers what one agent has, walking roles then frameworks in sorter
    /// order. Sorter updates are applied after each walk, which is what
    /// upstream's "sort once, then iterate the copy" does.
    fn allocate_on_slave(
        &mut self,
        sidx: usize,
        mut order: Option<&mut crate::sorter::Sorter>,
        mut unsatisfied_roles: Option<&mut BTreeSet<String>>,
        cycle: &mut CycleState,
    ) {
        let CycleState {
            role_updates: role_updates_buf,
            fw_updates: fw_updates_buf,
            quota,
            offerable,
            offered_shared,
            alloc_infos,
            now,
        } = cycle;
        let now = *now;
        let Self {
            options,
            frameworks,
            framework_index,
            slaves,
            roles: role_states,
            quotas,
            role_sorter,
            framework_sorters,
            ..
        } = self;
        let slave: &mut Slave = slaves[sidx].as_mut().expect("live agent");
        if unsatisfied_roles.is_none() && !quota.required_headroom.is_empty() {
            // Shortcut for stage 2: if the agent only has unreserved,
            // non-revocable scalars and all of them are needed as quota
            // headroom, no role can get anything here; upstream would walk
            // every role and framework to find that out.
            let target = quota.available_headroom.sub(&quota.required_headroom);
            let only_headroom = !slave
                .available
                .any(|x| !r::is_scalar(x) || !r::is_unreserved(x) || r::is_revocable(x));
            if only_headroom
                && slave
                    .available
                    .iter()
                    .all(|x| target.get_fixed(&x.name) == 0)
            {
                return;
            }
        }
        let remote = is_remote(options, slave);
        let mut role_updates = std::mem::take(role_updates_buf);
        role_updates.clear();
        let walking_subset = order.is_some();
        let mut fw_updates = std::mem::take(fw_updates_buf);
        let guarantees_stage = unsatisfied_roles.is_some();
        // Stage 1 stops walking roles once every unsatisfied role was seen.
        let mut to_visit = unsatisfied_roles.as_ref().map_or(0, |s| s.len());

        let mut satisfied: Vec<String> = Vec::new();
        let walker: &mut crate::sorter::Sorter = match order.as_deref_mut() {
            Some(sub) => sub,
            None => role_sorter,
        };
        walker.sort_with_leaf(|role_leaf, role| {
            if slave.available.is_empty() {
                return false;
            }
            let mut unsatisfied = ResourceQuantities::new();
            if let Some(set) = unsatisfied_roles.as_mut() {
                if to_visit == 0 {
                    return false;
                }
                if !set.contains(role) {
                    return true;
                }
                to_visit -= 1;
                let Some(q) = quotas.get(role) else {
                    set.remove(role);
                    satisfied.push(role.to_string());
                    return true;
                };
                let empty = ResourceQuantities::new();
                unsatisfied = q.guarantees.sub(quota.consumed.get(role).unwrap_or(&empty));
                if unsatisfied.is_empty() {
                    set.remove(role);
                    satisfied.push(role.to_string());
                    return true;
                }
            }
            let Some(fsorter) = framework_sorters.get_mut(role) else {
                return true;
            };
            fw_updates.clear();
            // What the role may use on this agent; recomputed only after an
            // allocation changes the agent (upstream recomputes it per framework).
            let mut role_available: Option<Resources> = None;
            fsorter.sort_with_leaf(|fw_leaf, fw_id| {
                if guarantees_stage && unsatisfied.is_empty() {
                    return false;
                }
                let base = role_available.get_or_insert_with(|| {
                    let mut available = slave.available.clone();
                    available.retain(|x| r::is_allocatable_to(x, role));
                    if let Some(shared) = offered_shared.get(&sidx) {
                        available -= shared;
                    }
                    available
                });
                if base.is_empty() {
                    return false;
                }
                let Some(&fidx) = framework_index.get(fw_id) else {
                    return true;
                };
                let fw: &Framework = frameworks[fidx].as_ref().expect("live framework");
                // Upstream 1.11 checks the framework's offer constraints first,
                // in both stages (`isAgentExcluded` in `__allocate`).
                if fw
                    .offer_constraints_filter
                    .is_agent_excluded(role, &slave.info)
                {
                    return true;
                }
                if !allocatable(options, base, role, fw) {
                    return true;
                }
                if !capable_of_receiving_agent(options, fw, slave, remote) {
                    return true;
                }
                // Whatever is offered below is a subset of `base`, so a filter
                // covering `base` filters it too: skip the work (and the copy).
                if is_filtered(fw, role, sidx, slave, base, now) {
                    return true;
                }
                // Take the cached copy rather than cloning it: the usual next
                // step is an allocation, which invalidates the cache anyway.
                let mut available = role_available.take().unwrap_or_default();
                let base_len = available.len();
                strip_incapable(&mut available, fw);
                // `strip_incapable` only removes entries.
                let stripped = available.len() != base_len;

                let is_quota_scalar = r::is_quota_scalar;
                // Limits of the role and of every ancestor (see `effective_limits`).
                let limits = if quotas.is_empty() {
                    ResourceLimits::new()
                } else {
                    quota.effective_limits(quotas, role)
                };
                // Nothing can be cut (no guarantee stage, no limit, no
                // headroom to keep): the offer is all of `available`, in the
                // order the general path below produces (the rest, then the
                // unreserved scalars), built as one vector.
                let uncut =
                    !guarantees_stage && limits.is_empty() && quota.required_headroom.is_empty();
                let mut to_allocate;
                let mut guarantee_alloc = Resources::new();
                let increased;
                if uncut {
                    to_allocate = available.reordered_where(is_quota_scalar);
                    // Usually the very entry vector of the agent's
                    // `available`: one holder less before it is changed.
                    drop(available);
                    increased = (!quotas.is_empty()).then(|| {
                        to_allocate
                            .scalar_quantities_where(|x| r::is_unreserved(x) && !r::is_revocable(x))
                    });
                } else {
                    let quota_resources = available.split_off_where(is_quota_scalar);
                    let rest = available;
                    let mut additional;
                    if guarantees_stage {
                        guarantee_alloc = shrink_to_quantities(&quota_resources, &unsatisfied);
                        if guarantee_alloc.is_empty() {
                            return true;
                        }
                        // As upstream: only reservations to the role itself join a
                        // guarantee allocation.
                        let mut rest = rest;
                        rest.retain(|x| {
                            r::is_reserved(x, Some(role)) || !r::is_scalar(x) || r::is_revocable(x)
                        });
                        to_allocate = &guarantee_alloc + &rest;
                        additional = &quota_resources - &guarantee_alloc;
                    } else {
                        to_allocate = rest;
                        additional = quota_resources;
                    }
                    let guarantee_part = guarantees_stage;
                    if !limits.is_empty() && !additional.is_empty() {
                        let g = ResourceQuantities::from_scalar_resources(&guarantee_alloc);
                        let mut lim = BTreeMap::new();
                        for (name, left) in limits.iter() {
                            lim.insert(name.to_string(), (left - g.get_fixed(name)).max(0));
                        }
                        let lim =
                            ResourceLimits::from_pairs(lim.iter().map(|(k, v)| {
                                (k.as_str(), crate::resources::values::from_fixed(*v))
                            }));
                        additional = shrink_to_limits(&additional, &lim);
                    }
                    if !quota.required_headroom.is_empty() && !additional.is_empty() {
                        let target = quota.available_headroom.sub(&quota.required_headroom);
                        additional = shrink_to_quantities(&additional, &target);
                    }
                    // What this allocation adds to quota consumption (only
                    // tracked while some quota exists).
                    increased = (!quotas.is_empty()).then(|| {
                        if guarantees_stage {
                            ResourceQuantities::from_scalar_resources(
                                &(&guarantee_alloc + &additional),
                            )
                        } else {
                            ResourceQuantities::from_scalar_resources(&additional)
                        }
                    });
                    if guarantee_part {
                        // `additional` may merge with the guarantee part.
                        to_allocate += &additional;
                    } else {
                        // The two sides of one partition, each only shrunk.
                        to_allocate.append_disjoint(additional);
                    }
                }

                // An uncut offer of unstripped resources is exactly what was
                // checked above (`base`): the same answers again.
                let unchanged = uncut && !stripped;
                if !unchanged
                    && (!allocatable(options, &to_allocate, role, fw)
                        || is_filtered(fw, role, sidx, slave, &to_allocate, now))
                {
                    return true;
                }

                // Unreserved non-revocable scalars: what quota and headroom
                // count (computed once for both).
                let (all_q, quota_only) = to_allocate
                    .scalar_quantities_and_where(|x| r::is_unreserved(x) && !r::is_revocable(x));
                let quota_q = quota_only.as_ref().unwrap_or(&all_q);
                // A copy without allocation info is only needed for the
                // shared-resource book-keeping below.
                let unallocated = to_allocate.any(r::is_shared).then(|| to_allocate.clone());
                slave.take_available(&to_allocate, quota_q);
                let info = match alloc_infos.get(role) {
                    Some(i) => i.clone(),
                    None => {
                        let i = Arc::new(AllocationInfo {
                            role: Some(role.to_string()),
                        });
                        alloc_infos.insert(role.to_string(), i.clone());
                        i
                    }
                };
                to_allocate.allocate_shared(&info);
                role_available = None;
                slave.add_allocated(&to_allocate);
                // Look up before inserting: the framework and role keys usually
                // exist already, so their strings need not be copied.
                let by_role = offerable.entry(fidx).or_default();
                let by_agent = match by_role.get_mut(role) {
                    Some(m) => m,
                    None => by_role.entry(role.to_string()).or_default(),
                };
                *by_agent.entry(slave.id.clone()).or_default() += &to_allocate;
                // Upstream records the *allocated* shared resources here.
                if let Some(unallocated) = &unallocated {
                    let shared = unallocated.shared();
                    *offered_shared.entry(sidx).or_default() += shared.allocated_to(role);
                }

                // Quota book-keeping only matters while some quota exists.
                if let Some(increased) = increased {
                    if guarantees_stage {
                        unsatisfied.sub_assign(&increased);
                        quota.required_headroom.sub_assign(
                            &ResourceQuantities::from_scalar_resources(&guarantee_alloc),
                        );
                    }
                    quota.charge(quotas, role, &increased);
                    quota.available_headroom.sub_assign(&increased);
                }

                // Book-keeping of `trackAllocatedResources`, sorters deferred.
                let (fq, rq) = if unallocated.is_some() {
                    let role_held = super::shared::role_shared_held(
                        role,
                        &slave.id,
                        role_states,
                        frameworks,
                        framework_index,
                    );
                    let fw_held = frameworks[fidx]
                        .as_ref()
                        .and_then(|f| f.allocated.get(&slave.id));
                    (
                        Some(super::shared::added_quantities(fw_held, &to_allocate)),
                        Some(super::shared::added_quantities(
                            Some(&role_held),
                            &to_allocate,
                        )),
                    )
                } else {
                    (None, None)
                };
                match role_states.get_mut(role) {
                    Some(state) => state.allocated_quota.add_assign(quota_q),
                    None => role_states
                        .entry(role.to_string())
                        .or_default()
                        .allocated_quota
                        .add_assign(quota_q),
                }
                let rq = match rq {
                    Some(q) => q,
                    None => all_q,
                };
                fw_updates.push((fw_leaf, role_updates.len(), fq));
                role_updates.push((role_leaf, walking_subset.then(|| role.to_string()), rq));
                let fw_mut = frameworks[fidx].as_mut().expect("live framework");
                *fw_mut.allocated.entry(slave.id.clone()).or_default() += &to_allocate;
                true
            });
            for (leaf, ri, fq) in fw_updates.drain(..) {
                fsorter.allocated_leaf(leaf, fq.as_ref().unwrap_or(&role_updates[ri].2));
            }
            if guarantees_stage && unsatisfied.is_empty() {
                if let Some(set) = unsatisfied_roles.as_mut() {
                    set.remove(role);
                    satisfied.push(role.to_string());
                }
            }
            true
        });
        for (leaf, name, q) in role_updates.drain(..) {
            match (order.as_deref_mut(), name) {
                (Some(sub), Some(role)) => {
                    sub.allocated_leaf(leaf, &q);
                    role_sorter.allocated(&role, &q);
                }
                _ => role_sorter.allocated_leaf(leaf, &q),
            }
        }
        *role_updates_buf = role_updates;
        *fw_updates_buf = fw_updates;
        if let Some(sub) = order {
            for role in satisfied {
                sub.remove(&role);
            }
        }
    }

    /// Sends inverse offers for agents under maintenance to frameworks using
    /// them (mirrors `deallocate`).
    fn deallocate(&mut self, candidates: &[usize], now: Time) -> Vec<InverseOfferAllocation> {
        let mut out: BTreeMap<String, BTreeMap<String, UnavailableResources>> = BTreeMap::new();
        let maintained: BTreeSet<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                self.slaves[i]
                    .as_ref()
                    .is_some_and(|s| s.maintenance.is_some())
            })
            .collect();
        if maintained.is_empty() {
            return Vec::new();
        }
        for f in self.frameworks.iter().flatten() {
            if !f.active {
                continue;
            }
            for &sidx in &maintained {
                let s = self.slaves[sidx].as_mut().expect("live agent");
                if !f.allocated.contains_key(&s.id) {
                    continue;
                }
                let m = s.maintenance.as_mut().expect("filtered on maintenance");
                if m.offers_outstanding.contains(&f.id) {
                    continue;
                }
                let filtered = f
                    .inverse_offer_filters
                    .get(&sidx)
                    .is_some_and(|v| v.iter().any(|e| *e > now));
                if filtered {
                    continue;
                }
                m.offers_outstanding.insert(f.id.clone());
                out.entry(f.id.clone()).or_default().insert(
                    s.id.clone(),
                    UnavailableResources {
                        resources: Resources::new(),
                        unavailability: m.unavailability,
                    },
                );
            }
        }
        out.into_iter()
            .map(|(framework_id, agents)| InverseOfferAllocation {
                framework_id,
                agents,
            })
            .collect()
    }
}

/// Mirrors `allocatable`: resources satisfy one of the minimum quantity sets
/// (the framework's own for the role override the global option).
fn allocatable(options: &AllocatorOptions, res: &Resources, role: &str, fw: &Framework) -> bool {
    if res.is_empty() {
        return false;
    }
    let mins = fw
        .min_allocatable_resources
        .get(role)
        .unwrap_or(&options.min_allocatable_resources);
    mins.is_empty() || mins.iter().any(|q| res.contains_quantities(q))
}

/// Mirrors `isRemoteSlave`: an agent in another region than the master.
fn is_remote(options: &AllocatorOptions, slave: &Slave) -> bool {
    let Some(agent) = slave
        .info
        .domain
        .as_ref()
        .and_then(|d| d.fault_domain.as_ref())
    else {
        return false;
    };
    let Some(master) = options
        .domain
        .as_ref()
        .and_then(|d| d.fault_domain.as_ref())
    else {
        // Upstream requires the master to have a domain then; treat as local.
        return false;
    };
    agent.region.name != master.region.name
}

/// Mirrors `isCapableOfReceivingAgent`.
fn capable_of_receiving_agent(
    options: &AllocatorOptions,
    fw: &Framework,
    slave: &Slave,
    remote: bool,
) -> bool {
    if options.filter_gpu_resources && !fw.capabilities.gpu_resources && slave.has_gpu {
        return false;
    }
    !remote || fw.capabilities.region_aware
}

/// Mirrors `stripIncapableResources`, in place.
fn strip_incapable(res: &mut Resources, fw: &Framework) {
    let c = fw.capabilities;
    if c.shared_resources && c.revocable_resources && c.reservation_refinement {
        return;
    }
    res.retain(|x| {
        (c.shared_resources || !r::is_shared(x))
            && (c.revocable_resources || !r::is_revocable(x))
            && (c.reservation_refinement || !r::has_refined_reservations(x))
    })
}

/// Mirrors `isFiltered(framework, role, slave, resources)`.
fn is_filtered(
    fw: &Framework,
    role: &str,
    sidx: usize,
    slave: &Slave,
    res: &Resources,
    now: Time,
) -> bool {
    if fw.capabilities.multi_role && !slave.capabilities.multi_role {
        return true;
    }
    if !slave.capabilities.hierarchical_role && role.contains('/') {
        return true;
    }
    fw.offer_filters
        .get(role)
        .and_then(|m| m.get(&sidx))
        .is_some_and(|filters| filters.iter().any(|f| f.filters(res, now)))
}
