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

/// Piece 1: a tag moved between Check and the build does not change what is
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

    let dockerfile = simple_dockerfile(&w.base_from());
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

/// Piece 2: registry down. Preview warns (naming the base image and the age
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
