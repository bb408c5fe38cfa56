//! Create / update / refresh / delete against a real moto server.
//!
//! moto never progresses ECS deployments and never throttles, so every test
//! here goes through the FAULT-INJECTION proxy (`ecs_faults::FaultProxy`) that
//! simulates rollouts, circuit-breaker rollbacks, throttling and lost
//! responses, and counts the calls that reach moto.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{digest, Env, Log, MapResolver, CLUSTER};
use imagedeploy_ecs::args::ServiceArgs;
use imagedeploy_ecs::{client_token, diff, resolve_images, DeployError, ServiceState};
use imagedeploy_testsupport::ecs_faults::{Fault, Rollout};
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
    let svc = env.describe_service("svc").await;
    assert_eq!(svc.desired_count(), 3);
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
    let svc = env.describe_service("svc").await;
    assert_eq!(svc.status(), Some("INACTIVE"));
    assert!(env.active_revisions("svc").await.is_empty());

    // deleting again is fine (already gone)
    env.deployer()
        .delete(&state, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .expect("second delete");
}

#[tokio::test]
async fn delete_goes_by_the_recorded_arn_not_the_inputs_name() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let a = create(&env, &env.args("svc-a"), &resolver()).await;
    let b = create(&env, &env.args("svc-b"), &resolver()).await;
    // A state whose inputs name svc-a but whose ARN is svc-b's: the ARN is
    // what this resource made, the inputs are only what was asked for.
    let mut state = b.clone();
    state.args = a.args.clone();
    env.deployer()
        .delete(&state, &CancellationToken::new())
        .await
        .expect("delete");
    assert_eq!(
        env.describe_service("svc-b").await.status(),
        Some("INACTIVE")
    );
    assert_eq!(
        env.describe_service("svc-a").await.status(),
        Some("ACTIVE"),
        "the service the inputs name is left alone"
    );
    let deletes: Vec<_> = env
        .proxy
        .calls()
        .into_iter()
        .filter(|c| c.operation == "DeleteService")
        .collect();
    assert_eq!(deletes.len(), 1);
    assert_eq!(deletes[0].request["service"], b.arn.as_str());
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

/// `env.args` plus every production setting moto accepts on Fargate.
fn with_settings(env: &Env, name: &str) -> ServiceArgs {
    let mut v = serde_json::to_value(env.args(name)).unwrap();
    v["executionRoleArn"] = "arn:aws:iam::123456789012:role/exec".into();
    v["volumes"] = serde_json::json!([
        {"name": "scratch"},
        {"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-0123abcd", "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": "fsap-0123", "iam": "ENABLED"}}}
    ]);
    v["ephemeralStorage"] = serde_json::json!({"sizeInGiB": 50});
    let web = &mut v["containers"][0];
    web["portMappings"][0]["name"] = "http".into();
    web["mountPoints"] = serde_json::json!([
        {"sourceVolume": "scratch", "containerPath": "/scratch"},
        {"sourceVolume": "data", "containerPath": "/data", "readOnly": true}
    ]);
    web["repositoryCredentials"] = serde_json::json!({"credentialsParameter": "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbC"});
    web["dockerLabels"] =
        serde_json::json!({"com.example.team": "web", "com.example.tier": "front"});
    web["ulimits"] = serde_json::json!([{"name": "nofile", "softLimit": 4096, "hardLimit": 65535}]);
    web["linuxParameters"] = serde_json::json!({"initProcessEnabled": true, "capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW", "MKNOD"]}});
    web["systemControls"] =
        serde_json::json!([{"namespace": "net.core.somaxconn", "value": "1024"}]);
    web["startTimeout"] = 30.into();
    web["logConfiguration"] =
        serde_json::json!({"logDriver": "awsfirelens", "options": {"Name": "cloudwatch"}});
    v["containers"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "name": "router",
            "image": format!("{APP}:latest"),
            "essential": false,
            "volumesFrom": [{"sourceContainer": "web", "readOnly": true}],
            "firelensConfiguration": {"type": "fluentbit", "options": {"enable-ecs-log-metadata": "true"}}
        }));
    v["serviceConnectConfiguration"] = serde_json::json!({"namespace": "internal", "services": [{"portName": "http", "clientAliases": [{"port": 80, "dnsName": "web"}]}]});
    v["serviceRegistries"] = serde_json::json!([{"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1", "port": 8080}]);
    v["availabilityZoneRebalancing"] = "DISABLED".into();
    v["enableEcsManagedTags"] = true.into();
    v["deploymentController"] = serde_json::json!({"type": "ECS"});
    serde_json::from_value(v).expect("args JSON")
}

