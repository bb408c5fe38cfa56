//! What a resource call may use besides its own values, and the
//! application context behind it.

use std::sync::Arc;

use imagedeploy_redact::Redactor;
use schemars::JsonSchema;
use serde::{de::DeserializeOwned, Serialize};
use tokio_util::sync::CancellationToken;

use crate::schema::typed::Annotations;
use crate::schema::Failure;

/// What the application builds from its provider configuration: the context
/// every resource call sees as `ctx.provider` (clients, credentials, ...).
///
/// `Default` is the context before the engine calls Configure (GetSchema,
/// Check and Diff may come first).
pub trait AppContext: Default + Send + Sync + 'static {
    /// The provider configuration; its shape is the schema's `config`.
    type Config: Serialize + DeserializeOwned + JsonSchema + Send + Sync;

    /// Checks beyond types, each failure naming its property.
    fn check(config: &Self::Config) -> Vec<Failure>;

    /// The context for a configuration that passed `check`.
    fn new(config: Self::Config) -> Self;

    /// Configuration keys that select where resources live (account,
    /// region, endpoint): when one changes, DiffConfig asks the engine to
    /// replace the provider and with it every resource it manages, instead
    /// of looking the resources up elsewhere. Default: none.
    fn replacing_keys() -> &'static [&'static str] {
        &[]
    }
}

/// Everything a resource call may use besides its own values.
pub struct Ctx<C> {
    /// The resource's URN.
    pub urn: String,
    /// The resource's name (the URN's last part).
    pub name: String,
    /// Cancelled when the engine cancels or the plugin is asked to stop.
    pub cancel: CancellationToken,
    /// The application's context, built from the provider configuration.
    pub provider: Arc<C>,
    /// Engine-provided timeout in seconds (0 = resource default).
    pub timeout_seconds: f64,
    pub(crate) inputs: Annotations,
    /// The request's secret values (see `schema::secrets`).
    pub(crate) secrets: Arc<Redactor>,
}

impl<C> Clone for Ctx<C> {
    fn clone(&self) -> Self {
        Ctx {
            urn: self.urn.clone(),
            name: self.name.clone(),
            cancel: self.cancel.clone(),
            provider: self.provider.clone(),
            timeout_seconds: self.timeout_seconds,
            inputs: self.inputs.clone(),
            secrets: self.secrets.clone(),
        }
    }
}

impl<C> Ctx<C> {
    pub(crate) fn new(urn: &str, name: &str, cancel: CancellationToken, provider: Arc<C>) -> Self {
        Ctx {
            urn: urn.to_string(),
            name: name.to_string(),
            cancel,
            provider,
            timeout_seconds: 0.0,
            inputs: Annotations::default(),
            secrets: Arc::new(Redactor::default()),
        }
    }

    /// The engine's `customTimeouts` for this call, if the program set one.
    pub fn engine_timeout(&self) -> Option<std::time::Duration> {
        (self.timeout_seconds.is_finite() && self.timeout_seconds > 0.0)
            .then(|| std::time::Duration::from_secs_f64(self.timeout_seconds))
    }

    /// `own` (a resource's own time limit) bounded by the engine's
    /// `customTimeouts`: the shorter one wins.
    pub fn bound(&self, own: std::time::Duration) -> std::time::Duration {
        self.engine_timeout().map_or(own, |limit| own.min(limit))
    }

    /// True when the input at `property` (e.g. `preDeploy.command`), or a
    /// value around or inside it, is secret: such values are never echoed.
    pub fn is_secret_at(&self, property: &str) -> bool {
        self.inputs.secret.iter().any(|p| {
            let p = p.to_string();
            related(&p, property) || related(property, &p)
        })
    }

    /// `text` with every secret value of this request masked (inputs the
    /// engine sent as secrets, properties the schema declares secret, and
    /// the recorded state's secrets). The framework applies it to Check
    /// failures, diff reasons, errors and log lines of the call; use it for
    /// text that leaves the provider another way.
    pub fn redact(&self, text: &str) -> String {
        self.secrets.redact(text)
    }

    /// Progress line shown live in the CLI and not kept. The same as
    /// `tracing::info!(progress = true, ...)` inside the call.
    pub fn progress(&self, message: &str) {
        tracing::info!(progress = true, "{message}");
    }

    /// A message kept in the engine's log for this resource.
    pub fn info(&self, message: &str) {
        tracing::info!("{message}");
    }

    /// A warning in the engine's log for this resource.
    pub fn warn(&self, message: &str) {
        tracing::warn!("{message}");
    }

    /// True when the input `property` (or anything inside it) is not known
    /// yet. Only possible in Check during preview.
    pub fn is_unknown(&self, property: &str) -> bool {
        self.inputs.is_unknown(property)
    }

    /// True when any input is not known yet.
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
