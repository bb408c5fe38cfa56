use std::collections::BTreeMap;

use super::*;

const MULTI: &str = "# syntax=docker/dockerfile:1\nARG BASE=alpine:3\nFROM --platform=$BUILDPLATFORM golang:1.22 AS build\nRUN go build \\\n    -o /app .\n\nFROM build AS test\nFROM ${BASE} AS runtime\nFROM registry.local:5000/base:1\nCOPY --from=build /app /app\nCOPY --from=registry.local:5000/tools:2 /bin/t /bin/t\n";

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn no_args() -> BTreeMap<String, String> {
    BTreeMap::new()
}

/// What BuildKit would read from each `FROM` of `text`: (line, image, name).
fn froms(text: &str) -> Vec<(usize, String, Option<String>)> {
    parser::parse(text)
        .expect("parses")
        .stages
        .iter()
        .map(|s| (s.from.line, s.base().to_string(), s.name.clone()))
        .collect()
}

#[test]
fn base_images_follow_the_plan() {
    assert_eq!(
        base_images(MULTI, None, &no_args()).expect("plan"),
        vec![
            "golang:1.22",
            "registry.local:5000/base:1",
            "registry.local:5000/tools:2"
        ]
    );
    assert_eq!(
        base_images(MULTI, Some("runtime"), &no_args()).expect("plan"),
        vec!["alpine:3"]
    );
    assert_eq!(
        base_images(MULTI, Some("runtime"), &map(&[("BASE", "debian:12")])).expect("plan"),
        vec!["debian:12"]
    );
    assert!(matches!(
        base_images(MULTI, Some("nope"), &no_args()),
        Err(DockerfileError::Plan(_))
    ));
    assert!(matches!(
        base_images("RUN x\n", None, &no_args()),
        Err(DockerfileError::Parse(_))
    ));
}

#[test]
fn rewrite_keeps_every_other_byte_flags_and_stage_names() {
    let overrides = map(&[
        ("golang:1.22", "golang@sha256:abc"),
        ("build", "must-not-apply"),
        (
            "registry.local:5000/base:1",
            "registry.local:5000/base@sha256:def",
        ),
    ]);
    let rewritten = rewrite_from(MULTI, &no_args(), &overrides).expect("rewrite");
    let expected = MULTI
        .replace(
            "$BUILDPLATFORM golang:1.22 AS",
            "$BUILDPLATFORM golang@sha256:abc AS",
        )
        .replace(
            "FROM registry.local:5000/base:1\n",
            "FROM registry.local:5000/base@sha256:def\n",
        );
    assert_eq!(rewritten, expected);
}

#[test]
fn arg_substituted_from_is_pinned_under_its_value() {
    let overrides = map(&[
        ("alpine:3", "alpine@sha256:aaa"),
        ("debian:12", "debian@sha256:ddd"),
    ]);
    let rewritten = rewrite_from(MULTI, &no_args(), &overrides).expect("rewrite");
    assert!(
        rewritten.contains("\nFROM alpine@sha256:aaa AS runtime\n"),
        "{rewritten}"
    );
    let rewritten =
        rewrite_from(MULTI, &map(&[("BASE", "debian:12")]), &overrides).expect("rewrite");
    assert!(
        rewritten.contains("\nFROM debian@sha256:ddd AS runtime\n"),
        "{rewritten}"
    );
    assert_eq!(rewritten.lines().count(), MULTI.lines().count());
}

#[test]
fn platform_args_reach_from_lines() {
    let text = "ARG TARGETARCH\nFROM base-${TARGETARCH}:1\n";
    let overrides = map(&[("base-arm64:1", "base@sha256:arm")]);
    let mut args = imagedeploy_fingerprint::dockerfile::platform_args("linux/arm64");
    args.insert("UNUSED".into(), "x".into());
    assert_eq!(
        rewrite_from(text, &args, &overrides).expect("rewrite"),
        "ARG TARGETARCH\nFROM base@sha256:arm\n"
    );
    // Without the platform the reference is `base-:1`: not in the overrides.
    assert_eq!(
        rewrite_from(text, &no_args(), &overrides).expect("rewrite"),
        text
    );
}

