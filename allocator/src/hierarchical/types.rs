//! Inputs and outputs of the allocator: options, quota, capabilities, and the
//! allocation results handed back to the master.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mesos_proto::mesos::framework_info::capability::Type as FwCap;
use mesos_proto::mesos::slave_info::capability::Type as AgentCap;
use mesos_proto::mesos::{DomainInfo, FrameworkInfo, Unavailability};

use crate::resources::{ResourceLimits, ResourceQuantities, Resources};
use crate::sorter::SorterKind;

/// Time as the caller's clock sees it (e.g. time since the Unix epoch or since
/// the simulation started). The allocator never reads a clock itself.
pub type Time = Duration;

/// Allocator configuration (mirrors `mesos::allocator::Options`).
#[derive(Clone, Debug)]
pub struct AllocatorOptions {
    /// `--allocation_interval` (default 1s); also the minimum filter duration.
    pub allocation_interval: Duration,
    /// `--fair_sharing_excluded_resource_names`.
    pub fairness_exclude_resource_names: BTreeSet<String>,
    /// `--filter_gpu_resources` (default true): only GPU_RESOURCES-capable
    /// frameworks get offers from agents with GPUs.
    pub filter_gpu_resources: bool,
    /// The master's `--domain`; agents in another region are offered only to
    /// REGION_AWARE frameworks.
    pub domain: Option<DomainInfo>,
    /// `--min_allocatable_resources` (default `cpus:0.01|mem:32`): an offer
    /// must contain at least one of these quantity sets. Empty: no minimum.
    pub min_allocatable_resources: Vec<ResourceQuantities>,
    /// `--role_sorter`.
    pub role_sorter: SorterKind,
    /// `--framework_sorter`.
    pub framework_sorter: SorterKind,
    /// Seed for agent shuffling and the random sorter (upstream uses an
    /// unseeded `random_shuffle`; we are deterministic).
    pub seed: u64,
}

impl Default for AllocatorOptions {
    fn default() -> Self {
        AllocatorOptions {
            allocation_interval: Duration::from_secs(1),
            fairness_exclude_resource_names: BTreeSet::new(),
            filter_gpu_resources: true,
            domain: None,
            min_allocatable_resources: parse_min_allocatable_resources("cpus:0.01|mem:32")
                .unwrap_or_default(),
            role_sorter: SorterKind::Drf,
            framework_sorter: SorterKind::Drf,
            seed: 0,
        }
    }
}

/// Parses `--min_allocatable_resources` (`cpus:0.01|mem:32`: alternatives
/// separated by `|`, each a `;`-separated quantity list).
pub fn parse_min_allocatable_resources(text: &str) -> crate::Result<Vec<ResourceQuantities>> {
    let mut out = Vec::new();
    for alt in text.split('|').map(str::trim).filter(|s| !s.is_empty()) {
        let q = ResourceQuantities::parse(alt)?;
        if q.is_empty() {
            return Err(crate::Error::Parse(format!("empty quantity in '{text}'")));
        }
        out.push(q);
    }
    Ok(out)
}

/// A role's quota (mirrors `mesos::Quota` of 1.9: guarantees and limits).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quota {
    /// Resources held back for the role (headroom) until it consumes them.
    pub guarantees: ResourceQuantities,
    /// Upper bound on what the role (with its subroles) is offered.
    pub limits: ResourceLimits,
}

impl Quota {
    /// From a `mesos.quota.QuotaConfig`.
    pub fn from_config(c: &mesos_proto::mesos::quota::QuotaConfig) -> Self {
        Quota {
            guarantees: ResourceQuantities::from_map(&c.guarantees),
            limits: ResourceLimits::from_map(&c.limits),
        }
    }

    /// True for the default (no guarantees, no limits).
    pub fn is_default(&self) -> bool {
        self.guarantees.is_empty() && self.limits.is_empty()
    }
}

/// Framework capabilities the allocator cares about
/// (mirrors `protobuf::framework::Capabilities`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameworkCapabilities {
    /// MULTI_ROLE.
    pub multi_role: bool,
    /// RESERVATION_REFINEMENT.
    pub reservation_refinement: bool,
    /// SHARED_RESOURCES.
    pub shared_resources: bool,
    /// REVOCABLE_RESOURCES.
    pub revocable_resources: bool,
    /// GPU_RESOURCES.
    pub gpu_resources: bool,
    /// REGION_AWARE.
    pub region_aware: bool,
}

