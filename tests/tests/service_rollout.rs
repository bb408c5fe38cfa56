//! Service behaviours 4 and 7 through the engine's life cycle, with FAULT
//! INJECTION: moto never runs a deployment and never throttles, so the ECS
//! fault-injection proxy in front of it simulates finished rollouts,
//! circuit-breaker rollbacks, failed deployments and throttling. What is
//! tested is the provider's reaction: waiting for the PRIMARY deployment of
//! the new revision, partial failures recorded in state (the engine's
//! ErrorResourceInitFailed), retries on the next up, SDK retries and the
//! CreateService client token.

mod service_support;

use imagedeploy_tests::Op;
use imagedeploy_testsupport::ecs_faults::{Fault, Rollout};
use serde_json::json;
use service_support::{World, NAME};

#[tokio::test]
async fn a_rolled_back_update_is_recorded_as_partial_failure_and_the_next_up_retries_it() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let before = w.state();
    let td1 = before.outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();

    // FAULT INJECTION: the circuit breaker rolls the new revision back.
    w.env.proxy.set_rollout(Rollout::RollBack);
    let mut changed = base.clone();
    changed["containers"][0]["environment"]["LOG_LEVEL"] = json!("debug");
    let r = w.stack.up(&w.program(changed.clone())).await.unwrap();
    assert!(!r.ok(), "a rollback fails the up:\n{}", r.render());
    let error = r.step(NAME).unwrap().error.clone().unwrap();
    assert!(
        error.starts_with("Update partially failed"),
        "reported as ErrorResourceInitFailed: {error}"
    );
    assert!(error.contains("rolled back"), "{error}");
    assert!(
        error.contains("rolling back to deployment")
            && error.contains("failed container health checks"),
        "the message quotes the service's last events: {error}"
    );

    // Nothing is lost: the state records the new revision and the service.
    let failed = w.state();
    assert!(failed.init_failed, "the engine marks it for retry");
    assert_eq!(failed.id, before.id);
    let td2 = failed.outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(td2, td1);
    assert_eq!(failed.outputs["rolloutState"], json!("FAILED"));
    assert_eq!(
        failed.inputs["containers"][0]["environment"]["LOG_LEVEL"],
        json!("debug")
    );
    assert_eq!(w.registered().await, 2);
    let active = w.env.active_revisions(&w.family()).await.unwrap();
    assert!(
        active.contains(&td1),
        "the revision still serving is kept: {active:?}"
    );

    // The next up retries even though the inputs did not change, and
    // registers nothing new.
    w.env.proxy.set_rollout(Rollout::Complete);
    w.env.proxy.clear_calls();
    let p = w.preview_ok(changed.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Update), "{}", p.render());
    let r = w.up_ok(changed.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(
        w.env.writes(),
        ["UpdateService", "DeregisterTaskDefinition"]
    );
    let retried = w.state();
    assert!(!retried.init_failed);
    assert_eq!(retried.outputs["taskDefinitionArn"], json!(td2));
    assert_eq!(retried.outputs["rolloutState"], json!("COMPLETED"));
    assert_eq!(w.registered().await, 2);
    assert_eq!(
        w.env.active_revisions(&w.family()).await.unwrap(),
        vec![td2]
    );

    // Then it is settled.
    w.env.proxy.clear_calls();
    let r = w.up_ok(changed).await;
    assert_eq!(r.op(NAME), Some(Op::Same));
    assert!(w.env.writes().is_empty());
}

#[tokio::test]
async fn a_failed_first_deployment_keeps_the_created_service_in_state() {
    let w = World::start().await;
    // FAULT INJECTION: the first deployment fails (no rollback target).
    w.env.proxy.set_rollout(Rollout::Fail);
    let r = w.stack.up(&w.program(w.inputs())).await.unwrap();
    assert!(!r.ok());
    let error = r.step(NAME).unwrap().error.clone().unwrap();
    assert!(error.starts_with("Create partially failed"), "{error}");
    assert!(error.contains("deployment failed"), "{error}");
    let st = w.state();
    assert!(st.init_failed);
    assert!(
        st.id.starts_with("arn:aws:ecs:"),
        "the service's ARN is the id: {}",
        st.id
    );
    let name = st.outputs["name"].as_str().unwrap().to_string();
    assert!(w.env.service(&name).await.unwrap().is_some());

    w.env.proxy.set_rollout(Rollout::Complete);
    let r = w.up_ok(w.inputs()).await;
    assert_eq!(
        r.op(NAME),
        Some(Op::Update),
        "retried as an update, not a second create"
    );
    assert!(!w.state().init_failed);
    assert_eq!(w.registered().await, 1);
}

