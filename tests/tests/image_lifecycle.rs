//! Image life cycles against a real registry and real buildah builds, each
//! preview and up a new provider process driven with the engine's rules.
//! One test per "behaviour that must hold" of the Image resource (rules 1-4).

mod image_support;

use imagedeploy_tests::{fixture, output, Op, Program};
use image_support::*;
use serde_json::{json, Value as Json};

const DIFF_NONE: i64 = 1;
const DIFF_SOME: i64 = 2;

fn diff_changes(report: &imagedeploy_tests::Report, name: &str) -> i64 {
    response(report, "Diff", name)["changes"].as_i64().unwrap_or(0)
}

fn app_files(from: &str, app: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Dockerfile", simple_dockerfile(from)),
        ("src/app.ts", app.to_string()),
    ]
}

fn context_of(w: &World, name: &str, files: &[(&'static str, String)]) -> std::path::PathBuf {
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    w.context(name, &borrowed)
}

/// An image plus a dependent that reads its `ref`, like a task definition would.
fn program(w: &World, context: &std::path::Path, extra: Json) -> Program {
    Program::new()
        .resource(w.image("app", context, extra))
        .resource(fixture("uses", json!({ "value": output("app", "ref") })))
}

/// Rule 1: nothing changed -> DIFF_NONE, no build, no registry write, in
/// preview and in up.
#[tokio::test]
async fn unchanged_inputs_diff_none_no_build_no_push() {
    let w = World::start();
    let ctx = context_of(&w, "app", &app_files(&w.from_line(), "console.log(1)\n"));
    let p = program(&w, &ctx, json!({}));

    let created = w.stack.up(&p).await.unwrap();
    created.assert_ok();
    assert_eq!(created.op("app"), Some(Op::Create));
    let state = w.stack.state().unwrap();
    let app = state.by_name("app").unwrap().clone();
    let digest = app.outputs["digest"].as_str().unwrap().to_string();
    let pushed = registry_digest(&w.tag("app")).expect("the tag was pushed");
    assert_eq!(digest, pushed, "digest output = what the registry serves for the tag");
    assert_eq!(
        app.outputs["ref"],
        json!(format!("{}/app@{digest}", w.registry.address()))
    );
    assert_eq!(app.outputs["baseImageDigests"][&w.base.reference], json!(w.base.digest));
    assert!(app.outputs["contentDigest"].as_str().unwrap().starts_with("sha256:"));
    assert!(app.outputs["contextHash"].as_str().unwrap().starts_with("sha256:"));
    assert!(app.outputs["layers"].as_i64().unwrap() >= 2);
    assert!(app.outputs["sizeBytes"].as_i64().unwrap() > 1000);
    assert!(app.outputs["platform"].as_str().unwrap().starts_with("linux/"));
    assert!(
        progress_for(&created, "app").iter().any(|l| l.contains("STEP") || l.contains("COPY")),
        "build output streams as progress: {:?}",
        progress_for(&created, "app")
    );

    let before = w.registry_files();
    for run in ["preview", "up"] {
        let r = if run == "preview" {
            w.stack.preview(&p).await.unwrap()
        } else {
            w.stack.up(&p).await.unwrap()
        };
        r.assert_ok();
        assert_eq!(r.op("app"), Some(Op::Same), "{run}");
        assert_eq!(r.op("uses"), Some(Op::Same), "{run}");
        assert_eq!(diff_changes(&r, "app"), DIFF_NONE, "{run}");
        assert!(r.calls("Create").is_empty() && r.calls("Update").is_empty(), "{run}");
        let progress = progress_for(&r, "app");
        assert!(
            !progress.iter().any(|l| l.contains("building") || l.contains("STEP")),
            "{run}: nothing is built: {progress:?}"
        );
        assert_eq!(w.registry_files(), before, "{run}: nothing written to the registry");
    }
    let after = w.stack.state().unwrap();
    assert_eq!(after.by_name("app").unwrap().outputs, app.outputs);
}
