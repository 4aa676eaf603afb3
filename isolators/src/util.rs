//! Small helpers shared by the isolators: scalar resources, stout's byte
//! formatting, limitations, time stamps.

use mesos_proto::mesos::slave::ContainerLimitation;
use mesos_proto::mesos::Resource;

/// Sum of the scalar resource `name` (e.g. `cpus`, `mem` in MB, `disk`).
pub fn scalar(resources: &[Resource], name: &str) -> Option<f64> {
    let mut found = false;
    let mut sum = 0.0;
    for r in resources.iter().filter(|r| r.name == name) {
        if let Some(s) = &r.scalar {
            found = true;
            sum += s.value;
        }
    }
    found.then_some(sum)
}

/// The resources named `name` (used as the limitation's resources).
pub fn named(resources: &[Resource], name: &str) -> Vec<Resource> {
    resources
        .iter()
        .filter(|r| r.name == name)
        .cloned()
        .collect()
}

/// A scalar resource of the default role.
pub fn scalar_resource(name: &str, value: f64) -> Resource {
    use mesos_proto::mesos::value;
    Resource {
        name: name.to_string(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value }),
        ..Default::default()
    }
}

/// stout's `Bytes` output: the largest unit dividing the value exactly.
pub fn bytes_string(b: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "TB"),
        (1 << 30, "GB"),
        (1 << 20, "MB"),
        (1 << 10, "KB"),
    ];
    for (size, unit) in UNITS {
        if b > 0 && b.is_multiple_of(size) {
            return format!("{}{unit}", b / size);
        }
    }
    format!("{b}B")
}

/// `protobuf::slave::createContainerLimitation`.
pub fn limitation(
    resources: Vec<Resource>,
    message: String,
    reason: mesos_proto::mesos::task_status::Reason,
) -> ContainerLimitation {
    ContainerLimitation {
        resources,
        message: Some(message),
        reason: Some(reason as i32),
    }
}

/// Seconds since the epoch, as `ResourceStatistics.timestamp`.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_like_stout() {
        assert_eq!(bytes_string(64 << 20), "64MB");
        assert_eq!(bytes_string(1 << 30), "1GB");
        assert_eq!(bytes_string(1536), "1536B");
        assert_eq!(bytes_string(2048), "2KB");
        assert_eq!(bytes_string(0), "0B");
        assert_eq!(bytes_string(1000), "1000B");
    }

    #[test]
    fn scalars_sum_by_name() {
        let r = vec![
            scalar_resource("cpus", 0.5),
            scalar_resource("cpus", 1.0),
            scalar_resource("mem", 64.0),
        ];
        assert_eq!(scalar(&r, "cpus"), Some(1.5));
        assert_eq!(scalar(&r, "disk"), None);
        assert_eq!(named(&r, "mem").len(), 1);
    }
}
