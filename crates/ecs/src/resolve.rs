//! Pinning every container image to a digest before anything is compared
//! or registered.
//!
//! A task definition that says `app:latest` changes meaning whenever the tag
//! moves; one that says `app@sha256:...` does not. Resolving here, behind a
//! trait, lets the provider use ECR DescribeImages or the OCI registry API
//! while this crate stays free of registry clients.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::args::ServiceArgs;
use imagedeploy_reference::{Digest, Reference};

/// Looks image references up in their registry.
#[async_trait]
pub trait ImageResolver: Send + Sync {
    /// The manifest digest (`sha256:...`) `reference` names now. For a
    /// reference that already carries a digest, confirms the registry has
    /// it and returns that digest (or [`ResolveError::NotFound`]).
    async fn resolve(&self, reference: &Reference) -> Result<String, ResolveError>;
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
}

impl ImageError {
    /// The input property at fault, e.g. `containers[0].image`.
    pub fn property(&self) -> &str {
        match self {
            Self::Reference { property, .. }
            | Self::Resolve { property, .. }
            | Self::BadDigest { property, .. }
            | Self::DigestMismatch { property, .. } => property,
        }
    }
}

/// Container name -> `repository@sha256:...` for every container of `args`.
///
/// `repo@sha256:...` (with or without a tag) keeps its repository and
/// digest, after the resolver confirms the digest exists; `repo:tag` is
/// pinned to the digest the tag names now. Lookups run concurrently.
pub async fn resolve_images(
    args: &ServiceArgs,
    resolver: &dyn ImageResolver,
) -> Result<BTreeMap<String, String>, ImageError> {
    let lookups = args.containers.iter().enumerate().map(|(i, c)| async move {
        let property = format!("containers[{i}].image");
        let reference = Reference::parse(&c.image).map_err(|source| ImageError::Reference {
            property: property.clone(),
            source,
        })?;
        let digest = resolver
            .resolve(&reference)
            .await
            .map_err(|source| ImageError::Resolve {
                property: property.clone(),
                source,
            })?;
        if !Digest::parse(&digest).is_ok_and(|d| d.algorithm() == "sha256") {
            return Err(ImageError::BadDigest { property, digest });
        }
        if let Some(expected) = reference.digest() {
            if expected.as_str() != digest {
                return Err(ImageError::DigestMismatch {
                    property,
                    reference: c.image.clone(),
                    found: digest,
                });
            }
        }
        Ok((c.name.clone(), reference.pinned(&digest)))
    });
    futures::future::try_join_all(lookups)
        .await
        .map(|pairs| pairs.into_iter().collect())
}
