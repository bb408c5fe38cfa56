//! The ownership mark of a Service (`imagedeploy_ecs::ownership`): a token
//! from the URN, plus the service names the engine recorded for the URN.
//!
//! A replacement's old service carries the same mark as the new one, but it
//! is recorded: the engine sends its inputs as the olds of the first Check
//! of this run, and Checks again without olds for the replacement
//! (`continueStepsFromDiff` in pulumi's `pkg/resource/deploy/step_generator.go`).
//! A create the plugin died in leaves nothing recorded
//! (`createSnapshotMutation.End` in `pkg/backend/snapshot.go` marks the
//! resource new only on success), so its service was never seen as olds. Names seen that way are remembered for the life of the
//! plugin process, which is one engine operation, so a create never takes
//! the recorded service for an orphan of a killed run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use imagedeploy_ecs::Owner;

use crate::resource::Ctx;

/// Per URN: service names the engine recorded, clusters of olds and news.
type Seen = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

static SEEN: Mutex<Seen> = Mutex::new(BTreeMap::new());

/// Remembers what a Check of `urn` showed: the recorded service's name
/// (olds), and the clusters of olds and news (services of this resource may
/// run there during a replacement).
pub(super) fn checked(urn: &str, recorded_name: Option<&str>, clusters: &[&str]) {
    let mut map = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let entry = map.entry(urn.to_string()).or_default();
    entry.0.extend(recorded_name.map(str::to_string));
    entry.1.extend(
        clusters
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| c.to_string()),
    );
}

/// The owner of what the resource of `ctx` registers and creates.
pub(super) fn of(ctx: &Ctx) -> Owner {
    let (names, clusters) = SEEN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&ctx.urn)
        .cloned()
        .unwrap_or_default();
    Owner::of_urn(&ctx.urn)
        .with_recorded(names)
        .with_clusters(clusters)
        .with_family_prefix(imagedeploy_ecs::validate::autoname_base(&ctx.name))
}
