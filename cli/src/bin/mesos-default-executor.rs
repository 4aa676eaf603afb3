//! `mesos-default-executor`: the default executor (upstream
//! src/launcher/default_executor.cpp). The agent starts it for a task group
//! (`ExecutorInfo.type == DEFAULT`); it subscribes to the agent's
//! `/api/v1/executor`, runs each task in a nested container through the
//! agent's `/api/v1` and ends once every task is done.

use std::collections::BTreeMap;

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("Usage: mesos-default-executor [--launcher_dir=<dir>]");
        return Ok(());
    }
    // `--launcher_dir` is accepted; nothing here needs it (no checks yet).
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let (config, agent, settings) =
        mesos_agent::default_executor::run::from_env(&env).map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(
        "Default executor '{}' of framework {} subscribing to the agent at {}",
        config.executor_id,
        config.framework_id,
        agent.addr
    );
    mesos_agent::default_executor::run(config, agent, settings).map_err(|e| anyhow::anyhow!("{e}"))
}

fn main() {
    mesos_cli::init_logging();
    if let Err(e) = run() {
        eprintln!("mesos-default-executor: {e:#}");
        std::process::exit(1);
    }
}
