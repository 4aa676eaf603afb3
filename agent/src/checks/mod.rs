//! Task health checks (`TaskInfo.health_check`), as upstream's
//! src/checks/health_checker.cpp and checker_process.cpp run them for the
//! command executor:
//!
//! - the first check runs `delay_seconds` after the task started, each next
//!   one `interval_seconds` after the previous one finished
//!   (`CheckerProcess::scheduleNext`);
//! - a check that does not finish within `timeout_seconds` (0 = no limit)
//!   is a failure, its process killed;
//! - COMMAND: healthy on exit status 0; HTTP: GET
//!   `<scheme>://127.0.0.1:<port><path>`, healthy on a status 200..=399;
//!   TCP: healthy when a connection to `127.0.0.1:<port>` is established;
//! - failures while no check has succeeded yet and within
//!   `grace_period_seconds` of the start are ignored; every other failure
//!   counts, and reaching `consecutive_failures` asks for the task to be
//!   killed (`HealthChecker::failure`);
//! - a result is reported on every failure that counts, on the first
//!   success and on the first success after failures
//!   (`HealthChecker::success`).
//!
//! Deliberate difference (third_party_docs/health-checks.md): upstream runs
//! HTTP and TCP checks through `curl` / `mesos-tcp-connect` entered into the
//! task's network namespace. The command executor shares the host's network
//! namespace with its task here, so the executor connects directly. Plain
//! `http` is spoken directly (no redirects are followed; 3xx already counts
//! as healthy); `https` still goes through `curl -k` as upstream.
//! The [`HealthTracker`] state machine takes the time as an argument so it
//! is tested without sleeping.
//!
//! General checks (`TaskInfo.check`, [`general`]) share the scheduling and
//! the probes ([`probe`]) with the health checks, as upstream's `Checker`
//! and `HealthChecker` share `CheckerProcess`.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use mesos_proto::mesos::{health_check, CommandInfo, HealthCheck};

/// One kind of health check with what it needs to run.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// A command run with the task's environment; exit 0 is healthy.
    Command(CommandInfo),
    /// An HTTP GET; 200..=399 is healthy.
    Http {
        scheme: String,
        ipv6: bool,
        port: u16,
        path: String,
    },
    /// A TCP connect.
    Tcp { ipv6: bool, port: u16 },
}

/// A validated `HealthCheck` with upstream's defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthConfig {
    pub delay: Duration,
    pub interval: Duration,
    /// `None`: `timeout_seconds` was 0 (no limit).
    pub timeout: Option<Duration>,
    pub consecutive_failures: u32,
    pub grace_period: Duration,
    pub kind: CheckKind,
}

fn seconds(name: &str, v: f64) -> Result<Duration, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!("Expecting '{name}' to be non-negative"));
    }
    Ok(Duration::from_secs_f64(v))
}

fn port(p: u32) -> Result<u16, String> {
    u16::try_from(p)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("Invalid port {p}"))
}

impl HealthConfig {
    /// Checks a task's `HealthCheck` as upstream's
    /// `validation::healthCheck` does (type given and its info present,
    /// non-negative durations) and applies the proto defaults.
    pub fn from_proto(h: &HealthCheck) -> Result<HealthConfig, String> {
        use mesos_proto::mesos::network_info::Protocol;
        let kind = match h.r#type() {
            health_check::Type::Unknown => {
                return Err("HealthCheck must specify 'type'".into());
            }
            health_check::Type::Command => {
                let c = h
                    .command
                    .clone()
                    .ok_or("Expecting 'command' to be set for COMMAND health check")?;
                if c.shell.unwrap_or(true) && c.value.is_none() {
                    return Err("Command health check must contain 'shell command'".into());
                }
                if !c.shell.unwrap_or(true) && c.value.is_none() {
                    return Err("Command health check must contain 'value'".into());
                }
                CheckKind::Command(c)
            }
            health_check::Type::Http => {
                let http = h
                    .http
                    .as_ref()
                    .ok_or("Expecting 'http' to be set for HTTP health check")?;
                let scheme = http.scheme.clone().unwrap_or_else(|| "http".into());
                if scheme != "http" && scheme != "https" {
                    return Err(format!("Unsupported HTTP health check scheme: '{scheme}'"));
                }
                let mut path = http.path.clone().unwrap_or_default();
                if !path.is_empty() && !path.starts_with('/') {
                    return Err(format!(
                        "The path '{path}' of HTTP health check must start with '/'"
                    ));
                }
                if path.is_empty() {
                    path = "/".into();
                }
                CheckKind::Http {
                    scheme,
                    ipv6: http.protocol() == Protocol::IPv6,
                    port: port(http.port)?,
                    path,
                }
            }
            health_check::Type::Tcp => {
                let tcp = h
                    .tcp
                    .as_ref()
                    .ok_or("Expecting 'tcp' to be set for TCP health check")?;
                CheckKind::Tcp {
                    ipv6: tcp.protocol() == Protocol::IPv6,
                    port: port(tcp.port)?,
                }
            }
        };
        let timeout = seconds("timeout_seconds", h.timeout_seconds())?;
        Ok(HealthConfig {
            delay: seconds("delay_seconds", h.delay_seconds())?,
            interval: seconds("interval_seconds", h.interval_seconds())?,
            timeout: (!timeout.is_zero()).then_some(timeout),
            consecutive_failures: h.consecutive_failures(),
            grace_period: seconds("grace_period_seconds", h.grace_period_seconds())?,
            kind,
        })
    }
}

