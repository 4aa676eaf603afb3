//! `namespaces/ipc`, `namespaces/pid` and `linux/nnp`: isolators that only
//! shape the launch (namespaces to clone, mounts, prctl) and, for IPC, own a
//! per-container `/dev/shm` tmpfs on the host.
//!
//! Upstream: src/slave/containerizer/mesos/isolators/namespaces/ipc.cpp,
//! namespaces/pid.cpp, linux/nnp.cpp.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use mesos_proto::mesos::linux_info::IpcMode;
use mesos_proto::mesos::slave::{ContainerClass, ContainerConfig, ContainerLaunchInfo};
use mesos_proto::mesos::ContainerId;

use crate::flags::IsolatorFlags;
use crate::launch::{
    container_mount, join, mount, CLONE_NEWIPC, CLONE_NEWPID, MS_BIND, MS_MOVE, MS_NODEV,
    MS_NOEXEC, MS_NOSUID, MS_STRICTATIME,
};
use crate::{Error, Isolator};

/// `/dev/shm` of the agent (`AGENT_SHM_DIRECTORY`).
pub const AGENT_SHM_DIRECTORY: &str = "/dev/shm";

/// `containerizer::paths::getRuntimePath`: nested ids nest under
/// `containers/` of their parent.
pub fn runtime_path(runtime_dir: &std::path::Path, id: &ContainerId) -> PathBuf {
    let mut chain = vec![id.value.clone()];
    let mut cur = id.parent.as_deref();
    while let Some(p) = cur {
        chain.push(p.value.clone());
        cur = p.parent.as_deref();
    }
    let mut path = runtime_dir.to_path_buf();
    for v in chain.iter().rev() {
        path = path.join("containers").join(v);
    }
    path
}

/// The `ContainerID` as the string `a.b.c` (parent first), as upstream
/// stringifies nested ids.
pub fn id_string(id: &ContainerId) -> String {
    match id.parent.as_deref() {
        Some(p) => format!("{}.{}", id_string(p), id.value),
        None => id.value.clone(),
    }
}

fn is_debug(config: &ContainerConfig) -> bool {
    config.container_class == Some(ContainerClass::Debug as i32)
}

