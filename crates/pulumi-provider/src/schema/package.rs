//! The Pulumi package schema, built from the resources' shapes.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::shape::{collect_named, ObjectShape, Property, Shape};
use crate::dispatch::ErasedResource;

pub const PACKAGE: &str = "imagedeploy";
pub const NODE_PACKAGE: &str = "@imagedeploy/pulumi";
pub const PYTHON_PACKAGE: &str = "pulumi_imagedeploy";
pub const PLUGIN_DOWNLOAD_URL: &str = "github://api.github.com/imagedeploy/imagedeploy";

/// Everything the schema is built from.
pub struct PackageSpec<'a, C: Send + Sync + 'static> {
    pub version: &'a str,
    pub config: Arc<ObjectShape>,
    pub resources: &'a [Arc<dyn ErasedResource<C>>],
}

fn type_token(name: &str) -> String {
    format!("{PACKAGE}:index:{name}")
}

/// The schema as pretty JSON with a trailing newline (the form of schema.json).
pub fn render<C: Send + Sync + 'static>(spec: &PackageSpec<'_, C>) -> String {
    let mut text = serde_json::to_string_pretty(&build(spec)).unwrap_or_default();
    text.push('\n');
    text
}

pub fn build<C: Send + Sync + 'static>(spec: &PackageSpec<'_, C>) -> Json {
    let mut named = BTreeMap::new();
    for (_, p) in &spec.config.properties {
        collect_named(&p.shape, &mut named);
    }
    let mut resources = Map::new();
    for r in spec.resources {
        let inputs = r.input_shape();
        let outputs = r.output_shape();
        for (_, p) in inputs.properties.iter().chain(outputs.properties.iter()) {
            collect_named(&p.shape, &mut named);
        }
        resources.insert(
            r.token().to_string(),
            json!({
                "description": r.description(),
                "properties": properties(&outputs),
                "required": required(&outputs),
                "inputProperties": properties(&inputs),
                "requiredInputs": required(&inputs),
            }),
        );
    }
    let types: Map<String, Json> = named
        .iter()
        .map(|(name, shape)| (type_token(name), type_spec(shape)))
        .collect();
    json!({
        "name": PACKAGE,
        "displayName": "imagedeploy",
        "version": spec.version,
        "description": "Container images decided by their content, and ECS services that redeploy only when a container really changes.",
        "keywords": ["pulumi", "docker", "oci", "ecs", "ecr", "aws", "category/cloud", "kind/native"],
        "homepage": "https://github.com/imagedeploy/imagedeploy",
        "license": "Apache-2.0",
        "repository": "https://github.com/imagedeploy/imagedeploy",
        "publisher": "imagedeploy",
        "pluginDownloadURL": PLUGIN_DOWNLOAD_URL,
        "config": { "variables": properties(&spec.config) },
        "provider": {
            "description": "The provider type for the imagedeploy package.",
            "inputProperties": properties(&spec.config),
        },
        "types": types,
        "resources": resources,
        "language": {
            "nodejs": {
                "packageName": NODE_PACKAGE,
                "packageDescription": "Container images decided by their content, and ECS services that redeploy only when a container really changes.",
                "dependencies": { "@pulumi/pulumi": "^3.0.0" },
            },
            "python": {
                "packageName": PYTHON_PACKAGE,
                "requires": { "pulumi": ">=3.0.0,<4.0.0" },
            },
        },
    })
}

fn properties(shape: &ObjectShape) -> Json {
    Json::Object(
        shape
            .properties
            .iter()
            .map(|(name, p)| (name.clone(), property_spec(p)))
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

fn property_spec(p: &Property) -> Json {
    let mut spec = match type_ref(&p.shape) {
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
    if let Some(default) = &p.default {
        if matches!(default, Json::String(_) | Json::Number(_) | Json::Bool(_)) {
            spec.insert("default".into(), default.clone());
        }
    }
    Json::Object(spec)
}

fn type_ref(shape: &Shape) -> Json {
    match shape {
        Shape::Any => json!({ "$ref": "pulumi.json#/Any" }),
        Shape::String => json!({ "type": "string" }),
        Shape::Integer => json!({ "type": "integer" }),
        Shape::Number => json!({ "type": "number" }),
        Shape::Bool => json!({ "type": "boolean" }),
        Shape::Array(inner) => json!({ "type": "array", "items": type_ref(inner) }),
        Shape::Map(inner) => json!({ "type": "object", "additionalProperties": type_ref(inner) }),
        Shape::Object(o) => match &o.name {
            Some(name) => json!({ "$ref": format!("#/types/{}", type_token(name)) }),
            None => {
                json!({ "type": "object", "additionalProperties": { "$ref": "pulumi.json#/Any" } })
            }
        },
        Shape::Enum(e) => match &e.name {
            Some(name) => json!({ "$ref": format!("#/types/{}", type_token(name)) }),
            None => json!({ "type": "string" }),
        },
    }
}

fn type_spec(shape: &Shape) -> Json {
    match shape {
        Shape::Object(o) => {
            let mut spec = json!({
                "type": "object",
                "properties": properties(o),
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
        other => type_ref(other),
    }
}
