//! HTTP requests to actor endpoints and their responses.
//!
//! An endpoint handler gets the [`Request`] and a [`Responder`]. It may answer
//! at once, keep the responder and answer later (upstream handlers return a
//! `Future<Response>`), or turn it into a chunked stream ([`StreamSender`]) for
//! the event-stream APIs. The runtime behind a responder differs (a socket under
//! tokio, an event queue in the simulator); handlers cannot tell.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// An HTTP request routed to an actor endpoint.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    /// The whole request path, percent-decoded, e.g. `/master/api/v1`.
    pub path: String,
    /// The part of the path after the process id, without the leading slash:
    /// `api/v1` for `/master/api/v1`; what endpoint routing matched on.
    pub endpoint: String,
    /// Decoded query parameters in request order.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The body as it arrives, for routes installed with
    /// [`crate::actor::RouteOptions::request_streaming`] and a chunked
    /// request (upstream's `Request::PIPE` reader); `body` is then empty.
    pub body_stream: Option<BodyStream>,
    /// The client's address, where the transport knows it.
    pub peer: Option<SocketAddr>,
    /// The principal the actor's [`crate::Actor::authenticate`] found, if any.
    pub principal: Option<String>,
}

impl Request {
    pub fn new(method: Method, path: &str) -> Request {
        Request {
            method,
            path: path.to_string(),
            endpoint: String::new(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            body_stream: None,
            peer: None,
            principal: None,
        }
    }

    /// A header's value as text, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One step of a streamed request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyPart {
    Data(Bytes),
    /// The last chunk arrived: the body is complete.
    End,
    /// The body cannot be completed: the client went away, or sent a
    /// malformed chunk.
    Failed(String),
    /// Nothing arrived within the timeout given to [`BodyStream::next_blocking`].
    Timeout,
}

/// What a runtime implements to deliver a request body chunk by chunk.
pub trait BodySource: Send {
    /// Waits (blocking the calling thread, never an actor) for the next
    /// part, at most `timeout` if given. After `End` or `Failed` every call
    /// answers the same.
    fn next_blocking(&mut self, timeout: Option<std::time::Duration>) -> BodyPart;
}

/// A request body delivered as it arrives. The runtime reads the socket
/// only as fast as the body is consumed (a small bounded queue of chunks
/// sits in between), so a large or endless body never piles up in memory.
/// Read it off the actor, e.g. in [`crate::Cx::blocking`].
#[derive(Clone)]
pub struct BodyStream {
    source: std::sync::Arc<std::sync::Mutex<Box<dyn BodySource>>>,
}

impl BodyStream {
    pub fn new(source: Box<dyn BodySource>) -> BodyStream {
        BodyStream {
            source: std::sync::Arc::new(std::sync::Mutex::new(source)),
        }
    }

    /// The next part; blocks the calling thread.
    pub fn next_blocking(&self, timeout: Option<std::time::Duration>) -> BodyPart {
        self.source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_blocking(timeout)
    }

    /// Reads the rest of the body, failing beyond `limit` bytes.
    pub fn read_all_blocking(&self, limit: usize) -> Result<Bytes, String> {
        let mut all = bytes::BytesMut::new();
        loop {
            match self.next_blocking(None) {
                BodyPart::Data(d) => {
                    if all.len() + d.len() > limit {
                        return Err(format!("Request body exceeds {limit} bytes"));
                    }
                    all.extend_from_slice(&d);
                }
                BodyPart::End => return Ok(all.freeze()),
                BodyPart::Failed(e) => return Err(e),
                BodyPart::Timeout => {}
            }
        }
    }

    /// A stream over a body that is already complete (for runtimes and
    /// tests without a socket).
    pub fn from_bytes(body: Bytes) -> BodyStream {
        struct Done(Option<Bytes>);
        impl BodySource for Done {
            fn next_blocking(&mut self, _: Option<std::time::Duration>) -> BodyPart {
                match self.0.take() {
                    Some(b) if !b.is_empty() => BodyPart::Data(b),
                    _ => BodyPart::End,
                }
            }
        }
        BodyStream::new(Box::new(Done(Some(body))))
    }
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyStream")
    }
}

