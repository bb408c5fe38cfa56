//! Content hashing of the selected context entries: stat and stat-cache
//! lookups in parallel, then the unread contents two files per core
//! (`files`).
//!
//! Per entry we record only what COPY carries into the image and we choose
//! to honour: contents, "executable by anyone" and, for symlinks, the link
//! text (never followed). Owner, mtime and the other permission bits are
//! left out so checkouts with different umasks agree.

mod files;
#[cfg(target_os = "linux")]
// A SIGBUS-guarded file mapping behind the safe `Mapping::new`/`bytes`;
// with `sha256`, the only place `unsafe` is allowed.
#[allow(unsafe_code)]
mod mapped;

use crate::sha256;
use crate::sources::Selected;
use crate::statcache::{Entry, FileStat, StatCache};
use crate::tree::Kind;
use rayon::prelude::*;
use std::path::PathBuf;

/// A hashed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub path: String,
    pub kind: Kind,
    pub sha256: [u8; 32],
    pub executable: bool,
    pub symlink: Option<String>,
    /// Stat-cache entry to store (regular files only).
    pub cache: Option<(String, Entry)>,
    /// Whether the content was read (false: reused from the stat cache).
    pub read: bool,
}

/// A file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("reading {path}: {source}")]
pub struct HashError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Hashes every selected entry. `started_ns` is when this run started (it
/// dates the new stat-cache entries).
pub fn hash_all(
    selected: &[Selected],
    cache: &StatCache,
    started_ns: i64,
) -> Result<Vec<Hashed>, HashError> {
    // Everything but file contents first (stat, cache lookups, links), then
    // the contents the cache could not vouch for, all at once.
    let mut hashed: Vec<Hashed> = selected
        .par_iter()
        .with_min_len(64)
        .map(|s| describe(s, cache, started_ns))
        .collect::<Result<_, _>>()?;
    let unread: Vec<usize> = (0..hashed.len())
        .filter(|&i| hashed[i].kind == Kind::File && hashed[i].read)
        .collect();
    let jobs: Vec<files::Job<'_>> = unread
        .iter()
        .map(|&i| files::Job {
            path: &selected[i].abs,
            size_hint: hashed[i].cache.as_ref().map_or(0, |(_, e)| e.key.size),
        })
        .collect();
    for (&i, result) in unread.iter().zip(files::hash_files(&jobs)) {
        let content = result.map_err(|source| HashError {
            path: selected[i].abs.clone(),
            source,
        })?;
        let h = &mut hashed[i];
        h.sha256 = content.sha256;
        h.executable = content.stat.executable;
        if let Some((_, entry)) = &mut h.cache {
            entry.sha256 = content.sha256;
            entry.key = content.stat.key;
        }
    }
    Ok(hashed)
}

/// An entry with everything but unread file contents; those are marked
/// `read` and get their hash and stat from `files::hash_files`.
fn describe(s: &Selected, cache: &StatCache, started_ns: i64) -> Result<Hashed, HashError> {
    let err = |source| HashError {
        path: s.abs.clone(),
        source,
    };
    match s.kind {
        Kind::Symlink => {
            let target = std::fs::read_link(&s.abs).map_err(err)?;
            let target = target.to_string_lossy().into_owned();
            Ok(Hashed {
                path: s.display.clone(),
                kind: Kind::Symlink,
                sha256: sha256::digest(target.as_bytes()),
                executable: false,
                symlink: Some(target),
                cache: None,
                read: false,
            })
        }
        Kind::Dir | Kind::Other => Ok(Hashed {
            path: s.display.clone(),
            kind: s.kind,
            sha256: sha256::digest(b""),
            executable: false,
            symlink: None,
            cache: None,
            read: false,
        }),
        Kind::File => {
            let stat = match s.meta {
                Some(stat) => stat,
                // Nothing cached: the opened file gives the stat.
                None if cache.is_empty() => return Ok(unread_file(s, started_ns, None)),
                None => FileStat::from_metadata(&std::fs::symlink_metadata(&s.abs).map_err(err)?),
            };
            let Some(sha256) = cache.lookup(&s.real, &stat.key) else {
                return Ok(unread_file(s, started_ns, Some(stat)));
            };
            // Reused entries keep the date of the original read.
            let hashed_at_ns = cache_date(cache, &s.real).unwrap_or(started_ns);
            Ok(Hashed {
                path: s.display.clone(),
                kind: Kind::File,
                sha256,
                executable: stat.executable,
                symlink: None,
                cache: Some((
                    s.real.clone(),
                    Entry {
                        key: stat.key,
                        sha256,
                        hashed_at_ns,
                    },
                )),
                read: false,
            })
        }
    }
}

/// A regular file whose contents and stat are still to be read; `walked`
/// (the walk's stat, if any) only sizes its place in the queue.
fn unread_file(s: &Selected, started_ns: i64, walked: Option<FileStat>) -> Hashed {
    Hashed {
        path: s.display.clone(),
        kind: Kind::File,
        sha256: [0; 32],
        executable: false,
        symlink: None,
        cache: Some((
            s.real.clone(),
            Entry {
                key: walked.map(|w| w.key).unwrap_or_default(),
                sha256: [0; 32],
                hashed_at_ns: started_ns,
            },
        )),
        read: true,
    }
}

fn cache_date(cache: &StatCache, path: &str) -> Option<i64> {
    cache.entry(path).map(|e| e.hashed_at_ns)
}
