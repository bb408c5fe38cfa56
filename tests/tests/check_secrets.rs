//! No CheckFailure ever shows a secret value (issue 19, finding 2).
//!
//! The cases are generated from the published schema: every input leaf of
//! every resource (and of the provider configuration) gets a secret value
//! of the wrong type, a secret value of the right type that is wrong (a
//! negative number, a string no property accepts), the same inside a secret
//! top-level property, and a short secret; plus the hand-picked cases the
//! issue found leaking (a missing context directory, an endpoint URL, a
//! password without a user). Whatever Check answers, no failure's reason may
//! show the value.

use std::time::Duration;

mod schema_cases;

use imagedeploy_tests::rpc::Calls;
use imagedeploy_tests::{provider_bin, values, FakeEngine, LaunchOptions, Plugin};
use pulumi_gestalt_proto::pulumi::pulumirpc::{CheckFailure, ConfigureRequest};
use schema_cases::{leaves, set, show, top, Leaf};
use serde_json::{json, Value as Json};

struct Provider {
    _engine: FakeEngine,
    _plugin: Plugin,
    calls: Calls,
}

async fn provider() -> Provider {
    let engine = FakeEngine::start().await.unwrap();
    let mut o = LaunchOptions::new(provider_bin().expect("provider binary built"));
    o.engine_address = Some(engine.address());
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

/// A failure reason shows `value`: anywhere for values of four or more
/// characters, as a whole token for shorter ones (the masking rule).
fn shows(reason: &str, value: &str) -> bool {
    if value.chars().count() >= 4 {
        return reason.contains(value);
    }
    reason
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|token| token == value)
}

struct Case {
    what: String,
    inputs: Json,
    secret: String,
}

/// The generated cases for one resource's (or the config's) inputs.
fn cases(schema: &Json, props: &Json, baseline: &Json, counter: &mut u64) -> Vec<Case> {
    let mut found = Vec::new();
    leaves(schema, props, Vec::new(), 0, &mut found);
    let mut out = Vec::new();
    for (path, leaf) in found {
        let mut next = || {
            *counter += 1;
            *counter
        };
        let n = next();
        // Right type, wrong value; and the wrong type.
        let (bad_right_type, shown_right): (Json, String) = match leaf {
            Leaf::String => {
                let s = format!("zq{n}Secret Bad/Value::!");
                (json!(s), s)
            }
            Leaf::Integer | Leaf::Number => {
                let v = -(700_000_000_i64 + n as i64 * 7919);
                (json!(v), v.abs().to_string())
            }
            Leaf::Bool => (json!(true), String::new()),
        };
        let m = next();
        let (bad_type, shown_type): (Json, String) = match leaf {
            Leaf::String => {
                let v = 800_000_000_u64 + m * 7919;
                (json!(v), v.to_string())
            }
            _ => {
                let s = format!("zq{m}notanumber");
                (json!(s), s)
            }
        };
        for (label, value, shown) in [
            ("right type, bad value", bad_right_type, shown_right),
            ("wrong type", bad_type, shown_type),
        ] {
            if shown.is_empty() {
                continue;
            }
            let mut inputs = baseline.clone();
            set(&mut inputs, &path, values::secret(value.clone()));
            out.push(Case {
                what: format!("{} ({label}, secret leaf)", show(&path)),
                inputs,
                secret: shown.clone(),
            });
            // The same value inside a secret top-level property.
            let mut inputs = baseline.clone();
            set(&mut inputs, &path, value);
            let name = top(&path);
            if let Some(v) = inputs.get_mut(&name) {
                *v = values::secret(v.clone());
            }
            out.push(Case {
                what: format!("{} ({label}, inside secret {name})", show(&path)),
                inputs,
                secret: shown,
            });
        }
        if leaf == Leaf::String {
            let short = format!("q{}", n % 10);
            let mut inputs = baseline.clone();
            set(&mut inputs, &path, values::secret(json!(short)));
            out.push(Case {
                what: format!("{} (short secret)", show(&path)),
                inputs,
                secret: short,
            });
        }
    }
    out
}

#[track_caller]
fn assert_hidden(failures: &[CheckFailure], case: &Case) {
    for f in failures {
        assert!(
            !shows(&f.reason, &case.secret),
            "{}: the secret {:?} shows in the CheckFailure {:?}: {:?}",
            case.what,
            case.secret,
            f.property,
            f.reason
        );
    }
}

#[tokio::test]
async fn no_check_failure_shows_a_secret_value() {
    let mut p = provider().await;
    let schema: Json = serde_json::from_str(&p.calls.get_schema().await.unwrap()).unwrap();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let baselines = [
        (
            "imagedeploy:index:Image",
            json!({
                "context": {"location": ctx.path().to_string_lossy()},
                "push": false,
                "builder": {"kind": "buildah"},
            }),
        ),
        (
            "imagedeploy:index:Service",
            json!({"cluster": "c", "containers": [{"name": "app", "image": "127.0.0.1:1/app:1"}]}),
        ),
        (
            "imagedeploy:index:Task",
            json!({"cluster": "c", "command": ["true"], "containers": [{"name": "app", "image": "127.0.0.1:1/app:1"}]}),
        ),
    ];
    let mut counter = 0;
    let (mut total, mut failing) = (0, 0);
    for (token, baseline) in &baselines {
        let props = &schema["resources"][token]["inputProperties"];
        let generated = cases(&schema, props, baseline, &mut counter);
        assert!(
            generated.len() > 20,
            "{token}: only {} cases",
            generated.len()
        );
        for case in generated {
            let r = p
                .calls
                .check(
                    &format!("urn:pulumi:dev::harness::{token}::r"),
                    "r",
                    token,
                    &json!({}),
                    &case.inputs,
                    &[7; 32],
                )
                .await
                .unwrap_or_else(|e| panic!("{token} {}: Check must answer: {e}", case.what));
            total += 1;
            if !r.failures.is_empty() {
                failing += 1;
            }
            assert_hidden(&r.failures, &case);
        }
    }
    // Provider configuration.
    let config_props = &schema["config"]["variables"];
    for case in cases(
        &schema,
        config_props,
        &json!({"region": "us-east-1"}),
        &mut counter,
    ) {
        let r = p
            .calls
            .check_config(
                "urn:pulumi:dev::harness::pulumi:providers:imagedeploy::default",
                "default",
                "pulumi:providers:imagedeploy",
                &json!({}),
                &case.inputs,
                &[7; 32],
            )
            .await
            .unwrap_or_else(|e| panic!("config {}: CheckConfig must answer: {e}", case.what));
        total += 1;
        if !r.failures.is_empty() {
            failing += 1;
        }
        assert_hidden(&r.failures, &case);
    }
    eprintln!("{failing} of {total} generated secret cases failed Check; none showed its value");
    assert!(
        failing > 150,
        "the generated cases must mostly fail Check to test anything: {failing} of {total}"
    );
}

