//! The production settings' normal forms to aws-sdk-ecs request types and
//! back, field for field, so that what refresh reads back compares equal to
//! what was registered.

use std::collections::BTreeMap;

use aws_sdk_ecs::types as ecs;
use aws_smithy_types::error::operation::BuildError;

use super::normal::{
    self, NormalCapabilities, NormalContainerSettings, NormalDockerVolume, NormalEfs,
    NormalHostEntry, NormalMountPoint, NormalPlacement, NormalServiceSettings, NormalSystemControl,
    NormalTaskSettings, NormalTmpfs, NormalUlimit, NormalVolume, NormalVolumeFrom,
};
use super::types::{DeploymentControllerType, ServiceRegistry};
use crate::normalise::NormalLogConfiguration;

type Builder = ecs::builders::ContainerDefinitionBuilder;

fn map(m: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    m.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

/// Adds the container-level settings to a container definition.
pub(crate) fn container(
    mut b: Builder,
    s: &NormalContainerSettings,
) -> Result<Builder, BuildError> {
    for m in &s.mount_points {
        b = b.mount_points(
            ecs::MountPoint::builder()
                .source_volume(&m.source_volume)
                .container_path(&m.container_path)
                .read_only(m.read_only)
                .build(),
        );
    }
    for v in &s.volumes_from {
        b = b.volumes_from(
            ecs::VolumeFrom::builder()
                .source_container(&v.source_container)
                .read_only(v.read_only)
                .build(),
        );
    }
    if let Some(r) = &s.repository_credentials {
        b = b.repository_credentials(
            ecs::RepositoryCredentials::builder()
                .credentials_parameter(&r.credentials_parameter)
                .build()?,
        );
    }
    for (k, v) in &s.docker_labels {
        b = b.docker_labels(k, v);
    }
    for u in &s.ulimits {
        b = b.ulimits(
            ecs::Ulimit::builder()
                .name(ecs::UlimitName::from(u.name.as_str()))
                .soft_limit(u.soft_limit)
                .hard_limit(u.hard_limit)
                .build()?,
        );
    }
    if let Some(p) = &s.linux_parameters {
        let mut lb = ecs::LinuxParameters::builder()
            .set_init_process_enabled(p.init_process_enabled.then_some(true))
            .set_shared_memory_size(p.shared_memory_size)
            .set_max_swap(p.max_swap)
            .set_swappiness(p.swappiness);
        if let Some(c) = &p.capabilities {
            lb = lb.capabilities(
                ecs::KernelCapabilities::builder()
                    .set_add((!c.add.is_empty()).then(|| c.add.clone()))
                    .set_drop((!c.drop.is_empty()).then(|| c.drop.clone()))
                    .build(),
            );
        }
        for t in &p.tmpfs {
            lb = lb.tmpfs(
                ecs::Tmpfs::builder()
                    .container_path(&t.container_path)
                    .size(t.size)
                    .set_mount_options(
                        (!t.mount_options.is_empty()).then(|| t.mount_options.clone()),
                    )
                    .build()?,
            );
        }
        b = b.linux_parameters(lb.build());
    }
    for c in &s.system_controls {
        b = b.system_controls(
            ecs::SystemControl::builder()
                .namespace(&c.namespace)
                .value(&c.value)
                .build(),
        );
    }
    for h in &s.extra_hosts {
        b = b.extra_hosts(
            ecs::HostEntry::builder()
                .hostname(&h.hostname)
                .ip_address(&h.ip_address)
                .build()?,
        );
    }
    if let Some(f) = &s.firelens_configuration {
        let mut fb = ecs::FirelensConfiguration::builder()
            .r#type(ecs::FirelensConfigurationType::from(f.r#type.as_str()));
        for (k, v) in &f.options {
            fb = fb.options(k, v);
        }
        b = b.firelens_configuration(fb.build()?);
    }
    Ok(b.set_start_timeout(s.start_timeout))
}

/// Reads the container-level settings of a registered container definition.
pub(crate) fn read_container(c: &ecs::ContainerDefinition) -> NormalContainerSettings {
    NormalContainerSettings {
        mount_points: sorted(
            c.mount_points()
                .iter()
                .map(|m| NormalMountPoint {
                    container_path: m.container_path().unwrap_or_default().to_string(),
                    source_volume: m.source_volume().unwrap_or_default().to_string(),
                    read_only: m.read_only().unwrap_or(false),
                })
                .collect(),
        ),
        volumes_from: sorted(
            c.volumes_from()
                .iter()
                .map(|v| NormalVolumeFrom {
                    source_container: v.source_container().unwrap_or_default().to_string(),
                    read_only: v.read_only().unwrap_or(false),
                })
                .collect(),
        ),
        repository_credentials: c.repository_credentials().map(|r| {
            normal::NormalRepositoryCredentials {
                credentials_parameter: r.credentials_parameter().to_string(),
            }
        }),
        docker_labels: map(c.docker_labels()),
        ulimits: sorted(
            c.ulimits()
                .iter()
                .map(|u| NormalUlimit {
                    name: u.name().as_str().to_string(),
                    soft_limit: u.soft_limit(),
                    hard_limit: u.hard_limit(),
                })
                .collect(),
        ),
        linux_parameters: c.linux_parameters().and_then(|p| {
            normal::linux_parts(
                p.init_process_enabled().unwrap_or(false),
                p.capabilities().map(|k| NormalCapabilities {
                    add: sorted(k.add().to_vec()),
                    drop: sorted(k.drop().to_vec()),
                }),
                p.shared_memory_size(),
                p.tmpfs()
                    .iter()
                    .map(|t| NormalTmpfs {
                        container_path: t.container_path().to_string(),
                        size: t.size(),
                        mount_options: sorted(t.mount_options().to_vec()),
                    })
                    .collect(),
                p.max_swap(),
                p.swappiness(),
            )
        }),
        system_controls: sorted(
            c.system_controls()
                .iter()
                .map(|s| NormalSystemControl {
                    namespace: s.namespace().unwrap_or_default().to_string(),
                    value: s.value().unwrap_or_default().to_string(),
                })
                .collect(),
        ),
        extra_hosts: sorted(
            c.extra_hosts()
                .iter()
                .map(|h| NormalHostEntry {
                    hostname: h.hostname().to_string(),
                    ip_address: h.ip_address().to_string(),
                })
                .collect(),
        ),
        firelens_configuration: c
            .firelens_configuration()
            .map(|f| normal::firelens(f.r#type().as_str(), map(f.options()))),
        start_timeout: c.start_timeout(),
    }
}

/// The task's volumes, `None` when there are none.
pub(crate) fn volumes(t: &NormalTaskSettings) -> Result<Option<Vec<ecs::Volume>>, BuildError> {
    if t.volumes.is_empty() {
        return Ok(None);
    }
    t.volumes
        .iter()
        .map(volume)
        .collect::<Result<_, _>>()
        .map(Some)
}

fn volume(v: &NormalVolume) -> Result<ecs::Volume, BuildError> {
    let mut b = ecs::Volume::builder().name(&v.name);
    if let Some(path) = &v.host_source_path {
        b = b.host(
            ecs::HostVolumeProperties::builder()
                .source_path(path)
                .build(),
        );
    }
    if let Some(e) = &v.efs {
        let mut eb = ecs::EfsVolumeConfiguration::builder()
            .file_system_id(&e.file_system_id)
            .root_directory(&e.root_directory)
            .transit_encryption(ecs::EfsTransitEncryption::from(
                e.transit_encryption.as_str(),
            ))
            .set_transit_encryption_port(e.transit_encryption_port);
        if e.access_point_id.is_some() || e.iam != "DISABLED" {
            eb = eb.authorization_config(
                ecs::EfsAuthorizationConfig::builder()
                    .set_access_point_id(e.access_point_id.clone())
                    .iam(ecs::EfsAuthorizationConfigIam::from(e.iam.as_str()))
                    .build(),
            );
        }
        b = b.efs_volume_configuration(eb.build()?);
    }
    if let Some(d) = &v.docker {
        let mut db = ecs::DockerVolumeConfiguration::builder()
            .scope(ecs::Scope::from(d.scope.as_str()))
            .set_driver(d.driver.clone());
        if d.autoprovision {
            db = db.autoprovision(true);
        }
        for (k, val) in &d.driver_opts {
            db = db.driver_opts(k, val);
        }
        for (k, val) in &d.labels {
            db = db.labels(k, val);
        }
        b = b.docker_volume_configuration(db.build());
    }
    Ok(b.build())
}

/// Ephemeral storage, `None` at the 20 GiB default.
pub(crate) fn ephemeral_storage(t: &NormalTaskSettings) -> Option<ecs::EphemeralStorage> {
    t.ephemeral_storage
        .map(|size| ecs::EphemeralStorage::builder().size_in_gib(size).build())
}

/// Reads the task-level settings of a registered task definition.
pub(crate) fn read_task(td: &ecs::TaskDefinition) -> NormalTaskSettings {
    let mut volumes: Vec<NormalVolume> = td
        .volumes()
        .iter()
        .map(|v| NormalVolume {
            name: v.name().unwrap_or_default().to_string(),
            host_source_path: v
                .host()
                .and_then(|h| h.source_path())
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            efs: v.efs_volume_configuration().map(|e| {
                let auth = e.authorization_config();
                NormalEfs {
                    file_system_id: e.file_system_id().to_string(),
                    root_directory: normal::root_directory(e.root_directory()),
                    transit_encryption: e
                        .transit_encryption()
                        .map_or("DISABLED", |t| t.as_str())
                        .to_string(),
                    transit_encryption_port: e.transit_encryption_port(),
                    access_point_id: auth
                        .and_then(|a| a.access_point_id())
                        .filter(|a| !a.is_empty())
                        .map(str::to_string),
                    iam: auth
                        .and_then(|a| a.iam())
                        .map_or("DISABLED", |i| i.as_str())
                        .to_string(),
                }
            }),
            docker: v.docker_volume_configuration().map(|d| NormalDockerVolume {
                scope: d.scope().map_or("task", |s| s.as_str()).to_string(),
                autoprovision: d.autoprovision().unwrap_or(false),
                driver: d.driver().filter(|d| !d.is_empty()).map(str::to_string),
                driver_opts: map(d.driver_opts()),
                labels: map(d.labels()),
            }),
        })
        .collect();
    volumes.sort_by(|a, b| a.name.cmp(&b.name));
    NormalTaskSettings {
        volumes,
        ephemeral_storage: normal::ephemeral(td.ephemeral_storage().map(|e| e.size_in_gib())),
    }
}

/// Service Connect as requested; `enabled: false` when `s` has none but
/// `was_on` (UpdateService keeps the old configuration when the field is
/// left out, so switching it off must be said).
pub(crate) fn service_connect(
    s: &NormalServiceSettings,
    was_on: bool,
) -> Result<Option<ecs::ServiceConnectConfiguration>, BuildError> {
    let Some(c) = &s.service_connect_configuration else {
        return Ok(was_on.then(|| {
            ecs::ServiceConnectConfiguration::builder()
                .enabled(false)
                .build()
        }));
    };
    let mut b = ecs::ServiceConnectConfiguration::builder()
        .enabled(true)
        .set_namespace(c.namespace.clone());
    for svc in &c.services {
        let mut sb = ecs::ServiceConnectService::builder()
            .port_name(&svc.port_name)
            .discovery_name(&svc.discovery_name)
            .set_ingress_port_override(svc.ingress_port_override);
        for a in &svc.client_aliases {
            sb = sb.client_aliases(
                ecs::ServiceConnectClientAlias::builder()
                    .port(a.port)
                    .set_dns_name(a.dns_name.clone())
                    .build()?,
            );
        }
        b = b.services(sb.build()?);
    }
    if let Some(l) = &c.log_configuration {
        b = b.log_configuration(log_configuration(l)?);
    }
    Ok(Some(b.build()))
}

fn log_configuration(l: &NormalLogConfiguration) -> Result<ecs::LogConfiguration, BuildError> {
    let mut lb =
        ecs::LogConfiguration::builder().log_driver(ecs::LogDriver::from(l.log_driver.as_str()));
    for (k, v) in &l.options {
        lb = lb.options(k, v);
    }
    lb.build()
}

pub(crate) fn service_registries(s: &NormalServiceSettings) -> Vec<ecs::ServiceRegistry> {
    s.service_registries
        .iter()
        .map(|r| {
            ecs::ServiceRegistry::builder()
                .registry_arn(&r.registry_arn)
                .set_port(r.port)
                .set_container_name(r.container_name.clone())
                .set_container_port(r.container_port)
                .build()
        })
        .collect()
}

pub(crate) fn placement_constraints(s: &NormalServiceSettings) -> Vec<ecs::PlacementConstraint> {
    s.placement_constraints
        .iter()
        .map(|c| {
            ecs::PlacementConstraint::builder()
                .r#type(ecs::PlacementConstraintType::from(c.r#type.as_str()))
                .set_expression(c.field.clone())
                .build()
        })
        .collect()
}

pub(crate) fn placement_strategy(s: &NormalServiceSettings) -> Vec<ecs::PlacementStrategy> {
    s.placement_strategy
        .iter()
        .map(|p| {
            ecs::PlacementStrategy::builder()
                .r#type(ecs::PlacementStrategyType::from(p.r#type.as_str()))
                .set_field(p.field.clone())
                .build()
        })
        .collect()
}

pub(crate) fn deployment_controller(
    t: DeploymentControllerType,
) -> Result<ecs::DeploymentController, BuildError> {
    ecs::DeploymentController::builder()
        .r#type(ecs::DeploymentControllerType::from(t.as_str()))
        .build()
}

pub(crate) fn availability_zone_rebalancing(
    s: &NormalServiceSettings,
) -> ecs::AvailabilityZoneRebalancing {
    ecs::AvailabilityZoneRebalancing::from(s.availability_zone_rebalancing.as_str())
}

/// What DescribeServices reports of the service-level settings that
/// refresh compares (Service Connect lives on deployments and is not read).
pub(crate) struct ReadService {
    pub service_registries: Vec<ServiceRegistry>,
    pub placement_constraints: Vec<NormalPlacement>,
    pub placement_strategy: Vec<NormalPlacement>,
    pub availability_zone_rebalancing: Option<String>,
    pub deployment_controller: Option<String>,
}

pub(crate) fn read_service(svc: &ecs::Service) -> ReadService {
    let mut registries: Vec<ServiceRegistry> = svc
        .service_registries()
        .iter()
        .map(|r| ServiceRegistry {
            registry_arn: r.registry_arn().unwrap_or_default().to_string(),
            port: r.port(),
            container_name: r.container_name().map(str::to_string),
            container_port: r.container_port(),
        })
        .collect();
    registries.sort();
    ReadService {
        service_registries: registries,
        placement_constraints: sorted(
            svc.placement_constraints()
                .iter()
                .map(|c| NormalPlacement {
                    r#type: c.r#type().map_or("", |t| t.as_str()).to_string(),
                    field: c.expression().filter(|e| !e.is_empty()).map(str::to_string),
                })
                .collect(),
        ),
        placement_strategy: svc
            .placement_strategy()
            .iter()
            .map(|p| normal::strategy(p.r#type().map_or("", |t| t.as_str()), p.field()))
            .collect(),
        availability_zone_rebalancing: svc
            .availability_zone_rebalancing()
            .map(|a| a.as_str().to_string()),
        deployment_controller: svc
            .deployment_controller()
            .map(|d| d.r#type().as_str().to_string()),
    }
}
