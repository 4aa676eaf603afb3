//! The agent's settings and a minimal stout-style loader for the flags this
//! agent acts on (`src/slave/flags.cpp`): `--name=value`, `--name` /
//! `--no-name` for booleans, `MESOS_<NAME>` environment variables (command
//! line wins), and `file://` values. Upstream flags this agent does not act
//! on are accepted and ignored with a warning.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::Error;

/// Parses a stout duration (`10ns`, `5us`, `3ms`, `5secs`, `1mins`, `2hrs`,
/// `1days`, `1weeks`; the number may be fractional).
pub fn parse_duration(s: &str) -> Result<Duration, Error> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+' || c == 'e'))
        .ok_or_else(|| Error::Flags(format!("Invalid duration '{s}': no unit")))?;
    let (num, unit) = s.split_at(split);
    let v: f64 = num
        .parse()
        .map_err(|_| Error::Flags(format!("Invalid duration '{s}'")))?;
    let ns_per = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "secs" => 1e9,
        "mins" => 60e9,
        "hrs" => 3600e9,
        "days" => 86400e9,
        "weeks" => 7.0 * 86400e9,
        _ => {
            return Err(Error::Flags(format!(
                "Invalid duration '{s}': unknown unit '{unit}'"
            )))
        }
    };
    if v < 0.0 {
        return Err(Error::Flags(format!("Invalid duration '{s}': negative")));
    }
    Ok(Duration::from_nanos((v * ns_per) as u64))
}

/// Prints a duration as stout does: in the largest unit in which it is at
/// least 1, e.g. `5secs`, `15mins`, `1.5mins`.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    let units: [(&str, f64); 8] = [
        ("weeks", 7.0 * 86400e9),
        ("days", 86400e9),
        ("hrs", 3600e9),
        ("mins", 60e9),
        ("secs", 1e9),
        ("ms", 1e6),
        ("us", 1e3),
        ("ns", 1.0),
    ];
    for (u, per) in units {
        if ns >= per {
            let v = ns / per;
            let txt = format!("{v:.6}");
            let txt = txt.trim_end_matches('0').trim_end_matches('.');
            return format!("{txt}{u}");
        }
    }
    "0ns".to_string()
}

/// This host's name (`gethostname`).
pub fn local_hostname() -> Option<String> {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
}

/// The agent's hostname when `--hostname` is not given: with
/// `--hostname_lookup` the reverse lookup of the advertised IP
/// (`net::getHostname(self().address.ip)` in slave.cpp), else the IP
/// itself. The master refuses a reregistration whose hostname changed, so
/// this must match what a real agent on the same address reports.
pub fn agent_hostname(ip: std::net::IpAddr, lookup: bool) -> String {
    if !lookup {
        return ip.to_string();
    }
    reverse_lookup(ip)
        .or_else(local_hostname)
        .unwrap_or_else(|| ip.to_string())
}

