//! Normal forms of the production settings: what ECS stores, with defaults
//! dropped or filled in the way ECS treats them and order-insensitive lists
//! sorted, so restating a default or reordering is no change.
//!
//! The container and task parts are recorded in state (inside
//! `NormalContainer` / `NormalTask`), so every field here defaults when
//! absent: a state written before these settings existed reads back as
//! "none of them set", which is exactly what such a task definition has.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::args::{ContainerArgs, ServiceArgs};
use crate::normalise::NormalLogConfiguration;

use super::types::{
    DeploymentControllerType, DockerVolumeScope, LinuxParameters, PlacementStrategyType, Toggle,
    Volume,
};

/// Fargate's ephemeral storage when none is asked for, in GiB.
pub const DEFAULT_EPHEMERAL_GIB: i32 = 20;
/// The kernel's swappiness when none is given.
pub const DEFAULT_SWAPPINESS: i32 = 60;

fn is_false(b: &bool) -> bool {
    !*b
}

/// The container-level settings, normalised. Flattened into `NormalContainer`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalContainerSettings {
    /// Sorted by (containerPath, sourceVolume).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<NormalMountPoint>,
    /// Sorted by sourceContainer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes_from: Vec<NormalVolumeFrom>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<NormalRepositoryCredentials>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    /// Sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<NormalUlimit>,
    /// Absent when every Linux parameter is at its default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<NormalLinuxParameters>,
    /// Sorted by namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_controls: Vec<NormalSystemControl>,
    /// Sorted by (hostname, ipAddress).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_hosts: Vec<NormalHostEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens_configuration: Option<NormalFirelens>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<i32>,
}

#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NormalMountPoint {
    pub container_path: String,
    pub source_volume: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
}

#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NormalVolumeFrom {
    pub source_container: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalRepositoryCredentials {
    /// A Secrets Manager ARN (not a secret value).
    pub credentials_parameter: String,
}

#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NormalUlimit {
    pub name: String,
    pub soft_limit: i32,
    pub hard_limit: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalLinuxParameters {
    #[serde(default, skip_serializing_if = "is_false")]
    pub init_process_enabled: bool,
    /// Absent when nothing is added or dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<NormalCapabilities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_memory_size: Option<i32>,
    /// Sorted by containerPath; mount options sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs: Vec<NormalTmpfs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_swap: Option<i32>,
    /// Absent when 60 (the default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalCapabilities {
    /// Sorted, without duplicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    /// Sorted, without duplicates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NormalTmpfs {
    pub container_path: String,
    pub size: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_options: Vec<String>,
}

#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NormalSystemControl {
    pub namespace: String,
    pub value: String,
}

#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct NormalHostEntry {
    pub hostname: String,
    pub ip_address: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalFirelens {
    #[serde(rename = "type")]
    pub r#type: String,
    /// `enable-ecs-log-metadata: "true"` (the default) dropped.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
}

