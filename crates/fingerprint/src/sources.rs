//! Which context files one COPY/ADD/bind-mount reads, resolved the way
//! BuildKit resolves them.
//!
//! Wildcards follow `filepath.Match` one path element at a time; directories
//! are copied recursively with symlinks inside them kept as links; each
//! top-level source is followed if it is a symlink (BuildKit copies the
//! target), but only within the context; `--exclude` and the `--parents`
//! include pattern are matched relative to the copied directory with the
//! `.dockerignore` pattern rules.

use crate::glob;
use crate::ignore::Matcher;
use crate::pathclean::{self, ContextPath};
use crate::tree::{Filter, Kind, Lookup, Tree, TreeError};
use std::collections::VecDeque;
use std::path::PathBuf;

/// One place the build reads from the context.
#[derive(Debug, Clone)]
pub struct SourceSpec<'a> {
    pub line: usize,
    pub instruction: &'a str,
    pub sources: &'a [String],
    pub excludes: &'a [String],
    pub parents: bool,
}

/// A context entry the build will read.
#[derive(Debug, Clone)]
pub struct Selected {
    /// Path as the build sees it, relative to the context root (a top-level
    /// symlink keeps its own name; its target's contents are read).
    pub display: String,
    /// Where to read it.
    pub abs: PathBuf,
    /// Its real context-relative path (stat-cache key).
    pub real: String,
    pub kind: Kind,
    /// `lstat` taken while walking, when available.
    pub meta: Option<crate::statcache::FileStat>,
}

/// Why a source cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("Dockerfile line {line}: {instruction} failed: \"/{source_path}\": not found (not in the build context, or excluded by .dockerignore)")]
    NotFound {
        instruction: String,
        line: usize,
        source_path: String,
    },
    #[error("Dockerfile line {line}: {instruction} failed: forbidden path outside the build context: {source_path}")]
    OutsideContext {
        instruction: String,
        line: usize,
        source_path: String,
    },
    #[error("Dockerfile line {line}: {instruction} failed: {source_path} is a symlink to {target}, which is outside the build context")]
    SymlinkOutside {
        instruction: String,
        line: usize,
        source_path: String,
        target: String,
    },
    #[error("Dockerfile line {line}: {instruction} failed: too many levels of symbolic links at {source_path}")]
    SymlinkLoop {
        instruction: String,
        line: usize,
        source_path: String,
    },
    #[error("Dockerfile line {line}: {instruction}: invalid pattern {pattern:?}: syntax error in pattern")]
    BadPattern {
        instruction: String,
        line: usize,
        pattern: String,
    },
    #[error("Dockerfile line {line}: {instruction}: {source}")]
    Read {
        instruction: String,
        line: usize,
        #[source]
        source: TreeError,
    },
}

/// Symlink resolution outcome.
enum Followed {
    Found { real: String, kind: Kind },
    Missing,
    Escapes { target: String },
    Loop,
}

const MAX_LINK_HOPS: usize = 40;

/// Resolves a context-relative path, following symlinks in every element
/// but refusing to leave the context.
fn follow(tree: &Tree<'_>, rel: &str) -> Result<Followed, TreeError> {
    let mut pending: VecDeque<String> = split(rel).map(str::to_string).collect();
    let mut current = String::new();
    let mut kind = Kind::Dir;
    let mut hops = 0;
    while let Some(element) = pending.pop_front() {
        let next = pathclean::join(&current, &element);
        match tree.lookup(&next)? {
            Lookup::Missing => return Ok(Followed::Missing),
            Lookup::Found(Kind::Symlink) => {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Ok(Followed::Loop);
                }
                let target = std::fs::read_link(tree.abs(&next)).map_err(|source| TreeError {
                    path: tree.abs(&next),
                    source,
                })?;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    return Ok(Followed::Escapes { target });
                }
                let joined = pathclean::clean(&pathclean::join(&current, &target));
                if joined == ".." || joined.starts_with("../") {
                    return Ok(Followed::Escapes { target });
                }
                let mut rebuilt: VecDeque<String> = split(&joined).map(str::to_string).collect();
                rebuilt.extend(pending.drain(..));
                pending = rebuilt;
                current.clear();
                kind = Kind::Dir;
            }
            Lookup::Found(found) => {
                if !pending.is_empty() && found != Kind::Dir {
                    return Ok(Followed::Missing);
                }
                current = next;
                kind = found;
            }
        }
    }
    Ok(Followed::Found {
        real: current,
        kind,
    })
}

