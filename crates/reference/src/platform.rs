//! What a reference names in its registry when it may be a multi-platform
//! image: one image manifest, or an index (OCI image index, Docker manifest
//! list) of per-platform manifests.
//!
//! The registry crate reads these and the ECS crate chooses among them, and
//! neither depends on the other, so the one definition lives here, beside
//! the references and digests both already share.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Digest;

/// An OCI platform: `os/architecture[/variant]`, as an index entry states it.
/// Ordered by os, then architecture, then variant: the order of an index's
/// children in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Platform {
    /// e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// e.g. `amd64`, `arm64`.
    #[serde(default)]
    pub architecture: String,
    /// e.g. `v8` for `arm64`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// `os/architecture` without a variant.
    pub fn new(os: &str, architecture: &str) -> Self {
        Self {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant: None,
        }
    }

    /// `linux/arm64`, `linux/arm/v7` (as `--platform` flags and the
    /// `platforms` input write them); `None` for anything else.
    pub fn parse(text: &str) -> Option<Platform> {
        let mut parts = text.split('/');
        let os = parts.next().filter(|s| !s.is_empty())?;
        let architecture = parts.next().filter(|s| !s.is_empty())?;
        let variant = match parts.next() {
            Some("") => return None,
            other => other.map(str::to_string),
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.to_string(),
            architecture: architecture.to_string(),
            variant,
        })
    }

    /// Whether an image for `self` runs where `wanted` is asked for: the same
    /// OS and architecture, and the variant `wanted` names when it names
    /// one (`linux/arm64` accepts `linux/arm64/v8`, not the reverse).
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        self.os == wanted.os
            && self.architecture == wanted.architecture
            && wanted
                .variant
                .as_ref()
                .is_none_or(|v| self.variant.as_ref() == Some(v))
    }

    /// Index entries that are not images to run (BuildKit's attestation
    /// manifests) say `unknown/unknown`.
    pub fn is_unknown(&self) -> bool {
        self.os == "unknown" && self.architecture == "unknown"
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

/// One entry of an index: a manifest and the platform it is for (`None`
/// when the entry states none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformManifest {
    /// The child manifest's digest.
    pub digest: Digest,
    /// Its `platform` entry.
    pub platform: Option<Platform>,
}

/// What a reference names in its registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedManifest {
    /// A single-platform image manifest.
    Image {
        /// Its digest.
        digest: Digest,
    },
    /// An OCI image index or Docker manifest list.
    Index {
        /// The index's own digest.
        digest: Digest,
        /// Its entries, in the index's order.
        manifests: Vec<PlatformManifest>,
    },
}

impl ResolvedManifest {
    /// The digest of the manifest or index the reference names.
    pub fn digest(&self) -> &Digest {
        match self {
            Self::Image { digest } | Self::Index { digest, .. } => digest,
        }
    }
}

/// The child of an index for `wanted`: the first entry for its OS and
/// architecture, preferring one without a variant or with the
/// architecture's baseline (`arm64/v8`, which is what Graviton runs).
/// Entries without a platform (or BuildKit's `unknown/unknown`
/// attestations) never match.
pub fn platform_child<'a>(
    manifests: &'a [PlatformManifest],
    wanted: &Platform,
) -> Option<&'a Digest> {
    let candidates: Vec<_> = manifests
        .iter()
        .filter_map(|m| Some((m.platform.as_ref()?, &m.digest)))
        .filter(|(p, _)| p.satisfies(wanted))
        .collect();
    let baseline = |p: &Platform| match p.variant.as_deref() {
        None => true,
        Some(v) => {
            (p.architecture == "arm64" && v == "v8") || (p.architecture == "amd64" && v == "v1")
        }
    };
    candidates
        .iter()
        .find(|(p, _)| baseline(p))
        .or_else(|| candidates.first())
        .map(|(_, d)| *d)
}

#[cfg(test)]
mod tests {
    use super::Platform;

    fn p(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        Platform {
            variant: variant.map(str::to_string),
            ..Platform::new(os, arch)
        }
    }

    #[test]
    fn platforms_parse_and_print_back() {
        for text in ["linux/amd64", "linux/arm64/v8", "linux/arm/v7"] {
            assert_eq!(Platform::parse(text).unwrap().to_string(), text);
        }
        for bad in ["", "linux", "linux/", "/amd64", "linux/arm/", "a/b/c/d"] {
            assert_eq!(Platform::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_variant_is_needed_only_when_asked_for() {
        let wanted = Platform::new("linux", "arm64");
        assert!(p("linux", "arm64", Some("v8")).satisfies(&wanted));
        assert!(p("linux", "arm64", None).satisfies(&wanted));
        assert!(!p("linux", "amd64", None).satisfies(&wanted));
        assert!(!p("windows", "arm64", None).satisfies(&wanted));
        let v8 = p("linux", "arm64", Some("v8"));
        assert!(!p("linux", "arm64", None).satisfies(&v8));
    }

    #[test]
    fn displays_as_os_architecture_variant() {
        assert_eq!(
            p("linux", "arm64", Some("v8")).to_string(),
            "linux/arm64/v8"
        );
        assert_eq!(Platform::new("linux", "amd64").to_string(), "linux/amd64");
    }
}
