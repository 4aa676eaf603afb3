//! A minimal HTTP/1.1 client (hyper) for operator calls to a master.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::http_err;
use crate::Result;

/// One request on a fresh connection; returns the status and whole body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<(u16, Bytes)> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(http_err)?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut b = http::Request::builder()
        .method(method)
        .uri(path)
        .header(http::header::HOST, addr.to_string());
    let payload = match body {
        Some((ct, bytes)) => {
            b = b
                .header(http::header::CONTENT_TYPE, ct)
                .header(http::header::ACCEPT, ct);
            bytes
        }
        None => Vec::new(),
    };
    let req = b.body(Full::new(Bytes::from(payload))).map_err(http_err)?;
    let resp = send.send_request(req).await.map_err(http_err)?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(http_err)?
        .to_bytes();
    Ok((status, body))
}

/// Blocking form, for code outside a runtime.
pub fn request_blocking(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Result<(u16, Bytes)> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(request(addr, method, path, body))
}
