//! Whole stack life cycles against the real provider binary, with the test
//! fixture resource, checking that the harness applies each engine rule and
//! that the provider answers as the engine expects.

use imagedeploy_tests::values::{is_secret, is_unknown, secret, unwrap_secret, UNKNOWN};
use imagedeploy_tests::{fixture, output, Deployment, Op, Program, Report, StackState};
use serde_json::{json, Value as Json};

fn stack() -> Deployment {
    Deployment::new()
        .expect("provider binary must be built (cargo build -p imagedeploy)")
        .with_fixture()
}

fn state(d: &Deployment) -> StackState {
    d.state().expect("stack file readable")
}

fn one(value: &str) -> Program {
    Program::new().resource(fixture("a", json!({ "value": value })))
}

/// Names of the calls a run made, in order, without the process-level ones.
fn resource_calls(r: &Report) -> Vec<(String, String)> {
    r.sequence()
        .into_iter()
        .filter(|(m, _)| {
            !matches!(
                m.as_str(),
                "Handshake" | "GetPluginInfo" | "CheckConfig" | "DiffConfig" | "Configure"
            )
        })
        .collect()
}

fn pair(m: &str, n: &str) -> (String, String) {
    (m.to_string(), n.to_string())
}

#[tokio::test]
async fn create_then_unchanged_up_is_a_same_step_that_keeps_id_and_outputs() {
    let d = stack();
    let r1 = d.up(&one("one")).await.unwrap();
    r1.assert_ok();
    assert_eq!(r1.op("a"), Some(Op::Create));
    let s1 = state(&d);
    let a1 = s1.by_name("a").expect("a recorded").clone();
    assert!(a1.id.starts_with("fixture-"), "id {:?}", a1.id);
    assert_eq!(a1.outputs["result"], json!("value=one"));
    assert_eq!(a1.outputs["generation"], json!(1));

    let r2 = d.up(&one("one")).await.unwrap();
    r2.assert_ok();
    assert_eq!(r2.op("a"), Some(Op::Same));
    assert!(r2.calls("Create").is_empty() && r2.calls("Update").is_empty());
    let diff = r2.calls_for("Diff", "a");
    assert_eq!(
        diff.len(),
        1,
        "the engine always calls Diff when state exists"
    );
    assert_eq!(diff[0].response.as_ref().unwrap()["changes"], json!(1));

    let a2 = state(&d).by_name("a").unwrap().clone();
    assert_eq!(a2.id, a1.id, "same step keeps the id");
    assert_eq!(a2.outputs, a1.outputs, "same step keeps the outputs");
    // ...and records the NEW checked inputs (those Check returned in this run).
    let check = r2.calls_for("Check", "a");
    assert_eq!(a2.inputs, check[0].response.as_ref().unwrap()["inputs"]);
}

#[tokio::test]
async fn check_gets_old_inputs_and_diff_and_update_get_old_outputs() {
    let d = stack();
    let first = d.up(&one("one")).await.unwrap();
    first.assert_ok();
    let before = state(&d).by_name("a").unwrap().clone();

    let r = d.up(&one("two")).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("a"), Some(Op::Update));

    let check = r.calls_for("Check", "a");
    assert_eq!(check.len(), 1);
    assert_eq!(
        check[0].req("olds"),
        &before.inputs,
        "Check olds = old INPUTS"
    );
    // The engine draws a new seed from crypto/rand for every registration
    // (`generateSteps`, step_generator.go): nothing may depend on it staying.
    assert_ne!(
        check[0].req("randomSeed"),
        first.calls_for("Check", "a")[0].req("randomSeed"),
        "a new random seed per run"
    );
    assert_eq!(check[0].req("news")["value"], json!("two"));

    let diff = &r.calls_for("Diff", "a")[0];
    assert_eq!(diff.req("olds"), &before.outputs, "Diff olds = old OUTPUTS");
    assert_eq!(diff.req("oldInputs"), &before.inputs);
    assert_eq!(diff.req("id"), &json!(before.id));
    let step = r.step("a").unwrap();
    assert!(
        step.detailed_diff.get("value").map(String::as_str) == Some("UPDATE"),
        "detailedDiff {:?}",
        step.detailed_diff
    );

    let update = &r.calls_for("Update", "a")[0];
    assert_eq!(update.req("olds"), &before.outputs);
    assert_eq!(update.req("oldInputs"), &before.inputs);
    assert_eq!(update.req("preview"), &json!(false));

    let after = state(&d).by_name("a").unwrap().clone();
    assert_eq!(after.id, before.id, "update in place keeps the id");
    assert_eq!(after.outputs["result"], json!("value=two"));
    assert_eq!(after.outputs["generation"], json!(2));
}

