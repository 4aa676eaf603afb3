//! `LAUNCH_NESTED_CONTAINER_SESSION`, `ATTACH_CONTAINER_INPUT` and
//! `ATTACH_CONTAINER_OUTPUT` on `POST /api/v1`.
//!
//! Mirrors upstream src/slave/http.cpp (`Http::api`'s media type rules,
//! `launchNestedContainerSession`, `attachContainerInput` /
//! `_attachContainerInput`, `attachContainerOutput` /
//! `_attachContainerOutput`) and the server half of
//! src/slave/containerizer/mesos/io/switchboard.cpp (see `switchboard`):
//!
//! - output comes back as `200 OK` with a chunked body of RecordIO-framed
//!   `ProcessIO` records. `Accept: application/recordio` gives
//!   `Content-Type: application/recordio` and `Message-Content-Type` from
//!   `Message-Accept` (JSON by default); `Accept: application/json` or
//!   `application/x-protobuf` gives that `Content-Type` with the records
//!   still RecordIO-framed, as upstream does for older clients;
//! - a session's container is destroyed when its client goes away;
//! - `ATTACH_CONTAINER_INPUT` is a streamed request
//!   (`Content-Type: application/recordio`, `Message-Content-Type` JSON or
//!   protobuf) whose first record names the container; the answer comes
//!   when the input ends (or the container's output is over).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use libprocess::http::{BodyPart, BodyStream, ResponseHead};
use libprocess::{Cx, Request, Responder, Response};
use mesos_proto::mesos::agent::call::attach_container_input::Type as InputType;
use mesos_proto::mesos::agent::call::Type as CallType;
use mesos_proto::mesos::agent::process_io::{self, control, data};
use mesos_proto::mesos::agent::{self as agent_api};
use mesos_proto::mesos::ContainerId;

use super::nested::{container_id_string, root_container_id, validate_container_id};
use super::switchboard::{Encoding, ParentIo, Switchboard, CLIENT_QUEUE};
use super::Slave;

const JSON: &str = "application/json";
const PROTOBUF: &str = "application/x-protobuf";
const RECORDIO: &str = "application/recordio";
const MESSAGE_ACCEPT: &str = "message-accept";
const MESSAGE_CONTENT_TYPE: &str = "message-content-type";

/// Largest `ATTACH_CONTAINER_INPUT` record accepted.
pub const MAX_INPUT_RECORD: usize = 4 * 1024 * 1024;
/// Largest non-streamed (chunked) call body read whole.
pub const MAX_CALL_BODY: usize = 16 * 1024 * 1024;

/// How a session's output goes back to its client.
pub(crate) struct Session {
    head: ResponseHead,
    encoding: Encoding,
}

/// The negotiated types of one request (upstream's `RequestMediaTypes`).
#[derive(Clone, Copy, Debug)]
struct Media {
    /// `None` = not streamed: the body is one JSON or protobuf call.
    message_content: Option<Encoding>,
    content: Encoding,
    /// `Accept`: JSON, protobuf, or RecordIO (`true`) of `message_accept`.
    accept_recordio: bool,
    accept: Encoding,
}

impl Media {
    /// The output response's head and how its records are encoded.
    fn output(&self) -> Session {
        let mut headers = HeaderMap::new();
        let ct = if self.accept_recordio {
            RECORDIO
        } else {
            name(self.accept)
        };
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(ct));
        if self.accept_recordio {
            headers.insert(
                "Message-Content-Type",
                HeaderValue::from_static(name(self.accept)),
            );
        }
        Session {
            head: ResponseHead {
                status: StatusCode::OK,
                headers,
            },
            encoding: self.accept,
        }
    }
}

fn name(e: Encoding) -> &'static str {
    match e {
        Encoding::Json => JSON,
        Encoding::Protobuf => PROTOBUF,
    }
}

