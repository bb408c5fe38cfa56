//! Input types of the production settings (see the module above), as typed
//! Rust. As in `args`, the doc comments become the property descriptions
//! users read in the SDKs: each says what the field does, its default, an
//! example, and what a change costs (a new task definition revision, an
//! in-place UpdateService, or a replacement of the service), following the
//! rules of the ECS API.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::args::{string_enum, LogConfiguration};

/// A data volume of the task, mounted into containers with `mountPoints`.
/// Give at most one of `host`, `efsVolumeConfiguration` and
/// `dockerVolumeConfiguration`; with none of them the volume is a bind
/// mount that lives as long as the task (the only kind besides EFS that
/// Fargate supports).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    /// Volume name, referenced by `mountPoints[].sourceVolume`, e.g.
    /// `"data"`. Up to 255 letters, digits, `-` and `_`.
    pub name: String,
    /// Bind mount of a path on the host (EC2 and EXTERNAL only), e.g.
    /// `{sourcePath: "/var/log/app"}`. Default: a task-scoped bind mount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolume>,
    /// An Amazon EFS file system, e.g. `{fileSystemId: "fs-0123abcd",
    /// transitEncryption: "ENABLED"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// A Docker volume (EC2 and EXTERNAL only), e.g. `{scope: "shared",
    /// autoprovision: true, driver: "local"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_volume_configuration: Option<DockerVolumeConfiguration>,
}

/// A bind mount of a host path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostVolume {
    /// Absolute path on the host, e.g. `"/var/log/app"`. Default: none (a
    /// bind mount that lives as long as the task; the only form Fargate
    /// accepts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// An Amazon EFS file system mounted as a volume.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EfsVolumeConfiguration {
    /// The file system ID, e.g. `"fs-0123abcd"`. Required.
    pub file_system_id: String,
    /// Directory of the file system to mount as the root, e.g. `"/app"`.
    /// Default `"/"`. Must be omitted or `"/"` with an access point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// Encrypt data in transit: `ENABLED` or `DISABLED`. Default
    /// `DISABLED`. Required `ENABLED` with IAM authorization or an access point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<Toggle>,
    /// Port for encrypted traffic, 1-65535, e.g. `2999`. Default: chosen
    /// by the EFS mount helper.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption_port: Option<i32>,
    /// Access point and IAM authorization, e.g. `{accessPointId:
    /// "fsap-0123abcd", iam: "ENABLED"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<EfsAuthorizationConfig>,
}

/// How the task authenticates to EFS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EfsAuthorizationConfig {
    /// EFS access point ID, e.g. `"fsap-0123abcd"`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point_id: Option<String>,
    /// Mount with the task role's IAM identity: `ENABLED` or `DISABLED`.
    /// Default `DISABLED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<Toggle>,
}

/// A Docker volume managed by a volume driver.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DockerVolumeConfiguration {
    /// `task` (created and removed with the task) or `shared` (outlives
    /// the task). Default `task`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<DockerVolumeScope>,
    /// Create the volume when it does not exist yet. Only with `scope:
    /// "shared"`. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoprovision: Option<bool>,
    /// Volume driver, e.g. `"local"`. Default: Docker's default driver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
    /// Driver options, e.g. `{type: "tmpfs", device: "tmpfs"}`. Order does not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_opts: Option<BTreeMap<String, String>>,
    /// Docker labels of the volume, e.g. `{team: "web"}`. Order does not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// Extra ephemeral storage of a Fargate task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralStorage {
    /// Total ephemeral storage in GiB, 20-200, e.g. `50`. Default 20
    /// (stating 20 is the same as omitting it).
    pub size_in_gi_b: i32,
}

/// A task volume mounted into the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    /// Name of a task volume (`volumes[].name`), e.g. `"data"`.
    pub source_volume: String,
    /// Absolute path in the container, e.g. `"/var/lib/app"`.
    pub container_path: String,
    /// Mount read-only. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Mount every volume of another container of the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    /// Name of another container of this task, e.g. `"sidecar"`.
    pub source_container: String,
    /// Mount read-only. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// Credentials for pulling the image from a private registry that is not ECR.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RepositoryCredentials {
    /// ARN of the Secrets Manager secret holding the registry username and
    /// password (an ARN, not the secret itself), e.g.
    /// `"arn:aws:secretsmanager:eu-west-1:123456789012:secret:registry-AbCdEf"`.
    /// The task's `executionRoleArn` must be allowed to read it.
    pub credentials_parameter: String,
}

