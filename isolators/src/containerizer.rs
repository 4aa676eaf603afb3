//! [`LinuxContainerizer`]: the launch sequence of upstream's
//! `MesosContainerizerProcess` (src/slave/containerizer/mesos/containerizer.cpp)
//! for one container at a time: provision the image (if any), `prepare` every
//! isolator and merge their launch infos, clone the container through the
//! Linux launcher, `isolate` it while it is held, release it into
//! `mesos-containerizer launch`, then watch for limitations until it exits,
//! and `cleanup` every isolator (in reverse order) and the provisioner.
//!
//! Every method blocks: the agent calls them from blocking threads. Each
//! isolator and launcher call is registered with the [`PendingTracker`]
//! under upstream's names (`<isolator>::prepare`, `launcher::fork`, ...).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use mesos_proto::mesos::slave::{
    ContainerConfig, ContainerLaunchInfo, ContainerLimitation, ContainerState, ContainerTermination,
};
use mesos_proto::mesos::{environment, ContainerId, Environment, Resource, ResourceStatistics};

use crate::debug::PendingTracker;
use crate::flags::IsolatorFlags;
use crate::linux_launcher::{self, LaunchIo};
use crate::namespaces::id_string;
use crate::provisioner::Provisioner;
use crate::{Error, Isolator};

/// How often (at most) [`LinuxContainerizer::wait`] polls for exit and
/// limitations.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(50);

/// What to launch.
#[derive(Clone, Debug, Default)]
pub struct LaunchRequest {
    pub container_id: ContainerId,
    /// `directory` (the sandbox), `resources`, `command_info`,
    /// `container_info` (image, volumes, LinuxInfo), `user`,
    /// `container_class`, `executor_info`/`task_info` as upstream fills them.
    pub config: ContainerConfig,
    /// The environment the agent computed (`MESOS_SANDBOX`, `MESOS_*`,
    /// executor env); isolators' variables override it and the command's own
    /// `environment` overrides both, as upstream orders them.
    pub environment: BTreeMap<String, String>,
    /// Standard streams (default `<directory>/stdout|stderr`).
    pub io: Option<LaunchIo>,
}

impl LaunchRequest {
    /// Marks the container as a command task's executor container
    /// (`ContainerConfig.task_info`, as `Slave::launchExecutor` fills it for
    /// the command executor): with an image, the executor stays in the host
    /// filesystem and gets `--rootfs=` to launch the task inside it.
    pub fn with_task_info(mut self, task: Option<mesos_proto::mesos::TaskInfo>) -> LaunchRequest {
        self.config.task_info = task;
        self
    }
}

impl LaunchRequest {
    /// A request from the pieces the agent's posix launch spec has: a shell
    /// command line (`shell`) or a program with argv, the environment, the
    /// sandbox, the user and the resources; `container_info` carries the
    /// image, volumes and `LinuxInfo` when the task/executor has one.
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        container_id: &str,
        value: &str,
        arguments: &[String],
        shell: bool,
        environment: BTreeMap<String, String>,
        directory: &std::path::Path,
        user: Option<String>,
        resources: Vec<Resource>,
        container_info: Option<mesos_proto::mesos::ContainerInfo>,
    ) -> LaunchRequest {
        LaunchRequest {
            container_id: ContainerId {
                value: container_id.to_string(),
                ..Default::default()
            },
            config: ContainerConfig {
                directory: directory.display().to_string(),
                resources,
                user,
                container_info,
                command_info: mesos_proto::mesos::CommandInfo {
                    value: Some(value.to_string()),
                    arguments: arguments.to_vec(),
                    shell: Some(shell),
                    ..Default::default()
                },
                ..Default::default()
            },
            environment,
            io: None,
        }
    }
}

/// The protobuf name of an `Image.Type` (stringified as upstream does).
fn image_type_name(t: i32) -> &'static str {
    mesos_proto::mesos::image::Type::try_from(t)
        .map(|t| t.as_str_name())
        .unwrap_or("UNKNOWN")
}

/// `<launcher_dir>/mesos-containerizer`, where the agent finds the helper
/// (upstream `--launcher_dir`).
pub fn helper_path(launcher_dir: &std::path::Path) -> PathBuf {
    launcher_dir.join("mesos-containerizer")
}

