//! A context's snapshot kept between builds: only entries whose hash changed
//! are copied again. A kept entry is trusted only while its stat (inode,
//! ctime, size, mode, owner, mtime) is exactly what was recorded after
//! writing it; any change to it moves its ctime. The snapshot is locked while
//! a build reads it, so builds of one context take turns.

use super::{fixed_time, io, stage, stage_entry, Owner, StageError, Staged, MTIME};
use crate::manifest::{EntryType, FileEntry};
use crate::Fingerprint;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, FileTimes, OpenOptions, Permissions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

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

/// Where every kept snapshot lives (`<cache>/imagedeploy/contexts`).
pub fn snapshots_root() -> Option<PathBuf> {
    Some(crate::statcache::default_root()?.parent()?.join("contexts"))
}

/// Removes the kept snapshots under `root` not used for `max_age` (a use
/// rewrites the snapshot's index) and not locked by a build now; stops
/// after `budget`. Returns how many were removed.
pub fn remove_unused(
    root: &Path,
    max_age: std::time::Duration,
    budget: std::time::Duration,
) -> usize {
    let started = std::time::Instant::now();
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        if started.elapsed() > budget {
            break;
        }
        let dir = entry.path();
        let last_use = [INDEX, "lock"]
            .iter()
            .filter_map(|f| std::fs::metadata(dir.join(f)).ok()?.modified().ok())
            .chain(entry.metadata().ok().and_then(|m| m.modified().ok()))
            .max();
        let unused = last_use
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age >= max_age);
        if !unused || !dir.is_dir() {
            continue;
        }
        // A build holds the lock while it reads the snapshot.
        let Ok(lock) = OpenOptions::new().write(true).open(dir.join("lock")) else {
            continue;
        };
        if lock.try_lock().is_err() {
            continue;
        }
        if std::fs::remove_dir_all(&dir).is_ok() {
            removed += 1;
        }
    }
    removed
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, SystemTime};

    fn snapshot(root: &Path, name: &str, age: Duration) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(dir.join("tree")).unwrap();
        let then = SystemTime::now() - age;
        for f in [INDEX, "lock"] {
            let file = File::create(dir.join(f)).unwrap();
            file.set_times(FileTimes::new().set_modified(then)).unwrap();
        }
        let d = File::open(&dir).unwrap();
        d.set_times(FileTimes::new().set_modified(then)).unwrap();
        dir
    }

    #[test]
    fn snapshots_unused_too_long_go_recent_and_locked_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        let day = Duration::from_secs(24 * 3600);
        let old = snapshot(root.path(), "old", 20 * day);
        let recent = snapshot(root.path(), "recent", day);
        let busy = snapshot(root.path(), "busy", 30 * day);
        let held = OpenOptions::new()
            .write(true)
            .open(busy.join("lock"))
            .unwrap();
        held.lock().unwrap();

        let removed = remove_unused(root.path(), 14 * day, Duration::from_secs(10));
        assert_eq!(removed, 1);
        assert!(!old.exists());
        assert!(recent.exists(), "used a day ago");
        assert!(busy.exists(), "a build holds it");
    }
}
