//! State shared by one build's steps: the private work directory, the
//! rewritten Dockerfile, secret files, deadline and cancellation, and the
//! output plumbing (redaction, failing-step tracking, last lines).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::{BuildError, BuildFailure};
use crate::failure::StepTracker;
use crate::process::{self, Invocation, RunError};
use crate::request::BuildRequest;
use crate::secrets::SecretFiles;

pub(crate) struct Job<'a> {
    pub request: &'a BuildRequest,
    /// Private scratch directory for this build.
    pub work: PathBuf,
    /// The staged build context the builder reads (inside `work`).
    pub context: PathBuf,
    /// The Dockerfile to build (base images rewritten, same line numbers).
    pub dockerfile: PathBuf,
    pub dockerfile_text: String,
    /// How errors name the Dockerfile.
    pub dockerfile_label: String,
    /// An ignore file that ignores nothing (the context is already
    /// filtered), next to `dockerfile` as `Dockerfile.dockerignore`.
    pub ignore_file: PathBuf,
    /// The builder's native platform.
    pub build_platform: String,
    pub secrets: SecretFiles,
    /// Docker-format auth file for the builder's pulls (see `authfile`).
    pub auth_file: PathBuf,
    pub deadline: Instant,
    pub cancel: CancellationToken,
    pub tracker: Mutex<StepTracker>,
    /// BuildKit's base-image downloads (see `buildkit_pulls`).
    pub pulls: Mutex<crate::buildkit_pulls::PullWatch>,
    /// Cached and rebuilt steps, exported cache images (see `cache`).
    pub cache: Mutex<crate::cache::CacheWatch>,
}

impl Job<'_> {
    /// Runs a build step; failures carry the failing Dockerfile line and the last output.
    pub async fn run(
        &self,
        invocation: &Invocation,
        builder: &'static str,
    ) -> Result<(), BuildError> {
        self.run_with_tail(invocation, builder)
            .await
            .map_err(|(error, _)| error)
    }

    /// Like `run`, but also hands back the last output lines on failure.
    pub async fn run_with_tail(
        &self,
        invocation: &Invocation,
        builder: &'static str,
    ) -> Result<(), (BuildError, Vec<String>)> {
        let mut tail = VecDeque::new();
        let mut on_line = |line: &str| {
            let line = self.secrets.redact(line);
            if let Ok(mut tracker) = self.tracker.lock() {
                tracker.observe(&line);
            }
            if let Ok(mut pulls) = self.pulls.lock() {
                pulls.observe(&line);
            }
            if let Ok(mut cache) = self.cache.lock() {
                cache.observe(&line);
            }
            crate::progress(&line);
        };
        let result = process::run(
            invocation,
            self.deadline,
            &self.cancel,
            &mut on_line,
            &mut tail,
        )
        .await;
        let tail: Vec<String> = tail.into_iter().map(|l| self.secrets.redact(&l)).collect();
        match result {
            Ok(()) => Ok(()),
            Err(RunError::Spawn(source)) => Err((
                BuildError::Spawn {
                    program: invocation.program.display().to_string(),
                    source,
                },
                tail,
            )),
            Err(RunError::TimedOut) => Err((
                BuildError::TimedOut {
                    seconds: self.request.timeout.as_secs(),
                    tail: tail.clone(),
                },
                tail,
            )),
            Err(RunError::Cancelled) => Err((BuildError::Cancelled, tail)),
            Err(RunError::Exited(status)) => {
                let step = self
                    .tracker
                    .lock()
                    .ok()
                    .and_then(|t| t.failed_step(&self.dockerfile_text));
                Err((
                    BuildError::Failed(Box::new(BuildFailure {
                        builder,
                        status,
                        dockerfile: self.dockerfile_label.clone(),
                        step,
                        tail: tail.clone(),
                    })),
                    tail,
                ))
            }
        }
    }

    /// Best-effort housekeeping (removing an image); never fails the build.
    pub async fn cleanup(&self, invocation: &Invocation) {
        cleanup(invocation).await;
    }

    pub fn context(&self) -> &Path {
        &self.context
    }
}

/// Runs a best-effort command (a failure is only logged at debug level);
/// needs no job, so work that outlives one (see `BuiltImage::settle`) can
/// use it.
pub(crate) async fn cleanup(invocation: &Invocation) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tail = VecDeque::new();
    let mut quiet = |_: &str| {};
    let never = CancellationToken::new();
    if let Err(error) = process::run(invocation, deadline, &never, &mut quiet, &mut tail).await {
        tracing::debug!(?error, command = %invocation.describe(), "cleanup command failed");
    }
}

/// Runs a best-effort query and returns its output lines; `None` when it
/// fails.
pub(crate) async fn query(invocation: &Invocation) -> Option<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut tail = VecDeque::new();
    let mut lines = Vec::new();
    let mut collect = |line: &str| lines.push(line.to_string());
    let never = CancellationToken::new();
    process::run(invocation, deadline, &never, &mut collect, &mut tail)
        .await
        .ok()?;
    Some(lines)
}

/// A name for temporary tags that cannot collide between concurrent builds.
pub(crate) fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{}-{:x}-{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Finds `program` on PATH.
pub(crate) fn find_on_path(program: &str) -> Option<PathBuf> {
    all_on_path(program).into_iter().next()
}

/// Every `program` on PATH, in PATH order, without duplicates.
pub(crate) fn all_on_path(program: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join(program);
            if candidate.is_file() {
                let canonical = candidate.canonicalize().unwrap_or(candidate);
                if !found.contains(&canonical) {
                    found.push(canonical);
                }
            }
        }
    }
    found
}
