//! `mesos-agent`: the Mesos agent daemon (upstream src/slave/main.cpp).
//!
//! Loads the agent flags (`MESOS_*` environment, then `--name=value`),
//! binds libprocess on `--ip`/`--port` (5051), builds the agent's
//! `SlaveInfo` and the containerizer `--launcher` names (posix, or linux
//! with the `--isolation` isolators) through [`mesos_cli::agent_slave`], and spawns the
//! agent as `slave(1)`, which is also the HTTP delegate so `/state` works.

use std::io::Write;
use std::net::IpAddr;

use anyhow::{bail, Context};
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use mesos_agent::AgentConfig;

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

    // Run until SIGTERM/SIGINT or until the agent terminates (ShutdownMessage).
    if mesos_cli::wait_for_signal(&runtime, &pid) {
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
