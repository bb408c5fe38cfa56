//! A CNCF distribution registry (`docker-registry` from Debian) on loopback.

use std::fmt::Write as _;
use std::process::{Command, Stdio};

use crate::process::{await_listening, find_program, free_port, Guard, ServerError};
use crate::tls::TestCa;

/// A running registry. `address()` is `127.0.0.1:PORT`, usable in image references.
pub struct Registry {
    port: u16,
    _dir: tempfile::TempDir,
    /// The server; `None` while stopped (see [`Registry::stop`]).
    child: std::sync::Mutex<Option<Guard>>,
    program: std::path::PathBuf,
}

impl Registry {
    /// An anonymous registry with deletes enabled.
    pub fn start() -> Result<Self, ServerError> {
        Self::launch(None, None, false)
    }

    /// A registry that demands basic auth for `user` / `password` (bcrypt htpasswd).
    pub fn start_with_auth(user: &str, password: &str) -> Result<Self, ServerError> {
        Self::launch(Some((user, password)), None, false)
    }

    /// [`Registry::start_with_auth`] for a registry behind a TLS terminator:
    /// it answers with relative upload locations (`http.relativeurls`), since
    /// it cannot know the scheme its clients use.
    pub fn start_with_auth_behind_tls(user: &str, password: &str) -> Result<Self, ServerError> {
        Self::launch(Some((user, password)), None, true)
    }

    /// A registry serving HTTPS with `ca`'s server certificate and demanding
    /// basic auth for `user` / `password`.
    pub fn start_tls_with_auth(
        ca: &TestCa,
        user: &str,
        password: &str,
    ) -> Result<Self, ServerError> {
        Self::launch(Some((user, password)), Some(ca), false)
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (its storage stays): clients now get "connection
    /// refused", as from a registry that is down or a machine offline.
    pub fn stop(&self) {
        if let Ok(mut child) = self.child.lock() {
            child.take();
        }
    }

    /// Starts the stopped server again on the same port, with the same storage.
    pub fn restart(&self) -> Result<(), ServerError> {
        let guard = spawn(&self.program, self._dir.path(), self.port)?;
        if let Ok(mut child) = self.child.lock() {
            *child = Some(guard);
        }
        Ok(())
    }

    /// The registry's filesystem storage root, for tests that count what was
    /// written (blobs under `docker/registry/v2/blobs`).
    pub fn storage_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("storage")
    }

    /// Stops the registry, deletes everything it stored and starts it again
    /// on the same address with the same configuration: a registry that lost
    /// its images (wiped storage, a retention policy, a rebuilt cache).
    pub fn wipe_and_restart(&mut self) -> Result<(), ServerError> {
        self.stop();
        let storage = self.storage_dir();
        if storage.exists() {
            std::fs::remove_dir_all(&storage).map_err(|source| ServerError::Setup {
                what: "wiping registry storage".into(),
                source,
            })?;
        }
        self.restart()
    }

    fn launch(
        auth: Option<(&str, &str)>,
        tls: Option<&TestCa>,
        relative_urls: bool,
    ) -> Result<Self, ServerError> {
        let program =
            find_program("docker-registry", &["/usr/bin/docker-registry"]).ok_or_else(|| {
                ServerError::Missing {
                    program: "docker-registry".into(),
                    hint: "apt-get install docker-registry".into(),
                }
            })?;
        let dir = tempfile::tempdir().map_err(|source| ServerError::Setup {
            what: "registry directory".into(),
            source,
        })?;
        let port = free_port();
        let storage = dir.path().join("storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        );
        if relative_urls {
            config.push_str("  relativeurls: true\n");
        }
        if let Some(ca) = tls {
            let _ = write!(
                config,
                "  tls:\n    certificate: {}\n    key: {}\n",
                ca.server_cert().display(),
                ca.server_key().display()
            );
        }
        if let Some((user, password)) = auth {
            let htpasswd = dir.path().join("htpasswd");
            write_htpasswd(&htpasswd, user, password)?;
            let _ = write!(
                config,
                "auth:\n  htpasswd:\n    realm: imagedeploy-test\n    path: {}\n",
                htpasswd.display()
            );
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).map_err(|source| ServerError::Setup {
            what: "registry config".into(),
            source,
        })?;
        let guard = spawn(&program, dir.path(), port)?;
        Ok(Self {
            port,
            _dir: dir,
            child: std::sync::Mutex::new(Some(guard)),
            program,
        })
    }
}

/// Starts `docker-registry serve <dir>/config.yml` and waits for `port`.
fn spawn(
    program: &std::path::Path,
    dir: &std::path::Path,
    port: u16,
) -> Result<Guard, ServerError> {
    {
        let config_path = dir.join("config.yml");
        let log_path = dir.join("registry.log");
        let log = std::fs::File::create(&log_path).map_err(|source| ServerError::Setup {
            what: "registry log".into(),
            source,
        })?;
        let log_err = log.try_clone().map_err(|source| ServerError::Setup {
            what: "registry log".into(),
            source,
        })?;
        let child = Command::new(program)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| ServerError::Spawn {
                program: "docker-registry".into(),
                source,
            })?;
        let guard = Guard(child);
        await_listening("docker-registry", port, &log_path, 20)?;
        Ok(guard)
    }
}

/// Writes an htpasswd file with a bcrypt hash, using the `htpasswd` tool
/// (apache2-utils) or Python's bcrypt as a fallback.
fn write_htpasswd(path: &std::path::Path, user: &str, password: &str) -> Result<(), ServerError> {
    let setup = |source| ServerError::Setup {
        what: "htpasswd file".into(),
        source,
    };
    if find_program("htpasswd", &["/usr/bin/htpasswd"]).is_some() {
        let status = Command::new("htpasswd")
            .args(["-Bbc"])
            .arg(path)
            .arg(user)
            .arg(password)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(setup)?;
        if status.success() {
            return Ok(());
        }
    }
    let output = Command::new("python3")
        .args([
            "-c",
            "import bcrypt,sys;print(sys.argv[1]+':'+bcrypt.hashpw(sys.argv[2].encode(),bcrypt.gensalt()).decode())",
            user,
            password,
        ])
        .output()
        .map_err(setup)?;
    if !output.status.success() {
        return Err(ServerError::Missing {
            program: "htpasswd".into(),
            hint: "apt-get install apache2-utils (or pip install bcrypt)".into(),
        });
    }
    std::fs::write(path, output.stdout).map_err(setup)
}
