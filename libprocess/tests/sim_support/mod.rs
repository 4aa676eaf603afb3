//! Small actors the simulator tests share: a pinger and a ponger speaking
//! `mesos.internal.PingSlaveMessage` / `PongSlaveMessage` (the master's agent
//! health check, src/master/master.cpp `SlaveObserver`), and a counter with
//! timers, dispatches, blocking work and HTTP endpoints.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use libprocess::http::{Request, Responder, Response, ResponseHead, StreamSender};
use libprocess::runtime::sim::Disk;
use libprocess::{Actor, Cx, Routes, Time, TimerId, Upid};
use mesos_proto::mesos::internal::{PingSlaveMessage, PongSlaveMessage};

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

pub fn a1() -> SocketAddr {
    addr("10.0.0.1:5050")
}

pub fn a2() -> SocketAddr {
    addr("10.0.0.2:5051")
}

pub fn a3() -> SocketAddr {
    addr("10.0.0.3:5051")
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn at_ms(n: u64) -> Time {
    Time(ms(n))
}

/// Answers every ping with a pong; remembers when and from whom.
#[derive(Default)]
pub struct Ponger {
    pub pings: Vec<(Time, Upid)>,
    /// Written to disk on each ping when set (synced or not).
    pub disk: Option<(Disk, bool)>,
}

impl Actor for Ponger {
    fn install(r: &mut Routes<Self>) {
        r.message::<PingSlaveMessage>(Self::ping);
    }
}

impl Ponger {
    fn ping(&mut self, cx: &mut Cx<'_, Self>, from: Upid, m: PingSlaveMessage) {
        assert!(m.connected, "test pings always say connected");
        self.pings.push((cx.now(), from.clone()));
        if let Some((disk, synced)) = &self.disk {
            let n = self.pings.len().to_string();
            if *synced {
                disk.write_synced("pings", n);
            } else {
                disk.write("pings", n);
            }
        }
        cx.send(&from, &PongSlaveMessage {});
    }
}

/// Pings `target` on start and again on every pong, `rounds` times in all.
pub struct Pinger {
    pub target: Upid,
    pub link: bool,
    pub rounds: usize,
    pub sent: usize,
    pub pongs: Vec<(Time, Upid)>,
    pub exited: Vec<(Time, Upid)>,
}

impl Pinger {
    pub fn new(target: &Upid, rounds: usize) -> Pinger {
        Pinger {
            target: target.clone(),
            link: false,
            rounds,
            sent: 0,
            pongs: Vec::new(),
            exited: Vec::new(),
        }
    }

    pub fn linked(mut self) -> Pinger {
        self.link = true;
        self
    }

    pub fn ping(&mut self, cx: &mut Cx<'_, Self>) {
        self.sent += 1;
        cx.send(&self.target, &PingSlaveMessage { connected: true });
    }

    fn pong(&mut self, cx: &mut Cx<'_, Self>, from: Upid, _m: PongSlaveMessage) {
        self.pongs.push((cx.now(), from));
        if self.sent < self.rounds {
            self.ping(cx);
        }
    }
}

impl Actor for Pinger {
    fn install(r: &mut Routes<Self>) {
        r.message::<PongSlaveMessage>(Self::pong);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        if self.link {
            let t = self.target.clone();
            cx.link(&t);
        }
        if self.rounds > 0 {
            self.ping(cx);
        }
    }

    fn exited(&mut self, cx: &mut Cx<'_, Self>, pid: &Upid) {
        self.exited.push((cx.now(), pid.clone()));
    }
}

/// Ticks every `period` up to `max` times; serves `count`, `echo`, `stream`
/// and `later` (answered on the next tick).
pub struct Counter {
    pub period: Duration,
    pub max: usize,
    pub ticks: Vec<Time>,
    pub timer: Option<TimerId>,
    pub log: Vec<String>,
    pub stream: Option<StreamSender>,
    pub notices: Vec<Time>,
    pub waiting: Vec<Responder>,
    pub finalized: bool,
}

impl Counter {
    pub fn new(period: Duration, max: usize) -> Counter {
        Counter {
            period,
            max,
            ticks: Vec::new(),
            timer: None,
            log: Vec::new(),
            stream: None,
            notices: Vec::new(),
            waiting: Vec::new(),
            finalized: false,
        }
    }

    pub fn schedule(&mut self, cx: &mut Cx<'_, Self>) {
        let id = cx.delay(self.period, |a: &mut Counter, cx| a.tick(cx));
        self.timer = Some(id);
    }

    fn tick(&mut self, cx: &mut Cx<'_, Self>) {
        self.ticks.push(cx.now());
        for r in self.waiting.drain(..) {
            r.respond(Response::json(format!("{{\"tick\":{}}}", self.ticks.len())));
        }
        if let Some(s) = self.stream.as_mut() {
            let _ = s.try_send(Bytes::from(format!("tick {}\n", self.ticks.len())));
        }
        if self.ticks.len() < self.max {
            self.schedule(cx);
        } else {
            self.timer = None;
        }
    }

    /// Cancels the pending tick.
    pub fn stop(&mut self, cx: &mut Cx<'_, Self>) {
        if let Some(id) = self.timer.take() {
            cx.cancel(id);
        }
    }

    fn count(&mut self, _cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        let body = format!(
            "{{\"ticks\":{},\"endpoint\":\"{}\",\"path\":\"{}\",\"q\":\"{}\"}}",
            self.ticks.len(),
            req.endpoint,
            req.path,
            req.query_param("q").unwrap_or("")
        );
        r.respond(Response::json(body));
    }

    fn echo(&mut self, _cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        r.respond(Response::with_body(StatusCode::OK, "text/plain", req.body));
    }

    fn later(&mut self, _cx: &mut Cx<'_, Self>, _req: Request, r: Responder) {
        self.waiting.push(r);
    }

    fn open_stream(&mut self, cx: &mut Cx<'_, Self>, _req: Request, r: Responder) {
        let head = ResponseHead {
            status: StatusCode::OK,
            headers: Default::default(),
        };
        self.stream = cx.stream(r, head, 2, |a: &mut Counter, cx| {
            a.notices.push(cx.now());
            a.stream = None;
        });
        if let Some(s) = self.stream.as_mut() {
            let _ = s.try_send(Bytes::from_static(b"hello\n"));
        }
    }
}

impl Actor for Counter {
    fn install(r: &mut Routes<Self>) {
        r.http("count", Self::count);
        r.http("echo", Self::echo);
        r.http("later", Self::later);
        r.http("stream", Self::open_stream);
    }

    fn initialize(&mut self, cx: &mut Cx<'_, Self>) {
        if self.max > 0 {
            self.schedule(cx);
        }
    }

    fn finalize(&mut self, _cx: &mut Cx<'_, Self>) {
        self.finalized = true;
    }
}
