//! Runs builder commands in their own process group, streaming every output
//! line to the caller, so a timeout or cancel can stop the whole tree
//! (buildah's RUN steps, the docker client) and nothing is left running.

use rustix::process::{kill_process_group, Pid, Signal};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// How many trailing lines a failure reports.
pub(crate) const TAIL_LINES: usize = 20;
const KILL_GRACE: Duration = Duration::from_secs(3);

/// A command line. Environment additions only; never secrets in `args`.
#[derive(Clone, Debug)]
pub(crate) struct Invocation {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
}

impl Invocation {
    pub fn new(program: impl Into<PathBuf>) -> Self {
        Self {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
        }
    }

    pub fn arg(&mut self, arg: impl Into<OsString>) -> &mut Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(&mut self, args: I) -> &mut Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// `buildah bud` for messages: the program name and the first argument
    /// that is not a flag.
    pub fn describe(&self) -> String {
        let name = self
            .program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let sub = self
            .args
            .iter()
            .map(|a| a.to_string_lossy())
            .find(|a| !a.starts_with('-') && !a.contains('/'))
            .map(|a| format!(" {a}"))
            .unwrap_or_default();
        format!("{name}{sub}")
    }
}

/// How a command ended when it did not succeed.
#[derive(Debug)]
pub(crate) enum RunError {
    Spawn(std::io::Error),
    Exited(String),
    TimedOut,
    Cancelled,
}

/// Runs `invocation` to completion. Every output line (stdout and stderr)
/// goes to `on_line`, and the last lines are kept in `tail`.
pub(crate) async fn run(
    invocation: &Invocation,
    deadline: Instant,
    cancel: &CancellationToken,
    on_line: &mut (dyn FnMut(&str) + Send),
    tail: &mut VecDeque<String>,
) -> Result<(), RunError> {
    // Behind the guard (when installed): the group dies with the plugin.
    let (program, args) = crate::guard::wrap(&invocation.program, &invocation.args);
    let mut command = Command::new(&program);
    command
        .args(&args)
        .envs(invocation.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(RunError::Spawn)?;
    let pid = child.id();
    let (sender, mut lines) = mpsc::unbounded_channel::<String>();
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(forward_lines(stdout, sender.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward_lines(stderr, sender.clone()));
    }
    drop(sender);
    let mut record = |line: String, tail: &mut VecDeque<String>| {
        on_line(&line);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    };
    let mut streams_open = true;
    let status = loop {
        tokio::select! {
            line = lines.recv(), if streams_open => match line {
                Some(line) => record(line, tail),
                None => streams_open = false,
            },
            status = child.wait() => break status,
            _ = tokio::time::sleep_until(deadline) => {
                stop_group(pid, &mut child).await;
                return Err(RunError::TimedOut);
            }
            _ = cancel.cancelled() => {
                stop_group(pid, &mut child).await;
                return Err(RunError::Cancelled);
            }
        }
    };
    // Drain what the process wrote before exiting; a lingering grandchild
    // holding the pipe must not keep us here.
    let drain_until = Instant::now() + Duration::from_secs(2);
    while streams_open {
        match tokio::time::timeout_at(drain_until, lines.recv()).await {
            Ok(Some(line)) => record(line, tail),
            _ => streams_open = false,
        }
    }
    // The leader is gone; make sure nothing it started lives on.
    signal_group(pid, Signal::KILL);
    match status {
        Ok(status) if status.success() => Ok(()),
        Ok(status) => Err(RunError::Exited(status.to_string())),
        Err(e) => Err(RunError::Exited(format!("could not wait for it: {e}"))),
    }
}

async fn forward_lines(stream: impl AsyncRead + Unpin, sender: mpsc::UnboundedSender<String>) {
    let mut reader = BufReader::new(stream);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buffer);
                // Progress bars redraw with \r; each redraw is its own line.
                for piece in text.trim_end_matches(['\n', '\r']).split('\r') {
                    if sender.send(piece.to_string()).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// SIGTERM to the group, then SIGKILL after a grace period.
async fn stop_group(pid: Option<u32>, child: &mut tokio::process::Child) {
    signal_group(pid, Signal::TERM);
    if tokio::time::timeout(KILL_GRACE, child.wait())
        .await
        .is_err()
    {
        signal_group(pid, Signal::KILL);
        let _ = child.wait().await;
    }
    signal_group(pid, Signal::KILL);
}

/// Signals the process group we created for this child (process_group(0)
/// makes its id the group id).
fn signal_group(pid: Option<u32>, signal: Signal) {
    let group = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(Pid::from_raw);
    if let Some(group) = group {
        let _ = kill_process_group(group, signal);
    }
}
