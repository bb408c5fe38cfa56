//! What to build and with which builder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use imagedeploy_fingerprint::Fingerprint;

/// The default for `buildTimeoutSeconds`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

pub use imagedeploy_fingerprint::DockerfileSource;

/// Which builder runs the build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Builder {
    /// The Docker engine when one answers, else buildah.
    #[default]
    Auto,
    /// The Docker engine with BuildKit; `host` is a DOCKER_HOST (default: the environment's).
    Docker { host: Option<String> },
    /// buildah, daemonless and reproducible.
    Buildah,
}

/// Where the builder takes base images from (`--pull`). After the `FROM`
/// lines are pinned by digest, the local store's match is exact.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PullPolicy {
    /// The locally stored image when it has the digest; pull otherwise.
    #[default]
    Missing,
    /// Pull every base image.
    Always,
    /// Only the local store; fail when an image is not there.
    Never,
}

impl PullPolicy {
    /// The value of buildah's `--pull=` flag.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Always => "always",
            Self::Never => "never",
        }
    }
}

/// One image build.
#[derive(Clone, Debug)]
pub struct BuildRequest {
    pub context: PathBuf,
    /// The Dockerfile; a relative path is relative to `context`.
    pub dockerfile: DockerfileSource,
    pub build_args: BTreeMap<String, String>,
    /// Names of `build_args` whose values are secret: passed to the builder
    /// through its environment, never on its command line, and masked in
    /// its output. (An ARG value still lands in the image history; build
    /// secrets belong in `secrets`.)
    pub secret_build_args: BTreeSet<String>,
    pub target: Option<String>,
    /// `os/arch[/variant]`; default the builder's native platform.
    pub platform: Option<String>,
    pub labels: BTreeMap<String, String>,
    /// Secret id -> value, for `RUN --mount=type=secret,id=...`.
    pub secrets: BTreeMap<String, String>,
    pub no_cache: bool,
    /// Longest the whole build (including export) may take.
    pub timeout: Duration,
    pub builder: Builder,
    /// `FROM` reference as written -> reference to build from instead
    /// (normally the same image pinned as `repo@sha256:...`).
    pub base_image_overrides: BTreeMap<String, String>,
    /// Where base images come from.
    pub pull: PullPolicy,
    /// Registries (`host[:port]`) reached over plain HTTP. Loopback
    /// registries always are.
    pub insecure_registries: Vec<String>,
    /// Credentials the builder needs to pull base images, by registry host
    /// (as written in references). Written to a private auth file.
    pub registry_auth: BTreeMap<String, imagedeploy_registry::Credentials>,
    /// Layer compression of the exported image.
    pub compression: Compression,
    /// buildah only: a private storage directory instead of the system's
    /// (`--root`/`--runroot`). Mostly for tests and isolated CI jobs.
    pub buildah_storage: Option<PathBuf>,
    /// The fingerprint this build must match (computed from the same
    /// inputs). The builder gets exactly its files, normalised (see
    /// `imagedeploy_fingerprint::stage`), and its Dockerfile text. `None`:
    /// fingerprinted here, just before staging.
    pub fingerprint: Option<Arc<Fingerprint>>,
    /// Registry repositories (`host/repository`) whose cache a build may
    /// take steps from: buildah's cache images (`--cache-from`), or for the
    /// Docker engine the inline cache of the image tagged
    /// [`crate::DOCKER_CACHE_TAG`] there.
    pub cache_from: Vec<String>,
    /// Docker engine only: build with BuildKit's inline cache, so the image
    /// itself carries its cache metadata (pushed to a cache repository under
    /// [`crate::DOCKER_CACHE_TAG`] afterwards).
    pub inline_cache: bool,
    /// Set by [`crate::export_cache`] only: the repository the build pushes
    /// its cache images to (`--cache-to`) instead of exporting an image.
    pub(crate) cache_to: Option<String>,
}

