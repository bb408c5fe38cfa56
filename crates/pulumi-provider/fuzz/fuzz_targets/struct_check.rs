//! Any bytes as the `news` Struct of a Check request: protobuf decoding,
//! the engine's value model, structural validation, typed decoding, secret
//! collection and masking must never panic; nor must the walker that reads
//! the nesting from the same bytes when protobuf refuses them.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use prost::Message;
use pulumi_provider::schema::secrets::secret_values;
use pulumi_provider::schema::typed::{culprit, decode, from_json};
use pulumi_provider::schema::{object_shape_of, validate};
use pulumi_provider::wire::depth::struct_nested_deeper_than;
use pulumi_provider::wire::value::{Value, MAX_DEPTH};
use schemars::JsonSchema;
use serde::Deserialize;

/// Inputs with every shape the real resources use: strings, signed and
/// unsigned integers, numbers, booleans, enums, maps, lists of objects,
/// a declared secret.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Args {
    name: String,
    count: Option<i64>,
    cpu: Option<u32>,
    ratio: Option<f64>,
    enabled: Option<bool>,
    mode: Option<Mode>,
    labels: Option<BTreeMap<String, String>>,
    items: Option<Vec<Item>>,
    #[schemars(extend("secret" = true))]
    password: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
enum Mode {
    Fast,
    Slow,
}

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Item {
    port: u16,
    weights: Option<Vec<i32>>,
    env: Option<BTreeMap<String, String>>,
}

fuzz_target!(|data: &[u8]| {
    let _ = struct_nested_deeper_than(data, MAX_DEPTH);
    let Ok(news) = prost_types::Struct::decode(data) else {
        return;
    };
    let map = Value::from_struct(&news);
    let shape = object_shape_of::<Args>();
    let secrets = secret_values(&map, &shape);
    let mut failures = validate::validate(&map, &shape);
    if failures.is_empty() {
        let (json, _) = decode(&map, &shape);
        if let Err(e) = from_json::<Args>(json.clone()) {
            let property = culprit::<Args>(&json, &shape).unwrap_or_default();
            failures.push(validate::Failure::new(property, e));
        }
    }
    for failure in failures {
        let _ = secrets.redact(&failure.reason);
        let _ = secrets.redact_output_line(&failure.reason);
    }
});
