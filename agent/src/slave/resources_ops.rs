//! Checkpointed resources (dynamic reservations, persistent volumes) and
//! the speculative operations that change them, as upstream's
//! `Slave::checkpointResourceState`, `syncCheckpointedResources`,
//! `applyOperation` and `operationStatusAcknowledgement`
//! (src/slave/slave.cpp:4269-4690, 4921) with the files of
//! src/slave/paths.cpp (`meta/resources/resources.info`, `resources.target`,
//! `resources_and_operations.state`, `resources_and_operations.target`)
//! and volumes under `<work_dir>/volumes/roles/<role>/<persistence id>`.
//!
//! Persistent volumes reach a task's sandbox as a symlink at the volume's
//! relative `container_path`, as the posix filesystem isolator does
//! (src/slave/containerizer/mesos/isolators/filesystem/posix.cpp).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use libprocess::{Cx, Upid};
use mesos_allocator::resources::conversions::{
    apply_checkpointed_resources, from_operation, need_checkpointing,
};
use mesos_allocator::resources::resource as r;
use mesos_allocator::Resources as AResources;
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::internal::slave::ResourceState;
use mesos_proto::mesos::resource::disk_info::source::Type as SourceType;
use mesos_proto::mesos::resource::reservation_info::Type as ReservationType;
use mesos_proto::mesos::resource::ReservationInfo;
use mesos_proto::mesos::{OperationState, OperationStatus, Resource, SlaveId, Uuid};

use super::Slave;
use crate::{checkpoint, Error};

pub const RESOURCES_TARGET_FILE: &str = "resources.target";
pub const RESOURCE_STATE_FILE: &str = "resources_and_operations.state";
pub const RESOURCE_STATE_TARGET_FILE: &str = "resources_and_operations.target";

pub fn resources_dir(meta: &Path) -> PathBuf {
    meta.join("resources")
}

/// `paths::getPersistentVolumePath`: volumes without a disk source live
/// under the work dir, `/` in role names encoded as a space; PATH/MOUNT
/// disks under their root.
pub fn persistent_volume_path(work_dir: &Path, volume: &Resource) -> Option<PathBuf> {
    let disk = volume.disk.as_ref()?;
    let id = &disk.persistence.as_ref()?.id;
    let role = r::reservation_role(volume)?;
    if id.is_empty() || id.contains('/') || id == "." || id == ".." {
        return None;
    }
    match disk.source.as_ref() {
        None => Some(
            work_dir
                .join("volumes")
                .join("roles")
                .join(role.replace('/', " "))
                .join(id),
        ),
        Some(src) if src.r#type == SourceType::Mount as i32 => src
            .mount
            .as_ref()
            .and_then(|m| m.root.as_ref())
            .map(PathBuf::from),
        Some(src) => src.path.as_ref().and_then(|p| p.root.as_ref()).map(|root| {
            Path::new(root)
                .join("volumes")
                .join("roles")
                .join(role.replace('/', " "))
                .join(id)
        }),
    }
}

/// The old (pre-refinement) format for the checkpoint files, so that an
/// older agent could read them (upstream `state::checkpoint(..., downgrade)`).
/// Refined reservations cannot be downgraded and are written as they are.
fn downgraded(rs: &[Resource]) -> Vec<Resource> {
    rs.iter()
        .cloned()
        .map(|mut x| {
            if x.reservations.len() == 1 {
                let info = x.reservations.remove(0);
                x.role = info.role.clone();
                if info.r#type == Some(ReservationType::Dynamic as i32) {
                    x.reservation = Some(ReservationInfo {
                        principal: info.principal,
                        labels: info.labels,
                        ..Default::default()
                    });
                }
            } else if x.reservations.is_empty() {
                x.role = Some("*".into());
            }
            x
        })
        .collect()
}

