//! Inputs and outputs of `imagedeploy:index:Image`.
//!
//! Names follow pulumi-docker-build where it has one, so switching is a
//! rename of the type, not of every property.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Builds an image from a Dockerfile, pushes it, and outputs its digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageArgs {
    /// The build context: the directory the Dockerfile's COPY and ADD read from.
    /// Example: `{ location: "./app" }`.
    pub context: BuildContext,
    /// The Dockerfile: a path (`location`) or its text (`inline`).
    /// Default: `<context>/Dockerfile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<Dockerfile>,
    /// Build-time variables (`--build-arg`). Only arguments the Dockerfile
    /// declares with `ARG` in a stage the build reaches can change the image,
    /// so only those count towards the fingerprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_args: Option<BTreeMap<String, String>>,
    /// The stage to build (`--target`). Default: the last stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The platform to build for, as a one-element list, e.g. `["linux/amd64"]`.
    /// Default: the builder's native platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
    /// Labels to set on the image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Image references to push to, `registry/repository:tag`. The first one
    /// names the repository of the `ref` output. Required when `push` is true.
    /// Example: `["123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Push the image to `tags`. Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<bool>,
    /// Credentials for registries. ECR registries need none: credentials come
    /// from ECR's GetAuthorizationToken with the provider's AWS settings.
    /// Others fall back to the Docker config file, then anonymous access.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registries: Option<Vec<RegistryAuth>>,
    /// Build secrets by id, for `RUN --mount=type=secret,id=<id>`. Values are
    /// secret: they never appear in logs or in plain-text state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("secret" = true))]
    pub secrets: Option<BTreeMap<String, String>>,
    /// Build during preview so preview shows the exact new digest. The image is
    /// never pushed during preview. Default: true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_on_preview: Option<bool>,
    /// Build without the builder's layer cache. Default: false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_cache: Option<bool>,
    /// Fail a build that takes longer than this many seconds. Default: 1800.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_timeout_seconds: Option<i64>,
    /// Which builder runs the build. Default: `{ kind: "auto" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder: Option<BuilderSpec>,
    /// How base images (`FROM` tags) are treated. `follow` (default) resolves
    /// every tag to its current digest at each preview and up, so a moved tag
    /// is a change; `pinned` keeps the digests recorded in state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_images: Option<BaseImagePolicy>,
    /// Limits on the built image's size, checked on every build (in preview
    /// too when `buildOnPreview` is on), before anything is pushed.
    /// Example: `{ maxBytes: 200000000, maxNewBytes: 20000000, action: "fail" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_budget: Option<SizeBudget>,
    /// Layer compression of the pushed image: `gzip` (default) or `zstd`
    /// (smaller and faster to unpack; Fargate pulls zstd layers). The
    /// content digest does not depend on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
    /// Where the builder takes base images from. `missing` (default) uses the
    /// image in the builder's local store when its digest is the one resolved
    /// (matched by digest, never by tag) and pulls it otherwise; `always`
    /// pulls every base image; `never` builds only from the local store
    /// (offline) and fails at preview when a base image is not there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_image_pull: Option<BaseImagePull>,
    /// When a `FROM` tag is resolved again from its registry. Without it,
    /// every preview and up resolves (with `baseImages: follow`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_image_refresh: Option<BaseImageRefresh>,
    /// A build cache shared through a registry, so that a machine that
    /// starts empty (a CI runner) takes unchanged steps from it. Default: no
    /// shared cache, only the builder's local one. buildah pushes cache
    /// images; the Docker engine pushes its image, which carries BuildKit's
    /// inline cache, under the repository's `buildcache` tag.
    /// Example: `{ from: ["registry.example.com/app-cache"], to: "registry.example.com/app-cache" }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<BuildCache>,
    /// Internal, set by Check (which the engine calls only in preview and
    /// up): what these inputs resolved to on the machine then. Diff compares
    /// it with the state instead of looking at the machine, so refresh,
    /// destroy and import need neither the sources nor the registry.
    #[serde(
        rename = "__observed",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(skip)]
    pub observed: Option<ObservedInputs>,
}

/// What Check observed: the fingerprint digest and each `FROM` digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservedInputs {
    pub context_hash: String,
    #[serde(default)]
    pub base_image_digests: BTreeMap<String, String>,
    /// When and where each digest was resolved (absent in older states).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub base_image_resolutions: BTreeMap<String, BaseImageResolution>,
}

/// Where base images come from when building (`baseImagePull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BaseImagePull {
    /// Use the locally stored image with the resolved digest; pull it when it is not there.
    Missing,
    /// Pull every base image at each build.
    Always,
    /// Only the local store: never contact a registry for base images.
    Never,
}

/// When `FROM` tags are resolved again (`baseImageRefresh`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaseImageRefresh {
    /// Resolve a tag from its registry only when its recorded resolution is
    /// older than this many seconds; until then the recorded digest is used
    /// without any network call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval_seconds: Option<i64>,
    /// Any string; changing it resolves every tag from its registry now
    /// (an explicit refresh), whatever the interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<String>,
}

