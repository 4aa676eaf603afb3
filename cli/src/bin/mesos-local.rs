//! `mesos-local`: not built yet.

fn main() {
    eprintln!("mesos-local is not built yet");
    std::process::exit(1);
}
