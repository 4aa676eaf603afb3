//! Every flag of `mesos-agent` (`src/slave/flags.cpp` plus the logging flags
//! of `src/logging/flags.cpp` and stout's `--help`), with upstream names,
//! deprecated aliases, types and defaults; [`AgentFlags`] adds typed accessors.
//!
//! Flags that upstream compiles only with optional features (port-mapping,
//! network-ports, XFS and seccomp isolators) are included and accepted, with
//! [`FlagSpec::build_condition`] naming the feature; the Linux-only and SSL-only
//! ones are included unconditionally, as in a Linux build with SSL (the
//! reference build).
//!
//! A few defaults depend on the machine, as upstream's do: `--launcher`
//! (`linux` when root with the freezer cgroup, else `posix`), `--runtime_dir`
//! (`/var/run/mesos` when `/var/run` is writable, else `$TMPDIR/mesos/runtime`),
//! and the stores and fetcher cache under `$TMPDIR` (default `/tmp`). See
//! [`RuntimeDefaults`].

use crate::bytes::Bytes;
use crate::duration::Duration;
use crate::error::Result;
use crate::flag::{FlagSpec, FlagType, FlagValue};
use crate::flags::FlagsBase;
use crate::logging_flags::add_logging_flags;
use crate::master_flags::validate_domain;

/// Upstream's `PKGLIBEXECDIR` for a build installed under `/usr`.
pub const LAUNCHER_DIR: &str = "/usr/libexec/mesos";

/// Upper bound of `--executor_reregistration_timeout` (slave/constants.hpp).
pub const MAX_EXECUTOR_REREGISTRATION_TIMEOUT: Duration = Duration::from_secs(15);

/// The machine-dependent defaults of the agent's flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeDefaults {
    /// `os::temp()`: `$TMPDIR`, or `/tmp`.
    pub temp_dir: String,
    /// Default of `--runtime_dir`.
    pub runtime_dir: String,
    /// Default of `--launcher`.
    pub launcher: String,
}

impl RuntimeDefaults {
    /// Computes the defaults on this machine as upstream does.
    pub fn detect() -> RuntimeDefaults {
        let temp_dir = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".to_string());
        let runtime_dir = if access_rw("/var/run") {
            "/var/run/mesos".to_string()
        } else {
            format!("{}/mesos/runtime", temp_dir)
        };
        let launcher = if linux_launcher_available() {
            "linux"
        } else {
            "posix"
        }
        .to_string();
        RuntimeDefaults {
            temp_dir,
            runtime_dir,
            launcher,
        }
    }

    /// Fixed defaults for tests: `/tmp`, `/var/run/mesos`, `posix`.
    pub fn fixed() -> RuntimeDefaults {
        RuntimeDefaults {
            temp_dir: "/tmp".to_string(),
            runtime_dir: "/var/run/mesos".to_string(),
            launcher: "posix".to_string(),
        }
    }
}

/// `os::access(path, R_OK | W_OK)`.
fn access_rw(path: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(path) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call;
    // access(2) only reads it.
    unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
}

/// `LinuxLauncher::available()`: running as root and the freezer cgroup
/// subsystem enabled (per `/proc/cgroups`).
fn linux_launcher_available() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        return false;
    }
    let Ok(cgroups) = std::fs::read_to_string("/proc/cgroups") else {
        return false;
    };
    cgroups.lines().any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.len() >= 4 && cols[0] == "freezer" && cols[3] == "1"
    })
}

fn s(v: &str) -> FlagValue {
    FlagValue::String(v.to_string())
}
fn b(v: bool) -> FlagValue {
    FlagValue::Bool(v)
}
fn d(v: Duration) -> FlagValue {
    FlagValue::Duration(v)
}

/// `--executor_environment_variables` may only hold string values.
fn validate_executor_environment_variables(
    v: Option<&FlagValue>,
) -> std::result::Result<(), String> {
    if let Some(FlagValue::Json(serde_json::Value::Object(map))) = v {
        if map.values().any(|x| !x.is_string()) {
            return Err(
                "`executor_environment_variables` must only contain string values".to_string(),
            );
        }
    }
    Ok(())
}

/// `--executor_reregistration_timeout` may not exceed 15secs.
fn validate_executor_reregistration_timeout(
    v: Option<&FlagValue>,
) -> std::result::Result<(), String> {
    match v {
        Some(FlagValue::Duration(t)) if *t > MAX_EXECUTOR_REREGISTRATION_TIMEOUT => Err(format!(
            "Expected `--executor_reregistration_timeout` to be not more than {}",
            MAX_EXECUTOR_REREGISTRATION_TIMEOUT
        )),
        _ => Ok(()),
    }
}

/// `--agent_features` must contain the capabilities every 1.9 agent has.
fn validate_agent_features(v: Option<&FlagValue>) -> std::result::Result<(), String> {
    match v {
        Some(FlagValue::Json(json)) => crate::parsers::parse_agent_features(json)
            .map(|_| ())
            .map_err(|e| e.to_string()),
        _ => Ok(()),
    }
}

