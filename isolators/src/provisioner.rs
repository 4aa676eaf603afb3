//! The docker image provisioner without a daemon: a local registry of
//! `docker save` tarballs (`--docker_registry=<dir>`, `<dir>/<image>.tar`),
//! a layer store (`--docker_store_dir`) and the `copy` and `overlay`
//! backends (`--image_provisioner_backend`).
//!
//! Upstream: provisioner/provisioner.cpp, provisioner/docker/store.cpp,
//! provisioner/docker/image_tar_puller.cpp (the `repositories` file names the
//! top layer per tag; each layer's `json` names its `parent`; layers are
//! applied bottom-up), provisioner/backends/{copy,overlay}.cpp. The overlay
//! backend's `upperdir`/`workdir` are the container's ephemeral volumes (1.9
//! counts them toward the disk quota).
//!
//! Layers are unpacked with the host's `tar` (as upstream's
//! `command::untar`). Whiteouts (`.wh.<name>`, `.wh..wh..opq`) are applied
//! by the copy backend and converted to overlayfs form for the overlay one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use mesos_proto::docker::spec::v1::{image_manifest, ImageManifest};
use mesos_proto::mesos::{image, ContainerId, Image};

use crate::flags::IsolatorFlags;
use crate::namespaces::id_string;
use crate::Error;

/// What `provision` returns (upstream `ProvisionInfo`).
#[derive(Clone, Debug)]
pub struct ProvisionInfo {
    pub rootfs: PathBuf,
    pub docker_manifest: Option<ImageManifest>,
    /// Writable scratch dirs of the rootfs (overlay upper/work dirs).
    pub ephemeral_volumes: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Copy,
    Overlay,
}

/// The provisioner (docker store + one backend).
pub struct Provisioner {
    registry: PathBuf,
    store: PathBuf,
    root: PathBuf,
    backend: Backend,
    /// Container -> rootfs mount (overlay) to undo.
    mounted: Mutex<BTreeMap<String, PathBuf>>,
    /// Serialises pulls into the shared store.
    pull_lock: Mutex<()>,
}

fn overlay_supported() -> bool {
    std::fs::read_to_string("/proc/filesystems")
        .map(|f| f.lines().any(|l| l.trim_end().ends_with("overlay")))
        .unwrap_or(false)
}

fn perr(msg: String) -> Error {
    Error::Provision(msg)
}

/// Splits `[registry/]repository[:tag]` (`busybox`, `library/busybox:1.0`).
pub fn parse_reference(name: &str) -> (String, String) {
    let (repo, tag) = match name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r.to_string(), t.to_string()),
        _ => (name.to_string(), "latest".to_string()),
    };
    (repo, tag)
}

