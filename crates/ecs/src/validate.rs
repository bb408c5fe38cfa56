//! Input checks that run in Check, before any AWS call.
//!
//! Everything ECS would reject that can be known from the inputs alone is
//! reported here, each failure naming the exact property, so a bad program
//! fails in preview instead of half-way through a deployment.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use crate::args::{LaunchType, NetworkMode, ServiceArgs};
use imagedeploy_reference::Reference;

/// One invalid property: `property` is a Pulumi property path such as
/// `containers[1].portMappings[0].containerPort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub property: String,
    pub reason: String,
}

impl Failure {
    fn new(property: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            property: property.into(),
            reason: reason.into(),
        }
    }
}

/// Fargate's valid task sizes: CPU units -> allowed memory in MiB.
pub fn fargate_memory_for(cpu: u32) -> Option<Vec<u32>> {
    let gib = |from: u32, to: u32, step: u32| {
        (from..=to)
            .step_by(step as usize)
            .map(|g| g * 1024)
            .collect()
    };
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => gib(1, 4, 1),
        1024 => gib(2, 8, 1),
        2048 => gib(4, 16, 1),
        4096 => gib(8, 30, 1),
        8192 => gib(16, 60, 4),
        16384 => gib(32, 120, 8),
        _ => return None,
    })
}

const FARGATE_CPUS: [u32; 7] = [256, 512, 1024, 2048, 4096, 8192, 16384];

/// Fills in the autoname when `name` is absent, then checks. Check's whole job.
pub fn prepare(
    mut args: ServiceArgs,
    resource_name: &str,
    random_seed: &[u8],
) -> Result<ServiceArgs, Vec<Failure>> {
    if args.name.is_none() {
        args.name = Some(autoname(resource_name, random_seed));
    }
    let failures = check(&args);
    if failures.is_empty() {
        Ok(args)
    } else {
        Err(failures)
    }
}

/// `resource_name` + `-` + 7 lowercase hex characters derived from
/// `random_seed`, cut to ECS's 255-character limit and stripped of
/// characters ECS names cannot hold. The same seed gives the same name.
pub fn autoname(resource_name: &str, random_seed: &[u8]) -> String {
    let suffix: String = hex::encode(Sha256::digest(random_seed))
        .chars()
        .take(7)
        .collect();
    let mut base = autoname_base(resource_name);
    base.truncate(MAX_NAME - suffix.len() - 1);
    format!("{base}-{suffix}")
}

/// What every autoname of `resource_name` starts with (before `-<suffix>`),
/// up to truncation.
pub fn autoname_base(resource_name: &str) -> String {
    let mut base: String = resource_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if base.is_empty() {
        base.push_str("service");
    }
    base.truncate(MAX_NAME - 8);
    base
}

const MAX_NAME: usize = 255;

