//! Service behaviours 5 and 6 through the engine's life cycle: refresh
//! reports drift made outside the program (and a deleted service as gone);
//! destroy scales to zero, deletes, waits for INACTIVE and deregisters the
//! revisions the resource registered.

mod service_support;

use imagedeploy_tests::promise::ecs::CLUSTER;
use imagedeploy_tests::Op;
use serde_json::json;
use service_support::{messages, World, NAME};

fn service_name(w: &World) -> String {
    w.state().outputs["name"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn refresh_reports_drift_and_the_next_up_puts_it_back() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let name = service_name(&w);

    // Outside the program: someone scales the service.
    w.env
        .direct
        .update_service()
        .cluster(CLUSTER)
        .service(&name)
        .desired_count(3)
        .send()
        .await
        .unwrap();
    let r = w.stack.refresh().await.unwrap();
    r.assert_ok();
    let step = r.step(NAME).unwrap();
    assert_eq!(step.op, Op::Read);
    assert!(!step.removed);
    assert_eq!(step.changed_paths(), ["desiredCount"], "{}", r.render());
    assert!(
        messages(&r)
            .iter()
            .any(|m| m.contains("desiredCount 1 -> 3")),
        "{:#?}",
        messages(&r)
    );
    assert_eq!(w.state().outputs["desiredCount"], json!(3));

    // The program still says 1: the next up changes the service back,
    // without a new revision.
    w.env.proxy.clear_calls();
    let p = w.preview_ok(base.clone()).await;
    assert_eq!(p.step(NAME).unwrap().changed_paths(), ["desiredCount"]);
    w.up_ok(base.clone()).await;
    assert_eq!(w.env.writes(), ["UpdateService"]);
    let svc = w.env.service(&name).await.unwrap().unwrap();
    assert_eq!(svc.desired_count(), 1);
    assert_eq!(w.registered().await, 1);
}

#[tokio::test]
async fn refresh_sees_a_task_definition_swapped_outside_the_program() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let name = service_name(&w);
    let td1 = w.state().outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();

    // Outside the program: a hand-made revision with another image.
    let swapped = w
        .env
        .direct
        .register_task_definition()
        .family(format!("{}-manual", w.family()))
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .cpu("256")
        .memory("512")
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("web")
                .image("public.ecr.aws/nginx/nginx:latest")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let swapped_arn = swapped
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();
    w.env
        .direct
        .update_service()
        .cluster(CLUSTER)
        .service(&name)
        .task_definition(&swapped_arn)
        .send()
        .await
        .unwrap();

    let r = w.stack.refresh().await.unwrap();
    r.assert_ok();
    assert!(
        messages(&r)
            .iter()
            .any(|m| m.contains("task definition") && m.contains("changed outside the program")),
        "{:#?}",
        messages(&r)
    );
    assert_eq!(w.state().outputs["taskDefinitionArn"], json!(swapped_arn));

    // The next up puts the program's containers back. The revision this
    // resource registered for them is still ACTIVE, carries its mark and
    // holds exactly them: it is reused, nothing new is registered.
    let before = w.registered().await;
    let r = w.up_ok(base).await;
    assert_eq!(r.op(NAME), Some(Op::Update), "{}", r.render());
    assert!(r
        .step(NAME)
        .unwrap()
        .changed_paths()
        .contains(&"containers[0].image"));
    assert_eq!(w.registered().await, before);
    let td = w.state().outputs["taskDefinitionArn"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(td, td1);
    assert_eq!(
        w.env
            .service(&name)
            .await
            .unwrap()
            .unwrap()
            .task_definition(),
        Some(td.as_str())
    );
}

#[tokio::test]
async fn a_service_deleted_outside_the_program_is_gone_after_refresh() {
    let w = World::start().await;
    w.up_ok(w.inputs()).await;
    let name = service_name(&w);
    w.env
        .direct
        .delete_service()
        .cluster(CLUSTER)
        .service(&name)
        .force(true)
        .send()
        .await
        .unwrap();
    let r = w.stack.refresh().await.unwrap();
    r.assert_ok();
    assert!(r.step(NAME).unwrap().removed, "{}", r.render());
    assert!(w.stack.state().unwrap().by_name(NAME).is_none());

    // The next up creates it again (autonamed anew: nothing of the old
    // state is left, and the engine's seed is new per run).
    let r = w.up_ok(w.inputs()).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    let svc = w.env.service(&service_name(&w)).await.unwrap().unwrap();
    assert_eq!(svc.status(), Some("ACTIVE"));
}

#[tokio::test]
async fn destroy_scales_to_zero_deletes_waits_and_deregisters() {
    let w = World::start().await;
    let base = w.inputs();
    w.up_ok(base.clone()).await;
    let mut changed = base.clone();
    changed["containers"][0]["environment"]["MODE"] = json!("api");
    w.up_ok(changed).await;
    let name = service_name(&w);
    let family = w.family();
    assert_eq!(w.registered().await, 2);
    assert_eq!(w.env.active_revisions(&family).await.unwrap().len(), 1);

    w.env.proxy.clear_calls();
    let r = w.stack.destroy().await.unwrap();
    r.assert_ok();
    assert_eq!(r.op(NAME), Some(Op::Delete));
    assert_eq!(
        w.env.writes(),
        ["UpdateService", "DeleteService", "DeregisterTaskDefinition"]
    );
    let calls = w.env.proxy.calls();
    let scale = calls
        .iter()
        .find(|c| c.operation == "UpdateService")
        .unwrap();
    assert_eq!(scale.request["desiredCount"], json!(0));
    let delete = calls
        .iter()
        .position(|c| c.operation == "DeleteService")
        .unwrap();
    assert!(
        calls[delete..]
            .iter()
            .any(|c| c.operation == "DescribeServices"),
        "waits for INACTIVE after DeleteService"
    );
    match w.env.service(&name).await.unwrap() {
        None => {}
        Some(s) => assert_eq!(s.status(), Some("INACTIVE")),
    }
    assert!(w.env.active_revisions(&family).await.unwrap().is_empty());
    assert!(w.stack.state().unwrap().resources.is_empty());
}

#[tokio::test]
async fn destroy_of_a_service_already_deleted_outside_succeeds() {
    let w = World::start().await;
    w.up_ok(w.inputs()).await;
    let name = service_name(&w);
    let family = w.family();
    w.env
        .direct
        .delete_service()
        .cluster(CLUSTER)
        .service(&name)
        .force(true)
        .send()
        .await
        .unwrap();
    let r = w.stack.destroy().await.unwrap();
    r.assert_ok();
    assert!(w.env.active_revisions(&family).await.unwrap().is_empty());
}
