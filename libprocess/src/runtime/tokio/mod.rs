//! The real runtime: actors on tokio tasks, messages over the libprocess HTTP
//! wire.
//!
//! Mirrors libprocess' `ProcessManager` and `SocketManager`
//! (3rdparty/libprocess/src/process.cpp): one mailbox and one task per actor,
//! a table from process id to mailbox, links with exit notification, and the
//! HTTP listener every peer and operator talks to.
//!
//! # Layout
//! - this file: [`Runtime`] (the public handle), the process table, actor
//!   tasks and how each recorded [`Effect`] is carried out;
//! - `inbound`: the listener, request decoding and dispatch, ordered
//!   (pipelined) responses and streams;
//! - `outbound`: connections we open (temporary and persistent) and link /
//!   exit bookkeeping.

mod inbound;
mod outbound;

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use rand::SeedableRng;
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::task::AbortHandle;

use crate::actor::{Cx, DispatchFn, Effect, Env, ErasedActor, Event, Holder, Node};
use crate::filter::Filters;
use crate::time::Time;
use crate::transport::TransportConfig;
use crate::{Actor, TimerId, Upid};

/// What goes into an actor's mailbox.
pub(crate) enum Mail {
    /// Messages, the hot path, travel unboxed.
    Message {
        from: Upid,
        name: String,
        body: Bytes,
    },
    /// Every other event, boxed: an HTTP event is several times the size
    /// of a message and would make every mailbox slot that large.
    Event(Box<Event>),
    /// Wakes the actor so it notices its termination flag.
    Terminate,
}

impl Mail {
    pub(crate) fn event(e: Event) -> Mail {
        Mail::Event(Box::new(e))
    }
}

/// One process's mailbox: a locked queue and a wake-up. It allocates nothing
/// until mail arrives; a tokio unbounded channel allocates a 32-slot block
/// (32 x `Mail`, ~4 KB) up front, which was most of what an idle process
/// costs (the master keeps one `slave-observer` per agent).
#[derive(Default)]
struct Mailbox {
    /// The mail, and whether the owner stopped taking it.
    queue: Mutex<(VecDeque<Mail>, bool)>,
    ready: Notify,
}

/// A queue that held more than this much mail gives the memory back once
/// drained (after a burst such as mass agent registration).
const MAILBOX_KEEP: usize = 1024;

impl Mailbox {
    /// Queues `mail`; `false` once the owner has stopped.
    fn push(&self, mail: Mail) -> bool {
        {
            let mut q = lock(&self.queue);
            if q.1 {
                return false;
            }
            q.0.push_back(mail);
        }
        self.ready.notify_one();
        true
    }

    fn try_pop(&self) -> Option<Mail> {
        let mut q = lock(&self.queue);
        let m = q.0.pop_front();
        if m.is_none() && q.0.capacity() > MAILBOX_KEEP {
            q.0.shrink_to(MAILBOX_KEEP / 16);
        }
        m
    }

    /// The next mail, waiting for it. `notify_one` keeps a permit when
    /// nobody waits, so mail queued between the check and the wait still
    /// wakes us.
    async fn pop(&self) -> Mail {
        loop {
            if let Some(m) = self.try_pop() {
                return m;
            }
            self.ready.notified().await;
        }
    }

    /// Refuses further mail; returns what was queued.
    fn close(&self) -> VecDeque<Mail> {
        let mut q = lock(&self.queue);
        q.1 = true;
        std::mem::take(&mut q.0)
    }
}

struct Proc {
    mailbox: Arc<Mailbox>,
    /// Set by `terminate`: the actor stops before its next event, as
    /// upstream's `terminate(pid, inject = true)` jumps the queue.
    terminating: Arc<AtomicBool>,
    /// Endpoint names (longest first) with whether they stream request
    /// bodies; `None` when no route of the actor streams.
    streaming: Option<Arc<[(String, bool)]>>,
}

/// Events an actor handles back to back before it yields its worker.
const BATCH: u32 = 64;

/// The clock an actor's handlers see. Reading it costs two clock calls, so
/// while an actor drains a backlog it is read every `REFRESH` events rather
/// than for each; it is always read afresh after the actor waited.
#[derive(Default)]
struct Clock {
    now: Time,
    wall: f64,
    /// Events since the last reading; `None` = must read.
    uses: Option<u32>,
}

const REFRESH: u32 = 16;

impl Clock {
    fn stale(&mut self) {
        self.uses = None;
    }

