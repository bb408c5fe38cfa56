//! Service behaviours 2 and 3 through the engine's life cycle: the diff
//! compares containers the way ECS stores them, and each kind of change
//! makes exactly the AWS writes it needs (counted at the ECS
//! fault-injection proxy, revisions counted with ListTaskDefinitions).

mod service_support;

use imagedeploy_tests::Op;
use serde_json::json;
use service_support::{diff_changes, messages, World, NAME};

#[tokio::test]
async fn reordering_and_restating_defaults_is_no_change_and_the_diff_names_the_field() {
    let w = World::start().await;
    let mut base = w.inputs();
    base["containers"][0]["portMappings"] = json!([
        {"containerPort": 8080},
        {"containerPort": 9090, "protocol": "udp"},
    ]);
    base["containers"][0]["secrets"] = json!({
        "DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db",
        "API_KEY": "arn:aws:ssm:us-east-1:123456789012:parameter/api",
    });
    w.up_ok(base.clone()).await;
    assert_eq!(w.registered().await, 1);

    // Same containers, written differently: lists reordered, ECS defaults
    // stated (essential, tcp, hostPort = containerPort under awsvpc, one
    // task, circuit breaker with rollback, awsvpc, FARGATE).
    let mut restated = base.clone();
    restated["containers"][0]["portMappings"] = json!([
        {"containerPort": 9090, "hostPort": 9090, "protocol": "udp"},
        {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"},
    ]);
    restated["containers"][0]["environment"] = json!({"MODE": "web", "LOG_LEVEL": "info"});
    restated["containers"][0]["essential"] = json!(true);
    restated["desiredCount"] = json!(1);
    restated["networkMode"] = json!("awsvpc");
    restated["launchType"] = json!("FARGATE");
    restated["deploymentCircuitBreaker"] = json!({"enable": true, "rollback": true});
    w.env.proxy.clear_calls();
    let p = w.preview_ok(restated.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Same), "{}", p.render());
    assert_eq!(diff_changes(&p), json!(1), "DIFF_NONE");
    let r = w.up_ok(restated.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Same), "{}", r.render());
    assert!(
        w.env.writes().is_empty(),
        "no AWS write: {:?}",
        w.env.writes()
    );
    assert_eq!(w.registered().await, 1);

    // One real change: detailedDiff names exactly that field.
    let mut changed = restated.clone();
    changed["containers"][0]["environment"]["LOG_LEVEL"] = json!("debug");
    let p = w.preview_ok(changed.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Update), "{}", p.render());
    let step = p.step(NAME).unwrap();
    assert_eq!(
        step.changed_paths(),
        ["containers[0].environment.LOG_LEVEL"]
    );
    assert_eq!(
        step.detailed_diff["containers[0].environment.LOG_LEVEL"],
        "UPDATE"
    );
    assert!(
        messages(&p)
            .iter()
            .any(|m| m.contains("container web: environment.LOG_LEVEL changed")),
        "{:#?}",
        messages(&p)
    );
    assert!(
        !messages(&p).iter().any(|m| m.contains("debug")),
        "environment values are not logged"
    );
    let r = w.up_ok(changed).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(w.registered().await, 2);
}

