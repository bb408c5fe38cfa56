//! The product's headline, end to end: one program with an Image (buildah,
//! pushed to a real registry) feeding a Service (moto behind the ECS
//! fault-injection proxy, so rollouts complete). Edits that do not change
//! what the image contains make no task definition revision and a preview
//! that shows no change for the Service; a real source edit makes exactly
//! one, whose image is the new digest the preview already showed.

use imagedeploy_tests::promise::{self, Stage};
use imagedeploy_tests::Op;

#[tokio::test]
async fn the_task_definition_changes_if_and_only_if_the_image_content_changes() {
    let stage = Stage::start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let mut shown = String::new();
    let outcome = promise::run_on(&stage, &mut |text: &str| {
        shown.push_str(text);
        shown.push('\n');
    })
    .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => panic!("{e:#}\n--- what the engine showed so far ---\n{shown}"),
    };
    let violations = outcome.violations();
    assert!(
        violations.is_empty(),
        "the promise was broken:\n  {}\n--- what the engine showed ---\n{shown}",
        violations.join("\n  ")
    );

    // The details behind the verdict.
    assert_eq!(outcome.first_revisions, 1);
    let repo = format!("{}/app@sha256:", stage.registry.address());
    assert!(
        outcome.first_image.starts_with(&repo),
        "{}",
        outcome.first_image
    );
    let labels: Vec<&str> = outcome.edits.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels.len(), 7, "{labels:?}");
    for e in &outcome.edits[..6] {
        assert_eq!(e.preview_op, Some(Op::Same), "{}", e.label);
        assert!(
            e.preview_paths.is_empty(),
            "{}: {:?}",
            e.label,
            e.preview_paths
        );
        assert_eq!(e.new_revisions, 0, "{}", e.label);
        assert_eq!(e.deployed_image, outcome.first_image, "{}", e.label);
    }
    let real = outcome.edits.last().unwrap();
    assert!(real.changes_content);
    assert_eq!(real.preview_op, Some(Op::Update));
    assert_eq!(real.preview_paths, ["containers[0].image"]);
    assert_eq!(real.new_revisions, 1);
    assert_ne!(real.deployed_image, outcome.first_image);
    assert_eq!(
        real.preview_image.as_deref(),
        Some(real.deployed_image.as_str())
    );
    assert_eq!(real.deployed_image, real.image_ref);
    let new_digest = real.deployed_image.rsplit('@').next().unwrap();
    assert!(
        real.preview_reasons.iter().any(|m| m.contains(new_digest)),
        "the preview's reason names the new digest: {:#?}",
        real.preview_reasons
    );

    // ECS agrees: the service runs the newest revision, which pins the new digest.
    let family = stage
        .stack
        .state()
        .unwrap()
        .by_name(promise::SERVICE)
        .unwrap()
        .outputs["family"]
        .as_str()
        .unwrap()
        .to_string();
    let active = stage.env.active_revisions(&family).await.unwrap();
    assert_eq!(
        active.len(),
        1,
        "the superseded revision was deregistered: {active:?}"
    );
    assert_eq!(
        stage.env.images_of(&active[0]).await.unwrap(),
        vec![real.deployed_image.clone()]
    );
    eprintln!("{shown}");
}

/// The promise for a multi-platform Image feeding an x86 and a Graviton
/// service: an edit only the arm64 build reads gives the Graviton service
/// one revision, the x86 service none, and builds no amd64 image.
#[tokio::test]
async fn an_arm64_only_change_redeploys_only_the_graviton_service() {
    let stage = Stage::start().await.unwrap_or_else(|e| panic!("{e:#}"));
    let mut shown = String::new();
    let outcome = promise::platforms::run_on(&stage, &mut |text: &str| {
        shown.push_str(text);
        shown.push('\n');
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}\n--- what the engine showed so far ---\n{shown}"));
    let violations = outcome.violations();
    assert!(
        violations.is_empty(),
        "the promise was broken:\n  {}\n--- what the engine showed ---\n{shown}",
        violations.join("\n  ")
    );
    assert!(outcome.amd64_digests.0.starts_with("sha256:"));
}
