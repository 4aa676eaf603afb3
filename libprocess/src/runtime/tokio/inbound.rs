//! The listener and inbound connections.
//!
//! Each accepted socket gets a reader task (decode, classify, dispatch) and a
//! writer task that sends responses strictly in request order, as upstream's
//! per-socket `HttpProxy` does for pipelining (process.cpp:2583-2790). A
//! message gets `202 Accepted` (or 404/400/500) at once; an endpoint request
//! reserves its place in the queue and is answered when its actor responds.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use super::{Mail, Shared};
use crate::actor::{CloseNotice, Event};
use crate::http::{
    BodyPart, BodySource, BodyStream, Request, Responder, Response, ResponseHead, ResponseSink,
    StreamError, StreamSender, StreamSink,
};
use crate::tls::MaybeTlsStream;
use crate::transport::decode::{
    is_message, message_route, message_sender, parse_query, percent_decode, split_target,
    DecodedRequest, RequestDecoder,
};
use crate::transport::encode::{
    encode_chunk, encode_last_chunk, encode_response, encode_stream_head,
};
use crate::Upid;

/// One place in a connection's response order.
enum Slot {
    /// An encoded response; `true` = close the connection after it.
    Ready(Bytes, bool),
    /// A response an actor will give later.
    Pending(oneshot::Receiver<Reply>, bool),
}

enum Reply {
    Full(Response),
    Stream(ResponseHead, mpsc::Receiver<Bytes>, NoticeGuard),
}

/// Delivers a stream's close notice exactly once, whoever drops it: the
/// writer when the stream ends or the client goes away, or a queue that is
/// torn down before the stream started.
struct NoticeGuard {
    notice: Option<CloseNotice>,
    shared: Weak<Shared>,
}

impl Drop for NoticeGuard {
    fn drop(&mut self) {
        if let (Some(n), Some(sh)) = (self.notice.take(), self.shared.upgrade()) {
            sh.deliver(n.pid.id(), Mail::event(Event::Dispatch(n.f)));
        }
    }
}

struct ConnResponder {
    tx: oneshot::Sender<Reply>,
    shared: Weak<Shared>,
}

impl ResponseSink for ConnResponder {
    fn respond(self: Box<Self>, response: Response) {
        let _ = self.tx.send(Reply::Full(response));
    }

    fn stream(
        self: Box<Self>,
        head: ResponseHead,
        capacity: usize,
        on_close: CloseNotice,
    ) -> StreamSender {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let guard = NoticeGuard {
            notice: Some(on_close),
            shared: self.shared.clone(),
        };
        // If the connection is already gone the reply (and with it the
        // guard) is dropped here, which delivers the notice.
        let _ = self.tx.send(Reply::Stream(head, rx, guard));
        StreamSender::new(Box::new(ChunkSink { tx: Some(tx) }))
    }
}

struct ChunkSink {
    tx: Option<mpsc::Sender<Bytes>>,
}

impl StreamSink for ChunkSink {
    fn try_send(&mut self, chunk: Bytes) -> Result<(), StreamError> {
        let tx = self.tx.as_ref().ok_or(StreamError::Closed)?;
        tx.try_send(chunk).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => StreamError::Full,
            mpsc::error::TrySendError::Closed(_) => StreamError::Closed,
        })
    }

    fn close(&mut self) {
        self.tx = None;
    }

    fn is_closed(&self) -> bool {
        self.tx.as_ref().is_none_or(|t| t.is_closed())
    }
}

/// Chunks of a streamed request body queued between the socket reader and
/// the handler; beyond this the reader stops reading the socket.
const STREAM_QUEUE: usize = 16;

/// The handler's end of a streamed request body.
struct ChannelBody {
    rx: mpsc::Receiver<BodyPart>,
    handle: tokio::runtime::Handle,
    /// `End` or `Failed`, repeated once seen.
    over: Option<BodyPart>,
}

impl BodySource for ChannelBody {
    fn next_blocking(&mut self, timeout: Option<std::time::Duration>) -> BodyPart {
        if let Some(o) = &self.over {
            return o.clone();
        }
        let rx = &mut self.rx;
        let next = match timeout {
            None => Some(rx.blocking_recv()),
            Some(t) => self
                .handle
                .block_on(async { tokio::time::timeout(t, rx.recv()).await.ok() }),
        };
        let part = match next {
            None => return BodyPart::Timeout,
            Some(Some(p)) => p,
            Some(None) => {
                BodyPart::Failed("Connection closed before the request body ended".into())
            }
        };
        if matches!(part, BodyPart::End | BodyPart::Failed(_)) {
            self.over = Some(part.clone());
        }
        part
    }
}

