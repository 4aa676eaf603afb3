//! General task checks (`TaskInfo.check`), as upstream's
//! src/checks/checker.cpp and checker_process.cpp run them. They share the
//! scheduling and the probes with the health checks ([`super::probe`]);
//! what differs is the verdict:
//!
//! - COMMAND: the command's exit code (`CheckStatusInfo.command.exit_code`);
//!   HTTP: the response's status code, whatever it is
//!   (`http.status_code`); TCP: whether the connection was established
//!   (`tcp.succeeded`);
//! - a check that could not be performed (timed out, no HTTP answer, the
//!   command killed by a signal) yields an *empty* status of the check's
//!   type (`Checker::processCheckResult`);
//! - a transient failure (the agent unreachable for a nested command
//!   check) yields nothing at all (`CheckerProcess::processCheckResult`);
//! - the executor hears of a status only when it differs from the previous
//!   one, which starts as the empty status ([`CheckTracker`]).

use std::time::Duration;

use mesos_proto::mesos::{check_info, check_status_info, CheckInfo, CheckStatusInfo, CommandInfo};

use super::{seconds, CheckKind, Probe};

/// A validated `CheckInfo` with upstream's defaults applied.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckConfig {
    pub r#type: check_info::Type,
    pub delay: Duration,
    pub interval: Duration,
    /// `None`: `timeout_seconds` was 0 (no limit).
    pub timeout: Option<Duration>,
    pub kind: CheckKind,
}

/// Upstream `common::validation::validateCheckInfo`, shared with the master.
pub use mesos_proto::validation::validate_check_info;

/// Upstream `common::validation::validateCheckStatusInfo` (run on the
/// `check_status` of an executor's UPDATE): the type is given and its
/// field present.
pub fn validate_check_status_info(s: &CheckStatusInfo) -> Result<(), String> {
    let Some(t) = s.r#type else {
        return Err("CheckStatusInfo must specify 'type'".into());
    };
    let (present, field) = match check_info::Type::try_from(t).unwrap_or(check_info::Type::Unknown)
    {
        check_info::Type::Command => (s.command.is_some(), "command"),
        check_info::Type::Http => (s.http.is_some(), "http"),
        check_info::Type::Tcp => (s.tcp.is_some(), "tcp"),
        check_info::Type::Unknown => {
            return Err("'UNKNOWN' is not a valid check's status type".into());
        }
    };
    if !present {
        let name = field.to_uppercase();
        return Err(format!(
            "Expecting '{field}' to be set for {name} check's status"
        ));
    }
    Ok(())
}

impl CheckConfig {
    /// Validates and applies the proto defaults (15 s delay, 10 s
    /// interval, 20 s timeout, 0 = no timeout).
    pub fn from_proto(c: &CheckInfo) -> Result<CheckConfig, String> {
        validate_check_info(c)?;
        let t = c.r#type();
        let kind = match t {
            check_info::Type::Command => {
                CheckKind::Command(c.command.clone().unwrap_or_default().command)
            }
            check_info::Type::Http => {
                let http = c.http.clone().unwrap_or_default();
                let path = http.path.filter(|p| !p.is_empty());
                CheckKind::Http {
                    scheme: "http".into(),
                    ipv6: false,
                    // An out-of-range port makes `curl` fail upstream, so
                    // every check of it is a failed one; port 0 (which
                    // nothing can be connected to) behaves the same here.
                    port: u16::try_from(http.port).unwrap_or(0),
                    path: path.unwrap_or_else(|| "/".into()),
                }
            }
            // Upstream hands `mesos-tcp-connect` the port cast to 16 bits.
            _ => CheckKind::Tcp {
                ipv6: false,
                port: c.tcp.as_ref().map(|t| t.port as u16).unwrap_or(0),
            },
        };
        let timeout = seconds("timeout_seconds", c.timeout_seconds())?;
        Ok(CheckConfig {
            r#type: t,
            delay: seconds("delay_seconds", c.delay_seconds())?,
            interval: seconds("interval_seconds", c.interval_seconds())?,
            timeout: (!timeout.is_zero()).then_some(timeout),
            kind,
        })
    }
}

/// The status a task's updates carry before (and whenever) no result is
/// available: the check's type with its (empty) field set
/// (upstream `createEmptyCheckStatusInfo`, executor `createTaskStatus`).
pub fn empty_status(t: check_info::Type) -> CheckStatusInfo {
    let mut s = CheckStatusInfo::default();
    s.set_type(t);
    match t {
        check_info::Type::Command => s.command = Some(Default::default()),
        check_info::Type::Http => s.http = Some(Default::default()),
        check_info::Type::Tcp => s.tcp = Some(Default::default()),
        check_info::Type::Unknown => {}
    }
    s
}

