//! Benchmark (ignored; `scripts/bench-size` runs it in release): what the
//! size report adds to a build of a 20-layer image. Measured per run: open
//! the built layout, read the layer facts from its manifest and config, ask
//! a real registry which of the 20 blobs it has (HEAD requests), map the
//! history to the Dockerfile, compute the delta and cascade against the
//! previous image, and write the summary. The uncompressed sizes are counted
//! in the content digest's own pass over the layers (no extra read), so they
//! add nothing here. Also measured: the Service's `pullBytes` read of the
//! pushed image (manifest and config only).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use imagedeploy_build::report::{report, Previous};
use imagedeploy_fingerprint::manifest::Instruction;
use imagedeploy_fingerprint::{FileEntry, Inputs, Manifest};
use imagedeploy_registry::layout::{Descriptor, LayoutWriter, OCI_CONFIG};
use imagedeploy_registry::{
    ClientOptions, Digest, DockerConfig, ImageLayout, Reference, RegistryClient,
};
use imagedeploy_testsupport::Registry;

const LAYERS: usize = 20;
const LAYER_BYTES: usize = 256 * 1024;
const RUNS: usize = 50;

/// The Dockerfile: FROM, then 19 steps alternating COPY and RUN.
fn dockerfile() -> Vec<String> {
    let mut lines = vec!["FROM base:1".to_string()];
    for i in 1..LAYERS {
        lines.push(if i % 2 == 1 {
            format!("COPY part{i}/ /app/part{i}/")
        } else {
            format!("RUN build-step {i}")
        });
    }
    lines
}

fn manifest(seed: &str) -> Manifest {
    let instructions = dockerfile()
        .into_iter()
        .enumerate()
        .map(|(i, text)| Instruction { line: i + 1, text })
        .collect();
    let files = (1..LAYERS)
        .map(|i| FileEntry {
            path: format!("part{i}/file"),
            sha256: format!("{seed}{i}"),
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

/// A 20-layer layout; layers from `changed_from` on differ by `seed`.
fn layout(dir: &Path, changed_from: usize, seed: u8) {
    let writer = LayoutWriter::create(dir).expect("layout");
    let mut layers: Vec<Descriptor> = Vec::new();
    let mut diff_ids = Vec::new();
    let mut history = Vec::new();
    for i in 0..LAYERS {
        let salt = if i >= changed_from { seed } else { 0 };
        let mut tar_bytes = Vec::new();
        {
            let mut builder = tar::Builder::new(&mut tar_bytes);
            let content: Vec<u8> = (0..LAYER_BYTES)
                .map(|n| ((n * 31 + i * 7) % 251) as u8 ^ salt)
                .collect();
            let mut header = tar::Header::new_gnu();
            header.set_mode(0o644);
            header.set_size(content.len() as u64);
            builder
                .append_data(&mut header, format!("part{i}/file"), content.as_slice())
                .expect("tar entry");
            builder.finish().expect("tar");
        }
        diff_ids.push(Digest::sha256_of(&tar_bytes));
        layers.push(
            writer
                .add_gzip_layer(&mut tar_bytes.as_slice())
                .expect("layer"),
        );
        let line = &dockerfile()[i];
        history.push(serde_json::json!({
            "created_by": if i == 0 { "/bin/sh -c #(nop) ADD file:base in /".to_string() }
                else if line.starts_with("RUN") { format!("/bin/sh -c {}", &line[4..]) }
                else { format!("/bin/sh -c #(nop) {line}") }
        }));
    }
    let config = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    });
    let config = writer
        .add_blob(OCI_CONFIG, config.to_string().as_bytes())
        .expect("config");
    writer.finish(&config, &layers).expect("manifest");
}

fn stats(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.2} ms, min {:.2} ms, max {:.2} ms ({} runs)",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    )
}

#[tokio::test]
#[ignore = "benchmark: scripts/bench-size"]
async fn size_report_cost_for_a_20_layer_image() {
    let registry = Registry::start().expect("docker-registry is needed");
    let client = RegistryClient::new(ClientOptions {
        docker_config: DockerConfig::Disabled,
        ..ClientOptions::default()
    })
    .expect("client");
    let tag = Reference::parse(&format!("{}/bench:latest", registry.address())).expect("tag");
    let scratch = tempfile::tempdir().expect("tempdir");
    let (old_dir, new_dir) = (scratch.path().join("old"), scratch.path().join("new"));
    layout(&old_dir, LAYERS, 0);
    // The previous image is in the registry; the new build changes from
    // layer 15 on (5 new layers).
    client
        .push_layout(&old_dir, std::slice::from_ref(&tag))
        .await
        .expect("push the previous image");
    layout(&new_dir, 15, 0x5a);
    let (old_m, new_m) = (manifest("a"), manifest("b"));
    let old_facts = ImageLayout::open(&old_dir).unwrap().layers().unwrap();
    let old_report = report(&old_facts, &[], &old_m, None, None);

    let mut samples = Vec::new();
    let mut summary = String::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let layout = ImageLayout::open(&new_dir).expect("layout");
        let facts = layout.layers().expect("facts");
        let digests: Vec<Digest> = facts.layers.iter().map(|l| l.digest.clone()).collect();
        let missing = client.missing_blobs(&tag, &digests).await.expect("HEAD");
        let present = digests
            .into_iter()
            .filter(|d| !missing.contains(d))
            .collect();
        let r = report(
            &facts,
            &[],
            &new_m,
            Some(&present),
            Some(&Previous {
                layers: &old_report.layers,
                manifest: Some(&old_m),
            }),
        );
        summary = r.summary();
        samples.push(started.elapsed());
        assert_eq!(r.layers.iter().filter(|l| l.new).count(), 5);
    }
    println!("BENCH size report, {LAYERS} layers (layout + facts + {LAYERS} HEADs + mapping + delta): {}", stats(samples));
    println!("BENCH summary: {summary}");

    // The same without the registry: what the report costs on this machine.
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let facts = ImageLayout::open(&new_dir).unwrap().layers().unwrap();
        let r = report(
            &facts,
            &[],
            &new_m,
            None,
            Some(&Previous {
                layers: &old_report.layers,
                manifest: Some(&old_m),
            }),
        );
        let _ = r.summary();
        samples.push(started.elapsed());
    }
    println!(
        "BENCH of which local (layout + facts + mapping + delta, no registry): {}",
        stats(samples)
    );

    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let layers = client
            .image_layers(&tag, "linux/amd64")
            .await
            .expect("read")
            .expect("image");
        samples.push(started.elapsed());
        assert_eq!(layers.layers.len(), LAYERS);
    }
    println!(
        "BENCH pullBytes read (manifest + config GET): {}",
        stats(samples)
    );
}
