//! Garbage in Check (wrong types, unknown properties, missing required ones)
//! must come back as CheckFailures naming each property, for every resource
//! type, and never crash the provider. Image and Service exist in the schema
//! before their implementation lands: their Create must fail clearly.

mod schema_cases;

use std::time::Duration;

use schema_cases::{leaves, set, show, Leaf, Step};

use imagedeploy_tests::rpc::Calls;
use imagedeploy_tests::{
    provider_bin, values, Deployment, FakeEngine, LaunchOptions, Op, Plugin, Program, Resource,
    FIXTURE_TYPE,
};
use pulumi_gestalt_proto::pulumi::pulumirpc::{CheckFailure, ConfigureRequest};
use serde_json::{json, Value as Json};

const IMAGE: &str = "imagedeploy:index:Image";
const SERVICE: &str = "imagedeploy:index:Service";

struct Provider {
    _engine: FakeEngine,
    _plugin: Plugin,
    calls: Calls,
}

async fn provider() -> Provider {
    let engine = FakeEngine::start().await.unwrap();
    let mut o = LaunchOptions::new(provider_bin().expect("provider binary built"));
    o.engine_address = Some(engine.address());
    o.env
        .push(("IMAGEDEPLOY_TEST_RESOURCES".into(), "1".into()));
    let plugin = Plugin::start(&o).await.unwrap();
    let mut calls = Calls::new(plugin.client(), Duration::from_secs(60));
    calls
        .configure(ConfigureRequest {
            args: Some(values::to_struct(&json!({"region": "us-east-1"}))),
            accept_secrets: true,
            accept_resources: true,
            sends_old_inputs: true,
            sends_old_inputs_to_delete: true,
            ..Default::default()
        })
        .await
        .expect("Configure");
    Provider {
        _engine: engine,
        _plugin: plugin,
        calls,
    }
}

fn urn(type_token: &str) -> String {
    format!("urn:pulumi:dev::harness::{type_token}::r")
}

async fn failures(p: &mut Provider, type_token: &str, news: Json) -> Vec<CheckFailure> {
    let r = p
        .calls
        .check(
            &urn(type_token),
            "r",
            type_token,
            &json!({}),
            &news,
            &[7; 32],
        )
        .await
        .unwrap_or_else(|e| panic!("Check on {type_token} must answer with failures, not {e}"));
    r.failures
}

#[track_caller]
fn assert_names(failures: &[CheckFailure], expected: &[&str], what: &str) {
    for p in expected {
        let hit = failures.iter().any(|f| {
            f.property == *p
                || f.property.starts_with(&format!("{p}."))
                || f.property.starts_with(&format!("{p}["))
        });
        assert!(
            hit,
            "{what}: no CheckFailure naming {p:?}; got {failures:?}"
        );
    }
    for f in failures {
        assert!(!f.reason.trim().is_empty(), "{what}: empty reason in {f:?}");
    }
}

#[tokio::test]
async fn fixture_garbage_gives_a_failure_per_property() {
    let mut p = provider().await;
    let f = failures(
        &mut p,
        FIXTURE_TYPE,
        json!({"value": 42, "tags": "not a map", "createError": "yes", "bogus": 1}),
    )
    .await;
    assert_names(
        &f,
        &["value", "tags", "createError", "bogus"],
        "wrong types",
    );
    let f = failures(&mut p, FIXTURE_TYPE, json!({})).await;
    assert_names(&f, &["value"], "missing required");
    let f = failures(
        &mut p,
        FIXTURE_TYPE,
        json!({"value": "v", "tags": {"k": 5}}),
    )
    .await;
    assert_names(&f, &["tags"], "nested wrong type");
    let f = failures(
        &mut p,
        FIXTURE_TYPE,
        json!({"value": [[[[{"deep": null}]]]], "secretValue": values::secret(json!(1e300))}),
    )
    .await;
    assert_names(&f, &["value", "secretValue"], "odd shapes");
    // Still alive and answering.
    p.calls
        .get_schema()
        .await
        .expect("provider survived garbage");
}

