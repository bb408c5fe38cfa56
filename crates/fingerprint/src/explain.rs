//! Human reasons why two fingerprints differ ("src/app.ts modified").
//!
//! This text is what preview shows, so it names exactly the inputs that
//! changed, in a fixed order: Dockerfile, target, platforms, build args, base
//! images, named contexts, unhashable inputs, then files by path. Equal
//! digests give no reasons.

use crate::manifest::{EntryType, FileEntry, Instruction, Manifest};
use std::collections::{BTreeMap, BTreeSet};

/// Reasons `new` differs from `old`, one sentence each, deterministic.
pub fn explain(old: &Manifest, new: &Manifest) -> Vec<String> {
    if old.inputs.format != new.inputs.format {
        return vec![format!(
            "fingerprint format changed ({} -> {})",
            old.inputs.format, new.inputs.format
        )];
    }
    let mut out = Vec::new();
    instructions(&old.inputs.instructions, &new.inputs.instructions, &mut out);
    if old.inputs.target != new.inputs.target {
        out.push(format!(
            "target changed: {} -> {}",
            old.inputs.target, new.inputs.target
        ));
    }
    if old.inputs.platforms != new.inputs.platforms {
        out.push(format!(
            "platforms changed: {} -> {}",
            list(&old.inputs.platforms),
            list(&new.inputs.platforms)
        ));
    }
    maps(
        "build arg",
        &old.inputs.build_args,
        &new.inputs.build_args,
        &mut out,
    );
    base_images(&old.inputs.base_images, &new.inputs.base_images, &mut out);
    maps(
        "named context",
        &old.inputs.named_contexts,
        &new.inputs.named_contexts,
        &mut out,
    );
    unhashable(old, new, &mut out);
    files(&old.files, &new.files, &mut out);
    if out.is_empty() && old.fingerprint != new.fingerprint {
        out.push("fingerprint inputs changed".to_string());
    }
    out
}

/// Notes about inputs that could not be hashed (shown with any diff).
pub fn notes(manifest: &Manifest) -> Vec<String> {
    manifest
        .unhashable
        .iter()
        .map(|u| {
            format!(
                "Dockerfile line {}: {} is not fully fingerprinted: {}",
                u.line, u.instruction, u.reason
            )
        })
        .collect()
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "(default)".to_string()
    } else {
        items.join(",")
    }
}

/// Aligns the two instruction lists on their longest common subsequence and
/// reports the rest: a removal and an addition at the same place is a
/// change (named by the new line), leftovers are additions or removals.
fn instructions(old: &[Instruction], new: &[Instruction], out: &mut Vec<String>) {
    let (n, m) = (old.len(), new.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i].text == new[j].text {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut removed: Vec<&Instruction> = Vec::new();
    let mut added: Vec<&Instruction> = Vec::new();
    let flush =
        |removed: &mut Vec<&Instruction>, added: &mut Vec<&Instruction>, out: &mut Vec<String>| {
            let pairs = removed.len().min(added.len());
            for a in &added[..pairs] {
                out.push(format!("Dockerfile line {} changed", a.line));
            }
            for a in &added[pairs..] {
                out.push(format!("Dockerfile line {} added", a.line));
            }
            for r in &removed[pairs..] {
                out.push(format!(
                    "Dockerfile line {} removed (old line number)",
                    r.line
                ));
            }
            removed.clear();
            added.clear();
        };
    while i < n || j < m {
        if i < n && j < m && old[i].text == new[j].text {
            flush(&mut removed, &mut added, out);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            added.push(&new[j]);
            j += 1;
        } else {
            removed.push(&old[i]);
            i += 1;
        }
    }
    flush(&mut removed, &mut added, out);
}

fn maps(
    what: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    out: &mut Vec<String>,
) {
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        match (old.get(key), new.get(key)) {
            (Some(a), Some(b)) if a != b => out.push(format!("{what} {key} changed")),
            (None, Some(_)) => out.push(format!("{what} {key} set")),
            (Some(_), None) => out.push(format!("{what} {key} unset")),
            _ => {}
        }
    }
}

