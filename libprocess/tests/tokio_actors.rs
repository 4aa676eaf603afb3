//! Effects carried out by the tokio runtime: timers, cancellation, blocking
//! jobs, spawning from handlers, dispatch, termination and the clock.

mod tokio_support;

use std::time::Duration;

use bytes::Bytes;
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use libprocess::{Actor, Cx, Routes, Time, Upid};
use tokio_support::{wait_until, Echo};

const T: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Log {
    events: Vec<String>,
    started: Option<Time>,
}

impl Actor for Log {
    fn install(r: &mut Routes<Self>) {
        r.raw("note", Log::note);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        self.started = Some(cx.now());
        self.events.push("initialize".into());
    }

    fn finalize(&mut self, _cx: &mut Cx<'_, Self>) {
        self.events.push("finalize".into());
    }
}

impl Log {
    fn note(&mut self, _cx: &mut Cx<'_, Self>, _from: Upid, body: Bytes) {
        self.events
            .push(String::from_utf8_lossy(&body).into_owned());
    }
}

fn rt() -> Runtime {
    Runtime::start(TransportConfig::loopback().worker_threads(2)).unwrap()
}

fn events(rt: &Runtime, p: &Upid) -> Vec<String> {
    rt.call::<Log, _>(p, |a, _| a.events.clone())
        .unwrap_or_default()
}

#[test]
fn timers_fire_in_order_and_cancelled_ones_do_not() {
    let a = rt();
    let p = a.spawn("log", Log::default());
    a.call::<Log, _>(&p, |_, cx| {
        cx.delay(Duration::from_millis(60), |a, _| {
            a.events.push("late".into())
        });
        let id = cx.delay(Duration::from_millis(30), |a, _| {
            a.events.push("cancelled".into())
        });
        cx.delay(Duration::from_millis(10), |a, cx| {
            a.events.push("early".into());
            let _ = cx.now();
        });
        cx.cancel(id);
    })
    .unwrap();
    assert!(wait_until(T, || events(&a, &p).len() == 3));
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(events(&a, &p), vec!["initialize", "early", "late"]);
}

#[test]
fn the_clock_moves_and_timers_wait_for_it() {
    let a = rt();
    let p = a.spawn("log", Log::default());
    let (start, wall) = a
        .call::<Log, _>(&p, |a, cx| (a.started.unwrap(), cx.wall_secs()))
        .unwrap();
    assert!(wall > 1.5e9, "wall clock is seconds since the epoch");
    let fired_at = std::sync::Arc::new(std::sync::Mutex::new(None));
    let f2 = fired_at.clone();
    a.call::<Log, _>(&p, move |_, cx| {
        cx.delay(Duration::from_millis(50), move |_, cx| {
            *f2.lock().unwrap() = Some(cx.now());
        });
    })
    .unwrap();
    assert!(wait_until(T, || fired_at.lock().unwrap().is_some()));
    let fired = fired_at.lock().unwrap().unwrap();
    assert!(
        fired - start >= Duration::from_millis(50),
        "{:?}",
        fired - start
    );
}

#[test]
fn blocking_jobs_come_back_as_dispatches() {
    let a = rt();
    let p = a.spawn("log", Log::default());
    a.call::<Log, _>(&p, |_, cx| {
        cx.blocking(
            || {
                std::thread::sleep(Duration::from_millis(20));
                21 * 2
            },
            |a, _, v| a.events.push(format!("result {v}")),
        );
    })
    .unwrap();
    assert!(wait_until(T, || events(&a, &p).contains(&"result 42".to_string())));
}

#[test]
fn handlers_spawn_and_terminate_processes() {
    let a = rt();
    let p = a.spawn("log", Log::default());
    let child = a
        .call::<Log, _>(&p, |_, cx| {
            let id = cx.generate_id("child");
            cx.spawn(&id, Log::default()).upid
        })
        .unwrap();
    assert_eq!(child.id(), "child(1)");
    assert!(wait_until(T, || a.is_running(&child)));
    a.send_from_outside(&child, "note", Bytes::from_static(b"hi"));
    assert!(wait_until(T, || events(&a, &child) == vec!["initialize", "hi"]));
    // A second spawn under a taken id is refused.
    assert_eq!(a.spawn("log", Log::default()), Upid::default());
    let c2 = child.clone();
    a.call::<Log, _>(&p, move |_, cx| cx.terminate_other(&c2))
        .unwrap();
    assert!(a.wait_terminated(&child, T));
    // Self-termination runs finalize; later messages go nowhere.
    a.call::<Log, _>(&p, |_, cx| cx.terminate()).unwrap();
    assert!(a.wait_terminated(&p, T));
    assert!(a.call::<Log, _>(&p, |a, _| a.events.clone()).is_none());
    assert_eq!(a.spawn_generated("child", Echo::default()).id(), "child(2)");
}

#[test]
fn terminate_jumps_the_queue() {
    let a = rt();
    let p = a.spawn("log", Log::default());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    // Block the actor, queue messages behind the block, then terminate: the
    // queued messages are never handled (upstream `terminate(pid, inject)`).
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    a.dispatch::<Log>(&p, move |_, _| {
        let _ = rx.recv_timeout(Duration::from_secs(5));
    });
    for i in 0..10 {
        a.send_from_outside(&p, "note", Bytes::from(format!("m{i}")));
    }
    a.dispatch::<Log>(&p, move |a, _| s2.lock().unwrap().extend(a.events.clone()));
    a.terminate(&p);
    tx.send(()).unwrap();
    assert!(a.wait_terminated(&p, T));
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}

#[test]
fn runtime_inside_a_callers_tokio_runtime() {
    let tokio_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let a = Runtime::start_on(tokio_rt.handle().clone(), TransportConfig::loopback()).unwrap();
    let p = a.spawn("log", Log::default());
    a.send_from_outside(&p, "note", Bytes::from_static(b"x"));
    assert!(wait_until(T, || events(&a, &p).len() == 2));
    a.shutdown();
    drop(tokio_rt);
}

#[test]
fn a_panicking_handler_terminates_only_its_process() {
    let a = rt();
    let p = a.spawn("log", Log::default());
    let w = a.spawn("watcher", tokio_support::Watcher::default());
    let p2 = p.clone();
    a.call::<tokio_support::Watcher, _>(&w, move |_, cx| cx.link(&p2))
        .unwrap();
    a.dispatch::<Log>(&p, |_, _| panic!("handler bug (expected by this test)"));
    assert!(a.wait_terminated(&p, T));
    assert!(wait_until(T, || {
        a.call::<tokio_support::Watcher, _>(&w, |w, _| w.exited.clone())
            .unwrap()
            == vec![p.clone()]
    }));
    // The runtime carries on.
    let q = a.spawn("log", Log::default());
    assert_eq!(events(&a, &q), vec!["initialize"]);
}
