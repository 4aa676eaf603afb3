//! The loading rules of stout's `FlagsBase::load`, one test per rule, on the
//! real master and agent tables (error texts are upstream's).

use stout::agent_flags::RuntimeDefaults;
use stout::{AgentFlags, Duration, Error, FlagSpec, FlagType, FlagValue, FlagsBase, MasterFlags};

const NO_ENV: [(&str, &str); 0] = [];

fn master(args: &[&str]) -> stout::Result<MasterFlags> {
    master_env(&[], args)
}

fn master_env(env: &[(&str, &str)], args: &[&str]) -> stout::Result<MasterFlags> {
    let mut f = MasterFlags::new();
    let argv = std::iter::once("mesos-master").chain(args.iter().copied());
    f.load_from(env.iter().copied(), argv)?;
    Ok(f)
}

fn agent(args: &[&str]) -> stout::Result<AgentFlags> {
    let mut f = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
    let argv = std::iter::once("mesos-agent").chain(args.iter().copied());
    f.load_from(NO_ENV, argv)?;
    Ok(f)
}

fn tmp_file(name: &str, contents: &str) -> String {
    let dir = std::env::temp_dir().join(format!("stout-flag-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn name_equals_value() {
    let f = master(&[
        "--port=6060",
        "--allocation_interval=500ms",
        "--cluster=prod",
    ])
    .unwrap();
    assert_eq!(f.port(), 6060);
    assert_eq!(f.allocation_interval(), Duration::from_millis(500));
    assert_eq!(f.cluster(), Some("prod"));
    assert!(f.is_loaded("port") && !f.is_loaded("quorum"));
}

#[test]
fn booleans_bare_negated_and_valued() {
    let f = master(&["--authenticate_agents", "--no-hostname_lookup", "--quiet=1"]).unwrap();
    assert!(f.authenticate_agents());
    assert!(!f.hostname_lookup());
    assert!(f.quiet());
    // `--name=` (empty) means true for booleans, `--no-name=` false.
    let f = master(&["--authenticate_frameworks=", "--no-filter_gpu_resources="]).unwrap();
    assert!(f.authenticate_frameworks());
    assert!(!f.filter_gpu_resources());
}

#[test]
fn boolean_misuse_is_rejected() {
    assert_eq!(
        master(&["--no-port"]).unwrap_err().to_string(),
        "Failed to load non-boolean flag 'port' via 'no-port'"
    );
    assert_eq!(
        master(&["--port"]).unwrap_err().to_string(),
        "Failed to load non-boolean flag 'port': Missing value"
    );
    assert_eq!(
        master(&["--no-quiet=true"]).unwrap_err().to_string(),
        "Failed to load boolean flag 'quiet' via 'no-quiet' with value 'true'"
    );
    assert_eq!(
        master(&["--quiet=yes"]).unwrap_err().to_string(),
        "Failed to load flag 'quiet': Failed to load value 'yes': Expecting a boolean (e.g., \
         true or false)"
    );
}

#[test]
fn bad_values_name_the_flag_and_value() {
    assert_eq!(
        master(&["--port=abc"]).unwrap_err().to_string(),
        "Failed to load flag 'port': Failed to load value 'abc': Failed to convert into \
         required type"
    );
    assert_eq!(
        master(&["--offer_timeout=5"]).unwrap_err().to_string(),
        "Failed to load flag 'offer_timeout': Failed to load value '5': Invalid duration '5'"
    );
    assert!(matches!(
        agent(&["--work_dir=/w", "--fetcher_cache_size=1.5GB"]),
        Err(Error::LoadValue { .. })
    ));
}

#[test]
fn unknown_flags_are_errors() {
    assert_eq!(
        master(&["--bogus=1"]).unwrap_err(),
        Error::UnknownFlag {
            name: "bogus".into(),
            via: None
        }
    );
    assert_eq!(
        master(&["--bogus=1"]).unwrap_err().to_string(),
        "Failed to load unknown flag 'bogus'"
    );
    assert_eq!(
        master(&["--no-bogus"]).unwrap_err().to_string(),
        "Failed to load unknown flag 'bogus' via 'no-bogus'"
    );
}

#[test]
fn duplicates_are_errors() {
    assert_eq!(
        master(&["--port=1", "--port=2"]).unwrap_err().to_string(),
        "Flag 'port' is already loaded via name 'port'"
    );
    // By name and by deprecated alias: the name sorts first, so it is loaded first.
    assert_eq!(
        master(&["--slave_ping_timeout=20secs", "--agent_ping_timeout=30secs"])
            .unwrap_err()
            .to_string(),
        "Flag 'slave_ping_timeout' is already loaded via name 'agent_ping_timeout'"
    );
    // `--no-x` on the command line and `MESOS_X` in the environment are both loads.
    assert_eq!(
        master_env(&[("MESOS_QUIET", "true")], &["--no-quiet"])
            .unwrap_err()
            .to_string(),
        "Flag 'quiet' is already loaded via name 'quiet'"
    );
}

#[test]
fn deprecated_aliases_load_with_a_warning() {
    let mut f = MasterFlags::new();
    let w = f
        .load_from(
            NO_ENV,
            [
                "mesos-master",
                "--slave_ping_timeout=60secs",
                "--authenticate_slaves",
            ],
        )
        .unwrap();
    assert_eq!(f.agent_ping_timeout(), Duration::from_mins(1));
    assert!(f.authenticate_agents());
    assert_eq!(
        w.messages,
        vec![
            "Loaded deprecated flag 'authenticate_slaves'".to_string(),
            "Loaded deprecated flag 'slave_ping_timeout'".to_string(),
        ]
    );
    // Listed under the name it was loaded by, value re-rendered by stringify.
    let listed = f.flags();
    assert!(listed.contains(&("slave_ping_timeout".into(), "1mins".into())));
    assert!(listed.contains(&("authenticate_slaves".into(), "true".into())));
    assert!(!listed.iter().any(|(k, _)| k == "agent_ping_timeout"));
    // Every deprecated master alias is accepted.
    for alias in [
        "--slave_reregister_timeout=15mins",
        "--recovery_slave_removal_limit=50%",
        "--slave_removal_rate_limit=1/10mins",
        "--user_sorter=random",
        "--authenticate",
        "--authenticate_http",
        "--max_slave_ping_timeouts=3",
    ] {
        let f = master(&[alias]).unwrap_or_else(|e| panic!("{alias}: {e}"));
        assert_eq!(
            f.flags()
                .iter()
                .filter(|(k, _)| alias[2..].starts_with(k.as_str()))
                .count(),
            1
        );
    }
    let a = agent(&["--work_dir=/w", "--slave_subsystems=memory"]).unwrap();
    assert_eq!(a.agent_subsystems(), Some("memory"));
}

#[test]
fn environment_is_read_for_known_flags_only() {
    let env = [
        ("MESOS_PORT", "7070"),
        ("MESOS_zk_session_timeout", "20secs"),
        ("MESOS_NOT_A_FLAG", "x"),
        ("MESOS_SLAVE_PING_TIMEOUT", "3secs"),
        ("OTHER_CLUSTER", "x"),
    ];
    let f = master_env(&env, &[]).unwrap();
    assert_eq!(f.port(), 7070);
    assert_eq!(f.zk_session_timeout(), Duration::from_secs(20));
    assert_eq!(f.agent_ping_timeout(), Duration::from_secs(3));
    assert_eq!(f.cluster(), None);
}

#[test]
fn command_line_wins_over_environment() {
    let f = master_env(
        &[("MESOS_PORT", "7070"), ("MESOS_CLUSTER", "env")],
        &["--port=8080"],
    )
    .unwrap();
    assert_eq!(f.port(), 8080);
    assert_eq!(f.cluster(), Some("env"));
}

#[test]
fn arguments_are_trimmed_and_dash_dash_stops() {
    let f = master(&["  --port=9090\t", "positional", "--", "--bogus"]).unwrap();
    assert_eq!(f.port(), 9090);
    assert_eq!(f.program_name(), "mesos-master");
    // Names are lower-cased.
    assert_eq!(master(&["--PORT=9191"]).unwrap().port(), 9191);
}

#[test]
fn file_values_are_read_without_trimming() {
    let path = tmp_file("cluster", "from-file");
    let f = master(&[&format!("--cluster=file://{path}")]).unwrap();
    assert_eq!(f.cluster(), Some("from-file"));

    // Upstream does not trim file contents (checked against the real 1.9.0 master:
    // `MESOS_CLUSTER=file://...` with "prod\n" lists "prod\n", and a number followed by
    // a newline fails with "Failed to convert into required type").
    let path = tmp_file("cluster_nl", "prod\n");
    let f = master(&[&format!("--cluster=file://{path}")]).unwrap();
    assert_eq!(f.cluster(), Some("prod\n"));
    let path = tmp_file("port", "6061\n");
    assert!(master(&[&format!("--port=file://{path}")]).is_err());
    let path = tmp_file("port2", "6061");
    assert_eq!(
        master(&[&format!("--port=file://{path}")]).unwrap().port(),
        6061
    );

    let err = master(&["--cluster=file:///nonexistent/stout/x"])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "Failed to load flag 'cluster': Failed to load value 'file:///nonexistent/stout/x': \
             Error reading file '/nonexistent/stout/x'"
        ),
        "{err}"
    );

    // JSON flags from files.
    let path = tmp_file("acls.json", r#"{"permissive": false}"#);
    let f = master(&[&format!("--acls=file://{path}")]).unwrap();
    assert_eq!(f.acls().unwrap()["permissive"], false);
    // A bare absolute path still works for JSON flags (deprecated upstream).
    let f = master(&[&format!("--acls={path}")]).unwrap();
    assert!(f.acls().is_some());
}

#[test]
fn path_flags_keep_the_path() {
    let path = tmp_file("creds", "user secret\n");
    let f = master(&[&format!("--credentials=file://{path}")]).unwrap();
    assert_eq!(f.credentials(), Some(path.as_str()));
    assert!(f
        .flags()
        .contains(&("credentials".to_string(), path.clone())));
    let creds = stout::parsers::read_credentials(f.credentials().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(creds.credentials[0].principal, "user");
}

#[test]
fn secure_path_or_value_reads_but_lists_the_path() {
    let path = tmp_file("zk", "zk://10.0.0.1:2181/mesos");
    let f = master(&[&format!("--zk=file://{path}"), "--quorum=1"]).unwrap();
    assert_eq!(f.zk(), Some("zk://10.0.0.1:2181/mesos"));
    assert!(f.flags().contains(&("zk".to_string(), path.clone())));
    let f = master(&["--zk=zk://h:2181/m"]).unwrap();
    assert!(f
        .flags()
        .contains(&("zk".to_string(), "zk://h:2181/m".to_string())));
    let a = agent(&["--work_dir=/w", &format!("--master=file://{path}")]).unwrap();
    assert_eq!(a.master(), Some("zk://10.0.0.1:2181/mesos"));
}

#[test]
fn required_flags_must_be_given() {
    assert_eq!(
        agent(&[]).unwrap_err().to_string(),
        "Flag 'work_dir' is required, but it was not provided"
    );
    assert_eq!(
        agent(&["--work_dir=/var/lib/mesos"]).unwrap().work_dir(),
        "/var/lib/mesos"
    );
    // Not listed while unset: upstream's stringify of an unset std::string is empty,
    // but its `/flags` lists only flags with a value; work_dir always has one once loaded.
    let f = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
    assert!(!f.flags().iter().any(|(k, _)| k == "work_dir"));
}

#[test]
fn validators_run_after_loading() {
    assert_eq!(
        master(&["--agent_ping_timeout=1hrs"])
            .unwrap_err()
            .to_string(),
        "Expected `--agent_ping_timeout` to be between 1secs and 15mins"
    );
    assert_eq!(
        master(&["--max_agent_ping_timeouts=0"])
            .unwrap_err()
            .to_string(),
        "Expected `--max_agent_ping_timeouts` to be at least 1"
    );
    assert_eq!(
        master(&["--registry_strict"]).unwrap_err().to_string(),
        "Support for '--registry_strict' has been disabled and will be removed in a future \
         version of Mesos"
    );
    assert_eq!(
        master(&["--domain={}"]).unwrap_err().to_string(),
        "`domain` must define `fault_domain`"
    );
    assert_eq!(
        agent(&["--work_dir=/w", "--executor_reregistration_timeout=20secs"])
            .unwrap_err()
            .to_string(),
        "Expected `--executor_reregistration_timeout` to be not more than 15secs"
    );
    assert_eq!(
        agent(&[
            "--work_dir=/w",
            r#"--executor_environment_variables={"A":1}"#
        ])
        .unwrap_err()
        .to_string(),
        "`executor_environment_variables` must only contain string values"
    );
    let dns = |json: &str| agent(&["--work_dir=/w", &format!("--default_container_dns={json}")]);
    assert!(dns(r#"{"mesos":[{"network_mode":"CNI","dns":{"nameservers":["8.8.8.8"]}}]}"#).is_ok());
    assert_eq!(
        dns(r#"{"mesos":[{"network_mode":"HOST","dns":{}}]}"#)
            .unwrap_err()
            .to_string(),
        "Configuring DNS for HOST network with `--default_container_dns` is not yet supported"
    );
    assert_eq!(
        dns(r#"{"docker":[{"dns":{}}]}"#).unwrap_err().to_string(),
        "UNKNOWN network mode configured in `--default_container_dns`"
    );
    assert_eq!(
        dns(
            r#"{"mesos":[{"network_mode":"CNI","network_name":"n","dns":{}},
                         {"network_mode":"CNI","network_name":"n","dns":{}}]}"#
        )
        .unwrap_err()
        .to_string(),
        "Multiple DNS configuration with the same network name 'n' for CNI network in \
         `--default_container_dns` is not allowed"
    );
    assert_eq!(
        dns(
            r#"{"docker":[{"network_mode":"BRIDGE","dns":{}},{"network_mode":"BRIDGE","dns":{}}]}"#
        )
        .unwrap_err()
        .to_string(),
        "Multiple DNS configuration for Docker default bridge network in \
         `--default_container_dns` is not allowed"
    );
    // A JSON object that does not convert into the message fails at load.
    assert!(matches!(
        dns(r#"{"mesos":[{"network_mode":"CNI"}]}"#),
        Err(Error::LoadValue { .. })
    ));
    assert!(
        agent(&["--work_dir=/w", r#"--agent_features={"capabilities":[]}"#])
            .unwrap_err()
            .to_string()
            .starts_with("At least the following agent features need to be enabled")
    );
}

#[test]
fn errors_come_in_name_order() {
    // Both are bad; upstream applies values in name order, so the error is about
    // `allocation_interval` although `port` came first on the command line.
    let err = master(&["--port=x", "--allocation_interval=x"])
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("Failed to load flag 'allocation_interval'"),
        "{err}"
    );
}

#[test]
fn help_flag_and_usage_text() {
    let f = master(&["--help"]).unwrap();
    assert!(f.help());
    let usage = f.usage(None);
    assert!(usage.starts_with("Usage: mesos-master [options]\n\n"));
    let port_line = usage
        .lines()
        .find(|l| l.starts_with("  --port=VALUE"))
        .unwrap();
    assert!(
        port_line.ends_with("Port to listen on. (default: 5050)"),
        "{port_line}"
    );
    let alias_line = usage
        .lines()
        .find(|l| l.starts_with("  --[no-]authenticate_agents, --[no-]authenticate_slaves"))
        .unwrap();
    assert!(alias_line.contains("(default: false)"), "{alias_line}");
    // Help columns line up.
    let col = port_line.find("Port").unwrap();
    assert_eq!(alias_line.find("Whether").unwrap(), col);
    // Continuation lines of multi-line help are indented to the same column.
    let i = usage
        .lines()
        .position(|l| l.starts_with("  --hostname=VALUE"))
        .unwrap();
    let next = usage.lines().nth(i + 1).unwrap();
    assert_eq!(next.len() - next.trim_start().len(), col);
    // The program name comes from argv[0], as upstream (`mesos-slave` is an alias).
    let mut a = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
    let _ = a.load_from(NO_ENV, ["/usr/sbin/mesos-slave", "--help"]);
    assert!(a.help());
    assert!(a
        .usage(None)
        .starts_with("Usage: mesos-slave [options]\n\n"));
    // Usage lists every flag, `--help` included.
    assert_eq!(
        usage.lines().filter(|l| l.starts_with("  --")).count(),
        f.specs().count()
    );
}

#[test]
fn rendering_normalises_values_as_stringify_does() {
    let f = master(&[
        "--agent_reregister_timeout=600secs",
        "--offer_timeout=90secs",
        "--fair_sharing_excluded_resource_names=gpus,cpus",
        "--port=+5052",
    ])
    .unwrap();
    let listed: std::collections::BTreeMap<_, _> = f.flags().into_iter().collect();
    assert_eq!(listed["agent_reregister_timeout"], "10mins");
    assert_eq!(listed["offer_timeout"], "90secs");
    assert_eq!(
        listed["fair_sharing_excluded_resource_names"],
        "{ cpus, gpus }"
    );
    assert_eq!(listed["port"], "5052");
    let a = agent(&[
        "--work_dir=/w",
        "--gc_disk_headroom=0.25",
        "--fetcher_cache_size=2048MB",
    ])
    .unwrap();
    let listed: std::collections::BTreeMap<_, _> = a.flags().into_iter().collect();
    assert_eq!(listed["gc_disk_headroom"], "0.25");
    assert_eq!(listed["fetcher_cache_size"], "2GB");
}

#[test]
fn set_and_set_default_for_programs_and_tests() {
    let mut f = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
    f.set("work_dir", "/tmp/agent").unwrap();
    f.set("resources", "cpus:2;mem:1024").unwrap();
    f.check().unwrap();
    assert_eq!(f.resources(), Some("cpus:2;mem:1024"));
    f.set_default("launcher", FlagValue::String("linux".into()))
        .unwrap();
    assert_eq!(f.launcher(), "linux");
    // A loaded value is not replaced by a new default.
    f.set("launcher", "posix").unwrap();
    f.set_default("launcher", FlagValue::String("linux".into()))
        .unwrap();
    assert_eq!(f.launcher(), "posix");
    assert_eq!(f.set("nope", "1"), Err(Error::NoSuchFlag("nope".into())));
    assert!(f.set_default("port", FlagValue::Bool(true)).is_err());
}

#[test]
fn build_environment_and_display() {
    let f = master(&["--port=5055", "--slave_ping_timeout=20secs"]).unwrap();
    let env = f.build_environment(Some("MESOS_"));
    assert_eq!(env["MESOS_PORT"], "5055");
    assert_eq!(env["MESOS_SLAVE_PING_TIMEOUT"], "20secs");
    assert!(f.to_string().contains("--port=\"5055\""));
}

#[test]
fn a_custom_registry_behaves_like_flagsbase() {
    let mut base = FlagsBase::new();
    base.add(FlagSpec::optional("list", FlagType::UintList, "Numbers."));
    base.add(
        FlagSpec::with_default(
            "size",
            FlagType::Bytes,
            FlagValue::Bytes(stout::Bytes::new(0)),
            "",
        )
        .deprecated_alias("old_size"),
    );
    let w = base
        .load(
            Some("APP_"),
            [("APP_LIST", "1,2")],
            ["app", "--old_size=1KB"],
        )
        .unwrap();
    assert_eq!(
        w.messages,
        vec!["Loaded deprecated flag 'old_size'".to_string()]
    );
    assert_eq!(base.get("list"), Some(&FlagValue::UintList(vec![1, 2])));
    assert_eq!(base.get_bytes("size"), Some(stout::Bytes::kilobytes(1)));
    assert_eq!(base.loaded_name("size"), Some("old_size"));
    // Without a prefix the environment is not consulted.
    let mut base2 = FlagsBase::new();
    base2.add(FlagSpec::optional("list", FlagType::UintList, ""));
    base2.load(None, [("LIST", "1")], ["app"]).unwrap();
    assert_eq!(base2.get("list"), None);
    // Unknowns can be tolerated on request, as upstream's `unknowns = true`.
    let mut base3 = FlagsBase::new();
    base3
        .load_with(
            None,
            NO_ENV,
            ["app", "--x=1"],
            stout::LoadOptions {
                unknowns: true,
                duplicates: false,
            },
        )
        .unwrap();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Whatever an operator types, loading answers Ok or Err; it never panics.
    #[test]
    fn loading_never_panics(
        args in proptest::collection::vec("(--(no-)?)?[a-z_]{0,12}(=[ -~]{0,16})?", 0..6),
        env in proptest::collection::vec(("MESOS_[A-Z_]{1,12}", "[ -~]{0,16}"), 0..4),
    ) {
        let mut f = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
        let argv = std::iter::once("mesos-agent".to_string()).chain(args);
        let _ = f.load_from(env, argv);
        let _ = f.flags();
        let mut m = MasterFlags::new();
        let _ = m.load_from(
            [("MESOS_PORT", "x")],
            ["mesos-master", "--weights=a=1", "--domain={\"fault_domain\":1}"],
        );
    }

    /// Any value given to any flag, as text, never panics either.
    #[test]
    fn every_flag_takes_any_value(value in "[ -~]{0,24}") {
        let f = AgentFlags::with_runtime_defaults(&RuntimeDefaults::fixed());
        let names: Vec<&str> = f.specs().map(|s| s.name).collect();
        for name in names {
            let mut g = f.clone();
            let _ = g.set(name, &value);
            let _ = g.flags();
        }
    }
}
