//! Tag-to-digest lookups for Service containers: ECR's DescribeImages for
//! ECR repositories, the OCI distribution API for every other registry.
//!
//! A reference that already carries a digest is only confirmed to exist when
//! something is about to be deployed. In Diff and in previews it is taken
//! as is: an Image in the same program builds during preview and hands its
//! new `ref` to the Service before pushing it, and that digest must show in
//! the preview rather than fail it.

use async_trait::async_trait;
use imagedeploy_ecs::{ImageReference, ImageResolver, ResolveError};
use imagedeploy_registry::{Reference, RegistryClient};

use crate::resource::Ctx;
use crate::resources::image::auth::is_ecr_host;

pub struct Resolver<'a> {
    pub ctx: &'a Ctx,
    /// Confirm that digest references exist in their registry.
    pub verify_digests: bool,
}

#[async_trait]
impl ImageResolver for Resolver<'_> {
    async fn resolve(&self, reference: &ImageReference) -> Result<String, ResolveError> {
        let written = reference.to_string();
        if let (Some(digest), false) = (&reference.digest, self.verify_digests) {
            return Ok(digest.clone());
        }
        let registry_error = |message: String| ResolveError::Registry {
            reference: written.clone(),
            message,
        };
        if reference.domain.as_deref().is_some_and(is_ecr_host) {
            return self
                .digest_from_ecr(reference)
                .await
                .map_err(registry_error)?
                .ok_or(ResolveError::NotFound {
                    reference: written.clone(),
                });
        }
        let parsed = Reference::parse(&written).map_err(|e| registry_error(e.to_string()))?;
        let client = client_for(self.ctx, &parsed)
            .await
            .map_err(registry_error)?;
        match client.resolve(&parsed).await {
            Ok(Some(digest)) => Ok(digest.to_string()),
            Ok(None) => Err(ResolveError::NotFound { reference: written }),
            Err(e) => Err(registry_error(e.to_string())),
        }
    }
}

/// A registry client for `reference`'s registry: ECR's token for ECR hosts,
/// the Docker config or anonymous access for others.
pub(super) async fn client_for(ctx: &Ctx, reference: &Reference) -> Result<RegistryClient, String> {
    let options = crate::resources::image::auth::registry_options()?;
    let mut client = RegistryClient::new(options).map_err(|e| e.to_string())?;
    if is_ecr_host(reference.registry()) {
        let credentials = crate::resources::image::auth::ecr_credentials(ctx)
            .await
            .map_err(|e| e.to_string())?;
        client.set_credentials(reference.registry(), credentials);
    }
    Ok(client)
}

impl Resolver<'_> {
    async fn digest_from_ecr(&self, reference: &ImageReference) -> Result<Option<String>, String> {
        let ecr = self.ctx.provider.ecr().await.map_err(|e| e.to_string())?;
        let mut id = aws_sdk_ecr::types::ImageIdentifier::builder();
        if let Some(digest) = &reference.digest {
            id = id.image_digest(digest);
        } else {
            id = id.image_tag(reference.tag.clone().unwrap_or_else(|| "latest".into()));
        }
        let account = reference
            .domain
            .as_deref()
            .and_then(|d| d.split('.').next())
            .unwrap_or_default()
            .to_string();
        let result = ecr
            .describe_images()
            .registry_id(account)
            .repository_name(reference.path.clone())
            .image_ids(id.build())
            .send()
            .await;
        match result {
            Ok(out) => Ok(out
                .image_details()
                .first()
                .and_then(|d| d.image_digest().map(str::to_owned))),
            Err(e) => {
                use aws_sdk_ecr::error::ProvideErrorMetadata;
                let code = e
                    .as_service_error()
                    .and_then(|s| s.code())
                    .unwrap_or_default()
                    .to_string();
                if code == "ImageNotFoundException" || code == "RepositoryNotFoundException" {
                    Ok(None)
                } else {
                    Err(aws_sdk_ecr::error::DisplayErrorContext(&e).to_string())
                }
            }
        }
    }
}
