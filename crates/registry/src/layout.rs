//! OCI image layouts on disk (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`):
//! the hand-over format between the builder and the pusher, so the digest
//! computed after a build is byte for byte the digest that gets pushed.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use imagedeploy_reference::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// A content descriptor (`mediaType`, `digest`, `size`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
}

/// The fields of an image manifest this crate needs.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
}

/// A layout that cannot be used, with the path and the reason.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error("OCI layout {}: cannot read {}: {source}", dir.display(), file.display())]
    Io {
        dir: PathBuf,
        file: PathBuf,
        source: io::Error,
    },
    #[error("OCI layout {}: {reason}", dir.display())]
    Invalid { dir: PathBuf, reason: String },
}

/// An OCI image layout holding exactly one image manifest.
#[derive(Clone, Debug)]
pub struct ImageLayout {
    dir: PathBuf,
    manifest_digest: Digest,
    manifest_media_type: String,
    manifest_bytes: Vec<u8>,
    manifest: ImageManifest,
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

impl ImageLayout {
    /// Opens `dir` and checks that `index.json` points at one image manifest
    /// whose bytes match its digest.
    pub fn open(dir: &Path) -> Result<Self, LayoutError> {
        let invalid = |reason: String| LayoutError::Invalid {
            dir: dir.to_path_buf(),
            reason,
        };
        let index_bytes = read(dir, Path::new("index.json"))?;
        let index: Index = serde_json::from_slice(&index_bytes)
            .map_err(|e| invalid(format!("index.json is not a valid OCI index: {e}")))?;
        let [entry] = index.manifests.as_slice() else {
            return Err(invalid(format!(
                "index.json lists {} manifests; exactly one image manifest is supported",
                index.manifests.len()
            )));
        };
        if entry.media_type == OCI_INDEX || entry.media_type == DOCKER_MANIFEST_LIST {
            return Err(invalid(
                "index.json points at a multi-platform index; one platform is supported".into(),
            ));
        }
        let manifest_bytes = read(dir, &blob_relative_path(&entry.digest))?;
        let actual = Digest::sha256_of(&manifest_bytes);
        if entry.digest.algorithm() == "sha256" && actual != entry.digest {
            return Err(invalid(format!(
                "manifest blob {} has digest {actual}",
                entry.digest
            )));
        }
        let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes).map_err(|e| {
            invalid(format!(
                "manifest {} is not an image manifest: {e}",
                entry.digest
            ))
        })?;
        let manifest_media_type = manifest
            .media_type
            .clone()
            .unwrap_or_else(|| entry.media_type.clone());
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest_digest: entry.digest.clone(),
            manifest_media_type,
            manifest_bytes,
            manifest,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The digest of the manifest: what the registry will report after a push.
    pub fn manifest_digest(&self) -> &Digest {
        &self.manifest_digest
    }

    pub fn manifest_media_type(&self) -> &str {
        &self.manifest_media_type
    }

    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }

    pub fn manifest(&self) -> &ImageManifest {
        &self.manifest
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.dir.join(blob_relative_path(digest))
    }

    pub fn read_blob(&self, digest: &Digest) -> Result<Vec<u8>, LayoutError> {
        read(&self.dir, &blob_relative_path(digest))
    }

    /// The image config as JSON.
    pub fn config(&self) -> Result<serde_json::Value, LayoutError> {
        let bytes = self.read_blob(&self.manifest.config.digest)?;
        serde_json::from_slice(&bytes).map_err(|e| LayoutError::Invalid {
            dir: self.dir.clone(),
            reason: format!(
                "config blob {} is not JSON: {e}",
                self.manifest.config.digest
            ),
        })
    }

    /// `os/architecture[/variant]` from the image config.
    pub fn platform(&self) -> Result<String, LayoutError> {
        let config = self.config()?;
        let field = |name: &str| {
            config
                .get(name)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let mut platform = format!("{}/{}", field("os"), field("architecture"));
        let variant = field("variant");
        if !variant.is_empty() {
            platform.push('/');
            platform.push_str(&variant);
        }
        Ok(platform)
    }

    /// Each layer's size, diff id and history entry, from the manifest and
    /// config only.
    pub fn layers(&self) -> Result<crate::layers::ImageLayers, LayoutError> {
        let config = self.read_blob(&self.manifest.config.digest)?;
        Ok(crate::layers::ImageLayers::read(
            &self.manifest,
            self.manifest_bytes.len() as u64,
            &config,
        ))
    }

    /// Compressed layers + config + manifest, in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.manifest.layers.iter().map(|l| l.size).sum::<u64>()
            + self.manifest.config.size
            + self.manifest_bytes.len() as u64
    }
}

fn blob_relative_path(digest: &Digest) -> PathBuf {
    Path::new("blobs")
        .join(digest.algorithm())
        .join(digest.hex())
}

fn read(dir: &Path, file: &Path) -> Result<Vec<u8>, LayoutError> {
    std::fs::read(dir.join(file)).map_err(|source| LayoutError::Io {
        dir: dir.to_path_buf(),
        file: file.to_path_buf(),
        source,
    })
}

/// Writes a single-image OCI layout. Used to turn builder exports that are
/// not OCI layouts (such as `docker save` archives) into one.
pub struct LayoutWriter {
    dir: PathBuf,
}

