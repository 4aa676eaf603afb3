//! `MasterFlags`: the flags of `mesos-master` (`src/master/flags.cpp`).
//!
//! Loading follows stout's `FlagsBase::load("MESOS_", argv)`
//! (`3rdparty/stout/include/stout/flags/flags.hpp`): `MESOS_<NAME>` variables
//! are read for known flags only, the command line overrides them, `--name`
//! alone sets a boolean, `--no-name` clears it, an unknown `--flag` is an
//! error, deprecated aliases are accepted, and a value `file:///path` is
//! replaced by the file's contents. The stout crate will provide the generic
//! loader; this module keeps the master's flag set and typed accessors.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};

/// Every flag name the 1.9 master accepts, with its default value as
/// `/flags` prints it (`None`: no default, not printed unless set).
const FLAGS: &[(&str, Option<&str>)] = &[
    ("acls", None),
    ("advertise_ip", None),
    ("advertise_port", None),
    ("agent_ping_timeout", Some("15secs")),
    ("agent_removal_rate_limit", None),
    ("agent_reregister_timeout", Some("10mins")),
    ("allocation_interval", Some("1secs")),
    ("allocator", Some("hierarchical")),
    ("authenticate_agents", Some("false")),
    ("authenticate_frameworks", Some("false")),
    ("authenticate_http_frameworks", Some("false")),
    ("authenticate_http_readonly", Some("false")),
    ("authenticate_http_readwrite", Some("false")),
    ("authentication_v0_timeout", Some("15secs")),
    ("authenticators", Some("crammd5")),
    ("authorizers", Some("local")),
    ("cluster", None),
    ("credentials", None),
    ("domain", None),
    ("external_log_file", None),
    ("fair_sharing_excluded_resource_names", None),
    ("filter_gpu_resources", Some("true")),
    ("firewall_rules", None),
    ("framework_sorter", Some("drf")),
    ("help", Some("false")),
    ("hooks", None),
    ("hostname", None),
    ("hostname_lookup", Some("true")),
    ("http_authenticators", Some("basic")),
    ("http_framework_authenticators", None),
    ("initialize_driver_logging", Some("true")),
    ("ip", None),
    ("ip6", None),
    ("ip_discovery_command", None),
    ("log_auto_initialize", Some("true")),
    ("log_dir", None),
    ("logbufsecs", Some("0")),
    ("logging_level", Some("INFO")),
    ("master_contender", None),
    ("master_detector", None),
    ("max_agent_ping_timeouts", Some("5")),
    ("max_completed_frameworks", Some("50")),
    ("max_completed_tasks_per_framework", Some("1000")),
    ("max_executors_per_agent", None),
    ("max_operator_event_stream_subscribers", Some("1000")),
    ("max_unreachable_tasks_per_framework", Some("1000")),
    ("memory_profiling", Some("false")),
    ("min_allocatable_resources", Some("cpus:0.01|mem:32")),
    ("modules", None),
    ("modules_dir", None),
    ("offer_timeout", None),
    // Beyond 1.9 (upstream 1.11): accepted, but without a printed default so
    // `/flags` stays as 1.9's unless they are set.
    ("offer_constraints_re2_max_mem", None),
    ("offer_constraints_re2_max_program_size", None),
    ("port", Some("5050")),
    ("publish_per_framework_metrics", Some("true")),
    ("quiet", Some("false")),
    ("quorum", None),
    ("rate_limits", None),
    ("recovery_agent_removal_limit", Some("100%")),
    ("registry", Some("replicated_log")),
    ("registry_fetch_timeout", Some("1mins")),
    ("registry_gc_interval", Some("15mins")),
    ("registry_max_agent_age", Some("2weeks")),
    ("registry_max_agent_count", Some("102400")),
    ("registry_store_timeout", Some("20secs")),
    ("registry_strict", Some("false")),
    ("require_agent_domain", Some("false")),
    ("role_sorter", Some("drf")),
    ("roles", None),
    ("root_submissions", Some("true")),
    ("version", Some("false")),
    ("webui_dir", None),
    ("weights", None),
    ("whitelist", None),
    ("work_dir", None),
    ("zk", None),
    ("zk_session_timeout", Some("10secs")),
];

