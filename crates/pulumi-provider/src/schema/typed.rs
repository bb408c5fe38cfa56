//! Typed values to and from the engine's value model.
//!
//! Resources work on plain serde structs. Going in, secrets are unwrapped and
//! unknowns replaced by a placeholder of the right type, and both are
//! remembered by path; going out, those paths (plus every property the shape
//! declares secret) are wrapped again, so a resource can neither lose an
//! unknown nor leak a secret by forgetting about it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value as Json;

use super::{ObjectShape, Shape};
use crate::wire::path::{Path, Segment};
use crate::wire::value::Value;

/// Where the unknowns and secrets were in a decoded input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Annotations {
    /// Paths whose values were unknown.
    pub unknown: BTreeSet<Path>,
    /// Paths whose values were secret.
    pub secret: BTreeSet<Path>,
}

impl Annotations {
    /// True when any value was unknown.
    pub fn has_unknowns(&self) -> bool {
        !self.unknown.is_empty()
    }

    /// True when `top` or anything inside it is unknown.
    pub fn is_unknown(&self, top: &str) -> bool {
        self.unknown.iter().any(|p| p.top_level() == Some(top))
    }

    /// Adds `other`'s paths.
    pub fn merge(&mut self, other: &Annotations) {
        self.unknown.extend(other.unknown.iter().cloned());
        self.secret.extend(other.secret.iter().cloned());
    }
}

/// Decodes an input map into plain JSON, following `shape` for placeholders.
pub fn decode(map: &BTreeMap<String, Value>, shape: &ObjectShape) -> (Json, Annotations) {
    let mut ann = Annotations::default();
    let json = decode_object(map, Some(shape), &Path::root(), &mut ann);
    (json, ann)
}

fn decode_object(
    map: &BTreeMap<String, Value>,
    shape: Option<&ObjectShape>,
    at: &Path,
    ann: &mut Annotations,
) -> Json {
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let prop_shape = shape.and_then(|s| s.property(key)).map(|p| &p.shape);
        let json = decode_value(value, prop_shape, &at.key(key), ann);
        if !json.is_null() {
            out.insert(key.clone(), json);
        }
    }
    Json::Object(out)
}

fn decode_value(value: &Value, shape: Option<&Shape>, at: &Path, ann: &mut Annotations) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => number(*n, shape),
        Value::String(s) => Json::String(s.clone()),
        Value::Unknown | Value::Output { value: None, .. } => {
            ann.unknown.insert(at.clone());
            shape.map(placeholder).unwrap_or(Json::Null)
        }
        Value::Output {
            value: Some(inner),
            secret,
        } => {
            if *secret {
                ann.secret.insert(at.clone());
            }
            decode_value(inner, shape, at, ann)
        }
        Value::Secret(inner) => {
            ann.secret.insert(at.clone());
            decode_value(inner, shape, at, ann)
        }
        Value::ResourceRef { urn, id } => match id.as_deref() {
            Some(Value::String(id)) if !id.is_empty() => Json::String(id.clone()),
            Some(Value::Unknown) => {
                ann.unknown.insert(at.clone());
                Json::String(String::new())
            }
            _ => Json::String(urn.clone()),
        },
        Value::Array(items) => {
            let item_shape = match shape {
                Some(Shape::Array(inner)) => Some(inner.as_ref()),
                _ => None,
            };
            Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| decode_value(v, item_shape, &at.index(i), ann))
                    .collect(),
            )
        }
        Value::Object(map) => match shape {
            Some(Shape::Object(o)) => decode_object(map, Some(o), at, ann),
            Some(Shape::Map(inner)) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), decode_value(v, Some(inner), &at.key(k), ann));
                }
                Json::Object(out)
            }
            _ => decode_object(map, None, at, ann),
        },
    }
}

fn number(n: f64, shape: Option<&Shape>) -> Json {
    let integral = n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15;
    if integral && !matches!(shape, Some(Shape::Number)) {
        Json::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number)
    }
}

