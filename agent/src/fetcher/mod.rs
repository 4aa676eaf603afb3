//! The fetcher: `CommandInfo.uris` into the sandbox before the executor runs.
//!
//! - [`process`]: the agent's side (upstream `src/slave/containerizer/fetcher.cpp`
//!   `FetcherProcess`): validate the URIs, decide per URI whether to bypass
//!   the cache, download into it or retrieve from it ([`cache`] keeps the
//!   table, the space accounting and LRU eviction), then run
//!   `<launcher_dir>/mesos-fetcher` with the `FetcherInfo` in
//!   `MESOS_FETCHER_INFO`, its output going to the sandbox's
//!   `stdout`/`stderr` (this module's [`run_program`]).
//! - [`program`]: what `mesos-fetcher` does with a `FetcherInfo` (upstream
//!   `src/launcher/fetcher.cpp`): copy local files, download `http(s)://`,
//!   extract archives, `chmod` executables, into the sandbox or the cache
//!   and from the cache into the sandbox.
//! - [`download`]: the small HTTP/1.1 client (plain and TLS) the downloads use.

pub mod cache;
#[cfg(test)]
mod cache_tests;
pub mod download;
pub mod process;
pub mod program;

use std::path::{Path, PathBuf};

use mesos_proto::mesos::command_info::Uri;
use mesos_proto::mesos::fetcher::FetcherInfo;

pub use process::{Fetcher, FetcherSettings};

/// `MESOS_FETCHER_INFO`: the variable the fetcher program reads its job from.
pub const FETCHER_INFO_ENV: &str = "MESOS_FETCHER_INFO";

/// The binary upstream runs from `--launcher_dir`.
pub const MESOS_FETCHER: &str = "mesos-fetcher";

/// One container's fetch (upstream `Fetcher::fetch`'s arguments).
#[derive(Clone, Debug, Default)]
pub struct FetchRequest {
    pub container_id: String,
    pub uris: Vec<Uri>,
    pub sandbox: PathBuf,
    /// Fetch as this user (the task's), as upstream's `os::su` in the
    /// program; also names the user's cache directory.
    pub user: Option<String>,
}

/// `Fetcher::basename`: the last `/`-separated piece of a URI (URIs are
/// treated like paths, as upstream does). Names that would not be a file in
/// the sandbox (`.`, `..`, empty) are refused, which upstream does not do.
pub fn basename(uri: &str) -> Result<String, String> {
    if uri.contains(['\\', '\'', '\0']) {
        return Err("Illegal characters in URI".into());
    }
    let name = match uri.find("://") {
        Some(i) if i > 1 => {
            let path = &uri[i + 3..];
            match path.find('/') {
                Some(slash) if path.len() > slash + 1 => {
                    path.rsplit('/').next().unwrap_or_default().to_string()
                }
                _ => return Err(format!("Malformed URI (missing path): {uri}")),
            }
        }
        _ => {
            let trimmed = uri.trim_end_matches('/');
            match trimmed.rsplit('/').next() {
                Some(n) if !n.is_empty() => n.to_string(),
                _ if uri.starts_with('/') => "/".to_string(),
                _ => ".".to_string(),
            }
        }
    };
    if name.is_empty() || name == "." || name == ".." || name == "/" {
        return Err(format!("Malformed URI (no file name): {uri}"));
    }
    Ok(name)
}

/// `Fetcher::validateOutputFile`, plus: no `..` component (upstream leaves
/// that as a TODO, letting a task write outside its sandbox).
pub fn validate_output_file(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("URI output file path is empty".into());
    }
    if path.contains('\0') {
        return Err("Illegal characters in URI output file".into());
    }
    if path.starts_with('/') {
        return Err("URI output file must be within the sandbox directory".into());
    }
    if Path::new(path)
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err("URI output file must be within the sandbox directory".into());
    }
    Ok(())
}

/// `validateUris`.
pub fn validate_uris(uris: &[Uri]) -> Result<(), String> {
    for u in uris {
        basename(u.value.trim_start())?;
        if let Some(o) = &u.output_file {
            validate_output_file(o)?;
        }
    }
    Ok(())
}

/// Creates (truncating) the sandbox's `stdout`/`stderr`, owned by `user`.
fn open_output(
    sandbox: &Path,
    name: &str,
    owner: Option<&nix::unistd::User>,
) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    let p = sandbox.join(name);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(&p)
        .map_err(|e| format!("Failed to create '{name}' file: {e}"))?;
    if let Some(u) = owner {
        nix::unistd::chown(&p, Some(u.uid), Some(u.gid)).map_err(|e| {
            format!(
                "Failed to chown '{}' to user '{}' : {e}",
                p.display(),
                u.name
            )
        })?;
    }
    Ok(f)
}

