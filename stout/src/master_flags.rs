//! Every flag of `mesos-master` (`src/master/flags.cpp` plus the logging flags
//! of `src/logging/flags.cpp` and stout's `--help`), with upstream names,
//! deprecated aliases, types and defaults; [`MasterFlags`] adds typed accessors.
//!
//! Defaults are upstream's constants (`src/master/constants.hpp`); the values
//! `/flags` shows for them are checked against a real 1.9.0 master by
//! `tests/reference_flags.rs`.

use crate::duration::Duration;
use crate::error::Result;
use crate::flag::{FlagSpec, FlagType, FlagValue};
use crate::flags::FlagsBase;
use crate::logging_flags::add_logging_flags;

/// Upstream's `PKGDATADIR "/webui"` for a build installed under `/usr`
/// (what the reference 1.9.0 build prints).
pub const WEBUI_DIR: &str = "/usr/share/mesos/webui";

fn s(v: &str) -> FlagValue {
    FlagValue::String(v.to_string())
}
fn b(v: bool) -> FlagValue {
    FlagValue::Bool(v)
}
fn d(v: Duration) -> FlagValue {
    FlagValue::Duration(v)
}
fn n(v: u64) -> FlagValue {
    FlagValue::Size(v)
}

/// `--registry_strict` can no longer be enabled (master/flags.cpp).
fn validate_registry_strict(v: Option<&FlagValue>) -> std::result::Result<(), String> {
    match v {
        Some(FlagValue::Bool(true)) => Err("Support for '--registry_strict' has been disabled \
                                            and will be removed in a future version of Mesos"
            .to_string()),
        _ => Ok(()),
    }
}

/// `--agent_ping_timeout` must lie in [1secs, 15mins].
fn validate_agent_ping_timeout(v: Option<&FlagValue>) -> std::result::Result<(), String> {
    match v {
        Some(FlagValue::Duration(t))
            if *t < Duration::from_secs(1) || *t > Duration::from_mins(15) =>
        {
            Err(format!(
                "Expected `--agent_ping_timeout` to be between {} and {}",
                Duration::from_secs(1),
                Duration::from_mins(15)
            ))
        }
        _ => Ok(()),
    }
}

/// `--max_agent_ping_timeouts` must be at least 1.
fn validate_max_agent_ping_timeouts(v: Option<&FlagValue>) -> std::result::Result<(), String> {
    match v {
        Some(FlagValue::Size(0)) => {
            Err("Expected `--max_agent_ping_timeouts` to be at least 1".to_string())
        }
        _ => Ok(()),
    }
}

/// `--domain` must define `fault_domain` (shared with the agent).
pub(crate) fn validate_domain(v: Option<&FlagValue>) -> std::result::Result<(), String> {
    match v {
        Some(FlagValue::Json(json)) => crate::parsers::parse_domain(json)
            .map_err(|e| e.to_string())
            .map(|_| ()),
        _ => Ok(()),
    }
}

