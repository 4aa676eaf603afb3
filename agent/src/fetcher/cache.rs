//! The fetcher cache's bookkeeping (upstream `FetcherProcess::Cache` in
//! `src/slave/containerizer/fetcher_process.hpp` / `fetcher.cpp`): which
//! user/URI pairs have a cache file, how much of `--fetcher_cache_size` is
//! claimed, and which entries to evict (least recently used first, never one
//! a fetch is using).
//!
//! Plain data: the agent's [`super::Fetcher`] keeps it behind a mutex so
//! every operation is atomic, as upstream runs them all on the
//! `FetcherProcess` actor. Entries are named by an [`EntryId`] rather than
//! shared pointers; an id whose entry was removed simply finds nothing.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};

use mesos_proto::mesos::command_info::Uri;

/// Cache file names start with this (upstream `CACHE_FILE_NAME_PREFIX`),
/// so they can be found in the cache directory.
pub const CACHE_FILE_NAME_PREFIX: &str = "c";

/// Names one cache entry for as long as it is in the cache.
pub type EntryId = u64;

/// Where an entry's download stands (upstream: the entry's promise).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Completion {
    /// Being downloaded into the cache by the fetch that created it.
    Pending,
    /// The cache file is there.
    Ready,
    /// The download failed (the entry is removed right after).
    Failed,
}

/// One cache file and what is known about it (upstream `Cache::Entry`).
#[derive(Clone, Debug)]
pub struct Entry {
    /// `user@uri`, or the URI when there is no user (upstream `cacheKey`).
    pub key: String,
    /// The (per-user) cache directory the file lives in.
    pub directory: PathBuf,
    /// The unique file name in `directory`.
    pub filename: String,
    /// Bytes claimed for this entry: the expected size until the download
    /// is done, then the real size. 0 until space was reserved.
    pub size: u64,
    /// Fetches using (downloading, waiting for, copying) this entry.
    pub references: u32,
    pub completion: Completion,
}

impl Entry {
    pub fn path(&self) -> PathBuf {
        self.directory.join(&self.filename)
    }
}

/// The cache table, its LRU order and its space accounting.
#[derive(Debug)]
pub struct Cache {
    /// `--fetcher_cache_size`.
    space: u64,
    /// Bytes claimed by entries (may exceed `space` if sizes were guessed
    /// low, as upstream tolerates).
    tally: u64,
    /// Counter for unique cache file names and entry ids.
    serial: u64,
    entries: BTreeMap<EntryId, Entry>,
    /// key -> entry.
    table: BTreeMap<String, EntryId>,
    /// Least recently used first.
    lru: VecDeque<EntryId>,
}

/// Upstream `cacheKey`.
pub fn cache_key(user: Option<&str>, uri: &str) -> String {
    match user {
        Some(u) => format!("{u}@{uri}"),
        None => uri.to_string(),
    }
}

impl Cache {
    pub fn new(space: u64) -> Cache {
        Cache {
            space,
            tally: 0,
            serial: 0,
            entries: BTreeMap::new(),
            table: BTreeMap::new(),
            lru: VecDeque::new(),
        }
    }

    /// `totalSpace`: the configured size.
    pub fn total_space(&self) -> u64 {
        self.space
    }

    /// `usedSpace`: bytes claimed by entries.
    pub fn used_space(&self) -> u64 {
        self.tally
    }

    /// `availableSpace`: what is left (0 when over-committed).
    pub fn available_space(&self) -> u64 {
        if self.tally > self.space {
            tracing::warn!(
                "Fetcher cache space overflow - space used: {}, exceeds total fetcher cache space: {}",
                self.tally,
                self.space
            );
        }
        self.space.saturating_sub(self.tally)
    }

