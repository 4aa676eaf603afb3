//! Actors, their install tables, and the effect context handlers run with.
//!
//! Mirrors libprocess' `ProcessBase` (3rdparty/libprocess/include/process/process.hpp
//! and protobuf.hpp): one table per actor type maps protobuf message names to typed
//! handlers and endpoint names to HTTP handlers. Handlers are synchronous; they
//! change the actor's state and record effects (send, link, timers, spawn, ...)
//! on [`Cx`], which the runtime carries out after the handler returns. Nothing
//! in a handler waits, reads a real clock or draws unseeded randomness, so the
//! same actor code runs under tokio and in the deterministic simulator.

use std::any::Any;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rand::RngCore;

use crate::http::{Request, Responder, Response, ResponseHead, StreamSender};
use crate::time::Time;
use crate::Upid;

/// A protobuf message that can travel between actors: its libprocess message
/// name is its fully qualified protobuf type name.
pub trait ProtoMessage: prost::Message + prost::Name + Default + Send + 'static {}
impl<T: prost::Message + prost::Name + Default + Send + 'static> ProtoMessage for T {}

/// The libprocess name of a protobuf message type, e.g. `mesos.internal.PingSlaveMessage`.
pub fn message_name<M: prost::Name>() -> String {
    M::full_name()
}

