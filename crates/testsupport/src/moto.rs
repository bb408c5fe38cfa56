//! moto server, the AWS API emulator, on loopback.

use std::process::{Command, Stdio};

use crate::process::{await_listening, find_program, free_port, Guard, ServerError};

/// A running moto server. Point AWS SDK clients at `endpoint()` with any
/// credentials and region.
pub struct Moto {
    port: u16,
    _dir: tempfile::TempDir,
    _child: Guard,
}

impl Moto {
    pub fn start() -> Result<Self, ServerError> {
        let program = find_program("moto_server", &[]).ok_or_else(|| ServerError::Missing {
            program: "moto_server".into(),
            hint: "pip install 'moto[server]'".into(),
        })?;
        let dir = tempfile::tempdir().map_err(|source| ServerError::Setup {
            what: "moto directory".into(),
            source,
        })?;
        let port = free_port();
        let log_path = dir.path().join("moto.log");
        let log = std::fs::File::create(&log_path).map_err(|source| ServerError::Setup {
            what: "moto log".into(),
            source,
        })?;
        let log_err = log.try_clone().map_err(|source| ServerError::Setup {
            what: "moto log".into(),
            source,
        })?;
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| ServerError::Spawn {
                program: "moto_server".into(),
                source,
            })?;
        let guard = Guard(child);
        await_listening("moto_server", port, &log_path, 60)?;
        Ok(Self {
            port,
            _dir: dir,
            _child: guard,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}