/// `Request::acceptsMediaType`: a missing header accepts everything; else
/// one of its ranges (`*/*`, `type/*`, exact) with a non-zero `q`.
fn accepts(header: Option<&str>, media: &str) -> bool {
    let Some(h) = header else {
        return true;
    };
    let (mt, _) = media.split_once('/').unwrap_or((media, ""));
    h.split(',').any(|range| {
        let mut parts = range.split(';');
        let r = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q_zero = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f64>().ok())
                .is_some_and(|q| q == 0.0)
        });
        !q_zero && (r == "*/*" || r == media || r == format!("{mt}/*"))
    })
}

fn unsupported(reason: String) -> Response {
    Response::text(StatusCode::UNSUPPORTED_MEDIA_TYPE, reason)
}

fn not_acceptable(reason: String) -> Response {
    Response::text(StatusCode::NOT_ACCEPTABLE, reason)
}

/// The media rules of upstream `Http::api`.
// The error is the response itself, built once per request.
#[allow(clippy::result_large_err)]
fn negotiate(req: &Request) -> Result<Media, Response> {
    let ct = req.header("content-type").unwrap_or("").trim();
    let (content, streaming) = match ct {
        JSON => (Encoding::Json, false),
        PROTOBUF => (Encoding::Protobuf, false),
        RECORDIO => (Encoding::Json, true),
        _ => {
            return Err(unsupported(format!(
                "Expecting 'Content-Type' of {JSON} or {PROTOBUF} or {RECORDIO}"
            )))
        }
    };
    let message_content = req.header(MESSAGE_CONTENT_TYPE).map(str::trim);
    let message_content = if streaming {
        match message_content {
            None => {
                return Err(Response::bad_request(
                    "Expecting 'Message-Content-Type' to be set for streaming requests",
                ))
            }
            Some(JSON) => Some(Encoding::Json),
            Some(PROTOBUF) => Some(Encoding::Protobuf),
            Some(_) => {
                return Err(unsupported(format!(
                    "Expecting 'Message-Content-Type' of {JSON} or {PROTOBUF}"
                )))
            }
        }
    } else {
        if message_content.is_some() {
            return Err(unsupported(
                "Expecting 'Message-Content-Type' to be not set for non-streaming requests".into(),
            ));
        }
        None
    };
    let accept = req.header("accept");
    let (accept_recordio, accept) = if accepts(accept, JSON) {
        (false, Encoding::Json)
    } else if accepts(accept, PROTOBUF) {
        (false, Encoding::Protobuf)
    } else if accepts(accept, RECORDIO) {
        let ma = req.header(MESSAGE_ACCEPT);
        if accepts(ma, JSON) {
            (true, Encoding::Json)
        } else if accepts(ma, PROTOBUF) {
            (true, Encoding::Protobuf)
        } else {
            return Err(not_acceptable(format!(
                "Expecting 'Message-Accept' to allow {JSON} or {PROTOBUF}"
            )));
        }
    } else {
        return Err(not_acceptable(format!(
            "Expecting 'Accept' to allow {JSON} or {PROTOBUF} or {RECORDIO}"
        )));
    };
    if !accept_recordio && req.headers.contains_key(MESSAGE_ACCEPT) {
        return Err(not_acceptable(
            "Expecting 'Message-Accept' to be not set for non-streaming responses".into(),
        ));
    }
    Ok(Media {
        message_content,
        content,
        accept_recordio,
        accept,
    })
}

fn decode_call(encoding: Encoding, body: &[u8]) -> Result<agent_api::Call, String> {
    match encoding {
        Encoding::Json => {
            let v: serde_json::Value = serde_json::from_slice(body)
                .map_err(|e| format!("Failed to parse body into JSON: {e}"))?;
            mesos_proto::json::from_json_value(&v).map_err(|e| e.to_string())
        }
        Encoding::Protobuf => mesos_proto::required::decode_checked::<agent_api::Call>(body)
            .map_err(|e| format!("Failed to parse body into Call: {e}")),
    }
}

