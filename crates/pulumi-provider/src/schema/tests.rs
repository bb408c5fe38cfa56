//! Round-trip tests for the wire layer.

use std::collections::BTreeMap;

use proptest::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::typed::{decode, encode, from_json, to_json};
use super::{
    object_shape_of,
    validate::{validate, validate_except},
};
use crate::wire::path::Path;
use crate::wire::value::{Value, UNKNOWN_SENTINELS};

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-1.0e12f64..1.0e12).prop_map(Value::Number),
        "[a-z0-9 ]{0,12}".prop_map(Value::String),
        Just(Value::Unknown),
    ];
    leaf.prop_recursive(4, 40, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_.]{1,8}", inner.clone(), 0..5)
                .prop_map(Value::Object),
            inner.clone().prop_map(|v| Value::Secret(Box::new(v))),
            ("urn:[a-z:]{1,10}", prop::option::of("[a-z0-9-]{1,10}")).prop_map(|(urn, id)| {
                Value::ResourceRef {
                    urn,
                    id: id.map(|i| Box::new(Value::String(i))),
                }
            }),
        ]
    })
}

proptest! {
    #[test]
    fn proto_round_trip_preserves_every_value(v in arb_value()) {
        let back = Value::from_proto(&v.to_proto());
        prop_assert_eq!(back, v);
    }

    #[test]
    fn every_unknown_sentinel_is_recognised_anywhere(i in 0usize..7, depth in 0usize..4) {
        let mut v = Value::String(UNKNOWN_SENTINELS[i].to_string());
        for level in 0..depth {
            v = match level % 3 {
                0 => Value::Array(vec![Value::Null, v]),
                1 => Value::Secret(Box::new(v)),
                _ => Value::Object(BTreeMap::from([("k".to_string(), v)])),
            };
        }
        let back = Value::from_proto(&v.to_proto());
        prop_assert!(back.contains_unknown());
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Sample {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ratio: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    items: Option<Vec<Item>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("secret" = true))]
    password: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Item {
    port: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    protocol: Option<String>,
}

fn map(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn s(text: &str) -> Value {
    Value::String(text.into())
}

#[test]
fn secrets_are_unwrapped_for_resources_and_wrapped_again_on_the_way_out() {
    let shape = object_shape_of::<Sample>();
    let tags = Value::Object(map(&[("team", Value::Secret(Box::new(s("core"))))]));
    let input = map(&[
        ("name", Value::Secret(Box::new(s("web")))),
        ("tags", tags),
        ("password", s("hunter2")),
    ]);
    let (json, ann) = decode(&input, &shape);
    let typed: Sample = from_json(json).expect("decodes");
    assert_eq!(typed.name, "web");
    assert_eq!(
        typed
            .tags
            .as_ref()
            .and_then(|t| t.get("team"))
            .map(String::as_str),
        Some("core")
    );
    let out = encode(&to_json(&typed).expect("json"), &shape, &ann);
    assert!(
        matches!(out.get("name"), Some(Value::Secret(_))),
        "secret input stays secret"
    );
    match out.get("tags") {
        Some(Value::Object(t)) => assert!(matches!(t.get("team"), Some(Value::Secret(_)))),
        other => panic!("tags: {other:?}"),
    }
    // Declared secret even though it arrived plain.
    assert!(matches!(out.get("password"), Some(Value::Secret(_))));
}

#[test]
fn unknowns_decode_to_placeholders_and_come_back_as_unknowns() {
    let shape = object_shape_of::<Sample>();
    let items = Value::Array(vec![Value::Object(map(&[("port", Value::Unknown)]))]);
    let input = map(&[
        ("name", Value::Unknown),
        ("count", Value::Unknown),
        ("items", items),
    ]);
    let (json, ann) = decode(&input, &shape);
    let typed: Sample = from_json(json).expect("placeholders decode");
    assert_eq!(typed.name, "");
    assert!(ann.is_unknown("name") && ann.is_unknown("count") && ann.is_unknown("items"));
    assert!(ann
        .unknown
        .contains(&Path::root().key("items").index(0).key("port")));
    let out = encode(&to_json(&typed).expect("json"), &shape, &ann);
    assert_eq!(out.get("name"), Some(&Value::Unknown));
    match out.get("items") {
        Some(Value::Array(list)) => match &list[0] {
            Value::Object(item) => assert_eq!(item.get("port"), Some(&Value::Unknown)),
            other => panic!("item: {other:?}"),
        },
        other => panic!("items: {other:?}"),
    }
}

#[test]
fn resource_references_become_their_id_or_urn() {
    let shape = object_shape_of::<Sample>();
    let with_id = Value::ResourceRef {
        urn: "urn:pulumi:s::p::t::n".into(),
        id: Some(Box::new(s("i-123"))),
    };
    let (json, _) = decode(&map(&[("name", with_id)]), &shape);
    assert_eq!(json["name"], "i-123");
    let without = Value::ResourceRef {
        urn: "urn:pulumi:s::p::t::n".into(),
        id: None,
    };
    let (json, _) = decode(&map(&[("name", without)]), &shape);
    assert_eq!(json["name"], "urn:pulumi:s::p::t::n");
}

#[test]
fn numbers_are_checked_for_integers() {
    let shape = object_shape_of::<Sample>();
    let failures = validate(
        &map(&[("name", s("a")), ("count", Value::Number(1.5))]),
        &shape,
    );
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].property, "count");
    assert!(
        failures[0].reason.contains("integer"),
        "{}",
        failures[0].reason
    );
    let (json, _) = decode(
        &map(&[
            ("name", s("a")),
            ("count", Value::Number(3.0)),
            ("ratio", Value::Number(2.0)),
        ]),
        &shape,
    );
    let typed: Sample = from_json(json).expect("decodes");
    assert_eq!((typed.count, typed.ratio), (Some(3), Some(2.0)));
}

