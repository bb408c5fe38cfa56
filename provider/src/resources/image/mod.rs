//! `imagedeploy:index:Image`: build, decide by content, push only on change.
//!
//! The fingerprint decides whether to build at all; the built image's content
//! digest decides whether anything downstream changes. A rebuild with the
//! same content keeps `digest` and `ref` exactly as they were, so a Service
//! that uses them sees no change.

use async_trait::async_trait;
use imagedeploy_build as build;
use imagedeploy_fingerprint as fingerprint;
use imagedeploy_registry::{Reference, RegistryClient};

use crate::config::ProviderContext;
use crate::resource::{
    unknown_outputs, BoxError, CheckInput, CreateInput, Created, Ctx, DeleteInput, DiffInput,
    DiffOutcome, Failure, OpError, Outputs, ReadInput, Resource, UpdateInput,
};

pub mod args;
pub(crate) mod auth;
mod bases;
mod cache;
mod check;
mod diff;
mod emulation;
mod import;
mod inputs;
mod metrics;
mod observed;
mod platforms;
mod shown;
mod size;

pub use args::{ImageArgs, ImageState};
use bases::{Bases, Earlier};
use diff::short;
use inputs::{resolve, Resolved};

pub struct Image;

pub(crate) const DESCRIPTION: &str = "Builds an image from a Dockerfile, pushes it to a registry and outputs its digest.\n\nWhether to build is decided by a fingerprint of exactly what the Dockerfile can see (only the files its COPY and ADD instructions read, after .dockerignore); whether anything downstream changes is decided by the built image's content: a rebuild that produces the same content keeps `digest` and `ref` as they were.\n\nDelete leaves pushed images in the registry: older task definitions may still use them.";

