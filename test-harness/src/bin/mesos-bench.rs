//! `mesos-bench`: load a Mesos master over the real wire and report
//! registration time, RSS, offers/s, task launch throughput and latency,
//! GET_STATE latency and failover time; `--compare` runs the same load
//! against our master and the real 1.9.0 master and prints the ratios.
//! The `decline-offers-*` scenarios (or `--decline`) measure the master's
//! allocation runs instead (see `bench::allocation`).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context};
use mesos_test_harness::bench::allocation::{
    decline_scenario, run_decline, DeclineConfig, DeclineResult, DECLINE_SCENARIOS, RUNS, RUN_MS,
};
use mesos_test_harness::bench::master_proc::{free_port, MasterKind, MasterProc};
use mesos_test_harness::bench::{run, scenario, BenchConfig, BenchResult, SCENARIOS};

const USAGE: &str = "Usage: mesos-bench [--scenario=NAME] [--master=HOST:PORT | --compare]
  [--ours=PATH (target/release/mesos-master)] [--real=PATH (~/.cache/mesos-ref-1.9.0/bin/mesos-ref-local)]
  [--agents=N] [--frameworks=M] [--tasks=K (per framework)] [--ports=P] [--polls=Q] [--pollers=R]
  [--failover] [--timeout=SECS]
  [--decline [--refuse=SECS (0)] [--warmup=SECS (10)] [--measure=SECS (30)]]
