//! One parser for image references, with Docker's grammar and defaults.
//!
//! The first path component names a registry when it contains `.` or `:`,
//! is `localhost`, or has an uppercase letter (Docker's `splitDockerDomain`);
//! otherwise the registry is Docker Hub and a one-component name gets
//! `library/`. A typo should be an error naming the reference and the rule it
//! breaks, at Check, not a pull that fails minutes later.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use crate::digest::Digest;

/// The registry Docker assumes when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
const MAX_NAME_LEN: usize = 255;

/// A parsed image reference.
///
/// Equality, ordering and hashing use the normalised name, tag and digest:
/// `nginx:1` and `docker.io/library/nginx:1` are the same reference.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Registry host and optional port as written, when the reference names one.
    domain: Option<String>,
    /// Repository path as written, without the registry (`team/app`, `nginx`).
    path: String,
    /// Normalised registry (`docker.io` when none is written).
    registry: String,
    /// Normalised repository (`library/nginx` on Docker Hub).
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

/// A string that is not an image reference; names the reference and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference {reference:?}: {reason}")]
pub struct ReferenceError {
    /// The string given.
    pub reference: String,
    /// The rule it breaks.
    pub reason: String,
}

impl Reference {
    /// Parses `input` with Docker's reference grammar.
    pub fn parse(input: &str) -> Result<Self, ReferenceError> {
        let invalid = |reason: &str| ReferenceError {
            reference: input.to_string(),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(invalid("empty reference"));
        }
        if input.trim() != input || input.chars().any(char::is_whitespace) {
            return Err(invalid("contains whitespace"));
        }
        let (name_and_tag, digest) = match input.split_once('@') {
            Some((name, d)) => (
                name,
                Some(Digest::parse(d).map_err(|e| invalid(&format!("bad digest: {}", e.reason)))?),
            ),
            None => (input, None),
        };
        // A ':' after the last '/' separates the tag; one before it is a port.
        let last_slash = name_and_tag.rfind('/').map(|i| i + 1).unwrap_or(0);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                (&name_and_tag[..at], Some(&name_and_tag[at + 1..]))
            }
            None => (name_and_tag, None),
        };
        if let Some(t) = tag {
            check_tag(t).map_err(|r| invalid(&r))?;
        }
        if name.is_empty() {
            return Err(invalid("repository name is empty"));
        }
        if name.len() > MAX_NAME_LEN {
            return Err(invalid("repository name is longer than 255 characters"));
        }
        let (domain, path) = match name.split_once('/') {
            Some((first, rest)) if looks_like_domain(first) => (Some(first), rest),
            _ => (None, name),
        };
        if let Some(d) = domain {
            check_domain(d).map_err(|r| invalid(&r))?;
        }
        for component in path.split('/') {
            check_path_component(component).map_err(|r| invalid(&r))?;
        }
        let registry = match domain {
            None | Some("index.docker.io" | "registry-1.docker.io") => DOCKER_HUB.to_string(),
            Some(d) => d.to_string(),
        };
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("library/{path}")
        } else {
            path.to_string()
        };
        Ok(Self {
            domain: domain.map(str::to_string),
            path: path.to_string(),
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The registry as written in references, normalised (`docker.io`,
    /// `127.0.0.1:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host the registry API is served from (Docker Hub's differs from its name).
    pub fn api_host(&self) -> &str {
        api_host(&self.registry)
    }

    /// The repository, normalised (`library/nginx`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The registry host as written, when the reference names one.
    pub fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    /// The repository path as written, without the registry (`nginx`, `team/app`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The tag, when one is written.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, when one is written.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// Whether the reference names a tag (explicitly or `latest` implicitly)
    /// rather than a digest.
    pub fn is_by_tag(&self) -> bool {
        self.digest.is_none()
    }

    /// What to ask the registry for: the digest when present, else the tag, else `latest`.
    pub fn manifest_reference(&self) -> &str {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.as_str(),
            (None, Some(t)) => t,
            (None, None) => "latest",
        }
    }

    /// `registry/repository`, normalised, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `domain/path` (or just `path`) as written, without tag or digest.
    pub fn written_name(&self) -> String {
        match &self.domain {
            Some(d) => format!("{d}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The whole reference as written (`nginx:1`, not `docker.io/library/nginx:1`).
    pub fn written(&self) -> String {
        let mut s = self.written_name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d.as_str());
        }
        s
    }

    /// `name@digest` with the name as written: the form task definitions pin.
    pub fn pinned(&self, digest: &str) -> String {
        format!("{}@{digest}", self.written_name())
    }

    /// `registry/repository@digest`, normalised: the immutable form of this
    /// image in its registry.
    pub fn with_digest(&self, digest: &Digest) -> Reference {
        Reference {
            tag: None,
            digest: Some(digest.clone()),
            ..self.clone()
        }
    }

    fn key(&self) -> (&str, &str, Option<&str>, Option<&Digest>) {
        (
            &self.registry,
            &self.repository,
            self.tag.as_deref(),
            self.digest.as_ref(),
        )
    }
}

impl PartialEq for Reference {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Reference {}

impl Hash for Reference {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialOrd for Reference {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Reference {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// The normalised form: `docker.io/library/nginx:1`. See
/// [`Reference::written`] for the form the user wrote.
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

/// Maps a registry name to the host serving its API.
pub fn api_host(registry: &str) -> &str {
    if registry == DOCKER_HUB {
        DOCKER_HUB_API_HOST
    } else {
        registry
    }
}

/// The digest part of a pinned reference (`...@sha256:...`), if any, as written.
pub fn digest_of(reference: &str) -> Option<&str> {
    reference.rsplit_once('@').map(|(_, d)| d)
}

fn looks_like_domain(first: &str) -> bool {
    first.contains('.')
        || first.contains(':')
        || first == "localhost"
        || first.starts_with('[')
        || first.chars().any(|c| c.is_ascii_uppercase())
}

fn check_tag(t: &str) -> Result<(), String> {
    let ok = !t.is_empty()
        && t.len() <= 128
        && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tag {t:?} must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'"
        ))
    }
}

fn check_domain(d: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = d.strip_prefix('[') {
        // [IPv6]:port
        match rest.split_once(']') {
            Some((ip, after)) => {
                if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
                    return Err(format!("registry {d:?} has an invalid IPv6 address"));
                }
                (None, after.strip_prefix(':'))
            }
            None => return Err(format!("registry {d:?} has an unclosed '['")),
        }
    } else {
        match d.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(d), None),
        }
    };
    if let Some(host) = host {
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if !host.split('.').all(label_ok) {
            return Err(format!("registry host {host:?} is not a valid hostname"));
        }
    }
    if let Some(port) = port {
        if port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err()
        {
            return Err(format!(
                "registry port {port:?} is not a number up to 65535"
            ));
        }
    }
    Ok(())
}

