//! Root tests of the Linux isolators, each observed from INSIDE a container
//! launched through `LinuxContainerizer` -> Linux launcher (clone) ->
//! `mesos-containerizer launch`. Tests that need root skip (with a message)
//! when not run as root.

mod containerizer_common;

use containerizer_common::*;
use mesos_proto::mesos::linux_info::IpcMode;
use mesos_proto::mesos::task_status::Reason;

#[test]
fn launch_helper_execs_with_exact_env_workdir_and_nnp() {
    // The helper alone, without namespaces: runs as any user.
    let dir = TempDir::new("helper");
    let info = mesos_proto::mesos::slave::ContainerLaunchInfo {
        command: Some(shell(
            "echo pwd=$(pwd) v=$V home=${HOME:-none}; grep NoNewPrivs /proc/self/status",
        )),
        environment: Some(env(&[("V", "1")])),
        working_directory: Some(dir.path().display().to_string()),
        no_new_privileges: Some(true),
        ..Default::default()
    };
    let json = mesos_isolators::launch::launch_info_json(&info).unwrap();
    let out = std::process::Command::new(helper())
        .arg("launch")
        .arg(format!("--launch_info={json}"))
        .env("HOME", "/root")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("pwd={}", dir.path().display())),
        "{stdout}"
    );
    assert!(stdout.contains("v=1 home=none"), "{stdout}");
    assert!(stdout.contains("NoNewPrivs:\t1"), "{stdout}");

    // Bad JSON and mounts without a mount namespace are refused.
    let out = std::process::Command::new(helper())
        .args(["launch", "--launch_info={\"command\":3}"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let info = mesos_proto::mesos::slave::ContainerLaunchInfo {
        command: Some(shell("true")),
        mounts: vec![mesos_isolators::launch::container_mount(
            Some("tmpfs"),
            "/mnt",
            Some("tmpfs"),
            None,
            0,
        )],
        ..Default::default()
    };
    let json = mesos_isolators::launch::launch_info_json(&info).unwrap();
    let out = std::process::Command::new(helper())
        .args(["launch", &format!("--launch_info={json}")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("mount namespace is not cloned"));
}

#[test]
fn ipc_default_top_level_gets_private_namespace_and_shares_agent_shm() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("filesystem/linux,namespaces/ipc", |_| {});
    let host_ns = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let r = t.run(
        "ipc1",
        "readlink /proc/self/ns/ipc; stat -f -c %T /dev/shm",
        |_| {},
    );
    assert!(r.ok(), "{r:?}");
    assert!(!r.stdout.contains(&host_ns.display().to_string()), "{r:?}");
    assert!(r.stdout.contains("ipc:["), "{r:?}");
    t.assert_clean("ipc1");
}

#[test]
fn ipc_private_with_shm_size_mounts_sized_private_shm() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("filesystem/linux,namespaces/ipc", |_| {});
    let host_ns = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let r = t.run(
        "ipc2",
        "readlink /proc/self/ns/ipc; echo size=$(( $(stat -f -c '%b * %S' /dev/shm) )); \
         echo secret > /dev/shm/ipc2-marker; ls /dev/shm",
        |c| set_linux_info(c, Some(IpcMode::Private), Some(16), None),
    );
    assert!(r.ok(), "{r:?}");
    assert!(!r.stdout.contains(&host_ns.display().to_string()), "{r:?}");
    assert!(r.stdout.contains(&format!("size={}", 16 << 20)), "{r:?}");
    assert!(r.stdout.contains("ipc2-marker"), "{r:?}");
    // The file lived in the container's own tmpfs, not the agent's /dev/shm.
    assert!(!std::path::Path::new("/dev/shm/ipc2-marker").exists());
    t.assert_clean("ipc2");
}

#[test]
fn ipc_private_uses_default_container_shm_size() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("filesystem/linux,namespaces/ipc", |f| {
        f.default_container_shm_size = Some(8 << 20)
    });
    let r = t.run(
        "ipc3",
        "echo size=$(( $(stat -f -c '%b * %S' /dev/shm) ))",
        |c| set_linux_info(c, Some(IpcMode::Private), None, None),
    );
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains(&format!("size={}", 8 << 20)), "{r:?}");
    t.assert_clean("ipc3");
}

