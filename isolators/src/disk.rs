//! `disk/du` (alias `posix/disk` upstream): measures the container's
//! ephemeral disk usage with `du -k -s` and, with
//! `--enforce_container_disk_quota`, reports `REASON_CONTAINER_LIMITATION_DISK`
//! when it exceeds the container's `disk` resource.
//!
//! Upstream: src/slave/containerizer/mesos/isolators/posix/disk.cpp. As in
//! 1.9 the ephemeral usage is the sandbox plus the container's
//! `ephemeral_volumes` (the overlay upper/work dirs holding writes to an
//! image rootfs). `du` runs at most once per
//! `--container_disk_watch_interval` per container, when the containerizer
//! polls [`Isolator::watch`] or asks for usage.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use mesos_proto::mesos::slave::{
    ContainerConfig, ContainerLaunchInfo, ContainerLimitation, ContainerState,
};
use mesos_proto::mesos::task_status::Reason;
use mesos_proto::mesos::{ContainerId, Resource, ResourceStatistics};

use crate::flags::IsolatorFlags;
use crate::namespaces::id_string;
use crate::util::{bytes_string, limitation};
use crate::{Error, Isolator};

/// Disk resources counted against the ephemeral quota (not persistent
/// volumes, not MOUNT disks whose filesystem enforces its own size).
fn ephemeral_disk(resources: &[Resource]) -> Vec<Resource> {
    use mesos_proto::mesos::resource::disk_info::source::Type;
    resources
        .iter()
        .filter(|r| r.name == "disk")
        .filter(|r| {
            r.disk.as_ref().is_none_or(|d| {
                d.persistence.is_none()
                    && d.source
                        .as_ref()
                        .is_none_or(|s| s.r#type != Type::Mount as i32)
            })
        })
        .cloned()
        .collect()
}

/// `du -k -s <path>` in bytes.
pub fn du(path: &str) -> Result<u64, Error> {
    let out = std::process::Command::new("du")
        .args(["-k", "-s", path])
        .output()
        .map_err(|e| Error::Launch(format!("Failed to run 'du': {e}")))?;
    if !out.status.success() {
        return Err(Error::Launch(format!(
            "'du' on '{path}' failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let kb: u64 = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| Error::Launch(format!("Unexpected 'du' output: {text}")))?;
    Ok(kb * 1024)
}

struct Info {
    /// The sandbox followed by the ephemeral volumes.
    paths: Vec<String>,
    quota: Vec<Resource>,
    last_check: Option<Instant>,
    last_usage: u64,
    limitation: Option<ContainerLimitation>,
}

/// `disk/du`.
pub struct DiskDuIsolator {
    enforce: bool,
    interval: std::time::Duration,
    infos: Mutex<BTreeMap<String, Info>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DiskDuIsolator {
    pub fn new(flags: &IsolatorFlags) -> DiskDuIsolator {
        DiskDuIsolator {
            enforce: flags.enforce_container_disk_quota,
            interval: flags.container_disk_watch_interval,
            infos: Mutex::new(BTreeMap::new()),
        }
    }

    /// Re-measures (at most once per interval) and checks the quota.
    fn check(&self, key: &str, force: bool) {
        let (paths, due) = {
            let infos = lock(&self.infos);
            let Some(info) = infos.get(key) else { return };
            let due = force || info.last_check.is_none_or(|t| t.elapsed() >= self.interval);
            (info.paths.clone(), due)
        };
        if !due {
            return;
        }
        let mut total = 0;
        for p in &paths {
            if std::path::Path::new(p).exists() {
                total += du(p).unwrap_or(0);
            }
        }
        let mut infos = lock(&self.infos);
        let Some(info) = infos.get_mut(key) else {
            return;
        };
        info.last_check = Some(Instant::now());
        info.last_usage = total;
        if self.enforce && info.limitation.is_none() {
            let quota = crate::util::scalar(&info.quota, "disk").map(|mb| (mb * 1048576.0) as u64);
            if let Some(q) = quota {
                if total > q {
                    info.limitation = Some(limitation(
                        info.quota.clone(),
                        format!(
                            "Disk usage ({}) exceeds quota ({})",
                            bytes_string(total),
                            bytes_string(q)
                        ),
                        Reason::ContainerLimitationDisk,
                    ));
                }
            }
        }
    }
}

impl Isolator for DiskDuIsolator {
    fn name(&self) -> &'static str {
        "disk/du"
    }

    fn recover(&self, states: &[ContainerState], _orphans: &[ContainerId]) -> Result<(), Error> {
        let mut infos = lock(&self.infos);
        for s in states {
            let mut paths = vec![s.directory.clone()];
            paths.extend(s.ephemeral_volumes.iter().cloned());
            let quota = s
                .executor_info
                .as_ref()
                .map(|e| ephemeral_disk(&e.resources))
                .unwrap_or_default();
            infos.insert(
                id_string(&s.container_id),
                Info {
                    paths,
                    quota,
                    last_check: None,
                    last_usage: 0,
                    limitation: None,
                },
            );
        }
        Ok(())
    }

    fn prepare(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        // Nested containers share their parent's sandbox quota.
        if id.parent.is_some() {
            return Ok(None);
        }
        let key = id_string(id);
        let mut infos = lock(&self.infos);
        if infos.contains_key(&key) {
            return Err(Error::AlreadyPrepared(key));
        }
        let mut paths = vec![config.directory.clone()];
        paths.extend(config.ephemeral_volumes.iter().cloned());
        infos.insert(
            key,
            Info {
                paths,
                quota: ephemeral_disk(&config.resources),
                last_check: None,
                last_usage: 0,
                limitation: None,
            },
        );
        Ok(None)
    }

    fn watch(&self, id: &ContainerId) -> Option<ContainerLimitation> {
        let key = id_string(id);
        self.check(&key, false);
        lock(&self.infos)
            .get(&key)
            .and_then(|i| i.limitation.clone())
    }

    fn update(&self, id: &ContainerId, resources: &[Resource]) -> Result<(), Error> {
        if let Some(i) = lock(&self.infos).get_mut(&id_string(id)) {
            i.quota = ephemeral_disk(resources);
        }
        Ok(())
    }

    fn usage(&self, id: &ContainerId) -> Result<ResourceStatistics, Error> {
        let key = id_string(id);
        if id.parent.is_some() {
            return Err(Error::Invalid("Not supported for nested containers".into()));
        }
        self.check(&key, false);
        let infos = lock(&self.infos);
        let info = infos
            .get(&key)
            .ok_or_else(|| Error::UnknownContainer(key.clone()))?;
        Ok(ResourceStatistics {
            timestamp: crate::util::now_secs(),
            disk_used_bytes: Some(info.last_usage),
            disk_limit_bytes: crate::util::scalar(&info.quota, "disk")
                .map(|mb| (mb * 1048576.0) as u64),
            ..Default::default()
        })
    }

    fn cleanup(&self, id: &ContainerId) -> Result<(), Error> {
        lock(&self.infos).remove(&id_string(id));
        Ok(())
    }
}
