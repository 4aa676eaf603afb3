//! Predicates and arithmetic on a single `Resource` (mirrors the static helpers
//! and `addable`/`subtractable` in `src/common/resources.cpp`).
//!
//! Every function here expects the "post-reservation-refinement" format
//! (`reservations` stack set, deprecated `role`/`reservation` cleared); use
//! [`upgrade`] on anything coming off the wire first.

#![allow(deprecated)] // `Resource.role` / `Resource.reservation` are deprecated upstream too.

use mesos_proto::mesos::resource::disk_info::source::Type as SourceType;
use mesos_proto::mesos::resource::reservation_info::Type as ReservationType;
use mesos_proto::mesos::resource::ReservationInfo;
use mesos_proto::mesos::value::Type as ValueType;
use mesos_proto::mesos::{Labels, Resource};

use super::roles;
use super::values::*;
use crate::error::{Error, Result};

/// The value type of a resource, `None` for an out-of-range enum.
pub fn value_type(r: &Resource) -> Option<ValueType> {
    ValueType::try_from(r.r#type).ok()
}

/// True for `SCALAR` resources.
pub fn is_scalar(r: &Resource) -> bool {
    r.r#type == ValueType::Scalar as i32
}

/// Scalar value (0 when unset).
pub fn scalar(r: &Resource) -> f64 {
    r.scalar.map(|s| s.value).unwrap_or(0.0)
}

/// Converts a resource to the post-reservation-refinement format
/// (mirrors `upgradeResource` in `src/common/resources_utils.cpp`).
pub fn upgrade(r: &mut Resource) {
    if !r.reservations.is_empty() {
        r.role = None;
        r.reservation = None;
        return;
    }
    let role = r.role.take();
    let reservation = r.reservation.take();
    match role.as_deref() {
        None | Some("*") => {}
        Some(role) => {
            let mut info = ReservationInfo {
                r#type: Some(ReservationType::Static as i32),
                role: Some(role.to_string()),
                principal: None,
                labels: None,
            };
            if let Some(dynamic) = reservation {
                info.r#type = Some(ReservationType::Dynamic as i32);
                info.principal = dynamic.principal;
                info.labels = dynamic.labels;
            }
            r.reservations.push(info);
        }
    }
}

/// Copies of `rs`, each [`upgrade`]d.
pub fn upgraded(rs: &[Resource]) -> Vec<Resource> {
    rs.iter()
        .cloned()
        .map(|mut x| {
            upgrade(&mut x);
            x
        })
        .collect()
}

/// Converts to the pre-refinement ("endpoint") format used by old agents and
/// v0 JSON: sets `role` (and `reservation` for a dynamic reservation) while
/// keeping the `reservations` stack (mirrors `convertResourceFormat(ENDPOINT)`).
/// Refined (stacked) reservations have no old-format equivalent and are left
/// as they are, as upstream leaves them.
pub fn to_endpoint_format(r: &mut Resource) {
    match r.reservations.as_slice() {
        [] => r.role = Some("*".into()),
        [only] => {
            if only.r#type == Some(ReservationType::Dynamic as i32) {
                r.reservation = Some(ReservationInfo {
                    r#type: None,
                    role: None,
                    principal: only.principal.clone(),
                    labels: only.labels.clone(),
                });
            }
            r.role = only.role.clone();
        }
        _ => {}
    }
}

/// True if the resource carries no reservation.
pub fn is_unreserved(r: &Resource) -> bool {
    r.reservations.is_empty()
}

/// The role of the innermost reservation (`None` when unreserved).
pub fn reservation_role(r: &Resource) -> Option<&str> {
    r.reservations.last().and_then(|i| i.role.as_deref())
}

/// Reserved, and (if `role` is given) reserved to exactly that role.
pub fn is_reserved(r: &Resource, role: Option<&str>) -> bool {
    !is_unreserved(r) && role.is_none_or(|role| reservation_role(r) == Some(role))
}

/// Unreserved, or reserved to `role` or one of its ancestors.
pub fn is_allocatable_to(r: &Resource, role: &str) -> bool {
    match reservation_role(r) {
        None => true,
        Some(rr) => rr == role || roles::is_strict_subrole_of(role, rr),
    }
}

