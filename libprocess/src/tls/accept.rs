//! The server side: turning an accepted TCP socket into a [`MaybeTlsStream`]
//! (posix/libevent/libevent_ssl_socket.cpp `accept_callback`,
//! `peek_callback`, `accept_SSL_callback`).

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use openssl::ssl::Ssl;
use tokio::net::TcpStream;
use tokio_openssl::SslStream;

use super::verify::{self, Mode};
use super::{MaybeTlsStream, TlsContext, TlsError};

/// SSLv2 record layer: CLIENT-HELLO message type (`SSL2_MT_CLIENT_HELLO`).
const SSL2_MT_CLIENT_HELLO: u8 = 1;
/// TLS record type handshake (`SSL3_RT_HANDSHAKE`).
const SSL3_RT_HANDSHAKE: u8 = 0x16;
/// TLS record major version (`SSL3_VERSION_MAJOR`).
const SSL3_VERSION_MAJOR: u8 = 3;
/// Handshake type ClientHello (`SSL3_MT_CLIENT_HELLO`).
const SSL3_MT_CLIENT_HELLO: u8 = 1;

/// Whether the first bytes a client sent open a TLS (or SSLv2-compatible)
/// ClientHello, by upstream's rules (`peek_callback`, itself after OpenSSL's
/// `ssl23_get_client_hello`): fewer than two bytes is plain; an SSLv2 header
/// (high bit set) with a CLIENT-HELLO in byte 2; or a handshake record of
/// major version 3 whose byte 5 is ClientHello. `peeked` holds what one
/// peek returned (up to 6 bytes); missing bytes count as zero.
pub fn looks_like_tls(peeked: &[u8]) -> bool {
    if peeked.len() < 2 {
        return false;
    }
    let byte = |i: usize| peeked.get(i).copied().unwrap_or(0);
    (byte(0) & 0x80 != 0 && byte(2) == SSL2_MT_CLIENT_HELLO)
        || (byte(0) == SSL3_RT_HANDSHAKE
            && byte(1) == SSL3_VERSION_MAJOR
            && byte(5) == SSL3_MT_CLIENT_HELLO)
}

/// Accepts connections on behalf of a listener: plain when TLS is disabled,
/// otherwise TLS (or, with `SUPPORT_DOWNGRADE`, whichever the client speaks).
#[derive(Clone, Debug)]
pub struct Acceptor {
    ctx: Option<Arc<TlsContext>>,
    handshake_timeout: Option<Duration>,
}

impl Acceptor {
    /// No TLS: every connection is plain.
    pub fn plain() -> Acceptor {
        Acceptor {
            ctx: None,
            handshake_timeout: None,
        }
    }

    /// TLS with `ctx`'s configuration.
    pub fn tls(ctx: Arc<TlsContext>) -> Acceptor {
        Acceptor {
            ctx: Some(ctx),
            handshake_timeout: None,
        }
    }

    /// From an optional context (`TlsContext::from_env()`'s result).
    pub fn from_context(ctx: Option<Arc<TlsContext>>) -> Acceptor {
        Acceptor {
            ctx,
            handshake_timeout: None,
        }
    }

    /// Bounds the peek plus handshake. Upstream has no bound (a silent peer
    /// holds only its own connection); transports may want one.
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Acceptor {
        self.handshake_timeout = Some(timeout);
        self
    }

    /// Whether accepted connections are TLS by default.
    pub fn is_tls(&self) -> bool {
        self.ctx.is_some()
    }

    /// Classifies and, for TLS, handshakes and verifies one accepted socket.
    /// On error the socket is dropped (closed); the caller logs the error and
    /// keeps accepting.
    pub async fn accept(&self, tcp: TcpStream) -> Result<MaybeTlsStream, TlsError> {
        let Some(ctx) = &self.ctx else {
            return Ok(MaybeTlsStream::Plain(tcp));
        };
        let peer = tcp.peer_addr().map_err(|source| TlsError::Io {
            context: "Could not determine peer IP for connection".to_string(),
            source,
        })?;
        match self.handshake_timeout {
            Some(t) => tokio::time::timeout(t, accept_tls(ctx, tcp, peer))
                .await
                .unwrap_or(Err(TlsError::Timeout(peer))),
            None => accept_tls(ctx, tcp, peer).await,
        }
    }
}

async fn accept_tls(
    ctx: &TlsContext,
    tcp: TcpStream,
    peer: SocketAddr,
) -> Result<MaybeTlsStream, TlsError> {
    let config = ctx.config();
    if config.support_downgrade {
        // One peek once readable, like upstream: a ClientHello arrives in one
        // segment; an HTTP request line never matches the TLS patterns.
        let mut head = [0u8; 6];
        let n = tcp.peek(&mut head).await.map_err(|source| TlsError::Io {
            context: format!("Failed to peek at connection from {peer}"),
            source,
        })?;
        if !looks_like_tls(&head[..n]) {
            tracing::debug!("Accepted plain (downgraded) connection from {peer}");
            return Ok(MaybeTlsStream::Plain(tcp));
        }
    }

    let mut ssl = Ssl::new(ctx.ssl_context()).map_err(|e| TlsError::Context(e.to_string()))?;
    verify::configure(&mut ssl, config, Mode::Server, peer, None)?;
    let mut stream = SslStream::new(ssl, tcp).map_err(|e| TlsError::Context(e.to_string()))?;
    if let Err(e) = Pin::new(&mut stream).accept().await {
        let reason = verify::handshake_reason(stream.ssl(), &e);
        tracing::debug!("Failed accept from {peer}: {reason}");
        return Err(TlsError::Handshake { peer, reason });
    }
    if let Err(reason) =
        verify::post_handshake(stream.ssl(), config, Mode::Server, None, Some(peer.ip())).await
    {
        tracing::warn!("Failed accept from {peer}, verification error: {reason}");
        return Err(TlsError::Verify { peer, reason });
    }
    Ok(MaybeTlsStream::Tls(Box::new(stream)))
}

#[cfg(test)]
mod tests {
    use super::looks_like_tls;

    #[test]
    fn peek_rules() {
        // TLS 1.2 ClientHello record header + handshake type.
        assert!(looks_like_tls(&[0x16, 0x03, 0x01, 0x00, 0xc8, 0x01]));
        assert!(looks_like_tls(&[0x16, 0x03, 0x03, 0x02, 0x00, 0x01]));
        // SSLv2-compatible hello.
        assert!(looks_like_tls(&[0x80, 0x2e, 0x01, 0x03, 0x01, 0x00]));
        // HTTP.
        assert!(!looks_like_tls(b"POST /"));
        assert!(!looks_like_tls(b"GET /v"));
        // Too short, or a handshake record that is not a ClientHello.
        assert!(!looks_like_tls(&[0x16]));
        assert!(!looks_like_tls(&[]));
        assert!(!looks_like_tls(&[0x16, 0x03, 0x01, 0x00, 0xc8, 0x02]));
        assert!(!looks_like_tls(&[0x16, 0x02, 0x01, 0x00, 0xc8, 0x01]));
    }
}
