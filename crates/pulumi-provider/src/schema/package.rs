//! The Pulumi package schema, built from the resources' shapes.
//!
//! The package's own words (name, description, SDK package names) come from
//! the application in a [`PackageMeta`]; everything else from Rust types.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::shape::{collect_named, ObjectShape, Property, Shape};

/// What the package says about itself.
#[derive(Debug, Clone, Copy)]
pub struct PackageMeta {
    /// Package name, the first part of every type token (`imagedeploy`).
    pub name: &'static str,
    /// Shown in the registry.
    pub display_name: &'static str,
    /// One sentence.
    pub description: &'static str,
    /// Registry keywords.
    pub keywords: &'static [&'static str],
    /// Project home page.
    pub homepage: &'static str,
    /// SPDX license.
    pub license: &'static str,
    /// Source repository.
    pub repository: &'static str,
    /// Publisher name.
    pub publisher: &'static str,
    /// Where the engine downloads the plugin from.
    pub plugin_download_url: &'static str,
    /// npm package of the Node.js SDK.
    pub node_package: &'static str,
    /// Python package of the Python SDK.
    pub python_package: &'static str,
}

/// One resource type as the schema shows it.
#[derive(Debug, Clone)]
pub struct ResourceSchema {
    /// Type token.
    pub token: &'static str,
    /// Markdown description.
    pub description: &'static str,
    /// Inputs.
    pub inputs: Arc<ObjectShape>,
    /// Outputs.
    pub outputs: Arc<ObjectShape>,
}

/// Everything the schema is built from.
pub struct PackageSpec<'a> {
    /// What the package says about itself.
    pub meta: &'a PackageMeta,
    /// Package version.
    pub version: &'a str,
    /// Shape of the provider configuration.
    pub config: Arc<ObjectShape>,
    /// The resource types.
    pub resources: &'a [ResourceSchema],
}

fn type_token(package: &str, name: &str) -> String {
    format!("{package}:index:{name}")
}

/// The schema as pretty JSON with a trailing newline (the form of schema.json).
pub fn render(spec: &PackageSpec<'_>) -> String {
    let mut text = serde_json::to_string_pretty(&build(spec)).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema as JSON.
pub fn build(spec: &PackageSpec<'_>) -> Json {
    let meta = spec.meta;
    let mut named = BTreeMap::new();
    for (_, p) in &spec.config.properties {
        collect_named(&p.shape, &mut named);
    }
    let mut resources = Map::new();
    for r in spec.resources {
        let inputs = &r.inputs;
        let outputs = &r.outputs;
        for (_, p) in inputs.properties.iter().chain(outputs.properties.iter()) {
            collect_named(&p.shape, &mut named);
        }
        resources.insert(
            r.token.to_string(),
            json!({
                "description": r.description,
                "properties": properties(meta, outputs),
                "required": required(outputs),
                "inputProperties": properties(meta, inputs),
                "requiredInputs": required(inputs),
            }),
        );
    }
    let types: Map<String, Json> = named
        .iter()
        .map(|(name, shape)| (type_token(meta.name, name), type_spec(meta, shape)))
        .collect();
    json!({
        "name": meta.name,
        "displayName": meta.display_name,
        "version": spec.version,
        "description": meta.description,
        "keywords": meta.keywords,
        "homepage": meta.homepage,
        "license": meta.license,
        "repository": meta.repository,
        "publisher": meta.publisher,
        "pluginDownloadURL": meta.plugin_download_url,
        "config": { "variables": properties(meta, &spec.config) },
        "provider": {
            "description": format!("The provider type for the {} package.", meta.name),
            "inputProperties": properties(meta, &spec.config),
        },
        "types": types,
        "resources": resources,
        "language": {
            "nodejs": {
                "packageName": meta.node_package,
                "packageDescription": meta.description,
                "dependencies": { "@pulumi/pulumi": "^3.0.0" },
            },
            "python": {
                "packageName": meta.python_package,
                "requires": { "pulumi": ">=3.0.0,<4.0.0" },
            },
        },
    })
}

fn properties(meta: &PackageMeta, shape: &ObjectShape) -> Json {
    Json::Object(
        shape
            .properties
            .iter()
            .map(|(name, p)| (name.clone(), property_spec(meta, p)))
            .collect(),
    )
}

fn required(shape: &ObjectShape) -> Json {
    Json::Array(
        shape
            .properties
            .iter()
            .filter(|(_, p)| p.required)
            .map(|(name, _)| Json::String(name.clone()))
            .collect(),
    )
}

fn property_spec(meta: &PackageMeta, p: &Property) -> Json {
    let mut spec = match type_ref(meta, &p.shape) {
        Json::Object(m) => m,
        _ => Map::new(),
    };
    if let Some(d) = &p.description {
        spec.insert("description".into(), Json::String(d.clone()));
    }
    if p.secret {
        spec.insert("secret".into(), Json::Bool(true));
    }
    if p.replace_on_changes {
        spec.insert("replaceOnChanges".into(), Json::Bool(true));
    }
    if p.local_path {
        spec.insert("localPath".into(), Json::Bool(true));
    }
    if let Some(default) = &p.default {
        if matches!(default, Json::String(_) | Json::Number(_) | Json::Bool(_)) {
            spec.insert("default".into(), default.clone());
        }
    }
    Json::Object(spec)
}

fn type_ref(meta: &PackageMeta, shape: &Shape) -> Json {
    match shape {
        Shape::Any => json!({ "$ref": "pulumi.json#/Any" }),
        Shape::String => json!({ "type": "string" }),
        Shape::Integer | Shape::Unsigned => json!({ "type": "integer" }),
        Shape::Number => json!({ "type": "number" }),
        Shape::Bool => json!({ "type": "boolean" }),
        Shape::Array(inner) => json!({ "type": "array", "items": type_ref(meta, inner) }),
        Shape::Map(inner) => {
            json!({ "type": "object", "additionalProperties": type_ref(meta, inner) })
        }
        Shape::Object(o) => match &o.name {
            Some(name) => json!({ "$ref": format!("#/types/{}", type_token(meta.name, name)) }),
            None => {
                json!({ "type": "object", "additionalProperties": { "$ref": "pulumi.json#/Any" } })
            }
        },
        Shape::Enum(e) => match &e.name {
            Some(name) => json!({ "$ref": format!("#/types/{}", type_token(meta.name, name)) }),
            None => json!({ "type": "string" }),
        },
    }
}

fn type_spec(meta: &PackageMeta, shape: &Shape) -> Json {
    match shape {
        Shape::Object(o) => {
            let mut spec = json!({
                "type": "object",
                "properties": properties(meta, o),
                "required": required(o),
            });
            if let Some(d) = &o.description {
                spec["description"] = Json::String(d.clone());
            }
            spec
        }
        Shape::Enum(e) => {
            let values: Vec<Json> = e
                .values
                .iter()
                .map(|(v, d)| match d {
                    Some(d) => json!({ "value": v, "name": v, "description": d }),
                    None => json!({ "value": v, "name": v }),
                })
                .collect();
            let mut spec = json!({ "type": "string", "enum": values });
            if let Some(d) = &e.description {
                spec["description"] = Json::String(d.clone());
            }
            spec
        }
        other => type_ref(meta, other),
    }
}
