//! A resource with no side effects, for testing the engine rules end to end.
//!
//! Registered only when `IMAGEDEPLOY_TEST_RESOURCES=1`; never in schema.json.
//! It lets the harness exercise replaces, partial failures and secrets
//! without Docker or AWS.

use std::collections::BTreeMap;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::ProviderContext;
use crate::resource::{
    unknown_outputs, BoxError, Change, ChangeKind, CreateInput, Created, Ctx, DiffInput,
    DiffOutcome, OpError, Outputs, Reason, Resource, UpdateInput,
};

pub struct Fixture;

/// Inputs of the test fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FixtureArgs {
    /// Any string; updated in place.
    pub value: String,
    /// Changing it replaces the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("replaceOnChanges" = true))]
    pub replace_key: Option<String>,
    /// A secret that must stay secret in state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("secret" = true))]
    pub secret_value: Option<String>,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    /// While this file exists, create and update report a partial failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_flag_file: Option<String>,
    /// Create fails outright.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_error: Option<bool>,
    /// Create waits (up to 20 s, then fails) until this file exists: shows
    /// whether another resource's step runs at the same time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_for_file: Option<String>,
    /// Create writes this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub touch_file: Option<String>,
}

/// Waits for `path` to exist, up to 20 s.
async fn wait_for(path: &str) -> Result<(), String> {
    for _ in 0..200 {
        if std::path::Path::new(path).exists() {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(format!("waited 20 s for {path} (waitForFile)"))
}

/// Outputs of the test fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FixtureState {
    #[serde(flatten)]
    pub args: FixtureArgs,
    /// "value=" + value.
    pub result: String,
    /// 1 on create, +1 per update.
    pub generation: i64,
}

fn flag_set(args: &FixtureArgs) -> bool {
    args.fail_flag_file
        .as_deref()
        .is_some_and(|f| std::path::Path::new(f).exists())
}

#[async_trait]
impl Resource<ProviderContext> for Fixture {
    type Args = FixtureArgs;
    type State = FixtureState;

    fn token(&self) -> &'static str {
        "imagedeploy:testing:Fixture"
    }

    fn description(&self) -> &'static str {
        "A side-effect-free resource for testing the provider protocol."
    }

    async fn diff(
        &self,
        _ctx: &Ctx,
        input: DiffInput<FixtureArgs, FixtureState>,
    ) -> Result<DiffOutcome, BoxError> {
        let old = serde_json::to_value(&input.olds.args)?;
        let new = serde_json::to_value(&input.news)?;
        let mut changes = Vec::new();
        let empty = serde_json::Map::new();
        let old = old.as_object().unwrap_or(&empty);
        let new = new.as_object().unwrap_or(&empty);
        let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let kind = match (old.get(key), new.get(key)) {
                (None, Some(_)) => ChangeKind::Add,
                (Some(_), None) => ChangeKind::Delete,
                (Some(a), Some(b)) if a != b => ChangeKind::Update,
                _ => continue,
            };
            changes.push(Change {
                path: key.clone(),
                kind,
                replace: key == "replaceKey",
            });
        }
        let reasons = changes
            .iter()
            .map(|c| Reason::about(c.path.clone(), format!("{} changed", c.path)))
            .collect();
        Ok(DiffOutcome {
            changes,
            delete_before_replace: false,
            reasons,
        })
    }

    async fn create(
        &self,
        ctx: &Ctx,
        input: CreateInput<FixtureArgs>,
    ) -> Result<Created<FixtureState>, OpError<FixtureState>> {
        let CreateInput { args, preview } = input;
        if args.create_error == Some(true) {
            return Err(OpError::msg(
                "the fixture was asked to fail (createError: true)",
            ));
        }
        let state = FixtureState {
            result: format!("value={}", args.value),
            generation: 1,
            args,
        };
        if preview {
            return Ok((String::new(), Outputs::known(state)));
        }
        ctx.progress("creating fixture");
        if let Some(path) = &state.args.touch_file {
            std::fs::write(path, b"").map_err(|e| OpError::msg(format!("touchFile: {e}")))?;
        }
        if let Some(path) = &state.args.wait_for_file {
            wait_for(path).await.map_err(OpError::msg)?;
        }
        let id = format!("fixture-{:08x}", rand_u32());
        if flag_set(&state.args) {
            return Err(OpError::Partial {
                id,
                state,
                reasons: vec!["fixture failure flag set".into()],
            });
        }
        Ok((id, Outputs::known(state)))
    }

    async fn update(
        &self,
        ctx: &Ctx,
        input: UpdateInput<FixtureArgs, FixtureState>,
    ) -> Result<Outputs<FixtureState>, OpError<FixtureState>> {
        let UpdateInput {
            id,
            olds,
            news,
            preview,
        } = input;
        let state = FixtureState {
            result: format!("value={}", news.value),
            generation: olds.generation + 1,
            args: news,
        };
        if preview {
            return Ok(Outputs {
                state,
                unknown: unknown_outputs!(FixtureState { generation }),
            });
        }
        ctx.progress("updating fixture");
        if flag_set(&state.args) {
            return Err(OpError::Partial {
                id,
                state,
                reasons: vec!["fixture failure flag set".into()],
            });
        }
        Ok(Outputs::known(state))
    }
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish() as u32
}
