//! OCI registry access: resolving tags, pushing, existence checks and the
//! content digest that identifies an image independent of build metadata.
//!
//! The provider hands a built OCI layout to [`RegistryClient::push_layout`]
//! only when [`content_digest`] differs from the one in state, so rebuilding
//! the same content never produces a new manifest for dependents to follow.

mod client;
mod content;
mod credentials;
mod error;
pub mod index;
mod inspect;
mod layers;
pub mod layout;
mod ops;

pub use client::{ClientOptions, CredentialRefresher, RegistryClient, RetryPolicy};
pub use content::{content_digest, ContentDigest, ContentError, ImageContent};
pub use credentials::{CredentialSource, Credentials, DockerConfig, DockerConfigError, Secret};
pub use error::RegistryError;
pub use imagedeploy_reference::{
    platform_child, Digest, DigestError, Platform, PlatformManifest, Reference, ReferenceError,
    ResolvedManifest, DOCKER_HUB,
};
pub use index::{ImageIndex, IndexChild};
pub use layers::{HistoryEntry, ImageLayers, LayerFacts};
pub use layout::{ImageLayout, LayoutError};
pub use ops::PushReport;

/// A progress line for whoever shows this work to a user: a `tracing`
/// event with `progress = true` (the provider's engine log shows it live and
/// does not keep it). Never put secret values in it.
pub(crate) fn progress(line: &str) {
    tracing::info!(progress = true, "{line}");
}
