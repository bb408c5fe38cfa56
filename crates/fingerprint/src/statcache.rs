//! Stat cache: (path, size, mtime, ctime, inode) -> content hash, so an
//! unchanged context re-fingerprints without reading file contents.
//!
//! Racy entries: a file changed in the same timestamp tick as it was hashed
//! would keep its stat, so each entry remembers when its hash was taken and
//! is trusted only if the file's mtime and ctime are older than that by a
//! margin covering coarse (up to 2 s) filesystem timestamps, like git's
//! racy-git rule. A missing, foreign or corrupt cache file just means a cold
//! run; the file is replaced atomically (write + rename).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"IDFPSC02";
/// Timestamps closer than this to the hashing time are not trusted.
pub const RACY_MARGIN_NS: i64 = 2_000_000_000;

/// The stat fields that must be unchanged for a cached hash to be reused.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatKey {
    pub size: u64,
    pub mtime_ns: i64,
    pub ctime_ns: i64,
    pub inode: u64,
}

impl StatKey {
    #[cfg(unix)]
    pub fn from_metadata(meta: &std::fs::Metadata) -> StatKey {
        use std::os::unix::fs::MetadataExt;
        StatKey {
            size: meta.len(),
            mtime_ns: meta.mtime().saturating_mul(1_000_000_000) + meta.mtime_nsec(),
            ctime_ns: meta.ctime().saturating_mul(1_000_000_000) + meta.ctime_nsec(),
            inode: meta.ino(),
        }
    }

    #[cfg(not(unix))]
    pub fn from_metadata(meta: &std::fs::Metadata) -> StatKey {
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        StatKey {
            size: meta.len(),
            mtime_ns,
            ctime_ns: mtime_ns,
            inode: 0,
        }
    }
}

/// What the fingerprint needs from a regular file's `lstat`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileStat {
    pub key: StatKey,
    /// Executable by anyone (the one permission bit that counts).
    pub executable: bool,
}

impl FileStat {
    pub fn from_metadata(meta: &std::fs::Metadata) -> FileStat {
        FileStat {
            key: StatKey::from_metadata(meta),
            executable: is_executable(meta),
        }
    }
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

/// One cached hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub key: StatKey,
    pub sha256: [u8; 32],
    /// When the run that read this content started (ns since the epoch).
    pub hashed_at_ns: i64,
}

impl Entry {
    /// Whether the hash can be trusted for a file that still has `key`.
    pub fn trusted_for(&self, key: &StatKey) -> bool {
        self.key == *key
            && key
                .mtime_ns
                .max(key.ctime_ns)
                .saturating_add(RACY_MARGIN_NS)
                <= self.hashed_at_ns
    }
}

/// Cached hashes keyed by context-relative path.
#[derive(Debug, Clone, Default)]
pub struct StatCache {
    entries: HashMap<String, Entry>,
}

impl FromIterator<(String, Entry)> for StatCache {
    fn from_iter<I: IntoIterator<Item = (String, Entry)>>(iter: I) -> StatCache {
        StatCache {
            entries: iter.into_iter().collect(),
        }
    }
}

impl StatCache {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The cached hash for `path`, if its stat is unchanged and not racy.
    pub fn lookup(&self, path: &str, key: &StatKey) -> Option<[u8; 32]> {
        self.entries
            .get(path)
            .filter(|e| e.trusted_for(key))
            .map(|e| e.sha256)
    }

    /// The raw entry for a path, trusted or not.
    pub fn entry(&self, path: &str) -> Option<&Entry> {
        self.entries.get(path)
    }

    pub fn insert(&mut self, path: String, entry: Entry) {
        self.entries.insert(path, entry);
    }

    /// Reads a cache file; anything unreadable gives an empty cache.
    pub fn load(path: &Path) -> StatCache {
        std::fs::read(path)
            .ok()
            .and_then(|bytes| decode(&bytes))
            .unwrap_or_default()
    }

    /// Writes the cache atomically (temporary file in the same directory,
    /// then rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)?;
        let bytes = encode(&self.entries);
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            std::process::id()
        ));
        let result = (|| {
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }
}

