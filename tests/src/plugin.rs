//! Launches the real provider binary the way the engine does.
//!
//! The engine runs `pulumi-resource-<pkg> [flags] <engineAddr>`, reads one port
//! line from stdout, dials it with 400 MiB message limits, and at the end sends
//! `Cancel`, then SIGINT, then kills after 5 s. Doing the same here means a
//! provider that passes these tests also loads under a real `pulumi up`.

use rustix::process::{kill_process, Pid, Signal};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use pulumi_gestalt_proto::pulumi::pulumirpc::resource_provider_client::ResourceProviderClient;
use tonic::transport::Channel;

/// The message size limit the engine sets on its provider connections.
pub const MAX_MESSAGE_BYTES: usize = 400 * 1024 * 1024;

/// The binary's file name.
pub const BINARY_NAME: &str = "pulumi-resource-imagedeploy";

/// The provider binary: `IMAGEDEPLOY_PROVIDER_BIN`, else next to the running
/// executable's target directory (`target/debug/deps/x` -> `target/debug/`).
pub fn provider_bin() -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("IMAGEDEPLOY_PROVIDER_BIN") {
        let p = PathBuf::from(p);
        if p.is_file() {
            // Absolute: plugins start in the program's directory, so a path
            // relative to the test's directory would not find the binary.
            return Ok(std::fs::canonicalize(&p).unwrap_or(p));
        }
        bail!(
            "IMAGEDEPLOY_PROVIDER_BIN points at {}, which is not a file",
            p.display()
        );
    }
    let exe = std::env::current_exe().context("cannot find the running executable")?;
    let mut dir = exe
        .parent()
        .ok_or_else(|| anyhow!("executable has no parent directory"))?;
    if dir.file_name().and_then(|n| n.to_str()) == Some("deps") {
        dir = dir
            .parent()
            .ok_or_else(|| anyhow!("deps directory has no parent"))?;
    }
    let candidate = dir.join(BINARY_NAME);
    if candidate.is_file() {
        Ok(candidate)
    } else {
        bail!(
            "provider binary not found at {}: build it first with `cargo build -p imagedeploy` \
             (same CARGO_TARGET_DIR) or set IMAGEDEPLOY_PROVIDER_BIN",
            candidate.display()
        )
    }
}

/// How to launch one provider process.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    pub bin: PathBuf,
    /// Passed as the last positional argument; `None` starts the plugin in
    /// attach mode (it must serve and wait for `Attach`).
    pub engine_address: Option<String>,
    /// Flags placed before the engine address, e.g. `--logtostderr -v=9`.
    pub flags: Vec<String>,
    /// Extra environment for the child (on top of the parent's).
    pub env: Vec<(String, String)>,
    /// Variables removed from the inherited environment.
    pub env_remove: Vec<String>,
    /// How long to wait for the port line.
    pub startup_timeout: Duration,
    /// The working directory of the plugin process. The engine starts every
    /// plugin in the program's main directory (`newPlugin` sets `cmd.Dir` to
    /// `ctx.Pwd`, which `getPwdMain` derives from the project's `main`);
    /// `None` inherits the test's own directory.
    pub cwd: Option<PathBuf>,
}

impl LaunchOptions {
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        LaunchOptions {
            bin: bin.into(),
            engine_address: None,
            flags: Vec::new(),
            env: Vec::new(),
            env_remove: Vec::new(),
            startup_timeout: Duration::from_secs(30),
            cwd: None,
        }
    }
}

/// A running provider process and a client connected to it.
/// Dropping it stops the process like the engine does (SIGINT, then kill).
pub struct Plugin {
    child: Option<Child>,
    port: u16,
    client: ResourceProviderClient<Channel>,
    stdout_rest: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Plugin {
    /// Spawns the binary, reads exactly one port line and connects.
    pub async fn start(opts: &LaunchOptions) -> anyhow::Result<Plugin> {
        let mut cmd = Command::new(&opts.bin);
        cmd.args(&opts.flags);
        if let Some(addr) = &opts.engine_address {
            cmd.arg(addr);
        }
        if let Some(dir) = &opts.cwd {
            cmd.current_dir(dir);
        }
        for k in &opts.env_remove {
            cmd.env_remove(k);
        }
        cmd.envs(opts.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", opts.bin.display()))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("no stdout pipe"))?;
        let stderr_pipe = child
            .stderr
            .take()
            .ok_or_else(|| anyhow!("no stderr pipe"))?;

        let stderr = Arc::new(Mutex::new(String::new()));
        spawn_collector(stderr_pipe, stderr.clone());

        let stdout_rest = Arc::new(Mutex::new(String::new()));
        let (first_tx, first_rx) = tokio::sync::oneshot::channel::<std::io::Result<String>>();
        {
            let rest = stdout_rest.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stdout);
                let mut line = String::new();
                let first = reader.read_line(&mut line).map(|_| line);
                let _ = first_tx.send(first);
                let mut tail = String::new();
                let _ = reader.read_to_string(&mut tail);
                if let Ok(mut r) = rest.lock() {
                    r.push_str(&tail);
                }
            });
        }