pub(super) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => serve(&shared, stream, peer),
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!("Failed to accept a connection: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    }
}

fn serve(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let _ = stream.set_nodelay(true);
    if !shared.acceptor.is_tls() {
        serve_halves(shared, stream.into_split(), peer);
        return;
    }
    // TLS: the downgrade peek and the handshake run in the connection's own
    // task so a slow or silent peer never holds up the accept loop
    // (libevent_ssl_socket.cpp queues accepted sockets the same way).
    let sh = shared.clone();
    let h = shared.handle.spawn(async move {
        match sh.acceptor.accept(stream).await {
            Ok(MaybeTlsStream::Plain(s)) => serve_halves(&sh, s.into_split(), peer),
            Ok(s) => serve_halves(&sh, tokio::io::split(s), peer),
            Err(e) => tracing::warn!("Failed to accept a connection from {peer}: {e}"),
        }
    });
    shared.track(h.abort_handle());
}

fn serve_halves<R, W>(shared: &Arc<Shared>, (rd, wr): (R, W), peer: SocketAddr)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (slots_tx, slots_rx) = mpsc::unbounded_channel();
    let (gone_tx, gone_rx) = watch::channel(false);
    let sh = shared.clone();
    let r = shared
        .handle
        .spawn(async move { sh.read_requests(rd, peer, slots_tx, gone_tx).await });
    let w = shared.handle.spawn(write_responses(wr, slots_rx, gone_rx));
    shared.track(r.abort_handle());
    shared.track(w.abort_handle());
}

fn encoded(response: &Response) -> Bytes {
    let mut out = BytesMut::new();
    encode_response(response, &mut out);
    out.freeze()
}

