//! Check rules of the production settings: what ECS would reject, known
//! from the inputs alone, each failure on the exact property and, where
//! the set is closed, with the valid values.

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::args::{ContainerArgs, LaunchType, NetworkMode, ServiceArgs};
use crate::validate::Failure;

use super::types::{
    DeploymentControllerType, DockerVolumeScope, PlacementConstraintType, PlacementStrategyType,
    Toggle,
};

/// Linux capabilities ECS accepts in `linuxParameters.capabilities`.
pub const CAPABILITIES: &[&str] = &[
    "ALL",
    "AUDIT_CONTROL",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// Namespaced kernel parameters (`systemControls[].namespace`): exact
/// names, then prefixes ending in `.`.
pub const SYSTEM_CONTROLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
    "fs.mqueue.",
    "net.",
];

const FIRELENS_LOG_DRIVER: &str = "awsfirelens";

fn fail(out: &mut Vec<Failure>, property: impl Into<String>, reason: impl Into<String>) {
    out.push(Failure {
        property: property.into(),
        reason: reason.into(),
    });
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn quoted<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let all: Vec<String> = items.into_iter().map(|s| format!("{s:?}")).collect();
    if all.is_empty() {
        "(none)".to_string()
    } else {
        all.join(", ")
    }
}

/// Every problem with the task-level settings (`volumes`, `ephemeralStorage`).
pub fn task(args: &ServiceArgs, out: &mut Vec<Failure>) {
    let fargate = args.is_fargate();
    let mut names = BTreeSet::new();
    for (i, v) in args.volumes.iter().flatten().enumerate() {
        let at = |f: &str| format!("volumes[{i}].{f}");
        if !valid_name(&v.name) {
            fail(
                out,
                at("name"),
                format!(
                    "volume name {:?} must be 1-255 letters, digits, '-' and '_'",
                    v.name
                ),
            );
        } else if !names.insert(v.name.as_str()) {
            fail(
                out,
                at("name"),
                format!("volume name {:?} is used twice", v.name),
            );
        }
        let kinds = [
            v.host.is_some(),
            v.efs_volume_configuration.is_some(),
            v.docker_volume_configuration.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            fail(
                out,
                format!("volumes[{i}]"),
                "give at most one of host, efsVolumeConfiguration and dockerVolumeConfiguration",
            );
        }
        if let Some(path) = v.host.as_ref().and_then(|h| h.source_path.as_deref()) {
            if fargate {
                fail(
                    out,
                    at("host.sourcePath"),
                    "Fargate does not mount host paths; omit sourcePath for a task-scoped bind mount, or use efsVolumeConfiguration",
                );
            } else if !path.starts_with('/') {
                fail(
                    out,
                    at("host.sourcePath"),
                    format!("{path:?} is not an absolute path"),
                );
            }
        }
        if let Some(d) = &v.docker_volume_configuration {
            if fargate {
                fail(
                    out,
                    at("dockerVolumeConfiguration"),
                    "Fargate does not support Docker volumes; valid volume kinds on Fargate: a bind mount (no host.sourcePath) or efsVolumeConfiguration",
                );
            }
            if d.autoprovision == Some(true)
                && d.scope.unwrap_or(DockerVolumeScope::Task) != DockerVolumeScope::Shared
            {
                fail(
                    out,
                    at("dockerVolumeConfiguration.autoprovision"),
                    "autoprovision needs scope \"shared\"",
                );
            }
        }
        if let Some(e) = &v.efs_volume_configuration {
            let at = |f: &str| format!("volumes[{i}].efsVolumeConfiguration.{f}");
            if !e.file_system_id.starts_with("fs-") {
                fail(
                    out,
                    at("fileSystemId"),
                    format!(
                        "{:?} is not an EFS file system ID (fs-...)",
                        e.file_system_id
                    ),
                );
            }
            let encrypted = e.transit_encryption == Some(Toggle::Enabled);
            if let Some(port) = e.transit_encryption_port {
                if !(1..=65535).contains(&port) {
                    fail(
                        out,
                        at("transitEncryptionPort"),
                        format!("{port} is not a port (1-65535)"),
                    );
                } else if !encrypted {
                    fail(
                        out,
                        at("transitEncryptionPort"),
                        "needs transitEncryption \"ENABLED\"",
                    );
                }
            }
            if let Some(a) = &e.authorization_config {
                if a.iam == Some(Toggle::Enabled) && !encrypted {
                    fail(
                        out,
                        at("authorizationConfig.iam"),
                        "IAM authorization needs transitEncryption \"ENABLED\"",
                    );
                }
                if a.access_point_id.as_deref().is_some_and(|p| !p.is_empty()) {
                    if !encrypted {
                        fail(
                            out,
                            at("authorizationConfig.accessPointId"),
                            "an access point needs transitEncryption \"ENABLED\"",
                        );
                    }
                    if e.root_directory.as_deref().is_some_and(|r| r != "/") {
                        fail(
                            out,
                            at("rootDirectory"),
                            "with an access point rootDirectory must be omitted or \"/\" (the access point sets the directory)",
                        );
                    }
                }
            }
        }
    }
    if let Some(e) = &args.ephemeral_storage {
        if !fargate {
            fail(
                out,
                "ephemeralStorage",
                "ephemeral storage can be set only for Fargate tasks",
            );
        } else if !(20..=200).contains(&e.size_in_gi_b) {
            fail(
                out,
                "ephemeralStorage.sizeInGiB",
                format!("{} GiB is outside 20-200", e.size_in_gi_b),
            );
        }
    }
}

