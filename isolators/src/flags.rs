//! The agent flags the Linux isolators read (a subset of upstream's
//! `slave::Flags`, src/slave/flags.cpp), passed to [`crate::create_with`].

use std::path::PathBuf;
use std::time::Duration;

/// Isolator construction options, named and defaulted as the agent flags.
#[derive(Clone, Debug)]
pub struct IsolatorFlags {
    /// `--isolation`, needed because some isolators change behaviour when
    /// others are present (e.g. filesystem/linux vs namespaces/ipc).
    pub isolation: String,
    /// `--runtime_dir` (container shm mounts, devices).
    pub runtime_dir: PathBuf,
    /// `--work_dir` (provisioner state lives under it).
    pub work_dir: PathBuf,
    /// `--sandbox_directory`: where the sandbox appears in an image rootfs.
    pub sandbox_directory: String,
    /// `--default_container_shm_size` (bytes).
    pub default_container_shm_size: Option<u64>,
    /// `--disallow_sharing_agent_ipc_namespace`.
    pub disallow_sharing_agent_ipc_namespace: bool,
    /// `--disallow_sharing_agent_pid_namespace`.
    pub disallow_sharing_agent_pid_namespace: bool,
    /// `--cgroups_hierarchy`.
    pub cgroups_hierarchy: PathBuf,
    /// `--cgroups_root`.
    pub cgroups_root: String,
    /// `--cgroups_enable_cfs`.
    pub cgroups_enable_cfs: bool,
    /// `--cgroups_limit_swap`.
    pub cgroups_limit_swap: bool,
    /// `--enforce_container_disk_quota`.
    pub enforce_container_disk_quota: bool,
    /// `--container_disk_watch_interval`.
    pub container_disk_watch_interval: Duration,
    /// `--image_providers` (only `docker` is provided).
    pub image_providers: Vec<String>,
    /// `--image_provisioner_backend` (`copy` or `overlay`).
    pub image_provisioner_backend: Option<String>,
    /// `--docker_registry`: here a local directory of `docker save` tarballs.
    pub docker_registry: String,
    /// `--docker_store_dir`.
    pub docker_store_dir: PathBuf,
    /// `--docker_ignore_runtime` (1.9).
    pub docker_ignore_runtime: bool,
}

impl Default for IsolatorFlags {
    fn default() -> Self {
        IsolatorFlags {
            isolation: "posix/cpu,posix/mem".into(),
            runtime_dir: "/var/run/mesos".into(),
            work_dir: "/var/lib/mesos".into(),
            sandbox_directory: "/mnt/mesos/sandbox".into(),
            default_container_shm_size: None,
            disallow_sharing_agent_ipc_namespace: false,
            disallow_sharing_agent_pid_namespace: false,
            cgroups_hierarchy: "/sys/fs/cgroup".into(),
            cgroups_root: "mesos".into(),
            cgroups_enable_cfs: false,
            cgroups_limit_swap: false,
            enforce_container_disk_quota: false,
            container_disk_watch_interval: Duration::from_secs(15),
            image_providers: Vec::new(),
            image_provisioner_backend: None,
            docker_registry: "https://registry-1.docker.io".into(),
            docker_store_dir: "/tmp/mesos/store/docker".into(),
            docker_ignore_runtime: false,
        }
    }
}

impl IsolatorFlags {
    /// Whether `name` is listed in `--isolation`.
    pub fn has_isolator(&self, name: &str) -> bool {
        self.isolation.split(',').any(|s| s.trim() == name)
    }
}
