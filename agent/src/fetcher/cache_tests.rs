//! The fetcher cache through [`Fetcher::fetch`], named after upstream's
//! `FetcherCacheTest` / `FetcherCacheHttpTest` (src/tests/fetcher_cache_tests.cpp).
//! A "task" here is one fetch into its own sandbox; the program runs in
//! process (upstream's tests mock `FetcherProcess::run` the same way) and
//! every `FetcherInfo` it gets is recorded.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mesos_proto::mesos::command_info::Uri;
use mesos_proto::mesos::fetcher::fetcher_info::item::Action;
use mesos_proto::mesos::fetcher::FetcherInfo;

use super::{program, FetchRequest, Fetcher, FetcherSettings};

const COMMAND_NAME: &str = "mesos-fetcher-test-cmd";
const COMMAND_SCRIPT: &str = "#!/bin/sh\ntouch $0$1\n";
const ARCHIVE_NAME: &str = "mesos-fetcher-test-archive.tgz";
const ARCHIVED_COMMAND_NAME: &str = "mesos-fetcher-test-acmd";

type Hook = Box<dyn FnOnce(&FetcherInfo) + Send>;

struct Harness {
    dir: tempfile::TempDir,
    fetcher: Arc<Fetcher>,
    cache_size: u64,
    infos: Arc<Mutex<Vec<FetcherInfo>>>,
    /// Runs once, before the next program run.
    before: Arc<Mutex<Option<Hook>>>,
    /// Runs once, after the next program run.
    after: Arc<Mutex<Option<Hook>>>,
    tasks: AtomicUsize,
}

impl Harness {
    fn new(cache_size: u64) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("assets")).unwrap();
        let settings = FetcherSettings {
            launcher_dir: dir.path().join("no-launcher"),
            cache_dir: dir.path().join("cache"),
            cache_size,
            stall_timeout: Duration::from_secs(20),
            frameworks_home: None,
            hadoop_home: None,
        };
        let infos: Arc<Mutex<Vec<FetcherInfo>>> = Arc::default();
        let before: Arc<Mutex<Option<Hook>>> = Arc::default();
        let after: Arc<Mutex<Option<Hook>>> = Arc::default();
        let (i2, b2, a2) = (infos.clone(), before.clone(), after.clone());
        let runner: super::process::Runner = Box::new(move |_, _, info| {
            i2.lock().unwrap().push(info.clone());
            let hook = b2.lock().unwrap().take();
            if let Some(h) = hook {
                h(info);
            }
            // In process we must not `su`; the program's other steps run.
            let mut own = info.clone();
            own.user = None;
            let r =
                program::create_cache_directory(info).and_then(|()| program::run(&own).map(|_| ()));
            let hook = a2.lock().unwrap().take();
            if let Some(h) = hook {
                h(info);
            }
            r
        });
        Harness {
            fetcher: Arc::new(Fetcher::with_runner(settings, runner)),
            dir,
            cache_size,
            infos,
            before,
            after,
            tasks: AtomicUsize::new(0),
        }
    }

    fn assets(&self) -> PathBuf {
        self.dir.path().join("assets")
    }

    /// Writes an asset and returns its path.
    fn asset(&self, name: &str, content: &str) -> String {
        let p = self.assets().join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    }

    /// A tar.gz holding an executable `ARCHIVED_COMMAND_NAME`.
    fn archive(&self) -> String {
        let src = self.dir.path().join("archive-src");
        std::fs::create_dir_all(&src).unwrap();
        let cmd = src.join(ARCHIVED_COMMAND_NAME);
        std::fs::write(&cmd, COMMAND_SCRIPT).unwrap();
        std::fs::set_permissions(&cmd, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = self.assets().join(ARCHIVE_NAME);
        let ok = std::process::Command::new("tar")
            .arg("-C")
            .arg(&src)
            .arg("-czf")
            .arg(&out)
            .arg(ARCHIVED_COMMAND_NAME)
            .status()
            .unwrap();
        assert!(ok.success());
        out.display().to_string()
    }

    /// Fetches `uris` into a new sandbox as `user`.
    fn launch_as(&self, uris: Vec<Uri>, user: Option<&str>) -> (PathBuf, Result<(), String>) {
        let n = self.tasks.fetch_add(1, Ordering::SeqCst);
        let sandbox = self.dir.path().join(format!("sandbox-{n}"));
        std::fs::create_dir_all(&sandbox).unwrap();
        let req = FetchRequest {
            container_id: format!("container-{n}"),
            uris,
            sandbox: sandbox.clone(),
            user: user.map(str::to_string),
        };
        let r = self.fetcher.fetch(&req);
        (sandbox, r)
    }

    /// Fetches `uris` and expects success.
    fn launch(&self, uris: Vec<Uri>) -> PathBuf {
        let (sandbox, r) = self.launch_as(uris, None);
        r.unwrap();
        sandbox
    }

    /// The action of the only item of the `i`th program run.
    fn action(&self, i: usize) -> Action {
        let infos = self.infos.lock().unwrap();
        assert_eq!(infos[i].items.len(), 1, "{:?}", infos[i]);
        infos[i].items[0].action()
    }

    fn metric(&self, name: &str) -> f64 {
        self.fetcher
            .metrics()
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| *v)
            .unwrap()
    }

    /// Upstream `verifyCacheMetrics`: the total is the flag, the used
    /// bytes are the cache files' sizes.
    fn verify_cache_metrics(&self) {
        assert_eq!(
            self.metric("containerizer/fetcher/cache_size_total_bytes"),
            self.cache_size as f64
        );
        let used: u64 = self
            .fetcher
            .cache_files()
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().len())
            .sum();
        assert_eq!(
            self.metric("containerizer/fetcher/cache_size_used_bytes"),
            used as f64
        );
    }
}

