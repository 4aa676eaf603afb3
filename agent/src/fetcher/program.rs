//! What `mesos-fetcher` does with its `FetcherInfo` (upstream
//! `src/launcher/fetcher.cpp`): each item is fetched straight into the
//! sandbox (`BYPASS_CACHE`), or downloaded into the cache directory first
//! (`DOWNLOAD_AND_CACHE`), or taken from the cache (`RETRIEVE_FROM_CACHE`),
//! then made executable or extracted. The first failure stops the program
//! (exit status 1). The agent decides the actions and owns the cache's
//! bookkeeping; the program only copies.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use mesos_proto::mesos::command_info::Uri;
use mesos_proto::mesos::fetcher::{fetcher_info, FetcherInfo};

use super::{basename, download, validate_output_file};

/// Archives handed to `tar` (which recognizes the compression itself).
const TAR_SUFFIXES: [&str; 7] = [
    ".tar", ".tgz", ".tar.gz", ".tbz2", ".tar.bz2", ".txz", ".tar.xz",
];

/// Runs every item of `info`; returns what was fetched (for logging).
pub fn run(info: &FetcherInfo) -> Result<Vec<(String, PathBuf)>, String> {
    if info.sandbox_directory.is_empty() {
        return Err("Missing sandbox directory".into());
    }
    create_cache_directory(info)
        .map_err(|e| format!("Could not create the fetcher cache directory: {e}"))?;
    if let Some(user) = &info.user {
        su(user)
            .map_err(|e| format!("Fetcher could not execute `os::su()` for user '{user}': {e}"))?;
    }
    let sandbox = Path::new(&info.sandbox_directory);
    let stall = info
        .stall_timeout
        .as_ref()
        .map(|d| Duration::from_nanos(d.nanoseconds.max(0) as u64));
    let mut fetched = Vec::new();
    for item in &info.items {
        tracing::info!("Fetching URI '{}'", item.uri.value);
        let r = fetch_item(item, info, sandbox, stall)
            .map_err(|e| format!("Failed to fetch '{}': {e}", item.uri.value))?;
        tracing::info!("Fetched '{}' to '{}'", item.uri.value, r.display());
        fetched.push((item.uri.value.clone(), r));
    }
    Ok(fetched)
}

/// `os::su`: the task's groups, group and user (only when we are root and
/// someone else).
fn su(user: &str) -> Result<(), String> {
    let u = nix::unistd::User::from_name(user)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no such user '{user}'"))?;
    if nix::unistd::geteuid() == u.uid {
        return Ok(());
    }
    let name = std::ffi::CString::new(user).map_err(|e| e.to_string())?;
    nix::unistd::setgid(u.gid).map_err(|e| format!("setgid: {e}"))?;
    nix::unistd::initgroups(&name, u.gid).map_err(|e| format!("initgroups: {e}"))?;
    nix::unistd::setuid(u.uid).map_err(|e| format!("setuid: {e}"))?;
    Ok(())
}

/// `createCacheDirectory`: when any item uses the cache, its directory
/// exists and (before dropping privileges) belongs to the task's user.
pub fn create_cache_directory(info: &FetcherInfo) -> Result<(), String> {
    let Some(dir) = info.cache_directory.as_deref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    if info
        .items
        .iter()
        .all(|i| i.action() == fetcher_info::item::Action::BypassCache)
    {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("Failed to create '{dir}': {e}"))?;
    if let Some(user) = &info.user {
        let u = nix::unistd::User::from_name(user)
            .ok()
            .flatten()
            .ok_or_else(|| format!("no such user '{user}'"))?;
        nix::unistd::chown(dir, Some(u.uid), Some(u.gid))
            .map_err(|e| format!("Failed to chown '{dir}' to user '{user}': {e}"))?;
    }
    Ok(())
}

