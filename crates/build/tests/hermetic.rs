//! Hermetic builds: the image depends on nothing the fingerprint ignores.
//!
//! Real buildah and (where dockerd starts) a real Docker engine, against a
//! registry holding a base image made here. Random changes to everything
//! the fingerprint leaves out (modes other than +x, owners, mtimes, ignored
//! files, files no instruction reads, the checkout's path) must give the
//! same content digest, and with buildah the same manifest digest.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::BaseImage;
use imagedeploy_build::{build, BuildError, BuildRequest, Builder, BuiltImage, CancellationToken};
use imagedeploy_registry::content_digest;
use imagedeploy_testsupport::log_capture::Lines;
use imagedeploy_testsupport::DockerEngine;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tracing::instrument::WithSubscriber;

/// Multi-stage, `COPY --from`, a bind mount, a wildcard, a directory with a
/// symlink and an empty directory, an ARG with a default, `TARGETARCH`.
/// (Heredocs, `--parents` and `--exclude` need a newer buildah, or a
/// `# syntax=` frontend pulled from Docker Hub; the staged context for them
/// is checked in the fingerprint crate's `stage` tests.)
///
/// The listings drop `ls`'s date columns: the Docker engine gives the
/// directories a COPY creates the build's time, so a listing with dates
/// would change with the wall-clock minute, not with the inputs.
fn dockerfile(base: &str) -> String {
    format!(
        "FROM {base} AS build\n\
         ARG TARGETARCH\n\
         ARG FLAVOUR=plain\n\
         COPY src/ /src/\n\
         COPY bin/app-linux-$TARGETARCH /src/app\n\
         RUN --mount=type=bind,source=tools,target=/tools sh /tools/gen.sh > /gen.txt && ls -ln /src /src/lib | awk '{{print $1, $3, $4, $5, $9, $10, $11}}' > /listing.txt && echo $FLAVOUR >> /gen.txt\n\
         FROM {base}\n\
         COPY --from=build /src /app/src\n\
         COPY --from=build /gen.txt /listing.txt /app/\n\
         COPY conf/*.conf /etc/app/\n\
         RUN ls -ln /app /app/src /etc/app | awk '{{print $1, $3, $4, $5, $9, $10, $11}}' > /modes.txt\n"
    )
}

/// (path, content, executable)
const FILES: &[(&str, &str, bool)] = &[
    ("src/main.sh", "#!/bin/sh\necho main\n", true),
    ("src/lib/util.txt", "util\n", false),
    ("src/lib/data.json", "{\"a\":1}\n", false),
    ("bin/app-linux-amd64", "amd64 binary\n", true),
    ("bin/app-linux-arm64", "arm64 binary\n", true),
    ("tools/gen.sh", "echo generated\n", false),
    ("conf/a.conf", "a=1\n", false),
    ("conf/b.conf", "b=2\n", false),
    ("README.md", "not copied\n", false),
    ("docs/guide.md", "not copied\n", false),
    ("src/debug.log", "ignored\n", false),
];

const IGNORE: &str = "*.log\n**/*.log\nsecret/\n";

