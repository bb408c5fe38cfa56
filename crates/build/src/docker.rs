//! Docker engine builds with BuildKit: `docker buildx build` when the
//! client has buildx, else `DOCKER_BUILDKIT=1 docker build` from a client old
//! enough to carry BuildKit itself (before 23.0). The image leaves the engine
//! as an OCI layout (buildx's oci exporter, or `docker save` converted), so
//! the content digest and push path are the same as with buildah.

use std::path::{Path, PathBuf};
use std::time::Duration;

use imagedeploy_registry::layout::{LayoutWriter, OCI_CONFIG};

use crate::error::BuildError;
use crate::job::{all_on_path, unique_name, Job};
use crate::process::Invocation;
use crate::request::{Builder, BuilderKind};

const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Picks the Docker build mode, checking that a client can build and that
/// the engine at `host` (or the environment's) answers.
pub(crate) async fn choose(host: Option<&str>) -> Result<BuilderKind, BuildError> {
    let (client, kind) = client(host).await?;
    let server = probe(
        &client,
        host,
        &["version", "--format", "{{.Server.Version}}"],
    )
    .await;
    match server {
        Some(version) if !version.is_empty() => Ok(kind),
        _ => Err(BuildError::BuilderMissing {
            program: "docker".into(),
            hint: format!(
                "no Docker engine answered at {}",
                host.map(str::to_string)
                    .or_else(|| std::env::var("DOCKER_HOST").ok())
                    .unwrap_or_else(|| "the default socket".into())
            ),
        }),
    }
}

/// The first docker client on PATH that can run a BuildKit build.
async fn client(host: Option<&str>) -> Result<(PathBuf, BuilderKind), BuildError> {
    let candidates = all_on_path("docker");
    if candidates.is_empty() {
        return Err(BuildError::BuilderMissing {
            program: "docker".into(),
            hint: "no docker client on PATH".into(),
        });
    }
    for candidate in &candidates {
        if probe(candidate, host, &["buildx", "version"])
            .await
            .is_some()
        {
            return Ok((candidate.clone(), BuilderKind::DockerBuildx));
        }
    }
    for candidate in &candidates {
        let version = probe(
            candidate,
            host,
            &["version", "--format", "{{.Client.Version}}"],
        )
        .await;
        let major = version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok());
        if major.is_some_and(|m| m < 23) {
            return Ok((candidate.clone(), BuilderKind::DockerBuildKit));
        }
    }
    Err(BuildError::BuilderMissing {
        program: "docker".into(),
        hint: "no docker client on PATH has buildx or a built-in BuildKit (clients before 23.0)"
            .into(),
    })
}

/// The engine's own platform (`os/arch`), what BuildKit fills the automatic
/// platform args with when no `--platform` is given.
pub(crate) async fn server_platform(host: Option<&str>) -> Result<String, BuildError> {
    let (client, _) = client(host).await?;
    probe(
        &client,
        host,
        &["version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"],
    )
    .await
    .filter(|p| p.contains('/') && !p.starts_with('/') && !p.ends_with('/'))
    .ok_or_else(|| BuildError::BuilderMissing {
        program: "docker".into(),
        hint: "the engine did not report its platform".into(),
    })
}

/// Runs a short docker command; its trimmed stdout on success.
async fn probe(program: &Path, host: Option<&str>, args: &[&str]) -> Option<String> {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(host) = host {
        command.env("DOCKER_HOST", host);
    }
    let output = tokio::time::timeout(PROBE_TIMEOUT, command.output())
        .await
        .ok()?
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
}