struct Container {
    id: ContainerId,
    pid: Option<i32>,
    config: ContainerConfig,
    limitation: Option<ContainerLimitation>,
    provisioned: bool,
}

/// Isolators + provisioner + Linux launcher.
pub struct LinuxContainerizer {
    flags: IsolatorFlags,
    helper: PathBuf,
    isolators: Vec<Box<dyn Isolator>>,
    provisioner: Option<Provisioner>,
    tracker: PendingTracker,
    containers: Mutex<BTreeMap<String, Container>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Merges isolator launch infos as `MesosContainerizerProcess::_launch`
/// does: lists concatenate in isolator order, namespaces are a set, at most
/// one isolator may set the command or the working directory.
pub fn merge_launch_info(
    into: &mut ContainerLaunchInfo,
    from: ContainerLaunchInfo,
    isolator: &str,
) -> Result<(), Error> {
    if let Some(env) = from.environment {
        into.environment
            .get_or_insert_with(Environment::default)
            .variables
            .extend(env.variables);
    }
    for ns in from.clone_namespaces {
        if !into.clone_namespaces.contains(&ns) {
            into.clone_namespaces.push(ns);
        }
    }
    for ns in from.enter_namespaces {
        if !into.enter_namespaces.contains(&ns) {
            into.enter_namespaces.push(ns);
        }
    }
    #[allow(deprecated)]
    into.pre_exec_commands.extend(from.pre_exec_commands);
    into.mounts.extend(from.mounts);
    into.masked_paths.extend(from.masked_paths);
    into.file_operations.extend(from.file_operations);
    into.supplementary_groups.extend(from.supplementary_groups);
    into.task_supplementary_groups
        .extend(from.task_supplementary_groups);
    if from.command.is_some() {
        if into.command.is_some() {
            return Err(Error::Invalid(format!(
                "At most one command can be returned from isolators ({isolator})"
            )));
        }
        into.command = from.command;
    }
    if from.working_directory.is_some() {
        if into.working_directory.is_some() {
            return Err(Error::Invalid(format!(
                "At most one working directory can be returned from isolators ({isolator})"
            )));
        }
        into.working_directory = from.working_directory;
    }
    if let Some(env) = from.task_environment {
        into.task_environment
            .get_or_insert_with(Environment::default)
            .variables
            .extend(env.variables);
    }
    if from.rootfs.is_some() {
        into.rootfs = from.rootfs;
    }
    if from.no_new_privileges.is_some() {
        into.no_new_privileges = from.no_new_privileges;
    }
    Ok(())
}

impl LinuxContainerizer {
    /// The isolators of `flags.isolation` (see [`crate::create_with`]), the
    /// docker provisioner when `--image_providers` has `docker`, and the
    /// launch helper binary `helper` (`mesos-containerizer`, upstream looks
    /// for it in `--launcher_dir`).
    pub fn new(flags: IsolatorFlags, helper: PathBuf) -> Result<LinuxContainerizer, Error> {
        let isolators = crate::create_with(&flags)?;
        LinuxContainerizer::with_isolators(flags, helper, isolators)
    }

    /// With explicitly constructed isolators (tests, custom sets).
    pub fn with_isolators(
        flags: IsolatorFlags,
        helper: PathBuf,
        isolators: Vec<Box<dyn Isolator>>,
    ) -> Result<LinuxContainerizer, Error> {
        let provisioner = if flags.image_providers.iter().any(|p| p == "docker") {
            Some(Provisioner::new(&flags)?)
        } else {
            None
        };
        Ok(LinuxContainerizer {
            flags,
            helper,
            isolators,
            provisioner,
            tracker: PendingTracker::new(),
            containers: Mutex::new(BTreeMap::new()),
        })
    }

    /// The tracker behind `/containerizer/debug`
    /// ([`PendingTracker::containerizer_debug_json`]).
    pub fn tracker(&self) -> &PendingTracker {
        &self.tracker
    }

    /// Containers launched (or recovered) and not yet waited for.
    pub fn containers(&self) -> Vec<ContainerId> {
        lock(&self.containers)
            .values()
            .map(|c| c.id.clone())
            .collect()
    }

    /// The pid of a container's process, once forked.
    pub fn pid(&self, id: &ContainerId) -> Option<i32> {
        lock(&self.containers)
            .get(&id_string(id))
            .and_then(|c| c.pid)
    }

