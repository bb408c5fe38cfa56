//! Housekeeping when a plugin starts: what earlier, killed runs left.
//!
//! A plugin killed mid-build cannot clean up after itself: its temp
//! entries (work directory with the registry auth file, secret files, OCI
//! layouts) stay in the build temp root, and kept context snapshots of
//! contexts nobody builds any more stay in the cache. Each start removes
//! temp entries whose process is gone, and kept snapshots unused for
//! `IMAGEDEPLOY_KEPT_SNAPSHOT_DAYS` days (14 by default; `off` keeps them),
//! within a time budget so a huge cache never delays anything for long.

use std::time::Duration;

/// Environment variable: days a kept snapshot may go unused (`off`: forever).
pub const KEPT_DAYS_ENV: &str = "IMAGEDEPLOY_KEPT_SNAPSHOT_DAYS";
const DEFAULT_KEPT_DAYS: u64 = 14;
const BUDGET: Duration = Duration::from_secs(10);

/// How long a kept snapshot may go unused; `None`: keep them all.
fn kept_max_age() -> Option<Duration> {
    let days = match std::env::var(KEPT_DAYS_ENV) {
        Ok(v) if v.trim().eq_ignore_ascii_case("off") => return None,
        Ok(v) => v.trim().parse::<u64>().unwrap_or(DEFAULT_KEPT_DAYS),
        Err(_) => DEFAULT_KEPT_DAYS,
    };
    Some(Duration::from_secs(days.saturating_mul(24 * 3600)))
}

/// Runs once at start (in a background thread); never fails.
pub fn run() {
    let temp = imagedeploy_build::scratch::remove_leftovers();
    let mut kept = 0;
    if let (Some(age), Some(root)) = (
        kept_max_age(),
        imagedeploy_fingerprint::stage::snapshots_root(),
    ) {
        kept = imagedeploy_fingerprint::stage::remove_unused(&root, age, BUDGET);
    }
    if temp + kept > 0 {
        tracing::debug!(temp, kept, "removed what earlier runs left");
    }
}
