//! `imagedeploy:index:Service`: the ECS crate's plan and deployer behind the
//! resource interface.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use imagedeploy_ecs::{self as ecs, DeployError, ServiceArgs, ServiceState};

use crate::config::ProviderContext;
use crate::resource::{
    unknown_outputs, BoxError, Change, ChangeKind, CheckInput, CreateInput, Created, Ctx,
    DeleteInput, DiffInput, DiffOutcome, Failure, OpError, Outputs, ReadInput, Reason, Resource,
    UpdateInput,
};

mod import;
mod naming;
mod owner;
mod pull;
pub(crate) mod resolver;
mod secrets;

pub struct Service;

const DESCRIPTION: &str = "An ECS service and the task definition revisions behind it, with images pinned by digest.\n\nA new revision is registered only when a container definition or a task-level setting really differs (compared the way ECS stores them), and a deploy is reported done only when the PRIMARY deployment runs the new revision with rollout state COMPLETED; a circuit-breaker rollback is a failure.\n\nWith `preDeploy`, a command (a migration) runs once in a one-off task from the new revision before the service switches to it; the service is switched only when it exits 0.";

/// Environment override of the DescribeServices poll interval (milliseconds),
/// for emulators where rollouts finish at once.
const POLL_ENV: &str = "IMAGEDEPLOY_ECS_POLL_INTERVAL_MS";

/// The Service's deployer marks what it makes as this resource's, so a
/// run after a kill finds it (see `owner`).
async fn deployer(ctx: &Ctx) -> Result<ecs::Deployer, BoxError> {
    Ok(ecs_deployer(ctx, hide(ctx))
        .await?
        .with_owner(owner::of(ctx)))
}

/// The ECS deployer both Service and Task use: customTimeouts bound its
/// waits (the shorter limit wins), task output comes from CloudWatch Logs,
/// and `hide_commands` keeps a secret command out of every message.
pub(crate) async fn ecs_deployer(
    ctx: &Ctx,
    hide_commands: bool,
) -> Result<ecs::Deployer, BoxError> {
    let client = ctx.provider.ecs().await?;
    let mut deployer = ecs::Deployer::new(client)
        .with_logs(ctx.provider.logs().await?)
        .with_time_limit(ctx.engine_timeout())
        .hiding_commands(hide_commands);
    if let Some(ms) = std::env::var(POLL_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        deployer = deployer.with_poll_interval(Duration::from_millis(ms.max(10)));
    }
    Ok(deployer)
}

/// Container name -> digest-pinned image. `deploying` is true only right
/// before AWS writes: then digest references must exist in their registry.
async fn pin_images(
    ctx: &Ctx,
    args: &ServiceArgs,
    deploying: bool,
) -> Result<BTreeMap<String, String>, ecs::ImageError> {
    let resolver = resolver::Resolver {
        ctx,
        verify_digests: deploying,
    };
    ecs::resolve_images(args, &resolver).await
}

fn failure(e: DeployError) -> OpError<ServiceState> {
    match e.partial_state().cloned() {
        Some(state) => OpError::Partial {
            id: state.arn.clone(),
            reasons: vec![e.to_string()],
            state,
        },
        None => OpError::Failed(Box::new(e)),
    }
}

/// A secret pre-deploy command is never echoed.
fn hide(ctx: &Ctx) -> bool {
    ctx.is_secret_at("preDeploy.command")
}

#[async_trait]
impl Resource<ProviderContext> for Service {
    type Args = ServiceArgs;
    type State = ServiceState;