/// Where the cache for a context lives inside a cache root: one file per
/// context directory, named by a hash of its absolute path.
pub fn file_for(cache_root: &Path, context_abs: &Path) -> PathBuf {
    let digest = Sha256::digest(context_abs.to_string_lossy().as_bytes());
    cache_root.join(format!("{}.bin", &hex::encode(digest)[..32]))
}

/// The user's cache root: `$XDG_CACHE_HOME/imagedeploy/fingerprint`, else
/// `~/.cache/imagedeploy/fingerprint`.
pub fn default_root() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })?;
    Some(base.join("imagedeploy").join("fingerprint"))
}

fn encode(entries: &HashMap<String, Entry>) -> Vec<u8> {
    let mut sorted: Vec<(&String, &Entry)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::with_capacity(16 + entries.len() * 96);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(sorted.len() as u64).to_le_bytes());
    for (path, e) in sorted {
        out.extend_from_slice(&(path.len() as u32).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(&e.key.size.to_le_bytes());
        out.extend_from_slice(&e.key.mtime_ns.to_le_bytes());
        out.extend_from_slice(&e.key.ctime_ns.to_le_bytes());
        out.extend_from_slice(&e.key.inode.to_le_bytes());
        out.extend_from_slice(&e.hashed_at_ns.to_le_bytes());
        out.extend_from_slice(&e.sha256);
    }
    let check = Sha256::digest(&out);
    out.extend_from_slice(&check);
    out
}

fn decode(bytes: &[u8]) -> Option<StatCache> {
    let body_len = bytes.len().checked_sub(32)?;
    let (body, check) = bytes.split_at(body_len);
    if Sha256::digest(body).as_slice() != check {
        return None;
    }
    let mut r = Reader { bytes: body };
    if r.take(8)? != MAGIC {
        return None;
    }
    let count = r.u64()?;
    let mut entries = HashMap::with_capacity(usize::try_from(count.min(1 << 24)).ok()?);
    for _ in 0..count {
        let len = r.u32()? as usize;
        let path = std::str::from_utf8(r.take(len)?).ok()?.to_string();
        let key = StatKey {
            size: r.u64()?,
            mtime_ns: r.i64()?,
            ctime_ns: r.i64()?,
            inode: r.u64()?,
        };
        let hashed_at_ns = r.i64()?;
        let sha256: [u8; 32] = r.take(32)?.try_into().ok()?;
        entries.insert(
            path,
            Entry {
                key,
                sha256,
                hashed_at_ns,
            },
        );
    }
    if !r.bytes.is_empty() {
        return None;
    }
    Some(StatCache { entries })
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Some(head)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(mtime_ns: i64) -> StatKey {
        StatKey {
            size: 10,
            mtime_ns,
            ctime_ns: mtime_ns,
            inode: 7,
        }
    }

    #[test]
    fn round_trip_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.bin");
        let mut cache = StatCache::default();
        cache.insert(
            "a/b.txt".into(),
            Entry {
                key: key(1_000),
                sha256: [3; 32],
                hashed_at_ns: 10_000_000_000,
            },
        );
        cache.save(&path).unwrap();
        let loaded = StatCache::load(&path);
        assert_eq!(loaded.lookup("a/b.txt", &key(1_000)), Some([3; 32]));
        assert_eq!(loaded.lookup("a/b.txt", &key(1_001)), None);

        let mut bytes = std::fs::read(&path).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        assert!(StatCache::load(&path).is_empty());
        std::fs::write(&path, b"garbage").unwrap();
        assert!(StatCache::load(&path).is_empty());
        assert!(StatCache::load(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn racy_entries_are_not_trusted() {
        let hashed_at = 100 * 1_000_000_000;
        let e = Entry {
            key: key(hashed_at - 1_000),
            sha256: [1; 32],
            hashed_at_ns: hashed_at,
        };
        assert!(
            !e.trusted_for(&e.key),
            "same-tick modification must be re-read"
        );
        let old = Entry {
            key: key(hashed_at - 3 * 1_000_000_000),
            ..e
        };
        assert!(old.trusted_for(&old.key));
    }
}
