//! The resource types this provider offers.

use std::sync::Arc;

use crate::config::ProviderContext;
use pulumi_provider::dispatch::{ErasedResource, Typed};

pub mod fixture;
pub mod image;
pub mod service;
pub mod task;

/// Environment variable that also registers the harness's test fixture.
pub const TEST_RESOURCES_ENV: &str = "IMAGEDEPLOY_TEST_RESOURCES";

pub fn all() -> Vec<Arc<dyn ErasedResource<ProviderContext>>> {
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
