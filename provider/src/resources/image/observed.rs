//! When Check may observe the machine for an Image.
//!
//! The engine calls Check only in preview and up, with the program's inputs;
//! refresh, destroy and import never call it. Observing there (fingerprint,
//! base-image digests) and recording the result in the checked inputs keeps
//! Diff a function of its inputs and the state.

use crate::resource::Ctx;

/// The inputs an observation depends on.
const OBSERVED_FROM: [&str; 10] = [
    "context",
    "dockerfile",
    "buildArgs",
    "target",
    "tags",
    "registries",
    "baseImages",
    "baseImagePull",
    "baseImageRefresh",
    "platforms",
];

/// True when none of the inputs the observation depends on is unknown.
pub(super) fn observable(ctx: &Ctx) -> bool {
    !OBSERVED_FROM.iter().any(|p| ctx.is_unknown_at(p))
}
