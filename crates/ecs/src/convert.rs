//! Normalised forms to aws-sdk-ecs request types and back.
//!
//! Kept apart from the deploy logic so that what is registered is visibly
//! the normalised form field for field, and refresh reads a task definition
//! back into the very same form the diff compares.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;
use aws_smithy_types::error::operation::BuildError;

use crate::normalise::{
    NormalContainer, NormalDependency, NormalHealthCheck, NormalLogConfiguration, NormalNetwork,
    NormalPortMapping, NormalService, NormalTask,
};

pub(crate) fn container_definition(
    c: &NormalContainer,
) -> Result<ecs::ContainerDefinition, BuildError> {
    let mut b = ecs::ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .cpu(c.cpu)
        .essential(c.essential)
        .set_memory(c.memory)
        .set_memory_reservation(c.memory_reservation)
        .set_working_directory(c.working_directory.clone())
        .set_user(c.user.clone())
        .set_stop_timeout(c.stop_timeout);
    if !c.command.is_empty() {
        b = b.set_command(Some(c.command.clone()));
    }
    if !c.entry_point.is_empty() {
        b = b.set_entry_point(Some(c.entry_point.clone()));
    }
    for (name, value) in &c.environment {
        b = b.environment(ecs::KeyValuePair::builder().name(name).value(value).build());
    }
    for (name, from) in &c.secrets {
        b = b.secrets(ecs::Secret::builder().name(name).value_from(from).build()?);
    }
    for p in &c.port_mappings {
        b = b.port_mappings(
            ecs::PortMapping::builder()
                .container_port(p.container_port)
                .host_port(p.host_port)
                .protocol(ecs::TransportProtocol::from(p.protocol.as_str()))
                .set_name(p.name.clone())
                .build(),
        );
    }
    if let Some(h) = &c.health_check {
        b = b.health_check(
            ecs::HealthCheck::builder()
                .set_command(Some(h.command.clone()))
                .interval(h.interval)
                .timeout(h.timeout)
                .retries(h.retries)
                .set_start_period((h.start_period > 0).then_some(h.start_period))
                .build()?,
        );
    }
    if let Some(l) = &c.log_configuration {
        let mut lb = ecs::LogConfiguration::builder()
            .log_driver(ecs::LogDriver::from(l.log_driver.as_str()));
        for (k, v) in &l.options {
            lb = lb.options(k, v);
        }
        b = b.log_configuration(lb.build()?);
    }
    for d in &c.depends_on {
        b = b.depends_on(
            ecs::ContainerDependency::builder()
                .container_name(&d.container_name)
                .condition(ecs::ContainerCondition::from(d.condition.as_str()))
                .build()?,
        );
    }
    if c.readonly_root_filesystem {
        b = b.readonly_root_filesystem(true);
    }
    b = crate::settings::convert::container(b, &c.settings)?;
    Ok(b.build())
}

