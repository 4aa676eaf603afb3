//! Offer constraints (beyond 1.9: upstream 1.11).
//!
//! `offer_constraints_filter_*` mirror upstream's `OfferConstraintsFilter.*`
//! (`src/tests/master/offer_constraints_filter_tests.cpp`), with constraints
//! written as the same Mesos JSON and agents built from the same
//! `--attributes` strings. `hierarchical_allocator_offer_constraints_*` check
//! the allocator applies the filter per framework and role (upstream's
//! `isAgentExcluded` calls in `HierarchicalAllocatorProcess::__allocate`);
//! a property test checks no framework is ever offered an excluded agent.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use mesos_allocator::hierarchical::*;
use mesos_allocator::offer_constraints::{OfferConstraintsFilter, OfferConstraintsOptions};
use mesos_allocator::{Error, Resources};
use mesos_proto::mesos::domain_info::fault_domain::{RegionInfo, ZoneInfo};
use mesos_proto::mesos::domain_info::FaultDomain;
use mesos_proto::mesos::framework_info::capability::Type as Cap;
use mesos_proto::mesos::framework_info::Capability;
use mesos_proto::mesos::scheduler::OfferConstraints;
use mesos_proto::mesos::{DomainInfo, FrameworkId, FrameworkInfo, SlaveId, SlaveInfo};
use proptest::prelude::*;

/// Upstream's `createFilter`: 4 KiB and 100 instructions.
fn create_filter(json: &str) -> Result<OfferConstraintsFilter, Error> {
    let constraints: OfferConstraints = mesos_proto::json::from_json(json).expect("valid JSON");
    OfferConstraintsFilter::create(&OfferConstraintsOptions::default(), &constraints)
}

fn agent(attributes: &str) -> SlaveInfo {
    SlaveInfo {
        hostname: "host".into(),
        attributes: stout::parsers::parse_attributes(attributes).unwrap(),
        ..Default::default()
    }
}

/// One role, one group, one constraint.
fn single(selector: &str, predicate: &str) -> String {
    format!(
        r#"{{"role_constraints": {{"roleA": {{"groups": [{{"attribute_constraints": [
            {{"selector": {selector}, "predicate": {predicate}}}]}}]}}}}}}"#
    )
}

fn excluded(f: &OfferConstraintsFilter, attributes: &str) -> bool {
    f.is_agent_excluded("roleA", &agent(attributes))
}

#[test]
fn offer_constraints_filter_named_attribute_exists() {
    let f = create_filter(&single(r#"{"attribute_name": "bar"}"#, r#"{"exists": {}}"#)).unwrap();
    assert!(!excluded(&f, "bar:baz"));
    assert!(excluded(&f, "foo:bar"));
    assert!(!excluded(&f, "foo:bar;bar:baz"));
    assert!(
        !excluded(&f, "bar:123"),
        "existence does not care about the type"
    );
}

#[test]
fn offer_constraints_filter_named_attribute_not_exists() {
    let f = create_filter(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"not_exists": {}}"#,
    ))
    .unwrap();
    assert!(excluded(&f, "bar:baz"));
    assert!(!excluded(&f, "foo:bar"));
    assert!(excluded(&f, "foo:bar;bar:baz"));
    assert!(excluded(&f, "bar:[1-17]"));
}

#[test]
fn offer_constraints_filter_named_attribute_text_equals() {
    let f = create_filter(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"text_equals": {"value": "baz"}}"#,
    ))
    .unwrap();
    assert!(!excluded(&f, "bar:baz"));
    assert!(!excluded(&f, "bar:123"), "SCALAR always passes");
    assert!(!excluded(&f, "bar:[1-17]"), "RANGES always passes");
    assert!(excluded(&f, "bar:zab"));
    assert!(excluded(&f, "foo:baz"));
}

#[test]
fn offer_constraints_filter_named_attribute_text_not_equals() {
    let f = create_filter(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"text_not_equals": {"value": "baz"}}"#,
    ))
    .unwrap();
    assert!(excluded(&f, "bar:baz"));
    assert!(!excluded(&f, "bar:123"));
    assert!(!excluded(&f, "bar:[1-17]"));
    assert!(!excluded(&f, "bar:zab"));
    assert!(!excluded(&f, "foo:baz"));
}

