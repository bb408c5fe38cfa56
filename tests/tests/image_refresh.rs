//! Rule 7: refresh asks the registry whether `ref` still exists (gone means
//! the resource is gone), and delete leaves pushed images in place, as the
//! schema docs say.

mod image_support;

use std::time::Duration;

use image_support::*;
use imagedeploy_tests::rpc::Calls;
use imagedeploy_tests::{provider_bin, FakeEngine, LaunchOptions, Op, Plugin, Program};
use serde_json::{json, Value as Json};

#[tokio::test]
async fn refresh_checks_ref_exists_and_delete_leaves_the_image() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&p).await.unwrap().assert_ok();
    let created = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let reference = created.outputs["ref"].as_str().unwrap().to_string();

    // Still there: Read keeps it, nothing changes.
    let refresh = w.stack.refresh().await.unwrap();
    refresh.assert_ok();
    assert_eq!(refresh.calls_for("Read", "app").len(), 1);
    let step = refresh.step("app").unwrap();
    assert_eq!(step.op, Op::Read);
    assert!(!step.removed);
    assert_eq!(
        w.stack.state().unwrap().by_name("app").unwrap().outputs,
        created.outputs
    );
    let after_refresh = w.stack.preview(&p).await.unwrap();
    after_refresh.assert_ok();
    assert_eq!(
        after_refresh.op("app"),
        Some(Op::Same),
        "refresh of an intact image changes nothing"
    );

    // Deleted from the registry behind our back: refresh removes the resource.
    delete_manifest(&reference);
    assert_eq!(registry_digest(&reference), None);
    let refresh = w.stack.refresh().await.unwrap();
    refresh.assert_ok();
    let read = response(&refresh, "Read", "app");
    assert_eq!(
        read.get("id").and_then(Json::as_str).unwrap_or(""),
        "",
        "empty id = gone: {read}"
    );
    assert!(refresh.step("app").unwrap().removed);
    assert!(w.stack.state().unwrap().by_name("app").is_none());
    assert!(
        refresh
            .logs
            .iter()
            .any(|l| l.message.contains("no longer in its registry")),
        "the user is told why: {:?}",
        refresh.logs
    );

    // The next up creates it again (the same content, so the same digest).
    let up = w.stack.up(&p).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Create));
    assert_eq!(
        w.stack.state().unwrap().by_name("app").unwrap().outputs["digest"],
        created.outputs["digest"]
    );
    assert_eq!(
        registry_digest(&reference),
        created.outputs["digest"].as_str().map(String::from)
    );

    // Destroy: Delete is called, the image stays (older task definitions may use it).
    let destroy = w.stack.destroy().await.unwrap();
    destroy.assert_ok();
    assert_eq!(destroy.calls_for("Delete", "app").len(), 1);
    assert!(w.stack.state().unwrap().by_name("app").is_none());
    assert_eq!(
        registry_digest(&reference),
        created.outputs["digest"].as_str().map(String::from)
    );
    assert_eq!(
        registry_digest(&w.tag("app")),
        created.outputs["digest"].as_str().map(String::from)
    );
    assert!(
        destroy
            .logs
            .iter()
            .any(|l| l.message.contains("stays in its registry")),
        "{:?}",
        destroy.logs
    );
}

#[tokio::test]
async fn schema_docs_say_delete_leaves_images() {
    let engine = FakeEngine::start().await.unwrap();
    let mut opts = LaunchOptions::new(provider_bin().expect("provider binary built"));
    opts.engine_address = Some(engine.address());
    let mut plugin = Plugin::start(&opts).await.unwrap();
    let mut calls = Calls::new(plugin.client(), Duration::from_secs(60));
    let schema: Json = serde_json::from_str(&calls.get_schema().await.unwrap()).unwrap();
    let description = schema["resources"][IMAGE]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        description.contains("Delete leaves pushed images in the registry"),
        "{description}"
    );
    plugin.shutdown().await.unwrap();
}
