//! The generator on small synthetic schemas: everything comes from the schema
//! (nothing is special-cased for imagedeploy's own resources), and broken
//! schemas fail with the location of the problem.

use serde_json::json;

fn schema(
    extra_types: serde_json::Value,
    widget_inputs: serde_json::Value,
    required: serde_json::Value,
) -> String {
    let mut types = json!({
        "demo:index:Part": {
            "type": "object",
            "properties": {
                "key": { "type": "string", "replaceOnChanges": true, "description": "Part key." },
                "token": { "type": "string", "secret": true }
            },
            "required": ["key"]
        },
        "demo:index:Mode": {
            "type": "string",
            "enum": [ { "value": "fast-lane", "name": "fast-lane" }, { "value": "x86_64", "name": "X86_64" } ]
        }
    });
    if let (Some(t), Some(extra)) = (types.as_object_mut(), extra_types.as_object()) {
        t.extend(extra.clone());
    }
    json!({
        "name": "demo",
        "version": "1.2.3",
        "pluginDownloadURL": "https://example.com/plugins",
        "types": types,
        "resources": {
            "demo:index:Widget": {
                "description": "A widget. */ still a comment",
                "properties": { "size": { "type": "integer" }, "uid": { "type": "string", "description": "Assigned id." } },
                "required": ["uid"],
                "inputProperties": widget_inputs,
                "requiredInputs": required
            }
        },
        "language": { "nodejs": { "packageName": "@demo/sdk" }, "python": { "packageName": "demo_sdk" } }
    })
    .to_string()
}

fn widget_inputs() -> serde_json::Value {
    json!({
        "size": { "type": "integer", "default": 8080 },
        "parts": { "type": "array", "items": { "$ref": "#/types/demo:index:Part" } },
        "partsByName": { "type": "object", "additionalProperties": { "$ref": "#/types/demo:index:Part" } },
        "mode": { "$ref": "#/types/demo:index:Mode" },
        "owner": { "type": "string", "replaceOnChanges": true }
    })
}

#[test]
fn generates_from_the_schema_alone() {
    let files = sdk_gen::generate(
        &schema(json!({}), widget_inputs(), json!(["parts"])),
        "test",
    )
    .expect("generate");
    let ts = &files["nodejs/widget.ts"];
    assert!(
        ts.contains("public static readonly __pulumiType = \"demo:index:Widget\";"),
        "{ts}"
    );
    assert!(
        ts.contains("throw new Error(\"Missing required property 'parts'\");"),
        "{ts}"
    );
    assert!(
        ts.contains("resourceInputs[\"size\"] = (args?.size ?? 8080);"),
        "{ts}"
    );
    assert!(
        ts.contains("resourceInputs[\"uid\"] = undefined /*out*/;"),
        "{ts}"
    );
    assert!(
        ts.contains("replaceOnChanges: [\"parts[*].key\", \"partsByName.*.key\", \"owner\"]"),
        "{ts}"
    );
    assert!(
        ts.contains("utilities.secretPaths(args?.parts, [[\"*\", \"token\"]])"),
        "{ts}"
    );
    assert!(
        ts.contains("A widget. *&#47; still a comment"),
        "a description cannot close the comment: {ts}"
    );
    assert!(
        ts.contains("parts: pulumi.Input<pulumi.Input<inputs.Part>[]>;"),
        "{ts}"
    );
    assert!(
        ts.contains("partsByName?: pulumi.Input<{[key: string]: pulumi.Input<inputs.Part>}>;"),
        "{ts}"
    );

    let enums = &files["nodejs/types/enums/index.ts"];
    assert!(enums.contains("FastLane: \"fast-lane\","), "{enums}");
    assert!(enums.contains("X8664: \"x86_64\","), "{enums}");

    let package_json: serde_json::Value =
        serde_json::from_str(&files["nodejs/package.json"]).expect("json");
    assert_eq!(package_json["name"], "@demo/sdk");
    assert_eq!(
        package_json["pulumi"],
        json!({ "resource": true, "name": "demo", "version": "1.2.3", "server": "https://example.com/plugins" })
    );

    let py = &files["python/demo_sdk/widget.py"];
    assert!(
        py.contains("raise TypeError(\"Missing required property 'parts'\")"),
        "{py}"
    );
    assert!(
        py.contains("            if size is None:\n                size = 8080"),
        "{py}"
    );
    assert!(
        py.contains("@pulumi.getter(name=\"partsByName\")\n    def parts_by_name(self)"),
        "{py}"
    );
    assert!(
        py.contains("replace_on_changes=[\"parts[*].key\", \"partsByName.*.key\", \"owner\"]"),
        "{py}"
    );
    assert!(
        py.contains(
            "_utilities.secret_paths(parts_by_name, [[(\"*\", \"*\"), (\"token\", \"token\")]])"
        ),
        "{py}"
    );
    let enums = &files["python/demo_sdk/_enums.py"];
    assert!(enums.contains("FAST_LANE = \"fast-lane\""), "{enums}");
    assert!(enums.contains("X86_64 = \"x86_64\""), "{enums}");
    let plugin: serde_json::Value =
        serde_json::from_str(&files["python/demo_sdk/pulumi-plugin.json"]).expect("json");
    assert_eq!(plugin["server"], "https://example.com/plugins");
    assert_eq!(plugin["version"], "1.2.3");
}

