//! A CNCF distribution registry (`docker-registry` from Debian) on loopback.

use std::fmt::Write as _;
use std::process::{Command, Stdio};

use crate::process::{await_listening, find_program, free_port, Guard, ServerError};
use crate::tls::TestCa;

/// A running registry. `address()` is `127.0.0.1:PORT`, usable in image references.
pub struct Registry {
    port: u16,
    _dir: tempfile::TempDir,
    child: Option<Guard>,
    program: std::path::PathBuf,
    config_path: std::path::PathBuf,
    log_path: std::path::PathBuf,
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

    /// The registry's filesystem storage root, for tests that count what was
    /// written (blobs under `docker/registry/v2/blobs`).
    pub fn storage_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("storage")
    }

    /// Stops the registry, deletes everything it stored and starts it again
    /// on the same address with the same configuration: a registry that lost
    /// its images (wiped storage, a retention policy, a rebuilt cache).
    pub fn wipe_and_restart(&mut self) -> Result<(), ServerError> {
        drop(self.child.take());
        let storage = self.storage_dir();
        if storage.exists() {
            std::fs::remove_dir_all(&storage).map_err(|source| ServerError::Setup {
                what: "wiping registry storage".into(),
                source,
            })?;
        }
        self.child = Some(spawn_registry(
            &self.program,
            &self.config_path,
            &self.log_path,
        )?);
        await_listening("docker-registry", self.port, &self.log_path, 20)
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
        let log_path = dir.path().join("registry.log");
        let guard = spawn_registry(&program, &config_path, &log_path)?;
        await_listening("docker-registry", port, &log_path, 20)?;
        Ok(Self {
            port,
            _dir: dir,
            child: Some(guard),
            program,
            config_path,
            log_path,
        })
    }
}

fn spawn_registry(
    program: &std::path::Path,
    config_path: &std::path::Path,
    log_path: &std::path::Path,
) -> Result<Guard, ServerError> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log_path)
        .map_err(|source| ServerError::Setup {
            what: "registry log".into(),
            source,
        })?;
    let log_err = log.try_clone().map_err(|source| ServerError::Setup {
        what: "registry log".into(),
        source,
    })?;
    let child = Command::new(program)
        .arg("serve")
        .arg(config_path)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|source| ServerError::Spawn {
            program: "docker-registry".into(),
            source,
        })?;
    Ok(Guard(child))
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
