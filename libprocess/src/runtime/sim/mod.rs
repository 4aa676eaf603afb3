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
//!   and receiver; partitions between nodes; crashing and restarting actors
//!   and nodes (a restarted node is re-populated by the test's factory and
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

mod disk;
mod fault;
mod http;
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

    /// Events waiting in the heap.
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

    // ----- nodes -----

    /// Adds an empty, running node (a process manager at `addr`).
    pub fn add_node(&mut self, addr: SocketAddr) -> Arc<Node> {
        assert!(
            !self.nodes.contains_key(&addr),
            "node {addr} added twice to the simulation"
        );
        let node = Node::new(addr);
        self.nodes.insert(
            addr,
            SimNode {
                node: node.clone(),
                up: true,
                epoch: 0,
                boots: 0,
                actors: BTreeMap::new(),
                delegate: None,
                factory: None,
                disk: Disk::new(),
            },
        );
        node
    }

    /// Adds a node whose actors `factory` spawns now and after every restart.
    pub fn add_node_with(
        &mut self,
        addr: SocketAddr,
        factory: impl FnMut(&mut Boot) + Send + 'static,
    ) {
        self.add_node(addr);
        self.set_factory(addr, factory);
        self.boot(addr);
    }

    /// Sets (replaces) the factory used when `addr` restarts.
    pub fn set_factory(
        &mut self,
        addr: SocketAddr,
        factory: impl FnMut(&mut Boot) + Send + 'static,
    ) {
        self.node_mut(addr).factory = Some(Box::new(factory));
    }

    /// Routes HTTP requests for unknown process ids on `addr` to `id`
    /// (cleared by a crash; a factory sets it again with [`Boot::set_delegate`]).
    pub fn set_delegate(&mut self, addr: SocketAddr, id: &str) {
        self.node_mut(addr).delegate = Some(id.to_string());
    }

    fn node_mut(&mut self, addr: SocketAddr) -> &mut SimNode {
        match self.nodes.get_mut(&addr) {
            Some(n) => n,
            None => panic!("no node {addr} in the simulation"),
        }
    }

    /// The id generator and address of a running node.
    pub fn node(&self, addr: SocketAddr) -> Option<Arc<Node>> {
        self.nodes
            .get(&addr)
            .filter(|n| n.up)
            .map(|n| n.node.clone())
    }

    pub fn is_up(&self, addr: SocketAddr) -> bool {
        self.nodes.get(&addr).is_some_and(|n| n.up)
    }

    /// Addresses of all nodes, running or crashed.
    pub fn nodes(&self) -> Vec<SocketAddr> {
        self.nodes.keys().copied().collect()
    }

    /// The pids of the actors running on `addr`, in id order.
    pub fn actors(&self, addr: SocketAddr) -> Vec<Upid> {
        self.nodes
            .get(&addr)
            .map(|n| n.actors.values().map(|s| s.pid.clone()).collect())
            .unwrap_or_default()
    }

    /// The current incarnation's handle on a node's disk.
    pub fn disk(&self, addr: SocketAddr) -> Disk {
        match self.nodes.get(&addr) {
            Some(n) => n.disk.current(),
            None => panic!("no node {addr} in the simulation"),
        }
    }

    fn boot(&mut self, addr: SocketAddr) {
        let n = self.node_mut(addr);
        let mut factory = n.factory.take();
        let mut boot = Boot {
            addr,
            node: n.node.clone(),
            disk: n.disk.current(),
            boot: n.boots,
            spawns: Vec::new(),
            delegate: None,
        };
        n.boots += 1;
        if let Some(f) = factory.as_mut() {
            f(&mut boot);
        }
        let n = self.node_mut(addr);
        if n.factory.is_none() {
            n.factory = factory;
        }
        if boot.delegate.is_some() {
            n.delegate = boot.delegate;
        }
        for (pid, actor) in boot.spawns {
            self.spawn_boxed(pid, actor);
        }
    }

    /// Kills every actor of `addr` at once (no `finalize`), as when the
    /// machine or process dies: its unsynced disk writes, timers, pending
    /// messages and HTTP connections are lost, and actors elsewhere linked to
    /// any of its pids get `exited`.
    pub fn crash_node(&mut self, addr: SocketAddr) {
        let Some(n) = self.nodes.get_mut(&addr) else {
            return;
        };
        if !n.up {
            return;
        }
        n.up = false;
        n.epoch += 1;
        n.delegate = None;
        n.disk.crash();
        let actors = std::mem::take(&mut n.actors);
        self.record_fault(format!("crash node {addr}"));
        // Clients of its endpoints see a reset connection; nobody on the dead
        // node is told. Connections it had opened as a client break, and the
        // servers' streams learn that their client went away.
        self.reset_http(|c| c.server == addr, false);
        self.reset_http(|c| c.client == Some(addr), true);
        // Links held by the dead actors vanish with them; every other node's
        // connection to this address breaks, so their linkers to any pid
        // here get `exited` (one pass over the links, not one per peer).
        let peers: Vec<SocketAddr> = self.nodes.keys().copied().filter(|a| *a != addr).collect();
        for p in peers {
            *self.conn_epochs.entry(pair(p, addr)).or_insert(0) += 1;
        }
        let touched: Vec<(Upid, Upid)> = self
            .links
            .iter()
            .filter(|(linker, linkee)| linker.addr() == addr || linkee.addr() == addr)
            .cloned()
            .collect();
        for (linker, linkee) in touched {
            self.remove_link(&linker, &linkee);
            if linker.addr() != addr {
                self.notify_exited(&linker, &linkee);
            }
        }
        self.live_timers.retain(|k| k.0 != addr);
        drop(actors);
        self.forget_notices(|pid| pid.addr() == addr);
    }

    /// Starts `addr` again (crashing it first if it is running): a fresh
    /// process manager whose actors the node's factory spawns.
    pub fn restart_node(&mut self, addr: SocketAddr) {
        if self.is_up(addr) {
            self.crash_node(addr);
        }
        let n = self.node_mut(addr);
        n.up = true;
        n.node = Node::new(addr);
        self.record_fault(format!("restart node {addr}"));
        self.boot(addr);
    }

    // ----- actors -----

    /// Spawns `actor` as `id` on `addr` and runs its `initialize`.
    /// Panics if the node is missing or down, or the id is taken.
    pub fn spawn<A: Actor>(&mut self, addr: SocketAddr, id: &str, actor: A) -> Pid<A> {
        match self.try_spawn(addr, id, actor) {
            Some(p) => p,
            None => panic!("cannot spawn {id} on {addr}: node down or id taken"),
        }
    }

    /// Like [`Sim::spawn`], `None` where upstream `spawn` returns an empty UPID.
    pub fn try_spawn<A: Actor>(&mut self, addr: SocketAddr, id: &str, actor: A) -> Option<Pid<A>> {
        let pid = Upid::new(id, addr);
        self.spawn_boxed(pid.clone(), Box::new(Holder::new(actor)))
            .then(|| Pid::new(pid))
    }

    fn spawn_boxed(&mut self, pid: Upid, actor: Box<dyn ErasedActor>) -> bool {
        let Some(n) = self.nodes.get_mut(&pid.addr()).filter(|n| n.up) else {
            tracing::warn!("cannot spawn {pid}: no running node at its address");
            return false;
        };
        if n.actors.contains_key(pid.id()) {
            tracing::warn!("cannot spawn {pid}: a process with that id exists");
            return false;
        }
        self.next_inc += 1;
        let inc = self.next_inc;
        n.actors.insert(
            pid.id().to_string(),
            Slot {
                pid: pid.clone(),
                actor: Some(actor),
                inc,
            },
        );
        self.record(Kind::Spawn, None, Some(&pid), "spawn", &[]);
        self.run_on(&pid, Some(inc), Event::Initialize);
        true
    }

    pub fn is_alive(&self, pid: &Upid) -> bool {
        self.inc_of(pid).is_some()
    }

    fn inc_of(&self, pid: &Upid) -> Option<u64> {
        self.nodes
            .get(&pid.addr())
            .filter(|n| n.up)
            .and_then(|n| n.actors.get(pid.id()))
            .map(|s| s.inc)
    }

    fn epoch_of(&self, addr: SocketAddr) -> u64 {
        self.nodes.get(&addr).map_or(0, |n| n.epoch)
    }

    /// The actor behind `pid`, for assertions on its state.
    pub fn actor<A: Actor>(&self, pid: &Upid) -> Option<&A> {
        self.nodes
            .get(&pid.addr())
            .filter(|n| n.up)?
            .actors
            .get(pid.id())?
            .actor
            .as_ref()?
            .as_any()
            .downcast_ref()
    }

    pub fn actor_mut<A: Actor>(&mut self, pid: &Upid) -> Option<&mut A> {
        self.nodes
            .get_mut(&pid.addr())
            .filter(|n| n.up)?
            .actors
            .get_mut(pid.id())?
            .actor
            .as_mut()?
            .as_any_mut()
            .downcast_mut()
    }

    /// Terminates an actor as upstream `terminate(pid)`: `finalize` runs, then
    /// linkers on its node get `exited`.
    pub fn terminate(&mut self, pid: &Upid) {
        self.remove_actor(pid, true);
    }

    /// Kills one actor without `finalize`; local linkers get `exited`.
    pub fn crash_actor(&mut self, pid: &Upid) {
        if self.is_alive(pid) {
            self.record_fault(format!("crash actor {pid}"));
        }
        self.remove_actor(pid, false);
    }

    /// Crashes `pid` if alive and spawns `actor` under the same id.
    pub fn restart_actor<A: Actor>(&mut self, pid: &Upid, actor: A) -> Option<Pid<A>> {
        self.crash_actor(pid);
        self.record_fault(format!("restart actor {pid}"));
        self.try_spawn(pid.addr(), pid.id(), actor)
    }

    fn remove_actor(&mut self, pid: &Upid, graceful: bool) {
        let Some(inc) = self.inc_of(pid) else {
            return;
        };
        if !self.terminating.insert(inc) {
            return;
        }
        if graceful {
            self.run_on(pid, Some(inc), Event::Finalize);
        }
        self.terminating.remove(&inc);
        let Some(slot) = self
            .nodes
            .get_mut(&pid.addr())
            .and_then(|n| n.actors.remove(pid.id()))
        else {
            return;
        };
        self.record(Kind::Terminate, None, Some(&slot.pid), "terminate", &[]);
        // Its own links go; local linkers are told (upstream
        // `SocketManager::exited(ProcessBase*)`); remote linkers are not.
        let own: Vec<Upid> = self
            .links
            .range((slot.pid.clone(), Upid::default())..)
            .take_while(|(l, _)| *l == slot.pid)
            .map(|(_, t)| t.clone())
            .collect();
        for t in own {
            self.remove_link(&slot.pid, &t);
        }
        let local_linkers: Vec<Upid> = self
            .linkers
            .range((slot.pid.clone(), Upid::default())..)
            .take_while(|(t, _)| *t == slot.pid)
            .map(|(_, l)| l.clone())
            .filter(|l| l.addr() == slot.pid.addr())
            .collect();
        for l in local_linkers {
            self.remove_link(&l, &slot.pid);
            self.notify_exited(&l, &slot.pid);
        }
        drop(slot);
        let p = pid.clone();
        self.forget_notices(|n| *n == p);
    }

    // ----- delivering events -----

    /// Hands `event` to the actor at `pid` (of incarnation `inc` if given)
    /// and carries out its effects.
    fn run_on(&mut self, pid: &Upid, inc: Option<u64>, event: Event) -> Option<Handled> {
        let wall = self.wall_secs();
        let n = self.nodes.get_mut(&pid.addr()).filter(|n| n.up)?;
        let slot = n.actors.get_mut(pid.id())?;
        if inc.is_some_and(|i| i != slot.inc) {
            return None;
        }
        let mut actor = slot.actor.take()?;
        let (me, inc, node) = (slot.pid.clone(), slot.inc, n.node.clone());
        let mut effects = Vec::new();
        let handled = actor.handle(
            event,
            Env {
                me: &me,
                node: &node,
                now: self.now,
                wall,
                rng: &mut self.rng,
                effects: &mut effects,
            },
        );
        if let Some(slot) = self
            .nodes
            .get_mut(&me.addr())
            .and_then(|n| n.actors.get_mut(me.id()))
            .filter(|s| s.inc == inc)
        {
            slot.actor = Some(actor);
        }
        self.apply(&me, effects);
        Some(handled)
    }

    fn run_event(&mut self, ev: Ev) {
        match ev {
            Ev::Msg(m) => self.deliver_msg(m),
            Ev::Exited { linker, inc, pid } => {
                if self.inc_of(&linker) == Some(inc) {
                    self.record(Kind::Exited, Some(&pid), Some(&linker), "exited", &[]);
                    self.run_on(&linker, Some(inc), Event::Exited(pid));
                }
            }
            Ev::Dispatch {
                to,
                epoch,
                inc,
                f,
                label,
            } => {
                let alive = self.inc_of(&to);
                if self.epoch_of(to.addr()) == epoch
                    && alive.is_some()
                    && (inc.is_none() || inc == alive)
                {
                    self.record(Kind::Dispatch, None, Some(&to), label, &[]);
                    self.run_on(&to, alive, Event::Dispatch(f));
                }
            }
            Ev::Timer { key, to, inc, f } => {
                if self.live_timers.remove(&key) && self.inc_of(&to) == Some(inc) {
                    let name = format!("timer {}", key.2 .0);
                    self.record(Kind::Timer, None, Some(&to), &name, &[]);
                    self.run_on(&to, Some(inc), Event::Dispatch(f));
                }
            }
            Ev::Http {
                addr,
                client,
                request,
                handle,
            } => self.deliver_http(addr, client, request, handle),
        }
    }

    fn apply(&mut self, me: &Upid, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Send {
                    from,
                    to,
                    name,
                    body,
                } => self.send_msg(from, to, name, body, true),
                Effect::Link { from, to } => self.link(from, to),
                Effect::Unlink { from, to } => self.remove_link(&from, &to),
                Effect::Spawn { pid, actor } => {
                    if pid.addr() == me.addr() {
                        self.spawn_boxed(pid, actor);
                    } else {
                        tracing::warn!("{me}: cannot spawn {pid} on another node");
                    }
                }
                Effect::Timer { id, to, at, f } => {
                    let Some(inc) = self.inc_of(&to) else {
                        continue;
                    };
                    let key = (me.addr(), self.epoch_of(me.addr()), id);
                    self.live_timers.insert(key);
                    self.schedule(at, Ev::Timer { key, to, inc, f });
                }
                Effect::CancelTimer(id) => {
                    let key = (me.addr(), self.epoch_of(me.addr()), id);
                    self.live_timers.remove(&key);
                }
                Effect::Dispatch { to, f } => self.dispatch_boxed(me, to, None, f, "dispatch"),
                Effect::Blocking { to, job } => {
                    // Inline and deterministic; the continuation queues
                    // behind whatever is already due now.
                    let f = job();
                    let inc = self.inc_of(&to);
                    if inc.is_some() {
                        self.dispatch_boxed(me, to, inc, f, "blocking");
                    }
                }
                Effect::Terminate(pid) => {
                    if pid.addr() == me.addr() {
                        self.remove_actor(&pid, true);
                    } else {
                        tracing::warn!("{me}: cannot terminate {pid} on another node");
                    }
                }
            }
        }
    }

    fn dispatch_boxed(
        &mut self,
        me: &Upid,
        to: Upid,
        inc: Option<u64>,
        f: Box<dyn Any + Send>,
        label: &'static str,
    ) {
        // Upstream dispatch only reaches processes of the same manager.
        if to.addr() != me.addr() {
            tracing::warn!("{me}: dropping a dispatch to {to} on another node");
            return;
        }
        let epoch = self.epoch_of(to.addr());
        self.schedule(
            self.now,
            Ev::Dispatch {
                to,
                epoch,
                inc,
                f,
                label,
            },
        );
    }

    /// Runs `f` on the actor at `pid` at the current virtual time (after
    /// what is already due), as a test-side `dispatch`.
    pub fn dispatch<A: Actor>(
        &mut self,
        pid: &Pid<A>,
        f: impl for<'c> FnOnce(&mut A, &mut crate::Cx<'c, A>) + Send + 'static,
    ) {
        let f: DispatchFn<A> = Box::new(f);
        let epoch = self.epoch_of(pid.upid.addr());
        self.schedule(
            self.now,
            Ev::Dispatch {
                to: pid.upid.clone(),
                epoch,
                inc: None,
                f: Box::new(f),
                label: "dispatch",
            },
        );
    }

    fn drain_notices(&mut self) {
        loop {
            let next = self
                .notices
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            let Some(CloseNotice { pid, f }) = next else {
                return;
            };
            // Bound to the incarnation living now, so a later actor under the
            // same id never runs a dead one's closure.
            if let Some(inc) = self.inc_of(&pid) {
                let epoch = self.epoch_of(pid.addr());
                self.schedule(
                    self.now,
                    Ev::Dispatch {
                        to: pid,
                        epoch,
                        inc: Some(inc),
                        f,
                        label: "close-notice",
                    },
                );
            }
        }
    }

    fn forget_notices(&mut self, dead: impl Fn(&Upid) -> bool) {
        self.notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|n| !dead(&n.pid));
    }

    // ----- links -----

    fn reachable(&self, from: SocketAddr, to: SocketAddr) -> bool {
        self.nodes.get(&to).is_some_and(|n| n.up)
            && (from == to || !self.partitions.contains(&pair(from, to)))
    }

    fn link(&mut self, from: Upid, to: Upid) {
        if from == to || self.links.contains(&(from.clone(), to.clone())) {
            return;
        }
        let ok = if from.addr() == to.addr() {
            // Upstream: linking to a missing local process is an immediate exit.
            self.is_alive(&to)
        } else {
            // A remote link needs a connection; the linkee need not exist.
            self.reachable(from.addr(), to.addr())
        };
        if ok {
            self.links.insert((from.clone(), to.clone()));
            self.linkers.insert((to, from));
        } else {
            self.notify_exited(&from, &to);
        }
    }

    /// Whether `linker` holds a link to `linkee` (for invariants in tests).
    pub fn is_linked(&self, linker: &Upid, linkee: &Upid) -> bool {
        self.links.contains(&(linker.clone(), linkee.clone()))
    }

    fn remove_link(&mut self, linker: &Upid, linkee: &Upid) {
        self.links.remove(&(linker.clone(), linkee.clone()));
        self.linkers.remove(&(linkee.clone(), linker.clone()));
    }

    fn notify_exited(&mut self, linker: &Upid, pid: &Upid) {
        if let Some(inc) = self.inc_of(linker) {
            self.schedule(
                self.now,
                Ev::Exited {
                    linker: linker.clone(),
                    inc,
                    pid: pid.clone(),
                },
            );
        }
    }

    /// The connections between `a` and `b` break: messages in flight are
    /// lost and each side's linkers to the other side get `exited`.
    fn break_connection(&mut self, a: SocketAddr, b: SocketAddr) {
        *self.conn_epochs.entry(pair(a, b)).or_insert(0) += 1;
        let broken: Vec<(Upid, Upid)> = self
            .links
            .iter()
            .filter(|(l, t)| a != b && pair(l.addr(), t.addr()) == pair(a, b))
            .cloned()
            .collect();
        for (linker, linkee) in broken {
            self.remove_link(&linker, &linkee);
            self.notify_exited(&linker, &linkee);
        }
    }

    // ----- partitions -----

    /// Cuts `a` off from `b` (both ways) until [`Sim::heal`].
    pub fn partition(&mut self, a: SocketAddr, b: SocketAddr) {
        if a == b || !self.partitions.insert(pair(a, b)) {
            return;
        }
        self.record_fault(format!("partition {a} {b}"));
        self.break_connection(a, b);
        self.reset_http(
            |c| c.client.is_some_and(|cl| pair(cl, c.server) == pair(a, b)),
            true,
        );
    }

    /// Cuts every node in `side_a` off from every node in `side_b`.
    pub fn partition_sets(&mut self, side_a: &[SocketAddr], side_b: &[SocketAddr]) {
        for a in side_a {
            for b in side_b {
                self.partition(*a, *b);
            }
        }
    }

    /// Cuts `addr` off from every other node.
    pub fn isolate(&mut self, addr: SocketAddr) {
        for other in self.nodes() {
            self.partition(addr, other);
        }
    }

    pub fn heal(&mut self, a: SocketAddr, b: SocketAddr) {
        if self.partitions.remove(&pair(a, b)) {
            self.record_fault(format!("heal {a} {b}"));
        }
    }

    pub fn heal_all(&mut self) {
        for (a, b) in std::mem::take(&mut self.partitions) {
            self.record_fault(format!("heal {a} {b}"));
        }
    }

    pub fn is_partitioned(&self, a: SocketAddr, b: SocketAddr) -> bool {
        self.partitions.contains(&pair(a, b))
    }

    // ----- messages -----

    /// The test filters consulted before every delivery (shared handle).
    pub fn filters(&self) -> &Filters {
        &self.filters
    }

    /// Sends a protobuf message from `from` (any pid, e.g. a fake scheduler
    /// that is not on any node) to `to`, as if sent now.
    pub fn send<M: prost::Message + prost::Name>(&mut self, from: &Upid, to: &Upid, msg: &M) {
        self.send_raw(from, to, M::full_name(), Bytes::from(msg.encode_to_vec()));
    }

    pub fn send_raw(&mut self, from: &Upid, to: &Upid, name: impl Into<String>, body: Bytes) {
        self.send_msg(from.clone(), to.clone(), name.into(), body, true);
    }

    fn send_msg(&mut self, from: Upid, to: Upid, name: String, body: Bytes, faults: bool) {
        let local = from.addr() == to.addr();
        let mut delay = Duration::ZERO;
        if !local {
            delay += self.cfg.latency;
            if !self.cfg.jitter.is_zero() {
                delay += self.random_delay(self.cfg.jitter);
            }
        }
        let mut copies = 1;
        if faults {
            if let Some((id, action)) = self.match_fault(&name, &from, &to) {
                let lost = match action {
                    FaultAction::Drop => true,
                    FaultAction::DropRandomly(pct) => self.rng.gen_range(0..100u8) < pct,
                    _ => false,
                };
                match action {
                    _ if lost => {
                        self.stats.dropped += 1;
                        let note = format!("{name} (fault {})", id.0);
                        self.record(Kind::Dropped, Some(&from), Some(&to), &note, &body);
                        return;
                    }
                    FaultAction::Hold => {
                        let note = format!("hold {name} (fault {})", id.0);
                        self.record(Kind::Fault, Some(&from), Some(&to), &note, &body);
                        self.held.entry(id).or_default().push(Msg {
                            from,
                            to,
                            name,
                            body,
                            dest_epoch: 0,
                            conn_epoch: None,
                            wire: None,
                        });
                        return;
                    }
                    FaultAction::Delay(d) => delay += d,
                    FaultAction::RandomDelay(max) => delay += self.random_delay(max),
                    FaultAction::Duplicate => copies = 2,
                    FaultAction::Drop | FaultAction::DropRandomly(_) => {}
                }
            }
        }
        // A connection is needed at send time: a down or unreachable peer
        // loses the message (upstream drops it when connect fails).
        let sender_is_node = self.nodes.contains_key(&from.addr());
        let can_reach = if sender_is_node {
            self.reachable(from.addr(), to.addr())
        } else {
            self.is_up(to.addr())
        };
        if !can_reach {
            self.stats.dropped += 1;
            let note = format!("{name} (unreachable)");
            self.record(Kind::Dropped, Some(&from), Some(&to), &note, &body);
            return;
        }
        let dest_epoch = self.epoch_of(to.addr());
        let conn_epoch = (!local && sender_is_node)
            .then(|| self.conn_epochs.get(&pair(from.addr(), to.addr())).copied())
            .map(|e| e.unwrap_or(0));
        let wire = (!local && self.cfg.wire)
            .then(|| crate::transport::encode::message_bytes(&from, &to, &name, &body));
        for _ in 1..copies {
            let m = Msg {
                from: from.clone(),
                to: to.clone(),
                name: name.clone(),
                body: body.clone(),
                dest_epoch,
                conn_epoch,
                wire: wire.clone(),
            };
            self.schedule(self.now + delay, Ev::Msg(m));
        }
        let m = Msg {
            from,
            to,
            name,
            body,
            dest_epoch,
            conn_epoch,
            wire,
        };
        self.schedule(self.now + delay, Ev::Msg(m));
    }

    fn random_delay(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.rng.gen_range(0..=nanos))
    }

    fn deliver_msg(&mut self, m: Msg) {
        let Msg {
            mut from,
            mut to,
            mut name,
            mut body,
            dest_epoch,
            conn_epoch,
            wire,
        } = m;
        let mut undecodable = false;
        if let Some(wire) = wire {
            match decode_wire(wire, to.addr()) {
                Some((f, t, n, b)) => (from, to, name, body) = (f, t, n, b),
                None => undecodable = true,
            }
        }
        let why = if undecodable {
            Some("undecodable on the wire")
        } else if !self.is_up(to.addr()) || self.epoch_of(to.addr()) != dest_epoch {
            Some("node down")
        } else if conn_epoch.is_some_and(|e| {
            self.conn_epochs
                .get(&pair(from.addr(), to.addr()))
                .copied()
                .unwrap_or(0)
                != e
        }) {
            Some("connection broken")
        } else if !self.filters.admit(&name, &from, &to, &body) {
            Some("filter")
        } else if !self.is_alive(&to) {
            Some("no process")
        } else {
            None
        };
        if let Some(why) = why {
            self.stats.dropped += 1;
            let note = format!("{name} ({why})");
            self.record(Kind::Dropped, Some(&from), Some(&to), &note, &body);
            return;
        }
        self.stats.delivered += 1;
        self.record(Kind::Message, Some(&from), Some(&to), &name, &body);
        self.run_on(&to, None, Event::Message { from, name, body });
    }

    // ----- faults -----

    fn match_fault(
        &mut self,
        name: &str,
        from: &Upid,
        to: &Upid,
    ) -> Option<(FaultId, FaultAction)> {
        let r = self
            .faults
            .iter_mut()
            .find(|r| r.remaining != Some(0) && r.matcher.matches(name, from, to))?;
        if let Some(n) = r.remaining.as_mut() {
            *n -= 1;
        }
        r.hits += 1;
        Some((r.id, r.action))
    }

    /// Installs a fault for the next `times` matching messages (`None` =
    /// all, until removed). Faults are tried in installation order; the
    /// first that matches acts.
    pub fn fault(
        &mut self,
        matcher: Matcher,
        action: FaultAction,
        times: Option<usize>,
    ) -> FaultId {
        let id = FaultId(self.next_fault);
        self.next_fault += 1;
        self.faults.push(FaultRule {
            id,
            matcher,
            action,
            remaining: times,
            hits: 0,
        });
        id
    }

    /// Drops every matching message until removed.
    pub fn drop_messages(&mut self, m: Matcher) -> FaultId {
        self.fault(m, FaultAction::Drop, None)
    }

    /// Drops the next matching message.
    pub fn drop_next(&mut self, m: Matcher) -> FaultId {
        self.fault(m, FaultAction::Drop, Some(1))
    }

    /// Holds every matching message until [`Sim::release`].
    pub fn hold(&mut self, m: Matcher) -> FaultId {
        self.fault(m, FaultAction::Hold, None)
    }

    pub fn delay_messages(&mut self, m: Matcher, d: Duration) -> FaultId {
        self.fault(m, FaultAction::Delay(d), None)
    }

    pub fn duplicate(&mut self, m: Matcher) -> FaultId {
        self.fault(m, FaultAction::Duplicate, None)
    }

    /// Loses each matching message with probability `percent`/100.
    pub fn lossy(&mut self, m: Matcher, percent: u8) -> FaultId {
        self.fault(m, FaultAction::DropRandomly(percent.min(100)), None)
    }

    /// Delays each matching message by a random amount up to `max`.
    pub fn reorder(&mut self, m: Matcher, max: Duration) -> FaultId {
        self.fault(m, FaultAction::RandomDelay(max), None)
    }

    /// How many messages the fault acted on so far.
    pub fn fault_hits(&self, id: FaultId) -> usize {
        self.faults
            .iter()
            .find(|r| r.id == id)
            .map_or(0, |r| r.hits)
    }

    /// Messages held by a `Hold` fault and not yet released.
    pub fn held(&self, id: FaultId) -> usize {
        self.held.get(&id).map_or(0, Vec::len)
    }

    /// Sends the messages a `Hold` fault kept, in their original order, as if
    /// sent now (other faults do not apply to them again). Returns how many.
    pub fn release(&mut self, id: FaultId) -> usize {
        let msgs = self.held.remove(&id).unwrap_or_default();
        let n = msgs.len();
        for m in msgs {
            self.send_msg(m.from, m.to, m.name, m.body, false);
        }
        n
    }

    /// Removes a fault; messages it holds stay held until released.
    pub fn remove_fault(&mut self, id: FaultId) {
        self.faults.retain(|r| r.id != id);
    }

    /// Removes every fault and drops every held message.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
        self.held.clear();
    }

    // ----- HTTP -----

    /// A client request to the node at `addr`, delivered at the current
    /// virtual time (run [`Sim::settle`] to get the answer). The path is
    /// `/<process id>/<endpoint>[?query]`; an unknown first segment goes to
    /// the node's delegate, as upstream `ProcessManager::handle`.
    pub fn http(&mut self, addr: SocketAddr, request: Request) -> ResponseHandle {
        let handle = ResponseHandle::new(self.notices.clone());
        self.schedule(
            self.now,
            Ev::Http {
                addr,
                client: None,
                request,
                handle: handle.clone(),
            },
        );
        handle
    }

    /// A request from a client on node `client` (e.g. a framework or an
    /// executor speaking the v1 HTTP API): refused while the two nodes are
    /// partitioned, and reset when a partition or a crash of either side
    /// cuts it, which closes a streaming response (its actor gets the
    /// close notice unless the server itself died).
    pub fn http_from(
        &mut self,
        client: SocketAddr,
        addr: SocketAddr,
        mut request: Request,
    ) -> ResponseHandle {
        request.peer = Some(client);
        let handle = ResponseHandle::new(self.notices.clone());
        self.schedule(
            self.now,
            Ev::Http {
                addr,
                client: Some(client),
                request,
                handle: handle.clone(),
            },
        );
        handle
    }

    fn reset_http(&mut self, hit: impl Fn(&HttpConn) -> bool, tell_server: bool) {
        let mut notices = Vec::new();
        self.http_open.retain(|c| {
            let Some(st) = c.state.upgrade() else {
                return false;
            };
            if !hit(c) {
                return true;
            }
            let mut st = st.lock().unwrap_or_else(|e| e.into_inner());
            if tell_server {
                notices.extend(st.reset());
            } else {
                st.fail("connection reset");
            }
            false
        });
        let mut q = self.notices.lock().unwrap_or_else(|e| e.into_inner());
        q.extend(notices);
    }

    fn deliver_http(
        &mut self,
        addr: SocketAddr,
        client: Option<SocketAddr>,
        mut request: Request,
        handle: ResponseHandle,
    ) {
        let refused = client.is_some_and(|c| !self.reachable(c, addr));
        let Some(n) = self.nodes.get(&addr).filter(|n| n.up && !refused) else {
            handle.fail("connection refused");
            let note = format!("http {} (connection refused)", request.path);
            self.record(Kind::Dropped, None, None, &note, &[]);
            return;
        };
        let raw = std::mem::take(&mut request.path);
        let (mut path, query) = match raw.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (raw, None),
        };
        if let Some(q) = query {
            if request.query.is_empty() {
                request.query = crate::transport::decode::parse_query(&q).unwrap_or_default();
            }
        }
        let first = path.split('/').find(|t| !t.is_empty()).map(str::to_string);
        let mut target = match first {
            None => n.delegate.clone().inspect(|d| path = format!("/{d}")),
            // An undecodable id names no process (upstream logs it).
            Some(t) => crate::transport::decode::percent_decode(&t).ok(),
        };
        if !target.as_ref().is_some_and(|t| n.actors.contains_key(t)) {
            if let Some(d) = &n.delegate {
                path = format!("/{d}{path}");
                target = Some(d.clone());
            }
        }
        let pid = target.and_then(|t| n.actors.get(&t)).map(|s| s.pid.clone());
        let Some(pid) = pid else {
            let note = format!("http {path} (no process)");
            self.record(Kind::Dropped, None, None, &note, &[]);
            Responder::new(handle.sink()).respond(Response::not_found());
            return;
        };
        let mut tokens = path.split('/').filter(|t| !t.is_empty());
        tokens.next();
        request.endpoint = tokens.collect::<Vec<_>>().join("/");
        request.path = path;
        self.record(Kind::Http, None, Some(&pid), &request.path, &request.body);
        if self.http_open.len() >= 64 && self.http_open.len().is_power_of_two() {
            self.http_open.retain(|HttpConn { state: st, .. }| {
                st.upgrade()
                    .is_some_and(|s| !s.lock().unwrap_or_else(|e| e.into_inner()).finished())
            });
        }
        self.http_open.push(HttpConn {
            server: addr,
            client,
            state: Arc::downgrade(&handle.state),
        });
        let responder = Responder::new(handle.sink());
        self.run_on(&pid, None, Event::Http { request, responder });
    }
}

impl Sim {
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

/// Decodes a message the way the inbound side of a process manager does:
/// an HTTP request whose sender comes from `Libprocess-From` and whose path
/// is `/<to id>/<name>` (process.cpp `parse`).
fn decode_wire(mut wire: BytesMut, at: SocketAddr) -> Option<(Upid, Upid, String, Bytes)> {
    use crate::transport::decode;
    let mut d = decode::RequestDecoder::new(
        crate::transport::DEFAULT_MAX_HEAD,
        crate::transport::DEFAULT_MAX_BODY,
    );
    let req = match d.decode(&mut wire) {
        Ok(Some(r)) if wire.is_empty() && decode::is_message(&r) => r,
        other => {
            tracing::warn!("simulated wire: not one message: {other:?}");
            return None;
        }
    };
    let from = Upid::parse_literal(&decode::message_sender(&req)?).ok()?;
    let (to, name) = decode::message_route(req.path()).ok()?;
    Some((from, Upid::new(to, at), name, req.body))
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
