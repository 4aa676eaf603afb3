//! A minimal asynchronous ZooKeeper client (the jute wire protocol over
//! TCP) with what Mesos' group membership needs: a session kept alive by
//! pings, create (ephemeral / sequential), delete, exists, getData and
//! getChildren with watches, digest authentication, and session expiry.
//!
//! Semantics follow the C client upstream links (`zookeeper_init`,
//! src/zookeeper/zookeeper.cpp): a lost connection is retried against the
//! servers until the session timeout elapses; a server that reports the
//! session unknown on reconnect expires it. Watches are one-shot and are not
//! re-registered after a reconnect: a [`ZkEvent::Connected`] after a
//! [`ZkEvent::Disconnected`] tells users to re-read (and re-watch) what they
//! follow, which the group recipes do.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc, oneshot};

const OP_CREATE: i32 = 1;
const OP_DELETE: i32 = 2;
const OP_EXISTS: i32 = 3;
const OP_GET_DATA: i32 = 4;
const OP_GET_CHILDREN: i32 = 8;
const OP_PING: i32 = 11;
const OP_CLOSE: i32 = -11;
const OP_AUTH: i32 = 100;

const XID_WATCH: i32 = -1;
const XID_PING: i32 = -2;
const XID_AUTH: i32 = -4;

/// `ZOK` and the error codes the recipes branch on (zookeeper.h).
pub mod code {
    pub const CONNECTION_LOSS: i32 = -4;
    pub const NO_NODE: i32 = -101;
    pub const NO_AUTH: i32 = -102;
    pub const NODE_EXISTS: i32 = -110;
    pub const NOT_EMPTY: i32 = -111;
    pub const SESSION_EXPIRED: i32 = -112;
    pub const AUTH_FAILED: i32 = -115;
}

/// A frame larger than this is a protocol error (jute's default maximum
/// buffer is 1 MB of data plus headers).
const MAX_FRAME: usize = 16 << 20;

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ZkError {
    #[error("ZooKeeper connection loss")]
    ConnectionLoss,
    #[error("ZooKeeper session expired")]
    SessionExpired,
    #[error("ZooKeeper client closed")]
    Closed,
    #[error("ZooKeeper error code {0}")]
    Code(i32),
    #[error("ZooKeeper protocol error: {0}")]
    Protocol(String),
    #[error("Failed to connect to ZooKeeper: {0}")]
    Connect(String),
}

impl ZkError {
    pub fn is_code(&self, c: i32) -> bool {
        matches!(self, ZkError::Code(x) if *x == c)
    }
    /// The session is gone for good (expired or closed).
    pub fn is_fatal(&self) -> bool {
        matches!(self, ZkError::SessionExpired | ZkError::Closed)
    }
}

/// Session state changes and watch notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkEvent {
    /// (Re)connected with the session; watches set before a disconnection
    /// are gone and must be set again.
    Connected,
    /// The connection was lost; the session may still be recovered.
    Disconnected,
    /// The session expired: ephemeral nodes are gone; the client is dead.
    Expired,
    /// A watch fired (`type` as zookeeper.h: 1 created, 2 deleted,
    /// 3 changed, 4 child).
    Watch { kind: i32, path: String },
}

/// The `Stat` of a znode (the fields the recipes use).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    pub czxid: i64,
    pub version: i32,
    pub ephemeral_owner: i64,
    pub data_length: i32,
    pub num_children: i32,
}

enum Req {
    Op {
        op: i32,
        body: Vec<u8>,
        reply: oneshot::Sender<Result<Bytes, ZkError>>,
    },
    Close(oneshot::Sender<()>),
}

struct Shared {
    tx: mpsc::UnboundedSender<Req>,
    events: broadcast::Sender<ZkEvent>,
    session_id: AtomicI64,
    timeout: Duration,
    auth: bool,
}

/// A ZooKeeper session. Cheap to clone; the session closes when
/// [`ZkClient::close`] is called or the last clone is dropped.
#[derive(Clone)]
pub struct ZkClient {
    shared: Arc<Shared>,
}

// ---- jute encoding -------------------------------------------------------