fn write_resources(path: &Path, rs: &[Resource]) -> Result<(), Error> {
    let mut bytes = Vec::new();
    for x in downgraded(rs) {
        bytes.extend(checkpoint::frame(&prost::Message::encode_to_vec(&x)));
    }
    checkpoint::write_atomic(path, &bytes)
}

fn volume_paths(work_dir: &Path, rs: &[Resource]) -> BTreeMap<PathBuf, Resource> {
    rs.iter()
        .filter(|x| r::is_persistent_volume(x))
        .filter_map(|v| persistent_volume_path(work_dir, v).map(|p| (p, v.clone())))
        .collect()
}

/// `syncCheckpointedResources`: creates the directories of new volumes and
/// removes those of destroyed ones (a MOUNT root itself stays).
pub fn sync_volumes(work_dir: &Path, old: &[Resource], new: &[Resource]) -> Result<(), Error> {
    let old = volume_paths(work_dir, old);
    let new = volume_paths(work_dir, new);
    for path in new.keys().filter(|p| !old.contains_key(*p)) {
        if !path.exists() {
            std::fs::create_dir_all(path).map_err(|e| {
                Error::Io(format!(
                    "Failed to create the persistent volume at '{}': {e}",
                    path.display()
                ))
            })?;
        }
    }
    for (path, volume) in old.iter().filter(|(p, _)| !new.contains_key(*p)) {
        tracing::info!("Deleting persistent volume at '{}'", path.display());
        if !path.exists() {
            tracing::warn!("Failed to find persistent volume at '{}'", path.display());
            continue;
        }
        let mount = volume
            .disk
            .as_ref()
            .and_then(|d| d.source.as_ref())
            .is_some_and(|s| s.r#type == SourceType::Mount as i32);
        let result = if mount {
            std::fs::read_dir(path).and_then(|entries| {
                for e in entries.flatten() {
                    let p = e.path();
                    if p.is_dir() && !p.is_symlink() {
                        std::fs::remove_dir_all(&p)?;
                    } else {
                        std::fs::remove_file(&p)?;
                    }
                }
                Ok(())
            })
        } else {
            std::fs::remove_dir_all(path)
        };
        result.map_err(|e| {
            Error::Io(format!(
                "Failed to remove persistent volume at '{}': {e}",
                path.display()
            ))
        })?;
    }
    Ok(())
}

/// Links the persistent volumes among `resources` into `sandbox` at their
/// relative `container_path` (the posix filesystem isolator's behaviour;
/// absolute container paths need a mount namespace and are skipped here).
pub fn link_volumes(work_dir: &Path, sandbox: &Path, resources: &[Resource]) {
    for v in r::upgraded(resources)
        .iter()
        .filter(|x| r::is_persistent_volume(x))
    {
        let Some(container_path) = v
            .disk
            .as_ref()
            .and_then(|d| d.volume.as_ref())
            .map(|vol| vol.container_path.clone())
        else {
            continue;
        };
        if container_path.is_empty() || Path::new(&container_path).is_absolute() {
            tracing::warn!(
                "Not linking persistent volume at absolute container path '{container_path}'"
            );
            continue;
        }
        if container_path.split('/').any(|c| c == "..") {
            tracing::warn!(
                "Not linking persistent volume at '{container_path}': escapes the sandbox"
            );
            continue;
        }
        let Some(source) = persistent_volume_path(work_dir, v) else {
            continue;
        };
        let link = sandbox.join(&container_path);
        if link.is_symlink() {
            match std::fs::read_link(&link) {
                Ok(t) if t == source => continue,
                _ => {
                    tracing::warn!("'{}' already exists and is not our volume", link.display());
                    continue;
                }
            }
        }
        if link.exists() {
            tracing::warn!("Not linking persistent volume: '{}' exists", link.display());
            continue;
        }
        if let Some(parent) = link.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        match std::os::unix::fs::symlink(&source, &link) {
            Ok(()) => tracing::info!(
                "Linked persistent volume '{}' at '{}'",
                source.display(),
                link.display()
            ),
            Err(e) => tracing::warn!(
                "Failed to link persistent volume '{}' at '{}': {e}",
                source.display(),
                link.display()
            ),
        }
    }
}

/// What `ResourcesState::recover` reads: the committed checkpointed
/// resources and, if a checkpoint was interrupted, its target.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecoveredResources {
    pub resources: Vec<Resource>,
    pub target: Option<Vec<Resource>>,
}

