//! `filesystem/linux`, `volume/sandbox_path` and `volume/host_path`.
//!
//! Upstream: isolators/filesystem/linux.cpp, isolators/volume/sandbox_path.cpp,
//! isolators/volume/host_path.cpp. Every container gets its own mount
//! namespace; a container with a rootfs (from an image) gets it bind-mounted
//! onto itself, the special filesystems (`/proc`, read-only `/proc/sys` & co,
//! `/sys`, `/dev` tmpfs, devpts), the standard devices, the sandbox at
//! `--sandbox_directory`, and — unless it shares the agent's pid namespace
//! (privileged) — masked `/proc` and `/sys` paths.
//!
//! Deviation: the standard devices are bind-mounted from the host's `/dev`
//! nodes directly rather than from copies under the runtime directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mesos_proto::mesos::slave::{
    ContainerClass, ContainerConfig, ContainerLaunchInfo, ContainerMountInfo, ContainerState,
};
use mesos_proto::mesos::volume::source::{sandbox_path, Type as SourceType};
use mesos_proto::mesos::{volume, ContainerId, Volume};

use crate::flags::IsolatorFlags;
use crate::launch::{
    container_mount, join, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC,
    MS_STRICTATIME,
};
use crate::namespaces::id_string;
use crate::{Error, Isolator};

/// `ROOTFS_MASKED_PATHS`.
pub const ROOTFS_MASKED_PATHS: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/key-users",
    "/proc/latency_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/sys/firmware",
];

const STANDARD_DEVICES: &[&str] = &["full", "null", "random", "tty", "urandom", "zero"];

/// `ROOTFS_CONTAINER_MOUNTS`, targets relative to the rootfs.
fn rootfs_container_mounts() -> Vec<ContainerMountInfo> {
    let ro_bind = MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV;
    let mut v = vec![container_mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        None,
        MS_NOSUID | MS_NOEXEC | MS_NODEV,
    )];
    for p in [
        "/proc/bus",
        "/proc/fs",
        "/proc/irq",
        "/proc/sys",
        "/proc/sysrq-trigger",
    ] {
        // Kernels without e.g. CONFIG_MAGIC_SYSRQ lack some of these; a
        // missing entry cannot be bound (upstream would fail the launch).
        if Path::new(p).exists() {
            v.push(container_mount(Some(p), p, None, None, ro_bind));
        }
    }
    v.push(container_mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        None,
        MS_RDONLY | MS_NOSUID | MS_NOEXEC | MS_NODEV,
    ));
    v.push(container_mount(
        Some("tmpfs"),
        "/sys/fs/cgroup",
        Some("tmpfs"),
        Some("mode=755"),
        MS_NOSUID | MS_NOEXEC | MS_NODEV,
    ));
    v.push(container_mount(
        Some("tmpfs"),
        "/dev",
        Some("tmpfs"),
        Some("mode=755"),
        MS_NOSUID | MS_NOEXEC | MS_STRICTATIME,
    ));
    v.push(container_mount(
        Some("devpts"),
        "/dev/pts",
        Some("devpts"),
        Some("newinstance,ptmxmode=0666,mode=0620,gid=5"),
        MS_NOSUID | MS_NOEXEC,
    ));
    v
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn shares_pid(config: &ContainerConfig) -> bool {
    config
        .container_info
        .as_ref()
        .and_then(|c| c.linux_info.as_ref())
        .and_then(|l| l.share_pid_namespace)
        .unwrap_or(false)
}

/// `filesystem/linux`.
pub struct LinuxFilesystemIsolator {
    sandbox_directory: String,
    has_ipc_isolator: bool,
    /// Configs of prepared containers (privilege walks up to the root).
    configs: Mutex<BTreeMap<String, ContainerConfig>>,
}

impl LinuxFilesystemIsolator {
    pub fn new(flags: &IsolatorFlags) -> LinuxFilesystemIsolator {
        LinuxFilesystemIsolator {
            sandbox_directory: flags.sandbox_directory.clone(),
            has_ipc_isolator: flags.has_isolator("namespaces/ipc"),
            configs: Mutex::new(BTreeMap::new()),
        }
    }

    /// `isPrivilegedContainer`: shares the pid namespace all the way up.
    fn privileged(&self, id: &ContainerId, config: &ContainerConfig) -> Result<bool, Error> {
        if !shares_pid(config) {
            return Ok(false);
        }
        match id.parent.as_deref() {
            None => Ok(true),
            Some(p) => {
                let pc = lock(&self.configs)
                    .get(&id_string(p))
                    .cloned()
                    .ok_or_else(|| {
                        Error::Invalid(format!(
                            "Failed to find config for parent container {}",
                            id_string(p)
                        ))
                    })?;
                self.privileged(p, &pc)
            }
        }
    }
}