/// An actor: state plus the table of what it answers to.
pub trait Actor: Send + Sized + 'static {
    /// Registers message and HTTP handlers. Called once per spawned actor.
    fn install(routes: &mut Routes<Self>);

    /// Runs once, after spawn and before any event.
    fn initialize(&mut self, _cx: &mut Cx<'_, Self>) {}

    /// A linked process went away (its connection closed, or it terminated).
    fn exited(&mut self, _cx: &mut Cx<'_, Self>, _pid: &Upid) {}

    /// Runs once when the actor is terminated.
    fn finalize(&mut self, _cx: &mut Cx<'_, Self>) {}

    /// Authenticates an HTTP request for `endpoint` (the installed route
    /// name) before its handler runs, as upstream libprocess does with the
    /// authenticator of the route's realm: `Ok(principal)` lets it through
    /// (the principal lands in [`Request::principal`]), `Err(response)` is
    /// the answer instead (a 401). By default nothing is asked.
    fn authenticate(
        &self,
        _endpoint: &str,
        _request: &Request,
    ) -> Result<Option<String>, Box<Response>> {
        Ok(None)
    }
}

type MessageFn<A> = Box<dyn Fn(&mut A, &mut Cx<'_, A>, Upid, Bytes) + Send + Sync>;
type HttpFn<A> = Box<dyn Fn(&mut A, &mut Cx<'_, A>, Request, Responder) + Send + Sync>;

/// A closure run on an actor: timers, dispatches, continuations of blocking work.
pub type DispatchFn<A> = Box<dyn for<'c> FnOnce(&mut A, &mut Cx<'c, A>) + Send>;

/// Options of an HTTP route.
#[derive(Clone, Debug, Default)]
pub struct RouteOptions {
    /// Authentication realm, as upstream's `route(name, realm, ...)`; `None` = unauthenticated.
    pub realm: Option<String>,
    /// Deliver chunked request bodies as they arrive
    /// ([`crate::Request::body_stream`]), as upstream's
    /// `RouteOptions::requestStreaming`. Content-Length bodies are still read
    /// whole. Only the tokio runtime streams; the simulator delivers whole
    /// bodies.
    pub request_streaming: bool,
}

/// The install table of one actor type.
pub struct Routes<A> {
    messages: HashMap<String, MessageFn<A>>,
    http: Vec<(String, RouteOptions, HttpFn<A>)>,
}

impl<A: Actor> Routes<A> {
    pub(crate) fn build() -> Routes<A> {
        let mut r = Routes {
            messages: HashMap::new(),
            http: Vec::new(),
        };
        A::install(&mut r);
        // Longest prefix first, so lookup can take the first match.
        r.http
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        r
    }

    /// Installs a typed protobuf handler, keyed by the message's full name.
    /// A body that does not decode, or lacks a proto2 `required` field, is
    /// logged and dropped, as libprocess does.
    pub fn message<M: ProtoMessage>(&mut self, handler: fn(&mut A, &mut Cx<'_, A>, Upid, M)) {
        let name = M::full_name();
        let n2 = name.clone();
        self.messages.insert(
            name,
            Box::new(move |a, cx, from, body| match crate::decode::<M>(&body) {
                Ok(m) => handler(a, cx, from, m),
                Err(e) => tracing::warn!("Dropping message {n2} from {from}: {e}"),
            }),
        );
    }

    /// Installs a handler for a raw (non-protobuf, or untyped) message name.
    pub fn raw(&mut self, name: &str, handler: fn(&mut A, &mut Cx<'_, A>, Upid, Bytes)) {
        self.messages.insert(name.to_string(), Box::new(handler));
    }

    /// Installs an HTTP endpoint, e.g. `"state"` or `"api/v1/scheduler"`
    /// (leading slash optional). Requests are matched by longest prefix.
    pub fn http(&mut self, name: &str, handler: fn(&mut A, &mut Cx<'_, A>, Request, Responder)) {
        self.http_with(name, RouteOptions::default(), handler)
    }

    pub fn http_with(
        &mut self,
        name: &str,
        options: RouteOptions,
        handler: fn(&mut A, &mut Cx<'_, A>, Request, Responder),
    ) {
        let name = name.trim_start_matches('/').to_string();
        self.http.push((name, options, Box::new(handler)));
    }

    pub fn has_message(&self, name: &str) -> bool {
        self.messages.contains_key(name)
    }

    /// Every endpoint name, longest first, with whether its route streams
    /// request bodies (what runtimes consult before a body is read).
    pub fn streaming_table(&self) -> Vec<(String, bool)> {
        self.http
            .iter()
            .map(|(n, o, _)| (n.clone(), o.request_streaming))
            .collect()
    }

    /// Finds the endpoint for a path below the process id (`state`, `api/v1/x`):
    /// the longest installed name equal to the path or a prefix ending at a `/`.
    pub fn find_http(&self, endpoint: &str) -> Option<(&str, &RouteOptions)> {
        self.find(endpoint).map(|(n, o, _)| (n, o))
    }

    fn find(&self, endpoint: &str) -> Option<(&str, &RouteOptions, &HttpFn<A>)> {
        let endpoint = endpoint.trim_matches('/');
        self.http
            .iter()
            .find(|(n, _, _)| {
                endpoint == n
                    || (endpoint.starts_with(n.as_str())
                        && endpoint.as_bytes().get(n.len()) == Some(&b'/'))
            })
            .map(|(n, o, f)| (n.as_str(), o, f))
    }
}

/// Identifies a pending timer so it can be cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(pub u64);

/// A typed handle on a (usually local) actor, for [`Cx::dispatch`].
pub struct Pid<A> {
    pub upid: Upid,
    _a: PhantomData<fn() -> A>,
}

impl<A> Pid<A> {
    pub fn new(upid: Upid) -> Pid<A> {
        Pid {
            upid,
            _a: PhantomData,
        }
    }
}

impl<A> Clone for Pid<A> {
    fn clone(&self) -> Self {
        Pid::new(self.upid.clone())
    }
}

impl<A> std::fmt::Debug for Pid<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pid({})", self.upid)
    }
}

/// Run when a streaming response's client goes away: a closure for the actor
/// that owns the stream, delivered like a dispatch.
pub struct CloseNotice {
    pub pid: Upid,
    pub f: Box<dyn Any + Send>,
}

/// An effect recorded by a handler, carried out by the runtime afterwards.
pub enum Effect {
    /// Send `body` as message `name` to `to` (local or remote).
    Send {
        from: Upid,
        to: Upid,
        name: String,
        body: Bytes,
    },
    /// Watch `to`: the actor gets `exited(to)` when it goes away.
    Link {
        from: Upid,
        to: Upid,
    },
    Unlink {
        from: Upid,
        to: Upid,
    },
    /// Start a new actor on this node.
    Spawn {
        pid: Upid,
        actor: Box<dyn ErasedActor>,
    },
    /// Run `f` (a `DispatchFn` of the target's type) on `to` at `at`.
    Timer {
        id: TimerId,
        to: Upid,
        at: Time,
        f: Box<dyn Any + Send>,
    },
    CancelTimer(TimerId),
    /// Run `f` (a `DispatchFn` of the target's type) on `to` as soon as possible.
    Dispatch {
        to: Upid,
        f: Box<dyn Any + Send>,
    },
    /// Run `job` off the actor (disk, fork/exec, ...); its result is a
    /// `DispatchFn` for `to`, delivered as a dispatch.
    Blocking {
        to: Upid,
        job: Box<dyn FnOnce() -> Box<dyn Any + Send> + Send>,
    },
    /// Stop an actor on this node.
    Terminate(Upid),
}

impl std::fmt::Debug for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Effect::Send {
                from,
                to,
                name,
                body,
            } => write!(f, "Send({from} -> {to} {name} {}B)", body.len()),
            Effect::Link { from, to } => write!(f, "Link({from} -> {to})"),
            Effect::Unlink { from, to } => write!(f, "Unlink({from} -> {to})"),
            Effect::Spawn { pid, .. } => write!(f, "Spawn({pid})"),
            Effect::Timer { id, to, at, .. } => write!(f, "Timer({id:?} {to} at {at:?})"),
            Effect::CancelTimer(id) => write!(f, "CancelTimer({id:?})"),
            Effect::Dispatch { to, .. } => write!(f, "Dispatch({to})"),
            Effect::Blocking { to, .. } => write!(f, "Blocking({to})"),
            Effect::Terminate(p) => write!(f, "Terminate({p})"),
        }
    }
}

/// Per-node services shared by all actors of one process manager: id
/// generation (`slave-observer(3)`, as `process::ID::generate`) and timer ids.
#[derive(Debug)]
pub struct Node {
    addr: Mutex<SocketAddr>,
    ids: Mutex<HashMap<String, u64>>,
    timers: AtomicU64,
}

impl Node {
    pub fn new(addr: SocketAddr) -> Arc<Node> {
        Arc::new(Node {
            addr: Mutex::new(addr),
            ids: Mutex::new(HashMap::new()),
            timers: AtomicU64::new(1),
        })
    }

    /// The advertised address of this node's processes.
    pub fn addr(&self) -> SocketAddr {
        *self.addr.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_addr(&self, addr: SocketAddr) {
        *self.addr.lock().unwrap_or_else(|e| e.into_inner()) = addr;
    }

    /// `prefix(N)` with N counting from 1 per prefix, as `process::ID::generate`.
    pub fn generate_id(&self, prefix: &str) -> String {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        let n = ids.entry(prefix.to_string()).or_insert(0);
        *n += 1;
        format!("{prefix}({n})")
    }

    pub fn pid(&self, id: &str) -> Upid {
        Upid::new(id, self.addr())
    }

    pub(crate) fn next_timer(&self) -> TimerId {
        TimerId(self.timers.fetch_add(1, Ordering::Relaxed))
    }
}

/// The context a handler runs with: who it is, the time, randomness, and the
/// effects it records.
pub struct Cx<'a, A> {
    me: &'a Upid,
    node: &'a Node,
    now: Time,
    wall: f64,
    rng: &'a mut dyn RngCore,
    effects: &'a mut Vec<Effect>,
    _a: PhantomData<fn(&mut A)>,
}

impl<'a, A: Actor> Cx<'a, A> {
    /// Made by runtimes for each event they deliver.
    pub fn new(
        me: &'a Upid,
        node: &'a Node,
        now: Time,
        wall: f64,
        rng: &'a mut dyn RngCore,
        effects: &'a mut Vec<Effect>,
    ) -> Cx<'a, A> {
        Cx {
            me,
            node,
            now,
            wall,
            rng,
            effects,
            _a: PhantomData,
        }
    }

    /// This actor's pid.
    pub fn me(&self) -> &Upid {
        self.me
    }

    pub fn pid(&self) -> Pid<A> {
        Pid::new(self.me.clone())
    }

    /// The runtime's monotonic clock (virtual in the simulator).
    pub fn now(&self) -> Time {
        self.now
    }

    /// Seconds since the UNIX epoch, for timestamps (virtual in the simulator).
    pub fn wall_secs(&self) -> f64 {
        self.wall
    }

    pub fn rng(&mut self) -> &mut dyn RngCore {
        &mut *self.rng
    }

    /// `prefix(N)`, unique on this node.
    pub fn generate_id(&self, prefix: &str) -> String {
        self.node.generate_id(prefix)
    }

    /// A pid for another process id on this node.
    pub fn local_pid(&self, id: &str) -> Upid {
        self.node.pid(id)
    }

    /// Sends a protobuf message.
    pub fn send<M: prost::Message + prost::Name>(&mut self, to: &Upid, msg: &M) {
        self.send_raw(to, M::full_name(), Bytes::from(msg.encode_to_vec()));
    }

    /// Sends a message with an arbitrary name and body.
    pub fn send_raw(&mut self, to: &Upid, name: impl Into<String>, body: Bytes) {
        self.effects.push(Effect::Send {
            from: self.me.clone(),
            to: to.clone(),
            name: name.into(),
            body,
        });
    }

    pub fn link(&mut self, to: &Upid) {
        self.effects.push(Effect::Link {
            from: self.me.clone(),
            to: to.clone(),
        });
    }

    pub fn unlink(&mut self, to: &Upid) {
        self.effects.push(Effect::Unlink {
            from: self.me.clone(),
            to: to.clone(),
        });
    }

    /// Spawns an actor on this node under `id` (see [`Cx::generate_id`]).
    pub fn spawn<B: Actor>(&mut self, id: &str, actor: B) -> Pid<B> {
        let pid = self.node.pid(id);
        self.effects.push(Effect::Spawn {
            pid: pid.clone(),
            actor: Box::new(Holder::new(actor)),
        });
        Pid::new(pid)
    }

    /// Runs `f` on this actor after `after`.
    pub fn delay(
        &mut self,
        after: Duration,
        f: impl for<'c> FnOnce(&mut A, &mut Cx<'c, A>) + Send + 'static,
    ) -> TimerId {
        let id = self.node.next_timer();
        let f: DispatchFn<A> = Box::new(f);
        self.effects.push(Effect::Timer {
            id,
            to: self.me.clone(),
            at: self.now + after,
            f: Box::new(f),
        });
        id
    }

    pub fn cancel(&mut self, id: TimerId) {
        self.effects.push(Effect::CancelTimer(id));
    }

    /// Runs `f` on another local actor (upstream `dispatch`).
    pub fn dispatch<B: Actor>(
        &mut self,
        to: &Pid<B>,
        f: impl for<'c> FnOnce(&mut B, &mut Cx<'c, B>) + Send + 'static,
    ) {
        let f: DispatchFn<B> = Box::new(f);
        self.effects.push(Effect::Dispatch {
            to: to.upid.clone(),
            f: Box::new(f),
        });
    }

    /// Runs `job` off the actor (a blocking thread under tokio, inline in the
    /// simulator), then `then` on this actor with its result.
    pub fn blocking<T: Send + 'static>(
        &mut self,
        job: impl FnOnce() -> T + Send + 'static,
        then: impl for<'c> FnOnce(&mut A, &mut Cx<'c, A>, T) + Send + 'static,
    ) {
        let job = move || -> Box<dyn Any + Send> {
            let v = job();
            let f: DispatchFn<A> = Box::new(move |a, cx| then(a, cx, v));
            Box::new(f)
        };
        self.effects.push(Effect::Blocking {
            to: self.me.clone(),
            job: Box::new(job),
        });
    }

    /// Terminates this actor after the handler returns.
    pub fn terminate(&mut self) {
        self.effects.push(Effect::Terminate(self.me.clone()));
    }

    /// Terminates another local actor.
    pub fn terminate_other(&mut self, pid: &Upid) {
        self.effects.push(Effect::Terminate(pid.clone()));
    }

    /// Turns a responder into a chunked stream; `on_close` runs on this actor
    /// when the client goes away or the stream ends.
    pub fn stream(
        &mut self,
        responder: Responder,
        head: ResponseHead,
        capacity: usize,
        on_close: impl for<'c> FnOnce(&mut A, &mut Cx<'c, A>) + Send + 'static,
    ) -> Option<StreamSender> {
        let f: DispatchFn<A> = Box::new(on_close);
        let notice = CloseNotice {
            pid: self.me.clone(),
            f: Box::new(f),
        };
        responder
            .into_sink()
            .map(|s| s.stream(head, capacity, notice))
    }
}

