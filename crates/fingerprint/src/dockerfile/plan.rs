//! Build planning: which stages the target reaches and what each of them
//! reads (context paths, images, args, secrets), after ARG/ENV substitution.
//!
//! Every stage is evaluated in file order (a child needs its parent's ENV),
//! but an error is only reported when the stage that hit it is reachable:
//! Docker never looks at stages the target does not need.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::directives::Directives;
use super::error::PlanError;
use super::instruction::{Command, CopyArgs, Instruction};
use super::mount::MountType;
use super::shell::expand;
use super::{Dockerfile, Stage};

/// Everything about a Dockerfile build that can influence the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildPlan {
    /// Canonical text of every instruction that can influence the image, in
    /// file order: the `syntax`/`escape` directives, global ARGs used by the
    /// reachable stages, then every instruction of each reachable stage.
    pub instructions: Vec<PlannedInstruction>,
    /// Every place the build reads from the build context, substituted.
    pub context_sources: Vec<ContextSource>,
    /// Inputs the fingerprint cannot see (remote ADD without --checksum...).
    pub unhashable: Vec<Unhashable>,
    /// ARGs declared in reachable stages, plus global ARGs they use.
    pub declared_args: BTreeSet<String>,
    /// External images pulled (FROM, COPY --from, RUN --mount from=), after
    /// substitution, as written. Stage references and `scratch` excluded.
    pub base_images: Vec<String>,
    /// Secret ids of `RUN --mount=type=secret` in reachable stages.
    pub secret_ids: BTreeSet<String>,
    /// Given build args whose value equals the effective default of every
    /// reachable declaration of them: the build is the same without them.
    #[serde(default)]
    pub default_valued_args: BTreeSet<String>,
    /// Per platform that a reachable `RUN` executes on, the first such
    /// `RUN` (lowest line). A stage runs on its `FROM --platform` value
    /// (`$BUILDPLATFORM`: the builder's own), on its parent stage's
    /// platform when it derives from one, else on the target platform
    /// (`TARGETPLATFORM`). A machine must be able to run programs of each
    /// of these platforms (natively or by emulation) for the build to
    /// succeed, which Check can tell before anything is built.
    #[serde(default)]
    pub run_platforms: BTreeMap<String, PlannedRun>,
    /// Target stage name (index as a string when unnamed).
    pub target: String,
}

/// A `RUN` instruction that executes programs of the image's platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// The stage it belongs to (name, or index when unnamed).
    pub stage: String,
    /// Its canonical text.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedInstruction {
    /// 1-based line where the instruction starts.
    pub line: usize,
    pub text: String,
}

