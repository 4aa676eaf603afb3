//! Clear errors: a bad configuration of our own is one specific start-up
//! error (upstream exits with it), a bad peer is one specific connection
//! error; neither hangs nor panics.

use std::time::Duration;

use libprocess::tls::testing::{CertSpec, Pki};
use libprocess::tls::{HostnameValidationScheme, SslConfig, TlsContext, TlsError};
use tokio::net::TcpListener;

fn err(config: SslConfig) -> TlsError {
    TlsContext::new(config).expect_err("configuration must be rejected")
}

#[test]
fn startup_errors_are_specific() {
    let pki = Pki::generate().unwrap();
    let me = pki.issue(&CertSpec::server("localhost")).unwrap();
    let other = pki.issue(&CertSpec::server("other")).unwrap();
    let good = pki.config(&me);
    assert!(TlsContext::new(good.clone()).is_ok());

    // Missing key / certificate.
    let e = err(SslConfig {
        key_file: None,
        ..good.clone()
    });
    assert!(matches!(e, TlsError::MissingKey), "{e}");
    assert!(e.to_string().contains("LIBPROCESS_SSL_KEY_FILE"));
    let e = err(SslConfig {
        cert_file: None,
        ..good.clone()
    });
    assert!(matches!(e, TlsError::MissingCert), "{e}");

    // A key that is not the certificate's.
    let e = err(SslConfig {
        key_file: Some(other.key_file.clone()),
        ..good.clone()
    });
    assert!(matches!(e, TlsError::KeyMismatch(_)), "{e}");
    assert!(
        e.to_string().starts_with("Private key does not match"),
        "{e}"
    );

    // A key file that is not a key, and an encrypted key (no prompt, no hang).
    let garbage = pki.write_file("garbage.pem", b"not a key\n").unwrap();
    let e = err(SslConfig {
        key_file: Some(garbage.clone()),
        ..good.clone()
    });
    assert!(matches!(e, TlsError::LoadKey { .. }), "{e}");
    let encrypted = me
        .key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"secret")
        .unwrap();
    let encrypted = pki.write_file("encrypted.pem", &encrypted).unwrap();
    let e = err(SslConfig {
        key_file: Some(encrypted),
        ..good.clone()
    });
    assert!(matches!(e, TlsError::LoadKey { .. }), "{e}");
    assert!(e.to_string().contains("encrypted.pem"), "{e}");

    // A certificate file that does not exist.
    let e = err(SslConfig {
        cert_file: Some(pki.dir().join("nope.pem")),
        ..good.clone()
    });
    assert!(matches!(e, TlsError::LoadCert { .. }), "{e}");

    // An unreadable CA file (only loaded when verifying, as upstream).
    let missing_ca = pki.dir().join("missing-ca.pem");
    let e = err(SslConfig {
        verify_cert: true,
        ca_file: Some(missing_ca.clone()),
        ..good.clone()
    });
    assert!(matches!(e, TlsError::LoadCa { .. }), "{e}");
    assert!(e.to_string().contains("missing-ca.pem"), "{e}");
    assert!(TlsContext::new(SslConfig {
        ca_file: Some(missing_ca),
        ..good.clone()
    })
    .is_ok());
    let e = err(SslConfig {
        require_cert: true,
        ca_file: Some(garbage),
        ..good.clone()
    });
    assert!(matches!(e, TlsError::LoadCa { .. }), "{e}");

    // A cipher string that selects nothing.
    let e = err(SslConfig {
        ciphers: "NOT-A-CIPHER:ALSO-NOT".into(),
        ..good.clone()
    });
    assert!(matches!(e, TlsError::Ciphers { .. }), "{e}");
    assert!(e.to_string().contains("NOT-A-CIPHER"), "{e}");

    // Unknown curves.
    let e = err(SslConfig {
        ecdh_curves: "P-999".into(),
        ..good.clone()
    });
    assert!(matches!(e, TlsError::EcdhCurves { .. }), "{e}");
    assert!(TlsContext::new(SslConfig {
        ecdh_curves: "P-384:P-256".into(),
        ..good.clone()
    })
    .is_ok());

    // Every protocol switched off.
    let e = err(SslConfig {
        enable_tls_v1_2: false,
        ..good.clone()
    });
    assert!(matches!(e, TlsError::Context(_)), "{e}");

    // From the environment: an unknown scheme is a start-up error.
    let e = SslConfig::from_vars([("LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "strict")])
        .unwrap_err();
    assert!(matches!(e, TlsError::UnknownScheme(_)), "{e}");

    // Disabled TLS needs no files at all.
    assert!(TlsContext::from_config(SslConfig::default())
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn hostname_mismatch_is_a_specific_connect_error() {
    let pki = Pki::generate().unwrap();
    let server_cert = pki.issue(&CertSpec::server("wrong.example.org")).unwrap();
    let client_cert = pki.issue(&CertSpec::server("localhost")).unwrap();
    let server = TlsContext::new(pki.config(&server_cert)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = server.acceptor();
    let accept = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        acceptor.accept(tcp).await.map(|_| ())
    });

    // openssl scheme: the handshake itself fails with OpenSSL's reason.
    let client = TlsContext::new(SslConfig {
        verify_cert: true,
        hostname_validation_scheme: HostnameValidationScheme::Openssl,
        ..pki.config(&client_cert)
    })
    .unwrap()
    .connector()
    .with_handshake_timeout(Duration::from_secs(5));
    let e = client.connect(addr, Some("localhost")).await.unwrap_err();
    assert!(matches!(e, TlsError::Handshake { .. }), "{e}");
    assert!(e.to_string().contains("hostname mismatch"), "{e}");
    // The server sees the client abort the handshake: an error, not a hang.
    let server_side = tokio::time::timeout(Duration::from_secs(5), accept)
        .await
        .expect("server side hung")
        .unwrap();
    assert!(server_side.is_err());

    // legacy scheme: the handshake succeeds, the post-handshake check names
    // the certificate and the peer.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = server.acceptor();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = acceptor.accept(tcp).await;
        }
    });
    let client = TlsContext::new(SslConfig {
        verify_cert: true,
        ..pki.config(&client_cert)
    })
    .unwrap()
    .connector();
    let e = client.connect(addr, None).await.unwrap_err();
    assert!(matches!(e, TlsError::Verify { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("Presented Certificate Name: wrong.example.org does not match peer hostname name: localhost"),
        "{e}"
    );

    // openssl scheme by IP without VERIFY_IPADD: refused before connecting.
    let client = TlsContext::new(SslConfig {
        verify_cert: true,
        hostname_validation_scheme: HostnameValidationScheme::Openssl,
        ..pki.config(&client_cert)
    })
    .unwrap()
    .connector();
    let e = client.connect(addr, None).await.unwrap_err();
    assert!(matches!(e, TlsError::Configure { .. }), "{e}");
    assert!(e.to_string().contains("VERIFY_IPADD"), "{e}");
}

#[tokio::test]
async fn untrusted_and_expired_name_the_reason() {
    let pki = Pki::generate().unwrap();
    let other_ca = Pki::generate_named("stranger").unwrap();
    let me = pki.issue(&CertSpec::server("localhost")).unwrap();
    for (issued, reason) in [
        (
            other_ca.issue(&CertSpec::server("localhost")).unwrap(),
            "unable to get local issuer certificate",
        ),
        (
            pki.issue(&CertSpec::server("localhost").expired()).unwrap(),
            "certificate has expired",
        ),
    ] {
        let server = TlsContext::new(other_ca.config(&issued)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = server.acceptor();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let _ = acceptor.accept(tcp).await;
            }
        });
        let client = TlsContext::new(SslConfig {
            verify_cert: true,
            ..pki.config(&me)
        })
        .unwrap()
        .connector();
        let e = client.connect(addr, Some("localhost")).await.unwrap_err();
        assert!(e.to_string().contains(reason), "{e}");
    }
}

