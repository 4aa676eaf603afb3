//! `mesos-master`: the Mesos master daemon (upstream src/master/main.cpp).
//!
//! Loads `MasterFlags` (`MESOS_*` environment, then `--name=value`), binds
//! libprocess on `--ip`/`--port` (5050; `LIBPROCESS_*` as defaults),
//! spawns the master as process `master`, which is also the HTTP delegate
//! so `/state` works at the root, and runs until SIGTERM/SIGINT.

use std::io::Write;
use std::net::IpAddr;

use anyhow::{bail, Context};
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use mesos_master::registrar::{
    check_minimum_capabilities, InMemoryRegistrar, Registrar, ReplicatedLogRegistrar,
};
use mesos_master::{Master, MasterFlags};

const USAGE: &str = "Usage: mesos-master [options]\n\n  --ip=VALUE  --port=VALUE (default: 5050)  --advertise_ip=VALUE  --advertise_port=VALUE\n  --hostname=VALUE  --work_dir=VALUE  --registry=in_memory|replicated_log  --cluster=VALUE\n  --roles=VALUE  --weights=VALUE  --agent_ping_timeout=VALUE (15secs)  --max_agent_ping_timeouts=VALUE (5)\n  --offer_timeout=VALUE  --allocation_interval=VALUE (1secs)  --version  --help\n\nEvery flag may also be given as MESOS_<NAME> in the environment.";

fn parse_ip(name: &str, v: &str) -> anyhow::Result<IpAddr> {
    v.parse()
        .with_context(|| format!("Failed to load flag '{name}': invalid IP address '{v}'"))
}

fn run() -> anyhow::Result<()> {
    // stout's loader knows every upstream master flag (types, defaults,
    // deprecated names, `file://` values); the master keeps the listing.
    let mut loader = stout::MasterFlags::new();
    let load = loader.load_from(std::env::vars(), std::env::args());
    if loader.help() {
        // A closed stdout (`| head`) is not an error worth a panic.
        let _ = writeln!(std::io::stdout(), "{}", loader.usage(None));
        return Ok(());
    }
    if loader.version() {
        println!("mesos {}", mesos_master::MESOS_VERSION);
        return Ok(());
    }
    let warnings = match load {
        Ok(w) => w,
        Err(e) => {
            eprintln!("{e}\n\nSee `mesos-master --help` for a list of supported flags.");
            std::process::exit(1);
        }
    };
    for w in &warnings.messages {
        tracing::warn!("{w}");
    }
    let flags = match MasterFlags::from_listing(loader.flags()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            std::process::exit(1);
        }
    };

    // Upstream main.cpp: `--ip`/`--port`/`--advertise_*` become the
    // LIBPROCESS_* settings; the environment supplies the rest.
    let mut tc = TransportConfig::from_env().context("Failed to load LIBPROCESS_* settings")?;
    if let Some(ip) = flags.ip() {
        tc.ip = parse_ip("ip", ip)?;
    }
    tc.port = flags.port()?;
    if let Some(ip) = flags.advertise_ip() {
        tc.advertise_ip = Some(parse_ip("advertise_ip", ip)?);
    }
    if let Some(p) = flags.advertise_port() {
        tc.advertise_port = Some(p);
    }

    // Upstream main.cpp: the replicated log lives in
    // `<work_dir>/replicated_log`; opening it (and reading the registry) is
    // blocking, so it happens here, before the master actor starts.
    let registrar: Box<dyn Registrar> = match flags.registry() {
        "in_memory" => Box::new(InMemoryRegistrar::new()),
        "replicated_log" => {
            let Some(work_dir) = flags.work_dir() else {
                bail!("--work_dir needed for replicated log based registry");
            };
            std::fs::create_dir_all(work_dir)
                .with_context(|| format!("Failed to create work directory '{work_dir}'"))?;
            let r = ReplicatedLogRegistrar::open(work_dir, flags.bool("log_auto_initialize"))
                .with_context(|| format!("Failed to recover the registry in '{work_dir}'"))?;
            check_minimum_capabilities(r.registry())?;
            Box::new(r)
        }
        other => bail!("'{other}' is not a supported option for registry persistence"),
    };

    let runtime = Runtime::start(tc).context("Failed to initialize libprocess")?;
    let addr = runtime.addr();
    let hostname = match flags.hostname() {
        Some(h) => h.to_string(),
        None if flags.bool("hostname_lookup") => {
            mesos_master::local_hostname().unwrap_or_else(|| addr.ip().to_string())
        }
        None => addr.ip().to_string(),
    };
    tracing::info!("Build: mesos-master {} (Rust)", mesos_master::MESOS_VERSION);
    runtime.set_delegate(Some("master"));
    let master =
        Master::with_registrar(flags, &mesos_master::new_master_id(), &hostname, registrar);
    mesos_cli::spawn_files(&runtime, master.files().clone());
    mesos_cli::attach_log(
        master.files(),
        master.flags().get("external_log_file"),
        master.flags().get("log_dir"),
        "mesos-master",
        "/master/log",
    );
    let pid = runtime.spawn("master", master);
    if pid.id().is_empty() {
        bail!("Failed to spawn the master process");
    }

    mesos_cli::wait_for_signal(&runtime, &pid);
    runtime.shutdown();
    Ok(())
}

fn main() {
    mesos_cli::init_logging();
    if let Err(e) = run() {
        eprintln!("{e:#}");
        std::process::exit(1);
    }
}
