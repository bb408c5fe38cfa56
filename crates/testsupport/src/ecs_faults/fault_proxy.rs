//! FAULT INJECTION: an HTTP proxy on 127.0.0.1 in front of moto.
//!
//! moto accepts the ECS API but never runs a deployment: its PRIMARY
//! deployment stays IN_PROGRESS forever and does not follow UpdateService.
//! It never throttles either. This proxy forwards every request to moto
//! unchanged and, on demand:
//! - rewrites DescribeServices answers to simulate a real rollout
//!   ([`Rollout::Complete`]), a circuit-breaker rollback ([`Rollout::RollBack`])
//!   or a failed deployment ([`Rollout::Fail`]), with service events;
//! - answers the next N calls of an operation with ThrottlingException, a
//!   500, or forwards them and then loses the answer ([`Fault`]);
//! - records every call (operation, request body, status) so tests can count
//!   writes and inspect client tokens;
//! - holds the next call of an operation (optionally only once another
//!   operation was seen) without answering, so a test can kill the client
//!   at exactly that point ([`FaultProxy::hold`]);
//! - makes one-off tasks exit with a given code, fail to start, never stop
//!   or not start at all, and writes their log lines ([`TaskFate`], in
//!   `task_fate`).
//!
//! Tests that use it say so: it is a simulation of ECS behaviour moto lacks,
//! not ECS itself.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

use super::http::{authority, exchange};
pub use super::task_fate::TaskFate;
use super::task_fate::{self, Tasks};

/// How DescribeServices answers are rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rollout {
    /// moto's answers unchanged.
    #[default]
    PassThrough,
    /// The PRIMARY deployment runs the service's task definition, rollout
    /// COMPLETED, every desired task running: a finished real deployment.
    Complete,
    /// Circuit breaker with rollback: the deployment of the service's task
    /// definition FAILED and the PRIMARY runs the previously completed
    /// revision again; events say so.
    RollBack,
    /// The deployment of the service's task definition FAILED (no rollback).
    Fail,
}

/// An error answer for the next calls of one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 `ThrottlingException` (not forwarded).
    Throttling,
    /// HTTP 500 `ServerException` (not forwarded).
    ServerError,
    /// Forwarded to moto, then answered with HTTP 500: the write happened
    /// but the client never heard, so it retries.
    LoseResponse,
}

/// One request seen by the proxy.
#[derive(Debug, Clone)]
pub struct Call {
    /// ECS operation from `X-Amz-Target`, e.g. `CreateService`.
    pub operation: String,
    /// The JSON request body (Null when not JSON).
    pub request: Value,
    /// Status returned to the client.
    pub status: u16,
    /// When the request arrived, counted from the proxy's start.
    pub at: std::time::Duration,
}

#[derive(Default)]
struct State {
    rollout: Rollout,
    faults: Vec<(String, Fault, usize)>,
    calls: Vec<Call>,
    /// Service ARN -> task definition last reported as a completed PRIMARY.
    completed: HashMap<String, String>,
    /// Unix time of the simulated events.
    events_at: u64,
    /// One-off tasks: their fate and log lines.
    tasks: Tasks,
    /// Calls to hold: (operation, only after this operation was seen).
    holds: Vec<(String, Option<String>)>,
    /// Operations of the calls held so far.
    held: Vec<String>,
}

struct Shared {
    upstream: String,
    started: std::time::Instant,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The running proxy; stopped when dropped.
pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Operations that only read.
fn is_read(operation: &str) -> bool {
    ["Describe", "List", "Get"]
        .iter()
        .any(|p| operation.starts_with(p))
}

impl FaultProxy {
    /// Starts a proxy for `upstream` (`http://127.0.0.1:PORT`, moto) on a
    /// free loopback port, on the current tokio runtime.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            upstream: authority(upstream),
            started: std::time::Instant::now(),
            state: Mutex::new(State::default()),
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req| handle(shared.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self { port, shared, task })
    }

