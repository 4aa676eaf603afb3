//! Agent recovery (`Slave::recover`, `_recover`, `__recover`,
//! `reregisterExecutorTimeout` in src/slave/slave.cpp): read the `meta/`
//! checkpoints, rebuild frameworks, executors, tasks and status update
//! streams, re-attach to executor processes that survived, ask their
//! drivers to reconnect (`ReconnectExecutorMessage`), then (re)register with
//! the master.

use libprocess::{Cx, Upid};
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::TaskState;

use super::model::{Executor, ExecutorState, Framework};
use super::tasks::is_command_executor;
use super::{Slave, State};
use crate::checkpoint;
use crate::paths;
use crate::state::{self, SlaveState};
use crate::status_update_manager::is_terminal;

/// Upstream's `--runtime_dir` default for root (`/var/run/mesos`).
const DEFAULT_RUNTIME_DIR: &str = "/var/run/mesos";

/// The kernel's boot id (`os::bootId`), to tell a restart from a reboot.
pub fn current_boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

impl Slave {
    /// Runs at actor start: recover checkpointed state, then continue.
    pub(crate) fn recover(&mut self, cx: &mut Cx<'_, Self>) {
        self.state = State::Recovering;
        self.sum.pause();
        self.boot_id = current_boot_id();
        let previous_boot = checkpoint::read_string(&paths::boot_id_path(&self.meta))
            .ok()
            .flatten();
        let rebooted = matches!((&previous_boot, &self.boot_id), (Some(a), Some(b)) if a != b);
        self.recover_checkpointed_resources();
        let recovered = match state::recover(&self.meta, self.config.strict) {
            Ok(s) => s,
            Err(e) => {
                // Upstream exits here; this agent starts afresh so an
                // operator can inspect the log (and the old meta stays).
                tracing::error!("Failed to recover checkpointed state (start afresh): {e}");
                None
            }
        };
        if let Some(b) = &self.boot_id {
            if let Err(e) = checkpoint::checkpoint_string(&paths::boot_id_path(&self.meta), b) {
                tracing::error!("Failed to checkpoint boot id: {e}");
            }
        }
        let Some(st) = recovered else {
            tracing::info!("No checkpointed agent state found; starting as a new agent");
            return self.finish_recovery(cx);
        };
        if self.config.recover == "cleanup" {
            tracing::info!(
                "--recover=cleanup: killing checkpointed executors and starting as a new agent"
            );
            for f in st.frameworks.values() {
                for e in f.executors.values() {
                    for run in e.runs.values() {
                        if let Some(pid) = run
                            .forked_pid
                            .filter(|p| !rebooted && self.containerizer.alive(*p))
                        {
                            self.containerizer.destroy(&run.id, pid);
                        }
                    }
                }
            }
            let _ = std::fs::remove_file(paths::latest_slave_path(&self.meta));
            return self.finish_recovery(cx);
        }
        if rebooted {
            tracing::info!("Agent host rebooted: checkpointed executors are gone");
        }
        self.recover_state(cx, st, rebooted);
    }

