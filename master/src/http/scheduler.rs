//! `POST /api/v1/scheduler`: the v1 scheduler HTTP API
//! (upstream `Master::Http::scheduler`, `src/master/http.cpp:476-735`).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use libprocess::{Cx, Request, Responder, Response, ResponseHead, Routes};
use mesos_proto::mesos::scheduler::call::Type as CallType;
use mesos_proto::mesos::scheduler::event::{self, Type as EventType};
use mesos_proto::mesos::scheduler::{Call, Event};
use mesos_proto::mesos::v1::scheduler::Call as V1Call;

use super::{accepts, content_type, method_not_allowed, APPLICATION_JSON, APPLICATION_PROTOBUF};
use crate::actor::frameworks::NewConnection;
use crate::actor::{HttpStream, Master};

/// Chunks an HTTP framework's stream may have queued before it is dropped
/// as too slow.
const STREAM_CAPACITY: usize = 4096;

pub fn install(r: &mut Routes<Master>) {
    r.http(
        "api/v1/scheduler",
        crate::actor::election::leading_http!(Master::api_scheduler),
    );
}

/// Decodes a v1 scheduler call from a JSON or protobuf body into the v0
/// type. The error is upstream's 400 reason.
pub fn parse_call(body: &[u8], json: bool) -> Result<Call, String> {
    let v1: V1Call = if json {
        let text = std::str::from_utf8(body)
            .map_err(|e| format!("Failed to parse body into JSON: {e}"))?;
        mesos_proto::json::from_json(text).map_err(|e| match e {
            mesos_proto::json::JsonError::Syntax(s) => {
                format!("Failed to parse body into JSON: {s}")
            }
            e => format!("Failed to convert JSON into Call protobuf: {e}"),
        })?
    } else {
        mesos_proto::required::decode_checked::<V1Call>(body)
            .map_err(|_| "Failed to parse body into Call protobuf".to_string())?
    };
    crate::convert::devolve_call(&v1).map_err(|e| e.to_string())
}