/// Every problem with the container-level settings of every container.
pub fn containers(args: &ServiceArgs, out: &mut Vec<Failure>) {
    let volumes: BTreeSet<&str> = args
        .volumes
        .iter()
        .flatten()
        .map(|v| v.name.as_str())
        .collect();
    let mode = args.network_mode_or_default();
    let fargate = args.is_fargate();
    let routers: Vec<usize> = args
        .containers
        .iter()
        .enumerate()
        .filter(|(_, c)| c.firelens_configuration.is_some())
        .map(|(i, _)| i)
        .collect();
    for (i, c) in args.containers.iter().enumerate() {
        let at = |f: &str| format!("containers[{i}].{f}");
        mounts(args, c, &volumes, &at, out);
        repository_credentials(args, i, c, &at, out);
        if c.docker_labels.iter().flatten().any(|(k, _)| k.is_empty()) {
            fail(out, at("dockerLabels"), "label names must not be empty");
        }
        ulimits(c, &at, out);
        linux(c, fargate, &at, out);
        system_controls(c, mode, &at, out);
        extra_hosts(c, mode, &at, out);
        firelens(c, i, &routers, fargate, &at, out);
        let firelens_logging = c
            .log_configuration
            .as_ref()
            .is_some_and(|l| l.log_driver == FIRELENS_LOG_DRIVER);
        if firelens_logging && routers.is_empty() {
            fail(
                out,
                at("logConfiguration.logDriver"),
                "awsfirelens needs a container with firelensConfiguration in the task",
            );
        }
        if let Some(t) = c.start_timeout {
            let max = if fargate { 120 } else { i32::MAX };
            if t < 2 || t > max {
                fail(
                    out,
                    at("startTimeout"),
                    if fargate {
                        format!("{t} is outside 2-120 seconds (the Fargate limits)")
                    } else {
                        format!("{t} is less than 2 seconds")
                    },
                );
            }
        }
    }
}

/// `repositoryCredentials`: a Secrets Manager ARN, read by the execution role.
fn repository_credentials(
    args: &ServiceArgs,
    i: usize,
    c: &ContainerArgs,
    at: &dyn Fn(&str) -> String,
    out: &mut Vec<Failure>,
) {
    if let Some(r) = &c.repository_credentials {
        if !is_secret_arn(&r.credentials_parameter) {
            fail(
                out,
                at("repositoryCredentials.credentialsParameter"),
                format!(
                    "{:?} is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)",
                    r.credentials_parameter
                ),
            );
        }
        if args.execution_role_arn.as_deref().is_none_or(str::is_empty) {
            // On executionRoleArn, so an ARN that is still unknown in
            // preview (a role made in the same program) is not a failure.
            fail(
                out,
                "executionRoleArn",
                format!(
                    "containers[{i}].repositoryCredentials needs executionRoleArn (the role that reads the secret)"
                ),
            );
        }
    }
}

