//! The agent's directory layout under `--work_dir`, as upstream's
//! `src/slave/paths.{hpp,cpp}`: sandboxes under `slaves/`, checkpoints under
//! `meta/slaves/`, with `latest` symlinks for the agent and executor runs.

use std::path::{Path, PathBuf};

pub const BOOT_ID_FILE: &str = "boot_id";
pub const SLAVE_INFO_FILE: &str = "slave.info";
pub const DRAIN_CONFIG_FILE: &str = "drain.config";
pub const FRAMEWORK_PID_FILE: &str = "framework.pid";
pub const FRAMEWORK_INFO_FILE: &str = "framework.info";
pub const LIBPROCESS_PID_FILE: &str = "libprocess.pid";
pub const EXECUTOR_INFO_FILE: &str = "executor.info";
pub const EXECUTOR_SENTINEL_FILE: &str = "executor.sentinel";
pub const HTTP_MARKER_FILE: &str = "http.marker";
pub const FORKED_PID_FILE: &str = "forked.pid";
pub const TASK_INFO_FILE: &str = "task.info";
pub const TASK_UPDATES_FILE: &str = "task.updates";
pub const RESOURCES_INFO_FILE: &str = "resources.info";

pub const CONTAINERS_DIR: &str = "containers";
pub const SLAVES_DIR: &str = "slaves";
pub const FRAMEWORKS_DIR: &str = "frameworks";
pub const EXECUTORS_DIR: &str = "executors";
pub const EXECUTOR_RUNS_DIR: &str = "runs";
pub const LATEST: &str = "latest";

/// `<work_dir>/meta`.
pub fn meta_root(work_dir: &Path) -> PathBuf {
    work_dir.join("meta")
}

pub fn boot_id_path(meta: &Path) -> PathBuf {
    meta.join(BOOT_ID_FILE)
}

pub fn resources_info_path(meta: &Path) -> PathBuf {
    meta.join("resources").join(RESOURCES_INFO_FILE)
}

/// `<root>/slaves/latest`: a symlink to the current agent's directory.
pub fn latest_slave_path(root: &Path) -> PathBuf {
    root.join(SLAVES_DIR).join(LATEST)
}

/// `<root>/slaves/<slave_id>` (root is the work dir or the meta dir).
pub fn slave_path(root: &Path, slave_id: &str) -> PathBuf {
    root.join(SLAVES_DIR).join(slave_id)
}

pub fn slave_info_path(meta: &Path, slave_id: &str) -> PathBuf {
    slave_path(meta, slave_id).join(SLAVE_INFO_FILE)
}

pub fn framework_path(root: &Path, slave_id: &str, framework_id: &str) -> PathBuf {
    slave_path(root, slave_id)
        .join(FRAMEWORKS_DIR)
        .join(framework_id)
}

pub fn framework_info_path(meta: &Path, slave_id: &str, framework_id: &str) -> PathBuf {
    framework_path(meta, slave_id, framework_id).join(FRAMEWORK_INFO_FILE)
}

pub fn framework_pid_path(meta: &Path, slave_id: &str, framework_id: &str) -> PathBuf {
    framework_path(meta, slave_id, framework_id).join(FRAMEWORK_PID_FILE)
}

pub fn executor_path(
    root: &Path,
    slave_id: &str,
    framework_id: &str,
    executor_id: &str,
) -> PathBuf {
    framework_path(root, slave_id, framework_id)
        .join(EXECUTORS_DIR)
        .join(executor_id)
}

pub fn executor_info_path(meta: &Path, slave_id: &str, fid: &str, eid: &str) -> PathBuf {
    executor_path(meta, slave_id, fid, eid).join(EXECUTOR_INFO_FILE)
}

/// `.../executors/<eid>/runs/latest`.
pub fn executor_latest_run_path(root: &Path, slave_id: &str, fid: &str, eid: &str) -> PathBuf {
    executor_path(root, slave_id, fid, eid)
        .join(EXECUTOR_RUNS_DIR)
        .join(LATEST)
}

/// `.../executors/<eid>/runs/<container_id>`: the sandbox (under the work
/// dir) or the run's checkpoint directory (under the meta dir).
pub fn executor_run_path(root: &Path, slave_id: &str, fid: &str, eid: &str, cid: &str) -> PathBuf {
    executor_path(root, slave_id, fid, eid)
        .join(EXECUTOR_RUNS_DIR)
        .join(cid)
}

pub fn executor_sentinel_path(meta: &Path, sid: &str, fid: &str, eid: &str, cid: &str) -> PathBuf {
    executor_run_path(meta, sid, fid, eid, cid).join(EXECUTOR_SENTINEL_FILE)
}

pub fn forked_pid_path(meta: &Path, sid: &str, fid: &str, eid: &str, cid: &str) -> PathBuf {
    executor_run_path(meta, sid, fid, eid, cid)
        .join("pids")
        .join(FORKED_PID_FILE)
}