/// `localPath` marks a property as a filesystem path of the program's machine,
/// wherever it sits (top level, in a nested object, in a list); each SDK makes
/// relative ones absolute in the constructor, and nothing else is touched.
#[test]
fn local_paths_are_resolved_wherever_the_schema_marks_them() {
    let mut inputs = widget_inputs();
    inputs["dir"] = json!({ "type": "string", "localPath": true });
    inputs["sources"] =
        json!({ "type": "array", "items": { "$ref": "#/types/demo:index:Source" } });
    let types = json!({
        "demo:index:Source": {
            "type": "object",
            "properties": {
                "filePath": { "type": "string", "localPath": true },
                "text": { "type": "string" }
            }
        }
    });
    let files = sdk_gen::generate(&schema(types, inputs, json!([])), "test").expect("generate");
    let ts = &files["nodejs/widget.ts"];
    assert!(
        ts.contains("resourceInputs[\"dir\"] = utilities.resolveLocalPaths(args?.dir, [[]]);"),
        "{ts}"
    );
    assert!(
        ts.contains(
            "resourceInputs[\"sources\"] = utilities.resolveLocalPaths(args?.sources, [[\"*\", \"filePath\"]]);"
        ),
        "{ts}"
    );
    assert!(
        ts.contains("resourceInputs[\"owner\"] = args?.owner;"),
        "{ts}"
    );
    assert!(
        files["nodejs/utilities.ts"].contains("export function resolveLocalPaths"),
        "utilities.ts defines the hook"
    );
    let py = &files["python/demo_sdk/widget.py"];
    assert!(
        py.contains("__props__.__dict__[\"dir\"] = _utilities.resolve_local_paths(dir, [[]])"),
        "{py}"
    );
    assert!(
        py.contains(
            "_utilities.resolve_local_paths(sources, [[(\"*\", \"*\"), (\"file_path\", \"filePath\")]])"
        ),
        "{py}"
    );
    assert!(
        files["python/demo_sdk/_utilities.py"].contains("def resolve_local_paths("),
        "_utilities.py defines the hook"
    );
}

#[test]
fn output_only_types_stay_out_of_input_files() {
    let mut s: serde_json::Value = serde_json::from_str(&schema(
        json!({ "demo:index:Report": { "type": "object", "properties": { "lines": { "type": "integer" } } } }),
        widget_inputs(),
        json!([]),
    ))
    .expect("json");
    s["resources"]["demo:index:Widget"]["properties"]["report"] =
        json!({ "$ref": "#/types/demo:index:Report" });
    let files = sdk_gen::generate(&s.to_string(), "test").expect("generate");
    assert!(files["nodejs/types/output.ts"].contains("export interface Report {"));
    assert!(!files["nodejs/types/input.ts"].contains("interface Report"));
    // The State interface (for `get`) names the output type, which exists.
    assert!(
        files["nodejs/widget.ts"].contains("report?: pulumi.Input<outputs.Report>;"),
        "{}",
        files["nodejs/widget.ts"]
    );
    assert!(files["python/demo_sdk/outputs.py"].contains("class Report(dict):"));
    assert!(!files["python/demo_sdk/_inputs.py"].contains("class ReportArgs"));
    // No required inputs: args are optional.
    assert!(files["nodejs/widget.ts"].contains("constructor(name: string, args?: WidgetArgs"));
}

#[test]
fn broken_schemas_fail_with_their_location() {
    let mut inputs = widget_inputs();
    inputs["ghost"] = json!({ "$ref": "#/types/demo:index:Ghost" });
    let err =
        sdk_gen::generate(&schema(json!({}), inputs, json!([])), "test").expect_err("unknown type");
    let text = err.to_string();
    assert!(
        text.contains("demo:index:Widget.ghost") && text.contains("demo:index:Ghost"),
        "{text}"
    );

    let mut inputs = widget_inputs();
    inputs["blob"] = json!({ "$ref": "pulumi.json#/Archive" });
    let text = sdk_gen::generate(&schema(json!({}), inputs, json!([])), "test")
        .expect_err("unsupported")
        .to_string();
    assert!(
        text.contains("inputProperties.blob") && text.contains("Archive"),
        "{text}"
    );

    let mut inputs = widget_inputs();
    inputs["urn"] = json!({ "type": "string" });
    let text = sdk_gen::generate(&schema(json!({}), inputs, json!([])), "test")
        .expect_err("clash")
        .to_string();
    assert!(text.contains("urn"), "{text}");

    let text = sdk_gen::generate("{ not json", "broken.json")
        .expect_err("json")
        .to_string();
    assert!(text.contains("broken.json"), "{text}");

    let text = sdk_gen::generate(
        &json!({ "name": "demo", "resources": { "demo:storage:Bucket": {} } }).to_string(),
        "test",
    )
    .expect_err("module")
    .to_string();
    assert!(text.contains("demo:storage:Bucket"), "{text}");
}
