//! One-off ECS tasks: start a task definition once with a command override,
//! wait until it is STOPPED, and judge it by its container's exit code.
//!
//! A pre-deploy step (a migration) must run exactly once per attempt even
//! when `up` is retried after the provider died mid-wait, and must never be
//! reported as success when it did not run. So:
//! - every run carries a token derived by the caller (service, revision,
//!   command, attempt). It is sent as RunTask's `clientToken` and as
//!   `startedBy`, and a task already started with it (RUNNING or STOPPED) is
//!   adopted instead of starting another;
//! - success needs all of: RunTask answered without failures, the task did
//!   not stop with `TaskFailedToStart`, and the target container reported
//!   exit code 0 (no exit code is a failure);
//! - past the time-out the task is stopped (StopTask) and it is a failure;
//! - the container's awslogs stream is read while waiting and each new line
//!   goes out as a progress event; the last lines go into the failure text.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{self as ecs, DesiredStatus, Task};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use crate::args::CapacityProviderStrategyItem;
use crate::convert;
use crate::deploy::{aws_error, DeployError};
use crate::normalise::NormalNetwork;

/// How many log lines a failure message quotes.
const TAIL_LINES: usize = 20;
/// How long to wait for a stopped-on-time-out task to reach STOPPED.
const STOP_GRACE: Duration = Duration::from_secs(120);

/// Everything one run needs.
#[derive(Debug, Clone, Default)]
pub struct TaskSpec {
    /// Cluster name or ARN.
    pub cluster: String,
    /// Task definition ARN (or `family:revision`).
    pub task_definition: String,
    /// The container the command runs in and whose exit code counts.
    /// `None`: the first essential container of the task definition.
    pub container: Option<String>,
    pub command: Vec<String>,
    /// Extra environment variables for that container.
    pub environment: BTreeMap<String, String>,
    /// Task-level CPU units / memory MiB overrides.
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    /// `FARGATE`, `EC2`, `EXTERNAL`, or `None` with a capacity provider strategy.
    pub launch_type: Option<String>,
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    pub platform_version: Option<String>,
    pub network: Option<NormalNetwork>,
    pub timeout: Duration,
    /// From [`run_token`]: the same token never starts a second task.
    pub token: String,
}

/// What one run did: the outputs of the Task resource and of a Service's
/// `lastPreDeploy`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskRun {
    /// ARN of the task (empty when RunTask started none).
    pub task_arn: String,
    /// Exit code of the target container; absent when it reported none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// ECS stop code, e.g. `EssentialContainerExited`, `TaskFailedToStart`, `UserInitiated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<String>,
    /// Why the task stopped (ECS `stoppedReason`), or why it never started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// CloudWatch Logs stream of the container (`group:stream`), when it
    /// logs with awslogs and a stream prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_stream: Option<String>,
    /// When the task started running (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// When the task stopped (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// True when the container exited with 0 after a normal start.
    pub succeeded: bool,
    /// Why the run counts as failed (absent on success), e.g.
    /// `container migrate exited with code 3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The container the command ran in.
    #[serde(default)]
    pub target_container: String,
    /// Internal: the last log lines (for error messages, not an output).
    #[serde(skip)]
    pub last_lines: Vec<String>,
}

impl TaskRun {
    /// One message for a failed run: the reason, the stop reason and the
    /// last log lines.
    pub fn failure_message(&self) -> String {
        let mut msg = self
            .failure
            .clone()
            .unwrap_or_else(|| "the task failed".to_string());
        if !self.task_arn.is_empty() {
            msg.push_str(&format!(" (task {})", self.task_arn));
        }
        if let Some(r) = self.stopped_reason.as_deref().filter(|r| !r.is_empty()) {
            if !msg.contains(r) {
                msg.push_str(&format!("; stopped reason: {r}"));
            }
        }
        if !self.last_lines.is_empty() {
            msg.push_str("; last log lines:\n");
            msg.push_str(&self.last_lines.join("\n"));
        }
        msg
    }
}

/// A token for one run: the same inputs and attempt give the same token.
/// `parts` are the identity (cluster, service or resource, task
/// definition, command, ...).
pub fn run_token(parts: &[&str], attempt: u32) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0u8]);
    }
    h.update(attempt.to_be_bytes());
    hex::encode(h.finalize())[..32].to_string()
}

/// `startedBy` of a run: letters, digits, `-` and `_`, at most 128.
fn started_by(token: &str) -> String {
    format!("imagedeploy-{token}")
}

/// Where a container's awslogs output goes.
#[derive(Debug, Clone, PartialEq)]
struct LogTarget {
    group: String,
    prefix: String,
}

