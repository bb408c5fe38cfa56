//! Shared build cache benchmark (run by `scripts/bench-cache`, ignored in
//! the test suite): a Dockerfile whose dependency step takes several
//! seconds, built through the provider with buildah on "machines" that are
//! separate buildah stores. Prints BENCH lines:
//! - machine A, cold, exporting the cache (the first CI run);
//! - machine B, cold, without the shared cache;
//! - machine C, cold, with the shared cache (goal: at least 3x faster than B);
//! - machine A again after a one-file change: the export's cost;
//! - machine C's export: nothing (every step came from the cache).

mod image_support;

use std::time::Instant;

use image_support::*;
use imagedeploy_tests::Program;
use serde_json::{json, Value as Json};

#[tokio::test]
#[ignore = "benchmark: run with scripts/bench-cache"]
async fn bench_shared_cache_on_a_cold_machine() {
    let seconds: u64 = std::env::var("BENCH_DEP_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let w = World::start();
    let dockerfile = format!(
        "{}\nRUN sleep {seconds} && echo deps > /deps.txt\nCOPY app.txt /app/app.txt\n",
        w.base_from()
    );
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("app.txt", "v1\n")]);
    let repository = format!("{}/app-cache", w.registry.address());
    let with_cache = Program::new().resource(w.image(
        "app",
        &ctx,
        json!({ "cache": { "from": [repository], "to": repository } }),
    ));
    let without = Program::new().resource(w.image("app", &ctx, json!({})));
    let store = |name: &str| {
        machine_store(
            w.another_stack(name),
            &w.dir.path().join(format!("{name}-store")),
        )
    };
    let report = |stack: &imagedeploy_tests::Deployment| -> Json {
        state_outputs(stack, "app")["cacheReport"].clone()
    };

    let a = store("a");
    let started = Instant::now();
    let up = a.up(&with_cache).await.unwrap();
    up.assert_ok();
    let a_cold = started.elapsed();
    if std::env::var_os("BENCH_SHOW").is_some() {
        println!("{}", up.render());
    }
    let r = report(&a);
    println!(
        "BENCH machine A, cold, exporting: up {:.2} s (export {} s, {} cache images)",
        a_cold.as_secs_f64(),
        r["exportSeconds"],
        r["exported"]
    );

    let b = store("b");
    let started = Instant::now();
    b.up(&without).await.unwrap().assert_ok();
    let b_cold = started.elapsed();
    println!(
        "BENCH machine B, cold, no shared cache: up {:.2} s",
        b_cold.as_secs_f64()
    );

    let c = store("c");
    let started = Instant::now();
    c.up(&with_cache).await.unwrap().assert_ok();
    let c_cold = started.elapsed();
    let r = report(&c);
    println!(
        "BENCH machine C, cold, shared cache: up {:.2} s ({} of {} steps cached, {} exported)",
        c_cold.as_secs_f64(),
        r["cached"],
        r["steps"],
        r["exported"]
    );
    println!(
        "BENCH speed-up with the shared cache: {:.1}x (goal: at least 3x)",
        b_cold.as_secs_f64() / c_cold.as_secs_f64()
    );

    write_files(&ctx, &[("app.txt", "v2\n")]);
    let started = Instant::now();
    a.up(&with_cache).await.unwrap().assert_ok();
    let a_edit = started.elapsed();
    let r = report(&a);
    println!(
        "BENCH machine A, one changed step: up {:.2} s, of which export {} s ({} cache images, {} rebuilt)",
        a_edit.as_secs_f64(),
        r["exportSeconds"],
        r["exported"],
        r["rebuilt"]
    );
}
