//! Service behaviour 1 for ECR repositories: a `repo:tag` on an ECR host is
//! pinned through ECR's DescribeImages (the provider's `endpoints.ecr`, here
//! moto), not the registry API, and a tag moved in ECR is a change.
//! A multi-platform index in ECR is read from the ECR host's registry with
//! the ECR token and pinned to the service's platform.
//!
//! moto computes `imageDigest` from the manifest's layers rather than
//! hashing the manifest, so the digests here are moto's; what is tested is
//! that the provider asks ECR and pins exactly what ECR answers.

mod service_support;

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use base64::Engine as _;
use imagedeploy_tests::promise::ecs::EcsEnv;
use imagedeploy_tests::promise::images::push_multi_platform_image_as;
use imagedeploy_tests::{Op, Program, Resource};
use imagedeploy_testsupport::{Registry, TestCa};
use serde_json::json;
use service_support::{messages, World, NAME, SERVICE};

const ECR_HOST: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

fn ecr_client(endpoint: &str) -> aws_sdk_ecr::Client {
    let config = aws_sdk_ecr::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_ecr::Client::from_conf(config)
}

/// The `user:password` moto's GetAuthorizationToken hands out.
async fn ecr_token(ecr: &aws_sdk_ecr::Client) -> String {
    let out = ecr
        .get_authorization_token()
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetAuthorizationToken: {e:?}"));
    let token = out.authorization_data()[0]
        .authorization_token()
        .expect("a token");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token)
        .expect("base64 token");
    String::from_utf8(decoded).expect("text token")
}

/// A schema-2 manifest whose single layer digest is derived from `seed`.
fn manifest(seed: u8) -> String {
    let hex = |b: u8| format!("sha256:{}", format!("{b:02x}").repeat(32));
    json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 100, "digest": hex(0xc0)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 200, "digest": hex(seed)}]
    })
    .to_string()
}

/// moto's ECR with an empty repository `app`.
async fn repository(w: &World) -> aws_sdk_ecr::Client {
    let ecr = ecr_client(&w.env.moto.endpoint());
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
    ecr
}

async fn put(ecr: &aws_sdk_ecr::Client, seed: u8) -> String {
    let out = ecr
        .put_image()
        .repository_name("app")
        .image_manifest(manifest(seed))
        .image_tag("v1")
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutImage: {}", aws_sdk_ecr::error::DisplayErrorContext(&e)));
    out.image()
        .and_then(|i| i.image_id())
        .and_then(|id| id.image_digest())
        .expect("moto returns the image digest")
        .to_string()
}

#[tokio::test]
async fn ecr_tags_are_pinned_through_describe_images() {
    let w = World::start().await;
    let ecr = repository(&w).await;
    let first = put(&ecr, 0x11).await;
    let tag = format!("{ECR_HOST}/app:v1");
    let inputs = w.env.service_inputs(&json!(tag));

    let r = w.up_ok(inputs.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    let pinned = format!("{ECR_HOST}/app@{first}");
    assert_eq!(w.state().outputs["images"]["web"], json!(pinned));
    let td = w.state().outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(w.env.images_of(&td).await.unwrap(), vec![pinned.clone()]);

    // Unmoved: no change.
    let p = w.preview_ok(inputs.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Same), "{}", p.render());

    // The tag moves in ECR: a change naming both digests, one new revision.
    let second = put(&ecr, 0x22).await;
    assert_ne!(first, second);
    let p = w.preview_ok(inputs.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Update), "{}", p.render());
    let reason = format!("container web: {tag} moved {first} -> {second}");
    assert!(
        messages(&p).iter().any(|m| m == &reason),
        "expected {reason:?} in {:#?}",
        messages(&p)
    );
    let before = w.registered().await;
    w.up_ok(inputs).await;
    assert_eq!(w.registered().await, before + 1);
    assert_eq!(
        w.state().outputs["images"]["web"],
        json!(format!("{ECR_HOST}/app@{second}"))
    );
}

