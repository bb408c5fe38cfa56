//! Real images in a real registry, made without any network access.
//!
//! There is no Docker Hub here, so tests make their own: tiny single-layer
//! images written as an OCI layout and copied with skopeo (to move tags
//! around), and a busybox-static base image committed with buildah (for
//! Dockerfile builds).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Runs a program and returns its trimmed stdout; a missing program or a
/// failure is an error that says what to install or what went wrong.
pub fn run(program: &str, args: &[&str], install_hint: &str) -> anyhow::Result<String> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("{program} is needed for this test ({install_hint})"))?;
    if !output.status.success() {
        bail!(
            "{program} {} failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn put_blob(blobs: &Path, bytes: &[u8]) -> anyhow::Result<(String, usize)> {
    let hex = sha256_hex(bytes);
    std::fs::write(blobs.join(&hex), bytes)?;
    Ok((format!("sha256:{hex}"), bytes.len()))
}

/// A one-file uncompressed tar: `name` holding `content` (ustar, mode 0644).
fn tar_with(name: &str, content: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    let octal = |field: &mut [u8], value: u64| {
        let text = format!("{:0width$o}\0", value, width = field.len() - 1);
        field.copy_from_slice(text.as_bytes());
    };
    octal(&mut header[100..108], 0o644);
    octal(&mut header[108..116], 0);
    octal(&mut header[116..124], 0);
    octal(&mut header[124..136], content.len() as u64);
    octal(&mut header[136..148], 0);
    header[156] = b'0';
    header[257..263].copy_from_slice(b"ustar\0");
    header[263..265].copy_from_slice(b"00");
    header[148..156].copy_from_slice(b"        ");
    let sum: u64 = header.iter().map(|b| u64::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    header[148..156].copy_from_slice(text.as_bytes());
    let mut out = header.to_vec();
    out.extend_from_slice(content);
    out.resize(out.len().div_ceil(512) * 512, 0);
    out.extend_from_slice(&[0u8; 1024]);
    out
}

/// Pushes a tiny image whose only file holds `content` to
/// `registry/repository:tag` (moving the tag if it exists) and returns the
/// manifest digest the registry now serves for it.
pub fn push_tiny_image(
    registry: &str,
    repository: &str,
    tag: &str,
    content: &str,
) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let blobs = dir.path().join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)?;
    let (manifest_digest, manifest_size) = tiny_manifest(&blobs, "linux/amd64", content)?;
    write_layout(
        dir.path(),
        json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": manifest_size,
        }),
    )?;
    let destination = format!("{registry}/{repository}:{tag}");
    skopeo_copy(dir.path(), &destination, false, None)?;
    registry_digest(&destination)
}

/// A multi-platform image as the registry serves it.
#[derive(Debug, Clone)]
pub struct MultiPlatform {
    /// The index's digest.
    pub index: String,
    /// The index exactly as the registry serves it.
    pub index_bytes: Vec<u8>,
    /// `os/architecture[/variant]` -> the child manifest's digest.
    pub children: std::collections::BTreeMap<String, String>,
}

/// Pushes an OCI image index to `registry/repository:tag` (moving the tag)
/// with one tiny image per `(platform, content)` (`linux/arm64/v8` style;
/// each child's index entry carries its `platform`), and reads back, with
/// skopeo, the index digest and each child's digest. The same platform and
/// content give the same child digest in every index.
pub fn push_multi_platform_image(
    registry: &str,
    repository: &str,
    tag: &str,
    images: &[(&str, &str)],
) -> anyhow::Result<MultiPlatform> {
    push_multi_platform_image_as(registry, None, repository, tag, images)
}

