//! `mesos-executor`: not built yet.

fn main() {
    eprintln!("mesos-executor is not built yet");
    std::process::exit(1);
}