pub fn libprocess_pid_path(meta: &Path, sid: &str, fid: &str, eid: &str, cid: &str) -> PathBuf {
    executor_run_path(meta, sid, fid, eid, cid)
        .join("pids")
        .join(LIBPROCESS_PID_FILE)
}

/// `.../runs/<cid>/http.marker`: in the run directory itself, not under
/// `pids/` (upstream `getExecutorHttpMarkerPath`, src/slave/paths.cpp), so a
/// work dir written by a real agent is read right.
pub fn http_marker_path(meta: &Path, sid: &str, fid: &str, eid: &str, cid: &str) -> PathBuf {
    executor_run_path(meta, sid, fid, eid, cid).join(HTTP_MARKER_FILE)
}

/// `.../runs/<cid>/tasks/<task_id>`.
pub fn task_path(meta: &Path, sid: &str, fid: &str, eid: &str, cid: &str, tid: &str) -> PathBuf {
    executor_run_path(meta, sid, fid, eid, cid)
        .join("tasks")
        .join(tid)
}

pub fn task_info_path(
    meta: &Path,
    sid: &str,
    fid: &str,
    eid: &str,
    cid: &str,
    tid: &str,
) -> PathBuf {
    task_path(meta, sid, fid, eid, cid, tid).join(TASK_INFO_FILE)
}

pub fn task_updates_path(
    meta: &Path,
    sid: &str,
    fid: &str,
    eid: &str,
    cid: &str,
    tid: &str,
) -> PathBuf {
    task_path(meta, sid, fid, eid, cid, tid).join(TASK_UPDATES_FILE)
}

/// The identifiers a checkpointed executor run is addressed by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RunKey {
    pub slave_id: String,
    pub framework_id: String,
    pub executor_id: String,
    pub container_id: String,
}

impl RunKey {
    pub fn sandbox(&self, work_dir: &Path) -> PathBuf {
        executor_run_path(
            work_dir,
            &self.slave_id,
            &self.framework_id,
            &self.executor_id,
            &self.container_id,
        )
    }

    pub fn meta_run(&self, meta: &Path) -> PathBuf {
        executor_run_path(
            meta,
            &self.slave_id,
            &self.framework_id,
            &self.executor_id,
            &self.container_id,
        )
    }

    pub fn forked_pid(&self, meta: &Path) -> PathBuf {
        self.meta_run(meta).join("pids").join(FORKED_PID_FILE)
    }

    pub fn libprocess_pid(&self, meta: &Path) -> PathBuf {
        self.meta_run(meta).join("pids").join(LIBPROCESS_PID_FILE)
    }

    pub fn sentinel(&self, meta: &Path) -> PathBuf {
        self.meta_run(meta).join(EXECUTOR_SENTINEL_FILE)
    }

    pub fn task_info(&self, meta: &Path, task_id: &str) -> PathBuf {
        self.meta_run(meta)
            .join("tasks")
            .join(task_id)
            .join(TASK_INFO_FILE)
    }

    pub fn task_updates(&self, meta: &Path, task_id: &str) -> PathBuf {
        self.meta_run(meta)
            .join("tasks")
            .join(task_id)
            .join(TASK_UPDATES_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_upstream() {
        let w = Path::new("/w");
        let m = meta_root(w);
        assert_eq!(m, Path::new("/w/meta"));
        assert_eq!(
            slave_info_path(&m, "S0"),
            Path::new("/w/meta/slaves/S0/slave.info")
        );
        assert_eq!(
            framework_pid_path(&m, "S0", "F1"),
            Path::new("/w/meta/slaves/S0/frameworks/F1/framework.pid")
        );
        assert_eq!(
            executor_info_path(&m, "S0", "F1", "E"),
            Path::new("/w/meta/slaves/S0/frameworks/F1/executors/E/executor.info")
        );
        assert_eq!(
            forked_pid_path(&m, "S0", "F1", "E", "C"),
            Path::new("/w/meta/slaves/S0/frameworks/F1/executors/E/runs/C/pids/forked.pid")
        );
        assert_eq!(
            task_updates_path(&m, "S0", "F1", "E", "C", "T"),
            Path::new("/w/meta/slaves/S0/frameworks/F1/executors/E/runs/C/tasks/T/task.updates")
        );
        let k = RunKey {
            slave_id: "S0".into(),
            framework_id: "F1".into(),
            executor_id: "E".into(),
            container_id: "C".into(),
        };
        assert_eq!(
            k.sandbox(w),
            Path::new("/w/slaves/S0/frameworks/F1/executors/E/runs/C")
        );
        assert_eq!(
            k.libprocess_pid(&m),
            libprocess_pid_path(&m, "S0", "F1", "E", "C")
        );
        assert_eq!(
            k.task_info(&m, "T"),
            task_info_path(&m, "S0", "F1", "E", "C", "T")
        );
        assert_eq!(
            executor_latest_run_path(w, "S0", "F1", "E"),
            Path::new("/w/slaves/S0/frameworks/F1/executors/E/runs/latest")
        );
        assert_eq!(latest_slave_path(&m), Path::new("/w/meta/slaves/latest"));
    }
}
