//! Structural validation of inputs against a resource's shape.
//!
//! serde stops at the first error; users need every bad property named at
//! once, on the property, so Check walks the whole input first.

use std::collections::BTreeMap;

use super::shape::{ObjectShape, Shape};
use crate::wire::path::Path;
use crate::wire::value::{Value, MAX_DEPTH};

/// One problem with one property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The property, in the engine's path notation (empty: the whole input).
    pub property: String,
    /// What is wrong and what would be right.
    pub reason: String,
}

impl Failure {
    /// A failure of `property`.
    pub fn new(property: impl Into<String>, reason: impl Into<String>) -> Self {
        Failure {
            property: property.into(),
            reason: reason.into(),
        }
    }
}

/// Every failure in `inputs`, or none.
pub fn validate(inputs: &BTreeMap<String, Value>, shape: &ObjectShape) -> Vec<Failure> {
    let mut failures = Vec::new();
    check_object(inputs, shape, &Path::root(), false, &mut failures);
    failures
}

/// Every failure in `inputs`, leaving out the `recorded` paths (dotted
/// property names such as `context.files`): values Check records itself,
/// which the engine copies back from the old inputs for `ignoreChanges`.
pub fn validate_except(
    inputs: &BTreeMap<String, Value>,
    shape: &ObjectShape,
    recorded: &[&str],
) -> Vec<Failure> {
    if recorded.is_empty() {
        return validate(inputs, shape);
    }
    let mut inputs = inputs.clone();
    for path in recorded {
        remove(&mut inputs, path);
    }
    validate(&inputs, shape)
}

fn remove(map: &mut BTreeMap<String, Value>, path: &str) {
    let Some((head, rest)) = path.split_once('.') else {
        map.remove(path);
        return;
    };
    let mut at = map.get_mut(head);
    while let Some(Value::Secret(inner)) = at {
        at = Some(inner.as_mut());
    }
    if let Some(Value::Object(inner)) = at {
        remove(inner, rest);
    }
}

