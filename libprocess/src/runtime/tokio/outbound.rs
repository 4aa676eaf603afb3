//! Connections we open, and links.
//!
//! As libprocess' `SocketManager` (process.cpp:1584-2200): we only ever send
//! on sockets we opened and only read (and discard) replies on them. A linked
//! address gets one persistent socket; other sends use a temporary socket
//! that is shut down once it has been idle for a moment. When a persistent socket fails to
//! connect or closes, every process linked to any pid at that address gets
//! `exited(pid)` (`SocketManager::close` -> `exited(address)`, :2164-2274).
//! There is no heartbeat: exits are only noticed through the socket.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use super::{lock, Mail, Shared};
use crate::actor::Event;
use crate::tls::MaybeTlsStream;
use crate::transport::encode::encode_message;
use crate::Upid;

/// Who is linked to whom.
#[derive(Default)]
pub(crate) struct Links {
    /// Linked-to pid -> the processes (local) watching it. Almost always one
    /// or two watchers, so a short vector: a `BTreeSet` node is ~700 bytes
    /// per linked pid, which the master pays for every agent it links to.
    watchers: HashMap<Upid, Vec<Upid>>,
    /// Local process -> the pids it watches (to clean up when it goes).
    watching: HashMap<Upid, BTreeSet<Upid>>,
}

impl Links {
    fn add(&mut self, from: &Upid, to: &Upid) {
        let ws = self.watchers.entry(to.clone()).or_default();
        if !ws.contains(from) {
            ws.push(from.clone());
        }
        self.watching
            .entry(from.clone())
            .or_default()
            .insert(to.clone());
    }

    fn remove(&mut self, from: &Upid, to: &Upid) {
        if let Some(s) = self.watchers.get_mut(to) {
            s.retain(|w| w != from);
            if s.is_empty() {
                self.watchers.remove(to);
            }
        }
        if let Some(s) = self.watching.get_mut(from) {
            s.remove(to);
            if s.is_empty() {
                self.watching.remove(from);
            }
        }
    }

    /// Removes every link to `to`; returns the watchers.
    fn take_watchers(&mut self, to: &Upid) -> Vec<Upid> {
        let mut ws = self.watchers.remove(to).unwrap_or_default();
        // In pid order, as when they were kept in a set.
        ws.sort();
        for w in &ws {
            if let Some(s) = self.watching.get_mut(w) {
                s.remove(to);
                if s.is_empty() {
                    self.watching.remove(w);
                }
            }
        }
        ws
    }

    /// Forgets the links a terminated process held.
    fn forget_watcher(&mut self, from: &Upid) {
        for to in self.watching.remove(from).unwrap_or_default() {
            if let Some(s) = self.watchers.get_mut(&to) {
                s.retain(|w| w != from);
                if s.is_empty() {
                    self.watchers.remove(&to);
                }
            }
        }
    }

    /// How many (watcher, watched) pairs there are.
    pub(crate) fn len(&self) -> usize {
        self.watchers.values().map(Vec::len).sum()
    }
}

struct Conn {
    id: u64,
    tx: mpsc::UnboundedSender<Bytes>,
    persistent: Arc<AtomicBool>,
}

/// Open outbound connections, one per remote address.
#[derive(Default)]
pub(crate) struct Conns {
    by_addr: HashMap<SocketAddr, Conn>,
    next: u64,
}

impl Conns {
    pub(crate) fn clear(&mut self) {
        self.by_addr.clear();
    }
}

/// Most bytes gathered into one write when messages are queued.
const BATCH: usize = 256 * 1024;

/// How long an idle temporary socket stays open. Upstream shuts it down as
/// soon as its queue drains; lingering a little keeps bursts of unlinked
/// sends on one socket, and so in order, instead of racing over several.
const LINGER: Duration = Duration::from_secs(2);

