//! How the engine starts the plugin: lenient flags, the port line, shutdown.

use std::io::Write;
use std::sync::Arc;

use pulumi_gestalt_proto::pulumi::pulumirpc::resource_provider_server::ResourceProviderServer;
use tokio_util::sync::CancellationToken;

use crate::dispatch::ErasedResource;
use crate::log::Logger;
use crate::server::{AppContext, Provider, ProviderInfo, MAX_MESSAGE};

pub const USAGE: &str = "usage: pulumi-resource-imagedeploy [--logtostderr] [-v=N] [--tracing ENDPOINT] [ENGINE_ADDRESS]
       pulumi-resource-imagedeploy fingerprint --context DIR [--dockerfile PATH] [--target NAME] [--build-arg K=V]... [--platform P]... [--json] [--explain OLD.json]

Started by the Pulumi engine. Prints the port it serves on, then serves until
interrupted. Without an engine address it waits for the engine to Attach.";

/// What the command line says.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Launch {
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

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("cannot listen on 127.0.0.1: {0}")]
    Bind(std::io::Error),
    #[error("cannot write the port to stdout: {0}")]
    Stdout(std::io::Error),
    #[error("gRPC server failed: {0}")]
    Serve(tonic::transport::Error),
}

pub async fn serve<C: AppContext>(
    launch: Launch,
    info: ProviderInfo,
    resources: Vec<Arc<dyn ErasedResource<C>>>,
) -> Result<(), LaunchError> {
    let logger = Logger::start();
    if let Some(address) = &launch.engine_address {
        logger.connect(address);
    }
    let cancel = CancellationToken::new();
    let provider = Arc::new(Provider::new(info, resources, logger, cancel.clone()));

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
        .add_service(service)
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
