//! buildah builds against a real registry holding a base image made here.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{context, registry_client, run, BaseImage};
use imagedeploy_build::{
    build, BuildError, BuildRequest, Builder, BuilderKind, CancellationToken, DockerfileSource,
};
use imagedeploy_registry::{content_digest, Reference};
use imagedeploy_testsupport::log_capture::Lines;
use tracing::instrument::WithSubscriber;

const SECRET: &str = "tok-value-9f3b2c";

fn app_dockerfile(base: &str) -> String {
    format!(
        "FROM {base}\n\
         ARG GREETING=hello\n\
         COPY app.txt /app/app.txt\n\
         RUN --mount=type=secret,id=tok test \"$(cat /run/secrets/tok)\" = \"{SECRET}\" && echo \"$GREETING\" > /app/greeting\n\
         ENV MODE=prod\n\
         CMD [\"/bin/cat\", \"/app/greeting\"]\n"
    )
}

fn app_request(base: &BaseImage, dir: &std::path::Path, storage: &std::path::Path) -> BuildRequest {
    let mut request = BuildRequest::new(dir);
    request.builder = Builder::Buildah;
    request.base_image_overrides = base.overrides();
    request.secrets = BTreeMap::from([("tok".to_string(), SECRET.to_string())]);
    request.build_args = BTreeMap::from([("GREETING".to_string(), "hi".to_string())]);
    request.buildah_storage = Some(storage.to_path_buf());
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn buildah_builds_are_reproducible_across_directories_and_caches() {
    let base = BaseImage::create().await;
    let files = |base: &BaseImage| {
        vec![
            ("Dockerfile", app_dockerfile(&base.reference)),
            ("app.txt", "v1\n".to_string()),
        ]
    };
    let owned = files(&base);
    let borrowed: Vec<(&str, &str)> = owned.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let dir_a = context(&borrowed);
    let dir_b = context(&borrowed);
    let storage_a = tempfile::tempdir().expect("tempdir");
    let storage_b = tempfile::tempdir().expect("tempdir");

    let lines = Lines::default();
    let started = Instant::now();
    let first = build(
        &app_request(&base, dir_a.path(), storage_a.path()),
        CancellationToken::new(),
    )
    .with_subscriber(lines.subscriber())
    .await
    .unwrap_or_else(|e| panic!("first build: {e}"));
    let cold = started.elapsed();
    assert_eq!(first.builder, BuilderKind::Buildah);
    assert_eq!(first.platform, "linux/amd64");
    assert!(
        lines.all().iter().any(|l| l.contains("STEP")),
        "progress must stream builder output"
    );
    assert!(
        !lines.all().iter().any(|l| l.contains(SECRET)),
        "secret value leaked into progress"
    );

    let started = Instant::now();
    let other_dir = build(
        &app_request(&base, dir_b.path(), storage_b.path()),
        CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("second build: {e}"));
    let cold_b = started.elapsed();
    let started = Instant::now();
    let warm = build(
        &app_request(&base, dir_a.path(), storage_a.path()),
        CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("cached build: {e}"));
    let warm_time = started.elapsed();
    eprintln!(
        "buildah build: cold {cold:?}, cold (other dir) {cold_b:?}, warm cache {warm_time:?}"
    );
    assert_eq!(
        first.manifest_digest, other_dir.manifest_digest,
        "same context from another directory, empty cache"
    );
    assert_eq!(
        first.manifest_digest, warm.manifest_digest,
        "same context with a warm layer cache"
    );

    // The manifest digest known after the build is the one the registry reports.
    let tag = Reference::parse(&format!("{}/app:v1", base.registry.address())).expect("tag");
    let client = registry_client();
    let started = Instant::now();
    let pushed = client
        .push_layout(first.layout_dir(), std::slice::from_ref(&tag))
        .await
        .expect("push");
    eprintln!(
        "push of the built image took {:?} ({} bytes uploaded)",
        started.elapsed(),
        pushed.bytes_uploaded
    );
    assert_eq!(pushed.digest, first.manifest_digest);
    assert_eq!(
        client.resolve(&tag).await.expect("resolve"),
        Some(first.manifest_digest.clone())
    );

    // A changed file or build arg changes both digests.
    std::fs::write(dir_b.path().join("app.txt"), "v2\n").expect("edit");
    let changed = build(
        &app_request(&base, dir_b.path(), storage_b.path()),
        CancellationToken::new(),
    )
    .await
    .unwrap_or_else(|e| panic!("changed build: {e}"));
    assert_ne!(changed.manifest_digest, first.manifest_digest);
    let content_first = content_digest(first.layout_dir()).expect("content");
    let content_changed = content_digest(changed.layout_dir()).expect("content");
    assert_ne!(content_first.content_digest, content_changed.content_digest);
    assert_eq!(content_first.layers, 3, "base + COPY + RUN");

    // Secret values are not part of the image: another value, same image.
    let mut other_secret = app_request(&base, dir_a.path(), storage_a.path());
    other_secret.secrets.insert("tok".into(), SECRET.into());
    other_secret.dockerfile = DockerfileSource::Inline(
        app_dockerfile(&base.reference).replace(&format!("= \"{SECRET}\""), "!= \"\""),
    );
    other_secret
        .secrets
        .insert("tok".into(), "a-different-secret".into());
    let with_other_secret = build(&other_secret, CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("other secret build: {e}"));
    assert_eq!(
        content_digest(with_other_secret.layout_dir())
            .expect("content")
            .content_digest,
        content_first.content_digest
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn content_digest_ignores_timestamps_but_not_files() {
    let base = BaseImage::create().await;
    let dockerfile = format!(
        "FROM {}\nCOPY app.txt /app/app.txt\nRUN echo built > /app/stamp\n",
        base.pinned
    );
    let dir = context(&[("Dockerfile", &dockerfile), ("app.txt", "one\n")]);
    let storage = tempfile::tempdir().expect("tempdir");
    let root = storage.path().join("root");
    let runroot = storage.path().join("run");
    let conf = storage.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            base.registry.address()
        ),
    )
    .expect("registries.conf");
    // buildah without --timestamp 0: real clock times in config and layers.
    let build_at_wall_clock = |name: &str| -> (std::path::PathBuf, tempfile::TempDir) {
        let out = tempfile::tempdir().expect("tempdir");
        let global = [
            "--storage-driver",
            "vfs",
            "--root",
            root.to_str().expect("utf-8"),
            "--runroot",
            runroot.to_str().expect("utf-8"),
        ];
        let status = std::process::Command::new("buildah")
            .args(global)
            .args(["bud", "--isolation", "chroot", "--no-cache", "-t", name])
            .arg(dir.path())
            .env("CONTAINERS_REGISTRIES_CONF", &conf)
            .output()
            .expect("buildah");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let mut push: Vec<&str> = global.to_vec();
        let dest = format!("oci:{}", out.path().display());
        push.extend(["push", name, &dest]);
        run("buildah", &push);
        (out.path().to_path_buf(), out)
    };
    let (first, _keep_first) = build_at_wall_clock("localhost/ts:1");
    std::thread::sleep(Duration::from_millis(1100));
    let (second, _keep_second) = build_at_wall_clock("localhost/ts:2");
    let manifest = |dir: &std::path::Path| {
        imagedeploy_registry::ImageLayout::open(dir)
            .expect("layout")
            .manifest_digest()
            .clone()
    };
    assert_ne!(
        manifest(&first),
        manifest(&second),
        "timestamps must differ between these builds"
    );
    let a = content_digest(&first).expect("content");
    let b = content_digest(&second).expect("content");
    assert_eq!(a.content_digest, b.content_digest);

    std::fs::write(dir.path().join("app.txt"), "two\n").expect("edit");
    let (third, _keep_third) = build_at_wall_clock("localhost/ts:3");
    assert_ne!(
        content_digest(&third).expect("content").content_digest,
        a.content_digest
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn failure_names_the_dockerfile_line_and_shows_output() {
    let base = BaseImage::create().await;
    let dockerfile = format!(
        "FROM {}\nRUN echo first step\n\nRUN echo about to fail && false\nRUN echo never\n",
        base.reference
    );
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let storage = tempfile::tempdir().expect("tempdir");
    let mut request = BuildRequest::new(dir.path());
    request.builder = Builder::Buildah;
    request.base_image_overrides = base.overrides();
    request.buildah_storage = Some(storage.path().to_path_buf());
    let error = build(&request, CancellationToken::new())
        .await
        .expect_err("must fail");
    let text = error.to_string();
    match &error {
        BuildError::Failed(failure) => {
            let (step, tail) = (&failure.step, &failure.tail);
            assert_eq!(step.as_ref().and_then(|s| s.line), Some(4), "{text}");
            assert!(tail.iter().any(|l| l.contains("about to fail")), "{text}");
        }
        other => panic!("expected a build failure, got {other}"),
    }
    assert!(
        text.contains("Dockerfile line 4: RUN echo about to fail && false"),
        "{text}"
    );
}

/// The tag the Dockerfile names (through an `ARG`, continued over two lines)
/// does not exist in the registry: the build can only succeed by using the
/// pinned digest the override gives for the substituted reference.
#[tokio::test(flavor = "multi_thread")]
async fn arg_substituted_from_builds_from_the_pinned_digest() {
    let base = BaseImage::create().await;
    let missing = format!("{}/not-pushed:1", base.registry.address());
    let dockerfile = "ARG BASE\nFROM \\\n  ${BASE} AS app\nRUN echo pinned > /stamp\nRUN false\n";
    let dir = context(&[("Dockerfile", dockerfile)]);
    let storage = tempfile::tempdir().expect("tempdir");
    let mut request = BuildRequest::new(dir.path());
    request.builder = Builder::Buildah;
    request.build_args = BTreeMap::from([("BASE".to_string(), missing.clone())]);
    request.base_image_overrides = BTreeMap::from([(missing, base.pinned.clone())]);
    request.buildah_storage = Some(storage.path().to_path_buf());
    let lines = Lines::default();
    let error = build(&request, CancellationToken::new())
        .with_subscriber(lines.subscriber())
        .await
        .expect_err("RUN false must fail");
    // Failing on line 5 means the base was pulled (by digest) and line
    // numbers survived the rewrite.
    match &error {
        BuildError::Failed(failure) => assert_eq!(
            failure.step.as_ref().and_then(|s| s.line),
            Some(5),
            "{error}"
        ),
        other => panic!("expected the RUN false failure, got {other}"),
    }
    assert!(
        lines.all().iter().any(|l| l.contains(&base.pinned)),
        "the builder should name the pinned base: {:?}",
        lines.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_and_cancel_stop_the_builder() {
    let base = BaseImage::create().await;
    let dockerfile = format!("FROM {}\nRUN sleep 30\n", base.reference);
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let storage = tempfile::tempdir().expect("tempdir");
    let mut request = BuildRequest::new(dir.path());
    request.builder = Builder::Buildah;
    request.base_image_overrides = base.overrides();
    request.buildah_storage = Some(storage.path().to_path_buf());
    request.timeout = Duration::from_secs(2);

    let started = Instant::now();
    let error = build(&request, CancellationToken::new())
        .await
        .expect_err("must time out");
    let elapsed = started.elapsed();
    assert!(
        matches!(error, BuildError::TimedOut { seconds: 2, .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("build timed out after 2s (buildTimeoutSeconds)"),
        "{error}"
    );
    assert!(elapsed < Duration::from_secs(12), "took {elapsed:?}");

    request.timeout = Duration::from_secs(120);
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(2)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let error = build(&request, cancel)
        .await
        .expect_err("must be cancelled");
    assert!(matches!(error, BuildError::Cancelled), "{error}");
    assert!(started.elapsed() < Duration::from_secs(12));
    // Nothing from the killed builds keeps sleeping.
    std::thread::sleep(Duration::from_millis(500));
    let sleepers = std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|cmdline| cmdline == b"sleep\x0030\x00")
        .count();
    assert_eq!(sleepers, 0, "a RUN sleep 30 survived the kill");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_inputs_are_reported_with_their_paths() {
    let missing = std::env::temp_dir().join("imagedeploy-no-such-context");
    let error = build(&BuildRequest::new(&missing), CancellationToken::new())
        .await
        .expect_err("missing context");
    assert!(
        matches!(error, BuildError::ContextMissing { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("imagedeploy-no-such-context"));

    let dir = context(&[("app.txt", "x")]);
    let error = build(&BuildRequest::new(dir.path()), CancellationToken::new())
        .await
        .expect_err("missing Dockerfile");
    assert!(
        matches!(error, BuildError::DockerfileRead { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("Dockerfile"));
}

/// Pulumi runs resource operations in parallel: two identical builds on one
/// storage end up as the same image, and one's clean-up must not pull it
/// from under the other ("layer not known").
#[tokio::test(flavor = "multi_thread")]
async fn identical_builds_at_the_same_time_on_one_storage_both_succeed() {
    let base = BaseImage::create().await;
    let dockerfile = app_dockerfile(&base.reference);
    let files = [("Dockerfile", dockerfile.as_str()), ("app.txt", "same\n")];
    let dir_a = context(&files);
    let dir_b = context(&files);
    let storage = tempfile::tempdir().expect("tempdir");
    let request_a = app_request(&base, dir_a.path(), storage.path());
    let request_b = app_request(&base, dir_b.path(), storage.path());
    for round in 0..2 {
        let (a, b) = tokio::join!(
            build(&request_a, CancellationToken::new()),
            build(&request_b, CancellationToken::new()),
        );
        let a = a.unwrap_or_else(|e| panic!("round {round}, build a: {e}"));
        let b = b.unwrap_or_else(|e| panic!("round {round}, build b: {e}"));
        assert_eq!(a.manifest_digest, b.manifest_digest, "round {round}");
    }
}