#[tokio::test]
async fn image_garbage_gives_a_failure_per_property() {
    let mut p = provider().await;
    let f = failures(
        &mut p,
        IMAGE,
        json!({"context": 42, "push": "yes", "tags": "not-a-list", "bogusProp": true}),
    )
    .await;
    assert_names(
        &f,
        &["context", "push", "tags", "bogusProp"],
        "Image wrong types",
    );
    let f = failures(&mut p, IMAGE, json!({})).await;
    assert_names(&f, &["context"], "Image missing required");
    let f = failures(&mut p, IMAGE, json!({"context": {"location": 5}})).await;
    assert_names(&f, &["context"], "Image nested wrong type");
    p.calls
        .get_schema()
        .await
        .expect("provider survived garbage");
}

#[tokio::test]
async fn service_garbage_gives_a_failure_per_property() {
    let mut p = provider().await;
    let f = failures(
        &mut p,
        SERVICE,
        json!({"cluster": 5, "containers": "nope", "launchType": 7, "bogusProp": 1}),
    )
    .await;
    assert_names(
        &f,
        &["cluster", "containers", "launchType", "bogusProp"],
        "Service wrong types",
    );
    let f = failures(&mut p, SERVICE, json!({})).await;
    assert_names(&f, &["cluster", "containers"], "Service missing required");
    let f = failures(
        &mut p,
        SERVICE,
        json!({"cluster": "c", "containers": [{"name": 1, "image": true}]}),
    )
    .await;
    assert_names(&f, &["containers"], "Service nested wrong type");
    p.calls
        .get_schema()
        .await
        .expect("provider survived garbage");
}

/// Create with inputs that cannot work here (a base image on a port nothing
/// listens on, an ECS endpoint nothing answers) must fail with a clear error:
/// no fake success, nothing recorded. Before the Image and Service
/// implementations landed this was their "not implemented yet" error.
#[tokio::test]
async fn image_and_service_create_fail_clearly_without_fake_success() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM 127.0.0.1:{closed}/nothing/base:1\n"),
    )
    .unwrap();
    let cases = [
        (
            IMAGE,
            json!({
                "context": {"location": ctx.path().to_string_lossy()},
                "push": false,
                "builder": {"kind": "buildah"},
            }),
        ),
        (
            SERVICE,
            json!({
                "cluster": "c",
                "containers": [{"name": "app", "image": format!("127.0.0.1:{closed}/app:1")}],
            }),
        ),
    ];
    let config = json!({
        "region": "us-east-1",
        "skipCredentialsValidation": true,
        "endpoints": {
            "ecs": format!("http://127.0.0.1:{closed}"),
            "ecr": format!("http://127.0.0.1:{closed}"),
        },
    });
    let d = Deployment::new()
        .unwrap()
        .with_fixture()
        .with_env("AWS_ACCESS_KEY_ID", "testing")
        .with_env("AWS_SECRET_ACCESS_KEY", "testing")
        .with_env("AWS_EC2_METADATA_DISABLED", "true")
        .with_rpc_timeout(Duration::from_secs(300));
    for (ty, inputs) in cases {
        let r = d
            .up(&Program::new()
                .config(config.clone())
                .resource(Resource::new(ty, "r", inputs)))
            .await
            .unwrap();
        assert!(!r.ok(), "{ty}: up must fail here:\n{}", r.render());
        let step = r.step("r").expect("a step for r");
        assert_eq!(step.op, Op::Create);
        let err = step.error.clone().unwrap_or_default();
        assert!(
            err.len() > 20,
            "{ty}: the error should say what went wrong: {err:?}"
        );
        assert!(
            r.calls("Create").iter().all(|c| c.response.is_err()),
            "{ty}: no Create may report success"
        );
        assert!(
            d.state().unwrap().by_name("r").is_none(),
            "{ty}: nothing in state"
        );
        eprintln!("{ty} failed as expected: {err}");
    }
}

