//! Pre-deploy tasks and the standalone Task against a real moto server.
//!
//! moto runs RunTask/DescribeTasks/StopTask (a task moves to STOPPED after a
//! few DescribeTasks and reports exit code 0) and CloudWatch Logs, but no
//! container: exit codes other than 0, `TaskFailedToStart`, a task that
//! never stops, RunTask failures and the container's log lines come from
//! the FAULT-INJECTION proxy (`ecs_faults::TaskFate`, `set_task_logs`), which
//! also counts the calls that reach moto.

mod common;

use std::collections::BTreeMap;

use common::{digest, logs_client, Env, Log, MapResolver, CLUSTER};
use imagedeploy_ecs::args::{LogConfiguration, ServiceArgs};
use imagedeploy_ecs::predeploy::{self, OnFailure, PreDeploy, When};
use imagedeploy_ecs::standalone::TaskArgs;
use imagedeploy_ecs::{diff, resolve_images, DeployError, Deployer, ServiceState};
use imagedeploy_testsupport::ecs_faults::{Rollout, TaskFate};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::instrument::WithSubscriber;

const APP: &str = "127.0.0.1:5000/app";

fn deployer(env: &Env) -> Deployer {
    env.deployer().with_logs(logs_client(&env.moto.endpoint()))
}

fn migrate() -> PreDeploy {
    PreDeploy {
        command: vec!["npm".into(), "run".into(), "migrate".into()],
        ..Default::default()
    }
}

/// `web` logging to CloudWatch Logs with a stream prefix, with `preDeploy`.
fn args_with(env: &Env, pd: PreDeploy) -> ServiceArgs {
    let mut args = env.args("svc");
    // moto's RunTask fails (HTTP 500) without a container-level memory.
    args.containers[0].memory = Some(512);
    args.containers[0].log_configuration = Some(LogConfiguration {
        log_driver: "awslogs".into(),
        options: Some(BTreeMap::from([
            ("awslogs-group".to_string(), "/ecs/svc".to_string()),
            ("awslogs-stream-prefix".to_string(), "ecs".to_string()),
            ("awslogs-region".to_string(), common::REGION.to_string()),
        ])),
    });
    args.pre_deploy = Some(pd);
    args
}

async fn pinned(args: &ServiceArgs, r: &MapResolver) -> BTreeMap<String, String> {
    resolve_images(args, r).await.expect("resolve images")
}

struct Setup {
    env: Env,
    r: MapResolver,
    state: ServiceState,
}

/// A service created (pre-deploy ran on create, moto: exit 0), then the tag
/// moved to a new digest.
async fn created(pd: PreDeploy) -> (Setup, ServiceArgs) {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete); // fault injection: simulated rollout
    let r = MapResolver::with(&format!("{APP}:latest"), &digest('a'));
    let args = args_with(&env, pd);
    let images = pinned(&args, &r).await;
    let log = Log::default();
    let state = deployer(&env)
        .create(&args, &images, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
        .unwrap_or_else(|e| panic!("create: {e}\n{:#?}", log.lines()));
    r.set(&format!("{APP}:latest"), &digest('b'));
    env.proxy.clear_calls();
    (Setup { env, r, state }, args)
}

async fn update(
    s: &Setup,
    old: &ServiceState,
    args: &ServiceArgs,
    log: &Log,
) -> Result<ServiceState, DeployError> {
    let images = pinned(args, &s.r).await;
    let plan = diff(old, args, &images);
    deployer(&s.env)
        .update(old, args, &images, &plan, &CancellationToken::new())
        .with_subscriber(log.subscriber())
        .await
}

fn run_tasks(env: &Env) -> Vec<Value> {
    env.proxy
        .calls()
        .into_iter()
        .filter(|c| c.operation == "RunTask")
        .map(|c| c.request)
        .collect()
}

