//! The resource arithmetic the master needs: sums, differences and
//! containment of `Resource` lists, and the two reservation formats.
//!
//! Upstream keeps resources in the "post reservation refinement" format
//! internally (`reservations` stack, no `role`) and converts at the edges
//! (`src/common/resources_utils.cpp` `convertResourceFormat`,
//! `upgradeResources`/`downgradeResources`). We do the same: everything in
//! [`Resources`] is upgraded; [`downgrade`] produces the old `role`-based form
//! for frameworks and agents without the RESERVATION_REFINEMENT capability.
//!
//! Two resources combine when everything but their value and allocation
//! matches (upstream `addable`/`subtractable` in `src/common/resources.cpp`).
//! The allocator crate has the complete arithmetic; this module is the small
//! part the master's validation and bookkeeping needs.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use mesos_proto::mesos::resource::reservation_info::Type as ReservationType;
use mesos_proto::mesos::resource::ReservationInfo;
use mesos_proto::mesos::value::{self, Range, Ranges, Scalar, Set};
use mesos_proto::mesos::Resource;

/// Scalars are compared with three decimal digits, as upstream's fixed-point
/// `Value::Scalar` arithmetic (`src/common/values.cpp`).
fn fixed(v: f64) -> i64 {
    (v * 1000.0).round() as i64
}

fn unfixed(v: i64) -> f64 {
    v as f64 / 1000.0
}

/// Converts one resource to the post-refinement format: a `role` other
/// than `*` becomes the bottom of the `reservations` stack.
pub fn upgrade(r: &mut Resource) {
    if r.reservations.is_empty() {
        if let Some(role) = r.role.clone().filter(|x| x != "*") {
            let mut info = ReservationInfo {
                role: Some(role),
                ..Default::default()
            };
            match r.reservation.take() {
                Some(res) => {
                    info.r#type = Some(ReservationType::Dynamic as i32);
                    info.principal = res.principal;
                    info.labels = res.labels;
                }
                None => info.r#type = Some(ReservationType::Static as i32),
            }
            r.reservations.push(info);
        }
    }
    r.role = None;
    r.reservation = None;
}

/// Converts one resource to the pre-refinement format (`role`, optional
/// `reservation`), for peers without RESERVATION_REFINEMENT. Resources with a
/// refined (stacked) reservation cannot be expressed and are left as they are.
pub fn downgrade(r: &mut Resource) {
    match r.reservations.len() {
        0 => r.role = Some("*".to_string()),
        1 => {
            let info = r.reservations.remove(0);
            r.role = info.role.clone();
            if info.r#type == Some(ReservationType::Dynamic as i32) {
                r.reservation = Some(ReservationInfo {
                    principal: info.principal,
                    labels: info.labels,
                    ..Default::default()
                });
            }
        }
        _ => {}
    }
}

/// The role a resource is reserved to (`*` when unreserved).
pub fn reservation_role(r: &Resource) -> &str {
    r.reservations
        .last()
        .and_then(|i| i.role.as_deref())
        .or(r.role.as_deref())
        .unwrap_or("*")
}

/// Everything but the value must match for two (upgraded) resources to
/// combine; the allocation role is part of it, as upstream's `addable`.
/// Field by field rather than by comparing encodings of value-less copies:
/// this runs for every resource of every task, offer and executor summed,
/// and the copies were most of the cost of `/master/state`. None of these
/// fields holds a float or a map, so `==` agrees with comparing encodings;
/// the exhaustive pattern makes a new `Resource` field a compile error here.
fn same_key(a: &Resource, b: &Resource) -> bool {
    let Resource {
        provider_id,
        name,
        r#type,
        scalar: _,
        ranges: _,
        set: _,
        role,
        allocation_info,
        reservation,
        reservations,
        disk,
        revocable,
        shared,
    } = a;
    *name == b.name
        && *r#type == b.r#type
        && *role == b.role
        && *allocation_info == b.allocation_info
        && *reservations == b.reservations
        && *reservation == b.reservation
        && *provider_id == b.provider_id
        && *disk == b.disk
        && *revocable == b.revocable
        && *shared == b.shared
}

/// `r` in the post-refinement format, copied only when it is not already
/// (`upgrade` leaves a resource without `role` and `reservation` as it is).
fn upgraded(r: &Resource) -> Cow<'_, Resource> {
    if r.role.is_none() && r.reservation.is_none() {
        Cow::Borrowed(r)
    } else {
        let mut r = r.clone();
        upgrade(&mut r);
        Cow::Owned(r)
    }
}