#[tokio::test]
async fn replace_creates_the_new_one_before_deleting_the_old_one_at_the_end() {
    let d = stack();
    let v = |key: &str| {
        Program::new()
            .resource(fixture("a", json!({"value": "x", "replaceKey": key})))
            .resource(fixture("b", json!({"value": output("a", "result")})))
    };
    d.up(&v("k1")).await.unwrap().assert_ok();
    let old = state(&d).by_name("a").unwrap().clone();

    let r = d.up(&v("k2")).await.unwrap();
    r.assert_ok();
    let step = r.step("a").unwrap();
    assert_eq!(step.op, Op::Replace);
    assert!(!step.delete_before_replace);
    assert_eq!(
        r.steps.last().map(|s| (s.name.as_str(), s.op)),
        Some(("a", Op::DeleteReplaced))
    );
    assert_eq!(
        step.detailed_diff.get("replaceKey").map(String::as_str),
        Some("UPDATE_REPLACE")
    );

    // Check (olds = old inputs), Diff, Check again WITHOUT olds, Create; b; Delete old last.
    let checks = r.calls_for("Check", "a");
    assert_eq!(checks.len(), 2, "replace runs Check a second time");
    assert_eq!(checks[0].req("olds"), &old.inputs);
    assert_eq!(checks[1].req("olds"), &json!({}));
    let seq = resource_calls(&r);
    assert_eq!(
        seq,
        vec![
            pair("Check", "a"),
            pair("Diff", "a"),
            pair("Check", "a"),
            pair("Create", "a"),
            pair("Check", "b"),
            pair("Diff", "b"),
            pair("Delete", "a"),
        ],
        "create-before-delete, old one deleted at the end of the run"
    );
    let delete = &r.calls_for("Delete", "a")[0];
    assert_eq!(delete.req("id"), &json!(old.id));
    assert_eq!(delete.req("properties"), &old.outputs);
    assert_eq!(delete.req("oldInputs"), &old.inputs);

    let s = state(&d);
    let new = s.by_name("a").unwrap();
    assert_ne!(new.id, old.id);
    assert_eq!(
        s.resources.len(),
        2,
        "no pending delete left: {:?}",
        s.resources
    );
    assert_eq!(
        new.outputs["generation"],
        json!(1),
        "a replacement is a new create"
    );
}

#[tokio::test]
async fn delete_before_replace_deletes_the_old_one_first() {
    let d = stack();
    let v = |key: &str| {
        Program::new().resource(
            fixture("a", json!({"value": "x", "replaceKey": key})).delete_before_replace(),
        )
    };
    d.up(&v("k1")).await.unwrap().assert_ok();
    let old = state(&d).by_name("a").unwrap().clone();
    let r = d.up(&v("k2")).await.unwrap();
    r.assert_ok();
    assert!(r.step("a").unwrap().delete_before_replace);
    assert_eq!(
        resource_calls(&r),
        vec![
            pair("Check", "a"),
            pair("Diff", "a"),
            pair("Check", "a"),
            pair("Delete", "a"),
            pair("Create", "a"),
        ]
    );
    assert_eq!(r.calls("Delete")[0].req("id"), &json!(old.id));
    assert_ne!(state(&d).by_name("a").unwrap().id, old.id);
}