/// A resource limit (`ulimit`) of the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    /// Which limit, e.g. `nofile`.
    pub name: UlimitName,
    /// Soft limit, at most `hardLimit`, e.g. `65535`.
    pub soft_limit: i32,
    /// Hard limit, e.g. `65535`.
    pub hard_limit: i32,
}

/// Linux-specific options of the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    /// Run an init process (PID 1) that forwards signals and reaps
    /// zombies. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
    /// Kernel capabilities to add to or drop from Docker's default set,
    /// e.g. `{add: ["SYS_PTRACE"], drop: ["NET_RAW"]}`. Fargate can add only
    /// `SYS_PTRACE`. Order does not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<KernelCapabilities>,
    /// Size of `/dev/shm` in MiB, e.g. `256`. Not on Fargate. Default:
    /// Docker's (64 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_memory_size: Option<i32>,
    /// tmpfs mounts, e.g. `[{containerPath: "/tmp", size: 128}]`. Not on
    /// Fargate. Order does not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs: Option<Vec<Tmpfs>>,
    /// Swap the container may use, in MiB (0: none). Not on Fargate.
    /// Default: no swap setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_swap: Option<i32>,
    /// How eagerly memory is swapped, 0-100, used only with `maxSwap`.
    /// Default 60 (stating 60 is the same as omitting it). Not on Fargate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swappiness: Option<i32>,
}

/// Capabilities added to or dropped from Docker's default set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KernelCapabilities {
    /// Capabilities to add, e.g. `["SYS_PTRACE"]`. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<Vec<String>>,
    /// Capabilities to drop, e.g. `["NET_RAW"]`. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<Vec<String>>,
}

/// A tmpfs mount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Tmpfs {
    /// Absolute path in the container, e.g. `"/tmp"`.
    pub container_path: String,
    /// Size in MiB, e.g. `128`.
    pub size: i32,
    /// Mount options, e.g. `["noexec", "nosuid"]`. Order does not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_options: Option<Vec<String>>,
}

/// A namespaced kernel parameter (`sysctl`) of the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SystemControl {
    /// The parameter, e.g. `"net.core.somaxconn"`. Only namespaced
    /// parameters: `kernel.msgmax`, `kernel.msgmnb`, `kernel.msgmni`,
    /// `kernel.sem`, `kernel.shmall`, `kernel.shmmax`, `kernel.shmmni`,
    /// `kernel.shm_rmid_forced`, `fs.mqueue.*` and `net.*` (not with `host`
    /// networking).
    pub namespace: String,
    /// Its value, e.g. `"1024"`.
    pub value: String,
}

/// An `/etc/hosts` entry of the container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostEntry {
    /// Host name, e.g. `"db.internal"`.
    pub hostname: String,
    /// IPv4 or IPv6 address, e.g. `"10.0.0.5"`.
    pub ip_address: String,
}

/// Makes this container the FireLens log router of the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FirelensConfiguration {
    /// The log router: `fluentbit` or `fluentd`.
    #[serde(rename = "type")]
    pub r#type: FirelensType,
    /// Router options, e.g. `{"enable-ecs-log-metadata": "true",
    /// "config-file-type": "file", "config-file-value": "/extra.conf"}`.
    /// `enable-ecs-log-metadata` defaults to `"true"`; `config-file-type`
    /// is `s3` (not on Fargate) or `file` and needs `config-file-value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// Service Connect: this service's ports reachable by short names in a
/// Cloud Map namespace, and short names of other services reachable from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectConfiguration {
    /// Turn Service Connect on. Default true (false is the same as
    /// omitting the whole block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Cloud Map namespace name or ARN, e.g. `"internal"`. Default: the
    /// cluster's Service Connect namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The ports this service offers, e.g. `[{portName: "http",
    /// clientAliases: [{port: 80, dnsName: "web"}]}]`. Default: none (a
    /// client-only service). Order does not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceConnectService>>,
    /// Where the Service Connect proxy's logs go, e.g. `{logDriver:
    /// "awslogs", options: {...}}`. Default: not collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
}

