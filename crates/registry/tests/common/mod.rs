//! Test helpers: OCI layouts made in the test, and a fault-injection proxy
//! that sits in front of a real registry.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use imagedeploy_registry::layout::{LayoutWriter, OCI_CONFIG};
use imagedeploy_registry::Digest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One file in a test layer.
pub struct TestFile<'a> {
    pub path: &'a str,
    pub content: &'a [u8],
    pub mode: u32,
}

/// Writes a one-layer OCI image layout; `mtime` and `created` let tests vary
/// only timestamps.
pub fn make_layout(
    dir: &Path,
    files: &[TestFile<'_>],
    env: &[&str],
    mtime: u64,
    created: &str,
) -> Digest {
    let mut tar_bytes = Vec::new();
    {
        let mut builder = tar::Builder::new(&mut tar_bytes);
        let mut dir_header = tar::Header::new_gnu();
        dir_header.set_entry_type(tar::EntryType::Directory);
        dir_header.set_mode(0o755);
        dir_header.set_mtime(mtime);
        dir_header.set_size(0);
        builder
            .append_data(&mut dir_header, "app/", std::io::empty())
            .expect("dir entry");
        for file in files {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(file.mode);
            header.set_mtime(mtime);
            header.set_size(file.content.len() as u64);
            builder
                .append_data(&mut header, file.path, file.content)
                .expect("file entry");
        }
        builder.finish().expect("tar finish");
    }
    let writer = LayoutWriter::create(dir).expect("layout dir");
    let layer = writer
        .add_gzip_layer(&mut tar_bytes.as_slice())
        .expect("layer");
    let diff_id = Digest::sha256_of(&tar_bytes);
    let config = serde_json::json!({
        "created": created,
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": env, "Cmd": ["/app/run"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": created, "created_by": "test"}],
    });
    let config = writer
        .add_blob(OCI_CONFIG, config.to_string().as_bytes())
        .expect("config");
    writer.finish(&config, &[layer]).expect("manifest")
}

/// What the fault-injection proxy does to requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Answer 503 without reaching the registry.
    ServiceUnavailable,
    /// Drop the connection with a TCP reset.
    Reset,
}

/// Fault injection: a loopback HTTP proxy in front of a real registry. It
/// handles one request per connection (it forces `Connection: close`), fails
/// the first `faults` requests whose request line contains `matching`, and can
/// lie about the manifest digest in PUT responses.
pub struct FaultProxy {
    pub address: String,
    pub faults_served: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct FaultPlan {
    pub fault: Fault,
    pub faults: usize,
    pub matching: &'static str,
    pub lie_about_manifest_digest: bool,
}

impl FaultProxy {
    pub async fn start(upstream: &str, plan: FaultPlan) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let address = listener.local_addr().expect("proxy address").to_string();
        let upstream: SocketAddr = upstream.parse().expect("upstream address");
        let faults_served = Arc::new(AtomicUsize::new(0));
        let served = faults_served.clone();
        let plan = Arc::new(plan);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let plan = plan.clone();
                let served = served.clone();
                tokio::spawn(async move {
                    let _ = handle(client, upstream, &plan, &served).await;
                });
            }
        });
        Self {
            address,
            faults_served,
            task,
        }
    }
}

async fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    plan: &FaultPlan,
    served: &AtomicUsize,
) -> std::io::Result<()> {
    let (head, rest) = read_head(&mut client).await?;
    let request_line = head.lines().next().unwrap_or_default().to_string();
    if request_line.contains(plan.matching) {
        let claimed = served.fetch_add(1, Ordering::SeqCst);
        if claimed < plan.faults {
            match plan.fault {
                Fault::ServiceUnavailable => {
                    client
                        .write_all(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 19\r\nConnection: close\r\n\r\ninjected fault: 503")
                        .await?;
                    client.shutdown().await?;
                }
                Fault::Reset => {
                    #[allow(deprecated)] // zero linger makes drop send a RST; it does not block
                    client.set_linger(Some(std::time::Duration::ZERO))?;
                    drop(client);
                }
            }
            return Ok(());
        }
        served.fetch_sub(1, Ordering::SeqCst);
    }
    let mut server = TcpStream::connect(upstream).await?;
    server.write_all(force_close(&head).as_bytes()).await?;
    server.write_all(&rest).await?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upload = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    });
    let lie = plan.lie_about_manifest_digest
        && request_line.starts_with("PUT ")
        && request_line.contains("/manifests/");
    if lie {
        let (response_head, response_rest) = read_head(&mut server_read).await?;
        let fake = format!("sha256:{}", "0".repeat(64));
        let rewritten: Vec<String> = response_head
            .split("\r\n")
            .map(|line| {
                if line
                    .to_ascii_lowercase()
                    .starts_with("docker-content-digest:")
                {
                    format!("Docker-Content-Digest: {fake}")
                } else {
                    line.to_string()
                }
            })
            .collect();
        client_write
            .write_all(rewritten.join("\r\n").as_bytes())
            .await?;
        client_write.write_all(&response_rest).await?;
    }
    tokio::io::copy(&mut server_read, &mut client_write).await?;
    upload.abort();
    Ok(())
}

/// Reads up to the end of the HTTP head; returns the head (with its final
/// blank line) and any bytes read past it.
async fn read_head<R: AsyncReadExt + Unpin>(stream: &mut R) -> std::io::Result<(String, Vec<u8>)> {
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
