//! The standalone `Task` resource: a one-off task (a migration) for
//! programs that deploy their services another way (SST's
//! `sst.aws.Service`, awsx).
//!
//! It runs a command in a task definition given by ARN, or in one it
//! registers from `containers` (as a Service would), through the same
//! [`crate::task`] runner as a Service's `preDeploy`. It runs on create, and
//! again on update only when `triggers` or the image (the pinned images, or
//! the task definition ARN) changed, or when the last run failed. Other
//! input changes are recorded without running anything. Delete does nothing
//! in AWS: a task that ran cannot be undone.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::args::{
    CapacityProviderStrategyItem, ContainerArgs, LaunchType, NetworkConfiguration, ServiceArgs,
};
use crate::deploy::{images_of, DeployError, Deployer};
use crate::normalise;
use crate::predeploy::{check_command, DEFAULT_TIMEOUT_SECONDS};
use crate::task::{run_token, TaskRun, TaskSpec};
use crate::validate::Failure;
use imagedeploy_reference::digest_of;

/// Inputs of `imagedeploy:index:Task`: a command run once in a one-off ECS
/// task, again when `triggers` or the image change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskArgs {
    /// The ECS cluster to run in: a name (`"prod"`) or an ARN.
    pub cluster: String,

    /// ARN of the task definition to run, e.g. a service's
    /// `taskDefinitionArn`. Exactly one of `taskDefinition` and `containers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_definition: Option<String>,

    /// Containers of a task definition registered for this task (as in
    /// Service; images given by tag are pinned by digest). Exactly one of
    /// `taskDefinition` and `containers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<ContainerArgs>>,

    /// Task CPU units of the registered task definition (with `containers`), e.g. `256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,

    /// Task memory in MiB of the registered task definition (with `containers`), e.g. `512`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,

    /// Family of the registered task definition (with `containers`).
    /// Default: the resource name plus a 7-character suffix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,

    /// IAM role ECS uses to pull images and read secrets (with `containers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,

    /// IAM role the containers' code runs as (with `containers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,

    /// The container the command runs in and whose exit code counts.
    /// Default: the first essential container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,

    /// The command, e.g. `["npm", "run", "migrate"]`. Not empty.
    pub command: Vec<String>,

    /// Extra environment variables for that container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<BTreeMap<String, String>>,

    /// `FARGATE`, `EC2` or `EXTERNAL`. Default `FARGATE` unless
    /// `capacityProviderStrategy` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub launch_type: Option<LaunchType>,

    /// Capacity providers instead of `launchType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_provider_strategy: Option<Vec<CapacityProviderStrategyItem>>,

    /// Fargate platform version, e.g. `"1.4.0"`. Default `LATEST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,

    /// Subnets, security groups and public IP of `awsvpc` tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,

    /// Any values; when they change, the task runs again, e.g.
    /// `[migrationsHash]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggers: Option<Vec<Value>>,

    /// Stop the task and fail after this many seconds. Default 1800.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

/// Outputs of `imagedeploy:index:Task`: the inputs and the last run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskState {
    #[serde(flatten)]
    pub args: TaskArgs,
    /// The last run: `taskArn`, `exitCode`, `stopCode`, `stoppedReason`,
    /// `logStream`, `startedAt`, `stoppedAt`.
    #[serde(flatten)]
    pub run: TaskRun,
    /// The task definition revision the task ran in.
    pub task_definition_arn: String,
    /// Container name -> digest-pinned image the task ran (with `containers`).
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// Internal: runs so far (part of the next run's idempotency token).
    #[serde(default)]
    #[schemars(skip)]
    pub runs: u32,
}

