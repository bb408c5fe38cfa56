//! A Service's `preDeploy` step: a one-off task (a migration) run from the
//! new revision before the service is switched to it.
//!
//! ECS has no release phase; this module adds one. When an `up` is about to
//! deploy a new revision and `when` says so, the revision is registered, the
//! command runs once in it ([`crate::task`]), and only a success lets the
//! service be created or updated. A failure with `onFailure: abort` leaves
//! the service untouched and records the failed attempt, so the next `up`
//! runs the task again; a retried `up` after the provider died mid-wait
//! finds the same revision and token, and waits for the task already
//! running instead of starting a second one.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::args::{ServiceArgs, ServiceState};
use crate::convert;
use crate::deploy::{progress, DeployError, Deployer, Registered};
use crate::diff::ServiceDiff;
use crate::normalise::{self, NormalContainer, NormalTask};
use crate::task::{run_token, TaskRun, TaskRunner, TaskSpec};
use crate::validate::Failure;
use crate::wait::short;
use imagedeploy_reference::digest_of;

/// Default time-out of a pre-deploy task.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 1800;

/// A command run once in the new revision before the service switches to it
/// (migrations, cache warm-up), e.g.
/// `{command: ["npm", "run", "migrate"], timeoutSeconds: 600}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreDeploy {
    /// The command, e.g. `["npm", "run", "migrate"]`. Not empty.
    pub command: Vec<String>,
    /// The container it runs in (and whose exit code counts). Default: the
    /// first essential container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Extra environment variables for that container, e.g. `{MIGRATE: "1"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<BTreeMap<String, String>>,
    /// Task CPU units for this run, overriding the task definition's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    /// Task memory (MiB) for this run, overriding the task definition's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// Stop the task and fail after this many seconds. Default 1800.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// When it runs: `imageChange` (default: the new revision's images
    /// differ from the deployed ones), `revisionChange` (any new revision)
    /// or `always` (every deployment, also a service-only change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// `abort` (default): a failure leaves the service on its old revision
    /// and fails the update; the next `up` runs the task again. `warn`:
    /// the failure is logged and the service is switched anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<OnFailure>,
}

/// When a pre-deploy task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PreDeployWhen")]
pub enum When {
    #[serde(rename = "imageChange")]
    ImageChange,
    #[serde(rename = "revisionChange")]
    RevisionChange,
    #[serde(rename = "always")]
    Always,
}

/// What a failed pre-deploy task does to the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "PreDeployOnFailure")]
pub enum OnFailure {
    #[serde(rename = "abort")]
    Abort,
    #[serde(rename = "warn")]
    Warn,
}

/// Output `lastPreDeploy` of a Service: the last pre-deploy task run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LastPreDeploy {
    /// The run: task ARN, exit code, stop code, stopped reason, log stream.
    #[serde(flatten)]
    pub run: TaskRun,
    /// Digest of the image the command ran on, e.g. `sha256:...`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// The task definition revision it ran in.
    pub task_definition_arn: String,
    /// Attempts before this one in the same revision (0 for the first):
    /// part of the run's idempotency token.
    #[serde(default)]
    pub attempt: u32,
}

impl PreDeploy {
    pub fn when_or_default(&self) -> When {
        self.when.unwrap_or(When::ImageChange)
    }

    pub fn aborts(&self) -> bool {
        self.on_failure.unwrap_or(OnFailure::Abort) == OnFailure::Abort
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS))
    }

    /// The command as one line, for messages; `hide` for a secret one.
    pub fn command_line(&self, hide: bool) -> String {
        shown_command(&self.command, hide)
    }

    /// The target container's name: the given one, else the first essential.
    pub fn container_in<'a>(&'a self, args: &'a ServiceArgs) -> Option<&'a str> {
        match &self.container {
            Some(c) => args
                .containers
                .iter()
                .find(|x| &x.name == c)
                .map(|x| x.name.as_str()),
            None => args
                .containers
                .iter()
                .find(|c| c.essential.unwrap_or(true))
                .map(|c| c.name.as_str()),
        }
    }
}