fn fetch_item(
    item: &fetcher_info::Item,
    info: &FetcherInfo,
    sandbox: &Path,
    stall: Option<Duration>,
) -> Result<PathBuf, String> {
    if item.action() == fetcher_info::item::Action::BypassCache {
        return fetch_bypassing_cache(&item.uri, sandbox, info.frameworks_home.as_deref(), stall);
    }
    fetch_through_cache(item, info, sandbox, stall)
}

/// `fetchThroughCache`: downloads into the cache file unless it is there
/// already (the same URI twice in one request), then takes it from there.
fn fetch_through_cache(
    item: &fetcher_info::Item,
    info: &FetcherInfo,
    sandbox: &Path,
    stall: Option<Duration>,
) -> Result<PathBuf, String> {
    let Some(dir) = info.cache_directory.as_deref().filter(|d| !d.is_empty()) else {
        return Err("Cache directory not specified".into());
    };
    let Some(name) = item.cache_filename.as_deref().filter(|n| !n.is_empty()) else {
        return Err(format!("No cache file name for: {}", item.uri.value));
    };
    // Our addition: a hand-written FetcherInfo cannot point outside the
    // cache directory.
    if name.contains('/') || name == "." || name == ".." || name.contains('\0') {
        return Err(format!("Invalid cache file name: {name}"));
    }
    let cache_file = Path::new(dir).join(name);
    if item.action() == fetcher_info::item::Action::DownloadAndCache && !cache_file.exists() {
        fetch_to(
            &item.uri.value,
            &cache_file,
            info.frameworks_home.as_deref(),
            stall,
        )?;
    }
    fetch_from_cache(&item.uri, &cache_file, sandbox)
}

/// `fetchFromCache`: the cache file into the sandbox — copied (and made
/// executable), or extracted (the archive itself is not copied).
fn fetch_from_cache(uri: &Uri, cache_file: &Path, sandbox: &Path) -> Result<PathBuf, String> {
    tracing::info!("Fetching URI '{}' from cache", uri.value);
    let output = output_path(uri, sandbox)?;
    let dest = sandbox.join(&output);
    if uri.executable() {
        copy_file(cache_file, &dest)?;
        chmod_executable(&dest)?;
        return Ok(dest);
    }
    if uri.extract() {
        // A bare `.gz` is named after the sandbox name, not the cache
        // file's (upstream would write `c<n>-<name>`).
        if extract_named(cache_file, sandbox, Some(&output))? {
            return Ok(sandbox.to_path_buf());
        }
        tracing::warn!(
            "Copying instead of extracting resource from URI with 'extract' flag, \
             because it does not seem to be an archive: {}",
            uri.value
        );
    }
    copy_file(cache_file, &dest)?;
    Ok(dest)
}

/// The item's name in the sandbox (`output_file` or the URI's base name),
/// with `output_file`'s subdirectories created.
fn output_path(uri: &Uri, sandbox: &Path) -> Result<String, String> {
    match &uri.output_file {
        Some(o) => {
            // Checked again here: the program may be run by hand.
            validate_output_file(o)?;
            if let Some(dir) = Path::new(o).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(sandbox.join(dir)).map_err(|e| {
                    format!(
                        "Unable to create subdirectory {} in sandbox: {e}",
                        dir.display()
                    )
                })?;
            }
            Ok(o.clone())
        }
        None => basename(uri.value.trim_start()),
    }
}

fn copy_file(src: &Path, dest: &Path) -> Result<(), String> {
    std::fs::copy(src, dest).map(|_| ()).map_err(|e| {
        format!(
            "Failed to copy '{}' to '{}': {e}",
            src.display(),
            dest.display()
        )
    })
}

/// `fetchBypassingCache`.
fn fetch_bypassing_cache(
    uri: &Uri,
    sandbox: &Path,
    frameworks_home: Option<&str>,
    stall: Option<Duration>,
) -> Result<PathBuf, String> {
    tracing::info!(
        "Fetching '{}' directly into the sandbox directory",
        uri.value
    );
    let output = output_path(uri, sandbox)?;
    let path = sandbox.join(&output);
    fetch_to(&uri.value, &path, frameworks_home, stall)?;
    if uri.executable() {
        chmod_executable(&path)?;
    } else if uri.extract() && !extract(&path, sandbox)? {
        tracing::warn!(
            "Copying instead of extracting resource from URI with 'extract' flag, \
             because it does not seem to be an archive: {}",
            uri.value
        );
    }
    Ok(path)
}