impl TaskArgs {
    /// The same settings as Service inputs, to normalise, resolve images,
    /// check and register the way a Service does.
    pub fn as_service(&self) -> ServiceArgs {
        ServiceArgs {
            cluster: self.cluster.clone(),
            name: self.family.clone(),
            family: self.family.clone(),
            launch_type: self.launch_type,
            capacity_provider_strategy: self.capacity_provider_strategy.clone(),
            platform_version: self.platform_version.clone(),
            containers: self.containers.clone().unwrap_or_default(),
            cpu: self.cpu,
            memory: self.memory,
            execution_role_arn: self.execution_role_arn.clone(),
            task_role_arn: self.task_role_arn.clone(),
            network_configuration: self.network_configuration.clone(),
            ..Default::default()
        }
    }

    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS))
    }
}

/// Properties of Service's checks that also exist on Task.
const SHARED_PROPERTIES: &[&str] = &[
    "cluster",
    "family",
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "containers",
    "cpu",
    "memory",
    "networkConfiguration",
];

/// Check's part for Task: one source of the task definition, a command, a
/// positive time-out, a known container, and (with `containers`) what a
/// Service's containers must satisfy.
pub fn check(args: &TaskArgs) -> Vec<Failure> {
    let fail = |p: &str, r: String| Failure {
        property: p.to_string(),
        reason: r,
    };
    let mut out = Vec::new();
    match (&args.task_definition, &args.containers) {
        (Some(_), Some(_)) => out.push(fail(
            "taskDefinition",
            "give either taskDefinition or containers, not both".into(),
        )),
        (None, None) => out.push(fail(
            "taskDefinition",
            "give taskDefinition (an ARN) or containers".into(),
        )),
        (Some(td), None) if td.trim().is_empty() => out.push(fail(
            "taskDefinition",
            "the task definition ARN is empty".into(),
        )),
        _ => {}
    }
    if let Some(containers) = &args.containers {
        let service = args.as_service();
        out.extend(crate::validate::check(&service).into_iter().filter(|f| {
            SHARED_PROPERTIES.iter().any(|p| {
                f.property == *p
                    || f.property.starts_with(&format!("{p}."))
                    || f.property.starts_with(&format!("{p}["))
            })
        }));
        if let Some(c) = &args.container {
            if !containers.iter().any(|x| &x.name == c) {
                let names: Vec<&str> = containers.iter().map(|x| x.name.as_str()).collect();
                out.push(fail(
                    "container",
                    format!(
                        "no container named {c:?} in containers ({})",
                        names.join(", ")
                    ),
                ));
            }
        }
    } else if args.cluster.is_empty() {
        out.push(fail(
            "cluster",
            "cluster is required (a name or an ARN)".into(),
        ));
    }
    out.extend(check_command("command", &args.command));
    if args.timeout_seconds == Some(0) {
        out.push(fail(
            "timeoutSeconds",
            "must be at least 1 second (default 1800)".into(),
        ));
    }
    out
}

/// What an update does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TaskDiff {
    /// Changed input properties (top-level names).
    pub changes: Vec<String>,
    /// The task runs again.
    pub rerun: bool,
    pub reasons: Vec<String>,
}