/// A complete (non-streaming) response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub fn with_body(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response {
        let mut r = Response::new(status);
        if let Ok(v) = HeaderValue::from_str(content_type) {
            r.headers.insert(http::header::CONTENT_TYPE, v);
        }
        r.body = body.into();
        r
    }

    /// `200 OK` with a JSON body.
    pub fn json(body: impl Into<Bytes>) -> Response {
        Response::with_body(StatusCode::OK, "application/json", body)
    }

    /// A status with a plain-text reason, as upstream's `BadRequest("...")` etc.
    pub fn text(status: StatusCode, reason: impl Into<String>) -> Response {
        Response::with_body(
            status,
            "text/plain; charset=utf-8",
            Bytes::from(reason.into()),
        )
    }

    pub fn ok() -> Response {
        Response::new(StatusCode::OK)
    }

    pub fn accepted() -> Response {
        Response::new(StatusCode::ACCEPTED)
    }

    pub fn bad_request(reason: impl Into<String>) -> Response {
        Response::text(StatusCode::BAD_REQUEST, reason)
    }

    pub fn not_found() -> Response {
        Response::new(StatusCode::NOT_FOUND)
    }

    pub fn header(mut self, name: http::header::HeaderName, value: &str) -> Response {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }
}

/// Status line and headers of a streaming (chunked) response.
#[derive(Clone, Debug)]
pub struct ResponseHead {
    pub status: StatusCode,
    pub headers: HeaderMap,
}

/// Why a chunk could not be queued on a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The client went away, or the stream was closed.
    #[error("stream closed")]
    Closed,
    /// The bounded buffer is full: the client reads too slowly.
    #[error("stream buffer full")]
    Full,
}

/// What a runtime implements to carry a response back to its client.
pub trait ResponseSink: Send {
    fn respond(self: Box<Self>, response: Response);
    /// Starts a chunked response with room for `capacity` queued chunks.
    /// `on_close` is run when the client goes away or the stream ends.
    fn stream(
        self: Box<Self>,
        head: ResponseHead,
        capacity: usize,
        on_close: crate::actor::CloseNotice,
    ) -> StreamSender;
}

/// What a runtime implements to carry chunks of a streaming response.
pub trait StreamSink: Send {
    fn try_send(&mut self, chunk: Bytes) -> Result<(), StreamError>;
    fn close(&mut self);
    fn is_closed(&self) -> bool;
}

/// The one-shot way back to an HTTP client.
pub struct Responder {
    sink: Option<Box<dyn ResponseSink>>,
}

impl Responder {
    pub fn new(sink: Box<dyn ResponseSink>) -> Responder {
        Responder { sink: Some(sink) }
    }

    pub fn respond(mut self, response: Response) {
        if let Some(s) = self.sink.take() {
            s.respond(response);
        }
    }

    pub(crate) fn into_sink(mut self) -> Option<Box<dyn ResponseSink>> {
        self.sink.take()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        // A handler that drops its responder without answering must not leave
        // the client hanging; upstream answers a discarded future with 503.
        if let Some(s) = self.sink.take() {
            s.respond(Response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Response was discarded",
            ));
        }
    }
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

/// The producer side of a chunked response, held by the actor.
pub struct StreamSender {
    sink: Box<dyn StreamSink>,
}

impl StreamSender {
    pub fn new(sink: Box<dyn StreamSink>) -> StreamSender {
        StreamSender { sink }
    }

    /// Queues a chunk without blocking; a full buffer is an error so callers
    /// can drop slow clients instead of growing memory without bound.
    pub fn try_send(&mut self, chunk: impl Into<Bytes>) -> Result<(), StreamError> {
        self.sink.try_send(chunk.into())
    }

    pub fn close(&mut self) {
        self.sink.close()
    }

    pub fn is_closed(&self) -> bool {
        self.sink.is_closed()
    }
}

impl Drop for StreamSender {
    fn drop(&mut self) {
        self.sink.close();
    }
}

impl std::fmt::Debug for StreamSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamSender")
    }
}
