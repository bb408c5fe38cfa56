//! What one run did: steps, provider calls, engine log, errors.
//!
//! A report is what tests assert on and what the demo prints, so it carries
//! both the user's view (steps with their diffs, as `pulumi up --diff` shows
//! them) and the wire view (every RPC in order).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value as Json;

use crate::engine::{LogEntry, Severity};
use crate::rpc::Rpc;

/// What the engine did (or, in a preview, would do) with one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Op {
    Create,
    Update,
    Replace,
    Same,
    Delete,
    /// The old resource of a create-before-delete replacement, deleted at the end.
    DeleteReplaced,
    /// Refresh read the resource (see `Step::removed` for a vanished one).
    Read,
    /// The `import` option adopted an existing resource (a Check and Diff
    /// against the program follow as a step of their own).
    Import,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Create => "+ ",
            Op::Update => "~ ",
            Op::Replace => "+-",
            Op::Same => "  ",
            Op::Delete => "- ",
            Op::DeleteReplaced => "--",
            Op::Read => "~ ",
            Op::Import => "= ",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Replace => "replace",
            Op::Same => "same",
            Op::Delete => "delete",
            Op::DeleteReplaced => "delete-replaced",
            Op::Read => "refresh",
            Op::Import => "import",
        }
    }
}

/// One resource step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub urn: String,
    pub name: String,
    #[serde(rename = "type")]
    pub type_token: String,
    pub op: Op,
    /// Property path -> diff kind (`UPDATE`, `UPDATE_REPLACE`, ...).
    pub detailed_diff: BTreeMap<String, String>,
    /// The top-level keys the provider said changed.
    pub diffs: Vec<String>,
    /// The keys that force a replacement.
    pub replaces: Vec<String>,
    pub delete_before_replace: bool,
    /// Outputs after the step (preview: what dependents would see).
    pub outputs: Json,
    /// Old and new value per changed path, as `pulumi up --diff` shows them.
    pub changes: Vec<PropertyChange>,
    /// Refresh found the resource gone.
    pub removed: bool,
    pub error: Option<String>,
    /// What the CLI reads to render the detailed diff.
    #[serde(skip)]
    pub views: Option<DiffViews>,
}

/// The states the CLI walks each detailed-diff key through (`StepEventMetadata`
/// `Old`/`New` as `TranslateDetailedDiff` uses them).
#[derive(Debug, Clone)]
pub struct DiffViews {
    /// Path -> (kind, inputDiff), as the provider (or refresh's inversion) said.
    pub entries: BTreeMap<String, (String, bool)>,
    pub old_inputs: Json,
    pub old_outputs: Json,
    pub new_inputs: Json,
    /// Refresh only: the refreshed outputs, read for non-input diffs.
    pub new_outputs: Option<Json>,
    /// The provider's changed top-level keys (filter for the row summary).
    pub diffs: Vec<String>,
}

impl DiffViews {
    pub(crate) fn new(
        d: &pulumi_gestalt_proto::pulumi::pulumirpc::DiffResponse,
        old: &crate::stack::ResourceState,
        new_inputs: &Json,
        new_outputs: Option<&Json>,
    ) -> Self {
        DiffViews {
            entries: d
                .detailed_diff
                .iter()
                .map(|(k, v)| (k.clone(), (kind_name(v.kind).to_string(), v.input_diff)))
                .collect(),
            old_inputs: old.inputs.clone(),
            old_outputs: old.outputs.clone(),
            new_inputs: new_inputs.clone(),
            new_outputs: new_outputs.cloned(),
            diffs: d.diffs.clone(),
        }
    }

    /// The translated diff tree (`TranslateDetailedDiff`).
    pub fn tree(&self) -> BTreeMap<String, crate::display::Node> {
        let entries: Vec<crate::display::Entry<'_>> = self
            .entries
            .iter()
            .map(|(path, (kind, input_diff))| crate::display::Entry {
                path,
                kind,
                input_diff: *input_diff,
            })
            .collect();
        crate::display::translate(
            &entries,
            &self.old_inputs,
            &self.old_outputs,
            &self.new_inputs,
            self.new_outputs.as_ref(),
        )
    }
}

