//! Image references (`registry/repository[:tag][@digest]`) with Docker's
//! defaulting rules, so `nginx` and `docker.io/library/nginx:latest` mean the
//! same thing everywhere in the provider.

use std::fmt;
use std::str::FromStr;

use crate::digest::Digest;

/// The registry Docker assumes when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// A string that is not an image reference; names the reference and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct ReferenceError {
    pub reference: String,
    pub reason: String,
}

impl Reference {
    /// Parses a reference the way Docker does: the first path component is
    /// the registry when it contains `.` or `:` or is `localhost`, otherwise
    /// the registry is Docker Hub and one-component names get `library/`.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let error = |reason: &str| ReferenceError {
            reference: input.to_string(),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(error("empty reference"));
        }
        if input.trim() != input || input.chars().any(char::is_whitespace) {
            return Err(error("contains whitespace"));
        }
        let (name_and_tag, digest) = match input.split_once('@') {
            Some((name, digest)) => (
                name,
                Some(
                    Digest::parse(digest)
                        .map_err(|e| error(&format!("bad digest: {}", e.reason)))?,
                ),
            ),
            None => (input, None),
        };
        let last_slash = name_and_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let split = last_slash + i;
                (&name_and_tag[..split], Some(&name_and_tag[split + 1..]))
            }
            None => (name_and_tag, None),
        };
        if let Some(tag) = tag {
            validate_tag(tag).map_err(&error)?;
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                validate_registry(first).map_err(&error)?;
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        let registry = if matches!(
            registry.as_str(),
            "index.docker.io" | "registry-1.docker.io"
        ) {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        validate_repository(&repository).map_err(&error)?;
        Ok(Self {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The registry as written in references (`docker.io`, `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host the registry API is served from (Docker Hub's differs from its name).
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask the registry for: the digest when present, else the tag, else `latest`.
    pub fn manifest_reference(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.as_str(),
            (None, Some(t)) => t,
            (None, None) => "latest",
        }
    }

    /// `registry/repository` without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `registry/repository@digest`: the immutable form used in task definitions.
    pub fn with_digest(&self, digest: &Digest) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: self.repository.clone(),
            tag: None,
            digest: Some(digest.clone()),
        }
    }
}

/// Maps a registry name to the host serving its API.
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API_HOST
    } else {
        registry
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl FromStr for Reference {
    type Err = ReferenceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn validate_tag(tag: &str) -> Result<(), &'static str> {
    let mut chars = tag.chars();
    match chars.next() {
        None => return Err("empty tag"),
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => {}
        Some(_) => return Err("tag must start with a letter, digit or underscore"),
    }
    if tag.len() > 128 {
        return Err("tag longer than 128 characters");
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err("tag may contain only letters, digits, '_', '.' and '-'");
    }
    Ok(())
}

fn validate_registry(registry: &str) -> Result<(), &'static str> {
    let (host, port) = match registry.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || registry.starts_with('[') => {
            (host, Some(port))
        }
        _ => (registry, None),
    };
    if let Some(port) = port {
        if port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err()
        {
            return Err("registry port must be a number up to 65535");
        }
    }
    let bracketed = host.starts_with('[') && host.ends_with(']');
    let valid_host = !host.is_empty()
        && (bracketed
            || host.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            }));
    if valid_host {
        Ok(())
    } else {
        Err("registry host must be a DNS name or IP address")
    }
}

fn validate_repository(repository: &str) -> Result<(), &'static str> {
    if repository.is_empty() {
        return Err("empty repository name");
    }
    if repository.len() > 255 {
        return Err("repository name longer than 255 characters");
    }
    for component in repository.split('/') {
        if component.is_empty() {
            return Err("repository has an empty path component");
        }
        if component.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err("repository name must be lowercase");
        }
        let bytes = component.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return Err("repository path components must start and end with a letter or digit");
        }
        if !bytes
            .iter()
            .all(|&b| alnum(b) || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(
                "repository may contain only lowercase letters, digits, '.', '_', '-' and '/'",
            );
        }
        if component.contains("..")
            || component.contains("___")
            || component.contains("._")
            || component.contains("_.")
        {
            return Err("repository has an invalid separator sequence");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = Reference::parse(s).unwrap_or_else(|e| panic!("{e}"));
        (
            r.registry().to_string(),
            r.repository().to_string(),
            r.tag().map(str::to_string),
            r.digest().map(|d| d.to_string()),
        )
    }

    #[test]
    fn docker_hub_defaults() {
        assert_eq!(
            parsed("nginx"),
            ("docker.io".into(), "library/nginx".into(), None, None)
        );
        assert_eq!(
            parsed("user/app:1.2"),
            (
                "docker.io".into(),
                "user/app".into(),
                Some("1.2".into()),
                None
            )
        );
        assert_eq!(
            Reference::parse("nginx").map(|r| r.api_host().to_string()),
            Ok("registry-1.docker.io".into())
        );
        assert_eq!(
            Reference::parse("index.docker.io/nginx").map(|r| r.to_string()),
            Ok("docker.io/library/nginx".into())
        );
    }

    #[test]
    fn explicit_registries() {
        let d = format!("sha256:{}", "0".repeat(64));
        assert_eq!(
            parsed(&format!("127.0.0.1:5000/a/b:v1@{d}")),
            (
                "127.0.0.1:5000".into(),
                "a/b".into(),
                Some("v1".into()),
                Some(d.clone())
            )
        );
        assert_eq!(
            parsed("localhost/app"),
            ("localhost".into(), "app".into(), None, None)
        );
        assert_eq!(
            parsed("123.dkr.ecr.us-east-1.amazonaws.com/app:latest").0,
            "123.dkr.ecr.us-east-1.amazonaws.com"
        );
        let r = Reference::parse(&format!("localhost:5000/app@{d}")).ok();
        assert_eq!(
            r.as_ref().map(|r| r.manifest_reference().to_string()),
            Some(d)
        );
        assert_eq!(
            Reference::parse("localhost:5000/app").map(|r| r.manifest_reference().to_string()),
            Ok("latest".into())
        );
    }

    #[test]
    fn errors_name_the_reference() {
        for bad in [
            "",
            "UPPER/case",
            "a//b",
            "app:",
            "app:-x",
            "reg.io:99999/app",
            "app@sha256:zz",
            "a b",
            "-app",
        ] {
            let e = Reference::parse(bad).expect_err(bad);
            assert!(e.to_string().contains(&format!("{bad:?}")), "{e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "127.0.0.1:5000/app:v1",
            "docker.io/library/busybox:1",
            "ghcr.io/o/r",
        ] {
            assert_eq!(
                Reference::parse(s).map(|r| r.to_string()),
                Ok(s.to_string())
            );
        }
    }
}