/// `--default_container_dns`: no UNKNOWN or HOST entries, at most one default
/// (unnamed) entry per network kind and one entry per network name
/// (`src/slave/flags.cpp`).
fn validate_default_container_dns(v: Option<&FlagValue>) -> std::result::Result<(), String> {
    use mesos_proto::mesos::internal::container_dns_info::{docker_info, mesos_info};
    use mesos_proto::mesos::internal::ContainerDnsInfo;
    use std::collections::BTreeSet;

    let Some(FlagValue::Json(json)) = v else {
        return Ok(());
    };
    let dns: ContainerDnsInfo =
        mesos_proto::json::from_json_value(json).map_err(|e| e.to_string())?;
    const UNKNOWN: &str = "UNKNOWN network mode configured in `--default_container_dns`";
    const HOST: &str =
        "Configuring DNS for HOST network with `--default_container_dns` is not yet supported";

    let mut cni_default = false;
    let mut cni_names = BTreeSet::new();
    for info in &dns.mesos {
        match mesos_info::NetworkMode::try_from(info.network_mode.unwrap_or(0)) {
            Ok(mesos_info::NetworkMode::Host) => return Err(HOST.to_string()),
            Ok(mesos_info::NetworkMode::Cni) => match &info.network_name {
                None if cni_default => {
                    return Err("Multiple DNS configuration without network name for CNI \
                                network in `--default_container_dns` is not allowed"
                        .to_string())
                }
                None => cni_default = true,
                Some(name) => {
                    if !cni_names.insert(name.clone()) {
                        return Err(format!(
                            "Multiple DNS configuration with the same network name '{}' for \
                             CNI network in `--default_container_dns` is not allowed",
                            name
                        ));
                    }
                }
            },
            _ => return Err(UNKNOWN.to_string()),
        }
    }

    let mut bridge = false;
    let mut user_default = false;
    let mut user_names = BTreeSet::new();
    for info in &dns.docker {
        match docker_info::NetworkMode::try_from(info.network_mode.unwrap_or(0)) {
            Ok(docker_info::NetworkMode::Host) => return Err(HOST.to_string()),
            Ok(docker_info::NetworkMode::Bridge) => {
                if bridge {
                    return Err(
                        "Multiple DNS configuration for Docker default bridge network \
                                in `--default_container_dns` is not allowed"
                            .to_string(),
                    );
                }
                bridge = true;
            }
            Ok(docker_info::NetworkMode::User) => match &info.network_name {
                None if user_default => {
                    return Err("Multiple DNS configuration without network name for \
                                user-defined CNM network in `--default_container_dns` is not \
                                allowed"
                        .to_string())
                }
                None => user_default = true,
                Some(name) => {
                    if !user_names.insert(name.clone()) {
                        return Err(format!(
                            "Multiple DNS configuration with the same network name '{}' for \
                             user-defined CNM network in `--default_container_dns` is not \
                             allowed",
                            name
                        ));
                    }
                }
            },
            _ => return Err(UNKNOWN.to_string()),
        }
    }
    Ok(())
}

/// `--ip6` is only advertised (upstream logs the same warning).
fn validate_ip6(v: Option<&FlagValue>) -> std::result::Result<(), String> {
    if let Some(FlagValue::String(ip6)) = v {
        tracing::warn!(
            "Mesos does not listen on IPv6 sockets; the IPv6 address {} is only advertised for \
             containers on the host network",
            ip6
        );
    }
    Ok(())
}

