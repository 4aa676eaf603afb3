//! TLS cost over loopback: connection set-up rate (TCP connect + full TLS 1.2
//! handshake with upstream's default cipher list, vs a plain TCP connect)
//! and bulk throughput on an established connection (TLS vs plain).
//!
//! `cargo bench -p libprocess --bench tls`

use std::net::SocketAddr;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use libprocess::tls::testing::{CertSpec, Pki};
use libprocess::tls::{Acceptor, Connector, MaybeTlsStream, SslConfig, TlsContext};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::runtime::Runtime;

struct Setup {
    _pki: Pki,
    server: Arc<TlsContext>,
    client: Arc<TlsContext>,
}

fn setup(verify: bool) -> Setup {
    setup_with(verify, libprocess::tls::DEFAULT_CIPHERS)
}

/// `ciphers` on both sides (upstream's default list negotiates AES128-SHA).
fn setup_with(verify: bool, ciphers: &str) -> Setup {
    let pki = Pki::generate().unwrap();
    let s = pki.issue(&CertSpec::server("localhost")).unwrap();
    let c = pki.issue(&CertSpec::server("localhost")).unwrap();
    let server = TlsContext::new(SslConfig {
        require_cert: verify,
        ciphers: ciphers.to_string(),
        ..pki.config(&s)
    })
    .unwrap();
    let client = TlsContext::new(SslConfig {
        verify_cert: verify,
        ciphers: ciphers.to_string(),
        ..pki.config(&c)
    })
    .unwrap();
    Setup {
        _pki: pki,
        server,
        client,
    }
}

/// A listener that accepts with `acceptor` and then echoes nothing: each
/// accepted stream drains until EOF (throughput) or is dropped (handshake).
async fn listen(rt: &Runtime, acceptor: Acceptor, drain: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut s) = acceptor.accept(tcp).await else {
                    return;
                };
                if drain {
                    let mut buf = vec![0u8; 64 * 1024];
                    // Bytes of the current block received so far.
                    let mut got = 0usize;
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 {
                            break;
                        }
                        got += n;
                        // Acknowledge every full block so the writer can
                        // time a complete transfer (it sends one block, then
                        // waits, so blocks never overlap).
                        if got == BLOCK {
                            got = 0;
                            let _ = s.write_all(b"k").await;
                        }
                    }
                } else {
                    // Wait for the client's one-byte hello so the handshake
                    // is complete on both sides before the stream drops.
                    let mut b = [0u8; 1];
                    let _ = s.read(&mut b).await;
                    let _ = s.write_all(b"k").await;
                }
            });
        }
    });
    addr
}

const BLOCK: usize = 1 << 20;

fn handshake(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut g = c.benchmark_group("tls_connect");
    g.throughput(Throughput::Elements(1));
    for (name, verify) in [("tls", false), ("tls_verify_both", true)] {
        let s = setup(verify);
        let addr = rt.block_on(listen(&rt, s.server.acceptor(), false));
        let connector = s.client.connector();
        g.bench_function(BenchmarkId::new("connect_roundtrip", name), |b| {
            b.iter(|| rt.block_on(roundtrip(&connector, addr)));
        });
    }
    let addr = rt.block_on(listen(&rt, Acceptor::plain(), false));
    let plain = Connector::plain();
    g.bench_function(BenchmarkId::new("connect_roundtrip", "plain"), |b| {
        b.iter(|| rt.block_on(roundtrip(&plain, addr)));
    });
    g.finish();
}

async fn roundtrip(connector: &Connector, addr: SocketAddr) {
    let mut s = connector.connect(addr, Some("localhost")).await.unwrap();
    s.write_all(b"h").await.unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).await.unwrap();
}

fn throughput(c: &mut Criterion) {
    let rt = Runtime::new().unwrap();
    let mut g = c.benchmark_group("tls_throughput");
    g.throughput(Throughput::Bytes(BLOCK as u64));
    let block = vec![0x5au8; BLOCK];
    let s = setup(false);
    let tls_addr = rt.block_on(listen(&rt, s.server.acceptor(), true));
    let mut tls = rt
        .block_on(s.client.connector().connect(tls_addr, Some("localhost")))
        .unwrap();
    assert_eq!(tls.cipher_name(), Some("AES128-SHA"));
    // For comparison: an AEAD suite upstream's default list does not offer.
    let gcm = setup_with(false, "ECDHE-RSA-AES128-GCM-SHA256");
    let gcm_addr = rt.block_on(listen(&rt, gcm.server.acceptor(), true));
    let mut tls_gcm = rt
        .block_on(gcm.client.connector().connect(gcm_addr, Some("localhost")))
        .unwrap();
    assert_eq!(tls_gcm.cipher_name(), Some("ECDHE-RSA-AES128-GCM-SHA256"));
    let plain_addr = rt.block_on(listen(&rt, Acceptor::plain(), true));
    let mut plain = rt
        .block_on(Connector::plain().connect(plain_addr, None))
        .unwrap();
    for (name, stream) in [
        ("tls_aes128_sha", &mut tls),
        ("tls_aes128_gcm", &mut tls_gcm),
        ("plain", &mut plain),
    ] {
        g.bench_function(BenchmarkId::new("1MiB", name), |b| {
            b.iter(|| rt.block_on(send_block(stream, &block)));
        });
    }
    g.finish();
}

async fn send_block(s: &mut MaybeTlsStream, block: &[u8]) {
    s.write_all(block).await.unwrap();
    let mut k = [0u8; 1];
    s.read_exact(&mut k).await.unwrap();
}

criterion_group!(benches, handshake, throughput);
criterion_main!(benches);
