//! `.dockerignore` handling with Docker's exact semantics.
//!
//! Ignored files are invisible to COPY and ADD, so the fingerprint must apply
//! the same rules Docker applies when it sends the context, or it would hash
//! files the build never sees (or miss ones it does).

mod file;
mod matcher;
mod pattern;

pub use file::{parse as parse_file, Line};
pub use matcher::{BadPatternAt, MatchInfo, Matcher};
pub use pattern::{Pattern, PatternError};

use std::path::{Path, PathBuf};

/// The ignore rules in force for one build, and where they came from.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    pub source: Option<PathBuf>,
    pub matcher: Matcher,
}

/// Errors reading or compiling an ignore file.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error("ignore file {path} {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: crate::userfile::UserFileError,
    },
    #[error("{path} line {line}: invalid pattern {pattern:?}: {error}")]
    Pattern {
        path: PathBuf,
        line: usize,
        pattern: String,
        error: PatternError,
    },
}

/// Finds the ignore file for a build: `<Dockerfile>.dockerignore` next to the
/// Dockerfile wins over `<context>/.dockerignore`.
pub fn locate(context: &Path, dockerfile: Option<&Path>) -> Option<PathBuf> {
    if let Some(df) = dockerfile {
        if let Some(name) = df.file_name() {
            let mut specific = name.to_os_string();
            specific.push(".dockerignore");
            let candidate = df.with_file_name(specific);
            if present(&candidate) {
                return Some(candidate);
            }
        }
    }
    let general = context.join(".dockerignore");
    present(&general).then_some(general)
}

/// An ignore file is there when anything but a directory has its name: a
/// FIFO or device there is reported when read, not silently skipped.
fn present(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| !m.is_dir())
}

/// Loads and compiles the rules (no file means nothing is ignored).
pub fn load(context: &Path, dockerfile: Option<&Path>) -> Result<IgnoreRules, IgnoreError> {
    let Some(path) = locate(context, dockerfile) else {
        return Ok(IgnoreRules::default());
    };
    let text = crate::userfile::read_text(&path, crate::userfile::IGNORE_FILE_LIMIT).map_err(
        |source| IgnoreError::Read {
            path: path.clone(),
            source,
        },
    )?;
    let matcher = compile(&text).map_err(|(line, pattern, error)| IgnoreError::Pattern {
        path: path.clone(),
        line,
        pattern,
        error,
    })?;
    Ok(IgnoreRules {
        source: Some(path),
        matcher,
    })
}

/// Compiles ignore-file text; on failure returns the line, pattern and error.
pub fn compile(text: &str) -> Result<Matcher, (usize, String, PatternError)> {
    let lines = parse_file(text);
    let patterns: Vec<&str> = lines.iter().map(|l| l.pattern.as_str()).collect();
    Matcher::new(&patterns).map_err(|bad| {
        let line = &lines[bad.index];
        (line.line, line.pattern.clone(), bad.error)
    })
}
