//! What this build reports about itself in `/version`, `/state` and
//! GET_VERSION (upstream `src/common/build.hpp`), filled in by `build.rs`.

use mesos_proto::mesos::VersionInfo;

/// `YYYY-MM-DD HH:MM:SS` (UTC) of the build.
pub const DATE: &str = env!("MESOS_BUILD_DATE");
/// Seconds since the epoch of the build.
pub const TIME: &str = env!("MESOS_BUILD_TIME");
pub const USER: &str = env!("MESOS_BUILD_USER");
/// The commit built, when built from a git checkout (upstream prints
/// `git_sha` only then, too).
pub const GIT_SHA: Option<&str> = option_env!("MESOS_GIT_SHA");

pub fn time() -> f64 {
    TIME.parse().unwrap_or(0.0)
}

/// The `VersionInfo` of GET_VERSION.
pub fn version_info() -> VersionInfo {
    VersionInfo {
        version: crate::MESOS_VERSION.into(),
        build_date: Some(DATE.into()),
        build_time: Some(time()),
        build_user: Some(USER.into()),
        git_sha: GIT_SHA.map(str::to_string),
        git_tag: Some(crate::MESOS_VERSION.into()),
        ..Default::default()
    }
}
