//! Content hashing of the selected context entries, in parallel on all
//! cores (`sha2` picks the CPU's SHA extensions at run time).
//!
//! Per entry we record only what COPY carries into the image and we choose
//! to honour: contents, "executable by anyone" and, for symlinks, the link
//! text (never followed). Owner, mtime and the other permission bits are
//! left out so checkouts with different umasks agree.

use crate::sources::Selected;
use crate::statcache::{Entry, StatCache, StatKey};
use crate::tree::Kind;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::io::Read;
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

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 256 * 1024]);
}

/// Hashes every selected entry. `started_ns` is when this run started (it
/// dates the new stat-cache entries).
pub fn hash_all(
    selected: &[Selected],
    cache: &StatCache,
    started_ns: i64,
) -> Result<Vec<Hashed>, HashError> {
    selected
        .par_iter()
        .with_min_len(8)
        .map(|s| hash_one(s, cache, started_ns))
        .collect()
}

fn hash_one(s: &Selected, cache: &StatCache, started_ns: i64) -> Result<Hashed, HashError> {
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
                sha256: Sha256::digest(target.as_bytes()).into(),
                executable: false,
                symlink: Some(target),
                cache: None,
                read: false,
            })
        }
        Kind::Dir | Kind::Other => Ok(Hashed {
            path: s.display.clone(),
            kind: s.kind,
            sha256: Sha256::digest(b"").into(),
            executable: false,
            symlink: None,
            cache: None,
            read: false,
        }),
        Kind::File => {
            let meta = match &s.meta {
                Some(meta) => meta.clone(),
                None => std::fs::symlink_metadata(&s.abs).map_err(err)?,
            };
            let executable = is_executable(&meta);
            let key = StatKey::from_metadata(&meta);
            let (sha256, read) = match cache.lookup(&s.real, &key) {
                Some(hash) => (hash, false),
                None => (hash_file(&s.abs, meta.len()).map_err(err)?, true),
            };
            let hashed_at_ns = if read {
                started_ns
            } else {
                // Reused: keep the date of the original read.
                cache_date(cache, &s.real).unwrap_or(started_ns)
            };
            Ok(Hashed {
                path: s.display.clone(),
                kind: Kind::File,
                sha256,
                executable,
                symlink: None,
                cache: Some((
                    s.real.clone(),
                    Entry {
                        key,
                        sha256,
                        hashed_at_ns,
                    },
                )),
                read,
            })
        }
    }
}

fn cache_date(cache: &StatCache, path: &str) -> Option<i64> {
    cache.entry(path).map(|e| e.hashed_at_ns)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &std::fs::Metadata) -> bool {
    false
}

/// SHA-256 of a file's contents. `expected_len` is the size from `lstat`:
/// a file that small is read with one call, without a second read to see
/// end-of-file (a file that changes while being read is re-read on the next
/// run anyway, since its stat changes).
pub fn hash_file(path: &std::path::Path, expected_len: u64) -> std::io::Result<[u8; 32]> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    BUFFER.with(|buffer| -> std::io::Result<()> {
        let mut buffer = buffer.borrow_mut();
        if let Ok(len) = usize::try_from(expected_len) {
            if len < buffer.len() {
                let mut filled = 0;
                while filled < len {
                    match file.read(&mut buffer[filled..len]) {
                        Ok(0) => break,
                        Ok(n) => filled += n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                hasher.update(&buffer[..filled]);
                return Ok(());
            }
        }
        loop {
            let n = match file.read(&mut buffer) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                return Ok(());
            }
            hasher.update(&buffer[..n]);
        }
    })?;
    Ok(hasher.finalize().into())
}