/// The agent's flag table, in upstream's declaration order.
pub fn agent_flag_specs(rt: &RuntimeDefaults) -> Vec<FlagSpec> {
    use FlagSpec as F;
    use FlagType as T;
    let tmp = |rest: &str| FlagValue::String(format!("{}/mesos/{}", rt.temp_dir, rest));
    const PORT_MAPPING: &str = "ENABLE_PORT_MAPPING_ISOLATOR";
    const NETWORK_PORTS: &str = "ENABLE_NETWORK_PORTS_ISOLATOR";
    vec![
        F::optional(
            "hostname",
            T::String,
            "Hostname to advertise to the master. When unset it is looked up from the\n\
             advertised IP, or the IP itself is used with `--no-hostname_lookup`.",
        ),
        F::with_default(
            "hostname_lookup",
            T::Bool,
            b(true),
            "Whether to resolve the hostname when `--hostname` is not given.",
        ),
        F::with_default("version", T::Bool, b(false), "Print the version and exit."),
        F::optional(
            "resources",
            T::String,
            "Total resources of this agent, as `name(role):value;...` text or a JSON array\n\
             of `Resource` objects (e.g. `cpus:8;mem:16384;ports:[31000-32000]`).",
        ),
        F::optional(
            "resource_provider_config_dir",
            T::String,
            "Directory of local resource provider configurations (JSON files).",
        ),
        F::optional(
            "disk_profile_adaptor",
            T::String,
            "Disk profile adaptor module used by storage resource providers.",
        ),
        F::with_default(
            "isolation",
            T::String,
            s("posix/cpu,posix/mem"),
            "Comma-separated isolators, e.g. `cgroups/cpu,cgroups/mem,filesystem/linux`.",
        ),
        F::with_default(
            "launcher",
            T::String,
            s(&rt.launcher),
            "Container launcher: `linux` (cgroups freezer, namespaces) or `posix`.\n\
             Default: `linux` when available, else `posix`.",
        ),
        F::optional(
            "image_providers",
            T::String,
            "Comma-separated container image providers, e.g. `docker,appc`.",
        ),
        F::optional(
            "image_provisioner_backend",
            T::String,
            "Root filesystem backend for images: `aufs`, `bind`, `copy` or `overlay`;\n\
             chosen automatically when unset.",
        ),
        F::optional(
            "image_gc_config",
            T::Proto("mesos.internal.ImageGcConfig"),
            "Automatic image garbage collection settings as JSON (or `file://` path).",
        ),
        F::with_default(
            "appc_simple_discovery_uri_prefix",
            T::String,
            s("http://"),
            "URI prefix for Appc simple image discovery.",
        ),
        F::with_default(
            "appc_store_dir",
            T::String,
            tmp("store/appc"),
            "Directory of the Appc image store.",
        ),
        F::with_default(
            "docker_registry",
            T::String,
            s("https://registry-1.docker.io"),
            "Default Docker registry: a URL, or a local directory of image tarballs.",
        ),
        F::with_default(
            "docker_store_dir",
            T::String,
            tmp("store/docker"),
            "Directory of the Docker image store.",
        ),
        F::with_default(
            "docker_volume_checkpoint_dir",
            T::String,
            s("/var/run/mesos/isolators/docker/volume"),
            "Where the docker/volume isolator checkpoints its state.",
        ),
        F::with_default(
            "docker_volume_chown",
            T::Bool,
            b(false),
            "Whether docker volumes are chowned to the task user (single-user volumes only).",
        ),
        F::with_default(
            "docker_ignore_runtime",
            T::Bool,
            b(false),
            "Whether the image's runtime settings (WORKDIR, ENV, CMD) are ignored.",
        ),
        F::with_default(
            "default_role",
            T::String,
            s("*"),
            "Role of resources in `--resources` that do not name one (deprecated).",
        ),
        F::optional(
            "attributes",
            T::String,
            "Agent attributes as `name:value;name:value`, e.g. `rack:abc;level:2`.",
        ),
        F::with_default(
            "fetcher_cache_size",
            T::Bytes,
            FlagValue::Bytes(Bytes::gigabytes(2)),
            "Size of the fetcher's URI cache.",
        ),
        F::with_default(
            "fetcher_cache_dir",
            T::String,
            tmp("fetch"),
            "Directory of the fetcher's URI cache (wiped at agent start).",
        ),
        F::with_default(
            "fetcher_stall_timeout",
            T::Duration,
            d(Duration::from_mins(1)),
            "How long a download may make no progress before it is aborted.",
        ),
        F::required(
            "work_dir",
            T::String,
            "Directory for sandboxes and checkpointed state (e.g. `/var/lib/mesos/agent`).\n\
             Avoid directories that are cleaned automatically, such as `/tmp`.",
        ),
        F::with_default(
            "runtime_dir",
            T::String,
            s(&rt.runtime_dir),
            "Directory for state that must survive agent restarts but not reboots.",
        ),
        F::with_default(
            "launcher_dir",
            T::String,
            s(LAUNCHER_DIR),
            "Directory of the helper binaries (containerizer, executors, fetcher).",
        ),
        F::optional(
            "hadoop_home",
            T::String,
            "Hadoop installation used to fetch `hdfs://` URIs; otherwise `HADOOP_HOME`\n\
             or `hadoop` on the `PATH`.",
        ),
        F::with_default(
            "switch_user",
            T::Bool,
            b(true),
            "Whether tasks run as the framework's user (needs setuid); if false they run\n\
             as the agent's user.",
        ),
        F::optional(
            "volume_gid_range",
            T::String,
            "Range of gids (e.g. `[10000-20000]`) given to shared volumes used by\n\
             non-root tasks.",
        ),
        F::with_default(
            "http_heartbeat_interval",
            T::Duration,
            d(Duration::from_secs(30)),
            "Heartbeat interval on streaming agent API connections.",
        ),
        F::with_default(
            "frameworks_home",
            T::String,
            s(""),
            "Directory prepended to relative executor URIs.",
        ),
        F::with_default(
            "registration_backoff_factor",
            T::Duration,
            d(Duration::from_secs(1)),
            "Base of the randomized exponential backoff between (re-)registration\n\
             attempts, capped at 1mins.",
        ),
        F::with_default(
            "authentication_backoff_factor",
            T::Duration,
            d(Duration::from_secs(1)),
            "Base of the backoff between authentication attempts.\n",
        ),
        F::with_default(
            "authentication_timeout_min",
            T::Duration,
            d(Duration::from_secs(5)),
            "Shortest authentication attempt timeout.",
        ),
        F::with_default(
            "authentication_timeout_max",
            T::Duration,
            d(Duration::from_mins(1)),
            "Longest authentication attempt timeout.",
        ),
        F::optional(
            "executor_environment_variables",
            T::JsonObject,
            "JSON object of environment variables (string values) given to executors.",
        )
        .validator(validate_executor_environment_variables),
        F::with_default(
            "executor_registration_timeout",
            T::Duration,
            d(Duration::from_mins(1)),
            "How long an executor may take to register before it is shut down.",
        ),
        F::with_default(
            "executor_reregistration_timeout",
            T::Duration,
            d(Duration::from_secs(2)),
            "How long executors have to re-register after agent recovery (at most 15secs).",
        )
        .validator(validate_executor_reregistration_timeout),
        F::optional(
            "executor_reregistration_retry_interval",
            T::Duration,
            "How often the agent asks driver-based executors to re-register after recovery.",
        ),
        F::with_default(
            "executor_shutdown_grace_period",
            T::Duration,
            d(Duration::from_secs(5)),
            "Default time an executor has to shut down before it is killed.",
        ),
        F::optional(
            "jwt_secret_key",
            T::Path,
            "File with the key that signs executor JWT secrets (SSL builds).",
        )
        .deprecated_alias("executor_secret_key"),
        F::with_default(
            "gc_delay",
            T::Duration,
            d(Duration::from_weeks(1)),
            "Longest time before finished sandboxes are garbage collected; shortened\n\
             as the disk fills up.",
        ),
        F::with_default(
            "gc_disk_headroom",
            T::Double,
            FlagValue::Double(0.1),
            "Disk share (0.0 to 1.0) kept free when computing sandbox GC age.",
        ),
        F::with_default(
            "gc_non_executor_container_sandboxes",
            T::Bool,
            b(false),
            "Whether sandboxes of standalone and nested containers are garbage collected.",
        ),
        F::with_default(
            "disk_watch_interval",
            T::Duration,
            d(Duration::from_mins(1)),
            "How often disk usage is checked for sandbox GC.",
        ),
        F::optional(
            "container_logger",
            T::String,
            "Container logger module for executor and task output.",
        ),
        F::with_default(
            "recover",
            T::String,
            s("reconnect"),
            "What to do with old executors on restart: `reconnect` or `cleanup`.",
        ),
        F::with_default(
            "recovery_timeout",
            T::Duration,
            d(Duration::from_mins(15)),
            "How long recovery may take before executors waiting for the agent exit.",
        ),
        F::with_default(
            "reconfiguration_policy",
            T::String,
            s("equal"),
            "Which agent configuration changes are allowed on restart: `equal` or\n\
             `additive`.",
        ),
        F::with_default(
            "strict",
            T::Bool,
            b(true),
            "Whether recovery errors are fatal (true) or skipped (false).",
        ),
        F::with_default(
            "max_completed_executors_per_framework",
            T::Size,
            FlagValue::Size(150),
            "Completed executors kept in memory per framework.",
        ),
        F::with_default(
            "cgroups_destroy_timeout",
            T::Duration,
            d(Duration::from_secs(60)),
            "How long destroying a cgroup may take.",
        ),
        F::with_default(
            "cgroups_hierarchy",
            T::String,
            s("/sys/fs/cgroup"),
            "Where the cgroup hierarchies are mounted.",
        ),
        F::with_default(
            "cgroups_root",
            T::String,
            s("mesos"),
            "Name of the root cgroup under which containers are placed.",
        ),
        F::with_default(
            "cgroups_enable_cfs",
            T::Bool,
            b(false),
            "Whether CPU limits are enforced with CFS quota (not just shares).",
        ),
        F::with_default(
            "cgroups_limit_swap",
            T::Bool,
            b(false),
            "Whether memory limits include swap.",
        ),
        F::with_default(
            "cgroups_cpu_enable_pids_and_tids_count",
            T::Bool,
            b(false),
            "Whether container process and thread counts are reported (costly).",
        ),
        F::optional(
            "cgroups_net_cls_primary_handle",
            T::String,
            "net_cls primary handle (hex, e.g. `0x1337`) to give containers.",
        ),
        F::optional(
            "cgroups_net_cls_secondary_handles",
            T::String,
            "Range of net_cls secondary handles, e.g. `0xffff,0xffff`.",
        ),
        F::optional(
            "allowed_devices",
            T::Proto("mesos.DeviceWhitelist"),
            "JSON list of devices containers may access (devices cgroup).",
        ),
        F::optional(
            "agent_subsystems",
            T::String,
            "Comma-separated cgroup subsystems to place the agent itself in, e.g.\n\
             `memory,cpuacct`.",
        )
        .deprecated_alias("slave_subsystems"),
        F::optional(
            "host_path_volume_force_creation",
            T::String,
            "Colon-separated host directories under which missing host_path volume\n\
             sources are created.",
        ),
        F::optional(
            "nvidia_gpu_devices",
            T::UintList,
            "Comma-separated Nvidia GPU ids to expose (needs the gpu/nvidia isolator).",
        ),
        F::optional(
            "perf_events",
            T::String,
            "Comma-separated perf events sampled for containers (cgroups/perf_event).",
        ),
        F::with_default(
            "perf_interval",
            T::Duration,
            d(Duration::from_secs(60)),
            "Time between perf samples.",
        ),
        F::with_default(
            "perf_duration",
            T::Duration,
            d(Duration::from_secs(10)),
            "Length of one perf sample (must be below `--perf_interval`).",
        ),
        F::with_default(
            "revocable_cpu_low_priority",
            T::Bool,
            b(true),
            "Whether containers on revocable CPU get a lower CPU priority.",
        ),
        F::with_default(
            "systemd_enable_support",
            T::Bool,
            b(true),
            "Whether the agent integrates with systemd (delegated executor slices).",
        ),
        F::with_default(
            "systemd_runtime_directory",
            T::String,
            s("/run/systemd/system"),
            "systemd's runtime directory.",
        ),
        F::optional(
            "effective_capabilities",
            T::Proto("mesos.CapabilityInfo"),
            "JSON Linux capabilities tasks get by default (linux/capabilities isolator).",
        )
        .deprecated_alias("allowed_capabilities"),
        F::optional(
            "bounding_capabilities",
            T::Proto("mesos.CapabilityInfo"),
            "JSON upper bound of Linux capabilities a task may have.",
        ),
        F::optional(
            "default_container_shm_size",
            T::Bytes,
            "Default size of a container's private /dev/shm (namespaces/ipc isolator).",
        ),
        F::with_default(
            "disallow_sharing_agent_ipc_namespace",
            T::Bool,
            b(false),
            "Whether top-level containers are refused the agent's IPC namespace.",
        ),
        F::with_default(
            "disallow_sharing_agent_pid_namespace",
            T::Bool,
            b(false),
            "Whether top-level containers are refused the agent's PID namespace.",
        ),
        F::optional(
            "agent_features",
            T::Proto("mesos.internal.SlaveCapabilities"),
            "JSON `{\"capabilities\": [{\"type\": ...}]}` of agent capabilities to offer;\n\
             must include MULTI_ROLE, HIERARCHICAL_ROLE, RESERVATION_REFINEMENT,\n\
             AGENT_OPERATION_FEEDBACK and AGENT_DRAINING.\n",
        )
        .validator(validate_agent_features),
        F::optional(
            "firewall_rules",
            T::Proto("mesos.internal.Firewall"),
            "Endpoint firewall rules as JSON (or `file://` path).",
        ),
        F::optional(
            "credential",
            T::Path,
            "File with this agent's credential: JSON `{\"principal\": ..., \"secret\": ...}`\n\
             or one `principal secret` line.",
        ),
        F::optional(
            "acls",
            T::Proto("mesos.ACLs"),
            "Access control lists for the agent's endpoints, as JSON (or `file://` path).",
        ),
        F::with_default(
            "containerizers",
            T::String,
            s("mesos"),
            "Comma-separated containerizers in order of preference: `mesos`, `docker`.",
        ),
        F::with_default(
            "docker",
            T::String,
            s("docker"),
            "Path of the docker client binary.",
        ),
        F::with_default(
            "docker_remove_delay",
            T::Duration,
            d(Duration::from_hours(6)),
            "How long to wait before removing a stopped docker container.",
        ),
        F::with_default(
            "docker_kill_orphans",
            T::Bool,
            b(true),
            "Whether unknown docker containers are killed at recovery.",
        ),
        F::optional(
            "docker_mesos_image",
            T::String,
            "Docker image the agent itself runs in, if it runs in a container.",
        ),
        F::with_default(
            "docker_socket",
            T::String,
            s("/var/run/docker.sock"),
            "Docker daemon socket mounted into executor containers.",
        ),
        F::optional(
            "docker_config",
            T::JsonObject,
            "Docker client config (auth) as a JSON object, copied into sandboxes.",
        ),
        F::with_default(
            "sandbox_directory",
            T::String,
            s("/mnt/mesos/sandbox"),
            "Where the sandbox is mounted inside containers with their own root filesystem.",
        ),
        F::optional(
            "default_container_dns",
            T::Proto("mesos.internal.ContainerDNSInfo"),
            "JSON default DNS settings for containers, per network (see `flags.proto`).",
        )
        .validator(validate_default_container_dns),
        F::optional(
            "default_container_info",
            T::Proto("mesos.ContainerInfo"),
            "JSON ContainerInfo merged into executors that declare none.",
        ),
        F::with_default(
            "docker_stop_timeout",
            T::Duration,
            d(Duration::ZERO),
            "Deprecated: time docker waits between SIGTERM and SIGKILL on stop.",
        ),
        F::with_default(
            "ephemeral_ports_per_container",
            T::Port,
            FlagValue::Port(1024),
            "Ephemeral ports per container (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::optional(
            "eth0_name",
            T::String,
            "Name of the public interface (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::optional(
            "lo_name",
            T::String,
            "Name of the loopback interface (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::optional(
            "egress_rate_limit_per_container",
            T::Bytes,
            "Egress bandwidth per container per second (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::with_default(
            "egress_unique_flow_per_container",
            T::Bool,
            b(false),
            "Whether each container gets its own egress flow (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::with_default(
            "egress_flow_classifier_parent",
            T::String,
            s("root"),
            "Parent qdisc of the egress flow classifier (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::with_default(
            "network_enable_socket_statistics_summary",
            T::Bool,
            b(false),
            "Whether socket summary statistics are collected (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::with_default(
            "network_enable_socket_statistics_details",
            T::Bool,
            b(false),
            "Whether per-socket statistics are collected (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::with_default(
            "network_enable_snmp_statistics",
            T::Bool,
            b(false),
            "Whether SNMP statistics are collected (port-mapping isolator).",
        )
        .only_with(PORT_MAPPING),
        F::with_default(
            "container_ports_watch_interval",
            T::Duration,
            d(Duration::from_secs(30)),
            "How often container listening ports are checked (network/ports isolator).",
        )
        .only_with(NETWORK_PORTS),
        F::with_default(
            "check_agent_port_range_only",
            T::Bool,
            b(false),
            "Whether only ports in the agent's `ports` resource are checked.",
        )
        .only_with(NETWORK_PORTS),
        F::with_default(
            "enforce_container_ports",
            T::Bool,
            b(false),
            "Whether containers listening on unallocated ports are killed.",
        )
        .only_with(NETWORK_PORTS),
        F::optional(
            "container_ports_isolated_range",
            T::String,
            "Port range the network/ports isolator watches, e.g. `[0-65535]`.",
        )
        .only_with(NETWORK_PORTS),
        F::optional(
            "network_cni_plugins_dir",
            T::String,
            "Directories of CNI plugin binaries.",
        ),
        F::optional(
            "network_cni_config_dir",
            T::String,
            "Directory of CNI network configurations.",
        ),
        F::with_default(
            "network_cni_root_dir_persist",
            T::Bool,
            b(false),
            "Whether CNI network state is kept across reboots.",
        ),
        F::with_default(
            "network_cni_metrics",
            T::Bool,
            b(true),
            "Whether CNI network statistics are collected for containers.",
        ),
        F::with_default(
            "container_disk_watch_interval",
            T::Duration,
            d(Duration::from_secs(15)),
            "How often container disk usage is checked (disk/du isolator).",
        ),
        F::with_default(
            "enforce_container_disk_quota",
            T::Bool,
            b(false),
            "Whether containers exceeding their disk quota are killed (disk/du isolator).",
        ),
        F::optional(
            "modules",
            T::Proto("mesos.Modules"),
            "Modules to load, as JSON (or `file://` path).",
        ),
        F::optional(
            "modules_dir",
            T::String,
            "Directory of JSON module manifests; excludes `--modules`.",
        ),
        F::with_default(
            "authenticatee",
            T::String,
            s("crammd5"),
            "Authenticatee used to authenticate with the master.",
        ),
        F::with_default(
            "authorizer",
            T::String,
            s("local"),
            "Authorizer to use: `local` (driven by `--acls`) or a module name.",
        ),
        F::optional(
            "http_authenticators",
            T::String,
            "HTTP authenticator(s) for the agent's endpoints: `basic` or module names.",
        ),
        F::with_default(
            "authenticate_http_readwrite",
            T::Bool,
            b(false),
            "Whether HTTP endpoints that can change agent state require authentication.",
        ),
        F::with_default(
            "authenticate_http_readonly",
            T::Bool,
            b(false),
            "Whether read-only HTTP endpoints require authentication.",
        ),
        F::with_default(
            "authenticate_http_executors",
            T::Bool,
            b(false),
            "Whether HTTP executors must authenticate with a JWT (SSL builds).",
        ),
        F::optional(
            "http_credentials",
            T::Path,
            "File with the credentials accepted by the `basic` HTTP authenticator.",
        ),
        F::optional(
            "hooks",
            T::String,
            "Comma-separated hook modules to install.",
        ),
        F::optional("secret_resolver", T::String, "Secret resolver module."),
        F::optional(
            "resource_estimator",
            T::String,
            "Resource estimator module for oversubscription.",
        ),
        F::optional(
            "qos_controller",
            T::String,
            "QoS controller module for oversubscription.",
        ),
        F::with_default(
            "qos_correction_interval_min",
            T::Duration,
            d(Duration::ZERO),
            "Shortest time between QoS corrections.",
        ),
        F::with_default(
            "oversubscribed_resources_interval",
            T::Duration,
            d(Duration::from_secs(15)),
            "How often oversubscribed resources are reported to the master.",
        ),
        F::optional(
            "master_detector",
            T::String,
            "Master detector module; excludes `--master`.",
        ),
        F::with_default(
            "xfs_project_range",
            T::String,
            s("[5000-10000]"),
            "XFS project ids used for disk quotas (disk/xfs isolator).",
        )
        .only_with("ENABLE_XFS_DISK_ISOLATOR"),
        F::with_default(
            "xfs_kill_containers",
            T::Bool,
            b(false),
            "Whether containers exceeding their XFS quota are killed.",
        )
        .only_with("ENABLE_XFS_DISK_ISOLATOR"),
        F::optional(
            "seccomp_config_dir",
            T::String,
            "Directory of seccomp profiles.",
        )
        .only_with("ENABLE_SECCOMP_ISOLATOR"),
        F::optional(
            "seccomp_profile_name",
            T::String,
            "Default seccomp profile, relative to `--seccomp_config_dir`.",
        )
        .only_with("ENABLE_SECCOMP_ISOLATOR"),
        F::with_default(
            "http_command_executor",
            T::Bool,
            b(false),
            "Whether the command executor uses the v1 HTTP executor API.",
        ),
        F::optional("ip", T::String, "IP address to listen on (IPv4)."),
        F::optional(
            "ip6",
            T::String,
            "IPv6 address advertised for host-network containers (not listened on);\n\
             excludes `--ip6_discovery_command`.\n",
        )
        .validator(validate_ip6),
        F::with_default("port", T::Port, FlagValue::Port(5051), "Port to listen on."),
        F::optional(
            "advertise_ip",
            T::String,
            "IP address advertised to others instead of the one bound.",
        ),
        F::optional(
            "advertise_port",
            T::String,
            "Port advertised to others instead of the one bound.",
        ),
        F::optional(
            "master",
            T::SecurePathOrValue,
            "The master: `host:port`, `zk://host1:port1,host2:port2/path`, or a\n\
             `file://` path holding either.",
        ),
        F::with_default(
            "zk_session_timeout",
            T::Duration,
            d(Duration::from_secs(10)),
            "ZooKeeper session timeout.",
        ),
        F::optional(
            "ip_discovery_command",
            T::String,
            "Command whose output is the IP address to listen on; excludes `--ip`.",
        ),
        F::optional(
            "ip6_discovery_command",
            T::String,
            "Command whose output is the IPv6 address; excludes `--ip6`.",
        ),
        F::with_default(
            "memory_profiling",
            T::Bool,
            b(false),
            "Whether the memory profiler endpoints are enabled.",
        ),
        F::optional(
            "domain",
            T::Proto("mesos.DomainInfo"),
            "This agent's fault domain as JSON (or `file://` path), e.g.\n\
             `{\"fault_domain\": {\"region\": {\"name\": \"r1\"}, \"zone\": {\"name\": \"z1\"}}}`.",
        )
        .validator(validate_domain),
    ]
}

