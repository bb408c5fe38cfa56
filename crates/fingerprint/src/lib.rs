//! Fingerprint of exactly what a Dockerfile can see.
//!
//! Whole-context hashes change on README edits, umask differences and fresh
//! checkouts. This crate parses the Dockerfile, follows only the stages the
//! build can reach, and hashes only the context files those stages copy, so
//! the fingerprint changes exactly when the build's inputs do.

pub mod cli;
pub mod dockerfile;
mod explain;
mod glob;
mod hash;
pub mod ignore;
pub mod manifest;
mod pathclean;
// The one fenced room for `unsafe` besides `hash::mapped`: SHA-NI lanes
// behind the safe `sha256::compress`/`compress_pair`.
#[allow(unsafe_code)]
pub mod sha256;
mod sources;
pub mod stage;
pub mod statcache;
mod tree;
pub mod userfile;

pub use explain::{explain, notes};
pub use manifest::{EntryType, FileEntry, Inputs, Manifest, UnhashableInput};

use dockerfile::{BuildPlan, SourceKind};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use tree::{Kind, Tree};

/// Where the Dockerfile comes from: the one definition for the whole
/// provider (the build request uses it too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerfileSource {
    /// A file. A fingerprint [`Request`] reads a relative path from the
    /// current directory; a build request from its context directory.
    Path(PathBuf),
    /// Dockerfile text given directly.
    Inline(String),
}

/// Where the stat cache lives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheMode {
    /// The user's cache directory (`$XDG_CACHE_HOME` or `~/.cache`).
    #[default]
    Default,
    /// Always read every file.
    Disabled,
    /// A specific cache root directory.
    Dir(PathBuf),
}

/// What to fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub context: PathBuf,
    pub dockerfile: DockerfileSource,
    pub target: Option<String>,
    pub build_args: BTreeMap<String, String>,
    pub platforms: Vec<String>,
    /// The builder's native platform (`BUILDPLATFORM`, and `TARGETPLATFORM`
    /// when `platforms` is empty); `None`: this machine's.
    pub builder_platform: Option<String>,
    /// Extra local directories the Dockerfile can name (`FROM name`,
    /// `COPY --from=name`); hashed whole when referenced.
    pub named_contexts: BTreeMap<String, PathBuf>,
    pub cache: CacheMode,
}

impl Request {
    /// A request for `<context>/Dockerfile` with no options.
    pub fn new(context: impl Into<PathBuf>) -> Request {
        let context = context.into();
        Request {
            dockerfile: DockerfileSource::Path(context.join("Dockerfile")),
            context,
            target: None,
            build_args: BTreeMap::new(),
            platforms: Vec::new(),
            builder_platform: None,
            named_contexts: BTreeMap::new(),
            cache: CacheMode::Default,
        }
    }

    /// The builder's native platform (see `builder_platform`).
    pub fn build_platform(&self) -> String {
        self.builder_platform
            .clone()
            .unwrap_or_else(dockerfile::host_platform)
    }

    /// The platforms the build produces: `platforms`, or the builder's own.
    pub fn target_platforms(&self) -> Vec<String> {
        if self.platforms.is_empty() {
            vec![self.build_platform()]
        } else {
            self.platforms.clone()
        }
    }
}

/// The result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// `sha256:<64 hex>`.
    pub digest: String,
    pub manifest: Manifest,
    /// External images the build pulls, as written (tags unresolved).
    pub base_images: Vec<String>,
    /// Secret ids the build mounts.
    pub secret_ids: BTreeSet<String>,
    pub stats: Stats,
    /// The Dockerfile text that was planned (the build must use this text,
    /// not a later read of the file).
    pub dockerfile_text: String,
    /// Where each selected entry was read: path as the build names it ->
    /// absolute path (after following a top-level symlink). `stage` reads
    /// from here.
    pub sources: BTreeMap<String, PathBuf>,
    /// Per platform that a reachable `RUN` executes on (over every target
    /// platform's plan), the first such `RUN`: the machine must run that
    /// platform's programs, natively or by emulation (see
    /// [`dockerfile::BuildPlan::run_platforms`]). Not part of the digest.
    pub run_platforms: BTreeMap<String, dockerfile::PlannedRun>,
}