#[test]
fn offer_constraints_filter_two_attributes_with_the_same_name() {
    let f = create_filter(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"text_equals": {"value": "baz"}}"#,
    ))
    .unwrap();
    // Only the first attribute of the name counts.
    assert!(!excluded(&f, "bar:baz;bar:foo"));
    assert!(!excluded(&f, "bar:123;bar:foo"));
    assert!(excluded(&f, "bar:foo;bar:baz"));
    assert!(excluded(&f, "bar:foo;bar:123"));
}

#[test]
fn offer_constraints_filter_named_attribute_text_matches() {
    let f = create_filter(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"text_matches": {"regex": "[a-d]+"}}"#,
    ))
    .unwrap();
    assert!(!excluded(&f, "bar:abcd"));
    assert!(!excluded(&f, "bar:123"));
    assert!(!excluded(&f, "bar:[1-17]"));
    assert!(excluded(&f, "bar:bcde"), "a full match is required");
    assert!(excluded(&f, "foo:abcd"));
}

#[test]
fn offer_constraints_filter_named_attribute_text_not_matches() {
    let f = create_filter(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"text_not_matches": {"regex": "[a-d]+"}}"#,
    ))
    .unwrap();
    assert!(excluded(&f, "bar:abcd"));
    assert!(!excluded(&f, "bar:123"));
    assert!(!excluded(&f, "bar:[1-17]"));
    assert!(!excluded(&f, "bar:bcde"));
    assert!(!excluded(&f, "foo:abcd"));
}

#[test]
fn offer_constraints_filter_invalid_text_matches() {
    let e = create_filter(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"text_matches": {"regex": "[a-d"}}"#,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.starts_with(
            "A role roleA has an invalid 'AttributeConstraint': \
             Failed to construct regex from pattern '[a-d': "
        ),
        "{e}"
    );
}

#[test]
fn offer_constraints_filter_invalid_text_not_matches() {
    let e = create_filter(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"text_not_matches": {"regex": "[a-d"}}"#,
    ))
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("Failed to construct regex from pattern '[a-d'"),
        "{e}"
    );
}

#[test]
fn offer_constraints_filter_regex_too_complex() {
    let constraints = |regex: &str| {
        create_filter(&single(
            r#"{"attribute_name": "bar"}"#,
            &format!(r#"{{"text_not_matches": {{"regex": "{regex}"}}}}"#),
        ))
    };
    assert!(constraints("(a+){10}").is_ok());

    let e = constraints("(a+){50}").unwrap_err().to_string();
    assert!(e.contains("too complex"), "{e}");
    assert!(e.contains("larger than maximum of 100 allowed"), "{e}");

    let e = constraints("(a+){500}").unwrap_err().to_string();
    assert!(e.contains("pattern too large - compile failed"), "{e}");

    // The limits come from the options (the master's flags).
    let roomy = OfferConstraintsOptions {
        re2_max_mem: 1 << 20,
        re2_max_program_size: 2000,
    };
    let c: OfferConstraints = mesos_proto::json::from_json(&single(
        r#"{"attribute_name": "bar"}"#,
        r#"{"text_not_matches": {"regex": "(a+){500}"}}"#,
    ))
    .unwrap();
    assert!(OfferConstraintsFilter::create(&roomy, &c).is_ok());
}

#[test]
fn offer_constraints_filter_two_constraints_in_group() {
    let f = create_filter(
        r#"{"role_constraints": {"roleA": {"groups": [{"attribute_constraints": [
            {"selector": {"attribute_name": "foo"}, "predicate": {"exists": {}}},
            {"selector": {"attribute_name": "bar"}, "predicate": {"not_exists": {}}}
        ]}]}}}"#,
    )
    .unwrap();
    assert!(excluded(&f, ""));
    assert!(!excluded(&f, "foo:123"));
    assert!(excluded(&f, "bar:123"));
    assert!(excluded(&f, "foo:123;bar:456"));
    assert!(!excluded(&f, "foo:123;baz:456"));
}

