//! Child processes that die with their owner, and port helpers.

use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{program} is not installed ({hint})")]
    Missing { program: String, hint: String },
    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program} did not listen on 127.0.0.1:{port} within {seconds}s{log}")]
    NotListening {
        program: String,
        port: u16,
        seconds: u64,
        log: String,
    },
    #[error("could not prepare {what}: {source}")]
    Setup {
        what: String,
        source: std::io::Error,
    },
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Finds `program` on PATH or in the given fallback locations.
pub(crate) fn find_program(program: &str, fallbacks: &[&str]) -> Option<std::path::PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|candidate| candidate.is_file())
    });
    from_path.or_else(|| {
        fallbacks
            .iter()
            .map(std::path::PathBuf::from)
            .find(|p| p.is_file())
    })
}

/// A child process that is killed when this guard is dropped.
pub(crate) struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits for the port, or returns an error quoting the server's log file.
pub(crate) fn await_listening(
    program: &str,
    port: u16,
    log: &std::path::Path,
    seconds: u64,
) -> Result<(), ServerError> {
    if wait_for_port(port, Duration::from_secs(seconds)) {
        return Ok(());
    }
    let tail = std::fs::read_to_string(log)
        .map(|t| {
            let lines: Vec<&str> = t.lines().collect();
            let start = lines.len().saturating_sub(15);
            format!(": {}", lines[start..].join("\n"))
        })
        .unwrap_or_default();
    Err(ServerError::NotListening {
        program: program.to_string(),
        port,
        seconds,
        log: tail,
    })
}
