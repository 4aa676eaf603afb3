//! The `files` process master and agent share (upstream `src/files/files.{hpp,cpp}`):
//! real files and directories are *attached* at virtual paths, and HTTP clients
//! browse and read below those paths only.
//!
//! # Layout
//! - [`Files`]: the attach table (cheap to clone, shared by the agent or master
//!   actor that attaches and the `files` process that serves), path resolution
//!   and the blocking `browse` / `read` operations the v1 `LIST_FILES` /
//!   `READ_FILE` calls use too.
//! - [`resolve`]: virtual path → real path, confined to the attached root.
//! - [`model`]: `FileInfo` from `stat`, and its `/files/browse` JSON
//!   (upstream `createFileInfo` in `common/protobuf_utils.cpp`, `model(FileInfo)`
//!   in `common/http.cpp`).
//! - [`process`]: the `files` actor with `/files/browse`, `/files/read`,
//!   `/files/download` and `/files/debug`.
//!
//! Every filesystem call here blocks: actors run them through `Cx::blocking`.

pub mod model;
pub mod process;
pub mod resolve;

use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use mesos_proto::mesos::FileInfo;

pub use process::FilesProcess;

/// Largest chunk one read returns: 16 pages, as upstream caps `/files/read`.
pub fn max_read_length() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    let page = if page > 0 { page as u64 } else { 4096 };
    page * 16
}

/// Why a files operation failed; each kind maps to one HTTP status as
/// upstream's `FilesError::Type` does.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilesError {
    /// A bad argument, a path escaping its attached root, a directory where a
    /// file was expected: 400.
    #[error("{0}")]
    Invalid(String),
    /// Nothing is attached at (or below) the path, or it does not exist: 404.
    #[error("{0}")]
    NotFound(String),
    /// Any other failure (open, seek, read): 500.
    #[error("{0}")]
    Unknown(String),
}

impl FilesError {
    /// The HTTP status upstream answers this error with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            FilesError::Invalid(_) => http::StatusCode::BAD_REQUEST,
            FilesError::NotFound(_) => http::StatusCode::NOT_FOUND,
            FilesError::Unknown(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response body (upstream's error message, possibly empty).
    pub fn message(&self) -> &str {
        match self {
            FilesError::Invalid(m) | FilesError::NotFound(m) | FilesError::Unknown(m) => m,
        }
    }

    /// As an HTTP response.
    pub fn response(&self) -> libprocess::Response {
        if self.message().is_empty() {
            libprocess::Response::new(self.status())
        } else {
            libprocess::Response::text(self.status(), self.message())
        }
    }
}

/// The attach table: virtual path (no trailing `/`) → canonical real path.
#[derive(Clone, Default)]
pub struct Files {
    paths: Arc<RwLock<BTreeMap<String, PathBuf>>>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.snapshot()).finish()
    }
}

/// `path::from_uri`: a `file://` prefix is dropped.
pub(crate) fn from_uri(s: &str) -> &str {
    s.strip_prefix("file://").unwrap_or(s)
}

impl Files {
    pub fn new() -> Files {
        Files::default()
    }

