//! Credentials that expire mid-push (ECR tokens): a registry that starts
//! rejecting a token it accepted makes the client renew the credentials once
//! and send the rejected request again. The registry is real (htpasswd); the
//! expiry is played by `ExpiringTokenProxy` in front of it, a stand-in named
//! as such because no registry available here expires its tokens on demand.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{make_layout, TestFile};
use imagedeploy_registry::{
    ClientOptions, CredentialRefresher, Credentials, DockerConfig, Reference, RegistryClient,
    RegistryError, RetryPolicy,
};
use imagedeploy_testsupport::{ExpiringTokenProxy, Registry};

const USER: &str = "AWS";
const REAL_PASSWORD: &str = "the-registry-password";

fn options() -> ClientOptions {
    ClientOptions {
        docker_config: DockerConfig::Disabled,
        retry: RetryPolicy {
            max_attempts: 3,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
        },
        ..ClientOptions::default()
    }
}

/// The token of generation `n` (the first is `token-1`).
fn token(n: usize) -> String {
    format!("token-{n}")
}

async fn proxy(registry: &Registry) -> ExpiringTokenProxy {
    // Two requests succeed with the first token (the push has started), then it expires.
    ExpiringTokenProxy::start(
        &registry.address(),
        USER,
        REAL_PASSWORD,
        &token(1),
        &token(2),
        2,
    )
    .await
}

fn layout(dir: &std::path::Path) {
    make_layout(
        dir,
        &[TestFile {
            path: "app/run",
            content: b"#!/bin/sh\necho renewed\n",
            mode: 0o755,
        }],
        &["PATH=/bin"],
        1_700_000_000,
        "2024-01-01T00:00:00Z",
    );
}

/// A refresher handing out `token-2`, `token-3`, ... and counting its calls.
fn refresher(calls: Arc<AtomicUsize>) -> CredentialRefresher {
    Arc::new(move || {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 2;
        Box::pin(async move { Ok(Credentials::basic(USER, token(n))) })
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_that_expires_mid_push_is_renewed_and_the_push_completes() {
    let registry = Registry::start_with_auth(USER, REAL_PASSWORD)
        .unwrap_or_else(|e| panic!("the registry is needed for this test: {e}"));
    let proxy = proxy(&registry).await;
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let tag = Reference::parse(&format!("{}/app:v1", proxy.address)).expect("reference");

    let calls = Arc::new(AtomicUsize::new(0));
    let mut client = RegistryClient::new(options()).expect("client");
    client.set_expiring_credentials(
        &proxy.address,
        Credentials::basic(USER, token(1)),
        refresher(calls.clone()),
    );
    let report = client
        .push_layout(dir.path(), std::slice::from_ref(&tag))
        .await
        .expect("the push completes after renewing the token");

    assert!(
        proxy.rejected.load(Ordering::SeqCst) >= 1,
        "the token really expired mid-push"
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "concurrent requests that met the expired token renew it once"
    );
    // The image is in the registry, read with its real password, not through the proxy.
    let direct = RegistryClient::new(options())
        .expect("client")
        .with_credentials(&registry.address(), Credentials::basic(USER, REAL_PASSWORD));
    let stored = Reference::parse(&format!("{}/app:v1", registry.address())).expect("reference");
    assert_eq!(
        direct.resolve(&stored).await.expect("resolve"),
        Some(report.digest)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_refresher_the_expired_token_is_an_auth_failure() {
    let registry = Registry::start_with_auth(USER, REAL_PASSWORD)
        .unwrap_or_else(|e| panic!("the registry is needed for this test: {e}"));
    let proxy = proxy(&registry).await;
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let tag = Reference::parse(&format!("{}/app:v1", proxy.address)).expect("reference");

    let client = RegistryClient::new(options())
        .expect("client")
        .with_credentials(&proxy.address, Credentials::basic(USER, token(1)));
    let error = client
        .push_layout(dir.path(), std::slice::from_ref(&tag))
        .await
        .expect_err("an expired token cannot push");
    assert!(matches!(error, RegistryError::AuthFailed { .. }), "{error}");
    assert!(!error.to_string().contains("token-1"), "no secret: {error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_renewal_names_the_registry_and_why() {
    let registry = Registry::start_with_auth(USER, REAL_PASSWORD)
        .unwrap_or_else(|e| panic!("the registry is needed for this test: {e}"));
    let proxy = proxy(&registry).await;
    let dir = tempfile::tempdir().expect("tempdir");
    layout(dir.path());
    let tag = Reference::parse(&format!("{}/app:v1", proxy.address)).expect("reference");

    let mut client = RegistryClient::new(options()).expect("client");
    client.set_expiring_credentials(
        &proxy.address,
        Credentials::basic(USER, token(1)),
        Arc::new(|| Box::pin(async { Err("GetAuthorizationToken: access denied".to_string()) })),
    );
    let error = client
        .push_layout(dir.path(), std::slice::from_ref(&tag))
        .await
        .expect_err("no fresh token, no push");
    let text = error.to_string();
    assert!(text.contains(&proxy.address), "{text}");
    assert!(text.contains("renewing them failed"), "{text}");
    assert!(text.contains("access denied"), "{text}");
}
