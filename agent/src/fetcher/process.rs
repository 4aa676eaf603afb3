//! The agent's fetcher with its cache (upstream `FetcherProcess` in
//! `src/slave/containerizer/fetcher.cpp`): per URI it decides
//! `BYPASS_CACHE`, `DOWNLOAD_AND_CACHE` or `RETRIEVE_FROM_CACHE`, hands the
//! resulting `FetcherInfo` to `mesos-fetcher` (which does the copying), and
//! then settles the cache entries it created.
//!
//! Upstream runs every cache operation on its actor; here the [`Cache`] is
//! behind a mutex and a fetch runs on the agent's blocking thread, waiting
//! on a condition variable for downloads another fetch started. Each fetch
//! decides all its URIs under one lock, as upstream decides them in one
//! actor turn: a fetch only ever waits for entries created by fetches that
//! decided before it, so waits cannot form a cycle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use mesos_proto::mesos::fetcher::{fetcher_info, FetcherInfo};
use mesos_proto::mesos::DurationInfo;

use super::cache::{Cache, Completion, EntryId, CACHE_FILE_NAME_PREFIX};
use super::{download, program, validate_uris, FetchRequest};

/// Upstream `DEFAULT_FETCHER_CACHE_SIZE` (src/slave/constants.hpp).
pub const DEFAULT_FETCHER_CACHE_SIZE: u64 = 2 << 30;

/// Upstream `DEFAULT_FETCHER_STALL_TIMEOUT`.
pub const DEFAULT_FETCHER_STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The agent flags the fetcher reads (upstream passes it the agent's
/// `Flags`).
#[derive(Clone, Debug)]
pub struct FetcherSettings {
    /// `--launcher_dir`: where `mesos-fetcher` is.
    pub launcher_dir: PathBuf,
    /// `--fetcher_cache_dir` (default `$TMPDIR/mesos/fetch`, as upstream's
    /// `os::temp()`).
    pub cache_dir: PathBuf,
    /// `--fetcher_cache_size` in bytes (default 2GB).
    pub cache_size: u64,
    /// `--fetcher_stall_timeout` (default 1 minute).
    pub stall_timeout: Duration,
    /// `--frameworks_home`: prefix of relative URIs.
    pub frameworks_home: Option<String>,
    /// `--hadoop_home`: passed on as `HADOOP_HOME` (hdfs is not supported).
    pub hadoop_home: Option<String>,
}

impl FetcherSettings {
    /// The settings from the agent's flags (name -> value, as `/flags`
    /// shows them); absent or unparsable values take upstream's defaults.
    pub fn from_flags(flags: &BTreeMap<String, String>, launcher_dir: &Path) -> FetcherSettings {
        let nonempty = |k: &str| flags.get(k).filter(|v| !v.is_empty()).cloned();
        let cache_dir = nonempty("fetcher_cache_dir")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let tmp = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".into());
                Path::new(&tmp).join("mesos").join("fetch")
            });
        let cache_size = match nonempty("fetcher_cache_size") {
            Some(v) => stout::Bytes::parse(&v)
                .map(|b| b.bytes())
                .unwrap_or_else(|e| {
                    tracing::warn!("Ignoring --fetcher_cache_size={v}: {e}");
                    DEFAULT_FETCHER_CACHE_SIZE
                }),
            None => DEFAULT_FETCHER_CACHE_SIZE,
        };
        let stall_timeout = nonempty("fetcher_stall_timeout")
            .and_then(|v| stout::Duration::parse(&v).ok())
            .and_then(|d| d.to_std())
            .unwrap_or(DEFAULT_FETCHER_STALL_TIMEOUT);
        FetcherSettings {
            launcher_dir: launcher_dir.to_path_buf(),
            cache_dir,
            cache_size,
            stall_timeout,
            frameworks_home: nonempty("frameworks_home"),
            hadoop_home: nonempty("hadoop_home"),
        }
    }
}