fn uri(value: &str, f: impl FnOnce(&mut Uri)) -> Uri {
    let mut u = Uri {
        value: value.into(),
        ..Default::default()
    };
    f(&mut u);
    u
}

fn is_executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o111 == 0o111)
}

#[test]
fn local_uncached() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    let sandbox = h.launch(vec![uri(&cmd, |u| u.executable = Some(true))]);
    assert!(is_executable(&sandbox.join(COMMAND_NAME)));
    assert_eq!(h.fetcher.cache_size(), 0);
    assert!(h.fetcher.cache_files().is_empty());
    assert_eq!(h.action(0), Action::BypassCache);
    h.verify_cache_metrics();
    assert_eq!(
        h.metric("containerizer/fetcher/task_fetches_succeeded"),
        1.0
    );
    assert_eq!(h.metric("containerizer/fetcher/task_fetches_failed"), 0.0);
}

#[test]
fn local_cached() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    for i in 0..2 {
        let sandbox = h.launch(vec![uri(&cmd, |u| {
            u.executable = Some(true);
            u.cache = Some(true);
        })]);
        let path = sandbox.join(COMMAND_NAME);
        assert!(is_executable(&path));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), COMMAND_SCRIPT);
        assert_eq!(h.fetcher.cache_size(), 1);
        assert_eq!(h.fetcher.cache_files().len(), 1);
        h.verify_cache_metrics();
        let expected = if i == 0 {
            Action::DownloadAndCache
        } else {
            Action::RetrieveFromCache
        };
        assert_eq!(h.action(i), expected);
    }
    assert_eq!(
        h.metric("containerizer/fetcher/cache_size_used_bytes"),
        COMMAND_SCRIPT.len() as f64
    );
    assert_eq!(
        h.metric("containerizer/fetcher/task_fetches_succeeded"),
        2.0
    );
}

#[test]
fn local_cached_missing() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    for i in 0..2 {
        let sandbox = h.launch(vec![uri(&cmd, |u| {
            u.executable = Some(true);
            u.cache = Some(true);
        })]);
        assert!(is_executable(&sandbox.join(COMMAND_NAME)));
        assert_eq!(h.fetcher.cache_size(), 1);
        assert_eq!(h.fetcher.cache_files().len(), 1);
        // Downloaded again each time: the file was removed behind our back.
        assert_eq!(h.action(i), Action::DownloadAndCache);
        std::fs::remove_file(&h.fetcher.cache_files()[0]).unwrap();
    }
}

#[test]
fn cached_custom_filename() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    let sandbox = h.launch(vec![uri(&cmd, |u| {
        u.executable = Some(true);
        u.cache = Some(true);
        u.output_file = Some("my-command".into());
    })]);
    assert!(is_executable(&sandbox.join("my-command")));
    assert!(!sandbox.join(COMMAND_NAME).exists());
    assert_eq!(h.fetcher.cache_size(), 1);
    assert_eq!(h.fetcher.cache_files().len(), 1);
    h.verify_cache_metrics();
}

