//! Simulator basics: message order and virtual time, timers, dispatch,
//! blocking work, filters, and bad input that must not panic.

mod sim_support;

use bytes::Bytes;
use libprocess::filter::Matcher;
use libprocess::runtime::sim::{Sim, SimConfig, TraceKind};
use libprocess::{Cx, Pid, Time, Upid};
use mesos_proto::mesos::internal::{PingSlaveMessage, PongSlaveMessage};
use sim_support::*;

fn two_nodes(latency_ms: u64) -> Sim {
    let mut cfg = SimConfig::from_env(7);
    cfg.latency = ms(latency_ms);
    let mut sim = Sim::with_config(cfg);
    sim.add_node(a1());
    sim.add_node(a2());
    sim
}

#[test]
fn ping_pong_follows_virtual_latency() {
    let mut sim = two_nodes(10);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 3));

    // Nothing is due at time zero: the first ping is on the wire.
    sim.settle();
    assert_eq!(sim.now(), Time::ZERO);
    assert!(sim.actor::<Ponger>(&ponger.upid).unwrap().pings.is_empty());

    sim.advance(ms(10));
    let p = sim.actor::<Ponger>(&ponger.upid).unwrap();
    assert_eq!(p.pings, vec![(at_ms(10), pinger.upid.clone())]);

    sim.advance(ms(100));
    let pongs: Vec<Time> = sim
        .actor::<Pinger>(&pinger.upid)
        .unwrap()
        .pongs
        .iter()
        .map(|(t, from)| {
            assert_eq!(from, &ponger.upid);
            *t
        })
        .collect();
    assert_eq!(pongs, vec![at_ms(20), at_ms(40), at_ms(60)]);
    assert_eq!(sim.now(), at_ms(110));
    assert_eq!(sim.stats().delivered, 6);
    assert_eq!(sim.stats().dropped, 0);
}

#[test]
fn local_messages_arrive_in_send_order_without_time_passing() {
    let mut sim = two_nodes(10);
    let ponger = sim.spawn(a1(), "ponger", Ponger::default());
    let mut pingers = Vec::new();
    for i in 0..5 {
        pingers.push(sim.spawn(a1(), &format!("pinger{i}"), Pinger::new(&ponger.upid, 2)));
    }
    sim.settle();
    assert_eq!(sim.now(), Time::ZERO);
    let order: Vec<String> = sim
        .actor::<Ponger>(&ponger.upid)
        .unwrap()
        .pings
        .iter()
        .map(|(_, from)| from.id().to_string())
        .collect();
    // Spawn order first, then the second round in the order the pongs came back.
    let expected: Vec<String> = (0..5).chain(0..5).map(|i| format!("pinger{i}")).collect();
    assert_eq!(order, expected);
}

#[test]
fn run_until_stops_when_the_predicate_holds() {
    let mut sim = two_nodes(7);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 100));
    let p = pinger.upid.clone();
    let ok = sim.run_until(
        |s| s.actor::<Pinger>(&p).is_some_and(|a| a.pongs.len() == 4),
        ms(1000),
    );
    assert!(ok);
    assert_eq!(sim.now(), at_ms(56));
    // A predicate that never holds stops at the limit.
    let ok = sim.run_until(|_| false, ms(30));
    assert!(!ok);
    assert_eq!(sim.now(), at_ms(86));
}

#[test]
fn timers_fire_at_virtual_times_and_cancel() {
    let mut sim = two_nodes(0);
    let c = sim.spawn(a1(), "counter", Counter::new(ms(1000), 10));
    sim.advance(ms(2500));
    assert_eq!(
        sim.actor::<Counter>(&c.upid).unwrap().ticks,
        vec![at_ms(1000), at_ms(2000)]
    );
    sim.dispatch(&c, |a: &mut Counter, cx: &mut Cx<'_, Counter>| a.stop(cx));
    sim.advance(ms(10_000));
    assert_eq!(sim.actor::<Counter>(&c.upid).unwrap().ticks.len(), 2);
    assert_eq!(sim.pending_events(), 0, "the cancelled timer left nothing");
}

#[test]
fn dispatch_and_blocking_continuations_run_on_the_actor() {
    let mut sim = two_nodes(0);
    let c = sim.spawn(a1(), "counter", Counter::new(ms(1000), 0));
    let other: Pid<Counter> = sim.spawn(a1(), "other", Counter::new(ms(1000), 0));
    let o2 = other.clone();
    sim.dispatch(&c, move |_a: &mut Counter, cx: &mut Cx<'_, Counter>| {
        // An actor dispatching to another local actor, and running blocking
        // work whose result comes back as a dispatch.
        cx.dispatch(&o2, |b: &mut Counter, cx| {
            b.log.push(format!("dispatched at {:?}", cx.now().0))
        });
        cx.blocking(
            || 6 * 7,
            |a: &mut Counter, _cx, v: u32| a.log.push(format!("blocking gave {v}")),
        );
    });
    sim.advance(ms(5));
    assert_eq!(
        sim.actor::<Counter>(&other.upid).unwrap().log,
        vec!["dispatched at 0ns".to_string()]
    );
    assert_eq!(
        sim.actor::<Counter>(&c.upid).unwrap().log,
        vec!["blocking gave 42".to_string()]
    );
    // Both ran at time zero, not when the clock was advanced.
    let kinds: Vec<_> = sim
        .trace(10)
        .into_iter()
        .filter(|l| l.kind == TraceKind::Dispatch)
        .map(|l| (l.at, l.name))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (Time::ZERO, "dispatch".to_string()),
            (Time::ZERO, "dispatch".to_string()),
            (Time::ZERO, "blocking".to_string())
        ]
    );
}

