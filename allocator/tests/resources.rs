//! Table tests for resource arithmetic, mirroring cases of upstream
//! `src/tests/resources_tests.cpp` (names in snake_case).

use mesos_allocator::resources::{ResourceQuantities, Resources};
use mesos_proto::mesos::resource::disk_info::Persistence;
use mesos_proto::mesos::resource::reservation_info::Type as RType;
use mesos_proto::mesos::resource::{DiskInfo, ReservationInfo, RevocableInfo, SharedInfo};
use mesos_proto::mesos::Resource;

fn p(s: &str) -> Resources {
    Resources::parse(s, "*").unwrap()
}

fn dynamic(role: &str, principal: &str) -> ReservationInfo {
    ReservationInfo {
        r#type: Some(RType::Dynamic as i32),
        role: Some(role.into()),
        principal: Some(principal.into()),
        labels: None,
    }
}

fn volume(id: &str, size: f64, role: &str, shared: bool) -> Resource {
    let mut r = Resources::scalar("disk", size);
    r.reservations.push(dynamic(role, "p"));
    r.disk = Some(Box::new(DiskInfo {
        persistence: Some(Persistence {
            id: id.into(),
            principal: None,
        }),
        ..Default::default()
    }));
    if shared {
        r.shared = Some(SharedInfo {});
    }
    r
}

#[test]
fn parsing_simple_string() {
    let r = p("cpus:2;mem:1024;ports:[31000-32000];disks:{a,b}");
    assert_eq!(r.cpus(), Some(2.0));
    assert_eq!(r.mem(), Some(1024.0));
    assert_eq!(r.ports().unwrap().range[0].begin, 31000);
    assert_eq!(
        r.to_string(),
        "cpus:2; mem:1024; ports:[31000-32000]; disks:{a, b}"
    );
}

#[test]
fn parsing_with_roles() {
    let r = Resources::parse("cpus(role1):2;cpus:1;mem(role2):5", "*").unwrap();
    assert_eq!(r.reserved(Some("role1")).cpus(), Some(2.0));
    assert_eq!(r.unreserved().cpus(), Some(1.0));
    assert_eq!(r.cpus(), Some(3.0));
    assert_eq!(
        r.to_string(),
        "cpus(reservations: [(STATIC,role1)]):2; cpus:1; mem(reservations: [(STATIC,role2)]):5"
    );
    let d = Resources::parse("cpus:1", "dflt").unwrap();
    assert_eq!(d.reserved(Some("dflt")).cpus(), Some(1.0));
}

#[test]
fn parsing_errors() {
    for bad in [
        "cpus:a",            // TEXT type is rejected
        "cpus:-1",           // negative
        "cpus:1:2",          // extra ':'
        "ports:[1-2",        // mismatched brackets
        "cpus(r:1",          // mismatched parens
        "cpus:1;cpus:[1-2]", // same name, different types
        "cpus(*/a):1",       // invalid role
        "cpus:nan",
    ] {
        assert!(Resources::parse(bad, "*").is_err(), "{bad}");
    }
}

