//! Images for a foreign platform (issue #13): a `RUN` that must execute on
//! it is found at Check, and without an emulator preview fails on
//! `platforms`, naming the Dockerfile line and the fix, instead of the
//! build failing halfway; with qemu registered in binfmt_misc the build
//! runs under emulation and the image really is arm64.
//!
//! "A machine without the emulator" is this one with
//! `IMAGEDEPLOY_BINFMT_MISC_DIR` pointing the plugin at an empty directory.

mod image_support;

use std::path::Path;
use std::process::{Command, Stdio};

use image_support::*;
use imagedeploy_tests::Program;
use imagedeploy_testsupport::{emulation_available, push_multi_platform_busybox, PushedImage};
use serde_json::json;

fn multi_base(w: &World) -> PushedImage {
    push_multi_platform_busybox(&w.registry)
        .unwrap_or_else(|e| panic!("cannot make the multi-platform base image: {e}"))
}

#[tokio::test]
async fn without_an_emulator_preview_names_the_run_line_and_the_fix() {
    let w = World::start();
    let base = multi_base(&w);
    let no_binfmt = tempfile::tempdir().unwrap();
    let stack = w.another_stack("no-emulator").with_env(
        "IMAGEDEPLOY_BINFMT_MISC_DIR",
        &no_binfmt.path().to_string_lossy(),
    );
    let arm64 = json!({ "platforms": ["linux/arm64"] });

    // A RUN on the target platform: a CheckFailure on `platforms`.
    let run = format!(
        "FROM {}\nCOPY a.txt /a.txt\n\nRUN uname -m > /arch\n",
        base.reference
    );
    let ctx = w.context("run", &[("Dockerfile", &run), ("a.txt", "a\n")]);
    let p = Program::new().resource(w.image("app", &ctx, arm64.clone()));
    let r = stack.preview(&p).await.unwrap();
    assert!(!r.ok(), "preview must fail");
    let failures = check_failures(&r, "app");
    let reason = failures
        .iter()
        .find(|(property, _)| property == "platforms")
        .map(|(_, reason)| reason.clone())
        .unwrap_or_else(|| panic!("a failure on platforms, got {failures:?}"));
    for words in [
        "linux/arm64",
        "Dockerfile line 4",
        "RUN uname -m > /arch",
        "qemu-aarch64",
        "qemu-user-static",
        "FROM --platform=$BUILDPLATFORM",
    ] {
        assert!(reason.contains(words), "{words:?} in {reason}");
    }
    println!("the failure: {reason}");
    assert!(r.calls("Create").is_empty(), "nothing is built");
    let progress = progress_for(&r, "app");
    assert!(
        !progress
            .iter()
            .any(|l| l.contains("STEP") || l.contains("building")),
        "no build started: {progress:?}"
    );

    // The RUN in a stage on the build platform runs natively: no failure.
    let native = format!(
        "FROM --platform=$BUILDPLATFORM {base} AS build\nRUN echo built > /out\nFROM build AS more\nRUN echo more >> /out\nFROM {base}\nCOPY --from=more /out /out\n",
        base = base.reference
    );
    write_files(&ctx, &[("Dockerfile", &native)]);
    let r = stack.preview(&p).await.unwrap();
    r.assert_ok();

    // COPY only: nothing runs on arm64.
    let copy_only = format!("FROM {}\nCOPY a.txt /a.txt\n", base.reference);
    write_files(&ctx, &[("Dockerfile", &copy_only)]);
    let r = stack.preview(&p).await.unwrap();
    r.assert_ok();

    // A platform the Dockerfile names itself is the Dockerfile's to fix.
    let named = format!(
        "FROM --platform=linux/arm64 {base} AS tool\nRUN uname -m > /arch\nFROM {base}\nCOPY --from=tool /arch /arch\n",
        base = base.reference
    );
    write_files(&ctx, &[("Dockerfile", &named)]);
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    let r = stack.preview(&p).await.unwrap();
    assert!(!r.ok(), "preview must fail");
    let failures = check_failures(&r, "app");
    assert!(
        failures
            .iter()
            .any(|(property, reason)| property == "dockerfile"
                && reason.contains("Dockerfile line 2")
                && reason.contains("stage tool")),
        "{failures:?}"
    );
}

