//! Service behaviour 1 through the engine's life cycle: images given by tag
//! are pinned to the digest the registry serves, a moved tag is a change
//! whose reason says so, an unmoved tag is no change, a digest reference is
//! used as is.

mod service_support;

use imagedeploy_tests::promise::images::push_tiny_image;
use imagedeploy_tests::Op;
use serde_json::json;
use service_support::{diff_changes, messages, World, NAME};

/// Layers + config + manifest of `reference`, as skopeo (a client
/// independent of ours) reads the registry's manifest.
fn pull_bytes(reference: &str) -> u64 {
    let out = std::process::Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{reference}"))
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    assert!(out.status.success(), "skopeo inspect {reference}");
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let layers: u64 = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["size"].as_u64().unwrap())
        .sum();
    layers + manifest["config"]["size"].as_u64().unwrap() + out.stdout.len() as u64
}

#[tokio::test]
async fn tags_are_pinned_and_a_moved_tag_is_one_new_revision_with_its_reason() {
    let w = World::start().await;
    let repo = w.app_tag.trim_end_matches(":latest").to_string();
    let pinned_a = format!("{repo}@{}", w.first_digest);

    // Create: the task definition pins the digest app:latest names.
    let r = w.up_ok(w.inputs()).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    let st = w.state();
    assert_eq!(st.outputs["images"]["web"], json!(pinned_a));
    let td1 = st.outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(w.env.images_of(&td1).await.unwrap(), vec![pinned_a.clone()]);
    assert_eq!(w.registered().await, 1);
    assert_eq!(
        st.outputs["pullBytes"]["web"].as_u64(),
        Some(pull_bytes(&pinned_a)),
        "pullBytes: what a new task pulls, per the registry"
    );

    // The tag did not move: no change, and no AWS write.
    w.env.proxy.clear_calls();
    let p = w.preview_ok(w.inputs()).await;
    assert_eq!(p.op(NAME), Some(Op::Same), "{}", p.render());
    let r = w.up_ok(w.inputs()).await;
    assert_eq!(r.op(NAME), Some(Op::Same));
    assert!(w.env.writes().is_empty(), "writes: {:?}", w.env.writes());
    assert_eq!(w.registered().await, 1);

    // Move the tag: preview names the container and both digests.
    let digest_b = push_tiny_image(&w.registry.address(), "app", "latest", "version two").unwrap();
    assert_ne!(digest_b, w.first_digest);
    let p = w.preview_ok(w.inputs()).await;
    assert_eq!(p.op(NAME), Some(Op::Update), "{}", p.render());
    assert_eq!(
        p.step(NAME).unwrap().changed_paths(),
        ["containers[0].image"]
    );
    let reason = format!(
        "container web: {} moved {} -> {digest_b}",
        w.app_tag, w.first_digest
    );
    assert!(
        messages(&p).iter().any(|m| m == &reason),
        "expected the reason {reason:?} in {:#?}",
        messages(&p)
    );
    assert_eq!(w.registered().await, 1, "preview registers nothing");

    // Up: exactly one new revision, pinned to the new digest.
    let pinned_b = format!("{repo}@{digest_b}");
    let r = w.up_ok(w.inputs()).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(w.registered().await, 2);
    let st = w.state();
    let td2 = st.outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(td2, td1);
    assert_eq!(st.outputs["images"]["web"], json!(pinned_b));
    assert_eq!(w.env.images_of(&td2).await.unwrap(), vec![pinned_b.clone()]);
    assert_eq!(
        st.outputs["pullBytes"]["web"].as_u64(),
        Some(pull_bytes(&pinned_b))
    );
    assert_eq!(
        w.env.active_revisions(&w.family()).await.unwrap(),
        vec![td2.clone()]
    );

    // Naming the same image by its digest instead of its tag is no change.
    let mut by_digest = w.inputs();
    by_digest["containers"][0]["image"] = json!(pinned_b);
    w.env.proxy.clear_calls();
    let r = w.up_ok(by_digest.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Same), "{}", r.render());
    assert_eq!(diff_changes(&r), json!(1));
    assert!(w.env.writes().is_empty(), "writes: {:?}", w.env.writes());

    // A digest reference is used as is, even after the tag moves on.
    push_tiny_image(&w.registry.address(), "app", "latest", "version three").unwrap();
    let r = w.up_ok(by_digest).await;
    assert_eq!(r.op(NAME), Some(Op::Same), "{}", r.render());
    assert_eq!(w.registered().await, 2);
    assert_eq!(w.state().outputs["images"]["web"], json!(pinned_b));
}

#[tokio::test]
async fn a_digest_that_is_not_in_the_registry_fails_before_any_aws_write() {
    let w = World::start().await;
    let repo = w.app_tag.trim_end_matches(":latest").to_string();
    let missing = format!("{repo}@sha256:{}", "0".repeat(64));
    let mut inputs = w.inputs();
    inputs["containers"][0]["image"] = json!(missing);
    let r = w.stack.up(&w.program(inputs)).await.expect("up runs");
    assert!(!r.ok(), "up must fail: {}", r.render());
    let error = r
        .step(NAME)
        .and_then(|s| s.error.clone())
        .unwrap_or_default();
    assert!(
        error.contains("containers[0].image") && error.contains("does not exist"),
        "the error names the property and says why: {error}"
    );
    assert!(
        w.env.writes().is_empty(),
        "no AWS write: {:?}",
        w.env.writes()
    );
    assert!(w.stack.state().unwrap().by_name(NAME).is_none());
}

/// An Image in the same program builds during preview and hands the Service
/// a digest it has not pushed yet: the preview shows that digest; only the
/// up, which would deploy it, insists that the registry has it.
#[tokio::test]
async fn a_digest_not_pushed_yet_previews_but_is_verified_before_deploying() {
    let w = World::start().await;
    w.up_ok(w.inputs()).await;
    let before = w.state();
    let repo = w.app_tag.trim_end_matches(":latest").to_string();
    let unpushed = format!("{repo}@sha256:{}", "1".repeat(64));
    let mut inputs = w.inputs();
    inputs["containers"][0]["image"] = json!(unpushed);

    let p = w.preview_ok(inputs.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Update), "{}", p.render());
    assert_eq!(
        p.step(NAME).unwrap().outputs["images"]["web"],
        json!(unpushed)
    );

    w.env.proxy.clear_calls();
    let r = w.stack.up(&w.program(inputs)).await.unwrap();
    assert!(!r.ok());
    let error = r.step(NAME).unwrap().error.clone().unwrap();
    assert!(
        error.contains("containers[0].image") && error.contains("does not exist"),
        "{error}"
    );
    assert!(
        w.env.writes().is_empty(),
        "no AWS write: {:?}",
        w.env.writes()
    );
    let after = w.state();
    assert_eq!(after.outputs, before.outputs, "nothing changed");
    assert!(!after.init_failed);
    assert_eq!(w.registered().await, 1);
}

/// Secret in, secret out: a secret container image leaves `images.<name>`
/// (its pinned form) secret in state. Before, it was stored in plain text.
#[tokio::test]
async fn a_secret_image_keeps_its_pinned_image_secret() {
    let w = World::start().await;
    let mut inputs = w.inputs();
    let image = inputs["containers"][0]["image"].clone();
    inputs["containers"][0]["image"] = imagedeploy_tests::values::secret(image);
    let r = w.up_ok(inputs).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    let st = w.state();
    assert!(
        imagedeploy_tests::values::is_secret(&st.outputs["images"]["web"]),
        "{}",
        st.outputs["images"]
    );
}
