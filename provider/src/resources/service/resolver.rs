//! Image lookups for Service containers: ECR's DescribeImages for ECR
//! repositories, the OCI distribution API for every other registry. Each
//! lookup says whether the reference names one image or a multi-platform
//! index (with its children's platforms), so the ECS crate can pin the
//! child of the service's own platform.
//!
//! A reference that already carries a digest is only required to exist when
//! something is about to be deployed. In Diff and in previews it is read
//! once, to learn whether it is an index, and taken as is when the registry
//! does not have it (or cannot be reached): an Image in the same program
//! builds during preview and hands its new `ref` to the Service before
//! pushing it, and that digest must show in the preview rather than fail it.

use async_trait::async_trait;
use imagedeploy_ecs::{ImageResolver, ResolveError};
use imagedeploy_registry::layout::{DOCKER_MANIFEST_LIST, OCI_INDEX};
use imagedeploy_registry::{Digest, Reference, RegistryClient, ResolvedManifest};

use crate::ecr::{self, is_ecr_host};
use crate::resource::Ctx;

pub struct Resolver<'a> {
    pub ctx: &'a Ctx,
    /// Confirm that digest references exist in their registry.
    pub verify_digests: bool,
}

#[async_trait]
impl ImageResolver for Resolver<'_> {
    async fn resolve(&self, reference: &Reference) -> Result<ResolvedManifest, ResolveError> {
        // An index an Image of this program built and did not push (preview)
        // is known here without asking the registry.
        if let (Some(digest), false) = (reference.digest(), self.verify_digests) {
            if let Some(index) = self.ctx.provider.previewed_indexes.get(digest) {
                return Ok(index);
            }
        }
        let looked_up = self.look_up(reference).await;
        match (reference.digest(), self.verify_digests) {
            (Some(digest), false) => match looked_up {
                Ok(resolved) => Ok(resolved),
                Err(e) => {
                    tracing::debug!(
                        reference = %reference.written(),
                        "taken as is in preview: {e}"
                    );
                    Ok(ResolvedManifest::Image {
                        digest: digest.clone(),
                    })
                }
            },
            _ => looked_up,
        }
    }
}

impl Resolver<'_> {
    async fn look_up(&self, reference: &Reference) -> Result<ResolvedManifest, ResolveError> {
        let written = reference.written();
        let registry_error = |message: String| ResolveError::Registry {
            reference: written.clone(),
            message,
        };
        let not_found = || ResolveError::NotFound {
            reference: written.clone(),
        };
        if reference.domain().is_some_and(is_ecr_host) {
            let image = ecr::describe_image(self.ctx, reference)
                .await
                .map_err(registry_error)?
                .ok_or_else(not_found)?;
            let digest = Digest::parse(&image.digest)
                .map_err(|e| registry_error(format!("DescribeImages returned {e}")))?;
            let is_index = image
                .media_type
                .as_deref()
                .is_some_and(|t| t == OCI_INDEX || t == DOCKER_MANIFEST_LIST);
            if !is_index {
                return Ok(ResolvedManifest::Image { digest });
            }
            // DescribeImages does not list an index's children: read the
            // index itself, by the digest ECR named.
            let pinned = reference.with_digest(&digest);
            return self
                .read_manifest(&pinned)
                .await
                .map_err(registry_error)?
                .ok_or_else(not_found);
        }
        self.read_manifest(reference)
            .await
            .map_err(registry_error)?
            .ok_or_else(not_found)
    }

    async fn read_manifest(
        &self,
        reference: &Reference,
    ) -> Result<Option<ResolvedManifest>, String> {
        let client = client_for(self.ctx, reference).await?;
        client
            .resolve_manifest(reference)
            .await
            .map_err(|e| e.to_string())
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
