//! Validation of the speculative offer operations RESERVE, UNRESERVE,
//! CREATE and DESTROY, as `validation::operation::validate` in
//! src/master/validation.cpp (1.9). Messages follow upstream's so that
//! frameworks and operators see the same reasons.
//!
//! All resources are expected upgraded (post-refinement `reservations`
//! stack). `framework` is `Some` for an ACCEPT (resources carry their
//! allocation role) and `None` for the operator API (unallocated resources).

use std::collections::{BTreeMap, BTreeSet};

use mesos_allocator::resources::resource as r;
use mesos_allocator::Resources as AResources;
use mesos_proto::mesos::framework_info::capability::Type as FwCap;
use mesos_proto::mesos::offer::operation::{Create, Destroy, Reserve, Unreserve};
use mesos_proto::mesos::slave_info::capability::Type as AgentCap;
use mesos_proto::mesos::volume::Mode;
use mesos_proto::mesos::{FrameworkInfo, Resource};

use crate::state::framework::roles_of;

/// The agent capabilities the checks need.
#[derive(Clone, Copy, Debug, Default)]
pub struct AgentCaps {
    pub hierarchical_role: bool,
    pub reservation_refinement: bool,
}

impl AgentCaps {
    pub fn from_types(types: &[i32]) -> AgentCaps {
        AgentCaps {
            hierarchical_role: types.contains(&(AgentCap::HierarchicalRole as i32)),
            reservation_refinement: types.contains(&(AgentCap::ReservationRefinement as i32)),
        }
    }
}

fn show(res: &Resource) -> String {
    r::format_resource(res)
}

/// `resource::validate` plus `validateSingleResourceProvider`.
fn validate_resources(rs: &[Resource]) -> Result<(), String> {
    for x in rs {
        r::validate(x).map_err(|e| format!("Invalid resources: {e}"))?;
    }
    let providers: BTreeSet<Option<String>> = rs
        .iter()
        .map(|x| x.provider_id.as_ref().map(|p| p.value.clone()))
        .collect();
    if providers.len() > 1 {
        return Err("Invalid resources: The resources have multiple resource providers".into());
    }
    Ok(())
}

fn validate_persistent_volumes(rs: &[Resource]) -> Result<(), String> {
    for v in rs {
        let Some(disk) = v.disk.as_ref() else {
            return Err(format!(
                "Not a persistent volume: Resource {} does not have DiskInfo",
                show(v)
            ));
        };
        if disk.persistence.is_none() {
            return Err("Not a persistent volume: 'persistence' is not set in DiskInfo".into());
        }
        let Some(volume) = disk.volume.as_ref() else {
            return Err(
                "Not a persistent volume: Expecting 'volume' to be set for persistent volume"
                    .into(),
            );
        };
        if volume.mode == Mode::Ro as i32 {
            return Err(
                "Not a persistent volume: Read-only persistent volume not supported".into(),
            );
        }
    }
    Ok(())
}