/// A stand-in of the right type for an unknown value, so the typed struct
/// still decodes; the real value's absence is recorded in `Annotations`.
fn placeholder(shape: &Shape) -> Json {
    match shape {
        Shape::Any => Json::Null,
        Shape::String => Json::String(String::new()),
        Shape::Integer | Shape::Unsigned | Shape::Number => Json::from(0),
        Shape::Bool => Json::Bool(false),
        Shape::Array(_) => Json::Array(Vec::new()),
        Shape::Map(_) => Json::Object(serde_json::Map::new()),
        Shape::Enum(e) => e
            .values
            .first()
            .map_or(Json::Null, |(v, _)| Json::String(v.clone())),
        Shape::Object(o) => Json::Object(
            o.properties
                .iter()
                .filter(|(_, p)| p.required)
                .map(|(name, p)| (name.clone(), placeholder(&p.shape)))
                .collect(),
        ),
    }
}

/// Encodes plain JSON back to engine values: restores unknowns, wraps
/// secrets recorded in `ann` and every property `shape` declares secret.
pub fn encode(json: &Json, shape: &ObjectShape, ann: &Annotations) -> BTreeMap<String, Value> {
    let mut root = json_to_value(json);
    for path in &ann.unknown {
        set_at(&mut root, &path.0, |v| *v = Value::Unknown);
    }
    for path in &ann.secret {
        set_at(&mut root, &path.0, |v| {
            let plain = std::mem::replace(v, Value::Null);
            *v = plain.into_secret();
        });
    }
    if let Value::Object(map) = &mut root {
        wrap_declared_secrets(map, shape);
    }
    match root {
        Value::Object(map) => map,
        _ => BTreeMap::new(),
    }
}

fn wrap_declared_secrets(map: &mut BTreeMap<String, Value>, shape: &ObjectShape) {
    for (name, prop) in &shape.properties {
        if let Some(value) = map.get_mut(name) {
            if prop.secret {
                let plain = std::mem::replace(value, Value::Null);
                *value = plain.into_secret();
            } else {
                wrap_nested(value, &prop.shape);
            }
        }
    }
}

fn wrap_nested(value: &mut Value, shape: &Shape) {
    match (value, shape) {
        (Value::Object(map), Shape::Object(o)) => wrap_declared_secrets(map, o),
        (Value::Object(map), Shape::Map(inner)) => {
            map.values_mut().for_each(|v| wrap_nested(v, inner))
        }
        (Value::Array(items), Shape::Array(inner)) => {
            items.iter_mut().for_each(|v| wrap_nested(v, inner))
        }
        (Value::Secret(v), shape) => wrap_nested(v, shape),
        _ => {}
    }
}

/// Applies `f` to the value at `path` if it exists (looking through secrets).
fn set_at(value: &mut Value, path: &[Segment], f: impl FnOnce(&mut Value)) {
    let Some((first, rest)) = path.split_first() else {
        f(value);
        return;
    };
    let next = match (value, first) {
        (Value::Secret(inner), _) => return set_at(inner, path, f),
        (Value::Object(map), Segment::Key(k)) => map.get_mut(k),
        (Value::Array(items), Segment::Index(i)) => items.get_mut(*i),
        _ => None,
    };
    if let Some(next) = next {
        set_at(next, rest, f);
    }
}

/// Plain JSON to an engine value (nulls inside objects are dropped).
pub fn json_to_value(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(json_to_value).collect()),
        Json::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

/// Plain JSON of an engine value: secrets unwrapped, unknowns as null.
/// For comparisons and logs of values that are already known to be plain.
pub fn value_to_json(value: &Value) -> Json {
    let mut ann = Annotations::default();
    decode_value(value, None, &Path::root(), &mut ann)
}

/// The top-level property whose value makes `json` fail to decode as `T`:
/// the first one that, replaced by a placeholder of its shape, lets the
/// rest decode. `None` when no single property is to blame.
pub fn culprit<T: DeserializeOwned>(json: &Json, shape: &ObjectShape) -> Option<String> {
    let map = json.as_object()?;
    map.keys().find_map(|key| {
        let prop = shape.property(key)?;
        let mut trial = map.clone();
        trial.insert(key.clone(), placeholder(&prop.shape));
        serde_json::from_value::<T>(Json::Object(trial))
            .is_ok()
            .then(|| key.clone())
    })
}

/// serde decode with the failing field's path in the message.
pub fn from_json<T: DeserializeOwned>(json: Json) -> Result<T, String> {
    serde_json::from_value(json).map_err(|e| e.to_string())
}

/// serde encode, with the error as text.
pub fn to_json<T: Serialize>(value: &T) -> Result<Json, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}
