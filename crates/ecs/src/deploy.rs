//! Create and update of one ECS service and the task definition revisions
//! it registered (refresh and delete live in `refresh` and `teardown`).
//!
//! The client is built by the caller from an `SdkConfig` (endpoint override,
//! credentials, and the retry config: use `RetryConfig::adaptive()` so
//! throttling and 5xx answers are retried with backoff and client-side rate
//! limiting; note that after a throttle adaptive mode may delay each retry up
//! to `max_backoff`, 20 s by default). Every write here is one the plan asked for: no change means
//! no AWS write at all; a container change means exactly one
//! RegisterTaskDefinition.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{Service, ServiceField};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::args::{ServiceArgs, ServiceState};
use crate::convert;
use crate::diff::ServiceDiff;
use crate::normalise::{self, NormalContainer, NormalService, NormalTask};
use crate::settings;
use crate::wait::{self, short, Outcome, Target};

/// A progress line for whoever shows this deployment to a user: a `tracing`
/// event with `progress = true` (the provider's engine log shows it live
/// and does not keep it). Never contains secret values.
pub(crate) fn progress(line: &str) {
    tracing::info!(progress = true, "{line}");
}

/// Why a create, update, refresh or delete failed.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    /// The service exists but the rollout did not complete: rolled back,
    /// failed, or timed out. `state` records the new revision and service so
    /// nothing is lost; the next update retries the deployment.
    #[error("{message}")]
    Unhealthy {
        state: Box<ServiceState>,
        message: String,
    },
    /// Cancelled by the caller; `state` is set when something was already created.
    #[error("cancelled while {during}")]
    Cancelled {
        state: Option<Box<ServiceState>>,
        during: String,
    },
    /// An ECS call failed after the SDK's retries. `state` is set when
    /// earlier writes of this operation must be recorded.
    #[error("ECS {operation} for {target} failed: {message}")]
    Aws {
        operation: &'static str,
        target: String,
        message: String,
        state: Option<Box<ServiceState>>,
    },
    #[error("service {name} already exists in cluster {cluster} (status {status}); import it or choose another name")]
    AlreadyExists {
        cluster: String,
        name: String,
        status: String,
    },
    /// Inputs that should have been caught by Check.
    #[error("{property}: {reason}")]
    Invalid { property: String, reason: String },
    #[error("this change replaces the service ({paths}); it cannot be applied as an update")]
    NeedsReplace { paths: String },
    /// The pre-deploy task failed (`onFailure: abort`): the service was not
    /// switched; `state` records the new revision and the failed run, and
    /// the next update runs the task again.
    #[error("{message}")]
    PreDeployFailed {
        state: Option<Box<ServiceState>>,
        message: String,
    },
    #[error("service {name} was still {status} after {seconds}s")]
    DeleteTimedOut {
        name: String,
        status: String,
        seconds: u64,
    },
}

impl DeployError {
    /// The state to record despite the failure (Pulumi: ErrorResourceInitFailed
    /// / partial state), when the operation already changed something.
    /// The same error with `state` as the state to record (for errors that record one).
    pub(crate) fn with_recorded(mut self, s: &ServiceState) -> Self {
        match &mut self {
            Self::Unhealthy { state, .. } => **state = s.clone(),
            Self::PreDeployFailed { state, .. }
            | Self::Cancelled { state, .. }
            | Self::Aws { state, .. } => *state = Some(Box::new(s.clone())),
            _ => {}
        }
        self
    }

    /// The same error with nothing to record (for a create that created nothing).
    pub(crate) fn without_state(self) -> Self {
        match self {
            Self::PreDeployFailed { message, .. } => Self::PreDeployFailed {
                state: None,
                message,
            },
            Self::Cancelled { during, .. } => Self::Cancelled {
                state: None,
                during,
            },
            Self::Aws {
                operation,
                target,
                message,
                ..
            } => Self::Aws {
                operation,
                target,
                message,
                state: None,
            },
            other => other,
        }
    }

    pub fn partial_state(&self) -> Option<&ServiceState> {
        match self {
            Self::Unhealthy { state, .. } => Some(state),
            Self::PreDeployFailed { state, .. } => state.as_deref(),
            Self::Cancelled { state, .. } | Self::Aws { state, .. } => state.as_deref(),
            _ => None,
        }
    }
}

/// A refreshed state and what changed outside the program.
#[derive(Debug, Clone, PartialEq)]
pub struct Refreshed {
    pub state: ServiceState,
    /// e.g. `desiredCount 1 -> 3 (changed outside the program)`.
    pub drift: Vec<String>,
}

