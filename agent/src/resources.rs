//! The agent's total resources: `--resources` plus auto-detected cpus, mem,
//! disk and ports, as upstream's `Containerizer::resources`
//! (src/slave/containerizer/containerizer.cpp).

use std::path::Path;

use mesos_allocator::resources::Resources;
use mesos_proto::mesos::{value, Attribute, Resource};

use crate::Error;

/// `DEFAULT_CPUS` (src/slave/constants.hpp), used when detection fails.
pub const DEFAULT_CPUS: f64 = 1.0;
/// `DEFAULT_MEM` in MB.
pub const DEFAULT_MEM_MB: u64 = 1024;
/// `DEFAULT_DISK` in MB.
pub const DEFAULT_DISK_MB: u64 = 10 * 1024;
/// `DEFAULT_PORTS`.
pub const DEFAULT_PORTS: &str = "[31000-32000]";
/// `DEFAULT_EXECUTOR_CPUS`: overhead added to a command task's executor.
pub const DEFAULT_EXECUTOR_CPUS: f64 = 0.1;
/// `DEFAULT_EXECUTOR_MEM` in MB.
pub const DEFAULT_EXECUTOR_MEM_MB: f64 = 32.0;

const MB: u64 = 1024 * 1024;
const GB: u64 = 1024 * MB;

/// Memory offered: leave 1 GB free when there are at least 2 GB, else half.
pub fn mem_to_offer_mb(total_bytes: u64) -> u64 {
    let mem = if total_bytes >= 2 * GB {
        total_bytes - GB
    } else {
        total_bytes / 2
    };
    mem / MB
}

/// Disk offered: leave 5 GB free when there are at least 10 GB, else half.
pub fn disk_to_offer_mb(total_bytes: u64) -> u64 {
    let disk = if total_bytes >= 10 * GB {
        total_bytes - 5 * GB
    } else {
        total_bytes / 2
    };
    disk / MB
}

/// What the machine has, as detected (or injected by tests).
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    pub cpus: Option<f64>,
    pub mem_total_bytes: Option<u64>,
    pub disk_total_bytes: Option<u64>,
}

impl Machine {
    /// Detects cpus (online processors), total memory and the size of the
    /// file system holding `work_dir`.
    pub fn detect(work_dir: &Path) -> Machine {
        let cpus = std::thread::available_parallelism()
            .ok()
            .map(|n| n.get() as f64);
        let cpus = {
            // `os::cpus()` is sysconf(_SC_NPROCESSORS_ONLN), not the
            // affinity-limited count.
            let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
            if n > 0 {
                Some(n as f64)
            } else {
                cpus
            }
        };
        let mem = nix::sys::sysinfo::sysinfo().ok().map(|i| i.ram_total());
        let disk = nix::sys::statvfs::statvfs(work_dir)
            .ok()
            .map(|s| s.blocks() * s.fragment_size());
        Machine {
            cpus,
            mem_total_bytes: mem,
            disk_total_bytes: disk,
        }
    }
}

/// Parses `--resources` (text or JSON) and fills in what it does not name.
pub fn agent_resources(
    flag: Option<&str>,
    default_role: &str,
    machine: &Machine,
) -> Result<Vec<Resource>, Error> {
    let text = flag.unwrap_or("");
    let parsed = Resources::parse(text, default_role)
        .map_err(|e| Error::Flags(format!("Failed to parse --resources: {e}")))?;
    let names = parsed.names();
    let mut out = parsed.to_vec();
    let mut add = |name: &str, value: String| -> Result<(), Error> {
        let r = Resources::parse(&format!("{name}:{value}"), default_role)
            .map_err(|e| Error::Flags(e.to_string()))?;
        out.extend(r.to_vec());
        Ok(())
    };
    if !names.contains("cpus") {
        add("cpus", fmt_num(machine.cpus.unwrap_or(DEFAULT_CPUS)))?;
    }
    if !names.contains("mem") {
        let mb = machine
            .mem_total_bytes
            .map(mem_to_offer_mb)
            .unwrap_or(DEFAULT_MEM_MB);
        add("mem", mb.to_string())?;
    }
    if !names.contains("disk") {
        let mb = machine
            .disk_total_bytes
            .map(disk_to_offer_mb)
            .unwrap_or(DEFAULT_DISK_MB);
        add("disk", mb.to_string())?;
    }
    if !names.contains("ports") {
        add("ports", DEFAULT_PORTS.to_string())?;
    }
    Ok(out)
}