/// Runs the fetcher program for one container (upstream's virtual
/// `FetcherProcess::run`; tests put an in-process run here).
pub type Runner =
    Box<dyn Fn(&FetcherSettings, &FetchRequest, &FetcherInfo) -> Result<(), String> + Send + Sync>;

/// The agent's fetcher: one per agent, shared by all launches.
pub struct Fetcher {
    settings: FetcherSettings,
    cache: Mutex<Cache>,
    /// Signalled whenever an entry stops being pending.
    settled: Condvar,
    /// `containerizer/fetcher/task_fetches_succeeded`.
    succeeded: AtomicU64,
    /// `containerizer/fetcher/task_fetches_failed`.
    failed: AtomicU64,
    runner: Runner,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetcher")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What one URI of a fetch uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    /// `cache` not set, or the cache could not be used.
    Bypass,
    /// An entry this fetch created and downloads.
    New(EntryId),
    /// An entry another fetch created (maybe still downloading).
    Existing(EntryId),
}

impl Slot {
    fn entry(self) -> Option<EntryId> {
        match self {
            Slot::Bypass => None,
            Slot::New(id) | Slot::Existing(id) => Some(id),
        }
    }
}

impl Fetcher {
    /// A fetcher with an empty cache, running `mesos-fetcher`. Nothing on
    /// disk is touched; see [`Fetcher::clear_cache_directory`].
    pub fn new(settings: FetcherSettings) -> Fetcher {
        Fetcher::with_runner(settings, Box::new(super::run_program))
    }

    /// A fetcher whose program runs are `runner`'s (for tests).
    pub fn with_runner(settings: FetcherSettings, runner: Runner) -> Fetcher {
        Fetcher {
            cache: Mutex::new(Cache::new(settings.cache_size)),
            settings,
            settled: Condvar::new(),
            succeeded: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            runner,
        }
    }

    pub fn settings(&self) -> &FetcherSettings {
        &self.settings
    }

