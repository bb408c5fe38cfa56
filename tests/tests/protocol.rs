//! Process-level protocol rules: launch flags, stdout, shutdown, schema without
//! configuration, engine logging, attach mode, unknown sentinels, config forms.

use std::time::Duration;

use imagedeploy_tests::rpc::{CallError, Calls};
use imagedeploy_tests::values::{self, is_unknown, resource_ref, secret, ALL_UNKNOWNS};
use imagedeploy_tests::{
    fixture, provider_bin, Deployment, FakeEngine, LaunchOptions, Op, Plugin, Program, Severity,
    FIXTURE_TYPE,
};
use pulumi_gestalt_proto::pulumi::pulumirpc::{
    ConfigureRequest, InvokeRequest, PluginAttach, ProviderHandshakeRequest,
};
use serde_json::{json, Value as Json};

const PROVIDER_URN: &str = "urn:pulumi:dev::harness::pulumi:providers:imagedeploy::default";

fn urn(type_token: &str, name: &str) -> String {
    format!("urn:pulumi:dev::harness::{type_token}::{name}")
}

fn options(engine: Option<&FakeEngine>, test_resources: bool) -> LaunchOptions {
    let mut o = LaunchOptions::new(provider_bin().expect("provider binary built"));
    o.engine_address = engine.map(FakeEngine::address);
    if test_resources {
        o.env
            .push(("IMAGEDEPLOY_TEST_RESOURCES".into(), "1".into()));
    } else {
        o.env_remove.push("IMAGEDEPLOY_TEST_RESOURCES".into());
    }
    o
}

fn calls(p: &Plugin) -> Calls {
    Calls::new(p.client(), Duration::from_secs(60))
}

async fn configure(c: &mut Calls, args: Json) {
    c.configure(ConfigureRequest {
        args: Some(values::to_struct(&args)),
        accept_secrets: true,
        accept_resources: true,
        sends_old_inputs: true,
        sends_old_inputs_to_delete: true,
        ..Default::default()
    })
    .await
    .expect("Configure");
}

#[tokio::test]
async fn get_schema_works_unconfigured_and_hides_the_fixture_by_default() {
    let engine = FakeEngine::start().await.unwrap();
    let mut plugin = Plugin::start(&options(Some(&engine), false)).await.unwrap();
    let mut c = calls(&plugin);
    let schema: Json = serde_json::from_str(&c.get_schema().await.expect("GetSchema")).unwrap();
    assert_eq!(schema["name"], json!("imagedeploy"));
    for t in ["imagedeploy:index:Image", "imagedeploy:index:Service"] {
        assert!(
            schema["resources"].get(t).is_some(),
            "{t} missing from schema"
        );
    }
    assert!(schema["resources"].get(FIXTURE_TYPE).is_none());
    plugin.shutdown().await.unwrap();

    let plugin = Plugin::start(&options(Some(&engine), true)).await.unwrap();
    let schema: Json = serde_json::from_str(&calls(&plugin).get_schema().await.unwrap()).unwrap();
    assert!(schema["resources"].get(FIXTURE_TYPE).is_some());
}

#[tokio::test]
async fn handshake_and_plugin_info_match_what_the_engine_needs() {
    let engine = FakeEngine::start().await.unwrap();
    let plugin = Plugin::start(&options(Some(&engine), false)).await.unwrap();
    let mut c = calls(&plugin);
    let hs = c
        .handshake(ProviderHandshakeRequest {
            engine_address: engine.address(),
            configure_with_urn: true,
            ..Default::default()
        })
        .await
        .expect("Handshake");
    assert!(hs.accept_secrets && hs.accept_resources);
    let version = c.get_plugin_info().await.expect("GetPluginInfo");
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    // RPCs the provider does not offer answer Unimplemented, not a crash.
    let mut raw = plugin.client();
    let err = raw
        .invoke(InvokeRequest {
            tok: "imagedeploy:index:nothing".into(),
            ..Default::default()
        })
        .await
        .expect_err("Invoke is not offered");
    assert_eq!(err.code(), tonic::Code::Unimplemented);
}

#[tokio::test]
async fn lenient_flags_before_the_engine_address_are_accepted() {
    let d = Deployment::new().unwrap().with_fixture().with_flags(&[
        "--logtostderr",
        "-v=9",
        "--tracing",
        "127.0.0.1:1",
    ]);
    let prog = Program::new().resource(fixture("a", json!({"value": "v"})));
    let r = d.up(&prog).await.unwrap();
    r.assert_ok();
    assert_eq!(r.op("a"), Some(Op::Create));
    assert!(r.stdout_after_port.is_empty(), "{:?}", r.stdout_after_port);
    d.destroy().await.unwrap().assert_ok();
}

