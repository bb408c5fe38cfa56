//! Diff over normalised forms: reorders and restated defaults are no change,
//! real changes name the property path and the reason (issue behaviours 1-3),
//! and image pinning through our `ImageResolver` trait (behaviour 1, 8).

mod common;

use std::collections::BTreeMap;

use common::{digest, recorded, MapResolver};
use imagedeploy_ecs::args::ServiceArgs;
use imagedeploy_ecs::{diff, resolve_images, ChangeKind, ImageError, ResolveError};

const APP: &str = "127.0.0.1:5000/app";

fn base_json() -> serde_json::Value {
    serde_json::json!({
        "cluster": "prod",
        "name": "web",
        "cpu": 256,
        "memory": 512,
        "networkConfiguration": {"subnets": ["subnet-b", "subnet-a"], "securityGroups": ["sg-1"]},
        "containers": [{
            "name": "web",
            "image": format!("{APP}:latest"),
            "environment": {"LOG_LEVEL": "info", "MODE": "web"},
            "secrets": {"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:1:secret:db"},
            "portMappings": [{"containerPort": 8080}, {"containerPort": 9090, "protocol": "udp"}],
            "healthCheck": {"command": ["CMD", "true"]},
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web"}}
        }, {
            "name": "worker",
            "image": format!("{APP}:latest"),
            "command": ["work"]
        }]
    })
}

fn args(v: serde_json::Value) -> ServiceArgs {
    serde_json::from_value(v).expect("valid args JSON")
}

fn images(d: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("web".to_string(), format!("{APP}@{d}")),
        ("worker".to_string(), format!("{APP}@{d}")),
    ])
}

fn edited(edit: impl FnOnce(&mut serde_json::Value)) -> ServiceArgs {
    let mut v = base_json();
    edit(&mut v);
    args(v)
}