/// What a check result means for the task (upstream `TaskHealthStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HealthEvent {
    pub healthy: bool,
    pub consecutive_failures: u32,
    pub kill_task: bool,
}

/// The health checker's state machine (`HealthChecker::success` /
/// `failure`), fed with each check's result and the time it arrived.
#[derive(Clone, Debug)]
pub struct HealthTracker {
    start: Instant,
    grace_period: Duration,
    max_failures: u32,
    consecutive_failures: u32,
    /// No check has succeeded yet (the grace period applies only then).
    initializing: bool,
}

impl HealthTracker {
    pub fn new(config: &HealthConfig, start: Instant) -> HealthTracker {
        HealthTracker {
            start,
            grace_period: config.grace_period,
            max_failures: config.consecutive_failures,
            consecutive_failures: 0,
            initializing: true,
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// One check's outcome at `now`; `Some` when it must be reported.
    pub fn record(&mut self, now: Instant, result: &Result<(), String>) -> Option<HealthEvent> {
        match result {
            Ok(()) => {
                let report = self.initializing || self.consecutive_failures > 0;
                self.initializing = false;
                self.consecutive_failures = 0;
                report.then_some(HealthEvent {
                    healthy: true,
                    consecutive_failures: 0,
                    kill_task: false,
                })
            }
            Err(_) => {
                if self.initializing
                    && !self.grace_period.is_zero()
                    && now.saturating_duration_since(self.start) <= self.grace_period
                {
                    return None;
                }
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                Some(HealthEvent {
                    healthy: false,
                    consecutive_failures: self.consecutive_failures,
                    kill_task: self.consecutive_failures >= self.max_failures,
                })
            }
        }
    }
}

/// Runs one health check to completion (blocking, bounded by the
/// timeout): `Ok` when healthy, else why not. The probe is shared with the
/// general checks ([`probe`]); only the verdict differs.
pub fn run_check(
    config: &HealthConfig,
    environment: &BTreeMap<String, String>,
    directory: &std::path::Path,
    enter_mnt_of: Option<i32>,
) -> Result<(), String> {
    match probe(
        &config.kind,
        config.timeout,
        environment,
        directory,
        enter_mnt_of,
    )? {
        Probe::Exited(0) => Ok(()),
        Probe::Exited(s) => Err(crate::executor::command_status_message(Some(s))),
        Probe::HttpStatus(code) => http_code_healthy(code),
        Probe::Tcp(r) => r,
    }
}

/// What one probe of a check observed (upstream checker_process.cpp's
/// `commandCheck` / `httpCheck` / `tcpCheck` futures).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
    /// The command's wait status.
    Exited(i32),
    /// The HTTP response's status code.
    HttpStatus(u16),
    /// Whether a TCP connection could be established (and why not).
    Tcp(Result<(), String>),
}

/// Runs one probe to completion, bounded by `timeout` (`None`: no
/// limit). `Err` when the probe itself could not be performed (timed out,
/// command not started, no HTTP answer): upstream's failed future.
pub fn probe(
    kind: &CheckKind,
    timeout: Option<Duration>,
    environment: &BTreeMap<String, String>,
    directory: &std::path::Path,
    enter_mnt_of: Option<i32>,
) -> Result<Probe, String> {
    match kind {
        CheckKind::Command(c) => {
            let mut env = environment.clone();
            if let Some(e) = &c.environment {
                for v in &e.variables {
                    if let Some(value) = &v.value {
                        env.insert(v.name.clone(), value.clone());
                    }
                }
            }
            let mut cmd = if let Some(pid) = enter_mnt_of {
                // Through `nsenter` into the task's mount namespace (where
                // its image's binaries are), as upstream's checker does
                // with `mesos-containerizer` for rootfs tasks.
                let mut cmd = Command::new("nsenter");
                cmd.arg(format!("--target={pid}")).arg("--mount").arg("--");
                if c.shell.unwrap_or(true) {
                    cmd.arg("/bin/sh")
                        .arg("-c")
                        .arg(c.value.clone().unwrap_or_default());
                } else {
                    cmd.arg(c.value.clone().unwrap_or_default());
                    cmd.args(c.arguments.iter().skip(1));
                }
                cmd
            } else if c.shell.unwrap_or(true) {
                let mut cmd = Command::new("/bin/sh");
                cmd.arg("-c").arg(c.value.clone().unwrap_or_default());
                cmd
            } else {
                let mut cmd = Command::new(c.value.clone().unwrap_or_default());
                if let Some((argv0, rest)) = c.arguments.split_first() {
                    cmd.arg0(argv0).args(rest);
                }
                cmd
            };
            cmd.env_clear().envs(&env);
            if directory.is_dir() {
                cmd.current_dir(directory);
            }
            let (status, _) = run_with_timeout(cmd, timeout, false)?;
            Ok(Probe::Exited(status))
        }
        CheckKind::Http {
            scheme,
            ipv6,
            port,
            path,
        } if scheme == "https" => {
            let host = if *ipv6 { "[::1]" } else { "127.0.0.1" };
            let url = format!("https://{host}:{port}{path}");
            let mut cmd = Command::new("curl");
            cmd.args([
                "-s",
                "-S",
                "-L",
                "-k",
                "-w",
                "%{http_code}",
                "-o",
                "/dev/null",
                "-g",
            ])
            .arg(&url);
            let (status, out) = run_with_timeout(cmd, timeout, true)?;
            if status != 0 {
                return Err(format!(
                    "curl {url}: {}",
                    crate::executor::command_status_message(Some(status))
                ));
            }
            let code: u16 = out
                .trim()
                .parse()
                .map_err(|_| format!("Unexpected output from curl: '{}'", out.trim()))?;
            Ok(Probe::HttpStatus(code))
        }
        CheckKind::Http {
            ipv6, port, path, ..
        } => http_get_status(*ipv6, *port, path, timeout).map(Probe::HttpStatus),
        CheckKind::Tcp { ipv6, port } => {
            let addr = local_addr(*ipv6, *port);
            match TcpStream::connect_timeout(&addr, timeout.unwrap_or(Duration::from_secs(3600))) {
                Ok(_) => Ok(Probe::Tcp(Ok(()))),
                // Upstream kills `mesos-tcp-connect` at the timeout: the
                // check failed, which is not the same as "not connected".
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => Err(format!(
                    "TCP connection to {addr} timed out after {:?}",
                    timeout.unwrap_or_default()
                )),
                Err(e) => Ok(Probe::Tcp(Err(format!(
                    "TCP connection to {addr} failed: {e}"
                )))),
            }
        }
    }
}

fn http_code_healthy(code: u16) -> Result<(), String> {
    if (200..400).contains(&code) {
        Ok(())
    } else {
        Err(format!("Unexpected HTTP response code: {code}"))
    }
}

fn local_addr(ipv6: bool, port: u16) -> SocketAddr {
    if ipv6 {
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port))
    } else {
        SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port))
    }
}