impl Isolator for LinuxFilesystemIsolator {
    fn name(&self) -> &'static str {
        "filesystem/linux"
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        let debug = config.container_class == Some(ContainerClass::Debug as i32);
        if id.parent.is_some() && debug {
            if config.rootfs.is_some() {
                return Err(Error::Invalid(
                    "A 'rootfs' cannot be set for DEBUG containers".into(),
                ));
            }
            return Ok(Some(ContainerLaunchInfo {
                enter_namespaces: vec![crate::launch::CLONE_NEWNS],
                ..Default::default()
            }));
        }
        let key = id_string(id);
        if lock(&self.configs).contains_key(&key) {
            return Err(Error::AlreadyPrepared(key));
        }
        let mut li = ContainerLaunchInfo {
            clone_namespaces: vec![crate::launch::CLONE_NEWNS],
            ..Default::default()
        };
        if let Some(rootfs) = &config.rootfs {
            // pivot_root needs the new root to be a mount point.
            li.mounts.push(container_mount(
                Some(rootfs),
                rootfs,
                None,
                None,
                MS_REC | MS_BIND,
            ));
            for mut m in rootfs_container_mounts() {
                m.target = join(rootfs, &m.target);
                if let Some(src) = &m.source {
                    if src.starts_with('/') {
                        // The special read-only binds re-mount the
                        // container's own fresh /proc entries.
                        m.source = Some(join(rootfs, src));
                    }
                }
                li.mounts.push(m);
            }
            if !self.has_ipc_isolator {
                li.mounts.push(container_mount(
                    Some("tmpfs"),
                    &join(rootfs, "/dev/shm"),
                    Some("tmpfs"),
                    Some("mode=1777"),
                    MS_NOSUID | MS_NODEV | MS_STRICTATIME,
                ));
            }
            for d in STANDARD_DEVICES {
                li.mounts.push(container_mount(
                    Some(&format!("/dev/{d}")),
                    &join(rootfs, &format!("/dev/{d}")),
                    None,
                    None,
                    MS_BIND,
                ));
            }
            for (src, dst) in [
                ("/proc/self/fd", "/dev/fd"),
                ("/proc/self/fd/0", "/dev/stdin"),
                ("/proc/self/fd/1", "/dev/stdout"),
                ("/proc/self/fd/2", "/dev/stderr"),
                ("pts/ptmx", "/dev/ptmx"),
            ] {
                use mesos_proto::mesos::slave::container_file_operation::{
                    Operation, Parameters, Symlink,
                };
                li.file_operations
                    .push(mesos_proto::mesos::slave::ContainerFileOperation {
                        operation: Some(Operation::Symlink as i32),
                        parameters: Some(Parameters::Symlink(Symlink {
                            source: Some(src.into()),
                            target: Some(join(rootfs, dst)),
                        })),
                    });
            }
            let sandbox = join(rootfs, &self.sandbox_directory);
            std::fs::create_dir_all(&sandbox).map_err(|e| {
                Error::Launch(format!(
                    "Failed to create sandbox mount point at '{sandbox}': {e}"
                ))
            })?;
            li.mounts.push(container_mount(
                Some(&config.directory),
                &sandbox,
                None,
                None,
                MS_BIND | MS_REC,
            ));
            if !self.privileged(id, config)? {
                for p in ROOTFS_MASKED_PATHS {
                    li.masked_paths.push(join(rootfs, p));
                }
            }
        }
        lock(&self.configs).insert(key, config.clone());
        Ok(Some(li))
    }

    fn cleanup(&self, id: &ContainerId) -> Result<(), Error> {
        // The container's mounts live in its own mount namespace and vanish
        // with its last process.
        lock(&self.configs).remove(&id_string(id));
        Ok(())
    }
}

fn volumes(config: &ContainerConfig) -> &[Volume] {
    config
        .container_info
        .as_ref()
        .map(|c| c.volumes.as_slice())
        .unwrap_or(&[])
}

fn is_dir(p: &str) -> bool {
    Path::new(p).is_dir()
}

/// Creates the mount point for `source` at `point` (a directory for a
/// directory source, an empty file otherwise).
fn make_mount_point(source: &str, point: &str) -> Result<(), Error> {
    let res = if is_dir(source) {
        std::fs::create_dir_all(point)
    } else {
        if let Some(parent) = Path::new(point).parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(point)
            .map(|_| ())
    };
    res.map_err(|e| {
        Error::Launch(format!(
            "Failed to create the mount point at '{point}': {e}"
        ))
    })
}

/// The mount point of `container_path` as both volume isolators compute it.
fn volume_mount_point(
    source: &str,
    container_path: &str,
    config: &ContainerConfig,
    sandbox_directory: &str,
) -> Result<String, Error> {
    if container_path.starts_with('/') {
        match &config.rootfs {
            Some(rootfs) => {
                let point = join(rootfs, container_path);
                make_mount_point(source, &point)?;
                Ok(point)
            }
            None => {
                if !Path::new(container_path).exists() {
                    return Err(Error::Invalid(format!(
                        "Mount point '{container_path}' is an absolute path. It must exist if \
                         the container shares the host filesystem"
                    )));
                }
                Ok(container_path.to_string())
            }
        }
    } else {
        let point = join(&config.directory, container_path);
        make_mount_point(source, &point)?;
        Ok(match &config.rootfs {
            Some(rootfs) => join(&join(rootfs, sandbox_directory), container_path),
            None => point,
        })
    }
}

