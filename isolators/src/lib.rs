//! Container isolation: the [`Isolator`] trait the Mesos containerizer drives,
//! and the trivial posix isolators.
//!
//! # Layout
//! - [`Isolator`]: the per-container lifecycle upstream defines in
//!   `include/mesos/slave/isolator.hpp` (recover, prepare, isolate, watch,
//!   update, usage, status, cleanup). Methods are synchronous: the agent calls
//!   them from blocking jobs (`Cx::blocking`), never from a handler.
//! - [`posix`]: `posix/cpu`, `posix/mem` and `filesystem/posix`, which, as in
//!   upstream (`src/slave/containerizer/mesos/isolators/posix.hpp`,
//!   `filesystem/posix.cpp`), enforce nothing: they only track containers.
//! - [`flags`]: the agent flags the Linux isolators read ([`IsolatorFlags`]).
//! - [`launch`]: the `mesos-containerizer launch` helper (mounts, masks,
//!   rootfs, user, `no_new_privs`, exec), upstream's launch.cpp.
//! - [`linux_launcher`]: clone with namespaces + release pipe, upstream's
//!   linux_launcher.cpp fork.
//! - [`namespaces`]: `namespaces/ipc`, `namespaces/pid`, `linux/nnp`.
//! - [`cgroups`]: `cgroups/cpu`, `cgroups/mem`, `cgroups/all` (v1 and v2).
//! - [`filesystem`]: `filesystem/linux`, `volume/sandbox_path`,
//!   `volume/host_path`.
//! - [`provisioner`]: docker images from a local registry of `docker save`
//!   tarballs, `copy` and `overlay` backends; [`runtime`]: `docker/runtime`.
//! - [`disk`]: the `disk/du` isolator.
//! - [`debug`]: the pending-operations tracker behind `/containerizer/debug`.
//! - [`containerizer`]: [`containerizer::LinuxContainerizer`], which drives
//!   isolators + provisioner + launcher for one container at a time; the
//!   agent's containerizer calls it.
//! - [`Error`]: the crate's error type.

use mesos_proto::mesos::slave::{
    ContainerConfig, ContainerLaunchInfo, ContainerLimitation, ContainerState,
};
use mesos_proto::mesos::{ContainerId, ContainerStatus, Resource, ResourceStatistics};

pub mod cgroups;
pub mod containerizer;
pub mod debug;
pub mod disk;
pub mod filesystem;
pub mod flags;
pub mod launch;
pub mod linux_launcher;
pub mod namespaces;
pub mod posix;
pub mod provisioner;
pub mod runtime;
pub mod util;

pub use flags::IsolatorFlags;

/// Errors of isolators.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The isolator does not know the container.
    #[error("unknown container {0}")]
    UnknownContainer(String),
    /// The container is already being isolated.
    #[error("container {0} has already been prepared")]
    AlreadyPrepared(String),
    /// An `--isolation` entry this build does not provide.
    #[error("unknown or unsupported isolator '{0}'")]
    Unsupported(String),
    /// A system call or file operation failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Invalid input (container config, launch info, image).
    #[error("{0}")]
    Invalid(String),
    /// Launching the container failed.
    #[error("{0}")]
    Launch(String),
    /// A cgroups operation failed.
    #[error("{0}")]
    Cgroups(String),
    /// Provisioning an image failed.
    #[error("{0}")]
    Provision(String),
}

/// Whether we run as root (the Linux isolators and their tests need it).
pub fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

/// One isolation mechanism applied to every container of the agent.
///
/// Mirrors `mesos::slave::Isolator` (include/mesos/slave/isolator.hpp). The
/// containerizer calls `recover` once at agent start, then for each container
/// `prepare` (before fork), `isolate` (with the forked pid, before exec),
/// `watch` (limitations reached), `update` (resource changes), `usage` and
/// `status` (on demand) and `cleanup` (after the container exited).
pub trait Isolator: Send + Sync {
    /// The `--isolation` name, e.g. `posix/cpu`.
    fn name(&self) -> &'static str;