/// What the runtime delivers to an actor.
pub enum Event {
    Message {
        from: Upid,
        name: String,
        body: Bytes,
    },
    Http {
        request: Request,
        responder: Responder,
    },
    Exited(Upid),
    /// A `DispatchFn` of the actor's type (timers, dispatches, continuations).
    Dispatch(Box<dyn Any + Send>),
    Initialize,
    Finalize,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Message { from, name, body } => {
                write!(f, "Message({name} from {from}, {}B)", body.len())
            }
            Event::Http { request, .. } => write!(f, "Http({} {})", request.method, request.path),
            Event::Exited(p) => write!(f, "Exited({p})"),
            Event::Dispatch(_) => f.write_str("Dispatch"),
            Event::Initialize => f.write_str("Initialize"),
            Event::Finalize => f.write_str("Finalize"),
        }
    }
}

/// The environment a runtime hands to [`ErasedActor::handle`].
pub struct Env<'a> {
    pub me: &'a Upid,
    pub node: &'a Node,
    pub now: Time,
    pub wall: f64,
    pub rng: &'a mut dyn RngCore,
    pub effects: &'a mut Vec<Effect>,
}

/// How an event was handled (for runtimes, traces and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    Yes,
    /// No handler for this message name (upstream drops it silently).
    NoHandler,
    /// No HTTP route matched; the runtime answered 404.
    NotFound,
    /// A dispatch closure of another actor type.
    WrongType,
}