fn put_i32(b: &mut Vec<u8>, v: i32) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put_i64(b: &mut Vec<u8>, v: i64) {
    b.extend_from_slice(&v.to_be_bytes());
}
fn put_bool(b: &mut Vec<u8>, v: bool) {
    b.push(v as u8);
}
fn put_buf(b: &mut Vec<u8>, v: &[u8]) {
    put_i32(b, v.len() as i32);
    b.extend_from_slice(v);
}
fn put_str(b: &mut Vec<u8>, v: &str) {
    put_buf(b, v.as_bytes());
}

struct Rd<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Rd<'a> {
    fn new(b: &'a [u8]) -> Self {
        Rd { b, pos: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], ZkError> {
        if self.b.len() - self.pos < n {
            return Err(ZkError::Protocol("short reply".into()));
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn i32(&mut self) -> Result<i32, ZkError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn i64(&mut self) -> Result<i64, ZkError> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().unwrap()))
    }
    /// A buffer; -1 (null) reads as empty.
    fn buf(&mut self) -> Result<&'a [u8], ZkError> {
        let n = self.i32()?;
        if n < 0 {
            return Ok(&[]);
        }
        self.take(n as usize)
    }
    fn string(&mut self) -> Result<String, ZkError> {
        let b = self.buf()?;
        String::from_utf8(b.to_vec()).map_err(|_| ZkError::Protocol("string not UTF-8".into()))
    }
    fn stat(&mut self) -> Result<Stat, ZkError> {
        let czxid = self.i64()?;
        let _mzxid = self.i64()?;
        let _ctime = self.i64()?;
        let _mtime = self.i64()?;
        let version = self.i32()?;
        let _cversion = self.i32()?;
        let _aversion = self.i32()?;
        let ephemeral_owner = self.i64()?;
        let data_length = self.i32()?;
        let num_children = self.i32()?;
        let _pzxid = self.i64()?;
        Ok(Stat {
            czxid,
            version,
            ephemeral_owner,
            data_length,
            num_children,
        })
    }
}

fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    put_i32(&mut out, payload.len() as i32);
    out.extend_from_slice(payload);
    out
}

async fn read_frame(r: &mut OwnedReadHalf) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len).await?;
    let n = i32::from_be_bytes(len);
    if n < 0 || n as usize > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("bad ZooKeeper frame length {n}"),
        ));
    }
    let mut buf = vec![0u8; n as usize];
    r.read_exact(&mut buf).await?;
    Ok(buf)
}

/// The outcome of a session handshake with one server.
struct Handshake {
    stream: TcpStream,
    session_id: i64,
    passwd: Vec<u8>,
    timeout: Duration,
}

/// Connects to one of `servers` (tried in order) and establishes (or
/// resumes, when `session_id` != 0) a session. `Ok(None)` means the server
/// told us the session expired.
async fn handshake(
    servers: &[String],
    timeout: Duration,
    session_id: i64,
    passwd: &[u8],
    last_zxid: i64,
) -> Result<Option<Handshake>, ZkError> {
    let mut last_err = String::from("no servers");
    for server in servers {
        let attempt = async {
            let mut stream = TcpStream::connect(server.as_str())
                .await
                .map_err(|e| format!("{server}: {e}"))?;
            let _ = stream.set_nodelay(true);
            let mut req = Vec::new();
            put_i32(&mut req, 0); // protocol version
            put_i64(&mut req, last_zxid);
            put_i32(&mut req, timeout.as_millis().min(i32::MAX as u128) as i32);
            put_i64(&mut req, session_id);
            put_buf(&mut req, passwd);
            put_bool(&mut req, false); // read-only
            stream
                .write_all(&frame(&req))
                .await
                .map_err(|e| format!("{server}: {e}"))?;
            let mut len = [0u8; 4];
            stream
                .read_exact(&mut len)
                .await
                .map_err(|e| format!("{server}: {e}"))?;
            let n = i32::from_be_bytes(len);
            if !(0..=4096).contains(&n) {
                return Err(format!("{server}: bad handshake length {n}"));
            }
            let mut buf = vec![0u8; n as usize];
            stream
                .read_exact(&mut buf)
                .await
                .map_err(|e| format!("{server}: {e}"))?;
            Ok::<_, String>((stream, buf))
        };
        let (stream, buf) = match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                last_err = e;
                continue;
            }
            Err(_) => {
                last_err = format!("{server}: timed out");
                continue;
            }
        };
        let mut rd = Rd::new(&buf);
        let parsed = (|| {
            let _proto = rd.i32()?;
            let t = rd.i32()?;
            let sid = rd.i64()?;
            let pw = rd.buf()?.to_vec();
            Ok::<_, ZkError>((t, sid, pw))
        })();
        let (t, sid, pw) = match parsed {
            Ok(x) => x,
            Err(e) => {
                last_err = format!("{server}: {e}");
                continue;
            }
        };
        if t <= 0 {
            // The server no longer knows the session we tried to resume.
            return Ok(None);
        }
        return Ok(Some(Handshake {
            stream,
            session_id: sid,
            passwd: pw,
            timeout: Duration::from_millis(t as u64),
        }));
    }
    Err(ZkError::Connect(last_err))
}

