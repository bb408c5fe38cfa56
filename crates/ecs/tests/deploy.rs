//! Create / update / refresh / delete against a real moto server.
//!
//! moto never progresses ECS deployments and never throttles, so every test
//! here goes through the FAULT-INJECTION proxy (`testing::FaultProxy`) that
//! simulates rollouts, circuit-breaker rollbacks, throttling and lost
//! responses, and counts the calls that reach moto.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{digest, Env, Log, MapResolver, CLUSTER};
use imagedeploy_ecs::args::ServiceArgs;
use imagedeploy_ecs::testing::{Fault, Rollout};
use imagedeploy_ecs::{client_token, diff, resolve_images, DeployError, ServiceState};
use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber;

const APP: &str = "127.0.0.1:5000/app";

async fn pinned(args: &ServiceArgs, resolver: &MapResolver) -> BTreeMap<String, String> {
    resolve_images(args, resolver)
        .await
        .expect("resolve images")
}

async fn create(env: &Env, args: &ServiceArgs, resolver: &MapResolver) -> ServiceState {
    let log = Log::default();
    let images = pinned(args, resolver).await;
    env.deployer()
        .create(args, &images, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .unwrap_or_else(|e| panic!("create failed: {e}\nprogress: {:#?}", log.lines()))
}

fn resolver() -> MapResolver {
    MapResolver::with(&format!("{APP}:latest"), &digest('a'))
}

#[tokio::test]
async fn create_registers_pins_and_waits_for_the_new_revision() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete); // fault injection: simulated rollout
    let args = env.args("svc");
    let state = create(&env, &args, &resolver()).await;

    assert_eq!(state.revision, 1);
    assert_eq!(state.family, "svc");
    assert_eq!(state.images["web"], format!("{APP}@{}", digest('a')));
    assert_eq!(state.rollout_state.as_deref(), Some("COMPLETED"));
    assert!(state.deployment_id.is_some());
    assert!(state.arn.ends_with("/svc"), "{}", state.arn);
    assert_eq!(
        state.registered_revisions,
        vec![state.task_definition_arn.clone()]
    );
    assert_eq!(env.active_revisions("svc").await.len(), 1);

    // what ECS stored is the normalised, digest-pinned definition
    let td = env
        .direct
        .describe_task_definition()
        .task_definition(&state.task_definition_arn)
        .send()
        .await
        .expect("describe task definition");
    let c = &td
        .task_definition()
        .expect("task definition")
        .container_definitions()[0];
    assert_eq!(c.image(), Some(format!("{APP}@{}", digest('a')).as_str()));
    let env_names: Vec<_> = c.environment().iter().filter_map(|kv| kv.name()).collect();
    assert_eq!(env_names, vec!["LOG_LEVEL", "MODE"]);
    assert_eq!(c.port_mappings()[0].host_port(), Some(8080));
    assert_eq!(c.essential(), Some(true));
}

#[tokio::test]
async fn no_change_makes_no_aws_calls_at_all() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let r = resolver();
    let args = env.args("svc");
    let state = create(&env, &args, &r).await;
    env.proxy.clear_calls();

    let mut restated = args.clone();
    restated.containers[0].essential = Some(true);
    restated.desired_count = Some(1);
    let images = pinned(&restated, &r).await;
    let plan = diff(&state, &restated, &images);
    assert!(!plan.has_changes(), "{plan:#?}");
    let log = Log::default();
    let after = env
        .deployer()
        .update(&state, &restated, &images, &plan, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .expect("update");
    assert!(
        env.proxy.calls().is_empty(),
        "calls: {:?}",
        env.proxy.calls()
    );
    assert_eq!(after.task_definition_arn, state.task_definition_arn);
}

#[tokio::test]
async fn service_only_change_updates_the_service_without_a_new_revision() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let r = resolver();
    let args = env.args("svc");
    let state = create(&env, &args, &r).await;
    env.proxy.clear_calls();

    let mut scaled = args.clone();
    scaled.desired_count = Some(3);
    let images = pinned(&scaled, &r).await;
    let plan = diff(&state, &scaled, &images);
    assert!(
        plan.service_update_needed && !plan.new_revision_needed,
        "{plan:#?}"
    );
    assert_eq!(plan.reasons, vec!["desiredCount 1 -> 3".to_string()]);
    let log = Log::default();
    let after = env
        .deployer()
        .update(&state, &scaled, &images, &plan, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .expect("update");
    assert_eq!(env.proxy.write_calls(), vec!["UpdateService"]);
    assert_eq!(
        env.active_revisions("svc").await,
        vec![state.task_definition_arn.clone()]
    );
    assert_eq!(after.task_definition_arn, state.task_definition_arn);
    let svc = env
        .direct
        .describe_services()
        .cluster(CLUSTER)
        .services("svc")
        .send()
        .await
        .expect("describe");
    assert_eq!(svc.services()[0].desired_count(), 3);
}

