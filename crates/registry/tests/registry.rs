//! Against a real CNCF distribution registry on loopback.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{make_layout, Fault, FaultPlan, FaultProxy, TestFile};
use imagedeploy_registry::{
    ClientOptions, Credentials, Digest, DockerConfig, Reference, RegistryClient, RegistryError,
    RetryPolicy,
};
use imagedeploy_testsupport::log_capture::Lines;
use imagedeploy_testsupport::Registry;
use tracing::instrument::WithSubscriber;

fn registry() -> Registry {
    Registry::start().unwrap_or_else(|e| panic!("the registry is needed for this test: {e}"))
}

fn options() -> ClientOptions {
    ClientOptions {
        docker_config: DockerConfig::Disabled,
        retry: RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
        },
        ..ClientOptions::default()
    }
}

fn client() -> RegistryClient {
    RegistryClient::new(options()).expect("client")
}

fn reference(s: &str) -> Reference {
    Reference::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn sample_layout(dir: &std::path::Path) -> Digest {
    make_layout(
        dir,
        &[TestFile {
            path: "app/run",
            content: b"#!/bin/sh\necho hi\n",
            mode: 0o755,
        }],
        &["PATH=/bin"],
        1_700_000_000,
        "2024-01-01T00:00:00Z",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn push_resolve_exists_and_idempotent_second_push() {
    let registry = registry();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = sample_layout(dir.path());
    let client = client();
    let tag = reference(&format!("{}/team/app:v1", registry.address()));
    let other_tag = reference(&format!("{}/team/app:stable", registry.address()));

    assert_eq!(
        client.resolve(&tag).await.expect("resolve before push"),
        None
    );

    let started = Instant::now();
    let lines = Lines::new();
    let first = client
        .push_layout(dir.path(), &[tag.clone(), other_tag.clone()])
        .with_subscriber(lines.subscriber())
        .await
        .expect("first push");
    eprintln!("first push took {:?}", started.elapsed());
    assert_eq!(first.digest, local);
    assert_eq!(
        (first.blobs_uploaded, first.blobs_skipped),
        (2, 0),
        "{:?}",
        lines.all()
    );
    assert!(first.bytes_uploaded > 0);

    assert_eq!(
        client.resolve(&tag).await.expect("resolve"),
        Some(local.clone())
    );
    assert_eq!(
        client.resolve(&other_tag).await.expect("resolve"),
        Some(local.clone())
    );
    assert!(client
        .exists(&tag.with_digest(&local))
        .await
        .expect("exists"));
    let absent = Digest::sha256_of(b"not a manifest");
    assert!(!client
        .exists(&tag.with_digest(&absent))
        .await
        .expect("exists absent"));
    let missing_repo = reference(&format!("{}/team/never-pushed:v1", registry.address()));
    assert_eq!(
        client
            .resolve(&missing_repo)
            .await
            .expect("resolve missing"),
        None
    );

    let started = Instant::now();
    let second = client
        .push_layout(dir.path(), std::slice::from_ref(&tag))
        .await
        .expect("second push");
    eprintln!("idempotent second push took {:?}", started.elapsed());
    assert_eq!(second.digest, local);
    assert_eq!(
        (
            second.blobs_uploaded,
            second.blobs_skipped,
            second.bytes_uploaded
        ),
        (0, 2, 0)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pushing_to_a_pinned_digest_that_differs_is_refused() {
    let registry = registry();
    let dir = tempfile::tempdir().expect("tempdir");
    sample_layout(dir.path());
    let wrong = Digest::sha256_of(b"x");
    let tag = reference(&format!("{}/app@{wrong}", registry.address()));
    let error = client()
        .push_layout(dir.path(), &[tag])
        .await
        .expect_err("must refuse");
    assert!(
        matches!(error, RegistryError::PinnedDigestDiffers { .. }),
        "{error}"
    );
    let error = client()
        .push_layout(dir.path(), &[])
        .await
        .expect_err("no tags");
    assert!(matches!(error, RegistryError::NoTags), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn basic_auth_explicit_and_docker_config_credentials() {
    let password = "correct-horse-battery";
    let registry = Registry::start_with_auth("alice", password)
        .unwrap_or_else(|e| panic!("the registry is needed for this test: {e}"));
    let address = registry.address();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = sample_layout(dir.path());
    let tag = reference(&format!("{address}/private/app:v1"));

    let authed = client().with_credentials(&address, Credentials::basic("alice", password));
    let report = authed
        .push_layout(dir.path(), std::slice::from_ref(&tag))
        .await
        .expect("push with credentials");
    assert_eq!(report.digest, local);
    assert_eq!(
        authed.resolve(&tag).await.expect("resolve"),
        Some(local.clone())
    );

    // Anonymous: the error names the registry and says nothing was configured.
    let error = client()
        .resolve(&tag)
        .await
        .expect_err("anonymous must fail");
    let text = error.to_string();
    assert!(matches!(error, RegistryError::AuthFailed { .. }), "{text}");
    assert!(
        text.contains(&address) && text.contains("anonymous"),
        "{text}"
    );

    // Wrong password: names the registry and the explicit source, never the password.
    let wrong =
        client().with_credentials(&address, Credentials::basic("alice", "wrong-password-123"));
    let error = wrong
        .push_layout(dir.path(), std::slice::from_ref(&tag))
        .await
        .expect_err("wrong password");
    let text = error.to_string();
    assert!(text.contains(&address), "{text}");
    assert!(
        text.contains("explicitly configured credentials for user \"alice\""),
        "{text}"
    );
    assert!(
        !text.contains("wrong-password-123")
            && !format!("{error:?}").contains("wrong-password-123"),
        "{text}"
    );

    // Docker config file: used when nothing explicit is given, and named on failure.
    let config_dir = tempfile::tempdir().expect("tempdir");
    let config_path = config_dir.path().join("config.json");
    let write_config = |user: &str, pw: &str| {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
        let text = serde_json::json!({"auths": {address.clone(): {"auth": auth}}}).to_string();
        std::fs::write(&config_path, text).expect("write docker config");
    };
    let from_file = || {
        RegistryClient::new(ClientOptions {
            docker_config: DockerConfig::File(config_path.clone()),
            ..options()
        })
        .expect("client")
    };
    write_config("alice", password);
    assert_eq!(
        from_file()
            .resolve(&tag)
            .await
            .expect("resolve via docker config"),
        Some(local)
    );
    write_config("alice", "stale-password-456");
    let error = from_file()
        .resolve(&tag)
        .await
        .expect_err("stale docker config password");
    let text = error.to_string();
    assert!(
        text.contains(&address) && text.contains(&config_path.display().to_string()),
        "{text}"
    );
    assert!(!text.contains("stale-password-456"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_injection_503_and_resets_are_retried() {
    let registry = registry();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = sample_layout(dir.path());

    for fault in [Fault::ServiceUnavailable, Fault::Reset] {
        // Every kind of request fails twice before it reaches the registry.
        let proxy = FaultProxy::start(
            &registry.address(),
            FaultPlan {
                fault,
                faults: 3,
                matching: "/v2/",
                lie_about_manifest_digest: false,
            },
        )
        .await;
        let tag = reference(&format!(
            "{}/retry/app:{}",
            proxy.address,
            if fault == Fault::Reset {
                "reset"
            } else {
                "503"
            }
        ));
        let lines = Lines::new();
        let report = client()
            .push_layout(dir.path(), std::slice::from_ref(&tag))
            .with_subscriber(lines.subscriber())
            .await
            .unwrap_or_else(|e| panic!("push through {fault:?} faults: {e}\n{:?}", lines.all()));
        assert_eq!(report.digest, local);
        assert!(proxy.faults_served.load(Ordering::SeqCst) >= 3);
        assert!(
            lines.all().iter().any(|l| l.contains("retrying")),
            "{:?}",
            lines.all()
        );
        assert_eq!(
            client().resolve(&tag).await.expect("resolve"),
            Some(local.clone())
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_injection_persistent_503_gives_up_after_bounded_attempts() {
    let registry = registry();
    let dir = tempfile::tempdir().expect("tempdir");
    sample_layout(dir.path());
    let proxy = FaultProxy::start(
        &registry.address(),
        FaultPlan {
            fault: Fault::ServiceUnavailable,
            faults: usize::MAX,
            matching: "/blobs/uploads/",
            lie_about_manifest_digest: false,
        },
    )
    .await;
    let tag = reference(&format!("{}/down/app:v1", proxy.address));
    let started = Instant::now();
    let error = client()
        .push_layout(dir.path(), &[tag])
        .await
        .expect_err("must give up");
    let text = error.to_string();
    assert!(
        matches!(error, RegistryError::RetriesExhausted { attempts: 4, .. }),
        "{text}"
    );
    assert!(
        text.contains("503") && text.contains(&proxy.address),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test(flavor = "multi_thread")]
async fn fault_injection_wrong_manifest_digest_is_detected() {
    let registry = registry();
    let dir = tempfile::tempdir().expect("tempdir");
    sample_layout(dir.path());
    let proxy = FaultProxy::start(
        &registry.address(),
        FaultPlan {
            fault: Fault::ServiceUnavailable,
            faults: 0,
            matching: "/v2/",
            lie_about_manifest_digest: true,
        },
    )
    .await;
    let tag = reference(&format!("{}/lying/app:v1", proxy.address));
    let error = client()
        .push_layout(dir.path(), &[tag])
        .await
        .expect_err("must detect");
    assert!(
        matches!(error, RegistryError::DigestMismatch { .. }),
        "{error}"
    );
}

/// `resolve_manifest` says what a reference names: an image manifest, or an
/// index with each child's digest and platform (one GET), and `None` when
/// the registry lacks it. The index is PUT by hand, the way any client
/// pushes one, over an image pushed with `push_layout`.
#[tokio::test(flavor = "multi_thread")]
async fn resolve_manifest_tells_an_image_from_an_index_and_lists_its_platforms() {
    use imagedeploy_registry::{Platform, PlatformManifest, ResolvedManifest};

    let registry = registry();
    let dir = tempfile::tempdir().expect("tempdir");
    let local = sample_layout(dir.path());
    let client = client();
    let image_tag = reference(&format!("{}/team/multi:amd64", registry.address()));
    client
        .push_layout(dir.path(), std::slice::from_ref(&image_tag))
        .await
        .expect("push");
    let manifest_size = std::fs::read(
        dir.path()
            .join("blobs")
            .join(local.algorithm())
            .join(local.hex()),
    )
    .expect("manifest blob")
    .len();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": local.as_str(),
            "size": manifest_size,
            "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"},
        }],
    })
    .to_string();
    let put = reqwest::Client::new()
        .put(format!(
            "http://{}/v2/team/multi/manifests/multi",
            registry.address()
        ))
        .header("content-type", "application/vnd.oci.image.index.v1+json")
        .body(index.clone())
        .send()
        .await
        .expect("PUT index");
    assert!(put.status().is_success(), "PUT index: {}", put.status());

    let index_tag = reference(&format!("{}/team/multi:multi", registry.address()));
    let index_digest = Digest::sha256_of(index.as_bytes());
    let arm64 = Platform {
        variant: Some("v8".into()),
        ..Platform::new("linux", "arm64")
    };
    let expected = ResolvedManifest::Index {
        digest: index_digest.clone(),
        manifests: vec![PlatformManifest {
            digest: local.clone(),
            platform: Some(arm64),
        }],
    };
    let by_tag = client.resolve_manifest(&index_tag).await.expect("index");
    assert_eq!(by_tag, Some(expected.clone()));
    let by_digest = client
        .resolve_manifest(&index_tag.with_digest(&index_digest))
        .await
        .expect("index by digest");
    assert_eq!(by_digest, Some(expected));
    assert_eq!(
        client.resolve_manifest(&image_tag).await.expect("image"),
        Some(ResolvedManifest::Image { digest: local })
    );
    let absent = index_tag.with_digest(&Digest::sha256_of(b"not a manifest"));
    assert_eq!(
        client.resolve_manifest(&absent).await.expect("absent"),
        None
    );

    // image_layers still follows the index to its child.
    let layers = client
        .image_layers(&index_tag, "linux/arm64")
        .await
        .expect("layers")
        .expect("the child exists");
    assert_eq!(layers.layers.len(), 1);
}