impl Shared {
    async fn read_requests(
        self: Arc<Self>,
        mut rd: impl AsyncRead + Unpin,
        peer: SocketAddr,
        slots: mpsc::UnboundedSender<Slot>,
        gone: watch::Sender<bool>,
    ) {
        let mut decoder = RequestDecoder::new(self.config.max_head, self.config.max_body);
        let mut buf = BytesMut::with_capacity(64 * 1024);
        // The handler's end of a body being streamed, and whether the
        // connection closes after that request.
        let mut body_tx: Option<mpsc::Sender<BodyPart>> = None;
        let mut close_after = false;
        loop {
            loop {
                if decoder.is_streaming() {
                    match decoder.decode_stream(&mut buf) {
                        Ok((chunks, done)) => {
                            for c in chunks {
                                // Waiting for room here stops reading the
                                // socket: the client is held back by TCP.
                                let gone = match &body_tx {
                                    Some(tx) => tx.send(BodyPart::Data(c)).await.is_err(),
                                    None => false,
                                };
                                if gone {
                                    // The handler dropped the stream; the
                                    // rest of the body is read and discarded.
                                    body_tx = None;
                                }
                            }
                            if !done {
                                break;
                            }
                            if let Some(tx) = body_tx.take() {
                                let _ = tx.send(BodyPart::End).await;
                            }
                            if close_after {
                                return;
                            }
                            continue;
                        }
                        Err(e) => {
                            tracing::warn!("Closing connection from {peer}: {e}");
                            if let Some(tx) = body_tx.take() {
                                let _ = tx.try_send(BodyPart::Failed(e.to_string()));
                            }
                            // The streamed request answers itself; nothing
                            // more is read from this connection.
                            return;
                        }
                    }
                }
                match decoder.decode(&mut buf) {
                    Ok(Some(req)) => {
                        let keep_alive = req.keep_alive;
                        let slot = self.handle_request(req, peer, !keep_alive, None);
                        if slots.send(slot).is_err() || !keep_alive {
                            return;
                        }
                    }
                    Ok(None) => {
                        let stream = decoder
                            .new_chunked_head()
                            .is_some_and(|head| self.wants_stream(head));
                        if stream {
                            if let Some((req, expect)) = decoder.stream_body() {
                                if expect {
                                    let ok = Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n");
                                    let _ = slots.send(Slot::Ready(ok, false));
                                }
                                let (tx, rx) = mpsc::channel(STREAM_QUEUE);
                                let body = BodyStream::new(Box::new(ChannelBody {
                                    rx,
                                    handle: self.handle.clone(),
                                    over: None,
                                }));
                                close_after = !req.keep_alive;
                                let slot = self.handle_request(req, peer, close_after, Some(body));
                                if slots.send(slot).is_err() {
                                    return;
                                }
                                body_tx = Some(tx);
                                continue;
                            }
                        }
                        if decoder.take_continue() {
                            let ok = Bytes::from_static(b"HTTP/1.1 100 Continue\r\n\r\n");
                            let _ = slots.send(Slot::Ready(ok, false));
                        }
                        break;
                    }
                    Err(e) => {
                        tracing::warn!("Closing connection from {peer}: {e}");
                        let r = Response::text(e.status(), e.to_string());
                        let _ = slots.send(Slot::Ready(encoded(&r), true));
                        return;
                    }
                }
            }
            if buf.capacity() - buf.len() < 16 * 1024 {
                buf.reserve(64 * 1024);
            }
            match rd.read_buf(&mut buf).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!("Failed to recv from {peer}: {e}");
                    break;
                }
            }
        }
        if decoder.in_progress() || !buf.is_empty() {
            tracing::debug!("Connection from {peer} closed inside a request");
        }
        if let Some(tx) = body_tx.take() {
            let _ = tx.try_send(BodyPart::Failed(
                "Connection closed before the request body ended".into(),
            ));
        }
        let _ = gone.send(true);
    }

    /// Classifies and dispatches one request; returns its place in the
    /// response order (process.cpp `ProcessManager::handle`).
    fn handle_request(
        self: &Arc<Self>,
        req: DecodedRequest,
        peer: SocketAddr,
        close: bool,
        body_stream: Option<BodyStream>,
    ) -> Slot {
        let ready = |r: Response| Slot::Ready(encoded(&r), close);
        let (path, query) = split_target(&req.target);
        if !path.starts_with('/') {
            return ready(Response::bad_request(
                "Request URL path must start with '/'",
            ));
        }
        if is_message(&req) {
            return ready(self.receive_message(&req, peer));
        }
        // Relative paths are never served.
        if path.contains("/..") {
            return ready(Response::not_found());
        }
        let query = match query.map(parse_query).transpose() {
            Ok(q) => q.unwrap_or_default(),
            Err(e) => return ready(Response::bad_request(e)),
        };
        let Some((receiver, full, endpoint)) = self.route(path) else {
            tracing::debug!("Returning '404 Not Found' for '{path}'");
            return ready(Response::not_found());
        };
        let request = Request {
            method: req.method,
            path: percent_decode(&full).unwrap_or(full),
            endpoint,
            query,
            headers: req.headers,
            body: req.body,
            body_stream,
            peer: Some(peer),
            principal: None,
        };
        let (tx, rx) = oneshot::channel();
        let responder = Responder::new(Box::new(ConnResponder {
            tx,
            shared: Arc::downgrade(self),
        }));
        // A process that vanished in between drops the event, and with it
        // the responder, which answers 503.
        self.deliver(&receiver, Mail::event(Event::Http { request, responder }));
        Slot::Pending(rx, close)
    }

    /// The receiving process of an endpoint path, the full path (with the
    /// delegate's id put in front where it serves the request) and the
    /// endpoint below the process id.
    fn route(&self, path: &str) -> Option<(String, String, String)> {
        let delegate = self
            .delegate
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let first = path.split('/').find(|t| !t.is_empty());
        let mut full = path.to_string();
        let mut receiver = match first {
            None => match &delegate {
                Some(d) => {
                    full = format!("/{d}");
                    Some(d.clone())
                }
                None => None,
            },
            Some(t) => percent_decode(t).ok(),
        };
        if !receiver.as_deref().is_some_and(|r| self.exists(r)) {
            if let Some(d) = &delegate {
                if first.is_some() {
                    full = format!("/{d}{path}");
                }
                receiver = Some(d.clone());
            }
        }
        let receiver = receiver.filter(|r| self.exists(r))?;
        // The endpoint is what follows the process id segment.
        let trimmed = full.trim_start_matches('/');
        let endpoint = trimmed.split_once('/').map_or("", |(_, e)| e).to_string();
        Some((receiver, full, endpoint))
    }

    /// Whether a chunked endpoint request's body goes to its handler as a
    /// stream (the route was installed with `request_streaming`).
    fn wants_stream(&self, head: &DecodedRequest) -> bool {
        if is_message(head) {
            return false;
        }
        let path = split_target(&head.target).0;
        if !path.starts_with('/') || path.contains("/..") {
            return false;
        }
        self.route(path)
            .is_some_and(|(receiver, _, endpoint)| self.streams_request(&receiver, &endpoint))
    }

    /// Delivers an inbound libprocess message; the response status is
    /// upstream's: 202 delivered, 404 no such process, 400 sender IP
    /// mismatch (when required), 500 unparsable message.
    fn receive_message(&self, req: &DecodedRequest, peer: SocketAddr) -> Response {
        let Some(from) = message_sender(req) else {
            return Response::text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Failed to determine sender from request headers",
            );
        };
        let from = match Upid::parse_literal(&from).or_else(|_| Upid::parse(&from)) {
            Ok(p) => p,
            Err(e) => {
                // Upstream delivers with an empty sender pid in this case.
                tracing::warn!("Message from {peer} has an unparsable sender: {e}");
                Upid::default()
            }
        };
        let (to, name) = match message_route(req.path()) {
            Ok(r) => r,
            Err(e) => return Response::text(StatusCode::INTERNAL_SERVER_ERROR, e),
        };
        if self.config.require_peer_address_ip_match && from.ip() != peer.ip() {
            return Response::bad_request(format!(
                "UPID IP address validation failed: Message from {from} was sent from IP {peer}"
            ));
        }
        let to = Upid::new(to, self.advertised);
        if !self.exists(to.id()) {
            tracing::debug!("Failed to deliver libprocess message to {to}: no such process");
            return Response::not_found();
        }
        if self.filters.admit(&name, &from, &to, &req.body) {
            let body = req.body.clone();
            if !self.deliver(to.id(), Mail::Message { from, name, body }) {
                return Response::not_found();
            }
        }
        Response::accepted()
    }
}

