//! Engine requests in, engine answers out: the protobuf side of every RPC,
//! with errors that name the resource.

use std::collections::HashMap;

use pulumi_gestalt_proto::pulumi::pulumirpc as rpc;
use tonic::Status;

use crate::dispatch::{OpFailure, PropertyMap};
use crate::resource::{ChangeKind, DiffOutcome, Failure};
use crate::schema::ObjectShape;
use crate::wire::status;
use crate::wire::value::Value;

pub(super) fn type_from_urn(urn: &str) -> &str {
    // urn:pulumi:stack::project::[parent$]type::name
    urn.split("::")
        .nth(2)
        .map(|t| t.rsplit('$').next().unwrap_or(t))
        .unwrap_or("")
}

pub(super) fn name_from_urn(urn: &str) -> &str {
    urn.rsplit("::").next().unwrap_or(urn)
}

pub(super) fn props(s: Option<&prost_types::Struct>) -> PropertyMap {
    Value::from_opt_struct(s)
}

pub(super) fn failures_to_rpc(failures: Vec<Failure>) -> Vec<rpc::CheckFailure> {
    failures
        .into_iter()
        .map(|f| rpc::CheckFailure {
            property: f.property,
            reason: f.reason,
        })
        .collect()
}

/// `inputs` decides `inputDiff`: a path under an input property is shown
/// against the old inputs, any other (e.g. `baseImageDigests[...]`) against
/// the old outputs.
pub(super) fn diff_response(outcome: &DiffOutcome, inputs: &ObjectShape) -> rpc::DiffResponse {
    use rpc::property_diff::Kind;
    if outcome.changes.is_empty() {
        return rpc::DiffResponse {
            changes: rpc::diff_response::DiffChanges::DiffNone as i32,
            has_detailed_diff: true,
            ..Default::default()
        };
    }
    let mut detailed = HashMap::new();
    let mut diffs = Vec::new();
    let mut replaces = Vec::new();
    for change in &outcome.changes {
        let kind = match (change.kind, change.replace) {
            (ChangeKind::Add, false) => Kind::Add,
            (ChangeKind::Add, true) => Kind::AddReplace,
            (ChangeKind::Delete, false) => Kind::Delete,
            (ChangeKind::Delete, true) => Kind::DeleteReplace,
            (ChangeKind::Update, false) => Kind::Update,
            (ChangeKind::Update, true) => Kind::UpdateReplace,
        };
        let top = top_level_key(&change.path);
        detailed.insert(
            change.path.clone(),
            rpc::PropertyDiff {
                kind: kind as i32,
                input_diff: inputs.property(&top).is_some(),
            },
        );
        if !diffs.contains(&top) {
            diffs.push(top.clone());
        }
        if change.replace && !replaces.contains(&top) {
            replaces.push(top);
        }
    }
    rpc::DiffResponse {
        replaces,
        stables: Vec::new(),
        delete_before_replace: outcome.delete_before_replace,
        changes: rpc::diff_response::DiffChanges::DiffSome as i32,
        diffs,
        detailed_diff: detailed,
        has_detailed_diff: true,
    }
}

fn top_level_key(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("[\"") {
        return rest.split("\"]").next().unwrap_or(rest).to_string();
    }
    path.split(['.', '[']).next().unwrap_or(path).to_string()
}

pub(super) fn op_status(
    resource: &str,
    urn: &str,
    verb: &str,
    failure: OpFailure,
    inputs: &PropertyMap,
) -> Status {
    let name = name_from_urn(urn);
    match failure {
        OpFailure::Error(message) => {
            Status::unknown(format!("{resource} \"{name}\": {verb} failed: {message}"))
        }
        OpFailure::Partial {
            id,
            outputs,
            reasons,
        } => {
            let message = format!(
                "{resource} \"{name}\": {verb} did not complete: {}",
                reasons.join("; ")
            );
            status::init_failed(&message, &id, &outputs, inputs, reasons)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Change;
    use crate::schema::object_shape_of;

    /// Two input properties, as the Image resource has them.
    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct SampleArgs {
        context: String,
        tags: Vec<String>,
    }

    #[test]
    fn input_diff_is_set_only_for_paths_under_input_properties() {
        let inputs = object_shape_of::<SampleArgs>();
        let outcome = DiffOutcome {
            changes: vec![
                Change::update("context[\"src/app.ts\"]"),
                Change::update("baseImageDigests[\"base:1\"]"),
                Change::replace("tags"),
            ],
            delete_before_replace: false,
            reasons: Vec::new(),
        };
        let response = diff_response(&outcome, &inputs);
        let detail = |p: &str| response.detailed_diff.get(p).copied().expect(p);
        assert!(detail("context[\"src/app.ts\"]").input_diff);
        assert!(!detail("baseImageDigests[\"base:1\"]").input_diff);
        assert_eq!(response.replaces, vec!["tags".to_string()]);
        let mut diffs = response.diffs.clone();
        diffs.sort();
        assert_eq!(diffs, vec!["baseImageDigests", "context", "tags"]);
    }
}
