//! Tasks and executors: launch, executor (re)registration, kill, shutdown
//! and termination (`Slave::runTask`, `run`, `__run`, `launchExecutor`,
//! `registerExecutor`, `reregisterExecutor`, `killTask`, `shutdownExecutor`,
//! `shutdownFramework`, `executorTerminated`, `removeExecutor`,
//! `removeFramework` in src/slave/slave.cpp).

use std::collections::BTreeMap;
use std::sync::Arc;

use libprocess::{Cx, Upid};
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::{
    task_status, CommandInfo, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Resource,
    TaskInfo, TaskState,
};

use super::model::{create_task, Executor, ExecutorState, Framework, FrameworkState};
use super::{ContainerLaunch, Slave, State};
use crate::checkpoint;
use crate::config::format_duration;
use crate::launcher::LaunchSpec;
use crate::paths;
use crate::resources::{DEFAULT_EXECUTOR_CPUS, DEFAULT_EXECUTOR_MEM_MB};
use crate::status_update_manager::is_terminal;

/// The command executor's binary name (`MESOS_EXECUTOR`).
pub const MESOS_EXECUTOR: &str = "mesos-executor";
/// The default executor's binary name (`MESOS_DEFAULT_EXECUTOR`).
pub const MESOS_DEFAULT_EXECUTOR: &str = "mesos-default-executor";

/// The executor name upstream generates for a command task
/// (`Slave::getExecutorInfo`).
pub fn command_executor_name(task: &TaskInfo) -> String {
    let mut name = format!("(Task: {}) ", task.task_id.value);
    let cmd = task.command.clone().unwrap_or_default();
    if cmd.shell.unwrap_or(true) {
        match &cmd.value {
            None => name.push_str("(Command: NO COMMAND)"),
            Some(v) if v.len() > 15 => {
                name.push_str(&format!("(Command: sh -c '{}...')", truncate(v, 12)))
            }
            Some(v) => name.push_str(&format!("(Command: sh -c '{v}')")),
        }
    } else {
        match &cmd.value {
            None => name.push_str("(Command: NO EXECUTABLE)"),
            Some(v) => {
                let args = format!("{v}, {}", cmd.arguments.join(", "));
                if args.len() > 15 {
                    name.push_str(&format!("(Command: [{}...])", truncate(&args, 12)));
                } else {
                    name.push_str(&format!("(Command: [{args}])"));
                }
            }
        }
    }
    format!("Command Executor {name}")
}

