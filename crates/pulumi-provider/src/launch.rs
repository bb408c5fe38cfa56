//! How the engine starts the plugin: lenient flags, the log subscriber, the
//! port line, shutdown.

use std::io::Write;
use std::sync::Arc;

use pulumi_gestalt_proto::pulumi::pulumirpc::resource_provider_server::ResourceProviderServer;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::layer::SubscriberExt;

use crate::dispatch::ErasedResource;
use crate::log::EngineLog;
use crate::resource::AppContext;
use crate::server::{DepthGuard, Provider, ProviderInfo};
use crate::wire::MAX_MESSAGE;

/// Everything the application brings.
pub struct Plugin<C: AppContext> {
    /// Name, version, schema.
    pub info: ProviderInfo,
    /// The resource types (see `dispatch::Typed::erase`).
    pub resources: Vec<Arc<dyn ErasedResource<C>>>,
    /// `tracing` targets (crate names, e.g. `myapp`, `myapp_build`) whose
    /// events reach the engine's log; a name also covers `name_*` crates.
    pub log_targets: &'static [&'static str],
}

/// What the command line says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Launch {
    /// The engine's address, when the engine passed it.
    pub engine_address: Option<String>,
}

impl Launch {
    /// The engine address is the last positional argument; flags the engine
    /// may pass (`--logtostderr`, `-v=N`, `--tracing EP`, ...) are accepted
    /// and ignored.
    pub fn parse(args: &[String]) -> Launch {
        let mut positional = Vec::new();
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if let Some(flag) = arg.strip_prefix('-') {
                let name = flag.trim_start_matches('-');
                if !name.contains('=') && matches!(name, "tracing" | "root" | "v") {
                    iter.next();
                }
                continue;
            }
            positional.push(arg.clone());
        }
        Launch {
            engine_address: positional.pop(),
        }
    }
}

/// Why the plugin could not serve.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// No loopback port.
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    /// The engine cannot learn the port.
    #[error("cannot write the port to stdout: {0}")]
    Stdout(std::io::Error),
    /// The server stopped with an error.
    #[error("gRPC server failed: {0}")]
    Serve(tonic::transport::Error),
}

/// Serves `plugin` until the engine stops it: installs the engine log as the
/// global `tracing` subscriber, prints the port, serves gRPC.
pub async fn serve<C: AppContext>(launch: Launch, plugin: Plugin<C>) -> Result<(), LaunchError> {
    let log = EngineLog::start(plugin.info.name);
    if let Some(address) = &launch.engine_address {
        log.connect(address);
    }
    let subscriber = tracing_subscriber::registry().with(log.layer(plugin.log_targets));
    // Only fails when a subscriber is already installed (embedding tests);
    // then that one keeps receiving the events.
    let _ = tracing::subscriber::set_global_default(subscriber);
    let cancel = CancellationToken::new();
    let provider = Arc::new(Provider::new(
        plugin.info,
        plugin.resources,
        log,
        cancel.clone(),
    ));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(LaunchError::Bind)?;
    let port = listener.local_addr().map_err(LaunchError::Bind)?.port();
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{port}").map_err(LaunchError::Stdout)?;
        stdout.flush().map_err(LaunchError::Stdout)?;
    }

    let service = ResourceProviderServer::from_arc(provider)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let shutdown = {
        let cancel = cancel.clone();
        async move {
            shutdown_signal().await;
            // In-flight work sees the cancellation and stops cleanly.
            cancel.cancel();
        }
    };
    tonic::transport::Server::builder()
        .add_service(DepthGuard::new(service))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(LaunchError::Serve)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn engine_address_is_the_last_positional_argument() {
        let l = Launch::parse(&args(&[
            "--logtostderr",
            "-v=9",
            "--tracing",
            "http://t:1",
            "127.0.0.1:4000",
        ]));
        assert_eq!(l.engine_address.as_deref(), Some("127.0.0.1:4000"));
        let l = Launch::parse(&args(&["-v", "3", "127.0.0.1:5"]));
        assert_eq!(l.engine_address.as_deref(), Some("127.0.0.1:5"));
        assert_eq!(
            Launch::parse(&args(&["--logtostderr"])).engine_address,
            None
        );
    }
}