fn call_type(call: &agent_api::Call) -> CallType {
    call.r#type
        .and_then(|t| CallType::try_from(t).ok())
        .unwrap_or(CallType::Unknown)
}

/// Whether this module serves calls of type `t`.
fn is_session_call(t: CallType) -> bool {
    matches!(
        t,
        CallType::LaunchNestedContainerSession
            | CallType::AttachContainerInput
            | CallType::AttachContainerOutput
    )
}

/// `validation::agent::call::validate` for the three calls.
fn validate(call: &agent_api::Call) -> Result<(), String> {
    let missing = |f: &str| format!("Expecting '{f}' to be present");
    let id = |id: &ContainerId, f: &str| {
        validate_container_id(id).map_err(|e| format!("'{f}.container_id' is invalid: {e}"))
    };
    match call_type(call) {
        CallType::LaunchNestedContainerSession => {
            let f = "launch_nested_container_session";
            let c = call
                .launch_nested_container_session
                .as_ref()
                .ok_or_else(|| missing(f))?;
            id(&c.container_id, f)?;
            if c.container_id.parent.is_none() {
                return Err(format!("Expecting '{f}.container_id.parent' to be present"));
            }
            if let Some(cmd) = &c.command {
                mesos_proto::validation::validate_command_info(cmd)
                    .map_err(|e| format!("'{f}.command' is invalid: {e}"))?;
            }
            if let Some(ci) = &c.container {
                super::nested::validate_container_info(ci)
                    .map_err(|e| format!("'{f}.container' is invalid: {e}"))?;
            }
            Ok(())
        }
        CallType::AttachContainerInput => {
            let c = call
                .attach_container_input
                .as_ref()
                .ok_or_else(|| missing("attach_container_input"))?;
            match c.r#type.map(InputType::try_from) {
                None => Err(missing("attach_container_input.type")),
                Some(Ok(InputType::ContainerId)) => match &c.container_id {
                    Some(cid) => id(cid, "attach_container_input"),
                    None => Err("'attach_container_input.container_id' is invalid: \
                                 ID must not be empty"
                        .into()),
                },
                Some(Ok(InputType::ProcessIo)) => Ok(()),
                _ => Err("'attach_container_input.type' is unknown".into()),
            }
        }
        CallType::AttachContainerOutput => {
            let c = call
                .attach_container_output
                .as_ref()
                .ok_or_else(|| missing("attach_container_output"))?;
            id(&c.container_id, "attach_container_output")
        }
        other => Err(format!("{} is not a session call", other.as_str_name())),
    }
}

/// `IOSwitchboardServerProcess::validate` of a `PROCESS_IO` input record.
fn validate_input(c: &agent_api::call::AttachContainerInput) -> Result<(), String> {
    let t = c.r#type.and_then(|t| InputType::try_from(t).ok());
    if t != Some(InputType::ProcessIo) {
        return Err(format!(
            "Expecting 'attach_container_input.type' to be 'PROCESS_IO' instead of: '{}'",
            t.unwrap_or(InputType::Unknown).as_str_name()
        ));
    }
    let m = c
        .process_io
        .as_ref()
        .ok_or("Expecting 'attach_container_input.process_io' to be present")?;
    match m.r#type.map(process_io::Type::try_from) {
        None => Err("Expecting 'process_io.type' to be present".into()),
        Some(Ok(process_io::Type::Control)) => {
            let c = m
                .control
                .as_ref()
                .ok_or("Expecting 'process_io.control' to be present")?;
            match c.r#type.map(control::Type::try_from) {
                None => Err("Expecting 'process_io.control.type' to be present".into()),
                Some(Ok(control::Type::TtyInfo)) => match &c.tty_info {
                    None => Err("Expecting 'process_io.control.tty_info' to be present".into()),
                    Some(t) if t.window_size.is_none() => {
                        Err("Expecting 'tty_info.window_size' to be present".into())
                    }
                    Some(_) => Ok(()),
                },
                Some(Ok(control::Type::Heartbeat)) if c.heartbeat.is_none() => {
                    Err("Expecting 'process_io.control.heartbeat' to be present".into())
                }
                Some(Ok(control::Type::Heartbeat)) => Ok(()),
                _ => Err("'process_io.control.type' is unknown".into()),
            }
        }
        Some(Ok(process_io::Type::Data)) => {
            let d = m
                .data
                .as_ref()
                .ok_or("Expecting 'process_io.data' to be present")?;
            match d.r#type.map(data::Type::try_from) {
                None => Err("Expecting 'process_io.data.type' to be present".into()),
                Some(Ok(data::Type::Stdin)) if d.data.is_none() => {
                    Err("Expecting 'process_io.data.data' to be present".into())
                }
                Some(Ok(data::Type::Stdin)) => Ok(()),
                _ => Err("Expecting 'process_io.data.type' to be 'STDIN'".into()),
            }
        }
        _ => Err("'process_io.type' is unknown".into()),
    }
}