#[tokio::test]
async fn preview_sends_unknowns_for_dependents_never_deletes_and_leaves_state_alone() {
    let d = stack();
    let v1 = Program::new()
        .resource(fixture("a", json!({"value": "one", "replaceKey": "r1"})))
        .resource(fixture("b", json!({"value": "plain"})))
        .resource(fixture("gone", json!({"value": "soon removed"})));
    d.up(&v1).await.unwrap().assert_ok();
    let file_before = d.stack_file().raw();

    // a is replaced, b now reads a's generation (unknown: a is being replaced and
    // generation is computed), n is new and m reads n's id (unknown until created),
    // `gone` is removed.
    let v2 = Program::new()
        .resource(fixture("a", json!({"value": "two", "replaceKey": "r2"})))
        .resource(fixture("b", json!({"value": output("a", "result")})))
        .resource(fixture("n", json!({"value": "new"})))
        .resource(fixture("m", json!({"value": output("n", "id")})))
        .resource(fixture("mm", json!({"value": output("m", "result")})));
    let r = d.preview(&v2).await.unwrap();
    r.assert_ok();

    assert!(
        r.calls("Delete").is_empty(),
        "preview must never call Delete"
    );
    assert_eq!(
        d.stack_file().raw(),
        file_before,
        "preview leaves state alone"
    );
    assert_eq!(r.op("a"), Some(Op::Replace));
    assert_eq!(r.op("gone"), Some(Op::Delete));
    assert_eq!(r.op("n"), Some(Op::Create));
    for c in r.calls("Create").iter().chain(r.calls("Update").iter()) {
        assert_eq!(c.req("preview"), &json!(true), "{} {}", c.method, c.urn);
    }

    // n will be created: its id is unknown, so m's Check gets the unknown sentinel
    // and passes it through; m's result is then unknown for mm too.
    let m_check = &r.calls_for("Check", "m")[0];
    assert_eq!(m_check.req("news")["value"], json!(UNKNOWN));
    let m_checked = &m_check.response.as_ref().unwrap()["inputs"];
    assert!(
        is_unknown(&m_checked["value"]),
        "Check must pass unknowns through, got {m_checked}"
    );
    let mm_check = &r.calls_for("Check", "mm")[0];
    assert!(
        is_unknown(&mm_check.req("news")["value"]),
        "result of a resource created from an unknown value must be unknown in preview, got {}",
        mm_check.req("news")
    );

    // b's input comes from a, which is replaced: either the exact new value or unknown.
    let b_news = r.calls_for("Check", "b")[0].req("news")["value"].clone();
    assert!(
        b_news == json!("value=two") || is_unknown(&b_news),
        "b must see a's NEW result or an unknown, never the old one: {b_news}"
    );
    assert_ne!(b_news, json!("value=one"));
}

#[tokio::test]
async fn update_preview_makes_computed_outputs_unknown_for_dependents() {
    let d = stack();
    let v1 = Program::new()
        .resource(fixture("a", json!({"value": "one"})))
        .resource(fixture("b", json!({"value": "x"})));
    d.up(&v1).await.unwrap().assert_ok();
    // generation changes on every update: during preview it must not be the old 1.
    let v2 = Program::new()
        .resource(fixture("a", json!({"value": "two"})))
        .resource(fixture(
            "b",
            json!({"value": "x", "tags": {"gen": output("a", "generation")}}),
        ));
    let r = d.preview(&v2).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("a"), Some(Op::Update));
    let update = &r.calls_for("Update", "a")[0];
    assert_eq!(update.req("preview"), &json!(true));
    let gen = &r.calls_for("Check", "b")[0].req("news")["tags"]["gen"];
    assert!(
        is_unknown(gen),
        "a's generation during an update preview must be unknown, got {gen}"
    );
    // A known input a preview update returns must be the NEW value.
    let preview_out = &update.response.as_ref().unwrap()["properties"];
    if let Some(result) = preview_out.get("result") {
        assert!(
            result == &json!("value=two") || is_unknown(result),
            "preview result must be new or unknown, got {result}"
        );
    }
}

