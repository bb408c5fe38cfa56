//! What the build sees, put where `pulumi preview --diff` can print it.
//!
//! The CLI renders each detailed-diff key by looking its path up in the old
//! and new inputs (the engine's `TranslateDetailedDiff`); a key that names
//! nothing there prints nothing, and one whose old value is missing prints as
//! an addition. So Check records, in the checked inputs, the things Diff talks
//! about, keyed the way Diff names them:
//!
//! - `context.files["src/app.ts"]`: a short content hash per file the build
//!   reads (`sha256:0123456789ab`, plus `(executable)`, or `-> target` for a
//!   symlink), for contexts of up to [`MAX_FILES`] files, and, when more
//!   files changed than get keys of their own, `context.moreChangedFiles`
//!   with their count;
//! - `dockerfile.instructions`: the instructions that count, one per line, so
//!   the CLI prints a line diff of the Dockerfile;
//! - `dockerfile.from["node:20"]`: the digest each `FROM` resolved to.
//!
//! Each sits under the input it belongs to, so `ignoreChanges` on `context`
//! hides file edits and not Dockerfile edits, as before. The engine keeps
//! checked inputs in the state, so the next preview finds the old values
//! there. The program never sets these; Check clears and records them.

use std::collections::BTreeMap;

use imagedeploy_fingerprint::{EntryType, FileEntry, Manifest};
use serde::{Deserialize, Serialize};

use super::args::{Dockerfile, ImageArgs};

/// Contexts with more files than this record no `files` map (the state
/// would grow with every file); their file changes are still keys and
/// reasons, only without old and new values.
pub const MAX_FILES: usize = 2000;

/// Of the changed files, at most this many become detailed-diff keys; the
/// rest are counted in `context.moreChangedFiles`.
pub const MAX_FILE_KEYS: usize = 50;

/// Of the changed files, at most this many are named in the engine log; the
/// rest are counted in one line.
pub const MAX_FILE_REASONS: usize = 200;

/// Recorded in the checked `context`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextShown {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<BTreeMap<String, String>>,
    /// When more files changed than get keys of their own: how many more,
    /// as a sentence, so the diff itself gives the count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub more_changed_files: Option<String>,
}

/// Recorded in the checked `dockerfile`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DockerfileShown {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<BTreeMap<String, String>>,
}

/// Drops what an earlier Check recorded (the engine copies old inputs back
/// for `ignoreChanges` paths), and with it a `dockerfile` object that names
/// neither a location nor inline text: the default Dockerfile.
pub fn clear(args: &mut ImageArgs) {
    // (`ContextShown::default()` also drops `moreChangedFiles`.)
    args.context.shown = ContextShown::default();
    if let Some(d) = &mut args.dockerfile {
        d.shown = DockerfileShown::default();
        if d.location.is_none() && d.inline.is_none() {
            args.dockerfile = None;
        }
    }
}

/// Records one observation in `args`; `olds` are the inputs the last Check
/// recorded, against which the changed files are counted.
pub fn record(
    args: &mut ImageArgs,
    olds: Option<&ImageArgs>,
    manifest: &Manifest,
    base_image_digests: &BTreeMap<String, String>,
) {
    let files: Option<BTreeMap<String, String>> = (manifest.files.len() <= MAX_FILES).then(|| {
        manifest
            .files
            .iter()
            .map(|f| (f.path.trim_end_matches('/').to_string(), entry(f)))
            .collect()
    });
    let old_files = olds.and_then(|o| o.context.shown.files.as_ref());
    args.context.shown.more_changed_files = match (old_files, &files) {
        (Some(old), Some(new)) => {
            let changed = changed_entries(old, new);
            (changed > MAX_FILE_KEYS)
                .then(|| format!("{} more changed files", changed - MAX_FILE_KEYS))
        }
        _ => None,
    };
    args.context.shown.files = files;
    let instructions = manifest
        .inputs
        .instructions
        .iter()
        .map(|i| i.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let dockerfile = args.dockerfile.get_or_insert_with(|| Dockerfile {
        location: None,
        inline: None,
        shown: DockerfileShown::default(),
    });
    dockerfile.shown = DockerfileShown {
        instructions: Some(instructions),
        from: Some(base_image_digests.clone()),
    };
}

/// Paths added, removed or changed between two file maps.
fn changed_entries(old: &BTreeMap<String, String>, new: &BTreeMap<String, String>) -> usize {
    let changed_or_added = new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).count();
    let removed = old.keys().filter(|k| !new.contains_key(*k)).count();
    changed_or_added + removed
}

