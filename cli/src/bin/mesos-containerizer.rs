//! `mesos-containerizer`: upstream's containerizer helper binary
//! (src/slave/containerizer/mesos/main.cpp). The `launch` subcommand
//! (launch.cpp) takes `--launch_info=<JSON of mesos.slave.ContainerLaunchInfo>`
//! and, inside the freshly cloned container process, performs the mounts,
//! masks, rootfs switch, user switch, `no_new_privs` and execs the command
//! (see `mesos_isolators::launch`).

const USAGE: &str = "Usage: mesos-containerizer <subcommand> [OPTIONS]\n\n\
Available subcommands:\n    help\n    launch\n\n\
launch options:\n  --launch_info=VALUE   JSON of mesos.slave.ContainerLaunchInfo (or file://path)\n  \
--unshare_namespace_mnt   enter a new mount namespace first\n";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("launch") => launch(&args[2..]),
        Some("help") | Some("--help") | None => {
            print!("{USAGE}");
        }
        Some(other) => {
            eprintln!("Unknown subcommand '{other}'\n\n{USAGE}");
            std::process::exit(1);
        }
    }
}

fn launch(args: &[String]) {
    let mut launch_info: Option<String> = None;
    let mut unshare_namespace_mnt = false;
    for a in args {
        if let Some(v) = a.strip_prefix("--launch_info=") {
            launch_info = Some(v.to_string());
        } else if a == "--unshare_namespace_mnt" || a == "--unshare_namespace_mnt=true" {
            unshare_namespace_mnt = true;
        } else if a == "--no-unshare_namespace_mnt" || a == "--unshare_namespace_mnt=false" {
            unshare_namespace_mnt = false;
        } else if a == "--help" {
            print!("{USAGE}");
            return;
        } else if a.starts_with("--pipe_read=")
            || a.starts_with("--pipe_write=")
            || a.starts_with("--runtime_directory=")
            || a.starts_with("--namespace_mnt_target=")
        {
            // Upstream flags we accept; synchronisation happens in the
            // launcher before exec here.
        } else {
            eprintln!("Failed to load flags: unknown flag '{a}'");
            std::process::exit(1);
        }
    }
    let Some(mut json) = launch_info else {
        eprintln!("Flag --launch_info is not specified");
        std::process::exit(1);
    };
    if let Some(path) = json.strip_prefix("file://") {
        match std::fs::read_to_string(path) {
            Ok(t) => json = t,
            Err(e) => {
                eprintln!("Failed to read launch info '{path}': {e}");
                std::process::exit(1);
            }
        }
    }
    let info = match mesos_isolators::launch::parse_launch_info(&json) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let err = mesos_isolators::launch::execute_with(&info, unshare_namespace_mnt);
    eprintln!("{err}");
    std::process::exit(1);
}
