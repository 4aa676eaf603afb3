//! Path resolution against hostile input, and browse/read semantics.

use super::*;
use std::os::unix::fs::symlink;

struct Fixture {
    _tmp: tempfile::TempDir,
    files: Files,
    sandbox: PathBuf,
    outside: PathBuf,
}

/// `<tmp>/sandbox/{hello.txt, sub/inner.txt}` attached at `/sandbox`,
/// `<tmp>/sandbox-sibling/secret` and `<tmp>/outside/secret` not attached.
fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let sandbox = tmp.path().join("sandbox");
    std::fs::create_dir_all(sandbox.join("sub")).unwrap();
    std::fs::write(sandbox.join("hello.txt"), b"hello world").unwrap();
    std::fs::write(sandbox.join("sub/inner.txt"), b"inner").unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), b"top secret").unwrap();
    std::fs::create_dir_all(tmp.path().join("sandbox-sibling")).unwrap();
    std::fs::write(tmp.path().join("sandbox-sibling/secret"), b"sibling").unwrap();
    let files = Files::new();
    files.attach(&sandbox, "/sandbox").unwrap();
    Fixture {
        files,
        sandbox: std::fs::canonicalize(&sandbox).unwrap(),
        outside: std::fs::canonicalize(&outside).unwrap(),
        _tmp: tmp,
    }
}

fn is_invalid<T: std::fmt::Debug>(r: Result<T, FilesError>) -> bool {
    matches!(r, Err(FilesError::Invalid(_)))
}

fn is_not_found<T: std::fmt::Debug>(r: Result<T, FilesError>) -> bool {
    matches!(r, Err(FilesError::NotFound(_)))
}

#[test]
fn resolves_attached_paths() {
    let f = fixture();
    assert_eq!(f.files.resolve("/sandbox").unwrap(), f.sandbox);
    assert_eq!(f.files.resolve("/sandbox/").unwrap(), f.sandbox);
    assert_eq!(
        f.files.resolve("/sandbox/hello.txt").unwrap(),
        f.sandbox.join("hello.txt")
    );
    // stout's join collapses doubled separators, and `file://` is dropped.
    assert_eq!(
        f.files.resolve("//sandbox//sub/inner.txt").unwrap(),
        f.sandbox.join("sub/inner.txt")
    );
    assert_eq!(
        f.files.resolve("file:///sandbox/hello.txt").unwrap(),
        f.sandbox.join("hello.txt")
    );
    // `..` that stays inside the root is fine.
    assert_eq!(
        f.files.resolve("/sandbox/sub/../hello.txt").unwrap(),
        f.sandbox.join("hello.txt")
    );
}

#[test]
fn dot_dot_escaping_the_root_is_bad_request() {
    let f = fixture();
    assert!(is_invalid(f.files.resolve("/sandbox/..")));
    assert!(is_invalid(f.files.resolve("/sandbox/../outside/secret")));
    assert!(is_invalid(
        f.files.resolve("/sandbox/sub/../../outside/secret")
    ));
    assert!(is_invalid(f.files.read(
        0,
        None,
        "/sandbox/../outside/secret"
    )));
    assert!(is_invalid(f.files.browse("/sandbox/../outside")));
}

#[test]
fn sibling_with_common_string_prefix_is_rejected() {
    // Upstream's string-prefix test would let `<tmp>/sandbox-sibling` through.
    let f = fixture();
    assert!(is_invalid(
        f.files.resolve("/sandbox/../sandbox-sibling/secret")
    ));
}

#[test]
fn unattached_relative_and_absolute_paths_are_not_found() {
    let f = fixture();
    assert!(is_not_found(f.files.resolve("/etc/passwd")));
    assert!(is_not_found(f.files.resolve("sandbox/hello.txt")));
    assert!(is_not_found(
        f.files
            .resolve(&f.outside.join("secret").display().to_string())
    ));
    assert!(is_not_found(f.files.resolve("/")));
    assert!(is_not_found(f.files.resolve("")));
    assert!(is_not_found(f.files.resolve("/sandbox/missing.txt")));
    assert!(is_not_found(f.files.read(0, None, "/sandboxx/hello.txt")));
}

#[test]
fn nul_bytes_are_bad_request() {
    let f = fixture();
    assert!(is_invalid(f.files.resolve("/sandbox/hello.txt\0.png")));
    assert!(is_invalid(f.files.browse("/sandbox\0")));
}

#[test]
fn percent_encoding_is_not_decoded_twice() {
    // The transport decodes the query once; what is left is a literal name.
    let f = fixture();
    assert!(is_not_found(
        f.files.resolve("/sandbox/%2e%2e/outside/secret")
    ));
    assert!(is_not_found(f.files.resolve("/sandbox/..%2fhello.txt")));
}

