//! Runs typed resources behind the engine's untyped requests.
//!
//! Everything the engine's value model demands of every resource lives here,
//! once: structural validation with a failure per property, decoding with
//! unknown and secret tracking, the generic diff and preview answers when a
//! new input is still unknown, ignoreChanges, and re-wrapping secrets in
//! outputs.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value as Json;

use crate::resource::{
    Change, ChangeKind, CheckInput, CreateInput, Ctx, DeleteInput, DiffInput, DiffOutcome, Failure,
    OpError, OutputName, ReadInput, Reason, Resource, UpdateInput,
};
use crate::schema::package::ResourceSchema;
use crate::schema::typed::{
    culprit, decode, encode, from_json, to_json, value_to_json, Annotations,
};
use crate::schema::{object_shape_of, validate, ObjectShape};
use crate::wire::value::Value;

/// Top-level properties as the engine sends them.
pub type PropertyMap = BTreeMap<String, Value>;

/// A failed operation as the engine must hear it.
#[derive(Debug)]
pub enum OpFailure {
    /// Nothing to record; the text goes to the user.
    Error(String),
    /// The engine records `id` and `outputs`, fails the step, and retries.
    Partial {
        /// The id to record.
        id: String,
        /// The outputs to record.
        outputs: PropertyMap,
        /// Why the operation did not complete.
        reasons: Vec<String>,
    },
}

impl OpFailure {
    /// The same failure with every value `secrets` knows masked in its words.
    pub fn redacted(self, secrets: &imagedeploy_redact::Redactor) -> Self {
        match self {
            OpFailure::Error(message) => OpFailure::Error(secrets.redact(&message)),
            OpFailure::Partial {
                id,
                outputs,
                reasons,
            } => OpFailure::Partial {
                id,
                outputs,
                reasons: reasons.iter().map(|r| secrets.redact(r)).collect(),
            },
        }
    }
}

impl From<String> for OpFailure {
    fn from(message: String) -> Self {
        OpFailure::Error(message)
    }
}

/// Check, as the engine asks it.
pub struct CheckRequest {
    /// Old inputs (absent on create).
    pub olds: Option<PropertyMap>,
    /// New inputs.
    pub news: PropertyMap,
    /// Engine-provided randomness.
    pub random_seed: Vec<u8>,
    /// The engine's proposed name, when autonaming is configured.
    pub proposed_name: Option<String>,
    /// How the engine wants names chosen.
    pub autonaming: crate::resource::AutonamingMode,
}

/// Diff, as the engine asks it.
pub struct DiffRequest {
    /// The resource's id.
    pub id: String,
    /// Old outputs.
    pub olds: PropertyMap,
    /// Old inputs, when the engine sent them.
    pub old_inputs: Option<PropertyMap>,
    /// New inputs.
    pub news: PropertyMap,
    /// Paths the user asked to ignore.
    pub ignore_changes: Vec<String>,
}

/// Create, as the engine asks it.
pub struct CreateRequest {
    /// Checked inputs.
    pub news: PropertyMap,
    /// True during preview.
    pub preview: bool,
}

/// Read, as the engine asks it.
pub struct ReadRequest {
    /// The resource's id.
    pub id: String,
    /// Recorded outputs.
    pub state: PropertyMap,
}

/// Update, as the engine asks it.
pub struct UpdateRequest {
    /// The resource's id.
    pub id: String,
    /// Old outputs.
    pub olds: PropertyMap,
    /// Checked new inputs.
    pub news: PropertyMap,
    /// True during preview.
    pub preview: bool,
}

/// Delete, as the engine asks it.
pub struct DeleteRequest {
    /// The resource's id.
    pub id: String,
    /// Recorded outputs.
    pub state: PropertyMap,
}

/// What Read answers: outputs and the inputs they imply; `None` when the
/// resource is gone.
pub type ReadAnswer = Option<(PropertyMap, PropertyMap)>;