    /// Names of the isolators in use.
    pub fn isolator_names(&self) -> Vec<&'static str> {
        self.isolators.iter().map(|i| i.name()).collect()
    }

    /// Passes recovered containers to every isolator.
    pub fn recover(&self, states: &[ContainerState], orphans: &[ContainerId]) -> Result<(), Error> {
        for i in &self.isolators {
            self.tracker
                .run(&format!("{}::recover", i.name()), &[], || {
                    i.recover(states, orphans)
                })?;
        }
        // Recovered containers keep their rootfs until they are waited
        // for; rootfses of containers no longer known are destroyed.
        let keys: Vec<String> = states.iter().map(|s| id_string(&s.container_id)).collect();
        let provisioned = self
            .provisioner
            .as_ref()
            .map(|p| p.recover(&keys))
            .unwrap_or_default();
        for s in states {
            let key = id_string(&s.container_id);
            lock(&self.containers).insert(
                key.clone(),
                Container {
                    id: s.container_id.clone(),
                    pid: Some(s.pid as i32),
                    config: ContainerConfig {
                        directory: s.directory.clone(),
                        ..Default::default()
                    },
                    limitation: None,
                    provisioned: provisioned.contains(&key),
                },
            );
        }
        Ok(())
    }

    /// Launches a container; returns the pid of its process (pid 1 of its
    /// pid namespace when `namespaces/pid` is on). On failure everything
    /// prepared so far is cleaned up.
    pub fn launch(&self, req: &LaunchRequest) -> Result<i32, Error> {
        let key = id_string(&req.container_id);
        {
            let mut c = lock(&self.containers);
            if c.contains_key(&key) {
                return Err(Error::AlreadyPrepared(key));
            }
            c.insert(
                key.clone(),
                Container {
                    id: req.container_id.clone(),
                    pid: None,
                    config: req.config.clone(),
                    limitation: None,
                    provisioned: false,
                },
            );
        }
        match self.launch_inner(req, &key) {
            Ok(pid) => Ok(pid),
            Err(e) => {
                // A process may have been forked before the failure: kill
                // and reap it so no zombie is left behind.
                let pid = lock(&self.containers).get(&key).and_then(|c| c.pid);
                if let Some(pid) = pid {
                    linux_launcher::kill(pid);
                    linux_launcher::wait(pid);
                }
                self.cleanup_all(&req.container_id);
                lock(&self.containers).remove(&key);
                Err(e)
            }
        }
    }

