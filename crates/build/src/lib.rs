//! Image builds with buildah or the Docker engine, reproducible by default.
//!
//! A build ends as an OCI image layout on disk, whatever the builder, so the
//! provider can compute the content digest and the exact manifest digest a
//! push will produce before pushing anything (preview shows the real digest).

mod authfile;
mod buildah;
mod buildkit_pulls;
mod cache;
mod docker;
pub mod dockerfile;
pub mod emulation;
mod error;
mod failure;
pub mod guard;
mod job;
mod local;
mod process;
pub mod report;
mod request;
pub mod scratch;
mod secrets;
mod storage_lock;

use std::sync::Mutex;
use std::time::Instant;

pub use cache::{RebuiltStep, StepReport};
pub use error::{BuildError, BuildFailure};
pub use failure::FailedStep;
pub use local::{local_image, BaseImageUse, LocalImage};
pub use request::{
    BuildRequest, Builder, BuilderKind, BuiltImage, Compression, DockerfileSource, PullPolicy,
    DEFAULT_TIMEOUT,
};
pub use secrets::{secret_build_arg_problem, secret_id_problem};
pub use tokio_util::sync::CancellationToken;

use imagedeploy_registry::ImageLayout;
use job::Job;
use secrets::SecretFiles;

/// A progress line for whoever shows this build to a user: a `tracing`
/// event with `progress = true` (the provider's engine log shows it live and
/// does not keep it). Callers redact secrets first.
pub(crate) fn progress(line: &str) {
    tracing::info!(progress = true, "{line}");
}

/// Which builder `builder` resolves to here, and its native platform
/// (`os/arch`): the platform the automatic platform args describe when the
/// request names none. The fingerprint must be planned with it. Answers are
/// kept for the life of the process (a preview of many images asks once).
pub async fn resolve_builder(builder: &Builder) -> Result<(BuilderKind, String), BuildError> {
    static RESOLVED: Mutex<Vec<(Builder, BuilderKind, String)>> = Mutex::new(Vec::new());
    if let Ok(known) = RESOLVED.lock() {
        if let Some((_, kind, platform)) = known.iter().find(|(b, _, _)| b == builder) {
            return Ok((*kind, platform.clone()));
        }
    }
    let (kind, platform) = resolve_builder_now(builder).await?;
    if let Ok(mut known) = RESOLVED.lock() {
        known.push((builder.clone(), kind, platform.clone()));
    }
    Ok((kind, platform))
}

async fn resolve_builder_now(builder: &Builder) -> Result<(BuilderKind, String), BuildError> {
    let host = imagedeploy_fingerprint::dockerfile::host_platform;
    match builder {
        Builder::Buildah => Ok((BuilderKind::Buildah, host())),
        Builder::Docker { host: docker_host } => {
            let kind = docker::choose(docker_host.as_deref()).await?;
            Ok((kind, docker::server_platform(docker_host.as_deref()).await?))
        }
        Builder::Auto => match docker::choose(None).await {
            Ok(kind) => Ok((kind, docker::server_platform(None).await?)),
            Err(docker_unusable) => {
                if job::find_on_path("buildah").is_none() {
                    return Err(BuildError::NoBuilder {
                        tried: format!("Docker: {docker_unusable}; buildah: not found on PATH"),
                    });
                }
                Ok((BuilderKind::Buildah, host()))
            }
        },
    }
}