/// Check's part: `preDeploy.container` exists, `preDeploy.command` is not
/// empty, `preDeploy.timeoutSeconds` is positive.
pub fn check(args: &ServiceArgs) -> Vec<Failure> {
    let Some(pd) = &args.pre_deploy else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(c) = &pd.container {
        if !args.containers.iter().any(|x| &x.name == c) {
            let names: Vec<&str> = args.containers.iter().map(|x| x.name.as_str()).collect();
            out.push(Failure {
                property: "preDeploy.container".into(),
                reason: format!(
                    "no container named {c:?} in this service (containers: {})",
                    names.join(", ")
                ),
            });
        }
    }
    out.extend(check_command("preDeploy.command", &pd.command));
    if pd.timeout_seconds == Some(0) {
        out.push(Failure {
            property: "preDeploy.timeoutSeconds".into(),
            reason: "must be at least 1 second (default 1800)".into(),
        });
    }
    out
}

/// A command must have at least one word and no empty first word.
pub fn check_command(property: &str, command: &[String]) -> Option<Failure> {
    if command.first().is_none_or(|w| w.trim().is_empty()) {
        return Some(Failure {
            property: property.into(),
            reason: "the command is empty; example: [\"npm\", \"run\", \"migrate\"]".into(),
        });
    }
    None
}

/// Whether this create (`old`/`plan` absent) or update runs the
/// pre-deploy task, by `when`. `images` are the new pinned images.
pub fn due(
    old: Option<&ServiceState>,
    args: &ServiceArgs,
    images: &BTreeMap<String, String>,
    plan: Option<&ServiceDiff>,
) -> bool {
    let Some(pd) = &args.pre_deploy else {
        return false;
    };
    let (Some(old), Some(plan)) = (old, plan) else {
        return true; // a new service: its first revision is a new image
    };
    if plan.needs_replace() {
        return false; // the replacement's create runs it
    }
    match pd.when_or_default() {
        When::Always => plan.new_revision_needed || plan.service_update_needed,
        When::RevisionChange => plan.new_revision_needed,
        When::ImageChange => {
            plan.new_revision_needed
                && args
                    .containers
                    .iter()
                    .any(|c| images.get(&c.name) != old.images.get(&c.name))
        }
    }
}

/// A command for messages: its words, or a placeholder when it is secret.
pub fn shown_command(command: &[String], hide: bool) -> String {
    if hide {
        "(secret command)".to_string()
    } else {
        command.join(" ")
    }
}

/// What preview says: "will run `npm run migrate` on sha256:... before
/// switching" (`hide`: the command is secret and not shown).
pub fn preview_line(
    args: &ServiceArgs,
    images: &BTreeMap<String, String>,
    hide: bool,
) -> Option<String> {
    let pd = args.pre_deploy.as_ref()?;
    let container = pd.container_in(args)?;
    let image = images
        .get(container)
        .map(|i| digest_of(i).unwrap_or(i).to_string())
        .or_else(|| {
            args.containers
                .iter()
                .find(|c| c.name == container)
                .map(|c| c.image.clone())
        })
        .unwrap_or_default();
    Some(format!(
        "will run `{}` on {image} before switching",
        pd.command_line(hide)
    ))
}

impl Deployer {
    /// A runner for one-off tasks on this deployer's ECS client.
    pub fn task_runner(&self, logs: Option<aws_sdk_cloudwatchlogs::Client>) -> TaskRunner {
        TaskRunner::new(self.client.clone(), logs).with_poll_interval(self.poll_interval)
    }

    /// The family's latest ACTIVE revision when it already holds exactly
    /// these containers and settings and an earlier, failed or interrupted
    /// attempt registered it: with a pre-deploy step (reusing it keeps the
    /// run token, so the task that attempt started is not started again),
    /// or when it carries this deployer's ownership mark (a run killed after
    /// RegisterTaskDefinition leaves no orphan behind a second revision).
    pub(crate) async fn reusable_revision(
        &self,
        args: &ServiceArgs,
        containers: &[NormalContainer],
        task: &NormalTask,
    ) -> Option<Registered> {
        if args.pre_deploy.is_some() {
            return self.identical_revision(containers, task).await;
        }
        self.owner.as_ref()?;
        self.latest_identical(containers, task, true).await
    }

    /// The family's latest revision when it is ACTIVE and holds exactly
    /// `containers` and `task` (compared the way ECS stores them).
    pub(crate) async fn identical_revision(
        &self,
        containers: &[NormalContainer],
        task: &NormalTask,
    ) -> Option<Registered> {
        self.latest_identical(containers, task, false).await
    }

