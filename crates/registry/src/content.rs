//! The identity of an image's content, independent of how and when it was
//! built. Two builds that produce the same files (paths, bytes, modes,
//! owners, link targets) and the same runtime config have the same content
//! digest even when timestamps, history, compression or build metadata
//! differ; that is what lets the provider skip a push whose only change is
//! the build time.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::layout::{ImageLayout, LayoutError};
use imagedeploy_reference::Digest;

/// Bump when the canonical form changes, so old and new digests never collide.
const FORMAT: &str = "imagedeploy-content/v1";

/// Labels builders add on their own; they describe the builder, not the image.
const BUILDER_LABELS: &[&str] = &["io.buildah.version"];

/// Runtime config fields that define how a container from the image behaves.
const RUNTIME_FIELDS: &[&str] = &[
    "Entrypoint",
    "Cmd",
    "Env",
    "WorkingDir",
    "User",
    "ExposedPorts",
    "Volumes",
    "Labels",
    "StopSignal",
    "Healthcheck",
    "Shell",
    "OnBuild",
];

/// The content identity of an image (`sha256:<hex>` over a canonical form).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContentDigest(pub Digest);

impl fmt::Display for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What [`content_digest`] reports about an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageContent {
    pub content_digest: ContentDigest,
    /// Compressed layers + config + manifest: what a registry stores.
    pub size_bytes: u64,
    pub layers: usize,
    /// Each layer's uncompressed size (its tar stream, what its diff id
    /// covers), in manifest order: measured while the layer is hashed.
    pub uncompressed_sizes: Vec<u64>,
    /// `os/architecture[/variant]`.
    pub platform: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("layer {digest} of the OCI layout {dir}: {reason}")]
    Layer {
        dir: String,
        digest: Digest,
        reason: String,
    },
}

/// Computes the content identity of the single image in an OCI layout.
///
/// Covers, for every layer in order, each tar entry's path, type, permission
/// bits, owner ids, link target, device numbers, extended attributes and the
/// sha256 of its bytes (layers may be gzip, zstd or uncompressed); and the
/// runtime config (Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts,
/// Volumes, Labels, StopSignal, Healthcheck, Shell, OnBuild, os,
/// architecture, variant). Ignores timestamps, history, rootfs diff ids,
/// compression and builder labels such as `io.buildah.version`.
pub fn content_digest(layout_dir: &Path) -> Result<ImageContent, ContentError> {
    let layout = ImageLayout::open(layout_dir)?;
    let mut hasher = Sha256::new();
    hasher.update(FORMAT.as_bytes());
    hasher.update(b"\n");
    let mut uncompressed_sizes = Vec::new();
    for layer in &layout.manifest().layers {
        let layer_error = |reason: String| ContentError::Layer {
            dir: layout_dir.display().to_string(),
            digest: layer.digest.clone(),
            reason,
        };
        let file = File::open(layout.blob_path(&layer.digest))
            .map_err(|e| layer_error(format!("cannot open: {e}")))?;
        let (records, uncompressed) =
            layer_records(BufReader::new(file)).map_err(|e| layer_error(e.to_string()))?;
        uncompressed_sizes.push(uncompressed);
        hasher.update(format!("layer {}\n", records.len()).as_bytes());
        for record in records {
            hasher.update(record.as_bytes());
            hasher.update(b"\n");
        }
    }
    let config = layout.config()?;
    hasher.update(b"config\n");
    hasher.update(canonical_runtime_config(&config).as_bytes());
    Ok(ImageContent {
        content_digest: ContentDigest(Digest::from_sha256(hasher.finalize().into())),
        size_bytes: layout.size_bytes(),
        layers: layout.manifest().layers.len(),
        uncompressed_sizes,
        platform: layout.platform()?,
    })
}

/// One canonical line per tar entry, sorted by path, and the length of the
/// uncompressed tar stream.
fn layer_records(mut reader: BufReader<File>) -> io::Result<(Vec<String>, u64)> {
    let magic = reader
        .fill_buf()?
        .get(..4)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    let decompressed: Box<dyn Read> = if magic.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::bufread::MultiGzDecoder::new(reader))
    } else if magic == [0x28, 0xb5, 0x2f, 0xfd] {
        Box::new(ZstdFrames::new(reader))
    } else {
        Box::new(reader)
    };
    let mut archive = tar::Archive::new(CountingReader {
        inner: decompressed,
        count: 0,
    });
    let mut records: Vec<(String, String)> = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = normalise_path(&entry.path()?.to_string_lossy());
        let header = entry.header();
        let kind = entry_kind(header.entry_type());
        let mode = header.mode().unwrap_or(0) & 0o7777;
        let uid = header.uid().unwrap_or(0);
        let gid = header.gid().unwrap_or(0);
        let link = entry
            .link_name()?
            .map(|l| l.to_string_lossy().into_owned())
            .unwrap_or_default();
        let device = match kind {
            "char" | "block" => format!(
                "{}:{}",
                header.device_major().ok().flatten().unwrap_or(0),
                header.device_minor().ok().flatten().unwrap_or(0)
            ),
            _ => String::new(),
        };
        let mut xattrs: BTreeMap<String, String> = BTreeMap::new();
        if let Some(extensions) = entry.pax_extensions()? {
            for extension in extensions {
                let extension = extension?;
                if let Ok(key) = extension.key() {
                    if let Some(name) = key.strip_prefix("SCHILY.xattr.") {
                        xattrs.insert(name.to_string(), hex::encode(extension.value_bytes()));
                    }
                }
            }
        }
        let content = if kind == "file" {
            let mut hashing = HashSink(Sha256::new());
            io::copy(&mut entry, &mut hashing)?;
            hex::encode(hashing.0.finalize())
        } else {
            String::new()
        };
        let record = serde_json::json!([
            path,
            kind,
            format!("{mode:o}"),
            uid,
            gid,
            link,
            device,
            xattrs,
            content
        ]);
        records.push((path, record.to_string()));
    }
    records.sort();
    // The archive stops at its end marker; the stream may pad beyond it.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink())?;
    Ok((
        records.into_iter().map(|(_, record)| record).collect(),
        rest.count,
    ))
}

