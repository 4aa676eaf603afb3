//! The process-wide verbose logging level: upstream libprocess `Logging`
//! (3rdparty/libprocess/include/process/logging.hpp), which holds glog's
//! `FLAGS_v`, lets the `SET_LOGGING_LEVEL` calls raise it for a while and then
//! puts the original level back.
//!
//! The binaries own the log subscriber, so they register how a level is
//! applied ([`install`]); libraries only read and set the level.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

static LEVEL: AtomicU32 = AtomicU32::new(0);
static GENERATION: AtomicU64 = AtomicU64::new(0);
type Apply = Box<dyn Fn(u32) + Send + Sync>;
static APPLY: OnceLock<Apply> = OnceLock::new();

/// Registers how a verbose level reaches the log subscriber (once per
/// process; later calls are ignored). The starting level is 0.
pub fn install(apply: impl Fn(u32) + Send + Sync + 'static) {
    let _ = APPLY.set(Box::new(apply));
}

/// The current verbose level (upstream `FLAGS_v`).
pub fn level() -> u32 {
    LEVEL.load(Ordering::SeqCst)
}

fn set(level: u32) {
    LEVEL.store(level, Ordering::SeqCst);
    if let Some(apply) = APPLY.get() {
        apply(level);
    }
}

/// Sets the level, and unless it is the original (0) level, puts the
/// original back after `duration`. A later call supersedes the pending revert,
/// as upstream's single `timeout` does.
pub fn set_level(level: u32, duration: Duration) {
    let generation = GENERATION.fetch_add(1, Ordering::SeqCst) + 1;
    set(level);
    if level != 0 {
        std::thread::spawn(move || {
            std::thread::sleep(duration);
            if GENERATION.load(Ordering::SeqCst) == generation {
                set(0);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_level_reverts_after_its_duration_unless_superseded() {
        set_level(2, Duration::from_millis(50));
        assert_eq!(level(), 2);
        // Superseded: the first revert must not fire.
        set_level(3, Duration::from_secs(600));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(level(), 3);
        set_level(1, Duration::from_millis(10));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while level() != 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(level(), 0);
    }
}