/// The wire-level face of a resource type.
#[async_trait]
pub trait ErasedResource<C: Send + Sync + 'static>: Send + Sync {
    /// Type token.
    fn token(&self) -> &'static str;
    /// Token, description and shapes, for the package schema.
    fn schema(&self) -> ResourceSchema;
    /// Shape of the inputs.
    fn input_shape(&self) -> Arc<ObjectShape>;
    /// Check: new inputs (possibly with defaults) and failures.
    async fn check(&self, ctx: Ctx<C>, req: CheckRequest) -> (PropertyMap, Vec<Failure>);
    /// Diff.
    async fn diff(&self, ctx: Ctx<C>, req: DiffRequest) -> Result<DiffOutcome, OpFailure>;
    /// Create: id and outputs.
    async fn create(
        &self,
        ctx: Ctx<C>,
        req: CreateRequest,
    ) -> Result<(String, PropertyMap), OpFailure>;
    /// Read.
    async fn read(&self, ctx: Ctx<C>, req: ReadRequest) -> Result<ReadAnswer, OpFailure>;
    /// Update: outputs.
    async fn update(&self, ctx: Ctx<C>, req: UpdateRequest) -> Result<PropertyMap, OpFailure>;
    /// Delete.
    async fn delete(&self, ctx: Ctx<C>, req: DeleteRequest) -> Result<(), OpFailure>;
}

/// Adapts a typed `Resource` to `ErasedResource`.
pub struct Typed<R, C> {
    resource: R,
    context: std::marker::PhantomData<fn(C)>,
    inputs: Arc<ObjectShape>,
    outputs: Arc<ObjectShape>,
}

