//! Table tests mirroring upstream `HierarchicalAllocatorTest`
//! (`src/tests/hierarchical_allocator_tests.cpp`), named in snake_case.
//! Where upstream advances a paused clock and awaits the offer callback, we
//! pass `now` and read the cycle's result.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mesos_allocator::hierarchical::*;
use mesos_allocator::resources::{
    ResourceConversion, ResourceLimits, ResourceQuantities, Resources,
};
use mesos_proto::mesos::domain_info::fault_domain::{RegionInfo, ZoneInfo};
use mesos_proto::mesos::domain_info::FaultDomain;
use mesos_proto::mesos::framework_info::capability::Type as Cap;
use mesos_proto::mesos::framework_info::Capability;
use mesos_proto::mesos::resource::reservation_info::Type as RType;
use mesos_proto::mesos::resource::{ReservationInfo, RevocableInfo};
use mesos_proto::mesos::{
    DomainInfo, Filters, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo, TimeInfo, Unavailability,
    WeightInfo,
};

fn res(s: &str) -> Resources {
    Resources::parse(s, "*").unwrap()
}

fn slave_info(id: &str) -> SlaveInfo {
    SlaveInfo {
        hostname: format!("host-{id}"),
        id: Some(SlaveId { value: id.into() }),
        ..Default::default()
    }
}

fn fw_info(id: &str, roles: &[&str], caps: &[Cap]) -> FrameworkInfo {
    let mut all = vec![Cap::MultiRole];
    all.extend_from_slice(caps);
    FrameworkInfo {
        user: "user".into(),
        name: id.into(),
        id: Some(FrameworkId { value: id.into() }),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: all
            .into_iter()
            .map(|t| Capability {
                r#type: Some(t as i32),
            })
            .collect(),
        ..Default::default()
    }
}

struct T {
    a: HierarchicalAllocator,
    now: Duration,
}

impl T {
    fn new() -> Self {
        Self::with(AllocatorOptions::default())
    }

    fn with(options: AllocatorOptions) -> Self {
        T {
            a: HierarchicalAllocator::new(options),
            now: Duration::from_secs(1000),
        }
    }

    fn slave(&mut self, id: &str, r: &str) {
        self.a
            .add_slave(
                id,
                &slave_info(id),
                AgentCapabilities::default(),
                None,
                &res(r),
                &BTreeMap::new(),
            )
            .unwrap();
    }

    fn framework(&mut self, id: &str, roles: &[&str]) {
        self.a
            .add_framework(
                id,
                &fw_info(id, roles, &[]),
                &BTreeMap::new(),
                true,
                &BTreeSet::new(),
            )
            .unwrap();
    }

    /// An event-driven cycle.
    fn events(&mut self) -> AllocationResult {
        self.a.allocate_pending(self.now)
    }

    /// Advances the clock by one allocation interval and runs the periodic cycle.
    fn tick(&mut self) -> AllocationResult {
        self.now += Duration::from_secs(1);
        self.a.allocate(self.now)
    }
}

/// The offers as `(framework, role, agent, resources)` tuples.
fn flat(r: &AllocationResult) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for a in &r.offers {
        for (role, agents) in &a.resources {
            for (agent, rs) in agents {
                out.push((
                    a.framework_id.clone(),
                    role.clone(),
                    agent.clone(),
                    rs.unallocated().to_string(),
                ));
            }
        }
    }
    out
}

fn one(fw: &str, role: &str, agent: &str, r: &str) -> Vec<(String, String, String, String)> {
    vec![(fw.into(), role.into(), agent.into(), res(r).to_string())]
}

fn offered(r: &AllocationResult, fw: &str, role: &str, agent: &str) -> Resources {
    r.offers
        .iter()
        .find(|a| a.framework_id == fw)
        .and_then(|a| a.resources.get(role))
        .and_then(|m| m.get(agent))
        .cloned()
        .unwrap_or_default()
}

fn refuse(secs: f64) -> Filters {
    Filters {
        refuse_seconds: Some(secs),
    }
}

#[test]
fn unreserved_drf() {
    let mut t = T::new();
    t.slave("s1", "cpus:2;mem:1024;disk:0");
    t.framework("f1", &["role1"]);
    assert_eq!(
        flat(&t.events()),
        one("f1", "role1", "s1", "cpus:2;mem:1024")
    );

    t.framework("f2", &["role2"]);
    t.slave("s2", "cpus:1;mem:512;disk:0");
    assert_eq!(
        flat(&t.events()),
        one("f2", "role2", "s2", "cpus:1;mem:512")
    );

    t.slave("s3", "cpus:3;mem:2048;disk:0");
    assert_eq!(
        flat(&t.events()),
        one("f2", "role2", "s3", "cpus:3;mem:2048")
    );

    t.framework("f3", &["role1"]);
    t.slave("s4", "cpus:4;mem:4096;disk:0");
    assert_eq!(
        flat(&t.events()),
        one("f3", "role1", "s4", "cpus:4;mem:4096")
    );

    t.framework("f4", &["role1"]);
    t.slave("s5", "cpus:1;mem:512;disk:0");
    assert_eq!(
        flat(&t.events()),
        one("f2", "role2", "s5", "cpus:1;mem:512")
    );
}

#[test]
fn reserved_drf() {
    let mut t = T::new();
    t.slave("s1", "cpus:1;mem:512;disk:0");
    t.framework("f1", &["role1"]);
    assert_eq!(
        flat(&t.events()),
        one("f1", "role1", "s1", "cpus:1;mem:512")
    );
    t.framework("f2", &["role2"]);
    // Reserved to role1: only role1 can have it even though role2 is poorer.
    t.a.add_slave(
        "s2",
        &slave_info("s2"),
        AgentCapabilities::default(),
        None,
        &Resources::parse("cpus(role1):2;mem(role1):1024", "*").unwrap(),
        &BTreeMap::new(),
    )
    .unwrap();
    let r = t.events();
    assert_eq!(flat(&r).len(), 1);
    assert_eq!(r.offers[0].framework_id, "f1");
}

