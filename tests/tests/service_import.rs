//! The Service under the engine's import rule (`ImportStep.Apply`, then
//! `continueStepsFromImport`): Read with only an id adopts a running
//! service, and the program that created it then shows no change.

mod service_support;

use imagedeploy_tests::promise::ecs::CLUSTER;
use imagedeploy_tests::{Op, Program, Resource};
use serde_json::{json, Value as Json};
use service_support::{diff_changes, World, NAME, SERVICE};

fn adopting(w: &World, inputs: Json, id: &str) -> Program {
    Program::new()
        .config(w.env.provider_config())
        .resource(Resource::new(SERVICE, NAME, inputs).import(id))
}

/// A service created by the provider in one stack is imported into a second
/// stack with the same program, by `<cluster>/<service>` and by its ARN:
/// the import writes nothing to ECS, the Diff that follows finds no change,
/// and the next preview is Same. The adopted inputs are what ECS has.
#[tokio::test]
async fn a_service_is_imported_and_the_same_program_shows_no_change() {
    let w = World::start().await;
    let inputs = w.inputs();
    w.up_ok(inputs.clone()).await;
    let original = w.state();
    let name = original.outputs["name"].as_str().unwrap().to_string();
    let arn = original.outputs["arn"].as_str().unwrap().to_string();
    assert!(arn.starts_with("arn:aws:ecs:"), "{arn}");

    for id in [format!("{CLUSTER}/{name}"), arn.clone()] {
        let adopter = w.env.deployment().unwrap();
        w.env.proxy.clear_calls();
        let r = adopter
            .up(&adopting(&w, inputs.clone(), &id))
            .await
            .unwrap();
        r.assert_ok();
        assert_eq!(r.steps[0].op, Op::Import, "{}", r.render());
        let read = &r.calls_for("Read", NAME)[0];
        assert_eq!(read.req("import"), &json!(true), "Read with only an id");
        assert_eq!(
            diff_changes(&r),
            json!(1),
            "no change after import: {}",
            r.render()
        );
        let after: Vec<Op> = r.steps.iter().skip(1).map(|s| s.op).collect();
        assert_eq!(after, [Op::Same], "{}", r.render());
        assert!(w.env.writes().is_empty(), "{:?}", w.env.writes());

        let adopted = adopter.state().unwrap().by_name(NAME).unwrap().clone();
        for key in [
            "arn",
            "clusterArn",
            "taskDefinitionArn",
            "family",
            "revision",
            "images",
            "__containerDefinitions",
            "__taskSettings",
        ] {
            assert_eq!(adopted.outputs[key], original.outputs[key], "{key}");
        }
        assert_eq!(
            adopted.outputs["__registeredRevisions"],
            json!([original.outputs["taskDefinitionArn"]])
        );
        // What Read answered as inputs: the service as ECS has it.
        let read_inputs = &read.response.as_ref().unwrap()["inputs"];
        assert_eq!(read_inputs["cluster"], json!(CLUSTER));
        assert_eq!(read_inputs["name"], json!(name));
        assert_eq!(read_inputs["launchType"], json!("FARGATE"));
        assert_eq!(read_inputs["cpu"], json!(256));
        assert_eq!(read_inputs["memory"], json!(512));
        assert_eq!(read_inputs["desiredCount"], json!(1));
        assert_eq!(
            read_inputs["networkConfiguration"]["subnets"],
            inputs["networkConfiguration"]["subnets"]
        );
        let web = &read_inputs["containers"][0];
        assert_eq!(web["name"], json!("web"));
        assert_eq!(web["image"], original.outputs["images"]["web"]);
        assert_eq!(web["environment"], inputs["containers"][0]["environment"]);
        assert_eq!(web["portMappings"], json!([{"containerPort": 8080}]));

        let p = adopter.preview(&w.program(inputs.clone())).await.unwrap();
        p.assert_ok();
        assert_eq!(p.op(NAME), Some(Op::Same), "{}", p.render());
    }
}

/// A changed program after an import is an ordinary update of the adopted
/// service: one new revision for a changed environment variable.
#[tokio::test]
async fn an_imported_service_updates_like_one_the_program_created() {
    let w = World::start().await;
    let inputs = w.inputs();
    w.up_ok(inputs.clone()).await;
    let name = w.state().outputs["name"].as_str().unwrap().to_string();
    let adopter = w.env.deployment().unwrap();
    let mut changed = inputs.clone();
    changed["containers"][0]["environment"]["LOG_LEVEL"] = json!("debug");
    let r = adopter
        .preview(&adopting(&w, changed, &format!("{CLUSTER}/{name}")))
        .await
        .unwrap();
    r.assert_ok();
    assert_eq!(r.steps[0].op, Op::Import);
    let step = &r.steps[1];
    assert_eq!(step.op, Op::Update, "{}", r.render());
    assert_eq!(
        step.changed_paths(),
        ["containers[0].environment.LOG_LEVEL"],
        "{}",
        r.render()
    );
}

/// A wrong id names the expected forms; a service that does not exist is
/// "does not exist" (the engine's wording for a Read without outputs).
#[tokio::test]
async fn a_wrong_or_missing_service_id_is_refused_clearly() {
    let w = World::start().await;
    let adopter = w.env.deployment().unwrap();
    let r = adopter
        .preview(&adopting(&w, w.inputs(), "just-a-name"))
        .await
        .unwrap();
    assert!(!r.ok());
    let e = r.errors.join("\n");
    assert!(e.contains("<cluster>/<service>"), "{e}");

    let r = adopter
        .preview(&adopting(
            &w,
            w.inputs(),
            &format!("{CLUSTER}/nothing-here"),
        ))
        .await
        .unwrap();
    assert!(!r.ok());
    let e = r.errors.join("\n");
    assert!(e.contains("does not exist"), "{e}");
    assert!(adopter.state().unwrap().by_name(NAME).is_none());
}
