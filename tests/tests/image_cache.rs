//! The shared build cache (`cache` input, `cacheReport` output): real
//! buildah builds against a real registry. Two buildah storages (set through
//! `CONTAINERS_STORAGE_CONF` for each plugin) stand in for two CI machines:
//! the second starts empty and must take its steps from the cache the first
//! pushed. Two small loopback servers stand in for a broken cache registry
//! (one answers 503 to everything, one accepts connections and never
//! answers), to show that an export failure or time-out is a warning and
//! never a failed update.

mod image_support;

use image_support::*;
use imagedeploy_tests::{Deployment, Program, Severity};
use std::path::Path;

use serde_json::{json, Value as Json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A Dockerfile with a slow dependency step and a source step.
fn dockerfile(from: &str) -> String {
    format!("{from}\nRUN sleep 2 && echo deps > /deps.txt\nCOPY app.txt /app/app.txt\n")
}

/// Tags of `repository` in the registry at `address`.
fn tags(address: &str, repository: &str) -> Vec<String> {
    let out = std::process::Command::new("skopeo")
        .args(["list-tags", "--tls-verify=false"])
        .arg(format!("docker://{address}/{repository}"))
        .output()
        .expect("skopeo");
    let listed: Json = serde_json::from_slice(&out.stdout).unwrap_or(json!({}));
    listed["Tags"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_second_machine_takes_its_steps_from_the_shared_cache() {
    let mut w = World::start();
    let first = std::mem::replace(&mut w.stack, Deployment::new().unwrap());
    w.stack = machine_store(first, &w.dir.path().join("machine-a"));
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &dockerfile(&w.base_from())),
            ("app.txt", "v1\n"),
        ],
    );
    let repository = format!("{}/app-cache", w.registry.address());
    let cache = json!({ "cache": { "from": [repository], "to": repository } });
    let metrics = w.dir.path().join("metrics/build.prom");
    let program = Program::new()
        .config(json!({ "metricsFile": metrics.to_string_lossy() }))
        .resource(w.image("app", &ctx, cache.clone()));

    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let a = state_outputs(&w.stack, "app");
    let report = &a["cacheReport"];
    assert_eq!(report["steps"], json!(2), "{report}");
    assert_eq!(report["rebuilt"], json!(2), "a cold machine: {report}");
    let lines: Vec<&Json> = report["rebuiltSteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["line"])
        .collect();
    assert_eq!(lines, [&json!(2), &json!(3)], "{report}");
    assert!(
        report["exported"].as_i64().unwrap() >= 2,
        "every built step is exported: {report}"
    );
    assert!(report.get("exportError").is_none(), "{report}");
    assert!(
        tags(&w.registry.address(), "app-cache").len() >= 2,
        "cache images in the registry"
    );
    let summary = up.messages(Severity::Info).iter().any(|m| {
        m.message
            .contains("2 steps, 0 cached, 2 rebuilt: RUN sleep 2")
    });
    assert!(summary, "{}", up.render());

    // Machine B: an empty store, a new stack (a CI job elsewhere).
    let b_stack = machine_store(
        w.another_stack("machine-b"),
        &w.dir.path().join("machine-b-store"),
    );
    let up = b_stack.up(&program).await.unwrap();
    up.assert_ok();
    let b = state_outputs(&b_stack, "app");
    let report = &b["cacheReport"];
    assert_eq!(
        report["cached"],
        json!(2),
        "taken from the shared cache: {report}"
    );
    assert_eq!(report["rebuilt"], json!(0), "{report}");
    assert_eq!(
        report["exported"],
        json!(0),
        "onMiss: nothing to export: {report}"
    );
    assert_eq!(b["digest"], a["digest"], "the same image on both machines");
    assert!(
        up.messages(Severity::Info)
            .iter()
            .any(|m| m.message.contains("2 taken from the shared cache")),
        "{}",
        up.render()
    );

    // One source edit on machine B: the dependency step stays cached, the
    // COPY runs again and is exported.
    write_files(&ctx, &[("app.txt", "v2\n")]);
    let up = b_stack.up(&program).await.unwrap();
    up.assert_ok();
    let report = state_outputs(&b_stack, "app")["cacheReport"].clone();
    assert_eq!(
        (report["cached"].clone(), report["rebuilt"].clone()),
        (json!(1), json!(1)),
        "{report}"
    );
    assert_eq!(report["rebuiltSteps"][0]["line"], json!(3), "{report}");
    assert!(report["exported"].as_i64().unwrap() >= 1, "{report}");

    // The metrics file adds up the three builds (both machines wrote to it).
    let text = std::fs::read_to_string(&metrics).expect("metricsFile written");
    for expected in [
        "imagedeploy_builds_total{image=\"app\"} 3\n",
        "imagedeploy_build_steps_total{image=\"app\",result=\"cached\"} 3\n",
        "imagedeploy_build_steps_total{image=\"app\",result=\"rebuilt\"} 3\n",
    ] {
        assert!(text.contains(expected), "{expected} in {text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}

/// A server on loopback that answers every request with 503.
async fn always_503() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = socket.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    let answer = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
                    if socket.write_all(answer.as_bytes()).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

/// A server on loopback that accepts connections and never answers.
async fn silent() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    address
}

#[tokio::test]
async fn a_failing_or_hanging_cache_registry_is_a_warning_not_a_failed_update() {
    let w = World::start();
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &dockerfile(&w.base_from())),
            ("app.txt", "v1\n"),
        ],
    );
    let broken = always_503().await;
    let program = Program::new().resource(w.image(
        "app",
        &ctx,
        json!({ "cache": { "to": format!("{broken}/cache"), "export": "always" } }),
    ));
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let out = state_outputs(&w.stack, "app");
    assert!(
        out["digest"].as_str().unwrap().starts_with("sha256:"),
        "the image is recorded"
    );
    let report = &out["cacheReport"];
    assert!(report["exportError"].is_string(), "{report}");
    assert!(
        up.messages(Severity::Warning)
            .iter()
            .any(|m| m.message.contains("cache export to") && m.message.contains("did not finish")),
        "{}",
        up.render()
    );

    // A registry that never answers: cut off at exportTimeoutSeconds. (The
    // steps may come from the store shared with the other tests here:
    // `always` exports whatever the build found.)
    let hanging = silent().await;
    write_files(&ctx, &[("app.txt", "v2\n")]);
    let program = Program::new().resource(w.image(
        "app",
        &ctx,
        json!({ "cache": { "to": format!("{hanging}/cache"), "exportTimeoutSeconds": 3, "export": "always" } }),
    ));
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let report = state_outputs(&w.stack, "app")["cacheReport"].clone();
    assert!(
        report["exportError"]
            .as_str()
            .is_some_and(|e| e.contains("timed out after 3 s")),
        "{report}"
    );
    let seconds = report["exportSeconds"].as_f64().unwrap();
    assert!(seconds < 30.0, "bounded: {seconds} s");

    // Preview never exports, and an unchanged image builds nothing at all.
    let preview = w.stack.preview(&program).await.unwrap();
    assert!(preview.ok());
    assert!(
        !preview
            .messages(Severity::Debug)
            .iter()
            .any(|m| m.message.contains("exporting the build cache")),
        "{}",
        preview.render()
    );
}

