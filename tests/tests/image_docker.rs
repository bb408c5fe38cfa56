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
    let Some(engine) = DockerEngine::start_or_skip(
        "docker_builds_same_content_keeps_digest",
        &w.registry.address(),
    ) else {
        return;
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
    let Some(engine) = DockerEngine::start_or_skip(
        "docker_layers_map_to_dockerfile_lines_and_zstd_keeps_content",
        &w.registry.address(),
    ) else {
        return;
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

/// The shared cache with the Docker engine: BuildKit's inline cache. The
/// image carries its cache metadata and is pushed to `<cache>:buildcache`
/// after the deploy's push; an engine that forgot everything (build cache
/// and images pruned, as on a fresh CI machine) takes the unchanged step
/// from it. Skipped, with the reason printed, where dockerd cannot start.
#[tokio::test]
async fn docker_inline_cache_serves_an_engine_that_forgot_everything() {
    let w = World::start();
    let Some(engine) = DockerEngine::start_or_skip("docker_inline_cache", &w.registry.address())
    else {
        return;
    };
    let dockerfile = format!(
        "{}\nRUN echo deps > /deps.txt\nCOPY app.txt /app/app.txt\n",
        w.base_from()
    );
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("app.txt", "v1\n")]);
    let repository = format!("{}/app-cache", w.registry.address());
    let program = Program::new().resource(w.image(
        "app",
        &ctx,
        json!({
            "builder": { "kind": "docker", "host": engine.host },
            "cache": { "from": [repository], "to": repository },
        }),
    ));
    w.stack.up(&program).await.unwrap().assert_ok();
    let out = w
        .stack
        .state()
        .unwrap()
        .by_name("app")
        .unwrap()
        .outputs
        .clone();
    assert_eq!(
        out["cacheReport"]["exported"],
        json!(1),
        "{}",
        out["cacheReport"]
    );
    let config = registry_json(&format!("{repository}:buildcache"), true);
    assert!(
        config.get("moby.buildkit.cache.v0").is_some(),
        "the cache image carries BuildKit's inline cache: {config}"
    );

    // The engine forgets everything it built and pulled.
    for args in [
        vec!["builder", "prune", "--all", "--force"],
        vec!["system", "prune", "--all", "--force"],
    ] {
        let status = std::process::Command::new("/usr/bin/docker")
            .env("DOCKER_HOST", &engine.host)
            .args(&args)
            .output()
            .expect("docker");
        assert!(status.status.success(), "docker {args:?}: {status:?}");
    }
    write_files(&ctx, &[("app.txt", "v2\n")]);
    w.stack.up(&program).await.unwrap().assert_ok();
    let report = w.stack.state().unwrap().by_name("app").unwrap().outputs["cacheReport"].clone();
    assert_eq!(
        (report["cached"].clone(), report["rebuilt"].clone()),
        (json!(1), json!(1)),
        "the RUN step from the inline cache, the COPY again: {report}"
    );
    drop(engine);
}
