//! The size report: `layers`, `sizeBytes` and `uncompressedBytes` from the
//! pushed manifest and config (cross-checked with skopeo), the layer delta
//! against the image in state with the cascade advice only for a bad layer
//! order, and `sizeBudget` in preview and up. Real buildah builds against a
//! real registry.

mod image_support;

use image_support::*;
use imagedeploy_tests::Program;
use serde_json::{json, Value as Json};

/// A stand-in `npm` the Dockerfiles run as `npm ci`: it "installs" by
/// copying the dependency manifest, so its layer depends on package.json.
const NPM: &str = "#!/bin/sh\ncat package.json > /deps.txt\n";

/// `COPY . .` before the install: every source edit runs it again.
fn bad_order(from: &str) -> String {
    format!(
        "{from}\nCOPY npm /usr/local/bin/npm\nCOPY . /app\nRUN cd /app && sh /usr/local/bin/npm ci\nCMD [\"/bin/cat\", \"/deps.txt\"]\n"
    )
}

/// The manifests and the install first, the sources after.
fn good_order(from: &str) -> String {
    format!(
        "{from}\nCOPY npm /usr/local/bin/npm\nCOPY package.json /app/\nRUN cd /app && sh /usr/local/bin/npm ci\nCOPY . /app\nCMD [\"/bin/cat\", \"/deps.txt\"]\n"
    )
}

fn files<'a>(dockerfile: &'a str, src: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Dockerfile", dockerfile),
        ("npm", NPM),
        (
            "package.json",
            "{\"name\": \"app\", \"dependencies\": {}}\n",
        ),
        ("src/app.js", src),
    ]
}

#[tokio::test]
async fn layers_and_sizes_match_the_registry_and_name_their_dockerfile_lines() {
    let w = World::start();
    let dockerfile = bad_order(&w.base_from());
    let ctx = w.context("app", &files(&dockerfile, "console.log(1)\n"));
    let program = Program::new().resource(w.image("app", &ctx, json!({})));
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let out = state_outputs(&w.stack, "app");

    let manifest = registry_json(&w.tag("app"), false);
    let config = registry_json(&w.tag("app"), true);
    let pushed = manifest["layers"].as_array().expect("manifest layers");
    let layers = out["layers"].as_array().expect("layers output is a list");
    assert_eq!(layers.len(), pushed.len());
    let diff_ids = config["rootfs"]["diff_ids"].as_array().expect("diff_ids");
    for ((layer, descriptor), diff_id) in layers.iter().zip(pushed).zip(diff_ids) {
        assert_eq!(layer["digest"], descriptor["digest"]);
        assert_eq!(layer["sizeBytes"], descriptor["size"]);
        assert_eq!(&layer["diffId"], diff_id);
        let uncompressed = layer["uncompressedBytes"].as_i64().expect("uncompressed");
        assert!(
            uncompressed > 0 && uncompressed % 512 == 0,
            "a tar: {layer}"
        );
        assert_eq!(layer["new"], json!(true), "first push: every blob is new");
    }
    let total: i64 = pushed
        .iter()
        .map(|l| l["size"].as_i64().unwrap())
        .sum::<i64>()
        + manifest["config"]["size"].as_i64().unwrap()
        + registry_manifest_len(&w.tag("app")) as i64;
    assert_eq!(out["sizeBytes"].as_i64(), Some(total));
    let uncompressed: i64 = layers
        .iter()
        .map(|l| l["uncompressedBytes"].as_i64().unwrap())
        .sum();
    assert_eq!(out["uncompressedBytes"].as_i64(), Some(uncompressed));

    // The base image's layer first, then one layer per COPY / RUN.
    let n = layers.len();
    let mapped: Vec<(Json, Json)> = layers[n - 3..]
        .iter()
        .map(|l| (l["instruction"].clone(), l["line"].clone()))
        .collect();
    assert_eq!(
        mapped,
        vec![
            (json!("COPY npm /usr/local/bin/npm"), json!(2)),
            (json!("COPY . /app"), json!(3)),
            (json!("RUN cd /app && sh /usr/local/bin/npm ci"), json!(4)),
        ],
        "layers: {layers:#?}"
    );
    assert!(layers[..n - 3]
        .iter()
        .all(|l| l.get("instruction").is_none()));

    let summary = format!("compressed in {n} layers");
    let messages = messages_for(&up, "app");
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&summary) && m.contains(&format!("{n} new"))),
        "summary line: {messages:#?}"
    );
}

