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
//! snapshot is kept between builds ([`Snapshot`]) and only entries whose hash
//! changed are copied again. A kept entry is trusted only while its stat
//! (inode, ctime, size, mode, owner, mtime) is exactly what we recorded
//! after writing it: any change to it moves its ctime.

use crate::manifest::{EntryType, FileEntry};
use crate::Fingerprint;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
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

fn io<'p>(what: &'static str, path: &'p Path) -> impl FnOnce(std::io::Error) -> StageError + 'p {
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

fn fixed_time() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(MTIME)
}

struct Owner {
    chown: bool,
}

impl Owner {
    fn fix(&self, file: &File, path: &Path) -> Result<(), StageError> {
        if self.chown {
            std::os::unix::fs::fchown(file, Some(0), Some(0)).map_err(io("chown", path))?;
        }
        Ok(())
    }
}

fn stage_entry(
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

/// A context's snapshot kept between builds, locked while a build reads it.
/// Dropping it releases the lock.
#[derive(Debug)]
pub struct Snapshot {
    /// The directory the builder reads.
    pub tree: PathBuf,
    pub staged: Staged,
    /// Entries copied this time (the rest were kept).
    pub copied: usize,
    _lock: File,
}

/// What a kept entry was when we wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Recorded {
    entry: FileEntry,
    ino: u64,
    ctime_ns: i64,
    size: u64,
    mode: u32,
}

const INDEX: &str = "index.json";

/// Where the kept snapshot of `context` lives: under the user's cache
/// directory (`$XDG_CACHE_HOME` or `~/.cache`), one per context directory.
pub fn snapshot_dir(context: &Path) -> Option<PathBuf> {
    let root = crate::statcache::default_root()?;
    let canonical = std::fs::canonicalize(context).ok()?;
    let key = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    Some(
        root.parent()?
            .join("contexts")
            .join(&hex::encode(key)[..32]),
    )
}

/// Brings the snapshot in `dir` (created if needed) to exactly `fp`'s
/// selection, copying (and hashing) only what changed, and locks it until
/// the returned [`Snapshot`] is dropped. Builds of one context take turns.
pub fn stage_incremental(fp: &Fingerprint, dir: &Path) -> Result<Snapshot, StageError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let lock_path = dir.join("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io("open", &lock_path))?;
    lock.lock().map_err(io("lock", &lock_path))?;
    let tree = dir.join("tree");
    let index_path = dir.join(INDEX);
    let old: BTreeMap<String, Recorded> = std::fs::read(&index_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    // The index describes the tree only once a run finished: a run that
    // fails half-way leaves no index, so the next one starts afresh.
    let _ = std::fs::remove_file(&index_path);
    if old.is_empty() || !tree.is_dir() {
        remove_all(&tree)?;
        let staged = stage(fp, &tree)?;
        let recorded = record(fp, &tree)?;
        write_index(&index_path, &recorded)?;
        return Ok(Snapshot {
            tree,
            staged,
            copied: staged.files + staged.symlinks,
            _lock: lock,
        });
    }

    let wanted: BTreeMap<&str, &FileEntry> = fp
        .manifest
        .files
        .iter()
        .map(|f| (f.path.as_str(), f))
        .collect();
    let mut dirs: BTreeSet<String> = BTreeSet::new();
    for f in &fp.manifest.files {
        if f.kind == EntryType::Dir {
            dirs.insert(f.path.clone());
        }
        let mut p = f.path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            if !dirs.insert(p.to_string()) {
                break;
            }
        }
    }
    for d in &dirs {
        if wanted
            .get(d.as_str())
            .is_some_and(|f| f.kind != EntryType::Dir)
        {
            return Err(StageError::Conflict { path: d.clone() });
        }
    }
    // Remove whatever is not exactly what we want and recorded.
    let mut present: BTreeSet<String> = BTreeSet::new();
    prune(&tree, "", &wanted, &dirs, &old, &mut present)?;
    // Create what is missing: directories first, then files and links.
    let times = FileTimes::new()
        .set_accessed(fixed_time())
        .set_modified(fixed_time());
    let root_meta = std::fs::metadata(&tree).map_err(io("stat", &tree))?;
    let owner = Owner {
        chown: root_meta.uid() == 0 && root_meta.gid() != 0,
    };
    for d in &dirs {
        if !present.contains(d) {
            let path = tree.join(d);
            std::fs::DirBuilder::new()
                .mode(0o755)
                .create(&path)
                .map_err(io("create", &path))?;
        }
    }
    let missing: Vec<&FileEntry> = fp
        .manifest
        .files
        .iter()
        .filter(|f| f.kind != EntryType::Dir && !present.contains(&f.path))
        .collect();
    missing
        .par_iter()
        .with_min_len(16)
        .try_for_each(|f| stage_entry(fp, f, &tree, &owner, times).map(|_| ()))?;
    let all_dirs: Vec<PathBuf> = std::iter::once(tree.clone())
        .chain(dirs.iter().map(|d| tree.join(d)))
        .collect();
    all_dirs.par_iter().try_for_each(|path| {
        let dir = File::open(path).map_err(io("open", path))?;
        dir.set_permissions(Permissions::from_mode(0o755))
            .map_err(io("chmod", path))?;
        owner.fix(&dir, path)?;
        dir.set_times(times).map_err(io("set times of", path))
    })?;
    let recorded = record(fp, &tree)?;
    write_index(&index_path, &recorded)?;
    let mut staged = Staged {
        dirs: dirs.len(),
        ..Staged::default()
    };
    for f in &fp.manifest.files {
        match f.kind {
            EntryType::File => {
                staged.files += 1;
                staged.bytes += recorded.get(&f.path).map_or(0, |r| r.size);
            }
            EntryType::Symlink => staged.symlinks += 1,
            _ => {}
        }
    }
    Ok(Snapshot {
        tree,
        staged,
        copied: missing.len(),
        _lock: lock,
    })
}

