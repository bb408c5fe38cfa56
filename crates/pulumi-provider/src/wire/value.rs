//! The engine's value model, decoded from `google.protobuf.Struct`.
//!
//! Protobuf's Struct cannot say "unknown", "secret" or "resource reference",
//! so the engine smuggles them in as magic strings and signature-tagged
//! objects. This module turns those into an explicit enum once, at the edge,
//! so nothing else ever compares against a sentinel string.

use std::collections::BTreeMap;

use prost_types::value::Kind;

/// Key that marks a special object (secret, resource reference, ...).
pub const SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
/// Signature of a secret.
pub const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";
/// Signature of a resource reference.
pub const RESOURCE_REF_SIG: &str = "5cf8f73096256a8f31e491e813e4eb8e";
/// Signature of an output value.
pub const OUTPUT_SIG: &str = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/// Signature of an asset.
pub const ASSET_SIG: &str = "c44067f5952c0a294b673a41bacd8c17";
/// Signature of an archive.
pub const ARCHIVE_SIG: &str = "0def7320c3a5731c473e5ecbe6d01bc7";

/// The unknown sentinel the engine sends for any type.
pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/// All seven unknown sentinels (any, bool, number, array, asset, archive, object).
pub const UNKNOWN_SENTINELS: [&str; 7] = [
    UNKNOWN,
    "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
    "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
    "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
    "030794c1-ac77-496b-92df-f27374a8bd58",
    "e48ece36-62e2-4504-bad9-02848725956a",
    "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
];

/// A property value as the engine means it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value.
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (the wire has only doubles).
    Number(f64),
    /// A string.
    String(String),
    /// A list.
    Array(Vec<Value>),
    /// An object or map.
    Object(BTreeMap<String, Value>),
    /// A value the engine does not know yet (preview only).
    Unknown,
    /// A secret wrapping its plain value.
    Secret(Box<Value>),
    /// A reference to another resource; providers see it as its id (or urn).
    ResourceRef {
        /// The referenced resource's URN.
        urn: String,
        /// Its id, for custom resources (may be unknown).
        id: Option<Box<Value>>,
    },
    /// An output value with known-ness, secretness and dependencies.
    Output {
        /// The value; `None` when unknown.
        value: Option<Box<Value>>,
        /// Whether the value is secret.
        secret: bool,
    },
}

/// The deepest nesting of lists and objects a property value may have.
/// Deeper values fail Check with a failure naming the property (protobuf
/// decoding itself stops at 100 levels, before any property is known).
pub const MAX_DEPTH: usize = 32;

impl Value {
    /// The path (below this value) of the first list or object nested more
    /// than `limit` levels deep; secret and output wrappers are no level.
    pub fn nested_deeper_than(&self, limit: usize) -> Option<crate::wire::path::Path> {
        fn walk(
            v: &Value,
            at: crate::wire::path::Path,
            depth: usize,
            limit: usize,
        ) -> Option<crate::wire::path::Path> {
            match v {
                Value::Secret(inner) => walk(inner, at, depth, limit),
                Value::Output {
                    value: Some(inner), ..
                } => walk(inner, at, depth, limit),
                Value::Array(_) | Value::Object(_) if depth >= limit => Some(at),
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .find_map(|(i, item)| walk(item, at.index(i), depth + 1, limit)),
                Value::Object(map) => map
                    .iter()
                    .find_map(|(k, item)| walk(item, at.key(k), depth + 1, limit)),
                _ => None,
            }
        }
        walk(self, crate::wire::path::Path::root(), 0, limit)
    }

    /// True for `Unknown` itself.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    /// True when this value or anything inside it is unknown.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::Output { value: None, .. } => true,
            Value::Output { value: Some(v), .. } => v.contains_unknown(),
            Value::Array(items) => items.iter().any(Value::contains_unknown),
            Value::Object(map) => map.values().any(Value::contains_unknown),
            Value::Secret(inner) => inner.contains_unknown(),
            Value::ResourceRef { id: Some(id), .. } => id.contains_unknown(),
            _ => false,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// Wraps in a secret unless it already is one.
    pub fn into_secret(self) -> Value {
        match self {
            Value::Secret(_) => self,
            other => Value::Secret(Box::new(other)),
        }
    }

