//! Agent draining, new in 1.9 (`Slave::drain`, `updateDrainStatus` in
//! src/slave/slave.cpp): the master sends `DrainSlaveMessage`; the agent
//! checkpoints the `DrainConfig` (`drain.config`), kills every pending,
//! queued and launched task (kill grace capped by `max_grace_period`), drops
//! new tasks with REASON_SLAVE_DRAINING, and forgets the config once no
//! framework remains. A checkpointed drain is replayed after recovery.

use libprocess::{Cx, Upid};
use mesos_proto::mesos::internal as msg;
use mesos_proto::mesos::{task_status, DrainConfig, KillPolicy, TaskState};

use super::Slave;
use crate::checkpoint;
use crate::paths;

/// The kill policy to use for a task while draining: the drain's maximum
/// grace period when the task has none or a longer one, else the task's own
/// (`None` = unchanged).
pub fn drain_kill_policy(config: &DrainConfig, task: Option<&KillPolicy>) -> Option<KillPolicy> {
    let max = config.max_grace_period?;
    match task.and_then(|k| k.grace_period) {
        Some(g) if g.nanoseconds <= max.nanoseconds => None,
        _ => Some(KillPolicy {
            grace_period: Some(max),
        }),
    }
}

impl Slave {
    /// `DrainSlaveMessage` from the master.
    pub(crate) fn drain(&mut self, cx: &mut Cx<'_, Self>, from: Upid, m: msg::DrainSlaveMessage) {
        if let Some(master) = &self.master {
            if master.to_string() != from.to_string() {
                tracing::warn!("Ignoring drain message from {from}, which is not the master");
                return;
            }
        }
        self.start_drain(cx, m.config);
    }

    pub(crate) fn start_drain(&mut self, cx: &mut Cx<'_, Self>, config: DrainConfig) {
        tracing::info!("Checkpointing DrainConfig {config:?}");
        if let Some(id) = self.slave_id() {
            let path = paths::slave_path(&self.meta, id).join(paths::DRAIN_CONFIG_FILE);
            if let Err(e) = checkpoint::checkpoint_message(&path, &config) {
                tracing::error!("Failed to checkpoint the drain config: {e}");
            }
        }
        self.drain_config = Some(config);
        let mut pending = Vec::new();
        let mut kills = Vec::new();
        for f in self.frameworks.values() {
            for tasks in f.pending_tasks.values() {
                pending.extend(tasks.keys().map(|t| (f.id.clone(), t.clone())));
            }
            for e in f.executors.values() {
                for t in e.launched_tasks.values() {
                    kills.push((
                        f.id.clone(),
                        e.id.clone(),
                        t.task_id.value.clone(),
                        t.kill_policy,
                    ));
                }
                for t in &e.queued_tasks {
                    kills.push((
                        f.id.clone(),
                        e.id.clone(),
                        t.task_id.value.clone(),
                        t.kill_policy,
                    ));
                }
            }
        }
        for (fid, tid) in pending {
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
        }
        for (fid, eid, tid, policy) in kills {
            let policy = drain_kill_policy(&config, policy.as_ref());
            self.kill(cx, &fid, &eid, &tid, policy);
        }
        self.update_drain_status();
    }

    /// Drained once no framework remains: forget the config.
    pub(crate) fn update_drain_status(&mut self) {
        if self.drain_config.is_none() || !self.frameworks.is_empty() {
            return;
        }
        tracing::info!("Agent finished draining");
        if let Some(id) = self.slave_id() {
            let path = paths::slave_path(&self.meta, id).join(paths::DRAIN_CONFIG_FILE);
            if let Err(e) = std::fs::remove_file(&path) {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::error!("Could not remove {}: {e}", path.display());
                }
            }
        }
        self.drain_config = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::DurationInfo;

    fn d(ns: i64) -> Option<DurationInfo> {
        Some(DurationInfo { nanoseconds: ns })
    }

    #[test]
    fn kill_policy_is_capped_by_the_drain() {
        let none = DrainConfig::default();
        assert_eq!(drain_kill_policy(&none, None), None);
        let cfg = DrainConfig {
            max_grace_period: d(1_000),
            mark_gone: None,
        };
        assert_eq!(
            drain_kill_policy(&cfg, None).unwrap().grace_period,
            d(1_000)
        );
        let long = KillPolicy {
            grace_period: d(5_000),
        };
        assert_eq!(
            drain_kill_policy(&cfg, Some(&long)).unwrap().grace_period,
            d(1_000)
        );
        let short = KillPolicy {
            grace_period: d(10),
        };
        assert_eq!(drain_kill_policy(&cfg, Some(&short)), None);
    }
}