#[test]
fn ipc_share_parent_shares_agent_namespace_unless_disallowed() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("filesystem/linux,namespaces/ipc", |_| {});
    let host_ns = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let r = t.run("ipc4", "readlink /proc/self/ns/ipc", |c| {
        set_linux_info(c, Some(IpcMode::ShareParent), None, None)
    });
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains(&host_ns.display().to_string()), "{r:?}");

    // shm_size is only allowed with PRIVATE.
    let e = t
        .try_run("ipc5", "true", |c| {
            set_linux_info(c, Some(IpcMode::ShareParent), Some(8), None)
        })
        .unwrap_err();
    assert!(
        e.contains("Only support specifying the size of /dev/shm"),
        "{e}"
    );

    let t = Fixture::new("filesystem/linux,namespaces/ipc", |f| {
        f.disallow_sharing_agent_ipc_namespace = true
    });
    let e = t
        .try_run("ipc6", "true", |c| {
            set_linux_info(c, Some(IpcMode::ShareParent), None, None)
        })
        .unwrap_err();
    assert!(e.contains("Sharing agent IPC namespace"), "{e}");
    t.assert_clean("ipc6");
}

#[test]
fn nnp_sets_no_new_privs_and_setuid_cannot_escalate() {
    if !require_root() || !have_python3() {
        return;
    }
    // A setuid-root interpreter that reports its effective uid.
    let bin = TempDir::new("suid");
    let py = bin.path().join("py");
    std::fs::copy(std::fs::canonicalize("/usr/bin/python3").unwrap(), &py).unwrap();
    chmod(&py, 0o4755);
    chmod(bin.path(), 0o755);
    let cmd = format!(
        "grep NoNewPrivs /proc/self/status; echo euid=$({} -c 'import os; print(os.geteuid())' 2>/dev/null)",
        py.display()
    );

    let t = Fixture::new("filesystem/linux,linux/nnp", |_| {});
    let r = t.run("nnp1", &cmd, |c| c.user = Some("nobody".into()));
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("NoNewPrivs:\t1"), "{r:?}");
    assert!(r.stdout.contains("euid=65534"), "{r:?}");

    // Control: without linux/nnp the same binary does gain root.
    let t = Fixture::new("filesystem/linux", |_| {});
    let r = t.run("nnp2", &cmd, |c| c.user = Some("nobody".into()));
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("NoNewPrivs:\t0"), "{r:?}");
    assert!(r.stdout.contains("euid=0"), "{r:?}");
}

#[test]
fn pid_namespace_makes_the_task_pid_1_with_its_own_proc() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("filesystem/linux,namespaces/pid", |_| {});
    let r = t.run(
        "pid1",
        "echo pid=$$; echo procs=$(ls /proc | grep -c '^[0-9]'); cat /proc/1/comm",
        |_| {},
    );
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("pid=1\n"), "{r:?}");
    let procs: usize = field(&r.stdout, "procs=").parse().unwrap();
    assert!(
        procs <= 4,
        "only the container's processes are visible: {r:?}"
    );
    // The host /proc was not touched.
    assert!(std::path::Path::new(&format!("/proc/{}", std::process::id())).exists());
    t.assert_clean("pid1");

    // Sharing the agent's pid namespace, and refusing it when disallowed.
    let r = t.run("pid2", "echo pid=$$", |c| {
        set_linux_info(c, None, None, Some(true))
    });
    assert!(r.ok(), "{r:?}");
    assert!(!r.stdout.contains("pid=1\n"), "{r:?}");
    let t = Fixture::new("filesystem/linux,namespaces/pid", |f| {
        f.disallow_sharing_agent_pid_namespace = true
    });
    let e = t
        .try_run("pid3", "true", |c| {
            set_linux_info(c, None, None, Some(true))
        })
        .unwrap_err();
    assert!(e.contains("Sharing agent pid namespace"), "{e}");
}

