//! `docker/runtime`: applies a docker image's runtime config (ENV, WORKDIR,
//! ENTRYPOINT/CMD) to the container, or nothing at all with the 1.9 agent
//! flag `--docker_ignore_runtime`.
//!
//! Upstream: src/slave/containerizer/mesos/isolators/docker/runtime.cpp.
//! For a command task (`task_info` set) the image's environment becomes the
//! `task_environment` and the working directory and command are passed to
//! the command executor as `--working_directory=` / `--task_command=`
//! arguments; otherwise they go straight into the launch info.

use mesos_proto::mesos::slave::{ContainerConfig, ContainerLaunchInfo};
use mesos_proto::mesos::{container_info, environment, CommandInfo, ContainerId, Environment};

use crate::flags::IsolatorFlags;
use crate::{Error, Isolator};

/// `docker/runtime`.
pub struct DockerRuntimeIsolator {
    ignore_runtime: bool,
}

impl DockerRuntimeIsolator {
    pub fn new(flags: &IsolatorFlags) -> DockerRuntimeIsolator {
        DockerRuntimeIsolator {
            ignore_runtime: flags.docker_ignore_runtime,
        }
    }
}

/// The image's `Env` as an `Environment` (entries without `=` skipped).
pub fn launch_environment(config: &ContainerConfig) -> Option<Environment> {
    let c = config.docker.as_ref()?.manifest.as_ref()?.config.as_ref()?;
    if c.env.is_empty() {
        return None;
    }
    Some(Environment {
        variables: c
            .env
            .iter()
            .filter_map(|e| e.split_once('='))
            .map(|(n, v)| environment::Variable {
                name: n.to_string(),
                value: Some(v.to_string()),
                ..Default::default()
            })
            .collect(),
    })
}

/// `getLaunchCommand`: the user's command unless it leaves the executable
/// to the image (non-shell without value); then ENTRYPOINT (+ CMD when the
/// user gave no arguments) or CMD.
pub fn launch_command(config: &ContainerConfig) -> Result<Option<CommandInfo>, Error> {
    let Some(c) = config
        .docker
        .as_ref()
        .and_then(|d| d.manifest.as_ref())
        .and_then(|m| m.config.as_ref())
    else {
        return Ok(None);
    };
    let mut command = match &config.task_info {
        Some(t) => t.command.clone().unwrap_or_default(),
        None => config.command_info.clone(),
    };
    if command.shell.unwrap_or(true) {
        if command.value.is_none() {
            return Err(Error::Invalid(
                "Shell specified but no command value provided".into(),
            ));
        }
        return Ok(None);
    }
    if command.value.is_some() {
        return Ok(None);
    }
    let user_args = std::mem::take(&mut command.arguments);
    if let Some(first) = c.entrypoint.first() {
        command.value = Some(first.clone());
        command.arguments = c.entrypoint.clone();
        command.arguments.extend(user_args);
        if command.arguments.len() == c.entrypoint.len() {
            command.arguments.extend(c.cmd.iter().cloned());
        }
    } else if let Some(first) = c.cmd.first() {
        command.value = Some(first.clone());
        command.arguments = vec![first.clone()];
        command.arguments.extend(user_args);
        if command.arguments.len() == 1 {
            command.arguments.extend(c.cmd.iter().skip(1).cloned());
        }
    } else {
        return Err(Error::Invalid("No executable is found".into()));
    }
    Ok(Some(command))
}

impl Isolator for DockerRuntimeIsolator {
    fn name(&self) -> &'static str {
        "docker/runtime"
    }

    fn supports_nesting(&self) -> bool {
        true
    }

    fn prepare(
        &self,
        _id: &ContainerId,
        config: &ContainerConfig,
    ) -> Result<Option<ContainerLaunchInfo>, Error> {
        if self.ignore_runtime {
            return Ok(None);
        }
        let Some(ci) = &config.container_info else {
            return Ok(None);
        };
        if ci.r#type != container_info::Type::Mesos as i32 {
            return Err(Error::Invalid(
                "Can only prepare docker runtime for a MESOS container".into(),
            ));
        }
        if config.docker.is_none() {
            return Ok(None);
        }
        let env = launch_environment(config);
        let workdir = config
            .docker
            .as_ref()
            .and_then(|d| d.manifest.as_ref())
            .and_then(|m| m.config.as_ref())
            .and_then(|c| c.working_dir.clone())
            .filter(|w| !w.is_empty());
        let command = launch_command(config)
            .map_err(|e| Error::Invalid(format!("Failed to determine the launch command: {e}")))?;
        let mut li = ContainerLaunchInfo::default();
        if config.task_info.is_some() {
            li.task_environment = env;
            let mut args = Vec::new();
            if let Some(w) = workdir {
                args.push(format!("--working_directory={w}"));
            }
            if let Some(c) = command {
                let json = mesos_proto::json::to_json(&c)
                    .map_err(|e| Error::Invalid(format!("task command: {e}")))?;
                args.push(format!("--task_command={json}"));
            }
            if !args.is_empty() {
                li.command = Some(CommandInfo {
                    arguments: args,
                    ..Default::default()
                });
            }
        } else {
            li.environment = env;
            li.working_directory = workdir;
            li.command = command;
        }
        Ok(Some(li))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::docker::spec::v1::{image_manifest, ImageManifest};
    use mesos_proto::mesos::slave::container_config::Docker;

    fn cfg(entry: &[&str], cmd: &[&str], user: CommandInfo) -> ContainerConfig {
        ContainerConfig {
            command_info: user,
            docker: Some(Docker {
                manifest: Some(ImageManifest {
                    config: Some(image_manifest::Config {
                        entrypoint: entry.iter().map(|s| s.to_string()).collect(),
                        cmd: cmd.iter().map(|s| s.to_string()).collect(),
                        env: vec!["A=1".into(), "bogus".into()],
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            }),
            ..Default::default()
        }
    }

    fn no_shell(args: &[&str]) -> CommandInfo {
        CommandInfo {
            shell: Some(false),
            arguments: args.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn entrypoint_and_cmd_rules() {
        let c = launch_command(&cfg(&["/bin/ep", "-x"], &["c1"], no_shell(&[])))
            .unwrap()
            .unwrap();
        assert_eq!(c.value.as_deref(), Some("/bin/ep"));
        assert_eq!(c.arguments, vec!["/bin/ep", "-x", "c1"]);
        // User arguments replace CMD after the entrypoint.
        let c = launch_command(&cfg(&["/bin/ep"], &["c1"], no_shell(&["u"])))
            .unwrap()
            .unwrap();
        assert_eq!(c.arguments, vec!["/bin/ep", "u"]);
        let c = launch_command(&cfg(&[], &["/bin/c", "a"], no_shell(&[])))
            .unwrap()
            .unwrap();
        assert_eq!(c.arguments, vec!["/bin/c", "a"]);
        assert!(launch_command(&cfg(&[], &[], no_shell(&[]))).is_err());
        // A shell command wins over the image.
        let shell = CommandInfo {
            value: Some("echo".into()),
            ..Default::default()
        };
        assert!(launch_command(&cfg(&["/x"], &[], shell)).unwrap().is_none());
        let env = launch_environment(&cfg(&[], &[], no_shell(&[]))).unwrap();
        assert_eq!(env.variables.len(), 1);
    }
}
