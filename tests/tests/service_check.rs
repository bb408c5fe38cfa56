//! Service behaviour 8 through the engine's life cycle: bad input is a
//! CheckFailure naming the property, before any AWS call at all.

mod service_support;

use imagedeploy_tests::Report;
use serde_json::{json, Value as Json};
use service_support::{World, NAME};

/// `(property, reason)` of every CheckFailure the service's Check returned.
fn failures(r: &Report) -> Vec<(String, String)> {
    r.calls_for("Check", NAME)
        .last()
        .and_then(|c| c.response.as_ref().ok())
        .and_then(|resp| resp["failures"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|f| {
            (
                f["property"].as_str().unwrap_or_default().to_string(),
                f["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn rejected(w: &World, inputs: Json, property: &str, reason_part: &str) {
    w.env.proxy.clear_calls();
    for preview in [true, false] {
        let program = w.program(inputs.clone());
        let r = if preview {
            w.stack.preview(&program).await.unwrap()
        } else {
            w.stack.up(&program).await.unwrap()
        };
        assert!(!r.ok(), "{property}: must fail\n{}", r.render());
        let f = failures(&r);
        assert!(
            f.iter()
                .any(|(p, reason)| p == property && reason.contains(reason_part)),
            "expected a CheckFailure on {property} mentioning {reason_part:?}, got {f:#?}"
        );
        assert!(r.calls("Create").is_empty() && r.calls("Update").is_empty());
    }
    assert!(
        w.env.proxy.calls().is_empty(),
        "{property}: no AWS call at all, got {:?}",
        w.env
            .proxy
            .calls()
            .iter()
            .map(|c| &c.operation)
            .collect::<Vec<_>>()
    );
    assert!(w.stack.state().unwrap().by_name(NAME).is_none());
}

#[tokio::test]
async fn bad_inputs_are_check_failures_before_any_aws_call() {
    let w = World::start().await;
    let base = w.inputs();

    let mut none = base.clone();
    none["containers"] = json!([]);
    rejected(&w, none, "containers", "at least one container").await;

    let mut dup = base.clone();
    let c = dup["containers"][0].clone();
    dup["containers"] = json!([c.clone(), c]);
    rejected(
        &w,
        dup,
        "containers[1].name",
        "already used by containers[0]",
    )
    .await;

    let mut no_port = base.clone();
    no_port["containers"][0]["portMappings"] = json!([{"protocol": "tcp"}]);
    rejected(
        &w,
        no_port,
        "containers[0].portMappings[0].containerPort",
        "",
    )
    .await;

    let mut size = base.clone();
    size["memory"] = json!(4096);
    rejected(&w, size, "memory", "valid values (MiB): 512, 1024, 2048").await;

    let mut cpu = base.clone();
    cpu["cpu"] = json!(300);
    rejected(&w, cpu, "cpu", "256, 512, 1024").await;

    let mut image = base.clone();
    image["containers"][0]["image"] = json!("Not An Image!");
    rejected(
        &w,
        image,
        "containers[0].image",
        "not a valid image reference",
    )
    .await;

    let mut wrong_type = base.clone();
    wrong_type["desiredCount"] = json!("two");
    rejected(&w, wrong_type, "desiredCount", "").await;

    // Still nothing anywhere.
    assert_eq!(w.env.proxy.calls().len(), 0);
}

/// Autonaming follows the proto's modes (`AutonamingForResource` in
/// pkg/resource/autonaming/strategy.go builds them): `disable` without a name
/// is a CheckFailure naming `name`; `enforce` uses exactly the proposal.
/// Before, the mode was dropped and `disable` still got a random name.
#[tokio::test]
async fn autonaming_modes_follow_the_proto() {
    let mut w = World::start().await;
    let mut inputs = w.inputs();
    inputs.as_object_mut().unwrap().remove("name");
    let stack = std::mem::replace(&mut w.stack, w.env.deployment().unwrap());
    w.stack = stack.with_autonaming(imagedeploy_tests::Autonamer::Disabled);
    rejected(&w, inputs.clone(), "name", "autonaming is disabled").await;

    let stack = std::mem::replace(&mut w.stack, w.env.deployment().unwrap());
    w.stack = stack.with_autonaming(imagedeploy_tests::Autonamer::Pattern {
        proposed: "web-from-pattern".into(),
        enforce: true,
    });
    let r = w.stack.preview(&w.program(inputs)).await.unwrap();
    r.assert_ok();
    let checked = r.calls_for("Check", NAME)[0].response.as_ref().unwrap()["inputs"].clone();
    assert_eq!(checked["name"], json!("web-from-pattern"));
}