/// Issue 19, findings 6 and 7: a Dockerfile or ignore file path that points
/// at a FIFO, a device, a directory or a file that is not text fails Check
/// at once, on its property, without the content; and the plugin answers
/// the next call.
#[tokio::test]
async fn dockerfile_paths_to_fifos_devices_and_proc_files_fail_at_once() {
    let mut p = provider().await;
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("Dockerfile"), "FROM scratch\n").unwrap();
    let fifo = dir.path().join("Dockerfile.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let big = dir.path().join("Dockerfile.big");
    std::fs::write(&big, vec![b'#'; (1 << 20) + 1]).unwrap();
    let cases = [
        (fifo.to_string_lossy().to_string(), "FIFO"),
        ("/dev/zero".to_string(), "character device"),
        ("/dev/urandom".to_string(), "character device"),
        (dir.path().to_string_lossy().to_string(), "directory"),
        ("/proc/self/environ".to_string(), "not a text file"),
        (big.to_string_lossy().to_string(), "1 MiB"),
    ];
    for (location, expected) in cases {
        let news = json!({
            "context": {"location": ctx.to_string_lossy()},
            "dockerfile": {"location": location},
            "push": false,
            "builder": {"kind": "buildah"},
        });
        let f = tokio::time::timeout(Duration::from_secs(30), failures(&mut p, IMAGE, news))
            .await
            .unwrap_or_else(|_| panic!("Check with dockerfile.location {location} hung"));
        let failure = f
            .iter()
            .find(|f| f.property == "dockerfile.location")
            .unwrap_or_else(|| panic!("{location}: no failure on dockerfile.location: {f:?}"));
        assert!(
            failure.reason.contains(expected),
            "{location}: {:?} should say {expected:?}",
            failure.reason
        );
        // Nothing of the environment is echoed.
        for (key, _) in std::env::vars() {
            if key.len() >= 6 {
                assert!(!failure.reason.contains(&key), "{location}: {failure:?}");
            }
        }
    }
    // An ignore file that is a FIFO: reported on the context, no hang.
    let fifo_ignore = ctx.join(".dockerignore");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo_ignore)
        .status()
        .unwrap();
    assert!(made.success());
    let news = json!({"context": {"location": ctx.to_string_lossy()}, "push": false, "builder": {"kind": "buildah"}});
    let f = tokio::time::timeout(Duration::from_secs(30), failures(&mut p, IMAGE, news))
        .await
        .expect("Check with a FIFO .dockerignore hung");
    assert!(
        f.iter()
            .any(|f| f.property == "context.location" && f.reason.contains("FIFO")),
        "{f:?}"
    );
    tokio::time::timeout(Duration::from_secs(10), p.calls.get_schema())
        .await
        .expect("GetSchema after the FIFO cases hung")
        .expect("GetSchema");
}

/// "No RPC can block another": while a Check waits on a registry that
/// accepts connections and never answers, GetSchema and another Check
/// still answer at once.
#[tokio::test]
async fn get_schema_answers_while_a_check_is_slow() {
    let p = provider().await;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Accept and hold connections without a word.
    let _held = std::thread::spawn(move || {
        let mut kept = Vec::new();
        for stream in silent.incoming().flatten() {
            kept.push(stream);
        }
    });
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM 127.0.0.1:{port}/slow/base:1\n"),
    )
    .unwrap();
    let mut slow_calls = Calls::new(p._plugin.client(), Duration::from_secs(600));
    let news = json!({"context": {"location": ctx.path().to_string_lossy()}, "push": false, "builder": {"kind": "buildah"}});
    let slow = tokio::spawn(async move {
        slow_calls
            .check(&urn(IMAGE), "r", IMAGE, &json!({}), &news, &[7; 32])
            .await
            .is_ok()
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut calls = Calls::new(p._plugin.client(), Duration::from_secs(60));
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), calls.get_schema())
        .await
        .expect("GetSchema waited for the slow Check")
        .expect("GetSchema");
    let f = tokio::time::timeout(
        Duration::from_secs(10),
        failures_with(&mut calls, FIXTURE_TYPE, json!({})),
    )
    .await
    .expect("another Check waited for the slow one");
    assert!(!f.is_empty());
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        !slow.is_finished(),
        "the Check on a silent registry must still be waiting, or this test shows nothing"
    );
    slow.abort();
}

