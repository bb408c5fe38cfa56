//! buildah builds: daemonless, and reproducible with `--timestamp 0`
//! (config, history and layer file times all become the epoch), no identity
//! label, and an OCI layout written by `buildah push oci:`.

use std::path::Path;

use imagedeploy_registry::Reference;

use crate::error::BuildError;
use crate::job::{find_on_path, Job};
use crate::process::Invocation;
use crate::storage_lock::StorageLock;

/// Builds and exports to `out`. Returns the store's remaining bookkeeping,
/// already running (see `BuiltImage::settle`).
pub(crate) async fn build(
    job: &Job<'_>,
    out: &Path,
) -> Result<Option<tokio::task::JoinHandle<()>>, BuildError> {
    let program = find_on_path("buildah").ok_or_else(|| BuildError::BuilderMissing {
        program: "buildah".into(),
        hint: "install the buildah package".into(),
    })?;
    let request = job.request;
    // The store alone: what the bookkeeping after the build needs (it may
    // outlive the work directory that holds the registries.conf).
    let store = || {
        let mut invocation = Invocation::new(&program);
        // vfs works everywhere (no overlay mounts, no fuse); chroot isolation
        // works without cgroup delegation.
        invocation.args(["--storage-driver", "vfs"]);
        if let Some(storage) = &request.buildah_storage {
            invocation.arg("--root").arg(storage.join("root"));
            invocation.arg("--runroot").arg(storage.join("run"));
        }
        invocation
    };
    let base = || {
        let mut invocation = store();
        if let Some(conf) = registries_conf(job) {
            invocation.env("CONTAINERS_REGISTRIES_CONF", &conf);
        }
        invocation
    };
    // The image is built straight under this context's layer-cache tag
    // (see `previous_image`); the image that held it before is noted first.
    let keep = cache_tag(request);
    let seconds = request.timeout.as_secs();
    let storage = StorageLock::acquire(
        request.buildah_storage.as_deref(),
        job.deadline,
        seconds,
        &job.cancel,
    )
    .await?;

    let mut bud = base();
    bud.args([
        "bud",
        "--isolation",
        "chroot",
        "--format",
        "oci",
        "--timestamp",
        "0",
    ]);
    // --force-rm: a failed step's working container (which may hold a
    // mounted secret) is removed too, not only those of successful steps.
    bud.args(["--identity-label=false", "--layers", "--force-rm"]);
    // The FROM lines name digests, so `missing` matches the local store exactly.
    bud.arg(format!("--pull={}", request.pull.as_str()));
    bud.arg("--authfile").arg(&job.auth_file);
    let iid_file = job.work.join("image-id");
    bud.arg("--iidfile").arg(&iid_file);
    bud.arg("-f").arg(&job.dockerfile).arg("-t").arg(&keep);
    bud.arg("--ignorefile").arg(&job.ignore_file);
    crate::secrets::build_arg_flags(request, &mut bud);
    if let Some(target) = &request.target {
        bud.arg("--target").arg(target);
    }
    if let Some(platform) = &request.platform {
        bud.arg("--platform").arg(platform);
    }
    for (key, value) in &request.labels {
        bud.arg("--label").arg(format!("{key}={value}"));
    }
    for secret in job.secrets.flags() {
        bud.arg("--secret").arg(secret);
    }
    if request.no_cache {
        bud.arg("--no-cache");
    }
    for repository in &request.cache_from {
        bud.arg("--cache-from").arg(repository);
    }
    if let Some(repository) = &request.cache_to {
        bud.arg("--cache-to").arg(repository);
    }
    bud.arg(job.context());
    let previous = previous_image(&store(), &keep).await;
    let built = job.run(&bud, "buildah bud").await;

    // A failed bud tagged nothing: the store is as it was.
    built?;
    let exported = if request.cache_to.is_some() {
        // A cache export wants the pushed cache images, not the image.
        Ok(())
    } else {
        let digest_file = job.work.join("digest");
        let mut push = base();
        push.arg("push");
        if request.compression == crate::Compression::Zstd {
            push.args(["--compression-format", "zstd"]);
        }
        push.arg("--authfile")
            .arg(&job.auth_file)
            .arg("--digestfile")
            .arg(&digest_file)
            .arg(&keep);
        push.arg(format!("oci:{}", out.display()));
        job.run(&push, "buildah push (export to an OCI layout)")
            .await
    };
    // The cache tag moved with the bud: whatever the export did, the store's
    // bookkeeping follows. It runs while the caller reads and pushes the
    // layout, and keeps the storage lock until it is done (see
    // `BuiltImage::settle`); after a failed export it is awaited here.
    let new_id = std::fs::read_to_string(&iid_file)
        .ok()
        .map(|id| id.trim().trim_start_matches("sha256:").to_string());
    if new_id.is_none() {
        tracing::warn!(
            "buildah wrote no image id: the previous build's layer cache stays in the store"
        );
    }
    let base_tags = base_image_tags(request);
    let base_invocation = store();
    let settling = tokio::spawn(async move {
        let _storage = storage;
        // The previous build's chain of steps, except the steps both share
        // (`rmi` fails harmlessly on an image another still builds on).
        if let (Some(previous), Some(new_id)) = (previous, new_id) {
            if previous != new_id {
                let mut remove = base_invocation.clone();
                remove.arg("rmi").arg(&previous);
                crate::job::cleanup(&remove).await;
            }
        }
        // The store now holds each base image under its digest only; name
        // it by the tag it was resolved from too, so a later offline
        // resolution (`baseImagePull: never`, registry unreachable) finds
        // the tag here.
        for (pinned, written) in base_tags {
            let mut name = base_invocation.clone();
            name.arg("tag").arg(pinned).arg(written);
            crate::job::cleanup(&name).await;
        }
    });
    match exported {
        Ok(()) => Ok(Some(settling)),
        Err(error) => {
            let _ = settling.await;
            Err(error)
        }
    }
}

