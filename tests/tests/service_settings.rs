//! The ECS settings production services need (volumes, labels, ulimits,
//! Linux parameters, registries, managed tags, ...) through the engine's
//! life cycle: a reordered map or a restated default is no change, a real
//! change names exactly its field in detailedDiff and makes only the AWS
//! writes it needs, and bad values are CheckFailures naming the property
//! and the valid values (writes counted at the ECS fault-injection proxy).

mod service_support;

use imagedeploy_tests::{fixture, output, Op, Program, Report, Resource};
use serde_json::{json, Value as Json};
use service_support::{diff_changes, messages, World, NAME};

fn with_settings(w: &World) -> Json {
    let mut v = w.inputs();
    v["volumes"] = json!([{"name": "scratch"}]);
    v["ephemeralStorage"] = json!({"sizeInGiB": 40});
    let web = &mut v["containers"][0];
    web["mountPoints"] = json!([{"sourceVolume": "scratch", "containerPath": "/scratch"}]);
    web["dockerLabels"] = json!({"com.example.team": "web", "com.example.tier": "front"});
    web["ulimits"] = json!([
        {"name": "nofile", "softLimit": 4096, "hardLimit": 65535},
        {"name": "core", "softLimit": 0, "hardLimit": 0}
    ]);
    web["linuxParameters"] =
        json!({"initProcessEnabled": true, "capabilities": {"drop": ["NET_RAW", "MKNOD"]}});
    v["serviceRegistries"] = json!([{"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1", "port": 8080}]);
    v["enableEcsManagedTags"] = json!(true);
    v
}

#[tokio::test]
async fn reordered_labels_and_restated_defaults_are_no_change_and_a_real_change_names_the_field() {
    let w = World::start().await;
    let base = with_settings(&w);
    w.up_ok(base.clone()).await;
    assert_eq!(w.registered().await, 1);

    // Same settings, written differently: the label map in another order,
    // lists ECS treats as sets reordered, ECS defaults stated.
    let mut restated = base.clone();
    let web = &mut restated["containers"][0];
    web["dockerLabels"] = json!({"com.example.tier": "front", "com.example.team": "web"});
    web["ulimits"] = json!([
        {"name": "core", "softLimit": 0, "hardLimit": 0},
        {"name": "nofile", "softLimit": 4096, "hardLimit": 65535}
    ]);
    web["mountPoints"][0]["readOnly"] = json!(false);
    web["linuxParameters"]["capabilities"]["drop"] = json!(["MKNOD", "NET_RAW"]);
    web["linuxParameters"]["swappiness"] = json!(60);
    restated["deploymentController"] = json!({"type": "ECS"});
    restated["availabilityZoneRebalancing"] = json!("ENABLED");
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

    // One real container change: detailedDiff names exactly that label,
    // the log names it without its value, and it is one new revision.
    let mut labelled = restated.clone();
    labelled["containers"][0]["dockerLabels"]["com.example.team"] = json!("payments");
    let p = w.preview_ok(labelled.clone()).await;
    assert_eq!(p.op(NAME), Some(Op::Update), "{}", p.render());
    let step = p.step(NAME).unwrap();
    let path = "containers[0].dockerLabels[\"com.example.team\"]";
    assert_eq!(step.changed_paths(), [path]);
    assert_eq!(step.detailed_diff[path], "UPDATE");
    assert!(
        messages(&p)
            .iter()
            .any(|m| m.contains("container web: dockerLabels[\"com.example.team\"] changed")),
        "{:#?}",
        messages(&p)
    );
    assert!(
        !messages(&p).iter().any(|m| m.contains("payments")),
        "label values are not logged"
    );
    w.env.proxy.clear_calls();
    let r = w.up_ok(labelled.clone()).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(
        w.env.writes(),
        [
            "RegisterTaskDefinition",
            "UpdateService",
            "DeregisterTaskDefinition"
        ]
    );
    assert_eq!(w.registered().await, 2);
    let register = w
        .env
        .proxy
        .calls()
        .into_iter()
        .find(|c| c.operation == "RegisterTaskDefinition")
        .unwrap();
    assert_eq!(
        register.request["containerDefinitions"][0]["dockerLabels"]["com.example.team"],
        "payments"
    );
    assert_eq!(register.request["ephemeralStorage"]["sizeInGiB"], 40);

    // A service-level setting: UpdateService only, no new revision.
    let mut untagged = labelled.clone();
    untagged["enableEcsManagedTags"] = json!(false);
    let p = w.preview_ok(untagged.clone()).await;
    assert_eq!(
        p.step(NAME).unwrap().changed_paths(),
        ["enableEcsManagedTags"]
    );
    w.env.proxy.clear_calls();
    w.up_ok(untagged.clone()).await;
    assert_eq!(w.env.writes(), ["UpdateService"]);
    let update = w
        .env
        .proxy
        .calls()
        .into_iter()
        .find(|c| c.operation == "UpdateService")
        .unwrap();
    assert_eq!(update.request["enableECSManagedTags"], false);
    assert!(
        update.request.get("serviceRegistries").is_none(),
        "unchanged registries are not sent (sending them starts a deployment): {}",
        update.request
    );
    assert_eq!(w.registered().await, 2);

    // And then nothing again.
    w.env.proxy.clear_calls();
    let r = w.up_ok(untagged).await;
    assert_eq!(r.op(NAME), Some(Op::Same));
    assert!(w.env.writes().is_empty(), "{:?}", w.env.writes());
}

