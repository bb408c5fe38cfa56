//! The build context as Docker sends it: a lazily listed directory tree with
//! `.dockerignore` applied.
//!
//! Only directories the Dockerfile can read are ever listed, each at most
//! once, and ignored directories that no `!` exception can reach are never
//! entered (an ignored `node_modules` costs one directory entry). Subtrees
//! that are copied are listed in parallel.

use crate::ignore::{MatchInfo, Matcher};
use crate::pathclean;
use crate::statcache::FileStat;
use rayon::prelude::*;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What a directory entry is (from the directory listing; never follows links).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// FIFOs, sockets, devices.
    Other,
}

/// One listed entry.
#[derive(Debug, Clone)]
pub struct Child {
    pub name: String,
    pub raw_name: OsString,
    pub kind: Kind,
    /// Matched by `.dockerignore`.
    pub ignored: bool,
    /// Ignore results to pass to this entry's children.
    pub info: MatchInfo,
    /// `lstat` of regular files, taken through the directory handle while
    /// walking copied trees (cheaper than a full-path stat later).
    pub meta: Option<FileStat>,
}

#[derive(Debug)]
struct Listing {
    abs: PathBuf,
    children: Vec<Child>,
}

/// Failure to read the context.
#[derive(Debug, thiserror::Error)]
#[error("reading {path}: {source}")]
pub struct TreeError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// The visible context.
#[derive(Debug)]
pub struct Tree<'a> {
    root: PathBuf,
    ignore: &'a Matcher,
    /// `lstat` files while walking copied trees (worth it only when a stat
    /// cache may spare reading them).
    stat_files: bool,
    listings: Mutex<HashMap<String, Arc<Listing>>>,
    /// Memoised `children` results (deciding whether an ignored directory
    /// still holds re-included files can mean walking it).
    visible: Mutex<HashMap<String, Arc<Vec<Child>>>>,
}

/// A visible entry found under a directory.
#[derive(Debug, Clone)]
pub struct Found {
    /// Path relative to the directory that was walked.
    pub rel: String,
    /// Path relative to the context root.
    pub context_rel: String,
    pub abs: PathBuf,
    pub kind: Kind,
    pub meta: Option<FileStat>,
}

/// A path-pattern filter applied relative to the walked directory
/// (`COPY --exclude`, or the include pattern of `COPY --parents`).
#[derive(Debug, Clone, Copy)]
pub enum Filter<'m> {
    Exclude(&'m Matcher),
    Include(&'m Matcher),
}

/// What `lookup` found at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Missing,
    Found(Kind),
}

impl<'a> Tree<'a> {
    pub fn new(root: &Path, ignore: &'a Matcher, stat_files: bool) -> Tree<'a> {
        Tree {
            root: root.to_path_buf(),
            ignore,
            stat_files,
            listings: Mutex::new(HashMap::new()),
            visible: Mutex::new(HashMap::new()),
        }
    }

    /// Absolute path of a context-relative path.
    pub fn abs(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }

    /// Lists a directory (relative to the root), caching the result.
    /// `None` when the path is not a visible directory.
    fn listing(&self, rel: &str) -> Result<Option<Arc<Listing>>, TreeError> {
        if let Some(found) = self.cached(rel) {
            return Ok(Some(found));
        }
        let (abs, info) = if rel.is_empty() {
            (self.root.clone(), MatchInfo::default())
        } else {
            let parent_rel = pathclean::parent(rel);
            let name = &rel[parent_rel.len() + usize::from(!parent_rel.is_empty())..];
            let Some(parent) = self.listing(parent_rel)? else {
                return Ok(None);
            };
            let Some(child) = parent.children.iter().find(|c| c.name == name) else {
                return Ok(None);
            };
            if child.kind != Kind::Dir {
                return Ok(None);
            }
            (parent.abs.join(&child.raw_name), child.info.clone())
        };
        let listing = Arc::new(self.read_dir(rel, &abs, &info, false)?);
        let mut map = self.listings.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(rel.to_string(), listing.clone());
        Ok(Some(listing))
    }

    fn cached(&self, rel: &str) -> Option<Arc<Listing>> {
        let map = self.listings.lock().unwrap_or_else(|p| p.into_inner());
        map.get(rel).cloned()
    }

    fn read_dir(
        &self,
        rel: &str,
        abs: &Path,
        info: &MatchInfo,
        stat_files: bool,
    ) -> Result<Listing, TreeError> {
        let err = |source| TreeError {
            path: abs.to_path_buf(),
            source,
        };
        let mut children = Vec::new();
        for entry in std::fs::read_dir(abs).map_err(err)? {
            let entry = entry.map_err(err)?;
            let file_type = entry.file_type().map_err(|source| TreeError {
                path: entry.path(),
                source,
            })?;
            let kind = if file_type.is_symlink() {
                Kind::Symlink
            } else if file_type.is_dir() {
                Kind::Dir
            } else if file_type.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            let raw_name = entry.file_name();
            let name = raw_name.to_string_lossy().into_owned();
            let path = pathclean::join(rel, &name);
            let (ignored, child_info) = if self.ignore.is_empty() {
                (false, MatchInfo::default())
            } else {
                self.ignore.matches_with_parent(&path, info)
            };
            let meta = if stat_files && kind == Kind::File && !ignored {
                Some(FileStat::from_metadata(&entry.metadata().map_err(
                    |source| TreeError {
                        path: entry.path(),
                        source,
                    },
                )?))
            } else {
                None
            };
            children.push(Child {
                name,
                raw_name,
                kind,
                ignored,
                info: child_info,
                meta,
            });
        }
        children.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Listing {
            abs: abs.to_path_buf(),
            children,
        })
    }

