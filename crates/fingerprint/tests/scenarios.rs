//! The edit-scenario table from the fingerprint issue, on realistic
//! generated contexts: each edit either changes the fingerprint (and the
//! explanation names exactly why) or leaves it alone.

mod common;

use common::{go_app, monorepo, node_app, python_app, Context};
use imagedeploy_fingerprint::{explain, fingerprint, CacheMode, DockerfileSource, Request};

/// Fingerprints, applies `edit`, fingerprints again, and checks the reasons
/// (no reasons means the digest must not change).
fn scenario(
    ctx: &Context,
    req: impl Fn(&Context) -> Request,
    edit: impl FnOnce(&Context),
    want: &[&str],
) {
    let before = fingerprint(&req(ctx)).expect("fingerprint before");
    edit(ctx);
    let after = fingerprint(&req(ctx)).expect("fingerprint after");
    let reasons = explain(&before.manifest, &after.manifest);
    assert_eq!(reasons, want, "explanation");
    assert_eq!(
        before.digest == after.digest,
        want.is_empty(),
        "digest changed = {}, expected reasons {want:?}",
        before.digest != after.digest
    );
}

fn plain(ctx: &Context) -> Request {
    ctx.request()
}

#[test]
fn readme_edit_outside_copy_does_not_change() {
    scenario(
        &go_app(),
        plain,
        |c| c.append("README.md", "more docs\n"),
        &[],
    );
}

#[test]
fn dockerfile_comment_does_not_change() {
    scenario(
        &node_app(),
        plain,
        |c| {
            c.replace(
                "Dockerfile",
                "RUN npm ci\n",
                "# install exactly the lockfile\nRUN npm ci\n",
            )
        },
        &[],
    );
}

#[test]
fn dockerfile_whitespace_and_continuations_do_not_change() {
    scenario(
        &node_app(),
        plain,
        |c| {
            c.replace(
                "Dockerfile",
                "RUN npm run build",
                "RUN   npm \\\n    run \\\n    build  ",
            );
            c.replace(
                "Dockerfile",
                "WORKDIR /app\nCOPY --from=deps",
                "\n\nWORKDIR    /app\n\nCOPY --from=deps",
            );
        },
        &[],
    );
}

#[test]
fn touch_does_not_change_cold_or_warm() {
    let ctx = node_app();
    let cache = tempfile::tempdir().expect("cache dir");
    let with_cache = |c: &Context| {
        let mut req = c.request();
        req.cache = CacheMode::Dir(cache.path().to_path_buf());
        req
    };
    scenario(&ctx, with_cache, |c| c.touch("src/app.ts", 5), &[]);
    scenario(&ctx, plain, |c| c.touch("package.json", 10), &[]);
}

#[test]
fn umask_permissions_do_not_change() {
    scenario(
        &node_app(),
        plain,
        |c| {
            c.chmod("src/app.ts", 0o600);
            c.chmod("package.json", 0o664);
        },
        &[],
    );
}

#[test]
fn chmod_x_on_copied_script_changes() {
    scenario(
        &node_app(),
        plain,
        |c| c.chmod("scripts/run.sh", 0o755),
        &["scripts/run.sh became executable"],
    );
}

#[test]
fn edit_of_copied_file_changes() {
    scenario(
        &node_app(),
        plain,
        |c| c.write("src/app.ts", "console.log('hello, world');\n"),
        &["src/app.ts modified"],
    );
}

#[test]
fn added_and_removed_files_are_named() {
    scenario(
        &node_app(),
        plain,
        |c| {
            c.remove("package-lock.json");
            c.write("src/new.ts", "export {};\n");
            c.remove("src/lib/file003.ts");
        },
        &[
            "package-lock.json removed",
            "src/lib/file003.ts removed",
            "src/new.ts added",
        ],
    );
    scenario(
        &node_app(),
        plain,
        |c| c.mkdir("src/empty"),
        &["src/empty/ added"],
    );
}

#[test]
fn edit_of_ignored_file_does_not_change() {
    scenario(
        &node_app(),
        plain,
        |c| {
            c.append("node_modules/left-pad/file001.js", "// patched\n");
            c.write("coverage/new.info", "x");
            c.write("docs/other.md", "still ignored\n");
        },
        &[],
    );
}