/// `[a-z0-9]+` joined by `.`, `_`, `__` or runs of `-`.
fn check_path_component(c: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "repository path component {c:?} must be lowercase letters and digits separated by '.', '_', '__' or '-'"
        ))
    };
    if c.is_empty() {
        return bad();
    }
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return bad();
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return bad();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

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
    fn the_written_form_is_kept_beside_the_normalised_one() {
        let r = Reference::parse("nginx:1").unwrap();
        assert_eq!((r.domain(), r.path()), (None, "nginx"));
        assert_eq!(r.written(), "nginx:1");
        assert_eq!(r.to_string(), "docker.io/library/nginx:1");
        assert_eq!(r.pinned(D), format!("nginx@{D}"));
        assert_eq!(r, Reference::parse("docker.io/library/nginx:1").unwrap());

        let r = Reference::parse("127.0.0.1:5000/team/app:v1.2").unwrap();
        assert_eq!(r.domain(), Some("127.0.0.1:5000"));
        assert_eq!(r.path(), "team/app");
        assert_eq!(r.written_name(), "127.0.0.1:5000/team/app");
        assert!(r.is_by_tag());

        let r = Reference::parse(&format!("localhost/app:t@{D}")).unwrap();
        assert_eq!(r.digest().map(Digest::as_str), Some(D));
        assert_eq!(r.pinned(D), format!("localhost/app@{D}"));
        assert_eq!(r.written(), format!("localhost/app:t@{D}"));

        let ecr = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my_app__x-y.z:latest";
        let r = Reference::parse(ecr).unwrap();
        assert_eq!(r.path(), "my_app__x-y.z");
        assert_eq!(r.written(), ecr);
        assert_eq!(digest_of(&r.pinned(D)), Some(D));
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
        // An uppercase first component names a registry (Docker's rule).
        assert_eq!(parsed("Registry/app").0, "Registry");
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
            "App:latest",
            "upper/Case",
            "a//b",
            "app:",
            "app:-x",
            "app@sha256:abc",
            "app@md5:0123",
            &format!("app@{}", D.to_uppercase()),
            "reg.io:99999/app",
            "app@sha256:zz",
            "a b",
            "-app",
            "/app",
            "app/",
            "reg.io//app",
            "app_:1",
            "a___b",
            "host:port/app",
            "-host.io/app",
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
