//! RecordIO properties: round trips under any chunking; garbage never panics.

use bytes::Bytes;
use mesos_proto::recordio::{encode, encode_into, Decoder, RecordIoError};
use proptest::prelude::*;

fn decode_chunked(stream: &[u8], cuts: &[usize]) -> Result<Vec<Bytes>, RecordIoError> {
    let mut d = Decoder::new(1 << 16);
    let mut out = Vec::new();
    let mut at = 0;
    for &c in cuts {
        let end = (at + c).min(stream.len());
        out.extend(d.decode(&stream[at..end])?);
        at = end;
    }
    out.extend(d.decode(&stream[at..])?);
    d.finish()?;
    Ok(out)
}

proptest! {
    #[test]
    fn round_trips_under_any_chunking(
        records in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        cuts in prop::collection::vec(0usize..50, 0..40),
    ) {
        let mut stream = Vec::new();
        for r in &records {
            encode_into(r, &mut stream);
        }
        let got = decode_chunked(&stream, &cuts).unwrap();
        let want: Vec<Bytes> = records.into_iter().map(Bytes::from).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn garbage_is_an_error_or_records_never_a_panic(
        stream in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(0usize..20, 0..20),
    ) {
        if let Ok(records) = decode_chunked(&stream, &cuts) {
            // Every record is a slice of the input after its own header and newline
            // (headers may carry leading zeros, so re-encoding need not be identical).
            let used: usize = records.iter().map(|r| r.len() + 2).sum();
            prop_assert!(used <= stream.len());
            let re: Vec<u8> = records.iter().flat_map(|r| encode(r)).collect();
            if !stream.windows(2).any(|w| w[0] == b'0' && w[1].is_ascii_digit()) {
                prop_assert_eq!(re, stream);
            }
        }
    }

    #[test]
    fn oversized_records_are_rejected(len in (1usize << 16) + 1..1 << 40) {
        let mut d = Decoder::new(1 << 16);
        let header = format!("{len}\n");
        let is_too_large = matches!(d.decode(header.as_bytes()), Err(RecordIoError::TooLarge { .. }));
        prop_assert!(is_too_large);
    }
}
