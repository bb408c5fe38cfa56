//! Tiny base images made on the spot, without any network.
//!
//! Tests cannot pull from Docker Hub, so they build their own `FROM` image:
//! a busybox-static root filesystem committed from scratch with buildah
//! (`--timestamp 0`, so the same inputs give the same digest) and pushed to a
//! test [`Registry`]. A `variant` string changes the content, which lets a
//! test move a tag to a different image.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::process::find_program;
use crate::registry::Registry;

/// Applets linked to busybox in the image, enough for typical `RUN` lines.
const APPLETS: &[&str] = &[
    "sh",
    "cat",
    "cp",
    "echo",
    "ls",
    "mkdir",
    "rm",
    "sleep",
    "test",
    "true",
    "false",
    "date",
    "chmod",
    "sed",
    "grep",
    "touch",
    "wc",
    "head",
    "tail",
    "sha256sum",
];

#[derive(Debug, thiserror::Error)]
pub enum BaseImageError {
    #[error("{program} is not installed ({hint})")]
    Missing { program: String, hint: String },
    #[error("could not prepare {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("`buildah {args}` failed: {output}")]
    Buildah { args: String, output: String },
    #[error("buildah push wrote no digest for {reference}")]
    NoDigest { reference: String },
    #[error("could not make the multi-platform base image: {0}")]
    Prepare(String),
}

/// An image pushed to a test registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedImage {
    /// `127.0.0.1:PORT/repository:tag`, as written in a `FROM` line.
    pub reference: String,
    /// The manifest digest the registry holds, `sha256:...`.
    pub digest: String,
}

impl PushedImage {
    /// `127.0.0.1:PORT/repository@sha256:...`
    pub fn pinned(&self) -> String {
        let repository = match self.reference.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo,
            _ => self.reference.as_str(),
        };
        format!("{repository}@{}", self.digest)
    }
}

/// Builds a busybox image and pushes it to `registry` as `repository_tag`
/// (e.g. `base:1`). `variant` is written to `/etc/variant` in the image, so
/// two different variants give two different digests, and the same variant
/// always gives the same digest.
pub fn push_base_image(
    registry: &Registry,
    repository_tag: &str,
    variant: &str,
) -> Result<PushedImage, BaseImageError> {
    push_base_image_as(registry, repository_tag, variant, None)
}

/// [`push_base_image`] to a registry that needs `(user, password)`.
pub fn push_base_image_as(
    registry: &Registry,
    repository_tag: &str,
    variant: &str,
    credentials: Option<(&str, &str)>,
) -> Result<PushedImage, BaseImageError> {
    push(registry, repository_tag, variant, credentials, 0)
}

/// [`push_base_image`] with `/opt/payload`: `megabytes` of incompressible
/// bytes (derived from `variant`), for a base image of a realistic size.
pub fn push_large_base_image(
    registry: &Registry,
    repository_tag: &str,
    variant: &str,
    megabytes: u64,
) -> Result<PushedImage, BaseImageError> {
    push(registry, repository_tag, variant, None, megabytes)
}