#[test]
fn offer_constraints_filter_two_groups() {
    let f = create_filter(
        r#"{"role_constraints": {"roleA": {"groups": [
            {"attribute_constraints": [
                {"selector": {"attribute_name": "foo"}, "predicate": {"exists": {}}}]},
            {"attribute_constraints": [
                {"selector": {"attribute_name": "bar"}, "predicate": {"not_exists": {}}}]}
        ]}}}"#,
    )
    .unwrap();
    assert!(!excluded(&f, ""));
    assert!(!excluded(&f, "foo:123"));
    assert!(excluded(&f, "bar:123"));
    assert!(!excluded(&f, "foo:123;bar:456"));
}

#[test]
fn offer_constraints_filter_two_roles() {
    let f = create_filter(
        r#"{"role_constraints": {
            "roleA": {"groups": [{"attribute_constraints": [
                {"selector": {"attribute_name": "foo"}, "predicate": {"exists": {}}}]}]},
            "roleB": {"groups": [{"attribute_constraints": [
                {"selector": {"attribute_name": "foo"}, "predicate": {"not_exists": {}}}]}]}
        }}"#,
    )
    .unwrap();
    assert!(f.is_agent_excluded("roleA", &agent("")));
    assert!(!f.is_agent_excluded("roleA", &agent("foo:bar")));
    assert!(!f.is_agent_excluded("roleB", &agent("")));
    assert!(f.is_agent_excluded("roleB", &agent("foo:bar")));
    // A role without constraints excludes nothing.
    assert!(!f.is_agent_excluded("roleC", &agent("")));
}

#[test]
fn offer_constraints_filter_default_offer_constraints() {
    let f = create_filter("{}").unwrap();
    assert!(f.is_empty());
    assert!(!f.is_agent_excluded("roleA", &agent("")));
    assert!(!f.is_agent_excluded("roleA", &agent("foo:bar")));
}

#[test]
fn offer_constraints_filter_pseudoattributes() {
    let mut info = agent("");
    info.hostname = "node-7.example".into();
    let host = create_filter(&single(
        r#"{"pseudoattribute_type": "HOSTNAME"}"#,
        r#"{"text_matches": {"regex": "node-\\d+\\.example"}}"#,
    ))
    .unwrap();
    assert!(!host.is_agent_excluded("roleA", &info));
    info.hostname = "other".into();
    assert!(host.is_agent_excluded("roleA", &info));

    let region = create_filter(&single(
        r#"{"pseudoattribute_type": "REGION"}"#,
        r#"{"text_equals": {"value": "eu"}}"#,
    ))
    .unwrap();
    let zone = create_filter(&single(
        r#"{"pseudoattribute_type": "ZONE"}"#,
        r#"{"not_exists": {}}"#,
    ))
    .unwrap();
    // No domain: REGION and ZONE do not exist.
    assert!(region.is_agent_excluded("roleA", &info));
    assert!(!zone.is_agent_excluded("roleA", &info));
    info.domain = Some(DomainInfo {
        fault_domain: Some(FaultDomain {
            region: RegionInfo { name: "eu".into() },
            zone: ZoneInfo {
                name: "eu-1".into(),
            },
        }),
    });
    assert!(!region.is_agent_excluded("roleA", &info));
    assert!(zone.is_agent_excluded("roleA", &info));
}