#[test]
fn coarse_grained() {
    let mut t = T::new();
    t.slave("s1", "cpus:2;mem:1024");
    t.slave("s2", "cpus:2;mem:1024");
    t.events();
    t.framework("f1", &["role1"]);
    t.framework("f2", &["role2"]);
    let r = t.events();
    // Each framework gets one whole agent.
    let f = flat(&r);
    assert_eq!(f.len(), 2);
    assert_ne!(f[0].2, f[1].2);
    assert_ne!(f[0].0, f[1].0);
    assert!(f.iter().all(|x| x.3 == res("cpus:2;mem:1024").to_string()));
}

#[test]
fn offer_filter() {
    let mut t = T::new();
    t.slave("s1", "cpus:1;mem:512");
    t.framework("f1", &["role1"]);
    let r = t.events();
    let o = offered(&r, "f1", "role1", "s1");
    assert!(!o.is_empty());
    t.a.recover_resources("f1", "s1", &o, Some(&refuse(10.0)), t.now)
        .unwrap();
    // Filtered for 10s worth of ticks.
    for _ in 0..9 {
        assert!(t.tick().offers.is_empty());
    }
    assert_eq!(flat(&t.tick()), one("f1", "role1", "s1", "cpus:1;mem:512"));
    assert_eq!(t.a.offer_filter_count(), 0);
}

#[test]
fn small_offer_filter_timeout() {
    // A filter shorter than the allocation interval still lasts one interval.
    let mut t = T::with(AllocatorOptions {
        allocation_interval: Duration::from_secs(3),
        ..Default::default()
    });
    t.slave("s1", "cpus:1;mem:512");
    t.framework("f1", &["role1"]);
    let o = offered(&t.events(), "f1", "role1", "s1");
    t.a.recover_resources("f1", "s1", &o, Some(&refuse(0.1)), t.now)
        .unwrap();
    assert!(t
        .a
        .allocate(t.now + Duration::from_secs(2))
        .offers
        .is_empty());
    assert!(!t
        .a
        .allocate(t.now + Duration::from_secs(3))
        .offers
        .is_empty());
}

#[test]
fn filter_superset_only() {
    // A refusal filters only offers it contains: more resources break through.
    let mut t = T::new();
    t.slave("s1", "cpus:2;mem:1024");
    t.framework("f1", &["role1"]);
    let o = offered(&t.events(), "f1", "role1", "s1");
    let half = res("cpus:1;mem:512").allocated_to("role1");
    t.a.recover_resources("f1", "s1", &half, Some(&refuse(100.0)), t.now)
        .unwrap();
    assert!(t.tick().offers.is_empty());
    let rest = &o - &half;
    t.a.recover_resources("f1", "s1", &rest, None, t.now)
        .unwrap();
    assert_eq!(flat(&t.tick()), one("f1", "role1", "s1", "cpus:2;mem:1024"));
}

#[test]
fn recover_resources() {
    let mut t = T::new();
    t.slave("s1", "cpus:1;mem:512");
    t.framework("f1", &["role1"]);
    let o = offered(&t.events(), "f1", "role1", "s1");
    assert!(t.tick().offers.is_empty());
    t.a.recover_resources("f1", "s1", &o, None, t.now).unwrap();
    assert_eq!(flat(&t.tick()), one("f1", "role1", "s1", "cpus:1;mem:512"));
    // Recovering what is not allocated is an error, not a panic.
    let bogus = res("cpus:100").allocated_to("role1");
    assert!(t
        .a
        .recover_resources("f1", "s1", &bogus, None, t.now)
        .is_err());
    assert!(t
        .a
        .recover_resources("f1", "s1", &res("cpus:1"), None, t.now)
        .is_err());
}

#[test]
fn allocatable() {
    let mut t = T::with(AllocatorOptions {
        min_allocatable_resources: parse_min_allocatable_resources("cpus:1;mem:100|disk:500")
            .unwrap(),
        ..Default::default()
    });
    t.framework("f1", &["role1"]);
    t.slave("small", "cpus:0.5;mem:200");
    assert!(t.events().offers.is_empty());
    t.slave("cpumem", "cpus:1;mem:100");
    assert_eq!(
        flat(&t.events()),
        one("f1", "role1", "cpumem", "cpus:1;mem:100")
    );
    t.slave("disk", "cpus:0.1;disk:500");
    assert_eq!(
        flat(&t.events()),
        one("f1", "role1", "disk", "cpus:0.1;disk:500")
    );
}

#[test]
fn framework_min_allocatable() {
    use mesos_proto::mesos::offer_filters::{MinAllocatableResources, ResourceQuantities as PQ};
    use mesos_proto::mesos::value::Scalar;
    let mut t = T::new();
    let mut info = fw_info("f1", &["role1"], &[]);
    let mut q = BTreeMap::new();
    q.insert("cpus".to_string(), Scalar { value: 2.0 });
    info.offer_filters.insert(
        "role1".into(),
        mesos_proto::mesos::OfferFilters {
            min_allocatable_resources: Some(MinAllocatableResources {
                quantities: vec![PQ { quantities: q }],
            }),
        },
    );
    t.a.add_framework("f1", &info, &BTreeMap::new(), true, &BTreeSet::new())
        .unwrap();
    t.slave("s1", "cpus:1;mem:1024");
    assert!(t.events().offers.is_empty());
    t.slave("s2", "cpus:2;mem:1024");
    assert_eq!(
        flat(&t.events()),
        one("f1", "role1", "s2", "cpus:2;mem:1024")
    );
}