/// Steps: up, edit a source file, preview and up again; the report of the
/// second build about the stack `stack` and Image `name`.
async fn source_edit(
    w: &World,
    stack: &imagedeploy_tests::Deployment,
    name: &str,
    dockerfile: &str,
) -> (Vec<String>, Vec<String>, Json) {
    let ctx = w.context(name, &files(dockerfile, "console.log(1)\n"));
    let program = Program::new().resource(w.image(name, &ctx, json!({})));
    stack.up(&program).await.unwrap().assert_ok();
    write_files(&ctx, &[("src/app.js", "console.log(2)\n")]);
    let preview = stack.preview(&program).await.unwrap();
    preview.assert_ok();
    let up = stack.up(&program).await.unwrap();
    up.assert_ok();
    (
        messages_for(&preview, name),
        messages_for(&up, name),
        state_outputs(stack, name),
    )
}

#[tokio::test]
async fn cascade_advice_only_for_the_bad_layer_order() {
    let w = World::start();
    let (preview, up, out) = source_edit(&w, &w.stack, "bad", &bad_order(&w.base_from())).await;
    let advice = "RUN cd /app && sh /usr/local/bin/npm ci (Dockerfile line 4) ran again only because COPY . /app (Dockerfile line 3) changed";
    for (run, messages) in [("preview", &preview), ("up", &up)] {
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with(advice) && m.contains("(package.json)")),
            "{run}: {messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.ends_with("first change: COPY . /app (Dockerfile line 3)")),
            "{run}: {messages:#?}"
        );
    }
    // Only the sources' layer is new; the install ran again but made the
    // same bytes (buildah builds are reproducible).
    let layers = out["layers"].as_array().unwrap();
    let new: Vec<&Json> = layers.iter().filter(|l| l["new"] == json!(true)).collect();
    assert_eq!(new.len(), 1, "{layers:#?}");
    assert_eq!(new[0]["instruction"], json!("COPY . /app"));

    let good_stack = w.another_stack("good");
    let (preview, up, _) = source_edit(&w, &good_stack, "good", &good_order(&w.base_from())).await;
    for (run, messages) in [("preview", &preview), ("up", &up)] {
        assert!(
            messages
                .iter()
                .all(|m| !m.contains("ran again only because")),
            "{run}: no advice for a good order: {messages:#?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.ends_with("first change: COPY . /app (Dockerfile line 5)")),
            "{run}: {messages:#?}"
        );
    }
}

