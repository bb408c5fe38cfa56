//! Multi-platform images: one build per platform, one canonical index.
//!
//! Each platform is its own unit of change. Its fingerprint is taken with
//! that platform's automatic args (`TARGETARCH` and the rest differ, so do
//! the files a `COPY app-$TARGETARCH` reads), and the key of a unit is that
//! fingerprint plus the base image digests, labels, compression, target and
//! builder it was built with. A platform whose key is the one in state is
//! not built again: its manifest is taken from the registry as it is. A
//! platform that is built but gives the content it gave before keeps its
//! old manifest too, so a builder that stamps times (the Docker engine)
//! still leaves an unchanged platform's digest alone. The index is written
//! by [`imagedeploy_registry::ImageIndex`] in canonical form, so the same
//! children always give the same index digest.
//!
//! Builds run one after the other: each one uses every core the machine
//! has, and one builder store serves them all.

use std::collections::BTreeMap;

use imagedeploy_build as build;
use imagedeploy_fingerprint as fingerprint;
use imagedeploy_registry::{
    platform_child, Digest, ImageIndex, IndexChild, Platform, PlatformManifest, Reference,
    ResolvedManifest,
};

use super::args::{self, ImageArgs, ImageState};
use super::diff::short;
use super::{cache, finish, pinned_ref, size, still_in_registry, ImageError, Observation};
use crate::resource::{Ctx, Outputs};

/// What one platform of the index came to.
struct Unit {
    platform: String,
    key: String,
    child: IndexChild,
    content_digest: String,
}

/// The platforms to build, deduplicated, in canonical index order.
pub(super) fn requested(args: &ImageArgs) -> Vec<String> {
    let mut platforms: Vec<Platform> = args
        .platforms
        .iter()
        .flatten()
        .filter_map(|p| Platform::parse(p))
        .collect();
    platforms.sort();
    platforms.dedup();
    platforms.iter().map(Platform::to_string).collect()
}

/// Whether `args` ask for an index rather than a single image manifest.
pub(super) fn is_multi(args: &ImageArgs) -> bool {
    requested(args).len() > 1
}

/// The content identity of a whole index: each platform's content digest,
/// in platform order.
fn combined_content(units: &[Unit]) -> String {
    let pairs: BTreeMap<&str, &str> = units
        .iter()
        .map(|u| (u.platform.as_str(), u.content_digest.as_str()))
        .collect();
    let bytes = serde_json::to_vec(&pairs).unwrap_or_default();
    Digest::sha256_of(&bytes).to_string()
}

/// The key of one platform's build (see the module docs). `bases`: the
/// digest each base image has for this platform.
fn unit_key(
    args: &ImageArgs,
    obs: &Observation,
    platform: &str,
    fp: &fingerprint::Fingerprint,
    bases: &BTreeMap<String, String>,
) -> String {
    let key = serde_json::json!({
        "platform": platform,
        "fingerprint": fp.digest,
        "bases": bases,
        "labels": args.labels,
        "compression": args.compression.unwrap_or(args::Compression::Gzip),
        "target": args.target,
        "builder": format!("{:?}", obs.resolved.builder),
    });
    Digest::sha256_of(key.to_string().as_bytes()).to_string()
}

/// The digest of each base image `fp` pulls, for `platform`: a base that
/// is a multi-platform index counts by its child for this platform, so a
/// base whose other platforms moved is no change here. A base whose index
/// cannot be read counts by the digest it resolved to.
async fn platform_bases(
    obs: &Observation,
    platform: &str,
    fp: &fingerprint::Fingerprint,
) -> BTreeMap<String, String> {
    let wanted = Platform::parse(platform);
    let mut bases = BTreeMap::new();
    for written in &fp.base_images {
        let Some(digest) = obs.bases.digests.get(written) else {
            continue;
        };
        let pinned = Reference::parse(written)
            .ok()
            .zip(Digest::parse(digest).ok())
            .map(|(r, d)| r.with_digest(&d));
        let child = match (pinned, &wanted) {
            (Some(pinned), Some(wanted)) => match obs.client.resolve_manifest(&pinned).await {
                Ok(Some(ResolvedManifest::Index { manifests, .. })) => {
                    platform_child(&manifests, wanted).map(ToString::to_string)
                }
                _ => None,
            },
            _ => None,
        };
        bases.insert(written.clone(), child.unwrap_or_else(|| digest.clone()));
    }
    bases
}