#[test]
fn dockerignore_exception_is_honoured() {
    // `**/*.md` is ignored but `!docs/keep.md` re-includes one file, which the
    // final stage copies with `COPY docs/ ./docs/`.
    let ctx = node_app();
    ctx.replace(
        "Dockerfile",
        "COPY src/ ./src/\n",
        "COPY src/ ./src/\nCOPY docs/ ./docs/\n",
    );
    scenario(
        &ctx,
        plain,
        |c| c.append("docs/keep.md", "more\n"),
        &["docs/keep.md modified"],
    );
    scenario(&ctx, plain, |c| c.append("docs/other.md", "more\n"), &[]);
}

#[test]
fn declared_build_arg_changes_undeclared_does_not() {
    let ctx = python_app();
    let with = |env: &'static str, other: &'static str| {
        move |c: &Context| {
            let mut req = c.request();
            req.build_args.insert("APP_ENV".into(), env.into());
            req.build_args.insert("NOT_DECLARED".into(), other.into());
            req
        }
    };
    let a = fingerprint(&with("staging", "1")(&ctx)).expect("fp");
    let b = fingerprint(&with("prod", "1")(&ctx)).expect("fp");
    let c = fingerprint(&with("staging", "2")(&ctx)).expect("fp");
    assert_ne!(a.digest, b.digest);
    assert_eq!(
        explain(&a.manifest, &b.manifest),
        ["build arg APP_ENV changed"]
    );
    assert_eq!(
        a.digest, c.digest,
        "an undeclared --build-arg cannot reach the image"
    );
    assert_eq!(a.manifest.inputs.unused_build_args, ["NOT_DECLARED"]);
    // Setting a declared arg for the first time is named too.
    let d = fingerprint(&ctx.request()).expect("fp");
    assert_eq!(
        explain(&d.manifest, &a.manifest),
        ["build arg APP_ENV set", "build arg NOT_DECLARED set"][..1]
    );
}

#[test]
fn build_arg_equal_to_the_declared_default_is_no_change() {
    let ctx = python_app();
    let with = |value: &'static str| {
        move |c: &Context| {
            let mut req = c.request();
            req.build_args.insert("APP_ENV".into(), value.into());
            req
        }
    };
    // `ARG APP_ENV=dev`: giving "dev" builds exactly what giving nothing does.
    let none = fingerprint(&ctx.request()).expect("fp");
    let dev = fingerprint(&with("dev")(&ctx)).expect("fp");
    assert_eq!(none.digest, dev.digest);
    assert!(explain(&none.manifest, &dev.manifest).is_empty());
    let prod = fingerprint(&with("prod")(&ctx)).expect("fp");
    assert_eq!(
        explain(&dev.manifest, &prod.manifest),
        ["build arg APP_ENV set"]
    );

    // Effective defaults: substituted, and inherited from the global ARG.
    let df = "ARG BASE=alpine\nARG FLAVOUR=${BASE}-slim\nFROM scratch\nARG FLAVOUR\nARG TAG=${FLAVOUR}:1\nCOPY requirements.txt /\n";
    let request = |args: &[(&str, &str)]| {
        let mut req = ctx.request();
        req.dockerfile = DockerfileSource::Inline(df.to_string());
        for (k, v) in args {
            req.build_args.insert(k.to_string(), v.to_string());
        }
        fingerprint(&req).expect("fp").digest
    };
    let plain = request(&[]);
    assert_eq!(plain, request(&[("FLAVOUR", "alpine-slim")]));
    assert_eq!(plain, request(&[("TAG", "alpine-slim:1")]));
    assert_eq!(
        plain,
        request(&[
            ("BASE", "alpine"),
            ("FLAVOUR", "alpine-slim"),
            ("TAG", "alpine-slim:1")
        ])
    );
    assert_ne!(plain, request(&[("FLAVOUR", "debian-slim")]));
    // Not the default once another arg moved it.
    assert_ne!(
        request(&[("BASE", "debian")]),
        request(&[("BASE", "debian"), ("FLAVOUR", "alpine-slim")])
    );
    // An ARG without a default: an empty value is not "unset".
    let no_default = "FROM scratch\nARG EMPTY\nCOPY requirements.txt /\n";
    let mut req = ctx.request();
    req.dockerfile = DockerfileSource::Inline(no_default.to_string());
    let unset = fingerprint(&req).expect("fp").digest;
    req.build_args.insert("EMPTY".into(), String::new());
    assert_ne!(unset, fingerprint(&req).expect("fp").digest);
}

