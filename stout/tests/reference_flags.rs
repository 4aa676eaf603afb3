//! Our `/flags` listing against captures from a real Mesos 1.9.0 master and
//! agent (`tests/fixtures/`, see the README there for how they were taken and
//! which values the reference kit set itself).

use std::collections::BTreeMap;

use stout::agent_flags::RuntimeDefaults;
use stout::{AgentFlags, MasterFlags};

fn fixture(name: &str) -> BTreeMap<String, String> {
    let path = format!("{}/tests/fixtures/{}", env!("CARGO_MANIFEST_DIR"), name);
    let text = std::fs::read_to_string(&path).expect("fixture present");
    let json: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    json["flags"]
        .as_object()
        .expect("a 'flags' object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().expect("string values").to_string()))
        .collect()
}

/// Lists entries that differ, for a readable failure.
fn diff(ours: &BTreeMap<String, String>, theirs: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in theirs {
        match ours.get(k) {
            None => out.push(format!("missing {k}={v}")),
            Some(o) if o != v => out.push(format!("{k}: ours {o:?}, upstream {v:?}")),
            _ => {}
        }
    }
    for (k, v) in ours {
        if !theirs.contains_key(k) {
            out.push(format!("extra {k}={v}"));
        }
    }
    out
}

#[test]
fn master_defaults_render_as_the_real_master() {
    // The environment mesos-ref-local gave the real master (fixtures/README.md),
    // including agent-only variables the master must ignore.
    let env = [
        ("MESOS_PORT", "15150"),
        ("MESOS_IP", "127.0.0.1"),
        ("MESOS_REGISTRY", "in_memory"),
        ("MESOS_WORK_DIR", "/tmp/mesos-ref-local-15150/master"),
        ("MESOS_NUM_SLAVES", "0"),
        ("MESOS_ISOLATION", "posix/cpu,posix/mem"),
        ("MESOS_LAUNCHER", "posix"),
        ("MESOS_LAUNCHER_DIR", "/root/.cache/mesos-ref-1.9.0/bin"),
        ("MESOS_SYSTEMD_ENABLE_SUPPORT", "false"),
        ("LIBPROCESS_IP", "127.0.0.1"),
    ];
    let mut flags = MasterFlags::new();
    flags.load_from(env, ["mesos-master"]).expect("loads");
    let ours: BTreeMap<String, String> = flags.flags().into_iter().collect();
    let theirs = fixture("ref_master_flags_1.9.0.json");
    let d = diff(&ours, &theirs);
    assert!(
        d.is_empty(),
        "differences from the real master:\n{}",
        d.join("\n")
    );
}

#[test]
fn master_pure_defaults_differ_only_where_the_kit_set_values() {
    let ours: BTreeMap<String, String> = MasterFlags::new().flags().into_iter().collect();
    let theirs = fixture("ref_master_flags_1.9.0.json");
    let mut d = diff(&ours, &theirs);
    d.sort();
    assert_eq!(
        d,
        vec![
            "missing ip=127.0.0.1".to_string(),
            "missing work_dir=/tmp/mesos-ref-local-15150/master".to_string(),
            "port: ours \"5050\", upstream \"15150\"".to_string(),
            "registry: ours \"replicated_log\", upstream \"in_memory\"".to_string(),
        ]
    );
}

#[test]
fn agent_defaults_render_as_the_real_agent() {
    let env = [
        ("MESOS_PORT", "15151"),
        ("MESOS_IP", "127.0.0.1"),
        ("MESOS_WORK_DIR", "/tmp/mesos-ref-agent-15151/work"),
        ("MESOS_RUNTIME_DIR", "/tmp/mesos-ref-agent-15151/run"),
        (
            "MESOS_FETCHER_CACHE_DIR",
            "/tmp/mesos-ref-agent-15151/fetch",
        ),
        ("MESOS_ISOLATION", "posix/cpu,posix/mem"),
        ("MESOS_LAUNCHER", "posix"),
        ("MESOS_LAUNCHER_DIR", "/root/.cache/mesos-ref-1.9.0/bin"),
        ("MESOS_SYSTEMD_ENABLE_SUPPORT", "false"),
        ("MESOS_REGISTRY", "in_memory"),
    ];
    let mut flags = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
    flags
        .load_from(env, ["mesos-agent", "--master=127.0.0.1:15150"])
        .expect("loads");
    // Flags of optional isolators the reference build was compiled without.
    let gated: Vec<&str> = flags
        .specs()
        .filter(|s| s.build_condition.is_some())
        .map(|s| s.name)
        .collect();
    assert!(
        gated.contains(&"xfs_kill_containers") && gated.len() == 17,
        "{gated:?}"
    );
    let ours: BTreeMap<String, String> = flags
        .flags()
        .into_iter()
        .filter(|(k, _)| !gated.contains(&k.as_str()))
        .collect();
    let theirs = fixture("ref_agent_flags_1.9.0.json");
    let d = diff(&ours, &theirs);
    assert!(
        d.is_empty(),
        "differences from the real agent:\n{}",
        d.join("\n")
    );
}

#[test]
fn master_renders_given_values_as_the_real_master() {
    let env = [
        ("MESOS_PORT", "15164"),
        ("MESOS_IP", "127.0.0.1"),
        ("MESOS_REGISTRY", "in_memory"),
        ("MESOS_WORK_DIR", "/tmp/mesos-ref-local-15164/master"),
        ("MESOS_SLAVE_PING_TIMEOUT", "60secs"),
        ("MESOS_FAIR_SHARING_EXCLUDED_RESOURCE_NAMES", "gpus,cpus"),
        ("MESOS_OFFER_TIMEOUT", "90secs"),
        ("MESOS_CREDENTIALS", "file:///tmp/stout_creds"),
        (
            "MESOS_DOMAIN",
            r#"{"fault_domain":{"zone":{"name":"z1"},"region":{"name":"r1"}}}"#,
        ),
        (
            "MESOS_ACLS",
            r#"{"permissive":true,"run_tasks":[{"principals":{"values":["a","b"]},"users":{"type":"ANY"}}]}"#,
        ),
        ("MESOS_WEIGHTS", "a=2"),
        ("MESOS_AGENT_REREGISTER_TIMEOUT", "600secs"),
        ("MESOS_AUTHENTICATE_SLAVES", "1"),
        ("MESOS_MAX_COMPLETED_FRAMEWORKS", "+7"),
    ];
    let mut flags = MasterFlags::new();
    let warnings = flags.load_from(env, ["mesos-master"]).expect("loads");
    assert_eq!(warnings.messages.len(), 2, "{:?}", warnings.messages);
    let ours: BTreeMap<String, String> = flags.flags().into_iter().collect();
    let theirs = fixture("ref_master_flags_given_1.9.0.json");
    let d = diff(&ours, &theirs);
    assert!(
        d.is_empty(),
        "differences from the real master:\n{}",
        d.join("\n")
    );
}

#[test]
fn agent_renders_given_values_as_the_real_agent() {
    let env = [
        ("MESOS_PORT", "15171"),
        ("MESOS_IP", "127.0.0.1"),
        ("MESOS_WORK_DIR", "/tmp/mesos-ref-agent-15171/work"),
        ("MESOS_RUNTIME_DIR", "/tmp/mesos-ref-agent-15171/run"),
        (
            "MESOS_FETCHER_CACHE_DIR",
            "/tmp/mesos-ref-agent-15171/fetch",
        ),
        ("MESOS_ISOLATION", "posix/cpu,posix/mem"),
        ("MESOS_LAUNCHER", "posix"),
        ("MESOS_LAUNCHER_DIR", "/root/.cache/mesos-ref-1.9.0/bin"),
        ("MESOS_SYSTEMD_ENABLE_SUPPORT", "false"),
        ("MESOS_DEFAULT_CONTAINER_SHM_SIZE", "64MB"),
        (
            "MESOS_AGENT_FEATURES",
            r#"{"capabilities":[{"type":"MULTI_ROLE"},{"type":"HIERARCHICAL_ROLE"},{"type":"RESERVATION_REFINEMENT"},{"type":"RESOURCE_PROVIDER"},{"type":"AGENT_OPERATION_FEEDBACK"},{"type":"AGENT_DRAINING"}]}"#,
        ),
        ("MESOS_ATTRIBUTES", "rack:a;zone:b"),
        (
            "MESOS_EXECUTOR_ENVIRONMENT_VARIABLES",
            r#"{"PATH":"/bin","A":"b"}"#,
        ),
        ("MESOS_GC_DISK_HEADROOM", "0.25"),
        ("MESOS_EXECUTOR_REREGISTRATION_TIMEOUT", "5000ms"),
        (
            "MESOS_DOMAIN",
            r#"{"fault_domain":{"region":{"name":"r1"},"zone":{"name":"z1"}}}"#,
        ),
        ("MESOS_RESOURCES", "cpus:2;mem:1024"),
        ("MESOS_DOCKER_CONFIG", r#"{"auths":{"x":{"auth":"y"}}}"#),
        ("MESOS_FETCHER_CACHE_SIZE", "1024MB"),
        ("MESOS_HOSTNAME", "h1"),
    ];
    let mut flags = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
    flags
        .load_from(env, ["mesos-agent", "--master=127.0.0.1:15170"])
        .expect("loads");
    let ours: BTreeMap<String, String> = flags
        .flags()
        .into_iter()
        .filter(|(k, _)| flags.spec(k).is_some_and(|s| s.build_condition.is_none()))
        .collect();
    let theirs = fixture("ref_agent_flags_given_1.9.0.json");
    let d = diff(&ours, &theirs);
    assert!(
        d.is_empty(),
        "differences from the real agent:\n{}",
        d.join("\n")
    );
    // The typed views of the same values.
    assert_eq!(
        flags.default_container_shm_size(),
        Some(stout::Bytes::megabytes(64))
    );
    assert_eq!(flags.parsed_attributes().unwrap().len(), 2);
    assert_eq!(flags.parsed_agent_features().unwrap().capabilities.len(), 6);
    assert_eq!(flags.fault_domain().unwrap().zone.name, "z1");
}

/// Our table against the list of upstream `add(...)` calls: same names, same
/// aliases, optional-isolator flags marked, nothing extra.
fn check_names(base: &stout::FlagsBase, list: &str) {
    check_names_beyond(base, list, &[]);
}

/// As [`check_names`], allowing `beyond`: flags upstream added after 1.9
/// that we support on purpose (documented in third_party_docs/).
fn check_names_beyond(base: &stout::FlagsBase, list: &str, beyond: &[&str]) {
    let mut expected: Vec<String> = beyond.iter().map(|s| s.to_string()).collect();
    for line in list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split(' ').collect();
        let (name, alias, cond) = (cols[0], cols[1], cols[2]);
        expected.push(name.to_string());
        let spec = base
            .spec(name)
            .unwrap_or_else(|| panic!("missing flag {name}"));
        assert_eq!(spec.name, name);
        assert_eq!(spec.alias, (alias != "-").then_some(alias), "{name}");
        assert_eq!(spec.alias_deprecated, alias != "-", "{name}");
        // Linux, SSL and non-Windows flags exist in the reference build; the
        // optional isolators' flags do not.
        let gated = cond.starts_with("ENABLE_");
        assert_eq!(spec.build_condition.is_some(), gated, "{name}");
        if gated {
            assert_eq!(spec.build_condition, Some(cond), "{name}");
        }
        if let stout::FlagType::Proto(message) = spec.ty {
            assert!(
                mesos_proto::pool::message_descriptor_by_name(message).is_some(),
                "{name}: unknown message {message}"
            );
        }
    }
    let ours: Vec<String> = base.specs().map(|s| s.name.to_string()).collect();
    expected.sort();
    assert_eq!(ours, expected);
}

#[test]
fn master_has_every_upstream_flag_and_alias() {
    let list = include_str!("fixtures/upstream_master_flag_names.txt");
    // Offer constraints (upstream 1.11, third_party_docs/allocator.md).
    check_names_beyond(
        &MasterFlags::new(),
        list,
        &[
            "offer_constraints_re2_max_mem",
            "offer_constraints_re2_max_program_size",
        ],
    );
}

#[test]
fn agent_has_every_upstream_flag_and_alias() {
    let list = include_str!("fixtures/upstream_agent_flag_names.txt");
    check_names(
        &AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed()),
        list,
    );
}