/// Counts the bytes read through it.
struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

fn entry_kind(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Regular | tar::EntryType::Continuous => "file",
        tar::EntryType::Link => "hardlink",
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Char => "char",
        tar::EntryType::Block => "block",
        tar::EntryType::Directory => "dir",
        tar::EntryType::Fifo => "fifo",
        _ => "other",
    }
}

/// `./usr/bin/` and `/usr/bin` both become `usr/bin`.
fn normalise_path(path: &str) -> String {
    let trimmed = path
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        ".".to_string()
    } else {
        trimmed.to_string()
    }
}

/// The runtime-relevant part of an image config as sorted, compact JSON.
fn canonical_runtime_config(config: &serde_json::Value) -> String {
    let mut selected = serde_json::Map::new();
    for field in ["os", "architecture", "variant"] {
        if let Some(value) = config.get(field) {
            selected.insert(field.to_string(), value.clone());
        }
    }
    if let Some(runtime) = config.get("config").and_then(|c| c.as_object()) {
        for field in RUNTIME_FIELDS {
            if let Some(value) = runtime.get(*field) {
                let mut value = value.clone();
                if *field == "Labels" {
                    if let Some(labels) = value.as_object_mut() {
                        labels.retain(|key, _| !BUILDER_LABELS.contains(&key.as_str()));
                    }
                }
                selected.insert(field.to_string(), value);
            }
        }
    }
    let mut out = String::new();
    write_canonical(&serde_json::Value::Object(selected), &mut out);
    out
}

/// JSON with sorted keys, where null, "", [] and {} count as absent.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> =
                map.iter().filter(|(_, v)| !is_empty(v)).collect();
            out.push('{');
            for (i, (key, value)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn is_empty(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

struct HashSink(Sha256);

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Decodes a zstd stream made of one or more frames.
struct ZstdFrames<R: BufRead> {
    state: ZstdState<R>,
}

enum ZstdState<R: BufRead> {
    Between(R),
    InFrame(Box<ruzstd::decoding::StreamingDecoder<R, ruzstd::decoding::FrameDecoder>>),
    Done,
}

impl<R: BufRead> ZstdFrames<R> {
    fn new(reader: R) -> Self {
        Self {
            state: ZstdState::Between(reader),
        }
    }
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, ZstdState::Done) {
                ZstdState::Done => return Ok(0),
                ZstdState::Between(mut reader) => {
                    if reader.fill_buf()?.is_empty() {
                        return Ok(0);
                    }
                    let decoder = ruzstd::decoding::StreamingDecoder::new(reader).map_err(|e| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("zstd: {e}"))
                    })?;
                    self.state = ZstdState::InFrame(Box::new(decoder));
                }
                ZstdState::InFrame(mut decoder) => {
                    let n = decoder.read(buf)?;
                    if n > 0 || buf.is_empty() {
                        self.state = ZstdState::InFrame(decoder);
                        return Ok(n);
                    }
                    self.state = ZstdState::Between(decoder.into_inner());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_config_ignores_order_empties_and_builder_labels() {
        let a = serde_json::json!({
            "created": "2024-01-01T00:00:00Z",
            "architecture": "amd64", "os": "linux",
            "config": {"Env": ["A=1"], "Cmd": null, "Labels": {"io.buildah.version": "1.28", "x": "y"}},
            "history": [{"created_by": "RUN x"}]
        });
        let b = serde_json::json!({
            "os": "linux", "architecture": "amd64",
            "config": {"Labels": {"x": "y"}, "Env": ["A=1"], "WorkingDir": ""},
        });
        assert_eq!(canonical_runtime_config(&a), canonical_runtime_config(&b));
        let c =
            serde_json::json!({"os": "linux", "architecture": "amd64", "config": {"Env": ["A=2"]}});
        assert_ne!(canonical_runtime_config(&a), canonical_runtime_config(&c));
    }

    #[test]
    fn paths_normalise() {
        assert_eq!(normalise_path("./usr/bin/"), "usr/bin");
        assert_eq!(normalise_path("/etc"), "etc");
        assert_eq!(normalise_path("./"), ".");
    }
}