fn entry(f: &FileEntry) -> String {
    match f.kind {
        EntryType::Symlink => format!("-> {}", f.symlink.as_deref().unwrap_or("")),
        EntryType::Dir => "directory".to_string(),
        EntryType::Other => "special file".to_string(),
        EntryType::File => {
            let hash = format!("sha256:{}", &f.sha256[..f.sha256.len().min(12)]);
            if f.executable {
                format!("{hash} (executable)")
            } else {
                hash
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::image::args::BuildContext;

    fn manifest(files: Vec<FileEntry>) -> Manifest {
        let inputs = serde_json::from_value(serde_json::json!({
            "format": 1, "instructions": [{"line": 1, "text": "FROM a"}, {"line": 3, "text": "COPY . /"}],
            "buildArgs": {}, "target": "", "platforms": [], "baseImages": ["a"]
        }))
        .unwrap();
        Manifest::new(files, inputs, Vec::new())
    }

    fn file(path: &str, sha: &str, executable: bool) -> FileEntry {
        FileEntry {
            path: path.into(),
            sha256: sha.into(),
            executable,
            kind: EntryType::File,
            symlink: None,
        }
    }

    fn args() -> ImageArgs {
        serde_json::from_value(serde_json::json!({"context": {"location": "/app"}})).unwrap()
    }

    fn recorded(m: &Manifest) -> ImageArgs {
        let mut a = args();
        let from = BTreeMap::from([("a".to_string(), "sha256:1".to_string())]);
        record(&mut a, None, m, &from);
        a
    }

    #[test]
    fn files_show_a_short_hash_and_the_executable_bit() {
        let m = manifest(vec![
            file("src/app.ts", &"ab".repeat(32), false),
            file("run.sh", &"cd".repeat(32), true),
            FileEntry {
                path: "lib".into(),
                sha256: "00".repeat(32),
                executable: false,
                kind: EntryType::Symlink,
                symlink: Some("../shared".into()),
            },
        ]);
        let files = recorded(&m).context.shown.files.unwrap();
        assert_eq!(files["src/app.ts"], "sha256:abababababab");
        assert_eq!(files["run.sh"], "sha256:cdcdcdcdcdcd (executable)");
        assert_eq!(files["lib"], "-> ../shared");
    }

    #[test]
    fn past_the_key_limit_the_count_of_the_other_changed_files_is_recorded() {
        let files = |n: usize, content: &str| {
            (0..n)
                .map(|i| file(&format!("f{i}"), &content.repeat(32), false))
                .collect()
        };
        let from = BTreeMap::new();
        let mut old = args();
        record(&mut old, None, &manifest(files(80, "ab")), &from);
        assert!(old.context.shown.more_changed_files.is_none());
        let mut new = args();
        record(&mut new, Some(&old), &manifest(files(70, "cd")), &from);
        // 70 changed and 10 removed: 80, of which 50 get keys.
        assert_eq!(
            new.context.shown.more_changed_files.as_deref(),
            Some("30 more changed files")
        );
        let mut few = args();
        record(&mut few, Some(&new), &manifest(files(70, "cd")), &from);
        assert!(few.context.shown.more_changed_files.is_none());
    }

    #[test]
    fn large_contexts_record_no_file_map() {
        let files = |n: usize| {
            (0..n)
                .map(|i| file(&format!("f{i}"), &"ab".repeat(32), false))
                .collect()
        };
        assert!(recorded(&manifest(files(MAX_FILES + 1)))
            .context
            .shown
            .files
            .is_none());
        let a = recorded(&manifest(files(MAX_FILES)));
        assert_eq!(a.context.shown.files.unwrap().len(), MAX_FILES);
    }

    #[test]
    fn the_dockerfile_shows_its_instructions_and_base_digests_under_dockerfile() {
        let a = recorded(&manifest(Vec::new()));
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["dockerfile"]["instructions"], "FROM a\nCOPY . /");
        assert_eq!(json["dockerfile"]["from"]["a"], "sha256:1");
        assert!(json["dockerfile"].get("location").is_none());
    }

    #[test]
    fn clearing_forgets_what_check_recorded_and_a_dockerfile_with_no_source() {
        let mut a = recorded(&manifest(vec![file("x", &"ab".repeat(32), false)]));
        clear(&mut a);
        assert_eq!(
            a.context,
            BuildContext {
                location: "/app".into(),
                shown: ContextShown::default()
            }
        );
        assert!(a.dockerfile.is_none());

        let mut given: ImageArgs = serde_json::from_value(serde_json::json!({
            "context": {"location": "/app"},
            "dockerfile": {"location": "/app/Dockerfile.prod", "instructions": "old", "from": {}}
        }))
        .unwrap();
        clear(&mut given);
        let d = given.dockerfile.unwrap();
        assert_eq!(d.location.as_deref(), Some("/app/Dockerfile.prod"));
        assert_eq!(d.shown, DockerfileShown::default());
    }
}