#[test]
fn target_switch_changes() {
    let ctx = go_app();
    let target = |t: &'static str| {
        move |c: &Context| {
            let mut req = c.request();
            req.target = Some(t.into());
            req
        }
    };
    let prod = fingerprint(&target("prod")(&ctx)).expect("prod");
    let test = fingerprint(&target("test")(&ctx)).expect("test");
    assert_ne!(prod.digest, test.digest);
    assert_eq!(
        explain(&prod.manifest, &test.manifest),
        [
            "Dockerfile line 14 changed",
            "Dockerfile line 15 changed",
            "Dockerfile line 16 changed",
            "target changed: prod -> test",
            "FROM gcr.io/distroless/static:nonroot removed",
            "testdata/file000.json added",
            "testdata/file001.json added",
            "testdata/file002.json added",
            "testdata/file003.json added",
            "testdata/file004.json added",
        ]
    );
    // Stages the target cannot reach do not count: lint's input.
    scenario(
        &ctx,
        target("prod"),
        |c| c.append(".golangci.yml", "# x\n"),
        &[],
    );
    scenario(
        &ctx,
        target("test"),
        |c| c.append("testdata/file001.json", " "),
        &["testdata/file001.json modified"],
    );
}

#[test]
fn copy_from_another_stage_follows_its_inputs() {
    // prod only has `COPY --from=builder`; builder's inputs still count.
    let ctx = go_app();
    let prod = |c: &Context| {
        let mut req = c.request();
        req.target = Some("prod".into());
        req
    };
    scenario(
        &ctx,
        prod,
        |c| {
            c.write(
                "cmd/server/main.go",
                "package main\n\nfunc main() { println(1) }\n",
            )
        },
        &["cmd/server/main.go modified"],
    );
    scenario(
        &ctx,
        prod,
        |c| c.write("go.sum", "example.com/x v1.0.0 h1:abc=\n"),
        &["go.sum modified"],
    );
}

#[test]
fn heredoc_edit_changes() {
    let ctx = python_app();
    scenario(
        &ctx,
        plain,
        |c| c.replace("Dockerfile", "workers = 2", "workers = 4"),
        &["Dockerfile line 8 changed"],
    );
    scenario(
        &ctx,
        plain,
        |c| {
            c.replace(
                "Dockerfile",
                "python -m compileall app",
                "python -m compileall -q app",
            )
        },
        &["Dockerfile line 12 changed"],
    );
}

#[test]
fn moving_an_instruction_by_a_comment_keeps_it_then_edits_name_the_new_line() {
    let ctx = node_app();
    scenario(
        &ctx,
        plain,
        |c| {
            c.replace(
                "Dockerfile",
                "FROM node:20-alpine AS deps",
                "# deps\n# stage\nFROM node:20-alpine AS deps",
            )
        },
        &[],
    );
    // RUN npm run build is now on line 15 (two comment lines added above).
    scenario(
        &ctx,
        plain,
        |c| c.replace("Dockerfile", "RUN npm run build", "RUN npm run build:prod"),
        &["Dockerfile line 15 changed"],
    );
}

#[test]
fn base_image_change_is_named() {
    scenario(
        &python_app(),
        plain,
        |c| {
            c.replace(
                "Dockerfile",
                "FROM python:3.12-slim",
                "FROM python:3.13-slim",
            )
        },
        &[
            "Dockerfile line 1 changed",
            "FROM python:3.12-slim changed to python:3.13-slim",
        ],
    );
}