fn check_name(property: &str, value: &str, what: &str) -> Option<Failure> {
    if value.is_empty() || value.len() > MAX_NAME {
        return Some(Failure::new(
            property,
            format!("{what} must be 1-255 characters"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Some(Failure::new(
            property,
            format!("{what} {value:?} may contain only letters, digits, '-' and '_'"),
        ));
    }
    None
}

/// Every problem in `args`; empty when the inputs are acceptable.
pub fn check(args: &ServiceArgs) -> Vec<Failure> {
    let mut out = Vec::new();
    if args.cluster.is_empty() {
        out.push(Failure::new(
            "cluster",
            "cluster is required (a name or an ARN)",
        ));
    }
    if let Some(name) = &args.name {
        out.extend(check_name("name", name, "service name"));
    }
    if let Some(family) = &args.family {
        out.extend(check_name("family", family, "family"));
    }
    check_placement(args, &mut out);
    check_task_size(args, &mut out);
    check_containers(args, &mut out);
    check_service(args, &mut out);
    crate::settings::check::task(args, &mut out);
    crate::settings::check::containers(args, &mut out);
    crate::settings::check::service(args, &mut out);
    out
}

fn check_placement(args: &ServiceArgs, out: &mut Vec<Failure>) {
    let strategy = args
        .capacity_provider_strategy
        .as_deref()
        .unwrap_or_default();
    if args.launch_type.is_some() && !strategy.is_empty() {
        out.push(Failure::new(
            "capacityProviderStrategy",
            "launchType and capacityProviderStrategy cannot both be set; choose one",
        ));
    }
    for (i, item) in strategy.iter().enumerate() {
        if item.capacity_provider.is_empty() {
            out.push(Failure::new(
                format!("capacityProviderStrategy[{i}].capacityProvider"),
                "capacity provider name is required",
            ));
        }
        // ECS's limits (CapacityProviderStrategyItem): weight 0-1000, base 0-100000.
        if let Some(weight) = item.weight.filter(|w| !(0..=1000).contains(w)) {
            out.push(Failure::new(
                format!("capacityProviderStrategy[{i}].weight"),
                format!("weight must be between 0 and 1000, got {weight}"),
            ));
        }
        if let Some(base) = item.base.filter(|b| !(0..=100_000).contains(b)) {
            out.push(Failure::new(
                format!("capacityProviderStrategy[{i}].base"),
                format!("base must be between 0 and 100000, got {base}"),
            ));
        }
    }
    let mode = args.network_mode_or_default();
    if args.is_fargate() && mode != NetworkMode::Awsvpc {
        out.push(Failure::new(
            "networkMode",
            format!("Fargate supports only the awsvpc network mode, not {mode}"),
        ));
    }
    if mode == NetworkMode::Awsvpc {
        match &args.network_configuration {
            None => out.push(Failure::new(
                "networkConfiguration",
                "awsvpc networking needs networkConfiguration with at least one subnet",
            )),
            Some(n) if n.subnets.is_empty() => out.push(Failure::new(
                "networkConfiguration.subnets",
                "at least one subnet is required",
            )),
            Some(_) => {}
        }
    }
    if args.launch_type == Some(LaunchType::External)
        && args.load_balancers.as_ref().is_some_and(|l| !l.is_empty())
    {
        out.push(Failure::new(
            "loadBalancers",
            "EXTERNAL services cannot use load balancers",
        ));
    }
}

fn check_task_size(args: &ServiceArgs, out: &mut Vec<Failure>) {
    if !args.is_fargate() {
        return;
    }
    match (args.cpu, args.memory) {
        (None, _) => out.push(Failure::new(
            "cpu",
            format!(
                "Fargate needs task-level cpu; valid values: {}",
                join(&FARGATE_CPUS)
            ),
        )),
        (Some(cpu), memory) => match fargate_memory_for(cpu) {
            None => out.push(Failure::new(
                "cpu",
                format!(
                    "{cpu} is not a Fargate cpu value; valid values: {}",
                    join(&FARGATE_CPUS)
                ),
            )),
            Some(valid) => match memory {
                None => out.push(Failure::new(
                    "memory",
                    format!(
                        "Fargate needs task-level memory; with cpu {cpu} valid values (MiB): {}",
                        join(&valid)
                    ),
                )),
                Some(m) if !valid.contains(&m) => out.push(Failure::new(
                    "memory",
                    format!(
                        "{m} MiB is not valid with cpu {cpu} on Fargate; valid values (MiB): {}",
                        join(&valid)
                    ),
                )),
                Some(_) => {}
            },
        },
    }
}

fn check_containers(args: &ServiceArgs, out: &mut Vec<Failure>) {
    if args.containers.is_empty() {
        out.push(Failure::new(
            "containers",
            "at least one container is required",
        ));
        return;
    }
    let mode = args.network_mode_or_default();
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    let names: BTreeSet<&str> = args.containers.iter().map(|c| c.name.as_str()).collect();
    let mut essential = false;
    for (i, c) in args.containers.iter().enumerate() {
        let at = |field: &str| format!("containers[{i}].{field}");
        out.extend(check_name(&at("name"), &c.name, "container name"));
        if let Some(first) = seen.insert(&c.name, i) {
            out.push(Failure::new(
                at("name"),
                format!(
                    "container name {:?} is already used by containers[{first}]",
                    c.name
                ),
            ));
            seen.insert(&c.name, first);
        }
        if let Err(e) = Reference::parse(&c.image) {
            out.push(Failure::new(
                at("image"),
                format!("not a valid image reference: {e}"),
            ));
        }
        essential |= c.essential.unwrap_or(true);
        for (field, value) in [
            ("cpu", c.cpu),
            ("memory", c.memory),
            ("memoryReservation", c.memory_reservation),
            ("stopTimeout", c.stop_timeout),
        ] {
            if value.is_some_and(|v| v < 0) {
                out.push(Failure::new(at(field), "must not be negative"));
            }
        }
        if let (Some(hard), Some(soft)) = (c.memory, c.memory_reservation) {
            if soft > hard {
                out.push(Failure::new(
                    at("memoryReservation"),
                    format!("memoryReservation {soft} exceeds memory {hard}"),
                ));
            }
        }
        for key in c.environment.iter().flatten().map(|(k, _)| k) {
            if key.is_empty() {
                out.push(Failure::new(
                    at("environment"),
                    "environment variable names must not be empty",
                ));
            }
        }
        for (key, value) in c.secrets.iter().flatten() {
            if value.is_empty() {
                out.push(Failure::new(
                    at(&format!("secrets.{key}")),
                    "needs the ARN (or SSM parameter name) to read the secret from",
                ));
            }
        }
        let mut ports = BTreeSet::new();
        for (j, p) in c.port_mappings.iter().flatten().enumerate() {
            let pat = |field: &str| at(&format!("portMappings[{j}].{field}"));
            match p.container_port {
                None => out.push(Failure::new(
                    pat("containerPort"),
                    "containerPort is required",
                )),
                Some(port) if !(1..=65535).contains(&port) => out.push(Failure::new(
                    pat("containerPort"),
                    format!("{port} is not a port (1-65535)"),
                )),
                Some(port) => {
                    if !ports.insert((port, p.protocol)) {
                        out.push(Failure::new(
                            pat("containerPort"),
                            format!("port {port} is mapped twice in this container"),
                        ));
                    }
                    if let Some(host) = p.host_port {
                        if matches!(mode, NetworkMode::Awsvpc | NetworkMode::Host) && host != port {
                            out.push(Failure::new(
                                pat("hostPort"),
                                format!("with {mode} networking hostPort must equal containerPort ({port}) or be omitted"),
                            ));
                        } else if !(0..=65535).contains(&host) {
                            out.push(Failure::new(
                                pat("hostPort"),
                                format!("{host} is not a port (0-65535)"),
                            ));
                        }
                    }
                }
            }
        }
        if let Some(h) = &c.health_check {
            if h.command.is_empty() {
                out.push(Failure::new(
                    at("healthCheck.command"),
                    "healthCheck.command is required, e.g. [\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]",
                ));
            }
            for (field, value, range) in [
                ("interval", h.interval, 5..=300),
                ("timeout", h.timeout, 2..=120),
                ("retries", h.retries, 1..=10),
                ("startPeriod", h.start_period, 0..=300),
            ] {
                if let Some(v) = value.filter(|v| !range.contains(v)) {
                    out.push(Failure::new(
                        at(&format!("healthCheck.{field}")),
                        format!("{v} is outside {}-{}", range.start(), range.end()),
                    ));
                }
            }
        }
        if let Some(l) = &c.log_configuration {
            if l.log_driver.is_empty() {
                out.push(Failure::new(
                    at("logConfiguration.logDriver"),
                    "logDriver is required",
                ));
            }
        }
        for (j, d) in c.depends_on.iter().flatten().enumerate() {
            if d.container_name == c.name || !names.contains(d.container_name.as_str()) {
                out.push(Failure::new(
                    at(&format!("dependsOn[{j}].containerName")),
                    format!(
                        "{:?} is not another container of this task",
                        d.container_name
                    ),
                ));
            }
        }
    }
    if !essential {
        out.push(Failure::new(
            "containers",
            "at least one container must be essential",
        ));
    }
}

fn check_service(args: &ServiceArgs, out: &mut Vec<Failure>) {
    if args.desired_count.is_some_and(|n| n < 0) {
        out.push(Failure::new("desiredCount", "must not be negative"));
    }
    if args
        .health_check_grace_period_seconds
        .is_some_and(|n| n < 0)
    {
        out.push(Failure::new(
            "healthCheckGracePeriodSeconds",
            "must not be negative",
        ));
    }
    if let Some(d) = &args.deployment_configuration {
        let min = d.minimum_healthy_percent.unwrap_or(100);
        let max = d.maximum_percent.unwrap_or(200);
        if !(0..=100).contains(&min) {
            out.push(Failure::new(
                "deploymentConfiguration.minimumHealthyPercent",
                "must be 0-100",
            ));
        }
        if max < 100 || max < min {
            out.push(Failure::new(
                "deploymentConfiguration.maximumPercent",
                "must be at least 100 and at least minimumHealthyPercent",
            ));
        }
    }
    for (i, lb) in args.load_balancers.iter().flatten().enumerate() {
        let Some(container) = args.containers.iter().find(|c| c.name == lb.container_name) else {
            out.push(Failure::new(
                format!("loadBalancers[{i}].containerName"),
                format!("{:?} is not a container of this task", lb.container_name),
            ));
            continue;
        };
        let exposed = container
            .port_mappings
            .iter()
            .flatten()
            .any(|p| p.container_port == Some(lb.container_port));
        if !exposed {
            out.push(Failure::new(
                format!("loadBalancers[{i}].containerPort"),
                format!(
                    "container {:?} has no port mapping for {}",
                    lb.container_name, lb.container_port
                ),
            ));
        }
    }
    if let Some(w) = &args.wait {
        if w.timeout_seconds == Some(0) {
            out.push(Failure::new("wait.timeoutSeconds", "must be at least 1"));
        }
    }
}

fn join(values: &[u32]) -> String {
    values
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn autoname_is_deterministic_and_fits_ecs_limits() {
        let a = autoname("web", b"seed-1");
        assert_eq!(a, autoname("web", b"seed-1"));
        assert_ne!(a, autoname("web", b"seed-2"));
        assert!(a.starts_with("web-") && a.len() == 11, "{a}");
        let long = autoname(&"x".repeat(400), b"s");
        assert_eq!(long.len(), 255);
        let odd = autoname("my.service/v2", b"s");
        assert!(odd.starts_with("my-service-v2-"), "{odd}");
        assert!(check_name("name", &odd, "n").is_none());
    }

    #[test]
    fn fargate_tables() {
        assert_eq!(fargate_memory_for(256), Some(vec![512, 1024, 2048]));
        assert_eq!(
            fargate_memory_for(4096).map(|v| (v[0], *v.last().unwrap())),
            Some((8192, 30720))
        );
        assert_eq!(fargate_memory_for(8192).map(|v| v.len()), Some(12));
        assert_eq!(fargate_memory_for(300), None);
    }
}
