//! Master detection, (re)registration and health checks
//! (`Slave::detected`, `doReliableRegistration`, `registered`,
//! `reregistered`, `ping`, `pingTimeout` in src/slave/slave.cpp).

use std::time::Duration;

use libprocess::{Cx, Upid};
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::{SlaveId, Uuid};

use super::{
    agent_capabilities, Slave, State, DEFAULT_MASTER_PING_TIMEOUT, REGISTER_RETRY_INTERVAL_MAX,
    VERSION,
};
use crate::checkpoint;
use crate::paths;
use crate::Error;

/// The `zk://` URL when `--master` names a ZooKeeper group, directly or
/// through a `file://` holding it (upstream `MasterDetector::create`). The
/// leader is then detected outside the actor and reported through
/// [`Slave::master_detected`].
pub fn zk_master_url(value: &str) -> Option<String> {
    let value = value.trim();
    let value = match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path).ok()?.trim().to_string(),
        None => value.to_string(),
    };
    value.starts_with("zk://").then_some(value)
}

/// Resolves `--master` to the master's pid: `host:port`,
/// `master@host:port` or `file:///path` holding either
/// (src/master/detector/detector.cpp). ZooKeeper URLs are detected
/// elsewhere (see [`zk_master_url`]).
pub fn parse_master(value: &str) -> Result<Upid, Error> {
    let value = value.trim();
    if let Some(path) = value.strip_prefix("file://") {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Flags(format!("Failed to read master from '{path}': {e}")))?;
        return parse_master(text.trim());
    }
    if value.starts_with("zk://") {
        return Err(Error::Flags(
            "A ZooKeeper master URL needs a leader detector".into(),
        ));
    }
    let pid = if value.contains('@') {
        value.to_string()
    } else {
        format!("master@{value}")
    };
    Upid::parse(&pid).map_err(|e| Error::Flags(format!("Failed to parse master '{value}': {e}")))
}

impl Slave {
    /// The ZooKeeper detector saw a new leading master, or none (upstream
    /// `Slave::detected` on a `ZooKeeperMasterDetector` result). Before
    /// recovery ends this is only remembered; `finish_recovery` uses it.
    pub fn master_detected(&mut self, cx: &mut Cx<'_, Self>, master: Option<Upid>) {
        if self.detected_master == master && self.master == master {
            return;
        }
        self.detected_master = master;
        if self.state == State::Recovering {
            return;
        }
        self.detected(cx);
    }

    /// A master was (re)detected (`Slave::detected`): pause status updates
    /// and start (re)registering after a random backoff.
    pub(crate) fn detected(&mut self, cx: &mut Cx<'_, Self>) {
        if self.state != State::Recovering && self.state != State::Terminating {
            self.state = State::Disconnected;
        }
        self.sum.pause();
        if let Some(t) = self.ping_timer.take() {
            cx.cancel(t);
        }
        if let Some(t) = self.registration_timer.take() {
            cx.cancel(t);
        }
        self.master = self.detected_master.clone();
        let Some(master) = self.master.clone() else {
            tracing::info!("Lost leading master");
            return;
        };
        tracing::info!("New master detected at {master}");
        if self.state == State::Terminating {
            return;
        }
        // Upstream waits for the first ping for at most the default timeout
        // before re-detecting, even before registration completes.
        self.master_ping_timeout = DEFAULT_MASTER_PING_TIMEOUT;
        let factor = self.config.registration_backoff_factor;
        let delay = random_fraction(cx, factor);
        tracing::debug!("Will (re)register in {delay:?}");
        // A new master means a new authentication, if any.
        self.authenticating = None;
        let t = cx.delay(delay, move |s: &mut Slave, cx| {
            s.registration_timer = None;
            s.authenticate_or_register(cx, factor * 2);
        });
        self.registration_timer = Some(t);
    }

