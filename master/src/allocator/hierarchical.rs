//! The master's [`Allocator`] over `mesos_allocator::HierarchicalAllocator`
//! (the hierarchical DRF allocator of `src/master/allocator/mesos/`):
//! resource lists cross as protobufs, errors the allocator reports for
//! inconsistent input are logged (the master must not panic on them).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use libprocess::Time;
use mesos_allocator::hierarchical::{
    parse_min_allocatable_resources, AgentCapabilities, AllocationResult, AllocatorOptions,
    HierarchicalAllocator,
};
use mesos_allocator::SorterKind;
use mesos_proto::mesos::slave_info::Capability;
use mesos_proto::mesos::{Filters, FrameworkInfo, SlaveInfo};

use super::{Allocation, Allocator};
use crate::flags::MasterFlags;
use crate::resources::Resources;

fn to_alloc(r: &Resources) -> mesos_allocator::Resources {
    mesos_allocator::Resources::from_vec(r.to_vec())
}

fn from_alloc(r: &mesos_allocator::Resources) -> Resources {
    Resources::from_vec(&r.to_vec())
}

/// The agent's info as the allocator keeps it: without its resources,
/// which the allocator takes (and keeps) separately as the total and never
/// reads from the info. A `Resource` is ~1 KB in memory, so this copy was
/// a tenth of the master's per-agent footprint. Both `addSlave` and
/// `updateSlave` get the same trimmed form, so the allocator's "did the
/// info change" test compares like with like.
fn info_without_resources(info: &SlaveInfo) -> SlaveInfo {
    let SlaveInfo {
        hostname,
        port,
        resources: _,
        attributes,
        id,
        domain,
        checkpoint,
    } = info;
    SlaveInfo {
        hostname: hostname.clone(),
        port: *port,
        resources: Vec::new(),
        attributes: attributes.clone(),
        id: id.clone(),
        domain: domain.clone(),
        checkpoint: *checkpoint,
    }
}

fn used_map(used: &BTreeMap<String, Resources>) -> BTreeMap<String, mesos_allocator::Resources> {
    used.iter().map(|(k, v)| (k.clone(), to_alloc(v))).collect()
}

/// Upstream's allocator options from the master's flags
/// (`--allocation_interval`, `--min_allocatable_resources`,
/// `--role_sorter`, `--framework_sorter`, `--filter_gpu_resources`).
pub fn options_from_flags(flags: &MasterFlags) -> AllocatorOptions {
    let mut o = AllocatorOptions {
        allocation_interval: flags.allocation_interval(),
        filter_gpu_resources: flags.bool("filter_gpu_resources"),
        ..AllocatorOptions::default()
    };
    if let Some(m) = flags.get("min_allocatable_resources") {
        match parse_min_allocatable_resources(m) {
            Ok(v) => o.min_allocatable_resources = v,
            Err(e) => tracing::warn!("Ignoring --min_allocatable_resources '{m}': {e}"),
        }
    }
    let sorter = |name: &str| match flags.get(name) {
        Some("random") => SorterKind::Random,
        _ => SorterKind::Drf,
    };
    o.role_sorter = sorter("role_sorter");
    o.framework_sorter = sorter("framework_sorter");
    o
}

/// The hierarchical DRF allocator behind the master's trait.
#[derive(Debug)]
pub struct Hierarchical {
    inner: HierarchicalAllocator,
    /// Inverse offers of the cycles run since the master last took them.
    inverse_offers: Vec<mesos_allocator::InverseOfferAllocation>,
}

impl Hierarchical {
    pub fn new(options: AllocatorOptions) -> Hierarchical {
        Hierarchical {
            inner: HierarchicalAllocator::new(options),
            inverse_offers: Vec::new(),
        }
    }

    /// Runs a cycle and feeds upstream's `allocation_run` timer. Only the
    /// metric reads the real clock; allocations never depend on it. The
    /// cycle runs inside the handler that asks for it (no dispatch queue),
    /// so `allocation_run_latency` records zero.
    fn timed(
        &mut self,
        now: Time,
        run: impl FnOnce(&mut HierarchicalAllocator) -> AllocationResult,
    ) -> Vec<Allocation> {
        let runs = self.inner.allocation_runs();
        let start = std::time::Instant::now();
        let result = run(&mut self.inner);
        if self.inner.allocation_runs() != runs {
            self.inner
                .record_allocation_run(start.elapsed(), Duration::ZERO, now.0);
        }
        self.flatten(result)
    }

