//! The staged build context: exactly the fingerprinted entries, normalised,
//! and checked against their hashes while they are copied.

mod common;

use common::Context;
use imagedeploy_fingerprint::stage::{stage, stage_incremental, StageError, MTIME};
use imagedeploy_fingerprint::{fingerprint, DockerfileSource};
use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Every entry under `root`: path -> (kind, mode, mtime, link target or content).
fn listing(root: &Path) -> BTreeMap<String, (char, u32, i64, String)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let entry = entry.expect("entry");
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let mode = meta.permissions().mode() & 0o7777;
            let (kind, detail) = if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).expect("readlink");
                ('l', target.to_string_lossy().into_owned())
            } else if meta.is_dir() {
                stack.push(path.clone());
                ('d', String::new())
            } else {
                ('f', std::fs::read_to_string(&path).expect("read"))
            };
            out.insert(rel, (kind, mode, meta.mtime(), detail));
        }
    }
    out
}

const DOCKERFILE: &str = "\
FROM scratch
COPY app/ /app/
COPY --exclude=*.log logs /logs
COPY linked /linked
COPY --parents pkg/./**/*.txt /pkgs/
RUN --mount=type=bind,source=tools,target=/t true
";

fn context() -> Context {
    let ctx = Context::new(&[
        ("Dockerfile", DOCKERFILE),
        (".dockerignore", "app/secret.txt\n"),
        ("app/main.sh", "#!/bin/sh\necho hi\n"),
        ("app/lib/util.txt", "util\n"),
        ("app/secret.txt", "not for the image\n"),
        ("logs/keep.txt", "keep\n"),
        ("logs/drop.log", "drop\n"),
        ("real/target.txt", "target\n"),
        ("tools/run.sh", "run\n"),
        ("README.md", "not copied\n"),
        ("pkg/a/one.txt", "one\n"),
        ("pkg/a/one.md", "not matched\n"),
        ("pkg/b/c/two.txt", "two\n"),
    ]);
    ctx.chmod("app/main.sh", 0o700);
    ctx.chmod("app/lib/util.txt", 0o600);
    ctx.chmod("tools/run.sh", 0o775);
    ctx.symlink("lib/util.txt", "app/util-link");
    ctx.symlink("real/target.txt", "linked");
    ctx.mkdir("app/empty");
    ctx
}

#[test]
fn stages_exactly_the_fingerprinted_entries_normalised() {
    let ctx = context();
    let fp = fingerprint(&ctx.request()).expect("fingerprint");
    let out = tempfile::tempdir().expect("tmp");
    let dest = out.path().join("context");
    let staged = stage(&fp, &dest).expect("stage");
    assert_eq!(staged.files, 7);
    assert_eq!(staged.symlinks, 1);

    let got = listing(&dest);
    let t = MTIME as i64;
    let expect: BTreeMap<String, (char, u32, i64, String)> = [
        ("app", ('d', 0o755, t, "")),
        ("app/empty", ('d', 0o755, t, "")),
        ("app/lib", ('d', 0o755, t, "")),
        ("app/lib/util.txt", ('f', 0o644, t, "util\n")),
        ("app/main.sh", ('f', 0o755, t, "#!/bin/sh\necho hi\n")),
        ("app/util-link", ('l', 0o777, t, "lib/util.txt")),
        ("linked", ('f', 0o644, t, "target\n")),
        ("logs", ('d', 0o755, t, "")),
        ("pkg", ('d', 0o755, t, "")),
        ("pkg/a", ('d', 0o755, t, "")),
        ("pkg/a/one.txt", ('f', 0o644, t, "one\n")),
        ("pkg/b", ('d', 0o755, t, "")),
        ("pkg/b/c", ('d', 0o755, t, "")),
        ("pkg/b/c/two.txt", ('f', 0o644, t, "two\n")),
        ("logs/keep.txt", ('f', 0o644, t, "keep\n")),
        ("tools", ('d', 0o755, t, "")),
        ("tools/run.sh", ('f', 0o755, t, "run\n")),
    ]
    .into_iter()
    .map(|(p, (k, m, t, d))| (p.to_string(), (k, m, t, d.to_string())))
    .collect();
    assert_eq!(got, expect);
    let root = std::fs::metadata(&dest).expect("stat");
    assert_eq!(root.permissions().mode() & 0o7777, 0o755);
    assert_eq!(root.mtime(), t);
    if root.uid() == 0 {
        for rel in got.keys() {
            let meta = std::fs::symlink_metadata(dest.join(rel)).expect("lstat");
            assert_eq!((meta.uid(), meta.gid()), (0, 0), "{rel}");
        }
    }
}

