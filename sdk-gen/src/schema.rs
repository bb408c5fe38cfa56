//! The part of a Pulumi package schema the generators read, as typed data.
//!
//! Parsing up front (instead of walking `serde_json::Value` in every
//! generator) means an unsupported or broken schema fails once, with the
//! place it happened, before any file is written.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use crate::error::GenError;

/// A whole package.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
    pub keywords: Vec<String>,
    pub homepage: Option<String>,
    pub license: Option<String>,
    pub repository: Option<String>,
    pub plugin_download_url: Option<String>,
    /// The provider resource's inputs (the package configuration).
    pub provider: Resource,
    /// Named nested types by token, sorted.
    pub types: BTreeMap<String, TypeDef>,
    /// Resources by token, sorted.
    pub resources: BTreeMap<String, Resource>,
    pub nodejs: NodeLanguage,
    pub python: PythonLanguage,
}

#[derive(Debug, Clone, Default)]
pub struct NodeLanguage {
    pub package_name: Option<String>,
    pub package_description: Option<String>,
    pub dependencies: Vec<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct PythonLanguage {
    pub package_name: Option<String>,
    pub requires: Vec<(String, String)>,
}

/// A resource (or the provider): its outputs and inputs in schema order.
#[derive(Debug, Clone, Default)]
pub struct Resource {
    pub token: String,
    pub description: Option<String>,
    pub properties: Vec<Property>,
    pub required: Vec<String>,
    pub input_properties: Vec<Property>,
    pub required_inputs: Vec<String>,
}

impl Resource {
    pub fn output(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }

    pub fn input(&self, name: &str) -> Option<&Property> {
        self.input_properties.iter().find(|p| p.name == name)
    }

    pub fn is_required_output(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }

