//! Why an Image changes, in the fingerprint's words.
//!
//! The verdict comes from what the build can see (fingerprint, base image
//! digests, labels, secrets, builder) and where it goes (tags, push); each
//! reason becomes a detailed-diff entry users can read in `pulumi preview`.

use std::collections::BTreeMap;

use imagedeploy_fingerprint::{explain, Manifest};

use super::args::{Compression, ImageArgs, ImageState};
use super::shown::{MAX_FILE_KEYS, MAX_FILE_REASONS};
use crate::resource::{Change, ChangeKind, DiffOutcome, Reason};

/// The detailed-diff parents of what Check records (see `shown`).
const FILES: &str = "context.files";
const MORE_FILES: &str = "context.moreChangedFiles";
const DOCKERFILE: &str = "dockerfile.instructions";
const BASE_IMAGES: &str = "dockerfile.from";

/// What the new inputs resolve to now, for comparison with the state.
pub struct Observed<'a> {
    pub context_hash: &'a str,
    pub manifest: Option<&'a Manifest>,
    pub base_image_digests: &'a BTreeMap<String, String>,
}

pub fn diff(
    old: &ImageState,
    old_manifest: Option<&Manifest>,
    new: &ImageArgs,
    observed: &Observed<'_>,
) -> DiffOutcome {
    let mut changes = Vec::new();
    let mut reasons = Vec::new();

    if old.context_hash != observed.context_hash {
        if let (Some(before), Some(after)) = (old_manifest, observed.manifest) {
            // Files: the first MAX_FILE_KEYS get diff keys, the first
            // MAX_FILE_REASONS log lines; the rest are counted.
            let mut files = 0;
            for reason in explain(before, after) {
                let (path, kind) = classify(&reason);
                if path.starts_with(FILES) {
                    files += 1;
                    if files > MAX_FILE_REASONS {
                        continue;
                    }
                    if files > MAX_FILE_KEYS {
                        reasons.push(Reason::about(FILES, reason));
                        continue;
                    }
                }
                if !changes.iter().any(|c: &Change| c.path == path) {
                    changes.push(Change {
                        path: path.clone(),
                        kind,
                        replace: false,
                    });
                }
                reasons.push(Reason::about(path, reason));
            }
            if files > MAX_FILE_KEYS {
                // The count Check recorded shows as a value in the diff.
                changes.push(Change {
                    path: MORE_FILES.to_string(),
                    kind: ChangeKind::Add,
                    replace: false,
                });
            }
            if files > MAX_FILE_REASONS {
                reasons.push(Reason::about(
                    FILES,
                    format!("and {} more files changed", files - MAX_FILE_REASONS),
                ));
            }
        }
        if reasons.is_empty() {
            changes.push(Change::update("contextHash"));
            reasons.push(Reason::about("contextHash", format!(
                "build inputs changed ({} -> {}); the previous file list is not available on this machine",
                short(&old.context_hash),
                short(observed.context_hash)
            )));
        }
    }

    for (reference, digest) in observed.base_image_digests {
        match old.base_image_digests.get(reference) {
            Some(before) if before != digest => {
                let path = under(BASE_IMAGES, reference);
                changes.push(Change::update(path.clone()));
                reasons.push(Reason::about(
                    path,
                    format!("FROM {reference} moved {before} -> {digest}"),
                ));
            }
            None if !old.base_image_digests.is_empty() || !old.context_hash.is_empty() => {
                let path = under(BASE_IMAGES, reference);
                changes.push(Change {
                    path: path.clone(),
                    kind: ChangeKind::Add,
                    replace: false,
                });
                reasons.push(Reason::about(
                    path,
                    format!("new base image FROM {reference} ({digest})"),
                ));
            }
            _ => {}
        }
    }

    let before = &old.args;
    let simple: [(&str, bool); 9] = [
        ("labels", before.labels != new.labels),
        ("tags", before.tags != new.tags),
        (
            "push",
            before.push.unwrap_or(true) != new.push.unwrap_or(true),
        ),
        (
            "platforms",
            super::platforms::requested(before) != super::platforms::requested(new),
        ),
        (
            "builder",
            before.builder.as_ref().and_then(|b| b.kind)
                != new.builder.as_ref().and_then(|b| b.kind),
        ),
        ("target", before.target != new.target),
        (
            "compression",
            before.compression.unwrap_or(Compression::Gzip)
                != new.compression.unwrap_or(Compression::Gzip),
        ),
        ("sizeBudget", before.size_budget != new.size_budget),
        ("cache", before.cache != new.cache),
    ];
    for (name, changed) in simple {
        if changed && !changes.iter().any(|c| c.path == name) {
            changes.push(Change::update(name));
            reasons.push(Reason::about(name, format!("{name} changed")));
        }
    }
    if before.secrets != new.secrets {
        changes.push(Change::update("secrets"));
        reasons.push(Reason::about(
            "secrets",
            "build secrets changed (values not shown)",
        ));
    }

    DiffOutcome {
        changes,
        delete_before_replace: false,
        reasons,
    }
}

