//! One temp root for everything a build writes besides the kept snapshots
//! (work directory with the registry auth file, secret files, OCI layouts),
//! so what a killed plugin left can be found and removed.
//!
//! Entries are `$TMPDIR/imagedeploy-<uid>/<kind>-<pid>-<random>`: the root
//! is private to the user (0700), and the pid in each name says which
//! process made it. A plugin removes its own entries when a build ends
//! (they are `TempDir`s); [`remove_leftovers`], run when a plugin starts,
//! removes those whose process no longer exists.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rustix::process::{test_kill_process, Pid};

/// `$TMPDIR/imagedeploy-<uid>`.
pub fn root() -> PathBuf {
    std::env::temp_dir().join(format!(
        "imagedeploy-{}",
        rustix::process::getuid().as_raw()
    ))
}

/// A new private directory `<root>/<kind>-<pid>-<random>`, removed on drop.
pub(crate) fn tempdir(kind: &str) -> std::io::Result<tempfile::TempDir> {
    let root = root();
    std::fs::create_dir_all(&root)?;
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o700))?;
    tempfile::Builder::new()
        .prefix(&format!("{kind}-{}-", std::process::id()))
        .tempdir_in(&root)
}

/// The pid recorded in an entry name `<kind>-<pid>-<random>`.
fn pid_of(name: &str) -> Option<u32> {
    let mut parts = name.split('-');
    let _kind = parts.next()?;
    parts.next()?.parse().ok()
}

fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return false;
    };
    // EPERM: it exists but is someone else's; only ESRCH means gone.
    !matches!(test_kill_process(pid), Err(e) if e == rustix::io::Errno::SRCH)
}

/// Removes the entries of `root` whose process is gone; returns how many.
pub fn remove_leftovers_in(root: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(pid_of) else {
            continue;
        };
        if pid == std::process::id() || alive(pid) {
            continue;
        }
        let path = entry.path();
        let gone = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        match gone {
            Ok(()) => removed += 1,
            Err(e) => tracing::debug!(path = %path.display(), error = %e, "leftover not removed"),
        }
    }
    removed
}

/// [`remove_leftovers_in`] the temp root.
pub fn remove_leftovers() -> usize {
    remove_leftovers_in(&root())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_of_dead_processes_go_and_live_ones_stay() {
        let root = tempfile::tempdir().unwrap();
        // A process that has certainly exited: a child we waited for.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let dead_dir = root.path().join(format!("build-{dead}-abc"));
        std::fs::create_dir_all(dead_dir.join("auth")).unwrap();
        std::fs::write(dead_dir.join("auth/config.json"), "{}").unwrap();
        let mine = root
            .path()
            .join(format!("secrets-{}-xyz", std::process::id()));
        std::fs::create_dir(&mine).unwrap();
        let parent = root
            .path()
            .join(format!("image-{}-q", std::os::unix::process::parent_id()));
        std::fs::create_dir(&parent).unwrap();
        let foreign = root.path().join("not-ours");
        std::fs::create_dir(&foreign).unwrap();

        assert_eq!(remove_leftovers_in(root.path()), 1);
        assert!(!dead_dir.exists());
        assert!(mine.exists() && parent.exists() && foreign.exists());
    }

    #[test]
    fn names_carry_the_pid() {
        assert_eq!(pid_of("build-123-abc"), Some(123));
        assert_eq!(pid_of("not-ours"), None);
        assert_eq!(pid_of("x"), None);
    }
}