    /// Whether nested containers are supported (`supportsNesting`).
    fn supports_nesting(&self) -> bool {
        false
    }

    /// Re-learns the containers that survived an agent restart; `orphans`
    /// are containers the agent no longer checkpoints. Upstream's base
    /// `Isolator` does nothing here by default; so do we.
    fn recover(&self, _states: &[ContainerState], _orphans: &[ContainerId]) -> Result<(), Error> {
        Ok(())
    }

    /// Prepares a container before its process is forked; may return launch
    /// adjustments (environment, namespaces, pre-exec commands).
    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error>;

    /// Places the forked (not yet exec'ed) process `pid` under isolation.
    fn isolate(&self, _container_id: &ContainerId, _pid: u32) -> Result<(), Error> {
        Ok(())
    }

    /// A limitation the container has reached, if any (upstream returns a
    /// future that completes on the limitation; here it is polled).
    fn watch(&self, _container_id: &ContainerId) -> Option<ContainerLimitation> {
        None
    }

    /// Applies new resources to a running container.
    fn update(&self, _container_id: &ContainerId, _resources: &[Resource]) -> Result<(), Error> {
        Ok(())
    }

    /// Resource usage statistics of the container.
    fn usage(&self, _container_id: &ContainerId) -> Result<ResourceStatistics, Error> {
        Ok(ResourceStatistics::default())
    }

    /// Isolator-specific status (e.g. network info) of the container.
    fn status(&self, _container_id: &ContainerId) -> Result<ContainerStatus, Error> {
        Ok(ContainerStatus::default())
    }

    /// Releases everything held for a container that has exited.
    fn cleanup(&self, _container_id: &ContainerId) -> Result<(), Error> {
        Ok(())
    }
}

/// Builds the isolators named in `--isolation` (comma separated) with
/// default agent flags. Unknown names are rejected, as upstream rejects
/// unknown isolators at agent start.
pub fn create(isolation: &str) -> Result<Vec<Box<dyn Isolator>>, Error> {
    let flags = IsolatorFlags {
        isolation: isolation.to_string(),
        ..Default::default()
    };
    create_with(&flags)
}