fn split(rel: &str) -> impl Iterator<Item = &str> {
    rel.split('/').filter(|s| !s.is_empty() && *s != ".")
}

/// Resolves every source of one instruction.
pub fn resolve(tree: &Tree<'_>, spec: &SourceSpec<'_>) -> Result<Vec<Selected>, SourceError> {
    let ctx = Ctx { tree, spec };
    let excludes = ctx.matcher(spec.excludes)?;
    let mut out = Vec::new();
    for source in spec.sources {
        if spec.parents {
            ctx.resolve_parents(source, &excludes, &mut out)?;
        } else {
            let rel = ctx.inside(source)?;
            for (display, real, kind) in ctx.expand(&rel, source)? {
                ctx.collect(
                    &display,
                    &real,
                    kind,
                    &[Filter::Exclude(&excludes)],
                    &mut out,
                )?;
            }
        }
    }
    Ok(out)
}

struct Ctx<'t, 's> {
    tree: &'t Tree<'t>,
    spec: &'s SourceSpec<'s>,
}

impl Ctx<'_, '_> {
    fn read_err(&self, source: TreeError) -> SourceError {
        SourceError::Read {
            instruction: self.spec.instruction.to_string(),
            line: self.spec.line,
            source,
        }
    }

    fn not_found(&self, rel: &str) -> SourceError {
        SourceError::NotFound {
            instruction: self.spec.instruction.to_string(),
            line: self.spec.line,
            source_path: rel.to_string(),
        }
    }

    fn matcher(&self, patterns: &[String]) -> Result<Matcher, SourceError> {
        Matcher::new(patterns).map_err(|bad| SourceError::BadPattern {
            instruction: self.spec.instruction.to_string(),
            line: self.spec.line,
            pattern: patterns[bad.index].clone(),
        })
    }

    fn inside(&self, source: &str) -> Result<String, SourceError> {
        match pathclean::context_relative(source) {
            ContextPath::Inside(rel) => Ok(rel),
            ContextPath::Outside => Err(SourceError::OutsideContext {
                instruction: self.spec.instruction.to_string(),
                line: self.spec.line,
                source_path: source.to_string(),
            }),
        }
    }

    /// Follows a top-level source; errors if it is missing or leaves the
    /// context.
    fn follow_top(&self, rel: &str, written: &str) -> Result<(String, Kind), SourceError> {
        match follow(self.tree, rel).map_err(|e| self.read_err(e))? {
            Followed::Found { real, kind } => Ok((real, kind)),
            Followed::Missing => Err(self.not_found(rel)),
            Followed::Escapes { target } => Err(SourceError::SymlinkOutside {
                instruction: self.spec.instruction.to_string(),
                line: self.spec.line,
                source_path: written.to_string(),
                target,
            }),
            Followed::Loop => Err(SourceError::SymlinkLoop {
                instruction: self.spec.instruction.to_string(),
                line: self.spec.line,
                source_path: written.to_string(),
            }),
        }
    }

