//! What each resource operation receives and answers.
//!
//! One request struct per operation, so a field the engine adds later is a
//! new field here and not a new parameter in every resource.

use std::fmt;

/// Any error a resource operation reports; its text goes to the user.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Check's view of the engine request.
pub struct CheckInput<A> {
    /// The new inputs (unknown values hold placeholders, see `Ctx::is_unknown`).
    pub news: A,
    /// Old inputs; `None` on create and on the second Check of a replace.
    pub olds: Option<A>,
    /// Engine-provided randomness that stays the same for this resource.
    pub random_seed: Vec<u8>,
    /// The engine's proposed name when autonaming is configured.
    pub proposed_name: Option<String>,
    /// How the engine wants names chosen (the proto's `AutonamingOptions.Mode`).
    pub autonaming: AutonamingMode,
}

/// `CheckRequest.AutonamingOptions.Mode`, plus "no options sent".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AutonamingMode {
    /// No autonaming options: the provider names as it likes.
    #[default]
    Unset,
    /// The proposed name is a suggestion.
    Propose,
    /// The provider must use exactly the proposed name (or fail).
    Enforce,
    /// No automatic name: a resource without a name is an error.
    Disable,
}

impl AutonamingMode {
    /// From the wire value of `Mode` (absent options: `Unset`).
    pub fn from_wire(mode: Option<i32>) -> Self {
        match mode {
            None => AutonamingMode::Unset,
            Some(1) => AutonamingMode::Enforce,
            Some(2) => AutonamingMode::Disable,
            Some(_) => AutonamingMode::Propose,
        }
    }
}

/// Diff's view: old outputs, old inputs if the engine sent them, new inputs.
pub struct DiffInput<A, S> {
    /// The resource's id.
    pub id: String,
    /// The recorded outputs.
    pub olds: S,
    /// The recorded inputs, when the engine sent them and they decode.
    pub old_inputs: Option<A>,
    /// The new inputs, fully known.
    pub news: A,
}

/// Create's view.
pub struct CreateInput<A> {
    /// The checked inputs, fully known.
    pub args: A,
    /// True during `pulumi preview`: change nothing, say what will be.
    pub preview: bool,
}

/// Read's view (refresh, and import with recorded state).
pub struct ReadInput<S> {
    /// The resource's id.
    pub id: String,
    /// The recorded outputs.
    pub state: S,
}

/// Update's view.
pub struct UpdateInput<A, S> {
    /// The resource's id.
    pub id: String,
    /// The recorded outputs.
    pub olds: S,
    /// The checked new inputs, fully known.
    pub news: A,
    /// True during `pulumi preview`: change nothing, say what will be.
    pub preview: bool,
}

/// Delete's view.
pub struct DeleteInput<S> {
    /// The resource's id.
    pub id: String,
    /// The recorded outputs.
    pub state: S,
}

/// What a resource operation can report besides success.
#[derive(Debug)]
pub enum OpError<S> {
    /// Nothing was changed (or the change is known to have been undone).
    Failed(BoxError),
    /// The resource exists but is not healthy: the engine records `id` and
    /// `state` so nothing is lost, fails the step, and retries on the next up.
    Partial {
        /// The id the engine records.
        id: String,
        /// The outputs the engine records.
        state: S,
        /// Why the operation did not complete, for the user.
        reasons: Vec<String>,
    },
}

impl<S, E: std::error::Error + Send + Sync + 'static> From<E> for OpError<S> {
    fn from(e: E) -> Self {
        OpError::Failed(Box::new(e))
    }
}

impl<S> OpError<S> {
    /// A failure with this message.
    pub fn msg(message: impl Into<String>) -> Self {
        OpError::Failed(message.into().into())
    }
}

/// A property that changes, in the engine's path notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// E.g. `tags`, `containers[0].image`, `context["src/app.ts"]`.
    pub path: String,
    /// Added, deleted or updated.
    pub kind: ChangeKind,
    /// The change can only be applied by replacing the resource.
    pub replace: bool,
}

/// How a property changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The property was absent and is now set.
    Add,
    /// The property was set and is now absent.
    Delete,
    /// The property's value changes.
    Update,
}

