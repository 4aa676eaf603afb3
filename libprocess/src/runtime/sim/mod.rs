//! The deterministic simulator: every node's actors on one thread, a virtual
//! clock, one seeded RNG and an event heap ordered by `(deliver_at, seq)`.
//!
//! It plays the part of libprocess' `ProcessManager` and `SocketManager`
//! (3rdparty/libprocess/src/process.cpp) for many simulated process managers
//! ("nodes", one per address such as `10.0.0.1:5050`) at once:
//!
//! - Messages carry their protobuf encoding as bytes and are decoded by the
//!   receiver's install table (required fields checked). A message between
//!   nodes is also written in the libprocess wire format
//!   ([`crate::transport::encode`]) and read back with the inbound decoder
//!   ([`crate::transport::decode`]) on arrival, sender pid and all.
//! - Links: a link to a pid on another node rides a persistent connection
//!   between the two nodes. When that connection breaks (the peer node
//!   crashes, or a partition cuts it), every local actor linked to any pid at
//!   that address gets `exited` (upstream `SocketManager::close` /
//!   `exited(const Address&)`); later sends simply reconnect. Terminating one
//!   actor tells only linkers on its own node, as upstream does.
//! - Faults: drop/hold/delay/duplicate/reorder/lose-randomly by name, sender
//!   and receiver; partitions between nodes; pausing a node (nothing runs
//!   there, connections stay up); crashing and restarting actors and nodes
//!   (a restarted node is re-populated by the test's factory and
//!   keeps only the synced part of its [`Disk`]).
//! - HTTP: [`Sim::http`] (a client outside the cluster) and [`Sim::http_from`]
//!   (a client on a node, cut by partitions and crashes) route
//!   `/<id>/<endpoint>` with delegate routing, as `ProcessManager::handle`;
//!   the [`ResponseHandle`] reads whole responses or stream chunks and can
//!   close the connection, which delivers the stream's close notice.
//! - The clock only moves in [`Sim::advance`], [`Sim::run_until`] and
//!   [`Sim::step`]; [`Sim::settle`] runs everything due now, like upstream's
//!   `Clock::settle()` with a paused clock.
//! - Every delivered or dropped event is folded into a trace hash; the same
//!   seed gives the same hash ([`check_determinism`]). A panicking test prints
//!   its seed, and `MESOS_SIM_SEED` replays it ([`seed_from_env`]).
//!
//! ```
//! use libprocess::runtime::sim::{Sim, SimConfig};
//! use libprocess::{Actor, Cx, Routes, Upid};
//! use mesos_proto::mesos::internal::{PingSlaveMessage, PongSlaveMessage};
//!
//! #[derive(Default)]
//! struct Agent { pings: usize }
//! impl Actor for Agent {
//!     fn install(r: &mut Routes<Self>) {
//!         r.message::<PingSlaveMessage>(|a: &mut Agent, cx: &mut Cx<'_, Agent>, from: Upid, _m| {
//!             a.pings += 1;
//!             cx.send(&from, &PongSlaveMessage {});
//!         });
//!     }
//! }
//!
//! let mut cfg = SimConfig::from_env(42); // MESOS_SIM_SEED overrides 42
//! cfg.latency = std::time::Duration::from_millis(1);
//! let mut sim = Sim::with_config(cfg);
//! let (m, a) = ("10.0.0.1:5050".parse().unwrap(), "10.0.0.2:5051".parse().unwrap());
//! sim.add_node(m);
//! sim.add_node_with(a, |boot| {
//!     boot.spawn("slave(1)", Agent::default());
//! });
//! let agent = Upid::new("slave(1)", a);
//! let master = Upid::new("master", m); // not spawned: the pong is dropped
//! sim.send(&master, &agent, &PingSlaveMessage { connected: true });
//! sim.advance(std::time::Duration::from_millis(5));
//! assert_eq!(sim.actor::<Agent>(&agent).unwrap().pings, 1);
//! sim.crash_node(a);
//! sim.restart_node(a); // the factory spawns a fresh agent
//! assert_eq!(sim.actor::<Agent>(&agent).unwrap().pings, 0);
//! ```