    pub fn is_required_input(&self, name: &str) -> bool {
        self.required_inputs.iter().any(|r| r == name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub ty: TypeRef,
    pub description: Option<String>,
    pub secret: bool,
    pub replace_on_changes: bool,
    /// `localPath`: a filesystem path on the machine that runs the program.
    pub local_path: bool,
    pub default: Option<Json>,
}

/// The type of a property.
#[derive(Debug, Clone, PartialEq)]
pub enum TypeRef {
    String,
    Integer,
    Number,
    Boolean,
    Any,
    Array(Box<TypeRef>),
    Map(Box<TypeRef>),
    /// `#/types/<token>`: an object type or an enum.
    Named(String),
}

#[derive(Debug, Clone)]
pub enum TypeDef {
    Object(ObjectType),
    Enum(EnumType),
}

#[derive(Debug, Clone)]
pub struct ObjectType {
    pub token: String,
    pub description: Option<String>,
    pub properties: Vec<Property>,
    pub required: Vec<String>,
}

impl ObjectType {
    pub fn is_required(&self, name: &str) -> bool {
        self.required.iter().any(|r| r == name)
    }
}

#[derive(Debug, Clone)]
pub struct EnumType {
    pub token: String,
    pub description: Option<String>,
    /// `string`, `integer`, `number` or `boolean`.
    pub underlying: String,
    pub values: Vec<EnumValue>,
}

#[derive(Debug, Clone)]
pub struct EnumValue {
    pub name: String,
    pub value: Json,
    pub description: Option<String>,
}

/// The last part of a token: `pkg:index:Image` -> `Image`.
pub fn token_name(token: &str) -> &str {
    token.rsplit(':').next().unwrap_or(token)
}

impl Package {
    /// Parses schema JSON text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Package, GenError> {
        let json: Json = serde_json::from_str(text).map_err(|e| GenError::Json {
            source_name: source.to_string(),
            error: e.to_string(),
        })?;
        let root = as_object(&json, "the schema")?;
        let name = string_field(root, "name", "the schema")?
            .ok_or_else(|| GenError::missing("the schema", "name"))?;
        let version =
            string_field(root, "version", "the schema")?.unwrap_or_else(|| "0.0.0".into());

        let mut types = BTreeMap::new();
        if let Some(t) = root.get("types") {
            for (token, spec) in as_object(t, "types")? {
                check_token(&name, token)?;
                types.insert(token.clone(), type_def(token, spec)?);
            }
        }
        let mut resources = BTreeMap::new();
        if let Some(r) = root.get("resources") {
            for (token, spec) in as_object(r, "resources")? {
                check_token(&name, token)?;
                resources.insert(
                    token.clone(),
                    resource(token, spec, &format!("resources.{token}"))?,
                );
            }
        }
        let provider = match root.get("provider") {
            Some(spec) => resource(&format!("pulumi:providers:{name}"), spec, "provider")?,
            None => Resource {
                token: format!("pulumi:providers:{name}"),
                ..Resource::default()
            },
        };
        let language = root.get("language").and_then(Json::as_object);
        let nodejs = language
            .and_then(|l| l.get("nodejs"))
            .and_then(Json::as_object)
            .map(|n| NodeLanguage {
                package_name: n
                    .get("packageName")
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                package_description: n
                    .get("packageDescription")
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                dependencies: string_pairs(n.get("dependencies")),
            })
            .unwrap_or_default();
        let python = language
            .and_then(|l| l.get("python"))
            .and_then(Json::as_object)
            .map(|p| PythonLanguage {
                package_name: p
                    .get("packageName")
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                requires: string_pairs(p.get("requires")),
            })
            .unwrap_or_default();

        let package = Package {
            description: string_field(root, "description", "the schema")?,
            keywords: root
                .get("keywords")
                .and_then(Json::as_array)
                .map(|k| {
                    k.iter()
                        .filter_map(Json::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            homepage: string_field(root, "homepage", "the schema")?,
            license: string_field(root, "license", "the schema")?,
            repository: string_field(root, "repository", "the schema")?,
            plugin_download_url: string_field(root, "pluginDownloadURL", "the schema")?,
            name,
            version,
            provider,
            types,
            resources,
            nodejs,
            python,
        };
        package.check_references()?;
        Ok(package)
    }

    /// Every `#/types/...` reference must name a type the schema defines.
    fn check_references(&self) -> Result<(), GenError> {
        let check = |at: String, props: &[Property]| -> Result<(), GenError> {
            for p in props {
                let mut t = &p.ty;
                loop {
                    match t {
                        TypeRef::Array(inner) | TypeRef::Map(inner) => t = inner,
                        TypeRef::Named(token) => {
                            if !self.types.contains_key(token) {
                                return Err(GenError::UnknownType {
                                    at: format!("{at}.{}", p.name),
                                    token: token.clone(),
                                });
                            }
                            break;
                        }
                        _ => break,
                    }
                }
            }
            Ok(())
        };
        for r in self
            .resources
            .values()
            .chain(std::iter::once(&self.provider))
        {
            check(r.token.clone(), &r.properties)?;
            check(r.token.clone(), &r.input_properties)?;
        }
        for t in self.types.values() {
            if let TypeDef::Object(o) = t {
                check(o.token.clone(), &o.properties)?;
            }
        }
        Ok(())
    }

    pub fn object(&self, token: &str) -> Option<&ObjectType> {
        match self.types.get(token) {
            Some(TypeDef::Object(o)) => Some(o),
            _ => None,
        }
    }

    pub fn is_enum(&self, token: &str) -> bool {
        matches!(self.types.get(token), Some(TypeDef::Enum(_)))
    }
}

/// Only the root module (`<pkg>:index:<Name>`) is supported: the SDK layouts
/// below put every type in one module.
fn check_token(package: &str, token: &str) -> Result<(), GenError> {
    let parts: Vec<&str> = token.split(':').collect();
    let ok =
        parts.len() == 3 && parts[0] == package && parts[1] == "index" && is_identifier(parts[2]);
    if ok {
        Ok(())
    } else {
        Err(GenError::UnsupportedToken(token.to_string()))
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn as_object<'a>(json: &'a Json, at: &str) -> Result<&'a Map<String, Json>, GenError> {
    json.as_object().ok_or_else(|| GenError::Invalid {
        at: at.to_string(),
        reason: "expected an object".into(),
    })
}

fn string_field(obj: &Map<String, Json>, key: &str, at: &str) -> Result<Option<String>, GenError> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(GenError::Invalid {
            at: format!("{at}.{key}"),
            reason: "expected a string".into(),
        }),
    }
}

fn string_list(obj: &Map<String, Json>, key: &str, at: &str) -> Result<Vec<String>, GenError> {
    match obj.get(key) {
        None | Some(Json::Null) => Ok(Vec::new()),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| GenError::Invalid {
                        at: format!("{at}.{key}"),
                        reason: "expected a list of strings".into(),
                    })
            })
            .collect(),
        Some(_) => Err(GenError::Invalid {
            at: format!("{at}.{key}"),
            reason: "expected a list of strings".into(),
        }),
    }
}

