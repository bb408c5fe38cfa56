//! One logging channel: `tracing` events, sent to the engine's Log service.
//!
//! Progress from long builds and rollouts has to reach the CLI while the
//! operation runs, in order, without any resource awaiting a network call to
//! log a line, and without threading callbacks through domain code. So
//! domain code just emits `tracing` events; the server runs every resource
//! call inside a span carrying the resource's URN; and [`EngineLayer`], a
//! subscriber layer, hands each event to one background task that owns the
//! engine connection. When the engine cannot be reached, messages go to
//! stderr and work carries on.
//!
//! The contract for event producers:
//! - level: ERROR, WARN, INFO, DEBUG map to the engine's severities (TRACE
//!   is not forwarded);
//! - a field `progress = true` makes the message ephemeral (shown live in the
//!   CLI, not kept);
//! - the message is the event's message, followed by its other fields as
//!   `name=value`; never put secret values in events.
//!
//! As a net under that rule, every event emitted while a resource call runs
//! (in the call's own task) is masked with the call's secret values before
//! it leaves (see [`masking`]).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pulumi_gestalt_proto::pulumi::pulumirpc::{
    engine_client::EngineClient, LogRequest, LogSeverity,
};
use tokio::sync::{mpsc, oneshot};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The span field that names the resource a message is about.
pub const URN_FIELD: &str = "urn";
/// The event field that marks a progress line.
pub const PROGRESS_FIELD: &str = "progress";

tokio::task_local! {
    static SECRETS: Arc<imagedeploy_redact::Redactor>;
}

/// Runs `future` with every log event it emits (in its own task) masked
/// with `secrets`.
pub async fn masking<F: std::future::Future>(
    secrets: Arc<imagedeploy_redact::Redactor>,
    future: F,
) -> F::Output {
    SECRETS.scope(secrets, future).await
}

/// `text` masked with the secrets of the call running in this task, if any.
fn masked(text: String) -> String {
    SECRETS
        .try_with(|secrets| secrets.redact(&text))
        .unwrap_or(text)
}

enum Message {
    Log {
        severity: LogSeverity,
        text: String,
        urn: String,
        ephemeral: bool,
    },
    Flush(oneshot::Sender<()>),
}

/// The sending end of the engine log. Cheap to clone; all clones feed the
/// same ordered stream.
#[derive(Clone)]
pub struct EngineLog {
    tx: mpsc::UnboundedSender<Message>,
    address: Arc<Mutex<Option<String>>>,
}

impl EngineLog {
    /// Starts the sender task (needs a tokio runtime). Call `connect` once
    /// the engine address is known; until then messages go to stderr.
    /// `name` prefixes the plugin's own notes on stderr.
    pub fn start(name: &'static str) -> EngineLog {
        let (tx, rx) = mpsc::unbounded_channel();
        let address = Arc::new(Mutex::new(None));
        tokio::spawn(run(rx, address.clone(), name));
        EngineLog { tx, address }
    }

    /// Points the log at the engine (from the command line, Handshake or Attach).
    pub fn connect(&self, engine_address: &str) {
        if engine_address.is_empty() {
            return;
        }
        if let Ok(mut slot) = self.address.lock() {
            *slot = Some(engine_address.to_string());
        }
    }

    /// Waits until every message logged so far was delivered (or written to stderr).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), wait).await;
        }
    }

    /// The subscriber layer that feeds this log, for events whose target
    /// starts with one of `targets` (the framework's own events always).
    pub fn layer(&self, targets: &[&'static str]) -> EngineLayer {
        let mut targets = targets.to_vec();
        targets.push(env!("CARGO_CRATE_NAME"));
        EngineLayer {
            log: self.clone(),
            targets,
        }
    }

    fn send(&self, severity: LogSeverity, urn: String, text: String, ephemeral: bool) {
        let _ = self.tx.send(Message::Log {
            severity,
            text,
            urn,
            ephemeral,
        });
    }
}

/// Forwards `tracing` events to the engine (see the module doc).
pub struct EngineLayer {
    log: EngineLog,
    targets: Vec<&'static str>,
}

/// The URN recorded on a span.
struct Urn(String);