    /// `http://127.0.0.1:PORT`: the endpoint SDK clients should use.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Chooses how DescribeServices answers are rewritten from now on.
    /// Simulated events are dated now.
    pub fn set_rollout(&self, rollout: Rollout) {
        let mut st = self.shared.lock();
        st.rollout = rollout;
        st.events_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
    }

    /// Answers the next `times` calls of `operation` (e.g. `DescribeServices`) with `fault`.
    pub fn inject(&self, operation: &str, fault: Fault, times: usize) {
        self.shared
            .lock()
            .faults
            .push((operation.to_string(), fault, times));
    }

    /// Holds the next call of `operation` that arrives once a call of
    /// `after` was seen (any time when `None`): it is never forwarded and
    /// never answered (until the proxy stops, or 10 minutes pass), as if the
    /// client were killed at that point. See [`FaultProxy::wait_held`].
    pub fn hold(&self, operation: &str, after: Option<&str>) {
        self.shared
            .lock()
            .holds
            .push((operation.to_string(), after.map(str::to_string)));
    }

    /// Waits until a call of `operation` is being held; false after `timeout`.
    pub async fn wait_held(&self, operation: &str, timeout: std::time::Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.shared.lock().held.iter().any(|o| o == operation) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// How tasks started from now on end (RunTask / DescribeTasks / StopTask).
    pub fn set_task_fate(&self, fate: TaskFate) {
        self.shared.lock().tasks.fate = fate;
    }

    /// Lines the target container of tasks started from now on writes to
    /// its awslogs stream (in moto's CloudWatch Logs), as the awslogs
    /// driver would.
    pub fn set_task_logs(&self, lines: &[&str]) {
        self.shared.lock().tasks.lines = lines.iter().map(|l| l.to_string()).collect();
    }

    /// Every call seen so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().calls.clone()
    }

    /// How many calls of `operation` arrived (faulted ones included).
    pub fn count(&self, operation: &str) -> usize {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| c.operation == operation)
            .count()
    }

    /// The operations of calls that write (not Describe*/List*/Get*), in order.
    pub fn write_calls(&self) -> Vec<String> {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|c| !is_read(&c.operation))
            .map(|c| c.operation.clone())
            .collect()
    }

    /// Forgets the recorded calls.
    pub fn clear_calls(&self) {
        self.shared.lock().calls.clear();
    }
}

fn json_response(body: Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    resp
}

fn error_response(status: StatusCode, kind: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"__type": kind, "message": message}).to_string();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    if let Ok(v) = hyper::header::HeaderValue::from_str(kind) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = shared.started.elapsed();
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let operation = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or("(unknown)")
        .to_string();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);

    let hold = {
        let mut st = shared.lock();
        let seen = |op: &str| st.calls.iter().any(|c| c.operation == op);
        let found = st
            .holds
            .iter()
            .position(|(op, after)| *op == operation && after.as_deref().is_none_or(seen));
        if let Some(i) = found {
            st.holds.remove(i);
            st.held.push(operation.clone());
        }
        found.is_some()
    };
    if hold {
        tokio::time::sleep(std::time::Duration::from_secs(600)).await;
        return Ok(error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "Held too long (fault injection)",
        ));
    }

    let fault = {
        let mut st = shared.lock();
        let found = st
            .faults
            .iter_mut()
            .find(|(op, _, n)| *op == operation && *n > 0)
            .map(|(_, f, n)| {
                *n -= 1;
                *f
            });
        st.faults.retain(|(_, _, n)| *n > 0);
        found
    };
    if operation == "StopTask" {
        shared.lock().tasks.stopped_by_user(&request);
    }
    let run_failure = operation == "RunTask" && shared.lock().tasks.fate == TaskFate::RunFailure;
    let injected = match fault {
        _ if run_failure => Some(json_response(task_fate::run_failure())),
        Some(Fault::Throttling) => Some(error_response(
            StatusCode::BAD_REQUEST,
            "ThrottlingException",
            "Rate exceeded (fault injection)",
        )),
        Some(Fault::ServerError) => Some(error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServerException",
            "Internal failure (fault injection)",
        )),
        _ => None,
    };
    let response = match injected {
        Some(r) => r,
        None => {
            let forwarded = forward(&shared, parts, body, &operation).await;
            if fault == Some(Fault::LoseResponse) {
                error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServerException",
                    "Response lost (fault injection)",
                )
            } else {
                forwarded
            }
        }
    };
    shared.lock().calls.push(Call {
        operation,
        request,
        status: response.status().as_u16(),
        at,
    });
    Ok(response)
}