#[test]
fn monorepo_dockerfiles_see_only_their_inputs() {
    let ctx = monorepo();
    let api = |c: &Context| c.request_for("services/api/Dockerfile");
    let web = |c: &Context| c.request_for("services/web/Dockerfile");
    scenario(
        &ctx,
        api,
        |c| c.append("services/web/src/file001.tsx", "//\n"),
        &[],
    );
    scenario(
        &ctx,
        web,
        |c| c.append("services/web/src/file001.tsx", "//\n"),
        &["services/web/src/file001.tsx modified"],
    );
    scenario(
        &ctx,
        api,
        |c| c.append("packages/shared/src/file002.ts", "//\n"),
        &["packages/shared/src/file002.ts modified"],
    );
    scenario(
        &ctx,
        web,
        |c| c.append("packages/shared/src/file002.ts", "//\n"),
        &["packages/shared/src/file002.ts modified"],
    );
    // services/api/Dockerfile.dockerignore (not the root one) ignores tests.
    scenario(
        &ctx,
        api,
        |c| c.append("services/api/src/index.test.ts", "//\n"),
        &[],
    );
    scenario(
        &ctx,
        web,
        |c| c.write("services/web/src/index.test.ts", "//\n"),
        &["services/web/src/index.test.ts added"],
    );
    let fp = fingerprint(&api(&ctx)).expect("api");
    assert_eq!(
        fp.manifest.inputs.ignore_file.as_deref(),
        Some("services/api/Dockerfile.dockerignore")
    );
}

#[test]
fn symlinks_inside_copied_dirs_hash_their_target_text() {
    let ctx = node_app();
    ctx.symlink("lib/file001.ts", "src/current.ts");
    scenario(
        &ctx,
        plain,
        |c| c.symlink("lib/file002.ts", "src/current.ts"),
        &["src/current.ts symlink target changed: lib/file001.ts -> lib/file002.ts"],
    );
    // A link pointing outside the context is copied as a link, never read.
    scenario(
        &ctx,
        plain,
        |c| c.symlink("/etc/passwd", "src/current.ts"),
        &["src/current.ts symlink target changed: lib/file002.ts -> /etc/passwd"],
    );
    let fp = ctx.fp();
    let entry = fp
        .manifest
        .files
        .iter()
        .find(|f| f.path == "src/current.ts")
        .expect("link entry");
    assert_eq!(entry.symlink.as_deref(), Some("/etc/passwd"));
}

#[test]
fn copy_exclude_and_parents() {
    let ctx = node_app();
    ctx.write("src/app.test.ts", "test();\n");
    ctx.replace(
        "Dockerfile",
        "COPY src/ ./src/",
        "COPY --exclude=*.test.ts --exclude=lib/file00* src/ ./src/",
    );
    scenario(
        &ctx,
        plain,
        |c| c.append("src/app.test.ts", "more();\n"),
        &[],
    );
    scenario(&ctx, plain, |c| c.append("src/lib/file005.ts", "//\n"), &[]);
    scenario(
        &ctx,
        plain,
        |c| c.append("src/lib/file015.ts", "//\n"),
        &["src/lib/file015.ts modified"],
    );

    let ctx = monorepo();
    ctx.write(
        "Dockerfile",
        "FROM node:20\nCOPY --parents packages/*/src/file00*.ts services/./api/src/file010.ts /repo/\n",
    );
    let fp = ctx.fp();
    let paths: Vec<&str> = fp.manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert!(
        paths.contains(&"packages/shared/src/file009.ts"),
        "{paths:?}"
    );
    assert!(
        !paths.contains(&"packages/shared/src/file010.ts"),
        "{paths:?}"
    );
    assert!(paths.contains(&"services/api/src/file010.ts"), "{paths:?}");
    assert_eq!(paths.len(), 11, "{paths:?}");
}

#[test]
fn wildcard_sources_follow_go_match() {
    let ctx = node_app();
    // `package-lock.json*` matches nothing once the lockfile is gone: no error.
    scenario(
        &ctx,
        plain,
        |c| c.remove("package-lock.json"),
        &["package-lock.json removed"],
    );
    scenario(
        &ctx,
        plain,
        |c| c.write("package-lock.json", "{}\n"),
        &["package-lock.json added"],
    );
}

#[test]
fn bind_mount_hashes_whole_path_and_says_so() {
    let ctx = python_app();
    ctx.write("scripts/migrate.py", "print('migrate')\n");
    ctx.replace(
        "Dockerfile",
        "CMD [",
        "RUN --mount=type=bind,source=scripts,target=/scripts python /scripts/migrate.py\nCMD [",
    );
    let fp = ctx.fp();
    assert_eq!(
        fp.manifest.unhashable.len(),
        1,
        "{:?}",
        fp.manifest.unhashable
    );
    assert!(fp.manifest.unhashable[0]
        .reason
        .contains("whole bound path is hashed"));
    assert!(imagedeploy_fingerprint::notes(&fp.manifest)[0]
        .starts_with("Dockerfile line 16: RUN --mount=type=bind"));
    scenario(
        &ctx,
        plain,
        |c| c.append("scripts/migrate.py", "#\n"),
        &["scripts/migrate.py modified"],
    );
}