impl FrameworkCapabilities {
    /// Extracted from a `FrameworkInfo`.
    pub fn from_info(info: &FrameworkInfo) -> Self {
        let mut c = Self::default();
        for cap in &info.capabilities {
            match cap.r#type.and_then(|t| FwCap::try_from(t).ok()) {
                Some(FwCap::MultiRole) => c.multi_role = true,
                Some(FwCap::ReservationRefinement) => c.reservation_refinement = true,
                Some(FwCap::SharedResources) => c.shared_resources = true,
                Some(FwCap::RevocableResources) => c.revocable_resources = true,
                Some(FwCap::GpuResources) => c.gpu_resources = true,
                Some(FwCap::RegionAware) => c.region_aware = true,
                _ => {}
            }
        }
        c
    }
}

/// Agent capabilities the allocator cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AgentCapabilities {
    /// MULTI_ROLE.
    pub multi_role: bool,
    /// HIERARCHICAL_ROLE.
    pub hierarchical_role: bool,
    /// RESERVATION_REFINEMENT.
    pub reservation_refinement: bool,
}

impl Default for AgentCapabilities {
    /// A current (1.9) agent: everything on.
    fn default() -> Self {
        AgentCapabilities {
            multi_role: true,
            hierarchical_role: true,
            reservation_refinement: true,
        }
    }
}

impl AgentCapabilities {
    /// None of the capabilities (an old agent).
    pub fn none() -> Self {
        AgentCapabilities {
            multi_role: false,
            hierarchical_role: false,
            reservation_refinement: false,
        }
    }

    /// From `SlaveInfo.Capability` values.
    pub fn from_list(caps: &[mesos_proto::mesos::slave_info::Capability]) -> Self {
        let mut c = Self::none();
        for cap in caps {
            match cap.r#type.and_then(|t| AgentCap::try_from(t).ok()) {
                Some(AgentCap::MultiRole) => c.multi_role = true,
                Some(AgentCap::HierarchicalRole) => c.hierarchical_role = true,
                Some(AgentCap::ReservationRefinement) => c.reservation_refinement = true,
                _ => {}
            }
        }
        c
    }
}

/// The roles a framework subscribes to: `roles` if MULTI_ROLE, else `role`
/// (default `*`) (mirrors `protobuf::framework::getRoles`).
#[allow(deprecated)] // `FrameworkInfo.role` is how non-MULTI_ROLE frameworks say it.
pub fn framework_roles(info: &FrameworkInfo) -> BTreeSet<String> {
    if FrameworkCapabilities::from_info(info).multi_role {
        info.roles.iter().cloned().collect()
    } else {
        [info.role.clone().unwrap_or_else(|| "*".to_string())]
            .into_iter()
            .collect()
    }
}

/// Resources offered to one framework in one cycle: role -> agent id -> resources
/// (each `Resources` already carries `allocation_info.role`).
#[derive(Clone, Debug, PartialEq)]
pub struct Allocation {
    /// The framework receiving offers.
    pub framework_id: String,
    /// role -> agent id -> resources.
    pub resources: BTreeMap<String, BTreeMap<String, Resources>>,
}

/// What an inverse offer asks a framework to give back.
#[derive(Clone, Debug, PartialEq)]
pub struct UnavailableResources {
    /// Resources to free (empty: the whole agent, as upstream sends today).
    pub resources: Resources,
    /// The maintenance window.
    pub unavailability: Unavailability,
}

/// Inverse offers for one framework: agent id -> unavailable resources.
#[derive(Clone, Debug, PartialEq)]
pub struct InverseOfferAllocation {
    /// The framework receiving inverse offers.
    pub framework_id: String,
    /// agent id -> what is requested.
    pub agents: BTreeMap<String, UnavailableResources>,
}

/// The output of one allocation cycle.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AllocationResult {
    /// Offers, ordered by framework id.
    pub offers: Vec<Allocation>,
    /// Inverse offers, ordered by framework id.
    pub inverse_offers: Vec<InverseOfferAllocation>,
}