/// Reads the checkpointed resources: `resources_and_operations.state`
/// (1.5+) if present, else the older `resources.info`; with their targets.
pub fn recover_resources(meta: &Path) -> Result<RecoveredResources, Error> {
    let dir = resources_dir(meta);
    let state = dir.join(RESOURCE_STATE_FILE);
    if state.exists() {
        let rs = checkpoint::read_message::<ResourceState>(&state)?.unwrap_or_default();
        let target =
            checkpoint::read_message::<ResourceState>(&dir.join(RESOURCE_STATE_TARGET_FILE))?
                .map(|t| r::upgraded(&t.resources));
        return Ok(RecoveredResources {
            resources: r::upgraded(&rs.resources),
            target,
        });
    }
    let info = crate::paths::resources_info_path(meta);
    let resources = if info.exists() {
        r::upgraded(&checkpoint::read_messages::<Resource>(&info, false)?)
    } else {
        vec![]
    };
    let target_path = dir.join(RESOURCES_TARGET_FILE);
    let target = if target_path.exists() {
        Some(r::upgraded(&checkpoint::read_messages::<Resource>(
            &target_path,
            false,
        )?))
    } else {
        None
    };
    Ok(RecoveredResources { resources, target })
}

impl Slave {
    /// The agent's total: `--resources` with the checkpointed reservations
    /// and volumes applied (upstream `Slave::totalResources`).
    pub fn total_resources(&self) -> Vec<Resource> {
        let base = AResources::from_vec(r::upgraded(&self.info.resources));
        match apply_checkpointed_resources(&base, &self.checkpointed_resources) {
            Ok(t) => t.to_vec(),
            Err(_) => base.to_vec(),
        }
    }

    /// The checkpointed resources (reservations and volumes).
    pub fn checkpointed_resources(&self) -> &[Resource] {
        &self.checkpointed_resources
    }

    /// `Slave::checkpointResourceState`: writes the targets, creates or
    /// removes volume directories, then commits by renaming. Resources
    /// incompatible with `--resources` are refused (upstream CHECK-fails;
    /// a peer must not crash this agent).
    pub(crate) fn checkpoint_resource_state(
        &mut self,
        resources: Vec<Resource>,
    ) -> Result<(), Error> {
        let resources: Vec<Resource> = r::upgraded(&resources)
            .into_iter()
            .filter(|x| x.provider_id.is_none())
            .collect();
        let new = AResources::from_vec(resources.clone());
        if new == AResources::from_vec(self.checkpointed_resources.clone()) {
            tracing::debug!("Ignoring new checkpointed resources identical to the current version");
            return Ok(());
        }
        let base = AResources::from_vec(r::upgraded(&self.info.resources));
        apply_checkpointed_resources(&base, &resources).map_err(|e| {
            Error::Checkpoint(format!(
                "Checkpointed resources {new} are incompatible with agent resources {base}: {e}"
            ))
        })?;
        let dir = resources_dir(&self.meta);
        let state_target = dir.join(RESOURCE_STATE_TARGET_FILE);
        checkpoint::checkpoint_message(
            &state_target,
            &ResourceState {
                operations: vec![],
                resources: downgraded(&resources),
            },
        )?;
        let target = dir.join(RESOURCES_TARGET_FILE);
        write_resources(&target, &resources)?;
        sync_volumes(
            &self.config.work_dir,
            &self.checkpointed_resources,
            &resources,
        )?;
        std::fs::rename(&target, crate::paths::resources_info_path(&self.meta))
            .map_err(|e| Error::Io(format!("Failed to commit checkpointed resources: {e}")))?;
        std::fs::rename(&state_target, dir.join(RESOURCE_STATE_FILE))
            .map_err(|e| Error::Io(format!("Failed to commit resource state: {e}")))?;
        tracing::info!(
            "Updated checkpointed resources from {} to {new}",
            AResources::from_vec(self.checkpointed_resources.clone())
        );
        self.checkpointed_resources = resources;
        Ok(())
    }

