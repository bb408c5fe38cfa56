//! A registry whose tokens expire mid-push, played by a proxy in front of a
//! real one: no registry available to tests expires its credentials on
//! demand, so this stand-in is named as such.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A stand-in for a registry whose access tokens expire (ECR's expire after
/// 12 hours): a loopback proxy in front of a real htpasswd registry. Clients
/// authenticate with basic auth as `user` and a token; the proxy swaps in the
/// registry's real password. The first token is accepted for `good_requests`
/// requests, then expires: the next request with it gets HTTP 401 with a
/// basic challenge and from then on only the renewed token is accepted (which
/// may be the same string, as moto hands out, when the test counts the
/// renewals elsewhere). One request per connection (`Connection: close`).
pub struct ExpiringTokenProxy {
    pub address: String,
    /// Requests answered 401 because their token had expired.
    pub rejected: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ExpiringTokenProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct TokenState {
    user: String,
    upstream_password: String,
    first_token: String,
    renewed_token: String,
    good_requests: usize,
    /// Requests accepted with the first token.
    accepted: AtomicUsize,
    /// 1 while the first token is current, 2 once it has expired.
    generation: AtomicUsize,
}

impl ExpiringTokenProxy {
    /// Proxies to the registry at `upstream` (`127.0.0.1:PORT`), which accepts
    /// `user` / `upstream_password`; clients present `first_token`, then
    /// `renewed_token` once the first has expired.
    pub async fn start(
        upstream: &str,
        user: &str,
        upstream_password: &str,
        first_token: &str,
        renewed_token: &str,
        good_requests: usize,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address").to_string();
        let upstream: SocketAddr = upstream.parse().expect("upstream address");
        let state = Arc::new(TokenState {
            user: user.to_string(),
            upstream_password: upstream_password.to_string(),
            first_token: first_token.to_string(),
            renewed_token: renewed_token.to_string(),
            good_requests,
            accepted: AtomicUsize::new(0),
            generation: AtomicUsize::new(1),
        });
        let rejected = Arc::new(AtomicUsize::new(0));
        let counter = rejected.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = state.clone();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let _ = handle_token(client, upstream, &state, &counter).await;
                });
            }
        });
        Self {
            address,
            rejected,
            task,
        }
    }
}

async fn handle_token(
    mut client: TcpStream,
    upstream: SocketAddr,
    state: &TokenState,
    rejected: &AtomicUsize,
) -> std::io::Result<()> {
    use base64::Engine as _;
    let b64 = &base64::engine::general_purpose::STANDARD;
    let (head, mut rest) = read_head(&mut client).await?;
    let presented = head.split("\r\n").find_map(|line| {
        let (name, value) = line.split_once(':')?;
        if !name.eq_ignore_ascii_case("authorization") {
            return None;
        }
        let encoded = value.trim().strip_prefix("Basic ")?;
        let decoded = String::from_utf8(b64.decode(encoded.trim()).ok()?).ok()?;
        let (user, password) = decoded.split_once(':')?;
        Some((user.to_string(), password.to_string()))
    });
    let mut head = head;
    if let Some((user, password)) = presented {
        let generation = state.generation.load(Ordering::SeqCst);
        let token = if generation == 1 {
            &state.first_token
        } else {
            &state.renewed_token
        };
        let current = user == state.user && password == *token;
        let accepted = match (current, generation) {
            (false, _) => false,
            // The first token expires after `good_requests`; its first rejection makes
            // the next token current. Renewed tokens do not expire.
            (true, 1) => {
                let ok = state.accepted.fetch_add(1, Ordering::SeqCst) < state.good_requests;
                if !ok {
                    let _ =
                        state
                            .generation
                            .compare_exchange(1, 2, Ordering::SeqCst, Ordering::SeqCst);
                }
                ok
            }
            (true, _) => true,
        };
        if !accepted {
            rejected.fetch_add(1, Ordering::SeqCst);
            // Read the body the client is sending before answering, so it sees the 401.
            let length: usize = head
                .split("\r\n")
                .find_map(|l| {
                    let (n, v) = l.split_once(':')?;
                    n.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())
                        .flatten()
                })
                .unwrap_or(0);
            let mut remaining = length.saturating_sub(rest.len());
            let mut sink = [0u8; 8192];
            while remaining > 0 {
                let n = client.read(&mut sink).await?;
                if n == 0 {
                    break;
                }
                remaining = remaining.saturating_sub(n);
            }
            client
                .write_all(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"expiring-token\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .await?;
            client.shutdown().await?;
            return Ok(());
        }
        let upstream_auth = b64.encode(format!("{}:{}", state.user, state.upstream_password));
        head = head
            .split("\r\n")
            .map(|line| {
                if line.to_ascii_lowercase().starts_with("authorization:") {
                    format!("Authorization: Basic {upstream_auth}")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n");
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(force_close(&head).as_bytes()).await?;
    server.write_all(&rest).await?;
    rest.clear();
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upload = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    tokio::io::copy(&mut server_read, &mut client_write).await?;
    upload.abort();
    Ok(())
}

/// Reads up to the end of the HTTP head; returns the head (with its final
/// blank line) and any bytes read past it.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            return Ok((String::from_utf8_lossy(&buffer).into_owned(), rest));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "closed before end of head",
            ));
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

fn force_close(head: &str) -> String {
    let mut lines: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}