    /// Expands one (clean, context-relative) source into top-level entries:
    /// (path as the build names it, real path, kind after following links).
    /// A wildcard that matches nothing is not an error (BuildKit allows it).
    fn expand(&self, rel: &str, written: &str) -> Result<Vec<(String, String, Kind)>, SourceError> {
        let elements: Vec<&str> = split(rel).collect();
        let Some(first_wild) = elements.iter().position(|e| glob::has_wildcards(e)) else {
            let (real, kind) = self.follow_top(rel, written)?;
            return Ok(vec![(rel.to_string(), real, kind)]);
        };
        let literal = elements[..first_wild].join("/");
        let (base, base_kind) = self.follow_top(&literal, written)?;
        for element in &elements[first_wild..] {
            if glob::validate_pattern(element).is_err() {
                return Err(SourceError::BadPattern {
                    instruction: self.spec.instruction.to_string(),
                    line: self.spec.line,
                    pattern: written.to_string(),
                });
            }
        }
        if base_kind != Kind::Dir {
            return Ok(Vec::new());
        }
        // Breadth-first, one pattern element per level; directory symlinks
        // met on the way are not entered (filepath.Walk does not follow them).
        let mut frontier = vec![(literal.clone(), base)];
        let wild = &elements[first_wild..];
        let mut matches = Vec::new();
        for (depth, element) in wild.iter().enumerate() {
            let last = depth + 1 == wild.len();
            let mut next = Vec::new();
            for (display, real) in &frontier {
                for child in self
                    .tree
                    .children(real)
                    .map_err(|e| self.read_err(e))?
                    .iter()
                {
                    if !glob::matches(element, &child.name).unwrap_or(false) {
                        continue;
                    }
                    let d = pathclean::join(display, &child.name);
                    let r = pathclean::join(real, &child.name);
                    if last {
                        matches.push((d, r));
                    } else if child.kind == Kind::Dir {
                        next.push((d, r));
                    }
                }
            }
            frontier = next;
        }
        let mut out = Vec::with_capacity(matches.len());
        for (display, real) in matches {
            let (real, kind) = self.follow_top(&real, &display)?;
            out.push((display, real, kind));
        }
        Ok(out)
    }

    /// Adds a top-level entry (recursively, for a directory).
    fn collect(
        &self,
        display: &str,
        real: &str,
        kind: Kind,
        filters: &[Filter<'_>],
        out: &mut Vec<Selected>,
    ) -> Result<(), SourceError> {
        if kind != Kind::Dir {
            out.push(Selected {
                display: display.to_string(),
                abs: self.tree.abs(real),
                real: real.to_string(),
                kind,
                meta: None,
            });
            return Ok(());
        }
        let active: Vec<Filter<'_>> = filters
            .iter()
            .copied()
            .filter(|f| match f {
                Filter::Exclude(m) | Filter::Include(m) => !m.is_empty(),
            })
            .collect();
        let found = self
            .tree
            .walk(real, &active)
            .map_err(|e| self.read_err(e))?;
        out.extend(found.into_iter().map(|f| Selected {
            display: pathclean::join(display, &f.rel),
            abs: f.abs,
            real: f.context_rel,
            kind: f.kind,
            meta: f.meta,
        }));
        Ok(())
    }

    /// `COPY --parents`: the part after `/./` (or the whole source) is an
    /// include pattern under the pivot directory, and matched paths keep
    /// their directories.
    fn resolve_parents(
        &self,
        source: &str,
        excludes: &Matcher,
        out: &mut Vec<Selected>,
    ) -> Result<(), SourceError> {
        let (pivot, pattern) = match source.split_once("/./") {
            Some((pivot, pattern)) => (pivot, pattern),
            None => ("/", source),
        };
        let pivot_rel = self.inside(pivot)?;
        let pattern = pathclean::clean(&format!("/{pattern}"));
        let pattern = pattern.trim_start_matches('/').to_string();
        if !glob::has_wildcards(&pivot_rel) && !glob::has_wildcards(&pattern) {
            let required = pathclean::join(&pivot_rel, &pattern);
            self.follow_top(&required, source)?;
        }
        let include = if pattern.is_empty() {
            Matcher::default()
        } else {
            self.matcher(std::slice::from_ref(&pattern))?
        };
        for (display, real, kind) in self.expand(&pivot_rel, pivot)? {
            let filters = [Filter::Include(&include), Filter::Exclude(excludes)];
            self.collect(&display, &real, kind, &filters, out)?;
        }
        Ok(())
    }
}