#[tokio::test]
async fn container_change_registers_exactly_one_revision_then_deregisters_the_old_one() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let r = resolver();
    let args = env.args("svc");
    let state = create(&env, &args, &r).await;
    env.proxy.clear_calls();

    // the tag moved: the only change is the image content
    r.set(&format!("{APP}:latest"), &digest('b'));
    let images = pinned(&args, &r).await;
    let plan = diff(&state, &args, &images);
    assert!(plan.new_revision_needed, "{plan:#?}");
    assert_eq!(
        plan.reasons,
        vec![format!(
            "container web: {APP}:latest moved {} -> {}",
            digest('a'),
            digest('b')
        )]
    );
    let log = Log::default();
    let after = env
        .deployer()
        .update(&state, &args, &images, &plan, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .unwrap_or_else(|e| panic!("update: {e}\n{:#?}", log.lines()));
    assert_eq!(
        env.proxy.write_calls(),
        vec![
            "RegisterTaskDefinition",
            "UpdateService",
            "DeregisterTaskDefinition"
        ]
    );
    // the deregistration came after the wait saw the rollout complete
    let calls = env.proxy.calls();
    let last_describe = calls
        .iter()
        .rposition(|c| c.operation == "DescribeServices");
    let deregister = calls
        .iter()
        .position(|c| c.operation == "DeregisterTaskDefinition");
    assert!(last_describe < deregister, "{calls:?}");

    assert_eq!(after.revision, 2);
    assert_eq!(after.images["web"], format!("{APP}@{}", digest('b')));
    assert_eq!(
        env.active_revisions("svc").await,
        vec![after.task_definition_arn.clone()]
    );
    assert_eq!(
        after.registered_revisions,
        vec![after.task_definition_arn.clone()]
    );

    // and the next diff with the same inputs is empty
    assert!(!diff(&after, &args, &images).has_changes());
}

#[tokio::test]
async fn circuit_breaker_rollback_is_unhealthy_keeps_the_new_revision_and_is_retried() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let r = resolver();
    let args = env.args("svc");
    let state = create(&env, &args, &r).await;

    let mut changed = args.clone();
    changed.containers[0]
        .environment
        .get_or_insert_with(BTreeMap::new)
        .insert("LOG_LEVEL".into(), "debug".into());
    let images = pinned(&changed, &r).await;
    let plan = diff(&state, &changed, &images);
    assert!(plan
        .changes
        .iter()
        .any(|c| c.path == "containers[0].environment.LOG_LEVEL"));

    env.proxy.set_rollout(Rollout::RollBack); // fault injection: simulated rollback
    let log = Log::default();
    let err = env
        .deployer()
        .update(&state, &changed, &images, &plan, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .expect_err("a rollback must fail the update");
    let DeployError::Unhealthy {
        state: failed,
        message,
    } = err
    else {
        panic!("expected Unhealthy, got {err}");
    };
    assert!(message.contains("rolled back"), "{message}");
    assert!(
        message.contains("rolling back to deployment"),
        "events quoted: {message}"
    );
    assert!(
        message.contains("deployment failed: tasks failed to start"),
        "{message}"
    );
    assert_eq!(failed.revision, 2);
    assert!(failed.task_definition_arn.ends_with("svc:2"));
    assert!(failed.deploy_failed);
    assert_eq!(
        failed.registered_revisions.len(),
        2,
        "old revision kept: it is what runs"
    );
    assert_eq!(env.active_revisions("svc").await.len(), 2);
    assert!(
        log.lines().iter().any(|l| l.contains("rolling back")),
        "events streamed as progress"
    );

    // the next up retries the deployment without registering another revision
    let plan = diff(&failed, &changed, &images);
    assert!(
        plan.service_update_needed && !plan.new_revision_needed,
        "{plan:#?}"
    );
    assert!(
        plan.reasons.iter().any(|r| r.contains("retried")),
        "{:?}",
        plan.reasons
    );
    env.proxy.set_rollout(Rollout::Complete);
    env.proxy.clear_calls();
    let ok = env
        .deployer()
        .update(&failed, &changed, &images, &plan, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .expect("retry succeeds");
    assert_eq!(env.proxy.count("RegisterTaskDefinition"), 0);
    let update = env
        .proxy
        .calls()
        .into_iter()
        .find(|c| c.operation == "UpdateService")
        .expect("UpdateService");
    assert_eq!(update.request["forceNewDeployment"], true);
    assert!(!ok.deploy_failed);
    assert_eq!(ok.rollout_state.as_deref(), Some("COMPLETED"));
    assert_eq!(
        env.active_revisions("svc").await,
        vec![ok.task_definition_arn.clone()]
    );
}

#[tokio::test]
async fn failed_deployment_on_create_is_unhealthy_with_the_service_recorded() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Fail); // fault injection: deployment fails
    let args = env.args("svc");
    let images = pinned(&args, &resolver()).await;
    let err = env
        .deployer()
        .create(&args, &images, &CancellationToken::new())
        .await
        .expect_err("failed deployment");
    let state = err.partial_state().expect("state recorded").clone();
    assert!(state.arn.ends_with("/svc"));
    assert_eq!(state.revision, 1);
    assert_eq!(state.rollout_state.as_deref(), Some("FAILED"));
    assert!(err.to_string().contains("deployment failed"), "{err}");
    assert_eq!(env.service_count().await, 1);
}