#[tokio::test]
async fn a_migration_that_exits_zero_runs_once_in_the_new_revision_before_the_switch() {
    let (s, args) = created(migrate()).await;
    let first = s.state.last_pre_deploy.clone().expect("create ran it");
    assert!(first.run.succeeded);
    assert_eq!(first.image_digest.as_deref(), Some(digest('a').as_str()));

    let log = Log::default();
    let after = update(&s, &s.state, &args, &log).await.expect("update");
    assert_eq!(
        s.env.proxy.write_calls(),
        [
            "RegisterTaskDefinition",
            "RunTask",
            "UpdateService",
            "DeregisterTaskDefinition"
        ],
        "the task runs between registration and the switch"
    );
    let run = &run_tasks(&s.env)[0];
    assert_eq!(run["taskDefinition"], after.task_definition_arn.as_str());
    assert_eq!(
        run["overrides"]["containerOverrides"][0]["command"],
        serde_json::json!(["npm", "run", "migrate"])
    );
    assert_eq!(run["overrides"]["containerOverrides"][0]["name"], "web");
    assert_eq!(run["launchType"], "FARGATE");
    assert_eq!(
        run["networkConfiguration"]["awsvpcConfiguration"]["subnets"][0],
        s.env.network.subnet_id.as_str()
    );
    let token = run["clientToken"].as_str().expect("client token");
    assert_eq!(run["startedBy"], format!("imagedeploy-{token}").as_str());

    let last = after.last_pre_deploy.expect("recorded");
    assert!(last.run.succeeded, "{last:?}");
    assert_eq!(last.run.exit_code, Some(0));
    assert_eq!(last.image_digest.as_deref(), Some(digest('b').as_str()));
    assert_eq!(last.task_definition_arn, after.task_definition_arn);
    assert_eq!(
        last.run
            .log_stream
            .as_deref()
            .map(|l| l.starts_with("/ecs/svc:ecs/web/")),
        Some(true)
    );
    assert!(log
        .lines()
        .iter()
        .any(|l| l.contains("pre-deploy `npm run migrate` succeeded")));
}

#[tokio::test]
async fn a_failed_migration_keeps_the_old_revision_records_the_attempt_and_the_next_update_runs_it_again(
) {
    let (s, args) = created(migrate()).await;
    // FAULT INJECTION: the container prints two lines and exits 3.
    s.env.proxy.set_task_fate(TaskFate::Exit(3));
    s.env
        .proxy
        .set_task_logs(&["applying 0042_users", "ERROR: relation users exists"]);
    let log = Log::default();
    let err = update(&s, &s.state, &args, &log)
        .await
        .expect_err("exit 3 aborts");
    let msg = err.to_string();
    assert!(msg.contains("exited with code 3"), "{msg}");
    assert!(
        msg.contains("ERROR: relation users exists"),
        "the last log lines: {msg}"
    );
    assert!(msg.contains("Essential container in task exited"), "{msg}");
    assert!(
        log.lines().iter().any(|l| l == "[web] applying 0042_users"),
        "log lines stream as progress: {:#?}",
        log.lines()
    );
    assert!(!s
        .env
        .proxy
        .write_calls()
        .contains(&"UpdateService".to_string()));

    let failed = err.partial_state().expect("partial state").clone();
    assert_eq!(
        failed.task_definition_arn, s.state.task_definition_arn,
        "still the old revision"
    );
    assert_eq!(failed.images, s.state.images);
    let last = failed
        .last_pre_deploy
        .clone()
        .expect("the failed run is recorded");
    assert!(!last.run.succeeded);
    assert_eq!(last.run.exit_code, Some(3));
    assert_eq!(
        last.run.stop_code.as_deref(),
        Some("EssentialContainerExited")
    );
    assert!(
        failed
            .registered_revisions
            .contains(&last.task_definition_arn),
        "nothing lost"
    );
    let first_token = run_tasks(&s.env)[0]["clientToken"].clone();

    // The next update runs it again, in the same revision, with a new token.
    s.env.proxy.set_task_fate(TaskFate::PassThrough);
    s.env.proxy.clear_calls();
    let after = update(&s, &failed, &args, &Log::default())
        .await
        .expect("retry");
    assert_eq!(
        s.env.proxy.write_calls(),
        ["RunTask", "UpdateService", "DeregisterTaskDefinition"],
        "the failed attempt's revision is reused"
    );
    assert_ne!(run_tasks(&s.env)[0]["clientToken"], first_token);
    assert_eq!(after.task_definition_arn, last.task_definition_arn);
    assert_eq!(after.last_pre_deploy.unwrap().attempt, 1);
}

#[tokio::test]
async fn a_retried_update_from_the_same_state_waits_for_the_task_already_started() {
    let (s, args) = created(migrate()).await;
    // The provider "died" after starting the task: the engine still has the
    // old state, and the next up calls update with it again.
    update(&s, &s.state, &args, &Log::default())
        .await
        .expect("first");
    assert_eq!(run_tasks(&s.env).len(), 1);
    s.env.proxy.clear_calls();
    let log = Log::default();
    let again = update(&s, &s.state, &args, &log).await.expect("retry");
    assert!(
        run_tasks(&s.env).is_empty(),
        "no second task: {:?}",
        s.env.proxy.write_calls()
    );
    assert!(
        !s.env
            .proxy
            .write_calls()
            .contains(&"RegisterTaskDefinition".to_string()),
        "the identical revision is reused"
    );
    assert!(
        log.lines().iter().any(|l| l.contains("already started")),
        "{:#?}",
        log.lines()
    );
    assert!(again.last_pre_deploy.unwrap().run.succeeded);
}