#[tokio::test]
async fn protocol_mismatch_is_refused_with_the_reason() {
    // Upstream defaults: TLS 1.2 only. A peer that only speaks TLS 1.3 (or
    // 1.1) cannot connect, and the error says why.
    let pki = Pki::generate().unwrap();
    let me = pki.issue(&CertSpec::server("localhost")).unwrap();
    let server = TlsContext::new(SslConfig {
        enable_tls_v1_2: false,
        enable_tls_v1_3: true,
        ..pki.config(&me)
    })
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = server.acceptor();
    let accepted = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        acceptor.accept(tcp).await.map(|_| ())
    });
    let client = TlsContext::new(pki.config(&me)).unwrap().connector();
    let e = client.connect(addr, None).await.unwrap_err();
    assert!(matches!(e, TlsError::Handshake { .. }), "{e}");
    let server_err = accepted.await.unwrap().unwrap_err();
    assert!(
        server_err.to_string().contains("protocol"),
        "server side names the protocol problem: {server_err}"
    );

    // Both sides opting into TLS 1.3 works.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = server.acceptor();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        if let Ok(mut s) = acceptor.accept(tcp).await {
            use tokio::io::AsyncWriteExt;
            let _ = s.write_all(b"x").await;
        }
    });
    let client = TlsContext::new(SslConfig {
        enable_tls_v1_3: true,
        ..pki.config(&me)
    })
    .unwrap()
    .connector();
    let mut s = client.connect(addr, None).await.unwrap();
    assert_eq!(s.protocol_version(), Some("TLSv1.3"));
    let mut b = [0u8; 1];
    tokio::io::AsyncReadExt::read_exact(&mut s, &mut b)
        .await
        .unwrap();
}

#[test]
fn odd_paths_are_errors_not_panics() {
    use std::os::unix::ffi::OsStrExt;
    let pki = Pki::generate().unwrap();
    let me = pki.issue(&CertSpec::server("localhost")).unwrap();
    let bad = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/\xff-ca.pem"));
    let e = err(SslConfig {
        verify_cert: true,
        ca_file: Some(bad),
        ..pki.config(&me)
    });
    assert!(matches!(e, TlsError::Context(_)), "{e}");
}