/// `FetcherProcess::run`: runs `mesos-fetcher` with `info` for `req`'s
/// container, its output in the sandbox's `stdout`/`stderr`. Blocks until
/// the program exits.
pub fn run_program(
    settings: &FetcherSettings,
    req: &FetchRequest,
    info: &FetcherInfo,
) -> Result<(), String> {
    // The program drops to the task's user; the sandbox must be theirs, as
    // upstream's `createExecutorDirectory` makes it.
    let owner = match &req.user {
        Some(name) => Some(
            nix::unistd::User::from_name(name)
                .ok()
                .flatten()
                .ok_or_else(|| format!("Could not fetch: no such user '{name}'"))?,
        ),
        None => None,
    };
    if let Some(u) = &owner {
        nix::unistd::chown(&req.sandbox, Some(u.uid), Some(u.gid)).map_err(|e| {
            format!(
                "Failed to chown '{}' to user '{}': {e}",
                req.sandbox.display(),
                u.name
            )
        })?;
    }
    let out = open_output(&req.sandbox, "stdout", owner.as_ref())?;
    let err = open_output(&req.sandbox, "stderr", owner.as_ref())?;
    let program =
        std::fs::canonicalize(settings.launcher_dir.join(MESOS_FETCHER)).map_err(|e| {
            tracing::error!(
                "Failed to determine the canonical path for the mesos-fetcher '{}': {e}",
                settings.launcher_dir.join(MESOS_FETCHER).display()
            );
            "Could not fetch URIs: failed to find mesos-fetcher".to_string()
        })?;
    let info = mesos_proto::json::to_json(info)
        .map_err(|e| format!("Failed to serialize FetcherInfo: {e}"))?;
    // The agent's environment minus its MESOS_*/LIBPROCESS_* settings,
    // except the logging ones the program understands (upstream's whitelist).
    const KEEP: [&str; 6] = [
        "MESOS_EXTERNAL_LOG_FILE",
        "MESOS_INITIALIZE_DRIVER_LOGGING",
        "MESOS_LOG_DIR",
        "MESOS_LOGBUFSECS",
        "MESOS_LOGGING_LEVEL",
        "MESOS_QUIET",
    ];
    let mut cmd = std::process::Command::new(&program);
    cmd.env_clear();
    for (k, v) in std::env::vars() {
        if KEEP.contains(&k.to_uppercase().as_str())
            || (!k.starts_with("LIBPROCESS_") && !k.starts_with("MESOS_"))
        {
            cmd.env(k, v);
        }
    }
    cmd.env(FETCHER_INFO_ENV, info)
        .env("LIBPROCESS_IP", "127.0.0.1")
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err);
    if let Some(h) = &settings.hadoop_home {
        cmd.env("HADOOP_HOME", h);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("Failed to execute mesos-fetcher: {e}"))?;
    if status.success() {
        return Ok(());
    }
    let log = std::fs::read_to_string(req.sandbox.join("stderr")).unwrap_or_default();
    tracing::warn!(
        "Begin fetcher log (stderr in sandbox) for container {} from running command: {}\n{log}\nEnd fetcher log for container {}",
        req.container_id,
        program.display(),
        req.container_id
    );
    use std::os::unix::process::ExitStatusExt;
    Err(format!(
        "Failed to fetch all URIs for container '{}': {}",
        req.container_id,
        crate::slave::tasks::describe_status(Some(status.into_raw()))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basenames_like_upstream() {
        assert_eq!(basename("http://h/a/b.tar.gz").unwrap(), "b.tar.gz");
        assert_eq!(basename("file:///tmp/x.txt").unwrap(), "x.txt");
        assert_eq!(basename("/tmp/x.txt").unwrap(), "x.txt");
        assert_eq!(basename("rel/y").unwrap(), "y");
        assert!(basename("http://host").is_err());
        assert!(basename("http://host/").is_err());
        assert!(basename("http://host/a/..").is_err());
        assert!(basename("http://host/a/").is_err());
        assert!(basename("/tmp/it's").is_err());
        assert!(basename("/tmp/a\\b").is_err());
    }

    #[test]
    fn output_files_stay_in_the_sandbox() {
        assert!(validate_output_file("a/b.txt").is_ok());
        assert!(validate_output_file("").is_err());
        assert!(validate_output_file("/etc/x").is_err());
        assert!(validate_output_file("../x").is_err());
        assert!(validate_output_file("a/../../x").is_err());
    }

    #[test]
    fn fetcher_info_round_trips_through_json() {
        use mesos_proto::mesos::fetcher::fetcher_info::{item::Action, Item};
        let item = |action: Action, file: Option<&str>| Item {
            uri: Uri {
                value: "http://h/a.tgz".into(),
                extract: Some(true),
                cache: Some(action != Action::BypassCache),
                ..Default::default()
            },
            action: action as i32,
            cache_filename: file.map(str::to_string),
        };
        let info = FetcherInfo {
            sandbox_directory: "/sb".into(),
            cache_directory: Some("/tmp/mesos/fetch/alice".into()),
            items: vec![
                item(Action::BypassCache, None),
                item(Action::DownloadAndCache, Some("c1-a.tgz")),
                item(Action::RetrieveFromCache, Some("c1-a.tgz")),
            ],
            user: Some("alice".into()),
            frameworks_home: None,
            stall_timeout: Some(mesos_proto::mesos::DurationInfo {
                nanoseconds: 60_000_000_000,
            }),
        };
        let json = mesos_proto::json::to_json(&info).unwrap();
        for action in ["BYPASS_CACHE", "DOWNLOAD_AND_CACHE", "RETRIEVE_FROM_CACHE"] {
            assert!(json.contains(&format!("\"action\":\"{action}\"")), "{json}");
        }
        let back: FetcherInfo = mesos_proto::json::from_json(&json).unwrap();
        assert_eq!(back, info);
    }
}