    /// Upstream's `Fetcher` constructor: the agent starts with an empty
    /// cache, so whatever a previous run left in `--fetcher_cache_dir` is
    /// deleted (the daemon calls this once at startup).
    pub fn clear_cache_directory(&self) -> Result<(), String> {
        let dir = &self.settings.cache_dir;
        match std::fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!(
                "Could not delete fetcher cache directory '{}': {e}",
                dir.display()
            )),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        // A fetch that panicked left the table consistent (every change is
        // one call); keep serving.
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The `containerizer/fetcher/*` gauges and counters for
    /// `/metrics/snapshot` (upstream `FetcherProcess::Metrics`).
    pub fn metrics(&self) -> [(&'static str, f64); 4] {
        let (total, used) = {
            let c = self.lock();
            (c.total_space(), c.used_space())
        };
        [
            ("containerizer/fetcher/cache_size_total_bytes", total as f64),
            ("containerizer/fetcher/cache_size_used_bytes", used as f64),
            (
                "containerizer/fetcher/task_fetches_succeeded",
                self.succeeded.load(Ordering::Relaxed) as f64,
            ),
            (
                "containerizer/fetcher/task_fetches_failed",
                self.failed.load(Ordering::Relaxed) as f64,
            ),
        ]
    }

    /// Number of cache entries (upstream `cacheSize`, for tests).
    pub fn cache_size(&self) -> usize {
        self.lock().len()
    }

    /// Unclaimed cache bytes (upstream `availableCacheSpace`).
    pub fn available_cache_space(&self) -> u64 {
        self.lock().available_space()
    }

    /// Claimed cache bytes.
    pub fn used_cache_space(&self) -> u64 {
        self.lock().used_space()
    }

    /// The cache files on disk, for every user (upstream `cacheFiles`).
    pub fn cache_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let Ok(rd) = std::fs::read_dir(dir) else {
                return;
            };
            for e in rd.flatten() {
                let p = e.path();
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&p, out);
                } else if e
                    .file_name()
                    .to_string_lossy()
                    .starts_with(CACHE_FILE_NAME_PREFIX)
                {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.settings.cache_dir, &mut out);
        out.sort();
        out
    }

    /// The cache directory of `user` (upstream segregates users).
    pub fn cache_directory(&self, user: Option<&str>) -> PathBuf {
        match user {
            Some(u) => self.settings.cache_dir.join(u),
            None => self.settings.cache_dir.clone(),
        }
    }

    /// `FetcherProcess::fetch`: fetches the request's URIs into its sandbox,
    /// through the cache where `cache` is set, by running the fetcher
    /// program once. Blocks (also while another fetch downloads a URI this
    /// one wants from the cache). An error is the container launch failure
    /// upstream reports.
    pub fn fetch(&self, req: &FetchRequest) -> Result<(), String> {
        if let Err(e) = validate_uris(&req.uris) {
            self.failed.fetch_add(1, Ordering::Relaxed);
            return Err(format!("Could not fetch: {e}"));
        }
        if req.uris.is_empty() {
            // Upstream counts these too (the program is not run).
            self.succeeded.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let user = req.user.as_deref();
        let cache_directory = self.cache_directory(user);

        let mut settle = Settle {
            fetcher: self,
            slots: Vec::new(),
            succeeded: false,
        };
        let mut new_entries: Vec<(usize, EntryId)> = Vec::new();
        // 1. Decide every URI at once.
        {
            let mut c = self.lock();
            let mut created: BTreeMap<&str, EntryId> = BTreeMap::new();
            for uri in &req.uris {
                let slot = if !uri.cache() {
                    Slot::Bypass
                } else if let Some(&id) = created.get(uri.value.as_str()) {
                    // The same URI twice in one request: one download.
                    Slot::New(id)
                } else if let Some(id) = c.get(user, &uri.value) {
                    Slot::Existing(id)
                } else {
                    let id = c.create(&cache_directory, user, uri);
                    created.insert(&uri.value, id);
                    new_entries.push((settle.slots.len(), id));
                    Slot::New(id)
                };
                if let Some(id) = slot.entry() {
                    c.reference(id);
                }
                settle.slots.push(slot);
            }
        }

        // 2. Size and reserve space for the new entries; if that fails,
        // fall back to fetching straight into the sandbox (and so does any
        // fetch waiting for them).
        for &(i, id) in &new_entries {
            let uri = &req.uris[i];
            let size = fetch_size(&uri.value, &self.settings);
            let mut c = self.lock();
            let key = c.entry(id).map(|e| e.key.clone()).unwrap_or_default();
            let reserved = size
                .map_err(|e| {
                    format!("Could not determine size of cache file for '{key}' with error: {e}")
                })
                .and_then(|size| {
                    c.reserve(size)
                        .map(|()| size)
                        .map_err(|e| format!("Failed to reserve space in the cache: {e}"))
                });
            match reserved {
                Ok(size) => {
                    tracing::debug!("Claiming fetcher cache space for: {key}");
                    c.claim(id, size);
                }
                Err(e) => {
                    tracing::warn!(
                        "Reverting to fetching directly into the sandbox for '{}', due to failure to fetch through the cache, with error: {e}",
                        uri.value
                    );
                    c.fail(id);
                    if let Err(e) = c.remove(id) {
                        tracing::warn!("{e}");
                    }
                    self.settled.notify_all();
                }
            }
        }

        // 3. Wait for downloads other fetches started, then turn the slots
        // into the program's actions.
        let mut info = FetcherInfo {
            sandbox_directory: req.sandbox.display().to_string(),
            cache_directory: Some(cache_directory.display().to_string()),
            items: Vec::with_capacity(req.uris.len()),
            user: req.user.clone(),
            frameworks_home: self.settings.frameworks_home.clone(),
            stall_timeout: Some(DurationInfo {
                nanoseconds: self.settings.stall_timeout.as_nanos().min(i64::MAX as u128) as i64,
            }),
        };
        {
            let mut c = self.lock();
            for (uri, slot) in req.uris.iter().zip(&settle.slots) {
                if let Slot::Existing(id) = *slot {
                    while c.entry(id).map(|e| e.completion) == Some(Completion::Pending) {
                        c = self.settled.wait(c).unwrap_or_else(|p| p.into_inner());
                    }
                }
                let state = slot
                    .entry()
                    .and_then(|id| c.entry(id))
                    .map(|e| (e.completion, e.filename.clone()));
                use fetcher_info::item::Action;
                let (action, cache_filename) = match (*slot, state) {
                    (Slot::New(_), Some((Completion::Pending, f))) => {
                        (Action::DownloadAndCache, Some(f))
                    }
                    (_, Some((Completion::Ready, f))) => (Action::RetrieveFromCache, Some(f)),
                    // Not cached, or its reservation failed (logged above).
                    (Slot::Bypass, _) | (Slot::New(_), _) => (Action::BypassCache, None),
                    (Slot::Existing(_), _) => {
                        tracing::warn!(
                            "Reverting to fetching directly into the sandbox for '{}', due to failure to fetch through the cache",
                            uri.value
                        );
                        (Action::BypassCache, None)
                    }
                };
                info.items.push(fetcher_info::Item {
                    uri: uri.clone(),
                    action: action as i32,
                    cache_filename,
                });
            }
        }

        // 4. Run the program; `settle` completes or drops the new entries
        // and releases every reference, also if this thread unwinds.
        let result = (self.runner)(&self.settings, req, &info);
        if let Err(e) = &result {
            tracing::error!("Failed to run mesos-fetcher: {e}");
        }
        settle.succeeded = result.is_ok();
        drop(settle);
        result
    }
}