/// Runs one-off tasks with one ECS client and, for log lines, one
/// CloudWatch Logs client.
#[derive(Debug, Clone)]
pub struct TaskRunner {
    ecs: aws_sdk_ecs::Client,
    logs: Option<aws_sdk_cloudwatchlogs::Client>,
    poll: Duration,
}

impl TaskRunner {
    /// Polls DescribeTasks every 5 s; without a logs client no lines are streamed.
    pub fn new(ecs: aws_sdk_ecs::Client, logs: Option<aws_sdk_cloudwatchlogs::Client>) -> Self {
        Self {
            ecs,
            logs,
            poll: Duration::from_secs(5),
        }
    }

    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Starts the task (or adopts the one `spec.token` already started),
    /// waits until it is STOPPED (stopping it after `spec.timeout`) and
    /// judges it. A failed task is `Ok` with `succeeded == false`; `Err` is
    /// for AWS errors and cancellation (the task is left running then: the
    /// next attempt with the same token adopts it).
    pub async fn run(
        &self,
        spec: &TaskSpec,
        cancel: &CancellationToken,
    ) -> Result<TaskRun, DeployError> {
        let (container, log) = self.target(spec).await?;
        let mut run = TaskRun {
            target_container: container.clone(),
            ..Default::default()
        };
        let arn = match self.existing(spec).await? {
            Some(arn) => {
                crate::deploy::progress(&format!(
                    "task {arn} was already started for this step; waiting for it instead of starting another"
                ));
                arn
            }
            None => match self.start(spec, &container).await? {
                Ok(arn) => arn,
                Err(reason) => {
                    run.failure = Some(format!("RunTask started no task: {reason}"));
                    run.stopped_reason = Some(reason);
                    return Ok(run);
                }
            },
        };
        run.task_arn = arn.clone();
        let stream = log.as_ref().map(|l| {
            (
                l.group.clone(),
                format!("{}/{container}/{}", l.prefix, task_id(&arn)),
            )
        });
        if let Some((g, s)) = &stream {
            run.log_stream = Some(format!("{g}:{s}"));
        }
        let mut tail = Tail::default();
        let deadline = Instant::now() + spec.timeout;
        let mut timed_out = false;
        let task = loop {
            if cancel.is_cancelled() {
                return Err(DeployError::Cancelled {
                    state: None,
                    during: format!("waiting for task {arn}"),
                });
            }
            let task = self.describe(&spec.cluster, &arn).await?;
            if let Some((g, s)) = &stream {
                self.read_logs(g, s, &container, &mut tail).await;
            }
            if task.last_status() == Some("STOPPED") {
                break task;
            }
            if !timed_out && Instant::now() >= deadline {
                timed_out = true;
                crate::deploy::progress(&format!(
                    "task {arn} still {} after {}s; stopping it",
                    task.last_status().unwrap_or("unknown"),
                    spec.timeout.as_secs()
                ));
                self.stop(spec, &arn).await?;
                let grace = Instant::now() + STOP_GRACE;
                let task = loop {
                    let t = self.describe(&spec.cluster, &arn).await?;
                    if t.last_status() == Some("STOPPED") || Instant::now() >= grace {
                        break t;
                    }
                    tokio::time::sleep(self.poll).await;
                };
                break task;
            }
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(self.poll) => {}
            }
        };
        if let Some((g, s)) = &stream {
            self.read_logs(g, s, &container, &mut tail).await;
        }
        run.last_lines = tail.last.into_iter().collect();
        judge(&task, &container, &mut run);
        if timed_out {
            run.succeeded = false;
            run.failure = Some(format!(
                "the task did not stop within {}s and was stopped",
                spec.timeout.as_secs()
            ));
        }
        Ok(run)
    }

    /// The target container and its awslogs destination, from the task definition.
    async fn target(&self, spec: &TaskSpec) -> Result<(String, Option<LogTarget>), DeployError> {
        let out = self
            .ecs
            .describe_task_definition()
            .task_definition(&spec.task_definition)
            .send()
            .await
            .map_err(|e| aws_error("DescribeTaskDefinition", &spec.task_definition, e))?;
        let defs = out
            .task_definition()
            .map(|td| td.container_definitions())
            .unwrap_or_default();
        let chosen = match &spec.container {
            Some(name) => defs.iter().find(|c| c.name() == Some(name.as_str())),
            None => defs
                .iter()
                .find(|c| c.essential().unwrap_or(true))
                .or(defs.first()),
        };
        let Some(def) = chosen else {
            return Err(DeployError::Invalid {
                property: "container".to_string(),
                reason: format!(
                    "task definition {} has no container {}",
                    spec.task_definition,
                    spec.container.as_deref().unwrap_or("(any essential)")
                ),
            });
        };
        let log = def.log_configuration().and_then(|l| {
            if l.log_driver().as_str() != "awslogs" {
                return None;
            }
            let options = l.options()?;
            Some(LogTarget {
                group: options.get("awslogs-group")?.clone(),
                prefix: options.get("awslogs-stream-prefix")?.clone(),
            })
        });
        Ok((def.name().unwrap_or_default().to_string(), log))
    }

    /// A task an earlier attempt with the same token started.
    async fn existing(&self, spec: &TaskSpec) -> Result<Option<String>, DeployError> {
        for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
            let out = self
                .ecs
                .list_tasks()
                .cluster(&spec.cluster)
                .started_by(started_by(&spec.token))
                .desired_status(status)
                .send()
                .await
                .map_err(|e| aws_error("ListTasks", &spec.cluster, e))?;
            if let Some(arn) = out.task_arns().first() {
                return Ok(Some(arn.clone()));
            }
        }
        Ok(None)
    }

    /// RunTask; `Ok(Err(reason))` when ECS answered with failures instead of a task.
    async fn start(
        &self,
        spec: &TaskSpec,
        container: &str,
    ) -> Result<Result<String, String>, DeployError> {
        let mut over = ecs::ContainerOverride::builder()
            .name(container)
            .set_command(Some(spec.command.clone()));
        for (k, v) in &spec.environment {
            over = over.environment(ecs::KeyValuePair::builder().name(k).value(v).build());
        }
        let overrides = ecs::TaskOverride::builder()
            .container_overrides(over.build())
            .set_cpu(spec.cpu.map(|c| c.to_string()))
            .set_memory(spec.memory.map(|m| m.to_string()))
            .build();
        let mut req = self
            .ecs
            .run_task()
            .cluster(&spec.cluster)
            .task_definition(&spec.task_definition)
            .count(1)
            .overrides(overrides)
            .started_by(started_by(&spec.token))
            .client_token(&spec.token)
            .set_launch_type(spec.launch_type.as_deref().map(Into::into))
            .set_platform_version(spec.platform_version.clone());
        if !spec.capacity_provider_strategy.is_empty() {
            let items = spec
                .capacity_provider_strategy
                .iter()
                .map(|i| {
                    ecs::CapacityProviderStrategyItem::builder()
                        .capacity_provider(&i.capacity_provider)
                        .weight(i.weight.unwrap_or(0))
                        .base(i.base.unwrap_or(0))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid("capacityProviderStrategy", e))?;
            req = req.set_capacity_provider_strategy(Some(items));
        }
        if let Some(n) = &spec.network {
            req = req.network_configuration(
                convert::network(n).map_err(|e| invalid("networkConfiguration", e))?,
            );
        }
        let out = req
            .send()
            .await
            .map_err(|e| aws_error("RunTask", &spec.task_definition, e))?;
        if let Some(arn) = out.tasks().first().and_then(|t| t.task_arn()) {
            return Ok(Ok(arn.to_string()));
        }
        let reasons: Vec<String> = out
            .failures()
            .iter()
            .map(|f| match (f.reason(), f.detail()) {
                (Some(r), Some(d)) => format!("{r} ({d})"),
                (Some(r), None) => r.to_string(),
                _ => "unknown failure".to_string(),
            })
            .collect();
        Ok(Err(if reasons.is_empty() {
            "the answer had neither tasks nor failures".to_string()
        } else {
            reasons.join("; ")
        }))
    }

    async fn describe(&self, cluster: &str, arn: &str) -> Result<Task, DeployError> {
        let out = self
            .ecs
            .describe_tasks()
            .cluster(cluster)
            .tasks(arn)
            .send()
            .await
            .map_err(|e| aws_error("DescribeTasks", arn, e))?;
        out.tasks()
            .iter()
            .find(|t| t.task_arn() == Some(arn))
            .or(out.tasks().first())
            .cloned()
            .ok_or_else(|| DeployError::Aws {
                operation: "DescribeTasks",
                target: arn.to_string(),
                message: "ECS no longer knows the task".to_string(),
                state: None,
            })
    }

    async fn stop(&self, spec: &TaskSpec, arn: &str) -> Result<(), DeployError> {
        self.ecs
            .stop_task()
            .cluster(&spec.cluster)
            .task(arn)
            .reason(format!(
                "imagedeploy: no exit within {}s",
                spec.timeout.as_secs()
            ))
            .send()
            .await
            .map_err(|e| aws_error("StopTask", arn, e))?;
        Ok(())
    }

    /// Reads the new lines of the stream (best effort: a stream that does
    /// not exist yet or a failing call only means no lines this time).
    async fn read_logs(&self, group: &str, stream: &str, container: &str, tail: &mut Tail) {
        let Some(logs) = &self.logs else { return };
        // Bounded: a chatty task is read on the next poll.
        for _ in 0..20 {
            let out = logs
                .get_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .start_from_head(true)
                .set_next_token(tail.token.clone())
                .send()
                .await;
            let Ok(out) = out else { return };
            for e in out.events() {
                let line = e.message().unwrap_or_default().trim_end();
                crate::deploy::progress(&format!("[{container}] {line}"));
                tail.push(line.to_string());
            }
            let next = out.next_forward_token().map(str::to_string);
            let done = out.events().is_empty() || next == tail.token;
            tail.token = next;
            if done {
                return;
            }
        }
    }
}

