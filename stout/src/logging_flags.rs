//! The logging flags both daemons inherit (`src/logging/flags.cpp`).

use crate::flag::{FlagSpec, FlagType, FlagValue};
use crate::flags::FlagsBase;

/// Adds `quiet`, `logging_level`, `log_dir`, `logbufsecs`,
/// `initialize_driver_logging` and `external_log_file` with upstream defaults.
pub fn add_logging_flags(base: &mut FlagsBase) {
    base.add(FlagSpec::with_default(
        "quiet",
        FlagType::Bool,
        FlagValue::Bool(false),
        "Do not log to standard error.",
    ));
    base.add(FlagSpec::with_default(
        "logging_level",
        FlagType::String,
        FlagValue::String("INFO".into()),
        "Lowest severity that is logged: `INFO`, `WARNING` or `ERROR`.\n\
         With `--quiet` this only applies to the files under `--log_dir`.",
    ));
    base.add(FlagSpec::optional(
        "log_dir",
        FlagType::String,
        "Directory for log files; unset means no log files are written.\n\
         The files are also served to the web UI.",
    ));
    base.add(FlagSpec::with_default(
        "logbufsecs",
        FlagType::Int,
        FlagValue::Int(0),
        "Seconds for which log lines may be buffered before a flush.",
    ));
    base.add(FlagSpec::with_default(
        "initialize_driver_logging",
        FlagType::Bool,
        FlagValue::Bool(true),
        "Whether scheduler and executor drivers started by this process set up\n\
         logging the same way (no effect on the HTTP APIs).",
    ));
    base.add(FlagSpec::optional(
        "external_log_file",
        FlagType::String,
        "A log file written by something else (e.g. syslog) that the web UI and\n\
         HTTP API should expose; ignored with `--quiet`.",
    ));
}
