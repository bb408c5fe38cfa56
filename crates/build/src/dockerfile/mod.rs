//! Pins base images in the private copy of the Dockerfile a build runs.
//!
//! The provider resolves every external image the fingerprint's plan lists
//! and asks for a build from exactly those digests; this module edits the
//! image word of each matching `FROM` and nothing else, so the builder's
//! line numbers still match the user's file. Parsing is the fingerprint
//! crate's BuildKit parser: one reading of the Dockerfile for the whole
//! provider.
//!
//! Which `FROM` lines are rewritten:
//! - the reference is taken after `ARG` substitution (global `ARG`s, the
//!   build args and the platform's `TARGET*` args, as the fingerprint plans
//!   it) and looked up in the overrides under that substituted text, so
//!   `FROM ${BASE}` is pinned when `BASE`'s value is; the whole image word
//!   (`${BASE}`) is then replaced;
//! - a `FROM` naming an earlier stage, `scratch`, or a reference whose
//!   substitution fails is left alone (the builder reports the failure);
//! - `--platform` and `AS name` are kept as written;
//! - `COPY --from=<image>` and
//!   `RUN --mount=...,from=<image>` are pinned the same way (the value only),
//!   when it names no stage; a value with variables is looked up after
//!   substitution with the global `ARG`s only, and left alone when that does
//!   not give a key of the overrides.

mod source;

use std::collections::BTreeMap;

use imagedeploy_fingerprint::dockerfile::{self as parser, Command, Dockerfile, Stage};

pub use parser::{ParseError, PlanError};

/// Why a Dockerfile could not be read or pinned.
#[derive(Debug, thiserror::Error)]
pub enum DockerfileError {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("line {line}: cannot use {replacement:?} in place of {reference}: a replacement must be one non-empty word")]
    BadReplacement {
        line: usize,
        reference: String,
        replacement: String,
    },
}

/// The external images a build of `target` (the last stage when `None`)
/// pulls, after `ARG` substitution with `args`, in order and without
/// duplicates: `FROM`, `COPY --from` and `RUN --mount=from` images of the
/// stages the target reaches. Earlier stages and `scratch` are left out.
/// This is the same list the fingerprint reports.
pub fn base_images(
    text: &str,
    target: Option<&str>,
    args: &BTreeMap<String, String>,
) -> Result<Vec<String>, DockerfileError> {
    let parsed = parser::parse(text)?;
    Ok(parser::plan(&parsed, target, args)?.base_images)
}

/// Rewrites the image word of each `FROM` whose reference, after `ARG`
/// substitution with `args`, is a key of `overrides` (e.g. `alpine:3` ->
/// `docker.io/library/alpine@sha256:...`). Every other byte stays, and the
/// line count too, so builder line numbers still match the user's file.
/// With no overrides the text is returned as is, without parsing.
pub fn rewrite_from(
    text: &str,
    args: &BTreeMap<String, String>,
    overrides: &BTreeMap<String, String>,
) -> Result<String, DockerfileError> {
    if overrides.is_empty() {
        return Ok(text.to_string());
    }
    let parsed = parser::parse(text)?;
    let original: Vec<&str> = text.split_inclusive('\n').collect();
    let mut lines: Vec<String> = original.iter().map(|l| l.to_string()).collect();
    let globals = Globals::new(&parsed, &original);
    for stage in &parsed.stages {
        let Some(reference) = external_base(&parsed, stage, &globals, args) else {
            continue;
        };
        let Some(replacement) = overrides.get(&reference) else {
            continue;
        };
        if replacement.is_empty() || replacement.chars().any(char::is_whitespace) {
            return Err(DockerfileError::BadReplacement {
                line: stage.from.line,
                reference,
                replacement: replacement.clone(),
            });
        }
        let joined = &stage.from.source;
        if let Some(word) = image_word(&joined.text, stage) {
            joined.replace(&mut lines, word, replacement);
        }
    }
    for stage in &parsed.stages {
        for instruction in &stage.instructions {
            let Some(value) = from_value(&instruction.command) else {
                continue;
            };
            let Some(replacement) =
                image_override(&parsed, stage, &globals, args, overrides, value)
            else {
                continue;
            };
            if replacement.is_empty() || replacement.chars().any(char::is_whitespace) {
                return Err(DockerfileError::BadReplacement {
                    line: instruction.line,
                    reference: value.to_string(),
                    replacement: replacement.clone(),
                });
            }
            let joined = &instruction.source;
            if let Some(range) = from_flag_value(&joined.text, value) {
                joined.replace(&mut lines, range, replacement);
            }
        }
    }
    Ok(lines.concat())
}