fn remove_all(path: &Path) -> Result<(), StageError> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StageError::Io {
            what: "remove",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Walks the kept tree, removing every entry that is not wanted or not
/// exactly as recorded; `present` gets what stays.
fn prune(
    tree: &Path,
    rel: &str,
    wanted: &BTreeMap<&str, &FileEntry>,
    dirs: &BTreeSet<String>,
    old: &BTreeMap<String, Recorded>,
    present: &mut BTreeSet<String>,
) -> Result<(), StageError> {
    let abs = if rel.is_empty() {
        tree.to_path_buf()
    } else {
        tree.join(rel)
    };
    let entries = std::fs::read_dir(&abs).map_err(io("list", &abs))?;
    for entry in entries {
        let entry = entry.map_err(io("list", &abs))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if rel.is_empty() {
            name
        } else {
            format!("{rel}/{name}")
        };
        let full = entry.path();
        let meta = std::fs::symlink_metadata(&full).map_err(io("stat", &full))?;
        if meta.is_dir() {
            if dirs.contains(&path) {
                present.insert(path.clone());
                prune(tree, &path, wanted, dirs, old, present)?;
            } else {
                remove_all(&full)?;
            }
            continue;
        }
        let keep = match (wanted.get(path.as_str()), old.get(&path)) {
            (Some(want), Some(rec)) => {
                rec.entry == **want
                    && rec.ino == meta.ino()
                    && rec.ctime_ns == ctime_ns(&meta)
                    && rec.size == meta.len()
                    && rec.mode == meta.mode()
                    && meta.mtime() == MTIME as i64
            }
            _ => false,
        };
        if keep {
            present.insert(path);
        } else {
            std::fs::remove_file(&full).map_err(io("remove", &full))?;
        }
    }
    Ok(())
}

fn ctime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.ctime()
        .saturating_mul(1_000_000_000)
        .saturating_add(meta.ctime_nsec())
}

/// The stat of every file and link as written, for the next run.
fn record(fp: &Fingerprint, tree: &Path) -> Result<BTreeMap<String, Recorded>, StageError> {
    fp.manifest
        .files
        .par_iter()
        .filter(|f| matches!(f.kind, EntryType::File | EntryType::Symlink))
        .map(|f| {
            let path = tree.join(&f.path);
            let meta = std::fs::symlink_metadata(&path).map_err(io("stat", &path))?;
            Ok((
                f.path.clone(),
                Recorded {
                    entry: f.clone(),
                    ino: meta.ino(),
                    ctime_ns: ctime_ns(&meta),
                    size: meta.len(),
                    mode: meta.mode(),
                },
            ))
        })
        .collect()
}

fn write_index(path: &Path, recorded: &BTreeMap<String, Recorded>) -> Result<(), StageError> {
    let bytes = serde_json::to_vec(recorded).map_err(|e| StageError::Io {
        what: "encode",
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(io("rename", &tmp))
}