    fn read(&mut self, start: Instant) -> (Time, f64) {
        match self.uses {
            Some(n) if n < REFRESH => self.uses = Some(n + 1),
            _ => {
                self.now = Time(start.elapsed());
                self.wall = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                self.uses = Some(1);
            }
        }
        (self.now, self.wall)
    }
}

/// State shared by every task of one runtime.
pub(crate) struct Shared {
    node: Arc<Node>,
    /// The advertised address (also in `node`, read here without its lock).
    advertised: SocketAddr,
    bound: SocketAddr,
    start: Instant,
    config: TransportConfig,
    handle: Handle,
    filters: Filters,
    procs: RwLock<HashMap<Arc<str>, Proc>>,
    delegate: RwLock<Option<String>>,
    timers: Mutex<HashMap<TimerId, AbortHandle>>,
    links: Mutex<outbound::Links>,
    conns: Mutex<outbound::Conns>,
    /// Network tasks, aborted on shutdown.
    tasks: Mutex<Vec<AbortHandle>>,
    closing: AtomicBool,
    /// Turns accepted sockets into plain or TLS streams (`LIBPROCESS_SSL_*`).
    acceptor: crate::tls::Acceptor,
    /// Opens outgoing plain or TLS connections.
    connector: crate::tls::Connector,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Whether `addr` names this process manager (upstream compares with
    /// `__address__`; we also accept the bound address, which differs when
    /// an advertised address is configured).
    pub(crate) fn is_local(&self, addr: SocketAddr) -> bool {
        addr == self.advertised || addr == self.bound
    }

    /// Whether the route of process `id` serving `endpoint` streams
    /// request bodies (`RouteOptions::request_streaming`).
    pub(crate) fn streams_request(&self, id: &str, endpoint: &str) -> bool {
        let procs = self.procs.read().unwrap_or_else(|e| e.into_inner());
        let Some(table) = procs.get(id).and_then(|p| p.streaming.clone()) else {
            return false;
        };
        drop(procs);
        let endpoint = endpoint.trim_matches('/');
        table
            .iter()
            .find(|(n, _)| {
                endpoint == n
                    || (endpoint.starts_with(n.as_str())
                        && endpoint.as_bytes().get(n.len()) == Some(&b'/'))
            })
            .is_some_and(|(_, s)| *s)
    }

    pub(crate) fn exists(&self, id: &str) -> bool {
        self.procs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(id)
    }

    /// Puts `mail` into the mailbox of local process `id`; `false` if there
    /// is no such process (the mail is dropped).
    pub(crate) fn deliver(&self, id: &str, mail: Mail) -> bool {
        let procs = self.procs.read().unwrap_or_else(|e| e.into_inner());
        match procs.get(id) {
            Some(p) => p.mailbox.push(mail),
            None => false,
        }
    }

    pub(crate) fn track(&self, h: AbortHandle) {
        let mut t = lock(&self.tasks);
        if t.len() >= 64 && t.len().is_power_of_two() {
            t.retain(|h| !h.is_finished());
        }
        t.push(h);
    }

    fn spawn_actor(self: &Arc<Self>, pid: Upid, actor: Box<dyn ErasedActor>) -> Option<Upid> {
        let mailbox = Arc::new(Mailbox::default());
        let terminating = Arc::new(AtomicBool::new(false));
        let table = actor.route_streaming();
        let streaming = table
            .iter()
            .any(|(_, s)| *s)
            .then(|| Arc::from(table.into_boxed_slice()));
        {
            let mut procs = self.procs.write().unwrap_or_else(|e| e.into_inner());
            if procs.contains_key(pid.id()) {
                tracing::warn!("Attempted to spawn already running process {pid}");
                return None;
            }
            procs.insert(
                Arc::from(pid.id()),
                Proc {
                    mailbox: mailbox.clone(),
                    terminating: terminating.clone(),
                    streaming,
                },
            );
        }
        let sh = self.clone();
        let p = pid.clone();
        self.handle
            .spawn(async move { sh.run_actor(p, actor, mailbox, terminating).await });
        Some(pid)
    }

    async fn run_actor(
        self: Arc<Self>,
        pid: Upid,
        mut actor: Box<dyn ErasedActor>,
        mailbox: Arc<Mailbox>,
        terminating: Arc<AtomicBool>,
    ) {
        let mut rng = rand::rngs::SmallRng::from_entropy();
        let mut effects = Vec::new();
        let mut clock = Clock::default();
        self.handle_event(
            &pid,
            &mut *actor,
            Event::Initialize,
            &mut rng,
            &mut effects,
            &mut clock,
        );
        // Queued mail is taken without awaiting; every BATCH events the task
        // yields so one busy actor cannot starve the others on its worker.
        let mut run = 0u32;
        while !terminating.load(Ordering::Acquire) {
            let mail = match mailbox.try_pop() {
                Some(m) if run < BATCH => {
                    run += 1;
                    m
                }
                Some(m) => {
                    run = 0;
                    clock.stale();
                    tokio::task::yield_now().await;
                    m
                }
                None => {
                    run = 0;
                    clock.stale();
                    mailbox.pop().await
                }
            };
            if terminating.load(Ordering::Acquire) {
                break;
            }
            let ev = match mail {
                Mail::Message { from, name, body } => Event::Message { from, name, body },
                Mail::Event(ev) => *ev,
                Mail::Terminate => break,
            };
            self.handle_event(&pid, &mut *actor, ev, &mut rng, &mut effects, &mut clock);
        }
        clock.stale();
        self.handle_event(
            &pid,
            &mut *actor,
            Event::Finalize,
            &mut rng,
            &mut effects,
            &mut clock,
        );
        {
            let mut procs = self.procs.write().unwrap_or_else(|e| e.into_inner());
            if procs
                .get(pid.id())
                .is_some_and(|p| Arc::ptr_eq(&p.mailbox, &mailbox))
            {
                procs.remove(pid.id());
            }
        }
        // Whatever is still queued is dropped (outside the mailbox lock):
        // pending HTTP responders answer 503, pending close notices find no
        // process.
        drop(mailbox.close());
        drop(actor);
        self.process_exited(&pid);
    }

    fn handle_event(
        self: &Arc<Self>,
        pid: &Upid,
        actor: &mut dyn ErasedActor,
        event: Event,
        rng: &mut rand::rngs::SmallRng,
        effects: &mut Vec<Effect>,
        clock: &mut Clock,
    ) {
        let (now, wall) = clock.read(self.start);
        let env = Env {
            me: pid,
            node: &self.node,
            now,
            wall,
            rng,
            effects,
        };
        // A panicking handler is a bug; it must not leave a zombie entry in
        // the process table whose linkers never hear of it. The actor is
        // terminated (its effects from the failed event are discarded).
        let handled =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| actor.handle(event, env)));
        if handled.is_err() {
            tracing::error!("Process {pid} panicked while handling an event; terminating it");
            effects.clear();
            self.terminate(pid.id());
            return;
        }
        for e in effects.drain(..) {
            self.effect(e);
        }
    }

    /// Carries out one recorded effect.
    pub(crate) fn effect(self: &Arc<Self>, effect: Effect) {
        match effect {
            Effect::Send {
                from,
                to,
                name,
                body,
            } => self.send(from, to, name, body),
            Effect::Link { from, to } => self.link(from, to),
            Effect::Unlink { from, to } => self.unlink(&from, &to),
            Effect::Spawn { pid, actor } => {
                self.spawn_actor(pid, actor);
            }
            Effect::Timer { id, to, at, f } => {
                let deadline = tokio::time::Instant::from_std(self.start + at.0);
                let sh = self.clone();
                let mut timers = lock(&self.timers);
                let h = self.handle.spawn(async move {
                    tokio::time::sleep_until(deadline).await;
                    lock(&sh.timers).remove(&id);
                    sh.deliver(to.id(), Mail::event(Event::Dispatch(f)));
                });
                timers.insert(id, h.abort_handle());
            }
            Effect::CancelTimer(id) => {
                if let Some(h) = lock(&self.timers).remove(&id) {
                    h.abort();
                }
            }
            Effect::Dispatch { to, f } => {
                if !self.is_local(to.addr())
                    || !self.deliver(to.id(), Mail::event(Event::Dispatch(f)))
                {
                    tracing::debug!("Dropping dispatch to {to}: no such local process");
                }
            }
            Effect::Blocking { to, job } => {
                let sh = self.clone();
                self.handle.spawn_blocking(move || {
                    let f = job();
                    sh.deliver(to.id(), Mail::event(Event::Dispatch(f)));
                });
            }
            Effect::Terminate(pid) => {
                if self.is_local(pid.addr()) {
                    self.terminate(pid.id());
                }
            }
        }
    }

    pub(crate) fn terminate(&self, id: &str) {
        let procs = self.procs.read().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = procs.get(id) {
            p.terminating.store(true, Ordering::Release);
            let _ = p.mailbox.push(Mail::Terminate);
        }
    }

    /// Sends a message: filters first (for every message, local or remote),
    /// then the mailbox for a local target, else the wire.
    pub(crate) fn send(self: &Arc<Self>, from: Upid, to: Upid, name: String, body: Bytes) {
        if !self.filters.admit(&name, &from, &to, &body) {
            tracing::debug!("Filter dropped {name} from {from} to {to}");
            return;
        }
        if self.is_local(to.addr()) {
            if !self.deliver(to.id(), Mail::Message { from, name, body }) {
                tracing::debug!("Dropping message to {to}: no such process");
            }
        } else {
            self.send_remote(&from, &to, &name, &body);
        }
    }
}

