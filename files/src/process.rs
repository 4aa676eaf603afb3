//! The `files` actor: `/files/browse`, `/files/read`, `/files/download`,
//! `/files/debug` (upstream `FilesProcess::initialize` and its handlers).
//! Work that touches the disk runs on blocking threads.

use std::io::Read;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode};
use libprocess::{Actor, Cx, Request, Responder, Response, ResponseHead, Routes};
use serde_json::{json, Map, Value};

use crate::{model, Files, FilesError};

/// Files up to this size are sent as one body; larger ones are streamed.
const WHOLE_DOWNLOAD_LIMIT: u64 = 8 << 20;
const DOWNLOAD_CHUNK: usize = 64 << 10;

/// The process upstream spawns as `files`.
pub struct FilesProcess {
    files: Files,
}

impl FilesProcess {
    /// The process id upstream gives it.
    pub const ID: &'static str = "files";

    pub fn new(files: Files) -> FilesProcess {
        FilesProcess { files }
    }
}

impl Actor for FilesProcess {
    fn install(r: &mut Routes<Self>) {
        r.http("browse", Self::browse);
        r.http("read", Self::read);
        r.http("download", Self::download);
        r.http("debug", Self::debug);
    }
}

/// `OK(json, jsonp)`: `callback(json);` as `text/javascript` when asked.
/// A callback that is not a plain JavaScript name is refused (upstream
/// echoes any text, which lets a request inject script).
pub fn json_response(v: &Value, jsonp: Option<&str>) -> Response {
    match jsonp {
        None => Response::json(v.to_string()),
        Some(cb)
            if !cb.is_empty()
                && cb
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.')) =>
        {
            Response::with_body(StatusCode::OK, "text/javascript", format!("{cb}({v});"))
        }
        Some(_) => Response::bad_request("Invalid 'jsonp' callback name.\n"),
    }
}

/// The `path` query parameter; the 400 reason when missing.
fn required_path(req: &Request) -> Result<String, String> {
    match req.query_param("path") {
        Some(p) if !p.is_empty() => Ok(p.to_string()),
        _ => Err("Expecting 'path=value' in query.\n".to_string()),
    }
}

/// `numify<off_t>` / `numify<ssize_t>` with upstream's messages.
fn parse_signed(req: &Request, name: &str) -> Result<Option<i64>, String> {
    let Some(raw) = req.query_param(name) else {
        return Ok(None);
    };
    let v: i64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("Failed to parse {name}: Failed to convert '{raw}' to number.\n"))?;
    if v < -1 {
        return Err(format!("Negative {name} provided: {v}.\n"));
    }
    Ok(Some(v))
}

fn log_request(req: &Request) {
    tracing::info!(
        "HTTP {} for {} from {}",
        req.method,
        req.path,
        req.peer
            .map(|p| p.to_string())
            .unwrap_or_else(|| "(unknown)".into())
    );
}