fn truncate(s: &str, n: usize) -> &str {
    let mut end = n.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The ExecutorInfo of a task: its own, or a generated command executor
/// running `<launcher_dir>/mesos-executor` with 0.1 cpus / 32 MB overhead.
pub fn executor_info_for(
    framework: &FrameworkInfo,
    task: &TaskInfo,
    launcher_dir: &std::path::Path,
) -> ExecutorInfo {
    if let Some(e) = &task.executor {
        return e.clone();
    }
    let cmd = task.command.clone().unwrap_or_default();
    let mut command = CommandInfo {
        uris: cmd.uris.clone(),
        environment: cmd.environment.clone(),
        user: cmd.user.clone(),
        ..Default::default()
    };
    let path = launcher_dir.join(MESOS_EXECUTOR);
    match std::fs::canonicalize(&path) {
        Ok(p) => {
            command.shell = Some(false);
            command.value = Some(p.display().to_string());
            command.arguments = vec![
                MESOS_EXECUTOR.to_string(),
                format!("--launcher_dir={}", launcher_dir.display()),
            ];
        }
        Err(e) => {
            command.shell = Some(true);
            command.value = Some(format!("echo '{}: {e}'; exit 1", path.display()));
        }
    }
    let role = task
        .resources
        .iter()
        .find_map(|r| r.allocation_info.as_ref().and_then(|a| a.role.clone()));
    let mut overhead = vec![
        mesos_allocator::Resources::scalar("cpus", DEFAULT_EXECUTOR_CPUS),
        mesos_allocator::Resources::scalar("mem", DEFAULT_EXECUTOR_MEM_MB),
    ];
    if let Some(role) = role {
        for r in &mut overhead {
            r.allocation_info = Some(mesos_proto::mesos::resource::AllocationInfo {
                role: Some(role.clone()),
            });
        }
    }
    let mut info = ExecutorInfo {
        executor_id: ExecutorId {
            value: task.task_id.value.clone(),
        },
        framework_id: framework.id.clone(),
        container: task.container.clone(),
        name: Some(command_executor_name(task)),
        source: Some(task.task_id.value.clone()),
        command: Some(command),
        labels: task.labels.clone(),
        discovery: task.discovery.clone(),
        resources: overhead,
        ..Default::default()
    };
    if let Some(grace) = task
        .kill_policy
        .as_ref()
        .and_then(|k| k.grace_period.as_ref())
    {
        // Grace period + MAX_REAP_INTERVAL (1 s) + 1 s, so the executor can
        // escalate before the agent does.
        info.shutdown_grace_period = Some(mesos_proto::mesos::DurationInfo {
            nanoseconds: grace.nanoseconds + 2_000_000_000,
        });
    }
    info
}

/// Default of `--sandbox_directory`, where an image's sandbox is mounted.
pub const DEFAULT_SANDBOX_DIRECTORY: &str = "/mnt/mesos/sandbox";

/// `Slave::getExecutorInfo` for a command task with an image (`MESOS`
/// container with `mesos.image`): the generated `mesos-executor` command also
/// gets `--sandbox_directory=<flag>` and, with `--switch_user`,
/// `--user=<task or framework user>`; the executor then launches the task in
/// the image (src/slave/slave.cpp).
pub fn add_rootfs_arguments(
    info: &mut ExecutorInfo,
    framework: &FrameworkInfo,
    task: &TaskInfo,
    sandbox_directory: &str,
    switch_user: bool,
) {
    let has_rootfs = task.container.as_ref().is_some_and(|c| {
        c.r#type == mesos_proto::mesos::container_info::Type::Mesos as i32
            && c.mesos.as_ref().is_some_and(|m| m.image.is_some())
    });
    if task.executor.is_some() || !has_rootfs {
        return;
    }
    let Some(cmd) = info.command.as_mut().filter(|c| c.shell == Some(false)) else {
        return;
    };
    cmd.arguments
        .push(format!("--sandbox_directory={sandbox_directory}"));
    if switch_user {
        let user = task
            .command
            .as_ref()
            .and_then(|c| c.user.clone())
            .unwrap_or_else(|| framework.user.clone());
        cmd.arguments.push(format!("--user={user}"));
    }
}

impl Slave {
    fn is_master(&self, from: &Upid) -> bool {
        self.master.as_ref().map(|m| m.to_string()) == Some(from.to_string())
    }

    /// `RunTaskMessage` from the master.
    pub(crate) fn handle_run_task_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::RunTaskMessage,
    ) {
        if !self.is_master(&from) {
            tracing::warn!(
                "Ignoring run task message from {from} because it is not the expected master"
            );
            return;
        }
        let pid = m
            .pid
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| Upid::parse(p).ok());
        let mut executor = executor_info_for(&m.framework, &m.task, &self.config.launcher_dir);
        let sandbox_directory = self
            .config
            .given
            .get("sandbox_directory")
            .map(String::as_str)
            .unwrap_or(DEFAULT_SANDBOX_DIRECTORY);
        add_rootfs_arguments(
            &mut executor,
            &m.framework,
            &m.task,
            sandbox_directory,
            self.config.switch_user,
        );
        self.run(cx, m.framework, executor, vec![m.task], pid, false);
    }

    /// `RunTaskGroupMessage` from the master: the task group runs under its
    /// (default) executor.
    pub(crate) fn handle_run_task_group_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::RunTaskGroupMessage,
    ) {
        if !self.is_master(&from) {
            tracing::warn!(
                "Ignoring run task group message from {from} because it is not the expected master"
            );
            return;
        }
        let mut executor = m.executor.clone();
        if executor.framework_id.is_none() {
            executor.framework_id = m.framework.id.clone();
        }
        let default_type = mesos_proto::mesos::executor_info::Type::Default as i32;
        if executor.command.is_none() && executor.r#type == Some(default_type) {
            // The default executor (slave.cpp `defaultExecutorCommandInfo`):
            // the real path of `<launcher_dir>/mesos-default-executor`, or a
            // command that fails with the reason.
            let path = self.config.launcher_dir.join(MESOS_DEFAULT_EXECUTOR);
            executor.command = Some(match std::fs::canonicalize(&path) {
                Ok(p) => CommandInfo {
                    shell: Some(false),
                    value: Some(p.display().to_string()),
                    arguments: vec![
                        MESOS_DEFAULT_EXECUTOR.to_string(),
                        format!("--launcher_dir={}", self.config.launcher_dir.display()),
                    ],
                    ..Default::default()
                },
                Err(e) => CommandInfo {
                    shell: Some(true),
                    value: Some(format!("echo '{}: {e}'; exit 1", path.display())),
                    ..Default::default()
                },
            });
        }
        self.run(cx, m.framework, executor, m.task_group.tasks, None, true);
    }

    /// `Slave::run` + `__run`: framework bookkeeping, then give the tasks to
    /// an existing executor or launch a new one.
    pub(crate) fn run(
        &mut self,
        cx: &mut Cx<'_, Self>,
        framework_info: FrameworkInfo,
        executor_info: ExecutorInfo,
        tasks: Vec<TaskInfo>,
        pid: Option<Upid>,
        group: bool,
    ) {
        let Some(fid) = framework_info.id.as_ref().map(|i| i.value.clone()) else {
            tracing::error!("Ignoring run task without a framework id");
            return;
        };
        if self.state == State::Terminating {
            tracing::warn!(
                "Ignoring running tasks of framework {fid} because the agent is terminating"
            );
            return;
        }
        let sid = self.slave_id().unwrap_or_default().to_string();
        let meta = self.meta.clone();
        // Upstream `Slave::run`: directories of this framework and executor
        // that were scheduled for gc are in use again.
        let eid = executor_info.executor_id.value.clone();
        let reused: Vec<std::path::PathBuf> = [&self.config.work_dir, &meta]
            .into_iter()
            .flat_map(|root| {
                [
                    paths::framework_path(root, &sid, &fid),
                    paths::executor_path(root, &sid, &fid, &eid),
                ]
            })
            .collect();
        self.gc_unschedule(&reused);
        let framework = self.frameworks.entry(fid.clone()).or_insert_with(|| {
            tracing::info!("Adding framework {fid}");
            Framework::new(framework_info.clone(), pid.clone())
        });
        if framework.state == FrameworkState::Terminating {
            tracing::warn!(
                "Ignoring run task of framework {fid} because the framework is terminating"
            );
            return;
        }
        // A newer FrameworkInfo / pid replaces the old.
        framework.info = framework_info;
        if pid.is_some() {
            framework.pid = pid;
        }
        if framework.checkpoint() {
            let r = checkpoint::checkpoint_message(
                &paths::framework_info_path(&meta, &sid, &fid),
                &framework.info,
            )
            .and_then(|_| {
                checkpoint::checkpoint_string(
                    &paths::framework_pid_path(&meta, &sid, &fid),
                    &framework
                        .pid
                        .as_ref()
                        .map(|p| p.to_string())
                        .unwrap_or_default(),
                )
            });
            if let Err(e) = r {
                tracing::error!("Failed to checkpoint framework {fid}: {e}");
            }
        }
        let partition_aware = framework.partition_aware();
        if self.drain_config.is_some() {
            // `Slave::__run`: a draining agent drops new tasks.
            for t in tasks {
                tracing::warn!(
                    "Ignoring running task {} of framework {fid} because the agent is draining",
                    t.task_id.value
                );
                let u = self.create_status_update(
                    cx,
                    &fid,
                    None,
                    &t.task_id.value,
                    TaskState::TaskDropped,
                    task_status::Source::Slave,
                    Some(task_status::Reason::SlaveDraining),
                    "Task was received while agent was already draining",
                );
                self.status_update(cx, u, None);
            }
            if self.frameworks.get(&fid).map(|f| f.idle()).unwrap_or(false) {
                self.remove_framework(cx, &fid);
            }
            return;
        }
        let framework = self.frameworks.get_mut(&fid).expect("added above");
        // Launch a new executor if needed.
        let exists = framework
            .executors
            .get(&eid)
            .map(|e| e.state != ExecutorState::Terminated)
            .unwrap_or(false);
        if !exists {
            if let Some(old) = framework.executors.remove(&eid) {
                framework.completed_executors.push_back(old);
            }
            // A command executor's container carries its task
            // (`ContainerConfig.task_info`).
            let task = is_command_executor(&executor_info)
                .then(|| tasks.first().cloned())
                .flatten();
            self.launch_executor(cx, &fid, executor_info, task);
        }
        let framework = self.frameworks.get_mut(&fid).expect("added above");
        let executor = framework.executors.get_mut(&eid).expect("launched above");
        // Persistent volumes the tasks use appear in the sandbox before the
        // executor can start them (posix filesystem isolator).
        for t in &tasks {
            super::resources_ops::link_volumes(
                &self.config.work_dir,
                &executor.directory,
                &t.resources,
            );
        }
        match executor.state {
            ExecutorState::Terminating | ExecutorState::Terminated => {
                let state = if partition_aware {
                    TaskState::TaskDropped
                } else {
                    TaskState::TaskLost
                };
                for t in tasks {
                    tracing::warn!(
                        "Asked to run task {} on executor {eid}, which is terminating",
                        t.task_id.value
                    );
                    let u = self.create_status_update(
                        cx,
                        &fid,
                        Some(&eid),
                        &t.task_id.value,
                        state,
                        task_status::Source::Slave,
                        Some(task_status::Reason::ExecutorTerminated),
                        "Executor terminating",
                    );
                    self.forward_update(cx, u);
                }
            }
            ExecutorState::Registering => {
                if group {
                    executor
                        .queued_task_groups
                        .push(mesos_proto::mesos::TaskGroupInfo {
                            tasks: tasks.clone(),
                        });
                }
                for t in tasks {
                    tracing::info!(
                        "Queued task {} for executor {eid} of framework {fid}",
                        t.task_id.value
                    );
                    if executor.checkpoint {
                        let task = create_task(&t, TaskState::TaskStaging, &fid, &sid);
                        let p = paths::task_info_path(
                            &meta,
                            &sid,
                            &fid,
                            &eid,
                            &executor.container_id,
                            &t.task_id.value,
                        );
                        if let Err(e) = checkpoint::checkpoint_message(&p, &task) {
                            tracing::error!("Failed to checkpoint task {}: {e}", t.task_id.value);
                        }
                    }
                    executor.queued_tasks.push(t);
                }
            }
            ExecutorState::Running => {
                let pid = executor.pid.clone();
                let fw_info = framework.info.clone();
                let fw_pid = framework.pid.clone();
                // A task group goes to an HTTP executor in one LAUNCH_GROUP
                // event (`Slave::__run`).
                let group_event = (group && executor.http.is_some()).then(|| {
                    super::executor_api::launch_group_event(&mesos_proto::mesos::TaskGroupInfo {
                        tasks: tasks.clone(),
                    })
                });
                for t in tasks {
                    let task = create_task(&t, TaskState::TaskStaging, &fid, &sid);
                    if executor.checkpoint {
                        let p = paths::task_info_path(
                            &meta,
                            &sid,
                            &fid,
                            &eid,
                            &executor.container_id,
                            &t.task_id.value,
                        );
                        if let Err(e) = checkpoint::checkpoint_message(&p, &task) {
                            tracing::error!("Failed to checkpoint task {}: {e}", t.task_id.value);
                        }
                    }
                    executor.add_launched_task(task);
                    if group_event.is_some() {
                        continue;
                    }
                    if let Some(h) = executor.http.as_mut() {
                        tracing::info!(
                            "Sending task {} to HTTP executor {eid} of framework {fid}",
                            t.task_id.value
                        );
                        h.send(&super::executor_api::launch_event(&t));
                    } else if let Some(pid) = &pid {
                        tracing::info!(
                            "Sending task {} to executor {eid} of framework {fid}",
                            t.task_id.value
                        );
                        cx.send(
                            pid,
                            &msg::RunTaskMessage {
                                framework_id: Some(FrameworkId { value: fid.clone() }),
                                framework: fw_info.clone(),
                                task: t,
                                pid: Some(
                                    fw_pid
                                        .as_ref()
                                        .map(|p| p.to_string())
                                        .unwrap_or_else(|| "@0.0.0.0:0".into()),
                                ),
                                ..Default::default()
                            },
                        );
                    }
                }
                if let (Some(ev), Some(h)) = (group_event, executor.http.as_mut()) {
                    tracing::info!("Sending task group to HTTP executor {eid} of framework {fid}");
                    h.send(&ev);
                }
            }
        }
        self.update_container(cx, &fid, &eid);
    }

    /// The container environment (`executorEnvironment` in slave.cpp plus
    /// `MESOS_SANDBOX` and the command's own variables, as the Mesos
    /// containerizer merges them).
    pub(crate) fn executor_environment(
        &self,
        cx: &Cx<'_, Self>,
        info: &ExecutorInfo,
        directory: &std::path::Path,
        checkpoint: bool,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        if let Some(ip) = &self.libprocess_ip() {
            env.insert("LIBPROCESS_IP".into(), ip.clone());
        }
        // Upstream order (slave.cpp executorEnvironment): the operator's
        // variables may override LIBPROCESS_IP but not what follows.
        for (k, v) in &self.config.executor_environment_variables {
            env.insert(k.clone(), v.clone());
        }
        env.insert("LIBPROCESS_PORT".into(), "0".into());
        let fid = info
            .framework_id
            .as_ref()
            .map(|f| f.value.clone())
            .unwrap_or_default();
        env.insert("MESOS_FRAMEWORK_ID".into(), fid);
        env.insert("MESOS_EXECUTOR_ID".into(), info.executor_id.value.clone());
        env.insert("MESOS_DIRECTORY".into(), directory.display().to_string());
        env.insert(
            "MESOS_SLAVE_ID".into(),
            self.slave_id().unwrap_or_default().to_string(),
        );
        env.insert("MESOS_SLAVE_PID".into(), cx.me().to_string());
        env.insert("MESOS_AGENT_ENDPOINT".into(), cx.me().addr().to_string());
        env.insert(
            "MESOS_CHECKPOINT".into(),
            if checkpoint { "1" } else { "0" }.into(),
        );
        env.insert(
            "MESOS_HTTP_COMMAND_EXECUTOR".into(),
            if self.config.http_command_executor {
                "1"
            } else {
                "0"
            }
            .into(),
        );
        let grace = info
            .shutdown_grace_period
            .as_ref()
            .map(|d| std::time::Duration::from_nanos(d.nanoseconds.max(0) as u64))
            .unwrap_or(self.config.executor_shutdown_grace_period);
        env.insert(
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD".into(),
            format_duration(grace),
        );
        if checkpoint {
            env.insert(
                "MESOS_RECOVERY_TIMEOUT".into(),
                format_duration(self.config.recovery_timeout),
            );
            env.insert(
                "MESOS_SUBSCRIPTION_BACKOFF_MAX".into(),
                format_duration(self.config.executor_reregistration_timeout),
            );
        }
        env.insert("MESOS_SANDBOX".into(), directory.display().to_string());
        if let Some(vars) = info.command.as_ref().and_then(|c| c.environment.as_ref()) {
            for v in &vars.variables {
                if let Some(value) = &v.value {
                    env.insert(v.name.clone(), value.clone());
                }
            }
        }
        env
    }

    pub(crate) fn libprocess_ip(&self) -> Option<String> {
        self.config
            .ip
            .clone()
            .or_else(|| std::env::var("LIBPROCESS_IP").ok())
    }

    /// `Slave::launchExecutor`: sandbox, checkpoints, then fork (blocking).
    fn launch_executor(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        info: ExecutorInfo,
        task_info: Option<TaskInfo>,
    ) {
        let sid = self.slave_id().unwrap_or_default().to_string();
        let framework = self.frameworks.get(fid).expect("caller added it");
        let checkpoint = framework.checkpoint();
        let user = info
            .command
            .as_ref()
            .and_then(|c| c.user.clone())
            .unwrap_or_else(|| framework.info.user.clone());
        let container_id = super::uuid_string(cx);
        let eid = info.executor_id.value.clone();
        let key = paths::RunKey {
            slave_id: sid.clone(),
            framework_id: fid.to_string(),
            executor_id: eid.clone(),
            container_id: container_id.clone(),
        };
        let directory = key.sandbox(&self.config.work_dir);
        let command_executor = is_command_executor(&info);
        tracing::info!("Launching executor '{eid}' of framework {fid} in container {container_id} with sandbox {}", directory.display());
        if let Err(e) = std::fs::create_dir_all(&directory) {
            tracing::error!("Failed to create sandbox {}: {e}", directory.display());
        }
        super::resources_ops::link_volumes(&self.config.work_dir, &directory, &info.resources);
        let _ = checkpoint::symlink_latest(
            &directory,
            &paths::executor_latest_run_path(&self.config.work_dir, &sid, fid, &eid),
        );
        self.attach_sandbox(fid, &eid, &directory);
        if checkpoint {
            let r = checkpoint::checkpoint_message(
                &paths::executor_info_path(&self.meta, &sid, fid, &eid),
                &info,
            )
            .and_then(|_| {
                std::fs::create_dir_all(key.meta_run(&self.meta))
                    .map_err(|e| crate::Error::Io(e.to_string()))
            })
            .and_then(|_| {
                checkpoint::symlink_latest(
                    &key.meta_run(&self.meta),
                    &paths::executor_latest_run_path(&self.meta, &sid, fid, &eid),
                )
            });
            if let Err(e) = r {
                tracing::error!("Failed to checkpoint executor {eid}: {e}");
            }
        }
        let env = self.executor_environment(cx, &info, &directory, checkpoint);
        let cmd = info.command.clone().unwrap_or_default();
        let is_root = nix::unistd::geteuid().is_root();
        // The fetcher runs as the task's user, root included (upstream's
        // container config user; it also names the user's cache directory).
        let fetch_user =
            (self.config.switch_user && is_root && !user.is_empty()).then(|| user.clone());
        let spec = LaunchSpec {
            value: cmd.value.clone().unwrap_or_default(),
            arguments: cmd.arguments.clone(),
            shell: cmd.shell.unwrap_or(true),
            environment: env,
            directory: directory.clone(),
            user: (self.config.switch_user && is_root && !user.is_empty() && user != "root")
                .then_some(user),
        };
        let mut executor = Executor::new(
            fid,
            info,
            container_id.clone(),
            directory,
            checkpoint,
            command_executor,
        );
        let launch = ContainerLaunch {
            container_id: container_id.clone(),
            spec,
            resources: executor.allocated_resources(),
            forked_pid_path: checkpoint.then(|| key.forked_pid(&self.meta)),
            container_info: executor.info.container.clone(),
            task_info,
        };
        // Executor registration timeout (`registerExecutorTimeout`).
        let (f2, e2, c2) = (fid.to_string(), eid.clone(), container_id.clone());
        executor.registration_timer = Some(cx.delay(
            self.config.executor_registration_timeout,
            move |s: &mut Slave, cx| s.register_executor_timeout(cx, &f2, &e2, &c2),
        ));
        self.frameworks
            .get_mut(fid)
            .expect("present")
            .executors
            .insert(eid.clone(), executor);
        // The URIs are fetched into the sandbox before the executor runs
        // (upstream fetches between isolating and exec'ing; see
        // third_party_docs/files.md).
        let fetch = crate::fetcher::FetchRequest {
            container_id: container_id.clone(),
            uris: self.frameworks[fid].executors[&eid]
                .info
                .command
                .as_ref()
                .map(|c| c.uris.clone())
                .unwrap_or_default(),
            sandbox: launch.spec.directory.clone(),
            user: fetch_user,
        };
        let containerizer = Arc::clone(&self.containerizer);
        let fetcher = Arc::clone(&self.fetcher);
        let (f2, e2, c2) = (fid.to_string(), eid, container_id);
        cx.blocking(
            move || {
                fetcher.fetch(&fetch).map_err(crate::Error::Fetch)?;
                containerizer.launch(&launch)
            },
            move |s: &mut Slave, cx, r| s.executor_launched(cx, &f2, &e2, &c2, r),
        );
    }

    /// The container forked (or failed to): watch it until it exits.
    fn executor_launched(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        eid: &str,
        cid: &str,
        result: Result<i32, crate::Error>,
    ) {
        match result {
            Ok(pid) => {
                tracing::info!(
                    "Launched container {cid} for executor '{eid}' of framework {fid} (pid {pid})"
                );
                if let Some(e) = self.executor_mut(fid, eid, cid) {
                    e.forked_pid = Some(pid);
                }
                // Tasks queued while the container was forked count too.
                self.update_container(cx, fid, eid);
                self.watch_container(cx, fid, eid, cid, pid);
            }
            Err(e) => {
                tracing::error!(
                    "Container {cid} for executor '{eid}' of framework {fid} failed to start: {e}"
                );
                self.executor_terminated(
                    cx,
                    fid,
                    eid,
                    cid,
                    None,
                    Some((
                        task_status::Reason::ContainerLaunchFailed,
                        // Upstream's text is the containerizer's failure
                        // as is (`Slave::executorLaunched`).
                        match &e {
                            crate::Error::Launch(m) => format!("Failed to launch container: {m}"),
                            other => format!("Failed to launch container: {other}"),
                        },
                    )),
                );
            }
        }
    }

    /// Resizes the executor's container to its allocation (executor + its
    /// queued and launched tasks), on a blocking thread (`Slave::__run`
    /// updates the containerizer before handing tasks over).
    pub(crate) fn update_container(&mut self, cx: &mut Cx<'_, Self>, fid: &str, eid: &str) {
        let Some(e) = self.frameworks.get(fid).and_then(|f| f.executors.get(eid)) else {
            return;
        };
        if e.forked_pid.is_none() {
            return;
        }
        let (cid, resources) = (e.container_id.clone(), e.allocated_resources());
        let containerizer = Arc::clone(&self.containerizer);
        cx.blocking(
            move || containerizer.update(&cid, &resources),
            |_: &mut Slave, _, _| {},
        );
    }

    /// Waits (on a blocking thread) for the container's process to exit.
    pub(crate) fn watch_container(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        eid: &str,
        cid: &str,
        pid: i32,
    ) {
        if !self.containerizer.supports_wait() {
            return;
        }
        let containerizer = Arc::clone(&self.containerizer);
        let (f2, e2, c2) = (fid.to_string(), eid.to_string(), cid.to_string());
        let c3 = cid.to_string();
        cx.blocking(
            move || containerizer.wait_termination(&c3, pid),
            move |s: &mut Slave, cx, t: super::Termination| {
                s.executor_terminated(cx, &f2, &e2, &c2, t.status, t.failure)
            },
        );
    }

    /// A container's process exited (for containerizers that do not
    /// support `wait`, and tests): the executor's termination path.
    pub fn container_terminated(
        &mut self,
        cx: &mut Cx<'_, Self>,
        container_id: &str,
        status: Option<i32>,
    ) {
        let found = self.frameworks.values().find_map(|f| {
            f.executors
                .values()
                .find(|e| e.container_id == container_id)
                .map(|e| (f.id.clone(), e.id.clone()))
        });
        if let Some((fid, eid)) = found {
            self.executor_terminated(cx, &fid, &eid, container_id, status, None);
        }
    }

    pub(crate) fn executor_mut(
        &mut self,
        fid: &str,
        eid: &str,
        cid: &str,
    ) -> Option<&mut Executor> {
        self.frameworks
            .get_mut(fid)?
            .executors
            .get_mut(eid)
            .filter(|e| e.container_id == cid)
    }

    fn register_executor_timeout(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        eid: &str,
        cid: &str,
    ) {
        let timeout = self.config.executor_registration_timeout;
        let Some(e) = self.executor_mut(fid, eid, cid) else {
            return;
        };
        e.registration_timer = None;
        if e.state != ExecutorState::Registering {
            return;
        }
        tracing::info!("Terminating executor '{eid}' of framework {fid} because it did not register within {timeout:?}");
        e.state = ExecutorState::Terminating;
        e.pending_termination = Some((
            task_status::Reason::ExecutorRegistrationTimeout,
            format!(
                "Executor did not register within {}",
                format_duration(timeout)
            ),
        ));
        self.destroy_container(cx, fid, eid, cid);
    }

    fn destroy_container(&mut self, cx: &mut Cx<'_, Self>, fid: &str, eid: &str, cid: &str) {
        let Some(pid) = self.executor_mut(fid, eid, cid).and_then(|e| e.forked_pid) else {
            return;
        };
        let containerizer = Arc::clone(&self.containerizer);
        let c2 = cid.to_string();
        cx.blocking(
            move || containerizer.destroy(&c2, pid),
            |_: &mut Slave, _, _| {},
        );
    }

    /// `RegisterExecutorMessage` from a starting executor driver.
    pub(crate) fn register_executor(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::RegisterExecutorMessage,
    ) {
        let fid = m.framework_id.value.clone();
        let eid = m.executor_id.value.clone();
        tracing::info!("Got registration for executor '{eid}' of framework {fid} from {from}");
        let shutdown = |cx: &mut Cx<'_, Self>, why: &str| {
            tracing::warn!("Shutting down executor '{eid}' of framework {fid}: {why}");
            cx.send(&from, &msg::ShutdownExecutorMessage::default());
        };
        match self.state {
            State::Recovering => return shutdown(cx, "the agent is still recovering"),
            State::Terminating => return shutdown(cx, "the agent is terminating"),
            _ => {}
        }
        let sid = self.slave_id_proto();
        let slave_info = self.info.clone();
        let meta = self.meta.clone();
        let Some(framework) = self.frameworks.get_mut(&fid) else {
            return shutdown(cx, "the framework does not exist");
        };
        if framework.state == FrameworkState::Terminating {
            return shutdown(cx, "the framework is terminating");
        }
        let fw_info = framework.info.clone();
        let fw_pid = framework.pid.clone();
        let Some(executor) = framework.executors.get_mut(&eid) else {
            return shutdown(cx, "unexpected executor");
        };
        if executor.state != ExecutorState::Registering {
            return shutdown(
                cx,
                &format!("it is in unexpected state {}", executor.state.as_str()),
            );
        }
        executor.state = ExecutorState::Running;
        executor.pid = Some(from.clone());
        if let Some(t) = executor.registration_timer.take() {
            cx.cancel(t);
        }
        cx.link(&from);
        if executor.checkpoint {
            let p =
                paths::libprocess_pid_path(&meta, &sid.value, &fid, &eid, &executor.container_id);
            if let Err(e) = checkpoint::checkpoint_string(&p, &from.to_string()) {
                tracing::error!("Failed to checkpoint executor pid: {e}");
            }
        }
        if !executor.ever_sent_task() && executor.queued_tasks.is_empty() {
            tracing::warn!(
                "Shutting down registering executor '{eid}' because it has no tasks to run"
            );
            self.shutdown_executor_now(cx, &fid, &eid);
            return;
        }
        cx.send(
            &from,
            &msg::ExecutorRegisteredMessage {
                executor_info: executor.info.clone(),
                framework_id: FrameworkId { value: fid.clone() },
                framework_info: fw_info.clone(),
                slave_id: sid.clone(),
                slave_info,
            },
        );
        // Send the queued tasks (`___run`).
        let queued: Vec<TaskInfo> = std::mem::take(&mut executor.queued_tasks);
        for t in queued {
            tracing::info!(
                "Sending queued task '{}' to executor '{eid}' of framework {fid}",
                t.task_id.value
            );
            executor.add_launched_task(create_task(&t, TaskState::TaskStaging, &fid, &sid.value));
            cx.send(
                &from,
                &msg::RunTaskMessage {
                    framework_id: Some(FrameworkId { value: fid.clone() }),
                    framework: fw_info.clone(),
                    task: t,
                    pid: Some(
                        fw_pid
                            .as_ref()
                            .map(|p| p.to_string())
                            .unwrap_or_else(|| "@0.0.0.0:0".into()),
                    ),
                    ..Default::default()
                },
            );
        }
    }

    /// `ReregisterExecutorMessage` from an executor answering
    /// `ReconnectExecutorMessage` after an agent restart.
    pub(crate) fn reregister_executor(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::ReregisterExecutorMessage,
    ) {
        let fid = m.framework_id.value.clone();
        let eid = m.executor_id.value.clone();
        tracing::info!("Received re-registration message from executor '{eid}' of framework {fid}");
        if self.state != State::Recovering {
            tracing::warn!("Shutting down executor '{eid}' of framework {fid} because the agent is not in recovery mode");
            cx.send(&from, &msg::ShutdownExecutorMessage::default());
            return;
        }
        let sid = self.slave_id_proto();
        let slave_info = self.info.clone();
        let Some(executor) = self
            .frameworks
            .get_mut(&fid)
            .and_then(|f| f.executors.get_mut(&eid))
        else {
            tracing::warn!("Shutting down unknown executor '{eid}' of framework {fid}");
            cx.send(&from, &msg::ShutdownExecutorMessage::default());
            return;
        };
        if executor.state != ExecutorState::Registering {
            tracing::warn!("Shutting down executor '{eid}' of framework {fid} because it is in unexpected state {}", executor.state.as_str());
            cx.send(&from, &msg::ShutdownExecutorMessage::default());
            return;
        }
        executor.state = ExecutorState::Running;
        executor.pid = Some(from.clone());
        cx.link(&from);
        cx.send(
            &from,
            &msg::ExecutorReregisteredMessage {
                slave_id: sid.clone(),
                slave_info,
            },
        );
        // Tasks the executor has that the agent only had queued become
        // launched.
        for t in &m.tasks {
            if let Some(q) = executor.dequeue_task(&t.task_id.value) {
                executor.add_launched_task(create_task(
                    &q,
                    TaskState::TaskStaging,
                    &fid,
                    &sid.value,
                ));
            }
        }
        // Updates the executor holds unacknowledged: those the agent never
        // received go through the normal path (duplicates are ignored by
        // the status update manager, so each reaches the master once).
        for u in m.updates {
            if !self.sum.knows(&u) {
                self.status_update(cx, u, None);
            }
        }
        self.executor_reconnected(cx);
    }

    /// `KillTaskMessage` from the master.
    pub(crate) fn kill_task(&mut self, cx: &mut Cx<'_, Self>, from: Upid, m: msg::KillTaskMessage) {
        if !self.is_master(&from) {
            tracing::warn!(
                "Ignoring kill task message from {from} because it is not the expected master"
            );
            return;
        }
        let fid = m.framework_id.value.clone();
        let tid = m.task_id.value.clone();
        tracing::info!("Asked to kill task {tid} of framework {fid}");
        let Some(framework) = self.frameworks.get_mut(&fid) else {
            tracing::warn!(
                "Ignoring kill task {tid} of framework {fid} because no such framework is running"
            );
            return;
        };
        if framework.state == FrameworkState::Terminating {
            tracing::warn!(
                "Ignoring kill task {tid} of framework {fid} because the framework is terminating"
            );
            return;
        }
        let partition_aware = framework.partition_aware();
        if framework.is_pending(&tid) {
            let u = self.create_status_update(
                cx,
                &fid,
                None,
                &tid,
                TaskState::TaskKilled,
                task_status::Source::Slave,
                Some(task_status::Reason::TaskKilledDuringLaunch),
                "Killed before delivery to the executor",
            );
            self.status_update(cx, u, None);
            return;
        }
        let Some(eid) = framework.executor_id_for_task(&tid) else {
            let state = if partition_aware {
                TaskState::TaskDropped
            } else {
                TaskState::TaskLost
            };
            let u = self.create_status_update(
                cx,
                &fid,
                None,
                &tid,
                state,
                task_status::Source::Slave,
                Some(task_status::Reason::ExecutorTerminated),
                "Cannot find executor",
            );
            self.forward_update(cx, u);
            return;
        };
        self.kill(cx, &fid, &eid, &tid, m.kill_policy);
    }

    /// `Slave::kill`: kill one task of an executor. A task still queued
    /// (executor not registered, or registered but not yet given the task)
    /// gets TASK_KILLED from the agent; a launched one is killed by its
    /// executor (`KillTaskMessage`, with an optional kill policy override).
    pub(crate) fn kill(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        eid: &str,
        tid: &str,
        kill_policy: Option<mesos_proto::mesos::KillPolicy>,
    ) {
        let Some(executor) = self
            .frameworks
            .get_mut(fid)
            .and_then(|f| f.executors.get_mut(eid))
        else {
            return;
        };
        match executor.state {
            ExecutorState::Registering | ExecutorState::Running if executor.is_queued(tid) => {
                // A queued task group is killed whole (`Slave::killTask`).
                let targets: Vec<String> = executor
                    .queued_task_groups
                    .iter()
                    .find(|g| g.tasks.iter().any(|t| t.task_id.value == tid))
                    .map(|g| {
                        g.tasks
                            .iter()
                            .map(|t| t.task_id.value.clone())
                            .filter(|id| executor.is_queued(id))
                            .collect()
                    })
                    .unwrap_or_else(|| vec![tid.to_string()]);
                for target in targets {
                    let u = self.create_status_update(
                        cx,
                        fid,
                        Some(eid),
                        &target,
                        TaskState::TaskKilled,
                        task_status::Source::Slave,
                        Some(task_status::Reason::TaskKilledDuringLaunch),
                        "Killed before delivery to the executor",
                    );
                    self.status_update(cx, u, None);
                }
                let idle = self
                    .frameworks
                    .get(fid)
                    .and_then(|f| f.executors.get(eid))
                    .map(|e| !e.ever_sent_task() && e.queued_tasks.is_empty())
                    .unwrap_or(false);
                if idle {
                    self.shutdown_executor_now(cx, fid, eid);
                }
            }
            ExecutorState::Registering => {
                tracing::warn!("Cannot kill task {tid}: its executor is (re-)registering");
            }
            ExecutorState::Terminating | ExecutorState::Terminated => {
                tracing::warn!(
                    "Ignoring kill task {tid} because the executor '{eid}' is terminating/terminated"
                );
            }
            ExecutorState::Running => {
                if let Some(h) = executor.http.as_mut() {
                    h.send(&super::executor_api::kill_event(tid, kill_policy.as_ref()));
                } else if let Some(pid) = executor.pid.clone() {
                    cx.send(
                        &pid,
                        &msg::KillTaskMessage {
                            framework_id: FrameworkId {
                                value: fid.to_string(),
                            },
                            task_id: mesos_proto::mesos::TaskId {
                                value: tid.to_string(),
                            },
                            kill_policy,
                        },
                    );
                }
            }
        }
    }

    /// `ShutdownExecutorMessage` from the master.
    pub(crate) fn shutdown_executor_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::ShutdownExecutorMessage,
    ) {
        if !self.is_master(&from) {
            tracing::warn!("Ignoring shutdown executor message from {from} because it is not from the registered master");
            return;
        }
        if self.state != State::Running && self.state != State::Terminating {
            return;
        }
        let (Some(fid), Some(eid)) = (m.framework_id, m.executor_id) else {
            return;
        };
        let ok = self
            .frameworks
            .get(&fid.value)
            .filter(|f| f.state == FrameworkState::Running)
            .and_then(|f| f.executors.get(&eid.value))
            .map(|e| matches!(e.state, ExecutorState::Registering | ExecutorState::Running))
            .unwrap_or(false);
        if ok {
            self.shutdown_executor_now(cx, &fid.value, &eid.value);
        }
    }

    /// `_shutdownExecutor`: ask the executor to shut down, destroy its
    /// container after the grace period.
    pub(crate) fn shutdown_executor_now(&mut self, cx: &mut Cx<'_, Self>, fid: &str, eid: &str) {
        let default_grace = self.config.executor_shutdown_grace_period;
        let Some(e) = self
            .frameworks
            .get_mut(fid)
            .and_then(|f| f.executors.get_mut(eid))
        else {
            return;
        };
        if !matches!(e.state, ExecutorState::Registering | ExecutorState::Running) {
            return;
        }
        tracing::info!("Shutting down executor '{eid}' of framework {fid}");
        e.state = ExecutorState::Terminating;
        if let Some(h) = e.http.as_mut() {
            h.send(&super::executor_api::shutdown_event());
        } else if let Some(pid) = &e.pid {
            cx.send(
                pid,
                &msg::ShutdownExecutorMessage {
                    executor_id: Some(ExecutorId {
                        value: eid.to_string(),
                    }),
                    framework_id: Some(FrameworkId {
                        value: fid.to_string(),
                    }),
                },
            );
        }
        let grace = e
            .info
            .shutdown_grace_period
            .as_ref()
            .map(|d| std::time::Duration::from_nanos(d.nanoseconds.max(0) as u64))
            .unwrap_or(default_grace);
        let (f2, e2, c2) = (fid.to_string(), eid.to_string(), e.container_id.clone());
        e.shutdown_timer = Some(cx.delay(grace, move |s: &mut Slave, cx| {
            let terminating = s
                .executor_mut(&f2, &e2, &c2)
                .map(|e| e.state == ExecutorState::Terminating)
                .unwrap_or(false);
            if terminating {
                tracing::info!(
                    "Killing executor '{e2}' of framework {f2}: shutdown grace period elapsed"
                );
                s.destroy_container(cx, &f2, &e2, &c2);
            }
        }));
    }

    /// `ShutdownFrameworkMessage` from the master.
    pub(crate) fn shutdown_framework(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::ShutdownFrameworkMessage,
    ) {
        if !self.is_master(&from) {
            tracing::warn!("Ignoring shutdown framework message from {from} because it is not from the registered master");
            return;
        }
        self.shutdown_framework_by_id(cx, &m.framework_id.value);
    }

    pub(crate) fn shutdown_framework_by_id(&mut self, cx: &mut Cx<'_, Self>, fid: &str) {
        let Some(f) = self.frameworks.get_mut(fid) else {
            return;
        };
        if f.state == FrameworkState::Terminating {
            return;
        }
        tracing::info!("Shutting down framework {fid}");
        f.state = FrameworkState::Terminating;
        f.pending_tasks.clear();
        let eids: Vec<String> = f.executors.keys().cloned().collect();
        for eid in eids {
            let state = self.frameworks[fid].executors[&eid].state;
            match state {
                ExecutorState::Registering | ExecutorState::Running => {
                    self.shutdown_executor_now(cx, fid, &eid)
                }
                ExecutorState::Terminated => self.remove_executor(cx, fid, &eid),
                ExecutorState::Terminating => {}
            }
        }
        if self.frameworks.get(fid).map(|f| f.idle()).unwrap_or(false) {
            self.remove_framework(cx, fid);
        }
    }

    /// `FrameworkToExecutorMessage`: scheduler data for an executor.
    pub(crate) fn scheduler_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: msg::FrameworkToExecutorMessage,
    ) {
        let executor = self
            .frameworks
            .get_mut(&m.framework_id.value)
            .and_then(|f| f.executors.get_mut(&m.executor_id.value))
            .filter(|e| e.state == ExecutorState::Running);
        if let Some(h) = executor.and_then(|e| e.http.as_mut()) {
            h.send(&super::executor_api::message_event(m.data.clone()));
            self.metrics.valid_framework_messages += 1;
            return;
        }
        let pid = self
            .frameworks
            .get(&m.framework_id.value)
            .and_then(|f| f.executors.get(&m.executor_id.value))
            .filter(|e| e.state == ExecutorState::Running)
            .and_then(|e| e.pid.clone());
        match pid {
            Some(pid) => {
                self.metrics.valid_framework_messages += 1;
                cx.send(&pid, &m);
            }
            None => tracing::warn!(
                "Dropping framework message for executor '{}' of framework {}: not running",
                m.executor_id.value,
                m.framework_id.value
            ),
        }
    }

    /// `ExecutorToFrameworkMessage`: relayed through the master.
    pub(crate) fn executor_message(
        &mut self,
        cx: &mut Cx<'_, Self>,
        _from: Upid,
        m: msg::ExecutorToFrameworkMessage,
    ) {
        if self.state != State::Running {
            tracing::warn!("Dropping executor message because the agent is not running");
            return;
        }
        if let Some(master) = self.master.clone() {
            cx.send(&master, &m);
        }
    }

    /// `UpdateFrameworkMessage`: a framework's pid (and info) changed.
    pub(crate) fn update_framework(
        &mut self,
        _cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::UpdateFrameworkMessage,
    ) {
        if !self.is_master(&from) {
            return;
        }
        let sid = self.slave_id().unwrap_or_default().to_string();
        let meta = self.meta.clone();
        let Some(f) = self.frameworks.get_mut(&m.framework_id.value) else {
            return;
        };
        if let Some(info) = m.framework_info {
            f.info = info;
        }
        f.pid = m
            .pid
            .as_deref()
            .filter(|p| !p.is_empty())
            .and_then(|p| Upid::parse(p).ok());
        if f.checkpoint() {
            let _ = checkpoint::checkpoint_message(
                &paths::framework_info_path(&meta, &sid, &f.id),
                &f.info,
            );
            let _ = checkpoint::checkpoint_string(
                &paths::framework_pid_path(&meta, &sid, &f.id),
                &f.pid.as_ref().map(|p| p.to_string()).unwrap_or_default(),
            );
        }
    }

    /// The executor's container exited (`Slave::executorTerminated`).
    pub(crate) fn executor_terminated(
        &mut self,
        cx: &mut Cx<'_, Self>,
        fid: &str,
        eid: &str,
        cid: &str,
        status: Option<i32>,
        failure: Option<(task_status::Reason, String)>,
    ) {
        // A container that a real agent launched before an in-place
        // upgrade is not our child: its exit status is the one its
        // `mesos-containerizer launch` checkpointed in the runtime dir.
        let status = status.or_else(|| self.take_runtime_container_status(cid));
        let agent_terminating = self.state == State::Terminating;
        let Some(framework) = self.frameworks.get_mut(fid) else {
            return;
        };
        let framework_terminating = framework.state == FrameworkState::Terminating;
        let Some(executor) = framework
            .executors
            .get_mut(eid)
            .filter(|e| e.container_id == cid)
        else {
            return;
        };
        if executor.state == ExecutorState::Terminated {
            return;
        }
        tracing::info!(
            "Executor '{eid}' of framework {fid} {}",
            describe_status(status)
        );
        self.metrics.executors_terminated += 1;
        executor.state = ExecutorState::Terminated;
        // Nested containers die with their root (the executor's).
        self.nested.destroy_root(cid);
        // Dropping the stream ends the HTTP executor's SUBSCRIBE response.
        executor.http = None;
        for t in [
            executor.registration_timer.take(),
            executor.shutdown_timer.take(),
        ]
        .into_iter()
        .flatten()
        {
            cx.cancel(t);
        }
        let command_executor = executor.command_executor;
        if !framework_terminating {
            let mut targets: Vec<String> = executor
                .launched_tasks
                .values()
                .filter(|t| !is_terminal(t.state()))
                .map(|t| t.task_id.value.clone())
                .collect();
            targets.extend(
                executor
                    .queued_tasks
                    .iter()
                    .map(|t| t.task_id.value.clone()),
            );
            let (reason, message) = failure
                .clone()
                .or_else(|| executor.pending_termination.clone())
                .unwrap_or((
                    task_status::Reason::ExecutorTerminated,
                    "Executor terminated".to_string(),
                ));
            for tid in targets {
                let u = self.create_status_update(
                    cx,
                    fid,
                    Some(eid),
                    &tid,
                    TaskState::TaskFailed,
                    task_status::Source::Slave,
                    Some(reason),
                    &message,
                );
                self.status_update(cx, u, None);
            }
        } else {
            let e = self
                .frameworks
                .get_mut(fid)
                .and_then(|f| f.executors.get_mut(eid))
                .expect("present");
            let launched = std::mem::take(&mut e.launched_tasks);
            e.terminated_tasks.extend(launched);
        }
        if !command_executor && self.state == State::Running {
            if let Some(master) = self.master.clone() {
                cx.send(
                    &master,
                    &msg::ExitedExecutorMessage {
                        slave_id: self.slave_id_proto(),
                        framework_id: FrameworkId {
                            value: fid.to_string(),
                        },
                        executor_id: ExecutorId {
                            value: eid.to_string(),
                        },
                        status: status.unwrap_or(-1),
                    },
                );
            }
        }
        let incomplete = self
            .frameworks
            .get(fid)
            .and_then(|f| f.executors.get(eid))
            .map(|e| e.incomplete_tasks())
            .unwrap_or(false);
        if agent_terminating || framework_terminating || !incomplete {
            self.remove_executor(cx, fid, eid);
        }
        if self.frameworks.get(fid).map(|f| f.idle()).unwrap_or(false) {
            self.remove_framework(cx, fid);
        }
    }

    /// `Slave::removeExecutor`: mark the run completed and archive it.
    pub(crate) fn remove_executor(&mut self, cx: &mut Cx<'_, Self>, fid: &str, eid: &str) {
        let sid = self.slave_id().unwrap_or_default().to_string();
        let Some(f) = self.frameworks.get_mut(fid) else {
            return;
        };
        let Some(e) = f.executors.remove(eid) else {
            return;
        };
        tracing::info!("Cleaning up executor '{eid}' of framework {fid}");
        if e.checkpoint {
            let p = paths::executor_sentinel_path(&self.meta, &sid, fid, eid, &e.container_id);
            if let Some(dir) = p.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(err) = std::fs::write(&p, b"") {
                tracing::error!("Failed to touch {}: {err}", p.display());
            }
        }
        // Sandbox and checkpointed run are garbage collected after
        // `--gc_delay` (`Slave::garbageCollect`), sooner when the disk
        // fills (see `gc`).
        let mut gc = vec![paths::executor_run_path(
            &self.config.work_dir,
            &sid,
            fid,
            eid,
            &e.container_id,
        )];
        if e.checkpoint {
            gc.push(paths::executor_run_path(
                &self.meta,
                &sid,
                fid,
                eid,
                &e.container_id,
            ));
        }
        let directory = e.directory.clone();
        f.completed_executors.push_back(e);
        self.garbage_collect(cx, gc);
        self.detach_sandbox_later(cx, fid, eid, directory);
        let Some(f) = self.frameworks.get_mut(fid) else {
            return;
        };
        while f.completed_executors.len() > super::MAX_COMPLETED_EXECUTORS_PER_FRAMEWORK {
            f.completed_executors.pop_front();
        }
    }

    /// `Slave::removeFramework`: archive an idle framework.
    pub(crate) fn remove_framework(&mut self, cx: &mut Cx<'_, Self>, fid: &str) {
        let Some(f) = self.frameworks.remove(fid) else {
            return;
        };
        tracing::info!("Cleaning up framework {fid}");
        self.sum.cleanup(fid);
        let sid = self.slave_id().unwrap_or_default().to_string();
        let mut gc = vec![paths::framework_path(&self.config.work_dir, &sid, fid)];
        if f.checkpoint() {
            gc.push(paths::framework_path(&self.meta, &sid, fid));
        }
        self.garbage_collect(cx, gc);
        self.completed_frameworks.push_back(f);
        while self.completed_frameworks.len() > super::MAX_COMPLETED_FRAMEWORKS {
            self.completed_frameworks.pop_front();
        }
        self.update_drain_status();
        if self.state == State::Terminating && self.frameworks.is_empty() {
            cx.terminate();
        }
    }

    /// Resources used by running executors and tasks.
    pub fn used_resources(&self) -> Vec<Resource> {
        self.frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .flat_map(|e| e.allocated_resources())
            .collect()
    }
}

