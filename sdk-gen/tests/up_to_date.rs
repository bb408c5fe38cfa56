//! The committed `sdk/` must be exactly what the generator makes from the
//! committed schema.json: generate into a temporary directory and compare
//! both file lists and contents.

use std::path::PathBuf;

#[test]
fn committed_sdks_match_the_schema() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let files =
        sdk_gen::generate_from_path(&root.join("schema.json")).expect("generate from schema.json");

    let temp = tempfile::tempdir().expect("temporary directory");
    sdk_gen::write_tree(&files, temp.path()).expect("write generated SDKs");
    let fresh = sdk_gen::list_files(temp.path()).expect("list generated files");
    let committed = sdk_gen::list_files(&root.join("sdk")).expect("list committed sdk/");

    let missing: Vec<_> = fresh.iter().filter(|f| !committed.contains(f)).collect();
    let extra: Vec<_> = committed.iter().filter(|f| !fresh.contains(f)).collect();
    let mut changed = Vec::new();
    for rel in fresh.iter().filter(|f| committed.contains(f)) {
        let a = std::fs::read(temp.path().join(rel)).expect("read generated file");
        let b = std::fs::read(root.join("sdk").join(rel)).expect("read committed file");
        if a != b {
            changed.push(rel);
        }
    }
    assert!(
        missing.is_empty() && extra.is_empty() && changed.is_empty(),
        "sdk/ is out of date with schema.json; run `cargo run -p sdk-gen` and commit the result.\n\
         missing: {missing:?}\nnot generated any more: {extra:?}\ndiffering: {changed:?}"
    );
}

#[test]
fn generation_is_deterministic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let a = sdk_gen::generate_from_path(&root.join("schema.json")).expect("first run");
    let b = sdk_gen::generate_from_path(&root.join("schema.json")).expect("second run");
    assert_eq!(a, b);
}
