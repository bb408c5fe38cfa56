//! When Check may observe the machine for an Image, and the old state that
//! the `pinned` base-image policy reads.
//!
//! The engine calls Check only in preview and up, with the program's inputs;
//! refresh, destroy and import never call it. Observing there (fingerprint,
//! base-image digests) and recording the result in the checked inputs keeps
//! Diff a function of its inputs and the state.

use super::args::{ImageArgs, ImageState};
use crate::resource::Ctx;

/// The inputs an observation depends on.
const OBSERVED_FROM: [&str; 8] = [
    "context",
    "dockerfile",
    "buildArgs",
    "target",
    "tags",
    "registries",
    "baseImages",
    "platforms",
];

/// True when none of the inputs the observation depends on is unknown.
pub(super) fn observable(ctx: &Ctx) -> bool {
    !OBSERVED_FROM.iter().any(|p| ctx.is_unknown_at(p))
}

/// The old state `observe` reads for pinned base images: the digests the
/// last Check recorded in the old inputs.
pub(super) fn pinned_state(args: &ImageArgs, olds: Option<&ImageArgs>) -> Option<ImageState> {
    let seen = olds?.observed.as_ref()?;
    Some(ImageState {
        args: args.clone(),
        digest: String::new(),
        reference: String::new(),
        content_digest: String::new(),
        context_hash: seen.context_hash.clone(),
        base_image_digests: seen.base_image_digests.clone(),
        size_bytes: 0,
        uncompressed_bytes: 0,
        layers: Vec::new(),
        platform: String::new(),
        context_manifest: None,
    })
}
