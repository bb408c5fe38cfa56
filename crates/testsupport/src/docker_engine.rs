//! A Docker engine for tests, in temporary directories.
//!
//! dockerd changes the host's network (bridge, NAT rules) unless told not
//! to; this is the one place that starts it, always with those changes
//! turned off.

use rustix::process::{kill_process, Pid, Signal};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A Docker engine in temporary directories, without touching the host
/// network (no bridge, no iptables, no masquerading). Stopped on drop.
pub struct DockerEngine {
    child: Child,
    pub host: String,
    _dir: tempfile::TempDir,
}

impl DockerEngine {
    /// Starts dockerd for the test `test`; where it cannot run, prints
    /// `SKIPPED <test>: ...` with the reason (to stdout and stderr, so it
    /// shows with and without `--nocapture`) and returns `None`, and the
    /// test returns early.
    pub fn start_or_skip(test: &str, insecure_registry: &str) -> Option<Self> {
        match Self::start(insecure_registry) {
            Ok(engine) => Some(engine),
            Err(reason) => {
                let line = format!("SKIPPED {test}: the Docker engine cannot run here: {reason}");
                println!("{line}");
                eprintln!("{line}");
                None
            }
        }
    }

    /// Starts dockerd, or returns why it cannot run here.
    pub fn start(insecure_registry: &str) -> Result<Self, String> {
        if Command::new("dockerd").arg("--version").output().is_err() {
            return Err("dockerd is not installed (apt-get install docker.io)".into());
        }
        let dir = tempfile::Builder::new()
            .prefix("dkr")
            .tempdir()
            .map_err(|e| format!("tempdir: {e}"))?;
        let socket = dir.path().join("docker.sock");
        let log =
            std::fs::File::create(dir.path().join("dockerd.log")).map_err(|e| e.to_string())?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.path().join("data"))
            .arg("--exec-root")
            .arg(dir.path().join("exec"))
            .arg("--pidfile")
            .arg(dir.path().join("dockerd.pid"))
            .arg("--host")
            .arg(format!("unix://{}", socket.display()))
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .args(["--insecure-registry", insecure_registry])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot spawn dockerd: {e}"))?;
        let mut engine = Self {
            child,
            host: format!("unix://{}", socket.display()),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = engine.child.try_wait() {
                return Err(format!(
                    "dockerd exited early ({status}): {}",
                    engine.log_tail()
                ));
            }
            let answered = Command::new("docker")
                .args(["version", "--format", "{{.Server.Version}}"])
                .env("DOCKER_HOST", &engine.host)
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if answered {
                return Ok(engine);
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        Err(format!(
            "dockerd did not answer within 30s: {}",
            engine.log_tail()
        ))
    }

    fn log_tail(&self) -> String {
        let text =
            std::fs::read_to_string(self._dir.path().join("dockerd.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }
}

impl Drop for DockerEngine {
    fn drop(&mut self) {
        // SIGTERM lets dockerd stop its containerd; SIGKILL if it hangs.
        if let Some(pid) = i32::try_from(self.child.id()).ok().and_then(Pid::from_raw) {
            let _ = kill_process(pid, Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