#[tokio::test]
async fn each_run_is_a_new_process_and_configures_the_provider_first() {
    let d = stack();
    let prog = one("one").config(json!({"region": "us-west-2"}));
    let p = d.preview(&prog).await.unwrap();
    let u1 = d.up(&prog).await.unwrap();
    let u2 = d.up(&prog).await.unwrap();
    let f = d.refresh().await.unwrap();
    let x = d.destroy().await.unwrap();
    let mut pids = Vec::new();
    for r in [&p, &u1, &u2, &f, &x] {
        r.assert_ok();
        assert!(
            r.stdout_after_port.is_empty(),
            "stdout after the port line: {:?}",
            r.stdout_after_port
        );
        pids.push(r.provider_pid.expect("pid"));
        let seq = r.sequence();
        assert_eq!(seq[0].0, "Handshake");
        assert_eq!(seq[1].0, "GetPluginInfo");
    }
    pids.sort();
    pids.dedup();
    assert_eq!(pids.len(), 5, "every run starts its own provider process");

    // First up: CheckConfig (no olds), Configure; second: CheckConfig(olds), DiffConfig, Configure.
    let methods =
        |r: &Report| -> Vec<String> { r.sequence().into_iter().map(|(m, _)| m).take(5).collect() };
    assert_eq!(
        methods(&u1)[2..],
        ["CheckConfig", "Configure", "Check"].map(String::from)
    );
    assert_eq!(
        methods(&u2)[2..],
        ["CheckConfig", "DiffConfig", "Configure"].map(String::from)
    );
    assert_eq!(u1.calls("CheckConfig")[0].req("olds"), &json!({}));
    let provider_inputs = d_provider_inputs(&u1);
    assert_eq!(u2.calls("CheckConfig")[0].req("olds"), &provider_inputs);
    assert_eq!(provider_inputs["region"], json!("us-west-2"));
    let configure = &u1.calls("Configure")[0];
    assert_eq!(configure.req("acceptSecrets"), &json!(true));
    assert_eq!(configure.req("acceptResources"), &json!(true));
    assert_eq!(configure.req("args")["region"], json!("us-west-2"));
    let answer = configure.response.as_ref().unwrap();
    assert_eq!(
        answer["acceptSecrets"],
        json!(true),
        "provider must accept secrets"
    );
    assert_eq!(answer["supportsPreview"], json!(true));
    // Refresh and destroy configure from stored state only.
    assert!(f.calls("CheckConfig").is_empty() && x.calls("CheckConfig").is_empty());
    assert_eq!(f.calls("Configure").len(), 1);
    assert_eq!(x.calls("Configure").len(), 1);
}

fn d_provider_inputs(r: &Report) -> Json {
    r.calls("CheckConfig")[0].response.as_ref().unwrap()["inputs"].clone()
}

#[tokio::test]
async fn refresh_reads_with_stored_outputs_and_inputs_and_round_trips() {
    let d = stack();
    d.up(&Program::new().resource(fixture("a", json!({"value": "one", "tags": {"k": "v"}}))))
        .await
        .unwrap()
        .assert_ok();
    let before = state(&d).by_name("a").unwrap().clone();
    let r = d.refresh().await.unwrap();
    r.assert_ok();
    let read = &r.calls_for("Read", "a")[0];
    assert_eq!(read.req("id"), &json!(before.id));
    assert_eq!(read.req("properties"), &before.outputs);
    assert_eq!(read.req("inputs"), &before.inputs);
    // Then Diff with olds = what Read found, news = the stored inputs.
    let diff = &r.calls_for("Diff", "a")[0];
    let read_out = read.response.as_ref().unwrap();
    assert_eq!(diff.req("olds"), &read_out["properties"]);
    assert_eq!(diff.req("news"), &before.inputs);
    let step = r.step("a").unwrap();
    assert_eq!(step.op, Op::Read);
    assert!(!step.removed);
    assert!(
        step.detailed_diff.is_empty(),
        "nothing drifted: {:?}",
        step.detailed_diff
    );
    let after = state(&d).by_name("a").unwrap().clone();
    assert_eq!(after.id, before.id);
    assert_eq!(after.outputs, before.outputs);
    // An up after the refresh has nothing to do.
    let up = d
        .up(&Program::new().resource(fixture("a", json!({"value": "one", "tags": {"k": "v"}}))))
        .await
        .unwrap();
    up.assert_ok();
    assert_eq!(up.op("a"), Some(Op::Same));
}

