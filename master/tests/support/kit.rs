//! The real Mesos 1.9.0 kit (`../shared/ref-mesos`) for interop tests.

use std::path::PathBuf;

/// The kit's `bin/` (`$MESOS_REF_HOME`, default `~/.cache/mesos-ref-1.9.0`),
/// or `None` with a SKIP line when it is not built.
pub fn kit_bin() -> Option<PathBuf> {
    let home = std::env::var("MESOS_REF_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/mesos-ref-1.9.0")
        });
    let bin = home.join("bin");
    if bin.join("mesos-ref-local").exists() && bin.join("mesos-ref-agent").exists() {
        Some(bin)
    } else {
        eprintln!(
            "SKIP: real Mesos 1.9.0 kit not found at {} (run /work/shared/ref-mesos/setup.sh)",
            bin.display()
        );
        None
    }
}