    /// Short type name for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Unknown => "unknown",
            Value::Secret(_) => "secret",
            Value::ResourceRef { .. } => "resource reference",
            Value::Output { .. } => "output",
        }
    }

    /// Decodes a protobuf Struct.
    pub fn from_struct(s: &prost_types::Struct) -> BTreeMap<String, Value> {
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_proto(v)))
            .collect()
    }

    /// Decodes an optional protobuf Struct (absent = empty).
    pub fn from_opt_struct(s: Option<&prost_types::Struct>) -> BTreeMap<String, Value> {
        s.map(Value::from_struct).unwrap_or_default()
    }

    /// Decodes one protobuf value.
    pub fn from_proto(v: &prost_types::Value) -> Value {
        match &v.kind {
            None | Some(Kind::NullValue(_)) => Value::Null,
            Some(Kind::BoolValue(b)) => Value::Bool(*b),
            Some(Kind::NumberValue(n)) => Value::Number(*n),
            Some(Kind::StringValue(s)) if UNKNOWN_SENTINELS.contains(&s.as_str()) => Value::Unknown,
            Some(Kind::StringValue(s)) => Value::String(s.clone()),
            Some(Kind::ListValue(l)) => {
                Value::Array(l.values.iter().map(Value::from_proto).collect())
            }
            Some(Kind::StructValue(s)) => Value::from_special(s),
        }
    }

    fn from_special(s: &prost_types::Struct) -> Value {
        let sig = s.fields.get(SIG_KEY).and_then(|v| match &v.kind {
            Some(Kind::StringValue(sig)) => Some(sig.as_str()),
            _ => None,
        });
        let field = |name: &str| s.fields.get(name).map(Value::from_proto);
        match sig {
            Some(SECRET_SIG) => Value::Secret(Box::new(field("value").unwrap_or(Value::Null))),
            Some(RESOURCE_REF_SIG) => Value::ResourceRef {
                urn: field("urn")
                    .and_then(|u| u.as_str().map(str::to_owned))
                    .unwrap_or_default(),
                id: field("id").map(Box::new),
            },
            Some(OUTPUT_SIG) => {
                let secret = matches!(field("secret"), Some(Value::Bool(true)));
                Value::Output {
                    value: field("value").map(Box::new),
                    secret,
                }
            }
            _ => Value::Object(
                s.fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::from_proto(v)))
                    .collect(),
            ),
        }
    }

    /// Encodes to a protobuf value.
    pub fn to_proto(&self) -> prost_types::Value {
        let kind = match self {
            Value::Null => Kind::NullValue(0),
            Value::Bool(b) => Kind::BoolValue(*b),
            Value::Number(n) => Kind::NumberValue(*n),
            Value::String(s) => Kind::StringValue(s.clone()),
            Value::Unknown => Kind::StringValue(UNKNOWN.to_string()),
            Value::Array(items) => Kind::ListValue(prost_types::ListValue {
                values: items.iter().map(Value::to_proto).collect(),
            }),
            Value::Object(map) => Kind::StructValue(to_struct(map)),
            Value::Secret(inner) => Kind::StructValue(special(
                SECRET_SIG,
                [("value", inner.to_proto())].into_iter(),
            )),
            Value::ResourceRef { urn, id } => {
                let mut fields = vec![("urn", Value::String(urn.clone()).to_proto())];
                if let Some(id) = id {
                    fields.push(("id", id.to_proto()));
                }
                Kind::StructValue(special(RESOURCE_REF_SIG, fields.into_iter()))
            }
            Value::Output { value, secret } => {
                let mut fields = vec![("secret", Value::Bool(*secret).to_proto())];
                if let Some(v) = value {
                    fields.push(("value", v.to_proto()));
                }
                Kind::StructValue(special(OUTPUT_SIG, fields.into_iter()))
            }
        };
        prost_types::Value { kind: Some(kind) }
    }
}

fn special<'a>(
    sig: &str,
    fields: impl Iterator<Item = (&'a str, prost_types::Value)>,
) -> prost_types::Struct {
    let mut out = prost_types::Struct::default();
    out.fields.insert(
        SIG_KEY.to_string(),
        Value::String(sig.to_string()).to_proto(),
    );
    for (k, v) in fields {
        out.fields.insert(k.to_string(), v);
    }
    out
}

/// Encodes a property map as a protobuf Struct.
pub fn to_struct(map: &BTreeMap<String, Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: map.iter().map(|(k, v)| (k.clone(), v.to_proto())).collect(),
    }
}
