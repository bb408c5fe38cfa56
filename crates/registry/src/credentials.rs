//! Where registry credentials come from. Every lookup also reports its
//! source, so an auth failure can say which credentials were tried without
//! ever printing the password.

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;

/// A password or token. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Credentials for one registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    Anonymous,
    /// Username and password (or token), used for HTTP basic auth and to
    /// obtain bearer tokens. ECR's GetAuthorizationToken result goes here.
    Basic {
        username: String,
        password: Secret,
    },
}

impl Credentials {
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        Self::Basic {
            username: username.into(),
            password: Secret::new(password),
        }
    }
}

/// Which source supplied the credentials that were used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialSource {
    /// Passed in by the caller (the resource's `registries` input, or ECR).
    Explicit { username: String },
    /// Found in a Docker config file.
    DockerConfig { path: PathBuf, username: String },
    /// Nothing was configured for this registry.
    Anonymous,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Explicit { username } => {
                write!(f, "explicitly configured credentials for user {username:?}")
            }
            Self::DockerConfig { path, username } => write!(
                f,
                "credentials for user {username:?} from Docker config file {}",
                path.display()
            ),
            Self::Anonymous => {
                f.write_str("anonymous access (no credentials configured for this registry)")
            }
        }
    }
}

/// Where to look for a Docker config file.
#[derive(Clone, Debug, Default)]
pub enum DockerConfig {
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    #[default]
    FromEnvironment,
    /// This exact file.
    File(PathBuf),
    /// Never read a Docker config file.
    Disabled,
}

impl DockerConfig {
    fn path(&self) -> Option<PathBuf> {
        match self {
            Self::FromEnvironment => std::env::var_os("DOCKER_CONFIG")
                .map(|dir| PathBuf::from(dir).join("config.json"))
                .or_else(|| {
                    std::env::var_os("HOME")
                        .map(|home| PathBuf::from(home).join(".docker/config.json"))
                }),
            Self::File(path) => Some(path.clone()),
            Self::Disabled => None,
        }
    }

    /// Credentials for `registry` from the config file's `auths`, if any.
    /// A file that is absent yields none; a file that is unreadable or holds
    /// a malformed entry for this registry is an error naming the file.
    pub fn lookup(
        &self,
        registry: &str,
    ) -> Result<Option<(Credentials, CredentialSource)>, DockerConfigError> {
        let Some(path) = self.path() else {
            return Ok(None);
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(DockerConfigError::new(
                    &path,
                    format!("cannot read it: {e}"),
                ))
            }
        };
        lookup_in(&path, &text, registry)
    }
}

/// A Docker config file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Docker config file {}: {reason}", path.display())]
pub struct DockerConfigError {
    pub path: PathBuf,
    pub reason: String,
}

impl DockerConfigError {
    fn new(path: &Path, reason: String) -> Self {
        Self {
            path: path.to_path_buf(),
            reason,
        }
    }
}

fn lookup_in(
    path: &Path,
    text: &str,
    registry: &str,
) -> Result<Option<(Credentials, CredentialSource)>, DockerConfigError> {
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| DockerConfigError::new(path, format!("not valid JSON: {e}")))?;
    let Some(auths) = json.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let wanted = registry_aliases(registry);
    let entry = auths
        .iter()
        .find(|(key, _)| wanted.contains(&normalise_config_key(key)));
    let Some((key, entry)) = entry else {
        return Ok(None);
    };
    let Some(encoded) = entry
        .get("auth")
        .and_then(|a| a.as_str())
        .filter(|a| !a.is_empty())
    else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            DockerConfigError::new(
                path,
                format!("auths.{key}.auth is not base64 of user:password"),
            )
        })?;
    let (username, password) = decoded.split_once(':').ok_or_else(|| {
        DockerConfigError::new(
            path,
            format!("auths.{key}.auth is not base64 of user:password"),
        )
    })?;
    Ok(Some((
        Credentials::basic(username, password),
        CredentialSource::DockerConfig {
            path: path.to_path_buf(),
            username: username.to_string(),
        },
    )))
}

/// `https://host/v1/` -> `host`.
fn normalise_config_key(key: &str) -> String {
    let without_scheme = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    without_scheme
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn registry_aliases(registry: &str) -> Vec<String> {
    if matches!(
        registry,
        "docker.io" | "index.docker.io" | "registry-1.docker.io"
    ) {
        vec![
            "docker.io".into(),
            "index.docker.io".into(),
            "registry-1.docker.io".into(),
        ]
    } else {
        vec![registry.to_string()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn finds_auth_by_host_or_url() {
        let text = format!(
            r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{}"}},"127.0.0.1:5000":{{"auth":"{}"}}}}}}"#,
            b64("hub:pw1"),
            b64("local:pw:with:colons")
        );
        let path = Path::new("config.json");
        let hub = lookup_in(path, &text, "docker.io").ok().flatten();
        assert_eq!(hub.map(|(c, _)| c), Some(Credentials::basic("hub", "pw1")));
        let local = lookup_in(path, &text, "127.0.0.1:5000").ok().flatten();
        assert_eq!(
            local.map(|(c, _)| c),
            Some(Credentials::basic("local", "pw:with:colons"))
        );
        assert_eq!(lookup_in(path, &text, "other.io"), Ok(None));
    }

    #[test]
    fn malformed_entry_names_file_not_secret() {
        let text = r#"{"auths":{"r.io":{"auth":"!!!"}}}"#;
        let e = lookup_in(Path::new("/x/config.json"), text, "r.io").expect_err("malformed");
        assert!(e.to_string().contains("/x/config.json"), "{e}");
    }

    #[test]
    fn secret_debug_hides_value() {
        let c = Credentials::basic("u", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
