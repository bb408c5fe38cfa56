//! Multi-platform images: `platforms: ["linux/amd64", "linux/arm64"]` builds
//! each platform, pushes each manifest and one canonical OCI index; each
//! platform is its own unit of change. Real buildah builds (COPY-only
//! Dockerfiles `FROM scratch`, so no emulator is needed here) against a
//! real registry, read back with skopeo.

mod image_support;

use image_support::*;
use imagedeploy_tests::{Op, Program};
use imagedeploy_testsupport::DockerEngine;
use serde_json::{json, Value as Json};

/// Copies the file of the target architecture, and one shared file.
const DOCKERFILE: &str = "FROM scratch\nARG TARGETARCH\nCOPY app-${TARGETARCH} /app\nCOPY shared.txt /shared.txt\nCMD [\"/app\"]\n";

fn files<'a>(amd64: &'a str, arm64: &'a str, shared: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Dockerfile", DOCKERFILE),
        ("app-amd64", amd64),
        ("app-arm64", arm64),
        ("shared.txt", shared),
        ("README.md", "not copied\n"),
    ]
}

fn both() -> Json {
    json!({ "platforms": ["linux/arm64", "linux/amd64"] })
}

fn platform_digests(out: &Json) -> (String, String) {
    let get = |p: &str| {
        out["platformDigests"][p]
            .as_str()
            .unwrap_or_else(|| panic!("platformDigests.{p}: {out}"))
            .to_string()
    };
    (get("linux/amd64"), get("linux/arm64"))
}

/// `repository@digest` of a child, for skopeo.
fn child_ref(w: &World, name: &str, digest: &str) -> String {
    format!("{}/{name}@{digest}", w.registry.address())
}