/// Deprecated names and the flag they set (`flags::DeprecatedName`).
const ALIASES: &[(&str, &str)] = &[
    ("slave_reregister_timeout", "agent_reregister_timeout"),
    (
        "recovery_slave_removal_limit",
        "recovery_agent_removal_limit",
    ),
    ("slave_removal_rate_limit", "agent_removal_rate_limit"),
    ("user_sorter", "role_sorter"),
    ("authenticate", "authenticate_frameworks"),
    ("authenticate_slaves", "authenticate_agents"),
    ("authenticate_http", "authenticate_http_readwrite"),
    ("max_executors_per_slave", "max_executors_per_agent"),
    ("slave_ping_timeout", "agent_ping_timeout"),
    ("max_slave_ping_timeouts", "max_agent_ping_timeouts"),
];

const BOOLS: &[&str] = &[
    "authenticate_agents",
    "authenticate_frameworks",
    "authenticate_http_frameworks",
    "authenticate_http_readonly",
    "authenticate_http_readwrite",
    "filter_gpu_resources",
    "help",
    "hostname_lookup",
    "initialize_driver_logging",
    "log_auto_initialize",
    "memory_profiling",
    "publish_per_framework_metrics",
    "quiet",
    "registry_strict",
    "require_agent_domain",
    "root_submissions",
    "version",
];

/// The master's flags: every value as given (or defaulted), plus typed
/// accessors for the ones the master uses.
#[derive(Clone, Debug)]
pub struct MasterFlags {
    values: BTreeMap<String, String>,
}

impl Default for MasterFlags {
    fn default() -> Self {
        let mut values = BTreeMap::new();
        for (name, default) in FLAGS {
            if let Some(d) = default {
                values.insert(name.to_string(), d.to_string());
            }
        }
        MasterFlags { values }
    }
}

fn canonical(name: &str) -> Option<&'static str> {
    if let Some((n, _)) = FLAGS.iter().find(|(n, _)| *n == name) {
        return Some(n);
    }
    ALIASES.iter().find(|(a, _)| *a == name).map(|(_, n)| *n)
}

/// Parses a stout duration: `<number><unit>` with unit one of `ns us ms secs
/// mins hrs days weeks` (`3rdparty/stout/include/stout/duration.hpp`).
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .ok_or_else(|| Error::Flag(format!("Invalid duration '{s}'")))?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| Error::Flag(format!("Invalid duration '{s}'")))?;
    let factor = match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "secs" => 1.0,
        "mins" => 60.0,
        "hrs" => 3600.0,
        "days" => 86400.0,
        "weeks" => 7.0 * 86400.0,
        _ => return Err(Error::Flag(format!("Unknown duration unit '{unit}'"))),
    };
    Duration::try_from_secs_f64(n * factor)
        .map_err(|_| Error::Flag(format!("Invalid duration '{s}'")))
}

impl MasterFlags {
    /// Loads from `MESOS_*` variables then the command line (`args` without
    /// the program name), as `flags.load("MESOS_", argc, argv)`.
    pub fn load(
        args: impl IntoIterator<Item = String>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<MasterFlags> {
        let mut flags = MasterFlags::default();
        for (k, v) in env {
            if let Some(name) = k.strip_prefix("MESOS_") {
                let name = name.to_ascii_lowercase();
                if let Some(c) = canonical(&name) {
                    flags.set(c, &v)?;
                }
            }
        }
        for arg in args {
            let Some(body) = arg.strip_prefix("--") else {
                return Err(Error::Flag(format!(
                    "Failed to load flags: unexpected argument '{arg}'"
                )));
            };
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (body.to_string(), None),
            };
            match (canonical(&name), value) {
                (Some(c), Some(v)) => flags.set(c, &v)?,
                (Some(c), None) if BOOLS.contains(&c) => flags.set(c, "true")?,
                (Some(c), None) => {
                    return Err(Error::Flag(format!(
                        "Failed to load flag '{c}': Missing value"
                    )))
                }
                (None, v) => match name.strip_prefix("no-").and_then(canonical) {
                    Some(c) if BOOLS.contains(&c) && v.is_none() => flags.set(c, "false")?,
                    _ => return Err(Error::Flag(format!("Failed to load unknown flag '{name}'"))),
                },
            }
        }
        flags.validate()?;
        Ok(flags)
    }

