//! The registry operations the Image resource needs: resolve a tag, check a
//! digest still exists, and push an OCI layout without re-sending blobs the
//! registry already has.

use std::path::Path;

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{Body, Method, StatusCode};

use crate::client::{status_error, Access, RegistryClient};
use crate::error::RegistryError;
use crate::index::ImageIndex;
use crate::layout::{
    Descriptor, ImageLayout, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use crate::progress;
use imagedeploy_reference::Digest;
use imagedeploy_reference::Reference;

const CONTENT_DIGEST: &str = "docker-content-digest";
const BLOB_UPLOAD_CONCURRENCY: usize = 3;

/// What a push did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushReport {
    /// The manifest digest, as verified with the registry.
    pub digest: Digest,
    pub blobs_uploaded: usize,
    /// Blobs the registry already had (not sent again).
    pub blobs_skipped: usize,
    pub bytes_uploaded: u64,
}

impl RegistryClient {
    /// The digest `reference` currently points to, or `None` if the registry
    /// has no such manifest. Multi-platform tags resolve to their index digest.
    pub async fn resolve(&self, reference: &Reference) -> Result<Option<Digest>, RegistryError> {
        let registry = reference.registry();
        let operation = format!("resolving {reference}");
        let url = format!(
            "{}{}/manifests/{}",
            self.base_url(registry),
            reference.repository(),
            reference.manifest_reference()
        );
        let accept = [
            OCI_INDEX,
            DOCKER_MANIFEST_LIST,
            OCI_MANIFEST,
            DOCKER_MANIFEST,
        ]
        .join(", ");
        let build = || {
            Ok(self
                .http()
                .request(Method::HEAD, &url)
                .header(ACCEPT, accept.as_str()))
        };
        self.retrying(registry, &operation, || async {
            let response = self
                .send(
                    registry,
                    reference.repository(),
                    Access::Pull,
                    &operation,
                    &build,
                )
                .await?;
            match response.status() {
                StatusCode::NOT_FOUND => Ok(None),
                status if status.is_success() => {
                    if let Some(digest) = header_digest(&response) {
                        return Ok(Some(digest));
                    }
                    // No digest header: fetch the manifest and hash it ourselves.
                    let get = || Ok(self.http().get(&url).header(ACCEPT, accept.as_str()));
                    let body = self
                        .send(
                            registry,
                            reference.repository(),
                            Access::Pull,
                            &operation,
                            &get,
                        )
                        .await?
                        .bytes()
                        .await
                        .map_err(|e| RegistryError::transport(registry, &operation, &e))?;
                    Ok(Some(Digest::sha256_of(&body)))
                }
                _ => Err(status_error(registry, &operation, response).await),
            }
        })
        .await
    }

    /// Whether the registry still has the manifest `reference` names
    /// (normally `repository@digest`).
    pub async fn exists(&self, reference: &Reference) -> Result<bool, RegistryError> {
        Ok(self.resolve(reference).await?.is_some())
    }