Scenarios: the task-launch ones, or decline-offers-{1k,5k,10k} (implies --decline: frameworks
decline every offer, the master's allocator/mesos/allocation_run_ms is sampled after a warm-up).
Without --master, starts our master on a free loopback port (and, with --compare, the real one too).";

struct Args {
    cfg: BenchConfig,
    name: String,
    master: Option<SocketAddr>,
    compare: bool,
    decline: Option<DeclineConfig>,
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
        decline: None,
        ours: PathBuf::from("target/release/mesos-master"),
        real: PathBuf::from(format!("{home}/.cache/mesos-ref-1.9.0/bin/mesos-ref-local")),
    };
    for arg in std::env::args().skip(1) {
        let (k, v) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        let num = || {
            v.parse::<usize>()
                .with_context(|| format!("bad value for {k}: '{v}'"))
        };
        let secs = || {
            v.parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .with_context(|| format!("bad value for {k}: '{v}'"))
        };
        match k {
            "--scenario" if decline_scenario(v).is_some() => {
                a.cfg = decline_scenario(v).unwrap_or_default();
                a.decline.get_or_insert_with(DeclineConfig::default);
                a.name = v.to_string();
            }
            "--scenario" => {
                a.cfg = scenario(v).with_context(|| {
                    format!(
                        "unknown scenario '{v}'; known: {}, {}",
                        SCENARIOS.join(", "),
                        DECLINE_SCENARIOS.join(", ")
                    )
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
            "--decline" => {
                a.decline.get_or_insert_with(DeclineConfig::default);
            }
            "--refuse" => {
                a.decline
                    .get_or_insert_with(DeclineConfig::default)
                    .refuse_seconds = secs()?
            }
            "--warmup" => {
                a.decline.get_or_insert_with(DeclineConfig::default).warmup =
                    std::time::Duration::from_secs_f64(secs()?)
            }
            "--measure" => {
                a.decline.get_or_insert_with(DeclineConfig::default).measure =
                    std::time::Duration::from_secs_f64(secs()?)
            }
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
    if let Some(d) = &a.decline {
        return decline_main(&a, d);
    }
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

/// Like [`f`] with two decimals (allocation runs of small clusters take
/// fractions of a millisecond).
fn f2(v: Option<f64>, unit: &str) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}{unit}"))
}

fn one_decline(
    cfg: &BenchConfig,
    d: &DeclineConfig,
    kind: MasterKind,
) -> anyhow::Result<DeclineResult> {
    let mut p = MasterProc::new(kind, free_port()?);
    p.start()?;
    let r = run_decline(cfg, d, p.addr(), Some(&p))?;
    Ok(r)
}

fn decline_rows(r: &DeclineResult) -> Vec<(String, Option<f64>, &'static str, bool)> {
    // (metric, value, unit, is a duration: lower is better)
    let s = r.sampled();
    let some = |v: f64| (!r.runs_ms.is_empty()).then_some(v);
    let stat = |k: &str| r.master_stats.get(&format!("{RUN_MS}/{k}")).copied();
    vec![
        (
            "agents registered".into(),
            Some(r.agents_registered as f64),
            "",
            false,
        ),
        (
            "frameworks subscribed".into(),
            Some(r.frameworks_subscribed as f64),
            "",
            false,
        ),
        (
            "registration time".into(),
            r.registration.map(|d| d.as_secs_f64() * 1000.0),
            " ms",
            true,
        ),
        ("window".into(), Some(r.window.as_secs_f64()), " s", false),
        (
            "allocation runs in window".into(),
            Some(r.runs_in_window as f64),
            "",
            false,
        ),
        (
            "runs sampled".into(),
            Some(r.runs_ms.len() as f64),
            "",
            false,
        ),
        ("offers per run".into(), r.offers_per_run(), "", false),
        (
            "allocation_run_ms p50 (sampled)".into(),
            some(s.p50),
            " ms",
            true,
        ),
        (
            "allocation_run_ms p90 (sampled)".into(),
            some(s.p90),
            " ms",
            true,
        ),
        (
            "allocation_run_ms p99 (sampled)".into(),
            some(s.p99),
            " ms",
            true,
        ),
        (
            "allocation_run_ms max (sampled)".into(),
            some(s.max),
            " ms",
            true,
        ),
        (
            "allocation_run_ms mean (sampled)".into(),
            r.mean_ms(),
            " ms",
            true,
        ),
        (
            "master CPU per run".into(),
            r.master_cpu_per_run_ms(),
            " ms",
            true,
        ),
        (format!("{RUN_MS}/p50 (master)"), stat("p50"), " ms", true),
        (format!("{RUN_MS}/p90 (master)"), stat("p90"), " ms", true),
        (format!("{RUN_MS}/p99 (master)"), stat("p99"), " ms", true),
        (format!("{RUN_MS}/max (master)"), stat("max"), " ms", true),
        (format!("{RUN_MS}/count (master)"), stat("count"), "", false),
        (
            format!("{RUNS} (master)"),
            r.master_stats.get(RUNS).copied(),
            "",
            false,
        ),
    ]
}

fn decline_main(a: &Args, d: &DeclineConfig) -> anyhow::Result<()> {
    let c = &a.cfg;
    println!(
        "scenario {}: {} agents on {} ports, {} frameworks declining with refuse_seconds={}, \
         warm-up {:?}, sampled for {:?}",
        a.name, c.agents, c.agent_ports, c.frameworks, d.refuse_seconds, d.warmup, d.measure
    );
    let print_one = |r: &DeclineResult| {
        for (k, v, unit, _) in decline_rows(r) {
            println!("{k:<52} {}", f2(v, unit));
        }
        let samples: Vec<String> = r.runs_ms.iter().map(|v| format!("{v:.2}")).collect();
        println!("samples (ms): {}", samples.join(" "));
    };
    if let Some(m) = a.master {
        print_one(&run_decline(c, d, m, None)?);
        return Ok(());
    }
    let ours = one_decline(c, d, MasterKind::Ours(a.ours.clone()))?;
    if !a.compare {
        print_one(&ours);
        return Ok(());
    }
    let real = one_decline(c, d, MasterKind::Real(a.real.clone()))?;
    println!(
        "| {:<52} | {:>12} | {:>12} | {:>11} |",
        "metric", "ours", "real 1.9.0", "real / ours"
    );
    println!("|{:-<54}|{:->14}|{:->14}|{:->13}|", "", "", "", "");
    for ((k, o, unit, timed), (_, r, _, _)) in
        decline_rows(&ours).into_iter().zip(decline_rows(&real))
    {
        let ratio = match (o, r) {
            (Some(o), Some(r)) if timed && o > 0.0 && r > 0.0 => format!("{:.2}x", r / o),
            _ => "-".into(),
        };
        println!(
            "| {k:<52} | {:>12} | {:>12} | {:>11} |",
            f2(o, unit),
            f2(r, unit),
            ratio
        );
    }
    for (name, r) in [("ours", &ours), ("real", &real)] {
        let samples: Vec<String> = r.runs_ms.iter().map(|v| format!("{v:.2}")).collect();
        println!("{name} samples (ms): {}", samples.join(" "));
    }
    Ok(())
}