#[test]
fn a_file_changed_after_fingerprinting_is_an_error_naming_it() {
    let ctx = context();
    let fp = fingerprint(&ctx.request()).expect("fingerprint");
    ctx.append("app/lib/util.txt", "edited by a code generator\n");
    let out = tempfile::tempdir().expect("tmp");
    let error = stage(&fp, &out.path().join("context")).expect_err("must not stage");
    assert!(
        matches!(&error, StageError::Changed { path, .. } if path == "app/lib/util.txt"),
        "{error:?}"
    );
    assert!(error
        .to_string()
        .contains("app/lib/util.txt changed after it was fingerprinted"));

    let fp = fingerprint(&ctx.request()).expect("fingerprint");
    ctx.remove("logs/keep.txt");
    let error = stage(&fp, &out.path().join("again")).expect_err("must not stage");
    assert!(
        matches!(&error, StageError::Removed { path } if path == "logs/keep.txt"),
        "{error:?}"
    );

    let fp = fingerprint(&ctx.request()).expect("fingerprint");
    ctx.symlink("main.sh", "app/util-link");
    let error = stage(&fp, &out.path().join("third")).expect_err("must not stage");
    assert!(
        matches!(&error, StageError::Changed { path, .. } if path == "app/util-link"),
        "{error:?}"
    );
}

#[test]
fn a_new_file_after_fingerprinting_is_not_staged() {
    let ctx = context();
    let fp = fingerprint(&ctx.request()).expect("fingerprint");
    ctx.write("app/late.txt", "written after the fingerprint\n");
    let out = tempfile::tempdir().expect("tmp");
    let dest = out.path().join("context");
    stage(&fp, &dest).expect("stage");
    assert!(!dest.join("app/late.txt").exists());
}

#[test]
fn automatic_platform_args_have_the_builders_values() {
    let ctx = Context::new(&[
        ("app-linux-amd64", "x86 binary\n"),
        ("app-linux-arm64", "arm binary\n"),
    ]);
    let df = "FROM scratch\nARG TARGETARCH\nCOPY app-linux-$TARGETARCH /app\n";
    let request = |builder: Option<&str>, platforms: &[&str]| {
        let mut req = ctx.request();
        req.dockerfile = DockerfileSource::Inline(df.to_string());
        req.builder_platform = builder.map(str::to_string);
        req.platforms = platforms.iter().map(|p| p.to_string()).collect();
        fingerprint(&req).expect("the automatic arg names an existing file")
    };
    let files = |fp: &imagedeploy_fingerprint::Fingerprint| {
        fp.manifest
            .files
            .iter()
            .map(|f| f.path.clone())
            .collect::<Vec<_>>()
    };
    let amd = request(Some("linux/amd64"), &[]);
    assert_eq!(files(&amd), ["app-linux-amd64"]);
    assert_eq!(
        amd.manifest.inputs.builder_platform.as_deref(),
        Some("linux/amd64")
    );
    let arm = request(Some("linux/arm64"), &[]);
    assert_eq!(files(&arm), ["app-linux-arm64"]);
    assert_ne!(amd.digest, arm.digest);
    // `platforms` wins over the builder's own for TARGET*.
    let cross = request(Some("linux/amd64"), &["linux/arm64"]);
    assert_eq!(files(&cross), ["app-linux-arm64"]);
    // No builder named: this machine's platform.
    let host = request(None, &[]);
    let host_arch = imagedeploy_fingerprint::dockerfile::host_platform();
    assert_eq!(
        host.manifest.inputs.builder_platform.as_deref(),
        Some(host_arch.as_str())
    );

    // In FROM lines: `--platform=$BUILDPLATFORM`, and a stage named by them.
    let df = "FROM --platform=$BUILDPLATFORM scratch AS build-linux\nCOPY app-linux-amd64 /x\nFROM build-$TARGETOS\n";
    let mut req = ctx.request();
    req.dockerfile = DockerfileSource::Inline(df.to_string());
    req.builder_platform = Some("linux/amd64".into());
    let fp = fingerprint(&req).expect("stage name from TARGETOS resolves");
    assert_eq!(files(&fp), ["app-linux-amd64"]);

    // A Dockerfile that cannot see the platform does not depend on it.
    let plain = "FROM scratch\nCOPY app-linux-amd64 /app\n";
    let digest = |builder: &str| {
        let mut req = ctx.request();
        req.dockerfile = DockerfileSource::Inline(plain.to_string());
        req.builder_platform = Some(builder.to_string());
        let fp = fingerprint(&req).expect("fp");
        assert_eq!(fp.manifest.inputs.builder_platform, None);
        fp.digest
    };
    assert_eq!(digest("linux/amd64"), digest("linux/arm64"));
}

