//! `mesos-campaign`: the soak form of the CI fault campaigns. Runs any
//! range of seeds, prints schedules/second and every failing seed with its
//! shrunk schedule and trace (replay one with MESOS_SIM_SEED=<seed>).

use anyhow::{bail, Context};
use mesos_test_harness::campaign::{campaign, CampaignConfig};

const USAGE: &str = "Usage: mesos-campaign [--seeds=FROM..TO (0..2000)] [--agents=N (2)]
  [--schedulers=N (2)] [--tasks=N (5)] [--horizon=SECS (60)] [--events=MAX (10)] [--determinism] [--no-operator-actions]";

fn main() -> anyhow::Result<()> {
    let mut cfg = CampaignConfig::default();
    let (mut from, mut to) = (0u64, 2000u64);
    for arg in std::env::args().skip(1) {
        let (k, v) = arg.split_once('=').unwrap_or((arg.as_str(), ""));
        let num = || {
            v.parse::<u64>()
                .with_context(|| format!("bad value for {k}: '{v}'"))
        };
        match k {
            "--seeds" => {
                let (a, b) = v.split_once("..").context("--seeds wants FROM..TO")?;
                from = a.parse()?;
                to = b.parse()?;
            }
            "--agents" => cfg.agents = num()? as usize,
            "--schedulers" => cfg.schedulers = num()? as usize,
            "--tasks" => cfg.tasks_per_scheduler = num()? as usize,
            "--horizon" => cfg.horizon = std::time::Duration::from_secs(num()?),
            "--events" => cfg.max_events = (num()? as usize).max(cfg.min_events),
            "--determinism" => cfg.determinism = true,
            "--no-operator-actions" => cfg.operator_actions = false,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            _ => bail!("unknown option '{arg}'\n\n{USAGE}"),
        }
    }
    let r = campaign(from..to, &cfg);
    for f in &r.failures {
        println!("{f}");
    }
    println!("{}", r.ops);
    println!(
        "{} schedules in {:.1?}: {:.1} schedules/s, {} simulator events, {} failing seeds{}",
        r.schedules,
        r.elapsed,
        r.schedules_per_sec(),
        r.sim_events,
        r.failures.len(),
        if r.failures.is_empty() {
            String::new()
        } else {
            format!(
                ": {:?}",
                r.failures.iter().map(|f| f.seed).collect::<Vec<_>>()
            )
        }
    );
    if !r.failures.is_empty() {
        std::process::exit(1);
    }
    Ok(())
}