/// A checkout of the app at a random depth below a fresh directory.
struct Checkout {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

fn checkout(dockerfile_text: &str, depth: usize) -> Checkout {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut root = tmp.path().to_path_buf();
    for i in 0..depth {
        root = root.join(format!("level{i}"));
    }
    let write = |rel: &str, content: &str, mode: u32| {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, content).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    write("Dockerfile", dockerfile_text, 0o644);
    write(".dockerignore", IGNORE, 0o644);
    for (rel, content, exec) in FILES {
        write(rel, content, if *exec { 0o755 } else { 0o644 });
    }
    std::os::unix::fs::symlink("lib/util.txt", root.join("src/util-link")).expect("symlink");
    std::fs::create_dir_all(root.join("src/empty")).expect("empty dir");
    Checkout { _tmp: tmp, root }
}

/// Everything the fingerprint ignores, changed at random.
#[derive(Debug, Clone)]
struct Noise {
    depth: usize,
    /// Per entry of FILES: permission bits other than +x (`0o777` masks).
    file_modes: Vec<u32>,
    dir_mode: u32,
    owners: Vec<u32>,
    mtimes: Vec<i64>,
    ignored: String,
    unread: String,
}

fn noise() -> impl Strategy<Value = Noise> {
    let n = FILES.len();
    (
        0usize..4,
        proptest::collection::vec(
            prop::sample::select(vec![0o600u32, 0o640, 0o644, 0o664, 0o666, 0o400, 0o444]),
            n,
        ),
        prop::sample::select(vec![0o700u32, 0o750, 0o755, 0o775, 0o777]),
        proptest::collection::vec(0u32..70_000, n),
        proptest::collection::vec(0i64..2_000_000_000, n),
        "[a-z]{0,20}",
        "[a-z]{0,20}",
    )
        .prop_map(
            |(depth, file_modes, dir_mode, owners, mtimes, ignored, unread)| Noise {
                depth,
                file_modes,
                dir_mode,
                owners,
                mtimes,
                ignored,
                unread,
            },
        )
}

fn apply(root: &Path, noise: &Noise) {
    let am_root = std::fs::metadata(root).map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    for (i, (rel, _, exec)) in FILES.iter().enumerate() {
        let path = root.join(rel);
        // Keep the executable bit as it is: that one the fingerprint sees.
        let mode = if *exec {
            noise.file_modes[i] | 0o100
        } else {
            noise.file_modes[i] & !0o111
        };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        if am_root.as_ref().is_ok_and(|r| *r) {
            std::os::unix::fs::chown(&path, Some(noise.owners[i]), Some(noise.owners[i] / 2))
                .expect("chown");
        }
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(noise.mtimes[i] as u64);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(t))
            .expect("mtime");
    }
    for dir in ["src", "src/lib", "conf", "tools", "bin", "src/empty"] {
        std::fs::set_permissions(
            root.join(dir),
            std::fs::Permissions::from_mode(noise.dir_mode),
        )
        .expect("chmod dir");
    }
    std::fs::write(root.join("src/debug.log"), &noise.ignored).expect("ignored file");
    std::fs::create_dir_all(root.join("secret")).expect("secret dir");
    std::fs::write(root.join("secret/token"), &noise.ignored).expect("ignored dir");
    std::fs::write(root.join("README.md"), &noise.unread).expect("unread file");
    std::fs::write(root.join("docs/new.md"), &noise.unread).expect("unread file");
}

fn buildah_request(base: &BaseImage, root: &Path, storage: &Path) -> BuildRequest {
    let mut request = BuildRequest::new(root);
    request.builder = Builder::Buildah;
    request.base_image_overrides = base.overrides();
    request.buildah_storage = Some(storage.to_path_buf());
    request.no_cache = true;
    request
}

async fn run(request: &BuildRequest) -> BuiltImage {
    build(request, CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("build: {e}"))
}

fn content(image: &BuiltImage) -> String {
    content_digest(image.layout_dir())
        .expect("content digest")
        .content_digest
        .to_string()
}

/// Extracts one file from the image's newest layer that has it.
fn file_in_image(image: &BuiltImage, wanted: &str) -> String {
    let layout = image.layout_dir();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index"))
            .expect("index json");
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let manifest_digest = index["manifests"][0]["digest"].as_str().expect("manifest");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(manifest_digest)).expect("manifest"))
            .expect("manifest json");
    for layer in manifest["layers"].as_array().expect("layers").iter().rev() {
        let path = blob(layer["digest"].as_str().expect("layer digest"));
        let bytes = std::fs::read(&path).expect("layer");
        let reader: Box<dyn std::io::Read> = if bytes.starts_with(&[0x1f, 0x8b]) {
            Box::new(flate2::read::GzDecoder::new(&bytes[..]))
        } else {
            Box::new(&bytes[..])
        };
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().expect("entries") {
            let mut entry = entry.expect("entry");
            let name = entry.path().expect("path").to_string_lossy().into_owned();
            if name.trim_start_matches("./") == wanted.trim_start_matches('/') {
                let mut out = String::new();
                std::io::Read::read_to_string(&mut entry, &mut out).expect("read");
                return out;
            }
        }
    }
    panic!("{wanted} is not in the image");
}