/// How the build reads context paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    Copy,
    Add,
    /// `RUN --mount=type=bind` from the context: the command may read any
    /// file under the bound path, so all of it counts.
    BindMount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextSource {
    pub line: usize,
    /// "COPY", "ADD" or "RUN --mount=type=bind".
    pub instruction: String,
    /// Paths/patterns relative to the context root (wildcards allowed; a
    /// leading '/' means the root). Heredoc sources are never listed.
    pub sources: Vec<String>,
    /// `--exclude` patterns.
    pub excludes: Vec<String>,
    /// `--parents`.
    pub parents: bool,
    pub kind: SourceKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unhashable {
    pub line: usize,
    pub instruction: String,
    pub reason: String,
}

/// ARGs BuildKit defines automatically in the global scope.
pub const AUTOMATIC_ARGS: &[&str] = &[
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

/// The automatic `TARGET*` args for a platform such as `linux/arm64/v8`, for
/// callers to merge into `build_args` (BuildKit sets them from `--platform`).
pub fn platform_args(platform: &str) -> BTreeMap<String, String> {
    named_platform_args("TARGET", platform)
}

/// All eight automatic platform args: `TARGET*` from the target platform,
/// `BUILD*` from the builder's own (BuildKit's `BUILDPLATFORM`).
pub fn automatic_args(target: &str, build: &str) -> BTreeMap<String, String> {
    let mut args = named_platform_args("TARGET", target);
    args.extend(named_platform_args("BUILD", build));
    args
}

fn named_platform_args(prefix: &str, platform: &str) -> BTreeMap<String, String> {
    let mut parts = platform.split('/');
    let os = parts.next().unwrap_or_default();
    let arch = parts.next().unwrap_or_default();
    let variant = parts.next().unwrap_or_default();
    [
        ("PLATFORM", platform),
        ("OS", os),
        ("ARCH", arch),
        ("VARIANT", variant),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{prefix}{k}"), v.to_string()))
    .collect()
}

/// This machine's platform as BuildKit names it (`linux/amd64`,
/// `linux/arm64`): the native platform of a local builder.
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "arm" => "arm/v7",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "loongarch64" => "loong64",
        other => other,
    };
    format!("{}/{arch}", std::env::consts::OS)
}

fn subst_err(line: usize, e: super::shell::ShellError) -> PlanError {
    PlanError::Substitution { line, message: e.0 }
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Git references as ADD understands them.
fn is_git_ref(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    if ["git://", "git@", "ssh://", "github.com/"]
        .iter()
        .any(|p| l.starts_with(p))
    {
        return true;
    }
    if is_url(&l) {
        let path = l.split(['#', '?']).next().unwrap_or_default();
        return path.trim_end_matches('/').ends_with(".git");
    }
    false
}

/// A `--from=` value resolved against the stages.
enum FromRef {
    Stage(usize),
    Image(String),
}

/// Variables visible in a stage: ENV wins over ARG of the same name.
struct Scope {
    env: BTreeMap<String, String>,
    args: BTreeMap<String, String>,
}

impl Scope {
    fn get(&self, name: &str) -> Option<String> {
        self.env.get(name).or_else(|| self.args.get(name)).cloned()
    }
}

/// What evaluating one stage found.
#[derive(Default)]
struct StageEval {
    env: BTreeMap<String, String>,
    deps: Vec<usize>,
    sources: Vec<ContextSource>,
    unhashable: Vec<Unhashable>,
    images: Vec<String>,
    secrets: BTreeSet<String>,
    declared: BTreeSet<String>,
    used_globals: BTreeSet<String>,
    /// Given build args declared here: whether the value equals the
    /// declaration's effective default.
    given_is_default: Vec<(String, bool)>,
    error: Option<PlanError>,
}

struct Planner<'a> {
    df: &'a Dockerfile,
    build_args: &'a BTreeMap<String, String>,
    escape: char,
    /// Global ARG values after build-arg overrides.
    meta: BTreeMap<String, String>,
    meta_declared: BTreeSet<String>,
    /// Global ARGs given as build args: whether the value equals the
    /// global declaration's effective default.
    meta_given_is_default: BTreeMap<String, bool>,
}

impl Planner<'_> {
    fn resolve_from(&self, value: &str, line: usize, current: usize) -> Result<FromRef, PlanError> {
        let lower = value.to_ascii_lowercase();
        let stages = &self.df.stages;
        let found = stages
            .iter()
            .position(|s| s.name.as_deref() == Some(lower.as_str()));
        let idx = match found {
            Some(i) => i,
            None => match value.parse::<i64>() {
                Ok(n) if n >= 0 && (n as u64) < stages.len() as u64 => n as usize,
                Ok(_) => {
                    return Err(PlanError::StageIndexOutOfBounds {
                        line,
                        value: value.to_string(),
                    })
                }
                Err(_) => return Ok(FromRef::Image(value.to_string())),
            },
        };
        if idx == current {
            return Err(PlanError::CircularDependency {
                line,
                stage: stages[idx].display_name(),
            });
        }
        Ok(FromRef::Stage(idx))
    }

    fn eval_stage(&self, stage: &Stage, parent_env: BTreeMap<String, String>) -> StageEval {
        let mut ev = StageEval::default();
        let mut scope = Scope {
            env: parent_env,
            args: BTreeMap::new(),
        };
        for ins in &stage.instructions {
            if let Err(e) = self.eval_instruction(stage.index, ins, &mut scope, &mut ev) {
                ev.error = Some(e);
                break;
            }
        }
        ev.env = scope.env;
        ev
    }

    fn eval_instruction(
        &self,
        current: usize,
        ins: &Instruction,
        scope: &mut Scope,
        ev: &mut StageEval,
    ) -> Result<(), PlanError> {
        let line = ins.line;
        let escape = self.escape;
        // Every word of an instruction sees the scope as it was before it.
        let snapshot: &Scope = scope;
        let sub = |word: &str| -> Result<String, PlanError> {
            expand(word, escape, &mut |n| snapshot.get(n)).map_err(|e| subst_err(line, e))
        };
        match &ins.command {
            Command::Arg(decls) => {
                let mut updates = Vec::new();
                for d in decls {
                    ev.declared.insert(d.name.clone());
                    let value = if let Some(v) = self.build_args.get(&d.name) {
                        // The effective default: this declaration's own, or
                        // the global one it inherits.
                        let is_default = match &d.default {
                            Some(def) => sub(def)? == *v,
                            None => {
                                // The global declaration decides, so it counts.
                                if self.meta_declared.contains(&d.name) {
                                    ev.used_globals.insert(d.name.clone());
                                }
                                self.meta_given_is_default
                                    .get(&d.name)
                                    .copied()
                                    .unwrap_or(false)
                            }
                        };
                        ev.given_is_default.push((d.name.clone(), is_default));
                        Some(v.clone())
                    } else if let Some(def) = &d.default {
                        Some(sub(def)?)
                    } else {
                        if self.meta_declared.contains(&d.name) {
                            ev.used_globals.insert(d.name.clone());
                        }
                        self.meta.get(&d.name).cloned()
                    };
                    if let Some(v) = value {
                        updates.push((d.name.clone(), v));
                    }
                }
                scope.args.extend(updates);
            }
            Command::Env(kvs) => {
                let mut updates = Vec::new();
                for kv in kvs {
                    updates.push((sub(&kv.key)?, sub(&kv.value)?));
                }
                scope.env.extend(updates);
            }
            Command::Copy(c) => self.eval_copy("COPY", c, line, current, &sub, ev)?,
            Command::Add(c) => self.eval_copy("ADD", c, line, current, &sub, ev)?,
            Command::Run(run) => {
                for m in &run.mounts {
                    let from = m.from.as_deref().map(&sub).transpose()?;
                    match from {
                        Some(f) => match self.resolve_from(&f, line, current)? {
                            FromRef::Stage(j) => ev.deps.push(j),
                            FromRef::Image(img) => ev.images.push(img),
                        },
                        None if m.kind == MountType::Bind => {
                            let source = match &m.source {
                                Some(s) => sub(s)?,
                                None => ".".to_string(),
                            };
                            ev.sources.push(ContextSource {
                                line,
                                instruction: "RUN --mount=type=bind".to_string(),
                                sources: vec![source],
                                excludes: Vec::new(),
                                parents: false,
                                kind: SourceKind::BindMount,
                            });
                        }
                        None => {}
                    }
                    if m.kind == MountType::Secret {
                        let id = match (&m.id, &m.target) {
                            (Some(id), _) => sub(id)?,
                            (None, Some(t)) => {
                                let t = sub(t)?;
                                let t = t.trim_end_matches('/');
                                t.rsplit('/').next().unwrap_or_default().to_string()
                            }
                            (None, None) => String::new(),
                        };
                        if !id.is_empty() {
                            ev.secrets.insert(id);
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn eval_copy(
        &self,
        keyword: &str,
        c: &CopyArgs,
        line: usize,
        current: usize,
        sub: &dyn Fn(&str) -> Result<String, PlanError>,
        ev: &mut StageEval,
    ) -> Result<(), PlanError> {
        if let Some(from) = &c.from {
            let from = sub(from)?;
            match self.resolve_from(&from, line, current)? {
                FromRef::Stage(j) => ev.deps.push(j),
                FromRef::Image(img) => ev.images.push(img),
            }
            return Ok(());
        }
        let mut local = Vec::new();
        for s in &c.sources {
            let s = sub(s)?;
            if keyword == "COPY" {
                if is_url(&s) {
                    return Err(PlanError::CopyFromUrl { line });
                }
                local.push(s);
            } else if is_git_ref(&s) {
                if c.checksum.is_none() {
                    ev.unhashable.push(Unhashable {
                        line,
                        instruction: keyword.to_string(),
                        reason: format!(
                            "git source {s} is fetched at build time without --checksum; its contents are not in the fingerprint"
                        ),
                    });
                }
            } else if is_url(&s) {
                if c.checksum.is_none() {
                    ev.unhashable.push(Unhashable {
                        line,
                        instruction: keyword.to_string(),
                        reason: format!(
                            "remote file {s} is downloaded at build time without --checksum; its contents are not in the fingerprint"
                        ),
                    });
                }
            } else {
                local.push(s);
            }
        }
        if local.is_empty() {
            return Ok(());
        }
        let excludes = c
            .excludes
            .iter()
            .map(|e| sub(e))
            .collect::<Result<Vec<_>, _>>()?;
        ev.sources.push(ContextSource {
            line,
            instruction: keyword.to_string(),
            sources: local,
            excludes,
            parents: c.parents,
            kind: if keyword == "COPY" {
                SourceKind::Copy
            } else {
                SourceKind::Add
            },
        });
        Ok(())
    }
}

/// The stage `target` names (the last stage when None).
fn target_index(stages: &[Stage], target: Option<&str>) -> Result<usize, PlanError> {
    let Some(t) = target else {
        return Ok(stages.len().saturating_sub(1));
    };
    let lower = t.to_ascii_lowercase();
    stages
        .iter()
        .position(|s| s.name.as_deref() == Some(lower.as_str()))
        .ok_or_else(|| PlanError::TargetNotFound {
            target: t.to_string(),
            stages: stages.iter().filter_map(|s| s.name.clone()).collect(),
        })
}

/// The global scope: automatic platform args, then the ARGs before the first FROM.
struct GlobalScope {
    meta: BTreeMap<String, String>,
    meta_declared: BTreeSet<String>,
    meta_given_is_default: BTreeMap<String, bool>,
    /// Per global ARG instruction: the names it declares and the args its
    /// defaults refer to.
    refs: Vec<(Vec<String>, BTreeSet<String>)>,
}

fn global_scope(
    df: &Dockerfile,
    build_args: &BTreeMap<String, String>,
    escape: char,
) -> Result<GlobalScope, PlanError> {
    let mut meta: BTreeMap<String, String> = build_args
        .iter()
        .filter(|(k, _)| AUTOMATIC_ARGS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut meta_declared = BTreeSet::new();
    let mut meta_given_is_default: BTreeMap<String, bool> = BTreeMap::new();
    let mut global_refs: Vec<(Vec<String>, BTreeSet<String>)> = Vec::new();
    for ins in &df.global_args {
        let Command::Arg(decls) = &ins.command else {
            continue;
        };
        let mut refs = BTreeSet::new();
        for d in decls {
            meta_declared.insert(d.name.clone());
            let value = match (build_args.get(&d.name), &d.default) {
                (Some(v), default) => {
                    let is_default = match default {
                        Some(def) => {
                            expand(def, escape, &mut |n| {
                                refs.insert(n.to_string());
                                meta.get(n).cloned()
                            })
                            .map_err(|e| subst_err(ins.line, e))?
                                == *v
                        }
                        None => false,
                    };
                    let all = meta_given_is_default.entry(d.name.clone()).or_insert(true);
                    *all = *all && is_default;
                    Some(v.clone())
                }
                (None, Some(def)) => Some(
                    expand(def, escape, &mut |n| {
                        refs.insert(n.to_string());
                        meta.get(n).cloned()
                    })
                    .map_err(|e| subst_err(ins.line, e))?,
                ),
                (None, None) => None,
            };
            if let Some(v) = value {
                meta.insert(d.name.clone(), v);
            }
        }
        global_refs.push((decls.iter().map(|d| d.name.clone()).collect(), refs));
    }

    Ok(GlobalScope {
        meta,
        meta_declared,
        meta_given_is_default,
        refs: global_refs,
    })
}

/// The parser directives that change what the build does, as instructions.
fn directive_lines(d: &Directives) -> Vec<PlannedInstruction> {
    let mut out = Vec::new();
    for (key, line) in &d.lines {
        match key.as_str() {
            "syntax" => out.push(PlannedInstruction {
                line: *line,
                text: format!("# syntax={}", d.syntax.as_deref().unwrap_or_default()),
            }),
            "escape" if d.escape != '\\' => out.push(PlannedInstruction {
                line: *line,
                text: format!("# escape={}", d.escape),
            }),
            _ => {}
        }
    }
    out
}

/// Plans a build of `target` (the last stage when None) with `build_args`.
pub fn plan(
    df: &Dockerfile,
    target: Option<&str>,
    build_args: &BTreeMap<String, String>,
) -> Result<BuildPlan, PlanError> {
    let stages = &df.stages;
    let target_idx = target_index(stages, target)?;
    let escape = df.directives.escape;

    let GlobalScope {
        meta,
        meta_declared,
        meta_given_is_default,
        refs: global_refs,
    } = global_scope(df, build_args, escape)?;

    let planner = Planner {
        df,
        build_args,
        escape,
        meta,
        meta_declared,
        meta_given_is_default,
    };

    // Resolve each FROM in the global scope, then evaluate stages in order.
    let mut bases: Vec<Result<(Option<usize>, String), PlanError>> = Vec::new();
    let mut from_refs: Vec<BTreeSet<String>> = Vec::new();
    let mut evals: Vec<StageEval> = Vec::new();
    // The platform each stage's RUN instructions execute on.
    let mut run_platform: Vec<String> = Vec::new();
    for stage in stages {
        let mut refs = BTreeSet::new();
        let mut own_platform = None;
        let mut lookup = |n: &str| {
            refs.insert(n.to_string());
            planner.meta.get(n).cloned()
        };
        let line = stage.from.line;
        let base = expand(stage.base(), escape, &mut lookup)
            .and_then(|b| match stage.platform() {
                Some(p) => expand(p, escape, &mut lookup).map(|p| {
                    own_platform = Some(p);
                    b
                }),
                None => Ok(b),
            })
            .map_err(|e| subst_err(line, e))
            .map(|b| {
                let lower = b.to_ascii_lowercase();
                let parent = stages[..stage.index]
                    .iter()
                    .position(|s| s.name.as_deref() == Some(lower.as_str()));
                (parent, b)
            });
        let parent = base.as_ref().ok().and_then(|(p, _)| *p);
        let platform = stage_platform(parent.map(|p| &run_platform[p]), own_platform, &planner);
        run_platform.push(platform);
        let parent_env = match &base {
            Ok((Some(p), _)) => evals[*p].env.clone(),
            _ => BTreeMap::new(),
        };
        let mut ev = planner.eval_stage(stage, parent_env);
        if let Ok((Some(p), _)) = &base {
            ev.deps.insert(0, *p);
        }
        from_refs.push(refs);
        bases.push(base);
        evals.push(ev);
    }

    let reachable = reachable_stages(stages, &evals, target_idx)?;

    // Report the first error in a reachable stage.
    for &i in &reachable {
        if let Err(e) = &bases[i] {
            return Err(e.clone());
        }
        if let Some(e) = &evals[i].error {
            return Err(e.clone());
        }
    }

    // Global ARGs the reachable stages use, transitively through defaults.
    let mut used: BTreeSet<String> = BTreeSet::new();
    for &i in &reachable {
        used.extend(from_refs[i].iter().cloned());
        used.extend(evals[i].used_globals.iter().cloned());
    }
    let mut include_global = vec![false; df.global_args.len()];
    for (gi, (names, refs)) in global_refs.iter().enumerate().rev() {
        if names.iter().any(|n| used.contains(n)) {
            include_global[gi] = true;
            used.extend(refs.iter().cloned());
        }
    }

    let mut out = BuildPlan {
        instructions: Vec::new(),
        context_sources: Vec::new(),
        unhashable: Vec::new(),
        declared_args: BTreeSet::new(),
        base_images: Vec::new(),
        secret_ids: BTreeSet::new(),
        default_valued_args: BTreeSet::new(),
        run_platforms: BTreeMap::new(),
        target: stages
            .get(target_idx)
            .map(Stage::display_name)
            .unwrap_or_default(),
    };
    out.instructions.extend(directive_lines(&df.directives));
    // A given arg is default-valued when every declaration that counts
    // says so.
    let mut given_is_default: BTreeMap<String, bool> = BTreeMap::new();
    let mut note = |name: &str, is_default: bool| {
        let all = given_is_default.entry(name.to_string()).or_insert(true);
        *all = *all && is_default;
    };
    for (gi, ins) in df.global_args.iter().enumerate() {
        if include_global[gi] {
            out.instructions.push(planned(ins));
            if let Command::Arg(decls) = &ins.command {
                out.declared_args
                    .extend(decls.iter().map(|d| d.name.clone()));
                for d in decls {
                    if let Some(&is_default) = planner.meta_given_is_default.get(&d.name) {
                        note(&d.name, is_default);
                    }
                }
            }
        }
    }
    for &i in &reachable {
        for (name, is_default) in &evals[i].given_is_default {
            note(name, *is_default);
        }
    }
    out.default_valued_args = given_is_default
        .into_iter()
        .filter(|(_, is_default)| *is_default)
        .map(|(name, _)| name)
        .collect();
    let push_image = |images: &mut Vec<String>, img: &str| {
        if !img.eq_ignore_ascii_case("scratch") && !images.iter().any(|i| i == img) {
            images.push(img.to_string());
        }
    };
    for &i in &reachable {
        let stage = &stages[i];
        out.instructions.push(planned(&stage.from));
        out.instructions
            .extend(stage.instructions.iter().map(planned));
        if let Ok((None, img)) = &bases[i] {
            push_image(&mut out.base_images, img);
        }
        let ev = &evals[i];
        for img in &ev.images {
            push_image(&mut out.base_images, img);
        }
        out.context_sources.extend(ev.sources.iter().cloned());
        out.unhashable.extend(ev.unhashable.iter().cloned());
        out.declared_args.extend(ev.declared.iter().cloned());
        out.secret_ids.extend(ev.secrets.iter().cloned());
        note_first_run(&mut out.run_platforms, stage, &run_platform[i]);
    }
    Ok(out)
}

/// The target platform the automatic args name (this machine's without).
fn target_platform(meta: &BTreeMap<String, String>) -> String {
    meta.get("TARGETPLATFORM")
        .filter(|p| !p.is_empty())
        .cloned()
        .unwrap_or_else(host_platform)
}

/// The platform a stage's RUN steps execute on. A stage built on another
/// stage continues its filesystem, and so its platform (as BuildKit does);
/// otherwise its `--platform` value decides, or the target.
fn stage_platform(parent: Option<&String>, own: Option<String>, planner: &Planner) -> String {
    match (parent, own) {
        (Some(p), _) => p.clone(),
        (None, Some(p)) if !p.trim().is_empty() => p.trim().to_ascii_lowercase(),
        _ => target_platform(&planner.meta),
    }
}

/// Records the stage's first RUN for `platform` unless an earlier line is
/// recorded.
fn note_first_run(runs: &mut BTreeMap<String, PlannedRun>, stage: &Stage, platform: &str) {
    let Some(run) = stage
        .instructions
        .iter()
        .find(|ins| matches!(ins.command, Command::Run(_)))
    else {
        return;
    };
    if runs
        .get(platform)
        .is_some_and(|known| known.line <= run.line)
    {
        return;
    }
    runs.insert(
        platform.to_string(),
        PlannedRun {
            line: run.line,
            stage: stage.display_name(),
            text: run.canonical.clone(),
        },
    );
}

fn planned(ins: &Instruction) -> PlannedInstruction {
    PlannedInstruction {
        line: ins.line,
        text: ins.canonical.clone(),
    }
}

/// Stages the target depends on (itself included), in index order; a
/// dependency cycle among them is an error, as in BuildKit.
fn reachable_stages(
    stages: &[Stage],
    evals: &[StageEval],
    target: usize,
) -> Result<Vec<usize>, PlanError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Color {
        White,
        Gray,
        Black,
    }
    if target >= stages.len() {
        return Ok(Vec::new());
    }
    let mut color = vec![Color::White; stages.len()];
    let mut stack: Vec<(usize, usize)> = vec![(target, 0)];
    color[target] = Color::Gray;
    while let Some(top) = stack.last_mut() {
        let (node, next) = *top;
        match evals[node].deps.get(next) {
            Some(&child) => {
                top.1 += 1;
                match color[child] {
                    Color::White => {
                        color[child] = Color::Gray;
                        stack.push((child, 0));
                    }
                    Color::Gray => {
                        return Err(PlanError::CircularDependency {
                            line: stages[child].from.line,
                            stage: stages[child].display_name(),
                        })
                    }
                    Color::Black => {}
                }
            }
            None => {
                color[node] = Color::Black;
                stack.pop();
            }
        }
    }
    Ok((0..stages.len())
        .filter(|&i| color[i] == Color::Black)
        .collect())
}