pub(crate) async fn build(job: &Job<'_>, kind: BuilderKind, out: &Path) -> Result<(), BuildError> {
    let host = match &job.request.builder {
        Builder::Docker { host } => host.clone(),
        _ => None,
    };
    let (program, _) = client(host.as_deref()).await?;
    let base = || {
        let mut invocation = Invocation::new(&program);
        if let Some(host) = &host {
            invocation.env("DOCKER_HOST", host);
        }
        if !job.request.registry_auth.is_empty() {
            if let Some(dir) = job.auth_file.parent().and_then(|d| d.to_str()) {
                invocation.env("DOCKER_CONFIG", dir);
            }
        }
        invocation
    };
    // BuildKit reads <Dockerfile>.dockerignore next to the Dockerfile it is
    // given (`job.ignore_file`, which ignores nothing) instead of the
    // context's `.dockerignore`.
    let archive = job.work.join("image.tar");
    match kind {
        BuilderKind::DockerBuildx => {
            let attempt = |rewrite_timestamps: bool| {
                let mut build = base();
                build.args([
                    "buildx",
                    "build",
                    "--progress",
                    "plain",
                    "--provenance=false",
                    "--sbom=false",
                ]);
                let mut output = format!("type=oci,dest={}", archive.display());
                if rewrite_timestamps {
                    output.push_str(",rewrite-timestamp=true");
                }
                build.arg("--output").arg(output);
                common_args(job, &mut build);
                build
            };
            match job
                .run_with_tail(&attempt(true), "docker buildx build")
                .await
            {
                Ok(()) => {}
                Err((BuildError::Failed(_), tail))
                    if tail.iter().any(|l| l.contains("rewrite-timestamp")) =>
                {
                    crate::progress("this BuildKit cannot rewrite timestamps; building without rewrite-timestamp");
                    job.run(&attempt(false), "docker buildx build").await?;
                }
                Err((error, _)) => return Err(error),
            }
            unpack_oci_archive(&archive, out)
        }
        _ => {
            let tag = format!("imagedeploy-build:{}", unique_name());
            let mut build = base();
            build.env("DOCKER_BUILDKIT", "1");
            build.args([
                "build",
                "--network",
                "host",
                "--progress",
                "plain",
                "-t",
                &tag,
            ]);
            common_args(job, &mut build);
            let built = job.run(&build, "docker build").await;
            let exported = match built {
                Ok(()) => {
                    let mut save = base();
                    save.arg("save").arg("-o").arg(&archive).arg(&tag);
                    job.run(&save, "docker save (export)").await
                }
                Err(error) => Err(error),
            };
            let mut remove = base();
            remove.args(["image", "rm", "--force", &tag]);
            job.cleanup(&remove).await;
            exported?;
            let (archive, out, scratch) =
                (archive.clone(), out.to_path_buf(), job.work.join("saved"));
            tokio::task::spawn_blocking(move || docker_archive_to_layout(&archive, &scratch, &out))
                .await
                .map_err(|e| BuildError::Export {
                    reason: format!("conversion task failed: {e}"),
                })?
        }
    }
}

/// Flags shared by both docker modes; the context path goes last.
fn common_args(job: &Job<'_>, build: &mut Invocation) {
    let request = job.request;
    build.arg("-f").arg(&job.dockerfile);
    if !request.build_args.contains_key("SOURCE_DATE_EPOCH") {
        build.args(["--build-arg", "SOURCE_DATE_EPOCH=0"]);
    }
    crate::secrets::build_arg_flags(request, build);
    if let Some(target) = &request.target {
        build.arg("--target").arg(target);
    }
    if let Some(platform) = &request.platform {
        build.arg("--platform").arg(platform);
    }
    for (key, value) in &request.labels {
        build.arg("--label").arg(format!("{key}={value}"));
    }
    for secret in job.secrets.flags() {
        build.arg("--secret").arg(secret);
    }
    if request.no_cache {
        build.arg("--no-cache");
    }
    // BuildKit's inline cache: the image's config carries the cache
    // metadata of its final stage, and `--cache-from` reads it from images
    // pushed earlier (under the cache repository's `buildcache` tag).
    if request.inline_cache {
        build.args(["--build-arg", "BUILDKIT_INLINE_CACHE=1"]);
    }
    for repository in &request.cache_from {
        build
            .arg("--cache-from")
            .arg(format!("{repository}:{}", crate::DOCKER_CACHE_TAG));
    }
    // `missing` is BuildKit's default; `never` has no BuildKit equivalent and
    // is refused before a Docker build starts (see `BuildError::PullNever`).
    if request.pull == crate::PullPolicy::Always {
        build.arg("--pull");
    }
    build.arg(job.context());
}

