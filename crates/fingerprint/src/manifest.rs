//! The fingerprint manifest (the CLI's `--json` format) and its digest.
//!
//! The manifest keeps everything needed to explain a change (paths, per-file
//! hashes, instruction lines); the digest covers only what can change the
//! image: instruction text but not line numbers, declared build args, target,
//! platforms, FROM references, named contexts and what cannot be hashed.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Bumped whenever the digest input changes meaning.
pub const FORMAT: u32 = 1;

/// The fingerprint and everything it was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// `sha256:<64 hex>`.
    pub fingerprint: String,
    /// Context entries the build reads, sorted by path.
    pub files: Vec<FileEntry>,
    pub inputs: Inputs,
    /// Inputs the fingerprint cannot see, included as written.
    #[serde(default)]
    pub unhashable: Vec<UnhashableInput>,
}

/// What a context entry is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum EntryType {
    #[default]
    File,
    Symlink,
    /// An empty directory (others are implied by the paths under them).
    Dir,
    /// FIFO, socket or device.
    Other,
}

impl EntryType {
    fn is_file(&self) -> bool {
        *self == EntryType::File
    }
}

/// One context entry.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FileEntry {
    /// Relative to the context root, `/`-separated.
    pub path: String,
    /// Hex SHA-256 of the contents (of the link text, for a symlink).
    pub sha256: String,
    /// Any execute bit set.
    pub executable: bool,
    #[serde(rename = "type", default, skip_serializing_if = "EntryType::is_file")]
    pub kind: EntryType,
    /// Link target, for symlinks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symlink: Option<String>,
}

/// One Dockerfile instruction that counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instruction {
    pub line: usize,
    pub text: String,
}

/// Something the build reads that cannot be hashed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnhashableInput {
    pub line: usize,
    pub instruction: String,
    pub reason: String,
}

/// Non-file inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Inputs {
    pub format: u32,
    /// Where the Dockerfile came from (informational, not hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dockerfile: Option<String>,
    /// Which ignore file applied (informational, not hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_file: Option<String>,
    /// Canonical instructions of the reachable stages, in file order.
    pub instructions: Vec<Instruction>,
    /// Build args declared by the reachable stages: name -> `sha256:` of the
    /// value (values are not stored: they may be sensitive).
    pub build_args: BTreeMap<String, String>,
    /// Build args given but declared by no reachable stage (not hashed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unused_build_args: Vec<String>,
    pub target: String,
    pub platforms: Vec<String>,
    /// The builder's native platform, recorded only when the Dockerfile can
    /// see the automatic platform args (`TARGETARCH`, `BUILDPLATFORM`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builder_platform: Option<String>,
    /// Named contexts: name -> digest of their contents.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub named_contexts: BTreeMap<String, String>,
    /// FROM / COPY --from / mount images, as written after substitution.
    pub base_images: Vec<String>,
}

/// What goes into the digest, in a fixed order.
#[derive(Serialize)]
struct DigestInput<'a> {
    format: u32,
    instructions: Vec<&'a str>,
    files: &'a [FileEntry],
    build_args: &'a BTreeMap<String, String>,
    target: &'a str,
    platforms: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    builder_platform: Option<&'a str>,
    named_contexts: &'a BTreeMap<String, String>,
    base_images: &'a [String],
    unhashable: Vec<(&'a str, &'a str)>,
}

/// `sha256:<hex>` of a value's bytes.
pub fn sha256_ref(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Manifest {
    /// Builds a manifest (sorting and de-duplicating files) and computes its
    /// digest.
    pub fn new(
        mut files: Vec<FileEntry>,
        inputs: Inputs,
        mut unhashable: Vec<UnhashableInput>,
    ) -> Manifest {
        files.sort();
        files.dedup();
        unhashable.sort();
        unhashable.dedup();
        let mut manifest = Manifest {
            fingerprint: String::new(),
            files,
            inputs,
            unhashable,
        };
        manifest.fingerprint = manifest.compute_digest();
        manifest
    }

    /// The digest of this manifest's contents (ignores `fingerprint`).
    pub fn compute_digest(&self) -> String {
        let input = DigestInput {
            format: self.inputs.format,
            instructions: self
                .inputs
                .instructions
                .iter()
                .map(|i| i.text.as_str())
                .collect(),
            files: &self.files,
            build_args: &self.inputs.build_args,
            target: &self.inputs.target,
            platforms: &self.inputs.platforms,
            builder_platform: self.inputs.builder_platform.as_deref(),
            named_contexts: &self.inputs.named_contexts,
            base_images: &self.inputs.base_images,
            unhashable: self
                .unhashable
                .iter()
                .map(|u| (u.instruction.as_str(), u.reason.as_str()))
                .collect(),
        };
        // Serialising plain structs, vectors and BTreeMaps cannot fail and is
        // deterministic.
        let bytes = serde_json::to_vec(&input).unwrap_or_default();
        sha256_ref(&bytes)
    }
}