#[test]
fn update_allocation() {
    let mut t = T::new();
    t.slave("s1", "cpus:100;mem:100;disk:100");
    t.framework("f1", &["role1"]);
    let o = offered(&t.events(), "f1", "role1", "s1");
    // RESERVE all cpus to role1 for this offer.
    let consumed = res("cpus:100").allocated_to("role1");
    let converted = consumed.push_reservation(&ReservationInfo {
        r#type: Some(RType::Dynamic as i32),
        role: Some("role1".into()),
        principal: Some("p".into()),
        labels: None,
    });
    t.a.update_allocation(
        "f1",
        "s1",
        &o,
        &[ResourceConversion::new(consumed, converted.clone())],
    )
    .unwrap();
    let (total, allocated, _) = t.a.slave_resources("s1").unwrap();
    assert_eq!(total.reserved(Some("role1")).cpus(), Some(100.0));
    assert!(allocated.contains(&converted));
    // The reservation counts against nothing else, and the framework can give it back.
    let updated = &(&o - &res("cpus:100").allocated_to("role1")) + &converted;
    t.a.recover_resources("f1", "s1", &updated, None, t.now)
        .unwrap();
    let r = t.tick();
    assert_eq!(
        offered(&r, "f1", "role1", "s1")
            .reserved(Some("role1"))
            .cpus(),
        Some(100.0)
    );
}

#[test]
fn update_slave_total_resources() {
    let mut t = T::new();
    t.slave("s1", "cpus:100;mem:100");
    t.framework("f1", &["role1"]);
    t.events();
    t.a.update_slave(
        "s1",
        &slave_info("s1"),
        Some(&res("cpus:200;mem:100")),
        None,
    )
    .unwrap();
    assert_eq!(flat(&t.events()), one("f1", "role1", "s1", "cpus:100"));
}

#[test]
fn oversubscribed_not_allocated() {
    let mut t = T::new();
    let mut rev = Resources::scalar("cpus", 10.0);
    rev.revocable = Some(RevocableInfo {});
    let total = &res("cpus:1;mem:64") + &Resources::from(rev);
    t.a.add_slave(
        "s1",
        &slave_info("s1"),
        AgentCapabilities::default(),
        None,
        &total,
        &BTreeMap::new(),
    )
    .unwrap();
    t.framework("f1", &["role1"]);
    // No REVOCABLE_RESOURCES capability: only the regular resources.
    let r = t.events();
    assert_eq!(flat(&r), one("f1", "role1", "s1", "cpus:1;mem:64"));
    t.a.add_framework(
        "f2",
        &fw_info("f2", &["role2"], &[Cap::RevocableResources]),
        &BTreeMap::new(),
        true,
        &BTreeSet::new(),
    )
    .unwrap();
    let r = t.events();
    assert_eq!(
        offered(&r, "f2", "role2", "s1").revocable().cpus(),
        Some(10.0)
    );
}

#[test]
fn whitelist() {
    let mut t = T::new();
    t.slave("s1", "cpus:1;mem:64");
    t.framework("f1", &["role1"]);
    t.a.update_whitelist(Some(["nope".to_string()].into_iter().collect()));
    assert!(t.events().offers.is_empty());
    t.a.update_whitelist(Some(["host-s1".to_string()].into_iter().collect()));
    assert_eq!(flat(&t.tick()).len(), 1);
}

#[test]
fn quota_provides_guarantee() {
    let mut t = T::new();
    t.framework("f1", &["quota-role"]);
    t.a.update_quota(
        "quota-role",
        Quota {
            guarantees: ResourceQuantities::parse("cpus:2;mem:1024").unwrap(),
            limits: ResourceLimits::new(),
        },
    )
    .unwrap();
    t.framework("f2", &["no-quota-role"]);
    t.events();
    t.slave("a1", "cpus:1;mem:512;disk:0");
    assert_eq!(
        flat(&t.events()),
        one("f1", "quota-role", "a1", "cpus:1;mem:512")
    );
    t.slave("a2", "cpus:1;mem:512;disk:0");
    let r = t.events();
    assert_eq!(flat(&r), one("f1", "quota-role", "a2", "cpus:1;mem:512"));
    // Declined for two intervals: the guarantee keeps it away from the other role.
    let o = offered(&r, "f1", "quota-role", "a2");
    t.a.recover_resources("f1", "a2", &o, Some(&refuse(2.0)), t.now)
        .unwrap();
    assert!(t.tick().offers.is_empty());
    assert_eq!(
        flat(&t.tick()),
        one("f1", "quota-role", "a2", "cpus:1;mem:512")
    );
}

#[test]
fn quota_provides_limit() {
    let mut t = T::new();
    t.framework("f1", &["quota-limits-role"]);
    let limit0 = Quota {
        guarantees: ResourceQuantities::new(),
        limits: ResourceLimits::from_pairs([("cpus", 0.0), ("mem", 0.0), ("disk", 0.0)]),
    };
    t.a.update_quota("quota-limits-role", limit0).unwrap();
    t.slave("a1", "cpus:2;mem:1024;disk:1024");
    assert!(t.events().offers.is_empty());
    t.framework("f2", &["no-quota-role"]);
    assert_eq!(
        flat(&t.events()),
        one("f2", "no-quota-role", "a1", "cpus:2;mem:1024;disk:1024")
    );
    let limit1 = Quota {
        guarantees: ResourceQuantities::new(),
        limits: ResourceLimits::from_pairs([("cpus", 1.0), ("mem", 512.0), ("disk", 512.0)]),
    };
    t.a.update_quota("quota-limits-role", limit1).unwrap();
    t.slave("a2", "cpus:2;mem:1024;disk:1024");
    let r = t.events();
    let mut f = flat(&r);
    f.sort();
    let want = res("cpus:1;mem:512;disk:512").to_string();
    assert_eq!(f.len(), 2);
    assert_eq!((f[0].0.as_str(), f[0].3.as_str()), ("f1", want.as_str()));
    assert_eq!((f[1].0.as_str(), f[1].3.as_str()), ("f2", want.as_str()));
}

