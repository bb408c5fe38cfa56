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