/// The image-or-stage value of `COPY --from=`, `ADD --from=` or the first
/// `RUN --mount=...,from=`.
fn from_value(command: &Command) -> Option<&str> {
    match command {
        Command::Copy(c) | Command::Add(c) => c.from.as_deref(),
        Command::Run(run) => run.mounts.iter().find_map(|m| m.from.as_deref()),
        _ => None,
    }
}

/// The override for a `--from` value naming an external image.
fn image_override<'a>(
    parsed: &Dockerfile,
    stage: &Stage,
    globals: &Globals,
    args: &BTreeMap<String, String>,
    overrides: &'a BTreeMap<String, String>,
    value: &str,
) -> Option<&'a String> {
    let lower = value.to_ascii_lowercase();
    let names_stage = value.parse::<usize>().is_ok()
        || parsed.stages[..stage.index]
            .iter()
            .any(|s| s.name.as_deref() == Some(lower.as_str()));
    if names_stage || lower == "scratch" {
        return None;
    }
    if let Some(found) = overrides.get(value) {
        return Some(found);
    }
    if value.contains('$') || value.contains(parsed.directives.escape) {
        return overrides.get(&globals.substitute(value, args)?);
    }
    None
}

/// Byte range of `value` as the value of a `--from=` flag or of a `from=`
/// field of a `--mount=` flag in an instruction's joined text.
fn from_flag_value(joined: &str, value: &str) -> Option<std::ops::Range<usize>> {
    for word in source::words(joined) {
        let text = &joined[word.clone()];
        if let Some(rest) = text.strip_prefix("--from=") {
            if rest == value {
                return Some(word.start + "--from=".len()..word.end);
            }
        }
        if let Some(fields) = text.strip_prefix("--mount=") {
            let mut offset = word.start + "--mount=".len();
            for field in fields.split(',') {
                if field.strip_prefix("from=") == Some(value) {
                    return Some(offset + "from=".len()..offset + field.len());
                }
                offset += field.len() + 1;
            }
        }
    }
    None
}

/// Byte range of the image word in a `FROM`'s joined text. The arguments
/// after the flags are `image` or `image AS name`, so counting from the end
/// avoids re-parsing flags (whose quoted values may hold blanks).
fn image_word(joined: &str, stage: &Stage) -> Option<std::ops::Range<usize>> {
    let words = source::words(joined);
    let from_end = if stage.name.is_some() { 3 } else { 1 };
    let word = words.get(words.len().checked_sub(from_end)?)?.clone();
    (&joined[word.clone()] == stage.base()).then_some(word)
}

/// The text before the first `FROM`: parser directives and global `ARG`s,
/// all that a `FROM` line's substitution can see.
struct Globals {
    preamble: String,
}

impl Globals {
    fn new(parsed: &Dockerfile, lines: &[&str]) -> Self {
        let first_from = parsed.stages.first().map_or(0, |s| s.from.line);
        let preamble = lines[..first_from.saturating_sub(1).min(lines.len())].concat();
        Self { preamble }
    }

    /// `image` with variables substituted, by planning a one-line build
    /// `FROM image` under the same globals: the fingerprint's own
    /// substitution, so the result matches the plan's `base_images`. `None`
    /// for `scratch` or when substitution fails.
    fn substitute(&self, image: &str, args: &BTreeMap<String, String>) -> Option<String> {
        let text = format!("{}FROM {image}\n", self.preamble);
        let parsed = parser::parse(&text).ok()?;
        let plan = parser::plan(&parsed, None, args).ok()?;
        plan.base_images.into_iter().next()
    }
}

/// The external image `stage` builds on, substituted; `None` for an earlier
/// stage, `scratch`, or a reference that cannot be substituted.
fn external_base(
    parsed: &Dockerfile,
    stage: &Stage,
    globals: &Globals,
    args: &BTreeMap<String, String>,
) -> Option<String> {
    let written = stage.base();
    let reference = if written.contains('$') || written.contains(parsed.directives.escape) {
        globals.substitute(written, args)?
    } else {
        written.to_string()
    };
    let lower = reference.to_ascii_lowercase();
    let is_stage = parsed.stages[..stage.index]
        .iter()
        .any(|s| s.name.as_deref() == Some(lower.as_str()));
    (!is_stage && lower != "scratch").then_some(reference)
}

#[cfg(test)]
mod tests;
