//! Property tests: the inbound request decoder never panics, whatever bytes
//! arrive and however they are split, and what it accepts round-trips.

use bytes::BytesMut;
use libprocess::transport::decode::{is_message, message_route, message_sender, RequestDecoder};
use libprocess::transport::encode::message_bytes;
use libprocess::Upid;
use proptest::prelude::*;

const MAX_BODY: usize = 4096;

/// Feeds `input` in pieces of the given sizes; returns requests and whether it failed.
fn feed(input: &[u8], cuts: &[usize]) -> (usize, bool) {
    let mut d = RequestDecoder::new(1024, MAX_BODY);
    let mut buf = BytesMut::new();
    let mut at = 0;
    let mut n = 0;
    let mut sizes = cuts.iter().copied().chain(std::iter::repeat(64));
    while at < input.len() {
        let step = sizes.next().unwrap_or(64).max(1);
        let end = (at + step).min(input.len());
        buf.extend_from_slice(&input[at..end]);
        at = end;
        loop {
            match d.decode(&mut buf) {
                Ok(Some(r)) => {
                    assert!(r.body.len() <= MAX_BODY);
                    // Classification and routing must not panic either.
                    if is_message(&r) {
                        let _ = message_sender(&r);
                        let _ = message_route(r.path());
                    }
                    n += 1;
                }
                Ok(None) => break,
                Err(_) => {
                    // A failed decoder stays failed.
                    assert!(d.decode(&mut buf).is_err());
                    return (n, true);
                }
            }
        }
    }
    (n, false)
}

fn http_ish() -> impl Strategy<Value = Vec<u8>> {
    // Random soup of HTTP-looking tokens, so the fuzzer gets past the
    // request line often enough to reach headers and bodies.
    let token = prop_oneof![
        Just(b"POST /a/b HTTP/1.1\r\n".to_vec()),
        Just(b"GET / HTTP/1.0\r\n".to_vec()),
        Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
        Just(b"Content-Length: 5\r\n".to_vec()),
        Just(b"Content-Length: 99999999999999999999\r\n".to_vec()),
        Just(b"Libprocess-From: a@1.2.3.4:5\r\n".to_vec()),
        Just(b"User-Agent: libprocess/\r\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"5\r\nhello\r\n".to_vec()),
        Just(b"0\r\n\r\n".to_vec()),
        Just(b"fffffffffffffffffff\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..16),
    ];
    prop::collection::vec(token, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_bytes_never_panic(input in prop::collection::vec(any::<u8>(), 0..4096),
                                cuts in prop::collection::vec(1usize..512, 0..16)) {
        feed(&input, &cuts);
    }

    #[test]
    fn http_like_soup_never_panics(input in http_ish(),
                                   cuts in prop::collection::vec(1usize..64, 0..16)) {
        feed(&input, &cuts);
    }

    #[test]
    fn encoded_messages_round_trip(id in "[a-z()0-9-]{0,12}",
                                   name in "[A-Za-z.]{1,40}",
                                   body in prop::collection::vec(any::<u8>(), 0..MAX_BODY),
                                   cuts in prop::collection::vec(1usize..300, 0..16)) {
        let from = Upid::parse_literal("slave(1)@127.0.0.1:5051").unwrap();
        let to = Upid::new(id.as_str(), "127.0.0.1:5050".parse().unwrap());
        let mut wire = message_bytes(&from, &to, &name, &body).to_vec();
        wire.extend_from_slice(&message_bytes(&from, &to, &name, &body));
        let mut d = RequestDecoder::new(1024, MAX_BODY);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut at = 0;
        let mut sizes = cuts.iter().copied().chain(std::iter::repeat(97));
        while at < wire.len() {
            let end = (at + sizes.next().unwrap()).min(wire.len());
            buf.extend_from_slice(&wire[at..end]);
            at = end;
            while let Some(r) = d.decode(&mut buf).unwrap() {
                got.push(r);
            }
        }
        prop_assert_eq!(got.len(), 2);
        for r in got {
            prop_assert!(is_message(&r));
            prop_assert_eq!(message_sender(&r).unwrap(), from.to_string());
            let (to_id, n) = message_route(r.path()).unwrap();
            if !id.is_empty() {
                prop_assert_eq!(to_id, id.clone());
                prop_assert_eq!(n, name.clone());
            }
            prop_assert_eq!(&r.body[..], &body[..]);
        }
    }
}
