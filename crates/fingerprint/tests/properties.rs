//! Property tests: the fingerprint depends only on what the build sees, not
//! on where the context lives or on the stat cache; the ignore matcher never
//! panics and skips only directories that cannot hold visible files.

use imagedeploy_fingerprint::ignore::{MatchInfo, Matcher};
use imagedeploy_fingerprint::{fingerprint, CacheMode, DockerfileSource, Request};
use proptest::prelude::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[derive(Debug, Clone)]
struct FileSpec {
    path: String,
    content: Vec<u8>,
    executable: bool,
    symlink: Option<String>,
}

fn path_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", "c", "src", "lib", "x.md", "y.js"]),
        1..4,
    )
    .prop_map(|parts| parts.join("/"))
}

fn file_strategy() -> impl Strategy<Value = FileSpec> {
    (
        path_strategy(),
        prop::collection::vec(any::<u8>(), 0..64),
        any::<bool>(),
        prop::option::weighted(
            0.15,
            prop::sample::select(vec!["a", "../b", "/etc/hosts", "src/lib"]),
        ),
    )
        .prop_map(|(path, content, executable, symlink)| FileSpec {
            path,
            content,
            executable,
            symlink: symlink.map(str::to_string),
        })
}

const DOCKERFILES: &[&str] = &[
    "FROM scratch\nCOPY . /app\n",
    "FROM scratch\nCOPY a* /app/\nCOPY --exclude=**/*.md src* /src/\n",
    "FROM scratch AS one\nCOPY b* /b/\nFROM scratch\nCOPY --from=one /b /b\nCOPY */*.js /js/\n",
];

const IGNORES: &[&str] = &[
    "",
    "*.md\n",
    "a\n!a/b\n",
    "**/c\n",
    "src/**\n!src/lib\n",
    "*/\n!**/*.js\n",
];

fn write_tree(root: &Path, files: &[FileSpec], dockerfile: &str, ignore: &str) {
    for f in files {
        let path = root.join(&f.path);
        let Some(parent) = path.parent() else {
            continue;
        };
        if std::fs::create_dir_all(parent).is_err() || path.exists() || path.is_symlink() {
            continue;
        }
        match &f.symlink {
            Some(target) => {
                let _ = std::os::unix::fs::symlink(target, &path);
            }
            None => {
                if std::fs::write(&path, &f.content).is_ok() {
                    let mode = if f.executable { 0o755 } else { 0o644 };
                    let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
                }
            }
        }
    }
    std::fs::write(root.join("Dockerfile"), dockerfile).expect("Dockerfile");
    if !ignore.is_empty() {
        std::fs::write(root.join(".dockerignore"), ignore).expect(".dockerignore");
    }
}

/// Recursive copy keeping modes and symlinks (like `cp -a` without times).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let kind = entry.file_type().expect("type");
        let dest = to.join(entry.file_name());
        if kind.is_symlink() {
            let target = std::fs::read_link(entry.path()).expect("readlink");
            std::os::unix::fs::symlink(target, dest).expect("symlink");
        } else if kind.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).expect("copy");
        }
    }
}

fn request(root: &Path, cache: CacheMode) -> Request {
    let mut req = Request::new(root);
    req.dockerfile = DockerfileSource::Path(root.join("Dockerfile"));
    req.cache = cache;
    req
}

/// Fingerprint or the error text (errors must also agree).
fn outcome(root: &Path, cache: CacheMode) -> Result<String, String> {
    fingerprint(&request(root, cache))
        .map(|f| f.digest)
        .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn renaming_or_copying_the_context_never_changes_the_fingerprint(
        files in prop::collection::vec(file_strategy(), 1..24),
        dockerfile in prop::sample::select(DOCKERFILES),
        ignore in prop::sample::select(IGNORES),
    ) {
        let base = tempfile::tempdir().expect("tmp");
        let original = base.path().join("checkout");
        std::fs::create_dir(&original).expect("mkdir");
        write_tree(&original, &files, dockerfile, ignore);
        let before = outcome(&original, CacheMode::Disabled);

        let copied = base.path().join("elsewhere").join("deeper").join("copy");
        copy_tree(&original, &copied);
        let renamed = base.path().join("renamed");
        std::fs::rename(&original, &renamed).expect("rename");

        prop_assert_eq!(&before, &outcome(&renamed, CacheMode::Disabled));
        // Error texts name only context-relative paths, so they agree too.
        prop_assert_eq!(&before, &outcome(&copied, CacheMode::Disabled));
    }
}

#[derive(Debug, Clone)]
enum Edit {
    /// Same-size rewrite (the stat cache's hardest case).
    SameSize(usize),
    /// Same-size rewrite, then the old mtime put back.
    SameSizeOldMtime(usize),
    Chmod(usize),
    Delete(usize),
    Add(String),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0usize..64).prop_map(Edit::SameSize),
        (0usize..64).prop_map(Edit::SameSizeOldMtime),
        (0usize..64).prop_map(Edit::Chmod),
        (0usize..64).prop_map(Edit::Delete),
        path_strategy().prop_map(Edit::Add),
    ]
}