#[tokio::test]
async fn an_ecr_tag_that_does_not_exist_fails_before_any_aws_write() {
    let w = World::start().await;
    repository(&w).await;
    let inputs = w
        .env
        .service_inputs(&json!(format!("{ECR_HOST}/app:missing")));
    w.env.proxy.clear_calls();
    let r = w.stack.up(&w.program(inputs)).await.expect("up runs");
    assert!(!r.ok(), "a missing ECR tag must fail");
    let errors = r.errors.join("\n");
    assert!(errors.contains("containers[0].image"), "{errors}");
    assert!(errors.contains("does not exist"), "{errors}");
    assert!(w.env.writes().is_empty(), "writes: {:?}", w.env.writes());
}

/// A multi-platform image in ECR: DescribeImages says its manifest is an
/// index (moto keeps the media type and the digest PutImage gives it), and
/// the provider reads the index itself from the ECR host's registry, with
/// the ECR token, to pin the service's platform. The registry side is
/// `docker-registry` over TLS for the ECR host name, demanding moto's token,
/// as in `image_ecr.rs`.
#[tokio::test]
async fn an_ecr_index_is_read_with_the_ecr_token_and_pinned_to_the_service_platform() {
    let env = EcsEnv::start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let ecr = ecr_client(&env.moto.endpoint());
    let token = ecr_token(&ecr).await;
    let (user, password) = token.split_once(':').expect("user:password");
    let ca = TestCa::new(&[ECR_HOST]).unwrap_or_else(|e| panic!("test CA: {e}"));
    let registry = Registry::start_tls_with_auth(&ca, user, password)
        .unwrap_or_else(|e| panic!("docker-registry with TLS: {e}"));
    ecr.create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateRepository: {e:?}"));
    let image = push_multi_platform_image_as(
        &registry.address(),
        Some(&token),
        "app",
        "multi",
        &[("linux/amd64", "one"), ("linux/arm64/v8", "one for arm")],
    )
    .unwrap_or_else(|e| panic!("{e:#}"));
    // What ECR does by itself: the pushed index becomes visible to DescribeImages.
    ecr.put_image()
        .repository_name("app")
        .image_manifest(String::from_utf8(image.index_bytes.clone()).expect("index text"))
        .image_manifest_media_type("application/vnd.oci.image.index.v1+json")
        .image_tag("multi")
        .image_digest(&image.index)
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutImage: {e:?}"));

    let stack = env
        .deployment()
        .expect("provider binary must be built (cargo build -p imagedeploy)")
        .with_fixture()
        .with_env("SSL_CERT_FILE", &ca.ca_pem().to_string_lossy())
        .with_env(
            "IMAGEDEPLOY_TEST_REGISTRY_RESOLVE",
            &format!("{ECR_HOST}={}", registry.address()),
        );
    let program = |architecture: &str| {
        let mut inputs = env.service_inputs(&json!(format!("{ECR_HOST}/app:multi")));
        inputs["runtimePlatform"] = json!({"cpuArchitecture": architecture});
        Program::new()
            .config(env.provider_config())
            .resource(Resource::new(SERVICE, NAME, inputs))
    };
    let r = stack.up(&program("ARM64")).await.expect("up runs");
    r.assert_ok();
    let arm64 = format!("{ECR_HOST}/app@{}", image.children["linux/arm64/v8"]);
    let state = stack.state().expect("stack file");
    let outputs = &state.by_name(NAME).expect("the service").outputs;
    assert_eq!(outputs["images"]["web"], json!(arm64), "{}", r.render());
    let td = outputs["taskDefinitionArn"]
        .as_str()
        .expect("task definition");
    assert_eq!(env.images_of(td).await.unwrap(), vec![arm64]);
    assert!(
        outputs["pullBytes"]["web"].as_u64().is_some_and(|b| b > 0),
        "pullBytes read with the ECR token: {}",
        outputs["pullBytes"]
    );

    let p = stack
        .preview(&program("X86_64"))
        .await
        .expect("preview runs");
    p.assert_ok();
    let amd64 = format!("{ECR_HOST}/app@{}", image.children["linux/amd64"]);
    assert_eq!(
        p.step(NAME).unwrap().outputs["images"]["web"],
        json!(amd64),
        "{}",
        p.render()
    );
}