#[test]
fn remove_quota() {
    let mut t = T::new();
    t.framework("f1", &["q"]);
    t.a.update_quota(
        "q",
        Quota {
            guarantees: ResourceQuantities::new(),
            limits: ResourceLimits::from_pairs([("cpus", 0.0)]),
        },
    )
    .unwrap();
    t.slave("a1", "cpus:2;mem:1024");
    // Only the limited resource is withheld.
    assert_eq!(flat(&t.events()), one("f1", "q", "a1", "mem:1024"));
    t.a.update_quota("q", Quota::default()).unwrap();
    // The memory is still out in the first offer; the cpus follow now.
    assert_eq!(flat(&t.tick()), one("f1", "q", "a1", "cpus:2"));
}

#[test]
fn quota_against_starvation() {
    // Headroom for an unsatisfied guarantee is held back from other roles.
    let mut t = T::new();
    t.framework("f1", &["other"]);
    t.a.update_quota(
        "q",
        Quota {
            guarantees: ResourceQuantities::parse("cpus:2").unwrap(),
            limits: ResourceLimits::new(),
        },
    )
    .unwrap();
    t.slave("a1", "cpus:3;mem:1024");
    // No framework in "q" yet; "other" may take only what exceeds the guarantee.
    let r = t.events();
    assert_eq!(offered(&r, "f1", "other", "a1").cpus(), Some(1.0));
    t.framework("f2", &["q"]);
    let r = t.tick();
    assert_eq!(offered(&r, "f2", "q", "a1").cpus(), Some(2.0));
}

#[test]
fn nested_role_respects_ancestor_limit() {
    // Deliberate deviation from 1.9 (see third_party_docs/allocator.md).
    let mut t = T::new();
    t.framework("f1", &["a/b"]);
    t.a.update_quota(
        "a",
        Quota {
            guarantees: ResourceQuantities::new(),
            limits: ResourceLimits::from_pairs([("cpus", 1.0)]),
        },
    )
    .unwrap();
    t.slave("s1", "cpus:4;mem:1024");
    let r = t.events();
    assert_eq!(offered(&r, "f1", "a/b", "s1").cpus(), Some(1.0));
    assert_eq!(t.a.quota_consumed("a").get("cpus"), 1.0);
}

#[test]
fn suppress_and_revive_offers() {
    let mut t = T::new();
    t.slave("s1", "cpus:1;mem:512");
    t.framework("f1", &["role1"]);
    let o = offered(&t.events(), "f1", "role1", "s1");
    t.a.recover_resources("f1", "s1", &o, Some(&refuse(1000.0)), t.now)
        .unwrap();
    t.a.suppress_offers("f1", &BTreeSet::new()).unwrap();
    assert!(t.tick().offers.is_empty());
    // Revive clears the filter too.
    t.a.revive_offers("f1", &BTreeSet::new()).unwrap();
    assert_eq!(
        flat(&t.events()),
        one("f1", "role1", "s1", "cpus:1;mem:512")
    );
}

#[test]
fn suppress_and_revive_offers_with_multi_role() {
    let mut t = T::new();
    t.framework("f1", &["r1", "r2"]);
    let r1: BTreeSet<String> = ["r1".to_string()].into_iter().collect();
    t.a.suppress_offers("f1", &r1).unwrap();
    t.slave("s1", "cpus:1;mem:512");
    let r = t.events();
    assert_eq!(flat(&r), one("f1", "r2", "s1", "cpus:1;mem:512"));
    t.a.suppress_offers("f1", &BTreeSet::new()).unwrap();
    t.slave("s2", "cpus:1;mem:512");
    assert!(t.events().offers.is_empty());
    t.a.revive_offers("f1", &r1).unwrap();
    assert_eq!(flat(&t.events()), one("f1", "r1", "s2", "cpus:1;mem:512"));
}

#[test]
fn deactivate_and_reactivate_framework() {
    let mut t = T::new();
    t.framework("f1", &["role1"]);
    t.slave("s1", "cpus:1;mem:512");
    let o = offered(&t.events(), "f1", "role1", "s1");
    t.a.recover_resources("f1", "s1", &o, None, t.now).unwrap();
    t.a.deactivate_framework("f1").unwrap();
    assert!(t.tick().offers.is_empty());
    t.a.activate_framework("f1").unwrap();
    assert_eq!(flat(&t.events()).len(), 1);
}

#[test]
fn update_weight() {
    let mut t = T::new();
    for i in 0..4 {
        t.slave(&format!("s{i}"), "cpus:1;mem:100");
    }
    t.events();
    t.a.update_weights(&[WeightInfo {
        weight: 3.0,
        role: Some("heavy".into()),
    }])
    .unwrap();
    t.framework("fh", &["heavy"]);
    t.framework("fl", &["light"]);
    let r = t.events();
    let count = |fw: &str| flat(&r).iter().filter(|x| x.0 == fw).count();
    assert_eq!(count("fh"), 3);
    assert_eq!(count("fl"), 1);
}

#[test]
fn dont_offer_old_agent_to_multi_role_framework() {
    let mut t = T::new();
    t.a.add_slave(
        "old",
        &slave_info("old"),
        AgentCapabilities::none(),
        None,
        &res("cpus:1;mem:64"),
        &BTreeMap::new(),
    )
    .unwrap();
    t.framework("f1", &["role1"]);
    assert!(t.events().offers.is_empty());
}

