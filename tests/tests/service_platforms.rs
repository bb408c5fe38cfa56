//! A Service on a multi-platform image (an OCI image index) through the
//! engine's life cycle: each container is pinned to the index's child for
//! the service's own platform (`runtimePlatform.cpuArchitecture`), so an
//! index that moved only in its other children is no change to the service,
//! and an index without the service's platform fails preview on the
//! container's image property. Indexes are pushed to a real registry with
//! skopeo and read back with skopeo (a client independent of ours).

mod service_support;

use imagedeploy_tests::promise::images::{push_multi_platform_image, MultiPlatform};
use imagedeploy_tests::{Op, Report};
use serde_json::{json, Value as Json};
use service_support::{diff_changes, messages, World, NAME};

const AMD64: &str = "linux/amd64";
const ARM64: &str = "linux/arm64/v8";

/// `app:multi` with an amd64 and an arm64 child of the given contents.
fn push_multi(w: &World, amd64: &str, arm64: &str) -> MultiPlatform {
    push_multi_platform_image(
        &w.registry.address(),
        "app",
        "multi",
        &[(AMD64, amd64), (ARM64, arm64)],
    )
    .unwrap_or_else(|e| panic!("{e:#}"))
}

fn repo(w: &World) -> String {
    format!("{}/app", w.registry.address())
}

fn child(image: &MultiPlatform, platform: &str) -> String {
    image
        .children
        .get(platform)
        .cloned()
        .unwrap_or_else(|| panic!("no {platform} child in {image:?}"))
}

/// The default inputs with `image`, on `architecture` when given.
fn inputs(w: &World, image: &str, architecture: Option<&str>) -> Json {
    let mut inputs = w.env.service_inputs(&json!(image));
    if let Some(architecture) = architecture {
        inputs["runtimePlatform"] = json!({"cpuArchitecture": architecture});
    }
    inputs
}

fn task_definition(w: &World) -> String {
    w.state().outputs["taskDefinitionArn"]
        .as_str()
        .expect("taskDefinitionArn output")
        .to_string()
}

fn step_error(r: &Report) -> String {
    r.step(NAME)
        .and_then(|s| s.error.clone())
        .unwrap_or_else(|| r.errors.join("\n"))
}

#[tokio::test]
async fn an_x86_service_runs_the_amd64_child_of_an_index_by_tag_or_by_digest() {
    let w = World::start().await;
    let image = push_multi(&w, "one", "one for arm");
    let amd64 = format!("{}@{}", repo(&w), child(&image, AMD64));
    let tag = format!("{}:multi", repo(&w));

    // Preview already shows the child, not the index.
    let p = w.preview_ok(inputs(&w, &tag, None)).await;
    assert_eq!(p.op(NAME), Some(Op::Create), "{}", p.render());
    assert_eq!(p.step(NAME).unwrap().outputs["images"]["web"], json!(amd64));

    let r = w.up_ok(inputs(&w, &tag, None)).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    let st = w.state();
    assert_eq!(st.outputs["images"]["web"], json!(amd64));
    assert_eq!(
        w.env.images_of(&task_definition(&w)).await.unwrap(),
        vec![amd64.clone()],
        "the task definition names the amd64 child"
    );
    assert!(
        st.outputs["pullBytes"]["web"]
            .as_u64()
            .is_some_and(|b| b > 0),
        "pullBytes of the child: {}",
        st.outputs["pullBytes"]
    );

    // The index named by its digest pins the same child: no change.
    let by_digest = format!("{}@{}", repo(&w), image.index);
    w.env.proxy.clear_calls();
    let p = w.preview_ok(inputs(&w, &by_digest, None)).await;
    assert_eq!(p.op(NAME), Some(Op::Same), "{}", p.render());
    let r = w.up_ok(inputs(&w, &by_digest, None)).await;
    assert_eq!(r.op(NAME), Some(Op::Same), "{}", r.render());
    assert!(w.env.writes().is_empty(), "writes: {:?}", w.env.writes());
    assert_eq!(w.state().outputs["images"]["web"], json!(amd64));
    assert_eq!(w.registered().await, 1);
}