#[tokio::test]
async fn each_kind_of_change_makes_exactly_the_writes_it_needs() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let family = w.family();
    let td1 = w.state().outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(w.registered().await, 1);

    // No change: no AWS write at all, in preview or up.
    w.env.proxy.clear_calls();
    w.preview_ok(base.clone()).await;
    let r = w.up_ok(base.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Same));
    assert_eq!(w.env.writes(), Vec::<String>::new());

    // Service-level only: UpdateService, no new revision.
    let mut scaled = base.clone();
    scaled["desiredCount"] = json!(2);
    scaled["deploymentConfiguration"] = json!({"minimumHealthyPercent": 50, "maximumPercent": 200});
    w.env.proxy.clear_calls();
    let p = w.preview_ok(scaled.clone()).await;
    assert_eq!(
        p.step(NAME).unwrap().changed_paths(),
        [
            "deploymentConfiguration.minimumHealthyPercent",
            "desiredCount"
        ]
    );
    let r = w.up_ok(scaled.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(w.env.writes(), ["UpdateService"]);
    assert_eq!(w.registered().await, 1);
    let svc = w
        .env
        .service(w.state().outputs["name"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(svc.desired_count(), 2);
    assert_eq!(svc.task_definition(), Some(td1.as_str()));
    assert_eq!(w.state().outputs["taskDefinitionArn"], json!(td1));

    // Container change: exactly one revision, UpdateService, then the
    // superseded revision is deregistered (after the rollout completed).
    let mut changed = scaled.clone();
    changed["containers"][0]["command"] = json!(["/content.txt", "--serve"]);
    w.env.proxy.clear_calls();
    let r = w.up_ok(changed.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(
        w.env.writes(),
        [
            "RegisterTaskDefinition",
            "UpdateService",
            "DeregisterTaskDefinition"
        ]
    );
    let calls = w.env.proxy.calls();
    let update = calls
        .iter()
        .position(|c| c.operation == "UpdateService")
        .unwrap();
    let waited = calls
        .iter()
        .skip(update)
        .position(|c| c.operation == "DescribeServices")
        .is_some_and(|i| {
            calls[update + i..]
                .iter()
                .any(|c| c.operation == "DeregisterTaskDefinition")
        });
    assert!(waited, "deregistered only after waiting for the rollout");
    let dereg = calls
        .iter()
        .find(|c| c.operation == "DeregisterTaskDefinition")
        .unwrap();
    assert_eq!(dereg.request["taskDefinition"], json!(td1));
    let td2 = w.state().outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(w.registered().await, 2);
    assert_eq!(w.env.active_revisions(&family).await.unwrap(), vec![td2]);
    assert_eq!(w.state().outputs["revision"], json!(2));

    // Task-level change: also exactly one revision.
    let mut bigger = changed.clone();
    bigger["memory"] = json!(1024);
    w.env.proxy.clear_calls();
    let p = w.preview_ok(bigger.clone()).await;
    assert_eq!(p.step(NAME).unwrap().changed_paths(), ["memory"]);
    w.up_ok(bigger.clone()).await;
    assert_eq!(
        w.env.writes(),
        [
            "RegisterTaskDefinition",
            "UpdateService",
            "DeregisterTaskDefinition"
        ]
    );
    assert_eq!(w.registered().await, 3);
    assert_eq!(w.env.active_revisions(&family).await.unwrap().len(), 1);

    // And then nothing again.
    w.env.proxy.clear_calls();
    let r = w.up_ok(bigger).await;
    assert_eq!(r.op(NAME), Some(Op::Same));
    assert!(w.env.writes().is_empty(), "{:?}", w.env.writes());
}

#[tokio::test]
async fn a_cluster_change_replaces_the_service_create_before_delete() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let old = w.state();
    let name = old.outputs["name"].as_str().unwrap().to_string();
    w.env
        .direct
        .create_cluster()
        .cluster_name("e2e-other")
        .send()
        .await
        .unwrap();

    let mut moved = base.clone();
    moved["cluster"] = json!("e2e-other");
    let p = w.preview_ok(moved.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Replace), "{}", p.render());
    assert_eq!(p.step(NAME).unwrap().replaces, ["cluster"]);
    let r = w.up_ok(moved).await;
    assert_eq!(r.op(NAME), Some(Op::Replace));
    let new = w.state();
    assert_ne!(new.id, old.id);
    // The replacement's second Check has no olds and a seed the engine drew
    // for this run (`generateSteps`), so an autonamed service gets a new
    // name: the new one can run before the old one is deleted.
    let new_name = new.outputs["name"].as_str().unwrap().to_string();
    assert_ne!(new_name, name, "a replacement is autonamed anew");
    assert!(new_name.starts_with(NAME), "{new_name}");
    let svc = w
        .env
        .direct
        .describe_services()
        .cluster("e2e-other")
        .services(&new_name)
        .send()
        .await
        .unwrap();
    assert_eq!(svc.services()[0].status(), Some("ACTIVE"));
    match w.env.service(&name).await.unwrap() {
        None => {}
        Some(s) => assert_eq!(s.status(), Some("INACTIVE"), "the old service is deleted"),
    }
    // One revision in each family: the family follows the (new) name.
    assert_eq!(w.registered().await, 1);
    let old_family = old.outputs["family"].as_str().unwrap();
    assert_eq!(w.env.registered_revisions(old_family).await.unwrap(), 1);
    assert_eq!(
        w.env.active_revisions(&w.family()).await.unwrap(),
        vec![new.outputs["taskDefinitionArn"]
            .as_str()
            .unwrap()
            .to_string()]
    );
}
