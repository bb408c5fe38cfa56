//! ECR end to end: an Image pushed to an ECR host name and a Service that
//! resolves its tag through ECR's DescribeImages.
//!
//! ECR is one service with two faces; here each face is a real component:
//! the registry API is `docker-registry` serving HTTPS for
//! `123456789012.dkr.ecr.us-east-1.amazonaws.com` (a certificate from a CA the
//! test makes, which the provider trusts through `SSL_CERT_FILE`, reached
//! through the provider's test-only host override since there is no DNS here)
//! with basic auth for exactly the `AWS:<password>` token moto's
//! GetAuthorizationToken hands out; the control plane (GetAuthorizationToken,
//! CreateRepository, DescribeImages) is moto. What real ECR does by itself,
//! making a pushed image visible to DescribeImages, the test does by hand:
//! it copies the pushed manifest into moto with PutImage, giving the digest
//! (moto keeps a digest it is given).
//!
//! A token that expires mid-push: moto's token never changes, so the expiry
//! is staged by `ExpiringTokenProxy` (a named stand-in) in front of a real
//! registry, behind TLS for the ECR host name, and the renewal is counted at
//! moto's GetAuthorizationToken.

mod image_support;

use std::process::Command;

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use base64::Engine as _;
use image_support::*;
use imagedeploy_tests::promise::ecs::EcsEnv;
use imagedeploy_tests::{output, Op, Program, Resource};
use imagedeploy_testsupport::{ExpiringTokenProxy, Registry, TestCa, TlsFront};
use serde_json::json;

const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
const SERVICE: &str = "imagedeploy:index:Service";

fn ecr_client(endpoint: &str) -> aws_sdk_ecr::Client {
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}

/// The `user:password` moto's GetAuthorizationToken hands out, decoded.
async fn moto_token(ecr: &aws_sdk_ecr::Client) -> (String, String) {
    let out = ecr
        .get_authorization_token()
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "GetAuthorizationToken: {}",
                aws_sdk_ecr::error::DisplayErrorContext(&e)
            )
        });
    let data = &out.authorization_data()[0];
    assert_eq!(
        data.proxy_endpoint(),
        Some(format!("https://{ECR_HOST}").as_str())
    );
    let token = data.authorization_token().expect("a token");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .expect("base64 token");
    let text = String::from_utf8(decoded).expect("text token");
    let (user, password) = text.split_once(':').expect("user:password");
    (user.to_string(), password.to_string())
}