#[test]
fn offer_ancestor_reservations_to_descendant_child() {
    let mut t = T::new();
    t.a.add_slave(
        "s1",
        &slave_info("s1"),
        AgentCapabilities::default(),
        None,
        &Resources::parse("cpus(a):1;mem(a):64", "*").unwrap(),
        &BTreeMap::new(),
    )
    .unwrap();
    t.framework("f1", &["a/b"]);
    let r = t.events();
    assert_eq!(
        offered(&r, "f1", "a/b", "s1").reserved(Some("a")).cpus(),
        Some(1.0)
    );
}

#[test]
fn deactivated_agent_gets_no_offers() {
    let mut t = T::new();
    t.framework("f1", &["role1"]);
    t.slave("s1", "cpus:1;mem:64");
    t.a.deactivate_slave("s1").unwrap();
    assert!(t.events().offers.is_empty());
    t.a.activate_slave("s1").unwrap();
    assert_eq!(flat(&t.tick()).len(), 1);
}

#[test]
fn gpu_and_region_filtering() {
    let region = |name: &str| DomainInfo {
        fault_domain: Some(FaultDomain {
            region: RegionInfo { name: name.into() },
            zone: ZoneInfo { name: "z".into() },
        }),
    };
    let mut t = T::with(AllocatorOptions {
        domain: Some(region("here")),
        ..Default::default()
    });
    t.framework("plain", &["r"]);
    t.slave("gpu", "cpus:1;mem:64;gpus:1");
    let mut remote = slave_info("remote");
    remote.domain = Some(region("there"));
    t.a.add_slave(
        "remote",
        &remote,
        AgentCapabilities::default(),
        None,
        &res("cpus:1;mem:64"),
        &BTreeMap::new(),
    )
    .unwrap();
    assert!(t.events().offers.is_empty());
    t.a.add_framework(
        "capable",
        &fw_info("capable", &["r2"], &[Cap::GpuResources, Cap::RegionAware]),
        &BTreeMap::new(),
        true,
        &BTreeSet::new(),
    )
    .unwrap();
    let r = t.events();
    assert_eq!(flat(&r).len(), 2);
}

#[test]
fn maintenance_inverse_offers() {
    let mut t = T::new();
    t.framework("f1", &["role1"]);
    t.slave("s1", "cpus:1;mem:64");
    assert_eq!(flat(&t.events()).len(), 1);
    let u = Unavailability {
        start: TimeInfo {
            nanoseconds: 2_000_000_000,
        },
        duration: None,
    };
    t.a.update_unavailability("s1", Some(&u)).unwrap();
    let r = t.events();
    assert_eq!(r.inverse_offers.len(), 1);
    assert_eq!(r.inverse_offers[0].framework_id, "f1");
    assert_eq!(r.inverse_offers[0].agents["s1"].unavailability, u);
    // Outstanding: not sent again.
    assert!(t.tick().inverse_offers.is_empty());
    // Declined with a filter: not sent until it expires.
    t.a.update_inverse_offer("s1", "f1", None, Some(&refuse(3.0)), t.now)
        .unwrap();
    assert!(t.tick().inverse_offers.is_empty());
    t.tick();
    assert_eq!(t.tick().inverse_offers.len(), 1);
}

#[test]
fn remove_framework_and_agent() {
    let mut t = T::new();
    t.framework("f1", &["role1"]);
    t.slave("s1", "cpus:1;mem:64");
    let o = offered(&t.events(), "f1", "role1", "s1");
    t.a.recover_resources("f1", "s1", &o, None, t.now).unwrap();
    t.a.remove_framework("f1").unwrap();
    assert!(t.a.remove_framework("f1").is_err());
    t.framework("f2", &["role2"]);
    assert_eq!(flat(&t.events()), one("f2", "role2", "s1", "cpus:1;mem:64"));
    t.a.remove_slave("s1").unwrap();
    // The master recovers the offer after removing the agent: still accepted.
    let o = res("cpus:1;mem:64").allocated_to("role2");
    t.a.recover_resources("f2", "s1", &o, None, t.now).unwrap();
    assert!(t.tick().offers.is_empty());
    assert!(t.a.framework_allocation("f2").unwrap().is_empty());
}

#[test]
fn deterministic_given_same_inputs() {
    let run = || {
        let mut t = T::new();
        for i in 0..20 {
            t.slave(&format!("s{i:02}"), "cpus:4;mem:1024");
        }
        for i in 0..7 {
            t.framework(&format!("f{i}"), &[["r1", "r2", "r3/x"][i % 3]]);
        }
        flat(&t.events())
    };
    assert_eq!(run(), run());
}

#[test]
fn same_share_fairness() {
    let mut t = T::new();
    t.framework("f1", &["*"]);
    t.framework("f2", &["*"]);
    t.slave("s1", "cpus:2;mem:1024;disk:0");
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut r = t.events();
    for _ in 0..10 {
        let f = flat(&r);
        assert_eq!(f.len(), 1);
        *counts.entry(f[0].0.clone()).or_default() += 1;
        let o = offered(&r, &f[0].0, "*", "s1");
        t.a.recover_resources(&f[0].0, "s1", &o, None, t.now)
            .unwrap();
        r = t.tick();
    }
    assert_eq!(counts["f1"], 5);
    assert_eq!(counts["f2"], 5);
}

