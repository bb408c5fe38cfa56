//! FAULT INJECTION for one-off tasks: what moto's RunTask cannot model.
//!
//! moto starts every task RUNNING, moves it one step towards STOPPED per
//! DescribeTasks call, reports exit code 0 for its first container and never
//! sets a stop code or times; it runs no container and so writes no log
//! lines. The proxy rewrites RunTask and DescribeTasks answers for tasks
//! started while a [`TaskFate`] is set, and (standing in for the awslogs
//! driver) writes given lines to the task's CloudWatch Logs stream in moto.

use std::collections::HashMap;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use serde_json::{json, Value};

use super::http::exchange;

/// How tasks started from now on end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskFate {
    /// moto's answers unchanged (STOPPED after a few polls, exit code 0).
    #[default]
    PassThrough,
    /// The target container exits with this code once moto stops the task
    /// (stop code `EssentialContainerExited`).
    Exit(i32),
    /// Stop code `TaskFailedToStart` (an image that cannot be pulled), no exit code.
    FailedToStart,
    /// RUNNING until StopTask; then stop code `UserInitiated`, exit code 137.
    NeverStops,
    /// RunTask answers with a failure (`RESOURCE:MEMORY`) and no task; not forwarded.
    RunFailure,
}

/// What the proxy remembers of one task it saw started.
#[derive(Debug, Clone)]
pub(crate) struct Started {
    fate: TaskFate,
    container: String,
    stopped_by_user: bool,
}

#[derive(Default)]
pub(crate) struct Tasks {
    pub(crate) fate: TaskFate,
    /// Lines the target container "prints", written to its awslogs stream.
    pub(crate) lines: Vec<String>,
    started: HashMap<String, Started>,
}

/// RunTask's answer for [`TaskFate::RunFailure`].
pub(crate) fn run_failure() -> Value {
    json!({
        "tasks": [],
        "failures": [{
            "reason": "RESOURCE:MEMORY",
            "detail": "no capacity for the task (fault injection)",
        }],
    })
}