/// The `Content-Type` upstream's mime table gives a few common extensions.
fn mime_type(path: &std::path::Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("txt") => "text/plain",
        Some("html") => "text/html",
        Some("css") => "text/css",
        Some("js") => "application/x-javascript",
        Some("json") => "application/json",
        Some("sh") => "application/x-sh",
        Some("tar") => "application/x-tar",
        Some("zip") => "application/zip",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

enum Download {
    Whole(Response),
    Stream(ResponseHead, std::fs::File),
}

impl FilesProcess {
    fn browse(&mut self, cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        log_request(&req);
        let path = match required_path(&req) {
            Ok(p) => p,
            Err(reason) => return r.respond(Response::bad_request(reason)),
        };
        let jsonp = req.query_param("jsonp").map(str::to_string);
        let files = self.files.clone();
        cx.blocking(
            move || files.browse(&path),
            move |_: &mut Self, _, result| match result {
                Ok(list) => {
                    let v = Value::Array(list.iter().map(model::file_info_json).collect());
                    r.respond(json_response(&v, jsonp.as_deref()))
                }
                Err(e) => r.respond(e.response()),
            },
        );
    }

    fn read(&mut self, cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        log_request(&req);
        let path = match required_path(&req) {
            Ok(p) => p,
            Err(reason) => return r.respond(Response::bad_request(reason)),
        };
        let offset = match parse_signed(&req, "offset") {
            Ok(o) => o.unwrap_or(-1),
            Err(reason) => return r.respond(Response::bad_request(reason)),
        };
        let mut length = match parse_signed(&req, "length") {
            // `length=-1` (the pailer's first request) means "to the end".
            Ok(l) => l.filter(|l| *l > -1).map(|l| l as u64),
            Err(reason) => return r.respond(Response::bad_request(reason)),
        };
        // `offset=-1` (or none) asks only for the file's size.
        let start = if offset == -1 {
            length = Some(0);
            0
        } else {
            offset as u64
        };
        let jsonp = req.query_param("jsonp").map(str::to_string);
        let files = self.files.clone();
        cx.blocking(
            move || files.read(start, length, &path),
            move |_: &mut Self, _, result| match result {
                Ok((size, data)) => {
                    let mut m = Map::new();
                    m.insert("data".into(), json!(String::from_utf8_lossy(&data)));
                    m.insert(
                        "offset".into(),
                        json!(if offset == -1 { size } else { offset as u64 }),
                    );
                    r.respond(json_response(&Value::Object(m), jsonp.as_deref()))
                }
                Err(e) => r.respond(e.response()),
            },
        );
    }

    fn download(&mut self, cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        log_request(&req);
        let path = match required_path(&req) {
            Ok(p) => p,
            Err(reason) => return r.respond(Response::bad_request(reason)),
        };
        let files = self.files.clone();
        cx.blocking(
            move || prepare_download(&files, &path),
            move |_: &mut Self, cx, result: Result<Download, FilesError>| match result {
                Err(e) => r.respond(e.response()),
                Ok(Download::Whole(resp)) => r.respond(resp),
                Ok(Download::Stream(head, file)) => {
                    if let Some(sender) = cx.stream(r, head, 16, |_: &mut Self, _| {}) {
                        cx.blocking(move || stream_file(file, sender), |_: &mut Self, _, _| {});
                    }
                }
            },
        );
    }

    fn debug(&mut self, _cx: &mut Cx<'_, Self>, req: Request, r: Responder) {
        log_request(&req);
        let m: Map<String, Value> = self
            .files
            .snapshot()
            .into_iter()
            .map(|(k, v)| (k, json!(v.display().to_string())))
            .collect();
        r.respond(json_response(&Value::Object(m), req.query_param("jsonp")));
    }
}

/// `FilesProcess::_download`: headers from the file's name, the body whole or
/// streamed.
fn prepare_download(files: &Files, path: &str) -> Result<Download, FilesError> {
    let real = files.resolve(path)?;
    if real.is_dir() {
        return Err(FilesError::Invalid("Cannot download a directory.\n".into()));
    }
    let (real, mut file) = files.open(path)?;
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut headers = HeaderMap::new();
    let put = |h: &mut HeaderMap, k: http::header::HeaderName, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    };
    put(&mut headers, http::header::CONTENT_TYPE, mime_type(&real));
    put(
        &mut headers,
        http::header::CONTENT_DISPOSITION,
        &format!("attachment; filename={name}"),
    );
    let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    if size <= WHOLE_DOWNLOAD_LIMIT {
        let mut body = Vec::new();
        file.read_to_end(&mut body).map_err(|e| {
            FilesError::Unknown(format!("Failed to read '{}': {e}", real.display()))
        })?;
        let mut resp = Response::new(StatusCode::OK);
        resp.headers = headers;
        resp.body = Bytes::from(body);
        return Ok(Download::Whole(resp));
    }
    Ok(Download::Stream(
        ResponseHead {
            status: StatusCode::OK,
            headers,
        },
        file,
    ))
}

/// Feeds a large file to a chunked response, waiting while the client's
/// buffer is full; gives up when the client goes away or stalls for a minute.
fn stream_file(mut file: std::fs::File, mut sender: libprocess::StreamSender) {
    let mut buf = vec![0u8; DOWNLOAD_CHUNK];
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let chunk = Bytes::copy_from_slice(&buf[..n]);
        let mut waited = std::time::Duration::ZERO;
        loop {
            match sender.try_send(chunk.clone()) {
                Ok(()) => break,
                Err(libprocess::http::StreamError::Full)
                    if waited < std::time::Duration::from_secs(60) =>
                {
                    let step = std::time::Duration::from_millis(5);
                    std::thread::sleep(step);
                    waited += step;
                }
                Err(_) => return sender.close(),
            }
        }
    }
    sender.close();
}
