//! A small, fast, deterministic hasher for the allocator's in-memory maps
//! keyed by ids and role names (the rustc "Fx" multiply-rotate scheme).
//! SipHash's flooding resistance buys nothing here: keys come from the
//! master, not from an adversary choosing hash collisions, and these lookups
//! sit on the allocation cycle's per-offer path. Nothing iterates these maps
//! to make a decision, so the hash order never shows.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Word-at-a-time multiply-rotate hasher.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher {
    hash: u64,
}

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8-byte chunk")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(buf));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinguishes_keys_and_finds_them() {
        let mut m: FastMap<String, usize> = FastMap::default();
        for i in 0..10_000 {
            m.insert(format!("framework-{i:05}"), i);
        }
        assert_eq!(m.len(), 10_000);
        assert_eq!(m["framework-04242"], 4242);
        assert!(!m.contains_key("framework-10000"));
        // Prefix-free: "ab" + "c" and "a" + "bc" must not be forced equal.
        let mut h1 = FastHasher::default();
        h1.write(b"ab");
        h1.write(b"c");
        let mut h2 = FastHasher::default();
        h2.write(b"a");
        h2.write(b"bc");
        assert_ne!(h1.finish(), h2.finish());
    }
}