/// `getnameinfo(NI_NAMEREQD)` of an address: the name it resolves back to.
pub fn reverse_lookup(ip: std::net::IpAddr) -> Option<String> {
    let sock: nix::sys::socket::SockaddrStorage = std::net::SocketAddr::new(ip, 0).into();
    let mut host = [0 as libc::c_char; 1025];
    // SAFETY: `sock` is a valid socket address of `sock.len()` bytes and
    // `host` is a writable buffer of its stated length.
    let rc = unsafe {
        libc::getnameinfo(
            nix::sys::socket::SockaddrLike::as_ptr(&sock),
            nix::sys::socket::SockaddrLike::len(&sock),
            host.as_mut_ptr(),
            host.len() as libc::socklen_t,
            std::ptr::null_mut(),
            0,
            libc::NI_NAMEREQD,
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: getnameinfo NUL-terminates the name on success.
    let name = unsafe { std::ffi::CStr::from_ptr(host.as_ptr()) };
    name.to_str().ok().map(str::to_string)
}

/// The agent's settings.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    pub master: Option<String>,
    pub work_dir: PathBuf,
    pub runtime_dir: Option<PathBuf>,
    pub ip: Option<String>,
    pub port: u16,
    pub advertise_ip: Option<String>,
    pub advertise_port: Option<u16>,
    pub hostname: Option<String>,
    pub hostname_lookup: bool,
    pub resources: Option<String>,
    pub attributes: Option<String>,
    pub isolation: String,
    pub launcher: String,
    pub launcher_dir: PathBuf,
    pub executor_registration_timeout: Duration,
    pub executor_reregistration_timeout: Duration,
    pub executor_shutdown_grace_period: Duration,
    /// `--http_heartbeat_interval`: heartbeats on container output streams.
    pub http_heartbeat_interval: Duration,
    pub registration_backoff_factor: Duration,
    /// `--credential`: (principal, secret) to authenticate with the master.
    pub credential: Option<(String, String)>,
    pub authentication_backoff_factor: Duration,
    pub authentication_timeout_min: Duration,
    pub authentication_timeout_max: Duration,
    /// Realms (`mesos-agent-readonly`, `mesos-agent-readwrite`) whose
    /// endpoints ask for HTTP Basic credentials from `--http_credentials`.
    pub http_realms: Vec<&'static str>,
    pub http_secrets: BTreeMap<String, String>,
    pub recover: String,
    pub recovery_timeout: Duration,
    pub strict: bool,
    pub gc_delay: Duration,
    /// `--disk_watch_interval` and `--gc_disk_headroom` (sandbox gc).
    pub disk_watch_interval: Duration,
    pub gc_disk_headroom: f64,
    pub http_command_executor: bool,
    /// `--executor_environment_variables`: what executors get on top of the
    /// agent-computed variables (upstream passes nothing else through, so TLS
    /// settings reach executors only this way).
    pub executor_environment_variables: BTreeMap<String, String>,
    pub default_role: String,
    pub switch_user: bool,
    /// Every flag as given (for `/flags`), name -> value.
    pub given: BTreeMap<String, String>,
}

/// The agent's HTTP authentication realms (src/slave/constants.hpp).
pub const READONLY_REALM: &str = "mesos-agent-readonly";
pub const READWRITE_REALM: &str = "mesos-agent-readwrite";

/// The realm of an agent endpoint, as upstream's `route(...)` calls in
/// `Slave::initialize` put them (`/files` is served by another process;
/// `/metrics/snapshot`, served by the agent here, is read-only as
/// libprocess's metrics process is in the agent).
pub fn realm_of(endpoint: &str) -> Option<&'static str> {
    match endpoint {
        "api/v1" => Some(READWRITE_REALM),
        "metrics/snapshot"
        | "state"
        | "state.json"
        | "flags"
        | "monitor/statistics"
        | "monitor/statistics.json"
        | "containers"
        | "containerizer/debug" => Some(READONLY_REALM),
        _ => None,
    }
}

impl AgentConfig {
    /// Defaults of `src/slave/flags.cpp` (work_dir must still be given).
    pub fn new(work_dir: impl Into<PathBuf>) -> AgentConfig {
        AgentConfig {
            master: None,
            work_dir: work_dir.into(),
            runtime_dir: None,
            ip: None,
            port: 5051,
            advertise_ip: None,
            advertise_port: None,
            hostname: None,
            hostname_lookup: true,
            resources: None,
            attributes: None,
            isolation: "posix/cpu,posix/mem".into(),
            launcher: "posix".into(),
            launcher_dir: PathBuf::from("/usr/libexec/mesos"),
            executor_registration_timeout: Duration::from_secs(60),
            executor_reregistration_timeout: Duration::from_secs(2),
            executor_shutdown_grace_period: Duration::from_secs(5),
            http_heartbeat_interval: Duration::from_secs(30),
            registration_backoff_factor: Duration::from_secs(1),
            credential: None,
            authentication_backoff_factor: Duration::from_secs(1),
            authentication_timeout_min: Duration::from_secs(5),
            authentication_timeout_max: Duration::from_secs(60),
            http_realms: Vec::new(),
            http_secrets: BTreeMap::new(),
            recover: "reconnect".into(),
            recovery_timeout: Duration::from_secs(15 * 60),
            strict: true,
            gc_delay: Duration::from_secs(7 * 86400),
            disk_watch_interval: Duration::from_secs(60),
            gc_disk_headroom: 0.1,
            http_command_executor: false,
            executor_environment_variables: BTreeMap::new(),
            default_role: "*".into(),
            switch_user: true,
            given: BTreeMap::new(),
        }
    }

