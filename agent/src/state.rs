//! Reading the checkpointed `meta/` tree back at agent start, as upstream's
//! `src/slave/state.cpp` (`state::recover`): the latest agent, its
//! frameworks, their executors, every run of each executor (with the
//! `latest` run marked), and each run's tasks with their `task.updates`.
//!
//! Unreadable pieces are errors under `--strict`, else they are logged and
//! skipped (upstream counts them as `errors`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use mesos_proto::mesos::internal::StatusUpdateRecord;
use mesos_proto::mesos::{ExecutorInfo, FrameworkInfo, SlaveInfo, Task};

use crate::checkpoint;
use crate::paths;
use crate::Error;

/// The checkpointed state of one agent.
#[derive(Clone, Debug, Default)]
pub struct SlaveState {
    pub id: String,
    pub info: Option<SlaveInfo>,
    pub frameworks: BTreeMap<String, FrameworkState>,
    /// Non-fatal problems met while reading (non-strict mode).
    pub errors: u32,
}

#[derive(Clone, Debug, Default)]
pub struct FrameworkState {
    pub id: String,
    pub info: Option<FrameworkInfo>,
    pub pid: Option<String>,
    pub executors: BTreeMap<String, ExecutorState>,
}

#[derive(Clone, Debug, Default)]
pub struct ExecutorState {
    pub id: String,
    pub info: Option<ExecutorInfo>,
    /// The container id `runs/latest` points at.
    pub latest: Option<String>,
    pub runs: BTreeMap<String, RunState>,
}

#[derive(Clone, Debug, Default)]
pub struct RunState {
    pub id: String,
    pub forked_pid: Option<i32>,
    pub libprocess_pid: Option<String>,
    /// The executor uses the HTTP API (`http.marker`).
    pub http: bool,
    /// `executor.sentinel` exists: the executor finished.
    pub completed: bool,
    pub tasks: BTreeMap<String, TaskState>,
}

#[derive(Clone, Debug, Default)]
pub struct TaskState {
    pub id: String,
    pub info: Option<Task>,
    pub updates: Vec<StatusUpdateRecord>,
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = match fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != paths::LATEST)
            .collect(),
        Err(_) => Vec::new(),
    };
    out.sort();
    out
}

fn link_target_name(link: &Path) -> Option<String> {
    fs::read_link(link)
        .ok()
        .and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()))
}

struct Reader {
    strict: bool,
    errors: u32,
}

impl Reader {
    fn soft<T: Default>(&mut self, r: Result<T, Error>) -> Result<T, Error> {
        match r {
            Ok(v) => Ok(v),
            Err(e) if !self.strict => {
                tracing::warn!("Skipping unreadable checkpoint: {e}");
                self.errors += 1;
                Ok(T::default())
            }
            Err(e) => Err(e),
        }
    }
}