/// An actor with its type erased, as runtimes hold it.
pub trait ErasedActor: Send {
    fn handle(&mut self, event: Event, env: Env<'_>) -> Handled;
    /// Whether an HTTP endpoint is installed for `endpoint`.
    fn has_route(&self, endpoint: &str) -> bool;
    fn has_message(&self, name: &str) -> bool;
    /// The installed endpoint names, longest first, each with whether its
    /// route streams request bodies.
    fn route_streaming(&self) -> Vec<(String, bool)> {
        Vec::new()
    }
    /// The actor itself, for tests that inspect state (`downcast_ref::<A>()`).
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// An actor with its install table.
pub struct Holder<A: Actor> {
    actor: A,
    routes: Routes<A>,
}

impl<A: Actor> Holder<A> {
    pub fn new(actor: A) -> Holder<A> {
        Holder {
            actor,
            routes: Routes::build(),
        }
    }
}

impl<A: Actor> ErasedActor for Holder<A> {
    fn handle(&mut self, event: Event, env: Env<'_>) -> Handled {
        let mut cx = Cx::<A>::new(env.me, env.node, env.now, env.wall, env.rng, env.effects);
        match event {
            Event::Message { from, name, body } => match self.routes.messages.get(&name) {
                Some(h) => {
                    h(&mut self.actor, &mut cx, from, body);
                    Handled::Yes
                }
                None => {
                    tracing::debug!("{} has no handler for message {name} from {from}", env.me);
                    Handled::NoHandler
                }
            },
            Event::Http {
                mut request,
                responder,
            } => match self.routes.find(&request.endpoint) {
                Some((name, _, h)) => {
                    match self.actor.authenticate(name, &request) {
                        Ok(principal) => request.principal = principal,
                        Err(response) => {
                            responder.respond(*response);
                            return Handled::Yes;
                        }
                    }
                    request.endpoint = request.endpoint.trim_matches('/').to_string();
                    h(&mut self.actor, &mut cx, request, responder);
                    Handled::Yes
                }
                None => {
                    responder.respond(crate::http::Response::not_found());
                    Handled::NotFound
                }
            },
            Event::Exited(pid) => {
                self.actor.exited(&mut cx, &pid);
                Handled::Yes
            }
            Event::Dispatch(f) => match f.downcast::<DispatchFn<A>>() {
                Ok(f) => {
                    (*f)(&mut self.actor, &mut cx);
                    Handled::Yes
                }
                Err(_) => {
                    tracing::warn!(
                        "{}: dropping a dispatch meant for another actor type",
                        env.me
                    );
                    Handled::WrongType
                }
            },
            Event::Initialize => {
                self.actor.initialize(&mut cx);
                Handled::Yes
            }
            Event::Finalize => {
                self.actor.finalize(&mut cx);
                Handled::Yes
            }
        }
    }

    fn has_route(&self, endpoint: &str) -> bool {
        self.routes.find(endpoint).is_some()
    }

    fn has_message(&self, name: &str) -> bool {
        self.routes.has_message(name)
    }

    fn route_streaming(&self) -> Vec<(String, bool)> {
        self.routes.streaming_table()
    }

    fn as_any(&self) -> &dyn Any {
        &self.actor
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        &mut self.actor
    }
}