/// Parses `--attributes` (`name:value;...`): scalars, ranges, sets, text
/// (src/common/attributes.cpp).
pub fn parse_attributes(text: &str) -> Vec<Attribute> {
    text.split(';')
        .filter(|t| !t.trim().is_empty())
        .filter_map(|t| {
            let (name, v) = t.split_once(':')?;
            let name = name.trim().to_string();
            let v = v.trim();
            let mut a = Attribute {
                name,
                ..Default::default()
            };
            if let Ok(x) = v.parse::<f64>() {
                a.set_type(value::Type::Scalar);
                a.scalar = Some(value::Scalar { value: x });
            } else if v.starts_with('[') {
                let ranges = v
                    .trim_matches(|c| c == '[' || c == ']')
                    .split(',')
                    .filter_map(|r| {
                        let (b, e) = r.trim().split_once('-')?;
                        Some(value::Range {
                            begin: b.trim().parse().ok()?,
                            end: e.trim().parse().ok()?,
                        })
                    })
                    .collect();
                a.set_type(value::Type::Ranges);
                a.ranges = Some(value::Ranges { range: ranges });
            } else if v.starts_with('{') {
                a.set_type(value::Type::Set);
                a.set = Some(value::Set {
                    item: v
                        .trim_matches(|c| c == '{' || c == '}')
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect(),
                });
            } else {
                a.set_type(value::Type::Text);
                a.text = Some(value::Text {
                    value: v.to_string(),
                });
            }
            Some(a)
        })
        .collect()
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(rs: &[Resource], name: &str) -> Option<f64> {
        rs.iter()
            .find(|r| r.name == name)
            .and_then(|r| r.scalar.as_ref())
            .map(|s| s.value)
    }

    #[test]
    fn reservations_match_upstream() {
        assert_eq!(mem_to_offer_mb(8 * GB), 7 * 1024);
        assert_eq!(mem_to_offer_mb(2 * GB), 1024);
        assert_eq!(mem_to_offer_mb(GB), 512);
        assert_eq!(disk_to_offer_mb(100 * GB), 95 * 1024);
        assert_eq!(disk_to_offer_mb(8 * GB), 4 * 1024);
    }

    #[test]
    fn detection_fills_in_missing_resources() {
        let m = Machine {
            cpus: Some(4.0),
            mem_total_bytes: Some(16 * GB),
            disk_total_bytes: Some(50 * GB),
        };
        let rs = agent_resources(Some("cpus:2;gpus:0"), "*", &m).unwrap();
        assert_eq!(scalar(&rs, "cpus"), Some(2.0), "explicit value wins");
        assert_eq!(scalar(&rs, "mem"), Some(15.0 * 1024.0));
        assert_eq!(scalar(&rs, "disk"), Some(45.0 * 1024.0));
        let ports = rs.iter().find(|r| r.name == "ports").unwrap();
        let range = &ports.ranges.as_ref().unwrap().range[0];
        assert_eq!((range.begin, range.end), (31000, 32000));
    }

    #[test]
    fn detection_failure_uses_defaults_and_bad_flag_is_an_error() {
        let m = Machine {
            cpus: None,
            mem_total_bytes: None,
            disk_total_bytes: None,
        };
        let rs = agent_resources(None, "*", &m).unwrap();
        assert_eq!(scalar(&rs, "cpus"), Some(1.0));
        assert_eq!(scalar(&rs, "mem"), Some(1024.0));
        assert_eq!(scalar(&rs, "disk"), Some(10240.0));
        assert!(agent_resources(Some("cpus:abc"), "*", &m).is_err());
    }

    #[test]
    fn attributes_parse_by_type() {
        let a = parse_attributes("rack:r1;zone:2;ports:[1-2,5-6];tags:{a,b}");
        assert_eq!(a.len(), 4);
        assert_eq!(a[0].text.as_ref().unwrap().value, "r1");
        assert_eq!(a[1].scalar.as_ref().unwrap().value, 2.0);
        assert_eq!(a[2].ranges.as_ref().unwrap().range.len(), 2);
        assert_eq!(a[3].set.as_ref().unwrap().item, vec!["a", "b"]);
    }

    #[test]
    fn real_machine_detection_is_sane() {
        let m = Machine::detect(Path::new("/"));
        assert!(m.cpus.unwrap() >= 1.0);
        assert!(m.mem_total_bytes.unwrap() > 0);
    }
}
