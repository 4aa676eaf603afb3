//! Offer operations as resource conversions (mirrors `getResourceConversions`
//! in `src/common/resources_utils.cpp`). The master applies these to an
//! offer/agent and hands them to `HierarchicalAllocator::update_allocation`.

use mesos_proto::mesos::offer::operation::Type as OpType;
use mesos_proto::mesos::offer::Operation;
use mesos_proto::mesos::Resource;

use super::values::{scalar_add, scalar_sub};
use super::{resource as r, ResourceConversion, Resources};
use crate::error::{Error, Result};

/// Removes what makes a disk a persistent volume (persistence, volume, shared).
fn strip_persistent_volume(volume: &Resource) -> Resource {
    let mut stripped = volume.clone();
    match stripped.disk.as_mut() {
        Some(d) if d.source.is_some() => {
            d.persistence = None;
            d.volume = None;
        }
        _ => stripped.disk = None,
    }
    stripped.shared = None;
    stripped
}

fn one(res: &Resource) -> Result<Resources> {
    let mut x = res.clone();
    r::upgrade(&mut x);
    r::validate(&x)?;
    Ok(Resources::from_vec([x]))
}

/// The conversions an operation performs. LAUNCH, LAUNCH_GROUP and the
/// resource-provider disk operations convert nothing here (error, as upstream).
pub fn from_operation(op: &Operation) -> Result<Vec<ResourceConversion>> {
    let t = op
        .r#type
        .and_then(|t| OpType::try_from(t).ok())
        .unwrap_or(OpType::Unknown);
    let missing = |what: &str| Error::InvalidOperation(format!("operation without '{what}'"));
    let mut out = Vec::new();
    match t {
        OpType::Unknown => return Err(Error::InvalidOperation("Unknown operation".into())),
        OpType::Launch | OpType::LaunchGroup | OpType::CreateDisk | OpType::DestroyDisk => {
            return Err(Error::InvalidOperation("Operation not supported".into()))
        }
        OpType::Reserve => {
            for res in &op
                .reserve
                .as_ref()
                .ok_or_else(|| missing("reserve"))?
                .resources
            {
                let reserved = one(res)?;
                out.push(ResourceConversion {
                    consumed: reserved.pop_reservation(),
                    converted: reserved,
                    forbid_after: None,
                });
            }
        }
        OpType::Unreserve => {
            for res in &op
                .unreserve
                .as_ref()
                .ok_or_else(|| missing("unreserve"))?
                .resources
            {
                let reserved = one(res)?;
                out.push(ResourceConversion {
                    consumed: reserved.clone(),
                    converted: reserved.pop_reservation(),
                    forbid_after: None,
                });
            }
        }
        OpType::Create => {
            for v in &op.create.as_ref().ok_or_else(|| missing("create"))?.volumes {
                let volume = one(v)?;
                let stripped = one(&strip_persistent_volume(
                    volume.iter().next().expect("one entry"),
                ))?;
                out.push(ResourceConversion {
                    consumed: stripped,
                    converted: volume,
                    forbid_after: None,
                });
            }
        }
        OpType::Destroy => {
            for v in &op
                .destroy
                .as_ref()
                .ok_or_else(|| missing("destroy"))?
                .volumes
            {
                let volume = one(v)?;
                let stripped = one(&strip_persistent_volume(
                    volume.iter().next().expect("one entry"),
                ))?;
                // A shared volume with other copies still in use cannot go.
                out.push(ResourceConversion {
                    consumed: volume.clone(),
                    converted: stripped,
                    forbid_after: Some(volume),
                });
            }
        }
        OpType::GrowVolume => {
            let g = op
                .grow_volume
                .as_ref()
                .ok_or_else(|| missing("grow_volume"))?;
            if g.volume.provider_id.is_some() {
                return Err(Error::InvalidOperation(
                    "Operation not supported for resource provider".into(),
                ));
            }
            let mut converted = g.volume.clone();
            converted.scalar = Some(mesos_proto::mesos::value::Scalar {
                value: scalar_add(r::scalar(&g.volume), r::scalar(&g.addition)),
            });
            out.push(ResourceConversion {
                consumed: &one(&g.volume)? + &one(&g.addition)?,
                converted: one(&converted)?,
                forbid_after: None,
            });
        }
        OpType::ShrinkVolume => {
            let s = op
                .shrink_volume
                .as_ref()
                .ok_or_else(|| missing("shrink_volume"))?;
            if s.volume.provider_id.is_some() {
                return Err(Error::InvalidOperation(
                    "Operation not supported for resource provider".into(),
                ));
            }
            let mut freed = strip_persistent_volume(&s.volume);
            freed.scalar = Some(s.subtract);
            let mut shrunk = s.volume.clone();
            shrunk.scalar = Some(mesos_proto::mesos::value::Scalar {
                value: scalar_sub(r::scalar(&s.volume), s.subtract.value),
            });
            out.push(ResourceConversion {
                consumed: one(&s.volume)?,
                converted: &one(&shrunk)? + &one(&freed)?,
                forbid_after: None,
            });
        }
    }
    Ok(out)
}

