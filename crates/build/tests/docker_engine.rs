//! Docker engine builds (BuildKit), against a dockerd started for the test
//! with the network-safe flags. Skipped, with the reason printed, where
//! dockerd cannot start.

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::{context, registry_client, BaseImage};
use imagedeploy_build::{
    build, BuildError, BuildRequest, Builder, BuilderKind, CancellationToken, PullPolicy,
};
use imagedeploy_registry::{content_digest, Reference};
use imagedeploy_testsupport::log_capture::Lines;
use imagedeploy_testsupport::DockerEngine;
use tracing::instrument::WithSubscriber;

#[tokio::test(flavor = "multi_thread")]
async fn docker_engine_builds_export_push_and_keep_content_identity() {
    let base = BaseImage::create().await;
    let Some(engine) = DockerEngine::start_or_skip(
        "docker_engine_builds_export_push_and_keep_content_identity",
        &base.registry.address(),
    ) else {
        return;
    };
    let dockerfile = format!(
        "FROM {}\nARG GREETING=hello\nCOPY app.txt /app/app.txt\nRUN --mount=type=secret,id=tok test -s /run/secrets/tok && echo \"$GREETING\" > /app/greeting\nCMD [\"/bin/cat\", \"/app/greeting\"]\n",
        base.reference
    );
    let dir = context(&[("Dockerfile", &dockerfile), ("app.txt", "v1\n")]);
    let request = |no_cache: bool| {
        let mut request = BuildRequest::new(dir.path());
        request.builder = Builder::Docker {
            host: Some(engine.host.clone()),
        };
        request.base_image_overrides = base.overrides();
        request.secrets = BTreeMap::from([("tok".to_string(), "docker-secret-value".to_string())]);
        request.no_cache = no_cache;
        request
    };
    let lines = Lines::default();
    let started = Instant::now();
    let first = build(&request(true), CancellationToken::new())
        .with_subscriber(lines.subscriber())
        .await
        .unwrap_or_else(|e| panic!("docker build: {e}"));
    eprintln!("docker build (no cache) took {:?}", started.elapsed());
    assert_eq!(first.builder, BuilderKind::DockerBuildKit);
    assert_eq!(first.platform, "linux/amd64");
    assert!(
        lines.all().iter().any(|l| l.contains("[2/3] COPY")),
        "{:?}",
        lines.all()
    );
    assert!(!lines
        .all()
        .iter()
        .any(|l| l.contains("docker-secret-value")));

    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = build(&request(true), CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("second docker build: {e}"));
    let first_content = content_digest(first.layout_dir()).expect("content");
    let second_content = content_digest(second.layout_dir()).expect("content");
    eprintln!(
        "docker manifests: {} / {} (reproducible: {})",
        first.manifest_digest,
        second.manifest_digest,
        first.manifest_digest == second.manifest_digest
    );
    assert_eq!(first_content.content_digest, second_content.content_digest);

    let tag =
        Reference::parse(&format!("{}/docker-built:v1", base.registry.address())).expect("tag");
    let pushed = registry_client()
        .push_layout(first.layout_dir(), &[tag])
        .await
        .expect("push");
    assert_eq!(pushed.digest, first.manifest_digest);

    std::fs::write(dir.path().join("app.txt"), "v2\n").expect("edit");
    let changed = build(&request(false), CancellationToken::new())
        .await
        .unwrap_or_else(|e| panic!("changed docker build: {e}"));
    assert_ne!(
        content_digest(changed.layout_dir())
            .expect("content")
            .content_digest,
        first_content.content_digest
    );

    let failing = format!(
        "FROM {}\nRUN echo ok\nRUN echo about to fail && false\n",
        base.reference
    );
    let bad = context(&[("Dockerfile", &failing)]);
    let mut request = BuildRequest::new(bad.path());
    request.builder = Builder::Docker {
        host: Some(engine.host.clone()),
    };
    request.base_image_overrides = base.overrides();
    let error = build(&request, CancellationToken::new())
        .await
        .expect_err("must fail");
    match &error {
        BuildError::Failed(failure) => {
            let step = &failure.step;
            assert_eq!(step.as_ref().and_then(|s| s.line), Some(3), "{error}")
        }
        other => panic!("expected a build failure, got {other}"),
    }
}

