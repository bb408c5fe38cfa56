//! Issue 19, finding 3: a secret task setting never shows in diff reasons,
//! the engine log, errors or the rendered preview, and the `images` output
//! of a secret container image stays secret through updates.

mod service_support;

use imagedeploy_tests::values::{is_secret, secret};
use imagedeploy_tests::Op;
use serde_json::json;
use service_support::{messages, World, NAME};

/// Everything a run shows a user: the rendered preview (diff and log), the
/// log messages, the errors and the plugin's stderr.
fn shown(r: &imagedeploy_tests::Report) -> String {
    format!(
        "{}\n{}\n{}\n{}",
        r.render(),
        messages(r).join("\n"),
        r.errors.join("\n"),
        r.stderr
    )
}

#[tokio::test]
async fn a_secret_execution_role_never_shows_in_diff_reasons() {
    let w = World::start().await;
    let role = |name: &str| format!("arn:aws:iam::123456789012:role/{name}");
    let mut inputs = w.inputs();
    inputs["executionRoleArn"] = secret(json!(role("exec-s3cr3t-one")));
    let r = w.up_ok(inputs.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    assert!(!shown(&r).contains("s3cr3t"), "{}", shown(&r));

    inputs["executionRoleArn"] = secret(json!(role("exec-s3cr3t-two")));
    let p = w.preview_ok(inputs.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Update), "{}", p.render());
    let text = shown(&p);
    assert!(
        messages(&p).iter().any(|m| m.contains("executionRoleArn")),
        "the reason still names the setting: {:?}",
        messages(&p)
    );
    assert!(!text.contains("s3cr3t"), "{text}");

    let r = w.up_ok(inputs).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert!(!shown(&r).contains("s3cr3t"), "{}", shown(&r));
    assert!(is_secret(&w.state().outputs["executionRoleArn"]));
}

#[tokio::test]
async fn a_secret_image_stays_secret_in_images_through_an_update() {
    let w = World::start().await;
    let mut inputs = w.inputs();
    let image = inputs["containers"][0]["image"].clone();
    inputs["containers"][0]["image"] = secret(image);
    w.up_ok(inputs.clone()).await;
    assert!(is_secret(&w.state().outputs["images"]["web"]));
    // A change elsewhere: the recorded pinned image stays secret.
    inputs["desiredCount"] = json!(2);
    let p = w.preview_ok(inputs.clone()).await;
    assert!(!shown(&p).contains(&w.first_digest), "{}", shown(&p));
    // Plain values are not masked along with the secret ones.
    assert!(
        messages(&p)
            .iter()
            .any(|m| m.contains("desiredCount") && m.contains('2')),
        "{:?}",
        messages(&p)
    );
    let r = w.up_ok(inputs).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert!(is_secret(&w.state().outputs["images"]["web"]));
    assert!(!shown(&r).contains(&w.first_digest), "{}", shown(&r));
}
