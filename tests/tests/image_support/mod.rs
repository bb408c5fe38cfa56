//! Shared set-up for the Image end-to-end tests: a real registry holding a
//! busybox base image made on the spot, build contexts in a temporary
//! directory, a stack driven through the engine-faithful harness, and a way
//! to see whether the registry was written to.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::SystemTime;

use imagedeploy_tests::{Deployment, LogEntry, Report, Resource, Severity};
use imagedeploy_testsupport::{push_base_image, PushedImage, Registry};
use serde_json::{json, Value as Json};

pub const IMAGE: &str = "imagedeploy:index:Image";

/// One test's world: registry + base image + stack + scratch directory.
pub struct World {
    pub registry: Registry,
    pub base: PushedImage,
    pub dir: tempfile::TempDir,
    pub stack: Deployment,
}

impl World {
    /// Starts a registry, pushes `base:1` to it and prepares an empty stack.
    /// The provider gets its own cache directory and an empty Docker config,
    /// so nothing from this machine's user leaks in.
    pub fn start() -> Self {
        Self::start_with_registry(
            Registry::start().unwrap_or_else(|e| panic!("the OCI registry is needed: {e}")),
        )
    }

    pub fn start_with_registry(registry: Registry) -> Self {
        let base_registry = &registry;
        let base = push_base_image(base_registry, "base:1", "one")
            .unwrap_or_else(|e| panic!("cannot make the test base image: {e}"));
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["cache", "docker-config", "contexts"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("scratch dirs");
        }
        let stack = deployment(dir.path());
        World {
            registry,
            base,
            dir,
            stack,
        }
    }

    /// A second stack sharing this world's registry but with its own state and cache.
    pub fn another_stack(&self, name: &str) -> Deployment {
        let root = self.dir.path().join(name);
        for sub in ["cache", "docker-config"] {
            std::fs::create_dir_all(root.join(sub)).expect("scratch dirs");
        }
        deployment(&root)
    }

    /// Writes `files` into `contexts/<name>` (replacing what is there) and returns its path.
    pub fn context(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.dir.path().join("contexts").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        write_files(&dir, files);
        dir
    }

    /// `127.0.0.1:PORT/<repo>:latest`
    pub fn tag(&self, repository: &str) -> String {
        format!("{}/{repository}:latest", self.registry.address())
    }

    /// An Image named `name` building `context` with buildah, pushed to
    /// `<registry>/<name>:latest`; `extra` inputs are merged on top.
    pub fn image(&self, name: &str, context: &Path, extra: Json) -> Resource {
        let mut inputs = json!({
            "context": { "location": context.to_string_lossy() },
            "tags": [self.tag(name)],
            "builder": { "kind": "buildah" },
        });
        merge(&mut inputs, extra);
        Resource::new(IMAGE, name, inputs)
    }

    /// Every file the registry has stored, with size and modification time.
    pub fn registry_files(&self) -> RegistryFiles {
        RegistryFiles::scan(&self.registry.storage_dir())
    }

    /// `FROM` line for the base image.
    pub fn base_from(&self) -> String {
        format!("FROM {}", self.base.reference)
    }
}

fn deployment(root: &Path) -> Deployment {
    // buildah refuses to run when DOCKER_CONFIG names a directory without a
    // config.json, so the empty config is an empty JSON object.
    std::fs::write(root.join("docker-config").join("config.json"), "{}").expect("docker config");
    Deployment::new()
        .expect("provider binary must be built (cargo build -p imagedeploy)")
        .with_fixture()
        .with_env("XDG_CACHE_HOME", &root.join("cache").to_string_lossy())
        .with_env(
            "DOCKER_CONFIG",
            &root.join("docker-config").to_string_lossy(),
        )
}

pub fn write_files(dir: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("context dirs");
        }
        std::fs::write(full, content).expect("context file");
    }
}

/// Merges object `extra` into `base` (top level; `null` removes a key).
pub fn merge(base: &mut Json, extra: Json) {
    if let (Some(b), Json::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            if v.is_null() {
                b.remove(&k);
            } else {
                b.insert(k, v);
            }
        }
    }
}

/// A snapshot of a registry's storage directory: path -> (size, mtime).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryFiles(pub BTreeMap<PathBuf, (u64, SystemTime)>);

impl RegistryFiles {
    pub fn scan(root: &Path) -> Self {
        let mut files = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let Ok(meta) = entry.metadata() else { continue };
                if meta.is_dir() {
                    stack.push(path);
                } else {
                    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    files.insert(path, (meta.len(), modified));
                }
            }
        }
        RegistryFiles(files)
    }

    /// Blob data files (layers, configs, manifests).
    pub fn blobs(&self) -> usize {
        self.0
            .keys()
            .filter(|p| {
                p.file_name().is_some_and(|n| n == "data")
                    && p.to_string_lossy().contains("/blobs/")
            })
            .count()
    }

    /// Manifest revisions recorded for `repository`.
    pub fn manifests(&self, repository: &str) -> usize {
        let needle = format!("/repositories/{repository}/_manifests/revisions/");
        self.0
            .keys()
            .filter(|p| p.to_string_lossy().contains(&needle))
            .count()
    }
}

