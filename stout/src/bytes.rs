//! `Bytes`: an unsigned byte count, parsed and printed as stout does
//! (`3rdparty/stout/include/stout/bytes.hpp`).
//!
//! Parsing takes a whole number followed by a unit `B KB MB GB TB` (any case,
//! powers of 1024). Printing uses the largest unit that divides the count
//! exactly: 1073741824 prints "1GB", 1536 prints "1536B", 0 prints "0B".

use std::fmt;
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::str::FromStr;

use crate::error::{Error, Result};

/// A number of bytes, as stout's `Bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Bytes(u64);

impl Bytes {
    /// One byte.
    pub const BYTES: u64 = 1;
    /// 1024 bytes.
    pub const KILOBYTES: u64 = 1024 * Self::BYTES;
    /// 1024 KB.
    pub const MEGABYTES: u64 = 1024 * Self::KILOBYTES;
    /// 1024 MB.
    pub const GIGABYTES: u64 = 1024 * Self::MEGABYTES;
    /// 1024 GB.
    pub const TERABYTES: u64 = 1024 * Self::GIGABYTES;

    /// `Bytes(n)`.
    pub const fn new(bytes: u64) -> Bytes {
        Bytes(bytes)
    }
    /// `Kilobytes(n)` (wrapping on overflow, like the C++ unsigned multiply).
    pub const fn kilobytes(n: u64) -> Bytes {
        Bytes(n.wrapping_mul(Self::KILOBYTES))
    }
    /// `Megabytes(n)`.
    pub const fn megabytes(n: u64) -> Bytes {
        Bytes(n.wrapping_mul(Self::MEGABYTES))
    }
    /// `Gigabytes(n)`.
    pub const fn gigabytes(n: u64) -> Bytes {
        Bytes(n.wrapping_mul(Self::GIGABYTES))
    }
    /// `Terabytes(n)`.
    pub const fn terabytes(n: u64) -> Bytes {
        Bytes(n.wrapping_mul(Self::TERABYTES))
    }

    /// The count in bytes.
    pub const fn bytes(&self) -> u64 {
        self.0
    }

    /// The count in megabytes as a double (how Mesos turns `mem` into a scalar).
    pub fn megabytes_f64(&self) -> f64 {
        self.0 as f64 / Self::MEGABYTES as f64
    }

    /// Parses stout's byte syntax ("1GB", "512MB", "64kb", "10B").
    pub fn parse(s: &str) -> Result<Bytes> {
        for (index, c) in s.char_indices() {
            if c.is_ascii_digit() {
                continue;
            }
            if c == '.' {
                return Err(Error::FractionalBytes(s.to_string()));
            }
            let number = &s[..index];
            let value: u64 = number
                .parse()
                .map_err(|_| Error::NotANumber(number.to_string()))?;
            let unit = s[index..].to_uppercase();
            let factor = match unit.as_str() {
                "B" => Self::BYTES,
                "KB" => Self::KILOBYTES,
                "MB" => Self::MEGABYTES,
                "GB" => Self::GIGABYTES,
                "TB" => Self::TERABYTES,
                _ => return Err(Error::UnknownBytesUnit(unit)),
            };
            // Upstream multiplies unsigned 64-bit values, which wraps.
            return Ok(Bytes(value.wrapping_mul(factor)));
        }
        Err(Error::InvalidBytes(s.to_string()))
    }
}

impl fmt::Display for Bytes {
    /// Mirrors stout's `operator<<(ostream&, const Bytes&)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b == 0 {
            write!(f, "0B")
        } else if b % Self::KILOBYTES != 0 {
            write!(f, "{}B", b)
        } else if b % Self::MEGABYTES != 0 {
            write!(f, "{}KB", b / Self::KILOBYTES)
        } else if b % Self::GIGABYTES != 0 {
            write!(f, "{}MB", b / Self::MEGABYTES)
        } else if b % Self::TERABYTES != 0 {
            write!(f, "{}GB", b / Self::GIGABYTES)
        } else {
            write!(f, "{}TB", b / Self::TERABYTES)
        }
    }
}

impl FromStr for Bytes {
    type Err = Error;
    fn from_str(s: &str) -> Result<Bytes> {
        Bytes::parse(s)
    }
}

impl From<u64> for Bytes {
    fn from(b: u64) -> Bytes {
        Bytes(b)
    }
}

impl Add for Bytes {
    type Output = Bytes;
    fn add(self, rhs: Bytes) -> Bytes {
        Bytes(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Bytes {
    fn add_assign(&mut self, rhs: Bytes) {
        *self = *self + rhs;
    }
}

impl Sub for Bytes {
    type Output = Bytes;
    /// Saturates at zero (upstream would wrap; nothing relies on that).
    fn sub(self, rhs: Bytes) -> Bytes {
        Bytes(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for Bytes {
    fn sub_assign(&mut self, rhs: Bytes) {
        *self = *self - rhs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_in_any_case() {
        assert_eq!(Bytes::parse("1GB"), Ok(Bytes::gigabytes(1)));
        assert_eq!(Bytes::parse("512MB"), Ok(Bytes::megabytes(512)));
        assert_eq!(Bytes::parse("64KB"), Ok(Bytes::kilobytes(64)));
        assert_eq!(Bytes::parse("10B"), Ok(Bytes::new(10)));
        assert_eq!(Bytes::parse("2TB"), Ok(Bytes::terabytes(2)));
        assert_eq!(Bytes::parse("64kb"), Ok(Bytes::kilobytes(64)));
        assert_eq!(Bytes::parse("3mB"), Ok(Bytes::megabytes(3)));
    }

    #[test]
    fn rejects_what_stout_rejects() {
        assert_eq!(
            Bytes::parse("1.5GB"),
            Err(Error::FractionalBytes("1.5GB".into()))
        );
        assert_eq!(Bytes::parse("10"), Err(Error::InvalidBytes("10".into())));
        assert_eq!(Bytes::parse(""), Err(Error::InvalidBytes("".into())));
        assert_eq!(Bytes::parse("GB"), Err(Error::NotANumber("".into())));
        assert_eq!(
            Bytes::parse("10PB"),
            Err(Error::UnknownBytesUnit("PB".into()))
        );
        assert_eq!(
            Bytes::parse("10 MB"),
            Err(Error::UnknownBytesUnit(" MB".into()))
        );
        assert_eq!(
            Bytes::parse("10pb").unwrap_err().to_string(),
            "Unknown bytes unit 'PB'"
        );
        assert_eq!(
            Bytes::parse("99999999999999999999B"),
            Err(Error::NotANumber("99999999999999999999".into()))
        );
    }

    #[test]
    fn prints_largest_lossless_unit() {
        let cases = [
            (Bytes::new(0), "0B"),
            (Bytes::new(10), "10B"),
            (Bytes::new(1536), "1536B"),
            (Bytes::kilobytes(64), "64KB"),
            (Bytes::kilobytes(1536), "1536KB"),
            (Bytes::megabytes(512), "512MB"),
            (Bytes::megabytes(1024), "1GB"),
            (Bytes::gigabytes(2), "2GB"),
            (Bytes::gigabytes(1024), "1TB"),
            (Bytes::terabytes(3), "3TB"),
        ];
        for (b, want) in cases {
            assert_eq!(b.to_string(), want);
        }
    }

    proptest::proptest! {
        #[test]
        fn printed_form_round_trips(n in 0u64..(1u64 << 40)) {
            let b = Bytes::new(n);
            proptest::prop_assert_eq!(Bytes::parse(&b.to_string()), Ok(b));
        }
    }
}
