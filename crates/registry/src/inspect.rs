//! Reading a pushed image's layer facts from its registry: the manifest and
//! the config blob, never a layer. A Service uses it to say what a new task
//! pulls; the Image uses it when the state has no layer list to compare with.

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
use imagedeploy_reference::Digest;
use imagedeploy_reference::Reference;

const BLOB_CHECK_CONCURRENCY: usize = 8;

#[derive(serde::Deserialize)]
struct IndexEntry {
    digest: Digest,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(serde::Deserialize)]
struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
}

#[derive(serde::Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

impl RegistryClient {
    /// The layer facts of the image `reference` names, or `None` when the
    /// registry has no such manifest. A multi-platform index is followed to
    /// its `os/architecture` entry (`linux/amd64` style), or its first one.
    pub async fn image_layers(
        &self,
        reference: &Reference,
        platform: &str,
    ) -> Result<Option<ImageLayers>, RegistryError> {
        let Some((bytes, media_type)) = self
            .get_manifest(reference, reference.manifest_reference())
            .await?
        else {
            return Ok(None);
        };
        let is_index = media_type == OCI_INDEX
            || media_type == DOCKER_MANIFEST_LIST
            || serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .is_some_and(|v| v.get("manifests").is_some());
        let bytes = if is_index {
            let index: Index = serde_json::from_slice(&bytes).map_err(|e| {
                self.protocol(reference, format!("manifest index is not valid: {e}"))
            })?;
            let (os, arch) = platform.split_once('/').unwrap_or(("linux", platform));
            let arch = arch.split('/').next().unwrap_or(arch);
            let chosen = index
                .manifests
                .iter()
                .find(|m| {
                    m.platform
                        .as_ref()
                        .is_some_and(|p| p.os == os && p.architecture == arch)
                })
                .or_else(|| index.manifests.first())
                .ok_or_else(|| self.protocol(reference, "manifest index lists no image".into()))?;
            match self.get_manifest(reference, chosen.digest.as_str()).await? {
                Some((bytes, _)) => bytes,
                None => return Ok(None),
            }
        } else {
            bytes
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
    ) -> Result<Option<(Vec<u8>, String)>, RegistryError> {
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
                    let body = response
                        .bytes()
                        .await
                        .map_err(|e| RegistryError::transport(registry, &operation, &e))?;
                    Ok(Some((body.to_vec(), media_type)))
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
