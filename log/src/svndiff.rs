//! Applying svndiff version 0 deltas, the format of `Operation::DIFF` values.
//!
//! Upstream builds diffs with `svn::diff` (`3rdparty/stout/include/stout/svn.hpp`),
//! which asks Subversion for svndiff **version 0** (uncompressed). The master never
//! writes diffs (it runs `LogStorage` with 0 diffs between snapshots), but another
//! program sharing the log could; replay must not choke on them.
//!
//! Format: `"SVN\0"`, then windows of five varints (source view offset, source view
//! length, target view length, instructions length, new-data length), the instruction
//! bytes and the new data. An instruction byte holds the opcode in its top two bits
//! (0 = copy from the source view, 1 = copy from the target produced so far,
//! 2 = copy from new data) and the length in the low six (0 = a varint follows);
//! source and target copies then carry an offset varint. Varints are big-endian base
//! 128 with the high bit as continuation.

/// Why a diff could not be applied.
pub type DiffError = String;

fn varint(data: &[u8], at: &mut usize) -> Result<u64, DiffError> {
    let mut value: u64 = 0;
    for _ in 0..10 {
        let byte = *data.get(*at).ok_or("truncated varint")?;
        *at += 1;
        value = (value << 7) | u64::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("varint too long".into())
}

fn usize_of(value: u64) -> Result<usize, DiffError> {
    usize::try_from(value).map_err(|_| "length out of range".to_string())
}

fn slice(data: &[u8], at: usize, len: usize) -> Result<&[u8], DiffError> {
    data.get(at..at.checked_add(len).ok_or("overflow")?)
        .ok_or_else(|| "section past the end".to_string())
}

/// Applies `diff` to `source`, returning the target.
pub fn apply(source: &[u8], diff: &[u8]) -> Result<Vec<u8>, DiffError> {
    match diff.get(..4) {
        Some(b"SVN\0") => {}
        Some([b'S', b'V', b'N', v]) => return Err(format!("unsupported svndiff version {v}")),
        _ => return Err("not an svndiff".into()),
    }
    let mut at = 4;
    let mut target = Vec::new();
    while at < diff.len() {
        let sview_offset = usize_of(varint(diff, &mut at)?)?;
        let sview_len = usize_of(varint(diff, &mut at)?)?;
        let tview_len = usize_of(varint(diff, &mut at)?)?;
        let ins_len = usize_of(varint(diff, &mut at)?)?;
        let new_len = usize_of(varint(diff, &mut at)?)?;
        let sview = slice(source, sview_offset, sview_len)?;
        let instructions = slice(diff, at, ins_len)?;
        at += ins_len;
        let new_data = slice(diff, at, new_len)?;
        at += new_len;

        let mut window: Vec<u8> = Vec::with_capacity(tview_len);
        let (mut ip, mut np) = (0, 0);
        while ip < instructions.len() {
            let op = instructions[ip];
            ip += 1;
            let mut len = usize::from(op & 0x3f);
            if len == 0 {
                len = usize_of(varint(instructions, &mut ip)?)?;
            }
            match op >> 6 {
                0 => {
                    let offset = usize_of(varint(instructions, &mut ip)?)?;
                    window.extend_from_slice(slice(sview, offset, len)?);
                }
                1 => {
                    // May overlap what it produces (run-length style), so byte by byte.
                    let offset = usize_of(varint(instructions, &mut ip)?)?;
                    if offset >= window.len() && len > 0 {
                        return Err("target copy from the future".into());
                    }
                    for i in 0..len {
                        let byte = window[offset + i];
                        window.push(byte);
                    }
                }
                2 => {
                    window.extend_from_slice(slice(new_data, np, len)?);
                    np += len;
                }
                _ => return Err("invalid instruction".into()),
            }
        }
        if window.len() != tview_len {
            return Err(format!(
                "window produced {} bytes, expected {tview_len}",
                window.len()
            ));
        }
        target.extend_from_slice(&window);
    }
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_source_target_and_new_data_copies() {
        let source = b"hello world";
        // One window: source view = whole source; target "hello hello!!!!".
        let instructions = [
            0x06, 0x00, // copy 6 from source at 0: "hello "
            0x45, 0x00, // copy 5 from target at 0: "hello"
            0x81, // copy 1 new byte: "!"
            0x43, 0x0b, // copy 3 from target at 11 (overlapping): "!!!"
        ];
        let mut diff = b"SVN\0".to_vec();
        diff.extend_from_slice(&[0, 11, 15, instructions.len() as u8, 1]);
        diff.extend_from_slice(&instructions);
        diff.push(b'!');
        assert_eq!(apply(source, &diff).unwrap(), b"hello hello!!!!");
    }

    #[test]
    fn rejects_garbage() {
        assert!(apply(b"x", b"nope").is_err());
        assert!(apply(b"x", b"SVN\x01").is_err());
        assert!(apply(b"x", b"SVN\0\x00\x05\x01\x00\x00").is_err());
        // An empty diff is an empty target.
        assert_eq!(apply(b"abc", b"SVN\0").unwrap(), b"");
    }
}