#[tokio::test]
async fn waiting_times_out_against_a_rollout_that_never_finishes() {
    let env = Env::start().await;
    // plain moto: the deployment stays IN_PROGRESS forever
    env.proxy.set_rollout(Rollout::PassThrough);
    let mut args = env.args("svc");
    args.wait.as_mut().unwrap().timeout_seconds = Some(1);
    let images = pinned(&args, &resolver()).await;
    let started = Instant::now();
    let err = env
        .deployer()
        .create(&args, &images, &CancellationToken::new())
        .await
        .expect_err("timeout");
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(matches!(err, DeployError::Unhealthy { .. }), "{err}");
    assert!(err.to_string().contains("timed out after 1s"), "{err}");
    assert!(err.to_string().contains("IN_PROGRESS"), "{err}");
    assert!(err.partial_state().is_some_and(|s| s.deploy_failed));
}

#[tokio::test]
async fn wait_disabled_returns_at_once() {
    let env = Env::start().await;
    let mut args = env.args("svc");
    args.wait.as_mut().unwrap().for_steady_state = Some(false);
    let state = create(&env, &args, &resolver()).await;
    assert_eq!(state.rollout_state.as_deref(), Some("IN_PROGRESS"));
    assert_eq!(
        env.proxy.count("DescribeServices"),
        1,
        "only the existence check"
    );
}

#[tokio::test]
async fn refresh_reports_drift_and_a_deleted_service_as_gone() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let r = resolver();
    let args = env.args("svc");
    let state = create(&env, &args, &r).await;
    let deployer = env.deployer();

    let same = deployer.read(&state).await.expect("read").expect("exists");
    assert!(same.drift.is_empty(), "{:?}", same.drift);
    assert_eq!(same.state.args, state.args);

    // outside the program: scale to 3 and swap the task definition
    let other = env
        .direct
        .register_task_definition()
        .family("hand-made")
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("elsewhere/app:1")
                .build(),
        )
        .send()
        .await
        .expect("register");
    let other_arn = other
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();
    env.direct
        .update_service()
        .cluster(CLUSTER)
        .service("svc")
        .desired_count(3)
        .task_definition(&other_arn)
        .send()
        .await
        .expect("update outside");

    let drifted = deployer.read(&state).await.expect("read").expect("exists");
    assert_eq!(drifted.state.args.desired_count, Some(3));
    assert_eq!(drifted.state.task_definition_arn, other_arn);
    assert_eq!(drifted.state.images["web"], "elsewhere/app:1");
    assert!(
        drifted
            .drift
            .iter()
            .any(|d| d.starts_with("desiredCount 1 -> 3")),
        "{:?}",
        drifted.drift
    );
    assert!(
        drifted.drift.iter().any(|d| d.contains("hand-made:1")),
        "{:?}",
        drifted.drift
    );
    // the next diff wants the program's definition back
    let images = pinned(&args, &r).await;
    let plan = diff(&drifted.state, &args, &images);
    assert!(
        plan.new_revision_needed && plan.service_update_needed,
        "{plan:#?}"
    );
    assert!(
        plan.reasons.iter().any(|r| r == "desiredCount 3 -> 1"),
        "{:?}",
        plan.reasons
    );

    // deleted outside the program
    env.direct
        .delete_service()
        .cluster(CLUSTER)
        .service("svc")
        .force(true)
        .send()
        .await
        .expect("delete outside");
    assert!(deployer.read(&state).await.expect("read").is_none());
}

