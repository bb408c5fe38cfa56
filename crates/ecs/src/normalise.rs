//! Container, task and service settings in one canonical form: the way ECS
//! stores them, defaults filled in, order-insensitive lists sorted.
//!
//! Diff compares these forms, not the raw inputs, so reordering a map or
//! restating a default is no change; the same forms are what gets registered,
//! so what was compared is exactly what ECS receives.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::args::{
    CapacityProviderStrategyItem, ContainerArgs, LoadBalancer, NetworkMode, ServiceArgs,
};
use crate::settings::normal::{
    self as settings, NormalContainerSettings, NormalServiceSettings, NormalTaskSettings,
};

/// A container definition as ECS stores it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalContainer {
    pub name: String,
    /// Digest-pinned image reference.
    pub image: String,
    /// ECS stores 0 when unset.
    #[serde(default)]
    pub cpu: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,
    pub essential: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entry_point: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub environment: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Sorted by (containerPort, protocol, hostPort).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<NormalPortMapping>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<NormalHealthCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<NormalLogConfiguration>,
    /// Sorted by container name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NormalDependency>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub readonly_root_filesystem: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i32>,
    /// Volumes, labels, ulimits, Linux parameters, ... (see `settings`).
    #[serde(flatten, default)]
    pub settings: NormalContainerSettings,
}

