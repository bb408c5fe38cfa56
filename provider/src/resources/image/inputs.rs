//! Image inputs resolved against the filesystem: paths, defaults and the
//! fingerprint request.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use imagedeploy_fingerprint as fingerprint;
pub use imagedeploy_fingerprint::DockerfileSource;

use super::args::{BuilderKind, ImageArgs};

pub const DEFAULT_BUILD_TIMEOUT_SECONDS: i64 = 1800;

/// Defaults applied, paths made absolute (relative to the program directory,
/// which is the provider's working directory).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub context: PathBuf,
    pub dockerfile: DockerfileSource,
    pub build_args: BTreeMap<String, String>,
    pub platforms: Vec<String>,
    pub push: bool,
    pub build_on_preview: bool,
    pub timeout: Duration,
    pub builder: BuilderKind,
    pub builder_host: Option<String>,
}

impl Resolved {
    /// The build crate's view of the chosen builder.
    pub fn builder(&self) -> imagedeploy_build::Builder {
        match self.builder {
            BuilderKind::Auto => imagedeploy_build::Builder::Auto,
            BuilderKind::Docker => imagedeploy_build::Builder::Docker {
                host: self.builder_host.clone(),
            },
            BuilderKind::Buildah => imagedeploy_build::Builder::Buildah,
        }
    }
}

/// A relative path resolved against the directory the program runs in
/// (see [`program_dir`]).
pub fn absolute(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        p
    } else {
        match std::env::current_dir() {
            Ok(cwd) => program_dir(&cwd).join(&p),
            Err(_) => p,
        }
    }
}

/// The directory the program runs in, from the provider's working directory.
///
/// The engine starts the provider in the program's main directory, which for
/// a Pulumi project is where the program runs too. SST is the exception: it
/// points Pulumi at `<app>/.sst/platform/sst.config.<ts>.mjs`, so the provider
/// starts in `<app>/.sst/platform`, while the program chdirs to the app root
/// before running the user's config. There, relative paths mean the app root.
pub fn program_dir(cwd: &Path) -> PathBuf {
    let platform = cwd.file_name().is_some_and(|n| n == "platform");
    let sst = cwd
        .parent()
        .and_then(|p| p.file_name())
        .is_some_and(|n| n == ".sst");
    match cwd.parent().and_then(Path::parent) {
        Some(root) if platform && sst => root.to_path_buf(),
        _ => cwd.to_path_buf(),
    }
}

pub fn resolve(args: &ImageArgs) -> Resolved {
    let context = absolute(&args.context.location);
    let dockerfile = match &args.dockerfile {
        Some(d) if d.inline.is_some() => {
            DockerfileSource::Inline(d.inline.clone().unwrap_or_default())
        }
        Some(d) if d.location.is_some() => {
            DockerfileSource::Path(absolute(d.location.as_deref().unwrap_or_default()))
        }
        _ => DockerfileSource::Path(context.join("Dockerfile")),
    };
    let timeout = args
        .build_timeout_seconds
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_BUILD_TIMEOUT_SECONDS);
    Resolved {
        context,
        dockerfile,
        build_args: args.build_args.clone().unwrap_or_default(),
        // One order for the same set: listing the platforms differently is
        // no change.
        platforms: super::platforms::requested(args),
        push: args.push.unwrap_or(true),
        build_on_preview: args.build_on_preview.unwrap_or(true),
        timeout: Duration::from_secs(u64::try_from(timeout).unwrap_or(1800)),
        builder: args
            .builder
            .as_ref()
            .and_then(|b| b.kind)
            .unwrap_or(BuilderKind::Auto),
        builder_host: args.builder.as_ref().and_then(|b| b.host.clone()),
    }
}

impl Resolved {
    /// `builder_platform`: the builder's native platform (see
    /// `imagedeploy_build::resolve_builder`).
    pub fn fingerprint_request(
        &self,
        target: Option<String>,
        builder_platform: Option<String>,
    ) -> fingerprint::Request {
        fingerprint::Request {
            context: self.context.clone(),
            dockerfile: self.dockerfile.clone(),
            target,
            build_args: self.build_args.clone(),
            platforms: self.platforms.clone(),
            builder_platform,
            named_contexts: BTreeMap::new(),
            cache: fingerprint::CacheMode::Default,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_mean_the_program_directory() {
        assert_eq!(program_dir(Path::new("/w/proj")), Path::new("/w/proj"));
        assert_eq!(
            program_dir(Path::new("/w/app/.sst/platform")),
            Path::new("/w/app")
        );
        assert_eq!(
            program_dir(Path::new("/w/app/sst/platform")),
            Path::new("/w/app/sst/platform")
        );
    }
}