#[test]
fn cached_custom_output_file_with_subdirectory() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    for _ in 0..2 {
        let sandbox = h.launch(vec![uri(&cmd, |u| {
            u.executable = Some(true);
            u.cache = Some(true);
            u.output_file = Some("subdir/my-command".into());
        })]);
        assert!(is_executable(&sandbox.join("subdir/my-command")));
    }
    assert_eq!(h.action(1), Action::RetrieveFromCache);
    assert_eq!(h.fetcher.cache_files().len(), 1);
    h.verify_cache_metrics();
}

/// The size cannot be determined (the asset is missing), so the URI is
/// fetched bypassing the cache; the asset is back when the program runs.
#[test]
fn cached_fallback() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    std::fs::remove_file(&cmd).unwrap();
    let c2 = cmd.clone();
    *h.before.lock().unwrap() = Some(Box::new(move |_| {
        std::fs::write(&c2, COMMAND_SCRIPT).unwrap();
    }));
    let sandbox = h.launch(vec![uri(&cmd, |u| {
        u.executable = Some(true);
        u.cache = Some(true);
    })]);
    assert!(is_executable(&sandbox.join(COMMAND_NAME)));
    assert_eq!(h.action(0), Action::BypassCache);
    assert_eq!(h.fetcher.cache_size(), 0);
    assert!(h.fetcher.cache_files().is_empty());
    h.verify_cache_metrics();
}

#[test]
fn local_uncached_extract() {
    let h = Harness::new(1 << 20);
    let archive = h.archive();
    let sandbox = h.launch(vec![uri(&archive, |u| u.extract = Some(true))]);
    assert!(sandbox.join(ARCHIVE_NAME).exists());
    assert!(!is_executable(&sandbox.join(ARCHIVE_NAME)));
    assert!(is_executable(&sandbox.join(ARCHIVED_COMMAND_NAME)));
    assert_eq!(h.fetcher.cache_size(), 0);
    assert!(h.fetcher.cache_files().is_empty());
    h.verify_cache_metrics();
}