impl Step {
    pub(crate) fn new(urn: &str, name: &str, type_token: &str, op: Op) -> Self {
        Step {
            urn: urn.to_string(),
            name: name.to_string(),
            type_token: type_token.to_string(),
            op,
            detailed_diff: BTreeMap::new(),
            diffs: Vec::new(),
            replaces: Vec::new(),
            delete_before_replace: false,
            outputs: Json::Object(Default::default()),
            changes: Vec::new(),
            removed: false,
            error: None,
            views: None,
        }
    }

    /// The lines `pulumi preview --diff` prints under this step's row.
    pub fn diff_lines(&self) -> Vec<String> {
        match &self.views {
            Some(v) if self.op != Op::Same => crate::display::detail_lines(&v.tree(), 8),
            _ => Vec::new(),
        }
    }

    /// The row's `diff: ...` summary as the CLI prints it (top-level keys only).
    pub fn row_diff(&self) -> Option<String> {
        let v = self.views.as_ref().filter(|_| self.op != Op::Same)?;
        let tree = v.tree();
        if tree.is_empty() {
            return None;
        }
        crate::display::row_summary(&tree, &v.diffs)
    }

    /// The changed paths, sorted.
    pub fn changed_paths(&self) -> Vec<&str> {
        self.detailed_diff.keys().map(String::as_str).collect()
    }
}

/// One changed property: old value from the old outputs (or old inputs when
/// the provider marked it an input diff), new value from the new inputs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PropertyChange {
    pub path: String,
    pub kind: String,
    pub old: Option<Json>,
    pub new: Option<Json>,
}

/// A value as the CLI prints it: secrets masked, unknowns as `[unknown]`.
pub fn display_value(v: &Json) -> String {
    if crate::values::is_secret(v) {
        return "[secret]".to_string();
    }
    if crate::values::is_unknown(v) {
        return "[unknown]".to_string();
    }
    match v {
        Json::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}: {}", display_value(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(display_value).collect();
            format!("[{}]", parts.join(", "))
        }
        other => other.to_string(),
    }
}

/// The outcome of preview / up / refresh / destroy.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// `preview`, `up`, `refresh` or `destroy`.
    pub operation: &'static str,
    pub steps: Vec<Step>,
    pub rpcs: Vec<Rpc>,
    pub logs: Vec<LogEntry>,
    pub errors: Vec<String>,
    /// The provider process's stderr.
    pub stderr: String,
    /// Anything printed on stdout after the port line (must be empty).
    pub stdout_after_port: String,
    /// Process id of the provider this run used (each run starts a new one).
    pub provider_pid: Option<u32>,
    /// Cancel was sent during the run and the provider accepted it
    /// (`Deployment::with_cancel_when`).
    pub cancelled: bool,
}

