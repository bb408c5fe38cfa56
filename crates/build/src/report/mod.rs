//! The size report of a built image: each layer with its sizes and the
//! Dockerfile instruction that made it, the delta against the image that
//! was deployed before (new and reused bytes, the first instruction whose
//! layer changed, the steps rebuilt only because an earlier one changed)
//! and the one-line summary the engine log shows.
//!
//! Fargate caches no layers: every new task pulls the whole image, so the
//! compressed size is start-up time. Everything here comes from manifests,
//! configs and figures measured while the image was hashed; no layer is
//! downloaded, so the report costs next to nothing over the build.

mod cascade;
mod estimate;
mod history;

use std::collections::HashSet;

use imagedeploy_fingerprint::Manifest;
use imagedeploy_registry::{Digest, ImageLayers};
use serde::{Deserialize, Serialize};

pub use cascade::Advice;
pub use estimate::{estimate, Estimate};
pub use history::keyword;

/// One layer of the image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    /// Digest of the compressed blob.
    pub digest: String,
    /// Digest of the uncompressed tar (the same whatever the compression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_id: Option<String>,
    /// Compressed bytes: what a new task pulls.
    pub size_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncompressed_bytes: Option<u64>,
    /// The Dockerfile instruction that made the layer (canonical text);
    /// absent for base image layers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instruction: Option<String>,
    /// Its Dockerfile line (1-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Its stage (name, or index when unnamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Not in the registry before this build.
    pub new: bool,
}

impl Layer {
    /// What identifies the layer's content: its diff id, else its digest.
    fn key(&self) -> &str {
        self.diff_id.as_deref().unwrap_or(&self.digest)
    }

    fn described(&self) -> String {
        match (&self.instruction, self.line) {
            (Some(text), Some(line)) => format!("{} (Dockerfile line {line})", short(text)),
            (Some(text), None) => short(text),
            _ => "the base image".to_string(),
        }
    }
}

/// A step of the Dockerfile, as reports name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub instruction: String,
    pub line: Option<u64>,
}

impl Step {
    fn of(layer: &Layer) -> Option<Step> {
        Some(Step {
            instruction: layer.instruction.clone()?,
            line: layer.line,
        })
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{} (Dockerfile line {line})", short(&self.instruction)),
            None => write!(f, "{}", short(&self.instruction)),
        }
    }
}

/// The change against the image deployed before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delta {
    /// Compressed bytes of layers the previous image did not have.
    pub new_bytes: u64,
    pub new_layers: usize,
    /// Compressed bytes of layers the previous image had too.
    pub reused_bytes: u64,
    /// The first layer that differs; `None` when every layer is the same.
    pub first_change: Option<String>,
    /// Steps after the first change whose own inputs did not change: the
    /// builder ran them again only because an earlier layer changed.
    pub cascade: Vec<Step>,
    /// Advice when the cascade rebuilt a dependency install.
    pub advice: Vec<Advice>,
}

/// The report of one build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SizeReport {
    pub layers: Vec<Layer>,
    /// Compressed layers + config + manifest.
    pub size_bytes: u64,
    /// Sum of the layers' uncompressed sizes (0 when unknown).
    pub uncompressed_bytes: u64,
    pub delta: Option<Delta>,
}

/// What the report compares with: the previous image's layers and the
/// fingerprint it was built from (to tell which files changed).
pub struct Previous<'a> {
    pub layers: &'a [Layer],
    pub manifest: Option<&'a Manifest>,
}

/// Builds the report of an image from its layer facts, the uncompressed
/// sizes measured at build time (manifest order; may be empty), the
/// fingerprint it was built from, the blobs the registry already has (a
/// layer is new when it is not among them; `None` when the registry was
/// not asked: then new means not in the previous image) and the previous
/// image.
pub fn report(
    facts: &ImageLayers,
    uncompressed: &[u64],
    manifest: &Manifest,
    already_present: Option<&HashSet<Digest>>,
    previous: Option<&Previous<'_>>,
) -> SizeReport {
    let chain = history::chain(&manifest.inputs.instructions, &manifest.inputs.target);
    let created: Vec<String> = facts.history.iter().map(|h| h.created_by.clone()).collect();
    let mapped = history::map(&created, &chain);
    // Layer i was made by the i-th history entry that is not empty.
    let layer_steps: Vec<Option<usize>> = facts
        .history
        .iter()
        .zip(&mapped)
        .filter(|(h, _)| !h.empty_layer)
        .map(|(_, m)| *m)
        .collect();
    let history_fits = layer_steps.len() == facts.layers.len();
    let previous_keys: HashSet<&str> = previous
        .map(|p| p.layers.iter().map(Layer::key).collect())
        .unwrap_or_default();
    let layers: Vec<Layer> = facts
        .layers
        .iter()
        .enumerate()
        .map(|(i, fact)| {
            let step = history_fits
                .then(|| layer_steps[i])
                .flatten()
                .map(|k| &chain[k]);
            let diff_id = fact.diff_id.as_ref().map(|d| d.to_string());
            let key = diff_id.as_deref().unwrap_or(fact.digest.as_str());
            Layer {
                digest: fact.digest.to_string(),
                diff_id: diff_id.clone(),
                size_bytes: fact.size,
                uncompressed_bytes: uncompressed.get(i).copied(),
                instruction: step.map(|s| s.text.clone()),
                line: step.map(|s| s.line as u64),
                stage: step.map(|s| s.stage.clone()),
                new: match already_present {
                    Some(present) => !present.contains(&fact.digest),
                    None => !previous_keys.contains(key),
                },
            }
        })
        .collect();
    let delta = previous.map(|p| delta(&layers, p, manifest));
    SizeReport {
        size_bytes: facts.size_bytes,
        uncompressed_bytes: layers.iter().filter_map(|l| l.uncompressed_bytes).sum(),
        layers,
        delta,
    }
}