#[test]
fn validation_names_every_bad_property() {
    let shape = object_shape_of::<Sample>();
    let items = Value::Array(vec![Value::Object(map(&[(
        "protocol",
        Value::Number(6.0),
    )]))]);
    let input = map(&[
        ("count", s("many")),
        ("colour", s("red")),
        ("items", items),
        ("tags", Value::Array(vec![])),
    ]);
    let mut props: Vec<String> = validate(&input, &shape)
        .into_iter()
        .map(|f| f.property)
        .collect();
    props.sort();
    assert_eq!(
        props,
        vec![
            "colour",
            "count",
            "items[0].port",
            "items[0].protocol",
            "name",
            "tags"
        ]
    );
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Outer {
    inner: Inner,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
struct Inner {
    location: String,
}

#[test]
fn paths_check_records_pass_validation_and_nothing_else_does() {
    let shape = object_shape_of::<Outer>();
    let inner = |extra: &str| {
        Value::Secret(Box::new(Value::Object(map(&[
            ("location", s("/app")),
            (extra, s("x")),
        ]))))
    };
    let input = map(&[("inner", inner("files")), ("__seen", s("y"))]);
    let recorded = ["__seen", "inner.files"];
    assert!(validate_except(&input, &shape, &recorded).is_empty());
    let names = |failures: Vec<super::Failure>| -> Vec<String> {
        failures.into_iter().map(|f| f.property).collect()
    };
    assert_eq!(
        names(validate(&input, &shape)),
        vec!["__seen", "inner.files"]
    );
    let other = map(&[("inner", inner("colour"))]);
    assert_eq!(
        names(validate_except(&other, &shape, &recorded)),
        vec!["inner.colour"]
    );
}

#[test]
fn unknowns_pass_validation() {
    let shape = object_shape_of::<Sample>();
    let input = map(&[("name", Value::Unknown), ("items", Value::Unknown)]);
    assert!(validate(&input, &shape).is_empty());
}

proptest! {
    #[test]
    fn typed_round_trip_is_lossless(
        name in "[a-z]{1,8}",
        count in prop::option::of(-1000i64..1000),
        tags in prop::option::of(prop::collection::btree_map("[a-z]{1,5}", "[a-z]{0,5}", 0..4)),
        secret_name in any::<bool>(),
    ) {
        let shape = object_shape_of::<Sample>();
        let sample = Sample { name, count, ratio: None, tags, items: None, password: None };
        let mut ann = super::typed::Annotations::default();
        if secret_name {
            ann.secret.insert(Path::root().key("name"));
        }
        let wire = encode(&to_json(&sample).unwrap(), &shape, &ann);
        let proto = crate::wire::value::to_struct(&wire);
        let back = Value::from_struct(&proto);
        let (json, ann2) = decode(&back, &shape);
        let decoded: Sample = from_json(json).unwrap();
        prop_assert_eq!(decoded, sample);
        prop_assert_eq!(ann2.secret.contains(&Path::root().key("name")), secret_name);
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Strict {
    cpu: Option<u32>,
    args: Option<BTreeMap<String, String>>,
    list: Option<Vec<String>>,
    #[schemars(extend("secret" = true))]
    password: Option<String>,
}

fn failures_of(pairs: &[(&str, Value)]) -> Vec<(String, String)> {
    let map: BTreeMap<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    validate(&map, &object_shape_of::<Strict>())
        .into_iter()
        .map(|f| (f.property, f.reason))
        .collect()
}

#[test]
fn nulls_negatives_and_depth_fail_on_their_path() {
    let f = failures_of(&[("cpu", Value::Number(-1.0))]);
    assert_eq!(f, [("cpu".into(), "must be 0 or more, got -1".into())]);
    let f = failures_of(&[(
        "args",
        Value::Object([("FOO".to_string(), Value::Null)].into()),
    )]);
    assert_eq!(f[0].0, "args.FOO");
    assert!(f[0].1.contains("null"), "{f:?}");
    let f = failures_of(&[(
        "list",
        Value::Array(vec![Value::String("a".into()), Value::Null]),
    )]);
    assert_eq!(f[0].0, "list[1]");
    let mut deep = Value::String("x".into());
    for _ in 0..40 {
        deep = Value::Array(vec![deep]);
    }
    let f = failures_of(&[("list", deep)]);
    assert_eq!(f.len(), 1);
    assert!(f[0].0.starts_with("list[0]"), "{f:?}");
    assert!(f[0].1.contains("32 levels"), "{f:?}");
}

#[test]
fn secret_values_are_described_not_shown() {
    let f = failures_of(&[
        ("password", Value::Number(918_273.0)),
        ("cpu", Value::Secret(Box::new(Value::Number(-77_123.0)))),
        (
            "list",
            Value::Secret(Box::new(Value::Array(vec![Value::Bool(true)]))),
        ),
    ]);
    assert_eq!(f.len(), 3, "{f:?}");
    for (property, reason) in &f {
        assert!(reason.contains("secret"), "{property}: {reason}");
        for shown in ["918273", "77123", "true"] {
            assert!(!reason.contains(shown), "{property}: {reason}");
        }
    }
}