/// The fingerprint of `platform` alone.
async fn fingerprint_of(
    args: &ImageArgs,
    obs: &Observation,
    platform: &str,
) -> Result<fingerprint::Fingerprint, ImageError> {
    let builder_platform = build::resolve_builder(&obs.resolved.builder())
        .await
        .ok()
        .map(|(_, p)| p);
    let mut request = obs
        .resolved
        .fingerprint_request(args.target.clone(), builder_platform);
    request.platforms = vec![platform.to_string()];
    tokio::task::spawn_blocking(move || fingerprint::fingerprint(&request))
        .await
        .map_err(|e| ImageError::Internal(e.to_string()))?
        .map_err(ImageError::from)
}

/// The manifest `old` recorded for `platform`, to list again in the index
/// without building it. In preview, and for images not pushed, that is the
/// record in state (preview does not ask the registry it would push to).
/// In an `up` that pushes, every repository the tags name must still have
/// it (a read that fails counts as not having it: the platform is then
/// built and pushed again).
async fn old_child(
    obs: &Observation,
    old: Option<&ImageState>,
    platform: &str,
    preview: bool,
) -> Option<IndexChild> {
    let old = old?;
    let digest = Digest::parse(old.platform_digests.get(platform)?).ok()?;
    let record = old.platform_manifests.get(platform)?;
    let child = IndexChild::new(
        imagedeploy_registry::layout::Descriptor {
            media_type: record.media_type.clone(),
            digest: digest.clone(),
            size: record.size,
        },
        Platform::parse(platform)?,
    );
    if preview || !obs.resolved.push {
        return Some(child);
    }
    for target in child_targets(&obs.tags, &digest) {
        match obs.client.manifest_descriptor(&target).await {
            Ok(Some(found)) if found.digest == digest => {}
            _ => return None,
        }
    }
    Some(child)
}

/// One `repository@digest` per repository the tags name: where a child
/// manifest is pushed (children carry no tag of their own).
fn child_targets(tags: &[Reference], digest: &Digest) -> Vec<Reference> {
    let mut targets: Vec<Reference> = Vec::new();
    for tag in tags {
        let pinned = tag.with_digest(digest);
        if !targets.iter().any(|t| t.name() == pinned.name()) {
            targets.push(pinned);
        }
    }
    targets
}

/// Everything a build of one platform reports back.
struct Built {
    unit: Unit,
    report: build::report::SizeReport,
}

/// Builds `platform`, and pushes its manifest unless the content is the
/// one `old` recorded (then the old manifest is kept).
#[allow(clippy::too_many_arguments)]
async fn build_one(
    ctx: &Ctx,
    args: &ImageArgs,
    old: Option<&ImageState>,
    preview: bool,
    obs: &Observation,
    platform: &str,
    key: String,
    fp: fingerprint::Fingerprint,
    cache_report: &mut args::CacheReport,
) -> Result<Built, ImageError> {
    let mut request = super::build_request(ctx, args, obs);
    request.platform = Some(platform.to_string());
    request.fingerprint = Some(std::sync::Arc::new(fp));
    request.timeout = ctx.bound(request.timeout);
    ctx.progress(&format!("{platform}: building"));
    let mut built = build::build(&request, ctx.cancel.clone()).await?;
    let outcome = after_build(
        ctx,
        args,
        old,
        preview,
        obs,
        platform,
        &request,
        &built,
        cache_report,
    )
    .await;
    // Also on an error: the builder's store is left in order.
    built.settle().await;
    let (child, content_digest, report) = outcome?;
    Ok(Built {
        unit: Unit {
            platform: platform.to_string(),
            key,
            child,
            content_digest,
        },
        report,
    })
}

