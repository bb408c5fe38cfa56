//! `pullBytes`: what a new task of the service pulls per container. Fargate
//! caches no layers, so every task start pulls each image whole; the figure
//! is its compressed size (layers, config and manifest), read from the
//! registry's manifest and config, never from a layer. An image whose
//! registry cannot be read is left out with a warning: the figure is a
//! report, not a reason to fail a deploy that already happened.
//!
//! The pinned images are already the children of the service's platform;
//! an index (an image pinned elsewhere, before pinning chose children) is
//! followed with the same platform mapping pinning uses.

use std::collections::BTreeMap;

use imagedeploy_ecs::{oci_platform, ServiceState};
use imagedeploy_registry::Reference;

use super::resolver::client_for;
use crate::resource::Ctx;

/// Container name -> compressed bytes its image makes a new task pull.
pub(super) async fn pull_bytes(ctx: &Ctx, state: &ServiceState) -> BTreeMap<String, i64> {
    let platform = oci_platform(&state.args).to_string();
    let platform = platform.as_str();
    let mut out = BTreeMap::new();
    for (container, image) in &state.images {
        match size_of(ctx, image, platform).await {
            Ok(Some(bytes)) => {
                out.insert(container.clone(), i64::try_from(bytes).unwrap_or(i64::MAX));
            }
            Ok(None) => ctx.warn(&format!(
                "pullBytes: {image} (container {container}) is not in its registry"
            )),
            Err(e) => ctx.warn(&format!(
                "pullBytes: cannot read the manifest of {image} (container {container}): {e}"
            )),
        }
    }
    out
}

async fn size_of(ctx: &Ctx, image: &str, platform: &str) -> Result<Option<u64>, String> {
    let reference = Reference::parse(image).map_err(|e| e.to_string())?;
    let client = client_for(ctx, &reference).await?;
    let layers = client
        .image_layers(&reference, platform)
        .await
        .map_err(|e| e.to_string())?;
    Ok(layers.map(|l| l.size_bytes))
}
