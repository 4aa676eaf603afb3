//! Reproducible allocator benchmarks with plain wall-clock timing, for quick
//! runs outside criterion: `cargo run --release -p mesos-allocator --bin
//! allocator-bench -- [scenario] [agents] [frameworks]`.
//!
//! Times are thread CPU time (robust on a shared machine).
//!
//! Scenarios: `cycle` (default: a cold cycle and a steady-state cycle after
//! 1% of offers come back), `cold` (only cold cycles, `REPS` times: min and
//! median), `decline` (upstream DeclineOffers), `suppress`
//! (SuppressOffers), `add` (AddAndUpdateSlave), `quota` (LargeAndSmallQuota).

use std::time::Duration;

use mesos_allocator::bench_support::*;

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// A stopwatch over this thread's CPU time: the machine this runs on is
/// shared, and wall-clock numbers would include time spent descheduled.
#[derive(Clone, Copy)]
struct Instant(Duration);

impl Instant {
    fn now() -> Self {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Instant(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
    }

    fn elapsed(&self) -> Duration {
        Instant::now().0.saturating_sub(self.0)
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scenario = args.first().map(String::as_str).unwrap_or("cycle");
    let agents: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    let frameworks: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1_000);
    let res = "cpus:24;mem:4096;disk:4096;ports:[31000-32000]";
    let mut now = Duration::from_secs(1);
    println!("scenario={scenario} agents={agents} frameworks={frameworks}");
    match scenario {
        "cycle" => {
            let t = Instant::now();
            let mut a = cluster(agents, frameworks, res, false);
            println!("setup: {}", ms(t.elapsed()));
            let t = Instant::now();
            let r = a.allocate(now);
            let o = offers(&r);
            println!("cold cycle: {} ({} offers)", ms(t.elapsed()), o.len());
            for round in 0..5 {
                now += Duration::from_secs(1);
                let some: Vec<_> = o.iter().skip(round).step_by(100).cloned().collect();
                recover_all(&mut a, &some, now);
                let t = Instant::now();
                let r = a.allocate(now);
                println!(
                    "steady cycle {round}: {} ({} offers after {} recovered)",
                    ms(t.elapsed()),
                    offers(&r).len(),
                    some.len()
                );
            }
            let t = Instant::now();
            let r = a.allocate(now);
            println!(
                "idle cycle: {} ({} offers)",
                ms(t.elapsed()),
                offers(&r).len()
            );
        }
        "cold" => {
            // Cold cycles only, repeated on fresh clusters: min and median
            // of the cycle's CPU time (the result is dropped untimed).
            let reps: usize = std::env::var("REPS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(11);
            let mut times = Vec::with_capacity(reps);
            for _ in 0..reps {
                let mut a = cluster(agents, frameworks, res, false);
                let t = Instant::now();
                let r = a.allocate(now);
                times.push(t.elapsed());
                assert_eq!(offers(&r).len(), agents, "every agent offered");
            }
            times.sort();
            println!(
                "cold cycle over {reps} runs: min {}, median {}, max {}",
                ms(times[0]),
                ms(times[reps / 2]),
                ms(times[reps - 1])
            );
        }
        "decline" => {
            let mut a = cluster(agents, frameworks, res, false);
            let mut o = offers(&a.allocate(now));
            for round in 0..5 {
                let t = Instant::now();
                decline_all(&mut a, &o, now);
                println!(
                    "round {round}: declining {} offers took {}",
                    o.len(),
                    ms(t.elapsed())
                );
                now += Duration::from_secs(1);
                let t = Instant::now();
                let r = a.allocate(now);
                o = offers(&r);
                println!(
                    "round {round}: allocate took {} to make {} offers",
                    ms(t.elapsed()),
                    o.len()
                );
            }
        }
        "suppress" => {
            let mut a = cluster(agents, frameworks, res, false);
            let mut o = offers(&a.allocate(now));
            for round in 0..5 {
                // Each round every framework that got offers suppresses, and declines.
                for (fw, _, _) in &o {
                    a.suppress_offers(fw, &Default::default())?;
                }
                recover_all(&mut a, &o, now);
                now += Duration::from_secs(1);
                let t = Instant::now();
                let r = a.allocate(now);
                o = offers(&r);
                println!(
                    "round {round}: allocate took {} to make {} offers",
                    ms(t.elapsed()),
                    o.len()
                );
            }
        }
        "add" => {
            let t = Instant::now();
            let mut a = cluster(
                agents,
                frameworks,
                "cpus:2;mem:1024;disk:4096;ports:[31000-32000]",
                false,
            );
            println!(
                "added {agents} agents and {frameworks} frameworks: {}",
                ms(t.elapsed())
            );
            let t = Instant::now();
            let total = mesos_allocator::Resources::parse(
                "cpus:4;mem:1024;disk:4096;ports:[31000-32000]",
                "*",
            )?;
            for i in 0..agents {
                let id = agent_id(i);
                a.update_slave(&id, &slave_info(&id), Some(&total), None)?;
            }
            println!("updated {agents} agents: {}", ms(t.elapsed()));
        }
        "quota" => {
            for (small, large) in [(25, 5), (250, 50), (2500, 500)] {
                let mut a = large_and_small_quota(small, large);
                let t = Instant::now();
                let n = offers(&a.allocate(now)).len();
                let first = t.elapsed();
                now += Duration::from_secs(1);
                let t = Instant::now();
                a.allocate(now);
                println!(
                    "small={small} large={large}: first cycle {} ({n} offers), second {}",
                    ms(first),
                    ms(t.elapsed())
                );
            }
        }
        other => anyhow::bail!("unknown scenario '{other}'"),
    }
    Ok(())
}