#[test]
fn remote_add_is_reported_as_unhashable() {
    let ctx = go_app();
    ctx.write(
        "Dockerfile",
        "FROM alpine:3.20\nADD https://example.com/tool.tgz /opt/\n",
    );
    let fp = ctx.fp();
    assert_eq!(fp.manifest.unhashable.len(), 1);
    assert_eq!(fp.manifest.unhashable[0].line, 2);
}

#[test]
fn missing_source_is_a_docker_like_error() {
    let ctx = go_app();
    ctx.write("Dockerfile", "FROM alpine\n\nCOPY missing.txt /x\n");
    let err = fingerprint(&ctx.request())
        .expect_err("missing source")
        .to_string();
    assert_eq!(
        err,
        "Dockerfile line 3: COPY failed: \"/missing.txt\": not found (not in the build context, or excluded by .dockerignore)"
    );
    // Ignored files are invisible too.
    ctx.write("Dockerfile", "FROM alpine\nCOPY README.md /x\n");
    ctx.write(".dockerignore", "*.md\n");
    let err = fingerprint(&ctx.request())
        .expect_err("ignored source")
        .to_string();
    assert!(err.contains("\"/README.md\": not found"), "{err}");
}

#[test]
fn sources_outside_the_context_are_errors() {
    let ctx = go_app();
    ctx.write("Dockerfile", "FROM alpine\nCOPY ../secret /x\n");
    let err = fingerprint(&ctx.request())
        .expect_err("outside")
        .to_string();
    assert_eq!(
        err,
        "Dockerfile line 2: COPY failed: forbidden path outside the build context: ../secret"
    );

    ctx.write("Dockerfile", "FROM alpine\nCOPY passwd /x\n");
    ctx.symlink("/etc/passwd", "passwd");
    let err = fingerprint(&ctx.request())
        .expect_err("symlink outside")
        .to_string();
    assert_eq!(err, "Dockerfile line 2: COPY failed: passwd is a symlink to /etc/passwd, which is outside the build context");

    ctx.symlink("../../../../etc", "up");
    ctx.write("Dockerfile", "FROM alpine\nCOPY up/hosts /x\n");
    let err = fingerprint(&ctx.request())
        .expect_err("through symlink")
        .to_string();
    assert!(err.contains("outside the build context"), "{err}");

    // A top-level symlink inside the context is followed (Docker copies the
    // target) and recorded under its own name.
    ctx.symlink("cmd/server/main.go", "main-link.go");
    ctx.write("Dockerfile", "FROM alpine\nCOPY main-link.go /x\n");
    let fp = ctx.fp();
    assert_eq!(fp.manifest.files.len(), 1);
    assert_eq!(fp.manifest.files[0].path, "main-link.go");
    assert_eq!(fp.manifest.files[0].symlink, None);
}

#[test]
fn renamed_context_gives_the_same_fingerprint() {
    let a = node_app();
    let before = a.fp();
    let b = tempfile::tempdir().expect("tmp");
    let moved = b.path().join("renamed-checkout");
    std::fs::rename(a.root(), &moved).expect("rename");
    let mut req = Request::new(&moved);
    req.cache = CacheMode::Disabled;
    let after = fingerprint(&req).expect("fp");
    std::fs::rename(&moved, a.root()).expect("rename back");
    assert_eq!(before.digest, after.digest);
}

