//! Reads and hashes many files, two at a time per thread.
//!
//! Each worker keeps two files "in flight" (see [`crate::sha256`]): it reads
//! a chunk of each into its own buffer and feeds the blocks both have to the
//! two-lane compressor; whichever file runs out first is refilled or
//! replaced by the next file from a shared queue. The queue hands out the
//! largest files first so no core is left with one big file at the end.

use crate::sha256::{self, State, BLOCK, MAX_PADDING_OUTPUT};
use crate::statcache::FileStat;
use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Bytes read per call (whole blocks).
const CHUNK: usize = 256 * 1024;

/// Files this large are mapped instead of read (Linux). From 256 KiB up it
/// makes no measurable difference; below, mapping costs more than copying.
const MAP_AT_LEAST: u64 = 1024 * 1024;

#[cfg(target_os = "linux")]
use super::mapped::Mapping;

/// Elsewhere every file is read.
#[cfg(not(target_os = "linux"))]
struct Mapping;

#[cfg(not(target_os = "linux"))]
impl Mapping {
    fn new(_file: &File, _len: usize, _slot: usize) -> std::io::Result<Mapping> {
        Err(std::io::Error::from(ErrorKind::Unsupported))
    }
    fn bytes(&self) -> &[u8] {
        &[]
    }
    fn truncated(&self) -> bool {
        false
    }
}

/// A file to hash. `size_hint` (the walk's `lstat` size, 0 if unknown)
/// only orders the queue; the stat recorded is taken from the open file.
pub struct Job<'a> {
    pub path: &'a Path,
    pub size_hint: u64,
}

/// A hashed file and the stat its hash belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content {
    pub sha256: [u8; 32],
    pub stat: FileStat,
}

type Outcome = std::io::Result<Content>;

/// The contents of each job, in job order, with the stat of the opened file
/// (a final symlink is never followed).
///
/// Reading stops at that stat's size: a file that changes while it is read
/// gets a new stat, so the stat cache re-reads it next time.
pub fn hash_files(jobs: &[Job<'_>]) -> Vec<Outcome> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    // Largest known sizes first; unknown sizes keep the walk's order.
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].size_hint));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Outcome>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len().div_ceil(2))
        .max(1);
    let take = || {
        let i = next.fetch_add(1, Ordering::Relaxed);
        order.get(i).copied()
    };
    let record =
        |job: usize, result| results.lock().unwrap_or_else(|e| e.into_inner())[job] = Some(result);
    std::thread::scope(|scope| {
        for _ in 1..workers {
            scope.spawn(|| work(jobs, &take, &record));
        }
        work(jobs, &take, &record);
    });
    results
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(std::io::Error::other("file was not hashed"))))
        .collect()
}