#[test]
fn local_cached_extract() {
    let h = Harness::new(1 << 20);
    let archive = h.archive();
    for _ in 0..2 {
        let sandbox = h.launch(vec![uri(&archive, |u| {
            u.extract = Some(true);
            u.cache = Some(true);
        })]);
        // Extracted from the cache: the archive itself is not copied.
        assert!(!sandbox.join(ARCHIVE_NAME).exists());
        assert!(is_executable(&sandbox.join(ARCHIVED_COMMAND_NAME)));
        assert_eq!(h.fetcher.cache_size(), 1);
        assert_eq!(h.fetcher.cache_files().len(), 1);
        h.verify_cache_metrics();
    }
    // The cache file keeps the archive's extension.
    let name = h.fetcher.cache_files()[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(name.ends_with(".tgz"), "{name}");
}

/// A cached bare `.gz` is named after the URI, not the cache file.
#[test]
fn cached_gzip_keeps_the_uri_name() {
    let h = Harness::new(1 << 20);
    let plain = h.asset("data.txt", "payload\n");
    let ok = std::process::Command::new("gzip")
        .arg(&plain)
        .status()
        .unwrap();
    assert!(ok.success());
    let gz = format!("{plain}.gz");
    for _ in 0..2 {
        let sandbox = h.launch(vec![uri(&gz, |u| {
            u.extract = Some(true);
            u.cache = Some(true);
        })]);
        assert_eq!(
            std::fs::read_to_string(sandbox.join("data.txt")).unwrap(),
            "payload\n"
        );
    }
    assert_eq!(h.action(1), Action::RetrieveFromCache);
}

#[test]
fn simple_eviction() {
    let entries = 2;
    let h = Harness::new((COMMAND_SCRIPT.len() * entries) as u64);
    for i in 0..entries + 2 {
        let name = format!("cmd{i}");
        let cmd = h.asset(&name, COMMAND_SCRIPT);
        let sandbox = h.launch(vec![uri(&cmd, |u| {
            u.executable = Some(true);
            u.cache = Some(true);
        })]);
        assert!(is_executable(&sandbox.join(&name)));
        assert_eq!(h.action(i), Action::DownloadAndCache);
        let expected = (i + 1).min(entries);
        assert_eq!(h.fetcher.cache_size(), expected);
        assert_eq!(h.fetcher.cache_files().len(), expected);
    }
    h.verify_cache_metrics();
    assert_eq!(h.fetcher.available_cache_space(), 0);
}

/// A first task fills the cache, a second evicts it, a third is larger
/// than the whole cache and bypasses it.
#[test]
fn fallback_from_eviction() {
    let growth = 10;
    let h = Harness::new((COMMAND_SCRIPT.len() + growth) as u64);
    let fetch = |i: usize, content: String| {
        let name = format!("cmd{i}");
        let cmd = h.asset(&name, &content);
        let sandbox = h.launch(vec![uri(&cmd, |u| {
            u.executable = Some(true);
            u.cache = Some(true);
        })]);
        assert!(is_executable(&sandbox.join(&name)));
    };

    fetch(0, COMMAND_SCRIPT.to_string());
    assert_eq!(h.action(0), Action::DownloadAndCache);
    assert_eq!(h.fetcher.available_cache_space(), growth as u64);
    assert_eq!(h.fetcher.cache_size(), 1);
    assert_eq!(h.fetcher.cache_files().len(), 1);
    h.verify_cache_metrics();

    fetch(1, format!("{COMMAND_SCRIPT}{}", "\n".repeat(growth)));
    assert_eq!(h.action(1), Action::DownloadAndCache);
    assert_eq!(h.fetcher.available_cache_space(), 0);
    assert_eq!(h.fetcher.cache_size(), 1);
    assert_eq!(h.fetcher.cache_files().len(), 1);
    h.verify_cache_metrics();

    fetch(2, format!("{COMMAND_SCRIPT}{}", "\n".repeat(2 * growth)));
    assert_eq!(h.action(2), Action::BypassCache);
    assert_eq!(h.fetcher.cache_size(), 1);
    assert_eq!(h.fetcher.cache_files().len(), 1);
    assert!(h.fetcher.cache_files()[0]
        .to_string_lossy()
        .ends_with("-cmd1"));
    h.verify_cache_metrics();
}

#[test]
fn remove_lru_cache_entries() {
    let h = Harness::new((COMMAND_SCRIPT.len() * 2) as u64);
    for i in [0, 1, 1, 2] {
        let name = format!("cmd{i}");
        let cmd = h.asset(&name, COMMAND_SCRIPT);
        let sandbox = h.launch(vec![uri(&cmd, |u| {
            u.executable = Some(true);
            u.cache = Some(true);
        })]);
        assert!(is_executable(&sandbox.join(&name)));
    }
    assert_eq!(h.fetcher.cache_size(), 2);
    h.verify_cache_metrics();
    let names: Vec<String> = h
        .fetcher
        .cache_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with("-cmd1")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with("-cmd2")), "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with("-cmd0")), "{names:?}");
}

/// A cache file that disappears is not trusted: removed during its
/// download, the task still gets its file but the entry is dropped (and
/// its space released); removed later, the next task downloads it again.
#[test]
fn tracked_file_disappearing() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    let cached = || {
        uri(&cmd, |u| {
            u.executable = Some(true);
            u.cache = Some(true);
        })
    };
    let cache_dir = h.fetcher.settings().cache_dir.clone();
    *h.after.lock().unwrap() = Some(Box::new(move |info| {
        let name = info.items[0].cache_filename.clone().unwrap();
        std::fs::remove_file(cache_dir.join(name)).unwrap();
    }));
    let sandbox = h.launch(vec![cached()]);
    assert!(is_executable(&sandbox.join(COMMAND_NAME)));
    assert_eq!(h.fetcher.cache_size(), 0);
    assert_eq!(h.fetcher.used_cache_space(), 0);
    h.verify_cache_metrics();

    h.launch(vec![cached()]);
    assert_eq!(h.action(1), Action::DownloadAndCache);
    std::fs::remove_file(&h.fetcher.cache_files()[0]).unwrap();
    let sandbox = h.launch(vec![cached()]);
    assert_eq!(h.action(2), Action::DownloadAndCache);
    assert!(is_executable(&sandbox.join(COMMAND_NAME)));
    assert_eq!(h.fetcher.cache_size(), 1);
    h.verify_cache_metrics();
}