/// Manifests with more files than this are not kept in state (they are
/// still kept in the local cache for explanations on this machine).
const MANIFEST_IN_STATE_LIMIT: usize = 2000;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("fingerprint: {0}")]
    Fingerprint(#[from] fingerprint::Error),
    #[error("registry: {0}")]
    Registry(#[from] imagedeploy_registry::RegistryError),
    #[error("ECR credentials: {0}")]
    EcrAuth(String),
    #[error("registry client settings: {0}")]
    RegistrySettings(String),
    #[error("{0}")]
    Build(#[from] build::BuildError),
    #[error("reading the built image: {0}")]
    Content(#[from] imagedeploy_registry::ContentError),
    #[error("tag \"{tag}\": {source}")]
    Tag {
        tag: String,
        #[source]
        source: imagedeploy_registry::ReferenceError,
    },
    #[error("base image {reference}: not found in its registry")]
    BaseImageMissing { reference: String },
    #[error("base image {reference} is not in the builder's local image store, and baseImagePull is \"never\"; pull it once (buildah pull {reference}) or use baseImagePull \"missing\"")]
    BaseImageNotLocal { reference: String },
    #[error("pushed manifest digest {pushed} differs from the built {built}")]
    DigestMismatch { pushed: String, built: String },
    #[error("{0}")]
    SizeBudget(String),
    #[error("interrupted")]
    Cancelled,
    #[error("internal error: {0}")]
    Internal(String),
}

/// What the inputs resolve to right now.
struct Observation {
    resolved: Resolved,
    fingerprint: fingerprint::Fingerprint,
    bases: Bases,
    tags: Vec<Reference>,
    client: RegistryClient,
    /// The builder this machine resolves to, and its native platform
    /// (`None`: no usable builder; the build reports that).
    builder: Option<(build::BuilderKind, String)>,
}

fn parse_tags(args: &ImageArgs) -> Result<Vec<Reference>, ImageError> {
    args.tags
        .iter()
        .flatten()
        .map(|t| {
            Reference::parse(t).map_err(|source| ImageError::Tag {
                tag: t.clone(),
                source,
            })
        })
        .collect()
}

/// Fingerprints the context and resolves base images per the policy:
/// exactly as Check recorded them when `args` carry its record (Create,
/// Update), else from the registry or what `earlier` recorded (see `bases`).
async fn observe(
    ctx: &Ctx,
    args: &ImageArgs,
    earlier: Option<Earlier>,
) -> Result<Observation, ImageError> {
    let resolved = resolve(args);
    // The automatic platform args come from the builder's native platform.
    // Without a usable builder this machine's stands in (the build then
    // reports the missing builder, or a platform that differs).
    let builder = build::resolve_builder(&resolved.builder()).await.ok();
    let builder_platform = builder.as_ref().map(|(_, platform)| platform.clone());
    let request = resolved.fingerprint_request(args.target.clone(), builder_platform);
    let fingerprint = tokio::task::spawn_blocking(move || fingerprint::fingerprint(&request))
        .await
        .map_err(|e| ImageError::Internal(e.to_string()))??;
    if fingerprint.stats.files_read > 0 {
        ctx.progress(&format!(
            "fingerprinted {} files ({} read, {} bytes)",
            fingerprint.stats.files, fingerprint.stats.files_read, fingerprint.stats.bytes
        ));
    }
    let tags = parse_tags(args)?;
    let mut refs = tags.clone();
    let bases: Vec<(String, Reference)> = fingerprint
        .base_images
        .iter()
        .filter(|b| b.as_str() != "scratch")
        .filter_map(|b| Reference::parse(b).ok().map(|r| (b.clone(), r)))
        .collect();
    refs.extend(bases.iter().map(|(_, r)| r.clone()));
    let client = auth::client_for(ctx, args, &refs).await?;

    let resolver = bases::Resolver {
        ctx,
        args,
        client: &client,
        builder: resolved.builder(),
        recorded: args.observed.as_ref(),
        earlier,
    };
    let bases = resolver.resolve(&bases).await?;
    Ok(Observation {
        resolved,
        fingerprint,
        bases,
        tags,
        client,
        builder,
    })
}

/// CheckFailures for the platforms whose `RUN` steps this machine cannot
/// run (see `emulation`).
fn emulation_failures(ctx: &Ctx, args: &ImageArgs, obs: &Observation) -> Vec<Failure> {
    let Some((kind, platform)) = &obs.builder else {
        return Vec::new();
    };
    let local_builder = *kind == build::BuilderKind::Buildah
        || emulation::local_docker(obs.resolved.builder_host.as_deref());
    emulation::failures(
        ctx,
        args,
        &emulation::Planned {
            run_platforms: &obs.fingerprint.run_platforms,
            builder_platform: platform,
            local_builder,
        },
    )
}

fn build_request(ctx: &Ctx, args: &ImageArgs, obs: &Observation) -> build::BuildRequest {
    let r = &obs.resolved;
    let mut request = build::BuildRequest::new(r.context.clone());
    request.secret_build_args = check::secret_build_args(ctx, &r.build_args);
    request.dockerfile = r.dockerfile.clone();
    request.build_args = r.build_args.clone();
    request.target = args.target.clone();
    request.platform = r.platforms.first().cloned();
    request.labels = args.labels.clone().unwrap_or_default();
    request.secrets = args.secrets.clone().unwrap_or_default();
    request.no_cache = args.no_cache.unwrap_or(false);
    request.compression = match args.compression {
        Some(args::Compression::Zstd) => build::Compression::Zstd,
        Some(args::Compression::Gzip) | None => build::Compression::Gzip,
    };
    request.timeout = r.timeout;
    request.builder = r.builder();
    request.cache_from = args
        .cache
        .as_ref()
        .and_then(|c| c.from.clone())
        .unwrap_or_default();
    request.inline_cache = args.cache.as_ref().is_some_and(|c| c.to.is_some());
    // The builder gets exactly the files this fingerprint hashed.
    request.fingerprint = Some(std::sync::Arc::new(obs.fingerprint.clone()));
    request.pull = match args.base_image_pull.unwrap_or(args::BaseImagePull::Missing) {
        args::BaseImagePull::Missing => build::PullPolicy::Missing,
        args::BaseImagePull::Always => build::PullPolicy::Always,
        args::BaseImagePull::Never => build::PullPolicy::Never,
    };
    request.base_image_overrides = obs
        .bases
        .digests
        .iter()
        .filter_map(|(written, digest)| {
            let reference = Reference::parse(written).ok()?;
            Some((
                written.clone(),
                format!(
                    "{}/{}@{}",
                    reference.registry(),
                    reference.repository(),
                    digest
                ),
            ))
        })
        .collect();
    // The builder pulls the base images itself: give it the same credentials
    // that resolved them (`registries` input, ECR token, Docker config); the
    // cache repositories get theirs from the same sources.
    let caches = args.cache.iter().flat_map(|c| {
        c.from
            .iter()
            .flatten()
            .chain(&c.to)
            .map(|repository| format!("{repository}:cache"))
    });
    for written in obs.bases.digests.keys().cloned().chain(caches) {
        let Ok(reference) = Reference::parse(&written) else {
            continue;
        };
        let registry = reference.registry().to_string();
        if let Ok((credentials @ imagedeploy_registry::Credentials::Basic { .. }, _)) =
            obs.client.credentials_for(&registry)
        {
            request.registry_auth.insert(registry, credentials);
        }
    }
    request
}

/// `<first tag's repository>@<digest>`
fn pinned_ref(tags: &[Reference], digest: &str) -> String {
    tags.first()
        .map(|t| format!("{}/{}@{}", t.registry(), t.repository(), digest))
        .unwrap_or_default()
}

fn manifest_for_state(m: &fingerprint::Manifest) -> Option<fingerprint::Manifest> {
    (m.files.len() <= MANIFEST_IN_STATE_LIMIT).then(|| m.clone())
}

/// The state before any build: the inputs and what was observed.
fn skeleton(args: &ImageArgs, obs: &Observation) -> ImageState {
    ImageState {
        args: args.clone(),
        digest: String::new(),
        reference: String::new(),
        content_digest: String::new(),
        context_hash: obs.fingerprint.digest.clone(),
        base_image_digests: obs.bases.digests.clone(),
        base_image_resolutions: obs.bases.resolutions.clone(),
        size_bytes: 0,
        uncompressed_bytes: 0,
        layers: Vec::new(),
        platform: String::new(),
        platform_digests: Default::default(),
        platform_content_digests: Default::default(),
        platform_inputs: Default::default(),
        platform_manifests: Default::default(),
        context_manifest: manifest_for_state(&obs.fingerprint.manifest),
        cache_report: None,
    }
}

/// A preview that does not build: the outputs only a build can give are
/// unknown.
fn unknown_until_built(skeleton: ImageState) -> Outputs<ImageState> {
    let unknown = unknown_outputs!(ImageState {
        digest,
        reference as "ref",
        content_digest,
        size_bytes,
        uncompressed_bytes,
        layers,
        platform,
        platform_digests,
        platform_content_digests,
    });
    Outputs {
        state: skeleton,
        unknown,
    }
}

/// Builds, compares content with `old`, and pushes only when needed.
async fn build_and_push(
    ctx: &Ctx,
    args: ImageArgs,
    old: Option<&ImageState>,
    preview: bool,
) -> Result<Outputs<ImageState>, ImageError> {
    let obs = observe(ctx, &args, old.map(Earlier::from_state)).await?;
    fingerprint_cache::store(&obs.fingerprint.manifest);
    let skeleton = skeleton(&args, &obs);
    if preview && !obs.resolved.build_on_preview {
        size::log_estimate(ctx, old, &obs.fingerprint.manifest);
        return Ok(unknown_until_built(skeleton));
    }

    if platforms::is_multi(&args) {
        return platforms::build_and_push(ctx, args, old, preview, obs, skeleton).await;
    }
    let mut request = build_request(ctx, &args, &obs);
    // customTimeouts bound the build too: the shorter limit wins.
    request.timeout = ctx.bound(request.timeout);
    ctx.progress(if preview {
        "building (preview: nothing will be pushed)"
    } else {
        "building"
    });
    let mut built = build::build(&request, ctx.cancel.clone()).await?;
    let outcome = after_build(ctx, args, old, preview, obs, skeleton, &request, &built).await;
    // Also on an error: the builder's store is left in order.
    built.settle().await;
    outcome
}

/// The single-platform image `built`: its content digest and size report,
/// then kept (same content as `old`) or pushed.
#[allow(clippy::too_many_arguments)]
async fn after_build(
    ctx: &Ctx,
    args: ImageArgs,
    old: Option<&ImageState>,
    preview: bool,
    obs: Observation,
    skeleton: ImageState,
    request: &build::BuildRequest,
    built: &build::BuiltImage,
) -> Result<Outputs<ImageState>, ImageError> {
    let context_hash = skeleton.context_hash.clone();
    log_base_images(ctx, &built.base_images, request.pull);
    ctx.info(&format!("build steps: {}", built.steps.summary()));
    let mut cache_report = cache::report(&built.steps);
    let content = content_of(built).await?;
    let content_digest = content.content_digest.to_string();
    let report = size::analyse(
        &obs,
        old,
        preview,
        built.layout_dir(),
        &content.uncompressed_sizes,
    )
    .await?;
    size::log(ctx, &report);
    size::budget(ctx, &args, &report)?;
    let built_digest = built.manifest_digest.to_string();

    let same_destination = old.is_some_and(|o| same_destination(o, &args, obs.resolved.push));
    let unchanged = old
        .filter(|o| o.content_digest == content_digest && same_destination && !o.digest.is_empty());
    let kept = match unchanged {
        // Keeping `ref` promises it still pulls: one HEAD of the manifest.
        Some(o) if obs.resolved.push && !preview => still_in_registry(ctx, &obs, o).await?,
        other => other,
    };
    if let Some(old) = kept {
        ctx.info(&format!(
            "the rebuilt image has the same content as {}; nothing to push, dependents keep {}",
            short(&content_digest),
            old.reference
        ));
        let mut state = old.clone();
        state.args = args;
        state.context_hash = context_hash;
        state.base_image_digests = obs.bases.digests;
        state.base_image_resolutions = obs.bases.resolutions;
        state.context_manifest = skeleton.context_manifest;
        if state.digest == built_digest {
            // The very image in state: the report knows its layers best (an
            // imported or older state may lack their lines and sizes).
            state.layers = size::to_output(&report.layers);
            state.uncompressed_bytes = i64::try_from(report.uncompressed_bytes).unwrap_or(i64::MAX);
        }
        if !preview {
            finish(
                ctx,
                request,
                built,
                &obs.client,
                0,
                state.args.cache.clone(),
                &mut cache_report,
            )
            .await;
        }
        state.cache_report = Some(cache_report);
        return Ok(Outputs::known(state));
    }

    let mut pushed_bytes = 0;
    if obs.resolved.push && !preview {
        let report = push(&obs, built.layout_dir()).await?;
        pushed_bytes = report.bytes_uploaded;
        if report.digest.to_string() != built_digest {
            return Err(ImageError::DigestMismatch {
                pushed: report.digest.to_string(),
                built: built_digest,
            });
        }
        ctx.info(&format!(
            "pushed {} ({} blobs uploaded, {} already present)",
            pinned_ref(&obs.tags, &built_digest),
            report.blobs_uploaded,
            report.blobs_skipped
        ));
    }
    let mut state = skeleton;
    state.reference = pinned_ref(&obs.tags, &built_digest);
    state.digest = built_digest;
    state.content_digest = content_digest;
    state.size_bytes = i64::try_from(report.size_bytes).unwrap_or(i64::MAX);
    state.uncompressed_bytes = i64::try_from(report.uncompressed_bytes).unwrap_or(i64::MAX);
    state.layers = size::to_output(&report.layers);
    state.platform = content.platform;
    if !preview {
        let cache = state.args.cache.clone();
        finish(
            ctx,
            request,
            built,
            &obs.client,
            pushed_bytes,
            cache,
            &mut cache_report,
        )
        .await;
    }
    state.cache_report = Some(cache_report);
    Ok(Outputs::known(state))
}

/// The content digest (and uncompressed layer sizes) of the image `built`,
/// read off the async runtime's threads.
async fn content_of(
    built: &build::BuiltImage,
) -> Result<imagedeploy_registry::ImageContent, ImageError> {
    let layout = built.layout_dir().to_path_buf();
    Ok(
        tokio::task::spawn_blocking(move || imagedeploy_registry::content_digest(&layout))
            .await
            .map_err(|e| ImageError::Internal(e.to_string()))??,
    )
}

/// Whether `old` was pushed where `args` push, the same way (tags, push,
/// compression): only then can its image be kept for content that did not
/// change.
fn same_destination(old: &ImageState, args: &ImageArgs, push: bool) -> bool {
    old.args.tags == args.tags
        && old.args.push.unwrap_or(true) == push
        && old.args.compression.unwrap_or(args::Compression::Gzip)
            == args.compression.unwrap_or(args::Compression::Gzip)
}

/// After an up's build and push: the cache export (never failing the
/// update) and the metrics file (a failure to write it is a warning).
async fn finish(
    ctx: &Ctx,
    request: &build::BuildRequest,
    built: &build::BuiltImage,
    client: &imagedeploy_registry::RegistryClient,
    pushed_bytes: u64,
    cache: Option<args::BuildCache>,
    cache_report: &mut args::CacheReport,
) {
    cache::export(ctx, request, built, client, cache.as_ref(), cache_report).await;
    let Some(path) = ctx.provider.config.metrics_file.as_deref() else {
        return;
    };
    let figures = metrics::BuildFigures {
        steps_cached: built.steps.cached as u64,
        steps_rebuilt: built.steps.rebuilt.len() as u64,
        build_seconds: built.duration.as_secs_f64(),
        push_bytes: pushed_bytes,
        cache_export_seconds: cache_report.export_seconds,
    };
    let path = std::path::PathBuf::from(path);
    let name = ctx.name.clone();
    let written =
        tokio::task::spawn_blocking(move || metrics::record(&path, &name, &figures)).await;
    if let Ok(Err(e)) | Err(e) = written.map_err(std::io::Error::other) {
        ctx.warn(&format!("metricsFile was not written: {e}"));
    }
}

/// `old` when the manifest its `ref` pins is still in the registry; `None`
/// (push again) when the registry lost it, e.g. wiped storage or a
/// retention policy.
async fn still_in_registry<'a>(
    ctx: &Ctx,
    obs: &Observation,
    old: &'a ImageState,
) -> Result<Option<&'a ImageState>, ImageError> {
    let Ok(reference) = Reference::parse(&old.reference) else {
        return Ok(None);
    };
    if obs.client.exists(&reference).await? {
        return Ok(Some(old));
    }
    ctx.warn(&format!(
        "{} is no longer in its registry; pushing the rebuilt image again",
        old.reference
    ));
    Ok(None)
}

/// Which base images the builder pulled, and how many bytes, or took from
/// its local store (compared before and after the build, by digest).
fn log_base_images(ctx: &Ctx, uses: &[build::BaseImageUse], pull: build::PullPolicy) {
    for used in uses {
        if used.pulled {
            ctx.info(&format!(
                "pulled base image {} ({} bytes)",
                used.reference, used.bytes
            ));
        } else if pull == build::PullPolicy::Always {
            ctx.info(&format!(
                "base image {} pulled again (baseImagePull: always); its {} bytes were already stored",
                used.reference, used.bytes
            ));
        } else {
            ctx.info(&format!(
                "base image {} taken from the local image store (nothing pulled)",
                used.reference
            ));
        }
    }
}

async fn push(
    obs: &Observation,
    layout: &std::path::Path,
) -> Result<imagedeploy_registry::PushReport, ImageError> {
    Ok(obs.client.push_layout(layout, &obs.tags).await?)
}

fn op<S>(e: ImageError) -> OpError<S> {
    OpError::Failed(Box::new(e))
}

mod fingerprint_cache {
    //! Manifests by fingerprint digest under the user's cache directory, so
    //! explanations work even when the state could not hold the file list.

    use std::path::PathBuf;

    use imagedeploy_fingerprint::Manifest;

    fn dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(base.join("imagedeploy").join("manifests"))
    }

    fn file(digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(dir()?.join(format!("{hex}.json")))
    }

    pub fn store(manifest: &Manifest) {
        let Some(path) = file(&manifest.fingerprint) else {
            return;
        };
        if path.exists() {
            return;
        }
        if let (Some(parent), Ok(bytes)) = (path.parent(), serde_json::to_vec(manifest)) {
            let _ = std::fs::create_dir_all(parent);
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, bytes).is_ok() {
                let _ = std::fs::rename(tmp, path);
            }
        }
    }

    pub fn load(digest: &str) -> Option<Manifest> {
        let bytes = std::fs::read(file(digest)?).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

#[async_trait]
impl Resource<ProviderContext> for Image {
    type Args = ImageArgs;
    type State = ImageState;

    fn token(&self) -> &'static str {
        "imagedeploy:index:Image"
    }

    fn description(&self) -> &'static str {
        DESCRIPTION
    }

    async fn check(
        &self,
        ctx: &Ctx,
        input: CheckInput<ImageArgs>,
    ) -> Result<ImageArgs, Vec<Failure>> {
        let mut args = input.news;
        shown::clear(&mut args);
        let failures = check::check(ctx, &args);
        if !failures.is_empty() {
            return Err(failures);
        }
        check::warn_about_secret_build_args(ctx, &args);
        args.observed = None;
        if args.base_image_pull == Some(args::BaseImagePull::Never) && !ctx.is_unknown("builder") {
            let kind = build::resolve_builder(&resolve(&args).builder()).await;
            if matches!(kind, Ok((k, _)) if k != build::BuilderKind::Buildah) {
                return Err(vec![Failure::new(
                    "baseImagePull",
                    check::PULL_NEVER_NEEDS_BUILDAH,
                )]);
            }
        }
        if observed::observable(ctx) {
            // Base images: what the last Check recorded may be kept (pinned,
            // within the refresh interval, registry unreachable).
            let earlier = input.olds.as_ref().and_then(Earlier::from_inputs);
            match observe(ctx, &args, earlier).await {
                Ok(obs) => {
                    let failures = emulation_failures(ctx, &args, &obs);
                    if !failures.is_empty() {
                        return Err(failures);
                    }
                    fingerprint_cache::store(&obs.fingerprint.manifest);
                    shown::record(
                        &mut args,
                        input.olds.as_ref(),
                        &obs.fingerprint.manifest,
                        &obs.bases.digests,
                    );
                    args.observed = Some(args::ObservedInputs {
                        context_hash: obs.fingerprint.digest.clone(),
                        base_image_digests: obs.bases.digests.clone(),
                        base_image_resolutions: obs.bases.resolutions.clone(),
                    });
                }
                Err(e @ ImageError::BaseImageNotLocal { .. }) => {
                    return Err(vec![Failure::new("baseImagePull", e.to_string())]);
                }
                Err(_) => {}
            }
        }
        Ok(args)
    }

    async fn diff(
        &self,
        ctx: &Ctx,
        input: DiffInput<ImageArgs, ImageState>,
    ) -> Result<DiffOutcome, BoxError> {
        let old_manifest = input
            .olds
            .context_manifest
            .clone()
            .or_else(|| fingerprint_cache::load(&input.olds.context_hash));
        // Check observed the machine (preview, up): compare with that, so the
        // Diff the engine runs in refresh looks at nothing but its inputs.
        if let Some(seen) = input.news.observed.clone() {
            let manifest = fingerprint_cache::load(&seen.context_hash);
            let observed = diff::Observed {
                context_hash: &seen.context_hash,
                manifest: manifest.as_ref(),
                base_image_digests: &seen.base_image_digests,
            };
            return Ok(diff::diff(
                &input.olds,
                old_manifest.as_ref(),
                &input.news,
                &observed,
            ));
        }
        let obs = observe(ctx, &input.news, Some(Earlier::from_state(&input.olds))).await?;
        fingerprint_cache::store(&obs.fingerprint.manifest);
        let observed = diff::Observed {
            context_hash: &obs.fingerprint.digest,
            manifest: Some(&obs.fingerprint.manifest),
            base_image_digests: &obs.bases.digests,
        };
        Ok(diff::diff(
            &input.olds,
            old_manifest.as_ref(),
            &input.news,
            &observed,
        ))
    }

    async fn create(
        &self,
        ctx: &Ctx,
        input: CreateInput<ImageArgs>,
    ) -> Result<Created<ImageState>, OpError<ImageState>> {
        let CreateInput { args, preview } = input;
        let name = ctx.name.clone();
        let outputs = build_and_push(ctx, args, None, preview).await.map_err(op)?;
        let id = if preview { String::new() } else { name };
        Ok((id, outputs))
    }

    async fn read(
        &self,
        ctx: &Ctx,
        input: ReadInput<ImageState>,
    ) -> Result<Option<ImageState>, BoxError> {
        let state = input.state;
        if !state.args.push.unwrap_or(true) || state.reference.is_empty() {
            return Ok(Some(state));
        }
        let reference = Reference::parse(&state.reference)?;
        let client = auth::client_for(ctx, &state.args, std::slice::from_ref(&reference)).await?;
        if client.exists(&reference).await? {
            Ok(Some(state))
        } else {
            ctx.warn(&format!("{} is no longer in its registry", state.reference));
            Ok(None)
        }
    }

    fn internal_inputs(&self) -> &'static [&'static str] {
        &[
            "__observed",
            "context.files",
            "context.moreChangedFiles",
            "dockerfile.instructions",
            "dockerfile.from",
        ]
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Option<ImageState>, BoxError> {
        import::import(ctx, id).await
    }

    async fn update(
        &self,
        ctx: &Ctx,
        input: UpdateInput<ImageArgs, ImageState>,
    ) -> Result<Outputs<ImageState>, OpError<ImageState>> {
        let UpdateInput {
            olds,
            news,
            preview,
            ..
        } = input;
        build_and_push(ctx, news, Some(&olds), preview)
            .await
            .map_err(op)
    }

    async fn delete(&self, ctx: &Ctx, input: DeleteInput<ImageState>) -> Result<(), BoxError> {
        let state = input.state;
        if !state.reference.is_empty() {
            ctx.info(&format!(
                "{} stays in its registry: older task definitions may still use it",
                state.reference
            ));
        }
        Ok(())
    }
}
