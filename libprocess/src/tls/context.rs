//! The process-wide OpenSSL context (openssl.cpp `reinitialize`).

use std::sync::Arc;

use openssl::pkey::PKey;
use openssl::ssl::{
    SslContext, SslContextBuilder, SslMethod, SslOptions, SslSessionCacheMode, SslVerifyMode,
};

use super::{Acceptor, Connector, SslConfig, TlsError};

/// An OpenSSL context built from an enabled [`SslConfig`]. Building it runs
/// every start-up check upstream runs (key/certificate presence, CA loading,
/// key match, cipher list, curves), so a bad configuration is one clear
/// error at start-up, not a failure on the first connection.
pub struct TlsContext {
    config: SslConfig,
    ctx: SslContext,
}

impl std::fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsContext")
            .field("config", &self.config)
            .finish()
    }
}

impl TlsContext {
    /// `None` when TLS is disabled (plain sockets everywhere), otherwise the
    /// context. Reads nothing from the environment.
    pub fn from_config(config: SslConfig) -> Result<Option<Arc<TlsContext>>, TlsError> {
        if !config.enabled {
            return Ok(None);
        }
        TlsContext::new(config).map(Some)
    }

    /// `SslConfig::from_env()` then [`TlsContext::from_config`]: what a
    /// master or agent calls at start-up.
    pub fn from_env() -> Result<Option<Arc<TlsContext>>, TlsError> {
        Self::from_config(SslConfig::from_env()?)
    }

    /// Builds the context whatever `config.enabled` says.
    pub fn new(config: SslConfig) -> Result<Arc<TlsContext>, TlsError> {
        let config = config.normalized();
        let ctx = build(&config)?;
        Ok(Arc::new(TlsContext { config, ctx }))
    }

    /// The configuration this context was built from (normalized).
    pub fn config(&self) -> &SslConfig {
        &self.config
    }

    /// The OpenSSL context.
    pub fn ssl_context(&self) -> &SslContext {
        &self.ctx
    }

    /// A server-side handshaker for accepted sockets.
    pub fn acceptor(self: &Arc<Self>) -> Acceptor {
        Acceptor::tls(self.clone())
    }

    /// A client-side connector.
    pub fn connector(self: &Arc<Self>) -> Connector {
        Connector::tls(self.clone())
    }
}