/// The master's flag table, in upstream's declaration order.
pub fn master_flag_specs() -> Vec<FlagSpec> {
    use FlagType as T;
    vec![
        FlagSpec::with_default("version", T::Bool, b(false), "Print the version and exit."),
        FlagSpec::optional(
            "hostname",
            T::String,
            "Hostname to advertise (e.g. in ZooKeeper). When unset it is looked up\n\
             from the advertised IP, or the IP itself is used with `--no-hostname_lookup`.",
        ),
        FlagSpec::with_default(
            "hostname_lookup",
            T::Bool,
            b(true),
            "Whether to resolve the hostname when `--hostname` is not given;\n\
             with `false` the IP address is used instead.",
        ),
        FlagSpec::with_default(
            "root_submissions",
            T::Bool,
            b(true),
            "Whether frameworks may register with user root.",
        ),
        FlagSpec::optional(
            "work_dir",
            T::String,
            "Directory for the master's persistent state (the replicated log).\n\
             Avoid directories that are cleaned automatically, such as `/tmp`.",
        ),
        FlagSpec::with_default(
            "registry",
            T::String,
            s("replicated_log"),
            "Where the registry is kept: `replicated_log`, or `in_memory` (testing only).",
        ),
        FlagSpec::optional(
            "quorum",
            T::Int,
            "Replicated-log quorum size; must be a majority of the masters.\n\
             Not needed for a single master without ZooKeeper.",
        ),
        FlagSpec::with_default(
            "zk_session_timeout",
            T::Duration,
            d(Duration::from_secs(10)),
            "ZooKeeper session timeout.",
        ),
        FlagSpec::with_default(
            "registry_strict",
            T::Bool,
            b(false),
            "Disabled; setting it to true is an error.",
        )
        .validator(validate_registry_strict),
        FlagSpec::with_default(
            "registry_fetch_timeout",
            T::Duration,
            d(Duration::from_secs(60)),
            "How long a registry read may take before it counts as failed.",
        ),
        FlagSpec::with_default(
            "registry_store_timeout",
            T::Duration,
            d(Duration::from_secs(20)),
            "How long a registry write may take before it counts as failed.",
        ),
        FlagSpec::with_default(
            "log_auto_initialize",
            T::Bool,
            b(true),
            "Whether an empty replicated log is initialised automatically; if not,\n\
             it must be initialised by hand with `mesos-log initialize`.",
        ),
        FlagSpec::with_default(
            "agent_reregister_timeout",
            T::Duration,
            d(Duration::from_mins(10)),
            "After a master failover, how long agents have to re-register before\n\
             they are marked unreachable (at least 10mins).",
        )
        .deprecated_alias("slave_reregister_timeout"),
        FlagSpec::with_default(
            "recovery_agent_removal_limit",
            T::String,
            s("100%"),
            "Largest share of registered agents (e.g. `25%`) that may be marked\n\
             unreachable after a failover before the master gives up and exits.",
        )
        .deprecated_alias("recovery_slave_removal_limit"),
        FlagSpec::optional(
            "agent_removal_rate_limit",
            T::String,
            "Highest rate at which agents failing health checks are removed,\n\
             as `<count>/<duration>` (e.g. `1/10mins`); unlimited when unset.",
        )
        .deprecated_alias("slave_removal_rate_limit"),
        FlagSpec::with_default(
            "webui_dir",
            T::String,
            s(WEBUI_DIR),
            "Directory of the web UI files.",
        ),
        FlagSpec::optional(
            "whitelist",
            T::Path,
            "File listing the agents (one hostname per line) whose resources may be\n\
             offered; all agents when unset.",
        ),
        FlagSpec::with_default(
            "role_sorter",
            T::String,
            s("drf"),
            "Policy that orders roles for allocation: `drf` or `random`.",
        )
        .deprecated_alias("user_sorter"),
        FlagSpec::with_default(
            "framework_sorter",
            T::String,
            s("drf"),
            "Policy that orders frameworks within a role: `drf` or `random`.",
        ),
        FlagSpec::with_default(
            "allocation_interval",
            T::Duration,
            d(Duration::from_secs(1)),
            "Time between batch allocations.",
        ),
        FlagSpec::optional(
            "cluster",
            T::String,
            "Name of the cluster, shown in the web UI.",
        ),
        FlagSpec::optional(
            "roles",
            T::String,
            "Deprecated: comma-separated whitelist of roles frameworks may use.",
        ),
        FlagSpec::optional(
            "weights",
            T::String,
            "Role weights as `role=weight,role2=weight`; deprecated in favour of\n\
             the `/weights` endpoint.",
        ),
        FlagSpec::with_default(
            "authenticate_frameworks",
            T::Bool,
            b(false),
            "Whether only authenticated frameworks may register (driver API).",
        )
        .deprecated_alias("authenticate"),
        FlagSpec::with_default(
            "authenticate_agents",
            T::Bool,
            b(false),
            "Whether only authenticated agents may register.",
        )
        .deprecated_alias("authenticate_slaves"),
        FlagSpec::with_default(
            "authentication_v0_timeout",
            T::Duration,
            d(Duration::from_secs(15)),
            "Timeout of an authentication attempt by a driver-based framework or an agent.",
        ),
        FlagSpec::with_default(
            "authenticate_http_readwrite",
            T::Bool,
            b(false),
            "Whether HTTP endpoints that can change cluster state require authentication.",
        )
        .deprecated_alias("authenticate_http"),
        FlagSpec::with_default(
            "authenticate_http_readonly",
            T::Bool,
            b(false),
            "Whether read-only HTTP endpoints require authentication.",
        ),
        FlagSpec::with_default(
            "authenticate_http_frameworks",
            T::Bool,
            b(false),
            "Whether HTTP frameworks (v1 scheduler API) must authenticate.",
        ),
        FlagSpec::optional(
            "credentials",
            T::Path,
            "File with the credentials accepted for authentication: JSON\n\
             `{\"credentials\": [{\"principal\": ..., \"secret\": ...}]}` or lines of\n\
             `principal secret`.",
        ),
        FlagSpec::optional(
            "acls",
            T::Proto("mesos.ACLs"),
            "Access control lists as JSON (or `file://` path), see `acls.proto`.",
        ),
        FlagSpec::optional(
            "firewall_rules",
            T::Proto("mesos.internal.Firewall"),
            "Endpoint firewall rules as JSON (or `file://` path), e.g.\n\
             `{\"disabled_endpoints\": {\"paths\": [\"/files/browse\"]}}`.",
        ),
        FlagSpec::optional(
            "rate_limits",
            T::Proto("mesos.RateLimits"),
            "Per-principal framework message rate limits as JSON (or `file://` path).",
        ),
        FlagSpec::optional(
            "max_executors_per_agent",
            T::Size,
            "Largest number of executors per agent (port-mapping isolator builds only).",
        )
        .deprecated_alias("max_executors_per_slave")
        .only_with("ENABLE_PORT_MAPPING_ISOLATOR"),
        FlagSpec::optional(
            "offer_timeout",
            T::Duration,
            "How long an offer stays outstanding before it is rescinded; never when unset.",
        ),
        // Beyond 1.9 (upstream 1.11); no printed default, so `/flags` stays
        // as 1.9's unless set (defaults 4KB and 100 apply in the master).
        FlagSpec::optional(
            "offer_constraints_re2_max_mem",
            T::Bytes,
            "Memory limit of each regular expression in a framework's offer\n\
             constraints (default 4KB); larger ones make SUBSCRIBE/UPDATE_FRAMEWORK fail.",
        ),
        FlagSpec::optional(
            "offer_constraints_re2_max_program_size",
            T::Int,
            "Program size limit of each regular expression in a framework's offer\n\
             constraints (default 100); larger ones make SUBSCRIBE/UPDATE_FRAMEWORK fail.",
        ),
        FlagSpec::optional(
            "modules",
            T::Proto("mesos.Modules"),
            "Modules to load, as JSON (or `file://` path); see `module.proto`.",
        ),
        FlagSpec::optional(
            "modules_dir",
            T::String,
            "Directory of JSON module manifests; excludes `--modules`.",
        ),
        FlagSpec::with_default(
            "authenticators",
            T::String,
            s("crammd5"),
            "Authenticator module(s) for framework and agent authentication.",
        ),
        FlagSpec::with_default(
            "allocator",
            T::String,
            s("hierarchical"),
            "Allocator to use: `hierarchical`, or a module name.",
        ),
        FlagSpec::optional(
            "fair_sharing_excluded_resource_names",
            T::StringSet,
            "Comma-separated resource names left out of fair sharing (e.g. `gpus`).",
        ),
        FlagSpec::with_default(
            "filter_gpu_resources",
            T::Bool,
            b(true),
            "Whether agents with GPUs are offered only to GPU-aware frameworks.",
        ),
        FlagSpec::with_default(
            "min_allocatable_resources",
            T::String,
            s("cpus:0.01|mem:32"),
            "Smallest resource quantities worth offering: alternatives separated by `|`,\n\
             each a `;`-separated list of `name:quantity` (e.g. `cpus:0.01|mem:32`).",
        ),
        FlagSpec::optional(
            "hooks",
            T::String,
            "Comma-separated hook modules to install.",
        ),
        FlagSpec::with_default(
            "agent_ping_timeout",
            T::Duration,
            d(Duration::from_secs(15)),
            "How long to wait for an agent to answer a ping (1secs to 15mins).",
        )
        .deprecated_alias("slave_ping_timeout")
        .validator(validate_agent_ping_timeout),
        FlagSpec::with_default(
            "max_agent_ping_timeouts",
            T::Size,
            n(5),
            "Unanswered pings after which an agent is marked unreachable.\n",
        )
        .deprecated_alias("max_slave_ping_timeouts")
        .validator(validate_max_agent_ping_timeouts),
        FlagSpec::with_default(
            "authorizers",
            T::String,
            s("local"),
            "Authorizer to use: `local` (driven by `--acls`) or a module name.",
        ),
        FlagSpec::with_default(
            "http_authenticators",
            T::String,
            s("basic"),
            "HTTP authenticator(s) for operator endpoints: `basic` or module names.",
        ),
        FlagSpec::optional(
            "http_framework_authenticators",
            T::String,
            "HTTP authenticator(s) for the v1 scheduler API.",
        ),
        FlagSpec::with_default(
            "max_operator_event_stream_subscribers",
            T::Size,
            n(1000),
            "Largest number of concurrent operator API `SUBSCRIBE` streams.",
        ),
        FlagSpec::with_default(
            "max_completed_frameworks",
            T::Size,
            n(50),
            "Completed frameworks kept in memory for the endpoints.",
        ),
        FlagSpec::with_default(
            "max_completed_tasks_per_framework",
            T::Size,
            n(1000),
            "Completed tasks kept in memory per framework.",
        ),
        FlagSpec::with_default(
            "max_unreachable_tasks_per_framework",
            T::Size,
            n(1000),
            "Unreachable tasks kept in memory per framework.",
        ),
        FlagSpec::optional(
            "master_contender",
            T::String,
            "Contender module for leader election; pairs with `--master_detector`,\n\
             excludes `--zk`.",
        ),
        FlagSpec::optional(
            "master_detector",
            T::String,
            "Detector module for leader detection; pairs with `--master_contender`,\n\
             excludes `--zk`.",
        ),
        FlagSpec::with_default(
            "registry_gc_interval",
            T::Duration,
            d(Duration::from_mins(15)),
            "How often unreachable and gone agents are pruned from the registry.",
        ),
        FlagSpec::with_default(
            "registry_max_agent_age",
            T::Duration,
            d(Duration::from_weeks(2)),
            "How long an unreachable or gone agent stays in the registry.",
        ),
        FlagSpec::with_default(
            "registry_max_agent_count",
            T::Size,
            n(102400),
            "Most unreachable and gone agents kept in the registry.",
        ),
        FlagSpec::optional("ip", T::String, "IP address to listen on (IPv4)."),
        FlagSpec::with_default("port", T::Port, FlagValue::Port(5050), "Port to listen on."),
        FlagSpec::optional(
            "advertise_ip",
            T::String,
            "IP address advertised to others instead of the one bound (e.g. behind NAT).",
        ),
        FlagSpec::optional(
            "advertise_port",
            T::String,
            "Port advertised to others instead of the one bound.",
        ),
        FlagSpec::with_default(
            "memory_profiling",
            T::Bool,
            b(false),
            "Whether the memory profiler endpoints are enabled.",
        ),
        FlagSpec::optional(
            "zk",
            T::SecurePathOrValue,
            "ZooKeeper URL for leader election, `zk://host1:port1,host2:port2/path`\n\
             (optionally `zk://user:pass@...`), or `file://` path holding it.",
        ),
        FlagSpec::optional(
            "ip_discovery_command",
            T::String,
            "Command whose output is the IP address to listen on; excludes `--ip`.",
        ),
        FlagSpec::with_default(
            "require_agent_domain",
            T::Bool,
            b(false),
            "Whether agents must declare a fault domain when the master has one.",
        ),
        FlagSpec::with_default(
            "publish_per_framework_metrics",
            T::Bool,
            b(true),
            "Whether per-framework metrics are published.",
        ),
        FlagSpec::optional(
            "domain",
            T::Proto("mesos.DomainInfo"),
            "This master's fault domain as JSON (or `file://` path), e.g.\n\
             `{\"fault_domain\": {\"region\": {\"name\": \"r1\"}, \"zone\": {\"name\": \"z1\"}}}`.",
        )
        .validator(validate_domain),
    ]
}