/// The end of a fetch (upstream `__fetch`'s continuations): unreferences
/// its entries; the entries it downloaded become ready (their real size
/// recorded) or, if the program failed, are removed with their partial
/// files. Waiting fetches are woken either way.
struct Settle<'a> {
    fetcher: &'a Fetcher,
    slots: Vec<Slot>,
    succeeded: bool,
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        let f = self.fetcher;
        let counter = if self.succeeded {
            &f.succeeded
        } else {
            &f.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let mut c = f.lock();
        for slot in &self.slots {
            let Some(id) = slot.entry() else { continue };
            c.unreference(id);
            // Only the fetch that created an entry completes or drops it.
            if !matches!(slot, Slot::New(_))
                || c.entry(id).map(|e| e.completion) != Some(Completion::Pending)
            {
                continue;
            }
            let adjusted = if self.succeeded {
                c.adjust(id)
            } else {
                Err("download failed".into())
            };
            match adjusted {
                Ok(()) => c.complete(id),
                Err(e) => {
                    if self.succeeded {
                        let key = c.entry(id).map(|e| e.key.clone()).unwrap_or_default();
                        tracing::warn!(
                            "Failed to adjust the cache size for entry '{key}' with error: {e}"
                        );
                    }
                    c.fail(id);
                    if let Err(e) = c.remove(id) {
                        tracing::warn!("{e}");
                    }
                }
            }
        }
        drop(c);
        f.settled.notify_all();
    }
}

/// Upstream `fetchSize`: how many bytes a download of `uri` will take —
/// the local file's size, or the `Content-Length` of a `HEAD`.
fn fetch_size(uri: &str, settings: &FetcherSettings) -> Result<u64, String> {
    let uri = uri.trim_start();
    if let Some(path) = program::uri_to_local_path(uri, settings.frameworks_home.as_deref())? {
        return std::fs::metadata(&path).map(|m| m.len()).map_err(|e| {
            format!(
                "Could not determine file size for: '{}', error: {e}",
                path.display()
            )
        });
    }
    if uri.starts_with("http://") || uri.starts_with("https://") {
        let size = download::content_length(uri, Some(settings.stall_timeout))?;
        if size == 0 {
            return Err(format!("URI reported content-length 0: {uri}"));
        }
        return Ok(size);
    }
    if program::is_net_uri(uri) {
        return Err("FTP is not supported by this fetcher".into());
    }
    Err("Hadoop client could not determine size: the Hadoop client is not supported".into())
}
