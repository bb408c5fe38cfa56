//! Build errors. Each says what to fix: the missing path, the builder's last
//! output lines and the Dockerfile line that failed, or which property
//! (`buildTimeoutSeconds`) bounded the build.

use std::path::PathBuf;

use crate::failure::FailedStep;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("build context {} does not exist or is not a directory", path.display())]
    ContextMissing { path: PathBuf },

    #[error("cannot read Dockerfile {}: {source}", path.display())]
    DockerfileRead {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("cannot pin the base images of {dockerfile}: {source}")]
    Dockerfile {
        /// The user's Dockerfile path, or "inline Dockerfile".
        dockerfile: String,
        source: crate::dockerfile::DockerfileError,
    },

    #[error("secret id \"{id}\" is not usable: {problem}")]
    InvalidSecretId { id: String, problem: &'static str },

    #[error("build arg {name} is secret and cannot be passed to the builder: {problem}")]
    InvalidSecretBuildArg { name: String, problem: &'static str },

    #[error("baseImagePull \"never\" needs buildah: the Docker engine's BuildKit cannot be kept from contacting registries for base images")]
    PullNever,

    #[error(
        "a shared build cache needs buildah: the Docker engine here has no registry cache exporter"
    )]
    CacheUnsupported,

    #[error("no image builder is available: {tried}")]
    NoBuilder { tried: String },

    #[error("{program} is not installed or not usable ({hint})")]
    BuilderMissing { program: String, hint: String },

    #[error("could not start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },

    #[error("{0}")]
    Failed(Box<BuildFailure>),

    #[error("build timed out after {seconds}s (buildTimeoutSeconds); the builder was stopped. Raise buildTimeoutSeconds if this build needs longer.{}", fmt_tail(tail))]
    TimedOut { seconds: u64, tail: Vec<String> },

    #[error("build cancelled; the builder was stopped")]
    Cancelled,

    #[error("cannot {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },

    #[error("could not export the built image: {reason}")]
    Export { reason: String },

    #[error(transparent)]
    Layout(#[from] imagedeploy_registry::LayoutError),

    #[error("fingerprint: {0}")]
    Fingerprint(#[from] imagedeploy_fingerprint::Error),

    #[error(transparent)]
    Stage(#[from] imagedeploy_fingerprint::stage::StageError),

    #[error("the builder's platform is {builder}, but the fingerprint was planned for {planned}; run again")]
    PlatformChanged { builder: String, planned: String },
}

/// A builder that exited with an error: where and what it last printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFailure {
    /// The command that failed (`buildah bud`, `docker build`...).
    pub builder: &'static str,
    /// The exit status as text.
    pub status: String,
    /// The user's Dockerfile path, or "inline Dockerfile".
    pub dockerfile: String,
    /// The instruction the build stopped at, when the output says.
    pub step: Option<FailedStep>,
    /// The builder's last output lines (secrets masked).
    pub tail: Vec<String>,
}

impl std::fmt::Display for BuildFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&failed_message(self))
    }
}

fn failed_message(failure: &BuildFailure) -> String {
    let BuildFailure {
        builder,
        status,
        dockerfile,
        step,
        tail,
    } = failure;
    let location = match step {
        Some(FailedStep {
            line: Some(line),
            instruction,
        }) => format!(" at {dockerfile} line {line}: {instruction}"),
        Some(FailedStep {
            line: None,
            instruction,
        }) if !instruction.is_empty() => {
            format!(" at {dockerfile} step {instruction}")
        }
        _ => String::new(),
    };
    format!("{builder} failed ({status}){location}{}", fmt_tail(tail))
}

fn fmt_tail(tail: &[String]) -> String {
    if tail.is_empty() {
        return String::new();
    }
    let mut text = String::from("\nlast builder output:");
    for line in tail {
        text.push_str("\n  ");
        text.push_str(line);
    }
    text
}
