//! Fault injection: message faults by name, partitions, crashes and restarts.

mod sim_support;

use libprocess::filter::Matcher;
use libprocess::runtime::sim::{Sim, SimConfig, TraceKind};
use libprocess::{Time, Upid};
use mesos_proto::mesos::internal::{PingSlaveMessage, PongSlaveMessage};
use sim_support::*;

fn sim(latency_ms: u64) -> Sim {
    let mut cfg = SimConfig::from_env(11);
    cfg.latency = ms(latency_ms);
    let mut sim = Sim::with_config(cfg);
    sim.add_node(a1());
    sim.add_node(a2());
    sim
}

fn pongs(sim: &Sim, p: &Upid) -> Vec<Time> {
    sim.actor::<Pinger>(p)
        .unwrap()
        .pongs
        .iter()
        .map(|x| x.0)
        .collect()
}

fn pings(sim: &Sim, p: &Upid) -> usize {
    sim.actor::<Ponger>(p).unwrap().pings.len()
}

#[test]
fn drop_by_name_loses_only_that_message_type() {
    let mut sim = sim(5);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let f = sim.drop_messages(Matcher::message::<PongSlaveMessage>());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 3));
    sim.advance(ms(100));
    assert_eq!(pings(&sim, &ponger.upid), 1, "the ping arrived");
    assert!(pongs(&sim, &pinger.upid).is_empty(), "the pong did not");
    assert_eq!(sim.fault_hits(f), 1);
    sim.remove_fault(f);
    sim.dispatch(&pinger, |a: &mut Pinger, cx| a.ping(cx));
    sim.advance(ms(100));
    assert_eq!(pongs(&sim, &pinger.upid), vec![at_ms(110), at_ms(120)]);
}

#[test]
fn drop_next_drops_one_message() {
    let mut sim = sim(0);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    sim.drop_next(Matcher::message::<PingSlaveMessage>());
    let p1 = sim.spawn(a1(), "p1", Pinger::new(&ponger.upid, 1));
    let p2 = sim.spawn(a1(), "p2", Pinger::new(&ponger.upid, 1));
    sim.settle();
    assert!(pongs(&sim, &p1.upid).is_empty());
    assert_eq!(pongs(&sim, &p2.upid).len(), 1);
}

#[test]
fn hold_keeps_messages_until_released_in_order() {
    let mut sim = sim(5);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let h = sim.hold(Matcher::message::<PingSlaveMessage>().to(&ponger.upid));
    let p1 = sim.spawn(a1(), "p1", Pinger::new(&ponger.upid, 1));
    let p2 = sim.spawn(a1(), "p2", Pinger::new(&ponger.upid, 1));
    sim.advance(ms(1000));
    assert_eq!(sim.held(h), 2);
    assert_eq!(pings(&sim, &ponger.upid), 0);
    sim.remove_fault(h);
    assert_eq!(sim.release(h), 2);
    sim.advance(ms(5));
    let from: Vec<Upid> = sim
        .actor::<Ponger>(&ponger.upid)
        .unwrap()
        .pings
        .iter()
        .map(|(t, f)| {
            assert_eq!(*t, at_ms(1005), "released now, plus latency");
            f.clone()
        })
        .collect();
    assert_eq!(from, vec![p1.upid.clone(), p2.upid.clone()]);
}

#[test]
fn delay_postpones_matching_messages() {
    let mut sim = sim(5);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    sim.delay_messages(Matcher::message::<PongSlaveMessage>(), ms(300));
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 2));
    sim.advance(ms(1000));
    assert_eq!(pongs(&sim, &pinger.upid), vec![at_ms(310), at_ms(620)]);
}

#[test]
fn duplicate_delivers_twice() {
    let mut sim = sim(1);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let d = sim.fault(
        Matcher::message::<PingSlaveMessage>(),
        libprocess::runtime::sim::FaultAction::Duplicate,
        Some(1),
    );
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 1));
    sim.advance(ms(10));
    assert_eq!(pings(&sim, &ponger.upid), 2);
    assert_eq!(pongs(&sim, &pinger.upid), vec![at_ms(2), at_ms(2)]);
    assert_eq!(sim.fault_hits(d), 1);
}

#[test]
fn random_delays_reorder_messages_on_one_connection() {
    let mut sim = sim(1);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    sim.reorder(Matcher::message::<PingSlaveMessage>(), ms(50));
    let pingers: Vec<Upid> = (0..20)
        .map(|i| {
            sim.spawn(a1(), &format!("p{i:02}"), Pinger::new(&ponger.upid, 1))
                .upid
        })
        .collect();
    sim.advance(ms(100));
    let order: Vec<Upid> = sim
        .actor::<Ponger>(&ponger.upid)
        .unwrap()
        .pings
        .iter()
        .map(|x| x.1.clone())
        .collect();
    assert_eq!(order.len(), 20);
    assert_ne!(
        order, pingers,
        "20 random delays up to 50ms kept send order"
    );
}