impl Shared {
    /// Encodes and queues a message on the connection to `to`'s address,
    /// opening a temporary one if there is none.
    pub(crate) fn send_remote(self: &Arc<Self>, from: &Upid, to: &Upid, name: &str, body: &[u8]) {
        let mut buf = BytesMut::new();
        encode_message(from, to, name, body, &mut buf);
        let bytes = buf.freeze();
        let mut conns = lock(&self.conns);
        let bytes = match conns.by_addr.get(&to.addr()) {
            Some(c) => match c.tx.send(bytes) {
                Ok(()) => return,
                Err(e) => e.0,
            },
            None => bytes,
        };
        let tx = self.open(&mut conns, to.addr(), to.host(), false);
        let _ = tx.send(bytes);
    }

    /// Makes sure the connection to `addr` is persistent (opening it if needed).
    fn make_persistent(self: &Arc<Self>, addr: SocketAddr, host: Option<&str>) {
        let mut conns = lock(&self.conns);
        match conns.by_addr.get(&addr) {
            // Promote a temporary socket, as upstream's `link` does.
            Some(c) if !c.tx.is_closed() => c.persistent.store(true, Ordering::Release),
            _ => {
                self.open(&mut conns, addr, host, true);
            }
        }
    }

    fn open(
        self: &Arc<Self>,
        conns: &mut Conns,
        addr: SocketAddr,
        host: Option<&str>,
        persistent: bool,
    ) -> mpsc::UnboundedSender<Bytes> {
        let (tx, rx) = mpsc::unbounded_channel();
        conns.next += 1;
        let id = conns.next;
        let persistent = Arc::new(AtomicBool::new(persistent));
        conns.by_addr.insert(
            addr,
            Conn {
                id,
                tx: tx.clone(),
                persistent: persistent.clone(),
            },
        );
        if !self.closing.load(Ordering::Acquire) {
            let sh = self.clone();
            // The pid's hostname, if it was written with one, is what the
            // `openssl` TLS scheme checks (process.cpp passes `to.host`).
            let host: Option<Arc<str>> = host.map(Arc::from);
            let h = self
                .handle
                .spawn(async move { sh.connection(addr, host, id, rx, persistent).await });
            self.track(h.abort_handle());
        }
        tx
    }