#[test]
fn substituted_stage_names_and_scratch_are_left_alone() {
    let text = "ARG PARENT=build\nFROM a AS build\nFROM ${PARENT}\nFROM scratch\n";
    let overrides = map(&[("build", "x@sha256:1"), ("scratch", "y@sha256:2")]);
    assert_eq!(
        rewrite_from(text, &no_args(), &overrides).expect("rewrite"),
        text
    );
}

#[test]
fn continuations_comments_crlf_and_lower_case() {
    let text = "from --platform=linux/amd64 \\\r\n  # the compiler\r\n  golang:1.22 \\\r\n  as build\r\nRUN make\r\n";
    let overrides = map(&[("golang:1.22", "golang@sha256:abc")]);
    let rewritten = rewrite_from(text, &no_args(), &overrides).expect("rewrite");
    assert_eq!(rewritten, text.replace("golang:1.22", "golang@sha256:abc"));
    assert_eq!(
        froms(&rewritten),
        vec![(1, "golang@sha256:abc".into(), Some("build".into()))]
    );
}

#[test]
fn escape_directive_and_a_word_split_over_lines() {
    let text = "# escape=`\nFROM gol`\nang:1 AS b\nRUN dir c:\\\n";
    let overrides = map(&[("golang:1", "golang@sha256:abc")]);
    let rewritten = rewrite_from(text, &no_args(), &overrides).expect("rewrite");
    assert_eq!(
        rewritten,
        "# escape=`\nFROM `\ngolang@sha256:abc AS b\nRUN dir c:\\\n"
    );
    assert_eq!(
        froms(&rewritten),
        vec![(2, "golang@sha256:abc".into(), Some("b".into()))]
    );
}

#[test]
fn no_overrides_means_no_parsing_and_bad_input_is_an_error() {
    assert_eq!(
        rewrite_from("NOT A DOCKERFILE\n", &no_args(), &BTreeMap::new()).expect("unchanged"),
        "NOT A DOCKERFILE\n"
    );
    let overrides = map(&[("a", "b@sha256:1")]);
    assert!(matches!(
        rewrite_from("NOT A DOCKERFILE\n", &no_args(), &overrides),
        Err(DockerfileError::Parse(_))
    ));
    let bad = map(&[("a", "b c")]);
    assert!(matches!(
        rewrite_from("FROM a\n", &no_args(), &bad),
        Err(DockerfileError::BadReplacement { line: 1, .. })
    ));
}

#[test]
fn copy_from_and_mount_from_images_are_pinned_stages_are_not() {
    let text = "ARG TOOLS=tools:2\nFROM a AS build\nFROM b\nCOPY --from=build /x /x\nCOPY --from=0 /y /y\nCOPY --link --from=registry.local:5000/tools:2 /bin/t /bin/t\nCOPY --from=${TOOLS} /z /z\nRUN --mount=type=bind,from=cache:1,target=/c \\\n    cat /c/f\n";
    let overrides = map(&[
        ("build", "must-not-apply"),
        ("0", "must-not-apply"),
        (
            "registry.local:5000/tools:2",
            "registry.local:5000/tools@sha256:t",
        ),
        ("tools:2", "tools@sha256:g"),
        ("cache:1", "cache@sha256:c"),
    ]);
    let rewritten = rewrite_from(text, &no_args(), &overrides).expect("rewrite");
    assert_eq!(
        rewritten,
        text.replace(
            "--from=registry.local:5000/tools:2",
            "--from=registry.local:5000/tools@sha256:t"
        )
        .replace("--from=${TOOLS}", "--from=tools@sha256:g")
        .replace("from=cache:1,", "from=cache@sha256:c,")
    );
    assert_eq!(rewritten.lines().count(), text.lines().count());
    // The pinned text plans the pinned images.
    assert_eq!(
        base_images(&rewritten, None, &no_args()).expect("plan"),
        vec![
            "a",
            "b",
            "registry.local:5000/tools@sha256:t",
            "tools@sha256:g",
            "cache@sha256:c"
        ]
    );
}
