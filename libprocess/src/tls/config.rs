//! The `LIBPROCESS_SSL_*` environment, read as libprocess 1.9 reads it
//! (3rdparty/libprocess/src/openssl.cpp `Flags::Flags` and `reinitialize`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::TlsError;

/// Upstream's default cipher list (openssl.cpp `Flags::Flags`, "ciphers"):
/// SHA1-CBC suites, which is also what a 1.9 peer built against OpenSSL 1.0.2
/// negotiates by default (AES128-SHA).
pub const DEFAULT_CIPHERS: &str = "AES128-SHA:AES256-SHA:RC4-SHA:DHE-RSA-AES128-SHA:\
DHE-DSS-AES128-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA";

/// Upstream's default certificate chain depth (`verification_depth`).
pub const DEFAULT_VERIFICATION_DEPTH: u32 = 4;

/// How the peer's identity is checked against its certificate
/// (`LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME`, new in 1.9; docs/ssl.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostnameValidationScheme {
    /// 1.8 behaviour: after the handshake, reverse-DNS the peer IP and compare
    /// the first name against the certificate's SAN DNS names and CN (and SAN
    /// IPs with `VERIFY_IPADD`); on both the client and the server side.
    Legacy,
    /// OpenSSL's own RFC 6125 check (`X509_VERIFY_PARAM_set1_host/_ip`) during
    /// the handshake; client side only.
    Openssl,
}

impl HostnameValidationScheme {
    /// The flag value.
    pub fn as_str(self) -> &'static str {
        match self {
            HostnameValidationScheme::Legacy => "legacy",
            HostnameValidationScheme::Openssl => "openssl",
        }
    }
}

/// The TLS configuration of a libprocess peer. Field names are the flag
/// names of openssl.cpp; defaults are upstream's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SslConfig {
    /// `ENABLED`: every listener speaks TLS and every outgoing connection uses it.
    pub enabled: bool,
    /// `SUPPORT_DOWNGRADE`: listeners also serve plain connections (told apart
    /// by peeking); a failed outgoing TLS connect is retried in plain.
    pub support_downgrade: bool,
    /// `CERT_FILE`: our certificate chain (PEM). Required when enabled.
    pub cert_file: Option<PathBuf>,
    /// `KEY_FILE`: our private key (PEM, unencrypted). Required when enabled.
    pub key_file: Option<PathBuf>,
    /// `VERIFY_CERT`: verify the server certificate on outgoing connections.
    pub verify_cert: bool,
    /// `REQUIRE_CERT`: require and verify a client certificate on incoming
    /// connections. Implies `verify_cert` (see [`SslConfig::normalized`]).
    pub require_cert: bool,
    /// `VERIFY_IPADD`: let SAN IP addresses prove the peer's identity.
    pub verify_ipadd: bool,
    /// `VERIFICATION_DEPTH`: longest accepted chain.
    pub verification_depth: u32,
    /// `CA_DIR`: hashed directory of trusted CAs.
    pub ca_dir: Option<PathBuf>,
    /// `CA_FILE`: PEM bundle of trusted CAs.
    pub ca_file: Option<PathBuf>,
    /// `CIPHERS`: OpenSSL cipher list (TLS <= 1.2).
    pub ciphers: String,
    /// `ECDH_CURVES`: colon-separated curve list, or `auto`.
    pub ecdh_curves: String,
    /// `HOSTNAME_VALIDATION_SCHEME`.
    pub hostname_validation_scheme: HostnameValidationScheme,
    /// `ENABLE_SSL_V3`.
    pub enable_ssl_v3: bool,
    /// `ENABLE_TLS_V1_0`.
    pub enable_tls_v1_0: bool,
    /// `ENABLE_TLS_V1_1`.
    pub enable_tls_v1_1: bool,
    /// `ENABLE_TLS_V1_2` (the only protocol on by default).
    pub enable_tls_v1_2: bool,
    /// `ENABLE_TLS_V1_3`.
    pub enable_tls_v1_3: bool,
}

