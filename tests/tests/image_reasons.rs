//! Why an Image changes, as preview shows it: a moved base image tag
//! (rule 5, and `pinned` ignoring it) and the fingerprint's own words in
//! detailedDiff and the engine log (rule 6).

mod image_support;

use image_support::*;
use imagedeploy_tests::{Op, Program};
use imagedeploy_testsupport::push_base_image;
use serde_json::json;

const DIFF_NONE: i64 = 1;

fn diff_changes(report: &imagedeploy_tests::Report, name: &str) -> i64 {
    response(report, "Diff", name)["changes"]
        .as_i64()
        .unwrap_or(0)
}

/// Rule 5: a moved `FROM` tag is a reason in preview and a rebuild in up;
/// `baseImages: pinned` keeps the recorded digest until switched back.
#[tokio::test]
async fn moved_base_tag_is_a_reason_and_a_rebuild_pinned_ignores_it() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context("app", &[("Dockerfile", &dockerfile), ("src/app.ts", "x\n")]);
    let follow = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&follow).await.unwrap().assert_ok();
    let old = w.stack.state().unwrap().by_name("app").unwrap().clone();
    let a = w.base.digest.clone();
    assert_eq!(old.outputs["baseImageDigests"][&w.base.reference], json!(a));

    let moved = push_base_image(&w.registry, "base:1", "two").expect("move base:1");
    let b = moved.digest.clone();
    assert_ne!(a, b);

    let preview = w.stack.preview(&follow).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update));
    let path = format!("dockerfile.from[{}]", json!(w.base.reference));
    assert_eq!(
        preview
            .step("app")
            .unwrap()
            .detailed_diff
            .get(&path)
            .map(String::as_str),
        Some("UPDATE"),
        "detailedDiff: {:?}",
        preview.step("app").unwrap().detailed_diff
    );
    // `pulumi preview --diff` prints the old and new digest, not a deletion.
    let lines = preview.step("app").unwrap().diff_lines();
    let moved = format!("~ {}: {:?} => {:?}", w.base.reference, a, b);
    assert!(
        lines.iter().any(|l| l.trim_start() == moved),
        "the --diff view shows {moved:?}:\n{}",
        lines.join("\n")
    );
    assert!(
        !lines.iter().any(|l| l.trim_start().starts_with("- ")),
        "nothing reads as a deletion:\n{}",
        lines.join("\n")
    );
    let reason = format!("FROM {} moved {a} -> {b}", w.base.reference);
    assert!(
        messages_for(&preview, "app").contains(&reason),
        "preview says {reason:?}: {:?}",
        messages_for(&preview, "app")
    );
    let planned = &preview.step("app").unwrap().outputs;
    assert_ne!(
        planned["digest"], old.outputs["digest"],
        "a new base means new content"
    );

    let up = w.stack.up(&follow).await.unwrap();
    up.assert_ok();
    assert!(
        progress_for(&up, "app").iter().any(|l| l.contains(&b)),
        "rebuilt FROM the new digest"
    );
    let rebuilt = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(
        rebuilt.outputs["baseImageDigests"][&w.base.reference],
        json!(b)
    );
    assert_eq!(rebuilt.outputs["digest"], planned["digest"]);
    assert_eq!(
        registry_digest(&w.tag("app")),
        rebuilt.outputs["digest"].as_str().map(String::from)
    );

    // pinned: switching the policy changes nothing; a moved tag is ignored.
    let pinned = Program::new().resource(w.image("app", &ctx, json!({ "baseImages": "pinned" })));
    let switched = w.stack.up(&pinned).await.unwrap();
    switched.assert_ok();
    assert_eq!(switched.op("app"), Some(Op::Same));
    let c = push_base_image(&w.registry, "base:1", "three")
        .expect("move base:1 again")
        .digest;
    let files = w.registry_files();
    for run in ["preview", "up"] {
        let r = if run == "preview" {
            w.stack.preview(&pinned).await
        } else {
            w.stack.up(&pinned).await
        }
        .unwrap();
        r.assert_ok();
        assert_eq!(
            diff_changes(&r, "app"),
            DIFF_NONE,
            "{run}: pinned ignores the moved tag"
        );
        assert!(
            progress_for(&r, "app").iter().all(|l| !l.contains("STEP")),
            "{run}: no build"
        );
    }
    assert_eq!(w.registry_files(), files);
    let kept = w.stack.state().unwrap().by_name("app").unwrap().clone();
    assert_eq!(
        kept.outputs["baseImageDigests"][&w.base.reference],
        json!(b)
    );

    // A pinned image that is rebuilt for another reason still builds FROM the pinned digest.
    write_files(&ctx, &[("src/app.ts", "y\n")]);
    let up = w.stack.up(&pinned).await.unwrap();
    up.assert_ok();
    assert!(
        progress_for(&up, "app").iter().any(|l| l.contains(&b)),
        "builds FROM the pinned digest {b}"
    );
    assert!(!progress_for(&up, "app").iter().any(|l| l.contains(&c)));

    // Back to follow: the move shows again.
    let preview = w.stack.preview(&follow).await.unwrap();
    preview.assert_ok();
    let reason = format!("FROM {} moved {b} -> {c}", w.base.reference);
    assert!(
        messages_for(&preview, "app").contains(&reason),
        "{:?}",
        messages_for(&preview, "app")
    );
}

