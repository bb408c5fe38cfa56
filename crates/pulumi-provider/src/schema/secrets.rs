//! The secret values of a request, collected once so that everything the
//! provider says about the request (Check failures, diff reasons, errors,
//! log lines) can be masked with them (see `imagedeploy_redact` for the
//! rules). A value is secret when the engine sent it as a secret (or as a
//! secret output), when it lies inside one, or when the shape declares its
//! property secret. Map keys and property names are not values: they name
//! properties (`secrets.npmrc`, `buildArgs.TOKEN`) in paths and messages.

use std::collections::BTreeMap;

use imagedeploy_redact::Redactor;

use super::shape::{ObjectShape, Shape};
use crate::wire::value::Value;

/// Every secret string and number in `map`, as a redactor.
///
/// Top-level keys the shape does not have (internal `__` properties) are
/// skipped: the framework wraps them secret as a whole whenever any input
/// was secret, so they hold plain values too (container names, counts),
/// and every secret value in them is also in a property of the shape.
pub fn secret_values(map: &BTreeMap<String, Value>, shape: &ObjectShape) -> Redactor {
    let mut out = Redactor::default();
    let known: BTreeMap<String, Value> = map
        .iter()
        .filter(|(k, _)| shape.property(k).is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    collect_object(&known, Some(shape), false, &mut out);
    out
}

fn collect_object(
    map: &BTreeMap<String, Value>,
    shape: Option<&ObjectShape>,
    secret: bool,
    out: &mut Redactor,
) {
    for (key, value) in map {
        let prop = shape.and_then(|s| s.property(key));
        let declared = prop.is_some_and(|p| p.secret);
        collect(value, prop.map(|p| &p.shape), secret || declared, out);
    }
}

fn collect(value: &Value, shape: Option<&Shape>, secret: bool, out: &mut Redactor) {
    match value {
        Value::Secret(inner) => collect(inner, shape, true, out),
        Value::Output {
            value: Some(inner),
            secret: s,
        } => collect(inner, shape, secret || *s, out),
        Value::String(s) if secret => out.add(s),
        Value::Number(n) if secret => {
            for form in number_forms(*n) {
                out.add(&form);
            }
        }
        Value::Array(items) => {
            let item = match shape {
                Some(Shape::Array(inner)) => Some(inner.as_ref()),
                _ => None,
            };
            for v in items {
                collect(v, item, secret, out);
            }
        }
        Value::Object(map) => match shape {
            Some(Shape::Object(o)) => collect_object(map, Some(o), secret, out),
            Some(Shape::Map(inner)) => {
                for v in map.values() {
                    collect(v, Some(inner), secret, out);
                }
            }
            _ => collect_object(map, None, secret, out),
        },
        Value::ResourceRef { id: Some(id), .. } => collect(id, shape, secret, out),
        _ => {}
    }
}

/// The ways a number (or its magnitude) can be printed: `-5`, `5`, `5.0`, `1e300`.
fn number_forms(n: f64) -> Vec<String> {
    let mut forms = Vec::new();
    for n in [n, n.abs()] {
        forms.push(n.to_string());
        forms.push(format!("{n:?}"));
        if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
            forms.push((n as i64).to_string());
        }
    }
    forms.sort();
    forms.dedup();
    forms
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::object_shape_of;

    #[derive(schemars::JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "camelCase")]
    struct Args {
        plain: Option<String>,
        #[schemars(extend("secret" = true))]
        password: Option<String>,
        args: Option<BTreeMap<String, String>>,
        count: Option<i64>,
    }

    #[test]
    fn wire_secrets_declared_secrets_and_numbers_are_collected() {
        let shape = object_shape_of::<Args>();
        let map: BTreeMap<String, Value> = [
            ("plain".to_string(), Value::String("visible".into())),
            ("password".to_string(), Value::String("hunter22".into())),
            (
                "args".to_string(),
                Value::Object(
                    [
                        ("A".to_string(), Value::String("open-value".into())),
                        (
                            "B".to_string(),
                            Value::Secret(Box::new(Value::String("line1\nline2".into()))),
                        ),
                    ]
                    .into(),
                ),
            ),
            (
                "count".to_string(),
                Value::Output {
                    value: Some(Box::new(Value::Number(-12345.0))),
                    secret: true,
                },
            ),
        ]
        .into();
        let r = secret_values(&map, &shape);
        assert!(!r.reveals("visible open-value"));
        for shown in ["hunter22", "line1", "line2", "-12345", "got 12345"] {
            assert!(r.reveals(shown), "{shown}");
        }
    }
}
