//! `mesos-slave`: the deprecated name of `mesos-agent`, kept as upstream keeps it.

#[path = "mesos-agent.rs"]
mod agent;

fn main() {
    agent::main()
}
