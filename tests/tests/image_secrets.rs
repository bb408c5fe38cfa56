//! Issue 19, findings 1 and 5 through the engine's life cycle: a real
//! buildah build whose RUN steps print a multi-line secret, a short one and
//! a secret build arg shows none of them in the engine log, the plugin's
//! stderr, the rendered preview or the error; a secret build arg gets a
//! warning that ARG values land in the image history.

mod image_support;

use image_support::*;
use imagedeploy_tests::values::{is_secret, secret};
use serde_json::json;

const PEM: &str = "-----BEGIN K-----\nQUJDREVGR0hJSktMTU5PUFFSU1RVVldY\nz8\n-----END K-----\n";
const SHORT: &str = "w4";
const TOKEN: &str = "bu1ld-arg-t0ken";

fn everything(r: &imagedeploy_tests::Report) -> String {
    let logs: Vec<String> = r.logs.iter().map(|l| l.message.clone()).collect();
    format!(
        "{}\n{}\n{}\n{}",
        r.render(),
        logs.join("\n"),
        r.errors.join("\n"),
        r.stderr
    )
}

#[tokio::test]
async fn printed_secrets_and_secret_build_args_never_reach_the_engine() {
    let w = World::start();
    let dockerfile = |fail: bool| {
        format!(
            "{}\nARG TOKEN\n\
             RUN --mount=type=secret,id=pem cat /run/secrets/pem\n\
             RUN --mount=type=secret,id=short cat /run/secrets/short; echo\n\
             RUN echo \"token=$TOKEN\"{}\n\
             COPY src/ /app/\n",
            w.base_from(),
            if fail { " && false" } else { "" }
        )
    };
    // noCache: the RUN steps must run and print (the builder's store keeps
    // each context's steps, and an identical earlier build would serve them).
    let inputs = json!({
        "push": false,
        "noCache": true,
        "secrets": {"pem": PEM, "short": SHORT},
        "buildArgs": {"TOKEN": secret(json!(TOKEN)), "PLAIN": "shown"},
    });
    for fail in [false, true] {
        let ctx = w.context(
            "app",
            &[("Dockerfile", &dockerfile(fail)), ("src/a.txt", "a\n")],
        );
        let r = w
            .stack
            .up(&imagedeploy_tests::Program::new().resource(w.image("app", &ctx, inputs.clone())))
            .await
            .unwrap();
        let shown = everything(&r);
        if fail {
            assert!(!r.ok(), "the last RUN fails:\n{shown}");
        } else {
            r.assert_ok();
            let state = w.stack.state().unwrap();
            let app = state.by_name("app").unwrap();
            assert!(
                is_secret(&app.outputs["buildArgs"]["TOKEN"])
                    || is_secret(&app.outputs["buildArgs"])
            );
            assert!(is_secret(&app.outputs["secrets"]));
        }
        assert!(
            shown.contains("token=[secret]"),
            "the RUN step ran and its output was masked:\n{shown}"
        );
        for piece in PEM.lines().chain([SHORT, TOKEN]) {
            assert!(!shown.contains(piece), "{piece:?} shows:\n{shown}");
        }
        let warned = r.logs.iter().any(|l| {
            l.message.contains("build arg TOKEN is secret")
                && l.message.contains("image history")
                && l.message.contains("`secrets`")
        });
        assert!(warned, "a warning about the image history:\n{shown}");
    }
}

/// Secret ids and build arg names that no builder can use fail at Check,
/// on their property (finding 13), before anything is built.
#[tokio::test]
async fn unusable_secret_ids_and_arg_names_fail_at_check() {
    let w = World::start();
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &simple_dockerfile(&w.base_from())),
            ("src/a", "a"),
        ],
    );
    let cases = [
        (json!({"secrets": {"a,b": "v"}}), "secrets[\"a,b\"]"),
        (json!({"secrets": {"": "v"}}), "secrets[\"\"]"),
        (json!({"secrets": {"a\u{0}b": "v"}}), "secrets"),
        (
            json!({"buildArgs": {"PATH": secret(json!("x-secret-path"))}}),
            "buildArgs.PATH",
        ),
        (json!({"buildArgs": {"K\u{0}": "v"}}), "buildArgs"),
        (json!({"labels": {"k\u{0}": "v"}}), "labels"),
    ];
    for (extra, property) in cases {
        let mut inputs = extra.clone();
        inputs["push"] = json!(false);
        let r = w
            .stack
            .preview(&imagedeploy_tests::Program::new().resource(w.image("app", &ctx, inputs)))
            .await
            .unwrap();
        assert!(!r.ok(), "{extra}: must fail");
        let check = r.calls_for("Check", "app")[0].response.clone().unwrap();
        let failures = check["failures"].as_array().cloned().unwrap_or_default();
        assert!(
            failures
                .iter()
                .any(|f| f["property"].as_str().unwrap_or("").starts_with(property)),
            "{extra}: failure on {property}: {failures:?}"
        );
        assert!(r.calls("Create").is_empty(), "{extra}: nothing built");
        assert!(!everything(&r).contains("x-secret-path"));
    }
}