async fn forward(
    shared: &Shared,
    parts: hyper::http::request::Parts,
    body: Bytes,
    operation: &str,
) -> Response<Full<Bytes>> {
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    // The credential scope's region: `Credential=KEY/DATE/REGION/ecs/aws4_request`.
    let region = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .unwrap_or("us-east-1")
        .to_string();
    let mut builder = Request::builder().method(parts.method).uri(path);
    for (k, v) in &parts.headers {
        builder = builder.header(k, v);
    }
    let Ok(req) = builder.body(Full::new(body)) else {
        return error_response(
            StatusCode::BAD_GATEWAY,
            "ProxyError",
            "could not rebuild the request",
        );
    };
    let resp = match exchange(&shared.upstream, req).await {
        Ok(r) => r,
        Err(e) => return error_response(StatusCode::BAD_GATEWAY, "ProxyError", &e),
    };
    let (mut parts, mut body) = resp.into_parts();
    if operation == "DescribeServices" && parts.status.is_success() {
        let rollout = shared.lock().rollout;
        if rollout != Rollout::PassThrough {
            if let Ok(mut doc) = serde_json::from_slice::<Value>(&body) {
                let mut st = shared.lock();
                if let Some(services) = doc.get_mut("services").and_then(Value::as_array_mut) {
                    for svc in services {
                        let at = st.events_at;
                        rewrite_service(svc, rollout, at, &mut st.completed);
                    }
                }
                body = Bytes::from(doc.to_string());
            }
        }
    }
    if parts.status.is_success() {
        body = tasks_answer(shared, operation, &request, &region, body).await;
    }
    for h in ["content-length", "transfer-encoding", "connection"] {
        parts.headers.remove(h);
    }
    Response::from_parts(parts, Full::new(body))
}