    /// Recovery: reads the checkpointed resources and finishes an
    /// interrupted checkpoint (upstream `Slave::recover` with
    /// `resourcesState.target`).
    pub(crate) fn recover_checkpointed_resources(&mut self) {
        match recover_resources(&self.meta) {
            Ok(rec) => {
                self.checkpointed_resources = rec.resources;
                if let Some(target) = rec.target {
                    if let Err(e) = self.checkpoint_resource_state(target) {
                        tracing::error!("Failed to complete checkpointing resources: {e}");
                    }
                }
                if !self.checkpointed_resources.is_empty() {
                    tracing::info!(
                        "Recovered checkpointed resources {}",
                        AResources::from_vec(self.checkpointed_resources.clone())
                    );
                }
            }
            Err(e) => tracing::error!("Failed to recover checkpointed resources: {e}"),
        }
    }

    /// `CheckpointResourcesMessage` from a master that treats this agent
    /// as one without RESOURCE_PROVIDER (upstream
    /// `Slave::checkpointResourcesMessage`).
    pub(crate) fn checkpoint_resources_message(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::CheckpointResourcesMessage,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!("Ignoring checkpointed resources from {from}: not the leading master");
            return;
        }
        if let Err(e) = self.checkpoint_resource_state(m.resources) {
            tracing::error!("Failed to checkpoint resources: {e}");
        }
    }

    /// `ApplyOperationMessage` (upstream `Slave::applyOperation`): a
    /// speculative operation on agent default resources is applied to the
    /// total and checkpointed, then OPERATION_FINISHED (with a status UUID,
    /// retried until acknowledged) goes to the master.
    pub(crate) fn apply_operation_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::ApplyOperationMessage,
    ) {
        if self.master.as_ref() != Some(&from) {
            tracing::warn!("Ignoring operation from {from}: not the leading master");
            return;
        }
        let op_uuid = m.operation_uuid.clone();
        let described = uuid::Uuid::from_slice(&op_uuid.value)
            .map(|u| u.to_string())
            .unwrap_or_default();
        let mut info = m.operation_info.clone();
        for x in op_resources(&mut info) {
            x.allocation_info = None;
        }
        let state = match from_operation(&info)
            .map_err(|e| e.to_string())
            .and_then(|c| {
                AResources::from_vec(self.total_resources())
                    .apply(&c)
                    .map_err(|e| e.to_string())
            }) {
            Ok(total) => {
                let checkpointed: Vec<Resource> = total
                    .iter()
                    .filter(|x| need_checkpointing(x))
                    .cloned()
                    .collect();
                match self.checkpoint_resource_state(checkpointed) {
                    Ok(()) => OperationState::OperationFinished,
                    Err(e) => {
                        tracing::error!("Failed to apply operation (uuid: {described}): {e}");
                        OperationState::OperationFailed
                    }
                }
            }
            Err(e) => {
                tracing::error!("Failed to apply operation (uuid: {described}): {e}");
                OperationState::OperationFailed
            }
        };
        tracing::info!("Operation (uuid: {described}) is {}", state.as_str_name());
        let status = OperationStatus {
            operation_id: m.operation_info.id.clone(),
            state: state as i32,
            uuid: Some(Uuid {
                value: Bytes::copy_from_slice(&super::uuid_bytes(cx)),
            }),
            slave_id: self.info.id.clone(),
            ..Default::default()
        };
        let update = msg::UpdateOperationStatusMessage {
            framework_id: m.framework_id.clone(),
            slave_id: self.info.id.clone().or(Some(SlaveId::default())),
            status: status.clone(),
            latest_status: Some(status),
            operation_uuid: Some(op_uuid),
        };
        self.pending_operation_updates
            .insert(described.clone(), update);
        self.send_operation_update(cx, &described);
    }

    /// Sends (and, until acknowledged, re-sends every 10 s as upstream's
    /// operation status update manager) an operation status update.
    fn send_operation_update(&mut self, cx: &mut Cx<'_, Self>, key: &str) {
        let (Some(update), Some(master)) =
            (self.pending_operation_updates.get(key), self.master.clone())
        else {
            return;
        };
        cx.send(&master, update);
        let key = key.to_string();
        cx.delay(
            std::time::Duration::from_secs(10),
            move |s: &mut Slave, cx| s.send_operation_update(cx, &key),
        );
    }

    /// `AcknowledgeOperationStatusMessage` (upstream
    /// `Slave::operationStatusAcknowledgement`): stops the retries.
    pub(crate) fn operation_status_acknowledgement(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: msg::AcknowledgeOperationStatusMessage,
    ) {
        let key = uuid::Uuid::from_slice(&m.operation_uuid.value)
            .map(|u| u.to_string())
            .unwrap_or_default();
        let matches = self
            .pending_operation_updates
            .get(&key)
            .and_then(|u| u.status.uuid.as_ref())
            .is_some_and(|u| u.value == m.status_uuid.value);
        if matches {
            self.pending_operation_updates.remove(&key);
        }
    }

    /// `ReconcileOperationsMessage` from the master (upstream
    /// `Slave::reconcileOperations`): an operation this agent does not know
    /// (never received, or finished and acknowledged) is OPERATION_DROPPED;
    /// an unacknowledged one is sent again.
    pub(crate) fn reconcile_operations(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::ReconcileOperationsMessage,
    ) {
        if self.master.as_ref() != Some(&from) {
            return;
        }
        for op in m.operations {
            if op.resource_provider_id.is_some() {
                continue;
            }
            let Some(op_uuid) = op.operation_uuid else {
                continue;
            };
            let key = uuid::Uuid::from_slice(&op_uuid.value)
                .map(|u| u.to_string())
                .unwrap_or_default();
            if let Some(update) = self.pending_operation_updates.get(&key) {
                // Its retry timer keeps running; this only answers now.
                cx.send(&from, update);
                continue;
            }
            let status = OperationStatus {
                operation_id: op.operation_id.clone(),
                state: OperationState::OperationDropped as i32,
                slave_id: self.info.id.clone(),
                ..Default::default()
            };
            let update = msg::UpdateOperationStatusMessage {
                framework_id: m.framework_id.clone(),
                slave_id: self.info.id.clone(),
                status: status.clone(),
                latest_status: Some(status),
                operation_uuid: Some(op_uuid),
            };
            cx.send(&from, &update);
        }
    }

    /// The persistence IDs checkpointed, for tests and `/state`.
    pub fn persistence_ids(&self) -> BTreeSet<String> {
        self.checkpointed_resources
            .iter()
            .filter_map(|x| x.disk.as_ref()?.persistence.as_ref().map(|p| p.id.clone()))
            .collect()
    }
}