#[tokio::test]
async fn destroy_deletes_in_reverse_dependency_order() {
    let d = stack();
    // Declared out of order on purpose: the engine orders by dependencies.
    let prog = Program::new()
        .resource(fixture("c", json!({"value": "c"})).depends_on(&["b"]))
        .resource(fixture("b", json!({"value": output("a", "result")})))
        .resource(fixture("a", json!({"value": "a"})))
        .resource(fixture("solo", json!({"value": "s"})));
    let up = d.up(&prog).await.unwrap();
    up.assert_ok();
    let creates: Vec<String> = up
        .calls("Create")
        .iter()
        .map(|c| c.urn.rsplit("::").next().unwrap().to_string())
        .collect();
    let pos = |v: &Vec<String>, n: &str| v.iter().position(|x| x == n).unwrap();
    assert!(pos(&creates, "a") < pos(&creates, "b") && pos(&creates, "b") < pos(&creates, "c"));
    let ids: Vec<String> = ["a", "b", "c"]
        .iter()
        .map(|n| state(&d).by_name(n).unwrap().id.clone())
        .collect();

    let r = d.destroy().await.unwrap();
    r.assert_ok();
    let deletes: Vec<String> = r
        .calls("Delete")
        .iter()
        .map(|c| c.urn.rsplit("::").next().unwrap().to_string())
        .collect();
    assert_eq!(deletes.len(), 4);
    assert!(pos(&deletes, "c") < pos(&deletes, "b") && pos(&deletes, "b") < pos(&deletes, "a"));
    assert_eq!(r.calls_for("Delete", "a")[0].req("id"), &json!(ids[0]));
    assert!(state(&d).resources.is_empty());
    assert!(state(&d).provider.is_none());
}

#[tokio::test]
async fn resources_removed_from_the_program_are_deleted_at_the_end_of_up() {
    let d = stack();
    let v1 = Program::new()
        .resource(fixture("keep", json!({"value": "k"})))
        .resource(fixture("drop", json!({"value": "d"})));
    d.up(&v1).await.unwrap().assert_ok();
    let v2 = Program::new()
        .resource(fixture("keep", json!({"value": "k2"})))
        .resource(fixture("added", json!({"value": "n"})));
    let r = d.up(&v2).await.unwrap();
    r.assert_ok();
    let seq = resource_calls(&r);
    assert_eq!(seq.last(), Some(&pair("Delete", "drop")), "{seq:?}");
    assert_eq!(r.op("drop"), Some(Op::Delete));
    let s = state(&d);
    assert!(s.by_name("drop").is_none());
    assert!(s.by_name("added").is_some());
}

#[tokio::test]
async fn partial_failure_is_recorded_and_retried_by_the_next_up() {
    let d = stack();
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("fail-now");
    std::fs::write(&flag, "1").unwrap();
    let prog = Program::new().resource(fixture(
        "a",
        json!({"value": "one", "failFlagFile": flag.to_string_lossy()}),
    ));

    let r1 = d.up(&prog).await.unwrap();
    assert!(!r1.ok(), "a partial failure fails the step");
    let err = r1.step("a").unwrap().error.clone().unwrap();
    assert!(err.contains("fixture failure flag set"), "{err}");
    let s1 = state(&d);
    let a = s1
        .by_name("a")
        .expect("the half-created resource is recorded");
    assert!(a.init_failed, "pending init failure flag recorded");
    assert!(a.id.starts_with("fixture-"));
    assert_eq!(a.outputs["result"], json!("value=one"));

    // Still failing: the next up retries with Update even though nothing changed.
    let r2 = d.up(&prog).await.unwrap();
    assert!(!r2.ok());
    assert_eq!(r2.calls_for("Update", "a").len(), 1);
    assert!(state(&d).by_name("a").unwrap().init_failed);

    std::fs::remove_file(&flag).unwrap();
    let r3 = d.up(&prog).await.unwrap();
    r3.assert_ok();
    let diff = &r3.calls_for("Diff", "a")[0];
    assert_eq!(
        diff.response.as_ref().unwrap()["changes"],
        json!(1),
        "inputs did not change, so the provider says DIFF_NONE"
    );
    assert_eq!(r3.op("a"), Some(Op::Update), "...yet the engine updates");
    let s3 = state(&d);
    let a3 = s3.by_name("a").unwrap();
    assert!(!a3.init_failed);
    assert_eq!(a3.id, a.id);

    let r4 = d.up(&prog).await.unwrap();
    r4.assert_ok();
    assert_eq!(r4.op("a"), Some(Op::Same));
}

