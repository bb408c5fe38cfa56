//! What an update would change, and why, computed from normalised forms.
//!
//! The product promise is that the task definition changes if and only if a
//! container (or task setting) really changes, and that preview says which
//! field and why. So the diff compares the container definitions recorded at
//! the last registration with the ones the new inputs would register, field
//! by field, and classifies each change as replace / new revision / service
//! update.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::args::{ServiceArgs, ServiceState};
use crate::normalise::{self, NormalContainer};
use imagedeploy_reference::digest_of;

/// Kind of change to one property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Delete,
    Update,
}

/// One changed input property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    /// Pulumi property path, e.g. `containers[0].environment.LOG_LEVEL`.
    pub path: String,
    pub kind: ChangeKind,
    /// The change replaces the service.
    pub replace: bool,
    /// The reason (also in [`ServiceDiff::reasons`]) that is about this change.
    pub reason: String,
}

/// The plan for one update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceDiff {
    /// Properties whose change replaces the service.
    pub replace_paths: Vec<String>,
    /// The replacement keeps cluster and name, so the old service must be
    /// deleted before the new one can be created.
    pub delete_before_replace: bool,
    pub changes: Vec<FieldChange>,
    /// A container or task-level setting changed: one new revision.
    pub new_revision_needed: bool,
    /// UpdateService (or a tag call) is needed.
    pub service_update_needed: bool,
    /// Human-readable reasons, e.g. `container web: app:latest moved sha256:a -> sha256:b`.
    pub reasons: Vec<String>,
}

impl ServiceDiff {
    /// Whether anything changes at all.
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty() || self.new_revision_needed || self.service_update_needed
    }

    /// Whether the service must be replaced.
    pub fn needs_replace(&self) -> bool {
        !self.replace_paths.is_empty()
    }
}

/// Compares the recorded state with new inputs whose images resolved to
/// `new_images` (container name -> pinned reference, from
/// [`crate::resolve_images`]). A container missing from `new_images` is
/// compared by its raw image string.
pub fn diff(
    old: &ServiceState,
    new: &ServiceArgs,
    new_images: &BTreeMap<String, String>,
) -> ServiceDiff {
    let mut d = ServiceDiff::default();
    replacements(old, new, &mut d);
    containers(old, new, new_images, &mut d);
    task(old, new, &mut d);
    service(old, new, &mut d);
    if old.deploy_failed && !d.needs_replace() {
        d.service_update_needed = true;
        d.reasons.push(format!(
            "the last deployment did not complete (rolloutState {}); it is retried",
            old.rollout_state.as_deref().unwrap_or("unknown")
        ));
    }
    if d.new_revision_needed {
        d.service_update_needed = true;
    }
    d
}

fn replacements(old: &ServiceState, new: &ServiceArgs, d: &mut ServiceDiff) {
    let mut same_identity = true;
    if old.args.cluster != new.cluster {
        same_identity = false;
        replace(
            d,
            "cluster",
            format!(
                "cluster {} -> {} (replaces the service)",
                old.args.cluster, new.cluster
            ),
        );
    }
    if old.args.name != new.name {
        same_identity = false;
        replace(
            d,
            "name",
            format!(
                "name {} -> {} (replaces the service)",
                old.args.name.as_deref().unwrap_or("(none)"),
                new.name.as_deref().unwrap_or("(none)")
            ),
        );
    }
    let (old_lt, new_lt) = (
        old.args.effective_launch_type(),
        new.effective_launch_type(),
    );
    if old_lt != new_lt {
        let show = |l: Option<crate::args::LaunchType>| {
            l.map_or("capacityProviderStrategy".to_string(), |l| l.to_string())
        };
        let path = if new.launch_type.is_some() || old.args.launch_type.is_some() {
            "launchType"
        } else {
            "capacityProviderStrategy"
        };
        replace(
            d,
            path,
            format!(
                "launch type {} -> {} (replaces the service)",
                show(old_lt),
                show(new_lt)
            ),
        );
        if same_identity {
            d.delete_before_replace = true;
        }
    }
    let (old_dc, new_dc) = (
        crate::settings::normal::deployment_controller(&old.args),
        crate::settings::normal::deployment_controller(new),
    );
    if old_dc != new_dc {
        replace(
            d,
            "deploymentController.type",
            format!("deployment controller {old_dc} -> {new_dc} (replaces the service)"),
        );
        if same_identity {
            d.delete_before_replace = true;
        }
    }
}

fn replace(d: &mut ServiceDiff, path: &str, reason: String) {
    d.replace_paths.push(path.to_string());
    d.changes.push(FieldChange {
        path: path.to_string(),
        kind: ChangeKind::Update,
        replace: true,
        reason: reason.clone(),
    });
    d.reasons.push(reason);
}