        let mut guard = ChildGuard(Some(child));
        let first = match tokio::time::timeout(opts.startup_timeout, first_rx).await {
            Ok(Ok(Ok(line))) => line,
            Ok(Ok(Err(e))) => bail!("reading the provider's stdout failed: {e}"),
            Ok(Err(_)) | Err(_) => bail!(
                "provider printed no port line within {:?}; stderr:\n{}",
                opts.startup_timeout,
                snapshot(&stderr)
            ),
        };
        let port: u16 = match first.trim_end_matches('\n').parse() {
            Ok(p) if first.ends_with('\n') => p,
            _ => {
                // Give stderr a moment to arrive for the error message.
                std::thread::sleep(Duration::from_millis(200));
                bail!(
                    "the provider's first stdout line must be the port and a newline, got {first:?}; stderr:\n{}",
                    snapshot(&stderr)
                )
            }
        };
        let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))?
            .connect_timeout(Duration::from_secs(10))
            .connect()
            .await
            .with_context(|| format!("cannot connect to the provider on 127.0.0.1:{port}"))?;
        let client = ResourceProviderClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Plugin {
            child: guard.0.take(),
            port,
            client,
            stdout_rest,
            stderr,
        })
    }

    /// A client for the provider (cheap to clone).
    pub fn client(&self) -> ResourceProviderClient<Channel> {
        self.client.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        snapshot(&self.stderr)
    }

    /// Whatever the process wrote to stdout after the port line (should stay empty).
    pub fn stdout_after_port(&self) -> String {
        snapshot(&self.stdout_rest)
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL, as a `kill -9` of the plugin (or of a CI runner) would:
    /// no chance to clean up.
    pub fn kill(&self) {
        if let Some(pid) = self.pid() {
            kill_pid(pid);
        }
    }

    /// Sends SIGINT, as the engine does when it is done with a plugin.
    pub fn interrupt(&self) {
        if let Some(child) = &self.child {
            send_sigint(child);
        }
    }

    /// Waits up to `timeout` for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let child = self.child.as_mut()?;
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The engine's shutdown: `Cancel` (Unimplemented tolerated), SIGINT, 5 s grace.
    /// Returns the exit status, or an error if the process did not exit in time
    /// (it is then killed when the `Plugin` is dropped).
    pub async fn shutdown(&mut self) -> anyhow::Result<ExitStatus> {
        if self.child.is_none() {
            bail!("the provider process was already stopped");
        }
        let mut client = self.client();
        let _ = tokio::time::timeout(Duration::from_secs(5), client.cancel(())).await;
        self.interrupt();
        match self.wait_exit(Duration::from_secs(5)).await {
            Some(status) => {
                // Let the collector threads drain the pipes.
                tokio::time::sleep(Duration::from_millis(50)).await;
                self.child = None;
                Ok(status)
            }
            None => bail!(
                "provider did not exit within 5 s of SIGINT; stderr:\n{}",
                self.stderr()
            ),
        }
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        let mut guard = ChildGuard(self.child.take());
        guard.stop();
    }
}

/// Owns a child until it is handed over; stops it on drop.
struct ChildGuard(Option<Child>);

impl ChildGuard {
    /// SIGINT now; a helper thread kills the process if it is still there 5 s
    /// later. Drop must not block: the provider's graceful stop waits for our
    /// gRPC connection to close, and that connection is driven by the caller's
    /// async runtime, which a blocking wait here would stall.
    fn stop(&mut self) {
        if let Some(mut child) = self.0.take() {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            send_sigint(&child);
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                let _ = child.kill();
                let _ = child.wait();
            });
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// SIGKILL to the process `pid`.
pub fn kill_pid(pid: u32) {
    if let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, Signal::KILL);
    }
}

fn send_sigint(child: &Child) {
    if let Some(pid) = i32::try_from(child.id()).ok().and_then(Pid::from_raw) {
        let _ = kill_process(pid, Signal::INT);
    }
}

fn spawn_collector(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match pipe.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Ok(mut s) = sink.lock() {
                        s.push_str(&String::from_utf8_lossy(&buf[..n]));
                    }
                }
            }
        }
    });
}

fn snapshot(s: &Arc<Mutex<String>>) -> String {
    s.lock().map(|s| s.clone()).unwrap_or_default()
}

/// True when `path` looks like a built provider binary.
pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}
