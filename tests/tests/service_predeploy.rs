//! Pre-deploy tasks (Service `preDeploy`) and the standalone Task resource
//! through the engine's life cycle.
//!
//! moto runs RunTask/DescribeTasks/StopTask (its tasks stop after a few
//! polls with exit code 0) and CloudWatch Logs. What it cannot model comes
//! from the ECS FAULT-INJECTION proxy: a container's non-zero exit code and
//! the log lines it prints (`TaskFate`, `set_task_logs`), and finished
//! rollouts (`Rollout::Complete`). The proxy also counts the calls.

mod service_support;

use imagedeploy_tests::promise::images::push_tiny_image;
use imagedeploy_tests::{values, Op, Program, Report, Resource};
use imagedeploy_testsupport::ecs_faults::TaskFate;
use serde_json::{json, Value as Json};
use service_support::{messages, World, NAME};

const TASK: &str = "imagedeploy:index:Task";

/// The Service inputs with an awslogs container and `preDeploy`.
fn with_pre_deploy(w: &World, pre_deploy: Json) -> Json {
    let mut inputs = w.inputs();
    // moto's RunTask fails (HTTP 500) without a container-level memory.
    inputs["containers"][0]["memory"] = json!(512);
    inputs["containers"][0]["logConfiguration"] = json!({
        "logDriver": "awslogs",
        "options": {"awslogs-group": "/ecs/web", "awslogs-stream-prefix": "ecs"},
    });
    inputs["preDeploy"] = pre_deploy;
    inputs
}

fn migrate() -> Json {
    json!({"command": ["npm", "run", "migrate"]})
}

fn run_count(w: &World) -> usize {
    w.env.proxy.count("RunTask")
}

/// Pushes new content to `app:latest`; returns the new digest.
fn move_tag(w: &World, content: &str) -> String {
    push_tiny_image(&w.registry.address(), "app", "latest", content).expect("push")
}

fn td(w: &World) -> String {
    w.state().outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_migration_that_succeeds_runs_before_the_switch_and_preview_runs_nothing() {
    let w = World::start().await;
    let inputs = with_pre_deploy(&w, migrate());
    w.up_ok(inputs.clone()).await;
    assert_eq!(
        run_count(&w),
        1,
        "a new service runs it before CreateService"
    );
    let first = w.state().outputs["lastPreDeploy"].clone();
    assert_eq!(first["exitCode"], json!(0));
    assert_eq!(first["imageDigest"], json!(w.first_digest));

    let digest = move_tag(&w, "version two");
    w.env.proxy.clear_calls();
    w.env
        .proxy
        .set_task_logs(&["migrating 0042_add_users", "done"]);
    let p = w.preview_ok(inputs.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Update));
    let said = messages(&p);
    assert!(
        said.iter()
            .any(|m| m == &format!("will run `npm run migrate` on {digest} before switching")),
        "preview says what will run: {said:#?}"
    );
    assert!(
        w.env.writes().is_empty(),
        "preview runs nothing: {:?}",
        w.env.writes()
    );

    let r = w.up_ok(inputs.clone()).await;
    assert_eq!(
        w.env.writes(),
        [
            "RegisterTaskDefinition",
            "RunTask",
            "UpdateService",
            "DeregisterTaskDefinition"
        ]
    );
    let said = messages(&r);
    assert!(
        said.iter().any(|m| m == "[web] migrating 0042_add_users"),
        "the task's log lines stream as progress: {said:#?}"
    );
    let st = w.state();
    let last = &st.outputs["lastPreDeploy"];
    assert_eq!(last["exitCode"], json!(0));
    assert_eq!(last["imageDigest"], json!(digest));
    assert_eq!(last["taskDefinitionArn"], st.outputs["taskDefinitionArn"]);
    assert!(last["taskArn"].as_str().unwrap().contains(":task/"));
    assert!(last["logStream"]
        .as_str()
        .unwrap()
        .starts_with("/ecs/web:ecs/web/"));

    // Settled: nothing runs again.
    w.env.proxy.clear_calls();
    let r = w.up_ok(inputs).await;
    assert_eq!(r.op(NAME), Some(Op::Same));
    assert_eq!(run_count(&w), 0);
}