/// How one `FROM` reference was resolved to a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BaseImageResolution {
    /// The manifest digest, `sha256:...`.
    pub digest: String,
    /// When the digest was resolved, RFC 3339 in UTC (`2026-01-31T12:00:00Z`).
    pub resolved_at: String,
    /// Where it came from: `registry` (asked the registry), `local` (the
    /// builder's local store) or `state` (recorded earlier and kept: pinned,
    /// within the refresh interval, or the registry was unreachable).
    pub source: ResolutionSource,
}

/// Where a base image digest came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ResolutionSource {
    /// Resolved from the image's registry.
    Registry,
    /// Resolved from the builder's local image store.
    Local,
    /// Recorded by an earlier preview or up and kept.
    State,
}

/// A build context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildContext {
    /// Path to the context directory. A relative path means the directory the
    /// program runs in (the SDKs make it absolute there; in Pulumi YAML, the
    /// project directory).
    #[schemars(extend("localPath" = true))]
    pub location: String,
    /// Set by Check, never by the program: the files the build reads, in the
    /// form `pulumi preview --diff` prints. See [`super::shown`].
    #[serde(flatten)]
    #[schemars(skip)]
    pub shown: super::shown::ContextShown,
}

/// Where the Dockerfile comes from: exactly one of `location` or `inline`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Dockerfile {
    /// Path to the Dockerfile. Example: `./app/Dockerfile.prod`. A relative
    /// path means the directory the program runs in, as for `context.location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("localPath" = true))]
    pub location: Option<String>,
    /// The Dockerfile's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline: Option<String>,
    /// Set by Check, never by the program: the instructions that count and
    /// the digest of each `FROM`, in the form `pulumi preview --diff` prints.
    #[serde(flatten)]
    #[schemars(skip)]
    pub shown: super::shown::DockerfileShown,
}

/// Credentials for one registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryAuth {
    /// Registry host, e.g. `ghcr.io` or `registry.example.com:5000`.
    pub address: String,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Password or token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("secret" = true))]
    pub password: Option<String>,
}

/// Which builder runs the build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuilderSpec {
    /// `auto` (default) uses the Docker engine when one answers, else buildah.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<BuilderKind>,
    /// For `docker`: the engine to use, as a DOCKER_HOST value, e.g.
    /// `ssh://builder@big-machine` or `tcp://10.0.0.5:2376`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// The builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BuilderKind {
    /// The Docker engine if one answers, else buildah.
    Auto,
    /// The Docker engine with BuildKit.
    Docker,
    /// buildah, daemonless.
    Buildah,
}

/// Limits on the built image's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SizeBudget {
    /// Largest compressed size (layers, config and manifest: what a new task
    /// pulls), in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<i64>,
    /// Most compressed bytes of layers the registry does not have yet (what
    /// this deploy adds), in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_new_bytes: Option<i64>,
    /// `warn` (default) logs a warning; `fail` fails the preview or update
    /// before anything is pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<BudgetAction>,
}

/// What an exceeded `sizeBudget` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BudgetAction {
    /// Log a warning.
    Warn,
    /// Fail the preview or update.
    Fail,
}

/// A build cache shared through a registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BuildCache {
    /// Repositories (`host/repository`, no tag) whose cache images a build
    /// may take unchanged steps from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Vec<String>>,
    /// The repository the cache images of a build are pushed to, after the
    /// image itself is pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Which steps are exported: `max` (every step of every stage built:
    /// buildah's cache images, its default) or `min` (the final stage only:
    /// the Docker engine's inline cache, its default). Each builder refuses
    /// the other at Check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<CacheMode>,
    /// When the cache is exported: `onMiss` (default: only when some step
    /// ran again), `always`, or `never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export: Option<CacheExport>,
    /// Longest an export may take, in seconds (default 120). An export
    /// that fails or takes longer is a warning, never a failed update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_timeout_seconds: Option<i64>,
}

/// Which steps a cache export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CacheMode {
    /// The final stage's steps only.
    Min,
    /// Every step of every stage built.
    Max,
}

/// When a cache export runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CacheExport {
    /// Only when some step ran again.
    OnMiss,
    /// After every build.
    Always,
    /// Never: only read the cache.
    Never,
}

/// The media type and size of a platform's manifest (its digest is in
/// `platformDigests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformManifest {
    pub media_type: String,
    pub size: u64,
}

/// The cache's share of the last build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CacheReport {
    /// Steps that build something (every instruction but `FROM`).
    pub steps: i64,
    /// Of those, taken from a cache (the local one or `cache.from`).
    pub cached: i64,
    /// Of those, run again.
    pub rebuilt: i64,
    /// Cache images the export pushed (0 when none ran).
    pub exported: i64,
    /// How long the export took, in seconds.
    pub export_seconds: f64,
    /// Why the export failed or was cut short, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub export_error: Option<String>,
    /// The steps that ran again.
    pub rebuilt_steps: Vec<RebuiltStep>,
}