/// The tokio runtime: a libprocess process manager on real sockets.
///
/// Owns a multi-threaded tokio runtime ([`Runtime::start`]) or runs on one
/// the caller owns ([`Runtime::start_on`]). Blocking helpers ([`Runtime::call`],
/// [`Runtime::wait_terminated`]) are for code outside the runtime's threads.
pub struct Runtime {
    shared: Arc<Shared>,
    owned: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Runtime({})", self.shared.node.addr())
    }
}

/// The id `send_from_outside` uses as the sender.
pub const OUTSIDE_ID: &str = "outside";

impl Runtime {
    /// Starts a runtime on its own tokio runtime and binds the listener.
    pub fn start(config: TransportConfig) -> io::Result<Runtime> {
        let threads = config.worker_threads.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .max(2)
        });
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("libprocess")
            .enable_all()
            .build()?;
        let mut r = Runtime::start_on(rt.handle().clone(), config)?;
        r.owned = Some(rt);
        Ok(r)
    }

    /// Starts a runtime on an existing tokio runtime (which must have IO and
    /// time enabled) and binds the listener.
    pub fn start_on(handle: Handle, config: TransportConfig) -> io::Result<Runtime> {
        // A bad TLS set-up is a start-up error, as upstream's EXIT in
        // openssl.cpp `reinitialize`.
        let tls = crate::tls::TlsContext::from_config(config.ssl.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = {
            let _g = handle.enter();
            let bind = SocketAddr::new(config.ip, config.port);
            let sock = if bind.is_ipv4() {
                tokio::net::TcpSocket::new_v4()?
            } else {
                tokio::net::TcpSocket::new_v6()?
            };
            sock.set_reuseaddr(true)?;
            sock.bind(bind)?;
            sock.listen(1024)?
        };
        let bound = listener.local_addr()?;
        let advertised = config.advertised(bound);
        let shared = Arc::new(Shared {
            node: Node::new(advertised),
            advertised,
            bound,
            start: Instant::now(),
            config,
            handle: handle.clone(),
            filters: Filters::new(),
            procs: RwLock::new(HashMap::new()),
            delegate: RwLock::new(None),
            timers: Mutex::new(HashMap::new()),
            links: Mutex::new(outbound::Links::default()),
            conns: Mutex::new(outbound::Conns::default()),
            tasks: Mutex::new(Vec::new()),
            closing: AtomicBool::new(false),
            acceptor: crate::tls::Acceptor::from_context(tls.clone()),
            connector: crate::tls::Connector::from_context(tls),
        });
        let accept = handle.spawn(inbound::accept_loop(shared.clone(), listener));
        shared.track(accept.abort_handle());
        tracing::info!("libprocess runtime listening on {bound}, advertising {advertised}");
        Ok(Runtime {
            shared,
            owned: None,
        })
    }

    /// The advertised address: what goes into this runtime's pids.
    pub fn addr(&self) -> SocketAddr {
        self.shared.node.addr()
    }

    /// The address the listener is bound to.
    pub fn bound_addr(&self) -> SocketAddr {
        self.shared.bound
    }

    pub fn node(&self) -> Arc<Node> {
        self.shared.node.clone()
    }

    pub fn handle(&self) -> Handle {
        self.shared.handle.clone()
    }

    /// The message filters consulted before every delivery (tests).
    pub fn filters(&self) -> Filters {
        self.shared.filters.clone()
    }

    /// The pid `id` would have on this runtime.
    pub fn pid(&self, id: &str) -> Upid {
        self.shared.node.pid(id)
    }

    /// Routes HTTP requests whose first path segment is not a process (and
    /// `/` itself) to process `id`, as `process::initialize(delegate)` does
    /// (process.cpp:2712-2732): on a master, `/state` reaches `/master/state`.
    pub fn set_delegate(&self, id: Option<&str>) {
        *self
            .shared
            .delegate
            .write()
            .unwrap_or_else(|e| e.into_inner()) = id.map(str::to_string);
    }

    /// Spawns `actor` as process `id`. A duplicate id is logged and yields
    /// the empty pid, as upstream's `spawn` does.
    pub fn spawn<A: Actor>(&self, id: &str, actor: A) -> Upid {
        self.spawn_erased(id, Box::new(Holder::new(actor)))
    }

    pub fn spawn_erased(&self, id: &str, actor: Box<dyn ErasedActor>) -> Upid {
        self.shared
            .spawn_actor(self.pid(id), actor)
            .unwrap_or_default()
    }

    /// Spawns under a generated id `prefix(N)` (`process::ID::generate`).
    pub fn spawn_generated<A: Actor>(&self, prefix: &str, actor: A) -> Upid {
        let id = self.shared.node.generate_id(prefix);
        self.spawn(&id, actor)
    }

    /// Sends a message as `from` (which need not be a process of ours).
    pub fn send(&self, from: &Upid, to: &Upid, name: &str, body: Bytes) {
        self.shared
            .send(from.clone(), to.clone(), name.to_string(), body);
    }

    /// Sends a message from the pseudo-process `outside@<addr>` (tests).
    pub fn send_from_outside(&self, to: &Upid, name: &str, body: Bytes) {
        self.send(&self.pid(OUTSIDE_ID), to, name, body)
    }

    /// Sends a protobuf message from the pseudo-process `outside@<addr>`.
    pub fn send_proto_from_outside<M: prost::Message + prost::Name>(&self, to: &Upid, msg: &M) {
        self.send_from_outside(to, &M::full_name(), Bytes::from(msg.encode_to_vec()))
    }

    /// Runs `f` on local actor `pid` (of type `A`) as a dispatch.
    pub fn dispatch<A: Actor>(
        &self,
        pid: &Upid,
        f: impl for<'c> FnOnce(&mut A, &mut Cx<'c, A>) + Send + 'static,
    ) -> bool {
        let f: DispatchFn<A> = Box::new(f);
        self.shared
            .deliver(pid.id(), Mail::event(Event::Dispatch(Box::new(f))))
    }

    /// Runs `f` on local actor `pid` and waits (up to 10 s) for its result;
    /// `None` if the process is gone, of another type, or too slow. Blocks
    /// the calling thread: not for use on the runtime's own threads.
    pub fn call<A: Actor, R: Send + 'static>(
        &self,
        pid: &Upid,
        f: impl for<'c> FnOnce(&mut A, &mut Cx<'c, A>) -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        if !self.dispatch::<A>(pid, move |a, cx| {
            let _ = tx.send(f(a, cx));
        }) {
            return None;
        }
        rx.recv_timeout(Duration::from_secs(10)).ok()
    }

    /// Terminates local process `pid` (it runs `finalize`, then its linkers
    /// get `exited`).
    pub fn terminate(&self, pid: &Upid) {
        self.shared.terminate(pid.id());
    }

    /// How many links (watcher, watched) are registered.
    pub fn link_count(&self) -> usize {
        self.shared.link_count()
    }

    pub fn is_running(&self, pid: &Upid) -> bool {
        self.shared.is_local(pid.addr()) && self.shared.exists(pid.id())
    }

    /// Waits until local process `pid` is gone; `false` on timeout.
    pub fn wait_terminated(&self, pid: &Upid, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while self.is_running(pid) {
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }

    /// Terminates every process, closes every connection and the listener,
    /// and stops the owned tokio runtime. Peers linked to our processes see
    /// their persistent connections close and get `exited`.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        let ids: Vec<Arc<str>> = self
            .shared
            .procs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        for id in &ids {
            self.shared.terminate(id);
        }
        let end = Instant::now() + Duration::from_secs(2);
        while !self
            .shared
            .procs
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
            && Instant::now() < end
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        for h in lock(&self.shared.tasks).drain(..) {
            h.abort();
        }
        for (_, h) in lock(&self.shared.timers).drain() {
            h.abort();
        }
        lock(&self.shared.conns).clear();
        if let Some(rt) = self.owned.take() {
            // Blocking on the shutdown is not allowed inside an async context.
            if Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(1));
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop();
    }
}
