//! Virtual path → real path (upstream `FilesProcess::resolve`).
//!
//! The longest attached prefix of the requested path wins; the rest is
//! appended to the attached directory, canonicalized (following symlinks and
//! `..`), and must stay inside that directory. Upstream compares the two as
//! strings, so `/a/b` attached lets `/a/bc` through; we compare path
//! components (see third_party_docs/files.md).

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::FilesError;

/// A resolved path and the attached root it lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub real: PathBuf,
    pub root: PathBuf,
}

/// The key a virtual path is stored under: one trailing `/` removed, as
/// upstream's `attach` does.
pub fn virtual_key(v: &str) -> String {
    v.strip_suffix('/').unwrap_or(v).to_string()
}

/// stout's `path::join(a, b)`: one `/` between, one trailing `/` of `a` and
/// one leading `/` of `b` dropped.
fn join(a: &str, b: &str) -> String {
    format!(
        "{}/{}",
        a.strip_suffix('/').unwrap_or(a),
        b.strip_prefix('/').unwrap_or(b)
    )
}

/// stout's `path::join(vector)`.
fn join_all(tokens: &[&str]) -> String {
    let mut it = tokens.iter();
    let mut out = it.next().map(|s| s.to_string()).unwrap_or_default();
    for t in it {
        out = join(&out, t);
    }
    out
}

fn missing(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

/// Resolves `path` against the attach table.
pub fn resolve(paths: &BTreeMap<String, PathBuf>, path: &str) -> Result<Resolved, FilesError> {
    if path.contains('\0') {
        return Err(FilesError::Invalid(
            "Path contains a NUL byte.\n".to_string(),
        ));
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let mut tokens: Vec<&str> = trimmed.split('/').collect();
    let mut suffix = String::new();
    while let Some(last) = tokens.last().copied() {
        let prefix = join_all(&tokens);
        let Some(root) = paths.get(&prefix) else {
            suffix = if suffix.is_empty() {
                last.to_string()
            } else {
                join(last, &suffix)
            };
            tokens.pop();
            continue;
        };
        if root.is_dir() {
            let candidate = PathBuf::from(join(&root.to_string_lossy(), &suffix));
            let real = match std::fs::canonicalize(&candidate) {
                Ok(r) => r,
                Err(e) if missing(&e) => return Err(FilesError::NotFound(String::new())),
                Err(e) => {
                    return Err(FilesError::Invalid(format!(
                        "Failed to determine canonical path of '{}': {e}.\n",
                        candidate.display()
                    )))
                }
            };
            // Component-wise containment (upstream: a string prefix test).
            if !real.starts_with(root) {
                return Err(FilesError::Invalid(format!(
                    "'{}' is inaccessible.\n",
                    candidate.display()
                )));
            }
            return Ok(Resolved {
                real,
                root: root.clone(),
            });
        }
        // An attached file: a suffix assumes a directory, which is 'not found'
        // upstream rather than 'bad request'.
        if !suffix.is_empty() {
            return Err(FilesError::NotFound(String::new()));
        }
        // The file was canonical when attached; if it has since been replaced
        // by a symlink, do not follow it elsewhere.
        match std::fs::canonicalize(root) {
            Ok(r) if &r == root => {}
            Ok(_) => {
                return Err(FilesError::Invalid(format!(
                    "'{}' is inaccessible.\n",
                    root.display()
                )))
            }
            Err(e) if missing(&e) => return Err(FilesError::NotFound(String::new())),
            Err(e) => {
                return Err(FilesError::Invalid(format!(
                    "Failed to determine canonical path of '{}': {e}.\n",
                    root.display()
                )))
            }
        }
        return Ok(Resolved {
            real: root.clone(),
            root: root.clone(),
        });
    }
    Err(FilesError::NotFound(String::new()))
}

/// After opening `real`, checks through `/proc/self/fd` that the opened file
/// is the one resolved (inside `root`), closing the window between resolving
/// and opening in which a path component could become a symlink.
pub fn check_opened(f: &std::fs::File, real: &Path, root: &Path) -> Result<(), FilesError> {
    use std::os::fd::AsRawFd;
    let link = format!("/proc/self/fd/{}", f.as_raw_fd());
    match std::fs::read_link(link) {
        Ok(opened) if opened.starts_with(root) => Ok(()),
        Ok(_) => Err(FilesError::Invalid(format!(
            "'{}' is inaccessible.\n",
            real.display()
        ))),
        // No /proc: the resolve-time check stands alone, as upstream.
        Err(_) => Ok(()),
    }
}
