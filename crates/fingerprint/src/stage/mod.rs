//! The build context the builder gets: exactly the fingerprinted entries,
//! normalised the way the fingerprint sees them.
//!
//! The fingerprint ignores modes other than the executable bit, owners,
//! mtimes, ignored files and files no instruction reads. If the builder read
//! the checkout itself, all of those would reach the image (COPY keeps full
//! modes and BuildKit keeps mtimes) while the fingerprint said "no change".
//! So the builder gets a private snapshot instead: regular files 0644, or
//! 0755 when executable; directories 0755; symlinks as links; owner 0:0
//! (when we may chown); every mtime [`MTIME`]. Each file is hashed while it
//! is copied and compared with the fingerprint, so a file that changed in
//! between is an error naming it, never a silently different image.
//!
//! Copying a large context for every build costs seconds, so a context's
//! snapshot can be kept between builds (`kept`).

mod kept;

pub use kept::{remove_unused, snapshot_dir, snapshots_root, stage_incremental, Snapshot};

use crate::manifest::{EntryType, FileEntry};
use crate::Fingerprint;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::{File, FileTimes, OpenOptions, Permissions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The one mtime of every staged entry: 2000-01-01T00:00:00Z. Not the epoch:
/// tools run by `RUN` steps (zip, Python wheels) reject times before 1980,
/// in any time zone.
pub const MTIME: u64 = 946_684_800;

/// Bytes copied per read.
const CHUNK: usize = 256 * 1024;

/// What staging did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Staged {
    /// Regular files written.
    pub files: usize,
    /// Their total size.
    pub bytes: u64,
    pub symlinks: usize,
    pub dirs: usize,
}

/// Why the snapshot could not be made.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error("{path} changed after it was fingerprinted ({detail}); nothing was built: run again")]
    Changed { path: String, detail: String },
    #[error("{path} was removed after it was fingerprinted; nothing was built: run again")]
    Removed { path: String },
    #[error("{path}: the fingerprint does not say where it was read (internal error)")]
    NoSource { path: String },
    #[error("{path} is both a directory and a symlink in the build context; it cannot be staged")]
    Conflict { path: String },
    #[error("staging the build context: {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub(super) fn io<'p>(
    what: &'static str,
    path: &'p Path,
) -> impl FnOnce(std::io::Error) -> StageError + 'p {
    move |source| StageError::Io {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes the snapshot of `fp`'s selection into `dest` (created; must not
/// exist yet).
pub fn stage(fp: &Fingerprint, dest: &Path) -> Result<Staged, StageError> {
    let files = &fp.manifest.files;
    let mut dirs: BTreeSet<&str> = BTreeSet::new();
    for f in files {
        let mut p = f.path.as_str();
        if f.kind == EntryType::Dir {
            dirs.insert(p);
        }
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if !dirs.insert(p) {
                break;
            }
        }
    }
    std::fs::DirBuilder::new()
        .mode(0o755)
        .create(dest)
        .map_err(io("create", dest))?;
    // Files we create belong to us; as root, the group may still need fixing.
    let root_meta = std::fs::metadata(dest).map_err(io("stat", dest))?;
    let owner = Owner {
        chown: root_meta.uid() == 0 && root_meta.gid() != 0,
    };
    // Sorted, so every parent exists before its children.
    for d in &dirs {
        let path = dest.join(d);
        std::fs::DirBuilder::new()
            .mode(0o755)
            .create(&path)
            .map_err(io("create", &path))?;
    }
    let times = FileTimes::new()
        .set_accessed(fixed_time())
        .set_modified(fixed_time());
    let stats = files
        .par_iter()
        .with_min_len(16)
        .map(|f| stage_entry(fp, f, dest, &owner, times))
        .try_reduce(Staged::default, |a, b| {
            Ok(Staged {
                files: a.files + b.files,
                bytes: a.bytes + b.bytes,
                symlinks: a.symlinks + b.symlinks,
                dirs: 0,
            })
        })?;
    // Directories last: writing into them changed their times.
    let all_dirs: Vec<PathBuf> = std::iter::once(dest.to_path_buf())
        .chain(dirs.iter().map(|d| dest.join(d)))
        .collect();
    all_dirs.par_iter().try_for_each(|path| {
        let dir = File::open(path).map_err(io("open", path))?;
        dir.set_permissions(Permissions::from_mode(0o755))
            .map_err(io("chmod", path))?;
        owner.fix(&dir, path)?;
        dir.set_times(times).map_err(io("set times of", path))
    })?;
    Ok(Staged {
        dirs: dirs.len(),
        ..stats
    })
}

