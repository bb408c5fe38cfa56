//! The typed interface every resource implements.
//!
//! A resource sees its own Args and State structs, a context for logging,
//! cancellation and AWS clients, and nothing of the wire: unknowns, secrets
//! and protobuf Structs are handled once, in `dispatch`, for all resources.

use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
use tokio_util::sync::CancellationToken;

use crate::log::Logger;
use crate::wire::typed::Annotations;

pub use crate::schema::Failure;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a resource operation can report besides success.
#[derive(Debug)]
pub enum OpError<S> {
    /// Nothing was changed (or the change is known to have been undone).
    Failed(BoxError),
    /// The resource exists but is not healthy: the engine records `id` and
    /// `state` so nothing is lost, fails the step, and retries on the next up.
    Partial {
        id: String,
        state: S,
        reasons: Vec<String>,
    },
}

impl<S, E: std::error::Error + Send + Sync + 'static> From<E> for OpError<S> {
    fn from(e: E) -> Self {
        OpError::Failed(Box::new(e))
    }
}

impl<S> OpError<S> {
    pub fn msg(message: impl Into<String>) -> Self {
        OpError::Failed(message.into().into())
    }
}

/// A property that changes, in the engine's path notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    /// The change can only be applied by replacing the resource.
    pub replace: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Add,
    Delete,
    Update,
}

impl Change {
    pub fn update(path: impl Into<String>) -> Self {
        Change {
            path: path.into(),
            kind: ChangeKind::Update,
            replace: false,
        }
    }

    pub fn replace(path: impl Into<String>) -> Self {
        Change {
            path: path.into(),
            kind: ChangeKind::Update,
            replace: true,
        }
    }
}

/// A resource's verdict on old state versus new inputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiffOutcome {
    /// Empty means no change at all.
    pub changes: Vec<Change>,
    pub delete_before_replace: bool,
    /// Why, in words users understand ("src/app.ts modified"); shown in the engine log.
    pub reasons: Vec<String>,
}

/// Outputs of a create or update, with the top-level outputs that are not
/// known yet (only allowed in preview).
#[derive(Debug, Clone)]
pub struct Outputs<S> {
    pub state: S,
    pub unknown: Vec<String>,
}

impl<S> Outputs<S> {
    pub fn known(state: S) -> Self {
        Outputs {
            state,
            unknown: Vec::new(),
        }
    }
}

/// Everything a resource call may use besides its own values.
pub struct Ctx<C> {
    pub urn: String,
    pub name: String,
    pub cancel: CancellationToken,
    pub provider: Arc<C>,
    pub(crate) log: Logger,
    pub(crate) inputs: Annotations,
    /// Engine-provided timeout in seconds (0 = resource default).
    pub timeout_seconds: f64,
}

impl<C> Clone for Ctx<C> {
    fn clone(&self) -> Self {
        Ctx {
            urn: self.urn.clone(),
            name: self.name.clone(),
            cancel: self.cancel.clone(),
            provider: self.provider.clone(),
            log: self.log.clone(),
            inputs: self.inputs.clone(),
            timeout_seconds: self.timeout_seconds,
        }
    }
}

impl<C> Ctx<C> {
    /// Progress line shown live in the CLI and not kept.
    pub fn progress(&self, message: &str) {
        self.log.progress(&self.urn, message);
    }

    pub fn info(&self, message: &str) {
        self.log.info(&self.urn, message);
    }

    pub fn warn(&self, message: &str) {
        self.log.warn(&self.urn, message);
    }

    /// True when the input `property` (or anything inside it) is not known
    /// yet. Only possible in Check during preview.
    pub fn is_unknown(&self, property: &str) -> bool {
        self.inputs.is_unknown(property)
    }

    pub fn has_unknowns(&self) -> bool {
        self.inputs.has_unknowns()
    }

    /// True when the value at `property` (a path such as
    /// `containers[0].image`) is unknown or lies inside or around an
    /// unknown value.
    pub fn is_unknown_at(&self, property: &str) -> bool {
        self.inputs.unknown.iter().any(|p| {
            let p = p.to_string();
            related(&p, property) || related(property, &p)
        })
    }
}

/// True when `inner` is `outer` or a path below it.
fn related(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// Check's view of the engine request.
pub struct CheckInput<A> {
    pub news: A,
    /// Old inputs; `None` on create and on the second Check of a replace.
    pub olds: Option<A>,
    pub random_seed: Vec<u8>,
    /// The engine's proposed name when autonaming is configured.
    pub proposed_name: Option<String>,
}

/// Diff's view: old outputs, old inputs if the engine sent them, new inputs.
pub struct DiffInput<A, S> {
    pub id: String,
    pub olds: S,
    pub old_inputs: Option<A>,
    pub news: A,
}

#[async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync + 'static {
    type Args: Serialize + DeserializeOwned + JsonSchema + Clone + Send + Sync;
    type State: Serialize + DeserializeOwned + JsonSchema + Clone + Send + Sync;

    /// Type token, e.g. `imagedeploy:index:Image`.
    fn token(&self) -> &'static str;

    /// Markdown description for the schema and SDK docs.
    fn description(&self) -> &'static str;

    /// Semantic checks and defaults, after the inputs' types were validated.
    /// Values that are unknown (see `Ctx::is_unknown`) hold placeholders.
    async fn check(
        &self,
        ctx: &Ctx<C>,
        input: CheckInput<Self::Args>,
    ) -> Result<Self::Args, Vec<Failure>>;

    /// Called only with fully known new inputs.
    async fn diff(
        &self,
        ctx: &Ctx<C>,
        input: DiffInput<Self::Args, Self::State>,
    ) -> Result<DiffOutcome, BoxError>;

    /// Returns the new id and outputs. Called only with fully known inputs.
    async fn create(
        &self,
        ctx: &Ctx<C>,
        args: Self::Args,
        preview: bool,
    ) -> Result<(String, Outputs<Self::State>), OpError<Self::State>>;

    /// Current state of `id`; `None` when it no longer exists.
    async fn read(
        &self,
        ctx: &Ctx<C>,
        id: &str,
        state: Self::State,
    ) -> Result<Option<Self::State>, BoxError>;

    async fn update(
        &self,
        ctx: &Ctx<C>,
        id: &str,
        olds: Self::State,
        news: Self::Args,
        preview: bool,
    ) -> Result<Outputs<Self::State>, OpError<Self::State>>;

    async fn delete(&self, ctx: &Ctx<C>, id: &str, state: Self::State) -> Result<(), BoxError>;
}
