//! `sst add imagedeploy` must find the generated Node.js package: its name is one SST asks npm
//! for, and its `package.json` has the `pulumi` block SST and the engine read.

use std::path::PathBuf;

use serde_json::Value as Json;

fn committed_schema_and_package_json() -> (Json, Json) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema_path = root.join("schema.json");
    let schema: Json =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("read schema.json"))
            .expect("schema.json is JSON");
    let files = sdk_gen::generate_from_path(&schema_path).expect("generate from schema.json");
    let package_json: Json =
        serde_json::from_str(&files["nodejs/package.json"]).expect("package.json is JSON");
    (schema, package_json)
}

#[test]
fn sst_add_finds_the_node_package_under_the_plugin_name() {
    let (schema, pkg) = committed_schema_and_package_json();
    let plugin = schema["name"].as_str().expect("schema name");
    let name = pkg["name"].as_str().expect("package name");
    let candidates = sdk_gen::sst_lookup_names(plugin);
    assert!(
        candidates.iter().any(|c| c == name),
        "`sst add {plugin}` asks npm for {candidates:?}, never for {name}"
    );
    // The scopes SST tries before ours belong to SST and Pulumi: the package must not claim them.
    assert!(
        !name.starts_with("@sst-provider/") && !name.starts_with("@pulumi/"),
        "{name}"
    );
}

#[test]
fn the_pulumi_block_names_the_plugin_and_where_to_download_it() {
    let (schema, pkg) = committed_schema_and_package_json();
    let pulumi = &pkg["pulumi"];
    assert_eq!(pulumi["resource"], Json::Bool(true), "{pkg:#}");
    assert_eq!(pulumi["name"], schema["name"], "{pkg:#}");
    assert_eq!(pulumi["version"], schema["version"], "{pkg:#}");
    assert_eq!(pulumi["server"], schema["pluginDownloadURL"], "{pkg:#}");
    // SST binds the package to this global in sst.config.ts.
    let global = sdk_gen::sst_global_name(
        pkg["name"].as_str().unwrap_or_default(),
        pulumi["name"].as_str().unwrap_or_default(),
    );
    assert_eq!(global, "imagedeploy");
}

#[test]
fn the_package_ships_its_compiled_entry_points() {
    let (_, pkg) = committed_schema_and_package_json();
    assert_eq!(pkg["main"], "bin/index.js");
    assert_eq!(pkg["types"], "bin/index.d.ts");
    let files: Vec<&str> = pkg["files"]
        .as_array()
        .expect("files list")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    assert!(files.contains(&"bin/"), "{files:?}");
}
