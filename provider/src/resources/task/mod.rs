//! `imagedeploy:index:Task`: the ECS crate's one-off task runner behind the
//! resource interface (runs on create, again when `triggers` or the image
//! change; delete does nothing in AWS).

use std::collections::BTreeMap;

use async_trait::async_trait;
use imagedeploy_ecs::standalone::{self, TaskArgs, TaskState};
use imagedeploy_ecs::{self as ecs, DeployError};

use crate::config::ProviderContext;
use crate::resource::{
    BoxError, Change, CheckInput, CreateInput, Created, Ctx, DiffInput, DiffOutcome, Failure,
    OpError, OutputName, Outputs, Reason, Resource, UpdateInput,
};
use crate::resources::service::resolver::Resolver;

pub struct Task;

const DESCRIPTION: &str = "A command run once in a one-off ECS task (a database migration, a seed), for programs that deploy their services another way (SST's `sst.aws.Service`, awsx).\n\nCreate runs it and waits until the task stops; it succeeds only when the task started and the container exited 0 (a task still running after `timeoutSeconds` is stopped and fails). Update runs it again only when `triggers` or the image change, or when the last run failed. The container's awslogs lines stream to the engine while it runs. Delete does nothing in AWS.";

/// Outputs that only a run knows (fields of the flattened `TaskRun`, so
/// named as the wire names them; dispatch checks each is an output).
const RUN_OUTPUTS: [&str; 9] = [
    "taskArn",
    "exitCode",
    "stopCode",
    "stoppedReason",
    "logStream",
    "startedAt",
    "stoppedAt",
    "succeeded",
    "taskDefinitionArn",
];

async fn deployer(ctx: &Ctx) -> Result<ecs::Deployer, BoxError> {
    crate::resources::service::ecs_deployer(ctx, hide(ctx)).await
}

/// Pinned images of `containers` (none with `taskDefinition`).
async fn pin_images(
    ctx: &Ctx,
    args: &TaskArgs,
    deploying: bool,
) -> Result<BTreeMap<String, String>, ecs::ImageError> {
    if args.containers.is_none() {
        return Ok(BTreeMap::new());
    }
    let resolver = Resolver {
        ctx,
        verify_digests: deploying,
    };
    ecs::resolve_images(&args.as_service(), &resolver).await
}

/// A secret command is never echoed.
fn hide(ctx: &Ctx) -> bool {
    ctx.is_secret_at("command")
}

/// The outputs a preview cannot know yet.
fn run_outputs() -> Vec<OutputName> {
    RUN_OUTPUTS.iter().map(|s| OutputName::renamed(s)).collect()
}

fn failed(e: DeployError) -> OpError<TaskState> {
    OpError::Failed(Box::new(e))
}

/// A failed run is recorded (partial state) so the next up runs it again.
#[allow(clippy::result_large_err)] // the Resource trait's own result type
fn outcome(
    id: String,
    o: standalone::TaskOutcome,
) -> Result<(String, Outputs<TaskState>), OpError<TaskState>> {
    match o.failure {
        None => Ok((id, Outputs::known(o.state))),
        Some(reason) => Err(OpError::Partial {
            id,
            state: o.state,
            reasons: vec![reason],
        }),
    }
}

#[async_trait]
impl Resource<ProviderContext> for Task {
    type Args = TaskArgs;
    type State = TaskState;

    fn token(&self) -> &'static str {
        "imagedeploy:index:Task"
    }

    fn description(&self) -> &'static str {
        DESCRIPTION
    }

    async fn check(
        &self,
        ctx: &Ctx,
        input: CheckInput<TaskArgs>,
    ) -> Result<TaskArgs, Vec<Failure>> {
        let mut args = input.news;
        if args.containers.is_some() && args.family.is_none() {
            args.family = input
                .olds
                .as_ref()
                .and_then(|o| o.family.clone())
                .or_else(|| Some(ecs::autoname(&ctx.name, &input.random_seed)));
        }
        let failures: Vec<Failure> = standalone::check(&args)
            .into_iter()
            .filter(|f| !ctx.is_unknown_at(&f.property))
            .map(|f| Failure::new(f.property, f.reason))
            .collect();
        if failures.is_empty() {
            Ok(args)
        } else {
            Err(failures)
        }
    }

    async fn diff(
        &self,
        ctx: &Ctx,
        input: DiffInput<TaskArgs, TaskState>,
    ) -> Result<DiffOutcome, BoxError> {
        let images = pin_images(ctx, &input.news, false).await?;
        let plan = standalone::diff(&input.olds, &input.news, &images);
        let mut reasons: Vec<Reason> = plan.reasons.into_iter().map(Reason::from).collect();
        if plan.rerun {
            reasons.push(standalone::preview_line(&input.news, &images, hide(ctx)).into());
        }
        Ok(DiffOutcome {
            changes: plan.changes.into_iter().map(Change::update).collect(),
            delete_before_replace: false,
            reasons,
        })
    }

    async fn create(
        &self,
        ctx: &Ctx,
        input: CreateInput<TaskArgs>,
    ) -> Result<Created<TaskState>, OpError<TaskState>> {
        let CreateInput { args, preview } = input;
        let images = pin_images(ctx, &args, !preview).await?;
        if preview {
            ctx.info(&standalone::preview_line(&args, &images, hide(ctx)));
            return Ok((
                String::new(),
                Outputs {
                    state: TaskState {
                        args,
                        images,
                        ..Default::default()
                    },
                    unknown: run_outputs(),
                },
            ));
        }
        let deployer = deployer(ctx).await.map_err(OpError::Failed)?;
        let o = deployer
            .run_task_resource(&ctx.urn, &args, &images, None, &ctx.cancel)
            .await
            .map_err(failed)?;
        let id = if o.state.run.task_arn.is_empty() {
            format!("{}-{}", ctx.name, o.state.runs)
        } else {
            o.state.run.task_arn.clone()
        };
        outcome(id, o)
    }

    // Read: the default keeps the state. A finished run is history, with
    // nothing in AWS to compare it with.

    async fn update(
        &self,
        ctx: &Ctx,
        input: UpdateInput<TaskArgs, TaskState>,
    ) -> Result<Outputs<TaskState>, OpError<TaskState>> {
        let UpdateInput {
            id,
            olds,
            news,
            preview,
        } = input;
        let images = pin_images(ctx, &news, !preview).await?;
        let plan = standalone::diff(&olds, &news, &images);
        if !plan.rerun {
            let mut state = olds;
            state.args = news;
            return Ok(Outputs::known(state));
        }
        if preview {
            ctx.info(&standalone::preview_line(&news, &images, hide(ctx)));
            let mut state = olds;
            state.args = news;
            state.images = images;
            return Ok(Outputs {
                state,
                unknown: run_outputs(),
            });
        }
        let deployer = deployer(ctx).await.map_err(OpError::Failed)?;
        let o = deployer
            .run_task_resource(&ctx.urn, &news, &images, Some(&olds), &ctx.cancel)
            .await
            .map_err(failed)?;
        outcome(id, o).map(|(_, outputs)| outputs)
    }

    // Delete: the default does nothing; a run leaves nothing in AWS to remove.
}