#[test]
fn partition_breaks_links_and_loses_messages_until_healed() {
    let mut sim = sim(10);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 1).linked());
    // A linker on the far side too, linked back at the pinger.
    let back = sim.spawn(a2(), "back", Pinger::new(&pinger.upid, 0).linked());
    // The ping is in flight when the partition starts: it is lost.
    sim.advance(ms(5));
    sim.partition(a1(), a2());
    sim.advance(ms(100));
    assert_eq!(pings(&sim, &ponger.upid), 0);
    let exited = sim.actor::<Pinger>(&pinger.upid).unwrap().exited.clone();
    assert_eq!(exited, vec![(at_ms(5), ponger.upid.clone())]);
    let exited = sim.actor::<Pinger>(&back.upid).unwrap().exited.clone();
    assert_eq!(exited, vec![(at_ms(5), pinger.upid.clone())]);
    // Sends while partitioned are lost; linking fails at once.
    sim.dispatch(&pinger, |a: &mut Pinger, cx| {
        a.ping(cx);
        let t = a.target.clone();
        cx.link(&t);
    });
    sim.advance(ms(100));
    assert_eq!(pings(&sim, &ponger.upid), 0);
    assert_eq!(sim.actor::<Pinger>(&pinger.upid).unwrap().exited.len(), 2);
    // After healing, a new send reconnects.
    sim.heal(a1(), a2());
    sim.dispatch(&pinger, |a: &mut Pinger, cx| a.ping(cx));
    sim.advance(ms(100));
    assert_eq!(pings(&sim, &ponger.upid), 1);
    assert_eq!(pongs(&sim, &pinger.upid), vec![at_ms(225)]);
    assert!(sim
        .trace(200)
        .iter()
        .any(|l| l.kind == TraceKind::Fault && l.name.starts_with("partition")));
}

#[test]
fn partition_of_other_nodes_leaves_a_link_alone() {
    let mut sim = sim(1);
    sim.add_node(a3());
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 0).linked());
    sim.settle();
    sim.isolate(a3());
    sim.advance(ms(10));
    assert!(sim.actor::<Pinger>(&pinger.upid).unwrap().exited.is_empty());
    sim.heal_all();
    assert!(!sim.is_partitioned(a1(), a3()));
}

#[test]
fn crash_and_restart_of_a_node() {
    let mut sim = sim(2);
    // The factory spawns a ponger that records pings to disk: synced on
    // the first boot, unsynced after.
    sim.add_node_with(a3(), |boot| {
        let synced = boot.boot_count() == 0;
        let disk = boot.disk();
        boot.spawn(
            "ponger",
            Ponger {
                pings: Vec::new(),
                disk: Some((disk, synced)),
            },
        );
    });
    let ponger = Upid::new("ponger", a3());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger, 2).linked());
    sim.advance(ms(20));
    assert_eq!(pongs(&sim, &pinger.upid).len(), 2);
    assert_eq!(sim.disk(a3()).read("pings").unwrap(), "2");

    // A ping in flight when the node dies is lost; the linker hears exited.
    sim.dispatch(&pinger, |a: &mut Pinger, cx| a.ping(cx));
    sim.advance(ms(1));
    sim.crash_node(a3());
    assert!(!sim.is_up(a3()));
    assert!(!sim.is_alive(&ponger));
    sim.advance(ms(10));
    let exited = sim.actor::<Pinger>(&pinger.upid).unwrap().exited.clone();
    assert_eq!(exited, vec![(at_ms(21), ponger.clone())]);
    assert_eq!(sim.stats().dropped, 1);

    // Restart: the factory spawns a fresh ponger; the synced file survived.
    sim.restart_node(a3());
    assert!(sim.is_alive(&ponger));
    assert!(sim.actor::<Ponger>(&ponger).unwrap().pings.is_empty());
    assert_eq!(sim.disk(a3()).read("pings").unwrap(), "2");
    sim.dispatch(&pinger, |a: &mut Pinger, cx| a.ping(cx));
    sim.advance(ms(10));
    assert_eq!(sim.actor::<Ponger>(&ponger).unwrap().pings.len(), 1);
    // Second boot writes unsynced: lost at the next crash.
    assert_eq!(sim.disk(a3()).read("pings").unwrap(), "1");
    sim.crash_node(a3());
    sim.restart_node(a3());
    assert_eq!(sim.disk(a3()).read("pings").unwrap(), "2");
}

