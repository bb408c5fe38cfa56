//! Rule 9, registry credentials: an htpasswd registry through the
//! `registries` input and through the Docker config file; auth failures that
//! name the registry and the credential source tried; ECR credentials from
//! GetAuthorizationToken at the provider's `endpoints.ecr` (moto).
//!
//! Retries with backoff on 5xx and connection resets, skipping blobs the
//! registry already has, and verifying the manifest digest after a push are
//! covered against a real registry behind a fault-injecting proxy by the
//! registry crate's own tests (crates/registry/tests).

mod image_support;

use image_support::*;
use imagedeploy_tests::values::{is_secret, secret};
use imagedeploy_tests::{Op, Program};
use imagedeploy_testsupport::{push_base_image_as, Moto, Registry};
use serde_json::json;

const USER: &str = "deployer";
const PASSWORD: &str = "correct-h0rse-battery";

fn private() -> Registry {
    Registry::start_with_auth(USER, PASSWORD)
        .unwrap_or_else(|e| panic!("registry with htpasswd auth: {e}"))
}

fn creds(address: &str, password: &str) -> serde_json::Value {
    json!([{ "address": address, "username": USER, "password": secret(json!(password)) }])
}

#[tokio::test]
async fn htpasswd_registry_via_registries_and_docker_config() {
    let w = World::start();
    let private = private();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let tag = format!("{}/app:latest", private.address());

    // Right credentials through `registries`.
    let p = |password: &str| {
        Program::new().resource(w.image(
            "app",
            &ctx,
            json!({ "tags": [tag.clone()], "registries": creds(&private.address(), password) }),
        ))
    };
    let up = w.stack.up(&p(PASSWORD)).await.unwrap();
    up.assert_ok();
    let state = w.stack.state().unwrap();
    let app = state.by_name("app").unwrap();
    let digest = app.outputs["digest"].as_str().unwrap().to_string();
    assert_eq!(
        registry_digest_as(&tag, USER, PASSWORD),
        Some(digest.clone())
    );
    assert_eq!(
        registry_digest(&tag),
        None,
        "the registry really demands credentials"
    );
    assert!(
        is_secret(&app.outputs["registries"][0]["password"])
            || is_secret(&app.outputs["registries"])
    );

    // Wrong password: the error names the registry and the credential source, never the password.
    write_files(&ctx, &[("src/app.ts", "y\n")]);
    let wrong = "not-the-password";
    let up = w.stack.up(&p(wrong)).await.unwrap();
    assert!(!up.ok());
    let error = up.step("app").unwrap().error.clone().unwrap_or_default();
    assert!(
        error.contains(&private.address()),
        "names the registry: {error}"
    );
    assert!(
        error.contains("explicitly configured credentials") && error.contains(USER),
        "names the source: {error}"
    );
    for r in [&up] {
        for text in r.logs.iter().map(|l| &l.message).chain([&r.stderr, &error]) {
            assert!(
                !text.contains(wrong) && !text.contains(PASSWORD),
                "a password reached the log: {text}"
            );
        }
    }

    // No credentials at all: anonymous access is named as the source.
    let anonymous = w.another_stack("anonymous");
    let p_anon = Program::new().resource(w.image("app", &ctx, json!({ "tags": [tag.clone()] })));
    let up = anonymous.up(&p_anon).await.unwrap();
    assert!(!up.ok());
    let error = up.step("app").unwrap().error.clone().unwrap_or_default();
    assert!(
        error.contains(&private.address()) && error.contains("anonymous"),
        "{error}"
    );

    // The Docker config file's credentials are the fallback.
    let docker = w.another_stack("docker");
    let config = w
        .dir
        .path()
        .join("docker")
        .join("docker-config")
        .join("config.json");
    let auth = base64(format!("{USER}:{PASSWORD}").as_bytes());
    std::fs::write(
        &config,
        json!({ "auths": { private.address(): { "auth": auth } } }).to_string(),
    )
    .unwrap();
    let up = docker.up(&p_anon).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Create));
    let pushed = docker.state().unwrap().by_name("app").unwrap().outputs["digest"].clone();
    assert_eq!(
        registry_digest_as(&tag, USER, PASSWORD),
        pushed.as_str().map(String::from)
    );
}