    /// Pushes the single image in the OCI layout at `layout_dir` to every
    /// reference in `tags` and returns the manifest digest the registry
    /// confirmed. The manifest bytes are sent unchanged, so the digest equals
    /// the layout's. Blobs the registry already has are not uploaded again.
    pub async fn push_layout(
        &self,
        layout_dir: &Path,
        tags: &[Reference],
    ) -> Result<PushReport, RegistryError> {
        let layout = ImageLayout::open(layout_dir)?;
        if tags.is_empty() {
            return Err(RegistryError::NoTags);
        }
        let local = layout.manifest_digest().clone();
        for tag in tags {
            if let Some(pinned) = tag.digest() {
                if *pinned != local {
                    return Err(RegistryError::PinnedDigestDiffers {
                        reference: tag.to_string(),
                        pinned: pinned.clone(),
                        actual: local,
                    });
                }
            }
        }
        let mut report = PushReport {
            digest: local.clone(),
            blobs_uploaded: 0,
            blobs_skipped: 0,
            bytes_uploaded: 0,
        };
        let mut repositories: Vec<&Reference> = Vec::new();
        for tag in tags {
            if !repositories
                .iter()
                .any(|r| r.registry() == tag.registry() && r.repository() == tag.repository())
            {
                repositories.push(tag);
            }
        }
        let manifest = layout.manifest();
        let blobs: Vec<&Descriptor> = std::iter::once(&manifest.config)
            .chain(manifest.layers.iter())
            .collect();
        for repository in repositories {
            // Build the per-blob futures first and box them: a stream that
            // maps `&Descriptor`s through a closure makes the whole push
            // future fail the higher-ranked `Send` check callers need
            // (`#[async_trait]` methods, spawned tasks).
            let uploads: Vec<BoxFuture<'_, Result<Option<u64>, RegistryError>>> = blobs
                .iter()
                .map(|blob| self.ensure_blob(&layout, repository, blob).boxed())
                .collect();
            let outcomes: Vec<Option<u64>> = stream::iter(uploads)
                .buffered(BLOB_UPLOAD_CONCURRENCY)
                .try_collect()
                .await?;
            for outcome in outcomes {
                match outcome {
                    Some(bytes) => {
                        report.blobs_uploaded += 1;
                        report.bytes_uploaded += bytes;
                    }
                    None => report.blobs_skipped += 1,
                }
            }
        }
        for tag in tags {
            self.put_manifest(&layout, tag).await?;
        }
        Ok(report)
    }

    /// Uploads `blob` unless the repository has it; `Some(bytes)` when uploaded.
    async fn ensure_blob(
        &self,
        layout: &ImageLayout,
        target: &Reference,
        blob: &Descriptor,
    ) -> Result<Option<u64>, RegistryError> {
        let registry = target.registry();
        let repository = target.repository();
        let base = self.base_url(registry);
        let name = target.name();
        let check = format!("checking blob {} in {name}", blob.digest);
        let blob_url = format!("{base}{repository}/blobs/{}", blob.digest);
        let head = || Ok(self.http().head(&blob_url));
        let present = self
            .retrying(registry, &check, || async {
                let response = self
                    .send(registry, repository, Access::Push, &check, &head)
                    .await?;
                match response.status() {
                    status if status.is_success() => Ok(true),
                    StatusCode::NOT_FOUND => Ok(false),
                    _ => Err(status_error(registry, &check, response).await),
                }
            })
            .await?;
        if present {
            progress(&format!(
                "{name}: blob {} already present, skipped",
                short(&blob.digest)
            ));
            return Ok(None);
        }
        progress(&format!(
            "{name}: uploading blob {} ({} bytes)",
            short(&blob.digest),
            blob.size
        ));
        let path = layout.blob_path(&blob.digest);
        let upload = format!("uploading blob {} to {name}", blob.digest);
        self.retrying(registry, &upload, || async {
            let start_url = format!("{base}{repository}/blobs/uploads/");
            let start = || Ok(self.http().post(&start_url).header(CONTENT_LENGTH, "0"));
            let response = self
                .send(registry, repository, Access::Push, &upload, &start)
                .await?;
            if response.status() != StatusCode::ACCEPTED {
                return Err(status_error(registry, &upload, response).await);
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| RegistryError::Protocol {
                    registry: registry.to_string(),
                    operation: upload.clone(),
                    reason: "upload session without a Location header".into(),
                })?;
            let mut put_url =
                response
                    .url()
                    .join(location)
                    .map_err(|e| RegistryError::Protocol {
                        registry: registry.to_string(),
                        operation: upload.clone(),
                        reason: format!("bad upload Location {location:?}: {e}"),
                    })?;
            put_url
                .query_pairs_mut()
                .append_pair("digest", blob.digest.as_str());
            let put = || {
                let file = std::fs::File::open(&path).map_err(|source| {
                    crate::layout::LayoutError::Io {
                        dir: layout.dir().to_path_buf(),
                        file: path.clone(),
                        source,
                    }
                })?;
                let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
                Ok(self
                    .http()
                    .put(put_url.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, blob.size)
                    .body(Body::wrap_stream(stream)))
            };
            let response = self
                .send(registry, repository, Access::Push, &upload, &put)
                .await?;
            if response.status() != StatusCode::CREATED {
                return Err(status_error(registry, &upload, response).await);
            }
            Ok(Some(blob.size))
        })
        .await
    }