#[tokio::test(flavor = "multi_thread")]
async fn buildah_digest_is_a_function_of_the_fingerprint_inputs_alone() {
    let base = BaseImage::create().await;
    let storage = tempfile::tempdir().expect("storage");
    let text = dockerfile(&base.reference);
    let reference = checkout(&text, 0);
    let first = run(&buildah_request(&base, &reference.root, storage.path())).await;
    let first_content = content(&first);
    let modes = file_in_image(&first, "/modes.txt");
    assert!(
        modes.contains("-rwxr-xr-x") && modes.contains("-rw-r--r--"),
        "{modes}"
    );
    assert!(
        file_in_image(&first, "/app/gen.txt").contains("generated"),
        "the bind mount and the default ARG reached the build"
    );

    let runtime = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 4,
        failure_persistence: None,
        ..Config::default()
    });
    let result = tokio::task::block_in_place(|| {
        runner
            .run(&noise(), |noise| {
                let changed = checkout(&text, noise.depth);
                apply(&changed.root, &noise);
                let image =
                    runtime.block_on(run(&buildah_request(&base, &changed.root, storage.path())));
                prop_assert_eq!(content(&image), first_content.clone());
                prop_assert_eq!(&image.manifest_digest, &first.manifest_digest);
                Ok(())
            })
            .map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chmod_600_then_a_rebuild_keeps_the_modes() {
    let base = BaseImage::create().await;
    let storage = tempfile::tempdir().expect("storage");
    let text = dockerfile(&base.reference);
    let app = checkout(&text, 0);
    let before = run(&buildah_request(&base, &app.root, storage.path())).await;
    std::fs::set_permissions(
        app.root.join("src/lib/util.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    std::fs::set_permissions(
        app.root.join("src/main.sh"),
        std::fs::Permissions::from_mode(0o700),
    )
    .expect("chmod");
    // A rebuild for an unrelated reason (an edit nobody copies).
    std::fs::write(app.root.join("README.md"), "edited\n").expect("edit");
    let after = run(&buildah_request(&base, &app.root, storage.path())).await;
    assert_eq!(
        file_in_image(&before, "/modes.txt"),
        file_in_image(&after, "/modes.txt")
    );
    assert_eq!(content(&before), content(&after));
    assert_eq!(before.manifest_digest, after.manifest_digest);
}

#[tokio::test(flavor = "multi_thread")]
async fn target_arch_without_platforms_builds_the_native_binary() {
    let base = BaseImage::create().await;
    let storage = tempfile::tempdir().expect("storage");
    let text = dockerfile(&base.reference);
    let app = checkout(&text, 0);
    let image = run(&buildah_request(&base, &app.root, storage.path())).await;
    let native = imagedeploy_fingerprint::dockerfile::host_platform();
    let arch = native.split('/').nth(1).expect("arch");
    let modes = file_in_image(&image, "/modes.txt");
    assert!(modes.contains("app"), "{modes}");
    let binary = std::fs::read_to_string(app.root.join(format!("bin/app-linux-{arch}")))
        .expect("native binary in the checkout");
    // The copied binary is the native one: the file listed as /app/src/app
    // has its size.
    assert!(
        modes.contains(&format!(" {} ", binary.len())),
        "{modes} should list a {}-byte app",
        binary.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_modified_between_fingerprint_and_build_is_detected() {
    let base = BaseImage::create().await;
    let storage = tempfile::tempdir().expect("storage");
    let text = dockerfile(&base.reference);
    let app = checkout(&text, 0);
    let request = buildah_request(&base, &app.root, storage.path());
    let fp_request =
        request.fingerprint_request(&imagedeploy_fingerprint::dockerfile::host_platform());
    let fingerprint = imagedeploy_fingerprint::fingerprint(&fp_request).expect("fingerprint");
    // An editor saves (or a generator rewrites) a copied file in between.
    std::fs::write(app.root.join("src/lib/util.txt"), "saved later\n").expect("edit");
    let mut request = request;
    request.fingerprint = Some(Arc::new(fingerprint));
    let lines = Lines::default();
    let error = build(&request, CancellationToken::new())
        .with_subscriber(lines.subscriber())
        .await
        .expect_err("a changed file must not be built");
    assert!(matches!(error, BuildError::Stage(_)), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("src/lib/util.txt changed after it was fingerprinted"),
        "{message}"
    );
    assert!(
        !lines.all().iter().any(|l| l.contains("STEP")),
        "the builder must not have started"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn docker_engine_content_is_a_function_of_the_fingerprint_inputs_alone() {
    let base = BaseImage::create().await;
    let Some(engine) = DockerEngine::start_or_skip(
        "docker_engine_content_is_a_function_of_the_fingerprint_inputs_alone",
        &base.registry.address(),
    ) else {
        return;
    };
    let text = dockerfile(&base.reference);
    let request = |root: &Path| {
        let mut request = BuildRequest::new(root);
        request.builder = Builder::Docker {
            host: Some(engine.host.clone()),
        };
        request.base_image_overrides = base.overrides();
        request.no_cache = true;
        request
    };
    let reference = checkout(&text, 0);
    let first = run(&request(&reference.root)).await;
    let first_content = content(&first);
    let modes = file_in_image(&first, "/modes.txt");
    assert!(modes.contains("util-link -> lib/util.txt"), "{modes}");

    let runtime = tokio::runtime::Handle::current();
    let mut runner = TestRunner::new(Config {
        cases: 2,
        failure_persistence: None,
        ..Config::default()
    });
    let result = tokio::task::block_in_place(|| {
        runner
            .run(&noise(), |noise| {
                let changed = checkout(&text, noise.depth);
                apply(&changed.root, &noise);
                let image = runtime.block_on(run(&request(&changed.root)));
                prop_assert_eq!(content(&image), first_content.clone());
                Ok(())
            })
            .map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