/// Parses a layer's `json` (legacy docker image JSON) into the v1 manifest
/// the docker/runtime isolator reads.
pub fn parse_v1_manifest(text: &str) -> Result<ImageManifest, Error> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| perr(format!("bad image manifest: {e}")))?;
    let strs = |c: &serde_json::Value, k: &str| -> Vec<String> {
        c.get(k)
            .and_then(|x| x.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let config = |c: &serde_json::Value| image_manifest::Config {
        entrypoint: strs(c, "Entrypoint"),
        env: strs(c, "Env"),
        cmd: strs(c, "Cmd"),
        working_dir: c
            .get("WorkingDir")
            .and_then(|w| w.as_str())
            .filter(|w| !w.is_empty())
            .map(str::to_string),
        user: c
            .get("User")
            .and_then(|w| w.as_str())
            .filter(|w| !w.is_empty())
            .map(str::to_string),
        ..Default::default()
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    Ok(ImageManifest {
        id: s("id"),
        parent: s("parent"),
        architecture: s("architecture"),
        os: s("os"),
        config: v.get("config").map(config),
        container_config: v.get("container_config").map(config),
        ..Default::default()
    })
}

fn untar(tarball: &Path, dir: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(dir)?;
    let out = Command::new("tar")
        .arg("-xf")
        .arg(tarball)
        .arg("-C")
        .arg(dir)
        .output()
        .map_err(|e| perr(format!("failed to run tar: {e}")))?;
    if !out.status.success() {
        return Err(perr(format!(
            "Failed to untar '{}': {}",
            tarball.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

const WH_PREFIX: &str = ".wh.";
const WH_OPAQUE: &str = ".wh..wh..opq";

/// Files of `dir` (recursively) whose name starts with `.wh.`.
fn whiteouts(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(WH_PREFIX) {
                out.push(p);
            } else if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                stack.push(p);
            }
        }
    }
    out
}

/// Converts AUFS-style whiteouts into overlayfs ones (a 0/0 char device
/// for a deleted entry, `trusted.overlay.opaque=y` for an opaque dir), as
/// upstream's store does when the backend is overlay.
fn convert_whiteouts_for_overlay(layer: &Path) -> Result<(), Error> {
    for wh in whiteouts(layer) {
        let name = wh
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let parent = wh.parent().unwrap_or(layer).to_path_buf();
        std::fs::remove_file(&wh)?;
        if name == WH_OPAQUE {
            let p = std::ffi::CString::new(parent.display().to_string())
                .map_err(|_| perr("NUL in path".into()))?;
            // SAFETY: valid C strings and a 1-byte value buffer.
            let rc = unsafe {
                libc::setxattr(
                    p.as_ptr(),
                    c"trusted.overlay.opaque".as_ptr(),
                    b"y".as_ptr().cast(),
                    1,
                    0,
                )
            };
            if rc != 0 {
                return Err(perr(format!(
                    "Failed to mark '{}' opaque: {}",
                    parent.display(),
                    std::io::Error::last_os_error()
                )));
            }
        } else {
            let target = parent.join(&name[WH_PREFIX.len()..]);
            nix::sys::stat::mknod(
                &target,
                nix::sys::stat::SFlag::S_IFCHR,
                nix::sys::stat::Mode::from_bits_truncate(0o000),
                0,
            )
            .map_err(|e| {
                perr(format!(
                    "Failed to create whiteout '{}': {e}",
                    target.display()
                ))
            })?;
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::create_dir_all(to)?;
    let out = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .output()
        .map_err(|e| perr(format!("failed to run cp: {e}")))?;
    if !out.status.success() {
        return Err(perr(format!(
            "Failed to copy layer '{}': {}",
            from.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

fn remove_any(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

impl Provisioner {
    pub fn new(flags: &IsolatorFlags) -> Result<Provisioner, Error> {
        // A remote `--docker_registry` (the default) is accepted: images
        // already in `--docker_store_dir` work, pulling them is refused.
        let backend = match flags.image_provisioner_backend.as_deref() {
            Some("copy") => Backend::Copy,
            Some("overlay") => {
                if !overlay_supported() {
                    return Err(perr(
                        "Backend 'overlay' is not supported on this host".into(),
                    ));
                }
                Backend::Overlay
            }
            Some(other) => {
                return Err(perr(format!(
                    "Unsupported image provisioner backend '{other}'"
                )))
            }
            // Upstream prefers overlay when available.
            None if overlay_supported() => Backend::Overlay,
            None => Backend::Copy,
        };
        Ok(Provisioner {
            registry: PathBuf::from(&flags.docker_registry),
            store: flags.docker_store_dir.clone(),
            root: flags.work_dir.join("provisioner"),
            backend,
            mounted: Mutex::new(BTreeMap::new()),
            pull_lock: Mutex::new(()),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn layer_dir(&self, id: &str) -> PathBuf {
        self.store.join("layers").join(id)
    }

    /// `paths::getImageLayerRootfsPath`: `rootfs.overlay` (whiteouts in
    /// overlayfs form) for the overlay backend, `rootfs` otherwise.
    fn layer_rootfs(&self, id: &str) -> PathBuf {
        self.layer_dir(id).join(match self.backend {
            Backend::Overlay => "rootfs.overlay",
            Backend::Copy => "rootfs",
        })
    }

    /// The images recorded in `storedImages`, keyed by reference.
    fn stored_images(&self) -> BTreeMap<String, Vec<String>> {
        stored_images(&self.store)
    }

    /// An image already in the store (`MetadataManager::get` with
    /// `Image.cached`), when every layer is still present.
    fn cached(&self, name: &str) -> Option<(Vec<String>, ImageManifest)> {
        let layers = self.stored_images().remove(name)?;
        if layers.is_empty() || layers.iter().any(|l| !self.layer_rootfs(l).is_dir()) {
            return None;
        }
        let top = layers.last()?;
        let manifest = std::fs::read_to_string(self.layer_dir(top).join("json"))
            .ok()
            .and_then(|t| parse_v1_manifest(&t).ok())?;
        Some((layers, manifest))
    }

    /// Pulls `name` from the local registry into the store (once); returns
    /// its layer ids bottom-up and the top layer's manifest.
    pub fn pull(&self, name: &str) -> Result<(Vec<String>, ImageManifest), Error> {
        self.get(name, true)
    }

    /// `Store::get`: the image from `storedImages` when `cached` and all its
    /// layers are there, else pulled (local registry only) and recorded.
    pub fn get(&self, name: &str, cached: bool) -> Result<(Vec<String>, ImageManifest), Error> {
        let _g = self.pull_lock.lock().unwrap_or_else(|e| e.into_inner());
        if cached {
            if let Some(found) = self.cached(name) {
                return Ok(found);
            }
        }
        if self.registry.display().to_string().contains("://") {
            return Err(perr(format!(
                "Failed to pull image '{name}': pulling from the remote registry '{}' is not \
                 supported; put the image into --docker_store_dir or use a local --docker_registry",
                self.registry.display()
            )));
        }
        let (layers, manifest) = self.pull_locked(name)?;
        if let Err(e) = record_stored_image(&self.store, name, &layers) {
            tracing::warn!("Failed to record image '{name}' in the docker store: {e}");
        }
        Ok((layers, manifest))
    }

    fn pull_locked(&self, name: &str) -> Result<(Vec<String>, ImageManifest), Error> {
        let (repo, tag) = parse_reference(name);
        let candidates = [
            self.registry.join(format!("{name}.tar")),
            self.registry.join(format!("{repo}:{tag}.tar")),
            self.registry.join(format!("{repo}.tar")),
        ];
        let tarball = candidates.iter().find(|p| p.exists()).ok_or_else(|| {
            // `ImageTarPullerProcess::pull`'s message.
            perr(format!(
                "Failed to find archive for image '{name}' at '{}'",
                candidates[0].display()
            ))
        })?;
        let staging = self
            .store
            .join("staging")
            .join(uuid::Uuid::new_v4().to_string());
        untar(tarball, &staging)?;
        let result = (|| {
            let repos: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(staging.join("repositories"))
                    .map_err(|e| perr(format!("Failed to read 'repositories': {e}")))?,
            )
            .map_err(|e| perr(format!("Failed to parse 'repositories': {e}")))?;
            let top = repos
                .get(&repo)
                .ok_or_else(|| {
                    perr(format!(
                        "Repository '{repo}' does not exist in 'repositories'"
                    ))
                })?
                .get(&tag)
                .and_then(|t| t.as_str())
                .ok_or_else(|| perr(format!("Layer id '{tag}' is not found")))?
                .to_string();
            let mut ids = vec![top.clone()];
            let mut cur = top;
            loop {
                let m = std::fs::read_to_string(staging.join(&cur).join("json"))
                    .map_err(|e| perr(format!("Failed to read manifest of layer '{cur}': {e}")))?;
                match parse_v1_manifest(&m)?.parent {
                    Some(p) if !p.is_empty() => {
                        if ids.contains(&p) || ids.len() > 1000 {
                            return Err(perr("cycle in image layer parents".into()));
                        }
                        ids.insert(0, p.clone());
                        cur = p;
                    }
                    _ => break,
                }
            }
            for id in &ids {
                if id.contains('/') || id.contains("..") {
                    return Err(perr(format!("invalid layer id '{id}'")));
                }
                let dst = self.layer_dir(id);
                let dst_rootfs = self.layer_rootfs(id);
                if dst_rootfs.exists() {
                    continue;
                }
                let tmp = self
                    .store
                    .join("staging")
                    .join(format!("{id}.{}", uuid::Uuid::new_v4()));
                untar(&staging.join(id).join("layer.tar"), &tmp.join("rootfs"))?;
                if self.backend == Backend::Overlay {
                    convert_whiteouts_for_overlay(&tmp.join("rootfs"))?;
                }
                std::fs::copy(staging.join(id).join("json"), tmp.join("json"))?;
                std::fs::create_dir_all(&dst)?;
                if !dst.join("json").exists() {
                    std::fs::rename(tmp.join("json"), dst.join("json"))?;
                }
                // The layer of the other backend may already be there.
                std::fs::rename(tmp.join("rootfs"), &dst_rootfs)?;
                let _ = std::fs::remove_dir_all(&tmp);
            }
            let top_manifest = parse_v1_manifest(&std::fs::read_to_string(
                self.layer_dir(ids.last().map(String::as_str).unwrap_or(""))
                    .join("json"),
            )?)?;
            Ok((ids, top_manifest))
        })();
        let _ = std::fs::remove_dir_all(&staging);
        result
    }

    fn container_dir(&self, id: &ContainerId) -> PathBuf {
        self.root.join("containers").join(id_string(id))
    }

    /// Builds the container's rootfs from `image` (docker only).
    pub fn provision(&self, id: &ContainerId, img: &Image) -> Result<ProvisionInfo, Error> {
        if img.r#type != image::Type::Docker as i32 {
            return Err(perr(format!(
                "Unsupported container image type: {}",
                image::Type::try_from(img.r#type)
                    .map(|t| t.as_str_name())
                    .unwrap_or("UNKNOWN")
            )));
        }
        let name = img
            .docker
            .as_ref()
            .map(|d| d.name.clone())
            .ok_or_else(|| perr("Docker image without a name".into()))?;
        let (layers, manifest) = self.get(&name, img.cached.unwrap_or(true))?;
        let rootfs_id = uuid::Uuid::new_v4().to_string();
        let cdir = self.container_dir(id);
        let mut ephemeral = Vec::new();
        let rootfs = match self.backend {
            Backend::Copy => {
                let rootfs = cdir.join("backends/copy/rootfses").join(&rootfs_id);
                std::fs::create_dir_all(&rootfs)?;
                for l in &layers {
                    let src = self.layer_rootfs(l);
                    // Whiteouts first delete what lower layers put there.
                    for wh in whiteouts(&src) {
                        let rel = wh.strip_prefix(&src).unwrap_or(&wh);
                        let name = wh
                            .file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .unwrap_or_default();
                        let parent_rel = rel.parent().unwrap_or(Path::new(""));
                        if name == WH_OPAQUE {
                            if let Ok(rd) = std::fs::read_dir(rootfs.join(parent_rel)) {
                                for e in rd.flatten() {
                                    remove_any(&e.path())?;
                                }
                            }
                        } else {
                            remove_any(&rootfs.join(parent_rel).join(&name[WH_PREFIX.len()..]))?;
                        }
                    }
                    copy_tree(&src, &rootfs)?;
                    for wh in whiteouts(&rootfs) {
                        remove_any(&wh)?;
                    }
                }
                rootfs
            }
            Backend::Overlay => {
                let base = cdir.join("backends/overlay");
                let rootfs = base.join("rootfses").join(&rootfs_id);
                let scratch = base.join("scratch").join(&rootfs_id);
                let upper = scratch.join("upperdir");
                let work = scratch.join("workdir");
                for d in [&rootfs, &upper, &work] {
                    std::fs::create_dir_all(d)?;
                }
                let lower: Vec<String> = layers
                    .iter()
                    .rev()
                    .map(|l| self.layer_rootfs(l).display().to_string())
                    .collect();
                let opts = format!(
                    "lowerdir={},upperdir={},workdir={}",
                    lower.join(":"),
                    upper.display(),
                    work.display()
                );
                crate::launch::mount(
                    Some("overlay"),
                    &rootfs.display().to_string(),
                    Some("overlay"),
                    0,
                    Some(&opts),
                )
                .map_err(|e| perr(format!("Failed to mount rootfs with overlay: {e}")))?;
                lock(&self.mounted).insert(id_string(id), rootfs.clone());
                ephemeral.push(upper.display().to_string());
                ephemeral.push(work.display().to_string());
                rootfs
            }
        };
        Ok(ProvisionInfo {
            rootfs,
            docker_manifest: Some(manifest),
            ephemeral_volumes: ephemeral,
        })
    }

    /// `ProvisionerProcess::recover`: which of the `known` containers (keys
    /// as [`id_string`]) still have a provisioned rootfs; the rootfses of
    /// containers nobody knows any more are destroyed.
    pub fn recover(&self, known: &[String]) -> Vec<String> {
        let mut have = Vec::new();
        let dir = self.root.join("containers");
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if known.contains(&name) {
                have.push(name);
                continue;
            }
            tracing::info!("Destroying the rootfs of orphan container {name}");
            let p = e.path();
            let r = crate::launch::unmount_all_below(&p.display().to_string())
                .and_then(|_| std::fs::remove_dir_all(&p).map_err(Error::from));
            if let Err(err) = r {
                tracing::warn!("Failed to destroy the rootfs of orphan container {name}: {err}");
            }
        }
        have
    }

    /// Removes the container's rootfs (unmounting the overlay first).
    pub fn destroy(&self, id: &ContainerId) -> Result<(), Error> {
        let cdir = self.container_dir(id);
        lock(&self.mounted).remove(&id_string(id));
        if cdir.exists() {
            crate::launch::unmount_all_below(&cdir.display().to_string())?;
            std::fs::remove_dir_all(&cdir)?;
        }
        Ok(())
    }
}

use mesos_proto::docker::spec::ImageReference;
use mesos_proto::mesos::internal::slave::docker::{Image as StoredImage, Images as StoredImages};

/// `stringify(spec::ImageReference)`: `[registry/]repository[:tag][@digest]`.
pub fn stringify_reference(r: &ImageReference) -> String {
    let mut s = String::new();
    if let Some(reg) = r.registry.as_deref().filter(|r| !r.is_empty()) {
        s.push_str(reg);
        s.push('/');
    }
    s.push_str(&r.repository);
    if let Some(t) = r.tag.as_deref().filter(|t| !t.is_empty()) {
        s.push(':');
        s.push_str(t);
    }
    if let Some(d) = r.digest.as_deref().filter(|d| !d.is_empty()) {
        s.push('@');
        s.push_str(d);
    }
    s
}

/// An `ImageReference` whose stringification is `name` (repository plus an
/// optional tag; the registry stays in the repository).
fn reference_of(name: &str) -> ImageReference {
    let (repo, tag) = match name.rsplit_once(':') {
        Some((r, t)) if !t.contains('/') => (r.to_string(), Some(t.to_string())),
        _ => (name.to_string(), None),
    };
    ImageReference {
        repository: repo,
        tag,
        ..Default::default()
    }
}

/// The images recorded in `<store>/storedImages` (a checkpointed
/// `mesos.internal.slave.docker.Images`, upstream's metadata manager),
/// keyed by their stringified reference, with layer ids bottom-up.
pub fn stored_images(store: &Path) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    let Ok(bytes) = std::fs::read(store.join("storedImages")) else {
        return out;
    };
    match read_images(&bytes) {
        Ok(images) => {
            for i in images.images {
                out.insert(stringify_reference(&i.reference), i.layer_ids);
            }
        }
        Err(e) => tracing::warn!("Ignoring unreadable docker store metadata: {e}"),
    }
    out
}

/// Records `name` -> `layers` (bottom-up) in `<store>/storedImages`,
/// replacing the file atomically, as the metadata manager's `put`.
pub fn record_stored_image(store: &Path, name: &str, layers: &[String]) -> Result<(), Error> {
    use prost::Message;
    let mut images = stored_images(store);
    images.insert(name.to_string(), layers.to_vec());
    let msg = StoredImages {
        images: images
            .into_iter()
            .map(|(n, l)| StoredImage {
                reference: reference_of(&n),
                layer_ids: l,
                config_digest: None,
            })
            .collect(),
    };
    let body = msg.encode_to_vec();
    let mut record = (body.len() as u32).to_ne_bytes().to_vec();
    record.extend_from_slice(&body);
    std::fs::create_dir_all(store)?;
    let tmp = store.join(format!(".storedImages.{}", uuid::Uuid::new_v4()));
    std::fs::write(&tmp, &record)?;
    std::fs::rename(&tmp, store.join("storedImages"))?;
    Ok(())
}

/// Reads a checkpointed `Images`: `[u32 length, host order][bytes]`
/// records, the last complete one wins.
fn read_images(bytes: &[u8]) -> Result<StoredImages, Error> {
    use prost::Message;
    let mut rest = bytes;
    let mut last = None;
    while rest.len() >= 4 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + len {
            break;
        }
        last = Some(
            StoredImages::decode(&rest[4..4 + len])
                .map_err(|e| perr(format!("bad storedImages record: {e}")))?,
        );
        rest = &rest[4 + len..];
    }
    last.ok_or_else(|| perr("empty storedImages".into()))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(
            parse_reference("busybox"),
            ("busybox".into(), "latest".into())
        );
        assert_eq!(
            parse_reference("library/busybox:1.0"),
            ("library/busybox".into(), "1.0".into())
        );
        assert_eq!(
            parse_reference("localhost:5000/busybox"),
            ("localhost:5000/busybox".into(), "latest".into())
        );
    }

    #[test]
    fn stored_images_round_trip_in_upstream_format() {
        use prost::Message;
        let dir = std::env::temp_dir().join(format!("stored-images-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(stored_images(&dir).is_empty());
        record_stored_image(&dir, "library/busybox:1.0", &["a".into(), "b".into()]).unwrap();
        record_stored_image(&dir, "img", &["c".into()]).unwrap();
        let m = stored_images(&dir);
        assert_eq!(m["library/busybox:1.0"], vec!["a", "b"]);
        assert_eq!(m["img"], vec!["c"]);
        // One record: [u32 length, host order][Images].
        let bytes = std::fs::read(dir.join("storedImages")).unwrap();
        let len = u32::from_ne_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(bytes.len(), 4 + len);
        let images = StoredImages::decode(&bytes[4..]).unwrap();
        let busybox = images
            .images
            .iter()
            .find(|i| i.reference.repository == "library/busybox")
            .unwrap();
        assert_eq!(busybox.reference.tag.as_deref(), Some("1.0"));
        // Garbage is ignored, not fatal.
        std::fs::write(
            dir.join("storedImages"),
            b"\x05\x00\x00\x00\xff\xff\xff\xff\xff",
        )
        .unwrap();
        assert!(stored_images(&dir).is_empty());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            stringify_reference(&ImageReference {
                registry: Some("reg:5000".into()),
                repository: "r".into(),
                tag: Some("t".into()),
                digest: None,
            }),
            "reg:5000/r:t"
        );
    }

    #[test]
    fn manifest_parsing() {
        let m = parse_v1_manifest(
            r#"{"id":"abc","parent":"def","config":{"Env":["A=1"],"Cmd":["sh"],
            "Entrypoint":null,"WorkingDir":"/w"}}"#,
        )
        .unwrap();
        assert_eq!(m.parent.as_deref(), Some("def"));
        let c = m.config.unwrap();
        assert_eq!(c.env, vec!["A=1"]);
        assert_eq!(c.cmd, vec!["sh"]);
        assert!(c.entrypoint.is_empty());
        assert_eq!(c.working_dir.as_deref(), Some("/w"));
        assert!(parse_v1_manifest("not json").is_err());
    }
}