    async fn latest_identical(
        &self,
        containers: &[NormalContainer],
        task: &NormalTask,
        owned_only: bool,
    ) -> Option<Registered> {
        let mut req = self
            .client
            .describe_task_definition()
            .task_definition(&task.family);
        if owned_only {
            req = req.include(aws_sdk_ecs::types::TaskDefinitionField::Tags);
        }
        let out = req.send().await.ok()?;
        if owned_only && !self.owns(out.tags()) {
            return None;
        }
        let td = out.task_definition()?;
        if td.status().map(|s| s.as_str()) != Some("ACTIVE") {
            return None;
        }
        let mode = td.network_mode().map_or("awsvpc", |m| m.as_str());
        let registered: Vec<NormalContainer> = td
            .container_definitions()
            .iter()
            .map(|c| convert::normal_container(c, mode))
            .collect();
        if registered != containers || &convert::normal_task(td) != task {
            return None;
        }
        progress(&format!(
            "reusing task definition {} (identical, registered by an earlier attempt)",
            crate::wait::short(td.task_definition_arn()?)
        ));
        Some(Registered {
            arn: td.task_definition_arn()?.to_string(),
            family: td.family().unwrap_or(&task.family).to_string(),
            revision: i64::from(td.revision()),
        })
    }

    /// Runs the pre-deploy task in `task_definition` for `state` (whose
    /// `args` are the new inputs). Records the run in
    /// `state.last_pre_deploy`. `Err` with `abort` means: do not deploy.
    pub(crate) async fn pre_deploy(
        &self,
        state: &mut ServiceState,
        old: Option<&ServiceState>,
        task_definition: &str,
        cancel: &CancellationToken,
    ) -> Result<(), DeployError> {
        let args = state.args.clone();
        let Some(pd) = &args.pre_deploy else {
            return Ok(());
        };
        let name = args.name.clone().unwrap_or_default();
        let container = pd.container_in(&args).map(str::to_string);
        let attempt = old
            .and_then(|o| o.last_pre_deploy.as_ref())
            .filter(|l| l.task_definition_arn == task_definition)
            .map_or(0, |l| l.attempt + 1);
        let command = serde_json::to_string(&pd.command).unwrap_or_default();
        let environment = serde_json::to_string(&pd.environment).unwrap_or_default();
        let token = run_token(
            &[
                &args.cluster,
                &name,
                task_definition,
                &command,
                &environment,
                container.as_deref().unwrap_or(""),
            ],
            attempt,
        );
        let svc = normalise::service(&args);
        let spec = TaskSpec {
            cluster: args.cluster.clone(),
            task_definition: task_definition.to_string(),
            container: container.clone(),
            command: pd.command.clone(),
            environment: pd.environment.clone().unwrap_or_default(),
            cpu: pd.cpu,
            memory: pd.memory,
            launch_type: args.effective_launch_type().map(|l| l.as_str().to_string()),
            capacity_provider_strategy: svc.capacity_provider_strategy.clone(),
            platform_version: svc.platform_version.clone(),
            network: svc.network_configuration.clone(),
            timeout: pd.timeout(),
            token,
        };
        let image_digest = container
            .as_deref()
            .and_then(|c| state.images.get(c).or_else(|| images_for(state, c)))
            .and_then(|i| digest_of(i).map(str::to_string));
        crate::deploy::progress(&format!(
            "running pre-deploy `{}` in {} before switching",
            pd.command_line(self.hide_commands),
            short(task_definition)
        ));
        let runner = self.task_runner(self.logs.clone());
        let run = runner.run(&spec, cancel).await?;
        let succeeded = run.succeeded;
        let message = run.failure_message();
        state.last_pre_deploy = Some(LastPreDeploy {
            run,
            image_digest,
            task_definition_arn: task_definition.to_string(),
            attempt,
        });
        if succeeded {
            crate::deploy::progress(&format!(
                "pre-deploy `{}` succeeded",
                pd.command_line(self.hide_commands)
            ));
            return Ok(());
        }
        if !pd.aborts() {
            crate::deploy::progress(&format!(
                "warning: pre-deploy `{}` failed, switching anyway (onFailure: warn): {message}",
                pd.command_line(self.hide_commands)
            ));
            return Ok(());
        }
        Err(DeployError::PreDeployFailed {
            state: Some(Box::new(state.clone())),
            message: format!(
                "service {name}: pre-deploy `{}` failed, the service was not switched: {message}",
                pd.command_line(self.hide_commands)
            ),
        })
    }
}

fn images_for<'a>(state: &'a ServiceState, container: &str) -> Option<&'a String> {
    state
        .container_definitions
        .iter()
        .find(|c| c.name == container)
        .map(|c| &c.image)
}