#[tokio::test]
async fn production_settings_reach_ecs_and_read_back_as_registered() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let r = resolver();
    let args = with_settings(&env, "svc");
    assert_eq!(imagedeploy_ecs::check(&args), vec![], "valid inputs");
    let state = create(&env, &args, &r).await;

    // CreateService carried the service-level settings.
    let calls = env.proxy.calls();
    let create_req = &calls
        .iter()
        .find(|c| c.operation == "CreateService")
        .expect("CreateService")
        .request;
    assert_eq!(
        create_req["serviceConnectConfiguration"],
        serde_json::json!({"enabled": true, "namespace": "internal", "services": [
            {"portName": "http", "discoveryName": "http", "clientAliases": [{"port": 80, "dnsName": "web"}]}
        ]})
    );
    assert_eq!(create_req["enableECSManagedTags"], true);
    assert_eq!(create_req["availabilityZoneRebalancing"], "DISABLED");
    assert_eq!(
        create_req["deploymentController"],
        serde_json::json!({"type": "ECS"})
    );
    // and moto echoes what it models of them
    let svc = env.describe_service("svc").await;
    assert_eq!(svc.service_registries()[0].port(), Some(8080));
    assert_eq!(
        svc.deployment_controller().map(|d| d.r#type().as_str()),
        Some("ECS")
    );

    // The registered task definition, as ECS (moto) stores it.
    let td = env
        .direct
        .describe_task_definition()
        .task_definition(&state.task_definition_arn)
        .send()
        .await
        .expect("describe task definition");
    let td = td.task_definition().expect("task definition");
    assert_eq!(td.ephemeral_storage().map(|e| e.size_in_gib()), Some(50));
    let volumes: Vec<_> = td.volumes().iter().filter_map(|v| v.name()).collect();
    assert_eq!(volumes, ["data", "scratch"]);
    let efs = td.volumes()[0].efs_volume_configuration().expect("efs");
    assert_eq!(efs.file_system_id(), "fs-0123abcd");
    assert_eq!(efs.root_directory(), Some("/"));
    assert_eq!(
        efs.authorization_config().and_then(|a| a.access_point_id()),
        Some("fsap-0123")
    );
    let web = &td.container_definitions()[0];
    let mounts: Vec<_> = web
        .mount_points()
        .iter()
        .map(|m| (m.container_path().unwrap(), m.read_only()))
        .collect();
    assert_eq!(mounts, [("/data", Some(true)), ("/scratch", Some(false))]);
    assert_eq!(
        web.repository_credentials()
            .map(|r| r.credentials_parameter()),
        Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbC")
    );
    assert_eq!(
        web.docker_labels().and_then(|l| l.get("com.example.team")),
        Some(&"web".to_string())
    );
    assert_eq!(web.ulimits()[0].soft_limit(), 4096);
    let linux = web.linux_parameters().expect("linuxParameters");
    assert_eq!(linux.init_process_enabled(), Some(true));
    assert_eq!(
        linux.capabilities().map(|c| c.drop().to_vec()),
        Some(vec!["MKNOD".to_string(), "NET_RAW".to_string()])
    );
    assert_eq!(web.system_controls()[0].value(), Some("1024"));
    assert_eq!(web.start_timeout(), Some(30));
    let router = &td.container_definitions()[1];
    assert_eq!(router.volumes_from()[0].source_container(), Some("web"));
    assert_eq!(
        router.firelens_configuration().map(|f| f.r#type().as_str()),
        Some("fluentbit")
    );

    // Refresh reads the task definition back into exactly the recorded form.
    let mut stale = state.clone();
    stale.task_definition_arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/other:9".into();
    stale.container_definitions.clear();
    stale.task_settings = Default::default();
    let refreshed = env
        .deployer()
        .read(&stale)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        refreshed.state.container_definitions,
        state.container_definitions
    );
    assert_eq!(refreshed.state.task_settings, state.task_settings);
    // Nothing else drifted: the service-level settings moto reports match.
    assert_eq!(refreshed.drift.len(), 1, "{:?}", refreshed.drift);

    // The same inputs are no change.
    let images = pinned(&args, &r).await;
    assert!(!diff(&state, &args, &images).has_changes());
}

