//! RecordIO, the framing of Mesos' streaming HTTP responses (scheduler/executor event
//! streams, operator `SUBSCRIBE`, `ATTACH_CONTAINER_*`): each record is its length in
//! decimal ASCII, a `\n`, then that many bytes (`stout/include/stout/recordio.hpp`).
//!
//! The [`Decoder`] is fed arbitrary chunks (as they come off a chunked HTTP body) and
//! returns every record completed so far. Unlike stout's decoder it bounds the record
//! size and the header length, so a peer cannot make it buffer without limit; like
//! stout's, once it has seen a malformed header it stays failed (there is no way to
//! find the next record boundary).

use bytes::Bytes;

/// Records above this size are rejected by [`Decoder::default`] (the largest
/// `GET_STATE`-bearing events of big clusters stay well below it).
pub const DEFAULT_MAX_RECORD_SIZE: usize = 256 * 1024 * 1024;

/// `u64::MAX` has 20 digits; a longer header cannot be a valid length.
const MAX_HEADER_DIGITS: usize = 20;

/// Why a RecordIO stream could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    /// The length header holds something other than decimal digits.
    #[error("Failed to decode length '{0}': not a decimal number")]
    InvalidLength(String),
    /// The length header does not fit in 64 bits (or is absurdly long).
    #[error("record length header '{0}...' is too long")]
    LengthOverflow(String),
    /// The announced record is larger than the decoder accepts.
    #[error("record of {length} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced length.
        length: u64,
        /// The decoder's limit.
        max: usize,
    },
    /// The stream ended in the middle of a header or record.
    #[error("stream ended inside a record ({0} bytes pending)")]
    Truncated(usize),
    /// An earlier error made the decoder give up.
    #[error("Decoder is in a FAILED state")]
    Failed,
}

/// Appends the RecordIO framing of `record` to `out`.
pub fn encode_into(record: &[u8], out: &mut Vec<u8>) {
    let mut len = itoa::Buffer::new();
    out.extend_from_slice(len.format(record.len()).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(record);
}

/// The RecordIO framing of `record`.
pub fn encode(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 21);
    encode_into(record, &mut out);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Header,
    Record(usize),
    Failed,
}

/// Incremental RecordIO decoder.
#[derive(Debug)]
pub struct Decoder {
    max_record_size: usize,
    state: State,
    header: Vec<u8>,
    record: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RECORD_SIZE)
    }
}

impl Decoder {
    /// A decoder that rejects records longer than `max_record_size` bytes.
    pub fn new(max_record_size: usize) -> Self {
        Decoder {
            max_record_size,
            state: State::Header,
            header: Vec::with_capacity(MAX_HEADER_DIGITS),
            record: Vec::new(),
        }
    }

    /// Feeds the next chunk of the stream; returns the records it completed, in
    /// order. After an error every later call fails with [`RecordIoError::Failed`].
    pub fn decode(&mut self, mut chunk: &[u8]) -> Result<Vec<Bytes>, RecordIoError> {
        let mut records = Vec::new();
        while !chunk.is_empty() {
            match self.state {
                State::Failed => return Err(RecordIoError::Failed),
                State::Header => {
                    let newline = chunk.iter().position(|&b| b == b'\n');
                    let take = newline.unwrap_or(chunk.len());
                    if self.header.len() + take > MAX_HEADER_DIGITS {
                        let mut shown = self.header.clone();
                        shown.extend_from_slice(&chunk[..take.min(MAX_HEADER_DIGITS)]);
                        shown.truncate(MAX_HEADER_DIGITS);
                        return Err(self.fail(RecordIoError::LengthOverflow(lossy(&shown))));
                    }
                    self.header.extend_from_slice(&chunk[..take]);
                    let Some(newline) = newline else {
                        break;
                    };
                    chunk = &chunk[newline + 1..];
                    let length = self.parse_header()?;
                    self.header.clear();
                    if length == 0 {
                        // Zero-length records are complete as soon as the header is.
                        records.push(Bytes::new());
                    } else {
                        self.record.reserve(length.min(1 << 20));
                        self.state = State::Record(length);
                    }
                }
                State::Record(length) => {
                    let want = length - self.record.len();
                    let take = want.min(chunk.len());
                    self.record.extend_from_slice(&chunk[..take]);
                    chunk = &chunk[take..];
                    if self.record.len() == length {
                        records.push(Bytes::from(std::mem::take(&mut self.record)));
                        self.state = State::Header;
                    }
                }
            }
        }
        if self.state == State::Failed {
            return Err(RecordIoError::Failed);
        }
        Ok(records)
    }