#[tokio::test]
async fn task_failed_to_start_run_failures_and_time_outs_are_failures() {
    let (s, args) = created(migrate()).await;

    // FAULT INJECTION: the image cannot be pulled.
    s.env.proxy.set_task_fate(TaskFate::FailedToStart);
    let err = update(&s, &s.state, &args, &Log::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("failed to start: CannotPullContainerError"),
        "{err}"
    );
    let last = err
        .partial_state()
        .unwrap()
        .last_pre_deploy
        .clone()
        .unwrap();
    assert_eq!(last.run.stop_code.as_deref(), Some("TaskFailedToStart"));
    assert_eq!(last.run.exit_code, None);

    // FAULT INJECTION: RunTask places nothing. (Each retry starts from the
    // recorded partial state, as the engine's next up would.)
    let recorded = err.partial_state().unwrap().clone();
    s.env.proxy.set_task_fate(TaskFate::RunFailure);
    let err = update(&s, &recorded, &args, &Log::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("RESOURCE:MEMORY"), "{err}");

    // FAULT INJECTION: the task never stops; the time-out stops it.
    let recorded = err.partial_state().unwrap().clone();
    s.env.proxy.set_task_fate(TaskFate::NeverStops);
    s.env.proxy.clear_calls();
    let mut short = args.clone();
    short.pre_deploy.as_mut().unwrap().timeout_seconds = Some(1);
    let err = update(&s, &recorded, &short, &Log::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("did not stop within 1s"), "{err}");
    assert!(s.env.proxy.write_calls().contains(&"StopTask".to_string()));
    assert!(!s
        .env
        .proxy
        .write_calls()
        .contains(&"UpdateService".to_string()));
}

#[tokio::test]
async fn on_failure_warn_switches_anyway_and_records_the_failure() {
    let pd = PreDeploy {
        on_failure: Some(OnFailure::Warn),
        ..migrate()
    };
    let (s, args) = created(pd).await;
    s.env.proxy.set_task_fate(TaskFate::Exit(1));
    let log = Log::default();
    let after = update(&s, &s.state, &args, &log)
        .await
        .expect("warn does not abort");
    assert!(s
        .env
        .proxy
        .write_calls()
        .contains(&"UpdateService".to_string()));
    assert_eq!(after.last_pre_deploy.unwrap().run.exit_code, Some(1));
    assert!(log
        .lines()
        .iter()
        .any(|l| l.starts_with("warning: pre-deploy")));
}