/// What an agent checkpoints: dynamic reservations and persistent volumes
/// of its default resources (mirrors `needCheckpointing` in
/// src/common/resources_utils.cpp).
pub fn need_checkpointing(res: &Resource) -> bool {
    res.provider_id.is_none() && (r::is_dynamically_reserved(res) || r::is_persistent_volume(res))
}

/// An agent's `--resources` with its checkpointed reservations and volumes
/// applied (mirrors `applyCheckpointedResources` in resources_utils.cpp):
/// each checkpointed resource replaces what it was made from (the volume
/// stripped, then dynamic reservations popped) in `total`.
pub fn apply_checkpointed_resources(
    total: &Resources,
    checkpointed: &[Resource],
) -> Result<Resources> {
    let mut total = total.clone();
    for c in checkpointed {
        let mut c = c.clone();
        r::upgrade(&mut c);
        if !need_checkpointing(&c) {
            return Err(Error::InvalidOperation(format!(
                "Unexpected checkpointed resources {}",
                r::format_resource(&c)
            )));
        }
        let one = Resources::from_vec([c.clone()]);
        let mut base = if r::is_persistent_volume(&c) {
            Resources::from_vec([strip_persistent_volume(&c)])
        } else {
            one.clone()
        };
        while !total.contains(&base) && base.iter().next().is_some_and(r::is_dynamically_reserved) {
            base = base.pop_reservation();
        }
        if !total.contains(&base) {
            return Err(Error::NotContained {
                have: total.to_string(),
                want: one.to_string(),
            });
        }
        total -= &base;
        total += &one;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::offer::operation::{Create, Destroy, Reserve, Unreserve};
    use mesos_proto::mesos::resource::disk_info::Persistence;
    use mesos_proto::mesos::resource::reservation_info::Type as RType;
    use mesos_proto::mesos::resource::{DiskInfo, ReservationInfo, SharedInfo};

    fn dynamic(r: &str) -> Resources {
        Resources::parse("cpus:2;disk:10", "*")
            .unwrap()
            .push_reservation(&ReservationInfo {
                r#type: Some(RType::Dynamic as i32),
                role: Some(r.into()),
                principal: Some("p".into()),
                labels: None,
            })
    }

    #[test]
    fn reserve_then_unreserve_round_trips() {
        let reserved = dynamic("role1");
        let op = Operation {
            r#type: Some(OpType::Reserve as i32),
            reserve: Some(Reserve {
                resources: reserved.to_vec(),
            }),
            ..Default::default()
        };
        let total = Resources::parse("cpus:4;disk:20", "*").unwrap();
        let after = total.apply(&from_operation(&op).unwrap()).unwrap();
        assert_eq!(after.reserved(Some("role1")), reserved);
        assert_eq!(
            after.unreserved(),
            Resources::parse("cpus:2;disk:10", "*").unwrap()
        );
        let un = Operation {
            r#type: Some(OpType::Unreserve as i32),
            unreserve: Some(Unreserve {
                resources: reserved.to_vec(),
            }),
            ..Default::default()
        };
        assert_eq!(after.apply(&from_operation(&un).unwrap()).unwrap(), total);
        // Reserving what is not there fails.
        assert!(Resources::parse("cpus:1", "*")
            .unwrap()
            .apply(&from_operation(&op).unwrap())
            .is_err());
    }

    #[test]
    fn create_and_destroy_volume() {
        let disk = dynamic("role1").get("disk");
        let mut v = disk.iter().next().unwrap().clone();
        v.disk = Some(Box::new(DiskInfo {
            persistence: Some(Persistence {
                id: "v1".into(),
                principal: None,
            }),
            ..Default::default()
        }));
        let create = Operation {
            r#type: Some(OpType::Create as i32),
            create: Some(Create {
                volumes: vec![v.clone()],
            }),
            ..Default::default()
        };
        let after = disk.apply(&from_operation(&create).unwrap()).unwrap();
        assert_eq!(after.persistent_volumes().len(), 1);
        let destroy = Operation {
            r#type: Some(OpType::Destroy as i32),
            destroy: Some(Destroy {
                volumes: vec![v.clone()],
            }),
            ..Default::default()
        };
        assert_eq!(
            after.apply(&from_operation(&destroy).unwrap()).unwrap(),
            disk
        );

        // A shared volume with two copies cannot be destroyed.
        v.shared = Some(SharedInfo {});
        let sv = Resources::from(v.clone());
        let two = &sv + &sv;
        let destroy = Operation {
            r#type: Some(OpType::Destroy as i32),
            destroy: Some(Destroy { volumes: vec![v] }),
            ..Default::default()
        };
        assert!(two.apply(&from_operation(&destroy).unwrap()).is_err());
        assert!(sv.apply(&from_operation(&destroy).unwrap()).is_ok());
    }

    #[test]
    fn checkpointed_resources_apply_to_the_agent_total() {
        let total = Resources::parse("cpus:4;disk:20", "*").unwrap();
        let reserved = dynamic("role1");
        let out = apply_checkpointed_resources(&total, &reserved.to_vec()).unwrap();
        assert_eq!(out.reserved(Some("role1")), reserved);
        assert_eq!(
            out.unreserved(),
            Resources::parse("cpus:2;disk:10", "*").unwrap()
        );
        // A volume on top of the reservation: both checkpointed.
        let mut v = reserved.get("disk").iter().next().unwrap().clone();
        v.disk = Some(Box::new(DiskInfo {
            persistence: Some(Persistence {
                id: "v1".into(),
                principal: None,
            }),
            ..Default::default()
        }));
        let mut cp = reserved.get("cpus").to_vec();
        cp.push(v);
        let out = apply_checkpointed_resources(&total, &cp).unwrap();
        assert_eq!(out.persistent_volumes().len(), 1);
        assert_eq!(
            out.unreserved(),
            Resources::parse("cpus:2;disk:10", "*").unwrap()
        );
        // More than the agent has.
        let big = Resources::parse("cpus:8", "*")
            .unwrap()
            .push_reservation(&ReservationInfo {
                r#type: Some(RType::Dynamic as i32),
                role: Some("r".into()),
                principal: None,
                labels: None,
            });
        assert!(apply_checkpointed_resources(&total, &big.to_vec()).is_err());
        // Unreserved resources are never checkpointed.
        assert!(apply_checkpointed_resources(&total, &total.to_vec()).is_err());
    }

    #[test]
    fn unsupported_operations_error() {
        let op = Operation {
            r#type: Some(OpType::Launch as i32),
            ..Default::default()
        };
        assert!(from_operation(&op).is_err());
        assert!(from_operation(&Operation::default()).is_err());
    }
}