fn push(
    registry: &Registry,
    repository_tag: &str,
    variant: &str,
    credentials: Option<(&str, &str)>,
    megabytes: u64,
) -> Result<PushedImage, BaseImageError> {
    let buildah =
        find_program("buildah", &["/usr/bin/buildah"]).ok_or_else(|| BaseImageError::Missing {
            program: "buildah".into(),
            hint: "apt-get install buildah".into(),
        })?;
    let busybox = ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| BaseImageError::Missing {
            program: "busybox".into(),
            hint: "apt-get install busybox-static".into(),
        })?;
    let io = |what: &str| {
        let what = what.to_string();
        move |source| BaseImageError::Io { what, source }
    };
    let work = tempfile::Builder::new()
        .prefix("base-image-")
        .tempdir()
        .map_err(io("a work directory"))?;
    let rootfs = work.path().join("rootfs");
    write_rootfs(&rootfs, &busybox, variant).map_err(io("the base image's root filesystem"))?;
    if megabytes > 0 {
        write_payload(&rootfs.join("opt"), variant, megabytes).map_err(io("the payload"))?;
    }

    let storage = Storage {
        buildah,
        root: work.path().join("root"),
        runroot: work.path().join("run"),
    };
    let local = "localhost/imagedeploy-test-base:latest";
    let container = storage.run(&["from", "scratch"])?;
    let rootfs_arg = rootfs.to_string_lossy().into_owned();
    storage.run(&["copy", &container, &rootfs_arg, "/"])?;
    storage.run(&[
        "config",
        "--cmd",
        "/bin/sh",
        "--env",
        "PATH=/bin",
        "--os",
        "linux",
        &container,
    ])?;
    storage.run(&["commit", "--timestamp", "0", &container, local])?;
    let reference = format!("{}/{repository_tag}", registry.address());
    let digest_file = work.path().join("digest");
    let digest_arg = digest_file.to_string_lossy().into_owned();
    let creds = credentials.map(|(user, password)| format!("{user}:{password}"));
    let mut push = vec!["push", "--tls-verify=false", "--digestfile", &digest_arg];
    if let Some(creds) = &creds {
        push.extend(["--creds", creds.as_str()]);
    }
    let destination = format!("docker://{reference}");
    push.extend([local, destination.as_str()]);
    storage.run(&push)?;
    let digest = std::fs::read_to_string(&digest_file)
        .map(|d| d.trim().to_string())
        .ok()
        .filter(|d| d.starts_with("sha256:"))
        .ok_or_else(|| BaseImageError::NoDigest {
            reference: reference.clone(),
        })?;
    Ok(PushedImage { reference, digest })
}

pub(crate) fn write_rootfs(rootfs: &Path, busybox: &Path, variant: &str) -> std::io::Result<()> {
    let bin = rootfs.join("bin");
    std::fs::create_dir_all(&bin)?;
    std::fs::copy(busybox, bin.join("busybox"))?;
    for applet in APPLETS {
        std::os::unix::fs::symlink("busybox", bin.join(applet))?;
    }
    let etc = rootfs.join("etc");
    std::fs::create_dir_all(&etc)?;
    std::fs::write(etc.join("variant"), format!("{variant}\n"))?;
    std::fs::create_dir_all(rootfs.join("tmp"))?;
    Ok(())
}

/// `<dir>/payload`: pseudo-random bytes (xorshift seeded by `variant`), so
/// gzip cannot shrink them and each variant differs.
fn write_payload(dir: &Path, variant: &str, megabytes: u64) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("payload"))?);
    let mut state = variant.bytes().fold(0x9E37_79B9_7F4A_7C15_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3)
    }) | 1;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..megabytes {
        for chunk in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes());
        }
        out.write_all(&block)?;
    }
    out.flush()
}

/// A private buildah store (vfs driver: works without overlay support).
pub(crate) struct Storage {
    pub(crate) buildah: PathBuf,
    pub(crate) root: PathBuf,
    pub(crate) runroot: PathBuf,
}

impl Storage {
    pub(crate) fn run(&self, args: &[&str]) -> Result<String, BaseImageError> {
        let output = Command::new(&self.buildah)
            .arg("--storage-driver")
            .arg("vfs")
            .arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|source| BaseImageError::Io {
                what: "run buildah".into(),
                source,
            })?;
        if !output.status.success() {
            let shown: Vec<&str> = args
                .iter()
                .enumerate()
                .map(|(i, a)| {
                    if i > 0 && args[i - 1] == "--creds" {
                        "***"
                    } else {
                        a
                    }
                })
                .collect();
            return Err(BaseImageError::Buildah {
                args: shown.join(" "),
                output: format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                )
                .trim()
                .to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
    }
}

impl Drop for Storage {
    /// vfs layers can be read-only for the current user; make sure the
    /// temporary store can be removed.
    fn drop(&mut self) {
        let _ = Command::new(&self.buildah)
            .arg("--storage-driver")
            .arg("vfs")
            .arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot)
            .args(["rm", "--all"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