/// Reads RecordIO records off a (streamed) request body.
struct Records {
    body: BodyStream,
    decoder: mesos_proto::recordio::Decoder,
    ready: std::collections::VecDeque<Bytes>,
}

enum Next {
    Record(Bytes),
    Eof,
    Timeout,
    Failed(String),
}

impl Records {
    fn new(body: BodyStream) -> Records {
        Records {
            body,
            decoder: mesos_proto::recordio::Decoder::new(MAX_INPUT_RECORD),
            ready: Default::default(),
        }
    }

    /// Blocks (off the actor) for the next record.
    fn next(&mut self, timeout: Option<Duration>) -> Next {
        loop {
            if let Some(r) = self.ready.pop_front() {
                return Next::Record(r);
            }
            match self.body.next_blocking(timeout) {
                BodyPart::Data(d) => match self.decoder.decode(&d) {
                    Ok(rs) => self.ready.extend(rs),
                    Err(e) => return Next::Failed(e.to_string()),
                },
                BodyPart::End => {
                    return match self.decoder.finish() {
                        Ok(()) => Next::Eof,
                        Err(e) => Next::Failed(e.to_string()),
                    }
                }
                BodyPart::Failed(e) => return Next::Failed(e),
                BodyPart::Timeout => return Next::Timeout,
            }
        }
    }
}

/// Where a container's switchboard could not be found: the answer.
enum Missing {
    NotFound(String),
    NoSwitchboard,
}