async fn write_responses<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut slots: mpsc::UnboundedReceiver<Slot>,
    mut gone: watch::Receiver<bool>,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        let slot = if buf.is_empty() {
            match slots.recv().await {
                Some(s) => s,
                None => break,
            }
        } else {
            match slots.try_recv() {
                Ok(s) => s,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if wr.write_all(&buf).await.is_err() {
                        return;
                    }
                    buf.clear();
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            }
        };
        let (reply, close) = match slot {
            Slot::Ready(bytes, close) => {
                buf.extend_from_slice(&bytes);
                if close {
                    break;
                }
                continue;
            }
            Slot::Pending(mut rx, close) => {
                let reply = match rx.try_recv() {
                    Ok(r) => Some(r),
                    Err(oneshot::error::TryRecvError::Closed) => None,
                    Err(oneshot::error::TryRecvError::Empty) => {
                        // Flush what is ready while the actor works.
                        if !buf.is_empty() {
                            if wr.write_all(&buf).await.is_err() {
                                return;
                            }
                            buf.clear();
                        }
                        tokio::select! {
                            r = rx => r.ok(),
                            _ = client_gone(&mut gone) => return,
                        }
                    }
                };
                (reply, close)
            }
        };
        match reply {
            None => encode_response(
                &Response::text(StatusCode::SERVICE_UNAVAILABLE, "Response was discarded"),
                &mut buf,
            ),
            Some(Reply::Full(r)) => encode_response(&r, &mut buf),
            Some(Reply::Stream(head, chunks, guard)) => {
                encode_stream_head(&head, &mut buf);
                let ok = stream(&mut wr, &mut buf, chunks, &mut gone).await;
                // Client gone or stream over: the owner hears of it now.
                drop(guard);
                if !ok {
                    return;
                }
            }
        }
        if close {
            break;
        }
    }
    if !buf.is_empty() {
        let _ = wr.write_all(&buf).await;
    }
    let _ = wr.shutdown().await;
}

/// Resolves when the reader saw the client go away. A reader that stopped
/// for another reason (`Connection: close`, a decode error) drops its end
/// without saying so; that is not the client leaving, so wait forever.
async fn client_gone(gone: &mut watch::Receiver<bool>) {
    if gone.wait_for(|g| *g).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Writes a chunked body until its sender closes (`true`) or the client
/// goes away (`false`).
async fn stream<W: AsyncWrite + Unpin>(
    wr: &mut W,
    buf: &mut BytesMut,
    mut chunks: mpsc::Receiver<Bytes>,
    gone: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        if !buf.is_empty() {
            if wr.write_all(buf).await.is_err() {
                return false;
            }
            buf.clear();
        }
        let next = tokio::select! {
            c = chunks.recv() => c,
            _ = client_gone(gone) => return false,
        };
        match next {
            Some(c) => {
                encode_chunk(&c, buf);
                while let Ok(c) = chunks.try_recv() {
                    encode_chunk(&c, buf);
                }
            }
            None => {
                encode_last_chunk(buf);
                return wr.write_all(buf).await.map(|_| buf.clear()).is_ok();
            }
        }
    }
}