/// Resources as protobuf JSON in upstream's ENDPOINT format.
pub fn endpoint_json(rs: &[Resource]) -> serde_json::Value {
    serde_json::Value::Array(
        AResources::from_vec(rs.to_vec())
            .to_endpoint_vec()
            .iter()
            .filter_map(|x| mesos_proto::json::to_json_value(x).ok())
            .collect(),
    )
}

/// `/state`'s `reserved_resources` (by reservation role),
/// `reserved_resources_full` (ENDPOINT-format protobuf JSON) and the
/// unreserved rest (upstream src/slave/http.cpp `state`).
pub fn split_reserved(total: &[Resource]) -> (serde_json::Value, serde_json::Value, Vec<Resource>) {
    let all = AResources::from_vec(total.to_vec());
    let mut reserved = serde_json::Map::new();
    let mut full = serde_json::Map::new();
    for (role, rs) in all.reservations() {
        reserved.insert(role.clone(), super::http::resources_json(&rs.to_vec()));
        full.insert(role, endpoint_json(&rs.to_vec()));
    }
    (
        serde_json::Value::Object(reserved),
        serde_json::Value::Object(full),
        all.unreserved().to_vec(),
    )
}

fn op_resources(op: &mut mesos_proto::mesos::offer::Operation) -> Vec<&mut Resource> {
    let mut out: Vec<&mut Resource> = Vec::new();
    if let Some(x) = op.reserve.as_mut() {
        out.extend(x.resources.iter_mut());
    }
    if let Some(x) = op.unreserve.as_mut() {
        out.extend(x.resources.iter_mut());
    }
    if let Some(x) = op.create.as_mut() {
        out.extend(x.volumes.iter_mut());
    }
    if let Some(x) = op.destroy.as_mut() {
        out.extend(x.volumes.iter_mut());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::resource::disk_info::Persistence;
    use mesos_proto::mesos::resource::DiskInfo;
    use mesos_proto::mesos::Volume;

    fn volume(role: &str, id: &str, container_path: &str) -> Resource {
        let mut x = AResources::scalar("disk", 10.0);
        x.reservations.push(ReservationInfo {
            r#type: Some(ReservationType::Dynamic as i32),
            role: Some(role.into()),
            principal: None,
            labels: None,
        });
        x.disk = Some(Box::new(DiskInfo {
            persistence: Some(Persistence {
                id: id.into(),
                principal: None,
            }),
            volume: Some(Volume {
                container_path: container_path.into(),
                ..Default::default()
            }),
            ..Default::default()
        }));
        x
    }

    #[test]
    fn volume_paths_follow_upstream_layout() {
        let w = Path::new("/w");
        assert_eq!(
            persistent_volume_path(w, &volume("a/b", "id1", "p")).unwrap(),
            Path::new("/w/volumes/roles/a b/id1")
        );
        assert!(persistent_volume_path(w, &volume("r", "../x", "p")).is_none());
    }

    #[test]
    fn sync_creates_and_removes_volumes_and_links_them() {
        let dir = std::env::temp_dir().join(format!("ops-vol-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let v = volume("r", "id1", "data");
        sync_volumes(&dir, &[], std::slice::from_ref(&v)).unwrap();
        let path = dir.join("volumes/roles/r/id1");
        assert!(path.is_dir());
        let sandbox = dir.join("sandbox");
        std::fs::create_dir_all(&sandbox).unwrap();
        link_volumes(&dir, &sandbox, std::slice::from_ref(&v));
        std::fs::write(sandbox.join("data/f"), "x").unwrap();
        assert_eq!(std::fs::read_to_string(path.join("f")).unwrap(), "x");
        // Idempotent; a path escaping the sandbox is refused.
        link_volumes(&dir, &sandbox, std::slice::from_ref(&v));
        link_volumes(&dir, &sandbox, &[volume("r", "id1", "../out")]);
        assert!(!dir.join("out").exists());
        sync_volumes(&dir, std::slice::from_ref(&v), &[]).unwrap();
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn checkpoint_files_round_trip_downgraded() {
        let dir = std::env::temp_dir().join(format!("ops-meta-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let v = volume("r", "id1", "data");
        write_resources(
            &crate::paths::resources_info_path(&dir),
            std::slice::from_ref(&v),
        )
        .unwrap();
        // Written in the old format (`role`), read back upgraded.
        let raw =
            checkpoint::read_messages::<Resource>(&crate::paths::resources_info_path(&dir), false)
                .unwrap();
        assert_eq!(raw[0].role.as_deref(), Some("r"));
        let rec = recover_resources(&dir).unwrap();
        assert_eq!(rec.resources, vec![v]);
        assert!(rec.target.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