/// `secret`: the values here are secret (sent as secrets, inside one, or
/// declared secret), so failures describe them without showing them.
fn check_object(
    map: &BTreeMap<String, Value>,
    shape: &ObjectShape,
    at: &Path,
    secret: bool,
    out: &mut Vec<Failure>,
) {
    for (key, value) in map {
        let path = at.key(key);
        if at.0.is_empty() {
            if let Some(deep) = value.nested_deeper_than(MAX_DEPTH) {
                let mut where_ = path.clone();
                where_.0.extend(deep.0);
                out.push(Failure::new(
                    where_.to_string(),
                    format!(
                        "nested more than {MAX_DEPTH} levels deep; no input of this provider is"
                    ),
                ));
                continue;
            }
        }
        match shape.property(key) {
            Some(prop) => check_value(value, &prop.shape, &path, secret || prop.secret, out),
            None => {
                let known: Vec<&str> = shape.properties.iter().map(|(n, _)| n.as_str()).collect();
                out.push(Failure::new(
                    path.to_string(),
                    format!(
                        "unknown property \"{key}\"; valid properties are: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
    }
    for (name, prop) in &shape.properties {
        let present = map.get(name).is_some_and(|v| !matches!(v, Value::Null));
        if prop.required && !present {
            out.push(Failure::new(
                at.key(name).to_string(),
                format!(
                    "missing required property \"{name}\" ({})",
                    prop.shape.describe()
                ),
            ));
        }
    }
}

fn check_value(value: &Value, shape: &Shape, at: &Path, secret: bool, out: &mut Vec<Failure>) {
    let mismatch = |out: &mut Vec<Failure>| {
        let got = if secret {
            format!("a secret {} (not shown)", value.kind_name())
        } else {
            describe_value(value)
        };
        out.push(Failure::new(
            at.to_string(),
            format!("expected {}, got {got}", shape.describe()),
        ))
    };
    match (value, shape) {
        (Value::Unknown | Value::Null, _) | (_, Shape::Any) => {}
        (Value::Output { value: None, .. }, _) => {}
        (
            Value::Output {
                value: Some(v),
                secret: s,
            },
            _,
        ) => check_value(v, shape, at, secret || *s, out),
        (Value::Secret(inner), _) => check_value(inner, shape, at, true, out),
        (Value::ResourceRef { .. }, Shape::String) => {}
        (Value::String(_), Shape::String) | (Value::Bool(_), Shape::Bool) => {}
        (Value::Number(n), Shape::Number) if n.is_finite() => {}
        (Value::Number(n), Shape::Unsigned) if *n < 0.0 => {
            let got = if secret {
                "a secret negative number (not shown)".to_string()
            } else {
                n.to_string()
            };
            out.push(Failure::new(
                at.to_string(),
                format!("must be 0 or more, got {got}"),
            ));
        }
        (Value::Number(n), Shape::Integer | Shape::Unsigned) => {
            if !(n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15) {
                let got = if secret {
                    "a secret number (not shown)".to_string()
                } else {
                    n.to_string()
                };
                out.push(Failure::new(
                    at.to_string(),
                    format!("expected an integer, got {got}"),
                ));
            }
        }
        (Value::String(s), Shape::Enum(e)) => {
            if !e.values.iter().any(|(v, _)| v == s) {
                mismatch(out);
            }
        }
        (Value::Array(items), Shape::Array(item_shape)) => {
            for (i, item) in items.iter().enumerate() {
                if is_null(item) && !matches!(**item_shape, Shape::Any) {
                    out.push(Failure::new(
                        at.index(i).to_string(),
                        format!(
                            "a list element is null; remove it or give {}",
                            item_shape.describe()
                        ),
                    ));
                    continue;
                }
                check_value(item, item_shape, &at.index(i), secret, out);
            }
        }
        (Value::Object(map), Shape::Map(value_shape)) => {
            for (k, v) in map {
                if is_null(v) && !matches!(**value_shape, Shape::Any) {
                    out.push(Failure::new(
                        at.key(k).to_string(),
                        format!(
                            "a map value is null; remove the key or give {}",
                            value_shape.describe()
                        ),
                    ));
                    continue;
                }
                check_value(v, value_shape, &at.key(k), secret, out);
            }
        }
        (Value::Object(map), Shape::Object(object)) => check_object(map, object, at, secret, out),
        _ => mismatch(out),
    }
}

/// Null, also when wrapped as a secret or an output.
fn is_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Secret(inner) => is_null(inner),
        Value::Output {
            value: Some(inner), ..
        } => is_null(inner),
        _ => false,
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::String(s) if s.len() <= 40 => format!("string \"{s}\""),
        Value::Number(n) => format!("number {n}"),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Secret(_) => "a secret".into(),
        other => other.kind_name().to_string(),
    }
}

/// Explicit providers from the Node and Python SDKs send every non-string
/// config value JSON-encoded as a string; turn those back into values where
/// the shape expects something other than a string.
pub fn coerce_json_strings(map: &mut BTreeMap<String, Value>, shape: &ObjectShape) {
    for (key, value) in map.iter_mut() {
        if let Some(prop) = shape.property(key) {
            coerce(value, &prop.shape);
        }
    }
}

fn coerce(value: &mut Value, shape: &Shape) {
    match value {
        Value::Secret(inner) => coerce(inner, shape),
        Value::String(s) if !matches!(shape, Shape::String | Shape::Enum(_) | Shape::Any) => {
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(s) {
                *value = super::typed::json_to_value(&json);
                coerce(value, shape);
            }
        }
        Value::Object(map) => match shape {
            Shape::Object(o) => coerce_json_strings(map, o),
            Shape::Map(inner) => map.values_mut().for_each(|v| coerce(v, inner)),
            _ => {}
        },
        Value::Array(items) => {
            if let Shape::Array(inner) = shape {
                items.iter_mut().for_each(|v| coerce(v, inner));
            }
        }
        _ => {}
    }
}