    fn token(&self) -> &'static str {
        "imagedeploy:index:Service"
    }

    fn description(&self) -> &'static str {
        DESCRIPTION
    }

    async fn check(
        &self,
        ctx: &Ctx,
        input: CheckInput<ServiceArgs>,
    ) -> Result<ServiceArgs, Vec<Failure>> {
        let mut args = input.news;
        let old_cluster = input.olds.as_ref().map(|o| o.cluster.as_str());
        owner::checked(
            &ctx.urn,
            input.olds.as_ref().and_then(|o| o.name.as_deref()),
            &[args.cluster.as_str(), old_cluster.unwrap_or_default()],
        );
        if let Some(failure) = naming::apply(
            &mut args.name,
            input.olds.as_ref().and_then(|o| o.name.as_deref()),
            input.autonaming,
            input.proposed_name.as_deref(),
        ) {
            return Err(vec![failure]);
        }
        if args.name.is_none() {
            // Keep the name the service already has; else the engine's
            // proposal; else the resource name plus a seed-derived suffix.
            args.name = input
                .olds
                .as_ref()
                .and_then(|o| o.name.clone())
                .or(input.proposed_name)
                .or_else(|| Some(ecs::autoname(&ctx.name, &input.random_seed)));
        }
        let failures: Vec<Failure> = ecs::check(&args)
            .into_iter()
            .chain(ecs::predeploy::check(&args))
            .filter(|f| !ctx.is_unknown_at(&f.property))
            .map(|f| Failure::new(f.property, f.reason))
            .collect();
        if failures.is_empty() {
            Ok(args)
        } else {
            Err(failures)
        }
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Option<ServiceState>, BoxError> {
        import::adopt(ctx, id).await
    }

    fn derived_secrets(
        &self,
        secret_inputs: &std::collections::BTreeSet<pulumi_provider::wire::path::Path>,
        state: &ServiceState,
    ) -> Vec<pulumi_provider::wire::path::Path> {
        secrets::derived(secret_inputs, state)
    }

    async fn diff(
        &self,
        ctx: &Ctx,
        input: DiffInput<ServiceArgs, ServiceState>,
    ) -> Result<DiffOutcome, BoxError> {
        let images = pin_images(ctx, &input.news, false).await?;
        let plan = ecs::diff(&input.olds, &input.news, &images);
        let mut changes: Vec<Change> = plan
            .changes
            .iter()
            .map(|c| Change {
                path: c.path.clone(),
                kind: match c.kind {
                    ecs::ChangeKind::Add => ChangeKind::Add,
                    ecs::ChangeKind::Delete => ChangeKind::Delete,
                    ecs::ChangeKind::Update => ChangeKind::Update,
                },
                replace: c.replace,
            })
            .collect();
        if input.olds.args.pre_deploy != input.news.pre_deploy {
            // Recorded by the update; runs only with a deployment.
            changes.push(Change::update("preDeploy"));
        }
        // Each change's reason carries its path (ignoreChanges drops it);
        // the plan's other reasons are about the service as a whole.
        let mut reasons: Vec<Reason> = plan
            .changes
            .iter()
            .map(|c| Reason::about(c.path.clone(), c.reason.clone()))
            .collect();
        reasons.extend(
            plan.reasons
                .iter()
                .filter(|r| !plan.changes.iter().any(|c| &c.reason == *r))
                .map(|r| Reason::from(r.clone())),
        );
        if ecs::predeploy::due(Some(&input.olds), &input.news, &images, Some(&plan)) {
            reasons.extend(
                ecs::predeploy::preview_line(&input.news, &images, hide(ctx)).map(Reason::from),
            );
        }
        if changes.is_empty() && input.olds.deploy_failed {
            // The plan's reasons already say the deployment is retried.
            changes.push(Change::update("rolloutState"));
        }
        Ok(DiffOutcome {
            changes,
            delete_before_replace: plan.delete_before_replace,
            reasons,
        })
    }

    async fn create(
        &self,
        ctx: &Ctx,
        input: CreateInput<ServiceArgs>,
    ) -> Result<Created<ServiceState>, OpError<ServiceState>> {
        let CreateInput { args, preview } = input;
        let images = pin_images(ctx, &args, !preview).await?;
        if preview {
            let mut unknown = unknown_outputs!(ServiceState {
                arn,
                cluster_arn,
                task_definition_arn,
                revision,
                deployment_id,
                rollout_state,
                pull_bytes,
            });
            if ecs::predeploy::due(None, &args, &images, None) {
                unknown.extend(unknown_outputs!(ServiceState { last_pre_deploy }));
                if let Some(line) = ecs::predeploy::preview_line(&args, &images, hide(ctx)) {
                    ctx.info(&line);
                }
            }
            let state = preview_state(args, images);
            return Ok((String::new(), Outputs { state, unknown }));
        }
        let deployer = deployer(ctx).await.map_err(OpError::Failed)?;
        let mut state = deployer
            .create(&args, &images, &ctx.cancel)
            .await
            .map_err(failure)?;
        state.pull_bytes = pull::pull_bytes(ctx, &state).await;
        Ok((state.arn.clone(), Outputs::known(state)))
    }

    async fn read(
        &self,
        ctx: &Ctx,
        input: ReadInput<ServiceState>,
    ) -> Result<Option<ServiceState>, BoxError> {
        let deployer = deployer(ctx).await?;
        match deployer.read(&input.state).await? {
            None => {
                ctx.warn("the service no longer exists (deleted or INACTIVE)");
                Ok(None)
            }
            Some(refreshed) => {
                for drift in &refreshed.drift {
                    ctx.warn(drift);
                }
                Ok(Some(refreshed.state))
            }
        }
    }

    async fn update(
        &self,
        ctx: &Ctx,
        input: UpdateInput<ServiceArgs, ServiceState>,
    ) -> Result<Outputs<ServiceState>, OpError<ServiceState>> {
        let UpdateInput {
            olds,
            news,
            preview,
            ..
        } = input;
        let images = pin_images(ctx, &news, !preview).await?;
        let plan = ecs::diff(&olds, &news, &images);
        if preview {
            let mut unknown = Vec::new();
            if plan.new_revision_needed {
                unknown.extend(unknown_outputs!(ServiceState {
                    task_definition_arn,
                    revision
                }));
            }
            if plan.new_revision_needed || plan.service_update_needed || olds.deploy_failed {
                unknown.extend(unknown_outputs!(ServiceState {
                    deployment_id,
                    rollout_state
                }));
            }
            if ecs::predeploy::due(Some(&olds), &news, &images, Some(&plan)) {
                unknown.extend(unknown_outputs!(ServiceState { last_pre_deploy }));
                if let Some(line) = ecs::predeploy::preview_line(&news, &images, hide(ctx)) {
                    ctx.info(&line);
                }
            }
            if olds.images != images {
                unknown.extend(unknown_outputs!(ServiceState { pull_bytes }));
            }
            let mut state = olds;
            state.args = news;
            state.images = images;
            if plan.new_revision_needed {
                // The exact new value: dependents must not see the old one.
                state.family = ecs::normalise::task(&state.args).family;
            }
            return Ok(Outputs { state, unknown });
        }
        let deployer = deployer(ctx).await.map_err(OpError::Failed)?;
        let images_changed = olds.images != images;
        let old_pull_bytes = olds.pull_bytes.clone();
        let mut state = deployer
            .update(&olds, &news, &images, &plan, &ctx.cancel)
            .await
            .map_err(failure)?;
        state.pull_bytes = if images_changed || old_pull_bytes.len() != state.images.len() {
            pull::pull_bytes(ctx, &state).await
        } else {
            old_pull_bytes
        };
        Ok(Outputs::known(state))
    }

    async fn delete(&self, ctx: &Ctx, input: DeleteInput<ServiceState>) -> Result<(), BoxError> {
        let deployer = deployer(ctx).await?;
        deployer.delete(&input.state, &ctx.cancel).await?;
        Ok(())
    }
}

/// Outputs a preview can already state: inputs and the pinned images.
fn preview_state(args: ServiceArgs, images: BTreeMap<String, String>) -> ServiceState {
    let family = ecs::normalise::task(&args).family;
    ServiceState {
        args,
        arn: String::new(),
        cluster_arn: String::new(),
        task_definition_arn: String::new(),
        family,
        revision: 0,
        images,
        pull_bytes: BTreeMap::new(),
        deployment_id: None,
        rollout_state: None,
        container_definitions: Vec::new(),
        task_settings: Default::default(),
        registered_revisions: Vec::new(),
        deploy_failed: false,
        last_pre_deploy: None,
    }
}
