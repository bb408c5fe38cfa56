//! A registry that lost the image (issue 19, finding 10): the real
//! `docker-registry` is stopped, its storage deleted and started again on
//! the same address. A rebuild with the same content must not keep a `ref`
//! that no longer pulls: the provider HEADs the manifest and pushes again.

mod image_support;

use image_support::*;
use imagedeploy_tests::{fixture, output, Op, Program};
use serde_json::json;

#[tokio::test]
async fn a_rebuild_with_the_same_content_pushes_again_when_the_registry_lost_the_image() {
    let mut w = World::start();
    let dockerfile = format!(
        "{}\nARG NOTE\nCOPY src/ /app/\nCMD [\"/bin/cat\", \"/app/app.ts\"]\n",
        w.base_from()
    );
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", dockerfile.as_str()),
            ("src/app.ts", "console.log(1)\n"),
        ],
    );
    let program = |w: &World, note: &str| {
        Program::new()
            .resource(w.image("app", &ctx, json!({ "buildArgs": { "NOTE": note } })))
            .resource(fixture("uses", json!({ "value": output("app", "ref") })))
    };
    w.stack.up(&program(&w, "a")).await.unwrap().assert_ok();
    let first = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let reference = first.outputs["ref"].as_str().unwrap().to_string();
    assert!(registry_digest(&reference).is_some());

    // Control: with the image still there, the same content keeps ref and
    // pushes nothing.
    let before = w.registry_files();
    let r = w.stack.up(&program(&w, "b")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Update));
    assert_eq!(w.registry_files().manifests("app"), before.manifests("app"));

    w.registry.wipe_and_restart().expect("restart the registry");
    assert!(
        registry_digest(&reference).is_none(),
        "the registry lost it"
    );
    // The base image comes back (same content, same digest); the app does not.
    let base = imagedeploy_testsupport::push_base_image(&w.registry, "base:1", "one").unwrap();
    assert_eq!(base.digest, w.base.digest);

    let r = w.stack.up(&program(&w, "c")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Update));
    let said = messages_for(&r, "app");
    assert!(
        said.iter().any(|m| m.contains("no longer in its registry")),
        "{said:?}"
    );
    let after = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let kept = after.outputs["ref"].as_str().unwrap().to_string();
    assert_eq!(
        registry_digest(&kept).as_deref(),
        after.outputs["digest"].as_str(),
        "the recorded ref pulls again"
    );
    assert!(registry_digest(&w.tag("app")).is_some(), "the tag is back");
}
