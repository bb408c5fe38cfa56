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
