//! Writing generated files over a committed tree, and comparing the two.
//!
//! Build products and installed dependencies that live beside generated
//! files (node_modules, bin, __pycache__, egg-info) are not part of the SDK:
//! they are neither compared nor deleted.

use std::path::{Path, PathBuf};

use crate::error::GenError;
use crate::Files;

/// The SDK roots the generator owns inside the output directory.
const ROOTS: [&str; 2] = ["nodejs", "python"];

fn ignored(name: &str) -> bool {
    matches!(
        name,
        "node_modules" | "bin" | "__pycache__" | "build" | "dist" | ".venv"
    ) || name.ends_with(".egg-info")
        || name.ends_with(".pyc")
}

/// Files under `dir/nodejs` and `dir/python` by `/`-separated relative path, sorted.
pub fn list_files(dir: &Path) -> Result<Vec<String>, GenError> {
    let mut out = Vec::new();
    for root in ROOTS {
        let base = dir.join(root);
        if base.is_dir() {
            walk(&base, root, &mut out)?;
        }
    }
    out.sort();
    Ok(out)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), GenError> {
    let entries = std::fs::read_dir(dir).map_err(|error| GenError::Read {
        path: dir.to_path_buf(),
        error,
    })?;
    for entry in entries {
        let entry = entry.map_err(|error| GenError::Read {
            path: dir.to_path_buf(),
            error,
        })?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if ignored(&name) {
            continue;
        }
        let path = entry.path();
        let rel = format!("{prefix}/{name}");
        if path.is_dir() {
            walk(&path, &rel, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Writes `files` under `dir`, deletes files there that are no longer
/// generated, and leaves unchanged files untouched. Returns the paths changed.
pub fn write_tree(files: &Files, dir: &Path) -> Result<Vec<String>, GenError> {
    let mut changed = Vec::new();
    for existing in list_files(dir)? {
        if !files.contains_key(&existing) {
            let path = dir.join(&existing);
            std::fs::remove_file(&path).map_err(|error| GenError::Write { path, error })?;
            changed.push(existing);
        }
    }
    for (rel, text) in files {
        let path: PathBuf = dir.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| GenError::Write {
                path: parent.to_path_buf(),
                error,
            })?;
        }
        std::fs::write(&path, text).map_err(|error| GenError::Write { path, error })?;
        changed.push(rel.clone());
    }
    for root in ROOTS {
        remove_empty_dirs(&dir.join(root));
    }
    changed.sort();
    Ok(changed)
}

fn remove_empty_dirs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && !ignored(&entry.file_name().to_string_lossy()) {
            remove_empty_dirs(&path);
            // Fails (and is meant to) when the directory is not empty.
            let _ = std::fs::remove_dir(&path);
        }
    }
}

/// Paths that differ between `files` and what is under `dir`: missing,
/// extra or with other content.
pub fn differences(files: &Files, dir: &Path) -> Result<Vec<String>, GenError> {
    let mut diffs = Vec::new();
    let existing = list_files(dir)?;
    for rel in &existing {
        if !files.contains_key(rel) {
            diffs.push(format!("{rel}: not generated any more"));
        }
    }
    for (rel, text) in files {
        match std::fs::read_to_string(dir.join(rel)) {
            Ok(on_disk) if &on_disk == text => {}
            Ok(_) => diffs.push(format!("{rel}: content differs")),
            Err(_) => diffs.push(format!("{rel}: missing")),
        }
    }
    Ok(diffs)
}