/// What the run did (for progress messages and benchmarks).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Regular files in the selection.
    pub files: usize,
    /// Files whose contents were read (the rest came from the stat cache).
    pub files_read: usize,
    /// Total size of the selected regular files.
    pub bytes: u64,
}

/// Everything that can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("build context {path}: {source}")]
    Context {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("build context {0} is not a directory")]
    ContextNotDirectory(PathBuf),
    #[error("Dockerfile {path} {source}")]
    ReadDockerfile {
        path: PathBuf,
        #[source]
        source: userfile::UserFileError,
    },
    #[error("{dockerfile}: {source}")]
    Parse {
        dockerfile: String,
        #[source]
        source: dockerfile::ParseError,
    },
    #[error("{dockerfile}: {source}")]
    Plan {
        dockerfile: String,
        #[source]
        source: dockerfile::PlanError,
    },
    #[error(transparent)]
    Ignore(#[from] ignore::IgnoreError),
    #[error(transparent)]
    Source(#[from] sources::SourceError),
    #[error(transparent)]
    Read(#[from] hash::HashError),
    #[error(transparent)]
    Walk(#[from] tree::TreeError),
    #[error("named context {name}: {source}")]
    NamedContext {
        name: String,
        #[source]
        source: Box<Error>,
    },
}

/// Computes the fingerprint of a build.
pub fn fingerprint(req: &Request) -> Result<Fingerprint, Error> {
    let started_ns = now_ns();
    let context = std::fs::canonicalize(&req.context).map_err(|source| Error::Context {
        path: req.context.clone(),
        source,
    })?;
    if !context.is_dir() {
        return Err(Error::ContextNotDirectory(req.context.clone()));
    }
    let (text, dockerfile_path, dockerfile_name) = match &req.dockerfile {
        DockerfileSource::Path(p) => {
            let text = userfile::read_text(p, userfile::DOCKERFILE_LIMIT).map_err(|source| {
                Error::ReadDockerfile {
                    path: p.clone(),
                    source,
                }
            })?;
            let name = p.display().to_string();
            (text, Some(p.clone()), name)
        }
        DockerfileSource::Inline(text) => (text.clone(), None, "Dockerfile (inline)".to_string()),
    };
    let parsed = dockerfile::parse(&text).map_err(|source| Error::Parse {
        dockerfile: dockerfile_name.clone(),
        source,
    })?;
    let plan = plan_all(&parsed, req).map_err(|source| Error::Plan {
        dockerfile: dockerfile_name.clone(),
        source,
    })?;

    let rules = ignore::load(&context, dockerfile_path.as_deref())?;
    let cache = LoadedCache::load(&context, &req.cache);
    let tree = Tree::new(&context, &rules.matcher, !cache.old.is_empty());
    let mut selected = Vec::new();
    let mut unhashable: Vec<UnhashableInput> = plan
        .unhashable
        .iter()
        .map(|u| UnhashableInput {
            line: u.line,
            instruction: u.instruction.clone(),
            reason: u.reason.clone(),
        })
        .collect();
    for cs in &plan.context_sources {
        let spec = sources::SourceSpec {
            line: cs.line,
            instruction: &cs.instruction,
            sources: &cs.sources,
            excludes: &cs.excludes,
            parents: cs.parents,
        };
        selected.extend(sources::resolve(&tree, &spec)?);
        if cs.kind == SourceKind::BindMount {
            for s in &cs.sources {
                unhashable.push(UnhashableInput {
                    line: cs.line,
                    instruction: cs.instruction.clone(),
                    reason: format!(
                        "bind mount of context path {s:?}: the command may read any of it, so the whole bound path is hashed"
                    ),
                });
            }
        }
    }
    selected
        .sort_unstable_by(|a, b| (&a.display, &a.real, a.kind).cmp(&(&b.display, &b.real, b.kind)));
    selected.dedup_by(|a, b| a.display == b.display && a.real == b.real && a.kind == b.kind);

    let (files, stats) = hash_selection(&selected, &cache, started_ns)?;

    let mut named_contexts = BTreeMap::new();
    for (name, dir) in &req.named_contexts {
        if plan.base_images.iter().any(|b| b == name) {
            let digest = named_context_digest(dir, &req.cache, started_ns).map_err(|e| {
                Error::NamedContext {
                    name: name.clone(),
                    source: Box::new(e),
                }
            })?;
            named_contexts.insert(name.clone(), digest);
        }
    }

    // A value equal to the declared default builds the same image as no
    // value at all, so it is left out.
    let build_args: BTreeMap<String, String> = req
        .build_args
        .iter()
        .filter(|(k, _)| plan.declared_args.contains(*k) && !plan.default_valued_args.contains(*k))
        .map(|(k, v)| (k.clone(), manifest::sha256_ref(v.as_bytes())))
        .collect();
    let unused_build_args = req
        .build_args
        .keys()
        .filter(|k| !plan.declared_args.contains(*k))
        .cloned()
        .collect();
    let inputs = Inputs {
        format: manifest::FORMAT,
        dockerfile: dockerfile_path.map(|p| p.display().to_string()),
        ignore_file: rules.source.map(|p| {
            p.strip_prefix(&context)
                .map_or_else(|_| p.display().to_string(), |r| r.display().to_string())
        }),
        instructions: plan
            .instructions
            .iter()
            .map(|i| manifest::Instruction {
                line: i.line,
                text: i.text.clone(),
            })
            .collect(),
        build_args,
        unused_build_args,
        target: plan.target.clone(),
        platforms: req.platforms.clone(),
        builder_platform: uses_platform_args(&plan).then(|| req.build_platform()),
        named_contexts,
        base_images: plan.base_images.clone(),
    };
    let manifest = Manifest::new(files, inputs, unhashable);
    let sources = selected.into_iter().map(|s| (s.display, s.abs)).collect();
    Ok(Fingerprint {
        digest: manifest.fingerprint.clone(),
        manifest,
        base_images: plan.base_images,
        secret_ids: plan.secret_ids,
        stats,
        dockerfile_text: text,
        sources,
        run_platforms: plan.run_platforms,
    })
}

/// Whether the reachable instructions can see an automatic platform arg
/// (declared in a stage, or named in a `FROM` line or a global `ARG`): only
/// then does the builder's platform count.
fn uses_platform_args(plan: &BuildPlan) -> bool {
    dockerfile::AUTOMATIC_ARGS.iter().any(|name| {
        plan.declared_args.contains(*name)
            || plan.instructions.iter().any(|i| i.text.contains(name))
    })
}

/// Plans once per platform (the automatic `TARGET*` args differ) and merges
/// what each platform's build reads.
fn plan_all(
    df: &dockerfile::Dockerfile,
    req: &Request,
) -> Result<BuildPlan, dockerfile::PlanError> {
    let build_platform = req.build_platform();
    let mut merged: Option<BuildPlan> = None;
    for platform in &req.target_platforms() {
        let mut args = dockerfile::automatic_args(platform, &build_platform);
        args.extend(req.build_args.iter().map(|(k, v)| (k.clone(), v.clone())));
        let plan = dockerfile::plan(df, req.target.as_deref(), &args)?;
        match &mut merged {
            None => merged = Some(plan),
            Some(m) => {
                for cs in plan.context_sources {
                    if !m.context_sources.contains(&cs) {
                        m.context_sources.push(cs);
                    }
                }
                for u in plan.unhashable {
                    if !m.unhashable.contains(&u) {
                        m.unhashable.push(u);
                    }
                }
                for b in plan.base_images {
                    if !m.base_images.contains(&b) {
                        m.base_images.push(b);
                    }
                }
                m.declared_args.extend(plan.declared_args);
                m.secret_ids.extend(plan.secret_ids);
                for (platform, run) in plan.run_platforms {
                    let known = m.run_platforms.entry(platform).or_insert(run.clone());
                    if run.line < known.line {
                        *known = run;
                    }
                }
                // Default-valued only if it is for every platform.
                m.default_valued_args
                    .retain(|a| plan.default_valued_args.contains(a));
            }
        }
    }
    merged.ok_or_else(unreachable_plan)
}

fn unreachable_plan() -> dockerfile::PlanError {
    dockerfile::PlanError::TargetNotFound {
        target: String::new(),
        stages: Vec::new(),
    }
}

/// A context's stat cache as loaded before walking it.
struct LoadedCache {
    file: Option<PathBuf>,
    old: statcache::StatCache,
}

impl LoadedCache {
    fn load(context: &Path, mode: &CacheMode) -> LoadedCache {
        let file = match mode {
            CacheMode::Disabled => None,
            CacheMode::Default => {
                statcache::default_root().map(|r| statcache::file_for(&r, context))
            }
            CacheMode::Dir(root) => Some(statcache::file_for(root, context)),
        };
        let old = file
            .as_deref()
            .map(statcache::StatCache::load)
            .unwrap_or_default();
        LoadedCache { file, old }
    }
}

/// Hashes the selection with the stat cache; returns manifest entries.
fn hash_selection(
    selected: &[sources::Selected],
    cache: &LoadedCache,
    started_ns: i64,
) -> Result<(Vec<FileEntry>, Stats), Error> {
    let LoadedCache {
        file: cache_file,
        old,
    } = cache;
    let hashed = hash::hash_all(selected, old, started_ns)?;

    let mut stats = Stats::default();
    for h in &hashed {
        if let Some((_, entry)) = &h.cache {
            stats.files += 1;
            stats.bytes += entry.key.size;
            stats.files_read += usize::from(h.read);
        }
    }
    if let Some(file) = &cache_file {
        let new_cache: statcache::StatCache =
            hashed.iter().filter_map(|h| h.cache.clone()).collect();
        let changed = new_cache.len() != old.len()
            || hashed
                .iter()
                .filter_map(|h| h.cache.as_ref())
                .any(|(path, entry)| old.entry(path) != Some(entry));
        if changed {
            // A cache we cannot write only costs speed next time.
            let _ = new_cache.save(file);
        }
    }

    // Directories are listed only when empty: others are implied by the
    // paths beneath them.
    let mut parents: HashSet<&str> = HashSet::new();
    for h in &hashed {
        let mut p = h.path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if !parents.insert(p) {
                break;
            }
        }
    }
    let implied: Vec<bool> = hashed
        .iter()
        .map(|h| h.kind == Kind::Dir && parents.contains(h.path.as_str()))
        .collect();
    drop(parents);
    let files = hashed
        .into_iter()
        .zip(implied)
        .filter(|(_, implied)| !implied)
        .map(|(h, _)| FileEntry {
            sha256: hex::encode(h.sha256),
            executable: h.executable,
            kind: match h.kind {
                Kind::File => EntryType::File,
                Kind::Symlink => EntryType::Symlink,
                Kind::Dir => EntryType::Dir,
                Kind::Other => EntryType::Other,
            },
            path: h.path,
            symlink: h.symlink,
        })
        .collect();
    Ok((files, stats))
}

/// Digest of a whole named context directory (minus its `.dockerignore`).
fn named_context_digest(dir: &Path, mode: &CacheMode, started_ns: i64) -> Result<String, Error> {
    let root = std::fs::canonicalize(dir).map_err(|source| Error::Context {
        path: dir.to_path_buf(),
        source,
    })?;
    let rules = ignore::load(&root, None)?;
    let cache = LoadedCache::load(&root, mode);
    let tree = Tree::new(&root, &rules.matcher, !cache.old.is_empty());
    let everything = [".".to_string()];
    let spec = sources::SourceSpec {
        line: 0,
        instruction: "named context",
        sources: &everything,
        excludes: &[],
        parents: false,
    };
    let selected = sources::resolve(&tree, &spec)?;
    let (mut files, _) = hash_selection(&selected, &cache, started_ns)?;
    files.sort();
    let bytes = serde_json::to_vec(&files).unwrap_or_default();
    Ok(manifest::sha256_ref(&bytes))
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