/// Whether an ExecutorInfo is one the agent generated for a command task
/// (`isGeneratedForCommandTask`): it runs `mesos-executor`, or it is the
/// failing stand-in generated when that binary is missing.
pub fn is_command_executor(info: &ExecutorInfo) -> bool {
    let runs_mesos_executor = info
        .command
        .as_ref()
        .and_then(|c| c.value.as_deref())
        .map(|v| {
            std::path::Path::new(v)
                .file_name()
                .map(|n| n == MESOS_EXECUTOR)
                .unwrap_or(false)
        })
        .unwrap_or(false);
    runs_mesos_executor
        || info
            .name
            .as_deref()
            .map(|n| n.starts_with("Command Executor"))
            .unwrap_or(false)
}

/// `WSTRINGIFY`-like text for a wait status.
pub fn describe_status(status: Option<i32>) -> String {
    match status {
        None => "terminated (exit status unknown)".to_string(),
        Some(s) if libc::WIFEXITED(s) => format!("exited with status {}", libc::WEXITSTATUS(s)),
        Some(s) if libc::WIFSIGNALED(s) => {
            format!("terminated with signal {}", signal_name(libc::WTERMSIG(s)))
        }
        Some(s) => format!("wait status {s}"),
    }
}

/// `strsignal` text for a signal number.
pub fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static (or thread-local)
    // string, copied immediately.
    unsafe {
        let p = libc::strsignal(sig);
        if p.is_null() {
            format!("Unknown signal {sig}")
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::{FrameworkId, TaskId};

    fn task(cmd: &str) -> TaskInfo {
        TaskInfo {
            name: "t".into(),
            task_id: TaskId {
                value: "tid".into(),
            },
            command: Some(CommandInfo {
                value: Some(cmd.into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn command_executor_names_match_upstream() {
        assert_eq!(
            command_executor_name(&task("echo hello")),
            "Command Executor (Task: tid) (Command: sh -c 'echo hello')"
        );
        assert_eq!(
            command_executor_name(&task("sleep 1000; echo done")),
            "Command Executor (Task: tid) (Command: sh -c 'sleep 1000; ...')"
        );
    }

    #[test]
    fn generated_executor_info() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MESOS_EXECUTOR), b"").unwrap();
        let fw = FrameworkInfo {
            id: Some(FrameworkId { value: "F".into() }),
            ..Default::default()
        };
        let e = executor_info_for(&fw, &task("echo hi"), dir.path());
        assert_eq!(e.executor_id.value, "tid");
        assert_eq!(e.source.as_deref(), Some("tid"));
        let cmd = e.command.unwrap();
        assert_eq!(cmd.shell, Some(false));
        assert!(cmd.value.unwrap().ends_with("/mesos-executor"));
        assert_eq!(cmd.arguments[0], "mesos-executor");
        assert_eq!(
            cmd.arguments[1],
            format!("--launcher_dir={}", dir.path().display())
        );
        let cpus = e.resources.iter().find(|r| r.name == "cpus").unwrap();
        assert_eq!(cpus.scalar.as_ref().unwrap().value, 0.1);
        // Missing binary: the executor fails visibly.
        let e = executor_info_for(&fw, &task("echo hi"), std::path::Path::new("/nonexistent"));
        assert!(e.command.unwrap().value.unwrap().contains("exit 1"));
    }

    #[test]
    fn image_tasks_get_sandbox_directory_and_user_arguments() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join(MESOS_EXECUTOR), b"").unwrap();
        let dir = tmp.path().to_path_buf();
        let fw = FrameworkInfo {
            user: "fwuser".into(),
            ..Default::default()
        };
        let mut t = task("echo hello");
        let base = executor_info_for(&fw, &t, &dir);
        let args = |t: &TaskInfo, switch_user: bool| {
            let mut info = executor_info_for(&fw, t, &dir);
            add_rootfs_arguments(&mut info, &fw, t, "/mnt/mesos/sandbox", switch_user);
            info.command.unwrap().arguments
        };
        // No image: unchanged.
        assert_eq!(args(&t, true), base.command.clone().unwrap().arguments);
        t.container = Some(mesos_proto::mesos::ContainerInfo {
            r#type: mesos_proto::mesos::container_info::Type::Mesos as i32,
            mesos: Some(mesos_proto::mesos::container_info::MesosInfo {
                image: Some(mesos_proto::mesos::Image {
                    r#type: mesos_proto::mesos::image::Type::Docker as i32,
                    ..Default::default()
                }),
            }),
            ..Default::default()
        });
        let a = args(&t, true);
        assert_eq!(
            &a[a.len() - 2..],
            &["--sandbox_directory=/mnt/mesos/sandbox", "--user=fwuser"]
        );
        // The task's own user wins; no --user without --switch_user.
        t.command.as_mut().unwrap().user = Some("taskuser".into());
        assert_eq!(args(&t, true).last().unwrap(), "--user=taskuser");
        assert_eq!(
            args(&t, false).last().unwrap(),
            "--sandbox_directory=/mnt/mesos/sandbox"
        );
        // A task with its own executor is not touched.
        let mut custom = t.clone();
        custom.executor = Some(base.clone());
        assert_eq!(args(&custom, true), base.command.clone().unwrap().arguments);
    }

    #[test]
    fn wait_status_text() {
        assert_eq!(describe_status(Some(0)), "exited with status 0");
        assert_eq!(describe_status(Some(3 << 8)), "exited with status 3");
        assert_eq!(describe_status(Some(9)), "terminated with signal Killed");
    }
}