#[test]
fn reservation_within_quota() {
    let mut t = T::new();
    t.a.update_quota(
        "quota-role",
        Quota {
            guarantees: ResourceQuantities::parse("cpus:2;mem:256").unwrap(),
            limits: ResourceLimits::new(),
        },
    )
    .unwrap();
    t.framework("f1", &["quota-role"]);
    t.framework("f2", &["non-quota-role"]);
    t.events();
    let total = Resources::parse("cpus:8;mem(quota-role):256", "*").unwrap();
    let used: BTreeMap<String, Resources> = [(
        "f1".to_string(),
        Resources::parse("cpus:2;mem(quota-role):256", "*")
            .unwrap()
            .allocated_to("quota-role"),
    )]
    .into();
    t.a.add_slave(
        "a1",
        &slave_info("a1"),
        AgentCapabilities::default(),
        None,
        &total,
        &used,
    )
    .unwrap();
    // The guarantee is met by the reservation plus 2 allocated cpus: the rest goes to f2.
    assert_eq!(
        flat(&t.events()),
        one("f2", "non-quota-role", "a1", "cpus:6")
    );
    t.slave("a2", "cpus:4");
    assert_eq!(
        flat(&t.events()),
        one("f2", "non-quota-role", "a2", "cpus:4")
    );
}

#[test]
fn nested_role_drf() {
    // a/b and a/c share a's part; d competes with the whole subtree of a.
    let mut t = T::new();
    t.framework("fab", &["a/b"]);
    t.framework("fac", &["a/c"]);
    t.framework("fd", &["d"]);
    for i in 0..6 {
        t.slave(&format!("s{i}"), "cpus:1;mem:512");
    }
    let r = t.events();
    let count = |fw: &str| flat(&r).iter().filter(|x| x.0 == fw).count();
    assert_eq!(count("fd"), 3);
    assert_eq!(count("fab") + count("fac"), 3);
    assert!(count("fab") >= 1 && count("fac") >= 1);
}

#[test]
fn drf_with_fairness_exclusion() {
    // With gpus excluded, a framework holding the only GPU is not "rich".
    let mut t = T::with(AllocatorOptions {
        fairness_exclude_resource_names: ["gpus".to_string()].into_iter().collect(),
        ..Default::default()
    });
    t.a.add_framework(
        "f1",
        &fw_info("f1", &["r1"], &[Cap::GpuResources]),
        &BTreeMap::new(),
        true,
        &BTreeSet::new(),
    )
    .unwrap();
    t.slave("gpu", "cpus:1;mem:512;gpus:1");
    assert_eq!(flat(&t.events()).len(), 1);
    t.a.add_framework(
        "f2",
        &fw_info("f2", &["r2"], &[Cap::GpuResources]),
        &BTreeMap::new(),
        true,
        &BTreeSet::new(),
    )
    .unwrap();
    t.slave("s2", "cpus:1;mem:512");
    t.slave("s3", "cpus:1;mem:512");
    let r = t.events();
    // Equal cpu/mem shares after one agent each; the tie goes by allocation count.
    let f = flat(&r);
    assert_eq!(f.len(), 2);
    assert_eq!(f.iter().filter(|x| x.0 == "f2").count(), 1);
}

#[test]
fn shared_resources_capability() {
    use mesos_proto::mesos::resource::disk_info::Persistence;
    use mesos_proto::mesos::resource::{DiskInfo, SharedInfo};
    let mut t = T::new();
    let total = Resources::parse("cpus:100;mem:100;disk(role1):100", "*").unwrap();
    t.a.add_slave(
        "s1",
        &slave_info("s1"),
        AgentCapabilities::default(),
        None,
        &total,
        &BTreeMap::new(),
    )
    .unwrap();
    t.framework("f1", &["role1"]);
    let r = t.events();
    let o = offered(&r, "f1", "role1", "s1");
    assert_eq!(o.unallocated(), total);
    // CREATE a shared volume of 5 from the reserved disk.
    let consumed = Resources::parse("disk(role1):5", "*")
        .unwrap()
        .allocated_to("role1");
    let mut volume = consumed.iter().next().unwrap().clone();
    volume.disk = Some(Box::new(DiskInfo {
        persistence: Some(Persistence {
            id: "id1".into(),
            principal: None,
        }),
        ..Default::default()
    }));
    volume.shared = Some(SharedInfo {});
    let converted = Resources::from(volume);
    t.a.update_allocation(
        "f1",
        "s1",
        &o,
        &[ResourceConversion::new(consumed.clone(), converted.clone())],
    )
    .unwrap();
    let update = &(&o - &consumed) + &converted;
    t.a.recover_resources("f1", "s1", &update, None, t.now)
        .unwrap();
    // f1 lacks SHARED_RESOURCES: everything but the volume.
    let r = t.tick();
    let o1 = offered(&r, "f1", "role1", "s1");
    assert_eq!(o1, &update - &converted);
    t.a.recover_resources("f1", "s1", &o1, None, t.now).unwrap();
    t.a.add_framework(
        "f2",
        &fw_info("f2", &["role1"], &[Cap::SharedResources]),
        &BTreeMap::new(),
        true,
        &BTreeSet::new(),
    )
    .unwrap();
    let r = t.tick();
    assert_eq!(offered(&r, "f2", "role1", "s1"), update);
}

#[test]
fn update_slave_capabilities() {
    let mut t = T::new();
    t.a.add_slave(
        "a",
        &slave_info("a"),
        AgentCapabilities::none(),
        None,
        &res("cpus:1;mem:1;disk:1"),
        &BTreeMap::new(),
    )
    .unwrap();
    t.framework("f1", &["role1"]);
    assert!(t.events().offers.is_empty());
    t.a.update_slave(
        "a",
        &slave_info("a"),
        None,
        Some(AgentCapabilities::default()),
    )
    .unwrap();
    assert_eq!(
        flat(&t.events()),
        one("f1", "role1", "a", "cpus:1;mem:1;disk:1")
    );
}

#[test]
fn remove_filters() {
    // Changed agent attributes drop the agent's filters.
    use mesos_proto::mesos::value::Text;
    use mesos_proto::mesos::Attribute;
    let mut t = T::new();
    t.slave("s1", "cpus:1;mem:512");
    t.framework("f1", &["role1"]);
    let o = offered(&t.events(), "f1", "role1", "s1");
    t.a.recover_resources("f1", "s1", &o, Some(&refuse(1000.0)), t.now)
        .unwrap();
    assert!(t.tick().offers.is_empty());
    let mut info = slave_info("s1");
    info.attributes.push(Attribute {
        name: "rack".into(),
        r#type: 3,
        text: Some(Text { value: "r1".into() }),
        ..Default::default()
    });
    t.a.update_slave("s1", &info, None, None).unwrap();
    assert_eq!(flat(&t.events()).len(), 1);
}

