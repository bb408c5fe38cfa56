//! TLS in front of a plain loopback server, with a [`TestCa`] certificate:
//! lets a test put a plain-HTTP stand-in (the token-expiry proxy) where the
//! client under test insists on HTTPS (an ECR host name).

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::process::ServerError;
use crate::tls::TestCa;

/// Accepts TLS on `127.0.0.1:port()` and relays the plain bytes to `upstream`.
pub struct TlsFront {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsFront {
    pub async fn start(ca: &TestCa, upstream: &str) -> Result<Self, ServerError> {
        let setup = |what: &str, e: String| ServerError::Setup {
            what: what.into(),
            source: std::io::Error::other(e),
        };
        let upstream: SocketAddr = upstream
            .parse()
            .map_err(|e: std::net::AddrParseError| setup("TLS front upstream", e.to_string()))?;
        let certs = CertificateDer::pem_file_iter(ca.server_cert())
            .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
            .map_err(|e| setup("TLS front certificate", e.to_string()))?;
        let key = PrivateKeyDer::from_pem_file(ca.server_key())
            .map_err(|e| setup("TLS front key", e.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| setup("TLS front config", e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| setup("TLS front config", e.to_string()))?;
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener =
            TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(|source| ServerError::Setup {
                    what: "TLS front listener".into(),
                    source,
                })?;
        let port = listener
            .local_addr()
            .map_err(|source| ServerError::Setup {
                what: "TLS front listener".into(),
                source,
            })?
            .port();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Ok(Self { port, task })
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}
