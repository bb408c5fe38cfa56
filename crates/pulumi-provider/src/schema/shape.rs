//! The shape of a resource's inputs and outputs, derived from its Rust types.
//!
//! Resource structs derive `schemars::JsonSchema`; this module reduces that
//! JSON Schema to the handful of shapes Pulumi knows (string, integer,
//! number, boolean, array, map, object, enum). The same shape drives the
//! package schema, input validation, unknown placeholders and secret marking,
//! so the schema can never disagree with the code.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde_json::{Map, Value as Json};

/// A value's shape, as Pulumi's type system has it.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// Anything (`pulumi.json#/Any`).
    Any,
    /// A string.
    String,
    /// A whole number.
    Integer,
    /// A whole number that cannot be negative (Rust's unsigned integers;
    /// `integer` in the package schema).
    Unsigned,
    /// A floating-point number.
    Number,
    /// A boolean.
    Bool,
    /// A list of one shape.
    Array(Box<Shape>),
    /// A map from strings to one shape.
    Map(Box<Shape>),
    /// An object with named properties.
    Object(Arc<ObjectShape>),
    /// A string from a fixed set.
    Enum(Arc<EnumShape>),
}

/// An object's properties, in declaration order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectShape {
    /// Type name for the package schema's `types` section (nested types only).
    pub name: Option<String>,
    /// Doc comment of the Rust type.
    pub description: Option<String>,
    /// Wire name and property, in declaration order.
    pub properties: Vec<(String, Property)>,
}

impl ObjectShape {
    /// The property with this wire name.
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p)
    }
}

/// One property of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// Its value's shape.
    pub shape: Shape,
    /// Must be set (not `Option`, no serde default).
    pub required: bool,
    /// Doc comment of the Rust field.
    pub description: Option<String>,
    /// Marked `#[schemars(extend("secret" = true))]`: always secret on the wire.
    pub secret: bool,
    /// Marked `#[schemars(extend("replaceOnChanges" = true))]`.
    pub replace_on_changes: bool,
    /// Marked `#[schemars(extend("localPath" = true))]`: a filesystem path on
    /// the machine that runs the program. The schema says so (`localPath`), so
    /// SDKs can make a relative one absolute where the program runs.
    pub local_path: bool,
    /// serde default, when it is a plain value.
    pub default: Option<Json>,
}

/// A string enum.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumShape {
    /// Type name for the package schema's `types` section.
    pub name: Option<String>,
    /// Doc comment of the Rust type.
    pub description: Option<String>,
    /// (value, description)
    pub values: Vec<(String, Option<String>)>,
}