#[tokio::test]
async fn with_qemu_registered_a_run_step_builds_under_emulation() {
    if let Err(why) = emulation_available("linux/arm64") {
        println!("SKIPPED: linux/arm64 programs cannot run on this machine: {why}");
        return;
    }
    let w = World::start();
    let base = multi_base(&w);
    let dockerfile = format!("FROM {}\nRUN uname -m > /arch\n", base.reference);
    let ctx = w.context("arm", &[("Dockerfile", &dockerfile)]);
    let p = Program::new().resource(w.image("arm", &ctx, json!({ "platforms": ["linux/arm64"] })));
    let up = w.stack.up(&p).await.unwrap();
    up.assert_ok();

    let outputs = state_outputs(&w.stack, "arm");
    assert_eq!(outputs["platform"], json!("linux/arm64"), "{outputs}");
    let config = registry_json(&w.tag("arm"), true);
    assert_eq!(config["architecture"], json!("arm64"), "{config}");
    assert_eq!(
        file_in_image(&w.tag("arm"), "arch").as_deref(),
        Some("aarch64\n"),
        "the RUN step ran on arm64"
    );
}

/// Two platforms from a multi-platform base: each platform's build starts
/// from that platform's child of the base index and runs its RUN step on
/// that platform (arm64 under qemu).
#[tokio::test]
async fn each_platform_runs_its_own_run_steps_on_its_own_base() {
    if let Err(why) = emulation_available("linux/arm64") {
        println!("SKIPPED: linux/arm64 programs cannot run on this machine: {why}");
        return;
    }
    let w = World::start();
    let base = multi_base(&w);
    let dockerfile = format!(
        "FROM {}\nARG TARGETARCH\nRUN uname -m > /arch && echo $TARGETARCH > /target\n",
        base.reference
    );
    let ctx = w.context("both", &[("Dockerfile", &dockerfile)]);
    let p = Program::new().resource(w.image(
        "both",
        &ctx,
        json!({ "platforms": ["linux/amd64", "linux/arm64"] }),
    ));
    w.stack.up(&p).await.unwrap().assert_ok();
    let outputs = state_outputs(&w.stack, "both");
    for (platform, machine, arch) in [
        ("linux/amd64", "x86_64\n", "amd64\n"),
        ("linux/arm64", "aarch64\n", "arm64\n"),
    ] {
        let digest = outputs["platformDigests"][platform]
            .as_str()
            .unwrap_or_else(|| panic!("platformDigests.{platform}: {outputs}"));
        let child = format!("{}/both@{digest}", w.registry.address());
        assert_eq!(
            file_in_image(&child, "arch").as_deref(),
            Some(machine),
            "{platform}"
        );
        assert_eq!(
            file_in_image(&child, "target").as_deref(),
            Some(arch),
            "{platform}"
        );
        assert_eq!(
            registry_json(&child, true)["architecture"],
            json!(arch.trim()),
            "{platform}"
        );
    }
}

/// The content of `path` in the image `reference` (the topmost layer that
/// has it), read with skopeo and tar: clients independent of ours.
fn file_in_image(reference: &str, path: &str) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let copied = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .arg(format!("dir:{}", dir.path().display()))
        .stdin(Stdio::null())
        .output()
        .expect("skopeo is needed (apt-get install skopeo)");
    assert!(
        copied.status.success(),
        "skopeo copy: {}",
        String::from_utf8_lossy(&copied.stderr)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let layers = manifest["layers"].as_array().cloned().unwrap_or_default();
    layers.iter().rev().find_map(|layer| {
        let digest = layer["digest"].as_str()?;
        let blob = dir.path().join(digest.trim_start_matches("sha256:"));
        read_from_layer(&blob, path)
    })
}

fn read_from_layer(blob: &Path, path: &str) -> Option<String> {
    [path.to_string(), format!("./{path}")]
        .iter()
        .find_map(|name| {
            let out = Command::new("tar")
                .arg("-xzOf")
                .arg(blob)
                .arg(name)
                .stderr(Stdio::null())
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        })
}