/// One check's outcome: `Ok(Some)` performed, `Ok(None)` not available (a
/// transient failure, ignored), `Err` failed.
pub type CheckResult = Result<Option<CheckStatusInfo>, String>;

/// Turns a probe into the check's result (`processCommandCheckResult`,
/// `processHttpCheckResult`, `processTcpCheckResult`).
pub fn result_of(t: check_info::Type, probe: Result<Probe, String>) -> CheckResult {
    let mut s = empty_status(t);
    match probe? {
        Probe::Exited(status) if libc::WIFEXITED(status) => {
            s.command = Some(check_status_info::Command {
                exit_code: Some(libc::WEXITSTATUS(status)),
            });
        }
        Probe::Exited(status) => {
            return Err(format!(
                "Command {}",
                crate::default_executor::wstringify(status)
            ));
        }
        Probe::HttpStatus(code) => {
            s.http = Some(check_status_info::Http {
                status_code: Some(u32::from(code)),
            });
        }
        Probe::Tcp(r) => {
            s.tcp = Some(check_status_info::Tcp {
                succeeded: Some(r.is_ok()),
            });
        }
    }
    Ok(Some(s))
}

/// The checker's memory (upstream `Checker::previousCheckStatus`): each
/// result is compared with the previous one and reported only on change.
#[derive(Clone, Debug)]
pub struct CheckTracker {
    r#type: check_info::Type,
    previous: CheckStatusInfo,
}

impl CheckTracker {
    pub fn new(t: check_info::Type) -> CheckTracker {
        CheckTracker {
            r#type: t,
            previous: empty_status(t),
        }
    }

    /// The last status reported (the empty one at first).
    pub fn current(&self) -> &CheckStatusInfo {
        &self.previous
    }

    /// One check's result; `Some` when the status changed and must be
    /// sent. A failed check counts as the empty status.
    pub fn record(&mut self, result: CheckResult) -> Option<CheckStatusInfo> {
        let status = match result {
            Ok(None) => return None,
            Ok(Some(s)) => s,
            Err(e) => {
                tracing::warn!("{} check failed: {e}", self.r#type.as_str_name());
                empty_status(self.r#type)
            }
        };
        if status == self.previous {
            return None;
        }
        self.previous = status;
        Some(status)
    }
}

/// Runs one check of the task in the executor (COMMAND checks of a task
/// that is the executor's child, and every HTTP / TCP check).
pub fn run_general_check(
    config: &CheckConfig,
    environment: &std::collections::BTreeMap<String, String>,
    directory: &std::path::Path,
    enter_mnt_of: Option<i32>,
) -> CheckResult {
    result_of(
        config.r#type,
        super::probe(
            &config.kind,
            config.timeout,
            environment,
            directory,
            enter_mnt_of,
        ),
    )
}

/// The command of a nested COMMAND check container. Upstream launches it
/// as a DEBUG container session, which shares the task's sandbox
/// (working directory and `MESOS_SANDBOX`); our agent launches it as a
/// plain nested container with a sandbox of its own, so the command is
/// given the task's sandbox in `MESOS_SANDBOX` and starts there.
pub fn nested_check_command(c: &CommandInfo, task_sandbox: &str) -> CommandInfo {
    use mesos_proto::mesos::environment::Variable;
    let mut c = c.clone();
    let env = c.environment.get_or_insert_with(Default::default);
    env.variables.retain(|v| v.name != "MESOS_SANDBOX");
    env.variables.push(Variable {
        name: "MESOS_SANDBOX".into(),
        value: Some(task_sandbox.to_string()),
        ..Default::default()
    });
    let value = c.value.clone().unwrap_or_default();
    if c.shell.unwrap_or(true) {
        c.value = Some(format!("cd \"$MESOS_SANDBOX\" || exit 126\n{value}"));
    } else {
        // `sh -c 'cd ... && exec "$0" "$@"' <value> <argv[1..]>`.
        let mut args = vec![
            "sh".to_string(),
            "-c".to_string(),
            "cd \"$MESOS_SANDBOX\" && exec \"$0\" \"$@\"".to_string(),
            value,
        ];
        args.extend(c.arguments.iter().skip(1).cloned());
        c.value = Some("/bin/sh".into());
        c.arguments = args;
    }
    c
}

#[cfg(test)]
mod tests;