/// One platform's built image: its content digest and size report, then
/// its old manifest kept (same content, same destination) or this one
/// pushed by digest; the cache export and metrics as for any build.
#[allow(clippy::too_many_arguments)]
async fn after_build(
    ctx: &Ctx,
    args: &ImageArgs,
    old: Option<&ImageState>,
    preview: bool,
    obs: &Observation,
    platform: &str,
    request: &build::BuildRequest,
    built: &build::BuiltImage,
    cache_report: &mut args::CacheReport,
) -> Result<(IndexChild, String, build::report::SizeReport), ImageError> {
    super::log_base_images(ctx, &built.base_images, request.pull);
    ctx.info(&format!(
        "{platform}: build steps: {}",
        built.steps.summary()
    ));
    let content = super::content_of(built).await?;
    let content_digest = content.content_digest.to_string();
    // Only the first platform is compared with the layers in state (they
    // describe that platform).
    let primary = old.filter(|o| o.platform == platform);
    let report = size::analyse(
        obs,
        primary,
        preview,
        built.layout_dir(),
        &content.uncompressed_sizes,
    )
    .await?;
    size::log(ctx, &report);
    if preview && primary.is_none() {
        // Nothing to tell new layers from old ones by in preview (the
        // registry is not asked): `maxNewBytes` would count every layer.
        let mut total_only = args.clone();
        if let Some(budget) = total_only.size_budget.as_mut() {
            budget.max_new_bytes = None;
        }
        size::budget(ctx, &total_only, &report)?;
    } else {
        size::budget(ctx, args, &report)?;
    }

    let same_content = old.is_some_and(|o| {
        o.platform_content_digests.get(platform) == Some(&content_digest)
            && super::same_destination(o, args, obs.resolved.push)
    });
    let kept = if same_content {
        old_child(obs, old, platform, preview).await
    } else {
        None
    };
    let parsed = Platform::parse(platform)
        .ok_or_else(|| ImageError::Internal(format!("platform {platform} does not parse")))?;
    let mut pushed_bytes = 0;
    let child = match kept {
        Some(child) => {
            ctx.info(&format!(
                "{platform}: same content as before ({}); keeps {}",
                short(&content_digest),
                child.digest
            ));
            child
        }
        None => {
            let layout = imagedeploy_registry::ImageLayout::open(built.layout_dir())
                .map_err(|e| ImageError::Content(imagedeploy_registry::ContentError::Layout(e)))?;
            let descriptor = imagedeploy_registry::layout::Descriptor {
                media_type: layout.manifest_media_type().to_string(),
                digest: layout.manifest_digest().clone(),
                size: layout.manifest_bytes().len() as u64,
            };
            if obs.resolved.push && !preview {
                let targets = child_targets(&obs.tags, &descriptor.digest);
                let pushed = obs.client.push_layout(built.layout_dir(), &targets).await?;
                pushed_bytes = pushed.bytes_uploaded;
                ctx.info(&format!(
                    "{platform}: pushed {} ({} blobs uploaded, {} already present)",
                    descriptor.digest, pushed.blobs_uploaded, pushed.blobs_skipped
                ));
            }
            IndexChild::new(descriptor, parsed)
        }
    };
    // This platform's own steps decide its cache export.
    let mut one = cache::report(&built.steps);
    if !preview {
        finish(
            ctx,
            request,
            built,
            &obs.client,
            pushed_bytes,
            args.cache.clone(),
            &mut one,
        )
        .await;
    }
    merge_report(cache_report, &one);
    Ok((child, content_digest, report))
}

/// Adds one platform's cache figures to the image's cache report.
fn merge_report(total: &mut args::CacheReport, one: &args::CacheReport) {
    total.steps += one.steps;
    total.cached += one.cached;
    total.rebuilt += one.rebuilt;
    total.exported += one.exported;
    total.export_seconds = ((total.export_seconds + one.export_seconds) * 10.0).round() / 10.0;
    if total.export_error.is_none() {
        total.export_error.clone_from(&one.export_error);
    }
    total
        .rebuilt_steps
        .extend(one.rebuilt_steps.iter().cloned());
}