/// Prepares the build's private Dockerfile and context and runs the
/// builder: into an OCI layout, or (`request.cache_to`) to push its cache.
async fn run(request: &BuildRequest, cancel: CancellationToken) -> Result<Ran, BuildError> {
    let deadline = tokio::time::Instant::now() + request.timeout;
    if !request.context.is_dir() {
        return Err(BuildError::ContextMissing {
            path: request.context.clone(),
        });
    }
    if let (DockerfileSource::Path(_), Some(path)) =
        (&request.dockerfile, request.dockerfile_path())
    {
        if !path.is_file() {
            return Err(BuildError::DockerfileRead {
                path,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
    }
    let (kind, build_platform) = resolve_builder(&request.builder).await?;
    if kind != BuilderKind::Buildah && request.pull == PullPolicy::Never {
        return Err(BuildError::PullNever);
    }
    if kind == BuilderKind::Buildah && !matches!(request.builder, Builder::Buildah) {
        progress("using buildah (no usable Docker engine)");
    }
    if kind != BuilderKind::Buildah && request.cache_to.is_some() {
        return Err(BuildError::CacheUnsupported);
    }
    let fingerprint = fingerprint_for(request, &build_platform).await?;
    let label = match request.dockerfile_path() {
        Some(path) => path.display().to_string(),
        None => "inline Dockerfile".to_string(),
    };
    let rewritten = dockerfile::rewrite_from(
        &fingerprint.dockerfile_text,
        &request.dockerfile_args(&build_platform),
        &request.base_image_overrides,
    )
    .map_err(|source| BuildError::Dockerfile {
        dockerfile: label.clone(),
        source,
    })?;
    let work = scratch::tempdir("build").map_err(|source| BuildError::Io {
        what: "create a build work directory".into(),
        source,
    })?;
    let dockerfile_path = work.path().join("Dockerfile");
    std::fs::write(&dockerfile_path, &rewritten).map_err(|source| BuildError::Io {
        what: "write the build's Dockerfile copy".into(),
        source,
    })?;
    // The snapshot is already filtered: the builder must not apply the
    // user's ignore files again (nor a `.containerignore` the fingerprint
    // does not read), so it gets one that ignores nothing.
    let ignore_file = work.path().join("Dockerfile.dockerignore");
    std::fs::write(&ignore_file, "# the build context is already filtered\n").map_err(
        |source| BuildError::Io {
            what: "write the build's ignore file".into(),
            source,
        },
    )?;
    // The kept snapshot stays locked until `_snapshot` is dropped, after
    // the build.
    let (context, _snapshot) = stage_context(kind, &fingerprint, request, work.path()).await?;
    let out = scratch::tempdir("image").map_err(|source| BuildError::Io {
        what: "create the image layout directory".into(),
        source,
    })?;
    let job = Job {
        request,
        work: work.path().to_path_buf(),
        context,
        dockerfile: dockerfile_path,
        dockerfile_text: rewritten,
        dockerfile_label: label,
        ignore_file,
        build_platform,
        secrets: SecretFiles::write(request)?,
        auth_file: authfile::write(work.path(), &request.registry_auth)?,
        deadline,
        cancel,
        tracker: Mutex::new(failure::StepTracker::default()),
        pulls: Mutex::new(buildkit_pulls::PullWatch::default()),
        cache: Mutex::new(cache::CacheWatch::default()),
    };
    let stored_before = stored_base_images(request).await;
    let settling = match kind {
        BuilderKind::Buildah => buildah::build(&job, out.path()).await?,
        BuilderKind::DockerBuildKit | BuilderKind::DockerBuildx => {
            docker::build(&job, kind, out.path()).await?;
            if request.compression == Compression::Zstd {
                // The Docker engine exports gzip or uncompressed layers.
                let dir = out.path().to_path_buf();
                tokio::task::spawn_blocking(move || {
                    imagedeploy_registry::layout::recompress_zstd(&dir)
                })
                .await
                .map_err(|e| BuildError::Io {
                    what: "recompress the layers with zstd".into(),
                    source: std::io::Error::other(e.to_string()),
                })??;
            }
            None
        }
    };
    let steps = match job.cache.lock() {
        Ok(mut watch) => watch.report(&job.dockerfile_text),
        Err(_) => StepReport::default(),
    };
    if request.cache_to.is_some() {
        return Ok(Ran {
            out,
            kind,
            base_images: Vec::new(),
            steps,
            settling,
        });
    }
    let base_images = match kind {
        BuilderKind::Buildah => base_image_uses(request, stored_before).await,
        BuilderKind::DockerBuildKit | BuilderKind::DockerBuildx => match job.pulls.lock() {
            Ok(pulls) => buildkit_uses(request, &pulls),
            Err(_) => Vec::new(),
        },
    };
    Ok(Ran {
        out,
        kind,
        base_images,
        steps,
        settling,
    })
}

/// The tag under which a cache repository holds the Docker engine's
/// inline-cache image.
pub const DOCKER_CACHE_TAG: &str = "buildcache";

/// What a builder run left: the layout directory and what was seen.
struct Ran {
    out: tempfile::TempDir,
    kind: BuilderKind,
    base_images: Vec<BaseImageUse>,
    steps: StepReport,
    /// The store's bookkeeping, still running (see `BuiltImage::settle`).
    settling: Option<tokio::task::JoinHandle<()>>,
}

/// Builds `request` and returns the image as an OCI layout. Every builder
/// output line is a progress line (see [`progress`]; secret values masked).
/// `cancel` stops the builder; so does `request.timeout`.
///
/// The builder never reads `request.context` itself: it gets a private
/// snapshot of exactly the fingerprinted files (see
/// `imagedeploy_fingerprint::stage`), each checked against its hash.
pub async fn build(
    request: &BuildRequest,
    cancel: CancellationToken,
) -> Result<BuiltImage, BuildError> {
    let started = Instant::now();
    let ran = run(request, cancel).await?;
    let layout = ImageLayout::open(ran.out.path())?;
    Ok(BuiltImage {
        manifest_digest: layout.manifest_digest().clone(),
        platform: layout.platform()?,
        dir: ran.out,
        builder: ran.kind,
        duration: started.elapsed(),
        base_images: ran.base_images,
        steps: ran.steps,
        settling: ran.settling,
    })
}

/// Pushes the cache images of an image just built from `request` to the
/// repository `to` (buildah `--cache-to`): the same build again, every step
/// taken from the local store, each step's layer pushed as a cache image.
/// Bounded by `request.timeout`. Returns the steps seen, with `exported`.
/// Not for the Docker engine, whose image carries its own (inline) cache:
/// push that image to the cache repository under [`DOCKER_CACHE_TAG`].
pub async fn export_cache(
    request: &BuildRequest,
    to: &str,
    cancel: CancellationToken,
) -> Result<StepReport, BuildError> {
    let mut request = request.clone();
    request.cache_to = Some(to.to_string());
    request.no_cache = false;
    let ran = run(&request, cancel).await?;
    if let Some(settling) = ran.settling {
        let _ = settling.await;
    }
    Ok(ran.steps)
}

/// The request's fingerprint, or a new one when it carries none; refused
/// when it was planned for another builder platform.
async fn fingerprint_for(
    request: &BuildRequest,
    build_platform: &str,
) -> Result<std::sync::Arc<imagedeploy_fingerprint::Fingerprint>, BuildError> {
    match &request.fingerprint {
        Some(fp) => {
            if let Some(planned) = &fp.manifest.inputs.builder_platform {
                if planned != build_platform {
                    return Err(BuildError::PlatformChanged {
                        builder: build_platform.to_string(),
                        planned: planned.clone(),
                    });
                }
            }
            Ok(fp.clone())
        }
        None => {
            let fp_request = request.fingerprint_request(build_platform);
            let fp = tokio::task::spawn_blocking(move || {
                imagedeploy_fingerprint::fingerprint(&fp_request)
            })
            .await
            .map_err(|e| BuildError::Io {
                what: "fingerprint the build context".into(),
                source: std::io::Error::other(e.to_string()),
            })??;
            Ok(std::sync::Arc::new(fp))
        }
    }
}

/// The directory the builder reads as its context, and the kept snapshot
/// that must stay locked while it does.
async fn stage_context(
    kind: BuilderKind,
    fingerprint: &std::sync::Arc<imagedeploy_fingerprint::Fingerprint>,
    request: &BuildRequest,
    work: &std::path::Path,
) -> Result<
    (
        std::path::PathBuf,
        Option<imagedeploy_fingerprint::stage::Snapshot>,
    ),
    BuildError,
> {
    // buildah: the context's kept snapshot (only changes are copied; it
    // stays locked until `_snapshot` is dropped, after the build). The
    // Docker engine gets a fresh one in the work directory every time:
    // BuildKit re-sends a context directory it has seen before by comparing
    // stats, and with one fixed mtime an edit that keeps the size would look
    // unchanged. Also a fresh one when there is no cache directory.
    {
        let (fp, work_dir) = (fingerprint.clone(), work.to_path_buf());
        let keep = match kind {
            BuilderKind::Buildah => imagedeploy_fingerprint::stage::snapshot_dir(&request.context),
            BuilderKind::DockerBuildKit | BuilderKind::DockerBuildx => None,
        };
        let staging = Instant::now();
        let (context, snapshot, staged, copied) = tokio::task::spawn_blocking(move || {
            use imagedeploy_fingerprint::stage;
            match keep {
                Some(dir) => stage::stage_incremental(&fp, &dir).map(|s| {
                    let (staged, copied) = (s.staged, s.copied);
                    (s.tree.clone(), Some(s), staged, copied)
                }),
                None => {
                    let dest = work_dir.join("context");
                    stage::stage(&fp, &dest).map(|s| (dest, None, s, s.files + s.symlinks))
                }
            }
        })
        .await
        .map_err(|e| BuildError::Io {
            what: "stage the build context".into(),
            source: std::io::Error::other(e.to_string()),
        })??;
        progress(&format!(
            "build context: {} files ({} bytes), {} symlinks; {} copied, staged in {} ms",
            staged.files,
            staged.bytes,
            staged.symlinks,
            copied,
            staging.elapsed().as_millis()
        ));
        Ok((context, snapshot))
    }
}

/// What BuildKit's output showed for each pinned base image.
fn buildkit_uses(request: &BuildRequest, pulls: &buildkit_pulls::PullWatch) -> Vec<BaseImageUse> {
    let mut uses: Vec<BaseImageUse> = Vec::new();
    for pinned in request.base_image_overrides.values() {
        let Some((_, digest)) = pinned.rsplit_once('@') else {
            continue;
        };
        if uses.iter().any(|u| &u.reference == pinned) {
            continue;
        }
        if let Some(bytes) = pulls.downloaded(digest) {
            uses.push(BaseImageUse {
                reference: pinned.clone(),
                pulled: bytes > 0,
                bytes,
            });
        }
    }
    uses
}

/// Which pinned base images the local store holds now, by reference.
async fn stored_base_images(
    request: &BuildRequest,
) -> std::collections::BTreeMap<String, Option<LocalImage>> {
    let mut stored = std::collections::BTreeMap::new();
    for pinned in request.base_image_overrides.values() {
        let found = local_image(&request.builder, pinned, request.buildah_storage.as_deref()).await;
        stored.insert(pinned.clone(), found);
    }
    stored
}

/// Compares the store before and after the build: what was pulled. Empty
/// when the store could not be asked after the build either.
async fn base_image_uses(
    request: &BuildRequest,
    before: std::collections::BTreeMap<String, Option<LocalImage>>,
) -> Vec<BaseImageUse> {
    let mut uses = Vec::new();
    for (reference, had) in before {
        // Stored before the build: still stored, nothing pulled (no need
        // to ask the store again).
        let (now, pulled) = match had {
            Some(had) => (Some(had), false),
            None => (
                local_image(
                    &request.builder,
                    &reference,
                    request.buildah_storage.as_deref(),
                )
                .await,
                true,
            ),
        };
        if let Some(now) = now {
            uses.push(BaseImageUse {
                reference,
                pulled,
                bytes: now.bytes,
            });
        }
    }
    uses
}