daemon_flags!(
    /// The `mesos-master` flags: a [`FlagsBase`] holding the master's table, with
    /// typed accessors. Dereferences to [`FlagsBase`] for loading, `flags()`,
    /// `usage()`, `set()` and untyped access.
    MasterFlags,
    "src/master/main.cpp");

impl MasterFlags {
    /// Every master flag at its default.
    pub fn new() -> MasterFlags {
        let mut base = FlagsBase::new();
        add_logging_flags(&mut base);
        for spec in master_flag_specs() {
            base.add(spec);
        }
        MasterFlags { base }
    }

    getters! {
        /// `--version`.
        version: get_bool -> bool;
        /// `--hostname_lookup`.
        hostname_lookup: get_bool -> bool;
        /// `--root_submissions`.
        root_submissions: get_bool -> bool;
        /// `--registry_strict`.
        registry_strict: get_bool -> bool;
        /// `--log_auto_initialize`.
        log_auto_initialize: get_bool -> bool;
        /// `--authenticate_frameworks`.
        authenticate_frameworks: get_bool -> bool;
        /// `--authenticate_agents`.
        authenticate_agents: get_bool -> bool;
        /// `--authenticate_http_readwrite`.
        authenticate_http_readwrite: get_bool -> bool;
        /// `--authenticate_http_readonly`.
        authenticate_http_readonly: get_bool -> bool;
        /// `--authenticate_http_frameworks`.
        authenticate_http_frameworks: get_bool -> bool;
        /// `--filter_gpu_resources`.
        filter_gpu_resources: get_bool -> bool;
        /// `--memory_profiling`.
        memory_profiling: get_bool -> bool;
        /// `--require_agent_domain`.
        require_agent_domain: get_bool -> bool;
        /// `--publish_per_framework_metrics`.
        publish_per_framework_metrics: get_bool -> bool;
        /// `--quiet`.
        quiet: get_bool -> bool;
        /// `--initialize_driver_logging`.
        initialize_driver_logging: get_bool -> bool;
        /// `--port`.
        port: get_port -> u16;
        /// `--zk_session_timeout`.
        zk_session_timeout: get_duration -> Duration;
        /// `--registry_fetch_timeout`.
        registry_fetch_timeout: get_duration -> Duration;
        /// `--registry_store_timeout`.
        registry_store_timeout: get_duration -> Duration;
        /// `--agent_reregister_timeout`.
        agent_reregister_timeout: get_duration -> Duration;
        /// `--allocation_interval`.
        allocation_interval: get_duration -> Duration;
        /// `--authentication_v0_timeout`.
        authentication_v0_timeout: get_duration -> Duration;
        /// `--agent_ping_timeout`.
        agent_ping_timeout: get_duration -> Duration;
        /// `--registry_gc_interval`.
        registry_gc_interval: get_duration -> Duration;
        /// `--registry_max_agent_age`.
        registry_max_agent_age: get_duration -> Duration;
        /// `--max_agent_ping_timeouts`.
        max_agent_ping_timeouts: get_size -> u64;
        /// `--max_operator_event_stream_subscribers`.
        max_operator_event_stream_subscribers: get_size -> u64;
        /// `--max_completed_frameworks`.
        max_completed_frameworks: get_size -> u64;
        /// `--max_completed_tasks_per_framework`.
        max_completed_tasks_per_framework: get_size -> u64;
        /// `--max_unreachable_tasks_per_framework`.
        max_unreachable_tasks_per_framework: get_size -> u64;
        /// `--registry_max_agent_count`.
        registry_max_agent_count: get_size -> u64;
        /// `--logbufsecs`.
        logbufsecs: get_int -> i32;
        /// `--registry` (`replicated_log` or `in_memory`).
        registry: get_str -> &str;
        /// `--recovery_agent_removal_limit` (e.g. "100%").
        recovery_agent_removal_limit: get_str -> &str;
        /// `--webui_dir`.
        webui_dir: get_str -> &str;
        /// `--role_sorter`.
        role_sorter: get_str -> &str;
        /// `--framework_sorter`.
        framework_sorter: get_str -> &str;
        /// `--authenticators`.
        authenticators: get_str -> &str;
        /// `--allocator`.
        allocator: get_str -> &str;
        /// `--min_allocatable_resources` (split with [`crate::parsers::parse_min_allocatable_resources`]).
        min_allocatable_resources: get_str -> &str;
        /// `--authorizers`.
        authorizers: get_str -> &str;
        /// `--http_authenticators`.
        http_authenticators: get_str -> &str;
        /// `--logging_level`.
        logging_level: get_str -> &str;
    }

