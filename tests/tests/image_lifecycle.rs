//! Image life cycles against a real registry and real buildah builds, each
//! preview and up a new provider process driven with the engine's rules.
//! One test per "behaviour that must hold" of the Image resource (rules 1-4).

mod image_support;

use image_support::*;
use imagedeploy_tests::values::{is_secret, is_unknown};
use imagedeploy_tests::{fixture, output, Op, Program};
use serde_json::{json, Value as Json};

const DIFF_NONE: i64 = 1;
const DIFF_SOME: i64 = 2;

fn diff_changes(report: &imagedeploy_tests::Report, name: &str) -> i64 {
    response(report, "Diff", name)["changes"]
        .as_i64()
        .unwrap_or(0)
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
    let ctx = context_of(&w, "app", &app_files(&w.base_from(), "console.log(1)\n"));
    let p = program(&w, &ctx, json!({}));

    let created = w.stack.up(&p).await.unwrap();
    created.assert_ok();
    assert_eq!(created.op("app"), Some(Op::Create));
    let state = w.stack.state().unwrap();
    let app = state.by_name("app").unwrap().clone();
    let digest = app.outputs["digest"].as_str().unwrap().to_string();
    let pushed = registry_digest(&w.tag("app")).expect("the tag was pushed");
    assert_eq!(
        digest, pushed,
        "digest output = what the registry serves for the tag"
    );
    assert_eq!(
        app.outputs["ref"],
        json!(format!("{}/app@{digest}", w.registry.address()))
    );
    assert_eq!(
        app.outputs["baseImageDigests"][&w.base.reference],
        json!(w.base.digest)
    );
    assert!(app.outputs["contentDigest"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(app.outputs["contextHash"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert!(app.outputs["layers"].as_array().unwrap().len() >= 2);
    assert!(app.outputs["sizeBytes"].as_i64().unwrap() > 1000);
    assert!(app.outputs["platform"]
        .as_str()
        .unwrap()
        .starts_with("linux/"));
    assert!(
        progress_for(&created, "app")
            .iter()
            .any(|l| l.contains("STEP") || l.contains("COPY")),
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
        assert!(
            r.calls("Create").is_empty() && r.calls("Update").is_empty(),
            "{run}"
        );
        let progress = progress_for(&r, "app");
        assert!(
            !progress
                .iter()
                .any(|l| l.contains("building") || l.contains("STEP")),
            "{run}: nothing is built: {progress:?}"
        );
        assert_eq!(
            w.registry_files(),
            before,
            "{run}: nothing written to the registry"
        );
    }
    let after = w.stack.state().unwrap();
    assert_eq!(after.by_name("app").unwrap().outputs, app.outputs);
}

/// Runs `change` against a created stack and checks rule 2: the preview
/// and the up both keep `digest` and `ref`, nothing reaches the registry,
/// the dependent sees no change, `contextHash` moves, and the next preview
/// is DIFF_NONE.
async fn same_content_keeps_digest(
    w: &World,
    before: &Program,
    change: impl FnOnce(),
    after: &Program,
    why: &str,
    fingerprint_moves: bool,
) -> Vec<imagedeploy_tests::Report> {
    let first = w.stack.up(before).await.unwrap();
    first.assert_ok();
    change();
    let old = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let files = w.registry_files();

    let preview = w.stack.preview(after).await.unwrap();
    preview.assert_ok();
    assert_eq!(
        diff_changes(&preview, "app"),
        DIFF_SOME,
        "{why}: the fingerprint changed"
    );
    assert_eq!(preview.op("app"), Some(Op::Update), "{why}");
    let planned = &preview.step("app").unwrap().outputs;
    assert_eq!(
        planned["digest"], old.outputs["digest"],
        "{why}: preview keeps digest"
    );
    assert_eq!(
        planned["ref"], old.outputs["ref"],
        "{why}: preview keeps ref"
    );
    assert_eq!(
        preview.op("uses"),
        Some(Op::Same),
        "{why}: the dependent sees no change in preview"
    );
    assert_eq!(w.registry_files(), files, "{why}: preview writes nothing");

    let up = w.stack.up(after).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Update), "{why}");
    assert_eq!(
        up.op("uses"),
        Some(Op::Same),
        "{why}: the dependent sees no change in up"
    );
    let new = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(new.outputs["digest"], old.outputs["digest"], "{why}");
    assert_eq!(new.outputs["ref"], old.outputs["ref"], "{why}");
    assert_eq!(
        new.outputs["contentDigest"], old.outputs["contentDigest"],
        "{why}"
    );
    if fingerprint_moves {
        assert_ne!(
            new.outputs["contextHash"], old.outputs["contextHash"],
            "{why}: contextHash is updated"
        );
    }
    assert_eq!(
        w.registry_files(),
        files,
        "{why}: no manifest or blob was pushed"
    );
    assert!(
        messages_for(&up, "app")
            .iter()
            .any(|m| m.contains("same content")),
        "{why}: the log says why nothing was pushed: {:?}",
        messages_for(&up, "app")
    );

    let again = w.stack.preview(after).await.unwrap();
    again.assert_ok();
    assert_eq!(
        diff_changes(&again, "app"),
        DIFF_NONE,
        "{why}: the next preview builds nothing"
    );
    assert!(again.calls("Update").is_empty(), "{why}");
    vec![first, preview, up, again]
}

/// Rule 2, three ways: a comment edit in a file a build stage strips, a
/// declared but unused build arg, and a new secret value.
#[tokio::test]
async fn changed_fingerprint_same_content_keeps_digest_and_ref() {
    let w = World::start();

    // A builder stage strips `//` comments; the final image holds only its output.
    let dockerfile = format!(
        "{from} AS build\nCOPY src/ /src/\nRUN mkdir /out && sed '/^\\/\\//d' /src/app.ts > /out/app.js\n\
         {from}\nARG NOTE\nCOPY --from=build /out/ /app/\n\
         RUN --mount=type=secret,id=token test -s /run/secrets/token\n\
         CMD [\"/bin/cat\", \"/app/app.js\"]\n",
        from = w.base_from()
    );
    let ctx = |comment: &str| {
        w.context(
            "app",
            &[
                ("Dockerfile", dockerfile.as_str()),
                ("src/app.ts", &format!("// {comment}\nconsole.log(1)\n")),
            ],
        )
    };
    const S1: &str = "first-s3cr3t-value";
    const S2: &str = "second-s3cr3t-value";
    let inputs = |note: &str, token: &str| json!({ "buildArgs": { "NOTE": note }, "secrets": { "token": token } });

    let c = ctx("first");
    let p = |note: &str, token: &str| program(&w, &c, inputs(note, token));
    let _ = same_content_keeps_digest(
        &w,
        &p("a", "s1"),
        || {
            ctx("a reworded comment");
        },
        &p("a", "s1"),
        "comment edit in a stripped file",
        true,
    )
    .await;
    let _ = same_content_keeps_digest(
        &w,
        &p("a", S1),
        || {},
        &p("b", S1),
        "unused build arg",
        true,
    )
    .await;
    // Secrets are not part of the fingerprint; the state's copy of them is.
    let runs =
        same_content_keeps_digest(&w, &p("b", S1), || {}, &p("b", S2), "secret value", false).await;
    for r in &runs {
        for text in r.logs.iter().map(|l| &l.message).chain([&r.stderr]) {
            assert!(
                !text.contains(S1) && !text.contains(S2),
                "a secret value reached the log: {text}"
            );
        }
    }

    let state = w.stack.state().unwrap();
    let app = state.by_name("app").unwrap();
    assert!(
        is_secret(&app.outputs["secrets"]),
        "secrets are secret in state: {}",
        app.outputs["secrets"]
    );
    assert!(
        is_secret(&app.inputs["secrets"]),
        "secrets are secret in inputs: {}",
        app.inputs["secrets"]
    );
}

/// Rule 3: a content change shows the exact new digest in preview without
/// pushing; up pushes that digest. With buildOnPreview false the digest is
/// unknown in preview.
#[tokio::test]
async fn changed_content_preview_shows_exact_digest_up_pushes_it() {
    let w = World::start();
    let from = w.base_from();
    let ctx = context_of(&w, "app", &app_files(&from, "console.log(1)\n"));
    let p = program(&w, &ctx, json!({}));
    w.stack.up(&p).await.unwrap().assert_ok();
    let old = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let files = w.registry_files();

    write_files(&ctx, &[("src/app.ts", "console.log(2)\n")]);
    let preview = w.stack.preview(&p).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update));
    let planned = preview.step("app").unwrap().outputs.clone();
    let digest = planned["digest"]
        .as_str()
        .expect("preview knows the new digest")
        .to_string();
    assert!(digest.starts_with("sha256:") && json!(digest) != old.outputs["digest"]);
    let new_ref = format!("{}/app@{digest}", w.registry.address());
    assert_eq!(planned["ref"], json!(new_ref));
    assert_eq!(
        preview.op("uses"),
        Some(Op::Update),
        "the dependent sees the new ref"
    );
    let uses_check = &preview.calls_for("Check", "uses")[0];
    assert_eq!(
        uses_check.req("news")["value"],
        json!(new_ref),
        "as a known value"
    );
    assert_eq!(w.registry_files(), files, "preview pushes nothing");
    assert_eq!(
        registry_digest(&w.tag("app")),
        old.outputs["digest"].as_str().map(String::from)
    );

    let up = w.stack.up(&p).await.unwrap();
    up.assert_ok();
    let state = w.stack.state().unwrap();
    assert_eq!(
        state.by_name("app").unwrap().outputs["digest"],
        json!(digest),
        "up pushes the digest preview showed"
    );
    assert_eq!(registry_digest(&w.tag("app")), Some(digest.clone()));
    assert_eq!(
        state.by_name("uses").unwrap().inputs["value"],
        json!(new_ref)
    );
    assert!(w.registry_files().manifests("app") > files.manifests("app"));

    // buildOnPreview: false -> digest and ref unknown in preview.
    let lazy = program(&w, &ctx, json!({ "buildOnPreview": false }));
    let switched = w.stack.up(&lazy).await.unwrap();
    switched.assert_ok();
    assert_eq!(
        switched.op("app"),
        Some(Op::Same),
        "buildOnPreview alone changes no image"
    );
    write_files(&ctx, &[("src/app.ts", "console.log(3)\n")]);
    let preview = w.stack.preview(&lazy).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update));
    let planned = &preview.step("app").unwrap().outputs;
    assert!(
        is_unknown(&planned["digest"]) && is_unknown(&planned["ref"]),
        "unknown in preview: {planned}"
    );
    assert!(
        !progress_for(&preview, "app")
            .iter()
            .any(|l| l.contains("STEP")),
        "nothing is built in preview"
    );
    assert!(is_unknown(
        &preview.calls_for("Check", "uses")[0].req("news")["value"]
    ));
    let up = w.stack.up(&lazy).await.unwrap();
    up.assert_ok();
    let pushed = registry_digest(&w.tag("app")).unwrap();
    assert_eq!(
        w.stack.state().unwrap().by_name("app").unwrap().outputs["digest"],
        json!(pushed)
    );
    assert_ne!(pushed, digest);
}