/// Deploys services with one ECS client.
#[derive(Debug, Clone)]
pub struct Deployer {
    pub(crate) client: aws_sdk_ecs::Client,
    pub(crate) poll_interval: Duration,
    /// CloudWatch Logs client for pre-deploy task output (none: no lines).
    pub(crate) logs: Option<aws_sdk_cloudwatchlogs::Client>,
    /// The caller's own deadline (Pulumi's `customTimeouts`): waits end at
    /// the shorter of it and `wait.timeoutSeconds`.
    pub(crate) time_limit: Option<Duration>,
    /// Task commands are secret: messages say "(secret command)".
    pub(crate) hide_commands: bool,
    /// The ownership mark of what this deployer registers and creates
    /// (see `ownership`); none: nothing is marked or adopted.
    pub(crate) owner: Option<crate::ownership::Owner>,
}

pub(crate) fn aws_error<E>(operation: &'static str, target: &str, e: SdkError<E>) -> DeployError
where
    E: std::error::Error + ProvideErrorMetadata + Send + Sync + 'static,
{
    let message = match e.as_service_error() {
        Some(se) => format!(
            "{}: {}",
            se.code().unwrap_or("error"),
            se.message().unwrap_or("no message")
        ),
        None => DisplayErrorContext(&e).to_string(),
    };
    DeployError::Aws {
        operation,
        target: target.to_string(),
        message,
        state: None,
    }
}

fn with_state(mut e: DeployError, s: &ServiceState) -> DeployError {
    if let DeployError::Aws { state, .. } = &mut e {
        *state = Some(Box::new(s.clone()));
    }
    e
}

/// A CreateService client token derived from the resource, so the SDK's
/// retries (and any replay of the same request) cannot create two services.
pub fn client_token(cluster: &str, name: &str, task_definition_arn: &str) -> String {
    let digest = Sha256::digest(format!("{cluster}\n{name}\n{task_definition_arn}"));
    hex::encode(digest)[..32].to_string()
}

/// The service `name` in `cluster`, in whatever status ECS reports, or
/// `None` when ECS does not know it.
pub(crate) async fn describe(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    name: &str,
    tags: bool,
) -> Result<Option<Service>, DeployError> {
    let mut req = client.describe_services().cluster(cluster).services(name);
    let by_arn = name.starts_with("arn:");
    if tags {
        req = req.include(ServiceField::Tags);
    }
    let out = req
        .send()
        .await
        .map_err(|e| aws_error("DescribeServices", name, e))?;
    Ok(out
        .services()
        .iter()
        .find(|s| {
            (by_arn && s.service_arn() == Some(name))
                || s.service_name() == Some(name)
                || s.service_arn()
                    .is_some_and(|a| a.ends_with(&format!("/{name}")))
        })
        .cloned())
}

pub(crate) fn is_gone(svc: &Service) -> bool {
    matches!(svc.status(), Some("INACTIVE") | Some("DRAINING"))
}

pub(crate) struct Registered {
    pub(crate) arn: String,
    pub(crate) family: String,
    pub(crate) revision: i64,
}

impl Deployer {
    /// Polls every 5 s while waiting; see [`Deployer::with_poll_interval`].
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self {
            client,
            poll_interval: Duration::from_secs(5),
            logs: None,
            time_limit: None,
            hide_commands: false,
            owner: None,
        }
    }

    /// Never echo task commands (they come from a secret input).
    pub fn hiding_commands(mut self, hide: bool) -> Self {
        self.hide_commands = hide;
        self
    }

    /// Streams pre-deploy task output from CloudWatch Logs.
    pub fn with_logs(mut self, logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        self.logs = Some(logs);
        self
    }

    /// Bounds every wait by `limit` as well as by `wait.timeoutSeconds`.
    pub fn with_time_limit(mut self, limit: Option<Duration>) -> Self {
        self.time_limit = limit;
        self
    }

    /// `wait.timeoutSeconds` or the time limit, whichever is shorter.
    pub(crate) fn wait_timeout(&self, args: &crate::ServiceArgs) -> Duration {
        let own = args.wait_timeout();
        self.time_limit.map_or(own, |limit| own.min(limit))
    }

    /// How often DescribeServices is polled while waiting.
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Registers a revision, creates the service (client token derived from
    /// cluster, name and revision) and, unless `wait.forSteadyState` is
    /// false, waits for the rollout. Refuses to take over an existing
    /// ACTIVE or DRAINING service of the same name, unless it carries this
    /// deployer's ownership mark and the engine has not recorded it: then an
    /// interrupted create made it, and it is adopted (`resume`).
    pub async fn create(
        &self,
        args: &ServiceArgs,
        images: &BTreeMap<String, String>,
        cancel: &CancellationToken,
    ) -> Result<ServiceState, DeployError> {
        let name = service_name(args)?;
        let cluster = args.cluster.as_str();
        let containers = pinned_containers(args, images)?;
        let task = normalise::task(args);
        let svc = normalise::service(args);
        let mut last_pre_deploy = None;

        let mut resume = None;
        if let Some(existing) = describe(&self.client, cluster, name, self.owner.is_some()).await? {
            match existing.status() {
                Some("INACTIVE") => {}
                // Ours, and not what the engine recorded (that would be the
                // old service of a replacement): a killed run created it.
                Some("ACTIVE") if self.owns(existing.tags()) && !self.is_recorded(name) => {
                    resume = Some(existing);
                }
                status => {
                    return Err(DeployError::AlreadyExists {
                        cluster: cluster.to_string(),
                        name: name.to_string(),
                        status: status.unwrap_or("unknown").to_string(),
                    })
                }
            }
        }
        let reg = match self.reusable_revision(args, &containers, &task).await {
            Some(r) => r,
            None => self.register(&containers, &task, &svc).await?,
        };
        if let Some(existing) = resume {
            return self
                .resume_create(args, images, &existing, reg, cancel)
                .await;
        }
        if crate::predeploy::due(None, args, images, None) {
            let mut pending = ServiceState {
                args: args.clone(),
                images: images_of(&containers),
                container_definitions: containers.clone(),
                ..Default::default()
            };
            if let Err(e) = self.pre_deploy(&mut pending, None, &reg.arn, cancel).await {
                // Nothing to record without a service: the next up registers
                // (and runs in) a fresh revision.
                if matches!(e, DeployError::PreDeployFailed { .. }) {
                    self.deregister(&reg.arn).await;
                }
                return Err(e.without_state());
            }
            last_pre_deploy = pending.last_pre_deploy;
        }
        let token = client_token(cluster, name, &reg.arn);
        let mut req = self
            .client
            .create_service()
            .cluster(cluster)
            .service_name(name)
            .task_definition(&reg.arn)
            .desired_count(svc.desired_count)
            .client_token(token)
            .set_launch_type(args.effective_launch_type().map(|l| l.as_str().into()))
            .set_platform_version(svc.platform_version.clone())
            .deployment_configuration(convert::deployment_configuration(&svc))
            .enable_execute_command(svc.enable_execute_command)
            .propagate_tags(svc.propagate_tags.as_str().into())
            .set_tags(convert::tags(&self.owned_tags(&svc.tags)));
        req = req.set_capacity_provider_strategy(
            convert::capacity_provider_strategy(&svc)
                .map_err(|e| invalid("capacityProviderStrategy", e))?,
        );
        if let Some(n) = &svc.network_configuration {
            req = req.network_configuration(
                convert::network(n).map_err(|e| invalid("networkConfiguration", e))?,
            );
        }
        if !svc.load_balancers.is_empty() {
            req = req
                .set_load_balancers(Some(convert::load_balancers(&svc)))
                .health_check_grace_period_seconds(svc.health_check_grace_period_seconds);
        }
        req = settings::deploy::create_request(req, args, &svc)?;
        progress(&format!(
            "creating service {name} in {cluster} with {}",
            short(&reg.arn)
        ));
        let created = match req.send().await {
            Ok(out) => out,
            Err(e) => {
                let err = aws_error("CreateService", name, e);
                self.deregister(&reg.arn).await;
                return Err(err);
            }
        };
        let mut state = created_state(
            args,
            created.service(),
            reg,
            containers,
            task,
            last_pre_deploy,
        );
        // Before the wait: a rollout that fails (or is killed) must not
        // keep what earlier attempts left.
        self.clean_after_interrupted_runs(&state).await;
        if args.waits() {
            self.wait_for(&mut state, cancel).await?;
        }
        Ok(state)
    }

    /// Applies `plan` (from [`crate::diff`] of `old` and `args`):
    /// no change -> no AWS call; service-level change -> UpdateService only;
    /// container or task change -> one RegisterTaskDefinition, UpdateService,
    /// wait, then deregister the revisions this resource registered before.
    pub async fn update(
        &self,
        old: &ServiceState,
        args: &ServiceArgs,
        images: &BTreeMap<String, String>,
        plan: &ServiceDiff,
        cancel: &CancellationToken,
    ) -> Result<ServiceState, DeployError> {
        if plan.needs_replace() {
            return Err(DeployError::NeedsReplace {
                paths: plan.replace_paths.join(", "),
            });
        }
        let mut state = old.clone();
        state.args = args.clone();
        if let Some(n) = &old.args.name {
            state.args.name = Some(n.clone());
        }
        if !plan.has_changes() {
            return Ok(state);
        }
        let name = service_name(&state.args)?.to_string();
        let cluster = old.args.cluster.clone();
        let containers = pinned_containers(args, images)?;
        let task = normalise::task(&state.args);
        let svc = normalise::service(args);
        let old_svc = normalise::service(&old.args);
        for reason in &plan.reasons {
            progress(reason);
        }

        let mut task_definition = old.task_definition_arn.clone();
        if plan.new_revision_needed {
            let reg = match self.reusable_revision(args, &containers, &task).await {
                Some(r) => r,
                None => self.register(&containers, &task, &svc).await?,
            };
            if !state.registered_revisions.contains(&reg.arn) {
                state.registered_revisions.push(reg.arn.clone());
            }
            task_definition = reg.arn.clone();
            // Recorded only once UpdateService accepted it (below).
            state.family = reg.family;
            state.revision = reg.revision;
        }

        if crate::predeploy::due(Some(old), args, images, Some(plan)) {
            let mut pending = state.clone();
            pending.images = images_of(&containers);
            pending.container_definitions = containers.clone();
            let ran = self
                .pre_deploy(&mut pending, Some(old), &task_definition, cancel)
                .await;
            state.last_pre_deploy = pending.last_pre_deploy;
            ran.map_err(|e| e.with_recorded(&rollback_fields(&state, old)))?;
        }
        if svc.tags != old_svc.tags {
            self.retag(&old.arn, &old_svc.tags, &svc.tags)
                .await
                .map_err(|e| with_state(e, &rollback_fields(&state, old)))?;
        }
        let deploys =
            plan.new_revision_needed || service_fields_differ(&old_svc, &svc) || old.deploy_failed;
        if deploys {
            let mut req = self
                .client
                .update_service()
                .cluster(&cluster)
                .service(&name)
                .task_definition(&task_definition)
                .desired_count(svc.desired_count)
                .deployment_configuration(convert::deployment_configuration(&svc))
                .enable_execute_command(svc.enable_execute_command)
                .propagate_tags(svc.propagate_tags.as_str().into())
                .set_platform_version(svc.platform_version.clone())
                .force_new_deployment(old.deploy_failed && !plan.new_revision_needed);
            req = req.set_capacity_provider_strategy(
                convert::capacity_provider_strategy(&svc)
                    .map_err(|e| invalid("capacityProviderStrategy", e))?,
            );
            if let Some(n) = &svc.network_configuration {
                req = req.network_configuration(
                    convert::network(n).map_err(|e| invalid("networkConfiguration", e))?,
                );
            }
            if !svc.load_balancers.is_empty() || !old_svc.load_balancers.is_empty() {
                req = req.set_load_balancers(Some(convert::load_balancers(&svc)));
            }
            if !svc.load_balancers.is_empty() {
                req = req.health_check_grace_period_seconds(svc.health_check_grace_period_seconds);
            }
            req = settings::deploy::update_request(req, args, &old_svc, &svc)?;
            progress(&format!(
                "updating service {name} to {}",
                short(&task_definition)
            ));
            let out = req.send().await.map_err(|e| {
                with_state(
                    aws_error("UpdateService", &name, e),
                    &rollback_fields(&state, old),
                )
            })?;
            let primary = out.service().and_then(|s| {
                s.deployments()
                    .iter()
                    .find(|d| d.status() == Some("PRIMARY"))
            });
            state.deployment_id = primary.and_then(|d| d.id()).map(str::to_string);
            state.rollout_state = primary
                .and_then(|d| d.rollout_state())
                .map(|r| r.as_str().to_string());
        }
        state.task_definition_arn = task_definition.clone();
        if plan.new_revision_needed {
            state.container_definitions = containers.clone();
            state.task_settings = task;
            state.images = images_of(&containers);
        }
        if deploys && args.waits() {
            self.wait_for(&mut state, cancel).await?;
        }
        state.deploy_failed = false;
        // Without waiting, superseded revisions go right away: ECS keeps
        // running tasks of an INACTIVE revision.
        self.deregister_superseded(&mut state).await;
        if plan.new_revision_needed {
            self.sweep_owned(
                &state.family,
                &state.registered_revisions,
                &state.args.cluster,
                false,
            )
            .await;
        }
        Ok(state)
    }

    pub(crate) async fn wait_for(
        &self,
        state: &mut ServiceState,
        cancel: &CancellationToken,
    ) -> Result<(), DeployError> {
        let name = service_name(&state.args)?.to_string();
        let target = Target {
            cluster: &state.args.cluster,
            service: &name,
            task_definition: &state.task_definition_arn,
            timeout: self.wait_timeout(&state.args),
            poll: self.poll_interval,
        };
        let outcome = wait::rollout(&self.client, target, cancel).await;
        let (observed, failure) = match outcome {
            Outcome::Done(o) => (o, None),
            Outcome::Failed { observed, message } => (observed, Some(Ok(message))),
            Outcome::Cancelled(observed) => (observed, Some(Err(()))),
        };
        if observed.deployment_id.is_some() {
            state.deployment_id = observed.deployment_id;
            state.rollout_state = observed.rollout_state;
        }
        match failure {
            None => Ok(()),
            Some(Ok(message)) => {
                state.deploy_failed = true;
                if state.rollout_state.as_deref() == Some("COMPLETED") {
                    // The PRIMARY that completed is the rolled-back one.
                    state.rollout_state = Some("FAILED".to_string());
                }
                Err(DeployError::Unhealthy {
                    state: Box::new(state.clone()),
                    message: format!("service {name}: {message}"),
                })
            }
            Some(Err(())) => {
                state.deploy_failed = true;
                Err(DeployError::Cancelled {
                    state: Some(Box::new(state.clone())),
                    during: format!(
                        "waiting for service {name} to run {}",
                        short(&state.task_definition_arn)
                    ),
                })
            }
        }
    }

    pub(crate) async fn register(
        &self,
        containers: &[NormalContainer],
        task: &NormalTask,
        svc: &NormalService,
    ) -> Result<Registered, DeployError> {
        let defs = containers
            .iter()
            .enumerate()
            .map(|(i, c)| {
                convert::container_definition(c)
                    .map_err(|e| invalid(&format!("containers[{i}]"), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut req = self
            .client
            .register_task_definition()
            .family(&task.family)
            .set_container_definitions(Some(defs))
            .network_mode(task.network_mode.as_str().into())
            .set_cpu(task.cpu.map(|c| c.to_string()))
            .set_memory(task.memory.map(|m| m.to_string()))
            .set_execution_role_arn(task.execution_role_arn.clone())
            .set_task_role_arn(task.task_role_arn.clone())
            .set_runtime_platform(convert::runtime_platform(task))
            .set_volumes(
                settings::convert::volumes(&task.settings).map_err(|e| invalid("volumes", e))?,
            )
            .set_ephemeral_storage(settings::convert::ephemeral_storage(&task.settings))
            .set_tags(convert::tags(&self.owned_tags(&svc.tags)));
        for c in &task.requires_compatibilities {
            req = req.requires_compatibilities(c.as_str().into());
        }
        let out = req
            .send()
            .await
            .map_err(|e| aws_error("RegisterTaskDefinition", &task.family, e))?;
        let td = out.task_definition().ok_or_else(|| DeployError::Aws {
            operation: "RegisterTaskDefinition",
            target: task.family.clone(),
            message: "the response had no task definition".to_string(),
            state: None,
        })?;
        let arn = td.task_definition_arn().unwrap_or_default().to_string();
        progress(&format!("registered task definition {}", short(&arn)));
        Ok(Registered {
            family: td.family().unwrap_or(&task.family).to_string(),
            revision: i64::from(td.revision()),
            arn,
        })
    }

    async fn retag(
        &self,
        arn: &str,
        old: &BTreeMap<String, String>,
        new: &BTreeMap<String, String>,
    ) -> Result<(), DeployError> {
        let removed: Vec<String> = old
            .keys()
            .filter(|k| !new.contains_key(*k))
            .cloned()
            .collect();
        if !removed.is_empty() {
            self.client
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(|e| aws_error("UntagResource", arn, e))?;
        }
        let changed: BTreeMap<String, String> = new
            .iter()
            .filter(|(k, v)| old.get(*k) != Some(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(tags) = convert::tags(&changed) {
            self.client
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(|e| aws_error("TagResource", arn, e))?;
        }
        Ok(())
    }

    /// Deregisters the revisions this resource registered other than the
    /// one now deployed; the ones that fail stay listed for next time.
    async fn deregister_superseded(&self, state: &mut ServiceState) {
        let current = state.task_definition_arn.clone();
        let mut keep = Vec::new();
        for arn in std::mem::take(&mut state.registered_revisions) {
            if arn == current || !self.deregister(&arn).await {
                keep.push(arn);
            }
        }
        state.registered_revisions = keep;
    }

    /// Best effort: true when the revision is deregistered (or already was).
    pub(crate) async fn deregister(&self, arn: &str) -> bool {
        match self
            .client
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
        {
            Ok(_) => {
                progress(&format!("deregistered task definition {}", short(arn)));
                true
            }
            Err(e) => {
                let msg = e
                    .as_service_error()
                    .and_then(|se| se.message())
                    .unwrap_or_default()
                    .to_string();
                if msg.contains("INACTIVE")
                    || msg.contains("not found")
                    || msg.contains("Unable to describe")
                {
                    return true;
                }
                progress(&format!(
                    "could not deregister task definition {}: {}",
                    short(arn),
                    DisplayErrorContext(&e)
                ));
                false
            }
        }
    }
}

/// The state of a service just created (or adopted) running `reg`.
pub(crate) fn created_state(
    args: &ServiceArgs,
    service: Option<&Service>,
    reg: Registered,
    containers: Vec<NormalContainer>,
    task: NormalTask,
    last_pre_deploy: Option<crate::predeploy::LastPreDeploy>,
) -> ServiceState {
    let primary = service.and_then(|s| {
        s.deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
    });
    ServiceState {
        args: args.clone(),
        arn: service
            .and_then(|s| s.service_arn())
            .unwrap_or_default()
            .to_string(),
        cluster_arn: service
            .and_then(|s| s.cluster_arn())
            .unwrap_or_default()
            .to_string(),
        task_definition_arn: reg.arn.clone(),
        family: reg.family,
        revision: reg.revision,
        images: images_of(&containers),
        pull_bytes: Default::default(),
        deployment_id: primary.and_then(|d| d.id()).map(str::to_string),
        rollout_state: primary
            .and_then(|d| d.rollout_state())
            .map(|r| r.as_str().to_string()),
        container_definitions: containers,
        task_settings: task,
        registered_revisions: vec![reg.arn],
        deploy_failed: false,
        last_pre_deploy,
    }
}

/// The update failed before the new revision was deployed: record the
/// revision for later cleanup, but keep describing what actually runs.
fn rollback_fields(state: &ServiceState, old: &ServiceState) -> ServiceState {
    let mut s = state.clone();
    s.args = old.args.clone();
    s.task_definition_arn = old.task_definition_arn.clone();
    s.family = old.family.clone();
    s.revision = old.revision;
    s
}

fn service_fields_differ(a: &NormalService, b: &NormalService) -> bool {
    let strip = |s: &NormalService| NormalService {
        tags: BTreeMap::new(),
        ..s.clone()
    };
    strip(a) != strip(b)
}

pub(crate) fn service_name(args: &ServiceArgs) -> Result<&str, DeployError> {
    args.name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| DeployError::Invalid {
            property: "name".to_string(),
            reason: "the service name is not set (Check fills in the autoname)".to_string(),
        })
}

pub(crate) fn pinned_containers(
    args: &ServiceArgs,
    images: &BTreeMap<String, String>,
) -> Result<Vec<NormalContainer>, DeployError> {
    normalise::containers(args, images).map_err(|e| {
        let index = args
            .containers
            .iter()
            .position(|c| c.name == e.container)
            .unwrap_or(0);
        DeployError::Invalid {
            property: format!("containers[{index}].image"),
            reason: e.to_string(),
        }
    })
}

pub(crate) fn images_of(containers: &[NormalContainer]) -> BTreeMap<String, String> {
    containers
        .iter()
        .map(|c| (c.name.clone(), c.image.clone()))
        .collect()
}

pub(crate) fn invalid(property: &str, e: impl std::fmt::Display) -> DeployError {
    DeployError::Invalid {
        property: property.to_string(),
        reason: e.to_string(),
    }
}