#[tokio::test]
async fn two_platforms_make_one_canonical_index_of_their_manifests() {
    let w = World::start();
    let ctx = w.context("app", &files("amd64 build\n", "arm64 build\n", "shared\n"));
    let program = Program::new().resource(w.image("app", &ctx, both()));
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let out = state_outputs(&w.stack, "app");
    let (amd64, arm64) = platform_digests(&out);
    assert_ne!(amd64, arm64);

    // The tag names the index, whose digest is `digest` and `ref`'s.
    let index = registry_json(&w.tag("app"), false);
    assert_eq!(
        registry_digest(&w.tag("app")).as_deref(),
        out["digest"].as_str()
    );
    assert_eq!(
        out["ref"].as_str().unwrap(),
        child_ref(&w, "app", out["digest"].as_str().unwrap())
    );
    assert_eq!(
        index["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert_eq!(index["schemaVersion"], 2);
    assert!(index.get("annotations").is_none(), "{index}");
    let children = index["manifests"].as_array().expect("manifests");
    assert_eq!(children.len(), 2, "no attestation entries: {index}");
    let listed: Vec<(&str, &str)> = children
        .iter()
        .map(|c| {
            assert!(c.get("annotations").is_none(), "{c}");
            (
                c["platform"]["architecture"].as_str().unwrap(),
                c["digest"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![("amd64", amd64.as_str()), ("arm64", arm64.as_str())],
        "children sorted by platform, digests as in platformDigests"
    );

    // Each child is that platform's image, with that platform's file.
    for (arch, digest) in [("amd64", &amd64), ("arm64", &arm64)] {
        let reference = child_ref(&w, "app", digest);
        assert_eq!(
            registry_digest(&reference).as_deref(),
            Some(digest.as_str())
        );
        let config = registry_json(&reference, true);
        assert_eq!(config["architecture"], arch);
        assert_eq!(config["os"], "linux");
        let child = children
            .iter()
            .find(|c| c["digest"] == json!(digest))
            .unwrap();
        assert_eq!(
            child["size"].as_u64(),
            Some(registry_manifest_len(&reference)),
            "descriptor size"
        );
    }
    let contents = &out["platformContentDigests"];
    assert!(contents["linux/amd64"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));
    assert_ne!(contents["linux/amd64"], contents["linux/arm64"]);
    assert_eq!(out["platform"], "linux/amd64", "sizes describe the first");
    assert!(out["sizeBytes"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn only_the_platform_whose_inputs_changed_is_built_again() {
    let w = World::start();
    let ctx = w.context("app", &files("amd64 v1\n", "arm64 v1\n", "shared v1\n"));
    let program = Program::new().resource(w.image("app", &ctx, both()));
    w.stack.up(&program).await.unwrap().assert_ok();
    let first = state_outputs(&w.stack, "app");
    let (amd64, arm64) = platform_digests(&first);

    // An edit only the arm64 build reads.
    write_files(&ctx, &[("app-arm64", "arm64 v2\n")]);
    let preview = w.stack.preview(&program).await.unwrap();
    preview.assert_ok();
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Update));
    let messages = messages_for(&up, "app");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("linux/amd64: inputs unchanged; not built")),
        "{messages:#?}"
    );
    assert!(
        !messages
            .iter()
            .any(|m| m.starts_with("linux/amd64: build steps")),
        "{messages:#?}"
    );
    let second = state_outputs(&w.stack, "app");
    let (amd64_2, arm64_2) = platform_digests(&second);
    assert_eq!(amd64_2, amd64, "the unchanged platform keeps its manifest");
    assert_ne!(arm64_2, arm64);
    assert_ne!(second["digest"], first["digest"]);
    assert_eq!(
        second["platformContentDigests"]["linux/amd64"],
        first["platformContentDigests"]["linux/amd64"]
    );
    // Preview built the changed platform and showed the exact index digest.
    let previewed = &response(&preview, "Update", "app")["properties"];
    assert_eq!(previewed["digest"], second["digest"], "{previewed}");
    assert_eq!(
        registry_digest(&w.tag("app")).as_deref(),
        second["digest"].as_str()
    );

    // A file both read: both are built, both change.
    write_files(&ctx, &[("shared.txt", "shared v2\n")]);
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let messages = messages_for(&up, "app");
    for p in ["linux/amd64", "linux/arm64"] {
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with(&format!("{p}: build steps"))),
            "{p}: {messages:#?}"
        );
    }
    let third = state_outputs(&w.stack, "app");
    let (amd64_3, arm64_3) = platform_digests(&third);
    assert_ne!(amd64_3, amd64_2);
    assert_ne!(arm64_3, arm64_2);

    // A file neither reads: no change at all.
    write_files(&ctx, &[("README.md", "edited\n")]);
    let again = w.stack.up(&program).await.unwrap();
    again.assert_ok();
    assert!(again.calls("Update").is_empty(), "README edit: no update");
    assert_eq!(state_outputs(&w.stack, "app")["digest"], third["digest"]);
}

#[tokio::test]
async fn the_same_children_give_the_same_index_on_another_machine() {
    let w = World::start();
    let ctx = w.context("app", &files("amd64\n", "arm64\n", "shared\n"));
    let program = Program::new().resource(w.image("app", &ctx, both()));
    w.stack.up(&program).await.unwrap().assert_ok();
    let first = state_outputs(&w.stack, "app");

    // Another stack with its own state and caches, and the platforms
    // written in the other order: the same index.
    let other = w.another_stack("second");
    let reordered = json!({ "platforms": ["linux/amd64", "linux/arm64"] });
    let program = Program::new().resource(w.image("app", &ctx, reordered));
    other.up(&program).await.unwrap().assert_ok();
    let second = state_outputs(&other, "app");
    assert_eq!(second["digest"], first["digest"]);
    assert_eq!(second["platformDigests"], first["platformDigests"]);
    assert_eq!(second["contentDigest"], first["contentDigest"]);
}

#[tokio::test]
async fn platforms_are_checked_before_anything_is_built() {
    let w = World::start();
    let ctx = w.context("app", &files("a\n", "b\n", "c\n"));
    let bad = json!({ "platforms": ["linux/amd64", "arm64", "linux/amd64"] });
    let program = Program::new().resource(w.image("app", &ctx, bad));
    let preview = w.stack.preview(&program).await.unwrap();
    let failures = check_failures(&preview, "app");
    assert!(
        failures
            .iter()
            .any(|(p, m)| p == "platforms[1]" && m.contains("os/architecture")),
        "{failures:?}"
    );
    assert!(
        failures
            .iter()
            .any(|(p, m)| p == "platforms[2]" && m.contains("listed twice")),
        "{failures:?}"
    );
}

/// The Docker engine: one BuildKit build per platform, the index assembled
/// and pushed by the provider. Its digests are not reproducible, so a
/// platform rebuilt with the same content keeps its old manifest by the
/// content digest. Skipped, with the reason printed, where dockerd cannot
/// start.
#[tokio::test]
async fn docker_engine_builds_each_platform_and_keeps_unchanged_content() {
    let w = World::start();
    let Some(engine) = DockerEngine::start_or_skip(
        "docker_engine_builds_each_platform_and_keeps_unchanged_content",
        &w.registry.address(),
    ) else {
        return;
    };
    let dockerfile = format!("{}ARG NOTE\n", DOCKERFILE);
    let ctx = w.context("app", &files("amd64\n", "arm64 v1\n", "shared\n"));
    write_files(&ctx, &[("Dockerfile", &dockerfile)]);
    let program = |note: &str| {
        Program::new().resource(w.image(
            "app",
            &ctx,
            json!({
                "platforms": ["linux/amd64", "linux/arm64"],
                "builder": { "kind": "docker", "host": engine.host },
                "buildArgs": { "NOTE": note },
            }),
        ))
    };
    w.stack.up(&program("a")).await.unwrap().assert_ok();
    let first = state_outputs(&w.stack, "app");
    let (amd64, arm64) = platform_digests(&first);
    for (arch, digest) in [("amd64", &amd64), ("arm64", &arm64)] {
        let config = registry_json(&child_ref(&w, "app", digest), true);
        assert_eq!(config["architecture"], arch);
    }
    assert_eq!(
        registry_digest(&w.tag("app")).as_deref(),
        first["digest"].as_str()
    );

    // Every platform built again (the build arg is an input of both), with
    // the same content: the index and its children stay as they were.
    let up = w.stack.up(&program("b")).await.unwrap();
    up.assert_ok();
    let messages = messages_for(&up, "app");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("linux/arm64: same content as before")),
        "{messages:#?}"
    );
    let second = state_outputs(&w.stack, "app");
    assert_eq!(second["digest"], first["digest"]);
    assert_eq!(second["platformDigests"], first["platformDigests"]);

    // One platform's file: only that one is built and changes.
    write_files(&ctx, &[("app-arm64", "arm64 v2\n")]);
    let up = w.stack.up(&program("b")).await.unwrap();
    up.assert_ok();
    let third = state_outputs(&w.stack, "app");
    let (amd64_3, arm64_3) = platform_digests(&third);
    assert_eq!(amd64_3, amd64);
    assert_ne!(arm64_3, arm64);
    let config = registry_json(&child_ref(&w, "app", &arm64_3), true);
    assert_eq!(config["architecture"], "arm64");
    drop(engine);
}

