//! The shared build cache (`cache` input): what Check refuses, the
//! `cacheReport` output, and the export that runs after the push.
//!
//! The export never holds up or fails a deploy: it runs only after the image
//! is pushed (its digest is in the outputs either way), only when the policy
//! asks for it, bounded by `exportTimeoutSeconds`, and a failure or time-out
//! becomes a warning and `cacheReport.exportError`. Preview never exports.

use std::time::{Duration, Instant};

use imagedeploy_build as build;
use imagedeploy_registry::{Reference, RegistryClient};

use super::args::{BuildCache, BuilderKind, CacheExport, CacheMode, CacheReport, RebuiltStep};
use crate::resource::{Ctx, Failure};

/// Default of `cache.exportTimeoutSeconds`.
const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(120);

/// Check's failures for the `cache` input, given the explicit builder kind.
/// buildah exports every step it builds (`max`); the Docker engine's inline
/// cache holds the final stage's steps only (`min`). Each builder's mode is
/// its default; the other is refused.
pub fn check(cache: &BuildCache, builder: Option<BuilderKind>, failures: &mut Vec<Failure>) {
    match (builder, cache.mode) {
        (Some(BuilderKind::Docker), Some(CacheMode::Max)) => failures.push(Failure::new(
            "cache.mode",
            "\"max\" is not supported by the Docker engine here: its inline cache holds the final stage only (\"min\"); use \"min\" or leave it out",
        )),
        (Some(BuilderKind::Buildah), Some(CacheMode::Min)) => failures.push(Failure::new(
            "cache.mode",
            "\"min\" is not supported by buildah: it exports every step it builds (\"max\"); use \"max\" or leave it out",
        )),
        _ => {}
    }
    let repositories = cache
        .from
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, r)| (format!("cache.from[{i}]"), r))
        .chain(cache.to.iter().map(|r| ("cache.to".to_string(), r)));
    for (property, repository) in repositories {
        if let Some(problem) = repository_problem(repository) {
            failures.push(Failure::new(property, problem));
        }
    }
    if cache.export == Some(CacheExport::Always) && cache.to.is_none() {
        failures.push(Failure::new(
            "cache.to",
            "cache.export is \"always\" but no repository is given to export to",
        ));
    }
    if let Some(seconds) = cache.export_timeout_seconds {
        if seconds <= 0 {
            failures.push(Failure::new(
                "cache.exportTimeoutSeconds",
                format!("must be a positive number of seconds, got {seconds}"),
            ));
        }
    }
}

/// Why `repository` cannot name a cache repository, if it cannot.
fn repository_problem(repository: &str) -> Option<String> {
    let example = "a repository such as registry.example.com/app-cache";
    match Reference::parse(repository) {
        Err(e) => Some(format!("{repository:?} is not {example}: {e}")),
        Ok(r) if r.tag().is_some() || r.digest().is_some() => Some(format!(
            "{repository:?} names a tag or digest; give {example} (cache images are tagged by the builder)"
        )),
        Ok(_) => None,
    }
}

/// The output form of a build's step report (nothing exported yet).
pub fn report(steps: &build::StepReport) -> CacheReport {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    CacheReport {
        steps: count(steps.steps),
        cached: count(steps.cached),
        rebuilt: count(steps.rebuilt.len()),
        exported: 0,
        export_seconds: 0.0,
        export_error: None,
        rebuilt_steps: steps
            .rebuilt
            .iter()
            .map(|s| RebuiltStep {
                stage: s.stage.and_then(|n| i64::try_from(n).ok()),
                line: s.line.and_then(|n| i64::try_from(n).ok()),
                instruction: s.instruction.clone(),
                seconds: (s.seconds * 10.0).round() / 10.0,
            })
            .collect(),
    }
}

/// Exports the cache of the image `request` just built, when `cache` asks
/// for it; records the outcome in `report`. Never fails.
pub async fn export(
    ctx: &Ctx,
    request: &build::BuildRequest,
    built: &build::BuiltImage,
    client: &RegistryClient,
    cache: Option<&BuildCache>,
    report: &mut CacheReport,
) {
    let Some((cache, to)) = cache.and_then(|c| c.to.as_deref().map(|to| (c, to))) else {
        return;
    };
    let wanted = match cache.export.unwrap_or(CacheExport::OnMiss) {
        CacheExport::Never => false,
        CacheExport::Always => true,
        CacheExport::OnMiss => report.rebuilt > 0,
    };
    if !wanted {
        ctx.info("cache export skipped: every step came from the cache");
        return;
    }
    let limit = cache
        .export_timeout_seconds
        .and_then(|s| u64::try_from(s).ok())
        .map_or(DEFAULT_EXPORT_TIMEOUT, Duration::from_secs);
    let limit = ctx.bound(limit);
    ctx.progress(&format!("exporting the build cache to {to}"));
    let started = Instant::now();
    let outcome = match built.builder {
        build::BuilderKind::Buildah => {
            let mut request = request.clone();
            request.timeout = limit;
            build::export_cache(&request, to, ctx.cancel.clone())
                .await
                .map(|steps| steps.exported)
        }
        // The Docker engine's image carries its inline cache: push it.
        build::BuilderKind::DockerBuildKit | build::BuilderKind::DockerBuildx => {
            push_inline_cache(client, built, to, limit).await
        }
    };
    report.export_seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    match outcome {
        Ok(exported) => {
            report.exported = i64::try_from(exported).unwrap_or(i64::MAX);
            ctx.info(&format!(
                "exported {exported} cache images to {to} in {:.1} s",
                report.export_seconds
            ));
        }
        Err(error) => {
            let reason = match &error {
                build::BuildError::TimedOut { seconds, .. } => {
                    format!("timed out after {seconds} s (cache.exportTimeoutSeconds)")
                }
                other => other.to_string(),
            };
            ctx.warn(&format!(
                "cache export to {to} did not finish: {reason}; the image is pushed and recorded, only the shared cache is not updated"
            ));
            report.export_error = Some(reason);
        }
    }
}

/// Pushes the Docker engine's image, which carries its inline cache, to
/// `<to>:buildcache`, within `limit`.
async fn push_inline_cache(
    client: &RegistryClient,
    built: &build::BuiltImage,
    to: &str,
    limit: Duration,
) -> Result<usize, build::BuildError> {
    let tag = format!("{to}:{}", build::DOCKER_CACHE_TAG);
    let reference = Reference::parse(&tag).map_err(|e| build::BuildError::Export {
        reason: format!("{tag} is not a reference: {e}"),
    })?;
    match tokio::time::timeout(limit, client.push_layout(built.layout_dir(), &[reference])).await {
        Ok(Ok(_)) => Ok(1),
        Ok(Err(e)) => Err(build::BuildError::Export {
            reason: e.to_string(),
        }),
        Err(_) => Err(build::BuildError::TimedOut {
            seconds: limit.as_secs(),
            tail: Vec::new(),
        }),
    }
}
