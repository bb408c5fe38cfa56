//! The engine rules the harness ports from pulumi/pulumi, exercised end to
//! end against the real plugin with the side-effect-free Fixture resource.
//! Each test names the Go function whose behaviour it checks.

use imagedeploy_tests::{fixture, Deployment, Op, Program, Severity};
use serde_json::json;

fn stack() -> Deployment {
    Deployment::new()
        .expect("provider binary must be built (cargo build -p imagedeploy)")
        .with_fixture()
}

/// `processIgnoreChanges` resets exactly the path, parsed with the engine's
/// grammar: a quoted key with a dot is one key. (A string prefix of the path,
/// as the harness used to take, ignored every tag.)
#[tokio::test]
async fn ignore_changes_resets_exactly_the_quoted_nested_path() {
    let d = stack();
    let p = |team: &str, other: &str| {
        Program::new().resource(
            fixture(
                "a",
                json!({"value": "v", "tags": {"team.x": team, "other": other}}),
            )
            .ignore_changes(&[r#"tags["team.x"]"#]),
        )
    };
    d.up(&p("a", "1")).await.unwrap().assert_ok();
    let r = d.up(&p("b", "2")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("a"), Some(Op::Update));
    let news = r.calls_for("Check", "a")[0].req("news").clone();
    assert_eq!(news["tags"], json!({"team.x": "a", "other": "2"}));
    assert_eq!(
        r.calls_for("Diff", "a")[0].req("ignoreChanges"),
        &json!([r#"tags["team.x"]"#])
    );
}

/// `applyReplaceOnChanges`: a changed path under a replaceOnChanges path
/// turns the update into a replacement; other changes stay updates.
#[tokio::test]
async fn replace_on_changes_turns_matching_changes_into_replacements() {
    let d = stack();
    let p = |value: &str, team: &str| {
        Program::new().resource(
            fixture("a", json!({"value": value, "tags": {"team": team}}))
                .replace_on_changes(&["tags"]),
        )
    };
    d.up(&p("v1", "a")).await.unwrap().assert_ok();
    let r = d.preview(&p("v2", "a")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("a"), Some(Op::Update));
    let r = d.preview(&p("v1", "b")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("a"), Some(Op::Replace));
    assert_eq!(r.step("a").unwrap().detailed_diff["tags"], "UPDATE_REPLACE");
}

/// Steps of independent resources run at the same time
/// (`stepExecutor.ExecuteSerial`): `a` comes first in the
/// program and waits for a file that only `b`'s Create writes, which works
/// only when both run at once; `c` depends on `a` and starts after it.
#[tokio::test]
async fn independent_resources_run_at_the_same_time_dependents_after() {
    let d = stack();
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("b-created").to_string_lossy().into_owned();
    let p = Program::new()
        .resource(fixture("a", json!({"value": "a", "waitForFile": flag})))
        .resource(fixture("b", json!({"value": "b", "touchFile": flag})))
        .resource(fixture("c", json!({"value": "c"})).depends_on(&["a"]));
    let r = d.up(&p).await.unwrap();
    r.assert_ok();
    // Both succeeded, so b's Create ran while a's waited; c began only
    // after a had finished.
    let created = |name: &str| r.position("Create", name).unwrap();
    assert!(created("c") > created("a"), "{:?}", r.sequence());
}

/// customTimeouts travel in Create, Update and Delete (`CreateStep.Apply`,
/// `UpdateStep.Apply`, `DeleteStep.Apply` pass `CustomTimeouts`).
#[tokio::test]
async fn custom_timeouts_are_sent_with_create_update_and_delete() {
    let d = stack();
    let p = |v: &str| {
        Program::new().resource(fixture("a", json!({"value": v})).custom_timeouts(11.0, 22.0, 33.0))
    };
    let r = d.up(&p("1")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.calls_for("Create", "a")[0].req("timeout"), &json!(11.0));
    let r = d.up(&p("2")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.calls_for("Update", "a")[0].req("timeout"), &json!(22.0));
    let r = d.destroy().await.unwrap();
    r.assert_ok();
    assert_eq!(r.calls_for("Delete", "a")[0].req("timeout"), &json!(33.0));
}

/// Refresh diffs with the ignoreChanges kept in state (`RefreshStep.Apply`
/// passes `s.old.IgnoreChanges` to `diffResource`).
#[tokio::test]
async fn refresh_passes_the_stored_ignore_changes_to_diff() {
    let d = stack();
    let p = Program::new().resource(fixture("a", json!({"value": "v"})).ignore_changes(&["tags"]));
    d.up(&p).await.unwrap().assert_ok();
    let r = d.refresh().await.unwrap();
    r.assert_ok();
    assert_eq!(
        r.calls_for("Diff", "a")[0].req("ignoreChanges"),
        &json!(["tags"])
    );
}

/// Moving the provider to another region replaces the provider, and with it
/// every resource it manages (DiffConfig's replace keys; `providerChanged`
/// in step_generator.go). Before, the provider answered a plain update and
/// the old resources ran on, unmanaged.
#[tokio::test]
async fn a_region_change_replaces_the_provider_and_its_resources() {
    let d = stack();
    let p = |region: &str| {
        Program::new()
            .config(json!({"region": region}))
            .resource(fixture("a", json!({"value": "v"})))
    };
    d.up(&p("us-east-1")).await.unwrap().assert_ok();
    let r = d.preview(&p("eu-west-1")).await.unwrap();
    r.assert_ok();
    let diff = &r.calls("DiffConfig")[0];
    assert_eq!(
        diff.response.as_ref().unwrap()["replaces"],
        json!(["region"]),
        "{:?}",
        diff.response
    );
    assert_eq!(r.op("a"), Some(Op::Replace));
    // A setting that does not move anything stays an update of the config.
    let r = d
        .preview(
            &Program::new()
                .config(json!({"region": "us-east-1", "skipCredentialsValidation": true}))
                .resource(fixture("a", json!({"value": "v"}))),
        )
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.op("a"), Some(Op::Same));
}

/// `Report::render` prints what the CLI prints: the row names only top-level
/// keys (`writeShortDiff`), the details walk each key through the old
/// outputs and new inputs (`TranslateDetailedDiff`, `printObjectDiff`), and
/// ephemeral status messages never appear under Diagnostics.
#[tokio::test]
async fn render_prints_the_cli_diff_and_keeps_status_out_of_diagnostics() {
    let d = stack();
    let p = |team: &str| {
        Program::new().resource(fixture(
            "a",
            json!({"value": "v", "tags": {"team": team, "same": "s"}}),
        ))
    };
    let up = d.up(&p("red")).await.unwrap();
    up.assert_ok();
    assert!(
        up.logs
            .iter()
            .any(|l| l.ephemeral && l.message.contains("creating fixture")),
        "{:?}",
        up.logs
    );
    let text = up.render();
    assert!(!text.contains("creating fixture"), "{text}");

    let r = d.preview(&p("blue")).await.unwrap();
    r.assert_ok();
    let text = r.render();
    assert!(text.contains("[diff: ~tags]"), "{text}");
    assert!(text.contains("~ tags: {"), "{text}");
    assert!(text.contains(r#"~ team: "red" => "blue""#), "{text}");
    assert!(text.contains(r#"  same: "s""#), "{text}");
    assert!(r
        .messages(Severity::Info)
        .iter()
        .all(|l| !l.ephemeral || !text.contains(&l.message)));
}