/// Reads a registered container definition back into normalised form.
pub(crate) fn normal_container(
    c: &ecs::ContainerDefinition,
    network_mode: &str,
) -> NormalContainer {
    let fixed_host = matches!(network_mode, "awsvpc" | "host");
    let mut ports: Vec<NormalPortMapping> = c
        .port_mappings()
        .iter()
        .filter_map(|p| {
            let container_port = p.container_port()?;
            Some(NormalPortMapping {
                container_port,
                protocol: p.protocol().map_or("tcp", |p| p.as_str()).to_string(),
                host_port: p
                    .host_port()
                    .unwrap_or(if fixed_host { container_port } else { 0 }),
                name: p.name().map(str::to_string),
            })
        })
        .collect();
    ports.sort();
    let mut depends_on: Vec<NormalDependency> = c
        .depends_on()
        .iter()
        .map(|d| NormalDependency {
            container_name: d.container_name().to_string(),
            condition: d.condition().as_str().to_string(),
        })
        .collect();
    depends_on.sort();
    NormalContainer {
        name: c.name().unwrap_or_default().to_string(),
        image: c.image().unwrap_or_default().to_string(),
        cpu: c.cpu(),
        memory: c.memory(),
        memory_reservation: c.memory_reservation(),
        essential: c.essential().unwrap_or(true),
        command: c.command().to_vec(),
        entry_point: c.entry_point().to_vec(),
        working_directory: c
            .working_directory()
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        user: c.user().filter(|s| !s.is_empty()).map(str::to_string),
        environment: c
            .environment()
            .iter()
            .filter_map(|kv| {
                Some((
                    kv.name()?.to_string(),
                    kv.value().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
        secrets: c
            .secrets()
            .iter()
            .map(|s| (s.name().to_string(), s.value_from().to_string()))
            .collect(),
        port_mappings: ports,
        health_check: c.health_check().map(|h| NormalHealthCheck {
            command: h.command().to_vec(),
            interval: h.interval().unwrap_or(30),
            timeout: h.timeout().unwrap_or(5),
            retries: h.retries().unwrap_or(3),
            start_period: h.start_period().unwrap_or(0),
        }),
        log_configuration: c.log_configuration().map(|l| NormalLogConfiguration {
            log_driver: l.log_driver().as_str().to_string(),
            options: l
                .options()
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        }),
        depends_on,
        readonly_root_filesystem: c.readonly_root_filesystem().unwrap_or(false),
        stop_timeout: c.stop_timeout(),
        settings: crate::settings::convert::read_container(c),
    }
}

/// Reads a registered task definition's task-level settings.
pub(crate) fn normal_task(td: &ecs::TaskDefinition) -> NormalTask {
    let (arch, os) = crate::normalise::platform(
        td.runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map(|a| a.as_str().to_string()),
        td.runtime_platform()
            .and_then(|p| p.operating_system_family())
            .map(|o| o.as_str().to_string()),
    );
    let mut compat: Vec<String> = td
        .requires_compatibilities()
        .iter()
        .map(|c| c.as_str().to_string())
        .collect();
    compat.sort();
    NormalTask {
        family: td.family().unwrap_or_default().to_string(),
        cpu: td.cpu().and_then(|c| c.trim().parse().ok()),
        memory: td.memory().and_then(|m| m.trim().parse().ok()),
        network_mode: td
            .network_mode()
            .map_or("bridge", |m| m.as_str())
            .to_string(),
        execution_role_arn: td.execution_role_arn().map(str::to_string),
        task_role_arn: td.task_role_arn().map(str::to_string),
        cpu_architecture: arch,
        operating_system_family: os,
        requires_compatibilities: compat,
        settings: crate::settings::convert::read_task(td),
    }
}

pub(crate) fn runtime_platform(t: &NormalTask) -> Option<ecs::RuntimePlatform> {
    if t.cpu_architecture.is_none() && t.operating_system_family.is_none() {
        return None;
    }
    Some(
        ecs::RuntimePlatform::builder()
            .set_cpu_architecture(
                t.cpu_architecture
                    .as_deref()
                    .map(ecs::CpuArchitecture::from),
            )
            .set_operating_system_family(
                t.operating_system_family
                    .as_deref()
                    .map(ecs::OsFamily::from),
            )
            .build(),
    )
}

pub(crate) fn tags(tags: &BTreeMap<String, String>) -> Option<Vec<ecs::Tag>> {
    if tags.is_empty() {
        return None;
    }
    Some(
        tags.iter()
            .map(|(k, v)| ecs::Tag::builder().key(k).value(v).build())
            .collect(),
    )
}

pub(crate) fn network(n: &NormalNetwork) -> Result<ecs::NetworkConfiguration, BuildError> {
    Ok(ecs::NetworkConfiguration::builder()
        .awsvpc_configuration(
            ecs::AwsVpcConfiguration::builder()
                .set_subnets(Some(n.subnets.clone()))
                .set_security_groups(
                    (!n.security_groups.is_empty()).then(|| n.security_groups.clone()),
                )
                .assign_public_ip(if n.assign_public_ip {
                    ecs::AssignPublicIp::Enabled
                } else {
                    ecs::AssignPublicIp::Disabled
                })
                .build()?,
        )
        .build())
}

pub(crate) fn normal_network(n: &ecs::NetworkConfiguration) -> Option<NormalNetwork> {
    let v = n.awsvpc_configuration()?;
    let mut subnets = v.subnets().to_vec();
    subnets.sort();
    let mut groups = v.security_groups().to_vec();
    groups.sort();
    Some(NormalNetwork {
        subnets,
        security_groups: groups,
        assign_public_ip: v.assign_public_ip() == Some(&ecs::AssignPublicIp::Enabled),
    })
}

pub(crate) fn deployment_configuration(s: &NormalService) -> ecs::DeploymentConfiguration {
    ecs::DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            ecs::DeploymentCircuitBreaker::builder()
                .enable(s.deployment_circuit_breaker.enable)
                .rollback(s.deployment_circuit_breaker.rollback)
                .build(),
        )
        .minimum_healthy_percent(s.deployment_configuration.minimum_healthy_percent)
        .maximum_percent(s.deployment_configuration.maximum_percent)
        .build()
}

pub(crate) fn load_balancers(s: &NormalService) -> Vec<ecs::LoadBalancer> {
    s.load_balancers
        .iter()
        .map(|lb| {
            ecs::LoadBalancer::builder()
                .target_group_arn(&lb.target_group_arn)
                .container_name(&lb.container_name)
                .container_port(lb.container_port)
                .build()
        })
        .collect()
}

pub(crate) fn capacity_provider_strategy(
    s: &NormalService,
) -> Result<Option<Vec<ecs::CapacityProviderStrategyItem>>, BuildError> {
    if s.capacity_provider_strategy.is_empty() {
        return Ok(None);
    }
    s.capacity_provider_strategy
        .iter()
        .map(|i| {
            ecs::CapacityProviderStrategyItem::builder()
                .capacity_provider(&i.capacity_provider)
                .weight(i.weight.unwrap_or(0))
                .base(i.base.unwrap_or(0))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}
