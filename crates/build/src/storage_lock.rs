//! One buildah sequence at a time per storage.
//!
//! buildah's layer cache is shared by every build that uses the same
//! storage. Two builds of the same Dockerfile end up as the same image, so
//! one build's clean-up can remove an image the other is still exporting
//! ("layer not known"). Pulumi runs resource operations in parallel, and
//! several provider processes may build at once, so builds that share a
//! storage take an exclusive file lock for bud + push + clean-up.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::BuildError;

/// Held for as long as the build uses the storage; released on drop.
pub(crate) struct StorageLock {
    _file: File,
}

/// The lock file for a private storage root, or for the system storage.
fn lock_path(storage: Option<&Path>) -> PathBuf {
    match storage {
        Some(root) => root.join("imagedeploy-build.lock"),
        None => std::env::temp_dir().join("imagedeploy-buildah-system-storage.lock"),
    }
}

impl StorageLock {
    /// Waits for the lock, giving up at `deadline` or on `cancel`.
    pub(crate) async fn acquire(
        storage: Option<&Path>,
        deadline: Instant,
        timeout_seconds: u64,
        cancel: &CancellationToken,
    ) -> Result<StorageLock, BuildError> {
        let path = lock_path(storage);
        let io = |source| BuildError::Io {
            what: format!("open the build lock {}", path.display()),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let mut announced = false;
        loop {
            if file.try_lock().is_ok() {
                return Ok(StorageLock { _file: file });
            }
            if !announced {
                crate::progress("waiting for another build that uses the same buildah storage");
                announced = true;
            }
            if cancel.is_cancelled() {
                return Err(BuildError::Cancelled);
            }
            if Instant::now() >= deadline {
                return Err(BuildError::TimedOut {
                    seconds: timeout_seconds,
                    tail: vec![
                        "still waiting for another build that uses the same buildah storage".into(),
                    ],
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_releases() {
        let dir = tempfile::tempdir().expect("tempdir");
        let never = CancellationToken::new();
        let far = Instant::now() + Duration::from_secs(10);
        let first = StorageLock::acquire(Some(dir.path()), far, 10, &never)
            .await
            .expect("first lock");
        let soon = Instant::now() + Duration::from_millis(300);
        let blocked = StorageLock::acquire(Some(dir.path()), soon, 1, &never).await;
        assert!(
            matches!(blocked, Err(BuildError::TimedOut { .. })),
            "second holder must wait"
        );
        drop(first);
        StorageLock::acquire(Some(dir.path()), far, 10, &never)
            .await
            .expect("free again after the first holder dropped its lock");
    }
}