/// [`push_multi_platform_image`] to a registry that wants `credentials`
/// (`user:password`), over TLS without checking the certificate (a test
/// registry whose certificate names another host).
pub fn push_multi_platform_image_as(
    registry: &str,
    credentials: Option<&str>,
    repository: &str,
    tag: &str,
    images: &[(&str, &str)],
) -> anyhow::Result<MultiPlatform> {
    let dir = tempfile::tempdir()?;
    let blobs = dir.path().join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs)?;
    let mut manifests = Vec::new();
    for (platform, content) in images {
        let (digest, size) = tiny_manifest(&blobs, platform, content)?;
        manifests.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest,
            "size": size,
            "platform": platform_json(platform)?,
        }));
    }
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    let (index_digest, index_size) = put_blob(&blobs, index.to_string().as_bytes())?;
    write_layout(
        dir.path(),
        json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index_digest,
            "size": index_size,
        }),
    )?;
    let destination = format!("{registry}/{repository}:{tag}");
    skopeo_copy(dir.path(), &destination, true, credentials)?;
    // The bytes exactly as served (`run` trims): the index digest is their hash.
    let mut inspect = Command::new("skopeo");
    inspect.args(["inspect", "--tls-verify=false", "--raw"]);
    if let Some(credentials) = credentials {
        inspect.arg("--creds").arg(credentials);
    }
    let raw = inspect
        .arg(format!("docker://{destination}"))
        .stdin(Stdio::null())
        .output()
        .context("skopeo is needed for this test (apt-get install skopeo)")?;
    if !raw.status.success() {
        bail!(
            "skopeo inspect --raw {destination} failed: {}",
            String::from_utf8_lossy(&raw.stderr)
        );
    }
    let served: serde_json::Value =
        serde_json::from_slice(&raw.stdout).context("skopeo inspect --raw printed no JSON")?;
    let mut children = std::collections::BTreeMap::new();
    for entry in served["manifests"].as_array().into_iter().flatten() {
        let p = &entry["platform"];
        let mut platform = format!(
            "{}/{}",
            p["os"].as_str().unwrap_or_default(),
            p["architecture"].as_str().unwrap_or_default()
        );
        if let Some(variant) = p["variant"].as_str() {
            platform = format!("{platform}/{variant}");
        }
        let digest = entry["digest"]
            .as_str()
            .ok_or_else(|| anyhow!("an index entry of {destination} has no digest"))?;
        children.insert(platform, digest.to_string());
    }
    Ok(MultiPlatform {
        index: format!("sha256:{}", sha256_hex(&raw.stdout)),
        index_bytes: raw.stdout,
        children,
    })
}

/// `{os, architecture, variant?}` of `os/architecture[/variant]`.
fn platform_json(platform: &str) -> anyhow::Result<serde_json::Value> {
    let mut parts = platform.split('/');
    let (Some(os), Some(architecture)) = (parts.next(), parts.next()) else {
        bail!("{platform} is not os/architecture[/variant]");
    };
    let mut value = json!({"os": os, "architecture": architecture});
    if let Some(variant) = parts.next() {
        value["variant"] = json!(variant);
    }
    Ok(value)
}

/// Writes a one-file image for `platform` (layer, config, manifest) into
/// `blobs` and returns the manifest's digest and size.
fn tiny_manifest(blobs: &Path, platform: &str, content: &str) -> anyhow::Result<(String, usize)> {
    let layer = tar_with("content.txt", content.as_bytes());
    let (layer_digest, layer_size) = put_blob(blobs, &layer)?;
    let platform = platform_json(platform)?;
    let mut config = json!({
        "architecture": platform["architecture"],
        "os": platform["os"],
    });
    if let Some(variant) = platform.get("variant") {
        config["variant"] = variant.clone();
    }
    config["config"] = json!({"Cmd": ["/content.txt"]});
    config["rootfs"] = json!({"type": "layers", "diff_ids": [layer_digest]});
    let (config_digest, config_size) = put_blob(blobs, config.to_string().as_bytes())?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer_size}],
    });
    put_blob(blobs, manifest.to_string().as_bytes())
}

/// `index.json` (naming `entry`) and `oci-layout` of an OCI layout at `dir`.
fn write_layout(dir: &Path, entry: serde_json::Value) -> anyhow::Result<()> {
    let index = json!({"schemaVersion": 2, "manifests": [entry]});
    std::fs::write(dir.join("index.json"), index.to_string())?;
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(())
}