#[test]
fn cgroups_v1_cpu_and_memory_limits_seen_from_inside() {
    if !require_root() || !cgroups_v1_available() {
        return;
    }
    let t = Fixture::new("cgroups/cpu,cgroups/mem", |f| {
        f.cgroups_root = cg_root("lim")
    });
    let root = cg_root("lim");
    let cmd = format!(
        "cat /proc/self/cgroup; \
         echo limit=$(cat /sys/fs/cgroup/memory/{root}/cg1/memory.limit_in_bytes); \
         echo soft=$(cat /sys/fs/cgroup/memory/{root}/cg1/memory.soft_limit_in_bytes); \
         echo shares=$(cat /sys/fs/cgroup/cpu/{root}/cg1/cpu.shares); \
         echo quota=$(cat /sys/fs/cgroup/cpu/{root}/cg1/cpu.cfs_quota_us)"
    );
    let r = t.run_with("cg1", &cmd, 0.5, 64.0, |_| {});
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains(&format!("memory:/{root}/cg1")), "{r:?}");
    assert!(r.stdout.contains(&format!("cpu:/{root}/cg1")), "{r:?}");
    assert!(
        r.stdout.contains(&format!("limit={}", 64u64 << 20)),
        "{r:?}"
    );
    assert!(r.stdout.contains(&format!("soft={}", 64u64 << 20)), "{r:?}");
    assert!(r.stdout.contains("shares=512"), "{r:?}");
    assert!(r.stdout.contains("quota=-1"), "CFS off by default: {r:?}");
    t.assert_clean("cg1");
    t.assert_cgroups_gone("cg1");

    // With --cgroups_enable_cfs: 0.5 cpu = 50 ms per 100 ms.
    let t = Fixture::new("cgroups/all", |f| {
        f.cgroups_root = cg_root("lim");
        f.cgroups_enable_cfs = true;
    });
    let cmd = format!(
        "echo quota=$(cat /sys/fs/cgroup/cpu/{root}/cg2/cpu.cfs_quota_us) \
         period=$(cat /sys/fs/cgroup/cpu/{root}/cg2/cpu.cfs_period_us); \
         echo limit=$(cat /sys/fs/cgroup/memory/{root}/cg2/memory.limit_in_bytes)"
    );
    let r = t.run_with("cg2", &cmd, 0.5, 16.0, |_| {});
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains("quota=50000 period=100000"), "{r:?}");
    // Below MIN_MEMORY (32 MB) the limit is raised to it.
    assert!(
        r.stdout.contains(&format!("limit={}", 32u64 << 20)),
        "{r:?}"
    );
    t.assert_cgroups_gone("cg2");
}

#[test]
fn cgroups_v1_oom_is_a_memory_limitation() {
    if !require_root() || !cgroups_v1_available() || !have_python3() {
        return;
    }
    let t = Fixture::new("cgroups/mem,cgroups/cpu", |f| {
        f.cgroups_root = cg_root("oom")
    });
    let r = t.run_with(
        "oom1",
        "python3 -c \"a = b'x' * (256 * 1024 * 1024); print(len(a))\"",
        1.0,
        32.0,
        |_| {},
    );
    let term = &r.termination;
    assert!(!r.ok(), "{r:?}");
    assert_eq!(
        term.reason,
        Some(Reason::ContainerLimitationMemory as i32),
        "{r:?}"
    );
    assert_eq!(
        term.state,
        Some(mesos_proto::mesos::TaskState::TaskFailed as i32)
    );
    let msg = term.message.clone().unwrap_or_default();
    assert!(
        msg.starts_with("Memory limit exceeded: Requested: 32MB"),
        "{msg}"
    );
    assert!(msg.contains("MEMORY STATISTICS"), "{msg}");
    assert_eq!(term.limited_resources.len(), 1);
    assert_eq!(term.limited_resources[0].name, "mem");
    t.assert_cgroups_gone("oom1");
}