    fn flatten(&mut self, result: AllocationResult) -> Vec<Allocation> {
        self.inverse_offers.extend(result.inverse_offers);
        let mut out = Vec::new();
        for a in result.offers {
            for (role, agents) in a.resources {
                for (agent_id, res) in agents {
                    out.push(Allocation {
                        framework_id: a.framework_id.clone(),
                        role: role.clone(),
                        agent_id,
                        resources: from_alloc(&res).unallocated(),
                    });
                }
            }
        }
        out
    }
}

fn log<T>(what: &str, r: mesos_allocator::Result<T>) {
    if let Err(e) = r {
        tracing::warn!("Allocator refused {what}: {e}");
    }
}

impl Allocator for Hierarchical {
    fn update_quota(&mut self, config: &mesos_proto::mesos::quota::QuotaConfig) {
        log("update quota", self.inner.update_quota_config(config));
    }

    fn update_weights(&mut self, weights: &[mesos_proto::mesos::WeightInfo]) {
        log("update weights", self.inner.update_weights(weights));
    }

    fn quota_consumed(
        &self,
        role: &str,
    ) -> mesos_allocator::resources::quantities::ResourceQuantities {
        self.inner.quota_consumed(role)
    }

    fn update_allocation(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        offered: &Resources,
        conversions: &[mesos_allocator::resources::ResourceConversion],
    ) -> Result<(), String> {
        self.inner
            .update_allocation(framework_id, agent_id, &to_alloc(offered), conversions)
            .map_err(|e| e.to_string())
    }

    fn update_agent_total(&mut self, agent_id: &str, info: &SlaveInfo, total: &Resources) {
        log(
            "updateSlave",
            self.inner.update_slave(
                agent_id,
                &info_without_resources(info),
                Some(&to_alloc(total)),
                None,
            ),
        );
    }

    fn update_available(
        &mut self,
        agent_id: &str,
        conversions: &[mesos_allocator::resources::ResourceConversion],
    ) -> Result<(), String> {
        self.inner
            .update_available(agent_id, conversions)
            .map_err(|e| e.to_string())
    }

    fn add_framework(
        &mut self,
        framework_id: &str,
        info: &FrameworkInfo,
        suppressed_roles: &BTreeSet<String>,
        used: &BTreeMap<String, Resources>,
        active: bool,
    ) {
        log(
            "addFramework",
            self.inner.add_framework(
                framework_id,
                info,
                &used_map(used),
                active,
                suppressed_roles,
            ),
        );
    }

    fn update_offer_constraints(
        &mut self,
        framework_id: &str,
        filter: mesos_allocator::OfferConstraintsFilter,
    ) {
        log(
            "updateOfferConstraints",
            self.inner.update_offer_constraints(framework_id, filter),
        );
    }

    fn remove_framework(&mut self, framework_id: &str) {
        log("removeFramework", self.inner.remove_framework(framework_id));
    }

    fn activate_framework(&mut self, framework_id: &str) {
        log(
            "activateFramework",
            self.inner.activate_framework(framework_id),
        );
    }

    fn deactivate_framework(&mut self, framework_id: &str) {
        log(
            "deactivateFramework",
            self.inner.deactivate_framework(framework_id),
        );
    }

    fn update_framework(
        &mut self,
        framework_id: &str,
        info: &FrameworkInfo,
        suppressed: &BTreeSet<String>,
    ) {
        log(
            "updateFramework",
            self.inner.update_framework(framework_id, info, suppressed),
        );
    }