    /// Every flag with its effective value, for `/flags`.
    pub fn flags_map(&self) -> BTreeMap<String, String> {
        let mut m = self.given.clone();
        let mut put = |k: &str, v: String| {
            m.entry(k.to_string()).or_insert(v);
        };
        put("work_dir", self.work_dir.display().to_string());
        put("port", self.port.to_string());
        put("isolation", self.isolation.clone());
        put("launcher", self.launcher.clone());
        put("launcher_dir", self.launcher_dir.display().to_string());
        put(
            "executor_registration_timeout",
            format_duration(self.executor_registration_timeout),
        );
        put(
            "executor_reregistration_timeout",
            format_duration(self.executor_reregistration_timeout),
        );
        put(
            "executor_shutdown_grace_period",
            format_duration(self.executor_shutdown_grace_period),
        );
        put(
            "http_heartbeat_interval",
            format_duration(self.http_heartbeat_interval),
        );
        put(
            "registration_backoff_factor",
            format_duration(self.registration_backoff_factor),
        );
        put("recover", self.recover.clone());
        put("recovery_timeout", format_duration(self.recovery_timeout));
        put("strict", self.strict.to_string());
        put("gc_delay", format_duration(self.gc_delay));
        put(
            "http_command_executor",
            self.http_command_executor.to_string(),
        );
        put("default_role", self.default_role.clone());
        put("switch_user", self.switch_user.to_string());
        put("hostname_lookup", self.hostname_lookup.to_string());
        if let Some(m) = &self.master {
            put("master", m.clone());
        }
        m
    }