#[test]
fn cgroups_v1_usage_statistics() {
    if !require_root() || !cgroups_v1_available() {
        return;
    }
    let t = Fixture::new("cgroups/cpu,cgroups/mem", |f| {
        f.cgroups_root = cg_root("use")
    });
    let id = cid("use1");
    let pid = t
        .launch(
            &id,
            "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 30",
            1.5,
            128.0,
            |_| {},
        )
        .unwrap();
    assert!(pid > 0);
    let st = t.cz.status(&id).unwrap();
    assert_eq!(st.executor_pid, Some(pid as u32));
    assert_eq!(st.container_id.as_ref(), Some(&id));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let u = t.cz.usage(&id).unwrap();
    assert_eq!(u.cpus_limit, Some(1.5));
    assert_eq!(u.mem_limit_bytes, Some(128 << 20));
    assert!(u.mem_total_bytes.unwrap() > 0, "{u:?}");
    assert!(u.mem_rss_bytes.is_some(), "{u:?}");
    let cpu = u.cpus_user_time_secs.unwrap() + u.cpus_system_time_secs.unwrap();
    assert!(cpu > 0.05, "the busy loop used CPU: {u:?}");
    assert!(u.timestamp > 0.0);
    // Update raises the limit.
    t.cz.update(&id, &resources(2.0, 256.0)).unwrap();
    let u = t.cz.usage(&id).unwrap();
    assert_eq!(u.mem_limit_bytes, Some(256 << 20));
    t.cz.destroy(&id);
    let term = t.cz.wait(&id).unwrap();
    assert!(term.reason.is_none());
    t.assert_cgroups_gone("use1");
}

#[test]
fn cgroups_v2_paths_on_a_fake_cgroupfs() {
    // This host's cgroup2 hierarchy has no free cpu/memory controller, so
    // the v2 file protocol is checked on a fake tree (no root needed).
    let fake = TempDir::new("cg2");
    std::fs::write(fake.path().join("cgroup.controllers"), "cpu memory io\n").unwrap();
    let flags = mesos_isolators::IsolatorFlags {
        cgroups_hierarchy: fake.path().to_path_buf(),
        cgroups_root: "mesos".into(),
        cgroups_enable_cfs: true,
        ..Default::default()
    };
    use mesos_isolators::Isolator;
    let iso = mesos_isolators::cgroups::CgroupsIsolator::new(
        &flags,
        vec![
            mesos_isolators::cgroups::Subsystem::Cpu,
            mesos_isolators::cgroups::Subsystem::Mem,
        ],
    )
    .unwrap();
    assert_eq!(iso.version(), mesos_isolators::cgroups::Version::V2);
    let sub = std::fs::read_to_string(fake.path().join("mesos/cgroup.subtree_control")).unwrap();
    assert!(sub.contains("memory"), "{sub}");
    let id = cid("v2");
    let config = mesos_proto::mesos::slave::ContainerConfig {
        resources: resources(0.25, 64.0),
        ..Default::default()
    };
    iso.prepare(&id, &config).unwrap();
    let dir = fake.path().join("mesos/v2");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    assert_eq!(read("cpu.max"), "25000 100000");
    assert_eq!(read("cpu.weight"), "10"); // 256 shares
    assert_eq!(read("memory.max"), (64u64 << 20).to_string());
    assert_eq!(read("memory.low"), (64u64 << 20).to_string());
    // A victim process: cleanup kills what the cgroup lists.
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    iso.isolate(&id, child.id()).unwrap();
    assert_eq!(read("cgroup.procs"), child.id().to_string());
    // Usage from the v2 files.
    std::fs::write(dir.join("cpu.stat"), "usage_usec 3000000\nuser_usec 2000000\nsystem_usec 1000000\nnr_periods 10\nnr_throttled 2\nthrottled_usec 500000\n").unwrap();
    std::fs::write(dir.join("memory.current"), "1048576\n").unwrap();
    std::fs::write(
        dir.join("memory.stat"),
        "anon 4096\nfile 8192\nfile_mapped 0\n",
    )
    .unwrap();
    let u = iso.usage(&id).unwrap();
    assert_eq!(u.cpus_user_time_secs, Some(2.0));
    assert_eq!(u.cpus_system_time_secs, Some(1.0));
    assert_eq!(u.cpus_nr_throttled, Some(2));
    assert_eq!(u.mem_total_bytes, Some(1 << 20));
    assert_eq!(u.mem_rss_bytes, Some(4096));
    assert_eq!(u.mem_limit_bytes, Some(64 << 20));
    // OOM from memory.events.
    assert!(iso.watch(&id).is_none());
    std::fs::write(
        dir.join("memory.events"),
        "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
    )
    .unwrap();
    let l = iso.watch(&id).unwrap();
    assert_eq!(l.reason, Some(Reason::ContainerLimitationMemory as i32));
    iso.cleanup(&id).unwrap();
    assert!(!dir.exists());
    let status = child.wait().unwrap();
    assert!(!status.success(), "the cgroup's process was killed");
    // A controller the hierarchy lacks is refused.
    std::fs::write(fake.path().join("cgroup.controllers"), "io\n").unwrap();
    assert!(mesos_isolators::cgroups::CgroupsIsolator::new(
        &flags,
        vec![mesos_isolators::cgroups::Subsystem::Mem]
    )
    .is_err());
}