/// One worker: two lanes, fed until the queue is empty.
fn work(jobs: &[Job<'_>], take: &dyn Fn() -> Option<usize>, record: &dyn Fn(usize, Outcome)) {
    let mut lanes = [Lane::new(0), Lane::new(1)];
    loop {
        for lane in &mut lanes {
            lane.make_ready(jobs, take, record);
        }
        let [a, b] = &mut lanes;
        match (a.job.is_some(), b.job.is_some()) {
            (true, true) => {
                let (a_state, a_data) = a.parts();
                let (b_state, b_data) = b.parts();
                let n = a_data.len().min(b_data.len());
                sha256::compress_pair(a_state, &a_data[..n], b_state, &b_data[..n]);
                a.start += n;
                b.start += n;
            }
            (true, false) => a.consume_all(),
            (false, true) => b.consume_all(),
            (false, false) => return,
        }
    }
}

/// One file being hashed.
struct Lane {
    /// This lane's guard slot for mappings.
    slot: usize,
    job: Option<usize>,
    file: Option<File>,
    stat: FileStat,
    /// Large files: the whole file, hashed in place.
    map: Option<Mapping>,
    /// Whether `start..end` is in `map` (else in `buf`).
    in_map: bool,
    state: State,
    /// Bytes read so far (the size to read is `stat.key.size`).
    read: u64,
    /// Blocks ready to hash are `start..end` of `map` or `buf`; once
    /// `padded`, the file's last blocks (padding included) are there.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    padded: bool,
}

impl Lane {
    fn new(slot: usize) -> Lane {
        Lane {
            slot,
            job: None,
            file: None,
            stat: FileStat::default(),
            map: None,
            in_map: false,
            state: State::default(),
            read: 0,
            buf: vec![0u8; CHUNK + MAX_PADDING_OUTPUT],
            start: 0,
            end: 0,
            padded: false,
        }
    }

    /// The state and the blocks ready for it.
    fn parts(&mut self) -> (&mut State, &[u8]) {
        let data = match (&self.map, self.in_map) {
            (Some(map), true) => map.bytes(),
            _ => &self.buf[..],
        };
        (&mut self.state, &data[self.start..self.end])
    }

    fn consume_all(&mut self) {
        let (state, data) = self.parts();
        sha256::compress(state, data);
        self.start = self.end;
    }

    /// Leaves the lane with blocks to hash, or idle when the queue is empty:
    /// records finished files, starts new ones, reads the next chunk.
    fn make_ready(
        &mut self,
        jobs: &[Job<'_>],
        take: &dyn Fn() -> Option<usize>,
        record: &dyn Fn(usize, Outcome),
    ) {
        loop {
            let Some(job) = self.job else {
                let Some(job) = take() else { return };
                if let Err(e) = self.start_job(job, &jobs[job]) {
                    record(job, Err(e));
                }
                continue;
            };
            if self.start < self.end {
                return;
            }
            let step = if self.padded {
                self.finish()
            } else if self.in_map {
                self.pad_mapped_tail();
                Ok(None)
            } else {
                self.fill().map(|()| None)
            };
            match step {
                Ok(None) => {}
                Ok(Some(content)) => record(job, Ok(content)),
                Err(e) => {
                    record(job, Err(e));
                    self.release();
                }
            }
        }
    }

    fn start_job(&mut self, job: usize, spec: &Job<'_>) -> std::io::Result<()> {
        let file = open_no_follow(spec.path)?;
        // The stat of what was opened (the walk's may be older; a file
        // swapped for a FIFO or device since must not be read).
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(std::io::Error::other(
                "no longer a regular file (replaced while hashing)",
            ));
        }
        let stat = FileStat::from_metadata(&meta);
        self.job = Some(job);
        self.stat = stat;
        self.state = State::default();
        self.read = 0;
        self.start = 0;
        self.end = 0;
        self.padded = false;
        self.in_map = false;
        if self.stat.key.size >= MAP_AT_LEAST {
            let map = usize::try_from(self.stat.key.size)
                .ok()
                .and_then(|n| Mapping::new(&file, n, self.slot).ok());
            if let Some(map) = map {
                self.end = map.bytes().len() / BLOCK * BLOCK;
                self.read = self.end as u64;
                self.map = Some(map);
                self.in_map = true;
            }
        }
        self.file = Some(file);
        Ok(())
    }

    /// The digest when the file was read whole; starts over with `read`
    /// when it shrank under its mapping.
    fn finish(&mut self) -> std::io::Result<Option<Content>> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no open file"))?;
        // A file that shrank within its last page raises no fault (the page
        // reads as zeros past the new end): the size tells.
        let shrank = self.map.is_some() && file.metadata()?.len() < self.stat.key.size;
        if shrank || self.map.as_ref().is_some_and(Mapping::truncated) {
            self.map = None;
            file.seek(SeekFrom::Start(0))?;
            self.state = State::default();
            self.read = 0;
            self.padded = false;
            self.in_map = false;
            return Ok(None);
        }
        let content = Content {
            sha256: self.state.digest(),
            stat: self.stat,
        };
        self.release();
        Ok(Some(content))
    }

    fn release(&mut self) {
        self.job = None;
        self.map = None;
        self.file = None;
        self.in_map = false;
    }

    /// After the mapped whole blocks: the tail and padding, from `buf`.
    fn pad_mapped_tail(&mut self) {
        let Some(map) = &self.map else { return };
        let bytes = map.bytes();
        let whole = bytes.len() / BLOCK * BLOCK;
        let total = bytes.len() as u64;
        self.end = sha256::pad(&bytes[whole..], total, &mut self.buf);
        self.start = 0;
        self.read = total;
        self.in_map = false;
        self.padded = true;
    }

    /// Reads the next chunk; pads the message when the file is done.
    fn fill(&mut self) -> std::io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no open file"))?;
        let want =
            usize::try_from(self.stat.key.size - self.read).map_or(CHUNK, |left| left.min(CHUNK));
        let mut got = 0;
        let mut eof = false;
        while got < want {
            match file.read(&mut self.buf[got..want]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.read += got as u64;
        let whole = got / BLOCK * BLOCK;
        self.start = 0;
        self.end = whole;
        if eof || self.read >= self.stat.key.size {
            let mut tail = [0u8; BLOCK];
            tail[..got - whole].copy_from_slice(&self.buf[whole..got]);
            self.end = whole + sha256::pad(&tail[..got - whole], self.read, &mut self.buf[whole..]);
            self.padded = true;
        }
        Ok(())
    }
}

/// Opens without following a final symlink and without waiting on a FIFO
/// (both can only appear if the entry changed since the walk).
fn open_no_follow(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(target_os = "linux")]
    std::os::unix::fs::OpenOptionsExt::custom_flags(
        &mut options,
        libc::O_NOFOLLOW | libc::O_NONBLOCK,
    );
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    fn stat(path: &Path) -> FileStat {
        FileStat::from_metadata(&std::fs::metadata(path).unwrap())
    }

    fn sha(bytes: &[u8]) -> [u8; 32] {
        sha2::Sha256::digest(bytes).into()
    }

    #[test]
    fn every_size_mix_matches_sha2() {
        let dir = tempfile::tempdir().unwrap();
        let sizes = [
            0usize,
            1,
            55,
            56,
            63,
            64,
            65,
            4095,
            CHUNK - 1,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 77,
            MAP_AT_LEAST as usize + 77,
            MAP_AT_LEAST as usize * 2,
            10,
            1000,
        ];
        let paths: Vec<_> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let p = dir.path().join(format!("f{i}"));
                let bytes: Vec<u8> = (0..size).map(|j| (j * 7 + i) as u8).collect();
                std::fs::write(&p, &bytes).unwrap();
                (p, bytes)
            })
            .collect();
        // Half with a stat from the walk, half without; sizes from
        // MAP_AT_LEAST up go through a mapping, paired with read lanes.
        let jobs: Vec<Job<'_>> = paths
            .iter()
            .enumerate()
            .map(|(i, (p, _))| Job {
                path: p,
                size_hint: if i % 2 == 0 { stat(p).key.size } else { 0 },
            })
            .collect();
        let got = hash_files(&jobs);
        for ((p, bytes), result) in paths.iter().zip(got) {
            let content = result.unwrap();
            assert_eq!(content.sha256, sha(bytes), "{}", p.display());
            assert_eq!(content.stat, stat(p), "{}", p.display());
        }
    }

    #[test]
    fn a_missing_file_fails_alone() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok");
        std::fs::write(&ok, b"hello").unwrap();
        let missing = dir.path().join("missing");
        let got = hash_files(&[
            Job {
                path: &missing,
                size_hint: 0,
            },
            Job {
                path: &ok,
                size_hint: 0,
            },
        ]);
        assert_eq!(got[0].as_ref().unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(got[1].as_ref().unwrap().sha256, sha(b"hello"));
    }

    #[test]
    fn a_stale_walk_stat_is_only_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let grown = dir.path().join("grown");
        std::fs::write(&grown, b"abcdef").unwrap();
        let shrunk = dir.path().join("shrunk");
        std::fs::write(&shrunk, b"ab").unwrap();
        let got = hash_files(&[
            Job {
                path: &grown,
                size_hint: 3,
            },
            Job {
                path: &shrunk,
                size_hint: 10,
            },
        ]);
        // Contents and stat are those of the opened file.
        assert_eq!(got[0].as_ref().unwrap().sha256, sha(b"abcdef"));
        assert_eq!(got[0].as_ref().unwrap().stat, stat(&grown));
        assert_eq!(got[1].as_ref().unwrap().sha256, sha(b"ab"));
    }

    #[test]
    fn a_file_that_shrank_since_the_walk_hashes_what_it_holds_now() {
        // The walk saw 1 MiB (would be mapped); the file now holds 10 bytes.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![1u8; 1 << 20]).unwrap();
        let before = stat(&path);
        std::fs::write(&path, b"0123456789").unwrap();
        let got = hash_files(&[Job {
            path: &path,
            size_hint: before.key.size,
        }]);
        assert_eq!(got[0].as_ref().unwrap().sha256, sha(b"0123456789"));
    }

    #[test]
    fn a_mapped_file_hashes_and_records_the_stat_of_what_was_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        let long = vec![3u8; MAP_AT_LEAST as usize + 4000];
        std::fs::write(&path, &long).unwrap();
        let before = stat(&path);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(MAP_AT_LEAST + 100)
            .unwrap();
        let got = hash_files(&[Job {
            path: &path,
            size_hint: before.key.size,
        }]);
        let content = got[0].as_ref().unwrap();
        assert_eq!(content.sha256, sha(&long[..MAP_AT_LEAST as usize + 100]));
        assert_eq!(content.stat, stat(&path));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_fifo_in_place_of_a_file_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("run mkfifo");
        assert!(made.success());
        let got = hash_files(&[Job {
            path: &path,
            size_hint: 0,
        }]);
        assert!(got[0].is_err(), "{:?}", got[0]);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_file_swapped_for_a_symlink_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"secret").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let got = hash_files(&[Job {
            path: &link,
            size_hint: 0,
        }]);
        assert!(got[0].is_err(), "{:?}", got[0]);
    }
}