impl Report {
    pub(crate) fn new(operation: &'static str) -> Self {
        Report {
            operation,
            steps: Vec::new(),
            rpcs: Vec::new(),
            logs: Vec::new(),
            errors: Vec::new(),
            stderr: String::new(),
            stdout_after_port: String::new(),
            provider_pid: None,
            cancelled: false,
        }
    }

    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Panics with the whole story when the run failed (for tests).
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.ok(),
            "{} failed: {:#?}\n--- engine view ---\n{}\n--- provider stderr ---\n{}",
            self.operation,
            self.errors,
            self.render(),
            self.stderr
        );
        self
    }

    /// The step for the resource with this name (for a replacement, the
    /// replace step rather than the later delete-replaced one).
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The op of the named resource's step.
    pub fn op(&self, name: &str) -> Option<Op> {
        self.step(name).map(|s| s.op)
    }

    /// Calls of one method, in order.
    pub fn calls(&self, method: &str) -> Vec<&Rpc> {
        self.rpcs.iter().filter(|r| r.method == method).collect()
    }

    /// Calls of one method for the resource with this name.
    pub fn calls_for(&self, method: &str, name: &str) -> Vec<&Rpc> {
        let suffix = format!("::{name}");
        self.rpcs
            .iter()
            .filter(|r| r.method == method && r.urn.ends_with(&suffix))
            .collect()
    }

    /// `(method, resource name)` of every call, in order.
    pub fn sequence(&self) -> Vec<(String, String)> {
        self.rpcs
            .iter()
            .map(|r| {
                let name = r.urn.rsplit("::").next().unwrap_or("").to_string();
                (r.method.to_string(), name)
            })
            .collect()
    }

    /// Index of the first call matching method + resource name.
    pub fn position(&self, method: &str, name: &str) -> Option<usize> {
        self.sequence()
            .iter()
            .position(|(m, n)| m == method && n == name)
    }

    /// Log messages at or above `min` severity (DEBUG < INFO < WARNING < ERROR).
    pub fn messages(&self, min: Severity) -> Vec<&LogEntry> {
        let rank = |s: Severity| match s {
            Severity::Debug => 0,
            Severity::Info => 1,
            Severity::Warning => 2,
            Severity::Error | Severity::Invalid(_) => 3,
        };
        self.logs
            .iter()
            .filter(|l| rank(l.severity) >= rank(min))
            .collect()
    }

    /// What the Pulumi CLI would print for this run.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let title = match self.operation {
            "preview" => "Previewing update",
            "up" => "Updating",
            "refresh" => "Refreshing",
            "destroy" => "Destroying",
            other => other,
        };
        let _ = writeln!(out, "{title}:\n");
        let _ = writeln!(out, "     {:<32} {:<12} {:<8} Info", "Type", "Name", "Plan");
        for s in &self.steps {
            let mut info = String::new();
            if let Some(row) = s.row_diff() {
                info = format!("[{row}]");
            } else if s.views.is_none() && !s.detailed_diff.is_empty() && s.op != Op::Same {
                // No states to walk the keys through (engine-computed diff):
                // the top-level keys, as the CLI's own input diff shows them.
                let mut keys: Vec<String> = s
                    .detailed_diff
                    .keys()
                    .map(|k| {
                        crate::path::PropertyPath::parse(k)
                            .ok()
                            .and_then(|p| p.root_key().map(str::to_string))
                            .unwrap_or_else(|| k.clone())
                    })
                    .collect();
                keys.dedup();
                info = format!("[diff: ~{}]", keys.join(","));
            }
            if s.removed {
                info = "[gone: removed from the stack]".to_string();
            }
            if let Some(e) = &s.error {
                if !info.is_empty() {
                    info.push(' ');
                }
                info.push_str(&format!("**failed** {e}"));
            }
            let word = if s.op == Op::Replace && s.delete_before_replace {
                "replace (delete first)"
            } else {
                s.op.word()
            };
            let _ = writeln!(
                out,
                "  {} {:<32} {:<12} {:<8} {}",
                s.op.symbol(),
                s.type_token,
                s.name,
                word,
                info
            );
            for line in s.diff_lines() {
                let _ = writeln!(out, "{line}");
            }
        }
        // Ephemeral messages are status updates: the CLI shows them on the
        // resource's row while it runs and never under Diagnostics
        // (`printDiagnostics` in pkg/backend/display/progress.go skips them).
        let visible: Vec<&LogEntry> = self
            .logs
            .iter()
            .filter(|l| l.severity != Severity::Debug && !l.ephemeral)
            .collect();
        if !visible.is_empty() || !self.errors.is_empty() {
            let _ = writeln!(out, "\nDiagnostics:");
            for l in visible {
                let who = l.urn.rsplit("::").next().unwrap_or("");
                let _ = writeln!(
                    out,
                    "  {who} {}: {}",
                    l.severity.label(),
                    l.message.trim_end()
                );
            }
            for e in &self.errors {
                let _ = writeln!(out, "  error: {e}");
            }
        }
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.steps {
            *counts.entry(s.op.word()).or_default() += 1;
        }
        let summary: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
        let _ = writeln!(out, "\nResources: {}", summary.join(", "));
        out
    }
}

/// The proto name of a `PropertyDiff.Kind` value.
pub fn kind_name(kind: i32) -> &'static str {
    match kind {
        0 => "ADD",
        1 => "ADD_REPLACE",
        2 => "DELETE",
        3 => "DELETE_REPLACE",
        4 => "UPDATE",
        5 => "UPDATE_REPLACE",
        _ => "INVALID_KIND",
    }
}

/// True for the kinds that force a replacement.
pub fn kind_replaces(kind: &str) -> bool {
    kind.ends_with("_REPLACE")
}

/// The kind shown for a refresh, where the diff is read the other way round.
pub fn inverted_kind(kind: &str) -> &'static str {
    match kind {
        "ADD" => "DELETE",
        "DELETE" => "ADD",
        "ADD_REPLACE" => "DELETE_REPLACE",
        "DELETE_REPLACE" => "ADD_REPLACE",
        "UPDATE" => "UPDATE",
        "UPDATE_REPLACE" => "UPDATE_REPLACE",
        _ => "INVALID_KIND",
    }
}
