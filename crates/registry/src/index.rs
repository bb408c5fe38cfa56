//! Multi-platform image indexes in one canonical form.
//!
//! An index that lists the same children must have the same digest, build
//! after build and machine after machine, or every dependent would see a
//! change that is not one. So the provider writes its own index instead of
//! taking a builder's: children sorted by os, architecture and variant, each
//! with only `mediaType`, `digest`, `size` and `platform`, and no
//! annotations or attestation entries.

use serde::{Deserialize, Serialize};

use crate::layout::{Descriptor, OCI_INDEX};
use imagedeploy_reference::{Digest, Platform};

/// One child of an index: an image manifest and the platform it runs on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IndexChild {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    pub platform: Platform,
}

impl IndexChild {
    /// `manifest` (an image manifest's descriptor) for `platform`.
    pub fn new(manifest: Descriptor, platform: Platform) -> IndexChild {
        IndexChild {
            media_type: manifest.media_type,
            digest: manifest.digest,
            size: manifest.size,
            platform,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Wire<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: &'a [IndexChild],
}

/// A canonical OCI image index: build it with [`ImageIndex::new`], push it
/// with [`crate::RegistryClient::push_index`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageIndex {
    children: Vec<IndexChild>,
    bytes: Vec<u8>,
    digest: Digest,
}

impl ImageIndex {
    /// The index of `children`, in canonical order whatever order they come
    /// in. Two children for one platform keep the first.
    pub fn new(mut children: Vec<IndexChild>) -> ImageIndex {
        children.sort_by(|a, b| a.platform.cmp(&b.platform));
        children.dedup_by(|later, first| later.platform == first.platform);
        let wire = Wire {
            schema_version: 2,
            media_type: OCI_INDEX,
            manifests: &children,
        };
        // Serialising plain strings and numbers cannot fail.
        let bytes = serde_json::to_vec(&wire).unwrap_or_default();
        let digest = Digest::sha256_of(&bytes);
        ImageIndex {
            children,
            bytes,
            digest,
        }
    }

    /// The children, sorted.
    pub fn children(&self) -> &[IndexChild] {
        &self.children
    }

    /// The exact bytes that are pushed (and hashed).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `sha256:` of [`ImageIndex::bytes`].
    pub fn digest(&self) -> &Digest {
        &self.digest
    }

    /// The index's media type.
    pub fn media_type(&self) -> &'static str {
        OCI_INDEX
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(platform: &str, n: u8) -> IndexChild {
        IndexChild::new(
            Descriptor {
                media_type: crate::layout::OCI_MANIFEST.into(),
                digest: Digest::sha256_of(&[n]),
                size: 100 + u64::from(n),
            },
            Platform::parse(platform).unwrap(),
        )
    }

    #[test]
    fn the_order_of_children_does_not_change_the_digest() {
        let a = ImageIndex::new(vec![child("linux/arm64", 1), child("linux/amd64", 2)]);
        let b = ImageIndex::new(vec![child("linux/amd64", 2), child("linux/arm64", 1)]);
        assert_eq!(a.digest(), b.digest());
        assert_eq!(a.bytes(), b.bytes());
        let order: Vec<String> = a
            .children()
            .iter()
            .map(|c| c.platform.to_string())
            .collect();
        assert_eq!(order, ["linux/amd64", "linux/arm64"]);
        // A different child is a different index.
        let c = ImageIndex::new(vec![child("linux/amd64", 3), child("linux/arm64", 1)]);
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn the_index_holds_nothing_but_its_children() {
        let index = ImageIndex::new(vec![child("linux/arm/v7", 1)]);
        let value: serde_json::Value = serde_json::from_slice(index.bytes()).unwrap();
        let mut keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["manifests", "mediaType", "schemaVersion"]);
        let entry = value["manifests"][0].as_object().unwrap();
        let mut keys: Vec<&String> = entry.keys().collect();
        keys.sort();
        assert_eq!(keys, ["digest", "mediaType", "platform", "size"]);
        assert_eq!(value["manifests"][0]["platform"]["variant"], "v7");
        assert_eq!(*index.digest(), Digest::sha256_of(index.bytes()));
    }
}
