//! `mesos-fetcher`: fetches a container's URIs into its sandbox (upstream
//! src/launcher/fetcher.cpp). The agent runs it from `--launcher_dir` with
//! the job in `MESOS_FETCHER_INFO` (JSON of `mesos.fetcher.FetcherInfo`) and
//! the sandbox's `stdout`/`stderr` as its output; exit status 0 when every
//! URI was fetched, 1 otherwise. The work is `mesos_agent::fetcher::program`.

use mesos_agent::fetcher::{program, FETCHER_INFO_ENV};
use mesos_proto::mesos::fetcher::FetcherInfo;

const USAGE: &str = "Usage: mesos-fetcher [options]\n\n\
Fetches the URIs described by the MESOS_FETCHER_INFO environment variable\n\
(JSON of mesos.fetcher.FetcherInfo) into its sandbox directory.\n\n\
  --help                 Prints this help message\n\
  --[no-]quiet, --logging_level=VALUE, --log_dir=VALUE, --logbufsecs=VALUE,\n\
  --external_log_file=VALUE, --[no-]initialize_driver_logging\n\
                         Logging flags (accepted; logs go to stderr)\n";

/// Upstream's logging flags, accepted (and ignored) as `--name[=value]`.
const LOGGING_FLAGS: [&str; 6] = [
    "quiet",
    "logging_level",
    "log_dir",
    "logbufsecs",
    "external_log_file",
    "initialize_driver_logging",
];

fn main() {
    for a in std::env::args().skip(1) {
        if a == "--help" || a == "-h" {
            print!("{USAGE}");
            return;
        }
        let name = a.trim_start_matches("--").split('=').next().unwrap_or("");
        let name = name.strip_prefix("no-").unwrap_or(name);
        if !a.starts_with("--") || !LOGGING_FLAGS.contains(&name) {
            eprintln!("Failed to load unknown flag '{name}'\n\n{USAGE}");
            std::process::exit(1);
        }
    }
    mesos_cli::init_logging();
    let Ok(json) = std::env::var(FETCHER_INFO_ENV) else {
        eprintln!("Missing {FETCHER_INFO_ENV} environment variable");
        std::process::exit(1);
    };
    tracing::info!("Fetcher Info: {json}");
    let info: FetcherInfo = match mesos_proto::json::from_json(&json) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("Failed to parse FetcherInfo: {e}");
            std::process::exit(1);
        }
    };
    match program::run(&info) {
        Ok(_) => tracing::info!(
            "Successfully fetched all URIs into '{}'",
            info.sandbox_directory
        ),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
}
