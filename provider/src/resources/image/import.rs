//! Adopting an image that already is in a registry (`pulumi import`, the
//! `import` option).
//!
//! The id is the image's pinned reference, `registry/repository@sha256:...`,
//! exactly what `ref` holds. The registry confirms the manifest exists; what
//! built it (context, Dockerfile, args) cannot be known from the image, so the
//! adopted state has an empty fingerprint: the program's first `up` builds
//! once and, when the content is the same, keeps this digest. A
//! multi-platform index is adopted with its platforms and their manifests,
//! but not their content digests: the first `up` builds every platform and
//! pushes the index again, which keeps its digest only when the builds are
//! reproducible (buildah) and the index was written in this provider's
//! canonical form.

use imagedeploy_registry::{Reference, ResolvedManifest};

use super::args::{BuildContext, ImageArgs, ImageState};
use super::{auth, ImageError};
use crate::resource::{BoxError, Ctx};

/// The form an Image import id must have.
pub(super) const ID_FORM: &str = "registry/repository@sha256:<64 hex digits>";

/// The pinned reference in `id`, or an error naming the expected form.
pub(super) fn parse_id(id: &str) -> Result<Reference, BoxError> {
    let wrong = |why: String| -> BoxError {
        format!("cannot import Image {id:?}: {why}; expected {ID_FORM}, as in the `ref` output")
            .into()
    };
    let reference = Reference::parse(id).map_err(|e| wrong(e.to_string()))?;
    if reference.digest().is_none() || reference.tag().is_some() {
        return Err(wrong(
            "the id must be pinned by digest, without a tag".into(),
        ));
    }
    Ok(reference)
}

/// The state of the image `id`, or `None` when its registry does not have it.
pub(super) async fn import(ctx: &Ctx, id: &str) -> Result<Option<ImageState>, BoxError> {
    let reference = parse_id(id)?;
    let Some(digest) = reference.digest().map(|d| d.to_string()) else {
        return Err(format!("cannot import Image {id:?}: expected {ID_FORM}").into());
    };
    let mut args = ImageArgs {
        context: BuildContext {
            location: String::new(),
            shown: Default::default(),
        },
        dockerfile: None,
        build_args: None,
        target: None,
        platforms: None,
        labels: None,
        tags: Some(vec![format!(
            "{}/{}",
            reference.registry(),
            reference.repository()
        )]),
        push: None,
        registries: None,
        secrets: None,
        build_on_preview: None,
        no_cache: None,
        build_timeout_seconds: None,
        builder: None,
        base_images: None,
        size_budget: None,
        compression: None,
        base_image_pull: None,
        base_image_refresh: None,
        cache: None,
        observed: None,
    };
    let client = auth::client_for(ctx, &args, std::slice::from_ref(&reference))
        .await
        .map_err(|e: ImageError| -> BoxError { e.to_string().into() })?;
    let Some(resolved) = client.resolve_manifest(&reference).await? else {
        return Ok(None);
    };
    // A multi-platform index: its platforms and their manifests, as a build
    // with those `platforms` records them.
    let platform_digests: std::collections::BTreeMap<String, String> = match &resolved {
        ResolvedManifest::Index { manifests, .. } => manifests
            .iter()
            .filter_map(|m| {
                let platform = m.platform.as_ref().filter(|p| !p.is_unknown())?;
                Some((platform.to_string(), m.digest.to_string()))
            })
            .collect(),
        ResolvedManifest::Image { .. } => Default::default(),
    };
    let first_platform = platform_digests.keys().next().cloned();
    let platform_digests = if platform_digests.len() > 1 {
        args.platforms = Some(platform_digests.keys().cloned().collect());
        platform_digests
    } else {
        Default::default()
    };
    // Sizes and layers from the manifest and config (no layer is read); an
    // image whose config cannot be read is adopted without them.
    let facts = client
        .image_layers(
            &reference,
            first_platform.as_deref().unwrap_or("linux/amd64"),
        )
        .await
        .ok()
        .flatten();
    Ok(Some(ImageState {
        cache_report: None,
        args,
        reference: format!(
            "{}/{}@{digest}",
            reference.registry(),
            reference.repository()
        ),
        digest,
        content_digest: String::new(),
        context_hash: String::new(),
        base_image_digests: Default::default(),
        base_image_resolutions: Default::default(),
        size_bytes: facts
            .as_ref()
            .map_or(0, |f| i64::try_from(f.size_bytes).unwrap_or(i64::MAX)),
        uncompressed_bytes: 0,
        layers: facts
            .as_ref()
            .map(super::size::from_registry)
            .unwrap_or_default(),
        platform: first_platform.unwrap_or_default(),
        platform_digests,
        platform_content_digests: Default::default(),
        platform_inputs: Default::default(),
        platform_manifests: Default::default(),
        context_manifest: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_pinned_references() {
        let digest = format!("sha256:{}", "a".repeat(64));
        assert!(parse_id(&format!("127.0.0.1:5000/app@{digest}")).is_ok());
        for bad in [
            "127.0.0.1:5000/app:latest".to_string(),
            format!("127.0.0.1:5000/app:1@{digest}"),
            "not a reference".to_string(),
            String::new(),
        ] {
            let e = parse_id(&bad).unwrap_err().to_string();
            assert!(e.contains(ID_FORM), "{bad}: {e}");
        }
    }
}
