//! Book-keeping records of the hierarchical allocator (mirrors the `Framework`,
//! `Slave` and role-tree structs in `src/master/allocator/mesos/hierarchical.hpp`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use mesos_proto::mesos::allocator::InverseOfferStatus;
use mesos_proto::mesos::{FrameworkInfo, SlaveInfo, Unavailability};

use super::types::{AgentCapabilities, FrameworkCapabilities, Time};
use crate::fast_hash::FastMap;
use crate::offer_constraints::OfferConstraintsFilter;
use crate::resources::{resource as r, ResourceQuantities, Resources};

/// A refusal: `resources` on one agent are not offered again to the framework
/// role until `expires` (mirrors `RefusedOfferFilter`).
#[derive(Clone, Debug)]
pub(crate) struct OfferFilter {
    pub resources: Resources,
    pub expires: Time,
}

impl OfferFilter {
    /// Upstream filters an offer when the refused resources are a superset.
    pub fn filters(&self, offered: &Resources, now: Time) -> bool {
        self.expires > now && self.resources.contains(offered)
    }
}

#[derive(Debug)]
pub(crate) struct Framework {
    pub id: String,
    pub info: FrameworkInfo,
    pub roles: BTreeSet<String>,
    pub suppressed_roles: BTreeSet<String>,
    pub capabilities: FrameworkCapabilities,
    pub active: bool,
    /// role -> agent index -> filters.
    pub offer_filters: FastMap<String, FastMap<usize, Vec<OfferFilter>>>,
    /// agent index -> expiry times of inverse offer refusals.
    pub inverse_offer_filters: HashMap<usize, Vec<Time>>,
    /// role -> alternatives from `FrameworkInfo.offer_filters`.
    pub min_allocatable_resources: BTreeMap<String, Vec<ResourceQuantities>>,
    /// Roles under which the framework sits in a framework sorter.
    pub tracked_roles: BTreeSet<String>,
    /// agent id -> allocated resources (with allocation info; any role).
    pub allocated: BTreeMap<String, Resources>,
    /// Offer constraints per role (upstream 1.11's `offerConstraintsFilter`).
    pub offer_constraints_filter: OfferConstraintsFilter,
}

impl Framework {
    pub fn has_allocation_in_role(&self, role: &str) -> bool {
        self.allocated
            .values()
            .any(|res| res.allocations().contains_key(role))
    }
}

/// Unpacks `FrameworkInfo.offer_filters` (mirrors `unpackFrameworkOfferFilters`).
pub(crate) fn min_allocatable_from_info(
    info: &FrameworkInfo,
) -> BTreeMap<String, Vec<ResourceQuantities>> {
    let mut out = BTreeMap::new();
    for (role, f) in &info.offer_filters {
        if let Some(m) = &f.min_allocatable_resources {
            out.insert(
                role.clone(),
                m.quantities
                    .iter()
                    .map(|q| ResourceQuantities::from_map(&q.quantities))
                    .collect(),
            );
        }
    }
    out
}

#[derive(Debug, Default)]
pub(crate) struct Maintenance {
    pub unavailability: Unavailability,
    /// Frameworks holding an unanswered inverse offer for this agent.
    pub offers_outstanding: BTreeSet<String>,
    pub statuses: BTreeMap<String, InverseOfferStatus>,
}

#[derive(Debug)]
pub(crate) struct Slave {
    pub id: String,
    pub info: SlaveInfo,
    pub capabilities: AgentCapabilities,
    pub activated: bool,
    pub total: Resources,
    /// Allocated resources, with allocation info.
    pub allocated: Resources,
    /// Cached `total - allocated` (+ shared, always offerable).
    pub available: Resources,
    pub shared: Resources,
    pub has_gpu: bool,
    pub maintenance: Option<Maintenance>,
    /// Unreserved, non-revocable scalar quantities of `available` (what quota
    /// headroom can draw on).
    pub headroom: ResourceQuantities,
}

impl Slave {
    pub fn new(
        id: String,
        info: SlaveInfo,
        capabilities: AgentCapabilities,
        total: Resources,
        allocated: Resources,
    ) -> Self {
        let mut s = Slave {
            id,
            info,
            capabilities,
            activated: true,
            shared: total.shared(),
            has_gpu: total.gpus().unwrap_or(0.0) > 0.0,
            total,
            allocated,
            available: Resources::new(),
            maintenance: None,
            headroom: ResourceQuantities::new(),
        };
        s.update_available();
        s
    }

    /// Recomputes `available` (mirrors `Slave::updateAvailable`): shared
    /// resources stay offerable even while in use.
    pub fn update_available(&mut self) {
        let allocated = self.allocated.unallocated();
        self.available = if self.shared.is_empty() {
            &self.total - &allocated
        } else {
            (self.total.non_shared() - allocated.non_shared()) + &self.shared
        };
        // Kept in the order an offer lists them (the rest, then unreserved
        // non-revocable scalars; each side in its own order, so no offer
        // changes): a whole-agent offer can then share this entry vector.
        self.available = self.available.reordered_where(r::is_quota_scalar);
        self.headroom = self
            .available
            .scalar_quantities_where(|x| r::is_unreserved(x) && !r::is_revocable(x));
    }

    /// First half of an allocation: removes `unallocated` (resources
    /// without allocation info; `headroom_q` their unreserved non-revocable
    /// scalar quantities) from `available`. The cycle only ever offers a
    /// subset of `available` (carved out of a copy of it), so without shared
    /// resources this incremental update is exact. With shared resources
    /// [`Slave::add_allocated`] recomputes `available` instead.
    pub fn take_available(&mut self, unallocated: &Resources, headroom_q: &ResourceQuantities) {
        if self.shared.is_empty() {
            debug_assert!(self.available.contains(unallocated));
            self.available -= unallocated;
            self.headroom.sub_assign(headroom_q);
        }
    }

    /// Second half of an allocation: records `allocated` (with allocation
    /// info) as allocated.
    pub fn add_allocated(&mut self, allocated: &Resources) {
        self.allocated += allocated;
        if !self.shared.is_empty() {
            self.update_available();
        }
    }

    pub fn update_total(&mut self, total: Resources) {
        self.shared = total.shared();
        self.has_gpu = total.gpus().unwrap_or(0.0) > 0.0;
        self.total = total;
        self.update_available();
    }

    pub fn unallocate(&mut self, res: &Resources) {
        self.allocated -= res;
        self.update_available();
    }
}

/// Per-role book-keeping (mirrors upstream's `RoleTree` entries).
#[derive(Debug, Default)]
pub(crate) struct RoleState {
    /// Frameworks tracked under this exact role.
    pub frameworks: BTreeSet<String>,
    /// Scalar quantities reserved to this exact role on all agents.
    pub reservations: ResourceQuantities,
    /// Unreserved, non-revocable scalar quantities allocated to this exact role.
    pub allocated_quota: ResourceQuantities,
}

impl RoleState {
    pub fn is_empty(&self) -> bool {
        self.frameworks.is_empty()
            && self.reservations.is_empty()
            && self.allocated_quota.is_empty()
    }
}