/// The container a RunTask request overrides (the command's container).
fn override_container(request: &Value) -> String {
    request["overrides"]["containerOverrides"][0]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

impl Tasks {
    /// Remembers the tasks of a forwarded RunTask answer under the fate in force.
    pub(crate) fn started(&mut self, request: &Value, answer: &Value) -> Vec<String> {
        let container = override_container(request);
        let mut arns = Vec::new();
        for t in answer["tasks"].as_array().into_iter().flatten() {
            if let Some(arn) = t["taskArn"].as_str() {
                self.started.insert(
                    arn.to_string(),
                    Started {
                        fate: self.fate,
                        container: container.clone(),
                        stopped_by_user: false,
                    },
                );
                arns.push(arn.to_string());
            }
        }
        arns
    }

    pub(crate) fn stopped_by_user(&mut self, request: &Value) {
        let task = request["task"].as_str().unwrap_or_default();
        for (arn, s) in &mut self.started {
            if arn == task || arn.ends_with(&format!("/{task}")) {
                s.stopped_by_user = true;
            }
        }
    }

    /// Rewrites a DescribeTasks answer.
    pub(crate) fn rewrite(&self, answer: &mut Value, now: u64) {
        for t in answer["tasks"].as_array_mut().into_iter().flatten() {
            let Some(s) = t["taskArn"].as_str().and_then(|a| self.started.get(a)) else {
                continue;
            };
            let stopped = t["lastStatus"].as_str() == Some("STOPPED");
            match s.fate {
                TaskFate::PassThrough | TaskFate::RunFailure => {}
                TaskFate::Exit(code) if stopped => {
                    finish(
                        t,
                        now,
                        "EssentialContainerExited",
                        "Essential container in task exited",
                    );
                    set_exit(t, &s.container, Some(code));
                }
                TaskFate::FailedToStart if stopped => {
                    finish(
                        t,
                        now,
                        "TaskFailedToStart",
                        "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found (fault injection)",
                    );
                    t.as_object_mut().map(|o| o.remove("startedAt"));
                    set_exit(t, &s.container, None);
                }
                TaskFate::NeverStops if !s.stopped_by_user => {
                    t["lastStatus"] = json!("RUNNING");
                    t["desiredStatus"] = json!("RUNNING");
                    t["startedAt"] = json!(now);
                }
                TaskFate::NeverStops if stopped => {
                    let reason = t["stoppedReason"].as_str().unwrap_or("stopped").to_string();
                    finish(t, now, "UserInitiated", &reason);
                    set_exit(t, &s.container, Some(137));
                }
                _ => {}
            }
        }
    }
}

fn finish(t: &mut Value, now: u64, code: &str, reason: &str) {
    t["desiredStatus"] = json!("STOPPED");
    t["stopCode"] = json!(code);
    t["stoppedReason"] = json!(reason);
    t["startedAt"] = json!(now.saturating_sub(1));
    t["stoppedAt"] = json!(now);
}

/// Sets the exit code of `container` (moto names only the first container).
fn set_exit(t: &mut Value, container: &str, code: Option<i32>) {
    for c in t["containers"].as_array_mut().into_iter().flatten() {
        if container.is_empty() || c["name"].as_str() == Some(container) {
            c["lastStatus"] = json!("STOPPED");
            match code {
                Some(code) => c["exitCode"] = json!(code),
                None => {
                    c.as_object_mut().map(|o| o.remove("exitCode"));
                    c["reason"] = json!("CannotPullContainerError (fault injection)");
                }
            }
        }
    }
}

/// Writes `lines` to the awslogs stream of `container` in task `task_arn`,
/// as the awslogs driver would (`prefix/container/task-id`), in moto's
/// CloudWatch Logs at `upstream` (`127.0.0.1:PORT`).
pub(crate) async fn write_logs(
    upstream: &str,
    region: &str,
    task_definition: &str,
    container: &str,
    task_arn: &str,
    lines: &[String],
) -> Result<(), String> {
    let td = call(
        upstream,
        region,
        "ecs",
        "AmazonEC2ContainerServiceV20141113.DescribeTaskDefinition",
        json!({"taskDefinition": task_definition}),
    )
    .await?;
    let defs = td["taskDefinition"]["containerDefinitions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let def = defs
        .iter()
        .find(|d| container.is_empty() || d["name"].as_str() == Some(container))
        .ok_or_else(|| format!("no container {container} in {task_definition}"))?;
    let options = &def["logConfiguration"]["options"];
    let (Some(group), Some(prefix)) = (
        options["awslogs-group"].as_str(),
        options["awslogs-stream-prefix"].as_str(),
    ) else {
        return Ok(());
    };
    let name = def["name"].as_str().unwrap_or(container);
    let id = task_arn.rsplit('/').next().unwrap_or(task_arn);
    let stream = format!("{prefix}/{name}/{id}");
    // The group may exist already (an earlier task).
    let _ = call(
        upstream,
        region,
        "logs",
        "Logs_20140328.CreateLogGroup",
        json!({"logGroupName": group}),
    )
    .await;
    call(
        upstream,
        region,
        "logs",
        "Logs_20140328.CreateLogStream",
        json!({"logGroupName": group, "logStreamName": stream}),
    )
    .await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| json!({"timestamp": now + i as u64, "message": l}))
        .collect();
    call(
        upstream,
        region,
        "logs",
        "Logs_20140328.PutLogEvents",
        json!({"logGroupName": group, "logStreamName": stream, "logEvents": events}),
    )
    .await?;
    Ok(())
}

/// One unsigned JSON call to moto (which does not check signatures but
/// routes by the credential scope's service).
async fn call(
    upstream: &str,
    region: &str,
    service: &str,
    target: &str,
    body: Value,
) -> Result<Value, String> {
    let req = Request::post("/")
        .header("host", upstream)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", target)
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=test/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let resp = exchange(upstream, req).await?;
    let text = String::from_utf8_lossy(resp.body()).to_string();
    if !resp.status().is_success() {
        return Err(format!("{target}: HTTP {}: {text}", resp.status()));
    }
    serde_json::from_str(&text).or_else(|_| Ok(Value::Null))
}