    /// Visible children of a visible directory (ignored entries dropped, but
    /// ignored directories that still hold re-included files kept).
    pub fn children(&self, rel: &str) -> Result<Arc<Vec<Child>>, TreeError> {
        {
            let memo = self.visible.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(found) = memo.get(rel) {
                return Ok(found.clone());
            }
        }
        let Some(listing) = self.listing(rel)? else {
            return Ok(Arc::new(Vec::new()));
        };
        let mut out = Vec::new();
        for child in &listing.children {
            if !child.ignored {
                out.push(child.clone());
            } else if child.kind == Kind::Dir {
                let path = pathclean::join(rel, &child.name);
                if !self.ignore.can_skip_matched_dir(&path, &child.info)
                    && self.has_visible_descendant(&path)?
                {
                    out.push(child.clone());
                }
            }
        }
        let out = Arc::new(out);
        let mut memo = self.visible.lock().unwrap_or_else(|p| p.into_inner());
        memo.insert(rel.to_string(), out.clone());
        Ok(out)
    }

    fn has_visible_descendant(&self, rel: &str) -> Result<bool, TreeError> {
        Ok(!self.walk(rel, &[])?.is_empty())
    }

    /// What is visible at a path, without following symlinks.
    pub fn lookup(&self, rel: &str) -> Result<Lookup, TreeError> {
        if rel.is_empty() {
            return Ok(Lookup::Found(Kind::Dir));
        }
        let parent = pathclean::parent(rel);
        let name = &rel[parent.len() + usize::from(!parent.is_empty())..];
        // The parent must itself be visible for its children to be.
        if !parent.is_empty() && self.lookup(parent)? != Lookup::Found(Kind::Dir) {
            return Ok(Lookup::Missing);
        }
        Ok(self
            .children(parent)?
            .iter()
            .find(|c| c.name == name)
            .map_or(Lookup::Missing, |c| Lookup::Found(c.kind)))
    }

    /// Every visible entry under a directory (not the directory itself),
    /// after the filters, in no particular order. Symlinks are reported, not
    /// followed. Directories are reported only when they themselves pass.
    pub fn walk(&self, rel: &str, filters: &[Filter<'_>]) -> Result<Vec<Found>, TreeError> {
        let Some(listing) = self.listing(rel)? else {
            return Ok(Vec::new());
        };
        let state = WalkState {
            filter_infos: vec![MatchInfo::default(); filters.len()],
        };
        // Each directory hands over its own entries once, moved, so deep
        // trees are not copied level by level.
        let sink = Mutex::new(Vec::new());
        self.walk_listing(&listing, rel, "", filters, &state, &sink)?;
        Ok(sink
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .into_iter()
            .flatten()
            .collect())
    }

    fn walk_listing(
        &self,
        listing: &Listing,
        context_dir: &str,
        rel_dir: &str,
        filters: &[Filter<'_>],
        parent: &WalkState,
        sink: &Mutex<Vec<Vec<Found>>>,
    ) -> Result<(), TreeError> {
        let mut out = Vec::new();
        let mut subdirs = Vec::new();
        for child in &listing.children {
            let rel = pathclean::join(rel_dir, &child.name);
            let context_rel = pathclean::join(context_dir, &child.name);
            let mut hidden = child.ignored;
            let mut filter_infos = Vec::with_capacity(filters.len());
            let mut descend_possible = true;
            for (i, filter) in filters.iter().enumerate() {
                match filter {
                    Filter::Exclude(m) => {
                        let (hit, info) = m.matches_with_parent(&rel, &parent.filter_infos[i]);
                        if hit {
                            hidden = true;
                            if child.kind == Kind::Dir && !m.has_exceptions() {
                                descend_possible = false;
                            }
                        }
                        filter_infos.push(info);
                    }
                    Filter::Include(m) => {
                        let (hit, info) = m.matches_with_parent(&rel, &parent.filter_infos[i]);
                        if !hit {
                            hidden = true;
                            if child.kind == Kind::Dir && !m.could_match_under(&rel, &info) {
                                descend_possible = false;
                            }
                        }
                        filter_infos.push(info);
                    }
                }
            }
            if child.ignored
                && child.kind == Kind::Dir
                && self.ignore.can_skip_matched_dir(&context_rel, &child.info)
            {
                descend_possible = false;
            }
            if !hidden {
                out.push(Found {
                    rel: rel.clone(),
                    context_rel: context_rel.clone(),
                    abs: listing.abs.join(&child.raw_name),
                    kind: child.kind,
                    meta: child.meta,
                });
            }
            if child.kind == Kind::Dir && descend_possible {
                subdirs.push((child, rel, context_rel, WalkState { filter_infos }));
            }
        }
        sink.lock().unwrap_or_else(|p| p.into_inner()).push(out);
        subdirs
            .into_par_iter()
            .try_for_each(|(child, rel, context_rel, state)| {
                let abs = listing.abs.join(&child.raw_name);
                let sub = Listing {
                    children: self
                        .read_dir(&context_rel, &abs, &child.info, self.stat_files)?
                        .children,
                    abs,
                };
                self.walk_listing(&sub, &context_rel, &rel, filters, &state, sink)
            })
    }
}

/// Per-filter results of the directory being walked, for its children.
#[derive(Debug, Clone)]
struct WalkState {
    filter_infos: Vec<MatchInfo>,
}