/// Where reading a log stream left off, and its last lines.
#[derive(Default)]
struct Tail {
    token: Option<String>,
    last: VecDeque<String>,
}

impl Tail {
    fn push(&mut self, line: String) {
        if self.last.len() == TAIL_LINES {
            self.last.pop_front();
        }
        self.last.push_back(line);
    }
}

/// Fills in what the stopped task reports and whether it succeeded.
fn judge(task: &Task, container: &str, run: &mut TaskRun) {
    run.stop_code = task.stop_code().map(|c| c.as_str().to_string());
    run.stopped_reason = task
        .stopped_reason()
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    run.started_at = task.started_at().map(rfc3339);
    run.stopped_at = task.stopped_at().map(rfc3339);
    let c = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container));
    run.exit_code = c.and_then(|c| c.exit_code());
    let failure = if run.stop_code.as_deref() == Some("TaskFailedToStart") {
        Some(format!(
            "the task failed to start: {}",
            run.stopped_reason.as_deref().unwrap_or("no reason given")
        ))
    } else if c.is_none() {
        Some(format!("the stopped task has no container {container}"))
    } else {
        match run.exit_code {
            Some(0) => None,
            Some(code) => Some(format!("container {container} exited with code {code}")),
            None => Some(format!(
                "container {container} reported no exit code{}",
                c.and_then(|c| c.reason())
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
        }
    };
    run.succeeded = failure.is_none();
    run.failure = failure;
}

fn rfc3339(t: &aws_smithy_types::DateTime) -> String {
    t.fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| t.secs().to_string())
}

