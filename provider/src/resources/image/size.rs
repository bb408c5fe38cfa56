//! The Image's size report at the provider's edge: gathers what the domain
//! report needs (the built layout's layer facts, which blobs the registry
//! already has, the previous image's layers from state or, for a state
//! written before layers were recorded, from the registry's manifest and
//! config), logs the summary and advice, applies `sizeBudget`, and turns the
//! report into the `layers` output.

use std::collections::HashSet;
use std::path::Path;

use imagedeploy_build::report::{self, Budget, SizeReport};
use imagedeploy_registry::{Digest, ImageLayout, Reference};

use super::args::{BudgetAction, ImageArgs, ImageLayer, ImageState};
use super::{fingerprint_cache, ImageError, Observation};
use crate::resource::Ctx;

/// The report of the image in `layout_dir` against `old`.
pub(super) async fn analyse(
    obs: &Observation,
    old: Option<&ImageState>,
    preview: bool,
    layout_dir: &Path,
    uncompressed: &[u64],
) -> Result<SizeReport, ImageError> {
    let layout = ImageLayout::open(layout_dir)
        .map_err(|e| ImageError::Content(imagedeploy_registry::ContentError::Layout(e)))?;
    let facts = layout
        .layers()
        .map_err(|e| ImageError::Content(imagedeploy_registry::ContentError::Layout(e)))?;
    let digests: Vec<Digest> = facts.layers.iter().map(|l| l.digest.clone()).collect();
    // Preview does not ask the registry it would push to (it may not be
    // reachable from here, and preview never needed it): there a layer is
    // new when the previous image did not have it. Up asks, and a registry
    // that cannot answer fails it here as the push would.
    let present: Option<HashSet<Digest>> = match (obs.resolved.push && !preview, obs.tags.first()) {
        (true, Some(target)) => {
            let missing = obs.client.missing_blobs(target, &digests).await?;
            Some(
                digests
                    .into_iter()
                    .filter(|d| !missing.contains(d))
                    .collect(),
            )
        }
        _ => None,
    };
    let old_manifest = old.and_then(|o| {
        o.context_manifest
            .clone()
            .or_else(|| fingerprint_cache::load(&o.context_hash))
    });
    let old_layers = match old {
        Some(o) if !o.layers.is_empty() => Some(from_output(&o.layers)),
        Some(o) if !o.reference.is_empty() && !preview => {
            previous_from_registry(obs, o, old_manifest.as_ref()).await
        }
        _ => None,
    };
    let previous = old_layers.as_ref().map(|layers| report::Previous {
        layers,
        manifest: old_manifest.as_ref(),
    });
    Ok(report::report(
        &facts,
        uncompressed,
        &obs.fingerprint.manifest,
        present.as_ref(),
        previous.as_ref(),
    ))
}

/// The previous image's layers from its manifest and config in the
/// registry (no layer is read), for a state written before layers were
/// recorded (up only); `None` when they cannot be had.
async fn previous_from_registry(
    obs: &Observation,
    old: &ImageState,
    old_manifest: Option<&imagedeploy_fingerprint::Manifest>,
) -> Option<Vec<report::Layer>> {
    let reference = Reference::parse(&old.reference).ok()?;
    let facts = obs
        .client
        .image_layers(&reference, &old.platform)
        .await
        .ok()??;
    let manifest = old_manifest?;
    Some(report::report(&facts, &[], manifest, None, None).layers)
}

/// Logs the summary line and any advice about the layer order.
pub(super) fn log(ctx: &Ctx, report: &SizeReport) {
    ctx.info(&report.summary());
    if let Some(delta) = &report.delta {
        if delta.first_change.is_some() {
            ctx.info(&format!(
                "against the image in state: {} new in {} layer{}, {} reused",
                report::human_bytes(delta.new_bytes),
                delta.new_layers,
                if delta.new_layers == 1 { "" } else { "s" },
                report::human_bytes(delta.reused_bytes)
            ));
        }
        if !delta.cascade.is_empty() {
            let steps: Vec<String> = delta.cascade.iter().map(|s| s.to_string()).collect();
            ctx.info(&format!(
                "rebuilt only because an earlier layer changed: {}",
                steps.join("; ")
            ));
        }
        for advice in &delta.advice {
            ctx.warn(&advice.to_string());
        }
    }
}