    fn launch_inner(&self, req: &LaunchRequest, key: &str) -> Result<i32, Error> {
        let id = &req.container_id;
        let id_arg = || vec![("containerId", key.to_string())];
        let mut config = req.config.clone();
        if config.directory.is_empty() {
            return Err(Error::Invalid("container config has no directory".into()));
        }

        // Provision the container image, if any (upstream: provisioner
        // before isolator prepare, rootfs and manifest into the config).
        let image = config
            .container_info
            .as_ref()
            .and_then(|ci| ci.mesos.as_ref())
            .and_then(|m| m.image.clone());
        if let Some(image) = image {
            // Upstream `ProvisionerProcess::provision` without a store
            // for the image's type (`--image_providers`).
            let p = self.provisioner.as_ref().ok_or_else(|| {
                Error::Provision(format!(
                    "Unsupported container image type: {}",
                    image_type_name(image.r#type)
                ))
            })?;
            let info = self.tracker.run("provisioner::provision", &id_arg(), || {
                p.provision(id, &image)
            })?;
            if let Some(c) = lock(&self.containers).get_mut(key) {
                c.provisioned = true;
            }
            config.rootfs = Some(info.rootfs.display().to_string());
            config.docker = info
                .docker_manifest
                .map(|m| mesos_proto::mesos::slave::container_config::Docker { manifest: Some(m) });
            config.ephemeral_volumes = info.ephemeral_volumes;
            if let Some(c) = lock(&self.containers).get_mut(key) {
                c.config = config.clone();
            }
        }

        let mut li = ContainerLaunchInfo::default();
        for i in &self.isolators {
            let out = self
                .tracker
                .run(&format!("{}::prepare", i.name()), &id_arg(), || {
                    i.prepare(id, &config)
                })
                .map_err(|e| Error::Launch(format!("{}: {e}", i.name())))?;
            if let Some(out) = out {
                merge_launch_info(&mut li, out, i.name())?;
            }
        }

        // Upstream `_launch`: a command task (`task_info` set) keeps its
        // command executor in the host filesystem even when the task has an
        // image; the executor gets the rootfs as `--rootfs=` and launches
        // only the task inside it (src/launcher/executor.cpp).
        let command_task = config.task_info.is_some();
        let debug =
            config.container_class == Some(mesos_proto::mesos::slave::ContainerClass::Debug as i32);

        // Environment: agent's < MESOS_SANDBOX < isolators' < the command's
        // own. MESOS_SANDBOX follows the image rootfs even for the command
        // executor, which itself does not use it (its task inherits it).
        let mut env = req.environment.clone();
        if !debug {
            env.insert(
                "MESOS_SANDBOX".into(),
                if config.rootfs.is_some() {
                    self.flags.sandbox_directory.clone()
                } else {
                    config.directory.clone()
                },
            );
        }
        if let Some(e) = li.environment.take() {
            for v in e.variables {
                env.insert(v.name, v.value.unwrap_or_default());
            }
        }
        let mut command = match li.command.take() {
            // Command task: the isolators' arguments (docker/runtime's
            // `--working_directory=`, `--task_command=`) follow the
            // executor's own (MESOS-7909 ordering).
            Some(c) if command_task => {
                let mut base = config.command_info.clone();
                base.arguments.extend(c.arguments);
                base
            }
            // An argument-only command extends the container's command.
            Some(c) if c.value.is_none() && !c.arguments.is_empty() => {
                let mut base = config.command_info.clone();
                base.arguments.extend(c.arguments);
                base
            }
            Some(c) => c,
            None => config.command_info.clone(),
        };
        if command_task {
            if let Some(te) = li.task_environment.take() {
                // Later values win; one entry per name.
                let vars: BTreeMap<String, String> = te
                    .variables
                    .into_iter()
                    .map(|v| (v.name, v.value.unwrap_or_default()))
                    .collect();
                if !vars.is_empty() {
                    let te = Environment {
                        variables: vars
                            .into_iter()
                            .map(|(name, value)| environment::Variable {
                                name,
                                value: Some(value),
                                ..Default::default()
                            })
                            .collect(),
                    };
                    let json = mesos_proto::json::to_json(&te)
                        .map_err(|e| Error::Invalid(format!("task environment: {e}")))?;
                    command.arguments.push(format!("--task_environment={json}"));
                }
            }
            let mut groups = std::mem::take(&mut li.task_supplementary_groups);
            groups.sort_unstable();
            groups.dedup();
            if !groups.is_empty() {
                let list: Vec<String> = groups.iter().map(u32::to_string).collect();
                command
                    .arguments
                    .push(format!("--task_supplementary_groups={}", list.join(",")));
            }
            if let Some(rootfs) = &config.rootfs {
                command.arguments.push(format!("--rootfs={rootfs}"));
            }
        }
        if let Some(e) = &config.command_info.environment {
            for v in &e.variables {
                env.insert(v.name.clone(), v.value.clone().unwrap_or_default());
            }
        }
        if let Some(e) = &command.environment {
            for v in &e.variables {
                env.insert(v.name.clone(), v.value.clone().unwrap_or_default());
            }
        }
        // `uris`, `environment` and `user` of the command are not the
        // helper's business (upstream clears them too).
        command.uris.clear();
        command.environment = None;
        command.user = None;
        li.environment = Some(Environment {
            variables: env
                .into_iter()
                .map(|(name, value)| environment::Variable {
                    name,
                    value: Some(value),
                    ..Default::default()
                })
                .collect(),
        });
        li.command = Some(command);
        // The command executor runs in the host filesystem.
        li.rootfs = if command_task {
            None
        } else {
            config.rootfs.clone()
        };
        if debug {
            if li.working_directory.is_none() {
                li.working_directory = Some(config.directory.clone());
            }
        } else if li.rootfs.is_some() {
            if li.working_directory.is_none() {
                li.working_directory = Some(self.flags.sandbox_directory.clone());
            }
        } else {
            // A container in the host filesystem may not `cd` elsewhere.
            if let Some(wd) = &li.working_directory {
                tracing::warn!(
                    "Ignoring the working directory '{wd}' of container {key}: it uses the host filesystem"
                );
            }
            li.working_directory = Some(config.directory.clone());
        }
        if li.user.is_none() {
            li.user = config.user.clone();
        }
        if command_task && config.rootfs.is_some() {
            // The executor needs root to enter the task's rootfs (even
            // with `--switch_user=false`); the task gets `--user=`.
            li.user = Some("root".into());
        }

        let io = req
            .io
            .clone()
            .unwrap_or_else(|| LaunchIo::sandbox(std::path::Path::new(&config.directory)));
        // A nested container enters namespaces of its parent's process.
        let parent_pid = match id.parent.as_deref() {
            Some(p) => Some(
                lock(&self.containers)
                    .get(&id_string(p))
                    .and_then(|c| c.pid)
                    .ok_or_else(|| Error::UnknownContainer(id_string(p)))?,
            ),
            None => None,
        };
        let forked = self.tracker.run("launcher::fork", &id_arg(), || {
            linux_launcher::fork_nested(&self.helper, &li, &io, parent_pid)
        })?;
        let pid = forked.pid;
        if let Some(c) = lock(&self.containers).get_mut(key) {
            c.pid = Some(pid);
        }
        for i in &self.isolators {
            let r = self.tracker.run(
                &format!("{}::isolate", i.name()),
                &[("containerId", key.to_string()), ("pid", pid.to_string())],
                || i.isolate(id, pid as u32),
            );
            if let Err(e) = r {
                drop(forked);
                linux_launcher::kill(pid);
                linux_launcher::wait(pid);
                // Reaped: the error path must not wait for it again.
                if let Some(c) = lock(&self.containers).get_mut(key) {
                    c.pid = None;
                }
                return Err(Error::Launch(format!("{}: {e}", i.name())));
            }
        }
        let released = forked.release();
        if released.is_err() {
            linux_launcher::kill(pid);
            linux_launcher::wait(pid);
            if let Some(c) = lock(&self.containers).get_mut(key) {
                c.pid = None;
            }
        }
        released
    }

    /// A limitation reached by the container, if any (polls every isolator).
    pub fn limitation(&self, id: &ContainerId) -> Option<ContainerLimitation> {
        let key = id_string(id);
        if let Some(l) = lock(&self.containers)
            .get(&key)
            .and_then(|c| c.limitation.clone())
        {
            return Some(l);
        }
        let found = self.isolators.iter().find_map(|i| i.watch(id));
        if let Some(l) = &found {
            if let Some(c) = lock(&self.containers).get_mut(&key) {
                c.limitation = Some(l.clone());
            }
        }
        found
    }

    /// Blocks until the container exits (destroying it as soon as an
    /// isolator reports a limitation, as `MesosContainerizerProcess::limited`
    /// does), cleans everything up and returns its termination: the wait
    /// status and, if limited, `TASK_FAILED` with the limitation's reason,
    /// message and resources.
    pub fn wait(&self, id: &ContainerId) -> Result<ContainerTermination, Error> {
        let key = id_string(id);
        let pid = lock(&self.containers)
            .get(&key)
            .ok_or_else(|| Error::UnknownContainer(key.clone()))?
            .pid;
        let mut status = None;
        if let Some(pid) = pid {
            // Short-lived containers are noticed quickly: the poll interval
            // grows from 1 ms to WATCH_INTERVAL.
            let mut interval = Duration::from_millis(1);
            loop {
                match linux_launcher::try_wait(pid) {
                    Ok(Some(s)) => {
                        status = Some(s);
                        break;
                    }
                    Ok(None) => {}
                    Err(_) => {
                        // Not our child (recovered): poll for it to go.
                        if !crate::alive(pid) {
                            break;
                        }
                    }
                }
                if self.limitation(id).is_some() {
                    self.destroy(id);
                }
                std::thread::sleep(interval);
                interval = (interval * 2).min(WATCH_INTERVAL);
            }
        }
        // An OOM kill is only visible once the process is gone.
        let limitation = self.limitation(id);
        self.cleanup_all(id);
        lock(&self.containers).remove(&key);
        let mut t = ContainerTermination {
            status,
            ..Default::default()
        };
        if let Some(l) = limitation {
            t.state = Some(mesos_proto::mesos::TaskState::TaskFailed as i32);
            t.message = l.message;
            t.reason = l.reason;
            t.limited_resources = l.resources;
        }
        Ok(t)
    }

    /// Kills every process of the container (the launcher's destroy); the
    /// pending [`LinuxContainerizer::wait`] then cleans up.
    pub fn destroy(&self, id: &ContainerId) {
        let key = id_string(id);
        let pid = lock(&self.containers).get(&key).and_then(|c| c.pid);
        if let Some(pid) = pid {
            self.tracker
                .run("launcher::destroy", &[("containerId", key)], || {
                    linux_launcher::kill(pid)
                });
        }
    }

    /// Applies new resources to a running container.
    pub fn update(&self, id: &ContainerId, resources: &[Resource]) -> Result<(), Error> {
        let key = id_string(id);
        for i in &self.isolators {
            self.tracker.run(
                &format!("{}::update", i.name()),
                &[("containerId", key.clone())],
                || i.update(id, resources),
            )?;
        }
        if let Some(c) = lock(&self.containers).get_mut(&key) {
            c.config.resources = resources.to_vec();
        }
        Ok(())
    }

    /// Status merged over isolators (`ContainerStatus`).
    pub fn status(&self, id: &ContainerId) -> Result<mesos_proto::mesos::ContainerStatus, Error> {
        use prost::Message;
        let key = id_string(id);
        let mut st = mesos_proto::mesos::ContainerStatus {
            container_id: Some(id.clone()),
            executor_pid: self.pid(id).map(|p| p as u32),
            ..Default::default()
        };
        for i in &self.isolators {
            let s = self.tracker.run(
                &format!("{}::status", i.name()),
                &[("containerId", key.clone())],
                || i.status(id),
            )?;
            st.merge(s.encode_to_vec().as_slice())
                .map_err(|e| Error::Invalid(format!("status merge: {e}")))?;
        }
        Ok(st)
    }

    /// Usage merged over isolators (cgroups cpu/mem, disk/du).
    pub fn usage(&self, id: &ContainerId) -> Result<ResourceStatistics, Error> {
        use prost::Message;
        let key = id_string(id);
        let resources = lock(&self.containers)
            .get(&key)
            .ok_or_else(|| Error::UnknownContainer(key.clone()))?
            .config
            .resources
            .clone();
        let mut st = ResourceStatistics {
            timestamp: crate::util::now_secs(),
            ..Default::default()
        };
        for i in &self.isolators {
            let u = self.tracker.run(
                &format!("{}::usage", i.name()),
                &[("containerId", key.clone())],
                || i.usage(id),
            )?;
            // Proto merge: set fields of later isolators win.
            let mut buf = Vec::new();
            u.encode(&mut buf)
                .map_err(|e| Error::Invalid(format!("usage encoding: {e}")))?;
            st.merge(buf.as_slice())
                .map_err(|e| Error::Invalid(format!("usage merge: {e}")))?;
        }
        // A required field: every merged message carries one.
        st.timestamp = crate::util::now_secs();
        // As the containerizer upstream: limits from the allocated resources.
        if st.cpus_limit.is_none() {
            st.cpus_limit = crate::util::scalar(&resources, "cpus");
        }
        if st.mem_limit_bytes.is_none() {
            st.mem_limit_bytes =
                crate::util::scalar(&resources, "mem").map(|m| (m * 1024.0 * 1024.0) as u64);
        }
        Ok(st)
    }

    fn cleanup_all(&self, id: &ContainerId) {
        let key = id_string(id);
        for i in self.isolators.iter().rev() {
            let r = self.tracker.run(
                &format!("{}::cleanup", i.name()),
                &[("containerId", key.clone())],
                || i.cleanup(id),
            );
            if let Err(e) = r {
                tracing::warn!("Failed to clean up container {key} in {}: {e}", i.name());
            }
        }
        let provisioned = lock(&self.containers)
            .get(&key)
            .map(|c| c.provisioned)
            .unwrap_or(false);
        if provisioned {
            if let Some(p) = &self.provisioner {
                if let Err(e) = p.destroy(id) {
                    tracing::warn!("Failed to destroy the rootfs of container {key}: {e}");
                }
            }
        }
    }
}
