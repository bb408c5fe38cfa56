//! The stack's state between runs, kept in a JSON file like a Pulumi checkpoint.
//!
//! Every preview/up/refresh/destroy starts a fresh provider process, so
//! everything a later run needs (ids, inputs, outputs, the pending init-failure
//! flag, dependencies) must live here and nowhere else. Secret values stay in
//! their wrapped form in the file, as the engine keeps them.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::program::CustomTimeouts;

/// The provider resource (`pulumi:providers:imagedeploy`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderState {
    pub urn: String,
    pub id: String,
    pub inputs: Json,
    pub outputs: Json,
}

/// One custom resource as recorded after a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceState {
    pub urn: String,
    #[serde(rename = "type")]
    pub type_token: String,
    pub name: String,
    pub id: String,
    /// The checked inputs of the last successful step (also of a same step).
    pub inputs: Json,
    pub outputs: Json,
    /// URNs this resource depends on.
    #[serde(default)]
    pub dependencies: Vec<String>,
    /// Created or updated but failed to initialise: the next up must update it.
    #[serde(default)]
    pub init_failed: bool,
    /// Replaced (create-before-delete) but the old one could not be deleted yet.
    #[serde(default)]
    pub pending_delete: bool,
    #[serde(default)]
    pub delete_before_replace: bool,
    /// The resource options the engine keeps in state and uses without the
    /// program (refresh passes `ignoreChanges` to Diff, destroy the timeouts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_on_changes: Vec<String>,
    #[serde(default, skip_serializing_if = "CustomTimeouts::is_zero")]
    pub custom_timeouts: CustomTimeouts,
}

/// Everything in one stack.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackState {
    pub provider: Option<ProviderState>,
    pub resources: Vec<ResourceState>,
}

impl StackState {
    /// The live (not pending-delete) resource with this URN.
    pub fn live(&self, urn: &str) -> Option<&ResourceState> {
        self.resources
            .iter()
            .find(|r| r.urn == urn && !r.pending_delete)
    }

    /// The live resource with this name.
    pub fn by_name(&self, name: &str) -> Option<&ResourceState> {
        self.resources
            .iter()
            .find(|r| r.name == name && !r.pending_delete)
    }
}

/// A stack file on disk.
#[derive(Debug, Clone)]
pub struct StackFile {
    path: PathBuf,
}

impl StackFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StackFile { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state; an absent file is an empty stack.
    pub fn load(&self) -> anyhow::Result<StackState> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("stack file {} is not valid", self.path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StackState::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", self.path.display())),
        }
    }

    /// Writes atomically (temp file + rename), like a checkpoint.
    pub fn save(&self, state: &StackState) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(state)?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .with_context(|| format!("cannot replace {}", self.path.display()))?;
        Ok(())
    }

    /// The raw file text (for "the secret is not in plain text" checks).
    pub fn raw(&self) -> String {
        std::fs::read_to_string(&self.path).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = StackFile::new(dir.path().join("stack.json"));
        assert_eq!(file.load().unwrap(), StackState::default());
        let state = StackState {
            provider: None,
            resources: vec![ResourceState {
                urn: "urn:pulumi:dev::p::t::a".into(),
                type_token: "t".into(),
                name: "a".into(),
                id: "id".into(),
                inputs: json!({"v": crate::values::secret(json!("s3cr3t"))}),
                outputs: json!({}),
                dependencies: vec![],
                init_failed: true,
                pending_delete: false,
                delete_before_replace: false,
                ignore_changes: vec![],
                replace_on_changes: vec![],
                custom_timeouts: CustomTimeouts::default(),
            }],
        };
        file.save(&state).unwrap();
        assert_eq!(file.load().unwrap(), state);
        assert!(file.raw().contains(crate::values::SECRET_SIG));
    }
}
