//! Which base images BuildKit downloaded, and how many bytes, read from its
//! plain progress output (the Docker CLI cannot list BuildKit's own store).
//!
//! A base image is a vertex whose name is `FROM <reference>` (with or without
//! a `[stage k/m]` prefix); each layer it downloads shows as
//! `#N sha256:<hex> <done> / <total> <time> done`. A vertex without such
//! lines took every layer from BuildKit's store. Sizes are BuildKit's
//! rounded decimal units (`1.08MB`), so byte counts are approximate.

use std::collections::BTreeMap;

/// Output seen so far.
#[derive(Debug, Default)]
pub(crate) struct PullWatch {
    /// Vertex id -> the reference its `FROM` names.
    vertices: BTreeMap<String, String>,
    /// Reference -> bytes downloaded (absent: never seen).
    images: BTreeMap<String, u64>,
}

impl PullWatch {
    pub fn observe(&mut self, line: &str) {
        let Some((vertex, rest)) = line
            .trim()
            .strip_prefix('#')
            .and_then(|l| l.split_once(' '))
        else {
            return;
        };
        let name = rest.split_once("] ").map_or(rest, |(_, n)| n);
        if let Some(reference) = name.strip_prefix("FROM ") {
            let reference = reference.split_whitespace().next().unwrap_or_default();
            self.vertices
                .insert(vertex.to_string(), reference.to_string());
            self.images.entry(reference.to_string()).or_insert(0);
            return;
        }
        let Some(reference) = self.vertices.get(vertex) else {
            return;
        };
        if let Some(bytes) = downloaded_layer(rest) {
            *self.images.entry(reference.clone()).or_insert(0) += bytes;
        }
    }

    /// Bytes downloaded for the `FROM` whose reference ends with `@digest`
    /// (`None`: BuildKit showed no such `FROM`).
    pub fn downloaded(&self, digest: &str) -> Option<u64> {
        self.images
            .iter()
            .find(|(reference, _)| reference.ends_with(&format!("@{digest}")))
            .map(|(_, bytes)| *bytes)
    }
}

/// `sha256:<hex> 1.08MB / 1.08MB 0.3s done` -> the total, in bytes.
fn downloaded_layer(rest: &str) -> Option<u64> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    match words.as_slice() {
        [blob, _, "/", total, _, "done"] if blob.starts_with("sha256:") => human_size(total),
        _ => None,
    }
}

/// go-units `HumanSize` text (decimal: `B`, `kB`, `MB`, `GB`, `TB`) -> bytes.
fn human_size(text: &str) -> Option<u64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "TB" => 1e12,
        _ => return None,
    };
    // Rounded units: the product is a byte count within u64 for any real image.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((number * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PULLED: &str = "#5 [1/2] FROM 127.0.0.1:5000/base@sha256:aaa\n#5 resolve 127.0.0.1:5000/base@sha256:aaa done\n#5 sha256:77 0B / 1.08MB 0.1s\n#5 sha256:77 1.08MB / 1.08MB 0.2s done\n#5 sha256:88 2.5kB / 2.5kB 0.2s done\n#5 extracting sha256:77 0.1s done\n#5 DONE 0.4s\n#6 [2/2] COPY app.txt /app.txt\n#6 sha256:99 5B / 5B 0.0s done\n";

    #[test]
    fn sums_the_layers_a_from_vertex_downloads() {
        let mut watch = PullWatch::default();
        PULLED.lines().for_each(|l| watch.observe(l));
        assert_eq!(watch.downloaded("sha256:aaa"), Some(1_082_500));
        assert_eq!(watch.downloaded("sha256:bbb"), None);
    }

    #[test]
    fn a_cached_from_downloads_nothing() {
        let mut watch = PullWatch::default();
        for l in ["#4 [stage-0 1/2] FROM r/base@sha256:ccc", "#4 CACHED"] {
            watch.observe(l);
        }
        assert_eq!(watch.downloaded("sha256:ccc"), Some(0));
        assert_eq!(human_size("269.5MB"), Some(269_500_000));
        assert_eq!(human_size("12 parsecs"), None);
    }
}