#[tokio::test]
async fn an_index_that_moved_only_in_its_arm64_child_is_no_change_to_an_x86_service() {
    let w = World::start().await;
    let tag = format!("{}:multi", repo(&w));
    let first = push_multi(&w, "one", "one for arm");
    w.up_ok(inputs(&w, &tag, None)).await;
    let td = task_definition(&w);

    let second = push_multi(&w, "one", "two for arm");
    assert_ne!(second.index, first.index, "the index moved");
    assert_eq!(child(&second, AMD64), child(&first, AMD64));
    assert_ne!(child(&second, ARM64), child(&first, ARM64));

    w.env.proxy.clear_calls();
    let p = w.preview_ok(inputs(&w, &tag, None)).await;
    assert_eq!(p.op(NAME), Some(Op::Same), "{}", p.render());
    assert_eq!(diff_changes(&p), json!(1), "Diff says no change");
    let r = w.up_ok(inputs(&w, &tag, None)).await;
    assert_eq!(r.op(NAME), Some(Op::Same), "{}", r.render());
    assert!(w.env.writes().is_empty(), "writes: {:?}", w.env.writes());
    assert_eq!(w.registered().await, 1, "no new revision");
    assert_eq!(task_definition(&w), td);
}

#[tokio::test]
async fn an_arm64_service_follows_the_arm64_child_of_the_same_index() {
    let w = World::start().await;
    let tag = format!("{}:multi", repo(&w));
    let first = push_multi(&w, "one", "one for arm");
    let r = w.up_ok(inputs(&w, &tag, Some("ARM64"))).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    let arm_1 = format!("{}@{}", repo(&w), child(&first, ARM64));
    assert_eq!(w.state().outputs["images"]["web"], json!(arm_1));
    assert_eq!(
        w.env.images_of(&task_definition(&w)).await.unwrap(),
        vec![arm_1]
    );

    // The amd64 child alone moving is no change here either.
    let amd_moved = push_multi(&w, "two", "one for arm");
    assert_eq!(child(&amd_moved, ARM64), child(&first, ARM64));
    let p = w.preview_ok(inputs(&w, &tag, Some("ARM64"))).await;
    assert_eq!(p.op(NAME), Some(Op::Same), "{}", p.render());

    // The arm64 child moving is one new revision, with its reason.
    let second = push_multi(&w, "two", "two for arm");
    let p = w.preview_ok(inputs(&w, &tag, Some("ARM64"))).await;
    assert_eq!(p.op(NAME), Some(Op::Update), "{}", p.render());
    assert_eq!(
        p.step(NAME).unwrap().changed_paths(),
        ["containers[0].image"]
    );
    let reason = format!(
        "container web: {tag} moved {} -> {}",
        child(&first, ARM64),
        child(&second, ARM64)
    );
    assert!(
        messages(&p).contains(&reason),
        "expected {reason:?} in {:#?}",
        messages(&p)
    );
    let r = w.up_ok(inputs(&w, &tag, Some("ARM64"))).await;
    assert_eq!(r.op(NAME), Some(Op::Update));
    assert_eq!(w.registered().await, 2);
    let arm_2 = format!("{}@{}", repo(&w), child(&second, ARM64));
    assert_eq!(
        w.env.images_of(&task_definition(&w)).await.unwrap(),
        vec![arm_2]
    );
}

#[tokio::test]
async fn an_index_without_the_service_platform_fails_preview_on_the_image_property() {
    let w = World::start().await;
    let arm_only =
        push_multi_platform_image(&w.registry.address(), "app", "arm", &[(ARM64, "only arm")])
            .unwrap_or_else(|e| panic!("{e:#}"));
    let tag = format!("{}:arm", repo(&w));
    let by_digest = format!("{}@{}", repo(&w), arm_only.index);

    for image in [&tag, &by_digest] {
        let r = w
            .stack
            .preview(&w.program(inputs(&w, image, None)))
            .await
            .expect("preview runs");
        assert!(!r.ok(), "preview must fail: {}", r.render());
        let error = step_error(&r);
        for needed in [
            "containers[0].image",
            image.as_str(),
            "linux/amd64",
            "linux/arm64/v8",
            "X86_64",
            "`platforms`",
            "`runtimePlatform.cpuArchitecture` to ARM64",
        ] {
            assert!(error.contains(needed), "{needed:?} missing from: {error}");
        }
    }
    assert!(
        w.env.writes().is_empty(),
        "no AWS write: {:?}",
        w.env.writes()
    );

    // The fix the error names: the service runs on ARM64.
    let r = w.up_ok(inputs(&w, &tag, Some("ARM64"))).await;
    assert_eq!(r.op(NAME), Some(Op::Create));
    assert_eq!(
        w.state().outputs["images"]["web"],
        json!(format!("{}@{}", repo(&w), child(&arm_only, ARM64)))
    );
}

