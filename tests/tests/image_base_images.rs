//! Base images (issue 14): the build uses exactly the digest Check
//! recorded; a registry that cannot be reached never fails a preview (the
//! recorded digest is used, with a warning giving its age); `baseImagePull`
//! decides whether the builder's local store is used (matched by digest);
//! `baseImageRefresh` decides when a tag is asked for again.

mod image_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use image_support::*;
use imagedeploy_tests::{Deployment, Op, Program, Report, Severity};
use imagedeploy_testsupport::push_base_image;
use serde_json::{json, Value as Json};

/// `skopeo copy` inside one registry: moves `to` (a tag) to `from`'s image.
fn retag(from: &str, to: &str) {
    let out = std::process::Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--dest-tls-verify=false"])
        .arg(format!("docker://{from}"))
        .arg(format!("docker://{to}"))
        .stdin(std::process::Stdio::null())
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo copy {from} {to}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Swaps the world's stack for one built by `f` (same state file).
fn rewire(w: &mut World, f: impl FnOnce(Deployment) -> Deployment) {
    let placeholder = Deployment::with_stack_file(w.stack.bin(), w.stack.stack_file().path());
    let stack = std::mem::replace(&mut w.stack, placeholder);
    w.stack = f(stack);
}

fn warnings_for(report: &Report, name: &str) -> Vec<String> {
    logs_for(report, name)
        .into_iter()
        .filter(|l| l.severity == Severity::Warning)
        .map(|l| l.message.clone())
        .collect()
}

fn resolution(outputs: &Json, reference: &str) -> Json {
    outputs["baseImageResolutions"][reference].clone()
}

/// A tag moved between Check and the build does not change what is
/// built: the builder gets the digest Check recorded (and fingerprinted).
#[tokio::test]
async fn the_build_uses_the_digest_check_recorded_even_when_the_tag_moves_meanwhile() {
    let mut w = World::start();
    let a = w.base.digest.clone();
    let moved = push_base_image(&w.registry, "base:2", "two").expect("push base:2");
    let b = moved.digest.clone();
    assert_ne!(a, b);

    let armed = Arc::new(AtomicBool::new(false));
    let (flag, from, to) = (
        armed.clone(),
        moved.reference.clone(),
        w.base.reference.clone(),
    );
    rewire(&mut w, |stack| {
        stack.with_after_check(move |name| {
            if name == "app" && flag.swap(false, Ordering::SeqCst) {
                retag(&from, &to);
            }
        })
    });

    // The same tag in FROM and in COPY --from: both are pinned.
    let dockerfile = format!(
        "{}COPY --from={} /etc/variant /etc/copied-variant\n",
        simple_dockerfile(&w.base_from()),
        w.base.reference
    );
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let program = Program::new().resource(w.image("app", &ctx, json!({})));

    // Create: the tag moves right after Check.
    armed.store(true, Ordering::SeqCst);
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    assert!(
        !armed.load(Ordering::SeqCst),
        "the tag was moved after Check"
    );
    assert_eq!(registry_digest(&w.base.reference), Some(b.clone()));
    let progress = progress_for(&up, "app");
    assert!(
        progress
            .iter()
            .any(|l| l.contains("FROM") && l.contains(&a)),
        "built FROM the recorded {a}:\n{}",
        progress.join("\n")
    );
    assert!(
        progress
            .iter()
            .any(|l| l.contains("COPY --from=") && l.contains(&a)),
        "COPY --from the recorded {a}:\n{}",
        progress.join("\n")
    );
    assert!(
        !progress.iter().any(|l| l.contains(&b)),
        "never FROM the moved tag's {b}"
    );
    let state = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(
        state.outputs["baseImageDigests"][&w.base.reference],
        json!(a)
    );
    assert_eq!(
        state.inputs["__observed"]["baseImageDigests"][&w.base.reference],
        json!(a),
        "Check recorded {a}"
    );

    // The next preview sees the move as a change: it was never built.
    let preview = w.stack.preview(&program).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update));
    let reason = format!("FROM {} moved {a} -> {b}", w.base.reference);
    assert!(
        messages_for(&preview, "app").contains(&reason),
        "{:?}",
        messages_for(&preview, "app")
    );
}

