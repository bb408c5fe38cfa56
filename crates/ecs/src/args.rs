//! The Service resource's inputs and outputs, as typed Rust.
//!
//! These structs are the single source of truth for the schema: the doc
//! comments become the property descriptions users read in the SDKs, so they
//! say what a field does, its default, and an example.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::normalise::{NormalContainer, NormalTask};
pub use crate::settings::types::*;

/// Inputs of `imagedeploy:index:Service`: an ECS service and the task
/// definition revisions behind it, with images pinned by digest.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceArgs {
    /// The ECS cluster that runs the service: a name (`"prod"`) or an ARN.
    /// Changing it replaces the service.
    #[schemars(extend("replaceOnChanges" = true))]
    pub cluster: String,

    /// The service name. Default: the resource name plus a 7-character
    /// suffix, e.g. `"web-3f9a1c2"`. Up to 255 letters, digits, `-` and `_`.
    /// Changing it replaces the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("replaceOnChanges" = true))]
    pub name: Option<String>,

    /// Where tasks run: `FARGATE`, `EC2` or `EXTERNAL`. Default `FARGATE`
    /// unless `capacityProviderStrategy` is set (the two are exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,

    /// Capacity providers to spread tasks over, instead of `launchType`,
    /// e.g. `[{capacityProvider: "FARGATE_SPOT", weight: 1}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,

    /// Fargate platform version, e.g. `"1.4.0"`. Default `LATEST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,

    /// The containers of each task. At least one. Images given by tag are
    /// resolved to their digest, and the task definition pins the digest.
    pub containers: Vec<ContainerArgs>,

    /// Task CPU units (1024 = 1 vCPU), e.g. `256`. Required on Fargate, where
    /// only certain `cpu`/`memory` pairs are valid (256 with 512-2048 MiB,
    /// 512 with 1024-4096, 1024 with 2048-8192, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,

    /// Task memory in MiB, e.g. `512`. Required on Fargate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,

    /// Task definition family. Default: the service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,

    /// IAM role ECS uses to pull images and read secrets for the tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,

    /// IAM role the containers' own code runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,

    /// Task networking: `awsvpc`, `bridge`, `host` or `none`. Default
    /// `awsvpc` (the only mode Fargate supports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<NetworkMode>,

    /// CPU architecture and OS the tasks need. Default `X86_64` / `LINUX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_platform: Option<RuntimePlatform>,

    /// How many tasks to keep running. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_count: Option<i32>,

    /// Subnets and security groups for `awsvpc` tasks. Required with `awsvpc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,

    /// Load balancer target groups that receive traffic from a container port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancers: Option<Vec<LoadBalancer>>,

    /// Seconds ECS ignores failing load balancer health checks after a task
    /// starts. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<i32>,

    /// Stop a deployment whose tasks keep failing, and roll back. Default:
    /// enabled, with rollback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_circuit_breaker: Option<DeploymentCircuitBreaker>,

    /// How many tasks may be stopped or added during a deployment.
    /// Default 100% minimum healthy, 200% maximum.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_configuration: Option<DeploymentConfiguration>,

    /// Allow `aws ecs execute-command` into the tasks. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_execute_command: Option<bool>,

    /// Copy tags to tasks from `SERVICE` or `TASK_DEFINITION`. Default `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub propagate_tags: Option<PropagateTags>,

    /// Tags for the service and the task definitions it registers,
    /// e.g. `{team: "web"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,

    /// How long `up` waits for a deployment to finish. Default: wait up to
    /// 900 seconds for steady state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<WaitOptions>,

    /// Data volumes the containers can mount (`mountPoints`): EFS file
    /// systems, bind mounts and Docker volumes, e.g. `[{name: "data",
    /// efsVolumeConfiguration: {fileSystemId: "fs-0123abcd"}}]`. Default
    /// none. Order does not matter. Changing it registers a new task
    /// definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,

    /// Ephemeral storage of each Fargate task, e.g. `{sizeInGiB: 50}`.
    /// Default 20 GiB. Fargate only. Changing it registers a new task
    /// definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,

    /// Service Connect: short names for this service's ports within a Cloud
    /// Map namespace, e.g. `{namespace: "internal", services: [{portName:
    /// "http", clientAliases: [{port: 80}]}]}`. Default: off. Needs `awsvpc`
    /// or `bridge` networking. Changing it updates the service in place
    /// (UpdateService, which starts a new deployment); no new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,

    /// Cloud Map service discovery registry, e.g. `[{registryArn:
    /// "arn:aws:servicediscovery:...:service/srv-abc"}]`. At most one.
    /// Default none. Changing it updates the service in place
    /// (UpdateService, which starts a new deployment); no new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_registries: Option<Vec<ServiceRegistry>>,

    /// Rules every task placement must satisfy (EC2 and EXTERNAL only, up to
    /// 10), e.g. `[{type: "distinctInstance"}]`. Default none. Order does not
    /// matter. Changing it updates the service in place (UpdateService, no
    /// new deployment); no new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_constraints: Option<Vec<PlacementConstraint>>,

    /// How tasks are placed on instances, applied in order (EC2 and EXTERNAL
    /// only, up to 5), e.g. `[{type: "spread", field:
    /// "attribute:ecs.availability-zone"}, {type: "binpack", field:
    /// "memory"}]`. Default: ECS's (spread over Availability Zones). Changing
    /// it updates the service in place (UpdateService, no new deployment);
    /// no new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement_strategy: Option<Vec<PlacementStrategy>>,

    /// The deployment controller, e.g. `{type: "ECS"}`. Default `ECS`. Only
    /// `ECS` is accepted for now (this resource runs rolling deployments
    /// itself). Changing it replaces the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("replaceOnChanges" = true))]
    pub deployment_controller: Option<DeploymentController>,

    /// Rebalance tasks across Availability Zones after an imbalance:
    /// `ENABLED` or `DISABLED`. Default `ENABLED` (ECS's default for new
    /// services; while the program does not state it, an existing service
    /// keeps whatever ECS has, and refresh does not report it). Changing it
    /// updates the service in place (UpdateService, no new deployment); no
    /// new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<Toggle>,

    /// Let ECS tag the tasks with `aws:ecs:clusterName` and
    /// `aws:ecs:serviceName`. Default false. Changing it updates the service
    /// in place (UpdateService, no new deployment; tasks started afterwards
    /// get the tags); no new revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable_ecs_managed_tags: Option<bool>,

    /// A command run once in a one-off task from the new revision before
    /// the service switches to it (migrations), e.g.
    /// `{command: ["npm", "run", "migrate"]}`. The service is switched only
    /// when the command exits 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_deploy: Option<crate::predeploy::PreDeploy>,
}