#[tokio::test]
async fn unsupported_cache_settings_fail_check_on_their_property() {
    let w = World::start();
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &dockerfile(&w.base_from())),
            ("app.txt", "v1\n"),
        ],
    );
    let repository = format!("{}/app-cache", w.registry.address());
    let cases = [
        (
            json!({ "cache": { "to": repository, "mode": "min" } }),
            "cache.mode",
        ),
        (
            json!({ "cache": { "to": repository, "mode": "max" }, "builder": { "kind": "docker" } }),
            "cache.mode",
        ),
        (
            json!({ "cache": { "from": [format!("{repository}:v1")] } }),
            "cache.from[0]",
        ),
        (json!({ "cache": { "to": "Not A Repo" } }), "cache.to"),
        (json!({ "cache": { "export": "always" } }), "cache.to"),
        (
            json!({ "cache": { "to": repository, "exportTimeoutSeconds": 0 } }),
            "cache.exportTimeoutSeconds",
        ),
    ];
    for (extra, property) in cases {
        let program = Program::new().resource(w.image("app", &ctx, extra.clone()));
        let preview = w.stack.preview(&program).await.unwrap();
        assert!(!preview.ok(), "{extra} must fail Check");
        let failures = check_failures(&preview, "app");
        assert!(
            failures.iter().any(|(p, _)| p == property),
            "{extra}: expected a failure on {property}, got {failures:?}"
        );
    }
}