fn string_pairs(json: Option<&Json>) -> Vec<(String, String)> {
    json.and_then(Json::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn resource(token: &str, spec: &Json, at: &str) -> Result<Resource, GenError> {
    let obj = as_object(spec, at)?;
    Ok(Resource {
        token: token.to_string(),
        description: string_field(obj, "description", at)?,
        properties: properties(obj.get("properties"), &format!("{at}.properties"))?,
        required: string_list(obj, "required", at)?,
        input_properties: properties(obj.get("inputProperties"), &format!("{at}.inputProperties"))?,
        required_inputs: string_list(obj, "requiredInputs", at)?,
    })
}

fn properties(json: Option<&Json>, at: &str) -> Result<Vec<Property>, GenError> {
    let Some(json) = json else {
        return Ok(Vec::new());
    };
    as_object(json, at)?
        .iter()
        .map(|(name, spec)| {
            let here = format!("{at}.{name}");
            if !is_identifier(name) {
                return Err(GenError::Invalid {
                    at: here,
                    reason: "property names must be identifiers".into(),
                });
            }
            let obj = as_object(spec, &here)?;
            let flag = |key: &str| obj.get(key).and_then(Json::as_bool).unwrap_or(false);
            Ok(Property {
                name: name.clone(),
                ty: type_ref(spec, &here)?,
                description: string_field(obj, "description", &here)?,
                secret: flag("secret"),
                replace_on_changes: flag("replaceOnChanges"),
                local_path: flag("localPath"),
                default: obj.get("default").filter(|d| !d.is_null()).cloned(),
            })
        })
        .collect()
}

fn type_ref(spec: &Json, at: &str) -> Result<TypeRef, GenError> {
    let obj = as_object(spec, at)?;
    if let Some(reference) = obj.get("$ref") {
        let reference = reference.as_str().unwrap_or_default();
        if let Some(token) = reference.strip_prefix("#/types/") {
            return Ok(TypeRef::Named(token.to_string()));
        }
        return match reference {
            "pulumi.json#/Any" | "pulumi.json#/Json" => Ok(TypeRef::Any),
            other => Err(GenError::UnsupportedType {
                at: at.to_string(),
                what: format!("$ref {other}"),
            }),
        };
    }
    match obj.get("type").and_then(Json::as_str) {
        Some("string") => Ok(TypeRef::String),
        Some("integer") => Ok(TypeRef::Integer),
        Some("number") => Ok(TypeRef::Number),
        Some("boolean") => Ok(TypeRef::Boolean),
        Some("array") => {
            let items = obj
                .get("items")
                .ok_or_else(|| GenError::missing(at, "items"))?;
            Ok(TypeRef::Array(Box::new(type_ref(
                items,
                &format!("{at}.items"),
            )?)))
        }
        Some("object") => match obj.get("additionalProperties") {
            Some(values) => Ok(TypeRef::Map(Box::new(type_ref(
                values,
                &format!("{at}.additionalProperties"),
            )?))),
            None => Ok(TypeRef::Map(Box::new(TypeRef::Any))),
        },
        Some(other) => Err(GenError::UnsupportedType {
            at: at.to_string(),
            what: format!("type {other}"),
        }),
        None => Err(GenError::missing(at, "type or $ref")),
    }
}

fn type_def(token: &str, spec: &Json) -> Result<TypeDef, GenError> {
    let at = format!("types.{token}");
    let obj = as_object(spec, &at)?;
    let description = string_field(obj, "description", &at)?;
    if let Some(values) = obj.get("enum") {
        let underlying = obj
            .get("type")
            .and_then(Json::as_str)
            .unwrap_or("string")
            .to_string();
        if !matches!(underlying.as_str(), "string" | "integer" | "number") {
            return Err(GenError::UnsupportedType {
                at,
                what: format!("enum of {underlying}"),
            });
        }
        let values = values
            .as_array()
            .ok_or_else(|| GenError::Invalid {
                at: format!("{at}.enum"),
                reason: "expected a list".into(),
            })?
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let here = format!("{at}.enum[{i}]");
                let v = as_object(v, &here)?;
                let value = v
                    .get("value")
                    .cloned()
                    .ok_or_else(|| GenError::missing(&here, "value"))?;
                let name = match v.get("name").and_then(Json::as_str) {
                    Some(n) => n.to_string(),
                    None => match &value {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                };
                Ok(EnumValue {
                    name,
                    value,
                    description: string_field(v, "description", &here)?,
                })
            })
            .collect::<Result<Vec<_>, GenError>>()?;
        return Ok(TypeDef::Enum(EnumType {
            token: token.to_string(),
            description,
            underlying,
            values,
        }));
    }
    match obj.get("type").and_then(Json::as_str) {
        Some("object") => Ok(TypeDef::Object(ObjectType {
            token: token.to_string(),
            description,
            properties: properties(obj.get("properties"), &format!("{at}.properties"))?,
            required: string_list(obj, "required", &at)?,
        })),
        other => Err(GenError::UnsupportedType {
            at,
            what: format!("named type of {}", other.unwrap_or("no type")),
        }),
    }
}
