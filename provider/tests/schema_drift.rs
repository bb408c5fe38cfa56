//! schema.json at the repository root must be exactly what GetSchema serves.
//! Regenerate with `UPDATE_SCHEMA=1 cargo test -p imagedeploy --test schema_drift`.

use std::path::PathBuf;

#[test]
fn schema_json_matches_the_provider_definitions() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../schema.json");
    let generated = imagedeploy::package_schema();
    if std::env::var("UPDATE_SCHEMA").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &generated).expect("write schema.json");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "schema.json is out of date with the provider's types; run `UPDATE_SCHEMA=1 cargo test -p imagedeploy --test schema_drift` and commit the result"
    );
}

#[test]
fn schema_marks_secrets_and_replacements() {
    let schema: serde_json::Value =
        serde_json::from_str(&imagedeploy::package_schema()).expect("valid JSON");
    let image = &schema["resources"]["imagedeploy:index:Image"];
    assert_eq!(image["inputProperties"]["secrets"]["secret"], true);
    assert_eq!(image["requiredInputs"], serde_json::json!(["context"]));
    assert!(image["properties"]["digest"]["description"]
        .as_str()
        .is_some_and(|d| !d.is_empty()));
    // Local filesystem paths, which the SDKs resolve where the program runs.
    assert_eq!(
        schema["types"]["imagedeploy:index:BuildContext"]["properties"]["location"]["localPath"],
        true
    );
    assert_eq!(
        schema["types"]["imagedeploy:index:Dockerfile"]["properties"]["location"]["localPath"],
        true
    );
    assert!(
        schema["types"]["imagedeploy:index:Dockerfile"]["properties"]["inline"]
            .get("localPath")
            .is_none()
    );
    let registry = &schema["types"]["imagedeploy:index:RegistryAuth"];
    assert_eq!(registry["properties"]["password"]["secret"], true);
    assert_eq!(
        schema["config"]["variables"]["endpoints"]["$ref"],
        "#/types/imagedeploy:index:Endpoints"
    );
    assert!(schema["resources"]
        .get("imagedeploy:testing:Fixture")
        .is_none());
}