#[test]
fn cgroups_v2_real_hierarchy_placement_when_available() {
    if !require_root() {
        return;
    }
    // Needs a cgroup2 mount with free cpu and memory controllers.
    let Some(h) = cgroup2_with(&["cpu", "memory"]) else {
        eprintln!("SKIP: no cgroup2 hierarchy with free cpu+memory controllers on this host");
        return;
    };
    let t = Fixture::new("cgroups/cpu,cgroups/mem", |f| {
        f.cgroups_hierarchy = h.clone();
        f.cgroups_root = cg_root("v2");
    });
    let r = t.run_with("v2real", "cat /proc/self/cgroup; cat /sys/fs/cgroup/$(sed -n 's/^0:://p' /proc/self/cgroup)/memory.max", 1.0, 64.0, |_| {});
    assert!(r.ok(), "{r:?}");
    assert!(r.stdout.contains(&(64u64 << 20).to_string()), "{r:?}");
}

#[test]
fn pending_isolator_operation_is_listed_for_containerizer_debug() {
    if !require_root() {
        return;
    }
    let (iso, release) = BlockingIsolator::new();
    let t = Fixture::with_isolators(vec![Box::new(iso)]);
    let id = cid("dbg1");
    let cz = t.cz.clone();
    let id2 = id.clone();
    let dir = t.sandbox("dbg1");
    let h = std::thread::spawn(move || {
        let req = request(&id2, &dir, "echo done", 0.1, 32.0, |_| {});
        cz.launch(&req).unwrap();
        cz.wait(&id2).unwrap()
    });
    let mut seen = None;
    for _ in 0..200 {
        let j = t.cz.tracker().containerizer_debug_json();
        if j["pending"].as_array().is_some_and(|a| !a.is_empty()) {
            seen = Some(j);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let j = seen.expect("the blocked prepare shows up as pending");
    assert_eq!(
        j,
        serde_json::json!({"pending":[{"operation":"test/block::prepare","args":{"containerId":"dbg1"}}]})
    );
    release.send(()).unwrap();
    let term = h.join().unwrap();
    assert_eq!(term.status, Some(0));
    assert_eq!(
        t.cz.tracker().containerizer_debug_json(),
        serde_json::json!({"pending":[]})
    );
}

fn nested(parent: &mesos_proto::mesos::ContainerId, v: &str) -> mesos_proto::mesos::ContainerId {
    mesos_proto::mesos::ContainerId {
        value: v.to_string(),
        parent: Some(Box::new(parent.clone())),
    }
}

fn wait_for_line(path: &std::path::Path, prefix: &str) -> String {
    for _ in 0..200 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let f = field(&text, prefix);
        if !f.is_empty() {
            return f;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("no '{prefix}' line in {}", path.display());
}

#[test]
fn nested_containers_inherit_ipc_and_nest_pid_namespaces() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("filesystem/linux,namespaces/ipc,namespaces/pid", |_| {});
    let parent = cid("par");
    t.launch(
        &parent,
        "echo parent > /dev/shm/pmark; echo pidns=$(readlink /proc/self/ns/pid); \
         echo ipc=$(readlink /proc/self/ns/ipc); sleep 30",
        0.1,
        32.0,
        |c| set_linux_info(c, Some(IpcMode::Private), Some(4), None),
    )
    .unwrap();
    let parent_ipc = wait_for_line(&t.sandbox("par").join("stdout"), "ipc=");
    let parent_pidns = wait_for_line(&t.sandbox("par").join("stdout"), "pidns=");
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc")
        .unwrap()
        .display()
        .to_string();
    assert_ne!(parent_ipc, host_ipc);

    let run_nested = |name: &str, mode: Option<IpcMode>| {
        let id = nested(&parent, name);
        let sandbox = t.sandbox(name);
        let req = request(
            &id,
            &sandbox,
            "echo ipc=$(readlink /proc/self/ns/ipc); echo shm=$(cat /dev/shm/pmark 2>/dev/null); \
             echo pid=$$; echo pidns=$(readlink /proc/self/ns/pid)",
            0.1,
            32.0,
            |c| {
                if mode.is_some() {
                    set_linux_info(c, mode, None, None)
                }
            },
        );
        t.cz.launch(&req).unwrap();
        let term = t.cz.wait(&id).unwrap();
        let out = std::fs::read_to_string(sandbox.join("stdout")).unwrap_or_default();
        let err = std::fs::read_to_string(sandbox.join("stderr")).unwrap_or_default();
        assert_eq!(term.status, Some(0), "{out} {err}");
        out
    };

    // No mode: the parent's IPC namespace, the agent's /dev/shm.
    let out = run_nested("n1", None);
    assert_eq!(field(&out, "ipc="), parent_ipc, "{out}");
    assert_eq!(field(&out, "shm="), "", "{out}");
    // Its own pid namespace (not the parent's, not the agent's).
    assert_eq!(field(&out, "pid="), "1", "{out}");
    let host_pidns = std::fs::read_link("/proc/self/ns/pid")
        .unwrap()
        .display()
        .to_string();
    let pidns = field(&out, "pidns=");
    assert!(pidns != parent_pidns && pidns != host_pidns, "{out}");

    // SHARE_PARENT: the parent's namespace and its private /dev/shm.
    let out = run_nested("n2", Some(IpcMode::ShareParent));
    assert_eq!(field(&out, "ipc="), parent_ipc, "{out}");
    assert_eq!(field(&out, "shm="), "parent", "{out}");

    // PRIVATE: a namespace of its own.
    let out = run_nested("n3", Some(IpcMode::Private));
    let ipc = field(&out, "ipc=");
    assert!(ipc != parent_ipc && ipc != host_ipc, "{out}");
    assert_eq!(field(&out, "shm="), "", "{out}");

    t.cz.destroy(&parent);
    t.cz.wait(&parent).unwrap();
    t.assert_clean("par");
}

#[test]
fn launch_request_from_agent_parts_and_failed_exec() {
    if !require_root() {
        return;
    }
    let t = Fixture::new("filesystem/linux,namespaces/pid,linux/nnp", |_| {});
    let sandbox = t.sandbox("parts");
    let mut env = std::collections::BTreeMap::new();
    env.insert("MESOS_SANDBOX".to_string(), sandbox.display().to_string());
    let req = mesos_isolators::containerizer::LaunchRequest::from_parts(
        "parts",
        "/bin/sh",
        &[
            "sh".into(),
            "-c".into(),
            "echo pid=$$ sandbox=$MESOS_SANDBOX; exit 7".into(),
        ],
        false,
        env,
        &sandbox,
        None,
        resources(0.1, 32.0),
        None,
    );
    let pid = t.cz.launch(&req).unwrap();
    assert_eq!(t.cz.pid(&req.container_id), Some(pid));
    assert_eq!(t.cz.containers(), vec![req.container_id.clone()]);
    let term = t.cz.wait(&req.container_id).unwrap();
    // Raw wait status: exit code 7.
    assert_eq!(term.status, Some(7 << 8));
    let out = std::fs::read_to_string(sandbox.join("stdout")).unwrap();
    assert_eq!(out, format!("pid=1 sandbox={}\n", sandbox.display()));
    assert!(t.cz.containers().is_empty());

    // A command that cannot be executed fails inside the helper, visibly.
    let r = t.run("noexec", "", |c| {
        c.command_info = mesos_proto::mesos::CommandInfo {
            shell: Some(false),
            value: Some("/nonexistent/binary".into()),
            ..Default::default()
        }
    });
    assert!(!r.ok());
    assert!(
        r.stderr.contains("Failed to execute '/nonexistent/binary'"),
        "{r:?}"
    );
    t.assert_clean("noexec");
}

#[test]
fn mesos_containerizer_binary_usage() {
    let out = std::process::Command::new(helper())
        .arg("help")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("launch"));
    let out = std::process::Command::new(helper())
        .arg("bogus")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let out = std::process::Command::new(helper())
        .arg("launch")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--launch_info"));
}

#[test]
fn nested_container_cgroups_live_inside_the_parents() {
    if !require_root() || !cgroups_v1_available() {
        return;
    }
    let t = Fixture::new(
        "filesystem/linux,namespaces/pid,cgroups/mem,cgroups/cpu",
        |f| f.cgroups_root = cg_root("nest"),
    );
    let root = cg_root("nest");
    let parent = cid("cpar");
    t.launch(&parent, "echo started=yes; sleep 30", 0.5, 64.0, |_| {})
        .unwrap();
    wait_for_line(&t.sandbox("cpar").join("stdout"), "started=");
    let id = nested(&parent, "cn1");
    let sandbox = t.sandbox("cn1");
    let req = request(
        &id,
        &sandbox,
        "cat /proc/self/cgroup; echo pid=$$",
        0.1,
        32.0,
        |_| {},
    );
    t.cz.launch(&req).unwrap();
    let term = t.cz.wait(&id).unwrap();
    let out = std::fs::read_to_string(sandbox.join("stdout")).unwrap();
    assert_eq!(term.status, Some(0), "{out}");
    assert!(
        out.contains(&format!("memory:/{root}/cpar/mesos/cn1")),
        "{out}"
    );
    assert!(out.contains("pid=1"), "{out}");
    // The nested cgroup went away with the nested container.
    assert!(
        !std::path::Path::new(&format!("/sys/fs/cgroup/memory/{root}/cpar/mesos/cn1")).exists()
    );

    // A nested container still running when its parent is cleaned up goes
    // with it.
    let id2 = nested(&parent, "cn2");
    let sandbox2 = t.sandbox("cn2");
    t.cz.launch(&request(&id2, &sandbox2, "sleep 30", 0.1, 32.0, |_| {}))
        .unwrap();
    t.cz.destroy(&parent);
    t.cz.wait(&parent).unwrap();
    t.cz.wait(&id2).unwrap();
    t.assert_cgroups_gone("cpar");
    t.assert_clean("cpar");
}

/// An isolator whose `isolate` fails (to check the held process never runs).
struct FailingIsolate;

impl mesos_isolators::Isolator for FailingIsolate {
    fn name(&self) -> &'static str {
        "test/fail"
    }
    fn recover(
        &self,
        _: &[mesos_proto::mesos::slave::ContainerState],
        _: &[mesos_proto::mesos::ContainerId],
    ) -> Result<(), mesos_isolators::Error> {
        Ok(())
    }
    fn prepare(
        &self,
        _: &mesos_proto::mesos::ContainerId,
        _: &mesos_proto::mesos::slave::ContainerConfig,
    ) -> Result<Option<mesos_proto::mesos::slave::ContainerLaunchInfo>, mesos_isolators::Error>
    {
        Ok(None)
    }
    fn isolate(
        &self,
        _: &mesos_proto::mesos::ContainerId,
        _: u32,
    ) -> Result<(), mesos_isolators::Error> {
        Err(mesos_isolators::Error::Cgroups("refused".into()))
    }
    fn update(
        &self,
        _: &mesos_proto::mesos::ContainerId,
        _: &[mesos_proto::mesos::Resource],
    ) -> Result<(), mesos_isolators::Error> {
        Ok(())
    }
    fn cleanup(&self, _: &mesos_proto::mesos::ContainerId) -> Result<(), mesos_isolators::Error> {
        Ok(())
    }
}

#[test]
fn failed_isolate_never_runs_the_command() {
    if !require_root() {
        return;
    }
    let t = Fixture::with_isolators(vec![Box::new(FailingIsolate)]);
    let id = cid("fail1");
    let e = t.launch(&id, "touch ran", 0.1, 32.0, |_| {}).unwrap_err();
    assert!(e.to_string().contains("test/fail: refused"), "{e}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!t.sandbox("fail1").join("ran").exists());
    assert!(t.cz.containers().is_empty());
}