    /// Sends `RegisterSlaveMessage` / `ReregisterSlaveMessage` and retries
    /// with randomized exponential backoff until the master answers.
    pub(crate) fn do_reliable_registration(
        &mut self,
        cx: &mut Cx<'_, Self>,
        max_backoff: Duration,
    ) {
        let Some(master) = self.master.clone() else {
            tracing::info!("Skipping registration because no master present");
            return;
        };
        if self.state == State::Running || self.state == State::Terminating {
            return;
        }
        if self.state != State::Disconnected {
            return;
        }
        cx.link(&master);
        let version_uuid = Some(Uuid {
            value: self.resource_version.clone(),
        });
        if self.info.id.is_none() {
            let m = msg::RegisterSlaveMessage {
                slave: self.info.clone(),
                checkpointed_resources: self.checkpointed_resources.clone(),
                version: Some(VERSION.to_string()),
                agent_capabilities: agent_capabilities(),
                resource_version_uuid: version_uuid,
            };
            tracing::info!("Registering with master {master}");
            cx.send(&master, &m);
        } else {
            let m = self.reregister_message(version_uuid);
            tracing::info!(
                "Reregistering with master {master} ({} tasks, {} frameworks)",
                m.tasks.len(),
                m.frameworks.len()
            );
            cx.send(&master, &m);
        }
        let max_backoff = max_backoff.min(REGISTER_RETRY_INTERVAL_MAX);
        let delay = random_fraction(cx, max_backoff);
        let t = cx.delay(delay, move |s: &mut Slave, cx| {
            s.registration_timer = None;
            s.do_reliable_registration(cx, max_backoff * 2);
        });
        if let Some(old) = self.registration_timer.replace(t) {
            cx.cancel(old);
        }
    }

    /// The `ReregisterSlaveMessage` describing everything this agent runs.
    pub(crate) fn reregister_message(
        &self,
        version_uuid: Option<Uuid>,
    ) -> msg::ReregisterSlaveMessage {
        let slave_id = self.slave_id().unwrap_or_default().to_string();
        let mut m = msg::ReregisterSlaveMessage {
            slave: self.info.clone(),
            version: Some(VERSION.to_string()),
            agent_capabilities: agent_capabilities(),
            resource_version_uuid: version_uuid,
            checkpointed_resources: self.checkpointed_resources.clone(),
            ..Default::default()
        };
        for f in self.frameworks.values() {
            m.frameworks.push(f.info.clone());
            for tasks in f.pending_tasks.values() {
                for t in tasks.values() {
                    m.tasks.push(super::model::create_task(
                        t,
                        mesos_proto::mesos::TaskState::TaskStaging,
                        &f.id,
                        &slave_id,
                    ));
                }
            }
            for e in f.executors.values() {
                m.tasks.extend(e.launched_tasks.values().cloned());
                m.tasks.extend(e.terminated_tasks.values().cloned());
                for t in &e.queued_tasks {
                    m.tasks.push(super::model::create_task(
                        t,
                        mesos_proto::mesos::TaskState::TaskStaging,
                        &f.id,
                        &slave_id,
                    ));
                }
                // The master does not store agent-generated command
                // executors; terminated executors hold no resources.
                if !e.command_executor && e.state != super::ExecutorState::Terminated {
                    let mut info = e.info.clone();
                    if info.framework_id.is_none() {
                        info.framework_id = f.info.id.clone();
                    }
                    m.executor_infos.push(info);
                }
            }
        }
        for f in &self.completed_frameworks {
            let mut a = msg::archive::Framework {
                framework_info: f.info.clone(),
                pid: f.pid.as_ref().map(|p| p.to_string()),
                tasks: Vec::new(),
            };
            for e in &f.completed_executors {
                a.tasks.extend(e.terminated_tasks.values().cloned());
                a.tasks.extend(e.completed_tasks.iter().cloned());
            }
            m.completed_frameworks.push(a);
        }
        m
    }