    /// `size`: number of entries.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    pub fn entry(&self, id: EntryId) -> Option<&Entry> {
        self.entries.get(&id)
    }

    /// The entries, least recently used first.
    pub fn lru_entries(&self) -> impl Iterator<Item = &Entry> {
        self.lru.iter().filter_map(|id| self.entries.get(id))
    }

    /// `nextFilename`: `c<serial>-<basename>`, the base name shortened to
    /// its first and last 10 characters (keeping the extension, which
    /// extraction looks at).
    pub fn next_filename(&mut self, uri: &str) -> String {
        self.serial += 1;
        let base = super::basename(uri.trim_start()).unwrap_or_default();
        let chars: Vec<char> = base.chars().collect();
        let short = if chars.len() > 20 {
            let head: String = chars[..10].iter().collect();
            let tail: String = chars[chars.len() - 10..].iter().collect();
            format!("{head}_{tail}")
        } else {
            base
        };
        format!("{CACHE_FILE_NAME_PREFIX}{}-{short}", self.serial)
    }

    /// `create`: a new pending entry for `user`/`uri` under `directory`,
    /// most recently used, not yet referenced and with no space claimed.
    pub fn create(&mut self, directory: &Path, user: Option<&str>, uri: &Uri) -> EntryId {
        let key = cache_key(user, &uri.value);
        let filename = self.next_filename(&uri.value);
        let id = self.serial;
        tracing::debug!("Created cache entry '{key}' with file: {filename}");
        self.entries.insert(
            id,
            Entry {
                key: key.clone(),
                directory: directory.to_path_buf(),
                filename,
                size: 0,
                references: 0,
                completion: Completion::Pending,
            },
        );
        if let Some(old) = self.table.insert(key, id) {
            // Callers look up before creating; keep the table consistent
            // anyway.
            self.entries.remove(&old);
            self.lru.retain(|x| *x != old);
        }
        self.lru.push_back(id);
        id
    }

    /// `get`: the entry for `user`/`uri`, refreshed to most recently used.
    /// A completed entry whose file has disappeared is removed and not
    /// returned (upstream `validate`), so the URI is downloaded again.
    pub fn get(&mut self, user: Option<&str>, uri: &str) -> Option<EntryId> {
        let id = *self.table.get(&cache_key(user, uri))?;
        let e = &self.entries[&id];
        if e.completion == Completion::Ready && !e.path().exists() {
            tracing::warn!(
                "Validation failed: 'Cache file does not exist: {}'. Removing cache entry...",
                e.filename
            );
            if let Err(err) = self.remove(id) {
                tracing::warn!("{err}");
            }
            return None;
        }
        self.lru.retain(|x| *x != id);
        self.lru.push_back(id);
        Some(id)
    }

    /// `contains(user, uri)`.
    pub fn contains(&self, user: Option<&str>, uri: &str) -> bool {
        self.table.contains_key(&cache_key(user, uri))
    }

    pub fn reference(&mut self, id: EntryId) {
        if let Some(e) = self.entries.get_mut(&id) {
            e.references += 1;
        }
    }

    /// Drops one reference; an entry already removed is ignored.
    pub fn unreference(&mut self, id: EntryId) {
        if let Some(e) = self.entries.get_mut(&id) {
            debug_assert!(e.references > 0, "unbalanced unreference of {}", e.key);
            e.references = e.references.saturating_sub(1);
        }
    }

    /// `Entry::complete`: the download into the cache succeeded.
    pub fn complete(&mut self, id: EntryId) {
        if let Some(e) = self.entries.get_mut(&id) {
            e.completion = Completion::Ready;
        }
    }

    /// `Entry::fail`: the download into the cache failed.
    pub fn fail(&mut self, id: EntryId) {
        if let Some(e) = self.entries.get_mut(&id) {
            e.completion = Completion::Failed;
        }
    }

    /// `remove`: drops the entry, deletes its (possibly partial) file and
    /// releases its claimed space. An error means the file could not be
    /// deleted: the entry is gone all the same, its space stays claimed.
    pub fn remove(&mut self, id: EntryId) -> Result<(), String> {
        let Some(e) = self.entries.remove(&id) else {
            return Ok(());
        };
        tracing::debug!(
            "Removing cache entry '{}' with filename: {}",
            e.key,
            e.filename
        );
        if self.table.get(&e.key) == Some(&id) {
            self.table.remove(&e.key);
        }
        self.lru.retain(|x| *x != id);
        let path = e.path();
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            // As upstream: the file stays, so does the space it takes.
            Err(err) => {
                return Err(format!(
                    "Could not delete fetcher cache file '{}' with error: {err} for entry '{}', leaking cache space: {}B",
                    path.display(),
                    e.key,
                    e.size
                ))
            }
        }
        self.release_space(e.size);
        Ok(())
    }

    /// `selectVictims`: unreferenced entries, least recently used first,
    /// until together they free `required` bytes.
    pub fn select_victims(&self, required: u64) -> Result<Vec<EntryId>, String> {
        let mut victims = Vec::new();
        let mut freed = 0u64;
        for id in &self.lru {
            let e = &self.entries[id];
            if e.references == 0 {
                victims.push(*id);
                freed += e.size;
                if freed >= required {
                    return Ok(victims);
                }
            }
        }
        Err("Could not find enough cache files to evict".into())
    }

    /// `reserve`: makes `requested` bytes available, evicting as needed.
    /// Fails (evicting nothing) when even evicting every unused entry would
    /// not make room, e.g. for a file larger than the whole cache.
    pub fn reserve(&mut self, requested: u64) -> Result<(), String> {
        let available = self.available_space();
        if available >= requested {
            return Ok(());
        }
        let missing = requested - available;
        tracing::debug!("Freeing up fetcher cache space for: {missing}B");
        let victims = self
            .select_victims(missing)
            .map_err(|_| "Could not free up enough fetcher cache space".to_string())?;
        for id in victims {
            self.remove(id)?;
        }
        Ok(())
    }

    /// `claimSpace` (upstream `reserveCacheSpace` sets the entry's size at
    /// the same time; so does this).
    pub fn claim(&mut self, id: EntryId, bytes: u64) {
        self.tally += bytes;
        if self.tally > self.space {
            tracing::warn!(
                "Fetcher cache space overflow - space used: {}, exceeds total fetcher cache space: {}",
                self.tally,
                self.space
            );
        }
        if let Some(e) = self.entries.get_mut(&id) {
            e.size = bytes;
        }
    }

    /// `releaseSpace`.
    fn release_space(&mut self, bytes: u64) {
        debug_assert!(bytes <= self.tally, "releasing {bytes} of {}", self.tally);
        self.tally = self.tally.saturating_sub(bytes);
    }

    /// `adjust`: after a download, records the file's real size. Smaller
    /// than claimed gives the difference back; larger (or a missing file)
    /// is an error and the caller drops the entry.
    pub fn adjust(&mut self, id: EntryId) -> Result<(), String> {
        let Some(e) = self.entries.get(&id) else {
            return Err(format!("Cache entry {id} is gone"));
        };
        let path = e.path();
        let actual = std::fs::symlink_metadata(&path)
            .map(|m| m.len())
            .map_err(|_| {
                format!(
                    "Fetcher cache file for '{}' disappeared from: {}",
                    e.key,
                    path.display()
                )
            })?;
        let expected = e.size;
        if actual > expected {
            tracing::warn!(
                "URI download result for '{}' is larger than expected by {}B at: {}",
                e.key,
                actual - expected,
                path.display()
            );
            return Err(format!(
                "More cache size now necessary, not adjusting {}",
                e.key
            ));
        }
        if actual < expected {
            tracing::warn!(
                "URI download result for '{}' is smaller than expected by {}B at: {}",
                e.key,
                expected - actual,
                path.display()
            );
        }
        if let Some(e) = self.entries.get_mut(&id) {
            e.size = actual;
        }
        self.release_space(expected - actual);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(v: &str) -> Uri {
        Uri {
            value: v.into(),
            ..Default::default()
        }
    }

    /// An entry downloaded into `dir` with `size` bytes, as a fetch leaves it.
    fn cached(c: &mut Cache, dir: &Path, v: &str, size: u64) -> EntryId {
        let id = c.create(dir, None, &uri(v));
        c.reserve(size).unwrap();
        c.claim(id, size);
        std::fs::write(c.entry(id).unwrap().path(), vec![b'x'; size as usize]).unwrap();
        c.adjust(id).unwrap();
        c.complete(id);
        id
    }

    #[test]
    fn file_names_are_unique_and_keep_the_extension() {
        let mut c = Cache::new(100);
        assert_eq!(c.next_filename("http://h/a/x.tar.gz"), "c1-x.tar.gz");
        assert_eq!(c.next_filename("/p/x.tar.gz"), "c2-x.tar.gz");
        assert_eq!(
            c.next_filename("http://h/a_very_long_file_name_indeed.tar.gz"),
            "c3-a_very_lon_eed.tar.gz"
        );
    }

    #[test]
    fn keys_segregate_users() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::new(100);
        let a = c.create(dir.path(), Some("alice"), &uri("/x"));
        assert!(c.contains(Some("alice"), "/x"));
        assert!(!c.contains(None, "/x"));
        assert!(!c.contains(Some("bob"), "/x"));
        assert_eq!(c.entry(a).unwrap().key, "alice@/x");
    }

    #[test]
    fn eviction_takes_the_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::new(30);
        let a = cached(&mut c, dir.path(), "/a", 10);
        let b = cached(&mut c, dir.path(), "/b", 10);
        let d = cached(&mut c, dir.path(), "/d", 10);
        assert_eq!((c.used_space(), c.available_space()), (30, 0));
        // Touch `a`: `b` is now the least recently used.
        assert_eq!(c.get(None, "/a"), Some(a));
        c.reserve(10).unwrap();
        assert!(c.entry(b).is_none() && c.entry(a).is_some() && c.entry(d).is_some());
        assert_eq!(c.used_space(), 20);
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 2, "the victim's file is deleted");
    }

    #[test]
    fn entries_in_use_are_never_evicted() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::new(20);
        let a = cached(&mut c, dir.path(), "/a", 10);
        let b = cached(&mut c, dir.path(), "/b", 10);
        c.reference(a);
        c.reference(b);
        assert!(c.reserve(1).is_err());
        assert_eq!(c.len(), 2);
        c.unreference(a);
        c.reserve(5).unwrap();
        assert!(c.entry(a).is_none() && c.entry(b).is_some());
        assert_eq!(c.used_space(), 10);
    }

    #[test]
    fn a_file_larger_than_the_cache_reserves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::new(20);
        cached(&mut c, dir.path(), "/a", 10);
        // Even evicting everything leaves 20 < 21: nothing is evicted.
        assert!(c.reserve(21).is_err());
        assert_eq!((c.len(), c.used_space()), (1, 10));
    }

    #[test]
    fn adjust_gives_back_overestimates_and_refuses_growth() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::new(100);
        let a = c.create(dir.path(), None, &uri("/a"));
        c.claim(a, 50);
        std::fs::write(c.entry(a).unwrap().path(), [0u8; 30]).unwrap();
        c.adjust(a).unwrap();
        assert_eq!((c.entry(a).unwrap().size, c.used_space()), (30, 30));
        let b = c.create(dir.path(), None, &uri("/b"));
        c.claim(b, 5);
        std::fs::write(c.entry(b).unwrap().path(), [0u8; 6]).unwrap();
        assert!(c.adjust(b).unwrap_err().contains("More cache size"));
        c.fail(b);
        c.remove(b).unwrap();
        assert_eq!(c.used_space(), 30);
        // A claimed file that never appeared.
        let d = c.create(dir.path(), None, &uri("/d"));
        c.claim(d, 5);
        assert!(c.adjust(d).unwrap_err().contains("disappeared"));
    }

    #[test]
    fn a_vanished_cache_file_drops_its_entry_on_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Cache::new(100);
        let a = cached(&mut c, dir.path(), "/a", 10);
        std::fs::remove_file(c.entry(a).unwrap().path()).unwrap();
        assert_eq!(c.get(None, "/a"), None);
        assert_eq!((c.len(), c.used_space()), (0, 0));
        // A pending entry has no file yet and is not validated.
        let b = c.create(dir.path(), None, &uri("/b"));
        assert_eq!(c.get(None, "/b"), Some(b));
    }
}
