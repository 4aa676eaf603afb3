//! Checkpoint files as upstream writes them (`src/slave/state.hpp` `checkpoint`,
//! `stout/protobuf.hpp` `write`/`read`): every protobuf file is a sequence of
//! records `[u32 length in host byte order][message bytes]`; plain strings
//! (pids, boot id) are raw bytes. Whole-file writes go to a temporary file in
//! the same directory, are synced, then renamed over the target, so a crash
//! leaves either the old or the new content.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use crate::Error;

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io(format!("{}: {e}", path.display()))
}

/// Frames one message as a record.
pub fn frame(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + bytes.len());
    out.extend_from_slice(&(bytes.len() as u32).to_ne_bytes());
    out.extend_from_slice(bytes);
    out
}

/// Splits `data` into records. A truncated tail (a crash during append) is
/// dropped when `ignore_partial`, else it is an error, as upstream's
/// `protobuf::read(path, ignorePartial)`.
pub fn unframe(data: &[u8], ignore_partial: bool) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 4 {
            if ignore_partial {
                break;
            }
            return Err(Error::Checkpoint("truncated record length".into()));
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&rest[..4]);
        let len = u32::from_ne_bytes(len) as usize;
        if rest.len() - 4 < len {
            if ignore_partial {
                break;
            }
            return Err(Error::Checkpoint(format!(
                "truncated record: expected {len} bytes, found {}",
                rest.len() - 4
            )));
        }
        out.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    Ok(out)
}

/// Writes `bytes` to `path` atomically (temp file + fsync + rename),
/// creating parent directories.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Checkpoint(format!("no parent: {}", path.display())))?;
    fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io(path, e));
    }
    Ok(())
}

/// Checkpoints one protobuf message (a single framed record).
pub fn checkpoint_message<M: prost::Message>(path: &Path, msg: &M) -> Result<(), Error> {
    write_atomic(path, &frame(&msg.encode_to_vec()))
}

/// Checkpoints a plain string (pids), unframed.
pub fn checkpoint_string(path: &Path, s: &str) -> Result<(), Error> {
    write_atomic(path, s.as_bytes())
}

/// Appends one framed record and syncs (`task.updates`).
pub fn append_message<M: prost::Message>(path: &Path, msg: &M) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io(path, e))?;
    f.write_all(&frame(&msg.encode_to_vec()))
        .and_then(|_| f.sync_data())
        .map_err(|e| io(path, e))
}

fn read_all(path: &Path) -> Result<Vec<u8>, Error> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|e| io(path, e))?;
    Ok(data)
}

/// Reads every record of a file of framed messages.
pub fn read_messages<M: prost::Message + Default>(
    path: &Path,
    ignore_partial: bool,
) -> Result<Vec<M>, Error> {
    let data = read_all(path)?;
    unframe(&data, ignore_partial)?
        .into_iter()
        .map(|r| M::decode(r).map_err(|e| Error::Checkpoint(format!("{}: {e}", path.display()))))
        .collect()
}

/// Reads a single-message checkpoint; `Ok(None)` if the file is absent or
/// empty (upstream treats both as "not checkpointed yet").
pub fn read_message<M: prost::Message + Default>(path: &Path) -> Result<Option<M>, Error> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(read_messages::<M>(path, false)?.into_iter().next())
}

/// Reads a plain-string checkpoint, `None` if absent.
pub fn read_string(path: &Path) -> Result<Option<String>, Error> {
    if !path.exists() {
        return Ok(None);
    }
    let data = read_all(path)?;
    Ok(Some(String::from_utf8_lossy(&data).trim().to_string()))
}

/// Points the `latest` symlink `link` at `target` (replacing an old link).
pub fn symlink_latest(target: &Path, link: &Path) -> Result<(), Error> {
    if let Some(dir) = link.parent() {
        fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    }
    if fs::symlink_metadata(link).is_ok() {
        fs::remove_file(link).map_err(|e| io(link, e))?;
    }
    std::os::unix::fs::symlink(target, link).map_err(|e| io(link, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mesos_proto::mesos::{SlaveId, TaskId};

    #[test]
    fn framing_is_host_order_u32_then_bytes() {
        let f = frame(b"abc");
        assert_eq!(&f[..4], &3u32.to_ne_bytes());
        assert_eq!(&f[4..], b"abc");
        let two = [frame(b"x"), frame(b"yz")].concat();
        assert_eq!(unframe(&two, false).unwrap(), vec![&b"x"[..], &b"yz"[..]]);
    }

    #[test]
    fn partial_tail_is_dropped_only_when_allowed() {
        let mut data = frame(b"hello");
        data.extend_from_slice(&frame(b"world")[..6]);
        assert_eq!(unframe(&data, true).unwrap(), vec![&b"hello"[..]]);
        assert!(unframe(&data, false).is_err());
        assert!(unframe(&[1, 0], false).is_err());
        assert!(unframe(&[1, 0], true).unwrap().is_empty());
    }

    #[test]
    fn message_roundtrip_and_append() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/slave.info");
        let id = SlaveId { value: "S1".into() };
        checkpoint_message(&p, &id).unwrap();
        assert_eq!(read_message::<SlaveId>(&p).unwrap(), Some(id.clone()));
        // Overwrite is atomic and leaves no temp files behind.
        checkpoint_message(&p, &SlaveId { value: "S2".into() }).unwrap();
        assert_eq!(read_message::<SlaveId>(&p).unwrap().unwrap().value, "S2");
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);

        let u = dir.path().join("t/task.updates");
        for v in ["t1", "t2", "t3"] {
            append_message(&u, &TaskId { value: v.into() }).unwrap();
        }
        let all: Vec<TaskId> = read_messages(&u, true).unwrap();
        assert_eq!(
            all.iter().map(|t| t.value.as_str()).collect::<Vec<_>>(),
            vec!["t1", "t2", "t3"]
        );
        assert_eq!(
            read_message::<SlaveId>(&dir.path().join("nope")).unwrap(),
            None
        );
    }

    #[test]
    fn strings_and_latest_links() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pids/libprocess.pid");
        checkpoint_string(&p, "executor(1)@127.0.0.1:1234").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"executor(1)@127.0.0.1:1234");
        assert_eq!(
            read_string(&p).unwrap().as_deref(),
            Some("executor(1)@127.0.0.1:1234")
        );
        let link = dir.path().join("slaves/latest");
        symlink_latest(&dir.path().join("slaves/S1"), &link).unwrap();
        symlink_latest(&dir.path().join("slaves/S2"), &link).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), dir.path().join("slaves/S2"));
    }
}