/// One container of the task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "Container")]
pub struct ContainerArgs {
    /// Container name, unique in the task, e.g. `"web"`.
    pub name: String,

    /// Image reference: `registry/repo:tag` (resolved to its digest) or
    /// `registry/repo@sha256:...` (used as is), e.g.
    /// `"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest"`.
    pub image: String,

    /// CPU units reserved for this container. Default 0 (share the task's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i32>,

    /// Hard memory limit in MiB; the container is killed above it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i32>,

    /// Soft memory reservation in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i32>,

    /// Whether the task stops when this container stops. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,

    /// Overrides the image's CMD, e.g. `["node", "server.js"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,

    /// Overrides the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,

    /// Working directory of the command, e.g. `"/app"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,

    /// User (and group) the command runs as, e.g. `"1000:1000"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,

    /// Environment variables, e.g. `{LOG_LEVEL: "info"}`. Order does not matter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<BTreeMap<String, String>>,

    /// Environment variables read from Secrets Manager or SSM Parameter
    /// Store at task start: variable name -> secret or parameter ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<BTreeMap<String, String>>,

    /// Ports the container listens on, e.g. `[{containerPort: 8080}]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_mappings: Option<Vec<PortMapping>>,

    /// Container health check run by the ECS agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,

    /// Where the container's output goes, e.g.
    /// `{logDriver: "awslogs", options: {"awslogs-group": "/ecs/web"}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,

    /// Containers that must reach a state before this one starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<Vec<ContainerDependency>>,

    /// Mount the root filesystem read-only. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,

    /// Seconds between SIGTERM and SIGKILL when the task stops. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i32>,

    /// Task volumes mounted into this container, e.g. `[{sourceVolume:
    /// "data", containerPath: "/var/lib/app"}]`. Default none. Order does not
    /// matter. Changing it registers a new task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_points: Option<Vec<MountPoint>>,