fn export_error(reason: impl Into<String>) -> BuildError {
    BuildError::Export {
        reason: reason.into(),
    }
}

/// Extracts an OCI layout tarball (buildx `type=oci`) into `out`.
fn unpack_oci_archive(archive: &Path, out: &Path) -> Result<(), BuildError> {
    let file = std::fs::File::open(archive)
        .map_err(|e| export_error(format!("cannot open {}: {e}", archive.display())))?;
    tar::Archive::new(file)
        .unpack(out)
        .map_err(|e| export_error(format!("cannot unpack the OCI archive: {e}")))
}

/// Converts a `docker save` archive into an OCI layout. Archives from
/// Docker 25+ already are OCI layouts; older ones (`manifest.json` + layer
/// tars) get their layers gzip-compressed and a fresh OCI manifest.
fn docker_archive_to_layout(archive: &Path, unpacked: &Path, out: &Path) -> Result<(), BuildError> {
    let _cleanup = RemoveOnDrop(unpacked.to_path_buf());
    let file = std::fs::File::open(archive)
        .map_err(|e| export_error(format!("cannot open {}: {e}", archive.display())))?;
    tar::Archive::new(file)
        .unpack(unpacked)
        .map_err(|e| export_error(format!("cannot unpack docker save output: {e}")))?;
    if unpacked.join("index.json").is_file() && unpacked.join("oci-layout").is_file() {
        return copy_tree(unpacked, out);
    }
    let manifest: serde_json::Value = std::fs::read(unpacked.join("manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| export_error("docker save output has no readable manifest.json"))?;
    let entry = manifest
        .as_array()
        .and_then(|entries| entries.first())
        .ok_or_else(|| export_error("docker save manifest.json lists no image"))?;
    let config_name = entry
        .get("Config")
        .and_then(|c| c.as_str())
        .ok_or_else(|| export_error("docker save manifest.json has no Config"))?;
    let layer_names: Vec<&str> = entry
        .get("Layers")
        .and_then(|l| l.as_array())
        .map(|layers| layers.iter().filter_map(|l| l.as_str()).collect())
        .unwrap_or_default();
    let inside = |name: &str| -> Result<PathBuf, BuildError> {
        if name.split('/').any(|part| part == "..") || name.starts_with('/') {
            return Err(export_error(format!(
                "docker save archive names a path outside it: {name}"
            )));
        }
        Ok(unpacked.join(name))
    };
    let writer = LayoutWriter::create(out)?;
    let config_bytes = std::fs::read(inside(config_name)?)
        .map_err(|e| export_error(format!("cannot read image config: {e}")))?;
    let config = writer.add_blob(OCI_CONFIG, &config_bytes)?;
    let mut layers = Vec::new();
    for name in layer_names {
        let mut layer = std::fs::File::open(inside(name)?)
            .map_err(|e| export_error(format!("cannot read layer {name}: {e}")))?;
        layers.push(writer.add_gzip_layer(&mut layer)?);
    }
    writer.finish(&config, &layers)?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), BuildError> {
    for entry in std::fs::read_dir(from).map_err(|e| export_error(e.to_string()))? {
        let entry = entry.map_err(|e| export_error(e.to_string()))?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| export_error(e.to_string()))?;
        if kind.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| export_error(e.to_string()))?;
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).map_err(|e| export_error(e.to_string()))?;
        }
    }
    Ok(())
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
