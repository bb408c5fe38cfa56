//! Issue 19, findings 1 and 5, through real buildah builds: secrets a RUN
//! step prints (multi-line, short, binary) never show in progress lines or
//! in the error of a failed build, and a secret build arg is never on the
//! builder's command line (watched in /proc while the build runs, as any
//! local user could).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{context, BaseImage};
use imagedeploy_build::{build, BuildRequest, Builder, CancellationToken};
use imagedeploy_testsupport::log_capture::Lines;
use tracing::instrument::WithSubscriber;

const PEM: &str = "-----BEGIN TEST KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nz9\nKEYTAILLINE42\n-----END TEST KEY-----\n";
const SHORT: &str = "k9";
/// Control characters, DEL and non-ASCII: what a binary secret looks like
/// once it is a string.
const BINARY: &str = "\u{1}\u{2}bin\u{7f}\u{e9}\u{263a}ary-v4lue\u{1b}[0m";
const TOKEN: &str = "arg-t0ken-8d1e";

/// Every piece of every secret that must never show.
fn pieces() -> Vec<&'static str> {
    let mut all: Vec<&str> = PEM.lines().filter(|l| !l.is_empty()).collect();
    all.extend([SHORT, "ary-v4lue", TOKEN]);
    all
}

fn request(base: &BaseImage, dir: &std::path::Path, storage: &std::path::Path) -> BuildRequest {
    let mut request = BuildRequest::new(dir);
    request.builder = Builder::Buildah;
    request.base_image_overrides = base.overrides();
    request.buildah_storage = Some(storage.to_path_buf());
    request.secrets = BTreeMap::from([
        ("pem".to_string(), PEM.to_string()),
        ("short".to_string(), SHORT.to_string()),
        ("bin".to_string(), BINARY.to_string()),
    ]);
    request.build_args = BTreeMap::from([
        ("TOKEN".to_string(), TOKEN.to_string()),
        ("PLAIN".to_string(), "plain-arg-shown".to_string()),
    ]);
    request.secret_build_args.insert("TOKEN".into());
    request.no_cache = true;
    request
}

/// Command lines of every process whose command line mentions buildah,
/// sampled until `stop`.
fn watch_command_lines(stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            if let Ok(entries) = std::fs::read_dir("/proc") {
                for entry in entries.flatten() {
                    let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
                        continue;
                    };
                    let line = String::from_utf8_lossy(&raw).replace('\0', " ");
                    if line.contains("buildah") && !seen.contains(&line) {
                        seen.push(line);
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        seen
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn printed_secrets_are_masked_in_progress_and_errors_and_build_args_stay_off_argv() {
    let base = BaseImage::create().await;
    let dockerfile = format!(
        "FROM {}\n\
         ARG TOKEN\n\
         ARG PLAIN\n\
         RUN --mount=type=secret,id=pem cat /run/secrets/pem\n\
         RUN --mount=type=secret,id=short cat /run/secrets/short; echo; echo \"glued-$(cat /run/secrets/short)-glued\"\n\
         RUN --mount=type=secret,id=bin cat /run/secrets/bin; echo\n\
         RUN echo \"token is $TOKEN, plain is $PLAIN\" && sleep 1\n\
         RUN --mount=type=secret,id=pem cat /run/secrets/pem && echo \"x$(cat /run/secrets/pem)x\" && false\n",
        base.reference
    );
    let dir = context(&[("Dockerfile", &dockerfile)]);
    let storage = tempfile::tempdir().expect("tempdir");
    let lines = Lines::default();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch_command_lines(stop.clone());
    let result = build(
        &request(&base, dir.path(), storage.path()),
        CancellationToken::new(),
    )
    .with_subscriber(lines.subscriber())
    .await;
    stop.store(true, Ordering::Relaxed);
    let command_lines = watcher.join().expect("watcher");

    let error = match result {
        Ok(_) => panic!("the last RUN step fails"),
        Err(e) => e.to_string(),
    };
    let progress = lines.all();
    let shown = format!("{}\n{error}", progress.join("\n"));
    assert!(
        shown.contains("plain is plain-arg-shown"),
        "the build ran its steps and plain values show: {shown}"
    );
    for piece in pieces() {
        assert!(
            !shown.contains(piece),
            "secret piece {piece:?} shows in progress or the error:\n{shown}"
        );
    }
    assert!(shown.contains(imagedeploy_redact::WITHHELD), "{shown}");
    assert!(shown.contains(imagedeploy_redact::MASK), "{shown}");

    let bud: Vec<&String> = command_lines
        .iter()
        .filter(|l| l.contains(" bud "))
        .collect();
    assert!(
        !bud.is_empty(),
        "the watcher saw buildah bud: {command_lines:?}"
    );
    assert!(
        bud.iter()
            .any(|l| l.contains("--build-arg TOKEN ") && l.contains("PLAIN=plain-arg-shown")),
        "{bud:?}"
    );
    for line in &command_lines {
        assert!(
            !line.contains(TOKEN),
            "the secret build arg is on a command line: {line}"
        );
    }
}