    /// Mount all volumes of other containers of the task, e.g.
    /// `[{sourceContainer: "sidecar", readOnly: true}]`. Default none. Order
    /// does not matter. Changing it registers a new task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_from: Option<Vec<VolumeFrom>>,

    /// Credentials for a private registry that is not ECR, e.g.
    /// `{credentialsParameter: "arn:aws:secretsmanager:...:secret:registry-AbCdEf"}`.
    /// Needs `executionRoleArn`. Default: none (anonymous, or ECR through
    /// the execution role). Changing it registers a new task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository_credentials: Option<RepositoryCredentials>,

    /// Docker labels of the container, e.g. `{"com.example.team": "web"}`.
    /// Default none. Order does not matter. Changing it registers a new task
    /// definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker_labels: Option<BTreeMap<String, String>>,

    /// Resource limits, e.g. `[{name: "nofile", softLimit: 65535,
    /// hardLimit: 65535}]`. Default: the platform's. Order does not matter.
    /// Changing it registers a new task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ulimits: Option<Vec<Ulimit>>,

    /// Linux options: init process, kernel capabilities, shared memory,
    /// tmpfs, swap, e.g. `{initProcessEnabled: true, capabilities: {add:
    /// ["SYS_PTRACE"]}}`. Default: none of them. Changing it registers a new
    /// task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,

    /// Namespaced kernel parameters, e.g. `[{namespace:
    /// "net.core.somaxconn", value: "1024"}]`. Default none. Order does not
    /// matter. Changing it registers a new task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_controls: Option<Vec<SystemControl>>,

    /// Extra `/etc/hosts` entries, e.g. `[{hostname: "db.internal",
    /// ipAddress: "10.0.0.5"}]`. Not with `awsvpc` networking (so not on
    /// Fargate). Default none. Order does not matter. Changing it registers
    /// a new task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_hosts: Option<Vec<HostEntry>>,

    /// Makes this container the task's FireLens log router (at most one per
    /// task), e.g. `{type: "fluentbit"}`; other containers then log with
    /// `logDriver: "awsfirelens"`. Default: not a log router. Changing it
    /// registers a new task definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens_configuration: Option<FirelensConfiguration>,

    /// Seconds to wait for this container's `dependsOn` conditions before
    /// giving up, e.g. `120`. At least 2; at most 120 on Fargate. Default:
    /// the ECS agent's (3 minutes on EC2). Changing it registers a new task
    /// definition revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<i32>,
}

/// A port the container listens on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    /// The port inside the container, e.g. `8080`. Required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<i32>,

    /// The port on the host. Default: `containerPort` with `awsvpc` and
    /// `host` networking (where it must be equal), dynamic with `bridge`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,

    /// `tcp` or `udp`. Default `tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,

    /// Name of the mapping, used by Service Connect, e.g. `"http"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A command the ECS agent runs to decide whether the container is healthy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    /// e.g. `["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"]`.
    pub command: Vec<String>,
    /// Seconds between checks. Default 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i32>,
    /// Seconds before a check counts as failed. Default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i32>,
    /// Failed checks in a row before the container is unhealthy. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i32>,
    /// Seconds of grace after start during which failures do not count. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i32>,
}

/// Log driver and its options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    /// e.g. `"awslogs"`, `"awsfirelens"`, `"json-file"`.
    pub log_driver: String,
    /// Driver options, e.g. `{"awslogs-group": "/ecs/web", "awslogs-region": "eu-west-1"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// Start ordering between containers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    /// The container that must reach `condition` first.
    pub container_name: String,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: DependencyCondition,
}

/// Subnets and security groups of `awsvpc` tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    /// Subnet IDs, e.g. `["subnet-0abc"]`. Order does not matter.
    pub subnets: Vec<String>,
    /// Security group IDs. Default: the VPC's default group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    /// Give each task a public IP. Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_public_ip: Option<bool>,
}

/// A target group that receives traffic from one container port.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    /// ARN of the ELB target group.
    pub target_group_arn: String,
    /// The container that receives the traffic.
    pub container_name: String,
    /// The container port that receives the traffic.
    pub container_port: i32,
}

/// Circuit breaker for deployments whose tasks keep failing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentCircuitBreaker {
    /// Stop failing deployments. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    /// Roll back to the last working revision when stopped. Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback: Option<bool>,
}

