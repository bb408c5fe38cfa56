//! Adoption (import): a running service, known only by cluster and name,
//! read back into inputs a program can state and the state a Read after
//! create would have recorded.
//!
//! The service-level fields and the task definition are read exactly as
//! refresh reads them (a refresh from an empty state is an adoption), and
//! the recorded task definition is then turned back into inputs: the
//! normalised container form serialises with the input field names, so
//! `normalise::container` of the adopted inputs gives back what ECS has,
//! and the diff after an import of a matching program is empty.

use serde_json::Value;

use crate::args::{
    CapacityProviderStrategyItem, ContainerArgs, DeploymentController, EfsAuthorizationConfig,
    EfsVolumeConfiguration, EphemeralStorage, HostVolume, RuntimePlatform, ServiceArgs,
    ServiceState, Volume,
};
use crate::deploy::{describe, is_gone, DeployError, Deployer};
use crate::normalise::{NormalContainer, NormalTask};
use crate::settings::normal::NormalVolume;

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(Value::String(s.to_string())).ok()
}

impl Deployer {
    /// The service `name` of `cluster` as adoptable state; `None` when it
    /// does not exist (or is DRAINING / INACTIVE).
    pub async fn adopt(
        &self,
        cluster: &str,
        name: &str,
    ) -> Result<Option<ServiceState>, DeployError> {
        let Some(svc) = describe(&self.client, cluster, name, true).await? else {
            return Ok(None);
        };
        if is_gone(&svc) {
            return Ok(None);
        }
        let strategy: Vec<CapacityProviderStrategyItem> = svc
            .capacity_provider_strategy()
            .iter()
            .map(|i| CapacityProviderStrategyItem {
                capacity_provider: i.capacity_provider().to_string(),
                weight: Some(i.weight()),
                base: Some(i.base()),
            })
            .collect();
        let tags = crate::ownership::user_tags(svc.tags());
        let args = ServiceArgs {
            cluster: cluster.to_string(),
            name: Some(svc.service_name().unwrap_or(name).to_string()),
            launch_type: svc
                .launch_type()
                .and_then(|l| parse(l.as_str()))
                .filter(|_| strategy.is_empty()),
            capacity_provider_strategy: Some(strategy).filter(|s| !s.is_empty()),
            platform_version: svc
                .platform_version()
                .filter(|v| !v.is_empty() && *v != "LATEST")
                .map(str::to_string),
            desired_count: Some(svc.desired_count()),
            enable_execute_command: svc.enable_execute_command().then_some(true),
            enable_ecs_managed_tags: svc.enable_ecs_managed_tags().then_some(true),
            tags: Some(tags).filter(|t| !t.is_empty()),
            deployment_controller: svc
                .deployment_controller()
                .and_then(|d| parse(d.r#type().as_str()))
                .map(|t| DeploymentController { r#type: t }),
            ..Default::default()
        };
        // With no recorded task definition, refresh reads the service's
        // one and writes every service-level field it reads into the inputs.
        let skeleton = ServiceState {
            args,
            ..Default::default()
        };
        let Some(read) = self.read(&skeleton).await? else {
            return Ok(None);
        };
        let mut state = read.state;
        if state.task_definition_arn.is_empty() {
            return Err(DeployError::Invalid {
                property: "taskDefinition".to_string(),
                reason: format!("service {name} of cluster {cluster} reports no task definition"),
            });
        }
        task_inputs(&state.task_settings.clone(), &mut state.args);
        state.args.containers = state
            .container_definitions
            .iter()
            .map(|c| container_input(c, &state.task_settings))
            .collect::<Result<_, _>>()?;
        state.arn = svc.service_arn().unwrap_or_default().to_string();
        state.cluster_arn = svc.cluster_arn().unwrap_or_default().to_string();
        state.registered_revisions = vec![state.task_definition_arn.clone()];
        Ok(Some(state))
    }
}

/// Task-level inputs from a registered task definition's settings.
fn task_inputs(t: &NormalTask, args: &mut ServiceArgs) {
    args.cpu = t.cpu;
    args.memory = t.memory;
    args.network_mode = parse(&t.network_mode);
    args.execution_role_arn = t.execution_role_arn.clone();
    args.task_role_arn = t.task_role_arn.clone();
    if t.cpu_architecture.is_some() || t.operating_system_family.is_some() {
        args.runtime_platform = Some(RuntimePlatform {
            cpu_architecture: t.cpu_architecture.as_deref().and_then(parse),
            operating_system_family: t.operating_system_family.clone(),
        });
    }
    if args.name.as_deref() != Some(t.family.as_str()) {
        args.family = Some(t.family.clone());
    }
    let volumes: Vec<Volume> = t.settings.volumes.iter().map(volume_input).collect();
    args.volumes = Some(volumes).filter(|v| !v.is_empty());
    args.ephemeral_storage = t
        .settings
        .ephemeral_storage
        .map(|size_in_gi_b| EphemeralStorage { size_in_gi_b });
}

fn volume_input(v: &NormalVolume) -> Volume {
    Volume {
        name: v.name.clone(),
        host: v.host_source_path.as_ref().map(|p| HostVolume {
            source_path: Some(p.clone()),
        }),
        efs_volume_configuration: v.efs.as_ref().map(|e| EfsVolumeConfiguration {
            file_system_id: e.file_system_id.clone(),
            root_directory: Some(e.root_directory.clone()),
            transit_encryption: parse(&e.transit_encryption),
            transit_encryption_port: e.transit_encryption_port,
            authorization_config: Some(EfsAuthorizationConfig {
                access_point_id: e.access_point_id.clone(),
                iam: parse(&e.iam),
            }),
        }),
        docker_volume_configuration: v.docker.as_ref().map(|d| {
            crate::args::DockerVolumeConfiguration {
                scope: parse(&d.scope),
                autoprovision: Some(d.autoprovision).filter(|a| *a),
                driver: d.driver.clone(),
                driver_opts: Some(d.driver_opts.clone()).filter(|m| !m.is_empty()),
                labels: Some(d.labels.clone()).filter(|m| !m.is_empty()),
            }
        }),
    }
}

/// A registered container definition as the input that registers it: the
/// normalised form has the inputs' field names, so it reads back as inputs;
/// ECS's defaults (cpu 0, essential, host port = container port under
/// awsvpc/host) are left out, as a program would leave them.
fn container_input(c: &NormalContainer, task: &NormalTask) -> Result<ContainerArgs, DeployError> {
    let mut v = serde_json::to_value(c).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        if m.get("cpu") == Some(&Value::from(0)) {
            m.remove("cpu");
        }
        if m.get("essential") == Some(&Value::Bool(true)) {
            m.remove("essential");
        }
        let fixed_host = matches!(task.network_mode.as_str(), "awsvpc" | "host");
        if let Some(Value::Array(ports)) = m.get_mut("portMappings") {
            for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                if fixed_host && p.get("hostPort") == p.get("containerPort") {
                    p.remove("hostPort");
                }
                if p.get("protocol") == Some(&Value::from("tcp")) {
                    p.remove("protocol");
                }
            }
        }
    }
    serde_json::from_value(v).map_err(|e| DeployError::Invalid {
        property: "containers".to_string(),
        reason: format!(
            "container {} of the service's task definition cannot be stated as inputs: {e}",
            c.name
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::NetworkMode;
    use crate::normalise;

    /// Every container setting survives the way back: normalising the
    /// adopted inputs gives the registered definition again.
    #[test]
    fn adopted_containers_normalise_to_what_ecs_has() {
        let input: ContainerArgs = serde_json::from_value(serde_json::json!({
            "name": "web",
            "image": "r.example/app@sha256:0123",
            "cpu": 128,
            "memory": 256,
            "essential": false,
            "command": ["node", "server.js"],
            "environment": {"A": "1"},
            "secrets": {"S": "arn:aws:ssm:x:1:parameter/s"},
            "portMappings": [{"containerPort": 8080}, {"containerPort": 53, "protocol": "udp", "hostPort": 53}],
            "healthCheck": {"command": ["CMD", "true"], "retries": 5},
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/g"}},
            "dependsOn": [{"containerName": "side", "condition": "HEALTHY"}],
            "readonlyRootFilesystem": true,
            "stopTimeout": 10,
            "mountPoints": [{"sourceVolume": "data", "containerPath": "/d", "readOnly": true}],
            "volumesFrom": [{"sourceContainer": "side"}],
            "dockerLabels": {"l": "v"},
            "ulimits": [{"name": "nofile", "softLimit": 1, "hardLimit": 2}],
            "linuxParameters": {"initProcessEnabled": true, "capabilities": {"add": ["SYS_PTRACE"]},
                "tmpfs": [{"containerPath": "/t", "size": 64, "mountOptions": ["noexec"]}]},
            "systemControls": [{"namespace": "net.core.somaxconn", "value": "1024"}],
            "extraHosts": [{"hostname": "h", "ipAddress": "10.0.0.1"}],
            "firelensConfiguration": {"type": "fluentbit", "options": {"k": "v"}},
            "startTimeout": 30,
        }))
        .unwrap();
        let task = NormalTask {
            network_mode: "awsvpc".into(),
            ..Default::default()
        };
        let registered = normalise::container(&input, &input.image, NetworkMode::Awsvpc);
        let adopted = container_input(&registered, &task).unwrap();
        assert_eq!(
            normalise::container(&adopted, &adopted.image, NetworkMode::Awsvpc),
            registered
        );
        assert_eq!(adopted.cpu, Some(128));
        assert_eq!(adopted.port_mappings.as_ref().unwrap()[0].host_port, None);
    }

    #[test]
    fn adopted_task_settings_normalise_to_what_ecs_has() {
        let args: ServiceArgs = serde_json::from_value(serde_json::json!({
            "cluster": "c", "name": "web", "family": "fam", "cpu": 512, "memory": 1024,
            "containers": [],
            "executionRoleArn": "arn:role/x",
            "runtimePlatform": {"cpuArchitecture": "ARM64"},
            "volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1",
                "authorizationConfig": {"iam": "ENABLED", "accessPointId": "fsap-1"}, "transitEncryption": "ENABLED"}},
                {"name": "h", "host": {"sourcePath": "/x"}},
                {"name": "d", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true, "driver": "local"}}],
            "ephemeralStorage": {"sizeInGiB": 50},
        }))
        .unwrap();
        let registered = normalise::task(&args);
        let mut adopted = ServiceArgs {
            name: Some("web".into()),
            ..Default::default()
        };
        task_inputs(&registered, &mut adopted);
        assert_eq!(normalise::task(&adopted), registered);
        assert_eq!(adopted.family.as_deref(), Some("fam"));
    }
}
