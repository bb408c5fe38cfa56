//! Image benchmarks (run by scripts/bench-image, ignored in normal test runs):
//! (a) a no-op preview of a stack of 20 Images: total time, builds, registry
//! writes; (b) a one-file change (build + push) through the provider against
//! buildah alone doing the same build and push.

mod image_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use image_support::*;
use imagedeploy_tests::Program;
use serde_json::json;

const IMAGES: usize = 20;
/// Timed runs per figure (the median is reported): `BENCH_RUNS`, default 7.
fn runs() -> usize {
    std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(7)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::test]
#[ignore = "benchmark: run with scripts/bench-image"]
async fn bench_noop_preview_of_20_images() {
    let w = World::start();
    let mut p = Program::new();
    for i in 0..IMAGES {
        let name = format!("img{i:02}");
        let dockerfile = simple_dockerfile(&w.base_from());
        let app = format!("console.log({i})\n");
        let ctx = w.context(
            &name,
            &[
                ("Dockerfile", &dockerfile),
                ("src/app.ts", &app),
                ("src/util.ts", "export {}\n"),
            ],
        );
        p = p.resource(w.image(&name, &ctx, json!({})));
    }
    let started = Instant::now();
    w.stack.up(&p).await.unwrap().assert_ok();
    println!(
        "initial up of {IMAGES} images (build + push each): {}",
        ms(started.elapsed())
    );

    let files = w.registry_files();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let r = w.stack.preview(&p).await.unwrap();
        times.push(started.elapsed());
        r.assert_ok();
        let builds = r
            .logs
            .iter()
            .filter(|l| l.message.starts_with("building") || l.message.starts_with("STEP"))
            .count();
        assert_eq!(builds, 0, "a no-op preview builds nothing");
        assert!(r.calls("Update").is_empty() && r.calls("Create").is_empty());
        assert_eq!(
            w.registry_files(),
            files,
            "a no-op preview writes nothing to the registry"
        );
    }
    let best = *times.iter().min().unwrap();
    println!(
        "BENCH no-op preview, {IMAGES} images (new provider process, Check+Diff each): median {} (best {}, runs {:?}); builds 0; registry writes 0",
        ms(median(times.clone())),
        ms(best),
        times.iter().map(|t| ms(*t)).collect::<Vec<_>>()
    );
}

fn buildah(registries_conf: &std::path::Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = Command::new("buildah")
        .env("CONTAINERS_REGISTRIES_CONF", registries_conf)
        .arg("--storage-driver")
        .arg("vfs")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("buildah is needed");
    assert!(
        out.status.success(),
        "buildah {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

#[tokio::test]
#[ignore = "benchmark: run with scripts/bench-image"]
async fn bench_one_file_change_against_buildah_alone() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context(
        "app",
        &[("Dockerfile", &dockerfile), ("src/app.ts", "v0\n")],
    );
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&p).await.unwrap().assert_ok();

    // The test registry is plain HTTP, as the provider tells buildah too.
    let conf = w.dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            w.registry.address()
        ),
    )
    .unwrap();
    let mut provider = Vec::new();
    let mut alone = Vec::new();
    for i in 1..=runs() {
        write_files(&ctx, &[("src/app.ts", &format!("provider {i}\n"))]);
        let started = Instant::now();
        w.stack.up(&p).await.unwrap().assert_ok();
        provider.push(started.elapsed());

        // buildah alone, same flags the provider uses, same registry, warm cache.
        write_files(&ctx, &[("src/app.ts", &format!("alone {i}\n"))]);
        let tag = format!("localhost/bench-alone:{i}");
        let ctx_arg = ctx.to_string_lossy().into_owned();
        let dockerfile_arg = ctx.join("Dockerfile").to_string_lossy().into_owned();
        let build = buildah(
            &conf,
            &[
                "bud",
                "--isolation",
                "chroot",
                "--format",
                "oci",
                "--timestamp",
                "0",
                "--identity-label=false",
                "--layers",
                "-f",
                &dockerfile_arg,
                "-t",
                &tag,
                &ctx_arg,
            ],
        );
        let push = buildah(
            &conf,
            &[
                "push",
                "--tls-verify=false",
                &tag,
                &format!("docker://{}", w.tag("alone")),
            ],
        );
        alone.push(build + push);
        let _ = buildah(&conf, &["rmi", &tag]);
    }
    println!(
        "BENCH one-file change: provider up (new process: Check, Diff with fingerprint, build, content digest, push) median {} {:?}; buildah bud + push alone median {} {:?}",
        ms(median(provider.clone())),
        provider.iter().map(|t| ms(*t)).collect::<Vec<_>>(),
        ms(median(alone.clone())),
        alone.iter().map(|t| ms(*t)).collect::<Vec<_>>()
    );
}