#[tokio::test]
async fn cancel_then_sigint_exits_cleanly_and_stdout_holds_only_the_port() {
    let engine = FakeEngine::start().await.unwrap();
    let mut plugin = Plugin::start(&options(Some(&engine), true)).await.unwrap();
    let mut c = calls(&plugin);
    configure(&mut c, json!({})).await;
    c.get_schema().await.unwrap();
    assert!(plugin.stdout_after_port().is_empty());
    let status = plugin.shutdown().await.expect("exits within 5 s of SIGINT");
    assert!(
        status.success(),
        "graceful stop should exit 0, got {status}"
    );
}

#[tokio::test]
async fn progress_goes_to_the_engine_log_tagged_with_the_urn() {
    let d = Deployment::new().unwrap().with_fixture();
    let r = d
        .up(&Program::new().resource(fixture("a", json!({"value": "v"}))))
        .await
        .unwrap();
    r.assert_ok();
    let a_urn = d.urn(FIXTURE_TYPE, "a");
    let progress: Vec<_> = r
        .logs
        .iter()
        .filter(|l| l.urn == a_urn && l.ephemeral && l.severity == Severity::Info)
        .collect();
    assert!(
        !progress.is_empty(),
        "expected ephemeral INFO progress for {a_urn}, got {:?}",
        r.logs
    );
}