/// The cases the issue found leaking, by hand: each must fail Check, on
/// the right property, without the value.
#[tokio::test]
async fn the_reported_leaks_name_the_property_and_hide_the_value() {
    let mut p = provider().await;
    let ctx = tempfile::tempdir().unwrap();
    std::fs::write(ctx.path().join("Dockerfile"), "FROM scratch\n").unwrap();
    let location = ctx.path().to_string_lossy().to_string();
    let image = |extra: Json| {
        let mut inputs = json!({"context": {"location": location}, "push": false, "builder": {"kind": "buildah"}});
        for (k, v) in extra.as_object().unwrap() {
            inputs[k] = v.clone();
        }
        inputs
    };
    let cases = [
        (
            "imagedeploy:index:Image",
            json!({"context": {"location": values::secret(json!("/nonexistent/ctx-s3cr3t-dir"))}}),
            "context.location",
            "s3cr3t",
        ),
        (
            "imagedeploy:index:Image",
            image(
                json!({"dockerfile": {"location": values::secret(json!("/nonexistent/df-s3cr3t"))}}),
            ),
            "dockerfile.location",
            "s3cr3t",
        ),
        (
            "imagedeploy:index:Image",
            image(
                json!({"registries": [{"address": "r.example", "password": values::secret(json!(918273645))}]}),
            ),
            "registries[0].password",
            "918273645",
        ),
        (
            "imagedeploy:index:Image",
            image(
                json!({"registries": [{"address": "r.example", "password": values::secret(json!("pw-s3cr3t"))}]}),
            ),
            "registries[0].username",
            "s3cr3t",
        ),
        (
            "imagedeploy:index:Image",
            image(json!({"tags": [values::secret(json!("Bad Tag s3cr3t"))], "push": true})),
            "tags[0]",
            "s3cr3t",
        ),
        (
            "imagedeploy:index:Image",
            image(json!({"dockerfile": {"inline": values::secret(json!("FROOM s3cr3tbase\n"))}})),
            "dockerfile",
            "S3CR3T",
        ),
        (
            "imagedeploy:index:Image",
            image(json!({"buildArgs": {"TOKEN": values::secret(json!(4455667788_u64))}})),
            "buildArgs.TOKEN",
            "4455667788",
        ),
    ];
    for (token, inputs, property, secret) in cases {
        let r = p
            .calls
            .check(
                &format!("urn:pulumi:dev::harness::{token}::r"),
                "r",
                token,
                &json!({}),
                &inputs,
                &[7; 32],
            )
            .await
            .unwrap();
        assert!(
            r.failures.iter().any(|f| f.property.starts_with(property)),
            "{property}: expected a CheckFailure on it, got {:?}",
            r.failures
        );
        for f in &r.failures {
            assert!(
                !f.reason.to_lowercase().contains(&secret.to_lowercase()),
                "{property}: secret shows in {f:?}"
            );
        }
    }
    let r = p
        .calls
        .check_config(
            "urn:pulumi:dev::harness::pulumi:providers:imagedeploy::default",
            "default",
            "pulumi:providers:imagedeploy",
            &json!({}),
            &json!({"region": "us-east-1", "endpoints": {"ecs": values::secret(json!("ftp://s3cr3t-endpoint"))}}),
            &[7; 32],
        )
        .await
        .unwrap();
    assert!(
        r.failures.iter().any(|f| f.property == "endpoints.ecs"),
        "{:?}",
        r.failures
    );
    assert!(
        r.failures.iter().all(|f| !f.reason.contains("s3cr3t")),
        "{:?}",
        r.failures
    );
}

/// Explicit providers of the SDKs send object config values JSON-encoded
/// as strings: a secret one is masked after decoding too.
#[tokio::test]
async fn a_secret_json_encoded_config_value_is_hidden_after_decoding() {
    let mut p = provider().await;
    let r = p
        .calls
        .check_config(
            "urn:pulumi:dev::harness::pulumi:providers:imagedeploy::default",
            "default",
            "pulumi:providers:imagedeploy",
            &json!({}),
            &json!({"region": "us-east-1", "endpoints": values::secret(json!("{\"ecs\": \"ftp://s3cr3t-endpoint\"}"))}),
            &[7; 32],
        )
        .await
        .unwrap();
    assert!(
        r.failures.iter().any(|f| f.property == "endpoints.ecs"),
        "{:?}",
        r.failures
    );
    assert!(
        r.failures.iter().all(|f| !f.reason.contains("s3cr3t")),
        "{:?}",
        r.failures
    );
}