/// One port of this service offered through Service Connect.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectService {
    /// The `name` of a container port mapping, e.g. `"http"`.
    pub port_name: String,
    /// Name registered in Cloud Map, e.g. `"web"`. Default: `portName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_name: Option<String>,
    /// Names and ports clients use, e.g. `[{port: 80, dnsName: "web"}]`.
    /// Default: none (discoverable, not addressable by alias). Order does
    /// not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_aliases: Option<Vec<ServiceConnectClientAlias>>,
    /// Port the Service Connect proxy listens on, e.g. `15000`. Default:
    /// chosen by ECS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_port_override: Option<i32>,
}

/// A name and port clients in the namespace use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectClientAlias {
    /// Port, 1-65535, e.g. `80`.
    pub port: i32,
    /// DNS name, e.g. `"web"`. Default: `discoveryName.namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
}

/// A Cloud Map service that registers this service's tasks.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistry {
    /// ARN of the Cloud Map service, e.g.
    /// `"arn:aws:servicediscovery:eu-west-1:123456789012:service/srv-abc"`.
    pub registry_arn: String,
    /// Port for SRV records with `awsvpc` networking, e.g. `8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Container whose port goes into SRV records (`bridge`/`host`
    /// networking), e.g. `"web"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    /// That container's port, e.g. `8080`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,
}

/// A rule every placement must satisfy (EC2 and EXTERNAL only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementConstraint {
    /// `distinctInstance` (one task per instance) or `memberOf`.
    #[serde(rename = "type")]
    pub r#type: PlacementConstraintType,
    /// Cluster query language expression, required with `memberOf` and not
    /// allowed with `distinctInstance`, e.g. `"attribute:ecs.instance-type =~ t3.*"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
}

/// One rule of how tasks are spread over instances (EC2 and EXTERNAL only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlacementStrategy {
    /// `random`, `spread` or `binpack`.
    #[serde(rename = "type")]
    pub r#type: PlacementStrategyType,
    /// What to spread over or pack by: with `spread` e.g. `"instanceId"`
    /// (same as `"host"`) or `"attribute:ecs.availability-zone"`; with
    /// `binpack` `"cpu"` or `"memory"`; none with `random`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Which deployment controller runs the service's deployments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentController {
    /// `ECS` (rolling deployments, the default), `CODE_DEPLOY` or
    /// `EXTERNAL`. This resource deploys its revisions with ECS rolling
    /// deployments, so only `ECS` is accepted for now.
    #[serde(rename = "type")]
    pub r#type: DeploymentControllerType,
}

string_enum!(
    /// On or off.
    Toggle { Enabled = "ENABLED", Disabled = "DISABLED" }
);
string_enum!(
    /// Lifetime of a Docker volume.
    DockerVolumeScope { Task = "task", Shared = "shared" }
);
string_enum!(
    /// A resource limit.
    UlimitName {
        Core = "core", Cpu = "cpu", Data = "data", Fsize = "fsize", Locks = "locks",
        Memlock = "memlock", Msgqueue = "msgqueue", Nice = "nice", Nofile = "nofile",
        Nproc = "nproc", Rss = "rss", Rtprio = "rtprio", Rttime = "rttime",
        Sigpending = "sigpending", Stack = "stack",
    }
);
string_enum!(
    /// The FireLens log router.
    FirelensType { Fluentd = "fluentd", Fluentbit = "fluentbit" }
);
string_enum!(
    /// Kind of placement constraint.
    PlacementConstraintType { DistinctInstance = "distinctInstance", MemberOf = "memberOf" }
);
string_enum!(
    /// Kind of placement strategy.
    PlacementStrategyType { Random = "random", Spread = "spread", Binpack = "binpack" }
);
string_enum!(
    /// Deployment controller.
    DeploymentControllerType { Ecs = "ECS", CodeDeploy = "CODE_DEPLOY", External = "EXTERNAL" }
);

macro_rules! default_variant {
    ($($name:ident => $variant:ident),+ $(,)?) => {
        $(
            #[allow(clippy::derivable_impls)] // the enum comes from a macro
            impl Default for $name {
                fn default() -> Self {
                    Self::$variant
                }
            }
        )+
    };
}

default_variant!(
    Toggle => Disabled,
    DockerVolumeScope => Task,
    UlimitName => Nofile,
    FirelensType => Fluentbit,
    PlacementConstraintType => DistinctInstance,
    PlacementStrategyType => Spread,
    DeploymentControllerType => Ecs,
);
