//! Build metrics for CI dashboards (`metricsFile` in the provider
//! configuration), in the OpenMetrics text format.
//!
//! The file is one valid exposition at all times, so that a node_exporter
//! textfile collector or a CI step can read it whenever it likes: each build
//! adds to the counters of its Image (labelled by the resource's name) and
//! the whole file is written again, to a temporary file renamed into place,
//! under a lock file that serialises plugins building at the same time.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// What one build adds.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BuildFigures {
    pub steps_cached: u64,
    pub steps_rebuilt: u64,
    pub build_seconds: f64,
    pub push_bytes: u64,
    pub cache_export_seconds: f64,
}

/// The counter families, in the order they are written, with their help.
const FAMILIES: [(&str, &str); 5] = [
    ("imagedeploy_builds", "Builds run, by Image resource."),
    (
        "imagedeploy_build_steps",
        "Build steps that build something, by whether they came from a cache.",
    ),
    ("imagedeploy_build_seconds", "Time spent building."),
    (
        "imagedeploy_push_bytes",
        "Compressed bytes uploaded to registries.",
    ),
    (
        "imagedeploy_cache_export_seconds",
        "Time spent exporting the shared build cache.",
    ),
];

/// `{image="app",result="cached"}`, values escaped as the format wants.
fn labels(pairs: &[(&str, &str)]) -> String {
    let escaped: Vec<String> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{k}=\"{v}\"")
        })
        .collect();
    format!("{{{}}}", escaped.join(","))
}

/// Samples already in `text`: (family, labels) -> value. Lines it does not
/// understand are dropped (the file is ours).
fn read_samples(text: &str) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.find('{') {
            Some(at) => series.split_at(at),
            None => (series, ""),
        };
        let Some(family) = name.strip_suffix("_total") else {
            continue;
        };
        out.insert((family.to_string(), labels.to_string()), value);
    }
    out
}

fn render(samples: &BTreeMap<(String, String), f64>) -> String {
    let mut out = String::new();
    for (family, help) in FAMILIES {
        out.push_str(&format!(
            "# TYPE {family} counter\n# HELP {family} {help}\n"
        ));
        for ((f, labels), value) in samples {
            if f == family {
                out.push_str(&format!("{family}_total{labels} {value}\n"));
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// Adds one build of the Image `image` to the metrics file at `path`.
pub fn record(path: &Path, image: &str, figures: &BuildFigures) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut lock_name = path.as_os_str().to_owned();
    lock_name.push(".lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_name)?;
    lock.lock()?;
    let mut samples = match std::fs::read_to_string(path) {
        Ok(text) => read_samples(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e),
    };
    let image_only = labels(&[("image", image)]);
    let mut add = |family: &str, labels: String, value: f64| {
        *samples.entry((family.to_string(), labels)).or_insert(0.0) += value;
    };
    add("imagedeploy_builds", image_only.clone(), 1.0);
    for (result, count) in [
        ("cached", figures.steps_cached),
        ("rebuilt", figures.steps_rebuilt),
    ] {
        add(
            "imagedeploy_build_steps",
            labels(&[("image", image), ("result", result)]),
            count as f64,
        );
    }
    add(
        "imagedeploy_build_seconds",
        image_only.clone(),
        figures.build_seconds,
    );
    add(
        "imagedeploy_push_bytes",
        image_only.clone(),
        figures.push_bytes as f64,
    );
    add(
        "imagedeploy_cache_export_seconds",
        image_only,
        figures.cache_export_seconds,
    );
    let mut temp = tempfile::NamedTempFile::new_in(
        path.parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )?;
    temp.write_all(render(&samples).as_bytes())?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up_per_image_and_the_file_stays_one_exposition() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m/build.prom");
        let one = BuildFigures {
            steps_cached: 10,
            steps_rebuilt: 2,
            build_seconds: 1.5,
            push_bytes: 100,
            cache_export_seconds: 0.5,
        };
        record(&path, "app", &one).unwrap();
        record(&path, "app", &one).unwrap();
        record(&path, "we\"b", &BuildFigures::default()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("imagedeploy_builds_total{image=\"app\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("imagedeploy_build_steps_total{image=\"app\",result=\"cached\"} 20\n"),
            "{text}"
        );
        assert!(
            text.contains("imagedeploy_build_seconds_total{image=\"app\"} 3\n"),
            "{text}"
        );
        assert!(
            text.contains("imagedeploy_push_bytes_total{image=\"app\"} 200\n"),
            "{text}"
        );
        assert!(
            text.contains("imagedeploy_builds_total{image=\"we\\\"b\"} 1\n"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
        assert_eq!(text.matches("# TYPE imagedeploy_builds counter").count(), 1);
    }
}