#[tokio::test]
async fn when_decides_which_deployments_run_it() {
    let env = Env::start().await;
    let r = MapResolver::with(&format!("{APP}:latest"), &digest('a'));
    let args = args_with(&env, migrate());
    let old = common::recorded(&args, &pinned(&args, &r).await);
    let due = |a: &ServiceArgs, images: &BTreeMap<String, String>| {
        predeploy::due(Some(&old), a, images, Some(&diff(&old, a, images)))
    };
    let same = pinned(&args, &r).await;
    let mut env_change = args.clone();
    env_change.containers[0]
        .environment
        .as_mut()
        .unwrap()
        .insert("MODE".into(), "x".into());
    let mut scaled = args.clone();
    scaled.desired_count = Some(2);
    r.set(&format!("{APP}:latest"), &digest('b'));
    let moved = pinned(&args, &r).await;

    let with = |a: &ServiceArgs, w: When| {
        let mut a = a.clone();
        a.pre_deploy.as_mut().unwrap().when = Some(w);
        a
    };
    // imageChange (default): only a new image.
    assert!(due(&args, &moved));
    assert!(!due(&env_change, &same));
    assert!(!due(&scaled, &same));
    assert!(!due(&args, &same));
    // revisionChange: any new revision.
    assert!(due(&with(&env_change, When::RevisionChange), &same));
    assert!(!due(&with(&scaled, When::RevisionChange), &same));
    // always: every deployment, a service-only one too; nothing to deploy, nothing runs.
    assert!(due(&with(&scaled, When::Always), &same));
    assert!(!due(&with(&args, When::Always), &same));
    // A new service always runs it.
    assert!(predeploy::due(None, &args, &same, None));
    assert_eq!(
        predeploy::preview_line(&args, &moved, false).as_deref(),
        Some(
            format!(
                "will run `npm run migrate` on {} before switching",
                digest('b')
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn check_names_the_pre_deploy_property() {
    let env = Env::start().await;
    let mut args = args_with(
        &env,
        PreDeploy {
            command: vec![],
            container: Some("worker".into()),
            timeout_seconds: Some(0),
            ..Default::default()
        },
    );
    let props: Vec<String> = predeploy::check(&args)
        .into_iter()
        .map(|f| f.property)
        .collect();
    assert_eq!(
        props,
        [
            "preDeploy.container",
            "preDeploy.command",
            "preDeploy.timeoutSeconds"
        ]
    );
    args.pre_deploy = Some(migrate());
    assert!(predeploy::check(&args).is_empty());
}

#[tokio::test]
async fn the_task_resource_runs_a_task_definition_arn_or_its_own_containers() {
    let (s, service_args) = created(migrate()).await;
    let d = deployer(&s.env);
    let cancel = CancellationToken::new();
    let log = Log::default();

    // By ARN: the service's own revision.
    let by_arn = TaskArgs {
        cluster: CLUSTER.into(),
        task_definition: Some(s.state.task_definition_arn.clone()),
        command: vec!["./seed".into()],
        network_configuration: service_args.network_configuration.clone(),
        ..Default::default()
    };
    s.env.proxy.set_task_logs(&["seeded 3 rows"]);
    let o = d
        .run_task_resource("urn:t1", &by_arn, &BTreeMap::new(), None, &cancel)
        .with_subscriber(log.subscriber())
        .await
        .expect("run");
    assert!(o.failure.is_none(), "{:?}", o.failure);
    assert_eq!(o.state.run.exit_code, Some(0));
    assert!(
        o.state.run.task_arn.contains(":task/"),
        "{}",
        o.state.run.task_arn
    );
    assert!(
        log.lines().iter().any(|l| l == "[web] seeded 3 rows"),
        "{:#?}",
        log.lines()
    );
    assert_eq!(s.env.proxy.write_calls(), ["RunTask"], "nothing registered");

    // Its own containers: registered once, identical runs reuse the revision.
    s.env.proxy.clear_calls();
    let own = TaskArgs {
        cluster: CLUSTER.into(),
        task_definition: None,
        containers: Some(service_args.containers.clone()),
        family: Some("migrate-task".into()),
        cpu: Some(256),
        memory: Some(512),
        command: vec!["./migrate".into()],
        network_configuration: service_args.network_configuration.clone(),
        ..Default::default()
    };
    let images = resolve_images(&own.as_service(), &s.r).await.unwrap();
    let first = d
        .run_task_resource("urn:t2", &own, &images, None, &cancel)
        .with_subscriber(log.subscriber())
        .await
        .expect("run");
    assert!(first.failure.is_none());
    assert_eq!(
        s.env.proxy.write_calls(),
        ["RegisterTaskDefinition", "RunTask"]
    );
    assert_eq!(first.state.images["web"], format!("{APP}@{}", digest('b')));

    // FAULT INJECTION: the second run exits 2: reported, with the state to record.
    s.env.proxy.set_task_fate(TaskFate::Exit(2));
    s.env.proxy.clear_calls();
    let second = d
        .run_task_resource("urn:t2", &own, &images, Some(&first.state), &cancel)
        .with_subscriber(log.subscriber())
        .await
        .expect("run");
    assert_eq!(s.env.proxy.write_calls(), ["RunTask"]);
    assert!(second.failure.unwrap().contains("exited with code 2"));
    assert_eq!(second.state.runs, 2);
}

#[tokio::test]
async fn a_failed_migration_before_the_first_deployment_creates_no_service() {
    let env = Env::start().await;
    env.proxy.set_rollout(Rollout::Complete); // fault injection: simulated rollout
                                              // FAULT INJECTION: the migration exits 1.
    env.proxy.set_task_fate(TaskFate::Exit(1));
    let r = MapResolver::with(&format!("{APP}:latest"), &digest('a'));
    let args = args_with(&env, migrate());
    let images = pinned(&args, &r).await;
    let err = deployer(&env)
        .create(&args, &images, &CancellationToken::new())
        .with_subscriber(Log::default().subscriber())
        .await
        .expect_err("exit 1 aborts the create");
    assert!(err.to_string().contains("exited with code 1"), "{err}");
    assert!(err.partial_state().is_none(), "nothing to record");
    assert_eq!(
        env.proxy.write_calls(),
        [
            "RegisterTaskDefinition",
            "RunTask",
            "DeregisterTaskDefinition"
        ],
        "no CreateService; the revision goes"
    );
    assert_eq!(env.service_count().await, 0);
}
