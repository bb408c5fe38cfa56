//! Large files are hashed straight from the page cache through a read-only
//! mapping: copying them out with `read` costs about a quarter of the
//! hashing itself.
//!
//! If another process truncates a file while it is mapped, touching the
//! pages past its new end raises SIGBUS, which would kill the provider. A
//! handler installed once turns exactly that fault (an address inside a
//! mapping the faulting thread registered) into zero pages plus a flag; the
//! caller sees the flag and reads the file again the ordinary way. Any
//! other SIGBUS goes to the handler that was there before.

use std::cell::Cell;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

/// How many mappings one thread can have registered at a time.
pub const SLOTS: usize = 2;

thread_local! {
    // Plain `const` cells: read from the signal handler, so no lazy
    // initialisation and no destructor.
    static GUARDED: [Cell<(usize, usize)>; SLOTS] = const { [Cell::new((0, 0)), Cell::new((0, 0))] };
    static FAULTED: [Cell<bool>; SLOTS] = const { [Cell::new(false), Cell::new(false)] };
}

/// The action that was installed for SIGBUS before ours.
static PREVIOUS: OnceLock<Option<libc::sigaction>> = OnceLock::new();

/// A read-only mapping of a whole file, registered in one of this thread's
/// guard slots while it lives. Not `Send`: the guard is per thread.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
    span: usize,
    slot: usize,
}

impl Mapping {
    /// Maps `len` bytes of `file` (its size from `lstat`, non-zero) into
    /// guard `slot`. Fails when the guard cannot be installed or mapping
    /// fails; callers then read the file instead.
    pub fn new(file: &File, len: usize, slot: usize) -> std::io::Result<Mapping> {
        assert!(slot < SLOTS && len > 0);
        if PREVIOUS.get_or_init(install).is_none() {
            return Err(std::io::Error::other("SIGBUS guard not installed"));
        }
        let span = len.div_ceil(page_size()) * page_size();
        // SAFETY: a fresh private read-only mapping of a file we opened.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        GUARDED.with(|g| g[slot].set((ptr as usize, ptr as usize + span)));
        FAULTED.with(|f| f[slot].set(false));
        Ok(Mapping {
            ptr,
            len,
            span,
            slot,
        })
    }

    /// The file's bytes. Past a concurrent truncation they read as zeros,
    /// and [`Mapping::truncated`] says so.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `len` readable bytes are mapped at `ptr` until drop; a
        // truncation replaces pages with zero pages, never unmaps them.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }

    /// Whether the file shrank under the mapping (its bytes are not the
    /// file's contents).
    pub fn truncated(&self) -> bool {
        // The flag is written by the signal handler on this thread; keep the
        // compiler from reusing an earlier read.
        std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
        FAULTED.with(|f| f[self.slot].get())
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        GUARDED.with(|g| g[self.slot].set((0, 0)));
        // SAFETY: unmapping what `new` mapped; no slice of it outlives self.
        unsafe { libc::munmap(self.ptr, self.span) };
    }
}

fn page_size() -> usize {
    static PAGE: OnceLock<usize> = OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *PAGE.get_or_init(|| {
        usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
    })
}

/// Installs the handler; returns the previous action (None on failure).
fn install() -> Option<libc::sigaction> {
    // SAFETY: plain sigaction calls with zero-initialised structs.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        libc::sigemptyset(&mut action.sa_mask);
        let mut previous: libc::sigaction = std::mem::zeroed();
        (libc::sigaction(libc::SIGBUS, &action, &mut previous) == 0).then_some(previous)
    }
}

extern "C" fn on_sigbus(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let hit = GUARDED.with(|g| {
        g.iter()
            .position(|s| (s.get().0..s.get().1).contains(&addr))
    });
    if let Some(slot) = hit {
        let end = GUARDED.with(|g| g[slot].get().1);
        let page = addr & !(page_size() - 1);
        // SAFETY: replaces pages inside our own mapping with anonymous zero
        // pages (mmap is a plain system call on Linux).
        let mapped = unsafe {
            libc::mmap(
                page as *mut libc::c_void,
                end - page,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if mapped != libc::MAP_FAILED {
            FAULTED.with(|f| f[slot].set(true));
            return;
        }
    }
    // Not ours: put the previous action back; returning re-runs the faulting
    // instruction under it.
    // SAFETY: sigaction and signal are async-signal-safe.
    unsafe {
        match PREVIOUS.get() {
            Some(Some(previous)) => {
                libc::sigaction(libc::SIGBUS, previous, std::ptr::null_mut());
            }
            // Still installing: the default action.
            _ => {
                libc::signal(libc::SIGBUS, libc::SIG_DFL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let file = File::open(&path).unwrap();
        let map = Mapping::new(&file, bytes.len(), 0).unwrap();
        assert_eq!(map.bytes(), &bytes[..]);
        assert!(!map.truncated());
    }

    #[test]
    fn a_truncation_under_the_mapping_is_a_flag_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 64 * 1024]).unwrap();
        let file = File::open(&path).unwrap();
        let map = Mapping::new(&file, 64 * 1024, 1).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(100)
            .unwrap();
        let sum: u64 = map.bytes().iter().map(|&b| u64::from(b)).sum();
        assert!(map.truncated());
        // The first 100 bytes are still the file's; the rest reads as zeros.
        assert_eq!(sum, 7 * 100);
    }
}