fn regular_files(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("entry");
            let kind = entry.file_type().expect("type");
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file()
                && entry.file_name() != "Dockerfile"
                && entry.file_name() != ".dockerignore"
            {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    out
}

fn apply(root: &Path, edit: &Edit) {
    let files = regular_files(root);
    let pick = |i: usize| files.get(i % files.len().max(1)).cloned();
    match edit {
        Edit::SameSize(i) | Edit::SameSizeOldMtime(i) => {
            let Some(path) = pick(*i) else { return };
            let meta = std::fs::metadata(&path).expect("meta");
            let mut content = std::fs::read(&path).expect("read");
            if content.is_empty() {
                content.push(b'!');
            } else {
                content[0] = content[0].wrapping_add(1);
            }
            std::fs::write(&path, &content).expect("write");
            if matches!(edit, Edit::SameSizeOldMtime(_)) {
                let file = std::fs::File::options()
                    .write(true)
                    .open(&path)
                    .expect("open");
                file.set_modified(meta.modified().expect("mtime"))
                    .expect("set mtime");
            }
        }
        Edit::Chmod(i) => {
            let Some(path) = pick(*i) else { return };
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode ^ 0o111))
                .expect("chmod");
        }
        Edit::Delete(i) => {
            if let Some(path) = pick(*i) {
                std::fs::remove_file(path).expect("rm");
            }
        }
        Edit::Add(rel) => {
            let path = root.join(rel);
            if let Some(parent) = path.parent() {
                if std::fs::create_dir_all(parent).is_ok() && !path.exists() {
                    let _ = std::fs::write(path, b"added");
                }
            }
        }
    }
}

proptest! {
    // Each case builds several trees, waits once until their timestamps are
    // old enough for the stat cache to trust, then edits some of them.
    #![proptest_config(ProptestConfig { cases: 3, max_shrink_iters: 16, ..ProptestConfig::default() })]

    #[test]
    fn warm_and_cold_fingerprints_are_always_equal(
        trees in prop::collection::vec(
            (
                prop::collection::vec(file_strategy(), 1..20),
                prop::sample::select(DOCKERFILES),
                prop::sample::select(IGNORES),
                prop::collection::vec(edit_strategy(), 0..4),
            ),
            6,
        ),
    ) {
        let base = tempfile::tempdir().expect("tmp");
        let cache = tempfile::tempdir().expect("cache");
        let cache_mode = CacheMode::Dir(cache.path().to_path_buf());
        let roots: Vec<_> = trees.iter().enumerate().map(|(i, (files, dockerfile, ignore, _))| {
            let root = base.path().join(format!("ctx{i}"));
            std::fs::create_dir(&root).expect("mkdir");
            write_tree(&root, files, dockerfile, ignore);
            root
        }).collect();
        std::thread::sleep(std::time::Duration::from_millis(2100));
        for (root, (_, _, _, edits)) in roots.iter().zip(&trees) {
            let cold_first = outcome(root, cache_mode.clone());
            if edits.is_empty() {
                if let Ok(warm) = fingerprint(&request(root, cache_mode.clone())) {
                    prop_assert_eq!(warm.stats.files_read, 0, "unchanged context must not be re-read");
                }
            }
            for edit in edits {
                apply(root, edit);
            }
            let warm = outcome(root, cache_mode.clone());
            let cold = outcome(root, CacheMode::Disabled);
            prop_assert_eq!(&warm, &cold);
            if edits.is_empty() {
                prop_assert_eq!(&cold_first, &cold);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, max_global_rejects: 200_000, ..ProptestConfig::default() })]

    #[test]
    fn matcher_never_panics(
        patterns in prop::collection::vec("[!*?\\[\\]\\\\/a-c^.\\- ]{0,10}", 0..6),
        path in "[a-c*?\\[\\]/.\\\\^\n-]{0,16}",
    ) {
        if let Ok(m) = Matcher::new(&patterns) {
            let _ = m.matches_or_parent_matches(&path);
            let (_, info) = m.matches_with_parent(&path, &MatchInfo::default());
            let _ = m.matches_with_parent(&format!("{path}/x"), &info);
            let _ = m.can_skip_matched_dir(&path, &info);
            let _ = m.could_match_under(&path, &info);
        }
        let _ = imagedeploy_fingerprint::ignore::compile(&patterns.join("\n"));
    }

    /// When the matcher says an ignored directory can be skipped, walking
    /// into it would indeed find nothing visible (checked on random paths
    /// below it), whenever our own rule (not Docker's prefix shortcut) is
    /// the one deciding.
    #[test]
    fn skipped_directories_hold_nothing_visible(
        patterns in prop::collection::vec(
            prop::sample::select(vec![
                "a", "b", "*", "a/*", "**/c", "!a/b", "!**/c", "!*/b*", "!a/?", "b/**", "!b/c/**", "[ab]", "!c*",
            ]),
            1..6,
        ),
        dir in prop::sample::select(vec!["a", "b", "c", "a/b", "b/c"]),
        below in prop::collection::vec(prop::sample::select(vec!["a", "b", "c", "bc", "x"]), 1..4),
    ) {
        let m = Matcher::new(&patterns).expect("valid");
        let has_wild_exception = patterns.iter().any(|p| p.starts_with('!') && {
            let body = p[1..].trim_end_matches("/**").trim_end_matches("/*");
            body.contains(['*', '?', '['])
        });
        prop_assume!(has_wild_exception);
        // Walk down to `dir`, as the context sender does.
        let mut info = MatchInfo::default();
        let mut prefix = String::new();
        let mut hit = false;
        for part in dir.split('/') {
            prefix = if prefix.is_empty() { part.to_string() } else { format!("{prefix}/{part}") };
            let (h, next) = m.matches_with_parent(&prefix, &info);
            hit = h;
            info = next;
        }
        prop_assume!(hit && m.can_skip_matched_dir(dir, &info));
        for part in &below {
            prefix = format!("{prefix}/{part}");
            let (h, next) = m.matches_with_parent(&prefix, &info);
            prop_assert!(h, "{prefix} is visible under skipped {dir} with {patterns:?}");
            info = next;
        }
    }
}
