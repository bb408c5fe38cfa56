//! Registry credentials for the builder's own pulls (private base images).
//!
//! The provider resolves base image digests with credentials from the
//! `registries` input or ECR; the builder then pulls those images itself and
//! needs the same credentials. They go into a Docker-format auth file in the
//! build's private work directory (mode 0600, removed with it), never on a
//! command line. buildah always gets this file, empty or not, so a stray
//! DOCKER_CONFIG in the environment cannot break its export step.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use imagedeploy_registry::Credentials;

use crate::error::BuildError;

/// Writes `<work>/auth/config.json` and returns its path.
pub(crate) fn write(
    work: &Path,
    auth: &BTreeMap<String, Credentials>,
) -> Result<PathBuf, BuildError> {
    let io = |what: &str| {
        let what = what.to_string();
        move |source| BuildError::Io { what, source }
    };
    let dir = work.join("auth");
    std::fs::create_dir_all(&dir).map_err(io("create the registry auth directory"))?;
    let mut auths = serde_json::Map::new();
    for (registry, credentials) in auth {
        if let Credentials::Basic { username, password } = credentials {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{}", password.expose()));
            auths.insert(registry.clone(), serde_json::json!({ "auth": token }));
        }
    }
    let text = serde_json::json!({ "auths": auths }).to_string();
    let path = dir.join("config.json");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io("write the registry auth file"))?;
    file.write_all(text.as_bytes())
        .map_err(io("write the registry auth file"))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_docker_format_with_private_permissions() {
        let work = tempfile::tempdir().expect("tempdir");
        let auth = BTreeMap::from([(
            "127.0.0.1:5000".to_string(),
            Credentials::basic("u", "p@ss"),
        )]);
        let path = write(work.path(), &auth).expect("written");
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        assert_eq!(json["auths"]["127.0.0.1:5000"]["auth"], "dTpwQHNz");
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
    }
}