async fn failures_with(calls: &mut Calls, type_token: &str, news: Json) -> Vec<CheckFailure> {
    calls
        .check(
            &urn(type_token),
            "r",
            type_token,
            &json!({}),
            &news,
            &[7; 32],
        )
        .await
        .expect("Check answers")
        .failures
}

/// Issue 19, finding 13, generated from the schema for every resource: a
/// null inside a list or a map, and a negative number in every integer
/// property, give CheckFailures naming the property path with a plain
/// message (no deserializer text, no empty property).
#[tokio::test]
async fn nulls_in_lists_and_maps_and_negative_numbers_name_their_property() {
    let mut p = provider().await;
    let schema: Json = serde_json::from_str(&p.calls.get_schema().await.unwrap()).unwrap();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let baselines = [
        (
            IMAGE,
            json!({"context": {"location": ctx.path().to_string_lossy()}, "push": false, "builder": {"kind": "buildah"}}),
        ),
        (
            SERVICE,
            json!({"cluster": "c", "containers": [{"name": "app", "image": "127.0.0.1:1/app:1"}]}),
        ),
        (
            "imagedeploy:index:Task",
            json!({"cluster": "c", "command": ["true"], "containers": [{"name": "app", "image": "127.0.0.1:1/app:1"}]}),
        ),
    ];
    let raw = [
        "invalid type:",
        "invalid value:",
        "missing field",
        "unknown variant",
        "at line",
        "expected u",
        "expected i",
    ];
    let (mut nulls, mut negatives) = (0, 0);
    for (token, baseline) in &baselines {
        let mut found = Vec::new();
        leaves(
            &schema,
            &schema["resources"][token]["inputProperties"],
            Vec::new(),
            0,
            &mut found,
        );
        let mut cases: Vec<(Json, String, &str)> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for (path, leaf) in &found {
            // The innermost list element or map value on the path: null.
            if let Some(cut) = path
                .iter()
                .rposition(|s| matches!(s, Step::Index) || matches!(s, Step::Key(k) if k == "K1"))
            {
                let container = &path[..=cut];
                let shown = show(container).trim_start_matches('.').to_string();
                if seen.insert(shown.clone()) {
                    let mut inputs = baseline.clone();
                    set(&mut inputs, container, Json::Null);
                    // A null list element: keep a list around it.
                    cases.push((inputs, shown, "null"));
                }
            }
            if matches!(leaf, Leaf::Integer | Leaf::Number) {
                let mut inputs = baseline.clone();
                set(&mut inputs, path, json!(-5));
                cases.push((
                    inputs,
                    show(path).trim_start_matches('.').to_string(),
                    "negative",
                ));
            }
        }
        for (inputs, path, kind) in cases {
            let f = failures(&mut p, token, inputs.clone()).await;
            for failure in &f {
                assert!(
                    !failure.property.is_empty(),
                    "{token} {path} ({kind}): a failure names no property: {failure:?}"
                );
                for marker in raw {
                    assert!(
                        !failure.reason.contains(marker),
                        "{token} {path} ({kind}): deserializer text in {failure:?}"
                    );
                }
            }
            if kind == "null" {
                nulls += 1;
                assert!(
                    f.iter()
                        .any(|x| x.property == path && x.reason.contains("null")),
                    "{token}: a null at {path} must fail on it: {f:?} (inputs {inputs})"
                );
            } else {
                negatives += 1;
            }
        }
    }
    eprintln!("{nulls} null cases, {negatives} negative number cases");
    assert!(
        nulls > 20 && negatives > 20,
        "{nulls} null cases, {negatives} negative ones"
    );
}

