//! Image builds with buildah or the Docker engine, reproducible by default.
//!
//! A build ends as an OCI image layout on disk, whatever the builder, so the
//! provider can compute the content digest and the exact manifest digest a
//! push will produce before pushing anything (preview shows the real digest).

mod authfile;
mod buildah;
mod docker;
pub mod dockerfile;
mod error;
mod failure;
mod job;
mod process;
mod request;
mod secrets;
mod storage_lock;

use std::sync::Mutex;
use std::time::Instant;

pub use error::{BuildError, BuildFailure};
pub use failure::FailedStep;
pub use request::{
    BuildRequest, Builder, BuilderKind, BuiltImage, DockerfileSource, DEFAULT_TIMEOUT,
};
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

/// Builds `request` and returns the image as an OCI layout. Every builder
/// output line is a progress line (see [`progress`]; secret values masked).
/// `cancel` stops the builder; so does `request.timeout`.
pub async fn build(
    request: &BuildRequest,
    cancel: CancellationToken,
) -> Result<BuiltImage, BuildError> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + request.timeout;
    if !request.context.is_dir() {
        return Err(BuildError::ContextMissing {
            path: request.context.clone(),
        });
    }
    let (text, label, ignore_file) = match (&request.dockerfile, request.dockerfile_path()) {
        (DockerfileSource::Inline(text), _) => {
            (text.clone(), "inline Dockerfile".to_string(), None)
        }
        (DockerfileSource::Path(_), Some(path)) => {
            let text =
                std::fs::read_to_string(&path).map_err(|source| BuildError::DockerfileRead {
                    path: path.clone(),
                    source,
                })?;
            let mut ignore = path.clone().into_os_string();
            ignore.push(".dockerignore");
            let ignore = std::path::PathBuf::from(ignore);
            (
                text,
                path.display().to_string(),
                ignore.is_file().then_some(ignore),
            )
        }
        (DockerfileSource::Path(path), None) => {
            return Err(BuildError::DockerfileRead {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no path"),
            })
        }
    };
    let rewritten = dockerfile::rewrite_from(
        &text,
        &request.dockerfile_args(),
        &request.base_image_overrides,
    )
    .map_err(|source| BuildError::Dockerfile {
        dockerfile: label.clone(),
        source,
    })?;
    let work = tempfile::Builder::new()
        .prefix("imagedeploy-build-")
        .tempdir()
        .map_err(|source| BuildError::Io {
            what: "create a build work directory".into(),
            source,
        })?;
    let dockerfile_path = work.path().join("Dockerfile");
    std::fs::write(&dockerfile_path, &rewritten).map_err(|source| BuildError::Io {
        what: "write the build's Dockerfile copy".into(),
        source,
    })?;
    let out = tempfile::Builder::new()
        .prefix("imagedeploy-image-")
        .tempdir()
        .map_err(|source| BuildError::Io {
            what: "create the image layout directory".into(),
            source,
        })?;
    let job = Job {
        request,
        work: work.path().to_path_buf(),
        dockerfile: dockerfile_path,
        dockerfile_text: rewritten,
        dockerfile_label: label,
        ignore_file,
        secrets: SecretFiles::write(&request.secrets)?,
        auth_file: authfile::write(work.path(), &request.registry_auth)?,
        deadline,
        cancel,
        tracker: Mutex::new(failure::StepTracker::default()),
    };
    let kind = match &request.builder {
        Builder::Buildah => BuilderKind::Buildah,
        Builder::Docker { host } => docker::choose(host.as_deref()).await?,
        Builder::Auto => match docker::choose(None).await {
            Ok(kind) => kind,
            Err(docker_unusable) => {
                if job::find_on_path("buildah").is_none() {
                    return Err(BuildError::NoBuilder {
                        tried: format!("Docker: {docker_unusable}; buildah: not found on PATH"),
                    });
                }
                progress(&format!("using buildah ({docker_unusable})"));
                BuilderKind::Buildah
            }
        },
    };
    match kind {
        BuilderKind::Buildah => buildah::build(&job, out.path()).await?,
        BuilderKind::DockerBuildKit | BuilderKind::DockerBuildx => {
            docker::build(&job, kind, out.path()).await?
        }
    }
    let layout = ImageLayout::open(out.path())?;
    Ok(BuiltImage {
        manifest_digest: layout.manifest_digest().clone(),
        platform: layout.platform()?,
        dir: out,
        builder: kind,
        duration: started.elapsed(),
    })
}
