//! Pinning every container image to a digest before anything is compared
//! or registered.
//!
//! A task definition that says `app:latest` changes meaning whenever the tag
//! moves; one that says `app@sha256:...` does not. Resolving here, behind a
//! trait, lets the provider use ECR DescribeImages or the OCI registry API
//! while this crate stays free of registry clients.
//!
//! A multi-platform image (an OCI index or Docker manifest list) is pinned
//! to its child for the service's own platform, not to the index: ECS pulls
//! only that child, so an index that moved only in its other children is no
//! change to this service, and the task definition names exactly what runs.
//! The resolver reports what the registry holds; the choice of child, and
//! the error when there is none, are made here, once for every resolver.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::args::{CpuArchitecture, ServiceArgs};
use imagedeploy_reference::{Platform, Reference, ResolvedManifest};

/// Looks image references up in their registry.
#[async_trait]
pub trait ImageResolver: Send + Sync {
    /// What `reference` names now: an image manifest, or an index with its
    /// children's digests and platforms. For a reference that already
    /// carries a digest, confirms the registry has it (or returns
    /// [`ResolveError::NotFound`]).
    async fn resolve(&self, reference: &Reference) -> Result<ResolvedManifest, ResolveError>;
}

/// The OCI platform a task of `args` runs on, from
/// `runtimePlatform.cpuArchitecture` (`X86_64`, the default, is
/// `linux/amd64`; `ARM64` is `linux/arm64`) and `operatingSystemFamily`
/// (`WINDOWS_*` is `windows`). Pinning and `pullBytes` both use it.
pub fn oci_platform(args: &ServiceArgs) -> Platform {
    let runtime = args.runtime_platform.as_ref();
    let architecture = match runtime.and_then(|p| p.cpu_architecture) {
        Some(CpuArchitecture::Arm64) => "arm64",
        Some(CpuArchitecture::X86_64) | None => "amd64",
    };
    let windows = runtime
        .and_then(|p| p.operating_system_family.as_deref())
        .is_some_and(|f| f.starts_with("WINDOWS"));
    Platform::new(if windows { "windows" } else { "linux" }, architecture)
}

/// The ECS `cpuArchitecture` that runs images of OCI `architecture`.
fn ecs_architecture(architecture: &str) -> Option<CpuArchitecture> {
    match architecture {
        "amd64" => Some(CpuArchitecture::X86_64),
        "arm64" => Some(CpuArchitecture::Arm64),
        _ => None,
    }
}

/// Why a reference could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("{reference} does not exist in its registry")]
    NotFound { reference: String },
    #[error("could not look up {reference}: {message}")]
    Registry { reference: String, message: String },
}

/// A container's image could not be pinned; `property` names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("{property}: {source}")]
    Reference {
        property: String,
        source: imagedeploy_reference::ReferenceError,
    },
    #[error("{property}: {source}")]
    Resolve {
        property: String,
        source: ResolveError,
    },
    #[error("{property}: the registry returned {digest:?}, which is not a sha256 digest")]
    BadDigest { property: String, digest: String },
    #[error("{property}: the registry says {reference} has digest {found}")]
    DigestMismatch {
        property: String,
        reference: String,
        found: String,
    },
    #[error(
        "{property}: {reference} is a multi-platform image with no {wanted} image, the platform \
         this service runs on (runtimePlatform.cpuArchitecture {architecture}); it has {}. \
         Add {wanted} to the Image's `platforms`{}",
        list(.available),
        switch_hint(.available, .architecture)
    )]
    NoPlatform {
        property: String,
        reference: String,
        /// The service's platform.
        wanted: Platform,
        /// `runtimePlatform.cpuArchitecture` as ECS spells it.
        architecture: String,
        /// The platforms the index has.
        available: Vec<Platform>,
    },
}

fn list(platforms: &[Platform]) -> String {
    if platforms.is_empty() {
        return "no platform entries".to_string();
    }
    platforms
        .iter()
        .map(Platform::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `, or set runtimePlatform.cpuArchitecture to ARM64` when the image has a
/// platform ECS runs other than the service's `current` one.
fn switch_hint(available: &[Platform], current: &str) -> String {
    let mut architectures: Vec<&str> = available
        .iter()
        .filter_map(|p| ecs_architecture(&p.architecture))
        .map(|a| a.as_str())
        .filter(|a| *a != current)
        .collect();
    architectures.sort_unstable();
    architectures.dedup();
    match architectures.as_slice() {
        [] => String::new(),
        some => format!(
            ", or set `runtimePlatform.cpuArchitecture` to {}",
            some.join(" or ")
        ),
    }
}

impl ImageError {
    /// The input property at fault, e.g. `containers[0].image`.
    pub fn property(&self) -> &str {
        match self {
            Self::Reference { property, .. }
            | Self::Resolve { property, .. }
            | Self::BadDigest { property, .. }
            | Self::DigestMismatch { property, .. }
            | Self::NoPlatform { property, .. } => property,
        }
    }
}

/// Container name -> `repository@sha256:...` for every container of `args`.
///
/// `repo@sha256:...` (with or without a tag) keeps its repository and
/// digest, after the resolver confirms the digest exists; `repo:tag` is
/// pinned to the digest the tag names now. Either way, an index is pinned
/// to its child for [`oci_platform`]. Lookups run concurrently.
pub async fn resolve_images(
    args: &ServiceArgs,
    resolver: &dyn ImageResolver,
) -> Result<BTreeMap<String, String>, ImageError> {
    let wanted = oci_platform(args);
    let wanted = &wanted;
    let lookups = args.containers.iter().enumerate().map(|(i, c)| async move {
        let property = format!("containers[{i}].image");
        let reference = Reference::parse(&c.image).map_err(|source| ImageError::Reference {
            property: property.clone(),
            source,
        })?;
        let resolved =
            resolver
                .resolve(&reference)
                .await
                .map_err(|source| ImageError::Resolve {
                    property: property.clone(),
                    source,
                })?;
        let digest = resolved.digest();
        if digest.algorithm() != "sha256" {
            return Err(ImageError::BadDigest {
                property,
                digest: digest.to_string(),
            });
        }
        if let Some(expected) = reference.digest() {
            if expected != digest {
                return Err(ImageError::DigestMismatch {
                    property,
                    reference: c.image.clone(),
                    found: digest.to_string(),
                });
            }
        }
        let pinned =
            match &resolved {
                ResolvedManifest::Image { digest } => digest,
                ResolvedManifest::Index { manifests, .. } => {
                    let chosen = imagedeploy_reference::platform_child(manifests, wanted)
                        .ok_or_else(|| ImageError::NoPlatform {
                            property: property.clone(),
                            reference: c.image.clone(),
                            wanted: wanted.clone(),
                            architecture: args
                                .runtime_platform
                                .as_ref()
                                .and_then(|p| p.cpu_architecture)
                                .unwrap_or(CpuArchitecture::X86_64)
                                .to_string(),
                            available: manifests
                                .iter()
                                .filter_map(|m| m.platform.clone())
                                .filter(|p| !p.is_unknown())
                                .collect(),
                        })?;
                    if chosen.algorithm() != "sha256" {
                        return Err(ImageError::BadDigest {
                            property,
                            digest: chosen.to_string(),
                        });
                    }
                    chosen
                }
            };
        Ok((c.name.clone(), reference.pinned(pinned.as_str())))
    });
    futures::future::try_join_all(lookups)
        .await
        .map(|pairs| pairs.into_iter().collect())
}