/// A multi-platform base image whose arm64 child moved while its amd64
/// child stayed: the base counts per platform, so only arm64 is built
/// again and the amd64 manifest stays. The base is itself built by the
/// provider, in its own stack (another team's), `FROM scratch`.
#[tokio::test]
async fn a_base_that_moved_in_one_platform_rebuilds_only_that_platform() {
    let w = World::start();
    let registry = w.registry.address();
    let base_stack = w.another_stack("base");
    let base_ctx = w.context(
        "base",
        &[
            (
                "Dockerfile",
                "FROM scratch\nARG TARGETARCH\nCOPY base-${TARGETARCH} /base\n",
            ),
            ("base-amd64", "amd64 base\n"),
            ("base-arm64", "arm64 base v1\n"),
        ],
    );
    let base_program = Program::new().resource(w.image("tinybase", &base_ctx, both()));
    base_stack.up(&base_program).await.unwrap().assert_ok();
    let first_base = state_outputs(&base_stack, "tinybase");

    let dockerfile =
        format!("FROM {registry}/tinybase:latest\nARG TARGETARCH\nCOPY app-${{TARGETARCH}} /app\n");
    let ctx = w.context("app", &files("amd64\n", "arm64\n", "shared\n"));
    write_files(&ctx, &[("Dockerfile", &dockerfile)]);
    let program = Program::new().resource(w.image("app", &ctx, both()));
    w.stack.up(&program).await.unwrap().assert_ok();
    let first = state_outputs(&w.stack, "app");
    let (amd64, arm64) = platform_digests(&first);

    write_files(&base_ctx, &[("base-arm64", "arm64 base v2\n")]);
    base_stack.up(&base_program).await.unwrap().assert_ok();
    let second_base = state_outputs(&base_stack, "tinybase");
    assert_eq!(
        first_base["platformDigests"]["linux/amd64"],
        second_base["platformDigests"]["linux/amd64"]
    );
    assert_ne!(first_base["digest"], second_base["digest"]);

    let preview = w.stack.preview(&program).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update), "the base tag moved");
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let messages = messages_for(&up, "app");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("linux/amd64: inputs unchanged; not built")),
        "{messages:#?}"
    );
    let second = state_outputs(&w.stack, "app");
    let (amd64_2, arm64_2) = platform_digests(&second);
    assert_eq!(amd64_2, amd64);
    assert_ne!(arm64_2, arm64);
}