#[tokio::test]
async fn a_failed_migration_keeps_the_old_revision_and_the_next_up_runs_it_again() {
    let w = World::start().await;
    let inputs = with_pre_deploy(&w, migrate());
    w.up_ok(inputs.clone()).await;
    let td1 = td(&w);
    let service = w.state().outputs["name"].as_str().unwrap().to_string();

    move_tag(&w, "version two");
    // FAULT INJECTION: the migration prints an error and exits 3.
    w.env.proxy.set_task_fate(TaskFate::Exit(3));
    w.env
        .proxy
        .set_task_logs(&["ERROR: column users.email exists"]);
    w.env.proxy.clear_calls();
    let r = w.stack.up(&w.program(inputs.clone())).await.unwrap();
    assert!(!r.ok(), "{}", r.render());
    let error = r.step(NAME).unwrap().error.clone().unwrap();
    assert!(error.starts_with("Update partially failed"), "{error}");
    for part in [
        "exited with code 3",
        "ERROR: column users.email exists",
        "not switched",
    ] {
        assert!(error.contains(part), "{part:?} in {error}");
    }
    assert!(!w.env.writes().contains(&"UpdateService".to_string()));
    let failed = w.state();
    assert!(failed.init_failed);
    assert_eq!(td(&w), td1, "the service keeps its old revision");
    assert_eq!(
        w.env
            .service(&service)
            .await
            .unwrap()
            .unwrap()
            .task_definition(),
        Some(td1.as_str())
    );
    assert_eq!(failed.outputs["lastPreDeploy"]["exitCode"], json!(3));
    assert_eq!(
        failed.outputs["lastPreDeploy"]["stopCode"],
        json!("EssentialContainerExited")
    );

    // The next up runs it again, in the same revision, and switches.
    w.env.proxy.set_task_fate(TaskFate::PassThrough);
    w.env.proxy.clear_calls();
    let r = w.up_ok(inputs).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(
        w.env.writes(),
        ["RunTask", "UpdateService", "DeregisterTaskDefinition"]
    );
    assert_ne!(td(&w), td1);
    assert_eq!(w.state().outputs["lastPreDeploy"]["exitCode"], json!(0));
    assert!(!w.state().init_failed);
    assert_eq!(w.registered().await, 2);
}

#[tokio::test]
async fn an_up_retried_after_the_provider_died_does_not_start_a_second_task() {
    let w = World::start().await;
    let inputs = with_pre_deploy(&w, migrate());
    w.up_ok(inputs.clone()).await;
    move_tag(&w, "version two");
    // The engine's view before an up whose provider is killed after
    // starting the task: it never hears back, so the state stays as it is.
    let before = w.stack.stack_file().load().unwrap();
    w.env.proxy.clear_calls();
    w.up_ok(inputs.clone()).await;
    assert_eq!(run_count(&w), 1);
    w.stack.stack_file().save(&before).unwrap();

    let r = w.up_ok(inputs).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(
        run_count(&w),
        1,
        "the retry waits for the task already started"
    );
    assert_eq!(
        w.env.proxy.count("RegisterTaskDefinition"),
        1,
        "and reuses the revision it ran in"
    );
    assert!(messages(&r).iter().any(|m| m.contains("already started")));
}