/// Builds what changed, pushes the children and the index, and returns the
/// state (see the module docs). `skeleton` carries what is known before
/// any build.
pub(super) async fn build_and_push(
    ctx: &Ctx,
    args: ImageArgs,
    old: Option<&ImageState>,
    preview: bool,
    obs: Observation,
    skeleton: ImageState,
) -> Result<Outputs<ImageState>, ImageError> {
    let platforms = requested(&args);
    let mut cache_report = args::CacheReport::default();
    let mut units = Vec::new();
    let mut primary_report = None;
    for platform in &platforms {
        let fp = fingerprint_of(&args, &obs, platform).await?;
        let bases = platform_bases(&obs, platform, &fp).await;
        let key = unit_key(&args, &obs, platform, &fp, &bases);
        let unchanged = old.is_some_and(|o| o.platform_inputs.get(platform) == Some(&key));
        let kept = if unchanged && !args.no_cache.unwrap_or(false) {
            old_child(&obs, old, platform, preview).await
        } else {
            None
        };
        if let (Some(child), Some(o)) = (kept, old) {
            ctx.info(&format!(
                "{platform}: inputs unchanged; not built, keeps {}",
                child.digest
            ));
            units.push(Unit {
                platform: platform.clone(),
                key,
                child,
                content_digest: o
                    .platform_content_digests
                    .get(platform)
                    .cloned()
                    .unwrap_or_default(),
            });
            continue;
        }
        let built = build_one(
            ctx,
            &args,
            old,
            preview,
            &obs,
            platform,
            key,
            fp,
            &mut cache_report,
        )
        .await?;
        if *platform == platforms[0] {
            primary_report = Some(built.report);
        }
        units.push(built.unit);
    }

    let index = ImageIndex::new(units.iter().map(|u| u.child.clone()).collect());
    let content_digest = combined_content(&units);
    let index_digest = index.digest().to_string();
    let same_destination =
        old.is_some_and(|o| super::same_destination(o, &args, obs.resolved.push));
    let unchanged = old.filter(|o| {
        o.content_digest == content_digest
            && o.digest == index_digest
            && same_destination
            && !o.digest.is_empty()
    });
    let kept = match unchanged {
        Some(o) if obs.resolved.push && !preview => still_in_registry(ctx, &obs, o).await?,
        other => other,
    };

    let mut state = match kept {
        Some(o) => {
            ctx.info(&format!(
                "every platform has the content it had; nothing to push, dependents keep {}",
                o.reference
            ));
            let mut state = o.clone();
            state.args = args;
            state.context_hash = skeleton.context_hash;
            state.base_image_digests = skeleton.base_image_digests;
            state.base_image_resolutions = skeleton.base_image_resolutions;
            state.context_manifest = skeleton.context_manifest;
            state
        }
        None => {
            if !obs.resolved.push || preview {
                // Not in the registry: a Service in this program that uses
                // it learns its children from here.
                ctx.provider.previewed_indexes.record(
                    index.digest().clone(),
                    index
                        .children()
                        .iter()
                        .map(|c| PlatformManifest {
                            digest: c.digest.clone(),
                            platform: Some(c.platform.clone()),
                        })
                        .collect(),
                );
            }
            if obs.resolved.push && !preview {
                obs.client.push_index(&index, &obs.tags).await?;
                ctx.info(&format!(
                    "pushed index {} ({})",
                    pinned_ref(&obs.tags, &index_digest),
                    units
                        .iter()
                        .map(|u| format!("{} {}", u.platform, short(u.child.digest.as_str())))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            let mut state = skeleton;
            state.reference = pinned_ref(&obs.tags, &index_digest);
            state.digest = index_digest;
            state.content_digest = content_digest;
            state
        }
    };
    record_units(&mut state, &units, &platforms[0], primary_report, old);
    state.cache_report = Some(cache_report);
    Ok(Outputs::known(state))
}

/// Records each platform's manifest, content and key in `state`, and the
/// size figures of `first` (from its build, or as recorded when it was not
/// built again).
fn record_units(
    state: &mut ImageState,
    units: &[Unit],
    first: &str,
    primary_report: Option<build::report::SizeReport>,
    old: Option<&ImageState>,
) {
    state.platform_digests = units
        .iter()
        .map(|u| (u.platform.clone(), u.child.digest.to_string()))
        .collect();
    state.platform_content_digests = units
        .iter()
        .map(|u| (u.platform.clone(), u.content_digest.clone()))
        .collect();
    state.platform_manifests = units
        .iter()
        .map(|u| {
            (
                u.platform.clone(),
                args::PlatformManifest {
                    media_type: u.child.media_type.clone(),
                    size: u.child.size,
                },
            )
        })
        .collect();
    state.platform_inputs = units
        .iter()
        .map(|u| (u.platform.clone(), u.key.clone()))
        .collect();
    // The size figures describe the first platform in index order: from
    // its build, or as recorded when it was not built again.
    state.platform = first.to_string();
    match (primary_report, old.filter(|o| o.platform == first)) {
        (Some(report), _) => {
            state.size_bytes = i64::try_from(report.size_bytes).unwrap_or(i64::MAX);
            state.uncompressed_bytes = i64::try_from(report.uncompressed_bytes).unwrap_or(i64::MAX);
            state.layers = size::to_output(&report.layers);
        }
        (None, Some(o)) => {
            state.size_bytes = o.size_bytes;
            state.uncompressed_bytes = o.uncompressed_bytes;
            state.layers = o.layers.clone();
        }
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_deduplicated_and_sorted() {
        let args: ImageArgs = serde_json::from_value(serde_json::json!({
            "context": {"location": "."},
            "platforms": ["linux/arm64", "linux/amd64", "linux/arm64"],
        }))
        .unwrap();
        assert_eq!(requested(&args), ["linux/amd64", "linux/arm64"]);
        assert!(is_multi(&args));
    }
}