fn containers(
    old: &ServiceState,
    new: &ServiceArgs,
    images: &BTreeMap<String, String>,
    d: &mut ServiceDiff,
) {
    let mode = new.network_mode_or_default();
    let old_by_name: BTreeMap<&str, (usize, &NormalContainer)> = old
        .container_definitions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let index = old
                .args
                .containers
                .iter()
                .position(|a| a.name == c.name)
                .unwrap_or(i);
            (c.name.as_str(), (index, c))
        })
        .collect();
    for (i, c) in new.containers.iter().enumerate() {
        let pinned = images.get(&c.name).map(String::as_str).unwrap_or(&c.image);
        let candidate = normalise::container(c, pinned, mode);
        let prefix = format!("containers[{i}]");
        let Some((_, recorded)) = old_by_name.get(c.name.as_str()) else {
            let reason = format!("container {} added", c.name);
            d.changes.push(FieldChange {
                path: prefix,
                kind: ChangeKind::Add,
                replace: false,
                reason: reason.clone(),
            });
            d.reasons.push(reason);
            d.new_revision_needed = true;
            continue;
        };
        if recorded.image != candidate.image {
            let reason = image_reason(old, &c.name, &recorded.image, &c.image, &candidate.image);
            d.changes.push(FieldChange {
                path: format!("{prefix}.image"),
                kind: ChangeKind::Update,
                replace: false,
                reason: reason.clone(),
            });
            d.reasons.push(reason);
            d.new_revision_needed = true;
        }
        let (mut a, mut b) = (to_value(recorded), to_value(&candidate));
        for v in [&mut a, &mut b] {
            if let Value::Object(m) = v {
                m.remove("image");
                m.remove("name");
            }
        }
        let before = d.changes.len();
        walk(&prefix, Some(&a), Some(&b), &mut |path, kind, o, n| {
            let field = path
                .strip_prefix(&prefix)
                .unwrap_or(path)
                .trim_start_matches('.');
            let reason = format!("container {}: {}", c.name, describe(field, kind, o, n));
            d.reasons.push(reason.clone());
            d.changes.push(FieldChange {
                path: path.to_string(),
                kind,
                replace: false,
                reason,
            });
        });
        if d.changes.len() > before {
            d.new_revision_needed = true;
        }
    }
    for (name, (index, _)) in &old_by_name {
        if !new.containers.iter().any(|c| c.name == *name) {
            let reason = format!("container {name} removed");
            d.changes.push(FieldChange {
                path: format!("containers[{index}]"),
                kind: ChangeKind::Delete,
                replace: false,
                reason: reason.clone(),
            });
            d.reasons.push(reason);
            d.new_revision_needed = true;
        }
    }
}

fn image_reason(
    old: &ServiceState,
    container: &str,
    old_pinned: &str,
    new_input: &str,
    new_pinned: &str,
) -> String {
    let old_input = old
        .args
        .containers
        .iter()
        .find(|c| c.name == container)
        .map(|c| c.image.as_str());
    let (od, nd) = (
        digest_of(old_pinned).unwrap_or(old_pinned),
        digest_of(new_pinned).unwrap_or(new_pinned),
    );
    match old_input {
        Some(o) if o == new_input => {
            format!("container {container}: {new_input} moved {od} -> {nd}")
        }
        // A reference that already names its digest says it all.
        Some(o) if digest_of(o).is_some() && digest_of(new_input).is_some() => {
            format!("container {container}: image {o} -> {new_input}")
        }
        Some(o) => format!("container {container}: image {o} ({od}) -> {new_input} ({nd})"),
        None => format!("container {container}: image {old_pinned} -> {new_pinned}"),
    }
}

/// Task-level fields and the input path each comes from.
const TASK_PATHS: &[(&str, &str)] = &[
    ("family", "family"),
    ("cpu", "cpu"),
    ("memory", "memory"),
    ("networkMode", "networkMode"),
    ("executionRoleArn", "executionRoleArn"),
    ("taskRoleArn", "taskRoleArn"),
    ("cpuArchitecture", "runtimePlatform.cpuArchitecture"),
    (
        "operatingSystemFamily",
        "runtimePlatform.operatingSystemFamily",
    ),
    ("requiresCompatibilities", "capacityProviderStrategy"),
    ("volumes", "volumes"),
    ("ephemeralStorage", "ephemeralStorage.sizeInGiB"),
];

