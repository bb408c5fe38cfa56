//! The resource types this provider offers.

use std::sync::Arc;

use crate::dispatch::{ErasedResource, Typed};

pub mod fixture;
pub mod image;
pub mod service;
pub mod task;

/// Environment variable that also registers the harness's test fixture.
pub const TEST_RESOURCES_ENV: &str = "IMAGEDEPLOY_TEST_RESOURCES";

/// True when the input at `property` (e.g. `preDeploy.command`), or a
/// value around or inside it, is secret: such values are never echoed.
pub(crate) fn is_secret_at(ctx: &crate::resource::Ctx, property: &str) -> bool {
    let related = |outer: &str, inner: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
    };
    ctx.inputs.secret.iter().any(|p| {
        let p = p.to_string();
        related(&p, property) || related(property, &p)
    })
}

pub fn all() -> Vec<Arc<dyn ErasedResource>> {
    let mut resources = vec![
        Typed::erase(image::Image),
        Typed::erase(service::Service),
        Typed::erase(task::Task),
    ];
    if std::env::var(TEST_RESOURCES_ENV).is_ok_and(|v| v == "1") {
        resources.push(Typed::erase(fixture::Fixture));
    }
    resources
}