/// Preview without a build: which steps will run again, from the
/// fingerprints (the exact figures come with the build at up).
pub(super) fn log_estimate(
    ctx: &Ctx,
    old: Option<&ImageState>,
    new: &imagedeploy_fingerprint::Manifest,
) {
    let Some(old_manifest) = old.and_then(|o| {
        o.context_manifest
            .clone()
            .or_else(|| fingerprint_cache::load(&o.context_hash))
    }) else {
        return;
    };
    let estimate = report::estimate(&old_manifest, new);
    let Some(first) = &estimate.first else {
        return;
    };
    let steps: Vec<String> = estimate.rebuilt.iter().map(|s| s.to_string()).collect();
    ctx.info(&format!(
        "estimate (not built in preview; up reports the exact sizes): the build cache stops at {first}; {} steps run again: {}",
        steps.len(),
        steps.join("; ")
    ));
    for advice in &estimate.advice {
        ctx.warn(&advice.to_string());
    }
}

/// Applies `sizeBudget`: a warning, or an error naming it.
pub(super) fn budget(ctx: &Ctx, args: &ImageArgs, report: &SizeReport) -> Result<(), ImageError> {
    let Some(budget) = &args.size_budget else {
        return Ok(());
    };
    let limits = Budget {
        max_bytes: budget.max_bytes.map(|b| b.max(0) as u64),
        max_new_bytes: budget.max_new_bytes.map(|b| b.max(0) as u64),
    };
    let exceeded = limits.exceeded(report);
    if exceeded.is_empty() {
        return Ok(());
    }
    let message = format!("sizeBudget exceeded: {}", exceeded.join("; "));
    match budget.action.unwrap_or(BudgetAction::Warn) {
        BudgetAction::Warn => {
            ctx.warn(&message);
            Ok(())
        }
        BudgetAction::Fail => Err(ImageError::SizeBudget(format!(
            "{message} (nothing was pushed; raise the limits or set sizeBudget.action to \"warn\")"
        ))),
    }
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(super) fn to_output(layers: &[report::Layer]) -> Vec<ImageLayer> {
    layers
        .iter()
        .map(|l| ImageLayer {
            digest: l.digest.clone(),
            diff_id: l.diff_id.clone(),
            size_bytes: as_i64(l.size_bytes),
            uncompressed_bytes: l.uncompressed_bytes.map(as_i64),
            instruction: l.instruction.clone(),
            line: l.line.map(as_i64),
            stage: l.stage.clone(),
            new: l.new,
        })
        .collect()
}

/// The layers of an image already in its registry (import): sizes and
/// diff ids from its manifest and config; which Dockerfile made it is not
/// known.
pub(super) fn from_registry(facts: &imagedeploy_registry::ImageLayers) -> Vec<ImageLayer> {
    facts
        .layers
        .iter()
        .map(|l| ImageLayer {
            digest: l.digest.to_string(),
            diff_id: l.diff_id.as_ref().map(|d| d.to_string()),
            size_bytes: as_i64(l.size),
            uncompressed_bytes: None,
            instruction: None,
            line: None,
            stage: None,
            new: false,
        })
        .collect()
}

fn from_output(layers: &[ImageLayer]) -> Vec<report::Layer> {
    layers
        .iter()
        .map(|l| report::Layer {
            digest: l.digest.clone(),
            diff_id: l.diff_id.clone(),
            size_bytes: l.size_bytes.max(0) as u64,
            uncompressed_bytes: l.uncompressed_bytes.map(|b| b.max(0) as u64),
            instruction: l.instruction.clone(),
            line: l.line.map(|b| b.max(0) as u64),
            stage: l.stage.clone(),
            new: l.new,
        })
        .collect()
}