#[test]
fn reorders_and_restated_defaults_are_no_change() {
    let old = recorded(&args(base_json()), &images(&digest('a')));
    let same = edited(|v| {
        // maps in another order (JSON object order), lists that ECS treats as sets reordered
        v["containers"][0]["environment"] = serde_json::json!({"MODE": "web", "LOG_LEVEL": "info"});
        v["containers"][0]["portMappings"] = serde_json::json!([
            {"containerPort": 9090, "protocol": "udp"},
            {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"}
        ]);
        v["networkConfiguration"]["subnets"] = serde_json::json!(["subnet-a", "subnet-b"]);
        // restated ECS defaults
        v["containers"][0]["essential"] = true.into();
        v["containers"][0]["cpu"] = 0.into();
        v["containers"][0]["healthCheck"] = serde_json::json!({"command": ["CMD", "true"], "interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0});
        v["containers"][1]["environment"] = serde_json::json!({});
        v["containers"][1]["readonlyRootFilesystem"] = false.into();
        v["launchType"] = "FARGATE".into();
        v["networkMode"] = "awsvpc".into();
        v["family"] = "web".into();
        v["desiredCount"] = 1.into();
        v["runtimePlatform"] =
            serde_json::json!({"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"});
        v["deploymentCircuitBreaker"] = serde_json::json!({"enable": true, "rollback": true});
        v["deploymentConfiguration"] =
            serde_json::json!({"minimumHealthyPercent": 100, "maximumPercent": 200});
        v["platformVersion"] = "LATEST".into();
        v["wait"] = serde_json::json!({"timeoutSeconds": 60});
        // containers in another order
        let c = v["containers"].as_array_mut().unwrap();
        c.swap(0, 1);
    });
    let d = diff(&old, &same, &images(&digest('a')));
    assert!(!d.has_changes(), "expected no change, got {d:#?}");
}

#[test]
#[allow(clippy::too_many_lines)] // over 150 lines: split pending (issue 10)
fn each_change_names_its_path_kind_and_consequence() {
    struct Case {
        what: &'static str,
        edit: fn(&mut serde_json::Value),
        path: &'static str,
        kind: ChangeKind,
        revision: bool,
        replace: bool,
        reason: &'static str,
    }
    let cases = [
        Case {
            what: "env value",
            edit: |v| v["containers"][0]["environment"]["LOG_LEVEL"] = "debug".into(),
            path: "containers[0].environment.LOG_LEVEL",
            kind: ChangeKind::Update,
            revision: true,
            replace: false,
            reason: "container web: environment.LOG_LEVEL changed",
        },
        Case {
            what: "env added",
            edit: |v| v["containers"][1]["environment"] = serde_json::json!({"X": "1"}),
            path: "containers[1].environment",
            kind: ChangeKind::Add,
            revision: true,
            replace: false,
            reason: "container worker: environment added",
        },
        Case {
            what: "secret removed",
            edit: |v| v["containers"][0]["secrets"] = serde_json::json!({}),
            path: "containers[0].secrets",
            kind: ChangeKind::Delete,
            revision: true,
            replace: false,
            reason: "secrets removed",
        },
        Case {
            what: "log option",
            edit: |v| {
                v["containers"][0]["logConfiguration"]["options"]["awslogs-group"] =
                    "/ecs/other".into()
            },
            path: "containers[0].logConfiguration.options[\"awslogs-group\"]",
            kind: ChangeKind::Update,
            revision: true,
            replace: false,
            reason: "logConfiguration.options",
        },
        Case {
            what: "health interval",
            edit: |v| v["containers"][0]["healthCheck"]["interval"] = 10.into(),
            path: "containers[0].healthCheck.interval",
            kind: ChangeKind::Update,
            revision: true,
            replace: false,
            reason: "container web: healthCheck.interval 30 -> 10",
        },
        Case {
            what: "port",
            edit: |v| v["containers"][0]["portMappings"][0]["containerPort"] = 8081.into(),
            path: "containers[0].portMappings",
            kind: ChangeKind::Update,
            revision: true,
            replace: false,
            reason: "portMappings changed",
        },
        Case {
            what: "task memory",
            edit: |v| v["memory"] = 1024.into(),
            path: "memory",
            kind: ChangeKind::Update,
            revision: true,
            replace: false,
            reason: "task memory 512 -> 1024",
        },
        Case {
            what: "arm64",
            edit: |v| v["runtimePlatform"] = serde_json::json!({"cpuArchitecture": "ARM64"}),
            path: "runtimePlatform.cpuArchitecture",
            kind: ChangeKind::Add,
            revision: true,
            replace: false,
            reason: "ARM64",
        },
        Case {
            what: "desiredCount",
            edit: |v| v["desiredCount"] = 3.into(),
            path: "desiredCount",
            kind: ChangeKind::Update,
            revision: false,
            replace: false,
            reason: "desiredCount 1 -> 3",
        },
        Case {
            what: "subnets",
            edit: |v| v["networkConfiguration"]["subnets"] = serde_json::json!(["subnet-c"]),
            path: "networkConfiguration.subnets",
            kind: ChangeKind::Update,
            revision: false,
            replace: false,
            reason: "networkConfiguration.subnets [subnet-a, subnet-b] -> [subnet-c]",
        },
        Case {
            what: "circuit breaker",
            edit: |v| v["deploymentCircuitBreaker"] = serde_json::json!({"rollback": false}),
            path: "deploymentCircuitBreaker.rollback",
            kind: ChangeKind::Update,
            revision: false,
            replace: false,
            reason: "true -> false",
        },
        Case {
            what: "tag",
            edit: |v| v["tags"] = serde_json::json!({"team": "web"}),
            path: "tags",
            kind: ChangeKind::Add,
            revision: false,
            replace: false,
            reason: "tags added",
        },
        Case {
            what: "cluster",
            edit: |v| v["cluster"] = "other".into(),
            path: "cluster",
            kind: ChangeKind::Update,
            revision: false,
            replace: true,
            reason: "replaces the service",
        },
        Case {
            what: "name",
            edit: |v| v["name"] = "web2".into(),
            path: "name",
            kind: ChangeKind::Update,
            revision: false,
            replace: true,
            reason: "name web -> web2",
        },
        Case {
            what: "container added",
            edit: |v| {
                v["containers"]
                    .as_array_mut()
                    .unwrap()
                    .push(serde_json::json!({"name": "extra", "image": format!("{APP}:latest")}))
            },
            path: "containers[2]",
            kind: ChangeKind::Add,
            revision: true,
            replace: false,
            reason: "container extra added",
        },
        Case {
            what: "container removed",
            edit: |v| {
                v["containers"].as_array_mut().unwrap().pop();
            },
            path: "containers[1]",
            kind: ChangeKind::Delete,
            revision: true,
            replace: false,
            reason: "container worker removed",
        },
    ];
    let old = recorded(&args(base_json()), &images(&digest('a')));
    for case in cases {
        let mut v = base_json();
        (case.edit)(&mut v);
        let mut new_images = images(&digest('a'));
        new_images.insert("extra".into(), format!("{APP}@{}", digest('a')));
        let d = diff(&old, &args(v), &new_images);
        let change = d.changes.iter().find(|c| c.path == case.path);
        assert!(
            change.is_some_and(|c| c.kind == case.kind && c.replace == case.replace),
            "{}: expected {} {:?}, got {:#?}",
            case.what,
            case.path,
            case.kind,
            d.changes
        );
        if !case.replace {
            assert_eq!(
                d.new_revision_needed, case.revision,
                "{}: new revision? {d:#?}",
                case.what
            );
        }
        assert_eq!(
            d.needs_replace(),
            case.replace,
            "{}: replace? {d:#?}",
            case.what
        );
        if !case.replace {
            assert!(
                d.service_update_needed,
                "{}: every in-place change updates the service",
                case.what
            );
        }
        assert!(
            d.reasons.iter().any(|r| r.contains(case.reason)),
            "{}: reason {:?} not in {:?}",
            case.what,
            case.reason,
            d.reasons
        );
        assert!(
            !d.reasons
                .iter()
                .any(|r| r.contains("debug") || r.contains("secretsmanager")),
            "{}: reasons must not show environment or secret values: {:?}",
            case.what,
            d.reasons
        );
    }
}

#[test]
fn changing_launch_type_in_place_deletes_before_replacing() {
    let old = recorded(&args(base_json()), &images(&digest('a')));
    let new = edited(|v| {
        v["launchType"] = "EC2".into();
    });
    let d = diff(&old, &new, &images(&digest('a')));
    assert_eq!(d.replace_paths, vec!["launchType".to_string()]);
    assert!(d.delete_before_replace);
}

#[tokio::test]
async fn tags_are_pinned_and_a_moved_tag_is_a_change_with_its_reason() {
    let resolver = MapResolver::with(&format!("{APP}:latest"), &digest('a'));
    let a = args(base_json());
    let pinned = resolve_images(&a, &resolver).await.expect("resolve");
    assert_eq!(pinned["web"], format!("{APP}@{}", digest('a')));
    let old = recorded(&a, &pinned);

    // the tag did not move: no change
    let again = resolve_images(&a, &resolver).await.expect("resolve");
    assert!(!diff(&old, &a, &again).has_changes());

    // the tag moved: a change that says so
    resolver.set(&format!("{APP}:latest"), &digest('b'));
    let moved = resolve_images(&a, &resolver).await.expect("resolve");
    let d = diff(&old, &a, &moved);
    assert!(d.new_revision_needed);
    assert!(d.changes.iter().any(|c| c.path == "containers[0].image"));
    let expected = format!(
        "container web: {APP}:latest moved {} -> {}",
        digest('a'),
        digest('b')
    );
    assert!(d.reasons.contains(&expected), "{:?}", d.reasons);

    // switching to the digest the tag already names is no change
    let by_digest = edited(|v| {
        v["containers"][0]["image"] = format!("{APP}@{}", digest('a')).into();
        v["containers"][1]["image"] = format!("{APP}:v1@{}", digest('a')).into();
    });
    let pinned = resolve_images(&by_digest, &resolver)
        .await
        .expect("resolve");
    assert_eq!(
        pinned["worker"],
        format!("{APP}@{}", digest('a')),
        "tag dropped from a pinned reference"
    );
    assert!(!diff(&old, &by_digest, &pinned).has_changes());
}

#[tokio::test]
async fn a_digest_missing_from_the_registry_is_an_error_naming_the_container() {
    let resolver = MapResolver::with(&format!("{APP}:latest"), &digest('a'));
    let bad = edited(|v| v["containers"][1]["image"] = format!("{APP}@{}", digest('f')).into());
    let err = resolve_images(&bad, &resolver)
        .await
        .expect_err("unknown digest");
    assert_eq!(err.property(), "containers[1].image");
    assert!(
        matches!(
            err,
            ImageError::Resolve {
                source: ResolveError::NotFound { .. },
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains(&digest('f')), "{err}");
}

/// Inputs using every production setting (task, container and service level).
fn settings_json() -> serde_json::Value {
    let mut v = base_json();
    v["executionRoleArn"] = "arn:aws:iam::123456789012:role/exec".into();
    v["volumes"] = serde_json::json!([
        {"name": "shared"},
        {"name": "data", "efsVolumeConfiguration": {
            "fileSystemId": "fs-0123abcd", "transitEncryption": "ENABLED",
            "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}},
        {"name": "cache", "dockerVolumeConfiguration": {"driver": "local", "driverOpts": {"type": "tmpfs"}}}
    ]);
    let web = &mut v["containers"][0];
    web["portMappings"][0]["name"] = "http".into();
    web["mountPoints"] = serde_json::json!([
        {"sourceVolume": "data", "containerPath": "/data"},
        {"sourceVolume": "shared", "containerPath": "/shared", "readOnly": true}
    ]);
    web["repositoryCredentials"] = serde_json::json!({"credentialsParameter": "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbC"});
    web["dockerLabels"] =
        serde_json::json!({"com.example.team": "web", "com.example.tier": "front"});
    web["ulimits"] = serde_json::json!([
        {"name": "nofile", "softLimit": 65535, "hardLimit": 65535},
        {"name": "core", "softLimit": 0, "hardLimit": 0}
    ]);
    web["linuxParameters"] = serde_json::json!({"initProcessEnabled": true, "capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW", "MKNOD"]}});
    web["systemControls"] = serde_json::json!([
        {"namespace": "net.core.somaxconn", "value": "1024"},
        {"namespace": "kernel.shmmax", "value": "65536"}
    ]);
    web["extraHosts"] = serde_json::json!([
        {"hostname": "db.internal", "ipAddress": "10.0.0.5"},
        {"hostname": "cache.internal", "ipAddress": "10.0.0.6"}
    ]);
    web["startTimeout"] = 60.into();
    let worker = &mut v["containers"][1];
    worker["volumesFrom"] = serde_json::json!([{"sourceContainer": "web"}]);
    worker["firelensConfiguration"] = serde_json::json!({"type": "fluentbit", "options": {"config-file-type": "file", "config-file-value": "/extra.conf"}});
    v["serviceConnectConfiguration"] = serde_json::json!({
        "namespace": "internal",
        "services": [
            {"portName": "http", "clientAliases": [{"port": 80, "dnsName": "web"}, {"port": 8080}]},
            {"portName": "admin", "discoveryName": "web-admin"}
        ]
    });
    v["serviceRegistries"] = serde_json::json!([{"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1"}]);
    v["placementConstraints"] = serde_json::json!([
        {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"},
        {"type": "distinctInstance"}
    ]);
    v["placementStrategy"] = serde_json::json!([
        {"type": "spread", "field": "attribute:ecs.availability-zone"},
        {"type": "binpack", "field": "memory"}
    ]);
    v
}

fn settings_edited(edit: impl FnOnce(&mut serde_json::Value)) -> ServiceArgs {
    let mut v = settings_json();
    edit(&mut v);
    args(v)
}

#[test]
fn production_settings_reordered_or_restated_as_defaults_are_no_change() {
    let old = recorded(&args(settings_json()), &images(&digest('a')));
    let same = settings_edited(|v| {
        // order-insensitive lists reordered, maps in another JSON order
        v["volumes"].as_array_mut().unwrap().reverse();
        let web = &mut v["containers"][0];
        web["mountPoints"].as_array_mut().unwrap().reverse();
        web["dockerLabels"] =
            serde_json::json!({"com.example.tier": "front", "com.example.team": "web"});
        web["ulimits"].as_array_mut().unwrap().reverse();
        web["linuxParameters"]["capabilities"]["drop"] = serde_json::json!(["MKNOD", "NET_RAW"]);
        web["systemControls"].as_array_mut().unwrap().reverse();
        web["extraHosts"].as_array_mut().unwrap().reverse();
        v["serviceConnectConfiguration"]["services"]
            .as_array_mut()
            .unwrap()
            .reverse();
        v["placementConstraints"].as_array_mut().unwrap().reverse();
        // ECS defaults stated
        v["volumes"][0]["dockerVolumeConfiguration"]["scope"] = "task".into();
        v["volumes"][0]["dockerVolumeConfiguration"]["autoprovision"] = false.into();
        v["volumes"][1]["efsVolumeConfiguration"]["rootDirectory"] = "/".into();
        v["volumes"][2]["host"] = serde_json::json!({});
        v["ephemeralStorage"] = serde_json::json!({"sizeInGiB": 20});
        let web = &mut v["containers"][0];
        web["mountPoints"][1]["readOnly"] = false.into();
        web["linuxParameters"]["swappiness"] = 60.into();
        web["linuxParameters"]["capabilities"]["add"] =
            serde_json::json!(["SYS_PTRACE", "SYS_PTRACE"]);
        let worker = &mut v["containers"][1];
        worker["volumesFrom"][0]["readOnly"] = false.into();
        worker["firelensConfiguration"]["options"]["enable-ecs-log-metadata"] = "true".into();
        worker["linuxParameters"] =
            serde_json::json!({"initProcessEnabled": false, "capabilities": {"add": []}});
        worker["ulimits"] = serde_json::json!([]);
        v["serviceConnectConfiguration"]["enabled"] = true.into();
        v["serviceConnectConfiguration"]["services"][1]["discoveryName"] = "http".into();
        v["placementStrategy"][1]["field"] = "MEMORY".into();
        v["deploymentController"] = serde_json::json!({"type": "ECS"});
        v["availabilityZoneRebalancing"] = "ENABLED".into();
        v["enableEcsManagedTags"] = false.into();
    });
    let d = diff(&old, &same, &images(&digest('a')));
    assert!(!d.has_changes(), "expected no change, got {d:#?}");

    // Service Connect switched off equals no Service Connect at all.
    let off = recorded(
        &settings_edited(|v| {
            v["serviceConnectConfiguration"] = serde_json::Value::Null;
        }),
        &images(&digest('a')),
    );
    let disabled = settings_edited(|v| {
        v["serviceConnectConfiguration"]["enabled"] = false.into();
    });
    let d = diff(&off, &disabled, &images(&digest('a')));
    assert!(!d.has_changes(), "enabled: false is off: {d:#?}");
}

#[allow(clippy::too_many_lines)] // over 150 lines: split pending (issue 10)
#[test]
fn each_production_setting_change_names_its_path_and_what_it_costs() {
    // (what, edit, path, kind, new revision, replace, part of the reason)
    type Edit = fn(&mut serde_json::Value);
    let cases: Vec<(&str, Edit, &str, ChangeKind, bool, bool, &str)> = vec![
        (
            "efs file system",
            |v| v["volumes"][1]["efsVolumeConfiguration"]["fileSystemId"] = "fs-9".into(),
            "volumes",
            ChangeKind::Update,
            true,
            false,
            "task volumes changed",
        ),
        (
            "ephemeral storage",
            |v| v["ephemeralStorage"] = serde_json::json!({"sizeInGiB": 50}),
            "ephemeralStorage.sizeInGiB",
            ChangeKind::Add,
            true,
            false,
            "task ephemeralStorage.sizeInGiB added (50)",
        ),
        (
            "mount read-only",
            |v| v["containers"][0]["mountPoints"][0]["readOnly"] = true.into(),
            "containers[0].mountPoints",
            ChangeKind::Update,
            true,
            false,
            "container web: mountPoints changed",
        ),
        (
            "volumes from removed",
            |v| v["containers"][1]["volumesFrom"] = serde_json::json!([]),
            "containers[1].volumesFrom",
            ChangeKind::Delete,
            true,
            false,
            "container worker: volumesFrom removed",
        ),
        (
            "registry credentials",
            |v| {
                v["containers"][0]["repositoryCredentials"]["credentialsParameter"] =
                    "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ".into()
            },
            "containers[0].repositoryCredentials.credentialsParameter",
            ChangeKind::Update,
            true,
            false,
            "secret:other-XyZ",
        ),
        (
            "docker label value",
            |v| v["containers"][0]["dockerLabels"]["com.example.team"] = "debug".into(),
            "containers[0].dockerLabels[\"com.example.team\"]",
            ChangeKind::Update,
            true,
            false,
            "container web: dockerLabels[\"com.example.team\"] changed",
        ),
        (
            "ulimit",
            |v| v["containers"][0]["ulimits"][0]["softLimit"] = 1024.into(),
            "containers[0].ulimits",
            ChangeKind::Update,
            true,
            false,
            "ulimits changed",
        ),
        (
            "init process",
            |v| v["containers"][0]["linuxParameters"]["initProcessEnabled"] = false.into(),
            "containers[0].linuxParameters.initProcessEnabled",
            ChangeKind::Delete,
            true,
            false,
            "linuxParameters.initProcessEnabled removed (was true)",
        ),
        (
            "capability added",
            |v| {
                v["containers"][0]["linuxParameters"]["capabilities"]["add"] =
                    serde_json::json!(["SYS_PTRACE", "NET_ADMIN"])
            },
            "containers[0].linuxParameters.capabilities.add",
            ChangeKind::Update,
            true,
            false,
            "[SYS_PTRACE] -> [NET_ADMIN, SYS_PTRACE]",
        ),
        (
            "sysctl",
            |v| v["containers"][0]["systemControls"][0]["value"] = "4096".into(),
            "containers[0].systemControls",
            ChangeKind::Update,
            true,
            false,
            "systemControls changed",
        ),
        (
            "extra host",
            |v| v["containers"][0]["extraHosts"][0]["ipAddress"] = "10.0.0.9".into(),
            "containers[0].extraHosts",
            ChangeKind::Update,
            true,
            false,
            "extraHosts changed",
        ),
        (
            "firelens option",
            |v| {
                v["containers"][1]["firelensConfiguration"]["options"]["config-file-value"] =
                    "/other.conf".into()
            },
            "containers[1].firelensConfiguration.options[\"config-file-value\"]",
            ChangeKind::Update,
            true,
            false,
            "container worker: firelensConfiguration.options",
        ),
        (
            "start timeout",
            |v| v["containers"][0]["startTimeout"] = 90.into(),
            "containers[0].startTimeout",
            ChangeKind::Update,
            true,
            false,
            "startTimeout 60 -> 90",
        ),
        (
            "service connect namespace",
            |v| v["serviceConnectConfiguration"]["namespace"] = "other".into(),
            "serviceConnectConfiguration.namespace",
            ChangeKind::Update,
            false,
            false,
            "serviceConnectConfiguration.namespace internal -> other",
        ),
        (
            "service connect off",
            |v| v["serviceConnectConfiguration"]["enabled"] = false.into(),
            "serviceConnectConfiguration",
            ChangeKind::Delete,
            false,
            false,
            "serviceConnectConfiguration removed",
        ),
        (
            "service registry removed",
            |v| v["serviceRegistries"] = serde_json::json!([]),
            "serviceRegistries",
            ChangeKind::Delete,
            false,
            false,
            "serviceRegistries removed",
        ),
        (
            "placement constraint",
            |v| {
                v["placementConstraints"]
                    .as_array_mut()
                    .unwrap()
                    .pop()
                    .map(drop)
                    .unwrap_or(())
            },
            "placementConstraints",
            ChangeKind::Update,
            false,
            false,
            "placementConstraints changed",
        ),
        (
            "placement strategy order (ECS applies rules in order)",
            |v| v["placementStrategy"].as_array_mut().unwrap().reverse(),
            "placementStrategy",
            ChangeKind::Update,
            false,
            false,
            "placementStrategy changed",
        ),
        (
            "AZ rebalancing",
            |v| v["availabilityZoneRebalancing"] = "DISABLED".into(),
            "availabilityZoneRebalancing",
            ChangeKind::Update,
            false,
            false,
            "availabilityZoneRebalancing ENABLED -> DISABLED",
        ),
        (
            "managed tags",
            |v| v["enableEcsManagedTags"] = true.into(),
            "enableEcsManagedTags",
            ChangeKind::Update,
            false,
            false,
            "enableEcsManagedTags false -> true",
        ),
        (
            "deployment controller",
            |v| v["deploymentController"] = serde_json::json!({"type": "CODE_DEPLOY"}),
            "deploymentController.type",
            ChangeKind::Update,
            false,
            true,
            "deployment controller ECS -> CODE_DEPLOY (replaces the service)",
        ),
    ];
    let old = recorded(&args(settings_json()), &images(&digest('a')));
    for (what, edit, path, kind, revision, replace, reason) in cases {
        let new = settings_edited(edit);
        let d = diff(&old, &new, &images(&digest('a')));
        let paths: Vec<&str> = d.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, vec![path], "{what}: exactly one change: {d:#?}");
        assert_eq!(d.changes[0].kind, kind, "{what}");
        assert_eq!(d.changes[0].replace, replace, "{what}");
        assert_eq!(d.needs_replace(), replace, "{what}");
        if !replace {
            assert_eq!(d.new_revision_needed, revision, "{what}: new revision?");
            assert!(d.service_update_needed, "{what}: updates the service");
        } else {
            assert!(
                d.delete_before_replace,
                "{what}: same name, so delete first"
            );
        }
        assert!(
            d.reasons.iter().any(|r| r.contains(reason)),
            "{what}: reason {reason:?} not in {:?}",
            d.reasons
        );
        assert!(
            !d.reasons.iter().any(|r| r.contains("debug")),
            "{what}: label values are not shown: {:?}",
            d.reasons
        );
    }
}

#[test]
fn a_state_recorded_before_the_production_settings_existed_is_no_change() {
    // What an earlier version wrote: no settings keys at all.
    let a = args(base_json());
    let current = serde_json::to_value(recorded(&a, &images(&digest('a')))).unwrap();
    for key in ["volumes", "ephemeralStorage", "mountPoints", "dockerLabels"] {
        assert!(
            !current.to_string().contains(&format!("\"{key}\"")),
            "unset settings are not written: {current}"
        );
    }
    let old: imagedeploy_ecs::ServiceState = serde_json::from_value(current).unwrap();
    assert!(!diff(&old, &a, &images(&digest('a'))).has_changes());
}