fn validate_single_allocation_role(rs: &[Resource], what: &str) -> Result<(), String> {
    let mut role: Option<&str> = None;
    for x in rs {
        let Some(this) = x.allocation_info.as_ref().and_then(|a| a.role.as_deref()) else {
            return Err(format!(
                "Invalid {what} resources: The resources are not allocated to a role"
            ));
        };
        match role {
            None => role = Some(this),
            Some(other) if other != this => {
                return Err(format!(
                    "Invalid {what} resources: The resources have multiple allocation roles ('{this}' and '{other}') but only one allocation role is allowed"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// Persistence IDs are unique per role (`validateUniquePersistenceID`).
pub fn validate_unique_persistence_ids<'a>(
    volumes: impl IntoIterator<Item = &'a Resource>,
) -> Result<(), String> {
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for v in volumes {
        let Some(p) = v.disk.as_ref().and_then(|d| d.persistence.as_ref()) else {
            continue;
        };
        let role = r::reservation_role(v).unwrap_or("*").to_string();
        if !seen.entry(role).or_default().insert(p.id.clone()) {
            return Err(format!("Persistence ID '{}' is not unique", p.id));
        }
    }
    Ok(())
}

fn framework_roles(info: &FrameworkInfo) -> BTreeSet<String> {
    roles_of(info).into_iter().collect()
}

fn show_roles(roles: &BTreeSet<String>) -> String {
    format!(
        "{{ {} }}",
        roles.iter().cloned().collect::<Vec<_>>().join(", ")
    )
}

/// RESERVE (upstream `validate(Reserve, principal, capabilities, framework)`).
pub fn validate_reserve(
    reserve: &Reserve,
    principal: Option<&str>,
    caps: AgentCaps,
    framework: Option<&FrameworkInfo>,
) -> Result<(), String> {
    let resources = r::upgraded(&reserve.resources);
    validate_resources(&resources)?;
    let roles = framework.map(framework_roles);
    for x in &resources {
        if !r::is_dynamically_reserved(x) {
            return Err(format!("Resource {} is not dynamically reserved", show(x)));
        }
        let role = r::reservation_role(x).unwrap_or("*");
        if !caps.hierarchical_role && role.contains('/') {
            return Err(format!(
                "Resource {} with reservation for hierarchical role '{role}' cannot be reserved on an agent without HIERARCHICAL_ROLE capability",
                show(x)
            ));
        }
        if !caps.reservation_refinement && r::has_refined_reservations(x) {
            return Err(format!(
                "Resource {} with reservation refinement cannot be reserved on an agent without RESERVATION_REFINEMENT capability",
                show(x)
            ));
        }
        if let Some(p) = principal {
            let top = x.reservations.last().expect("dynamically reserved");
            match top.principal.as_deref() {
                None => {
                    return Err(format!(
                        "A reserve operation was attempted by principal '{p}', but there is a reserved resource in the request with no principal set"
                    ))
                }
                Some(rp) if rp != p => {
                    return Err(format!(
                        "A reserve operation was attempted by authenticated principal '{p}', which does not match a reserved resource in the request with principal '{rp}'"
                    ))
                }
                _ => {}
            }
        }
        match &roles {
            Some(roles) => {
                let Some(alloc) = x.allocation_info.as_ref().and_then(|a| a.role.as_deref()) else {
                    return Err(format!(
                        "A reserve operation was attempted on unallocated resource {}, but frameworks can only perform reservations on allocated resources",
                        show(x)
                    ));
                };
                if alloc != role {
                    return Err(format!(
                        "A reserve operation was attempted for a resource with role '{role}', but the resource was allocated to role '{alloc}'"
                    ));
                }
                if !roles.contains(alloc) {
                    return Err(format!(
                        "A reserve operation was attempted for a resource allocated to role '{alloc}', but the framework only has roles '{}'",
                        show_roles(roles)
                    ));
                }
                if !roles.contains(role) {
                    return Err(format!(
                        "A reserve operation was attempted for a resource with role '{role}', but the framework can only reserve resources with roles '{}'",
                        show_roles(roles)
                    ));
                }
            }
            None => {
                if x.allocation_info.is_some() {
                    return Err("A reserve operation was attempted with an allocated resource, but the operator API only allows reservations to be made to unallocated resources".into());
                }
            }
        }
        if r::is_persistent_volume(x) {
            return Err(format!(
                "A persistent volume {} must already be reserved",
                show(x)
            ));
        }
    }
    if framework.is_some() {
        validate_single_allocation_role(&resources, "reservation")?;
    }
    Ok(())
}

/// UNRESERVE (upstream `validate(Unreserve, framework)`): no principal
/// check, that is the authorizer's business.
pub fn validate_unreserve(unreserve: &Unreserve) -> Result<(), String> {
    let resources = r::upgraded(&unreserve.resources);
    validate_resources(&resources)?;
    for x in &resources {
        if !r::is_dynamically_reserved(x) {
            return Err(format!("Resource {} is not dynamically reserved", show(x)));
        }
        if r::is_persistent_volume(x) {
            return Err(format!(
                "A dynamically reserved persistent volume {} cannot be unreserved directly. Please destroy the persistent volume first then unreserve the resource",
                show(x)
            ));
        }
    }
    Ok(())
}

/// CREATE (upstream `validate(Create, checkpointed, principal, caps, framework)`).
pub fn validate_create(
    create: &Create,
    checkpointed: &AResources,
    principal: Option<&str>,
    caps: AgentCaps,
    framework: Option<&FrameworkInfo>,
) -> Result<(), String> {
    let volumes = r::upgraded(&create.volumes);
    validate_resources(&volumes)?;
    validate_persistent_volumes(&volumes)?;
    validate_unique_persistence_ids(checkpointed.iter().chain(volumes.iter()))?;
    for v in &volumes {
        if let Some(fw) = framework {
            let shared_capable = fw
                .capabilities
                .iter()
                .any(|c| c.r#type == Some(FwCap::SharedResources as i32));
            if v.shared.is_some() && !shared_capable {
                return Err(format!(
                    "Create volume operation for '{}' has been attempted by framework '{}' with no SHARED_RESOURCES capability",
                    show(v),
                    fw.id.as_ref().map(|i| i.value.as_str()).unwrap_or("")
                ));
            }
        }
        let role = r::reservation_role(v).unwrap_or("*");
        if !caps.hierarchical_role && role.contains('/') {
            return Err(format!(
                "Volume {} with reservation for hierarchical role '{role}' cannot be created on an agent without HIERARCHICAL_ROLE capability",
                show(v)
            ));
        }
        if !caps.reservation_refinement && r::has_refined_reservations(v) {
            return Err(format!(
                "Volume {} with reservation refinement cannot be created on an agent without RESERVATION_REFINEMENT capability",
                show(v)
            ));
        }
        if let Some(p) = principal {
            let vp = v
                .disk
                .as_ref()
                .and_then(|d| d.persistence.as_ref())
                .and_then(|x| x.principal.as_deref());
            match vp {
                None => {
                    return Err(format!(
                        "Create volume operation attempted by principal '{p}', but there is a volume in the operation with no principal set in 'disk.persistence'"
                    ))
                }
                Some(vp) if vp != p => {
                    return Err(format!(
                        "Create volume operation attempted by authenticated principal '{p}', which does not match a volume in the operation with principal '{vp}' set in 'disk.persistence'"
                    ))
                }
                _ => {}
            }
        }
    }
    if framework.is_some() {
        validate_single_allocation_role(&volumes, "volume")?;
    }
    Ok(())
}

/// DESTROY (upstream `validate(Destroy, checkpointed, used, pendingTasks)`):
/// the volumes must exist and no task or executor may use them.
pub fn validate_destroy(
    destroy: &Destroy,
    checkpointed: &AResources,
    used: &[AResources],
) -> Result<(), String> {
    let volumes = AResources::from_vec(r::upgraded(&destroy.volumes)).unallocated();
    let list = volumes.to_vec();
    validate_resources(&list)?;
    validate_persistent_volumes(&list)?;
    for v in &list {
        if v.provider_id.is_some() {
            continue;
        }
        if !checkpointed.contains_resource(v) {
            return Err("Persistent volumes not found".into());
        }
    }
    for u in used {
        let u = u.unallocated();
        if list.iter().any(|v| u.contains_resource(v)) {
            return Err("Persistent volumes in use".into());
        }
    }
    Ok(())
}

/// What the agent checkpoints (upstream `needCheckpointing`).
pub use mesos_allocator::resources::conversions::need_checkpointing;

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::resource::disk_info::Persistence;
    use mesos_proto::mesos::resource::reservation_info::Type as RType;
    use mesos_proto::mesos::resource::{AllocationInfo, DiskInfo, ReservationInfo};
    use mesos_proto::mesos::Volume;

    fn reserved(role: &str, principal: Option<&str>) -> Resource {
        let mut x = AResources::scalar("cpus", 1.0);
        x.reservations.push(ReservationInfo {
            r#type: Some(RType::Dynamic as i32),
            role: Some(role.into()),
            principal: principal.map(Into::into),
            labels: None,
        });
        x
    }

    fn volume(id: &str, role: &str) -> Resource {
        let mut x = AResources::scalar("disk", 10.0);
        x.reservations.push(ReservationInfo {
            r#type: Some(RType::Dynamic as i32),
            role: Some(role.into()),
            principal: Some("p".into()),
            labels: None,
        });
        x.disk = Some(Box::new(DiskInfo {
            persistence: Some(Persistence {
                id: id.into(),
                principal: Some("p".into()),
            }),
            volume: Some(Volume {
                mode: Mode::Rw as i32,
                container_path: "path".into(),
                ..Default::default()
            }),
            ..Default::default()
        }));
        x
    }

    fn fw(role: &str) -> FrameworkInfo {
        FrameworkInfo {
            role: Some(role.into()),
            ..Default::default()
        }
    }

    const ALL: AgentCaps = AgentCaps {
        hierarchical_role: true,
        reservation_refinement: true,
    };

    #[test]
    fn reserve_checks_principal_roles_and_allocation() {
        let mut x = reserved("role", Some("p"));
        x.allocation_info = Some(AllocationInfo {
            role: Some("role".into()),
        });
        let ok = Reserve {
            resources: vec![x.clone()],
        };
        assert!(validate_reserve(&ok, Some("p"), ALL, Some(&fw("role"))).is_ok());
        let e = validate_reserve(&ok, Some("q"), ALL, Some(&fw("role"))).unwrap_err();
        assert!(e.contains("which does not match"), "{e}");
        let e = validate_reserve(&ok, None, ALL, Some(&fw("other"))).unwrap_err();
        assert!(e.contains("but the framework only has roles"), "{e}");
        // The operator API reserves unallocated resources only.
        let e = validate_reserve(&ok, None, ALL, None).unwrap_err();
        assert!(e.contains("operator API"), "{e}");
        let unreserved = Reserve {
            resources: vec![AResources::scalar("cpus", 1.0)],
        };
        let e = validate_reserve(&unreserved, None, ALL, None).unwrap_err();
        assert!(e.contains("is not dynamically reserved"), "{e}");
        let h = Reserve {
            resources: vec![reserved("a/b", None)],
        };
        let e = validate_reserve(&h, None, AgentCaps::default(), None).unwrap_err();
        assert!(e.contains("HIERARCHICAL_ROLE"), "{e}");
    }

    #[test]
    fn unreserve_refuses_volumes() {
        let e = validate_unreserve(&Unreserve {
            resources: vec![volume("v", "role")],
        })
        .unwrap_err();
        assert!(
            e.contains("Please destroy the persistent volume first"),
            "{e}"
        );
        assert!(validate_unreserve(&Unreserve {
            resources: vec![reserved("role", None)]
        })
        .is_ok());
    }

    #[test]
    fn create_needs_volume_info_and_unique_ids() {
        let v = volume("id1", "role");
        let existing = AResources::from_vec([v.clone()]);
        let c = Create {
            volumes: vec![v.clone()],
        };
        let e = validate_create(&c, &existing, None, ALL, None).unwrap_err();
        assert_eq!(e, "Persistence ID 'id1' is not unique");
        assert!(validate_create(&c, &AResources::new(), Some("p"), ALL, None).is_ok());
        let mut bad = v.clone();
        bad.disk.as_mut().unwrap().volume = None;
        let e = validate_create(
            &Create { volumes: vec![bad] },
            &AResources::new(),
            None,
            ALL,
            None,
        )
        .unwrap_err();
        assert!(e.contains("Expecting 'volume'"), "{e}");
    }

    #[test]
    fn destroy_needs_existing_unused_volumes() {
        let v = volume("id1", "role");
        let d = Destroy {
            volumes: vec![v.clone()],
        };
        assert_eq!(
            validate_destroy(&d, &AResources::new(), &[]).unwrap_err(),
            "Persistent volumes not found"
        );
        let cp = AResources::from_vec([v.clone()]);
        assert!(validate_destroy(&d, &cp, &[]).is_ok());
        assert_eq!(
            validate_destroy(&d, &cp, std::slice::from_ref(&cp)).unwrap_err(),
            "Persistent volumes in use"
        );
    }
}