impl BuildRequest {
    /// A request for `<context>/Dockerfile` with every other setting at its default.
    pub fn new(context: impl Into<PathBuf>) -> Self {
        Self {
            context: context.into(),
            dockerfile: DockerfileSource::Path(PathBuf::from("Dockerfile")),
            build_args: BTreeMap::new(),
            secret_build_args: BTreeSet::new(),
            target: None,
            platform: None,
            labels: BTreeMap::new(),
            secrets: BTreeMap::new(),
            no_cache: false,
            timeout: DEFAULT_TIMEOUT,
            builder: Builder::Auto,
            base_image_overrides: BTreeMap::new(),
            pull: PullPolicy::Missing,
            insecure_registries: Vec::new(),
            registry_auth: BTreeMap::new(),
            compression: Compression::Gzip,
            buildah_storage: None,
            fingerprint: None,
            cache_from: Vec::new(),
            inline_cache: false,
            cache_to: None,
        }
    }

    /// The variables `FROM` lines see: the automatic platform args (target
    /// `platform` or the builder's own `build_platform`), then the build args
    /// (which win), as the fingerprint plans a build, so pinned references
    /// match the ones it listed.
    pub fn dockerfile_args(&self, build_platform: &str) -> BTreeMap<String, String> {
        let target = self.platform.as_deref().unwrap_or(build_platform);
        let mut args = imagedeploy_fingerprint::dockerfile::automatic_args(target, build_platform);
        args.extend(self.build_args.clone());
        args
    }

    /// The fingerprint request for this build on a builder whose native
    /// platform is `build_platform`.
    pub fn fingerprint_request(&self, build_platform: &str) -> imagedeploy_fingerprint::Request {
        let mut request = imagedeploy_fingerprint::Request::new(&self.context);
        request.dockerfile = match self.dockerfile_path() {
            Some(path) => DockerfileSource::Path(path),
            None => self.dockerfile.clone(),
        };
        request.target = self.target.clone();
        request.build_args = self.build_args.clone();
        request.platforms = self.platform.iter().cloned().collect();
        request.builder_platform = Some(build_platform.to_string());
        request
    }

    /// The Dockerfile's path when it is a file.
    pub fn dockerfile_path(&self) -> Option<PathBuf> {
        match &self.dockerfile {
            DockerfileSource::Path(path) if path.is_absolute() => Some(path.clone()),
            DockerfileSource::Path(path) => Some(self.context.join(path)),
            DockerfileSource::Inline(_) => None,
        }
    }
}

/// Which builder actually ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuilderKind {
    Buildah,
    /// `DOCKER_BUILDKIT=1 docker build` (engines without buildx).
    DockerBuildKit,
    /// `docker buildx build`.
    DockerBuildx,
}

/// Layer compression of the exported image. The content digest does not
/// depend on it; the manifest digest does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    #[default]
    Gzip,
    /// buildah compresses with zstd on export; other builders' gzip or
    /// uncompressed layers are recompressed.
    Zstd,
}

impl BuilderKind {
    /// Whether the same inputs give the same manifest digest.
    pub fn reproducible(self) -> bool {
        matches!(self, Self::Buildah)
    }
}

/// A finished build: an OCI image layout in a temporary directory that is
/// deleted when this value is dropped.
#[derive(Debug)]
pub struct BuiltImage {
    pub(crate) dir: tempfile::TempDir,
    /// The manifest digest; a push of this layout yields exactly this digest.
    pub manifest_digest: imagedeploy_registry::Digest,
    /// `os/arch[/variant]` of the image.
    pub platform: String,
    pub builder: BuilderKind,
    pub duration: Duration,
    /// Each pinned base image (`base_image_overrides` values) and whether
    /// the builder's local store had it before the build. Empty when the
    /// builder's store cannot be inspected (BuildKit keeps its own).
    pub base_images: Vec<crate::local::BaseImageUse>,
    /// Which steps came from a cache and which ran again.
    pub steps: crate::cache::StepReport,
    /// The builder store's bookkeeping after the export (buildah: removing
    /// the previous build's chain of steps, naming base images by tag). It
    /// runs while the caller reads and pushes the layout;
    /// [`BuiltImage::settle`] waits for it.
    pub(crate) settling: Option<tokio::task::JoinHandle<()>>,
}

impl BuiltImage {
    /// The OCI image layout directory (input to `push_layout` and `content_digest`).
    pub fn layout_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Waits until the builder's store is settled after this build (see
    /// `settling`). Call it before reporting the build done, also after an
    /// error: a process that exits earlier leaves the previous chain of
    /// steps in the store. Dropping an unsettled image lets the work go on
    /// in the background.
    pub async fn settle(&mut self) {
        if let Some(settling) = self.settling.take() {
            let _ = settling.await;
        }
    }
}