/// Multi-platform: a one-file change both platforms read, through the
/// provider, against buildah alone building both platforms into a manifest
/// list and pushing it; then a change only one platform reads.
#[tokio::test]
#[ignore = "benchmark: run with scripts/bench-image"]
async fn bench_two_platforms_against_buildah_alone() {
    let w = World::start();
    let dockerfile = "FROM scratch\nARG TARGETARCH\nCOPY app-${TARGETARCH} /app\nCOPY src/ /src/\n";
    let ctx = w.context(
        "multi",
        &[
            ("Dockerfile", dockerfile),
            ("app-amd64", "amd64\n"),
            ("app-arm64", "arm64\n"),
            ("src/app.ts", "v0\n"),
        ],
    );
    let p = Program::new().resource(w.image(
        "multi",
        &ctx,
        json!({ "platforms": ["linux/amd64", "linux/arm64"] }),
    ));
    w.stack.up(&p).await.unwrap().assert_ok();
    let conf = w.dir.path().join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{}\"\ninsecure = true\n",
            w.registry.address()
        ),
    )
    .unwrap();
    let (mut both, mut alone, mut one) = (Vec::new(), Vec::new(), Vec::new());
    for i in 1..=runs() {
        write_files(&ctx, &[("src/app.ts", &format!("provider {i}\n"))]);
        let started = Instant::now();
        w.stack.up(&p).await.unwrap().assert_ok();
        both.push(started.elapsed());

        write_files(&ctx, &[("app-arm64", &format!("arm64 {i}\n"))]);
        let started = Instant::now();
        let up = w.stack.up(&p).await.unwrap();
        up.assert_ok();
        one.push(started.elapsed());
        assert!(
            messages_for(&up, "multi")
                .iter()
                .any(|m| m.starts_with("linux/amd64: inputs unchanged; not built")),
            "the other platform is not built"
        );

        write_files(&ctx, &[("src/app.ts", &format!("alone {i}\n"))]);
        let list = format!("localhost/bench-multi-alone:{i}");
        let ctx_arg = ctx.to_string_lossy().into_owned();
        let dockerfile_arg = ctx.join("Dockerfile").to_string_lossy().into_owned();
        let build = buildah(
            &conf,
            &[
                "bud",
                "--isolation",
                "chroot",
                "--format",
                "oci",
                "--timestamp",
                "0",
                "--identity-label=false",
                "--layers",
                "--platform",
                "linux/amd64,linux/arm64",
                "--manifest",
                &list,
                "-f",
                &dockerfile_arg,
                &ctx_arg,
            ],
        );
        let push = buildah(
            &conf,
            &[
                "manifest",
                "push",
                "--all",
                "--tls-verify=false",
                &list,
                &format!("docker://{}", w.tag("multi-alone")),
            ],
        );
        alone.push(build + push);
        let _ = buildah(&conf, &["manifest", "rm", &list]);
    }
    println!(
        "BENCH two platforms, a file both read: provider up median {} {:?}; buildah bud --platform amd64,arm64 --manifest + manifest push --all alone median {} {:?}",
        ms(median(both.clone())),
        both.iter().map(|t| ms(*t)).collect::<Vec<_>>(),
        ms(median(alone.clone())),
        alone.iter().map(|t| ms(*t)).collect::<Vec<_>>()
    );
    println!(
        "BENCH two platforms, a file only arm64 reads: provider up median {} {:?} (amd64 not built)",
        ms(median(one.clone())),
        one.iter().map(|t| ms(*t)).collect::<Vec<_>>()
    );
}
