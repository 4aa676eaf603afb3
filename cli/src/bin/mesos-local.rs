//! `mesos-local`: a master and `--num_slaves` agents in one process, all on one
//! libprocess address (upstream src/local/main.cpp and local.cpp).
//!
//! Its own flags are `--ip`, `--port` (5050), `--work_dir` (`$TMPDIR/mesos/work`)
//! and `--num_slaves` (1; `--num_agents` is accepted too). Master and agent flags
//! come from the `MESOS_*` environment as upstream; as a convenience any other
//! `--name=value` on the command line is treated like `MESOS_NAME=value`. The
//! master's work dir is `<work_dir>/master`, agent N's are
//! `<work_dir>/agents/N/{work,run,fetch}`, as upstream lays them out.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use mesos_master::{Master, MasterFlags};
use stout::{FlagSpec, FlagType, FlagValue, FlagsBase, LoadOptions};

fn local_flags() -> FlagsBase {
    let mut f = FlagsBase::new();
    let tmp = std::env::temp_dir().join("mesos").join("work");
    f.add(FlagSpec::with_default(
        "work_dir",
        FlagType::Path,
        FlagValue::Path(tmp.display().to_string()),
        "Root of the master's and agents' work directories.",
    ));
    f.add(
        FlagSpec::with_default(
            "num_slaves",
            FlagType::Int,
            FlagValue::Int(1),
            "Number of agents to launch.",
        )
        .deprecated_alias("num_agents"),
    );
    f.add(FlagSpec::with_default(
        "port",
        FlagType::Port,
        FlagValue::Port(5050),
        "Port to listen on.",
    ));
    f.add(FlagSpec::optional(
        "ip",
        FlagType::String,
        "IP address to listen on.",
    ));
    f
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut flags = local_flags();
    // Split the command line: our own flags, and the rest as MESOS_* settings.
    let mut own = vec![args
        .first()
        .cloned()
        .unwrap_or_else(|| "mesos-local".into())];
    let mut env: BTreeMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("MESOS_"))
        .collect();
    for arg in &args[1..] {
        let name = arg.trim_start_matches("--").split('=').next().unwrap_or("");
        let name = name.strip_prefix("no-").unwrap_or(name);
        if flags.spec(name).is_some() || name == "help" {
            own.push(arg.clone());
        } else if let Some((n, v)) = arg.strip_prefix("--").and_then(|a| a.split_once('=')) {
            env.insert(format!("MESOS_{}", n.to_uppercase()), v.to_string());
        } else {
            bail!("Failed to load flag '{arg}': expected --name=value");
        }
    }
    flags.load_with(
        Some("MESOS_"),
        std::env::vars(),
        &own,
        LoadOptions::default(),
    )?;
    if flags.help() {
        println!(
            "{}",
            flags.usage(Some(
                "Launches an in-memory cluster within a single process."
            ))
        );
        return Ok(());
    }
    let work_dir = PathBuf::from(flags.get_str("work_dir").unwrap_or("/tmp/mesos/work"));
    let num = flags.get_int("num_slaves").unwrap_or(1).max(0) as usize;

    let mut tc = TransportConfig::from_env().context("Failed to load LIBPROCESS_* settings")?;
    tc.port = flags.get_port("port").unwrap_or(5050);
    if let Some(ip) = flags.get_str("ip") {
        tc.ip = ip
            .parse::<IpAddr>()
            .with_context(|| format!("Invalid --ip '{ip}'"))?;
    }
    let runtime = Runtime::start(tc).context("Failed to initialize libprocess")?;
    let addr = runtime.addr();
    runtime.set_delegate(Some("master"));

    // The master, with `work_dir` propagated and the rest from MESOS_*.
    let master_dir = work_dir.join("master");
    std::fs::create_dir_all(&master_dir)
        .with_context(|| format!("Failed to create '{}'", master_dir.display()))?;
    let mut mflags = stout::MasterFlags::new();
    let unknowns = LoadOptions {
        unknowns: true,
        ..LoadOptions::default()
    };
    let argv = [
        "mesos-local".to_string(),
        format!("--work_dir={}", master_dir.display()),
    ];
    mflags.load_with(Some("MESOS_"), &env, &argv, unknowns)?;
    let master_flags =
        MasterFlags::from_listing(mflags.flags()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let hostname = mesos_master::local_hostname().unwrap_or_else(|| addr.ip().to_string());
    // One `files` process for the master and every agent (upstream local.cpp).
    let files = mesos_files::Files::new();
    mesos_cli::spawn_files(&runtime, files.clone());
    let master = Master::new(master_flags, &mesos_master::new_master_id(), &hostname)
        .with_files(files.clone());
    let master_pid = runtime.spawn("master", master);
    if master_pid.id().is_empty() {
        bail!("Failed to spawn the master process");
    }

    for i in 0..num {
        let dir = |leaf: &str| -> String { agent_dir(&work_dir, i, leaf).display().to_string() };
        let mut aflags = stout::AgentFlags::new();
        // Upstream propagates these over whatever the environment says.
        let argv = [
            "mesos-local".to_string(),
            format!("--work_dir={}", dir("work")),
            format!("--runtime_dir={}", dir("run")),
            format!("--fetcher_cache_dir={}", dir("fetch")),
            format!("--master={master_pid}"),
        ];
        aflags.load_with(Some("MESOS_"), &env, &argv, unknowns)?;
        let (_, slave) = mesos_cli::agent_slave(&aflags, addr)?;
        let slave = slave.with_files(files.clone());
        let id = runtime.node().generate_id("slave");
        runtime.spawn(&id, slave);
    }
    println!(
        "mesos-local: master and {num} agent(s) at http://{addr} (work_dir {})",
        work_dir.display()
    );

    mesos_cli::wait_for_signal(&runtime, &master_pid);
    runtime.shutdown();
    Ok(())
}

fn agent_dir(root: &Path, i: usize, leaf: &str) -> PathBuf {
    root.join("agents").join(i.to_string()).join(leaf)
}

fn main() {
    mesos_cli::init_logging();
    if let Err(e) = run() {
        eprintln!("mesos-local: {e:#}");
        std::process::exit(1);
    }
}
