//! Cost of the libprocess wire format: encoding a message, decoding a
//! single request and a pipelined batch, encoding a response.

use bytes::{Bytes, BytesMut};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use libprocess::http::Response;
use libprocess::transport::decode::{is_message, message_route, message_sender, RequestDecoder};
use libprocess::transport::encode::{encode_message, encode_response};
use libprocess::Upid;

fn codec(c: &mut Criterion) {
    let from = Upid::parse_literal("slave(1)@127.0.0.1:5051").unwrap();
    let to = Upid::parse_literal("master@127.0.0.1:5050").unwrap();
    let name = "mesos.internal.StatusUpdateMessage";
    let mut g = c.benchmark_group("transport");
    for size in [0usize, 256, 16 * 1024] {
        let body = vec![7u8; size];
        g.throughput(Throughput::Elements(1));
        g.bench_function(format!("encode_message_{size}B"), |b| {
            let mut out = BytesMut::with_capacity(64 * 1024);
            b.iter(|| {
                out.clear();
                encode_message(&from, &to, name, black_box(&body), &mut out);
                black_box(out.len())
            })
        });
        let mut wire = BytesMut::new();
        encode_message(&from, &to, name, &body, &mut wire);
        let wire = wire.freeze();
        g.bench_function(format!("decode_message_{size}B"), |b| {
            b.iter(|| {
                let mut d = RequestDecoder::new(80 * 1024, 64 << 20);
                let mut buf = BytesMut::from(&wire[..]);
                let r = d.decode(&mut buf).unwrap().unwrap();
                assert!(is_message(&r));
                black_box((
                    message_sender(&r),
                    message_route(r.path()).unwrap(),
                    r.body.len(),
                ))
            })
        });
    }
    // 64 pipelined 256-byte messages in one read, as a busy peer sends them.
    let mut batch = BytesMut::new();
    for _ in 0..64 {
        encode_message(&from, &to, name, &[7u8; 256], &mut batch);
    }
    let batch = batch.freeze();
    g.throughput(Throughput::Elements(64));
    g.bench_function("decode_pipelined_64x256B", |b| {
        b.iter(|| {
            let mut d = RequestDecoder::new(80 * 1024, 64 << 20);
            let mut buf = BytesMut::from(&batch[..]);
            let mut n = 0;
            while let Some(r) = d.decode(&mut buf).unwrap() {
                n += r.body.len();
            }
            black_box(n)
        })
    });
    g.throughput(Throughput::Elements(1));
    let json = Response::json(Bytes::from(vec![b' '; 4096]));
    g.bench_function("encode_response_4KiB", |b| {
        let mut out = BytesMut::with_capacity(8192);
        b.iter(|| {
            out.clear();
            encode_response(black_box(&json), &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