impl LayoutWriter {
    /// Prepares `dir` (created if missing) with `oci-layout` and `blobs/sha256`.
    pub fn create(dir: &Path) -> Result<Self, LayoutError> {
        let io_error = |file: &str, source| LayoutError::Io {
            dir: dir.to_path_buf(),
            file: PathBuf::from(file),
            source,
        };
        std::fs::create_dir_all(dir.join("blobs/sha256"))
            .map_err(|e| io_error("blobs/sha256", e))?;
        std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)
            .map_err(|e| io_error("oci-layout", e))?;
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Stores `bytes` as a blob.
    pub fn add_blob(&self, media_type: &str, bytes: &[u8]) -> Result<Descriptor, LayoutError> {
        let digest = Digest::sha256_of(bytes);
        let path = self.dir.join(blob_relative_path(&digest));
        std::fs::write(&path, bytes).map_err(|source| self.io_error(&path, source))?;
        Ok(Descriptor {
            media_type: media_type.to_string(),
            digest,
            size: bytes.len() as u64,
        })
    }

    /// Streams `reader` through gzip into a blob (for uncompressed tar layers).
    pub fn add_gzip_layer(&self, reader: &mut dyn Read) -> Result<Descriptor, LayoutError> {
        let staging = self.dir.join("blobs/sha256/.incoming");
        let file = File::create(&staging).map_err(|source| self.io_error(&staging, source))?;
        let mut hashing = HashingWriter {
            inner: file,
            hasher: Sha256::new(),
            written: 0,
        };
        {
            let mut encoder =
                flate2::write::GzEncoder::new(&mut hashing, flate2::Compression::default());
            io::copy(reader, &mut encoder).map_err(|source| self.io_error(&staging, source))?;
            encoder
                .finish()
                .map_err(|source| self.io_error(&staging, source))?;
        }
        hashing
            .inner
            .flush()
            .map_err(|source| self.io_error(&staging, source))?;
        let digest = Digest::from_sha256(hashing.hasher.finalize().into());
        let path = self.dir.join(blob_relative_path(&digest));
        std::fs::rename(&staging, &path).map_err(|source| self.io_error(&path, source))?;
        Ok(Descriptor {
            media_type: OCI_LAYER_GZIP.to_string(),
            digest,
            size: hashing.written,
        })
    }

    /// Streams `reader` (an uncompressed tar) through zstd into a blob.
    pub fn add_zstd_layer(&self, reader: &mut dyn Read) -> Result<Descriptor, LayoutError> {
        let staging = self.dir.join("blobs/sha256/.incoming");
        let file = File::create(&staging).map_err(|source| self.io_error(&staging, source))?;
        let mut hashing = HashingWriter {
            inner: io::BufWriter::new(file),
            hasher: Sha256::new(),
            written: 0,
        };
        ruzstd::encoding::compress(
            reader,
            &mut hashing,
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        hashing
            .inner
            .flush()
            .map_err(|source| self.io_error(&staging, source))?;
        let digest = Digest::from_sha256(hashing.hasher.finalize().into());
        let path = self.dir.join(blob_relative_path(&digest));
        std::fs::rename(&staging, &path).map_err(|source| self.io_error(&path, source))?;
        Ok(Descriptor {
            media_type: OCI_LAYER_ZSTD.to_string(),
            digest,
            size: hashing.written,
        })
    }

    /// Writes the manifest and `index.json`; returns the manifest digest.
    pub fn finish(self, config: &Descriptor, layers: &[Descriptor]) -> Result<Digest, LayoutError> {
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config,
            "layers": layers,
        });
        let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| LayoutError::Invalid {
            dir: self.dir.clone(),
            reason: format!("cannot encode manifest: {e}"),
        })?;
        let descriptor = self.add_blob(OCI_MANIFEST, &manifest_bytes)?;
        let index = serde_json::json!({
            "schemaVersion": 2,
            "manifests": [descriptor],
        });
        let path = self.dir.join("index.json");
        std::fs::write(&path, index.to_string()).map_err(|source| self.io_error(&path, source))?;
        Ok(descriptor.digest)
    }

    fn io_error(&self, file: &Path, source: io::Error) -> LayoutError {
        LayoutError::Io {
            dir: self.dir.clone(),
            file: file.strip_prefix(&self.dir).unwrap_or(file).to_path_buf(),
            source,
        }
    }
}

/// Rewrites the single image in the layout at `dir` with zstd layers (for
/// builders that cannot compress with zstd themselves). The config, and so
/// the diff ids and the content digest, stay the same; layers already in
/// zstd are kept. Returns the new manifest digest.
pub fn recompress_zstd(dir: &Path) -> Result<Digest, LayoutError> {
    let layout = ImageLayout::open(dir)?;
    let writer = LayoutWriter {
        dir: dir.to_path_buf(),
    };
    let mut layers = Vec::new();
    for layer in &layout.manifest().layers {
        if layer.media_type.ends_with("+zstd") || layer.media_type.ends_with(".zstd") {
            layers.push(layer.clone());
            continue;
        }
        let path = layout.blob_path(&layer.digest);
        let file = File::open(&path).map_err(|source| writer.io_error(&path, source))?;
        let mut reader = io::BufReader::new(file);
        let gzip = {
            use io::BufRead;
            let head = reader
                .fill_buf()
                .map_err(|source| writer.io_error(&path, source))?;
            head.starts_with(&[0x1f, 0x8b])
        };
        let mut tar: Box<dyn Read> = if gzip {
            Box::new(flate2::bufread::MultiGzDecoder::new(reader))
        } else {
            Box::new(reader)
        };
        layers.push(writer.add_zstd_layer(&mut tar)?);
    }
    writer.finish(&layout.manifest().config, &layers)
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