/// Rule 4: buildah builds are reproducible: the same context in two
/// directories, and a rebuild without cache in a fresh stack, give the same
/// digest.
#[tokio::test]
async fn same_context_from_two_directories_and_empty_cache_same_digest() {
    let w = World::start();
    let files = app_files(&w.base_from(), "console.log('same')\n");
    let a = context_of(&w, "a", &files);
    let b = context_of(&w, "b", &files);
    let no_cache = json!({ "noCache": true });
    let p = Program::new()
        .resource(w.image("one", &a, no_cache.clone()))
        .resource(w.image("two", &b, no_cache.clone()));
    w.stack.up(&p).await.unwrap().assert_ok();
    let state = w.stack.state().unwrap();
    let one = state.by_name("one").unwrap().outputs["digest"].clone();
    let two = state.by_name("two").unwrap().outputs["digest"].clone();
    assert!(one.as_str().is_some_and(|d| d.starts_with("sha256:")));
    assert_eq!(one, two, "two directories, one digest");

    // Later, elsewhere: a fresh stack, a fresh provider cache, no layer cache.
    let other = w.another_stack("elsewhere");
    let c = context_of(&w, "c", &files);
    let p = Program::new().resource(w.image("three", &c, no_cache));
    other.up(&p).await.unwrap().assert_ok();
    let three = other.state().unwrap().by_name("three").unwrap().outputs["digest"].clone();
    assert_eq!(three, one, "rebuilt without cache, same digest");
    assert_eq!(
        registry_digest(&w.tag("three")),
        one.as_str().map(String::from)
    );
}