fn merge_ranges(mut rs: Vec<Range>) -> Vec<Range> {
    rs.sort_by_key(|r| (r.begin, r.end));
    let mut out: Vec<Range> = Vec::new();
    for r in rs {
        if r.begin > r.end {
            continue;
        }
        match out.last_mut() {
            Some(last) if r.begin <= last.end.saturating_add(1) => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

fn subtract_ranges(a: &[Range], b: &[Range]) -> Vec<Range> {
    let mut out = Vec::new();
    for r in a {
        let mut pieces = vec![(r.begin, r.end)];
        for s in b {
            let mut next = Vec::new();
            for (lo, hi) in pieces {
                if s.end < lo || s.begin > hi {
                    next.push((lo, hi));
                    continue;
                }
                if s.begin > lo {
                    next.push((lo, s.begin - 1));
                }
                if s.end < hi {
                    next.push((s.end + 1, hi));
                }
            }
            pieces = next;
        }
        out.extend(pieces.into_iter().map(|(begin, end)| Range { begin, end }));
    }
    merge_ranges(out)
}

fn ranges_contain(a: &[Range], b: &[Range]) -> bool {
    subtract_ranges(b, a).is_empty()
}

/// Is this a resource with a usable value (positive scalar, non-empty ranges
/// or set)? Upstream drops empty resources from every `Resources`.
fn is_empty(r: &Resource) -> bool {
    match value::Type::try_from(r.r#type) {
        Ok(value::Type::Scalar) => r.scalar.as_ref().is_none_or(|s| fixed(s.value) <= 0),
        Ok(value::Type::Ranges) => r.ranges.as_ref().is_none_or(|s| s.range.is_empty()),
        Ok(value::Type::Set) => r.set.as_ref().is_none_or(|s| s.item.is_empty()),
        _ => true,
    }
}

/// A normalized collection of resources.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resources {
    items: Vec<Resource>,
}

impl Resources {
    pub const fn new() -> Resources {
        Resources { items: Vec::new() }
    }

    /// Upgrades and combines `rs`; empty and typeless resources are dropped.
    pub fn from_vec<'a>(rs: impl IntoIterator<Item = &'a Resource>) -> Resources {
        let mut out = Resources::new();
        for r in rs {
            out.add(r);
        }
        out
    }

    /// Drops spare capacity (for long-lived copies).
    pub fn shrink_to_fit(&mut self) {
        self.items.shrink_to_fit();
    }

    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.items.iter()
    }

    pub fn to_vec(&self) -> Vec<Resource> {
        self.items.clone()
    }

    /// The resources in upstream's ENDPOINT format, as the operator API
    /// prints them (`convertResourceFormat(.., ENDPOINT)` in
    /// src/common/resources_utils.cpp): the `reservations` stack kept, plus the
    /// deprecated `role` (and `reservation`) where one reservation or none.
    pub fn to_endpoint_vec(&self) -> Vec<Resource> {
        self.items
            .iter()
            .cloned()
            .map(|mut r| {
                mesos_allocator::resources::resource::to_endpoint_format(&mut r);
                r
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sum of the scalar resources named `name`.
    pub fn scalar(&self, name: &str) -> f64 {
        unfixed(
            self.items
                .iter()
                .filter(|r| r.name == name)
                .filter_map(|r| r.scalar.as_ref())
                .map(|s| fixed(s.value))
                .sum(),
        )
    }

    /// All port ranges named `name`, merged.
    pub fn ranges(&self, name: &str) -> Vec<Range> {
        merge_ranges(
            self.items
                .iter()
                .filter(|r| r.name == name)
                .filter_map(|r| r.ranges.as_ref())
                .flat_map(|r| r.range.iter().cloned())
                .collect(),
        )
    }

    /// Adds one resource.
    pub fn add(&mut self, r: &Resource) {
        let r = upgraded(r);
        if is_empty(&r) {
            return;
        }
        if let Some(existing) = self.items.iter_mut().find(|e| same_key(e, &r)) {
            match value::Type::try_from(r.r#type) {
                Ok(value::Type::Scalar) => {
                    let a = existing.scalar.as_ref().map_or(0.0, |s| s.value);
                    let b = r.scalar.as_ref().map_or(0.0, |s| s.value);
                    existing.scalar = Some(Scalar {
                        value: unfixed(fixed(a) + fixed(b)),
                    });
                }
                Ok(value::Type::Ranges) => {
                    let mut all = existing.ranges.take().unwrap_or_default().range;
                    all.extend(r.ranges.iter().flat_map(|x| x.range.iter().cloned()));
                    existing.ranges = Some(Ranges {
                        range: merge_ranges(all),
                    });
                }
                Ok(value::Type::Set) => {
                    let mut all: BTreeSet<String> = existing
                        .set
                        .take()
                        .unwrap_or_default()
                        .item
                        .into_iter()
                        .collect();
                    all.extend(r.set.iter().flat_map(|x| x.item.iter().cloned()));
                    existing.set = Some(Set {
                        item: all.into_iter().collect(),
                    });
                }
                _ => {}
            }
        } else {
            let mut r = r.into_owned();
            if let Some(rs) = r.ranges.as_mut() {
                rs.range = merge_ranges(std::mem::take(&mut rs.range));
            }
            self.items.push(r);
        }
    }

    /// Adds each resource of a protobuf list (not yet normalized).
    pub fn add_slice(&mut self, rs: &[Resource]) {
        for r in rs {
            self.add(r);
        }
    }

    pub fn add_all(&mut self, other: &Resources) {
        for r in other.iter() {
            self.add(r);
        }
    }

    /// Removes one resource; whatever is not present is ignored (upstream
    /// `operator-=` likewise subtracts only what it can).
    pub fn subtract(&mut self, r: &Resource) {
        let r = upgraded(r);
        if let Some(pos) = self.items.iter().position(|e| same_key(e, &r)) {
            let e = &mut self.items[pos];
            match value::Type::try_from(r.r#type) {
                Ok(value::Type::Scalar) => {
                    let a = e.scalar.as_ref().map_or(0.0, |s| s.value);
                    let b = r.scalar.as_ref().map_or(0.0, |s| s.value);
                    e.scalar = Some(Scalar {
                        value: unfixed((fixed(a) - fixed(b)).max(0)),
                    });
                }
                Ok(value::Type::Ranges) => {
                    let a = e.ranges.take().unwrap_or_default().range;
                    let b = r.ranges.as_ref().map_or(&[][..], |x| &x.range[..]);
                    e.ranges = Some(Ranges {
                        range: subtract_ranges(&a, b),
                    });
                }
                Ok(value::Type::Set) => {
                    let b: BTreeSet<&String> = r.set.iter().flat_map(|x| x.item.iter()).collect();
                    let a = e.set.take().unwrap_or_default().item;
                    e.set = Some(Set {
                        item: a.into_iter().filter(|i| !b.contains(i)).collect(),
                    });
                }
                _ => {}
            }
            if is_empty(&self.items[pos]) {
                self.items.remove(pos);
            }
        }
    }

    pub fn subtract_all(&mut self, other: &Resources) {
        for r in other.iter() {
            self.subtract(r);
        }
    }

    /// Whether `self` holds at least `r`.
    pub fn contains_one(&self, r: &Resource) -> bool {
        let r = upgraded(r);
        if is_empty(&r) {
            return true;
        }
        let Some(e) = self.items.iter().find(|e| same_key(e, &r)) else {
            return false;
        };
        match value::Type::try_from(r.r#type) {
            Ok(value::Type::Scalar) => {
                fixed(e.scalar.as_ref().map_or(0.0, |s| s.value))
                    >= fixed(r.scalar.as_ref().map_or(0.0, |s| s.value))
            }
            Ok(value::Type::Ranges) => ranges_contain(
                &e.ranges.clone().unwrap_or_default().range,
                &r.ranges.clone().unwrap_or_default().range,
            ),
            Ok(value::Type::Set) => {
                let a: BTreeSet<&String> = e.set.iter().flat_map(|s| s.item.iter()).collect();
                r.set
                    .iter()
                    .flat_map(|s| s.item.iter())
                    .all(|i| a.contains(i))
            }
            _ => false,
        }
    }

    /// Whether `self` holds all of `other`.
    pub fn contains(&self, other: &Resources) -> bool {
        other.iter().all(|r| self.contains_one(r))
    }

    /// The resources usable by `role`: unreserved ones plus those reserved
    /// to `role` (hierarchical sub-roles aside).
    pub fn allocatable_to(&self, role: &str) -> Resources {
        Resources {
            items: self
                .items
                .iter()
                .filter(|r| {
                    let rr = reservation_role(r);
                    rr == "*" || rr == role
                })
                .cloned()
                .collect(),
        }
    }

    /// The same resources without allocation roles (upstream
    /// `Resources::unallocate`), combined.
    pub fn unallocated(&self) -> Resources {
        let mut out = Resources::new();
        for r in &self.items {
            let mut r = r.clone();
            r.allocation_info = None;
            out.add(&r);
        }
        out
    }

    /// Copies with `allocation_info.role` set, as offered resources carry.
    pub fn allocated_to(&self, role: &str) -> Vec<Resource> {
        self.items
            .iter()
            .cloned()
            .map(|mut r| {
                r.allocation_info = Some(mesos_proto::mesos::resource::AllocationInfo {
                    role: Some(role.to_string()),
                });
                r
            })
            .collect()
    }
}

impl fmt::Display for Resources {
    /// Upstream's `cpus(allocated: *):1; mem(...)` rendering, simplified to
    /// `name(role):value`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", r.name)?;
            let role = reservation_role(r);
            if role != "*" {
                write!(f, "(reservations: [({role})])")?;
            }
            f.write_str(":")?;
            if let Some(s) = &r.scalar {
                write!(f, "{}", s.value)?;
            } else if let Some(rs) = &r.ranges {
                f.write_str("[")?;
                for (j, x) in rs.range.iter().enumerate() {
                    if j > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}-{}", x.begin, x.end)?;
                }
                f.write_str("]")?;
            } else if let Some(s) = &r.set {
                write!(f, "{{{}}}", s.item.join(", "))?;
            }
        }
        Ok(())
    }
}

