//! `mesos-agent`: not built yet.

pub fn main() {
    eprintln!("mesos-agent is not built yet");
    std::process::exit(1);
}