#[test]
fn timers_of_a_crashed_node_never_fire_in_its_next_life() {
    let mut sim = sim(0);
    sim.add_node_with(a3(), |boot| {
        if boot.boot_count() == 0 {
            boot.spawn("counter", Counter::new(ms(100), 10));
        } else {
            // Same id, no timers of its own.
            boot.spawn("counter", Counter::new(ms(100), 0));
        }
    });
    let c = Upid::new("counter", a3());
    sim.advance(ms(250));
    assert_eq!(sim.actor::<Counter>(&c).unwrap().ticks.len(), 2);
    sim.restart_node(a3());
    sim.advance(ms(1000));
    assert!(sim.actor::<Counter>(&c).unwrap().ticks.is_empty());
    assert_eq!(sim.pending_events(), 0);
}

#[test]
fn crash_and_restart_one_actor() {
    let mut sim = sim(0);
    let ponger = sim.spawn(a1(), "ponger", Ponger::default());
    let local = sim.spawn(a1(), "local", Pinger::new(&ponger.upid, 1).linked());
    let remote = sim.spawn(a2(), "remote", Pinger::new(&ponger.upid, 1).linked());
    sim.settle();
    assert_eq!(pings(&sim, &ponger.upid), 2);
    sim.crash_actor(&ponger.upid);
    sim.settle();
    assert_eq!(sim.actor::<Pinger>(&local.upid).unwrap().exited.len(), 1);
    assert!(sim.actor::<Pinger>(&remote.upid).unwrap().exited.is_empty());
    let p = sim.restart_actor(&ponger.upid, Ponger::default()).unwrap();
    sim.dispatch(&remote, |a: &mut Pinger, cx| a.ping(cx));
    sim.settle();
    assert_eq!(pings(&sim, &p.upid), 1);
}

#[test]
fn messages_to_a_down_node_are_lost_even_after_it_returns() {
    let mut sim = sim(10);
    sim.add_node_with(a3(), |boot| {
        boot.spawn("ponger", Ponger::default());
    });
    let ponger = Upid::new("ponger", a3());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger, 1));
    // Crash and restart while the ping is on the wire to the old process.
    sim.advance(ms(3));
    sim.restart_node(a3());
    sim.advance(ms(50));
    assert_eq!(sim.actor::<Ponger>(&ponger).unwrap().pings.len(), 0);
    assert!(pongs(&sim, &pinger.upid).is_empty());
}

#[test]
fn a_lossy_network_loses_about_the_asked_share() {
    let mut sim = sim(1);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let f = sim.lossy(Matcher::message::<PingSlaveMessage>(), 30);
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 0));
    for _ in 0..1000 {
        sim.dispatch(&pinger, |a: &mut Pinger, cx| a.ping(cx));
    }
    sim.advance(ms(10));
    let got = pings(&sim, &ponger.upid);
    assert_eq!(sim.fault_hits(f), 1000);
    assert!(
        (600..800).contains(&got),
        "{got} of 1000 arrived at 30% loss"
    );
    assert_eq!(sim.stats().dropped as usize, 1000 - got);
}

#[test]
fn links_are_visible_and_go_away_when_broken() {
    let mut sim = sim(0);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 0).linked());
    sim.settle();
    assert!(sim.is_linked(&pinger.upid, &ponger.upid));
    sim.partition(a1(), a2());
    assert!(!sim.is_linked(&pinger.upid, &ponger.upid));
}

#[test]
fn a_paused_node_keeps_its_connections_and_catches_up_on_resume() {
    let mut sim = sim(1);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let counter = sim.spawn(a2(), "counter", Counter::new(ms(30), 10));
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 1).linked());
    sim.pause_node(a2());
    assert!(sim.is_paused(a2()));
    sim.advance(ms(100));
    // Nothing ran there, and nobody was told: the link still stands.
    assert_eq!(pings(&sim, &ponger.upid), 0);
    assert!(sim
        .actor::<Counter>(&counter.upid)
        .unwrap()
        .ticks
        .is_empty());
    assert!(sim.actor::<Pinger>(&pinger.upid).unwrap().exited.is_empty());
    assert!(sim.is_linked(&pinger.upid, &ponger.upid));
    sim.resume_node(a2());
    sim.advance(ms(1));
    assert_eq!(pings(&sim, &ponger.upid), 1);
    // The overdue tick ran at resume time, and ticking continues from there.
    sim.advance(ms(30));
    assert_eq!(
        sim.actor::<Counter>(&counter.upid).unwrap().ticks,
        vec![at_ms(100), at_ms(130)]
    );
    assert_eq!(pongs(&sim, &pinger.upid), vec![at_ms(101)]);
}

#[test]
fn crashing_a_paused_node_drops_what_waited() {
    let mut sim = sim(1);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 1));
    sim.pause_node(a2());
    sim.advance(ms(10));
    sim.crash_node(a2());
    assert!(!sim.is_paused(a2()));
    sim.settle();
    assert_eq!(sim.stats().dropped, 1);
    sim.restart_node(a2());
    sim.advance(ms(10));
    assert!(pongs(&sim, &pinger.upid).is_empty());
}
