//! HTTP endpoints of the master (routes as in `Master::initialize`,
//! master.cpp ~L900-1130).
//!
//! - [`scheduler`]: `POST /api/v1/scheduler` (v1 scheduler API).
//! - [`operator`]: `POST /api/v1` (v1 operator API).
//! - [`legacy`]: v0 JSON endpoints (`/state`, `/slaves`, `/frameworks`,
//!   `/health`, `/flags`, `/version`, `/metrics/snapshot`, ...).
//! - [`roles`]: `GET /roles` and `GET_ROLES` (weights, quota, consumption).
//! - [`maintenance`]: `/maintenance/*`, `/machine/*` and the maintenance calls.
//! - [`files`]: `LIST_FILES` / `READ_FILE` over the `files` attach table.
//! - [`model`]: the hand-written v0 JSON shapes (`src/common/http.cpp`).
//!
//! Endpoint handlers are methods of [`Master`] so they see its state; each
//! module installs its own routes, so more can be added beside them.

pub mod files;
pub mod json_writer;
pub mod legacy;
pub mod maintenance;
pub mod model;
pub mod operations;
pub mod operator;
pub mod roles;
pub mod scheduler;

use http::{Method, StatusCode};
use libprocess::{Request, Response, Routes};

use crate::actor::Master;

pub const APPLICATION_JSON: &str = "application/json";
pub const APPLICATION_PROTOBUF: &str = "application/x-protobuf";
pub const APPLICATION_RECORDIO: &str = "application/recordio";

/// Installs every HTTP route of the master.
pub fn install(r: &mut Routes<Master>) {
    scheduler::install(r);
    operator::install(r);
    legacy::install(r);
    operations::install(r);
    roles::install(r);
    maintenance::install(r);
}

/// The media type of a request body (parameters stripped).
pub fn content_type(req: &Request) -> Option<String> {
    req.header("content-type").map(|v| {
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// Whether the `Accept` header allows `media` (upstream
/// `Request::acceptsMediaType`: a missing header accepts everything; `*/*`
/// and `type/*` wildcards; `q=0` refuses).
pub fn accepts(req: &Request, media: &str) -> bool {
    let Some(accept) = req.header("accept") else {
        return true;
    };
    let (mtype, _) = media.split_once('/').unwrap_or((media, ""));
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let range = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f64>().ok())
                .is_some_and(|q| q == 0.0)
        });
        !refused && (range == "*/*" || range == media || range == format!("{mtype}/*"))
    })
}

/// 405 with the `Allow` header, as upstream's `MethodNotAllowed`.
pub fn method_not_allowed(allowed: &[&str], got: &Method) -> Response {
    Response::text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "Expecting one of {{ '{}' }}, but received '{}'",
            allowed.join("', '"),
            got
        ),
    )
    .header(http::header::ALLOW, &allowed.join(", "))
}

/// A JSON body, honouring the `jsonp` query parameter as upstream's
/// `OK(JSON, jsonp)` does.
pub fn json_response(req: &Request, body: String) -> Response {
    match req.query_param("jsonp") {
        Some(cb) if !cb.is_empty() => {
            Response::with_body(StatusCode::OK, "text/javascript", format!("{cb}({body});"))
        }
        _ => Response::json(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(accept: Option<&str>) -> Request {
        let mut r = Request::new(Method::POST, "/api/v1");
        if let Some(a) = accept {
            r.headers.insert("accept", a.parse().unwrap());
        }
        r
    }

    #[test]
    fn accept_header_negotiation() {
        assert!(accepts(&req(None), APPLICATION_JSON));
        assert!(accepts(&req(Some("*/*")), APPLICATION_PROTOBUF));
        assert!(accepts(&req(Some("application/*")), APPLICATION_JSON));
        assert!(!accepts(&req(Some("text/html")), APPLICATION_JSON));
        assert!(!accepts(
            &req(Some("application/json;q=0")),
            APPLICATION_JSON
        ));
        assert!(accepts(
            &req(Some("text/plain, application/x-protobuf;q=0.5")),
            APPLICATION_PROTOBUF
        ));
    }

    #[test]
    fn content_type_strips_parameters() {
        let mut r = req(None);
        r.headers.insert(
            "content-type",
            "Application/JSON; charset=utf-8".parse().unwrap(),
        );
        assert_eq!(content_type(&r).as_deref(), Some(APPLICATION_JSON));
    }
}