/// Registry down. Preview warns (naming the base image and the age
/// of the recorded digest), uses the recorded digest and succeeds; up with
/// `missing` builds from the local store with the same warning.
#[tokio::test]
async fn an_unreachable_registry_never_fails_a_preview_and_up_builds_from_the_local_store() {
    let w = World::start();
    let a = w.base.digest.clone();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    // Not pushed: the registry that holds the base is down during the test.
    let program = Program::new().resource(w.image("app", &ctx, json!({ "push": false })));
    w.stack.up(&program).await.unwrap().assert_ok();
    let created = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let first = resolution(&created.outputs, &w.base.reference);
    assert_eq!(first["digest"], json!(a));
    assert_eq!(first["source"], json!("registry"));
    let resolved_at = first["resolvedAt"].as_str().unwrap_or_default().to_string();
    assert!(
        resolved_at.ends_with('Z') && resolved_at.len() == 20,
        "{resolved_at}"
    );

    w.registry.stop();
    let preview = w.stack.preview(&program).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Same), "nothing changed");
    let warnings = warnings_for(&preview, "app");
    let warned = warnings.iter().find(|m| {
        m.contains(&format!("base image {}", w.base.reference))
            && m.contains("cannot be reached")
            && m.contains(&a)
            && m.contains(&format!("ago ({resolved_at})"))
    });
    assert!(warned.is_some(), "preview warns: {warnings:?}");

    // A real change: up rebuilds offline, from the locally stored base.
    write_files(&ctx, &[("src/app.ts", "y\n")]);
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Update));
    assert!(
        warnings_for(&up, "app")
            .iter()
            .any(|m| m.contains("cannot be reached") && m.contains(&a)),
        "up warns too: {:?}",
        warnings_for(&up, "app")
    );
    let pinned = format!("{}@{a}", w.base.reference.rsplit_once(':').unwrap().0);
    assert!(
        messages_for(&up, "app").contains(&format!(
            "base image {pinned} taken from the local image store (nothing pulled)"
        )),
        "{:?}",
        messages_for(&up, "app")
    );
    let rebuilt = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_ne!(rebuilt.outputs["digest"], created.outputs["digest"]);
    let kept = resolution(&rebuilt.outputs, &w.base.reference);
    assert_eq!(kept["digest"], json!(a));
    assert_eq!(kept["source"], json!("state"));
    assert_eq!(kept["resolvedAt"], json!(resolved_at), "its age is kept");
}

/// A variant no earlier run used, so its digest is in no local store yet.
fn unique_variant(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{label}-{}-{nanos}", std::process::id())
}

/// `registry/repository@digest` of a pushed image.
fn pinned(image: &imagedeploy_testsupport::PushedImage) -> String {
    image.pinned()
}

/// The first number after `prefix` in `message`.
fn number_after(message: &str, prefix: &str) -> Option<u64> {
    let rest = message.split_once(prefix)?.1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `missing` pulls once (the log says how many bytes) and then uses the
/// local store; `never` builds offline from the store without asking the
/// registry (also for a new stack, through the tag the store now carries);
/// `always` needs the registry; `never` refuses at preview, naming the
/// image, when it is not stored.
#[tokio::test]
async fn base_image_pull_missing_always_never() {
    let w = World::start();
    let fresh = push_base_image(&w.registry, "fresh:1", &unique_variant("pull"))
        .expect("push a base image no store has");
    let dockerfile = simple_dockerfile(&format!("FROM {}", fresh.reference));
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "1\n")]);
    let image = |extra: Json| {
        let mut inputs = json!({ "push": false });
        merge(&mut inputs, extra);
        Program::new().resource(w.image("app", &ctx, inputs))
    };

    let up = w.stack.up(&image(json!({}))).await.unwrap();
    up.assert_ok();
    let messages = messages_for(&up, "app");
    let prefix = format!("pulled base image {} (", pinned(&fresh));
    let pulled = messages.iter().find_map(|m| number_after(m, &prefix));
    assert!(
        pulled.is_some_and(|bytes| bytes > 100_000),
        "the first build pulls the base and says how many bytes: {messages:?}"
    );

    // missing, second build: nothing pulled.
    write_files(&ctx, &[("src/app.ts", "2\n")]);
    let up = w.stack.up(&image(json!({}))).await.unwrap();
    up.assert_ok();
    let local = format!(
        "base image {} taken from the local image store (nothing pulled)",
        pinned(&fresh)
    );
    assert!(
        messages_for(&up, "app").contains(&local),
        "{:?}",
        messages_for(&up, "app")
    );
    assert!(!messages_for(&up, "app")
        .iter()
        .any(|m| m.starts_with("pulled ")));

    // never, registry down: built from the store, and no registry was asked
    // (an attempt would have warned that it cannot be reached).
    w.registry.stop();
    write_files(&ctx, &[("src/app.ts", "3\n")]);
    let up = w
        .stack
        .up(&image(json!({ "baseImagePull": "never" })))
        .await
        .unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Update));
    assert!(messages_for(&up, "app").contains(&local));
    assert!(
        warnings_for(&up, "app").is_empty(),
        "never asks no registry: {:?}",
        warnings_for(&up, "app")
    );
    let state = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(
        resolution(&state.outputs, &fresh.reference)["digest"],
        json!(fresh.digest)
    );

    // A new stack (nothing recorded), registry still down: `never` finds the
    // tag in the local store, where the earlier builds named the image.
    let second = w.another_stack("second");
    let up = second
        .up(&image(json!({ "baseImagePull": "never" })))
        .await
        .unwrap();
    up.assert_ok();
    let state = second.state().unwrap().by_name("app").unwrap().clone();
    let local_resolution = resolution(&state.outputs, &fresh.reference);
    assert_eq!(local_resolution["digest"], json!(fresh.digest));
    assert_eq!(local_resolution["source"], json!("local"));

    // always, registry down: the builder must pull, so the build fails.
    write_files(&ctx, &[("src/app.ts", "4\n")]);
    let up = w
        .stack
        .up(&image(json!({ "baseImagePull": "always" })))
        .await
        .unwrap();
    assert!(!up.errors.is_empty(), "always pulls: the registry is down");
    w.registry.restart().expect("registry back");
    let up = w
        .stack
        .up(&image(json!({ "baseImagePull": "always" })))
        .await
        .unwrap();
    up.assert_ok();
    assert!(
        messages_for(&up, "app")
            .iter()
            .any(|m| m.starts_with(&format!(
                "base image {} pulled again (baseImagePull: always)",
                pinned(&fresh)
            ))),
        "{:?}",
        messages_for(&up, "app")
    );

    // never with an image no store has: refused at preview, naming it.
    let absent = push_base_image(&w.registry, "absent:1", &unique_variant("never"))
        .expect("push a base image no store has");
    let other = w.context(
        "other",
        &[
            (
                "Dockerfile",
                &simple_dockerfile(&format!("FROM {}", absent.reference)),
            ),
            ("src/app.ts", "1\n"),
        ],
    );
    let never = Program::new().resource(w.image(
        "other",
        &other,
        json!({ "push": false, "baseImagePull": "never" }),
    ));
    let preview = w.stack.preview(&never).await.unwrap();
    let error = preview.errors.join("\n");
    assert!(
        error.contains("baseImagePull")
            && error.contains(&format!("base image {} is not in", absent.reference)),
        "{error}"
    );
}