    /// PUTs the manifest bytes under `tag` and checks the digest the registry reports.
    async fn put_manifest(
        &self,
        layout: &ImageLayout,
        tag: &Reference,
    ) -> Result<(), RegistryError> {
        self.put_manifest_bytes(
            layout.manifest_bytes(),
            layout.manifest_media_type(),
            layout.manifest_digest(),
            tag,
        )
        .await
    }

    /// Pushes a canonical multi-platform index to every reference in `tags`
    /// (tags or `repository@digest`). Its children must already be in each
    /// repository: the registry refuses an index whose children it lacks.
    pub async fn push_index(
        &self,
        index: &ImageIndex,
        tags: &[Reference],
    ) -> Result<(), RegistryError> {
        if tags.is_empty() {
            return Err(RegistryError::NoTags);
        }
        for tag in tags {
            self.put_manifest_bytes(index.bytes(), index.media_type(), index.digest(), tag)
                .await?;
        }
        Ok(())
    }

    /// The descriptor (media type, digest, size) of the manifest `reference`
    /// names, or `None` when the registry does not have it: what an index
    /// needs to list a child pushed by an earlier build.
    pub async fn manifest_descriptor(
        &self,
        reference: &Reference,
    ) -> Result<Option<Descriptor>, RegistryError> {
        let Some(fetched) = self
            .get_manifest(reference, reference.manifest_reference())
            .await?
        else {
            return Ok(None);
        };
        let media_type = if fetched.media_type.is_empty() {
            serde_json::from_slice::<serde_json::Value>(&fetched.bytes)
                .ok()
                .and_then(|v| v.get("mediaType")?.as_str().map(str::to_string))
                .unwrap_or_else(|| OCI_MANIFEST.to_string())
        } else {
            fetched.media_type
        };
        Ok(Some(Descriptor {
            media_type,
            // The bytes' own hash: what an index that lists them must say.
            digest: Digest::sha256_of(&fetched.bytes),
            size: fetched.bytes.len() as u64,
        }))
    }

    async fn put_manifest_bytes(
        &self,
        bytes: &[u8],
        media_type: &str,
        expected: &Digest,
        tag: &Reference,
    ) -> Result<(), RegistryError> {
        let registry = tag.registry();
        let operation = format!("pushing manifest to {tag}");
        let url = format!(
            "{}{}/manifests/{}",
            self.base_url(registry),
            tag.repository(),
            tag.manifest_reference()
        );
        let put = || {
            Ok(self
                .http()
                .put(&url)
                .header(CONTENT_TYPE, media_type)
                .body(bytes.to_vec()))
        };
        let reported = self
            .retrying(registry, &operation, || async {
                let response = self
                    .send(registry, tag.repository(), Access::Push, &operation, &put)
                    .await?;
                if !response.status().is_success() {
                    return Err(status_error(registry, &operation, response).await);
                }
                Ok(header_digest(&response))
            })
            .await?;
        let confirmed = match reported {
            Some(digest) => digest,
            None => self
                .resolve(&tag.with_digest(expected))
                .await?
                .ok_or_else(|| RegistryError::Protocol {
                    registry: registry.to_string(),
                    operation: operation.clone(),
                    reason: format!("manifest {expected} is missing right after the push"),
                })?,
        };
        if confirmed != *expected {
            return Err(RegistryError::DigestMismatch {
                registry: registry.to_string(),
                reference: tag.to_string(),
                expected: expected.clone(),
                actual: confirmed,
            });
        }
        progress(&format!("pushed {tag} as {expected}"));
        Ok(())
    }
}

pub(crate) fn header_digest(response: &reqwest::Response) -> Option<Digest> {
    response
        .headers()
        .get(CONTENT_DIGEST)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Digest::parse(v.trim()).ok())
}

fn short(digest: &Digest) -> String {
    format!(
        "{}:{}",
        digest.algorithm(),
        &digest.hex()[..12.min(digest.hex().len())]
    )
}
