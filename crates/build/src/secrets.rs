//! Build secrets reach the builder as files in a private directory (0700,
//! files 0600), referenced by path; values never appear on a command line,
//! where any local user could read them, and the directory is removed when
//! the build ends.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use crate::error::BuildError;

pub(crate) struct SecretFiles {
    dir: tempfile::TempDir,
    ids: Vec<String>,
    values: Vec<String>,
}

impl SecretFiles {
    pub fn write(secrets: &BTreeMap<String, String>) -> Result<Self, BuildError> {
        let io = |what: &str| {
            let what = what.to_string();
            move |source| BuildError::Io { what, source }
        };
        let dir = crate::scratch::tempdir("secrets").map_err(io("secrets directory"))?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(io("secrets directory permissions"))?;
        for (index, (id, value)) in secrets.iter().enumerate() {
            if id.is_empty() || id.contains([',', '=', '/']) {
                return Err(BuildError::InvalidSecretId { id: id.clone() });
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(dir.path().join(index.to_string()))
                .map_err(io("secret file"))?;
            file.write_all(value.as_bytes())
                .map_err(io("secret file"))?;
        }
        Ok(Self {
            dir,
            ids: secrets.keys().cloned().collect(),
            values: secrets.values().filter(|v| v.len() >= 4).cloned().collect(),
        })
    }

    /// `--secret id=<id>,src=<file>` values for the builder.
    pub fn flags(&self) -> Vec<String> {
        self.ids
            .iter()
            .enumerate()
            .map(|(index, id)| format!("id={id},src={}", self.path(index).display()))
            .collect()
    }

    fn path(&self, index: usize) -> PathBuf {
        self.dir.path().join(index.to_string())
    }

    /// Replaces secret values in builder output (a RUN step may print one).
    pub fn redact(&self, line: &str) -> String {
        let mut line = line.to_string();
        for value in &self.values {
            if line.contains(value.as_str()) {
                line = line.replace(value.as_str(), "***");
            }
        }
        line
    }
}