impl<R: Resource<C>, C: Send + Sync + 'static> Typed<R, C> {
    /// The resource behind the wire-level interface.
    pub fn erase(resource: R) -> Arc<dyn ErasedResource<C>> {
        Arc::new(Typed {
            resource,
            context: std::marker::PhantomData,
            inputs: object_shape_of::<R::Args>(),
            outputs: object_shape_of::<R::State>(),
        })
    }

    fn args(&self, map: &PropertyMap) -> Result<(R::Args, Annotations), String> {
        let (json, ann) = decode(map, &self.inputs);
        from_json(json)
            .map(|a| (a, ann))
            .map_err(|e| format!("invalid inputs: {e}"))
    }

    fn state(&self, map: &PropertyMap) -> Result<(R::State, Annotations), String> {
        let (json, ann) = decode(map, &self.outputs);
        from_json(json)
            .map(|s| (s, ann))
            .map_err(|e| format!("the recorded state of this resource cannot be read ({e}); run `pulumi refresh` or re-create the resource"))
    }

    fn encode_outputs(
        &self,
        state: &R::State,
        unknown: &[OutputName],
        ann: &Annotations,
    ) -> Result<PropertyMap, String> {
        if let Some(name) = unknown
            .iter()
            .find(|n| self.outputs.property(n.as_str()).is_none())
        {
            return Err(format!(
                "internal error: \"{name}\" is named unknown but is not an output of {}",
                self.resource.token()
            ));
        }
        let json = to_json(state)?;
        let mut derived = ann.clone();
        derived
            .secret
            .extend(self.resource.derived_secrets(&ann.secret, state));
        let ann = &derived;
        let mut map = encode(&json, &self.outputs, ann);
        if !ann.secret.is_empty() {
            // Internal outputs (not in the schema) may hold copies of inputs
            // in another shape, e.g. normalised container definitions; when
            // any input was secret, keep them all secret rather than trace
            // every copy.
            for (name, value) in map.iter_mut() {
                if self.outputs.property(name).is_none() {
                    let plain = std::mem::replace(value, Value::Null);
                    *value = plain.into_secret();
                }
            }
        }
        for name in unknown {
            map.insert(name.as_str().to_string(), Value::Unknown);
        }
        Ok(map)
    }

    /// Outputs for a preview whose inputs are not all known: the inputs as
    /// they are, every output-only property unknown.
    fn preview_with_unknowns(&self, news: &PropertyMap) -> PropertyMap {
        let mut map = news.clone();
        for (name, _) in &self.outputs.properties {
            if self.inputs.property(name).is_none() {
                map.insert(name.clone(), Value::Unknown);
            }
        }
        map
    }

    fn failure(&self, err: OpError<R::State>, ann: &Annotations) -> OpFailure {
        match err {
            OpError::Failed(e) => OpFailure::Error(e.to_string()),
            OpError::Partial { id, state, reasons } => {
                match self.encode_outputs(&state, &[], ann) {
                    Ok(outputs) => OpFailure::Partial {
                        id,
                        outputs,
                        reasons,
                    },
                    Err(e) => OpFailure::Error(format!(
                        "{}; and its state could not be recorded: {e}",
                        reasons.join("; ")
                    )),
                }
            }
        }
    }

    /// Diff decided without the resource: a property whose new value is
    /// unknown, or whose plain value differs from the old input, changes.
    fn generic_diff(
        &self,
        old_inputs: &PropertyMap,
        news: &PropertyMap,
        news_ann: &Annotations,
    ) -> DiffOutcome {
        let mut changes = Vec::new();
        for (name, prop) in &self.inputs.properties {
            let old = old_inputs.get(name).map(plain).filter(|v| !v.is_null());
            let new = news.get(name).map(plain).filter(|v| !v.is_null());
            let kind = if news_ann.is_unknown(name) {
                Some(ChangeKind::Update)
            } else {
                match (&old, &new) {
                    (None, Some(_)) => Some(ChangeKind::Add),
                    (Some(_), None) => Some(ChangeKind::Delete),
                    (Some(o), Some(n)) if o != n => Some(ChangeKind::Update),
                    _ => None,
                }
            };
            if let Some(kind) = kind {
                changes.push(Change {
                    path: name.clone(),
                    kind,
                    replace: prop.replace_on_changes,
                });
            }
        }
        let reasons = changes
            .iter()
            .map(|c| {
                let text = if news_ann.is_unknown(&c.path) {
                    format!("{} will be known after dependencies are updated", c.path)
                } else {
                    format!("{} changed", c.path)
                };
                Reason::about(c.path.clone(), text)
            })
            .collect();
        DiffOutcome {
            changes,
            delete_before_replace: false,
            reasons,
        }
    }

    /// Check, before its failures are masked.
    async fn check_unmasked(
        &self,
        mut ctx: Ctx<C>,
        req: CheckRequest,
    ) -> (PropertyMap, Vec<Failure>) {
        let failures =
            validate::validate_except(&req.news, &self.inputs, self.resource.internal_inputs());
        if !failures.is_empty() {
            return (req.news, failures);
        }
        let (news, ann) = match self.args(&req.news) {
            Ok(decoded) => decoded,
            Err(e) => {
                // Validation passed, so the shape is right but a value is
                // not (out of range, say): name the property it is in.
                let (json, _) = decode(&req.news, &self.inputs);
                let property = culprit::<R::Args>(&json, &self.inputs).unwrap_or_default();
                let reason = e.trim_start_matches("invalid inputs: ").to_string();
                return (
                    req.news,
                    vec![Failure::new(property, format!("invalid value: {reason}"))],
                );
            }
        };
        let olds = req
            .olds
            .as_ref()
            .filter(|m| !m.is_empty())
            .and_then(|m| self.args(m).ok().map(|(a, _)| a));
        ctx.inputs = ann.clone();
        let input = CheckInput {
            news,
            olds,
            random_seed: req.random_seed,
            proposed_name: req.proposed_name,
            autonaming: req.autonaming,
        };
        match self.resource.check(&ctx, input).await {
            Ok(checked) => match to_json(&checked) {
                Ok(json) => (encode(&json, &self.inputs, &ann), Vec::new()),
                Err(e) => (req.news, vec![Failure::new("", e)]),
            },
            Err(failures) => (req.news, failures),
        }
    }

    /// Diff, before its reasons are masked.
    async fn diff_unmasked(
        &self,
        mut ctx: Ctx<C>,
        req: DiffRequest,
    ) -> Result<DiffOutcome, OpFailure> {
        let (news, news_ann) = self.args(&req.news)?;
        ctx.inputs = news_ann.clone();
        let old_inputs = req.old_inputs.clone().unwrap_or_else(|| {
            req.olds
                .iter()
                .filter(|(k, _)| self.inputs.property(k).is_some())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        });
        let mut outcome = if news_ann.has_unknowns() {
            self.generic_diff(&old_inputs, &req.news, &news_ann)
        } else {
            let (olds, _) = self.state(&req.olds)?;
            let old_args = self.args(&old_inputs).ok().map(|(a, _)| a);
            let input = DiffInput {
                id: req.id,
                olds,
                old_inputs: old_args,
                news,
            };
            self.resource
                .diff(&ctx, input)
                .await
                .map_err(|e| e.to_string())?
        };
        let before = outcome.changes.len();
        outcome
            .changes
            .retain(|c| !ignored(&c.path, &req.ignore_changes));
        if outcome.changes.is_empty() && before > 0 {
            // Every change was one the program ignores: none of the
            // reasons is about a change that will happen.
            outcome.reasons.clear();
        } else {
            // Some were ignored: drop the reasons about those.
            outcome.reasons.retain(|r| {
                r.path
                    .as_deref()
                    .is_none_or(|p| !ignored(p, &req.ignore_changes))
            });
        }
        Ok(outcome)
    }
}