fn delta(layers: &[Layer], previous: &Previous<'_>, manifest: &Manifest) -> Delta {
    let old: HashSet<&str> = previous.layers.iter().map(Layer::key).collect();
    let (mut new_bytes, mut reused_bytes, mut new_layers) = (0, 0, 0);
    for layer in layers {
        if old.contains(layer.key()) {
            reused_bytes += layer.size_bytes;
        } else {
            new_bytes += layer.size_bytes;
            new_layers += 1;
        }
    }
    let first = layers
        .iter()
        .enumerate()
        .position(|(i, l)| previous.layers.get(i).map(Layer::key) != Some(l.key()));
    let first_change = first.map(|i| layers[i].described());
    let cascade = first
        .map(|first| {
            layers[first + 1..]
                .iter()
                .enumerate()
                .filter(|(offset, layer)| {
                    let old = previous.layers.get(first + 1 + offset);
                    cascade::rebuilt_only_by_order(layer, old)
                })
                .filter_map(|(_, layer)| Step::of(layer))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let advice = match first {
        Some(first) => cascade::advise(
            &layers[first].described(),
            &cascade,
            previous.manifest,
            manifest,
        ),
        None => Vec::new(),
    };
    Delta {
        new_bytes,
        new_layers,
        reused_bytes,
        first_change,
        cascade,
        advice,
    }
}

impl SizeReport {
    /// `412.3 MB compressed in 14 layers; 3 new (14.2 MB); first change:
    /// COPY src/ (Dockerfile line 18)`.
    pub fn summary(&self) -> String {
        let mut line = format!(
            "{} compressed in {} layers",
            human_bytes(self.size_bytes),
            self.layers.len()
        );
        if self.uncompressed_bytes > 0 {
            line.push_str(&format!(
                " ({} uncompressed)",
                human_bytes(self.uncompressed_bytes)
            ));
        }
        let new: Vec<&Layer> = self.layers.iter().filter(|l| l.new).collect();
        line.push_str(&format!(
            "; {} new ({})",
            new.len(),
            human_bytes(new.iter().map(|l| l.size_bytes).sum())
        ));
        if let Some(delta) = &self.delta {
            match &delta.first_change {
                Some(first) => line.push_str(&format!("; first change: {first}")),
                None => line.push_str("; no layer changed"),
            }
        }
        line
    }

    /// Compressed bytes of the layers the registry did not have.
    pub fn new_bytes(&self) -> u64 {
        self.layers
            .iter()
            .filter(|l| l.new)
            .map(|l| l.size_bytes)
            .sum()
    }
}

/// Limits on an image's size (compressed bytes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget {
    pub max_bytes: Option<u64>,
    pub max_new_bytes: Option<u64>,
}

impl Budget {
    /// What the report exceeds, one sentence per limit.
    pub fn exceeded(&self, report: &SizeReport) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(max) = self.max_bytes {
            if report.size_bytes > max {
                out.push(format!(
                    "the image is {} compressed ({} bytes), over maxBytes {} ({max} bytes)",
                    human_bytes(report.size_bytes),
                    report.size_bytes,
                    human_bytes(max)
                ));
            }
        }
        if let Some(max) = self.max_new_bytes {
            let new = report.new_bytes();
            if new > max {
                out.push(format!(
                    "this build adds {} of new layers ({new} bytes), over maxNewBytes {} ({max} bytes)",
                    human_bytes(new),
                    human_bytes(max)
                ));
            }
        }
        out
    }
}

/// Decimal units, one decimal: `412.3 MB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: &[&str] = &["kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// An instruction cut to a readable length.
fn short(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX - 3).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests;
