//! The Image under the engine's import and working-directory rules: Read
//! with only an id (`ImportStep.Apply`), and relative paths from a program
//! whose main directory is where the engine starts the plugin (`getPwdMain`),
//! including SST's `.sst/platform` layout.

mod image_support;

use image_support::*;
use imagedeploy_tests::{Op, Program};
use serde_json::json;

/// Importing by the pinned `ref`: Read gets only the id and answers inputs
/// and outputs; the program's first up rebuilds once and, the content being
/// the same, keeps the imported digest. Before, Read tried to decode the
/// missing state and told the user to run refresh.
#[tokio::test]
async fn an_image_is_imported_by_its_pinned_ref() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&p).await.unwrap().assert_ok();
    let original = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let reference = original.outputs["ref"].as_str().unwrap().to_string();

    let adopter = w.another_stack("adopter");
    let adopt = Program::new().resource(w.image("app", &ctx, json!({})).import(&reference));
    let r = adopter.up(&adopt).await.unwrap();
    r.assert_ok();
    assert_eq!(r.steps[0].op, Op::Import);
    let read = &r.calls_for("Read", "app")[0];
    assert_eq!(read.req("import"), &json!(true), "Read with only an id");
    let adopted = adopter.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(adopted.id, reference);
    assert_eq!(adopted.outputs["digest"], original.outputs["digest"]);
    assert_eq!(adopted.outputs["ref"], original.outputs["ref"]);
    // Sizes and layers come with the import, from the manifest and config.
    assert_eq!(adopted.outputs["sizeBytes"], original.outputs["sizeBytes"]);
    let digests = |o: &serde_json::Value| -> Vec<serde_json::Value> {
        o["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|l| l["digest"].clone())
            .collect()
    };
    assert_eq!(digests(&adopted.outputs), digests(&original.outputs));
    assert!(!digests(&adopted.outputs).is_empty());
}

/// A wrong id gets an error naming the expected form; a digest the registry
/// does not have is "does not exist" (the engine's wording for no outputs).
#[tokio::test]
async fn a_wrong_import_id_names_the_expected_form() {
    let w = World::start();
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &simple_dockerfile(&w.base_from())),
            ("src/app.ts", "x\n"),
        ],
    );
    let tag = w.tag("app");
    let r = w
        .stack
        .preview(&Program::new().resource(w.image("app", &ctx, json!({})).import(&tag)))
        .await
        .unwrap();
    assert!(!r.ok());
    let e = r.errors.join("\n");
    assert!(e.contains("registry/repository@sha256:"), "{e}");

    let missing = format!("{}/app@sha256:{}", w.registry.address(), "0".repeat(64));
    let r = w
        .stack
        .preview(&Program::new().resource(w.image("app", &ctx, json!({})).import(&missing)))
        .await
        .unwrap();
    assert!(!r.ok());
    let e = r.errors.join("\n");
    assert!(e.contains("does not exist"), "{e}");
    assert!(w.stack.state().unwrap().by_name("app").is_none());
}

/// A relative `context.location` means the directory the program runs in.
/// Under Pulumi the engine starts the plugin there; under SST it starts the
/// plugin in `<app>/.sst/platform` while the program runs in `<app>`, and
/// `./app` (as SST users write it) must still find `<app>/app`.
#[tokio::test]
async fn relative_locations_resolve_where_the_program_runs_under_pulumi_and_sst() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    for layout in ["pulumi", "sst"] {
        let root = w.dir.path().join(layout);
        write_files(
            &root.join("app"),
            &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")],
        );
        let stack = w.another_stack(&format!("{layout}-stack"));
        let stack = match layout {
            "sst" => stack.with_sst_app(&root).unwrap(),
            _ => stack.with_program_dir(&root),
        };
        let mut image = w.image("app", &root.join("app"), json!({}));
        image.inputs["context"]["location"] = json!("./app");
        let p = Program::new().resource(image);
        let r = stack.preview(&p).await.unwrap();
        r.assert_ok();
        assert_eq!(r.op("app"), Some(Op::Create), "{layout}");
    }
}

/// Moving the checkout (a CI workspace path differs on every machine) with
/// the same content is no change: no diff, no build.
#[tokio::test]
async fn moving_the_checkout_is_no_change() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let files = [("Dockerfile", dockerfile.as_str()), ("src/app.ts", "x\n")];
    let first = w.context("checkout-1", &files);
    w.stack
        .up(&Program::new().resource(w.image("app", &first, json!({}))))
        .await
        .unwrap()
        .assert_ok();
    let moved = w.context("checkout-2", &files);
    let r = w
        .stack
        .up(&Program::new().resource(w.image("app", &moved, json!({}))))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Same), "{}", r.render());
    assert!(r.calls("Update").is_empty());
}

/// What the SDKs send: absolute `context.location` and `dockerfile.location`
/// (made absolute where the program runs). A checkout moved elsewhere with
/// the same content, Dockerfile outside the context included, changes both
/// strings and nothing else: no diff, no build. Diff compares what the
/// locations point at (fingerprint, base digests), never the strings.
#[tokio::test]
async fn moving_a_checkout_with_a_dockerfile_outside_the_context_is_no_change() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let files = [
        ("app/src/app.ts", "x\n"),
        ("docker/Dockerfile.prod", dockerfile.as_str()),
    ];
    let image = |checkout: &std::path::Path| {
        w.image(
            "app",
            &checkout.join("app"),
            json!({ "dockerfile": {
                "location": checkout.join("docker/Dockerfile.prod").to_string_lossy()
            } }),
        )
    };
    let first = w.context("checkout-1", &files);
    w.stack
        .up(&Program::new().resource(image(&first)))
        .await
        .unwrap()
        .assert_ok();
    let moved = w.context("checkout-2", &files);
    let r = w
        .stack
        .up(&Program::new().resource(image(&moved)))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Same), "{}", r.render());
    assert!(r.calls("Update").is_empty());
    assert!(r.calls("Create").is_empty());
}