    fn connection_timeout(connection: &Option<msg::MasterSlaveConnection>) -> Duration {
        connection
            .as_ref()
            .and_then(|c| c.total_ping_timeout_seconds)
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| Duration::from_secs(s as u64))
            .unwrap_or(DEFAULT_MASTER_PING_TIMEOUT)
    }

    /// `SlaveRegisteredMessage` (`Slave::registered`).
    pub(crate) fn registered(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::SlaveRegisteredMessage,
    ) {
        if self.master.as_ref().map(|p| p.to_string()) != Some(from.to_string()) {
            tracing::warn!(
                "Ignoring registration message from {from} because it is not the expected master"
            );
            return;
        }
        self.master_ping_timeout = Self::connection_timeout(&m.connection);
        match self.state {
            State::Disconnected => {
                tracing::info!(
                    "Registered with master {from}; given agent ID {}",
                    m.slave_id.value
                );
                self.state = State::Running;
                self.registrations += 1;
                if let Some(t) = self.registration_timer.take() {
                    cx.cancel(t);
                }
                self.info.id = Some(m.slave_id.clone());
                if let Err(e) = self.checkpoint_slave_info() {
                    // Upstream CHECKs; we refuse to run without checkpoints.
                    tracing::error!("Failed to checkpoint agent info: {e}");
                }
                for f in self.sum.resume() {
                    self.forward(cx, f);
                }
                self.arm_ping_timer(cx);
            }
            State::Running => {
                if self.slave_id() != Some(m.slave_id.value.as_str()) {
                    tracing::error!(
                        "Registered but got wrong id: {} (expected: {:?}); ignoring",
                        m.slave_id.value,
                        self.slave_id()
                    );
                    return;
                }
                tracing::warn!("Already registered with master {from}");
            }
            State::Terminating => {
                tracing::warn!("Ignoring registration because agent is terminating");
                return;
            }
            State::Recovering => {
                tracing::warn!("Ignoring registration while recovering");
                return;
            }
        }
        self.send_update_slave(cx);
    }

    /// `SlaveReregisteredMessage` (`Slave::reregistered`).
    pub(crate) fn reregistered(
        &mut self,
        cx: &mut Cx<'_, Self>,
        from: Upid,
        m: msg::SlaveReregisteredMessage,
    ) {
        if self.master.as_ref().map(|p| p.to_string()) != Some(from.to_string()) {
            tracing::warn!("Ignoring re-registration message from {from} because it is not the expected master");
            return;
        }
        if self.slave_id() != Some(m.slave_id.value.as_str()) {
            tracing::error!(
                "Reregistered but got wrong id {}; ignoring",
                m.slave_id.value
            );
            return;
        }
        self.master_ping_timeout = Self::connection_timeout(&m.connection);
        match self.state {
            State::Disconnected => {
                tracing::info!("Re-registered with master {from}");
                self.state = State::Running;
                self.registrations += 1;
                if let Some(t) = self.registration_timer.take() {
                    cx.cancel(t);
                }
                for f in self.sum.resume() {
                    self.forward(cx, f);
                }
                self.arm_ping_timer(cx);
            }
            State::Running => tracing::warn!("Already reregistered with master {from}"),
            State::Terminating => {
                tracing::warn!("Ignoring re-registration because agent is terminating");
                return;
            }
            State::Recovering => return,
        }
        // Reconcile the tasks the master believes are here: any the agent
        // does not know gets TASK_DROPPED (partition aware) or TASK_LOST.
        for r in &m.reconciliations {
            let fid = r.framework_id.value.clone();
            let partition_aware = self
                .frameworks
                .get(&fid)
                .map(|f| f.partition_aware())
                .unwrap_or(false);
            for status in &r.statuses {
                let tid = status.task_id.value.clone();
                let known = self
                    .frameworks
                    .get(&fid)
                    .map(|f| f.is_pending(&tid) || f.executor_id_for_task(&tid).is_some())
                    .unwrap_or(false);
                if known {
                    continue;
                }
                let state = if partition_aware {
                    mesos_proto::mesos::TaskState::TaskDropped
                } else {
                    mesos_proto::mesos::TaskState::TaskLost
                };
                tracing::warn!(
                    "Master believes task {tid} of framework {fid} runs here; sending {state:?}"
                );
                let update = self.create_status_update(
                    cx,
                    &fid,
                    None,
                    &tid,
                    state,
                    mesos_proto::mesos::task_status::Source::Slave,
                    Some(mesos_proto::mesos::task_status::Reason::Reconciliation),
                    "Reconciliation: task unknown to the agent",
                );
                // Unknown frameworks would be dropped by `status_update`:
                // forward directly, as upstream does.
                self.forward_update(cx, update);
            }
        }
        self.send_update_slave(cx);
    }

    /// `UpdateSlaveMessage` after (re)registration: this agent has the
    /// RESOURCE_PROVIDER capability, so it reports its (empty) operations
    /// and resource providers (`generateUpdateSlaveMessage`).
    fn send_update_slave(&mut self, cx: &mut Cx<'_, Self>) {
        let (Some(master), Some(id)) = (self.master.clone(), self.info.id.clone()) else {
            return;
        };
        let m = msg::UpdateSlaveMessage {
            slave_id: id,
            update_oversubscribed_resources: Some(false),
            oversubscribed_resources: Vec::new(),
            operations: Some(msg::update_slave_message::Operations::default()),
            resource_version_uuid: Some(Uuid {
                value: self.resource_version.clone(),
            }),
            resource_providers: Some(msg::update_slave_message::ResourceProviders::default()),
        };
        cx.send(&master, &m);
    }

    /// Writes `slave.info` and points `meta/slaves/latest` at it.
    pub(crate) fn checkpoint_slave_info(&self) -> Result<(), Error> {
        let id = self.slave_id().unwrap_or_default();
        checkpoint::checkpoint_message(&paths::slave_info_path(&self.meta, id), &self.info)?;
        checkpoint::symlink_latest(
            &paths::slave_path(&self.meta, id),
            &paths::latest_slave_path(&self.meta),
        )?;
        // The sandbox root gets its `latest` link too.
        let work = &self.config.work_dir;
        std::fs::create_dir_all(paths::slave_path(work, id))
            .map_err(|e| Error::Io(e.to_string()))?;
        checkpoint::symlink_latest(
            &paths::slave_path(work, id),
            &paths::latest_slave_path(work),
        )
    }

    fn arm_ping_timer(&mut self, cx: &mut Cx<'_, Self>) {
        if let Some(t) = self.ping_timer.take() {
            cx.cancel(t);
        }
        let t = cx.delay(self.master_ping_timeout, |s: &mut Slave, cx| {
            s.ping_timer = None;
            s.ping_timeout(cx);
        });
        self.ping_timer = Some(t);
    }

    /// `PingSlaveMessage`: answer the sender (the master's slave observer),
    /// and re-detect if the master says we are not connected.
    pub(crate) fn ping(&mut self, cx: &mut Cx<'_, Self>, from: Upid, m: msg::PingSlaveMessage) {
        cx.send(&from, &msg::PongSlaveMessage {});
        if !m.connected && self.state == State::Running {
            tracing::info!("Master {from} considers this agent disconnected; re-detecting");
            self.detected(cx);
            return;
        }
        if self.state == State::Running || self.state == State::Disconnected {
            self.arm_ping_timer(cx);
        }
    }

    /// No ping for `master_ping_timeout`: the master is presumed gone;
    /// re-detect (`Slave::pingTimeout`).
    pub(crate) fn ping_timeout(&mut self, cx: &mut Cx<'_, Self>) {
        tracing::info!(
            "No pings from master received within {:?}",
            self.master_ping_timeout
        );
        self.detected(cx);
    }

    /// `ShutdownMessage`: the master asks this agent to shut down.
    pub(crate) fn shutdown(&mut self, cx: &mut Cx<'_, Self>, from: Upid, m: msg::ShutdownMessage) {
        if let Some(master) = &self.master {
            if from.to_string() != master.to_string() {
                tracing::warn!("Ignoring shutdown message from {from} because it is not from the registered master");
                return;
            }
        }
        tracing::info!(
            "Agent asked to shut down by {from}{}",
            m.message
                .map(|s| format!(" because '{s}'"))
                .unwrap_or_default()
        );
        self.state = State::Terminating;
        let fids: Vec<String> = self.frameworks.keys().cloned().collect();
        for fid in fids {
            self.shutdown_framework_by_id(cx, &fid);
        }
        if self.frameworks.is_empty() {
            cx.terminate();
        }
    }

    /// The slave id as a proto.
    pub(crate) fn slave_id_proto(&self) -> SlaveId {
        self.info.id.clone().unwrap_or_default()
    }
}