    /// Builds from a listing another loader already produced (e.g.
    /// `stout::MasterFlags::flags()`: every flag with a value, upstream
    /// names and renderings). Names this module does not know are kept, so
    /// `/flags` shows them; the typed values are validated as by `load`.
    pub fn from_listing(
        listing: impl IntoIterator<Item = (String, String)>,
    ) -> Result<MasterFlags> {
        let mut flags = MasterFlags::default();
        for (name, value) in listing {
            match canonical(&name) {
                Some(c) => flags.set(c, &value)?,
                None => {
                    flags.values.insert(name, value);
                }
            }
        }
        flags.validate()?;
        Ok(flags)
    }

    /// Sets one flag by its canonical name, reading `file://` values.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let value = match value.strip_prefix("file://") {
            Some(path) if name != "work_dir" && name != "webui_dir" => {
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        Error::Flag(format!("Failed to read '{path}' for flag '{name}': {e}"))
                    })?
                    .trim_end()
                    .to_string()
            }
            _ => value.to_string(),
        };
        if BOOLS.contains(&name) && !matches!(value.as_str(), "true" | "false" | "1" | "0") {
            return Err(Error::Flag(format!(
                "Failed to load flag '{name}': Failed to load value '{value}': Expecting a boolean"
            )));
        }
        self.values.insert(name.to_string(), value);
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        for d in [
            "agent_ping_timeout",
            "agent_reregister_timeout",
            "allocation_interval",
        ] {
            parse_duration(self.get(d).unwrap_or("0secs"))?;
        }
        if let Some(t) = self.get("offer_timeout") {
            parse_duration(t)?;
        }
        if self.agent_reregister_timeout() < Duration::from_secs(600) {
            return Err(Error::Flag(
                "Invalid value for flag 'agent_reregister_timeout': must be at least 10mins".into(),
            ));
        }
        self.port()?;
        self.max_agent_ping_timeouts()?;
        crate::actor::authentication::check_flags(self).map_err(Error::Flag)?;
        crate::authorizer::check_flags(self).map_err(Error::Flag)?;
        self.agent_removal_rate_limit()?;
        self.offer_constraints_options()?;
        Ok(())
    }

    /// `--offer_constraints_re2_max_mem` (default 4KB) and
    /// `--offer_constraints_re2_max_program_size` (default 100), upstream
    /// 1.11's limits on each regex of a framework's offer constraints.
    pub fn offer_constraints_options(&self) -> Result<mesos_allocator::OfferConstraintsOptions> {
        let mut o = mesos_allocator::OfferConstraintsOptions::default();
        if let Some(v) = self.get("offer_constraints_re2_max_mem") {
            o.re2_max_mem = stout::bytes::Bytes::parse(v)
                .map_err(|e| {
                    Error::Flag(format!(
                        "Failed to load flag 'offer_constraints_re2_max_mem': {e}"
                    ))
                })?
                .bytes();
        }
        if let Some(v) = self.get("offer_constraints_re2_max_program_size") {
            o.re2_max_program_size = v.trim().parse().map_err(|_| {
                Error::Flag(format!(
                    "Failed to load flag 'offer_constraints_re2_max_program_size': \
                     Failed to convert '{v}' to integer"
                ))
            })?;
        }
        Ok(o)
    }

    /// `--agent_removal_rate_limit` as `permits/duration` (upstream
    /// `Master::initialize`): the interval between removals it allows, or
    /// `None` when removals are not limited.
    pub fn agent_removal_rate_limit(&self) -> Result<Option<Duration>> {
        let Some(limit) = self.get("agent_removal_rate_limit") else {
            return Ok(None);
        };
        let invalid = |why: &str| {
            Error::Flag(format!(
                "Invalid agent_removal_rate_limit: {limit}. Format is <Number of agents>/<Duration>: {why}"
            ))
        };
        let (permits, duration) = limit.split_once('/').ok_or_else(|| invalid("no '/'"))?;
        let permits: u32 = permits
            .trim()
            .parse()
            .map_err(|_| invalid("the number of agents is not an integer"))?;
        if permits == 0 {
            return Err(invalid("the number of agents must be positive"));
        }
        let duration = parse_duration(duration)?;
        Ok(Some(duration / permits))
    }

    /// The value of a flag as given or defaulted.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// All flags with a value, for `/flags` and GET_FLAGS.
    pub fn all(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    pub fn bool(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1"))
    }

    fn duration(&self, name: &str, default: Duration) -> Duration {
        self.get(name)
            .and_then(|v| parse_duration(v).ok())
            .unwrap_or(default)
    }

    pub fn port(&self) -> Result<u16> {
        let p = self.get("port").unwrap_or("5050");
        p.parse()
            .map_err(|_| Error::Flag(format!("Failed to load flag 'port': invalid port '{p}'")))
    }

    pub fn ip(&self) -> Option<&str> {
        self.get("ip")
    }

    pub fn advertise_ip(&self) -> Option<&str> {
        self.get("advertise_ip")
    }

    pub fn advertise_port(&self) -> Option<u16> {
        self.get("advertise_port").and_then(|p| p.parse().ok())
    }

    pub fn hostname(&self) -> Option<&str> {
        self.get("hostname")
    }

    pub fn cluster(&self) -> Option<&str> {
        self.get("cluster")
    }

    pub fn registry(&self) -> &str {
        self.get("registry").unwrap_or("replicated_log")
    }

    pub fn work_dir(&self) -> Option<&str> {
        self.get("work_dir")
    }

    pub fn agent_ping_timeout(&self) -> Duration {
        self.duration("agent_ping_timeout", Duration::from_secs(15))
    }

    pub fn max_agent_ping_timeouts(&self) -> Result<u32> {
        let v = self.get("max_agent_ping_timeouts").unwrap_or("5");
        match v.parse::<u32>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(Error::Flag(format!(
                "Invalid value '{v}' for flag 'max_agent_ping_timeouts'"
            ))),
        }
    }

    pub fn agent_reregister_timeout(&self) -> Duration {
        self.duration("agent_reregister_timeout", Duration::from_secs(600))
    }

    pub fn allocation_interval(&self) -> Duration {
        self.duration("allocation_interval", Duration::from_secs(1))
    }

    pub fn offer_timeout(&self) -> Option<Duration> {
        self.get("offer_timeout")
            .and_then(|v| parse_duration(v).ok())
    }

    pub fn max_completed_frameworks(&self) -> usize {
        self.get("max_completed_frameworks")
            .and_then(|v| v.parse().ok())
            .unwrap_or(50)
    }

    pub fn max_completed_tasks_per_framework(&self) -> usize {
        self.get("max_completed_tasks_per_framework")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000)
    }

    /// `--roles`: the role whitelist (deprecated upstream, still honoured).
    pub fn roles(&self) -> Option<Vec<String>> {
        self.get("roles").map(|r| {
            r.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
    }

    /// `--weights=role1=2.0,role2=1.5`.
    pub fn weights(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        for item in self.get("weights").unwrap_or("").split(',') {
            if let Some((r, w)) = item.split_once('=') {
                if let Ok(w) = w.trim().parse() {
                    out.insert(r.trim().to_string(), w);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(args: &[&str], env: &[(&str, &str)]) -> Result<MasterFlags> {
        MasterFlags::load(
            args.iter().map(|s| s.to_string()),
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn agent_removal_rate_limit_is_permits_per_duration() {
        let f = load(&["--agent_removal_rate_limit=2/1mins"], &[]).unwrap();
        assert_eq!(
            f.agent_removal_rate_limit().unwrap(),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            load(&[], &[]).unwrap().agent_removal_rate_limit().unwrap(),
            None
        );
        // The deprecated name still works.
        let f = load(&["--slave_removal_rate_limit=1/10secs"], &[]).unwrap();
        assert_eq!(
            f.agent_removal_rate_limit().unwrap(),
            Some(Duration::from_secs(10))
        );
        for bad in ["1", "x/1mins", "0/1mins", "1/soon"] {
            assert!(
                load(&[&format!("--agent_removal_rate_limit={bad}")], &[]).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn defaults_match_upstream() {
        let f = load(&[], &[]).unwrap();
        assert_eq!(f.port().unwrap(), 5050);
        assert_eq!(f.agent_ping_timeout(), Duration::from_secs(15));
        assert_eq!(f.max_agent_ping_timeouts().unwrap(), 5);
        assert_eq!(f.allocation_interval(), Duration::from_secs(1));
        assert_eq!(f.offer_timeout(), None);
        assert_eq!(f.registry(), "replicated_log");
    }

    #[test]
    fn command_line_overrides_env_and_aliases_work() {
        let f = load(
            &[
                "--port=6060",
                "--slave_ping_timeout=3secs",
                "--no-hostname_lookup",
            ],
            &[
                ("MESOS_PORT", "7070"),
                ("MESOS_CLUSTER", "c1"),
                ("MESOS_UNKNOWN", "x"),
            ],
        )
        .unwrap();
        assert_eq!(f.port().unwrap(), 6060);
        assert_eq!(f.cluster(), Some("c1"));
        assert_eq!(f.agent_ping_timeout(), Duration::from_secs(3));
        assert!(!f.bool("hostname_lookup"));
    }

    #[test]
    fn unknown_and_bad_flags_are_errors() {
        let e = load(&["--nope=1"], &[]).unwrap_err();
        assert_eq!(e.to_string(), "Failed to load unknown flag 'nope'");
        assert!(load(&["--agent_ping_timeout=abc"], &[]).is_err());
        assert!(load(&["--port=99999"], &[]).is_err());
        assert!(load(&["--agent_reregister_timeout=1mins"], &[]).is_err());
        assert!(load(&["--max_agent_ping_timeouts=0"], &[]).is_err());
    }

    #[test]
    fn durations_parse_like_stout() {
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("1.5mins").unwrap(), Duration::from_secs(90));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5years").is_err());
        assert!(parse_duration("-1secs").is_err());
        assert!(parse_duration("99999999999999999999999weeks").is_err());
    }

    #[test]
    fn from_listing_keeps_unknown_names_and_validates() {
        let f = MasterFlags::from_listing(vec![
            ("port".to_string(), "6000".to_string()),
            ("agent_ping_timeout".to_string(), "2secs".to_string()),
            ("zk_session_timeout".to_string(), "10secs".to_string()),
            ("something_new".to_string(), "x".to_string()),
        ])
        .unwrap();
        assert_eq!(f.port().unwrap(), 6000);
        assert_eq!(f.agent_ping_timeout(), Duration::from_secs(2));
        assert_eq!(f.get("something_new"), Some("x"));
        assert!(MasterFlags::from_listing(vec![("port".into(), "x".into())]).is_err());
    }

    #[test]
    fn weights_and_roles_parse() {
        let f = load(&["--weights=a=2,b=0.5", "--roles=a,b"], &[]).unwrap();
        assert_eq!(f.weights().get("a"), Some(&2.0));
        assert_eq!(f.roles().unwrap(), vec!["a".to_string(), "b".to_string()]);
    }
}