#[test]
fn framework_empty_min_allocatable() {
    use mesos_proto::mesos::offer_filters::MinAllocatableResources;
    let mut t = T::new();
    let mut info = fw_info("f1", &["role1"], &[]);
    info.offer_filters.insert(
        "role1".into(),
        mesos_proto::mesos::OfferFilters {
            min_allocatable_resources: Some(MinAllocatableResources { quantities: vec![] }),
        },
    );
    t.a.add_framework("f1", &info, &BTreeMap::new(), true, &BTreeSet::new())
        .unwrap();
    // Below the global minimum, but the framework asked for no minimum.
    t.slave("tiny", "cpus:0.001");
    assert_eq!(flat(&t.events()), one("f1", "role1", "tiny", "cpus:0.001"));
}

#[test]
fn multi_quota_with_frameworks() {
    let mut t = T::new();
    let q = |g: &str| Quota {
        guarantees: ResourceQuantities::parse(g).unwrap(),
        limits: ResourceLimits::new(),
    };
    t.a.update_quota("q1", q("cpus:2;mem:2048")).unwrap();
    t.a.update_quota("q2", q("cpus:2;mem:2048")).unwrap();
    t.framework("f1", &["q1"]);
    t.framework("f2", &["q2"]);
    t.framework("f3", &["other"]);
    t.slave("a1", "cpus:2;mem:2048");
    t.slave("a2", "cpus:2;mem:2048");
    t.slave("a3", "cpus:2;mem:2048");
    let r = t.events();
    assert_eq!(
        offered(&r, "f1", "q1", "a1")
            .cpus()
            .or(offered(&r, "f1", "q1", "a2").cpus())
            .or(offered(&r, "f1", "q1", "a3").cpus()),
        Some(2.0)
    );
    let per_fw = |fw: &str| flat(&r).iter().filter(|x| x.0 == fw).count();
    assert_eq!((per_fw("f1"), per_fw("f2"), per_fw("f3")), (1, 1, 1));
}

