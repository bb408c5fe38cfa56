//! The builder's local image store, looked up by exact reference.
//!
//! Base images are pinned by digest before a build (see `dockerfile`), so
//! "is this base image stored here" is an exact question: a lookup of
//! `repository@sha256:...` matches only that manifest, never a tag that
//! merely starts the same way. Looking before and after a build tells which
//! base images the builder had to pull and how many bytes they are.
//!
//! Only buildah's store can be asked: BuildKit keeps base images in its own
//! content store, which the Docker CLI does not show, so for the Docker
//! engine every answer is "not known" (`None`).

use std::path::Path;
use std::time::Duration;

use crate::job::find_on_path;
use crate::request::{Builder, BuilderKind};

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(30);

/// An image in the local store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalImage {
    /// Its manifest digest, `sha256:...`.
    pub digest: String,
    /// The compressed size of its layers and config, from its manifest: the
    /// bytes a pull of it transfers when nothing is shared.
    pub bytes: u64,
}

/// One pinned base image of a build and where it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseImageUse {
    /// `registry/repository@sha256:...`
    pub reference: String,
    /// True when the local store did not have it before the build.
    pub pulled: bool,
    /// buildah: its size (see [`LocalImage::bytes`]). BuildKit: the bytes
    /// its output showed downloaded (rounded units; 0 when none).
    pub bytes: u64,
}

/// `reference` (a tag or `repository@sha256:...`) in the local store of the
/// builder `builder` resolves to; `None` when it is not there or the store
/// cannot be asked. `storage`: buildah's private store, as in the request.
pub async fn local_image(
    builder: &Builder,
    reference: &str,
    storage: Option<&Path>,
) -> Option<LocalImage> {
    let (kind, _) = crate::resolve_builder(builder).await.ok()?;
    if kind != BuilderKind::Buildah {
        return None;
    }
    let program = find_on_path("buildah")?;
    let mut command = tokio::process::Command::new(program);
    command.args(["--storage-driver", "vfs"]);
    if let Some(storage) = storage {
        command.arg("--root").arg(storage.join("root"));
        command.arg("--runroot").arg(storage.join("run"));
    }
    command
        .args([
            "inspect",
            "--type",
            "image",
            "--format",
            "{{.FromImageDigest}}|{{.Manifest}}",
        ])
        .arg(reference)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(LOOKUP_TIMEOUT, command.output())
        .await
        .ok()?
        .ok()?;
    if !output.status.success() {
        return None;
    }
    parse_inspect(&String::from_utf8_lossy(&output.stdout))
}

/// `<digest>|<manifest JSON>` as printed by `buildah inspect --format`.
fn parse_inspect(text: &str) -> Option<LocalImage> {
    let (digest, manifest) = text.trim().split_once('|')?;
    if !digest.starts_with("sha256:") {
        return None;
    }
    let manifest: serde_json::Value = serde_json::from_str(manifest).ok()?;
    let size = |v: &serde_json::Value| v.get("size").and_then(serde_json::Value::as_u64);
    let layers: u64 = manifest
        .get("layers")
        .and_then(serde_json::Value::as_array)
        .map(|l| l.iter().filter_map(size).sum())
        .unwrap_or(0);
    let config = manifest.get("config").and_then(size).unwrap_or(0);
    Some(LocalImage {
        digest: digest.to_string(),
        bytes: layers + config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_come_from_the_manifest() {
        let text =
            "sha256:aa|{\"config\":{\"size\":344},\"layers\":[{\"size\":1000},{\"size\":24}]}\n";
        assert_eq!(
            parse_inspect(text),
            Some(LocalImage {
                digest: "sha256:aa".into(),
                bytes: 1368
            })
        );
        assert_eq!(parse_inspect("image not known"), None);
        assert_eq!(parse_inspect("|{}"), None);
    }
}