    /// Whether the decoder sits between records (nothing partial is buffered), i.e.
    /// whether the stream may end here.
    pub fn is_at_boundary(&self) -> bool {
        self.state == State::Header && self.header.is_empty()
    }

    /// Signals the end of the stream: an error if it ended inside a header or record.
    pub fn finish(&self) -> Result<(), RecordIoError> {
        match self.state {
            State::Failed => Err(RecordIoError::Failed),
            State::Header if self.header.is_empty() => Ok(()),
            State::Header => Err(RecordIoError::Truncated(self.header.len())),
            State::Record(_) => Err(RecordIoError::Truncated(self.record.len())),
        }
    }

    fn parse_header(&mut self) -> Result<usize, RecordIoError> {
        if self.header.is_empty() || !self.header.iter().all(u8::is_ascii_digit) {
            let shown = lossy(&self.header);
            return Err(self.fail(RecordIoError::InvalidLength(shown)));
        }
        let mut length: u64 = 0;
        for &d in &self.header {
            match length
                .checked_mul(10)
                .and_then(|l| l.checked_add(u64::from(d - b'0')))
            {
                Some(l) => length = l,
                None => {
                    let shown = lossy(&self.header);
                    return Err(self.fail(RecordIoError::LengthOverflow(shown)));
                }
            }
        }
        match usize::try_from(length) {
            Ok(l) if l <= self.max_record_size => Ok(l),
            _ => {
                let max = self.max_record_size;
                Err(self.fail(RecordIoError::TooLarge { length, max }))
            }
        }
    }

    fn fail(&mut self, e: RecordIoError) -> RecordIoError {
        self.state = State::Failed;
        self.header = Vec::new();
        self.record = Vec::new();
        e
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_length_newline_bytes() {
        assert_eq!(encode(b"hello"), b"5\nhello");
        assert_eq!(encode(b""), b"0\n");
    }

    #[test]
    fn decodes_across_chunks() {
        let mut d = Decoder::default();
        assert!(d.decode(b"1").unwrap().is_empty());
        assert!(d.decode(b"1\nhello ").unwrap().is_empty());
        assert!(!d.is_at_boundary());
        let r = d.decode(b"world0\n3\nabc2").unwrap();
        assert_eq!(
            r,
            vec![Bytes::from("hello world"), Bytes::new(), Bytes::from("abc")]
        );
        assert!(d.finish().is_err());
        assert_eq!(d.decode(b"\nxy").unwrap(), vec![Bytes::from("xy")]);
        assert!(d.finish().is_ok());
    }

    #[test]
    fn malformed_headers_fail_and_stay_failed() {
        let mut d = Decoder::default();
        assert_eq!(
            d.decode(b"1x\n"),
            Err(RecordIoError::InvalidLength("1x".into()))
        );
        assert_eq!(d.decode(b"1\na"), Err(RecordIoError::Failed));

        let mut d = Decoder::default();
        assert!(matches!(
            d.decode(b"\n"),
            Err(RecordIoError::InvalidLength(_))
        ));
        let mut d = Decoder::default();
        assert!(matches!(
            d.decode(b"-1\n"),
            Err(RecordIoError::InvalidLength(_))
        ));
        let mut d = Decoder::default();
        assert!(matches!(
            d.decode(b"99999999999999999999\n"),
            Err(RecordIoError::LengthOverflow(_))
        ));
        let mut d = Decoder::default();
        assert!(matches!(
            d.decode(b"123456789012345678901"),
            Err(RecordIoError::LengthOverflow(_))
        ));
        let mut d = Decoder::new(10);
        assert_eq!(
            d.decode(b"11\n"),
            Err(RecordIoError::TooLarge {
                length: 11,
                max: 10
            })
        );
    }
}