/// An entry a running fetch uses is not evicted: the other URI, which
/// would need its space, bypasses the cache instead.
#[test]
fn entries_in_use_are_not_evicted() {
    let h = Harness::new(COMMAND_SCRIPT.len() as u64);
    let a = h.asset("cmd-a", COMMAND_SCRIPT);
    let b = h.asset("cmd-b", COMMAND_SCRIPT);
    let (inside_tx, inside_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    *h.after.lock().unwrap() = Some(Box::new(move |_| {
        inside_tx.send(()).unwrap();
        release_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    }));
    let h = Arc::new(h);
    let h2 = h.clone();
    let a2 = a.clone();
    let first = std::thread::spawn(move || {
        h2.launch(vec![uri(&a2, |u| u.cache = Some(true))]);
    });
    inside_rx.recv_timeout(Duration::from_secs(20)).unwrap();
    let sandbox = h.launch(vec![uri(&b, |u| u.cache = Some(true))]);
    assert!(sandbox.join("cmd-b").exists());
    release_tx.send(()).unwrap();
    first.join().unwrap();
    assert_eq!(h.action(0), Action::DownloadAndCache);
    assert_eq!(h.action(1), Action::BypassCache);
    let files = h.fetcher.cache_files();
    assert_eq!(files.len(), 1);
    assert!(files[0].to_string_lossy().ends_with("-cmd-a"), "{files:?}");
    h.verify_cache_metrics();
}

#[test]
fn failed_download_is_not_cached() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    // Sized fine, gone when the program copies it.
    let c2 = cmd.clone();
    *h.before.lock().unwrap() = Some(Box::new(move |_| {
        std::fs::remove_file(&c2).unwrap();
    }));
    let (_, r) = h.launch_as(vec![uri(&cmd, |u| u.cache = Some(true))], None);
    assert!(r.is_err());
    assert_eq!(h.action(0), Action::DownloadAndCache);
    assert_eq!(h.fetcher.cache_size(), 0);
    assert_eq!(h.fetcher.used_cache_space(), 0);
    assert!(h.fetcher.cache_files().is_empty());
    assert_eq!(h.metric("containerizer/fetcher/task_fetches_failed"), 1.0);
    // Invalid URIs count as failed fetches too.
    let (_, r) = h.launch_as(vec![uri("http://host", |_| {})], None);
    assert!(r.unwrap_err().starts_with("Could not fetch"));
    assert_eq!(h.metric("containerizer/fetcher/task_fetches_failed"), 2.0);
    assert_eq!(
        h.metric("containerizer/fetcher/task_fetches_succeeded"),
        0.0
    );
}

/// The same URI twice in one task is downloaded once.
#[test]
fn duplicate_uri_in_one_task() {
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    let sandbox = h.launch(vec![
        uri(&cmd, |u| u.cache = Some(true)),
        uri(&cmd, |u| {
            u.cache = Some(true);
            u.output_file = Some("copy".into());
        }),
    ]);
    assert!(sandbox.join(COMMAND_NAME).exists() && sandbox.join("copy").exists());
    let info = h.infos.lock().unwrap()[0].clone();
    assert_eq!(info.items[0].action(), Action::DownloadAndCache);
    assert_eq!(info.items[1].action(), Action::DownloadAndCache);
    assert_eq!(info.items[0].cache_filename, info.items[1].cache_filename);
    assert_eq!(h.fetcher.cache_size(), 1);
    h.verify_cache_metrics();
}

/// Each user has a cache directory (and entries) of their own.
#[test]
fn per_user_cache_directories() {
    let Ok(Some(nobody)) = nix::unistd::User::from_name("nobody") else {
        println!("SKIP: no user 'nobody'");
        return;
    };
    let h = Harness::new(1 << 20);
    let cmd = h.asset(COMMAND_NAME, COMMAND_SCRIPT);
    let cached = || uri(&cmd, |u| u.cache = Some(true));
    h.launch_as(vec![cached()], None).1.unwrap();
    h.launch_as(vec![cached()], Some("nobody")).1.unwrap();
    h.launch_as(vec![cached()], Some("nobody")).1.unwrap();
    let cache_dir = h.fetcher.settings().cache_dir.clone();
    let infos = h.infos.lock().unwrap().clone();
    assert_eq!(
        infos[0].cache_directory.as_deref(),
        Some(cache_dir.to_str().unwrap())
    );
    assert_eq!(
        infos[1].cache_directory.as_deref(),
        Some(cache_dir.join("nobody").to_str().unwrap())
    );
    assert_eq!(infos[1].items[0].action(), Action::DownloadAndCache);
    assert_eq!(infos[2].items[0].action(), Action::RetrieveFromCache);
    assert_eq!(h.fetcher.cache_size(), 2);
    let files = h.fetcher.cache_files();
    assert_eq!(files.len(), 2);
    assert!(files
        .iter()
        .any(|f| f.parent() == Some(cache_dir.join("nobody").as_path())));
    if nix::unistd::geteuid().is_root() {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(cache_dir.join("nobody")).unwrap();
        assert_eq!(meta.uid(), nobody.uid.as_raw());
    }
    h.verify_cache_metrics();
}