#[test]
fn quota_with_ancestor_reservations() {
    // Reservations to a quota role count as consumed quota even when unallocated.
    let mut t = T::new();
    t.a.update_quota(
        "a",
        Quota {
            guarantees: ResourceQuantities::parse("cpus:1").unwrap(),
            limits: ResourceLimits::from_pairs([("cpus", 2.0)]),
        },
    )
    .unwrap();
    t.a.add_slave(
        "s1",
        &slave_info("s1"),
        AgentCapabilities::default(),
        None,
        &Resources::parse("cpus(a):2;mem:512", "*").unwrap(),
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!(t.a.quota_consumed("a").get("cpus"), 2.0);
    t.framework("f1", &["a"]);
    t.slave("s2", "cpus:4;mem:512");
    let r = t.events();
    // The reservation is offered; unreserved cpus would exceed the limit.
    assert_eq!(offered(&r, "f1", "a", "s1").cpus(), Some(2.0));
    assert_eq!(offered(&r, "f1", "a", "s2").cpus(), None);
}

#[test]
fn bad_input_is_rejected() {
    let mut t = T::new();
    t.framework("f1", &["role1"]);
    assert!(matches!(
        t.a.add_framework(
            "f1",
            &fw_info("f1", &["role1"], &[]),
            &BTreeMap::new(),
            true,
            &BTreeSet::new()
        ),
        Err(mesos_allocator::Error::FrameworkExists(_))
    ));
    assert!(t
        .a
        .add_framework(
            "bad",
            &fw_info("bad", &["a//b"], &[]),
            &BTreeMap::new(),
            true,
            &BTreeSet::new()
        )
        .is_err());
    assert!(t.a.activate_framework("nope").is_err());
    assert!(t.a.remove_slave("nope").is_err());
    assert!(t
        .a
        .update_quota(
            "*",
            Quota {
                guarantees: ResourceQuantities::parse("cpus:1").unwrap(),
                limits: ResourceLimits::new()
            }
        )
        .is_err());
    assert!(t
        .a
        .update_weights(&[WeightInfo {
            weight: -1.0,
            role: Some("r".into())
        }])
        .is_err());
    t.slave("s1", "cpus:1;mem:64");
    let two_roles = &res("cpus:1").allocated_to("a") + &res("mem:1").allocated_to("b");
    assert!(t
        .a
        .recover_resources("f1", "s1", &two_roles, None, t.now)
        .is_err());
}

#[test]
fn update_available_success() {
    use mesos_allocator::resources::conversions::from_operation;
    use mesos_proto::mesos::offer::operation::{Reserve, Type as OpType};
    use mesos_proto::mesos::offer::Operation;
    let mut t = T::new();
    t.slave("s1", "cpus:100;mem:100;disk:100");
    let reserved = res("cpus:50;mem:50").push_reservation(&ReservationInfo {
        r#type: Some(RType::Dynamic as i32),
        role: Some("role1".into()),
        principal: Some("ops".into()),
        labels: None,
    });
    let op = Operation {
        r#type: Some(OpType::Reserve as i32),
        reserve: Some(Reserve {
            resources: reserved.to_vec(),
        }),
        ..Default::default()
    };
    t.a.update_available("s1", &from_operation(&op).unwrap())
        .unwrap();
    t.framework("f1", &["role1"]);
    let r = t.events();
    let o = offered(&r, "f1", "role1", "s1");
    assert_eq!(o.reserved(Some("role1")).cpus(), Some(50.0));
    assert_eq!(o.unreserved().cpus(), Some(50.0));
}

#[test]
fn update_available_fail() {
    use mesos_allocator::resources::conversions::from_operation;
    use mesos_proto::mesos::offer::operation::{Reserve, Type as OpType};
    use mesos_proto::mesos::offer::Operation;
    let mut t = T::new();
    t.slave("s1", "cpus:100;mem:100;disk:100");
    t.framework("f1", &["role1"]);
    t.events(); // everything is offered now
    let reserved = res("cpus:50;mem:50").push_reservation(&ReservationInfo {
        r#type: Some(RType::Dynamic as i32),
        role: Some("role1".into()),
        principal: Some("ops".into()),
        labels: None,
    });
    let op = Operation {
        r#type: Some(OpType::Reserve as i32),
        reserve: Some(Reserve {
            resources: reserved.to_vec(),
        }),
        ..Default::default()
    };
    assert!(t
        .a
        .update_available("s1", &from_operation(&op).unwrap())
        .is_err());
    let (total, _, _) = t.a.slave_resources("s1").unwrap();
    assert_eq!(total, res("cpus:100;mem:100;disk:100"));
}

#[test]
fn event_driven_batching() {
    let mut t = T::new();
    t.framework("f1", &["r"]);
    assert!(t.events().offers.is_empty());
    assert!(!t.a.has_pending_allocation());
    // Three agent additions, one cycle covering all three.
    for i in 0..3 {
        t.slave(&format!("s{i}"), "cpus:1;mem:64");
    }
    assert!(t.a.has_pending_allocation());
    assert_eq!(flat(&t.events()).len(), 3);
    assert!(!t.a.has_pending_allocation());
    // Recovering resources triggers nothing until the periodic tick.
    let o = t.a.framework_allocation("f1").unwrap();
    for (agent, r) in &o {
        t.a.recover_resources("f1", agent, r, None, t.now).unwrap();
    }
    assert!(!t.a.has_pending_allocation());
    assert!(t.events().offers.is_empty());
    assert_eq!(flat(&t.tick()).len(), 3);
}

#[test]
fn pause_and_resume() {
    let mut t = T::new();
    t.a.pause();
    t.framework("f1", &["r"]);
    t.slave("s1", "cpus:1;mem:64");
    assert!(t.events().offers.is_empty());
    assert!(t.tick().offers.is_empty());
    t.a.resume();
    // Events during the pause were dropped (as upstream); the tick allocates.
    assert!(t.events().offers.is_empty());
    assert_eq!(flat(&t.tick()).len(), 1);
}

#[test]
fn shared_volume_is_charged_once_per_agent() {
    use mesos_proto::mesos::resource::disk_info::Persistence;
    use mesos_proto::mesos::resource::{DiskInfo, SharedInfo};
    let mut volume = Resources::parse("disk(role1):5", "*")
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .clone();
    volume.disk = Some(Box::new(DiskInfo {
        persistence: Some(Persistence {
            id: "v".into(),
            principal: None,
        }),
        ..Default::default()
    }));
    volume.shared = Some(SharedInfo {});
    let total = &res("cpus:1;mem:64") + &Resources::from(volume);
    // No minimum, so the volume alone is offerable.
    let mut t = T::with(AllocatorOptions {
        min_allocatable_resources: vec![],
        ..Default::default()
    });
    t.a.add_slave(
        "s1",
        &slave_info("s1"),
        AgentCapabilities::default(),
        None,
        &total,
        &BTreeMap::new(),
    )
    .unwrap();
    t.a.add_framework(
        "f1",
        &fw_info("f1", &["role1"], &[Cap::SharedResources]),
        &BTreeMap::new(),
        true,
        &BTreeSet::new(),
    )
    .unwrap();
    let r = t.events();
    assert_eq!(offered(&r, "f1", "role1", "s1").shared().len(), 1);
    // The shared volume stays offerable while in use: offered again.
    let r = t.tick();
    let again = offered(&r, "f1", "role1", "s1");
    assert_eq!(again.shared().len(), 1);
    // Two copies held, charged once.
    assert_eq!(t.a.role_sorter_allocation("role1").get("disk"), 5.0);
    t.a.recover_resources("f1", "s1", &again, None, t.now)
        .unwrap();
    assert_eq!(t.a.role_sorter_allocation("role1").get("disk"), 5.0);
    let (_, allocated, _) = t.a.slave_resources("s1").unwrap();
    t.a.recover_resources("f1", "s1", &allocated, None, t.now)
        .unwrap();
    assert_eq!(t.a.role_sorter_allocation("role1").get("disk"), 0.0);
}

#[test]
fn drf_balances_identical_frameworks() {
    // Frameworks of one role on identical agents end up within one agent of each other.
    for frameworks in 1..6 {
        for agents in [1usize, 5, 12, 31] {
            let mut t = T::new();
            for f in 0..frameworks {
                t.framework(&format!("f{f}"), &["r"]);
            }
            for a in 0..agents {
                t.slave(&format!("s{a:02}"), "cpus:2;mem:512");
            }
            let r = t.events();
            let mut counts = vec![0usize; frameworks];
            for (fw, _, _, _) in flat(&r) {
                counts[fw[1..].parse::<usize>().unwrap()] += 1;
            }
            assert_eq!(counts.iter().sum::<usize>(), agents);
            let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
            assert!(
                max - min <= 1,
                "{frameworks} frameworks, {agents} agents: {counts:?}"
            );
        }
    }
}

#[test]
fn allocator_is_send_and_sync() {
    // The master may move the allocator into an actor on a multi-threaded runtime.
    fn check<T: Send + Sync>() {}
    check::<HierarchicalAllocator>();
    check::<Resources>();
    check::<AllocationResult>();
}
