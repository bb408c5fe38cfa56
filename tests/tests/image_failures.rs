//! How Image failures reach the user: build output as ephemeral progress,
//! failed builds with the builder's last lines and the failing Dockerfile
//! line (rule 8), and bad inputs as CheckFailures on the right property at
//! preview, before anything is built (rule 10).

mod image_support;

use image_support::*;
use imagedeploy_tests::{Op, Program, Severity};
use serde_json::{json, Value as Json};

/// Rule 8: progress is ephemeral INFO; a failing RUN names its line and
/// quotes the builder's last lines, in preview already.
#[tokio::test]
async fn build_progress_is_ephemeral_and_failures_name_the_line() {
    let w = World::start();
    let good = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &good), ("src/app.ts", "x\n")]);
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    let up = w.stack.up(&p).await.unwrap();
    up.assert_ok();
    let build_lines: Vec<_> = logs_for(&up, "app")
        .into_iter()
        .filter(|l| l.message.contains("STEP 2/3: COPY src/ /app/"))
        .collect();
    assert_eq!(build_lines.len(), 1, "{:?}", up.logs);
    assert!(build_lines[0].ephemeral && build_lines[0].severity == Severity::Info);

    let bad = format!(
        "{}\nCOPY src/ /app/\nRUN echo about-to-fail && echo second-line && false\nCMD [\"/bin/sh\"]\n",
        w.base_from()
    );
    write_files(&ctx, &[("Dockerfile", &bad)]);
    for run in ["preview", "up"] {
        let r = if run == "preview" {
            w.stack.preview(&p).await
        } else {
            w.stack.up(&p).await
        }
        .unwrap();
        assert!(!r.ok(), "{run} must fail");
        let error = r.step("app").unwrap().error.clone().unwrap_or_default();
        assert!(
            error.contains("line 3"),
            "{run}: names the Dockerfile line: {error}"
        );
        assert!(
            error.contains("RUN echo about-to-fail"),
            "{run}: quotes the instruction: {error}"
        );
        assert!(
            error.contains("second-line"),
            "{run}: shows the builder's last lines: {error}"
        );
        assert!(
            error.contains(&ctx.join("Dockerfile").display().to_string()),
            "{run}: names the file: {error}"
        );
        assert!(
            progress_for(&r, "app")
                .iter()
                .any(|l| l.contains("about-to-fail")),
            "{run}: the output streamed as it happened"
        );
    }
    assert_eq!(
        w.stack.state().unwrap().by_name("app").unwrap().outputs["digest"],
        json!(registry_digest(&w.tag("app")).unwrap()),
        "a failed update keeps the old image"
    );
}

/// Rule 8, hung builds: buildTimeoutSeconds stops the builder with a clear error.
#[tokio::test]
async fn hung_build_fails_after_build_timeout() {
    let w = World::start();
    let dockerfile = format!("{}\nRUN sleep 120\n", w.base_from());
    let ctx = w.context("slow", &[("Dockerfile", &dockerfile)]);
    let p = Program::new().resource(w.image("slow", &ctx, json!({ "buildTimeoutSeconds": 3 })));
    let started = std::time::Instant::now();
    let r = w.stack.up(&p).await.unwrap();
    assert!(!r.ok());
    assert!(
        started.elapsed().as_secs() < 60,
        "took {:?}",
        started.elapsed()
    );
    let error = r.step("slow").unwrap().error.clone().unwrap_or_default();
    assert!(
        error.contains("timed out after 3s") && error.contains("buildTimeoutSeconds"),
        "{error}"
    );
}

/// Whether a process whose command line holds `needle` is running.
fn running(needle: &[u8]) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
    })
}