#[tokio::test]
async fn when_decides_which_deployments_run_it() {
    let w = World::start().await;
    let mut inputs = with_pre_deploy(&w, migrate());
    w.up_ok(inputs.clone()).await;

    // imageChange (default): an environment change registers a revision but runs nothing.
    w.env.proxy.clear_calls();
    inputs["containers"][0]["environment"]["LOG_LEVEL"] = json!("debug");
    let p = w.preview_ok(inputs.clone()).await;
    assert!(!messages(&p).iter().any(|m| m.starts_with("will run")));
    w.up_ok(inputs.clone()).await;
    assert!(w
        .env
        .writes()
        .contains(&"RegisterTaskDefinition".to_string()));
    assert_eq!(run_count(&w), 0);

    // revisionChange: it does.
    inputs["preDeploy"]["when"] = json!("revisionChange");
    inputs["containers"][0]["environment"]["LOG_LEVEL"] = json!("warn");
    w.env.proxy.clear_calls();
    w.up_ok(inputs.clone()).await;
    assert_eq!(run_count(&w), 1);

    // always: also a service-only change.
    inputs["preDeploy"]["when"] = json!("always");
    inputs["desiredCount"] = json!(2);
    w.env.proxy.clear_calls();
    w.up_ok(inputs.clone()).await;
    assert_eq!(run_count(&w), 1);
    assert!(!w
        .env
        .writes()
        .contains(&"RegisterTaskDefinition".to_string()));
}

#[tokio::test]
async fn a_secret_command_is_never_echoed() {
    let w = World::start().await;
    let inputs = with_pre_deploy(
        &w,
        json!({"command": ["migrate", values::secret(json!("--password=hunter2"))]}),
    );
    let p = w.preview_ok(inputs.clone()).await;
    let said = messages(&p);
    assert!(
        said.iter()
            .any(|m| m.starts_with("will run `(secret command)` on ")),
        "{said:#?}"
    );
    let r = w.up_ok(inputs).await;
    assert_eq!(run_count(&w), 1);
    let everything = format!("{}\n{}", r.render(), r.stderr);
    assert!(!everything.contains("hunter2"), "{everything}");
    assert!(messages(&r).iter().any(|m| m.contains("(secret command)")));
}

