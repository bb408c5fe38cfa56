//! Check: every bad input becomes a failure naming the exact property,
//! before any AWS call (issue behaviour 8).

use imagedeploy_ecs::args::CapacityProviderStrategyItem;
use imagedeploy_ecs::args::{
    ContainerArgs, LaunchType, NetworkConfiguration, PortMapping, ServiceArgs,
};
use imagedeploy_ecs::validate::{check, prepare};

fn good() -> ServiceArgs {
    ServiceArgs {
        cluster: "prod".into(),
        name: Some("web".into()),
        cpu: Some(256),
        memory: Some(512),
        network_configuration: Some(NetworkConfiguration {
            subnets: vec!["subnet-1".into()],
            ..Default::default()
        }),
        containers: vec![
            ContainerArgs {
                name: "web".into(),
                image: "registry.example.com/app:1.0".into(),
                port_mappings: Some(vec![PortMapping {
                    container_port: Some(8080),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            ContainerArgs {
                name: "sidecar".into(),
                image: format!("registry.example.com/side@sha256:{}", "a".repeat(64)),
                ..Default::default()
            },
        ],
        ..Default::default()
    }
}

#[test]
fn good_inputs_pass() {
    assert_eq!(check(&good()), vec![]);
}

#[test]
fn each_bad_input_names_its_property() {
    type Edit = fn(&mut ServiceArgs);
    let table: Vec<(&str, Edit, &str, &str)> = vec![
        (
            "no containers",
            |a| a.containers.clear(),
            "containers",
            "at least one container",
        ),
        (
            "duplicate names",
            |a| a.containers[1].name = "web".into(),
            "containers[1].name",
            "already used by containers[0]",
        ),
        (
            "port mapping without containerPort",
            |a| a.containers[0].port_mappings = Some(vec![PortMapping::default()]),
            "containers[0].portMappings[0].containerPort",
            "containerPort is required",
        ),
        (
            "hostPort differs under awsvpc",
            |a| a.containers[0].port_mappings.as_mut().unwrap()[0].host_port = Some(80),
            "containers[0].portMappings[0].hostPort",
            "must equal containerPort",
        ),
        (
            "invalid cpu/memory pair",
            |a| a.memory = Some(4096),
            "memory",
            "512, 1024, 2048",
        ),
        (
            "unknown Fargate cpu",
            |a| a.cpu = Some(300),
            "cpu",
            "256, 512, 1024, 2048, 4096, 8192, 16384",
        ),
        (
            "Fargate without cpu",
            |a| a.cpu = None,
            "cpu",
            "valid values",
        ),
        (
            "image is not a reference",
            |a| a.containers[0].image = "Not A Ref".into(),
            "containers[0].image",
            "not a valid image reference",
        ),
        (
            "bad digest",
            |a| a.containers[1].image = "side@sha256:123".into(),
            "containers[1].image",
            "sha256",
        ),
        (
            "launchType and capacityProviderStrategy",
            |a| {
                a.launch_type = Some(LaunchType::Fargate);
                a.capacity_provider_strategy = Some(vec![CapacityProviderStrategyItem {
                    capacity_provider: "FARGATE_SPOT".into(),
                    ..Default::default()
                }]);
            },
            "capacityProviderStrategy",
            "cannot both be set",
        ),
        (
            "awsvpc without subnets",
            |a| a.network_configuration = None,
            "networkConfiguration",
            "subnet",
        ),
        (
            "bad service name",
            |a| a.name = Some("web app".into()),
            "name",
            "letters, digits",
        ),
        (
            "dependsOn an unknown container",
            |a| {
                a.containers[0].depends_on =
                    Some(vec![imagedeploy_ecs::args::ContainerDependency {
                        container_name: "db".into(),
                        ..Default::default()
                    }])
            },
            "containers[0].dependsOn[0].containerName",
            "not another container",
        ),
        (
            "load balancer on an unmapped port",
            |a| {
                a.load_balancers = Some(vec![imagedeploy_ecs::args::LoadBalancer {
                    target_group_arn: "arn:tg".into(),
                    container_name: "web".into(),
                    container_port: 9999,
                }])
            },
            "loadBalancers[0].containerPort",
            "no port mapping for 9999",
        ),
        (
            "negative desiredCount",
            |a| a.desired_count = Some(-1),
            "desiredCount",
            "negative",
        ),
        (
            "no essential container",
            |a| {
                for c in &mut a.containers {
                    c.essential = Some(false);
                }
            },
            "containers",
            "essential",
        ),
    ];
    for (what, edit, property, reason) in table {
        let mut args = good();
        edit(&mut args);
        let failures = check(&args);
        assert!(
            failures
                .iter()
                .any(|f| f.property == property && f.reason.contains(reason)),
            "{what}: expected {property} / {reason:?}, got {failures:?}"
        );
    }
}

#[test]
fn prepare_fills_the_autoname_deterministically() {
    let mut args = good();
    args.name = None;
    let a = prepare(args.clone(), "web", b"seed").expect("valid");
    let b = prepare(args, "web", b"seed").expect("valid");
    let name = a.name.clone().expect("autoname");
    assert_eq!(a.name, b.name);
    assert!(
        name.starts_with("web-") && name.len() == "web-".len() + 7,
        "{name}"
    );

    let mut explicit = good();
    explicit.name = Some("mine".into());
    assert_eq!(
        prepare(explicit, "web", b"seed").unwrap().name.as_deref(),
        Some("mine")
    );
}

/// `good()` on EC2 with bridge networking, where every setting is allowed.
fn ec2() -> ServiceArgs {
    let mut a = good();
    a.launch_type = Some(LaunchType::Ec2);
    a.network_mode = Some(imagedeploy_ecs::args::NetworkMode::Bridge);
    a.network_configuration = None;
    a
}

fn with(base: fn() -> ServiceArgs, settings: serde_json::Value) -> ServiceArgs {
    let mut v = serde_json::to_value(base()).unwrap();
    json_merge(&mut v, settings);
    serde_json::from_value(v).expect("args JSON")
}

fn json_merge(into: &mut serde_json::Value, from: serde_json::Value) {
    match (into, from) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                json_merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (serde_json::Value::Array(a), serde_json::Value::Array(b)) if a.len() == b.len() => {
            for (x, y) in a.iter_mut().zip(b) {
                json_merge(x, y);
            }
        }
        (slot, v) => *slot = v,
    }
}

#[test]
fn production_settings_that_ecs_accepts_pass() {
    let fargate = with(
        good,
        serde_json::json!({
            "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
            "volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "ENABLED", "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}}, {"name": "scratch"}],
            "ephemeralStorage": {"sizeInGiB": 50},
            "containers": [
                {"mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
                 "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:123456789012:secret:reg-AbC"},
                 "dockerLabels": {"team": "web"},
                 "ulimits": [{"name": "nofile", "softLimit": 4096, "hardLimit": 65535}],
                 "linuxParameters": {"initProcessEnabled": true, "capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]}},
                 "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
                 "startTimeout": 120,
                 "logConfiguration": {"logDriver": "awsfirelens"},
                 "portMappings": [{"containerPort": 8080, "name": "http"}]},
                {"volumesFrom": [{"sourceContainer": "web"}],
                 "firelensConfiguration": {"type": "fluentbit", "options": {"config-file-type": "file", "config-file-value": "/x.conf"}}}
            ],
            "serviceConnectConfiguration": {"services": [{"portName": "http", "clientAliases": [{"port": 80}]}]},
            "serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-1"}],
            "deploymentController": {"type": "ECS"},
            "availabilityZoneRebalancing": "DISABLED",
            "enableEcsManagedTags": true
        }),
    );
    assert_eq!(check(&fargate), vec![]);
    let on_ec2 = with(
        ec2,
        serde_json::json!({
            "volumes": [{"name": "logs", "host": {"sourcePath": "/var/log"}}, {"name": "cache", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true}}],
            "containers": [{"extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.5"}],
                            "linuxParameters": {"sharedMemorySize": 256, "tmpfs": [{"containerPath": "/tmp", "size": 64}], "maxSwap": 0, "swappiness": 10, "capabilities": {"add": ["NET_ADMIN"]}}}, {}],
            "placementConstraints": [{"type": "distinctInstance"}, {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t3.*"}],
            "placementStrategy": [{"type": "spread", "field": "instanceId"}, {"type": "binpack", "field": "memory"}]
        }),
    );
    assert_eq!(check(&on_ec2), vec![]);
}