daemon_flags!(
    /// The `mesos-agent` flags: a [`FlagsBase`] holding the agent's table, with
    /// typed accessors. Dereferences to [`FlagsBase`] for loading, `flags()`,
    /// `usage()`, `set()` and untyped access.
    AgentFlags,
    "src/slave/main.cpp");

impl AgentFlags {
    /// Every agent flag at its default, with machine-dependent defaults
    /// detected on this machine. `--work_dir` is required: set it (or load it)
    /// before [`FlagsBase::check`].
    pub fn new() -> AgentFlags {
        AgentFlags::with_runtime_defaults(&RuntimeDefaults::detect())
    }

    /// Every agent flag at its default, with the given machine-dependent defaults.
    pub fn with_runtime_defaults(rt: &RuntimeDefaults) -> AgentFlags {
        let mut base = FlagsBase::new();
        add_logging_flags(&mut base);
        for spec in agent_flag_specs(rt) {
            base.add(spec);
        }
        AgentFlags { base }
    }

    getters! {
        /// `--version`.
        version: get_bool -> bool;
        /// `--hostname_lookup`.
        hostname_lookup: get_bool -> bool;
        /// `--docker_volume_chown`.
        docker_volume_chown: get_bool -> bool;
        /// `--docker_ignore_runtime`.
        docker_ignore_runtime: get_bool -> bool;
        /// `--switch_user`.
        switch_user: get_bool -> bool;
        /// `--gc_non_executor_container_sandboxes`.
        gc_non_executor_container_sandboxes: get_bool -> bool;
        /// `--strict`.
        strict: get_bool -> bool;
        /// `--cgroups_enable_cfs`.
        cgroups_enable_cfs: get_bool -> bool;
        /// `--cgroups_limit_swap`.
        cgroups_limit_swap: get_bool -> bool;
        /// `--cgroups_cpu_enable_pids_and_tids_count`.
        cgroups_cpu_enable_pids_and_tids_count: get_bool -> bool;
        /// `--revocable_cpu_low_priority`.
        revocable_cpu_low_priority: get_bool -> bool;
        /// `--systemd_enable_support`.
        systemd_enable_support: get_bool -> bool;
        /// `--disallow_sharing_agent_ipc_namespace`.
        disallow_sharing_agent_ipc_namespace: get_bool -> bool;
        /// `--disallow_sharing_agent_pid_namespace`.
        disallow_sharing_agent_pid_namespace: get_bool -> bool;
        /// `--docker_kill_orphans`.
        docker_kill_orphans: get_bool -> bool;
        /// `--network_cni_root_dir_persist`.
        network_cni_root_dir_persist: get_bool -> bool;
        /// `--network_cni_metrics`.
        network_cni_metrics: get_bool -> bool;
        /// `--enforce_container_disk_quota`.
        enforce_container_disk_quota: get_bool -> bool;
        /// `--authenticate_http_readwrite`.
        authenticate_http_readwrite: get_bool -> bool;
        /// `--authenticate_http_readonly`.
        authenticate_http_readonly: get_bool -> bool;
        /// `--authenticate_http_executors`.
        authenticate_http_executors: get_bool -> bool;
        /// `--http_command_executor`.
        http_command_executor: get_bool -> bool;
        /// `--memory_profiling`.
        memory_profiling: get_bool -> bool;
        /// `--xfs_kill_containers`.
        xfs_kill_containers: get_bool -> bool;
        /// `--quiet`.
        quiet: get_bool -> bool;
        /// `--initialize_driver_logging`.
        initialize_driver_logging: get_bool -> bool;
        /// `--port`.
        port: get_port -> u16;
        /// `--fetcher_cache_size`.
        fetcher_cache_size: get_bytes -> Bytes;
        /// `--gc_disk_headroom`.
        gc_disk_headroom: get_double -> f64;
        /// `--max_completed_executors_per_framework`.
        max_completed_executors_per_framework: get_size -> u64;
        /// `--logbufsecs`.
        logbufsecs: get_int -> i32;
        /// `--fetcher_stall_timeout`.
        fetcher_stall_timeout: get_duration -> Duration;
        /// `--http_heartbeat_interval`.
        http_heartbeat_interval: get_duration -> Duration;
        /// `--registration_backoff_factor`.
        registration_backoff_factor: get_duration -> Duration;
        /// `--authentication_backoff_factor`.
        authentication_backoff_factor: get_duration -> Duration;
        /// `--authentication_timeout_min`.
        authentication_timeout_min: get_duration -> Duration;
        /// `--authentication_timeout_max`.
        authentication_timeout_max: get_duration -> Duration;
        /// `--executor_registration_timeout`.
        executor_registration_timeout: get_duration -> Duration;
        /// `--executor_reregistration_timeout`.
        executor_reregistration_timeout: get_duration -> Duration;
        /// `--executor_shutdown_grace_period`.
        executor_shutdown_grace_period: get_duration -> Duration;
        /// `--gc_delay`.
        gc_delay: get_duration -> Duration;
        /// `--disk_watch_interval`.
        disk_watch_interval: get_duration -> Duration;
        /// `--recovery_timeout`.
        recovery_timeout: get_duration -> Duration;
        /// `--cgroups_destroy_timeout`.
        cgroups_destroy_timeout: get_duration -> Duration;
        /// `--perf_interval`.
        perf_interval: get_duration -> Duration;
        /// `--perf_duration`.
        perf_duration: get_duration -> Duration;
        /// `--docker_remove_delay`.
        docker_remove_delay: get_duration -> Duration;
        /// `--docker_stop_timeout`.
        docker_stop_timeout: get_duration -> Duration;
        /// `--container_disk_watch_interval`.
        container_disk_watch_interval: get_duration -> Duration;
        /// `--qos_correction_interval_min`.
        qos_correction_interval_min: get_duration -> Duration;
        /// `--oversubscribed_resources_interval`.
        oversubscribed_resources_interval: get_duration -> Duration;
        /// `--zk_session_timeout`.
        zk_session_timeout: get_duration -> Duration;
        /// `--isolation`.
        isolation: get_str -> &str;
        /// `--launcher`.
        launcher: get_str -> &str;
        /// `--appc_simple_discovery_uri_prefix`.
        appc_simple_discovery_uri_prefix: get_str -> &str;
        /// `--appc_store_dir`.
        appc_store_dir: get_str -> &str;
        /// `--docker_registry`.
        docker_registry: get_str -> &str;
        /// `--docker_store_dir`.
        docker_store_dir: get_str -> &str;
        /// `--docker_volume_checkpoint_dir`.
        docker_volume_checkpoint_dir: get_str -> &str;
        /// `--default_role`.
        default_role: get_str -> &str;
        /// `--fetcher_cache_dir`.
        fetcher_cache_dir: get_str -> &str;
        /// `--runtime_dir`.
        runtime_dir: get_str -> &str;
        /// `--launcher_dir`.
        launcher_dir: get_str -> &str;
        /// `--frameworks_home`.
        frameworks_home: get_str -> &str;
        /// `--recover` (`reconnect` or `cleanup`).
        recover: get_str -> &str;
        /// `--reconfiguration_policy`.
        reconfiguration_policy: get_str -> &str;
        /// `--cgroups_hierarchy`.
        cgroups_hierarchy: get_str -> &str;
        /// `--cgroups_root`.
        cgroups_root: get_str -> &str;
        /// `--systemd_runtime_directory`.
        systemd_runtime_directory: get_str -> &str;
        /// `--containerizers`.
        containerizers: get_str -> &str;
        /// `--docker`.
        docker: get_str -> &str;
        /// `--docker_socket`.
        docker_socket: get_str -> &str;
        /// `--sandbox_directory`.
        sandbox_directory: get_str -> &str;
        /// `--authenticatee`.
        authenticatee: get_str -> &str;
        /// `--authorizer`.
        authorizer: get_str -> &str;
        /// `--logging_level`.
        logging_level: get_str -> &str;
    }