#[tokio::test]
async fn size_budget_warns_or_fails_in_preview_and_up() {
    let w = World::start();
    let dockerfile = good_order(&w.base_from());
    let ctx = w.context("app", &files(&dockerfile, "console.log(1)\n"));
    let with_budget = |budget: Json| {
        Program::new().resource(w.image("app", &ctx, json!({ "sizeBudget": budget })))
    };

    let warn = with_budget(json!({ "maxBytes": 1000 }));
    for run in ["preview", "up"] {
        let report = if run == "preview" {
            w.stack.preview(&warn).await
        } else {
            w.stack.up(&warn).await
        }
        .unwrap();
        report.assert_ok();
        assert!(
            messages_for(&report, "app")
                .iter()
                .any(|m| m.starts_with("sizeBudget exceeded: the image is")
                    && m.contains("over maxBytes 1.0 kB")),
            "{run}: {:#?}",
            messages_for(&report, "app")
        );
    }
    let pushed = state_outputs(&w.stack, "app");

    // A source edit adds one small layer: over maxNewBytes 10, fail.
    write_files(&ctx, &[("src/app.js", "console.log(2)\n")]);
    let fail = with_budget(json!({ "maxNewBytes": 10, "action": "fail" }));
    let files_before = w.registry_files();
    for run in ["preview", "up"] {
        let report = if run == "preview" {
            w.stack.preview(&fail).await
        } else {
            w.stack.up(&fail).await
        }
        .unwrap();
        assert!(!report.ok(), "{run} fails");
        let errors = format!("{:?}", report.errors);
        assert!(
            errors.contains("sizeBudget exceeded: this build adds")
                && errors.contains("over maxNewBytes"),
            "{run}: {errors}"
        );
    }
    assert_eq!(w.registry_files(), files_before, "nothing pushed");
    assert_eq!(state_outputs(&w.stack, "app")["digest"], pushed["digest"]);

    // Within budget: the same edit goes through.
    let roomy = with_budget(json!({ "maxNewBytes": 10_000_000, "action": "fail" }));
    w.stack.up(&roomy).await.unwrap().assert_ok();
    assert_ne!(state_outputs(&w.stack, "app")["digest"], pushed["digest"]);
}

/// Preview without a build estimates from the fingerprints which steps run
/// again, with the same advice for a bad order.
#[tokio::test]
async fn preview_without_build_estimates_the_steps_that_run_again() {
    let w = World::start();
    let dockerfile = bad_order(&w.base_from());
    let ctx = w.context("app", &files(&dockerfile, "console.log(1)\n"));
    let program = Program::new().resource(w.image("app", &ctx, json!({ "buildOnPreview": false })));
    w.stack.up(&program).await.unwrap().assert_ok();
    write_files(&ctx, &[("src/app.js", "console.log(2)\n")]);
    let preview = w.stack.preview(&program).await.unwrap();
    preview.assert_ok();
    let messages = messages_for(&preview, "app");
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("estimate (not built in preview")
                && m.contains(
                    "the build cache stops at COPY . /app (Dockerfile line 3); 3 steps run again"
                )),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.starts_with(
            "RUN cd /app && sh /usr/local/bin/npm ci (Dockerfile line 4) ran again only because COPY . /app (Dockerfile line 3) changed"
        )),
        "{messages:#?}"
    );
}

/// `compression: zstd`: the registry accepts the zstd layers, the content
/// digest equals the gzip build's, the manifest digest does not; switching
/// compression pushes the other manifest.
#[tokio::test]
async fn zstd_layers_push_with_the_same_content_digest() {
    let w = World::start();
    let dockerfile = good_order(&w.base_from());
    let ctx = w.context("app", &files(&dockerfile, "console.log(1)\n"));
    let gzip = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&gzip).await.unwrap().assert_ok();
    let gzipped = state_outputs(&w.stack, "app");

    let zstd = Program::new().resource(w.image("app", &ctx, json!({ "compression": "zstd" })));
    let preview = w.stack.preview(&zstd).await.unwrap();
    preview.assert_ok();
    assert_eq!(
        preview.step("app").unwrap().changed_paths(),
        ["compression"],
        "{}",
        preview.render()
    );
    w.stack.up(&zstd).await.unwrap().assert_ok();
    let zstded = state_outputs(&w.stack, "app");
    assert_eq!(zstded["contentDigest"], gzipped["contentDigest"]);
    assert_ne!(zstded["digest"], gzipped["digest"]);
    assert_eq!(
        registry_digest(&w.tag("app")),
        zstded["digest"].as_str().map(String::from)
    );
    let manifest = registry_json(&w.tag("app"), false);
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            layer["mediaType"],
            json!("application/vnd.oci.image.layer.v1.tar+zstd"),
            "{manifest:#}"
        );
    }
    let diff_ids = |o: &Json| -> Vec<Json> {
        o["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["diffId"].clone())
            .collect()
    };
    assert_eq!(
        diff_ids(&zstded),
        diff_ids(&gzipped),
        "same uncompressed layers"
    );
    assert!(zstded["layers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["new"] == json!(true)));
}