/// `(pinned, tag)` for each base image the Dockerfile names by tag.
fn base_image_tags(request: &crate::BuildRequest) -> Vec<(String, String)> {
    request
        .base_image_overrides
        .iter()
        .filter_map(|(written, pinned)| {
            let reference = Reference::parse(written).ok()?;
            if reference.digest().is_some() || reference.tag().is_none() {
                return None;
            }
            Some((pinned.clone(), reference.to_string()))
        })
        .collect()
}

/// The stable tag that keeps one context's (and target's and platform's)
/// chain of steps as its local layer cache.
fn cache_tag(request: &crate::BuildRequest) -> String {
    use sha2::{Digest as _, Sha256};
    let mut hash = Sha256::new();
    hash.update(request.context.to_string_lossy().as_bytes());
    hash.update([0]);
    hash.update(request.target.as_deref().unwrap_or_default().as_bytes());
    hash.update([0]);
    hash.update(request.platform.as_deref().unwrap_or_default().as_bytes());
    format!(
        "localhost/imagedeploy-cache:{}",
        hex::encode(&hash.finalize()[..8])
    )
}

/// The image that holds the layer-cache tag `keep` now, if any.
///
/// Each build is tagged with one stable tag per context, target and
/// platform, which moves from the previous build's image to the new one,
/// so the new image and the intermediate images of its steps stay as the
/// local layer cache (`buildah rmi` of an image's last tag also removes the
/// intermediate images nothing else uses, so a throw-away tag would leave
/// no cached step). The previous image is removed after the build: the
/// store holds one chain of steps per context.
async fn previous_image(store: &Invocation, keep: &str) -> Option<String> {
    let mut find = store.clone();
    find.args(["images", "--noheading", "--no-trunc", "--format", "{{.ID}}"])
        .arg(keep);
    crate::job::query(&find)
        .await
        .and_then(|lines| lines.into_iter().next())
        .map(|id| id.trim().trim_start_matches("sha256:").to_string())
        .filter(|id| !id.is_empty())
}

fn registries_conf(job: &Job<'_>) -> Option<String> {
    // A Dockerfile that cannot be planned fails in the builder, which says why.
    let images = crate::dockerfile::base_images(
        &job.dockerfile_text,
        job.request.target.as_deref(),
        &job.request.dockerfile_args(&job.build_platform),
    )
    .unwrap_or_default();
    let mut insecure: Vec<String> = images
        .iter()
        .filter_map(|image| Reference::parse(image).ok())
        .map(|r| r.registry().to_string())
        .filter(|registry| is_loopback(registry))
        .collect();
    // Cache repositories on a loopback registry are reached over HTTP too.
    insecure.extend(
        job.request
            .cache_from
            .iter()
            .chain(&job.request.cache_to)
            .filter_map(|repository| repository.split('/').next())
            .filter(|registry| is_loopback(registry))
            .map(str::to_string),
    );
    insecure.extend(job.request.insecure_registries.iter().cloned());
    insecure.sort();
    insecure.dedup();
    if insecure.is_empty() {
        return None;
    }
    let mut conf = String::from(
        "unqualified-search-registries = [\"docker.io\"]\nshort-name-mode = \"permissive\"\n",
    );
    for registry in &insecure {
        conf.push_str(&format!(
            "\n[[registry]]\nlocation = {}\ninsecure = true\n",
            toml_string(registry)
        ));
    }
    let path = job.work.join("registries.conf");
    std::fs::write(&path, conf).ok()?;
    Some(path.display().to_string())
}

fn toml_string(value: &str) -> String {
    let escaped: String = value
        .chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c => vec![c],
        })
        .collect();
    format!("\"{escaped}\"")
}

fn is_loopback(registry: &str) -> bool {
    let host = registry
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(registry);
    host == "localhost" || host.starts_with("127.") || host == "[::1]"
}