/// Reads the state of the latest agent under `meta`, or `None` if no agent
/// was ever checkpointed (`meta/slaves/latest` is absent).
pub fn recover(meta: &Path, strict: bool) -> Result<Option<SlaveState>, Error> {
    let Some(slave_id) = link_target_name(&paths::latest_slave_path(meta)) else {
        return Ok(None);
    };
    let mut rd = Reader { strict, errors: 0 };
    let mut state = SlaveState {
        id: slave_id.clone(),
        ..Default::default()
    };
    state.info = rd.soft(checkpoint::read_message::<SlaveInfo>(
        &paths::slave_info_path(meta, &slave_id),
    ))?;
    let frameworks_dir = paths::slave_path(meta, &slave_id).join(paths::FRAMEWORKS_DIR);
    for fid in dir_entries(&frameworks_dir) {
        let mut f = FrameworkState {
            id: fid.clone(),
            ..Default::default()
        };
        f.info = rd.soft(checkpoint::read_message::<FrameworkInfo>(
            &paths::framework_info_path(meta, &slave_id, &fid),
        ))?;
        f.pid = rd.soft(checkpoint::read_string(&paths::framework_pid_path(
            meta, &slave_id, &fid,
        )))?;
        let executors_dir = paths::framework_path(meta, &slave_id, &fid).join(paths::EXECUTORS_DIR);
        for eid in dir_entries(&executors_dir) {
            let mut e = ExecutorState {
                id: eid.clone(),
                ..Default::default()
            };
            e.info = rd.soft(checkpoint::read_message::<ExecutorInfo>(
                &paths::executor_info_path(meta, &slave_id, &fid, &eid),
            ))?;
            e.latest = link_target_name(&paths::executor_latest_run_path(
                meta, &slave_id, &fid, &eid,
            ));
            let runs_dir =
                paths::executor_path(meta, &slave_id, &fid, &eid).join(paths::EXECUTOR_RUNS_DIR);
            for cid in dir_entries(&runs_dir) {
                let key = paths::RunKey {
                    slave_id: slave_id.clone(),
                    framework_id: fid.clone(),
                    executor_id: eid.clone(),
                    container_id: cid.clone(),
                };
                let run = read_run(&mut rd, meta, &key)?;
                e.runs.insert(cid, run);
            }
            f.executors.insert(eid, e);
        }
        state.frameworks.insert(fid, f);
    }
    state.errors = rd.errors;
    Ok(Some(state))
}