/// Rule 6: detailedDiff and the engine log name the file, in the
/// fingerprint's words, not just "contextHash changed".
#[tokio::test]
async fn detailed_diff_and_log_name_the_changed_file() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let ctx = w.context(
        "app",
        &[
            ("Dockerfile", &dockerfile),
            ("src/app.ts", "a\n"),
            ("src/util.ts", "u\n"),
        ],
    );
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&p).await.unwrap().assert_ok();

    write_files(&ctx, &[("src/app.ts", "b\n"), ("src/new.ts", "n\n")]);
    std::fs::remove_file(ctx.join("src/util.ts")).unwrap();
    let preview = w.stack.preview(&p).await.unwrap();
    preview.assert_ok();
    let step = preview.step("app").unwrap();
    let dd = &step.detailed_diff;
    assert_eq!(
        dd.get(r#"context.files["src/app.ts"]"#).map(String::as_str),
        Some("UPDATE"),
        "{dd:?}"
    );
    assert_eq!(
        dd.get(r#"context.files["src/new.ts"]"#).map(String::as_str),
        Some("ADD"),
        "{dd:?}"
    );
    assert_eq!(
        dd.get(r#"context.files["src/util.ts"]"#)
            .map(String::as_str),
        Some("DELETE"),
        "{dd:?}"
    );
    assert!(
        !dd.contains_key("contextHash"),
        "the fingerprint's words, not contextHash: {dd:?}"
    );
    assert_eq!(
        step.diffs,
        vec!["context".to_string()],
        "every detailedDiff path has its top-level key"
    );
    // `pulumi preview --diff` shows each file with its old and new content
    // hash, under `context.files`.
    let lines = step.diff_lines().join("\n");
    let hash = |text: &str| {
        use sha2::Digest;
        let hex = hex::encode(sha2::Sha256::digest(text.as_bytes()));
        format!("sha256:{}", &hex[..12])
    };
    for expected in [
        format!("~ src/app.ts : {:?} => {:?}", hash("a\n"), hash("b\n")),
        format!("+ src/new.ts : {:?}", hash("n\n")),
        format!("- src/util.ts: {:?}", hash("u\n")),
    ] {
        assert!(
            lines.lines().any(|l| l.trim_start() == expected),
            "the --diff view shows {expected:?}:\n{lines}"
        );
    }
    let messages = messages_for(&preview, "app");
    for expected in [
        "src/app.ts modified",
        "src/new.ts added",
        "src/util.ts removed",
    ] {
        assert!(
            messages.iter().any(|m| m == expected),
            "log says {expected:?}: {messages:?}"
        );
    }

    // The explanation survives a lost local cache: the state carries the file list.
    let cache = w.dir.path().join("cache");
    std::fs::remove_dir_all(&cache).unwrap();
    std::fs::create_dir_all(&cache).unwrap();
    let preview = w.stack.preview(&p).await.unwrap();
    preview.assert_ok();
    assert!(messages_for(&preview, "app")
        .iter()
        .any(|m| m == "src/app.ts modified"));

    // A Dockerfile edit is named as such.
    w.stack.up(&p).await.unwrap().assert_ok();
    write_files(
        &ctx,
        &[("Dockerfile", &format!("{dockerfile}ENV MODE=prod\n"))],
    );
    let preview = w.stack.preview(&p).await.unwrap();
    preview.assert_ok();
    let messages = messages_for(&preview, "app");
    assert!(
        messages.iter().any(|m| m.starts_with("Dockerfile")),
        "{messages:?}"
    );
    assert!(
        preview
            .step("app")
            .unwrap()
            .detailed_diff
            .contains_key("dockerfile.instructions"),
        "{:?} {messages:?}",
        preview.step("app").unwrap().detailed_diff
    );
    // The Dockerfile's instructions, old and new, as the CLI prints them.
    let lines = preview.step("app").unwrap().diff_lines().join("\n");
    assert!(
        lines.contains("~ instructions: ") && lines.contains("ENV MODE=prod"),
        "the --diff view shows the Dockerfile change:\n{lines}"
    );
}

/// Every detailedDiff key is a property path the engine parses back to the
/// file it names, whatever the file is called; the one name no path can
/// spell (a trailing backslash in a name with a dot) falls back to
/// `context.files`.
/// Before, keys were JSON-quoted: a backslash doubled and a trailing one
/// made `applyReplaceOnChanges` fail the whole preview.
#[tokio::test]
async fn diff_keys_are_property_paths_for_any_file_name() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let names = [
        r#"src/say "hi".txt"#,
        r"src/win\path.txt",
        r"src/ends-in\",
        r"src/dot.ends\",
        "src/[x] y.z",
        "src/ünï cödé.ts",
        "src/app.ts",
    ];
    let mut files: Vec<(&str, &str)> = vec![("Dockerfile", &dockerfile)];
    files.extend(names.iter().map(|n| (*n, "1\n")));
    let ctx = w.context("app", &files);
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&p).await.unwrap().assert_ok();

    let edits: Vec<(&str, &str)> = names.iter().map(|n| (*n, "2\n")).collect();
    write_files(&ctx, &edits);
    let preview = w.stack.preview(&p).await.unwrap();
    preview.assert_ok();
    let step = preview.step("app").unwrap();
    let mut named = Vec::new();
    for key in step.detailed_diff.keys() {
        let path = imagedeploy_tests::PropertyPath::parse(key)
            .unwrap_or_else(|e| panic!("{key:?} does not parse: {e}"));
        assert_eq!(path.root_key(), Some("context"), "{key}");
        use imagedeploy_tests::path::Element::Key;
        match &path.0[..] {
            [_, Key(files), Key(file)] if files == "files" => named.push(file.clone()),
            [_, Key(files)] if files == "files" => named.push(String::new()),
            other => panic!("{key}: {other:?}"),
        }
    }
    for n in names.iter().filter(|n| **n != r"src/dot.ends\") {
        assert!(named.iter().any(|f| f == n), "{n:?} not in {named:?}");
    }
    assert!(
        named.iter().any(String::is_empty),
        "the unspellable name falls back to `context.files`: {named:?}"
    );
}