fn base_images(old: &[String], new: &[String], out: &mut Vec<String>) {
    if old == new {
        return;
    }
    let old_set: BTreeSet<&String> = old.iter().collect();
    let new_set: BTreeSet<&String> = new.iter().collect();
    let gone: Vec<&&String> = old_set.difference(&new_set).collect();
    let came: Vec<&&String> = new_set.difference(&old_set).collect();
    if gone.len() == 1 && came.len() == 1 {
        out.push(format!("FROM {} changed to {}", gone[0], came[0]));
        return;
    }
    for g in &gone {
        out.push(format!("FROM {g} removed"));
    }
    for c in &came {
        out.push(format!("FROM {c} added"));
    }
    if gone.is_empty() && came.is_empty() {
        out.push(format!("FROM images reordered: {}", new.join(", ")));
    }
}

fn unhashable(old: &Manifest, new: &Manifest, out: &mut Vec<String>) {
    let key = |u: &crate::manifest::UnhashableInput| (u.instruction.clone(), u.reason.clone());
    let old_set: BTreeSet<_> = old.unhashable.iter().map(key).collect();
    let new_set: BTreeSet<_> = new.unhashable.iter().map(key).collect();
    for u in &new.unhashable {
        if !old_set.contains(&key(u)) {
            out.push(format!(
                "unhashable input added at Dockerfile line {}: {} ({})",
                u.line, u.instruction, u.reason
            ));
        }
    }
    for u in &old.unhashable {
        if !new_set.contains(&key(u)) {
            out.push(format!(
                "unhashable input removed: {} ({})",
                u.instruction, u.reason
            ));
        }
    }
}

fn files(old: &[FileEntry], new: &[FileEntry], out: &mut Vec<String>) {
    let (old_map, new_map) = (group(old), group(new));
    let paths: BTreeSet<&str> = old_map.keys().chain(new_map.keys()).copied().collect();
    for path in paths {
        match (old_map.get(path), new_map.get(path)) {
            (None, Some(n)) => out.push(format!("{} added", display(path, n[0].kind))),
            (Some(o), None) => out.push(format!("{} removed", display(path, o[0].kind))),
            (Some(o), Some(n)) if o != n => {
                if o.len() == 1 && n.len() == 1 {
                    one_file(path, o[0], n[0], out);
                } else {
                    out.push(format!("{path} modified"));
                }
            }
            _ => {}
        }
    }
}

fn group(entries: &[FileEntry]) -> BTreeMap<&str, Vec<&FileEntry>> {
    let mut map: BTreeMap<&str, Vec<&FileEntry>> = BTreeMap::new();
    for e in entries {
        map.entry(e.path.as_str()).or_default().push(e);
    }
    map
}

fn display(path: &str, kind: EntryType) -> String {
    match kind {
        EntryType::Dir => format!("{path}/"),
        _ => path.to_string(),
    }
}

fn one_file(path: &str, o: &FileEntry, n: &FileEntry, out: &mut Vec<String>) {
    if o.kind != n.kind {
        out.push(format!(
            "{path} changed from {} to {}",
            kind_name(o.kind),
            kind_name(n.kind)
        ));
        return;
    }
    if o.kind == EntryType::Symlink && o.symlink != n.symlink {
        out.push(format!(
            "{path} symlink target changed: {} -> {}",
            o.symlink.as_deref().unwrap_or(""),
            n.symlink.as_deref().unwrap_or("")
        ));
    } else if o.sha256 != n.sha256 {
        out.push(format!("{path} modified"));
    }
    if o.executable != n.executable {
        if n.executable {
            out.push(format!("{path} became executable"));
        } else {
            out.push(format!("{path} is no longer executable"));
        }
    }
}

fn kind_name(kind: EntryType) -> &'static str {
    match kind {
        EntryType::File => "a file",
        EntryType::Symlink => "a symlink",
        EntryType::Dir => "an empty directory",
        EntryType::Other => "a special file",
    }
}