#[tokio::test]
async fn an_unreachable_engine_does_not_stop_the_provider() {
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut o = options(None, true);
    o.engine_address = Some(closed.clone());
    let mut plugin = Plugin::start(&o).await.unwrap();
    let mut c = calls(&plugin);
    let _ = c
        .handshake(ProviderHandshakeRequest {
            engine_address: closed,
            ..Default::default()
        })
        .await;
    configure(&mut c, json!({})).await;
    let a = urn(FIXTURE_TYPE, "a");
    let checked = c
        .check(
            &a,
            "a",
            FIXTURE_TYPE,
            &json!({}),
            &json!({"value": "v"}),
            &[1; 32],
        )
        .await
        .unwrap();
    assert!(checked.failures.is_empty());
    let created = c
        .create(
            &a,
            "a",
            FIXTURE_TYPE,
            &values::from_opt_struct(checked.inputs.as_ref()),
            false,
        )
        .await
        .expect("Create works without an engine");
    assert!(!created.id.is_empty());
    // Progress that could not reach the engine went to stderr instead.
    let mut stderr = String::new();
    for _ in 0..100 {
        stderr = plugin.stderr();
        if stderr.contains("creating fixture") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        stderr.contains("creating fixture"),
        "progress should fall back to stderr; stderr was:\n{stderr}"
    );
    assert!(plugin.stdout_after_port().is_empty());
    let status = plugin.shutdown().await.unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn attach_mode_serves_without_an_engine_address_until_attached() {
    let engine = FakeEngine::start().await.unwrap();
    let plugin = Plugin::start(&options(None, true)).await.unwrap();
    let mut raw = plugin.client();
    raw.attach(PluginAttach {
        address: engine.address(),
    })
    .await
    .expect("Attach");
    let mut c = calls(&plugin);
    configure(&mut c, json!({})).await;
    let a = urn(FIXTURE_TYPE, "a");
    let created = c
        .create(&a, "a", FIXTURE_TYPE, &json!({"value": "v"}), false)
        .await
        .unwrap();
    assert!(!created.id.is_empty());
    for _ in 0..100 {
        if engine.logs().iter().any(|l| l.urn == a) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        engine.logs().iter().any(|l| l.urn == a),
        "after Attach, logs go to the attached engine: {:?}",
        engine.logs()
    );
}

#[tokio::test]
async fn check_passes_every_unknown_sentinel_through_also_inside_secrets_and_maps() {
    let engine = FakeEngine::start().await.unwrap();
    let plugin = Plugin::start(&options(Some(&engine), true)).await.unwrap();
    let mut c = calls(&plugin);
    configure(&mut c, json!({})).await;
    let a = urn(FIXTURE_TYPE, "a");
    for sentinel in ALL_UNKNOWNS {
        let news = json!({
            "value": sentinel,
            "tags": {"k": sentinel},
            "secretValue": secret(json!(sentinel)),
        });
        let r = c
            .check(&a, "a", FIXTURE_TYPE, &json!({}), &news, &[1; 32])
            .await
            .unwrap_or_else(|e| panic!("Check with {sentinel}: {e}"));
        assert!(
            r.failures.is_empty(),
            "unknown {sentinel} must not fail Check: {:?}",
            r.failures
        );
        let inputs = values::from_opt_struct(r.inputs.as_ref());
        assert!(is_unknown(&inputs["value"]), "{inputs}");
        assert!(is_unknown(&inputs["tags"]["k"]), "{inputs}");
        assert!(values::is_secret(&inputs["secretValue"]), "{inputs}");
        assert!(values::contains_unknown(&inputs["secretValue"]), "{inputs}");
    }
    // A whole-object unknown for a map property.
    let r = c
        .check(
            &a,
            "a",
            FIXTURE_TYPE,
            &json!({}),
            &json!({"value": "v", "tags": values::UNKNOWN_OBJECT}),
            &[1; 32],
        )
        .await
        .unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
}

#[tokio::test]
async fn resource_references_are_accepted_as_their_id() {
    let engine = FakeEngine::start().await.unwrap();
    let plugin = Plugin::start(&options(Some(&engine), true)).await.unwrap();
    let mut c = calls(&plugin);
    configure(&mut c, json!({})).await;
    let a = urn(FIXTURE_TYPE, "a");
    let reference = resource_ref(&urn(FIXTURE_TYPE, "other"), Some("fixture-0000abcd"));
    let r = c
        .check(
            &a,
            "a",
            FIXTURE_TYPE,
            &json!({}),
            &json!({"value": reference}),
            &[1; 32],
        )
        .await
        .unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    let inputs = values::from_opt_struct(r.inputs.as_ref());
    assert!(
        inputs["value"] == json!("fixture-0000abcd") || inputs["value"] == reference,
        "{inputs}"
    );
}

#[tokio::test]
async fn provider_config_accepts_typed_values_and_json_encoded_strings() {
    let engine = FakeEngine::start().await.unwrap();
    let plugin = Plugin::start(&options(Some(&engine), false)).await.unwrap();
    let mut c = calls(&plugin);
    let typed = json!({
        "region": "eu-west-1",
        "skipCredentialsValidation": true,
        "endpoints": {"ecs": "http://127.0.0.1:4566", "ecr": "http://127.0.0.1:4566"},
        "version": "0.1.0",
    });
    let encoded = json!({
        "region": "eu-west-1",
        "skipCredentialsValidation": "true",
        "endpoints": "{\"ecs\":\"http://127.0.0.1:4566\"}",
        "version": "0.1.0",
    });
    for news in [typed, encoded] {
        let r = c
            .check_config(
                PROVIDER_URN,
                "default",
                "pulumi:providers:imagedeploy",
                &json!({}),
                &news,
                &[],
            )
            .await
            .expect("CheckConfig");
        assert!(r.failures.is_empty(), "{news}: {:?}", r.failures);
    }
    let garbage = json!({"region": 5, "skipCredentialsValidation": "maybe", "noSuchKey": 1});
    let r = c
        .check_config(
            PROVIDER_URN,
            "default",
            "pulumi:providers:imagedeploy",
            &json!({}),
            &garbage,
            &[],
        )
        .await
        .expect("CheckConfig answers with failures, not an error");
    let props: Vec<&str> = r.failures.iter().map(|f| f.property.as_str()).collect();
    for p in ["region", "skipCredentialsValidation", "noSuchKey"] {
        assert!(
            props
                .iter()
                .any(|x| *x == p || x.starts_with(&format!("{p}."))),
            "no CheckFailure for {p}: {:?}",
            r.failures
        );
    }
}

#[tokio::test]
async fn configure_without_credentials_is_fine_aws_clients_are_lazy() {
    let engine = FakeEngine::start().await.unwrap();
    let mut o = options(Some(&engine), false);
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_PROFILE",
        "AWS_REGION",
    ] {
        o.env_remove.push(k.into());
    }
    let plugin = Plugin::start(&o).await.unwrap();
    let mut c = calls(&plugin);
    configure(&mut c, json!({"region": "us-east-1"})).await;
    let img = urn("imagedeploy:index:Image", "img");
    let r = c
        .check(
            &img,
            "img",
            "imagedeploy:index:Image",
            &json!({}),
            &json!({}),
            &[2; 32],
        )
        .await;
    match r {
        Ok(_) => {}
        Err(CallError::Status { message, .. }) => {
            panic!("Check must not need AWS credentials: {message}")
        }
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn sigint_alone_stops_an_idle_provider_promptly() {
    let engine = FakeEngine::start().await.unwrap();
    let mut plugin = Plugin::start(&options(Some(&engine), true)).await.unwrap();
    let mut c = calls(&plugin);
    configure(&mut c, json!({})).await;
    c.get_schema().await.unwrap();
    let started = std::time::Instant::now();
    plugin.interrupt();
    let status = plugin.wait_exit(Duration::from_secs(5)).await;
    let took = started.elapsed();
    assert!(
        status.is_some_and(|s| s.success()),
        "no clean exit within 5 s of SIGINT (status {status:?}); stderr:\n{}",
        plugin.stderr()
    );
    eprintln!("exited {took:?} after SIGINT");
}