#[allow(clippy::too_many_lines)] // over 150 lines: split pending (issue 10)
#[test]
fn each_bad_production_setting_names_its_property_and_the_valid_values() {
    type Base = fn() -> ServiceArgs;
    let table: Vec<(&str, Base, serde_json::Value, &str, &str)> = vec![
        (
            "mount of an unknown volume",
            good,
            serde_json::json!({"volumes": [{"name": "data"}], "containers": [{"mountPoints": [{"sourceVolume": "dta", "containerPath": "/d"}]}, {}]}),
            "containers[0].mountPoints[0].sourceVolume",
            "valid values: \"data\"",
        ),
        (
            "relative container path",
            good,
            serde_json::json!({"volumes": [{"name": "data"}], "containers": [{"mountPoints": [{"sourceVolume": "data", "containerPath": "d"}]}, {}]}),
            "containers[0].mountPoints[0].containerPath",
            "absolute",
        ),
        (
            "volumesFrom itself",
            good,
            serde_json::json!({"containers": [{"volumesFrom": [{"sourceContainer": "web"}]}, {}]}),
            "containers[0].volumesFrom[0].sourceContainer",
            "valid values: \"sidecar\"",
        ),
        (
            "duplicate volume",
            good,
            serde_json::json!({"volumes": [{"name": "a"}, {"name": "a"}]}),
            "volumes[1].name",
            "used twice",
        ),
        (
            "host path on Fargate",
            good,
            serde_json::json!({"volumes": [{"name": "a", "host": {"sourcePath": "/var"}}]}),
            "volumes[0].host.sourcePath",
            "Fargate",
        ),
        (
            "docker volume on Fargate",
            good,
            serde_json::json!({"volumes": [{"name": "a", "dockerVolumeConfiguration": {}}]}),
            "volumes[0].dockerVolumeConfiguration",
            "efsVolumeConfiguration",
        ),
        (
            "two volume kinds",
            ec2,
            serde_json::json!({"volumes": [{"name": "a", "host": {}, "dockerVolumeConfiguration": {}}]}),
            "volumes[0]",
            "at most one",
        ),
        (
            "autoprovision a task volume",
            ec2,
            serde_json::json!({"volumes": [{"name": "a", "dockerVolumeConfiguration": {"autoprovision": true}}]}),
            "volumes[0].dockerVolumeConfiguration.autoprovision",
            "shared",
        ),
        (
            "EFS IAM without encryption",
            good,
            serde_json::json!({"volumes": [{"name": "a", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "authorizationConfig": {"iam": "ENABLED"}}}]}),
            "volumes[0].efsVolumeConfiguration.authorizationConfig.iam",
            "ENABLED",
        ),
        (
            "EFS access point with a root directory",
            good,
            serde_json::json!({"volumes": [{"name": "a", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "ENABLED", "rootDirectory": "/x", "authorizationConfig": {"accessPointId": "fsap-1"}}}]}),
            "volumes[0].efsVolumeConfiguration.rootDirectory",
            "omitted or \"/\"",
        ),
        (
            "EFS id",
            good,
            serde_json::json!({"volumes": [{"name": "a", "efsVolumeConfiguration": {"fileSystemId": "vol-1"}}]}),
            "volumes[0].efsVolumeConfiguration.fileSystemId",
            "fs-",
        ),
        (
            "ephemeral storage too big",
            good,
            serde_json::json!({"ephemeralStorage": {"sizeInGiB": 500}}),
            "ephemeralStorage.sizeInGiB",
            "20-200",
        ),
        (
            "ephemeral storage on EC2",
            ec2,
            serde_json::json!({"ephemeralStorage": {"sizeInGiB": 50}}),
            "ephemeralStorage",
            "Fargate",
        ),
        (
            "credentials not an ARN",
            good,
            serde_json::json!({"executionRoleArn": "arn:aws:iam::1:role/x", "containers": [{"repositoryCredentials": {"credentialsParameter": "user:pass"}}, {}]}),
            "containers[0].repositoryCredentials.credentialsParameter",
            "Secrets Manager secret ARN",
        ),
        (
            "credentials without execution role",
            good,
            serde_json::json!({"containers": [{"repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:1:secret:r"}}, {}]}),
            "executionRoleArn",
            "containers[0].repositoryCredentials needs executionRoleArn",
        ),
        (
            "soft above hard",
            good,
            serde_json::json!({"containers": [{"ulimits": [{"name": "nofile", "softLimit": 10, "hardLimit": 5}]}, {}]}),
            "containers[0].ulimits[0].softLimit",
            "exceeds hardLimit",
        ),
        (
            "ulimit twice",
            good,
            serde_json::json!({"containers": [{"ulimits": [{"name": "nofile", "softLimit": 1, "hardLimit": 5}, {"name": "nofile", "softLimit": 1, "hardLimit": 5}]}, {}]}),
            "containers[0].ulimits[1].name",
            "twice",
        ),
        (
            "unknown capability",
            good,
            serde_json::json!({"containers": [{"linuxParameters": {"capabilities": {"drop": ["NET_RAWW"]}}}, {}]}),
            "containers[0].linuxParameters.capabilities.drop[0]",
            "valid values: ALL, AUDIT_CONTROL",
        ),
        (
            "capability Fargate cannot add",
            good,
            serde_json::json!({"containers": [{"linuxParameters": {"capabilities": {"add": ["NET_ADMIN"]}}}, {}]}),
            "containers[0].linuxParameters.capabilities.add[0]",
            "valid values on Fargate: SYS_PTRACE",
        ),
        (
            "tmpfs on Fargate",
            good,
            serde_json::json!({"containers": [{"linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": 1}]}}, {}]}),
            "containers[0].linuxParameters.tmpfs",
            "not supported on Fargate",
        ),
        (
            "swappiness range",
            ec2,
            serde_json::json!({"containers": [{"linuxParameters": {"maxSwap": 10, "swappiness": 101}}, {}]}),
            "containers[0].linuxParameters.swappiness",
            "0-100",
        ),
        (
            "sysctl not namespaced",
            good,
            serde_json::json!({"containers": [{"systemControls": [{"namespace": "vm.swappiness", "value": "1"}]}, {}]}),
            "containers[0].systemControls[0].namespace",
            "valid values: kernel.msgmax",
        ),
        (
            "net sysctl with host networking",
            ec2,
            serde_json::json!({"networkMode": "host", "containers": [{"systemControls": [{"namespace": "net.core.somaxconn", "value": "1"}]}, {}]}),
            "containers[0].systemControls[0].namespace",
            "host networking",
        ),
        (
            "extra hosts with awsvpc",
            good,
            serde_json::json!({"containers": [{"extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.1"}]}, {}]}),
            "containers[0].extraHosts",
            "valid network modes: bridge, host",
        ),
        (
            "extra host address",
            ec2,
            serde_json::json!({"containers": [{"extraHosts": [{"hostname": "db", "ipAddress": "10.0.0"}]}, {}]}),
            "containers[0].extraHosts[0].ipAddress",
            "IPv4 or IPv6",
        ),
        (
            "two FireLens routers",
            good,
            serde_json::json!({"containers": [{"firelensConfiguration": {"type": "fluentbit"}}, {"firelensConfiguration": {"type": "fluentd"}}]}),
            "containers[1].firelensConfiguration",
            "only one container",
        ),
        (
            "FireLens config from S3 on Fargate",
            good,
            serde_json::json!({"containers": [{"firelensConfiguration": {"type": "fluentbit", "options": {"config-file-type": "s3", "config-file-value": "arn:aws:s3:::b/k"}}}, {}]}),
            "containers[0].firelensConfiguration.options[\"config-file-type\"]",
            "valid values on Fargate: file",
        ),
        (
            "FireLens config type",
            ec2,
            serde_json::json!({"containers": [{"firelensConfiguration": {"type": "fluentbit", "options": {"config-file-type": "http", "config-file-value": "x"}}}, {}]}),
            "containers[0].firelensConfiguration.options[\"config-file-type\"]",
            "valid values: s3, file",
        ),
        (
            "awsfirelens without a router",
            good,
            serde_json::json!({"containers": [{"logConfiguration": {"logDriver": "awsfirelens"}}, {}]}),
            "containers[0].logConfiguration.logDriver",
            "firelensConfiguration",
        ),
        (
            "start timeout on Fargate",
            good,
            serde_json::json!({"containers": [{"startTimeout": 300}, {}]}),
            "containers[0].startTimeout",
            "2-120",
        ),
        (
            "Service Connect port name",
            good,
            serde_json::json!({"serviceConnectConfiguration": {"services": [{"portName": "web"}]}, "containers": [{"portMappings": [{"containerPort": 8080, "name": "http"}]}, {}]}),
            "serviceConnectConfiguration.services[0].portName",
            "valid values: \"http\"",
        ),
        (
            "Service Connect with host networking",
            ec2,
            serde_json::json!({"networkMode": "host", "serviceConnectConfiguration": {}}),
            "serviceConnectConfiguration",
            "awsvpc or bridge",
        ),
        (
            "two registries",
            good,
            serde_json::json!({"serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:1:service/a"}, {"registryArn": "arn:aws:servicediscovery:us-east-1:1:service/b"}]}),
            "serviceRegistries",
            "one service registry",
        ),
        (
            "registry container",
            good,
            serde_json::json!({"serviceRegistries": [{"registryArn": "arn:aws:servicediscovery:us-east-1:1:service/a", "containerName": "db", "containerPort": 1}]}),
            "serviceRegistries[0].containerName",
            "valid values: \"web\", \"sidecar\"",
        ),
        (
            "placement on Fargate",
            good,
            serde_json::json!({"placementConstraints": [{"type": "distinctInstance"}]}),
            "placementConstraints",
            "EC2 and EXTERNAL only",
        ),
        (
            "memberOf without expression",
            ec2,
            serde_json::json!({"placementConstraints": [{"type": "memberOf"}]}),
            "placementConstraints[0].expression",
            "needs an expression",
        ),
        (
            "binpack field",
            ec2,
            serde_json::json!({"placementStrategy": [{"type": "binpack", "field": "disk"}]}),
            "placementStrategy[0].field",
            "valid values: cpu, memory",
        ),
        (
            "spread without field",
            ec2,
            serde_json::json!({"placementStrategy": [{"type": "spread"}]}),
            "placementStrategy[0].field",
            "instanceId",
        ),
        (
            "deployment controller not yet supported",
            good,
            serde_json::json!({"deploymentController": {"type": "CODE_DEPLOY"}}),
            "deploymentController.type",
            "valid values: ECS",
        ),
        (
            "AZ rebalancing on EXTERNAL",
            ec2,
            serde_json::json!({"launchType": "EXTERNAL", "availabilityZoneRebalancing": "ENABLED"}),
            "availabilityZoneRebalancing",
            "valid values with EXTERNAL: DISABLED",
        ),
    ];
    for (what, base, settings, property, reason) in table {
        let failures = check(&with(base, settings));
        assert!(
            failures
                .iter()
                .any(|f| f.property == property && f.reason.contains(reason)),
            "{what}: expected {property} / {reason:?}, got {failures:?}"
        );
    }
}