fn plain(value: &Value) -> Json {
    value_to_json(value)
}

/// True when `path` lies under one of the `ignoreChanges` paths, matched as
/// the engine matches property paths (parsed, `*` a wildcard, quoted keys).
fn ignored(path: &str, ignore: &[String]) -> bool {
    use crate::wire::path::Path;
    let Ok(changed) = Path::parse(path) else {
        return false;
    };
    ignore
        .iter()
        .filter_map(|i| Path::parse(i).ok())
        .any(|i| i.contains(&changed))
}

#[async_trait]
impl<R: Resource<C>, C: Send + Sync + 'static> ErasedResource<C> for Typed<R, C> {
    fn token(&self) -> &'static str {
        self.resource.token()
    }

    fn schema(&self) -> ResourceSchema {
        ResourceSchema {
            token: self.resource.token(),
            description: self.resource.description(),
            inputs: self.inputs.clone(),
            outputs: self.outputs.clone(),
        }
    }

    fn input_shape(&self) -> Arc<ObjectShape> {
        self.inputs.clone()
    }

    async fn check(&self, ctx: Ctx<C>, req: CheckRequest) -> (PropertyMap, Vec<Failure>) {
        let secrets = ctx.secrets.clone();
        let (inputs, mut failures) = self.check_unmasked(ctx, req).await;
        for failure in &mut failures {
            failure.reason = secrets.redact(&failure.reason);
        }
        (inputs, failures)
    }

    async fn diff(&self, ctx: Ctx<C>, req: DiffRequest) -> Result<DiffOutcome, OpFailure> {
        let secrets = ctx.secrets.clone();
        let mut outcome = self.diff_unmasked(ctx, req).await?;
        for reason in &mut outcome.reasons {
            reason.text = secrets.redact(&reason.text);
        }
        Ok(outcome)
    }

    async fn create(
        &self,
        mut ctx: Ctx<C>,
        req: CreateRequest,
    ) -> Result<(String, PropertyMap), OpFailure> {
        let (args, ann) = self.args(&req.news)?;
        ctx.inputs = ann.clone();
        if ann.has_unknowns() {
            if req.preview {
                return Ok((String::new(), self.preview_with_unknowns(&req.news)));
            }
            return Err(OpFailure::Error(
                "inputs are still unknown outside of preview".into(),
            ));
        }
        let input = CreateInput {
            args,
            preview: req.preview,
        };
        let (id, outputs) = self
            .resource
            .create(&ctx, input)
            .await
            .map_err(|e| self.failure(e, &ann))?;
        let map = self.encode_outputs(&outputs.state, &outputs.unknown, &ann)?;
        Ok((id, map))
    }

    async fn read(&self, ctx: Ctx<C>, req: ReadRequest) -> Result<ReadAnswer, OpFailure> {
        // No recorded state: an import, which knows only the id.
        let (found, ann) = if req.state.is_empty() {
            let found = self
                .resource
                .import(&ctx, &req.id)
                .await
                .map_err(|e| e.to_string())?;
            (found, Annotations::default())
        } else {
            let (state, ann) = self.state(&req.state)?;
            let input = ReadInput { id: req.id, state };
            let found = self
                .resource
                .read(&ctx, input)
                .await
                .map_err(|e| e.to_string())?;
            (found, ann)
        };
        let Some(fresh) = found else {
            return Ok(None);
        };
        let outputs = self.encode_outputs(&fresh, &[], &ann)?;
        let internal = self.resource.internal_inputs();
        let inputs = outputs
            .iter()
            .filter(|(k, _)| self.inputs.property(k).is_some() || internal.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Some((outputs, inputs)))
    }

    async fn update(&self, mut ctx: Ctx<C>, req: UpdateRequest) -> Result<PropertyMap, OpFailure> {
        let (args, ann) = self.args(&req.news)?;
        ctx.inputs = ann.clone();
        if ann.has_unknowns() {
            if req.preview {
                return Ok(self.preview_with_unknowns(&req.news));
            }
            return Err(OpFailure::Error(
                "inputs are still unknown outside of preview".into(),
            ));
        }
        let (olds, _) = self.state(&req.olds)?;
        let input = UpdateInput {
            id: req.id,
            olds,
            news: args,
            preview: req.preview,
        };
        let outputs = self
            .resource
            .update(&ctx, input)
            .await
            .map_err(|e| self.failure(e, &ann))?;
        Ok(self.encode_outputs(&outputs.state, &outputs.unknown, &ann)?)
    }

    async fn delete(&self, ctx: Ctx<C>, req: DeleteRequest) -> Result<(), OpFailure> {
        let (state, _) = self.state(&req.state)?;
        let input = DeleteInput { id: req.id, state };
        self.resource
            .delete(&ctx, input)
            .await
            .map_err(|e| OpFailure::Error(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{BoxError, Created, Outputs};
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
    struct Two {
        #[serde(default)]
        a: Option<String>,
        #[serde(default)]
        b: Option<String>,
    }

    /// Changes `a` and `b`, with one reason about each and one about the
    /// resource as a whole.
    struct Both;

    #[async_trait]
    impl Resource<()> for Both {
        type Args = Two;
        type State = Two;
        fn token(&self) -> &'static str {
            "test:index:Both"
        }
        fn description(&self) -> &'static str {
            "test"
        }
        async fn diff(
            &self,
            _ctx: &Ctx<()>,
            _input: DiffInput<Two, Two>,
        ) -> Result<DiffOutcome, BoxError> {
            Ok(DiffOutcome {
                changes: vec![Change::update("a"), Change::update("b")],
                delete_before_replace: false,
                reasons: vec![
                    Reason::about("a", "a changed"),
                    Reason::about("b", "b changed"),
                    Reason::from("rollout retried"),
                ],
            })
        }
        async fn create(
            &self,
            _ctx: &Ctx<()>,
            input: CreateInput<Two>,
        ) -> Result<Created<Two>, OpError<Two>> {
            Ok((String::new(), Outputs::known(input.args)))
        }
        async fn update(
            &self,
            _ctx: &Ctx<()>,
            input: UpdateInput<Two, Two>,
        ) -> Result<Outputs<Two>, OpError<Two>> {
            Ok(Outputs::known(input.news))
        }
    }

    async fn reasons(ignore: &[&str]) -> Vec<String> {
        let erased = Typed::erase(Both);
        let ctx = Ctx::new(
            "urn",
            "both",
            tokio_util::sync::CancellationToken::new(),
            Arc::new(()),
        );
        let req = DiffRequest {
            id: "id".into(),
            olds: PropertyMap::new(),
            old_inputs: None,
            news: PropertyMap::new(),
            ignore_changes: ignore.iter().map(|s| s.to_string()).collect(),
        };
        let outcome = erased.diff(ctx, req).await.unwrap();
        outcome.reasons.into_iter().map(|r| r.text).collect()
    }

    #[tokio::test]
    async fn reasons_about_ignored_changes_are_dropped_and_general_ones_stay() {
        assert_eq!(
            reasons(&[]).await,
            ["a changed", "b changed", "rollout retried"]
        );
        assert_eq!(reasons(&["a"]).await, ["b changed", "rollout retried"]);
        assert!(reasons(&["a", "b"]).await.is_empty());
    }

    /// Quotes its input `a` in a Check failure and a diff reason, as a
    /// careless resource would.
    struct Careless;

    #[async_trait]
    impl Resource<()> for Careless {
        type Args = Two;
        type State = Two;
        fn token(&self) -> &'static str {
            "test:index:Careless"
        }
        fn description(&self) -> &'static str {
            "test"
        }
        async fn check(&self, _ctx: &Ctx<()>, input: CheckInput<Two>) -> Result<Two, Vec<Failure>> {
            let a = input.news.a.unwrap_or_default();
            Err(vec![Failure::new("a", format!("\"{a}\" is wrong"))])
        }
        async fn diff(
            &self,
            _ctx: &Ctx<()>,
            input: DiffInput<Two, Two>,
        ) -> Result<DiffOutcome, BoxError> {
            let a = input.news.a.unwrap_or_default();
            Ok(DiffOutcome {
                changes: vec![Change::update("a")],
                delete_before_replace: false,
                reasons: vec![Reason::about("a", format!("a {a} -> new"))],
            })
        }
        async fn create(
            &self,
            _ctx: &Ctx<()>,
            input: CreateInput<Two>,
        ) -> Result<Created<Two>, OpError<Two>> {
            Err(OpError::msg(format!(
                "rejected {}",
                input.args.a.unwrap_or_default()
            )))
        }
        async fn update(
            &self,
            _ctx: &Ctx<()>,
            input: UpdateInput<Two, Two>,
        ) -> Result<Outputs<Two>, OpError<Two>> {
            Ok(Outputs::known(input.news))
        }
    }

    #[tokio::test]
    async fn failures_reasons_and_errors_never_quote_a_secret_input() {
        let erased = Typed::erase(Careless);
        let news: PropertyMap = [(
            "a".to_string(),
            Value::Secret(Box::new(Value::String("hunter2-value".into()))),
        )]
        .into();
        let mut ctx = Ctx::new(
            "urn",
            "careless",
            tokio_util::sync::CancellationToken::new(),
            Arc::new(()),
        );
        ctx.secrets = Arc::new(crate::schema::secrets::secret_values(
            &news,
            &erased.input_shape(),
        ));
        let (_, failures) = erased
            .check(
                ctx.clone(),
                CheckRequest {
                    olds: None,
                    news: news.clone(),
                    random_seed: Vec::new(),
                    proposed_name: None,
                    autonaming: crate::resource::AutonamingMode::Unset,
                },
            )
            .await;
        assert_eq!(failures[0].reason, "\"[secret]\" is wrong");
        let outcome = erased
            .diff(
                ctx.clone(),
                DiffRequest {
                    id: "id".into(),
                    olds: PropertyMap::new(),
                    old_inputs: None,
                    news: news.clone(),
                    ignore_changes: Vec::new(),
                },
            )
            .await
            .unwrap();
        assert_eq!(outcome.reasons[0].text, "a [secret] -> new");
        let error = erased
            .create(
                ctx.clone(),
                CreateRequest {
                    news,
                    preview: false,
                },
            )
            .await
            .unwrap_err()
            .redacted(&ctx.secrets);
        match error {
            OpFailure::Error(message) => assert_eq!(message, "rejected [secret]"),
            other => panic!("{other:?}"),
        }
    }
}