    fn recover_state(&mut self, cx: &mut Cx<'_, Self>, st: SlaveState, rebooted: bool) {
        match &st.info {
            Some(info) => {
                tracing::info!("Recovering agent {}", st.id);
                self.info.id = info.id.clone();
            }
            None => {
                tracing::warn!("No slave.info for agent {}; starting as a new agent", st.id);
                return self.finish_recovery(cx);
            }
        }
        let sid = st.id.clone();
        // A drain in progress is replayed after recovery (`Slave::_recover`).
        let drain_path = paths::slave_path(&self.meta, &sid).join(paths::DRAIN_CONFIG_FILE);
        match checkpoint::read_message::<mesos_proto::mesos::DrainConfig>(&drain_path) {
            Ok(c) => self.drain_config = c,
            Err(e) => tracing::error!("Failed to read {}: {e}", drain_path.display()),
        }
        let mut dead: Vec<(String, String, String)> = Vec::new();
        let mut alive: Vec<(String, String, String, i32, Option<String>, bool)> = Vec::new();
        for (fid, fs) in &st.frameworks {
            let Some(mut info) = fs.info.clone() else {
                tracing::warn!("Skipping framework {fid} without framework.info");
                continue;
            };
            if info.id.is_none() {
                info.id = Some(mesos_proto::mesos::FrameworkId { value: fid.clone() });
            }
            let pid = fs
                .pid
                .as_deref()
                .filter(|p| !p.is_empty())
                .and_then(|p| Upid::parse(p).ok());
            let mut framework = Framework::new(info, pid);
            for (eid, es) in &fs.executors {
                let (Some(info), Some(latest)) = (es.info.clone(), es.latest.clone()) else {
                    continue;
                };
                let Some(run) = es.runs.get(&latest) else {
                    continue;
                };
                let key = paths::RunKey {
                    slave_id: sid.clone(),
                    framework_id: fid.clone(),
                    executor_id: eid.clone(),
                    container_id: latest.clone(),
                };
                let command = is_command_executor(&info);
                let mut executor = Executor::new(
                    fid,
                    info,
                    latest.clone(),
                    key.sandbox(&self.config.work_dir),
                    true,
                    command,
                );
                executor.forked_pid = run.forked_pid;
                self.attach_sandbox(fid, eid, &executor.directory);
                for (tid, ts) in &run.tasks {
                    let Some(mut task) = ts.info.clone() else {
                        continue;
                    };
                    let path = key.task_updates(&self.meta, tid);
                    let replayed = self.sum.recover(fid, tid, &ts.updates, path);
                    if let Some(last) = replayed.updates.last() {
                        task.state = last.status.state;
                        task.status_update_state = Some(last.status.state);
                        task.status_update_uuid = last.uuid.clone();
                    }
                    if replayed.terminated {
                        executor.completed_tasks.push_back(task);
                    } else if is_terminal(task.state()) {
                        executor.terminated_tasks.insert(tid.clone(), task);
                    } else {
                        executor.launched_tasks.insert(tid.clone(), task);
                    }
                }
                if run.completed {
                    executor.state = ExecutorState::Terminated;
                    framework.completed_executors.push_back(executor);
                    continue;
                }
                match run.forked_pid {
                    Some(p) if !rebooted && self.containerizer.alive(p) => {
                        executor.pid = run
                            .libprocess_pid
                            .as_deref()
                            .and_then(|s| Upid::parse(s).ok());
                        alive.push((
                            fid.clone(),
                            eid.clone(),
                            latest.clone(),
                            p,
                            run.libprocess_pid.clone(),
                            run.http,
                        ));
                    }
                    _ => dead.push((fid.clone(), eid.clone(), latest.clone())),
                }
                framework.executors.insert(eid.clone(), executor);
            }
            if framework.idle() {
                self.completed_frameworks.push_back(framework);
            } else {
                self.frameworks.insert(fid.clone(), framework);
            }
        }
        // Hand the live containers to the containerizer first (upstream's
        // `containerizer->recover(state)` before executors reconnect).
        let running: Vec<super::RecoveredContainer> = alive
            .iter()
            .filter_map(|(fid, eid, cid, pid, _, _)| {
                let e = self.frameworks.get(fid)?.executors.get(eid)?;
                Some(super::RecoveredContainer {
                    container_id: cid.clone(),
                    pid: *pid,
                    directory: e.directory.clone(),
                    executor_info: e.info.clone(),
                })
            })
            .collect();
        if !running.is_empty() {
            self.containerizer.recover(&running);
        }
        // Re-attach to live containers and ask their drivers to reconnect.
        let slave_id = self.slave_id_proto();
        for (fid, eid, cid, pid, lp, http) in alive {
            self.watch_container(cx, &fid, &eid, &cid, pid);
            if http {
                // An HTTP executor resubscribes by itself (`SUBSCRIBE` is
                // served while recovering); wait for it like a driver.
                tracing::info!(
                    "Waiting for HTTP executor '{eid}' of framework {fid} to resubscribe"
                );
                self.reconnecting += 1;
                continue;
            }
            match lp.and_then(|s| Upid::parse(&s).ok()) {
                Some(executor_pid) => {
                    tracing::info!("Sending reconnect request to executor '{eid}' of framework {fid} at {executor_pid}");
                    cx.link(&executor_pid);
                    cx.send(
                        &executor_pid,
                        &msg::ReconnectExecutorMessage {
                            slave_id: slave_id.clone(),
                        },
                    );
                    self.reconnecting += 1;
                }
                None => {
                    // It never registered: it will not be able to now.
                    tracing::info!("Killing executor '{eid}' of framework {fid}: it had not registered before the agent restarted");
                    if let Some(e) = self.executor_mut(&fid, &eid, &cid) {
                        e.state = ExecutorState::Terminating;
                    }
                    self.containerizer.destroy(&cid, pid);
                }
            }
        }
        // Nested containers (default executor tasks) under every recovered
        // executor; those of dead executors are killed with them below.
        let roots: Vec<String> = self
            .frameworks
            .values()
            .flat_map(|f| f.executors.values())
            .filter(|e| e.state != ExecutorState::Terminated)
            .map(|e| e.container_id.clone())
            .collect();
        for root in roots {
            self.recover_nested_containers(cx, &root);
        }
        for (fid, eid, cid) in dead {
            tracing::info!(
                "Executor '{eid}' of framework {fid} is gone (container {cid} not running)"
            );
            self.executor_terminated(cx, &fid, &eid, &cid, None, None);
        }
        if self.reconnecting > 0 {
            let t = cx.delay(
                self.config.executor_reregistration_timeout,
                |s: &mut Slave, cx| {
                    s.recovery_timer = None;
                    s.reregister_executor_timeout(cx);
                },
            );
            self.recovery_timer = Some(t);
        } else {
            self.finish_recovery(cx);
        }
    }

