//! The simulated HTTP client: what a test sees of a request it made with
//! [`super::Sim::http`], and the [`ResponseSink`] / [`StreamSink`] the
//! simulator hands to endpoint handlers behind their `Responder`.
//!
//! A streaming response keeps a bounded buffer of unread chunks, like the
//! pipe behind upstream's `http::Pipe` with a slow reader; reading with
//! [`ResponseHandle::take_chunks`] frees room. When the client closes the
//! connection, or the server ends the stream, the stream's close notice is
//! queued for the simulator, which delivers it as a dispatch to the owning
//! actor (upstream: `Pipe::Reader::readerClosed()` / the `onDiscard` hooks the
//! master installs in src/master/http.cpp for subscribers).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::{Bytes, BytesMut};
use http::StatusCode;

use crate::actor::CloseNotice;
use crate::http::{Response, ResponseHead, ResponseSink, StreamError, StreamSender, StreamSink};

/// Close notices raised outside of the simulator's loop (by a test closing a
/// connection, or a handler closing or dropping a stream); drained by the
/// simulator into dispatch events at the current virtual time.
pub(crate) type NoticeQueue = Arc<Mutex<VecDeque<CloseNotice>>>;

#[derive(Default)]
pub(crate) struct HttpState {
    response: Option<Response>,
    head: Option<ResponseHead>,
    chunks: VecDeque<Bytes>,
    capacity: usize,
    /// The server ended the stream.
    ended: bool,
    /// The test closed the connection.
    client_closed: bool,
    /// The node went away (crash) or was never there.
    failure: Option<String>,
    notice: Option<CloseNotice>,
    /// Bytes of all chunks read so far, for `body()`.
    read: BytesMut,
}

impl HttpState {
    /// Whether nothing more can happen on this connection.
    pub(crate) fn finished(&self) -> bool {
        self.failure.is_some()
            || self.client_closed
            || self.response.is_some()
            || (self.head.is_some() && self.ended)
    }

    /// The node hosting the handler died: the client sees a broken
    /// connection and nobody is told (the actors are gone).
    pub(crate) fn fail(&mut self, why: &str) {
        if !self.finished() {
            self.failure = Some(why.to_string());
        }
        self.notice = None;
    }

    /// The connection broke while both ends live (partition, client crash):
    /// the client sees a reset and the server's stream, if any, learns that
    /// its client went away. Returns the close notice to deliver.
    pub(crate) fn reset(&mut self) -> Option<CloseNotice> {
        if self.finished() {
            return None;
        }
        self.failure = Some("connection reset".to_string());
        self.chunks.clear();
        self.notice.take()
    }
}

fn lock(s: &Mutex<HttpState>) -> MutexGuard<'_, HttpState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn push_notice(queue: &NoticeQueue, n: CloseNotice) {
    queue.lock().unwrap_or_else(|e| e.into_inner()).push_back(n);
}

/// The test's side of one simulated HTTP connection carrying one request.
#[derive(Clone)]
pub struct ResponseHandle {
    pub(crate) state: Arc<Mutex<HttpState>>,
    pub(crate) notices: NoticeQueue,
}

impl std::fmt::Debug for ResponseHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = lock(&self.state);
        f.debug_struct("ResponseHandle")
            .field("status", &s.response.as_ref().map(|r| r.status))
            .field("streaming", &s.head.is_some())
            .field("failure", &s.failure)
            .finish()
    }
}

impl ResponseHandle {
    pub(crate) fn new(notices: NoticeQueue) -> ResponseHandle {
        ResponseHandle {
            state: Arc::new(Mutex::new(HttpState::default())),
            notices,
        }
    }

    pub(crate) fn sink(&self) -> Box<dyn ResponseSink> {
        Box::new(SimResponseSink {
            state: self.state.clone(),
            notices: self.notices.clone(),
        })
    }

    pub(crate) fn fail(&self, why: &str) {
        lock(&self.state).fail(why);
    }

    /// The complete (non-streaming) response, once the handler answered.
    pub fn response(&self) -> Option<Response> {
        lock(&self.state).response.clone()
    }

