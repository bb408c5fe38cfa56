//! Service behaviour 1 for ECR repositories: a `repo:tag` on an ECR host is
//! pinned through ECR's DescribeImages (the provider's `endpoints.ecr`, here
//! moto), not the registry API, and a tag moved in ECR is a change.
//!
//! moto computes `imageDigest` from the manifest's layers rather than
//! hashing the manifest, so the digests here are moto's; what is tested is
//! that the provider asks ECR and pins exactly what ECR answers.

mod service_support;

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use imagedeploy_tests::Op;
use serde_json::json;
use service_support::{messages, World, NAME};

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