fn linux_info(config: &ContainerConfig) -> Option<&mesos_proto::mesos::LinuxInfo> {
    config.container_info.as_ref()?.linux_info.as_ref()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `namespaces/ipc`.
pub struct IpcIsolator {
    runtime_dir: PathBuf,
    default_shm_size: Option<u64>,
    disallow_sharing_agent_ipc_namespace: bool,
    /// Configs of prepared containers: nested containers look up their
    /// parent's IPC mode (upstream reads the checkpointed config).
    configs: Mutex<BTreeMap<String, ContainerConfig>>,
}

impl IpcIsolator {
    pub fn new(flags: &IsolatorFlags) -> IpcIsolator {
        IpcIsolator {
            runtime_dir: flags.runtime_dir.clone(),
            default_shm_size: flags.default_container_shm_size,
            disallow_sharing_agent_ipc_namespace: flags.disallow_sharing_agent_ipc_namespace,
            configs: Mutex::new(BTreeMap::new()),
        }
    }

    /// The host directory holding the container's private `/dev/shm`.
    pub fn shm_path(&self, id: &ContainerId) -> PathBuf {
        runtime_path(&self.runtime_dir, id).join("shm")
    }

    /// `getParentShmPath`: the `/dev/shm` a nested container shares.
    fn parent_shm_path(&self, id: &ContainerId) -> Result<String, Error> {
        let parent = id
            .parent
            .as_deref()
            .ok_or_else(|| Error::Invalid("container has no parent".into()))?;
        let configs = lock(&self.configs);
        let pc = configs.get(&id_string(parent)).ok_or_else(|| {
            Error::Invalid(format!(
                "Failed to find config for container {}",
                id_string(parent)
            ))
        })?;
        match linux_info(pc).and_then(|l| l.ipc_mode) {
            Some(m) if m == IpcMode::Private as i32 => {
                let p = self.shm_path(parent);
                if !p.exists() {
                    return Err(Error::Invalid(format!(
                        "The shared memory path '{}' of container {} does not exist",
                        p.display(),
                        id_string(parent)
                    )));
                }
                Ok(p.display().to_string())
            }
            Some(m) if m == IpcMode::ShareParent as i32 => {
                if parent.parent.is_some() {
                    drop(configs);
                    return self.parent_shm_path(parent);
                }
                Ok(AGENT_SHM_DIRECTORY.into())
            }
            Some(_) => Err(Error::Invalid(format!(
                "The IPC mode of container {} is UNKNOWN",
                id_string(parent)
            ))),
            None => {
                if pc.rootfs.is_some() {
                    return Err(Error::Invalid(format!(
                        "The shared memory of container {} cannot be shared with any \
                         other containers because it is only in the container's own \
                         mount namespace",
                        id_string(parent)
                    )));
                }
                Ok(AGENT_SHM_DIRECTORY.into())
            }
        }
    }

    /// Mounts the private tmpfs (size in bytes if given) on the host.
    fn make_private_shm(&self, id: &ContainerId, size: Option<u64>) -> Result<String, Error> {
        let p = self.shm_path(id);
        std::fs::create_dir_all(&p).map_err(|e| {
            Error::Launch(format!(
                "Failed to create container shared memory directory: {e}"
            ))
        })?;
        let opts = match size {
            Some(b) => format!("mode=1777,size={b}"),
            None => "mode=1777".into(),
        };
        let path = p.display().to_string();
        mount(
            Some("tmpfs"),
            &path,
            Some("tmpfs"),
            libc::c_ulong::from(MS_NOSUID | MS_NODEV | MS_STRICTATIME),
            Some(&opts),
        )?;
        Ok(path)
    }
}

fn shm_target(config: &ContainerConfig) -> String {
    match &config.rootfs {
        Some(r) => join(r, "/dev/shm"),
        None => "/dev/shm".into(),
    }
}

fn fresh_shm_mount(
    config: &ContainerConfig,
) -> Option<mesos_proto::mesos::slave::ContainerMountInfo> {
    config.rootfs.as_ref().map(|r| {
        container_mount(
            Some("tmpfs"),
            &join(r, "/dev/shm"),
            Some("tmpfs"),
            Some("mode=1777"),
            MS_NOSUID | MS_NODEV | MS_STRICTATIME,
        )
    })
}

impl Isolator for IpcIsolator {
    fn name(&self) -> &'static str {
        "namespaces/ipc"
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        let mut li = ContainerLaunchInfo::default();
        let mut mode: Option<i32> = None;
        let mut shm_size: Option<u64> = None;
        // As upstream, the default size only applies to containers that
        // carry a LinuxInfo at all.
        if let Some(l) = linux_info(config) {
            mode = l.ipc_mode;
            if let Some(mb) = l.shm_size {
                if mode != Some(IpcMode::Private as i32) {
                    return Err(Error::Invalid(
                        "Only support specifying the size of /dev/shm when the IPC mode \
                         is `PRIVATE`"
                            .into(),
                    ));
                }
                shm_size = Some(u64::from(mb) * 1024 * 1024);
            } else {
                shm_size = self.default_shm_size;
            }
        }

        if id.parent.is_some() {
            if is_debug(config) {
                if mode == Some(IpcMode::Private as i32) {
                    return Err(Error::Invalid(
                        "Private IPC mode is not supported for DEBUG containers".into(),
                    ));
                }
                li.enter_namespaces.push(CLONE_NEWIPC);
                lock(&self.configs).insert(id_string(id), config.clone());
                return Ok(Some(li));
            }
            match mode {
                None => {
                    li.enter_namespaces.push(CLONE_NEWIPC);
                    li.mounts.extend(fresh_shm_mount(config));
                }
                Some(m) if m == IpcMode::Private as i32 => {
                    li.clone_namespaces.push(CLONE_NEWIPC);
                    let p = self.make_private_shm(id, shm_size)?;
                    li.mounts.push(container_mount(
                        Some(&p),
                        &shm_target(config),
                        None,
                        None,
                        MS_BIND,
                    ));
                }
                Some(m) if m == IpcMode::ShareParent as i32 => {
                    li.enter_namespaces.push(CLONE_NEWIPC);
                    let parent = self.parent_shm_path(id)?;
                    if parent != AGENT_SHM_DIRECTORY || config.rootfs.is_some() {
                        li.mounts.push(container_mount(
                            Some(&parent),
                            &shm_target(config),
                            None,
                            None,
                            MS_BIND,
                        ));
                    }
                }
                Some(_) => return Err(Error::Invalid("Unknown IPC mode".into())),
            }
        } else {
            match mode {
                None => {
                    li.clone_namespaces.push(CLONE_NEWIPC);
                    li.mounts.extend(fresh_shm_mount(config));
                }
                Some(m) if m == IpcMode::Private as i32 => {
                    li.clone_namespaces.push(CLONE_NEWIPC);
                    let p = self.make_private_shm(id, shm_size)?;
                    li.mounts.push(container_mount(
                        Some(&p),
                        &shm_target(config),
                        None,
                        None,
                        MS_BIND,
                    ));
                }
                Some(m) if m == IpcMode::ShareParent as i32 => {
                    if self.disallow_sharing_agent_ipc_namespace {
                        return Err(Error::Invalid(
                            "Sharing agent IPC namespace with top-level container is not \
                             allowed"
                                .into(),
                        ));
                    }
                    if config.rootfs.is_some() {
                        li.mounts.push(container_mount(
                            Some(AGENT_SHM_DIRECTORY),
                            &shm_target(config),
                            None,
                            None,
                            MS_BIND,
                        ));
                    }
                }
                Some(_) => return Err(Error::Invalid("Unknown IPC mode".into())),
            }
        }
        lock(&self.configs).insert(id_string(id), config.clone());
        Ok(Some(li))
    }

    fn cleanup(&self, id: &ContainerId) -> Result<(), Error> {
        lock(&self.configs).remove(&id_string(id));
        let p = self.shm_path(id);
        if p.exists() {
            let s = p.display().to_string();
            if crate::launch::mount_points().contains(&s) {
                crate::launch::unmount(&s, true).map_err(|e| {
                    Error::Launch(format!(
                        "Failed to unmount container shared memory directory '{s}': {e}"
                    ))
                })?;
            }
            let _ = std::fs::remove_dir(&p);
        }
        Ok(())
    }
}