/// The whole program: an Image built for two platforms (FROM scratch, one
/// file per architecture) feeding an x86 Service and an ARM64 Service
/// through `image.ref`. A change only the arm64 build reads moves the
/// index: preview (which builds the Image without pushing it) and up both
/// leave the x86 service alone and update the ARM64 one.
#[tokio::test]
async fn an_image_built_for_two_platforms_redeploys_only_the_service_of_the_changed_one() {
    use imagedeploy_tests::{output, Program, Resource};
    let w = World::start().await;
    let ctx = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| std::fs::write(ctx.path().join(name), text).unwrap();
    write(
        "Dockerfile",
        "FROM scratch\nARG TARGETARCH\nCOPY app-${TARGETARCH} /app\nCMD [\"/app\"]\n",
    );
    write("app-amd64", "amd64 v1\n");
    write("app-arm64", "arm64 v1\n");
    let service = |name: &str, architecture: &str| {
        let mut inputs = w.env.service_inputs(&output("app", "ref"));
        inputs["name"] = json!(name);
        inputs["runtimePlatform"] = json!({"cpuArchitecture": architecture});
        Resource::new("imagedeploy:index:Service", name, inputs)
    };
    let program = Program::new()
        .config(w.env.provider_config())
        .resource(Resource::new(
            "imagedeploy:index:Image",
            "app",
            json!({
                "context": {"location": ctx.path().to_string_lossy()},
                "tags": [format!("{}/multi-app:latest", w.registry.address())],
                "builder": {"kind": "buildah"},
                "platforms": ["linux/amd64", "linux/arm64"],
            }),
        ))
        .resource(service("x86", "X86_64"))
        .resource(service("graviton", "ARM64"));
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    let outputs = |name: &str| {
        w.stack
            .state()
            .unwrap()
            .by_name(name)
            .unwrap_or_else(|| panic!("{name} in state"))
            .outputs
            .clone()
    };
    let image = outputs("app");
    let pinned = |platform: &str| {
        format!(
            "{}/multi-app@{}",
            w.registry.address(),
            image["platformDigests"][platform].as_str().unwrap()
        )
    };
    assert_eq!(
        outputs("x86")["images"]["web"],
        json!(pinned("linux/amd64"))
    );
    assert_eq!(
        outputs("graviton")["images"]["web"],
        json!(pinned("linux/arm64"))
    );
    let x86_revision = outputs("x86")["taskDefinitionArn"].clone();

    write("app-arm64", "arm64 v2\n");
    let preview = w.stack.preview(&program).await.unwrap();
    preview.assert_ok();
    assert_eq!(preview.op("app"), Some(Op::Update));
    assert_eq!(preview.op("x86"), Some(Op::Same), "{}", preview.render());
    assert_eq!(
        preview.op("graviton"),
        Some(Op::Update),
        "{}",
        preview.render()
    );
    let up = w.stack.up(&program).await.unwrap();
    up.assert_ok();
    assert_eq!(up.op("x86"), Some(Op::Same));
    assert_eq!(up.op("graviton"), Some(Op::Update));
    assert_eq!(outputs("x86")["taskDefinitionArn"], x86_revision);
    let image = outputs("app");
    assert_eq!(
        outputs("graviton")["images"]["web"],
        json!(format!(
            "{}/multi-app@{}",
            w.registry.address(),
            image["platformDigests"]["linux/arm64"].as_str().unwrap()
        ))
    );
}