fn task(old: &ServiceState, new: &ServiceArgs, d: &mut ServiceDiff) {
    let (a, b) = (
        to_value(&old.task_settings),
        to_value(&normalise::task(new)),
    );
    let launch_replaced = d
        .replace_paths
        .iter()
        .any(|p| p == "launchType" || p == "capacityProviderStrategy");
    for (field, path) in TASK_PATHS {
        if *field == "requiresCompatibilities" && launch_replaced {
            continue;
        }
        walk(path, a.get(field), b.get(field), &mut |p, kind, o, n| {
            let reason = format!("task {}", describe(p, kind, o, n));
            d.reasons.push(reason.clone());
            d.changes.push(FieldChange {
                path: p.to_string(),
                kind,
                replace: false,
                reason,
            });
            d.new_revision_needed = true;
        });
    }
}

fn service(old: &ServiceState, new: &ServiceArgs, d: &mut ServiceDiff) {
    let (a, b) = (
        to_value(&normalise::service(&old.args)),
        to_value(&normalise::service(new)),
    );
    let launch_replaced = d
        .replace_paths
        .iter()
        .any(|p| p == "capacityProviderStrategy");
    walk("", Some(&a), Some(&b), &mut |p, kind, o, n| {
        if launch_replaced && p.starts_with("capacityProviderStrategy") {
            return;
        }
        let reason = describe(p, kind, o, n);
        d.reasons.push(reason.clone());
        d.changes.push(FieldChange {
            path: p.to_string(),
            kind,
            replace: false,
            reason,
        });
        d.service_update_needed = true;
    });
}

fn to_value<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Receives (path, kind, old value, new value) for each change.
type Emit<'a> = dyn FnMut(&str, ChangeKind, Option<&Value>, Option<&Value>) + 'a;

/// Recursive comparison: objects by key, everything else (lists included)
/// as a whole. Absent, null, `[]` and `{}` are all "not set".
fn walk(path: &str, old: Option<&Value>, new: Option<&Value>, emit: &mut Emit<'_>) {
    let old = old.filter(|v| !is_empty(v));
    let new = new.filter(|v| !is_empty(v));
    match (old, new) {
        (None, None) => {}
        (None, Some(n)) => emit(path, ChangeKind::Add, None, Some(n)),
        (Some(o), None) => emit(path, ChangeKind::Delete, Some(o), None),
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(&join(path, k), a.get(k), b.get(k), emit);
            }
        }
        (Some(o), Some(n)) if o != n => emit(path, ChangeKind::Update, Some(o), Some(n)),
        _ => {}
    }
}

/// Appends a key to a Pulumi property path: `a.b`, or `a["b-c"]` when the
/// key is not an identifier.
pub(crate) fn join(path: &str, key: &str) -> String {
    let ident = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    match (path.is_empty(), ident) {
        (true, true) => key.to_string(),
        (false, true) => format!("{path}.{key}"),
        (_, false) => format!("{path}[{}]", serde_json::to_string(key).unwrap_or_default()),
    }
}

/// Subtrees whose values may hold secrets or long text: reasons name the
/// field but not the values.
const HIDDEN: &[&str] = &[
    "environment",
    "secrets",
    "command",
    "entryPoint",
    "options",
    "tags",
    "dockerLabels",
    "driverOpts",
    "labels",
];

fn describe(path: &str, kind: ChangeKind, old: Option<&Value>, new: Option<&Value>) -> String {
    let hidden = HIDDEN
        .iter()
        .any(|h| path.split(['.', '[']).any(|seg| seg == *h));
    let show = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) if a.iter().all(|x| !x.is_object()) => {
            let items: Vec<String> = a
                .iter()
                .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                .collect();
            format!("[{}]", items.join(", "))
        }
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        _ => String::new(),
    };
    let (o, n) = (show(old), show(new));
    match kind {
        ChangeKind::Add if hidden || n.is_empty() => format!("{path} added"),
        ChangeKind::Add => format!("{path} added ({n})"),
        ChangeKind::Delete if hidden || o.is_empty() => format!("{path} removed"),
        ChangeKind::Delete => format!("{path} removed (was {o})"),
        ChangeKind::Update if hidden || o.is_empty() || n.is_empty() => format!("{path} changed"),
        ChangeKind::Update => format!("{path} {o} -> {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_that_are_not_identifiers() {
        assert_eq!(
            join("containers[0].environment", "LOG_LEVEL"),
            "containers[0].environment.LOG_LEVEL"
        );
        assert_eq!(
            join("x.options", "awslogs-group"),
            "x.options[\"awslogs-group\"]"
        );
        assert_eq!(join("", "desiredCount"), "desiredCount");
    }
}