/// Task counts allowed during a rolling deployment, in percent of `desiredCount`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    /// Lower bound of running, healthy tasks. Default 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_healthy_percent: Option<i32>,
    /// Upper bound of running or pending tasks. Default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_percent: Option<i32>,
}

/// CPU architecture and operating system of the tasks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    /// `X86_64` or `ARM64`. Default `X86_64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_architecture: Option<CpuArchitecture>,
    /// e.g. `LINUX` (default) or `WINDOWS_SERVER_2022_CORE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_system_family: Option<String>,
}

/// One capacity provider and its share of the tasks.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    /// e.g. `"FARGATE"`, `"FARGATE_SPOT"` or an Auto Scaling capacity provider.
    pub capacity_provider: String,
    /// Relative share of tasks. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
    /// Tasks placed here before weights apply. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<i32>,
}

/// How `up` waits for a deployment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitOptions {
    /// Wait until the new revision runs and the rollout completed. A
    /// rollback, a failed deployment or the timeout fails the update.
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_steady_state: Option<bool>,
    /// Give up waiting after this many seconds. Default 900.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }
        impl $name {
            /// The value as ECS spells it.
            pub fn as_str(&self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Where tasks run.
    LaunchType { Fargate = "FARGATE", Ec2 = "EC2", External = "EXTERNAL" }
);
string_enum!(
    /// Task networking mode.
    NetworkMode { Awsvpc = "awsvpc", Bridge = "bridge", Host = "host", None = "none" }
);
string_enum!(
    /// Transport protocol of a port mapping.
    Protocol { Tcp = "tcp", Udp = "udp" }
);
string_enum!(
    /// Where tasks copy their tags from.
    PropagateTags { Service = "SERVICE", TaskDefinition = "TASK_DEFINITION", None = "NONE" }
);
string_enum!(
    /// CPU architecture.
    CpuArchitecture { X86_64 = "X86_64", Arm64 = "ARM64" }
);
string_enum!(
    /// State a dependency must reach.
    DependencyCondition { Start = "START", Complete = "COMPLETE", Success = "SUCCESS", Healthy = "HEALTHY" }
);

#[allow(clippy::derivable_impls)] // the enum comes from a macro
impl Default for DependencyCondition {
    fn default() -> Self {
        Self::Start
    }
}

/// Outputs of `imagedeploy:index:Service`: the inputs, what was deployed, and
/// the bookkeeping the next diff needs. Bookkeeping keys start with `__`, so
/// the Pulumi CLI keeps them out of `up --diff` and refresh output; the old
/// plain names are still read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceState {
    /// The inputs, with `name` filled in.
    #[serde(flatten)]
    pub args: ServiceArgs,

    /// ARN of the service.
    pub arn: String,
    /// ARN of the cluster the service runs in.
    #[serde(default)]
    pub cluster_arn: String,
    /// ARN of the task definition revision the service was asked to run.
    pub task_definition_arn: String,
    /// Task definition family.
    pub family: String,
    /// Task definition revision number.
    pub revision: i64,
    /// Container name -> the digest-pinned image reference actually
    /// deployed, e.g. `{web: "registry.example.com/app@sha256:..."}`.
    pub images: BTreeMap<String, String>,
    /// Container name -> compressed bytes a new task pulls for its image
    /// (layers, config and manifest, read from the registry's manifest;
    /// Fargate caches no layers). Missing for an image whose registry could
    /// not be read.
    #[serde(default)]
    pub pull_bytes: BTreeMap<String, i64>,
    /// ID of the PRIMARY deployment after the last update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// Rollout state of that deployment: `COMPLETED`, `IN_PROGRESS` or `FAILED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout_state: Option<String>,

    /// Internal: the container definitions registered in
    /// `taskDefinitionArn`, normalised the way ECS stores them.
    #[serde(
        rename = "__containerDefinitions",
        alias = "containerDefinitions",
        default
    )]
    #[schemars(skip)]
    pub container_definitions: Vec<NormalContainer>,
    /// Internal: task-level settings registered in `taskDefinitionArn`, normalised.
    #[serde(rename = "__taskSettings", alias = "taskSettings", default)]
    #[schemars(skip)]
    pub task_settings: NormalTask,
    /// Internal: every task definition revision this resource registered
    /// and has not deregistered yet.
    #[serde(
        rename = "__registeredRevisions",
        alias = "registeredRevisions",
        default
    )]
    #[schemars(skip)]
    pub registered_revisions: Vec<String>,
    /// Internal: true when the last deployment failed or timed out, so the
    /// next `up` retries it even if nothing else changed.
    #[serde(
        rename = "__deployFailed",
        alias = "deployFailed",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    #[schemars(skip)]
    pub deploy_failed: bool,

    /// The last pre-deploy task: task ARN, exit code, stop code, stopped
    /// reason, image digest and log stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pre_deploy: Option<crate::predeploy::LastPreDeploy>,
}

