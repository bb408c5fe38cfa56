//! Reading a pushed image's facts from its registry: the manifest (or the
//! index of a multi-platform image) and the config blob, never a layer. A
//! Service uses it to pin a container to the image of its own platform and
//! to say what a new task pulls; the Image uses it when the state has no
//! layer list to compare with.

use std::collections::HashSet;

use futures::future::{BoxFuture, FutureExt};
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::header::ACCEPT;
use reqwest::StatusCode;

use crate::client::{status_error, Access, RegistryClient};
use crate::error::RegistryError;
use crate::layers::ImageLayers;
use crate::layout::{
    ImageManifest, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
use crate::ops::header_digest;
use imagedeploy_reference::{Digest, Platform, PlatformManifest, Reference, ResolvedManifest};

const BLOB_CHECK_CONCURRENCY: usize = 8;

#[derive(serde::Deserialize)]
struct IndexEntry {
    digest: Digest,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(serde::Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

/// A manifest as the registry served it.
pub(crate) struct Fetched {
    pub(crate) bytes: Vec<u8>,
    pub(crate) media_type: String,
    /// The registry's `Docker-Content-Digest`, else the hash of the bytes.
    pub(crate) digest: Digest,
}

impl RegistryClient {
    /// What `reference` names now: a single image manifest, or an index
    /// with each child's digest and platform; `None` when the registry has
    /// no such manifest. One GET (the index's children are not read).
    pub async fn resolve_manifest(
        &self,
        reference: &Reference,
    ) -> Result<Option<ResolvedManifest>, RegistryError> {
        let Some(fetched) = self
            .get_manifest(reference, reference.manifest_reference())
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(match self.index_entries(reference, &fetched)? {
            Some(manifests) => ResolvedManifest::Index {
                digest: fetched.digest,
                manifests,
            },
            None => ResolvedManifest::Image {
                digest: fetched.digest,
            },
        }))
    }

    /// The layer facts of the image `reference` names, or `None` when the
    /// registry has no such manifest. A multi-platform index is followed to
    /// its `os/architecture` entry (`linux/amd64` style), or its first one.
    pub async fn image_layers(
        &self,
        reference: &Reference,
        platform: &str,
    ) -> Result<Option<ImageLayers>, RegistryError> {
        let Some(fetched) = self
            .get_manifest(reference, reference.manifest_reference())
            .await?
        else {
            return Ok(None);
        };
        let bytes = match self.index_entries(reference, &fetched)? {
            Some(manifests) => {
                let (os, arch) = platform.split_once('/').unwrap_or(("linux", platform));
                let wanted = Platform::new(os, arch.split('/').next().unwrap_or(arch));
                let chosen = manifests
                    .iter()
                    .find(|m| m.platform.as_ref().is_some_and(|p| p.satisfies(&wanted)))
                    .or_else(|| manifests.first())
                    .ok_or_else(|| {
                        self.protocol(reference, "manifest index lists no image".into())
                    })?;
                match self.get_manifest(reference, chosen.digest.as_str()).await? {
                    Some(child) => child.bytes,
                    None => return Ok(None),
                }
            }
            None => fetched.bytes,
        };
        let manifest: ImageManifest = serde_json::from_slice(&bytes)
            .map_err(|e| self.protocol(reference, format!("not an image manifest: {e}")))?;
        let config = self.get_blob(reference, &manifest.config.digest).await?;
        Ok(Some(ImageLayers::read(
            &manifest,
            bytes.len() as u64,
            &config,
        )))
    }

    /// The entries of `fetched` when it is an index: by its media type, or,
    /// when the registry sends none it knows, by its `manifests` list.
    fn index_entries(
        &self,
        reference: &Reference,
        fetched: &Fetched,
    ) -> Result<Option<Vec<PlatformManifest>>, RegistryError> {
        let is_index = fetched.media_type == OCI_INDEX
            || fetched.media_type == DOCKER_MANIFEST_LIST
            || serde_json::from_slice::<serde_json::Value>(&fetched.bytes)
                .ok()
                .is_some_and(|v| v.get("manifests").is_some());
        if !is_index {
            return Ok(None);
        }
        let index: Index = serde_json::from_slice(&fetched.bytes)
            .map_err(|e| self.protocol(reference, format!("manifest index is not valid: {e}")))?;
        Ok(Some(
            index
                .manifests
                .into_iter()
                .map(|m| PlatformManifest {
                    digest: m.digest,
                    platform: m.platform,
                })
                .collect(),
        ))
    }

    /// Which of `digests` the repository `target` names does not have yet
    /// (what a push of them would upload). Asks with HEAD requests: one,
    /// then the rest a few at a time.
    pub async fn missing_blobs(
        &self,
        target: &Reference,
        digests: &[Digest],
    ) -> Result<HashSet<Digest>, RegistryError> {
        // One blob first: a registry that cannot be reached fails once,
        // not once per blob.
        let Some((first, rest)) = digests.split_first() else {
            return Ok(HashSet::new());
        };
        let mut missing = HashSet::new();
        if !self.has_blob(target, first).await? {
            missing.insert(first.clone());
        }
        let checks: Vec<BoxFuture<'_, Result<Option<Digest>, RegistryError>>> = rest
            .iter()
            .map(|digest| {
                async move { Ok((!self.has_blob(target, digest).await?).then(|| digest.clone())) }
                    .boxed()
            })
            .collect();
        let answers: Vec<Option<Digest>> = stream::iter(checks)
            .buffered(BLOB_CHECK_CONCURRENCY)
            .try_collect()
            .await?;
        missing.extend(answers.into_iter().flatten());
        Ok(missing)
    }

    async fn has_blob(&self, target: &Reference, digest: &Digest) -> Result<bool, RegistryError> {
        let registry = target.registry();
        let repository = target.repository();
        let operation = format!("checking blob {digest} in {}", target.name());
        let url = format!("{}{repository}/blobs/{digest}", self.base_url(registry));
        let head = || Ok(self.http().head(&url));
        self.retrying(registry, &operation, || async {
            let response = self
                .send(registry, repository, Access::Pull, &operation, &head)
                .await?;
            match response.status() {
                status if status.is_success() => Ok(true),
                StatusCode::NOT_FOUND => Ok(false),
                _ => Err(status_error(registry, &operation, response).await),
            }
        })
        .await
    }

    fn protocol(&self, reference: &Reference, reason: String) -> RegistryError {
        RegistryError::Protocol {
            registry: reference.registry().to_string(),
            operation: format!("reading {reference}"),
            reason,
        }
    }

    pub(crate) async fn get_manifest(
        &self,
        reference: &Reference,
        manifest_reference: &str,
    ) -> Result<Option<Fetched>, RegistryError> {
        let registry = reference.registry();
        let operation = format!("reading the manifest of {reference}");
        let url = format!(
            "{}{}/manifests/{}",
            self.base_url(registry),
            reference.repository(),
            manifest_reference
        );
        let accept = [
            OCI_INDEX,
            DOCKER_MANIFEST_LIST,
            OCI_MANIFEST,
            DOCKER_MANIFEST,
        ]
        .join(", ");
        let get = || Ok(self.http().get(&url).header(ACCEPT, accept.as_str()));
        self.retrying(registry, &operation, || async {
            let response = self
                .send(
                    registry,
                    reference.repository(),
                    Access::Pull,
                    &operation,
                    &get,
                )
                .await?;
            match response.status() {
                StatusCode::NOT_FOUND => Ok(None),
                status if status.is_success() => {
                    let media_type = response
                        .headers()
                        .get(reqwest::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let header = header_digest(&response);
                    let body = response
                        .bytes()
                        .await
                        .map_err(|e| RegistryError::transport(registry, &operation, &e))?;
                    let digest = header.unwrap_or_else(|| Digest::sha256_of(&body));
                    Ok(Some(Fetched {
                        bytes: body.to_vec(),
                        media_type,
                        digest,
                    }))
                }
                _ => Err(status_error(registry, &operation, response).await),
            }
        })
        .await
    }

    async fn get_blob(
        &self,
        reference: &Reference,
        digest: &Digest,
    ) -> Result<Vec<u8>, RegistryError> {
        let registry = reference.registry();
        let operation = format!("reading the config {digest} of {reference}");
        let url = format!(
            "{}{}/blobs/{}",
            self.base_url(registry),
            reference.repository(),
            digest
        );
        let get = || Ok(self.http().get(&url));
        self.retrying(registry, &operation, || async {
            let response = self
                .send(
                    registry,
                    reference.repository(),
                    Access::Pull,
                    &operation,
                    &get,
                )
                .await?;
            if !response.status().is_success() {
                return Err(status_error(registry, &operation, response).await);
            }
            let body = response
                .bytes()
                .await
                .map_err(|e| RegistryError::transport(registry, &operation, &e))?;
            Ok(body.to_vec())
        })
        .await
    }
}
