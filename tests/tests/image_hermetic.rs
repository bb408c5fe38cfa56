//! Hermetic builds through the provider (issue: "the built image depends on
//! nothing the fingerprint ignores"), each preview and up a new provider
//! process, real buildah and a real registry.

mod image_support;

use std::os::unix::fs::PermissionsExt;

use image_support::*;
use imagedeploy_tests::{fixture, output, Op, Program};
use serde_json::json;

const DIFF_NONE: i64 = 1;

fn diff_changes(report: &imagedeploy_tests::Report, name: &str) -> i64 {
    response(report, "Diff", name)["changes"]
        .as_i64()
        .unwrap_or(0)
}

fn program(w: &World, context: &std::path::Path, extra: serde_json::Value) -> Program {
    Program::new()
        .resource(w.image("app", context, extra))
        .resource(fixture("uses", json!({ "value": output("app", "ref") })))
}

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// chmod 600 changes no fingerprint; a later rebuild for an unrelated
/// reason (a comment the build strips) must still keep `ref`.
#[tokio::test]
async fn chmod_600_then_a_stripped_comment_edit_keeps_ref() {
    let w = World::start();
    let dockerfile = format!(
        "{from} AS build\nCOPY src/ /src/\nRUN mkdir /out && sed '/^\\/\\//d' /src/app.ts > /out/app.js\n\
         {from}\nCOPY --from=build /out/ /app/\nCOPY config.json run.sh /app/\n\
         CMD [\"/bin/cat\", \"/app/app.js\"]\n",
        from = w.base_from()
    );
    let ctx = |comment: &str| {
        w.context(
            "app",
            &[
                ("Dockerfile", dockerfile.as_str()),
                ("src/app.ts", &format!("// {comment}\nconsole.log(1)\n")),
                ("config.json", "{\"port\": 8080}\n"),
                ("run.sh", "#!/bin/sh\nexec node /app/app.js\n"),
            ],
        )
    };
    let c = ctx("first");
    chmod(&c.join("run.sh"), 0o755);
    let p = program(&w, &c, json!({}));
    w.stack.up(&p).await.unwrap().assert_ok();
    let before = w.stack.state().unwrap().by_name("app").unwrap().clone();

    // A checkout under another umask, or a chmod: no change.
    chmod(&c.join("config.json"), 0o600);
    chmod(&c.join("run.sh"), 0o700);
    let preview = w.stack.preview(&p).await.unwrap();
    preview.assert_ok();
    assert_eq!(diff_changes(&preview, "app"), DIFF_NONE);

    // The unrelated edit rebuilds; the image must be the same as before.
    ctx("a reworded comment");
    chmod(&c.join("config.json"), 0o600);
    chmod(&c.join("run.sh"), 0o700);
    let up = w.stack.up(&p).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Update));
    assert_eq!(
        up.op("uses"),
        Some(Op::Same),
        "the dependent sees no change"
    );
    let after = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(
        after.outputs["contentDigest"],
        before.outputs["contentDigest"]
    );
    assert_eq!(after.outputs["ref"], before.outputs["ref"]);
}

/// `ARG TARGETARCH` + `COPY app-linux-$TARGETARCH` without `platforms`: the
/// builder's platform fills it, in the fingerprint and the build.
#[tokio::test]
async fn target_arch_from_the_builders_platform() {
    let w = World::start();
    let dockerfile = format!(
        "{}\nARG TARGETARCH\nCOPY app-linux-$TARGETARCH /app\nCMD [\"/app\"]\n",
        w.base_from()
    );
    let c = w.context(
        "app",
        &[
            ("Dockerfile", dockerfile.as_str()),
            ("app-linux-amd64", "amd64\n"),
            ("app-linux-arm64", "arm64\n"),
        ],
    );
    let p = program(&w, &c, json!({}));
    let up = w.stack.up(&p).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("app"), Some(Op::Create));
    // Editing the binary of the other architecture changes nothing.
    let other = if std::env::consts::ARCH == "x86_64" {
        "app-linux-arm64"
    } else {
        "app-linux-amd64"
    };
    std::fs::write(c.join(other), "rebuilt\n").expect("edit");
    let preview = w.stack.preview(&p).await.unwrap();
    preview.assert_ok();
    assert_eq!(diff_changes(&preview, "app"), DIFF_NONE);
}

/// `ARG APP_ENV=prod` with `buildArgs: {APP_ENV: "prod"}` is no change.
#[tokio::test]
async fn build_arg_equal_to_the_default_is_no_change() {
    let w = World::start();
    let dockerfile = format!(
        "{}\nARG APP_ENV=prod\nCOPY src/ /app/\nRUN echo $APP_ENV > /env\n",
        w.base_from()
    );
    let c = w.context(
        "app",
        &[
            ("Dockerfile", dockerfile.as_str()),
            ("src/app.ts", "console.log(1)\n"),
        ],
    );
    w.stack
        .up(&program(&w, &c, json!({})))
        .await
        .unwrap()
        .assert_ok();
    let with_default = program(&w, &c, json!({ "buildArgs": { "APP_ENV": "prod" } }));
    let preview = w.stack.preview(&with_default).await.unwrap();
    preview.assert_ok();
    assert_eq!(diff_changes(&preview, "app"), DIFF_NONE);
    assert_eq!(preview.op("uses"), Some(Op::Same));
}
