//! A plugin killed mid-build (issue 19, findings 4 and 11): SIGKILL while
//! a real buildah runs a `RUN sleep` step with a build secret. The builder
//! and its RUN step must die with the plugin and leave no buildah working
//! container (it holds the mounted secret), and the next plugin start must
//! remove what the killed one left in the build temp root (the work
//! directory with the registry auth file, the secret files, the layout).

mod image_support;

use std::path::Path;
use std::time::{Duration, Instant};

use image_support::*;
use imagedeploy_tests::Program;
use serde_json::json;

/// Processes whose command line is exactly `argv`.
fn processes(argv: &[&str]) -> Vec<u32> {
    let want: Vec<u8> = argv
        .iter()
        .flat_map(|a| [a.as_bytes(), b"\0"].concat())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .ok()
                .as_deref()
                == Some(&want)
        })
        .collect()
}

/// Names in the build temp root of a plugin whose TMPDIR is `tmp`.
fn temp_entries(tmp: &Path) -> Vec<String> {
    let root = tmp.join(format!(
        "imagedeploy-{}",
        rustix::process::getuid().as_raw()
    ));
    std::fs::read_dir(root)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

#[tokio::test]
async fn a_plugin_killed_mid_build_takes_the_builder_along_and_the_next_start_cleans_up() {
    let mut w = World::start();
    let tmp = w.dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let stack = std::mem::replace(&mut w.stack, imagedeploy_tests::Deployment::new().unwrap());
    w.stack = stack.with_env("TMPDIR", &tmp.to_string_lossy());

    // A number no other test sleeps for, so the RUN step is recognisable.
    let dockerfile = format!(
        "{}\nRUN --mount=type=secret,id=token sleep 2931\n",
        w.base_from()
    );
    let ctx = w.context("slow", &[("Dockerfile", &dockerfile)]);
    let secret = "kill-test-s3cr3t";
    let p =
        Program::new().resource(w.image("slow", &ctx, json!({ "secrets": { "token": secret } })));

    let base = image_id(&w.base.reference);
    let containers_before = working_containers_of(&base);
    let (report, pid) = tokio::join!(w.stack.up(&p), async {
        let running = tokio::task::spawn_blocking(|| {
            wait_until(Duration::from_secs(120), || {
                !processes(&["sleep", "2931"]).is_empty()
            })
        })
        .await
        .unwrap();
        assert!(running, "the RUN step never started");
        w.stack.kill_plugin()
    });
    let pid = pid.expect("a plugin was running");
    assert!(!report.unwrap().ok());

    // The builder's whole process group follows the plugin.
    assert!(
        wait_until(Duration::from_secs(10), || processes(&["sleep", "2931"])
            .is_empty()),
        "the RUN step outlived the plugin"
    );
    // Stopped as Ctrl-C would stop it (SIGTERM first), buildah removes the
    // RUN step's working container, which holds the mounted secret.
    assert!(
        wait_until(Duration::from_secs(15), || working_containers_of(&base)
            == containers_before),
        "the killed build's working container stayed: {:?}",
        working_containers_of(&base)
            .difference(&containers_before)
            .collect::<Vec<_>>()
    );
    let left = temp_entries(&tmp);
    let mine = |e: &String| e.contains(&format!("-{pid}-"));
    assert!(
        left.iter().any(|e| e.starts_with("secrets-") && mine(e)),
        "the kill left the secret files (nothing can remove them then): {left:?}"
    );
    assert!(
        left.iter().any(|e| e.starts_with("build-") && mine(e)),
        "{left:?}"
    );

    // The next start removes them (a preview that builds nothing).
    let quiet = Program::new().resource(w.image(
        "slow",
        &ctx,
        json!({ "secrets": { "token": secret }, "buildOnPreview": false }),
    ));
    w.stack.preview(&quiet).await.unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || !temp_entries(&tmp)
            .iter()
            .any(mine)),
        "left behind: {:?}",
        temp_entries(&tmp)
    );
}