/// `namespaces/pid`.
pub struct PidIsolator {
    runtime_dir: PathBuf,
    disallow_sharing_agent_pid_namespace: bool,
}

impl PidIsolator {
    pub fn new(flags: &IsolatorFlags) -> PidIsolator {
        PidIsolator {
            runtime_dir: flags.runtime_dir.clone(),
            disallow_sharing_agent_pid_namespace: flags.disallow_sharing_agent_pid_namespace,
        }
    }
}

impl Isolator for PidIsolator {
    fn name(&self) -> &'static str {
        "namespaces/pid"
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        let mut li = ContainerLaunchInfo::default();
        let share = linux_info(config)
            .and_then(|l| l.share_pid_namespace)
            .unwrap_or(false);
        if id.parent.is_some() {
            li.enter_namespaces.push(CLONE_NEWPID);
            if is_debug(config) {
                return Ok(Some(li));
            }
        } else if self.disallow_sharing_agent_pid_namespace && share {
            return Err(Error::Invalid(
                "Sharing agent pid namespace with top-level container is not allowed".into(),
            ));
        }
        let proc_mount = container_mount(
            Some("proc"),
            "/proc",
            Some("proc"),
            None,
            MS_NOSUID | MS_NODEV | MS_NOEXEC,
        );
        if !share {
            // Own pid namespace: a fresh /proc shows the container's pids.
            li.clone_namespaces.push(CLONE_NEWPID);
            li.mounts.push(proc_mount);
        } else if id.parent.is_some() {
            // Shares its parent's namespace, which may not be the agent's:
            // move the inherited /proc away and mount a fresh one (MESOS-9529).
            let mp = runtime_path(&self.runtime_dir, id)
                .join("mnt")
                .join("host_proc");
            std::fs::create_dir_all(&mp).map_err(|e| {
                Error::Launch(format!(
                    "Failed to create host proc mount point at '{}': {e}",
                    mp.display()
                ))
            })?;
            li.mounts.push(container_mount(
                Some("/proc"),
                &mp.display().to_string(),
                None,
                None,
                MS_MOVE,
            ));
            li.mounts.push(proc_mount);
        }
        Ok(Some(li))
    }
}

/// `linux/nnp`: every container runs with `no_new_privs` set.
pub struct NnpIsolator;

impl Isolator for NnpIsolator {
    fn name(&self) -> &'static str {
        "linux/nnp"
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        _id: &ContainerId,
        _config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        Ok(Some(ContainerLaunchInfo {
            no_new_privileges: Some(true),
            ..Default::default()
        }))
    }
}
