//! Why an Image changes, in the fingerprint's words.
//!
//! The verdict comes from what the build can see (fingerprint, base image
//! digests, labels, secrets, builder) and where it goes (tags, push); each
//! reason becomes a detailed-diff entry users can read in `pulumi preview`.

use std::collections::BTreeMap;

use imagedeploy_fingerprint::{explain, Manifest};

use super::args::{ImageArgs, ImageState};
use crate::resource::{Change, ChangeKind, DiffOutcome};

/// What the new inputs resolve to now, for comparison with the state.
pub struct Observed<'a> {
    pub context_hash: &'a str,
    pub manifest: Option<&'a Manifest>,
    pub base_image_digests: &'a BTreeMap<String, String>,
}

pub fn diff(old: &ImageState, old_manifest: Option<&Manifest>, new: &ImageArgs, observed: &Observed<'_>) -> DiffOutcome {
    let mut changes = Vec::new();
    let mut reasons = Vec::new();

    if old.context_hash != observed.context_hash {
        match (old_manifest, observed.manifest) {
            (Some(before), Some(after)) => {
                for reason in explain(before, after) {
                    changes.push(Change {
                        path: context_path(&reason),
                        kind: kind_of(&reason),
                        replace: false,
                    });
                    reasons.push(reason);
                }
            }
            _ => {}
        }
        if reasons.is_empty() {
            changes.push(Change::update("contextHash"));
            reasons.push(format!(
                "build inputs changed ({} -> {}); the previous file list is not available on this machine",
                short(&old.context_hash),
                short(observed.context_hash)
            ));
        }
    }

    for (reference, digest) in observed.base_image_digests {
        match old.base_image_digests.get(reference) {
            Some(before) if before != digest => {
                changes.push(Change::update(format!("baseImageDigests[{}]", quoted(reference))));
                reasons.push(format!("FROM {reference} moved {before} -> {digest}"));
            }
            None if !old.base_image_digests.is_empty() || !old.context_hash.is_empty() => {
                changes.push(Change {
                    path: format!("baseImageDigests[{}]", quoted(reference)),
                    kind: ChangeKind::Add,
                    replace: false,
                });
                reasons.push(format!("new base image FROM {reference} ({digest})"));
            }
            _ => {}
        }
    }

    let before = &old.args;
    let simple: [(&str, bool); 6] = [
        ("labels", before.labels != new.labels),
        ("tags", before.tags != new.tags),
        ("push", before.push.unwrap_or(true) != new.push.unwrap_or(true)),
        ("platforms", before.platforms != new.platforms),
        ("builder", before.builder.as_ref().and_then(|b| b.kind) != new.builder.as_ref().and_then(|b| b.kind)),
        ("target", before.target != new.target),
    ];
    for (name, changed) in simple {
        if changed && !changes.iter().any(|c| c.path == name) {
            changes.push(Change::update(name));
            reasons.push(format!("{name} changed"));
        }
    }
    if before.secrets != new.secrets {
        changes.push(Change::update("secrets"));
        reasons.push("build secrets changed (values not shown)".into());
    }

    DiffOutcome {
        changes,
        delete_before_replace: false,
        reasons,
    }
}

/// "src/app.ts modified" -> `context["src/app.ts"]`; other reasons map to
/// the input they concern.
fn context_path(reason: &str) -> String {
    for suffix in [" modified", " added", " removed", " became executable", " is no longer executable", " type changed", " link target changed"] {
        if let Some(path) = reason.strip_suffix(suffix) {
            return format!("context[{}]", quoted(path));
        }
    }
    if let Some(rest) = reason.strip_prefix("build arg ") {
        let name = rest.split_whitespace().next().unwrap_or(rest);
        return format!("buildArgs[{}]", quoted(name));
    }
    if reason.starts_with("Dockerfile") {
        return "dockerfile".into();
    }
    if reason.starts_with("target") {
        return "target".into();
    }
    if reason.starts_with("platform") {
        return "platforms".into();
    }
    "contextHash".into()
}

fn kind_of(reason: &str) -> ChangeKind {
    if reason.ends_with(" added") || reason.contains(" added") && reason.starts_with("Dockerfile") {
        ChangeKind::Add
    } else if reason.ends_with(" removed") {
        ChangeKind::Delete
    } else {
        ChangeKind::Update
    }
}

fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn short(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sha256:{}", &hex[..hex.len().min(12)])
}