impl EngineLayer {
    fn wanted(&self, target: &str, level: &Level) -> bool {
        *level != Level::TRACE
            && self.targets.iter().any(|t| {
                target == *t
                    || target
                        .strip_prefix(t)
                        .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('_'))
            })
    }
}

fn severity(level: &Level) -> LogSeverity {
    match *level {
        Level::ERROR => LogSeverity::Error,
        Level::WARN => LogSeverity::Warning,
        Level::INFO => LogSeverity::Info,
        _ => LogSeverity::Debug,
    }
}

impl<S> Layer<S> for EngineLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut visitor = UrnVisitor(None);
        attrs.record(&mut visitor);
        if let (Some(urn), Some(span)) = (visitor.0, ctx.span(id)) {
            span.extensions_mut().insert(Urn(urn));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !self.wanted(meta.target(), meta.level()) {
            return;
        }
        let urn = ctx
            .event_scope(event)
            .and_then(|scope| {
                scope
                    .into_iter()
                    .find_map(|span| span.extensions().get::<Urn>().map(|u| u.0.clone()))
            })
            .unwrap_or_default();
        let mut text = TextVisitor::default();
        event.record(&mut text);
        let ephemeral = text.progress;
        self.log.send(
            severity(meta.level()),
            urn,
            masked(text.finish()),
            ephemeral,
        );
    }
}

struct UrnVisitor(Option<String>);

impl Visit for UrnVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == URN_FIELD {
            self.0 = Some(value.to_string());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == URN_FIELD {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

#[derive(Default)]
struct TextVisitor {
    message: String,
    fields: String,
    progress: bool,
}

impl TextVisitor {
    fn finish(self) -> String {
        if self.fields.is_empty() {
            self.message
        } else if self.message.is_empty() {
            self.fields.trim_start().to_string()
        } else {
            self.message + &self.fields
        }
    }
}

impl Visit for TextVisitor {
    fn record_bool(&mut self, field: &Field, value: bool) {
        if field.name() == PROGRESS_FIELD {
            self.progress = value;
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

async fn run(
    mut rx: mpsc::UnboundedReceiver<Message>,
    address: Arc<Mutex<Option<String>>>,
    name: &'static str,
) {
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
                    eprintln!("{name}: engine at {addr} is unreachable; logging to stderr");
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
            .max_decoding_message_size(crate::wire::MAX_MESSAGE)
            .max_encoding_message_size(crate::wire::MAX_MESSAGE),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt;

    /// A log whose messages land in a channel the test reads.
    fn capture() -> (EngineLog, mpsc::UnboundedReceiver<Message>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let log = EngineLog {
            tx,
            address: Arc::new(Mutex::new(None)),
        };
        (log, rx)
    }

    fn drain(
        rx: &mut mpsc::UnboundedReceiver<Message>,
    ) -> Vec<(LogSeverity, String, String, bool)> {
        let mut out = Vec::new();
        while let Ok(Message::Log {
            severity,
            text,
            urn,
            ephemeral,
        }) = rx.try_recv()
        {
            out.push((severity, text, urn, ephemeral));
        }
        out
    }

    #[test]
    fn events_inside_a_resource_span_carry_its_urn_and_progress_is_ephemeral() {
        let (log, mut rx) = capture();
        let subscriber = tracing_subscriber::registry().with(log.layer(&["domain"]));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("resource", urn = "urn:pulumi:s::p::t::a");
            let _entered = span.enter();
            tracing::info!(target: "domain::build", progress = true, "STEP 1/2");
            tracing::warn!(target: "domain_registry", attempt = 2, "retrying");
            tracing::info!(target: "hyper::client", "not ours");
            tracing::trace!(target: "domain", "too fine");
        });
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(log.layer(&["domain"])),
            || tracing::error!(target: "domain", "outside any resource"),
        );
        let got = drain(&mut rx);
        assert_eq!(
            got,
            vec![
                (
                    LogSeverity::Info,
                    "STEP 1/2".to_string(),
                    "urn:pulumi:s::p::t::a".to_string(),
                    true
                ),
                (
                    LogSeverity::Warning,
                    "retrying attempt=2".to_string(),
                    "urn:pulumi:s::p::t::a".to_string(),
                    false
                ),
                (
                    LogSeverity::Error,
                    "outside any resource".to_string(),
                    String::new(),
                    false
                ),
            ]
        );
    }
}