    /// The status of the response or of the stream's head, once known.
    pub fn status(&self) -> Option<StatusCode> {
        let s = lock(&self.state);
        s.response
            .as_ref()
            .map(|r| r.status)
            .or(s.head.as_ref().map(|h| h.status))
    }

    /// The head of a streaming response, once the handler started it.
    pub fn head(&self) -> Option<ResponseHead> {
        lock(&self.state).head.clone()
    }

    pub fn is_streaming(&self) -> bool {
        lock(&self.state).head.is_some()
    }

    /// Reads (and removes) the chunks queued so far, freeing buffer room.
    pub fn take_chunks(&self) -> Vec<Bytes> {
        let mut s = lock(&self.state);
        let chunks: Vec<Bytes> = s.chunks.drain(..).collect();
        for c in &chunks {
            s.read.extend_from_slice(c);
        }
        chunks
    }

    /// Unread chunks waiting in the buffer.
    pub fn buffered(&self) -> usize {
        lock(&self.state).chunks.len()
    }

    /// Every byte of the stream read so far with [`Self::take_chunks`]
    /// (reads the pending chunks first).
    pub fn stream_body(&self) -> Bytes {
        self.take_chunks();
        lock(&self.state).read.clone().freeze()
    }

    /// The server ended the stream.
    pub fn stream_ended(&self) -> bool {
        lock(&self.state).ended
    }

    /// Why the connection failed (node down or crashed, no such node).
    pub fn failure(&self) -> Option<String> {
        lock(&self.state).failure.clone()
    }

    /// Whether nothing more will arrive: answered, stream ended, closed or failed.
    pub fn is_finished(&self) -> bool {
        lock(&self.state).finished()
    }

    /// The client goes away: a stream's close notice is delivered to its
    /// actor at the current virtual time; later chunks are refused.
    pub fn close(&self) {
        let notice = {
            let mut s = lock(&self.state);
            if s.client_closed {
                return;
            }
            s.client_closed = true;
            s.chunks.clear();
            s.notice.take()
        };
        if let Some(n) = notice {
            push_notice(&self.notices, n);
        }
    }
}

struct SimResponseSink {
    state: Arc<Mutex<HttpState>>,
    notices: NoticeQueue,
}

impl ResponseSink for SimResponseSink {
    fn respond(self: Box<Self>, response: Response) {
        let mut s = lock(&self.state);
        if s.client_closed || s.failure.is_some() {
            return;
        }
        s.response = Some(response);
    }

    fn stream(
        self: Box<Self>,
        head: ResponseHead,
        capacity: usize,
        on_close: CloseNotice,
    ) -> StreamSender {
        let gone = {
            let mut s = lock(&self.state);
            s.head = Some(head);
            s.capacity = capacity.max(1);
            if s.client_closed || s.failure.is_some() {
                true
            } else {
                s.notice = Some(on_close);
                return StreamSender::new(Box::new(SimStreamSink {
                    state: self.state.clone(),
                    notices: self.notices.clone(),
                }));
            }
        };
        // The client left before the stream started: tell the actor at once.
        debug_assert!(gone);
        push_notice(&self.notices, on_close);
        StreamSender::new(Box::new(SimStreamSink {
            state: self.state.clone(),
            notices: self.notices.clone(),
        }))
    }
}

struct SimStreamSink {
    state: Arc<Mutex<HttpState>>,
    notices: NoticeQueue,
}

impl StreamSink for SimStreamSink {
    fn try_send(&mut self, chunk: Bytes) -> Result<(), StreamError> {
        let mut s = lock(&self.state);
        if s.ended || s.client_closed || s.failure.is_some() {
            return Err(StreamError::Closed);
        }
        if s.chunks.len() >= s.capacity {
            return Err(StreamError::Full);
        }
        s.chunks.push_back(chunk);
        Ok(())
    }

    fn close(&mut self) {
        let notice = {
            let mut s = lock(&self.state);
            if s.ended {
                return;
            }
            s.ended = true;
            s.notice.take()
        };
        if let Some(n) = notice {
            push_notice(&self.notices, n);
        }
    }

    fn is_closed(&self) -> bool {
        let s = lock(&self.state);
        s.ended || s.client_closed || s.failure.is_some()
    }
}