/// Past 50 changed files the diff stops giving each its own key and shows
/// the count of the others as a value, `context.moreChangedFiles`, so a
/// large edit still reads as one short diff.
#[tokio::test]
async fn past_fifty_changed_files_the_diff_shows_a_count() {
    let w = World::start();
    let dockerfile = simple_dockerfile(&w.base_from());
    let names: Vec<String> = (0..60).map(|i| format!("src/f{i:02}.ts")).collect();
    let mut files: Vec<(&str, &str)> = vec![("Dockerfile", &dockerfile)];
    files.extend(names.iter().map(|n| (n.as_str(), "1\n")));
    let ctx = w.context("app", &files);
    let p = Program::new().resource(w.image("app", &ctx, json!({})));
    w.stack.up(&p).await.unwrap().assert_ok();

    let edits: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "2\n")).collect();
    write_files(&ctx, &edits);
    let preview = w.stack.preview(&p).await.unwrap();
    preview.assert_ok();
    let step = preview.step("app").unwrap();
    let keyed = step
        .detailed_diff
        .keys()
        .filter(|k| k.starts_with("context.files"))
        .count();
    assert_eq!(keyed, 50, "{:?}", step.detailed_diff);
    let lines = step.diff_lines().join("\n");
    assert!(
        lines.contains(r#"+ moreChangedFiles: "10 more changed files""#),
        "the --diff view counts the rest:\n{lines}"
    );
    let messages = messages_for(&preview, "app");
    assert_eq!(
        messages.iter().filter(|m| m.ends_with(" modified")).count(),
        60,
        "the log names every changed file: {messages:?}"
    );
}