/// Counts requests; `GET /<name>` answers (after `delay`) with the file's
/// bytes, `HEAD` with its length.
struct HttpServer {
    port: u16,
    gets: Arc<AtomicUsize>,
    heads: Arc<AtomicUsize>,
}

impl HttpServer {
    fn start(files: Vec<(&'static str, Vec<u8>)>, delay: Duration) -> HttpServer {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let gets = Arc::new(AtomicUsize::new(0));
        let heads = Arc::new(AtomicUsize::new(0));
        let (g, hd) = (gets.clone(), heads.clone());
        let files = Arc::new(files);
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { return };
                let (g, hd, files) = (g.clone(), hd.clone(), files.clone());
                std::thread::spawn(move || {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match s.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(k) => req.extend_from_slice(&buf[..k]),
                        }
                    }
                    let head = String::from_utf8_lossy(&req).into_owned();
                    let mut words = head.split_whitespace();
                    let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
                    let body = files
                        .iter()
                        .find(|(n, _)| path == format!("/{n}"))
                        .map(|(_, b)| b.clone());
                    let Some(body) = body else {
                        let _ = s.write_all(
                            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                        return;
                    };
                    let mut resp = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    if method == "GET" {
                        g.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(delay);
                        resp.extend_from_slice(&body);
                    } else {
                        hd.fetch_add(1, Ordering::SeqCst);
                    }
                    let _ = s.write_all(&resp);
                });
            }
        });
        HttpServer { port, gets, heads }
    }
}

/// Several tasks want the same cached URI at once: one download, the
/// others wait for it and copy from the cache.
#[test]
fn http_cached_concurrent() {
    let server = HttpServer::start(
        vec![(COMMAND_NAME, COMMAND_SCRIPT.as_bytes().to_vec())],
        Duration::from_millis(300),
    );
    let h = Arc::new(Harness::new(1 << 20));
    let url = format!("http://127.0.0.1:{}/{COMMAND_NAME}", server.port);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (h, url) = (h.clone(), url.clone());
            std::thread::spawn(move || {
                h.launch(vec![uri(&url, |u| {
                    u.executable = Some(true);
                    u.cache = Some(true);
                })])
            })
        })
        .collect();
    for t in threads {
        let sandbox = t.join().unwrap();
        assert!(is_executable(&sandbox.join(COMMAND_NAME)));
        assert_eq!(
            std::fs::read_to_string(sandbox.join(COMMAND_NAME)).unwrap(),
            COMMAND_SCRIPT
        );
    }
    assert_eq!(server.gets.load(Ordering::SeqCst), 1);
    assert_eq!(server.heads.load(Ordering::SeqCst), 1);
    let actions: Vec<Action> = (0..4).map(|i| h.action(i)).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == Action::DownloadAndCache)
            .count(),
        1,
        "{actions:?}"
    );
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == Action::RetrieveFromCache)
            .count(),
        3,
        "{actions:?}"
    );
    assert_eq!(h.fetcher.cache_size(), 1);
    h.verify_cache_metrics();
    assert_eq!(
        h.metric("containerizer/fetcher/task_fetches_succeeded"),
        4.0
    );
}

/// Serialized tasks: one download, then copies (`HttpCachedSerialized`).
#[test]
fn http_cached_serialized() {
    let server = HttpServer::start(
        vec![(COMMAND_NAME, COMMAND_SCRIPT.as_bytes().to_vec())],
        Duration::ZERO,
    );
    let h = Harness::new(1 << 20);
    let url = format!("http://127.0.0.1:{}/{COMMAND_NAME}", server.port);
    for _ in 0..3 {
        let sandbox = h.launch(vec![uri(&url, |u| {
            u.executable = Some(true);
            u.cache = Some(true);
        })]);
        assert!(is_executable(&sandbox.join(COMMAND_NAME)));
    }
    assert_eq!(server.gets.load(Ordering::SeqCst), 1);
    assert_eq!(server.heads.load(Ordering::SeqCst), 1);
    h.verify_cache_metrics();
}