/// The task-level settings, normalised. Flattened into `NormalTask`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalTaskSettings {
    /// Sorted by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<NormalVolume>,
    /// GiB; absent when 20 (Fargate's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalVolume {
    pub name: String,
    /// Absent for a task-scoped bind mount (no sourcePath).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_source_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs: Option<NormalEfs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<NormalDockerVolume>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalEfs {
    pub file_system_id: String,
    /// `/` when not given.
    pub root_directory: String,
    /// `ENABLED` or `DISABLED` (the default).
    pub transit_encryption: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption_port: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// `ENABLED` or `DISABLED` (the default).
    pub iam: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NormalDockerVolume {
    /// `task` (the default) or `shared`.
    pub scope: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub autoprovision: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// The service-level settings, normalised. Flattened into `NormalService`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalServiceSettings {
    /// Absent when Service Connect is off (omitted or `enabled: false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<NormalServiceConnect>,
    /// Sorted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_registries: Vec<super::types::ServiceRegistry>,
    /// Sorted by (type, expression).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placement_constraints: Vec<NormalPlacement>,
    /// In input order (ECS applies the rules in order).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub placement_strategy: Vec<NormalPlacement>,
    /// `ENABLED` (the default for new services) or `DISABLED`.
    pub availability_zone_rebalancing: String,
    pub enable_ecs_managed_tags: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalServiceConnect {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Sorted by portName.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<NormalServiceConnectService>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<NormalLogConfiguration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalServiceConnectService {
    pub port_name: String,
    /// `portName` when not given.
    pub discovery_name: String,
    /// Sorted by (port, dnsName).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub client_aliases: Vec<NormalClientAlias>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ingress_port_override: Option<i32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NormalClientAlias {
    pub port: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NormalPlacement {
    #[serde(rename = "type")]
    pub r#type: String,
    /// The constraint's expression or the strategy's field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_string)
}

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v.dedup();
    v
}

/// The container-level settings of `c`.
pub fn container(c: &ContainerArgs) -> NormalContainerSettings {
    NormalContainerSettings {
        mount_points: sorted(
            c.mount_points
                .iter()
                .flatten()
                .map(|m| NormalMountPoint {
                    container_path: m.container_path.clone(),
                    source_volume: m.source_volume.clone(),
                    read_only: m.read_only.unwrap_or(false),
                })
                .collect(),
        ),
        volumes_from: sorted(
            c.volumes_from
                .iter()
                .flatten()
                .map(|v| NormalVolumeFrom {
                    source_container: v.source_container.clone(),
                    read_only: v.read_only.unwrap_or(false),
                })
                .collect(),
        ),
        repository_credentials: c
            .repository_credentials
            .as_ref()
            .filter(|r| !r.credentials_parameter.is_empty())
            .map(|r| NormalRepositoryCredentials {
                credentials_parameter: r.credentials_parameter.clone(),
            }),
        docker_labels: c.docker_labels.clone().unwrap_or_default(),
        ulimits: sorted(
            c.ulimits
                .iter()
                .flatten()
                .map(|u| NormalUlimit {
                    name: u.name.as_str().to_string(),
                    soft_limit: u.soft_limit,
                    hard_limit: u.hard_limit,
                })
                .collect(),
        ),
        linux_parameters: c.linux_parameters.as_ref().and_then(linux),
        system_controls: sorted(
            c.system_controls
                .iter()
                .flatten()
                .map(|s| NormalSystemControl {
                    namespace: s.namespace.clone(),
                    value: s.value.clone(),
                })
                .collect(),
        ),
        extra_hosts: sorted(
            c.extra_hosts
                .iter()
                .flatten()
                .map(|h| NormalHostEntry {
                    hostname: h.hostname.clone(),
                    ip_address: h.ip_address.clone(),
                })
                .collect(),
        ),
        firelens_configuration: c
            .firelens_configuration
            .as_ref()
            .map(|f| firelens(f.r#type.as_str(), f.options.clone().unwrap_or_default())),
        start_timeout: c.start_timeout,
    }
}

/// FireLens with the `enable-ecs-log-metadata: "true"` default dropped.
pub(crate) fn firelens(kind: &str, mut options: BTreeMap<String, String>) -> NormalFirelens {
    if options.get("enable-ecs-log-metadata").map(String::as_str) == Some("true") {
        options.remove("enable-ecs-log-metadata");
    }
    NormalFirelens {
        r#type: kind.to_string(),
        options,
    }
}

fn linux(p: &LinuxParameters) -> Option<NormalLinuxParameters> {
    let caps = p.capabilities.as_ref().map(|c| NormalCapabilities {
        add: sorted(c.add.clone().unwrap_or_default()),
        drop: sorted(c.drop.clone().unwrap_or_default()),
    });
    linux_parts(
        p.init_process_enabled.unwrap_or(false),
        caps,
        p.shared_memory_size,
        p.tmpfs
            .iter()
            .flatten()
            .map(|t| NormalTmpfs {
                container_path: t.container_path.clone(),
                size: t.size,
                mount_options: sorted(t.mount_options.clone().unwrap_or_default()),
            })
            .collect(),
        p.max_swap,
        p.swappiness,
    )
}

/// Linux parameters from their parts, defaults dropped; `None` when nothing
/// is left (the same for input and for what ECS reports back).
pub(crate) fn linux_parts(
    init_process_enabled: bool,
    capabilities: Option<NormalCapabilities>,
    shared_memory_size: Option<i32>,
    tmpfs: Vec<NormalTmpfs>,
    max_swap: Option<i32>,
    swappiness: Option<i32>,
) -> Option<NormalLinuxParameters> {
    let capabilities = capabilities.filter(|c| !c.add.is_empty() || !c.drop.is_empty());
    let p = NormalLinuxParameters {
        init_process_enabled,
        capabilities,
        shared_memory_size,
        tmpfs: sorted(tmpfs),
        max_swap,
        swappiness: swappiness.filter(|s| *s != DEFAULT_SWAPPINESS),
    };
    (p != NormalLinuxParameters::default()).then_some(p)
}

/// The task-level settings of `args`.
pub fn task(args: &ServiceArgs) -> NormalTaskSettings {
    let mut volumes: Vec<NormalVolume> = args.volumes.iter().flatten().map(volume).collect();
    volumes.sort_by(|a, b| a.name.cmp(&b.name));
    NormalTaskSettings {
        volumes,
        ephemeral_storage: ephemeral(args.ephemeral_storage.as_ref().map(|e| e.size_in_gi_b)),
    }
}

/// Drops the 20 GiB default.
pub(crate) fn ephemeral(size: Option<i32>) -> Option<i32> {
    size.filter(|s| *s != DEFAULT_EPHEMERAL_GIB)
}

fn volume(v: &Volume) -> NormalVolume {
    NormalVolume {
        name: v.name.clone(),
        host_source_path: v
            .host
            .as_ref()
            .and_then(|h| non_empty(h.source_path.as_deref())),
        efs: v.efs_volume_configuration.as_ref().map(|e| {
            let auth = e.authorization_config.as_ref();
            NormalEfs {
                file_system_id: e.file_system_id.clone(),
                root_directory: root_directory(e.root_directory.as_deref()),
                transit_encryption: e
                    .transit_encryption
                    .unwrap_or(Toggle::Disabled)
                    .as_str()
                    .to_string(),
                transit_encryption_port: e.transit_encryption_port,
                access_point_id: auth.and_then(|a| non_empty(a.access_point_id.as_deref())),
                iam: auth
                    .and_then(|a| a.iam)
                    .unwrap_or(Toggle::Disabled)
                    .as_str()
                    .to_string(),
            }
        }),
        docker: v
            .docker_volume_configuration
            .as_ref()
            .map(|d| NormalDockerVolume {
                scope: d
                    .scope
                    .unwrap_or(DockerVolumeScope::Task)
                    .as_str()
                    .to_string(),
                autoprovision: d.autoprovision.unwrap_or(false),
                driver: non_empty(d.driver.as_deref()),
                driver_opts: d.driver_opts.clone().unwrap_or_default(),
                labels: d.labels.clone().unwrap_or_default(),
            }),
    }
}

/// `/` when not given.
pub(crate) fn root_directory(dir: Option<&str>) -> String {
    non_empty(dir).unwrap_or_else(|| "/".to_string())
}

/// The service-level settings of `args`.
pub fn service(args: &ServiceArgs) -> NormalServiceSettings {
    let connect =
        args.service_connect_configuration
            .as_ref()
            .filter(|c| c.enabled.unwrap_or(true))
            .map(|c| {
                let mut services: Vec<NormalServiceConnectService> = c
                    .services
                    .iter()
                    .flatten()
                    .map(|s| NormalServiceConnectService {
                        port_name: s.port_name.clone(),
                        discovery_name: non_empty(s.discovery_name.as_deref())
                            .unwrap_or_else(|| s.port_name.clone()),
                        client_aliases: sorted(
                            s.client_aliases
                                .iter()
                                .flatten()
                                .map(|a| NormalClientAlias {
                                    port: a.port,
                                    dns_name: non_empty(a.dns_name.as_deref()),
                                })
                                .collect(),
                        ),
                        ingress_port_override: s.ingress_port_override,
                    })
                    .collect();
                services.sort();
                NormalServiceConnect {
                    namespace: non_empty(c.namespace.as_deref()),
                    services,
                    log_configuration: c.log_configuration.as_ref().map(|l| {
                        NormalLogConfiguration {
                            log_driver: l.log_driver.clone(),
                            options: l.options.clone().unwrap_or_default(),
                        }
                    }),
                }
            });
    let mut registries = args.service_registries.clone().unwrap_or_default();
    registries.sort();
    NormalServiceSettings {
        service_connect_configuration: connect,
        service_registries: registries,
        placement_constraints: sorted(
            args.placement_constraints
                .iter()
                .flatten()
                .map(|c| NormalPlacement {
                    r#type: c.r#type.as_str().to_string(),
                    field: non_empty(c.expression.as_deref()),
                })
                .collect(),
        ),
        placement_strategy: args
            .placement_strategy
            .iter()
            .flatten()
            .map(|s| strategy(s.r#type.as_str(), s.field.as_deref()))
            .collect(),
        availability_zone_rebalancing: args
            .availability_zone_rebalancing
            .unwrap_or(Toggle::Enabled)
            .as_str()
            .to_string(),
        enable_ecs_managed_tags: args.enable_ecs_managed_tags.unwrap_or(false),
    }
}

/// A placement strategy rule as ECS applies it: `random` has no field,
/// `spread` by `host` is `instanceId`, binpack fields are lower case.
pub(crate) fn strategy(kind: &str, field: Option<&str>) -> NormalPlacement {
    let field = non_empty(field);
    let field = match kind {
        k if k == PlacementStrategyType::Random.as_str() => None,
        k if k == PlacementStrategyType::Spread.as_str() => field.map(|f| {
            if f == "host" {
                "instanceId".to_string()
            } else {
                f
            }
        }),
        _ => field.map(|f| f.to_ascii_lowercase()),
    };
    NormalPlacement {
        r#type: kind.to_string(),
        field,
    }
}

/// The deployment controller in effect (default `ECS`).
pub fn deployment_controller(args: &ServiceArgs) -> DeploymentControllerType {
    args.deployment_controller
        .as_ref()
        .map(|d| d.r#type)
        .unwrap_or(DeploymentControllerType::Ecs)
}