/// `skopeo inspect`: the digest a reference resolves to (an independent check).
pub fn registry_digest(reference: &str) -> Option<String> {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{reference}"))
        .stdin(Stdio::null())
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    if !out.status.success() {
        return None;
    }
    use sha2::Digest as _;
    Some(format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(&out.stdout))
    ))
}

/// `skopeo delete`: removes a manifest from the registry.
pub fn delete_manifest(reference: &str) {
    let out = Command::new("skopeo")
        .args(["delete", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .stdin(Stdio::null())
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo delete {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Engine log entries about one resource.
pub fn logs_for<'a>(report: &'a Report, name: &str) -> Vec<&'a LogEntry> {
    let suffix = format!("::{name}");
    report
        .logs
        .iter()
        .filter(|l| l.urn.ends_with(&suffix))
        .collect()
}

/// Ephemeral progress lines for one resource.
pub fn progress_for(report: &Report, name: &str) -> Vec<String> {
    logs_for(report, name)
        .into_iter()
        .filter(|l| l.ephemeral)
        .map(|l| l.message.clone())
        .collect()
}

/// Non-ephemeral messages at INFO or above for one resource.
pub fn messages_for(report: &Report, name: &str) -> Vec<String> {
    logs_for(report, name)
        .into_iter()
        .filter(|l| !l.ephemeral && l.severity != Severity::Debug)
        .map(|l| l.message.clone())
        .collect()
}

/// The response JSON of the one call of `method` for `name`.
pub fn response<'a>(report: &'a Report, method: &str, name: &str) -> &'a Json {
    let calls = report.calls_for(method, name);
    assert_eq!(
        calls.len(),
        1,
        "expected one {method} for {name}, got {}",
        calls.len()
    );
    calls[0]
        .response
        .as_ref()
        .unwrap_or_else(|e| panic!("{method} for {name} failed: {e}"))
}

/// A Dockerfile whose final image holds only `/app` copied from `src/`.
pub fn simple_dockerfile(from: &str) -> String {
    format!("{from}\nCOPY src/ /app/\nCMD [\"/bin/cat\", \"/app/app.ts\"]\n")
}

/// [`registry_digest`] for a registry that needs credentials.
pub fn registry_digest_as(reference: &str, user: &str, password: &str) -> Option<String> {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw", "--creds"])
        .arg(format!("{user}:{password}"))
        .arg(format!("docker://{reference}"))
        .stdin(Stdio::null())
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    if !out.status.success() {
        return None;
    }
    use sha2::Digest as _;
    Some(format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(&out.stdout))
    ))
}

/// Standard base64 with padding (for Docker config `auth` entries).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `skopeo inspect --raw` (with `--config`: the image config): the JSON the
/// registry serves for `reference`, read by a client independent of ours.
pub fn registry_json(reference: &str, config: bool) -> Json {
    let mut command = Command::new("skopeo");
    command.args(["inspect", "--tls-verify=false", "--raw"]);
    if config {
        command.arg("--config");
    }
    let out = command
        .arg(format!("docker://{reference}"))
        .stdin(Stdio::null())
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("skopeo prints JSON")
}

/// The length of the manifest `reference` names, as the registry serves it.
pub fn registry_manifest_len(reference: &str) -> u64 {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{reference}"))
        .stdin(Stdio::null())
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    out.stdout.len() as u64
}

/// The local image id of `reference` (its config digest, without `sha256:`).
pub fn image_id(reference: &str) -> String {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo");
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("manifest");
    manifest["config"]["digest"]
        .as_str()
        .expect("config digest")
        .trim_start_matches("sha256:")
        .to_string()
}

/// buildah working containers of the image `id`.
pub fn working_containers_of(id: &str) -> std::collections::BTreeSet<String> {
    let out = std::process::Command::new("buildah")
        .args(["--storage-driver", "vfs", "containers", "--json"])
        .output()
        .expect("buildah");
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or(json!([]));
    all.as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["imageid"].as_str() == Some(id))
                .filter_map(|c| c["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The CheckFailures (property, reason) the provider answered for `name`.
pub fn check_failures(report: &Report, name: &str) -> Vec<(String, String)> {
    let check = response(report, "Check", name);
    check["failures"]
        .as_array()
        .map(|fs| {
            fs.iter()
                .map(|f| {
                    (
                        f["property"].as_str().unwrap_or_default().to_string(),
                        f["reason"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A plugin environment whose buildah keeps its images under `root`: one
/// "machine".
pub fn machine_store(stack: Deployment, root: &Path) -> Deployment {
    std::fs::create_dir_all(root).unwrap();
    let conf = root.join("storage.conf");
    std::fs::write(
        &conf,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            root.join("graph").display(),
            root.join("run").display()
        ),
    )
    .unwrap();
    stack.with_env("CONTAINERS_STORAGE_CONF", &conf.to_string_lossy())
}

/// The outputs `name` has in `stack`'s state.
pub fn state_outputs(stack: &Deployment, name: &str) -> Json {
    stack
        .state()
        .unwrap()
        .by_name(name)
        .unwrap_or_else(|| panic!("{name} in state"))
        .outputs
        .clone()
}
