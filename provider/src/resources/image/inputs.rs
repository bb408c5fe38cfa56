//! Image inputs resolved against the filesystem: paths, defaults and the
//! fingerprint request.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use imagedeploy_fingerprint as fingerprint;
pub use imagedeploy_fingerprint::DockerfileSource;

use super::args::{BaseImagePolicy, BuilderKind, ImageArgs};

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
    pub policy: BaseImagePolicy,
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

pub fn absolute(path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    if p.is_absolute() {
        p
    } else {
        std::env::current_dir().map(|cwd| cwd.join(&p)).unwrap_or(p)
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
        platforms: args.platforms.clone().unwrap_or_default(),
        push: args.push.unwrap_or(true),
        build_on_preview: args.build_on_preview.unwrap_or(true),
        timeout: Duration::from_secs(u64::try_from(timeout).unwrap_or(1800)),
        builder: args
            .builder
            .as_ref()
            .and_then(|b| b.kind)
            .unwrap_or(BuilderKind::Auto),
        builder_host: args.builder.as_ref().and_then(|b| b.host.clone()),
        policy: args.base_images.unwrap_or(BaseImagePolicy::Follow),
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