#[tokio::test]
async fn delete_scales_to_zero_deletes_waits_and_deregisters() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let args = env.args("svc");
    let state = create(&env, &args, &resolver()).await;
    env.proxy.clear_calls();

    let log = Log::default();
    env.deployer()
        .delete(&state, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .expect("delete");
    assert_eq!(
        env.proxy.write_calls(),
        vec!["UpdateService", "DeleteService", "DeregisterTaskDefinition"]
    );
    let scale = env
        .proxy
        .calls()
        .into_iter()
        .find(|c| c.operation == "UpdateService")
        .unwrap();
    assert_eq!(scale.request["desiredCount"], 0);
    let svc = env
        .direct
        .describe_services()
        .cluster(CLUSTER)
        .services("svc")
        .send()
        .await
        .expect("describe");
    assert_eq!(svc.services()[0].status(), Some("INACTIVE"));
    assert!(env.active_revisions("svc").await.is_empty());

    // deleting again is fine (already gone)
    env.deployer()
        .delete(&state, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .expect("second delete");
}

#[tokio::test]
async fn throttling_and_server_errors_are_retried() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    // fault injection: ECS throttles and fails
    env.proxy
        .inject("RegisterTaskDefinition", Fault::Throttling, 2);
    env.proxy.inject("CreateService", Fault::ServerError, 2);
    env.proxy.inject("DescribeServices", Fault::Throttling, 3);
    let args = env.args("svc");
    let state = create(&env, &args, &resolver()).await;
    // each retry waited (adaptive mode: backoff plus the client rate limiter)
    let calls = env.proxy.calls();
    for op in [
        "RegisterTaskDefinition",
        "CreateService",
        "DescribeServices",
    ] {
        let at: Vec<Duration> = calls
            .iter()
            .filter(|c| c.operation == op)
            .map(|c| c.at)
            .collect();
        for pair in at.windows(2).take(2) {
            assert!(
                pair[1] - pair[0] >= Duration::from_millis(100),
                "{op} retried without backoff: {at:?}"
            );
        }
    }
    assert_eq!(state.rollout_state.as_deref(), Some("COMPLETED"));
    assert_eq!(env.proxy.count("RegisterTaskDefinition"), 3);
    assert_eq!(env.proxy.count("CreateService"), 3);
    assert_eq!(
        env.active_revisions("svc").await.len(),
        1,
        "throttled registrations never reached moto"
    );
    assert_eq!(env.service_count().await, 1);
}

#[tokio::test]
async fn a_retried_create_reuses_its_client_token_and_makes_one_service() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    // fault injection: CreateService reaches moto but the answer is lost
    env.proxy.inject("CreateService", Fault::LoseResponse, 1);
    let args = env.args("svc");
    let state = create(&env, &args, &resolver()).await;

    let creates: Vec<_> = env
        .proxy
        .calls()
        .into_iter()
        .filter(|c| c.operation == "CreateService")
        .collect();
    assert_eq!(creates.len(), 2, "the SDK retried the lost create");
    let expected = client_token(CLUSTER, "svc", &state.task_definition_arn);
    for c in &creates {
        assert_eq!(c.request["clientToken"], expected.as_str());
    }
    assert_eq!(env.service_count().await, 1);
    assert_eq!(env.active_revisions("svc").await.len(), 1);
}

#[tokio::test]
async fn create_refuses_to_take_over_an_existing_service() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let args = env.args("svc");
    create(&env, &args, &resolver()).await;
    env.proxy.clear_calls();
    let images = pinned(&args, &resolver()).await;
    let err = env
        .deployer()
        .create(&args, &images, &CancellationToken::new())
        .await
        .expect_err("exists");
    assert!(matches!(err, DeployError::AlreadyExists { .. }), "{err}");
    assert!(
        env.proxy.write_calls().is_empty(),
        "{:?}",
        env.proxy.write_calls()
    );
}

#[tokio::test]
async fn cancellation_while_waiting_keeps_the_created_service() {
    let env = Env::start().await;
    let args = env.args("svc");
    let images = pinned(&args, &resolver()).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let err = env
        .deployer()
        .create(&args, &images, &cancel)
        .await
        .expect_err("cancelled");
    assert!(matches!(err, DeployError::Cancelled { .. }), "{err}");
    assert!(err.partial_state().is_some_and(|s| s.arn.ends_with("/svc")));
}