/// `skopeo copy` of the OCI layout at `dir` to `docker://destination`
/// (`--all`: an index with every child), with `credentials` when given.
fn skopeo_copy(
    dir: &Path,
    destination: &str,
    all: bool,
    credentials: Option<&str>,
) -> anyhow::Result<()> {
    let source = format!("oci:{}", dir.display());
    let destination = format!("docker://{destination}");
    let mut args = vec!["copy", "--quiet", "--dest-tls-verify=false"];
    if all {
        args.push("--all");
    }
    if let Some(credentials) = credentials {
        args.extend(["--dest-creds", credentials]);
    }
    args.extend([source.as_str(), destination.as_str()]);
    run("skopeo", &args, "apt-get install skopeo")?;
    Ok(())
}

/// The manifest digest `reference` names in its registry now.
pub fn registry_digest(reference: &str) -> anyhow::Result<String> {
    let out = run(
        "skopeo",
        &[
            "inspect",
            "--tls-verify=false",
            &format!("docker://{reference}"),
        ],
        "apt-get install skopeo",
    )?;
    let doc: serde_json::Value =
        serde_json::from_str(&out).context("skopeo inspect printed no JSON")?;
    doc.get("Digest")
        .and_then(|d| d.as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("skopeo inspect of {reference} shows no Digest"))
}

fn busybox() -> anyhow::Result<PathBuf> {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| {
            anyhow!(
                "busybox-static is needed for the test base image (apt-get install busybox-static)"
            )
        })
}

/// Applets the base image provides (enough for small build stages).
const APPLETS: &[&str] = &[
    "sh", "cat", "echo", "ls", "mkdir", "sed", "grep", "cp", "chmod", "true", "false", "test",
    "sleep",
];

/// Commits a busybox-static image with buildah (from scratch, timestamp 0,
/// so the digest is the same every time) and pushes it as
/// `registry/base:1`. Returns that reference.
pub fn push_base_image(registry: &str) -> anyhow::Result<String> {
    let storage = tempfile::tempdir()?;
    let rootfs = tempfile::tempdir()?;
    let bin = rootfs.path().join("bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::copy(busybox()?, bin.join("busybox"))?;
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet))?;
    }
    let root = storage.path().join("root");
    let runroot = storage.path().join("run");
    let (root, runroot) = (path_str(&root)?, path_str(&runroot)?);
    let buildah = |args: &[&str]| -> anyhow::Result<String> {
        let mut all = vec![
            "--storage-driver",
            "vfs",
            "--root",
            root,
            "--runroot",
            runroot,
        ];
        all.extend_from_slice(args);
        run("buildah", &all, "apt-get install buildah")
    };
    let container = buildah(&["from", "scratch"])?;
    buildah(&["copy", &container, path_str(rootfs.path())?, "/"])?;
    buildah(&[
        "config",
        "--cmd",
        "/bin/sh",
        "--env",
        "PATH=/bin",
        &container,
    ])?;
    buildah(&[
        "commit",
        "--timestamp",
        "0",
        &container,
        "localhost/e2e-base:1",
    ])?;
    let reference = format!("{registry}/base:1");
    buildah(&[
        "push",
        "--tls-verify=false",
        "localhost/e2e-base:1",
        &format!("docker://{reference}"),
    ])?;
    // Deleting the buildah storage needs root-owned files gone too; the
    // tempdir does that on drop.
    Ok(reference)
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .ok_or_else(|| anyhow!("path {} is not UTF-8", p.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_header_checksum_is_what_tar_expects() {
        let t = tar_with("a.txt", b"hello");
        assert_eq!(t.len(), 512 + 512 + 1024);
        let stored = std::str::from_utf8(&t[148..154]).unwrap();
        let mut h = t[..512].to_vec();
        h[148..156].copy_from_slice(b"        ");
        let sum: u64 = h.iter().map(|b| u64::from(*b)).sum();
        assert_eq!(u64::from_str_radix(stored, 8).unwrap(), sum);
    }
}
