//! The message-level rules of upstream `src/common/validation.cpp` that both
//! the master and the agent apply: `validateEnvironment` (behind
//! `validateCommandInfo`) and `validateCheckInfo`, with upstream's messages.

use crate::mesos::environment::variable::Type as VarType;
use crate::mesos::{check_info, CheckInfo, CommandInfo, Environment};

/// Upstream `validateEnvironment`: a SECRET variable has a secret and no
/// value, a VALUE variable (the default type) a value and no secret;
/// UNKNOWN is refused.
pub fn validate_environment(env: &Environment) -> Result<(), String> {
    for v in &env.variables {
        let t = v
            .r#type
            .map(|t| VarType::try_from(t).unwrap_or(VarType::Unknown))
            .unwrap_or(VarType::Value);
        let (kind, own, other, has_own, has_other) = match t {
            VarType::Secret => (
                "SECRET",
                "secret",
                "value",
                v.secret.is_some(),
                v.value.is_some(),
            ),
            VarType::Value => (
                "VALUE",
                "value",
                "secret",
                v.value.is_some(),
                v.secret.is_some(),
            ),
            VarType::Unknown => {
                return Err("Environment variable of type 'UNKNOWN' is not allowed".into())
            }
        };
        if !has_own {
            return Err(format!(
                "Environment variable '{}' of type '{kind}' must have a {own} set",
                v.name
            ));
        }
        if has_other {
            return Err(format!(
                "Environment variable '{}' of type '{kind}' must not have a {other} set",
                v.name
            ));
        }
    }
    Ok(())
}

/// Upstream `validateCommandInfo` (= [`validate_environment`]).
pub fn validate_command_info(command: &CommandInfo) -> Result<(), String> {
    command
        .environment
        .as_ref()
        .map_or(Ok(()), validate_environment)
}

/// Upstream `validateCheckInfo`: the type is given and its info present, a
/// command has a value and a valid environment, an HTTP path starts with
/// '/', no negative (or NaN) durations. Upstream checks neither the port
/// nor fields of other types.
pub fn validate_check_info(c: &CheckInfo) -> Result<(), String> {
    let Some(t) = c.r#type else {
        return Err("CheckInfo must specify 'type'".into());
    };
    match check_info::Type::try_from(t).unwrap_or(check_info::Type::Unknown) {
        check_info::Type::Command => {
            let Some(cmd) = &c.command else {
                return Err("Expecting 'command' to be set for COMMAND check".into());
            };
            if cmd.command.value.is_none() {
                let what = if cmd.command.shell.unwrap_or(true) {
                    "'shell command'"
                } else {
                    "'executable path'"
                };
                return Err(format!("Command check must contain {what}"));
            }
            validate_command_info(&cmd.command)
                .map_err(|e| format!("Check's `CommandInfo` is invalid: {e}"))?;
        }
        check_info::Type::Http => {
            let Some(http) = &c.http else {
                return Err("Expecting 'http' to be set for HTTP check".into());
            };
            if let Some(path) = http.path.as_deref().filter(|p| !p.starts_with('/')) {
                return Err(format!(
                    "The path '{path}' of HTTP check must start with '/'"
                ));
            }
        }
        check_info::Type::Tcp => {
            if c.tcp.is_none() {
                return Err("Expecting 'tcp' to be set for TCP check".into());
            }
        }
        check_info::Type::Unknown => return Err("'UNKNOWN' is not a valid check type".into()),
    }
    for (name, v) in [
        ("delay_seconds", c.delay_seconds),
        ("interval_seconds", c.interval_seconds),
        ("timeout_seconds", c.timeout_seconds),
    ] {
        if v.is_some_and(|v| v < 0.0 || v.is_nan()) {
            return Err(format!("Expecting '{name}' to be non-negative"));
        }
    }
    Ok(())
}
