//! The client side: outgoing connections (libevent_ssl_socket.cpp `connect`
//! and `event_callback`, process.cpp `send_connect`).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openssl::ssl::Ssl;
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use super::verify::{self, Mode};
use super::{MaybeTlsStream, TlsContext, TlsError};

/// Opens outgoing connections: plain when TLS is disabled, otherwise TLS,
/// retried in plain when `SUPPORT_DOWNGRADE` is set and TLS fails.
#[derive(Clone, Debug)]
pub struct Connector {
    ctx: Option<Arc<TlsContext>>,
    handshake_timeout: Option<Duration>,
}

impl Connector {
    /// No TLS.
    pub fn plain() -> Connector {
        Connector {
            ctx: None,
            handshake_timeout: None,
        }
    }

    /// TLS with `ctx`'s configuration.
    pub fn tls(ctx: Arc<TlsContext>) -> Connector {
        Connector {
            ctx: Some(ctx),
            handshake_timeout: None,
        }
    }

    /// From an optional context (`TlsContext::from_env()`'s result).
    pub fn from_context(ctx: Option<Arc<TlsContext>>) -> Connector {
        Connector {
            ctx,
            handshake_timeout: None,
        }
    }

    /// Bounds each TCP connect plus handshake (upstream: unbounded).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Connector {
        self.handshake_timeout = Some(timeout);
        self
    }

    /// Whether connections are TLS by default.
    pub fn is_tls(&self) -> bool {
        self.ctx.is_some()
    }

    /// Connects to `addr`. `hostname` is the name the peer is known by (the
    /// UPID's host when it was given as a name): the `openssl` scheme checks
    /// the certificate against it, `legacy` uses it only when reverse DNS of
    /// the peer IP fails.
    ///
    /// When TLS fails (TCP or handshake or verification) and downgrades are
    /// supported, one plain connection is tried instead, as upstream's
    /// `send_connect`; its failure is reported with the TLS error.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        hostname: Option<&str>,
    ) -> Result<MaybeTlsStream, TlsError> {
        let Some(ctx) = &self.ctx else {
            return self.bounded(addr, connect_plain(addr)).await;
        };
        match self.bounded(addr, connect_tls(ctx, addr, hostname)).await {
            Ok(s) => Ok(s),
            Err(e) if ctx.config().support_downgrade => {
                tracing::warn!("{e}; retrying {addr} without TLS (downgrade supported)");
                self.bounded(addr, connect_plain(addr))
                    .await
                    .map_err(|plain| TlsError::Io {
                        context: format!("{e}; the plain retry failed too"),
                        source: match plain {
                            TlsError::Io { source, .. } => source,
                            other => std::io::Error::other(other.to_string()),
                        },
                    })
            }
            Err(e) => {
                tracing::warn!("{e}");
                Err(e)
            }
        }
    }

    /// TLS handshake (and verification) on an already connected socket; no
    /// downgrade. Plain when TLS is disabled.
    pub async fn handshake(
        &self,
        tcp: TcpStream,
        hostname: Option<&str>,
    ) -> Result<MaybeTlsStream, TlsError> {
        let Some(ctx) = &self.ctx else {
            return Ok(MaybeTlsStream::Plain(tcp));
        };
        let addr = tcp.peer_addr().map_err(|source| TlsError::Io {
            context: "Failed to get the peer address".to_string(),
            source,
        })?;
        self.bounded(addr, handshake_tls(ctx, tcp, addr, hostname))
            .await
    }

    async fn bounded(
        &self,
        addr: SocketAddr,
        fut: impl std::future::Future<Output = Result<MaybeTlsStream, TlsError>>,
    ) -> Result<MaybeTlsStream, TlsError> {
        match self.handshake_timeout {
            Some(t) => tokio::time::timeout(t, fut)
                .await
                .unwrap_or(Err(TlsError::Timeout(addr))),
            None => fut.await,
        }
    }
}

async fn connect_plain(addr: SocketAddr) -> Result<MaybeTlsStream, TlsError> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|source| TlsError::Io {
            context: format!("Failed to connect to {addr}"),
            source,
        })?;
    let _ = tcp.set_nodelay(true);
    Ok(MaybeTlsStream::Plain(tcp))
}

async fn connect_tls(
    ctx: &TlsContext,
    addr: SocketAddr,
    hostname: Option<&str>,
) -> Result<MaybeTlsStream, TlsError> {
    // Configure before connecting, as upstream: a configuration error (the
    // `openssl` scheme without a name or VERIFY_IPADD) fails the connect
    // without touching the network.
    let ssl = new_client_ssl(ctx, addr, hostname)?;
    let MaybeTlsStream::Plain(tcp) = connect_plain(addr).await? else {
        unreachable!("connect_plain returns plain streams");
    };
    finish_handshake(ctx, ssl, tcp, addr, hostname).await
}

async fn handshake_tls(
    ctx: &TlsContext,
    tcp: TcpStream,
    addr: SocketAddr,
    hostname: Option<&str>,
) -> Result<MaybeTlsStream, TlsError> {
    let ssl = new_client_ssl(ctx, addr, hostname)?;
    finish_handshake(ctx, ssl, tcp, addr, hostname).await
}

fn new_client_ssl(
    ctx: &TlsContext,
    addr: SocketAddr,
    hostname: Option<&str>,
) -> Result<Ssl, TlsError> {
    let mut ssl = Ssl::new(ctx.ssl_context()).map_err(|e| TlsError::Context(e.to_string()))?;
    verify::configure(&mut ssl, ctx.config(), Mode::Client, addr, hostname)?;
    Ok(ssl)
}

async fn finish_handshake(
    ctx: &TlsContext,
    ssl: Ssl,
    tcp: TcpStream,
    addr: SocketAddr,
    hostname: Option<&str>,
) -> Result<MaybeTlsStream, TlsError> {
    let mut stream = SslStream::new(ssl, tcp).map_err(|e| TlsError::Context(e.to_string()))?;
    if let Err(e) = Pin::new(&mut stream).connect().await {
        return Err(TlsError::Handshake {
            peer: addr,
            reason: verify::handshake_reason(stream.ssl(), &e),
        });
    }
    verify::post_handshake(
        stream.ssl(),
        ctx.config(),
        Mode::Client,
        hostname,
        Some(addr.ip()),
    )
    .await
    .map_err(|reason| TlsError::Verify { peer: addr, reason })?;
    Ok(MaybeTlsStream::Tls(Box::new(stream)))
}