/// The manifest at `reference` (`repo:tag` under the ECR host), read with
/// curl over TLS trusting only the test CA: a client nobody here wrote.
fn manifest_over_tls(ca: &TestCa, registry: &Registry, path: &str, auth: &str) -> Vec<u8> {
    let port = registry.port();
    let out = Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--cacert"])
        .arg(ca.ca_pem())
        .arg("--resolve")
        .arg(format!("{ECR_HOST}:{port}:127.0.0.1"))
        .args(["--user", auth, "--header"])
        .arg("Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
        .arg(format!("https://{ECR_HOST}:{port}/v2/{path}"))
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {path}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[allow(clippy::too_many_lines)] // over 150 lines: split pending (issue 10)
#[tokio::test]
async fn an_image_pushed_to_ecr_over_tls_feeds_a_service_through_describe_images() {
    let env = EcsEnv::start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let ecr = ecr_client(&env.moto.endpoint());
    let (user, password) = moto_token(&ecr).await;
    assert_eq!(user, "AWS");

    let ca = TestCa::new(&[ECR_HOST]).unwrap_or_else(|e| panic!("test CA: {e}"));
    let registry = Registry::start_tls_with_auth(&ca, &user, &password)
        .unwrap_or_else(|e| panic!("docker-registry with TLS: {e}"));

    // The repository as @pulumi/aws would create it; its repositoryUrl is the Image's tag.
    let created = ecr
        .create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateRepository: {}",
                aws_sdk_ecr::error::DisplayErrorContext(&e)
            )
        });
    let repository_url = created
        .repository()
        .and_then(|r| r.repository_uri())
        .expect("repositoryUri")
        .to_string();
    assert_eq!(repository_url, format!("{ECR_HOST}/app"));

    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let stack = w
        .another_stack("ecr")
        .with_env("AWS_ACCESS_KEY_ID", "test")
        .with_env("AWS_SECRET_ACCESS_KEY", "test")
        .with_env("AWS_EC2_METADATA_DISABLED", "true")
        .with_env("IMAGEDEPLOY_ECS_POLL_INTERVAL_MS", "100")
        .with_env("SSL_CERT_FILE", &ca.ca_pem().to_string_lossy())
        .with_env(
            "IMAGEDEPLOY_TEST_REGISTRY_RESOLVE",
            &format!("{ECR_HOST}=127.0.0.1:{}", registry.port()),
        );
    let image = w.image("app", &ctx, json!({ "tags": [repository_url.clone()] }));

    // 1. The Image alone: built, pushed over TLS with moto's token.
    let up = stack
        .up(&Program::new()
            .config(env.provider_config())
            .resource(image.clone()))
        .await
        .unwrap();
    up.assert_ok();
    let state = stack.state().unwrap();
    let outputs = &state.by_name("app").unwrap().outputs;
    let digest = outputs["digest"].as_str().expect("digest").to_string();
    assert_eq!(outputs["ref"], json!(format!("{repository_url}@{digest}")));
    let logs: Vec<String> = messages_for(&up, "app")
        .into_iter()
        .chain(progress_for(&up, "app"))
        .collect();
    assert!(
        logs.iter()
            .any(|m| m.contains("GetAuthorizationToken") && m.contains(ECR_HOST)),
        "{logs:?}"
    );
    assert!(
        !logs.iter().any(|m| m.contains(&password)),
        "the token never shows: {logs:?}"
    );

    // The registry really has it under `latest` (the tag-less repositoryUrl's tag), and
    // really demands the token.
    let auth = format!("{user}:{password}");
    let manifest = manifest_over_tls(&ca, &registry, "app/manifests/latest", &auth);
    let manifest_digest = format!("sha256:{}", sha256_hex(&manifest));
    assert_eq!(manifest_digest, digest);
    let anonymous = Command::new("curl")
        .args([
            "--silent",
            "--output",
            "/dev/null",
            "--write-out",
            "%{http_code}",
            "--cacert",
        ])
        .arg(ca.ca_pem())
        .arg("--resolve")
        .arg(format!("{ECR_HOST}:{}:127.0.0.1", registry.port()))
        .arg(format!(
            "https://{ECR_HOST}:{}/v2/app/manifests/latest",
            registry.port()
        ))
        .output()
        .expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&anonymous.stdout), "401");

    // What ECR does itself: the pushed image becomes visible to DescribeImages.
    let media_type = serde_json::from_slice::<serde_json::Value>(&manifest).expect("manifest JSON")
        ["mediaType"]
        .as_str()
        .map(str::to_owned);
    ecr.put_image()
        .repository_name("app")
        .image_manifest(String::from_utf8(manifest).expect("manifest text"))
        .set_image_manifest_media_type(media_type)
        .image_tag("latest")
        .image_digest(&digest)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutImage: {}", aws_sdk_ecr::error::DisplayErrorContext(&e)));

    // 2. A Service next to it: one container on `image.ref`, one on the repository's tag,
    // which the provider resolves through DescribeImages.
    let mut inputs = env.service_inputs(&output("app", "ref"));
    let mut tagged = inputs["containers"][0].clone();
    tagged["name"] = json!("worker");
    tagged["image"] = json!(format!("{repository_url}:latest"));
    tagged["portMappings"] = json!([]);
    inputs["containers"]
        .as_array_mut()
        .expect("containers")
        .push(tagged);
    let program = Program::new()
        .config(env.provider_config())
        .resource(image)
        .resource(Resource::new(SERVICE, "svc", inputs));
    let up = stack.up(&program).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Same), "{}", up.render());
    assert_eq!(up.op("svc"), Some(Op::Create), "{}", up.render());
    let state = stack.state().unwrap();
    let svc = &state.by_name("svc").unwrap().outputs;
    let pinned = format!("{repository_url}@{digest}");
    assert_eq!(svc["images"]["web"], json!(pinned));
    assert_eq!(svc["images"]["worker"], json!(pinned));
    let td = svc["taskDefinitionArn"].as_str().expect("task definition");
    assert_eq!(
        env.images_of(td).await.unwrap(),
        vec![pinned.clone(), pinned.clone()]
    );
    // pullBytes, read from the ECR registry's manifest with the ECR token,
    // is the pushed image's size.
    let size = state.by_name("app").unwrap().outputs["sizeBytes"].clone();
    assert!(size.as_i64().is_some_and(|s| s > 0));
    assert_eq!(svc["pullBytes"], json!({ "web": size, "worker": size }));

    // Nothing moved: nothing changes.
    let preview = stack.preview(&program).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("svc"), Some(Op::Same), "{}", preview.render());

    // The trust came from SSL_CERT_FILE: without it the same push fails on the certificate.
    let untrusting = w
        .another_stack("ecr-untrusted")
        .with_env("AWS_ACCESS_KEY_ID", "test")
        .with_env("AWS_SECRET_ACCESS_KEY", "test")
        .with_env("AWS_EC2_METADATA_DISABLED", "true")
        .with_env(
            "IMAGEDEPLOY_TEST_REGISTRY_RESOLVE",
            &format!("{ECR_HOST}=127.0.0.1:{}", registry.port()),
        );
    write_files(&ctx, &[("src/app.ts", "y\n")]);
    let image = w.image("app", &ctx, json!({ "tags": [repository_url.clone()] }));
    let up = untrusting
        .up(&Program::new().config(env.provider_config()).resource(image))
        .await
        .unwrap();
    assert!(!up.ok(), "an untrusted certificate must fail the push");
    let error = up.step("app").unwrap().error.clone().unwrap_or_default();
    assert!(error.contains(ECR_HOST), "{error}");
    assert!(
        error.to_lowercase().contains("certificate"),
        "names the certificate problem: {error}"
    );
}

