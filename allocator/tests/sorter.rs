//! Table tests mirroring upstream `DRFSorterTest` / `CommonSorterTest`
//! (`src/tests/sorter_tests.cpp`), in snake_case.

use mesos_allocator::resources::ResourceQuantities;
use mesos_allocator::sorter::{Sorter, SorterKind};

fn q(s: &str) -> ResourceQuantities {
    ResourceQuantities::parse(s).unwrap()
}

fn new_drf(total: &str) -> Sorter {
    let mut s = Sorter::new(SorterKind::Drf, 0);
    s.add_total(&q(total));
    s
}

fn add(s: &mut Sorter, client: &str, alloc: &str) {
    s.add(client);
    s.activate(client);
    s.allocated(client, &q(alloc));
}

#[test]
fn drf() {
    let mut s = new_drf("cpus:100;mem:100");
    assert!(s.sort().is_empty());
    add(&mut s, "a", "cpus:5;mem:5");
    add(&mut s, "b", "cpus:6;mem:6");
    assert_eq!(s.sort(), ["a", "b"]);
    add(&mut s, "c", "cpus:1;mem:1");
    add(&mut s, "d", "cpus:3;mem:1");
    assert_eq!(s.sort(), ["c", "d", "a", "b"]);
    s.remove("a");
    s.unallocated("b", &q("cpus:4;mem:4"));
    assert_eq!(s.sort(), ["c", "b", "d"]);
    add(&mut s, "e", "cpus:1;mem:5");
    s.remove_total(&q("cpus:50"));
    assert_eq!(s.sort(), ["c", "b", "e", "d"]);
    s.add_total(&q("mem:100"));
    add(&mut s, "f", "cpus:5;mem:1");
    s.allocated("c", &q("mem:15"));
    assert_eq!(s.sort(), ["e", "b", "d", "c", "f"]);
    assert!(s.contains("b"));
    assert!(!s.contains("a"));
    assert_eq!(s.count(), 5);
    s.deactivate("d");
    assert!(s.contains("d"));
    assert_eq!(s.sort(), ["e", "b", "c", "f"]);
    assert_eq!(s.count(), 5);
    s.activate("d");
    assert_eq!(s.sort(), ["e", "b", "d", "c", "f"]);
}

#[test]
fn wdrf() {
    let mut s = new_drf("cpus:100;mem:100");
    add(&mut s, "a", "cpus:5;mem:5");
    s.add("b");
    s.activate("b");
    s.update_weight("b", 2.0);
    s.allocated("b", &q("cpus:6;mem:6"));
    assert_eq!(s.sort(), ["b", "a"]);
    add(&mut s, "c", "cpus:4;mem:4");
    assert_eq!(s.sort(), ["b", "c", "a"]);
    s.add("d");
    s.activate("d");
    s.update_weight("d", 10.0);
    s.allocated("d", &q("cpus:10;mem:20"));
    assert_eq!(s.sort(), ["d", "b", "c", "a"]);
    s.remove("b");
    assert_eq!(s.sort(), ["d", "c", "a"]);
    s.allocated("d", &q("cpus:10;mem:25"));
    assert_eq!(s.sort(), ["c", "d", "a"]);
    s.add("e");
    s.activate("e");
    s.update_weight("e", 0.1);
    s.allocated("e", &q("cpus:1;mem:1"));
    assert_eq!(s.sort(), ["c", "d", "a", "e"]);
    s.remove("a");
    assert_eq!(s.sort(), ["c", "d", "e"]);
}

#[test]
fn update_weight() {
    let mut s = new_drf("cpus:100;mem:100");
    add(&mut s, "a", "cpus:5;mem:5");
    add(&mut s, "b", "cpus:6;mem:6");
    assert_eq!(s.sort(), ["a", "b"]);
    s.update_weight("b", 2.0);
    assert_eq!(s.sort(), ["b", "a"]);
}

#[test]
fn allocation_count_tie_break() {
    let mut s = new_drf("cpus:100;mem:100");
    for c in ["a", "b", "c", "d", "e"] {
        s.add(c);
        s.activate(c);
    }
    s.allocated("a", &q("cpus:3;mem:3"));
    s.allocated("b", &q("cpus:3;mem:3"));
    for _ in 0..3 {
        s.allocated("c", &q("cpus:1;mem:1"));
    }
    s.allocated("d", &q("cpus:2;mem:2"));
    s.allocated("d", &q("cpus:1;mem:1"));
    s.allocated("e", &q("cpus:3;mem:3"));
    assert_eq!(s.sort(), ["a", "b", "e", "d", "c"]);
    s.unallocated("c", &q("cpus:3;mem:3"));
    assert_eq!(s.sort(), ["c", "a", "b", "e", "d"]);
    s.allocated("c", &q("cpus:3;mem:3"));
    assert_eq!(s.sort(), ["a", "b", "e", "d", "c"]);
    s.deactivate("c");
    s.activate("c");
    assert_eq!(s.sort(), ["a", "b", "e", "d", "c"]);
    s.unallocated("c", &q("cpus:3;mem:3"));
    s.allocated("c", &q("cpus:3;mem:3"));
    assert_eq!(s.sort(), ["a", "b", "e", "d", "c"]);
    s.deactivate("a");
    s.unallocated("a", &q("cpus:1;mem:3"));
    s.allocated("a", &q("cpus:1;mem:3"));
    assert_eq!(s.sort(), ["b", "e", "d", "c"]);
    s.activate("a");
    assert_eq!(s.sort(), ["b", "e", "a", "d", "c"]);
}