/// `Fetcher::uriToLocalPath`: `file://` URIs and plain paths are local;
/// `None` for other schemes.
pub fn uri_to_local_path(
    uri: &str,
    frameworks_home: Option<&str>,
) -> Result<Option<PathBuf>, String> {
    let file_uri = uri.starts_with("file://");
    if !file_uri && uri.contains("://") {
        return Ok(None);
    }
    let path = uri.strip_prefix("file://").unwrap_or(uri);
    let path = path.strip_prefix("localhost").unwrap_or(path);
    if path.starts_with('/') {
        return Ok(Some(PathBuf::from(path)));
    }
    if file_uri {
        return Err("File URI only supports absolute paths".into());
    }
    match frameworks_home.filter(|h| !h.is_empty()) {
        Some(home) => Ok(Some(Path::new(home).join(path))),
        None => Err("A relative path was passed for the resource but the \
                     Mesos framework home was not specified. \
                     Please either provide this config option \
                     or avoid using a relative path"
            .into()),
    }
}

/// `Fetcher::isNetUri`.
pub fn is_net_uri(uri: &str) -> bool {
    ["http://", "https://", "ftp://", "ftps://"]
        .iter()
        .any(|p| uri.starts_with(p))
}

/// `download`: a local copy, a network download, or (upstream) the Hadoop
/// client for any other scheme.
fn fetch_to(
    raw: &str,
    dest: &Path,
    frameworks_home: Option<&str>,
    stall: Option<Duration>,
) -> Result<(), String> {
    let uri = raw.trim_start();
    basename(uri)?;
    if let Some(src) = uri_to_local_path(uri, frameworks_home)? {
        tracing::info!(
            "Copying resource with command:cp '{}' '{}'",
            src.display(),
            dest.display()
        );
        if src.is_dir() {
            return Err(format!(
                "Failed to copy '{}': is a directory",
                src.display()
            ));
        }
        std::fs::copy(&src, dest).map_err(|e| {
            format!(
                "Failed to copy '{}' to '{}': {e}",
                src.display(),
                dest.display()
            )
        })?;
        return Ok(());
    }
    if uri.starts_with("http://") || uri.starts_with("https://") {
        tracing::info!("Downloading resource from '{uri}' to '{}'", dest.display());
        let code = download::download(uri, dest, stall)
            .map_err(|e| format!("Error downloading resource: {e}"))?;
        if code != 200 {
            let _ = std::fs::remove_file(dest);
            return Err(format!(
                "Error downloading resource, received HTTP return code {code}"
            ));
        }
        return Ok(());
    }
    if is_net_uri(uri) {
        return Err("Error downloading resource: FTP is not supported by this fetcher".into());
    }
    Err("HDFS copyToLocal failed: the Hadoop client is not supported by this fetcher".into())
}

/// `chmodExecutable`: rwxr-xr-x.
fn chmod_executable(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("Failed to chmod executable '{}': {e}", path.display()))
}

/// `extract`: archives by name with `tar` / `unzip`, a bare `.gz` with
/// `gunzip`; `Ok(false)` when the name is no archive's.
pub fn extract(source: &Path, dest: &Path) -> Result<bool, String> {
    extract_named(source, dest, None)
}