/// Where a fingerprint reason shows in detailedDiff, and how: file reasons
/// ("src/app.ts modified") under `context.files["src/app.ts"]`, Dockerfile
/// and `FROM` reasons under `dockerfile.instructions`, build args under
/// `buildArgs["NAME"]`: paths Check fills in (see `shown`), so the CLI
/// prints old and new values.
/// Instruction reasons are matched first: "Dockerfile line 4 added" is about
/// the Dockerfile, not about a context file named "Dockerfile line 4".
fn classify(reason: &str) -> (String, ChangeKind) {
    let update = |path: &str| (path.to_string(), ChangeKind::Update);
    if reason.starts_with("Dockerfile line ")
        || reason.starts_with("FROM ")
        || reason.starts_with("unhashable input ")
    {
        return update(DOCKERFILE);
    }
    if reason.starts_with("target changed") {
        return update("target");
    }
    if reason.starts_with("platforms changed") {
        return update("platforms");
    }
    if let Some(rest) = reason.strip_prefix("build arg ") {
        for (suffix, kind) in [
            (" set", ChangeKind::Add),
            (" unset", ChangeKind::Delete),
            (" changed", ChangeKind::Update),
        ] {
            if let Some(name) = rest.strip_suffix(suffix) {
                return (under("buildArgs", name), kind);
            }
        }
        return update("buildArgs");
    }
    if reason.starts_with("named context ") || reason.starts_with("fingerprint ") {
        return update("contextHash");
    }
    let file = |path: &str| under(FILES, path.trim_end_matches('/'));
    for (suffix, kind) in [
        (" added", ChangeKind::Add),
        (" removed", ChangeKind::Delete),
        (" modified", ChangeKind::Update),
        (" became executable", ChangeKind::Update),
        (" is no longer executable", ChangeKind::Update),
    ] {
        if let Some(path) = reason.strip_suffix(suffix) {
            return (file(path), kind);
        }
    }
    for infix in [" changed from ", " symlink target changed: "] {
        if let Some((path, _)) = reason.split_once(infix) {
            return (file(path), ChangeKind::Update);
        }
    }
    update("contextHash")
}

/// `parent` followed by `key` in the engine's property-path grammar, so the
/// CLI parses the detailed-diff key back to exactly this name; `parent` alone
/// for the one kind of name no spelling can carry (a trailing backslash in a
/// name with `.` or `[`).
fn under(parent: &str, key: &str) -> String {
    match pulumi_provider::wire::path::encode_key(key, false) {
        Some(k) => format!("{parent}{k}"),
        None => parent.to_string(),
    }
}

/// `sha256:` and the first 12 hex digits, for messages.
pub(super) fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", &hex[..hex.len().min(12)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(reason: &str) -> (String, ChangeKind) {
        classify(reason)
    }

    #[test]
    fn file_reasons_go_under_context() {
        assert_eq!(
            at("src/app.ts modified"),
            (r#"context.files["src/app.ts"]"#.into(), ChangeKind::Update)
        );
        assert_eq!(
            at("src/new file.ts added"),
            (
                r#"context.files["src/new file.ts"]"#.into(),
                ChangeKind::Add
            )
        );
        assert_eq!(
            at("assets/ removed"),
            ("context.files.assets".into(), ChangeKind::Delete)
        );
        assert_eq!(
            at("run.sh became executable").0,
            r#"context.files["run.sh"]"#
        );
        assert_eq!(
            at("lib changed from a file to a symlink").0,
            "context.files.lib"
        );
        assert_eq!(
            at("lib symlink target changed: a -> b").0,
            "context.files.lib"
        );
        // A context file that happens to be called Dockerfile.
        assert_eq!(at("Dockerfile modified").0, "context.files.Dockerfile");
    }

    #[test]
    fn odd_file_names_still_give_keys_the_engine_parses() {
        assert_eq!(
            at(r#"say "hi".txt modified"#).0,
            r#"context.files["say \"hi\".txt"]"#
        );
        assert_eq!(
            at(r"win\path.txt added").0,
            r#"context.files["win\path.txt"]"#
        );
        assert_eq!(at(r"ends-in\ added").0, r"context.files.ends-in\");
        assert_eq!(at(r"dot.ends\ added").0, "context.files");
        assert_eq!(at("[x] y.z modified").0, r#"context.files["[x] y.z"]"#);
    }

    #[test]
    fn instruction_reasons_go_under_their_input() {
        assert_eq!(
            at("Dockerfile line 4 added"),
            ("dockerfile.instructions".into(), ChangeKind::Update)
        );
        assert_eq!(
            at("Dockerfile line 2 removed (old line number)").0,
            "dockerfile.instructions"
        );
        assert_eq!(at("FROM a:1 changed to a:2").0, "dockerfile.instructions");
        assert_eq!(
            at("unhashable input added at Dockerfile line 3: ADD http://x (remote)").0,
            "dockerfile.instructions"
        );
        assert_eq!(
            at("build arg NOTE set"),
            ("buildArgs.NOTE".into(), ChangeKind::Add)
        );
        assert_eq!(
            at("build arg NOTE unset"),
            ("buildArgs.NOTE".into(), ChangeKind::Delete)
        );
        assert_eq!(
            at("build arg NOTE changed"),
            ("buildArgs.NOTE".into(), ChangeKind::Update)
        );
        assert_eq!(at("target changed: a -> b").0, "target");
        assert_eq!(at("platforms changed: [] -> [linux/arm64]").0, "platforms");
        assert_eq!(at("fingerprint format changed (1 -> 2)").0, "contextHash");
    }
}
