use std::collections::{BTreeMap, HashSet};

use imagedeploy_fingerprint::manifest::Instruction;
use imagedeploy_fingerprint::{FileEntry, Inputs, Manifest};
use imagedeploy_registry::layout::{Descriptor, ImageManifest, OCI_CONFIG, OCI_LAYER_GZIP};
use imagedeploy_registry::{Digest, ImageLayers};

use super::*;

fn manifest(dockerfile: &[&str], files: &[(&str, &str)]) -> Manifest {
    let instructions = dockerfile
        .iter()
        .enumerate()
        .map(|(i, text)| Instruction {
            line: i + 1,
            text: text.to_string(),
        })
        .collect();
    let files = files
        .iter()
        .map(|(path, content)| FileEntry {
            path: path.to_string(),
            sha256: content.to_string(),
            executable: false,
            kind: Default::default(),
            symlink: None,
        })
        .collect();
    Manifest::new(
        files,
        Inputs {
            format: 1,
            dockerfile: None,
            ignore_file: None,
            instructions,
            build_args: BTreeMap::new(),
            unused_build_args: Vec::new(),
            target: "0".into(),
            platforms: Vec::new(),
            builder_platform: None,
            named_contexts: BTreeMap::new(),
            base_images: Vec::new(),
        },
        Vec::new(),
    )
}

/// An image: one base layer, then one layer per `(created_by, content)`.
fn image(steps: &[(&str, &str)]) -> ImageLayers {
    let mut history =
        vec![serde_json::json!({"created_by": "/bin/sh -c #(nop) ADD file:base in /"})];
    let mut diff_ids = vec![Digest::sha256_of(b"base")];
    let mut layers = vec![Descriptor {
        media_type: OCI_LAYER_GZIP.into(),
        digest: Digest::sha256_of(b"gz-base"),
        size: 1_000_000,
    }];
    for (created_by, content) in steps {
        history.push(serde_json::json!({"created_by": created_by}));
        diff_ids.push(Digest::sha256_of(content.as_bytes()));
        layers.push(Descriptor {
            media_type: OCI_LAYER_GZIP.into(),
            digest: Digest::sha256_of(format!("gz-{content}").as_bytes()),
            size: 1000 * content.len() as u64,
        });
    }
    let config =
        serde_json::json!({"rootfs": {"type": "layers", "diff_ids": diff_ids}, "history": history});
    let manifest = ImageManifest {
        media_type: None,
        config: Descriptor {
            media_type: OCI_CONFIG.into(),
            digest: Digest::sha256_of(b"config"),
            size: 500,
        },
        layers,
    };
    ImageLayers::read(&manifest, 400, config.to_string().as_bytes())
}

const BAD: &[&str] = &["FROM base:1", "COPY . /app", "RUN npm ci", "CMD [\"node\"]"];
const GOOD: &[&str] = &[
    "FROM base:1",
    "COPY package.json /app/",
    "RUN npm ci",
    "COPY . /app",
    "CMD [\"node\"]",
];

fn bad_image(src: &str) -> ImageLayers {
    image(&[
        ("/bin/sh -c #(nop) COPY dir:x in /app", src),
        ("/bin/sh -c npm ci", "deps"),
    ])
}

fn good_image(src: &str) -> ImageLayers {
    image(&[
        ("/bin/sh -c #(nop) COPY file:p in /app/", "pkg"),
        ("/bin/sh -c npm ci", "deps"),
        ("/bin/sh -c #(nop) COPY dir:x in /app", src),
    ])
}

fn with_cmd(mut layers: ImageLayers) -> ImageLayers {
    layers.history.push(imagedeploy_registry::HistoryEntry {
        created_by: "/bin/sh -c #(nop) CMD [\"node\"]".into(),
        empty_layer: true,
    });
    layers
}

#[test]
fn layers_name_their_dockerfile_lines_and_sizes() {
    let m = manifest(BAD, &[("package.json", "p1"), ("src/a.js", "a1")]);
    let report = report(&with_cmd(bad_image("src-1")), &[10, 20, 30], &m, None, None);
    assert_eq!(report.layers.len(), 3);
    assert_eq!(report.layers[0].instruction, None);
    assert_eq!(report.layers[1].instruction.as_deref(), Some("COPY . /app"));
    assert_eq!(report.layers[1].line, Some(2));
    assert_eq!(report.layers[2].instruction.as_deref(), Some("RUN npm ci"));
    assert_eq!(report.layers[2].stage.as_deref(), Some("0"));
    assert_eq!(report.uncompressed_bytes, 60);
    assert_eq!(report.size_bytes, 1_000_000 + 5000 + 4000 + 500 + 400);
    assert!(report.layers.iter().all(|l| l.new));
    assert!(report.delta.is_none());
    assert_eq!(
        report.summary(),
        "1.0 MB compressed in 3 layers (60 B uncompressed); 3 new (1.0 MB)"
    );
}