#[tokio::test]
async fn an_ecr_token_that_expires_mid_push_is_renewed_and_the_push_completes() {
    let env = EcsEnv::start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let ecr = ecr_client(&env.moto.endpoint());
    let (user, token) = moto_token(&ecr).await;
    ecr.create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateRepository: {}",
                aws_sdk_ecr::error::DisplayErrorContext(&e)
            )
        });

    // docker-registry <- STAND-IN: the token expires after two requests <- TLS for the ECR host.
    let real_password = "the-registry-password";
    let registry = Registry::start_with_auth_behind_tls(&user, real_password)
        .unwrap_or_else(|e| panic!("docker-registry: {e}"));
    let expiry =
        ExpiringTokenProxy::start(&registry.address(), &user, real_password, &token, &token, 2)
            .await;
    let ca = TestCa::new(&[ECR_HOST]).unwrap_or_else(|e| panic!("test CA: {e}"));
    let front = TlsFront::start(&ca, &expiry.address)
        .await
        .unwrap_or_else(|e| panic!("TLS front: {e}"));

    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let stack = w
        .another_stack("ecr-expiry")
        .with_env("AWS_ACCESS_KEY_ID", "test")
        .with_env("AWS_SECRET_ACCESS_KEY", "test")
        .with_env("AWS_EC2_METADATA_DISABLED", "true")
        .with_env("SSL_CERT_FILE", &ca.ca_pem().to_string_lossy())
        .with_env(
            "IMAGEDEPLOY_TEST_REGISTRY_RESOLVE",
            &format!("{ECR_HOST}=127.0.0.1:{}", front.port()),
        );
    // ECR's API through the recording proxy, so the renewal can be counted.
    let mut config = env.provider_config();
    config["endpoints"]["ecr"] = json!(env.proxy.endpoint());
    let tag = format!("{ECR_HOST}/app");
    let program = Program::new().config(config).resource(w.image(
        "app",
        &ctx,
        json!({ "tags": [tag.clone()] }),
    ));
    env.proxy.clear_calls();
    let up = stack.up(&program).await.unwrap();
    up.assert_ok();

    assert!(
        expiry.rejected.load(std::sync::atomic::Ordering::SeqCst) >= 1,
        "the token really expired mid-push"
    );
    let token_calls: Vec<_> = env
        .proxy
        .calls()
        .into_iter()
        .filter(|c| c.operation == "GetAuthorizationToken")
        .map(|c| c.at)
        .collect();
    assert_eq!(
        token_calls.len(),
        2,
        "one token for the push and one renewal after the registry rejected it: {token_calls:?}"
    );
    let digest = stack.state().unwrap().by_name("app").unwrap().outputs["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    assert_eq!(
        registry_digest_as(
            &format!("{}/app:latest", registry.address()),
            &user,
            real_password
        ),
        Some(digest)
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}