/// A uniformly random duration in `[0, max]`, from the actor's rng.
pub(crate) fn random_fraction(cx: &mut Cx<'_, Slave>, max: Duration) -> Duration {
    let r = (cx.rng().next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    max.mul_f64(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_flag_forms() {
        assert_eq!(
            parse_master("127.0.0.1:5050").unwrap().to_string(),
            "master@127.0.0.1:5050"
        );
        assert_eq!(parse_master("master@127.0.0.1:5050").unwrap().port(), 5050);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m");
        std::fs::write(&p, "10.0.0.1:6060\n").unwrap();
        let m = parse_master(&format!("file://{}", p.display())).unwrap();
        assert_eq!(m.to_string(), "master@10.0.0.1:6060");
        assert!(parse_master("zk://localhost:2181/mesos").is_err());
        assert_eq!(
            zk_master_url(" zk://h:2181/mesos ").as_deref(),
            Some("zk://h:2181/mesos")
        );
        let zk = dir.path().join("zk");
        std::fs::write(&zk, "zk://a:1,b:2/m\n").unwrap();
        assert_eq!(
            zk_master_url(&format!("file://{}", zk.display())).as_deref(),
            Some("zk://a:1,b:2/m")
        );
        assert_eq!(zk_master_url("127.0.0.1:5050"), None);
        assert!(parse_master("nonsense").is_err());
    }
}