/// `GET <path>` over HTTP/1.0 to the local port; the response's status.
fn http_get_status(
    ipv6: bool,
    port: u16,
    path: &str,
    timeout: Option<Duration>,
) -> Result<u16, String> {
    let addr = local_addr(ipv6, port);
    let deadline = timeout.map(|t| Instant::now() + t);
    let left = || match deadline {
        Some(d) => d
            .checked_duration_since(Instant::now())
            .filter(|l| !l.is_zero())
            .ok_or_else(|| format!("HTTP health check to {addr} timed out")),
        None => Ok(Duration::from_secs(3600)),
    };
    let mut s = TcpStream::connect_timeout(&addr, left()?)
        .map_err(|e| format!("Failed to connect to {addr}: {e}"))?;
    let host = if ipv6 { "[::1]" } else { "127.0.0.1" };
    s.set_write_timeout(Some(left()?)).ok();
    s.write_all(
        format!(
            "GET {path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: mesos-health-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    )
    .map_err(|e| format!("Failed to send the request to {addr}: {e}"))?;
    // Only the status line matters.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buf.contains(&b'\n') && buf.len() < 8192 {
        s.set_read_timeout(Some(left()?)).ok();
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("Failed to read the response from {addr}: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&buf);
    let line = line.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (
        parts.next(),
        parts.next().and_then(|c| c.parse::<u16>().ok()),
    ) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => Ok(code),
        _ => Err(format!("Malformed HTTP response from {addr}: '{line}'")),
    }
}

/// Runs `cmd` in its own process group with stdin closed, killing the
/// group at the timeout (upstream kills the check's process tree). Returns
/// the wait status and (with `capture`) stdout. A command check's output
/// is not read: a background child holding the pipe must not block it.
fn run_with_timeout(
    mut cmd: Command,
    timeout: Option<Duration>,
    capture: bool,
) -> Result<(i32, String), String> {
    use std::os::unix::process::ExitStatusExt;
    cmd.stdin(Stdio::null())
        .stdout(if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("Failed to run the health check command: {e}"))?;
    let pid = child.id() as i32;
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_string(&mut out);
        }
        out
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(format!("Failed to wait for the health check: {e}")),
        }
        if timeout.is_some_and(|t| start.elapsed() >= t) {
            crate::launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            // Grandchildren may hold the pipe: do not wait for the reader.
            return Err(format!(
                "Command timed out after {:?}",
                timeout.unwrap_or_default()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().unwrap_or_default();
    Ok((status.into_raw(), out))
}

pub mod general;

#[cfg(test)]
mod tests;