#[tokio::test]
async fn a_failed_create_records_nothing() {
    let d = stack();
    let r = d
        .up(&Program::new().resource(fixture("a", json!({"value": "v", "createError": true}))))
        .await
        .unwrap();
    assert!(!r.ok());
    assert_eq!(r.op("a"), Some(Op::Create));
    assert!(r.step("a").unwrap().error.is_some());
    assert!(state(&d).by_name("a").is_none(), "no fake success in state");
}

#[tokio::test]
async fn secrets_stay_secret_in_outputs_state_and_dependents() {
    let d = stack();
    let password = "hunter2-very-secret";
    let prog = Program::new()
        .resource(fixture(
            "a",
            json!({"value": "v", "secretValue": secret(json!(password))}),
        ))
        .resource(fixture("b", json!({"value": output("a", "secretValue")})));
    let r = d.up(&prog).await.unwrap();
    r.assert_ok();
    let s = state(&d);
    let a = s.by_name("a").unwrap();
    assert!(is_secret(&a.inputs["secretValue"]), "inputs: {}", a.inputs);
    assert!(
        is_secret(&a.outputs["secretValue"]),
        "the provider must wrap secret outputs itself: {}",
        a.outputs
    );
    assert_eq!(unwrap_secret(&a.outputs["secretValue"]), &json!(password));
    let b_news = &r.calls_for("Check", "b")[0].req("news")["value"];
    assert!(
        is_secret(b_news),
        "a secret output stays secret downstream: {b_news}"
    );
    let b = s.by_name("b").unwrap();
    assert!(is_secret(&b.outputs["value"]), "b outputs: {}", b.outputs);
    for l in &r.logs {
        assert!(!l.message.contains(password), "secret in engine log: {l:?}");
    }
    assert!(!r.stderr.contains(password), "secret in provider stderr");

    // Unchanged secret: same step.
    let r2 = d.up(&prog).await.unwrap();
    r2.assert_ok();
    assert_eq!(r2.op("a"), Some(Op::Same));
}

#[tokio::test]
async fn ignore_changes_keeps_the_old_value_and_makes_a_same_step() {
    let d = stack();
    d.up(&Program::new().resource(fixture("a", json!({"value": "v", "tags": {"t": "1"}}))))
        .await
        .unwrap()
        .assert_ok();
    let r = d
        .up(&Program::new().resource(
            fixture("a", json!({"value": "v", "tags": {"t": "2"}})).ignore_changes(&["tags"]),
        ))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.op("a"), Some(Op::Same));
    assert_eq!(
        r.calls_for("Check", "a")[0].req("news")["tags"],
        json!({"t": "1"})
    );
    assert_eq!(
        r.calls_for("Diff", "a")[0].req("ignoreChanges"),
        &json!(["tags"])
    );
}

#[tokio::test]
async fn tag_changes_update_in_place_with_a_detailed_diff() {
    let d = stack();
    let v =
        |t: &str| Program::new().resource(fixture("a", json!({"value": "v", "tags": {"t": t}})));
    d.up(&v("1")).await.unwrap().assert_ok();
    let p = d.preview(&v("2")).await.unwrap();
    p.assert_ok();
    assert_eq!(p.op("a"), Some(Op::Update));
    let diff = &p.step("a").unwrap().detailed_diff;
    assert!(
        diff.keys().any(|k| k.starts_with("tags")),
        "detailedDiff names the tags: {diff:?}"
    );
    assert!(
        !diff.contains_key("value"),
        "value did not change: {diff:?}"
    );
    assert!(!diff.values().any(|k| k.ends_with("_REPLACE")));
    // Every key in diffs has a detailedDiff path and vice versa.
    let step = p.step("a").unwrap();
    for k in &step.diffs {
        assert!(
            diff.keys().any(|p| p == k
                || p.starts_with(&format!("{k}."))
                || p.starts_with(&format!("{k}["))),
            "{k} in diffs but not in detailedDiff"
        );
    }
    for p in diff.keys() {
        let top = p.split(['.', '[']).next().unwrap();
        assert!(
            step.diffs.iter().any(|k| k == top),
            "{p} in detailedDiff but not in diffs {:?}",
            step.diffs
        );
    }
}
