//! Test helpers: a busybox base image made without any network, contexts
//! in fresh directories, and a Docker engine started with safe network flags.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use imagedeploy_registry::{ClientOptions, DockerConfig, Reference, RegistryClient};
use imagedeploy_testsupport::Registry;

/// Runs a command, panicking with its output if it fails.
pub fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} is needed for this test: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn busybox() -> PathBuf {
    ["/bin/busybox", "/usr/bin/busybox"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .expect("busybox-static is needed for the test base image (apt-get install busybox-static)")
}

/// A registry holding `base:1`, a busybox-static image committed with
/// buildah from scratch with `--timestamp 0`.
pub struct BaseImage {
    pub registry: Registry,
    /// `127.0.0.1:PORT/base:1`
    pub reference: String,
    /// `127.0.0.1:PORT/base@sha256:...`
    pub pinned: String,
}

impl BaseImage {
    pub async fn create() -> Self {
        let registry = Registry::start()
            .unwrap_or_else(|e| panic!("the registry is needed for this test: {e}"));
        let storage = tempfile::tempdir().expect("tempdir");
        let rootfs = tempfile::tempdir().expect("tempdir");
        let bin = rootfs.path().join("bin");
        std::fs::create_dir_all(&bin).expect("rootfs bin");
        std::fs::copy(busybox(), bin.join("busybox")).expect("copy busybox");
        for applet in [
            "sh", "cat", "echo", "ls", "mkdir", "sleep", "test", "true", "false", "date", "chmod",
        ] {
            std::os::unix::fs::symlink("busybox", bin.join(applet)).expect("applet link");
        }
        let root = storage.path().join("root");
        let runroot = storage.path().join("run");
        let global = |args: &[&str]| -> String {
            let mut all: Vec<&str> = vec![
                "--storage-driver",
                "vfs",
                "--root",
                root.to_str().expect("utf-8 path"),
                "--runroot",
                runroot.to_str().expect("utf-8 path"),
            ];
            all.extend_from_slice(args);
            run("buildah", &all)
        };
        let container = global(&["from", "scratch"]);
        global(&[
            "copy",
            &container,
            rootfs.path().to_str().expect("utf-8 path"),
            "/",
        ]);
        global(&[
            "config",
            "--cmd",
            "/bin/sh",
            "--env",
            "PATH=/bin",
            &container,
        ]);
        global(&[
            "commit",
            "--timestamp",
            "0",
            &container,
            "localhost/test-base:1",
        ]);
        let reference = format!("{}/base:1", registry.address());
        global(&[
            "push",
            "--tls-verify=false",
            "localhost/test-base:1",
            &format!("docker://{reference}"),
        ]);
        let client = registry_client();
        let parsed = Reference::parse(&reference).expect("reference");
        let digest = client
            .resolve(&parsed)
            .await
            .expect("resolve base")
            .expect("base image pushed");
        let pinned = parsed.with_digest(&digest).to_string();
        Self {
            registry,
            reference,
            pinned,
        }
    }

    /// Overrides that pin `reference` to its digest, as the provider does.
    pub fn overrides(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(self.reference.clone(), self.pinned.clone())])
    }
}

pub fn registry_client() -> RegistryClient {
    RegistryClient::new(ClientOptions {
        docker_config: DockerConfig::Disabled,
        ..ClientOptions::default()
    })
    .expect("registry client")
}

/// Writes `files` (path, content) into a fresh directory.
pub fn context(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let full = dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("context dirs");
        }
        std::fs::write(full, content).expect("context file");
    }
    dir
}
