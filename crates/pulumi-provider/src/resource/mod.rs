//! The typed interface every resource implements: start here.
//!
//! A resource sees its own Args and State structs, a [`Ctx`] for
//! cancellation, unknown inputs and the application's context (AWS clients,
//! say), and nothing of the wire: unknowns, secrets and protobuf Structs are
//! handled once, in `dispatch`, for all resources.
//!
//! Each engine operation has one request struct ([`CheckInput`],
//! [`DiffInput`], [`CreateInput`], [`ReadInput`], [`UpdateInput`],
//! [`DeleteInput`]), so a field the engine adds later is a new field, not a
//! new parameter in every implementation. As in pulumi-go-provider's `infer`,
//! Check, Read and Delete have defaults: Check accepts the inputs as they
//! are, Read keeps the recorded state, Delete does nothing.
//!
//! Logging is `tracing`: every call runs inside a span that carries the
//! resource's URN, so `tracing::info!` anywhere below (also in domain crates)
//! reaches the engine's log for that resource; an event with the field
//! `progress = true` is shown live and not kept (see `log`).

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};

mod ctx;
mod io;

pub use crate::schema::Failure;
pub use ctx::{AppContext, Ctx};
pub use io::{
    AutonamingMode, BoxError, Change, ChangeKind, CheckInput, CreateInput, Created, DeleteInput,
    DiffInput, DiffOutcome, OpError, OutputName, Outputs, ReadInput, Reason, UpdateInput,
};

/// A resource type, typed: implement this, erase it with
/// `dispatch::Typed::erase`, and hand it to `launch::serve`.
///
/// `C` is the application's context (see [`AppContext`]); a resource that
/// needs none can implement `Resource<C>` for every `C`.
///
/// Every method is called with fully known inputs except Check (during a
/// preview, unknown inputs hold placeholders; ask [`Ctx::is_unknown`]) and
/// Create/Update with `preview: true` (the framework answers those itself
/// when an input is unknown).
#[async_trait]
pub trait Resource<C: Send + Sync + 'static>: Send + Sync + 'static {
    /// Inputs, as users write them; the schema's `inputProperties`.
    type Args: Serialize + DeserializeOwned + JsonSchema + Clone + Send + Sync;
    /// Outputs, recorded in the state; the schema's `properties`.
    type State: Serialize + DeserializeOwned + JsonSchema + Clone + Send + Sync;

    /// Type token, e.g. `imagedeploy:index:Image`.
    fn token(&self) -> &'static str;

    /// Markdown description for the schema and SDK docs.
    fn description(&self) -> &'static str;

    /// Semantic checks and defaults, after the inputs' types were validated.
    /// Values that are unknown (see `Ctx::is_unknown`) hold placeholders.
    /// Default: the inputs as they are.
    async fn check(
        &self,
        ctx: &Ctx<C>,
        input: CheckInput<Self::Args>,
    ) -> Result<Self::Args, Vec<Failure>> {
        let _ = ctx;
        Ok(input.news)
    }

    /// Old state versus new inputs. Called only with fully known new inputs;
    /// while any is unknown the framework compares inputs itself.
    async fn diff(
        &self,
        ctx: &Ctx<C>,
        input: DiffInput<Self::Args, Self::State>,
    ) -> Result<DiffOutcome, BoxError>;

    /// Returns the new id and outputs. In a preview, returns what can be
    /// known and names the rest in `Outputs::unknown`.
    async fn create(
        &self,
        ctx: &Ctx<C>,
        input: CreateInput<Self::Args>,
    ) -> Result<Created<Self::State>, OpError<Self::State>>;

    /// Current state of the resource; `None` when it no longer exists.
    /// Default: the recorded state, unchanged.
    async fn read(
        &self,
        ctx: &Ctx<C>,
        input: ReadInput<Self::State>,
    ) -> Result<Option<Self::State>, BoxError> {
        let _ = ctx;
        Ok(Some(input.state))
    }

    /// Input paths that Check adds and the program never sets, not in the
    /// schema: top-level `__`-prefixed keys, which Read hands back as inputs
    /// with the schema's ones so a refresh keeps them, and dotted paths
    /// inside input objects (`context.files`), which Check's validation
    /// accepts because the engine copies old inputs back for `ignoreChanges`.
    /// Default: none.
    fn internal_inputs(&self) -> &'static [&'static str] {
        &[]
    }

    /// Output paths derived from secret inputs in another shape (secret in,
    /// secret out): `secret_inputs` are the input paths that were secret,
    /// the result the output paths to wrap as secrets too. Default: none.
    fn derived_secrets(
        &self,
        _secret_inputs: &std::collections::BTreeSet<crate::wire::path::Path>,
        _state: &Self::State,
    ) -> Vec<crate::wire::path::Path> {
        Vec::new()
    }

    /// The state of an existing resource known only by its id (`pulumi
    /// import`, the `import` option: Read with no recorded state). `None`
    /// when nothing exists under `id`; an error names the id's expected form
    /// when `id` does not have it. Default: importing is not supported.
    async fn import(&self, ctx: &Ctx<C>, id: &str) -> Result<Option<Self::State>, BoxError> {
        let _ = (ctx, id);
        Err(format!("{} resources cannot be imported yet", self.token()).into())
    }

    /// Applies new inputs to an existing resource.
    async fn update(
        &self,
        ctx: &Ctx<C>,
        input: UpdateInput<Self::Args, Self::State>,
    ) -> Result<Outputs<Self::State>, OpError<Self::State>>;

    /// Removes the resource. Default: nothing to remove.
    async fn delete(&self, ctx: &Ctx<C>, input: DeleteInput<Self::State>) -> Result<(), BoxError> {
        let _ = (ctx, input);
        Ok(())
    }
}
