//! Scenario builders shared by the criterion benches and the `allocator-bench`
//! binary, modelled on upstream `hierarchical_allocator_benchmarks.cpp` and
//! the `HierarchicalAllocator_BENCHMARK_Test` cases. Not part of the stable API.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mesos_proto::mesos::framework_info::capability::Type as Cap;
use mesos_proto::mesos::framework_info::Capability;
use mesos_proto::mesos::{Filters, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo};

use crate::hierarchical::{
    AgentCapabilities, AllocationResult, AllocatorOptions, HierarchicalAllocator, Quota,
};
use crate::resources::{ResourceQuantities, Resources};

/// A framework subscribed to `roles` (MULTI_ROLE).
pub fn framework_info(id: &str, roles: &[&str]) -> FrameworkInfo {
    FrameworkInfo {
        user: "bench".into(),
        name: id.into(),
        id: Some(FrameworkId { value: id.into() }),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: vec![Capability {
            r#type: Some(Cap::MultiRole as i32),
        }],
        ..Default::default()
    }
}

/// An agent info with the given id.
pub fn slave_info(id: &str) -> SlaveInfo {
    SlaveInfo {
        hostname: id.to_string(),
        id: Some(SlaveId { value: id.into() }),
        ..Default::default()
    }
}

/// Agent id for index `i`.
pub fn agent_id(i: usize) -> String {
    format!("agent-{i:06}")
}

/// Framework id for index `i`.
pub fn framework_id(i: usize) -> String {
    format!("framework-{i:05}")
}

/// An allocator with `frameworks` frameworks in role `*` (or one role each
/// when `role_per_framework`) and `agents` agents of `agent_resources`.
pub fn cluster(
    agents: usize,
    frameworks: usize,
    agent_resources: &str,
    role_per_framework: bool,
) -> HierarchicalAllocator {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default());
    for i in 0..frameworks {
        let role = if role_per_framework {
            format!("role{i}")
        } else {
            "*".into()
        };
        let id = framework_id(i);
        a.add_framework(
            &id,
            &framework_info(&id, &[&role]),
            &BTreeMap::new(),
            true,
            &BTreeSet::new(),
        )
        .expect("fresh framework");
    }
    let total = Resources::parse(agent_resources, "*").expect("valid resources");
    for i in 0..agents {
        let id = agent_id(i);
        a.add_slave(
            &id,
            &slave_info(&id),
            AgentCapabilities::default(),
            None,
            &total,
            &BTreeMap::new(),
        )
        .expect("fresh agent");
    }
    a
}

/// Offers of a result as `(framework, agent, resources)`.
pub fn offers(r: &AllocationResult) -> Vec<(String, String, Resources)> {
    let mut out = Vec::new();
    for a in &r.offers {
        for agents in a.resources.values() {
            for (agent, res) in agents {
                out.push((a.framework_id.clone(), agent.clone(), res.clone()));
            }
        }
    }
    out
}

/// Declines every offer with a long filter (upstream `DeclineOffers`).
pub fn decline_all(
    a: &mut HierarchicalAllocator,
    offered: &[(String, String, Resources)],
    now: Duration,
) {
    let f = Filters {
        refuse_seconds: Some(i32::MAX as f64),
    };
    for (fw, agent, res) in offered {
        a.recover_resources(fw, agent, res, Some(&f), now)
            .expect("offered resources");
    }
}

/// Returns every offer without a filter.
pub fn recover_all(
    a: &mut HierarchicalAllocator,
    offered: &[(String, String, Resources)],
    now: Duration,
) {
    for (fw, agent, res) in offered {
        a.recover_resources(fw, agent, res, None, now)
            .expect("offered resources");
    }
}

/// Sets up upstream's `LargeAndSmallQuota`: `small` roles with a small
/// guarantee and `large` roles with a large one, one framework each, on
/// `small/5 + 5*large` agents of `cpus:2;mem:2048;disk:2048`.
pub fn large_and_small_quota(small: usize, large: usize) -> HierarchicalAllocator {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default());
    let agents = small / 5 + 5 * large;
    let total = Resources::parse("cpus:2;mem:2048;disk:2048", "*").expect("valid");
    for i in 0..agents {
        let id = agent_id(i);
        a.add_slave(
            &id,
            &slave_info(&id),
            AgentCapabilities::default(),
            None,
            &total,
            &BTreeMap::new(),
        )
        .expect("fresh agent");
    }
    for i in 0..(small + large) {
        let role = format!("quota-role-{i}");
        let guarantee = if i < small {
            "cpus:1;mem:1024;disk:1024"
        } else {
            "cpus:10;mem:10240;disk:10240"
        };
        a.update_quota(
            &role,
            Quota {
                guarantees: ResourceQuantities::parse(guarantee).expect("valid"),
                ..Default::default()
            },
        )
        .expect("valid quota");
        let id = framework_id(i);
        a.add_framework(
            &id,
            &framework_info(&id, &[&role]),
            &BTreeMap::new(),
            true,
            &BTreeSet::new(),
        )
        .expect("fresh framework");
    }
    a
}

/// `n` disjoint single ports spread over [31000-32000] (upstream's
/// `fragment(createRange(31000, 32000), n)` in the benchmarks).
pub fn fragmented_ports(n: usize) -> String {
    let step = 1000 / n.max(1);
    let ranges: Vec<String> = (0..n)
        .map(|i| {
            let p = 31000 + i * step;
            format!("{p}-{p}")
        })
        .collect();
    format!("ports:[{}]", ranges.join(","))
}

/// `resources` dynamically reserved for `role` by `principal1`, with
/// `labels` (upstream `createDynamicReservationInfo`).
pub fn dynamically_reserved(resources: &str, role: &str, labels: &[(&str, String)]) -> Resources {
    use mesos_proto::mesos::resource::{reservation_info::Type as ResType, ReservationInfo};
    use mesos_proto::mesos::{Label, Labels};
    let r = Resources::parse(resources, "*").expect("valid resources");
    r.push_reservation(&ReservationInfo {
        r#type: Some(ResType::Dynamic as i32),
        role: Some(role.into()),
        principal: Some("principal1".into()),
        labels: Some(Labels {
            labels: labels
                .iter()
                .map(|(k, v)| Label {
                    key: k.to_string(),
                    value: Some(v.clone()),
                })
                .collect(),
        }),
    })
}

/// `frameworks` frameworks in `role` and `agents` agents whose totals and
/// used resources (allocated to `role`, used by framework `i % frameworks`)
/// come from `agent(i)` (upstream `ExtremeSuppressOffers`, `ResourceLabels`).
pub fn cluster_with_used(
    agents: usize,
    frameworks: usize,
    role: &str,
    agent: impl Fn(usize) -> (Resources, Resources),
) -> HierarchicalAllocator {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default());
    for i in 0..frameworks {
        let id = framework_id(i);
        a.add_framework(
            &id,
            &framework_info(&id, &[role]),
            &BTreeMap::new(),
            true,
            &BTreeSet::new(),
        )
        .expect("fresh framework");
    }
    for i in 0..agents {
        let id = agent_id(i);
        let (total, mut used) = agent(i);
        used.allocate(role);
        let used = BTreeMap::from([(framework_id(i % frameworks.max(1)), used)]);
        a.add_slave(
            &id,
            &slave_info(&id),
            AgentCapabilities::default(),
            None,
            &total,
            &used,
        )
        .expect("fresh agent");
    }
    a
}
