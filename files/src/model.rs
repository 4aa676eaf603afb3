//! `FileInfo` from file metadata and its `/files/browse` JSON.

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use mesos_proto::mesos::{FileInfo, TimeInfo};
use serde_json::{json, Map, Value};

/// stout's `path::join(a, b)` for the listed entry's virtual path.
pub fn join(a: &str, b: &str) -> String {
    format!(
        "{}/{}",
        a.strip_suffix('/').unwrap_or(a),
        b.strip_prefix('/').unwrap_or(b)
    )
}

/// The metadata to list for a directory entry. Upstream `stat`s (follows
/// symlinks) and skips entries whose `stat` fails. We follow a symlink only
/// when its target stays inside `root`; one that escapes is listed as the
/// link itself, so nothing about files outside the root is shown.
pub fn entry_metadata(full: &Path, root: &Path) -> Option<Metadata> {
    let l = std::fs::symlink_metadata(full).ok()?;
    if !l.file_type().is_symlink() {
        return Some(l);
    }
    let target = std::fs::canonicalize(full).ok()?;
    if target.starts_with(root) {
        std::fs::metadata(full).ok()
    } else {
        Some(l)
    }
}

fn user_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

fn group_name(gid: u32) -> String {
    match nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid)) {
        Ok(Some(g)) => g.name,
        _ => gid.to_string(),
    }
}

/// `protobuf::createFileInfo`: whole-second mtime, owner and group by name
/// (the number when unknown).
pub fn file_info(path: &str, m: &Metadata) -> FileInfo {
    FileInfo {
        path: path.to_string(),
        nlink: Some(m.nlink() as i32),
        size: Some(m.size()),
        mtime: Some(TimeInfo {
            nanoseconds: m.mtime().saturating_mul(1_000_000_000),
        }),
        mode: Some(m.mode()),
        uid: Some(user_name(m.uid())),
        gid: Some(group_name(m.gid())),
    }
}

/// `ls -l`'s mode column: file type then rwx for owner, group, others.
pub fn mode_string(mode: u32) -> String {
    let kind = match mode & libc::S_IFMT {
        libc::S_IFREG => '-',
        libc::S_IFDIR => 'd',
        libc::S_IFCHR => 'c',
        libc::S_IFBLK => 'b',
        libc::S_IFIFO => 'p',
        libc::S_IFLNK => 'l',
        libc::S_IFSOCK => 's',
        _ => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(kind);
    for shift in [6u32, 3, 0] {
        let bits = (mode >> shift) & 7;
        s.push(if bits & 4 != 0 { 'r' } else { '-' });
        s.push(if bits & 2 != 0 { 'w' } else { '-' });
        s.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    s
}

/// `model(FileInfo)` (common/http.cpp): keys in the sorted order upstream's
/// `JSON::Object` prints them.
pub fn file_info_json(f: &FileInfo) -> Value {
    let mut m = Map::new();
    m.insert("gid".into(), json!(f.gid.clone().unwrap_or_default()));
    m.insert("mode".into(), json!(mode_string(f.mode.unwrap_or(0))));
    let ns = f.mtime.as_ref().map(|t| t.nanoseconds).unwrap_or(0);
    m.insert("mtime".into(), json!(ns as f64 / 1e9));
    m.insert("nlink".into(), json!(f.nlink.unwrap_or(0)));
    m.insert("path".into(), json!(f.path));
    m.insert("size".into(), json!(f.size.unwrap_or(0)));
    m.insert("uid".into(), json!(f.uid.clone().unwrap_or_default()));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_strings_like_ls() {
        assert_eq!(mode_string(libc::S_IFREG | 0o644), "-rw-r--r--");
        assert_eq!(mode_string(libc::S_IFDIR | 0o755), "drwxr-xr-x");
        assert_eq!(mode_string(libc::S_IFLNK | 0o777), "lrwxrwxrwx");
        assert_eq!(mode_string(libc::S_IFIFO | 0o600), "prw-------");
    }

    #[test]
    fn join_drops_duplicate_separators() {
        assert_eq!(join("/a/", "b"), "/a/b");
        assert_eq!(join("/a", "/b"), "/a/b");
    }
}