/// Compares the recorded run with new inputs whose images pinned to `images`.
pub fn diff(old: &TaskState, new: &TaskArgs, images: &BTreeMap<String, String>) -> TaskDiff {
    let mut d = TaskDiff::default();
    let (a, b) = (to_object(&old.args), to_object(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    for k in keys {
        if a.get(k) != b.get(k) {
            d.changes.push(k.clone());
        }
    }
    if old.args.triggers != new.triggers {
        d.rerun = true;
        d.reasons.push("triggers changed".into());
    }
    if old.args.task_definition != new.task_definition && new.task_definition.is_some() {
        d.rerun = true;
        d.reasons.push(format!(
            "task definition {} -> {}",
            old.task_definition_arn,
            new.task_definition.as_deref().unwrap_or_default()
        ));
    }
    if let Some(containers) = &new.containers {
        for (name, image) in images {
            let before = old.images.get(name);
            if before != Some(image) {
                d.rerun = true;
                // The input may read the same (a moved tag): name the image.
                let i = containers.iter().position(|c| &c.name == name).unwrap_or(0);
                let path = format!("containers[{i}].image");
                if !d.changes.iter().any(|c| c == "containers") {
                    d.changes.push(path);
                }
                d.reasons.push(format!(
                    "container {name}: image {} -> {}",
                    before.map_or("(none)", |i| digest_of(i).unwrap_or(i)),
                    digest_of(image).unwrap_or(image)
                ));
            }
        }
    }
    if !old.run.succeeded {
        d.rerun = true;
        d.reasons.push(format!(
            "the last run failed ({}); it runs again",
            old.run.failure.as_deref().unwrap_or("unknown")
        ));
        if d.changes.is_empty() {
            d.changes.push("taskArn".into());
        }
    }
    if !d.rerun && !d.changes.is_empty() {
        d.reasons
            .push("recorded; the task runs again only when triggers or the image change".into());
    }
    d
}

fn to_object<T: Serialize>(v: &T) -> serde_json::Map<String, Value> {
    match serde_json::to_value(v) {
        Ok(Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    }
}

/// What preview says: "will run `npm run migrate` on sha256:...".
pub fn preview_line(args: &TaskArgs, images: &BTreeMap<String, String>, hide: bool) -> String {
    let on = match &args.containers {
        Some(containers) => {
            let target = match &args.container {
                Some(c) => containers.iter().find(|x| &x.name == c),
                None => containers.iter().find(|c| c.essential.unwrap_or(true)),
            };
            target
                .and_then(|c| images.get(&c.name))
                .map(|i| digest_of(i).unwrap_or(i).to_string())
                .unwrap_or_else(|| "the new task definition".into())
        }
        None => args.task_definition.clone().unwrap_or_default(),
    };
    format!(
        "will run `{}` on {on}",
        crate::predeploy::shown_command(&args.command, hide)
    )
}

/// A run of the Task resource: the new state, and why it failed if it did.
#[derive(Debug, Clone)]
pub struct TaskOutcome {
    pub state: TaskState,
    /// Set when the task failed; `state` is still to be recorded.
    pub failure: Option<String>,
}

impl Deployer {
    /// Registers the task definition (with `containers`; reusing an
    /// identical latest revision an interrupted run registered) and runs
    /// the task. `identity` (the resource's URN) and the number of earlier
    /// runs make the token, so a retried create or update after the
    /// provider died waits for the task already started.
    pub async fn run_task_resource(
        &self,
        identity: &str,
        args: &TaskArgs,
        images: &BTreeMap<String, String>,
        previous: Option<&TaskState>,
        cancel: &CancellationToken,
    ) -> Result<TaskOutcome, DeployError> {
        let service = args.as_service();
        let (task_definition, pinned) = match &args.task_definition {
            Some(td) => (td.clone(), BTreeMap::new()),
            None => {
                let containers =
                    normalise::containers(&service, images).map_err(|e| DeployError::Invalid {
                        property: "containers".into(),
                        reason: e.to_string(),
                    })?;
                let task = normalise::task(&service);
                let reg = match self.identical_revision(&containers, &task).await {
                    Some(r) => r,
                    None => {
                        self.register(&containers, &task, &normalise::service(&service))
                            .await?
                    }
                };
                (reg.arn, images_of(&containers))
            }
        };
        let runs = previous.map_or(0, |p| p.runs);
        let command = serde_json::to_string(&args.command).unwrap_or_default();
        let environment = serde_json::to_string(&args.environment).unwrap_or_default();
        let triggers = serde_json::to_string(&args.triggers).unwrap_or_default();
        let token = run_token(
            &[
                identity,
                &args.cluster,
                &task_definition,
                &command,
                &environment,
                &triggers,
                args.container.as_deref().unwrap_or(""),
            ],
            runs,
        );
        let svc = normalise::service(&service);
        let spec = TaskSpec {
            cluster: args.cluster.clone(),
            task_definition: task_definition.clone(),
            container: args.container.clone(),
            command: args.command.clone(),
            environment: args.environment.clone().unwrap_or_default(),
            cpu: None,
            memory: None,
            launch_type: service
                .effective_launch_type()
                .map(|l| l.as_str().to_string()),
            capacity_provider_strategy: svc.capacity_provider_strategy,
            platform_version: svc.platform_version,
            network: svc.network_configuration,
            timeout: args.timeout(),
            token,
        };
        crate::deploy::progress(&format!(
            "running `{}` in {}",
            crate::predeploy::shown_command(&args.command, self.hide_commands),
            crate::wait::short(&task_definition)
        ));
        let run = self
            .task_runner(self.logs.clone())
            .run(&spec, cancel)
            .await?;
        let failure = (!run.succeeded).then(|| run.failure_message());
        if failure.is_none() {
            crate::deploy::progress(&format!(
                "`{}` succeeded",
                crate::predeploy::shown_command(&args.command, self.hide_commands)
            ));
        }
        Ok(TaskOutcome {
            state: TaskState {
                args: args.clone(),
                run,
                task_definition_arn: task_definition,
                images: pinned,
                runs: runs + 1,
            },
            failure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> TaskArgs {
        TaskArgs {
            cluster: "c".into(),
            task_definition: Some("arn:aws:ecs:us-east-1:1:task-definition/app:3".into()),
            command: vec!["migrate".into()],
            ..Default::default()
        }
    }

    fn state(a: TaskArgs) -> TaskState {
        TaskState {
            task_definition_arn: a.task_definition.clone().unwrap_or_default(),
            args: a,
            run: TaskRun {
                succeeded: true,
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn only_triggers_the_image_or_a_failed_run_run_it_again() {
        let old = state(args());
        assert_eq!(diff(&old, &args(), &BTreeMap::new()), TaskDiff::default());

        let mut t = args();
        t.triggers = Some(vec![serde_json::json!("v2")]);
        let d = diff(&old, &t, &BTreeMap::new());
        assert!(d.rerun && d.changes == ["triggers"], "{d:?}");

        let mut t = args();
        t.timeout_seconds = Some(60);
        let d = diff(&old, &t, &BTreeMap::new());
        assert!(!d.rerun && d.changes == ["timeoutSeconds"], "{d:?}");

        let mut t = args();
        t.task_definition = Some("arn:aws:ecs:us-east-1:1:task-definition/app:4".into());
        assert!(diff(&old, &t, &BTreeMap::new()).rerun);

        let mut by_containers = args();
        by_containers.task_definition = None;
        by_containers.containers = Some(vec![crate::args::ContainerArgs {
            name: "web".into(),
            image: "r/app:latest".into(),
            ..Default::default()
        }]);
        let mut recorded = state(by_containers.clone());
        recorded.images = BTreeMap::from([("web".into(), "r/app@sha256:a".into())]);
        let moved = BTreeMap::from([("web".to_string(), "r/app@sha256:b".to_string())]);
        let d = diff(&recorded, &by_containers, &moved);
        assert!(
            d.rerun && d.changes == ["containers[0].image"],
            "a moved tag: {d:?}"
        );
        assert!(!diff(&recorded, &by_containers, &recorded.images.clone()).rerun);

        let mut failed = state(args());
        failed.run.succeeded = false;
        let d = diff(&failed, &args(), &BTreeMap::new());
        assert!(d.rerun && !d.changes.is_empty(), "{d:?}");
    }

    #[test]
    fn check_names_the_property() {
        let mut t = args();
        t.command = vec![];
        t.timeout_seconds = Some(0);
        let props: Vec<String> = check(&t).into_iter().map(|f| f.property).collect();
        assert_eq!(props, ["command", "timeoutSeconds"]);

        let mut t = args();
        t.task_definition = None;
        assert_eq!(check(&t)[0].property, "taskDefinition");
    }
}
