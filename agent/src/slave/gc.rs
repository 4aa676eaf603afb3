//! Sandbox and checkpoint garbage collection (upstream `GarbageCollector`,
//! src/slave/gc.cpp, and `Slave::garbageCollect` / `checkDiskUsage`):
//! directories of finished executors and removed frameworks are removed
//! `--gc_delay` after their last modification; every
//! `--disk_watch_interval` the work_dir's file system usage shortens that
//! age to `gc_delay × max(0, 1 − gc_disk_headroom − usage)`, pruning what
//! is due within `gc_delay − age`; a directory taken into use again (a
//! framework or executor relaunched here) is unscheduled.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libprocess::Cx;

use super::Slave;

/// Paths scheduled for removal, with their removal time (wall seconds).
#[derive(Debug, Default)]
pub struct Gc {
    scheduled: BTreeMap<PathBuf, f64>,
}

impl Gc {
    /// Schedules `path` for removal at `at`, replacing an earlier schedule.
    pub fn schedule(&mut self, path: PathBuf, at: f64) {
        self.scheduled.insert(path, at);
    }

    /// Takes `path` off the schedule; whether it was on it.
    pub fn unschedule(&mut self, path: &Path) -> bool {
        self.scheduled.remove(path).is_some()
    }

    /// Takes off and returns the paths due at `now`, or within `within`
    /// of it (upstream `prune`).
    pub fn take_due(&mut self, now: f64, within: Duration) -> Vec<PathBuf> {
        let horizon = now + within.as_secs_f64();
        let due: Vec<PathBuf> = self
            .scheduled
            .iter()
            .filter(|(_, at)| **at <= horizon)
            .map(|(p, _)| p.clone())
            .collect();
        for p in &due {
            self.scheduled.remove(p);
        }
        due
    }

    pub fn is_scheduled(&self, path: &Path) -> bool {
        self.scheduled.contains_key(path)
    }
}

/// Upstream `Slave::age`: how old a directory may get at this disk usage.
pub fn max_allowed_age(gc_delay: Duration, headroom: f64, usage: f64) -> Duration {
    gc_delay.mul_f64((1.0 - headroom - usage).clamp(0.0, 1.0))
}

/// The used share of the file system holding `path` (upstream `fs::usage`).
fn disk_usage(path: &Path) -> std::io::Result<f64> {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a plain struct
    // statvfs fills in.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let total = st.f_blocks as f64;
    if total == 0.0 {
        return Ok(0.0);
    }
    Ok((total - st.f_bfree as f64) / total)
}

fn remove(paths: Vec<PathBuf>) {
    for p in &paths {
        match std::fs::remove_dir_all(p) {
            Ok(()) => tracing::info!("Deleted '{}'", p.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!("Failed to delete '{}': {e}", p.display()),
        }
    }
}

impl Slave {
    /// `Slave::garbageCollect`: removes each path `--gc_delay` after its
    /// modification time (now, for a path we cannot stat).
    pub(crate) fn garbage_collect(&mut self, cx: &mut Cx<'_, Self>, paths: Vec<PathBuf>) {
        let now = cx.wall_secs();
        let gc_delay = self.config.gc_delay;
        for p in paths {
            let mtime = std::fs::metadata(&p)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs_f64().min(now))
                .unwrap_or(now);
            let at = mtime + gc_delay.as_secs_f64();
            tracing::info!(
                "Scheduling '{}' for gc {:.0}s in the future",
                p.display(),
                (at - now).max(0.0)
            );
            self.gc.schedule(p.clone(), at);
            let wait = Duration::from_secs_f64((at - now).max(0.0));
            cx.delay(wait, move |s: &mut Slave, cx| {
                // Still scheduled, and for no later time (not unscheduled
                // or rescheduled meanwhile).
                let now = cx.wall_secs();
                if s.gc.scheduled.get(&p).is_some_and(|t| *t <= now + 1e-3) {
                    s.gc.unschedule(&p);
                    cx.blocking(move || remove(vec![p]), |_: &mut Slave, _, _| {});
                }
            });
        }
    }

    /// A directory is in use again (a framework or executor relaunched on
    /// this agent): keep it.
    pub(crate) fn gc_unschedule(&mut self, paths: &[PathBuf]) {
        for p in paths {
            if self.gc.unschedule(p) {
                tracing::info!("Unscheduled '{}' from gc", p.display());
            }
        }
    }

    /// `Slave::checkDiskUsage`, every `--disk_watch_interval`.
    pub(crate) fn check_disk_usage(&mut self, cx: &mut Cx<'_, Self>) {
        let interval = self.config.disk_watch_interval;
        match disk_usage(&self.config.work_dir) {
            Ok(usage) => {
                let age =
                    max_allowed_age(self.config.gc_delay, self.config.gc_disk_headroom, usage);
                tracing::info!(
                    "Current disk usage {:.2}%. Max allowed age: {age:?}",
                    100.0 * usage
                );
                let within = self.config.gc_delay.saturating_sub(age);
                let due = self.gc.take_due(cx.wall_secs(), within);
                if !due.is_empty() {
                    tracing::info!("Pruning {} directories early", due.len());
                    cx.blocking(move || remove(due), |_: &mut Slave, _, _| {});
                }
            }
            Err(e) => tracing::error!("Failed to get disk usage: {e}"),
        }
        cx.delay(interval, |s: &mut Slave, cx| s.check_disk_usage(cx));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_shrinks_with_disk_usage_as_upstream() {
        let week = Duration::from_secs(7 * 86400);
        assert_eq!(max_allowed_age(week, 0.1, 0.0), week.mul_f64(0.9));
        assert_eq!(max_allowed_age(week, 0.1, 0.5), week.mul_f64(0.4));
        assert_eq!(max_allowed_age(week, 0.1, 0.95), Duration::ZERO);
    }

    #[test]
    fn unscheduled_paths_are_not_due_and_pruning_takes_what_is_close() {
        let mut gc = Gc::default();
        gc.schedule("/w/a".into(), 100.0);
        gc.schedule("/w/b".into(), 500.0);
        gc.schedule("/w/c".into(), 50.0);
        assert!(gc.unschedule(Path::new("/w/c")));
        assert!(!gc.unschedule(Path::new("/w/c")));
        assert!(gc.take_due(10.0, Duration::ZERO).is_empty());
        assert_eq!(
            gc.take_due(10.0, Duration::from_secs(100)),
            vec![PathBuf::from("/w/a")]
        );
        assert!(gc.is_scheduled(Path::new("/w/b")));
        assert_eq!(
            gc.take_due(500.0, Duration::ZERO),
            vec![PathBuf::from("/w/b")]
        );
    }

    #[test]
    fn disk_usage_is_a_share() {
        let u = disk_usage(Path::new("/")).unwrap();
        assert!((0.0..=1.0).contains(&u), "{u}");
    }
}