async fn send_auth(w: &mut OwnedWriteHalf, user: &str, pass: &str) -> std::io::Result<()> {
    let mut p = Vec::new();
    put_i32(&mut p, XID_AUTH);
    put_i32(&mut p, OP_AUTH);
    put_i32(&mut p, 0);
    put_str(&mut p, "digest");
    put_buf(&mut p, format!("{user}:{pass}").as_bytes());
    w.write_all(&frame(&p)).await
}

impl ZkClient {
    /// Connects to `servers` (`host:port`, tried in order) and opens a
    /// session with the requested timeout (the server may negotiate it).
    /// `auth` adds digest credentials (upstream `zoo_add_auth`).
    pub async fn connect(
        servers: &[String],
        session_timeout: Duration,
        auth: Option<(String, String)>,
    ) -> Result<ZkClient, ZkError> {
        let hs = handshake(servers, session_timeout, 0, &[], 0)
            .await?
            .ok_or(ZkError::SessionExpired)?;
        let (tx, rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(256);
        let shared = Arc::new(Shared {
            tx,
            events: events.clone(),
            session_id: AtomicI64::new(hs.session_id),
            timeout: hs.timeout,
            auth: auth.is_some(),
        });
        tracing::info!(
            "ZooKeeper session 0x{:x} established (timeout {:?})",
            hs.session_id,
            hs.timeout
        );
        let task = Session {
            servers: servers.to_vec(),
            requested: session_timeout,
            auth,
            events,
            session_id: hs.session_id,
            passwd: hs.passwd.clone(),
            timeout: hs.timeout,
            last_zxid: 0,
            next_xid: 1,
        };
        tokio::spawn(task.run(hs.stream, rx));
        Ok(ZkClient { shared })
    }

    /// Connects to the servers of a `zk://` URL with its credentials.
    pub async fn connect_url(
        url: &crate::ZkUrl,
        session_timeout: Duration,
    ) -> Result<ZkClient, ZkError> {
        ZkClient::connect(&url.server_list(), session_timeout, url.auth.clone()).await
    }

    pub fn session_id(&self) -> i64 {
        self.shared.session_id.load(Ordering::Relaxed)
    }

    /// The negotiated session timeout.
    pub fn session_timeout(&self) -> Duration {
        self.shared.timeout
    }

    /// Session and watch events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ZkEvent> {
        self.shared.events.subscribe()
    }

    async fn call(&self, op: i32, body: Vec<u8>) -> Result<Bytes, ZkError> {
        let (reply, rx) = oneshot::channel();
        self.shared
            .tx
            .send(Req::Op { op, body, reply })
            .map_err(|_| ZkError::Closed)?;
        rx.await.map_err(|_| ZkError::Closed)?
    }