#[test]
fn shallow_hierarchy() {
    let mut s = new_drf("cpus:100;mem:100");
    add(&mut s, "a/a", "cpus:5;mem:5");
    add(&mut s, "b/b", "cpus:6;mem:6");
    assert_eq!(s.sort(), ["a/a", "b/b"]);
    add(&mut s, "c/c", "cpus:1;mem:1");
    add(&mut s, "d/d", "cpus:3;mem:1");
    assert_eq!(s.sort(), ["c/c", "d/d", "a/a", "b/b"]);
    s.remove("a/a");
    s.unallocated("b/b", &q("cpus:4;mem:4"));
    assert_eq!(s.sort(), ["c/c", "b/b", "d/d"]);
    add(&mut s, "e/e", "cpus:1;mem:5");
    s.remove_total(&q("cpus:50"));
    assert_eq!(s.sort(), ["c/c", "b/b", "e/e", "d/d"]);
    s.add_total(&q("mem:100"));
    add(&mut s, "f/f", "cpus:5;mem:1");
    s.allocated("c/c", &q("mem:15"));
    assert_eq!(s.sort(), ["e/e", "b/b", "d/d", "c/c", "f/f"]);
    s.deactivate("d/d");
    assert_eq!(s.sort(), ["e/e", "b/b", "c/c", "f/f"]);
    s.activate("d/d");
    assert_eq!(s.sort(), ["e/e", "b/b", "d/d", "c/c", "f/f"]);
}

#[test]
fn add_child_to_leaf() {
    let mut s = new_drf("cpus:100;mem:100");
    add(&mut s, "a", "cpus:10;mem:10");
    add(&mut s, "b", "cpus:6;mem:6");
    assert_eq!(s.sort(), ["b", "a"]);
    add(&mut s, "a/c", "cpus:5;mem:5");
    assert_eq!(s.sort(), ["b", "a/c", "a"]);
    s.remove("a");
    assert!(!s.contains("a"));
    assert_eq!(s.sort(), ["a/c", "b"]);
    add(&mut s, "a", "cpus:10;mem:10");
    assert!(s.contains("a"));
    assert_eq!(s.sort(), ["b", "a/c", "a"]);
    s.update_weight("a/c", 0.2);
    assert_eq!(s.sort(), ["b", "a", "a/c"]);
    s.update_weight("a", 3.0);
    assert_eq!(s.sort(), ["a", "a/c", "b"]);
    s.update_weight("a/c", 1.0);
    assert_eq!(s.sort(), ["a/c", "a", "b"]);
}

#[test]
fn add_child_to_inactive_leaf() {
    let mut s = new_drf("cpus:100;mem:100");
    add(&mut s, "a", "cpus:10;mem:10");
    add(&mut s, "b", "cpus:6;mem:6");
    s.deactivate("a");
    add(&mut s, "a/c", "cpus:5;mem:5");
    // "a" stays inactive after being moved under a virtual leaf.
    assert_eq!(s.sort(), ["b", "a/c"]);
}

#[test]
fn remove_leaf_collapse_parent() {
    let mut s = new_drf("cpus:100;mem:100");
    add(&mut s, "a", "cpus:1");
    add(&mut s, "b", "cpus:2");
    add(&mut s, "a/c", "cpus:5");
    s.remove("a/c");
    assert_eq!(s.sort(), ["a", "b"]);
    s.remove("a");
    assert_eq!(s.sort(), ["b"]);
    assert_eq!(s.count(), 1);
}

#[test]
fn fairness_exclusion() {
    // Mirrors `HierarchicalAllocatorTest.DRFWithFairnessExclusion` at the sorter level.
    let mut s = new_drf("cpus:100;mem:100;gpus:1");
    s.set_fairness_exclude(["gpus".to_string()]);
    add(&mut s, "a", "cpus:10;gpus:1");
    add(&mut s, "b", "cpus:20");
    assert_eq!(s.sort(), ["a", "b"]);
}

#[test]
fn random_sorter_is_seeded_and_complete() {
    let make = |seed| {
        let mut s = Sorter::new(SorterKind::Random, seed);
        s.add_total(&q("cpus:10"));
        for c in ["a", "b/x", "b/y", "c"] {
            add(&mut s, c, "cpus:1");
        }
        s
    };
    let (mut s1, mut s2) = (make(7), make(7));
    let orders1: Vec<_> = (0..5).map(|_| s1.sort()).collect();
    let orders2: Vec<_> = (0..5).map(|_| s2.sort()).collect();
    assert_eq!(orders1, orders2);
    for o in &orders1 {
        let mut sorted = o.clone();
        sorted.sort();
        assert_eq!(sorted, ["a", "b/x", "b/y", "c"]);
        // Siblings of a subtree stay adjacent (shuffled level by level).
        let bx = o.iter().position(|c| c == "b/x").unwrap();
        let by = o.iter().position(|c| c == "b/y").unwrap();
        assert_eq!(bx.abs_diff(by), 1);
    }
}
