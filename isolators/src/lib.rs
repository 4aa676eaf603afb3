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
//! - [`Error`]: the crate's error type.
//!
//! Linux isolators (cgroups, namespaces, ...) are added by a later change in
//! `cfg(target_os = "linux")` modules.

use mesos_proto::mesos::slave::{
    ContainerConfig, ContainerLaunchInfo, ContainerLimitation, ContainerState,
};
use mesos_proto::mesos::{ContainerId, ContainerStatus, Resource, ResourceStatistics};

pub mod posix;

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
    /// are containers the agent no longer checkpoints.
    fn recover(&self, states: &[ContainerState], orphans: &[ContainerId]) -> Result<(), Error>;

    /// Prepares a container before its process is forked; may return launch
    /// adjustments (environment, namespaces, pre-exec commands).
    fn prepare(
        &self,
        container_id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error>;

    /// Places the forked (not yet exec'ed) process `pid` under isolation.
    fn isolate(&self, container_id: &ContainerId, pid: u32) -> Result<(), Error>;

    /// A limitation the container has reached, if any (upstream returns a
    /// future that completes on the limitation; here it is polled).
    fn watch(&self, _container_id: &ContainerId) -> Option<ContainerLimitation> {
        None
    }

    /// Applies new resources to a running container.
    fn update(&self, container_id: &ContainerId, resources: &[Resource]) -> Result<(), Error>;

    /// Resource usage statistics of the container.
    fn usage(&self, _container_id: &ContainerId) -> Result<ResourceStatistics, Error> {
        Ok(ResourceStatistics::default())
    }

    /// Isolator-specific status (e.g. network info) of the container.
    fn status(&self, _container_id: &ContainerId) -> Result<ContainerStatus, Error> {
        Ok(ContainerStatus::default())
    }

    /// Releases everything held for a container that has exited.
    fn cleanup(&self, container_id: &ContainerId) -> Result<(), Error>;
}

/// Builds the isolators named in `--isolation` (comma separated). Only the
/// posix ones exist in this build; `cgroups/*` and others are rejected, as
/// upstream rejects unknown isolators at agent start.
pub fn create(isolation: &str) -> Result<Vec<Box<dyn Isolator>>, Error> {
    let mut out: Vec<Box<dyn Isolator>> = Vec::new();
    for name in isolation
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match name {
            "posix/cpu" | "posix/mem" | "filesystem/posix" | "posix/disk" => {
                if out.iter().any(|i| i.name() == name) {
                    continue;
                }
                out.push(Box::new(posix::PosixIsolator::new(name)));
            }
            other => return Err(Error::Unsupported(other.to_string())),
        }
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
    fn create_rejects_unknown() {
        assert!(
            matches!(create("posix/cpu,bogus/x"), Err(Error::Unsupported(n)) if n == "bogus/x")
        );
    }
}