#[tokio::test]
async fn service_level_settings_change_with_update_service_only_and_switch_off_explicitly() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let r = resolver();
    let args = with_settings(&env, "svc");
    let state = create(&env, &args, &r).await;
    env.proxy.clear_calls();

    let mut changed = args.clone();
    changed.service_connect_configuration = None;
    changed.service_registries = None;
    changed.enable_ecs_managed_tags = None;
    changed.availability_zone_rebalancing = None;
    let images = pinned(&changed, &r).await;
    let plan = diff(&state, &changed, &images);
    assert!(
        plan.service_update_needed && !plan.new_revision_needed,
        "{plan:#?}"
    );
    let mut paths: Vec<&str> = plan.changes.iter().map(|c| c.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "availabilityZoneRebalancing",
            "enableEcsManagedTags",
            "serviceConnectConfiguration",
            "serviceRegistries"
        ]
    );
    let log = Log::default();
    let after = env
        .deployer()
        .update(&state, &changed, &images, &plan, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .unwrap_or_else(|e| panic!("update: {e}\n{:#?}", log.lines()));
    assert_eq!(env.proxy.write_calls(), vec!["UpdateService"]);
    let update = env
        .proxy
        .calls()
        .into_iter()
        .find(|c| c.operation == "UpdateService")
        .expect("UpdateService");
    // UpdateService keeps what a request leaves out: removals are explicit.
    assert_eq!(
        update.request["serviceConnectConfiguration"],
        serde_json::json!({"enabled": false})
    );
    assert_eq!(update.request["serviceRegistries"], serde_json::json!([]));
    assert_eq!(update.request["enableECSManagedTags"], false);
    assert_eq!(update.request["availabilityZoneRebalancing"], "ENABLED");
    assert_eq!(after.task_definition_arn, state.task_definition_arn);
    let svc = env.describe_service("svc").await;
    assert!(
        svc.service_registries().is_empty(),
        "moto applied the removal"
    );

    // A container setting (a label) is one new revision.
    let mut labelled = changed.clone();
    labelled.containers[0]
        .docker_labels
        .get_or_insert_with(BTreeMap::new)
        .insert("com.example.team".into(), "api".into());
    env.proxy.clear_calls();
    let plan = diff(&after, &labelled, &images);
    assert_eq!(
        plan.changes
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>(),
        ["containers[0].dockerLabels[\"com.example.team\"]"]
    );
    let last = env
        .deployer()
        .update(&after, &labelled, &images, &plan, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .expect("update");
    assert_eq!(
        env.proxy.write_calls(),
        [
            "RegisterTaskDefinition",
            "UpdateService",
            "DeregisterTaskDefinition"
        ]
    );
    assert_eq!(last.revision, 2);
    assert!(!diff(&last, &labelled, &images).has_changes());
}

#[tokio::test]
async fn refresh_reports_settings_changed_outside_only_where_the_program_states_them() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete);
    let r = resolver();
    let unstated = env.args("svc");
    let state = create(&env, &unstated, &r).await;

    // Changed outside the program: AZ rebalancing off, a service registry added.
    env.direct
        .update_service()
        .cluster(CLUSTER)
        .service("svc")
        .availability_zone_rebalancing(aws_sdk_ecs::types::AvailabilityZoneRebalancing::Disabled)
        .service_registries(
            aws_sdk_ecs::types::ServiceRegistry::builder()
                .registry_arn("arn:aws:servicediscovery:us-east-1:123456789012:service/srv-9")
                .build(),
        )
        .send()
        .await
        .expect("UpdateService outside the program");
    let svc = env.describe_service("svc").await;
    assert_eq!(
        svc.availability_zone_rebalancing().map(|a| a.as_str()),
        Some("DISABLED"),
        "moto echoes the setting after UpdateService"
    );

    // The program never stated AZ rebalancing: not drift (an older service
    // reports DISABLED and must not be flipped). The registry is drift.
    let refreshed = env
        .deployer()
        .read(&state)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        refreshed.drift,
        vec!["serviceRegistries (changed outside the program)".to_string()]
    );
    assert_eq!(
        refreshed
            .state
            .args
            .service_registries
            .as_ref()
            .map(|r| r[0].registry_arn.as_str()),
        Some("arn:aws:servicediscovery:us-east-1:123456789012:service/srv-9")
    );
    assert!(refreshed.state.args.availability_zone_rebalancing.is_none());
    // and the next diff shows the way back to the program
    let images = pinned(&unstated, &r).await;
    let plan = diff(&refreshed.state, &unstated, &images);
    assert_eq!(
        plan.changes
            .iter()
            .map(|c| c.path.as_str())
            .collect::<Vec<_>>(),
        ["serviceRegistries"]
    );

    // A program that states it sees the drift.
    let mut stated = state.clone();
    stated.args.availability_zone_rebalancing = Some(imagedeploy_ecs::args::Toggle::Enabled);
    let refreshed = env
        .deployer()
        .read(&stated)
        .await
        .expect("read")
        .expect("exists");
    assert!(
        refreshed.drift.contains(
            &"availabilityZoneRebalancing ENABLED -> DISABLED (changed outside the program)"
                .to_string()
        ),
        "{:?}",
        refreshed.drift
    );
    assert_eq!(
        refreshed.state.args.availability_zone_rebalancing,
        Some(imagedeploy_ecs::args::Toggle::Disabled)
    );
}