    fn table(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, PathBuf>> {
        self.paths.read().unwrap_or_else(|e| e.into_inner())
    }

    fn table_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, PathBuf>> {
        self.paths.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Attaches `path` (a file or directory, canonicalized now) at
    /// `virtual_path`, replacing what was attached there (`FilesProcess::attach`).
    pub fn attach(&self, path: impl AsRef<Path>, virtual_path: &str) -> Result<(), FilesError> {
        let path = path.as_ref();
        let real = std::fs::canonicalize(path).map_err(|e| {
            FilesError::NotFound(format!(
                "Failed to get realpath of '{}': {e}",
                path.display()
            ))
        })?;
        // Upstream checks R_OK before accepting the path.
        if nix::unistd::access(&real, nix::unistd::AccessFlags::R_OK).is_err() {
            return Err(FilesError::Invalid(format!(
                "Failed to access '{}': Access denied",
                path.display()
            )));
        }
        let key = resolve::virtual_key(from_uri(virtual_path));
        self.table_mut().insert(key, real);
        Ok(())
    }

    /// Removes a virtual path (`FilesProcess::detach`).
    pub fn detach(&self, virtual_path: &str) {
        let key = resolve::virtual_key(from_uri(virtual_path));
        self.table_mut().remove(&key);
    }

    /// Removes a virtual path only while it still points at `real` (a later
    /// run of the same executor may have re-attached it meanwhile).
    pub fn detach_if(&self, virtual_path: &str, real: impl AsRef<Path>) {
        let key = resolve::virtual_key(from_uri(virtual_path));
        let real = std::fs::canonicalize(real.as_ref()).unwrap_or_else(|_| real.as_ref().into());
        let mut t = self.table_mut();
        if t.get(&key) == Some(&real) {
            t.remove(&key);
        }
    }

    /// The virtual → real mapping (`/files/debug`).
    pub fn snapshot(&self) -> BTreeMap<String, PathBuf> {
        self.table().clone()
    }

    /// Resolves a requested virtual path to a real one inside its root.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, FilesError> {
        self.resolved(path).map(|r| r.real)
    }

    fn resolved(&self, path: &str) -> Result<resolve::Resolved, FilesError> {
        let table = self.table().clone();
        resolve::resolve(&table, from_uri(path))
    }

    /// Opens a resolved regular file for reading, and checks that what was
    /// opened is still inside the root: a path component swapped for a
    /// symlink between resolving and opening is caught here.
    pub fn open(&self, path: &str) -> Result<(PathBuf, std::fs::File), FilesError> {
        let resolve::Resolved { real, root } = self.resolved(path)?;
        let f = std::fs::File::open(&real).map_err(|e| {
            let m = format!("Failed to open file at '{}': {e}", real.display());
            tracing::warn!("{m}");
            FilesError::Unknown(format!("{m}.\n"))
        })?;
        resolve::check_opened(&f, &real, &root)?;
        Ok((real, f))
    }

    /// Lists a directory like `ls -l` (`FilesProcess::browse`): one
    /// [`FileInfo`] per entry, sorted by name, with `path` under the
    /// requested virtual path. Browsing a file lists nothing.
    pub fn browse(&self, path: &str) -> Result<Vec<FileInfo>, FilesError> {
        let requested = from_uri(path);
        let resolve::Resolved { real, root } = self.resolved(requested)?;
        let Ok(dir) = std::fs::read_dir(&real) else {
            // Upstream lists nothing when `ls` fails (e.g. on a file).
            return Ok(Vec::new());
        };
        let mut entries: BTreeMap<Vec<u8>, FileInfo> = BTreeMap::new();
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(name_str) = name.to_str() else {
                continue;
            };
            let full = real.join(&name);
            let Some(meta) = model::entry_metadata(&full, &root) else {
                tracing::warn!("Found {} in ls but stat failed", full.display());
                continue;
            };
            let vpath = model::join(requested, name_str);
            entries.insert(
                std::os::unix::ffi::OsStrExt::as_bytes(name.as_os_str()).to_vec(),
                model::file_info(&vpath, &meta),
            );
        }
        Ok(entries.into_values().collect())
    }

    /// Reads up to `length` bytes (capped at [`max_read_length`]) at
    /// `offset`; returns the file's size and the data (`FilesProcess::_read`).
    /// `length == Some(0)` only asks for the size.
    pub fn read(
        &self,
        offset: u64,
        length: Option<u64>,
        path: &str,
    ) -> Result<(u64, Vec<u8>), FilesError> {
        let real = self.resolve(path)?;
        if real.is_dir() {
            return Err(FilesError::Invalid("Cannot read a directory.\n".into()));
        }
        let (real, mut f) = self.open(path)?;
        let size = f.seek(SeekFrom::End(0)).map_err(|e| {
            FilesError::Unknown(format!(
                "Failed to open file at '{}': {e}.\n",
                real.display()
            ))
        })?;
        if offset >= size {
            return Ok((size, Vec::new()));
        }
        let length = length.unwrap_or(size - offset);
        if length == 0 {
            return Ok((size, Vec::new()));
        }
        let length = length.min(max_read_length());
        f.seek(SeekFrom::Start(offset)).map_err(|e| {
            FilesError::Unknown(format!("Failed to seek file at '{}': {e}", real.display()))
        })?;
        let mut data = Vec::with_capacity(length as usize);
        f.take(length)
            .read_to_end(&mut data)
            .map_err(|e| FilesError::Unknown(format!("Failed to read file: {e}")))?;
        Ok((size, data))
    }
}

#[cfg(test)]
mod tests;
