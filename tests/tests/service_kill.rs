//! Convergence after a kill (issue 19, findings 8 and 9): the plugin is
//! killed (SIGKILL) while the ECS FAULT-INJECTION proxy holds a chosen AWS
//! call, exactly as a `kill -9` at that point would leave things: the writes
//! before it happened, the engine recorded nothing. A fresh plugin then runs
//! `up` again; there must be exactly one service, no ACTIVE revision nobody
//! runs, and destroy must leave no ACTIVE revision either.
//!
//! The hold is a stand-in only in that moto never answers slowly by itself;
//! the kill is a real SIGKILL of the real plugin process.

mod service_support;

use std::time::Duration;

use imagedeploy_tests::{Op, Report};
use serde_json::{json, Value as Json};
use service_support::{World, NAME};

const CLUSTER: &str = imagedeploy_tests::promise::ecs::CLUSTER;

/// Runs `up` with `inputs` and SIGKILLs its plugin as soon as the proxy
/// holds a call of `operation` (seen after `after`).
async fn up_killed_at(w: &World, inputs: Json, operation: &str, after: Option<&str>) -> Report {
    w.env.proxy.hold(operation, after);
    let program = w.program(inputs);
    let (report, killed) = tokio::join!(w.stack.up(&program), async {
        assert!(
            w.env
                .proxy
                .wait_held(operation, Duration::from_secs(120))
                .await,
            "the up never reached {operation}"
        );
        w.stack.kill_plugin()
    });
    assert!(killed.is_some(), "a plugin was running");
    let report = report.expect("up runs");
    assert!(!report.ok(), "a killed up fails:\n{}", report.render());
    report
}

/// Names of the cluster's ACTIVE services.
async fn active_services(w: &World) -> Vec<String> {
    let arns = w
        .env
        .direct
        .list_services()
        .cluster(CLUSTER)
        .send()
        .await
        .expect("ListServices")
        .service_arns()
        .to_vec();
    if arns.is_empty() {
        return Vec::new();
    }
    let mut names = Vec::new();
    for batch in arns.chunks(10) {
        let out = w
            .env
            .direct
            .describe_services()
            .cluster(CLUSTER)
            .set_services(Some(batch.to_vec()))
            .send()
            .await
            .expect("DescribeServices");
        names.extend(
            out.services()
                .iter()
                .filter(|s| s.status() == Some("ACTIVE"))
                .filter_map(|s| s.service_name().map(str::to_string)),
        );
    }
    names
}

/// Every ACTIVE task definition revision, of any family.
async fn all_active_revisions(w: &World) -> Vec<String> {
    w.env
        .direct
        .list_task_definitions()
        .status("ACTIVE".into())
        .send()
        .await
        .expect("ListTaskDefinitions")
        .task_definition_arns()
        .to_vec()
}

/// After the retry: one ACTIVE service, the recorded one; the only ACTIVE
/// revision is the one it runs. Then destroy leaves no ACTIVE revision.
async fn assert_converged_then_destroy(w: &World) {
    let st = w.state();
    let name = st.outputs["name"].as_str().unwrap().to_string();
    let td = st.outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(active_services(w).await, vec![name.clone()]);
    assert_eq!(
        all_active_revisions(w).await,
        vec![td.clone()],
        "no ACTIVE orphan revision"
    );
    let svc = w.env.service(&name).await.unwrap().unwrap();
    assert_eq!(svc.task_definition(), Some(td.as_str()));

    // Settled: the next up changes nothing.
    w.env.proxy.clear_calls();
    let r = w.up_ok(w.state().inputs.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Same), "{}", r.render());
    assert!(w.env.writes().is_empty(), "{:?}", w.env.writes());

    let r = w.stack.destroy().await.unwrap();
    r.assert_ok();
    assert!(active_services(w).await.is_empty());
    assert!(
        all_active_revisions(w).await.is_empty(),
        "destroy deregisters every revision any attempt registered"
    );
}

fn named(mut inputs: Json, name: &str) -> Json {
    inputs["name"] = json!(name);
    inputs
}

#[tokio::test]
async fn killed_after_register_before_create_service_the_next_up_reuses_the_revision() {
    let w = World::start().await;
    let inputs = named(w.inputs(), "kill-register");
    up_killed_at(&w, inputs.clone(), "CreateService", None).await;
    assert!(w.stack.state().unwrap().by_name(NAME).is_none());
    assert_eq!(all_active_revisions(&w).await.len(), 1, "the kill left one");
    assert!(active_services(&w).await.is_empty());

    w.env.proxy.clear_calls();
    let r = w.up_ok(inputs).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    assert_eq!(
        w.env.proxy.count("RegisterTaskDefinition"),
        0,
        "the identical revision the killed run registered is reused"
    );
    assert_eq!(w.registered().await, 1);
    assert_converged_then_destroy(&w).await;
}

