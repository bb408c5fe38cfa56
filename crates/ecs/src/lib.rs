//! ECS services and task definitions: normalisation, diff, deploy and waiting.
//!
//! The promise this crate keeps: a service's task definition changes if and
//! only if a container (or task setting) really changes, and the plan says
//! which field changed and why. Images are pinned by digest through an
//! [`ImageResolver`] the caller provides, inputs are compared in the form ECS
//! stores them, and a deployment is done only when the new revision serves.
//!
//! Typical use by a resource provider:
//! - Check: [`validate::prepare`] (autoname + [`validate::check`]).
//! - Diff: [`resolve_images`] then [`diff`].
//! - Create / Update / Read / Delete: [`Deployer`]; import: [`Deployer::adopt`].
//! - One-off tasks (a Service's `preDeploy`, the Task resource): [`TaskRunner`].

mod adopt;
pub mod args;
mod convert;
pub mod deploy;
pub mod diff;
pub mod normalise;
pub mod ownership;
pub mod predeploy;
mod refresh;
pub mod resolve;
mod resume;
pub mod settings;
pub mod standalone;
pub mod task;
mod teardown;
pub mod validate;
mod wait;

pub use args::{ServiceArgs, ServiceState};
pub use deploy::{client_token, DeployError, Deployer, Refreshed};
pub use diff::{diff, ChangeKind, FieldChange, ServiceDiff};
pub use imagedeploy_reference::{
    Platform, PlatformManifest, Reference, ReferenceError, ResolvedManifest,
};
pub use ownership::{Owner, OWNER_TAG};
pub use resolve::{oci_platform, resolve_images, ImageError, ImageResolver, ResolveError};
pub use task::{TaskRun, TaskRunner, TaskSpec};
pub use validate::{autoname, check, Failure};
