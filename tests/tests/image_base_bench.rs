//! Base-image benchmark (run by scripts/bench-base-images, ignored in normal
//! test runs): a one-file change built on top of a large base image through
//! the provider (buildah), with the base taken from a warm local store
//! (`baseImagePull: missing`, registry stopped: no registry traffic at all),
//! against `always` and against a cold store that pulls it. Every run uses
//! `baseImageRefresh.intervalSeconds` so tags are not resolved again: the
//! runs differ only in what the builder pulls.

mod image_support;

use std::path::Path;
use std::time::{Duration, Instant};

use image_support::*;
use imagedeploy_tests::{Deployment, Program};
use imagedeploy_testsupport::push_large_base_image;
use serde_json::json;

const RUNS: usize = 3;

fn megabytes() -> u64 {
    std::env::var("BENCH_BASE_MEGABYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// A buildah store of its own (`CONTAINERS_STORAGE_CONF`), so "cold" means
/// an empty store and nothing else on the machine is touched.
fn storage_conf(dir: &Path) -> String {
    std::fs::create_dir_all(dir).expect("store directory");
    let conf = dir.join("storage.conf");
    std::fs::write(
        &conf,
        format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
            dir.join("root").display(),
            dir.join("run").display()
        ),
    )
    .expect("storage.conf");
    conf.display().to_string()
}

fn stack_with_store(w: &World, name: &str, store: &Path) -> Deployment {
    w.another_stack(name)
        .with_env("CONTAINERS_STORAGE_CONF", &storage_conf(store))
}

/// Removes a vfs store (its layers can be read-only).
fn remove_store(store: &Path) {
    let _ = std::process::Command::new("chmod")
        .args(["-R", "u+w"])
        .arg(store)
        .status();
    let _ = std::fs::remove_dir_all(store);
}

#[tokio::test]
#[ignore = "benchmark: run with scripts/bench-base-images"]
async fn bench_base_image_local_against_pulled() {
    let w = World::start();
    let mb = megabytes();
    let started = Instant::now();
    let base = push_large_base_image(&w.registry, "large:1", &format!("bench-{mb}"), mb)
        .expect("push the large base image");
    println!(
        "BENCH base image: {mb} MB payload pushed in {}",
        ms(started.elapsed())
    );
    let dockerfile = simple_dockerfile(&format!("FROM {}", base.reference));
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "0\n")]);
    let program = |pull: &str| {
        Program::new().resource(w.image(
            "app",
            &ctx,
            // Within the interval no tag is resolved again: the only
            // registry traffic left is the builder's pulls.
            json!({
                "push": false,
                "baseImagePull": pull,
                "baseImageRefresh": { "intervalSeconds": 3600 },
            }),
        ))
    };
    let mut edit = 0;
    let mut change = || {
        edit += 1;
        write_files(&ctx, &[("src/app.ts", &format!("{edit}\n"))]);
    };
    let pulled_bytes = |r: &imagedeploy_tests::Report| {
        messages_for(r, "app")
            .iter()
            .filter_map(|m| {
                let rest = m.strip_prefix("pulled base image ")?;
                let n = rest.split_once(" (")?.1.split_once(' ')?.0;
                n.parse::<u64>().ok()
            })
            .sum::<u64>()
    };

    // Cold: each run gets an empty store, so the base is pulled.
    let mut cold = Vec::new();
    for run in 0..RUNS {
        let store = w.dir.path().join(format!("cold-store-{run}"));
        let stack = stack_with_store(&w, &format!("cold-{run}"), &store);
        change();
        let t = Instant::now();
        let r = stack.up(&program("missing")).await.unwrap();
        cold.push(t.elapsed());
        r.assert_ok();
        println!(
            "BENCH cold store, missing (pulls): {} ({} bytes pulled)",
            ms(*cold.last().unwrap()),
            pulled_bytes(&r)
        );
        remove_store(&store);
    }

    // Warm: one store, base already there.
    let store = w.dir.path().join("warm-store");
    let stack = stack_with_store(&w, "warm", &store);
    change();
    stack.up(&program("missing")).await.unwrap().assert_ok();
    let mut always = Vec::new();
    for _ in 0..RUNS {
        change();
        let t = Instant::now();
        let r = stack.up(&program("always")).await.unwrap();
        always.push(t.elapsed());
        r.assert_ok();
        println!(
            "BENCH warm store, always: {} ({} bytes pulled)",
            ms(*always.last().unwrap()),
            pulled_bytes(&r)
        );
    }
    w.registry.stop();
    let mut warm = Vec::new();
    for _ in 0..RUNS {
        change();
        let t = Instant::now();
        let r = stack.up(&program("missing")).await.unwrap();
        warm.push(t.elapsed());
        r.assert_ok();
        assert_eq!(pulled_bytes(&r), 0);
        println!(
            "BENCH warm store, missing, registry stopped: {} (0 bytes pulled, no registry)",
            ms(*warm.last().unwrap())
        );
    }
    remove_store(&store);
    let (cold, always, warm) = (median(cold), median(always), median(warm));
    println!(
        "BENCH medians of {RUNS}: cold pull {}, always {}, missing+warm {}; missing+warm is {:.1}x faster than a pull, {:.1}x than always",
        ms(cold),
        ms(always),
        ms(warm),
        cold.as_secs_f64() / warm.as_secs_f64(),
        always.as_secs_f64() / warm.as_secs_f64()
    );
}
