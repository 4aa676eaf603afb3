//! `mesos-executor`: the command executor (upstream src/launcher/executor.cpp)
//! speaking the libprocess executor driver protocol to the agent. Reads the
//! `MESOS_*` environment the agent sets, binds libprocess on
//! `LIBPROCESS_IP`/`LIBPROCESS_PORT` (0 = ephemeral), runs as `executor(1)`
//! until the task is done and its terminal update acknowledged. With
//! `--rootfs` (a task with an image) the executor stays in the host
//! filesystem and launches only the task inside the image through
//! `mesos-containerizer launch`.
//! The task's health check (`TaskInfo.health_check`) and check
//! (`TaskInfo.check`) are run in both modes (mesos_agent::checks;
//! third_party_docs/health-checks.md).

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context;
use libprocess::runtime::tokio::Runtime;
use libprocess::transport::TransportConfig;
use mesos_agent::executor::{CommandExecutor, CommandExecutorFlags, ExecutorEnv};

fn run() -> anyhow::Result<i32> {
    // `--launcher_dir`, and for a task with an image `--rootfs`,
    // `--sandbox_directory`, `--user`, `--working_directory`,
    // `--task_command`, `--task_environment` (upstream's executor flags).
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flags = CommandExecutorFlags::parse(&args).map_err(|e| anyhow::anyhow!("{e}"))?;
    let env: BTreeMap<String, String> = std::env::vars().collect();
    // `--http_command_executor`: the v1 executor HTTP API instead of the
    // driver (upstream executor.cpp `main`), run by the default executor's
    // machinery in command mode.
    if env.get("MESOS_HTTP_COMMAND_EXECUTOR").map(String::as_str) == Some("1") {
        let (mut config, agent, settings) = mesos_agent::default_executor::run::from_env(&env)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        config.command_mode = true;
        tracing::info!("HTTP command executor '{}' starting", config.executor_id);
        mesos_agent::default_executor::run(config, agent, settings)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        return Ok(0);
    }
    let exec_env = ExecutorEnv::from_env(&env).map_err(|e| anyhow::anyhow!("{e}"))?;
    let tc = TransportConfig::from_env().context("Bad LIBPROCESS_* environment")?;
    let runtime = Runtime::start(tc).context("Failed to initialize libprocess")?;
    let pid = runtime.spawn_generated("executor", CommandExecutor::with_flags(exec_env, flags));
    tracing::info!("Command executor started as {pid}");
    let mut code = 0;
    loop {
        if !runtime.is_running(&pid) {
            break;
        }
        if let Some(c) = runtime.call::<CommandExecutor, i32>(&pid, |e, _| e.exit_code) {
            code = c;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Let the last messages (the terminal update's delivery) drain.
    std::thread::sleep(Duration::from_millis(200));
    runtime.shutdown();
    Ok(code)
}

fn main() {
    mesos_cli::init_logging();
    match run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("mesos-executor: {e:#}");
            std::process::exit(1);
        }
    }
}