#[test]
fn offer_constraints_filter_validation_errors() {
    let err = |json: &str| create_filter(json).unwrap_err().to_string();
    assert_eq!(
        err(r#"{"role_constraints": {"r": {}}}"#),
        "'OfferConstraints::role_constraints' has an empty 'RoleConstraints::groups' for role r"
    );
    assert_eq!(
        err(r#"{"role_constraints": {"r": {"groups": [{}]}}}"#),
        "'OfferConstraints::RoleConstraints::groups' for role rcontains an empty \
         RoleConstraints::Group"
    );
    assert_eq!(
        err(&single(
            r#"{"pseudoattribute_type": "UNKNOWN"}"#,
            r#"{"exists": {}}"#
        )),
        "A role roleA has an invalid 'AttributeConstraint': Unknown pseudoattribute type"
    );
    assert_eq!(
        err(&single("{}", r#"{"exists": {}}"#)),
        "A role roleA has an invalid 'AttributeConstraint': Exactly one of \
         'AttributeConstraint::Selector::name' or \
         'AttributeConstraint::Selector::pseudoattribute_type' must be set"
    );
    assert_eq!(
        err(&single(r#"{"attribute_name": "a"}"#, "{}")),
        "A role roleA has an invalid 'AttributeConstraint': Unknown predicate type"
    );
}

// ----- the allocator ---------------------------------------------------------

fn fw_info(id: &str, roles: &[&str]) -> FrameworkInfo {
    FrameworkInfo {
        user: "user".into(),
        name: id.into(),
        id: Some(FrameworkId { value: id.into() }),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        capabilities: vec![Capability {
            r#type: Some(Cap::MultiRole as i32),
        }],
        ..Default::default()
    }
}

fn add_agent(a: &mut HierarchicalAllocator, id: &str, attributes: &str) {
    let mut info = agent(attributes);
    info.hostname = format!("host-{id}");
    info.id = Some(SlaveId { value: id.into() });
    a.add_slave(
        id,
        &info,
        AgentCapabilities::default(),
        None,
        &Resources::parse("cpus:2;mem:1024", "*").unwrap(),
        &BTreeMap::new(),
    )
    .unwrap();
}

fn add_fw(a: &mut HierarchicalAllocator, id: &str, roles: &[&str]) {
    a.add_framework(
        id,
        &fw_info(id, roles),
        &BTreeMap::new(),
        true,
        &BTreeSet::new(),
    )
    .unwrap();
}

/// Sets framework `id`'s constraints: one group for `role` with one
/// constraint (selector and predicate as JSON).
fn constrain(a: &mut HierarchicalAllocator, id: &str, role: &str, selector: &str, predicate: &str) {
    a.update_offer_constraints(
        id,
        create_filter(&single_role(role, selector, predicate)).unwrap(),
    )
    .unwrap();
}

/// (framework, role, agent) of every offer.
fn offers(r: &AllocationResult) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for o in &r.offers {
        for (role, agents) in &o.resources {
            for agent in agents.keys() {
                out.insert((o.framework_id.clone(), role.clone(), agent.clone()));
            }
        }
    }
    out
}

fn triple(f: &str, r: &str, a: &str) -> (String, String, String) {
    (f.into(), r.into(), a.into())
}

/// An agent failing a framework's constraints for a role is not offered to
/// it in that role; it goes to the next framework in the role instead.
#[test]
fn hierarchical_allocator_offer_constraints_exclude_agent() {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default());
    add_agent(&mut a, "S1", "rack:r1");
    add_agent(&mut a, "S2", "rack:r2");
    add_fw(&mut a, "F1", &["web"]);
    constrain(
        &mut a,
        "F1",
        "web",
        r#"{"attribute_name": "rack"}"#,
        r#"{"text_equals": {"value": "r1"}}"#,
    );
    let now = Duration::from_secs(10);
    assert_eq!(
        offers(&a.allocate_pending(now)),
        BTreeSet::from([triple("F1", "web", "S1")])
    );
    // S2 stays unoffered on later ticks too.
    assert!(offers(&a.allocate(now + Duration::from_secs(1))).is_empty());

    // A second framework in the same role without constraints gets S2.
    add_fw(&mut a, "F2", &["web"]);
    assert_eq!(
        offers(&a.allocate_pending(now + Duration::from_secs(2))),
        BTreeSet::from([triple("F2", "web", "S2")])
    );
}

/// Constraints are per role: the same agent can be excluded in one role of
/// a framework and offered in another.
#[test]
fn hierarchical_allocator_offer_constraints_per_role() {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default());
    add_agent(&mut a, "S1", "gpu:none");
    add_fw(&mut a, "F1", &["gpu-jobs", "web"]);
    constrain(
        &mut a,
        "F1",
        "gpu-jobs",
        r#"{"attribute_name": "gpu"}"#,
        r#"{"text_not_equals": {"value": "none"}}"#,
    );
    // `gpu-jobs` sorts first among the equal-share roles, so without the
    // constraint it would take the agent.
    let got = offers(&a.allocate_pending(Duration::from_secs(10)));
    assert_eq!(got, BTreeSet::from([triple("F1", "web", "S1")]));
}

/// Changing the constraints (UPDATE_FRAMEWORK) takes effect on the next
/// cycle, as in upstream's `UpdateFrameworkTest.OfferConstraints`.
#[test]
fn hierarchical_allocator_offer_constraints_update() {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default());
    add_agent(&mut a, "S1", "");
    add_fw(&mut a, "F1", &["web"]);
    let exists = single_role("web", r#"{"attribute_name": "foo"}"#, r#"{"exists": {}}"#);
    a.update_offer_constraints("F1", create_filter(&exists).unwrap())
        .unwrap();
    let now = Duration::from_secs(10);
    assert!(offers(&a.allocate_pending(now)).is_empty());
    assert!(offers(&a.allocate(now + Duration::from_secs(1))).is_empty());

    let not_exists = single_role(
        "web",
        r#"{"attribute_name": "foo"}"#,
        r#"{"not_exists": {}}"#,
    );
    a.update_offer_constraints("F1", create_filter(&not_exists).unwrap())
        .unwrap();
    assert_eq!(
        offers(&a.allocate_pending(now + Duration::from_secs(2))),
        BTreeSet::from([triple("F1", "web", "S1")])
    );
    assert!(a
        .update_offer_constraints("nope", OfferConstraintsFilter::default())
        .is_err());
}

/// Stage 1 (quota guarantees) applies the constraints too.
#[test]
fn hierarchical_allocator_offer_constraints_with_quota_guarantees() {
    let mut a = HierarchicalAllocator::new(AllocatorOptions::default());
    add_agent(&mut a, "S1", "rack:r1");
    add_agent(&mut a, "S2", "rack:r2");
    let guarantee = mesos_allocator::resources::ResourceQuantities::from_scalar_resources(
        &Resources::parse("cpus:2;mem:1024", "*").unwrap(),
    );
    a.update_quota(
        "web",
        Quota {
            guarantees: guarantee,
            ..Default::default()
        },
    )
    .unwrap();
    add_fw(&mut a, "F1", &["web"]);
    constrain(
        &mut a,
        "F1",
        "web",
        r#"{"attribute_name": "rack"}"#,
        r#"{"text_matches": {"regex": "r2"}}"#,
    );
    let got = offers(&a.allocate_pending(Duration::from_secs(10)));
    assert_eq!(got, BTreeSet::from([triple("F1", "web", "S2")]));
}

fn single_role(role: &str, selector: &str, predicate: &str) -> String {
    single(selector, predicate).replace("roleA", role)
}

// ----- property: no framework is offered an agent failing its constraints ----

const RACKS: [&str; 3] = ["r0", "r1", "r2"];
const ROLES: [&str; 2] = ["a", "b"];

#[derive(Clone, Debug)]
enum Op {
    AddAgent(u8, Option<u8>),
    SetAttributes(u8, Option<u8>),
    AddFramework(u8),
    /// framework, role, rack, predicate kind.
    Constrain(u8, u8, u8, u8),
    Unconstrain(u8),
    Decline(u8),
    Tick,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, proptest::option::of(0u8..3)).prop_map(|(a, r)| Op::AddAgent(a, r)),
        (0u8..6, proptest::option::of(0u8..3)).prop_map(|(a, r)| Op::SetAttributes(a, r)),
        (0u8..4).prop_map(Op::AddFramework),
        (0u8..4, 0u8..2, 0u8..3, 0u8..6).prop_map(|(f, r, k, p)| Op::Constrain(f, r, k, p)),
        (0u8..4).prop_map(Op::Unconstrain),
        (0u8..4).prop_map(Op::Decline),
        Just(Op::Tick),
    ]
}

fn predicate(kind: u8, rack: &str) -> String {
    match kind {
        0 => r#"{"exists": {}}"#.into(),
        1 => r#"{"not_exists": {}}"#.into(),
        2 => format!(r#"{{"text_equals": {{"value": "{rack}"}}}}"#),
        3 => format!(r#"{{"text_not_equals": {{"value": "{rack}"}}}}"#),
        4 => format!(r#"{{"text_matches": {{"regex": "{rack}|x.*"}}}}"#),
        _ => format!(
            r#"{{"text_not_matches": {{"regex": "r[{}]"}}}}"#,
            &rack[1..]
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn no_offer_of_an_agent_failing_the_constraints(ops in proptest::collection::vec(op(), 1..40)) {
        let mut a = HierarchicalAllocator::new(AllocatorOptions::default());
        let mut infos: BTreeMap<String, SlaveInfo> = BTreeMap::new();
        let mut filters: BTreeMap<String, OfferConstraintsFilter> = BTreeMap::new();
        let mut outstanding: BTreeMap<(String, String, String), Resources> = BTreeMap::new();
        let mut now = Duration::from_secs(100);
        let attrs = |rack: Option<u8>| rack.map(|r| format!("rack:{}", RACKS[r as usize])).unwrap_or_default();
        for op in ops {
            match op {
                Op::AddAgent(i, rack) => {
                    let id = format!("S{i}");
                    if let std::collections::btree_map::Entry::Vacant(e) = infos.entry(id.clone()) {
                        add_agent(&mut a, &id, &attrs(rack));
                        let mut info = agent(&attrs(rack));
                        info.hostname = format!("host-{id}");
                        info.id = Some(SlaveId { value: id.clone() });
                        e.insert(info);
                    }
                }
                Op::SetAttributes(i, rack) => {
                    let id = format!("S{i}");
                    if let Some(info) = infos.get_mut(&id) {
                        info.attributes = agent(&attrs(rack)).attributes;
                        a.update_slave(&id, info, None, None).unwrap();
                    }
                }
                Op::AddFramework(i) => {
                    let id = format!("F{i}");
                    if let std::collections::btree_map::Entry::Vacant(e) = filters.entry(id.clone()) {
                        a.add_framework(&id, &fw_info(&id, &ROLES), &BTreeMap::new(), true, &BTreeSet::new()).unwrap();
                        e.insert(OfferConstraintsFilter::default());
                    }
                }
                Op::Constrain(f, r, k, p) => {
                    let id = format!("F{f}");
                    if filters.contains_key(&id) {
                        let json = single_role(ROLES[r as usize], r#"{"attribute_name": "rack"}"#, &predicate(p, RACKS[k as usize]));
                        let filter = create_filter(&json).unwrap();
                        a.update_offer_constraints(&id, filter.clone()).unwrap();
                        filters.insert(id, filter);
                    }
                }
                Op::Unconstrain(f) => {
                    let id = format!("F{f}");
                    if filters.contains_key(&id) {
                        a.update_offer_constraints(&id, OfferConstraintsFilter::default()).unwrap();
                        filters.insert(id, OfferConstraintsFilter::default());
                    }
                }
                Op::Decline(f) => {
                    let id = format!("F{f}");
                    let keys: Vec<_> = outstanding.keys().filter(|(fw, _, _)| *fw == id).cloned().collect();
                    for key in keys {
                        let res = outstanding.remove(&key).unwrap();
                        a.recover_resources(&key.0, &key.1, &res, None, now).unwrap();
                    }
                }
                Op::Tick => {
                    now += Duration::from_secs(1);
                    let r = a.allocate(now);
                    check(&r, &infos, &filters, &mut outstanding)?;
                    continue;
                }
            }
            let r = a.allocate_pending(now);
            check(&r, &infos, &filters, &mut outstanding)?;
        }
    }
}

fn check(
    r: &AllocationResult,
    infos: &BTreeMap<String, SlaveInfo>,
    filters: &BTreeMap<String, OfferConstraintsFilter>,
    outstanding: &mut BTreeMap<(String, String, String), Resources>,
) -> Result<(), TestCaseError> {
    for o in &r.offers {
        for (role, agents) in &o.resources {
            for (agent, res) in agents {
                let info = &infos[agent];
                prop_assert!(
                    !filters[&o.framework_id].is_agent_excluded(role, info),
                    "{} offered {} in role {} though its constraints exclude it ({:?})",
                    o.framework_id,
                    agent,
                    role,
                    info.attributes
                );
                let key = (o.framework_id.clone(), agent.clone(), role.clone());
                let entry = outstanding.entry(key).or_default();
                *entry = &*entry + res;
            }
        }
    }
    Ok(())
}
