//! Reading a file whose path a user gave (a Dockerfile, a `.dockerignore`).
//!
//! A user can point such a path at anything: a FIFO (a plain open would
//! wait for a writer forever, and with it the plugin), a device such as
//! `/dev/zero` (a plain read never ends), a directory, or a file that is not
//! text at all (`/proc/self/environ`). So the file is opened non-blocking,
//! accepted only when it is a regular file, read up to a size limit, and
//! refused when it holds NUL bytes; no error ever quotes what was read.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest Dockerfile read (1 MiB).
pub const DOCKERFILE_LIMIT: u64 = 1 << 20;
/// Largest `.dockerignore` read (1 MiB).
pub const IGNORE_FILE_LIMIT: u64 = 1 << 20;

/// Why a user-given file was not read. Never carries its content.
#[derive(Debug, thiserror::Error)]
pub enum UserFileError {
    #[error("does not exist")]
    NotFound,
    #[error("is a {kind}, not a regular file")]
    NotRegular { kind: &'static str },
    #[error("is larger than the limit of {limit}")]
    TooLarge { limit: String },
    #[error("is not a text file (it contains NUL bytes)")]
    NotText,
    #[error("cannot be read: {0}")]
    Io(#[source] std::io::Error),
}

#[cfg(target_os = "linux")]
const NONBLOCK: i32 = libc::O_NONBLOCK | libc::O_NOCTTY;
#[cfg(not(target_os = "linux"))]
const NONBLOCK: i32 = 0;

/// The text of the regular file at `path`, at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, UserFileError> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(NONBLOCK)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => UserFileError::NotFound,
            // ENXIO: a socket (or a FIFO with no writer opened for writing).
            _ if e.raw_os_error() == Some(6) => UserFileError::NotRegular { kind: "socket" },
            _ => UserFileError::Io(e),
        })?;
    let kind = file.metadata().map_err(UserFileError::Io)?.file_type();
    if !kind.is_file() {
        let kind = if kind.is_dir() {
            "directory"
        } else if kind.is_fifo() {
            "FIFO (named pipe)"
        } else if kind.is_char_device() {
            "character device"
        } else if kind.is_block_device() {
            "block device"
        } else if kind.is_socket() {
            "socket"
        } else {
            "special file"
        };
        return Err(UserFileError::NotRegular { kind });
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(UserFileError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(UserFileError::TooLarge {
            limit: describe_size(limit),
        });
    }
    if bytes.contains(&0) {
        return Err(UserFileError::NotText);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn describe_size(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Dockerfile");
        std::fs::write(&path, "FROM scratch\n").unwrap();
        assert_eq!(read_text(&path, 100).unwrap(), "FROM scratch\n");
        assert!(matches!(
            read_text(&dir.path().join("missing"), 100),
            Err(UserFileError::NotFound)
        ));
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let started = Instant::now();
        let err = read_text(&fifo, DOCKERFILE_LIMIT).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(
            err.to_string(),
            "is a FIFO (named pipe), not a regular file"
        );
    }

    #[test]
    fn devices_directories_and_proc_files_are_refused_without_their_content() {
        let err = read_text(Path::new("/dev/zero"), DOCKERFILE_LIMIT).unwrap_err();
        assert_eq!(err.to_string(), "is a character device, not a regular file");
        let err = read_text(Path::new("/tmp"), DOCKERFILE_LIMIT).unwrap_err();
        assert_eq!(err.to_string(), "is a directory, not a regular file");
        let err = read_text(Path::new("/proc/self/environ"), DOCKERFILE_LIMIT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "is not a text file (it contains NUL bytes)"
        );
    }

    #[test]
    fn the_size_limit_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'#'; 2 << 20]).unwrap();
        let err = read_text(&path, DOCKERFILE_LIMIT).unwrap_err();
        assert_eq!(err.to_string(), "is larger than the limit of 1 MiB");
    }
}
