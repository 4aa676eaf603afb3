//! TLS for libprocess with Mesos 1.9's certificate semantics.
//!
//! A self-contained layer over `tokio::net::TcpStream` that the transport
//! plugs in: listeners hand accepted sockets to an [`Acceptor`], outgoing
//! connections are made by a [`Connector`]; both yield a [`MaybeTlsStream`]
//! (plain or TLS, `AsyncRead + AsyncWrite`).
//!
//! - [`config`]: [`SslConfig`], the `LIBPROCESS_SSL_*` / `SSL_*` environment
//!   (3rdparty/libprocess/src/openssl.cpp `Flags`).
//! - [`context`]: [`TlsContext`], the one OpenSSL context built from it, with
//!   upstream's start-up checks (`reinitialize`).
//! - [`verify`]: per-connection set-up and post-handshake checks
//!   (`configure_socket`, `verify`): the 1.9 meaning of `VERIFY_CERT` (client
//!   side) and `REQUIRE_CERT` (server side), `legacy` vs `openssl` hostname
//!   validation.
//! - [`accept`]: the server side, with the downgrade-peeking acceptor
//!   (posix/libevent/libevent_ssl_socket.cpp `peek_callback`).
//! - [`connect`]: the client side, with the plain retry of
//!   `SocketManager::send_connect` (process.cpp) when downgrades are allowed.
//! - [`stream`]: the plain-or-TLS [`MaybeTlsStream`].
//! - [`testing`]: a throw-away PKI (CA, server/client certificates, bad ones)
//!   for tests and benches.
//!
//! Typical use:
//! ```no_run
//! # async fn f() -> Result<(), libprocess::tls::TlsError> {
//! use libprocess::tls::{SslConfig, TlsContext};
//! let config = SslConfig::from_env()?;
//! if let Some(ctx) = TlsContext::from_config(config)? {
//!     let conn = ctx.connector().connect("127.0.0.1:5050".parse().unwrap(), None).await?;
//!     # let _ = conn;
//! }
//! # Ok(()) }
//! ```

pub mod accept;
pub mod config;
pub mod connect;
pub mod context;
pub mod stream;
pub mod testing;
pub mod verify;

pub use accept::{looks_like_tls, Acceptor};
pub use config::{HostnameValidationScheme, SslConfig, DEFAULT_CIPHERS};
pub use connect::Connector;
pub use context::TlsContext;
pub use stream::MaybeTlsStream;

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong in the TLS layer. The start-up variants are
/// the ones upstream turns into `EXIT(EXIT_FAILURE)`; the connection variants
/// are logged and the connection dropped.
// TODO(lib.rs owner): fold into `crate::Error` as `Tls(#[from] TlsError)`.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// An `LIBPROCESS_SSL_*` value that does not parse.
    #[error("Failed to load flags from environment variables prefixed by LIBPROCESS_SSL_ or SSL_ (deprecated): {var}={value}: {reason}")]
    BadFlag {
        /// The variable as set.
        var: String,
        /// Its value.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// `HOSTNAME_VALIDATION_SCHEME` other than `legacy` / `openssl`.
    #[error("Unknown value for hostname_validation_scheme: {0}")]
    UnknownScheme(String),
    /// TLS is enabled without a key.
    #[error("SSL requires key! NOTE: Set path with LIBPROCESS_SSL_KEY_FILE")]
    MissingKey,
    /// TLS is enabled without a certificate.
    #[error("SSL requires certificate! NOTE: Set path with LIBPROCESS_SSL_CERT_FILE")]
    MissingCert,
    /// The CA file or directory could not be loaded.
    #[error("Could not load CA file and/or directory ({ca}): {source}")]
    LoadCa {
        /// `FILE: ..` / `DIR: ..` as configured.
        ca: String,
        /// OpenSSL's reason.
        source: openssl::error::ErrorStack,
    },
    /// The system's default CA paths could not be loaded.
    #[error("Could not load default CA file and/or directory: {0}")]
    DefaultCa(openssl::error::ErrorStack),
    /// The certificate chain file could not be read or parsed.
    #[error("Could not load cert file '{path}': {reason}")]
    LoadCert {
        /// `CERT_FILE`.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key file could not be read or parsed (including encrypted keys:
    /// we never prompt for a passphrase).
    #[error("Could not load key file '{path}': {reason}")]
    LoadKey {
        /// `KEY_FILE`.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The key does not belong to the certificate.
    #[error("Private key does not match the certificate public key: {0}")]
    KeyMismatch(openssl::error::ErrorStack),
    /// `CIPHERS` selects no usable cipher.
    #[error("Could not set ciphers '{ciphers}': {source}")]
    Ciphers {
        /// `CIPHERS`.
        ciphers: String,
        /// OpenSSL's reason.
        source: openssl::error::ErrorStack,
    },
    /// `ECDH_CURVES` names an unknown curve.
    #[error("Could not load ECDH curves '{curves}': {source}")]
    EcdhCurves {
        /// `ECDH_CURVES`.
        curves: String,
        /// OpenSSL's reason.
        source: openssl::error::ErrorStack,
    },
    /// No protocol version is left enabled, or another context set-up failure.
    #[error("Failed to create SSL context: {0}")]
    Context(String),
    /// A connection could not be configured (e.g. the `openssl` scheme with
    /// neither a hostname nor `VERIFY_IPADD`).
    #[error("Failed to configure socket for {peer}: {reason}")]
    Configure {
        /// The remote address.
        peer: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The TLS handshake failed (bad certificate, protocol or cipher mismatch,
    /// peer closed); `reason` includes the certificate verification result
    /// when that is the cause.
    #[error("TLS handshake with {peer} failed: {reason}")]
    Handshake {
        /// The remote address.
        peer: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The handshake finished but the peer's certificate was rejected
    /// afterwards (no certificate, `legacy` hostname validation).
    #[error("Failed to verify the certificate of {peer}: {reason}")]
    Verify {
        /// The remote address.
        peer: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The handshake did not finish in time.
    #[error("TLS handshake with {0} timed out")]
    Timeout(SocketAddr),
    /// A socket error.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The error.
        source: std::io::Error,
    },
}