    /// Builds the settings from stout's complete agent flag set (loaded by
    /// the daemon's main as `src/slave/main.cpp` does). `--launcher_dir`
    /// defaults to `default_launcher_dir` (the agent binary's directory,
    /// where `mesos-executor` lives) unless given.
    pub fn from_agent_flags(
        flags: &stout::AgentFlags,
        default_launcher_dir: PathBuf,
    ) -> Result<AgentConfig, Error> {
        let work_dir = flags.work_dir();
        if work_dir.is_empty() {
            return Err(Error::Flags("Flag 'work_dir' is required".into()));
        }
        let d = |v: stout::Duration| v.to_std().unwrap_or_default();
        let opt = |name: &str| -> Option<String> {
            flags
                .base()
                .get_str(name)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let mut c = AgentConfig::new(work_dir);
        c.master = opt("master");
        c.runtime_dir = opt("runtime_dir").map(PathBuf::from);
        c.ip = opt("ip");
        c.port = flags.port();
        c.advertise_ip = opt("advertise_ip");
        c.advertise_port = match opt("advertise_port") {
            Some(p) => Some(
                p.parse()
                    .map_err(|_| Error::Flags(format!("Invalid --advertise_port '{p}'")))?,
            ),
            None => None,
        };
        c.hostname = flags
            .hostname()
            .map(str::to_string)
            .filter(|h| !h.is_empty());
        c.hostname_lookup = flags.hostname_lookup();
        c.resources = flags.resources().map(str::to_string);
        c.attributes = opt("attributes");
        c.isolation = flags.isolation().to_string();
        c.launcher = flags.launcher().to_string();
        c.launcher_dir = if flags.base().is_loaded("launcher_dir") {
            PathBuf::from(flags.launcher_dir())
        } else {
            default_launcher_dir
        };
        c.executor_registration_timeout = d(flags.executor_registration_timeout());
        c.executor_reregistration_timeout = d(flags.executor_reregistration_timeout());
        c.executor_shutdown_grace_period = d(flags.executor_shutdown_grace_period());
        c.http_heartbeat_interval = d(flags.http_heartbeat_interval());
        c.registration_backoff_factor = d(flags.registration_backoff_factor());
        c.credential = flags
            .read_credential()
            .map_err(|e| Error::Flags(format!("{e} (see --credential flag)")))?
            .map(|c| (c.principal, c.secret.unwrap_or_default()));
        c.authentication_backoff_factor = d(flags.authentication_backoff_factor());
        c.authentication_timeout_min = d(flags.authentication_timeout_min());
        c.authentication_timeout_max = d(flags.authentication_timeout_max());
        // Upstream `Slave::initialize` + `initializeHttpAuthenticators`:
        // only the built-in `basic` authenticator, and it needs credentials.
        c.http_realms = [
            (flags.authenticate_http_readonly(), READONLY_REALM),
            (flags.authenticate_http_readwrite(), READWRITE_REALM),
        ]
        .into_iter()
        .filter_map(|(on, realm)| on.then_some(realm))
        .collect();
        if let Some(path) = opt("http_credentials") {
            c.http_secrets = stout::parsers::read_credentials(&path)
                .map_err(|e| Error::Flags(format!("{e} (see --http_credentials flag)")))?
                .unwrap_or_default()
                .credentials
                .into_iter()
                .map(|c| (c.principal, c.secret.unwrap_or_default()))
                .collect();
        }
        if let Some(realm) = c.http_realms.first() {
            let authenticators = opt("http_authenticators").unwrap_or_else(|| "basic".into());
            if authenticators != "basic" {
                return Err(Error::Flags(format!(
                    "HTTP authenticator '{authenticators}' is not supported: only 'basic' is built in"
                )));
            }
            if opt("http_credentials").is_none() {
                return Err(Error::Flags(format!(
                    "No credentials provided for the default 'basic' HTTP authenticator for realm '{realm}'"
                )));
            }
        }
        c.recover = flags.recover().to_string();
        if c.recover != "reconnect" && c.recover != "cleanup" {
            return Err(Error::Flags(format!(
                "Unknown option for 'recover' flag {}. Please run the agent with '--help' to see the valid options",
                c.recover
            )));
        }
        c.recovery_timeout = d(flags.recovery_timeout());
        c.strict = flags.strict();
        c.gc_delay = d(flags.gc_delay());
        c.disk_watch_interval = d(flags.disk_watch_interval());
        c.gc_disk_headroom = flags.gc_disk_headroom();
        c.http_command_executor = flags.http_command_executor();
        if let Some(serde_json::Value::Object(vars)) =
            flags.base().get_json("executor_environment_variables")
        {
            // The flag's validator already refused non-string values.
            c.executor_environment_variables = vars
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect();
        }
        c.default_role = flags.default_role().to_string();
        c.switch_user = flags.switch_user();
        c.given = flags.flags().into_iter().collect();
        c.given
            .insert("launcher_dir".into(), c.launcher_dir.display().to_string());
        Ok(c)
    }

    /// Loads from `MESOS_*` environment and command-line arguments (without
    /// the program name): a minimal loader for the flags this agent acts on
    /// (tests and embedders; the daemon uses [`AgentConfig::from_agent_flags`]). `default_launcher_dir` is used when
    /// `--launcher_dir` is not given.
    pub fn load(
        args: &[String],
        env: &BTreeMap<String, String>,
        default_launcher_dir: PathBuf,
    ) -> Result<AgentConfig, Error> {
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in env {
            if let Some(name) = k.strip_prefix("MESOS_") {
                let name = name.to_ascii_lowercase();
                if KNOWN.contains(&name.as_str()) {
                    values.insert(name, v.clone());
                }
            }
        }
        for a in args {
            let Some(flag) = a.strip_prefix("--") else {
                return Err(Error::Flags(format!("Unexpected argument '{a}'")));
            };
            let (name, value) = match flag.split_once('=') {
                Some((n, v)) => (n.to_string(), v.to_string()),
                None => match flag.strip_prefix("no-") {
                    Some(n) if BOOLS.contains(&n) => (n.to_string(), "false".to_string()),
                    _ => (flag.to_string(), "true".to_string()),
                },
            };
            let name = name.replace('-', "_");
            if !KNOWN.contains(&name.as_str()) {
                tracing::warn!("Ignoring flag '--{name}' that this agent does not implement");
            }
            values.insert(name, value);
        }
        // `file://` values are read from the file (stout flags/fetch.hpp).
        for v in values.values_mut() {
            if let Some(path) = v.strip_prefix("file://") {
                *v = std::fs::read_to_string(path)
                    .map_err(|e| Error::Flags(format!("Failed to read '{path}': {e}")))?
                    .trim_end()
                    .to_string();
            }
        }
        let work_dir = values
            .get("work_dir")
            .cloned()
            .ok_or_else(|| Error::Flags("Flag 'work_dir' is required".into()))?;
        let mut c = AgentConfig::new(work_dir);
        c.launcher_dir = default_launcher_dir;
        let b = |v: &str| -> Result<bool, Error> {
            match v {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(Error::Flags(format!("Failed to parse '{v}' as a boolean"))),
            }
        };
        for (k, v) in &values {
            let v = v.as_str();
            match k.as_str() {
                "master" => c.master = Some(v.to_string()),
                "work_dir" => {}
                "runtime_dir" => c.runtime_dir = Some(v.into()),
                "ip" => c.ip = Some(v.into()),
                "port" => {
                    c.port = v
                        .parse()
                        .map_err(|_| Error::Flags(format!("Invalid --port '{v}'")))?
                }
                "advertise_ip" => c.advertise_ip = Some(v.into()),
                "advertise_port" => {
                    c.advertise_port = Some(
                        v.parse()
                            .map_err(|_| Error::Flags(format!("Invalid --advertise_port '{v}'")))?,
                    )
                }
                "hostname" => c.hostname = Some(v.into()),
                "hostname_lookup" => c.hostname_lookup = b(v)?,
                "resources" => c.resources = Some(v.into()),
                "attributes" => c.attributes = Some(v.into()),
                "isolation" => c.isolation = v.into(),
                "launcher" => c.launcher = v.into(),
                "launcher_dir" => c.launcher_dir = v.into(),
                "executor_registration_timeout" => {
                    c.executor_registration_timeout = parse_duration(v)?
                }
                "executor_reregistration_timeout" => {
                    c.executor_reregistration_timeout = parse_duration(v)?
                }
                "http_heartbeat_interval" => c.http_heartbeat_interval = parse_duration(v)?,
                "executor_shutdown_grace_period" => {
                    c.executor_shutdown_grace_period = parse_duration(v)?
                }
                "registration_backoff_factor" => c.registration_backoff_factor = parse_duration(v)?,
                "recover" => {
                    if v != "reconnect" && v != "cleanup" {
                        return Err(Error::Flags(format!(
                            "Unknown option for 'recover' flag {v}. Please run the agent with '--help' to see the valid options"
                        )));
                    }
                    c.recover = v.into()
                }
                "recovery_timeout" => c.recovery_timeout = parse_duration(v)?,
                "strict" => c.strict = b(v)?,
                "gc_delay" => c.gc_delay = parse_duration(v)?,
                "http_command_executor" => c.http_command_executor = b(v)?,
                "default_role" => c.default_role = v.into(),
                "switch_user" => c.switch_user = b(v)?,
                _ => {}
            }
        }
        c.given = values;
        Ok(c)
    }
}

/// The flags this agent reads from `MESOS_*` (plus ones it accepts and
/// ignores, so environments prepared for upstream agents load).
const KNOWN: &[&str] = &[
    "master",
    "work_dir",
    "runtime_dir",
    "ip",
    "port",
    "advertise_ip",
    "advertise_port",
    "hostname",
    "hostname_lookup",
    "resources",
    "attributes",
    "isolation",
    "launcher",
    "launcher_dir",
    "executor_registration_timeout",
    "executor_reregistration_timeout",
    "executor_shutdown_grace_period",
    "http_heartbeat_interval",
    "registration_backoff_factor",
    "recover",
    "recovery_timeout",
    "strict",
    "gc_delay",
    "http_command_executor",
    "default_role",
    "switch_user",
    "containerizers",
    "systemd_enable_support",
    "fetcher_cache_dir",
    "fetcher_cache_size",
    "fetcher_stall_timeout",
    "logging_level",
    "log_dir",
    "quiet",
    "agent_features",
];

const BOOLS: &[&str] = &[
    "hostname_lookup",
    "strict",
    "http_command_executor",
    "switch_user",
    "systemd_enable_support",
    "quiet",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn durations_parse_and_print_like_stout() {
        assert_eq!(parse_duration("5secs").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_duration("1mins").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_duration("1.5mins").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10ms").unwrap(), Duration::from_millis(10));
        assert_eq!(
            parse_duration("2weeks").unwrap(),
            Duration::from_secs(14 * 86400)
        );
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5parsecs").is_err());
        assert_eq!(format_duration(Duration::from_secs(5)), "5secs");
        assert_eq!(format_duration(Duration::from_secs(900)), "15mins");
        assert_eq!(format_duration(Duration::from_secs(90)), "1.5mins");
        assert_eq!(format_duration(Duration::from_secs(7 * 86400)), "1weeks");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5secs");
    }

    #[test]
    fn command_line_overrides_env_and_booleans_negate() {
        let mut env = BTreeMap::new();
        env.insert("MESOS_WORK_DIR".to_string(), "/env".to_string());
        env.insert("MESOS_PORT".to_string(), "6000".to_string());
        env.insert("MESOS_UNKNOWN_THING".to_string(), "x".to_string());
        let c = AgentConfig::load(
            &s(&["--port=7000", "--no-strict", "--master=127.0.0.1:5050"]),
            &env,
            "/bin".into(),
        )
        .unwrap();
        assert_eq!(c.work_dir, PathBuf::from("/env"));
        assert_eq!(c.port, 7000);
        assert!(!c.strict);
        assert_eq!(c.master.as_deref(), Some("127.0.0.1:5050"));
        assert_eq!(c.launcher_dir, PathBuf::from("/bin"));
        assert_eq!(c.executor_shutdown_grace_period, Duration::from_secs(5));
        assert_eq!(c.flags_map()["port"], "7000");
    }

    #[test]
    fn errors_are_reported() {
        let env = BTreeMap::new();
        assert!(AgentConfig::load(&s(&["--port=1"]), &env, "/".into()).is_err());
        assert!(
            AgentConfig::load(&s(&["--work_dir=/w", "--recover=x"]), &env, "/".into()).is_err()
        );
        assert!(AgentConfig::load(&s(&["--work_dir=/w", "--port=x"]), &env, "/".into()).is_err());
        assert!(AgentConfig::load(&s(&["--work_dir=/w", "bare"]), &env, "/".into()).is_err());
    }

    #[test]
    fn stout_flags_map_onto_the_config() {
        let mut flags = stout::AgentFlags::new();
        let env = vec![("MESOS_WORK_DIR".to_string(), "/w".to_string())];
        flags
            .load_from(
                env,
                [
                    "mesos-agent",
                    "--master=127.0.0.1:5050",
                    "--port=7051",
                    "--executor_shutdown_grace_period=7secs",
                    "--no-strict",
                    "--resources=cpus:1",
                ],
            )
            .unwrap();
        let c = AgentConfig::from_agent_flags(&flags, "/bin/here".into()).unwrap();
        assert_eq!(c.work_dir, PathBuf::from("/w"));
        assert_eq!(c.master.as_deref(), Some("127.0.0.1:5050"));
        assert_eq!(c.port, 7051);
        assert_eq!(c.executor_shutdown_grace_period, Duration::from_secs(7));
        assert!(!c.strict);
        assert_eq!(c.resources.as_deref(), Some("cpus:1"));
        assert_eq!(
            c.launcher_dir,
            PathBuf::from("/bin/here"),
            "binary dir by default"
        );
        assert_eq!(c.isolation, "posix/cpu,posix/mem");
        assert_eq!(c.flags_map()["port"], "7051");
        let mut flags = stout::AgentFlags::new();
        // stout may itself reject the missing work_dir; either way no config.
        let _ = flags.load_from(
            Vec::<(String, String)>::new(),
            ["mesos-agent", "--launcher_dir=/x"],
        );
        assert!(
            AgentConfig::from_agent_flags(&flags, "/y".into()).is_err(),
            "work_dir required"
        );
    }

    #[test]
    fn hostname_of_loopback_is_looked_up() {
        let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(agent_hostname(ip, false), "127.0.0.1");
        // /etc/hosts maps 127.0.0.1 (to `localhost` on most systems).
        let name = agent_hostname(ip, true);
        assert!(!name.is_empty() && name != "127.0.0.1", "{name}");
    }

    #[test]
    fn file_values_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("res");
        std::fs::write(&p, "cpus:3\n").unwrap();
        let c = AgentConfig::load(
            &s(&[
                "--work_dir=/w",
                &format!("--resources=file://{}", p.display()),
            ]),
            &BTreeMap::new(),
            "/".into(),
        )
        .unwrap();
        assert_eq!(c.resources.as_deref(), Some("cpus:3"));
    }
}