/// ignoreChanges on `context`: a file edit is no change and no reason is
/// logged for it (before, the reason "src/app.ts modified" was still logged
/// for a change the program said to ignore).
#[tokio::test]
async fn ignored_changes_log_no_reason() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = Program::new().resource(w.image("app", &ctx, json!({})).ignore_changes(&["context"]));
    w.stack.up(&p).await.unwrap().assert_ok();
    write_files(&ctx, &[("src/app.ts", "y\n")]);
    let r = w.stack.preview(&p).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Same));
    let messages = messages_for(&r, "app");
    assert!(
        messages.iter().all(|m| !m.contains("src/app.ts")),
        "{messages:?}"
    );
}

/// What Check records for `pulumi preview --diff` sits under the input it
/// belongs to: ignoring `context` hides a file edit but not a Dockerfile
/// edit, and ignoring `dockerfile` when the program gives none (the engine
/// then copies the recorded `dockerfile` object back into the inputs) still
/// passes Check.
#[tokio::test]
async fn recorded_values_follow_their_input_under_ignore_changes() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = Program::new().resource(w.image("app", &ctx, json!({})).ignore_changes(&["context"]));
    w.stack.up(&p).await.unwrap().assert_ok();
    let state = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert!(
        state.inputs["context"]["files"]["src/app.ts"].is_string(),
        "{}",
        state.inputs
    );
    assert!(state.inputs["dockerfile"]["instructions"].is_string());
    write_files(
        &ctx,
        &[("Dockerfile", &format!("{dockerfile}ENV MODE=prod\n"))],
    );
    let r = w.stack.preview(&p).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Update), "{}", r.render());
    assert!(
        r.step("app")
            .unwrap()
            .detailed_diff
            .contains_key("dockerfile.instructions"),
        "{:?}",
        r.step("app").unwrap().detailed_diff
    );

    let p = Program::new().resource(
        w.image("app", &ctx, json!({}))
            .ignore_changes(&["dockerfile"]),
    );
    let r = w.stack.preview(&p).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Same), "{}", r.render());
}

/// Partial ignores: of two changes, the program ignores one (`context`);
/// the other one's reason ("labels changed") is logged and the ignored
/// file edit's reason is not (before, every reason was logged as soon as
/// one change was left).
#[tokio::test]
async fn only_the_reasons_of_changes_not_ignored_are_logged() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = |label: &str| {
        Program::new().resource(
            w.image("app", &ctx, json!({"labels": {"team": label}}))
                .ignore_changes(&["context"]),
        )
    };
    w.stack.up(&p("a")).await.unwrap().assert_ok();
    write_files(&ctx, &[("src/app.ts", "y\n")]);
    let r = w.stack.preview(&p("b")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Update), "{}", r.render());
    let step = r.step("app").unwrap();
    assert!(
        step.detailed_diff.keys().all(|k| !k.starts_with("context")),
        "{:?}",
        step.detailed_diff
    );
    let messages = messages_for(&r, "app");
    assert!(
        messages.iter().any(|m| m.contains("labels changed")),
        "{messages:?}"
    );
    assert!(
        messages.iter().all(|m| !m.contains("src/app.ts")),
        "{messages:?}"
    );
}

/// Refresh without the sources (a job that only has the stack) and without
/// the registry's tags: Check observed the machine during up and recorded
/// it in the inputs, so the Diff that refresh runs after Read
/// (`RefreshStep.Apply`) looks at nothing else and reports no drift, twice
/// in a row (Read hands the recorded observation back as an input). Before,
/// Diff fingerprinted the missing checkout and the refresh failed.
#[tokio::test]
async fn refresh_needs_neither_the_sources_nor_a_base_tag_and_reports_no_drift() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&p).await.unwrap().assert_ok();
    let before = w.stack.state().unwrap().by_name("app").unwrap().clone();
    std::fs::remove_dir_all(&ctx).unwrap();
    // The base tag is gone too: resolving it would fail.
    delete_manifest(&w.base.reference);
    for _ in 0..2 {
        let r = w.stack.refresh().await.unwrap();
        r.assert_ok();
        let step = r.step("app").unwrap();
        assert_eq!(step.op, Op::Read);
        assert!(step.detailed_diff.is_empty(), "{}", r.render());
    }
    let after = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(after.outputs["digest"], before.outputs["digest"]);
    assert_eq!(after.inputs["__observed"], before.inputs["__observed"]);
}

/// What `pulumi preview --diff` shows for a changed build arg: the key
/// `buildArgs.NOTE` is walked through the old outputs and the new inputs
/// (`TranslateDetailedDiff`), so the row names `buildArgs` and the detail
/// shows the old and the new value.
#[tokio::test]
async fn preview_diff_shows_a_changed_build_arg_with_both_values() {
    let w = World::start();
    let dockerfile = format!("{}\nARG NOTE\nCOPY src/ /app/\n", w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = |note: &str| {
        Program::new().resource(w.image("app", &ctx, json!({"buildArgs": {"NOTE": note}})))
    };
    w.stack.up(&p("first")).await.unwrap().assert_ok();
    let r = w.stack.preview(&p("second")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Update));
    let text = r.render();
    assert!(text.contains("[diff: ~buildArgs]"), "{text}");
    assert!(text.contains("~ buildArgs: {"), "{text}");
    assert!(text.contains(r#"~ NOTE: "first" => "second""#), "{text}");
}
