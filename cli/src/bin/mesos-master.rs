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
use mesos_zookeeper::master::{spawn_master_contender, MasterEvent};
use mesos_zookeeper::ZkUrl;
use std::sync::atomic::{AtomicBool, Ordering};

const USAGE: &str = "Usage: mesos-master [options]\n\n  --ip=VALUE  --port=VALUE (default: 5050)  --advertise_ip=VALUE  --advertise_port=VALUE\n  --hostname=VALUE  --work_dir=VALUE  --registry=in_memory|replicated_log  --cluster=VALUE\n  --roles=VALUE  --weights=VALUE  --agent_ping_timeout=VALUE (15secs)  --max_agent_ping_timeouts=VALUE (5)\n  --offer_timeout=VALUE  --allocation_interval=VALUE (1secs)  --version  --help\n\nEvery flag may also be given as MESOS_<NAME> in the environment.";

fn parse_ip(name: &str, v: &str) -> anyhow::Result<IpAddr> {
    v.parse()
        .with_context(|| format!("Failed to load flag '{name}': invalid IP address '{v}'"))
}

/// `--zk`: a `zk://` URL, or `file://` naming a file that holds one
/// (upstream main.cpp reads the file).
fn zk_url(value: &str) -> anyhow::Result<ZkUrl> {
    let value = value.trim();
    let text = match value.strip_prefix("file://") {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("Failed to read --zk file '{path}'"))?,
        None => value.to_string(),
    };
    ZkUrl::parse(text.trim()).map_err(|e| anyhow::anyhow!("Failed to parse --zk: {e}"))
}

/// Runs the master's events from ZooKeeper on the master actor until
/// `stop` (upstream `Master::detected` / `Master::lostCandidacy`).
fn forward_election(
    runtime: &Runtime,
    pid: &libprocess::Upid,
    rx: std::sync::mpsc::Receiver<MasterEvent>,
    stop: &AtomicBool,
) {
    for event in mesos_cli::events_until(&rx, stop) {
        match event {
            MasterEvent::Leader(leader) => {
                runtime.dispatch::<Master>(pid, move |m, cx| m.detected(cx, leader.map(|l| *l)));
            }
            MasterEvent::CandidacyLost => {
                runtime.dispatch::<Master>(pid, |m, cx| m.lost_candidacy(cx));
            }
            MasterEvent::DetectionFailed(e) => {
                tracing::error!("Failed to detect the leading master: {e}; committing suicide!");
                std::process::exit(1);
            }
        }
    }
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

    // Upstream main.cpp: `--zk` elects the leader among masters; the
    // replicated log then needs `--quorum`.
    let zk = flags.get("zk").map(zk_url).transpose()?;
    let zk_session_timeout =
        mesos_master::flags::parse_duration(flags.get("zk_session_timeout").unwrap_or("10secs"))
            .map_err(|e| anyhow::anyhow!("Failed to load flag 'zk_session_timeout': {e}"))?;
    if zk.is_some() && flags.registry() == "replicated_log" && flags.get("quorum").is_none() {
        bail!("Need to specify --quorum for replicated log based registry when using ZooKeeper");
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
    let mut master =
        Master::with_registrar(flags, &mesos_master::new_master_id(), &hostname, registrar);
    if zk.is_some() {
        master = master.contending();
    }
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

    let Some(zk) = zk else {
        mesos_cli::wait_for_signal(&runtime, &pid);
        runtime.shutdown();
        return Ok(());
    };
    let info = runtime
        .call::<Master, _>(&pid, |m, _| m.info().clone())
        .context("The master process did not start")?;
    tracing::info!("Contending for leadership at {zk}");
    let (tx, rx) = std::sync::mpsc::channel();
    {
        let _guard = runtime.handle().enter();
        spawn_master_contender(zk, zk_session_timeout, info, tx).map_err(|e| anyhow::anyhow!(e))?;
    }
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| forward_election(&runtime, &pid, rx, &stop));
        mesos_cli::wait_for_signal(&runtime, &pid);
        stop.store(true, Ordering::SeqCst);
    });
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