/// A build step that ran again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RebuiltStep {
    /// 0-based stage index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<i64>,
    /// 1-based Dockerfile line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<i64>,
    /// The instruction.
    pub instruction: String,
    /// How long it ran.
    pub seconds: f64,
}

/// Layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Compression {
    /// gzip, which every registry and runtime reads.
    Gzip,
    /// zstd: smaller layers that unpack faster.
    Zstd,
}

/// One layer of the built image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageLayer {
    /// Digest of the compressed layer blob.
    pub digest: String,
    /// Digest of the uncompressed layer (the same whatever the compression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Compressed bytes: what a new task pulls.
    pub size_bytes: i64,
    /// Uncompressed bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncompressed_bytes: Option<i64>,
    /// The Dockerfile instruction that made the layer; absent for the base
    /// image's layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    /// The instruction's Dockerfile line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<i64>,
    /// The instruction's stage (its name, or its index when unnamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Whether the layer was new in this build (the registry did not have it).
    pub new: bool,
}

/// How `FROM` tags are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum BaseImagePolicy {
    /// Resolve tags to their current digests at every preview and up.
    Follow,
    /// Keep the digests recorded in state.
    Pinned,
}

/// Outputs of an Image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageState {
    #[serde(flatten)]
    pub args: ImageArgs,
    /// The pushed manifest digest, `sha256:...`.
    pub digest: String,
    /// `<first tag's repository>@<digest>`: use this in task definitions.
    #[serde(rename = "ref")]
    pub reference: String,
    /// Identity of the image's content (layer files, modes, link targets and
    /// runtime config, not timestamps or build metadata). When a rebuild gives
    /// the same content digest, nothing is pushed and `digest` stays as it was.
    pub content_digest: String,
    /// Fingerprint of exactly what the Dockerfile can see of the context.
    pub context_hash: String,
    /// Digest each `FROM` reference resolved to for this build.
    pub base_image_digests: BTreeMap<String, String>,
    /// For each `FROM` tag in `baseImageDigests`: when its digest was
    /// resolved and where from. References already pinned by digest in the
    /// Dockerfile are not listed.
    #[serde(default)]
    pub base_image_resolutions: BTreeMap<String, BaseImageResolution>,
    /// Compressed size of the image's layers, config and manifest in bytes:
    /// what a new task pulls.
    pub size_bytes: i64,
    /// Uncompressed size of the image's layers in bytes (0 when unknown, as
    /// for an imported image).
    #[serde(default)]
    pub uncompressed_bytes: i64,
    /// The image's layers, base image first: sizes, the Dockerfile
    /// instruction that made each and whether it was new in this build.
    #[serde(default, deserialize_with = "layers_or_count")]
    pub layers: Vec<ImageLayer>,
    /// Platform of the image, e.g. `linux/amd64`. For a multi-platform
    /// image: the first platform in index order, which `sizeBytes`,
    /// `uncompressedBytes` and `layers` describe.
    pub platform: String,
    /// Multi-platform images: each platform's manifest digest, e.g.
    /// `{"linux/amd64": "sha256:...", "linux/arm64": "sha256:..."}` (`digest`
    /// and `ref` are the index's). Empty for a single-platform image.
    #[serde(default)]
    pub platform_digests: BTreeMap<String, String>,
    /// Multi-platform images: each platform's content digest (`contentDigest`
    /// is their combination). Empty for a single-platform image.
    #[serde(default)]
    pub platform_content_digests: BTreeMap<String, String>,
    /// Multi-platform images: the key of each platform's last build (its
    /// own fingerprint, base images and build settings); a platform whose
    /// key is unchanged is not built again. Internal: not in the schema.
    #[serde(
        rename = "__platformInputs",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    #[schemars(skip)]
    pub platform_inputs: BTreeMap<String, String>,
    /// Multi-platform images: what the index lists for each platform's
    /// manifest besides its digest, so an index can name a manifest that was
    /// not built again without asking the registry. Internal: not in the
    /// schema.
    #[serde(
        rename = "__platformManifests",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    #[schemars(skip)]
    pub platform_manifests: BTreeMap<String, PlatformManifest>,
    /// The fingerprint's file list, kept so the next preview can say which
    /// files changed. Internal: not part of the schema, and `__`-prefixed so
    /// the Pulumi CLI does not print it (the old plain name is still read).
    #[serde(
        rename = "__contextManifest",
        alias = "contextManifest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(skip)]
    pub context_manifest: Option<imagedeploy_fingerprint::Manifest>,
    /// Which steps of the last build came from a cache, which ran again, and
    /// what the cache export pushed. Absent when no build ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_report: Option<CacheReport>,
}

/// `layers` was a count before it was a list: a state written then reads
/// as an empty list (the next build fills it in).
fn layers_or_count<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<ImageLayer>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        List(Vec<ImageLayer>),
        Count(serde::de::IgnoredAny),
    }
    Ok(match Either::deserialize(deserializer)? {
        Either::List(layers) => layers,
        Either::Count(_) => Vec::new(),
    })
}
