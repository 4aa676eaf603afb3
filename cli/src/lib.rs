//! Start-up code shared by the binaries.
//!
//! # Layout
//! - `src/bin/*`: one file per upstream binary name.
//! - [`init_logging`]: glog-like logging to stderr (`MESOS_LOG` filter).
//! - [`agent_slave`]: builds an agent actor (`SlaveInfo`, resources,
//!   containerizer) from loaded agent flags, for `mesos-agent` and `mesos-local`.
//! - [`wait_for_signal`]: runs until SIGTERM/SIGINT or until a process ends.
//! - [`events_until`]: the ZooKeeper events the master and agent forward.
//! - [`spawn_files`], [`attach_log`]: the `files` process and the daemon's
//!   log in it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use libprocess::runtime::tokio::Runtime;
use libprocess::Upid;
use mesos_agent::resources::{agent_resources, parse_attributes, Machine};
use mesos_agent::slave::linux::LinuxAgentContainerizer;
use mesos_agent::slave::{Containerizer, PosixContainerizer, Slave};
use mesos_agent::AgentConfig;
use mesos_proto::mesos::SlaveInfo;

/// Logs to stderr with the `MESOS_LOG` filter (default `info`).
pub fn init_logging() {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{reload, EnvFilter};
    // Verbose level 0 is `MESOS_LOG` (default `info`); the operator's
    // SET_LOGGING_LEVEL raises it for a while: 1 is debug, 2 and up trace.
    let base = std::env::var("MESOS_LOG").ok();
    let filter_for = move |level: u32| match level {
        0 => base
            .as_deref()
            .and_then(|b| EnvFilter::try_new(b).ok())
            .unwrap_or_else(|| EnvFilter::new("info")),
        1 => EnvFilter::new("debug"),
        _ => EnvFilter::new("trace"),
    };
    let (filter, handle) = reload::Layer::new(filter_for(0));
    tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .init();
    libprocess::logging::install(move |level| {
        let _ = handle.reload(filter_for(level));
    });
}

/// The directory of the running binary: where `mesos-executor` and
/// `mesos-containerizer` live (upstream's default `--launcher_dir`).
pub fn exe_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Builds an agent actor from loaded flags, advertised at `addr`: its
/// `SlaveInfo` (hostname, resources with auto-detection, attributes) and the
/// containerizer `--launcher` names (`posix` or `linux`) with the
/// `--isolation` isolators.
pub fn agent_slave(
    flags: &stout::AgentFlags,
    addr: SocketAddr,
) -> anyhow::Result<(AgentConfig, Slave)> {
    let config =
        AgentConfig::from_agent_flags(flags, exe_dir()).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(&config.work_dir).with_context(|| {
        format!(
            "Failed to create work directory '{}'",
            config.work_dir.display()
        )
    })?;
    let hostname = match &config.hostname {
        Some(h) => h.clone(),
        None => mesos_agent::config::agent_hostname(addr.ip(), config.hostname_lookup),
    };
    let resources = agent_resources(
        config.resources.as_deref(),
        &config.default_role,
        &Machine::detect(&config.work_dir),
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let info = SlaveInfo {
        hostname,
        port: Some(addr.port() as i32),
        resources,
        attributes: config
            .attributes
            .as_deref()
            .map(parse_attributes)
            .unwrap_or_default(),
        checkpoint: Some(true),
        ..Default::default()
    };
    // `--launcher` picks the containerizer as `MesosContainerizer::create`
    // picks the launcher: `linux` drives the Linux isolators (namespaces,
    // cgroups, images), `posix` forks in a new session.
    let containerizer: Arc<dyn Containerizer> = match config.launcher.as_str() {
        "linux" => Arc::new(
            LinuxAgentContainerizer::new(flags, &config.launcher_dir)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
        "posix" => Arc::new(
            PosixContainerizer::from_isolation(&config.isolation)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
        other => anyhow::bail!("Unknown or unsupported launcher: {other}"),
    };
    let slave = Slave::new(config.clone(), info, containerizer);
    // Upstream's `Fetcher` constructor (made in the agent's main): the
    // cache starts empty, so a previous run's cache files are deleted.
    slave
        .fetcher()
        .clear_cache_directory()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((config, slave))
}

/// Spawns the `files` process (`/files/browse`, ...) over `files`, as
/// upstream's `Files` constructor does in each daemon's main.
pub fn spawn_files(runtime: &Runtime, files: mesos_files::Files) {
    runtime.spawn(
        mesos_files::FilesProcess::ID,
        mesos_files::FilesProcess::new(files),
    );
}

/// Exposes the daemon's log at `virtual_path` (`/master/log`, `/slave/log`):
/// `--external_log_file`, else the glog-style `<log_dir>/<program>.INFO`
/// if present (upstream `Master::initialize` / `Slave::initialize`).
pub fn attach_log(
    files: &mesos_files::Files,
    external_log_file: Option<&str>,
    log_dir: Option<&str>,
    program: &str,
    virtual_path: &str,
) {
    let path = match (external_log_file, log_dir) {
        (Some(f), _) if !f.is_empty() => PathBuf::from(f),
        (_, Some(d)) if !d.is_empty() => PathBuf::from(d).join(format!("{program}.INFO")),
        _ => return,
    };
    match files.attach(&path, virtual_path) {
        Ok(()) => tracing::info!(
            "Attached '{}' to virtual path '{virtual_path}'",
            path.display()
        ),
        Err(e) => tracing::error!("Failed to attach log file '{}': {e}", path.display()),
    }
}

/// Blocks until SIGTERM/SIGINT (returns `true`) or until `pid` is no longer
/// running (returns `false`).
pub fn wait_for_signal(runtime: &Runtime, pid: &Upid) -> bool {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        runtime.handle().spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            match (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) {
                (Ok(mut t), Ok(mut i)) => {
                    tokio::select! {
                        _ = t.recv() => tracing::info!("Received signal SIGTERM; exiting"),
                        _ = i.recv() => tracing::info!("Received signal SIGINT; exiting"),
                    }
                    stop.store(true, Ordering::SeqCst);
                }
                _ => tracing::warn!("Failed to install signal handlers"),
            }
        });
    }
    while runtime.is_running(pid) && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.load(Ordering::SeqCst)
}

/// The events of `rx` (the ZooKeeper contender's or detector's) until
/// `stop` is set or the sender is gone.
pub fn events_until<'a, T>(
    rx: &'a std::sync::mpsc::Receiver<T>,
    stop: &'a AtomicBool,
) -> impl Iterator<Item = T> + 'a {
    std::iter::from_fn(move || {
        while !stop.load(Ordering::SeqCst) {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(e) => return Some(e),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => continue,
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
        None
    })
}
