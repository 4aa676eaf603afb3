//! `mesos-agent`: the Mesos agent daemon (upstream src/slave/main.cpp).
//!
//! Loads the agent flags (`MESOS_*` environment, then `--name=value`),
//! binds libprocess on `--ip`/`--port` (5051), builds the agent's
//! `SlaveInfo` and the containerizer `--launcher` names (posix, or linux
//! with the `--isolation` isolators) through [`mesos_cli::agent_slave`], and spawns the
//! agent as `slave(1)`, which is also the HTTP delegate so `/state` works.

use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{bail, Context};
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use mesos_agent::slave::registration::zk_master_url;
use mesos_agent::{AgentConfig, Slave};
use mesos_zookeeper::master::{master_pid, spawn_master_detector, MasterEvent};
use mesos_zookeeper::ZkUrl;

/// Runs the ZooKeeper detector's verdicts on the agent until `stop`
/// (upstream `Slave::detected` after `MasterDetector::detect`).
fn forward_detection(
    runtime: &Runtime,
    pid: &libprocess::Upid,
    rx: std::sync::mpsc::Receiver<MasterEvent>,
    stop: &AtomicBool,
) {
    for event in mesos_cli::events_until(&rx, stop) {
        let master = match event {
            MasterEvent::Leader(Some(info)) => {
                match master_pid(&info).map(|p| libprocess::Upid::parse(&p)) {
                    Some(Ok(pid)) => Some(pid),
                    _ => {
                        tracing::warn!("Leading master {} has no usable pid", info.id);
                        None
                    }
                }
            }
            MasterEvent::Leader(None) => None,
            MasterEvent::DetectionFailed(e) => {
                tracing::error!("Failed to detect a master: {e}");
                std::process::exit(1);
            }
            MasterEvent::CandidacyLost => continue,
        };
        runtime.dispatch::<Slave>(pid, move |s, cx| s.master_detected(cx, master));
    }
}

fn run() -> anyhow::Result<()> {
    // Flags as `src/slave/main.cpp`: `MESOS_*` environment, then the
    // command line; `--help` / `--version` win over load errors.
    let mut flags = stout::AgentFlags::new();
    let load = flags.load_from(std::env::vars(), std::env::args());
    if flags.help() {
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = writeln!(std::io::stdout(), "{}", flags.usage(None));
        return Ok(());
    }
    if flags.base().get_bool("version") == Some(true) {
        let _ = writeln!(std::io::stdout(), "mesos 1.9.0");
        return Ok(());
    }
    let warnings = load.map_err(|e| {
        anyhow::anyhow!("{e}\n\nSee `mesos-agent --help` for a list of supported flags.")
    })?;
    for w in &warnings.messages {
        eprintln!("WARNING: {w}");
    }
    let config = AgentConfig::from_agent_flags(&flags, mesos_cli::exe_dir())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if config.master.is_none() {
        bail!("Missing required option `--master`");
    }

    // Upstream's main exports --ip/--port as LIBPROCESS_* before libprocess
    // initializes; we build the transport config the same way.
    let mut tc = TransportConfig::from_env().context("Bad LIBPROCESS_* environment")?;
    if let Some(ip) = &config.ip {
        tc.ip = ip
            .parse::<IpAddr>()
            .with_context(|| format!("Invalid --ip '{ip}'"))?;
        std::env::set_var("LIBPROCESS_IP", ip);
    }
    tc.port = config.port;
    if let Some(ip) = &config.advertise_ip {
        tc.advertise_ip = Some(
            ip.parse()
                .with_context(|| format!("Invalid --advertise_ip '{ip}'"))?,
        );
    }
    if let Some(p) = config.advertise_port {
        tc.advertise_port = Some(p);
    }
    let runtime = Runtime::start(tc).context("Failed to initialize libprocess")?;
    let addr = runtime.addr();

    let (_, slave) = mesos_cli::agent_slave(&flags, addr)?;
    mesos_cli::spawn_files(&runtime, slave.files().clone());
    mesos_cli::attach_log(
        slave.files(),
        flags.base().get_str("external_log_file"),
        flags.base().get_str("log_dir"),
        "mesos-agent",
        "/slave/log",
    );

    let id = runtime.node().generate_id("slave");
    let pid = runtime.spawn(&id, slave);
    runtime.set_delegate(Some(&id));
    tracing::info!("Agent started as {pid}");

    // `--master=zk://...`: follow the leader the group elects.
    let zk = match config.master.as_deref().and_then(zk_master_url) {
        Some(url) => {
            Some(ZkUrl::parse(&url).map_err(|e| anyhow::anyhow!("Failed to parse --master: {e}"))?)
        }
        None => None,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(zk) = zk {
        tracing::info!("Detecting the leading master at {zk}");
        let _guard = runtime.handle().enter();
        let timeout = flags
            .zk_session_timeout()
            .to_std()
            .unwrap_or(Duration::from_secs(10));
        spawn_master_detector(zk, timeout, None, tx);
    } else {
        drop(tx);
    }
    let stop = AtomicBool::new(false);
    // Run until SIGTERM/SIGINT or until the agent terminates (ShutdownMessage).
    let signalled = std::thread::scope(|s| {
        s.spawn(|| forward_detection(&runtime, &pid, rx, &stop));
        let signalled = mesos_cli::wait_for_signal(&runtime, &pid);
        stop.store(true, Ordering::SeqCst);
        signalled
    });
    if signalled {
        // Executors of checkpointing frameworks keep running for recovery.
        std::process::exit(0);
    }
    runtime.shutdown();
    Ok(())
}

pub fn main() {
    mesos_cli::init_logging();
    if let Err(e) = run() {
        eprintln!("mesos-agent: {e:#}");
        std::process::exit(1);
    }
}