/// [`extract`], a bare `.gz` becoming `gz_name` minus `.gz` (default: the
/// source's name minus `.gz`).
fn extract_named(source: &Path, dest: &Path, gz_name: Option<&str>) -> Result<bool, String> {
    let name = source.to_string_lossy().into_owned();
    let mut cmd = if TAR_SUFFIXES.iter().any(|s| name.ends_with(s)) {
        let mut c = Command::new("tar");
        c.arg("-C").arg(dest).arg("-xf").arg(source);
        c
    } else if name.ends_with(".zip") {
        let mut c = Command::new("unzip");
        c.arg("-o").arg("-q").arg(source).arg("-d").arg(dest);
        c
    } else if let Some(stem) = name.strip_suffix(".gz") {
        let stem = gz_name
            .map(|n| n.strip_suffix(".gz").unwrap_or(n))
            .unwrap_or(stem);
        let file = Path::new(stem)
            .file_name()
            .map(PathBuf::from)
            .unwrap_or_default();
        let out = std::fs::File::create(dest.join(&file))
            .map_err(|e| format!("Failed to extract '{name}': {e}"))?;
        let input =
            std::fs::File::open(source).map_err(|e| format!("Failed to extract '{name}': {e}"))?;
        let mut c = Command::new("gunzip");
        c.arg("-d").arg("-c").stdin(input).stdout(out);
        c
    } else {
        return Ok(false);
    };
    let status = cmd.stderr(Stdio::inherit()).status().map_err(|e| {
        format!(
            "Failed to extract archive '{name}' to '{}': {e}",
            dest.display()
        )
    })?;
    if !status.success() {
        use std::os::unix::process::ExitStatusExt;
        return Err(format!(
            "Failed to extract archive '{name}' to '{}': {:?} {}",
            dest.display(),
            cmd.get_program(),
            crate::slave::tasks::describe_status(Some(status.into_raw()))
        ));
    }
    tracing::info!("Extracted '{name}' into '{}'", dest.display());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(uri: &str, f: impl FnOnce(&mut Uri)) -> fetcher_info::Item {
        let mut u = Uri {
            value: uri.into(),
            ..Default::default()
        };
        f(&mut u);
        fetcher_info::Item {
            uri: u,
            action: 0,
            cache_filename: None,
        }
    }

    fn info(sandbox: &Path, items: Vec<fetcher_info::Item>) -> FetcherInfo {
        FetcherInfo {
            sandbox_directory: sandbox.display().to_string(),
            items,
            ..Default::default()
        }
    }

    #[test]
    fn local_paths_and_file_uris() {
        assert_eq!(
            uri_to_local_path("file:///a/b", None).unwrap(),
            Some(PathBuf::from("/a/b"))
        );
        assert_eq!(
            uri_to_local_path("file://localhost/a/b", None).unwrap(),
            Some(PathBuf::from("/a/b"))
        );
        assert!(uri_to_local_path("file://a/b", None).is_err());
        assert!(uri_to_local_path("rel/x", None).is_err());
        assert_eq!(
            uri_to_local_path("rel/x", Some("/home")).unwrap(),
            Some(PathBuf::from("/home/rel/x"))
        );
        assert_eq!(uri_to_local_path("http://h/x", None).unwrap(), None);
    }

    #[test]
    fn copies_chmods_extracts_and_renames() {
        let src = tempfile::tempdir().unwrap();
        let sandbox = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("run.sh"), b"#!/bin/sh\n").unwrap();
        std::fs::create_dir_all(src.path().join("tree/d")).unwrap();
        std::fs::write(src.path().join("tree/d/f.txt"), b"in archive").unwrap();
        let tgz = src.path().join("a.tar.gz");
        let ok = Command::new("tar")
            .arg("-C")
            .arg(src.path().join("tree"))
            .arg("-czf")
            .arg(&tgz)
            .arg("d")
            .status()
            .unwrap();
        assert!(ok.success());
        let items = vec![
            item(&src.path().join("run.sh").display().to_string(), |u| {
                u.executable = Some(true)
            }),
            item(&format!("file://{}", tgz.display()), |u| {
                u.extract = Some(true)
            }),
            item(&src.path().join("run.sh").display().to_string(), |u| {
                u.output_file = Some("sub/dir/renamed.sh".into())
            }),
        ];
        run(&info(sandbox.path(), items)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sandbox.path().join("run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert_eq!(
            std::fs::read(sandbox.path().join("d/f.txt")).unwrap(),
            b"in archive"
        );
        assert!(sandbox.path().join("a.tar.gz").exists());
        assert!(sandbox.path().join("sub/dir/renamed.sh").exists());
    }

    fn have(tool: &str) -> bool {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    #[test]
    fn extracts_every_archive_kind() {
        let src = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(src.path().join("d")).unwrap();
        std::fs::write(src.path().join("d/f.txt"), b"payload").unwrap();
        let sh = |cmd: &str| {
            let ok = Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(src.path())
                .status()
                .unwrap();
            assert!(ok.success(), "{cmd}");
        };
        let mut cases = vec![("a.tar", "tar -cf a.tar d"), ("a.tgz", "tar -czf a.tgz d")];
        if have("bzip2") {
            cases.push(("a.tar.bz2", "tar -cjf a.tar.bz2 d"));
        }
        if have("xz") {
            cases.push(("a.txz", "tar -cJf a.txz d"));
        }
        if have("zip") && have("unzip") {
            cases.push(("a.zip", "zip -q -r a.zip d"));
        } else {
            println!("SKIP: zip/unzip absent, .zip extraction not checked");
        }
        for (name, cmd) in cases {
            sh(cmd);
            let out = tempfile::tempdir().unwrap();
            assert!(
                extract(&src.path().join(name), out.path()).unwrap(),
                "{name}"
            );
            assert_eq!(
                std::fs::read(out.path().join("d/f.txt")).unwrap(),
                b"payload",
                "{name}"
            );
        }
        // A bare .gz becomes the file without the suffix.
        sh("gzip -c d/f.txt > f.txt.gz");
        let out = tempfile::tempdir().unwrap();
        assert!(extract(&src.path().join("f.txt.gz"), out.path()).unwrap());
        assert_eq!(std::fs::read(out.path().join("f.txt")).unwrap(), b"payload");
        // Not an archive's name: not extracted.
        assert!(!extract(&src.path().join("d/f.txt"), out.path()).unwrap());
        // A corrupt archive is an error naming it.
        std::fs::write(src.path().join("bad.tar.gz"), b"not gzip").unwrap();
        let e = extract(&src.path().join("bad.tar.gz"), out.path()).unwrap_err();
        assert!(
            e.contains("Failed to extract archive") && e.contains("bad.tar.gz"),
            "{e}"
        );
    }

    #[test]
    fn failures_name_the_uri() {
        let sandbox = tempfile::tempdir().unwrap();
        let e = run(&info(sandbox.path(), vec![item("/no/such/file", |_| {})])).unwrap_err();
        assert!(e.starts_with("Failed to fetch '/no/such/file'"), "{e}");
        let e = run(&info(sandbox.path(), vec![item("hdfs://nn/x", |_| {})])).unwrap_err();
        assert!(e.contains("HDFS"), "{e}");
        let e = run(&info(
            sandbox.path(),
            vec![item("/etc/hostname", |u| {
                u.output_file = Some("../escape".into())
            })],
        ))
        .unwrap_err();
        assert!(e.contains("within the sandbox"), "{e}");
        let mut cached = item("/etc/hostname", |_| {});
        cached.action = fetcher_info::item::Action::DownloadAndCache as i32;
        let e = run(&info(sandbox.path(), vec![cached.clone()])).unwrap_err();
        assert!(e.contains("Cache directory not specified"), "{e}");
        let cache = tempfile::tempdir().unwrap();
        let mut with_dir = info(sandbox.path(), vec![cached.clone()]);
        with_dir.cache_directory = Some(cache.path().display().to_string());
        let e = run(&with_dir).unwrap_err();
        assert!(e.contains("No cache file name"), "{e}");
        cached.cache_filename = Some("../escape".into());
        with_dir.items = vec![cached];
        let e = run(&with_dir).unwrap_err();
        assert!(e.contains("Invalid cache file name"), "{e}");
        assert!(!cache.path().join("../escape").exists());
    }
}