/// `ulimits`: each name once, limits not negative, soft within hard.
fn ulimits(c: &ContainerArgs, at: &dyn Fn(&str) -> String, out: &mut Vec<Failure>) {
    let mut seen = BTreeSet::new();
    for (j, u) in c.ulimits.iter().flatten().enumerate() {
        let at = |f: &str| at(&format!("ulimits[{j}].{f}"));
        if !seen.insert(u.name) {
            fail(out, at("name"), format!("ulimit {} is set twice", u.name));
        }
        if u.soft_limit < 0 || u.hard_limit < 0 {
            fail(out, at("softLimit"), "limits must not be negative");
        } else if u.soft_limit > u.hard_limit {
            fail(
                out,
                at("softLimit"),
                format!(
                    "softLimit {} exceeds hardLimit {}",
                    u.soft_limit, u.hard_limit
                ),
            );
        }
    }
}

/// `systemControls`: known namespaced parameters, each once, no `net.*` with
/// host networking.
fn system_controls(
    c: &ContainerArgs,
    mode: NetworkMode,
    at: &dyn Fn(&str) -> String,
    out: &mut Vec<Failure>,
) {
    let mut namespaces = BTreeSet::new();
    for (j, s) in c.system_controls.iter().flatten().enumerate() {
        let at = at(&format!("systemControls[{j}].namespace"));
        let known = SYSTEM_CONTROLS.iter().any(|n| {
            if n.ends_with('.') {
                s.namespace.starts_with(n) && s.namespace.len() > n.len()
            } else {
                s.namespace == *n
            }
        });
        if !known {
            fail(
                out,
                at,
                format!(
                    "{:?} is not a namespaced kernel parameter; valid values: {}",
                    s.namespace,
                    SYSTEM_CONTROLS
                        .iter()
                        .map(|n| if n.ends_with('.') {
                            format!("{n}*")
                        } else {
                            n.to_string()
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        } else if mode == NetworkMode::Host && s.namespace.starts_with("net.") {
            fail(
                out,
                at,
                "net.* parameters cannot be set with host networking",
            );
        } else if !namespaces.insert(s.namespace.as_str()) {
            fail(out, at, format!("{} is set twice", s.namespace));
        }
    }
}

/// `extraHosts`: not with awsvpc networking; a hostname and an IP address each.
fn extra_hosts(
    c: &ContainerArgs,
    mode: NetworkMode,
    at: &dyn Fn(&str) -> String,
    out: &mut Vec<Failure>,
) {
    for (j, h) in c.extra_hosts.iter().flatten().enumerate() {
        if mode == NetworkMode::Awsvpc {
            fail(
                out,
                at("extraHosts"),
                "extraHosts is not supported with awsvpc networking (and so not on Fargate); valid network modes: bridge, host",
            );
            break;
        }
        if h.hostname.is_empty() {
            fail(
                out,
                at(&format!("extraHosts[{j}].hostname")),
                "hostname is required",
            );
        }
        if h.ip_address.parse::<IpAddr>().is_err() {
            fail(
                out,
                at(&format!("extraHosts[{j}].ipAddress")),
                format!("{:?} is not an IPv4 or IPv6 address", h.ip_address),
            );
        }
    }
}

/// `firelensConfiguration`: one log router per task, and its options.
fn firelens(
    c: &ContainerArgs,
    i: usize,
    routers: &[usize],
    fargate: bool,
    at: &dyn Fn(&str) -> String,
    out: &mut Vec<Failure>,
) {
    if let Some(f) = &c.firelens_configuration {
        if routers.len() > 1 && routers[0] != i {
            fail(
                out,
                at("firelensConfiguration"),
                format!(
                    "only one container per task can be the FireLens log router; containers[{}] already is",
                    routers[0]
                ),
            );
        }
        let options = f.options.clone().unwrap_or_default();
        let file_type = options.get("config-file-type").map(String::as_str);
        match file_type {
            None | Some("file") => {}
            Some("s3") if fargate => fail(
                out,
                at("firelensConfiguration.options[\"config-file-type\"]"),
                "Fargate reads FireLens config files only from the image; valid values on Fargate: file",
            ),
            Some("s3") => {}
            Some(other) => fail(
                out,
                at("firelensConfiguration.options[\"config-file-type\"]"),
                format!("{other:?} is not a config file type; valid values: s3, file"),
            ),
        }
        if file_type.is_some() && !options.contains_key("config-file-value") {
            fail(
                out,
                at("firelensConfiguration.options"),
                "config-file-type needs config-file-value (the file path or S3 ARN)",
            );
        }
        if let Some(v) = options.get("enable-ecs-log-metadata") {
            if v != "true" && v != "false" {
                fail(
                    out,
                    at("firelensConfiguration.options[\"enable-ecs-log-metadata\"]"),
                    format!("{v:?} is not valid; valid values: true, false"),
                );
            }
        }
    }
}

fn mounts(
    args: &ServiceArgs,
    c: &ContainerArgs,
    volumes: &BTreeSet<&str>,
    at: &dyn Fn(&str) -> String,
    out: &mut Vec<Failure>,
) {
    let mut paths = BTreeSet::new();
    for (j, m) in c.mount_points.iter().flatten().enumerate() {
        let at = |f: &str| at(&format!("mountPoints[{j}].{f}"));
        if !volumes.contains(m.source_volume.as_str()) {
            fail(
                out,
                at("sourceVolume"),
                format!(
                    "{:?} is not a volume of this task; valid values: {}",
                    m.source_volume,
                    quoted(volumes.iter().copied())
                ),
            );
        }
        if !m.container_path.starts_with('/') {
            fail(
                out,
                at("containerPath"),
                format!("{:?} is not an absolute path", m.container_path),
            );
        } else if !paths.insert(m.container_path.as_str()) {
            fail(
                out,
                at("containerPath"),
                format!("{} is mounted twice", m.container_path),
            );
        }
    }
    let others: Vec<&str> = args
        .containers
        .iter()
        .map(|o| o.name.as_str())
        .filter(|n| *n != c.name)
        .collect();
    for (j, v) in c.volumes_from.iter().flatten().enumerate() {
        if !others.contains(&v.source_container.as_str()) {
            fail(
                out,
                at(&format!("volumesFrom[{j}].sourceContainer")),
                format!(
                    "{:?} is not another container of this task; valid values: {}",
                    v.source_container,
                    quoted(others.iter().copied())
                ),
            );
        }
    }
}

fn linux(c: &ContainerArgs, fargate: bool, at: &dyn Fn(&str) -> String, out: &mut Vec<Failure>) {
    let Some(p) = &c.linux_parameters else {
        return;
    };
    let at = |f: &str| at(&format!("linuxParameters.{f}"));
    if let Some(caps) = &p.capabilities {
        for (field, list) in [("add", &caps.add), ("drop", &caps.drop)] {
            for (k, cap) in list.iter().flatten().enumerate() {
                let prop = at(&format!("capabilities.{field}[{k}]"));
                if !CAPABILITIES.contains(&cap.as_str()) {
                    fail(
                        out,
                        prop,
                        format!(
                            "{cap:?} is not a Linux capability; valid values: {}",
                            CAPABILITIES.join(", ")
                        ),
                    );
                } else if fargate && field == "add" && cap != "SYS_PTRACE" {
                    fail(
                        out,
                        prop,
                        format!("Fargate can add only SYS_PTRACE, not {cap}; valid values on Fargate: SYS_PTRACE"),
                    );
                }
            }
        }
    }
    let ec2_only = [
        ("sharedMemorySize", p.shared_memory_size.is_some()),
        ("tmpfs", p.tmpfs.as_ref().is_some_and(|t| !t.is_empty())),
        ("maxSwap", p.max_swap.is_some()),
        (
            "swappiness",
            p.swappiness
                .is_some_and(|s| s != super::normal::DEFAULT_SWAPPINESS),
        ),
    ];
    for (field, set) in ec2_only {
        if fargate && set {
            fail(
                out,
                at(field),
                format!("{field} is not supported on Fargate (EC2 and EXTERNAL only)"),
            );
        }
    }
    if p.shared_memory_size.is_some_and(|s| s <= 0) {
        fail(out, at("sharedMemorySize"), "must be at least 1 MiB");
    }
    if p.max_swap.is_some_and(|s| s < 0) {
        fail(out, at("maxSwap"), "must not be negative");
    }
    if let Some(s) = p.swappiness.filter(|s| !(0..=100).contains(s)) {
        fail(out, at("swappiness"), format!("{s} is outside 0-100"));
    }
    for (k, t) in p.tmpfs.iter().flatten().enumerate() {
        if !t.container_path.starts_with('/') {
            fail(
                out,
                at(&format!("tmpfs[{k}].containerPath")),
                format!("{:?} is not an absolute path", t.container_path),
            );
        }
        if t.size <= 0 {
            fail(
                out,
                at(&format!("tmpfs[{k}].size")),
                "must be at least 1 MiB",
            );
        }
    }
}

fn is_secret_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    parts.len() == 7
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "secretsmanager"
        && parts[5] == "secret"
        && !parts[6].is_empty()
}

/// Every problem with the service-level settings.
pub fn service(args: &ServiceArgs, out: &mut Vec<Failure>) {
    let mode = args.network_mode_or_default();
    let fargate = args.is_fargate();
    service_connect(args, mode, out);
    service_registries(args, out);
    placement(args, fargate, out);
    if let Some(d) = &args.deployment_controller {
        if d.r#type != DeploymentControllerType::Ecs {
            fail(
                out,
                "deploymentController.type",
                format!(
                    "{} is not supported yet: this resource deploys new revisions with ECS rolling deployments; valid values: ECS",
                    d.r#type
                ),
            );
        }
    }
    if args.availability_zone_rebalancing == Some(Toggle::Enabled)
        && args.launch_type == Some(LaunchType::External)
    {
        fail(
            out,
            "availabilityZoneRebalancing",
            "EXTERNAL services cannot rebalance across Availability Zones; valid values with EXTERNAL: DISABLED",
        );
    }
}

/// `serviceConnectConfiguration`: awsvpc or bridge networking, port names
/// that exist, discovery names used once, ports in range.
fn service_connect(args: &ServiceArgs, mode: NetworkMode, out: &mut Vec<Failure>) {
    if let Some(sc) = args
        .service_connect_configuration
        .as_ref()
        .filter(|c| c.enabled.unwrap_or(true))
    {
        if !matches!(mode, NetworkMode::Awsvpc | NetworkMode::Bridge) {
            fail(
                out,
                "serviceConnectConfiguration",
                format!("Service Connect needs awsvpc or bridge networking, not {mode}"),
            );
        }
        let port_names: BTreeSet<&str> = args
            .containers
            .iter()
            .flat_map(|c| c.port_mappings.iter().flatten())
            .filter_map(|p| p.name.as_deref())
            .collect();
        let mut discovery = BTreeSet::new();
        for (j, s) in sc.services.iter().flatten().enumerate() {
            let at = |f: &str| format!("serviceConnectConfiguration.services[{j}].{f}");
            if !port_names.contains(s.port_name.as_str()) {
                fail(
                    out,
                    at("portName"),
                    format!(
                        "{:?} is not the name of a container port mapping; valid values: {}",
                        s.port_name,
                        quoted(port_names.iter().copied())
                    ),
                );
            }
            let name = s.discovery_name.as_deref().unwrap_or(&s.port_name);
            if !discovery.insert(name.to_string()) {
                fail(
                    out,
                    at("discoveryName"),
                    format!("discovery name {name:?} is used twice"),
                );
            }
            for (k, a) in s.client_aliases.iter().flatten().enumerate() {
                if !(1..=65535).contains(&a.port) {
                    fail(
                        out,
                        at(&format!("clientAliases[{k}].port")),
                        format!("{} is not a port (1-65535)", a.port),
                    );
                }
            }
            if let Some(p) = s.ingress_port_override {
                if !(1..=65535).contains(&p) {
                    fail(
                        out,
                        at("ingressPortOverride"),
                        format!("{p} is not a port (1-65535)"),
                    );
                }
            }
        }
    }
}

/// `serviceRegistries`: one, pointing at a port the task has.
fn service_registries(args: &ServiceArgs, out: &mut Vec<Failure>) {
    let registries = args.service_registries.as_deref().unwrap_or_default();
    if registries.len() > 1 {
        fail(
            out,
            "serviceRegistries",
            "ECS supports one service registry per service",
        );
    }
    for (j, r) in registries.iter().enumerate() {
        let at = |f: &str| format!("serviceRegistries[{j}].{f}");
        if !r.registry_arn.starts_with("arn:") || !r.registry_arn.contains(":servicediscovery:") {
            fail(
                out,
                at("registryArn"),
                format!(
                    "{:?} is not a Cloud Map service ARN (arn:aws:servicediscovery:...)",
                    r.registry_arn
                ),
            );
        }
        if let Some(p) = r.port.filter(|p| !(1..=65535).contains(p)) {
            fail(out, at("port"), format!("{p} is not a port (1-65535)"));
        }
        match (&r.container_name, r.container_port) {
            (Some(name), port) => match args.containers.iter().find(|c| &c.name == name) {
                None => fail(
                    out,
                    at("containerName"),
                    format!(
                        "{name:?} is not a container of this task; valid values: {}",
                        quoted(args.containers.iter().map(|c| c.name.as_str()))
                    ),
                ),
                Some(c) => {
                    if let Some(port) = port {
                        let mapped = c
                            .port_mappings
                            .iter()
                            .flatten()
                            .any(|p| p.container_port == Some(port));
                        if !mapped {
                            fail(
                                out,
                                at("containerPort"),
                                format!("container {name:?} has no port mapping for {port}"),
                            );
                        }
                    }
                }
            },
            (None, Some(_)) => fail(
                out,
                at("containerName"),
                "containerPort needs containerName",
            ),
            (None, None) => {}
        }
    }
}

/// `placementConstraints` and `placementStrategy`: not on Fargate, within
/// ECS's limits, with fields their type takes.
fn placement(args: &ServiceArgs, fargate: bool, out: &mut Vec<Failure>) {
    let placement_on_fargate = |out: &mut Vec<Failure>, property: &str| {
        fail(
            out,
            property,
            "task placement is not supported on Fargate (EC2 and EXTERNAL only)",
        )
    };
    let constraints = args.placement_constraints.as_deref().unwrap_or_default();
    if fargate && !constraints.is_empty() {
        placement_on_fargate(out, "placementConstraints");
    }
    if constraints.len() > 10 {
        fail(
            out,
            "placementConstraints",
            "ECS allows at most 10 placement constraints",
        );
    }
    for (j, c) in constraints.iter().enumerate() {
        let has = c.expression.as_deref().is_some_and(|e| !e.is_empty());
        match c.r#type {
            PlacementConstraintType::MemberOf if !has => fail(
                out,
                format!("placementConstraints[{j}].expression"),
                "memberOf needs an expression, e.g. \"attribute:ecs.instance-type =~ t3.*\"",
            ),
            PlacementConstraintType::DistinctInstance if has => fail(
                out,
                format!("placementConstraints[{j}].expression"),
                "distinctInstance takes no expression",
            ),
            _ => {}
        }
    }
    let strategy = args.placement_strategy.as_deref().unwrap_or_default();
    if fargate && !strategy.is_empty() {
        placement_on_fargate(out, "placementStrategy");
    }
    if strategy.len() > 5 {
        fail(
            out,
            "placementStrategy",
            "ECS allows at most 5 placement strategy rules",
        );
    }
    for (j, s) in strategy.iter().enumerate() {
        let at = format!("placementStrategy[{j}].field");
        let field = s.field.as_deref().filter(|f| !f.is_empty());
        match (s.r#type, field) {
            (PlacementStrategyType::Binpack, f)
                if !f.is_some_and(|f| {
                    f.eq_ignore_ascii_case("cpu") || f.eq_ignore_ascii_case("memory")
                }) =>
            {
                fail(
                    out,
                    at,
                    "binpack packs by a resource; valid values: cpu, memory",
                )
            }
            (PlacementStrategyType::Spread, None) => fail(
                out,
                at,
                "spread needs a field, e.g. \"instanceId\" or \"attribute:ecs.availability-zone\"",
            ),
            (PlacementStrategyType::Random, Some(_)) => fail(out, at, "random takes no field"),
            _ => {}
        }
    }
}