impl Master {
    /// The scheduler endpoint.
    pub(crate) fn api_scheduler(
        &mut self,
        cx: &mut Cx<'_, Self>,
        req: Request,
        responder: Responder,
    ) {
        if req.method != Method::POST {
            responder.respond(method_not_allowed(&["POST"], &req.method));
            return;
        }
        let Some(ct) = content_type(&req) else {
            responder.respond(Response::bad_request(
                "Expecting 'Content-Type' to be present",
            ));
            return;
        };
        let json = match ct.as_str() {
            APPLICATION_JSON => true,
            APPLICATION_PROTOBUF => false,
            _ => {
                responder.respond(Response::text(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "Expecting 'Content-Type' of {APPLICATION_JSON} or {APPLICATION_PROTOBUF}"
                    ),
                ));
                return;
            }
        };
        let mut call = match parse_call(&req.body, json) {
            Ok(c) => c,
            Err(e) => {
                responder.respond(Response::bad_request(e));
                return;
            }
        };
        if let Err(e) = crate::validation::validate_call(&call) {
            self.metrics.invalid_scheduler_calls += 1;
            responder.respond(Response::bad_request(format!(
                "Failed to validate scheduler::Call: {e}"
            )));
            return;
        }
        let ty = CallType::try_from(call.r#type.unwrap_or(0)).unwrap_or(CallType::Unknown);
        let principal = req.principal.clone();
        if ty == CallType::Subscribe {
            // Upstream `validation::scheduler::call::validate` and
            // `Master::Http::scheduler`: an authenticated subscriber's
            // FrameworkInfo.principal must be its own, and is set to it
            // when absent.
            if let (Some(p), Some(info)) = (
                &principal,
                call.subscribe.as_mut().map(|s| &mut s.framework_info),
            ) {
                match &info.principal {
                    Some(q) if q != p => {
                        self.metrics.invalid_scheduler_calls += 1;
                        responder.respond(Response::bad_request(format!(
                            "Failed to validate scheduler::Call: Authenticated principal '{p}' does not match principal '{q}' set in `FrameworkInfo`"
                        )));
                        return;
                    }
                    Some(_) => {}
                    None => {
                        tracing::warn!(
                            "Setting 'principal' in FrameworkInfo to '{p}' because the framework authenticated with that principal but did not set it in FrameworkInfo"
                        );
                        info.principal = Some(p.clone());
                    }
                }
            }
            self.http_subscribe(cx, &req, responder, call);
            return;
        }
        let fid = call.framework_id.clone().unwrap_or_default().value;
        let Some(fw) = self.state.frameworks.get(&fid) else {
            responder.respond(Response::bad_request("Framework cannot be found"));
            return;
        };
        if let Some(p) = &principal {
            let q = fw.info.principal.as_deref().unwrap_or_default();
            if p != q {
                responder.respond(Response::bad_request(format!(
                    "Authenticated principal '{p}' does not match principal '{q}' set in `FrameworkInfo`"
                )));
                return;
            }
        }
        if !fw.connected() || !fw.is_http() {
            responder.respond(Response::text(
                StatusCode::FORBIDDEN,
                "Framework is not subscribed",
            ));
            return;
        }
        let expected = self
            .streams
            .get(&fid)
            .map(|s| s.stream_id.clone())
            .unwrap_or_default();
        match req.header("mesos-stream-id") {
            None => {
                responder.respond(Response::bad_request(
                    "All non-subscribe calls should include the 'Mesos-Stream-Id' header",
                ));
                return;
            }
            Some(s) if s != expected => {
                responder.respond(Response::bad_request(format!(
                    "The stream ID '{s}' included in this request didn't match the stream ID currently associated with framework ID {fid}"
                )));
                return;
            }
            Some(_) => {}
        }
        if ty == CallType::UpdateFramework {
            // Upstream answers UPDATE_FRAMEWORK synchronously: 200 once
            // applied, otherwise 400/403/409 with the reason.
            if let Some(u) = call.update_framework.take() {
                match self.update_framework(cx, &fid, u) {
                    Ok(()) => responder.respond(Response::ok()),
                    Err((status, reason)) => responder.respond(Response::text(status, reason)),
                }
            }
            return;
        }
        responder.respond(Response::accepted());
        self.dispatch_call(cx, &fid, call);
    }