/// A secret build arg reaches BuildKit through the docker client's
/// environment (`--build-arg NAME` without a value): the RUN step sees the
/// value, its output shows it masked, and the progress never shows it.
#[tokio::test(flavor = "multi_thread")]
async fn docker_reads_a_secret_build_arg_from_the_environment() {
    const VALUE: &str = "docker-arg-s3cr3t";
    let base = BaseImage::create().await;
    let Some(engine) = DockerEngine::start_or_skip(
        "docker_reads_a_secret_build_arg_from_the_environment",
        &base.registry.address(),
    ) else {
        return;
    };
    let dockerfile = format!(
        "FROM {}\nARG TOKEN\nRUN test \"$TOKEN\" = \"{VALUE}\" && echo \"token=$TOKEN\"\n",
        base.reference
    );
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let mut request = BuildRequest::new(dir.path());
    request.builder = Builder::Docker {
        host: Some(engine.host.clone()),
    };
    request.base_image_overrides = base.overrides();
    request.build_args = BTreeMap::from([("TOKEN".to_string(), VALUE.to_string())]);
    request.secret_build_args.insert("TOKEN".into());
    request.no_cache = true;
    let lines = Lines::default();
    build(&request, CancellationToken::new())
        .with_subscriber(lines.subscriber())
        .await
        .unwrap_or_else(|e| panic!("the RUN step sees the value from the environment: {e}"));
    let all = lines.all();
    assert!(!all.iter().any(|l| l.contains("s3cr3t")), "{all:?}");
    assert!(all.iter().any(|l| l.contains("token=[secret]")), "{all:?}");
}

/// The Docker engine with digest-pinned FROM lines: once BuildKit has the
/// base image, a rebuild (`missing`, the default) needs no registry at all;
/// `never` is refused before anything runs. (`always` passes `--pull`, but
/// BuildKit does not fetch a pinned digest it already holds.)
#[tokio::test(flavor = "multi_thread")]
async fn docker_engine_takes_a_stored_base_image_without_the_registry() {
    let base = BaseImage::create().await;
    let Some(engine) = DockerEngine::start_or_skip(
        "docker_engine_takes_a_stored_base_image_without_the_registry",
        &base.registry.address(),
    ) else {
        return;
    };
    let dockerfile = format!("FROM {}\nCOPY app.txt /app.txt\n", base.reference);
    let dir = context(&[("Dockerfile", &dockerfile), ("app.txt", "v1\n")]);
    let request = |pull: PullPolicy| {
        let mut request = BuildRequest::new(dir.path());
        request.builder = Builder::Docker {
            host: Some(engine.host.clone()),
        };
        request.base_image_overrides = base.overrides();
        request.pull = pull;
        request
    };
    // Every build here logs into a capture, as in the test above: an event
    // first seen without any subscriber would be switched off for both.
    let lines = Lines::default();
    let first = build(&request(PullPolicy::Missing), CancellationToken::new())
        .with_subscriber(lines.subscriber())
        .await
        .unwrap_or_else(|e| panic!("first docker build: {e}"));
    // A fresh engine: BuildKit downloads the base, and its output says so.
    assert_eq!(first.base_images.len(), 1, "{:?}", first.base_images);
    assert_eq!(first.base_images[0].reference, base.pinned);
    assert!(first.base_images[0].pulled);
    assert!(
        first.base_images[0].bytes > 100_000,
        "{:?}",
        first.base_images
    );

    base.registry.stop();
    std::fs::write(dir.path().join("app.txt"), "v2\n").expect("edit");
    let second = build(&request(PullPolicy::Missing), CancellationToken::new())
        .with_subscriber(lines.subscriber())
        .await
        .unwrap_or_else(|e| panic!("missing: the stored base needs no registry: {e}"));
    assert!(
        second.base_images.iter().all(|u| !u.pulled && u.bytes == 0),
        "{:?}",
        second.base_images
    );
    let never = build(&request(PullPolicy::Never), CancellationToken::new())
        .with_subscriber(lines.subscriber())
        .await;
    assert!(matches!(never, Err(BuildError::PullNever)), "{never:?}");
}
