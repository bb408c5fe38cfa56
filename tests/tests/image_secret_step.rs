//! A failed `RUN --mount=type=secret` step (issue 19, finding 4) leaves
//! no buildah working container behind: such a container keeps the step's
//! file system, and with it whatever the step wrote from the secret. In its
//! own test binary: a killed build elsewhere in the same binary would leave
//! a container of the same base image while this one counts.

mod image_support;

use image_support::*;
use imagedeploy_tests::Program;
use serde_json::json;

#[tokio::test]
async fn a_failed_secret_step_leaves_no_working_container() {
    let w = World::start();
    let dockerfile = format!(
        "{}\nRUN --mount=type=secret,id=token test ! -s /run/secrets/token\n",
        w.base_from()
    );
    let ctx = w.context("failing", &[("Dockerfile", &dockerfile)]);
    let p = Program::new().resource(w.image(
        "failing",
        &ctx,
        json!({ "secrets": { "token": "kill-test-s3cr3t" } }),
    ));
    // Counted before and after: the base image is the same in every test
    // (same content, same id), and a killed build's containers stay.
    let base = image_id(&w.base.reference);
    let before = working_containers_of(&base);
    let r = w.stack.up(&p).await.unwrap();
    assert!(!r.ok(), "the step fails");
    let new: Vec<String> = working_containers_of(&base)
        .difference(&before)
        .cloned()
        .collect();
    assert!(
        new.is_empty(),
        "the failed step's container (with the secret mounted) stayed: {new:?}"
    );
}
