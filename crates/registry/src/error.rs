//! One error type for every registry operation; each variant names the
//! registry and the operation so a failed `up` says where it failed.

use crate::credentials::{CredentialSource, DockerConfigError};
use crate::layout::LayoutError;
use imagedeploy_reference::Digest;
use imagedeploy_reference::ReferenceError;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),

    #[error(transparent)]
    DockerConfig(#[from] DockerConfigError),

    #[error(transparent)]
    Layout(#[from] LayoutError),

    #[error("authentication to registry {registry} failed using {credential_source}: {detail}")]
    AuthFailed {
        registry: String,
        credential_source: CredentialSource,
        detail: String,
    },

    #[error("registry {registry}: {operation} failed: {message}")]
    Transport {
        registry: String,
        operation: String,
        message: String,
    },

    #[error(
        "registry {registry}: {operation} returned HTTP {status}{}",
        fmt_body(body)
    )]
    Status {
        registry: String,
        operation: String,
        status: u16,
        body: String,
    },

    #[error(
        "registry {registry}: {operation} gave up after {attempts} attempts; last error: {last}"
    )]
    RetriesExhausted {
        registry: String,
        operation: String,
        attempts: u32,
        last: Box<RegistryError>,
    },

    #[error("registry {registry} stored the manifest for {reference} as {actual}, but the local manifest digest is {expected}")]
    DigestMismatch {
        registry: String,
        reference: String,
        expected: Digest,
        actual: Digest,
    },

    #[error("registry {registry}: unexpected response to {operation}: {reason}")]
    Protocol {
        registry: String,
        operation: String,
        reason: String,
    },

    #[error("cannot push {reference}: it pins digest {pinned}, but the image's manifest digest is {actual}")]
    PinnedDigestDiffers {
        reference: String,
        pinned: Digest,
        actual: Digest,
    },

    #[error("nothing to push: no tags given")]
    NoTags,

    #[error("cannot create the HTTP client: {0}")]
    Client(String),
}

fn fmt_body(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

impl RegistryError {
    /// Worth retrying: server errors, throttling and broken connections.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => *status >= 500 || *status == 429 || *status == 408,
            _ => false,
        }
    }

    pub(crate) fn transport(registry: &str, operation: &str, error: &reqwest::Error) -> Self {
        Self::Transport {
            registry: registry.to_string(),
            operation: operation.to_string(),
            message: error_chain(error),
        }
    }
}

/// The error and its causes on one line ("error sending request: connection reset by peer").
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}