/// Nesting deeper than the framework's bound fails Check on the property,
/// with the bound in the message; the plugin stays up.
#[tokio::test]
async fn deeply_nested_values_fail_on_their_property() {
    let mut p = provider().await;
    // 40 levels: past the framework's bound of 32, short of protobuf's own
    // decoding limit (100 message levels, two per JSON level), which the
    // gRPC layer enforces before any property is known.
    let mut deep = json!("leaf");
    for _ in 0..40 {
        deep = json!([deep]);
    }
    let f = failures(
        &mut p,
        FIXTURE_TYPE,
        json!({"value": "v", "tags": {"k": deep.clone()}}),
    )
    .await;
    assert!(
        f.iter()
            .any(|x| x.property.starts_with("tags") && x.reason.contains("32 levels")),
        "{f:?}"
    );
    let f = failures(
        &mut p,
        SERVICE,
        json!({"cluster": "c", "containers": [{"name": "a", "image": "r/a:1", "environment": {"K": deep}}]}),
    )
    .await;
    assert!(
        f.iter()
            .any(|x| x.property.starts_with("containers[0]") && x.reason.contains("32 levels")),
        "{f:?}"
    );
    p.calls.get_schema().await.expect("still answering");
}

/// Past protobuf's own decoding limit (about 48 levels), Check still fails
/// on the property, not with an INTERNAL decode error naming none; a secret
/// wrapper is no level; the plugin stays up, and a normal Check after it
/// works.
#[tokio::test]
async fn values_nested_past_protobufs_limit_fail_on_their_property() {
    let mut p = provider().await;
    for levels in [60, 500] {
        let mut deep = json!("leaf");
        for _ in 0..levels {
            deep = json!([deep]);
        }
        let f = failures(
            &mut p,
            FIXTURE_TYPE,
            json!({"value": "v", "tags": {"k": values::secret(deep)}}),
        )
        .await;
        assert_eq!(f.len(), 1, "{levels} levels: {f:?}");
        let expected = format!("tags.k{}", "[0]".repeat(31));
        assert_eq!(f[0].property, expected, "{levels} levels");
        assert!(f[0].reason.contains("32 levels"), "{f:?}");
    }
    let f = failures(
        &mut p,
        SERVICE,
        json!({"cluster": "c", "containers": [{"name": "a", "image": "r/a:1", "environment": {"K": (0..80).fold(json!(1), |v, _| json!({"x": v}))}}]}),
    )
    .await;
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].property.starts_with("containers[0].environment.K.x.x"),
        "{f:?}"
    );
    let f = failures(&mut p, FIXTURE_TYPE, json!({"value": "v"})).await;
    assert!(f.is_empty(), "{f:?}");
    p.calls.get_schema().await.expect("still answering");
}

/// Values ECS would refuse in Create fail at Check instead: a negative
/// capacity provider weight, a negative cpu.
#[tokio::test]
async fn negative_weights_and_sizes_fail_at_check() {
    let mut p = provider().await;
    let f = failures(
        &mut p,
        SERVICE,
        json!({"cluster": "c", "cpu": -256, "containers": [{"name": "a", "image": "r/a:1"}]}),
    )
    .await;
    assert!(f.iter().any(|x| x.property == "cpu"), "{f:?}");
    let f = failures(
        &mut p,
        SERVICE,
        json!({
            "cluster": "c",
            "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": -1, "base": -2}],
            "containers": [{"name": "a", "image": "r/a:1", "portMappings": [{"containerPort": 80}, {"containerPort": -8080}]}],
        }),
    )
    .await;
    for property in [
        "capacityProviderStrategy[0].weight",
        "capacityProviderStrategy[0].base",
        "containers[0].portMappings[1].containerPort",
    ] {
        assert!(
            f.iter().any(|x| x.property == property),
            "no failure on {property}: {f:?}"
        );
    }
}
