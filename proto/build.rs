//! Compiles `proto/**/*.proto` (our reproduction of the Mesos 1.9.0 schema) with prost,
//! and writes the descriptor set that the JSON layer and the schema test use.

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read proto dir")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "proto") {
            out.push(p);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("proto");
    let mut files = Vec::new();
    collect(&root, &mut files);
    println!("cargo:rerun-if-changed={}", root.display());

    if std::env::var_os("PROTOC").is_none() {
        let protoc = protoc_bin_vendored::protoc_bin_path().expect("vendored protoc");
        // SAFETY: build scripts are single-threaded.
        unsafe { std::env::set_var("PROTOC", protoc) };
    }
    let wkt = protoc_bin_vendored::include_path().expect("vendored protoc include path");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    let mut cfg = prost_build::Config::new();
    cfg.file_descriptor_set_path(out.join("mesos_descriptors.bin"))
        .enable_type_names()
        .include_file("mesos_proto.rs")
        .btree_map(["."])
        .bytes(["."])
        // `DiskInfo` is most of a `Resource`'s inline size (728 of 1000
        // bytes), yet few resources have one; boxed, every resource held
        // by the master, agent and allocator is ~280 bytes.
        .boxed(".mesos.Resource.disk")
        .boxed(".mesos.v1.Resource.disk");
    cfg.compile_protos(&files, &[root, wkt])
        .expect("compile protos");
}