/// `pulumi import` of an index by its `ref`: the platforms and their
/// manifests come with it, and the program that built it (platforms listed
/// in another order) then shows no change.
#[tokio::test]
async fn an_index_is_imported_with_its_platforms() {
    let w = World::start();
    let ctx = w.context("app", &files("amd64\n", "arm64\n", "shared\n"));
    let program = Program::new().resource(w.image("app", &ctx, both()));
    w.stack.up(&program).await.unwrap().assert_ok();
    let original = state_outputs(&w.stack, "app");
    let reference = original["ref"].as_str().unwrap().to_string();

    let adopter = w.another_stack("adopter");
    let reordered = json!({ "platforms": ["linux/amd64", "linux/arm64"] });
    let adopt = Program::new().resource(w.image("app", &ctx, reordered.clone()).import(&reference));
    let r = adopter.up(&adopt).await.unwrap();
    r.assert_ok();
    assert_eq!(r.steps[0].op, Op::Import);
    let adopted = state_outputs(&adopter, "app");
    assert_eq!(adopted["digest"], original["digest"]);
    assert_eq!(adopted["platformDigests"], original["platformDigests"]);
    assert_eq!(adopted["platforms"], json!(["linux/amd64", "linux/arm64"]));
    assert_eq!(adopted["platform"], "linux/amd64");

    // The first up builds once (an import knows no fingerprint), with the
    // same content: digest and children stay.
    let program = Program::new().resource(w.image("app", &ctx, reordered));
    adopter.up(&program).await.unwrap().assert_ok();
    let after = state_outputs(&adopter, "app");
    assert_eq!(after["digest"], original["digest"]);
    assert_eq!(after["platformDigests"], original["platformDigests"]);
    let again = adopter.preview(&program).await.unwrap();
    again.assert_ok();
    assert_eq!(again.op("app"), Some(Op::Same));
}

/// The destination counts per platform too: a new compression pushes new
/// manifests (zstd layers) although the content is the same, and a tag in
/// a second repository gets every child there before the index.
#[tokio::test]
async fn compression_and_a_second_repository_reach_every_platform() {
    let w = World::start();
    let ctx = w.context("app", &files("amd64\n", "arm64\n", "shared\n"));
    let program = |extra: Json| {
        let mut inputs = both();
        merge(&mut inputs, extra);
        Program::new().resource(w.image("app", &ctx, inputs))
    };
    w.stack.up(&program(json!({}))).await.unwrap().assert_ok();
    let gzip = state_outputs(&w.stack, "app");

    w.stack
        .up(&program(json!({ "compression": "zstd" })))
        .await
        .unwrap()
        .assert_ok();
    let zstd = state_outputs(&w.stack, "app");
    assert_eq!(zstd["contentDigest"], gzip["contentDigest"]);
    let (amd64, arm64) = platform_digests(&zstd);
    assert_ne!((amd64.clone(), arm64.clone()), platform_digests(&gzip));
    for digest in [&amd64, &arm64] {
        let manifest = registry_json(&child_ref(&w, "app", digest), false);
        let layer = manifest["layers"][0]["mediaType"]
            .as_str()
            .unwrap_or_default();
        assert!(layer.ends_with("+zstd"), "{manifest}");
    }

    let second = format!("{}/mirror:latest", w.registry.address());
    w.stack
        .up(&program(
            json!({ "compression": "zstd", "tags": [w.tag("app"), second] }),
        ))
        .await
        .unwrap()
        .assert_ok();
    let mirrored = state_outputs(&w.stack, "app");
    assert_eq!(mirrored["digest"], zstd["digest"]);
    assert_eq!(
        registry_digest(&second).as_deref(),
        zstd["digest"].as_str(),
        "the index is in the second repository"
    );
    for digest in [&amd64, &arm64] {
        let child = child_ref(&w, "mirror", digest);
        assert_eq!(registry_digest(&child).as_deref(), Some(digest.as_str()));
    }
}

/// Preview does not ask the registry it would push to: with the registry
/// stopped, a preview of an arm64-only edit builds arm64, lists the amd64
/// manifest from state and shows the new index digest, which the up (with
/// the registry back) then pushes.
#[tokio::test]
async fn preview_of_a_multi_platform_change_needs_no_registry() {
    let w = World::start();
    let ctx = w.context("app", &files("amd64\n", "arm64 v1\n", "shared\n"));
    let program = Program::new().resource(w.image("app", &ctx, both()));
    w.stack.up(&program).await.unwrap().assert_ok();

    write_files(&ctx, &[("app-arm64", "arm64 v2\n")]);
    w.registry.stop();
    let preview = w.stack.preview(&program).await.unwrap();
    preview.assert_ok();
    let previewed = preview.step("app").unwrap().outputs["digest"].clone();
    assert!(
        messages_for(&preview, "app")
            .iter()
            .any(|m| m.starts_with("linux/amd64: inputs unchanged; not built")),
        "{:#?}",
        messages_for(&preview, "app")
    );
    w.registry.restart().expect("the registry starts again");
    w.stack.up(&program).await.unwrap().assert_ok();
    assert_eq!(state_outputs(&w.stack, "app")["digest"], previewed);
}
