//! Waiting for a rollout to really finish.
//!
//! "UpdateService returned" and even "the service is stable" are not "the
//! new revision serves": a circuit breaker can roll back to the old revision
//! and the service then looks perfectly healthy. So the wait succeeds only
//! when the PRIMARY deployment runs the expected revision with rolloutState
//! COMPLETED and every task running; a rollback, a FAILED rollout or the
//! timeout are failures whose message quotes the service's last events.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState, Service};
use tokio_util::sync::CancellationToken;

use crate::deploy::progress;

/// What the last look at the service showed.
#[derive(Debug, Clone, Default)]
pub(crate) struct Observed {
    pub deployment_id: Option<String>,
    pub rollout_state: Option<String>,
}

pub(crate) enum Outcome {
    Done(Observed),
    Failed { observed: Observed, message: String },
    Cancelled(Observed),
}

enum Verdict {
    Done,
    Failed(String),
    Pending(String),
}

/// Clock skew tolerated between this machine and ECS event timestamps.
const EVENT_SKEW_SECONDS: i64 = 30;

/// How many recent service events a failure message quotes.
const QUOTED_EVENTS: usize = 5;

pub(crate) struct Target<'a> {
    pub cluster: &'a str,
    pub service: &'a str,
    pub task_definition: &'a str,
    pub timeout: Duration,
    pub poll: Duration,
}

pub(crate) async fn rollout(
    client: &aws_sdk_ecs::Client,
    target: Target<'_>,
    cancel: &CancellationToken,
) -> Outcome {
    let deadline = Instant::now() + target.timeout;
    // Events older than this wait (minus clock skew) are history, not progress.
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 - EVENT_SKEW_SECONDS)
        .unwrap_or(0);
    let mut seen_events: HashSet<String> = HashSet::new();
    let mut saw_expected = false;
    let mut last_status = String::new();
    let mut observed = Observed::default();
    let mut recent: Vec<String>;
    loop {
        match crate::deploy::describe(client, target.cluster, target.service, false).await {
            Err(e) => {
                return Outcome::Failed {
                    observed,
                    message: format!("while waiting for {}: {e}", target.service),
                }
            }
            Ok(None) => {
                return Outcome::Failed {
                    observed,
                    message: format!(
                    "service {} disappeared (deleted or INACTIVE) while waiting for its deployment",
                    target.service
                ),
                }
            }
            Ok(Some(svc)) => {
                recent = recent_events(&svc);
                let fresh = svc
                    .events()
                    .iter()
                    .rev()
                    .filter(|e| e.created_at().is_none_or(|t| t.secs() >= since));
                for e in fresh {
                    let key = e
                        .id()
                        .map(str::to_string)
                        .unwrap_or_else(|| e.message().unwrap_or_default().to_string());
                    if seen_events.insert(key) {
                        if let Some(m) = e.message() {
                            progress(&format!("ECS: {m}"));
                        }
                    }
                }
                if let Some(p) = primary(&svc) {
                    observed = Observed {
                        deployment_id: p.id().map(str::to_string),
                        rollout_state: p.rollout_state().map(|r| r.as_str().to_string()),
                    };
                }
                match judge(&svc, target.task_definition, &mut saw_expected) {
                    Verdict::Done => return Outcome::Done(observed),
                    Verdict::Failed(reason) => {
                        return Outcome::Failed {
                            observed,
                            message: with_events(&reason, &recent),
                        }
                    }
                    Verdict::Pending(status) => {
                        if status != last_status {
                            progress(&status);
                            last_status = status;
                        }
                    }
                }
            }
        }
        let now = Instant::now();
        if now >= deadline {
            let reason = format!(
                "timed out after {}s waiting for service {} to run {} ({})",
                target.timeout.as_secs(),
                target.service,
                short(target.task_definition),
                if last_status.is_empty() {
                    "no status"
                } else {
                    &last_status
                }
            );
            return Outcome::Failed {
                observed,
                message: with_events(&reason, &recent),
            };
        }
        let nap = target.poll.min(deadline - now);
        tokio::select! {
            _ = tokio::time::sleep(nap) => {}
            _ = cancel.cancelled() => return Outcome::Cancelled(observed),
        }
    }
}

fn primary(svc: &Service) -> Option<&Deployment> {
    svc.deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
}

fn judge(svc: &Service, expected: &str, saw_expected: &mut bool) -> Verdict {
    let deployments = svc.deployments();
    let Some(p) = primary(svc) else {
        return Verdict::Pending("no PRIMARY deployment yet".to_string());
    };
    let id = p.id().unwrap_or("?");
    let running = p.task_definition().unwrap_or_default();
    if running == expected {
        *saw_expected = true;
        let steady = deployments.len() == 1 && p.running_count() == p.desired_count();
        return match p.rollout_state() {
            Some(DeploymentRolloutState::Failed) => Verdict::Failed(format!(
                "deployment {id} of {} failed: {}",
                short(expected),
                p.rollout_state_reason().unwrap_or("no reason given")
            )),
            Some(DeploymentRolloutState::Completed) | None if steady => Verdict::Done,
            state => Verdict::Pending(format!(
                "deployment {id} of {}: {}/{} tasks running, rollout {}",
                short(expected),
                p.running_count(),
                p.desired_count(),
                state.map_or("unknown", |s| s.as_str())
            )),
        };
    }
    let failed = deployments.iter().find(|d| {
        d.task_definition() == Some(expected)
            && d.rollout_state() == Some(&DeploymentRolloutState::Failed)
    });
    if let Some(f) = failed {
        return Verdict::Failed(format!(
            "deployment {} of {} failed and was rolled back to {}: {}",
            f.id().unwrap_or("?"),
            short(expected),
            short(running),
            f.rollout_state_reason().unwrap_or("no reason given")
        ));
    }
    if *saw_expected {
        return Verdict::Failed(format!(
            "rolled back: the PRIMARY deployment {id} runs {} instead of {}",
            short(running),
            short(expected)
        ));
    }
    // DescribeServices is eventually consistent: the new deployment may not
    // be visible yet.
    Verdict::Pending(format!(
        "waiting for a deployment of {} (PRIMARY {id} runs {})",
        short(expected),
        short(running)
    ))
}

fn recent_events(svc: &Service) -> Vec<String> {
    let mut out: Vec<String> = svc
        .events()
        .iter()
        .take(QUOTED_EVENTS)
        .filter_map(|e| e.message().map(str::to_string))
        .collect();
    out.reverse();
    out
}

fn with_events(reason: &str, events: &[String]) -> String {
    if events.is_empty() {
        return format!("{reason}; the service reported no events");
    }
    let quoted: Vec<String> = events.iter().map(|e| format!("  {e}")).collect();
    format!("{reason}; last service events:\n{}", quoted.join("\n"))
}

/// `family:revision` from a task definition ARN.
pub(crate) fn short(task_definition: &str) -> &str {
    task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition)
}