#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NormalPortMapping {
    pub container_port: i32,
    /// `tcp` or `udp`.
    pub protocol: String,
    /// Equal to containerPort under awsvpc/host networking; 0 (dynamic) under bridge.
    pub host_port: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalHealthCheck {
    pub command: Vec<String>,
    pub interval: i32,
    pub timeout: i32,
    pub retries: i32,
    pub start_period: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalLogConfiguration {
    pub log_driver: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NormalDependency {
    pub container_name: String,
    pub condition: String,
}

/// Task-level settings of a task definition, normalised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalTask {
    pub family: String,
    /// CPU units as a number (ECS stores a string such as "256").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// MiB as a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    pub network_mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    /// Absent when X86_64/LINUX (the ECS default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<String>,
    /// `FARGATE`, `EC2` or `EXTERNAL` (sorted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_compatibilities: Vec<String>,
    /// Volumes and ephemeral storage (see `settings`).
    #[serde(flatten, default)]
    pub settings: NormalTaskSettings,
}

/// Service-level settings (the ones UpdateService can change), normalised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalService {
    pub desired_count: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NormalNetwork>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub load_balancers: Vec<LoadBalancer>,
    pub health_check_grace_period_seconds: i32,
    pub deployment_circuit_breaker: NormalCircuitBreaker,
    pub deployment_configuration: NormalDeploymentConfiguration,
    pub enable_execute_command: bool,
    pub propagate_tags: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Service Connect, registries, placement, ... (see `settings`).
    #[serde(flatten)]
    pub settings: NormalServiceSettings,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalNetwork {
    pub subnets: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalCircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalDeploymentConfiguration {
    pub minimum_healthy_percent: i32,
    pub maximum_percent: i32,
}

/// A container has no entry in the resolved images map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("container {container}: image {image} was not resolved to a digest")]
pub struct UnresolvedImage {
    pub container: String,
    pub image: String,
}

const DEFAULT_HEALTH_INTERVAL: i32 = 30;
const DEFAULT_HEALTH_TIMEOUT: i32 = 5;
const DEFAULT_HEALTH_RETRIES: i32 = 3;

/// The container definitions to register for `args`, in input order, with
/// each image replaced by its pinned reference from `images`.
pub fn containers(
    args: &ServiceArgs,
    images: &BTreeMap<String, String>,
) -> Result<Vec<NormalContainer>, UnresolvedImage> {
    let mode = args.network_mode_or_default();
    args.containers
        .iter()
        .map(|c| {
            let image = images.get(&c.name).ok_or_else(|| UnresolvedImage {
                container: c.name.clone(),
                image: c.image.clone(),
            })?;
            Ok(container(c, image, mode))
        })
        .collect()
}

/// One container, normalised, with `image` as its (pinned) image.
pub fn container(c: &ContainerArgs, image: &str, mode: NetworkMode) -> NormalContainer {
    let mut ports: Vec<NormalPortMapping> = c
        .port_mappings
        .iter()
        .flatten()
        .filter_map(|p| {
            let container_port = p.container_port?;
            let host_port = match (p.host_port, mode) {
                (Some(h), _) => h,
                (None, NetworkMode::Awsvpc | NetworkMode::Host) => container_port,
                (None, _) => 0,
            };
            Some(NormalPortMapping {
                container_port,
                protocol: p.protocol.map(|p| p.as_str()).unwrap_or("tcp").to_string(),
                host_port,
                name: non_empty(p.name.as_deref()),
            })
        })
        .collect();
    ports.sort();
    let mut depends_on: Vec<NormalDependency> = c
        .depends_on
        .iter()
        .flatten()
        .map(|d| NormalDependency {
            container_name: d.container_name.clone(),
            condition: d.condition.as_str().to_string(),
        })
        .collect();
    depends_on.sort();
    NormalContainer {
        name: c.name.clone(),
        image: image.to_string(),
        cpu: c.cpu.unwrap_or(0),
        memory: c.memory,
        memory_reservation: c.memory_reservation,
        essential: c.essential.unwrap_or(true),
        command: c.command.clone().unwrap_or_default(),
        entry_point: c.entry_point.clone().unwrap_or_default(),
        working_directory: non_empty(c.working_directory.as_deref()),
        user: non_empty(c.user.as_deref()),
        environment: c.environment.clone().unwrap_or_default(),
        secrets: c.secrets.clone().unwrap_or_default(),
        port_mappings: ports,
        health_check: c.health_check.as_ref().map(|h| NormalHealthCheck {
            command: h.command.clone(),
            interval: h.interval.unwrap_or(DEFAULT_HEALTH_INTERVAL),
            timeout: h.timeout.unwrap_or(DEFAULT_HEALTH_TIMEOUT),
            retries: h.retries.unwrap_or(DEFAULT_HEALTH_RETRIES),
            start_period: h.start_period.unwrap_or(0),
        }),
        log_configuration: c
            .log_configuration
            .as_ref()
            .map(|l| NormalLogConfiguration {
                log_driver: l.log_driver.clone(),
                options: l.options.clone().unwrap_or_default(),
            }),
        depends_on,
        readonly_root_filesystem: c.readonly_root_filesystem.unwrap_or(false),
        stop_timeout: c.stop_timeout,
        settings: settings::container(c),
    }
}

/// Task-level settings for `args`. `family` defaults to the service name.
pub fn task(args: &ServiceArgs) -> NormalTask {
    let family = args
        .family
        .clone()
        .or_else(|| args.name.clone())
        .unwrap_or_default();
    let (arch, os) = match &args.runtime_platform {
        Some(p) => {
            let arch = p.cpu_architecture.map(|a| a.as_str().to_string());
            let os = non_empty(p.operating_system_family.as_deref());
            platform(arch, os)
        }
        None => (None, None),
    };
    let mut compat: Vec<String> = match args.effective_launch_type() {
        Some(t) => vec![t.as_str().to_string()],
        None if args.is_fargate() => vec!["FARGATE".to_string()],
        None => vec!["EC2".to_string()],
    };
    compat.sort();
    NormalTask {
        family,
        cpu: args.cpu,
        memory: args.memory,
        network_mode: args.network_mode_or_default().as_str().to_string(),
        execution_role_arn: non_empty(args.execution_role_arn.as_deref()),
        task_role_arn: non_empty(args.task_role_arn.as_deref()),
        cpu_architecture: arch,
        operating_system_family: os,
        requires_compatibilities: compat,
        settings: settings::task(args),
    }
}

/// Drops the X86_64 / LINUX defaults so restating them is no change.
pub(crate) fn platform(
    arch: Option<String>,
    os: Option<String>,
) -> (Option<String>, Option<String>) {
    let arch = arch.filter(|a| a != "X86_64");
    let os = os.filter(|o| o != "LINUX");
    (arch, os)
}

/// Service-level settings for `args`.
pub fn service(args: &ServiceArgs) -> NormalService {
    let mut strategy = args.capacity_provider_strategy.clone().unwrap_or_default();
    for item in &mut strategy {
        item.weight = Some(item.weight.unwrap_or(0));
        item.base = Some(item.base.unwrap_or(0));
    }
    strategy.sort();
    let mut load_balancers = args.load_balancers.clone().unwrap_or_default();
    load_balancers.sort();
    let breaker = args.deployment_circuit_breaker.clone().unwrap_or_default();
    let deployment = args.deployment_configuration.clone().unwrap_or_default();
    NormalService {
        desired_count: args.desired_count.unwrap_or(1),
        platform_version: non_empty(args.platform_version.as_deref()).filter(|v| v != "LATEST"),
        capacity_provider_strategy: strategy,
        network_configuration: args.network_configuration.as_ref().map(|n| {
            let mut subnets = n.subnets.clone();
            subnets.sort();
            subnets.dedup();
            let mut groups = n.security_groups.clone().unwrap_or_default();
            groups.sort();
            groups.dedup();
            NormalNetwork {
                subnets,
                security_groups: groups,
                assign_public_ip: n.assign_public_ip.unwrap_or(false),
            }
        }),
        load_balancers,
        health_check_grace_period_seconds: args.health_check_grace_period_seconds.unwrap_or(0),
        deployment_circuit_breaker: NormalCircuitBreaker {
            enable: breaker.enable.unwrap_or(true),
            rollback: breaker.rollback.unwrap_or(true),
        },
        deployment_configuration: NormalDeploymentConfiguration {
            minimum_healthy_percent: deployment.minimum_healthy_percent.unwrap_or(100),
            maximum_percent: deployment.maximum_percent.unwrap_or(200),
        },
        enable_execute_command: args.enable_execute_command.unwrap_or(false),
        propagate_tags: args
            .propagate_tags
            .map(|p| p.as_str())
            .unwrap_or("NONE")
            .to_string(),
        tags: args.tags.clone().unwrap_or_default(),
        settings: settings::service(args),
    }
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{PortMapping, Protocol};

    #[test]
    fn restated_defaults_normalise_to_the_same_container() {
        let plain = ContainerArgs {
            name: "web".into(),
            image: "app:1".into(),
            port_mappings: Some(vec![PortMapping {
                container_port: Some(80),
                ..Default::default()
            }]),
            ..Default::default()
        };
        let explicit = ContainerArgs {
            essential: Some(true),
            cpu: Some(0),
            environment: Some(BTreeMap::new()),
            command: Some(vec![]),
            readonly_root_filesystem: Some(false),
            port_mappings: Some(vec![PortMapping {
                container_port: Some(80),
                host_port: Some(80),
                protocol: Some(Protocol::Tcp),
                name: None,
            }]),
            ..plain.clone()
        };
        assert_eq!(
            container(&plain, "img", NetworkMode::Awsvpc),
            container(&explicit, "img", NetworkMode::Awsvpc)
        );
        assert_eq!(
            container(&plain, "img", NetworkMode::Bridge).port_mappings[0].host_port,
            0
        );
    }
}