#[test]
fn parsing_from_json() {
    let r = Resources::parse(
        r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":4}},
            {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":1,"end":10}]}},
            {"name":"mem","type":"SCALAR","scalar":{"value":"64"},"role":"web"}]"#,
        "*",
    )
    .unwrap();
    assert_eq!(r.cpus(), Some(4.0));
    assert_eq!(r.reserved(Some("web")).mem(), Some(64.0));
    assert!(Resources::parse(r#"[{"name":"cpus","type":"BOGUS"}]"#, "*").is_err());
    assert!(Resources::parse(
        r#"[{"name":"cpus","type":"SCALAR","scalar":{"value":1},"revocable":{}}]"#,
        "*"
    )
    .is_err());
}

#[test]
fn scalar_addition_and_subtraction_round_to_three_decimals() {
    let a = p("cpus:0.1");
    let b = p("cpus:0.2");
    assert_eq!((&a + &b).cpus(), Some(0.3));
    assert_eq!((&a + &b).to_string(), "cpus:0.3");
    let c = p("cpus:1") - p("cpus:0.9999");
    assert_eq!(c.to_string(), "{}");
    assert!(c.is_empty());
}

#[test]
fn ranges_arithmetic() {
    let r = p("ports:[1-10, 20-30]") - p("ports:[5-25]");
    assert_eq!(r.to_string(), "ports:[1-4, 26-30]");
    assert!(p("ports:[1-10]").contains(&p("ports:[2-3, 7-8]")));
    assert!(!p("ports:[1-10]").contains(&p("ports:[9-11]")));
    assert_eq!(p("ports:[1-2]") + p("ports:[3-4]"), p("ports:[1-4]"));
}

#[test]
fn set_arithmetic() {
    let r = p("disks:{a,b,c}") - p("disks:{b}");
    assert_eq!(r.to_string(), "disks:{a, c}");
    assert!(p("disks:{a,b}").contains(&p("disks:{b}")));
}

#[test]
fn subtraction_to_empty_removes_entries() {
    let mut r = p("cpus:1;mem:10");
    r -= &p("cpus:1");
    assert_eq!(r, p("mem:10"));
    r -= &p("mem:20"); // over-subtraction drops the entry (upstream behaviour)
    assert!(r.is_empty());
}

#[test]
fn contains_respects_roles_and_revocable() {
    let reserved = Resources::parse("cpus(r):2", "*").unwrap();
    assert!(!p("cpus:4").contains(&reserved));
    let mut rev = Resources::scalar("cpus", 1.0);
    rev.revocable = Some(RevocableInfo {});
    let rev: Resources = rev.into();
    assert!(!p("cpus:4").contains(&rev));
    assert_eq!(rev.revocable(), rev);
    assert!(rev.non_revocable().is_empty());
    assert_eq!(rev.to_string(), "cpus{REV}:1");
}

#[test]
fn reservations_and_allocatable_to() {
    let mut r = p("cpus:1");
    let mut x = Resources::scalar("cpus", 2.0);
    x.reservations.push(dynamic("a", "p"));
    let mut y = Resources::scalar("cpus", 4.0);
    y.reservations.push(dynamic("a", "p"));
    y.reservations.push(dynamic("a/b", "p"));
    r += Resources::from(x);
    r += Resources::from(y);
    assert_eq!(r.allocatable_to("a").cpus(), Some(3.0));
    assert_eq!(r.allocatable_to("a/b").cpus(), Some(7.0));
    assert_eq!(r.allocatable_to("c").cpus(), Some(1.0));
    assert_eq!(r.reserved_to_role_subtree("a").cpus(), Some(6.0));
    assert_eq!(r.reservations().len(), 2);
    assert_eq!(r.to_unreserved().to_string(), "cpus:7");
    assert!(Resources::validate(&{
        let mut bad = Resources::scalar("cpus", 1.0);
        bad.reservations.push(dynamic("a", "p"));
        bad.reservations.push(dynamic("b", "p"));
        bad
    })
    .is_err());
}

#[test]
fn allocation_info_partitions() {
    let a = p("cpus:1;mem:2").allocated_to("r1");
    let b = p("cpus:3").allocated_to("r2");
    let all = &a + &b;
    let allocs = all.allocations();
    assert_eq!(allocs.len(), 2);
    assert_eq!(allocs["r2"].cpus(), Some(3.0));
    assert_eq!(all.unallocated().cpus(), Some(4.0));
    assert!(!p("cpus:10").contains(&a));
    assert_eq!(a.to_string(), "cpus(allocated: r1):1; mem(allocated: r1):2");
}

#[test]
fn persistent_volumes_are_not_merged() {
    let v1: Resources = volume("id1", 10.0, "r", false).into();
    let v2: Resources = volume("id2", 10.0, "r", false).into();
    let both = &v1 + &v2;
    assert_eq!(both.len(), 2);
    assert_eq!(both.persistent_volumes().len(), 2);
    assert!(both.contains(&v1));
    // A volume is contained only once.
    assert!(!both.contains(&(&v1 + &v1)));
    assert_eq!((both - v1).len(), 1);
}

#[test]
fn shared_resources_count() {
    let s: Resources = volume("sv", 5.0, "r", true).into();
    let twice = &s + &s;
    assert_eq!(twice.len(), 1);
    assert_eq!(twice.count(&volume("sv", 5.0, "r", true)), 2);
    assert!(twice.contains(&s));
    assert!(!s.contains(&twice));
    assert_eq!(&twice - &s, s);
    // Shared resources count once in quantities.
    assert_eq!(twice.scalar_quantities().get("disk"), 5.0);
    assert!(twice.to_string().ends_with("<SHARED>:5<2>"));
}

#[test]
fn quantities_and_contains() {
    let q = ResourceQuantities::parse("cpus:1;mem:32").unwrap();
    assert!(p("cpus:1;mem:64").contains_quantities(&q));
    assert!(!p("cpus:0.5;mem:64").contains_quantities(&q));
    let ports = ResourceQuantities::parse("ports:10").unwrap();
    assert!(p("ports:[1-10]").contains_quantities(&ports));
    assert!(!p("ports:[1-9]").contains_quantities(&ports));
    let a = ResourceQuantities::parse("cpus:2").unwrap();
    assert!(a
        .sub(&ResourceQuantities::parse("cpus:3").unwrap())
        .is_empty());
}

#[test]
fn endpoint_format_round_trip() {
    let r = Resources::parse("cpus(r):1;mem:2", "*").unwrap();
    let v = r.to_endpoint_vec();
    #[allow(deprecated)]
    let roles: Vec<_> = v.iter().map(|x| x.role.clone().unwrap()).collect();
    assert_eq!(roles, vec!["r", "*"]);
    assert_eq!(Resources::from_vec(v), r);

    // Refined reservations have no old-format role (upstream leaves them).
    let refined = Resources::parse("cpus(a):1", "*")
        .unwrap()
        .push_reservation(&ReservationInfo {
            r#type: Some(RType::Dynamic as i32),
            role: Some("a/b".into()),
            ..Default::default()
        });
    assert_eq!(refined.iter().next().unwrap().reservations.len(), 2);
    #[allow(deprecated)]
    let role = refined.to_endpoint_vec()[0].role.clone();
    assert_eq!(role, None);
}

#[test]
fn json_with_reservations_and_volumes() {
    // What the master receives on the wire (post-refinement format).
    let list: Vec<Resource> = serde_json::from_str::<serde_json::Value>(
        r#"[{"name":"disk","type":"SCALAR","scalar":{"value":64},
             "reservations":[{"type":"DYNAMIC","role":"web","principal":"ops","labels":{"labels":[{"key":"k","value":"v"}]}}],
             "disk":{"persistence":{"id":"vol1"},"volume":{"container_path":"data","mode":"RW"}}},
            {"name":"cpus","type":"SCALAR","scalar":{"value":1},
             "reservations":[{"type":"STATIC","role":"web"},{"type":"DYNAMIC","role":"web/api","principal":"p"}]}]"#,
    )
    .map(|v| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|o| mesos_allocator::resources::parse::resource_from_json(o).unwrap())
            .collect()
    })
    .unwrap();
    let r = Resources::try_from_vec(list.clone()).unwrap();
    assert_eq!(r.persistent_volumes().len(), 1);
    assert_eq!(r.reserved(Some("web/api")).cpus(), Some(1.0));
    assert_eq!(r.allocatable_to("web/api").len(), 2);
    assert_eq!(r.allocatable_to("web").len(), 1);
    assert_eq!(
        r.to_string(),
        "disk(reservations: [(DYNAMIC,web,ops,{k: v})])[vol1:data]:64; \
         cpus(reservations: [(STATIC,web),(DYNAMIC,web/api,p)]):1"
    );
    // The command-line parser refuses both (volume, dynamic reservation).
    assert!(Resources::parse(&serde_json::to_string(&serde_json::json!([
        {"name":"cpus","type":"SCALAR","scalar":{"value":1},"reservations":[{"type":"DYNAMIC","role":"web"}]}
    ])).unwrap(), "*").is_err());
}

