//! Property values as the engine puts them on the wire.
//!
//! The harness keeps every property value as plain JSON (easy to write in tests
//! and to persist in the stack file) and converts to `google.protobuf.Struct`
//! only at the gRPC boundary. Unknowns, secrets and resource references are the
//! engine's own encodings (magic signature keys and sentinel strings), so a
//! provider sees exactly what the real engine would send.

use prost_types::{value::Kind, ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};

/// Key that marks a special object (secret, resource reference, asset...).
pub const SIG_KEY: &str = "4dabf18193072939515e22adb298388d";
/// Signature of a secret: `{SIG_KEY: SECRET_SIG, "value": v}`.
pub const SECRET_SIG: &str = "1b47061264138c4ac30d75fd1eb44270";
/// Signature of a resource reference: `{SIG_KEY: RESOURCE_SIG, "urn": u, "id": i}`.
pub const RESOURCE_SIG: &str = "5cf8f73096256a8f31e491e813e4eb8e";
/// Signature of an output value.
pub const OUTPUT_SIG: &str = "d0e6a833031e9bbcd3f4e8bde6ca49a4";

/// The unknown sentinel the engine almost always sends (a computed string).
pub const UNKNOWN: &str = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/// Every unknown sentinel the engine may send, by the type it stands for.
pub const UNKNOWN_BOOL: &str = "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7";
pub const UNKNOWN_NUMBER: &str = "3eeb2bf0-c639-47a8-9e75-3b44932eb421";
pub const UNKNOWN_ARRAY: &str = "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2";
pub const UNKNOWN_ASSET: &str = "030794c1-ac77-496b-92df-f27374a8bd58";
pub const UNKNOWN_ARCHIVE: &str = "e48ece36-62e2-4504-bad9-02848725956a";
pub const UNKNOWN_OBJECT: &str = "dd056dcd-154b-4c76-9bd3-c8f88648b5ff";
pub const ALL_UNKNOWNS: [&str; 7] = [
    UNKNOWN,
    UNKNOWN_BOOL,
    UNKNOWN_NUMBER,
    UNKNOWN_ARRAY,
    UNKNOWN_ASSET,
    UNKNOWN_ARCHIVE,
    UNKNOWN_OBJECT,
];

/// The generic unknown value, as JSON.
pub fn unknown() -> Json {
    Json::String(UNKNOWN.to_string())
}

/// True when `v` is one of the seven unknown sentinels.
pub fn is_unknown(v: &Json) -> bool {
    matches!(v, Json::String(s) if ALL_UNKNOWNS.contains(&s.as_str()))
}

/// True when `v` is, or contains anywhere (also inside secrets), an unknown.
pub fn contains_unknown(v: &Json) -> bool {
    match v {
        Json::String(_) => is_unknown(v),
        Json::Array(items) => items.iter().any(contains_unknown),
        Json::Object(map) => map.values().any(contains_unknown),
        _ => false,
    }
}

/// Wraps `v` as a secret.
pub fn secret(v: Json) -> Json {
    let mut m = Map::new();
    m.insert(SIG_KEY.to_string(), Json::String(SECRET_SIG.to_string()));
    m.insert("value".to_string(), v);
    Json::Object(m)
}

/// True when `v` is a secret wrapper.
pub fn is_secret(v: &Json) -> bool {
    has_sig(v, SECRET_SIG)
}

/// The value inside a secret wrapper, or `v` itself.
pub fn unwrap_secret(v: &Json) -> &Json {
    if is_secret(v) {
        v.get("value").unwrap_or(&Json::Null)
    } else {
        v
    }
}

/// A resource reference, as the engine sends it to providers that accept resources.
pub fn resource_ref(urn: &str, id: Option<&str>) -> Json {
    let mut m = Map::new();
    m.insert(SIG_KEY.to_string(), Json::String(RESOURCE_SIG.to_string()));
    m.insert("urn".to_string(), Json::String(urn.to_string()));
    if let Some(id) = id {
        m.insert("id".to_string(), Json::String(id.to_string()));
    }
    Json::Object(m)
}

fn has_sig(v: &Json, sig: &str) -> bool {
    v.get(SIG_KEY).and_then(Json::as_str) == Some(sig)
}

/// True when the JSON text contains `needle` anywhere (for "no secret leaked" checks).
pub fn mentions(v: &Json, needle: &str) -> bool {
    v.to_string().contains(needle)
}

/// JSON -> protobuf Value. Numbers become f64, as on the wire.
pub fn to_value(v: &Json) -> Value {
    let kind = match v {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(to_value).collect(),
        }),
        Json::Object(map) => Kind::StructValue(to_struct_map(map)),
    };
    Value { kind: Some(kind) }
}

fn to_struct_map(map: &Map<String, Json>) -> Struct {
    Struct {
        fields: map.iter().map(|(k, v)| (k.clone(), to_value(v))).collect(),
    }
}

/// JSON object -> Struct. A non-object becomes an empty Struct.
pub fn to_struct(v: &Json) -> Struct {
    match v {
        Json::Object(map) => to_struct_map(map),
        _ => Struct::default(),
    }
}

/// protobuf Value -> JSON. Whole numbers come back as integers so tests can
/// compare against `json!(1)`.
pub fn from_value(v: &Value) -> Json {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(s)) => from_struct(s),
    }
}

fn number(n: f64) -> Json {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Json::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map(Json::Number).unwrap_or(Json::Null)
    }
}

/// Struct -> JSON object (keys sorted, so comparisons are stable).
pub fn from_struct(s: &Struct) -> Json {
    let mut keys: Vec<&String> = s.fields.keys().collect();
    keys.sort();
    let mut map = Map::new();
    for k in keys {
        map.insert(k.clone(), from_value(&s.fields[k]));
    }
    Json::Object(map)
}

/// Optional Struct -> JSON object (missing = empty object).
pub fn from_opt_struct(s: Option<&Struct>) -> Json {
    s.map(from_struct)
        .unwrap_or_else(|| Json::Object(Map::new()))
}

/// The value at a property path such as `a.b`, `list[0]` or `["k.x"]`, in the
/// engine's grammar (see `crate::path`); `None` when it does not parse or
/// leads nowhere. Secrets met on the way are unwrapped; the second element
/// says whether any was.
pub fn get_path<'a>(root: &'a Json, path: &str) -> Option<(&'a Json, bool)> {
    crate::path::PropertyPath::parse(path).ok()?.get(root)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn struct_round_trip_keeps_types_and_specials() {
        let v = json!({
            "s": "x", "n": 3, "f": 1.5, "b": true, "z": null,
            "l": [1, UNKNOWN_BOOL, {"k": "v"}],
            "sec": secret(json!({"inner": UNKNOWN})),
            "ref": resource_ref("urn:pulumi:s::p::t::n", Some("id-1")),
        });
        let back = from_struct(&to_struct(&v));
        assert_eq!(back, v);
        assert!(contains_unknown(&back["sec"]));
        assert!(is_secret(&back["sec"]));
    }

    #[test]
    fn paths_walk_objects_lists_quoted_keys_and_secrets() {
        let v = json!({"a": {"b": [10, {"c.d": 5}]}, "s": secret(json!({"x": 1}))});
        assert_eq!(get_path(&v, "a.b[0]"), Some((&json!(10), false)));
        assert_eq!(get_path(&v, "a.b[1][\"c.d\"]"), Some((&json!(5), false)));
        assert_eq!(get_path(&v, "s.x"), Some((&json!(1), true)));
        assert_eq!(get_path(&v, "s"), Some((&json!({"x": 1}), true)));
        assert_eq!(get_path(&v, "missing"), None);
    }
}
