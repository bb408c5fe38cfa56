//! Rule 2 with the Docker engine (BuildKit): its digests are not
//! reproducible (Debian's Docker 20.10), so it is the content digest that
//! keeps `digest` and `ref` unchanged when only the fingerprint moved.
//! Skipped, with the reason printed, where dockerd cannot start.

mod image_support;

use image_support::*;
use imagedeploy_tests::{fixture, output, Op, Program};
use imagedeploy_testsupport::DockerEngine;
use serde_json::json;

#[tokio::test]
async fn docker_builds_same_content_keeps_digest() {
    let w = World::start();
    let engine = match DockerEngine::start(&w.registry.address()) {
        Ok(engine) => engine,
        Err(reason) => {
            println!("SKIPPED docker_builds_same_content_keeps_digest: the Docker engine cannot run here: {reason}");
            eprintln!("SKIPPED docker_builds_same_content_keeps_digest: the Docker engine cannot run here: {reason}");
            return;
        }
    };
    let dockerfile = format!(
        "{}\nARG NOTE\nCOPY src/ /app/\nCMD [\"/bin/cat\", \"/app/app.ts\"]\n",
        w.base_from()
    );
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = |note: &str| {
        Program::new()
            .resource(w.image(
                "app",
                &ctx,
                json!({ "builder": { "kind": "docker", "host": engine.host }, "buildArgs": { "NOTE": note } }),
            ))
            .resource(fixture("uses", json!({ "value": output("app", "ref") })))
    };
    let up = w.stack.up(&p("a")).await.unwrap();
    up.assert_ok();
    assert!(
        progress_for(&up, "app").iter().any(|l| l.starts_with('#')),
        "built by BuildKit: {:?}",
        progress_for(&up, "app")
    );
    let old = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(
        registry_digest(&w.tag("app")),
        old.outputs["digest"].as_str().map(String::from)
    );
    let files = w.registry_files();

    let preview = w.stack.preview(&p("b")).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update), "the fingerprint moved");
    assert_eq!(
        preview.step("app").unwrap().outputs["digest"],
        old.outputs["digest"]
    );
    assert_eq!(preview.op("uses"), Some(Op::Same));
    let up = w.stack.up(&p("b")).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("uses"), Some(Op::Same));
    let new = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(new.outputs["digest"], old.outputs["digest"]);
    assert_eq!(new.outputs["ref"], old.outputs["ref"]);
    assert_ne!(new.outputs["contextHash"], old.outputs["contextHash"]);
    assert_eq!(w.registry_files(), files, "nothing pushed");
    // cacheReport from BuildKit's own progress: the COPY came from its cache.
    let report = &new.outputs["cacheReport"];
    assert_eq!(
        (report["steps"].clone(), report["cached"].clone()),
        (json!(1), json!(1)),
        "{report}"
    );

    // A real content change still gets through.
    write_files(&ctx, &[("src/app.ts", "y\n")]);
    let up = w.stack.up(&p("b")).await.unwrap();
    up.assert_ok();
    let changed = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_ne!(changed.outputs["digest"], old.outputs["digest"]);
    let report = &changed.outputs["cacheReport"];
    assert_eq!(report["rebuilt"], json!(1), "{report}");
    assert_eq!(report["rebuiltSteps"][0]["line"], json!(3), "{report}");
    assert_eq!(
        registry_digest(&w.tag("app")),
        changed.outputs["digest"].as_str().map(String::from)
    );
    drop(engine);
}

/// The size report and zstd with the Docker engine: BuildKit's history
/// maps to the Dockerfile lines, and `compression: zstd` recompresses its
/// layers with the same content digest as the gzip build.
#[tokio::test]
async fn docker_layers_map_to_dockerfile_lines_and_zstd_keeps_content() {
    let w = World::start();
    let engine = match DockerEngine::start(&w.registry.address()) {
        Ok(engine) => engine,
        Err(reason) => {
            println!("SKIPPED docker_layers_map_to_dockerfile_lines_and_zstd_keeps_content: the Docker engine cannot run here: {reason}");
            eprintln!("SKIPPED docker_layers_map_to_dockerfile_lines_and_zstd_keeps_content: the Docker engine cannot run here: {reason}");
            return;
        }
    };
    let dockerfile = format!(
        "{}\nENV MODE=prod\nCOPY src/ /app/\nRUN cat /app/app.ts > /copy\nCMD [\"/bin/cat\", \"/copy\"]\n",
        w.base_from()
    );
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let p = |compression: &str| {
        Program::new().resource(w.image(
            "app",
            &ctx,
            json!({ "builder": { "kind": "docker", "host": engine.host }, "compression": compression }),
        ))
    };
    w.stack.up(&p("gzip")).await.unwrap().assert_ok();
    let gzip = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let layers = gzip.outputs["layers"].as_array().unwrap().clone();
    let n = layers.len();
    let mapped: Vec<(serde_json::Value, serde_json::Value)> = layers[n - 2..]
        .iter()
        .map(|l| (l["instruction"].clone(), l["line"].clone()))
        .collect();
    assert_eq!(
        mapped,
        vec![
            (json!("COPY src/ /app/"), json!(3)),
            (json!("RUN cat /app/app.ts > /copy"), json!(4)),
        ],
        "{layers:#?}"
    );

    w.stack.up(&p("zstd")).await.unwrap().assert_ok();
    let zstd = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(zstd.outputs["contentDigest"], gzip.outputs["contentDigest"]);
    assert_ne!(zstd.outputs["digest"], gzip.outputs["digest"]);
    let manifest = registry_json(&w.tag("app"), false);
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            layer["mediaType"],
            json!("application/vnd.oci.image.layer.v1.tar+zstd")
        );
    }
    drop(engine);
}