/// Helpers for tests and fakes.
pub fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.to_string(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(Scalar { value: v }),
        ..Default::default()
    }
}

pub fn ranges(name: &str, rs: &[(u64, u64)]) -> Resource {
    Resource {
        name: name.to_string(),
        r#type: value::Type::Ranges as i32,
        ranges: Some(Ranges {
            range: rs
                .iter()
                .map(|&(begin, end)| Range { begin, end })
                .collect(),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(rs: &[Resource]) -> Resources {
        Resources::from_vec(rs)
    }

    #[test]
    fn scalars_add_and_subtract_in_fixed_point() {
        let mut a = res(&[
            scalar("cpus", 0.1),
            scalar("cpus", 0.2),
            scalar("mem", 64.0),
        ]);
        assert_eq!(a.scalar("cpus"), 0.3);
        a.subtract(&scalar("cpus", 0.3));
        assert_eq!(a.scalar("cpus"), 0.0);
        assert_eq!(a.iter().count(), 1, "empty cpus resource is dropped");
    }

    #[test]
    fn ranges_merge_subtract_and_contain() {
        let mut a = res(&[
            ranges("ports", &[(31000, 31005)]),
            ranges("ports", &[(31006, 31010)]),
        ]);
        assert_eq!(
            a.ranges("ports"),
            vec![Range {
                begin: 31000,
                end: 31010
            }]
        );
        assert!(a.contains_one(&ranges("ports", &[(31002, 31003)])));
        assert!(!a.contains_one(&ranges("ports", &[(30999, 31001)])));
        a.subtract(&ranges("ports", &[(31002, 31003)]));
        assert_eq!(
            a.ranges("ports"),
            vec![
                Range {
                    begin: 31000,
                    end: 31001
                },
                Range {
                    begin: 31004,
                    end: 31010
                }
            ]
        );
    }

    #[test]
    fn role_star_and_post_format_are_the_same_resource() {
        let mut old = scalar("cpus", 1.0);
        old.role = Some("*".into());
        let a = res(&[old, scalar("cpus", 1.0)]);
        assert_eq!(a.scalar("cpus"), 2.0);
        assert_eq!(a.iter().count(), 1);
    }

    #[test]
    fn reserved_resources_do_not_combine_with_unreserved() {
        let mut reserved = scalar("cpus", 1.0);
        reserved.role = Some("web".into());
        let a = res(&[reserved.clone(), scalar("cpus", 2.0)]);
        assert_eq!(a.iter().count(), 2);
        assert_eq!(a.allocatable_to("web").scalar("cpus"), 3.0);
        assert_eq!(a.allocatable_to("db").scalar("cpus"), 2.0);
        let mut down = a
            .iter()
            .find(|r| !r.reservations.is_empty())
            .unwrap()
            .clone();
        downgrade(&mut down);
        assert_eq!(down.role.as_deref(), Some("web"));
        assert!(down.reservations.is_empty());
    }

    #[test]
    fn allocation_role_separates_resources_until_unallocated() {
        let plain = res(&[scalar("cpus", 1.0)]);
        let alloc = Resources::from_vec(&plain.allocated_to("web"));
        let mut both = plain.clone();
        both.add_all(&alloc);
        assert_eq!(both.iter().count(), 2);
        assert!(!plain.contains(&alloc));
        assert_eq!(both.unallocated().iter().count(), 1);
        assert_eq!(both.unallocated().scalar("cpus"), 2.0);
    }

    #[test]
    fn containment_needs_every_resource() {
        let offer = res(&[scalar("cpus", 1.0), scalar("mem", 128.0)]);
        assert!(offer.contains(&res(&[scalar("cpus", 0.5), scalar("mem", 128.0)])));
        assert!(!offer.contains(&res(&[scalar("cpus", 1.5)])));
        assert!(!offer.contains(&res(&[scalar("disk", 1.0)])));
    }
}