/// Builds the isolators named in `flags.isolation`, in upstream's order
/// (filesystem first, then the rest as listed; all `cgroups/*` entries share
/// one cgroups isolator). The `docker/runtime` isolator and the provisioner
/// are separate ([`runtime::DockerRuntimeIsolator`] is created here; the
/// provisioner by [`containerizer::LinuxContainerizer::new`]).
pub fn create_with(flags: &IsolatorFlags) -> Result<Vec<Box<dyn Isolator>>, Error> {
    let mut out: Vec<Box<dyn Isolator>> = Vec::new();
    let mut cgroup_subsystems: Vec<cgroups::Subsystem> = Vec::new();
    // Deprecated names are replaced by their current equivalents, as
    // `MesosContainerizer::create` does (containerizer.cpp).
    let mut names: Vec<&str> = Vec::new();
    for n in flags
        .isolation
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let replaced: Vec<&str> = match n {
            "process" => vec!["posix/cpu", "posix/mem"],
            "cgroups" => vec!["cgroups/cpu", "cgroups/mem"],
            "posix/disk" => vec!["disk/du"],
            other => vec![other],
        };
        for r in replaced {
            if !names.contains(&r) {
                names.push(r);
            }
        }
    }
    if names
        .iter()
        .filter(|n| n.starts_with("filesystem/"))
        .count()
        > 1
    {
        return Err(Error::Invalid(
            "Using multiple filesystem isolators simultaneously is disallowed".into(),
        ));
    }
    // Upstream's creators refuse these without root, and the namespace
    // isolators without `filesystem/linux` (their mounts must land in a
    // private mount namespace).
    for n in &names {
        let linux_only = n.starts_with("cgroups/")
            || n.starts_with("namespaces/")
            || *n == "filesystem/linux"
            || *n == "linux/nnp";
        if linux_only && !running_as_root() {
            return Err(Error::Invalid(format!(
                "The '{n}' isolator requires root permissions"
            )));
        }
        if n.starts_with("namespaces/") && !names.contains(&"filesystem/linux") {
            return Err(Error::Invalid(format!(
                "'filesystem/linux' must be used to enable {n}"
            )));
        }
    }
    // `filesystem/linux` must prepare first: other isolators' mounts land in
    // its mount namespace (upstream orders the filesystem isolator first).
    if names.contains(&"filesystem/linux") {
        out.push(Box::new(filesystem::LinuxFilesystemIsolator::new(flags)));
    }
    for name in names {
        if out.iter().any(|i| i.name() == name) {
            continue;
        }
        match name {
            "posix/cpu" | "posix/mem" | "filesystem/posix" => {
                out.push(Box::new(posix::PosixIsolator::new(name)));
            }
            "filesystem/linux" => {}
            "namespaces/ipc" => out.push(Box::new(namespaces::IpcIsolator::new(flags))),
            "namespaces/pid" => out.push(Box::new(namespaces::PidIsolator::new(flags))),
            "linux/nnp" => out.push(Box::new(namespaces::NnpIsolator)),
            "volume/sandbox_path" => {
                out.push(Box::new(filesystem::SandboxPathIsolator::new(flags)))
            }
            "volume/host_path" => out.push(Box::new(filesystem::HostPathIsolator::new(flags))),
            "disk/du" => out.push(Box::new(disk::DiskDuIsolator::new(flags))),
            "docker/runtime" => out.push(Box::new(runtime::DockerRuntimeIsolator::new(flags))),
            "cgroups/cpu" => cgroup_subsystems.push(cgroups::Subsystem::Cpu),
            "cgroups/mem" => cgroup_subsystems.push(cgroups::Subsystem::Mem),
            // We implement the cpu and memory subsystems; `cgroups/all`
            // enables those.
            "cgroups/all" => {
                cgroup_subsystems.push(cgroups::Subsystem::Cpu);
                cgroup_subsystems.push(cgroups::Subsystem::Mem);
            }
            other => return Err(Error::Unsupported(other.to_string())),
        }
    }
    if !cgroup_subsystems.is_empty() {
        out.push(Box::new(cgroups::CgroupsIsolator::new(
            flags,
            cgroup_subsystems,
        )?));
    }
    // Upstream always adds a filesystem isolator (filesystem/posix by default).
    if !out.iter().any(|i| i.name().starts_with("filesystem/")) {
        out.push(Box::new(posix::PosixIsolator::new("filesystem/posix")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_accepts_posix_and_adds_filesystem() {
        let isolators = create("posix/cpu,posix/mem").unwrap();
        let names: Vec<_> = isolators.iter().map(|i| i.name()).collect();
        assert_eq!(names, vec!["posix/cpu", "posix/mem", "filesystem/posix"]);
    }

    #[test]
    fn create_maps_deprecated_names_and_orders_filesystem_first() {
        let isolators = create("process,posix/disk").unwrap();
        let names: Vec<_> = isolators.iter().map(|i| i.name()).collect();
        assert_eq!(
            names,
            vec!["posix/cpu", "posix/mem", "disk/du", "filesystem/posix"]
        );
        assert!(create("filesystem/posix,filesystem/linux").is_err());
        if running_as_root() {
            let isolators = create("namespaces/pid,linux/nnp,filesystem/linux").unwrap();
            let names: Vec<_> = isolators.iter().map(|i| i.name()).collect();
            assert_eq!(
                names,
                vec!["filesystem/linux", "namespaces/pid", "linux/nnp"]
            );
            let e = create("namespaces/ipc").err().unwrap().to_string();
            assert!(e.contains("'filesystem/linux' must be used"), "{e}");
        }
    }

    #[test]
    fn create_rejects_unknown() {
        assert!(
            matches!(create("posix/cpu,bogus/x"), Err(Error::Unsupported(n)) if n == "bogus/x")
        );
    }
}