    optional_getters! {
        /// `--hostname`.
        hostname: get_str -> &str;
        /// `--work_dir`.
        work_dir: get_str -> &str;
        /// `--quorum`.
        quorum: get_int -> i32;
        /// `--agent_removal_rate_limit` (e.g. "1/10mins").
        agent_removal_rate_limit: get_str -> &str;
        /// `--whitelist` (path).
        whitelist: get_str -> &str;
        /// `--cluster`.
        cluster: get_str -> &str;
        /// `--roles` (split with [`crate::parsers::parse_roles`]).
        roles: get_str -> &str;
        /// `--weights` (split with [`crate::parsers::parse_weights`]).
        weights: get_str -> &str;
        /// `--credentials` (path; read with [`crate::parsers::read_credentials`]).
        credentials: get_str -> &str;
        /// `--acls` (JSON object).
        acls: get_json -> &serde_json::Value;
        /// `--firewall_rules` (JSON object).
        firewall_rules: get_json -> &serde_json::Value;
        /// `--rate_limits` (JSON object).
        rate_limits: get_json -> &serde_json::Value;
        /// `--offer_timeout`.
        offer_timeout: get_duration -> Duration;
        /// `--modules` (JSON object).
        modules: get_json -> &serde_json::Value;
        /// `--modules_dir`.
        modules_dir: get_str -> &str;
        /// `--hooks`.
        hooks: get_str -> &str;
        /// `--http_framework_authenticators`.
        http_framework_authenticators: get_str -> &str;
        /// `--master_contender`.
        master_contender: get_str -> &str;
        /// `--master_detector`.
        master_detector: get_str -> &str;
        /// `--ip`.
        ip: get_str -> &str;
        /// `--advertise_ip`.
        advertise_ip: get_str -> &str;
        /// `--advertise_port` (a string upstream).
        advertise_port: get_str -> &str;
        /// `--zk`: the URL (the file's contents, untrimmed, for `file://`).
        zk: get_str -> &str;
        /// `--ip_discovery_command`.
        ip_discovery_command: get_str -> &str;
        /// `--log_dir`.
        log_dir: get_str -> &str;
        /// `--external_log_file`.
        external_log_file: get_str -> &str;
    }