#[test]
fn validation_errors() {
    let mut bad = Resources::scalar("cpus", -1.0);
    assert!(Resources::validate(&bad).is_err());
    bad = Resources::scalar("", 1.0);
    assert!(Resources::validate(&bad).is_err());
    let mut ranges = Resources::ports_range(10, 5);
    assert!(Resources::validate(&ranges).is_err());
    ranges = Resources::ports_range(1, 5);
    ranges
        .ranges
        .as_mut()
        .unwrap()
        .range
        .push(mesos_proto::mesos::value::Range { begin: 3, end: 8 });
    assert!(Resources::validate(&ranges).is_err());
    let mut static_refined = Resources::scalar("cpus", 1.0);
    static_refined.reservations.push(ReservationInfo {
        r#type: Some(RType::Static as i32),
        role: Some("a".into()),
        principal: None,
        labels: None,
    });
    static_refined.reservations.push(ReservationInfo {
        r#type: Some(RType::Static as i32),
        role: Some("a/b".into()),
        principal: None,
        labels: None,
    });
    assert!(Resources::validate(&static_refined).is_err());
    let mut star = Resources::scalar("cpus", 1.0);
    star.reservations.push(dynamic("*", "p"));
    assert!(Resources::validate(&star).is_err());
    let mut disk_on_cpus = Resources::scalar("cpus", 1.0);
    disk_on_cpus.disk = Some(Box::new(DiskInfo::default()));
    assert!(Resources::validate(&disk_on_cpus).is_err());
    // Invalid resources are never contained and are skipped by from_vec.
    assert!(!p("cpus:4").contains_resource(&Resources::scalar("cpus", -1.0)));
    assert!(Resources::from_vec([Resources::scalar("cpus", -1.0)]).is_empty());
    assert!(Resources::try_from_vec([Resources::scalar("cpus", -1.0)]).is_err());
}