    /// The ACL for new nodes: world-readable and creator-owned when
    /// authenticated, else open (upstream `EVERYONE_READ_CREATOR_ALL` /
    /// `ZOO_OPEN_ACL_UNSAFE` in src/zookeeper/group.cpp).
    fn put_acl(&self, b: &mut Vec<u8>) {
        if self.shared.auth {
            put_i32(b, 2);
            put_i32(b, 1); // READ
            put_str(b, "world");
            put_str(b, "anyone");
            put_i32(b, 31); // ALL
            put_str(b, "auth");
            put_str(b, "");
        } else {
            put_i32(b, 1);
            put_i32(b, 31);
            put_str(b, "world");
            put_str(b, "anyone");
        }
    }

    /// Creates `path`; returns the created path (with the sequence suffix
    /// for sequential nodes).
    pub async fn create(
        &self,
        path: &str,
        data: &[u8],
        ephemeral: bool,
        sequential: bool,
    ) -> Result<String, ZkError> {
        let mut b = Vec::new();
        put_str(&mut b, path);
        put_buf(&mut b, data);
        self.put_acl(&mut b);
        put_i32(&mut b, (ephemeral as i32) | ((sequential as i32) << 1));
        let reply = self.call(OP_CREATE, b).await?;
        Rd::new(&reply).string()
    }