impl Slave {
    /// Serves the three session calls and every streamed (RecordIO) call;
    /// hands the responder back for the rest of `/api/v1`.
    pub(crate) fn session_api(
        &mut self,
        cx: &mut Cx<'_, Self>,
        req: &Request,
        r: Responder,
    ) -> Option<Responder> {
        let ct = req.header("content-type").unwrap_or("").trim();
        let streamed = ct == RECORDIO;
        let call = if streamed {
            None
        } else {
            let enc = match ct {
                JSON => Encoding::Json,
                PROTOBUF => Encoding::Protobuf,
                _ => return Some(r),
            };
            match decode_call(enc, &req.body) {
                Ok(c) if is_session_call(call_type(&c)) => Some(c),
                _ => return Some(r),
            }
        };
        let media = match negotiate(req) {
            Ok(m) => m,
            Err(resp) => {
                r.respond(resp);
                return None;
            }
        };
        if self.state == super::State::Recovering {
            r.respond(Response::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "Agent has not finished recovery",
            ));
            return None;
        }
        match call {
            Some(call) => self.session_call(cx, call, media, None, r),
            None => {
                // The first record is the call (`Http::api` reads it before
                // dispatching); the rest stays in the stream.
                let body = req
                    .body_stream
                    .clone()
                    .unwrap_or_else(|| BodyStream::from_bytes(req.body.clone()));
                let enc = media.message_content.unwrap_or(Encoding::Json);
                cx.blocking(
                    move || {
                        let mut records = Records::new(body);
                        let first = match records.next(None) {
                            Next::Record(b) => decode_call(enc, &b),
                            Next::Eof => Err("Received EOF while reading request body".into()),
                            Next::Failed(e) => Err(e),
                            Next::Timeout => Err("Timed out reading request body".into()),
                        };
                        (first, records)
                    },
                    move |s: &mut Slave, cx, (first, records)| match first {
                        Ok(call) => s.session_call(cx, call, media, Some(records), r),
                        Err(e) => r.respond(Response::bad_request(e)),
                    },
                );
            }
        }
        None
    }

    /// `Http::_api` for one decoded call of this module (or any streamed one).
    fn session_call(
        &mut self,
        cx: &mut Cx<'_, Self>,
        call: agent_api::Call,
        media: Media,
        records: Option<Records>,
        r: Responder,
    ) {
        if let Err(e) = validate(&call) {
            return r.respond(Response::bad_request(format!(
                "Failed to validate agent::Call: {e}"
            )));
        }
        let t = call_type(&call);
        if media.message_content.is_some() && t != CallType::AttachContainerInput {
            return r.respond(unsupported(format!(
                "Streaming 'Content-Type' {RECORDIO} is not supported for {} call",
                t.as_str_name()
            )));
        }
        if media.message_content.is_none() && t == CallType::AttachContainerInput {
            return r.respond(unsupported(format!(
                "Expecting 'Content-Type' to be {RECORDIO} for ATTACH_CONTAINER_INPUT call"
            )));
        }
        let _ = media.content;
        match t {
            CallType::LaunchNestedContainerSession => {
                let Some(c) = call.launch_nested_container_session else {
                    return;
                };
                tracing::info!(
                    "Processing LAUNCH_NESTED_CONTAINER_SESSION call for container '{}'",
                    container_id_string(&c.container_id)
                );
                self.launch_nested(
                    cx,
                    c.container_id,
                    c.command.unwrap_or_default(),
                    c.container,
                    r,
                    Some(media.output()),
                );
            }
            CallType::AttachContainerOutput => {
                let Some(c) = call.attach_container_output else {
                    return;
                };
                self.attach_container_output(cx, &c.container_id, media, r);
            }
            CallType::AttachContainerInput => {
                let Some(c) = call.attach_container_input else {
                    return;
                };
                let (Some(id), Some(records)) = (c.container_id, records) else {
                    return r.respond(Response::bad_request(
                        "Expecting 'attach_container_input.type' to be CONTAINER_ID",
                    ));
                };
                if c.r#type != Some(InputType::ContainerId as i32) {
                    return r.respond(Response::bad_request(
                        "Expecting 'attach_container_input.type' to be CONTAINER_ID",
                    ));
                }
                self.attach_container_input(cx, &id, media, records, r);
            }
            _ => r.respond(Response::bad_request("Not a session call")),
        }
    }

    /// `Slave::getExecutor(containerId)` then `containerizer->attach`.
    fn switchboard_of(&self, id: &ContainerId) -> Result<std::sync::Arc<Switchboard>, Missing> {
        let key = container_id_string(id);
        if self
            .executor_with_container(&root_container_id(id).value)
            .is_none()
        {
            return Err(Missing::NotFound(format!(
                "Container {key} cannot be found"
            )));
        }
        if let Some(sb) = self.nested.switchboards.get(&key) {
            return Ok(sb.clone());
        }
        if id.parent.is_some() && !self.nested.live.contains_key(&key) {
            return Err(Missing::NotFound(format!("Unknown container {key}")));
        }
        Err(Missing::NoSwitchboard)
    }

    fn missing(m: Missing) -> Response {
        match m {
            Missing::NotFound(e) => Response::text(StatusCode::NOT_FOUND, e),
            // Upstream fails the attach future (500); a container without a
            // switchboard is the caller's mistake here.
            Missing::NoSwitchboard => {
                Response::bad_request("I/O switchboard server was disabled for this container")
            }
        }
    }

    /// `Http::attachContainerOutput`.
    fn attach_container_output(
        &mut self,
        cx: &mut Cx<'_, Self>,
        id: &ContainerId,
        media: Media,
        r: Responder,
    ) {
        let key = container_id_string(id);
        tracing::info!("Processing ATTACH_CONTAINER_OUTPUT call for container '{key}'");
        let sb = match self.switchboard_of(id) {
            Ok(sb) => sb,
            Err(m) => return r.respond(Self::missing(m)),
        };
        if sb.finished() {
            return r.respond(Self::missing(Missing::NoSwitchboard));
        }
        let out = media.output();
        if let Some(sender) = cx.stream(r, out.head, CLIENT_QUEUE, |_: &mut Slave, _| {}) {
            sb.attach_output(sender, out.encoding);
        }
    }

    /// After a session's container was forked: start its switchboard and
    /// turn the launch response into its output stream
    /// (`Http::launchNestedContainerSession`). Other containers with a
    /// switchboard just answer `200 OK`.
    pub(crate) fn start_switchboard(
        &mut self,
        cx: &mut Cx<'_, Self>,
        key: &str,
        io: ParentIo,
        session: Option<Session>,
        r: Responder,
    ) {
        let Some(dir) = self.nested.live.get(key).map(|n| n.directory.clone()) else {
            return r.respond(Response::ok());
        };
        let sb = Switchboard::start(
            io,
            session.is_some(),
            &dir,
            Some(self.config.http_heartbeat_interval).filter(|d| !d.is_zero()),
            key,
        );
        self.nested.switchboards.insert(key.to_string(), sb.clone());
        let Some(session) = session else {
            return r.respond(Response::ok());
        };
        let k = key.to_string();
        // The client closing the connection (or the output ending)
        // destroys the container.
        let on_close = move |s: &mut Slave, _cx: &mut Cx<'_, Slave>| {
            tracing::info!("Launch nested container session connection for container {k} closed");
            s.destroy_nested(&k);
        };
        match cx.stream(r, session.head, CLIENT_QUEUE, on_close) {
            Some(sender) => {
                sb.attach_output(sender, session.encoding);
            }
            None => self.destroy_nested(key),
        }
    }

    /// `Http::attachContainerInput` and the switchboard's input loop.
    fn attach_container_input(
        &mut self,
        cx: &mut Cx<'_, Self>,
        id: &ContainerId,
        media: Media,
        mut records: Records,
        r: Responder,
    ) {
        let key = container_id_string(id);
        tracing::info!("Processing ATTACH_CONTAINER_INPUT call for container '{key}'");
        let sb = match self.switchboard_of(id) {
            Ok(sb) => sb,
            Err(m) => return r.respond(Self::missing(m)),
        };
        if !sb.connect_input() {
            return r.respond(Response::text(
                StatusCode::CONFLICT,
                "Multiple input connections are not allowed",
            ));
        }
        let enc = media.message_content.unwrap_or(Encoding::Json);
        cx.blocking(
            move || {
                let answer = feed_input(&sb, &mut records, enc);
                sb.disconnect_input();
                answer
            },
            move |_: &mut Slave, _cx, answer: Response| r.respond(answer),
        );
    }
}