    optional_getters! {
        /// `--hostname`.
        hostname: get_str -> &str;
        /// `--resources` (text or JSON; the agent parses it).
        resources: get_str -> &str;
        /// `--resource_provider_config_dir`.
        resource_provider_config_dir: get_str -> &str;
        /// `--disk_profile_adaptor`.
        disk_profile_adaptor: get_str -> &str;
        /// `--image_providers`.
        image_providers: get_str -> &str;
        /// `--image_provisioner_backend`.
        image_provisioner_backend: get_str -> &str;
        /// `--image_gc_config` (JSON object).
        image_gc_config: get_json -> &serde_json::Value;
        /// `--attributes` (parse with [`crate::parsers::parse_attributes`], or [`AgentFlags::parsed_attributes`]).
        attributes: get_str -> &str;
        /// `--hadoop_home`.
        hadoop_home: get_str -> &str;
        /// `--volume_gid_range`.
        volume_gid_range: get_str -> &str;
        /// `--executor_environment_variables` (JSON object of strings).
        executor_environment_variables: get_json -> &serde_json::Value;
        /// `--executor_reregistration_retry_interval`.
        executor_reregistration_retry_interval: get_duration -> Duration;
        /// `--jwt_secret_key` (path).
        jwt_secret_key: get_str -> &str;
        /// `--container_logger`.
        container_logger: get_str -> &str;
        /// `--cgroups_net_cls_primary_handle`.
        cgroups_net_cls_primary_handle: get_str -> &str;
        /// `--cgroups_net_cls_secondary_handles`.
        cgroups_net_cls_secondary_handles: get_str -> &str;
        /// `--allowed_devices` (JSON object).
        allowed_devices: get_json -> &serde_json::Value;
        /// `--agent_subsystems`.
        agent_subsystems: get_str -> &str;
        /// `--host_path_volume_force_creation`.
        host_path_volume_force_creation: get_str -> &str;
        /// `--perf_events`.
        perf_events: get_str -> &str;
        /// `--effective_capabilities` (JSON object).
        effective_capabilities: get_json -> &serde_json::Value;
        /// `--bounding_capabilities` (JSON object).
        bounding_capabilities: get_json -> &serde_json::Value;
        /// `--default_container_shm_size`.
        default_container_shm_size: get_bytes -> Bytes;
        /// `--agent_features` (JSON object; see [`AgentFlags::parsed_agent_features`]).
        agent_features: get_json -> &serde_json::Value;
        /// `--firewall_rules` (JSON object).
        firewall_rules: get_json -> &serde_json::Value;
        /// `--credential` (path; read with [`crate::parsers::read_credential`]).
        credential: get_str -> &str;
        /// `--acls` (JSON object).
        acls: get_json -> &serde_json::Value;
        /// `--docker_mesos_image`.
        docker_mesos_image: get_str -> &str;
        /// `--docker_config` (JSON object).
        docker_config: get_json -> &serde_json::Value;
        /// `--default_container_dns` (JSON object).
        default_container_dns: get_json -> &serde_json::Value;
        /// `--default_container_info` (JSON object).
        default_container_info: get_json -> &serde_json::Value;
        /// `--network_cni_plugins_dir`.
        network_cni_plugins_dir: get_str -> &str;
        /// `--network_cni_config_dir`.
        network_cni_config_dir: get_str -> &str;
        /// `--modules` (JSON object).
        modules: get_json -> &serde_json::Value;
        /// `--modules_dir`.
        modules_dir: get_str -> &str;
        /// `--http_authenticators`.
        http_authenticators: get_str -> &str;
        /// `--http_credentials` (path).
        http_credentials: get_str -> &str;
        /// `--hooks`.
        hooks: get_str -> &str;
        /// `--secret_resolver`.
        secret_resolver: get_str -> &str;
        /// `--resource_estimator`.
        resource_estimator: get_str -> &str;
        /// `--qos_controller`.
        qos_controller: get_str -> &str;
        /// `--master_detector`.
        master_detector: get_str -> &str;
        /// `--xfs_project_range`.
        xfs_project_range: get_str -> &str;
        /// `--seccomp_config_dir`.
        seccomp_config_dir: get_str -> &str;
        /// `--seccomp_profile_name`.
        seccomp_profile_name: get_str -> &str;
        /// `--ip`.
        ip: get_str -> &str;
        /// `--ip6`.
        ip6: get_str -> &str;
        /// `--advertise_ip`.
        advertise_ip: get_str -> &str;
        /// `--advertise_port` (a string upstream).
        advertise_port: get_str -> &str;
        /// `--master`: the value (the file's contents, untrimmed, for `file://`).
        master: get_str -> &str;
        /// `--ip_discovery_command`.
        ip_discovery_command: get_str -> &str;
        /// `--ip6_discovery_command`.
        ip6_discovery_command: get_str -> &str;
        /// `--log_dir`.
        log_dir: get_str -> &str;
        /// `--external_log_file`.
        external_log_file: get_str -> &str;
    }