impl Default for SslConfig {
    fn default() -> Self {
        SslConfig {
            enabled: false,
            support_downgrade: false,
            cert_file: None,
            key_file: None,
            verify_cert: false,
            require_cert: false,
            verify_ipadd: false,
            verification_depth: DEFAULT_VERIFICATION_DEPTH,
            ca_dir: None,
            ca_file: None,
            ciphers: DEFAULT_CIPHERS.to_string(),
            ecdh_curves: "auto".to_string(),
            hostname_validation_scheme: HostnameValidationScheme::Legacy,
            enable_ssl_v3: false,
            enable_tls_v1_0: false,
            enable_tls_v1_1: false,
            enable_tls_v1_2: true,
            enable_tls_v1_3: false,
        }
    }
}

/// Every flag name upstream knows (lower case, without prefix).
const FLAG_NAMES: &[&str] = &[
    "enabled",
    "support_downgrade",
    "cert_file",
    "key_file",
    "verify_cert",
    "require_cert",
    "verify_ipadd",
    "verification_depth",
    "ca_dir",
    "ca_file",
    "ciphers",
    "ecdh_curves",
    "hostname_validation_scheme",
    "enable_ssl_v3",
    "enable_tls_v1_0",
    "enable_tls_v1_1",
    "enable_tls_v1_2",
    "enable_tls_v1_3",
];

fn parse_bool(var: &str, value: &str) -> Result<bool, TlsError> {
    // stout/flags/parse.hpp accepts exactly these four spellings.
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(TlsError::BadFlag {
            var: var.to_string(),
            value: value.to_string(),
            reason: "expecting a boolean (e.g., true or false)".to_string(),
        }),
    }
}

impl SslConfig {
    /// Reads the process environment (see [`SslConfig::from_vars`]).
    pub fn from_env() -> Result<SslConfig, TlsError> {
        // `vars_os`: `std::env::vars` panics on a non-UTF-8 variable anywhere
        // in the environment; such variables cannot be ours and are skipped.
        Self::from_vars(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    /// Like [`SslConfig::from_env`] over a single-variable lookup (for
    /// callers that read their environment that way, e.g.
    /// `TransportConfig::from_lookup`): asks for the upper-case
    /// `LIBPROCESS_SSL_<FLAG>` and `SSL_<FLAG>` of every flag.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<SslConfig, TlsError> {
        let mut pairs = Vec::new();
        for name in FLAG_NAMES {
            let upper = name.to_ascii_uppercase();
            for prefix in ["LIBPROCESS_SSL_", "SSL_"] {
                let var = format!("{prefix}{upper}");
                if let Some(v) = get(&var) {
                    pairs.push((var, v));
                }
            }
        }
        Self::from_vars(pairs)
    }

    /// Builds the configuration from `(name, value)` pairs such as the
    /// environment. As upstream (`reinitialize`, MESOS-5863) both the
    /// `LIBPROCESS_SSL_` and the older `SSL_` prefix are read, the former wins
    /// (a differing `SSL_` value is logged), the rest of the name is
    /// case-insensitive, and names that are not flags are ignored (so
    /// OpenSSL's own `SSL_CERT_DIR` does not get in the way). A value that does
    /// not parse, or an unknown validation scheme, is an error: upstream exits.
    ///
    /// The result is [`normalized`](SslConfig::normalized).
    pub fn from_vars<I, K, V>(vars: I) -> Result<SslConfig, TlsError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        // (name, prefix) -> (full var, value); BTreeMap so the walk is ordered.
        let mut new_style: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut old_style: BTreeMap<String, (String, String)> = BTreeMap::new();
        for (k, v) in vars {
            let (k, v) = (k.as_ref(), v.as_ref());
            let (map, rest) = if let Some(rest) = k.strip_prefix("LIBPROCESS_SSL_") {
                (&mut new_style, rest)
            } else if let Some(rest) = k.strip_prefix("SSL_") {
                (&mut old_style, rest)
            } else {
                continue;
            };
            let name = rest.to_ascii_lowercase();
            if FLAG_NAMES.contains(&name.as_str()) {
                map.insert(name, (k.to_string(), v.to_string()));
            }
        }
        for (name, (var, value)) in &old_style {
            match new_style.get(name) {
                Some((new_var, new_value)) if new_value != value => {
                    tracing::warn!(
                        "Mismatched values for SSL environment variables {} and {}; using {}",
                        var,
                        new_var,
                        new_var
                    );
                }
                Some(_) => {}
                None => {
                    new_style.insert(name.clone(), (var.clone(), value.clone()));
                }
            }
        }

        let mut c = SslConfig::default();
        for (name, (var, value)) in &new_style {
            let (var, value) = (var.as_str(), value.as_str());
            match name.as_str() {
                "enabled" => c.enabled = parse_bool(var, value)?,
                "support_downgrade" => c.support_downgrade = parse_bool(var, value)?,
                "cert_file" => c.cert_file = Some(PathBuf::from(value)),
                "key_file" => c.key_file = Some(PathBuf::from(value)),
                "verify_cert" => c.verify_cert = parse_bool(var, value)?,
                "require_cert" => c.require_cert = parse_bool(var, value)?,
                "verify_ipadd" => c.verify_ipadd = parse_bool(var, value)?,
                "verification_depth" => {
                    c.verification_depth = value.parse().map_err(|_| TlsError::BadFlag {
                        var: var.to_string(),
                        value: value.to_string(),
                        reason: "expecting a non-negative integer".to_string(),
                    })?
                }
                "ca_dir" => c.ca_dir = Some(PathBuf::from(value)),
                "ca_file" => c.ca_file = Some(PathBuf::from(value)),
                "ciphers" => c.ciphers = value.to_string(),
                "ecdh_curves" => c.ecdh_curves = value.to_string(),
                "hostname_validation_scheme" => {
                    c.hostname_validation_scheme = match value {
                        "legacy" => HostnameValidationScheme::Legacy,
                        "openssl" => HostnameValidationScheme::Openssl,
                        other => return Err(TlsError::UnknownScheme(other.to_string())),
                    }
                }
                "enable_ssl_v3" => c.enable_ssl_v3 = parse_bool(var, value)?,
                "enable_tls_v1_0" => c.enable_tls_v1_0 = parse_bool(var, value)?,
                "enable_tls_v1_1" => c.enable_tls_v1_1 = parse_bool(var, value)?,
                "enable_tls_v1_2" => c.enable_tls_v1_2 = parse_bool(var, value)?,
                "enable_tls_v1_3" => c.enable_tls_v1_3 = parse_bool(var, value)?,
                _ => unreachable!("filtered by FLAG_NAMES"),
            }
        }
        Ok(c.normalized())
    }