impl Change {
    /// An in-place update of `path`.
    pub fn update(path: impl Into<String>) -> Self {
        Change {
            path: path.into(),
            kind: ChangeKind::Update,
            replace: false,
        }
    }

    /// An update of `path` that replaces the resource.
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
    /// Replace by deleting first (for resources whose name cannot exist twice).
    pub delete_before_replace: bool,
    /// Why, in words users understand ("src/app.ts modified"); shown in the
    /// engine log, except those about a change the program ignores.
    pub reasons: Vec<Reason>,
}

/// One reason of a [`DiffOutcome`], with the property path it is about
/// when it is about one change (`ignoreChanges` of that path drops it), or
/// none when it is about the resource as a whole (always shown while
/// anything changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The words, e.g. `src/app.ts modified`.
    pub text: String,
    /// The property path of the change it explains, e.g. `context["src/app.ts"]`.
    pub path: Option<String>,
}

impl Reason {
    /// A reason about the change at `path`.
    pub fn about(path: impl Into<String>, text: impl Into<String>) -> Self {
        Reason {
            text: text.into(),
            path: Some(path.into()),
        }
    }
}

impl From<String> for Reason {
    fn from(text: String) -> Self {
        Reason { text, path: None }
    }
}

impl From<&str> for Reason {
    fn from(text: &str) -> Self {
        Reason::from(text.to_string())
    }
}

/// The name of a top-level output, as the engine sees it. Made by
/// [`unknown_outputs!`](crate::unknown_outputs), which checks the field
/// exists; `dispatch` checks the name is an output of the schema.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OutputName(String);

impl OutputName {
    /// The wire name of a Rust field under serde's `rename_all = "camelCase"`.
    #[doc(hidden)]
    pub fn from_field(field: &str) -> Self {
        let mut name = String::with_capacity(field.len());
        let mut upper = false;
        for c in field.trim_start_matches("r#").chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                name.extend(c.to_uppercase());
                upper = false;
            } else {
                name.push(c);
            }
        }
        OutputName(name)
    }

    /// The wire name of a field with a serde `rename`.
    #[doc(hidden)]
    pub fn renamed(name: &str) -> Self {
        OutputName(name.to_string())
    }

    /// The name as the engine sees it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OutputName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Names top-level outputs of a state struct that a preview cannot know
/// yet, checked by the compiler against the struct's fields:
///
/// ```
/// # use pulumi_provider::unknown_outputs;
/// struct State { arn: String, task_definition_arn: String, reference: String }
/// let unknown = unknown_outputs!(State { arn, task_definition_arn, reference as "ref" });
/// assert_eq!(unknown[1].as_str(), "taskDefinitionArn");
/// assert_eq!(unknown[2].as_str(), "ref");
/// ```
///
/// Field names map to wire names by serde's `rename_all = "camelCase"`; a
/// field with its own serde `rename` says so with `field as "name"`.
#[macro_export]
macro_rules! unknown_outputs {
    ($state:ty { $($field:ident $(as $renamed:literal)?),* $(,)? }) => {{
        #[allow(unused)]
        fn fields_exist(s: &$state) {
            $( let _ = &s.$field; )*
        }
        vec![$( $crate::unknown_outputs!(@name $field $($renamed)?) ),*]
    }};
    (@name $field:ident) => {
        $crate::resource::OutputName::from_field(stringify!($field))
    };
    (@name $field:ident $renamed:literal) => {
        $crate::resource::OutputName::renamed($renamed)
    };
}

/// Outputs of a create or update, with the top-level outputs that are not
/// known yet (only allowed in preview).
#[derive(Debug, Clone)]
pub struct Outputs<S> {
    /// The outputs.
    pub state: S,
    /// Outputs whose values a preview cannot know; the engine shows them as
    /// "known after apply". Make with [`unknown_outputs!`](crate::unknown_outputs).
    pub unknown: Vec<OutputName>,
}

impl<S> Outputs<S> {
    /// Outputs that are all known.
    pub fn known(state: S) -> Self {
        Outputs {
            state,
            unknown: Vec::new(),
        }
    }
}

/// What Create answers: the new id (empty in a preview) and the outputs.
pub type Created<S> = (String, Outputs<S>);
