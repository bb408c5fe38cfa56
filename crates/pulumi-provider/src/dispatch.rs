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
    BoxError, Change, ChangeKind, CheckInput, Ctx, DiffInput, DiffOutcome, Failure, OpError,
    Resource,
};
use crate::schema::{object_shape_of, ObjectShape};
use crate::wire::typed::{decode, encode, from_json, to_json, Annotations};
use crate::wire::value::Value;

pub type PropertyMap = BTreeMap<String, Value>;

/// A failed create/update as the engine must hear it.
#[derive(Debug)]
pub enum OpFailure {
    Error(String),
    Partial {
        id: String,
        outputs: PropertyMap,
        reasons: Vec<String>,
    },
}

pub struct CheckRequest {
    pub olds: Option<PropertyMap>,
    pub news: PropertyMap,
    pub random_seed: Vec<u8>,
    pub proposed_name: Option<String>,
}

pub struct DiffRequest {
    pub id: String,
    pub olds: PropertyMap,
    pub old_inputs: Option<PropertyMap>,
    pub news: PropertyMap,
    pub ignore_changes: Vec<String>,
}

/// The wire-level face of a resource type.
#[async_trait]
pub trait ErasedResource<C: Send + Sync + 'static>: Send + Sync {
    fn token(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn input_shape(&self) -> Arc<ObjectShape>;
    fn output_shape(&self) -> Arc<ObjectShape>;
    async fn check(&self, ctx: Ctx<C>, req: CheckRequest) -> (PropertyMap, Vec<Failure>);
    async fn diff(&self, ctx: Ctx<C>, req: DiffRequest) -> Result<DiffOutcome, String>;
    async fn create(
        &self,
        ctx: Ctx<C>,
        news: PropertyMap,
        preview: bool,
    ) -> Result<(String, PropertyMap), OpFailure>;
    async fn read(
        &self,
        ctx: Ctx<C>,
        id: String,
        state: PropertyMap,
    ) -> Result<Option<(PropertyMap, PropertyMap)>, String>;
    async fn update(
        &self,
        ctx: Ctx<C>,
        id: String,
        olds: PropertyMap,
        news: PropertyMap,
        preview: bool,
    ) -> Result<PropertyMap, OpFailure>;
    async fn delete(&self, ctx: Ctx<C>, id: String, state: PropertyMap) -> Result<(), String>;
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
        unknown: &[String],
        ann: &Annotations,
    ) -> Result<PropertyMap, String> {
        let json = to_json(state)?;
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
            map.insert(name.clone(), Value::Unknown);
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
                if news_ann.is_unknown(&c.path) {
                    format!("{} will be known after dependencies are updated", c.path)
                } else {
                    format!("{} changed", c.path)
                }
            })
            .collect();
        DiffOutcome {
            changes,
            delete_before_replace: false,
            reasons,
        }
    }
}

fn plain(value: &Value) -> Json {
    crate::wire::typed::value_to_json(value)
}

fn ignored(path: &str, ignore: &[String]) -> bool {
    ignore.iter().any(|i| {
        path == i
            || path
                .strip_prefix(i.as_str())
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    })
}

fn err_text(e: BoxError) -> String {
    e.to_string()
}

#[async_trait]
impl<R: Resource<C>, C: Send + Sync + 'static> ErasedResource<C> for Typed<R, C> {
    fn token(&self) -> &'static str {
        self.resource.token()
    }

    fn description(&self) -> &'static str {
        self.resource.description()
    }

    fn input_shape(&self) -> Arc<ObjectShape> {
        self.inputs.clone()
    }

    fn output_shape(&self) -> Arc<ObjectShape> {
        self.outputs.clone()
    }

    async fn check(&self, mut ctx: Ctx<C>, req: CheckRequest) -> (PropertyMap, Vec<Failure>) {
        let failures = crate::schema::validate::validate(&req.news, &self.inputs);
        if !failures.is_empty() {
            return (req.news, failures);
        }
        let (news, ann) = match self.args(&req.news) {
            Ok(decoded) => decoded,
            Err(e) => return (req.news, vec![Failure::new("", e)]),
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
        };
        match self.resource.check(&ctx, input).await {
            Ok(checked) => match to_json(&checked) {
                Ok(json) => (encode(&json, &self.inputs, &ann), Vec::new()),
                Err(e) => (req.news, vec![Failure::new("", e)]),
            },
            Err(failures) => (req.news, failures),
        }
    }

    async fn diff(&self, ctx: Ctx<C>, req: DiffRequest) -> Result<DiffOutcome, String> {
        let (news, news_ann) = self.args(&req.news)?;
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
            self.resource.diff(&ctx, input).await.map_err(err_text)?
        };
        outcome
            .changes
            .retain(|c| !ignored(&c.path, &req.ignore_changes));
        Ok(outcome)
    }

    async fn create(
        &self,
        ctx: Ctx<C>,
        news: PropertyMap,
        preview: bool,
    ) -> Result<(String, PropertyMap), OpFailure> {
        let (args, ann) = self.args(&news).map_err(OpFailure::Error)?;
        if ann.has_unknowns() {
            if preview {
                return Ok((String::new(), self.preview_with_unknowns(&news)));
            }
            return Err(OpFailure::Error(
                "inputs are still unknown outside of preview".into(),
            ));
        }
        let (id, outputs) = self
            .resource
            .create(&ctx, args, preview)
            .await
            .map_err(|e| self.failure(e, &ann))?;
        let map = self
            .encode_outputs(&outputs.state, &outputs.unknown, &ann)
            .map_err(OpFailure::Error)?;
        Ok((id, map))
    }

    async fn read(
        &self,
        ctx: Ctx<C>,
        id: String,
        state: PropertyMap,
    ) -> Result<Option<(PropertyMap, PropertyMap)>, String> {
        let (typed, ann) = self.state(&state)?;
        match self
            .resource
            .read(&ctx, &id, typed)
            .await
            .map_err(err_text)?
        {
            None => Ok(None),
            Some(fresh) => {
                let outputs = self.encode_outputs(&fresh, &[], &ann)?;
                let inputs = outputs
                    .iter()
                    .filter(|(k, _)| self.inputs.property(k).is_some())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Ok(Some((outputs, inputs)))
            }
        }
    }

    async fn update(
        &self,
        ctx: Ctx<C>,
        id: String,
        olds: PropertyMap,
        news: PropertyMap,
        preview: bool,
    ) -> Result<PropertyMap, OpFailure> {
        let (args, ann) = self.args(&news).map_err(OpFailure::Error)?;
        if ann.has_unknowns() {
            if preview {
                return Ok(self.preview_with_unknowns(&news));
            }
            return Err(OpFailure::Error(
                "inputs are still unknown outside of preview".into(),
            ));
        }
        let (old_state, _) = self.state(&olds).map_err(OpFailure::Error)?;
        let outputs = self
            .resource
            .update(&ctx, &id, old_state, args, preview)
            .await
            .map_err(|e| self.failure(e, &ann))?;
        self.encode_outputs(&outputs.state, &outputs.unknown, &ann)
            .map_err(OpFailure::Error)
    }

    async fn delete(&self, ctx: Ctx<C>, id: String, state: PropertyMap) -> Result<(), String> {
        let (typed, _) = self.state(&state)?;
        self.resource
            .delete(&ctx, &id, typed)
            .await
            .map_err(err_text)
    }
}