    fn add_agent(
        &mut self,
        agent_id: &str,
        info: &SlaveInfo,
        capabilities: &[i32],
        total: &Resources,
        used: &BTreeMap<String, Resources>,
    ) {
        let caps: Vec<Capability> = capabilities
            .iter()
            .map(|t| Capability { r#type: Some(*t) })
            .collect();
        log(
            "addSlave",
            self.inner.add_slave(
                agent_id,
                &info_without_resources(info),
                AgentCapabilities::from_list(&caps),
                None,
                &to_alloc(total),
                &used_map(used),
            ),
        );
    }

    fn remove_agent(&mut self, agent_id: &str) {
        log("removeSlave", self.inner.remove_slave(agent_id));
    }

    fn activate_agent(&mut self, agent_id: &str) {
        log("activateSlave", self.inner.activate_slave(agent_id));
    }

    fn deactivate_agent(&mut self, agent_id: &str) {
        log("deactivateSlave", self.inner.deactivate_slave(agent_id));
    }

    fn recover_resources(
        &mut self,
        framework_id: &str,
        agent_id: &str,
        resources: &Resources,
        refuse: Option<Duration>,
        now: Time,
    ) {
        // Upstream recovers per allocation role; split in case several
        // roles are mixed (e.g. a task and a differently-allocated executor).
        let mut by_role: BTreeMap<Option<String>, Vec<_>> = BTreeMap::new();
        for r in resources.iter() {
            let role = r.allocation_info.as_ref().and_then(|a| a.role.clone());
            by_role.entry(role).or_default().push(r.clone());
        }
        let filters = refuse.map(|d| Filters {
            refuse_seconds: Some(d.as_secs_f64()),
        });
        for (role, rs) in by_role {
            if role.is_none() {
                tracing::warn!(
                    "Not recovering resources without an allocation role for framework {framework_id} on agent {agent_id}"
                );
                continue;
            }
            log(
                "recoverResources",
                self.inner.recover_resources(
                    framework_id,
                    agent_id,
                    &mesos_allocator::Resources::from_vec(rs),
                    filters.as_ref(),
                    now.0,
                ),
            );
        }
    }

    fn suppress_offers(&mut self, framework_id: &str, roles: &BTreeSet<String>) {
        log(
            "suppressOffers",
            self.inner.suppress_offers(framework_id, roles),
        );
    }

    fn revive_offers(&mut self, framework_id: &str, roles: &BTreeSet<String>) {
        log(
            "reviveOffers",
            self.inner.revive_offers(framework_id, roles),
        );
    }

    fn update_unavailability(
        &mut self,
        agent_id: &str,
        unavailability: Option<&mesos_proto::mesos::Unavailability>,
    ) {
        log(
            "updateUnavailability",
            self.inner.update_unavailability(agent_id, unavailability),
        );
    }

    fn update_inverse_offer(
        &mut self,
        agent_id: &str,
        framework_id: &str,
        status: Option<&mesos_proto::mesos::allocator::InverseOfferStatus>,
        filters: Option<&Filters>,
        now: Time,
    ) {
        log(
            "updateInverseOffer",
            self.inner
                .update_inverse_offer(agent_id, framework_id, status, filters, now.0),
        );
    }

    fn inverse_offer_statuses(
        &self,
    ) -> BTreeMap<String, BTreeMap<String, mesos_proto::mesos::allocator::InverseOfferStatus>> {
        self.inner.inverse_offer_statuses()
    }

    fn take_inverse_offers(&mut self) -> Vec<mesos_allocator::InverseOfferAllocation> {
        std::mem::take(&mut self.inverse_offers)
    }

    fn metrics_snapshot(&self) -> BTreeMap<String, f64> {
        self.inner.metrics_snapshot()
    }

    fn allocate(&mut self, now: Time) -> Vec<Allocation> {
        self.timed(now, |a| a.allocate(now.0))
    }

    fn allocate_pending(&mut self, now: Time) -> Vec<Allocation> {
        self.timed(now, |a| a.allocate_pending(now.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::scalar;

    fn agent_total() -> Resources {
        Resources::from_vec(&[scalar("cpus", 2.0), scalar("mem", 1024.0)])
    }

    fn fw(name: &str) -> FrameworkInfo {
        FrameworkInfo {
            name: name.into(),
            user: "u".into(),
            ..Default::default()
        }
    }

    #[test]
    fn offers_the_agent_then_honours_decline_filters() {
        let mut a = Hierarchical::new(AllocatorOptions::default());
        a.add_agent(
            "a1",
            &SlaveInfo::default(),
            &[],
            &agent_total(),
            &BTreeMap::new(),
        );
        a.add_framework("f1", &fw("f1"), &BTreeSet::new(), &BTreeMap::new(), true);
        let out = a.allocate(Time::ZERO);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].role, "*");
        assert_eq!(out[0].resources.scalar("cpus"), 2.0);
        // What the master hands back carries the allocation role.
        let back = Resources::from_vec(&out[0].resources.allocated_to("*"));
        a.recover_resources("f1", "a1", &back, Some(Duration::from_secs(10)), Time::ZERO);
        assert!(a.allocate(Time(Duration::from_secs(5))).is_empty());
        assert_eq!(a.allocate(Time(Duration::from_secs(11))).len(), 1);
    }

    #[test]
    fn used_resources_are_not_offered_again() {
        let mut a = Hierarchical::new(AllocatorOptions::default());
        a.add_framework("f1", &fw("f1"), &BTreeSet::new(), &BTreeMap::new(), true);
        let used = Resources::from_vec(
            &Resources::from_vec(&[scalar("cpus", 1.5), scalar("mem", 1000.0)]).allocated_to("*"),
        );
        let mut m = BTreeMap::new();
        m.insert("f1".to_string(), used);
        a.add_agent("a1", &SlaveInfo::default(), &[], &agent_total(), &m);
        let out = a.allocate(Time::ZERO);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].resources.scalar("cpus"), 0.5);
    }
}