#[tokio::test]
async fn a_rollout_that_never_finishes_times_out_as_a_partial_failure() {
    let w = World::start().await;
    // moto as it is: the PRIMARY deployment never completes.
    w.env.proxy.set_rollout(Rollout::PassThrough);
    let mut inputs = w.inputs();
    inputs["wait"] = json!({"timeoutSeconds": 2});
    let started = std::time::Instant::now();
    let r = w.stack.up(&w.program(inputs)).await.unwrap();
    assert!(!r.ok());
    let error = r.step(NAME).unwrap().error.clone().unwrap();
    assert!(
        error.starts_with("Create partially failed") && error.contains("timed out after 2s"),
        "{error}"
    );
    assert!(started.elapsed().as_secs() < 60);
    assert!(w.state().init_failed);
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried_and_a_retried_create_makes_one_service() {
    let w = World::start().await;
    // FAULT INJECTION: throttle and fail the first calls of each write, and
    // lose the answer to the first CreateService after moto executed it.
    w.env
        .proxy
        .inject("RegisterTaskDefinition", Fault::Throttling, 2);
    w.env.proxy.inject("CreateService", Fault::LoseResponse, 1);
    w.env
        .proxy
        .inject("DescribeServices", Fault::ServerError, 1);
    let r = w.up_ok(w.inputs()).await;
    assert_eq!(r.op(NAME), Some(Op::Create));

    assert_eq!(
        w.env.proxy.count("RegisterTaskDefinition"),
        3,
        "two throttled, one through"
    );
    assert_eq!(w.registered().await, 1, "one revision despite the retries");
    let creates: Vec<_> = w
        .env
        .proxy
        .calls()
        .into_iter()
        .filter(|c| c.operation == "CreateService")
        .collect();
    assert_eq!(creates.len(), 2, "the lost answer was retried");
    let token = creates[0].request["clientToken"].clone();
    assert!(
        token.as_str().is_some_and(|t| !t.is_empty()),
        "CreateService carries a client token"
    );
    assert_eq!(
        creates[1].request["clientToken"], token,
        "the retry reuses it"
    );
    let services = w
        .env
        .direct
        .list_services()
        .cluster(imagedeploy_tests::promise::ecs::CLUSTER)
        .send()
        .await
        .unwrap();
    assert_eq!(services.service_arns().len(), 1);
    assert_eq!(w.state().outputs["rolloutState"], json!("COMPLETED"));
}

/// customTimeouts reach the rollout wait: with `wait.timeoutSeconds` at its
/// 900 s default and `customTimeouts.create` of 2 s, the wait ends after 2 s
/// (the shorter limit wins). Before, the engine's timeout was dropped and the
/// wait ran for 15 minutes.
#[tokio::test]
async fn custom_timeouts_bound_the_rollout_wait() {
    let w = World::start().await;
    w.env.proxy.set_rollout(Rollout::PassThrough);
    let program = imagedeploy_tests::Program::new()
        .config(w.env.provider_config())
        .resource(
            imagedeploy_tests::Resource::new(service_support::SERVICE, NAME, w.inputs())
                .custom_timeouts(2.0, 2.0, 2.0),
        );
    let started = std::time::Instant::now();
    let r = w.stack.up(&program).await.unwrap();
    assert!(!r.ok());
    assert_eq!(r.calls_for("Create", NAME)[0].req("timeout"), &json!(2.0));
    let error = r.step(NAME).unwrap().error.clone().unwrap();
    assert!(error.contains("timed out after 2s"), "{error}");
    assert!(started.elapsed().as_secs() < 120);
}