/// Applies input records to the container until the input ends (`200`), a
/// record is bad (`400`), stdin fails (`500`), or the container's output
/// is over (`200`, as upstream answers once its redirects finish).
fn feed_input(sb: &Switchboard, records: &mut Records, enc: Encoding) -> Response {
    loop {
        let bytes = match records.next(Some(Duration::from_millis(200))) {
            Next::Record(b) => b,
            Next::Eof => return Response::ok(),
            Next::Failed(e) => return Response::bad_request(e),
            Next::Timeout if sb.finished() => return Response::ok(),
            Next::Timeout => continue,
        };
        let call = match decode_call(enc, &bytes) {
            Ok(c) => c,
            Err(e) => return Response::bad_request(e),
        };
        if let Err(e) = validate(&call) {
            return Response::bad_request(format!("Failed to validate agent::Call: {e}"));
        }
        let is_input = call_type(&call) == CallType::AttachContainerInput;
        let Some(input) = call.attach_container_input.filter(|_| is_input) else {
            return Response::bad_request("Expecting 'type' to be ATTACH_CONTAINER_INPUT");
        };
        if let Err(e) = validate_input(&input) {
            return Response::bad_request(e);
        }
        let Some(m) = input.process_io else {
            continue;
        };
        if m.r#type == Some(process_io::Type::Control as i32) {
            let tty = m.control.and_then(|c| c.tty_info);
            if let Some(ws) = tty.and_then(|t| t.window_size) {
                if let Err(e) = sb.set_window_size(ws.rows, ws.columns) {
                    return Response::bad_request(e);
                }
            }
            // Heartbeats from the client carry nothing to act on.
            continue;
        }
        let d = m.data.and_then(|d| d.data).unwrap_or_default();
        if let Err(e) = sb.write_stdin(&d) {
            return Response::text(StatusCode::INTERNAL_SERVER_ERROR, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)]) -> Request {
        let mut r = Request::new(http::Method::POST, "/slave(1)/api/v1");
        for (k, v) in headers {
            r.headers.insert(
                http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        r
    }

    #[test]
    fn media_types_follow_upstream_api() {
        let m = negotiate(&req(&[("content-type", JSON)])).unwrap();
        assert!(!m.accept_recordio && m.accept == Encoding::Json);
        let m = negotiate(&req(&[
            ("content-type", PROTOBUF),
            ("accept", RECORDIO),
            ("message-accept", PROTOBUF),
        ]))
        .unwrap();
        assert!(m.accept_recordio && m.accept == Encoding::Protobuf);
        let s = m.output();
        assert_eq!(s.head.headers["content-type"], RECORDIO);
        assert_eq!(s.head.headers["message-content-type"], PROTOBUF);
        let e = negotiate(&req(&[("content-type", RECORDIO)])).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        let e = negotiate(&req(&[
            ("content-type", RECORDIO),
            ("message-content-type", "text/plain"),
        ]))
        .unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let e = negotiate(&req(&[("content-type", "text/plain")])).unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let e = negotiate(&req(&[("content-type", JSON), ("accept", "text/html")])).unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_ACCEPTABLE);
        let e = negotiate(&req(&[("content-type", JSON), ("message-accept", JSON)])).unwrap_err();
        assert_eq!(e.status, StatusCode::NOT_ACCEPTABLE);
        assert!(accepts(Some("application/*;q=0.5"), PROTOBUF));
        assert!(!accepts(Some("application/json;q=0"), JSON));
    }

    #[test]
    fn input_records_are_validated_like_the_switchboard() {
        use agent_api::call::AttachContainerInput;
        let mut c = AttachContainerInput {
            r#type: Some(InputType::ProcessIo as i32),
            ..Default::default()
        };
        assert_eq!(
            validate_input(&c).unwrap_err(),
            "Expecting 'attach_container_input.process_io' to be present"
        );
        c.process_io = Some(agent_api::ProcessIo {
            r#type: Some(process_io::Type::Data as i32),
            data: Some(process_io::Data {
                r#type: Some(data::Type::Stdout as i32),
                data: Some(Bytes::from_static(b"x")),
            }),
            control: None,
        });
        assert_eq!(
            validate_input(&c).unwrap_err(),
            "Expecting 'process_io.data.type' to be 'STDIN'"
        );
        c.process_io.as_mut().unwrap().data.as_mut().unwrap().r#type =
            Some(data::Type::Stdin as i32);
        assert!(validate_input(&c).is_ok());
        c.r#type = Some(InputType::ContainerId as i32);
        assert!(validate_input(&c)
            .unwrap_err()
            .contains("to be 'PROCESS_IO' instead of: 'CONTAINER_ID'"));
    }
}
