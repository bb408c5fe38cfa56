//! A stand-in for the Pulumi engine's own gRPC `Engine` service (mock: there is
//! no Pulumi CLI to run here).
//!
//! Providers send progress, warnings and errors to `Engine.Log` at the address
//! they were launched with. This server records every message so tests can
//! assert what a user would see in the CLI. The other RPCs answer minimally.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use pulumi_gestalt_proto::pulumi::pulumirpc::engine_server::{Engine, EngineServer};
use pulumi_gestalt_proto::pulumi::pulumirpc::{
    GetRootResourceRequest, GetRootResourceResponse, LogRequest, RequirePulumiVersionRequest,
    RequirePulumiVersionResponse, SetRootResourceRequest, SetRootResourceResponse,
    StartDebuggingRequest,
};
use serde::Serialize;
use tokio::sync::oneshot;
use tonic::{Request, Response, Status};

/// One `Engine.Log` call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    pub severity: Severity,
    pub message: String,
    pub urn: String,
    pub ephemeral: bool,
}

/// The engine's log severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Severity {
    Debug,
    Info,
    Warning,
    Error,
    /// A value outside the protocol's enum: recorded so a test can flag it.
    Invalid(i32),
}

impl Severity {
    fn from_wire(v: i32) -> Self {
        match v {
            0 => Severity::Debug,
            1 => Severity::Info,
            2 => Severity::Warning,
            3 => Severity::Error,
            other => Severity::Invalid(other),
        }
    }

    /// The word the CLI would print.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Debug => "debug",
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Invalid(_) => "invalid-severity",
        }
    }
}

#[derive(Default)]
struct Recorder {
    logs: Mutex<Vec<LogEntry>>,
    root: Mutex<String>,
}

struct Service(Arc<Recorder>);

#[tonic::async_trait]
impl Engine for Service {
    async fn log(&self, request: Request<LogRequest>) -> Result<Response<()>, Status> {
        let r = request.into_inner();
        if let Ok(mut logs) = self.0.logs.lock() {
            logs.push(LogEntry {
                severity: Severity::from_wire(r.severity),
                message: r.message,
                urn: r.urn,
                ephemeral: r.ephemeral,
            });
        }
        Ok(Response::new(()))
    }

    async fn get_root_resource(
        &self,
        _request: Request<GetRootResourceRequest>,
    ) -> Result<Response<GetRootResourceResponse>, Status> {
        let urn = self.0.root.lock().map(|r| r.clone()).unwrap_or_default();
        Ok(Response::new(GetRootResourceResponse { urn }))
    }

    async fn set_root_resource(
        &self,
        request: Request<SetRootResourceRequest>,
    ) -> Result<Response<SetRootResourceResponse>, Status> {
        if let Ok(mut root) = self.0.root.lock() {
            *root = request.into_inner().urn;
        }
        Ok(Response::new(SetRootResourceResponse {}))
    }

    async fn start_debugging(
        &self,
        _request: Request<StartDebuggingRequest>,
    ) -> Result<Response<()>, Status> {
        Ok(Response::new(()))
    }

    async fn require_pulumi_version(
        &self,
        _request: Request<RequirePulumiVersionRequest>,
    ) -> Result<Response<RequirePulumiVersionResponse>, Status> {
        Ok(Response::new(RequirePulumiVersionResponse {}))
    }
}

/// A running fake engine on 127.0.0.1; stops when dropped.
///
/// It serves from its own thread and runtime, like the real engine is its own
/// process: a test that blocks its runtime (e.g. while a dropped plugin waits
/// for the provider to exit) must not stall a provider that is logging.
pub struct FakeEngine {
    addr: SocketAddr,
    recorder: Arc<Recorder>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeEngine {
    /// Starts the server on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let recorder = Arc::new(Recorder::default());
        let (stop, stopped) = oneshot::channel::<()>();
        let service = EngineServer::new(Service(recorder.clone()));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("fake-engine".to_string())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
                    let _ = tonic::transport::Server::builder()
                        .add_service(service)
                        .serve_with_incoming_shutdown(incoming, async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(FakeEngine {
            addr,
            recorder,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// `127.0.0.1:PORT`, the form the engine passes to plugins.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Every message logged so far, in arrival order.
    pub fn logs(&self) -> Vec<LogEntry> {
        self.recorder
            .logs
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }
}

impl Drop for FakeEngine {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
