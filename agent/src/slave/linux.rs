//! The agent's [`Containerizer`] over the isolators crate's
//! [`LinuxContainerizer`] (`--launcher=linux`): upstream's
//! `MesosContainerizer` with the Linux launcher
//! (src/slave/containerizer/mesos/containerizer.cpp). The executor is the
//! container's init process; its `ContainerInfo` (for the command executor,
//! the task's: image, volumes, `LinuxInfo` ipc mode and shm size) goes to
//! the isolators, and its task goes along as `ContainerConfig.task_info`
//! so that with an image only the task enters the rootfs (the executor
//! gets `--rootfs=`); a limitation an isolator reports destroys the container
//! and becomes the tasks' `TASK_FAILED` reason, as `MesosContainerizer::wait`
//! returns it in the `ContainerTermination`.

use std::path::Path;

use mesos_isolators::containerizer::{helper_path, LaunchRequest, LinuxContainerizer};
use mesos_isolators::IsolatorFlags;
use mesos_proto::mesos::slave::ContainerState;
use mesos_proto::mesos::{task_status, ContainerId, ContainerStatus, ResourceStatistics};

use super::{ContainerLaunch, Containerizer, RecoveredContainer, Termination};

fn cid(value: &str) -> ContainerId {
    ContainerId {
        value: value.to_string(),
        ..Default::default()
    }
}

/// `--launcher=linux`: namespaces, cgroups, images and the `linux/*`
/// isolators from `--isolation`, launched through `mesos-containerizer`.
pub struct LinuxAgentContainerizer {
    inner: LinuxContainerizer,
}

impl LinuxAgentContainerizer {
    /// From the agent's flags; the launch helper is
    /// `<launcher_dir>/mesos-containerizer`.
    pub fn new(
        flags: &stout::AgentFlags,
        launcher_dir: &Path,
    ) -> Result<LinuxAgentContainerizer, crate::Error> {
        let inner = LinuxContainerizer::new(
            IsolatorFlags::from_agent_flags(flags),
            helper_path(launcher_dir),
        )
        .map_err(|e| crate::Error::Flags(format!("Failed to create a containerizer: {e}")))?;
        Ok(LinuxAgentContainerizer { inner })
    }

    /// The wrapped containerizer.
    pub fn inner(&self) -> &LinuxContainerizer {
        &self.inner
    }
}

impl Containerizer for LinuxAgentContainerizer {
    fn launch(&self, l: &ContainerLaunch) -> Result<i32, crate::Error> {
        let mut env = l.spec.environment.clone();
        env.entry("PATH".into())
            .or_insert_with(|| crate::launcher::HOST_DEFAULT_PATH.to_string());
        let req = LaunchRequest::from_parts(
            &l.container_id,
            &l.spec.value,
            &l.spec.arguments,
            l.spec.shell,
            env,
            &l.spec.directory,
            l.spec.user.clone(),
            l.resources.clone(),
            l.container_info.clone(),
        )
        .with_task_info(l.task_info.clone());
        let pid = self
            .inner
            .launch(&req)
            .map_err(|e| crate::Error::Launch(e.to_string()))?;
        if let Some(p) = &l.forked_pid_path {
            if let Err(e) = crate::checkpoint::checkpoint_string(p, &pid.to_string()) {
                self.inner.destroy(&cid(&l.container_id));
                let _ = self.inner.wait(&cid(&l.container_id));
                return Err(e);
            }
        }
        Ok(pid)
    }

    fn wait(&self, container_id: &str, pid: i32) -> Option<i32> {
        self.wait_termination(container_id, pid).status
    }

    fn wait_termination(&self, container_id: &str, pid: i32) -> Termination {
        match self.inner.wait(&cid(container_id)) {
            Ok(t) => Termination {
                status: t.status,
                failure: t.reason.map(|r| {
                    (
                        task_status::Reason::try_from(r)
                            .unwrap_or(task_status::Reason::ContainerLimitation),
                        t.message.unwrap_or_else(|| "Container limitation".into()),
                    )
                }),
            },
            // Not known to the containerizer (e.g. recovery failed): fall
            // back to watching the pid.
            Err(e) => {
                tracing::warn!("Waiting for container {container_id} by pid {pid}: {e}");
                Termination {
                    status: crate::launcher::wait_gone(pid, std::time::Duration::from_millis(500)),
                    failure: None,
                }
            }
        }
    }

    fn destroy(&self, container_id: &str, pid: i32) {
        let id = cid(container_id);
        if self.inner.pid(&id).is_some() {
            self.inner.destroy(&id);
        } else {
            crate::launcher::kill_tree(pid, nix::sys::signal::Signal::SIGKILL);
        }
    }

    fn alive(&self, pid: i32) -> bool {
        crate::launcher::alive(pid)
    }

    fn recover(&self, running: &[RecoveredContainer]) {
        let states: Vec<ContainerState> = running
            .iter()
            .map(|r| ContainerState {
                executor_info: Some(r.executor_info.clone()),
                container_id: cid(&r.container_id),
                pid: r.pid as u64,
                directory: r.directory.display().to_string(),
                ..Default::default()
            })
            .collect();
        if let Err(e) = self.inner.recover(&states, &[]) {
            tracing::error!("Failed to recover the containerizer: {e}");
        }
    }

    fn update(&self, container_id: &str, resources: &[mesos_proto::mesos::Resource]) {
        if let Err(e) = self.inner.update(&cid(container_id), resources) {
            tracing::warn!("Failed to update the resources of container {container_id}: {e}");
        }
    }

    fn usage(&self, container_id: &str) -> Option<ResourceStatistics> {
        self.inner.usage(&cid(container_id)).ok()
    }

    fn status(&self, container_id: &str) -> Option<ContainerStatus> {
        self.inner.status(&cid(container_id)).ok()
    }

    fn debug_json(&self) -> serde_json::Value {
        self.inner.tracker().containerizer_debug_json()
    }
}
