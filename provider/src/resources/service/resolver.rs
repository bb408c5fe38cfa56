//! Tag-to-digest lookups for Service containers: ECR's DescribeImages for
//! ECR repositories, the OCI distribution API for every other registry.
//!
//! A reference that already carries a digest is only confirmed to exist when
//! something is about to be deployed. In Diff and in previews it is taken
//! as is: an Image in the same program builds during preview and hands its
//! new `ref` to the Service before pushing it, and that digest must show in
//! the preview rather than fail it.

use async_trait::async_trait;
use imagedeploy_ecs::{ImageResolver, ResolveError};
use imagedeploy_registry::{Reference, RegistryClient};

use crate::ecr::{self, is_ecr_host};
use crate::resource::Ctx;

pub struct Resolver<'a> {
    pub ctx: &'a Ctx,
    /// Confirm that digest references exist in their registry.
    pub verify_digests: bool,
}

#[async_trait]
impl ImageResolver for Resolver<'_> {
    async fn resolve(&self, reference: &Reference) -> Result<String, ResolveError> {
        let written = reference.written();
        if let (Some(digest), false) = (reference.digest(), self.verify_digests) {
            return Ok(digest.to_string());
        }
        let registry_error = |message: String| ResolveError::Registry {
            reference: written.clone(),
            message,
        };
        if reference.domain().is_some_and(is_ecr_host) {
            return ecr::image_digest(self.ctx, reference)
                .await
                .map_err(registry_error)?
                .ok_or(ResolveError::NotFound {
                    reference: written.clone(),
                });
        }
        let options = crate::resources::image::auth::registry_options().map_err(registry_error)?;
        let client = RegistryClient::new(options).map_err(|e| registry_error(e.to_string()))?;
        match client.resolve(reference).await {
            Ok(Some(digest)) => Ok(digest.to_string()),
            Ok(None) => Err(ResolveError::NotFound { reference: written }),
            Err(e) => Err(registry_error(e.to_string())),
        }
    }
}
