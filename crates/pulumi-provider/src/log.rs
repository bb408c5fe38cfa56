//! Messages for the user, sent to the engine's Log service.
//!
//! Progress from long builds and rollouts has to reach the CLI while the
//! operation runs, in order, without any resource awaiting a network call to
//! log a line. One background task owns the engine connection; when the
//! engine cannot be reached, messages go to stderr and work carries on.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pulumi_gestalt_proto::pulumi::pulumirpc::{
    engine_client::EngineClient, LogRequest, LogSeverity,
};
use tokio::sync::{mpsc, oneshot};

enum Message {
    Log {
        severity: LogSeverity,
        text: String,
        urn: String,
        ephemeral: bool,
    },
    Flush(oneshot::Sender<()>),
}

/// Cheap to clone; all clones feed the same ordered stream.
#[derive(Clone)]
pub struct Logger {
    tx: mpsc::UnboundedSender<Message>,
    address: Arc<Mutex<Option<String>>>,
}

impl Logger {
    /// Starts the sender task. Call `connect` once the engine address is known.
    pub fn start() -> Logger {
        let (tx, rx) = mpsc::unbounded_channel();
        let address = Arc::new(Mutex::new(None));
        tokio::spawn(run(rx, address.clone()));
        Logger { tx, address }
    }

    /// Points the logger at the engine (from the command line, Handshake or Attach).
    pub fn connect(&self, engine_address: &str) {
        if engine_address.is_empty() {
            return;
        }
        if let Ok(mut slot) = self.address.lock() {
            *slot = Some(engine_address.to_string());
        }
    }

    pub fn progress(&self, urn: &str, text: &str) {
        self.send(LogSeverity::Info, urn, text, true);
    }

    pub fn info(&self, urn: &str, text: &str) {
        self.send(LogSeverity::Info, urn, text, false);
    }

    pub fn warn(&self, urn: &str, text: &str) {
        self.send(LogSeverity::Warning, urn, text, false);
    }

    pub fn debug(&self, urn: &str, text: &str) {
        self.send(LogSeverity::Debug, urn, text, false);
    }

    /// Waits until every message logged so far was delivered (or written to stderr).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
        }
    }

    fn send(&self, severity: LogSeverity, urn: &str, text: &str, ephemeral: bool) {
        let _ = self.tx.send(Message::Log {
            severity,
            text: text.to_string(),
            urn: urn.to_string(),
            ephemeral,
        });
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<Message>, address: Arc<Mutex<Option<String>>>) {
    let mut client: Option<(String, EngineClient<tonic::transport::Channel>)> = None;
    let mut unreachable: Option<String> = None;
    while let Some(message) = rx.recv().await {
        let (severity, text, urn, ephemeral) = match message {
            Message::Flush(done) => {
                let _ = done.send(());
                continue;
            }
            Message::Log {
                severity,
                text,
                urn,
                ephemeral,
            } => (severity, text, urn, ephemeral),
        };
        let wanted = address.lock().ok().and_then(|a| a.clone());
        if let Some(addr) = wanted {
            let stale = client.as_ref().is_none_or(|(a, _)| a != &addr);
            if stale && unreachable.as_deref() != Some(addr.as_str()) {
                client = connect(&addr).await.map(|c| (addr.clone(), c));
                if client.is_none() {
                    eprintln!("imagedeploy: engine at {addr} is unreachable; logging to stderr");
                    unreachable = Some(addr);
                }
            }
        }
        let delivered = match client.as_mut() {
            Some((_, c)) => {
                let request = LogRequest {
                    severity: severity as i32,
                    message: text.clone(),
                    urn: urn.clone(),
                    stream_id: 0,
                    ephemeral,
                };
                tokio::time::timeout(Duration::from_secs(5), c.log(request))
                    .await
                    .is_ok_and(|r| r.is_ok())
            }
            None => false,
        };
        let blank_progress = ephemeral && text.trim().is_empty();
        if !delivered && !blank_progress {
            eprintln!("[{}] {}: {}", severity.as_str_name(), urn, text);
        }
    }
}

async fn connect(address: &str) -> Option<EngineClient<tonic::transport::Channel>> {
    let uri = if address.contains("://") {
        address.to_string()
    } else {
        format!("http://{address}")
    };
    let endpoint = tonic::transport::Endpoint::from_shared(uri)
        .ok()?
        .connect_timeout(Duration::from_secs(3));
    let channel = tokio::time::timeout(Duration::from_secs(4), endpoint.connect())
        .await
        .ok()?
        .ok()?;
    Some(
        EngineClient::new(channel)
            .max_decoding_message_size(crate::server::MAX_MESSAGE)
            .max_encoding_message_size(crate::server::MAX_MESSAGE),
    )
}