fn check_failures(r: &Report, name: &str) -> Vec<(String, String)> {
    r.calls_for("Check", name)
        .last()
        .and_then(|c| c.response.as_ref().ok())
        .and_then(|resp| resp["failures"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .map(|f| {
            (
                f["property"].as_str().unwrap_or_default().to_string(),
                f["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bad_pre_deploy_and_task_inputs_are_check_failures_naming_the_property() {
    let w = World::start().await;
    for (pre_deploy, property) in [
        (
            json!({"command": ["migrate"], "container": "worker"}),
            "preDeploy.container",
        ),
        (json!({"command": []}), "preDeploy.command"),
        (
            json!({"command": ["migrate"], "timeoutSeconds": 0}),
            "preDeploy.timeoutSeconds",
        ),
    ] {
        let r = w
            .stack
            .preview(&w.program(with_pre_deploy(&w, pre_deploy)))
            .await
            .unwrap();
        assert!(!r.ok());
        let f = check_failures(&r, NAME);
        assert!(f.iter().any(|(p, _)| p == property), "{property}: {f:#?}");
    }
    let task = |inputs: Json| {
        Program::new()
            .config(w.env.provider_config())
            .resource(Resource::new(TASK, "migrate", inputs))
    };
    for (inputs, property) in [
        (
            json!({"cluster": "c", "taskDefinition": "arn:td", "command": []}),
            "command",
        ),
        (
            json!({"cluster": "c", "taskDefinition": "arn:td", "command": ["x"], "timeoutSeconds": 0}),
            "timeoutSeconds",
        ),
        (json!({"cluster": "c", "command": ["x"]}), "taskDefinition"),
    ] {
        let r = w.stack.preview(&task(inputs)).await.unwrap();
        assert!(!r.ok());
        let f = check_failures(&r, "migrate");
        assert!(f.iter().any(|(p, _)| p == property), "{property}: {f:#?}");
    }
    assert!(w.env.proxy.calls().is_empty(), "no AWS call at all");
}

#[tokio::test]
async fn the_task_resource_runs_on_create_again_on_new_triggers_or_image_and_not_otherwise() {
    let w = World::start().await;
    let mut service = w.inputs();
    service["containers"][0]["memory"] = json!(512);
    let inputs = |triggers: Json, timeout: u64| {
        json!({
            "cluster": service["cluster"],
            "containers": service["containers"],
            "cpu": 256,
            "memory": 512,
            "command": ["./migrate"],
            "networkConfiguration": service["networkConfiguration"],
            "triggers": triggers,
            "timeoutSeconds": timeout,
        })
    };
    let program = |i: Json| {
        Program::new()
            .config(w.env.provider_config())
            .resource(Resource::new(TASK, "migrate", i))
    };
    let outputs = || {
        w.stack
            .state()
            .unwrap()
            .by_name("migrate")
            .unwrap()
            .outputs
            .clone()
    };

    let p = w
        .stack
        .preview(&program(inputs(json!(["v1"]), 60)))
        .await
        .unwrap();
    p.assert_ok();
    assert!(messages_of(&p)
        .iter()
        .any(|m| m == &format!("will run `./migrate` on {}", w.first_digest)));
    assert!(w.env.writes().is_empty(), "preview runs nothing");

    let r = w
        .stack
        .up(&program(inputs(json!(["v1"]), 60)))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.op("migrate"), Some(Op::Create));
    assert_eq!(w.env.writes(), ["RegisterTaskDefinition", "RunTask"]);
    let first = outputs();
    assert_eq!(first["exitCode"], json!(0));
    assert!(first["taskArn"].as_str().unwrap().contains(":task/"));

    // No change: no run.
    w.env.proxy.clear_calls();
    let r = w
        .stack
        .up(&program(inputs(json!(["v1"]), 60)))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.op("migrate"), Some(Op::Same));
    assert!(w.env.proxy.calls().iter().all(|c| c.operation != "RunTask"));

    // Another time-out: recorded, no run.
    let r = w
        .stack
        .up(&program(inputs(json!(["v1"]), 90)))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.op("migrate"), Some(Op::Update));
    assert_eq!(run_count(&w), 0);
    assert_eq!(outputs()["taskArn"], first["taskArn"]);

    // New triggers: runs again.
    let r = w
        .stack
        .up(&program(inputs(json!(["v2"]), 90)))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(run_count(&w), 1);
    assert_ne!(outputs()["taskArn"], first["taskArn"]);

    // A new image: registers and runs again.
    let digest = move_tag(&w, "version two");
    w.env.proxy.clear_calls();
    let r = w
        .stack
        .up(&program(inputs(json!(["v2"]), 90)))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(
        w.env.writes(),
        ["RegisterTaskDefinition", "RunTask"],
        "{}",
        r.render()
    );
    assert!(outputs()["images"]["web"]
        .as_str()
        .unwrap()
        .ends_with(&digest));

    // FAULT INJECTION: the next run exits 2: a partial failure, recorded;
    // the next up runs it again although nothing changed.
    w.env.proxy.set_task_fate(TaskFate::Exit(2));
    let r = w
        .stack
        .up(&program(inputs(json!(["v3"]), 90)))
        .await
        .unwrap();
    assert!(!r.ok(), "{}", r.render());
    let error = r.step("migrate").unwrap().error.clone().unwrap();
    assert!(error.contains("exited with code 2"), "{error}");
    assert_eq!(outputs()["exitCode"], json!(2));
    w.env.proxy.set_task_fate(TaskFate::PassThrough);
    w.env.proxy.clear_calls();
    let r = w
        .stack
        .up(&program(inputs(json!(["v3"]), 90)))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.op("migrate"), Some(Op::Update));
    assert_eq!(run_count(&w), 1);
    assert_eq!(outputs()["exitCode"], json!(0));

    // Delete does nothing in AWS.
    w.env.proxy.clear_calls();
    let r = w.stack.destroy().await.unwrap();
    r.assert_ok();
    assert!(w.env.writes().is_empty(), "{:?}", w.env.writes());
}

fn messages_of(r: &Report) -> Vec<String> {
    r.logs
        .iter()
        .filter(|l| l.urn.ends_with("::migrate"))
        .map(|l| l.message.clone())
        .collect()
}