fn rewrite_service(
    svc: &mut Value,
    rollout: Rollout,
    events_at: u64,
    completed: &mut HashMap<String, String>,
) {
    if svc.get("status").and_then(Value::as_str) != Some("ACTIVE") {
        return;
    }
    let arn = str_of(svc, "serviceArn");
    let name = str_of(svc, "serviceName");
    let wanted = str_of(svc, "taskDefinition");
    let desired = svc.get("desiredCount").and_then(Value::as_i64).unwrap_or(0);
    let moto_primary = svc
        .get("deployments")
        .and_then(Value::as_array)
        .and_then(|ds| {
            ds.iter()
                .find(|d| d.get("status").and_then(Value::as_str) == Some("PRIMARY"))
        })
        .cloned()
        .unwrap_or_else(|| json!({"id": "ecs-svc/0", "status": "PRIMARY"}));
    let new_id = format!("ecs-svc/{}", revision_of(&wanted));
    let deployment = |id: &str, status: &str, td: &str, state: &str, running: i64, reason: &str| {
        let mut d = moto_primary.clone();
        d["id"] = json!(id);
        d["status"] = json!(status);
        d["taskDefinition"] = json!(td);
        d["desiredCount"] = json!(desired);
        d["runningCount"] = json!(running);
        d["pendingCount"] = json!(0);
        d["rolloutState"] = json!(state);
        d["rolloutStateReason"] = json!(reason);
        d
    };
    match rollout {
        Rollout::PassThrough => {}
        Rollout::Complete => {
            svc["deployments"] = json!([deployment(
                &new_id,
                "PRIMARY",
                &wanted,
                "COMPLETED",
                desired,
                "ECS deployment completed (fault injection: simulated rollout)."
            )]);
            svc["runningCount"] = json!(desired);
            completed.insert(arn, wanted);
        }
        Rollout::RollBack => {
            let previous = completed
                .get(&arn)
                .cloned()
                .unwrap_or_else(|| str_of(&moto_primary, "taskDefinition"));
            let old_id = format!("ecs-svc/{}", revision_of(&previous));
            let failed = deployment(
                &new_id,
                "ACTIVE",
                &wanted,
                "FAILED",
                0,
                "ECS deployment circuit breaker: tasks failed to start.",
            );
            let events = vec![
                event(&name, events_at, 3, &format!("(service {name}) rolling back to deployment {old_id}.")),
                event(
                    &name,
                    events_at,
                    2,
                    &format!("(service {name}) (deployment {new_id}) deployment failed: tasks failed to start."),
                ),
                event(
                    &name,
                    events_at,
                    1,
                    &format!("(service {name}) (task 0f1e2d) failed container health checks (fault injection)."),
                ),
            ];
            if previous == wanted || previous.is_empty() {
                svc["deployments"] = json!([deployment(
                    &new_id,
                    "PRIMARY",
                    &wanted,
                    "FAILED",
                    0,
                    "ECS deployment circuit breaker: tasks failed to start."
                )]);
            } else {
                svc["deployments"] = json!([
                    deployment(
                        &old_id,
                        "PRIMARY",
                        &previous,
                        "COMPLETED",
                        desired,
                        "rolled back"
                    ),
                    failed
                ]);
                svc["taskDefinition"] = json!(previous);
            }
            prepend_events(svc, events);
        }
        Rollout::Fail => {
            svc["deployments"] = json!([deployment(
                &new_id,
                "PRIMARY",
                &wanted,
                "FAILED",
                0,
                "ECS deployment failed: tasks failed to start."
            )]);
            prepend_events(
                svc,
                vec![event(
                    &name,
                    events_at,
                    4,
                    &format!("(service {name}) (deployment {new_id}) deployment failed: tasks failed to start (fault injection)."),
                )],
            );
        }
    }
}

fn str_of(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn revision_of(task_definition: &str) -> String {
    task_definition
        .rsplit('/')
        .next()
        .unwrap_or("0")
        .replace(':', "-")
}

fn event(service: &str, at: u64, n: u32, message: &str) -> Value {
    json!({
        "id": format!("fault-injection-{service}-{at}-{n}"),
        "createdAt": at + u64::from(n),
        "message": message,
    })
}

fn prepend_events(svc: &mut Value, mut events: Vec<Value>) {
    if let Some(existing) = svc.get("events").and_then(Value::as_array) {
        events.extend(existing.iter().cloned());
    }
    svc["events"] = Value::Array(events);
}

/// RunTask: remembers the started tasks and writes their log lines;
/// DescribeTasks: rewritten by the tasks' fate.
async fn tasks_answer(
    shared: &Shared,
    operation: &str,
    request: &Value,
    region: &str,
    body: Bytes,
) -> Bytes {
    if operation != "RunTask" && operation != "DescribeTasks" {
        return body;
    }
    let Ok(mut doc) = serde_json::from_slice::<Value>(&body) else {
        return body;
    };
    if operation == "DescribeTasks" {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        shared.lock().tasks.rewrite(&mut doc, now);
        return Bytes::from(doc.to_string());
    }
    let (arns, lines) = {
        let mut st = shared.lock();
        (st.tasks.started(request, &doc), st.tasks.lines.clone())
    };
    if !lines.is_empty() {
        let task_definition = request["taskDefinition"].as_str().unwrap_or_default();
        let container = request["overrides"]["containerOverrides"][0]["name"]
            .as_str()
            .unwrap_or_default();
        for arn in arns {
            if let Err(e) = task_fate::write_logs(
                &shared.upstream,
                region,
                task_definition,
                container,
                &arn,
                &lines,
            )
            .await
            {
                eprintln!("fault injection: could not write the task's log lines: {e}");
            }
        }
    }
    body
}
