//! The content digest over layouts made in the test.

mod common;

use common::{make_layout, TestFile};
use imagedeploy_registry::content_digest;

fn layout(
    files: &[TestFile<'_>],
    env: &[&str],
    mtime: u64,
    created: &str,
) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = make_layout(dir.path(), files, env, mtime, created);
    let content = content_digest(dir.path()).expect("content digest");
    assert_eq!(content.layers, 1);
    assert_eq!(content.platform, "linux/amd64");
    assert!(content.size_bytes > 0);
    (
        dir,
        manifest.to_string(),
        content.content_digest.to_string(),
    )
}

fn file<'a>(content: &'a [u8], mode: u32) -> TestFile<'a> {
    TestFile {
        path: "app/run",
        content,
        mode,
    }
}

#[test]
fn timestamps_do_not_change_content_but_files_modes_and_env_do() {
    let (_a, manifest_a, content_a) =
        layout(&[file(b"v1", 0o755)], &["A=1"], 1, "2020-01-01T00:00:00Z");
    let (_b, manifest_b, content_b) = layout(
        &[file(b"v1", 0o755)],
        &["A=1"],
        999_999,
        "2025-06-01T12:00:00Z",
    );
    assert_ne!(
        manifest_a, manifest_b,
        "timestamps must change the manifest digest"
    );
    assert_eq!(content_a, content_b, "but not the content digest");

    let (_c, _, content_c) = layout(&[file(b"v2", 0o755)], &["A=1"], 1, "2020-01-01T00:00:00Z");
    let (_d, _, content_d) = layout(&[file(b"v1", 0o644)], &["A=1"], 1, "2020-01-01T00:00:00Z");
    let (_e, _, content_e) = layout(&[file(b"v1", 0o755)], &["A=2"], 1, "2020-01-01T00:00:00Z");
    for (what, other) in [
        ("file bytes", &content_c),
        ("mode", &content_d),
        ("env", &content_e),
    ] {
        assert_ne!(&content_a, other, "{what} must change the content digest");
    }
}

/// zstd layers: a new manifest digest, the same content digest, the same
/// diff ids and uncompressed sizes.
#[test]
fn recompressing_with_zstd_keeps_the_content_digest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gzip_manifest = make_layout(
        dir.path(),
        &[file(&vec![7u8; 100_000], 0o644)],
        &["A=1"],
        1,
        "2020-01-01T00:00:00Z",
    );
    let before = content_digest(dir.path()).expect("gzip content");
    let zstd_manifest =
        imagedeploy_registry::layout::recompress_zstd(dir.path()).expect("recompress");
    assert_ne!(zstd_manifest, gzip_manifest);
    let layout = imagedeploy_registry::ImageLayout::open(dir.path()).expect("layout");
    assert_eq!(layout.manifest_digest(), &zstd_manifest);
    assert_eq!(
        layout.manifest().layers[0].media_type,
        imagedeploy_registry::layout::OCI_LAYER_ZSTD
    );
    let blob = layout
        .read_blob(&layout.manifest().layers[0].digest)
        .expect("zstd blob");
    assert_eq!(&blob[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
    assert!(blob.len() < 100_000, "compressed: {} bytes", blob.len());
    let after = content_digest(dir.path()).expect("zstd content");
    assert_eq!(after.content_digest, before.content_digest);
    assert_eq!(after.uncompressed_sizes, before.uncompressed_sizes);
}