/// A `FROM` image in a registry that needs the `registries` credentials:
/// the provider resolves it and the builder pulls it with the same credentials
/// (a private auth file: buildah `--authfile`, docker's DOCKER_CONFIG).
#[tokio::test]
async fn private_base_image_with_registries_credentials() {
    let private = private();
    let base = push_base_image_as(&private, "base:1", "private", Some((USER, PASSWORD)))
        .unwrap_or_else(|e| panic!("cannot make the private base image: {e}"));
    let w = World::start();
    let dockerfile = simple_dockerfile(&format!("FROM {}", base.reference));
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = Program::new().resource(w.image(
        "app",
        &ctx,
        json!({ "registries": creds(&private.address(), PASSWORD) }),
    ));
    let up = w.stack.up(&p).await.unwrap();
    up.assert_ok();
    let app = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(
        app.outputs["baseImageDigests"][&base.reference],
        json!(base.digest)
    );
}

/// ECR: tags on an ECR host get credentials from GetAuthorizationToken at
/// the provider's `endpoints.ecr`. moto has no registry API and the ECR
/// host cannot be reached from here, so this checks the credential path as
/// far as it honestly goes: preview (which fetches the token before it
/// builds) works with moto, fails naming ECR with a dead endpoint, and up
/// then fails at the push to the ECR host itself.
#[tokio::test]
async fn ecr_credentials_come_from_get_authorization_token() {
    let moto = Moto::start().unwrap_or_else(|e| panic!("moto is needed: {e}"));
    let w = World::start();
    let aws = |d: imagedeploy_tests::Deployment| {
        d.with_env("AWS_ACCESS_KEY_ID", "testing")
            .with_env("AWS_SECRET_ACCESS_KEY", "testing")
            .with_env("AWS_REGION", "us-east-1")
            .with_env("AWS_EC2_METADATA_DISABLED", "true")
    };
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let ecr_tag = "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest";
    let program = |endpoint: &str| {
        Program::new()
            .config(json!({ "region": "us-east-1", "endpoints": { "ecr": endpoint } }))
            .resource(w.image("app", &ctx, json!({ "tags": [ecr_tag] })))
    };

    let stack = aws(w.another_stack("ecr"));
    let preview = stack.preview(&program(&moto.endpoint())).await.unwrap();
    preview.assert_ok();
    assert!(
        messages_for(&preview, "app")
            .iter()
            .chain(progress_for(&preview, "app").iter())
            .any(|m| m.contains("GetAuthorizationToken")
                && m.contains("123456789012.dkr.ecr.us-east-1.amazonaws.com")),
        "the provider says where the ECR credentials came from: {:?}",
        preview.logs
    );
    let planned = &preview.step("app").unwrap().outputs;
    let digest = planned["digest"]
        .as_str()
        .expect("preview built the image")
        .to_string();
    assert_eq!(
        planned["ref"],
        json!(format!(
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/app@{digest}"
        ))
    );

    // A dead ECR endpoint: the token cannot be fetched, and the error says so.
    let dead = format!("http://127.0.0.1:{}", imagedeploy_testsupport::free_port());
    let preview = aws(w.another_stack("ecr-dead"))
        .preview(&program(&dead))
        .await
        .unwrap();
    assert!(!preview.ok());
    let error = preview
        .step("app")
        .unwrap()
        .error
        .clone()
        .unwrap_or_default();
    assert!(error.contains("ECR credentials"), "{error}");

    // up gets the token, builds, and fails only at the push to the (unreachable) ECR host.
    let up = stack.up(&program(&moto.endpoint())).await.unwrap();
    assert!(!up.ok());
    let error = up.step("app").unwrap().error.clone().unwrap_or_default();
    assert!(
        error.contains("123456789012.dkr.ecr.us-east-1.amazonaws.com"),
        "{error}"
    );
    assert!(
        !error.contains("ECR credentials"),
        "the token was fetched: {error}"
    );
    assert!(
        !error.contains("123456789012-auth-token"),
        "the token never shows: {error}"
    );
}