    /// `--fair_sharing_excluded_resource_names`.
    pub fn fair_sharing_excluded_resource_names(&self) -> Option<Vec<String>> {
        match self.base.get("fair_sharing_excluded_resource_names") {
            Some(FlagValue::StringSet(set)) => Some(set.iter().cloned().collect()),
            _ => None,
        }
    }

    /// The role whitelist from `--roles` (plus `*`), `None` when unset.
    pub fn role_whitelist(&self) -> Result<Option<std::collections::BTreeSet<String>>> {
        self.roles().map(crate::parsers::role_whitelist).transpose()
    }

    /// `--weights` parsed, checked against the `--roles` whitelist as upstream.
    pub fn parsed_weights(&self) -> Result<std::collections::BTreeMap<String, f64>> {
        let whitelist = self.role_whitelist()?;
        match self.weights() {
            Some(text) => crate::parsers::parse_weights(text, whitelist.as_ref()),
            None => Ok(Default::default()),
        }
    }

    /// `--min_allocatable_resources` split into its `|` alternatives.
    pub fn parsed_min_allocatable_resources(&self) -> Vec<String> {
        crate::parsers::parse_min_allocatable_resources(self.min_allocatable_resources())
    }

    /// `--recovery_agent_removal_limit` as a fraction in [0, 1].
    pub fn parsed_recovery_agent_removal_limit(&self) -> Result<f64> {
        crate::parsers::parse_recovery_agent_removal_limit(self.recovery_agent_removal_limit())
    }

