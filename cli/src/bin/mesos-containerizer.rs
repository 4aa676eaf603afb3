//! `mesos-containerizer`: not built yet.

fn main() {
    eprintln!("mesos-containerizer is not built yet");
    std::process::exit(1);
}