    /// Executors that did not reregister in time are shut down.
    fn reregister_executor_timeout(&mut self, cx: &mut Cx<'_, Self>) {
        if self.state != State::Recovering {
            return;
        }
        let stale: Vec<(String, String)> = self
            .frameworks
            .values()
            .flat_map(|f| {
                f.executors
                    .values()
                    .filter(|e| e.state == ExecutorState::Registering)
                    .map(|e| (f.id.clone(), e.id.clone()))
            })
            .collect();
        for (fid, eid) in stale {
            tracing::info!("Killing un-reregistered executor '{eid}' of framework {fid}");
            self.shutdown_executor_now(cx, &fid, &eid);
        }
        self.finish_recovery(cx);
    }

    /// A recovered executor reregistered.
    pub(crate) fn executor_reconnected(&mut self, cx: &mut Cx<'_, Self>) {
        self.reconnecting = self.reconnecting.saturating_sub(1);
        if self.reconnecting == 0 && self.state == State::Recovering {
            if let Some(t) = self.recovery_timer.take() {
                cx.cancel(t);
            }
            self.finish_recovery(cx);
        }
    }

    /// Recovery done: detect the master and (re)register.
    fn finish_recovery(&mut self, cx: &mut Cx<'_, Self>) {
        if self.state != State::Recovering {
            return;
        }
        if let Some(config) = self.drain_config {
            tracing::info!("Replaying in-process agent draining");
            self.start_drain(cx, config);
        }
        tracing::info!("Finished recovery");
        self.state = State::Disconnected;
        let zk = self
            .config
            .master
            .as_deref()
            .and_then(super::registration::zk_master_url);
        // With ZooKeeper the detector reports the leader (it may already
        // have, while we were recovering).
        self.detected_master = match self
            .config
            .master
            .as_deref()
            .filter(|_| zk.is_none())
            .map(super::registration::parse_master)
        {
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => {
                tracing::error!("{e}");
                None
            }
            None => self.detected_master.take(),
        };
        self.detected(cx);
    }

    /// The wait status that upstream's `mesos-containerizer launch`
    /// checkpointed in `<runtime_dir>/containers/<cid>/status` for a
    /// container launched by a real agent (read back as upstream
    /// `containerizer::paths::getContainerStatus`), and that runtime
    /// directory removed with the container (upstream removes it when it
    /// destroys a top-level container, `MesosContainerizerProcess::____destroy`).
    /// `None` when there is no such directory (our own containers).
    pub(crate) fn take_runtime_container_status(&self, cid: &str) -> Option<i32> {
        if cid.is_empty() || cid == "." || cid == ".." || cid.contains('/') {
            return None;
        }
        let root = self
            .config
            .runtime_dir
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(DEFAULT_RUNTIME_DIR));
        let dir = root.join("containers").join(cid);
        if !dir.is_dir() {
            return None;
        }
        let status = std::fs::read_to_string(dir.join("status"))
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!("Failed to remove the runtime directory of container {cid}: {e}");
        }
        status
    }

    /// Tasks that are not terminal (for tests and `/state`).
    pub fn running_tasks(&self) -> Vec<(String, String, TaskState)> {
        self.frameworks
            .values()
            .flat_map(|f| {
                f.executors.values().flat_map(move |e| {
                    e.launched_tasks
                        .values()
                        .map(move |t| (f.id.clone(), t.task_id.value.clone(), t.state()))
                })
            })
            .collect()
    }
}
