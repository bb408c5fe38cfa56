//! Check: every platform a `RUN` step executes on must be runnable here.
//!
//! A `RUN` in a stage built for a foreign platform (`platforms:
//! ["linux/arm64"]` on an amd64 machine, without `FROM
//! --platform=$BUILDPLATFORM`) executes the image's own binaries, which only
//! an emulator registered in binfmt_misc can run. Without one the builder
//! fails halfway through with `exec format error`; this names the
//! Dockerfile line and the fix at preview instead. Only local builders are
//! checked: a remote Docker engine has its own kernel, which we cannot see.

use imagedeploy_build::emulation;
use imagedeploy_fingerprint::dockerfile::PlannedRun;

use super::args::ImageArgs;
use crate::resource::{Ctx, Failure};

/// Longest quoted `RUN` text in a failure.
const SHOWN_RUN_CHARS: usize = 80;

/// What the check needs to know about the build.
pub(super) struct Planned<'a> {
    /// Platform -> the first `RUN` executing on it (the fingerprint's
    /// `run_platforms`).
    pub run_platforms: &'a std::collections::BTreeMap<String, PlannedRun>,
    /// The builder's native platform.
    pub builder_platform: &'a str,
    /// Whether the builder runs on this machine's kernel.
    pub local_builder: bool,
}

/// One failure per platform whose `RUN` steps this machine cannot run.
pub(super) fn failures(ctx: &Ctx, args: &ImageArgs, planned: &Planned<'_>) -> Vec<Failure> {
    if !planned.local_builder {
        return Vec::new();
    }
    let requested = args.platforms.clone().unwrap_or_default();
    let secret_dockerfile = ctx.is_secret_at("dockerfile");
    let mut failures = Vec::new();
    for (platform, run) in planned.run_platforms {
        let Err(why) = emulation::support(platform, planned.builder_platform) else {
            continue;
        };
        // A platform the Dockerfile names itself (`FROM --platform=...`)
        // is the Dockerfile's to fix.
        let property = if requested.iter().any(|p| p.eq_ignore_ascii_case(platform)) {
            "platforms"
        } else {
            "dockerfile"
        };
        let instruction = if secret_dockerfile {
            "RUN".to_string()
        } else {
            shorten(&run.text)
        };
        let stage = if run.stage.parse::<usize>().is_ok() {
            String::new()
        } else {
            format!(", stage {}", run.stage)
        };
        let dir = std::env::var_os(emulation::BINFMT_MISC_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(|_| format!(" ({} names that directory)", emulation::BINFMT_MISC_DIR_ENV))
            .unwrap_or_default();
        failures.push(Failure::new(
            property,
            format!(
                "{platform}: Dockerfile line {line} ({instruction}{stage}) runs on {platform}, but this machine ({native}) cannot run {platform} programs: {why}{dir}. Fix: {fix}; or build that stage with FROM --platform=$BUILDPLATFORM so its RUN steps run natively (cross-compiling for $TARGETPLATFORM)",
                line = run.line,
                native = planned.builder_platform,
                fix = why.fix(platform),
            ),
        ));
    }
    failures
}

/// Whether a Docker engine at `host` (`None`: `DOCKER_HOST` or the default
/// socket) shares this machine's kernel.
pub(super) fn local_docker(host: Option<&str>) -> bool {
    let host = host
        .map(str::to_string)
        .or_else(|| std::env::var("DOCKER_HOST").ok())
        .unwrap_or_default();
    host.is_empty() || host.starts_with("unix://") || host.starts_with("npipe://")
}

fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    if line.chars().count() <= SHOWN_RUN_CHARS && line.len() == text.len() {
        return line.to_string();
    }
    let cut: String = line.chars().take(SHOWN_RUN_CHARS).collect();
    format!("{cut}...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_or_multi_line_runs_are_shortened() {
        assert_eq!(shorten("RUN uname -m > /arch"), "RUN uname -m > /arch");
        assert_eq!(shorten("RUN <<EOF\nx\nEOF"), "RUN <<EOF...");
        let long = format!("RUN {}", "x".repeat(200));
        assert_eq!(shorten(&long).chars().count(), SHOWN_RUN_CHARS + 3);
    }

    #[test]
    fn docker_hosts_over_the_network_are_not_local() {
        assert!(local_docker(Some("unix:///var/run/docker.sock")));
        assert!(!local_docker(Some("tcp://10.0.0.5:2376")));
        assert!(!local_docker(Some("ssh://user@host")));
    }
}
