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
    /// `--docker_registry`: a local directory of `docker save` tarballs to pull
    /// from; a remote registry is accepted but never pulled from (images must
    /// then already be in the store).
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

impl IsolatorFlags {
    /// Reads the isolator-related agent flags (as loaded by the agent's
    /// `stout::AgentFlags`); flags that are absent keep their defaults.
    pub fn from_agent_flags(flags: &stout::AgentFlags) -> IsolatorFlags {
        let b = flags.base();
        let mut f = IsolatorFlags::default();
        let s = |n: &str| b.get_str(n).map(str::to_string);
        if let Some(v) = s("isolation") {
            f.isolation = v;
        }
        if let Some(v) = s("runtime_dir") {
            f.runtime_dir = v.into();
        }
        if let Some(v) = s("work_dir") {
            f.work_dir = v.into();
        }
        if let Some(v) = s("sandbox_directory") {
            f.sandbox_directory = v;
        }
        f.default_container_shm_size = b.get_bytes("default_container_shm_size").map(|v| v.bytes());
        if let Some(v) = b.get_bool("disallow_sharing_agent_ipc_namespace") {
            f.disallow_sharing_agent_ipc_namespace = v;
        }
        if let Some(v) = b.get_bool("disallow_sharing_agent_pid_namespace") {
            f.disallow_sharing_agent_pid_namespace = v;
        }
        if let Some(v) = s("cgroups_hierarchy") {
            f.cgroups_hierarchy = v.into();
        }
        if let Some(v) = s("cgroups_root") {
            f.cgroups_root = v;
        }
        if let Some(v) = b.get_bool("cgroups_enable_cfs") {
            f.cgroups_enable_cfs = v;
        }
        if let Some(v) = b.get_bool("cgroups_limit_swap") {
            f.cgroups_limit_swap = v;
        }
        if let Some(v) = b.get_bool("enforce_container_disk_quota") {
            f.enforce_container_disk_quota = v;
        }
        if let Some(d) = b
            .get_duration("container_disk_watch_interval")
            .and_then(|d| d.to_std())
        {
            f.container_disk_watch_interval = d;
        }
        if let Some(v) = s("image_providers") {
            f.image_providers = v
                .split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect();
        }
        f.image_provisioner_backend = s("image_provisioner_backend").filter(|v| !v.is_empty());
        if let Some(v) = s("docker_registry") {
            f.docker_registry = v;
        }
        if let Some(v) = s("docker_store_dir") {
            f.docker_store_dir = v.into();
        }
        if let Some(v) = b.get_bool("docker_ignore_runtime") {
            f.docker_ignore_runtime = v;
        }
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_agent_flags() {
        let mut a = stout::AgentFlags::new();
        a.load_from(
            Vec::<(String, String)>::new(),
            [
                "mesos-agent",
                "--work_dir=/w",
                "--isolation=filesystem/linux,namespaces/ipc",
                "--default_container_shm_size=64MB",
                "--disallow_sharing_agent_ipc_namespace",
                "--cgroups_enable_cfs",
                "--enforce_container_disk_quota",
                "--container_disk_watch_interval=2secs",
                "--image_providers=DOCKER",
                "--image_provisioner_backend=copy",
                "--docker_registry=/reg",
                "--docker_ignore_runtime",
            ],
        )
        .unwrap();
        let f = IsolatorFlags::from_agent_flags(&a);
        assert_eq!(f.isolation, "filesystem/linux,namespaces/ipc");
        assert_eq!(f.work_dir, PathBuf::from("/w"));
        assert_eq!(f.default_container_shm_size, Some(64 << 20));
        assert!(f.disallow_sharing_agent_ipc_namespace);
        assert!(f.cgroups_enable_cfs && f.enforce_container_disk_quota);
        assert_eq!(f.container_disk_watch_interval, Duration::from_secs(2));
        assert_eq!(f.image_providers, vec!["docker"]);
        assert_eq!(f.image_provisioner_backend.as_deref(), Some("copy"));
        assert_eq!(f.docker_registry, "/reg");
        assert!(f.docker_ignore_runtime);
        assert_eq!(f.sandbox_directory, "/mnt/mesos/sandbox");
        assert_eq!(f.cgroups_root, "mesos");
    }
}