fn read_run(rd: &mut Reader, meta: &Path, key: &paths::RunKey) -> Result<RunState, Error> {
    let mut run = RunState {
        id: key.container_id.clone(),
        ..Default::default()
    };
    run.completed = key.sentinel(meta).exists();
    let forked = rd.soft(checkpoint::read_string(&key.forked_pid(meta)))?;
    run.forked_pid = match forked {
        Some(s) if !s.is_empty() => match s.parse::<i32>() {
            Ok(p) => Some(p),
            Err(_) => {
                rd.soft::<()>(Err(Error::Checkpoint(format!("bad forked pid '{s}'"))))?;
                None
            }
        },
        _ => None,
    };
    run.libprocess_pid = rd
        .soft(checkpoint::read_string(&key.libprocess_pid(meta)))?
        .filter(|s| !s.is_empty());
    // Upstream's place is the run directory; `pids/http.marker` is where
    // earlier versions of this agent wrote it, still honoured.
    run.http = key.meta_run(meta).join(paths::HTTP_MARKER_FILE).exists()
        || key
            .meta_run(meta)
            .join("pids")
            .join(paths::HTTP_MARKER_FILE)
            .exists();
    let tasks_dir = key.meta_run(meta).join("tasks");
    for tid in dir_entries(&tasks_dir) {
        let mut t = TaskState {
            id: tid.clone(),
            ..Default::default()
        };
        t.info = rd.soft(checkpoint::read_message::<Task>(&key.task_info(meta, &tid)))?;
        let updates = key.task_updates(meta, &tid);
        if updates.exists() {
            // A crash while appending leaves a partial record: drop it.
            t.updates = rd.soft(checkpoint::read_messages(&updates, true))?;
        }
        run.tasks.insert(tid, t);
    }
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::internal::{status_update_record, StatusUpdate};
    use mesos_proto::mesos::{FrameworkId, SlaveId, TaskId, TaskStatus};

    #[test]
    fn recovers_a_checkpointed_tree() {
        let dir = tempfile::tempdir().unwrap();
        let meta = paths::meta_root(dir.path());
        assert!(recover(&meta, true).unwrap().is_none());

        let info = SlaveInfo {
            hostname: "h".into(),
            id: Some(SlaveId { value: "S1".into() }),
            ..Default::default()
        };
        checkpoint::checkpoint_message(&paths::slave_info_path(&meta, "S1"), &info).unwrap();
        checkpoint::symlink_latest(
            &paths::slave_path(&meta, "S1"),
            &paths::latest_slave_path(&meta),
        )
        .unwrap();
        let fi = FrameworkInfo {
            user: "u".into(),
            name: "fw".into(),
            checkpoint: Some(true),
            ..Default::default()
        };
        checkpoint::checkpoint_message(&paths::framework_info_path(&meta, "S1", "F"), &fi).unwrap();
        checkpoint::checkpoint_string(
            &paths::framework_pid_path(&meta, "S1", "F"),
            "scheduler-x@1.2.3.4:5",
        )
        .unwrap();
        let key = paths::RunKey {
            slave_id: "S1".into(),
            framework_id: "F".into(),
            executor_id: "E".into(),
            container_id: "C".into(),
        };
        checkpoint::checkpoint_message(
            &paths::executor_info_path(&meta, "S1", "F", "E"),
            &ExecutorInfo::default(),
        )
        .unwrap();
        checkpoint::checkpoint_string(&key.forked_pid(&meta), "4242").unwrap();
        checkpoint::checkpoint_string(&key.libprocess_pid(&meta), "executor(1)@127.0.0.1:9")
            .unwrap();
        checkpoint::symlink_latest(
            &key.meta_run(&meta),
            &paths::executor_latest_run_path(&meta, "S1", "F", "E"),
        )
        .unwrap();
        let task = Task {
            name: "t".into(),
            task_id: TaskId { value: "T".into() },
            framework_id: FrameworkId { value: "F".into() },
            slave_id: SlaveId { value: "S1".into() },
            ..Default::default()
        };
        checkpoint::checkpoint_message(&key.task_info(&meta, "T"), &task).unwrap();
        let rec = StatusUpdateRecord {
            r#type: status_update_record::Type::Update as i32,
            update: Some(StatusUpdate {
                framework_id: FrameworkId { value: "F".into() },
                status: TaskStatus {
                    task_id: TaskId { value: "T".into() },
                    ..Default::default()
                },
                ..Default::default()
            }),
            uuid: None,
        };
        checkpoint::append_message(&key.task_updates(&meta, "T"), &rec).unwrap();
        // A torn append is tolerated.
        {
            use std::io::Write;
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(key.task_updates(&meta, "T"))
                .unwrap();
            f.write_all(&[9, 0, 0]).unwrap();
        }

        let s = recover(&meta, true).unwrap().unwrap();
        assert_eq!(s.id, "S1");
        assert_eq!(s.info.unwrap().hostname, "h");
        let f = &s.frameworks["F"];
        assert_eq!(f.info.as_ref().unwrap().name, "fw");
        assert_eq!(f.pid.as_deref(), Some("scheduler-x@1.2.3.4:5"));
        let e = &f.executors["E"];
        assert_eq!(e.latest.as_deref(), Some("C"));
        let run = &e.runs["C"];
        assert_eq!(run.forked_pid, Some(4242));
        assert_eq!(
            run.libprocess_pid.as_deref(),
            Some("executor(1)@127.0.0.1:9")
        );
        assert!(!run.completed);
        assert!(!run.http);
        // Upstream (and a real agent's work dir) keeps `http.marker` in the
        // run directory itself.
        checkpoint::checkpoint_string(&paths::http_marker_path(&meta, "S1", "F", "E", "C"), "")
            .unwrap();
        assert!(key.meta_run(&meta).join("http.marker").exists());
        assert!(
            recover(&meta, true).unwrap().unwrap().frameworks["F"].executors["E"].runs["C"].http
        );
        let t = &run.tasks["T"];
        assert_eq!(t.info.as_ref().unwrap().name, "t");
        assert_eq!(t.updates.len(), 1);
    }

    #[test]
    fn corrupt_files_fail_strict_and_are_skipped_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let meta = paths::meta_root(dir.path());
        checkpoint::write_atomic(&paths::slave_info_path(&meta, "S1"), &[200, 0, 0, 0, 1]).unwrap();
        checkpoint::symlink_latest(
            &paths::slave_path(&meta, "S1"),
            &paths::latest_slave_path(&meta),
        )
        .unwrap();
        assert!(recover(&meta, true).is_err());
        let s = recover(&meta, false).unwrap().unwrap();
        assert!(s.info.is_none());
        assert_eq!(s.errors, 1);
    }
}