    /// Applies the rule upstream applies at start-up (openssl.cpp
    /// `reinitialize`): `require_cert` implies `verify_cert`, kept from 1.8
    /// for backwards compatibility.
    pub fn normalized(mut self) -> SslConfig {
        if self.require_cert && !self.verify_cert {
            tracing::info!("LIBPROCESS_SSL_REQUIRE_CERT implies server certificate verification; LIBPROCESS_SSL_VERIFY_CERT set to true");
            self.verify_cert = true;
        }
        self
    }

    /// The environment that reproduces this configuration in a child process
    /// (`LIBPROCESS_SSL_*` names), e.g. for executors or a reference peer.
    pub fn to_env(&self) -> Vec<(String, String)> {
        fn b(v: bool) -> String {
            v.to_string()
        }
        let mut out = vec![
            ("ENABLED", b(self.enabled)),
            ("SUPPORT_DOWNGRADE", b(self.support_downgrade)),
            ("VERIFY_CERT", b(self.verify_cert)),
            ("REQUIRE_CERT", b(self.require_cert)),
            ("VERIFY_IPADD", b(self.verify_ipadd)),
            ("VERIFICATION_DEPTH", self.verification_depth.to_string()),
            ("CIPHERS", self.ciphers.clone()),
            ("ECDH_CURVES", self.ecdh_curves.clone()),
            (
                "HOSTNAME_VALIDATION_SCHEME",
                self.hostname_validation_scheme.as_str().to_string(),
            ),
            ("ENABLE_SSL_V3", b(self.enable_ssl_v3)),
            ("ENABLE_TLS_V1_0", b(self.enable_tls_v1_0)),
            ("ENABLE_TLS_V1_1", b(self.enable_tls_v1_1)),
            ("ENABLE_TLS_V1_2", b(self.enable_tls_v1_2)),
            ("ENABLE_TLS_V1_3", b(self.enable_tls_v1_3)),
        ];
        for (name, path) in [
            ("CERT_FILE", &self.cert_file),
            ("KEY_FILE", &self.key_file),
            ("CA_FILE", &self.ca_file),
            ("CA_DIR", &self.ca_dir),
        ] {
            if let Some(p) = path {
                out.push((name, p.display().to_string()));
            }
        }
        out.into_iter()
            .map(|(k, v)| (format!("LIBPROCESS_SSL_{k}"), v))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Result<SslConfig, TlsError> {
        SslConfig::from_vars(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn defaults_match_upstream() {
        let c = vars(&[]).unwrap();
        assert!(!c.enabled && !c.support_downgrade && !c.verify_cert && !c.require_cert);
        assert_eq!(c.verification_depth, 4);
        assert_eq!(c.ecdh_curves, "auto");
        assert_eq!(
            c.hostname_validation_scheme,
            HostnameValidationScheme::Legacy
        );
        assert!(c.enable_tls_v1_2 && !c.enable_tls_v1_3 && !c.enable_tls_v1_1);
        assert!(c.ciphers.starts_with("AES128-SHA:AES256-SHA:RC4-SHA:"));
    }

    #[test]
    fn both_prefixes_and_precedence() {
        let c = vars(&[
            ("SSL_ENABLED", "true"),
            ("SSL_CERT_FILE", "/old.pem"),
            ("LIBPROCESS_SSL_CERT_FILE", "/new.pem"),
            ("LIBPROCESS_SSL_verify_ipadd", "1"),
            // OpenSSL's own variable: not a flag, ignored.
            ("SSL_CERT_DIR", "/etc/ssl/certs"),
        ])
        .unwrap();
        assert!(c.enabled && c.verify_ipadd);
        assert_eq!(c.cert_file, Some(PathBuf::from("/new.pem")));
        assert_eq!(c.ca_dir, None);
    }

    #[test]
    fn from_lookup_reads_both_prefixes() {
        let env: std::collections::HashMap<&str, &str> = [
            ("SSL_ENABLED", "1"),
            ("LIBPROCESS_SSL_SUPPORT_DOWNGRADE", "true"),
            ("LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "openssl"),
        ]
        .into_iter()
        .collect();
        let c = SslConfig::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert!(c.enabled && c.support_downgrade);
        assert_eq!(
            c.hostname_validation_scheme,
            HostnameValidationScheme::Openssl
        );
        assert_eq!(
            SslConfig::from_lookup(|_| None).unwrap(),
            SslConfig::default()
        );
    }

    #[test]
    fn require_cert_implies_verify_cert() {
        let c = vars(&[("LIBPROCESS_SSL_REQUIRE_CERT", "true")]).unwrap();
        assert!(c.verify_cert);
        let c = vars(&[("LIBPROCESS_SSL_VERIFY_CERT", "true")]).unwrap();
        assert!(!c.require_cert);
    }

    #[test]
    fn bad_values_are_errors() {
        let e = vars(&[("LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "rfc6125")]).unwrap_err();
        assert!(e
            .to_string()
            .contains("Unknown value for hostname_validation_scheme: rfc6125"));
        let e = vars(&[("LIBPROCESS_SSL_ENABLED", "yes")]).unwrap_err();
        assert!(e.to_string().contains("LIBPROCESS_SSL_ENABLED"), "{e}");
        assert!(vars(&[("SSL_VERIFICATION_DEPTH", "-1")]).is_err());
    }

    #[test]
    fn to_env_round_trips() {
        let c = SslConfig {
            enabled: true,
            cert_file: Some("/c.pem".into()),
            key_file: Some("/k.pem".into()),
            ca_file: Some("/ca.pem".into()),
            require_cert: true,
            hostname_validation_scheme: HostnameValidationScheme::Openssl,
            ..SslConfig::default()
        }
        .normalized();
        assert_eq!(SslConfig::from_vars(c.to_env()).unwrap(), c);
    }
}