    async fn connection(
        self: Arc<Self>,
        addr: SocketAddr,
        host: Option<Arc<str>>,
        id: u64,
        rx: mpsc::UnboundedReceiver<Bytes>,
        persistent: Arc<AtomicBool>,
    ) {
        // Plain or TLS per LIBPROCESS_SSL_*, including the plain retry of a
        // failed TLS connect when downgrades are supported (send_connect).
        let stream = match self.connector.connect(addr, host.as_deref()).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("Failed to connect to {addr}: {e}");
                self.connection_lost(addr, id, &persistent);
                return;
            }
        };
        let _ = stream.tcp().set_nodelay(true);
        match stream {
            MaybeTlsStream::Plain(s) => self.pump(addr, id, rx, persistent, s.into_split()).await,
            tls => {
                self.pump(addr, id, rx, persistent, tokio::io::split(tls))
                    .await
            }
        }
    }

    /// Writes queued messages to an open connection until it fails, closes,
    /// or (temporary sockets) idles out.
    async fn pump<R, W>(
        self: Arc<Self>,
        addr: SocketAddr,
        id: u64,
        mut rx: mpsc::UnboundedReceiver<Bytes>,
        persistent: Arc<AtomicBool>,
        (mut rd, mut wr): (R, W),
    ) where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin,
    {
        // Replies (202s) are read and thrown away (process.cpp:1421-1444);
        // the read side only tells us when the peer closes.
        let (closed_tx, mut closed) = oneshot::channel::<()>();
        let reader = self.handle.spawn(async move {
            let mut sink = vec![0u8; 16 * 1024];
            while let Ok(n) = rd.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
            let _ = closed_tx.send(());
        });
        self.track(reader.abort_handle());
        let mut buf = BytesMut::with_capacity(BATCH);
        loop {
            let first = tokio::select! {
                m = rx.recv() => m,
                _ = &mut closed => None,
                _ = tokio::time::sleep(LINGER), if !persistent.load(Ordering::Acquire) => {
                    // An idle temporary socket goes away; the check happens
                    // under the table lock so no send can slip in between.
                    let retire = {
                        let mut conns = lock(&self.conns);
                        let retire = rx.is_empty() && !persistent.load(Ordering::Acquire);
                        if retire && conns.by_addr.get(&addr).is_some_and(|c| c.id == id) {
                            conns.by_addr.remove(&addr);
                        }
                        retire
                    };
                    if retire {
                        let _ = wr.shutdown().await;
                        // Let the peer finish its replies, then drop the socket.
                        let _ = tokio::time::timeout(Duration::from_secs(5), &mut closed).await;
                        reader.abort();
                        return;
                    }
                    continue;
                }
            };
            let Some(first) = first else { break };
            buf.extend_from_slice(&first);
            // Batch whatever else is queued into one write.
            while buf.len() < BATCH {
                match rx.try_recv() {
                    Ok(m) => buf.extend_from_slice(&m),
                    Err(_) => break,
                }
            }
            if let Err(e) = wr.write_all(&buf).await {
                tracing::warn!("Failed to send to {addr}: {e}");
                break;
            }
            buf.clear();
        }
        reader.abort();
        self.connection_lost(addr, id, &persistent);
    }

    /// A connection ended: forget it, and if it was persistent tell every
    /// process linked to a pid at `addr`.
    fn connection_lost(&self, addr: SocketAddr, id: u64, persistent: &AtomicBool) {
        {
            let mut conns = lock(&self.conns);
            if conns.by_addr.get(&addr).is_some_and(|c| c.id == id) {
                conns.by_addr.remove(&addr);
            }
        }
        if !persistent.load(Ordering::Acquire) || self.closing.load(Ordering::Acquire) {
            return;
        }
        let exits: Vec<(Upid, Vec<Upid>)> = {
            let mut links = lock(&self.links);
            let gone: Vec<Upid> = links
                .watchers
                .keys()
                .filter(|p| p.addr() == addr)
                .cloned()
                .collect();
            gone.into_iter()
                .map(|p| {
                    let ws = links.take_watchers(&p);
                    (p, ws)
                })
                .collect()
        };
        for (pid, watchers) in exits {
            for w in watchers {
                self.deliver(w.id(), Mail::event(Event::Exited(pid.clone())));
            }
        }
    }

    /// `link(to)` for process `from` (process.cpp:1584-1709, 3175-3195).
    pub(crate) fn link(self: &Arc<Self>, from: Upid, to: Upid) {
        if self.is_local(to.addr()) {
            // Local pids are kept under the advertised address, the one
            // `process_exited` reports.
            let to = self.node.pid(to.id());
            // Registered under the lock so a concurrent exit cannot be missed.
            let mut links = lock(&self.links);
            if self.exists(to.id()) {
                links.add(&from, &to);
                return;
            }
            drop(links);
            // Linking to a missing local process yields exited at once.
            self.deliver(from.id(), Mail::event(Event::Exited(to)));
            return;
        }
        lock(&self.links).add(&from, &to);
        self.make_persistent(to.addr(), to.host());
    }

    pub(crate) fn unlink(&self, from: &Upid, to: &Upid) {
        lock(&self.links).remove(from, to);
    }

    /// A local process terminated: its watchers get `exited`, its own links go.
    pub(crate) fn process_exited(&self, pid: &Upid) {
        let watchers = {
            let mut links = lock(&self.links);
            links.forget_watcher(pid);
            links.take_watchers(pid)
        };
        for w in watchers {
            self.deliver(w.id(), Mail::event(Event::Exited(pid.clone())));
        }
    }

    /// How many links are registered (tests and diagnostics).
    pub(crate) fn link_count(&self) -> usize {
        lock(&self.links).len()
    }
}