mod deliver;
mod disk;
mod fault;
mod http;
mod net;
mod nodes;
mod serve;
mod trace;

pub use disk::Disk;
pub use fault::{FaultAction, FaultId};
pub use http::ResponseHandle;
pub use trace::{fnv, Kind as TraceKind, Line as TraceLine};

use std::any::Any;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::actor::{
    Actor, CloseNotice, DispatchFn, Effect, Env, ErasedActor, Event, Handled, Holder, Node, Pid,
    TimerId,
};
use crate::filter::{Filters, Matcher};
use crate::http::{Request, Responder, Response};
use crate::time::Time;
use crate::Upid;

use fault::FaultRule;
use http::{HttpState, NoticeQueue};
use trace::{Kind, Trace};

/// The environment variable that overrides a test's seed, to replay a failure.
pub const SEED_ENV: &str = "MESOS_SIM_SEED";

/// The wall clock at virtual time zero (2020-09-13T12:26:40Z).
pub const WALL_EPOCH: f64 = 1_600_000_000.0;

/// The seed to use: `MESOS_SIM_SEED` if set and numeric, else `default`.
pub fn seed_from_env(default: u64) -> u64 {
    std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// Settings of a simulation.
#[derive(Clone, Debug)]
pub struct SimConfig {
    pub seed: u64,
    /// One-way delay of a message between two nodes (local messages take none).
    pub latency: Duration,
    /// Extra uniform random delay in `[0, jitter]` per remote message; any
    /// non-zero value lets messages overtake each other.
    pub jitter: Duration,
    /// How many trace lines are kept for printing (all are hashed).
    pub trace_capacity: usize,
    /// `Cx::wall_secs()` at virtual time zero.
    pub wall_epoch: f64,
    /// Events one `settle`/`advance`/`run_until` may run before it is taken
    /// for a livelock and panics (with the seed).
    pub step_limit: usize,
    /// Whether messages between nodes go through the libprocess wire
    /// encoding and the inbound decoder (on by default; off only to measure
    /// what it costs).
    pub wire: bool,
}

impl SimConfig {
    pub fn new(seed: u64) -> SimConfig {
        SimConfig {
            seed,
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            trace_capacity: 10_000,
            wall_epoch: WALL_EPOCH,
            step_limit: 10_000_000,
            wire: true,
        }
    }

    /// `new(seed_from_env(default_seed))`.
    pub fn from_env(default_seed: u64) -> SimConfig {
        SimConfig::new(seed_from_env(default_seed))
    }
}

/// What a node factory gets on (re)start: the place to spawn the node's
/// actors, its disk and its id generator. Boot number 0 is the first start.
pub struct Boot {
    addr: SocketAddr,
    node: Arc<Node>,
    disk: Disk,
    boot: u32,
    spawns: Vec<(Upid, Box<dyn ErasedActor>)>,
    delegate: Option<String>,
}

impl Boot {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// This incarnation's handle on the node's disk.
    pub fn disk(&self) -> Disk {
        self.disk.clone()
    }

    /// 0 on the first start, then 1, 2, ... on each restart.
    pub fn boot_count(&self) -> u32 {
        self.boot
    }

    pub fn generate_id(&self, prefix: &str) -> String {
        self.node.generate_id(prefix)
    }

    pub fn pid(&self, id: &str) -> Upid {
        self.node.pid(id)
    }

    /// Spawns `actor` as `id` once the factory returns (in call order).
    pub fn spawn<A: Actor>(&mut self, id: &str, actor: A) -> Pid<A> {
        let pid = self.node.pid(id);
        self.spawns
            .push((pid.clone(), Box::new(Holder::new(actor))));
        Pid::new(pid)
    }

    /// Routes HTTP requests whose first path segment names no process to
    /// this process id (upstream `process::initialize(delegate)`).
    pub fn set_delegate(&mut self, id: &str) {
        self.delegate = Some(id.to_string());
    }
}

type Factory = Box<dyn FnMut(&mut Boot) + Send>;

struct Slot {
    pid: Upid,
    /// Taken out while the actor handles an event.
    actor: Option<Box<dyn ErasedActor>>,
    /// Unique across the whole simulation, so events meant for a dead
    /// incarnation never reach a new actor spawned under the same id.
    inc: u64,
}

struct SimNode {
    node: Arc<Node>,
    up: bool,
    /// Bumped at every crash; messages and dispatches sent to an older
    /// incarnation of the node are lost.
    epoch: u64,
    boots: u32,
    actors: BTreeMap<String, Slot>,
    delegate: Option<String>,
    factory: Option<Factory>,
    disk: Disk,
}

struct Msg {
    from: Upid,
    to: Upid,
    name: String,
    body: Bytes,
    /// The receiving node's epoch when the message was sent.
    dest_epoch: u64,
    /// The connection's epoch when the message was sent (remote only).
    conn_epoch: Option<u64>,
    /// A remote message as libprocess writes it on a socket
    /// (`POST /<to>/<name>`, `Libprocess-From`, chunked body); decoded again
    /// on arrival with the inbound decoder.
    wire: Option<BytesMut>,
}

type TimerKey = (SocketAddr, u64, TimerId);

enum Ev {
    Msg(Msg),
    Exited {
        linker: Upid,
        inc: u64,
        pid: Upid,
    },
    Dispatch {
        to: Upid,
        epoch: u64,
        inc: Option<u64>,
        f: Box<dyn Any + Send>,
        label: &'static str,
    },
    Timer {
        key: TimerKey,
        to: Upid,
        inc: u64,
        f: Box<dyn Any + Send>,
    },
    Http {
        addr: SocketAddr,
        client: Option<SocketAddr>,
        request: Request,
        handle: ResponseHandle,
    },
}

impl Ev {
    /// The node whose process handles this event.
    fn node(&self) -> SocketAddr {
        match self {
            Ev::Msg(m) => m.to.addr(),
            Ev::Exited { linker, .. } => linker.addr(),
            Ev::Dispatch { to, .. } | Ev::Timer { to, .. } => to.addr(),
            Ev::Http { addr, .. } => *addr,
        }
    }
}

struct Scheduled {
    at: Time,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Scheduled {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Scheduled {
    // Reversed: `BinaryHeap` is a max-heap and the earliest event runs first.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// An HTTP connection the simulator may have to break.
struct HttpConn {
    server: SocketAddr,
    /// The client's node, for requests made with [`Sim::http_from`].
    client: Option<SocketAddr>,
    state: Weak<Mutex<HttpState>>,
}

/// Counters of a simulation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Messages handed to an actor.
    pub delivered: u64,
    /// Messages lost (faults, filters, partitions, crashes, no process).
    pub dropped: u64,
    /// Events of any kind run.
    pub events: u64,
}

/// The simulator. See the module documentation.
pub struct Sim {
    cfg: SimConfig,
    now: Time,
    seq: u64,
    rng: SmallRng,
    heap: BinaryHeap<Scheduled>,
    nodes: BTreeMap<SocketAddr, SimNode>,
    /// (linker, linkee) and the reverse index (linkee, linker).
    links: BTreeSet<(Upid, Upid)>,
    linkers: BTreeSet<(Upid, Upid)>,
    /// Unordered node pairs (smaller address first) that cannot talk.
    partitions: BTreeSet<(SocketAddr, SocketAddr)>,
    /// Per node pair, bumped whenever their connections break.
    conn_epochs: BTreeMap<(SocketAddr, SocketAddr), u64>,
    faults: Vec<FaultRule>,
    next_fault: u64,
    held: BTreeMap<FaultId, Vec<Msg>>,
    filters: Filters,
    live_timers: HashSet<TimerKey>,
    notices: NoticeQueue,
    http_open: Vec<HttpConn>,
    next_inc: u64,
    /// Incarnations whose `finalize` is running (a `terminate` from inside
    /// `finalize` must not start another).
    terminating: HashSet<u64>,
    /// Nodes whose process is stopped (SIGSTOP, a long GC pause): their
    /// events wait in `frozen`, in order, until [`Sim::resume_node`].
    paused: BTreeSet<SocketAddr>,
    frozen: Vec<Scheduled>,
    trace: Trace,
    stats: SimStats,
}

fn pair(a: SocketAddr, b: SocketAddr) -> (SocketAddr, SocketAddr) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

impl Sim {
    /// A simulation with default settings and this seed.
    pub fn new(seed: u64) -> Sim {
        Sim::with_config(SimConfig::new(seed))
    }

    /// A simulation seeded from `MESOS_SIM_SEED`, else `default_seed`.
    pub fn from_env(default_seed: u64) -> Sim {
        Sim::with_config(SimConfig::from_env(default_seed))
    }

    pub fn with_config(cfg: SimConfig) -> Sim {
        Sim {
            rng: SmallRng::seed_from_u64(cfg.seed),
            trace: Trace::new(cfg.trace_capacity),
            cfg,
            now: Time::ZERO,
            seq: 0,
            heap: BinaryHeap::new(),
            nodes: BTreeMap::new(),
            links: BTreeSet::new(),
            linkers: BTreeSet::new(),
            partitions: BTreeSet::new(),
            conn_epochs: BTreeMap::new(),
            faults: Vec::new(),
            next_fault: 1,
            held: BTreeMap::new(),
            filters: Filters::new(),
            live_timers: HashSet::new(),
            notices: NoticeQueue::default(),
            http_open: Vec::new(),
            next_inc: 0,
            terminating: HashSet::new(),
            paused: BTreeSet::new(),
            frozen: Vec::new(),
            stats: SimStats::default(),
        }
    }

    // ----- clock and loop -----

    pub fn seed(&self) -> u64 {
        self.cfg.seed
    }

    /// The virtual time.
    pub fn now(&self) -> Time {
        self.now
    }

    /// `Cx::wall_secs()` at the current virtual time.
    pub fn wall_secs(&self) -> f64 {
        self.cfg.wall_epoch + self.now.0.as_secs_f64()
    }

    /// The simulation's RNG, for a test's own random choices (fault
    /// schedules), so they replay with the seed too.
    pub fn rng(&mut self) -> &mut SmallRng {
        &mut self.rng
    }

    pub fn set_latency(&mut self, latency: Duration) {
        self.cfg.latency = latency;
    }

    /// Extra random delay per remote message (reorders messages).
    pub fn set_jitter(&mut self, jitter: Duration) {
        self.cfg.jitter = jitter;
    }

    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// Events waiting in the heap (not those held by a paused node).
    pub fn pending_events(&self) -> usize {
        self.heap.len()
    }

    /// When the next event is due, if any.
    pub fn next_event_at(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.at)
    }

    /// Runs the next event, moving the clock to its time. False if none.
    pub fn step(&mut self) -> bool {
        self.drain_notices();
        let Some(s) = self.heap.pop() else {
            return false;
        };
        if s.at > self.now {
            self.now = s.at;
        }
        if !self.paused.is_empty() && self.paused.contains(&s.ev.node()) {
            self.frozen.push(s);
            return true;
        }
        self.stats.events += 1;
        self.run_event(s.ev);
        self.drain_notices();
        true
    }

    fn due_by(&mut self, deadline: Time) -> bool {
        self.drain_notices();
        self.heap.peek().is_some_and(|e| e.at <= deadline)
    }

    fn livelock(&self, n: usize) -> ! {
        panic!(
            "simulation ran {n} events without finishing at {:?} (seed {}): a livelock?",
            self.now.0, self.cfg.seed
        )
    }

    /// Runs every event due at or before `now + d`, then sets the clock to
    /// `now + d` (timers fire at their own times on the way). Returns the
    /// number of events run.
    pub fn advance(&mut self, d: Duration) -> usize {
        let deadline = self.now + d;
        let mut n = 0;
        while self.due_by(deadline) {
            self.step();
            n += 1;
            if n > self.cfg.step_limit {
                self.livelock(n);
            }
        }
        if deadline > self.now {
            self.now = deadline;
        }
        n
    }

    /// Advances the clock to `t` (no-op if `t` is not later than now).
    pub fn advance_to(&mut self, t: Time) -> usize {
        self.advance(t.saturating_since(self.now))
    }

    /// Runs until no event is due at the current time (the clock does not
    /// move), like upstream's `Clock::settle()` with a paused clock.
    pub fn settle(&mut self) -> usize {
        self.advance(Duration::ZERO)
    }

    /// Runs events until `pred` holds (checked before and after each
    /// event), moving the clock at most `limit` forward. True if `pred` held;
    /// otherwise the clock ends at `now + limit`.
    pub fn run_until(&mut self, mut pred: impl FnMut(&Sim) -> bool, limit: Duration) -> bool {
        let deadline = self.now + limit;
        let mut n = 0;
        loop {
            if pred(self) {
                return true;
            }
            if !self.due_by(deadline) {
                if deadline > self.now {
                    self.now = deadline;
                }
                return pred(self);
            }
            self.step();
            n += 1;
            if n > self.cfg.step_limit {
                self.livelock(n);
            }
        }
    }

    fn schedule(&mut self, at: Time, ev: Ev) {
        self.seq += 1;
        let at = at.max(self.now);
        self.heap.push(Scheduled {
            at,
            seq: self.seq,
            ev,
        });
    }

    // ----- trace -----

    fn record(
        &mut self,
        kind: Kind,
        from: Option<&Upid>,
        to: Option<&Upid>,
        name: &str,
        body: &[u8],
    ) {
        let body_hash = if body.is_empty() { 0 } else { fnv(body) };
        self.trace.record(self.now, kind, from, to, name, body_hash);
    }

    fn record_fault(&mut self, what: String) {
        self.record(Kind::Fault, None, None, &what, &[]);
    }

    /// The hash of every event so far; equal for equal runs.
    pub fn trace_hash(&self) -> u64 {
        self.trace.hash()
    }

    /// How many trace records were made.
    pub fn trace_len(&self) -> u64 {
        self.trace.count()
    }

    /// The last `n` trace records, oldest first.
    pub fn trace(&self, n: usize) -> Vec<TraceLine> {
        self.trace.last(n)
    }

    /// The last `n` trace records, one per line.
    pub fn trace_text(&self, n: usize) -> String {
        let mut s = String::new();
        for l in self.trace.last(n) {
            s.push_str(&l.to_string());
            s.push('\n');
        }
        s
    }

    /// What a failing test prints: the seed, how to replay it, and the last
    /// `n` trace lines.
    pub fn failure_report(&self, n: usize) -> String {
        format!(
            "simulation failed at {:?} with seed {} (replay: {SEED_ENV}={}); last events:\n{}",
            self.now.0,
            self.cfg.seed,
            self.cfg.seed,
            self.trace_text(n)
        )
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.failure_report(40));
        }
    }
}

#[allow(dead_code)]
fn assert_send() {
    // A simulation can move to another thread (e.g. behind a Mutex in a harness).
    fn is_send<T: Send>() {}
    is_send::<Sim>();
    is_send::<ResponseHandle>();
    is_send::<Disk>();
}

/// Runs `scenario` twice on fresh simulations with `config` and panics if
/// the two traces differ; returns the trace hash.
pub fn check_determinism(config: SimConfig, scenario: impl Fn(&mut Sim)) -> u64 {
    let mut a = Sim::with_config(config.clone());
    scenario(&mut a);
    let mut b = Sim::with_config(config);
    scenario(&mut b);
    assert_eq!(
        a.trace_hash(),
        b.trace_hash(),
        "non-deterministic run with seed {}: {} vs {} events\nfirst run ends:\n{}\nsecond run ends:\n{}",
        a.seed(),
        a.trace_len(),
        b.trace_len(),
        a.trace_text(20),
        b.trace_text(20)
    );
    a.trace_hash()
}