/// `(property, reason)` of every CheckFailure the service's Check returned.
fn failures(r: &Report) -> Vec<(String, String)> {
    r.calls_for("Check", NAME)
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
async fn bad_settings_are_check_failures_with_the_valid_values_before_any_aws_call() {
    let w = World::start().await;
    let base = with_settings(&w);
    type Edit = fn(&mut Json);
    let cases: Vec<(Edit, &str, &str)> = vec![
        (
            |v| v["containers"][0]["ulimits"][0]["name"] = json!("nofiles"),
            "containers[0].ulimits[0].name",
            "\"nofile\"",
        ),
        (
            |v| v["containers"][0]["linuxParameters"]["capabilities"]["add"] = json!(["NET_ADMIN"]),
            "containers[0].linuxParameters.capabilities.add[0]",
            "valid values on Fargate: SYS_PTRACE",
        ),
        (
            |v| v["containers"][0]["mountPoints"][0]["sourceVolume"] = json!("scratc"),
            "containers[0].mountPoints[0].sourceVolume",
            "valid values: \"scratch\"",
        ),
        (
            |v| v["availabilityZoneRebalancing"] = json!("ON"),
            "availabilityZoneRebalancing",
            "\"ENABLED\", \"DISABLED\"",
        ),
        (
            |v| v["placementStrategy"] = json!([{"type": "binpack", "field": "memory"}]),
            "placementStrategy",
            "not supported on Fargate",
        ),
    ];
    for (edit, property, reason) in cases {
        let mut inputs = base.clone();
        edit(&mut inputs);
        let r = w.stack.preview(&w.program(inputs)).await.unwrap();
        assert!(!r.ok(), "{property}: must fail\n{}", r.render());
        let f = failures(&r);
        assert!(
            f.iter()
                .any(|(p, why)| p == property && why.contains(reason)),
            "expected a CheckFailure on {property} mentioning {reason:?}, got {f:#?}"
        );
    }
    assert!(
        w.env.proxy.calls().is_empty(),
        "no AWS call at all: {:?}",
        w.env
            .proxy
            .calls()
            .iter()
            .map(|c| &c.operation)
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn registry_credentials_with_a_role_made_in_the_same_program_pass_preview() {
    let w = World::start().await;
    let stack = w.env.deployment().unwrap().with_fixture();
    // The role and the secret exist; this preview changes both, so their
    // outputs are unknown (the fixture reports `generation` unknown in an
    // update preview) when the Service is checked.
    let fixtures = |value: &str| {
        Program::new()
            .config(w.env.provider_config())
            .resource(fixture("role", json!({ "value": value })))
            .resource(fixture("secret", json!({ "value": value })))
    };
    stack.up(&fixtures("v1")).await.unwrap().assert_ok();
    let program = |role: Option<Json>| {
        let mut inputs = with_settings(&w);
        inputs["containers"][0]["repositoryCredentials"] =
            json!({"credentialsParameter": output("secret", "generation")});
        if let Some(role) = role {
            inputs["executionRoleArn"] = role;
        }
        fixtures("v2").resource(Resource::new(service_support::SERVICE, NAME, inputs))
    };
    let r = stack
        .preview(&program(Some(output("role", "generation"))))
        .await
        .unwrap();
    assert!(r.ok(), "{}", r.render());
    assert!(failures(&r).is_empty(), "{:#?}", failures(&r));
    // Without any execution role it is one, on executionRoleArn.
    let r = stack.preview(&program(None)).await.unwrap();
    assert!(!r.ok());
    assert!(
        failures(&r).iter().any(|(p, why)| p == "executionRoleArn"
            && why.contains("containers[0].repositoryCredentials needs executionRoleArn")),
        "{:#?}",
        failures(&r)
    );
}