#[tokio::test]
async fn killed_after_register_an_autonamed_create_deregisters_the_orphan_revision() {
    let w = World::start().await;
    let inputs = w.inputs();
    up_killed_at(&w, inputs.clone(), "CreateService", None).await;
    let orphan = all_active_revisions(&w).await;
    assert_eq!(orphan.len(), 1);

    // A new seed, a new name, a new family: the orphan cannot be reused,
    // but it carries this resource's mark and is deregistered.
    w.up_ok(inputs).await;
    let td = w.state().outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(vec![td], orphan);
    assert_converged_then_destroy(&w).await;
}

#[tokio::test]
async fn killed_before_update_service_the_next_up_reuses_the_revision_and_retires_the_old_one() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let mut changed = base.clone();
    changed["containers"][0]["environment"]["MODE"] = json!("api");
    up_killed_at(&w, changed.clone(), "UpdateService", None).await;
    assert_eq!(w.registered().await, 2);

    w.env.proxy.clear_calls();
    let r = w.up_ok(changed).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(w.env.proxy.count("RegisterTaskDefinition"), 0);
    assert_eq!(w.registered().await, 2, "no third revision");
    assert_converged_then_destroy(&w).await;
}

#[tokio::test]
async fn killed_during_the_update_rollout_wait_the_next_up_finishes_it() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let mut changed = base.clone();
    changed["containers"][0]["environment"]["MODE"] = json!("api");
    up_killed_at(
        &w,
        changed.clone(),
        "DescribeServices",
        Some("UpdateService"),
    )
    .await;

    w.env.proxy.clear_calls();
    w.up_ok(changed).await;
    assert_eq!(w.env.proxy.count("RegisterTaskDefinition"), 0);
    assert_eq!(w.registered().await, 2);
    assert_converged_then_destroy(&w).await;
}

#[tokio::test]
async fn killed_during_the_create_rollout_wait_an_explicitly_named_service_is_adopted() {
    let w = World::start().await;
    let inputs = named(w.inputs(), "kill-explicit");
    up_killed_at(
        &w,
        inputs.clone(),
        "DescribeServices",
        Some("CreateService"),
    )
    .await;
    assert_eq!(active_services(&w).await, vec!["kill-explicit".to_string()]);

    w.env.proxy.clear_calls();
    let r = w.up_ok(inputs).await;
    assert_eq!(r.op(NAME), Some(Op::Create), "{}", r.render());
    assert_eq!(
        w.env.proxy.count("CreateService"),
        0,
        "adopted, not created"
    );
    assert_eq!(w.env.proxy.count("RegisterTaskDefinition"), 0);
    assert!(
        r.logs.iter().any(|l| l.message.contains("adopting it")),
        "the adoption is said"
    );
    assert_converged_then_destroy(&w).await;
}

#[tokio::test]
async fn killed_during_the_create_rollout_wait_an_autonamed_orphan_is_removed() {
    let w = World::start().await;
    let inputs = w.inputs();
    up_killed_at(
        &w,
        inputs.clone(),
        "DescribeServices",
        Some("CreateService"),
    )
    .await;
    let orphan = active_services(&w).await;
    assert_eq!(orphan.len(), 1);

    w.env.proxy.clear_calls();
    w.up_ok(inputs).await;
    let name = w.state().outputs["name"].as_str().unwrap().to_string();
    assert_ne!(
        vec![name],
        orphan,
        "the engine drew a new seed, so a new name"
    );
    assert_converged_then_destroy(&w).await;
}

#[tokio::test]
async fn a_replacement_never_takes_the_recorded_service_for_an_orphan() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let old = w.state().outputs["name"].as_str().unwrap().to_string();
    // A replacement in the same cluster: the old service carries the same
    // mark, but the engine recorded it, so the create leaves it to the
    // engine's own delete.
    let mut replaced = base.clone();
    replaced["launchType"] = json!("EC2");
    let r = w.up_ok(replaced).await;
    assert_eq!(r.op(NAME), Some(Op::Replace), "{}", r.render());
    assert!(
        !r.logs.iter().any(|l| l.message.contains("interrupted")),
        "{:?}",
        r.logs
    );
    let new = w.state().outputs["name"].as_str().unwrap().to_string();
    assert_eq!(active_services(&w).await, vec![new]);
    let _ = old;
}

#[tokio::test]
async fn destroy_after_a_killed_update_deregisters_the_revision_it_registered() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let mut changed = base.clone();
    changed["containers"][0]["environment"]["MODE"] = json!("api");
    up_killed_at(&w, changed, "UpdateService", None).await;
    assert_eq!(
        all_active_revisions(&w).await.len(),
        2,
        "the kill left an ACTIVE revision no state records"
    );

    // No retry: the state knows only the first revision, yet destroy
    // finds the other one by its mark.
    let r = w.stack.destroy().await.unwrap();
    r.assert_ok();
    assert!(active_services(&w).await.is_empty());
    assert!(all_active_revisions(&w).await.is_empty());
}