#[test]
fn a_kept_snapshot_copies_only_what_changed_and_equals_a_fresh_one() {
    let ctx = context();
    let keep = tempfile::tempdir().expect("tmp");
    let fresh_root = tempfile::tempdir().expect("tmp");
    let fresh = |name: &str, fp: &imagedeploy_fingerprint::Fingerprint| {
        let dest = fresh_root.path().join(name);
        stage(fp, &dest).expect("stage");
        listing(&dest)
    };

    let fp = fingerprint(&ctx.request()).expect("fingerprint");
    let first = stage_incremental(&fp, keep.path()).expect("first");
    assert_eq!(first.copied, 8);
    assert_eq!(listing(&first.tree), fresh("a", &fp));
    drop(first);

    let again = stage_incremental(&fp, keep.path()).expect("again");
    assert_eq!(again.copied, 0, "nothing changed, nothing copied");
    assert_eq!(listing(&again.tree), fresh("b", &fp));
    drop(again);

    // One edit, one removal, one chmod the fingerprint ignores.
    ctx.append("app/lib/util.txt", "more\n");
    ctx.remove("logs/keep.txt");
    ctx.chmod("tools/run.sh", 0o700);
    let fp = fingerprint(&ctx.request()).expect("fingerprint");
    let edited = stage_incremental(&fp, keep.path()).expect("edited");
    assert_eq!(edited.copied, 1);
    assert_eq!(listing(&edited.tree), fresh("c", &fp));
    let tree = edited.tree.clone();
    drop(edited);

    // Whatever else touches the kept tree is undone.
    std::fs::write(tree.join("app/main.sh"), "tampered\n").expect("tamper");
    std::fs::write(tree.join("stray.txt"), "stray\n").expect("stray");
    std::fs::set_permissions(
        tree.join("app/lib/util.txt"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let repaired = stage_incremental(&fp, keep.path()).expect("repaired");
    assert_eq!(repaired.copied, 2);
    assert_eq!(listing(&repaired.tree), fresh("d", &fp));
    drop(repaired);

    // A file changed after fingerprinting is still caught.
    ctx.append("app/main.sh", "echo late\n");
    let fp_old = fp;
    let fp_new = fingerprint(&ctx.request()).expect("fingerprint");
    ctx.append("app/main.sh", "echo later still\n");
    let error = stage_incremental(&fp_new, keep.path()).expect_err("changed in between");
    assert!(
        matches!(&error, StageError::Changed { path, .. } if path == "app/main.sh"),
        "{error:?}"
    );
    // ... and the failed run leaves nothing half-trusted behind.
    drop(fp_old);
    let fp = fingerprint(&ctx.request()).expect("fingerprint");
    let after = stage_incremental(&fp, keep.path()).expect("after a failure");
    assert_eq!(listing(&after.tree), fresh("e", &fp));
}