    /// `--work_dir`; empty until loaded or set (upstream's unset `std::string`).
    /// Loading fails when it is not given, so after a successful load it is set.
    pub fn work_dir(&self) -> &str {
        self.base.get_str("work_dir").unwrap_or("")
    }

    /// `--nvidia_gpu_devices`.
    pub fn nvidia_gpu_devices(&self) -> Option<Vec<u32>> {
        match self.base.get("nvidia_gpu_devices") {
            Some(FlagValue::UintList(l)) => Some(l.clone()),
            _ => None,
        }
    }

    /// `--domain`, converted to a `DomainInfo` (validated at load time).
    pub fn domain(&self) -> Option<mesos_proto::mesos::DomainInfo> {
        self.base
            .get_json("domain")
            .and_then(|j| crate::parsers::parse_domain(j).ok())
    }

    /// `--fault_domain` is not an upstream flag; upstream calls it `--domain`.
    /// This is [`AgentFlags::domain`] under the name operators sometimes expect.
    pub fn fault_domain(&self) -> Option<mesos_proto::mesos::domain_info::FaultDomain> {
        self.domain().and_then(|d| d.fault_domain)
    }

    /// `--agent_features` as `SlaveCapabilities` (validated at load time).
    pub fn parsed_agent_features(&self) -> Option<mesos_proto::mesos::internal::SlaveCapabilities> {
        self.base
            .get_json("agent_features")
            .and_then(|j| crate::parsers::parse_agent_features(j).ok())
    }