pub(super) fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(MTIME)
}

pub(super) struct Owner {
    pub(super) chown: bool,
}

impl Owner {
    pub(super) fn fix(&self, file: &File, path: &Path) -> Result<(), StageError> {
        if self.chown {
            std::os::unix::fs::fchown(file, Some(0), Some(0)).map_err(io("chown", path))?;
        }
        Ok(())
    }
}

pub(super) fn stage_entry(
    fp: &Fingerprint,
    f: &FileEntry,
    dest: &Path,
    owner: &Owner,
    times: FileTimes,
) -> Result<Staged, StageError> {
    let target = dest.join(&f.path);
    let source = || {
        fp.sources.get(&f.path).ok_or_else(|| StageError::NoSource {
            path: f.path.clone(),
        })
    };
    let removed_or = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        let shown = f.path.clone();
        move |source: std::io::Error| match source.kind() {
            ErrorKind::NotFound => StageError::Removed { path: shown },
            _ => StageError::Io { what, path, source },
        }
    };
    match f.kind {
        EntryType::Dir | EntryType::Other => Ok(Staged::default()),
        EntryType::Symlink => {
            let abs = source()?;
            let link = std::fs::read_link(abs).map_err(removed_or("read link", abs))?;
            let link = link.to_string_lossy().into_owned();
            if f.symlink.as_deref() != Some(link.as_str()) {
                return Err(StageError::Changed {
                    path: f.path.clone(),
                    detail: format!(
                        "symlink to {:?}, now to {link:?}",
                        f.symlink.as_deref().unwrap_or_default()
                    ),
                });
            }
            std::os::unix::fs::symlink(&link, &target).map_err(io("create", &target))?;
            if owner.chown {
                std::os::unix::fs::lchown(&target, Some(0), Some(0))
                    .map_err(io("chown", &target))?;
            }
            set_link_times(&target)?;
            Ok(Staged {
                symlinks: 1,
                ..Staged::default()
            })
        }
        EntryType::File => {
            let abs = source()?;
            let mut input = File::open(abs).map_err(removed_or("open", abs))?;
            let mode = if f.executable { 0o755 } else { 0o644 };
            let mut output = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&target)
                .map_err(io("create", &target))?;
            let bytes = copy_hashing(&mut input, &mut output, abs, &target, &f.sha256, &f.path)?;
            output
                .set_permissions(Permissions::from_mode(mode))
                .map_err(io("chmod", &target))?;
            owner.fix(&output, &target)?;
            output
                .set_times(times)
                .map_err(io("set times of", &target))?;
            Ok(Staged {
                files: 1,
                bytes,
                ..Staged::default()
            })
        }
    }
}

/// Copies `input` to `output`, hashing exactly the bytes written, and
/// checks the hash against the fingerprint's.
fn copy_hashing(
    input: &mut File,
    output: &mut File,
    abs: &Path,
    target: &Path,
    expected_hex: &str,
    shown: &str,
) -> Result<u64, StageError> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; CHUNK]);
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(StageError::Io {
                        what: "read",
                        path: abs.to_path_buf(),
                        source,
                    })
                }
            };
            hasher.update(&buf[..n]);
            output.write_all(&buf[..n]).map_err(io("write", target))?;
            total += n as u64;
        }
        let found = hex::encode(hasher.finalize());
        if found != expected_hex {
            return Err(StageError::Changed {
                path: shown.to_string(),
                detail: format!(
                    "fingerprinted content sha256:{}, now sha256:{}",
                    short(expected_hex),
                    short(&found)
                ),
            });
        }
        Ok(total)
    })
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

fn set_link_times(path: &Path) -> Result<(), StageError> {
    let t = filetime::FileTime::from_unix_time(MTIME as i64, 0);
    filetime::set_symlink_file_times(path, t, t).map_err(io("set times of", path))
}