fn bind(source: &str, target: &str, mode: i32) -> ContainerMountInfo {
    let ro = if mode == volume::Mode::Ro as i32 {
        MS_RDONLY
    } else {
        0
    };
    container_mount(Some(source), target, None, None, MS_BIND | MS_REC | ro)
}

/// `volume/sandbox_path`: SANDBOX_PATH volumes (SELF or PARENT sandbox).
pub struct SandboxPathIsolator {
    sandbox_directory: String,
    /// Sandboxes of prepared containers (PARENT volumes of nested ones).
    sandboxes: Mutex<BTreeMap<String, String>>,
}

impl SandboxPathIsolator {
    pub fn new(flags: &IsolatorFlags) -> SandboxPathIsolator {
        SandboxPathIsolator {
            sandbox_directory: flags.sandbox_directory.clone(),
            sandboxes: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Isolator for SandboxPathIsolator {
    fn name(&self) -> &'static str {
        "volume/sandbox_path"
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn recover(&self, states: &[ContainerState], _orphans: &[ContainerId]) -> Result<(), Error> {
        let mut s = lock(&self.sandboxes);
        for st in states {
            s.insert(id_string(&st.container_id), st.directory.clone());
        }
        Ok(())
    }

    fn prepare(
        &self,
        id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        lock(&self.sandboxes).insert(id_string(id), config.directory.clone());
        let mut li = ContainerLaunchInfo::default();
        for v in volumes(config) {
            let Some(src) = &v.source else { continue };
            if src.r#type != Some(SourceType::SandboxPath as i32) {
                continue;
            }
            let sp = src
                .sandbox_path
                .as_ref()
                .ok_or_else(|| Error::Invalid("SANDBOX_PATH volume without sandbox_path".into()))?;
            if sp.path.starts_with('/') || sp.path.split('/').any(|c| c == "..") {
                return Err(Error::Invalid(format!(
                    "Path '{}' in SANDBOX_PATH volume must be relative and stay in the sandbox",
                    sp.path
                )));
            }
            let base = if sp.r#type == Some(sandbox_path::Type::Parent as i32) {
                let parent = id.parent.as_deref().ok_or_else(|| {
                    Error::Invalid(
                        "PARENT type SANDBOX_PATH volume must be used with nested containers"
                            .into(),
                    )
                })?;
                lock(&self.sandboxes)
                    .get(&id_string(parent))
                    .cloned()
                    .ok_or_else(|| Error::UnknownContainer(id_string(parent)))?
            } else {
                config.directory.clone()
            };
            let source = join(&base, &sp.path);
            std::fs::create_dir_all(&source).map_err(|e| {
                Error::Launch(format!("Failed to create the source '{source}': {e}"))
            })?;
            let point =
                volume_mount_point(&source, &v.container_path, config, &self.sandbox_directory)?;
            if point != source {
                li.mounts.push(bind(&source, &point, v.mode));
            }
        }
        Ok(Some(li))
    }

    fn cleanup(&self, id: &ContainerId) -> Result<(), Error> {
        lock(&self.sandboxes).remove(&id_string(id));
        Ok(())
    }
}

/// `volume/host_path`: HOST_PATH volumes (and legacy absolute `host_path`).
pub struct HostPathIsolator {
    sandbox_directory: String,
}

impl HostPathIsolator {
    pub fn new(flags: &IsolatorFlags) -> HostPathIsolator {
        HostPathIsolator {
            sandbox_directory: flags.sandbox_directory.clone(),
        }
    }
}

impl Isolator for HostPathIsolator {
    fn name(&self) -> &'static str {
        "volume/host_path"
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        _id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        let mut li = ContainerLaunchInfo::default();
        for v in volumes(config) {
            let mut host: Option<String> =
                v.host_path.as_ref().filter(|h| h.starts_with('/')).cloned();
            if let Some(src) = &v.source {
                if src.r#type == Some(SourceType::HostPath as i32) {
                    let hp = src.host_path.as_ref().ok_or_else(|| {
                        Error::Invalid("HOST_PATH volume without host_path".into())
                    })?;
                    if !hp.path.starts_with('/') {
                        return Err(Error::Invalid(format!(
                            "Path '{}' in HOST_PATH volume is not absolute",
                            hp.path
                        )));
                    }
                    host = Some(hp.path.clone());
                }
            }
            let Some(host) = host else { continue };
            if !Path::new(&host).exists() {
                std::fs::create_dir_all(&host).map_err(|e| {
                    Error::Launch(format!("Failed to create the host path at '{host}': {e}"))
                })?;
            }
            let point =
                volume_mount_point(&host, &v.container_path, config, &self.sandbox_directory)?;
            if point != host {
                li.mounts.push(bind(&host, &point, v.mode));
            }
        }
        Ok(Some(li))
    }
}

/// Helper for tests and callers: the container-side path of a sandbox file.
pub fn sandbox_in_rootfs(rootfs: &Path, sandbox_directory: &str) -> PathBuf {
    PathBuf::from(join(&rootfs.display().to_string(), sandbox_directory))
}