    /// Creates `path` and its missing parents as persistent empty nodes
    /// (upstream `ZooKeeper::create(..., recursive = true)`).
    pub async fn create_all(&self, path: &str) -> Result<(), ZkError> {
        let mut cur = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            cur.push('/');
            cur.push_str(part);
            match self.create(&cur, &[], false, false).await {
                Ok(_) => {}
                Err(e) if e.is_code(code::NODE_EXISTS) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Deletes `path` (any version).
    pub async fn delete(&self, path: &str) -> Result<(), ZkError> {
        let mut b = Vec::new();
        put_str(&mut b, path);
        put_i32(&mut b, -1);
        self.call(OP_DELETE, b).await.map(|_| ())
    }

    /// The node's `Stat`, or `None` if it does not exist. With `watch`, a
    /// watch is left for its creation, deletion or change.
    pub async fn exists(&self, path: &str, watch: bool) -> Result<Option<Stat>, ZkError> {
        let mut b = Vec::new();
        put_str(&mut b, path);
        put_bool(&mut b, watch);
        match self.call(OP_EXISTS, b).await {
            Ok(r) => Ok(Some(Rd::new(&r).stat()?)),
            Err(e) if e.is_code(code::NO_NODE) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The node's data, or `None` if it does not exist.
    pub async fn get_data(&self, path: &str, watch: bool) -> Result<Option<Bytes>, ZkError> {
        let mut b = Vec::new();
        put_str(&mut b, path);
        put_bool(&mut b, watch);
        match self.call(OP_GET_DATA, b).await {
            Ok(r) => {
                let mut rd = Rd::new(&r);
                let data = Bytes::copy_from_slice(rd.buf()?);
                Ok(Some(data))
            }
            Err(e) if e.is_code(code::NO_NODE) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The names of the node's children; with `watch`, a child watch.
    pub async fn get_children(&self, path: &str, watch: bool) -> Result<Vec<String>, ZkError> {
        let mut b = Vec::new();
        put_str(&mut b, path);
        put_bool(&mut b, watch);
        let r = self.call(OP_GET_CHILDREN, b).await?;
        let mut rd = Rd::new(&r);
        let n = rd.i32()?;
        // Each name takes at least its 4-byte length: a lying count cannot
        // make us allocate more than the reply could hold.
        let mut out = Vec::with_capacity((n.max(0) as usize).min(r.len() / 4));
        for _ in 0..n.max(0) {
            out.push(rd.string()?);
        }
        Ok(out)
    }

    /// Closes the session (its ephemeral nodes go away at once).
    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.tx.send(Req::Close(tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
        }
    }
}

/// The background task owning the connection.
struct Session {
    servers: Vec<String>,
    requested: Duration,
    auth: Option<(String, String)>,
    events: broadcast::Sender<ZkEvent>,
    session_id: i64,
    passwd: Vec<u8>,
    timeout: Duration,
    last_zxid: i64,
    next_xid: i32,
}

enum Ended {
    Lost,
    Closed,
    Expired,
}

impl Session {
    async fn run(mut self, mut stream: TcpStream, mut rx: mpsc::UnboundedReceiver<Req>) {
        loop {
            let ended = self.serve(stream, &mut rx).await;
            match ended {
                Ended::Closed => return,
                Ended::Expired => break,
                Ended::Lost => {}
            }
            let _ = self.events.send(ZkEvent::Disconnected);
            tracing::warn!(
                "Lost the ZooKeeper connection of session 0x{:x}; reconnecting",
                self.session_id
            );
            // Retry until the session would have expired on the servers.
            let deadline = Instant::now() + self.timeout;
            let mut resumed = None;
            while Instant::now() < deadline {
                // Fail requests made while disconnected rather than queue them.
                while let Ok(req) = rx.try_recv() {
                    match req {
                        Req::Op { reply, .. } => {
                            let _ = reply.send(Err(ZkError::ConnectionLoss));
                        }
                        Req::Close(done) => {
                            let _ = done.send(());
                            return;
                        }
                    }
                }
                match handshake(
                    &self.servers,
                    self.requested
                        .min(deadline - Instant::now())
                        .max(Duration::from_millis(100)),
                    self.session_id,
                    &self.passwd,
                    self.last_zxid,
                )
                .await
                {
                    Ok(Some(hs)) => {
                        resumed = Some(hs);
                        break;
                    }
                    Ok(None) => break,
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                }
            }
            match resumed {
                Some(hs) => {
                    tracing::info!("ZooKeeper session 0x{:x} reconnected", self.session_id);
                    self.timeout = hs.timeout;
                    stream = hs.stream;
                    let _ = self.events.send(ZkEvent::Connected);
                }
                None => break,
            }
        }
        tracing::warn!("ZooKeeper session 0x{:x} expired", self.session_id);
        let _ = self.events.send(ZkEvent::Expired);
        // Answer every later request until all clients are gone.
        while let Some(req) = rx.recv().await {
            match req {
                Req::Op { reply, .. } => {
                    let _ = reply.send(Err(ZkError::SessionExpired));
                }
                Req::Close(done) => {
                    let _ = done.send(());
                }
            }
        }
    }

    async fn serve(&mut self, stream: TcpStream, rx: &mut mpsc::UnboundedReceiver<Req>) -> Ended {
        let (mut r, mut w) = stream.into_split();
        if let Some((u, p)) = &self.auth {
            if send_auth(&mut w, u, p).await.is_err() {
                return Ended::Lost;
            }
        }
        // Frames are read by their own task: `read_exact` is not
        // cancellation-safe inside `select!`.
        let (ftx, mut frx) = mpsc::channel::<std::io::Result<Vec<u8>>>(64);
        let reader = tokio::spawn(async move {
            loop {
                let f = read_frame(&mut r).await;
                let stop = f.is_err();
                if ftx.send(f).await.is_err() || stop {
                    return;
                }
            }
        });
        let mut pending: VecDeque<(i32, oneshot::Sender<Result<Bytes, ZkError>>)> = VecDeque::new();
        let mut closing: Option<oneshot::Sender<()>> = None;
        // Pings at a third of the timeout; silence for two thirds means the
        // server is gone (the C client's heuristics).
        let mut ping = tokio::time::interval(self.timeout / 3);
        ping.tick().await;
        let read_timeout = self.timeout * 2 / 3;
        let mut last_read = Instant::now();
        let ended = loop {
            tokio::select! {
                req = rx.recv(), if closing.is_none() => {
                    let Some(req) = req else {
                        // Every client handle is gone: close the session.
                        let mut p = Vec::new();
                        put_i32(&mut p, self.next_xid);
                        put_i32(&mut p, OP_CLOSE);
                        let _ = w.write_all(&frame(&p)).await;
                        break Ended::Closed;
                    };
                    let (xid, op, body) = match req {
                        Req::Op { op, body, reply } => {
                            let xid = self.next_xid;
                            pending.push_back((xid, reply));
                            (xid, op, body)
                        }
                        Req::Close(done) => {
                            closing = Some(done);
                            (self.next_xid, OP_CLOSE, Vec::new())
                        }
                    };
                    self.next_xid = self.next_xid.wrapping_add(1).max(1);
                    let mut p = Vec::with_capacity(body.len() + 8);
                    put_i32(&mut p, xid);
                    put_i32(&mut p, op);
                    p.extend_from_slice(&body);
                    if w.write_all(&frame(&p)).await.is_err() {
                        if let Some(done) = closing.take() {
                            let _ = done.send(());
                            break Ended::Closed;
                        }
                        break Ended::Lost;
                    }
                }
                _ = ping.tick() => {
                    let mut p = Vec::new();
                    put_i32(&mut p, XID_PING);
                    put_i32(&mut p, OP_PING);
                    if w.write_all(&frame(&p)).await.is_err() {
                        break Ended::Lost;
                    }
                    if last_read.elapsed() > read_timeout {
                        tracing::warn!("No answer from ZooKeeper in {read_timeout:?}");
                        break Ended::Lost;
                    }
                }
                f = frx.recv() => {
                    let f = match f {
                        Some(Ok(f)) => f,
                        _ => {
                            if let Some(done) = closing.take() {
                                let _ = done.send(());
                                break Ended::Closed;
                            }
                            break Ended::Lost;
                        }
                    };
                    last_read = Instant::now();
                    match self.on_frame(&f, &mut pending) {
                        Ok(true) => {
                            if let Some(done) = closing.take() {
                                let _ = done.send(());
                                break Ended::Closed;
                            }
                        }
                        Ok(false) => {}
                        Err(Ended::Expired) => break Ended::Expired,
                        Err(e) => {
                            tracing::warn!("Bad ZooKeeper reply; dropping the connection");
                            break e;
                        }
                    }
                }
            }
        };
        reader.abort();
        let err = match ended {
            Ended::Lost => ZkError::ConnectionLoss,
            Ended::Expired => ZkError::SessionExpired,
            Ended::Closed => ZkError::Closed,
        };
        for (_, reply) in pending.drain(..) {
            let _ = reply.send(Err(err.clone()));
        }
        ended
    }

    /// Handles one reply frame; `Ok(true)` when it answered a close.
    fn on_frame(
        &mut self,
        f: &[u8],
        pending: &mut VecDeque<(i32, oneshot::Sender<Result<Bytes, ZkError>>)>,
    ) -> Result<bool, Ended> {
        let mut rd = Rd::new(f);
        let (xid, zxid, err) = match (|| Ok::<_, ZkError>((rd.i32()?, rd.i64()?, rd.i32()?)))() {
            Ok(h) => h,
            Err(_) => return Err(Ended::Lost),
        };
        if zxid > 0 {
            self.last_zxid = zxid;
        }
        match xid {
            XID_PING => return Ok(false),
            XID_AUTH => {
                if err != 0 {
                    tracing::error!("ZooKeeper authentication failed (code {err})");
                    // The server closes the connection; the session is
                    // unusable, like upstream's AUTH_FAILED state.
                    return Err(Ended::Expired);
                }
                return Ok(false);
            }
            XID_WATCH => {
                let ev = (|| {
                    let kind = rd.i32()?;
                    let _state = rd.i32()?;
                    let path = rd.string()?;
                    Ok::<_, ZkError>(ZkEvent::Watch { kind, path })
                })();
                match ev {
                    Ok(ev) => {
                        let _ = self.events.send(ev);
                        return Ok(false);
                    }
                    Err(_) => return Err(Ended::Lost),
                }
            }
            _ => {}
        }
        if err == code::SESSION_EXPIRED {
            return Err(Ended::Expired);
        }
        let Some((want, reply)) = pending.pop_front() else {
            // The answer to our close request (not in `pending`).
            return Ok(true);
        };
        if want != xid {
            tracing::warn!("ZooKeeper reply xid {xid}, expected {want}");
            let _ = reply.send(Err(ZkError::ConnectionLoss));
            return Err(Ended::Lost);
        }
        let result = if err != 0 {
            Err(ZkError::Code(err))
        } else {
            Ok(Bytes::copy_from_slice(&f[rd.pos..]))
        };
        let _ = reply.send(result);
        Ok(false)
    }
}