impl Shape {
    /// Human name for error messages.
    pub fn describe(&self) -> String {
        match self {
            Shape::Any => "any value".into(),
            Shape::String => "a string".into(),
            Shape::Integer => "an integer".into(),
            Shape::Unsigned => "a whole number of 0 or more".into(),
            Shape::Number => "a number".into(),
            Shape::Bool => "a boolean".into(),
            Shape::Array(_) => "a list".into(),
            Shape::Map(_) => "a map of values".into(),
            Shape::Object(_) => "an object".into(),
            Shape::Enum(e) => format!(
                "one of {}",
                e.values
                    .iter()
                    .map(|(v, _)| format!("\"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The object shape of a Rust type.
pub fn object_shape_of<T: JsonSchema>() -> Arc<ObjectShape> {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let root = generator.into_root_schema_for::<T>();
    let root = root.as_value().clone();
    let defs = root
        .get("$defs")
        .and_then(Json::as_object)
        .cloned()
        .unwrap_or_default();
    let reducer = Reducer { defs };
    match reducer.shape(&root, None) {
        Shape::Object(o) => {
            let mut o = (*o).clone();
            o.name = None;
            Arc::new(o)
        }
        _ => Arc::new(ObjectShape::default()),
    }
}

struct Reducer {
    defs: Map<String, Json>,
}

impl Reducer {
    fn shape(&self, schema: &Json, name: Option<&str>) -> Shape {
        let Some(obj) = schema.as_object() else {
            return Shape::Any;
        };
        if let Some(reference) = obj.get("$ref").and_then(Json::as_str) {
            let def_name = reference.rsplit('/').next().unwrap_or(reference);
            return match self.defs.get(def_name) {
                Some(def) => self.shape(def, Some(def_name)),
                None => Shape::Any,
            };
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(alternatives) = obj.get(key).and_then(Json::as_array) {
                let non_null: Vec<&Json> = alternatives.iter().filter(|a| !is_null(a)).collect();
                if non_null.len() == 1 {
                    return self.shape(non_null[0], name);
                }
                if let Some(e) = enum_of(&non_null, name, obj) {
                    return e;
                }
                return Shape::Any;
            }
        }
        if let Some(values) = obj.get("enum").and_then(Json::as_array) {
            return Shape::Enum(Arc::new(EnumShape {
                name: name.map(str::to_owned),
                description: description(obj),
                values: values
                    .iter()
                    .filter_map(Json::as_str)
                    .map(|v| (v.to_owned(), None))
                    .collect(),
            }));
        }
        match primary_type(obj) {
            Some("string") => Shape::String,
            Some("integer")
                if obj
                    .get("minimum")
                    .and_then(Json::as_f64)
                    .is_some_and(|m| m >= 0.0) =>
            {
                Shape::Unsigned
            }
            Some("integer") => Shape::Integer,
            Some("number") => Shape::Number,
            Some("boolean") => Shape::Bool,
            Some("array") => Shape::Array(Box::new(
                obj.get("items").map_or(Shape::Any, |i| self.shape(i, None)),
            )),
            Some("object") => {
                if let Some(props) = obj.get("properties").and_then(Json::as_object) {
                    Shape::Object(Arc::new(self.object(obj, props, name)))
                } else {
                    Shape::Map(Box::new(
                        obj.get("additionalProperties")
                            .map_or(Shape::Any, |a| self.shape(a, None)),
                    ))
                }
            }
            _ => Shape::Any,
        }
    }

    fn object(
        &self,
        obj: &Map<String, Json>,
        props: &Map<String, Json>,
        name: Option<&str>,
    ) -> ObjectShape {
        let required: Vec<&str> = obj
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let properties = props
            .iter()
            .map(|(prop_name, schema)| {
                let flag = |key: &str| schema.get(key).and_then(Json::as_bool).unwrap_or(false);
                let property = Property {
                    shape: self.shape(schema, None),
                    required: required.contains(&prop_name.as_str()),
                    description: schema.as_object().and_then(description),
                    secret: flag("secret"),
                    replace_on_changes: flag("replaceOnChanges"),
                    local_path: flag("localPath"),
                    default: schema.get("default").filter(|d| !d.is_null()).cloned(),
                };
                (prop_name.clone(), property)
            })
            .collect();
        ObjectShape {
            name: name.map(str::to_owned),
            description: description(obj),
            properties,
        }
    }
}

fn is_null(schema: &Json) -> bool {
    schema.get("type").and_then(Json::as_str) == Some("null")
}

fn primary_type(obj: &Map<String, Json>) -> Option<&str> {
    match obj.get("type")? {
        Json::String(t) => Some(t),
        Json::Array(types) => types.iter().filter_map(Json::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// Doc comments wrap lines; descriptions keep only paragraph breaks.
fn description(obj: &Map<String, Json>) -> Option<String> {
    let text = obj.get("description").and_then(Json::as_str)?;
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(" "))
        .collect();
    Some(paragraphs.join("\n\n"))
}

/// `oneOf` of string constants (documented enum variants) becomes an enum.
fn enum_of(alternatives: &[&Json], name: Option<&str>, obj: &Map<String, Json>) -> Option<Shape> {
    let mut values = Vec::new();
    for alt in alternatives {
        let alt = alt.as_object()?;
        let doc = description(alt);
        if let Some(c) = alt.get("const").and_then(Json::as_str) {
            values.push((c.to_owned(), doc));
        } else if let Some(list) = alt.get("enum").and_then(Json::as_array) {
            for v in list {
                values.push((v.as_str()?.to_owned(), doc.clone()));
            }
        } else {
            return None;
        }
    }
    Some(Shape::Enum(Arc::new(EnumShape {
        name: name.map(str::to_owned),
        description: description(obj),
        values,
    })))
}

/// Every named nested type reachable from `shape`, by name.
pub fn collect_named(shape: &Shape, out: &mut BTreeMap<String, Shape>) {
    match shape {
        Shape::Array(inner) | Shape::Map(inner) => collect_named(inner, out),
        Shape::Object(o) => {
            if let Some(name) = &o.name {
                if out.insert(name.clone(), shape.clone()).is_some() {
                    return;
                }
            }
            for (_, p) in &o.properties {
                collect_named(&p.shape, out);
            }
        }
        Shape::Enum(e) => {
            if let Some(name) = &e.name {
                out.insert(name.clone(), shape.clone());
            }
        }
        _ => {}
    }
}