/// Images in the buildah store configured by `conf`, intermediate ones too.
fn stored_images(conf: &Path) -> usize {
    let out = std::process::Command::new("buildah")
        .env("CONTAINERS_STORAGE_CONF", conf)
        .args(["images", "--all", "--noheading", "--quiet"])
        .output()
        .expect("buildah");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Without any shared cache, the builder's own store keeps each context's
/// last chain of steps: a source edit runs only the steps after it. (It
/// used to remove the build's image with its temporary tag, and with it
/// every intermediate image, so each build ran every step again.) The
/// previous chain is removed, so the store does not grow build after build.
#[tokio::test]
async fn the_local_layer_cache_survives_between_builds_and_stays_bounded() {
    let mut w = World::start();
    let root = w.dir.path().join("local-store");
    let first = std::mem::replace(&mut w.stack, Deployment::new().unwrap());
    w.stack = machine_store(first, &root);
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &dockerfile(&w.base_from())),
            ("app.txt", "v1\n"),
        ],
    );
    let program = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&program).await.unwrap().assert_ok();
    let mut counts = Vec::new();
    for version in ["v2", "v3"] {
        write_files(&ctx, &[("app.txt", &format!("{version}\n"))]);
        w.stack.up(&program).await.unwrap().assert_ok();
        let report = state_outputs(&w.stack, "app")["cacheReport"].clone();
        assert_eq!(
            (report["cached"].clone(), report["rebuilt"].clone()),
            (json!(1), json!(1)),
            "{version}: the dependency step comes from the local store: {report}"
        );
        counts.push(stored_images(&root.join("storage.conf")));
    }
    assert_eq!(counts[0], counts[1], "one chain per context: {counts:?}");
}

/// The cache repository's credentials come from the same sources as the
/// image's: here the `registries` input for an htpasswd registry, used to
/// export from one machine and import on another; the password shows
/// nowhere.
#[tokio::test]
async fn cache_repositories_use_the_image_registries_credentials() {
    const USER: &str = "cacher";
    const PASSWORD: &str = "cache-s3cret-pw";
    let mut w = World::start();
    let private = imagedeploy_testsupport::Registry::start_with_auth(USER, PASSWORD)
        .unwrap_or_else(|e| panic!("registry with htpasswd auth: {e}"));
    let first = std::mem::replace(&mut w.stack, Deployment::new().unwrap());
    w.stack = machine_store(first, &w.dir.path().join("auth-a"));
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &dockerfile(&w.base_from())),
            ("app.txt", "v1\n"),
        ],
    );
    let repository = format!("{}/app-cache", private.address());
    let program = Program::new().resource(w.image(
        "app",
        &ctx,
        json!({
            "cache": { "from": [repository], "to": repository },
            "registries": [{
                "address": private.address(),
                "username": USER,
                "password": imagedeploy_tests::values::secret(json!(PASSWORD)),
            }],
        }),
    ));
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let report = state_outputs(&w.stack, "app")["cacheReport"].clone();
    assert!(report.get("exportError").is_none(), "{report}");
    assert!(report["exported"].as_i64().unwrap() >= 2, "{report}");
    assert!(!up.render().contains(PASSWORD));

    let other = machine_store(
        w.another_stack("auth-b"),
        &w.dir.path().join("auth-b-store"),
    );
    let up = other.up(&program).await.unwrap();
    up.assert_ok();
    let report = state_outputs(&other, "app")["cacheReport"].clone();
    assert_eq!(report["cached"], json!(2), "{report}");
    assert!(!up.render().contains(PASSWORD));
}
