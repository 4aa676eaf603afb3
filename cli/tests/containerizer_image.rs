//! Root tests of the docker image provisioner (local registry of `docker
//! save` tarballs built here from Debian's static busybox), the copy and
//! overlay backends, `docker/runtime` (+ `--docker_ignore_runtime`),
//! `filesystem/linux` with a rootfs (/proc masking) and the volume
//! isolators, all observed from inside the container.

mod containerizer_common;

use std::path::Path;

use containerizer_common::*;
use mesos_proto::mesos::slave::ContainerConfig;
use mesos_proto::mesos::{container_info, image, volume, CommandInfo, Image, Volume};

const BUSYBOX: &str = "/bin/busybox";

fn have_busybox() -> bool {
    let ok = Path::new(BUSYBOX).exists();
    if !ok {
        eprintln!("SKIP: {BUSYBOX} missing (apt-get install -y busybox-static)");
    }
    ok
}

fn sh(cmd: &str, dir: &Path) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Writes `<registry>/testimg.tar` in the legacy `docker save` layout:
/// `repositories`, `<id>/json` (with `parent`), `<id>/layer.tar`. Layer 1
/// has busybox and `/etc/{keep,gone}`; layer 2 adds `/data/hello` and
/// whites out `/etc/gone`.
fn build_image(registry: &Path) {
    let work = registry.join("build");
    let l1 = work.join("l1");
    let l2 = work.join("l2");
    std::fs::create_dir_all(l1.join("bin")).unwrap();
    std::fs::create_dir_all(l1.join("etc")).unwrap();
    std::fs::create_dir_all(l2.join("data")).unwrap();
    std::fs::create_dir_all(l2.join("etc")).unwrap();
    std::fs::copy(BUSYBOX, l1.join("bin/busybox")).unwrap();
    for applet in [
        "sh", "echo", "cat", "ls", "pwd", "grep", "id", "touch", "mkdir", "true", "dd", "sleep",
    ] {
        std::os::unix::fs::symlink("busybox", l1.join("bin").join(applet)).unwrap();
    }
    std::fs::write(l1.join("etc/keep"), "k").unwrap();
    std::fs::write(l1.join("etc/gone"), "g").unwrap();
    std::fs::write(l2.join("data/hello"), "hello from layer2\n").unwrap();
    std::fs::write(l2.join("etc/.wh.gone"), "").unwrap();

    let img = work.join("img");
    let (id1, id2) = ("a".repeat(64), "b".repeat(64));
    for (id, layer, parent) in [(&id1, &l1, None), (&id2, &l2, Some(&id1))] {
        let d = img.join(id);
        std::fs::create_dir_all(&d).unwrap();
        sh(
            &format!("tar -cf {}/layer.tar -C {} .", d.display(), layer.display()),
            &work,
        );
        let mut json = serde_json::json!({
            "id": id,
            "config": {
                "Env": ["IMG_VAR=fromimage", "PATH=/bin"],
                "WorkingDir": "/data",
                "Cmd": ["/bin/sh", "-c",
                        "echo cwd=$(pwd) var=$IMG_VAR; cat /data/hello; ls /etc; echo pid=$$"],
            }
        });
        if let Some(p) = parent {
            json["parent"] = serde_json::json!(p);
        }
        std::fs::write(d.join("json"), json.to_string()).unwrap();
        std::fs::write(d.join("VERSION"), "1.0").unwrap();
    }
    std::fs::write(
        img.join("repositories"),
        serde_json::json!({"testimg": {"latest": id2}}).to_string(),
    )
    .unwrap();
    sh(
        &format!(
            "tar -cf {}/testimg.tar -C {} .",
            registry.display(),
            img.display()
        ),
        &work,
    );
    std::fs::remove_dir_all(&work).unwrap();
}

fn image_fixture(
    isolation: &str,
    backend: &str,
    modify: impl FnOnce(&mut mesos_isolators::IsolatorFlags),
) -> (Fixture, TempDir) {
    let registry = TempDir::new("registry");
    build_image(registry.path());
    let reg = registry.path().display().to_string();
    let t = Fixture::new(isolation, |f| {
        f.image_providers = vec!["docker".into()];
        f.docker_registry = reg;
        f.image_provisioner_backend = Some(backend.into());
        modify(f);
    });
    (t, registry)
}

