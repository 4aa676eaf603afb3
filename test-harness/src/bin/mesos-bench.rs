//! `mesos-bench`: load a Mesos master over the real wire and report
//! registration time, RSS, offers/s, task launch throughput and latency,
//! GET_STATE latency and failover time; `--compare` runs the same load
//! against our master and the real 1.9.0 master and prints the ratios.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use mesos_test_harness::bench::master_proc::{free_port, MasterKind, MasterProc};
use mesos_test_harness::bench::{run, scenario, BenchConfig, BenchResult, SCENARIOS};

const USAGE: &str = "Usage: mesos-bench [--scenario=NAME] [--master=HOST:PORT | --compare]
  [--ours=PATH (target/release/mesos-master)] [--real=PATH (~/.cache/mesos-ref-1.9.0/bin/mesos-ref-local)]
  [--agents=N] [--frameworks=M] [--tasks=K (per framework)] [--ports=P] [--polls=Q] [--pollers=R]
  [--failover] [--timeout=SECS]
Without --master, starts our master on a free loopback port (and, with --compare, the real one too).";

struct Args {
    cfg: BenchConfig,
    name: String,
    master: Option<SocketAddr>,
    compare: bool,
    ours: PathBuf,
    real: PathBuf,
}

fn parse() -> anyhow::Result<Args> {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let mut a = Args {
        cfg: BenchConfig::default(),
        name: "custom".into(),
        master: None,
        compare: false,
        ours: PathBuf::from("target/release/mesos-master"),
        real: PathBuf::from(format!("{home}/.cache/mesos-ref-1.9.0/bin/mesos-ref-local")),
    };
    for arg in std::env::args().skip(1) {
        let (k, v) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        let num = || {
            v.parse::<usize>()
                .with_context(|| format!("bad value for {k}: '{v}'"))
        };
        match k {
            "--scenario" => {
                a.cfg = scenario(v).with_context(|| {
                    format!("unknown scenario '{v}'; known: {}", SCENARIOS.join(", "))
                })?;
                a.name = v.to_string();
            }
            "--master" => a.master = Some(v.parse().context("--master wants HOST:PORT")?),
            "--compare" => a.compare = true,
            "--ours" => a.ours = v.into(),
            "--real" => a.real = v.into(),
            "--agents" => a.cfg.agents = num()?,
            "--frameworks" => a.cfg.frameworks = num()?,
            "--tasks" => a.cfg.tasks_per_framework = num()?,
            "--ports" => a.cfg.agent_ports = num()?,
            "--polls" => a.cfg.polls = num()?,
            "--pollers" => a.cfg.pollers = num()?,
            "--failover" => a.cfg.failover = true,
            "--timeout" => a.cfg.timeout = std::time::Duration::from_secs(num()? as u64),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => bail!("unknown option '{arg}'\n\n{USAGE}"),
        }
    }
    Ok(a)
}

fn one(cfg: &BenchConfig, kind: MasterKind) -> anyhow::Result<BenchResult> {
    let mut p = MasterProc::new(kind, free_port()?);
    p.start()?;
    let addr = p.addr();
    let r = run(cfg, addr, Some(&mut p))?;
    Ok(r)
}

fn f(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}{unit}"))
}

fn rows(r: &BenchResult) -> Vec<(&'static str, Option<f64>, &'static str, bool)> {
    // (metric, value, unit, higher is better)
    let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
    let some = |v: f64| if v > 0.0 { Some(v) } else { None };
    vec![
        (
            "agents registered",
            Some(r.agents_registered as f64),
            "",
            true,
        ),
        ("registration time", ms(r.registration), " ms", false),
        ("registration rate", r.agents_per_sec(), " agents/s", true),
        (
            "master RSS after registration",
            r.rss_after_registration_kb.map(|k| k as f64 / 1024.0),
            " MB",
            false,
        ),
        (
            "master RSS after tasks",
            r.rss_after_tasks_kb.map(|k| k as f64 / 1024.0),
            " MB",
            false,
        ),
        ("tasks running", Some(r.tasks_running as f64), "", true),
        (
            "task launch throughput",
            r.tasks_per_sec(),
            " tasks/s",
            true,
        ),
        ("offers", r.offers_per_sec(), " offers/s", true),
        (
            "launch latency p50",
            some(r.launch_latency.p50),
            " ms",
            false,
        ),
        (
            "launch latency p90",
            some(r.launch_latency.p90),
            " ms",
            false,
        ),
        (
            "launch latency p99",
            some(r.launch_latency.p99),
            " ms",
            false,
        ),
        ("GET_STATE p50", some(r.get_state.p50), " ms", false),
        ("GET_STATE max", some(r.get_state.max), " ms", false),
        ("/master/state p50", some(r.v0_state.p50), " ms", false),
        (
            "GET_STATE size",
            some(r.get_state_bytes as f64 / 1024.0),
            " KB",
            false,
        ),
        (
            "failover (all agents reregistered)",
            ms(r.failover),
            " ms",
            false,
        ),
    ]
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MESOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .init();
    let a = parse()?;
    let c = &a.cfg;
    println!(
        "scenario {}: {} agents on {} ports, {} frameworks x {} tasks, {} pollers x {} polls{}",
        a.name,
        c.agents,
        c.agent_ports,
        c.frameworks,
        c.tasks_per_framework,
        c.pollers,
        c.polls,
        if c.failover { ", master failover" } else { "" }
    );
    if let Some(m) = a.master {
        let r = run(c, m, None)?;
        for (k, v, unit, _) in rows(&r) {
            println!("{k:<36} {}", f(v, unit));
        }
        return Ok(());
    }
    let ours = one(c, MasterKind::Ours(a.ours.clone()))?;
    if !a.compare {
        for (k, v, unit, _) in rows(&ours) {
            println!("{k:<36} {}", f(v, unit));
        }
        return Ok(());
    }
    let real = one(c, MasterKind::Real(a.real.clone()))?;
    println!(
        "| {:<36} | {:>18} | {:>18} | {:>12} |",
        "metric", "ours", "real 1.9.0", "advantage"
    );
    println!("|{:-<38}|{:->20}|{:->20}|{:->14}|", "", "", "", "");
    for ((k, o, unit, higher), (_, r, _, _)) in rows(&ours).into_iter().zip(rows(&real)) {
        let ratio = match (o, r) {
            (Some(o), Some(r)) if o > 0.0 && r > 0.0 => {
                let x = if higher { o / r } else { r / o };
                format!("{x:.2}x")
            }
            _ => "-".into(),
        };
        println!(
            "| {k:<36} | {:>18} | {:>18} | {:>12} |",
            f(o, unit),
            f(r, unit),
            ratio
        );
    }
    Ok(())
}
