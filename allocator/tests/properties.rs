//! Property tests: resource arithmetic laws, and allocator invariants over
//! random operation sequences (no resource offered twice or to two
//! frameworks at once, allocations within agent totals, quota limits hold at
//! every step).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mesos_allocator::hierarchical::*;
use mesos_allocator::resources::{ResourceLimits, ResourceQuantities, Resources};
use mesos_proto::mesos::framework_info::capability::Type as Cap;
use mesos_proto::mesos::framework_info::Capability;
use mesos_proto::mesos::{Filters, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo};
use proptest::prelude::*;

fn simple_resources() -> impl Strategy<Value = String> {
    (
        0u32..8000,
        0u32..5000,
        proptest::option::of((1000u64..1100, 0u64..50)),
        proptest::option::of("(r1|r2)"),
    )
        .prop_map(|(c, m, ports, role)| {
            let role = role.map(|r| format!("({r})")).unwrap_or_default();
            let mut s = format!("cpus{role}:{};mem:{}", c as f64 / 1000.0, m);
            if let Some((b, l)) = ports {
                s.push_str(&format!(";ports:[{}-{}]", b, b + l));
            }
            s
        })
}

proptest! {
    #[test]
    fn addition_then_subtraction_restores(a in simple_resources(), b in simple_resources()) {
        let a = Resources::parse(&a, "*").unwrap();
        let b = Resources::parse(&b, "*").unwrap();
        let sum = &a + &b;
        prop_assert!(sum.contains(&a));
        prop_assert!(sum.contains(&b));
        prop_assert!(a.contains(&(&sum - &b)));
        prop_assert_eq!(sum.scalars() - b.scalars(), a.scalars());
    }

    #[test]
    fn display_parses_back(a in simple_resources()) {
        let r = Resources::parse(&a, "*").unwrap();
        let unreserved = r.unreserved();
        let text = unreserved.to_string().replace(' ', "");
        if !unreserved.is_empty() {
            prop_assert_eq!(Resources::parse(&text, "*").unwrap(), unreserved);
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    AddSlave(u8),
    RemoveSlave(u8),
    AddFramework(u8, u8),
    RemoveFramework(u8),
    Allocate,
    Decline(u8, bool),
    Suppress(u8),
    Revive(u8),
    DeactivateSlave(u8),
    ActivateSlave(u8),
    Tick(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6).prop_map(Op::AddSlave),
        (0u8..6).prop_map(Op::RemoveSlave),
        (0u8..5, 0u8..4).prop_map(|(f, r)| Op::AddFramework(f, r)),
        (0u8..5).prop_map(Op::RemoveFramework),
        Just(Op::Allocate),
        Just(Op::Allocate),
        ((0u8..20), any::<bool>()).prop_map(|(i, f)| Op::Decline(i, f)),
        (0u8..5).prop_map(Op::Suppress),
        (0u8..5).prop_map(Op::Revive),
        (0u8..6).prop_map(Op::DeactivateSlave),
        (0u8..6).prop_map(Op::ActivateSlave),
        (1u8..10).prop_map(Op::Tick),
    ]
}

const ROLES: [&str; 4] = ["a", "a/b", "c", "limited"];

fn slave_total(i: u8) -> Resources {
    let s = match i % 3 {
        0 => "cpus:4;mem:1024;ports:[31000-31010]".to_string(),
        1 => "cpus(a):2;cpus:2;mem:512;disk:100".to_string(),
        _ => "cpus:0.5;mem:64;disks:{d1,d2}".to_string(),
    };
    Resources::parse(&s, "*").unwrap()
}

struct Model {
    a: HierarchicalAllocator,
    now: Duration,
    /// Outstanding offers: (framework, agent, resources).
    offers: Vec<(String, String, Resources)>,
    limit: ResourceLimits,
    deactivated: BTreeSet<String>,
}

impl Model {
    fn check(&self) -> Result<(), TestCaseError> {
        // Allocations never exceed agent totals; since every framework's
        // allocation is summed, a resource given to two frameworks (or twice)
        // would make the sum exceed the total.
        let mut per_agent: BTreeMap<String, Resources> = BTreeMap::new();
        for (fw, agent, r) in &self.offers {
            let _ = fw;
            *per_agent.entry(agent.clone()).or_default() += r.unallocated();
        }
        for (agent, sum) in &per_agent {
            if let Some((total, allocated, _)) = self.a.slave_resources(agent) {
                prop_assert!(
                    total.contains(sum),
                    "agent {agent}: {total} does not contain offers {sum}"
                );
                prop_assert!(
                    allocated.unallocated() == *sum,
                    "agent {agent}: allocated {allocated} != offers {sum}"
                );
            }
        }
        // Quota limits hold at every step.
        let consumed = self.a.quota_consumed("limited");
        prop_assert!(
            self.limit.contains(&consumed),
            "limit {} exceeded: {}",
            self.limit,
            consumed
        );
        Ok(())
    }
}

fn fw_info(id: &str, role: &str) -> FrameworkInfo {
    FrameworkInfo {
        user: "u".into(),
        name: id.into(),
        id: Some(FrameworkId { value: id.into() }),
        roles: vec![role.into()],
        capabilities: vec![Capability {
            r#type: Some(Cap::MultiRole as i32),
        }],
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn allocator_invariants(ops in proptest::collection::vec(op(), 1..60), seed in any::<u64>(), drf in any::<bool>()) {
        let kind = if drf { mesos_allocator::SorterKind::Drf } else { mesos_allocator::SorterKind::Random };
        let options = AllocatorOptions { seed, role_sorter: kind, framework_sorter: kind, ..Default::default() };
        let limit = ResourceLimits::from_pairs([("cpus", 1.5), ("mem", 600.0)]);
        let mut m = Model { a: HierarchicalAllocator::new(options), now: Duration::from_secs(1), offers: Vec::new(), limit: limit.clone(), deactivated: BTreeSet::new() };
        m.a.update_quota("limited", Quota { guarantees: ResourceQuantities::parse("cpus:1").unwrap(), limits: limit }).unwrap();
        let mut fw_roles: BTreeMap<String, String> = BTreeMap::new();
        for op in ops {
            match op {
                Op::AddSlave(i) => {
                    let id = format!("s{i}");
                    let info = SlaveInfo { hostname: id.clone(), id: Some(SlaveId { value: id.clone() }), ..Default::default() };
                    let _ = m.a.add_slave(&id, &info, AgentCapabilities::default(), None, &slave_total(i), &BTreeMap::new());
                }
                Op::RemoveSlave(i) => {
                    let id = format!("s{i}");
                    if m.a.remove_slave(&id).is_ok() {
                        m.deactivated.remove(&id);
                        // The master then recovers what was offered there.
                        let (gone, keep): (Vec<_>, Vec<_>) = m.offers.drain(..).partition(|o| o.1 == id);
                        m.offers = keep;
                        for (fw, agent, r) in gone {
                            m.a.recover_resources(&fw, &agent, &r, None, m.now).unwrap();
                        }
                    }
                }
                Op::AddFramework(f, r) => {
                    let id = format!("f{f}");
                    let role = ROLES[r as usize];
                    if m.a.add_framework(&id, &fw_info(&id, role), &BTreeMap::new(), true, &BTreeSet::new()).is_ok() {
                        fw_roles.insert(id, role.to_string());
                    }
                }
                Op::RemoveFramework(f) => {
                    let id = format!("f{f}");
                    if fw_roles.remove(&id).is_some() {
                        let (gone, keep): (Vec<_>, Vec<_>) = m.offers.drain(..).partition(|o| o.0 == id);
                        m.offers = keep;
                        for (fw, agent, r) in gone {
                            m.a.recover_resources(&fw, &agent, &r, None, m.now).unwrap();
                        }
                        m.a.remove_framework(&id).unwrap();
                    }
                }
                Op::Allocate => {
                    let result = m.a.allocate_pending(m.now);
                    for a in result.offers {
                        for (_role, agents) in a.resources {
                            for (agent, r) in agents {
                                prop_assert!(!m.deactivated.contains(&agent), "offer from deactivated agent {agent}");
                                m.offers.push((a.framework_id.clone(), agent, r));
                            }
                        }
                    }
                }
                Op::Decline(i, filter) => {
                    if !m.offers.is_empty() {
                        let (fw, agent, r) = m.offers.remove(i as usize % m.offers.len());
                        let f = Filters { refuse_seconds: Some(3.0) };
                        m.a.recover_resources(&fw, &agent, &r, filter.then_some(&f), m.now).unwrap();
                    }
                }
                Op::Suppress(f) => { let _ = m.a.suppress_offers(&format!("f{f}"), &BTreeSet::new()); }
                Op::Revive(f) => { let _ = m.a.revive_offers(&format!("f{f}"), &BTreeSet::new()); }
                Op::DeactivateSlave(i) => {
                    if m.a.deactivate_slave(&format!("s{i}")).is_ok() {
                        m.deactivated.insert(format!("s{i}"));
                    }
                }
                Op::ActivateSlave(i) => {
                    if m.a.activate_slave(&format!("s{i}")).is_ok() {
                        m.deactivated.remove(&format!("s{i}"));
                    }
                }
                Op::Tick(n) => {
                    m.now += Duration::from_secs(n as u64);
                    let result = m.a.allocate(m.now);
                    for a in result.offers {
                        for (_role, agents) in a.resources {
                            for (agent, r) in agents {
                                prop_assert!(!m.deactivated.contains(&agent), "offer from deactivated agent {agent}");
                                m.offers.push((a.framework_id.clone(), agent, r));
                            }
                        }
                    }
                }
            }
            m.check()?;
        }
    }
}

fn ranges_strategy() -> impl Strategy<Value = Vec<(u64, u64)>> {
    proptest::collection::vec((0u64..64, 0u64..8), 0..6)
        .prop_map(|v| v.into_iter().map(|(b, l)| (b, b + l)).collect())
}

fn to_set(v: &[(u64, u64)]) -> BTreeSet<u64> {
    v.iter().flat_map(|&(b, e)| b..=e).collect()
}

fn ports(v: &[(u64, u64)]) -> Resources {
    // Through the text form, which also coalesces overlapping input.
    if v.is_empty() {
        return Resources::new();
    }
    let parts: Vec<String> = v.iter().map(|(b, e)| format!("{b}-{e}")).collect();
    Resources::parse(&format!("ports:[{}]", parts.join(",")), "*").unwrap()
}

fn port_set(r: &Resources) -> BTreeSet<u64> {
    r.ports()
        .map(|x| x.range.iter().flat_map(|r| r.begin..=r.end).collect())
        .unwrap_or_default()
}

proptest! {
    #[test]
    fn ranges_match_a_set_model(a in ranges_strategy(), b in ranges_strategy()) {
        let (ra, rb) = (ports(&a), ports(&b));
        let (sa, sb) = (to_set(&a), to_set(&b));
        prop_assert_eq!(port_set(&(&ra + &rb)), sa.union(&sb).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(port_set(&(&ra - &rb)), sa.difference(&sb).copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(ra.contains(&rb), sb.is_subset(&sa));
        // Stored ranges are coalesced: sorted, disjoint, not adjacent.
        if let Some(x) = (&ra + &rb).ports() {
            for w in x.range.windows(2) {
                prop_assert!(w[0].end + 1 < w[1].begin);
            }
        }
    }

    #[test]
    fn scalar_sums_are_exact_in_thousandths(xs in proptest::collection::vec(0u32..100_000, 1..20)) {
        let mut sum = Resources::new();
        for x in &xs {
            sum += Resources::parse(&format!("cpus:{}", *x as f64 / 1000.0), "*").unwrap();
        }
        let total: u64 = xs.iter().map(|x| *x as u64).sum();
        if total == 0 {
            prop_assert!(sum.is_empty());
        } else {
            // Upstream (src/common/values.cpp convertToFloating) turns the
            // fixed-point sum back as quotient + remainder/1000, which is not
            // always the nearest double to total/1000 (3389 -> 3.3890000000000002).
            let expected = (total / 1000) as f64 + (total % 1000) as f64 / 1000.0;
            prop_assert_eq!(sum.cpus(), Some(expected));
        }
    }
}

#[derive(Clone, Debug)]
enum SOp {
    Add(u8),
    Remove(u8),
    Activate(u8),
    Deactivate(u8),
    Alloc(u8, u16, u16),
    Unalloc(u8, u16, u16),
    Weight(u8, u8),
    Total(u16, u16),
}

fn sop() -> impl Strategy<Value = SOp> {
    prop_oneof![
        (0u8..8).prop_map(SOp::Add),
        (0u8..8).prop_map(SOp::Remove),
        (0u8..8).prop_map(SOp::Activate),
        (0u8..8).prop_map(SOp::Deactivate),
        (0u8..8, 0u16..50, 0u16..50).prop_map(|(c, a, b)| SOp::Alloc(c, a, b)),
        (0u8..8, 0u16..50, 0u16..50).prop_map(|(c, a, b)| SOp::Unalloc(c, a, b)),
        (0u8..8, 1u8..5).prop_map(|(c, w)| SOp::Weight(c, w)),
        (1u16..500, 1u16..500).prop_map(|(a, b)| SOp::Total(a, b)),
    ]
}

#[derive(Clone, Default)]
struct ModelClient {
    cpus: f64,
    mem: f64,
    count: u64,
    active: bool,
}

proptest! {
    /// The DRF sorter against a naive model (flat clients): sort by weighted
    /// dominant share, then allocation count, then name.
    #[test]
    fn drf_sorter_matches_naive_model(ops in proptest::collection::vec(sop(), 1..80)) {
        use mesos_allocator::sorter::{Sorter, SorterKind};
        let mut s = Sorter::new(SorterKind::Drf, 0);
        let mut model: BTreeMap<String, ModelClient> = BTreeMap::new();
        let mut weights: BTreeMap<String, f64> = BTreeMap::new();
        let (mut tc, mut tm) = (1000.0f64, 1000.0f64);
        s.add_total(&ResourceQuantities::from_pairs([("cpus", tc), ("mem", tm)]));
        for op in ops {
            match op {
                SOp::Add(c) => {
                    let n = format!("c{c}");
                    s.add(&n); // adding a known client is a no-op
                    model.entry(n).or_default();
                }
                SOp::Remove(c) => { let n = format!("c{c}"); s.remove(&n); model.remove(&n); }
                SOp::Activate(c) => { let n = format!("c{c}"); s.activate(&n); if let Some(m) = model.get_mut(&n) { m.active = true; } }
                SOp::Deactivate(c) => { let n = format!("c{c}"); s.deactivate(&n); if let Some(m) = model.get_mut(&n) { m.active = false; } }
                SOp::Alloc(c, a, b) => {
                    let n = format!("c{c}");
                    if let Some(m) = model.get_mut(&n) {
                        s.allocated(&n, &ResourceQuantities::from_pairs([("cpus", a as f64), ("mem", b as f64)]));
                        m.cpus += a as f64; m.mem += b as f64; m.count += 1;
                    }
                }
                SOp::Unalloc(c, a, b) => {
                    let n = format!("c{c}");
                    if let Some(m) = model.get_mut(&n) {
                        let (a, b) = ((a as f64).min(m.cpus), (b as f64).min(m.mem));
                        s.unallocated(&n, &ResourceQuantities::from_pairs([("cpus", a), ("mem", b)]));
                        m.cpus -= a; m.mem -= b;
                    }
                }
                SOp::Weight(c, w) => { let n = format!("c{c}"); s.update_weight(&n, w as f64); weights.insert(n, w as f64); }
                SOp::Total(a, b) => {
                    s.remove_total(&ResourceQuantities::from_pairs([("cpus", tc), ("mem", tm)]));
                    tc = a as f64; tm = b as f64;
                    s.add_total(&ResourceQuantities::from_pairs([("cpus", tc), ("mem", tm)]));
                }
            }
            let mut expected: Vec<(f64, u64, String)> = model
                .iter()
                .filter(|(_, m)| m.active)
                .map(|(n, m)| {
                    let share = (m.cpus / tc).max(m.mem / tm) / weights.get(n).copied().unwrap_or(1.0);
                    (share, m.count, n.clone())
                })
                .collect();
            expected.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let expected: Vec<String> = expected.into_iter().map(|e| e.2).collect();
            prop_assert_eq!(s.sort(), expected);
        }
    }
}
