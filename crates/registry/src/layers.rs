//! What an image is made of, layer by layer, read from its manifest and
//! config alone: each layer's compressed size (what a registry serves and a
//! container host pulls), its diff id (the uncompressed digest, the same
//! whatever the compression) and the history entry that made it. Nothing
//! here downloads or opens a layer: that is what keeps a size report cheap
//! enough to run on every build and on a deployed image's reference.

use serde::Deserialize;

use crate::layout::{Descriptor, ImageManifest};
use imagedeploy_reference::Digest;

/// One layer as the manifest and config describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerFacts {
    pub digest: Digest,
    pub media_type: String,
    /// Compressed size in bytes (the manifest descriptor's `size`).
    pub size: u64,
    /// The config's `rootfs.diff_ids` entry for this layer, when present.
    pub diff_id: Option<Digest>,
    /// `created_by` of the config history entry that made the layer.
    pub created_by: Option<String>,
}

/// One config history entry (layer-making or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryEntry {
    pub created_by: String,
    pub empty_layer: bool,
}

/// The layers of one image and the history they came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageLayers {
    pub layers: Vec<LayerFacts>,
    pub history: Vec<HistoryEntry>,
    /// Layers + config + manifest: what a registry stores and a host pulls.
    pub size_bytes: u64,
}

#[derive(Deserialize)]
struct Config {
    #[serde(default)]
    rootfs: Option<RootFs>,
    #[serde(default)]
    history: Vec<RawHistory>,
}

#[derive(Deserialize)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<Digest>,
}

#[derive(Deserialize)]
struct RawHistory {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

impl ImageLayers {
    /// Reads the layer facts from a manifest, its bytes' length and the
    /// config JSON. A config without usable history or diff ids still gives
    /// the sizes; the missing facts are `None`.
    pub fn read(manifest: &ImageManifest, manifest_len: u64, config: &[u8]) -> Self {
        let config: Config = serde_json::from_slice(config).unwrap_or(Config {
            rootfs: None,
            history: Vec::new(),
        });
        let diff_ids = config.rootfs.map(|r| r.diff_ids).unwrap_or_default();
        let history: Vec<HistoryEntry> = config
            .history
            .into_iter()
            .map(|h| HistoryEntry {
                created_by: h.created_by.unwrap_or_default(),
                empty_layer: h.empty_layer,
            })
            .collect();
        let layer_history: Vec<&HistoryEntry> = history.iter().filter(|h| !h.empty_layer).collect();
        // History that does not account for every layer one to one cannot
        // be trusted to say which entry made which layer.
        let history_fits = layer_history.len() == manifest.layers.len();
        let layers = manifest
            .layers
            .iter()
            .enumerate()
            .map(|(i, layer): (usize, &Descriptor)| LayerFacts {
                digest: layer.digest.clone(),
                media_type: layer.media_type.clone(),
                size: layer.size,
                diff_id: diff_ids.get(i).cloned(),
                created_by: history_fits.then(|| layer_history[i].created_by.clone()),
            })
            .collect();
        let size_bytes = manifest.layers.iter().map(|l| l.size).sum::<u64>()
            + manifest.config.size
            + manifest_len;
        ImageLayers {
            layers,
            history,
            size_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::sha256_of(&[n])
    }

    fn manifest(sizes: &[u64]) -> ImageManifest {
        ImageManifest {
            media_type: None,
            config: Descriptor {
                media_type: crate::layout::OCI_CONFIG.into(),
                digest: digest(0),
                size: 100,
            },
            layers: sizes
                .iter()
                .enumerate()
                .map(|(i, size)| Descriptor {
                    media_type: crate::layout::OCI_LAYER_GZIP.into(),
                    digest: digest(i as u8 + 1),
                    size: *size,
                })
                .collect(),
        }
    }

    #[test]
    fn layers_take_the_history_entries_that_made_them() {
        let config = serde_json::json!({
            "rootfs": {"type": "layers", "diff_ids": [digest(11), digest(12)]},
            "history": [
                {"created_by": "ADD base"},
                {"created_by": "ENV A=1", "empty_layer": true},
                {"created_by": "COPY . ."}
            ]
        });
        let layers = ImageLayers::read(&manifest(&[10, 20]), 300, config.to_string().as_bytes());
        assert_eq!(layers.size_bytes, 10 + 20 + 100 + 300);
        assert_eq!(layers.layers[1].created_by.as_deref(), Some("COPY . ."));
        assert_eq!(layers.layers[1].diff_id, Some(digest(12)));
        assert_eq!(layers.history.len(), 3);
    }

    #[test]
    fn history_that_does_not_fit_the_layers_maps_nothing() {
        let config = serde_json::json!({"history": [{"created_by": "one"}]});
        let layers = ImageLayers::read(&manifest(&[10, 20]), 0, config.to_string().as_bytes());
        assert!(layers.layers.iter().all(|l| l.created_by.is_none()));
        assert!(layers.layers.iter().all(|l| l.diff_id.is_none()));
    }
}