/// Within `intervalSeconds` a recorded digest is used without any
/// network call (the registry is down and nothing warns; a moved tag is not
/// seen); changing `trigger` resolves now; after the interval, it resolves.
#[tokio::test]
async fn base_image_refresh_interval_and_trigger() {
    let w = World::start();
    let a = w.base.digest.clone();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let program = |refresh: Json| {
        Program::new().resource(w.image(
            "app",
            &ctx,
            json!({ "push": false, "baseImageRefresh": refresh }),
        ))
    };
    let hourly = program(json!({ "intervalSeconds": 3600 }));
    w.stack.up(&hourly).await.unwrap().assert_ok();

    w.registry.stop();
    let preview = w.stack.preview(&hourly).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Same));
    assert!(
        warnings_for(&preview, "app").is_empty(),
        "within the interval the registry is not asked: {:?}",
        warnings_for(&preview, "app")
    );
    w.registry.restart().expect("registry back");
    let b = push_base_image(&w.registry, "base:1", "two")
        .expect("move base:1")
        .digest;
    let up = w.stack.up(&hourly).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Same), "the move is not seen yet");

    // A new trigger: resolved now.
    let triggered = program(json!({ "intervalSeconds": 3600, "trigger": "1" }));
    let preview = w.stack.preview(&triggered).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update));
    let reason = format!("FROM {} moved {a} -> {b}", w.base.reference);
    assert!(
        messages_for(&preview, "app").contains(&reason),
        "{:?}",
        messages_for(&preview, "app")
    );
    w.stack.up(&triggered).await.unwrap().assert_ok();
    let state = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let r = resolution(&state.outputs, &w.base.reference);
    assert_eq!(r["digest"], json!(b));
    assert_eq!(r["source"], json!("registry"));

    // A short interval that has passed: resolved again.
    let c = push_base_image(&w.registry, "base:1", "three")
        .expect("move base:1 again")
        .digest;
    let short = program(json!({ "intervalSeconds": 1, "trigger": "1" }));
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let preview = w.stack.preview(&short).await.unwrap();
    preview.assert_ok();
    let reason = format!("FROM {} moved {b} -> {c}", w.base.reference);
    assert!(
        messages_for(&preview, "app").contains(&reason),
        "{:?}",
        messages_for(&preview, "app")
    );
}

/// Bad settings are CheckFailures on their property: a non-positive
/// interval, and `never` with the Docker engine (BuildKit cannot be kept
/// from contacting registries).
#[tokio::test]
async fn bad_base_image_settings_fail_check_on_their_property() {
    let w = World::start();
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &simple_dockerfile(&w.base_from())),
            ("src/app.ts", "x\n"),
        ],
    );
    let program = Program::new().resource(w.image(
        "app",
        &ctx,
        json!({
            "builder": { "kind": "docker" },
            "baseImagePull": "never",
            "baseImageRefresh": { "intervalSeconds": 0 },
        }),
    ));
    let preview = w.stack.preview(&program).await.unwrap();
    let error = preview.errors.join("\n");
    assert!(
        error.contains("baseImageRefresh.intervalSeconds")
            && error.contains("must be a positive number of seconds, got 0"),
        "{error}"
    );
    assert!(
        error.contains("baseImagePull") && error.contains("needs the buildah builder"),
        "{error}"
    );
    assert!(preview.calls("Create").is_empty(), "nothing built");
}