#[test]
fn pre_refinement_wire_format_is_upgraded() {
    // An old agent sends `role` + `reservation` instead of the stack.
    #[allow(deprecated)]
    let old = Resource {
        role: Some("web".into()),
        reservation: Some(ReservationInfo {
            r#type: None,
            role: None,
            principal: Some("ops".into()),
            labels: None,
        }),
        ..Resources::scalar("mem", 128.0)
    };
    let r = Resources::from(old);
    let x = r.iter().next().unwrap();
    assert_eq!(x.reservations.len(), 1);
    assert_eq!(x.reservations[0].r#type, Some(RType::Dynamic as i32));
    assert_eq!(x.reservations[0].principal.as_deref(), Some("ops"));
    #[allow(deprecated)]
    {
        assert!(x.role.is_none());
        let back = r.to_endpoint_vec();
        assert_eq!(back[0].role.as_deref(), Some("web"));
        assert_eq!(
            back[0].reservation.as_ref().unwrap().principal.as_deref(),
            Some("ops")
        );
    }
}

#[test]
fn allocation_info_is_visible_and_kept_consistent() {
    let mut a = p("cpus:1;ports:[1-5]").allocated_to("r1");
    let roles = |x: &Resources| -> Vec<Option<String>> {
        x.iter()
            .map(|e| e.allocation_info.as_ref().and_then(|i| i.role.clone()))
            .collect()
    };
    assert_eq!(roles(&a), vec![Some("r1".to_string()); 2]);
    assert!(roles(&a.unallocated()).iter().all(Option::is_none));
    // Mutations after a read are reflected (the cached view is rebuilt).
    a += p("cpus:2").allocated_to("r1");
    assert_eq!(a.cpus(), Some(3.0));
    let cpus: Vec<_> = a
        .iter()
        .filter(|e| e.name == "cpus")
        .map(|e| e.scalar.unwrap().value)
        .collect();
    assert_eq!(cpus, vec![3.0]);
    a -= p("ports:[2-3]").allocated_to("r1");
    assert_eq!(
        a.to_string(),
        "cpus(allocated: r1):3; ports(allocated: r1):[1-1, 4-5]"
    );
    // Allocated and unallocated forms never match each other.
    assert!(!p("cpus:10").contains(&p("cpus:1").allocated_to("r1")));
    assert_eq!(a.count(&a.iter().next().unwrap().clone()), 1);
    assert_eq!(a.to_vec().len(), 2);
    assert_eq!(Resources::from_vec(a.to_vec()), a);
    a.allocate("r2");
    assert_eq!(roles(&a), vec![Some("r2".to_string()); 2]);
}