#[test]
fn filters_are_consulted_before_delivery() {
    let mut sim = two_nodes(1);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let dropped = sim
        .filters()
        .drop_one(Matcher::message::<PingSlaveMessage>().to(&ponger.upid));
    let seen = sim.filters().future(Matcher::message::<PongSlaveMessage>());
    let pinger = sim.spawn(a1(), "pinger", Pinger::new(&ponger.upid, 1));
    sim.advance(ms(10));
    assert_eq!(dropped.count(), 1);
    assert_eq!(seen.count(), 0);
    assert!(sim.actor::<Ponger>(&ponger.upid).unwrap().pings.is_empty());
    // The next ping goes through and its pong is observed.
    sim.dispatch(&pinger, |a: &mut Pinger, cx| a.ping(cx));
    sim.advance(ms(10));
    assert_eq!(seen.count(), 1);
    assert_eq!(seen.seen()[0].from, ponger.upid);
    assert_eq!(sim.actor::<Pinger>(&pinger.upid).unwrap().pongs.len(), 1);
}

#[test]
fn undecodable_and_unknown_messages_are_dropped_not_panicked_on() {
    let mut sim = two_nodes(0);
    let ponger = sim.spawn(a2(), "ponger", Ponger::default());
    let outsider = Upid::parse_literal("scheduler-1@10.9.9.9:1234").unwrap();
    // Garbage under a known name, a ping without its required `connected`
    // field (an empty body), an unknown name, and a missing process.
    sim.send_raw(
        &outsider,
        &ponger.upid,
        "mesos.internal.PingSlaveMessage",
        Bytes::new(),
    );
    sim.send_raw(
        &outsider,
        &ponger.upid,
        "mesos.internal.PingSlaveMessage",
        Bytes::from_static(&[0xff, 0xff, 0xff]),
    );
    sim.send_raw(
        &outsider,
        &ponger.upid,
        "no.such.Message",
        Bytes::from_static(b"x"),
    );
    sim.send(
        &outsider,
        &Upid::new("nobody", a2()),
        &PingSlaveMessage { connected: true },
    );
    // Messages to an address with no node at all.
    sim.send(
        &outsider,
        &Upid::new("x", addr("10.9.9.8:1")),
        &PingSlaveMessage { connected: true },
    );
    sim.settle();
    assert!(sim.actor::<Ponger>(&ponger.upid).unwrap().pings.is_empty());
    assert_eq!(sim.stats().dropped, 2, "no process + unreachable");
    // A good one from the same outsider still works.
    sim.send(
        &outsider,
        &ponger.upid,
        &PingSlaveMessage { connected: true },
    );
    sim.settle();
    assert_eq!(sim.actor::<Ponger>(&ponger.upid).unwrap().pings.len(), 1);
}

#[test]
fn terminate_runs_finalize_and_tells_local_linkers() {
    let mut sim = two_nodes(0);
    let ponger = sim.spawn(a1(), "ponger", Ponger::default());
    let local = sim.spawn(a1(), "local", Pinger::new(&ponger.upid, 0).linked());
    let remote = sim.spawn(a2(), "remote", Pinger::new(&ponger.upid, 0).linked());
    let c = sim.spawn(a1(), "counter", Counter::new(ms(10), 0));
    sim.settle();
    sim.terminate(&ponger.upid);
    sim.settle();
    assert!(!sim.is_alive(&ponger.upid));
    assert_eq!(
        sim.actor::<Pinger>(&local.upid).unwrap().exited,
        vec![(Time::ZERO, ponger.upid.clone())]
    );
    // Upstream tells only linkers on the same process manager.
    assert!(sim.actor::<Pinger>(&remote.upid).unwrap().exited.is_empty());
    // Linking to a missing local process is an immediate exit.
    let late = sim.spawn(a1(), "late", Pinger::new(&ponger.upid, 0).linked());
    sim.settle();
    assert_eq!(sim.actor::<Pinger>(&late.upid).unwrap().exited.len(), 1);
    // A self-terminating actor's finalize runs.
    sim.dispatch(&c, |_a: &mut Counter, cx| cx.terminate());
    sim.settle();
    assert!(!sim.is_alive(&c.upid));
}
