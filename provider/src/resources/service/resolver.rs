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
        let client = client_for(self.ctx, reference)
            .await
            .map_err(registry_error)?;
        match client.resolve(reference).await {
            Ok(Some(digest)) => Ok(digest.to_string()),
            Ok(None) => Err(ResolveError::NotFound { reference: written }),
            Err(e) => Err(registry_error(e.to_string())),
        }
    }
}

/// A registry client for `reference`'s registry: ECR's token for ECR hosts
/// (asked in the host's own region), the Docker config or anonymous access
/// for others.
pub(super) async fn client_for(ctx: &Ctx, reference: &Reference) -> Result<RegistryClient, String> {
    let options = crate::resources::image::auth::registry_options()?;
    let mut client = RegistryClient::new(options).map_err(|e| e.to_string())?;
    if let Some((account, region)) =
        ecr::account_and_region(reference.registry()).filter(|_| is_ecr_host(reference.registry()))
    {
        let credentials = ecr::credentials(ctx, account, region).await?;
        client.set_credentials(reference.registry(), credentials);
    }
    Ok(client)
}