    /// The credential file named by `--credential`, read and parsed
    /// (`None` when the flag is unset or the file is empty).
    pub fn read_credential(&self) -> Result<Option<mesos_proto::mesos::Credential>> {
        match self.credential() {
            Some(path) => crate::parsers::read_credential(path),
            None => Ok(None),
        }
    }

    /// `--attributes` parsed into `Attribute`s (error text as upstream's fatal log).
    pub fn parsed_attributes(&self) -> Result<Vec<mesos_proto::mesos::Attribute>> {
        match self.attributes() {
            Some(text) => crate::parsers::parse_attributes(text),
            None => Ok(Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_defaults() {
        let f = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
        assert_eq!(f.port(), 5051);
        assert_eq!(f.isolation(), "posix/cpu,posix/mem");
        assert_eq!(f.containerizers(), "mesos");
        assert_eq!(f.recover(), "reconnect");
        assert!(f.strict());
        assert_eq!(f.recovery_timeout(), Duration::from_mins(15));
        assert_eq!(f.gc_delay(), Duration::from_weeks(1));
        assert_eq!(f.disk_watch_interval(), Duration::from_mins(1));
        assert_eq!(f.executor_registration_timeout(), Duration::from_mins(1));
        assert_eq!(f.executor_shutdown_grace_period(), Duration::from_secs(5));
        assert_eq!(f.registration_backoff_factor(), Duration::from_secs(1));
        assert_eq!(f.fetcher_cache_size(), Bytes::gigabytes(2));
        assert_eq!(f.default_role(), "*");
        assert_eq!(f.launcher_dir(), LAUNCHER_DIR);
        assert_eq!(f.docker_store_dir(), "/tmp/mesos/store/docker");
        assert_eq!(f.runtime_dir(), "/var/run/mesos");
        assert_eq!(f.default_container_shm_size(), None);
        assert!(!f.http_command_executor());
        assert!(f.switch_user());
        assert_eq!(f.cgroups_root(), "mesos");
        assert_eq!(f.read_credential().unwrap(), None);
        assert!(f.parsed_attributes().unwrap().is_empty());
    }

    #[test]
    fn detected_defaults_are_one_of_upstreams_choices() {
        let rt = RuntimeDefaults::detect();
        assert!(rt.launcher == "linux" || rt.launcher == "posix");
        assert!(
            rt.runtime_dir == "/var/run/mesos"
                || rt.runtime_dir == format!("{}/mesos/runtime", rt.temp_dir)
        );
        let f = AgentFlags::with_runtime_defaults(&rt);
        assert_eq!(f.launcher(), rt.launcher);
    }
}
