//! `mesos-master`: not built yet.

fn main() {
    eprintln!("mesos-master is not built yet");
    std::process::exit(1);
}
