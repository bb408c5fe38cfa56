//! Image references (`registry/repo[:tag][@sha256:hex]`), parsed strictly.
//!
//! A typo in an image reference should be a Check failure naming the
//! container, not an ECS task that fails to pull minutes later, and pinning
//! needs the repository part on its own to build `repo@sha256:...`.

use std::fmt;

/// A parsed image reference. The repository is kept exactly as written
/// (no `docker.io/library/` expansion) so a pinned reference stays recognisable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    /// Registry host and optional port, e.g. `127.0.0.1:5000`, when the
    /// first component names one.
    pub domain: Option<String>,
    /// Repository path without the domain, e.g. `team/app`.
    pub path: String,
    /// Tag, e.g. `latest`.
    pub tag: Option<String>,
    /// Digest, `sha256:` + 64 lowercase hex digits.
    pub digest: Option<String>,
}

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("image reference is empty")]
    Empty,
    #[error("image reference {reference:?}: {reason}")]
    Invalid { reference: String, reason: String },
}

const MAX_NAME_LEN: usize = 255;

impl ImageReference {
    /// Parses `reference`. Accepts only `sha256` digests.
    pub fn parse(reference: &str) -> Result<Self, ReferenceError> {
        if reference.is_empty() {
            return Err(ReferenceError::Empty);
        }
        let invalid = |reason: &str| ReferenceError::Invalid {
            reference: reference.to_string(),
            reason: reason.to_string(),
        };
        if reference.trim() != reference || reference.chars().any(char::is_whitespace) {
            return Err(invalid("contains whitespace"));
        }
        let (name_and_tag, digest) = match reference.split_once('@') {
            Some((n, d)) => (n, Some(d)),
            None => (reference, None),
        };
        if let Some(d) = digest {
            check_digest(d).map_err(|r| invalid(&r))?;
        }
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
        Ok(Self {
            domain: domain.map(str::to_string),
            path: path.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }

    /// `domain/path` (or just `path`), without tag or digest.
    pub fn repository(&self) -> String {
        match &self.domain {
            Some(d) => format!("{d}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// `repository@digest`: the form task definitions pin.
    pub fn pinned(&self, digest: &str) -> String {
        format!("{}@{digest}", self.repository())
    }

    /// Whether the reference names a tag (explicitly or `latest` implicitly)
    /// rather than a digest.
    pub fn is_by_tag(&self) -> bool {
        self.digest.is_none()
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The digest part of a pinned reference (`...@sha256:...`), if any.
pub fn digest_of(reference: &str) -> Option<&str> {
    reference.rsplit_once('@').map(|(_, d)| d)
}

/// Whether `digest` is `sha256:` followed by 64 lowercase hex digits.
pub fn is_sha256_digest(digest: &str) -> bool {
    check_digest(digest).is_ok()
}

fn looks_like_domain(first: &str) -> bool {
    first.contains('.')
        || first.contains(':')
        || first == "localhost"
        || first.starts_with('[')
        || first.chars().any(|c| c.is_ascii_uppercase())
}

fn check_digest(d: &str) -> Result<(), String> {
    let Some(hex) = d.strip_prefix("sha256:") else {
        return Err(format!("digest {d:?} is not sha256:<64 hex digits>"));
    };
    if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(format!(
            "digest {d:?} is not sha256:<64 lowercase hex digits>"
        ));
    }
    Ok(())
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
        if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("registry port {port:?} is not a number"));
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

    #[test]
    fn parses_the_common_forms() {
        let r = ImageReference::parse("nginx").unwrap();
        assert_eq!(
            (r.domain, r.path.as_str(), r.tag, r.digest),
            (None, "nginx", None, None)
        );

        let r = ImageReference::parse("127.0.0.1:5000/team/app:v1.2").unwrap();
        assert_eq!(r.domain.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(r.path, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v1.2"));
        assert_eq!(r.repository(), "127.0.0.1:5000/team/app");

        let r = ImageReference::parse(&format!("localhost/app:t@{D}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(r.pinned(D), format!("localhost/app@{D}"));

        let r = ImageReference::parse(
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my_app__x-y.z:latest",
        )
        .unwrap();
        assert_eq!(r.path, "my_app__x-y.z");
        assert_eq!(
            r.to_string(),
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/my_app__x-y.z:latest"
        );
    }

    #[test]
    fn rejects_what_is_not_a_reference() {
        for bad in [
            "",
            "App:latest",
            "app:",
            "app:-x",
            "app@sha256:abc",
            "app@md5:0123",
            &format!("app@{}", D.to_uppercase()),
            "app name",
            "/app",
            "app/",
            "reg.io//app",
            "app_:1",
            "a___b",
            "host:port/app",
            "-host.io/app",
        ] {
            assert!(
                ImageReference::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