#[test]
fn symlinks_escaping_the_root_are_rejected() {
    let f = fixture();
    symlink(f.outside.join("secret"), f.sandbox.join("link-file")).unwrap();
    symlink(&f.outside, f.sandbox.join("link-dir")).unwrap();
    symlink("/", f.sandbox.join("root")).unwrap();
    symlink("sub/inner.txt", f.sandbox.join("inside-link")).unwrap();
    assert!(is_invalid(f.files.read(0, None, "/sandbox/link-file")));
    assert!(is_invalid(f.files.read(
        0,
        None,
        "/sandbox/link-dir/secret"
    )));
    assert!(is_invalid(f.files.browse("/sandbox/link-dir")));
    assert!(is_invalid(f.files.read(
        0,
        None,
        "/sandbox/root/etc/passwd"
    )));
    // A symlink that stays inside is followed.
    assert_eq!(
        f.files.read(0, None, "/sandbox/inside-link").unwrap().1,
        b"inner"
    );
    // Listing shows the escaping links as links, not their targets.
    let listing = f.files.browse("/sandbox").unwrap();
    let by_name = |n: &str| {
        listing
            .iter()
            .find(|i| i.path == format!("/sandbox/{n}"))
            .unwrap()
            .clone()
    };
    assert_eq!(
        model::mode_string(by_name("link-file").mode.unwrap()).as_bytes()[0],
        b'l'
    );
    assert_eq!(
        model::mode_string(by_name("link-dir").mode.unwrap()).as_bytes()[0],
        b'l'
    );
    assert_eq!(by_name("inside-link").size, Some(5));
}

#[test]
fn attached_root_swapped_for_a_symlink_is_rejected() {
    let f = fixture();
    let log = f.sandbox.join("agent.log");
    std::fs::write(&log, b"log line").unwrap();
    f.files.attach(&log, "/slave/log").unwrap();
    assert_eq!(f.files.read(0, None, "/slave/log").unwrap().1, b"log line");
    // A file under an attached file is 'not found', as upstream.
    assert!(is_not_found(f.files.read(0, None, "/slave/log/x")));
    std::fs::remove_file(&log).unwrap();
    symlink(f.outside.join("secret"), &log).unwrap();
    assert!(is_invalid(f.files.read(0, None, "/slave/log")));
}

#[test]
fn browse_lists_sorted_entries_under_the_virtual_path() {
    let f = fixture();
    let listing = f.files.browse("/sandbox/").unwrap();
    let paths: Vec<&str> = listing.iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["/sandbox/hello.txt", "/sandbox/sub"]);
    let hello = &listing[0];
    assert_eq!(hello.size, Some(11));
    assert_eq!(hello.nlink, Some(1));
    let v = model::file_info_json(hello);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        ["gid", "mode", "mtime", "nlink", "path", "size", "uid"]
    );
    assert!(v["mode"].as_str().unwrap().starts_with("-rw"));
    assert!(model::mode_string(listing[1].mode.unwrap()).starts_with('d'));
    // Browsing a file lists nothing (upstream's `ls` fails quietly).
    assert!(f.files.browse("/sandbox/hello.txt").unwrap().is_empty());
}

#[test]
fn read_offsets_lengths_and_caps() {
    let f = fixture();
    assert_eq!(
        f.files.read(0, None, "/sandbox/hello.txt").unwrap(),
        (11, b"hello world".to_vec())
    );
    assert_eq!(
        f.files.read(6, Some(3), "/sandbox/hello.txt").unwrap(),
        (11, b"wor".to_vec())
    );
    assert_eq!(
        f.files.read(0, Some(0), "/sandbox/hello.txt").unwrap(),
        (11, vec![])
    );
    assert_eq!(
        f.files.read(50, None, "/sandbox/hello.txt").unwrap(),
        (11, vec![])
    );
    assert!(is_invalid(f.files.read(0, None, "/sandbox/sub")));
    let big = vec![b'x'; (max_read_length() * 2) as usize];
    std::fs::write(f.sandbox.join("big"), &big).unwrap();
    let (size, data) = f.files.read(0, None, "/sandbox/big").unwrap();
    assert_eq!(size, max_read_length() * 2);
    assert_eq!(data.len() as u64, max_read_length());
}

#[test]
fn attach_detach_and_debug() {
    let f = fixture();
    assert!(matches!(
        f.files.attach("/no/such/dir", "/x"),
        Err(FilesError::NotFound(_))
    ));
    f.files.attach(&f.sandbox, "/frameworks/a/latest/").unwrap();
    assert_eq!(
        f.files.snapshot().get("/frameworks/a/latest"),
        Some(&f.sandbox)
    );
    // The longest attached prefix wins.
    f.files
        .attach(f.sandbox.join("sub"), "/sandbox/hello.txt")
        .unwrap();
    assert_eq!(
        f.files.resolve("/sandbox/hello.txt/inner.txt").unwrap(),
        f.sandbox.join("sub/inner.txt")
    );
    f.files.detach_if("/frameworks/a/latest", &f.outside);
    assert!(f.files.snapshot().contains_key("/frameworks/a/latest"));
    f.files.detach_if("/frameworks/a/latest", &f.sandbox);
    assert!(!f.files.snapshot().contains_key("/frameworks/a/latest"));
    f.files.detach("/sandbox/");
    assert!(is_not_found(f.files.resolve("/sandbox/sub/inner.txt")));
}