fn with_image(c: &mut ContainerConfig) {
    let ci = mesos_container_info(c);
    ci.r#type = container_info::Type::Mesos as i32;
    ci.mesos = Some(container_info::MesosInfo {
        image: Some(Image {
            r#type: image::Type::Docker as i32,
            docker: Some(image::Docker {
                name: "testimg".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
    });
}

/// A command that leaves the executable to the image (ENTRYPOINT/CMD).
fn image_command(c: &mut ContainerConfig) {
    c.command_info = CommandInfo {
        shell: Some(false),
        ..Default::default()
    };
}

fn check_image_run(backend: &str) {
    let (t, _reg) = image_fixture(
        "filesystem/linux,docker/runtime,namespaces/pid",
        backend,
        |_| {},
    );
    let r = t.run("img1", "", |c| {
        with_image(c);
        image_command(c);
    });
    assert!(r.ok(), "{r:?}");
    // WORKDIR, ENV and CMD of the image; layer 2 on top of layer 1 with the
    // whiteout applied; pid namespace inside the image.
    assert!(r.stdout.contains("cwd=/data var=fromimage"), "{r:?}");
    assert!(r.stdout.contains("hello from layer2"), "{r:?}");
    assert!(r.stdout.contains("keep"), "{r:?}");
    assert!(!r.stdout.contains("gone"), "whiteout ignored: {r:?}");
    assert!(r.stdout.contains("pid=1"), "{r:?}");
    t.assert_clean("img1");
    let prov = t.flags.work_dir.join("provisioner/containers/img1");
    assert!(!prov.exists(), "rootfs left at {}", prov.display());
}

#[test]
fn docker_image_with_copy_backend_applies_runtime_config() {
    if !require_root() || !have_busybox() {
        return;
    }
    check_image_run("copy");
}

#[test]
fn docker_image_with_overlay_backend_applies_runtime_config() {
    if !require_root() || !have_busybox() {
        return;
    }
    check_image_run("overlay");
}

#[test]
fn docker_ignore_runtime_skips_env_workdir_and_cmd() {
    if !require_root() || !have_busybox() {
        return;
    }
    let cmd = "echo cwd=$(pwd) var=${IMG_VAR:-unset}";
    // Without the flag a shell command keeps the image's ENV and WORKDIR.
    let (t, _reg) = image_fixture("filesystem/linux,docker/runtime", "copy", |_| {});
    let r = t.run("rt1", cmd, with_image);
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("cwd=/data var=fromimage"), "{r:?}");

    let (t, _reg) = image_fixture("filesystem/linux,docker/runtime", "copy", |f| {
        f.docker_ignore_runtime = true
    });
    let r = t.run("rt2", cmd, with_image);
    assert!(r.ok(), "{r:?}");
    assert!(
        r.stdout.contains("cwd=/mnt/mesos/sandbox var=unset"),
        "{r:?}"
    );
    // With the runtime ignored the image's CMD is not used either.
    let e = t.run("rt3", "", |c| {
        with_image(c);
        image_command(c);
    });
    assert!(!e.ok(), "{e:?}");
}

#[test]
fn image_containers_get_proc_masked_unless_sharing_the_pid_namespace() {
    if !require_root() || !have_busybox() {
        return;
    }
    // Every masked path this kernel has must be covered by a mount.
    let present: Vec<&str> = mesos_isolators::filesystem::ROOTFS_MASKED_PATHS
        .iter()
        .copied()
        .filter(|p| Path::new(p).exists())
        .collect();
    assert!(!present.is_empty());
    let pattern: Vec<String> = present.iter().map(|p| format!(" {p} ")).collect();
    let cmd = format!(
        "echo masked=$(grep -c -E '{}' /proc/self/mountinfo); \
         echo sandbox > /mnt/mesos/sandbox/from-inside",
        pattern.join("|")
    );
    let cmd = cmd.as_str();
    let (t, _reg) = image_fixture("filesystem/linux,namespaces/pid", "copy", |_| {});
    let r = t.run("mask1", cmd, with_image);
    assert!(r.ok(), "{r:?}");
    assert_eq!(
        field(&r.stdout, "masked="),
        present.len().to_string(),
        "{r:?}"
    );
    // The sandbox is bind-mounted at --sandbox_directory.
    assert_eq!(
        std::fs::read_to_string(t.sandbox("mask1").join("from-inside")).unwrap(),
        "sandbox\n"
    );
    let r = t.run("mask2", cmd, |c| {
        with_image(c);
        set_linux_info(c, None, None, Some(true));
    });
    assert!(r.ok(), "{r:?}");
    assert_eq!(field(&r.stdout, "masked="), "0", "{r:?}");
    t.assert_clean("mask1");
}

#[test]
fn sandbox_path_and_host_path_volumes() {
    if !require_root() || !have_busybox() {
        return;
    }
    let host = TempDir::new("hostvol");
    std::fs::write(host.path().join("in-host"), "from host\n").unwrap();
    let (t, _reg) = image_fixture(
        "filesystem/linux,volume/sandbox_path,volume/host_path",
        "overlay",
        |_| {},
    );
    let hp = host.path().display().to_string();
    let r = t.run(
        "vol1",
        "cat /host/in-host; echo written > /host/in-container; echo s > /shared/file; \
         touch /ro/x 2>/dev/null && echo ro=writable || echo ro=readonly",
        |c| {
            with_image(c);
            let vols = &mut mesos_container_info(c).volumes;
            use volume::source::{sandbox_path, HostPath, SandboxPath, Type};
            vols.push(Volume {
                mode: volume::Mode::Rw as i32,
                container_path: "/host".into(),
                source: Some(volume::Source {
                    r#type: Some(Type::HostPath as i32),
                    host_path: Some(HostPath {
                        path: hp.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
            vols.push(Volume {
                mode: volume::Mode::Rw as i32,
                container_path: "/shared".into(),
                source: Some(volume::Source {
                    r#type: Some(Type::SandboxPath as i32),
                    sandbox_path: Some(SandboxPath {
                        r#type: Some(sandbox_path::Type::Self_ as i32),
                        path: "shared".into(),
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
            vols.push(Volume {
                mode: volume::Mode::Ro as i32,
                container_path: "/ro".into(),
                source: Some(volume::Source {
                    r#type: Some(Type::HostPath as i32),
                    host_path: Some(HostPath {
                        path: hp.clone(),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            });
        },
    );
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("from host"), "{r:?}");
    assert!(r.stdout.contains("ro=readonly"), "{r:?}");
    assert_eq!(
        std::fs::read_to_string(host.path().join("in-container")).unwrap(),
        "written\n"
    );
    assert_eq!(
        std::fs::read_to_string(t.sandbox("vol1").join("shared/file")).unwrap(),
        "s\n"
    );
    t.assert_clean("vol1");
}

fn disk(mb: f64) -> mesos_proto::mesos::Resource {
    mesos_isolators::util::scalar_resource("disk", mb)
}

#[test]
fn disk_du_counts_overlay_upper_dir_toward_the_quota() {
    if !require_root() || !have_busybox() {
        return;
    }
    let (t, _reg) = image_fixture("filesystem/linux,disk/du", "overlay", |f| {
        f.enforce_container_disk_quota = true;
        f.container_disk_watch_interval = std::time::Duration::from_millis(100);
    });
    // Writes go to the image rootfs (the overlay upper dir), not the sandbox.
    let r = t.run(
        "du1",
        "dd if=/dev/zero of=/data/big bs=1024 count=3072 2>/dev/null; sleep 30",
        |c| {
            with_image(c);
            c.resources.push(disk(1.0));
        },
    );
    assert_eq!(
        r.termination.reason,
        Some(mesos_proto::mesos::task_status::Reason::ContainerLimitationDisk as i32),
        "{r:?}"
    );
    let msg = r.termination.message.clone().unwrap_or_default();
    assert!(msg.starts_with("Disk usage ("), "{msg}");
    assert!(msg.ends_with("exceeds quota (1MB)"), "{msg}");
    assert_eq!(r.termination.limited_resources[0].name, "disk");
    t.assert_clean("du1");
    assert!(!t.flags.work_dir.join("provisioner/containers/du1").exists());
}

#[test]
fn disk_du_measures_the_sandbox_and_enforces_only_when_asked() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("disk/du", |f| {
        f.container_disk_watch_interval = std::time::Duration::from_millis(100);
    });
    let id = cid("du2");
    t.launch(
        &id,
        "dd if=/dev/zero of=big bs=1024 count=2048 2>/dev/null; touch written; sleep 30",
        0.1,
        32.0,
        |c| c.resources.push(disk(1.0)),
    )
    .unwrap();
    let sandbox = t.sandbox("du2");
    for _ in 0..100 {
        if sandbox.join("written").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    let u = t.cz.usage(&id).unwrap();
    assert!(u.disk_used_bytes.unwrap() >= 2 << 20, "{u:?}");
    assert_eq!(u.disk_limit_bytes, Some(1 << 20));
    // Not enforced: still running, no limitation.
    assert!(t.cz.limitation(&id).is_none());
    t.cz.destroy(&id);
    let term = t.cz.wait(&id).unwrap();
    assert!(term.reason.is_none(), "{term:?}");

    // Enforced: the same workload is destroyed with a disk limitation.
    let t = Fixture::new("disk/du", |f| {
        f.enforce_container_disk_quota = true;
        f.container_disk_watch_interval = std::time::Duration::from_millis(100);
    });
    let r = t.run(
        "du3",
        "dd if=/dev/zero of=big bs=1024 count=2048 2>/dev/null; sleep 30",
        |c| c.resources.push(disk(1.0)),
    );
    assert_eq!(
        r.termination.reason,
        Some(mesos_proto::mesos::task_status::Reason::ContainerLimitationDisk as i32),
        "{r:?}"
    );
}

/// A command task's container (`task_info` set, upstream's
/// `ContainerConfig.task_info` for the command executor): the executor
/// itself runs in the HOST filesystem, in the host sandbox, as root, with
/// the image's rootfs prepared in its mount namespace (sandbox bound at
/// `/mnt/mesos/sandbox` inside it) and gets upstream's arguments appended
/// after its own: `--working_directory`, `--task_command` (docker/runtime),
/// `--task_environment`, `--rootfs` (containerizer.cpp `_launch`).
#[test]
fn command_task_executor_stays_on_the_host_with_rootfs_flags() {
    if !require_root() || !have_busybox() {
        return;
    }
    let (t, _reg) = image_fixture("filesystem/linux,docker/runtime", "copy", |_| {});
    let helper = helper();
    let script = format!(
        "for a in \"$@\"; do echo \"arg:$a\"; done; \
         echo \"sandbox=$MESOS_SANDBOX pwd=$(pwd) uid=$(id -u)\"; \
         test -x {} && echo on-the-host; \
         for a in \"$@\"; do case $a in --rootfs=*) r=${{a#--rootfs=}};; esac; done; \
         cat $r/etc/keep; echo; cat $r/mnt/mesos/sandbox/marker; test -e $r/proc/self && echo proc-mounted",
        helper.display()
    );
    let sandbox = t.sandbox("cmdtask");
    std::fs::write(sandbox.join("marker"), "sandbox-bound\n").unwrap();
    let r = t.run("cmdtask", "", |c| {
        with_image(c);
        c.user = Some("nobody".into());
        c.command_info = CommandInfo {
            shell: Some(false),
            value: Some("/bin/sh".into()),
            arguments: vec!["sh".into(), "-c".into(), script.clone(), "executor".into()],
            ..Default::default()
        };
        c.task_info = Some(mesos_proto::mesos::TaskInfo {
            name: "t".into(),
            command: Some(CommandInfo {
                shell: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        });
    });
    assert!(r.ok(), "{r:?}");
    let args: Vec<&str> = r
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("arg:"))
        .collect();
    assert_eq!(args.len(), 4, "{r:?}");
    assert_eq!(args[0], "--working_directory=/data");
    assert!(args[1].starts_with("--task_command={"), "{args:?}");
    assert!(args[1].contains("/bin/sh"), "{args:?}");
    assert!(args[2].starts_with("--task_environment={"), "{args:?}");
    assert!(args[2].contains("IMG_VAR"), "{args:?}");
    assert!(args[3].starts_with("--rootfs=/"), "{args:?}");
    // MESOS_SANDBOX follows the image; the executor itself is on the host,
    // in the host sandbox, as root (it must enter the rootfs).
    assert!(
        r.stdout.contains(&format!(
            "sandbox=/mnt/mesos/sandbox pwd={} uid=0",
            sandbox.display()
        )),
        "{r:?}"
    );
    assert!(r.stdout.contains("on-the-host"), "{r:?}");
    assert!(r.stdout.contains("k\nsandbox-bound"), "{r:?}");
    assert!(r.stdout.contains("proc-mounted"), "{r:?}");
    t.assert_clean("cmdtask");
}

/// Without `--image_providers=docker` an image cannot be provisioned:
/// upstream's `Unsupported container image type: DOCKER`.
#[test]
fn image_without_a_provider_is_an_unsupported_type() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("filesystem/linux", |_| {});
    let e = t.try_run("noprov", "true", with_image).unwrap_err();
    assert_eq!(e, "Unsupported container image type: DOCKER");
    t.assert_clean("noprov");
}