/// The task ID: the last segment of its ARN.
pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn invalid(property: &str, e: impl std::fmt::Display) -> DeployError {
    DeployError::Invalid {
        property: property.to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(stop_code: Option<&str>, exit: Option<i32>) -> Task {
        Task::builder()
            .last_status("STOPPED")
            .set_stop_code(stop_code.map(Into::into))
            .stopped_reason("Essential container in task exited")
            .containers(
                ecs::Container::builder()
                    .name("migrate")
                    .set_exit_code(exit)
                    .build(),
            )
            .build()
    }

    #[test]
    fn only_exit_code_zero_after_a_normal_start_is_success() {
        let mut run = TaskRun::default();
        judge(
            &task(Some("EssentialContainerExited"), Some(0)),
            "migrate",
            &mut run,
        );
        assert!(run.succeeded, "{run:?}");

        let mut run = TaskRun::default();
        judge(
            &task(Some("EssentialContainerExited"), Some(3)),
            "migrate",
            &mut run,
        );
        assert!(!run.succeeded);
        assert_eq!(run.exit_code, Some(3));
        assert!(run.failure_message().contains("exited with code 3"));

        let mut run = TaskRun::default();
        judge(&task(None, None), "migrate", &mut run);
        assert!(!run.succeeded, "a missing exit code is a failure");

        let mut run = TaskRun::default();
        judge(
            &task(Some("TaskFailedToStart"), Some(0)),
            "migrate",
            &mut run,
        );
        assert!(!run.succeeded, "TaskFailedToStart wins over any exit code");

        let mut run = TaskRun::default();
        judge(&task(None, Some(0)), "web", &mut run);
        assert!(!run.succeeded, "the target container must be in the task");
    }

    #[test]
    fn tokens_depend_on_every_part_and_the_attempt() {
        let a = run_token(&["c", "svc", "td:1", "npm run migrate"], 0);
        assert_eq!(a, run_token(&["c", "svc", "td:1", "npm run migrate"], 0));
        assert_eq!(a.len(), 32);
        assert_ne!(a, run_token(&["c", "svc", "td:1", "npm run migrate"], 1));
        assert_ne!(a, run_token(&["c", "svc", "td:2", "npm run migrate"], 0));
        assert_ne!(a, run_token(&["c", "svc", "td:1npm run migrate"], 0));
        assert!(started_by(&a).len() <= 128);
    }
}