/// Ctrl-C during a build (the engine sends Cancel to the provider): the
/// builder is stopped, not left running, the step fails saying so, and no
/// state is recorded for the image.
#[tokio::test]
async fn cancel_stops_a_running_build() {
    let w = World::start();
    // A duration no other process uses, to find the RUN step's process.
    let dockerfile = format!("{}\nRUN sleep 97.31\n", w.base_from());
    let ctx = w.context("slow", &[("Dockerfile", &dockerfile)]);
    let p = Program::new().resource(w.image("slow", &ctx, json!({})));
    let marker: &[u8] = b"sleep\x0097.31";
    assert!(!running(marker), "a leftover from another run");
    let stack = w
        .another_stack("cancel")
        .with_cancel_when(move || running(b"sleep\x0097.31"));
    let r = stack.up(&p).await.unwrap();
    assert!(r.cancelled, "Cancel was sent while the RUN step ran");
    assert!(!r.ok());
    let error = r.step("slow").unwrap().error.clone().unwrap_or_default();
    assert!(error.contains("cancelled"), "{error}");
    let stopped = (0..100).any(|_| {
        if running(marker) {
            std::thread::sleep(std::time::Duration::from_millis(100));
            false
        } else {
            true
        }
    });
    assert!(
        stopped,
        "the RUN step's process is still running after Cancel"
    );
    assert!(
        stack.state().unwrap().by_name("slow").is_none(),
        "a cancelled create records nothing"
    );
}

/// Rule 10: each bad input is a CheckFailure on its property during preview;
/// nothing is built.
#[tokio::test]
async fn bad_inputs_fail_check_on_the_right_property_at_preview() {
    let w = World::start();
    let good = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &good), ("src/app.ts", "x\n")]);
    let broken = w.context(
        "broken",
        &[
            ("Dockerfile", "FROM\nCOPY --from= . /\n"),
            ("src/app.ts", "x\n"),
        ],
    );
    let missing = w.dir.path().join("no-such-dir");
    let tag = w.tag("app");

    let cases: Vec<(&str, Json, &str, &str)> = vec![
        (
            "missing context",
            json!({ "context": { "location": missing.to_string_lossy() } }),
            "context.location",
            "does not exist",
        ),
        (
            "Dockerfile syntax error (file)",
            json!({ "context": { "location": broken.to_string_lossy() } }),
            "dockerfile",
            "syntax",
        ),
        (
            "Dockerfile syntax error (inline)",
            json!({ "dockerfile": { "inline": "FROM\n" } }),
            "dockerfile.inline",
            "syntax",
        ),
        (
            "tag that is not a reference",
            json!({ "tags": [tag.clone(), "Not A Reference!"] }),
            "tags[1]",
            "not an image reference",
        ),
        (
            "push without tags",
            json!({ "tags": null }),
            "tags",
            "no `tags`",
        ),
        (
            "push without tags (empty list)",
            json!({ "tags": [] }),
            "tags",
            "no `tags`",
        ),
        (
            "unknown build target",
            json!({ "target": "nope" }),
            "target",
            "nope",
        ),
        (
            "a context that is a file",
            json!({ "context": { "location": ctx.join("Dockerfile").to_string_lossy() } }),
            "context.location",
            "does not exist",
        ),
    ];
    for (what, extra, property, words) in cases {
        let p = Program::new().resource(w.image("app", &ctx, extra));
        let r = w.stack.preview(&p).await.unwrap();
        assert!(!r.ok(), "{what}: preview must fail");
        let fs = check_failures(&r, "app");
        assert!(
            fs.iter()
                .any(|(p, reason)| p == property && reason.contains(words)),
            "{what}: expected a failure on {property} mentioning {words:?}, got {fs:?}"
        );
        assert!(r.calls("Create").is_empty(), "{what}: nothing is built");
        assert!(
            progress_for(&r, "app").is_empty(),
            "{what}: no build output"
        );
    }

    // Not pushing needs no tags.
    let p = Program::new().resource(w.image("app", &ctx, json!({ "tags": null, "push": false })));
    let r = w.stack.up(&p).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("app"), Some(Op::Create));
    let state = w.stack.state().unwrap();
    let outputs = &state.by_name("app").unwrap().outputs;
    assert!(
        outputs["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{outputs}"
    );
    assert_eq!(outputs["ref"], json!(""), "no tag, no ref");
    assert!(
        w.registry_files().manifests("app") == 0,
        "push: false pushes nothing"
    );
}