    /// SUBSCRIBE over HTTP: a 200 chunked RecordIO stream with a fresh
    /// `Mesos-Stream-Id`; SUBSCRIBED first. A refused subscription gets an
    /// ERROR event and the stream is closed, as upstream does.
    fn http_subscribe(
        &mut self,
        cx: &mut Cx<'_, Self>,
        req: &Request,
        responder: Responder,
        mut call: Call,
    ) {
        if req.header("mesos-stream-id").is_some() {
            responder.respond(Response::bad_request(
                "Subscribe calls should not include the 'Mesos-Stream-Id' header",
            ));
            return;
        }
        let json = if accepts(req, APPLICATION_JSON) {
            true
        } else if accepts(req, APPLICATION_PROTOBUF) {
            false
        } else {
            responder.respond(Response::text(
                StatusCode::NOT_ACCEPTABLE,
                format!(
                    "Expecting 'Accept' to allow '{APPLICATION_JSON}' or '{APPLICATION_PROTOBUF}'"
                ),
            ));
            return;
        };
        let mut bytes = [0u8; 16];
        cx.rng().fill_bytes(&mut bytes);
        let stream_id = uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string();
        let mut headers = HeaderMap::new();
        let media = if json {
            APPLICATION_JSON
        } else {
            APPLICATION_PROTOBUF
        };
        headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static(media));
        if let Ok(v) = HeaderValue::from_str(&stream_id) {
            headers.insert("Mesos-Stream-Id", v);
        }
        let head = ResponseHead {
            status: StatusCode::OK,
            headers,
        };
        let Some(sub) = call.subscribe.take() else {
            return;
        };
        let framework_id = sub.framework_info.id.clone().map(|i| i.value);
        let sid = stream_id.clone();
        // The close notice needs the framework ID, known only after
        // subscribing; a shared cell carries it into the callback.
        let cell = std::sync::Arc::new(std::sync::Mutex::new(framework_id));
        let cell2 = cell.clone();
        let Some(sender) = cx.stream(
            responder,
            head,
            STREAM_CAPACITY,
            move |m: &mut Master, cx| {
                let fid = cell2.lock().ok().and_then(|g| g.clone());
                if let Some(fid) = fid {
                    m.http_stream_closed(cx, &fid, &sid);
                }
            },
        ) else {
            return;
        };
        let stream = HttpStream {
            stream_id,
            sender,
            json,
        };
        let name = sub.framework_info.name.clone();
        // `subscribe` consumes the stream; on refusal it is handed back via
        // the error path below by re-creating nothing: we keep a second
        // handle by splitting the error reporting.
        match self.subscribe_http_checked(cx, stream, sub) {
            Ok(fid) => {
                if let Ok(mut g) = cell.lock() {
                    *g = Some(fid);
                }
            }
            Err((e, mut stream)) => {
                tracing::info!("Refusing subscription of framework '{name}': {e}");
                let event = Event {
                    r#type: Some(EventType::Error as i32),
                    error: Some(event::Error { message: e }),
                    ..Default::default()
                };
                if let Some(rec) = crate::actor::deliver::encode_event(&event, stream.json) {
                    let _ = stream.sender.try_send(rec);
                }
                stream.sender.close();
            }
        }
    }

    /// Validates before handing the stream to `subscribe`, so a refusal
    /// can still write the ERROR event on it.
    fn subscribe_http_checked(
        &mut self,
        cx: &mut Cx<'_, Self>,
        stream: HttpStream,
        sub: mesos_proto::mesos::scheduler::call::Subscribe,
    ) -> Result<String, (String, HttpStream)> {
        if let Err(e) = self
            .validate_framework(&sub.framework_info, &sub.suppressed_roles)
            .and_then(|()| {
                self.offer_constraints_filter(&sub.framework_info, sub.offer_constraints.as_ref())
                    .map(drop)
            })
            .and_then(|()| self.authorize_framework(&sub.framework_info))
        {
            return Err((e, stream));
        }
        self.subscribe(cx, NewConnection::Http(stream), sub)
            .map_err(|e| (e, dead_stream()))
    }
}

/// A placeholder for the (already consumed) stream when `subscribe` fails
/// after validation; it cannot fail there today for HTTP connections.
fn dead_stream() -> HttpStream {
    struct Closed;
    impl libprocess::http::StreamSink for Closed {
        fn try_send(&mut self, _chunk: Bytes) -> Result<(), libprocess::http::StreamError> {
            Err(libprocess::http::StreamError::Closed)
        }
        fn close(&mut self) {}
        fn is_closed(&self) -> bool {
            true
        }
    }
    HttpStream {
        stream_id: String::new(),
        sender: libprocess::StreamSender::new(Box::new(Closed)),
        json: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_subscribe_call_parses_and_devolves() {
        let body =
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n"}}}"#;
        let call = parse_call(body, true).unwrap();
        assert_eq!(call.r#type, Some(CallType::Subscribe as i32));
        assert_eq!(call.subscribe.unwrap().framework_info.name, "n");
    }

    #[test]
    fn bad_bodies_give_upstream_reasons() {
        assert!(parse_call(b"{nope", true)
            .unwrap_err()
            .starts_with("Failed to parse body into JSON"));
        assert!(parse_call(
            br#"{"type":"SUBSCRIBE","subscribe":{"framework_info":{}}}"#,
            true
        )
        .unwrap_err()
        .starts_with("Failed to convert JSON into Call protobuf"));
        assert_eq!(
            parse_call(&[0xff, 0xff, 0xff], false).unwrap_err(),
            "Failed to parse body into Call protobuf"
        );
    }
}