#[test]
fn bad_order_source_edit_cascades_into_the_install_and_says_how_to_fix_it() {
    let old_m = manifest(BAD, &[("package.json", "p1"), ("src/a.js", "a1")]);
    let new_m = manifest(BAD, &[("package.json", "p1"), ("src/a.js", "a2")]);
    let old = report(&with_cmd(bad_image("src-1")), &[], &old_m, None, None);
    // The registry has the previous image's blobs.
    let registry: HashSet<Digest> = old
        .layers
        .iter()
        .map(|l| Digest::parse(&l.digest).unwrap())
        .collect();
    let new = report(
        &with_cmd(bad_image("src-22")),
        &[],
        &new_m,
        Some(&registry),
        Some(&Previous {
            layers: &old.layers,
            manifest: Some(&old_m),
        }),
    );
    let delta = new.delta.as_ref().expect("delta");
    assert_eq!(delta.new_layers, 1);
    assert_eq!(delta.new_bytes, 6000);
    assert_eq!(delta.reused_bytes, 1_000_000 + 4000);
    assert_eq!(
        delta.first_change.as_deref(),
        Some("COPY . /app (Dockerfile line 2)")
    );
    assert_eq!(delta.cascade.len(), 1);
    assert_eq!(delta.cascade[0].instruction, "RUN npm ci");
    assert_eq!(delta.advice.len(), 1);
    let advice = delta.advice[0].to_string();
    assert!(advice.starts_with("RUN npm ci (Dockerfile line 3) ran again only because COPY . /app (Dockerfile line 2) changed"), "{advice}");
    assert!(advice.contains("(package.json)"), "{advice}");
    assert!(
        new.summary()
            .ends_with("1 new (6.0 kB); first change: COPY . /app (Dockerfile line 2)"),
        "{}",
        new.summary()
    );
}

#[test]
fn bad_order_with_a_changed_dependency_manifest_gives_no_advice() {
    let old_m = manifest(BAD, &[("package.json", "p1"), ("src/a.js", "a1")]);
    let new_m = manifest(BAD, &[("package.json", "p2"), ("src/a.js", "a1")]);
    let old = report(&with_cmd(bad_image("src-1")), &[], &old_m, None, None);
    let new = report(
        &with_cmd(bad_image("src-2")),
        &[],
        &new_m,
        None,
        Some(&Previous {
            layers: &old.layers,
            manifest: Some(&old_m),
        }),
    );
    let delta = new.delta.expect("delta");
    assert_eq!(delta.cascade.len(), 1, "the install still ran again");
    assert!(delta.advice.is_empty());
}

#[test]
fn good_order_source_edit_reuses_the_install() {
    let old_m = manifest(GOOD, &[("package.json", "p1"), ("src/a.js", "a1")]);
    let new_m = manifest(GOOD, &[("package.json", "p1"), ("src/a.js", "a2")]);
    let old = report(&with_cmd(good_image("src-1")), &[], &old_m, None, None);
    let new = report(
        &with_cmd(good_image("src-2")),
        &[],
        &new_m,
        None,
        Some(&Previous {
            layers: &old.layers,
            manifest: Some(&old_m),
        }),
    );
    let delta = new.delta.expect("delta");
    assert_eq!(
        delta.first_change.as_deref(),
        Some("COPY . /app (Dockerfile line 4)")
    );
    assert!(delta.cascade.is_empty());
    assert!(delta.advice.is_empty());
    assert_eq!(delta.new_layers, 1);
}

#[test]
fn same_layers_say_so() {
    let m = manifest(GOOD, &[("package.json", "p1")]);
    let old = report(&good_image("s"), &[], &m, None, None);
    let new = report(
        &good_image("s"),
        &[],
        &m,
        None,
        Some(&Previous {
            layers: &old.layers,
            manifest: None,
        }),
    );
    assert!(new.layers.iter().all(|l| !l.new));
    assert!(
        new.summary().ends_with("0 new (0 B); no layer changed"),
        "{}",
        new.summary()
    );
}

#[test]
fn human_bytes_uses_decimal_units() {
    assert_eq!(human_bytes(999), "999 B");
    assert_eq!(human_bytes(412_300_000), "412.3 MB");
    assert_eq!(human_bytes(14_200_000), "14.2 MB");
    assert_eq!(human_bytes(1_800_000_000), "1.8 GB");
}

#[test]
fn budget_names_each_limit_exceeded() {
    let m = manifest(BAD, &[]);
    let report = report(&with_cmd(bad_image("src")), &[], &m, None, None);
    let total = report.size_bytes;
    let none = Budget {
        max_bytes: Some(total),
        max_new_bytes: Some(total),
    };
    assert!(none.exceeded(&report).is_empty());
    let both = Budget {
        max_bytes: Some(total - 1),
        max_new_bytes: Some(1000),
    };
    let exceeded = both.exceeded(&report);
    assert_eq!(exceeded.len(), 2, "{exceeded:?}");
    assert!(exceeded[0].contains("over maxBytes"));
    assert!(exceeded[1].contains("over maxNewBytes"));
}

#[test]
fn estimate_names_where_the_cache_stops_and_advises_only_for_a_bad_order() {
    let old = manifest(BAD, &[("package.json", "p1"), ("src/a.js", "a1")]);
    let new = manifest(BAD, &[("package.json", "p1"), ("src/a.js", "a2")]);
    let bad = estimate(&old, &new);
    assert_eq!(bad.first.as_ref().map(|s| s.line), Some(Some(2)));
    assert_eq!(bad.rebuilt.len(), 3, "COPY, RUN, CMD: {:?}", bad.rebuilt);
    assert_eq!(bad.advice.len(), 1);
    assert_eq!(bad.advice[0].step.instruction, "RUN npm ci");

    let old = manifest(GOOD, &[("package.json", "p1"), ("src/a.js", "a1")]);
    let new = manifest(GOOD, &[("package.json", "p1"), ("src/a.js", "a2")]);
    let good = estimate(&old, &new);
    assert_eq!(good.first.as_ref().map(|s| s.line), Some(Some(4)));
    assert!(good.advice.is_empty());
    assert!(estimate(&old, &old).first.is_none());
}
