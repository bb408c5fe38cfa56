//! Drives the provider binary over gRPC with the Pulumi engine's own rules.
//!
//! No Pulumi CLI can run here, so this crate plays the engine: it launches the
//! real `pulumi-resource-imagedeploy` binary next to a fake `Engine` log
//! service, keeps stack state in a JSON file between runs, and applies the
//! engine's step rules (see `deploy`). Tests then read like Pulumi programs:
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use imagedeploy_tests::{Deployment, Program, Resource, FIXTURE_TYPE};
//! use serde_json::json;
//! let stack = Deployment::new()?.with_fixture();
//! let program = Program::new()
//!     .resource(Resource::new(FIXTURE_TYPE, "a", json!({"value": "one"})));
//! stack.up(&program).await?.assert_ok();
//! # Ok(()) }
//! ```
//!
//! # Where each rule comes from
//!
//! Every rule is read from pulumi/pulumi's source (and SST's, for its
//! layout), not from what this provider happens to do:
//!
//! | rule | Go function (file) |
//! | --- | --- |
//! | property-path grammar for diff keys, ignoreChanges, replaceOnChanges | `parsePropertyPath`, `PropertyPath.Contains`, `.Get`, `.Reset`, `.String` (sdk/go/common/resource/properties_path.go) → [`path`] |
//! | every detailedDiff key parsed on DIFF_SOME, a bad key fails the step; replaceOnChanges | `applyReplaceOnChanges` (pkg/resource/deploy/step_generator.go) |
//! | ignoreChanges resets paths in the new inputs | `processIgnoreChanges` (step_generator.go) |
//! | engine-side diff for DIFF_UNKNOWN | `diffResource` (step_generator.go) |
//! | a new random seed per registration | `generateSteps` (step_generator.go, crypto/rand) |
//! | steps of independent resources run at the same time (a resource registers once its dependencies' outputs resolve); after a failure nothing new starts and running steps finish | `stepExecutor.ExecuteSerial` (workers run chains in parallel), `stepExecutor.cancelDueToError` (pkg/resource/deploy/step_executor.go) |
//! | Ctrl-C sends Cancel to every provider; running steps finish their RPC | `deploymentExecutor.Execute` (pkg/resource/deploy/deployment_executor.go), `provider.SignalCancellation` (pkg/resource/plugin/provider_plugin.go) → [`deploy::Deployment::with_cancel_when`] |
//! | customTimeouts in Create/Update/Delete | `CreateStep.Apply`, `UpdateStep.Apply`, `DeleteStep.Apply` (pkg/resource/deploy/step.go) |
//! | import: Read with only an id, "does not exist", then Check and Diff | `ImportStep.Apply` (step.go), `continueStepsFromImport` (step_generator.go) |
//! | refresh: Read, then Diff with refreshed state as olds, stored ignoreChanges, inverted; a failing Diff fails the step | `RefreshStep.Apply` (step.go) |
//! | a provider replaced by DiffConfig replaces its resources | `providerChanged` (step_generator.go) |
//! | autonaming options in Check | `AutonamingForResource` (pkg/resource/autonaming/strategy.go) → [`Autonamer`] |
//! | plugin working directory = the program's main directory | `newPlugin` (`cmd.Dir = pwd`, sdk/go/common/resource/plugin/plugin.go), `getPwdMain` (pkg/engine/project.go); SST: `Main` under `.sst/platform` (sst pkg/project/stack.go) and the program's chdir to the app root (platform/src/auto/run.ts) |
//! | diff display: values looked up in old outputs / new inputs, one tree | `TranslateDetailedDiff`, `addDiff` (pkg/engine/detailedDiff.go) → [`display`] |
//! | row summary of top-level keys | `getDiffInfo`, `writeShortDiff` (pkg/backend/display/rows.go) |
//! | detail lines, nulls and empties not printed | `printObjectDiff`, `printPropertyValueDiff`, `shouldPrintPropertyValue` (pkg/backend/display/object_diff.go) |
//! | ephemeral messages never under Diagnostics | the Diagnostics loop in pkg/backend/display/progress.go |

pub mod deploy;
pub mod display;
pub mod engine;
pub mod path;
pub mod plugin;
pub mod program;
pub mod promise;
pub mod report;
pub mod rpc;
pub mod stack;
pub mod values;

pub use deploy::{Deployment, FIXTURE_TYPE, PROVIDER_TYPE};
pub use engine::{FakeEngine, LogEntry, Severity};
pub use path::PropertyPath;
pub use plugin::{provider_bin, LaunchOptions, Plugin};
pub use program::{output, CustomTimeouts, Program, Resource};
pub use report::{DiffViews, Op, PropertyChange, Report, Step};
pub use rpc::Autonamer;
pub use stack::{ResourceState, StackFile, StackState};

/// A test fixture resource (`imagedeploy:testing:Fixture`) with these inputs.
pub fn fixture(name: &str, inputs: serde_json::Value) -> Resource {
    Resource::new(FIXTURE_TYPE, name, inputs)
}