#[test]
fn cli_json_and_explain() {
    let ctx = node_app();
    let json_path = ctx.path("old.json");
    let run = |extra: &[&str]| {
        let mut args: Vec<String> = vec![
            "fingerprint".into(),
            "--context".into(),
            ctx.root().display().to_string(),
            "--no-cache".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_imagedeploy-fingerprint"))
            .args(&args[1..])
            .output()
            .expect("run cli");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, json, _) = run(&["--json"]);
    assert_eq!(code, Some(0));
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(value["fingerprint"]
        .as_str()
        .expect("fingerprint")
        .starts_with("sha256:"));
    assert!(value["files"][0]["path"].is_string());
    assert!(value["files"][0]["sha256"].is_string());
    assert!(value["files"][0]["executable"].is_boolean());
    assert!(value["inputs"].is_object());
    assert!(value["unhashable"].is_array());
    std::fs::write(&json_path, &json).expect("write");

    let (code, digest, _) = run(&[]);
    assert_eq!(code, Some(0));
    assert_eq!(digest.trim(), value["fingerprint"].as_str().expect("str"));

    ctx.append("src/app.ts", "//\n");
    let (code, out, _) = run(&[
        "--build-arg",
        "NODE_ENV=development",
        "--explain",
        json_path.to_str().expect("utf8"),
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(out, "build arg NODE_ENV set\nsrc/app.ts modified\n");

    let (code, out, err) = run(&["--target", "nope"]);
    assert_eq!(code, Some(1));
    assert!(out.is_empty());
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn wildcard_exception_reaches_into_ignored_directories() {
    let ctx = node_app();
    ctx.write(".dockerignore", "node_modules\n!**/keep.txt\n");
    ctx.write("node_modules/left-pad/keep.txt", "kept\n");
    ctx.write("Dockerfile", "FROM scratch\nCOPY . /app\n");
    let fp = ctx.fp();
    let paths: Vec<&str> = fp.manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert!(
        paths.contains(&"node_modules/left-pad/keep.txt"),
        "{paths:?}"
    );
    assert!(
        !paths
            .iter()
            .any(|p| p.ends_with(".js") && p.starts_with("node_modules")),
        "{paths:?}"
    );
    scenario(
        &ctx,
        plain,
        |c| c.append("node_modules/left-pad/file001.js", "//\n"),
        &[],
    );
    scenario(
        &ctx,
        plain,
        |c| c.append("node_modules/left-pad/keep.txt", "more\n"),
        &["node_modules/left-pad/keep.txt modified"],
    );
    // The re-included file makes its ignored parent visible to COPY.
    ctx.write(
        "Dockerfile",
        "FROM scratch\nCOPY node_modules/left-pad /lp\n",
    );
    let fp = ctx.fp();
    assert_eq!(fp.manifest.files.len(), 1, "{:?}", fp.manifest.files);
}

#[test]
fn named_context_is_hashed_when_referenced() {
    let ctx = go_app();
    let extra = Context::new(&[("tool/bin.sh", "#!/bin/sh\n")]);
    ctx.write(
        "Dockerfile",
        "FROM alpine\nCOPY --from=tools /tool/bin.sh /usr/local/bin/\n",
    );
    let with_tools = |c: &Context| {
        let mut req = c.request();
        req.named_contexts
            .insert("tools".into(), extra.root().to_path_buf());
        req
    };
    let before = fingerprint(&with_tools(&ctx)).expect("fp");
    assert!(
        before.manifest.inputs.named_contexts.contains_key("tools"),
        "{:?}",
        before.manifest.inputs
    );
    extra.append("tool/bin.sh", "echo hi\n");
    let after = fingerprint(&with_tools(&ctx)).expect("fp");
    assert_eq!(
        explain(&before.manifest, &after.manifest),
        ["named context tools changed"]
    );
}

/// Per target platform, the first RUN that executes on it: a stage on
/// `$BUILDPLATFORM` runs natively, the final stage on each target. Which
/// RUN needs which platform is not part of the digest.
#[test]
fn run_platforms_per_target_platform() {
    let ctx = Context::new(&[
        (
            "Dockerfile",
            "FROM --platform=$BUILDPLATFORM base AS build\nRUN make\nFROM base\nCOPY --from=build /out /out\nCOPY a /a\nRUN check\n",
        ),
        ("a", "a\n"),
    ]);
    let mut req = plain(&ctx);
    req.builder_platform = Some("linux/amd64".into());
    req.platforms = vec!["linux/amd64".into(), "linux/arm64".into()];
    let fp = fingerprint(&req).unwrap();
    let runs: Vec<(&str, usize)> = fp
        .run_platforms
        .iter()
        .map(|(p, r)| (p.as_str(), r.line))
        .collect();
    assert_eq!(runs, vec![("linux/amd64", 2), ("linux/arm64", 6)]);

    let copy_only = Context::new(&[("Dockerfile", "FROM base\nCOPY a /a\n"), ("a", "a\n")]);
    let mut req = plain(&copy_only);
    req.platforms = vec!["linux/arm64".into()];
    assert!(fingerprint(&req).unwrap().run_platforms.is_empty());
}