    /// `--agent_removal_rate_limit` as (agents, per duration), `None` when unset.
    pub fn parsed_agent_removal_rate_limit(&self) -> Result<Option<(i32, Duration)>> {
        self.agent_removal_rate_limit()
            .map(crate::parsers::parse_agent_removal_rate_limit)
            .transpose()
    }

    /// The credentials file named by `--credentials`, read and parsed
    /// (`None` when the flag is unset or the file is empty).
    pub fn read_credentials(&self) -> Result<Option<mesos_proto::mesos::Credentials>> {
        match self.credentials() {
            Some(path) => crate::parsers::read_credentials(path),
            None => Ok(None),
        }
    }

    /// `--domain`, converted to a `DomainInfo` (validated at load time).
    pub fn domain(&self) -> Option<mesos_proto::mesos::DomainInfo> {
        self.base
            .get_json("domain")
            .and_then(|j| crate::parsers::parse_domain(j).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str]) -> MasterFlags {
        let mut f = MasterFlags::new();
        let argv = std::iter::once("mesos-master").chain(args.iter().copied());
        f.load_from(std::iter::empty::<(&str, &str)>(), argv)
            .unwrap();
        f
    }

    #[test]
    fn defaults_and_parsed_views() {
        let f = MasterFlags::new();
        assert_eq!(f.port(), 5050);
        assert_eq!(f.agent_ping_timeout(), Duration::from_secs(15));
        assert_eq!(f.max_agent_ping_timeouts(), 5);
        assert_eq!(f.agent_reregister_timeout(), Duration::from_mins(10));
        assert_eq!(f.allocation_interval(), Duration::from_secs(1));
        assert_eq!(f.registry(), "replicated_log");
        assert_eq!(f.offer_timeout(), None);
        assert_eq!(
            f.parsed_min_allocatable_resources(),
            vec!["cpus:0.01", "mem:32"]
        );
        assert_eq!(f.parsed_recovery_agent_removal_limit().unwrap(), 1.0);
        assert_eq!(f.parsed_agent_removal_rate_limit().unwrap(), None);
        assert!(f.parsed_weights().unwrap().is_empty());
        assert_eq!(f.read_credentials().unwrap(), None);
    }

    #[test]
    fn weights_respect_the_roles_whitelist() {
        let f = load(&["--roles=a,b", "--weights=a=2,b=3"]);
        assert_eq!(f.parsed_weights().unwrap()["b"], 3.0);
        assert!(f.role_whitelist().unwrap().unwrap().contains("*"));
        let f = load(&["--roles=a", "--weights=c=2"]);
        assert!(f.parsed_weights().is_err());
        let f = load(&["--agent_removal_rate_limit=2/1mins"]);
        assert_eq!(
            f.parsed_agent_removal_rate_limit().unwrap(),
            Some((2, Duration::from_mins(1)))
        );
    }
}