impl ServiceArgs {
    /// The service name. `None` only before Check filled in the autoname.
    pub fn service_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether `up` waits for the rollout (default true).
    pub fn waits(&self) -> bool {
        self.wait
            .as_ref()
            .and_then(|w| w.for_steady_state)
            .unwrap_or(true)
    }

    /// The wait timeout (default 900 s).
    pub fn wait_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.wait
                .as_ref()
                .and_then(|w| w.timeout_seconds)
                .unwrap_or(900),
        )
    }

    /// The network mode (default awsvpc).
    pub fn network_mode_or_default(&self) -> NetworkMode {
        self.network_mode.unwrap_or(NetworkMode::Awsvpc)
    }

    /// The launch type in effect: the explicit one, none when a capacity
    /// provider strategy is given, FARGATE otherwise.
    pub fn effective_launch_type(&self) -> Option<LaunchType> {
        match (&self.launch_type, &self.capacity_provider_strategy) {
            (Some(t), _) => Some(*t),
            (None, Some(s)) if !s.is_empty() => None,
            _ => Some(LaunchType::Fargate),
        }
    }

    /// Whether the tasks run on Fargate (by launch type or a FARGATE* provider).
    pub fn is_fargate(&self) -> bool {
        match self.effective_launch_type() {
            Some(t) => t == LaunchType::Fargate,
            None => self
                .capacity_provider_strategy
                .iter()
                .flatten()
                .any(|i| i.capacity_provider.starts_with("FARGATE")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookkeeping_keys_are_hidden_and_old_states_still_read() {
        let state = ServiceState {
            registered_revisions: vec!["arn:rev:1".into()],
            deploy_failed: true,
            ..Default::default()
        };
        let v = serde_json::to_value(&state).unwrap();
        for key in [
            "__containerDefinitions",
            "__taskSettings",
            "__registeredRevisions",
            "__deployFailed",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
        assert!(v.get("registeredRevisions").is_none());
        let mut old = v.as_object().unwrap().clone();
        let revs = old.remove("__registeredRevisions").unwrap();
        old.insert("registeredRevisions".into(), revs);
        let failed = old.remove("__deployFailed").unwrap();
        old.insert("deployFailed".into(), failed);
        let back: ServiceState = serde_json::from_value(serde_json::Value::Object(old)).unwrap();
        assert_eq!(back, state);
    }

    #[test]
    fn schema_marks_identity_fields_replace_on_change() {
        let schema = serde_json::to_value(schemars::schema_for!(ServiceArgs)).unwrap();
        let props = &schema["properties"];
        assert_eq!(props["cluster"]["replaceOnChanges"], true);
        assert_eq!(props["name"]["replaceOnChanges"], true);
        assert!(props["desiredCount"]["description"]
            .as_str()
            .unwrap()
            .contains("Default 1"));
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(required, vec!["cluster", "containers"]);

        let state = serde_json::to_value(schemars::schema_for!(ServiceState)).unwrap();
        for output in [
            "arn",
            "taskDefinitionArn",
            "family",
            "revision",
            "images",
            "cluster",
            "containers",
        ] {
            assert!(
                state["properties"].get(output).is_some(),
                "{output} missing from {state:#}"
            );
        }
    }

    #[test]
    fn state_round_trips_through_json_with_flattened_inputs() {
        let state = ServiceState {
            args: ServiceArgs {
                cluster: "c".into(),
                name: Some("n".into()),
                ..Default::default()
            },
            arn: "arn".into(),
            revision: 2,
            ..Default::default()
        };
        let v = serde_json::to_value(&state).unwrap();
        assert_eq!(v["cluster"], "c");
        assert_eq!(v["name"], "n");
        assert_eq!(v["revision"], 2);
        let back: ServiceState = serde_json::from_value(v).unwrap();
        assert_eq!(back, state);
    }
}