/// The last reservation is dynamic.
pub fn is_dynamically_reserved(r: &Resource) -> bool {
    r.reservations
        .last()
        .is_some_and(|i| i.r#type == Some(ReservationType::Dynamic as i32))
}

/// More than one reservation on the stack.
pub fn has_refined_reservations(r: &Resource) -> bool {
    r.reservations.len() > 1
}

/// Revocable (oversubscribed) resource.
pub fn is_revocable(r: &Resource) -> bool {
    r.revocable.is_some()
}

/// An unreserved, non-revocable scalar: what quota and quota headroom count,
/// and what the allocation cycle may cut to limits and headroom.
pub fn is_quota_scalar(r: &Resource) -> bool {
    is_scalar(r) && is_unreserved(r) && !is_revocable(r)
}

/// Shared resource (e.g. a shared persistent volume).
pub fn is_shared(r: &Resource) -> bool {
    r.shared.is_some()
}

/// Disk with a persistence id.
pub fn is_persistent_volume(r: &Resource) -> bool {
    r.disk.as_ref().is_some_and(|d| d.persistence.is_some())
}

/// Disk whose source has the given type.
pub fn is_disk(r: &Resource, t: SourceType) -> bool {
    r.disk
        .as_ref()
        .and_then(|d| d.source.as_ref())
        .is_some_and(|s| s.r#type == t as i32)
}

/// Allocated to `role` or one of its descendants.
pub fn is_allocated_to_role_subtree(r: &Resource, role: &str) -> bool {
    let a = r
        .allocation_info
        .as_ref()
        .and_then(|a| a.role.as_deref())
        .unwrap_or("");
    a == role || roles::is_strict_subrole_of(a, role)
}

/// Reserved to `role` or one of its descendants.
pub fn is_reserved_to_role_subtree(r: &Resource, role: &str) -> bool {
    reservation_role(r).is_some_and(|rr| rr == role || roles::is_strict_subrole_of(rr, role))
}

/// Empty value (zero scalar, no ranges, no items).
pub fn is_empty_value(r: &Resource) -> bool {
    match value_type(r) {
        Some(ValueType::Scalar) => to_fixed(scalar(r)) == 0,
        Some(ValueType::Ranges) => r.ranges.as_ref().is_none_or(|x| x.range.is_empty()),
        Some(ValueType::Set) => r.set.as_ref().is_none_or(|x| x.item.is_empty()),
        _ => false,
    }
}

/// Label equality regardless of order (mirrors `operator==(Labels, Labels)`).
pub fn labels_eq(a: &Option<Labels>, b: &Option<Labels>) -> bool {
    let empty = Vec::new();
    let a = a.as_ref().map(|l| &l.labels).unwrap_or(&empty);
    let b = b.as_ref().map(|l| &l.labels).unwrap_or(&empty);
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

fn reservation_eq(a: &ReservationInfo, b: &ReservationInfo) -> bool {
    a.r#type == b.r#type
        && a.role == b.role
        && a.principal == b.principal
        && labels_eq(&a.labels, &b.labels)
}

/// Equal metadata: everything except the value (mirrors `compareResourceMetadata`).
pub fn same_metadata(l: &Resource, r: &Resource) -> bool {
    l.name == r.name
        && l.r#type == r.r#type
        && l.allocation_info == r.allocation_info
        && l.reservations.len() == r.reservations.len()
        && l.reservations
            .iter()
            .zip(&r.reservations)
            .all(|(a, b)| reservation_eq(a, b))
        && l.disk == r.disk
        && l.revocable.is_some() == r.revocable.is_some()
        && l.provider_id == r.provider_id
        && l.shared.is_some() == r.shared.is_some()
}

/// Full equality, values compared with upstream rules (scalars rounded,
/// ranges coalesced, sets unordered).
pub fn resource_eq(l: &Resource, r: &Resource) -> bool {
    if !same_metadata(l, r) {
        return false;
    }
    match value_type(l) {
        Some(ValueType::Scalar) => scalar_eq(scalar(l), scalar(r)),
        Some(ValueType::Ranges) => ranges_eq(
            l.ranges.as_ref().unwrap_or(&Default::default()),
            r.ranges.as_ref().unwrap_or(&Default::default()),
        ),
        Some(ValueType::Set) => set_eq(
            l.set.as_ref().unwrap_or(&Default::default()),
            r.set.as_ref().unwrap_or(&Default::default()),
        ),
        _ => false,
    }
}

/// Can `l + r` be represented by one `Resource`?
pub fn addable(l: &Resource, r: &Resource) -> bool {
    if l.shared.is_some() != r.shared.is_some() {
        return false;
    }
    if l.shared.is_some() {
        return resource_eq(l, r);
    }
    if !same_metadata(l, r) {
        return false;
    }
    if let Some(disk) = &l.disk {
        if let Some(src) = &disk.source {
            match SourceType::try_from(src.r#type) {
                Ok(SourceType::Path) => {}
                // Exclusive disks cannot be merged: that would defeat exclusivity.
                Ok(SourceType::Block) | Ok(SourceType::Mount) => return false,
                Ok(SourceType::Raw) if src.id.is_some() => return false,
                Ok(SourceType::Raw) => {}
                _ => return false,
            }
        }
        if disk.persistence.is_some() {
            return false;
        }
    }
    true
}

/// Can `r` be subtracted from `l` leaving one `Resource`?
pub fn subtractable(l: &Resource, r: &Resource) -> bool {
    if l.shared.is_some() != r.shared.is_some() {
        return false;
    }
    if l.shared.is_some() {
        return resource_eq(l, r);
    }
    if !same_metadata(l, r) {
        return false;
    }
    if let Some(disk) = &l.disk {
        if let Some(src) = &disk.source {
            match SourceType::try_from(src.r#type) {
                Ok(SourceType::Path) => {}
                Ok(SourceType::Block) | Ok(SourceType::Mount) => {
                    if !resource_eq(l, r) {
                        return false;
                    }
                }
                Ok(SourceType::Raw) => {
                    if src.id.is_some() && !resource_eq(l, r) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        if disk.persistence.is_some() && !resource_eq(l, r) {
            return false;
        }
    }
    true
}

/// `l += r` on the value, assuming [`addable`].
pub fn add_value(l: &mut Resource, r: &Resource) {
    match value_type(l) {
        Some(ValueType::Scalar) => {
            let v = scalar_add(scalar(l), scalar(r));
            l.scalar = Some(mesos_proto::mesos::value::Scalar { value: v });
        }
        Some(ValueType::Ranges) => {
            let sum = ranges_add(
                l.ranges.as_ref().unwrap_or(&Default::default()),
                r.ranges.as_ref().unwrap_or(&Default::default()),
            );
            l.ranges = Some(sum);
        }
        Some(ValueType::Set) => {
            let sum = set_add(
                l.set.as_ref().unwrap_or(&Default::default()),
                r.set.as_ref().unwrap_or(&Default::default()),
            );
            l.set = Some(sum);
        }
        _ => {}
    }
}

/// `l -= r` on the value, assuming [`subtractable`].
pub fn sub_value(l: &mut Resource, r: &Resource) {
    match value_type(l) {
        Some(ValueType::Scalar) => {
            let v = scalar_sub(scalar(l), scalar(r));
            l.scalar = Some(mesos_proto::mesos::value::Scalar { value: v });
        }
        Some(ValueType::Ranges) => {
            let d = ranges_sub(
                l.ranges.as_ref().unwrap_or(&Default::default()),
                r.ranges.as_ref().unwrap_or(&Default::default()),
            );
            l.ranges = Some(d);
        }
        Some(ValueType::Set) => {
            let d = set_sub(
                l.set.as_ref().unwrap_or(&Default::default()),
                r.set.as_ref().unwrap_or(&Default::default()),
            );
            l.set = Some(d);
        }
        _ => {}
    }
}

/// Does `l` contain `r` (mirrors the free function `contains(Resource, Resource)`)?
pub fn contains(l: &Resource, r: &Resource) -> bool {
    if !subtractable(l, r) {
        return false;
    }
    match value_type(l) {
        Some(ValueType::Scalar) => to_fixed(scalar(r)) <= to_fixed(scalar(l)),
        Some(ValueType::Ranges) => ranges_le(
            r.ranges.as_ref().unwrap_or(&Default::default()),
            l.ranges.as_ref().unwrap_or(&Default::default()),
        ),
        Some(ValueType::Set) => set_le(
            r.set.as_ref().unwrap_or(&Default::default()),
            l.set.as_ref().unwrap_or(&Default::default()),
        ),
        _ => false,
    }
}

/// Validates one resource (mirrors `Resources::validate(const Resource&)`).
pub fn validate(r: &Resource) -> Result<()> {
    let bad = |m: &str| Err(Error::InvalidResource(m.to_string()));
    if r.name.is_empty() {
        return bad("Empty resource name");
    }
    match value_type(r) {
        Some(ValueType::Scalar) => {
            if r.scalar.is_none() || r.ranges.is_some() || r.set.is_some() {
                return bad("Invalid scalar resource");
            }
            let v = scalar(r);
            if !v.is_finite() {
                return bad("Invalid scalar resource: value is not finite");
            }
            if v != 0.0 && to_fixed(v) <= 0 {
                return bad("Invalid scalar resource: value <= 0");
            }
        }
        Some(ValueType::Ranges) => {
            let Some(ranges) = (if r.scalar.is_none() && r.set.is_none() {
                r.ranges.as_ref()
            } else {
                None
            }) else {
                return bad("Invalid ranges resource");
            };
            for (i, a) in ranges.range.iter().enumerate() {
                if a.begin > a.end {
                    return bad("Invalid ranges resource: begin > end");
                }
                for b in &ranges.range[i + 1..] {
                    if a.begin <= b.begin && b.begin <= a.end {
                        return bad("Invalid ranges resource: overlapping ranges");
                    }
                }
            }
        }
        Some(ValueType::Set) => {
            let Some(set) = (if r.scalar.is_none() && r.ranges.is_none() {
                r.set.as_ref()
            } else {
                None
            }) else {
                return bad("Invalid set resource");
            };
            for (i, a) in set.item.iter().enumerate() {
                if set.item[i + 1..].contains(a) {
                    return bad("Invalid set resource: duplicated elements");
                }
            }
        }
        _ => return bad("Unsupported resource type"),
    }
    if let Some(disk) = &r.disk {
        if r.name != "disk" {
            return Err(Error::InvalidResource(format!(
                "DiskInfo should not be set for {} resource",
                r.name
            )));
        }
        if let Some(src) = &disk.source {
            match SourceType::try_from(src.r#type) {
                Ok(SourceType::Path) | Ok(SourceType::Mount) => {}
                Ok(SourceType::Block) | Ok(SourceType::Raw) => {
                    if src.mount.is_some() || src.path.is_some() {
                        return bad("Mount/Path should not be set for BLOCK or RAW disk source");
                    }
                }
                _ => return bad("Unsupported 'DiskInfo.Source.Type'"),
            }
        }
    }
    if r.reservations.is_empty() {
        if let Some(role) = &r.role {
            roles::validate(role)?;
        }
        if let Some(res) = &r.reservation {
            if res.r#type.is_some() {
                return bad("'Resource.ReservationInfo.type' must not be set for the 'Resource.reservation' field");
            }
            if res.role.is_some() {
                return bad("'Resource.ReservationInfo.role' must not be set for the 'Resource.reservation' field");
            }
            if r.role.as_deref().unwrap_or("*") == "*" {
                return bad("Invalid reservation: role \"*\" cannot be dynamically reserved");
            }
        }
    } else {
        for res in &r.reservations {
            let Some(t) = res.r#type else {
                return bad(
                    "Invalid reservation: 'Resource.ReservationInfo.type' field must be set.",
                );
            };
            let Some(role) = &res.role else {
                return bad(
                    "Invalid reservation: 'Resource.ReservationInfo.role' field must be set.",
                );
            };
            roles::validate(role)?;
            if role == "*" {
                return bad("Invalid reservation: role \"*\" cannot be reserved");
            }
            if ReservationType::try_from(t).unwrap_or(ReservationType::Unknown)
                == ReservationType::Unknown
            {
                return bad("Unsupported 'Resource.ReservationInfo.Type'");
            }
        }
        for w in r.reservations.windows(2) {
            if w[1].r#type == Some(ReservationType::Static as i32) {
                return bad("Invalid refined reservation: A refined reservation cannot be STATIC");
            }
            let (a, d) = (
                w[0].role.as_deref().unwrap_or(""),
                w[1].role.as_deref().unwrap_or(""),
            );
            if !roles::is_strict_subrole_of(d, a) {
                return Err(Error::InvalidResource(format!(
                    "Invalid refined reservation: role '{d}' is not a refinement of '{a}'"
                )));
            }
        }
        if r.reservations.len() == 1 {
            let only = &r.reservations[0];
            if r.role.is_some() && r.role != only.role {
                return bad("Invalid resource format: 'Resource.role' does not match 'Resource.reservations'");
            }
            if only.r#type == Some(ReservationType::Static as i32) && r.reservation.is_some() {
                return bad("Invalid resource format: 'Resource.reservation' must not be set if the single reservation in 'Resource.reservations' is STATIC");
            }
        } else if r.role.is_some() || r.reservation.is_some() {
            return bad("Invalid resource format: refined reservations must not set 'Resource.role' or 'Resource.reservation'");
        }
    }
    if r.shared.is_some() && !is_persistent_volume(r) {
        return bad("Only persistent volumes can be shared");
    }
    Ok(())
}

/// Display of one resource, upstream style:
/// `disk(allocated: r)(reservations: [(DYNAMIC,r,p)])[id:/path]{REV}<SHARED>:10`.
pub fn format_resource(r: &Resource) -> String {
    let mut s = r.name.clone();
    if let Some(a) = &r.allocation_info {
        s.push_str(&format!("(allocated: {})", a.role.as_deref().unwrap_or("")));
    }
    if !r.reservations.is_empty() {
        let parts: Vec<String> = r
            .reservations
            .iter()
            .map(|i| {
                let t = ReservationType::try_from(i.r#type.unwrap_or(0))
                    .unwrap_or(ReservationType::Unknown)
                    .as_str_name();
                let mut p = format!("({},{}", t, i.role.as_deref().unwrap_or(""));
                if let Some(pr) = &i.principal {
                    p.push(',');
                    p.push_str(pr);
                }
                if let Some(l) = &i.labels {
                    p.push(',');
                    p.push_str(&format_labels(l));
                }
                p.push(')');
                p
            })
            .collect();
        s.push_str(&format!("(reservations: [{}])", parts.join(",")));
    }
    if let Some(d) = &r.disk {
        let mut ds = String::new();
        if let Some(src) = &d.source {
            let t = SourceType::try_from(src.r#type).unwrap_or(SourceType::Unknown);
            ds.push_str(t.as_str_name());
            if src.id.is_some() || src.profile.is_some() {
                ds.push_str(&format!(
                    "({},{},{})",
                    src.vendor.as_deref().unwrap_or(""),
                    src.id.as_deref().unwrap_or(""),
                    src.profile.as_deref().unwrap_or("")
                ));
            } else {
                let root = match t {
                    SourceType::Mount => src.mount.as_ref().and_then(|m| m.root.clone()),
                    SourceType::Path => src.path.as_ref().and_then(|m| m.root.clone()),
                    _ => None,
                };
                if let Some(root) = root {
                    ds.push(':');
                    ds.push_str(&root);
                }
            }
        }
        if let Some(p) = &d.persistence {
            if d.source.is_some() {
                ds.push(',');
            }
            ds.push_str(&p.id);
        }
        if let Some(v) = &d.volume {
            ds.push(':');
            let mut cfg = v.container_path.clone();
            if let Some(h) = &v.host_path {
                cfg = format!("{h}:{cfg}");
                cfg.push_str(if v.mode == 2 { ":ro" } else { ":rw" });
            }
            ds.push_str(&cfg);
        }
        s.push_str(&format!("[{ds}]"));
    }
    if r.revocable.is_some() {
        s.push_str("{REV}");
    }
    if r.shared.is_some() {
        s.push_str("<SHARED>");
    }
    s.push(':');
    match value_type(r) {
        Some(ValueType::Scalar) => s.push_str(&format_scalar(scalar(r))),
        Some(ValueType::Ranges) => s.push_str(&format_ranges(
            r.ranges.as_ref().unwrap_or(&Default::default()),
        )),
        Some(ValueType::Set) => {
            s.push_str(&format_set(r.set.as_ref().unwrap_or(&Default::default())))
        }
        _ => s.push('?'),
    }
    s
}

fn format_labels(l: &Labels) -> String {
    let parts: Vec<String> = l
        .labels
        .iter()
        .map(|x| match &x.value {
            Some(v) => format!("{}: {}", x.key, v),
            None => x.key.clone(),
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}