fn build(c: &SslConfig) -> Result<SslContext, TlsError> {
    let ctx_err = |e: openssl::error::ErrorStack| TlsError::Context(e.to_string());

    // The same warnings upstream logs: downgrades make verification optional.
    if c.support_downgrade {
        tracing::warn!("Failed SSL connections will be downgraded to a non-SSL socket");
        if c.verify_cert || c.require_cert {
            tracing::warn!(
                "TLS certificate verification was enabled by setting one of \
                 LIBPROCESS_SSL_VERIFY_CERT or LIBPROCESS_SSL_REQUIRE_CERT, but can be \
                 bypassed because TLS downgrades are enabled."
            );
        }
    }
    let key_file = c.key_file.as_ref().ok_or(TlsError::MissingKey)?;
    let cert_file = c.cert_file.as_ref().ok_or(TlsError::MissingCert)?;
    // The openssl crate hands paths to C as UTF-8 C strings (and panics on
    // anything else); refuse such paths here instead.
    for path in [
        Some(key_file),
        Some(cert_file),
        c.ca_file.as_ref(),
        c.ca_dir.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        if path.to_str().is_none_or(|p| p.contains('\0')) {
            return Err(TlsError::Context(format!(
                "path {} is not valid UTF-8 without NUL bytes",
                path.display()
            )));
        }
    }

    // `SSLv23_method` in upstream: version-flexible, narrowed by options below.
    let mut b = SslContextBuilder::new(SslMethod::tls()).map_err(ctx_err)?;
    b.set_session_cache_mode(SslSessionCacheMode::OFF);
    // Upstream sets a fixed session id context (7) so re-connects are not
    // terminated; the value only has to be stable.
    b.set_session_id_context(&7u64.to_ne_bytes())
        .map_err(ctx_err)?;

    if c.verify_cert {
        if c.ca_file.is_some() || c.ca_dir.is_some() {
            b.load_verify_locations(c.ca_file.as_deref(), c.ca_dir.as_deref())
                .map_err(|source| TlsError::LoadCa {
                    ca: [
                        c.ca_file.as_ref().map(|p| format!("FILE: {}", p.display())),
                        c.ca_dir.as_ref().map(|p| format!("DIR: {}", p.display())),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                    source,
                })?;
        } else {
            b.set_default_verify_paths().map_err(TlsError::DefaultCa)?;
        }
        b.set_verify_depth(c.verification_depth);
    }
    // Verification is switched on per connection (verify::configure), with
    // the 1.9 split between client and server mode.
    b.set_verify(SslVerifyMode::NONE);

    b.set_certificate_chain_file(cert_file)
        .map_err(|e| TlsError::LoadCert {
            path: cert_file.clone(),
            reason: e.to_string(),
        })?;

    // Read the key ourselves with a callback that refuses to supply a
    // passphrase: OpenSSL's default would prompt on the terminal (a hang for
    // a daemon); an encrypted key is a clear start-up error instead.
    let pem = std::fs::read(key_file).map_err(|e| TlsError::LoadKey {
        path: key_file.clone(),
        reason: e.to_string(),
    })?;
    let key =
        PKey::private_key_from_pem_callback(&pem, |_| Ok(0)).map_err(|e| TlsError::LoadKey {
            path: key_file.clone(),
            reason: format!("not an unencrypted PEM private key ({e})"),
        })?;
    // OpenSSL >= 1.1 already compares the key with the certificate here;
    // report that case as the mismatch it is.
    b.set_private_key(&key).map_err(|e| {
        if e.errors()
            .iter()
            .any(|r| r.reason() == Some("key values mismatch"))
        {
            TlsError::KeyMismatch(e)
        } else {
            TlsError::LoadKey {
                path: key_file.clone(),
                reason: e.to_string(),
            }
        }
    })?;
    b.check_private_key().map_err(TlsError::KeyMismatch)?;

    b.set_cipher_list(&c.ciphers)
        .map_err(|source| TlsError::Ciphers {
            ciphers: c.ciphers.clone(),
            source,
        })?;

    // Protocol switches: start from a clean slate (options only accumulate)
    // and disable what is not enabled; SSLv2 always off (openssl.cpp).
    let all = SslOptions::NO_SSLV2
        | SslOptions::NO_SSLV3
        | SslOptions::NO_TLSV1
        | SslOptions::NO_TLSV1_1
        | SslOptions::NO_TLSV1_2
        | SslOptions::NO_TLSV1_3;
    b.clear_options(all);
    let mut opts = SslOptions::CIPHER_SERVER_PREFERENCE | SslOptions::NO_SSLV2;
    for (enabled, off) in [
        (c.enable_ssl_v3, SslOptions::NO_SSLV3),
        (c.enable_tls_v1_0, SslOptions::NO_TLSV1),
        (c.enable_tls_v1_1, SslOptions::NO_TLSV1_1),
        (c.enable_tls_v1_2, SslOptions::NO_TLSV1_2),
        (c.enable_tls_v1_3, SslOptions::NO_TLSV1_3),
    ] {
        if !enabled {
            opts |= off;
        }
    }
    b.set_options(opts);
    if !(c.enable_ssl_v3
        || c.enable_tls_v1_0
        || c.enable_tls_v1_1
        || c.enable_tls_v1_2
        || c.enable_tls_v1_3)
    {
        // Upstream would only fail on the first handshake; say it now.
        return Err(TlsError::Context(
            "every protocol version is disabled (LIBPROCESS_SSL_ENABLE_*)".to_string(),
        ));
    }

    // ECDH: OpenSSL >= 1.1 always picks curves automatically; an explicit
    // list is the preference order (`initialize_ecdh_curve`).
    if c.ecdh_curves != "auto" {
        b.set_groups_list(&c.ecdh_curves)
            .map_err(|source| TlsError::EcdhCurves {
                curves: c.ecdh_curves.clone(),
                source,
            })?;
    }

    tracing::info!(
        verify_cert = c.verify_cert,
        require_cert = c.require_cert,
        scheme = c.hostname_validation_scheme.as_str(),
        "TLS enabled"
    );
    Ok(b.build())
}
